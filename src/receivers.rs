//! What real receivers would do with some bytes, where they differ from the
//! spec: nginx (`listen ... proxy_protocol`), HAProxy (`accept-proxy`) and
//! go-proxyproto (REQUIRE policy). Derived from their sources (protocol.md
//! §4-5, nginx's ngx_proxy_protocol.c); `inspect` prints it so an operator
//! sees why one receiver takes a header that another drops.

use crate::codec::{
    self, Command, Decoded, ErrorKind, Family, Header, Transport, Version, Warning,
};
use crate::judge::{self, Arrived, Expects, Finding};

/// A receiver ppctl models.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Receiver {
    Nginx,
    Haproxy,
    GoProxyproto,
}

impl Receiver {
    /// Its name, as its users write it.
    pub fn name(self) -> &'static str {
        match self {
            Receiver::Nginx => "nginx",
            Receiver::Haproxy => "HAProxy",
            Receiver::GoProxyproto => "go-proxyproto",
        }
    }

    /// The configuration the prediction is for.
    pub fn config(self) -> &'static str {
        match self {
            Receiver::Nginx => "listen ... proxy_protocol",
            Receiver::Haproxy => "bind ... accept-proxy",
            Receiver::GoProxyproto => "Listener with REQUIRE policy",
        }
    }
}

/// What a receiver does with the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Accept,
    Reject,
    /// It keeps reading until its timeout.
    Wait,
}

impl Outcome {
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Accept => "accept",
            Outcome::Reject => "reject",
            Outcome::Wait => "wait",
        }
    }
}

/// One receiver's predicted reaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prediction {
    pub receiver: Receiver,
    pub outcome: Outcome,
    /// What it would log or do, in its own words where it has them.
    pub message: String,
}

const NGINX: Receiver = Receiver::Nginx;
const HAPROXY: Receiver = Receiver::Haproxy;
const GO: Receiver = Receiver::GoProxyproto;
use Outcome::{Accept, Reject, Wait};

/// go-proxyproto's default MaxV2HeaderSize: a longer v2 header is refused
/// with ErrInvalidLength as soon as its length field is read.
const GO_MAX_V2: usize = 4096;

// HAProxy's fc_err texts (connection.c), exactly as it logs them.
const PRX_TRUNCATED: &str = "Truncated PROXY protocol header received";
const PRX_NOT_HDR: &str = "Received something which does not look like a PROXY protocol header";
const PRX_BAD_HDR: &str = "Received an invalid PROXY protocol header";
const PRX_BAD_PROTO: &str = "Received an unhandled protocol in the PROXY protocol header";

fn p(receiver: Receiver, outcome: Outcome, message: impl Into<String>) -> Prediction {
    Prediction {
        receiver,
        outcome,
        message: message.into(),
    }
}

/// go-proxyproto's answer to a v2 header over its size limit, if `input`
/// starts with one whose length field is there.
fn go_too_large(input: &[u8]) -> Option<Prediction> {
    let total = codec::v2_total_len(input)?;
    (total > GO_MAX_V2).then(|| {
        p(
            GO,
            Reject,
            format!("proxyproto: invalid length (ErrInvalidLength: the header is {total} bytes, over MaxV2HeaderSize {GO_MAX_V2})"),
        )
    })
}

/// What a receiver that requires a header concludes from these bytes alone:
/// a problem finding, or `None` for a valid header (whether it is taken
/// depends on the receiver: see the predictions).
pub(crate) fn finding(decoded: &Decoded<'_>) -> Option<Finding> {
    match decoded {
        Decoded::Complete(_) => None,
        Decoded::Invalid(_) => Some(judge::arrival(Expects::Header, Arrived::Invalid)),
        Decoded::NotProxy(_) => Some(judge::arrival(Expects::Header, Arrived::NoHeader)),
        Decoded::Incomplete { .. } => Some(Finding::Incomplete),
    }
}

