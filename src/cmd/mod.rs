//! Subcommands. Each returns an [`ExitCode`] or an [`Error`];
//! [`crate::cli::Cli::run`] prints errors once, on stderr, and maps them to
//! exit code 2.

pub mod check;
pub mod conform;
pub mod explain;
pub mod generate;
pub mod header_args;
pub mod inspect;
pub mod listen;
pub mod listen_tls;
pub mod pcap;
pub mod probe;
pub mod relay;
pub mod repro;
pub mod send;
pub mod send_http;
pub(crate) mod serve;
pub(crate) mod values;

use std::io::{self, Write};

use crate::error::{Error, Result};

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
