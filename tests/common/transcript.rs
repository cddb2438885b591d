//! Recorded exchanges with real servers (tests/data/protocols/*.txt): what a
//! client sent, what the server answered (with its variable parts marked),
//! how the connection ended, and the lines the server logged.
//!
//! The integration tests replay each file against the real server
//! (tests/protocols.rs); the unit tests of `src/protocol/` read the same
//! files (`#[path]`-included, so there is one parser) and feed the recorded
//! bytes to the protocol readers. No I/O here but reading the files.
//!
//! # Format
//!
//! One directive per line; `#` starts a comment line (the file's header says
//! which server, version and config, and how it was recorded).
//!
//! | directive | meaning |
//! |---|---|
//! | `server: NAME` | which server and mode (tests/protocols.rs starts it) |
//! | `port: VAR` | the port to connect to (a `{{VAR}}` of the server's config) |
//! | `protocol: NAME` | the protocol (`smtp`, `imap`, `pop3`, `mysql`, `postgres`, `ssh`) |
//! | `finding: NAME` | what ppctl concludes from this exchange (a judge finding; `-`: none, the client spoke another protocol) |
//! | `words: TEXT` | the server's own words ppctl quotes for it |
//! | `send: BYTES` | the client sends these bytes |
//! | `recv: PATTERN` | the server sends bytes matching the pattern |
//! | `silence: SECONDS` | nothing arrives for that long (the server waits) |
//! | `end: closed\|reset\|closed-or-reset` | how the server ends the connection |
//! | `log: PATTERN` | a line the server logs for this connection contains a match |
//!
//! Bytes are escaped: `\r`, `\n`, `\t`, `\\`, `\{`, `\}` and `\xNN`; every
//! other byte is itself. A pattern is bytes with holes: `{{KIND:SAMPLE}}`
//! stands for a variable part of the kind, and SAMPLE is what was recorded
//! (the unit tests use it). Kinds: `host` (a host name), `n` (digits),
//! `version` (printable, no space), `text` (anything but CR and LF), `bytes`
//! (any bytes, as many as the sample has), `optional` (the sample or
//! nothing).
#![allow(dead_code)]

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// One recorded exchange.
#[derive(Debug, Clone)]
pub struct Transcript {
    pub file: PathBuf,
    pub server: String,
    pub port: String,
    pub protocol: String,
    pub finding: String,
    pub words: Option<String>,
    pub steps: Vec<Step>,
}

#[derive(Debug, Clone)]
pub enum Step {
    Send(Vec<u8>),
    Recv(Pattern),
    Silence(f64),
    End(End),
    Log(Pattern),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    Closed,
    Reset,
    ClosedOrReset,
}

/// Bytes with variable parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern(pub Vec<Part>);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    Literal(Vec<u8>),
    Hole { kind: Hole, sample: Vec<u8> },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hole {
    Host,
    Digits,
    Version,
    Text,
    Bytes,
    Optional,
}

impl Hole {
    fn parse(name: &str) -> Option<Hole> {
        Some(match name {
            "host" => Hole::Host,
            "n" => Hole::Digits,
            "version" => Hole::Version,
            "text" => Hole::Text,
            "bytes" => Hole::Bytes,
            "optional" => Hole::Optional,
            _ => return None,
        })
    }

    fn regex(self, sample: &[u8]) -> String {
        match self {
            Hole::Host => "[A-Za-z0-9.-]+".into(),
            Hole::Digits => "[0-9]+".into(),
            Hole::Version => "[!-~]+".into(),
            Hole::Text => r"[^\r\n]*".into(),
            Hole::Bytes => format!("(?s-u:.){{{}}}", sample.len()),
            Hole::Optional => format!("(?:{})?", literal_regex(sample)),
        }
    }
}

impl Pattern {
    /// The bytes that were recorded.
    pub fn sample(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for part in &self.0 {
            match part {
                Part::Literal(b) | Part::Hole { sample: b, .. } => out.extend_from_slice(b),
            }
        }
        out
    }

    /// A `regex::bytes` source for the pattern (unanchored).
    pub fn regex_source(&self) -> String {
        let mut out = String::from("(?-u)");
        for part in &self.0 {
            match part {
                Part::Literal(b) => out.push_str(&literal_regex(b)),
                Part::Hole { kind, sample } => out.push_str(&kind.regex(sample)),
            }
        }
        out
    }

    /// The pattern anchored at the start of the text.
    pub fn prefix_regex(&self) -> regex::bytes::Regex {
        regex::bytes::Regex::new(&format!("^(?:{})", self.regex_source()))
            .expect("a transcript pattern is a valid regex")
    }

    /// The pattern anywhere in the text.
    pub fn search_regex(&self) -> regex::bytes::Regex {
        regex::bytes::Regex::new(&self.regex_source())
            .expect("a transcript pattern is a valid regex")
    }
}

fn literal_regex(bytes: &[u8]) -> String {
    let mut out = String::new();
    for &b in bytes {
        if b.is_ascii_alphanumeric() || b == b' ' {
            out.push(b as char);
        } else {
            let _ = write!(out, r"\x{b:02x}");
        }
    }
    out
}

