//! The chain: link each sender's upstream to the receiver's listener it
//! reaches, then judge every link with the judge (`arrival`, `pairing`)
//! and add the rules that need the whole chain (trust lists, the real
//! client address, hairpin traffic, X-Forwarded-For behind an L4 LB).

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use std::net::IpAddr;
use std::sync::Arc;

use super::{Assumption, Check, Facts, Found, Header, Hop, Link, Listener, Role, Trust};
use crate::judge::{self, fixes, Arrived, Expects, Finding};

fn host_matches(a: &Option<String>, b: &Option<String>) -> bool {
    let wild = |h: &Option<String>| {
        h.as_deref().is_none_or(|h| {
            matches!(h, "*" | "0.0.0.0" | "::" | "localhost")
                || h.parse::<IpAddr>().is_ok_and(|a| a.is_loopback())
        })
    };
    a == b || wild(a) || wild(b)
}

/// Where each port is received: the proxies' listeners and the Services'
/// ports and node ports, so linking is linear in the input.
#[derive(Default)]
struct Ports {
    /// port → (hop, listener) of proxies.
    proxies: HashMap<u16, Vec<(usize, usize)>>,
    /// port → (service, index of the port) for a Service's port.
    services: HashMap<u16, Vec<(usize, usize)>>,
    /// node port → (service, index of the port).
    node_ports: HashMap<u16, Vec<(usize, usize)>>,
}

impl Ports {
    fn new(facts: &Facts) -> Ports {
        let mut p = Ports::default();
        for (h, hop) in facts.hops.iter().enumerate() {
            if hop.role != Role::Proxy {
                continue;
            }
            for (l, lis) in hop.listeners.iter().enumerate() {
                if let Some(port) = lis.port {
                    p.proxies.entry(port).or_default().push((h, l));
                }
            }
        }
        for (si, s) in facts.services.iter().enumerate() {
            for (pi, (port, node, _)) in s.ports.iter().enumerate() {
                p.services.entry(*port).or_default().push((si, pi));
                if let Some(n) = node {
                    p.node_ports.entry(*n).or_default().push((si, pi));
                }
            }
        }
        p
    }
}

/// The receiver (hop, listener) an upstream reaches, and whether that was
/// assumed rather than read.
fn target(
    facts: &Facts,
    ports: &Ports,
    from: usize,
    up: &super::Upstream,
) -> Option<((usize, usize), bool)> {
    let port = up.port?;
    // A proxy of the input listening on that address:port.
    for &(h, l) in ports.proxies.get(&port).into_iter().flatten() {
        // A Traefik TCP service's servers are behind this Traefik, never
        // its own entry points (the input holds one Traefik).
        let traefik_self = facts.hops[from].kind == super::Kind::Traefik
            && facts.hops[h].kind == super::Kind::Traefik;
        if h != from && !traefik_self && host_matches(&facts.hops[h].listeners[l].host, &up.host) {
            return Some(((h, l), false));
        }
    }
    // A Service: its load balancer's address or port, or a nodePort that
    // leads straight to the ingress.
    let ingress = facts.ingresses.first().map(|i| i.hop);
    let mut by_service: Vec<(usize, usize, bool)> = Vec::new();
    by_service.extend(
        ports
            .services
            .get(&port)
            .into_iter()
            .flatten()
            .map(|&(s, p)| (s, p, false)),
    );
    by_service.extend(
        ports
            .node_ports
            .get(&port)
            .into_iter()
            .flatten()
            .map(|&(s, p)| (s, p, true)),
    );
    by_service.sort_unstable();
    for (si, pi, node) in by_service {
        let s = &facts.services[si];
        let (sport, _, tgt) = s.ports[pi];
        if !node {
            let by_ip = up.host.as_ref().is_some_and(|h| s.ips.contains(h));
            if let (Some(hop), true) = (s.hop, by_ip || up.host.is_none() || s.ips.is_empty()) {
                if let Some(l) = facts.hops[hop]
                    .listeners
                    .iter()
                    .position(|l| l.port == Some(sport))
                {
                    return Some(((hop, l), s.ips.is_empty() && !by_ip));
                }
            }
        } else if let Some(i) = ingress {
            let l = facts.hops[i]
                .listeners
                .iter()
                .position(|l| l.port == tgt)
                .unwrap_or(0);
            return Some(((i, l), false));
        }
    }
    None
}

