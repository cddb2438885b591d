//! nginx configuration: a tokenizer for nginx's syntax (directives, blocks,
//! quotes, comments), `include` followed through [`Includer`], and the
//! PROXY facts of `http` and `stream` servers.

use std::borrow::Cow;

use rustc_hash::FxHashMap as HashMap;
use std::net::IpAddr;

use ipnet::IpNet;

use super::{
    Assumption, Facts, FileRead, Found, Header, Hop, Kind, Listener, Loc, ParseError, Role, Trust,
    Upstream, Warning,
};
use crate::judge::{fixes, Expects, Finding};

/// A file an `include` names, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Included {
    pub name: String,
    pub text: String,
    /// An absolute path read from this machine (no `--root`).
    pub system: bool,
}

/// Why an `include` gave nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum IncludeError {
    /// No such file (a copied `nginx.conf` without its `mime.types`): a
    /// warning, the rest is read.
    Missing(String),
    /// A pattern whose form `check` does not match as glob(3) does
    /// (`[[=a=]]`): a warning on the `include`, never a silent skip.
    Unsupported(String),
    /// Anything else (not a regular file, too large, too many): exit 2.
    Fatal(String),
}

/// Resolves an `include` pattern written in `from`, a file of the
/// configuration whose main file is `top`, to the files it names, in order.
pub(crate) type Includer<'a> = dyn Fn(&str, &str, &str) -> Result<Vec<Included>, IncludeError> + 'a;

/// How deep blocks may nest (nginx configurations use a handful of
/// levels); deeper is an error, not a stack overflow.
pub(crate) const MAX_DEPTH: usize = 64;
/// How deep includes may include.
const MAX_INCLUDE_DEPTH: usize = 16;

/// The directives the PROXY facts are made of; the others are parsed (so
/// syntax errors are found) and dropped, so memory follows what matters.
const KEPT: [&str; 15] = [
    "http",
    "stream",
    "server",
    "upstream",
    // realip's directives are valid in a location too, and `access_log`
    // says which `log_format` is written.
    "location",
    "access_log",
    "listen",
    "server_name",
    "set_real_ip_from",
    "real_ip_header",
    "proxy_protocol",
    "proxy_protocol_version",
    "proxy_pass",
    "proxy_bind",
    "real_ip_recursive",
];

/// What a dropped directive leaves behind: the `$proxy_protocol_addr` it
/// uses (a `proxy_set_header`, a `map` whose values hold it, a `return`),
/// which puts the header's address to use without realip. A `log_format`'s
/// marker has the arguments [`LOG_FORMAT`] and the format's name: a log is
/// not the application, so that use counts only for a server that answers
/// itself (see [`PASSES_ON`]) and writes that format (an `access_log` names
/// it). A `map` or `geo` keyed by the address whose values do not hold it
/// (an allow-list: `geo $proxy_protocol_addr $office { … 1; }`) leaves a
/// marker with the argument [`DERIVED`]: its value is made from the
/// address, the application is not handed the address, so it counts only
/// for a server that answers itself.
pub(crate) const USES_PROXY_ADDR: &str = "$proxy_protocol_addr";
/// The first argument of a marker left by a `log_format`.
const LOG_FORMAT: &str = "log_format";
/// The argument of a marker left by a `map`/`geo` keyed by the address.
const DERIVED: &str = "map";
/// The format an `access_log` without one writes.
const COMBINED: &str = "combined";
/// What a dropped block leaves behind when it passes requests on to
/// another server (`proxy_pass` and the like in a `location`): that server
/// sees nginx's peer as the client unless the header's address is put in
/// the request or made `$remote_addr`.
pub(crate) const PASSES_ON: &str = "*_pass";
/// The directives that pass a request on to another server.
const PASSES: [&str; 6] = [
    "proxy_pass",
    "fastcgi_pass",
    "uwsgi_pass",
    "scgi_pass",
    "grpc_pass",
    "memcached_pass",
];

/// One directive, with its block when it has one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Directive {
    /// One of [`KEPT`], or [`USES_PROXY_ADDR`] or [`PASSES_ON`].
    pub name: &'static str,
    /// Exactly sized: a configuration of many servers holds many.
    pub args: Box<[Box<str>]>,
    pub at: Loc,
    pub block: Option<Vec<Directive>>,
}

impl Directive {
    fn arg(&self, i: usize) -> &str {
        self.args.get(i).map_or("", |a| a)
    }
}

#[derive(Debug, PartialEq)]
enum Tok<'a> {
    /// Borrowed from the text unless quotes or escapes changed it.
    Word(Cow<'a, str>),
    Semi,
    Open,
    Close,
}

/// nginx's tokens, one at a time, in linear time.
struct Lexer<'a> {
    bytes: &'a [u8],
    text: &'a str,
    pos: usize,
    line: usize,
}

