//! The controllers users move to from ingress-nginx, as Kubernetes
//! objects: Gateway API Gateways and their implementations' PROXY settings
//! (Envoy Gateway's ClientTrafficPolicy, BackendTrafficPolicy and
//! EnvoyProxy, NGINX Gateway Fabric's NginxProxy), Contour's
//! ContourConfiguration, and Istio's gateways (the pod annotation
//! `proxy.istio.io/config` with `gatewayTopology.proxyProtocol`, and
//! EnvoyFilters that add the `proxy_protocol` listener filter).
//!
//! The implementations are rows of [`super::platforms::GATEWAYS`], their
//! settings rows of the controllers' table beside it.

use rustc_hash::FxHashMap as HashMap;

use super::k8s::{self, LbService};
use super::platforms::{self, Gateway as Row};
use super::workloads::{MeshProfile, Workload};
use super::yaml::{self, Node};
use super::{Facts, Header, Hop, Kind, Listener, Loc, Role, SkipReason, Trust, Upstream};
use crate::judge::Expects;

fn text(n: Option<&Node>) -> Option<&str> {
    n.and_then(Node::str)
}

fn name_of(o: &Node) -> String {
    text(o.path(&["metadata", "name"]))
        .unwrap_or("")
        .to_string()
}

fn kind_of(o: &Node) -> &str {
    text(o.get("kind")).unwrap_or("")
}

/// The policy targets of a policy (`targetRef` or `targetRefs`): (kind,
/// name, listener section).
fn targets(o: &Node) -> Vec<(String, String, Option<String>)> {
    let spec = o.get("spec");
    let one = spec.and_then(|s| s.get("targetRef")).into_iter();
    let many = spec
        .and_then(|s| s.get("targetRefs"))
        .map(Node::items)
        .unwrap_or(&[])
        .iter();
    one.chain(many)
        .filter_map(|t| {
            Some((
                text(t.get("kind"))?.to_string(),
                text(t.get("name"))?.to_string(),
                text(t.get("sectionName")).map(str::to_string),
            ))
        })
        .collect()
}

/// What a policy or setting makes a listener expect.
#[derive(Debug, Clone)]
struct Reads {
    expects: Expects,
    trust: Trust,
    at: Loc,
    /// Only this listener (`sectionName`), else every listener.
    section: Option<String>,
}

/// The implementation of a GatewayClass, by its controller name, else by
/// the class's usual names.
fn implementation(controller: Option<&str>, class: &str) -> Option<&'static Row> {
    match controller {
        Some(c) => platforms::GATEWAYS
            .iter()
            .find(|g| c.starts_with(g.controller_name)),
        None => platforms::GATEWAYS
            .iter()
            .find(|g| g.class_names.contains(&class)),
    }
}

/// The `proxy.istio.io/config` annotation asks Istio's gateway to require
/// a header (`gatewayTopology.proxyProtocol`).
pub(crate) fn istio_topology(file: &str, annotations: Option<&Node>) -> Option<Loc> {
    let a = annotations?.get("proxy.istio.io/config")?;
    let body = super::workloads::padded(a)?;
    let docs = yaml::parse(file, &body).ok()?;
    docs.iter()
        .find_map(|d| d.path(&["gatewayTopology", "proxyProtocol"]))
        .map(|_| Loc::new(file, a.line))
}

/// What an EnvoyFilter does about PROXY protocol: it inserts the
/// `proxy_protocol` listener filter (required, or optional with
/// `allow_requests_without_proxy_protocol`), on one port or every one.
fn envoy_filter(file: &str, o: &Node) -> Option<(Expects, Loc, Option<u16>)> {
    for patch in o
        .path(&["spec", "configPatches"])
        .map(Node::items)
        .unwrap_or(&[])
    {
        let port =
            text(patch.path(&["match", "listener", "portNumber"])).and_then(|p| p.parse().ok());
        let value = patch.path(&["patch", "value"]);
        let filters: Vec<&Node> = match text(patch.get("applyTo")) {
            Some("LISTENER_FILTER") => value.into_iter().collect(),
            _ => value
                .and_then(|v| v.get("listener_filters"))
                .map(|f| f.items().iter().collect())
                .unwrap_or_default(),
        };
        for f in filters {
            let named = text(f.get("name")).is_some_and(|n| n.ends_with("proxy_protocol"));
            let typed = text(f.path(&["typed_config", "@type"]))
                .is_some_and(|t| t.ends_with("proxy_protocol.v3.ProxyProtocol"));
            if !(named || typed) {
                continue;
            }
            let optional = f.path(&["typed_config", "allow_requests_without_proxy_protocol"]);
            let expects = if text(optional) == Some("true") {
                Expects::Optional
            } else {
                Expects::Header
            };
            let at = Loc::new(file, optional.map_or(f.line, |n| n.line));
            return Some((expects, at, port));
        }
    }
    None
}