/// Each hop's depth in the chain: the longest path from a hop nothing
/// reaches (Kahn's order; hops on a loop keep what they had when the loop
/// was met).
fn depths(n: usize, links: &[Link]) -> Vec<usize> {
    let mut out_edges: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut indegree = vec![0usize; n];
    for l in links {
        if let Some((h, _)) = l.from {
            if h != l.to.0 {
                out_edges[h].push(l.to.0);
                indegree[l.to.0] += 1;
            }
        }
    }
    let mut depth = vec![0usize; n];
    let mut todo: Vec<usize> = (0..n).filter(|&h| indegree[h] == 0).collect();
    while let Some(h) = todo.pop() {
        for &t in &out_edges[h] {
            depth[t] = depth[t].max(depth[h] + 1);
            indegree[t] -= 1;
            if indegree[t] == 0 {
                todo.push(t);
            }
        }
    }
    depth
}

/// ingress-nginx's TCP services: a listener each on the controller (a
/// header expected when the entry says PROXY), and an upstream that sends
/// one when it says PROXY twice.
fn add_tcp_services(facts: &mut Facts) {
    let Some(i) = facts.ingresses.first().map(|i| i.hop) else {
        return;
    };
    let services = std::mem::take(&mut facts.tcp_services);
    let hop = &mut facts.hops[i];
    let trust = hop
        .listeners
        .first()
        .map_or(Trust::Anyone, |l| l.trust.clone());
    for t in services {
        hop.listeners.push(super::Listener {
            host: None,
            port: Some(t.port),
            expects: if t.decode {
                Expects::Header
            } else {
                Expects::Nothing
            },
            passthrough: false,
            refuses: None,
            ssl: false,
            trust: trust.clone(),
            fix: "ingress-nginx-tcp-services-proxy",
            at: t.at.clone(),
        });
        hop.upstreams.push(super::Upstream {
            host: Some(t.target.clone()),
            port: t.target_port,
            sends: if t.encode { Header::V1 } else { Header::None },
            source: None,
            from_port: Some(t.port),
            fix: "ingress-nginx-tcp-services-proxy",
            at: t.at,
        });
    }
}

