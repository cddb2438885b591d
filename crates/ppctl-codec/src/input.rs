//! Turning what a user typed, pasted or piped into bytes, and saying which
//! form it was in: plain hex (spaces, `0x`, `:` and `\x` separators
//! allowed), the hex dumps of `tcpdump -X`/`-xx`, `tshark -x`, `xxd` and
//! `hexdump -C`, base64 (as Go's JSON logs write byte slices), Python
//! `b'…'` literals, text with `\r \n \t \0 \\ \xNN` escapes, or raw bytes.
//! The guess is automatic; [`Encoding`] forces it. Pure: no I/O.

use thiserror::Error;

/// How to read input bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Encoding {
    /// Recognise the form: a dump, hex, base64, a Python literal, else
    /// escaped text (argument) or raw bytes (file, stdin).
    #[default]
    Auto,
    /// Hex digits (separators ignored), or a tcpdump/tshark/xxd/hexdump dump.
    Hex,
    /// Base64 (standard or URL-safe alphabet, padding optional).
    Base64,
    /// Text with \r \n \t \0 \\ \xNN escapes (for an argument).
    Text,
    /// The bytes as they are (for a file or stdin).
    Raw,
}

impl Encoding {
    /// Every encoding, in the order `--help` lists them.
    pub const ALL: [Encoding; 5] = [
        Encoding::Auto,
        Encoding::Hex,
        Encoding::Base64,
        Encoding::Text,
        Encoding::Raw,
    ];

    /// The name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Encoding::Auto => "auto",
            Encoding::Hex => "hex",
            Encoding::Base64 => "base64",
            Encoding::Text => "text",
            Encoding::Raw => "raw",
        }
    }

    /// What the encoding means, in one line (for `--help`).
    pub fn describe(self) -> &'static str {
        match self {
            Encoding::Auto => {
                "recognise hex, a tcpdump/tshark/xxd/hexdump dump, base64 or a Python b'...' literal; else escaped text (argument) or raw bytes (file, stdin)"
            }
            Encoding::Hex => {
                "hex digits (whitespace, `0x`, `:`, `-` and `\\x` separators are ignored), or a tcpdump -X/-xx, tshark -x, xxd or hexdump -C dump"
            }
            Encoding::Base64 => "base64, standard or URL-safe, padding optional",
            Encoding::Text => "text with \\r \\n \\t \\0 \\\\ \\xNN escapes (for an argument)",
            Encoding::Raw => "the bytes as they are (for a file or stdin)",
        }
    }
}

/// The form the input was read in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// Bytes as they are.
    Raw,
    /// Text with backslash escapes.
    Text,
    /// Plain hex digits.
    Hex,
    /// `tcpdump -X` or `-xx` (`0x0000:  4500 0034 ...`).
    Tcpdump,
    /// `tshark -x` or Wireshark's "copy as hex dump" (`0000  45 00 ...`).
    Tshark,
    /// `xxd` (`00000000: 5052 4f58 ...`).
    Xxd,
    /// `hexdump -C` (`00000000  50 52 4f 58 ...  |PROX|`).
    HexdumpC,
    /// Another offset-per-line hex dump.
    HexDump,
    /// Base64.
    Base64,
    /// A Python bytes literal, `b'\r\n...'`.
    PythonBytes,
}

impl Format {
    /// Stable identifier (JSON).
    pub fn name(self) -> &'static str {
        match self {
            Format::Raw => "raw",
            Format::Text => "text",
            Format::Hex => "hex",
            Format::Tcpdump => "tcpdump",
            Format::Tshark => "tshark",
            Format::Xxd => "xxd",
            Format::HexdumpC => "hexdump-c",
            Format::HexDump => "hex-dump",
            Format::Base64 => "base64",
            Format::PythonBytes => "python-bytes",
        }
    }

    /// What it is, for people.
    pub fn describe(self) -> &'static str {
        match self {
            Format::Raw => "raw bytes",
            Format::Text => "text with escapes",
            Format::Hex => "hex",
            Format::Tcpdump => "a tcpdump -X/-xx dump",
            Format::Tshark => "a tshark -x (Wireshark) hex dump",
            Format::Xxd => "an xxd dump",
            Format::HexdumpC => "a hexdump -C dump",
            Format::HexDump => "a hex dump",
            Format::Base64 => "base64",
            Format::PythonBytes => "a Python bytes literal",
        }
    }
}

/// Bytes, and the form they were read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    pub bytes: Vec<u8>,
    pub format: Format,
}

