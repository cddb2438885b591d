//! What runs behind a Service: the workloads (Deployment, DaemonSet,
//! StatefulSet) its selector picks, the configuration they mount from
//! ConfigMaps (an `nginx.conf: |` or `haproxy.cfg: |` in `data:`, read with
//! its line numbers in the YAML, its includes found among the mounted
//! keys), and for a workload whose configuration is not in the input, its
//! image: a web server image's own configuration reads no PROXY header.

use rustc_hash::FxHashMap as HashMap;

use super::detect::{self, Detected};
use super::nginx::{IncludeError, Included};
use super::yaml::{Node, Value};
use super::{haproxy, nginx, Facts, Hop, Kind, Listener, Loc, Role, Trust};
use crate::judge::Expects;

fn text(n: Option<&Node>) -> Option<&str> {
    n.and_then(Node::str)
}

/// A ConfigMap mounted into a workload: at `path`, the key `sub_path`
/// (a file), or every key (a directory).
#[derive(Debug, Clone)]
struct Mount {
    configmap: String,
    path: String,
    sub_path: Option<String>,
}

/// What a mesh gateway workload (Istio's) expects, from its own settings.
#[derive(Debug, Clone)]
pub(crate) struct MeshProfile {
    pub expects: Expects,
    pub trust: Trust,
    pub at: Loc,
    pub fix: &'static str,
    pub what: &'static str,
}

/// A Deployment, DaemonSet or StatefulSet.
#[derive(Debug, Clone)]
pub(crate) struct Workload {
    /// `Deployment ns/name`.
    pub name: String,
    pub at: Loc,
    pub labels: Vec<(String, String)>,
    pub images: Vec<String>,
    /// (port name, container port).
    pub ports: Vec<(Option<String>, u16)>,
    mounts: Vec<Mount>,
    /// `proxy.istio.io/config` asks for `gatewayTopology.proxyProtocol`.
    pub istio_topology: Option<Loc>,
    /// Its PROXY settings as a mesh gateway, once read (see
    /// `gateway::read`).
    pub mesh: Option<MeshProfile>,
}

impl Workload {
    pub(crate) fn read(file: &str, doc: &Node, name: String) -> Workload {
        let template = doc.path(&["spec", "template"]);
        let labels = template
            .and_then(|t| t.path(&["metadata", "labels"]))
            .map(Node::entries)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|(k, v)| Some((k.str()?.to_string(), v.str()?.to_string())))
            .collect();
        let spec = template.and_then(|t| t.get("spec"));
        let volumes: Vec<(String, String)> = spec
            .and_then(|s| s.get("volumes"))
            .map(Node::items)
            .unwrap_or(&[])
            .iter()
            .filter_map(|v| {
                Some((
                    text(v.get("name"))?.to_string(),
                    text(v.path(&["configMap", "name"]))?.to_string(),
                ))
            })
            .collect();
        let mut images = Vec::new();
        let mut ports = Vec::new();
        let mut mounts = Vec::new();
        for c in spec
            .and_then(|s| s.get("containers"))
            .map(Node::items)
            .unwrap_or(&[])
        {
            if let Some(i) = text(c.get("image")) {
                images.push(i.to_string());
            }
            for p in c.get("ports").map(Node::items).unwrap_or(&[]) {
                if let Some(n) = text(p.get("containerPort")).and_then(|n| n.parse().ok()) {
                    ports.push((text(p.get("name")).map(str::to_string), n));
                }
            }
            for m in c.get("volumeMounts").map(Node::items).unwrap_or(&[]) {
                let (Some(vol), Some(path)) = (text(m.get("name")), text(m.get("mountPath")))
                else {
                    continue;
                };
                if let Some((_, cm)) = volumes.iter().find(|(v, _)| v == vol) {
                    mounts.push(Mount {
                        configmap: cm.clone(),
                        path: path.to_string(),
                        sub_path: text(m.get("subPath")).map(str::to_string),
                    });
                }
            }
        }
        let istio_topology = super::gateway::istio_topology(
            file,
            template.and_then(|t| t.path(&["metadata", "annotations"])),
        );
        Workload {
            name,
            at: Loc::new(file, doc.line),
            labels,
            images,
            ports,
            mounts,
            istio_topology,
            mesh: None,
        }
    }

    /// Whether a Service's selector picks it.
    pub(crate) fn selected_by(&self, selector: &[(String, String)]) -> bool {
        !selector.is_empty()
            && selector
                .iter()
                .all(|(k, v)| self.labels.iter().any(|(lk, lv)| lk == k && lv == v))
    }

    /// An ingress controller's or proxy's image: its settings are read from
    /// its own objects (a ConfigMap, a chart's values), not guessed here.
    pub(crate) fn is_controller(&self) -> bool {
        const CONTROLLERS: [&str; 11] = [
            "ingress-nginx",
            "nginx-ingress",
            "kubernetes-ingress",
            "haproxy-ingress",
            "haproxytech",
            "traefik",
            "envoy",
            "istio",
            "contour",
            "nginx-gateway",
            "kgateway",
        ];
        self.images
            .iter()
            .any(|i| CONTROLLERS.iter().any(|c| i.contains(c)) && !i.contains("whoami"))
    }

    /// An Istio ingress gateway (its label, or the proxy image).
    pub(crate) fn is_istio_gateway(&self) -> bool {
        self.labels
            .iter()
            .any(|(k, v)| k == "istio" && v.contains("gateway"))
            || self.images.iter().any(|i| i.contains("istio/proxyv2"))
    }

    /// The ConfigMaps it mounts.
    pub(crate) fn configmaps(&self) -> Vec<&str> {
        let mut v: Vec<&str> = self.mounts.iter().map(|m| m.configmap.as_str()).collect();
        v.dedup();
        v
    }

    /// The container port a Service's `targetPort` names.
    pub(crate) fn port_named(&self, name: &str) -> Option<u16> {
        self.ports
            .iter()
            .find(|(n, _)| n.as_deref() == Some(name))
            .map(|(_, p)| *p)
    }
}

