//! `explain`: match pasted log lines and error messages against the
//! [`catalogue`](super::catalogue) and say which system wrote each, what it
//! means, the likely cause and the fix. Lines nothing matches are reported
//! as not recognized: no guessing.
//!
//! Bytes quoted in a message (nginx's `broken header: "…"`, the request line
//! of a 400) are unescaped and decoded with the codec, because what arrived
//! decides the cause: `GET /` means a client skipped the load balancer, a
//! ClientHello means a TLS client did, `PROXY TCP4` on a plain port means
//! the header went to a port that does not expect one.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::OnceLock;

use regex::bytes::{Regex, RegexSet};
use serde::Serialize;

use super::catalogue::{self, Captured, Pattern, PATTERNS};
use super::fixes::{self, Fix};
use crate::codec::{self, Decoded};
use crate::report::json::{HeaderJson, SCHEMA};
use crate::report::Style;

/// Longest run of following lines joined to close a quote that a message
/// opened (nginx writes received bytes raw, CR/LF included).
const MAX_JOINED_LINES: usize = 20;
/// Longest line shown in the human view.
const SHOWN_CHARS: usize = 240;

/// The whole result: one entry per non-blank input record.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub schema: u32,
    pub recognized: usize,
    pub unrecognized: usize,
    pub lines: Vec<LineResult>,
    /// Every fix cited by a line, once, in first-cited order.
    pub fixes: Vec<&'static Fix>,
}

/// One input record (a line, or lines joined to close a quote).
#[derive(Debug, Clone, Serialize)]
pub struct LineResult {
    /// 1-based number of the record's first input line.
    pub line: usize,
    /// The record, printable: control and non-UTF-8 bytes escaped as `\xNN`.
    pub text: String,
    pub recognized: bool,
    #[serde(flatten)]
    pub finding: Option<Finding>,
}

/// What a recognized record means.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// The catalogue pattern id.
    pub pattern: &'static str,
    pub system: &'static str,
    pub meaning: &'static str,
    pub cause: String,
    /// Named captures other than the quoted bytes (client, server, count…).
    pub fields: BTreeMap<String, String>,
    /// The quoted bytes, decoded, when the message carries some.
    pub bytes: Option<BytesFinding>,
    /// Fix ids (details in the report's `fixes`).
    pub fixes: Vec<&'static str>,
}

/// Bytes quoted in a message, unescaped and decoded.
#[derive(Debug, Clone, Serialize)]
pub struct BytesFinding {
    /// Printable form of the unescaped bytes.
    pub text: String,
    pub hex: String,
    /// `empty`, `valid-header`, `header-start`, `invalid-header`, or a sniff code.
    pub kind: &'static str,
    /// One-line description of what the bytes are.
    pub summary: String,
    /// The codec's view, in the inspect schema.
    pub header: HeaderJson,
}

impl Report {
    pub fn any_recognized(&self) -> bool {
        self.recognized > 0
    }
}

/// The catalogue, compiled once: each pattern's regex, and a set of all of
/// them so a line that matches nothing (most of a log) costs one scan.
struct Compiled {
    patterns: Vec<(Pattern, Regex)>,
    set: Option<RegexSet>,
}

fn compiled() -> &'static Compiled {
    static RE: OnceLock<Compiled> = OnceLock::new();
    RE.get_or_init(|| {
        // Every pattern compiles (unit-tested); one that did not would be
        // skipped rather than take the command down.
        let patterns: Vec<(Pattern, Regex)> = PATTERNS
            .iter()
            .filter_map(|p| Regex::new(p.regex).ok().map(|r| (*p, r)))
            .collect();
        let set = RegexSet::new(patterns.iter().map(|(p, _)| p.regex)).ok();
        Compiled { patterns, set }
    })
}

