//! What a reply means for the header that was sent, and how to fix it.
//! The fixes come from the shared table in [`crate::judge::fixes`];
//! [`fixes`] only says which entries fit each verdict.

use serde::Serialize;

use crate::judge::fixes::{self as table, Fix};
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
    /// `400 Bad Request` after two stacked headers: the receiver took one
    /// and read the other as the request.
    StackedHeader,
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
            Verdict::StackedHeader => "stacked-header",
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

/// The verdict, a sentence about it, notes, and the fixes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Explanation {
    pub verdict: Verdict,
    pub summary: String,
    pub notes: Vec<String>,
    pub fixes: Vec<&'static Fix>,
}

/// What was sent, as far as explaining the reply needs to know.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Sent {
    /// False when no PROXY header went out (an empty --raw).
    pub header: bool,
    /// A datagram exchange.
    pub udp: bool,
    /// The header went out in pieces (--split).
    pub split: bool,
    /// Two headers went out back to back (--twice).
    pub stacked: bool,
}

/// Explain `reply` to what was `sent`.
pub fn explain(reply: &Reply, sent: Sent) -> Explanation {
    let Sent {
        header: sent_header,
        udp,
        split,
        stacked,
    } = sent;
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
    let (verdict, summary) = if reply.end == End::Refused {
        let why = reply.error.clone().unwrap_or_default();
        let proto = if udp { "UDP" } else { "TCP" };
        (
            Verdict::NoReceiver,
            format!("connection refused ({why}): nothing listens there on {proto}"),
        )
    } else if !reply.connected {
        let why = reply.error.clone().unwrap_or_default();
        (Verdict::Unreachable, format!("could not connect ({why})"))
    } else if reply.received_total > 0 {
        match sniff::classify(&reply.received) {
            Sniffed::HttpResponse { status: 400, reason } if stacked => (
                Verdict::StackedHeader,
                format!("the receiver answered `400 {reason}`: it took the first PROXY header and read the second one as the request. Exactly one hop may add a header (an AWS NLB forwards a header already in the stream)"),
            ),
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
                let why = if sent_header {
                    "it rejected the header, or it wants the other PROXY protocol version".to_string()
                } else {
                    format!("it rejected {what}; a receiver that requires a PROXY header (nginx `listen ... proxy_protocol`, HAProxy accept-proxy) closes like this when none comes first")
                };
                (Verdict::Rejected, format!("the receiver {how} the connection without a reply: {why}"))
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
    if split && verdict == Verdict::Rejected {
        notes.push("the header was sent in pieces: HAProxy (and go-proxyproto for v1) reject a header that is not complete in the first read, while nginx waits for the rest".to_string());
    }
    Explanation {
        verdict,
        summary,
        notes,
        fixes: fixes(verdict, sent_header),
    }
}

/// The fixes (ids in the shared table) for a verdict.
pub fn fixes(verdict: Verdict, sent_header: bool) -> Vec<&'static Fix> {
    let ids: &[&str] = match verdict {
        Verdict::NotExpectingProxy => &[
            "ingress-nginx-use-proxy-protocol",
            "nginx-listen-proxy-protocol",
            "haproxy-accept-proxy",
            "disable-at-sender",
        ],
        Verdict::StackedHeader => &["single-header-hop"],
        Verdict::Rejected if sent_header => &[
            "fix-sender-header",
            "match-version",
            "haproxy-expect-proxy-allowlist",
        ],
        Verdict::Rejected => &["client-send-header", "route-through-lb"],
        Verdict::Waiting => &[
            "ingress-nginx-header-timeout",
            "aws-nlb-header-on-first-ack",
        ],
        _ => &[],
    };
    table::collect(ids.iter().copied())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::Timings;

    fn reply(end: End, received: &[u8]) -> Reply {
        Reply {
            connected: end != End::Refused,
            local: None,
            peer: None,
            message: None,
            sent: 10,
            banner: Vec::new(),
            received: received.to_vec(),
            received_total: received.len(),
            end,
            write_error: None,
            error: None,
            timings: Timings::default(),
        }
    }

    fn verdict(end: End, received: &[u8], sent: Sent) -> Verdict {
        explain(&reply(end, received), sent).verdict
    }

    #[test]
    fn verdicts() {
        let tcp = Sent {
            header: true,
            ..Sent::default()
        };
        let bad = b"HTTP/1.1 400 Bad Request\r\n\r\n";
        assert_eq!(
            verdict(End::EofAfterData, bad, tcp),
            Verdict::NotExpectingProxy
        );
        let none = Sent::default();
        assert_eq!(verdict(End::EofAfterData, bad, none), Verdict::HttpError);
        assert_eq!(
            verdict(End::EofAfterData, b"HTTP/1.1 200 OK\r\n\r\n", tcp),
            Verdict::Accepted
        );
        assert_eq!(
            verdict(End::EofAfterData, b"HTTP/1.1 503 No\r\n\r\n", tcp),
            Verdict::HttpError
        );
        assert_eq!(
            verdict(End::Timeout, b"220 smtp\r\n", tcp),
            Verdict::Answered
        );
        assert_eq!(verdict(End::EofWithoutData, b"", tcp), Verdict::Rejected);
        assert_eq!(verdict(End::Reset, b"", tcp), Verdict::Rejected);
        assert_eq!(verdict(End::Timeout, b"", tcp), Verdict::Waiting);
        let udp = Sent { udp: true, ..tcp };
        assert_eq!(verdict(End::Timeout, b"", udp), Verdict::NoDatagram);
        assert_eq!(verdict(End::Refused, b"", udp), Verdict::NoReceiver);
        let twice = Sent {
            stacked: true,
            ..tcp
        };
        assert_eq!(
            verdict(End::EofAfterData, bad, twice),
            Verdict::StackedHeader
        );
        assert_eq!(verdict(End::Refused, b"", tcp), Verdict::NoReceiver);
    }

    #[test]
    fn every_problem_but_silence_over_udp_and_refusals_has_fixes() {
        for v in [
            Verdict::NotExpectingProxy,
            Verdict::Rejected,
            Verdict::Waiting,
        ] {
            assert!(!fixes(v, true).is_empty(), "{v:?}");
        }
        assert!(!fixes(Verdict::Rejected, false).is_empty());
        let ids: Vec<&str> = fixes(Verdict::NotExpectingProxy, true)
            .iter()
            .map(|f| f.id)
            .collect();
        assert!(
            ids.contains(&"ingress-nginx-use-proxy-protocol")
                && ids.contains(&"haproxy-accept-proxy")
        );
    }
}
