//! Traefik: its static configuration (`entryPoints.<name>.address` and
//! `.proxyProtocol`, YAML or TOML), its chart's entry points
//! (`ports.<name>` and `--entryPoints.<name>.…` in `additionalArguments`),
//! and the TCP services of its dynamic configuration that send a header
//! (`proxyProtocol.version` on a v2 service, on a v3 serversTransport).
//!
//! Traefik reads a header when there is one (the entry point's
//! `proxyProtocol`): from `trustedIPs` its address is used, from anyone
//! with `insecure`, from others the header is read and dropped.

use ipnet::IpNet;

use super::k8s::IngressFacts;
use super::nginx::{net, split_addr};
use super::platforms;
use super::yaml::{Node, Value};
use super::{Facts, Found, Header, Hop, Kind, Listener, Loc, Role, Trust, Upstream};
use crate::judge::{fixes, Expects, Finding};

/// An entry point's `proxyProtocol`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ProxyConf {
    pub insecure: bool,
    pub trusted: Vec<IpNet>,
    pub at: Loc,
    pub trusted_at: Loc,
}

/// One entry point.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EntryPoint {
    pub name: String,
    pub host: Option<String>,
    /// The port Traefik listens on.
    pub port: Option<u16>,
    /// The chart's Service port for it, when it is exposed.
    pub exposed: Option<u16>,
    pub node_port: Option<u16>,
    pub proxy: Option<ProxyConf>,
    /// `forwardedHeaders.insecure`: X-Forwarded-For taken from anyone.
    pub forwarded_insecure: Option<Loc>,
    pub at: Loc,
}

fn text(n: Option<&Node>) -> Option<&str> {
    n.and_then(Node::str)
}

fn nets_of(n: &Node) -> Vec<IpNet> {
    match &n.value {
        Value::Seq(items) => items.iter().filter_map(|i| i.str().and_then(net)).collect(),
        Value::Scalar(s) => s.split(',').filter_map(|s| net(s.trim())).collect(),
        Value::Map(_) => Vec::new(),
    }
}

/// `proxyProtocol:` of an entry point (static configuration or chart).
fn proxy_conf(file: &str, pp: &Node) -> Option<ProxyConf> {
    let insecure = text(pp.get("insecure")).is_some_and(|v| v == "true");
    let trusted_node = pp.get("trustedIPs");
    let trusted = trusted_node.map(nets_of).unwrap_or_default();
    // Neither: the chart writes `proxyProtocol: {trustedIPs: [], insecure:
    // false}` for every port and renders no flag for it (no PROXY
    // protocol at all); a static configuration that says so does not
    // start (`facts` warns).
    if !insecure && trusted.is_empty() {
        return None;
    }
    Some(ProxyConf {
        insecure,
        trusted,
        at: Loc::new(file, pp.line),
        trusted_at: Loc::new(file, trusted_node.map_or(pp.line, |t| t.line)),
    })
}

fn forwarded_insecure(file: &str, ep: &Node) -> Option<Loc> {
    let n = ep.path(&["forwardedHeaders", "insecure"])?;
    (n.str() == Some("true")).then(|| Loc::new(file, n.line))
}

/// A listener from an entry point.
fn listener(ep: &EntryPoint, fix: &'static str) -> Listener {
    let (expects, trust, at) = match &ep.proxy {
        None => (Expects::Nothing, Trust::Unused, ep.at.clone()),
        Some(p) if p.insecure => (Expects::Optional, Trust::Anyone, p.at.clone()),
        // `trustedIPs: ["0.0.0.0/0"]` is `insecure` by another name.
        Some(p) if p.trusted.iter().any(|n| n.prefix_len() == 0) => {
            (Expects::Optional, Trust::Anyone, p.trusted_at.clone())
        }
        Some(p) if !p.trusted.is_empty() => (
            Expects::Optional,
            Trust::List(p.trusted.clone().into(), p.trusted_at.clone()),
            p.at.clone(),
        ),
        // proxyProtocol without trustedIPs or insecure: Traefik trusts
        // nobody, so the header is dropped and its address not used.
        Some(p) => (Expects::Optional, Trust::Unused, p.at.clone()),
    };
    Listener {
        host: ep.host.clone(),
        port: ep.port,
        expects,
        passthrough: false,
        refuses: None,
        ssl: false,
        trust,
        fix,
        at,
    }
}

