//! A chart's values (`helm get values`, a values file, or the values a
//! Flux HelmRelease, a k3s HelmChartConfig or an Argo CD Application
//! carries): which chart they are for, and the controller and Service they
//! configure. Umbrella charts are unwrapped: values under a subchart's key
//! (`ingress-nginx:`, `traefik:`, …) are that chart's.

use super::k8s::{self, LbService, ServiceFacts};
use super::platforms::{self, Controller, Lb};
use super::traefik as traefik_;
use super::yaml::{Node, Value};
use super::{Assumption, Facts, Header, Loc, SkipReason};

/// A chart `check` reads the values of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Chart {
    IngressNginx,
    /// NGINX Inc's `nginx-ingress` chart (`controller.config.entries`).
    NginxInc,
    HaproxyTech,
    HaproxyIngress,
    Traefik,
}

impl Chart {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Chart::IngressNginx => "ingress-nginx chart",
            Chart::NginxInc => "NGINX Ingress Controller chart",
            Chart::HaproxyTech => "HAProxy Kubernetes Ingress chart (haproxytech)",
            Chart::HaproxyIngress => "HAProxy Ingress chart (jcmoraisjr)",
            Chart::Traefik => "Traefik chart",
        }
    }

    /// The chart a chart name (a HelmRelease's `chart`, `helm install`'s
    /// argument) stands for; `nginx-ingress` is two charts, told apart by
    /// the values.
    pub(crate) fn named(name: &str) -> Option<Chart> {
        let name = name.rsplit('/').next().unwrap_or(name);
        match name {
            "ingress-nginx" | "rke2-ingress-nginx" => Some(Chart::IngressNginx),
            "kubernetes-ingress" => Some(Chart::HaproxyTech),
            "haproxy-ingress" => Some(Chart::HaproxyIngress),
            "traefik" | "rke2-traefik" => Some(Chart::Traefik),
            _ => None,
        }
    }

    fn controller(self) -> &'static Controller {
        match self {
            Chart::IngressNginx | Chart::Traefik => &platforms::INGRESS_NGINX_HELM,
            Chart::NginxInc => &platforms::NGINX_INC,
            Chart::HaproxyTech => &platforms::HAPROXYTECH,
            Chart::HaproxyIngress => &platforms::HAPROXY_INGRESS,
        }
    }
}

/// The umbrella keys a subchart's values sit under.
const SUBCHARTS: [(&str, Option<Chart>); 7] = [
    ("ingress-nginx", Some(Chart::IngressNginx)),
    ("nginx-ingress", None),
    ("rke2-ingress-nginx", Some(Chart::IngressNginx)),
    ("traefik", Some(Chart::Traefik)),
    ("haproxy-ingress", Some(Chart::HaproxyIngress)),
    ("kubernetes-ingress", Some(Chart::HaproxyTech)),
    ("haproxy", None),
];

fn text(n: Option<&Node>) -> Option<String> {
    n.and_then(Node::str).map(str::to_string)
}

fn is_map(n: Option<&Node>) -> bool {
    matches!(n.map(|n| &n.value), Some(Value::Map(_)))
}

