//! Caddy: a Caddyfile (global `servers { listener_wrappers { proxy_protocol
//! { allow … } } }`, site addresses, `reverse_proxy` with `transport http {
//! proxy_protocol v1|v2 }`) or Caddy's JSON configuration
//! (`apps.http.servers.*.listen` and `listener_wrappers`).
//!
//! Caddy's `proxy_protocol` listener wrapper reads a header when there is
//! one: from `allow`ed sources its address is used; from others it is
//! dropped unless `fallback_policy` says otherwise.

use ipnet::IpNet;

use super::nginx::{net, split_addr};
use super::yaml::Node;
use super::{Facts, Header, Hop, Kind, Listener, Loc, ParseError, Role, Trust, Upstream};
use crate::judge::Expects;

/// One Caddyfile directive: its words, its line, its block.
#[derive(Debug, Clone)]
struct Directive {
    words: Vec<String>,
    line: usize,
    block: Vec<Directive>,
}

impl Directive {
    fn name(&self) -> &str {
        self.words.first().map_or("", String::as_str)
    }
}

/// The Caddyfile's tokens per line: words, `{`, `}`.
fn lines(file: &str, text: &str) -> Result<Vec<(usize, Vec<String>)>, ParseError> {
    let mut out: Vec<(usize, Vec<String>)> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let mut words = Vec::new();
        let mut word = String::new();
        let mut quote: Option<char> = None;
        let mut in_word = false;
        for c in raw.chars() {
            match (quote, c) {
                (Some(q), c) if c == q => quote = None,
                (Some(_), c) => word.push(c),
                (None, '"' | '`') => {
                    quote = Some(c);
                    in_word = true;
                }
                (None, '#') if !in_word => break,
                (None, c) if c.is_whitespace() => {
                    if in_word {
                        words.push(std::mem::take(&mut word));
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
            return Err(ParseError::new(Loc::new(file, i + 1), "unterminated quote"));
        }
        if in_word {
            words.push(word);
        }
        if !words.is_empty() {
            out.push((i + 1, words));
        }
    }
    Ok(out)
}

/// Lines into blocks: a line ending in `{` opens one, a `}` line closes it.
fn tree(file: &str, text: &str) -> Result<Vec<Directive>, ParseError> {
    let mut stack: Vec<Directive> = vec![Directive {
        words: Vec::new(),
        line: 0,
        block: Vec::new(),
    }];
    for (line, mut words) in lines(file, text)? {
        if words.len() == 1 && words[0] == "}" {
            if stack.len() == 1 {
                return Err(ParseError::new(Loc::new(file, line), "unexpected \"}\""));
            }
            let done = stack.pop().unwrap_or_else(|| unreachable!());
            if let Some(parent) = stack.last_mut() {
                parent.block.push(done);
            }
            continue;
        }
        let opens = words.last().is_some_and(|w| w == "{");
        if opens {
            words.pop();
            if stack.len() > super::nginx::MAX_DEPTH {
                return Err(ParseError::new(
                    Loc::new(file, line),
                    "blocks nested too deep: check stops here",
                ));
            }
            stack.push(Directive {
                words,
                line,
                block: Vec::new(),
            });
        } else if let Some(parent) = stack.last_mut() {
            parent.block.push(Directive {
                words,
                line,
                block: Vec::new(),
            });
        }
    }
    if stack.len() > 1 {
        let open = stack.last().map_or(1, |d| d.line);
        return Err(ParseError::new(
            Loc::new(file, open),
            "unexpected end of file: a \"{\" is not closed",
        ));
    }
    Ok(stack.pop().map(|d| d.block).unwrap_or_default())
}

/// What the wrapper does with a peer outside `allow` (Caddy 2.8+'s
/// `fallback_policy`, go-proxyproto's policies); a peer inside `allow` is
/// always `Use`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Policy {
    /// The default: a header is read and dropped, its address not used;
    /// no header is fine.
    Ignore,
    /// A header is taken when there is one, its address used.
    Use,
    /// A header closes the connection; no header is fine.
    Reject,
    /// A header is required, and its address used.
    Require,
    /// No PROXY processing: a header is the stream's data.
    Skip,
}

impl Policy {
    fn named(word: &str) -> Option<Policy> {
        match word {
            "ignore" => Some(Policy::Ignore),
            "use" => Some(Policy::Use),
            "reject" => Some(Policy::Reject),
            "require" => Some(Policy::Require),
            "skip" => Some(Policy::Skip),
            _ => None,
        }
    }
}

/// The `proxy_protocol` listener wrapper's settings.
#[derive(Debug, Clone)]
struct Wrapper {
    allow: Vec<IpNet>,
    fallback: Policy,
    at: Loc,
    /// `tls` is listed after `proxy_protocol`: the header is read before
    /// the handshake. Unlisted, Caddy puts the TLS wrapper first, and on a
    /// TLS site the handshake reads the header's bytes.
    before_tls: bool,
}

/// Whether a wrapper list (names in order) reads the header before TLS.
fn before_tls<'a>(names: impl Iterator<Item = &'a str>) -> bool {
    let names: Vec<&str> = names.collect();
    let pp = names.iter().position(|n| *n == "proxy_protocol");
    let tls = names.iter().position(|n| *n == "tls");
    matches!((pp, tls), (Some(p), Some(t)) if p < t)
}