/// Predict nginx, HAProxy and go-proxyproto for `input`.
pub fn predict(decoded: &Decoded<'_>, input: &[u8]) -> Vec<Prediction> {
    match decoded {
        Decoded::Complete(h) => vec![nginx_valid(h), haproxy_valid(h), go_valid(h)],
        Decoded::Incomplete { needed } => vec![
            if input.first() == Some(&b'\r') {
                // Seen live: nginx 1.22 logs a partial v2 header this way.
                p(NGINX, Reject, "header is too large (nginx's message for a v2 header that is not complete in its read)")
            } else {
                let more = if *needed == 1 { "1 more byte".to_string() } else { format!("{needed} more bytes") };
                p(NGINX, Wait, format!("waits for {more} until proxy_protocol_timeout, then closes"))
            },
            p(HAPROXY, Reject, format!("{PRX_TRUNCATED} (HAProxy does not wait for the rest of a header once data has arrived)")),
            go_too_large(input).unwrap_or_else(|| p(GO, Reject, "a v1 line must arrive in one read (ErrCantReadVersion1Header); a partial v2 header waits for ReadHeaderTimeout")),
        ],
        Decoded::NotProxy(_) => vec![
            p(NGINX, Reject, format!("broken header: \"{}\" while reading PROXY protocol", nginx_escape(input))),
            p(HAPROXY, Reject, PRX_NOT_HDR),
            p(GO, Reject, "proxyproto: proxy protocol signature not present"),
        ],
        Decoded::Invalid(e) => invalid(e.kind, e.offset, input),
    }
}

fn nginx_valid(h: &Header<'_>) -> Prediction {
    if h.version == Version::V2 && h.len() > 4096 {
        return p(
            NGINX,
            Reject,
            "header is too large (nginx reads at most its buffer of PROXY protocol bytes)",
        );
    }
    let addr = match (h.command, h.source()) {
        (Command::Proxy, Some(src)) if h.transport != Transport::Dgram => {
            format!(
                "$proxy_protocol_addr = {}, $proxy_protocol_port = {}",
                src.ip(),
                src.port()
            )
        }
        _ => {
            "accepts; no usable address, so $proxy_protocol_addr is empty and the real peer is used"
                .into()
        }
    };
    p(NGINX, Accept, addr)
}

fn haproxy_valid(h: &Header<'_>) -> Prediction {
    let w = |x| h.warnings.contains(x);
    if w(Warning::UnknownWithTrailingData) {
        return p(
            HAPROXY,
            Reject,
            format!("{PRX_BAD_PROTO} (only the short \"PROXY UNKNOWN\\r\\n\" is accepted)"),
        );
    }
    if h.version == Version::V2 {
        let proxy_tcp =
            h.command == Command::Proxy && matches!(h.family_byte, Some(0x11) | Some(0x21));
        if h.command == Command::Proxy && !proxy_tcp {
            return p(
                HAPROXY,
                Reject,
                format!("{PRX_BAD_HDR} (HAProxy takes only TCP over IPv4/IPv6 with PROXY)"),
            );
        }
        if h.command == Command::Local {
            // HAProxy >= 3.0 parses TLVs from byte 16 for every LOCAL header.
            let clean = codec::tlv::Tlvs::new(&h.raw[codec::V2_PREFIX_LEN..], codec::V2_PREFIX_LEN)
                .all(|t| t.is_ok());
            if !clean {
                return p(
                    HAPROXY,
                    Reject,
                    format!("{PRX_BAD_HDR} (3.0 and later parse the bytes after the 16-byte prefix of a LOCAL header as TLVs)"),
                );
            }
        }
        if w(Warning::AuthorityOver255) || w(Warning::TlvOver1024) {
            return p(
                HAPROXY,
                Reject,
                format!("{PRX_BAD_HDR} (AUTHORITY over 255 bytes or a TLV over 1024 bytes)"),
            );
        }
        if w(Warning::MayBeSplit) {
            return p(HAPROXY, Accept, "accepts if the whole header arrives in its first read; a split header is rejected as truncated");
        }
    }
    let msg = match (h.command, h.source()) {
        (Command::Proxy, Some(src)) => format!("accepts; src = {}, fc_rcvd_proxy = true", src),
        (Command::Local, _) => {
            "accepts a LOCAL header (health check) and uses the real connection addresses"
                .to_string()
        }
        _ => "accepts and uses the real connection addresses".to_string(),
    };
    p(HAPROXY, Accept, msg)
}