/// Which chart values that name none are for, from what they hold.
fn detect(doc: &Node) -> Option<Chart> {
    let controller = doc.get("controller");
    let image = text(controller.and_then(|c| c.path(&["image", "repository"])))
        .or_else(|| text(controller.and_then(|c| c.path(&["image", "image"]))))
        .unwrap_or_default();
    if image.contains("haproxytech") {
        return Some(Chart::HaproxyTech);
    }
    if image.contains("jcmoraisjr") || image.contains("haproxy-ingress") {
        return Some(Chart::HaproxyIngress);
    }
    if image.contains("nginx/nginx-ingress") || image.contains("nginx-plus-ingress") {
        return Some(Chart::NginxInc);
    }
    if let Some(c) = controller {
        if c.path(&["config", "entries"]).is_some() || c.get("nginxplus").is_some() {
            return Some(Chart::NginxInc);
        }
        let by_keys = k8s::controller_by_keys(c.get("config"));
        if by_keys == Some(&platforms::HAPROXYTECH) {
            return Some(Chart::HaproxyTech);
        }
        if by_keys == Some(&platforms::HAPROXY_INGRESS) {
            return Some(Chart::HaproxyIngress);
        }
        // haproxytech's chart: a list of extra args, a default TLS secret,
        // a `logging` block.
        if matches!(c.get("extraArgs").map(|e| &e.value), Some(Value::Seq(_)))
            || c.get("defaultTLSSecret").is_some()
            || c.get("logging").is_some()
        {
            return Some(Chart::HaproxyTech);
        }
        return Some(Chart::IngressNginx);
    }
    // Traefik's chart: entry points under `ports`, its arguments.
    let traefik_ports = doc
        .get("ports")
        .is_some_and(|p| p.get("web").is_some() || p.get("websecure").is_some());
    let traefik_args = ["additionalArguments", "globalArguments"].iter().any(|k| {
        doc.get(k).is_some_and(|a| {
            a.items().iter().any(|i| {
                i.str()
                    .is_some_and(|s| s.to_ascii_lowercase().contains("entrypoints"))
            })
        })
    });
    let traefik_keys = ["ingressRoute", "providers", "deployment"]
        .iter()
        .any(|k| doc.get(k).is_some());
    if traefik_ports || traefik_args || traefik_keys && doc.get("service").is_some() {
        return Some(Chart::Traefik);
    }
    None
}

/// The values a Kubernetes object carries for a chart: a Flux
/// `HelmRelease` (`spec.values`, `spec.chart.spec.chart`), a k3s
/// `HelmChartConfig` or `HelmChart` (`spec.valuesContent`, a YAML string,
/// read with its lines), an Argo CD `Application` (`spec.source.chart`,
/// `spec.source.helm.valuesObject` or `.values`).
pub(crate) fn wrapped(file: &str, doc: &Node, out: &mut Facts) {
    let kind = text(doc.get("kind")).unwrap_or_default();
    let name = text(doc.path(&["metadata", "name"])).unwrap_or_default();
    let spec = doc.get("spec");
    let source = spec.and_then(|s| s.get("source")).or_else(|| {
        spec.and_then(|s| s.get("sources"))
            .and_then(|s| s.items().iter().find(|i| i.get("chart").is_some()))
    });
    let chart = match kind.as_str() {
        "HelmRelease" => text(spec.and_then(|s| s.path(&["chart", "spec", "chart"])))
            .or_else(|| text(spec.and_then(|s| s.path(&["chartRef", "name"])))),
        "HelmChart" => text(spec.and_then(|s| s.get("chart"))),
        "HelmChartConfig" => Some(name.clone()),
        _ => text(source.and_then(|s| s.get("chart"))),
    };
    let what = format!("{kind} {name}");
    let here = Loc::new(file, doc.line);
    let inline = match kind.as_str() {
        "HelmRelease" => spec.and_then(|s| s.get("values")),
        "Application" => source.and_then(|s| s.path(&["helm", "valuesObject"])),
        _ => None,
    };
    let string = match kind.as_str() {
        "HelmChartConfig" | "HelmChart" => spec.and_then(|s| s.get("valuesContent")),
        "Application" => source.and_then(|s| s.path(&["helm", "values"])),
        _ => None,
    };
    if chart.as_deref().and_then(Chart::named).is_none() {
        out.skipped(here, what, SkipReason::NotRead);
        return;
    }
    if let Some(values) = inline {
        out.used(
            here,
            format!("{what} (chart {})", chart.as_deref().unwrap_or("?")),
        );
        self::values(file, values, chart.as_deref(), out);
        return;
    }
    if let Some(s) = string {
        let Some(body) = super::workloads::padded(s) else {
            return;
        };
        match super::yaml::parse(file, &body) {
            Ok(docs) => {
                out.used(
                    here,
                    format!("{what} (chart {})", chart.as_deref().unwrap_or("?")),
                );
                for d in &docs {
                    self::values(file, d, chart.as_deref(), out);
                }
            }
            Err(e) => out.warnings.push((
                e.at,
                super::Warning::Embedded {
                    what,
                    error: e.message,
                },
            )),
        }
        return;
    }
    out.skipped(here, what, SkipReason::NoProxySettings);
}