fn listener(
    port: Option<u16>,
    host: Option<String>,
    w: Option<&Wrapper>,
    tls: bool,
    at: Loc,
) -> Listener {
    let (expects, trust, at) = match w {
        None => (Expects::Nothing, Trust::Unused, at),
        // TLS first: the handshake takes the header for its own bytes and
        // fails, whatever the wrapper's settings.
        Some(w) if tls && !w.before_tls => (Expects::Nothing, Trust::Unused, w.at.clone()),
        Some(w) => {
            let anyone = w.allow.iter().any(|n| n.prefix_len() == 0);
            let list = || Trust::List(w.allow.clone().into(), w.at.clone());
            let (expects, trust) = match w.fallback {
                // `allow 0.0.0.0/0`, or `use`: anyone's header is used.
                _ if anyone => (Expects::Optional, Trust::Anyone),
                Policy::Use => (Expects::Optional, Trust::Anyone),
                // Required from everyone outside `allow`, and its address
                // used: a client outside the list forges its address.
                Policy::Require => (Expects::Header, Trust::Anyone),
                // A bare wrapper: every header is read and dropped.
                Policy::Ignore if w.allow.is_empty() => (Expects::Optional, Trust::Unused),
                Policy::Skip if w.allow.is_empty() => (Expects::Nothing, Trust::Unused),
                // Only `allow`'s headers are used; others' are dropped
                // (ignore), refused (reject) or read as data (skip).
                Policy::Ignore | Policy::Reject | Policy::Skip => (Expects::Optional, list()),
            };
            (expects, trust, w.at.clone())
        }
    };
    Listener {
        host,
        port,
        expects,
        passthrough: false,
        refuses: None,
        ssl: tls,
        trust,
        fix: "caddy-proxy-protocol",
        at,
    }
}

/// A site address's host and port (`:8080`, `http://x` 80, `x:8443`, `x`
/// 443), and whether Caddy serves it with TLS: `https://`, a host name on
/// another port than 80 (automatic HTTPS), or port 443.
fn site_port(addr: &str) -> (Option<String>, Option<u16>, bool) {
    let (scheme, rest) = match addr.split_once("://") {
        Some((s, r)) => (Some(s), r),
        None => (None, addr),
    };
    let rest = rest.split('/').next().unwrap_or(rest);
    let default = if scheme == Some("http") { 80 } else { 443 };
    let (host, port) = split_addr(rest, default);
    let port = port.or(Some(default));
    let named = host.as_ref().is_some_and(|h| !h.is_empty());
    let tls = match scheme {
        Some("https") => true,
        Some(_) => false,
        None => port == Some(443) || named && port != Some(80),
    };
    let host = host.filter(|h| !h.is_empty() && !h.contains('.') && h != "localhost");
    (host, port, tls)
}

/// One `servers [address] { … }` block of the global options: the port of
/// the address it applies to (`None`: every server) and its wrapper.
struct ServerOpts {
    port: Option<u16>,
    wrapper: Option<Wrapper>,
}

fn server_opts(file: &str, servers: &Directive) -> ServerOpts {
    let port = servers.words.get(1).and_then(|a| {
        let a = a.split("://").last().unwrap_or(a);
        split_addr(a, 443).1
    });
    let mut wrapper = None;
    for lw in servers
        .block
        .iter()
        .filter(|s| s.name() == "listener_wrappers")
    {
        for pp in lw.block.iter().filter(|s| s.name() == "proxy_protocol") {
            let mut allow = Vec::new();
            let mut fallback = Policy::Ignore;
            for opt in &pp.block {
                match opt.name() {
                    "allow" => allow.extend(opt.words[1..].iter().filter_map(|w| net(w))),
                    "fallback_policy" => {
                        if let Some(p) = opt.words.get(1).and_then(|w| Policy::named(w)) {
                            fallback = p;
                        }
                    }
                    _ => {}
                }
            }
            wrapper = Some(Wrapper {
                allow,
                fallback,
                at: Loc::new(file, pp.line),
                before_tls: before_tls(lw.block.iter().map(Directive::name)),
            });
        }
    }
    ServerOpts { port, wrapper }
}