/// One key of a ConfigMap whose value is a configuration.
struct ConfigFile<'a> {
    file: &'a str,
    configmap: String,
    key: String,
    value: &'a Node,
    /// Where workloads mount it.
    paths: Vec<String>,
}

/// The text of a YAML scalar padded so that its lines are the file's: a
/// literal block's first line is the scalar's line.
pub(crate) fn padded(value: &Node) -> Option<String> {
    let s = value.str()?;
    let lead = value.line.saturating_sub(1);
    let mut t = String::with_capacity(lead + s.len());
    t.extend(std::iter::repeat_n('\n', lead));
    t.push_str(s);
    Some(t)
}

/// Configurations held in ConfigMaps' data, read as the kind their content
/// is (nginx, HAProxy); an nginx `include` finds the keys mounted where it
/// points (or, with no workload in the input, keys whose names match). The
/// hops each ConfigMap gave, by its name.
pub(crate) fn configmap_configs<'a>(
    configmaps: &[(&'a str, &'a Node)],
    workloads: &[Workload],
    out: &mut Facts,
) -> HashMap<String, Vec<usize>> {
    let mut files: Vec<ConfigFile<'a>> = Vec::new();
    for &(file, cm) in configmaps {
        let name = text(cm.path(&["metadata", "name"]))
            .unwrap_or("")
            .to_string();
        for (k, v) in cm.get("data").map(Node::entries).unwrap_or_default() {
            let (Some(key), Value::Scalar(_)) = (k.str(), &v.value) else {
                continue;
            };
            let mut paths = Vec::new();
            for w in workloads {
                for m in w.mounts.iter().filter(|m| m.configmap == name) {
                    match &m.sub_path {
                        Some(sp) if sp == key => paths.push(m.path.clone()),
                        Some(_) => {}
                        None => paths.push(format!("{}/{key}", m.path.trim_end_matches('/'))),
                    }
                }
            }
            files.push(ConfigFile {
                file,
                configmap: name.clone(),
                key: key.to_string(),
                value: v,
                paths,
            });
        }
    }
    let kind_of = |f: &ConfigFile<'_>| match detect::detect(f.value.str().unwrap_or("")) {
        Detected::Text(k @ (Kind::Nginx | Kind::Haproxy)) => Some(k),
        _ => None,
    };
    let mut by_cm: HashMap<String, Vec<usize>> = HashMap::default();
    let mut included: Vec<bool> = vec![false; files.len()];
    // Main nginx configurations first (they include the others).
    let is_main = |f: &ConfigFile<'_>| {
        let t = f.value.str().unwrap_or("");
        t.contains("http {")
            || t.contains("events {")
            || t.contains("stream {")
            || t.contains("http{")
    };
    let order: Vec<usize> = (0..files.len())
        .filter(|&i| is_main(&files[i]))
        .chain((0..files.len()).filter(|&i| !is_main(&files[i])))
        .collect();
    for i in order {
        if included[i] {
            continue;
        }
        let Some(kind) = kind_of(&files[i]) else {
            continue;
        };
        let f = &files[i];
        let file = f.file;
        let Some(body) = padded(f.value) else {
            continue;
        };
        let before = out.hops.len();
        let found = std::cell::RefCell::new(Vec::new());
        let include = |_: &str, _: &str, pattern: &str| -> Result<Vec<Included>, IncludeError> {
            let (dir, last) = match pattern.rsplit_once('/') {
                Some((d, l)) => (d, l),
                None => ("", pattern),
            };
            let mut hits: Vec<Included> = Vec::new();
            for (j, g) in files.iter().enumerate() {
                if j == i {
                    continue;
                }
                let by_path = g.paths.iter().any(|p| {
                    let (pd, pl) = p.rsplit_once('/').unwrap_or(("", p));
                    (dir.is_empty() || pd.ends_with(dir.trim_start_matches('/')) || pd == dir)
                        && super::load::wildcard(last, pl)
                });
                let by_key = g.paths.is_empty() && super::load::wildcard(last, &g.key);
                if by_path || by_key {
                    if let Some(t) = padded(g.value) {
                        found.borrow_mut().push(j);
                        hits.push(Included {
                            name: g.file.to_string(),
                            text: t,
                            system: false,
                        });
                    }
                }
            }
            if hits.is_empty() && !super::load::is_glob(pattern) {
                return Err(IncludeError::Missing(format!(
                    "include {pattern}: no ConfigMap key of the input is mounted there"
                )));
            }
            Ok(hits)
        };
        let what = format!("ConfigMap {}: {}", f.configmap, f.key);
        let at = Loc::new(file, f.value.line);
        let result = match kind {
            Kind::Nginx => nginx::facts(file, &body, &include, out),
            _ => haproxy::facts(file, &body, out),
        };
        match result {
            Ok(()) => out.used(at, format!("{what} ({})", kind.name())),
            Err(e) => out.warnings.push((
                e.at.clone(),
                super::Warning::Embedded {
                    what: what.clone(),
                    error: e.message,
                },
            )),
        }
        for j in found.into_inner() {
            included[j] = true;
        }
        by_cm
            .entry(f.configmap.clone())
            .or_default()
            .extend(before..out.hops.len());
    }
    by_cm
}

/// A workload whose configuration is not in the input: its image's own
/// configuration, which reads no PROXY header. Listeners at the ports the
/// Service targets.
pub(crate) fn image_hop(w: &Workload, ports: &[u16], out: &mut Facts) -> usize {
    let nginx = w.images.iter().any(|i| i.contains("nginx"));
    let hop = out.hops.len();
    out.hops.push(Hop {
        name: format!("{} (image {})", w.name, w.images.join(", ")).into(),
        role: Role::Proxy,
        kind: Kind::Kubernetes,
        at: w.at.clone(),
        listeners: ports
            .iter()
            .map(|p| Listener {
                host: None,
                port: Some(*p),
                expects: Expects::Nothing,
                passthrough: false,
                refuses: None,
                ssl: false,
                trust: Trust::Unused,
                fix: if nginx {
                    "nginx-listen-proxy-protocol"
                } else {
                    "disable-at-sender"
                },
                at: w.at.clone(),
            })
            .collect(),
        upstreams: Vec::new(),
    });
    hop
}