/// Read a chart's values: unwrap an umbrella, tell the chart, read it.
/// `hint` is a chart name the input gave (`helm install … repo/CHART` in a
/// comment, a HelmRelease's chart).
pub(crate) fn values(file: &str, doc: &Node, hint: Option<&str>, out: &mut Facts) {
    let mut found = false;
    for (key, chart) in SUBCHARTS {
        let Some(sub) = doc.get(key).filter(|s| is_map(Some(s))) else {
            continue;
        };
        let chart = chart.or_else(|| detect(sub)).unwrap_or(Chart::IngressNginx);
        out.used(
            Loc::new(file, doc.key_line(key).unwrap_or(sub.line)),
            format!("{key}: ({})", chart.name()),
        );
        read(file, sub, chart, out);
        found = true;
    }
    if found {
        return;
    }
    let chart = hint.and_then(Chart::named).or_else(|| detect(doc));
    match chart {
        Some(chart) => read(file, doc, chart, out),
        None => {
            // Values of a chart check does not read: said plainly, and no
            // hop (nothing to check, not "no finding").
            if let Some(f) = out.files.iter_mut().rev().find(|f| f.name == file) {
                f.flavour = Some("values of no chart check reads");
            }
        }
    }
}

fn read(file: &str, doc: &Node, chart: Chart, out: &mut Facts) {
    if let Some(f) = out.files.iter_mut().rev().find(|f| f.name == file) {
        f.flavour = Some(chart.name());
    }
    match chart {
        Chart::Traefik => traefik(file, doc, out),
        _ => controller_chart(file, doc, chart, out),
    }
}

/// A boolean value that says no (`false`, any case); absent is the
/// chart's default, on.
fn is_off(n: Option<&Node>) -> bool {
    text(n).is_some_and(|v| v.eq_ignore_ascii_case("false"))
}

/// A port of the chart's Service: (port, node port, the controller's
/// port it targets).
type SvcPort = (u16, Option<u16>, Option<u16>);

/// A target port as the charts write it: a number, or `http`/`https`.
fn target(v: Option<&Node>, default: u16) -> Option<u16> {
    match v.and_then(Node::str) {
        Some("http") => Some(80),
        Some("https") => Some(443),
        Some(t) => t.parse().ok().or(Some(default)),
        None => Some(default),
    }
}

/// The charts of ingress-nginx, NGINX Inc and the two HAProxy
/// controllers: `controller.config` (NGINX Inc: `controller.config.entries`)
/// and `controller.service`.
fn controller_chart(file: &str, doc: &Node, chart: Chart, out: &mut Facts) {
    let hop_label = format!("{} (Helm values)", chart.controller().name);
    let Some(controller) = doc.get("controller") else {
        out.assumed.push(Assumption {
            at: Loc::new(file, doc.line),
            hop: hop_label.clone().into(),
            text: "no `controller:` key: the chart's defaults apply (PROXY protocol off)".into(),
        });
        k8s::ingress(
            file,
            format!("{} Helm defaults", chart.controller().name),
            chart.controller(),
            None,
            Loc::new(file, doc.line),
            out,
        );
        service(file, doc, None, chart, out);
        return;
    };
    let config = if chart == Chart::NginxInc {
        controller.path(&["config", "entries"])
    } else {
        controller.get("config")
    };
    let at = Loc::new(
        file,
        controller.key_line("config").unwrap_or(controller.line),
    );
    if config.is_none() {
        out.assumed.push(Assumption {
            at: at.clone(),
            hop: hop_label.clone().into(),
            text: "no controller.config: the chart's defaults apply (PROXY protocol off)".into(),
        });
    } else {
        out.used(at.clone(), "controller.config");
    }
    k8s::ingress(
        file,
        format!("{} Helm controller.config", chart.controller().name),
        chart.controller(),
        config,
        at,
        out,
    );
    if chart == Chart::IngressNginx {
        let pass = controller.get("extraArgs").and_then(|e| {
            e.key_line("enable-ssl-passthrough").filter(|_| {
                text(e.get("enable-ssl-passthrough"))
                    .is_none_or(|v| v.is_empty() || k8s::is_true(&v))
            })
        });
        if let Some(line) = pass {
            out.ssl_passthrough = Some(Loc::new(file, line));
        }
        k8s::tcp_services(file, doc.get("tcp"), out);
        k8s::udp_services(file, doc.get("udp"), "ingress-nginx Helm values", out);
    }
    service(file, doc, Some(controller), chart, out);
}

