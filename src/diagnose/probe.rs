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

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use ipnet::IpNet;

pub(crate) use super::probe_tls::TlsEnd;
use super::probe_tls::{self, TlsRun};
use crate::codec::encode::HeaderSpec;
use crate::codec::Version;
use crate::judge::{self, Answer, Ending, Exchange, Finding, Sent};
use crate::net::{self, End, Message, Target, Transcript, Watch};
use crate::protocol::{self, Chosen, Protocol, Selection, Speaker};
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
    /// Every class (each is also an [`Expectation`]).
    #[cfg(test)]
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
            Class::Inconclusive => {
                "connected, but nothing was accepted (the endpoint may speak another protocol than the one probed)"
            }
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
            Class::Inconclusive => "connected, but no attempt was accepted: the endpoint may speak another protocol than the one probed, or reject this request for other reasons",
        }
    }
}

/// A form `--expect` takes: a class, or one of the "accepts" forms, which
/// stand for the classes where a sender of that version is served and a
/// client without a header is not (HAProxy `accept-proxy` and nginx
/// `proxy_protocol` take both versions, so `requires-v2` cannot pass
/// against them; `accepts-v2` does). `optional` does not count as
/// accepting: it is the spoofable finding, to be allowed on purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Expectation {
    /// Exactly this class.
    Class(Class),
    /// `requires-v1` or `requires-v1-or-v2`.
    AcceptsV1,
    /// `requires-v2` or `requires-v1-or-v2`.
    AcceptsV2,
}

impl Expectation {
    /// Every form, in `--expect` order: the accepting ones next to the
    /// classes they stand for.
    pub(crate) const ALL: [Expectation; 9] = [
        Expectation::Class(Class::RequiresV1),
        Expectation::Class(Class::RequiresV2),
        Expectation::Class(Class::RequiresV1OrV2),
        Expectation::AcceptsV1,
        Expectation::AcceptsV2,
        Expectation::Class(Class::NoHeader),
        Expectation::Class(Class::Optional),
        Expectation::Class(Class::Unreachable),
        Expectation::Class(Class::Inconclusive),
    ];

    /// The kebab-case name (the `--expect` value).
    pub(crate) fn name(self) -> &'static str {
        match self {
            Expectation::Class(c) => c.name(),
            Expectation::AcceptsV1 => "accepts-v1",
            Expectation::AcceptsV2 => "accepts-v2",
        }
    }

    /// A few words, for the `--expect` value list.
    pub(crate) fn describe(self) -> &'static str {
        match self {
            Expectation::Class(c) => c.describe(),
            Expectation::AcceptsV1 => "requires-v1 or requires-v1-or-v2: serves a v1 sender, nothing without a header (not optional: add --expect optional to allow it)",
            Expectation::AcceptsV2 => "requires-v2 or requires-v1-or-v2: serves a v2 sender, nothing without a header (not optional: add --expect optional to allow it)",
        }
    }

    /// Whether an endpoint of class `class` meets this form.
    pub(crate) fn matches(self, class: Class) -> bool {
        match self {
            Expectation::Class(c) => c == class,
            Expectation::AcceptsV1 => matches!(class, Class::RequiresV1 | Class::RequiresV1OrV2),
            Expectation::AcceptsV2 => matches!(class, Class::RequiresV2 | Class::RequiresV1OrV2),
        }
    }
}

/// What `--expect`, `--expect-body` and `--expect-client-ip` ask of the probe.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Expect {
    /// The endpoint's class must meet one of these (none: no class asked).
    pub forms: Vec<Expectation>,
    /// A plain substring the body of every answer to an attempt accepted
    /// with a PROXY header must contain.
    pub body: Option<String>,
    /// The client address the receiver reports to every attempt accepted
    /// with a PROXY header must be in one of these (none: not asked).
    pub client_ip: Vec<IpNet>,
}

impl Expect {
    pub(crate) fn is_empty(&self) -> bool {
        self.forms.is_empty() && self.body.is_none() && self.client_ip.is_empty()
    }
}

/// What `--expect-body` or `--expect-client-ip` found in the answers to the
/// attempts accepted with a PROXY header (v1 and v2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Look {
    /// Each of these attempts passed.
    Met(Vec<HeaderKind>),
    /// No attempt was accepted with a header: no answer to look at.
    NothingServed,
    /// The answer to this attempt did not pass (the first that did not).
    Missed(HeaderKind),
}

impl Look {
    pub(crate) fn met(&self) -> bool {
        matches!(self, Look::Met(_))
    }

    fn of(attempts: &[Attempt], pass: impl Fn(&Attempt) -> bool) -> Look {
        let served: Vec<&Attempt> = attempts.iter().filter(|a| a.served_with_header()).collect();
        if served.is_empty() {
            return Look::NothingServed;
        }
        match served.iter().find(|a| !pass(a)) {
            Some(a) => Look::Missed(a.kind),
            None => Look::Met(served.iter().map(|a| a.kind).collect()),
        }
    }
}

