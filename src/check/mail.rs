//! Mail and database servers behind a TCP proxy: Postfix (main.cf,
//! master.cf), Dovecot (dovecot.conf and its `!include`s) and MariaDB
//! (my.cnf and its `!include`/`!includedir`s). What they share: telling
//! their files from the other kinds, splicing their includes, collecting
//! each server's files until every input is in (Postfix's two files,
//! Dovecot's `conf.d`, a copied `/etc/mysql` tree make one server each),
//! and saying what each server does with a header it does not expect or
//! one it misses, in the server's own words (tests/data/protocols holds
//! what the real servers answered).

use super::nginx::{IncludeError, Includer};
use super::{
    dovecot, mariadb, postfix, Facts, FileRead, Hop, Kind, Link, Listener, Loc, ParseError, Trust,
    Upstream, Warning,
};
use crate::judge::Finding;

/// The pieces of each server, collected file by file.
#[derive(Debug, Default)]
pub(crate) struct Pieces {
    pub postfix: Vec<postfix::Piece>,
    pub dovecot: Vec<dovecot::Piece>,
    pub mariadb: Vec<mariadb::Piece>,
}

/// The sections and groups of option files that name MariaDB's or MySQL's
/// programs (`[mysqld]`, `[client]`, `[mariadb-10.11]`).
fn mysql_group(name: &str) -> bool {
    const GROUPS: [&str; 16] = [
        "mysqld",
        "mariadbd",
        "mariadb",
        "server",
        "client",
        "client-server",
        "client-mariadb",
        "mysql",
        "mysqld_safe",
        "mariadbd-safe",
        "mysqldump",
        "mariadb-dump",
        "galera",
        "embedded",
        "mysqladmin",
        "mariabackup",
    ];
    let base = name.split_once('-').map_or(name, |(b, rest)| {
        // `[mysqld-10.11]`, `[mariadb-10.11]`: a version's own group.
        if rest.starts_with(|c: char| c.is_ascii_digit()) {
            b
        } else {
            name
        }
    });
    GROUPS.contains(&base) || GROUPS.contains(&name)
}

/// Postfix's main.cf parameters that give a file away (a main.cf is
/// `name = value` lines, as a Traefik TOML file may be).
fn postfix_parameter(key: &str) -> bool {
    const PREFIXES: [&str; 10] = [
        "smtpd_",
        "smtp_",
        "postscreen_",
        "lmtp_",
        "virtual_",
        "milter_",
        "mailbox_",
        "alias_",
        "relay",
        "local_recipient",
    ];
    const NAMES: [&str; 14] = [
        "myhostname",
        "mydomain",
        "myorigin",
        "mydestination",
        "mynetworks",
        "inet_interfaces",
        "inet_protocols",
        "compatibility_level",
        "queue_directory",
        "command_directory",
        "daemon_directory",
        "append_dot_mydomain",
        "biff",
        "smtputf8_enable",
    ];
    NAMES.contains(&key) || PREFIXES.iter().any(|p| key.starts_with(p))
}

/// Dovecot's settings and sections that give a file away.
fn dovecot_word(line: &str) -> bool {
    let first = line.split_whitespace().next().unwrap_or("");
    let key = line.split('=').next().unwrap_or("").trim();
    matches!(
        key,
        "protocols"
            | "haproxy_trusted_networks"
            | "haproxy_timeout"
            | "mail_location"
            | "login_trusted_networks"
            | "disable_plaintext_auth"
            | "auth_mechanisms"
            | "mail_privileged_group"
            | "first_valid_uid"
            | "namespace inbox"
    ) || line.starts_with("!include_try")
        || (matches!(
            first,
            "service" | "inet_listener" | "passdb" | "userdb" | "namespace" | "protocol"
        ) && line.ends_with('{'))
}