impl<'a> Lexer<'a> {
    fn new(text: &'a str) -> Lexer<'a> {
        Lexer {
            bytes: text.as_bytes(),
            text,
            pos: 0,
            line: 1,
        }
    }

    /// The next token and its line; `Err(line)` for an unterminated quote.
    fn next(&mut self) -> Result<Option<(Tok<'a>, usize)>, usize> {
        let b = self.bytes;
        while self.pos < b.len() {
            match b[self.pos] {
                b'\n' => {
                    self.line += 1;
                    self.pos += 1;
                }
                c if c.is_ascii_whitespace() => self.pos += 1,
                b'#' => {
                    self.pos =
                        memchr::memchr(b'\n', &b[self.pos..]).map_or(b.len(), |i| self.pos + i);
                }
                _ => break,
            }
        }
        let Some(&c) = b.get(self.pos) else {
            return Ok(None);
        };
        let line = self.line;
        let tok = match c {
            b';' => {
                self.pos += 1;
                Tok::Semi
            }
            b'{' => {
                self.pos += 1;
                Tok::Open
            }
            b'}' => {
                self.pos += 1;
                Tok::Close
            }
            b'"' | b'\'' => {
                self.pos += 1;
                let first = self.pos;
                let mut escaped = false;
                let mut word = String::new();
                let mut run = self.pos;
                loop {
                    let Some(&ch) = b.get(self.pos) else {
                        return Err(line);
                    };
                    match ch {
                        b'\\' if self.pos + 1 < b.len() => {
                            escaped = true;
                            word.push_str(&self.text[run..self.pos]);
                            let n = b[self.pos + 1];
                            if n != c {
                                word.push('\\');
                            }
                            if n == b'\n' {
                                self.line += 1;
                            }
                            // The escaped character, whole (it may be UTF-8).
                            let len = utf8_len(n);
                            word.push_str(&self.text[self.pos + 1..self.pos + 1 + len]);
                            self.pos += 1 + len;
                            run = self.pos;
                        }
                        q if q == c => {
                            if !escaped {
                                let w = &self.text[first..self.pos];
                                self.pos += 1;
                                return Ok(Some((Tok::Word(Cow::Borrowed(w)), line)));
                            }
                            word.push_str(&self.text[run..self.pos]);
                            self.pos += 1;
                            break;
                        }
                        b'\n' => {
                            self.line += 1;
                            self.pos += 1;
                        }
                        _ => self.pos += 1,
                    }
                }
                Tok::Word(Cow::Owned(word))
            }
            _ => {
                let first = self.pos;
                let mut escaped = false;
                let mut word = String::new();
                let mut run = self.pos;
                // `${var}` keeps its braces: how many are open.
                let mut vars = 0usize;
                let mut prev = 0u8;
                while let Some(&ch) = b.get(self.pos) {
                    if ch == b'{' && prev == b'$' || ch == b'}' && vars > 0 {
                        vars = if ch == b'{' { vars + 1 } else { vars - 1 };
                        prev = ch;
                        self.pos += 1;
                        continue;
                    }
                    if ch.is_ascii_whitespace() || matches!(ch, b';' | b'{' | b'}') {
                        break;
                    }
                    if ch == b'\\' {
                        escaped = true;
                        word.push_str(&self.text[run..self.pos]);
                        self.pos += 1;
                        if let Some(&n) = b.get(self.pos) {
                            if n == b'\n' {
                                self.line += 1;
                            }
                            let len = utf8_len(n);
                            word.push_str(&self.text[self.pos..self.pos + len]);
                            self.pos += len;
                            prev = n;
                        }
                        run = self.pos;
                        continue;
                    }
                    prev = ch;
                    self.pos += 1;
                }
                if escaped {
                    word.push_str(&self.text[run..self.pos]);
                    Tok::Word(Cow::Owned(word))
                } else {
                    Tok::Word(Cow::Borrowed(&self.text[first..self.pos]))
                }
            }
        };
        Ok(Some((tok, line)))
    }
}

/// The length of the UTF-8 character that starts with `b`.
fn utf8_len(b: u8) -> usize {
    match b {
        0xF0..=0xFF => 4,
        0xE0..=0xEF => 3,
        0xC0..=0xDF => 2,
        _ => 1,
    }
}

/// What parsing found besides the directives: the files its includes read
/// and the includes that found nothing.
#[derive(Debug, Default)]
pub(crate) struct Parsed {
    pub directives: Vec<Directive>,
    /// (file, the include that read it, read from this machine).
    pub included: Vec<(String, Loc, bool)>,
    pub warnings: Vec<(Loc, Warning)>,
}

struct Parser<'a> {
    top: &'a str,
    /// Where blocks collect their directives (a stack: a block's are the
    /// tail), each block then takes an exactly sized copy: no spare
    /// capacity and no reallocation holes per block.
    scratch: Vec<Directive>,
    /// The arguments of the directive being read.
    args: Vec<Box<str>>,
    include: &'a Includer<'a>,
    included: Vec<(String, Loc, bool)>,
    warnings: Vec<(Loc, Warning)>,
}

/// Parse a file into directives, following `include` (depth-bounded).
pub(crate) fn parse(file: &str, text: &str, include: &Includer<'_>) -> Result<Parsed, ParseError> {
    let mut p = Parser {
        top: file,
        scratch: Vec::new(),
        args: Vec::new(),
        include,
        included: Vec::new(),
        warnings: Vec::new(),
    };
    let directives = p.file(file, text, 0, 0)?;
    Ok(Parsed {
        directives,
        included: p.included,
        warnings: p.warnings,
    })
}

