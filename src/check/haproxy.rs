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
/// when the frontend listens on one port; else unknown.
fn client_port(addr: &str, listeners: &[Listener]) -> Option<u16> {
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
    let first = ports.next()?;
    if ports.any(|p| p != first) {
        return None;
    }
    u16::try_from(i32::from(first) + offset).ok()
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
    servers: Vec<(Vec<String>, Loc)>,
    default_server: Vec<String>,
    source: Option<IpAddr>,
    backends: Vec<String>,
}

/// The hops of one HAProxy configuration: one per frontend or listen
/// section, sending to the servers of its backends.
pub(crate) fn facts(file: &str, text: &str, out: &mut Facts) -> Result<(), ParseError> {
    let mut sections: Vec<Section> = Vec::new();
    let mut defaults = Section::default();
    for (i, raw) in text.lines().enumerate() {
        let line_no = i + 1;
        let w = words(file, line_no, raw)?;
        let Some(first) = w.first() else { continue };
        let at = Loc::new(file, line_no);
        if matches!(
            first.as_str(),
            "global"
                | "defaults"
                | "frontend"
                | "backend"
                | "listen"
                | "resolvers"
                | "peers"
                | "userlist"
                | "program"
                | "http-errors"
                | "cache"
                | "ring"
                | "mailers"
                | "crt-store"
                | "traces"
        ) {
            if first == "defaults" {
                // A new defaults section resets what follows.
                defaults = Section {
                    kind: "defaults".into(),
                    at: Some(at.clone()),
                    ..Section::default()
                };
            }
            let base = if matches!(first.as_str(), "frontend" | "backend" | "listen") {
                Section {
                    mode_http: defaults.mode_http,
                    forwardfor: defaults.forwardfor,
                    default_server: defaults.default_server.clone(),
                    source: defaults.source,
                    ..Section::default()
                }
            } else {
                Section::default()
            };
            sections.push(Section {
                kind: first.clone(),
                name: w.get(1).cloned().unwrap_or_default(),
                at: Some(at),
                ..base
            });
            continue;
        }
        let Some(sec) = sections.last_mut() else {
            return Err(ParseError::new(
                at,
                format!("\"{first}\" outside of any section"),
            ));
        };
        let target = if sec.kind == "defaults" {
            &mut defaults
        } else {
            sec
        };
        let arg = |n: usize| w.get(n).map_or("", String::as_str);
        match first.as_str() {
            "mode" => target.mode_http = Some(arg(1) == "http"),
            "option" if arg(1) == "forwardfor" => target.forwardfor = true,
            "no" if arg(1) == "option" && arg(2) == "forwardfor" => target.forwardfor = false,
            "bind" => target.binds.push((w[1..].to_vec(), at)),
            "server" => target.servers.push((w[1..].to_vec(), at)),
            "default-server" => target.default_server.extend(w[1..].iter().cloned()),
            "source" => target.source = arg(1).split(':').next().and_then(|a| a.parse().ok()),
            "default_backend" => target.backends.push(arg(1).to_string()),
            "use_backend" => target.backends.push(arg(1).to_string()),
            "tcp-request" if arg(1) == "connection" && arg(2) == "expect-proxy" => {
                target.expect_proxy.push((w[3..].to_vec(), at));
            }
            "tcp-request" if arg(1) == "connection" && arg(2) == "reject" => {
                target.reject.push((w[3..].to_vec(), at));
            }
            "acl" if arg(2) == "src" => {
                target.src_acls.push((arg(1).to_string(), w[3..].to_vec()));
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
        let mut servers: Vec<(&Section, &(Vec<String>, Loc))> =
            sec.servers.iter().map(|s| (sec, s)).collect();
        for b in &sec.backends {
            if let Some(be) = backend(b) {
                servers.extend(be.servers.iter().map(|s| (be, s)));
            }
        }
        let mut upstreams = Vec::new();
        for (owner, (args, sat)) in servers {
            let opts: Vec<&str> = owner
                .default_server
                .iter()
                .map(String::as_str)
                .chain(args.iter().skip(2).map(String::as_str))
                .collect();
            let mut sends = Header::None;
            for o in &opts {
                match *o {
                    "send-proxy" => sends = Header::V1,
                    "send-proxy-v2" | "send-proxy-v2-ssl" | "send-proxy-v2-ssl-cn" => {
                        sends = Header::V2
                    }
                    "no-send-proxy"
                    | "no-send-proxy-v2"
                    | "no-send-proxy-v2-ssl"
                    | "no-send-proxy-v2-ssl-cn" => sends = Header::None,
                    _ => {}
                }
            }
            let addr = args.get(1).map_or("", String::as_str);
            let (host, port) = haproxy_addr(addr);
            let port = match port {
                Some(0) | None => client_port(addr, &listeners),
                written => written,
            };
            let opt_source = opts
                .iter()
                .position(|o| *o == "source")
                .and_then(|i| opts.get(i + 1))
                .and_then(|a| a.split(':').next().and_then(|a| a.parse().ok()));
            let loopback = host
                .as_deref()
                .and_then(|h| h.parse::<IpAddr>().ok())
                .filter(|a| a.is_loopback());
            upstreams.push(Upstream {
                host,
                port,
                sends,
                source: opt_source.or(owner.source).or(loopback),
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
