//! `ppctl repro`: the sender × receiver matrix, run for real.
//!
//! Senders (no header, v1, v2) go through `send`'s exchange
//! ([`crate::send::exchange`] over [`crate::net`]); receivers are `listen`
//! servers in this process, one per mode (off = nginx without
//! `proxy_protocol`, require = nginx with it, auto). Each cell records what
//! the client got, what the receiver logged, whether that is what we
//! predicted, and for broken pairs the cause and the fix. With a target,
//! the sender column runs against a real receiver and is matched against
//! the predicted columns.

pub mod fixes;
mod render;

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use serde::Serialize;
use tokio::sync::{mpsc, oneshot};

use crate::codec::Version;
use crate::listen::{self, bind, Config, ConnRecord, Listeners, Mode};
use crate::net::{self, End, Reply, Target};
use crate::send::{self, AddressPlan, HeaderPlan, Plan};

pub use fixes::Diagnosis;
pub use render::human;

/// The client address every header claims: TEST-NET-3, never a real host.
pub const CLAIMED: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(203, 0, 113, 7)), 51234);

/// What the sender puts in front of its request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Sender {
    None,
    V1,
    V2,
}

impl Sender {
    pub const ALL: [Sender; 3] = [Sender::None, Sender::V1, Sender::V2];

    pub fn name(self) -> &'static str {
        match self {
            Sender::None => "none",
            Sender::V1 => "v1",
            Sender::V2 => "v2",
        }
    }

    fn header(self) -> HeaderPlan {
        match self {
            Sender::None => HeaderPlan {
                raw: Some(Vec::new()),
                ..HeaderPlan::new(Version::V1)
            },
            Sender::V1 | Sender::V2 => HeaderPlan {
                addresses: AddressPlan::Inet {
                    src: Some(CLAIMED),
                    dst: None,
                },
                ..HeaderPlan::new(if self == Sender::V1 {
                    Version::V1
                } else {
                    Version::V2
                })
            },
        }
    }
}

/// The receivers, in column order.
pub const RECEIVERS: [Mode; 3] = [Mode::Off, Mode::Require, Mode::Auto];

/// What the client got, coarsely: what tells the columns apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// An HTTP 1xx-3xx answer: the request got through.
    HttpOk,
    /// `400 Bad Request`.
    BadRequest,
    /// Some other HTTP status.
    OtherHttp,
    /// Non-HTTP bytes.
    Answered,
    /// Closed or reset without a reply.
    Closed,
    /// No reply until the timeout.
    Silent,
    /// Could not connect.
    NoConnection,
}

impl Outcome {
    pub fn of(reply: &Reply) -> Self {
        if !reply.connected {
            return Outcome::NoConnection;
        }
        match send::http_status(&reply.received) {
            Some(400) => Outcome::BadRequest,
            Some(s) if s < 400 => Outcome::HttpOk,
            Some(_) => Outcome::OtherHttp,
            None if reply.received_total > 0 => Outcome::Answered,
            None => match reply.end {
                End::Timeout => Outcome::Silent,
                _ => Outcome::Closed,
            },
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Outcome::HttpOk => "HTTP OK",
            Outcome::BadRequest => "400 Bad Request",
            Outcome::OtherHttp => "other HTTP status",
            Outcome::Answered => "non-HTTP answer",
            Outcome::Closed => "closed, no reply",
            Outcome::Silent => "no reply (timeout)",
            Outcome::NoConnection => "no connection",
        }
    }
}

/// What we predict for a pair (the nginx behaviour `listen` copies).
pub fn predict(sender: Sender, receiver: Mode) -> Outcome {
    match (sender, receiver) {
        (Sender::None, Mode::Require) => Outcome::Closed,
        (Sender::V1 | Sender::V2, Mode::Off) => Outcome::BadRequest,
        _ => Outcome::HttpOk,
    }
}

/// The client address a 200 should show: the claimed one when a header
/// was accepted, the socket's peer otherwise.
fn predict_ip(sender: Sender) -> IpAddr {
    match sender {
        Sender::None => IpAddr::V4(Ipv4Addr::LOCALHOST),
        _ => CLAIMED.ip(),
    }
}