impl Parser<'_> {
    fn file(
        &mut self,
        file: &str,
        text: &str,
        includes: usize,
        depth: usize,
    ) -> Result<Vec<Directive>, ParseError> {
        let mut lex = Lexer::new(text);
        self.block(file, &mut lex, includes, depth, None)
    }

    /// The directives of a file (`within` is `None`) or of a block: all
    /// of [`KEPT`] and the markers when the block is kept
    /// (`Some(true)`), only the markers when it is not (its other
    /// directives would be dropped with it: they are not made at all).
    fn block<'t>(
        &mut self,
        file: &str,
        lex: &mut Lexer<'t>,
        includes: usize,
        depth: usize,
        within: Option<bool>,
    ) -> Result<Vec<Directive>, ParseError> {
        let nested = within.is_some();
        let keep = within != Some(false);
        let start = self.scratch.len();
        let err = |line, m: String| ParseError::new(Loc::new(file, line), m);
        let next = |lex: &mut Lexer<'t>| {
            lex.next()
                .map_err(|line| err(line, "unterminated quoted string".into()))
        };
        while let Some((tok, line)) = next(lex)? {
            let name = match tok {
                Tok::Close if nested => return Ok(self.scratch.drain(start..).collect()),
                Tok::Close => return Err(err(line, "unexpected \"}\"".into())),
                Tok::Semi => return Err(err(line, "unexpected \";\"".into())),
                Tok::Open => return Err(err(line, "unexpected \"{\"".into())),
                Tok::Word(w) => w,
            };
            let kept = KEPT.iter().find(|k| **k == name).copied();
            // A `log_format`'s name is kept for its marker.
            let owned = keep && kept.is_some() || name == "include" || name == LOG_FORMAT;
            // Collected here, then moved into an exactly sized slice.
            self.args.clear();
            let mut uses_addr = false;
            loop {
                let Some((tok, l)) = next(lex)? else {
                    return Err(err(
                        line,
                        format!("unexpected end of file: \"{name}\" has no \";\""),
                    ));
                };
                match tok {
                    Tok::Word(w) => {
                        uses_addr |= w.contains('$') && w.contains(USES_PROXY_ADDR);
                        if owned {
                            self.args.push(w.into_owned().into_boxed_str());
                        }
                    }
                    Tok::Semi => {
                        let at = Loc::new(file, line);
                        if name == "include" && !self.args.is_empty() {
                            let pattern = self.args.swap_remove(0);
                            self.include(&at, &pattern, includes, depth)?;
                        } else if let (Some(name), true) = (kept, keep) {
                            self.scratch.push(Directive {
                                name,
                                args: self.args.drain(..).collect(),
                                at,
                                block: None,
                            });
                        } else if kept.is_none() && uses_addr {
                            let format = self.args.first().map_or("", |a| a);
                            let args: &[&str] = if name == LOG_FORMAT {
                                &[LOG_FORMAT, format]
                            } else {
                                &[]
                            };
                            self.scratch.push(marker(USES_PROXY_ADDR, at, args));
                        } else if PASSES.contains(&&*name) && !self.passes_on_since(start) {
                            // A `proxy_pass` of a dropped block, or a
                            // `fastcgi_pass` (not kept) in a location: the
                            // marker stands in for it (one per block is
                            // enough).
                            self.scratch.push(marker(PASSES_ON, at, &[]));
                        }
                        break;
                    }
                    Tok::Open => {
                        if depth + 1 > MAX_DEPTH {
                            return Err(err(
                                line,
                                format!("blocks nested deeper than {MAX_DEPTH} levels: check stops here (nginx configurations use a handful)"),
                            ));
                        }
                        let args: Box<[Box<str>]> = self.args.drain(..).collect();
                        let inner = self.block(
                            file,
                            lex,
                            includes,
                            depth + 1,
                            Some(keep && kept.is_some()),
                        )?;
                        let at = Loc::new(file, line);
                        if let (Some(name), true) = (kept, keep) {
                            self.scratch.push(Directive {
                                name,
                                args,
                                at,
                                block: Some(inner),
                            });
                        } else if kept.is_some() {
                            // Inside a block that is dropped: so is this.
                        } else {
                            // A `map` or `if` block that uses the header's
                            // address, or passes requests on. A `map` or
                            // `geo` keyed by it whose values do not hold it
                            // gives a value made from it, not the address.
                            let in_values = inner
                                .iter()
                                .any(|d| d.name == USES_PROXY_ADDR && d.args.is_empty());
                            let keyed = name == "map" || name == "geo";
                            if in_values || uses_addr && !keyed {
                                self.scratch.push(marker(USES_PROXY_ADDR, at.clone(), &[]));
                            } else if uses_addr {
                                self.scratch
                                    .push(marker(USES_PROXY_ADDR, at.clone(), &[DERIVED]));
                            }
                            if inner.iter().any(|d| d.name == PASSES_ON)
                                && !self.passes_on_since(start)
                            {
                                self.scratch.push(marker(PASSES_ON, at, &[]));
                            }
                        }
                        break;
                    }
                    Tok::Close => {
                        return Err(err(
                            l,
                            format!("unexpected \"}}\": \"{name}\" has no \";\""),
                        ))
                    }
                }
            }
        }
        if nested {
            return Err(err(
                lex.line,
                "unexpected end of file: a \"{\" is not closed".into(),
            ));
        }
        Ok(self.scratch.drain(start..).collect())
    }

    /// Whether the block being read (its directives from `start` on) has
    /// its [`PASSES_ON`] marker already: a server of many locations that
    /// pass requests on keeps one.
    fn passes_on_since(&self, start: usize) -> bool {
        self.scratch[start..].iter().any(|d| d.name == PASSES_ON)
    }

    /// Splice what an `include` names in place.
    fn include(
        &mut self,
        at: &Loc,
        pattern: &str,
        includes: usize,
        depth: usize,
    ) -> Result<(), ParseError> {
        if includes >= MAX_INCLUDE_DEPTH {
            return Err(ParseError::new(
                at.clone(),
                format!("includes nested deeper than {MAX_INCLUDE_DEPTH} (a file that includes itself?)"),
            ));
        }
        match (self.include)(self.top, &at.file, pattern) {
            Ok(files) => {
                for f in files {
                    self.included.push((f.name.clone(), at.clone(), f.system));
                    let spliced = self.file(&f.name, &f.text, includes + 1, depth)?;
                    self.scratch.extend(spliced);
                }
                Ok(())
            }
            Err(IncludeError::Missing(m)) => {
                self.warnings.push((
                    at.clone(),
                    Warning::MissingInclude {
                        pattern: pattern.to_string(),
                        error: m,
                    },
                ));
                Ok(())
            }
            Err(IncludeError::Unsupported(m)) => {
                self.warnings.push((
                    at.clone(),
                    Warning::UnsupportedInclude {
                        pattern: pattern.to_string(),
                        error: m,
                    },
                ));
                Ok(())
            }
            Err(IncludeError::Fatal(m)) => Err(ParseError::new(at.clone(), m)),
        }
    }
}

fn marker(name: &'static str, at: Loc, args: &[&str]) -> Directive {
    Directive {
        name,
        args: args.iter().map(|a| Box::from(*a)).collect(),
        at,
        block: None,
    }
}

/// `listen`'s address: host and port (`80`, `10.0.0.1:8080`, `[::]:443`,
/// `*:80`, `localhost`).
pub(crate) fn split_addr(s: &str, default_port: u16) -> (Option<String>, Option<u16>) {
    if s.starts_with("unix:") {
        return (Some(s.to_string()), None);
    }
    if let Ok(p) = s.parse::<u16>() {
        return (None, Some(p));
    }
    if let Some(rest) = s.strip_prefix('[') {
        if let Some((host, tail)) = rest.split_once(']') {
            let port = tail
                .strip_prefix(':')
                .and_then(|p| p.parse().ok())
                .unwrap_or(default_port);
            return (Some(host.to_string()), Some(port));
        }
    }
    match s.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') => {
            let host = (h != "*").then(|| h.to_string());
            (host, p.parse().ok())
        }
        _ => (Some(s.to_string()), Some(default_port)),
    }
}

fn children<'a>(ds: &'a [Directive], name: &'a str) -> impl Iterator<Item = &'a Directive> + 'a {
    ds.iter().filter(move |d| d.name == name)
}

fn last<'a>(ds: &'a [Directive], name: &str) -> Option<&'a Directive> {
    ds.iter().rev().find(|d| d.name == name)
}

/// The real-IP settings of a context, inherited outer → inner.
#[derive(Debug, Clone, Default)]
struct RealIp {
    from: Vec<(IpNet, Loc)>,
    /// `set_real_ip_from unix:`: peers on unix sockets are trusted.
    unix: Option<Loc>,
    /// `set_real_ip_from HOSTNAME` (not `localhost`): nginx trusts the
    /// addresses the name resolves to when it starts, unknown here.
    names: Vec<(Box<str>, Loc)>,
    header: Option<(String, Loc)>,
}

impl RealIp {
    /// Whether any `set_real_ip_from` names a peer (an address, a unix
    /// socket, a host name).
    fn trusts_any(&self) -> bool {
        !self.from.is_empty() || self.unix.is_some() || !self.names.is_empty()
    }

    fn inherit(&self, ds: &[Directive]) -> RealIp {
        let mut out = self.clone();
        let mut from: Vec<(IpNet, Loc)> = Vec::new();
        let mut names: Vec<(Box<str>, Loc)> = Vec::new();
        let mut unix = None;
        for d in children(ds, "set_real_ip_from") {
            let a = d.arg(0);
            if a == "unix:" {
                unix.get_or_insert_with(|| d.at.clone());
            } else if let Some(n) = net(a) {
                from.push((n, d.at.clone()));
            } else if a.eq_ignore_ascii_case("localhost") {
                // What nginx's getaddrinfo() gives for it (/etc/hosts).
                from.extend(
                    LOCALHOST
                        .iter()
                        .filter_map(|h| net(h))
                        .map(|n| (n, d.at.clone())),
                );
            } else {
                names.push((a.into(), d.at.clone()));
            }
        }
        if !from.is_empty() || unix.is_some() || !names.is_empty() {
            out.from = from;
            out.unix = unix;
            out.names = names;
        }
        if let Some(d) = last(ds, "real_ip_header") {
            out.header = Some((d.arg(0).to_string(), d.at.clone()));
        }
        out
    }

