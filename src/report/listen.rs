//! `ppctl listen`'s output: the `listening` line, one line per connection
//! and the summary, as text or as JSON Lines (docs/json.md), all built from
//! the engine's typed records.

use std::fmt::Write as _;
use std::net::SocketAddr;

use serde_json::{json, Value};

use super::finding::{self, document};
use super::json::{self, ms, EndpointJson, HeaderJson, SniffJson};
use super::{hexdump, table, Style};
use crate::judge::Finding;
use crate::server::standin::{nginx, ConnRecord, Data, Mode, Reply};
use crate::server::tls::{Identity, TlsSeen};
use crate::server::{Summary, Transport};

/// How many bytes of unrecognised data a line shows.
pub(crate) const DATA_SHOWN: usize = 64;

/// One JSON line (with its newline).
pub(crate) fn line(v: &Value) -> String {
    let mut s = v.to_string();
    s.push('\n');
    s
}

/// The first line: where the server listens.
pub(crate) fn listening_json(transport: Transport, addrs: &[SocketAddr], mode: Mode) -> Value {
    let addresses: Vec<EndpointJson> = addrs.iter().map(|&a| EndpointJson::inet(a)).collect();
    document(
        "listening",
        json!({
            "transport": transport.name(),
            "addresses": addresses,
            "mode": mode.name(),
        }),
    )
}

pub(crate) fn listening_human(transport: Transport, addrs: &[SocketAddr], mode: Mode) -> String {
    let addresses: Vec<String> = addrs.iter().map(|a| a.to_string()).collect();
    format!(
        "listening on {} ({}, proxy-protocol {})\n",
        addresses.join(" "),
        transport.name(),
        mode.name()
    )
}

/// What answers: ppctl copying nginx, which a client's view (`Server:
/// nginx/1.22.1` on a 400) would take for nginx itself.
pub(crate) fn stand_in_human(style: Style) -> String {
    let text = format!(
        "stand-in: ppctl, not nginx: it copies nginx {}'s answers and log lines (its 400 page says `Server: {}`); served requests get its whoami page",
        nginx::SERVER.trim_start_matches("nginx/"),
        nginx::SERVER
    );
    table::wrap(style, &text, 2) + "\n"
}

/// `--tls`: the certificate served, for the first line (JSON: its `tls`).
pub(crate) fn identity_json(id: &Identity) -> Value {
    json!({
        "generated": id.generated,
        "names": id.names,
        "sha256": id.fingerprint,
        "pem": id.pem,
    })
}

