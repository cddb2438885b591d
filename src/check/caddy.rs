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

/// The `proxy_protocol` listener wrapper's settings.
#[derive(Debug, Clone)]
struct Wrapper {
    allow: Vec<IpNet>,
    at: Loc,
    /// `fallback_policy require` or `reject`: others' connections fail.
    strict: bool,
}

fn listener(port: Option<u16>, host: Option<String>, w: Option<&Wrapper>, at: Loc) -> Listener {
    let (expects, trust, at) = match w {
        None => (Expects::Nothing, Trust::Unused, at),
        Some(w) if w.allow.is_empty() => (Expects::Optional, Trust::Unused, w.at.clone()),
        Some(w) => (
            if w.strict {
                Expects::Header
            } else {
                Expects::Optional
            },
            // `allow 0.0.0.0/0`: anyone's header is used.
            if w.allow.iter().any(|n| n.prefix_len() == 0) {
                Trust::Anyone
            } else {
                Trust::List(w.allow.clone().into(), w.at.clone())
            },
            w.at.clone(),
        ),
    };
    Listener {
        host,
        port,
        expects,
        passthrough: false,
        refuses: None,
        ssl: port == Some(443),
        trust,
        fix: "caddy-proxy-protocol",
        at,
    }
}

/// A site address's port: `:8080`, `http://x` (80), `x:8443`, `x` (443).
fn site_port(addr: &str) -> (Option<String>, Option<u16>) {
    let (scheme, rest) = match addr.split_once("://") {
        Some((s, r)) => (Some(s), r),
        None => (None, addr),
    };
    let rest = rest.split('/').next().unwrap_or(rest);
    let default = if scheme == Some("http") { 80 } else { 443 };
    let (host, port) = split_addr(rest, default);
    let host = host.filter(|h| !h.is_empty() && !h.contains('.') && h != "localhost");
    (host, port.or(Some(default)))
}

/// A Caddyfile.
pub(crate) fn caddyfile(file: &str, text: &str, out: &mut Facts) -> Result<(), ParseError> {
    let top = tree(file, text)?;
    let mut wrapper: Option<Wrapper> = None;
    let mut global_at = 1;
    for d in &top {
        // The global options block: `{` alone, no address.
        if !d.words.is_empty() {
            continue;
        }
        global_at = d.line;
        for servers in d.block.iter().filter(|s| s.name() == "servers") {
            for lw in servers
                .block
                .iter()
                .filter(|s| s.name() == "listener_wrappers")
            {
                for pp in lw.block.iter().filter(|s| s.name() == "proxy_protocol") {
                    let mut allow = Vec::new();
                    let mut strict = false;
                    for opt in &pp.block {
                        match opt.name() {
                            "allow" => allow.extend(opt.words[1..].iter().filter_map(|w| net(w))),
                            "fallback_policy" => {
                                strict = matches!(
                                    opt.words.get(1).map(String::as_str),
                                    Some("require" | "reject")
                                );
                            }
                            _ => {}
                        }
                    }
                    wrapper = Some(Wrapper {
                        allow,
                        at: Loc::new(file, pp.line),
                        strict,
                    });
                }
            }
        }
    }
    let _ = global_at;
    for site in top.iter().filter(|d| !d.words.is_empty()) {
        let mut listeners = Vec::new();
        for addr in &site.words {
            for a in addr.split(',').filter(|a| !a.is_empty()) {
                let (host, port) = site_port(a);
                listeners.push(listener(
                    port,
                    host,
                    wrapper.as_ref(),
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
            let wrapper = srv
                .get("listener_wrappers")
                .map(Node::items)
                .unwrap_or(&[])
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
                    strict: matches!(
                        w.get("fallback_policy").and_then(Node::str),
                        Some("require" | "reject")
                    ),
                });
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
}
