//! `explain`: match pasted log lines and error messages against the
//! [`catalogue`] and say which system wrote each, what it
//! means, the likely cause and the judge's finding it comes to (its name,
//! code and fixes are the judge's). Lines nothing matches are reported
//! as not recognized: no guessing. The input is read as a stream
//! ([`Records`]), one record at a time, in bounded memory.
//!
//! Bytes quoted in a message (nginx's `broken header: "…"`, the request line
//! of a 400) are unescaped and decoded with the codec, because what arrived
//! decides the cause: `GET /` means a client skipped the load balancer, a
//! ClientHello means a TLS client did, `PROXY TCP4` on a plain port means
//! the header went to a port that does not expect one.

use std::collections::{BTreeMap, VecDeque};
use std::io::{self, BufRead};
use std::sync::OnceLock;

use regex::bytes::{Regex, RegexSet};

use super::catalogue::{self, Captured, Kind, Pattern, PATTERNS};
use crate::codec::{self, Decoded};
use crate::judge::Finding;
use crate::protocol::Protocol;

/// Longest run of following lines joined to close a quote that a message
/// opened (nginx writes received bytes raw, CR/LF included).
const MAX_JOINED_LINES: usize = 20;

/// Longest line kept; the rest of a longer line is read and dropped (a log
/// line is a few hundred bytes; nginx quotes at most a few KiB).
pub(crate) const MAX_LINE: usize = 64 * 1024;

/// Line numbers kept per finding in the [`Tally`] (the count is exact).
pub(crate) const LISTED_LINES: usize = 100;

/// Records of a whole input held at once (tests).
#[cfg(test)]
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

/// What a run came to so far, in bounded memory: counts, and for each
/// finding met (in first-met order) its count and first line numbers.
#[derive(Debug, Clone, Default)]
pub(crate) struct Tally {
    pub records: usize,
    pub recognized: usize,
    pub findings: Vec<(Finding, Lines)>,
    /// Each finding met with the protocol of the server that wrote it
    /// (`None`: HTTP or any), once, in first-met order: whose fixes apply.
    pub servers: Vec<(Finding, Option<Protocol>)>,
    /// The read was ended early (Ctrl-C): the counts cover the records
    /// read until then.
    pub interrupted: bool,
}

/// The records that came to one finding.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Lines {
    pub count: usize,
    /// The first [`LISTED_LINES`] line numbers.
    pub first: Vec<usize>,
}

impl Tally {
    pub(crate) fn add(&mut self, r: &Record) {
        self.records += 1;
        let Some(hit) = &r.hit else { return };
        self.recognized += 1;
        let at = match self.findings.iter().position(|(f, _)| *f == hit.finding) {
            Some(at) => at,
            None => {
                self.findings.push((hit.finding, Lines::default()));
                self.findings.len() - 1
            }
        };
        let server = (hit.finding, hit.pattern.protocol);
        if !self.servers.contains(&server) {
            self.servers.push(server);
        }
        let lines = &mut self.findings[at].1;
        lines.count += 1;
        if lines.first.len() < LISTED_LINES {
            lines.first.push(r.line);
        }
    }

    pub(crate) fn unrecognized(&self) -> usize {
        self.records - self.recognized
    }
}

