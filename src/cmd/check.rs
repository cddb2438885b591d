//! `ppctl check FILE... [-]`: read the configuration of every hop and say
//! which link of the chain disagrees, before the rollout.

use std::path::PathBuf;
use std::sync::Arc;

use super::values::{self, Wait};
use crate::check::{self, live, load, Input, Kind};
use crate::diagnose::probe::{Class, MAX_TIMEOUT};
use crate::error::{Error, ExitCode, Result};
use crate::net;
use crate::report::progress::Progress;
use crate::report::Style;

#[derive(Debug, clap::Args)]
#[command(after_help = concat!("\
Examples:
  kubectl get cm,svc -n ingress-nginx -o yaml | ppctl check - nginx.conf
  helm get values ingress-nginx -n ingress-nginx | ppctl check -
  ppctl check /etc/haproxy/haproxy.cfg /etc/nginx/nginx.conf
  ppctl check --kind helm=values.yaml values.yaml nginx.conf --json
  ppctl check --root ./prod-etc-nginx ./prod-etc-nginx/nginx.conf
  ppctl check gitops/ingress/
  ppctl check haproxy.cfg /etc/postfix/main.cf /etc/postfix/master.cf
  ppctl check --root ./etc-mysql haproxy.cfg ./etc-mysql/my.cnf
  ppctl check ingress-nginx/ envoy-gateway/
  ppctl check --probe /etc/nginx/nginx.conf
  ppctl check --probe --probe-host 10.0.0.5 haproxy.cfg

--probe confirms each listener on the wire: a listener whose address is
written (listen 127.0.0.1:8443, bind 10.0.0.5:443) is probed there (TLS when
it says ssl), a wildcard one (listen 80, *:80, 0.0.0.0) only at
--probe-host. Where the wire disagrees with the file, the finding is
config-wire-mismatch (a problem: exit 1); a listener that cannot be reached
from here, or that the probe cannot read, is said so and is no finding.

A directory stands for the configuration files in it (*.yaml, *.yml,
*.json, *.conf, *.cfg, *.toml, Caddyfile, Postfix's main.cf and master.cf,
*.cnf), read as one chain. With two
directories or more (check old/ new/), each is a chain of its own, shown
one after the other: a migration is checked before it happens.

", super::exit_rule!(), "
check judges every link of the chain (with --probe, the wire too): warnings
alone are 0. A file it cannot read or parse (its file and line are named) is
2, and so is nothing to check (no input describes a hop: said with what was
read)."))]
pub struct CheckArgs {
    /// Configuration files or directories: nginx (includes followed),
    /// HAProxy, Kubernetes objects (kubectl get -o yaml / -o json), a
    /// chart's values, Traefik, Envoy, Caddy, Postfix (main.cf and
    /// master.cf), Dovecot (dovecot.conf, includes followed), MariaDB
    /// (my.cnf, includes followed); `-` reads stdin. Kinds are detected
    /// from the content.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Read FILE (or every file, without =FILE) as KIND instead of
    /// detecting it: nginx, haproxy, kubernetes, helm, traefik, envoy,
    /// caddy, postfix, dovecot, mariadb (e.g. --kind helm=values.yaml;
    /// repeat for more files).
    #[arg(long, value_name = "KIND[=FILE]", value_parser = kind_for)]
    pub(crate) kind: Vec<KindFor>,
    /// Where absolute includes (nginx, Dovecot, MariaDB's `!includedir`)
    /// are read from: a copy of a server's
    /// tree (/etc/nginx/x.conf is DIR/etc/nginx/x.conf, DIR/nginx/x.conf or
    /// DIR/x.conf, the first that exists). Without it they are read from
    /// this machine, and "Read:" says so.
    #[arg(long, value_name = "DIR", value_hint = clap::ValueHint::DirPath)]
    pub(crate) root: Option<PathBuf>,
    /// Print one JSON object (docs/json.md).
    #[arg(long)]
    pub json: bool,
    /// Confirm live, with probe's engine, what each listener whose address
    /// is written in the configuration expects, and report where the wire
    /// disagrees.
    #[arg(long)]
    pub(crate) probe: bool,
    /// How long --probe waits for a lookup, a connect and each reply
    /// (500ms, 2s; at most 60s).
    #[arg(
        long,
        value_name = "DURATION",
        requires = "probe",
        default_value_t = Wait(live::DEFAULT_TIMEOUT),
        value_parser = probe_timeout
    )]
    pub(crate) probe_timeout: Wait,
    /// Also probe wildcard listeners (listen 80, *:80, 0.0.0.0, a
    /// Kubernetes port) at this host (an IP or a name).
    #[arg(
        long,
        value_name = "HOST",
        requires = "probe",
        value_parser = probe_host,
        value_hint = clap::ValueHint::Hostname
    )]
    pub(crate) probe_host: Option<String>,
}