/// Build and judge the chain.
pub(crate) fn build(mut facts: Facts) -> Check {
    add_tcp_services(&mut facts);
    // ingress-nginx's ssl-passthrough: a TCP proxy takes :443 and reads a
    // PROXY header with a library that knows v1 only; a v2 header passes to
    // nginx as data (ingress-nginx #10181, #6703).
    if facts.ssl_passthrough.is_some() {
        for ing in facts
            .ingresses
            .iter()
            .filter(|i| i.controller.name == "ingress-nginx")
        {
            for l in &mut facts.hops[ing.hop].listeners {
                if l.port == Some(443) && l.expects == Expects::Header {
                    l.refuses = Some(Header::V2);
                }
            }
        }
    }
    let mut links: Vec<Link> = Vec::new();
    let mut assumed = facts.assumed.clone();
    let mut found = facts.found.clone();
    let ingress = facts.ingresses.first().map(|i| i.hop);
    let mut unlinked: Vec<(usize, usize)> = Vec::new();
    let ports = Ports::new(&facts);
    let service_of: HashMap<usize, usize> = facts
        .services
        .iter()
        .enumerate()
        .filter_map(|(i, s)| s.hop.map(|h| (h, i)))
        .collect();
    for (h, hop) in facts.hops.iter().enumerate() {
        for (u, up) in hop.upstreams.iter().enumerate() {
            let to = if hop.role == Role::LoadBalancer {
                // The workloads its selector picks, else the ingress
                // controller, else a proxy listening on the port.
                let picked = service_of
                    .get(&h)
                    .map_or(&[][..], |&s| facts.services[s].targets.as_slice());
                let on_port = |i: usize| {
                    facts.hops[i]
                        .listeners
                        .iter()
                        .position(|l| l.port == up.port)
                };
                if !picked.is_empty() {
                    picked
                        .iter()
                        .find_map(|&i| on_port(i).map(|l| ((i, l), false)))
                        .or_else(|| {
                            picked
                                .iter()
                                .find(|&&i| !facts.hops[i].listeners.is_empty())
                                .map(|&i| ((i, 0), false))
                        })
                } else if let Some(i) = ingress {
                    Some(((i, on_port(i).unwrap_or(0)), false))
                } else {
                    // A proxy of the input on the port it targets (never
                    // another load balancer).
                    up.port.and_then(|p| {
                        ports
                            .proxies
                            .get(&p)
                            .and_then(|v| v.first())
                            .map(|&to| (to, false))
                    })
                }
            } else {
                target(&facts, &ports, h, up)
            };
            match to {
                Some((to, guessed)) => {
                    if guessed {
                        assumed.push(Assumption {
                            at: up.at.clone(),
                            hop: hop.name.clone(),
                            text: format!("assumed to reach {}", facts.hops[to.0].name).into(),
                        });
                    }
                    links.push(Link {
                        from: Some((h, u)),
                        to,
                        carried: up.sends,
                        stacked: false,
                        finding: Finding::Plain,
                    });
                }
                None => unlinked.push((h, u)),
            }
        }
    }
    // A sender whose target is in no input, with one ingress that nothing
    // reaches: assume it is the one (the seed: an nginx stream in front of
    // ingress-nginx, given as `kubectl get … -o yaml` and nginx.conf).
    if let Some(i) = ingress {
        let reached = links.iter().any(|l| {
            l.to.0 == i
                && l.from
                    .is_some_and(|(h, _)| facts.hops[h].role == Role::Proxy)
        });
        let senders: Vec<(usize, usize)> = unlinked
            .iter()
            .copied()
            .filter(|(h, _)| facts.hops[*h].role == Role::Proxy)
            .collect();
        if !reached && !senders.is_empty() {
            for (h, u) in senders {
                let up = &facts.hops[h].upstreams[u];
                let l = facts.hops[i]
                    .listeners
                    .iter()
                    .position(|l| l.port == up.from_port)
                    .unwrap_or(0);
                assumed.push(Assumption {
                    at: up.at.clone(),
                    hop: facts.hops[h].name.clone(),
                    text: format!(
                        "{} matches no listener of the input: assumed to be {} (confirm with `ppctl probe {}`)",
                        addr(up),
                        facts.hops[i].name,
                        addr(up)
                    ).into(),
                });
                links.push(Link {
                    from: Some((h, u)),
                    to: (i, l),
                    carried: up.sends,
                    stacked: false,
                    finding: Finding::Plain,
                });
            }
            unlinked.clear();
        }
    }
    for (h, u) in unlinked {
        let up = &facts.hops[h].upstreams[u];
        if up.sends != Header::None {
            assumed.push(Assumption {
                at: up.at.clone(),
                hop: facts.hops[h].name.clone(),
                text: if up.host.as_deref().is_some_and(|h| h.starts_with("unix:")) {
                    format!(
                        "sends a {} to {}, which is in no input: assumed to expect one (a unix socket: confirm with `ppctl listen` in its place)",
                        up.sends.name(),
                        addr(up)
                    )
                } else if up.port.is_none() {
                    format!(
                        "sends a {} to its backends, which are in no input: assumed to expect one (confirm with `ppctl listen` in place of one)",
                        up.sends.name()
                    )
                } else {
                    format!(
                        "sends a {} to {}, which is in no input: assumed to expect one (confirm with `ppctl probe {}`)",
                        up.sends.name(),
                        addr(up),
                        addr(up)
                    )
                }
                .into(),
            });
        }
    }
    // A pass-through load balancer forwards what came in: with its own
    // header on top, two arrive.
    let mut header_into: HashMap<usize, Header> = HashMap::default();
    for l in &links {
        if l.carried != Header::None {
            header_into.entry(l.to.0).or_insert(l.carried);
        }
    }
    for link in &mut links {
        let Some((h, _)) = link.from else {
            continue;
        };
        if facts.hops[h].role != Role::LoadBalancer {
            continue;
        }
        if let Some(&inc) = header_into.get(&h) {
            if link.carried != Header::None {
                link.stacked = true;
            } else {
                link.carried = inc;
            }
        }
    }
    // The client: in front of every hop that nothing in the input reaches.
    let reached: HashSet<(usize, usize)> = links.iter().map(|k| k.to).collect();
    let mut unreached: Vec<(usize, usize)> = Vec::new();
    // One text per port (or socket), shared by the listeners it is said of.
    let mut said: HashMap<(Option<u16>, Option<String>), Arc<str>> = HashMap::default();
    for (h, hop) in facts.hops.iter().enumerate() {
        for (l, lis) in hop.listeners.iter().enumerate() {
            if reached.contains(&(h, l)) {
                continue;
            }
            if lis.expects == Expects::Header && hop.role != Role::LoadBalancer {
                let socket = lis.host.clone().filter(|h| h.starts_with("unix:"));
                let text = said.entry((lis.port, socket.clone())).or_insert_with(|| {
                    match (&socket, lis.port) {
                        (Some(path), _) => format!(
                            "expects a PROXY header on {path} but no sender in the input reaches it: assumed a proxy on this machine sends one (a unix socket: probe cannot reach it; its error log says what arrives)"
                        ),
                        (None, port) => format!(
                            "expects a PROXY header on {} but no sender in the input reaches it: assumed a load balancer in front sends one (confirm with `ppctl probe HOST:{}`)",
                            // An EnvoyFilter without a portNumber: every listener.
                            port.map_or("every port".into(), |p| format!(":{p}")),
                            port.map_or("PORT".into(), |p| p.to_string())
                        ),
                    }
                    .into()
                });
                assumed.push(Assumption {
                    at: lis.at.clone(),
                    hop: hop.name.clone(),
                    text: text.clone(),
                });
                unreached.push((h, l));
                continue;
            }
            links.push(Link {
                from: None,
                to: (h, l),
                carried: Header::None,
                stacked: false,
                finding: Finding::Plain,
            });
        }
    }
    // One link per sender line and receiver (an upstream block's servers
    // all reach the same place).
    // One link per sender and receiver (an HAProxy backend's servers, an
    // upstream block's, all reach the same place): one finding per link.
    let mut seen = HashSet::default();
    links.retain(|l| seen.insert((l.from.map(|(h, _)| h), l.to, l.carried)));
    // In chain order: the client's links first, then each hop's after
    // the hop is reached (a loop in the input stops where it closes).
    let depth = depths(facts.hops.len(), &links);
    links.sort_by_key(|l| l.from.map_or(0, |(h, _)| depth[h] + 1));
    // A hop that does not start (a refused setting) takes no connection,
    // whatever is sent: its hops found once, not per link.
    let refused: HashSet<&str> = facts
        .found
        .iter()
        .filter(|f| f.finding == Finding::RefusedSetting)
        .map(|f| &*f.hop)
        .collect();
    for link in &mut links {
        if refused.contains(&*facts.hops[link.to.0].name) {
            link.finding = Finding::RefusedSetting;
            continue;
        }
        judge_link(&facts, link, &mut found);
    }
    for to in unreached {
        trust_rules(
            &facts,
            to,
            &mut found,
            "the sender in front (not in the input)",
        );
    }
    rules(&facts, &links, &mut found);
    found.sort_by(|a, b| (b.finding.severity(), &a.at).cmp(&(a.finding.severity(), &b.at)));
    found.dedup();
    Check {
        files: Vec::new(),
        errors: Vec::new(),
        hops: facts.hops,
        links,
        found,
        assumed,
        probes: None,
    }
}