/// Explain every non-blank line of `input`.
pub fn explain(input: &[u8]) -> Report {
    let mut lines = Vec::new();
    for (number, record) in records(input) {
        let finding = match_record(&record);
        lines.push(LineResult {
            line: number,
            text: printable(trim_cr(&record)),
            recognized: finding.is_some(),
            finding,
        });
    }
    let recognized = lines.iter().filter(|l| l.recognized).count();
    let fixes = fixes::collect(
        lines
            .iter()
            .filter_map(|l| l.finding.as_ref())
            .flat_map(|f| f.fixes.iter().copied()),
    );
    Report {
        schema: SCHEMA,
        recognized,
        unrecognized: lines.len() - recognized,
        lines,
        fixes,
    }
}

/// Split into records: lines, except that a message which opens a quote of
/// received bytes and does not close it on the same line (nginx logs a
/// `broken header` with the CR/LF it received) takes the following lines
/// up to the one that closes it.
fn records(input: &[u8]) -> Vec<(usize, Vec<u8>)> {
    let raw: Vec<&[u8]> = input.split(|&b| b == b'\n').collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < raw.len() {
        let line = raw[i];
        let number = i + 1;
        i += 1;
        if trim_cr(line).iter().all(|b| b.is_ascii_whitespace()) {
            continue;
        }
        let mut record = line.to_vec();
        if opens_unclosed_quote(line) {
            let end = raw[i..]
                .iter()
                .take(MAX_JOINED_LINES)
                .position(|l| closes_quote(l));
            if let Some(k) = end {
                for l in &raw[i..=i + k] {
                    record.push(b'\n');
                    record.extend_from_slice(l);
                }
                i += k + 1;
            }
        }
        out.push((number, record));
    }
    out
}

const OPEN: &[u8] = b"broken header: \"";
const CLOSE: &[u8] = b"\" while reading PROXY protocol";

fn opens_unclosed_quote(line: &[u8]) -> bool {
    find(line, OPEN).is_some_and(|at| find(&line[at..], CLOSE).is_none())
}