/// Read the gateway objects of a file. Returns the hops Services lead to,
/// by the Service's `namespace/name` (Contour's envoy Service).
pub(crate) fn read(
    objects: &[(&str, &Node)],
    workloads: &mut [Workload],
    out: &mut Facts,
) -> HashMap<String, usize> {
    let mut by_service: HashMap<String, usize> = HashMap::default();
    let of_kind = |k: &'static str| {
        objects
            .iter()
            .copied()
            .filter(move |(_, o)| kind_of(o) == k)
    };

    // Istio: gateway workloads (their annotation), then EnvoyFilters.
    for w in workloads.iter_mut() {
        if let Some(at) = w.istio_topology.clone() {
            w.mesh = Some(MeshProfile {
                expects: Expects::Header,
                trust: Trust::Anyone,
                at,
                fix: "istio-gateway-proxy-protocol",
                what: "Istio gateway",
            });
        } else if w.is_istio_gateway() {
            w.mesh = Some(MeshProfile {
                expects: Expects::Nothing,
                trust: Trust::Unused,
                at: w.at.clone(),
                fix: "istio-gateway-proxy-protocol",
                what: "Istio gateway",
            });
        }
    }
    for (file, f) in of_kind("EnvoyFilter") {
        let what = format!("EnvoyFilter {}", name_of(f));
        let Some((expects, at, port)) = envoy_filter(file, f) else {
            out.skipped(Loc::new(file, f.line), what, SkipReason::NotAboutProxy);
            continue;
        };
        out.used(Loc::new(file, f.line), what.clone());
        let selector: Vec<(String, String)> = f
            .path(&["spec", "workloadSelector", "labels"])
            .map(Node::entries)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|(k, v)| Some((k.str()?.to_string(), v.str()?.to_string())))
            .collect();
        // Envoy's filter has no trust list: required or optional, the
        // header is taken from any peer that reaches the port.
        let trust = Trust::Anyone;
        let mut applied = false;
        for w in workloads.iter_mut().filter(|w| w.selected_by(&selector)) {
            w.mesh = Some(MeshProfile {
                expects,
                trust: trust.clone(),
                at: at.clone(),
                fix: "istio-gateway-proxy-protocol",
                what: "Istio gateway",
            });
            applied = true;
        }
        if !applied {
            let sel: Vec<String> = selector.iter().map(|(k, v)| format!("{k}={v}")).collect();
            out.hops.push(Hop {
                name: format!(
                    "Istio gateway ({what}{})",
                    if sel.is_empty() {
                        String::new()
                    } else {
                        format!(", workloads {}", sel.join(","))
                    }
                )
                .into(),
                role: Role::Ingress,
                kind: Kind::Kubernetes,
                at: Loc::new(file, f.line),
                listeners: vec![envoy_listener(
                    port,
                    expects,
                    trust,
                    at,
                    "istio-gateway-proxy-protocol",
                )],
                upstreams: Vec::new(),
            });
        }
    }

    // Contour: ContourConfiguration's envoy listener.
    for (file, c) in of_kind("ContourConfiguration") {
        let spec = c.get("spec");
        let use_pp = spec.and_then(|s| s.path(&["envoy", "listener", "useProxyProtocol"]));
        let on = text(use_pp) == Some("true");
        let at = Loc::new(file, use_pp.map_or(c.line, |n| n.line));
        let port = |k: &str, d: u16| {
            text(spec.and_then(|s| s.path(&["envoy", k, "port"])))
                .and_then(|p| p.parse().ok())
                .unwrap_or(d)
        };
        let (expects, trust) = if on {
            (Expects::Header, Trust::Anyone)
        } else {
            (Expects::Nothing, Trust::Unused)
        };
        let hop = out.hops.len();
        out.used(
            Loc::new(file, c.line),
            format!("ContourConfiguration {}", name_of(c)),
        );
        out.hops.push(Hop {
            name: format!("Contour Envoy (ContourConfiguration {})", name_of(c)).into(),
            role: Role::Ingress,
            kind: Kind::Kubernetes,
            at: Loc::new(file, c.line),
            listeners: [port("http", 8080), port("https", 8443)]
                .into_iter()
                .map(|p| {
                    envoy_listener(
                        Some(p),
                        expects,
                        trust.clone(),
                        at.clone(),
                        "contour-use-proxy-protocol",
                    )
                })
                .collect(),
            upstreams: Vec::new(),
        });
        let svc = spec.and_then(|s| s.path(&["envoy", "service"]));
        let svc_name = text(svc.and_then(|s| s.get("name"))).unwrap_or("envoy");
        by_service.insert(svc_name.to_string(), hop);
    }

    // Gateway API.
    let classes: HashMap<String, (Option<String>, Option<String>)> = of_kind("GatewayClass")
        .map(|(_, c)| {
            (
                name_of(c),
                (
                    text(c.path(&["spec", "controllerName"])).map(str::to_string),
                    text(c.path(&["spec", "parametersRef", "name"])).map(str::to_string),
                ),
            )
        })
        .collect();
    let mut reads: HashMap<String, Vec<Reads>> = HashMap::default();
    for (file, p) in of_kind("ClientTrafficPolicy") {
        let spec = p.get("spec");
        let pp = spec.and_then(|s| s.get("proxyProtocol"));
        let legacy = spec.and_then(|s| s.get("enableProxyProtocol"));
        let (expects, at) = match (pp, text(legacy)) {
            (Some(pp), _) => {
                let optional = text(pp.get("optional")) == Some("true");
                (
                    if optional {
                        Expects::Optional
                    } else {
                        Expects::Header
                    },
                    Loc::new(file, pp.line),
                )
            }
            (None, Some("true")) => (
                Expects::Header,
                Loc::new(file, legacy.map_or(p.line, |n| n.line)),
            ),
            _ => {
                out.skipped(
                    Loc::new(file, p.line),
                    format!("ClientTrafficPolicy {}", name_of(p)),
                    SkipReason::NoProxySettings,
                );
                continue;
            }
        };
        out.used(
            Loc::new(file, p.line),
            format!("ClientTrafficPolicy {}", name_of(p)),
        );
        // Envoy's filter has no trust list: required or optional, the
        // header is taken from any peer that reaches the port.
        let trust = Trust::Anyone;
        for (kind, name, section) in targets(p) {
            if kind == "Gateway" {
                reads.entry(name).or_default().push(Reads {
                    expects,
                    trust: trust.clone(),
                    at: at.clone(),
                    section,
                });
            }
        }
    }
    // BackendTrafficPolicy proxyProtocol.version: the gateway sends a
    // header to the backends of what it targets.
    let mut sends: HashMap<String, (Header, Loc)> = HashMap::default();
    for (file, p) in of_kind("BackendTrafficPolicy") {
        let v = p.path(&["spec", "proxyProtocol", "version"]);
        let h = match text(v) {
            Some("V1") => Header::V1,
            Some("V2") => Header::V2,
            _ => {
                out.skipped(
                    Loc::new(file, p.line),
                    format!("BackendTrafficPolicy {}", name_of(p)),
                    SkipReason::NoProxySettings,
                );
                continue;
            }
        };
        out.used(
            Loc::new(file, p.line),
            format!("BackendTrafficPolicy {}", name_of(p)),
        );
        for (kind, name, _) in targets(p) {
            let at = Loc::new(file, v.map_or(p.line, |n| n.line));
            sends.insert(format!("{kind}/{name}"), (h, at));
        }
    }
    let envoy_proxies: HashMap<String, &Node> = of_kind("EnvoyProxy")
        .map(|(_, o)| (name_of(o), o))
        .collect();
    let nginx_proxies: HashMap<String, &Node> = of_kind("NginxProxy")
        .map(|(_, o)| (name_of(o), o))
        .collect();
    for k in ["EnvoyProxy", "NginxProxy", "GatewayClass"] {
        for (file, o) in of_kind(k) {
            out.used(Loc::new(file, o.line), format!("{k} {}", name_of(o)));
        }
    }
    for (file, g) in of_kind("Gateway") {
        let spec = g.get("spec");
        let class = text(spec.and_then(|s| s.get("gatewayClassName"))).unwrap_or("");
        let (controller, class_params) = classes.get(class).cloned().unwrap_or((None, None));
        let name = name_of(g);
        let what = format!("Gateway {name}");
        let Some(row) = implementation(controller.as_deref(), class) else {
            out.skipped(
                Loc::new(file, g.line),
                format!("{what} (class {class})"),
                SkipReason::NotRead,
            );
            continue;
        };
        out.used(Loc::new(file, g.line), format!("{what} ({})", row.name));
        let params = text(spec.and_then(|s| s.path(&["infrastructure", "parametersRef", "name"])))
            .map(str::to_string)
            .or(class_params);
        // What the implementation's own settings say for every listener.
        let mut base: Option<Reads> = None;
        if row.name == "NGINX Gateway Fabric" {
            if let Some(np) = params.as_deref().and_then(|p| nginx_proxies.get(p)) {
                let rw = np.path(&["spec", "rewriteClientIP"]);
                if text(rw.and_then(|r| r.get("mode"))) == Some("ProxyProtocol") {
                    let at = Loc::new(file, rw.map_or(np.line, |n| n.line));
                    let list: Vec<String> = rw
                        .and_then(|r| r.get("trustedAddresses"))
                        .map(Node::items)
                        .unwrap_or(&[])
                        .iter()
                        .filter_map(|a| text(a.get("value")).map(str::to_string))
                        .collect();
                    base = Some(Reads {
                        expects: Expects::Header,
                        trust: k8s::sources(&list.join(","), at.clone()),
                        at,
                        section: None,
                    });
                }
            }
        }
        if row.name == "Istio" {
            if let Some(at) = istio_topology(file, g.path(&["metadata", "annotations"])) {
                base = Some(Reads {
                    expects: Expects::Header,
                    trust: Trust::Anyone,
                    at,
                    section: None,
                });
            }
        }
        let policies = reads.get(&name).cloned().unwrap_or_default();
        let listeners: Vec<Listener> = spec
            .and_then(|s| s.get("listeners"))
            .map(Node::items)
            .unwrap_or(&[])
            .iter()
            .map(|l| {
                let lname = text(l.get("name")).unwrap_or("");
                let port = text(l.get("port")).and_then(|p| p.parse().ok());
                // A listener's own policy before the Gateway's.
                let r = policies
                    .iter()
                    .find(|r| r.section.as_deref() == Some(lname))
                    .or_else(|| policies.iter().find(|r| r.section.is_none()))
                    .or(base.as_ref());
                match r {
                    Some(r) => Listener {
                        host: None,
                        port,
                        expects: r.expects,
                        passthrough: false,
                        refuses: None,
                        ssl: text(l.get("protocol")) == Some("HTTPS"),
                        trust: r.trust.clone(),
                        fix: row.fix,
                        at: r.at.clone(),
                    },
                    None => Listener {
                        host: None,
                        port,
                        expects: Expects::Nothing,
                        passthrough: false,
                        refuses: None,
                        ssl: text(l.get("protocol")) == Some("HTTPS"),
                        trust: Trust::Unused,
                        fix: row.fix,
                        at: Loc::new(file, l.line),
                    },
                }
            })
            .collect();
        let ports: Vec<u16> = listeners.iter().filter_map(|l| l.port).collect();
        let upstreams: Vec<Upstream> = sends
            .get(&format!("Gateway/{name}"))
            .map(|(h, at)| Upstream {
                host: None,
                port: None,
                sends: *h,
                source: None,
                from_port: None,
                fix: "envoy-gateway-backend-proxy-protocol",
                at: at.clone(),
            })
            .into_iter()
            .collect();
        let hop = out.hops.len();
        out.ingresses.push(k8s::IngressFacts {
            hop,
            controller: row.controller,
            forwarded: None,
            wants_client_ip: None,
        });
        out.hops.push(Hop {
            name: format!("{what} ({})", row.name).into(),
            role: Role::Ingress,
            kind: Kind::Kubernetes,
            at: Loc::new(file, g.line),
            listeners,
            upstreams,
        });
        // Envoy Gateway's own Service, when its EnvoyProxy says how it is made.
        if row.name == "Envoy Gateway" {
            if let Some(ep) = params.as_deref().and_then(|p| envoy_proxies.get(p)) {
                let svc = ep.path(&["spec", "provider", "kubernetes", "envoyService"]);
                let ty = text(svc.and_then(|s| s.get("type"))).unwrap_or("LoadBalancer");
                if svc.is_some() && ty == "LoadBalancer" {
                    k8s::load_balancer(
                        file,
                        LbService {
                            name: format!("EnvoyProxy {} envoyService", name_of(ep)),
                            at: Loc::new(file, svc.map_or(ep.line, |s| s.line)),
                            annotations: svc.and_then(|s| s.get("annotations")),
                            class: text(svc.and_then(|s| s.get("loadBalancerClass")))
                                .map(str::to_string),
                            policy: svc.and_then(|s| s.get("externalTrafficPolicy")),
                            ports: ports.iter().map(|p| (*p, None, Some(*p))).collect(),
                            hairpin: Vec::new(),
                            ips: Vec::new(),
                            targets: vec![hop],
                        },
                        out,
                    );
                }
            }
        }
    }
    for k in [
        "HTTPRoute",
        "TCPRoute",
        "TLSRoute",
        "GRPCRoute",
        "ReferenceGrant",
    ] {
        for (file, o) in of_kind(k) {
            out.skipped(
                Loc::new(file, o.line),
                format!("{k} {}", name_of(o)),
                SkipReason::NotAboutProxy,
            );
        }
    }
    by_service
}

