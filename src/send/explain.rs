//! What a reply means for the header that was sent, and how to fix it.
//!
//! The fix texts live in ONE function, [`fixes`], until the shared fixes
//! table (src/diagnose/fixes.rs, branch `diag`) can be used instead.

use serde::Serialize;

use crate::net::{End, Reply};
use crate::sniff::{self, Sniffed};

/// The short verdict on one exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// An HTTP 1xx-3xx answer: the header was taken.
    Accepted,
    /// An HTTP 4xx/5xx other than the tell-tale 400: the header was taken,
    /// the request was not.
    HttpError,
    /// Non-HTTP bytes came back.
    Answered,
    /// `400 Bad Request` after a header: the receiver does not expect
    /// PROXY protocol.
    NotExpectingProxy,
    /// Closed or reset without a word: the header was rejected.
    Rejected,
    /// Silence until the timeout: the receiver waits for more.
    Waiting,
    /// UDP: nothing came back.
    NoDatagram,
    /// Connection refused: nothing listens there.
    NoReceiver,
    /// The connect timed out or failed otherwise.
    Unreachable,
}

impl Verdict {
    pub fn code(self) -> &'static str {
        match self {
            Verdict::Accepted => "accepted",
            Verdict::HttpError => "http-error",
            Verdict::Answered => "answered",
            Verdict::NotExpectingProxy => "not-expecting-proxy",
            Verdict::Rejected => "rejected",
            Verdict::Waiting => "waiting",
            Verdict::NoDatagram => "no-datagram",
            Verdict::NoReceiver => "no-receiver",
            Verdict::Unreachable => "unreachable",
        }
    }

    /// True for the verdicts that point at a problem.
    pub fn is_problem(self) -> bool {
        !matches!(self, Verdict::Accepted | Verdict::Answered)
    }
}

/// One way to fix what the verdict says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Fix {
    /// Where the change goes (a product, a config, the sender).
    pub place: &'static str,
    pub fix: &'static str,
}

/// The verdict, a sentence about it, notes, and the fixes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Explanation {
    pub verdict: Verdict,
    pub summary: String,
    pub notes: Vec<String>,
    pub fixes: Vec<Fix>,
}

/// Explain `reply`. `sent_header` is false when no PROXY header went out
/// (an empty --raw); `udp` for datagram exchanges.
pub fn explain(reply: &Reply, sent_header: bool, udp: bool) -> Explanation {
    let mut notes = Vec::new();
    if !reply.banner.is_empty() {
        notes.push(format!(
            "the server spoke first ({}) before any header was sent: a receiver that expects PROXY protocol stays silent until the header arrives, so this one probably does not expect it",
            sniff::classify(&reply.banner)
        ));
    }
    if let Some(e) = &reply.write_error {
        notes.push(format!(
            "sending stopped early ({e}): the receiver gave up while the header was still arriving"
        ));
    }
    let timeout = reply.timings.total.as_millis();
    let (verdict, summary) = if !reply.connected {
        let why = reply.error.clone().unwrap_or_default();
        match reply.end {
            End::Refused => (
                Verdict::NoReceiver,
                format!("connection refused ({why}): nothing listens there"),
            ),
            _ => (Verdict::Unreachable, format!("could not connect ({why})")),
        }
    } else if reply.received_total > 0 {
        match sniff::classify(&reply.received) {
            Sniffed::HttpResponse { status: 400, reason } if sent_header => (
                Verdict::NotExpectingProxy,
                format!("the receiver answered `400 {reason}` to a PROXY header: it does not expect PROXY protocol on this port and read the header as a broken HTTP request"),
            ),
            Sniffed::HttpResponse { status, reason } if status < 400 => (
                Verdict::Accepted,
                format!("the receiver took the header and answered `{status} {reason}`"),
            ),
            Sniffed::HttpResponse { status, reason } => (
                Verdict::HttpError,
                format!("the receiver answered `{status} {reason}`: it spoke HTTP, so the header got through; the request itself was refused"),
            ),
            other => (Verdict::Answered, format!("the receiver answered: {other}")),
        }
    } else {
        let what = if sent_header {
            "the header"
        } else {
            "what was sent"
        };
        match reply.end {
            End::EofWithoutData | End::Reset => {
                let how = if reply.end == End::Reset { "reset (RST)" } else { "closed (FIN)" };
                (
                    Verdict::Rejected,
                    format!("the receiver {how} the connection without a reply: it rejected {what}, or it wants the other PROXY protocol version"),
                )
            }
            End::Timeout if udp => (
                Verdict::NoDatagram,
                format!("no datagram came back within {timeout} ms: many UDP receivers never answer; check the receiver's log"),
            ),
            End::Timeout => (
                Verdict::Waiting,
                format!("no reply within {timeout} ms: the receiver is still waiting for more (an incomplete header, or a request it has not finished reading), or the protocol is server-speaks-first"),
            ),
            _ => (
                Verdict::Rejected,
                format!(
                    "the connection failed without a reply ({})",
                    reply.error.clone().unwrap_or_else(|| reply.end.code().to_string())
                ),
            ),
        }
    };
    Explanation {
        verdict,
        summary,
        notes,
        fixes: fixes(verdict),
    }
}

/// The fixes for a verdict. The one place these texts live in `send`.
pub fn fixes(verdict: Verdict) -> Vec<Fix> {
    let fix = |place, fix| Fix { place, fix };
    match verdict {
        Verdict::NotExpectingProxy => vec![
            fix("ingress-nginx", "set `use-proxy-protocol: \"true\"` in the controller ConfigMap (with PROXY protocol enabled on the load balancer in front)"),
            fix("nginx", "add proxy_protocol to the listen line (`listen 80 proxy_protocol;`), then `set_real_ip_from <LB CIDR>; real_ip_header proxy_protocol;`"),
            fix("HAProxy", "add accept-proxy to the bind line (`bind :80 accept-proxy`)"),
            fix("the sender", "or turn PROXY protocol off on the load balancer, if this receiver is not meant to get it"),
        ],
        Verdict::Rejected => vec![
            fix("the header", "check it with `ppctl send --dry-run` (same options) or `ppctl inspect`: receivers close on a malformed header"),
            fix("the version", "try the other version (-1 or -2): some receivers take only one, and nginx's stream module sends v1 only"),
            fix("the trust list", "the sender's address must be allowed: HAProxy `tcp-request connection expect-proxy layer4 if { src ... }`, Traefik `proxyProtocol.trustedIPs`"),
            fix("the receiver's log", "nginx says `broken header: \"...\" while reading PROXY protocol`; HAProxy says `Received an invalid PROXY protocol header`"),
        ],
        Verdict::Waiting => vec![
            fix("an incomplete header", "a receiver waits for the rest of a header (v2 len too long, a v1 line without CRLF, a slow split) until its timeout: nginx `proxy_protocol_timeout`, HAProxy `timeout client`"),
            fix("server-speaks-first", "SMTP, FTP, SSH and MySQL greet first; behind PROXY protocol the receiver waits for the header before greeting. Use --wait-banner; AWS NLB sends its header only with the first client data unless header_placement is on_first_ack"),
        ],
        Verdict::NoReceiver => vec![fix("the target", "check the address and port, and that the receiver is running (`ss -ltnp`)")],
        Verdict::Unreachable => vec![fix("the network", "check the address, routes and firewalls between here and the receiver")],
        Verdict::Accepted | Verdict::HttpError | Verdict::Answered | Verdict::NoDatagram => Vec::new(),
    }
}
