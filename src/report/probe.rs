//! `probe`'s two views: the evidence table, the profile and the finding it
//! leads to (human), and the `probe` JSON document (docs/json.md).

use std::fmt::Write as _;

use serde::Serialize;

use super::finding::{self, FindingJson, FixJson};
use super::json::{ms, Doc, HeaderJson, TargetJson};
use super::protocol::{self as rp, ReplyJson};
use super::table::{self, Tone};
use super::Style;
use crate::codec;
use crate::diagnose::probe::{
    Attempt, Came, Checked, Class, HeaderKind, Look, Mode, Probe, TlsEnd, Warning, MAX_REPLY,
};
use crate::judge::fixes::Case;
use crate::judge::Finding;
use crate::net::{End, NetError};
use crate::protocol::{Chosen, Kind, Opening, Protocol};
use crate::sniff;

/// Below this width the table drops the `sent` and `ms` columns.
const WIDE: u16 = 110;

/// The human view: the attempts, the profile, the finding and its fixes.
pub(crate) fn human(p: &Probe, style: Style) -> String {
    let wide = style.width >= WIDE;
    let header: &[&str] = if wide {
        &["header", "sent", "came back", "accepted", "finding", "ms"]
    } else {
        &["header", "came back", "accepted", "finding"]
    };
    let mut t = table::new(style, header);
    for a in &p.attempts {
        let mut row = vec![table::cell(style, a.kind.name(), Tone::Bold)];
        if wide {
            row.push(table::cell(style, &sent(a, p.mode), Tone::Plain));
        }
        row.push(table::cell(style, &reply(a, p.mode), Tone::Plain));
        row.push(if a.accepted {
            table::cell(style, "yes", Tone::Good)
        } else {
            table::cell(style, "no", Tone::Dim)
        });
        row.push(finding::cell(a.finding, style));
        if wide {
            row.push(table::number(style, a.elapsed.as_millis()));
        }
        t.add_row(row);
    }
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} {} ({} mode)",
        style.bold("probe"),
        p.target,
        p.mode.name()
    );
    let _ = writeln!(out, "{t}");
    let class = finding::paint(style, p.class.name(), class_tone(p.class));
    let profile = format!("{} {class}: {}", style.bold("profile"), p.class.summary());
    let _ = writeln!(out, "\n{}", table::wrap(style, &profile, 8));
    for w in &p.warnings {
        let text = format!("{} {}", style.warn("warning:"), warning(*w, p));
        let _ = writeln!(out, "{}", table::wrap(style, &text, 9));
    }
    let _ = writeln!(out, "\n{}", table::wrap(style, lead(p), 0));
    out.push_str(&finding::explained_as(
        p.finding,
        p.finding_happened(),
        case(p),
        style,
    ));
    out
}

/// The receiver the fixes are for: the probed port, TLS in tls mode.
fn case(p: &Probe) -> Case {
    Case {
        port: Some(p.target.port),
        tls: match p.mode {
            Mode::Tls => Some(true),
            Mode::Http | Mode::Speak(_) => Some(false),
            Mode::Banner => None,
        },
        protocol: Some(p.mode.protocol()),
    }
}

fn class_tone(c: Class) -> Tone {
    match c {
        Class::RequiresV1 | Class::RequiresV2 | Class::RequiresV1OrV2 | Class::NoHeader => {
            Tone::Good
        }
        Class::Optional => Tone::Warn,
        Class::Unreachable => Tone::Bad,
        Class::Inconclusive => Tone::Dim,
    }
}

/// The sentence that introduces the finding a profile leads to.
fn lead(p: &Probe) -> &'static str {
    if p.finding == Finding::HopAddsHeader {
        return "Yet a client that sends no header gets, from behind this port:";
    }
    match p.class {
        Class::RequiresV1OrV2 => "A client or health check that sends no header gets:",
        Class::RequiresV1 => "A sender of v2 headers (or of none) gets:",
        Class::RequiresV2 => "A sender of v1 headers (or of none) gets:",
        Class::NoHeader => "A sender that adds a PROXY header gets:",
        Class::Optional => "Anyone who reaches it directly can forge a client address:",
        Class::Unreachable => "No attempt connected:",
        Class::Inconclusive => "The probe could not tell:",
    }
}

