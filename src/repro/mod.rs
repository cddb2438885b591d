//! `ppctl repro`: the sender × receiver matrix, run over real connections
//! against ppctl's stand-in receivers (copies of nginx), or against a
//! real server with `--target`.
//!
//! Senders (no header, v1, v2) go through `send`'s exchange
//! ([`crate::send::run`] over [`crate::net`]); receivers are `listen`
//! servers in this process, one per column (off = nginx without
//! `proxy_protocol`, require = nginx with it, auto). With `--tls` the
//! senders speak TLS after the header (`send --tls`) and the receivers serve
//! it (`listen --tls`): ssl = nginx `listen 443 ssl`, ssl-proxy-protocol =
//! `listen 443 ssl proxy_protocol`. Every cell is judged by the judge: the
//! client's side as `send` judges it (and [`judge::pairing`], which makes
//! the auto column spoofable), the receiver's side as `listen` does. The
//! prediction for a cell is the judge's reading of what a receiver so
//! configured makes of what the sender sends ([`judge::arrival`], and
//! [`judge::on_tls_port`] for the TLS columns); a cell is as predicted when
//! the client's finding, the receiver's finding and (for a served request)
//! the client address all agree with it. With a target, the sender column
//! runs against a real receiver and is matched against the predicted
//! columns.
//!
//! With `--protocol smtp|imap|pop3|mysql` the senders speak the protocol
//! after the header (`send --protocol`) and the receivers are the server
//! core's protocol stand-ins (Postfix's smtpd, Dovecot, MariaDB: their
//! recorded bytes), one column per setup the real server has: off and
//! require for the mail servers (`smtpd_upstream_proxy_protocol`, Dovecot's
//! `haproxy = yes`), off and auto for MariaDB (`proxy_protocol_networks`).
//! A served cell's client address is the one the server names in its
//! words (EHLO's `250`, the greeting, MariaDB's error).
//!
//! Typed results only: rendering is in `report::repro`.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use crate::codec::Version;
use crate::judge::{self, Arrived, Expects, Finding};
use crate::net::{self, Handshake, Target, Transcript, Watch};
use crate::protocol::{self, Protocol};
use crate::send::{self, AddressPlan, HeaderPlan, Plan};
use crate::server::standin::nginx::Log;
use crate::server::standin::talk::Talk;
use crate::server::standin::{ConnRecord, Http, Mode};
use crate::server::tls::{self as server_tls, Identity, IdentityError};
use crate::server::{self, bind, Hub, Limits, Summary};

/// The client address every header claims: TEST-NET-3, never a real host.
pub(crate) const CLAIMED: SocketAddr =
    SocketAddr::new(IpAddr::V4(Ipv4Addr::new(203, 0, 113, 7)), 51234);

/// How long the in-process matrix waits for each reply (`--target` takes
/// its wait from `--timeout`).
const REPLY_TIMEOUT: Duration = Duration::from_secs(5);

/// The request every sender makes: the whoami page, as text, whose first
/// line says which client address the receiver computed.
const PATH: &str = "/";

/// What the sender puts in front of its request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Sender {
    None,
    V1,
    V2,
}

impl Sender {
    pub(crate) const ALL: [Sender; 3] = [Sender::None, Sender::V1, Sender::V2];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Sender::None => "none",
            Sender::V1 => "v1",
            Sender::V2 => "v2",
        }
    }

    fn header(self) -> HeaderPlan {
        let version = match self {
            Sender::None | Sender::V1 => Version::V1,
            Sender::V2 => Version::V2,
        };
        match self {
            Sender::None => HeaderPlan {
                raw: Some(Vec::new()),
                ..HeaderPlan::new(version)
            },
            Sender::V1 | Sender::V2 => HeaderPlan {
                addresses: AddressPlan::Inet {
                    src: Some(CLAIMED),
                    dst: None,
                },
                ..HeaderPlan::new(version)
            },
        }
    }

    /// What a receiver gets from this sender, in the judge's terms.
    fn arrives(self) -> Arrived {
        match self {
            Sender::None => Arrived::NoHeader,
            Sender::V1 | Sender::V2 => Arrived::Header {
                local: false,
                trusted: true,
                stacked: false,
            },
        }
    }
}

/// A receiver column: how an in-process receiver is set up, after the
/// nginx `listen` line it copies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Receiver {
    /// `listen 80;`: no PROXY protocol.
    Off,
    /// `listen 80 proxy_protocol;`
    Require,
    /// A header or none (no nginx equivalent; spoofable).
    Auto,
    /// `listen 443 ssl;`
    Ssl,
    /// `listen 443 ssl proxy_protocol;`
    SslProxyProtocol,
}