/// A Caddyfile.
pub(crate) fn caddyfile(file: &str, text: &str, out: &mut Facts) -> Result<(), ParseError> {
    let top = tree(file, text)?;
    // The global options block (`{` alone, no address) and its `servers`
    // blocks in order: Caddy gives a server the first whose address is one
    // of its listeners, an address-less one matching every server.
    let opts: Vec<ServerOpts> = top
        .iter()
        .filter(|d| d.words.is_empty())
        .flat_map(|d| d.block.iter().filter(|s| s.name() == "servers"))
        .map(|s| server_opts(file, s))
        .collect();
    let wrapper_for = |port: Option<u16>| {
        opts.iter()
            .find(|o| o.port.is_none() || o.port == port)
            .and_then(|o| o.wrapper.as_ref())
    };
    for site in top.iter().filter(|d| !d.words.is_empty()) {
        // A `tls` directive serves the site with TLS whatever its address
        // says (but for `http://`).
        let tls_directive = site.block.iter().any(|d| d.name() == "tls");
        let mut listeners = Vec::new();
        for addr in &site.words {
            for a in addr.split(',').filter(|a| !a.is_empty()) {
                let (host, port, tls) = site_port(a);
                listeners.push(listener(
                    port,
                    host,
                    wrapper_for(port),
                    tls || tls_directive && !a.starts_with("http://"),
                    Loc::new(file, site.line),
                ));
            }
        }
        let mut upstreams = Vec::new();
        collect_proxies(
            file,
            &site.block,
            &mut upstreams,
            listeners.first().and_then(|l| l.port),
        );
        out.hops.push(Hop {
            name: format!("caddy {}", site.words.join(" ")).into(),
            role: Role::Proxy,
            kind: Kind::Caddy,
            at: Loc::new(file, site.line),
            listeners,
            upstreams,
        });
    }
    Ok(())
}

/// `reverse_proxy` targets in a site's directives, with the header their
/// `transport http { proxy_protocol v1|v2 }` sends.
fn collect_proxies(file: &str, ds: &[Directive], out: &mut Vec<Upstream>, from: Option<u16>) {
    for d in ds {
        if d.name() == "reverse_proxy" {
            let mut sends = Header::None;
            let mut at = Loc::new(file, d.line);
            let mut targets: Vec<String> = d.words[1..]
                .iter()
                .filter(|w| !w.starts_with('/') && !w.starts_with('@'))
                .cloned()
                .collect();
            for sub in &d.block {
                if sub.name() == "to" {
                    targets.extend(sub.words[1..].iter().cloned());
                }
                if sub.name() == "transport" {
                    for t in &sub.block {
                        if t.name() == "proxy_protocol" {
                            sends = match t.words.get(1).map(String::as_str) {
                                Some("v1") => Header::V1,
                                Some("v2") => Header::V2,
                                _ => Header::None,
                            };
                            at = Loc::new(file, t.line);
                        }
                    }
                }
            }
            for t in targets {
                let t = t.split("://").last().unwrap_or(&t).to_string();
                let (host, port) = split_addr(&t, 80);
                out.push(Upstream {
                    host,
                    port,
                    sends,
                    source: None,
                    from_port: from,
                    fix: "caddy-proxy-protocol",
                    at: at.clone(),
                });
            }
        } else {
            collect_proxies(file, &d.block, out, from);
        }
    }
}

