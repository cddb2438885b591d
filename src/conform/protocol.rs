//! What the client speaks after the header, and what counts as a served
//! answer in it. The suite is the same for every protocol; only these two
//! questions change, so a protocol (SMTP's banner and 250 line, a
//! database's handshake) plugs in here: a variant, its request, and its
//! reading of the reply.

use crate::judge;
use crate::net::{Handshake, HandshakeResult, Reply};

/// `--protocol`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub(crate) enum Protocol {
    /// An HTTP/1.1 request; served is any response but 400.
    #[default]
    Http,
    /// A TLS handshake after the header; served is a completed handshake.
    Tls,
    /// A line of text; served is any byte back (an echo, a banner, an
    /// error message of the protocol: the receiver passed the connection
    /// on).
    Raw,
}

/// What came back, in the protocol's terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Answer {
    /// The protocol served the client (the HTTP status, if any).
    Served { status: Option<u16> },
    /// An answer that refuses: an HTTP 400 (a header read as a request
    /// line), a TLS alert, a plain-text answer to a ClientHello.
    Refused { status: Option<u16> },
    /// Not a byte: how the connection ended says the rest.
    Nothing,
}

impl Protocol {
    pub(crate) const ALL: [Protocol; 3] = [Protocol::Http, Protocol::Tls, Protocol::Raw];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Protocol::Http => "http",
            Protocol::Tls => "tls",
            Protocol::Raw => "raw",
        }
    }

    pub(crate) fn describe(self) -> &'static str {
        match self {
            Protocol::Http => "an HTTP/1.1 request; served: any response but 400",
            Protocol::Tls => "a TLS handshake after the header; served: the handshake completes",
            Protocol::Raw => "a line of text; served: any byte back (an echo, a banner)",
        }
    }

    /// The bytes after the header, given the HTTP request the suite would
    /// send.
    pub(crate) fn payload(self, http: Vec<u8>) -> Vec<u8> {
        match self {
            Protocol::Http => http,
            Protocol::Tls => Vec::new(),
            Protocol::Raw => b"ppctl conform\r\n".to_vec(),
        }
    }

    /// The protocol is TLS itself: the handshake follows the header.
    pub(crate) fn is_tls(self) -> bool {
        self == Protocol::Tls
    }

    /// A reflector's answer can name the client (`--reflect`).
    pub(crate) fn reflects(self) -> bool {
        self == Protocol::Http
    }

    /// Whether the receiver served the client, from the reply (and the
    /// handshake, under TLS).
    pub(crate) fn answer(self, reply: &Reply, handshake: Option<&Handshake>) -> Answer {
        let status = crate::send::http_status(&reply.received);
        match handshake.map(|h| &h.result) {
            Some(HandshakeResult::Done(_)) if self == Protocol::Tls => Answer::Served { status },
            // What the server sent in clear instead of a handshake.
            Some(HandshakeResult::Failed(_) | HandshakeResult::NotStarted) => {
                if reply.received.is_empty() {
                    Answer::Nothing
                } else {
                    Answer::Refused { status }
                }
            }
            _ => self.plain(&reply.received),
        }
    }

    /// The answer on a plain connection, or inside TLS.
    fn plain(self, received: &[u8]) -> Answer {
        if received.is_empty() {
            return Answer::Nothing;
        }
        match (self, judge::Answer::of(received)) {
            (Protocol::Http, judge::Answer::Http { status: 400, .. }) => {
                Answer::Refused { status: Some(400) }
            }
            (Protocol::Http, judge::Answer::Http { status, .. }) => Answer::Served {
                status: Some(status),
            },
            (Protocol::Http, _) => Answer::Refused { status: None },
            (Protocol::Tls | Protocol::Raw, judge::Answer::Http { status, .. }) => Answer::Served {
                status: Some(status),
            },
            (Protocol::Tls | Protocol::Raw, _) => Answer::Served { status: None },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_400_refuses_and_other_statuses_serve() {
        let p = Protocol::Http;
        assert_eq!(
            p.plain(b"HTTP/1.1 200 OK\r\n\r\n"),
            Answer::Served { status: Some(200) }
        );
        assert_eq!(
            p.plain(b"HTTP/1.1 404 Not Found\r\n\r\n"),
            Answer::Served { status: Some(404) }
        );
        assert_eq!(
            p.plain(b"HTTP/1.1 400 Bad Request\r\n\r\n"),
            Answer::Refused { status: Some(400) }
        );
        assert_eq!(
            p.plain(b"\x15\x03\x03\x00\x02\x02\x28"),
            Answer::Refused { status: None }
        );
        assert_eq!(p.plain(b""), Answer::Nothing);
        assert_eq!(
            Protocol::Raw.plain(b"ppctl conform\r\n"),
            Answer::Served { status: None }
        );
        for p in Protocol::ALL {
            assert!(!p.describe().is_empty() && !p.name().is_empty());
        }
    }
}
