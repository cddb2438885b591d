//! `ppctl check FILE... [-]`: read the configuration of every hop and say
//! which link of the chain disagrees, before the rollout.

use std::io::Read;
use std::path::PathBuf;

use super::values::Choice;
use crate::check::{self, load, Input, Kind};
use crate::error::{Error, ExitCode, Result};
use crate::report::Style;

#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  kubectl get cm,svc -n ingress-nginx -o yaml | ppctl check - nginx.conf
  helm get values ingress-nginx -n ingress-nginx | ppctl check -
  ppctl check /etc/haproxy/haproxy.cfg /etc/nginx/nginx.conf
  ppctl check --kind helm values.yaml --json

Exit codes: 0 no problem finding (warnings allowed), 1 a problem finding
(docs/verdicts.md), 2 unreadable input (a parse error names its file and
line) or a usage error.")]
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
    let result = check::check(&inputs, &load::include).map_err(|e| Error::usage(format!("{e}")))?;
    let text = if args.json {
        crate::report::check::json(&result)
    } else {
        crate::report::check::human(&result, style)
    };
    super::print(&text)?;
    Ok(ExitCode::check(!result.failed()))
}
