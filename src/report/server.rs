//! The one view of `listen` and `relay` (a server, whatever it does after
//! the header stage): the `listening` line, one line per connection and
//! the summary, as text or as JSON Lines (docs/json.md), built from the
//! server core's typed records. Every event a record carries is said in
//! words here, and only here.
//!
//! A service's own part of a line comes from its [`View`]: the stand-in's
//! (`listen`) and the relay's.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::SocketAddr;

use serde::Serialize;

use super::finding::{self, FindingJson, FixJson};
use super::json::{self, ms, Counts, Doc, EndpointJson, HeaderJson, SniffJson};
use super::protocol as rp;
use super::{hexdump, sender, table, Style};
use crate::judge::fixes::Case;
use crate::judge::{Ending, Finding};
use crate::protocol::{Protocol, Selection};
use crate::relay::record::{Event as RelayEvent, Unconnected};
use crate::relay::{Accept, Relayed, SendMode};
use crate::server::conn::WriteFailed;
use crate::server::record::{Awaited, Event};
use crate::server::standin::talk::{TalkEnd, Talked};
use crate::server::standin::{nginx, Answered, Data, Event as StandinEvent, Mode, SentBack};
use crate::server::text;
use crate::server::tls::{Identity, Refused, TlsSeen};
use crate::server::{HeaderSeen, IpProtocol, Record, Summary};

/// How many bytes of unrecognised data a line shows.
pub(crate) const DATA_SHOWN: usize = 64;

/// One JSON line (with its newline).
pub(crate) fn line<T: Serialize>(v: &T) -> String {
    let mut s = serde_json::to_string(v).unwrap_or_default();
    s.push('\n');
    s
}

/// What a service adds to the server's lines.
pub(crate) trait View: Sized {
    /// One `connection` JSON line.
    fn json(rec: &Record<Self>) -> String;
    /// The human line of a connection (and its detail lines).
    fn human(rec: &Record<Self>, style: Style) -> String;
    /// The `summary` JSON line.
    fn summary_json(s: &Summary) -> String;
    /// The human summary.
    fn summary_human(s: &Summary, style: Style) -> String;
}

/// A connection's line: JSON, or text for a human.
pub(crate) fn connection<T: View>(rec: &Record<T>, json: bool, style: Style) -> String {
    if json {
        T::json(rec)
    } else {
        T::human(rec, style)
    }
}

/// The summary: JSON, or text for a human.
pub(crate) fn summary<T: View>(s: &Summary, json: bool, style: Style) -> String {
    if json {
        T::summary_json(s)
    } else {
        T::summary_human(s, style)
    }
}

// ---------------------------------------------------------------- listening

/// What the first line says besides the addresses.
pub(crate) enum Serving<'a> {
    Listen {
        mode: Mode,
        tls: Option<&'a Identity>,
        /// `--protocol`: the protocol stand-in, when not HTTP's.
        protocol: Option<Protocol>,
    },
    Relay {
        upstream: &'a [SocketAddr],
        accept: Accept,
        send: SendMode,
        /// `--protocol`, when given.
        protocol: Option<Selection>,
    },
}

#[derive(Serialize)]
struct ListeningJson<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    schema: u32,
    transport: &'static str,
    addresses: Vec<EndpointJson>,
    #[serde(skip_serializing_if = "Option::is_none")]
    mode: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    upstream: Option<Vec<EndpointJson>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    accept: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    send: Option<&'static str>,
    /// listen's stand-in protocol; relay's `--protocol`.
    #[serde(skip_serializing_if = "Option::is_none")]
    protocol: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tls: Option<IdentityJson<'a>>,
    /// `--metrics`: where `/metrics` is served.
    #[serde(skip_serializing_if = "Option::is_none")]
    metrics: Option<Vec<EndpointJson>>,
}

/// `--tls`: the certificate served.
#[derive(Serialize)]
struct IdentityJson<'a> {
    generated: bool,
    names: &'a [String],
    sha256: &'a str,
    pem: &'a str,
}

fn endpoints(addrs: &[SocketAddr]) -> Vec<EndpointJson> {
    addrs.iter().map(|&a| EndpointJson::inet(a)).collect()
}

fn addresses(addrs: &[SocketAddr]) -> String {
    let all: Vec<String> = addrs.iter().map(|a| a.to_string()).collect();
    all.join(" ")
}

/// The first line: where the server listens (and, for a human, what
/// answers there).
pub(crate) fn listening(
    transport: IpProtocol,
    addrs: &[SocketAddr],
    serving: &Serving<'_>,
    metrics: &[SocketAddr],
    json: bool,
    style: Style,
) -> String {
    let mut out = first_line(transport, addrs, serving, metrics, json, style);
    if !json {
        for a in metrics {
            out.push_str(&format!("metrics on http://{a}/metrics\n"));
        }
    }
    out
}

fn first_line(
    transport: IpProtocol,
    addrs: &[SocketAddr],
    serving: &Serving<'_>,
    metrics: &[SocketAddr],
    json: bool,
    style: Style,
) -> String {
    if json {
        let mut j = ListeningJson {
            kind: "listening",
            schema: crate::JSON_SCHEMA,
            transport: transport.name(),
            addresses: endpoints(addrs),
            mode: None,
            protocol: None,
            upstream: None,
            accept: None,
            send: None,
            tls: None,
            metrics: (!metrics.is_empty()).then(|| endpoints(metrics)),
        };
        match serving {
            Serving::Listen {
                mode,
                tls,
                protocol,
            } => {
                j.mode = Some(mode.name());
                j.protocol = protocol.map(Protocol::name);
                j.tls = tls.map(|id| IdentityJson {
                    generated: id.generated,
                    names: &id.names,
                    sha256: &id.fingerprint,
                    pem: &id.pem,
                });
            }
            Serving::Relay {
                upstream,
                accept,
                send,
                protocol,
            } => {
                j.upstream = Some(endpoints(upstream));
                j.accept = Some(accept.name());
                j.send = Some(send.name());
                j.protocol = protocol.map(Selection::name);
            }
        }
        return line(&j);
    }
    match serving {
        Serving::Listen {
            mode,
            tls,
            protocol,
        } => {
            let what = protocol.map_or(String::new(), |p| format!("{}, ", p.name()));
            let mut out = format!(
                "listening on {} ({}, {what}proxy-protocol {})\n",
                addresses(addrs),
                transport.name(),
                mode.name()
            );
            if let Some(id) = tls {
                out.push_str(&identity_human(id));
            }
            match protocol {
                Some(p) => out.push_str(&talk_stand_in_human(*p, style)),
                None if transport == IpProtocol::Tcp => out.push_str(&stand_in_human(style)),
                None => {}
            }
            out
        }
        Serving::Relay {
            upstream,
            accept,
            send,
            protocol,
        } => {
            // Wrapped at spaces to the width, never inside an address.
            let head = format!("listening on {}", addresses(addrs));
            let spoken = protocol.map_or(String::new(), |p| format!(", protocol {}", p.name()));
            let setting = format!(
                "({}, relay to {}, accept {}, send {}{spoken})",
                transport.name(),
                addresses(upstream),
                accept.name(),
                send.name()
            );
            if head.chars().count() + 1 + setting.chars().count() <= usize::from(style.width) {
                format!("{head} {setting}\n")
            } else {
                format!("{head}\n{}\n", table::fill(style, "  ", "  ", &setting))
            }
        }
    }
}

/// What answers: ppctl copying nginx, which a client's view (`Server:
/// nginx/1.22.1` on a 400) would take for nginx itself.
fn stand_in_human(style: Style) -> String {
    let text = format!(
        "stand-in: ppctl, not nginx: it copies nginx {}'s answers and log lines (its 400 page says `Server: {}`); served requests get its whoami page",
        nginx::SERVER.trim_start_matches("nginx/"),
        nginx::SERVER
    );
    table::wrap(style, &text, 2) + "\n"
}

