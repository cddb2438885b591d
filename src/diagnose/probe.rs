//! `probe`: find out what a receiver expects by trying a few short
//! connections (no header, v1, v2, v2 LOCAL) and watching how each ends.
//!
//! A receiver shows its hand in how it treats the first bytes: one that
//! requires a header closes or resets a connection without one; one that
//! does not parse headers answers `400` (HTTP), fails the TLS handshake or
//! complains after its banner when it gets one; one that takes both is
//! "optional", which lets any client forge its source address.
//!
//! Each attempt is judged by [`judge::exchange`] like any other exchange;
//! the endpoint's [`Class`] is a profile drawn from which attempts were
//! accepted, and [`Probe::finding`] is the finding that profile leads to
//! (`no-header` → `unexpected-header`, `optional` → `spoofable`, ...).
//! Rendering is in `report::probe`.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

pub(crate) use super::probe_tls::TlsEnd;
use super::probe_tls::{self, TlsRun};
use crate::codec::encode::HeaderSpec;
use crate::codec::Version;
use crate::judge::{self, Answer, Ending, Exchange, Finding, Sent};
use crate::net::{self, End, Message, Reply, Target};
use crate::sniff::{self, Sniffed};

/// The wait for the connect and for each reply when `--timeout` is not given.
pub(crate) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);
/// The longest `--timeout` taken: four attempts, each up to three waits.
pub(crate) const MAX_TIMEOUT: Duration = Duration::from_secs(60);

/// The endpoint's profile: which headers it takes. Not a failure in
/// itself; [`Probe::finding`] says what it leads to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Class {
    /// Takes a v1 header only, and nothing without one.
    RequiresV1,
    /// Takes a v2 header only, and nothing without one.
    RequiresV2,
    /// Takes v1 or v2, and nothing without a header.
    RequiresV1OrV2,
    /// Takes connections without a header; a header is read as data.
    NoHeader,
    /// Takes connections with and without a header: spoofable.
    Optional,
    /// No connection could be made.
    Unreachable,
    /// Connected, but nothing was accepted: the probe could not tell.
    Inconclusive,
}

impl Class {
    /// Every class, in `--expect` order.
    pub(crate) const ALL: [Class; 7] = [
        Class::RequiresV1,
        Class::RequiresV2,
        Class::RequiresV1OrV2,
        Class::NoHeader,
        Class::Optional,
        Class::Unreachable,
        Class::Inconclusive,
    ];

    /// The kebab-case name (`--expect` values, JSON `class`).
    pub(crate) fn name(self) -> &'static str {
        match self {
            Class::RequiresV1 => "requires-v1",
            Class::RequiresV2 => "requires-v2",
            Class::RequiresV1OrV2 => "requires-v1-or-v2",
            Class::NoHeader => "no-header",
            Class::Optional => "optional",
            Class::Unreachable => "unreachable",
            Class::Inconclusive => "inconclusive",
        }
    }

    /// A few words, for the `--expect` value list.
    pub(crate) fn describe(self) -> &'static str {
        match self {
            Class::RequiresV1 => "takes a v1 header only, nothing without one",
            Class::RequiresV2 => "takes a v2 header only, nothing without one",
            Class::RequiresV1OrV2 => "takes v1 or v2, nothing without a header",
            Class::NoHeader => {
                "takes connections without a header; a header there is unexpected-header"
            }
            Class::Optional => "takes connections with and without a header (spoofable)",
            Class::Unreachable => "no connection could be made",
            Class::Inconclusive => "connected, but nothing was accepted (try --tls or --banner)",
        }
    }

    /// One sentence: what the profile means for the senders in front of it.
    pub(crate) fn summary(self) -> &'static str {
        match self {
            Class::RequiresV1 => "requires a v1 PROXY header: the sender must send v1 (send-proxy, PROXY_V1); v2-only senders such as AWS NLB will be rejected",
            Class::RequiresV2 => "requires a v2 PROXY header: the sender must send v2 (send-proxy-v2, AWS NLB proxy_protocol_v2); v1 senders and direct clients will be rejected",
            Class::RequiresV1OrV2 => "requires a PROXY header (v1 or v2): every sender must add one, including health checks and in-cluster callers",
            Class::NoHeader => "takes connections without a header and reads a PROXY header as data: a load balancer that sends one breaks it",
            Class::Optional => "accepts connections with and without a header: any client that reaches it can forge its source address",
            Class::Unreachable => "no connection could be made: check the address, the port and firewalls",
            Class::Inconclusive => "connected, but no attempt was accepted: the endpoint may speak TLS (--tls) or speak first (--banner), or reject this request for other reasons",
        }
    }
}

