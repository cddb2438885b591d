//! The exporter's modules (`probe --serve --config FILE`): named probe
//! settings, as blackbox_exporter's modules are. Each key mirrors a flag
//! of `ppctl probe`:
//!
//! ```yaml
//! modules:
//!   ingress_tls:
//!     protocol: http          # --protocol: http, tls, smtp, imap, pop3,
//!                             # mysql, postgres, redis, ssh, raw, auto
//!                             # (banner: raw, the name before --protocol)
//!     tls: true               # --tls: a ClientHello after the header
//!     sni: app.example.com    # --sni
//!     timeout: 8s             # the whole probe (4 attempts), as blackbox's
//!     expect: [accepts-v2]    # --expect (profiles; any one passes)
//!     expect_body: ok         # --expect-body
//!     expect_client_ip: [10.0.0.0/8] # --expect-client-ip
//!     preferred_ip_protocol: ip4  # which address of a name (blackbox's key)
//!     ip_protocol_fallback: true  # the other family when none of it
//!   mail:
//!     protocol: smtp
//!     greeting_timeout: 6s    # --greeting-timeout (smtp, imap, pop3,
//!     timeout: 30s            # mysql, ssh); under each attempt's share
//! ```
//!
//! `protocol` goes through probe's own mapping ([`Mode::of_selection`]),
//! so a module speaks as `ppctl probe --protocol` does; `auto` takes the
//! scraped target's well-known port, else the server's greeting.
//!
//! The YAML is read with `check`'s reader (line numbers, anchors, merge
//! keys, a cap on aliases), so an error names its line.

use std::net::SocketAddr;
use std::time::Duration;

use ipnet::IpNet;
use thiserror::Error;

use crate::check::yaml::{self, Node, Value};
use crate::diagnose::probe::{self, Expect, Expectation, HeaderKind, Mode};
use crate::duration::show;
use crate::protocol::{Selection, GREETING_TIMEOUT};

/// A module's `timeout` when it gives none: each of the four attempts gets
/// a quarter, which is `ppctl probe`'s own default wait (2 s), and it fits
/// Prometheus' default scrape timeout (10 s) with room to wait for a slot.
pub(crate) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(8);

/// The longest `timeout` a module may give.
pub(crate) const MAX_TIMEOUT: Duration = Duration::from_secs(60);

/// The most a config file may hold.
pub(crate) const MAX_CONFIG: usize = 1024 * 1024;

/// Which family of a name's addresses to probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IpFamily {
    /// Every address, in the resolver's order.
    Any,
    Ip4,
    Ip6,
}

impl IpFamily {
    pub(crate) fn name(self) -> &'static str {
        match self {
            IpFamily::Any => "any",
            IpFamily::Ip4 => "ip4",
            IpFamily::Ip6 => "ip6",
        }
    }
}

/// One module: how to probe a target named in a scrape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Module {
    pub name: String,
    /// `protocol` and `tls` together; `auto` is settled per target
    /// ([`Module::options`]).
    pub mode: Mode,
    /// `greeting_timeout`; `None`: [`GREETING_TIMEOUT`], within each
    /// attempt's share of the time.
    pub greeting_timeout: Option<Duration>,
    pub sni: Option<String>,
    /// The whole probe's time; a scrape's own timeout can only shorten it.
    pub timeout: Duration,
    pub expect: Expect,
    pub family: IpFamily,
    /// Probe the other family when the preferred one has no address.
    pub fallback: bool,
}

impl Module {
    fn new(name: &str, mode: Mode) -> Module {
        Module {
            name: name.to_string(),
            mode,
            greeting_timeout: None,
            sni: None,
            timeout: DEFAULT_TIMEOUT,
            expect: Expect::default(),
            family: IpFamily::Any,
            fallback: true,
        }
    }

    /// The probe's options for a run of `target_port` of at most
    /// `budget`: the attempts run one after the other, so each gets its
    /// share of it, for its connect, its waits and its whole. A server
    /// that speaks first gets the greeting's wait within the share (a
    /// scrape's shorter timeout shortens it too); `auto` takes the port's
    /// protocol when it is a well-known one.
    pub(crate) fn options(&self, budget: Duration, target_port: u16) -> probe::Options {
        let share = budget / HeaderKind::ALL.len() as u32;
        let mode = match self.mode {
            Mode::Speak(s) => {
                let wait = self
                    .greeting_timeout
                    .unwrap_or(GREETING_TIMEOUT)
                    .min(share * 3 / 4);
                let selection = s.protocol.map_or(Selection::Auto, Selection::One);
                Mode::of_selection(selection, Some(target_port), wait).0
            }
            other => other,
        };
        probe::Options {
            mode,
            timeout: share,
            max_time: share,
            sni: self.sni.clone(),
            expect: self.expect.clone(),
        }
    }

