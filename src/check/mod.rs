//! `ppctl check`: read the configuration of every hop (nginx, HAProxy,
//! Kubernetes objects, ingress-nginx Helm values), build the chain
//! client → load balancer → ingress/proxy → app, and judge each link with
//! the judge, before anything is deployed.
//!
//! Pure: text in, typed model out. Reading files (and following nginx's
//! `include`) is [`load`]'s job; rendering is `report::check`'s.

pub(crate) mod chain;
pub(crate) mod haproxy;
pub(crate) mod k8s;
pub(crate) mod live;
pub(crate) mod load;
pub(crate) mod nginx;
pub(crate) mod platforms;
pub(crate) mod proxies;
pub(crate) mod toml;
pub(crate) mod yaml;

use std::fmt;
use std::net::IpAddr;

use ipnet::IpNet;

use crate::judge::{Expects, Finding, Fix};

/// Where a fact was read: a file (or `-`) and a 1-based line.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Loc {
    pub file: String,
    pub line: usize,
}

impl Loc {
    pub(crate) fn new(file: &str, line: usize) -> Loc {
        Loc {
            file: file.to_string(),
            line,
        }
    }
}

impl fmt::Display for Loc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// What kind of configuration a text is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Nginx,
    Haproxy,
    /// Kubernetes objects (one, many, or a `kind: List`).
    Kubernetes,
    /// The ingress-nginx chart's values (`helm get values`).
    HelmValues,
    /// Traefik's static configuration (YAML or TOML).
    Traefik,
    /// Envoy's static configuration (YAML).
    Envoy,
}

impl Kind {
    pub(crate) const ALL: [Kind; 4] = [
        Kind::Nginx,
        Kind::Haproxy,
        Kind::Kubernetes,
        Kind::HelmValues,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Kind::Nginx => "nginx",
            Kind::Haproxy => "haproxy",
            Kind::Kubernetes => "kubernetes",
            Kind::HelmValues => "helm",
            Kind::Traefik => "traefik",
            Kind::Envoy => "envoy",
        }
    }

    pub(crate) fn help(self) -> &'static str {
        match self {
            Kind::Nginx => "nginx configuration (follows include)",
            Kind::Haproxy => "HAProxy configuration",
            Kind::Kubernetes => "Kubernetes YAML: ConfigMaps and Services (kubectl get -o yaml)",
            Kind::HelmValues => "ingress-nginx Helm values (helm get values)",
            Kind::Traefik => "Traefik static configuration, YAML or TOML (entryPoints)",
            Kind::Envoy => "Envoy static configuration, YAML (listeners)",
        }
    }

    /// The kind of a text, from its content.
    pub(crate) fn detect(text: &str) -> Kind {
        let lines = || {
            text.lines()
                .map(str::trim_end)
                .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        };
        const SECTIONS: [&str; 5] = ["global", "defaults", "frontend", "backend", "listen"];
        if lines().any(|l| {
            let first = l.split_whitespace().next().unwrap_or("");
            !l.starts_with(' ')
                && !l.starts_with('\t')
                && SECTIONS.contains(&first)
                && !l.contains(':')
                && !l.ends_with(';')
        }) {
            return Kind::Haproxy;
        }
        if lines().any(|l| {
            let t = l.trim();
            t.ends_with(';')
                || (t.ends_with('{') && !t.contains(':'))
                || (t.ends_with('}') && !t.contains(": ") && !t.starts_with('-'))
        }) {
            return Kind::Nginx;
        }
        if lines().any(|l| l.starts_with("entryPoints:") || l.starts_with("[entryPoints")) {
            return Kind::Traefik;
        }
        if lines().any(|l| l.starts_with("static_resources:")) {
            return Kind::Envoy;
        }
        if lines().any(|l| l.starts_with("apiVersion:") || l.starts_with("kind:")) {
            return Kind::Kubernetes;
        }
        Kind::HelmValues
    }
}

/// The PROXY header a sender puts in front of a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Header {
    None,
    V1,
    V2,
}

impl Header {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Header::None => "no header",
            Header::V1 => "PROXY v1",
            Header::V2 => "PROXY v2",
        }
    }
}

/// What a hop is, in the chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// A cloud load balancer (a Service of type LoadBalancer).
    LoadBalancer,
    /// A proxy whose configuration was given (nginx, HAProxy).
    Proxy,
    /// An ingress controller (ingress-nginx).
    Ingress,
}

impl Role {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Role::LoadBalancer => "load balancer",
            Role::Proxy => "proxy",
            Role::Ingress => "ingress",
        }
    }
}

