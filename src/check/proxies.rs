//! Envoy's listeners (the `proxy_protocol` listener filter,
//! `allow_requests_without_proxy_protocol`, `disallowed_versions`) and its
//! clusters as senders (the `upstream_proxy_protocol` transport socket,
//! `config.version` V1 or V2).

use super::nginx::{net, split_addr};
use super::yaml::{Node, Value};
use super::{Facts, Header, Hop, Kind, Listener, Loc, Role, Trust, Upstream};
use crate::judge::Expects;

/// Every `cluster: NAME` a listener's filters route to (tcp_proxy, routes).
fn clusters_named(n: &Node, out: &mut Vec<String>) {
    match &n.value {
        Value::Map(pairs) => {
            for (k, v) in pairs {
                if k.str() == Some("cluster") {
                    if let Some(c) = v.str() {
                        out.push(c.to_string());
                    }
                }
                clusters_named(v, out);
            }
        }
        Value::Seq(items) => items.iter().for_each(|i| clusters_named(i, out)),
        Value::Scalar(_) => {}
    }
}

/// A cluster's endpoints and the header its transport socket sends.
fn cluster_upstreams(file: &str, c: &Node, from: Option<u16>) -> Vec<Upstream> {
    let socket = c.get("transport_socket");
    let is_pp = socket.is_some_and(|t| {
        t.get("name")
            .and_then(Node::str)
            .is_some_and(|n| n.contains("upstream_proxy_protocol"))
            || t.path(&["typed_config", "@type"])
                .and_then(Node::str)
                .is_some_and(|n| n.ends_with("ProxyProtocolUpstreamTransport"))
    });
    let version = socket.and_then(|t| t.path(&["typed_config", "config", "version"]));
    let (sends, at) = match (is_pp, version.and_then(Node::str)) {
        (true, Some("V2")) => (
            Header::V2,
            Loc::new(file, version.map_or(c.line, |v| v.line)),
        ),
        // Envoy's default is V1.
        (true, _) => (
            Header::V1,
            Loc::new(file, socket.map_or(c.line, |s| s.line)),
        ),
        (false, _) => (Header::None, Loc::new(file, c.line)),
    };
    let mut out = Vec::new();
    for e in c
        .path(&["load_assignment", "endpoints"])
        .map(Node::items)
        .unwrap_or(&[])
    {
        for lb in e.get("lb_endpoints").map(Node::items).unwrap_or(&[]) {
            let sock = lb.path(&["endpoint", "address", "socket_address"]);
            let host = sock.and_then(|s| s.get("address")).and_then(Node::str);
            let port = sock
                .and_then(|s| s.get("port_value"))
                .and_then(Node::str)
                .and_then(|p| p.parse().ok());
            let (h, _) = split_addr(host.unwrap_or(""), 0);
            out.push(Upstream {
                host: h.filter(|h| !h.is_empty()),
                port,
                sends,
                source: None,
                from_port: from,
                fix: "envoy-upstream-proxy-protocol",
                at: at.clone(),
            });
        }
    }
    out
}

const ENVOY_FILTER: &str = "envoy.filters.listener.proxy_protocol";

/// The direct peers a listener admits, when each of its filter chains
/// matches on `filter_chain_match.direct_source_prefix_ranges` (the
/// connection's own peer, not the address a PROXY header gives, which
/// `source_prefix_ranges` matches): Envoy's way of taking a header only
/// from the load balancer. `None` when a chain admits anyone, and when the
/// listener has a `default_filter_chain`: it serves every connection no
/// chain matches, a peer outside the ranges included, and the listener
/// filters (the header's reading among them) run before a chain is chosen.
fn direct_sources(file: &str, listener: &Node) -> Option<Trust> {
    if listener.get("default_filter_chain").is_some() {
        return None;
    }
    let chains = listener.get("filter_chains").map(Node::items)?;
    let mut nets = Vec::new();
    let mut first = None;
    for chain in chains {
        let ranges = chain
            .path(&["filter_chain_match", "direct_source_prefix_ranges"])
            .filter(|r| !r.items().is_empty())?;
        first.get_or_insert(ranges.line);
        for r in ranges.items() {
            let prefix = r.get("address_prefix").and_then(Node::str)?;
            // An unset prefix_len is 0 (Envoy's CidrRange): anyone.
            let len = r.get("prefix_len").and_then(Node::str).unwrap_or("0");
            let n = net(&format!("{prefix}/{len}"))?;
            if n.prefix_len() == 0 {
                return None;
            }
            nets.push(n);
        }
    }
    Some(Trust::List(nets.into(), Loc::new(file, first?)))
}

