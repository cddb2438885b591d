//! `explain`'s two views: one block per log record with the finding it
//! comes to, a table of the findings met, their fixes once (human); and the
//! `explain` JSON document (docs/json.md).

use std::fmt::Write as _;

use std::collections::BTreeMap;

use serde::Serialize;

use super::finding::{self, FindingJson, FixJson};
use super::json::{Doc, HeaderJson};
use super::table;
use super::Style;
use crate::codec::Decoded;
use crate::diagnose::catalogue::Kind;
#[cfg(test)]
use crate::diagnose::explain::Explained;
use crate::diagnose::explain::{Hit, Quoted, Record, Tally};
use crate::judge::Fix;

/// Longest record text shown in the human view.
const SHOWN_CHARS: usize = 240;
/// Line numbers shown per finding in the summary table.
const SHOWN_LINES: usize = 8;
/// Width of the labels in a record's block (`received  `).
const LABEL: usize = 10;

/// The human view of a whole input (tests): every record's block, then
/// the summary.
#[cfg(test)]
pub(crate) fn render(e: &Explained, style: Style) -> String {
    let mut out = String::new();
    for r in &e.records {
        out.push_str(&human_record(r, style, false));
    }
    out.push_str(&human_summary(&e.tally(), style));
    out
}

/// One record, for humans, as soon as it is read: a block for a
/// recognized record; an unrecognized one is only counted, unless
/// `verbose` (one dim line each).
pub(crate) fn human_record(r: &Record, style: Style, verbose: bool) -> String {
    let mut out = String::new();
    match &r.hit {
        Some(hit) => {
            record(&mut out, r, hit, style);
            out.push('\n');
        }
        None if verbose => {
            let head = format!("? line {}  {}", r.line, shorten(&r.text));
            let text = lay_out(style, 0, 2, &head).join("\n");
            let _ = writeln!(out, "{}", style.dim(&text));
        }
        None => {}
    }
    out
}

/// The end of the human view: the findings met, their fixes once, and the
/// counts (unrecognized lines grouped).
pub(crate) fn human_summary(t: &Tally, style: Style) -> String {
    let mut out = String::new();
    if !t.findings.is_empty() {
        let mut table = table::new(style, &["finding", "records", "lines"]);
        for (f, lines) in &t.findings {
            let mut shown: Vec<String> = lines
                .first
                .iter()
                .take(SHOWN_LINES)
                .map(ToString::to_string)
                .collect();
            if lines.count > SHOWN_LINES {
                shown.push("…".into());
            }
            table.add_row(vec![
                finding::cell(*f, style),
                table::number(style, lines.count),
                table::cell(style, &shown.join(", "), table::Tone::Plain),
            ]);
        }
        let _ = writeln!(out, "{table}");
    }
    let fixes = fixes(t);
    if !fixes.is_empty() {
        let _ = writeln!(out, "\n{}", style.bold("What to change (docs/verdicts.md)"));
        out.push_str(&finding::fixes_human(
            &fixes,
            crate::judge::fixes::Case::default(),
            style,
        ));
    }
    let read = if t.interrupted {
        " read before Ctrl-C"
    } else {
        ""
    };
    let verdict = format!("{} of {} line(s){read} recognized", t.recognized, t.records);
    let _ = writeln!(
        out,
        "\n{}",
        if t.recognized > 0 {
            style.good(&verdict)
        } else {
            style.warn(&verdict)
        }
    );
    if t.unrecognized() > 0 {
        let text = format!(
            "{} line(s) not recognized: no pattern in ppctl's catalogue matches them, so no guess is made (-v lists them)",
            t.unrecognized()
        );
        let _ = writeln!(
            out,
            "{}",
            style.dim(&lay_out(style, 0, 0, &text).join("\n"))
        );
    }
    out
}

