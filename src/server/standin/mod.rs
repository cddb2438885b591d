//! Stand-in receivers: a server that answers like a real one behind a
//! PROXY port would, so a client (or repro's matrix) meets the real thing's
//! behaviour. One module per protocol: [`http`] copies nginx 1.22.1 with
//! and without `proxy_protocol` ([`nginx`]'s bytes, [`whoami`]'s page);
//! [`talk`] is the stand-in for the servers that speak first (Postfix,
//! Dovecot, MariaDB: `crate::protocol::standin` has their words). Each is a
//! [`super::Service`].

pub(crate) mod http;
pub(crate) mod nginx;
pub(crate) mod talk;
pub(crate) mod whoami;

use std::net::IpAddr;
use std::time::Duration;

use ipnet::IpNet;

use crate::judge::Expects;

use super::conn::WriteFailed;
use super::tls::{Identity, TlsSeen};

use nginx::Log;

/// `--proxy-protocol`: what the receiver expects in front of the payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub(crate) enum Mode {
    /// Accept a v1 header, a v2 header or none, and say which arrived. Such
    /// a port lets any client forge its address: results are labelled
    /// spoofable (the spec says a receiver MUST NOT guess; this is a tool).
    #[default]
    Auto,
    /// Like nginx `listen ... proxy_protocol`: a missing or broken header is
    /// logged as `broken header: "..."` and the connection is closed.
    Require,
    /// Like nginx without `proxy_protocol`: a PROXY header is a bad request
    /// line and gets nginx's `400 Bad Request`.
    Off,
}

impl Mode {
    pub(crate) const ALL: [Mode; 3] = [Mode::Auto, Mode::Require, Mode::Off];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Mode::Auto => "auto",
            Mode::Require => "require",
            Mode::Off => "off",
        }
    }

    /// One line for `--help` value lists.
    pub(crate) fn describe(self) -> &'static str {
        match self {
            Mode::Auto => {
                "v1, v2 or no header, said which (spoofable: any client can forge its address)"
            }
            Mode::Require => {
                "like nginx `listen ... proxy_protocol`: a missing or broken header is closed"
            }
            Mode::Off => "like nginx without proxy_protocol: a header gets 400 Bad Request",
        }
    }

    /// What the header stage waits for: a receiver without PROXY protocol
    /// waits for the first request.
    pub(crate) fn awaited(self) -> super::record::Awaited {
        match self {
            Mode::Off => super::record::Awaited::FirstRequest,
            Mode::Auto | Mode::Require => super::record::Awaited::Header,
        }
    }

    /// What the judge knows of this receiver's setup.
    pub(crate) fn expects(self) -> Expects {
        match self {
            Mode::Auto => Expects::Optional,
            Mode::Require => Expects::Header,
            Mode::Off => Expects::Nothing,
        }
    }
}

/// What the stand-in sent back to its client (the record's fact, named
/// so: a client's view of what came back is `net::Transcript`, and one
/// reply of a protocol is `protocol::Reply`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SentBack {
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
    /// A protocol stand-in greeted (and answered what came).
    Greeting,
    /// A protocol stand-in did not greet, but refused: Postfix's `421`.
    Error,
}

impl SentBack {
    pub(crate) fn name(self) -> &'static str {
        match self {
            SentBack::None => "none",
            SentBack::Whoami => "whoami",
            SentBack::WhoamiJson => "whoami-json",
            SentBack::BadRequest => "bad-request",
            SentBack::Echo => "echo",
            SentBack::Greeting => "greeting",
            SentBack::Error => "error",
        }
    }
}

/// Non-HTTP bytes that arrived after the header stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Data {
    /// How many bytes there were.
    pub length: usize,
    /// The first of them (at most [`super::record::KEPT`]).
    pub kept: Vec<u8>,
}

impl Data {
    pub(crate) fn of(bytes: &[u8]) -> Self {
        Data {
            length: bytes.len(),
            kept: super::record::kept(bytes),
        }
    }
}

/// What a stand-in did with a connection, besides what every server
/// records.
#[derive(Debug, Clone)]
pub(crate) struct Answered {
    pub mode: Mode,
    /// What happened after the header stage, in order.
    pub events: Vec<Event>,
    /// The line nginx would write to its error log in this mode, if any.
    pub log: Option<Log>,
    /// The first request line, for HTTP (in `off` mode, the header line
    /// nginx took for a request line).
    pub request: Option<String>,
    /// Non-HTTP bytes after the header stage.
    pub data: Option<Data>,
    pub reply: SentBack,
    /// The reply went out and every byte the peer sent had been read (the
    /// request head was all there was): closing needs no `shutdown()`
    /// first, the close sends the FIN.
    pub drained: bool,
    /// `--tls`: what the handshake came to.
    pub tls: Option<TlsSeen>,
    /// `--protocol smtp|imap|pop3|mysql`: what the protocol stand-in said
    /// and heard.
    pub talk: Option<talk::Talked>,
}

