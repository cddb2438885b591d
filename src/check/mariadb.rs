//! MariaDB (and MySQL's option files): my.cnf with its `!include` and
//! `!includedir` (the directory's `*.cnf`) spliced in; the server's groups
//! (`[mysqld]`, `[mariadbd]`, `[mariadb]`, `[server]`, `[galera]` and
//! their version-suffixed forms); `port`, `bind-address`,
//! `skip-networking` and `proxy-protocol-networks` (`-` and `_` alike).
//! MariaDB has no "header required" mode: from the listed networks a
//! header is taken when it comes and a client without one is served as
//! itself; from elsewhere a header gets error 1130 `Proxy header is not
//! accepted from …` (tests/data/protocols, MariaDB KB "Proxy Protocol
//! Support").

use ipnet::IpNet;

use super::mail::{self, IncludeLine};
use super::nginx::{any_source, net, Includer};
use super::{Facts, Found, Hop, Kind, Listener, Loc, ParseError, Role, SkipReason, Trust};
use crate::judge::{fixes, Expects, Finding};

#[derive(Debug, Clone)]
struct Setting {
    key: String,
    value: String,
    at: Loc,
    /// The group it is written in, as written (`mysqld`, `mariadb-10.11`).
    group: String,
}

/// One option file, includes spliced in.
#[derive(Debug)]
pub(crate) struct Piece {
    file: String,
    includes: Vec<String>,
    /// The settings of the server's groups, in order.
    settings: Vec<Setting>,
    /// Where a server group starts.
    groups: Vec<(String, Loc)>,
}

fn include_line(line: &str) -> Option<IncludeLine> {
    if let Some(dir) = line.strip_prefix("!includedir") {
        let dir = dir.trim().trim_end_matches('/');
        return Some(IncludeLine {
            pattern: format!("{dir}/*.cnf"),
            required: false,
        });
    }
    let file = line.strip_prefix("!include")?;
    file.starts_with([' ', '\t']).then(|| IncludeLine {
        pattern: file.trim().to_string(),
        required: true,
    })
}

/// Whether the server reads a group: always (`[mysqld]`), only when it is
/// the version the group names (`[mariadb-10.11]`), or never.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Group {
    Server,
    /// `(major, minor)`: read only by that version.
    Version(u16, u16),
    Other,
}

fn server_group(name: &str) -> Group {
    // `[client-server]` is read by clients and the server alike (Debian's
    // my.cnf puts `port` there).
    if matches!(
        name,
        "mysqld" | "mariadbd" | "mariadb" | "server" | "galera" | "client-server"
    ) {
        return Group::Server;
    }
    // Only these three take a version suffix: mariadbd --print-defaults
    // leaves `[server-10.11]` and `[galera-10.11]` out.
    let version = name
        .strip_prefix("mysqld-")
        .or_else(|| name.strip_prefix("mariadbd-"))
        .or_else(|| name.strip_prefix("mariadb-"))
        .and_then(|v| v.split_once('.'))
        .and_then(|(major, minor)| Some((major.parse().ok()?, minor.parse().ok()?)));
    version.map_or(Group::Other, |(major, minor)| Group::Version(major, minor))
}

/// The version a set of option files is written for: the newest version
/// group among them. Debian's 50-server.cnf carries an (often empty) group
/// of the installed version, and a group of an older one is what an
/// upgrade leaves behind; groups below 10 are MySQL's (`[mysqld-5.7]`),
/// never a MariaDB server's that reads PROXY headers (10.3 and later).
fn running_version(groups: &[(String, Loc)]) -> Option<(u16, u16)> {
    groups
        .iter()
        .filter_map(|(name, _)| match server_group(name) {
            Group::Version(major, minor) if major >= 10 => Some((major, minor)),
            _ => None,
        })
        .max()
}

/// The options whose unambiguous prefixes mariadbd 10.11 takes for them
/// (my_getopt): with every other option of its `--help --verbose`, each
/// shares at most the characters before the shortest prefix here
/// (`progress-report-time`, `binlog-…`, `port-open-timeout`,
/// `skip-name-resolve`). `proxy_protocol_network` is read as
/// `proxy-protocol-networks`.
const PREFIXED: [(&str, usize); 4] = [
    ("proxy-protocol-networks", 4),
    ("bind-address", 4),
    ("port", 4),
    ("skip-networking", 7),
];