/// One recognized record: where it came from, the finding, what the
/// message says, what it quoted, the cause and the captured fields.
fn record(out: &mut String, r: &Record, hit: &Hit, style: Style) {
    let _ = writeln!(
        out,
        "{}  {}  {}",
        style.bold(&format!("line {}", r.line)),
        style.bold(hit.pattern.system),
        style.dim(hit.pattern.id)
    );
    let text = lay_out(style, 2, 2, &shorten(&r.text)).join("\n");
    let _ = writeln!(out, "  {}", style.dim(&text));
    let _ = writeln!(out, "  {}", finding::label(hit.finding, style));
    row(out, style, "message", hit.pattern.meaning);
    if let Some(q) = &hit.quoted {
        let text = format!("\"{}\" = {}", shorten(&q.bytes), summary(q));
        row(out, style, "received", &text);
    }
    row(out, style, "cause", hit.cause);
    if !hit.fields.is_empty() {
        let fields: Vec<String> = hit
            .fields
            .iter()
            .map(|(k, v)| format!("{k}={}", printable(v)))
            .collect();
        row(out, style, "fields", &fields.join(" "));
    }
}

/// `  label     value…`, the value wrapped under itself.
fn row(out: &mut String, style: Style, label: &str, value: &str) {
    let lines = lay_out(style, 2 + LABEL, 2 + LABEL, value);
    let head = format!("  {label:<LABEL$}");
    let _ = writeln!(out, "{}{}", style.accent(&head), lines.join("\n"));
}

/// `text` in lines that fit the style's width: the first line follows a
/// `lead` already printed, the others start with `indent` spaces (included);
/// a word longer than a line (a log line's quoted bytes) is cut.
fn lay_out(style: Style, lead: usize, indent: usize, text: &str) -> Vec<String> {
    let width = usize::from(style.width).max(indent + 20);
    let mut lines = Vec::new();
    let mut line = String::new();
    let (mut col, mut start) = (lead, lead);
    let mut next_line = |line: &mut String, col: &mut usize, start: &mut usize| {
        lines.push(std::mem::replace(line, " ".repeat(indent)));
        (*col, *start) = (indent, indent);
    };
    for (i, word) in text.split(' ').enumerate() {
        let len = word.chars().count();
        if i > 0 {
            if col > start && col + 1 + len > width {
                next_line(&mut line, &mut col, &mut start);
            } else {
                line.push(' ');
                col += 1;
            }
        }
        for c in word.chars() {
            if col >= width {
                next_line(&mut line, &mut col, &mut start);
            }
            line.push(c);
            col += 1;
        }
    }
    lines.push(line);
    lines
}

/// What quoted bytes are, in one line.
fn summary(q: &Quoted) -> String {
    let decoded = q.decoded();
    match (q.kind, &decoded) {
        (Kind::ValidHeader, Decoded::Complete(h)) => format!(
            "a valid v{} PROXY header: {} {}",
            h.version.number(),
            h.command.name(),
            HeaderJson::new(&decoded, &q.bytes).tuple()
        ),
        (Kind::HeaderStart, _) => {
            "the start of a PROXY header (the log keeps only its first line)".into()
        }
        (Kind::InvalidHeader, Decoded::Invalid(e)) => format!(
            "a malformed PROXY header: {} (at byte {})",
            e.kind, e.offset
        ),
        (Kind::BadSignature, _) => format!(
            "a v1-like line whose signature is \"{}\" instead of \"PROXY\"",
            printable(q.signature())
        ),
        (Kind::Empty, _) => "nothing (empty)".into(),
        (_, Decoded::NotProxy(s)) => format!("{s}, not a PROXY header"),
        (kind, _) => kind.code().into(),
    }
}

/// Every fix of every finding met, once, in first-met order.
fn fixes(t: &Tally) -> Vec<&'static Fix> {
    let mut out: Vec<&'static Fix> = Vec::new();
    for (f, protocol) in &t.servers {
        let case = crate::judge::fixes::Case {
            protocol: *protocol,
            ..Default::default()
        };
        for fix in f.fixes_for(case) {
            if !out.iter().any(|o| o.id == fix.id) {
                out.push(fix);
            }
        }
    }
    out
}

/// The bytes a record quotes (`bytes`): as text, hex, what they are, and
/// decoded as a header.
#[derive(Serialize)]
struct QuotedJson {
    text: String,
    hex: String,
    kind: &'static str,
    summary: String,
    header: HeaderJson,
}

impl QuotedJson {
    fn of(q: &Quoted) -> Self {
        QuotedJson {
            text: printable(&q.bytes),
            hex: hex::encode(&q.bytes),
            kind: q.kind.code(),
            summary: summary(q),
            header: HeaderJson::new(&q.decoded(), &q.bytes),
        }
    }
}