/// How the probe measured up to what was asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Checked {
    pub asked: Expect,
    /// Whether the class met one of the forms (`None`: no form asked).
    pub forms: Option<bool>,
    pub body: Option<Look>,
    pub client_ip: Option<Look>,
}

impl Checked {
    /// Every expectation asked was met.
    pub(crate) fn met(&self) -> bool {
        self.forms != Some(false)
            && self.body.as_ref().is_none_or(Look::met)
            && self.client_ip.as_ref().is_none_or(Look::met)
    }
}

/// Whether `pattern` is a plain substring of `haystack`.
fn contains(haystack: &[u8], pattern: &[u8]) -> bool {
    pattern.is_empty() || haystack.windows(pattern.len()).any(|w| w == pattern)
}

/// Check `probe` against `asked`.
pub(crate) fn check(probe: &Probe, asked: &Expect) -> Checked {
    let forms =
        (!asked.forms.is_empty()).then(|| asked.forms.iter().any(|f| f.matches(probe.class)));
    let body = asked
        .body
        .as_ref()
        .map(|pattern| Look::of(&probe.attempts, |a| contains(a.body(), pattern.as_bytes())));
    let client_ip = (!asked.client_ip.is_empty()).then(|| {
        Look::of(&probe.attempts, |a| {
            a.client
                .is_some_and(|ip| asked.client_ip.iter().any(|net| net.contains(&ip)))
        })
    });
    Checked {
        asked: asked.clone(),
        forms,
        body,
        client_ip,
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
    /// A conversation in a protocol of `crate::protocol` (its greeting,
    /// its harmless opening), judged in its server's words.
    Speak(Speech),
}

/// The protocol of [`Mode::Speak`], and its wait for a greeting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Speech {
    /// `None`: `auto` on a port that is not well-known; the probe finds
    /// it from the server's first bytes before its attempts.
    pub protocol: Option<Protocol>,
    /// How the protocol was chosen.
    pub chosen: Chosen,
    /// How long a server that speaks first may take to greet.
    pub greeting_timeout: Duration,
}

impl Mode {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Mode::Http => "http",
            Mode::Tls => "tls",
            Mode::Banner => "banner",
            Mode::Speak(s) => s.protocol.map_or("auto", Protocol::name),
        }
    }

    /// The mode a `--protocol` value asks for: probe's flag and an
    /// exporter module's `protocol` key both come here. HTTP and TLS are
    /// probe's own modes, raw waits for a banner, the others speak the
    /// protocol; `auto` takes the well-known `port`'s protocol, else (or
    /// with no port yet) finds it from the server's greeting. The choice
    /// made before a byte is read comes with it.
    pub(crate) fn of_selection(
        selection: Selection,
        port: Option<u16>,
        greeting_timeout: Duration,
    ) -> (Mode, Option<Chosen>) {
        let known = port
            .and_then(|p| selection.before_talking(p))
            .or(match selection {
                Selection::One(p) => Some((p, Chosen::Named)),
                Selection::Auto => None,
            });
        let speak = |protocol, chosen| {
            Mode::Speak(Speech {
                protocol,
                chosen,
                greeting_timeout,
            })
        };
        let mode = match known {
            Some((Protocol::Http, _)) => Mode::Http,
            Some((Protocol::Tls, _)) => Mode::Tls,
            Some((Protocol::Raw, _)) => Mode::Banner,
            Some((p, chosen)) => speak(Some(p), chosen),
            None => speak(None, Chosen::Greeting),
        };
        (mode, known.map(|(_, c)| c))
    }

    /// The protocol spoken, in `crate::protocol`'s terms.
    pub(crate) fn protocol(self) -> Protocol {
        match self {
            Mode::Http => Protocol::Http,
            Mode::Tls => Protocol::Tls,
            Mode::Banner => Protocol::Raw,
            Mode::Speak(s) => s.protocol.unwrap_or(Protocol::Raw),
        }
    }
}

/// The header an attempt sends (one vocabulary with the servers' metrics).
pub(crate) use crate::judge::HeaderKind;

impl HeaderKind {
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