fn addr(up: &super::Upstream) -> String {
    match (&up.host, up.port) {
        (Some(h), Some(p)) if h.contains(':') => format!("[{h}]:{p}"),
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.clone(),
        (None, Some(p)) => format!(":{p}"),
        (None, None) => "?".into(),
    }
}

fn describe(hops: &[Hop], link: &Link) -> String {
    match link.from {
        Some((h, u)) => format!("{} ({})", hops[h].name, hops[h].upstreams[u].at),
        None => "the client".into(),
    }
}

/// The judge's word on one link, and the finding it makes.
fn judge_link(facts: &Facts, link: &mut Link, found: &mut Vec<Found>) {
    let hops = &facts.hops;
    let (h, l) = link.to;
    let to = &hops[h];
    let lis = &to.listeners[l];
    if lis.passthrough {
        link.finding = if link.carried == Header::None {
            Finding::Plain
        } else {
            Finding::Proxied
        };
        return;
    }
    let up = link.from.map(|(fh, fu)| &hops[fh].upstreams[fu]);
    let source = up.and_then(|u| u.source);
    let trusted = match (&lis.trust, source) {
        (Trust::List(nets, _), Some(src)) => nets.iter().any(|n| n.contains(&src)),
        // An empty list trusts nobody (Dovecot without
        // haproxy_trusted_networks), wherever the sender connects from.
        (Trust::List(nets, _), None) if nets.is_empty() => false,
        _ => true,
    };
    let arrived = match link.carried {
        Header::None => Arrived::NoHeader,
        // Versions that can't meet: Envoy `disallowed_versions`.
        v if lis.refuses == Some(v) => Arrived::OtherVersion,
        _ => Arrived::Header {
            local: false,
            trusted,
            stacked: link.stacked,
        },
    };
    let arrival = judge::arrival(lis.expects, arrived);
    // An optional header with a trust list is safe: others' headers are
    // ignored (Traefik trustedIPs); so is one whose address is used from
    // nobody (Caddy's bare wrapper): there is nothing to forge.
    let f = match lis.trust {
        Trust::List(..) | Trust::Unused => arrival,
        _ => judge::pairing(lis.expects, arrival),
    };
    link.finding = f;
    let sender = describe(hops, link);
    let (message, fix) = match f {
        // A mail or database server, in its own words.
        Finding::UnexpectedHeader | Finding::MissingHeader | Finding::UntrustedSource
            if super::mail::said(to, lis, f).is_some() =>
        {
            super::mail::message(to, lis, link, &sender, f, up)
        }
        Finding::UnexpectedHeader => (
            format!(
                "{sender} sends a {} but this hop does not expect one: it reads the header as data ({})",
                link.carried.name(),
                match Server::of(lis) {
                    // A byte stream: the header goes on to HAProxy's
                    // server, where the next hop meets it (wire-checked).
                    Server::Haproxy if is_l4(to) => {
                        "HAProxy in mode tcp passes the header's bytes on to its server as the start of the stream"
                    }
                    server => server.reads_header_as_data(),
                },
            ),
            Some(lis.fix),
        ),
        Finding::MissingHeader => (
            format!(
                "this hop requires a PROXY header but {sender} sends none: {}",
                Server::of(lis).without_header(),
            ),
            up.map(|u| u.fix),
        ),
        Finding::StackedHeader => (
            format!(
                "{sender} adds a {} to a connection that already carries one: this hop gets two",
                link.carried.name(),
            ),
            None,
        ),
        Finding::UntrustedSource => {
            let list = match &lis.trust {
                Trust::List(nets, at) => format!(
                    "{} ({at})",
                    nets.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
                ),
                _ => String::new(),
            };
            // HAProxy's `expect-proxy` rules decide whether a header is
            // read at all: from another source it is the stream's data.
            let (effect, fix) = match Server::of(lis) {
                Server::Haproxy => (
                    "HAProxy reads no header from it and takes the header's bytes as the connection's data (in mode http: 400 Bad Request)",
                    "haproxy-expect-proxy-allowlist",
                ),
                _ if to.role == Role::Ingress => ("this hop ignores the header's address", "ingress-nginx-real-ip-cidr"),
                _ if to.kind == super::Kind::Caddy => (
                    "Caddy's proxy_protocol wrapper drops the header's address (fallback_policy ignore, the default), closes the connection (reject) or reads the header as data (skip)",
                    lis.fix,
                ),
                _ => ("this hop ignores the header's address", lis.fix),
            };
            (
                format!(
                    "{sender} connects from {}, outside the trusted sources {list}: {effect}",
                    match source {
                        // HAProxy `usesrc client`/`clientip` (TPROXY).
                        Some(s) if s.is_unspecified() => {
                            "each client's own address (transparent proxying)".to_string()
                        }
                        Some(s) => s.to_string(),
                        None => "?".into(),
                    },
                ),
                Some(fix),
            )
        }
        Finding::Proxied => {
            proxied_rules(facts, link, found, &sender);
            return;
        }
        // The receiver's own fix sets its trust list (Traefik trustedIPs,
        // Caddy allow) or requires the header (Envoy, Envoy Gateway).
        Finding::Spoofable => (
            "this hop takes a header when there is one and serves clients without one: any client that reaches it directly can forge its address".to_string(),
            Some(lis.fix),
        ),
        Finding::HeaderRejected => (
            format!(
                "{sender} sends a {} but this hop reads only the other version (Envoy's disallowed_versions, ingress-nginx's ssl-passthrough proxy): the connection fails",
                link.carried.name(),
            ),
            Some("match-version"),
        ),
        _ => return,
    };
    // Where the change is made: the sender for a stacked header, the
    // trust list for an untrusted source, else the receiver.
    let at = match (f, &lis.trust) {
        (Finding::StackedHeader, _) => up.map_or(lis.at.clone(), |u| u.at.clone()),
        (Finding::UntrustedSource, Trust::List(_, list_at)) => list_at.clone(),
        _ => lis.at.clone(),
    };
    found.push(Found {
        finding: f,
        at,
        hop: to.name.clone(),
        message,
        fix: fix.map(fixes::get),
    });
}

