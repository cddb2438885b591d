//! `ppctl relay`'s output: the `listening` line, one tap line per
//! connection, the summary; as text or as JSON Lines (docs/json.md), all
//! built from the engine's typed records.

use std::fmt::Write as _;
use std::net::SocketAddr;

use serde_json::{json, Value};

use super::finding::{self, document};
use super::json::{self, ms, EndpointJson, HeaderJson};
use super::{table, Style};
use crate::judge::{Ending, Finding};
use crate::relay::{Accept, Record, SendMode};
use crate::server::standin::nginx;
use crate::server::{HeaderSeen, Summary};

pub(crate) use super::listen::line;

/// The judge's ending, as JSON and the tap line name it.
fn ending_name(e: Ending) -> &'static str {
    match e {
        Ending::ServerClosed => "upstream-closed",
        Ending::ServerReset => "upstream-reset",
        Ending::ClientClosed => "client-closed",
        Ending::TimedOut => "timed-out",
        Ending::Unfinished => "unfinished",
        Ending::Refused => "refused",
        Ending::Unreachable => "unreachable",
    }
}

fn addresses(addrs: &[SocketAddr]) -> Vec<String> {
    addrs.iter().map(|a| a.to_string()).collect()
}

fn endpoints(addrs: &[SocketAddr]) -> Vec<EndpointJson> {
    addrs.iter().map(|&a| EndpointJson::inet(a)).collect()
}

/// The first line: where the relay listens and where it relays to.
pub(crate) fn listening_json(
    addrs: &[SocketAddr],
    upstream: &[SocketAddr],
    accept: Accept,
    send: SendMode,
) -> Value {
    document(
        "listening",
        json!({
            "transport": "tcp",
            "addresses": endpoints(addrs),
            "upstream": endpoints(upstream),
            "accept": accept.name(),
            "send": send.name(),
        }),
    )
}

/// The first line (wrapped at spaces to the width, never inside an
/// address): where it listens, where it relays, what it takes and sends.
pub(crate) fn listening_human(
    addrs: &[SocketAddr],
    upstream: &[SocketAddr],
    accept: Accept,
    send: SendMode,
    style: Style,
) -> String {
    let head = format!("listening on {}", addresses(addrs).join(" "));
    let setting = format!(
        "(tcp, relay to {}, accept {}, send {})",
        addresses(upstream).join(" "),
        accept.name(),
        send.name()
    );
    if head.chars().count() + 1 + setting.chars().count() <= usize::from(style.width) {
        format!("{head} {setting}\n")
    } else {
        format!("{head}\n{}\n", table::fill(style, "  ", "  ", &setting))
    }
}

fn header_json(h: &Option<HeaderSeen>) -> Option<HeaderJson> {
    h.as_ref().map(|h| HeaderJson::new(&h.decode(), &h.bytes))
}

/// One `connection` line.
pub(crate) fn connection_json(rec: &Record) -> Value {
    document(
        "connection",
        json!({
            "id": rec.id,
            "time": json::time(rec.time),
            // As listen's: the socket's two ends, and the client the
            // connection stands for (the accepted header's source, else
            // the peer): the one the header sent upstream carries.
            "peer": EndpointJson::inet(rec.peer),
            "local": EndpointJson::inet(rec.local),
            "client": EndpointJson::inet(rec.client),
            "upstream": rec.service.upstream.map(EndpointJson::inet),
            "accept": rec.service.accept.name(),
            "send": rec.service.send.name(),
            "received": header_json(&rec.header),
            "claimed": rec.service.claimed.map(EndpointJson::inet),
            "sent": header_json(&rec.service.sent),
            "request": rec.request_line(),
            "status": rec.status_line(),
            "sni": rec.sni(),
            "bytes_up": rec.bytes_in,
            "bytes_down": rec.bytes_out,
            "elapsed_ms": ms(rec.duration),
            "ending": rec.service.ending.map(ending_name),
            "finding": finding::json(rec.finding),
            "fixes": finding::fixes_json(&rec.finding.fixes(), crate::judge::fixes::Case::default()),
            "arrival": finding::json(rec.service.arrival),
            "exchange": rec.service.exchange.map(finding::json),
            "pairing": rec.pairing.map(finding::json),
            "spoofable": rec.pairing == Some(Finding::Spoofable),
            "error": rec.error,
        }),
    )
}

/// `name (CODE)` in the finding's tone.
fn named(f: Finding, style: Style) -> String {
    finding::paint(
        style,
        &format!("{} ({})", f.name(), f.code()),
        finding::tone(f),
    )
}