/// A record: its line, its text, and what it was recognized as.
#[derive(Serialize)]
struct RecordJson {
    line: usize,
    text: String,
    recognized: bool,
    #[serde(flatten)]
    hit: Option<HitJson>,
}

/// A recognized record: the pattern, the finding, the fields it captured,
/// the bytes it quotes, and the ids of its fixes.
#[derive(Serialize)]
struct HitJson {
    pattern: &'static str,
    system: &'static str,
    meaning: &'static str,
    finding: FindingJson,
    cause: &'static str,
    fields: BTreeMap<&'static str, String>,
    bytes: Option<QuotedJson>,
    fixes: Vec<&'static str>,
}

impl RecordJson {
    fn of(r: &Record) -> Self {
        RecordJson {
            line: r.line,
            text: printable(&r.text),
            recognized: r.hit.is_some(),
            hit: r.hit.as_ref().map(HitJson::of),
        }
    }
}

impl HitJson {
    fn of(hit: &Hit) -> Self {
        let case = crate::judge::fixes::Case {
            protocol: hit.pattern.protocol,
            ..Default::default()
        };
        HitJson {
            pattern: hit.pattern.id,
            system: hit.pattern.system,
            meaning: hit.pattern.meaning,
            finding: FindingJson::of(hit.finding),
            cause: hit.cause,
            fields: hit.fields.iter().map(|(k, v)| (*k, printable(v))).collect(),
            bytes: hit.quoted.as_ref().map(QuotedJson::of),
            fixes: hit.finding.fixes_for(case).iter().map(|f| f.id).collect(),
        }
    }
}

/// The end of the `explain` document (after `lines`), and the body of
/// the `explain-summary` line.
#[derive(Serialize)]
struct SummaryJson {
    recognized: usize,
    unrecognized: usize,
    interrupted: bool,
    findings: Vec<CountJson>,
    fixes: Vec<FixJson>,
}

/// A finding met: how many records, and the first lines.
#[derive(Serialize)]
struct CountJson {
    finding: FindingJson,
    count: usize,
    lines: Vec<usize>,
}

impl SummaryJson {
    fn of(t: &Tally) -> Self {
        SummaryJson {
            recognized: t.recognized,
            unrecognized: t.unrecognized(),
            interrupted: t.interrupted,
            findings: t
                .findings
                .iter()
                .map(|(f, lines)| CountJson {
                    finding: FindingJson::of(*f),
                    count: lines.count,
                    lines: lines.first.clone(),
                })
                .collect(),
            fixes: FixJson::list(&fixes(t), crate::judge::fixes::Case::default()),
        }
    }
}

/// The document's opening: its envelope, no field of its own yet.
#[derive(Serialize)]
struct Opening {}

/// The `explain` JSON document, written as the input is read: this opens
/// it, up to the `lines` array.
pub(crate) fn json_open() -> String {
    let head = serde_json::to_string(&Doc::new("explain", Opening {})).unwrap_or_default();
    // `{"type":"explain","schema":3}` without its closing brace.
    format!("{},\"lines\":[\n", head.trim_end_matches('}'))
}

/// One entry of the document's `lines` array (`first`: no comma before).
pub(crate) fn json_entry(r: &Record, first: bool) -> String {
    let sep = if first { "" } else { ",\n" };
    format!(
        "{sep}{}",
        serde_json::to_string(&RecordJson::of(r)).unwrap_or_default()
    )
}

/// The end of the document: the array closed, then the counts, findings
/// and fixes of the whole input.
pub(crate) fn json_close(t: &Tally) -> String {
    let rest = serde_json::to_string(&SummaryJson::of(t)).unwrap_or_default();
    format!("\n],{}\n", &rest[1..])
}

/// `--json-lines`: one line per record (`type` `explain-line`)...
pub(crate) fn json_line(r: &Record) -> String {
    Doc::new("explain-line", RecordJson::of(r)).line()
}

/// ...then one summary line (`type` `explain-summary`).
pub(crate) fn json_summary_line(t: &Tally) -> String {
    Doc::new("explain-summary", SummaryJson::of(t)).line()
}

/// The whole document for a whole input (tests).
#[cfg(test)]
pub(crate) fn json_text(e: &Explained) -> String {
    let mut s = json_open();
    for (i, r) in e.records.iter().enumerate() {
        s.push_str(&json_entry(r, i == 0));
    }
    s.push_str(&json_close(&e.tally()));
    s
}

