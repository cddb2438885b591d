//! The HTTP request `send` writes after the header, and where it connects:
//! what a user needs to hit an ingress by IP with the right Host and SNI
//! (`--host`, `-H`, `--method`, `--path`, curl's `--connect-to` and
//! `--resolve`).

use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

use crate::net::{Target, TargetError};

/// The request line and headers of the default payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub method: String,
    pub path: String,
    /// The Host header; `None`: the target's authority.
    pub host: Option<String>,
    /// `-H 'Name: value'` in order; `Name:` with nothing after the colon
    /// removes a default header, as in curl.
    pub headers: Vec<(String, String)>,
}

impl Default for Request {
    fn default() -> Self {
        Request {
            method: Request::METHOD.to_string(),
            path: "/".to_string(),
            host: None,
            headers: Vec::new(),
        }
    }
}

impl Request {
    /// The method when none is given.
    pub const METHOD: &'static str = "GET";

    /// The bytes: a request that asks the server to close afterwards, so
    /// the reply ends with EOF instead of the keep-alive timeout. `tls`
    /// leaves the port out of the default Host on 443, as browsers do.
    pub fn bytes(&self, target: &Target, tls: bool) -> Vec<u8> {
        let host = self
            .host
            .clone()
            .unwrap_or_else(|| match (tls, target.port) {
                (true, 443) => Target {
                    host: target.host.clone(),
                    port: 80,
                }
                .authority(),
                _ => target.authority(),
            });
        let defaults = [
            ("Host", host),
            ("User-Agent", format!("ppctl/{}", env!("CARGO_PKG_VERSION"))),
            ("Accept", "*/*".to_string()),
            ("Connection", "close".to_string()),
        ];
        let given = |name: &str| {
            self.headers
                .iter()
                .any(|(n, _)| n.eq_ignore_ascii_case(name))
        };
        let mut out = format!("{} {} HTTP/1.1\r\n", self.method, self.path);
        for (name, value) in &defaults {
            if !given(name) {
                out.push_str(&format!("{name}: {value}\r\n"));
            }
        }
        for (name, value) in &self.headers {
            if !value.is_empty() {
                out.push_str(&format!("{name}: {value}\r\n"));
            }
        }
        out.push_str("\r\n");
        out.into_bytes()
    }
}

/// `-H 'Name: value'`: a header line (`Name:` alone removes a default).
pub fn parse_header(s: &str) -> Result<(String, String), String> {
    let (name, value) = s
        .split_once(':')
        .ok_or_else(|| format!("{s:?} is not `Name: value`"))?;
    let name = name.trim();
    let token = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
    if name.is_empty() || !name.chars().all(token) {
        return Err(format!("{name:?} is not a header name"));
    }
    let value = value.trim();
    if value.contains(['\r', '\n']) {
        return Err(format!("the value of {name} holds a line break"));
    }
    Ok((name.to_string(), value.to_string()))
}

/// curl's `--connect-to HOST1:PORT1:HOST2:PORT2`: connections to
/// HOST1:PORT1 go to HOST2:PORT2 instead; an empty HOST1 or PORT1 matches
/// any, an empty HOST2 or PORT2 keeps the target's. The Host header and
/// the SNI stay the target's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectTo {
    pub from_host: Option<String>,
    pub from_port: Option<u16>,
    pub to_host: Option<String>,
    pub to_port: Option<u16>,
}

/// curl's `--resolve HOST:PORT:ADDR`: HOST on PORT resolves to ADDR
/// (`*` as HOST matches any; several addresses are comma-separated).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolve {
    pub host: String,
    pub port: u16,
    pub addrs: Vec<IpAddr>,
}

/// Split `s` at its colons, keeping `[v6]` literals whole.
fn fields(s: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut bracket = false;
    for c in s.chars() {
        match c {
            '[' => bracket = true,
            ']' => bracket = false,
            ':' if !bracket => {
                out.push(String::new());
                continue;
            }
            _ => {}
        }
        if let Some(last) = out.last_mut() {
            last.push(c);
        }
    }
    out
}

fn unbracket(s: &str) -> &str {
    s.strip_prefix('[')
        .and_then(|s| s.strip_suffix(']'))
        .unwrap_or(s)
}

fn port(s: &str, what: &str) -> Result<Option<u16>, String> {
    if s.is_empty() {
        return Ok(None);
    }
    match s.parse::<u16>() {
        Ok(p) if p > 0 => Ok(Some(p)),
        _ => Err(format!("{what}: {s:?} is not a port")),
    }
}

impl FromStr for ConnectTo {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let f = fields(s);
        let [h1, p1, h2, p2] = f.as_slice() else {
            return Err(format!("{s:?} is not HOST1:PORT1:HOST2:PORT2"));
        };
        let host = |h: &str| (!h.is_empty()).then(|| unbracket(h).to_string());
        Ok(ConnectTo {
            from_host: host(h1),
            from_port: port(p1, "PORT1")?,
            to_host: host(h2),
            to_port: port(p2, "PORT2")?,
        })
    }
}