/// What each connection carries after the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// An HTTP/1.1 request.
    Http,
    /// A TLS ClientHello (then an HTTP request inside TLS).
    Tls,
    /// Nothing: wait for the server to speak first (SMTP, SSH, FTP...).
    Banner,
}

impl Mode {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Mode::Http => "http",
            Mode::Tls => "tls",
            Mode::Banner => "banner",
        }
    }
}

/// The header an attempt sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HeaderKind {
    None,
    V1,
    V2,
    V2Local,
}

impl HeaderKind {
    pub(crate) const ALL: [HeaderKind; 4] = [
        HeaderKind::None,
        HeaderKind::V1,
        HeaderKind::V2,
        HeaderKind::V2Local,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            HeaderKind::None => "none",
            HeaderKind::V1 => "v1",
            HeaderKind::V2 => "v2",
            HeaderKind::V2Local => "v2-local",
        }
    }

    /// The header bytes for a connection from `local` to `peer`.
    fn bytes(self, local: SocketAddr, peer: SocketAddr) -> Vec<u8> {
        let spec = match self {
            HeaderKind::None => return Vec::new(),
            HeaderKind::V1 => HeaderSpec::tcp(Version::V1, local, peer),
            HeaderKind::V2 => HeaderSpec::tcp(Version::V2, local, peer),
            HeaderKind::V2Local => HeaderSpec::local(),
        };
        // Real socket addresses of one family always encode.
        spec.encode().unwrap_or_default()
    }

    /// What the client put first on the wire, in the judge's terms.
    fn sent(self, payload: bool) -> Sent {
        match self {
            HeaderKind::None if payload => Sent::NoHeader,
            HeaderKind::None => Sent::Nothing,
            HeaderKind::V1 | HeaderKind::V2 => Sent::Header { payload },
            HeaderKind::V2Local => Sent::Local { payload },
        }
    }
}

/// How to probe.
#[derive(Debug, Clone)]
pub(crate) struct Options {
    pub mode: Mode,
    /// Bound on the connect and on each wait for a reply.
    pub timeout: Duration,
    /// Bound on each attempt as a whole (connect, header, whole reply),
    /// however slowly the endpoint trickles.
    pub max_time: Duration,
    /// TLS server name (defaults to the target's host).
    pub sni: Option<String>,
}

/// What came back to one attempt, as far as deciding needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Came {
    /// No connection: `end` is `Refused`, `ConnectTimeout` or `Error`.
    NoConnection { end: End, error: Option<String> },
    /// HTTP mode: an HTTP status line.
    Http { status: u16, reason: String },
    /// HTTP mode: bytes that are not HTTP (their start), then `end`.
    NotHttp { first: Vec<u8>, end: End },
    /// Not a byte before `end` (closed, reset, or the timeout).
    Nothing { end: End, error: Option<String> },
    /// Banner mode: the server spoke (its first bytes). `unprompted`: it
    /// spoke before the header was sent, so it does not wait for one.
    Banner { first: Vec<u8>, unprompted: bool },
    /// TLS mode: how the handshake went, and the start of what the server
    /// sent on the wire (a plain-text answer when it does not speak TLS).
    Tls { end: TlsEnd, clear: Vec<u8> },
    /// The attempt could not run.
    Failed(String),
}

