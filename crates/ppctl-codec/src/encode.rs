//! Building headers: any v1 or v2 header, every family, LOCAL, any TLVs,
//! with CRC32C filled in. v2 goes through `ppp`'s builder; the v1 line is
//! formatted here. Deliberately broken headers are made by [`super::corrupt`].

use std::net::{IpAddr, SocketAddr};

use thiserror::Error as ThisError;

use super::{crc, tlv, Command, Transport, Version};

/// What a header should claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoints {
    /// No addresses: v1 `UNKNOWN`, v2 `AF_UNSPEC`.
    Unknown,
    /// IP addresses. A v4/v6 mix is promoted to v6 with `::ffff:a.b.c.d`.
    Inet { src: SocketAddr, dst: SocketAddr },
    /// UNIX socket paths (v2 only), at most 108 bytes each. A leading `@`
    /// means the abstract namespace (written as a leading NUL).
    Unix { src: String, dst: String },
}

/// Everything needed to build one header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderSpec {
    pub version: Version,
    pub command: Command,
    /// v2 only: STREAM (TCP) or DGRAM (UDP).
    pub transport: Transport,
    pub endpoints: Endpoints,
    /// v2 TLVs, in order.
    pub tlvs: Vec<(u8, Vec<u8>)>,
    /// v2: add a CRC32C TLV (after the others) and fill it in.
    pub crc32c: bool,
}

/// Why a header can't be built as asked.
#[derive(Debug, Clone, PartialEq, Eq, ThisError)]
pub enum EncodeError {
    #[error("v1 can't carry {0}; use a v2 header (-2)")]
    NotInV1(&'static str),
    #[error("UNIX path {0:?} is longer than 108 bytes")]
    UnixPathTooLong(String),
    #[error(
        "header would be {0} bytes; a v2 header holds at most 65535 bytes after its 16-byte prefix"
    )]
    TooLarge(usize),
}

impl HeaderSpec {
    /// A PROXY header for a TCP connection from `src` to `dst`.
    pub fn tcp(version: Version, src: SocketAddr, dst: SocketAddr) -> Self {
        HeaderSpec {
            version,
            command: Command::Proxy,
            transport: Transport::Stream,
            endpoints: Endpoints::Inet { src, dst },
            tlvs: Vec::new(),
            crc32c: false,
        }
    }

    /// A v2 LOCAL header (a health check), with no address block.
    pub fn local() -> Self {
        HeaderSpec {
            version: Version::V2,
            command: Command::Local,
            transport: Transport::Unspec,
            endpoints: Endpoints::Unknown,
            tlvs: Vec::new(),
            crc32c: false,
        }
    }

    pub fn with_tlv(mut self, kind: u8, value: impl Into<Vec<u8>>) -> Self {
        self.tlvs.push((kind, value.into()));
        self
    }

    pub fn encode(&self) -> Result<Vec<u8>, EncodeError> {
        match self.version {
            Version::V1 => self.encode_v1(),
            Version::V2 => self.encode_v2(),
        }
    }

    fn encode_v1(&self) -> Result<Vec<u8>, EncodeError> {
        if self.command == Command::Local {
            return Err(EncodeError::NotInV1(
                "a LOCAL command (send PROXY UNKNOWN instead)",
            ));
        }
        if self.transport == Transport::Dgram {
            return Err(EncodeError::NotInV1("UDP"));
        }
        if !self.tlvs.is_empty() || self.crc32c {
            return Err(EncodeError::NotInV1("TLVs"));
        }
        match &self.endpoints {
            Endpoints::Unknown => Ok(b"PROXY UNKNOWN\r\n".to_vec()),
            Endpoints::Unix { .. } => Err(EncodeError::NotInV1("UNIX addresses")),
            Endpoints::Inet { src, dst } => {
                let (src, dst) = promote(*src, *dst);
                let proto = if src.is_ipv4() { "TCP4" } else { "TCP6" };
                Ok(format!(
                    "PROXY {proto} {} {} {} {}\r\n",
                    src.ip(),
                    dst.ip(),
                    src.port(),
                    dst.port()
                )
                .into_bytes())
            }
        }
    }

