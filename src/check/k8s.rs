//! Kubernetes YAML (objects, many documents, `kind: List`) and the
//! ingress-nginx chart's Helm values: the ingress controller's ConfigMap
//! keys and the load balancer Services with their PROXY annotations.

use super::platforms::{self, Controller, Lb, ProxyValue, LB_CLASSES, LB_KINDS, PROXY_ANNOTATIONS};
use rustc_hash::FxHashMap as HashMap;

use super::workloads::{self, Workload};
use super::yaml::Node;
use super::{
    Assumption, Facts, Found, Header, Hop, Kind, Listener, Loc, Role, SkipReason, Trust, Upstream,
};
use crate::judge::{fixes, Expects, Finding};

/// What the chain's rules need to know about a Service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ServiceFacts {
    /// Its hop (a load balancer); `None` for a NodePort Service, which only
    /// maps ports to the ingress.
    pub hop: Option<usize>,
    pub name: String,
    pub lb: Lb,
    pub sends: Header,
    /// `externalTrafficPolicy: Local`.
    pub local: bool,
    pub policy_at: Loc,
    /// `status.loadBalancer.ingress` IPs without `ipMode: Proxy`: in-cluster
    /// clients to them skip the load balancer.
    pub hairpin: Vec<(String, Loc)>,
    /// (port, nodePort, the ingress port it leads to).
    pub ports: Vec<(u16, Option<u16>, Option<u16>)>,
    /// The addresses clients use (status IPs, `loadBalancerIP`).
    pub ips: Vec<String>,
    /// The hops of the workloads its selector picks (their mounted
    /// configuration, or their image), when the input holds them: the load
    /// balancer sends there, not to the ingress controller.
    pub targets: Vec<usize>,
    /// The load balancer sends to the pods themselves, not to a node port.
    pub pod_targets: Option<PodTargets>,
}

/// A load balancer that sends to the pods' addresses (an AWS NLB with IP
/// targets): no node port and no kube-proxy on the path, so
/// `externalTrafficPolicy` does not decide whether the client address
/// arrives; the load balancer does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PodTargets {
    /// Whether it keeps the client's address as the source.
    pub keeps_client: bool,
    pub at: Loc,
}

/// An NLB of the AWS Load Balancer Controller with IP targets
/// (`aws-load-balancer-nlb-target-type: ip`, or the older
/// `aws-load-balancer-type: nlb-ip`). Its TCP and TLS target groups of IP
/// type do not keep the client address unless
/// `preserve_client_ip.enabled=true` (AWS: "IP type target groups (TCP,
/// TLS): Disabled" by default): the pod sees the NLB's private address.
fn pod_targets(file: &str, lb: Lb, annotations: Option<&Node>) -> Option<PodTargets> {
    use platforms::When;
    let get = |k: &str| annotations.and_then(|a| a.get(k));
    let is = |n: Option<&Node>, w: When| n.and_then(Node::str).is_some_and(|v| w.matches(v));
    if lb != Lb::AwsNlbController {
        return None;
    }
    let target = get("service.beta.kubernetes.io/aws-load-balancer-nlb-target-type");
    let ty = get("service.beta.kubernetes.io/aws-load-balancer-type");
    let at = if is(target, When::Is("ip")) {
        target?
    } else if target.is_none() && is(ty, When::Is("nlb-ip")) {
        ty?
    } else {
        return None;
    };
    let keeps_client = is(
        get("service.beta.kubernetes.io/aws-load-balancer-target-group-attributes"),
        When::ListHas("preserve_client_ip.enabled=true"),
    );
    Some(PodTargets {
        keeps_client,
        at: Loc::new(file, at.line),
    })
}

/// An annotation value the cloud controller refuses (`what` says which and
/// why): it reports an error event on the Service and configures nothing
/// from it, so what the load balancer sends is not judged.
fn refused_by_controller(at: Loc, hop: &str, what: String, doc: &str) -> Assumption {
    Assumption {
        at,
        hop: hop.into(),
        text: format!(
            "{what}: the cloud controller refuses the Service (an error event) and does not configure the load balancer from it, so what it sends is not judged ({doc})"
        )
        .into(),
    }
}

/// What the chain's rules need to know about an ingress controller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct IngressFacts {
    pub hop: usize,
    pub controller: &'static Controller,
    /// `use-forwarded-headers: "true"`.
    pub forwarded: Option<Loc>,
    /// A setting that shows the client address matters (`enable-real-ip`,
    /// a trust list).
    pub wants_client_ip: Option<Loc>,
}

