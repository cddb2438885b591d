//! `ppctl explain [TEXT|-]`: recognize PROXY-protocol error messages, one
//! record at a time as the input is read.

use std::io::{self, BufRead, BufReader, IsTerminal};
use std::path::PathBuf;

use crate::diagnose::explain::{Records, Tally};
use crate::error::{Error, ExitCode, Result};
use crate::report::out::Out;
use crate::report::{self, Style};

#[derive(Debug, clap::Args)]
#[command(after_help = concat!("\
Each recognized line is named by a finding of docs/verdicts.md (for example
missing-header (PP-MISSING-HEADER) for nginx's
`broken header: \"GET / HTTP/1.1\"`), with its fixes. The input is read as a
stream: each record is printed as soon as it is read (`tail -f` works), in
bounded memory; the findings table, the fixes and the counts come at the
end. Unrecognized lines are counted; -v lists them.

Examples:
  ppctl explain 'broken header: \"GET / HTTP/1.1\" while reading PROXY protocol'
  ppctl explain /var/log/nginx/error.log
  tail -f /var/log/nginx/error.log | ppctl explain - --json-lines
  kubectl logs deploy/ingress-nginx-controller | ppctl explain -
  journalctl -u haproxy | ppctl explain - --json | jq '.findings'

", super::exit_rule!(), "
explain judges each line it recognizes by the finding it names (nginx's
broken header is missing-header, a problem: 1); a line it does not
recognize is no finding (the counts say how many, -v lists them)."))]
pub struct ExplainArgs {
    /// The log line(s) or error message to explain, or a log file to read
    /// (a path that exists, `<(kubectl logs ...)` too). `-` (or nothing, when
    /// stdin is not a terminal) reads them from stdin.
    pub(crate) text: Option<String>,
    /// Read the lines from a file (a log file).
    #[arg(long, short, conflicts_with = "text")]
    pub(crate) file: Option<PathBuf>,
    /// Print one JSON document (docs/json.md); its `lines` are written as
    /// they are read.
    #[arg(long, conflicts_with = "json_lines")]
    pub(crate) json: bool,
    /// Print one JSON object per record as it is read, then a summary
    /// line (docs/json.md).
    #[arg(long)]
    pub(crate) json_lines: bool,
    /// List the unrecognized lines too (they are only counted otherwise).
    #[arg(long, short)]
    pub(crate) verbose: bool,
}

/// Exit 1 when a recognized line names a problem finding, 0 otherwise (a
/// line not recognized is no finding), 130 when interrupted.
pub fn run(args: &ExplainArgs, style: Style) -> Result<ExitCode> {
    let input = open_input(args)?;
    // Ctrl-C ends the read: the summary of what was read is printed (130).
    let interrupt = super::interrupt::catch_ctrl_c()?;
    // Written as it comes through the one stdout sink; flushed whenever the
    // next read may wait, so each record shows as soon as it is read, and a
    // closed pipe stops the run with the number of lines not written.
    let mut out = Out::stdout();
    let mut put = |text: &str, flush: bool| -> Result<()> {
        out.queue(text)?;
        if flush {
            out.flush()?;
        }
        Ok(())
    };
    let mut tally = Tally::default();
    if args.json {
        put(&report::explain::json_open(), true)?;
    }
    let mut records = Records::new(input);
    while let Some(record) = records.next() {
        let record = record.map_err(|e| Error::io("reading the input", e))?;
        if interrupt.requested() {
            tally.interrupted = true;
            break;
        }
        let text = if args.json {
            report::explain::json_entry(&record, tally.records == 0)
        } else if args.json_lines {
            report::explain::json_line(&record)
        } else {
            report::explain::human_record(&record, style, args.verbose)
        };
        tally.add(&record);
        put(&text, records.drained())?;
    }
    put(
        &if args.json {
            report::explain::json_close(&tally)
        } else if args.json_lines {
            report::explain::json_summary_line(&tally)
        } else {
            report::explain::human_summary(&tally, style)
        },
        true,
    )?;
    if tally.interrupted {
        super::interrupt::say_partial(&format!(
            "the summary covers the {} record(s) read before it",
            tally.records
        ));
        return Ok(ExitCode::Interrupted);
    }
    Ok(ExitCode::check(
        !tally.findings.iter().any(|(f, _)| f.is_problem()),
    ))
}

fn open_input(args: &ExplainArgs) -> Result<Box<dyn BufRead>> {
    let named = match args.text.as_deref() {
        Some(arg) => super::names_a_file(arg)?,
        None => None,
    };
    if let Some(path) = args.file.as_deref().or(named) {
        let file = std::fs::File::open(path)
            .map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
        return Ok(Box::new(BufReader::with_capacity(64 * 1024, file)));
    }
    match args.text.as_deref() {
        Some("-") => Ok(Box::new(io::stdin().lock())),
        Some(t) => Ok(Box::new(io::Cursor::new(t.as_bytes().to_vec()))),
        None if !io::stdin().is_terminal() => Ok(Box::new(io::stdin().lock())),
        None => Err(Error::usage(
            "nothing to explain: give a log line as an argument, pipe a log into `ppctl explain -`, or use --file",
        )),
    }
}