    /// The addresses to probe among `addrs` (a name's), preferred family
    /// first; empty when the module allows none of them.
    pub(crate) fn pick(&self, addrs: &[SocketAddr]) -> Vec<SocketAddr> {
        let wanted = |a: &SocketAddr| match self.family {
            IpFamily::Any => true,
            IpFamily::Ip4 => a.is_ipv4(),
            IpFamily::Ip6 => a.is_ipv6(),
        };
        let preferred: Vec<SocketAddr> = addrs.iter().copied().filter(wanted).collect();
        if !preferred.is_empty() || !self.fallback {
            return preferred;
        }
        addrs.to_vec()
    }
}

/// The modules, in the config's order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Modules {
    list: Vec<Module>,
}

/// What is wrong with a config, and where.
#[derive(Debug, Error, PartialEq, Eq)]
pub(crate) enum ConfigError {
    #[error("line {line}: {message}")]
    Yaml { line: usize, message: String },
    #[error(
        "the config is empty: give `modules:` with at least one module (see docs/monitoring.md)"
    )]
    Empty,
    #[error("line {line}: {what}")]
    Shape { line: usize, what: String },
    #[error("line {line}: module {module:?}: unknown key {key:?}{hint}; a module takes {}", KEYS.join(", "))]
    UnknownKey {
        line: usize,
        module: String,
        key: String,
        hint: String,
    },
    #[error("line {line}: module {module:?}: {key}: {why}")]
    Value {
        line: usize,
        module: String,
        key: &'static str,
        why: String,
    },
}

/// Every key a module takes.
const KEYS: [&str; 10] = [
    "protocol",
    "greeting_timeout",
    "tls",
    "sni",
    "timeout",
    "expect",
    "expect_body",
    "expect_client_ip",
    "preferred_ip_protocol",
    "ip_protocol_fallback",
];