/// `--tls`: the lines after `listening on`: what certificate, and its
/// fingerprint to compare with what a client sees.
pub(crate) fn identity_human(id: &Identity) -> String {
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

fn tls_json(t: &TlsSeen) -> Value {
    match t {
        TlsSeen::Done(f) => json!({
            "result": "done",
            "sni": f.sni,
            "alpn": f.alpn,
            "version": f.version,
            "cipher": f.cipher,
        }),
        TlsSeen::Refused(r) => json!({
            "result": "failed",
            "failure": r.kind(),
            "error": r.describe(),
        }),
    }
}

/// The header view of a record (the inspect schema).
fn header_json(rec: &ConnRecord) -> Option<HeaderJson> {
    rec.header
        .as_ref()
        .map(|h| HeaderJson::new(&h.decode(), &h.bytes))
}

fn data_json(d: &Data) -> Value {
    let looks = SniffJson {
        length: d.length,
        ..SniffJson::of(&d.kept)
    };
    json!({
        "length": d.length,
        "hex": hex::encode(&d.kept[..d.kept.len().min(DATA_SHOWN)]),
        "looks_like": looks,
    })
}

/// One `connection` line.
pub(crate) fn connection_json(rec: &ConnRecord) -> Value {
    document(
        "connection",
        json!({
            "id": rec.id,
            "time": json::time(rec.time),
            "transport": rec.transport.name(),
            "peer": EndpointJson::inet(rec.peer),
            "local": EndpointJson::inet(rec.local),
            "mode": rec.service.mode.name(),
            "finding": finding::json(rec.finding),
            "fixes": finding::fixes_json(&rec.finding.fixes(), crate::judge::fixes::Case::default()),
            "pairing": rec.pairing.map(finding::json),
            "spoofable": rec.pairing == Some(Finding::Spoofable),
            "trusted": rec.trusted,
            "header": header_json(rec),
            "client": EndpointJson::inet(rec.client),
            "error": rec.error,
            "log": rec.service.log,
            "note": rec.note,
            "request": rec.service.request,
            "data": rec.service.data.as_ref().map(data_json),
            "reply": rec.service.reply.name(),
            "bytes_in": rec.bytes_in,
            "elapsed_ms": ms(rec.duration),
            "matched": rec.matched,
            "tls": rec.service.tls.as_ref().map(tls_json),
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

/// The human line, plus indented detail lines (TLVs, log, hexdump). The
/// line is one line whatever the width (it is grepped), and starts with
/// what matters on a narrow terminal: the time, the client, the finding;
/// then the header, the request, the reply, and where it arrived.
pub(crate) fn connection_human(rec: &ConnRecord, style: Style) -> String {
    let time = json::time(rec.time);
    let time = time.get(11..23).unwrap_or(&time).to_string();
    let mut out = format!(
        "{} {} {}",
        style.dim(&time),
        EndpointJson::inet(rec.peer),
        named(rec.finding, style)
    );
    if let Some(p) = rec.pairing {
        let _ = write!(out, " {}", named(p, style));
    }
    let header = header_json(rec);
    match &header {
        Some(h) if h.version.is_some() => {
            let _ = write!(
                out,
                " v{} {} {}",
                h.version.unwrap_or(0),
                h.command.unwrap_or("?"),
                style.accent(&h.tuple())
            );
        }
        Some(_) => out.push_str(&style.bad(" broken header")),
        None => out.push_str(&style.dim(" no header")),
    }
    if let Some(r) = &rec.service.request {
        let _ = write!(out, " \"{}\"", nginx::escape(r.as_bytes()));
    }
    if rec.service.reply != Reply::None {
        out.push_str(&style.dim(&format!(" reply={}", rec.service.reply.name())));
    }
    if let Some(m) = rec.matched {
        out.push_str(&if m {
            style.good(" expected")
        } else {
            style.bad(" NOT-EXPECTED")
        });
    }
    out.push_str(&style.dim(&format!(" at {}", EndpointJson::inet(rec.local))));
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
    match &rec.service.tls {
        Some(TlsSeen::Done(f)) => {
            let text = format!(
                "{} {}, SNI {}, ALPN {}",
                f.version,
                f.cipher,
                f.sni.as_deref().unwrap_or("none"),
                f.alpn.as_deref().unwrap_or("none")
            );
            out.push_str(&detail(style, "tls", &text, false));
        }
        Some(TlsSeen::Refused(r)) => {
            out.push_str(&detail(
                style,
                "tls",
                &format!("handshake failed: {}", r.describe()),
                true,
            ));
        }
        None => {}
    }
    if let Some(t) = &rec.error {
        out.push_str(&detail(style, "error", t, true));
    }
    if let Some(t) = &rec.service.log {
        // nginx's words, verbatim (wrapped at spaces only).
        out.push_str(&detail(style, "log", t, false));
    }
    if let Some(t) = &rec.note {
        out.push_str(&detail(style, "note", t, false));
    }
    if let Some(d) = &rec.service.data {
        let looks = crate::sniff::classify(&d.kept);
        let _ = writeln!(out, "    data: {} bytes, {looks}", d.length);
        let shown = &d.kept[..d.kept.len().min(DATA_SHOWN)];
        for l in hexdump::classic(shown, None, style).lines() {
            let _ = writeln!(out, "    {l}");
        }
    }
    out
}

/// An indented `label: prose` detail line, wrapped to the width.
fn detail(style: Style, label: &str, text: &str, bad: bool) -> String {
    let narrower = Style {
        width: style.width.saturating_sub(4),
        ..style
    };
    let wrapped = table::wrap(narrower, &format!("{label}: {text}"), 4);
    let mut out = String::new();
    for l in wrapped.lines() {
        let l = if bad { style.bad(l) } else { l.to_string() };
        let _ = writeln!(out, "    {l}");
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
            "versions": s.versions,
            "mismatched": s.mismatched,
            "interrupted": s.interrupted,
        }),
    )
}

/// The summary: counts per finding, then each problem (and warning) seen
/// with its meaning and fixes.
pub(crate) fn summary_human(s: &Summary, style: Style) -> String {
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
    use crate::server::standin::Http;
    use crate::server::HeaderSeen;

    fn sa(s: &str) -> SocketAddr {
        s.parse().unwrap_or_else(|_| unreachable!())
    }

    fn record(mode: Mode, bytes: &[u8], arrived: Arrived) -> ConnRecord {
        let http = Http {
            mode,
            ..Http::default()
        };
        let mut rec = http.record(
            7,
            Transport::Tcp,
            sa("127.0.0.1:40000"),
            sa("127.0.0.1:8080"),
        );
        rec.header = Some(HeaderSeen::new(bytes, false));
        rec.arrive(arrived);
        rec
    }

    #[test]
    fn a_header_to_off_mode_is_unexpected_header_everywhere() {
        let rec = record(
            Mode::Off,
            b"PROXY TCP4 192.0.2.1 192.0.2.2 1000 80\r\n",
            Arrived::Header {
                local: false,
                trusted: true,
                stacked: false,
            },
        );
        let v = connection_json(&rec);
        assert_eq!(v["type"], "connection");
        assert_eq!(v["schema"], 3);
        assert_eq!(v["finding"]["name"], "unexpected-header");
        assert_eq!(v["finding"]["code"], "PP-UNEXPECTED-HEADER");
        assert_eq!(v["fixes"][0]["id"], "ingress-nginx-use-proxy-protocol");
        assert_eq!(v["pairing"], Value::Null);
        assert_eq!(v["header"]["source"]["address"], "192.0.2.1");
        let text = connection_human(&rec, Style::plain());
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
        let rec = record(
            Mode::Auto,
            b"PROXY TCP4 192.0.2.1 192.0.2.2 1000 80\r\n",
            Arrived::Header {
                local: false,
                trusted: true,
                stacked: false,
            },
        );
        let v = connection_json(&rec);
        assert_eq!(v["finding"]["name"], "proxied");
        assert_eq!(v["pairing"]["name"], "spoofable");
        assert_eq!(v["spoofable"], true);
        let mut s = Summary::new(false);
        s.add(&rec);
        let j = summary_json(&s);
        assert_eq!(j["type"], "summary");
        assert_eq!(j["findings"]["proxied"], 1);
        assert_eq!(j["pairings"]["spoofable"], 1);
        let text = summary_human(&s, Style::plain());
        assert!(
            text.starts_with(
                "summary: 1 connection(s): 1 proxied (served: 1 v1); 1 spoofable (PP-SPOOFABLE)"
            ),
            "{text}"
        );
        assert!(text.contains("docs/verdicts.md"), "{text}");
    }

    #[test]
    fn details_fit_80_columns() {
        let mut rec = record(Mode::Require, b"PROXY TCP4 1.2", Arrived::TimedOut);
        rec.error = Some("no complete PROXY header within --header-timeout 5s (14 bytes arrived); a server-speaks-first protocol, or a sender that sends no header".into());
        rec.note = Some("word ".repeat(40));
        let text = connection_human(&rec, Style::plain());
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
    fn listening_line_has_the_envelope() {
        let v = listening_json(Transport::Tcp, &[sa("127.0.0.1:1")], Mode::Require);
        let keys: Vec<&String> = v
            .as_object()
            .map(|o| o.keys().collect())
            .unwrap_or_default();
        assert_eq!(keys, ["type", "schema", "transport", "addresses", "mode"]);
        assert_eq!(
            v["addresses"][0],
            json!({"address": "127.0.0.1", "port": 1})
        );
    }
}
