//! The 200 "whoami" page: what the receiver knows about the client, the
//! way nginx would expose it ($remote_addr after realip, $proxy_protocol_*).
//!
//! The page is the receiver's protocol behaviour (what a client gets back),
//! not ppctl's report, so it is built here. Its JSON form is small and flat
//! and is written by hand (a dozen lines) rather than through serde_json,
//! which engines do not use.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr};

use ipnet::IpNet;

use crate::codec::{tlv, Decoded};
use crate::server::record::Event;
use crate::server::text;

use super::nginx;

/// One TLV, as the page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PageTlv {
    pub kind: u8,
    pub name: &'static str,
    pub offset: usize,
    pub value: Vec<u8>,
    /// A readable form, when the value is not opaque bytes.
    pub decoded: Option<String>,
}

impl PageTlv {
    /// The TLVs of a valid header.
    pub(crate) fn of(decoded: &Decoded<'_>) -> Vec<PageTlv> {
        let Decoded::Complete(h) = decoded else {
            return Vec::new();
        };
        h.tlvs()
            .map(|t| PageTlv {
                kind: t.kind,
                name: t.name(),
                offset: t.offset,
                value: t.value.to_vec(),
                decoded: match t.decoded() {
                    tlv::Value::Bytes(_) => None,
                    v => Some(v.to_string()),
                },
            })
            .collect()
    }

    fn shown(&self) -> String {
        self.decoded
            .clone()
            .unwrap_or_else(|| hex::encode(&self.value))
    }
}

/// Everything the page shows.
#[derive(Debug, Clone)]
pub(crate) struct Whoami {
    /// The socket's peer (nginx `$realip_remote_addr`).
    pub peer: SocketAddr,
    /// nginx `$server_addr`/`$server_port`: our end of the socket.
    pub server: SocketAddr,
    /// nginx `$proxy_protocol_addr`/`_port` and `$proxy_protocol_server_*`:
    /// the accepted PROXY header's source and destination.
    pub claimed: Option<(SocketAddr, SocketAddr)>,
    /// The accepted header's version and command ("v1 PROXY", "v2 LOCAL").
    pub proxy_protocol: Option<(u8, &'static str)>,
    pub tlvs: Vec<PageTlv>,
    /// `--trust` (nginx `set_real_ip_from`).
    pub trust: Vec<IpNet>,
    pub spoofable: bool,
    pub note: Option<Cow<'static, str>>,
    pub request: String,
}

impl Whoami {
    /// nginx `$remote_addr` with `set_real_ip_from <--trust>` and
    /// `real_ip_header proxy_protocol`.
    pub(crate) fn realip_remote_addr(&self) -> IpAddr {
        realip(self.peer, &self.trust, self.claimed.map(|c| c.0))
    }

    fn proxy_protocol(&self) -> Option<String> {
        self.proxy_protocol.map(|(v, c)| format!("v{v} {c}"))
    }

    /// The text page, written after what `s` holds (the response's head).
    pub(crate) fn push_text(&self, s: &mut String) {
        // Written in place, as listen's line: the page goes out with every
        // connection (docs/performance.md).
        s.push_str("remote_addr (realip): ");
        text::push_ip(s, self.realip_remote_addr());
        s.push_str("\npeer: ");
        text::push_socket(s, self.peer);
        s.push_str("\nserver: ");
        text::push_socket(s, self.server);
        s.push_str("\nproxy_protocol: ");
        match self.proxy_protocol {
            Some((v, c)) => {
                s.push('v');
                text::push_decimal(s, u64::from(v));
                s.push(' ');
                s.push_str(c);
            }
            None => s.push_str("none"),
        }
        let (src, dst) = (self.claimed.map(|c| c.0), self.claimed.map(|c| c.1));
        for (label, end) in [
            ("\nproxy_protocol_", src),
            ("\nproxy_protocol_server_", dst),
        ] {
            s.push_str(label);
            s.push_str("addr: ");
            match end {
                Some(a) => text::push_ip(s, a.ip()),
                None => s.push('-'),
            }
            s.push_str(label);
            s.push_str("port: ");
            match end {
                Some(a) => text::push_decimal(s, u64::from(a.port())),
                None => s.push('-'),
            }
        }
        s.push('\n');
        for t in &self.tlvs {
            let _ = writeln!(s, "tlv {} (0x{:02x}): {}", t.name, t.kind, t.shown());
        }
        s.push_str("set_real_ip_from: ");
        if self.trust.is_empty() {
            s.push('-');
        }
        for (i, n) in self.trust.iter().enumerate() {
            if i > 0 {
                s.push(' ');
            }
            let _ = write!(s, "{n}");
        }
        s.push_str("\nspoofable: ");
        s.push_str(if self.spoofable { "true" } else { "false" });
        s.push('\n');
        if let Some(n) = &self.note {
            s.push_str("note: ");
            s.push_str(n);
            s.push('\n');
        }
        s.push_str("request: ");
        nginx::push_escaped(s, self.request.as_bytes());
        s.push('\n');
    }

