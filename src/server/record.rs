//! One connection (or datagram) as a server saw it: the socket's ends, the
//! header stage's bytes and what they decode to, the judge's finding, and
//! the facts of the server's own service after the header stage
//! (`Record<T>`: listen's stand-in answer, relay's upstream exchange).
//! report/server.rs renders it, as the human line and the JSON line
//! (docs/json.md).

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, SystemTime};

use ipnet::IpNet;

use crate::codec;
use crate::judge::conformance::{self, SenderGrade, Sent};
use crate::judge::{self, Arrived, Expects, Finding};
use crate::protocol::Protocol;

use super::header::{HeaderFacts, HeaderSeen};

/// What a server took: a TCP connection or a UDP datagram (JSON's
/// `transport`). Not `Transport`: that is the PROXY header's field
/// (`codec::Transport`: STREAM or DGRAM, what the header claims), which
/// can disagree with the socket it came on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IpProtocol {
    Tcp,
    Udp,
}

impl IpProtocol {
    pub(crate) fn name(self) -> &'static str {
        match self {
            IpProtocol::Tcp => "tcp",
            IpProtocol::Udp => "udp",
        }
    }
}

/// One connection (or datagram), with `T` the service's own facts.
#[derive(Debug, Clone)]
pub(crate) struct Record<T> {
    /// Accept order, from 1.
    pub id: u64,
    /// When the connection was accepted.
    pub time: SystemTime,
    pub transport: IpProtocol,
    /// The socket's peer (the client's address as the socket has it).
    pub peer: SocketAddr,
    /// The server's end of the socket.
    pub local: SocketAddr,
    /// What the server is set up to take, in the judge's terms.
    pub expects: Expects,
    /// The server takes a header from any peer (no `--trust` list).
    pub open: bool,
    /// What arrived, in the judge's terms.
    pub arrived: Arrived,
    /// `judge::arrival(expects, arrived)`, unless the service knows more.
    pub finding: Finding,
    /// `judge::pairing` when the server takes a header from anyone:
    /// `Some(Spoofable)` for a connection it served.
    pub pairing: Option<Finding>,
    /// The peer is allowed to send a header (`--trust`, or no list).
    pub trusted: bool,
    /// The header stage's bytes; `None` when no header bytes arrived.
    pub header: Option<HeaderSeen>,
    /// The client the connection stands for: the accepted header's source,
    /// else the peer.
    pub client: SocketAddr,
    /// What happened, as every server says it (the header stage, the
    /// trust list), in order; the service's own events are in `service`.
    pub events: Vec<Event>,
    /// How the header stage went in time and reads (TCP; `None` when no
    /// header stage ran).
    pub framing: Option<Framing>,
    /// `--conform`: the sender's rules, graded on this connection.
    pub sender: Option<SenderGrade>,
    /// Bytes from the peer (header included), and to it.
    pub bytes_in: u64,
    pub bytes_out: u64,
    /// Accept to the end.
    pub duration: Duration,
    /// With expectations (`--expect-src`, `--expect-version`): did this one
    /// meet them?
    pub matched: Option<bool>,
    /// The protocol the finding was judged in, when not HTTP's (`relay
    /// --protocol`, `listen --protocol`): its server's fixes apply
    /// (Postfix's for SMTP).
    pub protocol: Option<Protocol>,
    /// The service's own facts.
    pub service: T,
}

impl<T> Record<T> {
    /// A record with nothing known yet but the socket's ends.
    pub(crate) fn new(
        id: u64,
        transport: IpProtocol,
        peer: SocketAddr,
        local: SocketAddr,
        expects: Expects,
        open: bool,
        service: T,
    ) -> Self {
        let mut rec = Record {
            id,
            time: SystemTime::now(),
            transport,
            peer,
            local,
            expects,
            open,
            arrived: Arrived::Closed,
            finding: Finding::ClientClosed,
            pairing: None,
            trusted: true,
            header: None,
            client: peer,
            events: Vec::new(),
            framing: None,
            sender: None,
            bytes_in: 0,
            bytes_out: 0,
            duration: Duration::ZERO,
            matched: None,
            protocol: None,
            service,
        };
        rec.arrive(Arrived::Closed);
        rec
    }

    /// Record what arrived and ask the judge for the finding and the
    /// pairing.
    pub(crate) fn arrive(&mut self, arrived: Arrived) {
        self.arrived = arrived;
        self.finding = judge::arrival(self.expects, arrived);
        self.pair();
    }