    /// Whose header address becomes `$remote_addr` (http) or the address a
    /// stream proxy forwards.
    fn trust(&self, stream: bool) -> Trust {
        let uses_header = stream
            || self
                .header
                .as_ref()
                .is_some_and(|(h, _)| h == "proxy_protocol");
        if !uses_header || !self.trusts_any() {
            return Trust::Unused;
        }
        if let Some((_, at)) = self.names.first() {
            // Addresses not known here: whoever sends is taken as one of
            // them (said as an assumption), no list is claimed.
            if !self.from.iter().any(|(n, _)| n.prefix_len() == 0) {
                return Trust::List(any_source(), at.clone());
            }
        }
        if let (true, Some(at)) = (self.from.is_empty(), &self.unix) {
            // Unix-socket peers only: no address of a TCP peer is trusted.
            return Trust::List(Vec::new().into(), at.clone());
        }
        if self.from.iter().any(|(n, _)| n.prefix_len() == 0) {
            return Trust::Anyone;
        }
        Trust::List(
            self.from.iter().map(|(n, _)| *n).collect(),
            self.from[0].1.clone(),
        )
    }
}

/// The addresses `localhost` resolves to.
const LOCALHOST: [&str; 2] = ["127.0.0.1", "::1"];

/// A CIDR or a bare address (`10.0.0.0/8`, `192.0.2.1`).
pub(crate) fn net(s: &str) -> Option<IpNet> {
    s.parse::<IpNet>()
        .ok()
        .or_else(|| s.parse::<IpAddr>().ok().map(IpNet::from))
}

fn is_loopback(host: &Option<String>) -> bool {
    match host.as_deref() {
        Some("localhost") => true,
        Some(h) => h.parse::<IpAddr>().is_ok_and(|a| a.is_loopback()),
        None => false,
    }
}

/// The hops of one nginx configuration (with its includes).
pub(crate) fn facts(
    file: &str,
    text: &str,
    include: &Includer<'_>,
    out: &mut Facts,
) -> Result<(), ParseError> {
    let parsed = parse(file, text, include)?;
    for (name, from, system) in parsed.included {
        // An embedded configuration's includes are parts of the same file.
        if name == file {
            continue;
        }
        if system {
            out.warnings
                .push((from.clone(), Warning::SystemInclude { path: name.clone() }));
        }
        out.files.push(FileRead {
            name,
            kind: Some(Kind::Nginx),
            included_from: Some(from),
            ..FileRead::default()
        });
    }
    out.warnings.extend(parsed.warnings);
    let mut top = parsed.directives;
    let streams: Vec<Directive> = {
        let (s, rest): (Vec<_>, Vec<_>) = top.into_iter().partition(|d| d.name == "stream");
        top = rest;
        s
    };
    for stream in &streams {
        stream_facts(stream, out);
    }
    // A file of server blocks (conf.d/*.conf, sites-enabled/*) given on
    // its own: nginx.conf includes those inside `http`, unless a server
    // holds what only a `stream` server may (`proxy_pass` in the server
    // block itself, `proxy_protocol on`): nginx refuses that in `http`, so
    // the file is a `streams-enabled/*` one, included inside `stream`.
    let alone = !top.iter().any(|d| d.name == "http") && top.iter().any(|d| d.name == "server");
    if alone && top.iter().any(stream_only) {
        let at = top
            .iter()
            .find(|d| d.name == "server")
            .map_or_else(|| Loc::new(file, 1), |d| d.at.clone());
        let stream = Directive {
            name: "stream",
            args: Box::default(),
            at,
            block: Some(top),
        };
        stream_facts(&stream, out);
    } else if alone {
        http_facts(top, out);
    } else {
        for http in top.into_iter().filter(|d| d.name == "http") {
            http_facts(http.block.unwrap_or_default(), out);
        }
    }
    Ok(())
}

/// Whether a server block holds a directive nginx allows in a `stream`
/// server only: `proxy_pass` in the server block itself (an http server
/// has it in a `location`) or `proxy_protocol` (`on`/`off`).
fn stream_only(d: &Directive) -> bool {
    d.name == "server"
        && d.block.as_deref().is_some_and(|s| {
            s.iter()
                .any(|c| c.name == "proxy_pass" || c.name == "proxy_protocol")
        })
}

/// `nginx http :80,:443 (example.com)`: written in one pass (a
/// configuration of many servers makes many).
fn server_label(proto: &str, s: &[Directive], listeners: &[Listener]) -> String {
    use std::fmt::Write as _;
    #[derive(PartialEq)]
    enum Port<'a> {
        Socket(&'a str),
        Number(u16),
        Unknown,
    }
    let mut out = String::with_capacity(48);
    let _ = write!(out, "nginx {proto} ");
    let mut previous: Option<Port<'_>> = None;
    for l in listeners {
        let port = match (&l.host, l.port) {
            (Some(h), _) if h.starts_with("unix:") => Port::Socket(h),
            (_, Some(p)) => Port::Number(p),
            _ => Port::Unknown,
        };
        // Each port once in a row (`listen 80; listen [::]:80;`).
        if previous.as_ref() == Some(&port) {
            continue;
        }
        if previous.is_some() {
            out.push(',');
        }
        match port {
            Port::Socket(h) => out.push_str(h),
            Port::Number(p) => {
                let _ = write!(out, ":{p}");
            }
            Port::Unknown => out.push('?'),
        }
        previous = Some(port);
    }
    // The names, unless none is given (`server_name ""`, `server_name _`).
    if let Some(d) = last(s, "server_name") {
        let named = match &*d.args {
            [] => false,
            [one] => !one.is_empty() && &**one != "_",
            _ => true,
        };
        if named {
            out.push_str(" (");
            for (i, a) in d.args.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                out.push_str(a);
            }
            out.push(')');
        }
    }
    out
}

/// A listen of an http server: its hop's index and its own.
type PortUse = (usize, usize);

