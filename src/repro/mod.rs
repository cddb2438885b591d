//! `ppctl repro`: the sender × receiver matrix, run for real.
//!
//! Senders (no header, v1, v2) go through `send`'s exchange
//! ([`crate::send::exchange`] over [`crate::net`]); receivers are `listen`
//! servers in this process, one per mode (off = nginx without
//! `proxy_protocol`, require = nginx with it, auto). Every cell is judged by
//! the judge: the client's side with [`judge::exchange`] (and
//! [`judge::pairing`], which makes the auto column spoofable), the
//! receiver's side with [`judge::arrival`]. The prediction for a cell is the
//! judge's reading of what a receiver so configured makes of what the sender
//! sends; a cell is as predicted when the client's finding, the receiver's
//! finding and (for a served request) the client address all agree with it.
//! With a target, the sender column runs against a real receiver and is
//! matched against the predicted columns.
//!
//! Typed results only: rendering is in `report::repro`.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use crate::codec::Version;
use crate::judge::{self, Arrived, Expects, Finding};
use crate::listen::{self, bind, Config, ConnRecord, Listeners, Mode};
use crate::net::{self, Reply, Target};
use crate::send::{self, AddressPlan, HeaderPlan, Plan};

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

    /// What goes on the wire, in the judge's terms: a request, with or
    /// without a valid header in front.
    fn sent(self) -> judge::Sent {
        match self {
            Sender::None => judge::Sent::NoHeader,
            Sender::V1 | Sender::V2 => judge::Sent::Header { payload: true },
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

/// The receivers, in column order.
pub(crate) const RECEIVERS: [Mode; 3] = [Mode::Off, Mode::Require, Mode::Auto];

/// What a receiver in this mode expects, in the judge's terms.
pub(crate) fn expects(mode: Mode) -> Expects {
    match mode {
        Mode::Off => Expects::Nothing,
        Mode::Require => Expects::Header,
        Mode::Auto => Expects::Optional,
    }
}

/// The judge's prediction for a pair, before [`judge::pairing`]: what a
/// receiver configured like `mode` makes of what `sender` sends.
pub(crate) fn predict(sender: Sender, mode: Mode) -> Finding {
    judge::arrival(expects(mode), sender.arrives())
}

/// One cell of the matrix.
#[derive(Debug, Clone)]
pub(crate) struct Cell {
    pub sender: Sender,
    /// The receiver column; `None` for `--target`.
    pub receiver: Option<Mode>,
    /// Everything the client saw: what it sent (`reply.message`), what came
    /// back, how it ended, its own address and the receiver's.
    pub reply: Reply,
    /// The judge's finding for the exchange, with [`judge::pairing`] applied
    /// for a receiver that takes a header from anyone.
    pub finding: Finding,
    /// The judge's prediction for this pair, paired the same way (in-process
    /// matrix only).
    pub predicted: Option<Finding>,
    /// The receiver's own finding for the connection (in-process only).
    pub receiver_finding: Option<Finding>,
    /// What the receiver logged (nginx's words, where nginx logs a line).
    pub receiver_log: Option<String>,
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
        let mode = self.receiver?;
        let receiver_agrees = self
            .receiver_finding
            .is_some_and(|f| judge::pairing(expects(mode), f) == predicted);
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
    /// The client address every header claims.
    pub claimed: SocketAddr,
    /// Sender-major: for each sender, one cell per receiver column (or one
    /// for the target).
    pub cells: Vec<Cell>,
    /// With a target: the receiver columns whose predictions it meets.
    pub matches: Vec<Mode>,
}

impl Matrix {
    /// Every cell did what was predicted (in-process run; true with a
    /// target, which is judged by [`Matrix::matches`]).
    pub(crate) fn all_as_predicted(&self) -> bool {
        self.cells.iter().all(|c| c.as_predicted() != Some(false))
    }

    /// The cell for a pair (`receiver` `None`: the target's cell).
    pub(crate) fn cell(&self, sender: Sender, receiver: Option<Mode>) -> Option<&Cell> {
        self.cells
            .iter()
            .find(|c| c.sender == sender && c.receiver == receiver)
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
}

fn plan(sender: Sender, target: Target, reply_timeout: Duration) -> Plan {
    let payload = send::http_get(&target, PATH);
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
        tls: None,
    }
}

async fn exchange(
    sender: Sender,
    target: Target,
    addrs: &[SocketAddr],
    timeout: Duration,
) -> Result<Reply, ReproError> {
    send::exchange(&plan(sender, target, timeout), addrs)
        .await
        .map_err(|e| ReproError::Build(sender.name(), e))
}

/// The judge's finding for what the client saw.
fn judged(sender: Sender, reply: &Reply) -> Finding {
    judge::exchange(&reply.exchange(sender.sent(), false))
}

/// One in-process receiver: its address, where its records go, and how to
/// stop it.
struct Receiver {
    mode: Mode,
    addr: SocketAddr,
    records: mpsc::Receiver<ConnRecord>,
    /// Connections made to it so far (`listen` numbers them from 1).
    connections: u64,
    stop: oneshot::Sender<()>,
    server: tokio::task::JoinHandle<listen::Summary>,
}

fn start(mode: Mode) -> Result<Receiver, ReproError> {
    let any = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
    let listener = bind::bind_tcp(any)?;
    let addr = listener
        .local_addr()
        .map_err(|source| bind::BindError::Bind {
            addr: any,
            transport: "tcp",
            source,
        })?;
    let cfg = Config {
        mode,
        // The realistic setup: trust the proxy (here, loopback), as
        // `set_real_ip_from` + `real_ip_header proxy_protocol` do.
        trust: vec![ipnet::IpNet::V4(
            ipnet::Ipv4Net::new(Ipv4Addr::new(127, 0, 0, 0), 8).expect("a /8 is a valid prefix"),
        )],
        header_timeout: Duration::from_secs(3),
        drain: Duration::from_secs(1),
        ..Config::default()
    };
    let (stop, stop_rx) = oneshot::channel::<()>();
    let (tx, records) = mpsc::channel::<ConnRecord>(8);
    let listeners = Listeners {
        tcp: vec![listener],
        udp: Vec::new(),
    };
    let server = tokio::spawn(listen::run(
        listeners,
        cfg,
        async move {
            let _ = stop_rx.await;
        },
        tx,
    ));
    Ok(Receiver {
        mode,
        addr,
        records,
        connections: 0,
        stop,
        server,
    })
}

/// The record of the receiver's `id`-th connection (a record arrives a
/// little after the client saw the end). Each receiver gets one connection
/// at a time, so its records come in accept order.
async fn record(rx: &mut mpsc::Receiver<ConnRecord>, id: u64) -> Option<ConnRecord> {
    let wait = async {
        while let Some(r) = rx.recv().await {
            if r.id == id {
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

/// Run every sender against in-process receivers on loopback.
pub(crate) async fn run_local() -> Result<Matrix, ReproError> {
    let mut receivers = RECEIVERS
        .into_iter()
        .map(start)
        .collect::<Result<Vec<_>, _>>()?;
    let mut cells = Vec::new();
    for sender in Sender::ALL {
        for r in &mut receivers {
            let target = Target {
                host: r.addr.ip().to_string(),
                port: r.addr.port(),
            };
            let reply = exchange(sender, target, &[r.addr], REPLY_TIMEOUT).await?;
            let rec = if reply.connected {
                r.connections += 1;
                record(&mut r.records, r.connections).await
            } else {
                None
            };
            let served = matches!(predict(sender, r.mode), Finding::Proxied | Finding::Plain);
            let expected_client = served.then(|| match sender {
                Sender::None => reply
                    .local
                    .map_or(IpAddr::V4(Ipv4Addr::LOCALHOST), |a| a.ip()),
                Sender::V1 | Sender::V2 => CLAIMED.ip(),
            });
            let pair = |f| judge::pairing(expects(r.mode), f);
            cells.push(Cell {
                sender,
                receiver: Some(r.mode),
                finding: pair(judged(sender, &reply)),
                predicted: Some(pair(predict(sender, r.mode))),
                receiver_finding: rec.as_ref().map(|rec| rec.finding),
                receiver_log: rec.and_then(|rec| rec.log),
                client: net::whoami_client(&reply.received),
                expected_client,
                reply,
            });
        }
    }
    for r in receivers {
        let _ = r.stop.send(());
        let _ = r.server.await;
    }
    Ok(Matrix {
        target: None,
        claimed: CLAIMED,
        cells,
        matches: Vec::new(),
    })
}

/// Run the sender column against a real receiver, and name the receiver
/// columns it behaves like. When that is `auto`, every cell is spoofable.
pub(crate) async fn run_target(target: Target, timeout: Duration) -> Result<Matrix, ReproError> {
    let addrs = target.resolve().await?;
    let mut cells = Vec::new();
    for sender in Sender::ALL {
        let reply = exchange(sender, target.clone(), &addrs, timeout).await?;
        cells.push(Cell {
            sender,
            receiver: None,
            finding: judged(sender, &reply),
            predicted: None,
            receiver_finding: None,
            receiver_log: None,
            client: net::whoami_client(&reply.received),
            expected_client: None,
            reply,
        });
    }
    let matches: Vec<Mode> = RECEIVERS
        .into_iter()
        .filter(|&m| cells.iter().all(|c| c.finding == predict(c.sender, m)))
        .collect();
    if let [mode] = matches.as_slice() {
        for c in &mut cells {
            c.finding = judge::pairing(expects(*mode), c.finding);
        }
    }
    Ok(Matrix {
        target: Some(target),
        claimed: CLAIMED,
        cells,
        matches,
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
            for (m, f) in RECEIVERS.into_iter().zip(row) {
                assert_eq!(predict(s, m), f, "{s:?} {m:?}");
            }
        }
        // The columns are told apart by the sender column alone.
        for a in RECEIVERS {
            for b in RECEIVERS {
                let same = Sender::ALL.iter().all(|&s| predict(s, a) == predict(s, b));
                assert_eq!(same, a == b, "{a:?} {b:?}");
            }
        }
        assert_eq!(
            judge::pairing(expects(Mode::Auto), predict(Sender::None, Mode::Auto)),
            F::Spoofable
        );
    }
}