/// What answers with `--protocol`: ppctl copying Postfix, Dovecot or
/// MariaDB (recorded), and where it names the client.
fn talk_stand_in_human(p: Protocol, style: Style) -> String {
    let (server, names) = match p {
        Protocol::Smtp => (
            "Postfix 3.7's smtpd",
            "its 250 answer to EHLO names the client",
        ),
        Protocol::Imap => ("Dovecot 2.3's imap-login", "its greeting names the client"),
        Protocol::Pop3 => ("Dovecot 2.3's pop3-login", "its greeting names the client"),
        _ => ("MariaDB 10.11", "its error to a login names the client"),
    };
    let text = format!(
        "stand-in: ppctl, not {server}: it copies its replies as recorded (docs/protocols.md); {names}"
    );
    table::wrap(style, &text, 2) + "\n"
}

/// `--tls`: the lines after `listening on`: what certificate, and its
/// fingerprint to compare with what a client sees.
fn identity_human(id: &Identity) -> String {
    let what = if id.generated {
        format!(
            "tls: a self-signed certificate made now for {}",
            id.names.join(", ")
        )
    } else {
        "tls: the certificate of --cert".to_string()
    };
    format!("{what}\ntls: SHA-256 {}\n", id.fingerprint)
}

// ------------------------------------------------------------------- events

/// Whether an event is something that went wrong, or a remark.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Error,
    Note,
}

/// An event in words: most are fixed sentences, said on every connection's
/// line with no copy (listen's note is one), the rest built.
type Said = Cow<'static, str>;

fn duration(d: std::time::Duration) -> String {
    crate::duration::show(d)
}

fn awaited(a: Awaited) -> &'static str {
    match a {
        Awaited::Header => "PROXY header",
        Awaited::FirstRequest => "first request",
    }
}

/// What every server says of a connection, in words.
fn said(e: &Event) -> (Kind, Said) {
    use Kind::{Error, Note};
    match e {
        Event::NoHeader { first } => (
            Error,
            format!(
                "no PROXY header: the first bytes look like {}",
                crate::sniff::classify(first)
            ).into(),
        ),
        Event::PeerIsClient => (Note, "no PROXY header: the peer is the client".into()),
        Event::InvalidHeader(e) => (
            Error,
            format!(
                "invalid header at byte {}: {}; {}",
                e.offset,
                e.kind,
                e.kind.hint()
            ).into(),
        ),
        Event::TooLarge { announced, max } => (
            Error,
            format!(
                "v2 header announces {announced} bytes, more than --max-header {max}; raise --max-header if the sender is legitimate"
            ).into(),
        ),
        Event::HeaderTimedOut {
            limit,
            got,
            awaited: a,
        } => (
            Error,
            format!(
                "no complete {} within --header-timeout {} ({got} bytes arrived); a server-speaks-first protocol, or a sender that sends no header",
                awaited(*a),
                duration(*limit)
            ).into(),
        ),
        Event::StoppedInHeader { got, awaited: a } => (
            Error,
            format!(
                "the server stopped while waiting for the {} ({got} bytes arrived)",
                awaited(*a)
            ).into(),
        ),
        Event::ClosedEarly { got, fault } => {
            let cause = match fault {
                Some(f) => format!("connection error ({})", f.error()),
                None => "the client closed".to_string(),
            };
            let text = if *got == 0 {
                format!("{cause} before sending anything (a TCP health check?)")
            } else {
                format!("{cause} after {got} bytes of an incomplete header")
            };
            (Error, text.into())
        }
        Event::Untrusted {
            peer,
            trust,
            rejected,
        } => {
            let list: Vec<String> = trust.iter().map(|n| n.to_string()).collect();
            let head = format!("header from {peer} which is not in --trust {}", list.join(","));
            if *rejected {
                (Error, format!("{head}: rejected").into())
            } else {
                (Note, format!("{head}: ignored, the peer is the client").into())
            }
        }
        Event::Local => (
            Note,
            "LOCAL header (a health check): the socket's addresses stand".into(),
        ),
        Event::AnyPeer => (
            Note,
            "accepted from any peer: any client could forge it; use --trust CIDR".into(),
        ),
        Event::V1Datagram => (
            Note,
            "a v1 header in a datagram: the spec defines UDP for v2 only".into(),
        ),
        Event::Unwatched(f) => (
            Error,
            format!("could not watch the connection: {}", f.error()).into(),
        ),
    }
}

/// Why a write did not go out, in words.
fn unsent(w: &WriteFailed) -> String {
    match w {
        WriteFailed::Io(f) => f.error().to_string(),
        WriteFailed::Idle(limit) => {
            format!(
                "the peer read nothing for --idle-timeout {}",
                duration(*limit)
            )
        }
        WriteFailed::Stopped => "the server stopped".into(),
    }
}

/// How a TLS handshake was refused, in words.
fn refused(r: &Refused) -> String {
    match r {
        Refused::NotTls(e) => format!("the client's bytes are not TLS ({e})"),
        Refused::Alert(a) => format!("the client sent the alert {a}"),
        Refused::Closed => "the client closed the connection".into(),
        Refused::Timeout => "no complete ClientHello before the timeout".into(),
        Refused::Unwatched(f) => format!("could not watch the connection: {}", f.error()),
        Refused::Other(e) => e.clone(),
    }
}

/// What the HTTP stand-in says, in words (`tls`: the handshake's end).
fn said_by_standin(e: &StandinEvent, tls: Option<&TlsSeen>) -> (Kind, Said) {
    use Kind::{Error, Note};
    use StandinEvent as E;
    match e {
        E::Unexpected { tls: true } => (Error, "a PROXY header reached a TLS port without PROXY protocol: nginx `listen … ssl` reads it as a plain HTTP request line and answers 400 Bad Request in clear, so the TLS handshake behind it fails".into()),
        E::Unexpected { tls: false } => (Error, "a PROXY header reached a receiver that does not expect one: nginx answers 400 Bad Request".into()),
        E::ReplyFailed(w) => (Error, format!("could not send the reply: {}", unsent(w)).into()),
        E::PlainHttpOnTls => (Error, "plain HTTP on a TLS port: nginx answers 400 The plain HTTP request was sent to HTTPS port".into()),
        E::HandshakeFailed => {
            let why = match tls {
                Some(TlsSeen::Refused(r)) => refused(r),
                _ => "unknown".into(),
            };
            (Error, format!("TLS handshake failed: {why}").into())
        }
        E::HelloOnPlainPort => (Error, "a TLS ClientHello on a port that serves no TLS: the client (or the load balancer) speaks TLS here; serve TLS on this port (listen --tls, nginx `listen … ssl`) or send plain HTTP".into()),
        E::HeaderInsideTls => (Error, "a PROXY header arrived inside TLS, after the handshake: the sender starts TLS first and sends the header in it".into()),
        E::HeadTooLarge { cap } => (Error, format!("request head larger than {cap} bytes; closed").into()),
        E::RequestTimedOut { limit, got } => (Note, format!(
            "no complete request head within --request-timeout {} ({got} bytes arrived); closed",
            duration(*limit)
        ).into()),
        E::IdleInRequest { limit, got } => (Note, format!(
            "idle timeout waiting for the request (--idle-timeout {}, {got} bytes arrived); closed",
            duration(*limit)
        ).into()),
        E::StoppedInRequest => (Note, "the server stopped before the request was complete".into()),
        E::NoClientHello => (Note, "no ClientHello before the timeout; closed".into()),
        E::ClosedInRequest => (Note, "the client closed in the middle of the request".into()),
        E::NotHttp => (Note, "not HTTP: logged and closed (--echo echoes it)".into()),
        E::EchoIdle { limit } => (Note, format!(
            "echo: nothing arrived for --idle-timeout {}; closed",
            duration(*limit)
        ).into()),
        E::EchoFailed(w) => (Note, format!("echo: {}; closed", unsent(w)).into()),
    }
}