/// The hops of an `http` block's servers. The block is taken whole and
/// each server dropped once read, so a configuration of many servers is
/// not held twice.
fn http_facts(body: Vec<Directive>, out: &mut Facts) {
    let base = RealIp::default().inherit(&body);
    let base_trust = base.trust(false);
    // `$proxy_protocol_addr` in a header, a map's values: the header's
    // address is put to use without realip. In a log format only, it
    // reaches the log (when an `access_log` writes that format), not an
    // application behind a server that passes requests on; so does a
    // value made from it (a `geo` allow-list).
    let mut http_uses = None;
    // (the log format's name, or `None` for a value made from the address)
    let mut weak: Vec<(Option<Box<str>>, Loc)> = Vec::new();
    for d in body.iter().filter(|d| d.name == USES_PROXY_ADDR) {
        match d.arg(0) {
            LOG_FORMAT => weak.push((Some(d.arg(1).into()), d.at.clone())),
            DERIVED => weak.push((None, d.at.clone())),
            _ => {
                http_uses.get_or_insert_with(|| d.at.clone());
            }
        }
    }
    let http_formats: Vec<Box<str>> = log_formats(&body).collect();
    // (host, port) → (server's hop index, listener index, proxy_protocol)
    let servers = body.iter().filter(|d| d.name == "server").count();
    out.hops.reserve(servers);
    let mut by_port: Vec<PortUse> = Vec::with_capacity(servers);
    for server in body.into_iter().filter(|d| d.name == "server") {
        let s = server.block.as_deref().unwrap_or(&[]);
        let own = s
            .iter()
            .any(|d| d.name == "set_real_ip_from" || d.name == "real_ip_header");
        let realip = own.then(|| base.inherit(s));
        let realip = realip.as_ref().unwrap_or(&base);
        let mut trust = if own {
            realip.trust(false)
        } else {
            base_trust.clone()
        };
        // realip set in a location (valid there): that location's requests
        // get the header's address.
        let mut in_location = None;
        if trust == Trust::Unused {
            if let Some((t, at)) = location_trust(realip, s) {
                trust = t;
                in_location = Some(at);
            }
        }
        if trust == Trust::Unused {
            let logged = || {
                if passes_on(s) {
                    return None;
                }
                let written = server_formats(s, &http_formats);
                weak.iter()
                    .find(|(f, _)| {
                        f.as_deref()
                            .is_none_or(|f| written.iter().any(|w| **w == *f))
                    })
                    .map(|(_, at)| at.clone())
            };
            if let Some(at) = uses_addr(s).or_else(|| http_uses.clone()).or_else(logged) {
                trust = Trust::List(any_source(), at);
            }
        }
        // Exactly sized (a Vec grows to four at its first push).
        let mut listeners = Vec::with_capacity(children(s, "listen").count().max(1));
        for l in children(s, "listen") {
            listeners.push(listener(l, 80, || trust.clone()));
        }
        if listeners.is_empty() {
            listeners.push(Listener {
                host: None,
                port: Some(80),
                expects: Expects::Nothing,
                passthrough: false,
                refuses: None,
                ssl: false,
                trust: Trust::Unused,
                fix: "nginx-listen-proxy-protocol",
                at: server.at.clone(),
            });
        }
        let hop_index = out.hops.len();
        let name = server_label("http", s, &listeners);
        let expects = listeners.iter().any(|l| l.expects == Expects::Header);
        if expects {
            forwarded_behind_pp(realip, &name, out);
        }
        if let (Some(at), true) = (in_location, expects) {
            if let Some(other) = location_without(realip, s) {
                out.assumed.push(Assumption {
                    at: other,
                    hop: name.clone().into(),
                    text: format!("realip is set in the location at {at}, not in this one: its requests keep the sender's address as the client's").into(),
                });
            }
        }
        let by_name = expects && !realip.names.is_empty() && realip.trust(false) != Trust::Unused;
        if let (Some((host, host_at)), true) = (realip.names.first(), by_name) {
            out.assumed.push(Assumption {
                at: host_at.clone(),
                hop: name.clone().into(),
                text: format!("set_real_ip_from {host} trusts the addresses nginx resolves this name to when it starts: not known here, assumed to be the sender's").into(),
            });
        }
        by_port.extend((0..listeners.len()).map(|i| (hop_index, i)));
        partial_siblings(&name, &listeners, out);
        out.hops.push(Hop {
            name: name.into(),
            role: Role::Proxy,
            kind: Kind::Nginx,
            at: server.at.clone(),
            listeners,
            upstreams: Vec::new(),
        });
    }
    shared_ports(&by_port, out);
}

/// Whether a server (or a block inside it) passes requests on to another
/// server.
fn passes_on(ds: &[Directive]) -> bool {
    ds.iter().any(|d| {
        d.name == PASSES_ON || d.name == "proxy_pass" || d.block.as_deref().is_some_and(passes_on)
    })
}

/// realip taking the client's address from a request header
/// (`real_ip_header X-Forwarded-For`) on a server whose listen reads PROXY
/// protocol: the sender is an L4 hop (a load balancer passing bytes), which
/// hands the client's own headers on unchanged, so the client writes that
/// header and nginx makes its value `$remote_addr`.
fn forwarded_behind_pp(realip: &RealIp, hop: &str, out: &mut Facts) {
    let Some((header, at)) = &realip.header else {
        return;
    };
    if header.eq_ignore_ascii_case("proxy_protocol") || !realip.trusts_any() {
        return;
    }
    out.found.push(Found {
        finding: Finding::Spoofable,
        at: at.clone(),
        hop: hop.into(),
        message: format!(
            "real_ip_header {header} takes the client's address from that request header, but this server reads PROXY protocol, so its peer is an L4 hop that passes the client's own headers on: the client writes {header} and forges its address ($remote_addr), and without it the address is the load balancer's"
        ),
        fix: Some(fixes::get("nginx-listen-proxy-protocol")),
    });
}

/// The log formats the `access_log`s of a context write (`combined` when
/// none is named; `access_log off` writes none).
fn log_formats(ds: &[Directive]) -> impl Iterator<Item = Box<str>> + '_ {
    children(ds, "access_log")
        .filter(|d| d.arg(0) != "off")
        .map(|d| d.args.get(1).cloned().unwrap_or_else(|| COMBINED.into()))
}

/// The log formats a server writes: its own `access_log`s (else the
/// `http` block's, inherited) and its locations'.
fn server_formats(s: &[Directive], http: &[Box<str>]) -> Vec<Box<str>> {
    fn locations(ds: &[Directive], out: &mut Vec<Box<str>>) {
        for l in children(ds, "location") {
            let b = l.block.as_deref().unwrap_or(&[]);
            out.extend(log_formats(b));
            locations(b, out);
        }
    }
    let mut out: Vec<Box<str>> = log_formats(s).collect();
    if !s.iter().any(|d| d.name == "access_log") {
        out.extend(http.iter().cloned());
    }
    locations(s, &mut out);
    out
}

/// The trust of the first location (at any depth) whose realip settings,
/// inherited from `outer`, use the header's address, and where they are.
fn location_trust(outer: &RealIp, ds: &[Directive]) -> Option<(Trust, Loc)> {
    children(ds, "location").find_map(|l| {
        let b = l.block.as_deref().unwrap_or(&[]);
        let inner = outer.inherit(b);
        match inner.trust(false) {
            Trust::Unused => location_trust(&inner, b),
            t => Some((t, l.at.clone())),
        }
    })
}

/// A location (at any depth, without locations of its own) whose realip
/// settings, inherited from `outer`, do not use the header's address.
fn location_without(outer: &RealIp, ds: &[Directive]) -> Option<Loc> {
    children(ds, "location").find_map(|l| {
        let b = l.block.as_deref().unwrap_or(&[]);
        let inner = outer.inherit(b);
        if children(b, "location").next().is_some() {
            return location_without(&inner, b);
        }
        (inner.trust(false) == Trust::Unused).then(|| l.at.clone())
    })
}

