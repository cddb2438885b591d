//! One verdict per flow: was a header sent, was it valid, and how did the
//! receiver react? The header is decoded with the codec and the server's
//! first bytes are classified with `sniff`.

use std::net::IpAddr;

use serde::Serialize;

use super::flow::{End, Flow, Side, Why};
use crate::codec::{self, Command, Decoded};
use crate::judge::fixes::{self, Fix};
use crate::report::json::{HeaderJson, SniffJson};
use crate::sniff::{self, Sniffed};

/// The verdict for one flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// A valid header, and the server answered normally.
    Proxied,
    /// A header was sent and the receiver treated it as data (HTTP 400, TLS alert, hang-up).
    UnexpectedHeader,
    /// No header, and the server closed or reset without answering.
    MissingHeader,
    /// The client sent a header that breaks the spec.
    InvalidHeader,
    /// A LOCAL header, or a connect-and-close.
    HealthCheck,
    /// No header, normal traffic.
    Plain,
    /// The start or the end of the flow is not in the capture.
    Incomplete,
}

impl Verdict {
    pub const ALL: [Verdict; 7] = [
        Verdict::Proxied,
        Verdict::UnexpectedHeader,
        Verdict::MissingHeader,
        Verdict::InvalidHeader,
        Verdict::HealthCheck,
        Verdict::Plain,
        Verdict::Incomplete,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Verdict::Proxied => "proxied",
            Verdict::UnexpectedHeader => "unexpected-header",
            Verdict::MissingHeader => "missing-header",
            Verdict::InvalidHeader => "invalid-header",
            Verdict::HealthCheck => "health-check",
            Verdict::Plain => "plain",
            Verdict::Incomplete => "incomplete",
        }
    }

    /// A verdict that makes `ppctl pcap` exit with 1.
    pub fn is_problem(self) -> bool {
        matches!(
            self,
            Verdict::UnexpectedHeader | Verdict::MissingHeader | Verdict::InvalidHeader
        )
    }
}

/// Cause and fixes for a problem verdict (field-guide.md §3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Explanation {
    /// The failure-mode id (PP-UNEXPECTED...).
    pub id: &'static str,
    pub cause: &'static str,
    /// What to change, from the shared fixes table (`diagnose::fixes`).
    pub fixes: Vec<&'static Fix>,
}

/// The cause of each problem verdict, and the ids of its fixes in the
/// shared table.
fn cause(v: Verdict) -> Option<(&'static str, &'static str, &'static [&'static str])> {
    match v {
        Verdict::UnexpectedHeader => Some((
            "PP-UNEXPECTED",
            "the sender adds a PROXY header but the receiver is not configured for it, so it \
             reads the header as data (nginx answers 400 Bad Request, a TLS server sends an \
             alert or hangs up)",
            &[
                "nginx-listen-proxy-protocol",
                "haproxy-accept-proxy",
                "disable-at-sender",
            ],
        )),
        Verdict::MissingHeader => Some((
            "PP-MISSING",
            "the receiver requires a PROXY header but this client sent none (a client that \
             bypasses the load balancer, a monitoring probe, hairpin traffic from inside the \
             cluster, a load balancer whose option is off), so it closed the connection",
            &["route-through-lb", "client-send-header", "enable-at-sender"],
        )),
        Verdict::InvalidHeader => Some((
            "PP-SPLIT",
            "the sender wrote a malformed or truncated PROXY header; receivers reject it \
             (HAProxy `Received an invalid PROXY protocol header`, nginx `broken header`)",
            &["fix-sender-header", "small-header-or-upgrade"],
        )),
        _ => None,
    }
}

/// The cause and fixes for a problem verdict; `None` for the others.
pub fn explanation(v: Verdict) -> Option<Explanation> {
    cause(v).map(|(id, cause, fixes)| Explanation {
        id,
        cause,
        fixes: fixes::collect(fixes.iter().copied()),
    })
}

/// The server's reaction, as JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResponseJson {
    /// The first bytes the server sent, classified; null when it sent none.
    pub answer: Option<SniffJson>,
    /// How the connection ended, when it did: `client-fin`, `client-rst`,
    /// `server-fin` or `server-rst` (the first close seen).
    pub close: Option<&'static str>,
}