/// A header that arrives and is read: is the address used, and only from
/// the senders it should be?
fn proxied_rules(facts: &Facts, link: &Link, found: &mut Vec<Found>, sender: &str) {
    trust_rules(facts, link.to, found, sender);
}

/// Whether a receiver that reads the header uses its address, and from
/// whom: for a link that carries one, and for a listener that requires one
/// although no sender of the input reaches it (the sender is outside the
/// input; the receiver's settings are known all the same).
fn trust_rules(facts: &Facts, (h, l): (usize, usize), found: &mut Vec<Found>, sender: &str) {
    let to = &facts.hops[h];
    let lis = &to.listeners[l];
    match &lis.trust {
        Trust::Anyone => found.push(Found {
            finding: Finding::Spoofable,
            at: lis.at.clone(),
            hop: to.name.clone(),
            message: match Server::of(lis) {
                Server::Envoy => "this hop requires a header and takes it from any peer that reaches the port (Envoy's proxy_protocol filter has no trust list): a client that reaches it directly can forge its address",
                _ => "this hop takes the header's address from any peer (no trust list, or 0.0.0.0/0): a client that reaches it directly can forge its address",
            }
            .to_string(),
            fix: Some(fixes::get(
                match facts.ingresses.iter().find(|i| i.hop == h) {
                    Some(i) => i.controller.trust_fix,
                    None if to.kind == super::Kind::Haproxy => "haproxy-expect-proxy-allowlist",
                    None if to.kind == super::Kind::Nginx => "nginx-listen-proxy-protocol",
                    None if matches!(Server::of(lis), Server::Envoy) => "envoy-admit-lb-only",
                    None => "require-header-and-allowlist",
                },
            )),
        }),
        Trust::Unused => {
            // An http server, or a stream proxy that passes the address on.
            let forwards = to.upstreams.iter().any(|u| u.sends != Header::None);
            let http = to.name.starts_with("nginx http") || to.role == Role::Ingress;
            let caddy = to.kind == super::Kind::Caddy;
            if http || forwards || caddy {
                let (what, fix) = if caddy {
                    ("Caddy's proxy_protocol wrapper uses the address only from the sources in its `allow` (Caddy 2.8 and later; fallback_policy ignore, the default, drops others')", lis.fix)
                } else if to.role == Role::Ingress {
                    ("make the controller take the client address from the PROXY header (its real-IP setting and the sources it trusts)", lis.fix)
                } else if http {
                    ("add `set_real_ip_from` for the sender and `real_ip_header proxy_protocol`", "nginx-listen-proxy-protocol")
                } else {
                    ("add `set_real_ip_from` for the sender", "nginx-listen-proxy-protocol")
                };
                found.push(Found {
                    finding: Finding::RealIpLost,
                    at: lis.at.clone(),
                    hop: to.name.clone(),
                    message: format!(
                        "this hop reads the header from {sender} but does not use its address as the client's: {what}"
                    ),
                    fix: Some(fixes::get(fix)),
                });
            }
        }
        Trust::List(..) => {}
    }
}

