//! A protocol's conversation in words: the sentence that says a finding in
//! the server's own words ("the server answered `500 5.5.2 Error: command
//! not recognized` to the header line"), the replies as short phrases, and
//! their JSON. `send`, `probe`, `pcap` and `relay` all say them so; a
//! session seen both ways (a capture's flow, a relayed connection) has
//! one `protocol` object, [`SpokenJson`], and one sentence, [`heard`].

use std::time::Duration;

use serde::Serialize;

use crate::judge::Finding;
use crate::protocol::{Chosen, Command, Kind, Protocol, Reply, Spoken, Verdict};
use crate::server::standin::nginx;

/// What was seen besides the replies: how long the server kept quiet
/// before its first word (or until the end), and whether it closed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Quiet {
    /// From the header (or the connect, without one) to the server's first
    /// byte, or to the end when none came.
    pub waited: Option<Duration>,
    /// The server closed or reset the connection.
    pub closed: bool,
    /// The server reset it.
    pub reset: bool,
}

/// `3.0 s`, `250 ms`.
pub(crate) fn seconds(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{} ms", d.as_millis())
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

/// A reply quoted: its words in backquotes, with MySQL's error number.
pub(crate) fn quote(protocol: Protocol, r: &Reply) -> String {
    match (protocol, r.code) {
        (Protocol::Mysql, Some(code)) if r.kind != Kind::Greeting => {
            format!("error {code} `{}`", r.words)
        }
        (Protocol::Mysql, _) if r.kind == Kind::Greeting => {
            format!("a handshake from `{}`", r.words)
        }
        (Protocol::Ssh, _) if r.kind == Kind::Ok => format!("its {}", r.words),
        _ if r.words.is_empty() => "bytes".to_string(),
        _ => format!("`{}`", r.words),
    }
}

/// A reply as a human line shows it: its words, with MySQL's error number
/// (`ERROR 1130: Proxy header is not accepted from 127.0.0.1`, as the
/// `mysql` client writes it).
pub(crate) fn plain(protocol: Protocol, r: &Reply) -> String {
    match (protocol, r.code) {
        (Protocol::Mysql, Some(code)) if r.kind != Kind::Greeting => {
            format!("ERROR {code}: {}", r.words)
        }
        (Protocol::Mysql, _) if r.kind == Kind::Greeting => format!("handshake from {}", r.words),
        _ if r.words.is_empty() => format!("{} bytes", r.len),
        _ => r.words.clone(),
    }
}

/// The finding said in the server's words, when the conversation holds
/// them; `None` for a finding the words don't add to.
pub(crate) fn because(
    protocol: Protocol,
    finding: Finding,
    v: &Verdict,
    quiet: Quiet,
) -> Option<String> {
    let q = |r: &Reply| quote(protocol, r);
    let waited = quiet.waited.map(seconds);
    let ended = if quiet.reset {
        "the server reset the connection"
    } else if quiet.closed {
        "the server closed the connection"
    } else {
        "the connection was still open"
    };
    let sees = v
        .client_seen
        .map(|ip| format!(" (the server sees the client as {ip})"))
        .unwrap_or_default();
    Some(match finding {
        Finding::UnexpectedHeader => {
            let r = v.reply.as_ref()?;
            let greeted = v
                .greeting
                .as_ref()
                .map(|g| format!("greeted with {}, then ", q(g)))
                .unwrap_or_default();
            format!("the server {greeted}answered {} to the header line", q(r))
        }
        Finding::HopAddsHeader => format!(
            "the server greeted, then answered {} to a header line the client never sent: a hop in between adds one",
            q(v.reply.as_ref()?)
        ),
        Finding::MissingHeader => {
            let waited = waited.map(|w| format!(" for {w}")).unwrap_or_default();
            match &v.reply {
                Some(r) => format!(
                    "no banner{waited}, then {}: the server waits for a PROXY header",
                    q(r)
                ),
                None if quiet.closed => format!(
                    "no banner{waited}, then {ended} without a word: the server waits for a PROXY header"
                ),
                None => format!("no banner{waited}: the server waits for a PROXY header"),
            }
        }
        Finding::BannerBeforeHeader => format!(
            "the server greeted with {} before the header reached it: it does not wait for one",
            q(v.greeting.as_ref()?)
        ),
        Finding::Proxied | Finding::HealthCheck | Finding::Plain if v.greeting.is_none() => {
            // A client-first protocol: its opening's answer.
            let with = if finding == Finding::Plain {
                "without"
            } else {
                "after"
            };
            format!("answered {} {with} a header{sees}", q(v.reply.as_ref()?))
        }
        Finding::Proxied | Finding::HealthCheck | Finding::Plain => {
            let g = v.greeting.as_ref()?;
            let answer = v
                .reply
                .as_ref()
                .filter(|r| r.kind != Kind::Greeting)
                .map(|r| format!(", then {}", q(r)))
                .unwrap_or_default();
            let with = if finding == Finding::Plain {
                "without a header"
            } else {
                "after the header"
            };
            format!("greeted {with}: {}{answer}{sees}", q(g))
        }
        Finding::HeaderRejected => match (&v.greeting, &v.reply) {
            (Some(g), _) => format!(
                "greeted with {}, then {ended} without another word: a server that read the header answers the opening",
                q(g)
            ),
            (None, Some(r)) => format!("no greeting after the header: {}", q(r)),
            (None, None) => format!("no greeting after the header: {ended} without a word"),
        },
        Finding::NoReply => {
            let waited = waited.map(|w| format!(" for {w}")).unwrap_or_default();
            match &v.greeting {
                // `waited` is the wait for the greeting, which came.
                Some(g) => format!(
                    "greeted with {}, then not a word to the opening within the timeout: a server that read the header answers it",
                    q(g)
                ),
                None => format!("not a word{waited}"),
            }
        }
        Finding::InvalidHeader | Finding::StackedHeader | Finding::HttpError => {
            format!("the server answered {}", q(v.reply.as_ref()?))
        }
        _ => return None,
    })
}

/// A reply's kind, for JSON.
pub(crate) fn kind_name(k: Kind) -> &'static str {
    match k {
        Kind::Greeting => "greeting",
        Kind::Ok => "ok",
        Kind::Refused => "refused",
        Kind::Error => "error",
        Kind::Foreign => "foreign",
        Kind::Partial => "partial",
    }
}