fn closes_quote(line: &[u8]) -> bool {
    find(line, CLOSE).is_some()
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn trim_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Try each pattern in order; the first match wins.
fn match_record(record: &[u8]) -> Option<Finding> {
    let c = compiled();
    let candidates: Vec<usize> = match &c.set {
        Some(set) => set.matches(record).into_iter().collect(),
        None => (0..c.patterns.len()).collect(),
    };
    candidates.into_iter().find_map(|i| {
        let (p, re) = &c.patterns[i];
        let caps = re.captures(record)?;
        let mut fields = BTreeMap::new();
        for name in re.capture_names().flatten() {
            if name == "data" {
                continue;
            }
            if let Some(m) = caps.name(name) {
                fields.insert(name.to_string(), printable(m.as_bytes()));
            }
        }
        let mut finding = Finding {
            pattern: p.id,
            system: p.system,
            meaning: p.meaning,
            cause: p.cause.to_string(),
            fields,
            bytes: None,
            fixes: p.fixes.to_vec(),
        };
        if p.captured != Captured::Nothing {
            let data = caps.name("data").map(|m| m.as_bytes()).unwrap_or(b"");
            let (bytes, rule) = analyze(data, p.captured);
            if let Some(rule) = rule {
                finding.cause = rule.cause.to_string();
                finding.fixes = rule.fixes.to_vec();
            }
            finding.bytes = Some(bytes);
        }
        Some(finding)
    })
}

/// Unescape, decode and classify quoted bytes; pick the rule that gives
/// their cause in this context.
fn analyze(
    quoted: &[u8],
    context: Captured,
) -> (BytesFinding, Option<&'static catalogue::BytesRule>) {
    let mut bytes = unescape(quoted);
    // nginx's HTTP parser skips blank lines before a request line, so a v2
    // signature (\r\n\r\n\0\r\nQUIT\n) shows up as a request line "\x00".
    if context == Captured::NoHeaderExpected && (bytes == [0] || bytes.starts_with(b"\0\r\nQUIT")) {
        bytes.splice(0..0, *b"\r\n\r\n");
    }
    // nginx logs a line up to its CR/LF, so a v1 header arrives without its
    // CRLF; restore it so the codec judges the fields, not the ending.
    if bytes.starts_with(b"PROXY ") && !bytes.contains(&b'\n') {
        bytes.extend_from_slice(b"\r\n");
    }
    let decoded = codec::decode_final(&bytes);
    let (kind, summary) = match &decoded {
        Decoded::Complete(h) => (
            "valid-header",
            format!(
                "a valid v{} PROXY header: {} {}",
                h.version.number(),
                h.command.name(),
                HeaderJson::new(&decoded, &bytes).tuple()
            ),
        ),
        Decoded::Invalid(e)
            if matches!(e.kind, codec::ErrorKind::Truncated { .. })
                && codec::looks_like_header_start(&bytes) =>
        {
            (
                "header-start",
                "the start of a PROXY header (the log keeps only its first line)".to_string(),
            )
        }
        Decoded::Invalid(e) => (
            "invalid-header",
            format!(
                "a malformed PROXY header: {} (at byte {})",
                e.kind, e.offset
            ),
        ),
        Decoded::NotProxy(crate::sniff::Sniffed::Empty) | Decoded::Incomplete { .. } => {
            ("empty", "nothing (empty)".to_string())
        }
        // "PROXZ TCP4 ..." parses as an HTTP request with method PROXZ; it
        // is a v1 header with a broken signature, i.e. a sender bug.
        Decoded::NotProxy(_) if bytes.len() >= 4 && bytes[..4].eq_ignore_ascii_case(b"PROX") => {
            let word = bytes.split(|&b| b == b' ').next().unwrap_or(&bytes[..4]);
            (
                "invalid-header",
                format!(
                    "a v1-like line whose signature is \"{}\" instead of \"PROXY\"",
                    printable(word)
                ),
            )
        }
        Decoded::NotProxy(s) => (s.code(), format!("{s}, not a PROXY header")),
    };
    let finding = BytesFinding {
        text: printable(&bytes),
        hex: hex::encode(&bytes),
        kind,
        summary,
        header: HeaderJson::new(&decoded, &bytes),
    };
    (finding, catalogue::bytes_rule(context, kind))
}

/// Undo the escaping logs apply to received bytes: nginx's `\xNN`, C-style
/// `\r \n \t \\ \"`, and JSON's `\u00NN` (container log shippers).
/// Anything else is kept as is.
pub fn unescape(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        if s[i] == b'\\' && i + 1 < s.len() {
            let next = s[i + 1];
            let simple = match next {
                b'r' => Some(b'\r'),
                b'n' => Some(b'\n'),
                b't' => Some(b'\t'),
                b'0' => Some(0),
                b'\\' => Some(b'\\'),
                b'"' => Some(b'"'),
                _ => None,
            };
            if let Some(b) = simple {
                out.push(b);
                i += 2;
                continue;
            }
            if next == b'x' {
                if let Some(b) = s.get(i + 2..i + 4).and_then(hex_byte) {
                    out.push(b);
                    i += 4;
                    continue;
                }
            }
            if next == b'u' {
                if let Some(b) = s
                    .get(i + 2..i + 6)
                    .filter(|d| d.starts_with(b"00"))
                    .and_then(|d| hex_byte(&d[2..]))
                {
                    out.push(b);
                    i += 6;
                    continue;
                }
            }
        }
        out.push(s[i]);
        i += 1;
    }
    out
}

fn hex_byte(two: &[u8]) -> Option<u8> {
    let s = std::str::from_utf8(two).ok()?;
    u8::from_str_radix(s, 16).ok()
}