fn go_valid(h: &Header<'_>) -> Prediction {
    let w = |x| h.warnings.contains(x);
    if h.version == Version::V2 {
        if w(Warning::UnlistedFamilyByte) {
            return p(GO, Reject, "proxyproto: unsupported address family and protocol (byte 13 is not in its whitelist)");
        }
        if h.command == Command::Proxy && h.family == Family::Unspec {
            return p(
                GO,
                Reject,
                "proxyproto: unsupported address family and protocol (PROXY with AF_UNSPEC)",
            );
        }
        if w(Warning::LargerThan4096) {
            return p(
                GO,
                Reject,
                "proxyproto: invalid length (over MaxV2HeaderSize 4096; raise it for big TLVs)",
            );
        }
    }
    if w(Warning::SslWithoutVersion) || w(Warning::AwsVpceIdChars) {
        return p(
            GO,
            Accept,
            "accepts the header, but tlvparse reports the SSL/AWS TLV as malformed",
        );
    }
    let msg = match (h.command, h.source()) {
        (Command::Proxy, Some(src)) => format!("accepts; RemoteAddr() = {src}"),
        _ => "accepts; RemoteAddr() is the real peer".to_string(),
    };
    if h.crc32c.is_some() {
        return p(GO, Accept, format!("{msg} (it does not verify CRC32C)"));
    }
    p(GO, Accept, msg)
}

fn invalid(kind: ErrorKind, offset: usize, input: &[u8]) -> Vec<Prediction> {
    use ErrorKind::*;
    let broken = format!(
        "broken header: \"{}\" while reading PROXY protocol",
        nginx_escape(input)
    );
    let nginx = match kind {
        // nginx's v1 reader checks characters, not families or leading zeros.
        V1PortLeadingZero(_) | V1FamilyMismatch(_) => p(NGINX, Accept, "accepts (its v1 reader does not check this)"),
        V1Address(..) if nginx_reads_address(input, offset) => p(NGINX, Accept, "accepts the text as $proxy_protocol_addr (it only checks the characters); realip then fails to parse it"),
        // nginx never verifies CRC32C and reads TLVs lazily.
        CrcMismatch { .. } | CrcLength(_) | TlvOverrun { .. } | TlvTruncated { .. } | UniqueIdTooLong(_) | AuthorityUtf8
        | SslTooShort(_) | SslSubTlvTruncated { .. } | SslSubTlvOverrun { .. } => p(NGINX, Accept, "accepts the connection (it does not verify CRC32C and reads TLVs only when a variable asks)"),
        V2Version(v) => p(NGINX, Reject, format!("unknown PROXY protocol version: {v}")),
        // Seen live: nginx takes these, ignores the addresses and uses the real peer.
        V2Command(_) | V2Family(_) | V2Transport(_) => {
            p(NGINX, Accept, "accepts, but ignores the addresses: $proxy_protocol_addr is empty and the real peer is used")
        }
        V2LengthTooShort { .. } => p(NGINX, Reject, "closes the connection without logging a reason"),
        V2Signature => p(NGINX, Reject, broken),
        Truncated { .. } => p(NGINX, Reject, "closes: the connection ended before the header was complete"),
        _ => p(NGINX, Reject, broken),
    };
    let haproxy = match kind {
        V1PortLeadingZero(_) | V1PortRange(_) if input.starts_with(b"PROXY TCP4") => p(
            HAPROXY,
            Accept,
            "accepts (its TCP4 reader is a plain decimal reader; ports are truncated to 16 bits)",
        ),
        V1Protocol => p(HAPROXY, Reject, PRX_BAD_PROTO),
        V2Signature | V2Version(_) | V1Signature => p(HAPROXY, Reject, PRX_NOT_HDR),
        Truncated { .. } => p(HAPROXY, Reject, PRX_TRUNCATED),
        _ => p(HAPROXY, Reject, PRX_BAD_HDR),
    };
    let before_length = matches!(
        kind,
        V2Signature | V2Version(_) | V2Command(_) | V2Family(_) | V2Transport(_)
    );
    let go = match kind {
        _ if !before_length && go_too_large(input).is_some() => {
            go_too_large(input).unwrap_or_else(|| p(GO, Reject, "proxyproto: invalid length"))
        }
        CrcMismatch { .. } | CrcLength(_) => p(GO, Accept, "accepts: it does not verify CRC32C"),
        TlvOverrun { .. } | TlvTruncated { .. } => p(
            GO,
            Accept,
            "accepts the connection; Header.TLVs() returns ErrTruncatedTLV",
        ),
        // The listener keeps TLVs as raw bytes: it never looks inside the
        // SSL TLV (or checks UNIQUE_ID and AUTHORITY) while reading.
        SslTooShort(_) | SslSubTlvTruncated { .. } | SslSubTlvOverrun { .. } => p(
            GO,
            Accept,
            "accepts the connection: it never looks inside the SSL TLV while reading (tlvparse.SSL() returns ErrTruncatedTLV later)",
        ),
        UniqueIdTooLong(_) | AuthorityUtf8 => p(
            GO,
            Accept,
            "accepts the connection: it keeps TLVs as raw bytes and does not check them while reading",
        ),
        V1PortLeadingZero(_) | V1PortSign(_) | V1Port(_) | V1PortRange(_) => {
            p(GO, Reject, "proxyproto: invalid port number")
        }
        V1Address(..) | V1FamilyMismatch(_) | V1ZoneId(_) => {
            p(GO, Reject, "proxyproto: invalid address")
        }
        V1BareLf | V1BareCr | V1TooLong => p(
            GO,
            Reject,
            if kind == V1TooLong {
                "proxyproto: version 1 header must be 107 bytes or less"
            } else {
                "proxyproto: header is invalid, must end with \\r\\n"
            },
        ),
        V2LengthTooShort { .. } => p(GO, Reject, "proxyproto: invalid length"),
        V2Family(_) | V2Transport(_) => p(
            GO,
            Reject,
            "proxyproto: unsupported address family and protocol",
        ),
        V2Command(_) => p(
            GO,
            Reject,
            "proxyproto: unsupported proxy protocol version and command",
        ),
        V1Signature | V2Signature => p(
            GO,
            Reject,
            "proxyproto: proxy protocol signature not present",
        ),
        V2Version(_) => p(GO, Reject, "proxyproto: unknown proxy protocol version"),
        Truncated { .. } => p(
            GO,
            Reject,
            "proxyproto: can't read version 1 header (or EOF inside a v2 header)",
        ),
        _ => p(GO, Reject, "rejects the header"),
    };
    vec![nginx, haproxy, go]
}