impl Answered {
    pub(crate) fn new(mode: Mode) -> Self {
        Answered {
            mode,
            events: Vec::new(),
            log: None,
            request: None,
            data: None,
            reply: SentBack::None,
            drained: false,
            tls: None,
            talk: None,
        }
    }
}

/// What the HTTP stand-in says of a connection after the header stage,
/// besides what every server says (report::server says each in words, as
/// an error or as a note).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Event {
    /// A header reached a receiver without PROXY protocol: nginx answers
    /// 400; on a TLS port (`tls`) the handshake behind it fails.
    Unexpected { tls: bool },
    /// The reply could not be sent.
    ReplyFailed(WriteFailed),
    /// Plain HTTP on a TLS port: nginx answers `400 The plain HTTP request
    /// was sent to HTTPS port`.
    PlainHttpOnTls,
    /// The TLS handshake failed (the record's `tls` says how).
    HandshakeFailed,
    /// A ClientHello on a port that serves no TLS.
    HelloOnPlainPort,
    /// A PROXY header inside TLS, after the handshake.
    HeaderInsideTls,
    /// The request head outgrew the room for it (`cap` bytes).
    HeadTooLarge { cap: usize },
    /// No complete request head within `--request-timeout`.
    RequestTimedOut { limit: Duration, got: usize },
    /// Nothing arrived for `--idle-timeout` while the request was awaited.
    IdleInRequest { limit: Duration, got: usize },
    /// The server stopped before the request was complete.
    StoppedInRequest,
    /// No ClientHello before the timeout.
    NoClientHello,
    /// The peer closed in the middle of the request.
    ClosedInRequest,
    /// Not HTTP: logged and closed (`--echo` echoes it).
    NotHttp,
    /// `--echo`: nothing arrived for `--idle-timeout`.
    EchoIdle { limit: Duration },
    /// `--echo`: a write failed.
    EchoFailed(WriteFailed),
}

/// A stand-in's record of one connection (or datagram).
pub(crate) type ConnRecord = super::Record<Answered>;

/// The HTTP stand-in (a [`super::Service`], [`http`]) and its settings
/// (built by `cmd::listen` from flags, or directly by `repro` and tests).
#[derive(Debug, Clone)]
pub(crate) struct Http {
    pub mode: Mode,
    /// Largest header accepted (v2: 16 + len), in bytes.
    pub max_header: usize,
    /// Time a client has to deliver a complete header (or, with no header,
    /// its first bytes).
    pub header_timeout: Duration,
    /// Time the first request head may take once the header stage is over,
    /// counted once for the whole head (a byte does not restart it).
    pub request_timeout: Duration,
    /// Longest silence after the header before the connection is closed,
    /// and the longest a reply (or an `--echo` write) may wait for a peer
    /// that does not read.
    pub idle_timeout: Duration,
    /// Peers allowed to send a header (nginx `set_real_ip_from`). Empty:
    /// every peer may, and nginx's realip would keep the peer address.
    pub trust: Vec<IpNet>,
    /// Echo non-HTTP bytes back instead of logging them and closing.
    pub echo: bool,
    /// `--tls`: serve TLS after the header (and without one in auto/off).
    pub tls: Option<Identity>,
}

impl Default for Http {
    fn default() -> Self {
        Http {
            mode: Mode::Auto,
            max_header: super::MAX_HEADER,
            header_timeout: super::HEADER_TIMEOUT,
            request_timeout: super::REQUEST_TIMEOUT,
            idle_timeout: super::IDLE_TIMEOUT,
            trust: Vec::new(),
            echo: false,
            tls: None,
        }
    }
}

impl Http {
    /// May `peer` send a header? (Every peer when no `--trust` was given.)
    pub(crate) fn trusts(&self, peer: IpAddr) -> bool {
        super::trusts(&self.trust, peer)
    }

    /// The bytes a connection may hold before its first request is judged:
    /// the header cap plus room for request headers.
    pub(crate) fn buffer_cap(&self) -> usize {
        self.max_header.max(crate::codec::V1_MAX_LEN) + REQUEST_CAP
    }

    /// A record of a connection from `peer` to `local`, nothing known yet.
    pub(crate) fn record(
        &self,
        id: u64,
        transport: super::IpProtocol,
        peer: std::net::SocketAddr,
        local: std::net::SocketAddr,
    ) -> ConnRecord {
        super::Record::new(
            id,
            transport,
            peer,
            local,
            self.mode.expects(),
            self.trust.is_empty(),
            Answered::new(self.mode),
        )
    }
}

/// Room for the first request (line and headers) after the header; nginx's
/// default `large_client_header_buffers` is 8k, we allow twice that.
pub(crate) const REQUEST_CAP: usize = 16 * 1024;