/// A hop that passes bytes on, not requests: a load balancer, an nginx
/// `stream` server, HAProxy in `mode tcp`, a Traefik TCP service.
fn is_l4(hop: &Hop) -> bool {
    hop.role == Role::LoadBalancer
        || hop.name.starts_with("nginx stream")
        || hop.name.starts_with("traefik tcp")
        || hop.kind == super::Kind::Haproxy && hop.name.contains("(tcp)")
}

/// Rules about Services and ingress settings as a whole.
fn rules(facts: &Facts, links: &[Link], found: &mut Vec<Found>) {
    // X-Forwarded-For taken from the peer behind an L4 hop (one in the
    // input, or the one PROXY protocol implies): the client writes it.
    for ing in &facts.ingresses {
        let Some(at) = &ing.forwarded else { continue };
        let hop = &facts.hops[ing.hop];
        let l4 = links
            .iter()
            .filter(|l| l.to.0 == ing.hop)
            .find_map(|l| l.from.map(|(h, _)| &facts.hops[h]).filter(|h| is_l4(h)));
        let front = match l4 {
            Some(h) => format!("{} is an L4 hop", h.name),
            None if hop.listeners.iter().any(|l| l.expects == Expects::Header) => {
                "the hop in front sends PROXY protocol, so it is an L4 one".to_string()
            }
            None => continue,
        };
        found.push(Found {
            finding: Finding::Spoofable,
            at: at.clone(),
            hop: hop.name.clone(),
            message: format!(
                "X-Forwarded-For is trusted from the peer, but {front}: the client writes that header, so it can forge its address"
            ),
            fix: Some(fixes::get(if ing.controller.name == "Traefik" {
                "traefik-trusted-ips"
            } else {
                "ingress-nginx-forwarded-headers"
            })),
        });
    }
    // ssl-passthrough with use-proxy-protocol: the controller's TCP proxy
    // takes :443 and the header is required on :80 too (ingress-nginx
    // #10181, #11365).
    if let Some(at) = &facts.ssl_passthrough {
        for ing in &facts.ingresses {
            let hop = &facts.hops[ing.hop];
            // Only when what sends is known and sends to one of the two.
            let sent = |port: u16| {
                links.iter().any(|l| {
                    l.to.0 == ing.hop
                        && l.from.is_some()
                        && l.carried != Header::None
                        && hop.listeners[l.to.1].port == Some(port)
                })
            };
            if hop
                .listeners
                .iter()
                .any(|l| l.expects == Expects::Header && l.port == Some(80))
                && sent(80) != sent(443)
            {
                found.push(Found {
                    finding: Finding::PartialProxy,
                    at: at.clone(),
                    hop: hop.name.clone(),
                    message: format!(
                        "--enable-ssl-passthrough with use-proxy-protocol ({}): a TCP proxy in the controller takes :443 and nginx requires the header on :80 as well, but the sender in front sends it to one of the two ports only (ingress-nginx #11365, #10181)",
                        hop.listeners[0].at
                    ),
                    fix: Some(fixes::get("ingress-nginx-ssl-passthrough-proxy")),
                });
            }
        }
    }
    let mut from_hop: HashMap<usize, Vec<&Link>> = HashMap::default();
    for l in links {
        if let Some((h, _)) = l.from {
            from_hop.entry(h).or_default().push(l);
        }
    }
    for s in &facts.services {
        let Some(hop) = s.hop else { continue };
        let name = &facts.hops[hop].name;
        let to_ingress: &[&Link] = from_hop.get(&hop).map_or(&[], Vec::as_slice);
        let proxied = to_ingress.iter().any(|l| {
            l.finding == Finding::Proxied
                || l.finding == Finding::Spoofable
                || l.finding == Finding::UntrustedSource
        });
        // Hairpin: in-cluster clients to the LB's IP skip it, and arrive
        // without the header the ingress requires.
        if proxied && s.sends != Header::None {
            if let Some((ip, at)) = s.hairpin.first() {
                found.push(Found {
                    finding: Finding::Hairpin,
                    at: at.clone(),
                    hop: name.clone(),
                    message: format!(
                        "in-cluster clients that connect to {ip} are short-circuited by kube-proxy (no `ipMode: Proxy`): they reach the ingress without the PROXY header it requires"
                    ),
                    fix: Some(fixes::get("hairpin-ip-mode-proxy")),
                });
            }
        }
        for ing in &facts.ingresses {
            let reached = to_ingress.iter().any(|l| l.to.0 == ing.hop);
            if !reached {
                continue;
            }
            if s.sends != Header::None || ing.forwarded.is_some() {
                continue;
            }
            let Some(at) = &ing.wants_client_ip else {
                continue;
            };
            match &s.pod_targets {
                // No header, policy Cluster: the client address is NATed
                // away.
                None if !s.local => found.push(Found {
                    finding: Finding::RealIpLost,
                    at: s.policy_at.clone(),
                    hop: name.clone(),
                    message: format!(
                        "this load balancer sends no PROXY header and the Service's externalTrafficPolicy is Cluster: kube-proxy replaces the client address, although the ingress asks for it ({at})"
                    ),
                    fix: Some(fixes::get("external-traffic-policy-local")),
                }),
                // Sent to the pods, past kube-proxy: the load balancer
                // decides, whatever the policy says.
                Some(t) if !t.keeps_client => found.push(Found {
                    finding: Finding::RealIpLost,
                    at: t.at.clone(),
                    hop: name.clone(),
                    message: format!(
                        "this NLB sends to the pods' IPs, past kube-proxy, and no PROXY header: by default its TCP and TLS target groups of IP type do not keep the client address (preserve_client_ip.enabled=false), so the ingress sees the NLB's private address whatever externalTrafficPolicy says, although it asks for the client's ({at}); PROXY v2, or preserve_client_ip.enabled=true in the target group attributes, brings it back"
                    ),
                    fix: Some(fixes::get("aws-nlb-proxy-protocol-v2")),
                }),
                _ => {}
            }
        }
    }
}