/// The chart's Service (`controller.service`, and ingress-nginx's
/// `controller.service.internal`): a load balancer, node ports, or none.
fn service(file: &str, doc: &Node, controller: Option<&Node>, chart: Chart, out: &mut Facts) {
    let svc = controller.and_then(|c| c.get("service"));
    let line_of = |n: Option<&Node>, or: usize| n.map_or(or, |n| n.line);
    let at = Loc::new(
        file,
        controller
            .and_then(|c| c.key_line("service"))
            .unwrap_or(line_of(controller, doc.line)),
    );
    if text(svc.and_then(|s| s.get("enabled"))).is_some_and(|v| v == "false") {
        out.skipped(at, "controller.service", SkipReason::Disabled);
        return;
    }
    let ingress_nginx = chart == Chart::IngressNginx;
    // ingress-nginx's chart renders the http and https ports only
    // `if .Values.controller.service.enableHttp` (`enableHttps`), on both
    // of its Services.
    let off = |k: &str| ingress_nginx && is_off(svc.and_then(|s| s.get(k)));
    let (http, https) = (!off("enableHttp"), !off("enableHttps"));
    // The chart's ports: 80 and 443, each to its target, and each TCP
    // service (ingress-nginx) to its own port.
    let targets = svc.and_then(|s| s.get("targetPorts"));
    let nodes = svc.and_then(|s| s.get("nodePorts"));
    let node = |k: &str| text(nodes.and_then(|n| n.get(k))).and_then(|v| v.parse().ok());
    let mut ports: Vec<SvcPort> = Vec::new();
    if http {
        ports.push((
            80,
            node("http"),
            target(targets.and_then(|t| t.get("http")), 80),
        ));
    }
    if https {
        ports.push((
            443,
            node("https"),
            target(targets.and_then(|t| t.get("https")), 443),
        ));
    }
    if chart == Chart::IngressNginx {
        for (k, _) in doc.get("tcp").map(|t| t.entries()).unwrap_or_default() {
            if let Some(p) = k.str().and_then(|p| p.parse::<u16>().ok()) {
                let n = text(nodes.and_then(|n| n.path(&["tcp", &p.to_string()])))
                    .and_then(|v| v.parse().ok());
                ports.push((p, n, Some(p)));
            }
        }
    }
    let ty = text(svc.and_then(|s| s.get("type"))).unwrap_or_else(|| "LoadBalancer".into());
    // ingress-nginx's chart renders its external Service only `if and
    // .Values.controller.service.enabled
    // .Values.controller.service.external.enabled`; the internal one
    // stands on its own.
    let external = svc.and_then(|s| s.get("external"));
    let external_off = ingress_nginx && is_off(external.and_then(|e| e.get("enabled")));
    match ty.as_str() {
        _ if external_off => out.skipped(
            Loc::new(
                file,
                external
                    .and_then(|e| e.key_line("enabled"))
                    .unwrap_or(at.line),
            ),
            "controller.service.external",
            SkipReason::Disabled,
        ),
        "LoadBalancer" => {
            if svc.is_none() {
                out.assumed.push(Assumption {
                    at: at.clone(),
                    hop: format!("{} (Helm controller.service)", chart.controller().name).into(),
                    text: "no controller.service: the chart's Service of type LoadBalancer has no PROXY annotation; confirm what arrives with `ppctl listen` or `ppctl probe`".into(),
                });
            } else {
                out.used(at.clone(), "controller.service (LoadBalancer)");
            }
            k8s::load_balancer(
                file,
                LbService {
                    name: "Helm controller.service".into(),
                    at,
                    annotations: svc.and_then(|s| s.get("annotations")),
                    class: text(svc.and_then(|s| s.get("loadBalancerClass"))),
                    policy: svc.and_then(|s| s.get("externalTrafficPolicy")),
                    ports,
                    hairpin: Vec::new(),
                    ips: text(svc.and_then(|s| s.get("loadBalancerIP")))
                        .into_iter()
                        .collect(),
                    targets: Vec::new(),
                },
                out,
            );
        }
        "NodePort" => {
            out.used(at.clone(), "controller.service (NodePort)");
            out.services.push(ServiceFacts {
                hop: None,
                name: "Helm controller.service".into(),
                lb: Lb::Unknown,
                sends: Header::None,
                local: false,
                policy_at: at,
                hairpin: Vec::new(),
                ports,
                ips: Vec::new(),
                targets: Vec::new(),
                pod_targets: None,
            });
        }
        _ => out.skipped(
            at,
            format!("controller.service ({ty})"),
            SkipReason::NoLoadBalancer,
        ),
    }
    // ingress-nginx's second, internal Service.
    let internal = svc.and_then(|s| s.get("internal"));
    if text(internal.and_then(|i| i.get("enabled"))).is_some_and(|v| v == "true") {
        let iat = Loc::new(
            file,
            svc.and_then(|s| s.key_line("internal")).unwrap_or(doc.line),
        );
        out.used(iat.clone(), "controller.service.internal (LoadBalancer)");
        k8s::load_balancer(
            file,
            LbService {
                name: "Helm controller.service.internal".into(),
                at: iat,
                annotations: internal.and_then(|s| s.get("annotations")),
                class: text(internal.and_then(|s| s.get("loadBalancerClass"))),
                policy: internal.and_then(|s| s.get("externalTrafficPolicy")),
                ports: [(http, 80), (https, 443)]
                    .into_iter()
                    .filter(|(on, _)| *on)
                    .map(|(_, p)| (p, None, Some(p)))
                    .collect(),
                hairpin: Vec::new(),
                ips: Vec::new(),
                targets: Vec::new(),
            },
            out,
        );
    }
}