/// A reply as JSON: `{kind, code, words}`.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct ReplyJson {
    kind: &'static str,
    code: Option<u16>,
    words: String,
}

impl ReplyJson {
    pub(crate) fn of(r: &Reply) -> Self {
        ReplyJson {
            kind: kind_name(r.kind),
            code: r.code,
            words: r.words.clone(),
        }
    }
}

/// How a protocol was named for a human: `smtp (--protocol)`, `smtp (port
/// 25)`, `smtp (its greeting)`.
pub(crate) fn named(protocol: Protocol, chosen: Chosen, port: u16) -> String {
    let how = match chosen {
        Chosen::Default => return protocol.name().to_string(),
        Chosen::Named => "--protocol".to_string(),
        Chosen::Port => format!("--protocol auto: port {port}"),
        Chosen::Greeting => "--protocol auto: its greeting".to_string(),
        Chosen::Silence => "--protocol auto: the server said nothing first".to_string(),
    };
    format!("{} ({how})", protocol.name())
}

/// The client's first command in words: the line as nginx logs bytes
/// (`EHLO client.example`), MySQL's login as MariaDB's log says it.
pub(crate) fn command(c: &Command) -> String {
    match c {
        Command::Line(line) => nginx::escape(line),
        Command::Login { user, password } => {
            let using = if *password { "YES" } else { "NO" };
            format!("login as '{user}' (using password: {using})")
        }
        Command::SslRequest => "SSLRequest".to_string(),
        Command::Bytes(n) => format!("{n} bytes"),
    }
}

/// A session seen both ways, its finding in its server's words, after
/// its protocol's name: `smtp: the server greeted with …, then answered
/// `500 5.5.2 …` to the header line`, and what came of STARTTLS.
pub(crate) fn heard(sp: &Spoken, finding: Finding, quiet: Quiet) -> Option<String> {
    let mut words = because(sp.protocol, finding, &sp.verdict, quiet)?;
    match sp.starttls {
        Some(true) => words.push_str("; then STARTTLS, and TLS"),
        Some(false) => words.push_str("; STARTTLS asked, no TLS followed"),
        None => {}
    }
    Some(format!("{}: {words}", sp.protocol.name()))
}

/// The `protocol` object of a session seen both ways (`pcap`'s flows,
/// `relay`'s connections; docs/json.md).
#[derive(Debug, Serialize)]
pub(crate) struct SpokenJson {
    name: &'static str,
    chosen_by: &'static str,
    greeting: Option<ReplyJson>,
    command: Option<String>,
    reply: Option<ReplyJson>,
    client_ip: Option<String>,
    greeted_first: bool,
    waited_ms: Option<u64>,
    starttls: Option<bool>,
    words: Option<String>,
}

impl SpokenJson {
    pub(crate) fn of(sp: &Spoken, finding: Finding, quiet: Quiet) -> Self {
        let v = &sp.verdict;
        SpokenJson {
            name: sp.protocol.name(),
            chosen_by: sp.chosen.name(),
            greeting: v.greeting.as_ref().map(ReplyJson::of),
            command: sp.command.as_ref().map(command),
            reply: v.reply.as_ref().map(ReplyJson::of),
            client_ip: v.client_seen.map(|ip| ip.to_string()),
            greeted_first: sp.greeted_first,
            waited_ms: sp.waited.map(|w| (w.as_secs_f64() * 1000.0).round() as u64),
            starttls: sp.starttls,
            words: because(sp.protocol, finding, v, quiet),
        }
    }
}
