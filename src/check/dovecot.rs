//! Dovecot: dovecot.conf with its `!include` and `!include_try` files
//! spliced in (conf.d/*.conf), `service X { inet_listener NAME { port,
//! address, haproxy = yes, ssl } }` and the top-level
//! `haproxy_trusted_networks`. A listener with `haproxy = yes` requires
//! the header, and takes it only from those networks: from anyone else
//! (and from everyone when the setting is not there) the connection is
//! dropped (`haproxy: Client not trusted`, tests/data/protocols).

use ipnet::IpNet;

use super::mail::{self, IncludeLine};
use super::nginx::{net, Includer};
use super::{Facts, Found, Hop, Kind, Listener, Loc, ParseError, Role, SkipReason, Trust};
use crate::judge::{fixes, Expects, Finding};

/// A setting with where it was written.
#[derive(Debug, Clone)]
struct Setting {
    key: String,
    value: String,
    at: Loc,
}

/// An `inet_listener` block of a service.
#[derive(Debug, Clone)]
struct InetListener {
    service: String,
    name: String,
    settings: Vec<Setting>,
    at: Loc,
}

impl InetListener {
    fn get(&self, key: &str) -> Option<&Setting> {
        self.settings.iter().rev().find(|s| s.key == key)
    }
}

/// One dovecot.conf (or a file of its conf.d given alone), includes
/// spliced in.
#[derive(Debug)]
pub(crate) struct Piece {
    file: String,
    includes: Vec<String>,
    settings: Vec<Setting>,
    /// Settings of a `protocol NAME { }` block, with the protocol's name:
    /// they count for that protocol's login service only.
    by_protocol: Vec<(String, Setting)>,
    listeners: Vec<InetListener>,
}

/// Dovecot's booleans: `yes`, `y` and `1` (any case) are true.
fn yes(s: &Setting) -> bool {
    matches!(s.value.to_ascii_lowercase().as_str(), "yes" | "y" | "1")
}

/// The protocol whose `protocol NAME { }` settings a service reads
/// (`imap-login` reads `protocol imap`).
fn protocol_of(service: &str) -> &str {
    match service.strip_suffix("-login").unwrap_or(service) {
        "managesieve" => "sieve",
        p => p,
    }
}

/// `haproxy_trusted_networks` as Dovecot reads it: entries up to the first
/// that is not an address or a CIDR (a host name), where it logs `Invalid
/// network` and stops; that entry, if any.
fn trusted_networks(value: &str) -> (Vec<IpNet>, Option<&str>) {
    let mut nets = Vec::new();
    for w in value.split([' ', ',']).filter(|w| !w.is_empty()) {
        match net(w) {
            Some(n) => nets.push(n),
            None => return (nets, Some(w)),
        }
    }
    (nets, None)
}

fn include_line(line: &str) -> Option<IncludeLine> {
    let (rest, required) = if let Some(r) = line.strip_prefix("!include_try") {
        (r, false)
    } else {
        (line.strip_prefix("!include")?, true)
    };
    if !rest.starts_with([' ', '\t']) {
        return None;
    }
    Some(IncludeLine {
        pattern: rest.trim().trim_matches('"').to_string(),
        required,
    })
}

/// A line without its comment (`#` outside quotes).
fn uncommented(line: &str) -> &str {
    let mut quote = false;
    for (i, c) in line.char_indices() {
        match c {
            '"' => quote = !quote,
            '#' if !quote => return &line[..i],
            _ => {}
        }
    }
    line
}

