//! Kubernetes YAML (objects, many documents, `kind: List`) and the
//! ingress-nginx chart's Helm values: the ingress controller's ConfigMap
//! keys and the load balancer Services with their PROXY annotations.

use super::platforms::{self, Controller, Lb, LB_CLASSES, LB_KINDS, PROXY_ANNOTATIONS};
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

fn tcp_services(file: &str, data: Option<&Node>, out: &mut Facts) {
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
fn udp_services(file: &str, data: Option<&Node>, hop: &str, out: &mut Facts) {
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

/// Read one YAML input, Kubernetes objects or Helm values.
pub(crate) fn facts(file: &str, docs: &[Node], kind: Kind, out: &mut Facts) {
    for doc in docs {
        if kind == Kind::HelmValues {
            helm(file, doc, out);
        } else {
            object(file, doc, out);
        }
    }
}

fn object(file: &str, doc: &Node, out: &mut Facts) {
    let kind = doc.get("kind").and_then(Node::str).unwrap_or("");
    match kind {
        "List" | "ConfigMapList" | "ServiceList" | "DeploymentList" => {
            for item in doc.get("items").map(Node::items).unwrap_or(&[]) {
                object(file, item, out);
            }
        }
        "ConfigMap" => configmap(file, doc, out),
        "Service" => service(file, doc, out),
        "Deployment" | "DaemonSet" | "StatefulSet" => workload(file, doc, out),
        "" => {}
        "EnvoyFilter" if !mentions(doc, "proxy_protocol") => out.skipped(
            Loc::new(file, doc.line),
            format!("EnvoyFilter {}", meta_name(doc)),
            SkipReason::NotAboutProxy,
        ),
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
    for c in containers {
        for a in c.get("args").map(Node::items).unwrap_or(&[]) {
            let flag = a.str().unwrap_or("");
            if flag == "--enable-ssl-passthrough" || flag == "--enable-ssl-passthrough=true" {
                out.ssl_passthrough = Some(Loc::new(file, a.line));
            }
        }
    }
    if out.ssl_passthrough != before {
        out.used(Loc::new(file, doc.line), what);
    } else {
        out.skipped(Loc::new(file, doc.line), what, SkipReason::NoProxySettings);
    }
}

/// Whether any scalar under `n` holds `word`.
fn mentions(n: &Node, word: &str) -> bool {
    match &n.value {
        super::yaml::Value::Scalar(s) => s.contains(word),
        super::yaml::Value::Seq(v) => v.iter().any(|i| mentions(i, word)),
        super::yaml::Value::Map(p) => p
            .iter()
            .any(|(k, v)| mentions(k, word) || mentions(v, word)),
    }
}

fn meta_name(doc: &Node) -> String {
    let name = text(doc.path(&["metadata", "name"])).unwrap_or_default();
    match text(doc.path(&["metadata", "namespace"])) {
        Some(ns) => format!("{ns}/{name}"),
        None => name,
    }
}

/// The controller a ConfigMap configures, from its keys or its name.
fn controller_of(doc: &Node) -> Option<&'static Controller> {
    let name = text(doc.path(&["metadata", "name"])).unwrap_or_default();
    if name.contains("tcp-services") || name.contains("udp-services") || name == "kube-root-ca.crt"
    {
        return None;
    }
    let data = doc.get("data");
    let has = |k: &str| data.and_then(|d| d.get(k)).is_some();
    if ["proxy-protocol", "real-ip-header", "set-real-ip-from"]
        .iter()
        .any(|k| has(k))
    {
        return Some(&platforms::NGINX_INC);
    }
    const KEYS: [&str; 7] = [
        "use-proxy-protocol",
        "proxy-real-ip-cidr",
        "use-forwarded-headers",
        "compute-full-forwarded-for",
        "enable-real-ip",
        "forwarded-for-header",
        "proxy-protocol-header-timeout",
    ];
    let label = text(doc.path(&["metadata", "labels", "app.kubernetes.io/name"]));
    if KEYS.iter().any(|k| has(k))
        || label.as_deref() == Some("ingress-nginx")
        || name.contains("ingress-nginx")
        || name == "nginx-configuration"
    {
        return Some(&platforms::INGRESS_NGINX);
    }
    None
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

/// The ingress controller's hop, from its settings (ConfigMap data or the
/// chart's `controller.config`).
fn ingress(
    file: &str,
    name: String,
    c: &'static Controller,
    data: Option<&Node>,
    at: Loc,
    out: &mut Facts,
) {
    let key = |k: &str| data.and_then(|d| d.get(k));
    let is_true = |k: &str| text(key(k)).is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let proxy = key(c.proxy_key);
    let expects = if is_true(c.proxy_key) {
        Expects::Header
    } else {
        Expects::Nothing
    };
    let expect_at = line(file, proxy, at.line);
    let trust_node = key(c.trust_key);
    let mut trust = match text(trust_node) {
        Some(list) => {
            let nets: Vec<ipnet::IpNet> = list
                .split(',')
                .filter_map(|s| super::nginx::net(s.trim()))
                .collect();
            if nets.is_empty() || nets.iter().any(|n| n.prefix_len() == 0) {
                Trust::Anyone
            } else {
                Trust::List(nets.into(), line(file, trust_node, at.line))
            }
        }
        None => match c.trust_default {
            Some(_) => Trust::Anyone,
            None => Trust::Anyone,
        },
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
            trust: trust.clone(),
            fix: c.fix,
            at: expect_at.clone(),
        })
        .collect();
    let forwarded = c
        .forwarded_key
        .filter(|k| is_true(k))
        .map(|k| line(file, key(k), at.line));
    let wants = if is_true("enable-real-ip") {
        Some(line(file, key("enable-real-ip"), at.line))
    } else {
        trust_node.map(|n| Loc::new(file, n.line))
    };
    out.ingresses.push(IngressFacts {
        hop: out.hops.len(),
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
    Lb::Unknown
}

fn service(file: &str, doc: &Node, out: &mut Facts) {
    let spec = doc.get("spec");
    let ty = text(spec.and_then(|s| s.get("type"))).unwrap_or_else(|| "ClusterIP".into());
    let name = meta_name(doc);
    let ports: Vec<(u16, Option<u16>, Option<u16>)> = spec
        .and_then(|s| s.get("ports"))
        .map(Node::items)
        .unwrap_or(&[])
        .iter()
        .filter_map(|p| {
            let port: u16 = text(p.get("port"))?.parse().ok()?;
            let node: Option<u16> = text(p.get("nodePort")).and_then(|n| n.parse().ok());
            let target = match text(p.get("targetPort")).as_deref() {
                Some("http") => Some(80),
                Some("https") => Some(443),
                Some(t) => t.parse().ok().or(Some(port)),
                None => Some(port),
            };
            Some((port, node, target))
        })
        .collect();
    let labels = doc.path(&["metadata", "labels"]);
    let is_ingress = name.contains("ingress-nginx")
        || labels
            .and_then(|l| l.get("app.kubernetes.io/name"))
            .and_then(Node::str)
            == Some("ingress-nginx");
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
        },
        out,
    );
}

struct LbService<'a> {
    name: String,
    at: Loc,
    annotations: Option<&'a Node>,
    class: Option<String>,
    policy: Option<&'a Node>,
    ports: Vec<(u16, Option<u16>, Option<u16>)>,
    hairpin: Vec<(String, Loc)>,
    ips: Vec<String>,
}

/// A Service of type LoadBalancer: the hop, what it sends, and annotations
/// that do nothing where they stand.
fn load_balancer(file: &str, s: LbService<'_>, out: &mut Facts) {
    let lb = lb_of(s.annotations, s.class.clone());
    let hop_name = format!("{}, {}", lb.name(), s.name);
    let mut sends = Header::None;
    let mut sends_at = s.at.clone();
    // `None`: every port; else only these Service ports send.
    let mut only: Option<Vec<u16>> = None;
    for row in PROXY_ANNOTATIONS {
        let Some(node) = s.annotations.and_then(|a| a.get(row.key)) else {
            continue;
        };
        let Some(v) = node.str() else { continue };
        if !row.when.matches(v) {
            continue;
        }
        let at = Loc::new(file, node.line);
        if row.ignored_on.contains(&lb) {
            out.found.push(Found {
                finding: Finding::IgnoredSetting,
                at,
                hop: hop_name.clone().into(),
                message: format!(
                    "{}: \"{v}\" does nothing on this load balancer ({}): it sends no PROXY header ({})",
                    row.key,
                    lb.name(),
                    row.doc
                ),
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
            let listed: Option<Vec<u16>> = v.split(',').map(|p| p.trim().parse().ok()).collect();
            only = listed;
        }
        sends_at = at;
    }
    if sends != Header::None {
        out.assumed.push(Assumption {
            at: sends_at.clone(),
            hop: hop_name.clone().into(),
            text: format!(
                "sends a {} because its annotation says so: confirm what arrives with `ppctl listen` behind it, or `ppctl probe` on the ingress",
                sends.name()
            ).into(),
        });
    }
    let ports = if s.ports.is_empty() {
        vec![(80, None, Some(80)), (443, None, Some(443))]
    } else {
        s.ports.clone()
    };
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
        .map(|(port, _, target)| Upstream {
            host: None,
            port: *target,
            sends: match &only {
                Some(list) if !list.contains(port) => Header::None,
                _ => sends,
            },
            source: None,
            from_port: Some(*port),
            fix: platforms::enable_fix(lb),
            at: sends_at.clone(),
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

/// The ingress-nginx chart's values: `controller.config` and
/// `controller.service`.
fn helm(file: &str, doc: &Node, out: &mut Facts) {
    let Some(controller) = doc.get("controller") else {
        out.assumed.push(Assumption {
            at: Loc::new(file, doc.line),
            hop: "ingress-nginx (Helm values)".into(),
            text: "no `controller:` key: these values set nothing check reads".into(),
        });
        return;
    };
    let config = controller.get("config");
    let at = Loc::new(
        file,
        controller.key_line("config").unwrap_or(controller.line),
    );
    if config.is_none() {
        out.assumed.push(Assumption {
            at: at.clone(),
            hop: "ingress-nginx (Helm values)".into(),
            text: "no controller.config: the chart's defaults apply (use-proxy-protocol \"false\")"
                .into(),
        });
    }
    ingress(
        file,
        "ingress-nginx Helm controller.config".into(),
        &platforms::INGRESS_NGINX_HELM,
        config,
        at,
        out,
    );
    if let Some(line) = controller
        .get("extraArgs")
        .and_then(|e| e.key_line("enable-ssl-passthrough"))
    {
        out.ssl_passthrough = Some(Loc::new(file, line));
    }
    tcp_services(file, doc.get("tcp"), out);
    udp_services(file, doc.get("udp"), "ingress-nginx Helm values", out);
    let tcp_ports: Vec<(u16, Option<u16>, Option<u16>)> = doc
        .get("tcp")
        .map(|t| t.entries())
        .unwrap_or_default()
        .iter()
        .filter_map(|(k, _)| k.str().and_then(|p| p.parse().ok()))
        .map(|p| (p, None, Some(p)))
        .collect();
    let svc = controller.get("service");
    if svc.and_then(|s| s.get("enabled")).and_then(Node::str) == Some("false") {
        let line = svc.map_or(controller.line, |s| s.line);
        out.skipped(
            Loc::new(file, line),
            "controller.service",
            SkipReason::Disabled,
        );
        return;
    }
    let ty = text(svc.and_then(|s| s.get("type"))).unwrap_or_else(|| "LoadBalancer".into());
    if ty != "LoadBalancer" {
        return;
    }
    if svc.is_none() {
        out.assumed.push(Assumption {
            at: Loc::new(file, controller.line),
            hop: "ingress-nginx (Helm controller.service)".into(),
            text: "no controller.service: the chart's Service of type LoadBalancer has no PROXY annotation; confirm what arrives with `ppctl listen` or `ppctl probe`".into(),
        });
    }
    load_balancer(
        file,
        LbService {
            name: "Helm controller.service".into(),
            at: Loc::new(
                file,
                controller.key_line("service").unwrap_or(controller.line),
            ),
            annotations: svc.and_then(|s| s.get("annotations")),
            class: text(svc.and_then(|s| s.get("loadBalancerClass"))),
            policy: svc.and_then(|s| s.get("externalTrafficPolicy")),
            ports: if tcp_ports.is_empty() {
                Vec::new()
            } else {
                let mut p = vec![(80, None, Some(80)), (443, None, Some(443))];
                p.extend(tcp_ports);
                p
            },
            hairpin: Vec::new(),
            ips: Vec::new(),
        },
        out,
    );
}
