//! Turning `send`'s options into header bytes for one connection.
//!
//! The plan is checked once before connecting ([`HeaderPlan::build`] with
//! placeholder addresses), then built again per connection with the real
//! socket ends, which are the default addresses.

use std::net::SocketAddr;

use thiserror::Error as ThisError;

use crate::codec::corrupt::{corrupt, CorruptError, Corruption};
use crate::codec::encode::{self, EncodeError, Endpoints, HeaderSpec};
use crate::codec::{crc, tlv, Command, Family, Transport, Version, V2_PREFIX_LEN};

/// What the header claims, before the socket exists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddressPlan {
    /// IP addresses; a missing side is the real socket end.
    Inet {
        src: Option<SocketAddr>,
        dst: Option<SocketAddr>,
    },
    /// v1 `UNKNOWN` / v2 `AF_UNSPEC`.
    Unknown,
    Unix {
        src: String,
        dst: String,
    },
}

/// Everything that decides the header bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderPlan {
    pub version: Version,
    pub command: Command,
    pub transport: Transport,
    pub addresses: AddressPlan,
    /// TLVs in wire order. A CRC32C entry (any value) marks where the
    /// checksum goes; it is filled in last.
    pub tlvs: Vec<(u8, Vec<u8>)>,
    /// Overwrite the v2 family byte after building (AWS NLB health checks
    /// say 0x11 but carry no address block).
    pub family_byte: Option<u8>,
    pub corrupt: Option<Corruption>,
    /// Send the header twice, back to back (a stacked header).
    pub twice: bool,
    /// Send these bytes instead of a header.
    pub raw: Option<Vec<u8>>,
}