    /// What the client put first on the wire, in the judge's terms: the
    /// header, then what the mode sends after it (the probe's own request
    /// is well-formed: a request line, a Host, the blank line).
    fn sent(self, mode: Mode) -> Sent {
        let payload = mode != Mode::Banner && !matches!(mode, Mode::Speak(_));
        match self {
            HeaderKind::None if payload => Sent::NoHeader {
                request: mode == Mode::Http,
            },
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
    /// What to check the result against (`--expect*`).
    pub expect: Expect,
}

impl Options {
    /// One attempt's connection: `timeout` bounds the connect and each
    /// wait, `max_time` the whole, at most [`MAX_REPLY`] bytes kept.
    fn net(&self) -> net::Options {
        net::Options {
            connect_timeout: self.timeout,
            reply_timeout: self.timeout,
            max_reply: MAX_REPLY,
            max_time: self.max_time,
            ..net::Options::default()
        }
    }
}

/// What came back to one attempt, as far as deciding needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Came {
    /// No connection: `end` is `Refused`, `ConnectTimeout` or `Error`.
    NoConnection {
        end: End,
        error: Option<net::NetError>,
    },
    /// HTTP mode: an HTTP status line.
    Http { status: u16, reason: String },
    /// HTTP mode: bytes that are not HTTP (their start), then `end`.
    NotHttp { first: Vec<u8>, end: End },
    /// Not a byte before `end` (closed, reset, or the timeout).
    Nothing {
        end: End,
        error: Option<net::NetError>,
    },
    /// Banner mode: the server spoke (its first bytes). `unprompted`: it
    /// spoke before the header was sent, so it does not wait for one.
    Banner { first: Vec<u8>, unprompted: bool },
    /// A protocol's conversation: the verdict in the server's words, how
    /// long it was quiet after the header, how the connection ended.
    Spoke {
        verdict: protocol::Verdict,
        /// From the header to the server's first byte (or to the end).
        waited: Duration,
        end: End,
        /// Not a byte for the whole greeting wait.
        silent: bool,
    },
    /// TLS mode: how the handshake went, and the start of what the server
    /// sent on the wire (a plain-text answer when it does not speak TLS).
    Tls { end: TlsEnd, clear: Vec<u8> },
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
    /// What the receiver answered, at most [`MAX_REPLY`] bytes: the HTTP
    /// response (over TLS, the decrypted one), or what it said after the
    /// header in banner mode. Empty when nothing (readable) came.
    pub answer: Vec<u8>,
    /// The client address the answer reports, when it is a 2xx whoami page
    /// (`ppctl listen`'s `remote_addr (realip): IP`, or `remote_addr=IP`).
    pub client: Option<IpAddr>,
    /// The judge's finding for this exchange.
    pub finding: Finding,
    pub elapsed: Duration,
}

impl Attempt {
    /// The body of the answer: after the head of an HTTP response, else the
    /// whole answer (a banner, data that is no HTTP).
    pub(crate) fn body(&self) -> &[u8] {
        net::http_body(&self.answer).unwrap_or(&self.answer)
    }

    /// Accepted with a PROXY header (v1 or v2; LOCAL carries no client).
    pub(crate) fn served_with_header(&self) -> bool {
        self.accepted && matches!(self.kind, HeaderKind::V1 | HeaderKind::V2)
    }

    /// Taken by the port, as far as its profile goes: accepted, or passed
    /// on to a hop behind it that refused it the way a backend behind a
    /// hop that adds a header does (`hop-adds-header`). Either
    /// way the port itself reads no header.
    fn taken(&self) -> bool {
        self.accepted || self.finding == Finding::HopAddsHeader
    }
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
    /// Nothing accepted over HTTP, and the endpoint answered a TLS
    /// server's page for plain HTTP (`plain-http-to-tls`).
    ServesTls,
    /// Nothing accepted over HTTP: maybe TLS, maybe server-speaks-first.
    NothingAccepted,
    /// Nothing accepted over TLS, and the endpoint answered in clear (an
    /// HTTP response, a banner): it does not speak TLS on this port.
    AnsweredClear,
    /// Nothing accepted over TLS: no handshake completed.
    NoHandshake,
    /// Nothing accepted in banner mode: no banner, with or without a header.
    NoBanner,
    /// Nothing accepted in a protocol's mode, and not a word came, with or
    /// without a header, for the whole greeting wait: silent, so not this
    /// protocol (or something in between holds the connection).
    NoGreeting,
    /// Nothing accepted in a protocol's mode, and the server answered in
    /// another protocol (this one, when it is one ppctl knows).
    OtherProtocol(Option<Protocol>),
}

/// The whole probe result.
#[derive(Debug, Clone)]
pub(crate) struct Probe {
    pub target: Target,
    /// The mode the attempts ran in (`auto` resolved).
    pub mode: Mode,
    /// How the mode's protocol was chosen (the command sets `Named` and
    /// `Port` for http and tls; `auto` finds the rest).
    pub chosen: Chosen,
    /// Always four, in [`HeaderKind::ALL`] order.
    pub attempts: Vec<Attempt>,
    pub class: Class,
    /// What the profile leads to (see [`finding_for`]).
    pub finding: Finding,
    pub warnings: Vec<Warning>,
    /// The expectations and how they went; `None` when none was asked.
    pub checked: Option<Checked>,
}

impl Probe {
    pub(crate) fn spoofable(&self) -> bool {
        self.class == Class::Optional
    }

    /// Whether the finding happened to the probe's own attempts (no
    /// connection, a header taken from anyone, requests that fail behind
    /// the port), rather than being what a sender that does not match the
    /// profile would meet (`missing-header` for a client without a header
    /// at a port that requires one: a choice, not a failure).
    pub(crate) fn finding_happened(&self) -> bool {
        matches!(
            self.class,
            Class::Optional | Class::Unreachable | Class::Inconclusive
        ) || self.finding == Finding::HopAddsHeader
    }