fn warning(w: Warning, p: &Probe) -> String {
    match w {
        Warning::Spoofable => "SECURITY: the header is optional here, so any client that can reach this port can claim any source address".into(),
        Warning::LocalRejected => {
            let seen = p
                .attempt(HeaderKind::V2Local)
                .map(|a| format!(" (v2-local: {} ({}))", a.finding.name(), a.finding.code()))
                .unwrap_or_default();
            format!("v2 PROXY is accepted but v2 LOCAL is not{seen}: health checks that use LOCAL (AWS NLB, HAProxy check-send-proxy) will fail")
        }
        Warning::PartlyUnreachable => {
            "some attempts could not connect: the profile rests on the others".into()
        }
        Warning::AnsweredTls => "the endpoint answered with TLS: probe it again with --tls".into(),
        Warning::ServesTls => "the endpoint serves TLS here (it answered plain HTTP with a TLS server's 400 page): probe it again with --tls".into(),
        Warning::NothingAccepted if p.chosen == Chosen::Silence => "no attempt was accepted over plain HTTP, and the server said nothing first, with or without a header (so it is no SMTP, IMAP, POP3, MySQL or SSH server): if this port speaks TLS, probe it with --tls; another client-first protocol, name it (--protocol postgres, redis)".into(),
        Warning::NothingAccepted => "no attempt was accepted over plain HTTP: if this port speaks TLS, probe it with --tls; if the server speaks first, with --protocol auto (or smtp, imap, pop3, mysql, ssh)".into(),
        Warning::AnsweredClear => "the endpoint answered in clear, not with TLS: probe it again without --tls".into(),
        Warning::NoHandshake => "no TLS handshake completed, with or without a header: if this port does not speak TLS, probe it without --tls; if the server speaks first, with --banner instead".into(),
        Warning::NoBanner => "no banner came, with or without a header: if the client speaks first on this port, probe it without --banner (HTTP) or with --tls instead".into(),
        Warning::NoGreeting => {
            let (name, wait) = match p.mode {
                Mode::Speak(s) => (s.protocol.map_or("auto", |p| p.name()), rp::seconds(s.greeting_timeout)),
                _ => ("auto", String::new()),
            };
            format!("silent: not a word in {wait}, with or without a header, and no connection was closed: this port does not speak {name} (or the server waits longer than --greeting-timeout); try --protocol auto, or http")
        }
        Warning::OtherProtocol(other) => {
            let name = p.mode.protocol().name();
            match other {
                Some(o) => format!("not {name}: the server answered in {} (probe it with --protocol {})", o.name(), o.name()),
                None => format!("not {name}: the server answered with bytes that are no {name} reply (try --protocol auto)"),
            }
        }
    }
}

/// What an attempt sent, in words.
fn sent(a: &Attempt, mode: Mode) -> String {
    let tuple = match (a.local, a.peer) {
        (Some(l), Some(p)) => format!(" {l} -> {p}"),
        _ => String::new(),
    };
    let header = match a.kind {
        HeaderKind::None => "no header".to_string(),
        HeaderKind::V1 => format!("v1 PROXY{tuple}"),
        HeaderKind::V2 => format!("v2 PROXY{tuple}"),
        HeaderKind::V2Local => "v2 LOCAL (health-check form)".to_string(),
    };
    let after = match mode {
        Mode::Http => " + HTTP GET /".to_string(),
        Mode::Tls => " + TLS ClientHello".to_string(),
        Mode::Banner => ", then wait".to_string(),
        Mode::Speak(s) => {
            let p = s.protocol.unwrap_or(Protocol::Raw);
            let opening = match p.opening() {
                Opening::Bytes(b)
                    if b.iter()
                        .all(|c| c.is_ascii_graphic() || matches!(c, b' ' | b'\r' | b'\n')) =>
                {
                    String::from_utf8_lossy(b).trim_end().to_string()
                }
                _ => format!("{}'s opening", p.name()),
            };
            if p.server_speaks_first() {
                format!(", then {opening} after the greeting")
            } else {
                format!(" + {opening}")
            }
        }
    };
    format!("{header}{after}")
}