impl Parsed {
    fn new(bytes: Vec<u8>, format: Format) -> Self {
        Parsed { bytes, format }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum InputError {
    #[error("invalid hex digit {found:?} at character {position}; use hex digits 0-9a-f (spaces and 0x are fine), or --encoding text")]
    HexDigit { found: char, position: usize },
    #[error("odd number of hex digits ({digits}): the digit at character {position} has no partner (every byte needs two digits); use --encoding text for text")]
    HexOdd { digits: usize, position: usize },
    #[error("bad escape at character {position}: {message}")]
    Escape {
        position: usize,
        message: &'static str,
    },
    #[error("invalid base64 at character {position}: {message}")]
    Base64 {
        position: usize,
        message: &'static str,
    },
}

/// True when `s` contains only hex digits and the separators hex dumps use
/// (an even number of digits or not).
pub fn looks_like_hex(s: &str) -> bool {
    matches!(hex_digits(s), Ok(d) if !d.is_empty())
}

/// Strip separators and return the hex digits with their character
/// positions, or the first bad character.
fn hex_digits(s: &str) -> Result<Vec<(u8, usize)>, InputError> {
    let mut out = Vec::with_capacity(s.len());
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c.is_whitespace() || c == ':' || c == '-' || c == ',' {
            i += 1;
        } else if (c == '0' && matches!(next, Some('x') | Some('X')))
            || (c == '\\' && matches!(next, Some('x') | Some('X')))
        {
            i += 2;
        } else if c.is_ascii_hexdigit() {
            out.push((c as u8, i));
            i += 1;
        } else {
            return Err(InputError::HexDigit {
                found: c,
                position: i,
            });
        }
    }
    Ok(out)
}

/// Decode hex, ignoring separators. An odd number of digits is an error
/// naming the digit without a partner: the first one in a group (between
/// separators) of odd length.
pub fn parse_hex(s: &str) -> Result<Vec<u8>, InputError> {
    let digits = hex_digits(s)?;
    if digits.len() % 2 != 0 {
        // Groups: runs of digits at consecutive character positions.
        let mut position = digits[digits.len() - 1].1;
        let mut start = 0;
        for i in 1..=digits.len() {
            let group_ends = i == digits.len() || digits[i].1 != digits[i - 1].1 + 1;
            if group_ends {
                if (i - start) % 2 != 0 {
                    position = digits[i - 1].1;
                    break;
                }
                start = i;
            }
        }
        return Err(InputError::HexOdd {
            digits: digits.len(),
            position,
        });
    }
    Ok(digits
        .chunks(2)
        .map(|p| (nibble(p[0].0) << 4) | nibble(p[1].0))
        .collect())
}

fn nibble(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        _ => c - b'A' + 10,
    }
}

/// Decode text with C-style escapes.
pub fn parse_escaped(s: &str) -> Result<Vec<u8>, InputError> {
    let mut out = Vec::with_capacity(s.len());
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'\\' {
            out.push(bytes[i]);
            i += 1;
            continue;
        }
        let esc = |message| InputError::Escape {
            position: i,
            message,
        };
        match bytes.get(i + 1) {
            Some(b'r') => out.push(b'\r'),
            Some(b'n') => out.push(b'\n'),
            Some(b't') => out.push(b'\t'),
            Some(b'0') => out.push(0),
            Some(b'\\') => out.push(b'\\'),
            Some(b'x') => {
                let h = bytes
                    .get(i + 2..i + 4)
                    .ok_or_else(|| esc("\\x needs two hex digits"))?;
                let h = std::str::from_utf8(h).map_err(|_| esc("\\x needs two hex digits"))?;
                let b = u8::from_str_radix(h, 16).map_err(|_| esc("\\x needs two hex digits"))?;
                out.push(b);
                i += 4;
                continue;
            }
            Some(_) => return Err(esc("unknown escape; use \\r \\n \\t \\0 \\\\ or \\xNN")),
            None => return Err(esc("a trailing backslash")),
        }
        i += 2;
    }
    Ok(out)
}

/// `s` without an escape that a cut at its end split (`\`, `\x`, `\x4`):
/// the start of a longer input ends at its last whole character.
fn without_split_escape(s: &str) -> &str {
    let b = s.as_bytes();
    for back in 1..=3.min(b.len()) {
        let at = b.len() - back;
        if b[at] != b'\\' {
            continue;
        }
        let escaped = b[..at].iter().rev().take_while(|&&c| c == b'\\').count() % 2 == 1;
        let split = back == 1 || b[at + 1] == b'x';
        if !escaped && split {
            return &s[..at];
        }
    }
    s
}

/// `s` up to its last line break, when it has one and does not end there:
/// a dump cut mid-line keeps its whole lines.
fn whole_lines(s: &str) -> &str {
    match s.rfind('\n') {
        Some(at) if at + 1 < s.len() => &s[..=at],
        _ => s,
    }
}