/// Caddy's JSON configuration: `apps.http.servers.<name>`, its `listen`
/// addresses and `listener_wrappers`.
pub(crate) fn json(file: &str, docs: &[Node], out: &mut Facts) {
    for doc in docs {
        let Some(servers) = doc.path(&["apps", "http", "servers"]) else {
            continue;
        };
        for (name, srv) in servers.entries() {
            let wrappers = srv.get("listener_wrappers").map(Node::items).unwrap_or(&[]);
            let wrapper = wrappers
                .iter()
                .find(|w| w.get("wrapper").and_then(Node::str) == Some("proxy_protocol"))
                .map(|w| Wrapper {
                    allow: w
                        .get("allow")
                        .map(Node::items)
                        .unwrap_or(&[])
                        .iter()
                        .filter_map(|a| a.str().and_then(net))
                        .collect(),
                    at: Loc::new(file, w.line),
                    fallback: w
                        .get("fallback_policy")
                        .and_then(Node::str)
                        .and_then(Policy::named)
                        .unwrap_or(Policy::Ignore),
                    before_tls: before_tls(
                        wrappers
                            .iter()
                            .map(|w| w.get("wrapper").and_then(Node::str).unwrap_or("")),
                    ),
                });
            // TLS: connection policies, or automatic HTTPS's port 443.
            let tls_policies = srv.get("tls_connection_policies").is_some();
            let listeners: Vec<Listener> = srv
                .get("listen")
                .map(Node::items)
                .unwrap_or(&[])
                .iter()
                .filter_map(|l| l.str().map(|s| (s, l.line)))
                .map(|(s, line)| {
                    let (host, port) = split_addr(s.trim_start_matches("tcp/"), 443);
                    listener(
                        port,
                        host.filter(|h| !h.is_empty()),
                        wrapper.as_ref(),
                        tls_policies || port == Some(443),
                        Loc::new(file, line),
                    )
                })
                .collect();
            out.hops.push(Hop {
                name: format!("caddy server {}", name.str().unwrap_or("?")).into(),
                role: Role::Proxy,
                kind: Kind::Caddy,
                at: Loc::new(file, srv.line),
                listeners,
                upstreams: Vec::new(),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_global_wrapper_and_sites() {
        let text = "{\n\tservers {\n\t\tlistener_wrappers {\n\t\t\tproxy_protocol {\n\t\t\t\tallow 10.0.0.0/24\n\t\t\t}\n\t\t\ttls\n\t\t}\n\t}\n}\n\nexample.com {\n\treverse_proxy 127.0.0.1:3000\n}\n";
        let mut f = Facts::default();
        caddyfile("Caddyfile", text, &mut f).unwrap();
        assert_eq!(f.hops.len(), 1);
        let l = &f.hops[0].listeners[0];
        assert_eq!((l.port, l.expects), (Some(443), Expects::Optional));
        assert!(matches!(&l.trust, Trust::List(v, _) if v.len() == 1));
        assert_eq!(f.hops[0].upstreams[0].port, Some(3000));
        let e = caddyfile("C", "a.com {\n", &mut Facts::default()).unwrap_err();
        assert_eq!(e.at.line, 1);
    }

    fn first(text: &str) -> Listener {
        let mut f = Facts::default();
        caddyfile("Caddyfile", text, &mut f).unwrap();
        f.hops[0].listeners[0].clone()
    }

    fn wrapped(opts: &str, site: &str) -> Listener {
        first(&format!(
            "{{\n\tservers {{\n\t\tlistener_wrappers {{\n\t\t\tproxy_protocol {{\n{opts}\n\t\t\t}}\n\t\t}}\n\t}}\n}}\n{site} {{\n\trespond ok\n}}\n"
        ))
    }

    #[test]
    fn fallback_policy_as_caddy_2_8_applies_it() {
        let site = "http://:8080";
        // Bare: every header dropped, nobody's address used.
        let l = wrapped("", site);
        assert_eq!((l.expects, &l.trust), (Expects::Optional, &Trust::Unused));
        let l = wrapped("allow 10.0.0.0/8", site);
        assert!(matches!(l.trust, Trust::List(..)));
        assert_eq!(l.expects, Expects::Optional);
        // require: outside `allow` the header is required and used.
        let l = wrapped("allow 10.0.0.0/8\nfallback_policy require", site);
        assert_eq!((l.expects, &l.trust), (Expects::Header, &Trust::Anyone));
        // reject: nothing is required; only `allow`'s headers are used.
        let l = wrapped("allow 10.0.0.0/8\nfallback_policy reject", site);
        assert_eq!(l.expects, Expects::Optional);
        assert!(matches!(l.trust, Trust::List(..)));
        let l = wrapped("fallback_policy use", site);
        assert_eq!((l.expects, &l.trust), (Expects::Optional, &Trust::Anyone));
        let l = wrapped("fallback_policy skip", site);
        assert_eq!(l.expects, Expects::Nothing);
    }

    #[test]
    fn a_servers_address_scopes_its_wrapper() {
        let text = "{\n\tservers :8443 {\n\t\tlistener_wrappers {\n\t\t\tproxy_protocol\n\t\t}\n\t}\n}\nhttp://:8443 {\n\trespond a\n}\nhttp://:8080 {\n\trespond b\n}\n";
        let mut f = Facts::default();
        caddyfile("Caddyfile", text, &mut f).unwrap();
        assert_eq!(f.hops[0].listeners[0].expects, Expects::Optional);
        assert_eq!(f.hops[1].listeners[0].expects, Expects::Nothing);
    }

    #[test]
    fn tls_first_when_the_wrapper_list_does_not_name_it_after() {
        let opts = "allow 10.0.0.0/8";
        // Unlisted `tls` on a TLS site: the handshake reads the header.
        let l = wrapped(opts, "localhost:8444");
        assert!(l.ssl);
        assert_eq!(l.expects, Expects::Nothing);
        // The same on a plain site: no TLS, the wrapper reads it.
        let l = wrapped(opts, "http://localhost:8444");
        assert!(!l.ssl);
        assert_eq!(l.expects, Expects::Optional);
        assert!(!wrapped(opts, ":8080").ssl);
        assert!(before_tls(["proxy_protocol", "tls"].into_iter()));
        assert!(!before_tls(["proxy_protocol"].into_iter()));
    }
}
