//! The PROXY protocol codec: bytes in, a typed result out.
//!
//! Pure by design: no I/O, no printing, and no allocation while decoding. The
//! result follows the httparse model so it works on a stream: a receiver calls
//! [`decode`] on everything it has buffered so far and gets one of
//!
//! * [`Decoded::Complete`]: a header, and how many bytes it used;
//! * [`Decoded::Incomplete`]: at least `needed` more bytes are required (every
//!   strict prefix of a valid header lands here, never in `Invalid`);
//! * [`Decoded::Invalid`]: the rule that was broken, and where;
//! * [`Decoded::NotProxy`]: the bytes are not a PROXY header; what they look like.
//!
//! Decoding is our own strict parser. The `ppp` crate parses most headers
//! correctly but has verified defects (it accepts `+80` ports, rejects valid
//! split v1 headers, never checks TLVs or CRC32C, hides TLVs behind AF_UNSPEC);
//! see docs/spec-coverage.md. `ppp`'s builder is used for encoding, where it
//! is right, and `ppp` is the oracle in differential tests and benchmarks.
//!
//! # Example
//!
//! ```
//! use ppctl_codec::{decode, Decoded};
//!
//! let bytes = b"PROXY TCP4 192.0.2.1 198.51.100.7 56324 443\r\nGET / HTTP/1.1\r\n";
//! match decode(bytes) {
//!     Decoded::Complete(header) => {
//!         assert_eq!(header.source().unwrap().to_string(), "192.0.2.1:56324");
//!         // The request starts right after the header.
//!         assert!(bytes[header.len()..].starts_with(b"GET"));
//!     }
//!     other => panic!("not a header: {other:?}"),
//! }
//! ```

pub mod corrupt;
pub mod crc;
pub mod encode;
mod error;
pub mod input;
pub mod sniff;
pub mod tlv;
mod v1;
mod v2;
mod warning;

use std::net::SocketAddr;

pub use error::{AddressFault, Endpoint, Error, ErrorKind};
pub use warning::{Warning, Warnings};

use crate::sniff::Sniffed;

/// The longest legal v1 line, CRLF included (§2.1).
pub const V1_MAX_LEN: usize = 107;
/// The 12-byte v2 signature (§2.2). It contains a NUL: never treat it as a C string.
pub const V2_SIGNATURE: [u8; 12] = *b"\r\n\r\n\0\r\nQUIT\n";
/// The fixed part of a v2 header: signature, ver/cmd, fam/transport, len.
pub const V2_PREFIX_LEN: usize = 16;
/// The largest possible v2 header: the prefix plus a 16-bit `len`.
pub const V2_MAX_LEN: usize = V2_PREFIX_LEN + u16::MAX as usize;
/// The segment size every host must accept (576 - 40). The spec assumes a
/// header fits in it; bigger headers may be split by the network (§2).
pub const SAFE_SEGMENT: usize = 536;

/// Protocol version of a header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Version {
    V1,
    V2,
}

impl Version {
    pub fn number(self) -> u8 {
        match self {
            Version::V1 => 1,
            Version::V2 => 2,
        }
    }
}

/// PROXY (a relayed connection) or LOCAL (made by the proxy itself, e.g. a
/// health check). A v1 header is always PROXY; `UNKNOWN` is reported through
/// [`Family::Unspec`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Command {
    Proxy,
    Local,
}

impl Command {
    pub fn name(self) -> &'static str {
        match self {
            Command::Proxy => "PROXY",
            Command::Local => "LOCAL",
        }
    }
}

/// Address family (v2 high nibble of byte 13; v1 protocol word).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    Unspec,
    Inet,
    Inet6,
    Unix,
}

impl Family {
    /// Size of the address block this family carries in v2 (§2.2).
    pub fn block_len(self) -> usize {
        match self {
            Family::Unspec => 0,
            Family::Inet => 12,
            Family::Inet6 => 36,
            Family::Unix => 216,
        }
    }