    /// The pairing of the finding as it stands (after a service changed it).
    pub(crate) fn pair(&mut self) {
        let paired = judge::pairing(self.expects, self.finding);
        self.pairing = (self.open && paired != self.finding).then_some(paired);
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

    /// The facts of the header the server took: a valid one from a
    /// trusted peer.
    pub(crate) fn taken(&self) -> Option<&HeaderFacts> {
        self.header
            .as_ref()
            .and_then(|h| h.valid.as_ref())
            .filter(|_| matches!(self.arrived, Arrived::Header { trusted: true, .. }))
    }

    /// The accepted header's facts (a served connection with a header).
    pub(crate) fn accepted(&self) -> Option<&HeaderFacts> {
        self.taken().filter(|_| self.served())
    }

    /// Grade the sender on this connection (`--conform`).
    pub(crate) fn grade_sender(&mut self) {
        let first = self.events.iter().find_map(|e| match e {
            Event::NoHeader { first } => Some(first.as_slice()),
            _ => None,
        });
        let (bytes, at_end) = match (&self.header, first) {
            (Some(h), _) => (h.bytes.as_slice(), h.at_end),
            (None, Some(first)) => (first, false),
            (None, None) => (&[][..], false),
        };
        let header_len = self
            .header
            .as_ref()
            .and_then(|h| h.valid.as_ref())
            .map_or(0, |f| f.len as u64);
        let sent = Sent {
            bytes,
            at_end,
            split: self.framing.map(|f| f.split),
            data_after: self.bytes_in > header_len,
            not_header: self.arrived == Arrived::NoHeader,
        };
        self.sender = Some(conformance::sender(&sent));
    }
}

/// How a connection's header stage went, as the socket delivered it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Framing {
    /// Accept to the end of the header stage (a header, no header, or a
    /// failure): `--metrics`' header wait.
    pub wait: Duration,
    /// Reads that brought bytes during the stage.
    pub reads: u32,
    /// A read came back with less than it asked for (the socket had no
    /// more at that moment) before the codec decided: the sender did not
    /// send the header's bytes at once (the spec's §2).
    pub split: bool,
}

/// What a server says of a connection besides its finding: how the header
/// stage ended when it did not end with a header taken, and what the trust
/// list made of a header. report::server says each in words, as an error
/// or as a note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Event {
    /// No PROXY header where one is required: the first bytes (at most
    /// [`KEPT`]).
    NoHeader { first: Vec<u8> },
    /// No PROXY header, and none is required: the peer is the client.
    PeerIsClient,
    /// A header that breaks the spec.
    InvalidHeader(codec::Error),
    /// A v2 header announcing more bytes than `--max-header`.
    TooLarge { announced: usize, max: usize },
    /// Nothing complete within `--header-timeout`: `got` bytes arrived.
    HeaderTimedOut {
        limit: Duration,
        got: usize,
        awaited: Awaited,
    },
    /// The server stopped during the header stage.
    StoppedInHeader { got: usize, awaited: Awaited },
    /// The client closed (or the connection failed) during the header
    /// stage, after `got` bytes.
    ClosedEarly { got: usize, fault: Option<Fault> },
    /// A valid header from a peer outside `--trust`: `rejected` (closed),
    /// else ignored (the peer is the client).
    Untrusted {
        peer: IpAddr,
        trust: Vec<IpNet>,
        rejected: bool,
    },
    /// A LOCAL header (a health check): the socket's addresses stand.
    Local,
    /// A header taken from any peer (no `--trust`): anyone could forge it.
    AnyPeer,
    /// A v1 header in a datagram (the spec defines UDP for v2 only).
    V1Datagram,
    /// The connection could not be watched by the runtime.
    Unwatched(Fault),
}

/// What the header stage was waiting for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Awaited {
    Header,
    /// A receiver without PROXY protocol waits for the first request.
    FirstRequest,
}

/// An I/O error, as a record keeps it (errors are not `Clone`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Fault {
    pub kind: io::ErrorKind,
    pub os: Option<i32>,
}

impl Fault {
    pub(crate) fn of(e: &io::Error) -> Self {
        Fault {
            kind: e.kind(),
            os: e.raw_os_error(),
        }
    }

    /// The error again, to be said in words.
    pub(crate) fn error(&self) -> io::Error {
        match self.os {
            Some(code) => io::Error::from_raw_os_error(code),
            None => io::Error::from(self.kind),
        }
    }
}

/// How many of a client's first bytes an event keeps (one read: enough to
/// say what they look like).
pub(crate) const KEPT: usize = 4096;

/// `bytes`, at most [`KEPT`] of them.
pub(crate) fn kept(bytes: &[u8]) -> Vec<u8> {
    bytes[..bytes.len().min(KEPT)].to_vec()
}