    /// The JSON page (docs/json.md, "The whoami page"), one field a line.
    pub(crate) fn json(&self) -> String {
        let (src, dst) = (self.claimed.map(|c| c.0), self.claimed.map(|c| c.1));
        let ip = |a: Option<SocketAddr>| opt(a.map(|a| string(&a.ip().to_string())));
        let port = |a: Option<SocketAddr>| opt(a.map(|a| a.port().to_string()));
        let tlvs: Vec<String> = self
            .tlvs
            .iter()
            .map(|t| {
                format!(
                    "{{\"type\": {}, \"name\": {}, \"offset\": {}, \"length\": {}, \"value\": {}, \"decoded\": {}}}",
                    t.kind,
                    string(t.name),
                    t.offset,
                    t.value.len(),
                    string(&hex::encode(&t.value)),
                    opt(t.decoded.as_deref().map(string)),
                )
            })
            .collect();
        let trust: Vec<String> = self.trust.iter().map(|n| string(&n.to_string())).collect();
        let fields = [
            ("schema", crate::JSON_SCHEMA.to_string()),
            ("peer", endpoint(self.peer)),
            ("server_addr", string(&self.server.ip().to_string())),
            ("server_port", self.server.port().to_string()),
            ("proxy_protocol_addr", ip(src)),
            ("proxy_protocol_port", port(src)),
            ("proxy_protocol_server_addr", ip(dst)),
            ("proxy_protocol_server_port", port(dst)),
            (
                "proxy_protocol",
                opt(self.proxy_protocol().as_deref().map(string)),
            ),
            ("tlvs", format!("[{}]", tlvs.join(", "))),
            (
                "realip_remote_addr",
                string(&self.realip_remote_addr().to_string()),
            ),
            ("trust", format!("[{}]", trust.join(", "))),
            ("spoofable", self.spoofable.to_string()),
            ("note", opt(self.note.as_deref().map(string))),
            ("request", string(&self.request)),
        ];
        let body: Vec<String> = fields
            .iter()
            .map(|(k, v)| format!("  \"{k}\": {v}"))
            .collect();
        format!("{{\n{}\n}}\n", body.join(",\n"))
    }
}

/// The page's note: what the receiver made of the header, in the page's
/// words (the page is what the client gets, not ppctl's report).
pub(crate) fn note(events: &[Event]) -> Option<Cow<'static, str>> {
    // A fixed sentence is not copied: the page goes out with every connection.
    let mut note = None;
    for e in events {
        let said: Cow<'static, str> = match e {
            Event::PeerIsClient => "no PROXY header: the peer is the client".into(),
            Event::Untrusted { peer, trust, .. } => {
                let mut s = format!("header from {peer} which is not in --trust ");
                for (i, n) in trust.iter().enumerate() {
                    if i > 0 {
                        s.push(',');
                    }
                    let _ = write!(s, "{n}");
                }
                s.push_str(": ignored, the peer is the client");
                s.into()
            }
            Event::Local => "LOCAL header (a health check): the socket's addresses stand".into(),
            Event::AnyPeer => {
                "accepted from any peer: any client could forge it; use --trust CIDR".into()
            }
            _ => continue,
        };
        text::push_joined(&mut note, said);
    }
    note
}

/// The nginx realip rule: the header's source replaces the peer only when
/// the peer is in `set_real_ip_from` (an empty list trusts nobody).
pub(crate) fn realip(peer: SocketAddr, trust: &[IpNet], claimed: Option<SocketAddr>) -> IpAddr {
    match claimed {
        Some(src) if trust.iter().any(|n| n.contains(&peer.ip())) => src.ip(),
        _ => peer.ip(),
    }
}

/// A JSON string literal.
fn string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn opt(v: Option<String>) -> String {
    v.unwrap_or_else(|| "null".into())
}

