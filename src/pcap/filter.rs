//! Which flows to report: `--finding`, `--client`, `--server`, `--limit`.

use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

use ipnet::IpNet;

use super::FlowResult;
use crate::judge::Finding;

/// An endpoint pattern: a CIDR, an address, a port, or address:port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    net: Option<IpNet>,
    port: Option<u16>,
}

impl Endpoints {
    pub fn matches(&self, addr: SocketAddr) -> bool {
        self.net.is_none_or(|n| n.contains(&addr.ip()))
            && self.port.is_none_or(|p| p == addr.port())
    }
}

impl FromStr for Endpoints {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let port = s.strip_prefix(':').unwrap_or(s);
        if let Ok(p) = port.parse::<u16>() {
            return Ok(Endpoints {
                net: None,
                port: Some(p),
            });
        }
        if let Ok(sa) = s.parse::<SocketAddr>() {
            return Ok(Endpoints {
                net: Some(IpNet::from(sa.ip())),
                port: Some(sa.port()),
            });
        }
        if let Ok(net) = s.parse::<IpNet>() {
            return Ok(Endpoints {
                net: Some(net),
                port: None,
            });
        }
        if let Ok(ip) = s.parse::<IpAddr>() {
            return Ok(Endpoints {
                net: Some(IpNet::from(ip)),
                port: None,
            });
        }
        Err(format!(
            "`{s}` is not an endpoint pattern: use a CIDR (10.0.0.0/8), an address (10.0.0.1, ::1), \
             a port (443 or :443) or address:port (10.0.0.1:443, [::1]:443)"
        ))
    }
}

/// The selection applied to decided flows.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Report only these findings (all when empty).
    pub(crate) findings: Vec<Finding>,
    pub client: Option<Endpoints>,
    pub server: Option<Endpoints>,
    /// Stop after this many flows.
    pub limit: Option<u64>,
}

impl Filter {
    pub fn selects(&self, flow: &FlowResult) -> bool {
        (self.findings.is_empty() || self.findings.contains(&flow.finding()))
            && self.client.as_ref().is_none_or(|c| c.matches(flow.client))
            && self.server.as_ref().is_none_or(|s| s.matches(flow.server))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns() {
        let a: SocketAddr = "10.1.2.3:443".parse().unwrap();
        assert!("443".parse::<Endpoints>().unwrap().matches(a));
        assert!(":443".parse::<Endpoints>().unwrap().matches(a));
        assert!("10.0.0.0/8".parse::<Endpoints>().unwrap().matches(a));
        assert!("10.1.2.3".parse::<Endpoints>().unwrap().matches(a));
        assert!(!"10.1.2.3:80".parse::<Endpoints>().unwrap().matches(a));
        assert!("[::1]:80".parse::<Endpoints>().is_ok());
        assert!("nonsense".parse::<Endpoints>().is_err());
    }
}