    pub fn nibble(self) -> u8 {
        match self {
            Family::Unspec => 0x0,
            Family::Inet => 0x1,
            Family::Inet6 => 0x2,
            Family::Unix => 0x3,
        }
    }
}

/// Transport protocol (v2 low nibble of byte 13). v1 is always stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    Unspec,
    Stream,
    Dgram,
}

impl Transport {
    pub fn nibble(self) -> u8 {
        match self {
            Transport::Unspec => 0x0,
            Transport::Stream => 0x1,
            Transport::Dgram => 0x2,
        }
    }
}

/// The addresses a header claims.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Addresses<'a> {
    /// No address information: v1 `UNKNOWN`, v2 `AF_UNSPEC`, or a LOCAL header
    /// without an address block. Receivers use the real socket endpoints.
    None,
    /// IPv4 or IPv6 addresses with ports.
    Inet { src: SocketAddr, dst: SocketAddr },
    /// Two raw 108-byte `sun_path` fields, NUL padded. See [`unix_path`].
    Unix { src: &'a [u8], dst: &'a [u8] },
}

/// A decoded, validated header. It borrows the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header<'a> {
    pub version: Version,
    pub command: Command,
    pub family: Family,
    pub transport: Transport,
    /// The raw v2 byte 13 (family << 4 | transport); `None` for v1.
    pub family_byte: Option<u8>,
    pub addresses: Addresses<'a>,
    /// Exactly the header's bytes: `raw.len()` is what it consumed.
    pub raw: &'a [u8],
    /// Offset in `raw` where the TLV area starts (v2); `raw.len()` when none.
    pub tlv_start: usize,
    /// Present when the header carries a CRC32C TLV; it has been verified.
    pub crc32c: Option<u32>,
    pub warnings: Warnings,
}

impl<'a> Header<'a> {
    /// Bytes the header used (where the payload starts).
    pub fn len(&self) -> usize {
        self.raw.len()
    }

    /// Never true: a header is at least 15 bytes. Here for clippy's sake.
    pub fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }

    /// The TLVs, in wire order, with absolute offsets into `raw`. The walk
    /// was validated during decoding, so it yields every TLV.
    #[inline]
    pub fn tlvs(&self) -> impl Iterator<Item = tlv::Tlv<'a>> + 'a {
        tlv::Walk::new(&self.raw[self.tlv_start..], self.tlv_start)
    }

    /// The v2 `len` field (bytes after the 16-byte prefix); `None` for v1.
    pub fn length_field(&self) -> Option<u16> {
        match self.version {
            Version::V1 => None,
            Version::V2 => Some(u16::from_be_bytes([self.raw[14], self.raw[15]])),
        }
    }

    /// Short protocol name used in tables and JSON: TCP4, TCP6, UDP4, UDP6,
    /// UNIX_STREAM, UNIX_DGRAM, UNSPEC (v2) or UNKNOWN (v1).
    pub fn protocol_name(&self) -> &'static str {
        if self.version == Version::V1 {
            return match self.family {
                Family::Inet => "TCP4",
                Family::Inet6 => "TCP6",
                _ => "UNKNOWN",
            };
        }
        protocol_name(self.family, self.transport)
    }

    /// The source address, when the header carries one.
    pub fn source(&self) -> Option<SocketAddr> {
        match self.addresses {
            Addresses::Inet { src, .. } => Some(src),
            _ => None,
        }
    }

    /// The destination address, when the header carries one.
    pub fn destination(&self) -> Option<SocketAddr> {
        match self.addresses {
            Addresses::Inet { dst, .. } => Some(dst),
            _ => None,
        }
    }
}

