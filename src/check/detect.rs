//! What kind of configuration a text is, from its content.
//!
//! The order matters: anything that parses as a YAML or JSON mapping is
//! YAML (Kubernetes objects, Helm values, Traefik, Envoy), never nginx,
//! even when a value holds `server { … }`; a Helm template is said to be
//! one before any parser sees its `{{ }}`; text kinds (HAProxy sections,
//! TOML tables, nginx directives, a Caddyfile) come last.

use super::yaml::{Node, Value};
use super::Kind;

/// What [`detect`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Detected {
    /// Nothing but blank lines and comments.
    Empty,
    /// A template left in (`{{ .Values … }}`, Jinja, Terraform), at this
    /// line; `true` when it is Helm's.
    Template(usize, bool),
    /// YAML or JSON: parse it, then [`yaml_kind`] tells which.
    Yaml,
    /// A text kind: nginx, HAProxy, Traefik TOML, a Caddyfile.
    Text(Kind),
    /// None of the kinds `check` reads.
    Unknown,
}

/// The lines that carry something (not blank, not a `#` comment).
fn significant(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines().enumerate().filter_map(|(i, l)| {
        let t = l.trim();
        (!t.is_empty() && !t.starts_with('#') && !t.starts_with("//")).then_some((i + 1, t))
    })
}

/// Where `mark` stands on a line outside quotes (`"…{{ x }}…"` is data a
/// chart passes on, `key: {{ x }}` is a template).
fn unquoted(line: &str, mark: &str) -> bool {
    // Almost every line holds no mark at all: one search says so, and the
    // walk below (a comparison at every character) is for the few that do.
    if !line.contains(mark) {
        return false;
    }
    let mut quote: Option<char> = None;
    let mut prev = ' ';
    for (i, c) in line.char_indices() {
        match (quote, c) {
            (None, _) if line[i..].starts_with(mark) => return true,
            (None, '"' | '\'') => quote = Some(c),
            // A comment (`# {{ .Values.x }}` explains, it does not template).
            (None, '#') if prev.is_whitespace() => return false,
            (Some(q), c) if c == q => quote = None,
            _ => {}
        }
        prev = c;
    }
    false
}

/// A template left unrendered: Go templates (Helm, Plural) and Jinja
/// (`{{ x }}`, `{%- if %}`) outside quotes, Terraform directives (`%{ if }`).
fn template_line(text: &str) -> Option<(usize, bool)> {
    const HELM: [&str; 7] = [
        ".Values",
        ".Release",
        ".Chart",
        ".Capabilities",
        "include \"",
        "template \"",
        "toYaml",
    ];
    // Every template holds one of these: a text without them (most) is
    // done with a search each, not a walk of every line.
    if !["{{", "{%", "%{"].iter().any(|m| text.contains(m)) {
        return None;
    }
    significant(text).find_map(|(n, l)| {
        // Every mark holds a `{`: most lines are done with one search.
        if !l.contains('{') {
            return None;
        }
        let go = unquoted(l, "{{") || unquoted(l, "{%");
        let terraform = l.starts_with("%{") || unquoted(l, "%{ ") || unquoted(l, "%{~");
        (go || terraform).then(|| (n, go && HELM.iter().any(|m| l.contains(m))))
    })
}

/// `key:` or `key: value` (YAML's block mapping), `- item`, `---`.
fn yaml_line(l: &str) -> bool {
    if l == "---" || l.starts_with("--- ") || l.starts_with("- ") || l == "-" || l == "%YAML" {
        return true;
    }
    let key_end = if let Some(rest) = l.strip_prefix('"') {
        rest.find('"').map(|i| i + 2)
    } else if let Some(rest) = l.strip_prefix('\'') {
        rest.find('\'').map(|i| i + 2)
    } else {
        l.find(':')
            .filter(|&i| i > 0 && !l[..i].contains(['{', '}', ';', '[', '"']))
    };
    match key_end {
        Some(i) => {
            let after = &l[i..];
            after == ":" || after.starts_with(": ") || after.starts_with(":\t")
        }
        None => false,
    }
}