/// Where a block (or a block inside it) uses `$proxy_protocol_addr`.
fn uses_addr(ds: &[Directive]) -> Option<Loc> {
    ds.iter().find_map(|d| {
        if d.name == USES_PROXY_ADDR {
            Some(d.at.clone())
        } else {
            d.block.as_deref().and_then(uses_addr)
        }
    })
}

/// Every source: an address used as it comes, from whoever sends it (no
/// trust list restricts it, none is claimed either).
pub(crate) fn any_source() -> std::sync::Arc<[IpNet]> {
    ["0.0.0.0/0", "::/0"]
        .iter()
        .filter_map(|s| s.parse().ok())
        .collect::<Vec<IpNet>>()
        .into()
}

/// PROXY on :80 and not on :443 (or the reverse) in one server block.
fn partial_siblings(hop: &str, ls: &[Listener], out: &mut Facts) {
    let find = |p| ls.iter().find(|l| l.port == Some(p));
    if let (Some(a), Some(b)) = (find(80), find(443)) {
        if a.expects != b.expects {
            let (with, without) = if a.expects == Expects::Header {
                (a, b)
            } else {
                (b, a)
            };
            out.found.push(Found {
                finding: Finding::PartialProxy,
                at: without.at.clone(),
                hop: hop.to_string().into(),
                message: format!(
                    "port {} expects a PROXY header ({}) but its sibling port {} does not: a load balancer sends to both or to neither",
                    with.port.unwrap_or(0),
                    with.at,
                    without.port.unwrap_or(0)
                ),
                fix: Some(fixes::get("nginx-listen-proxy-protocol")),
            });
        }
    }
}

/// The address a `listen` names, as nginx keys its options: `listen 80`,
/// `*:80` and `0.0.0.0:80` are one address (the wildcard, `None`).
fn addr_key(host: Option<&str>) -> Option<&str> {
    host.filter(|h| *h != "0.0.0.0" && *h != "*")
}

/// Servers sharing an address:port that disagree on proxy_protocol: nginx
/// keeps the option once per address:port (its `addr_conf`), so every
/// server there gets it. A specific address (`127.0.0.1:80`) and the
/// wildcard (`80`) on one port are two addresses with their own options,
/// even when one wildcard socket takes both: nginx picks the options by the
/// connection's local address.
fn shared_ports(by_port: &[PortUse], out: &mut Facts) {
    let lis = |&(h, l): &PortUse| &out.hops[h].listeners[l];
    // Per port, the first listener with proxy_protocol at each address (the
    // wildcard is `None`): a listener without it shares the options of one
    // at its own address.
    let mut with_pp: HashMap<u16, HashMap<Option<&str>, PortUse>> = HashMap::default();
    for u in by_port {
        let l = lis(u);
        if let (Expects::Header, Some(port)) = (l.expects, l.port) {
            with_pp
                .entry(port)
                .or_default()
                .entry(addr_key(l.host.as_deref()))
                .or_insert(*u);
        }
    }
    let mut shared: Vec<(PortUse, PortUse)> = Vec::new();
    for u in by_port {
        let l = lis(u);
        let (Expects::Nothing, Some(p)) = (l.expects, l.port) else {
            continue;
        };
        let Some(hosts) = with_pp.get(&p) else {
            continue;
        };
        let hop = u.0;
        let same = hosts
            .get(&addr_key(l.host.as_deref()))
            .filter(|(other, _)| *other != hop);
        if let Some(with) = same {
            shared.push((*u, *with));
        }
    }
    for ((hop, li), (with_hop, with_li)) in shared {
        let with_at = out.hops[with_hop].listeners[with_li].at.clone();
        // The server gets the header anyway: its listener expects one.
        let trust = out.hops[with_hop].listeners[with_li].trust.clone();
        let me = &mut out.hops[hop];
        me.listeners[li].expects = Expects::Header;
        me.listeners[li].trust = trust;
        let at = me.listeners[li].at.clone();
        let p = me.listeners[li].port.unwrap_or(0);
        let name = me.name.clone();
        out.found.push(Found {
            finding: Finding::PartialProxy,
            at,
            hop: name,
            message: format!(
                "this listen has no proxy_protocol but another server on port {p} has ({with_at}): nginx applies it to the whole address:port, so clients of this server must send a header too"
            ),
            fix: Some(fixes::get("nginx-listen-options-agree")),
        });
    }
}

fn stream_facts(stream: &Directive, out: &mut Facts) {
    let body = stream.block.as_deref().unwrap_or(&[]);
    let base = RealIp::default().inherit(body);
    let base_pp = last(body, "proxy_protocol").map(|d| (d.arg(0) == "on", d.at.clone()));
    let base_bind = last(body, "proxy_bind").map(|d| d.arg(0).to_string());
    let upstreams: Vec<&Directive> = children(body, "upstream").collect();
    for server in children(body, "server") {
        let s = server.block.as_deref().unwrap_or(&[]);
        let realip = base.inherit(s);
        let mut listeners = Vec::new();
        for l in children(s, "listen") {
            listeners.push(listener(l, 0, || realip.trust(true)));
        }
        let sends_on = last(s, "proxy_protocol")
            .map(|d| (d.arg(0) == "on", d.at.clone()))
            .or_else(|| base_pp.clone());
        // `proxy_protocol_version 2` (nginx 1.31.4, stream and mail): the
        // header sent is v2.
        let v2 = last(s, "proxy_protocol_version")
            .or_else(|| last(body, "proxy_protocol_version"))
            .is_some_and(|d| d.arg(0) == "2");
        let bind = last(s, "proxy_bind")
            .map(|d| d.arg(0).to_string())
            .or_else(|| base_bind.clone());
        let source = bind.as_deref().and_then(|b| b.parse::<IpAddr>().ok());
        let ports: Vec<Option<u16>> = listeners.iter().map(|l| l.port).collect();
        let name = server_label("stream", s, &listeners);
        let mut ups = Vec::new();
        if let Some(pass) = last(s, "proxy_pass") {
            let (sends, at) = match &sends_on {
                Some((true, at)) if v2 => (Header::V2, at.clone()),
                Some((true, at)) => (Header::V1, at.clone()),
                _ => (Header::None, pass.at.clone()),
            };
            let target = pass.arg(0);
            let servers: Vec<(String, Loc)> = match upstreams.iter().find(|u| u.arg(0) == target) {
                Some(u) => children(u.block.as_deref().unwrap_or(&[]), "server")
                    .map(|d| (d.arg(0).to_string(), d.at.clone()))
                    .collect(),
                None => vec![(target.to_string(), pass.at.clone())],
            };
            if target.contains('$') {
                out.assumed.push(Assumption {
                    at: pass.at.clone(),
                    hop: name.clone().into(),
                    text: format!("proxy_pass {target} is resolved at run time: where it goes is not known here").into(),
                });
            }
            for (addr, _) in servers {
                let (host, port) = split_addr(&addr, 0);
                let src = source.or_else(|| {
                    is_loopback(&host)
                        .then(|| host.as_deref().and_then(|h| h.parse().ok()))
                        .flatten()
                });
                ups.push(Upstream {
                    host,
                    port,
                    sends,
                    source: src,
                    from_port: ports.first().copied().flatten(),
                    fix: "nginx-stream-send-proxy-protocol",
                    at: at.clone(),
                });
            }
        }
        out.hops.push(Hop {
            name: name.into(),
            role: Role::Proxy,
            kind: Kind::Nginx,
            at: server.at.clone(),
            listeners,
            upstreams: ups,
        });
    }
}

