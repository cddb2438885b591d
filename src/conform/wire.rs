//! The suite's connections: each one sends a test's bytes through `net`
//! (connect with deadlines, header and request in the segments the test
//! asks for, the reply read with a bound) and says what the receiver did
//! ([`Did`]) in the protocol's terms: a served answer, an error answer, a
//! close, a reset, or silence.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;

use super::protocol::{Answer, Protocol};
use super::suite::{Delivery, FORWARDED};
use super::{Did, Took};
use crate::net::{self, End, Message, Reply, Split, Target, TlsOptions};
use crate::send::http::Request;

/// The pause between the segments of a split header: on loopback with
/// TCP_NODELAY each write leaves as its own segment, and the pause lets the
/// receiver read one before the next arrives (so it really sees a part).
pub(crate) const SEGMENT_PAUSE: Duration = Duration::from_millis(15);

/// Connections the suite has open at once.
pub(crate) const PARALLEL: usize = 16;

/// Everything a connection of the suite needs.
#[derive(Debug)]
pub(crate) struct Wire {
    pub target: Target,
    pub addrs: Vec<SocketAddr>,
    pub protocol: Protocol,
    /// TLS after the header (`--tls`, or `--protocol tls`).
    pub tls: Option<TlsOptions>,
    /// The wait for the connect and for each reply.
    pub timeout: Duration,
    /// `--from`.
    pub from: Option<IpAddr>,
    /// `--reflect`: the path whose answer names the client.
    pub reflect: Option<String>,
    pub permits: Arc<Semaphore>,
}

/// How one connection goes.
#[derive(Debug, Clone)]
pub(crate) struct Shot {
    pub header: Vec<u8>,
    pub delivery: Delivery,
    /// Cut the header here instead (one cut, the request with the rest).
    pub cut: Option<usize>,
    /// The address the header claims, to recognise it in a reflector's
    /// answer.
    pub claims: Option<IpAddr>,
    /// Bound the whole connection (the slow tests), else a few timeouts.
    pub limit: Option<Duration>,
    /// Pause between segments (the trickle: a second).
    pub pause: Duration,
}

impl Shot {
    pub(crate) fn new(header: Vec<u8>, delivery: Delivery, claims: Option<IpAddr>) -> Self {
        Shot {
            header,
            delivery,
            cut: None,
            claims,
            limit: None,
            pause: SEGMENT_PAUSE,
        }
    }
}

impl Wire {
    /// What follows the header: the protocol's request (the reflector's
    /// path when there is one), with X-Forwarded-For when asked.
    fn request(&self, delivery: Delivery) -> Vec<u8> {
        let mut request = Request {
            path: self.reflect.clone().unwrap_or_else(|| "/".into()),
            ..Request::default()
        };
        if delivery == Delivery::Forwarded {
            request
                .headers
                .push(("X-Forwarded-For".into(), FORWARDED.to_string()));
        }
        let http = request.bytes(&self.target, self.tls.is_some());
        self.protocol.payload(http)
    }

    /// One connection, as `shot` says; what the receiver did.
    pub(crate) async fn shoot(&self, shot: &Shot) -> (Did, Duration) {
        let _permit = self.permits.acquire().await;
        let request = self.request(shot.delivery);
        let (message, split) = if self.tls.is_some() {
            arrange_tls(&shot.header, request, shot.delivery, shot.cut)
        } else {
            arrange(&shot.header, request, shot.delivery, shot.cut)
        };
        let opts = net::Options {
            connect_timeout: self.timeout,
            reply_timeout: shot.limit.unwrap_or(self.timeout),
            max_reply: 64 * 1024,
            split,
            split_delay: shot.pause,
            max_time: shot.limit.map_or(self.timeout * 4, |l| l + self.timeout),
            bind: (shot.delivery == Delivery::From)
                .then_some(self.from)
                .flatten(),
            half_close: shot.delivery == Delivery::HalfClose,
            ..net::Options::default()
        };
        let build = |_, _| Ok::<_, std::convert::Infallible>(message);
        let (reply, handshake) = match &self.tls {
            Some(tls) => match net::tls_exchange(&self.addrs, &opts, tls, build).await {
                Ok((r, h)) => (r, Some(h)),
                Err(never) => match never {},
            },
            None => match net::exchange(&self.addrs, &opts, build).await {
                Ok(r) => (r, None),
                Err(never) => match never {},
            },
        };
        let elapsed = reply.timings.total;
        (self.did(&reply, handshake.as_ref(), shot.claims), elapsed)
    }