/// An Envoy listener (Istio, Contour, Envoy Gateway): the proxy_protocol
/// filter has no trust list; a required header is taken from any peer
/// that reaches the port (`spoofable`, as HAProxy's `accept-proxy`
/// without a source list).
fn envoy_listener(
    port: Option<u16>,
    expects: Expects,
    trust: Trust,
    at: Loc,
    fix: &'static str,
) -> Listener {
    Listener {
        host: None,
        port,
        expects,
        passthrough: false,
        refuses: None,
        ssl: false,
        trust: if expects == Expects::Nothing {
            Trust::Unused
        } else {
            trust
        },
        fix,
        at,
    }
}

/// A hop for a workload with a mesh profile (an Istio gateway), listening
/// on the ports a Service targets (or its container ports).
pub(crate) fn mesh_hop(w: &Workload, ports: &[u16], out: &mut Facts) -> usize {
    let Some(m) = &w.mesh else {
        return super::workloads::image_hop(w, ports, out);
    };
    let ports: Vec<u16> = if ports.is_empty() {
        w.ports.iter().map(|(_, p)| *p).collect()
    } else {
        ports.to_vec()
    };
    let hop = out.hops.len();
    out.hops.push(Hop {
        name: format!("{} {}", m.what, w.name).into(),
        role: Role::Ingress,
        kind: Kind::Kubernetes,
        at: w.at.clone(),
        listeners: if ports.is_empty() {
            vec![envoy_listener(
                None,
                m.expects,
                m.trust.clone(),
                m.at.clone(),
                m.fix,
            )]
        } else {
            ports
                .iter()
                .map(|p| envoy_listener(Some(*p), m.expects, m.trust.clone(), m.at.clone(), m.fix))
                .collect()
        },
        upstreams: Vec::new(),
    });
    hop
}