/// One `listen` directive (http or stream): its address, whether it
/// expects a header (`proxy_protocol`), `ssl`, and the trust list that
/// applies when it does.
fn listener(l: &Directive, default_port: u16, trust: impl FnOnce() -> Trust) -> Listener {
    let (host, port) = split_addr(l.arg(0), default_port);
    let pp = l.args.iter().any(|a| &**a == "proxy_protocol");
    Listener {
        host,
        port,
        expects: if pp {
            Expects::Header
        } else {
            Expects::Nothing
        },
        passthrough: false,
        refuses: None,
        ssl: l.args.iter().any(|a| &**a == "ssl"),
        trust: if pp { trust() } else { Trust::Unused },
        fix: "nginx-listen-proxy-protocol",
        at: l.at.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_include(_: &str, _: &str, p: &str) -> Result<Vec<Included>, IncludeError> {
        Err(IncludeError::Fatal(format!("no {p}")))
    }

    #[test]
    fn tokenizes_quotes_comments_and_blocks() {
        let text =
            "# c\nhttp {\n  server { listen \"80\" proxy_protocol; # x\n server_name 200 'a;b'; }\n}\n";
        let ds = parse("n.conf", text, &no_include).unwrap().directives;
        let server = &ds[0].block.as_ref().unwrap()[0];
        let listen = &server.block.as_ref().unwrap()[0];
        assert_eq!(&*listen.args, ["80".into(), "proxy_protocol".into()]);
        assert_eq!(listen.at.line, 3);
        let ret = &server.block.as_ref().unwrap()[1];
        assert_eq!(&*ret.args, ["200".into(), "a;b".into()]);
        // Blocks of other modules are parsed and dropped, unless they use
        // the header's address.
        let ds = parse("n.conf", "map $a ${b}x { default 1; }", &no_include)
            .unwrap()
            .directives;
        assert!(ds.is_empty());
        let ds = parse(
            "n.conf",
            "http { map $proxy_protocol_addr $x { default 1; } server { proxy_pass ${b}x; } }",
            &no_include,
        )
        .unwrap()
        .directives;
        let http = ds[0].block.as_ref().unwrap();
        assert_eq!(http[0].name, USES_PROXY_ADDR);
        assert_eq!(http[1].block.as_ref().unwrap()[0].arg(0), "${b}x");
        // A log format's use is told apart (with its name); a dropped
        // block's `fastcgi_pass` leaves its marker in the location.
        let ds = parse(
            "n.conf",
            "http { log_format m '$proxy_protocol_addr'; server { location / { if ($a) { fastcgi_pass x; } } location /b { proxy_pass y; } } }",
            &no_include,
        )
        .unwrap()
        .directives;
        let http = ds[0].block.as_ref().unwrap();
        assert_eq!(
            (http[0].name, http[0].arg(0), http[0].arg(1)),
            (USES_PROXY_ADDR, LOG_FORMAT, "m")
        );
        let server = http[1].block.as_deref().unwrap();
        assert_eq!(server.len(), 2, "the two locations: {server:?}");
        let first = server[0].block.as_deref().unwrap();
        assert_eq!(first.len(), 1, "one marker for the location: {first:?}");
        assert_eq!(first[0].name, PASSES_ON);
        assert_eq!(server[1].block.as_deref().unwrap()[0].name, "proxy_pass");
        assert!(passes_on(server));
    }

    #[test]
    fn errors_name_the_line() {
        let e = parse("n.conf", "http {\n server {\n listen 80\n }\n", &no_include).unwrap_err();
        assert_eq!(&*e.at.file, "n.conf");
        assert!(e.message.contains("listen"), "{e}");
        let e = parse("n.conf", "events {}\n}\n", &no_include).unwrap_err();
        assert_eq!(e.at.line, 2);
    }

    #[test]
    fn includes_are_spliced_in_place() {
        let inc = |_: &str, _: &str, p: &str| -> Result<Vec<Included>, IncludeError> {
            assert_eq!(p, "conf.d/*.conf");
            Ok(vec![Included {
                name: "conf.d/a.conf".into(),
                text: "server { listen 81; }".into(),
                system: false,
            }])
        };
        let parsed = parse("n.conf", "http { include conf.d/*.conf; }", &inc).unwrap();
        assert_eq!(parsed.included[0].0, "conf.d/a.conf");
        let ds = parsed.directives;
        let server = &ds[0].block.as_ref().unwrap()[0];
        assert_eq!(server.name, "server");
        assert_eq!(&*server.at.file, "conf.d/a.conf");
    }

    #[test]
    fn a_file_of_server_blocks_is_read_as_http() {
        let mut f = Facts::default();
        facts(
            "site.conf",
            "server { listen 8080 proxy_protocol; }\n",
            &no_include,
            &mut f,
        )
        .unwrap();
        assert_eq!(f.hops.len(), 1);
        assert_eq!(f.hops[0].listeners[0].expects, Expects::Header);
    }

    fn hops_of(text: &str) -> Facts {
        let mut f = Facts::default();
        facts("n.conf", text, &no_include, &mut f).unwrap();
        f
    }

    fn partial(f: &Facts) -> usize {
        f.found
            .iter()
            .filter(|x| x.finding == Finding::PartialProxy)
            .count()
    }

    #[test]
    fn listen_options_are_per_address_and_port() {
        // 127.0.0.1:80 and the wildcard :80 are two addresses.
        let f = hops_of(
            "http { server { listen 127.0.0.1:80 proxy_protocol; } server { listen 80; } }",
        );
        assert_eq!(partial(&f), 0, "{:?}", f.found);
        assert_eq!(f.hops[1].listeners[0].expects, Expects::Nothing);
        let f =
            hops_of("http { server { listen 80 proxy_protocol; } server { listen 10.0.0.1:80; } }");
        assert_eq!(partial(&f), 0, "{:?}", f.found);
        // `listen 80`, `*:80` and `0.0.0.0:80` are one address.
        for other in ["80", "*:80", "0.0.0.0:80"] {
            let f = hops_of(&format!(
                "http {{ server {{ listen 0.0.0.0:80 proxy_protocol; }} server {{ listen {other}; }} }}"
            ));
            assert_eq!(partial(&f), 1, "{other}: {:?}", f.found);
        }
        let f = hops_of(
            "http { server { listen 127.0.0.1:80 proxy_protocol; } server { listen 127.0.0.1:80; } }",
        );
        assert_eq!(partial(&f), 1);
    }

    #[test]
    fn realip_in_a_location_counts() {
        let f = hops_of(
            "http { server { listen 80 proxy_protocol; location / { location /a { set_real_ip_from 10.0.0.0/8; real_ip_header proxy_protocol; proxy_pass http://a; } } location /b { proxy_pass http://b; } } }",
        );
        let t = &f.hops[0].listeners[0].trust;
        assert!(matches!(t, Trust::List(n, _) if n.len() == 1), "{t:?}");
        // The location without it is said.
        assert_eq!(f.assumed.len(), 1, "{:?}", f.assumed);
        assert!(f.assumed[0].text.contains("not in this one"));
        // A location with realip's trust list but not its header: unused.
        let f = hops_of(
            "http { server { listen 80 proxy_protocol; location / { set_real_ip_from 10.0.0.0/8; proxy_pass http://a; } } }",
        );
        assert_eq!(f.hops[0].listeners[0].trust, Trust::Unused);
    }

    #[test]
    fn a_log_format_counts_where_an_access_log_writes_it() {
        let site = "server { listen 80 proxy_protocol; return 200; }";
        let fmt = "log_format pp '$proxy_protocol_addr';";
        let used = |text: String| hops_of(&text).hops[0].listeners[0].trust != Trust::Unused;
        assert!(!used(format!("http {{ {fmt} access_log a.log; {site} }}")));
        assert!(!used(format!("http {{ {fmt} {site} }}")));
        assert!(!used(format!("http {{ {fmt} access_log off; {site} }}")));
        assert!(used(format!(
            "http {{ {fmt} access_log a.log pp; {site} }}"
        )));
        assert!(used(format!(
            "http {{ {fmt} server {{ listen 80 proxy_protocol; location / {{ access_log a.log pp; return 200; }} }} }}"
        )));
        // The server's own access_log replaces the http block's.
        assert!(!used(format!(
            "http {{ {fmt} access_log a.log pp; server {{ listen 80 proxy_protocol; access_log b.log; return 200; }} }}"
        )));
        // Named `combined` is the default format: another one is not it.
        assert!(used(format!(
            "http {{ log_format combined2 '$proxy_protocol_addr'; access_log a.log combined2; {site} }}"
        )));
    }

    #[test]
    fn a_value_made_from_the_address_is_not_the_address() {
        let pass = "server { listen 80 proxy_protocol; location / { proxy_pass http://a; } }";
        let answer = "server { listen 80 proxy_protocol; return 200; }";
        let geo = "geo $proxy_protocol_addr $ok { default 0; 198.51.100.0/24 1; }";
        let used = |text: String| hops_of(&text).hops[0].listeners[0].trust != Trust::Unused;
        // An allow-list: the application behind proxy_pass is not handed it.
        assert!(!used(format!("http {{ {geo} {pass} }}")));
        assert!(!used(format!(
            "http {{ map $proxy_protocol_addr $ok {{ default 0; 198.51.100.7 1; }} {pass} }}"
        )));
        // A server that answers itself uses it.
        assert!(used(format!("http {{ {geo} {answer} }}")));
        // A map whose values hold the address hands it on.
        assert!(used(format!(
            "http {{ map $http_x $client {{ default $proxy_protocol_addr; }} {pass} }}"
        )));
    }

    #[test]
    fn set_real_ip_from_a_host_name() {
        let trust = |from: &str| {
            let f = hops_of(&format!(
                "http {{ set_real_ip_from {from}; real_ip_header proxy_protocol; server {{ listen 80 proxy_protocol; }} }}"
            ));
            (f.hops[0].listeners[0].trust.clone(), f.assumed.len())
        };
        // localhost is what nginx resolves it to: 127.0.0.1 and ::1.
        let (t, said) = trust("localhost");
        let Trust::List(nets, _) = t else {
            panic!("{t:?}")
        };
        assert_eq!(nets.len(), 2);
        assert!(nets
            .iter()
            .any(|n| n.contains(&"127.0.0.1".parse::<IpAddr>().unwrap())));
        assert_eq!(said, 0);
        // Another name: its addresses are not known here, and that is said.
        let (t, said) = trust("lb.example.com");
        assert!(matches!(t, Trust::List(..)), "{t:?}");
        assert_eq!(said, 1);
    }

    #[test]
    fn forwarded_for_behind_proxy_protocol_is_spoofable() {
        let f = hops_of(
            "http { set_real_ip_from 10.0.0.0/8; real_ip_header X-Forwarded-For; server { listen 80 proxy_protocol; } }",
        );
        assert_eq!(f.found.len(), 1, "{:?}", f.found);
        assert_eq!(f.found[0].finding, Finding::Spoofable);
        assert_eq!(f.found[0].at.line, 1);
        // Without PROXY protocol the peer may be an L7 proxy: not judged here.
        let f = hops_of(
            "http { set_real_ip_from 10.0.0.0/8; real_ip_header X-Forwarded-For; server { listen 80; } }",
        );
        assert!(f.found.is_empty());
        // The header's own address: fine.
        let f = hops_of(
            "http { set_real_ip_from 10.0.0.0/8; real_ip_header proxy_protocol; server { listen 80 proxy_protocol; } }",
        );
        assert!(f.found.is_empty());
    }

    #[test]
    fn a_file_of_stream_servers_is_read_as_stream() {
        let mut f = Facts::default();
        facts(
            "edge",
            "upstream tier { server 10.0.0.5:443; }\nserver { listen 443; proxy_pass tier; proxy_protocol on; }\n",
            &no_include,
            &mut f,
        )
        .unwrap();
        assert_eq!(f.hops.len(), 1);
        assert!(
            f.hops[0].name.starts_with("nginx stream"),
            "{}",
            f.hops[0].name
        );
        assert_eq!(f.hops[0].upstreams[0].sends, Header::V1);
        assert_eq!(f.hops[0].upstreams[0].host.as_deref(), Some("10.0.0.5"));
    }

    #[test]
    fn addresses() {
        assert_eq!(split_addr("80", 80), (None, Some(80)));
        assert_eq!(split_addr("*:8080", 80), (None, Some(8080)));
        assert_eq!(
            split_addr("127.0.0.1:81", 80),
            (Some("127.0.0.1".into()), Some(81))
        );
        assert_eq!(split_addr("[::1]:443", 80), (Some("::1".into()), Some(443)));
        assert_eq!(
            split_addr("localhost", 80),
            (Some("localhost".into()), Some(80))
        );
    }
}