/// A connection's error in words (empty when there is none).
fn error_words(error: Option<&NetError>) -> String {
    error.map(ToString::to_string).unwrap_or_default()
}

/// How a connection ended, in words, when nothing (more) came back.
fn ending(end: End, error: Option<&NetError>) -> String {
    match end {
        End::EofWithoutData | End::EofAfterData => "closed (FIN)".into(),
        End::Reset => "reset (RST)".into(),
        End::Timeout => "no reply before the timeout".into(),
        End::SizeLimit => "reply cut at the size bound".into(),
        End::Refused => format!("connection refused ({})", error_words(error)),
        End::ConnectTimeout => "connect timed out".into(),
        End::MaxTime => "the attempt's time limit (--max-time) came first".into(),
        End::Done => "answered; ppctl hung up".into(),
        End::Datagram | End::Error | End::LocalLimit => {
            error.map_or_else(|| "error".into(), ToString::to_string)
        }
    }
}

/// What came back to an attempt, in words.
fn reply(a: &Attempt, mode: Mode) -> String {
    let said = |b: &[u8]| sniff::classify(b).to_string();
    match &a.came {
        Came::NoConnection { end, error } => ending(*end, error.as_ref()),
        Came::Http { status, reason } => format!("HTTP {status} {reason}"),
        Came::NotHttp { first, end } => format!("{}, then {}", said(first), ending(*end, None)),
        Came::Nothing { end, error } => {
            let end = ending(*end, error.as_ref());
            match (mode, a.kind) {
                (Mode::Banner, HeaderKind::None) => format!("no banner; {end}"),
                (Mode::Banner, _) => format!("{end} without a banner"),
                _ => format!("{end} without a reply"),
            }
        }
        Came::Banner { first, .. } if a.kind == HeaderKind::None => {
            format!("banner: {}", said(first))
        }
        Came::Banner {
            first,
            unprompted: true,
        } => format!(
            "banner before the header ({}): the server does not wait for a header",
            said(first)
        ),
        Came::Banner { first, .. } => format!("banner after the header: {}", said(first)),
        Came::Tls { end, clear } => tls_words(end, clear),
        Came::Spoke {
            verdict,
            waited,
            end,
            silent,
        } => spoke_words(a, mode, verdict, *waited, *end, *silent),
    }
}

/// What came back to an attempt in a protocol, in the server's words.
fn spoke_words(
    a: &Attempt,
    mode: Mode,
    v: &crate::protocol::Verdict,
    waited: std::time::Duration,
    end: End,
    silent: bool,
) -> String {
    let p = mode.protocol();
    let q = |r: &crate::protocol::Reply| rp::plain(p, r);
    let waited = rp::seconds(waited);
    let decided = v.reply.as_ref().filter(|r| r.kind != Kind::Greeting);
    let seen = v
        .client_seen
        .map(|ip| format!(" (sees {ip})"))
        .unwrap_or_default();
    match (&v.greeting, decided) {
        (Some(g), Some(r)) => format!("{}; then {}{seen}", q(g), q(r)),
        (Some(g), None) => format!("{}{seen}", q(g)),
        (None, Some(r)) if p.server_speaks_first() => {
            format!("no greeting for {waited}, then {}", q(r))
        }
        (None, Some(r)) => format!("{}{seen}", q(r)),
        (None, None) if silent && a.finding == Finding::MissingHeader => {
            format!("no greeting for {waited}: silent, waiting for a header")
        }
        (None, None) if silent => format!("no greeting for {waited}: silent"),
        (None, None) if !a.answer.is_empty() => {
            let text = String::from_utf8_lossy(&a.answer);
            let first = text.lines().next().unwrap_or_default();
            format!("not {}: {}", p.name(), first.escape_debug())
        }
        (None, None) if a.finding == Finding::MissingHeader => format!(
            "no greeting for {waited}, then {}: waiting for a header",
            ending(end, None)
        ),
        (None, None) => format!("no greeting; {}", ending(end, None)),
    }
}