impl Receiver {
    /// The plain columns, in order.
    pub(crate) const PLAIN: [Receiver; 3] = [Receiver::Off, Receiver::Require, Receiver::Auto];
    /// The TLS columns (`--tls`), in order.
    pub(crate) const TLS: [Receiver; 2] = [Receiver::Ssl, Receiver::SslProxyProtocol];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Receiver::Off => "off",
            Receiver::Require => "require",
            Receiver::Auto => "auto",
            Receiver::Ssl => "ssl",
            Receiver::SslProxyProtocol => "ssl-proxy-protocol",
        }
    }

    /// The `listen --proxy-protocol` mode it runs in.
    pub(crate) fn mode(self) -> Mode {
        match self {
            Receiver::Off | Receiver::Ssl => Mode::Off,
            Receiver::Require | Receiver::SslProxyProtocol => Mode::Require,
            Receiver::Auto => Mode::Auto,
        }
    }

    /// The columns of a run: the plain ones, or with `tls` the TLS ones;
    /// for a protocol that speaks first, the setups its real server has.
    pub(crate) fn columns(tls: bool, protocol: Protocol) -> &'static [Receiver] {
        match protocol {
            Protocol::Smtp | Protocol::Imap | Protocol::Pop3 => &[Receiver::Off, Receiver::Require],
            Protocol::Mysql => &[Receiver::Off, Receiver::Auto],
            _ if tls => &Receiver::TLS,
            _ => &Receiver::PLAIN,
        }
    }

    /// It serves TLS after the header stage (`listen --tls`).
    pub(crate) fn tls(self) -> bool {
        matches!(self, Receiver::Ssl | Receiver::SslProxyProtocol)
    }

    /// What it expects, in the judge's terms.
    pub(crate) fn expects(self) -> Expects {
        self.mode().expects()
    }
}

/// The judge's prediction for a pair, before [`judge::pairing`]: what a
/// receiver configured like `receiver` makes of what `sender` sends. The
/// senders speak TLS exactly when the receiver does.
pub(crate) fn predict(sender: Sender, receiver: Receiver) -> Finding {
    let arrival = judge::arrival(receiver.expects(), sender.arrives());
    if receiver.tls() {
        // Every sender starts TLS after its header: what breaks before
        // the handshake makes it fail.
        let layer = if arrival.is_problem() {
            judge::Layer::TlsFailed
        } else {
            judge::Layer::Tls
        };
        judge::on_tls_port(arrival, layer)
    } else {
        arrival
    }
}

/// One cell of the matrix.
#[derive(Debug, Clone)]
pub(crate) struct Cell {
    pub sender: Sender,
    /// What the sender speaks after its header (HTTP, or `--protocol`).
    pub protocol: Protocol,
    /// For a protocol: the reply that decided, in the server's words.
    pub said: Option<String>,
    /// The receiver column; `None` for `--target`.
    pub receiver: Option<Receiver>,
    /// Everything the client saw: what it sent (`reply.message`), what came
    /// back, how it ended, its own address and the receiver's.
    pub reply: Transcript,
    /// The TLS handshake after the header (`--tls`).
    pub handshake: Option<Handshake>,
    /// The judge's finding for the exchange, with [`judge::pairing`] applied
    /// for a receiver that takes a header from anyone.
    pub finding: Finding,
    /// The judge's prediction for this pair, paired the same way (in-process
    /// matrix only).
    pub predicted: Option<Finding>,
    /// The receiver's own finding for the connection (in-process only).
    pub receiver_finding: Option<Finding>,
    /// What the receiver logged (nginx's words, where nginx logs a line).
    pub receiver_log: Option<Log>,
    /// For a served HTTP request: the client address the receiver computed
    /// (its whoami page; nginx `$remote_addr` after realip).
    pub client: Option<IpAddr>,
    /// The client address the receiver should have computed, when the
    /// prediction is that the request is served (in-process only).
    pub expected_client: Option<IpAddr>,
}

impl Cell {
    /// Did the cell do what the judge predicted? `None` with `--target`.
    pub(crate) fn as_predicted(&self) -> Option<bool> {
        let predicted = self.predicted?;
        let receiver = self.receiver?;
        // A client that waits for a banner sends nothing: the receiver
        // that waits for a header times out (its side of the same wait).
        let waited = |f| match f {
            Finding::HeaderTimeout if self.protocol.server_speaks_first() => Finding::MissingHeader,
            f => f,
        };
        let receiver_agrees = self
            .receiver_finding
            .is_some_and(|f| judge::pairing(receiver.expects(), waited(f)) == predicted);
        let client_agrees = self
            .expected_client
            .is_none_or(|ip| self.client == Some(ip));
        Some(self.finding == predicted && receiver_agrees && client_agrees)
    }

