//! `ppctl check`: read the configuration of every hop (nginx, HAProxy,
//! Kubernetes objects, ingress-nginx Helm values), build the chain
//! client → load balancer → ingress/proxy → app, and judge each link with
//! the judge, before anything is deployed.
//!
//! Pure: text in, typed model out. Reading files (and following nginx's
//! `include`) is [`load`]'s job; rendering is `report::check`'s.

pub(crate) mod caddy;
pub(crate) mod chain;
pub(crate) mod detect;
pub(crate) mod dovecot;
pub(crate) mod gateway;
pub(crate) mod haproxy;
pub(crate) mod helm;
pub(crate) mod k8s;
pub(crate) mod live;
pub(crate) mod load;
pub(crate) mod mail;
pub(crate) mod mariadb;
pub(crate) mod nginx;
pub(crate) mod platforms;
pub(crate) mod postfix;
pub(crate) mod proxies;
pub(crate) mod toml;
pub(crate) mod traefik;
pub(crate) mod workloads;
pub(crate) mod yaml;

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

use ipnet::IpNet;

use crate::judge::{Expects, Finding, Fix};
use nginx::Includer;

/// Where a fact was read: a file (or `-`) and a 1-based line.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Loc {
    /// Shared by every fact of a file (a configuration of 200,000 server
    /// blocks holds a million facts; one name, not a million copies).
    pub file: Arc<str>,
    pub line: usize,
}

thread_local! {
    /// The file name the last [`Loc::new`] made: readers make their facts
    /// one file at a time, so this finds the shared name almost always.
    static LAST_FILE: std::cell::RefCell<Option<Arc<str>>> = const { std::cell::RefCell::new(None) };
}

impl Loc {
    pub(crate) fn new(file: &str, line: usize) -> Loc {
        let file = LAST_FILE.with(|last| {
            let mut last = last.borrow_mut();
            match last.as_ref() {
                Some(f) if &**f == file => f.clone(),
                _ => {
                    let f: Arc<str> = Arc::from(file);
                    *last = Some(f.clone());
                    f
                }
            }
        });
        Loc { file, line }
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
    /// Kubernetes objects (one, many, or a `kind: List`; YAML or JSON).
    Kubernetes,
    /// A chart's values (`helm get values`): ingress-nginx, HAProxy's and
    /// Traefik's charts, or an umbrella chart holding one of them.
    HelmValues,
    /// Traefik's static or dynamic configuration (YAML or TOML).
    Traefik,
    /// Envoy's static configuration (YAML).
    Envoy,
    /// A Caddyfile (or Caddy's JSON configuration).
    Caddy,
    /// Postfix's main.cf or master.cf.
    Postfix,
    /// Dovecot's dovecot.conf (and its `!include`s).
    Dovecot,
    /// MariaDB's (or MySQL's) my.cnf (and its `!include`s).
    Mariadb,
}

impl Kind {
    pub(crate) const ALL: [Kind; 10] = [
        Kind::Nginx,
        Kind::Haproxy,
        Kind::Kubernetes,
        Kind::HelmValues,
        Kind::Traefik,
        Kind::Envoy,
        Kind::Caddy,
        Kind::Postfix,
        Kind::Dovecot,
        Kind::Mariadb,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Kind::Nginx => "nginx",
            Kind::Haproxy => "haproxy",
            Kind::Kubernetes => "kubernetes",
            Kind::HelmValues => "helm",
            Kind::Traefik => "traefik",
            Kind::Envoy => "envoy",
            Kind::Caddy => "caddy",
            Kind::Postfix => "postfix",
            Kind::Dovecot => "dovecot",
            Kind::Mariadb => "mariadb",
        }
    }

    /// The kind a name says (`--kind NAME`).
    pub(crate) fn named(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.name() == name)
    }
}

/// The PROXY header a sender puts in front of a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
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
    /// As the JSON view names it.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Role::LoadBalancer => "load-balancer",
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
    /// Only these sources' (one list shared by the listeners it covers).
    List(Arc<[IpNet]>, Loc),
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
    /// Shared with the assumptions and findings about it.
    pub name: Arc<str>,
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
    pub hop: Arc<str>,
    pub message: String,
    /// A fix from the shared table that fits this platform best (shown
    /// before the finding's own fixes).
    pub fix: Option<&'static Fix>,
}