/// Read a dovecot.conf and what it includes.
pub(crate) fn facts(
    file: &str,
    text: &str,
    include: &Includer<'_>,
    facts: &mut Facts,
) -> Result<(), ParseError> {
    let (lines, includes) = mail::splice(file, text, Kind::Dovecot, &include_line, include, facts)?;
    let mut stack: Vec<(String, String, Loc)> = Vec::new();
    let mut settings = Vec::new();
    let mut by_protocol = Vec::new();
    let mut listeners: Vec<InetListener> = Vec::new();
    for line in lines {
        let t = uncommented(&line.text).trim();
        if t.is_empty() {
            continue;
        }
        if t == "}" {
            if stack.pop().is_none() {
                return Err(ParseError::new(line.at, "`}` without a section to close"));
            }
            continue;
        }
        // A section's `{` ends its line: doveconf refuses anything after
        // it (`Garbage after '{'`) and Dovecot does not start. A `{` after
        // an `=` is a value's (`%{user}`).
        if let Some((head, rest)) = t.split_once('{') {
            if !head.contains('=') && !rest.trim().is_empty() {
                return Err(ParseError::new(
                    line.at,
                    "text after a section's `{`: Dovecot refuses it (`Garbage after '{'`) and does not start; put each setting and the `}` on lines of their own",
                ));
            }
        }
        if let Some(head) = t.strip_suffix('{') {
            let mut w = head.split_whitespace();
            let name = w.next().unwrap_or("").to_string();
            let arg = w.next().unwrap_or("").trim_matches('"').to_string();
            if name == "inet_listener" {
                if let Some((_, service, _)) = stack.last().filter(|(n, _, _)| n == "service") {
                    listeners.push(InetListener {
                        service: service.clone(),
                        name: arg.clone(),
                        settings: Vec::new(),
                        at: line.at.clone(),
                    });
                }
            }
            stack.push((name, arg, line.at));
            continue;
        }
        let Some((k, v)) = t.split_once('=') else {
            continue;
        };
        let s = Setting {
            key: k.trim().to_string(),
            value: v.trim().trim_matches('"').to_string(),
            at: line.at,
        };
        match stack.as_slice() {
            [] => settings.push(s),
            [(p, name, _)] if p == "protocol" => by_protocol.push((name.clone(), s)),
            [(svc, _, _), (l, _, _)] if svc == "service" && l == "inet_listener" => {
                if let Some(last) = listeners.last_mut() {
                    last.settings.push(s);
                }
            }
            _ => {}
        }
    }
    if let Some((name, _, at)) = stack.pop() {
        return Err(ParseError::new(
            at,
            format!("section `{name}` is not closed (a `}}` is missing)"),
        ));
    }
    facts.mail.dovecot.push(Piece {
        file: file.to_string(),
        includes,
        settings,
        by_protocol,
        listeners,
    });
    Ok(())
}

/// The port a listener of this name has when none is written (Dovecot's
/// built-in services).
fn default_port(name: &str) -> Option<u16> {
    match name {
        "imap" => Some(143),
        "imaps" => Some(993),
        "pop3" => Some(110),
        "pop3s" => Some(995),
        "submission" => Some(587),
        "submissions" => Some(465),
        "sieve" => Some(4190),
        "lmtp" => Some(24),
        _ => None,
    }
}