/// Hex digits with an odd last one dropped: the cut split that byte.
fn parse_hex_cut(s: &str) -> Result<Vec<u8>, InputError> {
    let s = without_split_escape(s);
    let digits = hex_digits(s)?;
    let even = digits.len() - digits.len() % 2;
    match digits.get(even) {
        Some(&(_, at)) => parse_hex(&s[..at]),
        None => parse_hex(s),
    }
}

/// Decode base64 (standard or URL-safe alphabet; whitespace ignored;
/// padding optional).
pub fn parse_base64(s: &str) -> Result<Vec<u8>, InputError> {
    base64(s, false)
}

/// [`parse_base64`]; when `cut`, the text is the start of a longer input,
/// and a lone character at its end (a group the cut split) is dropped.
fn base64(s: &str, cut: bool) -> Result<Vec<u8>, InputError> {
    let mut out = Vec::with_capacity(s.len() / 4 * 3 + 3);
    let mut acc = 0u32;
    let mut bits = 0;
    let mut padding = false;
    for (i, c) in s.char_indices() {
        let v = match c {
            'A'..='Z' => c as u32 - 'A' as u32,
            'a'..='z' => c as u32 - 'a' as u32 + 26,
            '0'..='9' => c as u32 - '0' as u32 + 52,
            '+' | '-' => 62,
            '/' | '_' => 63,
            '=' => {
                padding = true;
                continue;
            }
            c if c.is_whitespace() => continue,
            _ => {
                return Err(InputError::Base64 {
                    position: i,
                    message: "not a base64 character (A-Z a-z 0-9 + / =)",
                })
            }
        };
        if padding {
            return Err(InputError::Base64 {
                position: i,
                message: "data after the = padding",
            });
        }
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    if bits >= 6 && !cut {
        return Err(InputError::Base64 {
            position: s.len(),
            message: "a lone character at the end (base64 comes in groups of 4)",
        });
    }
    Ok(out)
}

/// Base64 of the starts of a v2 and a v1 header: where a base64 payload in
/// a log line begins.
const BASE64_MARKERS: [&str; 2] = ["DQoNCgANClFVSVQK", "UFJPWFkg"];

/// Base64 in `s`: the whole of it, when it decodes to something that starts
/// like a header, or the base64 run that starts with a header's base64
/// (a field of a JSON log line, say).
fn find_base64(s: &str, cut: bool) -> Option<Vec<u8>> {
    let t = s.trim();
    let is_b64 = |c: char| c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '=' | '-' | '_');
    if t.len() >= 8 && t.chars().all(is_b64) {
        if let Ok(b) = base64(t, cut) {
            if starts_like_header(&b) {
                return Some(b);
            }
        }
    }
    let at = BASE64_MARKERS.iter().filter_map(|m| t.find(m)).min()?;
    let end = t[at..]
        .find(|c: char| !is_b64(c))
        .map_or(t.len(), |e| at + e);
    base64(&t[at..end], cut && end == t.len()).ok()
}

fn starts_like_header(b: &[u8]) -> bool {
    b.starts_with(&crate::V2_SIGNATURE[..8]) || b.starts_with(b"PROXY")
}