impl FromStr for Resolve {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        // HOST:PORT:ADDR[,ADDR...]; the addresses may be bare IPv6.
        let mut parts = s.splitn(3, ':');
        let (Some(host), Some(p), Some(addrs)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(format!("{s:?} is not HOST:PORT:ADDR"));
        };
        if host.is_empty() {
            return Err(format!("{s:?}: HOST is empty (use * for any)"));
        }
        let port = port(p, "PORT")?.ok_or_else(|| format!("{s:?}: PORT is empty"))?;
        let addrs = addrs
            .split(',')
            .map(|a| {
                unbracket(a.trim())
                    .parse::<IpAddr>()
                    .map_err(|_| format!("{a:?} is not an IP address"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Resolve {
            host: host.to_string(),
            port,
            addrs,
        })
    }
}

/// Where to connect for `target`: the first matching `--connect-to`
/// changes the host and port, then a matching `--resolve` (for the host
/// connected to) gives its addresses, else DNS does.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Routes {
    pub connect_to: Vec<ConnectTo>,
    pub resolve: Vec<Resolve>,
}

impl Routes {
    /// The host and port actually connected to.
    pub fn destination(&self, target: &Target) -> Target {
        let same = |a: &str, b: &str| unbracket(a).eq_ignore_ascii_case(unbracket(b));
        for c in &self.connect_to {
            let host_ok = c.from_host.as_deref().is_none_or(|h| same(h, &target.host));
            let port_ok = c.from_port.is_none_or(|p| p == target.port);
            if host_ok && port_ok {
                return Target {
                    host: c.to_host.clone().unwrap_or_else(|| target.host.clone()),
                    port: c.to_port.unwrap_or(target.port),
                };
            }
        }
        target.clone()
    }

    /// The addresses to try for `target`.
    pub async fn addresses(&self, target: &Target) -> Result<Vec<SocketAddr>, TargetError> {
        let dest = self.destination(target);
        let pinned = self.resolve.iter().find(|r| {
            r.port == dest.port && (r.host == "*" || r.host.eq_ignore_ascii_case(&dest.host))
        });
        match pinned {
            Some(r) => Ok(r
                .addrs
                .iter()
                .map(|ip| SocketAddr::new(*ip, dest.port))
                .collect()),
            None => dest.resolve().await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(s: &str) -> Target {
        s.parse().unwrap()
    }

    #[test]
    fn the_request_takes_host_headers_and_method() {
        let text =
            |r: &Request, t: &str, tls: bool| String::from_utf8(r.bytes(&target(t), tls)).unwrap();
        let r = Request::default();
        let get = text(&r, "127.0.0.1:8080", false);
        assert!(
            get.starts_with("GET / HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n"),
            "{get}"
        );
        assert!(get.ends_with("Connection: close\r\n\r\n"));
        assert!(text(&r, "app.example.com:443", true).contains("Host: app.example.com\r\n"));
        assert!(text(&r, "app.example.com:443", false).contains("Host: app.example.com:443\r\n"));
        let r = Request {
            method: "HEAD".into(),
            path: "/healthz".into(),
            host: Some("app.example.com".into()),
            headers: vec![
                parse_header("X-Test: 1").unwrap(),
                parse_header("accept:").unwrap(),
                parse_header("User-Agent: curl/8").unwrap(),
            ],
        };
        let t = text(&r, "10.0.0.1:443", true);
        assert!(
            t.starts_with("HEAD /healthz HTTP/1.1\r\nHost: app.example.com\r\n"),
            "{t}"
        );
        assert!(
            t.contains("X-Test: 1\r\n") && t.contains("User-Agent: curl/8\r\n"),
            "{t}"
        );
        assert!(
            !t.contains("ppctl/") && !t.to_lowercase().contains("accept"),
            "{t}"
        );
        assert!(parse_header("no colon").is_err());
        assert!(parse_header("bad name: x").is_err());
    }

    #[test]
    fn connect_to_and_resolve_like_curl() {
        let routes = Routes {
            connect_to: vec![
                "app.example.com:443:127.0.0.1:8443".parse().unwrap(),
                "::[::1]:".parse().unwrap(),
            ],
            resolve: vec!["api.example.com:443:127.0.0.2,::1".parse().unwrap()],
        };
        assert_eq!(
            routes.destination(&target("app.example.com:443")),
            target("127.0.0.1:8443")
        );
        assert_eq!(
            routes.destination(&target("other.example:80")),
            Target {
                host: "::1".into(),
                port: 80
            }
        );
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let only_resolve = Routes {
            connect_to: vec![],
            resolve: routes.resolve.clone(),
        };
        let addrs = rt
            .block_on(only_resolve.addresses(&target("API.example.com:443")))
            .unwrap();
        assert_eq!(
            addrs,
            vec![
                "127.0.0.2:443".parse::<SocketAddr>().unwrap(),
                "[::1]:443".parse().unwrap()
            ]
        );
        assert!("a:b".parse::<ConnectTo>().is_err());
        assert!("a:0:b:1".parse::<ConnectTo>().is_err());
        assert!("h:443:not-an-ip".parse::<Resolve>().is_err());
        assert!("h::1.2.3.4".parse::<Resolve>().is_err());
    }
}
