//! The suite's connections: each one sends a test's bytes through `net`
//! (connect with deadlines, header and request in the segments the test
//! asks for, the reply read with a bound) and says what the receiver did
//! ([`Did`]) in the protocol's terms: a served answer, an error answer, a
//! close, a reset, or silence. HTTP, TLS and raw go as one exchange; a
//! protocol of `crate::protocol` is a conversation (`net::converse`: the
//! greeting, the opening, its answer), and `protocol::service` says
//! whether the server served.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;

use super::suite::{Delivery, FORWARDED};
use super::{Did, Took};
use crate::net::{self, End, HandshakeResult, Message, Split, Target, TlsOptions, Transcript};
use crate::protocol::{self, Opening, Protocol, Service, Speaker};
use crate::send::http::Request;

/// The pause between the segments of a split header: on loopback with
/// TCP_NODELAY each write leaves as its own segment, and the pause lets the
/// receiver read one before the next arrives (so it really sees a part).
/// 100 ms, not less: at 15 ms a busy machine (a CI run at load 6) let
/// Postfix read both parts as one, and its split rows changed from run to
/// run.
pub(crate) const SEGMENT_PAUSE: Duration = Duration::from_millis(100);

/// The pause between the bytes of a header sent one byte per segment
/// ([`Delivery::Bytewise`]): shorter, so that a 107-byte v1 header arrives
/// well inside a 3 s header timeout. A busy receiver that reads a few bytes
/// at once still reads the header in parts.
pub(crate) const BYTE_PAUSE: Duration = Duration::from_millis(15);

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
    /// How long a server that speaks first may take to greet.
    pub greeting_timeout: Duration,
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
            pause: if delivery == Delivery::Bytewise {
                BYTE_PAUSE
            } else {
                SEGMENT_PAUSE
            },
        }
    }
}

impl Wire {
    /// What follows the header: HTTP's request (the reflector's path when
    /// there is one, with X-Forwarded-For when asked), nothing before a
    /// TLS handshake, raw's line of text, or the protocol's opening.
    fn request(&self, delivery: Delivery) -> Vec<u8> {
        match self.protocol.opening() {
            Opening::HttpRequest => {
                let mut request = Request {
                    path: self.reflect.clone().unwrap_or_else(|| "/".into()),
                    ..Request::default()
                };
                if delivery == Delivery::Forwarded {
                    request
                        .headers
                        .push(("X-Forwarded-For".into(), FORWARDED.to_string()));
                }
                request.bytes(&self.target, self.tls.is_some())
            }
            Opening::TlsHandshake => Vec::new(),
            Opening::Payload => b"ppctl conform\r\n".to_vec(),
            Opening::Bytes(b) => b.to_vec(),
        }
    }

    /// A protocol held as a conversation (its greeting, its opening), not
    /// one exchange.
    fn converses(&self) -> bool {
        matches!(self.protocol.opening(), Opening::Bytes(_))
    }

    /// One connection, as `shot` says; what the receiver did.
    pub(crate) async fn shoot(&self, shot: &Shot) -> (Did, Duration) {
        let _permit = self.permits.acquire().await;
        let request = self.request(shot.delivery);
        let (message, split) = if self.tls.is_some() {
            arrange_tls(&shot.header, request, shot.delivery, shot.cut)
        } else if self.converses() && self.protocol.server_speaks_first() {
            arrange_greeted(&shot.header, request, shot.delivery, shot.cut)
        } else {
            arrange(&shot.header, request, shot.delivery, shot.cut)
        };
        let opts = net::Options {
            connect_timeout: self.timeout,
            reply_timeout: shot.limit.unwrap_or(self.timeout),
            max_reply: 64 * 1024,
            split,
            split_delay: shot.pause,
            max_time: shot.limit.map_or(self.timeout * 4, |l| l + self.timeout)
                + if self.converses() {
                    self.greeting_timeout
                } else {
                    Duration::ZERO
                },
            bind: (shot.delivery == Delivery::From)
                .then_some(self.from)
                .flatten(),
            half_close: shot.delivery == Delivery::HalfClose,
            ..net::Options::default()
        };
        // A conversation needs a header that may be answered: a half-sent
        // one, or nothing at all, is one exchange in any protocol.
        let talks =
            self.converses() && !matches!(shot.delivery, Delivery::HalfClose | Delivery::Idle);
        let build = |_, _| Ok::<_, std::convert::Infallible>(message);
        let (reply, opened_at, handshake) = if talks {
            let speaker = Speaker {
                protocol: Some(self.protocol),
                http_request: Vec::new(),
            };
            let talk = net::Conversation {
                greeting_timeout: self
                    .protocol
                    .server_speaks_first()
                    .then_some(self.greeting_timeout),
                starttls: None,
                script: &speaker,
            };
            match net::converse(&self.addrs, &opts, &talk, build).await {
                Ok(d) => (d.reply, d.opened_at, None),
                Err(never) => match never {},
            }
        } else {
            match &self.tls {
                Some(tls) => match net::tls_exchange(&self.addrs, &opts, tls, build).await {
                    Ok((r, h)) => (r, None, Some(h)),
                    Err(never) => match never {},
                },
                None => match net::exchange(&self.addrs, &opts, build).await {
                    Ok(r) => (r, None, None),
                    Err(never) => match never {},
                },
            }
        };
        let elapsed = reply.timings.total;
        let did = self.did(&reply, opened_at, handshake.as_ref(), shot.claims);
        (did, elapsed)
    }