/// One entry of ingress-nginx's TCP services:
/// `"PORT": "namespace/service:port[:PROXY][:PROXY]"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TcpService {
    pub port: u16,
    pub target: String,
    pub target_port: Option<u16>,
    /// The first PROXY: read a header from the sender in front.
    pub decode: bool,
    /// The second PROXY: send one to the service.
    pub encode: bool,
    pub at: Loc,
}

pub(crate) fn tcp_services(file: &str, data: Option<&Node>, out: &mut Facts) {
    for (k, v) in data.map(|d| d.entries()).unwrap_or_default() {
        let (Some(port), Some(value)) = (k.str().and_then(|p| p.parse().ok()), v.str()) else {
            continue;
        };
        let mut parts = value.split(':');
        let target = parts.next().unwrap_or("").to_string();
        let target_port = parts.next().and_then(|p| p.parse().ok());
        let decode = parts.next() == Some("PROXY");
        let encode = parts.next() == Some("PROXY");
        out.tcp_services.push(TcpService {
            port,
            target,
            target_port,
            decode,
            encode,
            at: Loc::new(file, k.line),
        });
    }
}

/// ingress-nginx's UDP services (the udp-services ConfigMap, the chart's
/// `udp:` map) take the same `namespace/service:port[:PROXY][:PROXY]`
/// format, but only TCP servers get `proxy_protocol`: PROXY fields on a UDP
/// entry do nothing.
pub(crate) fn udp_services(file: &str, data: Option<&Node>, hop: &str, out: &mut Facts) {
    for (k, v) in data.map(|d| d.entries()).unwrap_or_default() {
        let (Some(port), Some(value)) = (k.str(), v.str()) else {
            continue;
        };
        if !value.split(':').skip(2).any(|f| f == "PROXY") {
            continue;
        }
        out.found.push(Found {
            finding: Finding::IgnoredSetting,
            at: Loc::new(file, k.line),
            hop: hop.to_string().into(),
            message: format!(
                "UDP service {port} (\"{value}\"): the PROXY fields apply to TCP services only; ingress-nginx's UDP servers neither read nor send a PROXY header"
            ),
            fix: Some(fixes::get("ingress-nginx-udp-services-no-proxy")),
        });
    }
}

fn text(n: Option<&Node>) -> Option<String> {
    n.and_then(Node::str).map(str::to_string)
}

fn line(file: &str, n: Option<&Node>, or: usize) -> Loc {
    Loc::new(file, n.map_or(or, |n| n.line))
}

/// Read the Kubernetes objects of every input together: a policy in one
/// file applies to a Gateway in another, a Service to a Deployment.
pub(crate) fn objects(files: &[(String, Vec<Node>)], out: &mut Facts) {
    let mut objects: Vec<(&str, &Node)> = Vec::new();
    for (file, docs) in files {
        for doc in docs {
            let mut flat = Vec::new();
            flatten(doc, &mut flat);
            objects.extend(flat.into_iter().map(|o| (file.as_str(), o)));
        }
    }
    let kind_of = |o: &Node| o.get("kind").and_then(Node::str).unwrap_or("").to_string();
    let mut workloads: Vec<Workload> = objects
        .iter()
        .filter(|(_, o)| {
            matches!(
                kind_of(o).as_str(),
                "Deployment" | "DaemonSet" | "StatefulSet"
            )
        })
        .map(|(f, o)| Workload::read(f, o, format!("{} {}", kind_of(o), meta_name(o))))
        .collect();
    let configmaps: Vec<(&str, &Node)> = objects
        .iter()
        .copied()
        .filter(|(_, o)| kind_of(o) == "ConfigMap")
        .collect();
    let by_cm = workloads::configmap_configs(&configmaps, &workloads, out);
    let by_service = super::gateway::read(&objects, &mut workloads, out);
    let mut ctx = Ctx {
        workloads: &workloads,
        by_cm: &by_cm,
        by_service: &by_service,
        image_hops: HashMap::default(),
    };
    for (file, o) in objects {
        object(file, o, &mut ctx, out);
    }
    // Mesh gateways no Service of the input picks: a hop all the same.
    for (i, w) in workloads.iter().enumerate() {
        if w.mesh.is_some() && !ctx.image_hops.contains_key(&i) {
            let hop = super::gateway::mesh_hop(w, &[], out);
            ctx.image_hops.insert(i, hop);
        }
    }
}

