//! Envoy's listeners (the `proxy_protocol` listener filter,
//! `allow_requests_without_proxy_protocol`, `disallowed_versions`).

use ipnet::IpNet;

use super::yaml::Node;
use super::{Facts, Header, Hop, Kind, Listener, Loc, ParseError, Role, Trust};
use crate::judge::Expects;

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