impl Modules {
    /// Without `--config`: one module per mode, named after it (`http`,
    /// `tls`, `banner`), with the defaults and no expectation.
    pub(crate) fn builtin() -> Modules {
        Modules {
            list: [Mode::Http, Mode::Tls, Mode::Banner]
                .into_iter()
                .map(|m| Module::new(m.name(), m))
                .collect(),
        }
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &Module> {
        self.list.iter()
    }

    pub(crate) fn get(&self, name: &str) -> Option<&Module> {
        self.list.iter().find(|m| m.name == name)
    }

    /// The module a scrape gets when it names none: the only one, else
    /// `http`.
    pub(crate) fn default_module(&self) -> Option<&Module> {
        match self.list.as_slice() {
            [only] => Some(only),
            _ => self.get("http"),
        }
    }

    pub(crate) fn names(&self) -> Vec<&str> {
        self.list.iter().map(|m| m.name.as_str()).collect()
    }

    /// The longest `timeout` of any module.
    pub(crate) fn longest(&self) -> Duration {
        self.list
            .iter()
            .map(|m| m.timeout)
            .max()
            .unwrap_or(DEFAULT_TIMEOUT)
    }

    /// Read a config's text (`file` names it in errors from the YAML
    /// reader).
    pub(crate) fn parse(file: &str, text: &str) -> Result<Modules, ConfigError> {
        let docs = yaml::parse(file, text).map_err(|e| ConfigError::Yaml {
            line: e.at.line,
            message: e.message,
        })?;
        let doc = match docs.as_slice() {
            [] => return Err(ConfigError::Empty),
            [doc] => doc,
            [_, second, ..] => {
                return Err(shape(
                    second.line,
                    "one YAML document is read; this is a second (remove the `---`)",
                ))
            }
        };
        let Value::Map(top) = &doc.value else {
            return Err(shape(
                doc.line,
                "the config is a mapping with `modules:` at the top",
            ));
        };
        let mut modules = None;
        for (key, value) in top {
            match key.str() {
                Some("modules") => modules = Some(value),
                other => {
                    return Err(shape(
                        key.line,
                        &format!(
                            "unknown top-level key {:?}: the config has `modules:` only",
                            other.unwrap_or("")
                        ),
                    ))
                }
            }
        }
        let Some(modules) = modules else {
            return Err(ConfigError::Empty);
        };
        let Value::Map(pairs) = &modules.value else {
            return Err(shape(
                modules.line,
                "`modules:` maps each module's name to its settings",
            ));
        };
        let mut list: Vec<Module> = Vec::new();
        for (name, body) in pairs {
            let name_text = name.str().unwrap_or("");
            if !valid_name(name_text) {
                return Err(shape(name.line, &format!(
                    "{name_text:?} is not a module name: use letters, digits, '_', '-' and '.' (it goes in a URL: module=NAME)"
                )));
            }
            if list.iter().any(|m| m.name == name_text) {
                return Err(shape(
                    name.line,
                    &format!("module {name_text:?} is given twice"),
                ));
            }
            list.push(module(name_text, body)?);
        }
        if list.is_empty() {
            return Err(ConfigError::Empty);
        }
        Ok(Modules { list })
    }
}

fn shape(line: usize, what: &str) -> ConfigError {
    ConfigError::Shape {
        line,
        what: what.to_string(),
    }
}

/// A module name goes into URLs and label values as it is.
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// One module's settings (`body` may be empty: every default).
fn module(name: &str, body: &Node) -> Result<Module, ConfigError> {
    let mut m = Module::new(name, Mode::Http);
    let mut tls = false;
    let mut protocol: Option<(Selection, usize, &str)> = None;
    let pairs: &[(Node, Node)] = match &body.value {
        Value::Map(pairs) => pairs,
        Value::Scalar(s) if s.is_empty() || s == "~" || s == "null" => &[],
        _ => {
            return Err(shape(
                body.line,
                &format!("module {name:?}: its settings are a mapping (key: value)"),
            ))
        }
    };
    for (key, value) in pairs {
        let key_text = key.str().unwrap_or("");
        let bad = |k: &'static str, why: String| ConfigError::Value {
            line: value.line,
            module: name.to_string(),
            key: k,
            why,
        };
        match key_text {
            "protocol" => {
                let text = scalar(value).unwrap_or("");
                // `banner`, the name before `--protocol`, is raw's.
                let name = if text == "banner" { "raw" } else { text };
                let Some(selection) = Selection::from_name(name) else {
                    let names: Vec<&str> = Selection::ALL.iter().map(|s| s.name()).collect();
                    return Err(bad(
                        "protocol",
                        format!(
                            "{text:?} is not a protocol: {} (as probe's --protocol; banner is raw)",
                            names.join(", ")
                        ),
                    ));
                };
                protocol = Some((selection, value.line, text));
            }
            "greeting_timeout" => {
                let wait = duration(value).map_err(|why| bad("greeting_timeout", why))?;
                m.greeting_timeout = Some(wait);
            }
            "starttls" => {
                return Err(bad(
                    "starttls",
                    "probe judges the PROXY layer and does not take starttls (as probe's --starttls): test the upgrade with `ppctl send --protocol smtp --starttls`".into(),
                ))
            }
            "tls" => tls = boolean(value).map_err(|why| bad("tls", why))?,
            "sni" => {
                let sni = scalar(value).unwrap_or("");
                if sni.is_empty() || !sni.chars().all(|c| c.is_ascii_graphic()) {
                    return Err(bad("sni", format!("{sni:?} is not a server name")));
                }
                m.sni = Some(sni.to_string());
            }
            "timeout" => {
                m.timeout = duration(value).map_err(|why| bad("timeout", why))?;
            }
            "expect" => {
                m.expect.forms = list(value)
                    .iter()
                    .map(|s| {
                        Expectation::ALL
                            .into_iter()
                            .find(|e| e.name() == s)
                            .ok_or_else(|| {
                                bad(
                                    "expect",
                                    format!(
                                        "{s:?} is not a profile: use {}",
                                        Expectation::ALL.map(Expectation::name).join(", ")
                                    ),
                                )
                            })
                    })
                    .collect::<Result<_, _>>()?;
            }
            "expect_body" => match scalar(value) {
                Some(s) => m.expect.body = Some(s.to_string()),
                None => return Err(bad("expect_body", "give the text to look for".into())),
            },
            "expect_client_ip" => {
                m.expect.client_ip = list(value)
                    .iter()
                    .map(|s| {
                        s.parse::<IpNet>()
                            .or_else(|_| s.parse::<std::net::IpAddr>().map(IpNet::from))
                            .map_err(|_| {
                                bad(
                                    "expect_client_ip",
                                    format!("{s:?} is not a CIDR or IP (e.g. 10.0.0.0/8, 192.0.2.1, ::1)"),
                                )
                            })
                    })
                    .collect::<Result<_, _>>()?;
            }
            "preferred_ip_protocol" => {
                m.family = match scalar(value) {
                    Some("ip4") => IpFamily::Ip4,
                    Some("ip6") => IpFamily::Ip6,
                    Some("any") => IpFamily::Any,
                    other => {
                        return Err(bad(
                            "preferred_ip_protocol",
                            format!("{:?} is not ip4, ip6 or any", other.unwrap_or("")),
                        ))
                    }
                }
            }
            "ip_protocol_fallback" => {
                m.fallback = boolean(value).map_err(|why| bad("ip_protocol_fallback", why))?
            }
            other => {
                let kebab = other.replace('-', "_");
                let hint = if KEYS.contains(&kebab.as_str()) {
                    format!(" (did you mean {kebab}? keys are snake_case)")
                } else {
                    String::new()
                };
                return Err(ConfigError::UnknownKey {
                    line: key.line,
                    module: name.to_string(),
                    key: other.to_string(),
                    hint,
                });
            }
        }
    }
    let wrong = |line: usize, key: &'static str, why: String| ConfigError::Value {
        line,
        module: name.to_string(),
        key,
        why,
    };
    if let Some((selection, line, written)) = protocol {
        m.mode = Mode::of_selection(selection, None, GREETING_TIMEOUT).0;
        if tls && !matches!(m.mode, Mode::Http | Mode::Tls) {
            return Err(wrong(line, "tls", format!(
                "tls: true and protocol {written} ask for different things: give one of them (as probe's --tls and --protocol)"
            )));
        }
    }
    if tls {
        m.mode = Mode::Tls;
    }
    let share = m.timeout / HeaderKind::ALL.len() as u32;
    match (m.greeting_timeout, m.mode) {
        (Some(wait), Mode::Speak(_)) if wait >= share => {
            return Err(wrong(body.line, "greeting_timeout", format!(
                "{} is not shorter than each attempt's share of timeout ({} of 4 attempts is {}): raise timeout or lower greeting_timeout (as probe's --greeting-timeout under --max-time)",
                show(wait), show(m.timeout), show(share)
            )));
        }
        (Some(_), mode) if !matches!(mode, Mode::Speak(_)) => {
            return Err(wrong(body.line, "greeting_timeout", format!(
                "only a server that speaks first is waited for (protocol smtp, imap, pop3, mysql, ssh or auto), not {}",
                mode.protocol().name()
            )));
        }
        _ => {}
    }
    if m.sni.is_some() && m.mode != Mode::Tls {
        return Err(ConfigError::Value {
            line: body.line,
            module: name.to_string(),
            key: "sni",
            why: "sni needs tls: true (as probe's --sni needs --tls)".into(),
        });
    }
    Ok(m)
}