fn tls_words(end: &TlsEnd, clear: &[u8]) -> String {
    match end {
        TlsEnd::Refused(e) => format!("connection refused ({})", error_words(e.as_ref())),
        TlsEnd::ConnectTimeout => "connect timed out".into(),
        TlsEnd::ConnectError(e) | TlsEnd::Error(e) => error_words(e.as_ref()),
        TlsEnd::HandshakeOk { version, reply, .. } => {
            let text = String::from_utf8_lossy(reply);
            match text.lines().next().filter(|l| !l.is_empty()) {
                Some(line) => format!("TLS handshake ok ({version}); {line}"),
                None => format!("TLS handshake ok ({version})"),
            }
        }
        TlsEnd::Alert(a) => format!("TLS alert {a}"),
        TlsEnd::NotTls(_) if !clear.is_empty() => {
            format!("not TLS: {}", sniff::classify(clear))
        }
        TlsEnd::NotTls(m) => format!("a reply that is not TLS: {m}"),
        TlsEnd::Closed => "closed (FIN) during the handshake".into(),
        TlsEnd::Reset => "reset (RST) during the handshake".into(),
        TlsEnd::Timeout => "no TLS answer before the timeout".into(),
        TlsEnd::MaxTime => "the attempt's time limit (--max-time) came first".into(),
    }
}

/// The stable identifier of how an attempt ended (JSON `outcome`).
fn outcome(came: &Came) -> &'static str {
    match came {
        Came::NoConnection { end, .. } | Came::Nothing { end, .. } => end.code(),
        Came::Http { .. } => "http-response",
        Came::NotHttp { first, .. } if sniff::classify(first).is_tls() => "not-http-tls",
        Came::NotHttp { .. } => "data",
        Came::Banner { .. } => "banner",
        Came::Tls { end, .. } => match end {
            TlsEnd::Refused(_) => "refused",
            TlsEnd::ConnectTimeout => "connect-timeout",
            TlsEnd::ConnectError(_) | TlsEnd::Error(_) => "error",
            TlsEnd::HandshakeOk { .. } => "tls-handshake-ok",
            TlsEnd::Alert(_) => "tls-alert",
            TlsEnd::NotTls(_) => "not-tls",
            TlsEnd::Closed => "closed",
            TlsEnd::Reset => "reset",
            TlsEnd::Timeout => "timeout",
            TlsEnd::MaxTime => "max-time",
        },
        Came::Spoke { verdict, end, .. } => {
            if verdict.greeting.is_some() {
                "greeting"
            } else if verdict.reply.is_some() {
                "reply"
            } else {
                end.code()
            }
        }
    }
}

/// One attempt of the profile.
#[derive(Serialize)]
struct AttemptJson {
    kind: &'static str,
    sent: String,
    header: Option<HeaderJson>,
    header_hex: String,
    connected: bool,
    outcome: &'static str,
    reply: String,
    accepted: bool,
    client_ip: Option<String>,
    greeting: Option<ReplyJson>,
    answer: Option<ReplyJson>,
    words: Option<String>,
    finding: FindingJson,
    elapsed_ms: f64,
}

impl AttemptJson {
    fn of(a: &Attempt, mode: Mode) -> Self {
        AttemptJson {
            kind: a.kind.name(),
            sent: sent(a, mode),
            header: (!a.header.is_empty())
                .then(|| HeaderJson::new(&codec::decode_final(&a.header), &a.header)),
            header_hex: hex::encode(&a.header),
            connected: a.connected,
            outcome: outcome(&a.came),
            reply: reply(a, mode),
            accepted: a.accepted,
            client_ip: a.client.map(|ip| ip.to_string()),
            greeting: spoken(a)
                .and_then(|v| v.greeting.as_ref())
                .map(ReplyJson::of),
            answer: spoken(a)
                .and_then(|v| v.reply.as_ref().filter(|r| r.kind != Kind::Greeting))
                .map(ReplyJson::of),
            words: words(a, mode),
            finding: FindingJson::of(a.finding),
            elapsed_ms: ms(a.elapsed),
        }
    }
}

/// The verdict of an attempt in a protocol's mode.
fn spoken(a: &Attempt) -> Option<&crate::protocol::Verdict> {
    match &a.came {
        Came::Spoke { verdict, .. } => Some(verdict),
        _ => None,
    }
}