/// One cell of the matrix.
#[derive(Debug, Clone, Serialize)]
pub struct Cell {
    pub sender: Sender,
    /// off, require, auto; or "target".
    pub receiver: &'static str,
    pub outcome: Outcome,
    /// The reply's first line (status line), escaped.
    pub status_line: Option<String>,
    /// The whole reply, escaped (at most 1 KiB shown), when it was not a 200.
    pub response: Option<String>,
    /// For a 200 from `listen`: the client address it computed (nginx realip).
    pub client_ip: Option<String>,
    /// How the connection ended (net's words).
    pub end: &'static str,
    /// `send`'s one-sentence reading of the reply.
    pub explanation: String,
    /// What the receiver logged (nginx's words where nginx has them).
    pub receiver_log: Option<String>,
    /// The receiver's verdict for the connection.
    pub receiver_verdict: Option<&'static str>,
    pub predicted: Option<Outcome>,
    pub as_predicted: Option<bool>,
    /// Sender and receiver disagree (the cell a user would call broken).
    pub broken: bool,
    pub diagnosis: Option<Diagnosis>,
}

/// The whole run.
#[derive(Debug, Clone, Serialize)]
pub struct Matrix {
    pub schema: u32,
    /// null for the in-process matrix.
    pub target: Option<String>,
    pub claimed_source: String,
    pub cells: Vec<Cell>,
    /// Every cell did what was predicted (in-process run).
    pub all_as_predicted: bool,
    /// With a target: the receiver columns whose predictions it matches.
    pub matches: Vec<&'static str>,
}