/// An option's name as the server matches it: `_` and `-` alike, a
/// `loose-` prefix dropped.
fn option_name(key: &str) -> String {
    let k = key.trim().to_ascii_lowercase().replace('_', "-");
    let k = k.strip_prefix("loose-").map_or(k.clone(), str::to_string);
    PREFIXED
        .iter()
        .find(|(full, shortest)| k.len() >= *shortest && full.starts_with(k.as_str()))
        .map_or(k, |(full, _)| full.to_string())
}

/// Read a my.cnf and what it includes.
pub(crate) fn facts(
    file: &str,
    text: &str,
    include: &Includer<'_>,
    facts: &mut Facts,
) -> Result<(), ParseError> {
    let (lines, includes) = mail::splice(file, text, Kind::Mariadb, &include_line, include, facts)?;
    let mut group: Option<String> = None;
    let mut settings = Vec::new();
    let mut groups = Vec::new();
    for line in lines {
        let t = line.text.trim();
        if t.is_empty() || t.starts_with(['#', ';']) {
            continue;
        }
        if let Some(name) = t.strip_prefix('[') {
            let Some(name) = name.split(']').next().filter(|_| name.contains(']')) else {
                return Err(ParseError::new(line.at, "a group header without its `]`"));
            };
            let name = name.trim().to_ascii_lowercase();
            if server_group(&name) != Group::Other {
                groups.push((name.clone(), line.at.clone()));
            }
            group = Some(name);
            continue;
        }
        let Some(g) = &group else {
            return Err(ParseError::new(
                line.at,
                format!("an option before any [group]: {t}"),
            ));
        };
        if server_group(g) == Group::Other {
            continue;
        }
        // `key = value`, `key=value`, or a bare `key`; a trailing `#`
        // comment outside quotes is dropped.
        let t = t.split(" #").next().unwrap_or(t);
        let (k, v) = t.split_once('=').unwrap_or((t, ""));
        settings.push(Setting {
            key: option_name(k),
            value: v.trim().trim_matches(['"', '\'']).to_string(),
            at: line.at,
            group: g.clone(),
        });
    }
    facts.mail.mariadb.push(Piece {
        file: file.to_string(),
        includes,
        settings,
        groups,
    });
    Ok(())
}