    /// The receiver's behaviour, from the reply: `opened_at` is where the
    /// answer to a conversation's opening starts.
    fn did(
        &self,
        reply: &Transcript,
        opened_at: Option<usize>,
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
        let received = &reply.received;
        let service = match handshake.map(|h| &h.result) {
            // The protocol is TLS itself: the completed handshake serves.
            Some(HandshakeResult::Done(_)) if self.protocol == Protocol::Tls => Service::Served {
                reply: protocol::Reply::handshake(),
                client: None,
            },
            // What the server sent in clear instead of a handshake refuses.
            Some(HandshakeResult::Failed(_) | HandshakeResult::NotStarted) => {
                match protocol::service(Protocol::Raw, received, None) {
                    Service::Served { reply, .. } => Service::Refused(reply),
                    other => other,
                }
            }
            _ => {
                let at = opened_at.unwrap_or(received.len()).min(received.len());
                let (before, answer) = received.split_at(at);
                protocol::service(self.protocol, before, opened_at.map(|_| answer))
            }
        };
        match service {
            Service::Served { reply: r, client } => Did::Served {
                status: r.code,
                words: self.words(&r),
                took: self.took(reply, client, claims),
            },
            Service::Refused(r) => Did::Refused {
                status: r.code,
                words: self.words(&r),
            },
            Service::Nothing => match reply.end {
                End::Reset => Did::Reset { after },
                End::Timeout | End::MaxTime | End::SizeLimit => Did::Silent { after },
                _ => Did::Closed { after },
            },
        }
    }

    /// The server's words for the report, in the protocols that have
    /// them (HTTP's status says it all, raw's bytes are anyone's).
    fn words(&self, r: &protocol::Reply) -> Option<String> {
        (self.converses() && !r.words.is_empty()).then(|| r.words.clone())
    }

    /// Which address the receiver says it took: a reflector's HTTP answer
    /// (`--reflect`), or the address a protocol's reply names (`client`:
    /// MySQL's login error, an SMTP reply's `[…]`).
    fn took(&self, reply: &Transcript, client: Option<IpAddr>, claims: Option<IpAddr>) -> Took {
        let named = match (self.protocol, &self.reflect) {
            (Protocol::Http, Some(_)) => {
                let body = net::http_body(&reply.received).unwrap_or(&reply.received);
                addresses(body)
            }
            _ => match client {
                Some(ip) => vec![canonical(ip)],
                None => return Took::Unchecked,
            },
        };
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

/// A server that speaks first gets the header alone, cut as the delivery
/// says; the opening goes after its greeting. Data first is the opening's
/// first line, then the header.
fn arrange_greeted(
    header: &[u8],
    opening: Vec<u8>,
    delivery: Delivery,
    cut: Option<usize>,
) -> (Message, Split) {
    let alone = |split| {
        (
            Message {
                header: header.to_vec(),
                payload: Vec::new(),
            },
            split,
        )
    };
    match (cut, delivery) {
        (Some(at), _) => alone(Split::At(vec![at])),
        (None, Delivery::Bytewise) => alone(Split::Bytewise),
        (None, Delivery::DataFirst | Delivery::Idle | Delivery::HalfClose) => {
            arrange(header, opening, delivery, None)
        }
        _ => alone(Split::Whole),
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