/// Traefik's chart: its entry points (`ports.<name>`, each with
/// `proxyProtocol` and `forwardedHeaders`, and `--entryPoints.<name>.…`
/// in `additionalArguments`), and its Service (`service`).
fn traefik(file: &str, doc: &Node, out: &mut Facts) {
    let eps = traefik_::chart_entry_points(file, doc);
    traefik_::ingress(file, "traefik (Helm values)", &eps, doc.line, out);
    let svc = doc.get("service");
    let at = Loc::new(file, doc.key_line("service").unwrap_or(doc.line));
    if text(svc.and_then(|s| s.get("enabled"))).is_some_and(|v| v == "false") {
        out.skipped(at, "service", SkipReason::Disabled);
        return;
    }
    let spec = svc.and_then(|s| s.get("spec"));
    let ty = text(svc.and_then(|s| s.get("type")))
        .or_else(|| text(spec.and_then(|s| s.get("type"))))
        .unwrap_or_else(|| "LoadBalancer".into());
    // Exposed entry points: exposedPort → the entry point's own port.
    let ports: Vec<SvcPort> = eps
        .iter()
        .filter(|e| e.exposed.is_some())
        .map(|e| (e.exposed.unwrap_or(0), e.node_port, e.port))
        .collect();
    if ty != "LoadBalancer" {
        if ty == "NodePort" {
            out.used(at.clone(), "service (NodePort)");
            out.services.push(ServiceFacts {
                hop: None,
                name: "Traefik Helm service".into(),
                lb: Lb::Unknown,
                sends: Header::None,
                local: false,
                policy_at: at,
                hairpin: Vec::new(),
                ports,
                ips: Vec::new(),
                targets: Vec::new(),
                pod_targets: None,
            });
        } else {
            out.skipped(at, format!("service ({ty})"), SkipReason::NoLoadBalancer);
        }
        return;
    }
    out.used(at.clone(), "service (LoadBalancer)");
    k8s::load_balancer(
        file,
        LbService {
            name: "Traefik Helm service".into(),
            at,
            annotations: svc.and_then(|s| s.get("annotations")),
            class: text(spec.and_then(|s| s.get("loadBalancerClass")))
                .or_else(|| text(svc.and_then(|s| s.get("loadBalancerClass")))),
            policy: spec.and_then(|s| s.get("externalTrafficPolicy")),
            ports,
            hairpin: Vec::new(),
            ips: text(spec.and_then(|s| s.get("loadBalancerIP")))
                .into_iter()
                .collect(),
            targets: Vec::new(),
        },
        out,
    );
}