    /// The receiver's behaviour, from the reply.
    fn did(
        &self,
        reply: &Reply,
        handshake: Option<&net::Handshake>,
        claims: Option<IpAddr>,
    ) -> Did {
        if !reply.connected {
            return Did::NotConnected {
                end: reply.end,
                error: reply.error.clone(),
            };
        }
        let after = reply.timings.total;
        match self.protocol.answer(reply, handshake) {
            Answer::Served { status } => Did::Served {
                status,
                took: self.took(reply, claims),
            },
            Answer::Refused { status } => Did::Refused { status },
            Answer::Nothing => match reply.end {
                End::Reset => Did::Reset { after },
                End::Timeout | End::MaxTime | End::SizeLimit => Did::Silent { after },
                _ => Did::Closed { after },
            },
        }
    }

    /// Which address the reflector's answer names.
    fn took(&self, reply: &Reply, claims: Option<IpAddr>) -> Took {
        if self.reflect.is_none() || !self.protocol.reflects() {
            return Took::Unchecked;
        }
        let body = net::http_body(&reply.received).unwrap_or(&reply.received);
        let named = addresses(body);
        let own: Vec<IpAddr> = [reply.local, reply.peer]
            .into_iter()
            .flatten()
            .map(|a| canonical(a.ip()))
            .collect();
        let first = |want: &dyn Fn(IpAddr) -> bool| named.iter().copied().find(|ip| want(*ip));
        if let Some(ip) = claims.and_then(|c| first(&|ip| ip == canonical(c))) {
            Took::Claimed(ip)
        } else if let Some(ip) = first(&|ip| ip == FORWARDED) {
            Took::Forwarded(ip)
        } else if let Some(ip) = first(&|ip| own.contains(&ip)) {
            Took::Socket(ip)
        } else if let Some(ip) = named.first() {
            Took::Other(*ip)
        } else {
            Took::Unnamed
        }
    }

    /// Hold `count` connections open, each having sent `bytes` (half a
    /// header); they close when the result is dropped.
    pub(crate) async fn hold(&self, bytes: &[u8], count: usize) -> net::Held {
        let opts = net::Options {
            connect_timeout: self.timeout,
            ..net::Options::default()
        };
        net::hold(&self.addrs, &opts, bytes, count).await
    }
}

/// The message and how to cut it, for a delivery.
fn arrange(
    header: &[u8],
    request: Vec<u8>,
    delivery: Delivery,
    cut: Option<usize>,
) -> (Message, Split) {
    let joined = |cuts: Vec<usize>| {
        (
            Message {
                header: [header, &request[..]].concat(),
                payload: Vec::new(),
            },
            Split::At(cuts),
        )
    };
    if let Some(at) = cut {
        return joined(vec![at]);
    }
    match delivery {
        Delivery::Whole | Delivery::From | Delivery::Forwarded => joined(Vec::new()),
        Delivery::Apart => joined(vec![header.len()]),
        Delivery::Bytewise => (
            Message {
                header: header.to_vec(),
                payload: request,
            },
            Split::Bytewise,
        ),
        Delivery::Idle => (Message::default(), Split::Whole),
        Delivery::HalfClose => (
            Message {
                header: header.to_vec(),
                payload: Vec::new(),
            },
            Split::Whole,
        ),
        Delivery::DataFirst => {
            // The request line first, then the header, then the rest.
            let line = request
                .windows(2)
                .position(|w| w == b"\r\n")
                .map_or(request.len(), |p| p + 2);
            let bytes = [&request[..line], header, &request[line..]].concat();
            (
                Message {
                    header: bytes,
                    payload: Vec::new(),
                },
                Split::At(vec![line, line + header.len()]),
            )
        }
    }
}