impl ResponseJson {
    /// One line for tables.
    pub fn summary(&self) -> String {
        match (&self.answer, self.close) {
            (Some(a), _) => a.description.clone(),
            (None, Some(c)) => format!("no answer, {c}"),
            (None, None) => "-".to_string(),
        }
    }
}

/// The decision for one flow.
#[derive(Debug, Clone)]
pub struct Judgement {
    pub verdict: Verdict,
    /// Why, in one sentence.
    pub reason: String,
    pub header: Option<HeaderJson>,
    /// The source address the header claims.
    pub claimed: Option<IpAddr>,
    pub response: ResponseJson,
}

/// Can an undecided flow be decided now? Yes once the header (or the
/// lack of one) is known and the server has answered; closes are handled by
/// the flow table.
pub fn ready(flow: &Flow) -> bool {
    if !flow.start_seen {
        return true;
    }
    let client = flow.client_data.bytes();
    if flow.udp {
        return !client.is_empty();
    }
    let settled = header_settled(client);
    // A client that closed without sending anything can't send a header
    // any more: a connect-and-close.
    let silent_close =
        client.is_empty() && flow.client_end.is_some() && flow.server_data.bytes().is_empty();
    (settled && !flow.server_data.bytes().is_empty()) || flow.server_end.is_some() || silent_close
}

/// Whether the client's first bytes say all they will about a header.
/// Only bytes that can start one (`\r` for v2, `P` for v1) need decoding;
/// anything else is already known not to be a header, so this stays cheap
/// on the hot path (it runs for every packet of an undecided flow).
fn header_settled(client: &[u8]) -> bool {
    match client.first() {
        None => false,
        Some(b'\r' | b'P' | b'p') => !matches!(codec::decode(client), Decoded::Incomplete { .. }),
        Some(_) => true,
    }
}

/// Decide a flow.
///
/// `detail` builds the JSON views of the header and the answer; without it
/// (`--summary`) only the verdict and the claimed source are worked out.
pub fn judge(flow: &Flow, why: Why, detail: bool) -> Judgement {
    let answer = sniff::classify(flow.server_data.bytes());
    let response = response(flow, detail.then_some(&answer));
    let (verdict, reason, decoded) = if flow.udp {
        judge_udp(flow)
    } else {
        judge_tcp(flow, why, &answer)
    };
    let claimed = match &decoded {
        Some(Decoded::Complete(h)) => h.source().map(|a| a.ip()),
        _ => None,
    };
    let header = match &decoded {
        Some(d) if detail => Some(HeaderJson::new(d, flow.client_data.bytes())),
        _ => None,
    };
    Judgement {
        verdict,
        reason,
        header,
        claimed,
        response,
    }
}

fn response(flow: &Flow, sniffed: Option<&Sniffed<'_>>) -> ResponseJson {
    let answer = flow.server_data.bytes();
    let close = flow.first_close.map(|side| {
        let end = match side {
            Side::Client => flow.client_end,
            Side::Server => flow.server_end,
        };
        match (side, end) {
            (Side::Client, Some(End::Rst)) => "client-rst",
            (Side::Client, _) => "client-fin",
            (Side::Server, Some(End::Rst)) => "server-rst",
            (Side::Server, _) => "server-fin",
        }
    });
    ResponseJson {
        answer: sniffed
            .filter(|_| !answer.is_empty())
            .map(|s| SniffJson::from_sniffed(s, answer.len())),
        close,
    }
}

/// The verdict, its reason, and the decoded start of the client's stream
/// (none when there is nothing to show).
type Decision<'a> = (Verdict, String, Option<Decoded<'a>>);

fn judge_udp(flow: &Flow) -> Decision<'_> {
    let first = flow.client_data.bytes();
    let decoded = codec::decode_final(first);
    let header = Some(decoded);
    let (v, r) = match decoded {
        Decoded::Complete(h) if h.command == Command::Local => (
            Verdict::HealthCheck,
            "a LOCAL header in the first datagram".to_string(),
        ),
        Decoded::Complete(h) => (
            Verdict::Proxied,
            format!(
                "a valid v{} header in the first datagram",
                h.version.number()
            ),
        ),
        Decoded::Invalid(e) => (
            Verdict::InvalidHeader,
            format!("{} (offset {})", e.kind, e.offset),
        ),
        Decoded::Incomplete { .. } | Decoded::NotProxy(_) => (
            Verdict::Plain,
            "no header in the first datagram".to_string(),
        ),
    };
    (v, r, header)
}

