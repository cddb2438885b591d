//! Postfix: main.cf (`name = value`) and master.cf (one service a line,
//! `-o name=value` overrides on the lines under it). A port's smtpd reads
//! a PROXY header when `smtpd_upstream_proxy_protocol = haproxy`, a
//! postscreen when `postscreen_upstream_proxy_protocol = haproxy`
//! (postconf(5); postscreen passes the client on to smtpd, which then
//! reads none): from the service's `-o`, else main.cf. Neither has a list
//! of senders: any peer that reaches the port can write the header.

use std::path::Path;

use super::nginx::{any_source, split_addr};
use super::{Assumption, Facts, Found, Hop, Kind, Listener, Loc, ParseError, Role, Trust};
use crate::judge::{fixes, Expects, Finding};

/// One `name = value` (main.cf) or `-o name=value` (master.cf).
#[derive(Debug, Clone)]
pub(crate) struct Param {
    pub name: String,
    pub value: String,
    pub at: Loc,
}

/// A master.cf service.
#[derive(Debug, Clone)]
pub(crate) struct Service {
    pub name: String,
    pub kind: String,
    pub command: String,
    pub opts: Vec<Param>,
    pub at: Loc,
}

/// One file of Postfix's.
#[derive(Debug)]
pub(crate) enum Piece {
    Main {
        file: String,
        params: Vec<Param>,
    },
    Master {
        file: String,
        services: Vec<Service>,
    },
}

/// Logical lines: a line that starts with white space continues the one
/// before (postconf(5), master(5)); comments and blank lines end nothing.
fn logical(text: &str) -> Vec<(usize, String)> {
    let mut out: Vec<(usize, String)> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let t = raw.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        if raw.starts_with([' ', '\t']) {
            if let Some(last) = out.last_mut() {
                last.1.push(' ');
                last.1.push_str(t);
                continue;
            }
        }
        out.push((i + 1, t.to_string()));
    }
    out
}

/// Whether a text is master.cf rather than main.cf.
fn is_master(text: &str) -> bool {
    logical(text).iter().any(|(_, l)| {
        let w: Vec<&str> = l.split_whitespace().collect();
        w.len() >= 8 && matches!(w[1], "inet" | "unix" | "unix-dgram" | "fifo" | "pass")
    })
}

/// Read main.cf or master.cf (told apart by their content).
pub(crate) fn facts(file: &str, text: &str, facts: &mut Facts) -> Result<(), ParseError> {
    let piece = if is_master(text) {
        Piece::Master {
            file: file.to_string(),
            services: master(file, text)?,
        }
    } else {
        Piece::Main {
            file: file.to_string(),
            params: main(file, text)?,
        }
    };
    if let Some(f) = facts.files.iter_mut().rev().find(|f| f.name == file) {
        f.flavour = Some(match piece {
            Piece::Main { .. } => "main.cf",
            Piece::Master { .. } => "master.cf",
        });
    }
    facts.mail.postfix.push(piece);
    Ok(())
}

fn main(file: &str, text: &str) -> Result<Vec<Param>, ParseError> {
    logical(text)
        .into_iter()
        .map(|(n, l)| match l.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() && !k.trim().contains(' ') => Ok(Param {
                name: k.trim().to_string(),
                value: v.trim().to_string(),
                at: Loc::new(file, n),
            }),
            _ => Err(ParseError::new(
                Loc::new(file, n),
                format!("not a main.cf line (`name = value`): {l}"),
            )),
        })
        .collect()
}