/// What the relay says, in words.
fn said_by_relay(e: &RelayEvent) -> String {
    use RelayEvent as E;
    match e {
        E::OtherVersion { version, accept } => format!(
            "a v{version} header, but --accept {} takes only {}: closed, as a receiver of the other version would",
            accept.name(),
            accept.name()
        ),
        E::StoppedConnecting => "the relay stopped while connecting upstream".into(),
        E::ConnectFailed { addr: None, .. } => "no upstream address; the client was closed".into(),
        E::ConnectFailed {
            addr: Some(addr),
            how,
        } => match how {
            Unconnected::Refused => {
                format!("upstream {addr} refused the connection; the client was closed")
            }
            Unconnected::Failed(f) => {
                format!("upstream {addr}: {}; the client was closed", f.error())
            }
            Unconnected::LocalLimit(f) => format!(
                "no file descriptor on this host to connect to upstream {addr} ({}); the client was closed: raise ulimit -n or lower --max-conns",
                f.error()
            ),
            Unconnected::TimedOut(limit) => format!(
                "upstream {addr}: no connection within --connect-timeout {}; the client was closed",
                duration(*limit)
            ),
        },
        E::BuildFailed(e) => format!("can't build the header to send: {e}"),
        E::UpstreamGone(f) => format!(
            "upstream went away before the header was written ({})",
            f.error()
        ),
        E::UpstreamReset { taken: Some(n) } if *n > crate::judge::MID_STREAM => format!(
            "upstream reset the connection after it had taken {} of the stream (the header went through: a refusal comes before the data is read); the client was closed",
            size(*n)
        ),
        E::UpstreamReset { .. } => "upstream reset the connection; the client was closed".into(),
        E::Idle { limit } => format!(
            "no byte either way for --idle-timeout {}; both sides were closed",
            duration(*limit)
        ),
        E::RequestTimedOut { limit, got } => format!(
            "no complete first request within --request-timeout {} ({got} bytes of it came); both sides were closed",
            duration(*limit)
        ),
    }
}

/// The texts of one kind, joined (`None` without any).
fn joined(all: impl Iterator<Item = (Kind, Said)>, kind: Kind) -> Option<String> {
    let texts: Vec<Said> = all.filter(|(k, _)| *k == kind).map(|(_, t)| t).collect();
    (!texts.is_empty()).then(|| texts.join("; "))
}

// ------------------------------------------------------------------- shared

/// `HH:MM:SS.mmm` of the accept time.
fn clock(rec_time: std::time::SystemTime) -> String {
    let mut time = String::with_capacity(12);
    crate::server::clock::push_time_of_day(&mut time, rec_time);
    time
}

/// `text` in `paint`'s tone; with no colour, the text as it is (no copy).
fn push_painted(out: &mut String, style: Style, text: &str, paint: fn(&Style, &str) -> String) {
    if style.color {
        out.push_str(&paint(&style, text));
    } else {
        out.push_str(text);
    }
}

/// What `write` writes, dimmed; with no colour, written straight into
/// `out` (no String for the piece).
fn push_dimmed(out: &mut String, style: Style, write: impl FnOnce(&mut String)) {
    push_toned(out, style, Style::dim, write);
}

/// What `write` writes, in `paint`'s tone; with no colour, written
/// straight into `out` (no String for the piece).
fn push_toned(
    out: &mut String,
    style: Style,
    paint: fn(&Style, &str) -> String,
    write: impl FnOnce(&mut String),
) {
    if style.color {
        let mut piece = String::new();
        write(&mut piece);
        out.push_str(&paint(&style, &piece));
    } else {
        write(out);
    }
}

/// [`named`], written in place.
fn push_named(out: &mut String, f: Finding, style: Style) {
    if style.color {
        out.push_str(&named(f, style));
    } else {
        out.push_str(f.name());
        out.push_str(" (");
        out.push_str(f.code());
        out.push(')');
    }
}

/// An address as [`EndpointJson::inet`] shows it (`a.b.c.d:port`,
/// `[v6]:port`), written in place.
fn push_endpoint(out: &mut String, a: SocketAddr) {
    if a.is_ipv6() {
        out.push('[');
        text::push_ip(out, a.ip());
        out.push(']');
    } else {
        text::push_ip(out, a.ip());
    }
    out.push(':');
    text::push_decimal(out, u64::from(a.port()));
}

/// `name (CODE)` in the finding's tone.
fn named(f: Finding, style: Style) -> String {
    finding::paint(
        style,
        &format!("{} ({})", f.name(), f.code()),
        finding::tone(f),
    )
}

/// The header view (the inspect schema).
fn header_json(h: Option<&HeaderSeen>) -> Option<HeaderJson> {
    h.map(|h| HeaderJson::new(&h.decode(), &h.bytes))
}

/// An indented `label: prose` detail line, wrapped to the width, written
/// into `out`.
fn push_detail(out: &mut String, style: Style, label: &str, text: &str, bad: bool) {
    let narrower = Style {
        width: style.width.saturating_sub(4),
        ..style
    };
    // One line without colour (a listen note, on every connection's line):
    // written in place, as the wrap below would leave it.
    let one_line = !style.color
        && memchr::memchr2(b'\n', b'\r', text.as_bytes()).is_none()
        && table::fits(
            text,
            usize::from(narrower.width)
                .max(40)
                .saturating_sub(label.len() + 2),
        );
    if one_line {
        out.push_str("    ");
        out.push_str(label);
        out.push_str(": ");
        out.push_str(text);
        out.push('\n');
        return;
    }
    let wrapped = table::wrap(narrower, &format!("{label}: {text}"), 4);
    for l in wrapped.lines() {
        let l = if bad { style.bad(l) } else { l.to_string() };
        let _ = writeln!(out, "    {l}");
    }
}

/// Counts per finding, in docs/verdicts.md order.
/// The `summary` line of every server: the counts the core keeps, the
/// service's own (`T`: listen's versions, relay's bytes), and the sender's
/// grades with `--conform`.
#[derive(Serialize)]
struct SummaryJson<'a, T> {
    connections: u64,
    findings: Counts<'a, Finding>,
    pairings: Counts<'a, Finding>,
    #[serde(flatten)]
    own: T,
    interrupted: bool,
    accept_failures: Counts<'a, Finding>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sender: Option<sender::TallyJson>,
}

fn summary_line<T: Serialize>(s: &Summary, own: T) -> String {
    let failed = accept_failures(s);
    Doc::new(
        "summary",
        SummaryJson {
            connections: s.connections,
            findings: Counts(&s.findings),
            pairings: Counts(&s.pairings),
            own,
            interrupted: s.interrupted,
            accept_failures: Counts(&failed),
            sender: sender::summary_json(s.sender.as_ref()),
        },
    )
    .line()
}

/// The summary's first words, then each problem (and warning) seen with
/// its meaning and fixes.
fn summary_text(s: &Summary, head: String, style: Style) -> String {
    let mut out = head;
    out.push('\n');
    if s.out_of_descriptors > 0 {
        let text = format!(
            "accept: no file descriptor left, {} time(s) ({}): clients waited in the backlog, each try {}ms after the last; raise ulimit -n or lower --max-conns",
            s.out_of_descriptors,
            Finding::LocalLimit.name(),
            crate::server::ACCEPT_BACKOFF.as_millis()
        );
        let _ = writeln!(
            out,
            "{}",
            style.bad(&table::fill(style, "  ", "    ", &text))
        );
    }
    out.push_str(&sender::summary_human(s.sender.as_ref(), style));
    let case = |f| Case {
        protocol: s.protocols.get(&f).copied(),
        ..Case::default()
    };
    // The connections' findings, then the server's own (an accept out of
    // descriptors is local-limit), each explained once.
    let server = s.server_findings().filter(|f| !s.findings.contains_key(f));
    let seen = s
        .findings
        .keys()
        .chain(s.pairings.keys())
        .chain(server.as_ref());
    out.push_str(&finding::explain_worth(seen, case, style));
    out
}