/// All of the inputs' option files as one server (each file once).
pub(crate) fn hops(pieces: Vec<Piece>, facts: &mut Facts) {
    let pieces = mail::once(pieces, |p| &p.file, |p| &p.includes);
    let mut groups: Vec<(String, Loc)> = Vec::new();
    let mut settings: Vec<Setting> = Vec::new();
    for p in pieces {
        groups.extend(p.groups);
        settings.extend(p.settings);
    }
    let running = running_version(&groups);
    // A group of another version than the newest one named is not read.
    let read = |name: &str| match server_group(name) {
        Group::Version(major, minor) => Some((major, minor)) == running,
        Group::Server => true,
        Group::Other => false,
    };
    for (name, at) in groups.iter().filter(|(name, _)| !read(name)) {
        facts.skipped(at.clone(), format!("[{name}]"), SkipReason::OtherVersion);
    }
    let Some(first) = groups.iter().find(|(name, _)| read(name)).cloned() else {
        return;
    };
    settings.retain(|s| read(&s.group));
    let get = |key: &str| settings.iter().rev().find(|s| s.key == key);
    let off = |s: &Setting| matches!(s.value.to_ascii_lowercase().as_str(), "0" | "off" | "false");
    if let Some(s) = get("skip-networking").filter(|s| !off(s)) {
        facts.skipped(
            s.at.clone(),
            "skip-networking (no TCP port)",
            SkipReason::Disabled,
        );
        return;
    }
    let (port, port_at) = match get("port") {
        Some(s) => (s.value.parse::<u16>().ok(), s.at.clone()),
        None => (Some(3306), first.1.clone()),
    };
    // MariaDB 10.11 listens on each address of a comma list; a wildcard
    // among them is every address.
    let hosts: Vec<Option<String>> = match get("bind-address") {
        Some(s) => {
            let addrs: Vec<&str> = s.value.split(',').map(str::trim).collect();
            if addrs
                .iter()
                .any(|a| matches!(*a, "" | "*" | "0.0.0.0" | "::"))
            {
                vec![None]
            } else {
                addrs.into_iter().map(|a| Some(a.to_string())).collect()
            }
        }
        None => vec![None],
    };
    let networks = get("proxy-protocol-networks");
    let name = "mariadb".to_string();
    let mut refused = false;
    let (nets, anyone): (Vec<IpNet>, bool) = match networks {
        Some(s) => {
            let words: Vec<&str> = s
                .value
                .split([',', ' '])
                .filter(|w| !w.is_empty())
                .collect();
            let anyone = words == ["*"];
            // The server parses each entry as an address, a CIDR or
            // `localhost`, and `*` only as the whole value; anything else
            // (a host name, `*` in a list) stops it at start-up.
            refused = words
                .iter()
                .find(|w| !anyone && **w != "localhost" && net(w).is_none())
                .is_some_and(|bad| {
                facts.found.push(Found {
                    finding: Finding::RefusedSetting,
                    at: s.at.clone(),
                    hop: name.clone().into(),
                    message: format!(
                        "proxy-protocol-networks = {}: MariaDB does not start (its log: `Error parsing proxy_protocol_networks parameter, near '{bad}'`, then `Aborting`): it takes addresses, CIDRs and `localhost`, never a host name, and `*` only alone",
                        s.value
                    ),
                    fix: Some(fixes::get("mariadb-proxy-protocol-networks")),
                });
                true
            });
            let nets = if anyone {
                any_source().to_vec()
            } else {
                // `localhost`: the unix socket, not a TCP peer.
                words.iter().filter_map(|w| net(w)).collect()
            };
            (nets, anyone)
        }
        None => (Vec::new(), false),
    };
    for key in ["port", "bind-address", "proxy-protocol-networks"] {
        if let Some(s) = get(key) {
            facts.used(s.at.clone(), format!("[{}] {key} = {}", s.group, s.value));
        }
    }
    let (expects, at, trust) = match networks {
        Some(s) if !nets.is_empty() => (
            Expects::Optional,
            s.at.clone(),
            Trust::List(nets.clone().into(), s.at.clone()),
        ),
        _ => (Expects::Nothing, port_at, Trust::Unused),
    };
    if expects == Expects::Optional && !refused {
        let list = networks.map_or(String::new(), |s| s.value.clone());
        facts.found.push(Found {
            finding: Finding::Spoofable,
            at: at.clone(),
            hop: name.clone().into(),
            message: if anyone {
                format!("proxy-protocol-networks = {list}: MariaDB takes a header from any peer and serves clients without one, so a client that reaches port {} can forge its address", port.unwrap_or(0))
            } else {
                format!("MariaDB's header is optional: from {list} a client without one is served as itself and one with a header as the address it writes, so any host there can forge its address (keep the list to the proxy's addresses)")
            },
            fix: Some(fixes::get("mariadb-proxy-networks-narrow")),
        });
    }
    facts.hops.push(Hop {
        name: name.into(),
        role: Role::Proxy,
        kind: Kind::Mariadb,
        at: first.1,
        listeners: hosts
            .into_iter()
            .map(|host| Listener {
                host,
                port,
                expects,
                passthrough: false,
                refuses: None,
                ssl: false,
                trust: trust.clone(),
                fix: "mariadb-proxy-protocol-networks",
                at: at.clone(),
            })
            .collect(),
        upstreams: Vec::new(),
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::nginx::{IncludeError, Included};

    fn run(text: &str) -> Facts {
        let inc = |_: &str, _: &str, p: &str| -> Result<Vec<Included>, IncludeError> {
            match p {
                "/etc/mysql/mariadb.conf.d/*.cnf" => Ok(vec![Included {
                    name: "mariadb.conf.d/50-server.cnf".into(),
                    text: "[server]\n\n[mysqld]\nbind-address = 127.0.0.1\nport=3307\nloose_proxy_protocol_networks = 10.0.0.5/32, localhost\n[client]\nport = 1\n".into(),
                    system: true,
                }]),
                _ => Ok(Vec::new()),
            }
        };
        let mut f = Facts::default();
        facts("my.cnf", text, &inc, &mut f).unwrap();
        let pieces = std::mem::take(&mut f.mail.mariadb);
        hops(pieces, &mut f);
        f
    }

    #[test]
    fn includedir_groups_and_networks() {
        let f = run("[client-server]\nsocket = /run/mysqld/mysqld.sock\n!includedir /etc/mysql/conf.d/\n!includedir /etc/mysql/mariadb.conf.d/\n");
        assert_eq!(f.hops.len(), 1);
        let l = &f.hops[0].listeners[0];
        assert_eq!((l.port, l.expects), (Some(3307), Expects::Optional));
        assert_eq!(l.host.as_deref(), Some("127.0.0.1"));
        assert!(matches!(&l.trust, Trust::List(n, _) if n.len() == 1));
        assert_eq!(f.found[0].finding, Finding::Spoofable);
        assert_eq!(f.warnings.len(), 1, "a system include is said");
    }

    #[test]
    fn without_networks_no_header_is_read() {
        let f = run("[mysqld]\nport = 3306\n");
        assert_eq!(f.hops[0].listeners[0].expects, Expects::Nothing);
        assert!(f.found.is_empty());
        assert!(run("[client]\nport = 3306\n").hops.is_empty());
    }

    #[test]
    fn a_host_name_or_a_star_in_a_list_stops_the_server() {
        for list in ["db-lb.internal, 10.0.0.5", "*, localhost"] {
            let f = run(&format!("[mysqld]\nproxy_protocol_networks = {list}\n"));
            assert_eq!(f.found.len(), 1, "{list}: {:?}", f.found);
            assert_eq!(f.found[0].finding, Finding::RefusedSetting, "{list}");
            assert!(f.found[0].message.contains("does not start"), "{list}");
        }
        // `*` alone is anyone (spoofable), not an error.
        let f = run("[mysqld]\nproxy_protocol_networks = *\n");
        assert_eq!(f.found[0].finding, Finding::Spoofable);
    }

    #[test]
    fn every_address_of_a_bind_list_listens_and_client_server_is_read() {
        let f =
            run("[client-server]\nport = 3307\n[mysqld]\nbind-address = 127.0.0.1, 10.0.0.30\n");
        let l = &f.hops[0].listeners;
        assert_eq!(l.len(), 2);
        assert_eq!(l[1].host.as_deref(), Some("10.0.0.30"));
        assert_eq!(l[1].port, Some(3307));
        let f = run("[mysqld]\nbind-address = 127.0.0.1,0.0.0.0\n");
        assert_eq!(f.hops[0].listeners.len(), 1);
        assert_eq!(f.hops[0].listeners[0].host, None);
    }

    #[test]
    fn only_the_newest_version_group_is_read() {
        // An upgrade left [mariadb-10.6] behind: 10.11 does not read it.
        let f = run("[mysqld]\nport = 3306\n[mariadb-10.11]\n[mariadb-10.6]\nproxy-protocol-networks = 10.0.0.5/32\n[mysqld-5.7]\nport = 3308\n");
        let l = &f.hops[0].listeners[0];
        assert_eq!((l.port, l.expects), (Some(3306), Expects::Nothing));
        let skipped: Vec<&str> = f
            .objects
            .iter()
            .filter(|o| {
                matches!(
                    o.seen,
                    super::super::Seen::Skipped(SkipReason::OtherVersion)
                )
            })
            .map(|o| o.name.as_str())
            .collect();
        assert_eq!(skipped, ["[mariadb-10.6]", "[mysqld-5.7]"]);
        // A version group alone is taken as the running version's, and the
        // setting is said with its own group.
        let f = run("[mysqld]\n[mariadb-10.11]\nproxy-protocol-networks = 10.0.0.5/32\n");
        assert_eq!(f.hops[0].listeners[0].expects, Expects::Optional);
        assert!(f
            .objects
            .iter()
            .any(|o| o.name == "[mariadb-10.11] proxy-protocol-networks = 10.0.0.5/32"));
        // Not version groups of the server: [server-10.11], [galera-10.11].
        assert_eq!(server_group("server-10.11"), Group::Other);
        assert_eq!(server_group("mariadbd-11.4"), Group::Version(11, 4));
    }

    #[test]
    fn an_unambiguous_prefix_is_the_option() {
        let f = run("[mysqld]\nproxy_protocol_network = 10.0.0.5\nbind = 127.0.0.1\n");
        let l = &f.hops[0].listeners[0];
        assert_eq!(l.expects, Expects::Optional);
        assert_eq!(l.host.as_deref(), Some("127.0.0.1"));
        // `pro` is also `progress-report-time`'s: not ours.
        assert_eq!(option_name("pro"), "pro");
        assert_eq!(option_name("skip-net"), "skip-networking");
        assert_eq!(option_name("port-open-timeout"), "port-open-timeout");
    }
}
