//! nginx configuration: a tokenizer for nginx's syntax (directives, blocks,
//! quotes, comments), `include` followed through [`Includer`], and the
//! PROXY facts of `http` and `stream` servers.

use std::net::IpAddr;

use ipnet::IpNet;

use super::{
    Assumption, Facts, Found, Header, Hop, Kind, Listener, Loc, ParseError, Role, Trust, Upstream,
};
use crate::judge::{fixes, Expects, Finding};

/// Resolves an `include` pattern written in `file` to the files it names
/// (name, text), in order.
pub(crate) type Includer = dyn Fn(&str, &str) -> Result<Vec<(String, String)>, String>;

/// One directive, with its block when it has one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Directive {
    pub name: String,
    pub args: Vec<String>,
    pub at: Loc,
    pub block: Option<Vec<Directive>>,
}

impl Directive {
    fn arg(&self, i: usize) -> &str {
        self.args.get(i).map_or("", String::as_str)
    }
}

#[derive(Debug, PartialEq)]
enum Tok {
    Word(String),
    Semi,
    Open,
    Close,
}

fn tokenize(file: &str, text: &str) -> Result<Vec<(Tok, usize)>, ParseError> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    let mut line = 1;
    let err = |line, m: &str| ParseError {
        at: Loc::new(file, line),
        message: m.to_string(),
    };
    while let Some(&c) = chars.peek() {
        match c {
            '\n' => {
                line += 1;
                chars.next();
            }
            c if c.is_whitespace() => {
                chars.next();
            }
            '#' => {
                while chars.peek().is_some_and(|&c| c != '\n') {
                    chars.next();
                }
            }
            ';' => {
                chars.next();
                out.push((Tok::Semi, line));
            }
            '{' => {
                chars.next();
                out.push((Tok::Open, line));
            }
            '}' => {
                chars.next();
                out.push((Tok::Close, line));
            }
            '"' | '\'' => {
                let start = line;
                chars.next();
                let mut word = String::new();
                loop {
                    match chars.next() {
                        None => return Err(err(start, "unterminated quoted string")),
                        Some('\\') => {
                            if let Some(n) = chars.next() {
                                if n == '\n' {
                                    line += 1;
                                }
                                if n != c {
                                    word.push('\\');
                                }
                                word.push(n);
                            }
                        }
                        Some(q) if q == c => break,
                        Some(ch) => {
                            if ch == '\n' {
                                line += 1;
                            }
                            word.push(ch);
                        }
                    }
                }
                out.push((Tok::Word(word), start));
            }
            _ => {
                let mut word = String::new();
                while let Some(&ch) = chars.peek() {
                    // `${var}` keeps its braces.
                    let open = word.matches("${").count() > word.matches('}').count();
                    if (ch == '{' && word.ends_with('$')) || (ch == '}' && open) {
                        word.push(ch);
                        chars.next();
                        continue;
                    }
                    if ch.is_whitespace() || ch == ';' || ch == '{' || ch == '}' {
                        break;
                    }
                    if ch == '\\' {
                        chars.next();
                        if let Some(n) = chars.next() {
                            word.push(n);
                        }
                        continue;
                    }
                    word.push(ch);
                    chars.next();
                }
                out.push((Tok::Word(word), line));
            }
        }
    }
    Ok(out)
}

/// Parse a file into directives, following `include` (depth-bounded).
pub(crate) fn parse(
    file: &str,
    text: &str,
    include: &Includer,
) -> Result<Vec<Directive>, ParseError> {
    parse_depth(file, text, include, 0)
}

fn parse_depth(
    file: &str,
    text: &str,
    include: &Includer,
    depth: usize,
) -> Result<Vec<Directive>, ParseError> {
    let toks = tokenize(file, text)?;
    let mut pos = 0;
    let out = block(file, &toks, &mut pos, include, depth, false)?;
    Ok(out)
}