/// A Python bytes literal (or several, separated by spaces or `+`):
/// `b'PROXY ...\r\n'`, `b"\r\n\r\n\x00..."`. `None` when `s` is not one.
/// When `cut`, `s` is the start of a longer input: a literal left open at
/// its end (and an escape or a `b` prefix the cut split) ends there.
fn parse_python(s: &str, cut: bool) -> Option<Result<Vec<u8>, InputError>> {
    // A cut end may be inside a literal: its spaces are bytes.
    let t = if cut { s.trim_start() } else { s.trim() };
    let b = t.as_bytes();
    if !(b.len() >= 3 && matches!(b[0], b'b' | b'B') && matches!(b[1], b'\'' | b'"')) {
        return None;
    }
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        // Between literals: whitespace, `+`, and line continuations.
        if b[i].is_ascii_whitespace() || b[i] == b'+' || b[i] == b'\\' {
            i += 1;
            continue;
        }
        if cut && i + 1 == b.len() && matches!(b[i], b'b' | b'B') {
            break;
        }
        if !(matches!(b[i], b'b' | b'B') && matches!(b.get(i + 1), Some(b'\'' | b'"'))) {
            return None;
        }
        let quote = b[i + 1];
        i += 2;
        loop {
            let Some(&c) = b.get(i) else {
                if cut {
                    return Some(Ok(out));
                }
                return Some(Err(InputError::Escape {
                    position: i,
                    message: "the bytes literal has no closing quote",
                }));
            };
            if c == quote {
                i += 1;
                break;
            }
            if c != b'\\' {
                out.push(c);
                i += 1;
                continue;
            }
            let e = b.get(i + 1).copied();
            // An escape the cut split (`\`, `\x`, `\x4`) is not a byte.
            let split = match e {
                None => true,
                Some(b'x') => b.len() < i + 4,
                Some(_) => false,
            };
            if cut && split {
                return Some(Ok(out));
            }
            i += 2;
            match e {
                Some(b'n') => out.push(b'\n'),
                Some(b'r') => out.push(b'\r'),
                Some(b't') => out.push(b'\t'),
                Some(b'a') => out.push(7),
                Some(b'b') => out.push(8),
                Some(b'f') => out.push(12),
                Some(b'v') => out.push(11),
                Some(c @ (b'\\' | b'\'' | b'"')) => out.push(c),
                Some(b'\n') => {}
                Some(b'x') => {
                    let h = b.get(i..i + 2).and_then(|h| std::str::from_utf8(h).ok());
                    match h.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                        Some(v) => out.push(v),
                        None => {
                            return Some(Err(InputError::Escape {
                                position: i - 2,
                                message: "\\x needs two hex digits",
                            }))
                        }
                    }
                    i += 2;
                }
                Some(d @ b'0'..=b'7') => {
                    let mut v = u32::from(d - b'0');
                    let mut n = 1;
                    while n < 3 && matches!(b.get(i), Some(b'0'..=b'7')) {
                        v = v * 8 + u32::from(b[i] - b'0');
                        i += 1;
                        n += 1;
                    }
                    out.push(v as u8);
                }
                // Python keeps an unknown escape as it is.
                Some(c) => out.extend_from_slice(&[b'\\', c]),
                None => {
                    return Some(Err(InputError::Escape {
                        position: i - 2,
                        message: "a trailing backslash",
                    }))
                }
            }
        }
    }
    Some(Ok(out))
}

/// The offset column of a dump line.
struct Offset {
    value: usize,
    format: Format,
    /// Byte position in the line where the data starts.
    data: usize,
}

fn dump_offset(line: &str) -> Option<Offset> {
    let lead = line.len() - line.trim_start().len();
    let t = &line[lead..];
    let (prefixed, digits_at) = if t.starts_with("0x") || t.starts_with("0X") {
        (true, 2)
    } else {
        (false, 0)
    };
    let n = t[digits_at..]
        .bytes()
        .take_while(u8::is_ascii_hexdigit)
        .count();
    if !(4..=8).contains(&n) {
        return None;
    }
    let value = usize::from_str_radix(&t[digits_at..digits_at + n], 16).ok()?;
    let after = &t[digits_at + n..];
    let (format, skip) = if let Some(rest) = after.strip_prefix(':') {
        if !(rest.is_empty() || rest.starts_with(' ') || rest.starts_with('\t')) {
            return None;
        }
        let f = match (prefixed, n) {
            (true, _) => Format::Tcpdump,
            (false, 8) => Format::Xxd,
            _ => Format::HexDump,
        };
        (f, 1)
    } else if prefixed {
        return None;
    } else if after.is_empty() {
        // hexdump -C ends with a line holding only the total length.
        (Format::HexdumpC, 0)
    } else if after.starts_with("  ") {
        let f = if n == 8 {
            Format::HexdumpC
        } else {
            Format::Tshark
        };
        (f, 0)
    } else {
        return None;
    };
    Some(Offset {
        value,
        format,
        data: lead + digits_at + n + skip,
    })
}

/// The bytes of one dump line's hex column (up to 64 bytes). The ASCII
/// column is told apart by the gap before it: two or more spaces, except
/// hexdump -C's two-space gap after the eighth byte.
fn dump_bytes(data: &str, out: &mut Vec<u8>) -> usize {
    let s = data.as_bytes();
    let mut i = s.iter().take_while(|b| **b == b' ' || **b == b'\t').count();
    let mut count = 0;
    while i < s.len() && count < 64 {
        let end = s[i..]
            .iter()
            .position(|b| *b == b' ' || *b == b'\t')
            .map_or(s.len(), |p| i + p);
        let token = &s[i..end];
        if token.is_empty()
            || token.len() % 2 != 0
            || token.len() > 16
            || !token.iter().all(u8::is_ascii_hexdigit)
        {
            break;
        }
        for pair in token.chunks(2) {
            out.push((nibble(pair[0]) << 4) | nibble(pair[1]));
        }
        count += token.len() / 2;
        let gap = s[end..]
            .iter()
            .take_while(|b| **b == b' ' || **b == b'\t')
            .count();
        if gap == 0 || gap >= 3 || (gap == 2 && count != 8) {
            break;
        }
        i = end + gap;
    }
    count
}