/// Why the header can't be built as asked. Each is a usage error.
#[derive(Debug, Clone, PartialEq, Eq, ThisError)]
pub enum BuildError {
    #[error(transparent)]
    Encode(#[from] EncodeError),
    #[error(transparent)]
    Corrupt(#[from] CorruptError),
}

impl HeaderPlan {
    /// A plain header of `version` with the socket's addresses.
    pub fn new(version: Version) -> Self {
        HeaderPlan {
            version,
            command: Command::Proxy,
            transport: Transport::Stream,
            addresses: AddressPlan::Inet {
                src: None,
                dst: None,
            },
            tlvs: Vec::new(),
            family_byte: None,
            corrupt: None,
            twice: false,
            raw: None,
        }
    }

    /// The bytes for a connection from `local` to `peer`.
    pub fn build(&self, local: SocketAddr, peer: SocketAddr) -> Result<Vec<u8>, BuildError> {
        if let Some(raw) = &self.raw {
            return Ok(raw.clone());
        }
        let endpoints = match &self.addresses {
            AddressPlan::Inet { src, dst } => Endpoints::Inet {
                src: src.unwrap_or(local),
                dst: dst.unwrap_or(peer),
            },
            AddressPlan::Unknown => Endpoints::Unknown,
            AddressPlan::Unix { src, dst } => Endpoints::Unix {
                src: src.clone(),
                dst: dst.clone(),
            },
        };
        if let Some(c) = self.corrupt.filter(|c| !c.applies_to(self.version)) {
            let other = if self.version == Version::V1 { 2 } else { 1 };
            return Err(CorruptError::WrongVersion(c.name(), other).into());
        }
        let mut tlvs = self.tlvs.clone();
        if self.corrupt == Some(Corruption::Crc) && !tlvs.iter().any(|(k, _)| *k == tlv::CRC32C) {
            tlvs.push((tlv::CRC32C, Vec::new()));
        }
        // The CRC placeholder must be 4 zero bytes whatever the caller put.
        for (_, value) in tlvs.iter_mut().filter(|(k, _)| *k == tlv::CRC32C) {
            *value = vec![0; 4];
        }
        let spec = HeaderSpec {
            version: self.version,
            command: self.command,
            transport: self.transport,
            endpoints,
            tlvs,
            crc32c: false,
        };
        let mut out = spec.encode()?;
        if self.version == Version::V2 {
            let tlv_start = V2_PREFIX_LEN + family_of(out[13]).block_len();
            if let Some(byte) = self.family_byte {
                out[13] = byte;
            }
            let crc_at = tlv::Tlvs::new(&out[tlv_start..], tlv_start)
                .flatten()
                .find(|t| t.kind == tlv::CRC32C)
                .map(|t| t.value_offset());
            if let Some(at) = crc_at {
                crc::patch(&mut out, at);
            }
        }
        if let Some(c) = self.corrupt {
            out = corrupt(&out, c)?;
        }
        if self.twice {
            out.extend_from_within(..);
        }
        Ok(out)
    }
}

fn family_of(byte: u8) -> Family {
    match byte >> 4 {
        0x1 => Family::Inet,
        0x2 => Family::Inet6,
        0x3 => Family::Unix,
        _ => Family::Unspec,
    }
}

/// A TLV from `--tlv TYPE=VALUE`: TYPE is a number (`0xEA`, `234`) or a
/// name from the spec (`AUTHORITY`, `ssl_cn`...); VALUE is hex after `0x`,
/// otherwise its text bytes.
pub(crate) fn parse_tlv(arg: &str) -> Result<(u8, Vec<u8>), String> {
    let (kind, value) = arg.split_once('=').ok_or_else(|| {
        format!(
            "--tlv {arg:?}: expected TYPE=VALUE, for example AUTHORITY=example.com or 0xE2=0x0102"
        )
    })?;
    let kind = parse_tlv_type(kind).ok_or_else(|| {
        format!("--tlv {arg:?}: unknown TLV type {kind:?}; give a number (0-255, or 0x00-0xFF) or a name like ALPN, AUTHORITY, CRC32C, NOOP, UNIQUE_ID, SSL, NETNS, AWS, AZURE")
    })?;
    let value = match value
        .strip_prefix("0x")
        .or_else(|| value.strip_prefix("0X"))
    {
        Some(h) => hex::decode(h)
            .map_err(|e| format!("--tlv {arg:?}: the value after 0x is not hex ({e})"))?,
        None => value.as_bytes().to_vec(),
    };
    if value.len() > usize::from(u16::MAX) {
        return Err(format!(
            "--tlv {arg:?}: a TLV value holds at most 65535 bytes"
        ));
    }
    Ok((kind, value))
}

fn parse_tlv_type(s: &str) -> Option<u8> {
    if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        return u8::from_str_radix(h, 16).ok();
    }
    if let Ok(n) = s.parse::<u8>() {
        return Some(n);
    }
    let wanted = s.trim_start_matches("PP2_TYPE_").replace('-', "_");
    (0..=255u8).find(|&k| {
        let name = tlv::name(k);
        !matches!(name, "CUSTOM" | "EXPERIMENT" | "FUTURE" | "UNASSIGNED")
            && name.eq_ignore_ascii_case(&wanted)
    })
}

/// The SSL TLV from `--ssl-*` (§2.2.6): CLIENT_SSL always, the certificate
/// bits when a CN is given, and the sub-TLVs in HAProxy's order.
pub(crate) fn ssl_tlv(
    version: Option<&str>,
    cn: Option<&str>,
    cipher: Option<&str>,
    verify: u32,
) -> Vec<u8> {
    let mut client = tlv::CLIENT_SSL;
    if cn.is_some() {
        client |= tlv::CLIENT_CERT_CONN | tlv::CLIENT_CERT_SESS;
    }
    let subs: Vec<(u8, &[u8])> = [
        (tlv::SSL_VERSION, version),
        (tlv::SSL_CN, cn),
        (tlv::SSL_CIPHER, cipher),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.map(|v| (k, v.as_bytes())))
    .collect();
    encode::ssl_value(client, verify, &subs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::{decode, Decoded};

    fn addrs() -> (SocketAddr, SocketAddr) {
        (
            "127.0.0.1:5000".parse().unwrap(),
            "127.0.0.1:80".parse().unwrap(),
        )
    }

    #[test]
    fn defaults_to_the_socket_ends() {
        let (l, p) = addrs();
        let out = HeaderPlan::new(Version::V1).build(l, p).unwrap();
        assert_eq!(out, b"PROXY TCP4 127.0.0.1 127.0.0.1 5000 80\r\n");
    }

    #[test]
    fn crc_goes_where_it_is_listed_and_checks_out() {
        let (l, p) = addrs();
        let mut plan = HeaderPlan::new(Version::V2);
        plan.tlvs = vec![(tlv::CRC32C, vec![]), (tlv::AUTHORITY, b"x".to_vec())];
        let out = plan.build(l, p).unwrap();
        match decode(&out) {
            Decoded::Complete(h) => {
                assert!(h.crc32c.is_some());
                assert_eq!(h.tlvs().next().map(|t| t.kind), Some(tlv::CRC32C));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn tlv_arguments() {
        assert_eq!(parse_tlv("authority=a.b").unwrap(), (2, b"a.b".to_vec()));
        assert_eq!(parse_tlv("0xEA=0x0176").unwrap(), (0xEA, vec![1, 0x76]));
        assert_eq!(parse_tlv("33=").unwrap(), (33, vec![]));
        assert!(parse_tlv("nope=1").is_err());
        assert!(parse_tlv("ALPN").is_err());
        assert!(parse_tlv("ALPN=0xzz").is_err());
    }
}