    fn encode_v2(&self) -> Result<Vec<u8>, EncodeError> {
        let (family, block) = match &self.endpoints {
            Endpoints::Unknown => (0x00u8, Vec::new()),
            Endpoints::Inet { src, dst } => {
                let (src, dst) = promote(*src, *dst);
                let mut b = Vec::with_capacity(36);
                match (src.ip(), dst.ip()) {
                    (IpAddr::V4(s), IpAddr::V4(d)) => {
                        b.extend_from_slice(&s.octets());
                        b.extend_from_slice(&d.octets());
                    }
                    (s, d) => {
                        b.extend_from_slice(&to_v6(s));
                        b.extend_from_slice(&to_v6(d));
                    }
                }
                b.extend_from_slice(&src.port().to_be_bytes());
                b.extend_from_slice(&dst.port().to_be_bytes());
                (if src.is_ipv4() { 0x10 } else { 0x20 }, b)
            }
            Endpoints::Unix { src, dst } => {
                let mut b = Vec::with_capacity(216);
                b.extend_from_slice(&unix_field(src)?);
                b.extend_from_slice(&unix_field(dst)?);
                (0x30, b)
            }
        };
        let transport = if family == 0 {
            0
        } else {
            self.transport.nibble()
        };
        let vc = 0x20 | if self.command == Command::Proxy { 1 } else { 0 };
        let tlv_len: usize = self.tlvs.iter().map(|(_, v)| 3 + v.len()).sum::<usize>()
            + if self.crc32c { 7 } else { 0 };
        let total = 16 + block.len() + tlv_len;
        if total - 16 > usize::from(u16::MAX)
            || self
                .tlvs
                .iter()
                .any(|(_, v)| v.len() > usize::from(u16::MAX))
        {
            return Err(EncodeError::TooLarge(total));
        }
        let too_large = |_| EncodeError::TooLarge(total);
        let mut b = ppp::v2::Builder::new(vc, family | transport)
            .reserve_capacity(block.len() + tlv_len)
            .write_payload(block.as_slice())
            .map_err(too_large)?;
        for (kind, value) in &self.tlvs {
            b = b.write_tlv(*kind, value).map_err(too_large)?;
        }
        if self.crc32c {
            b = b.write_tlv(tlv::CRC32C, &[0u8; 4]).map_err(too_large)?;
        }
        let mut out = b.build().map_err(too_large)?;
        if self.crc32c {
            let at = out.len() - 4;
            crc::patch(&mut out, at);
        }
        Ok(out)
    }
}

/// Append the plain header of a TCP connection from `src` to `dst` (the
/// PROXY command, no TLVs) to `out`: the bytes [`HeaderSpec::tcp`] encodes
/// to, written in place, without a spec, a builder or a `Vec` of their own
/// (a relay writes one per connection, into the buffer of its first write).
pub fn write_tcp(version: Version, src: SocketAddr, dst: SocketAddr, out: &mut Vec<u8>) {
    let (src, dst) = promote(src, dst);
    match version {
        Version::V1 => {
            use std::io::Write;
            let proto = if src.is_ipv4() { "TCP4" } else { "TCP6" };
            // Writing to a Vec does not fail.
            let _ = write!(
                out,
                "PROXY {proto} {} {} {} {}\r\n",
                src.ip(),
                dst.ip(),
                src.port(),
                dst.port()
            );
        }
        Version::V2 => {
            out.extend_from_slice(&super::V2_SIGNATURE);
            let family: u8 = if src.is_ipv4() { 0x10 } else { 0x20 };
            out.push(0x21);
            out.push(family | Transport::Stream.nibble());
            match (src.ip(), dst.ip()) {
                (IpAddr::V4(s), IpAddr::V4(d)) => {
                    out.extend_from_slice(&12u16.to_be_bytes());
                    out.extend_from_slice(&s.octets());
                    out.extend_from_slice(&d.octets());
                }
                (s, d) => {
                    out.extend_from_slice(&36u16.to_be_bytes());
                    out.extend_from_slice(&to_v6(s));
                    out.extend_from_slice(&to_v6(d));
                }
            }
            out.extend_from_slice(&src.port().to_be_bytes());
            out.extend_from_slice(&dst.port().to_be_bytes());
        }
    }
}