/// Whose header address a receiver takes as the client's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Trust {
    /// Anyone's (no trust list, or 0.0.0.0/0): a direct client can forge it.
    Anyone,
    /// Only these sources'.
    List(Vec<IpNet>, Loc),
    /// Nobody's: the header is read but its address is not used as the
    /// client's (nginx without `real_ip_header proxy_protocol`).
    Unused,
}

/// A port a hop receives connections on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Listener {
    /// The host part when one was written (`127.0.0.1`), for matching.
    pub host: Option<String>,
    pub port: Option<u16>,
    pub expects: Expects,
    /// Bytes are forwarded, not read: a header passes through (an L4 load
    /// balancer).
    pub passthrough: bool,
    /// A PROXY version it refuses although it reads headers (Envoy's
    /// `disallowed_versions`): a sender of that version is closed on.
    pub refuses: Option<Header>,
    pub ssl: bool,
    pub trust: Trust,
    /// The fix (shared table) that makes this receiver read a header.
    pub fix: &'static str,
    pub at: Loc,
}

/// Where a hop sends connections, and with what header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Upstream {
    pub host: Option<String>,
    pub port: Option<u16>,
    pub sends: Header,
    /// The address the hop connects from, when its configuration says
    /// (nginx `proxy_bind`, HAProxy `source`, or a loopback target).
    pub source: Option<IpAddr>,
    /// The listener of this hop the traffic came in on (a stream server's
    /// port), for the chain's order.
    pub from_port: Option<u16>,
    /// The fix (shared table) that turns the header on at this sender.
    pub fix: &'static str,
    pub at: Loc,
}

/// One hop: a server block, a frontend, a Service, an ingress controller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Hop {
    pub name: String,
    pub role: Role,
    pub kind: Kind,
    pub at: Loc,
    pub listeners: Vec<Listener>,
    pub upstreams: Vec<Upstream>,
}

/// A finding of `check`: the judge's finding, where, on which hop, why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Found {
    pub finding: Finding,
    pub at: Loc,
    pub hop: String,
    pub message: String,
    /// A fix from the shared table that fits this platform best (shown
    /// before the finding's own fixes).
    pub fix: Option<&'static Fix>,
}

impl Found {
    /// The platform's fix first, then the finding's, without repeats.
    pub(crate) fn fixes(&self) -> Vec<&'static Fix> {
        let mut out: Vec<&'static Fix> = self.fix.into_iter().collect();
        for f in self.finding.fixes() {
            if !out.iter().any(|o| o.id == f.id) {
                out.push(f);
            }
        }
        out.truncate(4);
        out
    }
}

/// What the chain builder assumed where a hop's configuration is missing,
/// and how to confirm it on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Assumption {
    pub at: Loc,
    pub hop: String,
    pub text: String,
}

/// A link of the chain: a sender's upstream to a receiver's listener.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Link {
    /// Index into [`Check::hops`] and that hop's upstreams; `None` for the
    /// client (outside every configuration).
    pub from: Option<(usize, usize)>,
    /// Index into [`Check::hops`] and that hop's listeners.
    pub to: (usize, usize),
    /// The header that arrives (a pass-through load balancer adds its own
    /// to what came in).
    pub carried: Header,
    /// Two headers arrive, one after the other.
    pub stacked: bool,
    /// The judge's word on the link (proxied, plain, or what went wrong).
    pub finding: Finding,
}

/// Everything `check` found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Check {
    pub files: Vec<(String, Kind)>,
    pub hops: Vec<Hop>,
    pub links: Vec<Link>,
    pub found: Vec<Found>,
    pub assumed: Vec<Assumption>,
    /// What `--probe` found on the wire; `None` when it was not asked.
    pub probes: Option<live::Probes>,
}

impl Check {
    /// True when a problem-severity finding stands (exit 1).
    pub(crate) fn failed(&self) -> bool {
        self.found.iter().any(|f| f.finding.is_problem())
    }
}

/// A text that could not be read as its kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ParseError {
    pub at: Loc,
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.at, self.message)
    }
}

/// One input: its name, its text, and its kind when forced.
#[derive(Debug, Clone)]
pub(crate) struct Input {
    pub name: String,
    pub text: String,
    pub kind: Option<Kind>,
}

/// The facts of every input, before the chain is built.
#[derive(Debug, Default)]
pub(crate) struct Facts {
    pub hops: Vec<Hop>,
    pub found: Vec<Found>,
    pub assumed: Vec<Assumption>,
    /// Facts about Services that the chain's rules need.
    pub services: Vec<k8s::ServiceFacts>,
    /// Facts about ingress controllers' settings.
    pub ingresses: Vec<k8s::IngressFacts>,
    /// ingress-nginx TCP services (the tcp-services ConfigMap, the chart's
    /// `tcp:` values).
    pub tcp_services: Vec<k8s::TcpService>,
    /// Where the controller is started with `--enable-ssl-passthrough`.
    pub ssl_passthrough: Option<Loc>,
}