#[cfg(test)]
impl Explained {
    pub(crate) fn tally(&self) -> Tally {
        let mut t = Tally::default();
        for r in &self.records {
            t.add(r);
        }
        t
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

/// Explain every non-blank record of `input`, held whole.
#[cfg(test)]
pub(crate) fn explain(input: &[u8]) -> Explained {
    // Reading from a slice cannot fail.
    let records = Records::new(input).filter_map(Result::ok).collect();
    Explained { records }
}

/// The records of a log read line by line, explained one at a time, in
/// bounded memory: a line is kept up to [`MAX_LINE`] bytes, and at most
/// [`MAX_JOINED_LINES`] lines are held to close a quote. A record is given
/// as soon as its last line has been read, so `tail -f log | ppctl explain -`
/// shows each event as it is written.
///
/// A record is a line, except that a message which opens a quote of
/// received bytes and does not close it on the same line (nginx logs a
/// `broken header` with the CR/LF it received) takes the following lines
/// up to the one that closes it. Joining stops at a line that begins a new
/// log entry (a timestamp, or the opening line's prefix): an unclosed quote
/// never swallows the next event.
pub(crate) struct Records<R> {
    input: R,
    /// Lines read ahead while looking for a closing quote.
    ahead: VecDeque<(usize, Vec<u8>)>,
    /// Number of the last line read from `input`.
    read: usize,
    done: bool,
    /// The last read used up what `input` had buffered: the next one asks
    /// the OS, and may wait (a pipe from `tail -f`).
    drained: bool,
}

impl<R: BufRead> Records<R> {
    pub(crate) fn new(input: R) -> Self {
        Records {
            input,
            ahead: VecDeque::new(),
            read: 0,
            done: false,
            drained: true,
        }
    }

    /// Nothing is buffered ahead: reading the next record may wait for
    /// input, so what was written so far should be flushed now.
    pub(crate) fn drained(&self) -> bool {
        self.ahead.is_empty() && self.drained
    }

    /// The next line, from the lookahead or the input.
    fn line(&mut self) -> io::Result<Option<(usize, Vec<u8>)>> {
        if let Some(l) = self.ahead.pop_front() {
            return Ok(Some(l));
        }
        self.read_line()
    }

    /// A line from the input (without its `\n`), cut at [`MAX_LINE`].
    fn read_line(&mut self) -> io::Result<Option<(usize, Vec<u8>)>> {
        if self.done {
            return Ok(None);
        }
        let mut line = Vec::new();
        let mut any = false;
        loop {
            let buf = match self.input.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if buf.is_empty() {
                self.done = true;
                break;
            }
            any = true;
            let (take, used, end) = match memchr::memchr(b'\n', buf) {
                Some(at) => (at, at + 1, true),
                None => (buf.len(), buf.len(), false),
            };
            let room = MAX_LINE.saturating_sub(line.len());
            line.extend_from_slice(&buf[..take.min(room)]);
            self.drained = used == buf.len();
            self.input.consume(used);
            if end {
                break;
            }
        }
        if !any {
            return Ok(None);
        }
        self.read += 1;
        Ok(Some((self.read, line)))
    }

    /// The next record's lines: a line, and the lines that close its quote.
    fn next_record(&mut self) -> io::Result<Option<(usize, Vec<u8>)>> {
        let (number, line) = loop {
            match self.line()? {
                None => return Ok(None),
                Some((_, l)) if trim_cr(&l).iter().all(|b| b.is_ascii_whitespace()) => {}
                Some(l) => break l,
            }
        };
        let mut record = line;
        if opens_unclosed_quote(&record) {
            // Look ahead (reading more only as needed) for the closing line.
            let mut k = 0;
            let close = loop {
                if k == MAX_JOINED_LINES {
                    break None;
                }
                if k == self.ahead.len() {
                    match self.read_line()? {
                        Some(l) => self.ahead.push_back(l),
                        None => break None,
                    }
                }
                let next = &self.ahead[k].1;
                if starts_entry(next, &record) {
                    break None;
                }
                if closes_quote(next) {
                    break Some(k);
                }
                k += 1;
            };
            if let Some(k) = close {
                for (_, l) in self.ahead.drain(..=k) {
                    record.push(b'\n');
                    record.extend_from_slice(&l);
                }
            }
        }
        Ok(Some((number, record)))
    }
}

impl<R: BufRead> Iterator for Records<R> {
    type Item = io::Result<Record>;

    fn next(&mut self) -> Option<Self::Item> {
        match self.next_record() {
            Err(e) => Some(Err(e)),
            Ok(None) => None,
            Ok(Some((line, record))) => {
                let hit = match_record(&record);
                Some(Ok(Record {
                    line,
                    text: trim_cr(&record).to_vec(),
                    hit,
                }))
            }
        }
    }
}

/// Whether `line` begins a new log entry rather than continuing the quote
/// opened by `opener`: it starts with a timestamp in a common log format,
/// or with the same shape of prefix as the opener (digits for digits,
/// letters for letters, up to its first 19 characters).
fn starts_entry(line: &[u8], opener: &[u8]) -> bool {
    static ENTRY: OnceLock<Option<Regex>> = OnceLock::new();
    let entry = ENTRY.get_or_init(|| {
        Regex::new(concat!(
            r"^(?:\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2} \[",
            r"|\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}",
            r"|[A-Z][a-z]{2} [ \d]\d \d{2}:\d{2}:\d{2} ",
            r"|\S+ \S+ \S+ \[\d{2}/[A-Z][a-z]{2}/\d{4}:",
            r#"|\{")"#,
        ))
        .ok()
    });
    if entry.as_ref().is_some_and(|re| re.is_match(line)) {
        return true;
    }
    let shape = |b: u8| match b {
        b'0'..=b'9' => b'0',
        b'a'..=b'z' | b'A'..=b'Z' => b'a',
        other => other,
    };
    let n = 19.min(find(opener, OPEN).unwrap_or(0));
    let digits = opener[..n].iter().filter(|b| b.is_ascii_digit()).count();
    n > 0
        && digits >= 4
        && line.len() >= n
        && opener[..n]
            .iter()
            .zip(&line[..n])
            .all(|(&a, &b)| shape(a) == shape(b))
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
    fn an_unclosed_quote_stops_at_the_next_entry() {
        let input = b"2026/11/24 10:00:00 [error] 1#1: *5 broken header: \"GET / HTTP/1.1\nHost: a\n2026/11/24 10:00:01 [error] 1#1: *6 broken header: \"\" while reading PROXY protocol, client: 10.0.0.8, server: 0.0.0.0:80\n";
        let r = explain(input);
        assert_eq!(r.records.len(), 3);
        // The first line alone is still nginx's entry (what grep returns).
        let first = r.records[0].hit.as_ref().expect("the entry's first line");
        assert_eq!(first.pattern.id, "nginx-broken-header-first-line");
        assert_eq!(first.finding, Finding::MissingHeader);
        assert!(!first.fields.contains_key("client"));
        assert!(r.records[1].hit.is_none());
        assert_eq!(r.records[1].line, 2);
        assert_eq!(r.records[2].line, 3);
        let f = r.records[2].hit.as_ref().expect("recognized");
        assert_eq!(
            f.fields.get("client").map(Vec::as_slice),
            Some(&b"10.0.0.8"[..])
        );
    }

    #[test]
    fn long_lines_are_cut_and_records_counted() {
        let mut input = vec![b'x'; MAX_LINE * 3];
        input.extend_from_slice(b"\nshort\n\n\nlast");
        let r = explain(&input);
        assert_eq!(r.records.len(), 3);
        assert_eq!(r.records[0].text.len(), MAX_LINE);
        assert_eq!((r.records[1].line, r.records[2].line), (2, 5));
        let t = r.tally();
        assert_eq!((t.records, t.recognized, t.unrecognized()), (3, 0, 3));
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