/// A hex dump with an offset on each line: its bytes and its kind, or
/// `None` when `s` is not one. The first packet only: a dump that starts
/// over at its first offset is a second packet.
fn parse_dump(s: &str) -> Option<(Vec<u8>, Format)> {
    let mut out = Vec::new();
    let mut first: Option<(usize, Format)> = None;
    let mut last_line: Vec<u8> = Vec::new();
    let mut squeezed = false;
    for line in s.lines() {
        let line = line.trim_end();
        if line.trim() == "*" && first.is_some() {
            squeezed = true;
            continue;
        }
        let Some(off) = dump_offset(line) else {
            if first.is_some() && !out.is_empty() {
                break;
            }
            continue;
        };
        let (base, _) = *first.get_or_insert((off.value, off.format));
        let expected = base + out.len();
        if off.value != expected {
            if squeezed && off.value > expected && !last_line.is_empty() {
                // hexdump -C and xxd -a write `*` for repeated lines.
                while base + out.len() < off.value && out.len() < (1 << 20) {
                    out.extend_from_slice(&last_line);
                }
                out.truncate(off.value - base);
            } else {
                break;
            }
        }
        squeezed = false;
        let mut line_bytes = Vec::new();
        let n = dump_bytes(&line[off.data..], &mut line_bytes);
        if n == 0 {
            if off.format == Format::HexdumpC {
                continue;
            }
            break;
        }
        out.extend_from_slice(&line_bytes);
        last_line = line_bytes;
    }
    let (base, format) = first?;
    // A bare offset column is only believed from 0, so that plain hex in
    // groups ("0d0a  0d0a ...") stays plain hex.
    let unambiguous = matches!(format, Format::Tcpdump | Format::Xxd) || base == 0;
    (!out.is_empty() && unambiguous).then_some((out, format))
}

/// Bytes from text in a known form (`Hex`, `Base64`, `Text`), or guessed.
/// When `cut`, `s` is the start of a longer input (a size cap cut it): each
/// form is read up to its last whole unit, as if the user had cut it there
/// (a dump's last whole line, hex's last whole byte, base64's last whole
/// group, a Python literal or escaped text up to the last whole escape).
fn from_text(s: &str, enc: Encoding, fallback: Format, cut: bool) -> Result<Parsed, InputError> {
    let hex = |s: &str| if cut { parse_hex_cut(s) } else { parse_hex(s) };
    let dump = |s: &str| parse_dump(if cut { whole_lines(s) } else { s });
    let escaped = |s: &str| parse_escaped(if cut { without_split_escape(s) } else { s });
    match enc {
        Encoding::Raw => Ok(Parsed::new(s.as_bytes().to_vec(), Format::Raw)),
        Encoding::Text => escaped(s).map(|b| Parsed::new(b, Format::Text)),
        Encoding::Base64 => match find_base64(s, cut) {
            Some(b) => Ok(Parsed::new(b, Format::Base64)),
            None => base64(s, cut).map(|b| Parsed::new(b, Format::Base64)),
        },
        Encoding::Hex => match dump(s) {
            Some((b, f)) => Ok(Parsed::new(b, f)),
            None => hex(s).map(|b| Parsed::new(b, Format::Hex)),
        },
        Encoding::Auto => {
            if let Some(r) = parse_python(s, cut) {
                return r.map(|b| Parsed::new(b, Format::PythonBytes));
            }
            if let Some((b, f)) = dump(s) {
                return Ok(Parsed::new(b, f));
            }
            if looks_like_hex(if cut { without_split_escape(s) } else { s }) {
                return hex(s).map(|b| Parsed::new(b, Format::Hex));
            }
            if let Some(b) = find_base64(s, cut) {
                return Ok(Parsed::new(b, Format::Base64));
            }
            match fallback {
                Format::Text => escaped(s).map(|b| Parsed::new(b, Format::Text)),
                _ => Ok(Parsed::new(s.as_bytes().to_vec(), Format::Raw)),
            }
        }
    }
}

/// Bytes from a command-line argument, and the form they were in.
pub fn read_argument(s: &str, enc: Encoding) -> Result<Parsed, InputError> {
    from_text(s, enc, Format::Text, false)
}

/// Bytes from a file or stdin, and the form they were in: raw unless the
/// content is text in one of the recognised forms (or is told to be).
pub fn read_bytes(raw: Vec<u8>, enc: Encoding) -> Result<Parsed, InputError> {
    read_file_bytes(raw, enc, false)
}

/// [`read_bytes`] for the start of a longer file or stdin, cut at a size
/// cap: a text form is read up to its last whole unit (line, byte, group,
/// escape, character), as xxd's and hexdump's lines are, so a cut never
/// turns a valid paste into an error.
pub fn read_prefix(raw: Vec<u8>, enc: Encoding) -> Result<Parsed, InputError> {
    read_file_bytes(raw, enc, true)
}