fn pairs(n: &Node) -> Vec<(String, &Node)> {
    match &n.value {
        Value::Map(p) => p
            .iter()
            .filter_map(|(k, v)| k.str().map(|k| (k.to_string(), v)))
            .collect(),
        _ => Vec::new(),
    }
}

/// `--entryPoints.<name>.<setting>[=value]` (any case), as the chart's
/// `additionalArguments` or a container's args write them.
fn apply_arg(file: &str, arg: &Node, eps: &mut Vec<EntryPoint>) {
    let Some(s) = arg.str() else { return };
    let s = s.trim().trim_start_matches('-');
    let lower = s.to_ascii_lowercase();
    let Some(rest) = lower.strip_prefix("entrypoints.") else {
        return;
    };
    let (path, value) = match rest.split_once('=') {
        Some((p, v)) => (p.to_string(), Some(s[s.len() - v.len()..].to_string())),
        None => (rest.to_string(), None),
    };
    let Some((name, setting)) = path.split_once('.') else {
        return;
    };
    let at = Loc::new(file, arg.line);
    let i = match eps.iter().position(|e| e.name.eq_ignore_ascii_case(name)) {
        Some(i) => i,
        None => {
            eps.push(EntryPoint {
                name: name.to_string(),
                host: None,
                port: None,
                exposed: None,
                node_port: None,
                proxy: None,
                forwarded_insecure: None,
                at: at.clone(),
            });
            eps.len() - 1
        }
    };
    let ep = &mut eps[i];
    let on = value
        .as_deref()
        .is_none_or(|v| v.eq_ignore_ascii_case("true"));
    match setting {
        "address" => {
            let addr = value.unwrap_or_default();
            let (host, port) = split_addr(addr.split('/').next().unwrap_or(""), 0);
            ep.host = host.filter(|h| !h.is_empty());
            ep.port = port;
        }
        "proxyprotocol.trustedips" => {
            let trusted: Vec<IpNet> = value
                .unwrap_or_default()
                .split(',')
                .filter_map(|s| net(s.trim()))
                .collect();
            let p = ep.proxy.get_or_insert(ProxyConf {
                insecure: false,
                trusted: Vec::new(),
                at: at.clone(),
                trusted_at: at.clone(),
            });
            p.trusted = trusted;
            p.trusted_at = at;
        }
        "proxyprotocol.insecure" if on => {
            let p = ep.proxy.get_or_insert(ProxyConf {
                insecure: true,
                trusted: Vec::new(),
                at: at.clone(),
                trusted_at: at.clone(),
            });
            p.insecure = true;
            p.at = at;
        }
        "forwardedheaders.insecure" if on => ep.forwarded_insecure = Some(at),
        _ => {}
    }
}

/// The chart's entry points: `web` (:8000, Service port 80) and
/// `websecure` (:8443, 443) by default, every `ports.<name>` with its
/// `port`, `exposedPort`, `expose`, `nodePort`, `proxyProtocol` and
/// `forwardedHeaders`, then `additionalArguments` on top.
pub(crate) fn chart_entry_points(file: &str, doc: &Node) -> Vec<EntryPoint> {
    let ports = doc.get("ports");
    let mut eps: Vec<EntryPoint> = Vec::new();
    let defaults = [("web", 8000, 80), ("websecure", 8443, 443)];
    let mut names: Vec<(String, Option<&Node>)> = defaults
        .iter()
        .map(|(n, ..)| (n.to_string(), ports.and_then(|p| p.get(n))))
        .collect();
    for (name, node) in ports.map(pairs).unwrap_or_default() {
        if !names.iter().any(|(n, _)| *n == name) {
            names.push((name, Some(node)));
        }
    }
    for (name, node) in names {
        let default = defaults.iter().find(|(n, ..)| *n == name);
        let num = |k: &str| text(node.and_then(|n| n.get(k))).and_then(|v| v.parse::<u16>().ok());
        let expose = node.and_then(|n| n.get("expose"));
        let exposed_flag = match expose.map(|e| &e.value) {
            Some(Value::Scalar(s)) => s == "true",
            Some(Value::Map(_)) => text(expose.and_then(|e| e.get("default"))) != Some("false"),
            _ => default.is_some(),
        };
        let port = num("port").or(default.map(|d| d.1));
        eps.push(EntryPoint {
            name: name.clone(),
            host: None,
            port,
            exposed: exposed_flag
                .then(|| num("exposedPort").or(default.map(|d| d.2)).or(port))
                .flatten(),
            node_port: num("nodePort"),
            proxy: node
                .and_then(|n| n.get("proxyProtocol"))
                .and_then(|pp| proxy_conf(file, pp)),
            forwarded_insecure: node.and_then(|n| forwarded_insecure(file, n)),
            at: Loc::new(file, node.map_or(doc.line, |n| n.line)),
        });
    }
    for key in ["additionalArguments", "globalArguments"] {
        for arg in doc.get(key).map(Node::items).unwrap_or(&[]) {
            apply_arg(file, arg, &mut eps);
        }
    }
    eps
}

