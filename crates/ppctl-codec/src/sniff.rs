//! What a byte stream looks like when it is not (or no longer) a PROXY
//! header: the payload after a header, the bytes a receiver rejected, or a
//! server's first answer. Pure and borrowing, like the codec.

use std::fmt;

/// The shape of some bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sniffed<'a> {
    Empty,
    HttpRequest {
        method: &'a str,
        path: &'a str,
        host: Option<&'a str>,
    },
    HttpResponse {
        status: u16,
        reason: &'a str,
    },
    TlsClientHello {
        sni: Option<&'a str>,
    },
    TlsServerHello,
    TlsAlert {
        level: u8,
        description: u8,
    },
    /// Another TLS record type (change cipher spec, application data).
    TlsRecord {
        content_type: u8,
    },
    SshBanner(&'a str),
    /// Printable text that is none of the above; its first line.
    Text(&'a str),
    Binary {
        len: usize,
    },
}

impl Sniffed<'_> {
    /// Stable identifier for JSON.
    pub fn code(&self) -> &'static str {
        match self {
            Sniffed::Empty => "empty",
            Sniffed::HttpRequest { .. } => "http-request",
            Sniffed::HttpResponse { .. } => "http-response",
            Sniffed::TlsClientHello { .. } => "tls-client-hello",
            Sniffed::TlsServerHello => "tls-server-hello",
            Sniffed::TlsAlert { .. } => "tls-alert",
            Sniffed::TlsRecord { .. } => "tls-record",
            Sniffed::SshBanner(_) => "ssh-banner",
            Sniffed::Text(_) => "text",
            Sniffed::Binary { .. } => "binary",
        }
    }

    pub fn is_tls(&self) -> bool {
        matches!(
            self,
            Sniffed::TlsClientHello { .. }
                | Sniffed::TlsServerHello
                | Sniffed::TlsAlert { .. }
                | Sniffed::TlsRecord { .. }
        )
    }
}

/// Classify `buf`. Never fails: the fallback is text or binary.
pub fn classify(buf: &[u8]) -> Sniffed<'_> {
    if buf.is_empty() {
        return Sniffed::Empty;
    }
    if let Some(s) = tls(buf) {
        return s;
    }
    if buf.starts_with(b"HTTP/") {
        if let Some(s) = http_response(buf) {
            return s;
        }
    }
    if let Some(s) = http_request(buf) {
        return s;
    }
    let line = first_line(buf);
    if line.starts_with(b"SSH-") {
        if let Ok(s) = std::str::from_utf8(line) {
            return Sniffed::SshBanner(s);
        }
    }
    match std::str::from_utf8(line) {
        Ok(s) if !s.is_empty() && s.chars().all(|c| !c.is_control() || c == '\t') => {
            Sniffed::Text(s)
        }
        _ => Sniffed::Binary { len: buf.len() },
    }
}

/// The first line (without CR/LF), at most 200 bytes.
fn first_line(buf: &[u8]) -> &[u8] {
    let end = buf
        .iter()
        .position(|&b| b == b'\r' || b == b'\n')
        .unwrap_or(buf.len())
        .min(200);
    &buf[..end]
}

fn http_request(buf: &[u8]) -> Option<Sniffed<'_>> {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut req = httparse::Request::new(&mut headers);
    // A partial request still fills method and path; a later error (too
    // many headers) is fine too as long as the request line was read.
    let _ = req.parse(buf);
    let (method, path) = (req.method?, req.path?);
    if !method.bytes().all(|b| b.is_ascii_uppercase()) {
        return None;
    }
    let host = req
        .headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case("host"))
        .and_then(|h| std::str::from_utf8(h.value).ok());
    Some(Sniffed::HttpRequest { method, path, host })
}

fn http_response(buf: &[u8]) -> Option<Sniffed<'_>> {
    status_line(buf).or_else(|| parsed_status(buf))
}

/// A response's status line as httparse reads it.
fn parsed_status(buf: &[u8]) -> Option<Sniffed<'_>> {
    // The status line is all this reads: httparse sets the code and the
    // reason before it looks at a header, and no byte after the line's LF
    // can change them, so it gets the line alone and no header slot (the
    // headers cost most of a response's parse, and pcap sniffs every
    // answer).
    let line = memchr::memchr(b'\n', buf).map_or(buf, |lf| &buf[..=lf]);
    let mut resp = httparse::Response::new(&mut []);
    let _ = resp.parse(line);
    Some(Sniffed::HttpResponse {
        status: resp.code?,
        reason: resp.reason.unwrap_or(""),
    })
}