/// Every transcript of tests/data/protocols, sorted by file name.
pub fn all() -> Vec<Transcript> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/protocols");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "txt"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|f| {
            let text =
                std::fs::read_to_string(f).unwrap_or_else(|e| panic!("read {}: {e}", f.display()));
            parse(f, &text).unwrap_or_else(|e| panic!("{e}"))
        })
        .collect()
}

/// Parse one file's text; errors name the file and line.
pub fn parse(file: &Path, text: &str) -> Result<Transcript, String> {
    let mut t = Transcript {
        file: file.to_path_buf(),
        server: String::new(),
        port: String::new(),
        protocol: String::new(),
        finding: String::new(),
        words: None,
        steps: Vec::new(),
    };
    for (n, line) in text.lines().enumerate() {
        let at = || format!("{}:{}", file.display(), n + 1);
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let (key, value) = line
            .split_once(": ")
            .or_else(|| line.strip_suffix(':').map(|k| (k, "")))
            .ok_or_else(|| format!("{}: expected `directive: value`, got {line:?}", at()))?;
        let step = match key {
            "server" => {
                t.server = value.into();
                continue;
            }
            "port" => {
                t.port = value.into();
                continue;
            }
            "protocol" => {
                t.protocol = value.into();
                continue;
            }
            "finding" => {
                t.finding = value.into();
                continue;
            }
            "words" => {
                t.words = Some(value.into());
                continue;
            }
            "send" => Step::Send(unescape(value).map_err(|e| format!("{}: {e}", at()))?),
            "recv" => Step::Recv(pattern(value).map_err(|e| format!("{}: {e}", at()))?),
            "log" => Step::Log(pattern(value).map_err(|e| format!("{}: {e}", at()))?),
            "silence" => Step::Silence(
                value
                    .parse()
                    .map_err(|_| format!("{}: silence wants seconds, got {value:?}", at()))?,
            ),
            "end" => Step::End(match value {
                "closed" => End::Closed,
                "reset" => End::Reset,
                "closed-or-reset" => End::ClosedOrReset,
                _ => {
                    return Err(format!(
                        "{}: end is closed, reset or closed-or-reset, not {value:?}",
                        at()
                    ))
                }
            }),
            _ => return Err(format!("{}: unknown directive {key:?}", at())),
        };
        t.steps.push(step);
    }
    for (name, value) in [
        ("server", &t.server),
        ("port", &t.port),
        ("protocol", &t.protocol),
        ("finding", &t.finding),
    ] {
        if value.is_empty() {
            return Err(format!("{}: no `{name}:` line", file.display()));
        }
    }
    Ok(t)
}

fn pattern(text: &str) -> Result<Pattern, String> {
    let mut parts = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find("{{") {
        if open > 0 {
            parts.push(Part::Literal(unescape(&rest[..open])?));
        }
        let inner = &rest[open + 2..];
        let close = inner
            .find("}}")
            .ok_or_else(|| format!("`{{{{` without `}}}}` in {text:?}"))?;
        let (kind, sample) = inner[..close]
            .split_once(':')
            .ok_or_else(|| format!("a hole is {{{{KIND:SAMPLE}}}}, got {:?}", &inner[..close]))?;
        let kind = Hole::parse(kind).ok_or_else(|| format!("unknown hole kind {kind:?}"))?;
        parts.push(Part::Hole {
            kind,
            sample: unescape(sample)?,
        });
        rest = &inner[close + 2..];
    }
    if !rest.is_empty() {
        parts.push(Part::Literal(unescape(rest)?));
    }
    Ok(Pattern(parts))
}

/// The bytes of escaped text (see the module doc).
pub fn unescape(text: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b != b'\\' {
            out.push(b);
            i += 1;
            continue;
        }
        let next = *bytes.get(i + 1).ok_or("a `\\` at the end of the line")?;
        i += 2;
        out.push(match next {
            b'r' => b'\r',
            b'n' => b'\n',
            b't' => b'\t',
            b'\\' | b'{' | b'}' => next,
            b'x' => {
                let hex = text.get(i..i + 2).ok_or("`\\x` wants two hex digits")?;
                i += 2;
                u8::from_str_radix(hex, 16).map_err(|_| format!("`\\x{hex}` is not hex"))?
            }
            _ => return Err(format!("unknown escape `\\{}`", next as char)),
        });
    }
    Ok(out)
}

/// Bytes as escaped text, the inverse of [`unescape`] (for recording).
pub fn escape(bytes: &[u8]) -> String {
    let mut out = String::new();
    for &b in bytes {
        match b {
            b'\r' => out.push_str(r"\r"),
            b'\n' => out.push_str(r"\n"),
            b'\t' => out.push_str(r"\t"),
            b'\\' | b'{' | b'}' => {
                out.push('\\');
                out.push(b as char);
            }
            0x20..=0x7e => out.push(b as char),
            _ => {
                let _ = write!(out, r"\x{b:02x}");
            }
        }
    }
    out
}