/// Dovecot's grammar alone (a conf.d file of other settings, `plugin {
/// … }`): sections (`name [arg] {`, `}`), `key = value`, `!include`; one
/// section at least.
fn dovecot_grammar(lines: &[&str]) -> bool {
    let word = |w: &str| {
        !w.is_empty()
            && w.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '!'))
    };
    let section = |l: &str| {
        l.strip_suffix('{').is_some_and(|head| {
            let w: Vec<&str> = head.split_whitespace().collect();
            matches!(w.len(), 1 | 2) && word(w[0])
        })
    };
    lines.iter().any(|l| section(l))
        && lines.iter().all(|l| {
            *l == "}"
                || section(l)
                || l.starts_with("!include")
                || l.split_once('=').is_some_and(|(k, _)| word(k.trim()))
        })
}

/// A master.cf service line: `name type private unpriv chroot wakeup
/// maxproc command…`.
fn master_line(line: &str) -> bool {
    // Word by word, nothing collected: every line of a large YAML file
    // is asked.
    let mut w = line.split_whitespace().skip(1);
    matches!(
        w.next(),
        Some("inet" | "unix" | "unix-dgram" | "fifo" | "pass")
    ) && w
        .by_ref()
        .take(3)
        .filter(|f| matches!(*f, "y" | "n" | "-"))
        .count()
        == 3
        && w.count() >= 3
}

/// Whether a text is one of these servers' files: checked before the
/// other kinds (a my.cnf's `[mysqld]` looks like a TOML table, a
/// dovecot.conf's `listen = …` like an HAProxy section, a main.cf like
/// TOML's `key = value`).
pub(crate) fn detect(text: &str) -> Option<Kind> {
    let significant = || {
        text.lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with(';'))
    };
    let first = significant().next()?;
    fn section(l: &str) -> Option<&str> {
        l.strip_prefix('[')
            .and_then(|r| r.strip_suffix(']'))
            .map(str::trim)
    }
    if section(first).is_some_and(mysql_group) || first.starts_with("!includedir") {
        return Some(Kind::Mariadb);
    }
    if first.starts_with("!include ") && significant().any(|l| section(l).is_some()) {
        return Some(Kind::Mariadb);
    }
    // nginx, most often: said before the lines are collected.
    if significant().any(|l| l.ends_with(';')) {
        return None;
    }
    let lines: Vec<&str> = significant().collect();
    if lines.iter().any(|l| master_line(l)) {
        return Some(Kind::Postfix);
    }
    if lines.iter().any(|l| dovecot_word(l)) || dovecot_grammar(&lines) {
        return Some(Kind::Dovecot);
    }
    // main.cf: `name = value` lines, each maybe continued by indented
    // ones.
    let assignments = text.lines().all(|raw| {
        let t = raw.trim();
        t.is_empty()
            || t.starts_with('#')
            || raw.starts_with([' ', '\t'])
            || t.split_once('=').is_some_and(|(k, _)| {
                let k = k.trim();
                !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            })
    });
    let postfix = lines
        .iter()
        .filter_map(|l| l.split_once('='))
        .any(|(k, _)| postfix_parameter(k.trim()));
    (assignments && postfix).then_some(Kind::Postfix)
}

/// One line of a configuration, includes spliced in, with where it is.
#[derive(Debug, Clone)]
pub(crate) struct Line {
    pub at: Loc,
    pub text: String,
}

/// An include line: the pattern it names, whether a missing file is said
/// (`!include_try` is silent), and a directory to read whole
/// (`!includedir`: its `*.cnf` files).
pub(crate) struct IncludeLine {
    pub pattern: String,
    pub required: bool,
}

/// How deep includes may include.
const MAX_INCLUDE_DEPTH: usize = 16;

