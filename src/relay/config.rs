//! The validated settings of one `relay` (built by `cmd::relay` from its
//! flags, or directly by tests).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use ipnet::IpNet;

use crate::codec::{Command, Transport, Version};
use crate::judge::Expects;
use crate::protocol::Selection;
use crate::send::{AddressPlan, BuildError, HeaderPlan};
use crate::server::{self, HeaderFacts, Limits, Meter};

/// `--accept`: what the relay expects from its clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub(crate) enum Accept {
    /// Plain clients: bytes pass as they come (nginx `stream` in front of
    /// an ingress). A header from a client is data, and is named.
    #[default]
    None,
    /// A v1 header is required.
    V1,
    /// A v2 header is required.
    V2,
    /// A header of either version is required.
    Any,
    /// A header is taken when there is one (spoofable, as listen's auto).
    Auto,
}

impl Accept {
    pub(crate) const ALL: [Accept; 5] = [
        Accept::None,
        Accept::V1,
        Accept::V2,
        Accept::Any,
        Accept::Auto,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Accept::None => "none",
            Accept::V1 => "v1",
            Accept::V2 => "v2",
            Accept::Any => "any",
            Accept::Auto => "auto",
        }
    }

    pub(crate) fn describe(self) -> &'static str {
        match self {
            Accept::None => "plain clients; the bytes pass as they come (like nginx `stream`)",
            Accept::V1 => "a v1 header is required; others are closed",
            Accept::V2 => "a v2 header is required; others are closed",
            Accept::Any => "a v1 or v2 header is required; clients without one are closed",
            Accept::Auto => {
                "a header is taken when there is one (spoofable: any client can forge its address)"
            }
        }
    }

    /// What the judge knows of this receiver's setup.
    pub(crate) fn expects(self) -> Expects {
        match self {
            Accept::None => Expects::Nothing,
            Accept::V1 | Accept::V2 | Accept::Any => Expects::Header,
            Accept::Auto => Expects::Optional,
        }
    }

    /// Takes a header of this version (1 or 2).
    pub(crate) fn takes(self, version: u8) -> bool {
        match self {
            Accept::None => false,
            Accept::V1 => version == 1,
            Accept::V2 => version == 2,
            Accept::Any | Accept::Auto => true,
        }
    }
}

/// `--send`: what the relay puts in front of the stream upstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub(crate) enum SendMode {
    /// No header (strip what was accepted).
    None,
    /// A v1 header (nginx `proxy_protocol on`).
    #[default]
    V1,
    /// A v2 header (HAProxy `send-proxy-v2`).
    V2,
    /// The version that was accepted (none without one).
    Same,
}

impl SendMode {
    pub(crate) const ALL: [SendMode; 4] =
        [SendMode::None, SendMode::V1, SendMode::V2, SendMode::Same];

    pub(crate) fn name(self) -> &'static str {
        match self {
            SendMode::None => "none",
            SendMode::V1 => "v1",
            SendMode::V2 => "v2",
            SendMode::Same => "same",
        }
    }

    pub(crate) fn describe(self) -> &'static str {
        match self {
            SendMode::None => "no header upstream (strips an accepted one)",
            SendMode::V1 => "a v1 header, like nginx `proxy_protocol on`",
            SendMode::V2 => "a v2 header, like HAProxy `send-proxy-v2`",
            SendMode::Same => "the version the client sent (none without a header)",
        }
    }
}

/// relay's `--max-header` unless given: the spec's largest v2 header (16 +
/// 65535). A relay stands in for the load balancer or passes its headers
/// on, so it takes every header the spec allows (client certificates and
/// long ids in TLVs go past go-proxyproto's 4096); listen keeps a
/// receiver's limit ([`server::MAX_HEADER`]).
pub(crate) const MAX_HEADER: usize = crate::codec::V2_MAX_LEN;

/// `--connect-timeout` unless given.
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Everything a relay needs besides its listening sockets.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    /// Where to connect, tried in order.
    pub upstream: Vec<SocketAddr>,
    pub accept: Accept,
    /// Peers allowed to send a header; empty: every peer.
    pub trust: Vec<IpNet>,
    pub send: SendMode,
    /// The header options (`--like`, TLVs); version, command and addresses
    /// are set per connection.
    pub header: HeaderPlan,
    /// Largest v2 header taken from a client.
    pub max_header: usize,
    pub header_timeout: Duration,
    /// Time the client's first request has once the header is in, counted
    /// once (see `conn::request_complete`).
    pub request_timeout: Duration,
    pub connect_timeout: Duration,
    pub idle_timeout: Duration,
    /// Connections at once, `--count`, `--drain`.
    pub limits: Limits,
    /// `--metrics`: where every connection is counted.
    pub meter: Option<Arc<Meter>>,
    /// `--conform`: grade every sender against the spec's rules.
    pub conform: bool,
    /// `--protocol`: judge and tap each session in its protocol (`None`:
    /// HTTP and TLS by the judge's own rules).
    pub protocol: Option<Selection>,
}