fn judge_tcp<'a>(flow: &'a Flow, why: Why, sniffed: &Sniffed<'_>) -> Decision<'a> {
    use Verdict::*;
    if !flow.start_seen {
        return (
            Incomplete,
            "the connection's start (SYN) is not in the capture".to_string(),
            None,
        );
    }
    if flow.client_data.missing_start() {
        return (
            Incomplete,
            "the client's first bytes are missing from the capture".to_string(),
            None,
        );
    }
    let client = flow.client_data.bytes();
    let answer = flow.server_data.bytes();
    let server_closed = flow.server_end.is_some();
    let any_close = flow.first_close.is_some();
    if !flow.synack_seen && flow.server_end == Some(End::Rst) {
        return (
            Plain,
            "connection refused (the server reset the SYN)".into(),
            None,
        );
    }
    if client.is_empty() {
        return match () {
            _ if !answer.is_empty() => (Plain, "the server spoke first; the client sent nothing".into(), None),
            _ if flow.first_close == Some(Side::Server) => (
                MissingHeader,
                "the client sent nothing and the server gave up waiting (a receiver that times out \
                 waiting for a header, or a server-speaks-first protocol behind a proxy)"
                    .into(),
                None,
            ),
            _ if any_close => (HealthCheck, "connect and close: no bytes either way".into(), None),
            _ => (Incomplete, "no bytes before the capture ended".into(), None),
        };
    }
    let ended = any_close || why == Why::Closed;
    let partial = !header_settled(client);
    if partial && !ended && answer.is_empty() {
        return (
            Incomplete,
            "the header had not arrived in full when the capture ended".into(),
            Some(codec::decode(client)),
        );
    }
    let decoded = codec::decode_final(client);
    let header = Some(decoded);
    let (v, r) = match decoded {
        Decoded::Complete(h) => {
            let v = h.version.number();
            let payload = client.len() > h.len();
            if h.command == Command::Local {
                (HealthCheck, format!("a v{v} LOCAL header (a health check)"))
            } else if let Some(why) = rejection(sniffed) {
                (
                    UnexpectedHeader,
                    format!(
                        "a v{v} header, and the server answered {why}: it read the header as data"
                    ),
                )
            } else if !answer.is_empty() {
                (
                    Proxied,
                    format!("a valid v{v} header, and the server answered"),
                )
            } else if server_closed && payload {
                (
                    UnexpectedHeader,
                    format!("a v{v} header and data, and the server closed without answering"),
                )
            } else if any_close && !payload {
                (
                    HealthCheck,
                    format!("a v{v} header and no data, then close (a health check)"),
                )
            } else {
                (
                    Incomplete,
                    format!("a valid v{v} header, but no answer in the capture"),
                )
            }
        }
        Decoded::Invalid(e) => (InvalidHeader, format!("{} (offset {})", e.kind, e.offset)),
        Decoded::NotProxy(s) => {
            if !answer.is_empty() {
                (
                    Plain,
                    format!("no header ({}), and the server answered", s.code()),
                )
            } else if server_closed {
                (
                    MissingHeader,
                    format!(
                        "no header ({}), and the server closed without answering",
                        s.code()
                    ),
                )
            } else {
                (
                    Incomplete,
                    format!("no header ({}), and no answer in the capture", s.code()),
                )
            }
        }
        Decoded::Incomplete { .. } => (Incomplete, "the header is incomplete".into()),
    };
    (v, r, header)
}

/// When the server's first bytes show that it did not expect a header.
fn rejection(answer: &Sniffed<'_>) -> Option<String> {
    match answer {
        Sniffed::HttpResponse {
            status: 400,
            reason,
        } => Some(format!("HTTP 400 {reason}")),
        Sniffed::TlsAlert { description, .. } => Some(format!("a TLS alert ({description})")),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_problem_has_an_explanation_with_known_fixes() {
        for v in Verdict::ALL {
            // `fixes::collect` panics on an unknown id.
            assert_eq!(explanation(v).is_some(), v.is_problem(), "{v:?}");
        }
    }
}
