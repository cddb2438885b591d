//! `HOST:PORT`, `[IPv6]:PORT` or `NAME:PORT`, and its resolution.

use std::fmt;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::str::FromStr;

use thiserror::Error as ThisError;

/// Where to connect: a host (IP literal or name) and a port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// An IP literal (IPv6 without brackets) or a DNS name.
    pub host: String,
    pub port: u16,
}

#[derive(Debug, ThisError)]
pub enum TargetError {
    #[error("target {0:?} is not HOST:PORT, [IPv6]:PORT or NAME:PORT (for example 127.0.0.1:8080, [::1]:8080 or localhost:8080)")]
    Syntax(String),
    #[error("target {0:?}: an IPv6 address needs brackets, as in [{0}]:PORT")]
    BareIpv6(String),
    #[error("target {target:?}: port {port:?} is not a number from 1 to 65535")]
    Port { target: String, port: String },
    #[error("could not resolve {target}: {source} (check the name, or give an IP address)")]
    Resolve {
        target: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{0} resolved to no address")]
    NoAddress(String),
}

impl FromStr for Target {
    type Err = TargetError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (host, port) = if let Some(rest) = s.strip_prefix('[') {
            let (host, port) = rest
                .split_once("]:")
                .ok_or_else(|| TargetError::Syntax(s.to_string()))?;
            host.parse::<Ipv6Addr>()
                .map_err(|_| TargetError::Syntax(s.to_string()))?;
            (host, port)
        } else {
            let (host, port) = s
                .rsplit_once(':')
                .ok_or_else(|| TargetError::Syntax(s.to_string()))?;
            if host.contains(':') {
                return Err(TargetError::BareIpv6(host.to_string()));
            }
            (host, port)
        };
        if host.is_empty() {
            return Err(TargetError::Syntax(s.to_string()));
        }
        let port = match port.parse::<u16>() {
            Ok(p) if p > 0 => p,
            _ => {
                return Err(TargetError::Port {
                    target: s.to_string(),
                    port: port.to_string(),
                })
            }
        };
        Ok(Target {
            host: host.to_string(),
            port,
        })
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

impl Target {
    /// The value for an HTTP `Host` header: the host, bracketed when it is
    /// IPv6, with the port unless it is 80.
    pub fn authority(&self) -> String {
        match self.port {
            80 if self.host.contains(':') => format!("[{}]", self.host),
            80 => self.host.clone(),
            _ => self.to_string(),
        }
    }

    /// The addresses to try, in resolver order. An IP literal needs no
    /// lookup.
    pub async fn resolve(&self) -> Result<Vec<SocketAddr>, TargetError> {
        if let Ok(ip) = self.host.parse::<IpAddr>() {
            return Ok(vec![SocketAddr::new(ip, self.port)]);
        }
        let addrs: Vec<SocketAddr> = tokio::net::lookup_host((self.host.as_str(), self.port))
            .await
            .map_err(|source| TargetError::Resolve {
                target: self.to_string(),
                source,
            })?
            .collect();
        if addrs.is_empty() {
            return Err(TargetError::NoAddress(self.to_string()));
        }
        Ok(addrs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_three_forms() {
        let t: Target = "127.0.0.1:8080".parse().unwrap();
        assert_eq!((t.host.as_str(), t.port), ("127.0.0.1", 8080));
        let t: Target = "[::1]:443".parse().unwrap();
        assert_eq!((t.host.as_str(), t.port), ("::1", 443));
        assert_eq!(t.to_string(), "[::1]:443");
        let t: Target = "localhost:80".parse().unwrap();
        assert_eq!(t.authority(), "localhost");
    }

    #[test]
    fn rejects_bad_targets() {
        for bad in [
            "",
            "host",
            ":80",
            "host:",
            "host:0",
            "host:70000",
            "::1:80",
            "[::1]80",
            "[zz]:80",
        ] {
            assert!(bad.parse::<Target>().is_err(), "{bad}");
        }
    }
}