/// Every object of a document: itself, or a `kind: List`'s items.
fn flatten<'a>(doc: &'a Node, out: &mut Vec<&'a Node>) {
    let kind = doc.get("kind").and_then(Node::str).unwrap_or("");
    if kind == "List" || kind.ends_with("List") && doc.get("items").is_some() {
        for item in doc.get("items").map(Node::items).unwrap_or(&[]) {
            flatten(item, out);
        }
    } else {
        out.push(doc);
    }
}

/// What reading one object needs of the others.
struct Ctx<'a> {
    workloads: &'a [Workload],
    /// The hops each ConfigMap's configuration gave.
    by_cm: &'a HashMap<String, Vec<usize>>,
    /// The hops a controller's settings name a Service for (Contour's
    /// envoy Service), by the Service's name.
    by_service: &'a HashMap<String, usize>,
    /// The hop made for a workload's image, by workload.
    image_hops: HashMap<usize, usize>,
}

fn object(file: &str, doc: &Node, ctx: &mut Ctx<'_>, out: &mut Facts) {
    let kind = doc.get("kind").and_then(Node::str).unwrap_or("");
    match kind {
        "ConfigMap" => configmap(file, doc, out),
        "Service" => service(file, doc, ctx, out),
        "HelmRelease" | "HelmChartConfig" | "HelmChart" | "Application" => {
            super::helm::wrapped(file, doc, out)
        }
        "Deployment" | "DaemonSet" | "StatefulSet" => workload(file, doc, out),
        // Read by `gateway::read`.
        ""
        | "GatewayClass"
        | "Gateway"
        | "ClientTrafficPolicy"
        | "BackendTrafficPolicy"
        | "EnvoyProxy"
        | "NginxProxy"
        | "ContourConfiguration"
        | "EnvoyFilter"
        | "HTTPRoute"
        | "TCPRoute"
        | "TLSRoute"
        | "GRPCRoute"
        | "ReferenceGrant" => {}
        other => out.skipped(
            Loc::new(file, doc.line),
            format!("{other} {}", meta_name(doc)),
            SkipReason::NotRead,
        ),
    }
}

/// The controller's flags: `--enable-ssl-passthrough`.
fn workload(file: &str, doc: &Node, out: &mut Facts) {
    let what = format!(
        "{} {}",
        doc.get("kind").and_then(Node::str).unwrap_or("Deployment"),
        meta_name(doc)
    );
    let before = out.ssl_passthrough.clone();
    let containers = doc
        .path(&["spec", "template", "spec", "containers"])
        .map(Node::items)
        .unwrap_or(&[]);
    let mut traefik = false;
    for c in containers {
        let args = c.get("args").map(Node::items).unwrap_or(&[]);
        for a in args {
            let flag = a.str().unwrap_or("");
            if flag == "--enable-ssl-passthrough" || flag == "--enable-ssl-passthrough=true" {
                out.ssl_passthrough = Some(Loc::new(file, a.line));
            }
        }
        // Traefik configured by its CLI flags (plain manifests, `helm
        // template` output): its entry points, as the chart's
        // additionalArguments are read.
        let eps = super::traefik::args_entry_points(file, args);
        if !eps.is_empty() {
            let line = c.key_line("args").unwrap_or(c.line);
            super::traefik::ingress(file, &format!("traefik ({what} args)"), &eps, line, out);
            traefik = true;
        }
    }
    if traefik {
        out.used(
            Loc::new(file, doc.line),
            format!("{what} (Traefik entry points in its args)"),
        );
    } else if out.ssl_passthrough != before {
        out.used(Loc::new(file, doc.line), what);
    } else {
        out.skipped(Loc::new(file, doc.line), what, SkipReason::NoProxySettings);
    }
}

fn meta_name(doc: &Node) -> String {
    let name = text(doc.path(&["metadata", "name"])).unwrap_or_default();
    match text(doc.path(&["metadata", "namespace"])) {
        Some(ns) => format!("{ns}/{name}"),
        None => name,
    }
}