impl Found {
    /// The platform's fix first, then the finding's, without repeats.
    /// The finding's fixes for the same side as the platform's are left
    /// out: the platform's is that side's fix here (an Envoy Gateway
    /// receiver is not told to set ingress-nginx's `use-proxy-protocol`).
    pub(crate) fn fixes(&self) -> Vec<&'static Fix> {
        let mut out: Vec<&'static Fix> = self.fix.into_iter().collect();
        let side = self.fix.map(|f| f.side);
        for f in self.finding.fixes() {
            if Some(f.side) != side && !out.iter().any(|o| o.id == f.id) {
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
    pub hop: Arc<str>,
    /// Shared by the hops it is said of alike (many servers, one text).
    pub text: Arc<str>,
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

/// Something of a file that `check` used, or skipped and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Object {
    pub at: Loc,
    /// `ConfigMap ingress-nginx/ingress-nginx-controller`, `Deployment web`.
    pub name: String,
    pub seen: Seen,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Seen {
    Used,
    Skipped(SkipReason),
}

/// Why an object of the input gave nothing to the chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SkipReason {
    /// A kind of object `check` does not read (Secret, Ingress, Pod).
    NotRead,
    /// An object `check` reads, without PROXY settings (a Deployment of no
    /// known controller, a ConfigMap of none).
    NoProxySettings,
    /// A Service that is neither a load balancer nor an ingress
    /// controller's node ports.
    NoLoadBalancer,
    /// Turned off (`enabled: false`).
    Disabled,
    /// An object about something else than PROXY protocol (an EnvoyFilter
    /// that adds another filter).
    NotAboutProxy,
    /// A MariaDB option group of another server version than the newest
    /// one the files name (`[mariadb-10.6]` beside `[mariadb-10.11]`).
    OtherVersion,
}

/// A part of a file that could not be read; the rest was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Warning {
    /// An nginx `include` that names no file here (nginx -t would fail).
    MissingInclude { pattern: String, error: String },
    /// An `include` pattern of a form `check` does not match as glob(3)
    /// does: the files nginx includes there were not read.
    UnsupportedInclude { pattern: String, error: String },
    /// An absolute `include` read from this machine (no `--root`): the
    /// file may not be the one the server runs with.
    SystemInclude { path: String },
    /// A configuration held in a Kubernetes object (a ConfigMap's
    /// `nginx.conf`) that could not be read; the rest of the file was.
    Embedded { what: String, error: String },
}

/// One file read (an argument, stdin as `-`, or an nginx include) and
/// what it gave the chain.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct FileRead {
    pub name: String,
    /// The kind it was read as; `None` when it could not be read.
    pub kind: Option<Kind>,
    /// `--kind` said so (else detected from the content).
    pub forced: bool,
    /// What within the kind (`ingress-nginx chart`, `dynamic`).
    pub flavour: Option<&'static str>,
    /// The `include` that read it.
    pub included_from: Option<Loc>,
    pub hops: usize,
    pub listeners: usize,
    pub upstreams: usize,
    pub objects: Vec<Object>,
    pub warnings: Vec<(Loc, Warning)>,
    /// When it gave nothing: what it looks like, if its content says.
    pub looks_like: Option<&'static str>,
    /// Its includes gave the chain something.
    pub through_includes: bool,
    /// Not read: a file of a directory argument under the directory of
    /// nginx's main file (this one), which does not include it; nginx
    /// does not load it (`sites-available/*`).
    pub not_included_by: Option<String>,
}

impl FileRead {
    /// It gave the chain nothing: no hop, listener, upstream or object.
    pub(crate) fn gave_nothing(&self) -> bool {
        self.kind.is_some()
            && self.not_included_by.is_none()
            && !self.through_includes
            && self.hops == 0
            && self.listeners == 0
            && self.upstreams == 0
            && !self.objects.iter().any(|o| o.seen == Seen::Used)
    }
}