    /// The header bytes the sender put on the wire (empty for `none`).
    pub(crate) fn header(&self) -> &[u8] {
        self.reply.message.as_ref().map_or(&[], |m| &m.header)
    }
}

/// The whole run.
#[derive(Debug, Clone)]
pub(crate) struct Matrix {
    /// `None` for the in-process matrix.
    pub target: Option<Target>,
    /// The senders speak TLS after the header, to the TLS columns
    /// (`--tls`).
    pub tls: bool,
    /// What the senders speak after the header (`--protocol`).
    pub protocol: Protocol,
    /// The client address every header claims.
    pub claimed: SocketAddr,
    /// Sender-major: for each sender, one cell per receiver column (or one
    /// for the target).
    pub cells: Vec<Cell>,
    /// With a target: the receiver columns whose predictions it meets.
    pub matches: Vec<Receiver>,
    /// With a target: Ctrl-C stopped the run before every sender had
    /// gone (`cells` holds those that had; `matches` is empty).
    pub interrupted: bool,
}

impl Matrix {
    /// Every cell did what was predicted (in-process run; true with a
    /// target, which is judged by [`Matrix::matches`]).
    pub(crate) fn all_as_predicted(&self) -> bool {
        self.cells.iter().all(|c| c.as_predicted() != Some(false))
    }

    /// The cell for a pair (`receiver` `None`: the target's cell).
    pub(crate) fn cell(&self, sender: Sender, receiver: Option<Receiver>) -> Option<&Cell> {
        self.cells
            .iter()
            .find(|c| c.sender == sender && c.receiver == receiver)
    }