/// The controller settings are for, from keys only one of them has.
pub(crate) fn controller_by_keys(data: Option<&Node>) -> Option<&'static Controller> {
    let has = |k: &&str| data.and_then(|d| d.get(k)).is_some();
    // haproxytech's `proxy-protocol` holds sources; NGINX Inc's a boolean.
    let proxy_sources = data
        .and_then(|d| d.get("proxy-protocol"))
        .and_then(Node::str)
        .is_some_and(|v| {
            v.split([',', ' '])
                .any(|s| super::nginx::net(s.trim()).is_some())
        });
    const HAPROXYTECH: [&str; 8] = [
        "syslog-server",
        "forwarded-for",
        "scale-server-slots",
        "frontend-config-snippet",
        "global-config-snippet",
        "backend-config-snippet",
        "load-balance",
        "src-ip-header",
    ];
    const HAPROXY_INGRESS: [&str; 8] = [
        "syslog-endpoint",
        "syslog-format",
        "config-frontend",
        "config-backend",
        "config-global",
        "balance-algorithm",
        "backend-server-slots-increment",
        "forwardfor",
    ];
    const NGINX_INC: [&str; 2] = ["real-ip-header", "set-real-ip-from"];
    const INGRESS_NGINX: [&str; 9] = [
        "use-proxy-protocol",
        "proxy-real-ip-cidr",
        "use-forwarded-headers",
        "compute-full-forwarded-for",
        "enable-real-ip",
        "forwarded-for-header",
        "proxy-protocol-header-timeout",
        "allow-snippet-annotations",
        "http-snippet",
    ];
    if proxy_sources || HAPROXYTECH.iter().any(has) {
        Some(&platforms::HAPROXYTECH)
    } else if HAPROXY_INGRESS.iter().any(has) {
        Some(&platforms::HAPROXY_INGRESS)
    } else if NGINX_INC.iter().any(has) || has(&"proxy-protocol") {
        Some(&platforms::NGINX_INC)
    } else if INGRESS_NGINX.iter().any(has) {
        Some(&platforms::INGRESS_NGINX)
    } else {
        None
    }
}

/// The controller a ConfigMap configures, from its name, labels or keys.
fn controller_of(doc: &Node) -> Option<&'static Controller> {
    let name = text(doc.path(&["metadata", "name"])).unwrap_or_default();
    if name.contains("tcp-services") || name.contains("udp-services") || name == "kube-root-ca.crt"
    {
        return None;
    }
    let label = text(doc.path(&["metadata", "labels", "app.kubernetes.io/name"]))
        .or_else(|| text(doc.path(&["metadata", "labels", "app"])))
        .unwrap_or_default();
    let named = |n: &str| label == n || name.contains(n);
    if named("kubernetes-ingress") || named("haproxy-kubernetes-ingress") {
        return Some(&platforms::HAPROXYTECH);
    }
    if named("haproxy-ingress") {
        return Some(&platforms::HAPROXY_INGRESS);
    }
    controller_by_keys(doc.get("data")).or_else(|| {
        (named("ingress-nginx") || name == "nginx-configuration")
            .then_some(&platforms::INGRESS_NGINX)
    })
}

fn configmap(file: &str, doc: &Node, out: &mut Facts) {
    let name = text(doc.path(&["metadata", "name"])).unwrap_or_default();
    let what = format!("ConfigMap {}", meta_name(doc));
    let here = Loc::new(file, doc.line);
    if name.contains("tcp-services") {
        out.used(here, what);
        tcp_services(file, doc.get("data"), out);
        return;
    }
    if name.contains("udp-services") {
        out.used(here, what);
        let hop = format!("ingress-nginx ConfigMap {}", meta_name(doc));
        udp_services(file, doc.get("data"), &hop, out);
        return;
    }
    let Some(c) = controller_of(doc) else {
        out.skipped(here, what, SkipReason::NoProxySettings);
        return;
    };
    out.used(here, what);
    let name = format!("{} ConfigMap {}", c.name, meta_name(doc));
    let at = Loc::new(
        file,
        doc.key_line("data")
            .or(doc.key_line("metadata"))
            .unwrap_or(doc.line),
    );
    ingress(file, name, c, doc.get("data"), at, out);
}

/// A boolean as Go's `strconv.ParseBool` reads it (ingress-nginx and the
/// HAProxy controllers parse their keys so).
pub(crate) fn is_true(v: &str) -> bool {
    matches!(v.trim(), "1" | "t" | "T" | "true" | "TRUE" | "True")
}