/// A `--kind`: a kind for every file, or for one (`helm=values.yaml`,
/// `helm:values.yaml`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KindFor {
    kind: Kind,
    file: Option<String>,
}

fn kind_for(s: &str) -> std::result::Result<KindFor, String> {
    let (name, file) = match s.split_once(['=', ':']) {
        Some((k, f)) if !f.is_empty() => (k, Some(f.to_string())),
        Some((k, _)) => (k, None),
        None => (s, None),
    };
    let kind = Kind::named(name).ok_or_else(|| {
        format!(
            "'{name}' is not a kind check reads: give one of {} (e.g. --kind helm=values.yaml)",
            Kind::ALL.map(Kind::name).join(", ")
        )
    })?;
    Ok(KindFor { kind, file })
}

/// Whether `--kind KIND=FILE` names this input (as given, or by its path's
/// end).
fn names(file: &str, input: &str) -> bool {
    let file = file.trim_start_matches("./");
    let input = input.trim_start_matches("./");
    input == file || input.ends_with(&format!("/{file}"))
}

/// A `--probe-timeout`: positive, and at most probe's own limit.
fn probe_timeout(s: &str) -> std::result::Result<Wait, String> {
    let w = values::timeout(s)?;
    if w.0 > MAX_TIMEOUT {
        return Err(format!(
            "'{s}' is longer than --probe-timeout takes: give at most {} (e.g. 2s)",
            Wait(MAX_TIMEOUT)
        ));
    }
    Ok(w)
}

/// A `--probe-host`: an IP address (IPv6 with or without brackets) or a
/// name, without a port.
fn probe_host(s: &str) -> std::result::Result<String, String> {
    let bare = s
        .strip_prefix('[')
        .and_then(|r| r.strip_suffix(']'))
        .unwrap_or(s);
    if bare.parse::<std::net::IpAddr>().is_ok() {
        return Ok(bare.to_string());
    }
    let name_ok = !bare.is_empty()
        && bare
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == '_');
    if name_ok {
        Ok(bare.to_string())
    } else {
        Err(format!(
            "'{s}' is not a host: give an IP address or a name without a port (e.g. 127.0.0.1, ::1 or ingress.internal); the port is each listener's"
        ))
    }
}

/// The inputs the arguments name: files, stdin, and the files of
/// directories; read errors are kept for the report.
fn inputs(args: &CheckArgs, files: &[PathBuf]) -> Result<Vec<Input>> {
    let mut out = Vec::new();
    let mut stdin = false;
    for path in files {
        if path.as_os_str() == "-" {
            if stdin {
                return Err(Error::usage(
                    "`-` (stdin) is given twice: it can be read once",
                ));
            }
            stdin = true;
            out.push(("-".to_string(), load::read_stdin(), false));
        } else if path.is_dir() {
            let files = load::files_in(path).map_err(Error::usage)?;
            if files.is_empty() {
                out.push((
                    path.to_string_lossy().into_owned(),
                    Err("directory holds no configuration file (*.yaml, *.yml, *.json, *.conf, *.cfg, *.toml, Caddyfile, main.cf, master.cf, *.cnf)".into()),
                    false,
                ));
            }
            for f in files {
                let text = load::read_file(&f);
                out.push((f.to_string_lossy().into_owned(), text, true));
            }
        } else {
            let text = load::read_file(path);
            out.push((path.to_string_lossy().into_owned(), text, false));
        }
    }
    for k in &args.kind {
        if let Some(f) = &k.file {
            if args.files.len() == files.len() && !out.iter().any(|(name, _, _)| names(f, name)) {
                return Err(Error::usage(format!(
                    "--kind {}={f}: no FILE argument is {f}",
                    k.kind.name()
                )));
            }
        }
    }
    Ok(out
        .into_iter()
        .map(|(name, text, listed)| {
            let kind = args
                .kind
                .iter()
                .rev()
                .find(|k| k.file.as_deref().is_some_and(|f| names(f, &name)))
                .or_else(|| args.kind.iter().rev().find(|k| k.file.is_none()))
                .map(|k| k.kind);
            Input {
                name,
                text,
                kind,
                listed,
            }
        })
        .collect())
}

