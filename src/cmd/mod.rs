//! Subcommands. Each returns an [`ExitCode`] or an [`Error`]; `run` prints
//! errors once, on stderr, and maps them to exit code 2.

pub mod explain;
pub mod generate;
pub mod inspect;
pub mod listen;
pub mod listen_tls;
pub mod pcap;
pub mod probe;
pub mod repro;
pub mod send;
pub mod send_http;

use std::io::{self, Write};

use crate::cli::{Cli, Command};
use crate::error::{Error, ExitCode, Result};
use crate::report::Style;

/// Run a parsed command line.
pub fn run(cli: Cli) -> ExitCode {
    let style = Style::new(cli.color);
    let result = match cli.command {
        Command::Inspect(args) => inspect::run(&args, style),
        Command::Explain(args) => explain::run(&args, style),
        Command::Probe(args) => probe::run(&args, style),
        Command::Listen(args) => listen::run(&args, style),
        Command::Repro(args) => repro::run(&args, style),
        Command::Send(args) => send::run(&args, style),
        Command::Pcap(args) => pcap::run(&args, style),
        Command::Completions(args) => generate::completions(&args),
        Command::Man(args) => generate::man(&args),
    };
    match result {
        Ok(code) => code,
        // A closed stdout is an error too (`ppctl ... | head -1`): results
        // were lost, and the message says how many lines.
        Err(e) => {
            report_error(&e);
            ExitCode::Error
        }
    }
}

/// Print an error (and its causes) to stderr, once.
pub fn report_error(e: &Error) {
    let mut err = io::stderr().lock();
    let _ = writeln!(err, "ppctl: error: {e}");
    if let Error::Other(inner) = e {
        for cause in inner.chain().skip(1) {
            let _ = writeln!(err, "  caused by: {cause}");
        }
    }
}

/// Write all of `text` to stdout and flush it, through the one stdout sink
/// ([`crate::report::out::Out`]): a failed write (a closed pipe, a full
/// disk) is an [`Error::Output`], and the run ends with exit 2.
pub fn print(text: &str) -> Result<()> {
    crate::report::out::Out::stdout().line(text)
}