/// The attempt's finding in the server's words (a protocol's mode).
fn words(a: &Attempt, mode: Mode) -> Option<String> {
    let Came::Spoke {
        verdict,
        waited,
        end,
        ..
    } = &a.came
    else {
        return None;
    };
    let quiet = rp::Quiet {
        waited: Some(*waited),
        closed: matches!(end, End::EofAfterData | End::EofWithoutData | End::Reset),
        reset: *end == End::Reset,
    };
    rp::because(mode.protocol(), a.finding, verdict, quiet)
}

/// The `protocol` object: what was spoken, how it was chosen, the wait.
#[derive(Serialize)]
struct ProtocolJson {
    name: &'static str,
    chosen_by: &'static str,
    greeting_timeout_ms: Option<u64>,
}

impl ProtocolJson {
    fn of(p: &Probe) -> Self {
        let (chosen, wait) = match p.mode {
            Mode::Speak(s) => (s.chosen.name(), Some(s.greeting_timeout)),
            _ => (p.chosen.name(), None),
        };
        ProtocolJson {
            name: p.mode.protocol().name(),
            chosen_by: chosen,
            greeting_timeout_ms: wait.map(|w| u64::try_from(w.as_millis()).unwrap_or(u64::MAX)),
        }
    }
}

/// The `probe` JSON document (docs/json.md), pretty-printed.
pub(crate) fn json(p: &Probe) -> String {
    document(p).pretty()
}

/// The `probe` document, as `probe --watch` carries it in its lines.
pub(crate) fn document(p: &Probe) -> Doc<ProbeJson<'_>> {
    Doc::new("probe", ProbeJson::of(p))
}

/// The body of the `probe` document.
#[derive(Serialize)]
pub(crate) struct ProbeJson<'a> {
    target: TargetJson,
    mode: &'static str,
    protocol: ProtocolJson,
    attempts: Vec<AttemptJson>,
    class: &'static str,
    summary: &'static str,
    finding: FindingJson,
    spoofable: bool,
    warnings: Vec<String>,
    fixes: Vec<FixJson>,
    expect: Option<ExpectJson<'a>>,
}

impl<'a> ProbeJson<'a> {
    fn of(p: &'a Probe) -> Self {
        ProbeJson {
            target: TargetJson::from(&p.target),
            mode: p.mode.name(),
            protocol: ProtocolJson::of(p),
            attempts: p
                .attempts
                .iter()
                .map(|a| AttemptJson::of(a, p.mode))
                .collect(),
            class: p.class.name(),
            summary: p.class.summary(),
            finding: FindingJson::of(p.finding),
            spoofable: p.spoofable(),
            warnings: p.warnings.iter().map(|w| warning(*w, p)).collect(),
            fixes: FixJson::list(&p.finding.fixes_for(case(p)), case(p)),
            expect: p.checked.as_ref().map(|c| ExpectJson::of(p, c)),
        }
    }
}

/// The `expect` object: what was asked and how it went.
#[derive(Serialize)]
struct ExpectJson<'a> {
    forms: Vec<&'static str>,
    class_met: Option<bool>,
    body: Option<LookJson<BodyJson<'a>>>,
    client_ip: Option<LookJson<ClientIpJson>>,
    met: bool,
}

/// One `--expect-body`/`--expect-client-ip` result: met, the attempts whose
/// answers were looked at (those accepted with a PROXY header), the first
/// that missed, then what was asked.
#[derive(Serialize)]
struct LookJson<T> {
    met: bool,
    searched: Vec<&'static str>,
    missed: Option<&'static str>,
    #[serde(flatten)]
    asked: T,
}

#[derive(Serialize)]
struct BodyJson<'a> {
    pattern: &'a Option<String>,
}

#[derive(Serialize)]
struct ClientIpJson {
    allowed: Vec<String>,
    /// The address the first miss saw (only when one missed).
    #[serde(skip_serializing_if = "Option::is_none")]
    found: Option<Option<String>>,
}