/// Name of a v2 family/transport pair.
pub fn protocol_name(family: Family, transport: Transport) -> &'static str {
    match (family, transport) {
        (Family::Inet, Transport::Stream) => "TCP4",
        (Family::Inet, Transport::Dgram) => "UDP4",
        (Family::Inet6, Transport::Stream) => "TCP6",
        (Family::Inet6, Transport::Dgram) => "UDP6",
        (Family::Unix, Transport::Stream) => "UNIX_STREAM",
        (Family::Unix, Transport::Dgram) => "UNIX_DGRAM",
        (Family::Unspec, Transport::Unspec) => "UNSPEC",
        (Family::Inet, Transport::Unspec) => "INET_UNSPEC",
        (Family::Inet6, Transport::Unspec) => "INET6_UNSPEC",
        (Family::Unix, Transport::Unspec) => "UNIX_UNSPEC",
        (Family::Unspec, Transport::Stream) => "UNSPEC_STREAM",
        (Family::Unspec, Transport::Dgram) => "UNSPEC_DGRAM",
    }
}

/// The outcome of [`decode`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decoded<'a> {
    /// A valid header; `header.len()` bytes were used.
    Complete(Header<'a>),
    /// The bytes so far are a valid beginning; at least `needed` more are required.
    Incomplete { needed: usize },
    /// The bytes break a rule of the spec.
    Invalid(Error),
    /// The bytes are not a PROXY header at all.
    NotProxy(Sniffed<'a>),
}

/// Decode the header at the start of `buf`.
///
/// Call it again with the whole buffer when more bytes arrive; the result
/// only moves from `Incomplete` to one of the others.
pub fn decode(buf: &[u8]) -> Decoded<'_> {
    match buf.first() {
        None => Decoded::Incomplete { needed: 1 },
        Some(b'\r') => v2::decode(buf),
        Some(b'P') | Some(b'p') => v1::decode(buf),
        Some(_) => Decoded::NotProxy(sniff::classify(buf)),
    }
}

/// Like [`decode`], for a buffer that will never grow (a file, a finished
/// connection, a datagram): `Incomplete` becomes a truncation error, and
/// empty input is reported as such.
pub fn decode_final(buf: &[u8]) -> Decoded<'_> {
    match decode(buf) {
        Decoded::Incomplete { needed } if !buf.is_empty() => Decoded::Invalid(Error::new(
            ErrorKind::Truncated {
                needed: needed.min(u32::MAX as usize) as u32,
            },
            buf.len(),
        )),
        Decoded::Incomplete { .. } => Decoded::NotProxy(Sniffed::Empty),
        other => other,
    }
}

/// For a buffer that starts with a v2 prefix: the total size the header
/// will have (16 + len), as soon as the 16 bytes are there. A receiver uses
/// it to enforce a size cap before buffering the rest.
pub fn v2_total_len(buf: &[u8]) -> Option<usize> {
    if buf.len() >= V2_PREFIX_LEN && buf[..12] == V2_SIGNATURE {
        Some(V2_PREFIX_LEN + u16::from_be_bytes([buf[14], buf[15]]) as usize)
    } else {
        None
    }
}

/// True when `buf` starts with something that is (or begins like) a PROXY
/// header of either version. Used to spot a second, stacked header.
pub fn looks_like_header_start(buf: &[u8]) -> bool {
    let n = buf.len().min(V2_SIGNATURE.len());
    (n >= 5 && buf[..n] == V2_SIGNATURE[..n]) || buf.starts_with(b"PROXY ")
}

/// Render a raw `sun_path` field: trailing NULs trimmed, an abstract name
/// (leading NUL) shown as `@name`. Returns `None` when it is not UTF-8.
pub fn unix_path(raw: &[u8]) -> Option<(bool, &str)> {
    let (abstract_ns, body) = match raw.split_first() {
        Some((0, rest)) if rest.iter().any(|&b| b != 0) => (true, rest),
        _ => (false, raw),
    };
    let end = body.iter().position(|&b| b == 0).unwrap_or(body.len());
    std::str::from_utf8(&body[..end])
        .ok()
        .map(|s| (abstract_ns, s))
}