/// Entry points from a container's args (`--entrypoints.web.address=:8000`,
/// `--entrypoints.web.proxyprotocol.trustedips=…`, any case), as Traefik
/// reads its CLI flags; those without an address are left out (they are
/// not where a Service can send).
pub(crate) fn args_entry_points(file: &str, args: &[Node]) -> Vec<EntryPoint> {
    let mut eps = Vec::new();
    for arg in args {
        apply_arg(file, arg, &mut eps);
    }
    eps.retain(|e| e.port.is_some());
    eps
}

fn hop_name(what: &str, eps: &[EntryPoint]) -> String {
    let names: Vec<&str> = eps.iter().map(|e| e.name.as_str()).collect();
    format!("{what} entryPoints {}", names.join(","))
}

/// Traefik as the ingress controller of a cluster (its chart): one hop,
/// a listener per entry point; its index.
pub(crate) fn ingress(
    file: &str,
    what: &str,
    eps: &[EntryPoint],
    line: usize,
    out: &mut Facts,
) -> usize {
    let hop = out.hops.len();
    out.ingresses.push(IngressFacts {
        hop,
        controller: &platforms::TRAEFIK,
        forwarded: eps.iter().find_map(|e| e.forwarded_insecure.clone()),
        wants_client_ip: None,
    });
    out.hops.push(Hop {
        name: hop_name(what, eps).into(),
        role: Role::Ingress,
        kind: Kind::Traefik,
        at: Loc::new(file, line),
        listeners: eps
            .iter()
            .map(|e| listener(e, platforms::TRAEFIK.fix))
            .collect(),
        upstreams: Vec::new(),
    });
    hop
}

/// A static or dynamic configuration (YAML or TOML, one document each).
pub(crate) fn facts(file: &str, docs: &[Node], out: &mut Facts) {
    for doc in docs {
        if let Some(eps) = doc.get("entryPoints") {
            let mut refused: Vec<(String, Loc)> = Vec::new();
            let eps: Vec<EntryPoint> = pairs(eps)
                .into_iter()
                .map(|(name, ep)| {
                    let addr = text(ep.get("address")).unwrap_or("");
                    let (host, port) = split_addr(addr.split('/').next().unwrap_or(""), 0);
                    EntryPoint {
                        host: host.filter(|h| !h.is_empty()),
                        port,
                        exposed: None,
                        node_port: None,
                        proxy: ep.get("proxyProtocol").and_then(|pp| {
                            let conf = proxy_conf(file, pp);
                            if conf.is_none() {
                                refused.push((name.clone(), Loc::new(file, pp.line)));
                            }
                            conf
                        }),
                        name,
                        forwarded_insecure: forwarded_insecure(file, ep),
                        at: Loc::new(file, ep.line),
                    }
                })
                .collect();
            let hop: std::sync::Arc<str> = hop_name("traefik", &eps).into();
            // Traefik builds every entry point before it serves any, and
            // exits on the first that fails: one refused setting stops
            // them all (judged on every link to this hop).
            for (name, at) in refused {
                out.found.push(Found {
                    finding: Finding::RefusedSetting,
                    at,
                    hop: hop.clone(),
                    message: format!(
                        "entry point {name}: proxyProtocol with neither trustedIPs nor insecure: Traefik does not start (its log: `error while building entryPoint {name}: … no trusted IPs provided`), so none of its entry points takes a connection"
                    ),
                    fix: Some(fixes::get("traefik-trusted-ips")),
                });
            }
            out.hops.push(Hop {
                name: hop,
                role: Role::Proxy,
                kind: Kind::Traefik,
                at: Loc::new(file, eps_line(doc)),
                listeners: eps
                    .iter()
                    .map(|e| listener(e, "traefik-trusted-ips"))
                    .collect(),
                upstreams: Vec::new(),
            });
        }
        tcp_services(file, doc, out);
    }
}

