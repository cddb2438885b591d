//! What nginx says, byte for byte, so the HTTP stand-in (`listen`,
//! repro's receivers) can stand in for it.
//!
//! Captured from Debian's nginx 1.22.1 on loopback (see docs/json.md):
//! the 400 page sent to a PROXY line on a listener without `proxy_protocol`
//! (and to plain HTTP on a `listen … ssl` one), and the error-log lines of
//! a listener with it.

use std::time::SystemTime;

use crate::server::clock;

/// The `Server:` header and page footer of the nginx we copy.
pub(crate) const SERVER: &str = "nginx/1.22.1";

/// nginx's body for 400 (`ngx_http_error_400_page` + tail), CRLF included.
const BAD_REQUEST_BODY: &str = "<html>\r\n<head><title>400 Bad Request</title></head>\r\n<body>\r\n\
<center><h1>400 Bad Request</h1></center>\r\n<hr><center>nginx/1.22.1</center>\r\n</body>\r\n</html>\r\n";

/// The exact response nginx sends when a request line is not HTTP (here:
/// a PROXY header reaching a listener without `proxy_protocol`).
pub(crate) fn bad_request(now: SystemTime) -> Vec<u8> {
    page_400(now, BAD_REQUEST_BODY)
}

/// nginx's 400 response around `body`, dated `now`.
fn page_400(now: SystemTime, body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 400 Bad Request\r\nServer: {SERVER}\r\nDate: {}\r\nContent-Type: text/html\r\n\
Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        clock::http_date(now),
        body.len()
    )
    .into_bytes()
}

/// nginx's body for plain HTTP on an ssl listener (error 497, sent as 400).
const PLAIN_HTTP_BODY: &str = "<html>\r\n<head><title>400 The plain HTTP request was sent to HTTPS port</title></head>\r\n<body>\r\n\
<center><h1>400 Bad Request</h1></center>\r\n<center>The plain HTTP request was sent to HTTPS port</center>\r\n\
<hr><center>nginx/1.22.1</center>\r\n</body>\r\n</html>\r\n";

/// The exact response nginx 1.22.1 sends to plain HTTP on a `listen … ssl`
/// port (captured on loopback).
pub(crate) fn plain_http_to_https(now: SystemTime) -> Vec<u8> {
    page_400(now, PLAIN_HTTP_BODY)
}

/// A line nginx writes to its error log, kept as the bytes it names
/// ([`Log::line`] says it in nginx's words).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Log {
    /// A missing or broken header on a `proxy_protocol` listener: `broken
    /// header: "<what arrived>"`, nginx's first read (at most 108 bytes,
    /// 107 for its NGX_PROXY_PROTOCOL_MAX_HEADER and one more) up to the
    /// end of its first line.
    BrokenHeader(Vec<u8>),
    /// The peer closed before sending anything (info level).
    ClosedEmpty,
    /// No complete header before the timeout.
    TimedOut,
    /// A v2 header over the size limit.
    TooLarge,
    /// A header that reached a plain HTTP listener (info level). nginx
    /// skips empty lines before a request line; a v1 header then fails as
    /// a whole line (`invalid request`), a v2 header at its NUL byte
    /// (`invalid method`): the bytes named.
    InvalidRequest { method: bool, named: Vec<u8> },
    /// Plain HTTP on a `listen … ssl` port.
    PlainHttpToHttps,
}

impl Log {
    /// [`Log::BrokenHeader`] of what arrived.
    pub(crate) fn broken_header(arrived: &[u8]) -> Log {
        let shown = &arrived[..arrived.len().min(108)];
        let shown = match memchr::memchr(b'\n', shown) {
            Some(lf) => &shown[..=lf],
            None => shown,
        };
        Log::BrokenHeader(shown.to_vec())
    }

    /// [`Log::InvalidRequest`] of what arrived.
    pub(crate) fn invalid_request(arrived: &[u8]) -> Log {
        let start = arrived
            .iter()
            .position(|&b| b != b'\r' && b != b'\n')
            .unwrap_or(arrived.len());
        let rest = &arrived[start..];
        match rest.first() {
            Some(b) if !(b.is_ascii_uppercase() || *b == b'_' || *b == b'-') => {
                Log::InvalidRequest {
                    method: true,
                    named: rest[..1].to_vec(),
                }
            }
            _ => {
                let end = rest
                    .iter()
                    .position(|&b| b == b'\r' || b == b'\n')
                    .unwrap_or(rest.len());
                Log::InvalidRequest {
                    method: false,
                    named: rest[..end].to_vec(),
                }
            }
        }
    }