/// A list of sources (CIDRs or addresses, separated by commas or spaces):
/// whose header is taken. Empty or `0.0.0.0/0`: anyone's.
pub(crate) fn sources(list: &str, at: Loc) -> Trust {
    let nets: Vec<ipnet::IpNet> = list
        .split([',', ' '])
        .filter_map(|s| super::nginx::net(s.trim()))
        .collect();
    if nets.is_empty() || nets.iter().any(|n| n.prefix_len() == 0) {
        Trust::Anyone
    } else {
        Trust::List(nets.into(), at)
    }
}

/// The ingress controller's hop, from its settings (ConfigMap data or the
/// chart's `controller.config`), listening on :80 and :443; its index.
pub(crate) fn ingress(
    file: &str,
    name: String,
    c: &'static Controller,
    data: Option<&Node>,
    at: Loc,
    out: &mut Facts,
) -> usize {
    let key = |k: &str| data.and_then(|d| d.get(k));
    let on = |k: &str| text(key(k)).is_some_and(|v| is_true(&v));
    let proxy = key(c.proxy_key);
    let expect_at = line(file, proxy, at.line);
    let trust_node = c.trust_key.and_then(key);
    let (expects, mut trust) = match c.proxy_value {
        ProxyValue::Bool if on(c.proxy_key) => (
            Expects::Header,
            match text(trust_node) {
                Some(list) => sources(&list, line(file, trust_node, at.line)),
                None => Trust::Anyone,
            },
        ),
        ProxyValue::Sources => match text(proxy).filter(|v| !v.trim().is_empty()) {
            Some(list) => (Expects::Header, sources(&list, expect_at.clone())),
            None => (Expects::Nothing, Trust::Unused),
        },
        ProxyValue::Bool => (Expects::Nothing, Trust::Unused),
    };
    if let Some(k) = c.real_ip_header_key {
        if text(key(k)).as_deref() != Some("proxy_protocol") {
            trust = Trust::Unused;
        }
    }
    let listeners = [80, 443]
        .into_iter()
        .map(|port| Listener {
            host: None,
            port: Some(port),
            expects,
            passthrough: false,
            refuses: None,
            ssl: port == 443,
            trust: if expects == Expects::Header {
                trust.clone()
            } else {
                Trust::Unused
            },
            fix: c.fix,
            at: expect_at.clone(),
        })
        .collect();
    let forwarded = c
        .forwarded_key
        .filter(|k| on(k))
        .map(|k| line(file, key(k), at.line));
    let wants = if on("enable-real-ip") {
        Some(line(file, key("enable-real-ip"), at.line))
    } else {
        trust_node.map(|n| Loc::new(file, n.line))
    };
    let hop = out.hops.len();
    out.ingresses.push(IngressFacts {
        hop,
        controller: c,
        forwarded,
        wants_client_ip: wants,
    });
    out.hops.push(Hop {
        name: name.into(),
        role: Role::Ingress,
        kind: Kind::Kubernetes,
        at,
        listeners,
        upstreams: Vec::new(),
    });
    hop
}

/// Which load balancer the annotations ask for.
fn lb_of(annotations: Option<&Node>, class: Option<String>) -> Lb {
    if let Some(c) = class {
        if let Some((_, lb)) = LB_CLASSES.iter().find(|(k, _)| *k == c) {
            return *lb;
        }
    }
    for row in LB_KINDS {
        if let Some(v) = annotations.and_then(|a| a.get(row.key)).and_then(Node::str) {
            if row.when.matches(v) {
                return row.lb;
            }
        }
    }
    // Linode's per-port configuration annotations.
    let linode_port = annotations
        .map(Node::entries)
        .unwrap_or_default()
        .iter()
        .any(|(k, _)| {
            k.str()
                .is_some_and(|k| k.starts_with(platforms::LINODE_PORT_PREFIX))
        });
    if linode_port {
        return Lb::Linode;
    }
    Lb::Unknown
}