/// One attempt and what came back.
#[derive(Debug, Clone)]
pub(crate) struct Attempt {
    pub kind: HeaderKind,
    /// The connection's real ends (absent when it never connected).
    pub local: Option<SocketAddr>,
    pub peer: Option<SocketAddr>,
    /// The header bytes sent (empty for `None`).
    pub header: Vec<u8>,
    pub connected: bool,
    pub came: Came,
    /// Whether the receiver took this connection as valid.
    pub accepted: bool,
    /// The judge's finding for this exchange.
    pub finding: Finding,
    pub elapsed: Duration,
}

/// Something worth saying beside the class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Warning {
    /// The header is optional: anyone can claim any source address.
    Spoofable,
    /// v2 PROXY is accepted but v2 LOCAL is not: health checks will fail.
    LocalRejected,
    /// Some attempts could not connect; the class rests on the others.
    PartlyUnreachable,
    /// Nothing accepted over HTTP, and the endpoint answered with TLS.
    AnsweredTls,
    /// Nothing accepted over HTTP: maybe TLS, maybe server-speaks-first.
    NothingAccepted,
}

/// The whole probe result.
#[derive(Debug, Clone)]
pub(crate) struct Probe {
    pub target: Target,
    pub mode: Mode,
    /// Always four, in [`HeaderKind::ALL`] order.
    pub attempts: Vec<Attempt>,
    pub class: Class,
    /// What the profile leads to (see [`finding_for`]).
    pub finding: Finding,
    pub warnings: Vec<Warning>,
}

impl Probe {
    pub(crate) fn spoofable(&self) -> bool {
        self.class == Class::Optional
    }

    pub(crate) fn attempt(&self, kind: HeaderKind) -> Option<&Attempt> {
        self.attempts.iter().find(|a| a.kind == kind)
    }
}

/// Probe `target` at `addrs` (already resolved).
pub(crate) async fn probe(target: &Target, addrs: &[SocketAddr], opts: &Options) -> Probe {
    let mut attempts = Vec::new();
    for kind in HeaderKind::ALL {
        attempts.push(run_attempt(target, addrs, opts, kind).await);
    }
    conclude(target.clone(), opts.mode, attempts)
}

async fn run_attempt(
    target: &Target,
    addrs: &[SocketAddr],
    opts: &Options,
    kind: HeaderKind,
) -> Attempt {
    let start = Instant::now();
    let request = http_request(target);
    let mut attempt = match opts.mode {
        Mode::Tls => {
            let addrs = addrs.to_vec();
            let sni = opts.sni.clone().unwrap_or_else(|| target.host.clone());
            let timeout = opts.timeout;
            let deadline = std::time::Instant::now() + opts.max_time;
            let joined = tokio::task::spawn_blocking(move || {
                probe_tls::attempt(&addrs, timeout, deadline, &sni, &request, |l, p| {
                    kind.bytes(l, p)
                })
            })
            .await;
            match joined {
                Ok(run) => tls_attempt(kind, run),
                Err(e) => failed(kind, format!("the TLS attempt stopped: {e}")),
            }
        }
        Mode::Http | Mode::Banner => {
            let net_opts = net::Options {
                connect_timeout: opts.timeout,
                banner_timeout: (opts.mode == Mode::Banner).then_some(opts.timeout),
                reply_timeout: opts.timeout,
                max_reply: 4096,
                max_time: opts.max_time,
                ..net::Options::default()
            };
            let payload = if opts.mode == Mode::Http {
                request
            } else {
                Vec::new()
            };
            let reply = net::exchange(addrs, &net_opts, |l, p| {
                Ok::<_, std::convert::Infallible>(Message {
                    header: kind.bytes(l, p),
                    payload,
                })
            })
            .await;
            match reply {
                Ok(r) if opts.mode == Mode::Http => http_attempt(kind, &r),
                Ok(r) => banner_attempt(kind, &r),
                Err(never) => match never {},
            }
        }
    };
    attempt.elapsed = start.elapsed();
    attempt
}