fn endpoint(a: SocketAddr) -> String {
    format!(
        "{{\"address\": {}, \"port\": {}}}",
        string(&a.ip().to_string()),
        a.port()
    )
}

/// Does the client want JSON? (`/json`, or `Accept: application/json`.)
pub(crate) fn wants_json(path: &str, accept: Option<&[u8]>) -> bool {
    let path = path.split('?').next().unwrap_or(path);
    path == "/json"
        || accept.is_some_and(|a| {
            String::from_utf8_lossy(a)
                .to_ascii_lowercase()
                .contains("application/json")
        })
}

/// A complete `200` response around the body that `write` writes.
pub(crate) fn response(content_type: &str, write: impl FnOnce(&mut String)) -> Vec<u8> {
    // One buffer, without `fmt`: a page goes out with every connection. The
    // body is written after the head and its length put in its place after
    // (a second buffer for the body cost an allocation and a copy).
    let mut r = String::with_capacity(content_type.len() + 608);
    r.push_str("HTTP/1.1 200 OK\r\nServer: ppctl\r\nContent-Type: ");
    r.push_str(content_type);
    r.push_str("\r\nContent-Length: ");
    let at = r.len();
    r.push_str("\r\nConnection: close\r\n\r\n");
    let start = r.len();
    write(&mut r);
    let mut length = itoa::Buffer::new();
    let length = length.format(r.len() - start).as_bytes();
    let mut bytes = r.into_bytes();
    bytes.extend_from_slice(length);
    bytes[at..].rotate_right(length.len());
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sa(s: &str) -> SocketAddr {
        s.parse().unwrap_or_else(|_| unreachable!())
    }

    fn net(s: &str) -> IpNet {
        s.parse().unwrap_or_else(|_| unreachable!())
    }

    #[test]
    fn realip_follows_set_real_ip_from() {
        let peer = sa("10.0.0.5:4000");
        let src = sa("203.0.113.7:1234");
        let ip = |s: &str| s.parse::<IpAddr>().unwrap_or_else(|_| unreachable!());
        assert_eq!(
            realip(peer, &[net("10.0.0.0/8")], Some(src)),
            ip("203.0.113.7")
        );
        assert_eq!(
            realip(peer, &[net("192.168.0.0/16")], Some(src)),
            ip("10.0.0.5")
        );
        assert_eq!(realip(peer, &[], Some(src)), ip("10.0.0.5"));
        assert_eq!(realip(peer, &[net("10.0.0.0/8")], None), ip("10.0.0.5"));
    }

    #[test]
    fn json_is_chosen_by_path_or_accept() {
        assert!(wants_json("/json", None));
        assert!(wants_json("/json?x=1", None));
        assert!(wants_json("/", Some(b"text/html, Application/JSON")));
        assert!(!wants_json("/", Some(b"text/html")));
    }

    #[test]
    fn the_json_page_is_valid_json_with_escapes() {
        let page = Whoami {
            peer: sa("[2001:db8::1]:4000"),
            server: sa("127.0.0.1:80"),
            claimed: Some((sa("192.0.2.1:1000"), sa("192.0.2.2:443"))),
            proxy_protocol: Some((2, "PROXY")),
            tlvs: vec![PageTlv {
                kind: 2,
                name: "AUTHORITY",
                offset: 28,
                value: b"a\"b".to_vec(),
                decoded: Some("a\"b\u{1}".into()),
            }],
            trust: vec![net("10.0.0.0/8")],
            spoofable: false,
            note: None,
            request: "GET /\\ HTTP/1.1".into(),
        };
        let json = page.json();
        for want in [
            "  \"schema\": 3,\n",
            "  \"peer\": {\"address\": \"2001:db8::1\", \"port\": 4000},\n",
            "  \"proxy_protocol_port\": 1000,\n",
            "  \"proxy_protocol\": \"v2 PROXY\",\n",
            "\"value\": \"612262\", \"decoded\": \"a\\\"b\\u0001\"}",
            "  \"realip_remote_addr\": \"2001:db8::1\",\n",
            "  \"trust\": [\"10.0.0.0/8\"],\n",
            "  \"note\": null,\n",
            "  \"request\": \"GET /\\\\ HTTP/1.1\"\n}\n",
        ] {
            assert!(json.contains(want), "{want} in {json}");
        }
    }
}