/// nginx directives of the main context: a first word that is one of them
/// makes the text nginx even when no line ends with `;` (a truncated file).
const NGINX_MAIN: [&str; 16] = [
    "user",
    "worker_processes",
    "pid",
    "error_log",
    "events",
    "http",
    "stream",
    "mail",
    "include",
    "load_module",
    "upstream",
    "daemon",
    "worker_rlimit_nofile",
    "pcre_jit",
    "env",
    "thread_pool",
];

const HAPROXY_SECTIONS: [&str; 5] = ["global", "defaults", "frontend", "backend", "listen"];

/// The kind of a text, from its content.
pub(crate) fn detect(text: &str) -> Detected {
    let Some((_, first)) = significant(text).next() else {
        return Detected::Empty;
    };
    if let Some((line, helm)) = template_line(text) {
        return Detected::Template(line, helm);
    }
    if let Some(kind) = super::mail::detect(text) {
        return Detected::Text(kind);
    }
    // TOML's `[table]` before JSON's `[`.
    let toml_table = |l: &str| {
        l.starts_with('[')
            && l.ends_with(']')
            && l[1..l.len() - 1]
                .chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '"' | '['))
            && l.len() > 2
    };
    if toml_table(first) {
        return Detected::Text(Kind::Traefik);
    }
    if first.starts_with('{') || first.starts_with('[') {
        // JSON (kubectl -o json) or YAML flow; a Caddyfile's global
        // options block (`{` then a directive) is not.
        let after = text.trim_start()[1..].trim_start();
        if first.starts_with('[') || after.starts_with(['"', '}']) || first != "{" {
            return Detected::Yaml;
        }
    }
    if yaml_line(first) {
        return Detected::Yaml;
    }
    // Text kinds: HAProxy's section keywords at the start of a line.
    let haproxy = text.lines().any(|l| {
        if l.starts_with([' ', '\t']) {
            return false;
        }
        let word = l.split_whitespace().next().unwrap_or("");
        HAPROXY_SECTIONS.contains(&word) && !l.contains(':') && !l.trim_end().ends_with([';', '{'])
    });
    if haproxy {
        return Detected::Text(Kind::Haproxy);
    }
    let directives = significant(text).any(|(_, l)| l.ends_with(';'));
    let first_word = first
        .split(|c: char| c.is_whitespace() || c == '{' || c == ';')
        .next()
        .unwrap_or("");
    if directives || NGINX_MAIN.contains(&first_word) || first_word == "server" {
        return Detected::Text(Kind::Nginx);
    }
    if significant(text).any(|(_, l)| l.contains(" = ")) && !text.contains('{') {
        return Detected::Text(Kind::Traefik);
    }
    // A Caddyfile: its global options block, or a site address first
    // (`example.com {`, `:443`, `http://…`), and no `key = value` (HCL).
    let site = |w: &str| {
        w.contains('.') || w.starts_with(':') || w.contains("://") || w.starts_with("localhost")
    };
    let assignments = significant(text).any(|(_, l)| l.contains(" = "));
    if !assignments && (first == "{" || site(first_word)) {
        return Detected::Text(Kind::Caddy);
    }
    Detected::Unknown
}

/// The kind a file's well-known name says (`my.cnf`, `*.cnf`, Postfix's
/// `main.cf` and `master.cf`, `dovecot.conf`, `Caddyfile`), for texts whose
/// content alone doesn't tell.
pub(crate) fn from_name(name: &str) -> Option<Kind> {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    match base {
        "main.cf" | "master.cf" => Some(Kind::Postfix),
        "dovecot.conf" => Some(Kind::Dovecot),
        "Caddyfile" => Some(Kind::Caddy),
        _ if base.ends_with(".cnf") => Some(Kind::Mariadb),
        _ => None,
    }
}

/// A text that starts as JSON does (`{"`), not a Caddyfile's block.
pub(crate) fn is_json(text: &str) -> bool {
    let t = text.trim_start();
    t.starts_with('{') && t[1..].trim_start().starts_with('"') || t.starts_with('[')
}

/// TOML: a `[table]` header at the start of a line, or `key = value`.
pub(crate) fn is_toml(text: &str) -> bool {
    text.lines().any(|l| {
        let t = l.trim_start();
        t.starts_with('[')
            && !t.starts_with("[\"")
            && t.trim_end().ends_with(']')
            && !l.starts_with(' ')
    }) || text.lines().any(|l| l.contains(" = "))
}