/// Bytes as readable text: UTF-8 kept, controls and invalid bytes escaped.
pub fn printable(bytes: &[u8]) -> String {
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

/// Human view: one block per record, then the cited fixes once.
pub fn render_human(report: &Report, style: Style) -> String {
    let mut out = String::new();
    for l in &report.lines {
        match &l.finding {
            Some(f) => {
                let _ = writeln!(
                    out,
                    "{} line {}  {}  {}",
                    style.good("✔"),
                    l.line,
                    style.bold(f.system),
                    style.dim(f.pattern)
                );
                let _ = writeln!(out, "    {}", style.dim(&shorten(&l.text)));
                row(&mut out, style, "meaning", f.meaning);
                if let Some(b) = &f.bytes {
                    row(
                        &mut out,
                        style,
                        "received",
                        &format!("\"{}\" = {}", shorten(&b.text), b.summary),
                    );
                }
                row(&mut out, style, "cause", &f.cause);
                if !f.fields.is_empty() {
                    let fields: Vec<String> =
                        f.fields.iter().map(|(k, v)| format!("{k}={v}")).collect();
                    row(&mut out, style, "fields", &fields.join(" "));
                }
                if !f.fixes.is_empty() {
                    row(&mut out, style, "fixes", &f.fixes.join(", "));
                }
            }
            None => {
                let _ = writeln!(
                    out,
                    "{} line {}  not recognized: no pattern in ppctl's catalogue matches this line, so no guess is made",
                    style.warn("?"),
                    l.line,
                );
                let _ = writeln!(out, "    {}", style.dim(&shorten(&l.text)));
            }
        }
        out.push('\n');
    }
    if !report.fixes.is_empty() {
        let _ = writeln!(out, "{}", style.bold("What to change"));
        out.push_str(&crate::report::finding::fixes_human(&report.fixes, style));
        out.push('\n');
    }
    let verdict = format!(
        "{} of {} line(s) recognized",
        report.recognized,
        report.recognized + report.unrecognized
    );
    let _ = writeln!(
        out,
        "{}",
        if report.any_recognized() {
            style.good(&verdict)
        } else {
            style.warn(&verdict)
        }
    );
    out
}

fn row(out: &mut String, style: Style, label: &str, value: &str) {
    let _ = writeln!(out, "    {} {value}", style.accent(&format!("{label:<9}")));
}

fn shorten(s: &str) -> String {
    if s.chars().count() <= SHOWN_CHARS {
        return s.to_string();
    }
    let cut: String = s.chars().take(SHOWN_CHARS).collect();
    format!("{cut}…")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unescapes_nginx_and_json_forms() {
        assert_eq!(unescape(br"\x16\x03\x01"), vec![0x16, 3, 1]);
        assert_eq!(unescape(br"a\r\nb\u0016\\"), b"a\r\nb\x16\\".to_vec());
        assert_eq!(unescape(br"\xZZ\"), br"\xZZ\".to_vec());
    }

    #[test]
    fn joins_a_broken_header_split_by_raw_crlf() {
        let input = b"x [error] 1#1: *5 broken header: \"GET / HTTP/1.1\r\nHost: a\r\n\r\n\" while reading PROXY protocol, client: 10.0.0.7, server: 0.0.0.0:80\nnext\n";
        let r = explain(input);
        assert_eq!(r.lines.len(), 2);
        let f = r.lines[0].finding.as_ref().expect("recognized");
        assert_eq!(f.bytes.as_ref().map(|b| b.kind), Some("http-request"));
        assert_eq!(f.fields.get("client").map(String::as_str), Some("10.0.0.7"));
        assert!(!r.lines[1].recognized);
        assert_eq!(r.lines[1].line, 5);
    }

    #[test]
    fn v2_residue_in_a_request_line_is_a_header() {
        let r = explain(br#"127.0.0.1 - - [24/Nov/2026:19:07:30 +0000] "\x00" 400 157 "-" "-""#);
        let f = r.lines[0].finding.as_ref().expect("recognized");
        assert_eq!(f.bytes.as_ref().map(|b| b.kind), Some("header-start"));
        assert!(f.fixes.contains(&"nginx-listen-proxy-protocol"));
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        for input in [
            &b"\xff\xfe\\x"[..],
            b"broken header: \"",
            b"\\u00",
            b"\n\n\r\n",
        ] {
            let _ = explain(input);
        }
    }
}
