//! HAProxy configuration: sections, `bind … accept-proxy`,
//! `tcp-request connection expect-proxy layer4`, `server … send-proxy*`,
//! `default-server`, `source`, `mode`, `option forwardfor`.

use std::net::IpAddr;

use ipnet::IpNet;

use super::nginx::{any_source, net, split_addr};
use super::{
    Assumption, Facts, Header, Hop, Kind, Listener, Loc, ParseError, Role, Trust, Upstream,
};
use crate::judge::Expects;

/// One line: its words (quotes and escapes resolved, comment dropped).
fn words(file: &str, line_no: usize, line: &str) -> Result<Vec<String>, ParseError> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some('"'), '\\') | (None, '\\') => {
                if let Some(n) = chars.next() {
                    word.push(n);
                }
                in_word = true;
            }
            (Some(_), c) => word.push(c),
            (None, '#') => break,
            (None, '"' | '\'') => {
                quote = Some(c);
                in_word = true;
            }
            (None, c) if c.is_whitespace() => {
                if in_word {
                    out.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            (None, c) => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if quote.is_some() {
        return Err(ParseError::new(
            Loc::new(file, line_no),
            "unterminated quote",
        ));
    }
    if in_word {
        out.push(word);
    }
    Ok(out)
}

/// `ipv4@10.0.0.1:80` → `10.0.0.1:80` (HAProxy's address families).
fn strip_family(addr: &str) -> &str {
    for p in ["ipv4@", "ipv6@", "tcp@", "tcp4@", "tcp6@"] {
        if let Some(rest) = addr.strip_prefix(p) {
            return rest;
        }
    }
    addr
}

/// An address as HAProxy reads it: the port is after the last colon, so
/// an IPv6 address needs no brackets (`:::443`, `::1:8080`, `ipv6@::1:80`);
/// `[::1]:8080`, `*:80`, `:80` and a unix path as elsewhere.
fn haproxy_addr(addr: &str) -> (Option<String>, Option<u16>) {
    let addr = strip_family(addr);
    match addr.rsplit_once(':') {
        Some((host, port)) if !addr.starts_with('[') && host.contains(':') => {
            (Some(host.to_string()), port.parse().ok())
        }
        _ => split_addr(addr, 0),
    }
}

/// The port a server without one (`10.0.0.5`, `:0`, `:+1`) is reached on:
/// the one the client connected to (HAProxy's rule), shifted by `+N`/`-N`,
/// known when the frontend listens on one port. `None` when a port is
/// written, or for a unix socket (matched by its path).
fn client_port(addr: &str, listeners: &[Listener]) -> Option<Option<u16>> {
    let addr = strip_family(addr);
    // A unix socket (`/run/app.sock`, `unix@…`, `abns@…`) has no port.
    if addr.starts_with('/') || addr.contains('@') {
        return None;
    }
    // The port's text, by HAProxy's rule: after `]:`, else the last colon.
    let written = match addr.strip_prefix('[') {
        Some(rest) => rest.split_once("]:").map(|(_, p)| p),
        None => addr.rsplit_once(':').map(|(_, p)| p),
    };
    let offset: i32 = match written {
        None | Some("" | "0") => 0,
        Some(p) if p.starts_with('+') || p.starts_with('-') => p.parse().ok()?,
        Some(_) => return None,
    };
    let mut ports = listeners.iter().filter_map(|l| l.port);
    let Some(first) = ports.next() else {
        return Some(None);
    };
    if ports.any(|p| p != first) {
        return Some(None);
    }
    Some(u16::try_from(i32::from(first) + offset).ok())
}

/// The section keywords (HAProxy 3.x): a line starting with one opens a
/// section; what follows belongs to it, not to the proxy above.
const SECTIONS: &[&str] = &[
    "global",
    "defaults",
    "frontend",
    "backend",
    "listen",
    "resolvers",
    "peers",
    "userlist",
    "program",
    "http-errors",
    "cache",
    "ring",
    "mailers",
    "log-forward",
    "fcgi-app",
    "crt-store",
    "traces",
    "acme",
];

/// A section line's name and the defaults it names with `from`
/// (`defaults [NAME] [from OTHER]`, `backend NAME [from OTHER]`).
fn section_names(w: &[String]) -> (&str, Option<&str>) {
    let rest = w.get(1..).unwrap_or_default();
    let (name, rest) = match rest.split_first() {
        Some((n, r)) if n != "from" => (n.as_str(), r),
        _ => ("", rest),
    };
    let from = match rest {
        [kw, other, ..] if kw == "from" => Some(other.as_str()),
        _ => None,
    };
    (name, from)
}

/// What a proxy (or a defaults section with `from`) takes from a defaults
/// section.
fn inherited(d: &Section) -> Section {
    Section {
        mode_http: d.mode_http,
        forwardfor: d.forwardfor,
        default_server: d.default_server.clone(),
        source: d.source,
        ..Section::default()
    }
}

/// The address a `source` keyword's words (`ADDR[:PORT[-END]] [usesrc
/// …]`) make the connections come from: none when it is left to the
/// kernel (`0.0.0.0`, `::`, with a port range or not); each client's own
/// with `usesrc client`, `clientip` or `hdr_ip(…)` (transparent proxying),
/// said as the unspecified address, which no trust list holds.
fn source(words: &[String]) -> Option<IpAddr> {
    let ip = |w: &String| {
        let (host, _) = haproxy_addr(w);
        host.and_then(|h| h.parse::<IpAddr>().ok())
            .filter(|a| !a.is_unspecified())
    };
    match words.iter().position(|w| w == "usesrc") {
        Some(i) => match words.get(i + 1).map(String::as_str) {
            Some("client" | "clientip") => Some(IpAddr::from([0, 0, 0, 0])),
            Some(h) if h.starts_with("hdr_ip(") => Some(IpAddr::from([0, 0, 0, 0])),
            Some(_) => words.get(i + 1).and_then(ip),
            None => None,
        },
        None => words.first().and_then(ip),
    }
}

/// The header a server sends, from its options in order (default-server's
/// first). HAProxy keeps one flag per option and a `no-` form clears only
/// its own (`no-send-proxy` leaves a `send-proxy-v2` on); any flag left,
/// `proxy-v2-options` alone too, sends a header, v2 when `send-proxy-v2`
/// (or -ssl, -ssl-cn) is among them, else v1 (wire-checked on 2.6).
fn sends(opts: &[String]) -> Header {
    const V1: u8 = 1;
    const V2: u8 = 2;
    const SSL: u8 = 4;
    const CN: u8 = 8;
    /// proxy-v2-options' other TLVs, which no `no-` form clears.
    const TLV: u8 = 16;
    let mut flags = 0u8;
    let mut words = opts.iter();
    while let Some(o) = words.next() {
        match o.as_str() {
            "send-proxy" => flags |= V1,
            "send-proxy-v2" => flags |= V2,
            "send-proxy-v2-ssl" => flags |= V2 | SSL,
            "send-proxy-v2-ssl-cn" => flags |= V2 | SSL | CN,
            "no-send-proxy" => flags &= !V1,
            "no-send-proxy-v2" => flags &= !V2,
            "no-send-proxy-v2-ssl" => flags &= !(V2 | SSL),
            "no-send-proxy-v2-ssl-cn" => flags &= !(V2 | SSL | CN),
            "proxy-v2-options" => {
                for opt in words.next().map_or("", String::as_str).split(',') {
                    flags |= match opt {
                        "ssl" => SSL,
                        "cert-cn" => SSL | CN,
                        "cert-key" | "cert-sig" | "ssl-cipher" => SSL | TLV,
                        "" => 0,
                        _ => TLV,
                    };
                }
            }
            _ => {}
        }
    }
    match flags {
        0 => Header::None,
        f if f & V2 != 0 => Header::V2,
        _ => Header::V1,
    }
}

/// A `server` (or `server-template`) line: its address, and its options
/// with the `default-server` ones above it first.
#[derive(Debug, Clone)]
struct Server {
    addr: String,
    opts: Vec<String>,
    at: Loc,
}

#[derive(Debug, Default, Clone)]
struct Section {
    kind: String,
    name: String,
    at: Option<Loc>,
    mode_http: Option<bool>,
    forwardfor: bool,
    binds: Vec<(Vec<String>, Loc)>,
    /// Each `tcp-request connection expect-proxy` rule: the words after
    /// `expect-proxy` (`layer4 if { src … }`), and where.
    expect_proxy: Vec<(Vec<String>, Loc)>,
    /// `acl NAME src …`: each name and the words after `src`.
    src_acls: Vec<(String, Vec<String>)>,
    /// Each `tcp-request connection reject` rule: the words after `reject`.
    reject: Vec<(Vec<String>, Loc)>,
    servers: Vec<Server>,
    /// The `default-server` options so far (the defaults' first).
    default_server: Vec<String>,
    source: Option<IpAddr>,
    backends: Vec<String>,
}

/// The hops of one HAProxy configuration: one per frontend or listen
/// section, sending to the servers of its backends.
pub(crate) fn facts(file: &str, text: &str, out: &mut Facts) -> Result<(), ParseError> {
    let mut sections: Vec<Section> = Vec::new();
    // The defaults section a proxy without `from` takes: the last one
    // before it, named or not.
    let mut last_defaults: Option<usize> = None;
    for (i, raw) in text.lines().enumerate() {
        let line_no = i + 1;
        let w = words(file, line_no, raw)?;
        let Some(first) = w.first() else { continue };
        let at = Loc::new(file, line_no);
        if SECTIONS.contains(&first.as_str()) {
            let proxy = matches!(first.as_str(), "frontend" | "backend" | "listen");
            let (name, from) = section_names(&w);
            // `frontend X from NAME`, `defaults B from A` (HAProxy 2.6+):
            // the named defaults section; a proxy without `from` the last
            // one; a defaults section without `from` starts afresh.
            let inherits = match from {
                Some(f) => Some(
                    sections
                        .iter()
                        .rposition(|s| s.kind == "defaults" && s.name == f)
                        .ok_or_else(|| {
                            ParseError::new(
                                at.clone(),
                                format!(
                                    "`from {f}`: no defaults section of that name before it (HAProxy refuses the configuration)"
                                ),
                            )
                        })?,
                ),
                None if proxy => last_defaults,
                None => None,
            };
            let base = match inherits {
                Some(d) if proxy || first == "defaults" => inherited(&sections[d]),
                _ => Section::default(),
            };
            sections.push(Section {
                kind: first.clone(),
                name: name.to_string(),
                at: Some(at),
                ..base
            });
            if first == "defaults" {
                last_defaults = Some(sections.len() - 1);
            }
            continue;
        }
        let Some(sec) = sections.last_mut() else {
            return Err(ParseError::new(
                at,
                format!("\"{first}\" outside of any section"),
            ));
        };
        let arg = |n: usize| w.get(n).map_or("", String::as_str);
        // A server's options: the `default-server` lines above it in the
        // section (and its defaults), then its own; one below it does not
        // apply to it.
        let server = |addr: usize, sec: &Section, at: Loc| Server {
            addr: arg(addr).to_string(),
            opts: sec
                .default_server
                .iter()
                .chain(w.iter().skip(addr + 1))
                .cloned()
                .collect(),
            at,
        };
        match first.as_str() {
            "mode" => sec.mode_http = Some(arg(1) == "http"),
            "option" if arg(1) == "forwardfor" => sec.forwardfor = true,
            "no" if arg(1) == "option" && arg(2) == "forwardfor" => sec.forwardfor = false,
            "bind" => sec.binds.push((w[1..].to_vec(), at)),
            "server" => {
                let s = server(2, sec, at);
                sec.servers.push(s);
            }
            // `server-template PREFIX NUM ADDR …`: NUM servers alike.
            "server-template" => {
                let s = server(3, sec, at);
                sec.servers.push(s);
            }
            "default-server" => sec.default_server.extend(w[1..].iter().cloned()),
            "source" => sec.source = source(&w[1..]),
            "default_backend" => sec.backends.push(arg(1).to_string()),
            "use_backend" => sec.backends.push(arg(1).to_string()),
            "tcp-request" if arg(1) == "connection" && arg(2) == "expect-proxy" => {
                sec.expect_proxy.push((w[3..].to_vec(), at));
            }
            "tcp-request" if arg(1) == "connection" && arg(2) == "reject" => {
                sec.reject.push((w[3..].to_vec(), at));
            }
            "acl" if arg(2) == "src" => {
                sec.src_acls.push((arg(1).to_string(), w[3..].to_vec()));
            }
            _ => {}
        }
    }
    let backend = |name: &str| {
        sections
            .iter()
            .find(|s| s.kind == "backend" && s.name == name)
    };
    for sec in sections
        .iter()
        .filter(|s| s.kind == "frontend" || s.kind == "listen")
    {
        let at = sec.at.clone().unwrap_or_else(|| Loc::new(file, 1));
        let rules = expect_rules(sec);
        let peers = allowed_peers(sec);
        // A source list in a file the input does not hold (`src -f`).
        let mut listed_in: Option<(String, Loc)> = None;
        let mut listeners = Vec::new();
        let binds = sec.binds.iter().flat_map(|(args, bat)| {
            // `bind :80,:8080 …`: one listener per address.
            args.first()
                .map_or("", String::as_str)
                .split(',')
                .map(move |addr| (addr.to_string(), args, bat))
                .collect::<Vec<_>>()
        });
        for (addr, args, bat) in binds {
            let (host, port) = haproxy_addr(&addr);
            // `accept-proxy` takes a header from every peer of the bind;
            // the `expect-proxy` rules only from the sources they admit.
            let accept = args.iter().any(|a| a == "accept-proxy");
            // Rejecting every peer but some (`reject unless { src … }`,
            // seen on the real peer's address even with `accept-proxy`)
            // makes those the only senders of a header.
            let admits = match (&rules, accept) {
                (_, true) | (Some(Admits::Anyone), _) => Some(&peers),
                _ => rules.as_ref(),
            };
            let (expects, trust) = match admits {
                Some(Admits::Anyone) => (Expects::Header, Trust::Anyone),
                Some(Admits::Nets(nets, eat)) => (
                    Expects::Header,
                    Trust::List(nets.clone().into(), eat.clone()),
                ),
                Some(Admits::File(path, eat)) => {
                    listed_in.get_or_insert((path.clone(), eat.clone()));
                    (Expects::Header, Trust::List(any_source(), eat.clone()))
                }
                None => (Expects::Nothing, Trust::Unused),
            };
            listeners.push(Listener {
                host: host.filter(|h| !h.is_empty()),
                port,
                expects,
                passthrough: false,
                refuses: None,
                ssl: args.iter().any(|a| a == "ssl"),
                trust,
                fix: "haproxy-accept-proxy",
                at: bat.clone(),
            });
        }
        let mut servers: Vec<(&Section, &Server)> = sec.servers.iter().map(|s| (sec, s)).collect();
        for b in &sec.backends {
            if let Some(be) = backend(b) {
                servers.extend(be.servers.iter().map(|s| (be, s)));
            }
        }
        let mut upstreams = Vec::new();
        for (owner, server) in servers {
            let opts = &server.opts;
            let sat = &server.at;
            let sends = sends(opts);
            let (host, port) = haproxy_addr(&server.addr);
            let port = client_port(&server.addr, &listeners).unwrap_or(port);
            // The server's own `source` (its last, default-server's first)
            // over the section's.
            let opt_source = match opts.iter().rposition(|o| o == "source") {
                Some(i) => source(&opts[i + 1..]),
                None => owner.source,
            };
            let loopback = host
                .as_deref()
                .and_then(|h| h.parse::<IpAddr>().ok())
                .filter(|a| a.is_loopback());
            upstreams.push(Upstream {
                host,
                port,
                sends,
                source: opt_source.or(loopback),
                from_port: listeners.first().and_then(|l: &Listener| l.port),
                fix: "haproxy-send-proxy",
                at: sat.clone(),
            });
        }
        let mode = match sec.mode_http {
            Some(true) => "http",
            _ => "tcp",
        };
        let ports: Vec<String> = listeners
            .iter()
            .map(|l| l.port.map_or("?".into(), |p| format!(":{p}")))
            .collect();
        let name: std::sync::Arc<str> = format!(
            "haproxy {} {} ({mode}) {}",
            sec.kind,
            sec.name,
            ports.join(",")
        )
        .into();
        if let Some((path, list_at)) = listed_in {
            out.assumed.push(Assumption {
                at: list_at,
                hop: name.clone(),
                text: format!(
                    "takes a PROXY header only from the sources listed in `{path}`, which is \
                     not in the input: assumed they are the senders' addresses (confirm that \
                     it lists only them)"
                )
                .into(),
            });
        }
        out.hops.push(Hop {
            name,
            role: Role::Proxy,
            kind: Kind::Haproxy,
            at,
            listeners,
            upstreams,
        });
    }
    Ok(())
}

/// The sources a section's `expect-proxy` rules take a header from, or its
/// `reject` rules let in.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Admits {
    /// A rule without a condition, or one not read as a source list (a
    /// negation, `unless`, another fetch than `src`).
    Anyone,
    /// Only these (the CIDRs written in the rules and their `acl`s), and
    /// the rule's place (the first `expect-proxy` rule's).
    Nets(Vec<IpNet>, Loc),
    /// Some in a file (`src -f FILE`) the input does not hold.
    File(String, Loc),
}