fn read_file_bytes(mut raw: Vec<u8>, enc: Encoding, cut: bool) -> Result<Parsed, InputError> {
    if cut && enc != Encoding::Raw {
        // A character the cut split is not text gone bad.
        if let Err(e) = std::str::from_utf8(&raw) {
            if e.error_len().is_none() {
                raw.truncate(e.valid_up_to());
            }
        }
    }
    match enc {
        Encoding::Raw => Ok(Parsed::new(raw, Format::Raw)),
        Encoding::Hex | Encoding::Base64 => {
            from_text(&String::from_utf8_lossy(&raw), enc, Format::Raw, cut)
        }
        Encoding::Text | Encoding::Auto => match std::str::from_utf8(&raw) {
            Ok(t) => from_text(t, enc, Format::Raw, cut),
            Err(_) => Ok(Parsed::new(raw, Format::Raw)),
        },
    }
}

/// Bytes from a command-line argument.
pub fn from_argument(s: &str, enc: Encoding) -> Result<Vec<u8>, InputError> {
    read_argument(s, enc).map(|p| p.bytes)
}

/// Bytes from a file or stdin: raw unless it is (or is told to be) text in
/// one of the recognised forms.
pub fn from_bytes(raw: Vec<u8>, enc: Encoding) -> Result<Vec<u8>, InputError> {
    read_bytes(raw, enc).map(|p| p.bytes)
}

/// Where a PROXY header starts inside `bytes` that do not start with one
/// (a whole Ethernet/IP/TCP frame, say): the first v2 signature or
/// `PROXY ` line. `None` when there is none past offset 0.
pub fn header_offset(bytes: &[u8]) -> Option<usize> {
    let v2 = memchr::memmem::find(bytes, &crate::V2_SIGNATURE);
    let v1 = memchr::memmem::find_iter(bytes, b"PROXY ").find(|&at| {
        let rest = &bytes[at + 6..];
        rest.starts_with(b"TCP4 ") || rest.starts_with(b"TCP6 ") || rest.starts_with(b"UNKNOWN")
    });
    match (v2, v1) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
    .filter(|&at| at > 0)
}

/// True for a v1 line that was given without its CRLF: `PROXY ...` with
/// no line end at all (a pasted line loses it; `echo` and shells add only
/// LF or nothing).
pub fn v1_without_crlf(bytes: &[u8]) -> bool {
    bytes.starts_with(b"PROXY")
        && !bytes[..bytes.len().min(crate::V1_MAX_LEN)]
            .iter()
            .any(|&b| b == b'\n' || b == b'\r')
}

#[cfg(test)]
mod tests {
    use super::*;

    const V1: &[u8] = b"PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n";

    #[test]
    fn hex_with_separators() {
        assert_eq!(
            parse_hex("0d 0a 0x0d:0A").unwrap(),
            vec![0x0d, 0x0a, 0x0d, 0x0a]
        );
        assert_eq!(parse_hex("\\x50\\x52").unwrap(), b"PR".to_vec());
        assert!(matches!(
            parse_hex("0g"),
            Err(InputError::HexDigit {
                found: 'g',
                position: 1
            })
        ));
        assert_eq!(
            parse_hex("abc"),
            Err(InputError::HexOdd {
                digits: 3,
                position: 2
            })
        );
    }

    #[test]
    fn odd_hex_is_an_error_with_the_position_not_text() {
        // The group "0" at character 6 is the one without a partner.
        assert_eq!(
            read_argument("0d 0a 0 0d", Encoding::Auto),
            Err(InputError::HexOdd {
                digits: 7,
                position: 6
            })
        );
        assert!(read_argument("0d0a0", Encoding::Auto).is_err());
        let msg = parse_hex("0d0a0").unwrap_err().to_string();
        assert!(msg.contains("character 4"), "{msg}");
    }

    #[test]
    fn escapes() {
        assert_eq!(
            parse_escaped("PROXY\\r\\n\\x00\\\\").unwrap(),
            b"PROXY\r\n\0\\".to_vec()
        );
        assert!(parse_escaped("bad\\q").is_err());
        assert!(parse_escaped("bad\\x4").is_err());
        assert!(parse_escaped("bad\\").is_err());
    }

    #[test]
    fn guesses() {
        assert_eq!(
            from_argument("5052", Encoding::Auto).unwrap(),
            b"PR".to_vec()
        );
        assert_eq!(
            read_argument("PROXY UNKNOWN\\r\\n", Encoding::Auto).unwrap(),
            Parsed::new(b"PROXY UNKNOWN\r\n".to_vec(), Format::Text)
        );
        assert_eq!(
            from_bytes(b"50 52\n".to_vec(), Encoding::Auto).unwrap(),
            b"PR".to_vec()
        );
        assert_eq!(
            read_bytes(b"PROXY".to_vec(), Encoding::Auto).unwrap(),
            Parsed::new(b"PROXY".to_vec(), Format::Raw)
        );
    }

