//! `ppctl check FILE... [-]`: read the configuration of every hop and say
//! which link of the chain disagrees, before the rollout.

use std::io::Read;
use std::path::PathBuf;

use super::values::{self, Choice, Wait};
use crate::check::{self, live, load, Input, Kind};
use crate::diagnose::probe::MAX_TIMEOUT;
use crate::error::{Error, ExitCode, Result};
use crate::net;
use crate::report::Style;

#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  kubectl get cm,svc -n ingress-nginx -o yaml | ppctl check - nginx.conf
  helm get values ingress-nginx -n ingress-nginx | ppctl check -
  ppctl check /etc/haproxy/haproxy.cfg /etc/nginx/nginx.conf
  ppctl check --kind helm values.yaml --json
  ppctl check --probe /etc/nginx/nginx.conf
  ppctl check --probe --probe-host 10.0.0.5 haproxy.cfg

--probe confirms each listener on the wire: a listener whose address is
written (listen 127.0.0.1:8443, bind 10.0.0.5:443) is probed there (TLS when
it says ssl), a wildcard one (listen 80, *:80, 0.0.0.0) only at
--probe-host. Where the wire disagrees with the file, the finding is
config-wire-mismatch (a problem: exit 1); a listener that cannot be reached
from here, or that the probe cannot read, is said so and is no finding.

Exit codes: 0 no problem finding (warnings allowed), 1 a problem finding
(docs/verdicts.md), including a --probe disagreement, 2 unreadable input (a
parse error names its file and line) or a usage error.")]
pub struct CheckArgs {
    /// Configuration files: nginx (includes followed), HAProxy, Kubernetes
    /// YAML (kubectl get -o yaml) or ingress-nginx Helm values; `-` reads
    /// stdin. Kinds are detected from the content.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Read every file as this kind instead of detecting it.
    #[arg(long, value_parser = Choice::new(&Kind::ALL, Kind::name, Kind::help))]
    pub(crate) kind: Option<Kind>,
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

pub fn run(args: &CheckArgs, style: Style) -> Result<ExitCode> {
    let mut inputs = Vec::new();
    for path in &args.files {
        let (name, text) = if path.as_os_str() == "-" {
            let mut buf = String::new();
            std::io::stdin()
                .lock()
                .read_to_string(&mut buf)
                .map_err(|e| Error::io("reading stdin", e))?;
            ("-".to_string(), buf)
        } else {
            let text = std::fs::read_to_string(path)
                .map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
            (path.to_string_lossy().into_owned(), text)
        };
        inputs.push(Input {
            name,
            text,
            kind: args.kind,
        });
    }
    let mut result =
        check::check(&inputs, &load::include).map_err(|e| Error::usage(format!("{e}")))?;
    if args.probe {
        let opts = live::Options {
            timeout: args.probe_timeout.0,
            host: args.probe_host.clone(),
        };
        net::runtime()?.block_on(live::confirm(&mut result, &opts));
    }
    let text = if args.json {
        crate::report::check::json(&result)
    } else {
        crate::report::check::human(&result, style)
    };
    super::print(&text)?;
    Ok(ExitCode::check(!result.failed()))
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
