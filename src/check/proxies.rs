//! Traefik's static configuration (entryPoints and their `proxyProtocol`,
//! YAML or TOML) and Envoy's listeners (the `proxy_protocol` listener
//! filter, `allow_requests_without_proxy_protocol`).

use ipnet::IpNet;

use super::nginx::{net, split_addr};
use super::yaml::{self, Node};
use super::{Facts, Header, Hop, Kind, Listener, Loc, ParseError, Role, Trust};
use crate::judge::Expects;

/// A text that starts as JSON does (`{"`), not a Caddyfile's block.
pub(crate) fn is_json(text: &str) -> bool {
    let t = text.trim_start();
    t.starts_with('{') && t[1..].trim_start().starts_with('"') || t.starts_with('[')
}

pub(crate) fn is_toml(text: &str) -> bool {
    text.lines().any(|l| {
        let t = l.trim_start();
        t.starts_with('[')
            && !t.starts_with("[\"")
            && t.trim_end().ends_with(']')
            && !l.starts_with(' ')
    }) || text.lines().any(|l| l.contains(" = "))
}

/// Traefik: one hop with a listener per entryPoint.
pub(crate) fn traefik(file: &str, docs: &[Node], out: &mut Facts) {
    for doc in docs {
        let Some(eps) = doc.get("entryPoints") else {
            continue;
        };
        let mut listeners = Vec::new();
        for (name, ep) in ep_pairs(eps) {
            let addr = ep.get("address").and_then(Node::str).unwrap_or("");
            let addr = addr.split('/').next().unwrap_or("");
            let (host, port) = split_addr(addr, 0);
            let host = host.filter(|h| !h.is_empty());
            let pp = ep.get("proxyProtocol");
            let insecure = pp
                .and_then(|p| p.get("insecure"))
                .and_then(Node::str)
                .is_some_and(|v| v == "true");
            let trusted = pp.and_then(|p| p.get("trustedIPs"));
            let nets: Vec<IpNet> = trusted
                .map(|t| {
                    t.items()
                        .iter()
                        .filter_map(|n| n.str().and_then(net))
                        .collect()
                })
                .unwrap_or_default();
            let (expects, trust, at) = match pp {
                None => (Expects::Nothing, Trust::Unused, ep.line),
                Some(p) if insecure => (Expects::Optional, Trust::Anyone, p.line),
                Some(p) if !nets.is_empty() => {
                    let at = Loc::new(file, trusted.map_or(p.line, |t| t.line));
                    (Expects::Optional, Trust::List(nets.into(), at), p.line)
                }
                // proxyProtocol without trustedIPs or insecure: Traefik
                // trusts nobody, so the header's address is not used.
                Some(p) => (Expects::Optional, Trust::Unused, p.line),
            };
            listeners.push(Listener {
                host,
                port,
                expects,
                passthrough: false,
                refuses: None,
                ssl: false,
                trust,
                fix: "traefik-trusted-ips",
                at: Loc::new(file, at),
            });
            let _ = name;
        }
        let names: Vec<String> = ep_pairs(eps).iter().map(|(n, _)| n.clone()).collect();
        out.hops.push(Hop {
            name: format!("traefik entryPoints {}", names.join(",")).into(),
            role: Role::Proxy,
            kind: Kind::Traefik,
            at: Loc::new(file, eps.line),
            listeners,
            upstreams: Vec::new(),
        });
    }
}

fn ep_pairs(eps: &Node) -> Vec<(String, &Node)> {
    match &eps.value {
        yaml::Value::Map(pairs) => pairs
            .iter()
            .filter_map(|(k, v)| k.str().map(|k| (k.to_string(), v)))
            .collect(),
        _ => Vec::new(),
    }
}

const ENVOY_FILTER: &str = "envoy.filters.listener.proxy_protocol";

/// Envoy: one hop per listener of `static_resources`.
pub(crate) fn envoy(file: &str, docs: &[Node], out: &mut Facts) {
    for doc in docs {
        let listeners = doc
            .path(&["static_resources", "listeners"])
            .map(Node::items)
            .unwrap_or(&[]);
        for l in listeners {
            let name = l.get("name").and_then(Node::str).unwrap_or("listener");
            let sock = l.path(&["address", "socket_address"]);
            let host = sock
                .and_then(|s| s.get("address"))
                .and_then(Node::str)
                .map(str::to_string);
            let port = sock
                .and_then(|s| s.get("port_value"))
                .and_then(Node::str)
                .and_then(|p| p.parse().ok());
            let filter = l
                .get("listener_filters")
                .map(Node::items)
                .unwrap_or(&[])
                .iter()
                .find(|f| {
                    f.get("name").and_then(Node::str) == Some(ENVOY_FILTER)
                        || f.path(&["typed_config", "@type"])
                            .and_then(Node::str)
                            .is_some_and(|t| t.ends_with("proxy_protocol.v3.ProxyProtocol"))
                });
            // `disallowed_versions: [V1]`: headers of that version are
            // closed on, the other read.
            let refuses = filter
                .and_then(|f| f.path(&["typed_config", "disallowed_versions"]))
                .map(|n| {
                    n.items()
                        .iter()
                        .filter_map(|v| match v.str() {
                            Some("V1") => Some(Header::V1),
                            Some("V2") => Some(Header::V2),
                            _ => None,
                        })
                        .collect::<Vec<_>>()
                })
                .and_then(|v| match v.as_slice() {
                    [one] => Some(*one),
                    _ => None,
                });
            let (expects, trust, at) = match filter {
                None => (Expects::Nothing, Trust::Unused, l.line),
                Some(f) => {
                    let optional = f
                        .path(&["typed_config", "allow_requests_without_proxy_protocol"])
                        .and_then(Node::str)
                        .is_some_and(|v| v == "true");
                    if optional {
                        let line = f
                            .path(&["typed_config", "allow_requests_without_proxy_protocol"])
                            .map_or(f.line, |n| n.line);
                        (Expects::Optional, Trust::Anyone, line)
                    } else {
                        // The filter has no trust list: a required header
                        // is taken from any peer that reaches the port.
                        let any: Vec<IpNet> = ["0.0.0.0/0", "::/0"]
                            .iter()
                            .filter_map(|s| s.parse().ok())
                            .collect();
                        (
                            Expects::Header,
                            Trust::List(any.into(), Loc::new(file, f.line)),
                            f.line,
                        )
                    }
                }
            };
            out.hops.push(Hop {
                name: format!("envoy listener {name}").into(),
                role: Role::Proxy,
                kind: Kind::Envoy,
                at: Loc::new(file, l.line),
                listeners: vec![Listener {
                    host: host.filter(|h| h != "0.0.0.0" && h != "::"),
                    port,
                    expects,
                    passthrough: false,
                    refuses,
                    ssl: false,
                    trust,
                    fix: "envoy-proxy-protocol-filter",
                    at: Loc::new(file, at),
                }],
                upstreams: Vec::new(),
            });
        }
    }
}

/// Caddy's Caddyfile: `listener_wrappers { proxy_protocol { allow … } }`.
pub(crate) fn caddyfile(_file: &str, _text: &str, _out: &mut Facts) -> Result<(), ParseError> {
    Ok(())
}

/// Caddy's JSON configuration: `apps.http.servers.*.listener_wrappers`.
pub(crate) fn caddy_json(_file: &str, _docs: &[Node], _out: &mut Facts) {}