/// Everything `check` found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Check {
    pub files: Vec<FileRead>,
    /// Inputs that could not be read (each exits 2).
    pub errors: Vec<ParseError>,
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

    /// Nothing to judge: an input could not be read, or none of it
    /// describes a hop or a setting judged on its own (exit 2, never "no
    /// finding").
    pub(crate) fn unusable(&self) -> bool {
        !self.errors.is_empty() || self.nothing()
    }

    /// The inputs were read and gave nothing to judge.
    pub(crate) fn nothing(&self) -> bool {
        self.hops.is_empty() && self.found.is_empty()
    }

    /// A finding's fixes: on a mail or database server, the platform's fix
    /// then that server's own for the finding (`Finding::fixes_for` by
    /// protocol: Postfix's for SMTP, Dovecot's for IMAP, MariaDB's for
    /// MySQL); elsewhere [`Found::fixes`]. A fix that changes a Kubernetes
    /// object is offered only when the input holds Kubernetes objects or a
    /// chart's values: a plain nginx tree's `real-ip-lost` is not told
    /// about `externalTrafficPolicy`.
    pub(crate) fn fixes_of(&self, f: &Found) -> Vec<&'static Fix> {
        let mut fixes = self.fixes_for_server(f);
        if !self.has_kubernetes() {
            fixes.retain(|x| !x.kubernetes_only());
        }
        fixes
    }

    /// Whether any input was read as Kubernetes objects or a chart's values.
    fn has_kubernetes(&self) -> bool {
        self.files
            .iter()
            .any(|r| matches!(r.kind, Some(Kind::Kubernetes | Kind::HelmValues)))
    }

    /// The fixes before the Kubernetes filter (see [`Check::fixes_of`]).
    fn fixes_for_server(&self, f: &Found) -> Vec<&'static Fix> {
        let protocol = self
            .hops
            .iter()
            .find(|h| h.name == f.hop)
            .and_then(|h| mail::protocol(h.kind));
        let Some(protocol) = protocol else {
            return f.fixes();
        };
        let case = crate::judge::fixes::Case {
            protocol: Some(protocol),
            ..Default::default()
        };
        let mut out: Vec<&'static Fix> = f.fix.into_iter().collect();
        for x in f.finding.fixes_for(case) {
            if !out.iter().any(|o| o.id == x.id) {
                out.push(x);
            }
        }
        out.truncate(4);
        out
    }
}

/// A text that could not be read as its kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ParseError {
    /// Line 0: the whole file (it could not be read, or is empty).
    pub at: Loc,
    pub message: String,
    /// The kind it was read as, and whether `--kind` said so.
    pub read_as: Option<(Kind, bool)>,
}

impl ParseError {
    pub(crate) fn new(at: Loc, message: impl Into<String>) -> ParseError {
        ParseError {
            at,
            message: message.into(),
            read_as: None,
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.at.line == 0 {
            write!(f, "{}: {}", self.at.file, self.message)
        } else {
            write!(f, "{}: {}", self.at, self.message)
        }
    }
}

/// One input: its name, its text (or why it could not be read), and its
/// kind when forced.
#[derive(Debug, Clone)]
pub(crate) struct Input {
    pub name: String,
    pub text: Result<String, String>,
    pub kind: Option<Kind>,
    /// Listed from a directory argument (not named on its own).
    pub listed: bool,
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
    /// Every file read, arguments and includes, in order.
    pub files: Vec<FileRead>,
    /// Kubernetes objects, by file, read together once every input is in.
    pub kubernetes: Vec<(String, Vec<yaml::Node>)>,
    /// Objects used and skipped, and warnings, by file (sorted into
    /// [`FileRead`] at the end).
    pub objects: Vec<Object>,
    pub warnings: Vec<(Loc, Warning)>,
    /// Postfix's, Dovecot's and MariaDB's files, made into hops once every
    /// input is in.
    pub mail: mail::Pieces,
}

impl Facts {
    pub(crate) fn used(&mut self, at: Loc, name: impl Into<String>) {
        self.objects.push(Object {
            at,
            name: name.into(),
            seen: Seen::Used,
        });
    }

    pub(crate) fn skipped(&mut self, at: Loc, name: impl Into<String>, why: SkipReason) {
        self.objects.push(Object {
            at,
            name: name.into(),
            seen: Seen::Skipped(why),
        });
    }