fn block(
    file: &str,
    toks: &[(Tok, usize)],
    pos: &mut usize,
    include: &Includer,
    depth: usize,
    nested: bool,
) -> Result<Vec<Directive>, ParseError> {
    let mut out = Vec::new();
    let err = |line, m: String| ParseError {
        at: Loc::new(file, line),
        message: m,
    };
    while *pos < toks.len() {
        let (tok, line) = &toks[*pos];
        *pos += 1;
        let name = match tok {
            Tok::Close if nested => return Ok(out),
            Tok::Close => return Err(err(*line, "unexpected \"}\"".into())),
            Tok::Semi => return Err(err(*line, "unexpected \";\"".into())),
            Tok::Open => return Err(err(*line, "unexpected \"{\"".into())),
            Tok::Word(w) => w.clone(),
        };
        let mut args = Vec::new();
        loop {
            let Some((tok, l)) = toks.get(*pos) else {
                return Err(err(
                    *line,
                    format!("unexpected end of file: \"{name}\" has no \";\""),
                ));
            };
            *pos += 1;
            match tok {
                Tok::Word(w) => args.push(w.clone()),
                Tok::Semi => {
                    let at = Loc::new(file, *line);
                    if name == "include" && !args.is_empty() {
                        if depth > 16 {
                            return Err(err(*line, "includes nested too deep".into()));
                        }
                        let files = include(file, &args[0]).map_err(|m| err(*line, m))?;
                        for (name, text) in files {
                            out.extend(parse_depth(&name, &text, include, depth + 1)?);
                        }
                    } else {
                        out.push(Directive {
                            name,
                            args,
                            at,
                            block: None,
                        });
                    }
                    break;
                }
                Tok::Open => {
                    let inner = block(file, toks, pos, include, depth, true)?;
                    out.push(Directive {
                        name,
                        args,
                        at: Loc::new(file, *line),
                        block: Some(inner),
                    });
                    break;
                }
                Tok::Close => {
                    return Err(err(
                        *l,
                        format!("unexpected \"}}\": \"{name}\" has no \";\""),
                    ))
                }
            }
        }
    }
    if nested {
        return Err(err(
            toks.last().map_or(1, |t| t.1),
            "unexpected end of file: a \"{\" is not closed".into(),
        ));
    }
    Ok(out)
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
    header: Option<(String, Loc)>,
}

