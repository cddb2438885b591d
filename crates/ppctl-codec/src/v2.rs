//! Version 2: the binary header (§2.2).

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};

use super::{
    looks_like_header_start, tlv, Addresses, Command, Decoded, Error, ErrorKind, Family, Header,
    Transport, Version, Warning, Warnings, SAFE_SEGMENT, V2_PREFIX_LEN, V2_SIGNATURE,
};
use crate::sniff;

/// A signature mismatch this early means the bytes were never meant as a
/// v2 header (CRLF-led text, say); later, it is a damaged signature.
const SIGNATURE_COMMITTED: usize = 4;

#[inline]
pub(super) fn decode(buf: &[u8]) -> Decoded<'_> {
    let n = buf.len().min(V2_SIGNATURE.len());
    // Fast path: one comparison of the whole signature.
    let matches = n == V2_SIGNATURE.len() && buf[..n] == V2_SIGNATURE;
    if let Some(at) = (!matches)
        .then(|| (0..n).find(|&i| buf[i] != V2_SIGNATURE[i]))
        .flatten()
    {
        if at < SIGNATURE_COMMITTED {
            return Decoded::NotProxy(sniff::classify(buf));
        }
        return invalid(ErrorKind::V2Signature, at);
    }
    if let Some((family, transport, ft, total, tlv_start)) = common(buf).filter(|_| matches) {
        let raw = &buf[..total];
        let (crc32c, mut warnings) = if tlv_start < total {
            match tlv::check(raw, tlv_start) {
                Ok(c) => (c.crc32c, c.warnings),
                Err(e) => return Decoded::Invalid(e),
            }
        } else {
            (None, Warnings::default())
        };
        if total > SAFE_SEGMENT {
            warnings.insert(Warning::MayBeSplit);
        }
        if total > 4096 {
            warnings.insert(Warning::LargerThan4096);
        }
        if looks_like_header_start(&buf[total..]) {
            warnings.insert(Warning::StackedHeader);
        }
        return Decoded::Complete(Header {
            version: Version::V2,
            command: Command::Proxy,
            family,
            transport,
            family_byte: Some(ft),
            addresses: read_addresses(family, &raw[V2_PREFIX_LEN..tlv_start]),
            raw,
            tlv_start,
            crc32c,
            warnings,
        });
    }
    if let Some(&vc) = buf.get(12) {
        if vc >> 4 != 2 {
            return invalid(ErrorKind::V2Version(vc >> 4), 12);
        }
        if vc & 0x0F > 1 {
            return invalid(ErrorKind::V2Command(vc & 0x0F), 12);
        }
    }
    if let Some(&ft) = buf.get(13) {
        if ft >> 4 > 3 {
            return invalid(ErrorKind::V2Family(ft >> 4), 13);
        }
        if ft & 0x0F > 2 {
            return invalid(ErrorKind::V2Transport(ft & 0x0F), 13);
        }
    }
    if buf.len() < V2_PREFIX_LEN {
        return Decoded::Incomplete {
            needed: V2_PREFIX_LEN - buf.len(),
        };
    }

    let command = if buf[12] & 0x0F == 0 {
        Command::Local
    } else {
        Command::Proxy
    };
    let ft = buf[13];
    let family = match ft >> 4 {
        0 => Family::Unspec,
        1 => Family::Inet,
        2 => Family::Inet6,
        _ => Family::Unix,
    };
    let transport = match ft & 0x0F {
        0 => Transport::Unspec,
        1 => Transport::Stream,
        _ => Transport::Dgram,
    };
    let len = u16::from_be_bytes([buf[14], buf[15]]);
    let block = family.block_len();
    if command == Command::Proxy && usize::from(len) < block {
        return invalid(
            ErrorKind::V2LengthTooShort {
                len,
                need: block as u16,
            },
            14,
        );
    }
    let total = V2_PREFIX_LEN + usize::from(len);
    if buf.len() < total {
        return Decoded::Incomplete {
            needed: total - buf.len(),
        };
    }
    let raw = &buf[..total];

    // Where a LOCAL header's TLVs start is ambiguous (protocol.md §1.6):
    // receivers ignore its addresses, and senders disagree. The family's
    // block comes first, as ppp and go-proxyproto read it. But AWS NLB
    // health checks say family 0x11 and put TLVs (CRC32C, NOOP) right after
    // the prefix, which is also where HAProxy >= 3.0 reads them; read that
    // way, their "address block" leaves a run of type-0x00 TLVs or no clean
    // walk at all. So TLVs start at byte 16 when that walk is clean and the
    // block reading is not (a failed walk, or an unassigned type 0x00). A
    // len too short for the block skips the payload whole, honouring len.
    let local_block = command == Command::Local && block > 0;
    let tlvs_from_prefix = local_block && len > 0 && {
        let clean = |from: usize| tlv::Tlvs::new(&raw[from..], from).all(|t| t.is_ok());
        let odd_block = usize::from(len) < block
            || !clean(V2_PREFIX_LEN + block)
            || tlv::Tlvs::new(&raw[V2_PREFIX_LEN + block..], V2_PREFIX_LEN + block)
                .any(|t| t.is_ok_and(|t| t.kind == 0));
        odd_block && clean(V2_PREFIX_LEN)
    };
    // An UNSPEC header has no address block, but some senders put
    // addresses there anyway (netty, ppp). When those bytes are not a clean
    // TLV walk, they are the protocol block the spec says to discard with
    // the family: skipped whole, honouring len.
    let unspec_block = family == Family::Unspec
        && len > 0
        && !tlv::Tlvs::new(&raw[V2_PREFIX_LEN..], V2_PREFIX_LEN).all(|t| t.is_ok());
    let (addresses, tlv_start) = if unspec_block {
        (Addresses::None, total)
    } else if block == 0 || tlvs_from_prefix {
        (Addresses::None, V2_PREFIX_LEN)
    } else if local_block && usize::from(len) < block {
        (Addresses::None, total)
    } else {
        let block_bytes = &raw[V2_PREFIX_LEN..V2_PREFIX_LEN + block];
        (read_addresses(family, block_bytes), V2_PREFIX_LEN + block)
    };

    let checked = match tlv::check(raw, tlv_start) {
        Ok(c) => c,
        Err(e) => return Decoded::Invalid(e),
    };
    let mut all = checked.warnings;
    if command == Command::Proxy && family == Family::Unspec {
        all.insert(Warning::ProxyWithUnspec);
    }
    if !matches!(ft, 0x00 | 0x11 | 0x12 | 0x21 | 0x22 | 0x31 | 0x32) {
        all.insert(Warning::UnlistedFamilyByte);
    }
    if local_block && len > 0 && !tlvs_from_prefix {
        all.insert(Warning::LocalWithAddressBlock);
    }
    if unspec_block {
        all.insert(Warning::UnspecBlockDiscarded);
    }
    if command == Command::Local && tlv_start < total {
        all.insert(Warning::LocalWithTlvs);
    }
    if total > SAFE_SEGMENT {
        all.insert(Warning::MayBeSplit);
    }
    if total > 4096 {
        all.insert(Warning::LargerThan4096);
    }
    if looks_like_header_start(&buf[total..]) {
        all.insert(Warning::StackedHeader);
    }

    Decoded::Complete(Header {
        version: Version::V2,
        command,
        family,
        transport,
        family_byte: Some(ft),
        addresses,
        raw,
        tlv_start,
        crc32c: checked.crc32c,
        warnings: all,
    })
}