fn service(file: &str, doc: &Node, ctx: &mut Ctx<'_>, out: &mut Facts) {
    let spec = doc.get("spec");
    let ty = text(spec.and_then(|s| s.get("type"))).unwrap_or_else(|| "ClusterIP".into());
    let name = meta_name(doc);
    let selector: Vec<(String, String)> = spec
        .and_then(|s| s.get("selector"))
        .map(Node::entries)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|(k, v)| Some((k.str()?.to_string(), v.str()?.to_string())))
        .collect();
    let picked: Vec<usize> = (0..ctx.workloads.len())
        .filter(|&i| ctx.workloads[i].selected_by(&selector))
        .collect();
    let ports: Vec<(u16, Option<u16>, Option<u16>)> = spec
        .and_then(|s| s.get("ports"))
        .map(Node::items)
        .unwrap_or(&[])
        .iter()
        .filter_map(|p| {
            let port: u16 = text(p.get("port"))?.parse().ok()?;
            let node: Option<u16> = text(p.get("nodePort")).and_then(|n| n.parse().ok());
            let target = match text(p.get("targetPort")).as_deref() {
                // A named port of the workload it picks.
                Some(t)
                    if picked
                        .iter()
                        .any(|&i| ctx.workloads[i].port_named(t).is_some()) =>
                {
                    picked.iter().find_map(|&i| ctx.workloads[i].port_named(t))
                }
                Some("http") => Some(80),
                Some("https") => Some(443),
                Some(t) => t.parse().ok().or(Some(port)),
                None => Some(port),
            };
            Some((port, node, target))
        })
        .collect();
    let labels = doc.path(&["metadata", "labels"]);
    let label = |k: &str| labels.and_then(|l| l.get(k)).and_then(Node::str);
    let is_ingress = name.contains("ingress-nginx")
        || label("app.kubernetes.io/name") == Some("ingress-nginx")
        || picked
            .iter()
            .any(|&i| ctx.workloads[i].is_controller() || ctx.workloads[i].mesh.is_some());
    // Where it sends: the hops of the workloads it picks (their mounted
    // configuration, else their image's), unless one is a controller.
    let mut targets: Vec<usize> = Vec::new();
    let target_ports: Vec<u16> = ports.iter().filter_map(|p| p.2).collect();
    let plain = text(doc.path(&["metadata", "name"])).unwrap_or_default();
    if let Some(&hop) = ctx.by_service.get(&plain) {
        targets.push(hop);
    }
    for &i in &picked {
        if ctx.workloads[i].mesh.is_some() {
            let w = &ctx.workloads[i];
            let hop = *ctx
                .image_hops
                .entry(i)
                .or_insert_with(|| super::gateway::mesh_hop(w, &target_ports, out));
            targets.push(hop);
        }
    }
    if targets.is_empty() && !picked.iter().any(|&i| ctx.workloads[i].is_controller()) {
        for &i in &picked {
            let w = &ctx.workloads[i];
            let mounted: Vec<usize> = w
                .configmaps()
                .iter()
                .filter_map(|cm| ctx.by_cm.get(*cm))
                .flatten()
                .copied()
                .collect();
            if !mounted.is_empty() {
                targets.extend(mounted);
            } else if ty == "LoadBalancer" {
                let hop = *ctx
                    .image_hops
                    .entry(i)
                    .or_insert_with(|| workloads::image_hop(w, &target_ports, out));
                targets.push(hop);
            }
        }
    }
    let what = format!("Service {name}");
    let here = Loc::new(file, doc.line);
    if ty != "LoadBalancer" {
        if ty == "NodePort" && is_ingress {
            out.used(here, what);
            out.services.push(ServiceFacts {
                hop: None,
                name,
                lb: Lb::Unknown,
                sends: Header::None,
                local: false,
                policy_at: Loc::new(file, doc.line),
                hairpin: Vec::new(),
                ports,
                ips: Vec::new(),
                targets,
                pod_targets: None,
            });
        } else {
            out.skipped(here, what, SkipReason::NoLoadBalancer);
        }
        return;
    }
    out.used(here, what);
    let mut ips = Vec::new();
    let mut hairpin = Vec::new();
    for ing in doc
        .path(&["status", "loadBalancer", "ingress"])
        .map(Node::items)
        .unwrap_or(&[])
    {
        if let Some(ip) = text(ing.get("ip")) {
            if text(ing.get("ipMode")).as_deref() != Some("Proxy") {
                hairpin.push((ip.clone(), Loc::new(file, ing.line)));
            }
            ips.push(ip);
        }
    }
    if let Some(ip) = text(spec.and_then(|s| s.get("loadBalancerIP"))) {
        ips.push(ip);
    }
    let class = text(spec.and_then(|s| s.get("loadBalancerClass")));
    let policy = spec.and_then(|s| s.get("externalTrafficPolicy"));
    load_balancer(
        file,
        LbService {
            name: format!("Service {name}"),
            at: Loc::new(file, doc.line),
            annotations: doc.path(&["metadata", "annotations"]),
            class,
            policy,
            ports,
            hairpin,
            ips,
            targets,
        },
        out,
    );
}