#[cfg(test)]
fn json(e: &Explained) -> serde_json::Value {
    serde_json::from_str(&json_text(e)).unwrap_or_default()
}

/// Bytes as readable text: UTF-8 kept, controls and invalid bytes escaped.
pub(crate) fn printable(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\r' => out.push_str("\\r"),
                '\n' => out.push_str("\\n"),
                '\t' => out.push_str("\\t"),
                c if c.is_control() => {
                    let _ = write!(out, "\\x{:02X}", c as u32);
                }
                c => out.push(c),
            }
        }
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02X}");
        }
    }
    out
}

/// Printable, cut at [`SHOWN_CHARS`].
fn shorten(bytes: &[u8]) -> String {
    let s = printable(bytes);
    if s.chars().count() <= SHOWN_CHARS {
        return s;
    }
    let cut: String = s.chars().take(SHOWN_CHARS).collect();
    format!("{cut}…")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::explain::explain;

    #[test]
    fn every_line_fits_80_columns() {
        let log = "2026/11/24 10:00:00 [error] 1234#1234: *5 broken header: \"\\x16\\x03\\x01\\x02\\x00\\x01\\x00\\x01\\xFC\\x03\\x03\\x16\\x03\\x01\\x02\\x00\\x01\\x00\\x01\\xFC\\x03\\x03\\x16\\x03\\x01\\x02\\x00\\x01\\x00\\x01\\xFC\\x03\\x03\" while reading PROXY protocol, client: 10.0.0.7, server: 0.0.0.0:443\nthe weather is nice today and this line is long enough to need wrapping at eighty columns for sure\n";
        let text = render(&explain(log.as_bytes()), Style::plain());
        let mut lines = text.lines();
        // Up to the fixes block, which the shared renderer lays out.
        for line in lines
            .by_ref()
            .take_while(|l| !l.starts_with("What to change"))
        {
            assert!(line.chars().count() <= 80, "{line:?}\n{text}");
        }
        assert!(
            text.contains("tls-before-proxy (PP-TLS-BEFORE-PROXY)"),
            "{text}"
        );
    }

    const LOG: &str = concat!(
        "2026/11/24 10:00:00 [error] 1234#1234: *5 broken header: \"GET / HTTP/1.1\" while reading PROXY protocol, client: 10.0.0.7, server: 0.0.0.0:443\n",
        "something else\n",
        "10.0.0.9 - - [24/Nov/2026:10:00:00 +0000] \"PROXY TCP4 203.0.113.7 10.0.0.5 51234 80\" 400 157 \"-\" \"-\"\n",
        "Nov 24 10:00:00 lb haproxy[812]: 10.0.0.7:51234 [24/Nov/2026:10:00:00.123] fe_https/1: Received something which does not look like a PROXY protocol header\n",
    );

    fn style(width: u16, color: bool) -> Style {
        Style {
            color,
            width,
            unicode: color,
        }
    }

    #[test]
    fn human_snapshots() {
        colored::control::set_override(true);
        let e = explain(LOG.as_bytes());
        insta::assert_snapshot!("explain_80_plain", render(&e, style(80, false)));
        insta::assert_snapshot!("explain_120_plain", render(&e, style(120, false)));
        insta::assert_snapshot!("explain_80_color", render(&e, style(80, true)));
        insta::assert_snapshot!("explain_120_color", render(&e, style(120, true)));
    }

    #[test]
    fn json_snapshot() {
        insta::assert_snapshot!("explain_json", json_text(&explain(LOG.as_bytes())));
    }

    #[test]
    fn the_seed_failure_is_named_with_its_code() {
        let j = json(&explain(LOG.as_bytes()));
        assert_eq!(j["type"], "explain");
        assert_eq!(j["schema"], 3);
        assert_eq!(j["lines"][2]["finding"]["code"], "PP-UNEXPECTED-HEADER");
        assert_eq!(j["lines"][2]["finding"]["name"], "unexpected-header");
        assert_eq!(j["lines"][0]["finding"]["code"], "PP-MISSING-HEADER");
        assert_eq!(j["recognized"], 3);
    }

    #[test]
    fn printable_escapes_controls_and_invalid_bytes() {
        assert_eq!(printable(b"a\r\n\x00\xff"), "a\\r\\n\\x00\\xFF");
    }
}