/// The summary's `accept_failures`: failed accepts by finding
/// (`local-limit`), only those that happened.
fn accept_failures(s: &Summary) -> BTreeMap<Finding, u64> {
    s.server_findings()
        .map(|f| (f, s.out_of_descriptors))
        .into_iter()
        .collect()
}

// ------------------------------------------------------------------ listen

#[derive(Serialize)]
struct ListenJson<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    schema: u32,
    id: u64,
    time: String,
    transport: &'static str,
    peer: EndpointJson,
    local: EndpointJson,
    mode: &'static str,
    finding: FindingJson,
    fixes: Vec<FixJson>,
    pairing: Option<FindingJson>,
    spoofable: bool,
    trusted: bool,
    header: Option<HeaderJson>,
    client: EndpointJson,
    error: Option<String>,
    log: Option<String>,
    note: Option<String>,
    request: Option<&'a str>,
    data: Option<DataJson>,
    reply: &'static str,
    bytes_in: u64,
    elapsed_ms: f64,
    matched: Option<bool>,
    tls: Option<TlsJson<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    talk: Option<TalkJson>,
    /// `--conform`: the sender's tests graded on this connection.
    #[serde(skip_serializing_if = "Option::is_none")]
    sender: Option<Vec<sender::CheckJson>>,
}

/// `--protocol`: what the protocol stand-in heard and said.
#[derive(Serialize)]
struct TalkJson {
    protocol: &'static str,
    greeted: bool,
    /// The commands read, as text (escaped as nginx logs bytes).
    heard: Vec<String>,
    /// Each reply sent, in the server's words.
    said: Vec<String>,
    end: &'static str,
}

impl TalkJson {
    fn of(t: &Talked) -> Self {
        TalkJson {
            protocol: t.protocol.name(),
            greeted: t.greeted,
            heard: heard(t),
            said: talk_said(t),
            end: talk_end_name(&t.end),
        }
    }
}

/// The commands a protocol stand-in read, escaped.
fn heard(t: &Talked) -> Vec<String> {
    t.heard.iter().map(|h| nginx::escape(h)).collect()
}

/// The replies a protocol stand-in sent, in its words (a MySQL packet's
/// message, a reply's first line).
fn talk_said(t: &Talked) -> Vec<String> {
    t.protocol
        .replies(&t.said)
        .into_iter()
        .map(|r| match r.code {
            Some(code) if t.protocol == Protocol::Mysql => format!("ERROR {code}: {}", r.words),
            _ => r.words,
        })
        .collect()
}

fn talk_end_name(e: &TalkEnd) -> &'static str {
    match e {
        TalkEnd::NotBegun => "not-begun",
        TalkEnd::Hungup(crate::protocol::standin::Hangup::Quit) => "quit",
        TalkEnd::Hungup(crate::protocol::standin::Hangup::Refused) => "server-closed",
        TalkEnd::ClientClosed => "client-closed",
        TalkEnd::Idle(_) => "idle",
        TalkEnd::TooLong(_) => "too-long",
        TalkEnd::Stopped => "stopped",
        TalkEnd::ReplyFailed(_) => "reply-failed",
    }
}

/// How a protocol stand-in's session ended, as a note (or an error).
fn talk_end_said(t: &Talked) -> Option<(Kind, Said)> {
    use crate::protocol::standin::Hangup;
    let text = match &t.end {
        TalkEnd::NotBegun | TalkEnd::ClientClosed => return None,
        TalkEnd::Hungup(Hangup::Quit) => "the client said goodbye; closed".into(),
        TalkEnd::Hungup(Hangup::Refused) => {
            "the server ended the session after its reply, as the real one does".into()
        }
        TalkEnd::Idle(limit) => format!(
            "nothing arrived for --idle-timeout {}; closed",
            duration(*limit)
        )
        .into(),
        TalkEnd::TooLong(n) => format!("a command longer than {n} bytes; closed").into(),
        TalkEnd::Stopped => "the server stopped during the session".into(),
        TalkEnd::ReplyFailed(w) => {
            return Some((
                Kind::Error,
                format!("could not send the reply: {}", unsent(w)).into(),
            ))
        }
    };
    Some((Kind::Note, text))
}

#[derive(Serialize)]
struct DataJson {
    length: usize,
    hex: String,
    looks_like: SniffJson,
}

impl DataJson {
    fn of(d: &Data) -> Self {
        DataJson {
            length: d.length,
            hex: hex::encode(&d.kept[..d.kept.len().min(DATA_SHOWN)]),
            looks_like: SniffJson {
                length: d.length,
                ..SniffJson::of(&d.kept)
            },
        }
    }
}

#[derive(Serialize)]
#[serde(tag = "result", rename_all = "lowercase")]
enum TlsJson<'a> {
    Done {
        sni: Option<&'a str>,
        alpn: Option<&'a str>,
        version: &'a str,
        cipher: &'a str,
    },
    Failed {
        failure: &'static str,
        error: String,
    },
}

impl<'a> TlsJson<'a> {
    fn of(t: &'a TlsSeen) -> Self {
        match t {
            TlsSeen::Done(f) => TlsJson::Done {
                sni: f.sni.as_deref(),
                alpn: f.alpn.as_deref(),
                version: &f.version,
                cipher: &f.cipher,
            },
            TlsSeen::Refused(r) => TlsJson::Failed {
                failure: r.kind(),
                error: refused(r),
            },
        }
    }
}

/// Everything a stand-in's record says, in order, in words.
fn listen_said(rec: &Record<Answered>) -> impl Iterator<Item = (Kind, Said)> + '_ {
    let tls = rec.service.tls.as_ref();
    rec.events
        .iter()
        .map(said)
        .chain(
            rec.service
                .events
                .iter()
                .map(move |e| said_by_standin(e, tls)),
        )
        .chain(rec.service.talk.as_ref().and_then(talk_end_said))
}

impl View for Answered {
    fn json(rec: &Record<Self>) -> String {
        let a = &rec.service;
        line(&ListenJson {
            kind: "connection",
            schema: crate::JSON_SCHEMA,
            id: rec.id,
            time: json::time(rec.time),
            transport: rec.transport.name(),
            peer: EndpointJson::inet(rec.peer),
            local: EndpointJson::inet(rec.local),
            mode: a.mode.name(),
            finding: FindingJson::of(rec.finding),
            fixes: FixJson::all(rec.finding, fix_case(rec)),
            pairing: rec.pairing.map(FindingJson::of),
            spoofable: rec.pairing == Some(Finding::Spoofable),
            trusted: rec.trusted,
            header: header_json(rec.header.as_ref()),
            client: EndpointJson::inet(rec.client),
            error: joined(listen_said(rec), Kind::Error),
            log: a.log.as_ref().map(|l| l.line()),
            note: joined(listen_said(rec), Kind::Note),
            request: a.request.as_deref(),
            data: a.data.as_ref().map(DataJson::of),
            reply: a.reply.name(),
            bytes_in: rec.bytes_in,
            elapsed_ms: ms(rec.duration),
            matched: rec.matched,
            tls: a.tls.as_ref().map(TlsJson::of),
            talk: a.talk.as_ref().map(TalkJson::of),
            sender: sender::connection_json(rec.sender.as_ref()),
        })
    }