fn master(file: &str, text: &str) -> Result<Vec<Service>, ParseError> {
    // Each service's words with the physical line of each (an `-o` is
    // placed on its own line).
    let mut entries: Vec<Vec<(String, usize)>> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let t = raw.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        let words = t.split_whitespace().map(|w| (w.to_string(), i + 1));
        match entries.last_mut() {
            Some(last) if raw.starts_with([' ', '\t']) => last.extend(words),
            _ => entries.push(words.collect()),
        }
    }
    let mut out = Vec::new();
    for e in entries {
        let at = Loc::new(file, e[0].1);
        let w: Vec<&str> = e.iter().map(|(w, _)| w.as_str()).collect();
        if w.len() < 8 {
            return Err(ParseError::new(
                at,
                format!("a master.cf service needs 8 fields (service type private unpriv chroot wakeup maxproc command): {}", w.join(" ")),
            ));
        }
        let mut opts = Vec::new();
        let mut args = e[8..].iter();
        while let Some((a, line)) = args.next() {
            let text = if a == "-o" {
                match args.next() {
                    Some((v, _)) if v.starts_with('{') => {
                        // `-o { name = value with spaces }` (Postfix 3.0).
                        let mut s = v.trim_start_matches('{').to_string();
                        let mut closed = v.ends_with('}');
                        while !closed {
                            let Some((next, _)) = args.next() else { break };
                            s.push(' ');
                            s.push_str(next);
                            closed = next.ends_with('}');
                        }
                        s.trim_end_matches('}').trim().to_string()
                    }
                    Some((v, _)) => v.clone(),
                    None => break,
                }
            } else if let Some(v) = a.strip_prefix("-o") {
                v.to_string()
            } else {
                continue;
            };
            if let Some((k, v)) = text.split_once('=') {
                opts.push(Param {
                    name: k.trim().to_string(),
                    value: v.trim().to_string(),
                    at: Loc::new(file, *line),
                });
            }
        }
        out.push(Service {
            name: w[0].to_string(),
            kind: w[1].to_string(),
            command: w[7].to_string(),
            opts,
            at,
        });
    }
    Ok(out)
}

/// The value of a parameter for a service: its `-o`, else main.cf's, with
/// one `$name` or `${name}` expanded.
fn value<'a>(name: &str, opts: &'a [Param], main: &'a [Param]) -> Option<(String, &'a Loc)> {
    let find = |n: &str| {
        opts.iter()
            .rev()
            .find(|p| p.name == n)
            .or_else(|| main.iter().rev().find(|p| p.name == n))
    };
    let p = find(name)?;
    let v = p.value.trim();
    let var = v
        .strip_prefix("${")
        .and_then(|r| r.strip_suffix('}'))
        .or_else(|| v.strip_prefix('$'));
    match var {
        Some(other) if other != name => Some((
            find(other).map_or(String::new(), |o| o.value.clone()),
            &p.at,
        )),
        _ => Some((v.to_string(), &p.at)),
    }
}

/// The well-known ports of master.cf's service names (services(5)).
fn port_of(name: &str) -> Option<u16> {
    match name {
        "smtp" => Some(25),
        "submission" => Some(587),
        "smtps" | "submissions" => Some(465),
        "lmtp" => Some(24),
        p => p.parse().ok(),
    }
}

/// Debian's master.cf as shipped: smtpd on port 25, postscreen off.
fn default_master(main: &str) -> Vec<Service> {
    vec![Service {
        name: "smtp".into(),
        kind: "inet".into(),
        command: "smtpd".into(),
        opts: Vec::new(),
        at: Loc::new(main, 1),
    }]
}

fn loopback(host: &str) -> bool {
    host == "localhost"
        || host
            .trim_matches(['[', ']'])
            .parse::<std::net::IpAddr>()
            .is_ok_and(|a| a.is_loopback())
}

/// One Postfix: its main.cf (file, parameters) if given, its services,
/// and whether they are Debian's, assumed for a main.cf given alone.
struct Instance {
    main: Option<(String, Vec<Param>)>,
    services: Vec<Service>,
    assumed: bool,
}

