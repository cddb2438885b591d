//! The validated settings of one `listen` server (built by `cmd::listen`
//! from flags, or directly by `repro` and tests).

use std::net::IpAddr;
use std::time::Duration;

use ipnet::IpNet;

use crate::judge::Expects;

/// `--proxy-protocol`: what the receiver expects in front of the payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Mode {
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

    pub fn name(self) -> &'static str {
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

    /// What the judge knows of this receiver's setup.
    pub(crate) fn expects(self) -> Expects {
        match self {
            Mode::Auto => Expects::Optional,
            Mode::Require => Expects::Header,
            Mode::Off => Expects::Nothing,
        }
    }
}

/// `--max-header` unless given (go-proxyproto's limit).
pub(crate) const MAX_HEADER: usize = 4096;
/// `--header-timeout` unless given.
pub(crate) const HEADER_TIMEOUT: Duration = Duration::from_secs(5);
/// `--request-timeout` unless given.
pub(crate) const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// `--idle-timeout` unless given.
pub(crate) const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// `--max-conns` unless given.
pub(crate) const MAX_CONNS: usize = 4096;
/// `--drain` unless given.
pub(crate) const DRAIN: Duration = Duration::from_secs(2);

/// Everything a server needs besides its sockets.
#[derive(Debug, Clone)]
pub struct Config {
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
    /// Connections served at once; more wait in the kernel's backlog.
    pub max_conns: usize,
    /// Peers allowed to send a header (nginx `set_real_ip_from`). Empty:
    /// every peer may, and nginx's realip would keep the peer address.
    pub trust: Vec<IpNet>,
    /// Echo non-HTTP bytes back instead of logging them and closing.
    pub echo: bool,
    /// Stop after this many connections (datagrams with `--udp`).
    pub count: Option<u64>,
    pub expect_src: Vec<ipnet::IpNet>,
    pub expect_version: Option<u8>,
    /// On shutdown, how long in-flight connections may still finish (a
    /// second signal ends the drain at once).
    pub drain: Duration,
    /// `--tls`: serve TLS after the header (and without one in auto/off).
    pub(crate) tls: Option<super::tls::Identity>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            mode: Mode::Auto,
            max_header: MAX_HEADER,
            header_timeout: HEADER_TIMEOUT,
            request_timeout: REQUEST_TIMEOUT,
            idle_timeout: IDLE_TIMEOUT,
            max_conns: MAX_CONNS,
            trust: Vec::new(),
            echo: false,
            count: None,
            expect_src: Vec::new(),
            expect_version: None,
            drain: DRAIN,
            tls: None,
        }
    }
}

impl Config {
    /// May `peer` send a header? (Every peer when no `--trust` was given.)
    pub fn trusts(&self, peer: IpAddr) -> bool {
        self.trust.is_empty() || self.trust.iter().any(|net| net.contains(&peer))
    }

    /// True when an expectation was set, so the exit status reports on it.
    pub fn has_expectations(&self) -> bool {
        !self.expect_src.is_empty() || self.expect_version.is_some()
    }

    /// The bytes a connection may hold before its first request is judged:
    /// the header cap plus room for request headers.
    pub fn buffer_cap(&self) -> usize {
        self.max_header.max(crate::codec::V1_MAX_LEN) + REQUEST_CAP
    }
}

/// Room for the first request (line and headers) after the header; nginx's
/// default `large_client_header_buffers` is 8k, we allow twice that.
pub const REQUEST_CAP: usize = 16 * 1024;