    #[test]
    fn tcpdump_x_and_xx() {
        let x = "14:02:11.000000 IP 127.0.0.1.40000 > 127.0.0.1.80: Flags [P.], length 47
\t0x0000:  5052 4f58 5920 5443 5034 2031 3932 2e31  PROXY.TCP4.192.1
\t0x0010:  3638 2e30 2e31 2031 3932 2e31 3638 2e30  68.0.1.192.168.0
\t0x0020:  2e31 3120 3536 3332 3420 3434 330d 0a    .11.56324.443..
";
        let p = read_argument(x, Encoding::Auto).unwrap();
        assert_eq!(p, Parsed::new(V1.to_vec(), Format::Tcpdump));
        // -xx: no ASCII column.
        let xx = "\t0x0000:  5052 4f58 5920 5443 5034 2031 3932 2e31
\t0x0010:  3638 2e30 2e31 2031 3932 2e31 3638 2e30
\t0x0020:  2e31 3120 3536 3332 3420 3434 330d 0a
";
        assert_eq!(read_argument(xx, Encoding::Hex).unwrap().bytes, V1);
    }

    #[test]
    fn tshark_xxd_and_hexdump_c() {
        let tshark = "0000  50 52 4f 58 59 20 54 43 50 34 20 31 39 32 2e 31   PROXY TCP4 192.1
0010  36 38 2e 30 2e 31 20 31 39 32 2e 31 36 38 2e 30   68.0.1 192.168.0
0020  2e 31 31 20 35 36 33 32 34 20 34 34 33 0d 0a      .11 56324 443..
";
        assert_eq!(
            read_argument(tshark, Encoding::Auto).unwrap(),
            Parsed::new(V1.to_vec(), Format::Tshark)
        );
        let xxd = "00000000: 5052 4f58 5920 5443 5034 2031 3932 2e31  PROXY TCP4 192.1
00000010: 3638 2e30 2e31 2031 3932 2e31 3638 2e30  68.0.1 192.168.0
00000020: 2e31 3120 3536 3332 3420 3434 330d 0a    .11 56324 443..
";
        assert_eq!(
            read_bytes(xxd.as_bytes().to_vec(), Encoding::Auto).unwrap(),
            Parsed::new(V1.to_vec(), Format::Xxd)
        );
        let hd = "00000000  50 52 4f 58 59 20 54 43  50 34 20 31 39 32 2e 31  |PROXY TCP4 192.1|
00000010  36 38 2e 30 2e 31 20 31  39 32 2e 31 36 38 2e 30  |68.0.1 192.168.0|
00000020  2e 31 31 20 35 36 33 32  34 20 34 34 33 0d 0a     |.11 56324 443..|
0000002f
";
        assert_eq!(
            read_argument(hd, Encoding::Auto).unwrap(),
            Parsed::new(V1.to_vec(), Format::HexdumpC)
        );
    }

    #[test]
    fn hexdump_squeezed_lines_are_repeated() {
        let hd = "00000000  00 00 00 00 00 00 00 00  00 00 00 00 00 00 00 00  |................|
*
00000030  0d 0a                                             |..|
00000032
";
        let p = read_argument(hd, Encoding::Auto).unwrap();
        assert_eq!(p.bytes.len(), 0x32);
        assert!(p.bytes[..0x30].iter().all(|&b| b == 0));
    }

    #[test]
    fn ascii_column_that_looks_like_hex_is_not_data() {
        // 'a' 'b' in the ASCII column of a short last line.
        let xxd = "00000000: 6162                                     ab\n";
        assert_eq!(read_argument(xxd, Encoding::Auto).unwrap().bytes, b"ab");
    }

