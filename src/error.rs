//! Exit codes and the errors that reach the binary's edge.

use thiserror::Error;

/// The process exit status. Documented in the README and in `ppctl --help`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitCode {
    /// 0: the check passed (a valid header, every expectation met).
    Success,
    /// 1: the check failed (invalid/incomplete/no header, an expectation not
    /// met, a problem verdict in a capture).
    CheckFailed,
    /// 2: a usage error or an I/O error: ppctl could not do its job.
    Error,
    /// 130: stopped by SIGINT before finishing.
    Interrupted,
}

impl ExitCode {
    pub fn code(self) -> u8 {
        match self {
            ExitCode::Success => 0,
            ExitCode::CheckFailed => 1,
            ExitCode::Error => 2,
            ExitCode::Interrupted => 130,
        }
    }

    /// 0 when `ok`, 1 otherwise.
    pub fn check(ok: bool) -> Self {
        if ok {
            ExitCode::Success
        } else {
            ExitCode::CheckFailed
        }
    }

    /// The worse of two outcomes (error > failed check > success).
    pub fn merge(self, other: ExitCode) -> ExitCode {
        if self.code() >= other.code() && self != ExitCode::Interrupted {
            self
        } else {
            other
        }
    }
}

impl From<ExitCode> for std::process::ExitCode {
    fn from(c: ExitCode) -> Self {
        std::process::ExitCode::from(c.code())
    }
}

/// Errors that stop a command (usage and I/O). Each says what went wrong,
/// where, and what to do.
#[derive(Debug, Error)]
pub enum Error {
    #[error("{0}")]
    Usage(String),
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    /// Results could not be written to stdout (the reader closed the pipe,
    /// the disk is full): the run ends with exit 2, never silently.
    #[error("writing to stdout: {}; {}", output_cause(source), unwritten_lines(*unwritten))]
    Output {
        #[source]
        source: std::io::Error,
        /// Lines of output that were not written (the failed batch and
        /// everything after it).
        unwritten: u64,
    },
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

/// The cause of a failed write to stdout, in words a user can act on.
fn output_cause(e: &std::io::Error) -> String {
    use std::io::ErrorKind;
    match e.kind() {
        ErrorKind::BrokenPipe => "Broken pipe (the reader closed the pipe)".into(),
        ErrorKind::StorageFull => "No space left on device (the disk is full)".into(),
        _ => e.to_string(),
    }
}

fn unwritten_lines(n: u64) -> String {
    if n == 1 {
        "1 line was not written".into()
    } else {
        format!("{n} lines were not written")
    }
}

impl Error {
    pub fn usage(msg: impl Into<String>) -> Self {
        Error::Usage(msg.into())
    }

    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lost_output_says_why_and_how_much() {
        let e = Error::Output {
            source: std::io::Error::from(std::io::ErrorKind::BrokenPipe),
            unwritten: 6,
        };
        assert_eq!(
            e.to_string(),
            "writing to stdout: Broken pipe (the reader closed the pipe); 6 lines were not written"
        );
        let e = Error::Output {
            source: std::io::Error::from_raw_os_error(28),
            unwritten: 1,
        };
        assert_eq!(
            e.to_string(),
            "writing to stdout: No space left on device (the disk is full); 1 line was not written"
        );
    }

    #[test]
    fn merge_keeps_the_worst() {
        assert_eq!(
            ExitCode::Success.merge(ExitCode::CheckFailed),
            ExitCode::CheckFailed
        );
        assert_eq!(
            ExitCode::Error.merge(ExitCode::CheckFailed),
            ExitCode::Error
        );
        assert_eq!(ExitCode::check(true).code(), 0);
        assert_eq!(ExitCode::check(false).code(), 1);
    }
}