    /// The receiver columns of this run.
    pub(crate) fn columns(&self) -> &'static [Receiver] {
        Receiver::columns(self.tls, self.protocol)
    }

    /// The exit status's question: as predicted (in process), or like one
    /// of the columns (with a target).
    pub(crate) fn ok(&self) -> bool {
        match self.target {
            Some(_) => !self.matches.is_empty(),
            None => self.all_as_predicted(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum ReproError {
    #[error(transparent)]
    Bind(#[from] bind::BindError),
    #[error(transparent)]
    Target(#[from] net::TargetError),
    #[error("building the {0} header: {1}")]
    Build(&'static str, send::BuildError),
    #[error("making the TLS receivers' certificate: {0}")]
    Identity(#[from] IdentityError),
}

fn plan(
    sender: Sender,
    target: Target,
    reply_timeout: Duration,
    tls: bool,
    protocol: Protocol,
) -> Plan {
    let payload = send::http_get(&target, PATH);
    // A protocol that speaks first: send's conversation in it, waiting for
    // the greeting longer than a real server waits for a header.
    let speak = (protocol != Protocol::Http).then(|| send::Speak {
        protocol: Some(protocol),
        chosen: protocol::Chosen::Named,
        greeting_timeout: protocol::GREETING_TIMEOUT,
        starttls: None,
        http_request: Vec::new(),
    });
    // Every TLS receiver here has a self-signed certificate: repro is about
    // the PROXY layer, so the certificate is shown, never checked.
    let tls = tls.then(|| net::TlsOptions {
        sni: target
            .host
            .parse::<IpAddr>()
            .is_err()
            .then(|| target.host.clone()),
        verify_name: target.host.clone(),
        alpn: vec!["http/1.1".into()],
        verify: net::Verify::Insecure,
    });
    Plan {
        target,
        header: sender.header(),
        payload,
        udp: false,
        net: net::Options {
            reply_timeout,
            ..net::Options::default()
        },
        expect: send::Expect::default(),
        tls,
        protocol: match speak {
            Some(_) => (protocol, protocol::Chosen::Named),
            None => (Protocol::Http, protocol::Chosen::Default),
        },
        speak,
    }
}

/// What the client saw of one exchange, judged as `send` judges it (with
/// TLS, a second connection may tell a plain PROXY port apart).
struct Exchanged {
    reply: Transcript,
    handshake: Option<Handshake>,
    finding: Finding,
    /// The client address the receiver named (its whoami page, or in a
    /// protocol's words).
    client: Option<IpAddr>,
    /// For a protocol: the reply that decided, in the server's words.
    said: Option<String>,
}

async fn exchange(
    sender: Sender,
    target: Target,
    addrs: &[SocketAddr],
    timeout: Duration,
    tls: bool,
    protocol: Protocol,
) -> Result<Exchanged, ReproError> {
    let (_, x) = send::once(&plan(sender, target, timeout, tls, protocol), addrs)
        .await
        .map_err(|e| ReproError::Build(sender.name(), e))?;
    let (client, said) = match &x.spoken {
        Some(spoken) => (
            spoken.verdict.client_seen,
            spoken.verdict.reply.as_ref().map(|r| r.words.clone()),
        ),
        None => (net::whoami_client(&x.reply.received), None),
    };
    Ok(Exchanged {
        reply: x.reply,
        handshake: x.handshake,
        finding: x.finding,
        client,
        said,
    })
}

/// One in-process receiver: its column, its address, where its records go,
/// and how to stop it.
struct Server {
    receiver: Receiver,
    addr: SocketAddr,
    records: mpsc::Receiver<ConnRecord>,
    stop: oneshot::Sender<()>,
    server: tokio::task::JoinHandle<Summary>,
}

fn start(
    receiver: Receiver,
    identity: Option<&Identity>,
    protocol: Protocol,
) -> Result<Server, ReproError> {
    let any = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
    let listener = bind::bind_tcp(any)?;
    let addr = listener
        .local_addr()
        .map_err(|source| bind::BindError::Bind {
            addr: any,
            transport: "tcp",
            source,
        })?;
    let http = Http {
        mode: receiver.mode(),
        // The realistic setup: trust the proxy (here, loopback), as
        // `set_real_ip_from` + `real_ip_header proxy_protocol` do.
        trust: vec![ipnet::IpNet::V4(
            ipnet::Ipv4Net::new(Ipv4Addr::new(127, 0, 0, 0), 8).expect("a /8 is a valid prefix"),
        )],
        header_timeout: Duration::from_secs(3),
        tls: identity.filter(|_| receiver.tls()).cloned(),
        ..Http::default()
    };
    let limits = Limits {
        drain: Duration::from_secs(1),
        ..Limits::default()
    };
    let (stop, stop_rx) = oneshot::channel::<()>();
    let (tx, records) = mpsc::channel::<ConnRecord>(8);
    let hub = Arc::new(Hub::new(Summary::new(false), tx));
    let shutdown = async move {
        let _ = stop_rx.await;
    };
    let now = std::future::pending::<()>();
    let server = if protocol == Protocol::Http {
        tokio::spawn(server::run(
            vec![listener],
            limits,
            Arc::new(http),
            hub,
            shutdown,
            now,
            |_, _| {},
        ))
    } else {
        // The real server's setup for the column, trusting loopback (the
        // proxy here) as haproxy_trusted_networks and
        // proxy_protocol_networks would.
        let talk = Talk {
            protocol,
            mode: receiver.mode(),
            max_header: http.max_header,
            header_timeout: http.header_timeout,
            idle_timeout: http.idle_timeout,
            trust: http.trust,
        };
        tokio::spawn(server::run(
            vec![listener],
            limits,
            Arc::new(talk),
            hub,
            shutdown,
            now,
            |_, _| {},
        ))
    };
    Ok(Server {
        receiver,
        addr,
        records,
        stop,
        server,
    })
}

/// The receiver's record of the connection from `client` (a record arrives
/// a little after the client saw the end). A TLS cell may make a second
/// connection (`send`'s second opinion); its record is skipped.
async fn record(rx: &mut mpsc::Receiver<ConnRecord>, client: SocketAddr) -> Option<ConnRecord> {
    let wait = async {
        while let Some(r) = rx.recv().await {
            if r.peer == client {
                return Some(r);
            }
        }
        None
    };
    tokio::time::timeout(Duration::from_secs(10), wait)
        .await
        .ok()
        .flatten()
}

/// Run every sender against in-process receivers on loopback: the plain
/// columns, or with `tls` the TLS ones.
pub(crate) async fn run_local(tls: bool, protocol: Protocol) -> Result<Matrix, ReproError> {
    let columns = Receiver::columns(tls, protocol);
    let identity = if tls {
        Some(server_tls::generate(&[IpAddr::V4(Ipv4Addr::LOCALHOST)])?)
    } else {
        None
    };
    let mut servers = columns
        .iter()
        .map(|&r| start(r, identity.as_ref(), protocol))
        .collect::<Result<Vec<_>, _>>()?;
    let mut cells = Vec::new();
    for sender in Sender::ALL {
        for server in &mut servers {
            let target = Target {
                host: server.addr.ip().to_string(),
                port: server.addr.port(),
            };
            let x = exchange(sender, target, &[server.addr], REPLY_TIMEOUT, tls, protocol).await?;
            let rec = match (x.reply.connected, x.reply.local) {
                (true, Some(client)) => record(&mut server.records, client).await,
                _ => None,
            };
            let receiver = server.receiver;
            let predicted = predict(sender, receiver);
            let served = matches!(predicted, Finding::Proxied | Finding::Plain);
            let expected_client = served.then(|| match sender {
                Sender::None => x
                    .reply
                    .local
                    .map_or(IpAddr::V4(Ipv4Addr::LOCALHOST), |a| a.ip()),
                Sender::V1 | Sender::V2 => CLAIMED.ip(),
            });
            let pair = |f| judge::pairing(receiver.expects(), f);
            cells.push(Cell {
                sender,
                protocol,
                said: x.said,
                receiver: Some(receiver),
                finding: pair(x.finding),
                predicted: Some(pair(predicted)),
                receiver_finding: rec.as_ref().map(|rec| rec.finding),
                receiver_log: rec.and_then(|rec| rec.service.log),
                client: x.client,
                expected_client,
                handshake: x.handshake,
                reply: x.reply,
            });
        }
    }
    for s in servers {
        let _ = s.stop.send(());
        let _ = s.server.await;
    }
    Ok(Matrix {
        target: None,
        tls,
        protocol,
        claimed: CLAIMED,
        cells,
        matches: Vec::new(),
        interrupted: false,
    })
}

/// Run the sender column against a real receiver, and name the receiver
/// columns it behaves like. When that is `auto`, every cell is spoofable.
/// `watch` hears of each cell; its interrupt ends the run with the cells
/// made so far and no conclusion.
pub(crate) async fn run_target(
    target: Target,
    timeout: Duration,
    tls: bool,
    protocol: Protocol,
    watch: &Watch<Cell>,
) -> Result<Matrix, ReproError> {
    let addrs = target.resolve().await?;
    let mut cells = Vec::new();
    for sender in Sender::ALL {
        let x = tokio::select! {
            x = exchange(sender, target.clone(), &addrs, timeout, tls, protocol) => x?,
            () = watch.interrupt.wait() => break,
        };
        cells.push(Cell {
            sender,
            protocol,
            said: x.said,
            receiver: None,
            finding: x.finding,
            predicted: None,
            receiver_finding: None,
            receiver_log: None,
            client: x.client,
            expected_client: None,
            handshake: x.handshake,
            reply: x.reply,
        });
        watch.tell(&cells[cells.len() - 1]);
    }
    let interrupted = cells.len() < Sender::ALL.len();
    let columns = Receiver::columns(tls, protocol);
    let matches: Vec<Receiver> = columns
        .iter()
        .copied()
        .filter(|&r| cells.iter().all(|c| c.finding == predict(c.sender, r)))
        .filter(|_| !interrupted)
        .collect();
    if let [receiver] = matches.as_slice() {
        for c in &mut cells {
            c.finding = judge::pairing(receiver.expects(), c.finding);
        }
    }
    Ok(Matrix {
        target: Some(target),
        tls,
        protocol,
        claimed: CLAIMED,
        cells,
        matches,
        interrupted,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn predictions_are_the_nginx_behaviours() {
        use Finding as F;
        let want = [
            (Sender::None, [F::Plain, F::MissingHeader, F::Plain]),
            (Sender::V1, [F::UnexpectedHeader, F::Proxied, F::Proxied]),
            (Sender::V2, [F::UnexpectedHeader, F::Proxied, F::Proxied]),
        ];
        for (s, row) in want {
            for (r, f) in Receiver::PLAIN.into_iter().zip(row) {
                assert_eq!(predict(s, r), f, "{s:?} {r:?}");
            }
        }
        let want = [
            (Sender::None, [F::Plain, F::TlsBeforeProxy]),
            (Sender::V1, [F::TlsHandshakeFailed, F::Proxied]),
            (Sender::V2, [F::TlsHandshakeFailed, F::Proxied]),
        ];
        for (s, row) in want {
            for (r, f) in Receiver::TLS.into_iter().zip(row) {
                assert_eq!(predict(s, r), f, "{s:?} {r:?}");
            }
        }
        // The columns are told apart by the sender column alone.
        for columns in [&Receiver::PLAIN[..], &Receiver::TLS[..]] {
            for &a in columns {
                for &b in columns {
                    let same = Sender::ALL.iter().all(|&s| predict(s, a) == predict(s, b));
                    assert_eq!(same, a == b, "{a:?} {b:?}");
                }
            }
        }
        assert_eq!(
            judge::pairing(
                Receiver::Auto.expects(),
                predict(Sender::None, Receiver::Auto)
            ),
            F::Spoofable
        );
    }
}
