//! `explain`: match pasted log lines and error messages against the
//! [`catalogue`](super::catalogue) and say which system wrote each, what it
//! means, the likely cause and the judge's finding it comes to (its name,
//! code and fixes are the judge's). Lines nothing matches are reported
//! as not recognized: no guessing.
//!
//! Bytes quoted in a message (nginx's `broken header: "…"`, the request line
//! of a 400) are unescaped and decoded with the codec, because what arrived
//! decides the cause: `GET /` means a client skipped the load balancer, a
//! ClientHello means a TLS client did, `PROXY TCP4` on a plain port means
//! the header went to a port that does not expect one.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use regex::bytes::{Regex, RegexSet};

use super::catalogue::{self, Captured, Kind, Pattern, PATTERNS};
use crate::codec::{self, Decoded};
use crate::judge::Finding;

/// Longest run of following lines joined to close a quote that a message
/// opened (nginx writes received bytes raw, CR/LF included).
const MAX_JOINED_LINES: usize = 20;

/// The whole result: one record per non-blank input record.
#[derive(Debug, Clone)]
pub(crate) struct Explained {
    pub records: Vec<Record>,
}

/// One input record (a line, or lines joined to close a quote).
#[derive(Debug, Clone)]
pub(crate) struct Record {
    /// 1-based number of the record's first input line.
    pub line: usize,
    /// The record's bytes, without the final CR.
    pub text: Vec<u8>,
    /// What it means, when a pattern matched.
    pub hit: Option<Hit>,
}

/// What a recognized record means.
#[derive(Debug, Clone)]
pub(crate) struct Hit {
    pub pattern: &'static Pattern,
    /// The judge's finding this message comes to.
    pub finding: Finding,
    pub cause: &'static str,
    /// Named captures other than the quoted bytes (client, server, count…).
    pub fields: BTreeMap<&'static str, Vec<u8>>,
    /// The quoted bytes, when the message carries some.
    pub quoted: Option<Quoted>,
}

/// Bytes quoted in a message, unescaped, and what they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Quoted {
    pub bytes: Vec<u8>,
    pub kind: Kind,
}

impl Quoted {
    /// The codec's reading of the bytes, taken as all there is.
    pub(crate) fn decoded(&self) -> Decoded<'_> {
        codec::decode_final(&self.bytes)
    }

    /// For [`Kind::BadSignature`]: the first word, where `PROXY` should be.
    pub(crate) fn signature(&self) -> &[u8] {
        self.bytes
            .split(|&b| b == b' ')
            .next()
            .unwrap_or(&self.bytes)
    }
}

impl Explained {
    pub(crate) fn recognized(&self) -> usize {
        self.records.iter().filter(|r| r.hit.is_some()).count()
    }

    pub(crate) fn unrecognized(&self) -> usize {
        self.records.len() - self.recognized()
    }

    /// Each finding met, once, in first-met order, with the line numbers
    /// of the records that came to it.
    pub(crate) fn findings(&self) -> Vec<(Finding, Vec<usize>)> {
        let mut out: Vec<(Finding, Vec<usize>)> = Vec::new();
        for r in &self.records {
            let Some(hit) = &r.hit else { continue };
            match out.iter_mut().find(|(f, _)| *f == hit.finding) {
                Some((_, lines)) => lines.push(r.line),
                None => out.push((hit.finding, vec![r.line])),
            }
        }
        out
    }
}

/// The catalogue, compiled once: each pattern's regex, and a set of all of
/// them so a line that matches nothing (most of a log) costs one scan.
struct Compiled {
    patterns: Vec<(&'static Pattern, Regex)>,
    set: Option<RegexSet>,
}

fn compiled() -> &'static Compiled {
    static RE: OnceLock<Compiled> = OnceLock::new();
    RE.get_or_init(|| {
        // Every pattern compiles (unit-tested); one that did not would be
        // skipped rather than take the command down.
        let patterns: Vec<(&'static Pattern, Regex)> = PATTERNS
            .iter()
            .filter_map(|p| Regex::new(p.regex).ok().map(|r| (p, r)))
            .collect();
        let set = RegexSet::new(patterns.iter().map(|(p, _)| p.regex)).ok();
        Compiled { patterns, set }
    })
}

/// Explain every non-blank line of `input`.
pub(crate) fn explain(input: &[u8]) -> Explained {
    let records = records(input)
        .into_iter()
        .map(|(line, record)| {
            let hit = match_record(&record);
            Record {
                line,
                text: trim_cr(&record).to_vec(),
                hit,
            }
        })
        .collect();
    Explained { records }
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
fn match_record(record: &[u8]) -> Option<Hit> {
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
                fields.insert(name, m.as_bytes().to_vec());
            }
        }
        let mut hit = Hit {
            pattern: p,
            finding: p.finding,
            cause: p.cause,
            fields,
            quoted: None,
        };
        if p.captured != Captured::Nothing {
            let data = caps.name("data").map(|m| m.as_bytes()).unwrap_or(b"");
            let quoted = analyze(data, p.captured);
            if let Some(rule) = catalogue::bytes_rule(p.captured, quoted.kind) {
                hit.cause = rule.cause;
                hit.finding = rule.finding;
            }
            hit.quoted = Some(quoted);
        }
        Some(hit)
    })
}

/// Unescape and classify quoted bytes.
fn analyze(quoted: &[u8], context: Captured) -> Quoted {
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
    let kind = match codec::decode_final(&bytes) {
        Decoded::Complete(_) => Kind::ValidHeader,
        Decoded::Invalid(e)
            if matches!(e.kind, codec::ErrorKind::Truncated { .. })
                && codec::looks_like_header_start(&bytes) =>
        {
            Kind::HeaderStart
        }
        Decoded::Invalid(_) => Kind::InvalidHeader,
        Decoded::NotProxy(crate::sniff::Sniffed::Empty) | Decoded::Incomplete { .. } => Kind::Empty,
        // "PROXZ TCP4 ..." parses as an HTTP request with method PROXZ; it
        // is a v1 header with a broken signature, i.e. a sender bug.
        Decoded::NotProxy(_) if bytes.len() >= 4 && bytes[..4].eq_ignore_ascii_case(b"PROX") => {
            Kind::BadSignature
        }
        Decoded::NotProxy(s) => Kind::Other(s.code()),
    };
    Quoted { bytes, kind }
}

/// Undo the escaping logs apply to received bytes: nginx's `\xNN`, C-style
/// `\r \n \t \\ \"`, and JSON's `\u00NN` (container log shippers).
/// Anything else is kept as is.
pub(crate) fn unescape(s: &[u8]) -> Vec<u8> {
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
        assert_eq!(r.records.len(), 2);
        let f = r.records[0].hit.as_ref().expect("recognized");
        assert_eq!(
            f.quoted.as_ref().map(|b| b.kind),
            Some(Kind::Other("http-request"))
        );
        assert_eq!(f.finding, Finding::MissingHeader);
        assert_eq!(
            f.fields.get("client").map(Vec::as_slice),
            Some(&b"10.0.0.7"[..])
        );
        assert!(r.records[1].hit.is_none());
        assert_eq!(r.records[1].line, 5);
    }

    #[test]
    fn v2_residue_in_a_request_line_is_a_header() {
        let r = explain(br#"127.0.0.1 - - [24/Nov/2026:19:07:30 +0000] "\x00" 400 157 "-" "-""#);
        let f = r.records[0].hit.as_ref().expect("recognized");
        assert_eq!(f.quoted.as_ref().map(|b| b.kind), Some(Kind::HeaderStart));
        assert_eq!(f.finding, Finding::UnexpectedHeader);
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