    /// The record of a file read by name (the last one of that name).
    fn file_mut(&mut self, name: &str) -> Option<&mut FileRead> {
        self.files.iter_mut().rev().find(|f| f.name == name)
    }
}

/// A UTF-8 byte order mark is no configuration.
fn without_bom(text: &str) -> &str {
    text.strip_prefix('\u{feff}').unwrap_or(text)
}

/// Read one input as its kind (forced, or detected from its content).
fn read(
    input: &Input,
    text: &str,
    include: &Includer<'_>,
    facts: &mut Facts,
) -> Result<(), ParseError> {
    let name = input.name.as_str();
    let whole = |m: String| ParseError::new(Loc::new(name, 0), m);
    let force_hint = format!("force another with --kind KIND={name}");
    let detected = detect::detect(text);
    match detected {
        detect::Detected::Empty => {
            return Err(whole(if text.trim().is_empty() {
                "is empty: there is nothing to check (did the command before the pipe print nothing?)".into()
            } else {
                "holds only comments: there is nothing to check".into()
            }))
        }
        detect::Detected::Template(line, true) => {
            return Err(ParseError::new(
                Loc::new(name, line),
                "this is a Helm template ({{ }} left in): render it first (`helm template RELEASE CHART -f values.yaml | ppctl check -`) and check the result",
            ))
        }
        detect::Detected::Template(line, false) => {
            return Err(ParseError::new(
                Loc::new(name, line),
                "this is a template (Go, Jinja or Terraform directives left in): render it first (helm template, ansible's template module, terraform's templatefile) and check the result",
            ))
        }
        _ => {}
    }
    let kind = match (input.kind, detected, detect::from_name(name)) {
        (Some(k), _, _) => k,
        // A weak guess from the content (TOML's `key = value`, or nothing)
        // yields to the file's well-known name: `x.cnf` is MariaDB's.
        (None, detect::Detected::Text(Kind::Traefik) | detect::Detected::Unknown, Some(k)) => k,
        (None, detect::Detected::Text(k), _) => k,
        (None, detect::Detected::Yaml, _) => {
            let docs = yaml::parse(name, text).map_err(|mut e| {
                e.message = format!("{} (it looks like YAML or JSON; {force_hint})", e.message);
                e
            })?;
            let kind = detect::yaml_kind(&docs);
            set_kind(facts, name, kind, false);
            return read_yaml(name, kind, docs, detect::chart_hint(text), facts);
        }
        (None, _, _) => {
            return Err(whole(format!(
                "not a configuration check can tell: none of nginx, HAProxy, Kubernetes YAML or JSON, Helm values, Traefik, Envoy, Caddy, Postfix, Dovecot or MariaDB; {force_hint} ({})",
                Kind::ALL.map(Kind::name).join(", ")
            )))
        }
    };
    set_kind(facts, name, kind, input.kind.is_some());
    let hint = |mut e: ParseError| {
        e.read_as = Some((kind, input.kind.is_some()));
        e
    };
    match kind {
        Kind::Nginx => nginx::facts(name, text, include, facts).map_err(hint),
        Kind::Haproxy => haproxy::facts(name, text, facts).map_err(hint),
        Kind::Postfix => postfix::facts(name, text, facts).map_err(hint),
        Kind::Dovecot => dovecot::facts(name, text, include, facts).map_err(hint),
        Kind::Mariadb => mariadb::facts(name, text, include, facts).map_err(hint),
        Kind::Traefik if detect::is_toml(text) => {
            let doc = toml::parse(name, text).map_err(hint)?;
            traefik::facts(name, &[doc], facts);
            Ok(())
        }
        Kind::Caddy if !detect::is_json(text) => caddy::caddyfile(name, text, facts).map_err(hint),
        _ => {
            let docs = yaml::parse(name, text).map_err(hint)?;
            read_yaml(name, kind, docs, detect::chart_hint(text), facts).map_err(hint)
        }
    }
}

fn set_kind(facts: &mut Facts, name: &str, kind: Kind, forced: bool) {
    if let Some(f) = facts.file_mut(name) {
        f.kind = Some(kind);
        f.forced = forced;
    }
}

/// Parsed YAML (or JSON) documents, read as `kind`.
fn read_yaml(
    name: &str,
    kind: Kind,
    docs: Vec<yaml::Node>,
    chart: Option<&str>,
    facts: &mut Facts,
) -> Result<(), ParseError> {
    if detect::blank(&docs) {
        return Err(ParseError::new(
            Loc::new(name, 0),
            "holds no YAML content (only `---`, `{}` or `[]`): there is nothing to check",
        ));
    }
    if let Some(f) = facts.file_mut(name) {
        f.looks_like = detect::looks_like(&docs);
    }
    match kind {
        Kind::Traefik => traefik::facts(name, &docs, facts),
        Kind::Envoy => proxies::envoy(name, &docs, facts),
        Kind::Caddy => caddy::json(name, &docs, facts),
        Kind::HelmValues => {
            for doc in &docs {
                helm::values(name, doc, chart, facts);
            }
        }
        // Objects refer to each other across files (a policy to its
        // Gateway, a Service to its Deployment): read once all are in.
        Kind::Kubernetes => facts.kubernetes.push((name.to_string(), docs)),
        Kind::Nginx | Kind::Haproxy | Kind::Postfix | Kind::Dovecot | Kind::Mariadb => {}
    }
    Ok(())
}

/// Parse every input (nginx includes resolved by `include`) and judge the
/// chain they make. Inputs that cannot be read are in [`Check::errors`].
/// Each input's text is dropped once read: what stays is its facts.
pub(crate) fn check(inputs: Vec<Input>, include: &Includer<'_>) -> Check {
    let mut facts = Facts::default();
    let mut errors: Vec<Option<ParseError>> = Vec::new();
    let mut reads = Vec::with_capacity(inputs.len());
    let listed: Vec<bool> = inputs.iter().map(|i| i.listed).collect();
    for mut input in inputs {
        let before = Marks::of(&facts);
        facts.files.push(FileRead {
            name: input.name.clone(),
            ..FileRead::default()
        });
        let text = std::mem::replace(&mut input.text, Ok(String::new()));
        let result = match text {
            Ok(text) => read(&input, without_bom(&text), include, &mut facts),
            Err(e) => Err(ParseError::new(Loc::new(&input.name, 0), e)),
        };
        let error = result.err();
        reads.push((before, Marks::of(&facts), error.is_some()));
        errors.push(error);
    }
    let unloaded = not_included(&facts, &reads, &listed);
    drop_included_twice(&mut facts, &reads, &unloaded);
    // A file nginx does not load cannot fail nginx: its errors go too.
    let mut errors: Vec<ParseError> = errors
        .into_iter()
        .enumerate()
        .filter(|(i, _)| !unloaded.iter().any(|(u, _)| u == i))
        .filter_map(|(_, e)| e)
        .collect();
    let kubernetes = std::mem::take(&mut facts.kubernetes);
    k8s::objects(&kubernetes, &mut facts);
    drop(kubernetes);
    errors.extend(mail::finish(&mut facts));
    let mut files = std::mem::take(&mut facts.files);
    let objects = std::mem::take(&mut facts.objects);
    let warnings = std::mem::take(&mut facts.warnings);
    let mut out = chain::build(facts);
    let index: std::collections::HashMap<String, usize> = files
        .iter()
        .enumerate()
        .map(|(i, f)| (f.name.clone(), i))
        .collect();
    let file_of = |file: &str| index.get(file).copied();
    for o in objects {
        if let Some(i) = file_of(&o.at.file) {
            files[i].objects.push(o);
        }
    }
    for (at, w) in warnings {
        if let Some(i) = file_of(&at.file) {
            files[i].warnings.push((at, w));
        }
    }
    for hop in &out.hops {
        if let Some(i) = file_of(&hop.at.file) {
            files[i].hops += 1;
        }
        for l in &hop.listeners {
            if let Some(i) = file_of(&l.at.file) {
                files[i].listeners += 1;
            }
        }
        for u in &hop.upstreams {
            if let Some(i) = file_of(&u.at.file) {
                files[i].upstreams += 1;
            }
        }
    }
    // Includes come after the file that includes them.
    for i in (0..files.len()).rev() {
        let gave = !files[i].gave_nothing() && files[i].kind.is_some();
        if let (true, Some(from)) = (gave, files[i].included_from.clone()) {
            if let Some(p) = file_of(&from.file) {
                files[p].through_includes = true;
            }
        }
    }
    out.files = files;
    out.errors = errors;
    out
}

/// How far each list of [`Facts`] had grown: one input's facts are those
/// between its marks before and after it was read.
#[derive(Debug, Clone, Copy)]
struct Marks {
    hops: usize,
    found: usize,
    assumed: usize,
    files: usize,
    objects: usize,
    warnings: usize,
}

impl Marks {
    fn of(f: &Facts) -> Marks {
        Marks {
            hops: f.hops.len(),
            found: f.found.len(),
            assumed: f.assumed.len(),
            files: f.files.len(),
            objects: f.objects.len(),
            warnings: f.warnings.len(),
        }
    }
}

/// `check DIR` where DIR holds nginx's main file (`nginx.conf`, at any
/// depth): the nginx files listed under its directory that it does not
/// include (`sites-available/*`, a snippet no site uses) are not loaded
/// by nginx, so they are not judged: each input's index and the main
/// file's name. Files named on their own, and directories without a main
/// file, are read as before; files of other kinds (a Service next to it)
/// are nginx's no matter.
fn not_included(
    facts: &Facts,
    reads: &[(Marks, Marks, bool)],
    listed: &[bool],
) -> Vec<(usize, String)> {
    use std::path::{Path, PathBuf};
    let own = |i: usize| &facts.files[reads[i].0.files];
    let is_main = |i: usize| {
        let f = own(i);
        listed[i]
            && !reads[i].2
            && f.kind == Some(Kind::Nginx)
            && Path::new(&f.name)
                .file_name()
                .is_some_and(|n| n == "nginx.conf")
    };
    // Each main file: its input, its directory, what it includes.
    let mains: Vec<(usize, PathBuf, std::collections::HashSet<String>)> = (0..reads.len())
        .filter(|&i| is_main(i))
        .map(|i| {
            let (b, a, _) = &reads[i];
            let path = plain_path(&own(i).name);
            let dir = Path::new(&path)
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_default();
            let included = facts.files[b.files + 1..a.files]
                .iter()
                .map(|f| plain_path(&f.name))
                .collect();
            (i, dir, included)
        })
        .collect();
    let mut out = Vec::new();
    for (i, &is_listed) in listed.iter().enumerate() {
        if !is_listed || own(i).kind != Some(Kind::Nginx) || mains.iter().any(|m| m.0 == i) {
            continue;
        }
        let path = plain_path(&own(i).name);
        // The nearest main file above it governs it.
        let main = mains
            .iter()
            .filter(|(_, dir, _)| Path::new(&path).starts_with(dir))
            .max_by_key(|(_, dir, _)| dir.components().count());
        if let Some((m, _, included)) = main {
            if !included.contains(&path) {
                out.push((i, own(*m).name.clone()));
            }
        }
    }
    out
}

/// `check DIR` (or `nginx.conf conf.d/site.conf`) names a file that another
/// input includes: nginx reads it only there, in the including file's
/// context (an http-level `set_real_ip_from` included next to it), so its
/// reading on its own is dropped, facts and listing; the included reading
/// stays. Only nginx's files: Dovecot's keep their pieces outside these
/// lists (`mail::Pieces`), so their double listing stays (a noted issue).
/// The inputs nginx does not load (`unloaded`, see [`not_included`]) are
/// dropped too, their own listing kept and said, and include nothing.
fn drop_included_twice(
    facts: &mut Facts,
    reads: &[(Marks, Marks, bool)],
    unloaded: &[(usize, String)],
) {
    let is_unloaded = |i: usize| unloaded.iter().any(|(u, _)| *u == i);
    // Each included file, and the input whose reading included it.
    let mut includers: std::collections::HashMap<String, Vec<usize>> =
        std::collections::HashMap::new();
    for (j, (b, a, _)) in reads.iter().enumerate() {
        if is_unloaded(j) {
            continue;
        }
        for f in &facts.files[b.files + 1..a.files] {
            if f.included_from.is_some() {
                includers.entry(plain_path(&f.name)).or_default().push(j);
            }
        }
    }
    let mut gone: Vec<usize> = Vec::new();
    for (i, (b, _, failed)) in reads.iter().enumerate() {
        let own = &facts.files[b.files];
        if is_unloaded(i) {
            gone.push(i);
            continue;
        }
        if *failed || own.kind != Some(Kind::Nginx) {
            continue;
        }
        let by_another = includers
            .get(&plain_path(&own.name))
            .is_some_and(|js| js.iter().any(|&j| j != i));
        if by_another {
            gone.push(i);
        }
    }
    if gone.is_empty() {
        return;
    }
    let ranges = |pick: fn(&Marks) -> usize| -> Vec<(usize, usize)> {
        gone.iter()
            .map(|&i| (pick(&reads[i].0), pick(&reads[i].1)))
            .collect()
    };
    without(&mut facts.hops, &ranges(|m| m.hops));
    without(&mut facts.found, &ranges(|m| m.found));
    without(&mut facts.assumed, &ranges(|m| m.assumed));
    // An input nginx does not load keeps its own line, saying so.
    let mut files = ranges(|m| m.files);
    for (k, &i) in gone.iter().enumerate() {
        if let Some((_, main)) = unloaded.iter().find(|(u, _)| *u == i) {
            let own = reads[i].0.files;
            facts.files[own] = FileRead {
                name: std::mem::take(&mut facts.files[own].name),
                kind: Some(Kind::Nginx),
                not_included_by: Some(main.clone()),
                ..FileRead::default()
            };
            files[k].0 += 1;
        }
    }
    without(&mut facts.files, &files);
    without(&mut facts.objects, &ranges(|m| m.objects));
    without(&mut facts.warnings, &ranges(|m| m.warnings));
}

/// `v` without the items whose index falls in one of `ranges` (in order,
/// not overlapping: one pass).
fn without<T>(v: &mut Vec<T>, ranges: &[(usize, usize)]) {
    let mut i = 0;
    let mut next = ranges.iter().peekable();
    v.retain(|_| {
        while next.peek().is_some_and(|&&(_, to)| to <= i) {
            next.next();
        }
        let keep = !next
            .peek()
            .is_some_and(|&&(from, to)| (from..to).contains(&i));
        i += 1;
        keep
    });
}

/// A path as written, without `./` steps (`./conf.d/a.conf` and
/// `conf.d/a.conf` are one file).
fn plain_path(name: &str) -> String {
    let path = std::path::Path::new(name);
    path.components()
        .filter(|c| !matches!(c, std::path::Component::CurDir))
        .collect::<std::path::PathBuf>()
        .to_string_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(inputs: &[(&str, &str)]) -> Check {
        let inputs: Vec<Input> = inputs
            .iter()
            .map(|(name, text)| Input {
                name: name.to_string(),
                text: Ok(text.to_string()),
                kind: None,
                listed: false,
            })
            .collect();
        let no_include =
            |_: &str, _: &str, p: &str| -> Result<Vec<nginx::Included>, nginx::IncludeError> {
                Err(nginx::IncludeError::Fatal(format!("no {p}")))
            };
        let c = check(inputs, &no_include);
        assert!(c.errors.is_empty(), "{:?}", c.errors);
        c
    }

    #[test]
    fn a_file_another_input_includes_is_read_only_there() {
        const SITE: &str =
            "server { listen 80 proxy_protocol; location / { proxy_pass http://127.0.0.1:9000; } }";
        let main = "events {}\nhttp {\n  set_real_ip_from 10.0.0.0/8;\n  real_ip_header proxy_protocol;\n  include conf.d/*.conf;\n}\n";
        let include =
            |_: &str, _: &str, _: &str| -> Result<Vec<nginx::Included>, nginx::IncludeError> {
                Ok(vec![nginx::Included {
                    name: "conf.d/site.conf".into(),
                    text: SITE.into(),
                    system: false,
                }])
            };
        let input = |name: &str, text: &str| Input {
            name: name.into(),
            text: Ok(text.into()),
            kind: None,
            listed: true,
        };
        // The directory's listing: the included file comes first, as `./`.
        let c = check(
            vec![
                input("./conf.d/site.conf", SITE),
                input("./nginx.conf", main),
            ],
            &include,
        );
        assert!(c.found.is_empty(), "{:?}", c.found);
        let names: Vec<&str> = c.files.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["./nginx.conf", "conf.d/site.conf"]);
        assert_eq!(c.hops.len(), 1);
        // A listed file under nginx.conf's directory that it does not
        // include is not loaded by nginx: said, not judged.
        let c = check(
            vec![
                input("./conf.d/site.conf", SITE),
                input("./nginx.conf", main),
                input("./sites-available/old.conf", SITE),
            ],
            &include,
        );
        assert!(c.found.is_empty(), "{:?}", c.found);
        let old = &c.files[2];
        assert_eq!(old.name, "./sites-available/old.conf");
        assert_eq!(old.not_included_by.as_deref(), Some("./nginx.conf"));
        assert_eq!(c.hops.len(), 1);
        // On its own it is judged on its own.
        let alone = check(vec![input("./conf.d/site.conf", SITE)], &include);
        assert_eq!(alone.found.len(), 1);
        assert_eq!(alone.found[0].finding, Finding::RealIpLost);
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
