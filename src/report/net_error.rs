//! A connection's error ([`NetError`]) in words: the one place that says
//! them, for every view (the human one and the `--json` strings alike).

use std::fmt;

use serde::{Serialize, Serializer};

use crate::net::NetError;

/// In `--json`, the same words as a string.
impl Serialize for NetError {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl fmt::Display for NetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NetError::NoAddress => f.write_str("no address to connect to"),
            NetError::Io(error) | NetError::TlsSetup(error) => f.write_str(error),
            NetError::At { addr, error } => write!(f, "{addr}: {error}"),
            NetError::Bind { addr, local, error } => {
                write!(f, "{addr}: binding to {local}: {error}")
            }
            NetError::ConnectTimeout { addr, after } => {
                write!(f, "{addr}: no answer within {} ms", after.as_millis())
            }
            NetError::PeerStoppedReading => {
                f.write_str("the peer stopped reading (write timed out)")
            }
            NetError::MaxTimeWhileWriting => f.write_str("the time limit came while writing"),
            NetError::MaxTimeInHandshake => {
                f.write_str("the time limit (--max-time) came during the handshake")
            }
            NetError::NoTlsAnswer { after } => {
                write!(f, "no TLS answer within {} ms", after.as_millis())
            }
            NetError::ServerName { name, error } => write!(f, "{name:?}: {error}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn errors_read_as_before_they_were_typed() {
        let addr = "127.0.0.1:9".parse().unwrap();
        let cases = [
            (
                NetError::ConnectTimeout {
                    addr,
                    after: Duration::from_millis(1500),
                },
                "127.0.0.1:9: no answer within 1500 ms",
            ),
            (
                NetError::Bind {
                    addr,
                    local: "127.0.0.2".parse().unwrap(),
                    error: "Address in use".into(),
                },
                "127.0.0.1:9: binding to 127.0.0.2: Address in use",
            ),
            (
                NetError::At {
                    addr,
                    error: "Connection refused (os error 111)".into(),
                },
                "127.0.0.1:9: Connection refused (os error 111)",
            ),
            (
                NetError::ServerName {
                    name: "a b".into(),
                    error: "invalid dns name".into(),
                },
                "\"a b\": invalid dns name",
            ),
            (
                NetError::NoTlsAnswer {
                    after: Duration::from_secs(2),
                },
                "no TLS answer within 2000 ms",
            ),
        ];
        for (error, words) in cases {
            assert_eq!(error.to_string(), words);
        }
    }
}