    #[test]
    fn base64_whole_or_inside_a_log_line() {
        let v2 = "DQoNCgANClFVSVQKIAAAAA==";
        let want = b"\r\n\r\n\0\r\nQUIT\n\x20\x00\x00\x00".to_vec();
        assert_eq!(
            read_argument(v2, Encoding::Auto).unwrap(),
            Parsed::new(want.clone(), Format::Base64)
        );
        let log = format!(r#"{{"level":"error","header":"{v2}","msg":"bad"}}"#);
        assert_eq!(read_argument(&log, Encoding::Auto).unwrap().bytes, want);
        // Forced, unpadded.
        assert_eq!(
            read_argument("DQoNCgANClFVSVQKIAAAAA", Encoding::Base64)
                .unwrap()
                .bytes,
            want
        );
        assert!(read_argument("DQo*", Encoding::Base64).is_err());
        // A word that is base64-shaped but not a header stays text.
        assert_eq!(
            read_argument("PROXYTCP4", Encoding::Auto).unwrap().format,
            Format::Text
        );
    }

    #[test]
    fn python_bytes_literals() {
        let p = read_argument(
            r"b'PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n'",
            Encoding::Auto,
        )
        .unwrap();
        assert_eq!(p, Parsed::new(V1.to_vec(), Format::PythonBytes));
        let v2 = r#"b"\r\n\r\n\x00\r\nQUIT\n" b' \x00\x00\x00'"#;
        assert_eq!(
            read_argument(v2, Encoding::Auto).unwrap().bytes,
            b"\r\n\r\n\0\r\nQUIT\n\x20\x00\x00\x00"
        );
        assert!(read_argument(r"b'\r\n", Encoding::Auto).is_err());
    }

    /// A paste cut anywhere (as a size cap cuts it) reads as the bytes up
    /// to the cut, never as an error: every text form, every cut position.
    #[test]
    fn a_cut_paste_reads_up_to_its_last_whole_unit() {
        let bytes: Vec<u8> = [V1, b"GET / HTTP/1.1\r\n\x00\xff\\'\"\x7f"].concat();
        let python = format!(
            "b'{}'",
            bytes
                .iter()
                .map(|&b| match b {
                    b'\r' => "\\r".to_string(),
                    b'\n' => "\\n".to_string(),
                    b'\\' => "\\\\".to_string(),
                    b'\'' => "\\'".to_string(),
                    0x20..=0x7e => (b as char).to_string(),
                    b => format!("\\x{b:02x}"),
                })
                .collect::<String>()
        );
        let hex = hex_of(&bytes, "");
        let spaced = hex_of(&bytes, " ");
        let escaped = python[2..python.len() - 1].replace("\\'", "'");
        let base64 = "UFJPWFkgVENQNCAxOTIuMTY4LjAuMSAxOTIuMTY4LjAuMTEgNTYzMjQgNDQzDQpHRVQgLyBIVFRQLzEuMQ0KAP9cJyJ/";
        assert_eq!(parse_base64(base64).unwrap(), bytes);
        let xxd: String = bytes
            .chunks(16)
            .enumerate()
            .map(|(n, line)| format!("{:08x}: {}  ................\n", n * 16, hex_of(line, " ")))
            .collect();
        let cases = [
            (python.as_str(), Encoding::Auto, Format::PythonBytes),
            (&hex, Encoding::Auto, Format::Hex),
            (&spaced, Encoding::Auto, Format::Hex),
            (base64, Encoding::Auto, Format::Base64),
            (&xxd, Encoding::Auto, Format::Xxd),
            (&escaped, Encoding::Text, Format::Text),
        ];
        for (text, enc, format) in cases {
            let whole = read_bytes(text.as_bytes().to_vec(), enc).unwrap();
            assert_eq!(whole, Parsed::new(bytes.clone(), format), "{text}");
            for at in 12..text.len() {
                let cut = read_prefix(text.as_bytes()[..at].to_vec(), enc)
                    .unwrap_or_else(|e| panic!("{format:?} cut at {at}: {e}\n{}", &text[..at]));
                assert_eq!(cut.format, format, "cut at {at}: {}", &text[..at]);
                assert!(
                    bytes.starts_with(&cut.bytes),
                    "{format:?} cut at {at}: {:?}",
                    cut.bytes
                );
            }
        }
        // A character a cut split is dropped, not a reason to read raw.
        let utf8 = "b'PROXY \u{e9}'".as_bytes();
        let cut = read_prefix(utf8[..utf8.len() - 2].to_vec(), Encoding::Auto).unwrap();
        assert_eq!(cut, Parsed::new(b"PROXY ".to_vec(), Format::PythonBytes));
        // Uncut, an unclosed literal is still an error.
        assert!(read_bytes(python.as_bytes()[..20].to_vec(), Encoding::Auto).is_err());
    }

    fn hex_of(bytes: &[u8], sep: &str) -> String {
        bytes
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<Vec<_>>()
            .join(sep)
    }

    #[test]
    fn header_found_inside_a_frame() {
        let mut frame = vec![0u8; 54];
        frame[12] = 0x08;
        frame.extend_from_slice(V1);
        assert_eq!(header_offset(&frame), Some(54));
        assert_eq!(header_offset(V1), None);
        let mut v2 = vec![0x45, 0, 0, 0x40];
        v2.extend_from_slice(&crate::V2_SIGNATURE);
        assert_eq!(header_offset(&v2), Some(4));
    }

    #[test]
    fn v1_line_without_crlf_is_spotted() {
        assert!(v1_without_crlf(b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2"));
        assert!(!v1_without_crlf(V1));
        assert!(!v1_without_crlf(b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n"));
    }
}