/// The common header: PROXY over TCP or UDP, IPv4 or IPv6, complete in
/// `buf`, with `len` at least the address block. For those bytes the
/// general path below has nothing to decide (TLVs after the block, no
/// LOCAL or UNSPEC ambiguity, a listed family byte), so `decode` builds
/// the header straight away. Returns the family, transport, family byte,
/// total length and where the TLVs start; `None` for anything else.
#[inline(always)]
fn common(buf: &[u8]) -> Option<(Family, Transport, u8, usize, usize)> {
    let prefix: &[u8; V2_PREFIX_LEN] = buf.get(..V2_PREFIX_LEN)?.try_into().ok()?;
    if prefix[12] != 0x21 {
        return None;
    }
    let ft = prefix[13];
    let (family, transport) = match ft {
        0x11 => (Family::Inet, Transport::Stream),
        0x12 => (Family::Inet, Transport::Dgram),
        0x21 => (Family::Inet6, Transport::Stream),
        0x22 => (Family::Inet6, Transport::Dgram),
        _ => return None,
    };
    let len = usize::from(u16::from_be_bytes([prefix[14], prefix[15]]));
    let block = family.block_len();
    let total = V2_PREFIX_LEN + len;
    if len < block || buf.len() < total {
        return None;
    }
    Some((family, transport, ft, total, V2_PREFIX_LEN + block))
}

fn invalid(kind: ErrorKind, offset: usize) -> Decoded<'static> {
    Decoded::Invalid(Error::new(kind, offset))
}

#[inline(always)]
fn read_addresses(family: Family, b: &[u8]) -> Addresses<'_> {
    let port = |i: usize| u16::from_be_bytes([b[i], b[i + 1]]);
    match family {
        Family::Inet => {
            let src = Ipv4Addr::new(b[0], b[1], b[2], b[3]);
            let dst = Ipv4Addr::new(b[4], b[5], b[6], b[7]);
            Addresses::Inet {
                src: SocketAddr::new(src.into(), port(8)),
                dst: SocketAddr::new(dst.into(), port(10)),
            }
        }
        Family::Inet6 => {
            let mut s = [0u8; 16];
            let mut d = [0u8; 16];
            s.copy_from_slice(&b[0..16]);
            d.copy_from_slice(&b[16..32]);
            Addresses::Inet {
                src: SocketAddr::new(Ipv6Addr::from(s).into(), port(32)),
                dst: SocketAddr::new(Ipv6Addr::from(d).into(), port(34)),
            }
        }
        Family::Unix => Addresses::Unix {
            src: &b[0..108],
            dst: &b[108..216],
        },
        Family::Unspec => Addresses::None,
    }
}