    /// The line, in nginx's words. nginx 1.22 writes the bytes raw; they are
    /// escaped the way nginx escapes its access log (`"`, `\` and bytes
    /// outside 0x20..0x7e as `\xNN`) so a hostile client cannot write
    /// terminal escapes or fake lines into ppctl's output.
    pub(crate) fn line(&self) -> String {
        match self {
            Log::BrokenHeader(b) => format!(
                "broken header: \"{}\" while reading PROXY protocol",
                escape(b)
            ),
            Log::ClosedEmpty => "client closed connection while reading PROXY protocol".into(),
            Log::TimedOut => "client timed out while reading PROXY protocol".into(),
            Log::TooLarge => "header is too large while reading PROXY protocol".into(),
            Log::InvalidRequest { method, named } => format!(
                "client sent invalid {} while reading client request line, request: \"{}\"",
                if *method { "method" } else { "request" },
                escape(named)
            ),
            Log::PlainHttpToHttps => {
                "client sent plain HTTP request to HTTPS port while reading client request headers"
                    .into()
            }
        }
    }
}

/// nginx's access-log escaping (`ngx_http_log_escape`).
pub(crate) fn escape(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    push_escaped(&mut out, bytes);
    out
}

/// [`escape`], written into `out`: runs of printable bytes are pushed
/// whole (a request line is said on every connection's line and page).
pub(crate) fn push_escaped(out: &mut String, mut bytes: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    while !bytes.is_empty() {
        let plain = bytes
            .iter()
            .position(|&b| !(0x20..=0x7e).contains(&b) || b == b'"' || b == b'\\')
            .unwrap_or(bytes.len());
        crate::server::text::push_ascii(out, &bytes[..plain]);
        if let Some(&b) = bytes.get(plain) {
            out.push_str("\\x");
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0xf)]));
            bytes = &bytes[plain + 1..];
        } else {
            bytes = &[];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_byte_is_escaped_as_the_access_log_does() {
        let bytes: Vec<u8> = (0..=255u8).chain(*b"GET /a HTTP/1.1").collect();
        let mut want = String::new();
        for &b in &bytes {
            match b {
                b'"' | b'\\' => want.push_str(&format!("\\x{b:02X}")),
                0x20..=0x7e => want.push(char::from(b)),
                _ => want.push_str(&format!("\\x{b:02X}")),
            }
        }
        assert_eq!(escape(&bytes), want);
        assert_eq!(escape(b"GET / HTTP/1.1"), "GET / HTTP/1.1");
    }

    #[test]
    fn the_400_page_is_nginx_s() {
        let page = String::from_utf8(bad_request(SystemTime::UNIX_EPOCH)).unwrap_or_default();
        assert!(page.starts_with("HTTP/1.1 400 Bad Request\r\nServer: nginx/1.22.1\r\n"));
        assert!(page.contains("Date: Thu, 01 Jan 1970 00:00:00 GMT\r\n"));
        assert!(page.contains("Content-Length: 157\r\n"));
        assert!(page.ends_with("</html>\r\n"));
    }

    #[test]
    fn the_plain_http_page_is_nginx_s() {
        let page = plain_http_to_https(SystemTime::UNIX_EPOCH);
        let text = String::from_utf8(page.clone()).unwrap_or_default();
        assert!(text.starts_with("HTTP/1.1 400 Bad Request\r\nServer: nginx/1.22.1\r\n"));
        assert!(text.contains("Content-Length: 255\r\n"), "{text}");
        assert_eq!(
            crate::judge::Layer::of_plain(&page),
            crate::judge::Layer::PlainToTls
        );
    }

    fn invalid_request(arrived: &[u8]) -> String {
        Log::invalid_request(arrived).line()
    }

    fn broken_header(arrived: &[u8]) -> String {
        Log::broken_header(arrived).line()
    }

    #[test]
    fn invalid_request_matches_nginx_for_both_versions() {
        assert_eq!(
            invalid_request(b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\nGET /"),
            "client sent invalid request while reading client request line, request: \"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\""
        );
        assert_eq!(
            invalid_request(b"\r\n\r\n\0\r\nQUIT\n!"),
            "client sent invalid method while reading client request line, request: \"\\x00\""
        );
    }

    #[test]
    fn broken_header_holds_the_first_line_of_at_most_108_bytes() {
        assert_eq!(
            broken_header(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
            "broken header: \"GET / HTTP/1.1\\x0D\\x0A\" while reading PROXY protocol"
        );
        let hello = [0x16u8; 300];
        assert_eq!(
            broken_header(&hello).matches("\\x16").count(),
            108,
            "a ClientHello is cut where nginx stops reading"
        );
    }

    #[test]
    fn broken_header_escapes_like_the_access_log() {
        assert_eq!(
            broken_header(b"GET / HTTP/1.1\r\x16\"\\\n"),
            "broken header: \"GET / HTTP/1.1\\x0D\\x16\\x22\\x5C\\x0A\" while reading PROXY protocol"
        );
    }
}