/// The common status line, `HTTP/1.x DDD reason\r\n` with a reason of
/// spaces, tabs and visible ASCII, read directly; `None` for anything else
/// (another version, a bare LF, no reason, other bytes, a partial line),
/// which httparse then reads. On the lines it accepts, httparse gives the
/// same code and reason (it checks the version, one space, three digits,
/// one space, then the reason's bytes up to CRLF).
fn status_line(buf: &[u8]) -> Option<Sniffed<'_>> {
    let head = buf.get(..13)?;
    if !(head.starts_with(b"HTTP/1.1 ") || head.starts_with(b"HTTP/1.0 ")) || head[12] != b' ' {
        return None;
    }
    let digits = &head[9..12];
    if !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let rest = &buf[13..];
    let end = rest
        .iter()
        .position(|&b| !(b == b'\t' || (0x20..=0x7e).contains(&b)))?;
    if rest.get(end..end + 2) != Some(b"\r\n") {
        return None;
    }
    let status = digits
        .iter()
        .fold(0u16, |acc, &d| acc * 10 + u16::from(d - b'0'));
    Some(Sniffed::HttpResponse {
        status,
        reason: std::str::from_utf8(&rest[..end]).ok()?,
    })
}

fn tls(buf: &[u8]) -> Option<Sniffed<'_>> {
    let (&content_type, rest) = buf.split_first()?;
    if !(0x14..=0x17).contains(&content_type) || rest.first() != Some(&0x03) {
        return None;
    }
    let body = buf.get(5..).unwrap_or(&[]);
    match content_type {
        0x16 => match body.first() {
            Some(0x01) => Some(Sniffed::TlsClientHello {
                sni: client_hello_sni(body),
            }),
            Some(0x02) => Some(Sniffed::TlsServerHello),
            _ => Some(Sniffed::TlsRecord { content_type }),
        },
        0x15 if body.len() >= 2 => Some(Sniffed::TlsAlert {
            level: body[0],
            description: body[1],
        }),
        _ => Some(Sniffed::TlsRecord { content_type }),
    }
}

/// The server_name extension of a ClientHello handshake message, if the
/// bytes get that far.
fn client_hello_sni(hs: &[u8]) -> Option<&str> {
    let mut c = Cursor(hs);
    c.skip(4 + 2 + 32)?; // type, length, client_version, random
    let sid = c.u8()? as usize;
    c.skip(sid)?;
    let suites = c.u16()? as usize;
    c.skip(suites)?;
    let comp = c.u8()? as usize;
    c.skip(comp)?;
    let ext_len = c.u16()? as usize;
    let mut ext = Cursor(c.take(ext_len.min(c.0.len()))?);
    while !ext.0.is_empty() {
        let kind = ext.u16()?;
        let len = ext.u16()? as usize;
        let data = ext.take(len)?;
        if kind == 0 {
            let mut d = Cursor(data);
            d.u16()?; // list length
            if d.u8()? != 0 {
                return None;
            }
            let n = d.u16()? as usize;
            return std::str::from_utf8(d.take(n)?).ok();
        }
    }
    None
}

struct Cursor<'a>(&'a [u8]);

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Some(head)
    }
    fn skip(&mut self, n: usize) -> Option<()> {
        self.take(n).map(|_| ())
    }
    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }
    fn u16(&mut self) -> Option<u16> {
        self.take(2).map(|b| u16::from_be_bytes([b[0], b[1]]))
    }
}