    pub(crate) fn attempt(&self, kind: HeaderKind) -> Option<&Attempt> {
        self.attempts.iter().find(|a| a.kind == kind)
    }
}

/// Probe `target` at `addrs` (already resolved).
pub(crate) async fn probe(target: &Target, addrs: &[SocketAddr], opts: &Options) -> Probe {
    let watch = Watch::default();
    let attempts = attempts(target, addrs, opts, &watch).await;
    finish(target, opts, attempts)
}

/// [`probe`], telling `watch` of each attempt as it ends; `None` when its
/// interrupt came first (a profile needs all four attempts).
pub(crate) async fn probe_watched(
    target: &Target,
    addrs: &[SocketAddr],
    opts: &Options,
    watch: &Watch<Attempt>,
) -> Option<Probe> {
    tokio::select! {
        attempts = attempts(target, addrs, opts, watch) => Some(finish(target, opts, attempts)),
        () = watch.interrupt.wait() => None,
    }
}

/// The attempts, in the mode they ran in (`auto` found first), and how
/// its protocol was chosen.
struct Attempts {
    mode: Mode,
    chosen: Chosen,
    made: Vec<Attempt>,
}

async fn attempts(
    target: &Target,
    addrs: &[SocketAddr],
    opts: &Options,
    watch: &Watch<Attempt>,
) -> Attempts {
    let mut opts = opts.clone();
    let mut chosen = Chosen::Default;
    if let Mode::Speak(speech) = opts.mode {
        chosen = speech.chosen;
        if speech.protocol.is_none() {
            opts.mode = sniff_protocol(addrs, &opts, speech).await;
            chosen = match opts.mode {
                Mode::Speak(_) => Chosen::Greeting,
                _ => Chosen::Silence,
            };
        }
    }
    let opts = &opts;
    let mut made = Vec::new();
    for kind in HeaderKind::ALL {
        let attempt = run_attempt(target, addrs, opts, kind).await;
        watch.tell(&attempt);
        made.push(attempt);
    }
    Attempts {
        mode: opts.mode,
        chosen,
        made,
    }
}

fn finish(target: &Target, opts: &Options, attempts: Attempts) -> Probe {
    let mut probe = conclude(target.clone(), attempts.mode, attempts.made);
    probe.chosen = attempts.chosen;
    if !opts.expect.is_empty() {
        probe.checked = Some(check(&probe, &opts.expect));
    }
    probe
}

/// How long `auto` listens for a greeting on a port that is not
/// well-known, per connection (one without a header, one with a v1
/// header), before it takes the port for HTTP.
pub(crate) const AUTO_GREETING_WAIT: Duration = Duration::from_secs(1);

/// `--protocol auto` on a port that is not well-known: the protocol whose
/// greeting the server sends, to a client without a header or (when it
/// waits for one) after a v1 header; HTTP when it says nothing to either.
async fn sniff_protocol(addrs: &[SocketAddr], opts: &Options, speech: Speech) -> Mode {
    let wait = speech.greeting_timeout.min(AUTO_GREETING_WAIT);
    let speaker = Speaker {
        protocol: None,
        http_request: Vec::new(),
    };
    for kind in [HeaderKind::None, HeaderKind::V1] {
        let talk = net::Conversation {
            greeting_timeout: Some(wait),
            starttls: None,
            script: &Listening(&speaker),
        };
        let d = net::converse(addrs, &opts.net(), &talk, |l, p| {
            Ok::<_, std::convert::Infallible>(Message {
                header: kind.bytes(l, p),
                payload: Vec::new(),
            })
        })
        .await;
        let Ok(d) = d;
        if let Some(p) = protocol::greeting_of(&d.reply.received) {
            return Mode::Speak(Speech {
                protocol: Some(p),
                chosen: Chosen::Greeting,
                ..speech
            });
        }
        if !d.reply.connected {
            break;
        }
    }
    Mode::Http
}

/// A script that only listens for the greeting (the sniff of `auto`).
struct Listening<'a>(&'a Speaker);

