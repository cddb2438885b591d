//! One connection (or datagram) as the receiver saw it: typed facts (the
//! socket's ends, the header bytes and what they decode to, the reply) and
//! the judge's finding. report/listen.rs turns it into the human line and
//! the JSON line (docs/json.md).

use std::net::SocketAddr;
use std::time::{Duration, SystemTime};

use crate::codec::{self, Addresses, Command, Decoded};
use crate::judge::{self, Arrived, Finding};

use super::config::Mode;

/// TCP connection or UDP datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Transport {
    Tcp,
    Udp,
}

impl Transport {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Transport::Tcp => "tcp",
            Transport::Udp => "udp",
        }
    }
}

/// What the receiver sent back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reply {
    /// Nothing: the connection was closed.
    None,
    /// `200` whoami, text/plain.
    Whoami,
    /// `200` whoami, application/json.
    WhoamiJson,
    /// nginx's exact `400 Bad Request` page.
    BadRequest,
    /// Non-HTTP bytes echoed back (`--echo`).
    Echo,
}

impl Reply {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Reply::None => "none",
            Reply::Whoami => "whoami",
            Reply::WhoamiJson => "whoami-json",
            Reply::BadRequest => "bad-request",
            Reply::Echo => "echo",
        }
    }
}

/// The facts of a valid header that the receiver acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct HeaderFacts {
    /// 1 or 2.
    pub version: u8,
    /// A LOCAL command (a health check).
    pub local: bool,
    /// The claimed ends (IP families only).
    pub source: Option<SocketAddr>,
    pub destination: Option<SocketAddr>,
}

/// The bytes of the header stage and what they decode to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HeaderSeen {
    /// The header (for a valid one), or what arrived of it.
    pub bytes: Vec<u8>,
    /// The input ended with these bytes (a close, a timeout, a datagram):
    /// decoded with `decode_final`, so a partial header reads as truncated.
    pub at_end: bool,
    /// Set when the bytes start with a valid header.
    pub valid: Option<HeaderFacts>,
}

impl HeaderSeen {
    pub(crate) fn new(bytes: &[u8], at_end: bool) -> Self {
        let mut seen = HeaderSeen {
            bytes: bytes.to_vec(),
            at_end,
            valid: None,
        };
        if let Decoded::Complete(h) = seen.decode() {
            let (source, destination) = match h.addresses {
                Addresses::Inet { src, dst } => (Some(src), Some(dst)),
                _ => (None, None),
            };
            seen.valid = Some(HeaderFacts {
                version: h.version.number(),
                local: h.command == Command::Local,
                source,
                destination,
            });
        }
        seen
    }

    /// The codec's reading of the bytes (for the report's header view).
    pub(crate) fn decode(&self) -> Decoded<'_> {
        if self.at_end {
            codec::decode_final(&self.bytes)
        } else {
            codec::decode(&self.bytes)
        }
    }
}

/// Non-HTTP bytes that arrived after the header stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Data {
    /// How many bytes there were.
    pub length: usize,
    /// The first of them (at most [`DATA_KEPT`]).
    pub kept: Vec<u8>,
}

impl Data {
    pub(crate) fn of(bytes: &[u8]) -> Self {
        Data {
            length: bytes.len(),
            kept: bytes[..bytes.len().min(DATA_KEPT)].to_vec(),
        }
    }
}

/// How many bytes of unrecognised data a record keeps (one read: enough to
/// say what they look like).
pub(crate) const DATA_KEPT: usize = 4096;

/// One connection (or datagram).
#[derive(Debug, Clone)]
pub(crate) struct ConnRecord {
    /// Accept order, from 1.
    pub id: u64,
    /// When the connection was accepted.
    pub time: SystemTime,
    pub transport: Transport,
    pub peer: SocketAddr,
    pub local: SocketAddr,
    pub mode: Mode,
    /// What arrived, in the judge's terms.
    pub arrived: Arrived,
    /// `judge::arrival(mode, arrived)`.
    pub finding: Finding,
    /// `judge::pairing` when the receiver takes a header from anyone (auto
    /// mode, no `--trust`): `Some(Spoofable)` for a connection it served.
    pub pairing: Option<Finding>,
    /// The peer is allowed to send a header (`--trust`, or no list).
    pub trusted: bool,
    /// The header stage's bytes; `None` when no header bytes arrived.
    pub header: Option<HeaderSeen>,
    /// The client address an application behind this port would use: the
    /// header's source when one was accepted, else the peer.
    pub client: SocketAddr,
    /// What went wrong, in words.
    pub error: Option<String>,
    /// The line nginx would write to its error log in this mode, if any.
    pub log: Option<String>,
    pub note: Option<String>,
    /// The first request line, for HTTP (in `off` mode, the header line
    /// nginx took for a request line).
    pub request: Option<String>,
    /// Non-HTTP bytes after the header stage.
    pub data: Option<Data>,
    pub reply: Reply,
    pub bytes_in: u64,
    /// Accept to decision.
    pub duration: Duration,
    /// With `--expect-src`/`--expect-version`: did this one match?
    pub matched: Option<bool>,
    /// The reply went out and every byte the peer sent had been read (the
    /// request head was all there was): closing needs no `shutdown()`
    /// first, the close sends the FIN.
    pub drained: bool,
    /// `--tls`: what the handshake came to.
    pub tls: Option<super::tls::TlsSeen>,
}

impl ConnRecord {
    /// A record with nothing known yet but the socket ends.
    pub(crate) fn new(
        id: u64,
        transport: Transport,
        peer: SocketAddr,
        local: SocketAddr,
        mode: Mode,
    ) -> Self {
        let mut rec = ConnRecord {
            id,
            time: SystemTime::now(),
            transport,
            peer,
            local,
            mode,
            arrived: Arrived::Closed,
            finding: Finding::ClientClosed,
            pairing: None,
            trusted: true,
            header: None,
            client: peer,
            error: None,
            log: None,
            note: None,
            request: None,
            data: None,
            reply: Reply::None,
            bytes_in: 0,
            duration: Duration::ZERO,
            matched: None,
            drained: false,
            tls: None,
        };
        rec.arrive(Arrived::Closed, false);
        rec
    }

    /// Record what arrived and ask the judge. `open` is true when the
    /// receiver takes a header from any peer (no `--trust` list).
    pub(crate) fn arrive(&mut self, arrived: Arrived, open: bool) {
        self.arrived = arrived;
        self.finding = judge::arrival(self.mode.expects(), arrived);
        let paired = judge::pairing(self.mode.expects(), self.finding);
        self.pairing = (open && paired != self.finding).then_some(paired);
    }

    /// The connection got past the header stage and was served.
    pub(crate) fn served(&self) -> bool {
        match self.arrived {
            Arrived::Header { trusted, .. } => {
                trusted
                    && !matches!(
                        self.finding,
                        Finding::UnexpectedHeader
                            | Finding::TlsHandshakeFailed
                            | Finding::TlsToPlainPort
                    )
            }
            Arrived::NoHeader => self.finding == Finding::Plain,
            _ => false,
        }
    }

    /// The accepted header's facts (a served connection with a header).
    pub(crate) fn accepted(&self) -> Option<HeaderFacts> {
        self.header
            .as_ref()
            .and_then(|h| h.valid)
            .filter(|_| self.served())
    }
}