impl RealIp {
    fn inherit(&self, ds: &[Directive]) -> RealIp {
        let mut out = self.clone();
        let from: Vec<(IpNet, Loc)> = children(ds, "set_real_ip_from")
            .filter_map(|d| net(d.arg(0)).map(|n| (n, d.at.clone())))
            .collect();
        if !from.is_empty() {
            out.from = from;
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
        if !uses_header || self.from.is_empty() {
            return Trust::Unused;
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
    include: &Includer,
    out: &mut Facts,
) -> Result<(), ParseError> {
    let top = parse(file, text, include)?;
    for http in children(&top, "http") {
        http_facts(http, out);
    }
    // A file of server blocks (conf.d/*.conf, sites-enabled/*) given on
    // its own: nginx.conf includes those inside `http`.
    if children(&top, "http").next().is_none() && children(&top, "server").next().is_some() {
        let http = Directive {
            name: "http".into(),
            args: Vec::new(),
            at: Loc::new(file, 1),
            block: Some(top.clone()),
        };
        http_facts(&http, out);
    }
    for stream in children(&top, "stream") {
        stream_facts(stream, out);
    }
    Ok(())
}

fn server_label(proto: &str, s: &[Directive], ports: &[Option<u16>]) -> String {
    let mut ports: Vec<String> = ports
        .iter()
        .map(|p| p.map_or("?".into(), |p| format!(":{p}")))
        .collect();
    ports.dedup();
    let name = last(s, "server_name")
        .map(|d| d.args.join(" "))
        .filter(|n| !n.is_empty() && n != "_");
    match name {
        Some(n) => format!("nginx {proto} {} ({n})", ports.join(",")),
        None => format!("nginx {proto} {}", ports.join(",")),
    }
}

/// A listen of an http server: host, port, the server's hop, the
/// listener's index, and whether it says proxy_protocol.
type PortUse = (Option<String>, Option<u16>, usize, usize, bool);

fn http_facts(http: &Directive, out: &mut Facts) {
    let body = http.block.as_deref().unwrap_or(&[]);
    let base = RealIp::default().inherit(body);
    // (host, port) → (server's hop index, listener index, proxy_protocol)
    let mut by_port: Vec<PortUse> = Vec::new();
    for server in children(body, "server") {
        let s = server.block.as_deref().unwrap_or(&[]);
        let realip = base.inherit(s);
        let trust = realip.trust(false);
        let mut listeners = Vec::new();
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
        let ports: Vec<Option<u16>> = listeners.iter().map(|l| l.port).collect();
        let name = server_label("http", s, &ports);
        for (i, l) in listeners.iter().enumerate() {
            by_port.push((
                l.host.clone(),
                l.port,
                hop_index,
                i,
                l.expects == Expects::Header,
            ));
        }
        partial_siblings(&name, &listeners, out);
        out.hops.push(Hop {
            name,
            role: Role::Proxy,
            kind: Kind::Nginx,
            at: server.at.clone(),
            listeners,
            upstreams: Vec::new(),
        });
    }
    shared_ports(&by_port, out);
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
                hop: hop.to_string(),
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

/// Servers sharing an address:port that disagree on proxy_protocol: nginx
/// sets the option once per socket, so every server there gets it.
fn shared_ports(by_port: &[PortUse], out: &mut Facts) {
    for (host, port, hop, li, pp) in by_port {
        if *pp || port.is_none() {
            continue;
        }
        let same = by_port
            .iter()
            .filter(|(h, p, other, ..)| {
                p == port && (h == host || h.is_none() || host.is_none()) && other != hop
            })
            .find(|e| e.4);
        let Some((_, _, with_hop, with_li, _)) = same else {
            continue;
        };
        let with_at = out.hops[*with_hop].listeners[*with_li].at.clone();
        // The server gets the header anyway: its listener expects one.
        let trust = out.hops[*with_hop].listeners[*with_li].trust.clone();
        let me = &mut out.hops[*hop];
        me.listeners[*li].expects = Expects::Header;
        me.listeners[*li].trust = trust;
        let at = me.listeners[*li].at.clone();
        let name = me.name.clone();
        out.found.push(Found {
            finding: Finding::PartialProxy,
            at,
            hop: name,
            message: format!(
                "this listen has no proxy_protocol but another server on port {} has ({with_at}): nginx applies it to the whole address:port, so clients of this server must send a header too",
                port.unwrap_or(0)
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
        let bind = last(s, "proxy_bind")
            .map(|d| d.arg(0).to_string())
            .or_else(|| base_bind.clone());
        let source = bind.as_deref().and_then(|b| b.parse::<IpAddr>().ok());
        let ports: Vec<Option<u16>> = listeners.iter().map(|l| l.port).collect();
        let name = server_label("stream", s, &ports);
        let mut ups = Vec::new();
        if let Some(pass) = last(s, "proxy_pass") {
            let (sends, at) = match &sends_on {
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
                    hop: name.clone(),
                    text: format!("proxy_pass {target} is resolved at run time: where it goes is not known here"),
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
            name,
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
    let pp = l.args.iter().any(|a| a == "proxy_protocol");
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
        ssl: l.args.iter().any(|a| a == "ssl"),
        trust: if pp { trust() } else { Trust::Unused },
        fix: "nginx-listen-proxy-protocol",
        at: l.at.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_include(_: &str, p: &str) -> Result<Vec<(String, String)>, String> {
        Err(format!("no {p}"))
    }

    #[test]
    fn tokenizes_quotes_comments_and_blocks() {
        let text =
            "# c\nhttp {\n  server { listen \"80\" proxy_protocol; # x\n return 200 'a;b'; }\n}\n";
        let ds = parse("n.conf", text, &no_include).unwrap();
        let server = &ds[0].block.as_ref().unwrap()[0];
        let listen = &server.block.as_ref().unwrap()[0];
        assert_eq!(listen.args, ["80", "proxy_protocol"]);
        assert_eq!(listen.at.line, 3);
        let ret = &server.block.as_ref().unwrap()[1];
        assert_eq!(ret.args, ["200", "a;b"]);
        let ds = parse("n.conf", "map $a ${b}x { default 1; }", &no_include).unwrap();
        assert_eq!(ds[0].args, ["$a", "${b}x"]);
        assert_eq!(ds[0].block.as_ref().unwrap()[0].name, "default");
    }

    #[test]
    fn errors_name_the_line() {
        let e = parse("n.conf", "http {\n server {\n listen 80\n }\n", &no_include).unwrap_err();
        assert_eq!(e.at.file, "n.conf");
        assert!(e.message.contains("listen"), "{e}");
        let e = parse("n.conf", "events {}\n}\n", &no_include).unwrap_err();
        assert_eq!(e.at.line, 2);
    }

    #[test]
    fn includes_are_spliced_in_place() {
        let inc = |_: &str, p: &str| -> Result<Vec<(String, String)>, String> {
            assert_eq!(p, "conf.d/*.conf");
            Ok(vec![(
                "conf.d/a.conf".into(),
                "server { listen 81; }".into(),
            )])
        };
        let ds = parse("n.conf", "http { include conf.d/*.conf; }", &inc).unwrap();
        let server = &ds[0].block.as_ref().unwrap()[0];
        assert_eq!(server.name, "server");
        assert_eq!(server.at.file, "conf.d/a.conf");
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