/// All of the inputs' Dovecot files as one server (each file once): a
/// hop per service with an inet listener.
pub(crate) fn hops(pieces: Vec<Piece>, facts: &mut Facts) {
    let pieces = mail::once(pieces, |p| &p.file, |p| &p.includes);
    if pieces.is_empty() {
        return;
    }
    let settings: Vec<Setting> = pieces.iter().flat_map(|p| p.settings.clone()).collect();
    let by_protocol: Vec<(String, Setting)> =
        pieces.iter().flat_map(|p| p.by_protocol.clone()).collect();
    let get = |key: &str| settings.iter().rev().find(|s| s.key == key);
    // A service's setting: its protocol block's, else the top level's.
    let get_for = |service: &str, key: &str| {
        let protocol = protocol_of(service);
        by_protocol
            .iter()
            .rev()
            .find(|(p, s)| p == protocol && s.key == key)
            .map(|(_, s)| s)
            .or_else(|| get(key))
    };
    // Blocks of the same service and listener add up, the later setting
    // wins.
    let mut merged: Vec<InetListener> = Vec::new();
    for l in pieces.into_iter().flat_map(|p| p.listeners) {
        match merged
            .iter_mut()
            .find(|m| m.service == l.service && m.name == l.name)
        {
            Some(m) => m.settings.extend(l.settings),
            None => merged.push(l),
        }
    }
    let mut said: Vec<Loc> = Vec::new();
    for s in settings
        .iter()
        .chain(by_protocol.iter().map(|(_, s)| s))
        .filter(|s| s.key == "haproxy_trusted_networks")
    {
        let (_, stop) = trusted_networks(&s.value);
        if !said.contains(&s.at) {
            said.push(s.at.clone());
            facts.used(
                s.at.clone(),
                match stop {
                    Some(w) => format!(
                        "haproxy_trusted_networks = {} (read up to `{w}`: Dovecot takes addresses and CIDRs only, logs `Invalid network '{w}'` and trusts nothing after it)",
                        s.value
                    ),
                    None => format!("haproxy_trusted_networks = {}", s.value),
                },
            );
        }
    }
    let listen = get("listen").map(|s| s.value.clone()).unwrap_or_default();
    let mut services: Vec<String> = Vec::new();
    for l in &merged {
        if !services.contains(&l.service) {
            services.push(l.service.clone());
        }
    }
    for service in services {
        let trusted = get_for(&service, "haproxy_trusted_networks")
            .map(|s| (trusted_networks(&s.value).0, s.at.clone()));
        let mut listeners = Vec::new();
        let mut at = None;
        // Findings wait for the hop's name (its ports).
        let mut found: Vec<(Finding, Loc, String, &'static str)> = Vec::new();
        for l in merged.iter().filter(|l| l.service == service) {
            let what = format!("inet_listener {}/{}", l.service, l.name);
            let port = match l.get("port") {
                Some(p) => p.value.parse::<u16>().ok(),
                None => default_port(&l.name),
            };
            let Some(port) = port.filter(|p| *p != 0) else {
                facts.skipped(l.at.clone(), what, SkipReason::Disabled);
                continue;
            };
            facts.used(l.at.clone(), what);
            let haproxy = l.get("haproxy").filter(|s| yes(s));
            let expects = if haproxy.is_some() {
                Expects::Header
            } else {
                Expects::Nothing
            };
            let lat = haproxy.map_or(l.at.clone(), |s| s.at.clone());
            let address = l
                .get("address")
                .map_or(listen.as_str(), |s| s.value.as_str())
                .split([',', ' '])
                .find(|a| !a.is_empty())
                .unwrap_or("")
                .to_string();
            let host = (!matches!(address.as_str(), "" | "*" | "::" | "[::]" | "0.0.0.0"))
                .then(|| address.trim_matches(['[', ']']).to_string());
            let trust = match &trusted {
                Some((nets, tat)) => Trust::List(nets.clone().into(), tat.clone()),
                None => Trust::List(Vec::new().into(), lat.clone()),
            };
            let lis = Listener {
                host,
                port: Some(port),
                expects,
                passthrough: false,
                refuses: None,
                ssl: l.get("ssl").is_some_and(yes),
                trust,
                fix: "dovecot-haproxy",
                at: lat,
            };
            if expects == Expects::Header {
                match &trusted {
                    None => {
                        let (message, fix) = mail::untrusted_by_dovecot(&lis);
                        found.push((Finding::UntrustedSource, lis.at.clone(), message, fix));
                    }
                    Some((nets, tat)) if nets.iter().any(|n| n.prefix_len() == 0) => {
                        found.push((
                            Finding::Spoofable,
                            tat.clone(),
                            "haproxy_trusted_networks holds every address: Dovecot takes the header's address from any peer that reaches the port, so a client that does can forge its address".into(),
                            "dovecot-haproxy-trusted-networks",
                        ));
                    }
                    Some(_) => {}
                }
            }
            at.get_or_insert_with(|| l.at.clone());
            listeners.push(lis);
        }
        let Some(at) = at else { continue };
        let name: std::sync::Arc<str> = format!("dovecot {service}").into();
        for (finding, at, message, fix) in found {
            facts.found.push(Found {
                finding,
                at,
                hop: name.clone(),
                message,
                fix: Some(fixes::get(fix)),
            });
        }
        facts.hops.push(Hop {
            name,
            role: Role::Proxy,
            kind: Kind::Dovecot,
            at,
            listeners,
            upstreams: Vec::new(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::nginx::{IncludeError, Included};

    fn run(text: &str, conf_d: &str) -> Facts {
        let conf_d = conf_d.to_string();
        let inc = move |_: &str, _: &str, p: &str| -> Result<Vec<Included>, IncludeError> {
            match p {
                "conf.d/*.conf" => Ok(vec![Included {
                    name: "conf.d/10-master.conf".into(),
                    text: conf_d.clone(),
                    system: false,
                }]),
                _ => Err(IncludeError::Missing(format!("no {p}"))),
            }
        };
        let mut f = Facts::default();
        facts("dovecot.conf", text, &inc, &mut f).unwrap();
        let pieces = std::mem::take(&mut f.mail.dovecot);
        hops(pieces, &mut f);
        f
    }

    #[test]
    fn listeners_in_includes_and_the_trust_list() {
        let master = "service imap-login {\n  inet_listener imap {\n    #port = 143\n  }\n  inet_listener imap_haproxy {\n    port = 10143\n    haproxy = yes\n  }\n  inet_listener imaps {\n    port = 0\n  }\n}\n";
        let f = run(
            "!include_try /usr/share/dovecot/protocols.d/*.protocol\nhaproxy_trusted_networks = 10.0.0.0/8 # the LB\n!include conf.d/*.conf\n",
            master,
        );
        assert_eq!(f.hops.len(), 1);
        let h = &f.hops[0];
        assert_eq!(&*h.name, "dovecot imap-login");
        assert_eq!(h.listeners[0].expects, Expects::Nothing);
        assert_eq!(h.listeners[1].expects, Expects::Header);
        assert_eq!(h.listeners[1].at, Loc::new("conf.d/10-master.conf", 7));
        assert!(
            matches!(&h.listeners[1].trust, Trust::List(n, at) if n.len() == 1 && at.line == 2)
        );
        assert!(f.found.is_empty(), "{:?}", f.found);
        // `!include_try` of a missing file says nothing.
        assert!(f.warnings.is_empty(), "{:?}", f.warnings);
    }

    #[test]
    fn haproxy_without_trusted_networks_drops_everyone() {
        let f = run(
            "service pop3-login {\n  inet_listener pop3 {\n    haproxy = yes\n  }\n}\n",
            "",
        );
        assert_eq!(f.hops[0].listeners[0].port, Some(110));
        assert_eq!(f.found.len(), 1);
        assert_eq!(f.found[0].finding, Finding::UntrustedSource);
    }

    #[test]
    fn the_trust_list_ends_at_its_first_host_name() {
        let master = "service imap-login {\n  inet_listener imap {\n    haproxy = Y\n  }\n}\n";
        let f = run(
            "haproxy_trusted_networks = 10.0.0.10 lb.example.org 10.0.0.11\n!include conf.d/*.conf\n",
            master,
        );
        let l = &f.hops[0].listeners[0];
        assert_eq!(l.expects, Expects::Header, "`Y` is a yes");
        assert!(
            matches!(&l.trust, Trust::List(n, _) if n.len() == 1),
            "{:?}",
            l.trust
        );
        assert!(f
            .objects
            .iter()
            .any(|o| o.name.contains("read up to `lb.example.org`")));
    }

    #[test]
    fn a_protocol_block_sets_the_trust_list_of_its_login_service() {
        let master = "service imap-login {\n  inet_listener imap {\n    haproxy = yes\n  }\n}\nservice pop3-login {\n  inet_listener pop3 {\n    haproxy = 1\n  }\n}\n";
        let f = run(
            "protocol imap {\n  haproxy_trusted_networks = 10.0.0.0/8\n}\n!include conf.d/*.conf\n",
            master,
        );
        let imap = f
            .hops
            .iter()
            .find(|h| &*h.name == "dovecot imap-login")
            .unwrap();
        assert!(matches!(&imap.listeners[0].trust, Trust::List(n, _) if n.len() == 1));
        // `protocol imap` is not pop3's: it trusts nobody.
        assert_eq!(f.found.len(), 1, "{:?}", f.found);
        assert_eq!(&*f.found[0].hop, "dovecot pop3-login");
    }

    #[test]
    fn a_section_on_one_line_is_refused_as_dovecot_refuses_it() {
        let inc = |_: &str, _: &str, p: &str| -> Result<Vec<Included>, IncludeError> {
            Err(IncludeError::Missing(format!("no {p}")))
        };
        let mut f = Facts::default();
        let text = "mail_path = ~/%{user}/mail\nservice imap-login {\n  inet_listener imap_haproxy { port = 10143 haproxy = yes }\n}\n";
        let err = facts("dovecot.conf", text, &inc, &mut f).unwrap_err();
        assert_eq!(err.at.line, 3, "{err:?}");
        assert!(err.message.contains("Garbage after"), "{err:?}");
    }
}