fn scalar(node: &Node) -> Option<&str> {
    match &node.value {
        Value::Scalar(_) => node.str(),
        _ => None,
    }
}

fn boolean(node: &Node) -> Result<bool, String> {
    match scalar(node) {
        Some("true") => Ok(true),
        Some("false") => Ok(false),
        other => Err(format!("{:?} is not true or false", other.unwrap_or(""))),
    }
}

/// A sequence of scalars, or one scalar (comma-separated, as the flags).
fn list(node: &Node) -> Vec<String> {
    match &node.value {
        Value::Seq(items) => items
            .iter()
            .map(|n| n.str().unwrap_or("").trim().to_string())
            .collect(),
        Value::Scalar(s) => s.split(',').map(|p| p.trim().to_string()).collect(),
        Value::Map(_) => vec![String::new()],
    }
}

/// `8s`, `500ms`, `1m`, or a bare number of seconds; more than 0 and at
/// most [`MAX_TIMEOUT`].
fn duration(node: &Node) -> Result<Duration, String> {
    let text = scalar(node).unwrap_or("");
    crate::duration::parse(text)
        .filter(|d| !d.is_zero() && *d <= MAX_TIMEOUT)
        .ok_or_else(|| {
            format!("{text:?} is not a usable timeout: give more than 0 and at most 60s (e.g. 500ms, 8s, 1m)")
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::probe::Class;

    fn parse(text: &str) -> Result<Modules, ConfigError> {
        Modules::parse("t.yml", text)
    }

    #[test]
    fn every_key_is_read() {
        let m = parse(
            "modules:\n  ingress:\n    tls: true\n    sni: app.example.com\n    timeout: 4s\n    expect: [accepts-v2, requires-v2]\n    expect_body: ok\n    expect_client_ip: 10.0.0.0/8, 192.0.2.1\n    preferred_ip_protocol: ip4\n    ip_protocol_fallback: false\n  smtp:\n    protocol: banner\n  plain: {}\n  bare:\n",
        )
        .expect("parses");
        assert_eq!(m.names(), ["ingress", "smtp", "plain", "bare"]);
        let i = m.get("ingress").unwrap();
        assert_eq!(i.mode, Mode::Tls);
        assert_eq!(i.sni.as_deref(), Some("app.example.com"));
        assert_eq!(i.timeout, Duration::from_secs(4));
        assert_eq!(
            i.expect.forms,
            [
                Expectation::AcceptsV2,
                Expectation::Class(Class::RequiresV2)
            ]
        );
        assert_eq!(i.expect.body.as_deref(), Some("ok"));
        assert_eq!(i.expect.client_ip.len(), 2);
        assert_eq!((i.family, i.fallback), (IpFamily::Ip4, false));
        assert_eq!(m.get("smtp").unwrap().mode, Mode::Banner);
        assert_eq!(m.get("plain").unwrap(), &Module::new("plain", Mode::Http));
        assert_eq!(m.get("bare").unwrap().timeout, DEFAULT_TIMEOUT);
        // protocol: tls is tls: true.
        let t = parse("modules:\n  t:\n    protocol: tls\n").unwrap();
        assert_eq!(t.get("t").unwrap().mode, Mode::Tls);
    }

    #[test]
    fn errors_name_the_line_and_the_key() {
        let e = |text: &str| parse(text).unwrap_err().to_string();
        assert!(e("modules:\n  a:\n    expect: requires-v3\n")
            .starts_with("line 3: module \"a\": expect: \"requires-v3\" is not a profile"));
        assert!(e("modules:\n  a:\n    expect-body: x\n").contains("did you mean expect_body?"));
        assert!(e("modules:\n  a:\n    timeout: 2m\n").contains("not a usable timeout"));
        assert!(e("modules:\n  a:\n    timeout: 0\n").contains("not a usable timeout"));
        assert!(e("modules:\n  a:\n    tls: yes\n").contains("not true or false"));
        assert!(e("modules:\n  a:\n    protocol: banner\n    tls: true\n").contains("banner"));
        assert!(e("modules:\n  a:\n    sni: x\n").contains("sni needs tls"));
        assert!(e("modules:\n  a b: {}\n").contains("not a module name"));
        assert!(e("modules:\n  a: {}\n  a: {}\n").contains("given twice"));
        assert!(e("module:\n  a: {}\n").contains("unknown top-level key \"module\""));
        assert!(e("modules: [a]\n").contains("maps each module's name"));
        assert_eq!(parse(""), Err(ConfigError::Empty));
        assert_eq!(parse("modules: {}\n"), Err(ConfigError::Empty));
        assert!(e("modules:\n  a: [\n").starts_with("line "));
        assert!(e("a: 1\n---\nb: 2\n").contains("second"));
    }

    #[test]
    fn anchors_and_merge_keys_work() {
        let m = parse(
            "modules:\n  a: &a {tls: true, timeout: 3s}\n  b:\n    <<: *a\n    sni: x.example\n",
        )
        .unwrap();
        let b = m.get("b").unwrap();
        assert_eq!((b.mode, b.timeout), (Mode::Tls, Duration::from_secs(3)));
    }

    #[test]
    fn the_budget_is_shared_by_the_four_attempts() {
        let m = Module::new("m", Mode::Http);
        let o = m.options(Duration::from_secs(8), 80);
        assert_eq!(
            (o.timeout, o.max_time),
            (Duration::from_secs(2), Duration::from_secs(2))
        );
    }

    fn speech(mode: Mode) -> (Option<&'static str>, Duration) {
        match mode {
            Mode::Speak(s) => (s.protocol.map(|p| p.name()), s.greeting_timeout),
            other => panic!("{other:?} speaks no protocol"),
        }
    }

    #[test]
    fn protocols_are_probes_own() {
        let m = parse(
            "modules:\n  mail:\n    protocol: smtp\n    greeting_timeout: 1500ms\n    timeout: 9s\n  db: {protocol: mysql}\n  any: {protocol: auto, timeout: 40s}\n  old: {protocol: banner}\n  raw: {protocol: raw}\n  web: {protocol: http, tls: true}\n",
        )
        .expect("parses");
        let mail = m.get("mail").unwrap();
        assert_eq!(mail.greeting_timeout, Some(Duration::from_millis(1500)));
        assert_eq!(
            speech(mail.options(Duration::from_secs(9), 2525).mode),
            (Some("smtp"), Duration::from_millis(1500))
        );
        // A scrape that leaves less time shortens the wait to fit.
        assert_eq!(
            speech(mail.options(Duration::from_secs(4), 2525).mode).1,
            Duration::from_millis(750)
        );
        // Without greeting_timeout: probe's 6 s, within the share.
        let db = m.get("db").unwrap();
        assert_eq!(
            speech(db.options(Duration::from_secs(8), 3306).mode),
            (Some("mysql"), Duration::from_millis(1500))
        );
        // auto: the target's well-known port, else found from the greeting.
        let any = m.get("any").unwrap();
        assert_eq!(
            speech(any.options(Duration::from_secs(40), 143).mode),
            (Some("imap"), GREETING_TIMEOUT)
        );
        assert_eq!(
            speech(any.options(Duration::from_secs(40), 10025).mode).0,
            None
        );
        assert_eq!(any.options(Duration::from_secs(40), 443).mode, Mode::Tls);
        assert_eq!(m.get("old").unwrap().mode, Mode::Banner);
        assert_eq!(m.get("raw").unwrap().mode, Mode::Banner);
        assert_eq!(m.get("web").unwrap().mode, Mode::Tls);
    }

    #[test]
    fn protocol_errors_say_what_the_flags_say() {
        let e = |text: &str| parse(text).unwrap_err().to_string();
        assert!(e("modules:\n  a:\n    protocol: smtps\n")
            .contains("\"smtps\" is not a protocol: http, tls, smtp"));
        assert!(e("modules:\n  a:\n    protocol: smtp\n    tls: true\n")
            .contains("tls: true and protocol smtp ask for different things"));
        assert!(
            e("modules:\n  a:\n    protocol: smtp\n    starttls: true\n")
                .contains("does not take starttls")
        );
        assert!(
            e("modules:\n  a:\n    protocol: smtp\n    greeting_timeout: 6s\n").contains(
                "is not shorter than each attempt's share of timeout (8s of 4 attempts is 2s)"
            )
        );
        assert!(e("modules:\n  a:\n    greeting_timeout: 1s\n")
            .contains("only a server that speaks first is waited for"));
    }

    #[test]
    fn a_family_is_preferred_and_falls_back() {
        let v4: SocketAddr = "127.0.0.1:80".parse().unwrap();
        let v6: SocketAddr = "[::1]:80".parse().unwrap();
        let mut m = Module::new("m", Mode::Http);
        m.family = IpFamily::Ip6;
        assert_eq!(m.pick(&[v4, v6]), [v6]);
        assert_eq!(m.pick(&[v4]), [v4]);
        m.fallback = false;
        assert!(m.pick(&[v4]).is_empty());
    }

    #[test]
    fn builtin_modules_and_the_default() {
        let b = Modules::builtin();
        assert_eq!(b.names(), ["http", "tls", "banner"]);
        assert_eq!(b.default_module().unwrap().name, "http");
        let one = parse("modules:\n  only: {}\n").unwrap();
        assert_eq!(one.default_module().unwrap().name, "only");
        let two = parse("modules:\n  a: {}\n  b: {}\n").unwrap();
        assert!(two.default_module().is_none());
    }
}
