//! The validated settings of one `listen` server (built by `cmd::listen`
//! from flags, or directly by tests): the HTTP stand-in's, the server's
//! bounds, and the expectations the exit status reports on.

use std::sync::Arc;

use ipnet::IpNet;

use crate::server::standin::talk::Talk;
use crate::server::standin::{ConnRecord, Http};
use crate::server::{Limits, Meter};

/// Everything a server needs besides its sockets.
#[derive(Debug, Clone, Default)]
pub(crate) struct Config {
    /// What answers each connection.
    pub http: Http,
    /// `--protocol smtp|imap|pop3|mysql`: this stand-in answers instead.
    pub talk: Option<Talk>,
    /// Connections at once, `--count` (datagrams with `--udp`), `--drain`.
    pub limits: Limits,
    pub expect: Expect,
    /// `--metrics`: where every connection is counted.
    pub meter: Option<Arc<Meter>>,
    /// `--conform`: grade every sender against the spec's rules.
    pub conform: bool,
}

/// `--expect-src` / `--expect-version`: what every connection's header
/// must be for the run to pass.
#[derive(Debug, Clone, Default)]
pub(crate) struct Expect {
    pub src: Vec<IpNet>,
    pub version: Option<u8>,
}

impl Expect {
    /// True when an expectation was set, so the exit status reports on it.
    pub(crate) fn any(&self) -> bool {
        !self.src.is_empty() || self.version.is_some()
    }

    /// Did the accepted header meet them? `None` without expectations.
    pub(crate) fn check(&self, rec: &ConnRecord) -> Option<bool> {
        if !self.any() {
            return None;
        }
        let header = rec.accepted();
        let src_ok = self.src.is_empty()
            || header
                .and_then(|h| h.source)
                .is_some_and(|s| self.src.iter().any(|net| net.contains(&s.ip())));
        let ver_ok = self
            .version
            .is_none_or(|want| header.map(|h| h.number()) == Some(want));
        Some(src_ok && ver_ok)
    }
}