/// main.cf and master.cf paired (by directory; one of each pairs
/// anyway), each smtpd or postscreen port a hop.
pub(crate) fn hops(pieces: Vec<Piece>, facts: &mut Facts) -> Vec<ParseError> {
    let mut mains = Vec::new();
    let mut masters = Vec::new();
    for p in pieces {
        match p {
            Piece::Main { file, params } => mains.push((file, params)),
            Piece::Master { file, services } => masters.push((file, services)),
        }
    }
    let dir = |f: &str| Path::new(f).parent().map(Path::to_path_buf);
    let mut instances: Vec<Instance> = Vec::new();
    let mut used = vec![false; mains.len()];
    for (file, services) in masters {
        let m = if mains.len() == 1 {
            Some(0)
        } else {
            mains.iter().position(|(f, _)| dir(f) == dir(&file))
        };
        if let Some(i) = m {
            used[i] = true;
        }
        instances.push(Instance {
            main: m.map(|i| mains[i].clone()),
            services,
            assumed: false,
        });
    }
    for (i, (file, params)) in mains.iter().enumerate() {
        if !used[i] {
            instances.push(Instance {
                main: Some((file.clone(), params.clone())),
                services: default_master(file),
                assumed: true,
            });
        }
    }
    let mut errors = Vec::new();
    for Instance {
        main,
        services,
        assumed,
    } in instances
    {
        let params: &[Param] = main.as_ref().map_or(&[], |(_, p)| p.as_slice());
        if let Some((file, _)) = &main {
            for p in params.iter().filter(|p| {
                p.name.ends_with("_upstream_proxy_protocol") || p.name == "inet_interfaces"
            }) {
                facts.used(p.at.clone(), format!("{} = {}", p.name, p.value));
            }
            if assumed {
                facts.assumed.push(Assumption {
                    at: Loc::new(file, 1),
                    hop: "postfix smtp (smtpd)".into(),
                    text: "no master.cf given: assumed Debian's (smtpd on port 25, postscreen off); give master.cf beside main.cf".into(),
                });
            }
        }
        let interfaces = value("inet_interfaces", &[], params)
            .map(|(v, _)| v)
            .unwrap_or_default();
        let local_only = !interfaces.is_empty()
            && (interfaces == "loopback-only"
                || interfaces
                    .split([',', ' '])
                    .filter(|s| !s.is_empty())
                    .all(loopback));
        for s in &services {
            if s.kind != "inet" || !matches!(s.command.as_str(), "smtpd" | "postscreen") {
                continue;
            }
            if !assumed {
                facts.used(s.at.clone(), format!("service {} ({})", s.name, s.command));
            }
            let param = if s.command == "postscreen" {
                "postscreen_upstream_proxy_protocol"
            } else {
                "smtpd_upstream_proxy_protocol"
            };
            let (expects, at) = match value(param, &s.opts, params) {
                Some((v, at)) if v == "haproxy" => (Expects::Header, at.clone()),
                Some((v, _)) if v.is_empty() => (Expects::Nothing, s.at.clone()),
                Some((v, at)) => {
                    errors.push(ParseError::new(
                        at.clone(),
                        format!("{param} = {v}: Postfix knows only `haproxy` (or empty: no PROXY header)"),
                    ));
                    continue;
                }
                None => (Expects::Nothing, s.at.clone()),
            };
            let (host, port) = match s.name.rsplit_once(':') {
                Some((h, p)) => (Some(h.trim_matches(['[', ']']).to_string()), port_of(p)),
                None => (None, port_of(&s.name)),
            };
            let host = host.or_else(|| local_only.then(|| "127.0.0.1".to_string()));
            let (host, _) = match host {
                Some(h) => split_addr(&h, 0),
                None => (None, None),
            };
            let local = host.as_deref().is_some_and(loopback);
            let ssl =
                value("smtpd_tls_wrappermode", &s.opts, params).is_some_and(|(v, _)| v == "yes");
            let name = format!(
                "postfix {} ({})",
                s.name.rsplit(':').next().unwrap_or(&s.name),
                s.command,
            );
            let trust = if local {
                Trust::List(
                    ["127.0.0.0/8", "::1/128"]
                        .iter()
                        .filter_map(|n| n.parse().ok())
                        .collect::<Vec<_>>()
                        .into(),
                    s.at.clone(),
                )
            } else {
                Trust::List(any_source(), at.clone())
            };
            if expects == Expects::Header && !local {
                facts.found.push(Found {
                    finding: Finding::Spoofable,
                    at: at.clone(),
                    hop: name.clone().into(),
                    message: format!(
                        "{param} has no list of senders: Postfix takes the header's address from any peer that reaches port {}, so a client that does can forge its address (bind the service to an address only the proxy reaches, or firewall the port)",
                        port.map_or("?".into(), |p| p.to_string())
                    ),
                    fix: Some(fixes::get("postfix-proxy-port-private")),
                });
            }
            facts.hops.push(Hop {
                name: name.into(),
                role: Role::Proxy,
                kind: Kind::Postfix,
                at: s.at.clone(),
                listeners: vec![Listener {
                    host,
                    port,
                    expects,
                    passthrough: false,
                    refuses: None,
                    ssl,
                    trust,
                    fix: "postfix-upstream-proxy-protocol",
                    at,
                }],
                upstreams: Vec::new(),
            });
        }
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;

    const MASTER: &str = "smtp      inet  n       -       y       -       1       postscreen\n  -o postscreen_upstream_proxy_protocol=haproxy\nsmtpd     pass  -       -       y       -       -       smtpd\nsubmission inet n       -       y       -       -       smtpd\n  -o syslog_name=postfix/submission\n  -o { smtpd_upstream_proxy_protocol = $mua_proxy }\n127.0.0.1:10025 inet n - n - - smtpd\n  -o smtpd_upstream_proxy_protocol=haproxy\npickup    unix  n       -       y       60      1       pickup\n";

    fn run(pieces: &[(&str, &str)]) -> Facts {
        let mut f = Facts::default();
        for (name, text) in pieces {
            facts(name, text, &mut f).unwrap();
        }
        let pieces = std::mem::take(&mut f.mail.postfix);
        let errors = hops(pieces, &mut f);
        assert!(errors.is_empty(), "{errors:?}");
        f
    }

    #[test]
    fn services_ports_and_overrides() {
        let f = run(&[
            (
                "pf/main.cf",
                "mua_proxy = haproxy\nsmtpd_upstream_proxy_protocol =\n",
            ),
            ("pf/master.cf", MASTER),
        ]);
        let got: Vec<(&str, Option<u16>, Expects)> = f
            .hops
            .iter()
            .map(|h| (&*h.name, h.listeners[0].port, h.listeners[0].expects))
            .collect();
        assert_eq!(
            got,
            [
                ("postfix smtp (postscreen)", Some(25), Expects::Header),
                ("postfix submission (smtpd)", Some(587), Expects::Header),
                ("postfix 10025 (smtpd)", Some(10025), Expects::Header),
            ]
        );
        // Two ports open to anyone; the loopback one is not.
        assert_eq!(f.found.len(), 2, "{:?}", f.found);
        assert_eq!(f.hops[0].listeners[0].at.line, 2);
    }

    #[test]
    fn main_cf_alone_assumes_debian_master_cf() {
        let f = run(&[("main.cf", "smtpd_upstream_proxy_protocol = haproxy\n")]);
        assert_eq!(f.hops.len(), 1);
        assert_eq!(f.hops[0].listeners[0].expects, Expects::Header);
        assert_eq!(f.hops[0].listeners[0].at, Loc::new("main.cf", 1));
        assert_eq!(f.assumed.len(), 1);
    }

    #[test]
    fn a_global_smtpd_setting_leaves_postscreen_plain() {
        let master = "smtp inet n - y - 1 postscreen\nsmtpd pass - - y - - smtpd\n";
        let f = run(&[
            ("main.cf", "smtpd_upstream_proxy_protocol = haproxy\n"),
            ("master.cf", master),
        ]);
        assert_eq!(f.hops[0].listeners[0].expects, Expects::Nothing);
    }
}
