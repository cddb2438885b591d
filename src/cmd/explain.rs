//! `ppctl explain [TEXT|-]`: recognize PROXY-protocol error messages.

use std::io::{IsTerminal, Read};
use std::path::PathBuf;

use crate::diagnose::explain;
use crate::error::{Error, ExitCode, Result};
use crate::report::{self, Style};

#[derive(Debug, clap::Args)]
#[command(after_help = "\
Each recognized line is named by a finding of docs/verdicts.md (for example
missing-header (PP-MISSING) for nginx's `broken header: \"GET / HTTP/1.1\"`),
with its fixes.

Examples:
  ppctl explain 'broken header: \"GET / HTTP/1.1\" while reading PROXY protocol'
  ppctl explain --file /var/log/nginx/error.log
  kubectl logs deploy/ingress-nginx-controller | ppctl explain -
  journalctl -u haproxy | ppctl explain - --json | jq '.findings'

Exit codes: 0 at least one line recognized; 1 no line recognized; 2 usage or
I/O error.")]
pub struct ExplainArgs {
    /// The log line(s) or error message to explain. `-` (or nothing, when
    /// stdin is not a terminal) reads them from stdin.
    pub(crate) text: Option<String>,
    /// Read the lines from a file (a log file).
    #[arg(long, short, conflicts_with = "text")]
    pub(crate) file: Option<PathBuf>,
    /// Print one JSON object (docs/json.md).
    #[arg(long)]
    pub(crate) json: bool,
}

/// Exit 0 when at least one line was recognized, 1 when none was.
pub fn run(args: &ExplainArgs, style: Style) -> Result<ExitCode> {
    let input = read_input(args)?;
    let result = explain::explain(&input);
    let text = if args.json {
        report::explain::json_text(&result)
    } else {
        report::explain::render(&result, style)
    };
    super::print(&text)?;
    Ok(ExitCode::check(result.recognized() > 0))
}

fn read_input(args: &ExplainArgs) -> Result<Vec<u8>> {
    if let Some(path) = &args.file {
        return std::fs::read(path)
            .map_err(|e| Error::io(format!("reading {}", path.display()), e));
    }
    match args.text.as_deref() {
        Some("-") => read_stdin(),
        Some(t) => Ok(t.as_bytes().to_vec()),
        None if !std::io::stdin().is_terminal() => read_stdin(),
        None => Err(Error::usage(
            "nothing to explain: give a log line as an argument, pipe a log into `ppctl explain -`, or use --file",
        )),
    }
}

fn read_stdin() -> Result<Vec<u8>> {
    let mut buf = Vec::new();
    std::io::stdin()
        .lock()
        .read_to_end(&mut buf)
        .map_err(|e| Error::io("reading stdin", e))?;
    Ok(buf)
}