impl<T> LookJson<T> {
    fn of(p: &Probe, look: &Look, asked: T) -> Self {
        let searched = p
            .attempts
            .iter()
            .filter(|a| a.served_with_header())
            .map(|a| a.kind.name())
            .collect();
        let missed = match look {
            Look::Missed(kind) => Some(kind.name()),
            Look::Met(_) | Look::NothingServed => None,
        };
        LookJson {
            met: look.met(),
            searched,
            missed,
            asked,
        }
    }
}

impl<'a> ExpectJson<'a> {
    fn of(p: &'a Probe, c: &'a Checked) -> Self {
        let body = c.body.as_ref().map(|look| {
            LookJson::of(
                p,
                look,
                BodyJson {
                    pattern: &c.asked.body,
                },
            )
        });
        let client_ip = c.client_ip.as_ref().map(|look| {
            let found = match look {
                Look::Missed(kind) => Some(
                    p.attempt(*kind)
                        .and_then(|a| a.client)
                        .map(|ip| ip.to_string()),
                ),
                _ => None,
            };
            let allowed = c.asked.client_ip.iter().map(|n| n.to_string()).collect();
            LookJson::of(p, look, ClientIpJson { allowed, found })
        });
        ExpectJson {
            forms: c.asked.forms.iter().map(|f| f.name()).collect(),
            class_met: c.forms,
            body,
            client_ip,
            met: c.met(),
        }
    }
}

/// At most this many bytes of a body are quoted in a message.
const QUOTED: usize = 80;

/// The start of an attempt's body, escaped, for a message.
fn quoted_body(a: &Attempt) -> String {
    let body = a.body();
    let shown = body[..body.len().min(QUOTED)].escape_ascii().to_string();
    let more = if body.len() > QUOTED { "..." } else { "" };
    format!("\"{shown}\"{more}")
}