impl fmt::Display for Sniffed<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Sniffed::Empty => write!(f, "nothing (empty)"),
            Sniffed::HttpRequest { method, path, host } => {
                write!(f, "HTTP {method} {path}")?;
                if let Some(h) = host {
                    write!(f, " Host: {h}")?;
                }
                Ok(())
            }
            Sniffed::HttpResponse { status, reason } => {
                write!(f, "HTTP response {status} {reason}")
            }
            Sniffed::TlsClientHello { sni: Some(s) } => write!(f, "TLS ClientHello SNI={s}"),
            Sniffed::TlsClientHello { sni: None } => write!(f, "TLS ClientHello (no SNI)"),
            Sniffed::TlsServerHello => write!(f, "TLS ServerHello"),
            Sniffed::TlsAlert { level, description } => {
                write!(f, "TLS alert level={level} description={description}")
            }
            Sniffed::TlsRecord { content_type } => {
                write!(f, "TLS record (content type {content_type})")
            }
            Sniffed::SshBanner(b) => write!(f, "SSH banner {b}"),
            Sniffed::Text(t) => write!(f, "text {t:?}"),
            Sniffed::Binary { len: 1 } => write!(f, "binary data (1 byte)"),
            Sniffed::Binary { len } => write!(f, "binary data ({len} bytes)"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The direct status-line reader says what httparse says, or leaves
    /// the line to it.
    fn status_agrees(buf: &[u8]) {
        if let Some(s) = status_line(buf) {
            assert_eq!(
                Some(s),
                parsed_status(buf),
                "{:?}",
                String::from_utf8_lossy(buf)
            );
        }
    }

    #[test]
    fn the_status_line_reader_agrees_on_edge_lines() {
        for line in [
            &b"HTTP/1.1 200 OK\r\n"[..],
            b"HTTP/1.0 400 Bad Request\r\nServer: nginx\r\n\r\n",
            b"HTTP/1.1 200 \r\n",
            b"HTTP/1.1 200  OK\r\n",
            b"HTTP/1.1 200 O\tK\r\n",
            b"HTTP/1.1 200 OK\n",
            b"HTTP/1.1 200 OK\r",
            b"HTTP/1.1 200 OK",
            b"HTTP/1.1 200\r\n",
            b"HTTP/1.1  200 OK\r\n",
            b"HTTP/1.2 200 OK\r\n",
            b"HTTP/2 200 OK\r\n",
            b"HTTP/1.1 20x OK\r\n",
            b"HTTP/1.1 200 O\rK\r\n",
            b"HTTP/1.1 200 caf\xc3\xa9\r\n",
            b"HTTP/1.1 999 \x7f\r\n",
        ] {
            status_agrees(line);
        }
        assert!(status_line(b"HTTP/1.1 200 OK\r\n").is_some());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4096))]

        #[test]
        fn the_status_line_reader_agrees_with_httparse(
            version in prop_oneof![4 => Just("HTTP/1.1".to_string()), 2 => Just("HTTP/1.0".to_string()), 1 => "HTTP/[0-9. ]{0,4}"],
            sep in prop_oneof![6 => Just(" "), 1 => Just("  "), 1 => Just("\t"), 1 => Just("")],
            code in prop_oneof![6 => "[0-9]{3}", 1 => "[0-9a ]{0,4}"].boxed(),
            reason in proptest::collection::vec(
                prop_oneof![6 => 0x20u8..0x7f, 1 => Just(b'\t'), 1 => Just(b'\r'), 1 => Just(b'\n'), 1 => any::<u8>()],
                0..24,
            ),
            end in prop_oneof![6 => Just(&b"\r\n"[..]), 1 => Just(&b"\n"[..]), 1 => Just(&b"\r"[..]), 1 => Just(&b""[..]), 1 => Just(&b"\r\nServer: x\r\n\r\n"[..])],
        ) {
            let line = [format!("{version}{sep}{code} ").as_bytes(), &reason, end].concat();
            status_agrees(&line);
        }
    }

    #[test]
    fn classifies_common_shapes() {
        assert_eq!(classify(b""), Sniffed::Empty);
        assert_eq!(
            classify(b"GET /x HTTP/1.1\r\nHost: a.example\r\n\r\n"),
            Sniffed::HttpRequest {
                method: "GET",
                path: "/x",
                host: Some("a.example")
            }
        );
        assert_eq!(
            classify(b"HTTP/1.1 400 Bad Request\r\n"),
            Sniffed::HttpResponse {
                status: 400,
                reason: "Bad Request"
            }
        );
        assert_eq!(
            classify(b"SSH-2.0-OpenSSH_9.2\r\n"),
            Sniffed::SshBanner("SSH-2.0-OpenSSH_9.2")
        );
        assert_eq!(classify(&[0, 1, 2, 0xff]), Sniffed::Binary { len: 4 });
        assert_eq!(
            classify(b"220 mail ESMTP\r\n"),
            Sniffed::Text("220 mail ESMTP")
        );
    }

    #[test]
    fn a_response_is_its_status_line_whatever_its_headers() {
        let answer = |head: &[u8]| [&b"HTTP/1.1 502 Bad Gateway\r\n"[..], head].concat();
        let many: Vec<u8> = (0..40)
            .flat_map(|i| format!("X-{i}: y\r\n").into_bytes())
            .collect();
        for head in [&b""[..], b"Server: nginx\r\n\r\n", b"bad header\r\n", &many] {
            assert_eq!(
                classify(&answer(head)),
                Sniffed::HttpResponse {
                    status: 502,
                    reason: "Bad Gateway"
                }
            );
        }
        // Cut inside the reason, or between its CR and LF: the code is
        // known, the reason is not.
        for cut in [&b"HTTP/1.1 200 O"[..], b"HTTP/1.1 200 OK\r"] {
            assert_eq!(
                classify(cut),
                Sniffed::HttpResponse {
                    status: 200,
                    reason: ""
                }
            );
        }
        // A bare LF ends the line too; a CR without its LF breaks it.
        assert_eq!(
            classify(b"HTTP/1.1 404 Not Found\nServer: x\n\n"),
            Sniffed::HttpResponse {
                status: 404,
                reason: "Not Found"
            }
        );
        assert_eq!(
            classify(b"HTTP/1.1 404 Not\rFound\r\n"),
            Sniffed::HttpResponse {
                status: 404,
                reason: ""
            }
        );
    }
}