/// What the section's `expect-proxy` rules admit together (HAProxy takes a
/// header where any rule matches); `None` without a rule.
fn expect_rules(sec: &Section) -> Option<Admits> {
    let (_, first) = sec.expect_proxy.first()?;
    let mut all = Vec::new();
    for (words, _) in &sec.expect_proxy {
        // `layer4 if COND`; no condition, or `unless`, admits anyone.
        let cond = words.iter().position(|w| w == "if");
        match cond.and_then(|i| condition_sources(&words[i + 1..], &sec.src_acls)) {
            Some(sources) => all.extend(sources),
            None => return Some(Admits::Anyone),
        }
    }
    Some(admits(&all, first))
}

/// The peers a section's `tcp-request connection reject` rules let in: the
/// sources of the first `reject unless COND` or `reject if !NAME` (`if ! {
/// src … }`) that names some, or anyone without such a rule.
fn allowed_peers(sec: &Section) -> Admits {
    for (words, at) in &sec.reject {
        let acls = &sec.src_acls;
        let sources = match words.split_first() {
            Some((w, cond)) if w == "unless" => condition_sources(cond, acls),
            // One negated term only: `!a or b` would let b's peers out.
            Some((w, cond)) if w == "if" => match cond {
                [name] if name.len() > 1 && name.starts_with('!') => {
                    named_sources(&name[1..], acls)
                }
                [bang, name] if bang == "!" => named_sources(name, acls),
                [bang, open, block @ .., close] if bang == "!" && open == "{" && close == "}" => {
                    anonymous_sources(block)
                }
                [open, block @ .., close] if open == "!{" && close == "}" => {
                    anonymous_sources(block)
                }
                _ => None,
            },
            _ => None,
        };
        match sources.map(|s| admits(&s, at)) {
            None | Some(Admits::Anyone) => {}
            Some(found) => return found,
        }
    }
    Admits::Anyone
}

