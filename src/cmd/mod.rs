//! Subcommands. Each returns an `ExitCode` or an `Error`;
//! [`crate::cli::Cli::run`] prints errors once, on stderr, and maps them to
//! exit code 2.

/// The exit-code rule, written once: `ppctl --help`, every command's
/// `--help` and man page end with it, and the README's table says the same
/// (tests/exit_codes.rs holds every command to it). A command's help adds
/// one paragraph after it: what that command judges.
macro_rules! exit_rule {
    () => {
        "\
Exit codes (one rule for every ppctl command):
  0    done, no problem: nothing ppctl judged has a problem finding
       (docs/verdicts.md), and every --expect... holds
  1    done, a problem found: a problem finding in what ppctl judged, or an
       --expect... not met (given an --expect..., the expectations alone
       decide between 0 and 1)
  2    ppctl could not do its job: a usage error, a name that does not
       resolve, a local I/O error (a file, a port in use, out of file
       descriptors), or lost output (stdout closed or full; stderr says how
       many lines)
  130  interrupted (SIGINT) before the end; a long run (send --connections,
       pcap, explain, conform, repro --target, check --probe) first prints
       what it measured, marked interrupted (a second Ctrl-C ends it at once)
What happens at the target (refused, unreachable, no reply in time) is a
finding about the target: 1, never 2.
"
    };
}
pub(crate) use exit_rule;

/// The rule as text, for tests and the README check.
pub const EXIT_RULE: &str = exit_rule!();

pub(crate) mod check;
pub(crate) mod conform;
pub(crate) mod explain;
pub mod generate;
pub(crate) mod header_args;
pub(crate) mod inspect;
pub(crate) mod interrupt;
pub(crate) mod listen;
pub(crate) mod listen_tls;
pub(crate) mod pcap;
pub(crate) mod probe;
pub(crate) mod probe_serve;
pub(crate) mod probe_watch;
pub(crate) mod protocol_args;
pub(crate) mod relay;
pub(crate) mod repro;
pub(crate) mod send;
pub(crate) mod send_http;
pub(crate) mod serve;
pub(crate) mod values;

use std::io::{self, Write};

use crate::error::{Error, Result};

/// The file a command-line argument names, if it names one that exists and
/// is not a directory: a regular file, a pipe (bash's `<(kubectl logs …)`
/// is `/dev/fd/63`), a device (`/dev/stdin`). `explain` and `inspect` read
/// such an argument as that file; no header, dump or log line is exactly
/// the path of one. A directory is a usage error, not text to read.
pub(crate) fn names_a_file(arg: &str) -> Result<Option<&std::path::Path>> {
    if arg == "-" {
        return Ok(None);
    }
    let path = std::path::Path::new(arg);
    match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => Err(a_directory(path, "a file")),
        Ok(_) => Ok(Some(path)),
        Err(_) => Ok(None),
    }
}

/// The usage error for a directory where a command reads a file (`what`:
/// "a file", "a capture file"), which `-` could replace.
pub(crate) fn a_directory(path: &std::path::Path, what: &str) -> Error {
    Error::usage(format!(
        "{} is a directory: give {what} in it, or `-` to read stdin",
        path.display()
    ))
}

/// Print an error (and its causes) to stderr, once.
pub(crate) fn report_error(e: &Error) {
    let mut err = io::stderr().lock();
    let mut said = e.to_string();
    let _ = writeln!(err, "ppctl: error: {said}");
    if let Error::Other(inner) = e {
        for cause in inner.chain().skip(1) {
            // Most errors already say their cause in their own words
            // (`cannot listen on …: Address already in use`): once is enough.
            let cause = cause.to_string();
            if !said.contains(&cause) {
                let _ = writeln!(err, "  caused by: {cause}");
                said.push_str(&cause);
            }
        }
    }
}

/// Write all of `text` to stdout and flush it, through the one stdout sink
/// ([`crate::report::out::Out`]): a failed write (a closed pipe, a full
/// disk) is an [`Error::Output`], and the run ends with exit 2.
pub(crate) fn print(text: &str) -> Result<()> {
    crate::report::out::Out::stdout().line(text)
}