fn http_request(target: &Target) -> Vec<u8> {
    format!(
        "GET / HTTP/1.1\r\nHost: {}\r\nUser-Agent: ppctl-probe/{}\r\nConnection: close\r\n\r\n",
        target.authority(),
        env!("CARGO_PKG_VERSION")
    )
    .into_bytes()
}

/// The attempt's facts from a net reply; `came`, `accepted` and `finding`
/// are filled by the mode.
fn base(kind: HeaderKind, reply: &Reply, payload: bool) -> Attempt {
    let header = reply
        .message
        .as_ref()
        .map(|m| m.header.clone())
        .unwrap_or_default();
    let came = if reply.connected {
        Came::Nothing {
            end: reply.end,
            error: reply.error.clone(),
        }
    } else {
        Came::NoConnection {
            end: reply.end,
            error: reply.error.clone(),
        }
    };
    Attempt {
        kind,
        local: reply.local,
        peer: reply.peer,
        header,
        connected: reply.connected,
        came,
        accepted: false,
        finding: judge::exchange(&reply.exchange(kind.sent(payload), false)),
        elapsed: Duration::ZERO,
    }
}

fn failed(kind: HeaderKind, why: String) -> Attempt {
    Attempt {
        kind,
        local: None,
        peer: None,
        header: Vec::new(),
        connected: false,
        came: Came::Failed(why),
        accepted: false,
        finding: Finding::Unreachable,
        elapsed: Duration::ZERO,
    }
}

/// At most this much of a reply is kept to describe it.
const KEPT: usize = 256;

fn first(bytes: &[u8]) -> Vec<u8> {
    bytes[..bytes.len().min(KEPT)].to_vec()
}

/// HTTP mode: accepted when an HTTP response other than 400 came back.
fn http_attempt(kind: HeaderKind, reply: &Reply) -> Attempt {
    let mut a = base(kind, reply, true);
    if !reply.connected {
        return a;
    }
    match sniff::classify(&reply.received) {
        Sniffed::Empty => {}
        Sniffed::HttpResponse { status, reason } => {
            a.accepted = status != 400;
            a.came = Came::Http {
                status,
                reason: reason.to_string(),
            };
        }
        _ => {
            a.came = Came::NotHttp {
                first: first(&reply.received),
                end: reply.end,
            }
        }
    }
    a
}

/// Banner mode: without a header, accepted when the server speaks first;
/// with one, accepted when the server waited for it (said nothing before
/// it) and then spoke.
fn banner_attempt(kind: HeaderKind, reply: &Reply) -> Attempt {
    let mut a = base(kind, reply, false);
    if !reply.connected {
        return a;
    }
    if kind == HeaderKind::None {
        if !reply.banner.is_empty() {
            a.accepted = true;
            a.came = Came::Banner {
                first: first(&reply.banner),
                unprompted: true,
            };
            // The banner is the answer (nothing was sent to answer).
            let mut x = reply.exchange(kind.sent(false), false);
            x.answer = Answer::of(&reply.banner);
            a.finding = judge::exchange(&x);
        }
        return a;
    }
    if !reply.banner.is_empty() {
        a.came = Came::Banner {
            first: first(&reply.banner),
            unprompted: true,
        };
        // The server greeted before the header arrived: it does not read
        // one, so the header that followed was read as data. The judge has
        // no input for "spoke first"; this is its unexpected-header.
        a.finding = Finding::UnexpectedHeader;
    } else if !reply.received.is_empty() {
        a.accepted = !matches!(reply.end, End::Reset);
        a.came = Came::Banner {
            first: first(&reply.received),
            unprompted: false,
        };
    }
    a
}