/// What a list of sources admits: none, or one that holds 0.0.0.0/0 (or
/// ::/0), is anyone's (as `k8s::sources` reads a list); one in a file the
/// input does not hold is that file's; else these CIDRs, said at `at`.
fn admits(sources: &[Source<'_>], at: &Loc) -> Admits {
    let mut nets = Vec::new();
    let mut file = None;
    for source in sources {
        match *source {
            Source::Net(n) => nets.push(n),
            Source::File(f) => {
                file.get_or_insert(f);
            }
        }
    }
    match file {
        _ if nets.iter().any(|n| n.prefix_len() == 0) => Admits::Anyone,
        Some(path) => Admits::File(path.to_string(), at.clone()),
        None if nets.is_empty() => Admits::Anyone,
        None => Admits::Nets(nets, at.clone()),
    }
}

/// One source of a `src` match: a CIDR, or the file it reads them from.
#[derive(Debug, Clone, Copy)]
enum Source<'a> {
    Net(IpNet),
    File(&'a str),
}

/// The sources a condition's terms admit (`{ src 10.0.0.0/8 }`, `from_lb`,
/// several joined by `or`), or `None` when it is not only `src` matches:
/// a negation, another fetch, an ACL that is not `src`. Terms side by side
/// (HAProxy's "and") are taken as either: a narrower list is still a list.
fn condition_sources<'a>(
    terms: &'a [String],
    acls: &'a [(String, Vec<String>)],
) -> Option<Vec<Source<'a>>> {
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(term) = terms.get(i) {
        match term.as_str() {
            "or" | "||" => i += 1,
            "{" => {
                let len = terms[i + 1..].iter().position(|w| w == "}")?;
                out.extend(anonymous_sources(&terms[i + 1..i + 1 + len])?);
                i += len + 2;
            }
            name => {
                out.extend(named_sources(name, acls)?);
                i += 1;
            }
        }
    }
    Some(out)
}