/// The server behind a listener, as far as what it does with a header it
/// does not expect (or one it misses) goes: told by the receiver's fix.
#[derive(Clone, Copy)]
enum Server {
    Nginx,
    Haproxy,
    /// Envoy and what runs it (Istio, Envoy Gateway, Contour).
    Envoy,
    Other,
}

impl Server {
    fn of(lis: &Listener) -> Server {
        let fix = lis.fix;
        if fix.starts_with("nginx") || fix.starts_with("ingress-nginx") || fix.starts_with("ngf") {
            Server::Nginx
        } else if fix.starts_with("haproxy") {
            Server::Haproxy
        } else if ["envoy", "istio", "contour"]
            .iter()
            .any(|p| fix.starts_with(p))
        {
            Server::Envoy
        } else {
            Server::Other
        }
    }

    fn reads_header_as_data(self) -> &'static str {
        match self {
            Server::Nginx => "nginx answers 400 Bad Request",
            Server::Haproxy => "HAProxy in mode http answers 400 Bad Request",
            Server::Envoy | Server::Other => {
                "an HTTP server answers 400 Bad Request, a TLS one fails the handshake"
            }
        }
    }

    fn without_header(self) -> &'static str {
        match self {
            Server::Nginx => "nginx logs `broken header` and closes",
            Server::Haproxy => {
                "HAProxy logs `Received something which does not look like a PROXY protocol header` and closes"
            }
            Server::Envoy | Server::Other => "it closes the connection",
        }
    }
}