/// The chart a `helm install NAME REPO/CHART` (or `helm upgrade
/// --install …`) written in a comment names.
pub(crate) fn chart_hint(text: &str) -> Option<&str> {
    text.lines()
        .filter_map(|l| l.trim_start().strip_prefix('#'))
        .find_map(|l| {
            let words: Vec<&str> = l.split_whitespace().collect();
            let at = words.iter().position(|w| *w == "helm")?;
            let verb = words.get(at + 1)?;
            if *verb != "install" && *verb != "upgrade" {
                return None;
            }
            // The chart: the first word after the release with a `/`, or the
            // second positional word.
            words[at + 2..]
                .iter()
                .filter(|w| !w.starts_with('-'))
                .nth(1)
                .copied()
        })
}

fn has_key(doc: &Node, key: &str) -> bool {
    doc.get(key).is_some()
}

/// Which YAML kind parsed documents are: Kubernetes objects, Traefik's
/// static or dynamic configuration, Envoy's, Caddy's JSON, else Helm values.
pub(crate) fn yaml_kind(docs: &[Node]) -> Kind {
    let maps = || docs.iter().filter(|d| matches!(d.value, Value::Map(_)));
    let object = |d: &Node| {
        d.get("kind")
            .and_then(Node::str)
            .is_some_and(|k| k.starts_with(|c: char| c.is_ascii_uppercase()))
    };
    if maps().any(object) {
        return Kind::Kubernetes;
    }
    if maps().any(|d| has_key(d, "entryPoints") || traefik_dynamic(d)) {
        return Kind::Traefik;
    }
    if maps().any(|d| has_key(d, "static_resources")) {
        return Kind::Envoy;
    }
    if maps().any(|d| d.path(&["apps", "http"]).is_some()) {
        return Kind::Caddy;
    }
    Kind::HelmValues
}

/// Traefik's dynamic configuration: `http:`/`tcp:` with routers, services
/// or serversTransports.
pub(crate) fn traefik_dynamic(doc: &Node) -> bool {
    ["http", "tcp"].iter().any(|p| {
        ["routers", "services", "serversTransports", "middlewares"]
            .iter()
            .any(|k| doc.path(&[p, k]).is_some())
    })
}

/// The documents hold nothing at all (`---` alone, `{}`, `[]`).
pub(crate) fn blank(docs: &[Node]) -> bool {
    docs.iter().all(|d| match &d.value {
        Value::Map(p) => p.is_empty(),
        Value::Seq(v) => v.is_empty(),
        Value::Scalar(s) => s.is_empty() || s == "~" || s == "null",
    })
}