/// Envoy: one hop per listener of `static_resources`, sending to the
/// clusters it routes to; a cluster no listener routes to is a hop of its
/// own when it sends a header.
pub(crate) fn envoy(file: &str, docs: &[Node], out: &mut Facts) {
    for doc in docs {
        let listeners = doc
            .path(&["static_resources", "listeners"])
            .map(Node::items)
            .unwrap_or(&[]);
        let clusters = doc
            .path(&["static_resources", "clusters"])
            .map(Node::items)
            .unwrap_or(&[]);
        let cluster = |name: &str| {
            clusters
                .iter()
                .find(|c| c.get("name").and_then(Node::str) == Some(name))
        };
        let mut routed: Vec<String> = Vec::new();
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
                        // is taken from any peer that reaches the port,
                        // unless every filter chain admits only some
                        // direct peers.
                        (
                            Expects::Header,
                            direct_sources(file, l).unwrap_or(Trust::Anyone),
                            f.line,
                        )
                    }
                }
            };
            let mut names = Vec::new();
            clusters_named(l, &mut names);
            names.dedup();
            let upstreams: Vec<Upstream> = names
                .iter()
                .filter_map(|n| cluster(n))
                .flat_map(|c| cluster_upstreams(file, c, port))
                .collect();
            routed.extend(names);
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
                upstreams,
            });
        }
        for c in clusters {
            let name = c.get("name").and_then(Node::str).unwrap_or("cluster");
            if routed.iter().any(|r| r == name) {
                continue;
            }
            let ups = cluster_upstreams(file, c, None);
            if ups.iter().any(|u| u.sends != Header::None) {
                out.hops.push(Hop {
                    name: format!("envoy cluster {name}").into(),
                    role: Role::Proxy,
                    kind: Kind::Envoy,
                    at: Loc::new(file, c.line),
                    listeners: Vec::new(),
                    upstreams: ups,
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trust_of(chains: &str) -> Trust {
        let text = format!(
            "static_resources:\n  listeners:\n  - name: l\n    address: {{socket_address: {{address: 0.0.0.0, port_value: 8080}}}}\n    listener_filters:\n    - name: envoy.filters.listener.proxy_protocol\n    filter_chains:\n{chains}"
        );
        let docs = super::super::yaml::parse("e.yaml", &text).unwrap();
        let mut f = Facts::default();
        envoy("e.yaml", &docs, &mut f);
        f.hops[0].listeners[0].trust.clone()
    }

    #[test]
    fn a_required_header_is_trusted_from_the_direct_peers_every_chain_admits() {
        let one = "    - filter_chain_match:\n        direct_source_prefix_ranges:\n        - {address_prefix: 10.20.0.0, prefix_len: 24}\n      filters: []\n";
        assert!(matches!(trust_of(one), Trust::List(n, at) if n.len() == 1 && at.line == 10));
        // A chain without the match admits anyone; so does an unset
        // prefix_len (0) or a match on the header's own address.
        let open = format!("{one}    - filters: []\n");
        assert_eq!(trust_of(&open), Trust::Anyone);
        let unset = "    - filter_chain_match:\n        direct_source_prefix_ranges:\n        - {address_prefix: 10.20.0.0}\n";
        assert_eq!(trust_of(unset), Trust::Anyone);
        let header = "    - filter_chain_match:\n        source_prefix_ranges:\n        - {address_prefix: 10.20.0.0, prefix_len: 24}\n";
        assert_eq!(trust_of(header), Trust::Anyone);
        // A default chain takes the peers no chain matches: anyone.
        let default = format!("{one}    default_filter_chain:\n      filters: []\n");
        assert_eq!(trust_of(&default), Trust::Anyone);
    }
}