/// `v1 PROXY a -> b`, `broken header`, or `none`.
fn header_words(h: &Option<HeaderSeen>) -> String {
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

/// The tap line: time, client, finding and upstream, one line whatever
/// the width (it is grepped), what matters on a narrow terminal first; the
/// details (headers, request, status, SNI, bytes, duration) wrapped under
/// it; then the error and, for a problem, its fixes by title.
pub(crate) fn connection_human(rec: &Record, style: Style) -> String {
    let time = json::time(rec.time);
    let time = time.get(11..23).unwrap_or(&time).to_string();
    let upstream = rec
        .service
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
    if rec.service.accept != Accept::None || rec.header.is_some() {
        details.push(("received", header_words(&rec.header)));
    }
    if rec.service.upstream.is_some() {
        details.push(("sent", header_words(&rec.service.sent)));
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
    let mut totals = format!(
        "{} up, {} down, {}ms",
        size(rec.bytes_in),
        size(rec.bytes_out),
        rec.duration.as_millis()
    );
    if let Some(e) = rec.service.ending {
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
    if let Some(e) = &rec.error {
        let text = table::fill(style, "    error: ", "      ", e);
        let _ = writeln!(out, "{}", style.bad(&text));
    }
    if rec.finding.is_problem() {
        for f in rec.finding.fixes() {
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

/// The `summary` line.
pub(crate) fn summary_json(s: &Summary) -> Value {
    document(
        "summary",
        json!({
            "connections": s.connections,
            "findings": finding::counts_json(&s.findings),
            "pairings": finding::counts_json(&s.pairings),
            "bytes_up": s.bytes_in,
            "bytes_down": s.bytes_out,
            "interrupted": s.interrupted,
        }),
    )
}

/// The summary: counts per finding, then each problem (and warning) seen
/// with its meaning and fixes.
pub(crate) fn summary_human(s: &Summary, style: Style) -> String {
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
    let mut out = table::fill(style, "summary: ", "  ", &text);
    out = out.replacen("summary:", &style.bold("summary:"), 1);
    out.push('\n');
    out.push_str(&finding::explain_worth(
        s.findings.keys().chain(s.pairings.keys()),
        style,
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::judge::Arrived;

    fn sa(s: &str) -> SocketAddr {
        s.parse().unwrap_or_else(|_| unreachable!())
    }

    /// A relay that sent v1 to an nginx without proxy_protocol.
    fn unexpected() -> Record {
        let mut rec = Record::new(
            3,
            crate::server::Transport::Tcp,
            sa("[2001:db8::1234:5678]:54321"),
            sa("[2001:db8::1]:8080"),
            Accept::None.expects(),
            true,
            crate::relay::Relayed::new(Accept::None, SendMode::V1),
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
        let v = connection_json(&unexpected());
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
    }

    /// The tap line is one line (it is grepped), even with IPv6 at 80
    /// columns, with the client and the finding first; the details under it
    /// fit 80 columns.
    #[test]
    fn the_tap_line_is_one_line_and_its_details_fit_80_columns_even_with_ipv6() {
        let text = connection_human(&unexpected(), Style::plain());
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

    #[test]
    fn summary_counts_findings_and_explains_problems() {
        let mut s = Summary::new(false);
        s.add(&unexpected());
        let j = summary_json(&s);
        assert_eq!(j["type"], "summary");
        assert_eq!(j["findings"]["unexpected-header"], 1);
        let text = summary_human(&s, Style::plain());
        assert!(
            text.starts_with("summary: 1 connection(s): 1 unexpected-header;"),
            "{text}"
        );
        assert!(text.contains("docs/verdicts.md"), "{text}");
    }

    #[test]
    fn listening_line_has_the_envelope() {
        let v = listening_json(
            &[sa("127.0.0.1:1")],
            &[sa("127.0.0.1:2")],
            Accept::Any,
            SendMode::Same,
        );
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
                "send"
            ]
        );
        let human = listening_human(
            &[sa("127.0.0.1:1")],
            &[sa("127.0.0.1:2")],
            Accept::Any,
            SendMode::Same,
            Style::plain(),
        );
        assert_eq!(
            human,
            "listening on 127.0.0.1:1 (tcp, relay to 127.0.0.1:2, accept any, send same)\n"
        );
        // At 80 columns with five-digit ports: the setting under it.
        let human = listening_human(
            &[sa("127.0.0.1:54321")],
            &[sa("127.0.0.1:30080")],
            Accept::None,
            SendMode::V1,
            Style::plain(),
        );
        assert_eq!(
            human,
            "listening on 127.0.0.1:54321\n  (tcp, relay to 127.0.0.1:30080, accept none, send v1)\n"
        );
    }
}