/// Parse every input (nginx includes resolved by `include`) and judge the
/// chain they make.
pub(crate) fn check(inputs: &[Input], include: &nginx::Includer) -> Result<Check, ParseError> {
    let mut facts = Facts::default();
    let mut files = Vec::new();
    for input in inputs {
        let kind = input.kind.unwrap_or_else(|| Kind::detect(&input.text));
        files.push((input.name.clone(), kind));
        match kind {
            Kind::Nginx => nginx::facts(&input.name, &input.text, include, &mut facts)?,
            Kind::Haproxy => haproxy::facts(&input.name, &input.text, &mut facts)?,
            Kind::Traefik => proxies::traefik(&input.name, &input.text, &mut facts)?,
            Kind::Envoy => proxies::envoy(&input.name, &input.text, &mut facts)?,
            Kind::Kubernetes | Kind::HelmValues => {
                k8s::facts(&input.name, &input.text, kind, &mut facts)?
            }
        }
    }
    let mut out = chain::build(facts);
    out.files = files;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(inputs: &[(&str, &str)]) -> Check {
        let inputs: Vec<Input> = inputs
            .iter()
            .map(|(name, text)| Input {
                name: name.to_string(),
                text: text.to_string(),
                kind: None,
            })
            .collect();
        let no_include =
            |_: &str, p: &str| -> Result<Vec<(String, String)>, String> { Err(format!("no {p}")) };
        check(&inputs, &no_include).unwrap()
    }

    #[test]
    fn kinds_are_detected_from_content() {
        assert_eq!(Kind::detect("events {}\nhttp {\n}\n"), Kind::Nginx);
        assert_eq!(
            Kind::detect("global\n  maxconn 1\nfrontend fe\n  bind :80\n"),
            Kind::Haproxy
        );
        assert_eq!(
            Kind::detect("apiVersion: v1\nkind: List\nitems: []\n"),
            Kind::Kubernetes
        );
        assert_eq!(
            Kind::detect("USER-SUPPLIED VALUES:\ncontroller:\n  config: {}\n"),
            Kind::HelmValues
        );
        assert_eq!(
            Kind::detect("entryPoints:\n  web:\n    address: \":80\"\n"),
            Kind::Traefik
        );
        assert_eq!(
            Kind::detect("[entryPoints.web]\naddress = \":80\"\n"),
            Kind::Traefik
        );
        assert_eq!(
            Kind::detect("static_resources:\n  listeners: []\n"),
            Kind::Envoy
        );
        assert_eq!(Kind::detect("server {\n    listen 80;\n}\n"), Kind::Nginx);
        assert_eq!(Kind::detect("stream { server { listen 1; } }"), Kind::Nginx);
        assert_eq!(
            Kind::detect("kind: ConfigMap\ndata: {}\n"),
            Kind::Kubernetes
        );
    }

    #[test]
    fn the_seed_in_memory() {
        let nginx =
            "stream { server { listen 443; proxy_pass 10.0.0.11:30443; proxy_protocol on; } }";
        let k8s = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ingress-nginx-controller\ndata: {}\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: ingress-nginx-controller\nspec:\n  type: NodePort\n  ports:\n  - port: 443\n    nodePort: 30443\n    targetPort: https\n";
        let c = run(&[("k.yaml", k8s), ("n.conf", nginx)]);
        assert!(c.failed());
        assert_eq!(c.found.len(), 1, "{:?}", c.found);
        let f = &c.found[0];
        assert_eq!(f.finding, Finding::UnexpectedHeader);
        assert_eq!(f.at, Loc::new("k.yaml", 5));
        assert_eq!(f.fixes()[0].id, "ingress-nginx-use-proxy-protocol");
        let link = c.links.iter().find(|l| l.from.is_some()).unwrap();
        assert_eq!((link.carried, link.to.1), (Header::V1, 1));
    }

    #[test]
    fn a_v2_sender_to_a_receiver_that_reads_it_is_proxied() {
        let haproxy = "backend be\n  server a 127.0.0.1:8080 send-proxy-v2\nfrontend fe\n  bind :80\n  default_backend be\n";
        let nginx = "http { set_real_ip_from 127.0.0.1; real_ip_header proxy_protocol;\n server { listen 127.0.0.1:8080 proxy_protocol; } }";
        let c = run(&[("h.cfg", haproxy), ("n.conf", nginx)]);
        assert!(c.found.is_empty(), "{:?}", c.found);
        assert!(c
            .links
            .iter()
            .any(|l| l.finding == Finding::Proxied && l.carried == Header::V2));
    }
}