impl net::Script for Listening<'_> {
    fn greeted(&self, said: &[u8]) -> bool {
        self.0.greeted(said)
    }
    fn opening(&self, _said: &[u8]) -> Option<Vec<u8>> {
        None
    }
    fn answered(&self, _said: &[u8], _answer: &[u8]) -> bool {
        true
    }
    fn upgrade(&self, _answer: &[u8]) -> Option<bool> {
        None
    }
    fn closing(&self) -> Option<Vec<u8>> {
        None
    }
    fn listening_after_refusal(&self, said: &[u8]) -> bool {
        self.0.listening_after_refusal(said)
    }
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
        Mode::Speak(speech) => {
            let protocol = speech.protocol.unwrap_or(Protocol::Raw);
            speak_attempt(addrs, opts, kind, protocol, speech.greeting_timeout).await
        }
        Mode::Tls => {
            let sni = opts.sni.clone().unwrap_or_else(|| target.host.clone());
            let run =
                probe_tls::attempt(addrs, &opts.net(), &sni, request, |l, p| kind.bytes(l, p))
                    .await;
            tls_attempt(kind, run)
        }
        Mode::Http | Mode::Banner => {
            let net_opts = net::Options {
                banner_timeout: (opts.mode == Mode::Banner).then_some(opts.timeout),
                ..opts.net()
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

/// A protocol's mode: one conversation (the greeting, the opening, its
/// answer), judged by `protocol::judge`; accepted when served (`proxied`,
/// `plain`, `health-check`).
async fn speak_attempt(
    addrs: &[SocketAddr],
    opts: &Options,
    kind: HeaderKind,
    protocol: Protocol,
    greeting_timeout: Duration,
) -> Attempt {
    let speaker = Speaker {
        protocol: Some(protocol),
        http_request: Vec::new(),
    };
    let client_first = !protocol.server_speaks_first();
    let opening = match protocol.opening() {
        protocol::Opening::Bytes(b) => b.to_vec(),
        _ => Vec::new(),
    };
    let talk = net::Conversation {
        greeting_timeout: (!client_first).then_some(greeting_timeout),
        starttls: None,
        script: &speaker,
    };
    let Ok(d) = net::converse(addrs, &opts.net(), &talk, |l, p| {
        Ok::<_, std::convert::Infallible>(Message {
            header: kind.bytes(l, p),
            payload: if client_first {
                opening.clone()
            } else {
                Vec::new()
            },
        })
    })
    .await;
    let r = &d.reply;
    let at = d.opened_at.unwrap_or(r.received.len());
    let sent = match (kind, d.opened_at) {
        (HeaderKind::None, Some(_)) => Sent::NoHeader { request: false },
        (HeaderKind::None, None) => Sent::Nothing,
        (HeaderKind::V1 | HeaderKind::V2, opened) => Sent::Header {
            payload: opened.is_some(),
        },
        (HeaderKind::V2Local, opened) => Sent::Local {
            payload: opened.is_some(),
        },
    };
    let ending = judge::Exchange::of(r, sent, false).ending;
    let verdict = protocol::judge(
        protocol,
        &protocol::Seen {
            sent,
            greeted_first: false,
            foreign_client: false,
            before: &r.received[..at],
            after: d.opened_at.map(|at| &r.received[at..]),
            ending,
        },
    );
    let mut a = base(
        kind,
        r,
        Mode::Speak(Speech {
            protocol: Some(protocol),
            chosen: Chosen::Named,
            greeting_timeout,
        }),
    );
    a.finding = verdict.finding;
    if !r.connected {
        return a;
    }
    // Served: greeted (or, client first, answered in the protocol).
    let answered = verdict.greeting.is_some()
        || (!protocol.server_speaks_first()
            && verdict
                .reply
                .as_ref()
                .is_some_and(|r| r.kind == protocol::Kind::Ok));
    a.accepted = answered
        && matches!(
            verdict.finding,
            Finding::Proxied | Finding::Plain | Finding::HealthCheck
        );
    a.answer = first_reply(&r.received);
    a.client = verdict.client_seen;
    let from = r.timings.sent.or(r.timings.connect).unwrap_or_default();
    let until = r.timings.first_byte.unwrap_or(r.timings.total);
    a.came = Came::Spoke {
        verdict,
        waited: until.saturating_sub(from),
        end: r.end,
        silent: d.silent,
    };
    a
}

/// The attempt's facts from a net reply; `came`, `accepted` and `finding`
/// are filled by the mode.
fn base(kind: HeaderKind, reply: &Transcript, mode: Mode) -> Attempt {
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
        answer: Vec::new(),
        client: None,
        // As `send` judges a plain exchange: a TLS server's page for plain
        // HTTP is `plain-http-to-tls`, whatever the header.
        finding: judge::layered(
            &judge::Exchange::of(reply, kind.sent(mode), false),
            judge::Layer::of_plain(&reply.received),
        ),
        elapsed: Duration::ZERO,
    }
}

/// At most this much of a reply is kept to describe it.
const KEPT: usize = 256;

/// The most of a reply the probe reads (and keeps, for `--expect-body`).
pub(crate) const MAX_REPLY: usize = probe_tls::MAX_REPLY;

fn first(bytes: &[u8]) -> Vec<u8> {
    bytes[..bytes.len().min(KEPT)].to_vec()
}

fn first_reply(bytes: &[u8]) -> Vec<u8> {
    bytes[..bytes.len().min(MAX_REPLY)].to_vec()
}

/// HTTP mode: accepted when an HTTP response other than 400 came back.
fn http_attempt(kind: HeaderKind, reply: &Transcript) -> Attempt {
    let mut a = base(kind, reply, Mode::Http);
    if !reply.connected {
        return a;
    }
    match sniff::classify(&reply.received) {
        Sniffed::Empty => {}
        Sniffed::HttpResponse { status, reason } => {
            a.accepted = status != 400;
            a.answer = first_reply(&reply.received);
            a.client = net::whoami_client(&reply.received);
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
fn banner_attempt(kind: HeaderKind, reply: &Transcript) -> Attempt {
    let mut a = base(kind, reply, Mode::Banner);
    if !reply.connected {
        return a;
    }
    if kind == HeaderKind::None {
        if !reply.banner.is_empty() {
            a.accepted = true;
            a.answer = first_reply(&reply.banner);
            a.came = Came::Banner {
                first: first(&reply.banner),
                unprompted: true,
            };
            // The banner is the answer (nothing was sent to answer).
            let mut x = judge::Exchange::of(reply, kind.sent(Mode::Banner), false);
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
        // The server greeted before the header arrived: it does not wait
        // for one (it reads none, or takes it only when it comes).
        a.finding = Finding::BannerBeforeHeader;
    } else if !reply.received.is_empty() {
        a.accepted = !matches!(reply.end, End::Reset);
        a.answer = first_reply(&reply.received);
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
    // Judged with the TLS dimension, as `send --tls` and `repro --tls` are:
    // a ClientHello without a header that a receiver hangs up on is
    // tls-before-proxy, a header that breaks the handshake
    // tls-handshake-failed.
    let layer = match run.end {
        TlsEnd::HandshakeOk { .. } => judge::Layer::Tls,
        TlsEnd::Refused(_) | TlsEnd::ConnectTimeout | TlsEnd::ConnectError(_) => {
            judge::Layer::Plain
        }
        _ => judge::Layer::TlsFailed,
    };
    let finding = judge::layered(
        &tls_exchange(kind.sent(Mode::Tls), &run.end, &run.clear),
        layer,
    );
    let answer = match &run.end {
        TlsEnd::HandshakeOk { reply, .. } => reply.clone(),
        _ => Vec::new(),
    };
    let client = net::whoami_client(&answer);
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
        answer,
        client,
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

/// What to try when nothing was accepted, from the mode and what came back;
/// never the mode that was just probed.
fn blind(mode: Mode, attempts: &[Attempt]) -> Warning {
    match mode {
        Mode::Http => {
            let tls = attempts.iter().any(
                |a| matches!(&a.came, Came::NotHttp { first, .. } if sniff::classify(first).is_tls()),
            );
            if tls {
                Warning::AnsweredTls
            } else if attempts
                .iter()
                .any(|a| a.finding == Finding::PlainHttpToTls)
            {
                Warning::ServesTls
            } else {
                Warning::NothingAccepted
            }
        }
        Mode::Tls => {
            let clear = attempts.iter().any(|a| {
                matches!(&a.came, Came::Tls { end: TlsEnd::NotTls(_), clear }
                    if !clear.is_empty() && !sniff::classify(clear).is_tls())
            });
            if clear {
                Warning::AnsweredClear
            } else {
                Warning::NoHandshake
            }
        }
        Mode::Banner => Warning::NoBanner,
        Mode::Speak(speech) => {
            let foreign = attempts.iter().find_map(|a| match &a.came {
                Came::Spoke { verdict, .. }
                    if verdict.greeting.is_none() && !a.answer.is_empty() =>
                {
                    Some(&a.answer)
                }
                _ => None,
            });
            match foreign {
                Some(bytes) => {
                    let other = protocol::greeting_of(bytes).or_else(|| {
                        matches!(sniff::classify(bytes), Sniffed::HttpResponse { .. })
                            .then_some(Protocol::Http)
                    });
                    Warning::OtherProtocol(other.filter(|p| Some(*p) != speech.protocol))
                }
                None => Warning::NoGreeting,
            }
        }
    }
}

/// The class from the attempts. The decision uses none/v1/v2; v2 LOCAL
/// only adds a warning (health checks use it).
pub(crate) fn classify(attempts: &[Attempt]) -> Class {
    let ok = |kind| attempts.iter().any(|a| a.kind == kind && a.taken());
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
pub(crate) fn finding_for(class: Class, mode: Mode, attempts: &[Attempt]) -> Finding {
    // Over TLS the same mistakes show as their TLS findings
    // (`judge::on_tls_port`).
    let tls = |f| match mode {
        Mode::Tls => judge::on_tls_port(f, judge::Layer::TlsFailed),
        Mode::Http | Mode::Banner | Mode::Speak(_) => f,
    };
    let without_header = attempts
        .iter()
        .find(|a| a.kind == HeaderKind::None)
        .map(|a| a.finding);
    match class {
        // Even a client without a header fails, behind the port: that is
        // what this endpoint comes to, whatever a sender does.
        Class::NoHeader if without_header == Some(Finding::HopAddsHeader) => Finding::HopAddsHeader,
        Class::NoHeader => tls(Finding::UnexpectedHeader),
        Class::Optional => Finding::Spoofable,
        Class::RequiresV1OrV2 => tls(Finding::MissingHeader),
        Class::RequiresV1 | Class::RequiresV2 => Finding::HeaderRejected,
        Class::Unreachable => attempts
            .first()
            .map(|a| a.finding)
            .unwrap_or(Finding::Unreachable),
        Class::Inconclusive => Finding::Inconclusive,
    }
}

fn conclude(target: Target, mode: Mode, mut attempts: Vec<Attempt>) -> Probe {
    if matches!(mode, Mode::Speak(_)) {
        not_waiting_when_never_greeted(&mut attempts);
    }
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
    if class == Class::Inconclusive {
        warnings.push(blind(mode, &attempts));
    }
    let finding = finding_for(class, mode, &attempts);
    Probe {
        target,
        mode,
        chosen: Chosen::Default,
        attempts,
        class,
        finding,
        warnings,
        checked: None,
    }
}

/// A server that greeted none of the attempts waits for nothing ppctl can
/// give: an attempt it kept open without a word until the wait ran out is
/// silent, not "waiting for a header" (that is a server that greets the
/// attempts with one): `no-reply`, not `missing-header`.
fn not_waiting_when_never_greeted(attempts: &mut [Attempt]) {
    let greeted = attempts
        .iter()
        .any(|a| matches!(&a.came, Came::Spoke { verdict, .. } if verdict.greeting.is_some()));
    if greeted {
        return;
    }
    for a in attempts.iter_mut() {
        let silent = matches!(&a.came, Came::Spoke { silent: true, .. });
        if silent && a.finding == Finding::MissingHeader {
            a.finding = Finding::NoReply;
        }
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
            answer: Vec::new(),
            client: None,
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
        assert_eq!(
            finding_for(Class::Unreachable, Mode::Http, &down),
            Finding::NoReceiver
        );
    }

    #[test]
    fn every_class_has_a_unique_name_and_a_finding() {
        for (i, c) in Class::ALL.into_iter().enumerate() {
            assert!(Class::ALL[i + 1..].iter().all(|o| o.name() != c.name()));
            assert!(!c.summary().is_empty() && !c.describe().is_empty());
        }
        let f = |c, m| finding_for(c, m, &[]);
        assert_eq!(f(Class::NoHeader, Mode::Http), Finding::UnexpectedHeader);
        assert_eq!(f(Class::Optional, Mode::Http), Finding::Spoofable);
        assert_eq!(f(Class::Inconclusive, Mode::Http), Finding::Inconclusive);
        // Over TLS: the names send --tls and repro --tls give.
        assert_eq!(f(Class::NoHeader, Mode::Tls), Finding::TlsHandshakeFailed);
        assert_eq!(f(Class::RequiresV1OrV2, Mode::Tls), Finding::TlsBeforeProxy);
        assert_eq!(f(Class::Optional, Mode::Tls), Finding::Spoofable);
    }

    #[test]
    fn every_class_is_an_expectation_and_accepts_forms_stand_for_classes() {
        for c in Class::ALL {
            assert!(Expectation::ALL.contains(&Expectation::Class(c)), "{c:?}");
            assert_eq!(Expectation::Class(c).name(), c.name());
        }
        let names: Vec<&str> = Expectation::ALL.iter().map(|e| e.name()).collect();
        for (i, n) in names.iter().enumerate() {
            assert!(!names[i + 1..].contains(n), "{n} twice");
        }
        let takers = |e: Expectation| -> Vec<Class> {
            Class::ALL.into_iter().filter(|c| e.matches(*c)).collect()
        };
        assert_eq!(
            takers(Expectation::AcceptsV2),
            [Class::RequiresV2, Class::RequiresV1OrV2]
        );
        assert_eq!(
            takers(Expectation::AcceptsV1),
            [Class::RequiresV1, Class::RequiresV1OrV2]
        );
        assert!(Expectation::AcceptsV2
            .describe()
            .contains("--expect optional"));
    }

    fn served(kind: HeaderKind, body: &str, client: Option<&str>) -> Attempt {
        let mut a = att(kind, true);
        a.answer = format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .into_bytes();
        a.client = client.map(|c| c.parse().expect("ip"));
        a
    }

    fn probe_of(attempts: Vec<Attempt>) -> Probe {
        conclude("127.0.0.1:1".parse().expect("target"), Mode::Http, attempts)
    }

    #[test]
    fn expectations_any_form_and_every_served_answer() {
        let p = probe_of(vec![
            att(HeaderKind::None, false),
            served(HeaderKind::V1, "hello v1", Some("127.0.0.1")),
            served(HeaderKind::V2, "hello v2", Some("10.1.2.3")),
            served(HeaderKind::V2Local, "local", None),
        ]);
        assert_eq!(p.class, Class::RequiresV1OrV2);
        let ask = |forms: &[Expectation], body: Option<&str>, src: &[&str]| Expect {
            forms: forms.to_vec(),
            body: body.map(str::to_string),
            client_ip: src.iter().map(|s| s.parse().expect("net")).collect(),
        };
        let c = check(
            &p,
            &ask(&[Expectation::Class(Class::RequiresV2)], None, &[]),
        );
        assert_eq!((c.forms, c.met()), (Some(false), false));
        let c = check(
            &p,
            &ask(
                &[
                    Expectation::Class(Class::RequiresV2),
                    Expectation::AcceptsV2,
                ],
                None,
                &[],
            ),
        );
        assert!(c.met());
        // The body of every answer served with a header (LOCAL is not).
        let c = check(&p, &ask(&[], Some("hello"), &[]));
        assert_eq!(
            c.body,
            Some(Look::Met(vec![HeaderKind::V1, HeaderKind::V2]))
        );
        let c = check(&p, &ask(&[], Some("v2"), &[]));
        assert_eq!(c.body, Some(Look::Missed(HeaderKind::V1)));
        assert!(!c.met());
        // The head is not the body.
        let c = check(&p, &ask(&[], Some("Content-Length"), &[]));
        assert_eq!(c.body, Some(Look::Missed(HeaderKind::V1)));
        let c = check(&p, &ask(&[], None, &["127.0.0.0/8", "10.0.0.0/8"]));
        assert!(c.met(), "{c:?}");
        let c = check(&p, &ask(&[], None, &["127.0.0.1/32"]));
        assert_eq!(c.client_ip, Some(Look::Missed(HeaderKind::V2)));
        // Nothing served with a header: nothing to look at.
        let plain = probe_of(vec![
            served(HeaderKind::None, "hello", Some("127.0.0.1")),
            att(HeaderKind::V1, false),
            att(HeaderKind::V2, false),
            att(HeaderKind::V2Local, false),
        ]);
        let c = check(&plain, &ask(&[], Some("hello"), &["127.0.0.1/32"]));
        assert_eq!(c.body, Some(Look::NothingServed));
        assert_eq!(c.client_ip, Some(Look::NothingServed));
        assert!(!c.met());
    }

    /// The seed seen from the client: every attempt gets a stock 400, the
    /// one without a header too. The port reads no header; the hop behind
    /// it is suspected of adding one.
    #[test]
    fn a_stock_400_without_a_header_is_a_hop_that_adds_one() {
        let target: Target = "127.0.0.1:8080".parse().expect("target");
        assert!(judge::well_formed_request(&http_request(&target)));
        assert_eq!(
            HeaderKind::None.sent(Mode::Http),
            Sent::NoHeader { request: true }
        );
        let mut none = att(HeaderKind::None, false);
        none.finding = Finding::HopAddsHeader;
        let mut attempts = vec![none];
        for kind in [HeaderKind::V1, HeaderKind::V2] {
            let mut a = att(kind, false);
            a.finding = Finding::UnexpectedHeader;
            attempts.push(a);
        }
        attempts.push(att(HeaderKind::V2Local, false));
        let p = probe_of(attempts.clone());
        assert_eq!(
            (p.class, p.finding),
            (Class::NoHeader, Finding::HopAddsHeader)
        );
        assert!(p.warnings.is_empty(), "{:?}", p.warnings);
        // An application's 400 to everything: the probe still can't tell.
        attempts[0].finding = Finding::HttpError;
        let p = probe_of(attempts);
        assert_eq!(
            (p.class, p.finding),
            (Class::Inconclusive, Finding::Inconclusive)
        );
    }

    /// The seed failure, as the judge sees a probe's v1 attempt against a
    /// receiver without PROXY support.
    #[test]
    fn a_400_to_the_v1_attempt_is_unexpected_header() {
        let x = Exchange {
            sent: HeaderKind::V1.sent(Mode::Http),
            answer: Answer::of(b"HTTP/1.1 400 Bad Request\r\n\r\n"),
            ending: Ending::ServerClosed,
            udp: false,
        };
        let f = judge::exchange(&x);
        assert_eq!(
            (f.name(), f.code()),
            ("unexpected-header", "PP-UNEXPECTED-HEADER")
        );
        let tls = tls_exchange(
            HeaderKind::V1.sent(Mode::Http),
            &TlsEnd::NotTls(net::NetError::Io("x".into())),
            b"HTTP/1.1 400 Bad Request\r\n\r\n",
        );
        assert_eq!(judge::exchange(&tls), Finding::UnexpectedHeader);
        let ok = tls_exchange(
            HeaderKind::None.sent(Mode::Tls),
            &TlsEnd::HandshakeOk {
                version: "TLSv1_3".into(),
                reply: Vec::new(),
                certificate: None,
            },
            b"",
        );
        assert_eq!(judge::exchange(&ok), Finding::Plain);
    }
}