/// An address field made only of the characters nginx's reader allows.
/// nginx's v1 reader takes an address field made only of hex digits, `:`
/// and `.` without parsing it (ngx_proxy_protocol_read_addr). `offset` is
/// where the field starts, as the codec reports it.
fn nginx_reads_address(input: &[u8], offset: usize) -> bool {
    let field = input.get(offset..).unwrap_or_default();
    let end = field.iter().position(|&b| b == b' ').unwrap_or(field.len());
    input.starts_with(b"PROXY TCP")
        && end > 0
        && field[..end]
            .iter()
            .all(|&b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
}

/// The bytes nginx puts between the quotes of `broken header: "…"`. nginx
/// writes them raw (CR, LF and binary included, so one entry can span
/// several log lines); here they are cut at the first line end and
/// non-printable bytes are shown as \xNN, so a terminal stays readable.
pub fn nginx_escape(input: &[u8]) -> String {
    let end = input
        .iter()
        .position(|&b| b == b'\r' || b == b'\n')
        .unwrap_or(input.len());
    let mut s = String::new();
    for &b in &input[..end.min(256)] {
        if (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\' {
            s.push(b as char);
        } else {
            s.push_str(&format!("\\x{b:02X}"));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    /// docs/verdicts.md's "reported by" lists inspect for exactly the
    /// findings inspect can give.
    #[test]
    fn inspect_is_listed_for_the_findings_it_gives() {
        let given: Vec<Finding> = [
            &b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2 x\r\n"[..],
            b"GET / HTTP/1.1\r\n",
            b"PROXY TCP4 1.2.3.4",
        ]
        .iter()
        .filter_map(|b| finding(&crate::codec::decode(b)))
        .collect();
        let listed = crate::judge::reported_by(crate::judge::Reporter::Inspect);
        let mut given = given;
        given.sort();
        assert_eq!(given, listed);
    }

    fn nginx(input: &[u8]) -> &'static str {
        let d = crate::codec::decode(input);
        predict(&d, input)[0].outcome.name()
    }

    #[test]
    fn nginx_takes_only_address_text_its_reader_allows() {
        // 256 is hex digits and dots: nginx's reader takes it as text.
        assert_eq!(
            nginx(b"PROXY TCP4 192.168.0.256 10.0.0.1 1 2\r\n"),
            "accept"
        );
        // 'g' is outside the characters nginx allows: broken header.
        assert_eq!(nginx(b"PROXY TCP4 1.2.3.g 10.0.0.1 1 2\r\n"), "reject");
    }

    fn outcomes(input: &[u8]) -> Vec<(&'static str, &'static str)> {
        let d = crate::codec::decode(input);
        predict(&d, input)
            .iter()
            .map(|p| (p.receiver.name(), p.outcome.name()))
            .collect()
    }

    fn v2(cmd: u8, fam: u8, body: &[u8]) -> Vec<u8> {
        let mut out = crate::codec::V2_SIGNATURE.to_vec();
        out.extend_from_slice(&[cmd, fam]);
        out.extend_from_slice(&(body.len() as u16).to_be_bytes());
        out.extend_from_slice(body);
        out
    }

    const BLOCK: [u8; 12] = [10, 1, 2, 3, 10, 9, 8, 7, 0x0f, 0xa0, 0x01, 0xbb];

    #[test]
    fn unspec_with_an_address_block_who_takes_it() {
        // LOCAL: HAProxy 3.0+ reads the block as TLVs and refuses.
        assert_eq!(
            outcomes(&v2(0x20, 0x00, &BLOCK)),
            [
                ("nginx", "accept"),
                ("HAProxy", "reject"),
                ("go-proxyproto", "accept")
            ]
        );
        // PROXY: HAProxy and go-proxyproto refuse PROXY with UNSPEC.
        assert_eq!(
            outcomes(&v2(0x21, 0x00, &BLOCK)),
            [
                ("nginx", "accept"),
                ("HAProxy", "reject"),
                ("go-proxyproto", "reject")
            ]
        );
    }

    #[test]
    fn go_size_limit_applies_to_any_header() {
        // A 10 kB header whose TLV area ends in a stray byte: invalid, and
        // go-proxyproto refuses it for its size before looking at TLVs.
        let mut body = BLOCK.to_vec();
        body.extend(std::iter::repeat_n(0u8, 10_000));
        let h = v2(0x21, 0x11, &body);
        let d = crate::codec::decode(&h);
        assert!(matches!(d, Decoded::Invalid(_)), "{d:?}");
        let go = &predict(&d, &h)[2];
        assert_eq!(go.outcome, Outcome::Reject);
        assert!(go.message.contains("ErrInvalidLength"), "{}", go.message);
        // Cut short, it is refused as soon as the length is read.
        let d = crate::codec::decode(&h[..100]);
        assert_eq!(predict(&d, &h[..100])[2].outcome, Outcome::Reject);
    }

    #[test]
    fn go_never_reads_ssl_sub_tlvs() {
        let mut body = BLOCK.to_vec();
        body.extend_from_slice(&[0x20, 0x00, 0x09, 0x01, 0, 0, 0, 0, 0x21, 0x00, 0x02, b'T']);
        let h = v2(0x21, 0x11, &body);
        assert_eq!(outcomes(&h)[2], ("go-proxyproto", "accept"));
    }

    #[test]
    fn findings_for_what_a_receiver_requiring_a_header_gets() {
        let f = |b: &[u8]| finding(&crate::codec::decode(b)).map(|f| f.name());
        assert_eq!(f(b"PROXY UNKNOWN\r\n"), None);
        assert_eq!(
            f(b"PROXY TCP4 1.2.3.4 5.6.7.8 +1 2\r\n"),
            Some("invalid-header")
        );
        assert_eq!(f(b"GET / HTTP/1.1\r\n"), Some("missing-header"));
        assert_eq!(f(b"PROXY TCP4"), Some("incomplete"));
    }
}