fn eps_line(doc: &Node) -> usize {
    doc.key_line("entryPoints").unwrap_or(doc.line)
}

/// The dynamic configuration's TCP services: each server a sender, with
/// the header its `proxyProtocol.version` (v2: on the service's load
/// balancer; v3: on the serversTransport it names) says.
fn tcp_services(file: &str, doc: &Node, out: &mut Facts) {
    let Some(services) = doc.path(&["tcp", "services"]) else {
        return;
    };
    let transports = doc.path(&["tcp", "serversTransports"]);
    for (name, svc) in pairs(services) {
        let Some(lb) = svc.get("loadBalancer") else {
            continue;
        };
        let version = |n: Option<&Node>| -> Option<(Header, Loc)> {
            let v = n?.path(&["proxyProtocol", "version"]);
            let at = Loc::new(file, v.map_or(n?.line, |v| v.line));
            match v.and_then(Node::str) {
                Some("1") => Some((Header::V1, at)),
                // Traefik's default version is 2.
                Some("2") | None if n?.get("proxyProtocol").is_some() => Some((Header::V2, at)),
                _ => None,
            }
        };
        let transport = text(lb.get("serversTransport"))
            .map(|t| t.split('@').next().unwrap_or(t))
            .and_then(|t| transports.and_then(|ts| ts.get(t)));
        let sends = version(Some(lb)).or_else(|| version(transport));
        let mut upstreams = Vec::new();
        for server in lb.get("servers").map(Node::items).unwrap_or(&[]) {
            let addr = text(server.get("address")).unwrap_or("");
            let (host, port) = split_addr(addr, 0);
            let (h, at) = match &sends {
                Some((h, at)) => (*h, at.clone()),
                None => (Header::None, Loc::new(file, server.line)),
            };
            upstreams.push(Upstream {
                host,
                port,
                sends: h,
                source: None,
                from_port: None,
                fix: "traefik-send-proxy-protocol",
                at,
            });
        }
        if upstreams.is_empty() {
            continue;
        }
        out.used(Loc::new(file, svc.line), format!("tcp service {name}"));
        out.hops.push(Hop {
            name: format!("traefik tcp service {name}").into(),
            role: Role::Proxy,
            kind: Kind::Traefik,
            at: Loc::new(file, svc.line),
            listeners: Vec::new(),
            upstreams,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_flags_of_a_container_any_case() {
        let text = "args:\n- --entrypoints.web.address=:8000/tcp\n- --entryPoints.web.proxyProtocol.trustedIPs=10.0.0.0/8,192.0.2.0/24\n- --entrypoints.websecure.address=:8443\n- --entrypoints.websecure.proxyprotocol.insecure\n- --entrypoints.noaddr.proxyprotocol.insecure=true\n- --ping=true\n";
        let docs = crate::check::yaml::parse("k8s.yaml", text).unwrap();
        let eps = args_entry_points("k8s.yaml", docs[0].get("args").unwrap().items());
        assert_eq!(eps.len(), 2);
        assert_eq!((eps[0].name.as_str(), eps[0].port), ("web", Some(8000)));
        let p = eps[0].proxy.as_ref().unwrap();
        assert_eq!((p.trusted.len(), p.insecure), (2, false));
        assert_eq!(eps[1].port, Some(8443));
        assert!(eps[1].proxy.as_ref().unwrap().insecure);
    }
}