    /// The line, then indented details: TLVs, TLS, error, nginx's log
    /// line, note, data. The line is one line whatever the width (it is
    /// grepped), and starts with what matters on a narrow terminal: the
    /// time, the client, the finding; then the header, the request, the
    /// reply, and where it arrived.
    fn human(rec: &Record<Self>, style: Style) -> String {
        let a = &rec.service;
        // One line per connection, written by a thread of its own at the
        // server's connection rate: built in place, with no String per
        // piece when there is no colour (docs/performance.md).
        let mut out = String::with_capacity(256);
        push_dimmed(&mut out, style, |o| {
            crate::server::clock::push_time_of_day(o, rec.time)
        });
        out.push(' ');
        push_endpoint(&mut out, rec.peer);
        out.push(' ');
        push_named(&mut out, rec.finding, style);
        if let Some(p) = rec.pairing {
            out.push(' ');
            push_named(&mut out, p, style);
        }
        // A valid header with both ends and no TLVs is said from its facts,
        // in the words of its full view (which decodes it again).
        let facts = rec
            .header
            .as_ref()
            .and_then(|h| h.valid.as_ref())
            .filter(|f| f.tlvs.is_empty() && f.source.is_some() && f.destination.is_some());
        let header = match facts {
            Some(_) => None,
            None => header_json(rec.header.as_ref()),
        };
        match (facts, &header) {
            (Some(f), _) => {
                let command = if f.local {
                    crate::codec::Command::Local
                } else {
                    crate::codec::Command::Proxy
                };
                out.push_str(" v");
                text::push_decimal(&mut out, u64::from(f.number()));
                out.push(' ');
                out.push_str(command.name());
                out.push(' ');
                push_toned(&mut out, style, Style::accent, |o| {
                    if let (Some(src), Some(dst)) = (f.source, f.destination) {
                        push_endpoint(o, src);
                        o.push_str(" -> ");
                        push_endpoint(o, dst);
                    }
                });
            }
            (None, Some(h)) if h.version.is_some() => {
                let _ = write!(
                    out,
                    " v{} {} {}",
                    h.version.unwrap_or(0),
                    h.command.unwrap_or("?"),
                    style.accent(&h.tuple())
                );
            }
            (None, Some(_)) => out.push_str(&style.bad(" broken header")),
            (None, None) => push_painted(&mut out, style, " no header", Style::dim),
        }
        if let Some(r) = &a.request {
            out.push_str(" \"");
            nginx::push_escaped(&mut out, r.as_bytes());
            out.push('"');
        }
        if a.reply != SentBack::None {
            push_dimmed(&mut out, style, |o| {
                o.push_str(" reply=");
                o.push_str(a.reply.name());
            });
        }
        if let Some(m) = rec.matched {
            out.push_str(&if m {
                style.good(" expected")
            } else {
                style.bad(" NOT-EXPECTED")
            });
        }
        push_dimmed(&mut out, style, |o| {
            o.push_str(" at ");
            push_endpoint(o, rec.local);
        });
        out.push('\n');
        if let Some(h) = &header {
            for t in &h.tlvs {
                let shown = t.decoded.clone().unwrap_or_else(|| t.value.clone());
                let _ = writeln!(out, "    tlv {} (0x{:02x}): {}", t.name, t.kind, shown);
            }
            if let Some(c) = &h.crc32c {
                let _ = writeln!(out, "    crc32c {c} verified");
            }
        }
        match &a.tls {
            Some(TlsSeen::Done(f)) => {
                let text = format!(
                    "{} {}, SNI {}, ALPN {}",
                    f.version,
                    f.cipher,
                    f.sni.as_deref().unwrap_or("none"),
                    f.alpn.as_deref().unwrap_or("none")
                );
                push_detail(&mut out, style, "tls", &text, false);
            }
            Some(TlsSeen::Refused(r)) => {
                let text = format!("handshake failed: {}", refused(r));
                push_detail(&mut out, style, "tls", &text, true);
            }
            None => {}
        }
        // Each event said once, into its kind's text (joined by "; ").
        let (mut errors, mut notes) = (None, None);
        for (kind, text) in listen_said(rec) {
            let all = if kind == Kind::Error {
                &mut errors
            } else {
                &mut notes
            };
            text::push_joined(all, text);
        }
        if let Some(errors) = &errors {
            push_detail(&mut out, style, "error", errors, true);
        }
        if let Some(t) = &a.talk {
            let h = heard(t);
            if !h.is_empty() {
                push_detail(&mut out, style, "heard", &h.join(" | "), false);
            }
            let s = talk_said(t);
            if !s.is_empty() {
                push_detail(&mut out, style, "said", &s.join(" | "), false);
            }
        }
        if let Some(l) = &a.log {
            // nginx's words, verbatim (wrapped at spaces only).
            push_detail(&mut out, style, "log", &l.line(), false);
        }
        if let Some(notes) = &notes {
            push_detail(&mut out, style, "note", notes, false);
        }
        out.push_str(&sender::connection_human(rec.sender.as_ref(), style));
        if let Some(d) = &a.data {
            let looks = crate::sniff::classify(&d.kept);
            let _ = writeln!(out, "    data: {} bytes, {looks}", d.length);
            let shown = &d.kept[..d.kept.len().min(DATA_SHOWN)];
            for l in hexdump::classic(shown, None, style).lines() {
                let _ = writeln!(out, "    {l}");
            }
        }
        out
    }

    fn summary_json(s: &Summary) -> String {
        #[derive(Serialize)]
        struct Served<'a> {
            versions: &'a BTreeMap<&'static str, u64>,
            mismatched: Option<u64>,
        }
        summary_line(
            s,
            Served {
                versions: &s.versions,
                mismatched: s.mismatched,
            },
        )
    }

    /// Counts per finding, the versions served, the pairings, the
    /// expectations; then each problem (and warning) seen, explained.
    fn summary_human(s: &Summary, style: Style) -> String {
        let parts = finding::counts_human(&s.findings);
        let mut out = format!(
            "{} {} connection(s): {}",
            style.bold("summary:"),
            s.connections,
            parts.join(", ")
        );
        if !s.versions.is_empty() {
            let v: Vec<String> = s.versions.iter().map(|(k, n)| format!("{n} {k}")).collect();
            let _ = write!(out, " (served: {})", v.join(", "));
        }
        for (p, n) in &s.pairings {
            let _ = write!(out, "; {n} {}", named(*p, style));
        }
        if let Some(m) = s.mismatched {
            out.push_str(&if m == 0 {
                style.good("; every connection matched the expectations")
            } else {
                style.bad(&format!("; {m} did not match the expectations"))
            });
        }
        summary_text(s, out, style)
    }
}

// ------------------------------------------------------------------- relay

/// The judge's ending, as JSON and the tap line name it.
fn ending_name(e: Ending) -> &'static str {
    match e {
        Ending::ServerClosed => "upstream-closed",
        // The same reset on the wire; the finding tells them apart.
        Ending::ServerReset | Ending::ServerResetMidStream => "upstream-reset",
        Ending::ClientClosed => "client-closed",
        Ending::TimedOut => "timed-out",
        Ending::Unfinished => "unfinished",
        Ending::Refused => "refused",
        Ending::Unreachable => "unreachable",
        Ending::LocalLimit => "local-limit",
    }
}

/// A byte count without a space to break at: `512B`, `3.1KiB`, `32.0MiB`.
fn size(n: u64) -> String {
    const K: f64 = 1024.0;
    let f = n as f64;
    if f < K {
        format!("{n}B")
    } else if f < K * K {
        format!("{:.1}KiB", f / K)
    } else if f < K * K * K {
        format!("{:.1}MiB", f / K / K)
    } else {
        format!("{:.1}GiB", f / K / K / K)
    }
}

/// `v1 PROXY a -> b`, `broken header`, or `none`.
fn header_words(h: Option<&HeaderSeen>) -> String {
    match header_json(h) {
        Some(j) if j.version.is_some() => format!(
            "v{} {} {}",
            j.version.unwrap_or(0),
            j.command.unwrap_or("?"),
            j.tuple()
        ),
        Some(_) => "broken header".into(),
        None => "none".into(),
    }
}

#[derive(Serialize)]
struct RelayJson {
    #[serde(rename = "type")]
    kind: &'static str,
    schema: u32,
    id: u64,
    time: String,
    /// As listen's: the socket's two ends, and the client the connection
    /// stands for (the accepted header's source, else the peer): the one
    /// the header sent upstream carries.
    peer: EndpointJson,
    local: EndpointJson,
    client: EndpointJson,
    upstream: Option<EndpointJson>,
    accept: &'static str,
    send: &'static str,
    received: Option<HeaderJson>,
    claimed: Option<EndpointJson>,
    sent: Option<HeaderJson>,
    request: Option<String>,
    status: Option<String>,
    sni: Option<String>,
    /// `--protocol`: the session in its server's words.
    protocol: Option<rp::SpokenJson>,
    bytes_up: u64,
    bytes_down: u64,
    elapsed_ms: f64,
    ending: Option<&'static str>,
    finding: FindingJson,
    fixes: Vec<FixJson>,
    arrival: FindingJson,
    exchange: Option<FindingJson>,
    pairing: Option<FindingJson>,
    spoofable: bool,
    error: Option<String>,
    /// `--conform`: the sender's tests graded on this connection.
    #[serde(skip_serializing_if = "Option::is_none")]
    sender: Option<Vec<sender::CheckJson>>,
}