/// The lines (without the `ppctl: ` prefix) that say which expectation was
/// not met and what was found instead; empty when all were met.
pub(crate) fn unmet(p: &Probe, c: &Checked) -> Vec<String> {
    let mut out = Vec::new();
    if c.forms == Some(false) {
        let forms: Vec<&str> = c.asked.forms.iter().map(|f| f.name()).collect();
        out.push(format!(
            "expected {}, found {}",
            forms.join(" or "),
            p.class.name()
        ));
    }
    let nothing = |what: &str| {
        format!(
            "{what}: no attempt was accepted with a PROXY header (the endpoint is {}), so there is no answer to look at",
            p.class.name()
        )
    };
    if let (Some(look), Some(pattern)) = (&c.body, &c.asked.body) {
        match look {
            Look::Met(_) => {}
            Look::NothingServed => out.push(nothing("--expect-body")),
            Look::Missed(kind) => {
                let Some(a) = p.attempt(*kind) else {
                    return out;
                };
                let start = if a.body().is_empty() {
                    "it is empty".to_string()
                } else {
                    format!("it starts {}", quoted_body(a))
                };
                out.push(format!(
                    "--expect-body: the body of the answer to the {} attempt does not contain {pattern:?} (a plain substring of its first {} bytes); {start}",
                    kind.name(),
                    MAX_REPLY,
                ));
            }
        }
    }
    if let Some(look) = &c.client_ip {
        let allowed: Vec<String> = c.asked.client_ip.iter().map(|n| n.to_string()).collect();
        match look {
            Look::Met(_) => {}
            Look::NothingServed => out.push(nothing("--expect-client-ip")),
            Look::Missed(kind) => {
                let Some(a) = p.attempt(*kind) else {
                    return out;
                };
                out.push(match a.client {
                    Some(ip) => format!(
                        "--expect-client-ip: the receiver reported client {ip} to the {} attempt, which is not in {}",
                        kind.name(),
                        allowed.join(", ")
                    ),
                    None => format!(
                        "--expect-client-ip: the answer to the {} attempt names no client address (a whoami page says `remote_addr (realip): IP` or `remote_addr=IP`); its body starts {}",
                        kind.name(),
                        quoted_body(a)
                    ),
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;
    use std::time::Duration;

    use super::*;
    use crate::codec::encode::HeaderSpec;
    use crate::codec::Version;

    /// A probe of a plain HTTP receiver (no PROXY support), fixed.
    fn fixture() -> Probe {
        let local: SocketAddr = "127.0.0.1:50000".parse().expect("addr");
        let peer: SocketAddr = "127.0.0.1:8080".parse().expect("addr");
        let attempt = |kind, header: Vec<u8>, status, finding| Attempt {
            kind,
            local: Some(local),
            peer: Some(peer),
            header,
            connected: true,
            came: Came::Http {
                status,
                reason: if status == 200 { "OK" } else { "Bad Request" }.into(),
            },
            accepted: status != 400,
            answer: format!("HTTP/1.1 {status} x\r\n\r\nremote_addr=127.0.0.1\n").into_bytes(),
            client: (status == 200).then(|| local.ip()),
            finding,
            elapsed: Duration::from_millis(1),
        };
        let v1 = HeaderSpec::tcp(Version::V1, local, peer)
            .encode()
            .expect("v1");
        let v2 = HeaderSpec::tcp(Version::V2, local, peer)
            .encode()
            .expect("v2");
        let v2l = HeaderSpec::local().encode().expect("local");
        Probe {
            target: "127.0.0.1:8080".parse().expect("target"),
            mode: Mode::Http,
            chosen: crate::protocol::Chosen::Default,
            attempts: vec![
                attempt(HeaderKind::None, Vec::new(), 200, Finding::Plain),
                attempt(HeaderKind::V1, v1, 400, Finding::UnexpectedHeader),
                attempt(HeaderKind::V2, v2, 400, Finding::UnexpectedHeader),
                attempt(HeaderKind::V2Local, v2l, 400, Finding::FailedHealthCheck),
            ],
            class: Class::NoHeader,
            finding: Finding::UnexpectedHeader,
            warnings: Vec::new(),
            checked: None,
        }
    }

    fn style(width: u16, color: bool) -> Style {
        Style {
            color,
            width,
            unicode: color,
        }
    }

    fn strip(s: &str) -> String {
        let mut out = String::new();
        let mut esc = false;
        for c in s.chars() {
            match (esc, c) {
                (false, '\u{1b}') => esc = true,
                (true, 'm') => esc = false,
                (true, _) => {}
                (false, c) => out.push(c),
            }
        }
        out
    }

    #[test]
    fn human_snapshots() {
        colored::control::set_override(true);
        let p = fixture();
        insta::assert_snapshot!("probe_80_plain", human(&p, style(80, false)));
        insta::assert_snapshot!("probe_120_plain", human(&p, style(120, false)));
        insta::assert_snapshot!("probe_80_color", human(&p, style(80, true)));
        insta::assert_snapshot!("probe_120_color", human(&p, style(120, true)));
    }

    #[test]
    fn json_snapshot() {
        insta::assert_snapshot!("probe_json", json(&fixture()));
    }

    #[test]
    fn table_lines_align_with_colour_and_fit_the_width() {
        colored::control::set_override(true);
        for width in [80u16, 120] {
            for color in [false, true] {
                let text = strip(&human(&fixture(), style(width, color)));
                let rows: Vec<usize> = text
                    .lines()
                    .filter(|l| l.starts_with(['+', '|', '┌', '│', '├', '╞', '└']))
                    .map(unicode_width::UnicodeWidthStr::width)
                    .collect();
                assert!(rows.len() > 4, "{text}");
                assert!(rows.iter().all(|w| *w == rows[0]), "{rows:?}\n{text}");
                assert!(rows[0] <= usize::from(width), "{text}");
            }
        }
    }

    #[test]
    fn the_seed_failure_is_named_with_its_code() {
        let text = human(&fixture(), Style::plain());
        assert!(
            text.contains("unexpected-header (PP-UNEXPECTED-HEADER)"),
            "{text}"
        );
        let j = serde_json::to_value(document(&fixture())).expect("a document");
        assert_eq!(j["type"], "probe");
        assert_eq!(j["attempts"][1]["finding"]["code"], "PP-UNEXPECTED-HEADER");
        assert_eq!(j["attempts"][1]["header"]["version"], 1);
        assert_eq!(j["finding"]["name"], "unexpected-header");
    }
}