/// TLS mode: accepted when the handshake completes.
fn tls_attempt(kind: HeaderKind, run: TlsRun) -> Attempt {
    let connected = !matches!(
        run.end,
        TlsEnd::Refused(_) | TlsEnd::ConnectTimeout | TlsEnd::ConnectError(_)
    );
    let accepted = matches!(run.end, TlsEnd::HandshakeOk { .. });
    let finding = judge::exchange(&tls_exchange(kind.sent(true), &run.end, &run.clear));
    Attempt {
        kind,
        local: run.local,
        peer: run.peer,
        header: run.header,
        connected,
        came: Came::Tls {
            end: run.end,
            clear: first(&run.clear),
        },
        accepted,
        finding,
        elapsed: Duration::ZERO,
    }
}

/// A TLS attempt in the judge's terms. `clear` is what the server sent
/// outside TLS (a plain-text 400, say) when the handshake failed.
fn tls_exchange(sent: Sent, end: &TlsEnd, clear: &[u8]) -> Exchange {
    let of = |bytes: &[u8]| match Answer::of(bytes) {
        Answer::Nothing => Answer::Other,
        a => a,
    };
    let (answer, ending) = match end {
        TlsEnd::Refused(_) => (Answer::Nothing, Ending::Refused),
        TlsEnd::ConnectTimeout | TlsEnd::ConnectError(_) => (Answer::Nothing, Ending::Unreachable),
        TlsEnd::HandshakeOk { reply, .. } => (of(reply), Ending::ServerClosed),
        TlsEnd::Alert(_) => (Answer::TlsAlert, Ending::ServerClosed),
        TlsEnd::NotTls(_) => (of(clear), Ending::ServerClosed),
        TlsEnd::Closed => (Answer::Nothing, Ending::ServerClosed),
        TlsEnd::Reset => (Answer::Nothing, Ending::ServerReset),
        TlsEnd::Timeout => (Answer::Nothing, Ending::TimedOut),
        TlsEnd::MaxTime => (Answer::of(clear), Ending::TimedOut),
        TlsEnd::Error(_) => (Answer::of(clear), Ending::ServerClosed),
    };
    Exchange {
        sent,
        answer,
        ending,
        udp: false,
    }
}

/// The class from the attempts. The decision uses none/v1/v2; v2 LOCAL
/// only adds a warning (health checks use it).
pub(crate) fn classify(attempts: &[Attempt]) -> Class {
    let ok = |kind| attempts.iter().any(|a| a.kind == kind && a.accepted);
    if attempts.iter().all(|a| !a.connected) {
        return Class::Unreachable;
    }
    match (ok(HeaderKind::None), ok(HeaderKind::V1), ok(HeaderKind::V2)) {
        (true, false, false) => Class::NoHeader,
        (true, _, _) => Class::Optional,
        (false, true, true) => Class::RequiresV1OrV2,
        (false, true, false) => Class::RequiresV1,
        (false, false, true) => Class::RequiresV2,
        (false, false, false) => Class::Inconclusive,
    }
}

/// The finding a profile leads to: what a sender that does not match it
/// meets (a header where none is read, no header where one is required,
/// the other version), or the risk it carries (spoofable).
pub(crate) fn finding_for(class: Class, attempts: &[Attempt]) -> Finding {
    match class {
        Class::NoHeader => Finding::UnexpectedHeader,
        Class::Optional => Finding::Spoofable,
        Class::RequiresV1OrV2 => Finding::MissingHeader,
        Class::RequiresV1 | Class::RequiresV2 => Finding::HeaderRejected,
        Class::Unreachable => attempts
            .first()
            .map(|a| a.finding)
            .unwrap_or(Finding::Unreachable),
        Class::Inconclusive => Finding::Inconclusive,
    }
}