/// The lines of `file` with what its include lines name spliced in place,
/// each included file recorded in "Read:" (and a system one or a missing
/// one as a warning); the names of the files included.
pub(crate) fn splice(
    file: &str,
    text: &str,
    kind: Kind,
    include_of: &dyn Fn(&str) -> Option<IncludeLine>,
    include: &Includer<'_>,
    facts: &mut Facts,
) -> Result<(Vec<Line>, Vec<String>), ParseError> {
    let mut lines = Vec::new();
    let mut names = Vec::new();
    splice_into(
        file, file, text, kind, include_of, include, facts, 0, &mut lines, &mut names,
    )?;
    Ok((lines, names))
}

#[allow(clippy::too_many_arguments)]
fn splice_into(
    top: &str,
    file: &str,
    text: &str,
    kind: Kind,
    include_of: &dyn Fn(&str) -> Option<IncludeLine>,
    include: &Includer<'_>,
    facts: &mut Facts,
    depth: usize,
    lines: &mut Vec<Line>,
    names: &mut Vec<String>,
) -> Result<(), ParseError> {
    for (i, raw) in text.lines().enumerate() {
        let at = Loc::new(file, i + 1);
        let Some(inc) = include_of(raw.trim()) else {
            lines.push(Line {
                at,
                text: raw.to_string(),
            });
            continue;
        };
        if depth >= MAX_INCLUDE_DEPTH {
            return Err(ParseError::new(
                at,
                format!("includes nested deeper than {MAX_INCLUDE_DEPTH} (a file that includes itself?)"),
            ));
        }
        match include(top, file, &inc.pattern) {
            Ok(files) => {
                for f in files {
                    if f.system {
                        facts.warnings.push((
                            at.clone(),
                            Warning::SystemInclude {
                                path: f.name.clone(),
                            },
                        ));
                    }
                    facts.files.push(FileRead {
                        name: f.name.clone(),
                        kind: Some(kind),
                        included_from: Some(at.clone()),
                        ..FileRead::default()
                    });
                    names.push(f.name.clone());
                    splice_into(
                        top,
                        &f.name,
                        &f.text,
                        kind,
                        include_of,
                        include,
                        facts,
                        depth + 1,
                        lines,
                        names,
                    )?;
                }
            }
            Err(IncludeError::Missing(m)) => {
                if inc.required {
                    facts.warnings.push((
                        at,
                        Warning::MissingInclude {
                            pattern: inc.pattern,
                            error: m,
                        },
                    ));
                }
            }
            Err(IncludeError::Unsupported(m)) => facts.warnings.push((
                at,
                Warning::UnsupportedInclude {
                    pattern: inc.pattern,
                    error: m,
                },
            )),
            Err(IncludeError::Fatal(m)) => return Err(ParseError::new(at, m)),
        }
    }
    Ok(())
}

/// Pieces given as arguments that another piece's includes read as well
/// (`check /etc/dovecot`: dovecot.conf includes conf.d/*.conf, which the
/// directory gives too) are read once, through the include.
pub(crate) fn once<T>(
    pieces: Vec<T>,
    file: impl Fn(&T) -> &str,
    includes: impl Fn(&T) -> &[String],
) -> Vec<T> {
    let included: Vec<String> = pieces.iter().flat_map(|p| includes(p).to_vec()).collect();
    pieces
        .into_iter()
        .filter(|p| !included.iter().any(|i| i == file(p)))
        .collect()
}

/// Turn every server's pieces into hops, once every input is read.
pub(crate) fn finish(facts: &mut Facts) -> Vec<ParseError> {
    let pieces = std::mem::take(&mut facts.mail);
    let errors = postfix::hops(pieces.postfix, facts);
    dovecot::hops(pieces.dovecot, facts);
    mariadb::hops(pieces.mariadb, facts);
    tune_senders(facts);
    errors
}