/// What a YAML file that `check` understood nothing of looks like, when
/// its keys say so.
pub(crate) fn looks_like(docs: &[Node]) -> Option<&'static str> {
    const SIGNS: [(&[&str], &str); 8] = [
        (&["services", "version"], "a Docker Compose file"),
        (&["services", "networks"], "a Docker Compose file"),
        (&["hosts", "tasks"], "an Ansible playbook"),
        (&["resources", "patches"], "a Kustomize file"),
        (&["resources", "namespace"], "a Kustomize file"),
        (&["apiVersion", "entries"], "a Helm repository index"),
        (&["name", "version", "dependencies"], "a Helm Chart.yaml"),
        (&["ingressController", "proxy"], "Kong chart values"),
    ];
    for d in docs {
        for (keys, what) in SIGNS {
            if keys.iter().all(|k| has_key(d, k)) {
                return Some(what);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(text: &str) -> Option<Kind> {
        match detect(text) {
            Detected::Text(k) => Some(k),
            Detected::Yaml => {
                let docs = super::super::yaml::parse("t", text).ok()?;
                Some(yaml_kind(&docs))
            }
            _ => None,
        }
    }

    #[test]
    fn a_well_known_name_says_the_kind() {
        assert_eq!(from_name("/etc/mysql/my.cnf"), Some(Kind::Mariadb));
        assert_eq!(from_name("conf.d/50-server.cnf"), Some(Kind::Mariadb));
        assert_eq!(from_name("postfix/master.cf"), Some(Kind::Postfix));
        assert_eq!(from_name("dovecot.conf"), Some(Kind::Dovecot));
        assert_eq!(from_name("nginx.conf"), None);
        assert_eq!(from_name("traefik.toml"), None);
    }

    #[test]
    fn kinds_are_detected_from_content() {
        assert_eq!(kind("events {}\nhttp {\n}\n"), Some(Kind::Nginx));
        assert_eq!(
            kind("global\n  maxconn 1\nfrontend fe\n  bind :80\n"),
            Some(Kind::Haproxy)
        );
        assert_eq!(
            kind("apiVersion: v1\nkind: List\nitems: []\n"),
            Some(Kind::Kubernetes)
        );
        assert_eq!(
            kind("USER-SUPPLIED VALUES:\ncontroller:\n  config: {}\n"),
            Some(Kind::HelmValues)
        );
        assert_eq!(
            kind("entryPoints:\n  web:\n    address: \":80\"\n"),
            Some(Kind::Traefik)
        );
        assert_eq!(
            kind("[entryPoints.web]\naddress = \":80\"\n"),
            Some(Kind::Traefik)
        );
        assert_eq!(
            kind("static_resources:\n  listeners: []\n"),
            Some(Kind::Envoy)
        );
        assert_eq!(kind("server {\n    listen 80;\n}\n"), Some(Kind::Nginx));
        assert_eq!(kind("stream { server { listen 1; } }"), Some(Kind::Nginx));
        assert_eq!(kind("kind: ConfigMap\ndata: {}\n"), Some(Kind::Kubernetes));
        assert_eq!(
            kind("apiVersion: v1\nkind: ConfigMap\ndata: {}\n"),
            Some(Kind::Kubernetes)
        );
    }

    #[test]
    fn a_mapping_is_never_nginx() {
        // A chart's values whose snippet holds nginx blocks.
        let v = "controller:\n  config:\n    http-snippet: |\n      server {\n        listen 8080;\n      }\n";
        assert_eq!(kind(v), Some(Kind::HelmValues));
        // kubectl get -o json, one line and many.
        assert_eq!(
            kind(r#"{"apiVersion":"v1","kind":"Service","metadata":{"name":"x"}}"#),
            Some(Kind::Kubernetes)
        );
        assert_eq!(
            kind("{\n  \"apiVersion\": \"v1\",\n  \"kind\": \"List\",\n  \"items\": []\n}\n"),
            Some(Kind::Kubernetes)
        );
    }

    #[test]
    fn empty_truncated_templates_and_caddy() {
        assert_eq!(detect(""), Detected::Empty);
        assert_eq!(detect("\n# only a comment\n\n"), Detected::Empty);
        assert_eq!(
            kind("http { server { listen 80 proxy_pro"),
            Some(Kind::Nginx)
        );
        assert_eq!(
            detect("apiVersion: v1\nkind: Service\nmetadata:\n  name: {{ .Release.Name }}\n"),
            Detected::Template(4, true)
        );
        // Jinja and Terraform templates; a quoted `{{ }}` is data.
        assert_eq!(
            detect("api:\n  dashboard: {{ traefik_dashboard_enabled }}\n"),
            Detected::Template(2, false)
        );
        assert_eq!(
            detect("controller:\n%{ if x }\n  config: {}\n%{ endif }\n"),
            Detected::Template(2, false)
        );
        assert_eq!(
            detect("tcp:\n  50000: \"{{ .Release.Namespace }}/cjoc:50000:PROXY\"\n"),
            Detected::Yaml
        );
        assert_eq!(detect("a: b # {{ .Values.x }}\n"), Detected::Yaml);
        assert_eq!(
            kind("{\n  servers {\n    listener_wrappers {\n      proxy_protocol\n      tls\n    }\n  }\n}\nexample.com {\n  reverse_proxy app:8080\n}\n"),
            Some(Kind::Caddy)
        );
        assert_eq!(
            kind(":443 {\n  reverse_proxy app:8080\n}\n"),
            Some(Kind::Caddy)
        );
        assert_eq!(detect("just some words\n"), Detected::Unknown);
    }
}
