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
    #[error(transparent)]
    Other(#[from] anyhow::Error),
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