/// A sender in front of a mail or database port gets the fix for its TCP
/// mode (HAProxy `mode tcp`, an nginx `stream` server), not the HTTP one.
fn tune_senders(facts: &mut Facts) {
    let ports: Vec<u16> = facts
        .hops
        .iter()
        .filter(|h| is_mail(h.kind))
        .flat_map(|h| h.listeners.iter().filter_map(|l| l.port))
        .collect();
    for hop in facts.hops.iter_mut().filter(|h| !is_mail(h.kind)) {
        for up in &mut hop.upstreams {
            if up.port.is_some_and(|p| ports.contains(&p)) {
                match hop.kind {
                    Kind::Haproxy => up.fix = "haproxy-tcp-send-proxy",
                    Kind::Nginx => up.fix = "nginx-stream-send-proxy-tcp",
                    _ => {}
                }
            }
        }
    }
}

/// The protocol a kind of this module's serves (its fixes are that
/// protocol's, `crate::protocol::Protocol::fixes`).
pub(crate) fn protocol(kind: Kind) -> Option<crate::protocol::Protocol> {
    use crate::protocol::Protocol;
    match kind {
        Kind::Postfix => Some(Protocol::Smtp),
        Kind::Dovecot => Some(Protocol::Imap),
        Kind::Mariadb => Some(Protocol::Mysql),
        _ => None,
    }
}

/// How `check --probe` speaks to a listener of a mail or database server:
/// in its protocol (the greeting, a harmless first command), as `probe
/// --protocol` does; `None` for the other kinds, a TLS port, and a
/// protocol ppctl does not speak (LMTP, ManageSieve).
pub(crate) fn probe_mode(hop: &Hop, lis: &Listener) -> Option<crate::diagnose::probe::Mode> {
    use crate::protocol::Protocol;
    if lis.ssl {
        return None;
    }
    let service = hop.name.split_whitespace().nth(1).unwrap_or("");
    let protocol = match hop.kind {
        Kind::Postfix => Protocol::Smtp,
        Kind::Mariadb => Protocol::Mysql,
        Kind::Dovecot if service.starts_with("imap") => Protocol::Imap,
        Kind::Dovecot if service.starts_with("pop3") => Protocol::Pop3,
        Kind::Dovecot if service.starts_with("submission") => Protocol::Smtp,
        _ => return None,
    };
    Some(crate::diagnose::probe::Mode::Speak(
        crate::diagnose::probe::Speech {
            protocol: Some(protocol),
            chosen: crate::protocol::Chosen::Named,
            greeting_timeout: crate::protocol::GREETING_TIMEOUT,
        },
    ))
}

/// A kind of this module's.
pub(crate) fn is_mail(kind: Kind) -> bool {
    matches!(kind, Kind::Postfix | Kind::Dovecot | Kind::Mariadb)
}

/// What the server of `hop` does, in its own words, for a finding
/// `check` makes on a link to its listener `lis`; `None` for the other
/// kinds.
pub(crate) fn said(hop: &Hop, lis: &Listener, finding: Finding) -> Option<&'static str> {
    let postscreen = hop.name.contains("(postscreen)");
    let pop3 = hop.name.starts_with("dovecot pop3");
    Some(match (hop.kind, finding) {
        (Kind::Postfix, Finding::UnexpectedHeader) if postscreen => {
            "postscreen takes the header line for SMTP sent before its greeting (it reads a header only with postscreen_upstream_proxy_protocol; smtpd_upstream_proxy_protocol is smtpd's)"
        }
        (Kind::Postfix, Finding::UnexpectedHeader) => {
            "Postfix sends its banner first and answers the header line `500 5.5.2 Error: command not recognized` (log: `improper command pipelining after CONNECT`)"
        }
        (Kind::Postfix, Finding::MissingHeader) if postscreen => {
            "postscreen sends no banner for postscreen_upstream_proxy_timeout (5 s), then `421 4.3.2 No system resources` (log: `haproxy read: time limit exceeded`)"
        }
        (Kind::Postfix, Finding::MissingHeader) => {
            "Postfix sends no banner for smtpd_upstream_proxy_timeout (5 s), then `421 4.3.0 … Server local error` (log: `haproxy read: timeout error`)"
        }
        // Dovecot 2.3.19: `ssl = yes` starts TLS at once, so the header is
        // the first bytes of a handshake (imaps, pop3s, submissions).
        (Kind::Dovecot, Finding::UnexpectedHeader) if lis.ssl => {
            "Dovecot starts TLS on this port, reads the header as a broken ClientHello and closes the connection without a word (log: `SSL_accept() failed: … wrong version number`)"
        }
        (Kind::Dovecot, Finding::UnexpectedHeader) if pop3 => {
            "Dovecot answers the header line `-ERR Unknown command.`"
        }
        (Kind::Dovecot, Finding::UnexpectedHeader) => {
            "Dovecot answers the header line `PROXY BAD Error in IMAP command received by server.`"
        }
        (Kind::Dovecot, Finding::MissingHeader) => {
            "Dovecot stays silent and closes after haproxy_timeout (3 s) (log: `haproxy: Client timed out`)"
        }
        (Kind::Dovecot, Finding::UntrustedSource) => {
            "Dovecot closes the connection without a word (log: `haproxy: Client not trusted`)"
        }
        (Kind::Mariadb, Finding::UnexpectedHeader | Finding::UntrustedSource) => {
            "MariaDB sends its greeting, then error 1130 `Proxy header is not accepted from …`"
        }
        _ => return None,
    })
}