/// The chains the arguments stand for: one, or, when two or more of
/// them are directories of the same kinds of configuration (`check
/// gitops/ingress-nginx/ gitops/envoy-gateway/`), one per argument, so a
/// migration is checked beside what runs today. Directories of different
/// kinds (`/etc/haproxy /etc/postfix`: a daemon each) are the hops of one
/// chain, as their files given one by one would be. `kinds` reads what
/// kinds a group's files are.
fn groups(
    args: &CheckArgs,
    kinds: impl Fn(&[PathBuf]) -> Result<Vec<Kind>>,
) -> Result<Vec<Vec<PathBuf>>> {
    let whole = vec![args.files.clone()];
    if args.files.iter().filter(|p| p.is_dir()).count() < 2 {
        return Ok(whole);
    }
    let apart: Vec<Vec<PathBuf>> = args.files.iter().map(|p| vec![p.clone()]).collect();
    // Kubernetes objects and a chart's values are one family: a
    // controller's manifests in one directory, its chart in the next.
    let family = |k: &Kind| match k {
        Kind::HelmValues => Kind::Kubernetes,
        other => *other,
    };
    let mut seen: Vec<Vec<Kind>> = Vec::new();
    for group in &apart {
        let mut mine: Vec<Kind> = Vec::new();
        for k in kinds(group)?.iter().map(family) {
            if !mine.contains(&k) {
                mine.push(k);
            }
        }
        if seen
            .iter()
            .any(|other| other.iter().any(|k| mine.contains(k)))
        {
            return Ok(apart);
        }
        seen.push(mine);
    }
    Ok(whole)
}

pub fn run(args: &CheckArgs, style: Style) -> Result<ExitCode> {
    let loader = load::Loader::new(args.root.clone());
    let include = |top: &str, from: &str, pattern: &str| loader.include(top, from, pattern);
    let groups = groups(args, |files| {
        let read = check::check(inputs(args, files)?, &include);
        Ok(read.files.iter().filter_map(|f| f.kind).collect())
    })?;
    let mut chains = Vec::new();
    // --probe waits on the network: a bar on a terminal counts the probes,
    // and Ctrl-C judges what was probed so far (exit 130).
    let mut interrupted = false;
    for files in &groups {
        let mut result = check::check(inputs(args, files)?, &include);
        if args.probe && !result.unusable() && !interrupted {
            let opts = live::Options {
                timeout: args.probe_timeout.0,
                host: args.probe_host.clone(),
            };
            let probes = live::probe_count(&result, &opts);
            let progress = Progress::count(probes as u64, "probes");
            let bar = progress.clone();
            let watch = net::Watch {
                on_step: Some(Arc::new(move |class: &Class| {
                    bar.inc(1);
                    bar.say(class.name());
                })),
                interrupt: super::interrupt::catch_ctrl_c()?,
            };
            net::runtime()?.block_on(live::confirm(&mut result, &opts, &watch));
            progress.clear();
            interrupted = watch.interrupt.requested();
        }
        chains.push(result);
    }
    if chains.len() == 1 {
        let result = &chains[0];
        if args.json {
            // In pieces: a large chain is written as it is rendered.
            let mut out = crate::report::out::Out::stdout();
            for part in crate::report::check::json_parts(result) {
                out.queue(&part)?;
            }
            out.finish()?;
        } else {
            super::print(&crate::report::check::human(result, style))?;
        }
    } else {
        let named: Vec<(String, &check::Check)> = groups
            .iter()
            .zip(&chains)
            .map(|(g, c)| (g[0].to_string_lossy().into_owned(), c))
            .collect();
        let text = if args.json {
            crate::report::check::json_chains(&named)
        } else {
            crate::report::check::human_chains(&named, style)
        };
        super::print(&text)?;
    }
    let mut code = ExitCode::Success;
    for result in &chains {
        if result.unusable() {
            crate::report::check::errors(result)
                .lines()
                .for_each(|l| super::report_error(&Error::usage(l)));
            code = code.merge(ExitCode::Error);
        } else {
            code = code.merge(ExitCode::check(!result.failed()));
        }
    }
    if code == ExitCode::Error {
        return Ok(code);
    }
    if interrupted {
        super::interrupt::say_partial(
            "the probes that had not finished are marked so; the configuration was judged whole",
        );
        return Ok(ExitCode::Interrupted);
    }
    Ok(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_flags_take_a_bounded_duration_and_a_bare_host() {
        assert_eq!(probe_timeout("500ms").map(|w| w.0.as_millis()), Ok(500));
        assert!(probe_timeout("0").is_err());
        assert!(probe_timeout("2m").is_err());
        assert_eq!(Wait(live::DEFAULT_TIMEOUT).to_string(), "2s");
        assert_eq!(probe_host("127.0.0.1").as_deref(), Ok("127.0.0.1"));
        assert_eq!(probe_host("[::1]").as_deref(), Ok("::1"));
        assert_eq!(probe_host("::1").as_deref(), Ok("::1"));
        assert_eq!(
            probe_host("ingress.internal").as_deref(),
            Ok("ingress.internal")
        );
        assert!(probe_host("127.0.0.1:80").is_err());
        assert!(probe_host("").is_err());
    }
}