impl Config {
    /// A relay to `upstream` with every other setting at its default.
    pub(crate) fn new(upstream: Vec<SocketAddr>) -> Self {
        Config {
            upstream,
            accept: Accept::default(),
            trust: Vec::new(),
            send: SendMode::default(),
            header: HeaderPlan::new(Version::V1),
            max_header: MAX_HEADER,
            header_timeout: server::HEADER_TIMEOUT,
            request_timeout: server::REQUEST_TIMEOUT,
            connect_timeout: CONNECT_TIMEOUT,
            idle_timeout: server::IDLE_TIMEOUT,
            limits: Limits::default(),
            meter: None,
            conform: false,
            protocol: None,
        }
    }

    /// May `peer` send a header? (Every peer when no `--trust` was given.)
    pub(crate) fn trusts(&self, peer: IpAddr) -> bool {
        server::trusts(&self.trust, peer)
    }

    /// The header's version for a connection that brought `accepted`
    /// (none: send no header).
    pub(crate) fn version_for(&self, accepted: Option<&HeaderFacts>) -> Option<Version> {
        match self.send {
            SendMode::None => None,
            SendMode::V1 => Some(Version::V1),
            SendMode::V2 => Some(Version::V2),
            SendMode::Same => accepted.map(|h| h.version),
        }
    }

    /// The header bytes to send upstream for a client `client` that
    /// connected to `local`, having sent `accepted` (its claimed ends
    /// replace the socket's). `None`: send nothing.
    pub(crate) fn header_for(
        &self,
        accepted: Option<&HeaderFacts>,
        client: SocketAddr,
        local: SocketAddr,
    ) -> Result<Option<Vec<u8>>, BuildError> {
        let Some(version) = self.version_for(accepted) else {
            return Ok(None);
        };
        let mut plan = self.header.clone();
        plan.version = version;
        if version == Version::V1 {
            // `--send same` with a v1 client: TLVs have no place in v1.
            plan.tlvs.clear();
            plan.family_byte = None;
        }
        match accepted {
            // A health check stays one (v1 has no LOCAL: `PROXY UNKNOWN`).
            Some(h) if h.local => {
                if version == Version::V2 {
                    plan.command = Command::Local;
                }
                plan.addresses = AddressPlan::Unknown;
            }
            _ if matches!(plan.addresses, AddressPlan::Inet { .. }) => {
                plan.addresses = AddressPlan::Inet {
                    src: Some(accepted.and_then(|h| h.source).unwrap_or(client)),
                    dst: Some(accepted.and_then(|h| h.destination).unwrap_or(local)),
                };
            }
            _ => {}
        }
        plan.build(client, local).map(Some)
    }

