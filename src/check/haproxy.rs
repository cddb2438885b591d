//! HAProxy configuration: sections, `bind … accept-proxy`,
//! `tcp-request connection expect-proxy layer4`, `server … send-proxy*`,
//! `default-server`, `source`, `mode`, `option forwardfor`.

use std::net::IpAddr;

use ipnet::IpNet;

use super::nginx::{net, split_addr};
use super::{Facts, Header, Hop, Kind, Listener, Loc, ParseError, Role, Trust, Upstream};
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

#[derive(Debug, Default, Clone)]
struct Section {
    kind: String,
    name: String,
    at: Option<Loc>,
    mode_http: Option<bool>,
    forwardfor: bool,
    binds: Vec<(Vec<String>, Loc)>,
    expect_proxy: Option<(Vec<IpNet>, Loc)>,
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
                // `if { src 10.0.0.0/8 }` or `if { src -f file }`: the CIDRs
                // written inline are the trust list.
                let cidrs: Vec<IpNet> = w[3..].iter().filter_map(|s| net(s)).collect();
                target.expect_proxy = Some((cidrs, at));
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
            let (host, port) = split_addr(strip_family(&addr), 0);
            let accept = args.iter().any(|a| a == "accept-proxy");
            let (expects, trust) = match (&sec.expect_proxy, accept) {
                (Some((cidrs, eat)), _) if !cidrs.is_empty() => (
                    Expects::Header,
                    Trust::List(cidrs.clone().into(), eat.clone()),
                ),
                (Some(_), _) | (None, true) => (Expects::Header, Trust::Anyone),
                (None, false) => (Expects::Nothing, Trust::Unused),
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
            let (host, port) = split_addr(strip_family(args.get(1).map_or("", String::as_str)), 0);
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
        out.hops.push(Hop {
            name: format!(
                "haproxy {} {} ({mode}) {}",
                sec.kind,
                sec.name,
                ports.join(",")
            )
            .into(),
            role: Role::Proxy,
            kind: Kind::Haproxy,
            at,
            listeners,
            upstreams,
        });
    }
    Ok(())
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
    fn expect_proxy_with_a_source_list_is_a_trust_list() {
        let cfg = "frontend fe\n  bind :80\n  tcp-request connection expect-proxy layer4 if { src 10.0.0.0/8 }\n";
        let mut f = Facts::default();
        facts("h.cfg", cfg, &mut f).unwrap();
        assert!(matches!(&f.hops[0].listeners[0].trust, Trust::List(v, _) if v.len() == 1));
    }
}