/// How upstream kept quiet and ended, for its words.
fn quiet(r: &Relayed) -> rp::Quiet {
    rp::Quiet {
        waited: r.waited,
        closed: matches!(r.ending, Some(Ending::ServerClosed | Ending::ServerReset)),
        reset: r.ending == Some(Ending::ServerReset),
    }
}

/// The receiver the fixes are for: the protocol the finding was judged in
/// (relay's upstream, listen's stand-in) chooses its server's fixes
/// (Postfix's for SMTP).
fn fix_case<T>(rec: &Record<T>) -> Case {
    Case {
        protocol: rec.protocol,
        ..Case::default()
    }
}

/// Everything a relayed connection's record says, in order, in words (the
/// relay's lines have one place for them: `error`).
fn relay_error(rec: &Record<Relayed>) -> Option<String> {
    let all: Vec<String> = rec
        .events
        .iter()
        .map(|e| said(e).1.into_owned())
        .chain(rec.service.events.iter().map(said_by_relay))
        .collect();
    (!all.is_empty()).then(|| all.join("; "))
}

/// A session in its protocol, as tap details: the finding in the
/// server's words (its banner, its error reply; `smtp: the server greeted
/// with …`), else its banner and answer, then the client's first command.
fn spoken_details(
    details: &mut Vec<(&'static str, String)>,
    sp: &crate::protocol::Spoken,
    finding: Finding,
    quiet: rp::Quiet,
) {
    let label = sp.protocol.name();
    match rp::because(sp.protocol, finding, &sp.verdict, quiet) {
        Some(words) => details.push((label, words)),
        None => {
            let v = &sp.verdict;
            let q = |r: &crate::protocol::Reply| rp::plain(sp.protocol, r);
            let answer = v
                .reply
                .as_ref()
                .filter(|r| r.kind != crate::protocol::Kind::Greeting);
            let said: Vec<String> = v.greeting.iter().chain(answer).map(q).collect();
            let said = if said.is_empty() {
                "not a word".to_string()
            } else {
                said.join("; ")
            };
            details.push((label, said));
        }
    }
    match sp.starttls {
        Some(true) => details.push(("starttls", "asked, and TLS followed".into())),
        Some(false) => details.push(("starttls", "asked, no TLS followed".into())),
        None => {}
    }
    if let Some(c) = &sp.command {
        details.push(("command", rp::command(c)));
    }
}

impl View for Relayed {
    fn json(rec: &Record<Self>) -> String {
        let r = &rec.service;
        line(&RelayJson {
            kind: "connection",
            schema: crate::JSON_SCHEMA,
            id: rec.id,
            time: json::time(rec.time),
            peer: EndpointJson::inet(rec.peer),
            local: EndpointJson::inet(rec.local),
            client: EndpointJson::inet(rec.client),
            upstream: r.upstream.map(EndpointJson::inet),
            accept: r.accept.name(),
            send: r.send.name(),
            received: header_json(rec.header.as_ref()),
            claimed: r.claimed.map(EndpointJson::inet),
            sent: header_json(r.sent.as_ref()),
            request: rec.request_line(),
            status: rec.status_line(),
            sni: rec.sni(),
            protocol: r
                .spoken
                .as_deref()
                .map(|sp| rp::SpokenJson::of(sp, rec.finding, quiet(r))),
            bytes_up: rec.bytes_in,
            bytes_down: rec.bytes_out,
            elapsed_ms: ms(rec.duration),
            ending: r.ending.map(ending_name),
            finding: FindingJson::of(rec.finding),
            fixes: FixJson::all(rec.finding, fix_case(rec)),
            arrival: FindingJson::of(r.arrival),
            exchange: r.exchange.map(FindingJson::of),
            pairing: rec.pairing.map(FindingJson::of),
            spoofable: rec.pairing == Some(Finding::Spoofable),
            error: relay_error(rec),
            sender: sender::connection_json(rec.sender.as_ref()),
        })
    }

    /// The tap line: time, client, finding and upstream, one line whatever
    /// the width (it is grepped), what matters on a narrow terminal first;
    /// the details (headers, request, status, SNI, bytes, duration) wrapped
    /// under it; then the error and, for a problem, its fixes by title.
    fn human(rec: &Record<Self>, style: Style) -> String {
        let r = &rec.service;
        let time = clock(rec.time);
        let upstream = r
            .upstream
            .map_or_else(|| "-".to_string(), |u| EndpointJson::inet(u).to_string());
        let client = EndpointJson::inet(rec.peer).to_string();
        let mut out = format!("{} {client}", style.dim(&time));
        for f in std::iter::once(rec.finding).chain(rec.pairing) {
            let _ = write!(out, " {}", named(f, style));
        }
        let _ = writeln!(out, " {}", style.dim(&format!("to {upstream}")));
        // One labelled detail per line, each wrapped under its label.
        let mut details: Vec<(&str, String)> = Vec::new();
        if r.accept != Accept::None || rec.header.is_some() {
            details.push(("received", header_words(rec.header.as_ref())));
        }
        if r.upstream.is_some() {
            details.push(("sent", header_words(r.sent.as_ref())));
        }
        let request = rec.request_line();
        let status = rec.status_line();
        if request.is_some() || status.is_some() {
            let quoted = |l: Option<String>| {
                l.map_or_else(
                    || "-".to_string(),
                    |l| format!("\"{}\"", nginx::escape(l.as_bytes())),
                )
            };
            details.push(("http", format!("{} -> {}", quoted(request), quoted(status))));
        }
        if let Some(s) = rec.sni() {
            details.push(("tls", format!("sni {s}")));
        }
        if let Some(sp) = r.spoken.as_deref() {
            spoken_details(&mut details, sp, rec.finding, quiet(r));
        }
        let mut totals = format!(
            "{} up, {} down, {}ms",
            size(rec.bytes_in),
            size(rec.bytes_out),
            rec.duration.as_millis()
        );
        if let Some(e) = r.ending {
            let _ = write!(totals, ", {}", ending_name(e));
        }
        details.push(("bytes", totals));
        for (label, text) in details {
            let first = format!("    {label}: ");
            let _ = writeln!(
                out,
                "{}",
                style.dim(&table::fill(style, &first, "      ", &text))
            );
        }
        if let Some(e) = relay_error(rec) {
            let text = table::fill(style, "    error: ", "      ", &e);
            let _ = writeln!(out, "{}", style.bad(&text));
        }
        out.push_str(&sender::connection_human(rec.sender.as_ref(), style));
        if rec.finding.is_problem() {
            for f in rec.finding.fixes_for(fix_case(rec)) {
                let text = table::fill(
                    style,
                    "    fix: ",
                    "      ",
                    &format!("{} [{}]", f.title, f.id),
                );
                let _ = writeln!(out, "{text}");
            }
        }
        out
    }

    fn summary_json(s: &Summary) -> String {
        #[derive(Serialize)]
        struct Relayed {
            bytes_up: u64,
            bytes_down: u64,
        }
        summary_line(
            s,
            Relayed {
                bytes_up: s.bytes_in,
                bytes_down: s.bytes_out,
            },
        )
    }

    /// Counts per finding and the bytes each way; then each problem (and
    /// warning) seen, explained.
    fn summary_human(s: &Summary, style: Style) -> String {
        let mut parts = finding::counts_human(&s.findings);
        for (p, n) in &s.pairings {
            parts.push(format!("{n} {}", p.name()));
        }
        let text = format!(
            "{} connection(s): {}; {} up, {} down",
            s.connections,
            parts.join(", "),
            size(s.bytes_in),
            size(s.bytes_out)
        );
        let out = table::fill(style, "summary: ", "  ", &text);
        summary_text(
            s,
            out.replacen("summary:", &style.bold("summary:"), 1),
            style,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::judge::Arrived;
    use crate::server::record::Awaited;
    use crate::server::standin::{ConnRecord, Http};
    use serde_json::{json, Value};

    fn sa(s: &str) -> SocketAddr {
        s.parse().unwrap_or_else(|_| unreachable!())
    }

    fn value(text: &str) -> Value {
        serde_json::from_str(text).unwrap_or(Value::Null)
    }

    fn record(mode: Mode, bytes: &[u8], arrived: Arrived) -> ConnRecord {
        let http = Http {
            mode,
            ..Http::default()
        };
        let mut rec = http.record(
            7,
            IpProtocol::Tcp,
            sa("127.0.0.1:40000"),
            sa("127.0.0.1:8080"),
        );
        rec.header = Some(HeaderSeen::new(bytes, false));
        rec.arrive(arrived);
        rec
    }

    const HEADER: Arrived = Arrived::Header {
        local: false,
        trusted: true,
        stacked: false,
    };

    #[test]
    fn a_header_to_off_mode_is_unexpected_header_everywhere() {
        let mut rec = record(
            Mode::Off,
            b"PROXY TCP4 192.0.2.1 192.0.2.2 1000 80\r\n",
            HEADER,
        );
        rec.service
            .events
            .push(StandinEvent::Unexpected { tls: false });
        let v = value(&Answered::json(&rec));
        assert_eq!(v["type"], "connection");
        assert_eq!(v["schema"], 3);
        assert_eq!(v["finding"]["name"], "unexpected-header");
        assert_eq!(v["finding"]["code"], "PP-UNEXPECTED-HEADER");
        assert_eq!(v["fixes"][0]["id"], "ingress-nginx-use-proxy-protocol");
        assert_eq!(v["pairing"], Value::Null);
        assert_eq!(v["header"]["source"]["address"], "192.0.2.1");
        assert_eq!(
            v["error"],
            "a PROXY header reached a receiver that does not expect one: nginx answers 400 Bad Request"
        );
        assert_eq!(v["note"], Value::Null);
        let text = Answered::human(&rec, Style::plain());
        // The client and the finding first, then the header: one line.
        assert!(
            text.starts_with(&format!(
                "{} 127.0.0.1:40000 unexpected-header (PP-UNEXPECTED-HEADER) v1 PROXY 192.0.2.1:1000 -> 192.0.2.2:80 at 127.0.0.1:8080\n",
                &text[..12]
            )),
            "{text}"
        );
    }

    #[test]
    fn auto_without_trust_pairs_spoofable() {
        let mut rec = record(
            Mode::Auto,
            b"PROXY TCP4 192.0.2.1 192.0.2.2 1000 80\r\n",
            HEADER,
        );
        rec.events.push(Event::AnyPeer);
        let v = value(&Answered::json(&rec));
        assert_eq!(v["finding"]["name"], "proxied");
        assert_eq!(v["pairing"]["name"], "spoofable");
        assert_eq!(v["spoofable"], true);
        assert_eq!(
            v["note"],
            "accepted from any peer: any client could forge it; use --trust CIDR"
        );
        let mut s = Summary::new(false);
        s.add(&rec);
        insta::assert_snapshot!("listen_summary_json", Answered::summary_json(&s));
        let j = value(&Answered::summary_json(&s));
        assert_eq!(j["type"], "summary");
        assert_eq!(j["findings"]["proxied"], 1);
        assert_eq!(j["pairings"]["spoofable"], 1);
        let text = Answered::summary_human(&s, Style::plain());
        assert!(
            text.starts_with(
                "summary: 1 connection(s): 1 proxied (served: 1 v1); 1 spoofable (PP-SPOOFABLE)"
            ),
            "{text}"
        );
        assert!(text.contains("docs/verdicts.md"), "{text}");
        assert!(text.contains("ingress-nginx-real-ip-cidr"), "{text}");
        // A stand-in's records carry their protocol: its server's fixes
        // explain the pairing (Postfix's for SMTP), nginx's don't.
        rec.protocol = Some(crate::protocol::Protocol::Smtp);
        let mut s = Summary::new(false);
        s.add(&rec);
        let text = Answered::summary_human(&s, Style::plain());
        assert!(text.contains("postfix-proxy-port-private"), "{text}");
        assert!(!text.contains("ingress-nginx"), "{text}");
    }

    #[test]
    fn errors_and_notes_are_said_in_order_and_joined() {
        let mut rec = record(Mode::Require, b"PROXY TCP4 1.2", Arrived::TimedOut);
        rec.events.push(Event::HeaderTimedOut {
            limit: std::time::Duration::from_secs(5),
            got: 14,
            awaited: Awaited::Header,
        });
        rec.events.push(Event::Local);
        rec.events.push(Event::AnyPeer);
        let v = value(&Answered::json(&rec));
        assert_eq!(
            v["error"],
            "no complete PROXY header within --header-timeout 5s (14 bytes arrived); a server-speaks-first protocol, or a sender that sends no header"
        );
        assert_eq!(
            v["note"],
            "LOCAL header (a health check): the socket's addresses stand; accepted from any peer: any client could forge it; use --trust CIDR"
        );
    }

    #[test]
    fn details_fit_80_columns() {
        let mut rec = record(Mode::Require, b"PROXY TCP4 1.2", Arrived::TimedOut);
        rec.events.push(Event::HeaderTimedOut {
            limit: std::time::Duration::from_secs(5),
            got: 14,
            awaited: Awaited::Header,
        });
        rec.service.events.push(StandinEvent::NotHttp);
        rec.service.events.push(StandinEvent::NoClientHello);
        let text = Answered::human(&rec, Style::plain());
        for l in text.lines().skip(1) {
            assert!(l.chars().count() <= 80, "{l:?}");
            assert!(l.starts_with("    "), "{l:?}");
        }
        assert!(
            text.contains("header-timeout (PP-HEADER-TIMEOUT)"),
            "{text}"
        );
    }

    #[test]
    fn listening_lines_have_the_envelope() {
        let listen = Serving::Listen {
            mode: Mode::Require,
            tls: None,
            protocol: None,
        };
        let v = value(&listening(
            IpProtocol::Tcp,
            &[sa("127.0.0.1:1")],
            &listen,
            &[],
            true,
            Style::plain(),
        ));
        let keys: Vec<&String> = v
            .as_object()
            .map(|o| o.keys().collect())
            .unwrap_or_default();
        assert_eq!(keys, ["type", "schema", "transport", "addresses", "mode"]);
        assert_eq!(
            v["addresses"][0],
            json!({"address": "127.0.0.1", "port": 1})
        );
        let upstream = [sa("127.0.0.1:2")];
        let relay = Serving::Relay {
            upstream: &upstream,
            accept: Accept::Any,
            send: SendMode::Same,
            protocol: Some(Selection::Auto),
        };
        let v = value(&listening(
            IpProtocol::Tcp,
            &[sa("127.0.0.1:1")],
            &relay,
            &[sa("127.0.0.1:9")],
            true,
            Style::plain(),
        ));
        let keys: Vec<&String> = v
            .as_object()
            .map(|o| o.keys().collect())
            .unwrap_or_default();
        assert_eq!(
            keys,
            [
                "type",
                "schema",
                "transport",
                "addresses",
                "upstream",
                "accept",
                "send",
                "protocol",
                "metrics"
            ]
        );
        assert_eq!(v["protocol"], "auto");
        assert_eq!(
            listening(
                IpProtocol::Tcp,
                &[sa("127.0.0.1:1")],
                &relay,
                &[],
                false,
                Style::plain()
            ),
            "listening on 127.0.0.1:1\n  (tcp, relay to 127.0.0.1:2, accept any, send same, protocol auto)\n"
        );
        // At 80 columns with five-digit ports: the setting under it.
        let relay = Serving::Relay {
            upstream: &[sa("127.0.0.1:30080")],
            accept: Accept::None,
            send: SendMode::V1,
            protocol: None,
        };
        assert_eq!(
            listening(
                IpProtocol::Tcp,
                &[sa("127.0.0.1:54321")],
                &relay,
                &[],
                false,
                Style::plain()
            ),
            "listening on 127.0.0.1:54321\n  (tcp, relay to 127.0.0.1:30080, accept none, send v1)\n"
        );
    }

    /// A relay that sent v1 to an nginx without proxy_protocol.
    fn unexpected() -> Record<Relayed> {
        let mut rec = Record::new(
            3,
            IpProtocol::Tcp,
            sa("[2001:db8::1234:5678]:54321"),
            sa("[2001:db8::1]:8080"),
            Accept::None.expects(),
            true,
            Relayed::new(Accept::None, SendMode::V1),
        );
        rec.arrived = Arrived::NoHeader;
        rec.service.upstream = Some(sa("[2001:db8::2]:30080"));
        rec.service.sent = Some(HeaderSeen::new(
            b"PROXY TCP6 2001:db8::1234:5678 2001:db8::1 54321 8080\r\n",
            false,
        ));
        rec.service.first_up = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec();
        rec.service.first_down = b"HTTP/1.1 400 Bad Request\r\nServer: nginx\r\n\r\n".to_vec();
        rec.service.ending = Some(Ending::ServerClosed);
        rec.judge();
        rec
    }

    #[test]
    fn an_upstream_400_is_unexpected_header_in_json() {
        let v = value(&Relayed::json(&unexpected()));
        assert_eq!(v["type"], "connection");
        assert_eq!(v["schema"], 3);
        assert_eq!(v["finding"]["name"], "unexpected-header");
        assert_eq!(v["finding"]["code"], "PP-UNEXPECTED-HEADER");
        assert_eq!(v["arrival"]["name"], "plain");
        assert_eq!(v["fixes"][0]["id"], "ingress-nginx-use-proxy-protocol");
        assert_eq!(v["sent"]["version"], 1);
        assert_eq!(v["request"], "GET / HTTP/1.1");
        assert_eq!(v["status"], "HTTP/1.1 400 Bad Request");
        assert_eq!(v["ending"], "upstream-closed");
        assert_eq!(v["pairing"], Value::Null);
        assert_eq!(v["error"], Value::Null);
    }

    /// The tap line is one line (it is grepped), even with IPv6 at 80
    /// columns, with the client and the finding first; the details under it
    /// fit 80 columns.
    #[test]
    fn the_tap_line_is_one_line_and_its_details_fit_80_columns_even_with_ipv6() {
        let text = Relayed::human(&unexpected(), Style::plain());
        let first = text.lines().next().unwrap_or("");
        assert!(
            first.ends_with(
                " [2001:db8::1234:5678]:54321 unexpected-header (PP-UNEXPECTED-HEADER) to [2001:db8::2]:30080"
            ),
            "{first}"
        );
        for l in text.lines().skip(1) {
            assert!(l.chars().count() <= 80, "{l:?}");
            assert!(l.starts_with("    "), "{l:?}");
        }
        assert!(
            text.contains("unexpected-header (PP-UNEXPECTED-HEADER)"),
            "{text}"
        );
        assert!(
            text.contains("[ingress-nginx-use-proxy-protocol]"),
            "{text}"
        );
    }

    /// A relay with `--protocol smtp` in front of Postfix without PROXY
    /// support: the header line answered `500 5.5.2`.
    fn smtp_refused() -> Record<Relayed> {
        let mut rec = unexpected();
        rec.service.protocol = Some(Selection::One(Protocol::Smtp));
        rec.service.first_up = b"EHLO ppctl.invalid\r\nQUIT\r\n".to_vec();
        rec.service.first_down = b"220 mail.ppctl.test ESMTP ppctl-test\r\n500 5.5.2 Error: command not recognized\r\n221 2.0.0 Bye\r\n".to_vec();
        rec.judge();
        rec
    }

    #[test]
    fn a_relayed_smtp_session_is_judged_and_tapped_in_postfix_s_words() {
        let rec = smtp_refused();
        let v = value(&Relayed::json(&rec));
        assert_eq!(v["finding"]["name"], "unexpected-header");
        assert_eq!(v["fixes"][0]["id"], "postfix-upstream-proxy-protocol");
        assert_eq!(v["protocol"]["name"], "smtp");
        assert_eq!(v["protocol"]["chosen_by"], "option");
        assert_eq!(
            v["protocol"]["greeting"]["words"],
            "220 mail.ppctl.test ESMTP ppctl-test"
        );
        assert_eq!(v["protocol"]["reply"]["code"], 500);
        assert_eq!(v["protocol"]["command"], "EHLO ppctl.invalid");
        assert_eq!(v["request"], Value::Null);
        let words = v["protocol"]["words"].as_str().unwrap_or("");
        assert!(
            words.ends_with(
                "then answered `500 5.5.2 Error: command not recognized` to the header line"
            ),
            "{words}"
        );
        let text = Relayed::human(&rec, Style::plain());
        for l in text.lines().skip(1) {
            assert!(l.chars().count() <= 80, "{l:?}");
        }
        assert!(
            text.contains("    smtp: the server greeted with `220 mail.ppctl.test"),
            "{text}"
        );
        assert!(text.contains("    command: EHLO ppctl.invalid\n"), "{text}");
        assert!(text.contains("[postfix-upstream-proxy-protocol]"), "{text}");
        assert!(!text.contains("ingress-nginx"), "{text}");
        // The summary explains it with Postfix's fixes, too.
        let mut s = Summary::new(false);
        s.add(&rec);
        let summary = Relayed::summary_human(&s, Style::plain());
        assert!(
            summary.contains("postfix-upstream-proxy-protocol"),
            "{summary}"
        );
        assert!(!summary.contains("ingress-nginx"), "{summary}");
    }

    /// Without `--protocol`, no `protocol` object: HTTP as before.
    #[test]
    fn without_protocol_the_record_has_none() {
        let v = value(&Relayed::json(&unexpected()));
        assert_eq!(v["protocol"], Value::Null);
    }

    #[test]
    fn the_relay_summary_counts_findings_and_explains_problems() {
        let mut s = Summary::new(false);
        s.add(&unexpected());
        insta::assert_snapshot!("relay_summary_json", Relayed::summary_json(&s));
        let j = value(&Relayed::summary_json(&s));
        assert_eq!(j["type"], "summary");
        assert_eq!(j["findings"]["unexpected-header"], 1);
        let text = Relayed::summary_human(&s, Style::plain());
        assert!(
            text.starts_with("summary: 1 connection(s): 1 unexpected-header;"),
            "{text}"
        );
        assert!(text.contains("docs/verdicts.md"), "{text}");
    }

    /// Accepts that found no descriptor are counted under local-limit, in
    /// the summary line and its JSON, explained, and fail the run.
    #[test]
    fn accepts_out_of_descriptors_are_reported_as_local_limit() {
        let mut s = Summary::new(false);
        s.add(&unexpected());
        let j = value(&Relayed::summary_json(&s));
        assert_eq!(j["accept_failures"], json!({}));
        s.out_of_descriptors = 3;
        assert!(!s.passed());
        let j = value(&Relayed::summary_json(&s));
        assert_eq!(j["accept_failures"]["local-limit"], 3);
        let text = Relayed::summary_human(&s, Style::plain());
        assert!(
            text.contains("accept: no file descriptor left, 3 time(s) (local-limit)"),
            "{text}"
        );
        assert!(text.contains("PP-LOCAL-LIMIT"), "{text}");
        let j = value(&Answered::summary_json(&s));
        assert_eq!(j["accept_failures"]["local-limit"], 3);
    }
}