/// An anonymous ACL's sources: the words between `{` and `}`, `src …`.
fn anonymous_sources(block: &[String]) -> Option<Vec<Source<'_>>> {
    match block.split_first() {
        Some((fetch, args)) if fetch == "src" => src_args(args),
        _ => None,
    }
}

/// A named ACL's sources, on one or more `acl NAME src …` lines (either
/// matches); `None` when no such line names it.
fn named_sources<'a>(name: &str, acls: &'a [(String, Vec<String>)]) -> Option<Vec<Source<'a>>> {
    let mut lines = acls.iter().filter(|(n, _)| n == name).peekable();
    lines.peek()?;
    let mut out = Vec::new();
    for (_, args) in lines {
        out.extend(src_args(args)?);
    }
    Some(out)
}

/// The sources of a `src` match's words: CIDRs or addresses, and the file
/// of each `-f FILE`; its other flags (`-m ip`, `-n`) are skipped. `None`
/// when a word is none of these (a host name).
fn src_args(args: &[String]) -> Option<Vec<Source<'_>>> {
    let mut out = Vec::new();
    let mut words = args.iter();
    while let Some(w) = words.next() {
        match w.as_str() {
            "-f" => out.push(Source::File(words.next()?)),
            "-m" | "-u" => {
                words.next()?;
            }
            flag if flag.starts_with('-') => {}
            value => out.push(Source::Net(net(value)?)),
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frontends_binds_and_servers() {
        let cfg = "defaults\n  mode tcp\n  default-server send-proxy-v2\nfrontend fe\n  bind :443 accept-proxy # c\n  default_backend be\nbackend be\n  server a 127.0.0.1:8443 check\n  server b 10.0.0.2:8443 no-send-proxy-v2\n";
        let mut f = Facts::default();
        facts("h.cfg", cfg, &mut f).unwrap();
        let hop = &f.hops[0];
        assert_eq!(hop.listeners[0].port, Some(443));
        assert_eq!(hop.listeners[0].expects, Expects::Header);
        assert_eq!(hop.upstreams[0].sends, Header::V2);
        assert_eq!(hop.upstreams[0].at.line, 8);
        assert_eq!(hop.upstreams[1].sends, Header::None);
    }

    #[test]
    fn address_families_and_lists() {
        let cfg = "frontend fe\n  bind ipv4@:80,ipv4@:8080 accept-proxy\n  use_backend be\nbackend be\n  server a ipv4@127.0.0.1:81 send-proxy\n";
        let mut f = Facts::default();
        facts("h.cfg", cfg, &mut f).unwrap();
        let ports: Vec<Option<u16>> = f.hops[0].listeners.iter().map(|l| l.port).collect();
        assert_eq!(ports, [Some(80), Some(8080)]);
        assert_eq!(f.hops[0].upstreams[0].host.as_deref(), Some("127.0.0.1"));
        assert_eq!(f.hops[0].upstreams[0].sends, Header::V1);
    }

    #[test]
    fn ipv6_without_brackets_has_its_port_after_the_last_colon() {
        for (addr, host, port) in [
            (":::443", "::", Some(443)),
            ("::1:8080", "::1", Some(8080)),
            ("ipv6@2001:db8::7:80", "2001:db8::7", Some(80)),
            ("[::1]:8080", "::1", Some(8080)),
            ("192.0.2.7:80", "192.0.2.7", Some(80)),
        ] {
            assert_eq!(haproxy_addr(addr), (Some(host.into()), port), "{addr}");
        }
        let cfg = "frontend fe\n  bind :::27190 v4v6\n  default_backend be\nbackend be\n  server s ::1:27191 send-proxy-v2\n";
        let mut f = Facts::default();
        facts("h.cfg", cfg, &mut f).unwrap();
        assert_eq!(f.hops[0].listeners[0].port, Some(27190));
        assert_eq!(f.hops[0].upstreams[0].host.as_deref(), Some("::1"));
        assert_eq!(f.hops[0].upstreams[0].port, Some(27191));
    }

    #[test]
    fn a_server_without_a_port_is_reached_on_the_clients() {
        let cfg = "frontend fe\n  bind :8443\n  default_backend be\nbackend be\n  server a 192.0.2.7 send-proxy\n  server b 192.0.2.8:+1 send-proxy\n  server c [2001:db8::1] send-proxy\n  server d /run/app.sock send-proxy\n";
        let mut f = Facts::default();
        facts("h.cfg", cfg, &mut f).unwrap();
        let ports: Vec<Option<u16>> = f.hops[0].upstreams.iter().map(|u| u.port).collect();
        // A unix socket is matched by its path (port 0 on both sides).
        assert_eq!(ports, [Some(8443), Some(8444), Some(8443), Some(0)]);
        // Two ports: which one the client used is not known.
        let cfg = "frontend fe\n  bind :80\n  bind :443\n  server a 192.0.2.7 send-proxy\n";
        let mut f = Facts::default();
        facts("h.cfg", cfg, &mut f).unwrap();
        assert_eq!(f.hops[0].upstreams[0].port, None);
    }

    /// What one server sends with `default-server DEFAULTS` in `defaults`
    /// and `OWN` on its line.
    fn sent(defaults: &str, own: &str) -> Header {
        let cfg = format!("defaults\n  mode tcp\n  default-server {defaults}\nlisten l\n  bind :80\n  server s 127.0.0.1:81 {own}\n");
        let mut f = Facts::default();
        facts("h.cfg", &cfg, &mut f).unwrap();
        f.hops[0].upstreams[0].sends
    }

    #[test]
    fn each_send_proxy_option_is_its_own_flag() {
        // The matrix seen on the wire (HAProxy 2.6).
        for (defaults, own, header) in [
            ("send-proxy-v2", "no-send-proxy", Header::V2),
            ("send-proxy", "no-send-proxy-v2", Header::V1),
            ("send-proxy-v2-ssl", "no-send-proxy-v2", Header::V1),
            ("send-proxy-v2", "send-proxy", Header::V2),
            ("check", "proxy-v2-options ssl", Header::V1),
            ("check", "proxy-v2-options unique-id", Header::V1),
            ("send-proxy-v2-ssl", "no-send-proxy-v2-ssl", Header::None),
            ("send-proxy-v2", "no-send-proxy-v2", Header::None),
            (
                "send-proxy-v2-ssl-cn",
                "no-send-proxy-v2-ssl-cn",
                Header::None,
            ),
            ("check", "send-proxy proxy-v2-options crc32c", Header::V1),
            (
                "check",
                "send-proxy-v2 proxy-v2-options crc32c,unique-id",
                Header::V2,
            ),
        ] {
            assert_eq!(sent(defaults, own), header, "{defaults} / {own}");
        }
    }

    #[test]
    fn server_template_is_read_as_its_servers() {
        let cfg = "frontend fe\n  bind :443\n  default_backend be\nbackend be\n  server-template app 3 192.0.2.9:8443 send-proxy-v2 check\n";
        let mut f = Facts::default();
        facts("h.cfg", cfg, &mut f).unwrap();
        let up = &f.hops[0].upstreams[0];
        assert_eq!(
            (up.host.as_deref(), up.port),
            (Some("192.0.2.9"), Some(8443))
        );
        assert_eq!((up.sends, up.at.line), (Header::V2, 5));
    }

    #[test]
    fn default_server_applies_to_the_servers_after_it() {
        let cfg = "frontend fe\n  bind :443\n  default_backend be\nbackend be\n  server a 192.0.2.9:8443\n  default-server send-proxy-v2\n  server b 192.0.2.10:8443\n";
        let mut f = Facts::default();
        facts("h.cfg", cfg, &mut f).unwrap();
        let sends: Vec<Header> = f.hops[0].upstreams.iter().map(|u| u.sends).collect();
        assert_eq!(sends, [Header::None, Header::V2]);
    }

    #[test]
    fn a_proxy_takes_the_defaults_it_names_with_from() {
        let cfg = "defaults pp\n  mode tcp\n  default-server send-proxy-v2\ndefaults web\n  mode http\nfrontend a from pp\n  bind :443\n  default_backend b\nbackend b from pp\n  server s 192.0.2.9:8443\nfrontend c\n  bind :80\n  server s 192.0.2.9:8080\ndefaults child from pp\nlisten d from child\n  bind :81\n  server s 192.0.2.9:8081\n";
        let mut f = Facts::default();
        facts("h.cfg", cfg, &mut f).unwrap();
        let seen: Vec<(bool, Header)> = f
            .hops
            .iter()
            .map(|h| (h.name.contains("(tcp)"), h.upstreams[0].sends))
            .collect();
        // Without `from`: the last defaults section (web).
        assert_eq!(
            seen,
            [
                (true, Header::V2),
                (false, Header::None),
                (true, Header::V2)
            ]
        );
        let err = facts(
            "h.cfg",
            "frontend a from nope\n  bind :80\n",
            &mut Facts::default(),
        );
        assert!(err.is_err());
    }

    #[test]
    fn a_source_left_to_the_kernel_is_no_fixed_source() {
        let w = |s: &str| s.split_whitespace().map(String::from).collect::<Vec<_>>();
        assert_eq!(source(&w("0.0.0.0")), None);
        assert_eq!(source(&w("0.0.0.0:20000-30000")), None);
        assert_eq!(source(&w(":::1024-65535")), None);
        assert_eq!(source(&w("10.0.0.5")), "10.0.0.5".parse().ok());
        assert_eq!(
            source(&w("10.0.0.5:2000-3000 interface eth1")),
            "10.0.0.5".parse().ok()
        );
        // Transparent proxying: each client's address, which no list holds.
        assert_eq!(
            source(&w("0.0.0.0 usesrc clientip")),
            "0.0.0.0".parse().ok()
        );
        assert_eq!(
            source(&w("0.0.0.0 usesrc 192.0.2.1")),
            "192.0.2.1".parse().ok()
        );
        let cfg = "frontend fe\n  bind :443\n  default_backend be\nbackend be\n  source 10.0.0.5\n  server a 127.0.0.1:8443 send-proxy-v2 source 0.0.0.0:20000-30000\n  server b 192.0.2.9:8443 send-proxy-v2\n";
        let mut f = Facts::default();
        facts("h.cfg", cfg, &mut f).unwrap();
        let sources: Vec<Option<IpAddr>> = f.hops[0].upstreams.iter().map(|u| u.source).collect();
        assert_eq!(sources, ["127.0.0.1".parse().ok(), "10.0.0.5".parse().ok()]);
    }

    #[test]
    fn other_sections_end_the_proxy_above() {
        let cfg = "frontend fe\n  bind :443 accept-proxy\nlog-forward syslog\n  bind :514\nfcgi-app php\n  docroot /var/www\n";
        let mut f = Facts::default();
        facts("h.cfg", cfg, &mut f).unwrap();
        assert_eq!(f.hops.len(), 1);
        assert_eq!(f.hops[0].listeners.len(), 1);
    }

    #[test]
    fn expect_proxy_with_a_source_list_is_a_trust_list() {
        let cfg = "frontend fe\n  bind :80\n  tcp-request connection expect-proxy layer4 if { src 10.0.0.0/8 }\n";
        let mut f = Facts::default();
        facts("h.cfg", cfg, &mut f).unwrap();
        assert!(matches!(&f.hops[0].listeners[0].trust, Trust::List(v, _) if v.len() == 1));
    }

    /// The listener's trust for one frontend with `lines` under its bind.
    fn trust_with(bind: &str, lines: &str) -> (Trust, Vec<Assumption>) {
        let cfg = format!("frontend fe\n  bind :443{bind}\n{lines}");
        let mut f = Facts::default();
        facts("h.cfg", &cfg, &mut f).unwrap();
        (f.hops[0].listeners[0].trust.clone(), f.assumed)
    }

    fn nets(t: &Trust) -> Vec<String> {
        match t {
            Trust::List(v, _) => v.iter().map(ToString::to_string).collect(),
            other => panic!("not a list: {other:?}"),
        }
    }

    #[test]
    fn a_named_source_acl_is_a_trust_list() {
        let (t, _) = trust_with(
            "",
            "  acl from_lb src 10.1.0.0/16 10.2.0.0/16\n  acl from_lb src -n 192.0.2.7\n  tcp-request connection expect-proxy layer4 if from_lb\n",
        );
        assert_eq!(nets(&t), ["10.1.0.0/16", "10.2.0.0/16", "192.0.2.7/32"]);
    }

    #[test]
    fn rules_and_terms_joined_by_or_add_their_sources() {
        let (t, _) = trust_with(
            "",
            "  acl a src 10.1.0.0/16\n  tcp-request connection expect-proxy layer4 if a or { src -m ip 10.3.0.0/16 }\n  tcp-request connection expect-proxy layer4 if { src 10.4.0.0/16 }\n",
        );
        assert_eq!(nets(&t), ["10.1.0.0/16", "10.3.0.0/16", "10.4.0.0/16"]);
    }

    #[test]
    fn a_source_list_in_a_file_is_trusted_and_assumed() {
        let (t, assumed) = trust_with(
            "",
            "  tcp-request connection expect-proxy layer4 if { src -f /etc/haproxy/lbs.lst }\n",
        );
        assert!(matches!(t, Trust::List(..)), "{t:?}");
        assert_eq!(assumed.len(), 1);
        assert!(
            assumed[0].text.contains("`/etc/haproxy/lbs.lst`"),
            "{}",
            assumed[0].text
        );
        assert_eq!(assumed[0].at.line, 3);
    }

    #[test]
    fn conditions_not_read_as_a_source_list_are_anyones() {
        for rule in [
            "layer4",
            "layer4 unless { src 10.0.0.0/8 }",
            "layer4 if !from_lb",
            "layer4 if { dst_port 443 }",
            "layer4 if unknown_acl",
            "layer4 if { src 0.0.0.0/0 }",
            "layer4 if { src lb.example.com }",
        ] {
            let (t, _) = trust_with(
                "",
                &format!(
                    "  acl from_lb src 10.0.0.0/8\n  tcp-request connection expect-proxy {rule}\n"
                ),
            );
            assert_eq!(t, Trust::Anyone, "{rule}");
        }
    }

    #[test]
    fn rejecting_every_peer_but_some_makes_them_the_trust_list() {
        for lines in [
            "  tcp-request connection reject unless { src 10.0.0.0/8 }\n",
            "  tcp-request connection reject if !{ src 10.0.0.0/8 }\n",
            "  tcp-request connection reject if ! { src 10.0.0.0/8 }\n",
            "  acl from_lb src 10.0.0.0/8\n  tcp-request connection reject if !from_lb\n",
            "  acl from_lb src 10.0.0.0/8\n  tcp-request connection reject unless from_lb\n",
            "  acl from_lb src 10.0.0.0/8\n  tcp-request connection reject if ! from_lb\n",
        ] {
            let (t, _) = trust_with(" accept-proxy", lines);
            assert_eq!(nets(&t), ["10.0.0.0/8"], "{lines}");
        }
        // A blocklist, or a list of everyone, leaves the rest free to forge.
        for lines in [
            "  tcp-request connection reject if { src 192.0.2.0/24 }\n",
            "  tcp-request connection reject unless { src 0.0.0.0/0 }\n",
            "  tcp-request connection reject unless { dst_port 443 }\n",
            "  acl a src 10.0.0.0/8\n  tcp-request connection reject if !a or { src 10.1.0.0/16 }\n",
        ] {
            let (t, _) = trust_with(" accept-proxy", lines);
            assert_eq!(t, Trust::Anyone, "{lines}");
        }
    }

    #[test]
    fn accept_proxy_takes_every_peers_header_whatever_the_rules() {
        let (t, _) = trust_with(
            " accept-proxy",
            "  tcp-request connection expect-proxy layer4 if { src 10.0.0.0/8 }\n",
        );
        assert_eq!(t, Trust::Anyone);
    }
}
