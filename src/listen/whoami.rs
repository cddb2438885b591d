//! The 200 "whoami" page: what the receiver knows about the client, the
//! way nginx would expose it ($remote_addr after realip, $proxy_protocol_*).

use std::net::SocketAddr;

use serde::Serialize;

use crate::report::json::{EndpointJson, TlvJson};

use super::nginx;

/// Everything the page shows.
#[derive(Debug, Clone, Serialize)]
pub struct Whoami {
    pub schema: u32,
    /// The socket's peer (nginx `$realip_remote_addr`).
    pub peer: EndpointJson,
    /// nginx `$server_addr`/`$server_port`: our end of the socket.
    pub server_addr: String,
    pub server_port: u16,
    /// nginx `$proxy_protocol_addr`/`_port`: the header's claimed source.
    pub proxy_protocol_addr: Option<String>,
    pub proxy_protocol_port: Option<u16>,
    /// nginx `$proxy_protocol_server_addr`/`_port`: the claimed destination.
    pub proxy_protocol_server_addr: Option<String>,
    pub proxy_protocol_server_port: Option<u16>,
    /// "v1 PROXY", "v2 LOCAL", or null.
    pub proxy_protocol: Option<String>,
    pub tlvs: Vec<TlvJson>,
    /// nginx `$remote_addr` with `set_real_ip_from <--trust>` and
    /// `real_ip_header proxy_protocol`.
    pub realip_remote_addr: String,
    pub trust: Vec<String>,
    pub spoofable: bool,
    pub note: Option<String>,
    pub request: String,
}

impl Whoami {
    /// The nginx realip rule: the header's source replaces the peer only
    /// when the peer is in `set_real_ip_from` (an empty list trusts nobody).
    pub fn realip(peer: SocketAddr, trust: &[ipnet::IpNet], claimed: Option<SocketAddr>) -> String {
        match claimed {
            Some(src) if trust.iter().any(|n| n.contains(&peer.ip())) => src.ip().to_string(),
            _ => peer.ip().to_string(),
        }
    }

    pub fn text(&self) -> String {
        let opt = |o: &Option<String>| o.clone().unwrap_or_else(|| "-".into());
        let port = |o: Option<u16>| o.map_or_else(|| "-".into(), |p| p.to_string());
        let mut s = format!(
            "remote_addr (realip): {}\npeer: {}\nserver: {}:{}\nproxy_protocol: {}\n\
proxy_protocol_addr: {}\nproxy_protocol_port: {}\nproxy_protocol_server_addr: {}\n\
proxy_protocol_server_port: {}\n",
            self.realip_remote_addr,
            self.peer,
            self.server_addr,
            self.server_port,
            self.proxy_protocol.clone().unwrap_or_else(|| "none".into()),
            opt(&self.proxy_protocol_addr),
            port(self.proxy_protocol_port),
            opt(&self.proxy_protocol_server_addr),
            port(self.proxy_protocol_server_port),
        );
        for t in &self.tlvs {
            let shown = t.decoded.clone().unwrap_or_else(|| t.value.clone());
            s.push_str(&format!("tlv {} (0x{:02x}): {}\n", t.name, t.kind, shown));
        }
        s.push_str(&format!(
            "set_real_ip_from: {}\nspoofable: {}\n",
            if self.trust.is_empty() {
                "-".to_string()
            } else {
                self.trust.join(" ")
            },
            self.spoofable
        ));
        if let Some(n) = &self.note {
            s.push_str(&format!("note: {n}\n"));
        }
        s.push_str(&format!(
            "request: {}\n",
            nginx::escape(self.request.as_bytes())
        ));
        s
    }

    pub fn json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).unwrap_or_default();
        s.push('\n');
        s
    }
}

/// Does the client want JSON? (`/json`, or `Accept: application/json`.)
pub fn wants_json(path: &str, accept: Option<&[u8]>) -> bool {
    let path = path.split('?').next().unwrap_or(path);
    path == "/json"
        || accept.is_some_and(|a| {
            String::from_utf8_lossy(a)
                .to_ascii_lowercase()
                .contains("application/json")
        })
}

/// A complete `200` response around `body`.
pub fn response(body: &str, content_type: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 200 OK\r\nServer: ppctl\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\
Connection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn realip_follows_set_real_ip_from() {
        let peer: SocketAddr = "10.0.0.5:4000".parse().unwrap_or_else(|_| unreachable!());
        let src: SocketAddr = "203.0.113.7:1234"
            .parse()
            .unwrap_or_else(|_| unreachable!());
        let lan: ipnet::IpNet = "10.0.0.0/8".parse().unwrap_or_else(|_| unreachable!());
        let other: ipnet::IpNet = "192.168.0.0/16".parse().unwrap_or_else(|_| unreachable!());
        assert_eq!(Whoami::realip(peer, &[lan], Some(src)), "203.0.113.7");
        assert_eq!(Whoami::realip(peer, &[other], Some(src)), "10.0.0.5");
        assert_eq!(Whoami::realip(peer, &[], Some(src)), "10.0.0.5");
        assert_eq!(Whoami::realip(peer, &[lan], None), "10.0.0.5");
    }

    #[test]
    fn json_is_chosen_by_path_or_accept() {
        assert!(wants_json("/json", None));
        assert!(wants_json("/json?x=1", None));
        assert!(wants_json("/", Some(b"text/html, Application/JSON")));
        assert!(!wants_json("/", Some(b"text/html")));
    }
}