#[derive(Debug, thiserror::Error)]
pub enum ReproError {
    #[error(transparent)]
    Bind(#[from] bind::BindError),
    #[error(transparent)]
    Target(#[from] net::TargetError),
    #[error("building the {0} header: {1}")]
    Build(&'static str, send::BuildError),
}

fn plan(sender: Sender, target: Target, reply_timeout: Duration) -> Plan {
    let payload = send::http_get(&target, "/json");
    Plan {
        target,
        header: sender.header(),
        payload,
        udp: false,
        net: net::Options {
            reply_timeout,
            connect_timeout: Duration::from_secs(5),
            ..net::Options::default()
        },
        expect: send::Expect::default(),
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

/// Run every sender against in-process receivers on loopback.
pub async fn run_local() -> Result<Matrix, ReproError> {
    let (tx, mut rx) = mpsc::channel::<ConnRecord>(64);
    let mut servers = Vec::new();
    let mut stops = Vec::new();
    let mut addrs = Vec::new();
    for mode in RECEIVERS {
        let listener = bind::bind_tcp(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))?;
        let addr = listener
            .local_addr()
            .map_err(|source| bind::BindError::Bind {
                addr: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
                transport: "tcp",
                source,
            })?;
        let cfg = Config {
            mode,
            // The realistic setup: trust the proxy (here, loopback), as
            // `set_real_ip_from` + `real_ip_header proxy_protocol` do.
            trust: ipnet::Ipv4Net::new(Ipv4Addr::new(127, 0, 0, 0), 8)
                .map(ipnet::IpNet::V4)
                .into_iter()
                .collect(),
            header_timeout: Duration::from_secs(3),
            drain: Duration::from_secs(1),
            ..Config::default()
        };
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let listeners = Listeners {
            tcp: vec![listener],
            udp: Vec::new(),
        };
        servers.push(tokio::spawn(listen::run(
            listeners,
            cfg,
            async move {
                let _ = stop_rx.await;
            },
            tx.clone(),
        )));
        stops.push(stop_tx);
        addrs.push((mode, addr));
    }
    drop(tx);

    let mut pending: HashMap<u16, ConnRecord> = HashMap::new();
    let mut cells = Vec::new();
    for sender in Sender::ALL {
        for &(mode, addr) in &addrs {
            let target = Target {
                host: addr.ip().to_string(),
                port: addr.port(),
            };
            let reply = exchange(sender, target, &[addr], Duration::from_secs(5)).await?;
            let rec = match reply.local {
                Some(local) => record_for(local.port(), &mut rx, &mut pending).await,
                None => None,
            };
            cells.push(cell(sender, Some(mode), &reply, rec.as_ref()));
        }
    }
    for s in stops {
        let _ = s.send(());
    }
    for s in servers {
        let _ = s.await;
    }
    let all = cells.iter().all(|c| c.as_predicted == Some(true));
    Ok(Matrix {
        schema: crate::report::json::SCHEMA,
        target: None,
        claimed_source: CLAIMED.to_string(),
        cells,
        all_as_predicted: all,
        matches: Vec::new(),
    })
}

/// The record of the connection whose client port is `port` (records may
/// arrive in any order, a little after the client saw the end).
async fn record_for(
    port: u16,
    rx: &mut mpsc::Receiver<ConnRecord>,
    pending: &mut HashMap<u16, ConnRecord>,
) -> Option<ConnRecord> {
    if let Some(r) = pending.remove(&port) {
        return Some(r);
    }
    let wait = async {
        while let Some(r) = rx.recv().await {
            let p = r.peer.port();
            if p == port {
                return Some(r);
            }
            pending.insert(p, r);
        }
        None
    };
    tokio::time::timeout(Duration::from_secs(10), wait)
        .await
        .ok()
        .flatten()
}

/// Run the sender column against a real receiver.
pub async fn run_target(target: Target, timeout: Duration) -> Result<Matrix, ReproError> {
    let addrs = target.resolve().await?;
    let mut cells = Vec::new();
    for sender in Sender::ALL {
        let reply = exchange(sender, target.clone(), &addrs, timeout).await?;
        cells.push(cell(sender, None, &reply, None));
    }
    let matches = RECEIVERS
        .iter()
        .filter(|m| cells.iter().all(|c| c.outcome == predict(c.sender, **m)))
        .map(|m| m.name())
        .collect();
    Ok(Matrix {
        schema: crate::report::json::SCHEMA,
        target: Some(target.to_string()),
        claimed_source: CLAIMED.to_string(),
        cells,
        all_as_predicted: true,
        matches,
    })
}

fn cell(sender: Sender, receiver: Option<Mode>, reply: &Reply, rec: Option<&ConnRecord>) -> Cell {
    let outcome = Outcome::of(reply);
    let client_ip = (outcome == Outcome::HttpOk)
        .then(|| whoami_ip(&reply.received))
        .flatten();
    let first_line = reply
        .received
        .split(|&b| b == b'\n')
        .next()
        .filter(|l| !l.is_empty())
        .map(|l| listen::nginx::escape(l.strip_suffix(b"\r").unwrap_or(l)));
    let response = (outcome != Outcome::HttpOk && !reply.received.is_empty()).then(|| {
        String::from_utf8_lossy(&reply.received[..reply.received.len().min(1024)]).into_owned()
    });
    let explanation = match (sender, outcome) {
        // send's reading assumes a header went out.
        (Sender::None, Outcome::HttpOk) => format!(
            "the receiver answered `{}` to a request without a header",
            first_line
                .as_deref()
                .unwrap_or("HTTP")
                .trim_start_matches("HTTP/1.1 ")
        ),
        _ => {
            send::explain::explain(
                reply,
                send::explain::Sent {
                    header: sender != Sender::None,
                    ..Default::default()
                },
            )
            .summary
        }
    };
    let (predicted, as_predicted, broken, diagnosis) = match receiver {
        Some(mode) => {
            let p = predict(sender, mode);
            let ip_ok = p != Outcome::HttpOk
                || client_ip.as_deref() == Some(predict_ip(sender).to_string().as_str());
            let diagnosis = fixes::diagnose(sender, mode);
            let broken = diagnosis.as_ref().is_some_and(|d| d.id != "PP-SPOOF");
            (Some(p), Some(outcome == p && ip_ok), broken, diagnosis)
        }
        None => (None, None, false, None),
    };
    Cell {
        sender,
        receiver: receiver.map_or("target", |m| m.name()),
        outcome,
        status_line: first_line,
        response,
        client_ip,
        end: reply.end.code(),
        explanation,
        receiver_log: rec.map(receiver_log),
        receiver_verdict: rec.map(|r| r.finding.name()),
        predicted,
        as_predicted,
        broken,
        diagnosis,
    }
}

/// What the receiver wrote about the connection: nginx's line where nginx
/// would log one, else the verdict and the addresses.
fn receiver_log(r: &ConnRecord) -> String {
    if let Some(l) = &r.log {
        return l.clone();
    }
    let header = r
        .header
        .as_ref()
        .and_then(|h| h.valid)
        .map(|h| {
            let command = if h.local { "LOCAL" } else { "PROXY" };
            match (h.source, h.destination) {
                (Some(s), Some(d)) => format!("v{} {command} {s} -> {d}", h.version),
                _ => format!("v{} {command}", h.version),
            }
        })
        .unwrap_or_else(|| "(no header)".into());
    format!("{} {header}", r.finding.name())
}

/// `realip_remote_addr` from a whoami JSON page.
fn whoami_ip(received: &[u8]) -> Option<String> {
    let at = received.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let v: serde_json::Value = serde_json::from_slice(&received[at..]).ok()?;
    v.get("realip_remote_addr")?.as_str().map(str::to_string)
}