/// Promote a v4/v6 mix to v6 with the v4 side as `::ffff:a.b.c.d`, as
/// HAProxy and the spec do.
pub fn promote(src: SocketAddr, dst: SocketAddr) -> (SocketAddr, SocketAddr) {
    if src.is_ipv4() == dst.is_ipv4() {
        return (src, dst);
    }
    let map = |a: SocketAddr| match a.ip() {
        IpAddr::V4(v4) => SocketAddr::new(IpAddr::V6(v4.to_ipv6_mapped()), a.port()),
        IpAddr::V6(_) => a,
    };
    (map(src), map(dst))
}

fn to_v6(ip: IpAddr) -> [u8; 16] {
    match ip {
        IpAddr::V4(v4) => v4.to_ipv6_mapped().octets(),
        IpAddr::V6(v6) => v6.octets(),
    }
}

fn unix_field(path: &str) -> Result<[u8; 108], EncodeError> {
    let bytes: Vec<u8> = match path.strip_prefix('@') {
        Some(name) => std::iter::once(0).chain(name.bytes()).collect(),
        None => path.bytes().collect(),
    };
    if bytes.len() > 108 {
        return Err(EncodeError::UnixPathTooLong(path.to_string()));
    }
    let mut field = [0u8; 108];
    field[..bytes.len()].copy_from_slice(&bytes);
    Ok(field)
}

/// SSL TLV value (§2.2.6): client bits, verify, then sub-TLVs.
pub fn ssl_value(client: u8, verify: u32, subs: &[(u8, &[u8])]) -> Vec<u8> {
    let mut v = vec![client];
    v.extend_from_slice(&verify.to_be_bytes());
    for (kind, value) in subs {
        v.push(*kind);
        v.extend_from_slice(&(value.len() as u16).to_be_bytes());
        v.extend_from_slice(value);
    }
    v
}

/// AWS TLV value: subtype 0x01 + VPC endpoint id.
pub fn aws_vpce_value(id: &str) -> Vec<u8> {
    std::iter::once(0x01).chain(id.bytes()).collect()
}

/// Azure TLV value: subtype 0x01 + LINKID, little-endian.
pub fn azure_link_value(link_id: u32) -> Vec<u8> {
    std::iter::once(0x01).chain(link_id.to_le_bytes()).collect()
}

/// GCP PSC connection id, big-endian.
pub fn gcp_psc_value(id: u64) -> Vec<u8> {
    id.to_be_bytes().to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tcp_header_written_in_place_is_the_encoded_one() {
        let v4 = |s: &str| s.parse::<SocketAddr>().unwrap();
        let pairs = [
            (v4("192.0.2.1:56324"), v4("198.51.100.7:443")),
            (v4("[2001:db8::1]:1"), v4("[2001:db8::2]:65535")),
            (v4("192.0.2.1:80"), v4("[2001:db8::2]:8080")),
            (v4("[::1]:80"), v4("127.0.0.1:8080")),
        ];
        for version in [Version::V1, Version::V2] {
            for (src, dst) in pairs {
                let mut out = b"kept".to_vec();
                write_tcp(version, src, dst, &mut out);
                let want = HeaderSpec::tcp(version, src, dst).encode().unwrap();
                assert_eq!(&out[..4], b"kept");
                assert_eq!(out[4..], want[..], "{version:?} {src} {dst}");
            }
        }
    }
}