pub(crate) struct LbService<'a> {
    pub name: String,
    pub at: Loc,
    pub annotations: Option<&'a Node>,
    pub class: Option<String>,
    pub policy: Option<&'a Node>,
    /// (port, node port, the port it targets).
    pub ports: Vec<(u16, Option<u16>, Option<u16>)>,
    pub hairpin: Vec<(String, Loc)>,
    pub ips: Vec<String>,
    /// The hops of the workloads it picks (see [`ServiceFacts::targets`]).
    pub targets: Vec<usize>,
}

/// A Service of type LoadBalancer: the hop, what it sends, and annotations
/// that do nothing where they stand.
pub(crate) fn load_balancer(file: &str, s: LbService<'_>, out: &mut Facts) {
    let lb = lb_of(s.annotations, s.class.clone());
    let hop_name = format!("{}, {}", lb.name(), s.name);
    let annotation = |k: &str| s.annotations.and_then(|a| a.get(k));
    // A value the cloud controller refuses: it reports an error on the
    // Service and configures nothing from it, so what the load balancer
    // sends is not known.
    let mut refused = false;
    for c in platforms::CHECKED {
        let Some(node) = annotation(c.key) else {
            continue;
        };
        let v = node.str().unwrap_or("");
        if !(c.accepts)(v) {
            refused = true;
            out.assumed.push(refused_by_controller(
                Loc::new(file, node.line),
                &hop_name,
                format!("{}: \"{v}\" is not {}", c.key, c.wants),
                c.doc,
            ));
        }
    }
    let mut sends = Header::None;
    let mut sends_at = s.at.clone();
    // `None`: every port; else only these Service ports send.
    let mut only: Option<Vec<u16>> = None;
    for row in PROXY_ANNOTATIONS {
        let Some(node) = annotation(row.key) else {
            continue;
        };
        let Some(v) = node.str() else { continue };
        if !row.when.matches(v) {
            continue;
        }
        let at = Loc::new(file, node.line);
        // A port list's own reading first: `"false"` or `""` turns nothing
        // on, and a value the controller refuses configures nothing.
        let selected = if row.port_list {
            match platforms::port_selection(v) {
                platforms::Ports::All => None,
                platforms::Ports::Only(list) if list.is_empty() => continue,
                platforms::Ports::Only(list) => Some(list),
                platforms::Ports::Invalid => {
                    out.assumed.push(Assumption {
                        at,
                        hop: hop_name.clone().into(),
                        text: format!(
                            "{}: \"{v}\" is neither a boolean, `*` nor a list of ports: the cloud controller refuses it and turns PROXY on nowhere ({})",
                            row.key, row.doc
                        )
                        .into(),
                    });
                    continue;
                }
            }
        } else {
            None
        };
        // Why the annotation does nothing here: another one it needs is
        // missing, or this load balancer ignores it.
        let missing = row.needs.filter(|(need, when, _)| {
            !annotation(need)
                .and_then(Node::str)
                .is_some_and(|g| when.matches(g))
        });
        let ignored = match missing {
            Some((need, _, without)) => Some(format!("does nothing without {need}: {without}")),
            None if row.ignored_on.contains(&lb) => Some(format!(
                "does nothing on this load balancer ({}): it sends no PROXY header",
                lb.name()
            )),
            None => None,
        };
        if let Some(why) = ignored {
            out.found.push(Found {
                finding: Finding::IgnoredSetting,
                at,
                hop: hop_name.clone().into(),
                message: format!("{}: \"{v}\" {why} ({})", row.key, row.doc),
                fix: Some(fixes::get(row.fix)),
            });
            continue;
        }
        sends = row
            .sends_on
            .iter()
            .find(|(l, _)| *l == lb)
            .map_or(row.sends, |(_, h)| *h);
        if row.port_list {
            only = selected;
        }
        sends_at = at;
    }
    let ports = if s.ports.is_empty() {
        vec![(80, None, Some(80)), (443, None, Some(443))]
    } else {
        s.ports.clone()
    };
    // Linode's per-port JSON: its `proxy-protocol` overrides the
    // service-wide value for that port (`getPortProxyProtocol`).
    let mut by_port: Vec<(u16, Header, Loc)> = Vec::new();
    for (port, ..) in &ports {
        let key = format!("{}{port}", platforms::LINODE_PORT_PREFIX);
        let Some(node) = annotation(&key) else {
            continue;
        };
        let at = Loc::new(file, node.line);
        match platforms::linode_port(node.str().unwrap_or("")) {
            Ok(Some(h)) => by_port.push((*port, h, at)),
            Ok(None) => {}
            Err(why) => {
                refused = true;
                out.assumed.push(refused_by_controller(
                    at,
                    &hop_name,
                    format!("{key}: {why}"),
                    platforms::LINODE_DOC,
                ));
            }
        }
    }
    // What each Service port sends, and the line that says so.
    let port_sends: Vec<(Header, Loc)> = ports
        .iter()
        .map(
            |(port, ..)| match by_port.iter().find(|(p, ..)| p == port) {
                Some((_, h, at)) => (*h, at.clone()),
                None => match &only {
                    Some(list) if !list.contains(port) => (Header::None, sends_at.clone()),
                    _ => (sends, sends_at.clone()),
                },
            },
        )
        .collect();
    let mut said: Vec<(Header, &Loc)> = Vec::new();
    for (h, at) in &port_sends {
        if *h == Header::None || said.contains(&(*h, at)) {
            continue;
        }
        said.push((*h, at));
        out.assumed.push(Assumption {
            at: at.clone(),
            hop: hop_name.clone().into(),
            text: format!(
                "sends a {} because its annotation says so: confirm what arrives with `ppctl listen` behind it, or `ppctl probe` on the ingress",
                h.name()
            ).into(),
        });
    }
    if lb == Lb::Azure && port_sends.iter().any(|(h, _)| *h != Header::None) {
        out.assumed.push(Assumption {
            at: sends_at.clone(),
            hop: hop_name.clone().into(),
            text: "Azure's PROXY v2 is the Private Link Service's: only connections through its private endpoints carry the header; clients of the load balancer's own frontend (in the VNet) arrive without one".into(),
        });
    }
    let sends = port_sends
        .iter()
        .map(|(h, _)| *h)
        .find(|h| *h != Header::None)
        .unwrap_or(Header::None);
    // A PROXY annotation of a platform check does not know: what the load
    // balancer sends is not known, so its links are not judged.
    let unknown = (sends == Header::None)
        .then(|| {
            s.annotations
                .map(Node::entries)
                .unwrap_or_default()
                .into_iter()
                .find(|(k, _)| {
                    k.str().is_some_and(|k| {
                        k.to_ascii_lowercase().contains("proxy")
                            && !PROXY_ANNOTATIONS.iter().any(|r| r.key == k)
                    })
                })
                .map(|(k, v)| {
                    (
                        k.str().unwrap_or("").to_string(),
                        v.str().unwrap_or("").to_string(),
                        k.line,
                    )
                })
        })
        .flatten();
    if let Some((key, value, line)) = &unknown {
        out.assumed.push(Assumption {
            at: Loc::new(file, *line),
            hop: hop_name.clone().into(),
            text: format!(
                "{key}: \"{value}\" is not an annotation check knows: what this load balancer sends is not judged (confirm with `ppctl listen` behind it)"
            )
            .into(),
        });
    }
    let listeners = ports
        .iter()
        .map(|(port, ..)| Listener {
            host: None,
            port: Some(*port),
            expects: Expects::Nothing,
            passthrough: true,
            refuses: None,
            ssl: false,
            trust: Trust::Unused,
            fix: "disable-at-sender",
            at: s.at.clone(),
        })
        .collect();
    let upstreams = ports
        .iter()
        .zip(&port_sends)
        .filter(|_| unknown.is_none() && !refused)
        .map(|((port, _, target), (h, at))| Upstream {
            host: None,
            port: *target,
            sends: *h,
            source: None,
            from_port: Some(*port),
            fix: platforms::enable_fix(lb),
            at: at.clone(),
        })
        .collect();
    let local = s.policy.and_then(Node::str).is_some_and(|p| p == "Local");
    out.services.push(ServiceFacts {
        hop: Some(out.hops.len()),
        name: s.name.clone(),
        lb,
        sends,
        local,
        policy_at: line(file, s.policy, s.at.line),
        hairpin: s.hairpin,
        ports,
        ips: s.ips,
        targets: s.targets,
        pod_targets: pod_targets(file, lb, s.annotations),
    });
    out.hops.push(Hop {
        name: hop_name.into(),
        role: Role::LoadBalancer,
        kind: Kind::Kubernetes,
        at: s.at,
        listeners,
        upstreams,
    });
}