    /// Append the header for this connection (as [`Config::header_for`]) to
    /// `out`, and say how long it is (`None`: no header). A plain one (the
    /// PROXY command with the ends as they are, no TLVs, no `--like`
    /// tweaks: the common case) is written in place, with no plan cloned
    /// and built per connection.
    pub(crate) fn write_header(
        &self,
        accepted: Option<&HeaderFacts>,
        client: SocketAddr,
        local: SocketAddr,
        out: &mut Vec<u8>,
    ) -> Result<Option<usize>, BuildError> {
        let Some(version) = self.version_for(accepted) else {
            return Ok(None);
        };
        let at = out.len();
        let plan = &self.header;
        let plain = plan.command == Command::Proxy
            && plan.transport == Transport::Stream
            && matches!(plan.addresses, AddressPlan::Inet { .. })
            && plan.tlvs.is_empty()
            && plan.family_byte.is_none()
            && plan.corrupt.is_none()
            && !plan.twice
            && plan.raw.is_none()
            && !accepted.is_some_and(|h| h.local);
        if plain {
            let src = accepted.and_then(|h| h.source).unwrap_or(client);
            let dst = accepted.and_then(|h| h.destination).unwrap_or(local);
            crate::codec::encode::write_tcp(version, src, dst, out);
        } else if let Some(h) = self.header_for(accepted, client, local)? {
            out.extend_from_slice(&h);
        }
        Ok(Some(out.len() - at))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::{decode, Decoded};

    fn sa(s: &str) -> SocketAddr {
        s.parse().unwrap_or_else(|_| unreachable!())
    }

    fn facts(version: Version, local: bool) -> HeaderFacts {
        HeaderFacts {
            version,
            local,
            len: 0,
            source: (!local).then(|| sa("203.0.113.7:4444")),
            destination: (!local).then(|| sa("198.51.100.9:443")),
            protocol: "TCP4",
            tlvs: Default::default(),
        }
    }

    #[test]
    fn the_claimed_ends_replace_the_socket_s() {
        let mut cfg = Config::new(vec![sa("127.0.0.1:1")]);
        let (client, local) = (sa("127.0.0.1:5000"), sa("127.0.0.1:8080"));
        let plain = cfg.header_for(None, client, local).unwrap_or_default();
        assert_eq!(
            plain.as_deref(),
            Some(&b"PROXY TCP4 127.0.0.1 127.0.0.1 5000 8080\r\n"[..])
        );
        let v2 = facts(Version::V2, false);
        let v1 = cfg.header_for(Some(&v2), client, local).unwrap_or_default();
        assert_eq!(
            v1.as_deref(),
            Some(&b"PROXY TCP4 203.0.113.7 198.51.100.9 4444 443\r\n"[..])
        );
        cfg.send = SendMode::Same;
        let same = cfg.header_for(Some(&v2), client, local).unwrap_or_default();
        match same.as_deref().map(decode) {
            Some(Decoded::Complete(h)) => {
                assert_eq!(h.version, Version::V2);
                assert_eq!(h.source(), Some(sa("203.0.113.7:4444")));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(cfg.header_for(None, client, local).ok(), Some(None));
        cfg.send = SendMode::None;
        assert_eq!(cfg.header_for(Some(&v2), client, local).ok(), Some(None));
    }

    #[test]
    fn a_health_check_stays_one() {
        let mut cfg = Config::new(vec![sa("127.0.0.1:1")]);
        let (client, local) = (sa("127.0.0.1:5000"), sa("127.0.0.1:8080"));
        let local_hdr = facts(Version::V2, true);
        let v1 = cfg
            .header_for(Some(&local_hdr), client, local)
            .unwrap_or_default();
        assert_eq!(v1.as_deref(), Some(&b"PROXY UNKNOWN\r\n"[..]));
        cfg.send = SendMode::V2;
        let v2 = cfg
            .header_for(Some(&local_hdr), client, local)
            .unwrap_or_default();
        match v2.as_deref().map(decode) {
            Some(Decoded::Complete(h)) => assert_eq!(h.command, Command::Local),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_header_written_in_place_is_the_one_built() {
        let (client, local) = (sa("127.0.0.1:5000"), sa("[::1]:8080"));
        let mut tlv = HeaderPlan::new(Version::V2);
        tlv.tlvs.push((0x04, b"x".to_vec()));
        let mut twice = HeaderPlan::new(Version::V1);
        twice.twice = true;
        let accepted = [
            None,
            Some(facts(Version::V2, false)),
            Some(facts(Version::V1, false)),
            Some(facts(Version::V2, true)),
        ];
        for send in [SendMode::None, SendMode::V1, SendMode::V2, SendMode::Same] {
            for plan in [HeaderPlan::new(Version::V1), tlv.clone(), twice.clone()] {
                for a in &accepted {
                    let mut cfg = Config::new(vec![sa("127.0.0.1:1")]);
                    cfg.send = send;
                    cfg.header = plan.clone();
                    let built = cfg.header_for(a.as_ref(), client, local).ok();
                    let mut out = b"before".to_vec();
                    let len = cfg.write_header(a.as_ref(), client, local, &mut out).ok();
                    assert_eq!(len, built.as_ref().map(|h| h.as_ref().map(Vec::len)));
                    let written = len.flatten().map(|_| out[6..].to_vec());
                    assert_eq!(Some(written), built, "{send:?} {a:?}");
                }
            }
        }
    }

    #[test]
    fn accept_modes_take_their_versions() {
        assert!(Accept::V1.takes(1) && !Accept::V1.takes(2));
        assert!(Accept::V2.takes(2) && !Accept::V2.takes(1));
        assert!(Accept::Any.takes(1) && Accept::Auto.takes(2));
        assert_eq!(Accept::Auto.expects(), Expects::Optional);
        assert_eq!(Accept::None.expects(), Expects::Nothing);
    }
}