/// Under TLS the request goes inside TLS, after the handshake: only the
/// header is cut (the handshake keeps it apart from the request anyway).
fn arrange_tls(
    header: &[u8],
    request: Vec<u8>,
    delivery: Delivery,
    cut: Option<usize>,
) -> (Message, Split) {
    let split = match (cut, delivery) {
        (Some(at), _) => Split::At(vec![at]),
        (None, Delivery::Bytewise) => Split::Bytewise,
        _ => Split::Whole,
    };
    (
        Message {
            header: header.to_vec(),
            payload: request,
        },
        split,
    )
}

/// An IPv4-mapped IPv6 address as the IPv4 address it carries.
pub(crate) fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// Every IP address a reflector's body names, in order, canonical: words
/// of hex digits, dots and colons that parse as an address, an
/// `IP:port` or a `[IPv6]:port`.
pub(crate) fn addresses(body: &[u8]) -> Vec<IpAddr> {
    let text = String::from_utf8_lossy(body);
    text.split(|c: char| !(c.is_ascii_hexdigit() || c == '.' || c == ':'))
        .filter_map(|word| {
            // A word as it stands (`::ffff:203.0.113.7`), else without the
            // punctuation around it (`addr:`, `203.0.113.7.`).
            let punct = |c| c == '.' || c == ':';
            let ends = word.trim_end_matches(punct);
            [word, ends, ends.trim_start_matches(punct)]
                .into_iter()
                .find_map(|w| {
                    w.parse::<IpAddr>()
                        .ok()
                        .or_else(|| w.parse::<SocketAddr>().ok().map(|s| s.ip()))
                })
        })
        .map(canonical)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reflectors_name_addresses_in_any_common_form() {
        let ip = |s: &str| s.parse::<IpAddr>().expect("ip");
        assert_eq!(addresses(b"203.0.113.7\n"), [ip("203.0.113.7")]);
        assert_eq!(
            addresses(b"remote_addr=203.0.113.7 port=80"),
            [ip("203.0.113.7")]
        );
        assert_eq!(addresses(b"203.0.113.7:51000"), [ip("203.0.113.7")]);
        assert_eq!(addresses(b"[2001:db8::7]:51000"), [ip("2001:db8::7")]);
        assert_eq!(addresses(b"::ffff:203.0.113.7"), [ip("203.0.113.7")]);
        assert_eq!(addresses(b"addr: ::ffff:203.0.113.7."), [ip("203.0.113.7")]);
        assert_eq!(addresses(b"at 203.0.113.7."), [ip("203.0.113.7")]);
        assert_eq!(
            addresses(b"remote_addr (realip): 127.0.0.1\npeer: 127.0.0.1:4000\nproxy_protocol_addr: 203.0.113.7\n"),
            [ip("127.0.0.1"), ip("127.0.0.1"), ip("203.0.113.7")]
        );
        // Words that are hex but no address, and the empty body.
        assert!(addresses(b"cafe add dead beef 1.1 -").is_empty());
        assert!(addresses(b"").is_empty());
    }

    #[test]
    fn deliveries_cut_where_they_say() {
        let (m, s) = arrange(
            b"HDR",
            b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
            Delivery::DataFirst,
            None,
        );
        assert!(m.header.starts_with(b"GET / HTTP/1.1\r\nHDRHost"));
        assert_eq!(s, Split::At(vec![16, 19]));
        let (m, s) = arrange(b"HDR", b"REQ".to_vec(), Delivery::Apart, None);
        assert_eq!(
            (m.header.as_slice(), s),
            (&b"HDRREQ"[..], Split::At(vec![3]))
        );
        let (m, s) = arrange(b"HDR", b"REQ".to_vec(), Delivery::Whole, Some(1));
        assert_eq!(
            (m.header.as_slice(), s),
            (&b"HDRREQ"[..], Split::At(vec![1]))
        );
        let (m, s) = arrange(b"HDR", b"REQ".to_vec(), Delivery::HalfClose, None);
        assert_eq!(
            (m.header.as_slice(), m.payload.len(), s),
            (&b"HDR"[..], 0, Split::Whole)
        );
    }
}