fn conclude(target: Target, mode: Mode, attempts: Vec<Attempt>) -> Probe {
    let class = classify(&attempts);
    let accepted = |kind| attempts.iter().any(|a| a.kind == kind && a.accepted);
    let mut warnings = Vec::new();
    if class == Class::Optional {
        warnings.push(Warning::Spoofable);
    }
    if accepted(HeaderKind::V2) && !accepted(HeaderKind::V2Local) {
        warnings.push(Warning::LocalRejected);
    }
    if attempts.iter().any(|a| !a.connected) && attempts.iter().any(|a| a.connected) {
        warnings.push(Warning::PartlyUnreachable);
    }
    if class == Class::Inconclusive && mode == Mode::Http {
        let tls = attempts.iter().any(
            |a| matches!(&a.came, Came::NotHttp { first, .. } if sniff::classify(first).is_tls()),
        );
        warnings.push(if tls {
            Warning::AnsweredTls
        } else {
            Warning::NothingAccepted
        });
    }
    let finding = finding_for(class, &attempts);
    Probe {
        target,
        mode,
        attempts,
        class,
        finding,
        warnings,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn att(kind: HeaderKind, accepted: bool) -> Attempt {
        Attempt {
            kind,
            local: None,
            peer: None,
            header: Vec::new(),
            connected: true,
            came: Came::Nothing {
                end: End::Timeout,
                error: None,
            },
            accepted,
            finding: Finding::Inconclusive,
            elapsed: Duration::ZERO,
        }
    }

    #[test]
    fn classes_follow_the_accept_pattern() {
        let c = |n, a, b| {
            classify(&[
                att(HeaderKind::None, n),
                att(HeaderKind::V1, a),
                att(HeaderKind::V2, b),
                att(HeaderKind::V2Local, b),
            ])
        };
        assert_eq!(c(false, true, true), Class::RequiresV1OrV2);
        assert_eq!(c(false, true, false), Class::RequiresV1);
        assert_eq!(c(false, false, true), Class::RequiresV2);
        assert_eq!(c(true, false, false), Class::NoHeader);
        assert_eq!(c(true, true, true), Class::Optional);
        assert_eq!(c(false, false, false), Class::Inconclusive);
        let mut down = vec![att(HeaderKind::None, false)];
        down[0].connected = false;
        down[0].finding = Finding::NoReceiver;
        assert_eq!(classify(&down), Class::Unreachable);
        assert_eq!(finding_for(Class::Unreachable, &down), Finding::NoReceiver);
    }

    #[test]
    fn every_class_has_a_unique_name_and_a_finding() {
        for (i, c) in Class::ALL.into_iter().enumerate() {
            assert!(Class::ALL[i + 1..].iter().all(|o| o.name() != c.name()));
            assert!(!c.summary().is_empty() && !c.describe().is_empty());
        }
        assert_eq!(finding_for(Class::NoHeader, &[]), Finding::UnexpectedHeader);
        assert_eq!(finding_for(Class::Optional, &[]), Finding::Spoofable);
        assert_eq!(finding_for(Class::Inconclusive, &[]), Finding::Inconclusive);
    }

    /// The seed failure, as the judge sees a probe's v1 attempt against a
    /// receiver without PROXY support.
    #[test]
    fn a_400_to_the_v1_attempt_is_unexpected_header() {
        let x = Exchange {
            sent: HeaderKind::V1.sent(true),
            answer: Answer::of(b"HTTP/1.1 400 Bad Request\r\n\r\n"),
            ending: Ending::ServerClosed,
            udp: false,
        };
        let f = judge::exchange(&x);
        assert_eq!((f.name(), f.code()), ("unexpected-header", "PP-UNEXPECTED"));
        let tls = tls_exchange(
            HeaderKind::V1.sent(true),
            &TlsEnd::NotTls("x".into()),
            b"HTTP/1.1 400 Bad Request\r\n\r\n",
        );
        assert_eq!(judge::exchange(&tls), Finding::UnexpectedHeader);
        let ok = tls_exchange(
            HeaderKind::None.sent(true),
            &TlsEnd::HandshakeOk {
                version: "TLSv1_3".into(),
                reply: Vec::new(),
            },
            b"",
        );
        assert_eq!(judge::exchange(&ok), Finding::Plain);
    }
}