/// The message and the fix of a finding on a link to a mail or database
/// server ([`said`] knows it).
pub(crate) fn message(
    to: &Hop,
    lis: &Listener,
    link: &Link,
    sender: &str,
    f: Finding,
    up: Option<&Upstream>,
) -> (String, Option<&'static str>) {
    let said = said(to, lis, f).unwrap_or_default();
    match f {
        Finding::UnexpectedHeader => (
            format!(
                "{sender} sends a {} but this port does not read one: {said}",
                link.carried.name()
            ),
            Some(lis.fix),
        ),
        Finding::MissingHeader => (
            format!("this port requires a PROXY header but {sender} sends none: {said}"),
            up.map(|u| u.fix),
        ),
        _ => match (&lis.trust, to.kind) {
            (Trust::List(nets, _), Kind::Dovecot) if nets.is_empty() => {
                let (m, fix) = untrusted_by_dovecot(lis);
                (m, Some(fix))
            }
            (Trust::List(nets, at), kind) => (
                format!(
                    "{sender} connects from {}, which is not in {} = {} ({at}): {said}",
                    up.and_then(|u| u.source)
                        .map_or("?".into(), |s| s.to_string()),
                    if kind == Kind::Dovecot {
                        "haproxy_trusted_networks"
                    } else {
                        "proxy-protocol-networks"
                    },
                    nets.iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                Some(if kind == Kind::Dovecot {
                    "dovecot-haproxy-trusted-networks"
                } else {
                    "mariadb-proxy-protocol-networks"
                }),
            ),
            _ => (format!("{sender}: {said}"), Some(lis.fix)),
        },
    }
}

/// Dovecot with `haproxy = yes` and no haproxy_trusted_networks: the one
/// message for the listener whether or not a sender of the input reaches
/// it (the two are the same finding and are said once).
pub(crate) fn untrusted_by_dovecot(lis: &Listener) -> (String, &'static str) {
    // Without the setting the (empty) list is placed at the listener.
    let why = match &lis.trust {
        Trust::List(_, at) if *at != lis.at => format!(
            "haproxy_trusted_networks ({at}) holds no address Dovecot reads (it takes addresses and CIDRs, and stops at the first entry that is neither, a host name)"
        ),
        _ => "haproxy_trusted_networks is not set".to_string(),
    };
    (
        format!(
            "haproxy = yes on port {} but {why}: Dovecot trusts no sender and drops every connection without a word (log: `haproxy: Client not trusted`)",
            lis.port.map_or("?".into(), |p| p.to_string())
        ),
        "dovecot-haproxy-trusted-networks",
    )
}
