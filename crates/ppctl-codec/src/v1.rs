//! Version 1: the text line (§2.1).
//!
//! The line is validated field by field as bytes arrive, so an obviously bad
//! line is rejected early while every prefix of a valid line stays
//! `Incomplete` (ppp 2.3.0 rejects a valid line split after the source port;
//! this parser checks a partial last field only for what it can already tell).

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use super::{
    looks_like_header_start, AddressFault, Addresses, Command, Decoded, Endpoint, Error, ErrorKind,
    Family, Header, Transport, Version, Warning, Warnings, V1_MAX_LEN,
};
use crate::sniff;

const SIGNATURE: &[u8] = b"PROXY ";
/// The shortest valid line, `PROXY UNKNOWN\r\n`.
const MIN_LEN: usize = 15;

pub(super) fn decode(buf: &[u8]) -> Decoded<'_> {
    if let Some(h) = tcp4(buf) {
        return Decoded::Complete(h);
    }
    decode_line(buf)
}

/// The common line, `PROXY TCP4 <ipv4> <ipv4> <port> <port>\r\n`, read in
/// one pass; `None` for anything else (a byte out of place, a partial line,
/// another protocol), which [`decode_line`] then reads field by field. It
/// accepts only lines that path accepts, with the same header: dotted
/// quads as [`parse_ipv4`] reads them, ports of 1-5 digits without a
/// leading zero up to 65535, single spaces, and the line well within
/// [`V1_MAX_LEN`] (56 bytes at most). A TCP4 line has no warning of its own.
fn tcp4(buf: &[u8]) -> Option<Header<'_>> {
    const PREFIX: &[u8] = b"PROXY TCP4 ";
    if !buf.starts_with(PREFIX) {
        return None;
    }
    let mut at = PREFIX.len();
    let src = ipv4_field(buf, &mut at)?;
    let dst = ipv4_field(buf, &mut at)?;
    let sport = port_field(buf, &mut at, b' ')?;
    let dport = port_field(buf, &mut at, b'\r')?;
    if buf.get(at) != Some(&b'\n') {
        return None;
    }
    let fields = Fields {
        proto: Proto::Tcp4,
        addrs: Some((
            SocketAddr::new(IpAddr::V4(src), sport),
            SocketAddr::new(IpAddr::V4(dst), dport),
        )),
        warnings: Warnings::default(),
    };
    Some(build(buf, at + 1, fields))
}

/// A dotted quad at `buf[*at..]` ended by a space (moved past), read as
/// [`parse_ipv4`] reads one: four octets of 1-3 digits, 0-255, no leading
/// zero.
#[inline(always)]
fn ipv4_field(buf: &[u8], at: &mut usize) -> Option<Ipv4Addr> {
    let mut i = *at;
    let mut octets = [0u8; 4];
    for (n, octet) in octets.iter_mut().enumerate() {
        *octet = u8::try_from(digit_run(buf, &mut i, 3)?).ok()?;
        let end = if n < 3 { b'.' } else { b' ' };
        if buf.get(i) != Some(&end) {
            return None;
        }
        i += 1;
    }
    *at = i;
    Some(Ipv4Addr::from(octets))
}

/// A port at `buf[*at..]` ended by `end` (moved past): 1-5 digits, no
/// leading zero, at most 65535.
#[inline(always)]
fn port_field(buf: &[u8], at: &mut usize, end: u8) -> Option<u16> {
    let mut i = *at;
    let port = digit_run(buf, &mut i, 5)?;
    if buf.get(i) != Some(&end) {
        return None;
    }
    *at = i + 1;
    u16::try_from(port).ok()
}

/// The value of 1 to `max` digits at `buf[*i..]` (`*i` moved past them),
/// without a leading zero: after a `0` the run ends, and the caller finds
/// a digit where its separator should be.
#[inline(always)]
fn digit_run(buf: &[u8], i: &mut usize, max: usize) -> Option<u32> {
    let first = *buf.get(*i)?;
    if !first.is_ascii_digit() {
        return None;
    }
    let mut v = u32::from(first - b'0');
    *i += 1;
    for _ in 1..max {
        match buf.get(*i) {
            Some(&d) if d.is_ascii_digit() && v != 0 => {
                v = v * 10 + u32::from(d - b'0');
                *i += 1;
            }
            _ => break,
        }
    }
    Some(v)
}

/// Any line, or the start of one, field by field.
fn decode_line(buf: &[u8]) -> Decoded<'_> {
    let n = buf.len().min(SIGNATURE.len());
    if buf[..n] != SIGNATURE[..n] {
        // "proxy ..." or "PROXYjunk": an attempt at a header, so say what is wrong.
        let m = buf.len().min(5);
        if buf[..m].eq_ignore_ascii_case(&SIGNATURE[..m]) {
            // "pro" may still become "proxy ...": wait, so a stream cut
            // there gets the same verdict as the whole buffer.
            if m < 5 {
                return Decoded::Incomplete { needed: 5 - m };
            }
            let at = (0..n).find(|&i| buf[i] != SIGNATURE[i]).unwrap_or(0);
            return invalid(ErrorKind::V1Signature, at);
        }
        return Decoded::NotProxy(sniff::classify(buf));
    }

    let window = &buf[..buf.len().min(V1_MAX_LEN)];
    // The first CR must be the one of the final CRLF. Only bytes up to the
    // first LF count: whatever follows the line is payload. One scan finds
    // the first CR or LF.
    let first = find(
        window,
        0,
        |x| eq_bytes(x, b'\r') | eq_bytes(x, b'\n'),
        |b| b == b'\r' || b == b'\n',
    );
    let first_lf = match window.get(first) {
        Some(b'\r') => match window.get(first + 1) {
            Some(b'\n') => Some(first + 1),
            Some(_) => return invalid(ErrorKind::V1BareCr, first),
            None => None,
        },
        Some(_) => Some(first),
        None => None,
    };
    match first_lf {
        Some(lf) => {
            if window[lf - 1] != b'\r' {
                return invalid(ErrorKind::V1BareLf, lf);
            }
            let line = &buf[..lf - 1];
            match parse_fields(line, true) {
                Err(e) => Decoded::Invalid(e),
                Ok(fields) => Decoded::Complete(build(buf, lf + 1, fields)),
            }
        }
        None => {
            if buf.len() >= V1_MAX_LEN {
                return invalid(ErrorKind::V1TooLong, V1_MAX_LEN - 1);
            }
            let (line, cr) = match window.strip_suffix(b"\r") {
                Some(line) => (line, true),
                None => (window, false),
            };
            match parse_fields(line, false) {
                Err(e) => Decoded::Invalid(e),
                // Only the LF can follow a CR.
                Ok(_) if cr => Decoded::Incomplete { needed: 1 },
                Ok(_) => Decoded::Incomplete {
                    needed: min_needed(line).max(1),
                },
            }
        }
    }
}

const LO: u64 = 0x0101_0101_0101_0101;
const HI: u64 = 0x8080_8080_8080_8080;

/// The high bit set in each byte of `x` equal to `b` (exact: no carry
/// crosses a byte).
#[inline(always)]
fn eq_bytes(x: u64, b: u8) -> u64 {
    let z = x ^ (LO * u64::from(b));
    !(((z & !HI) + !HI) | z) & HI
}

/// The high bit set in each byte of `x` outside 0x21..=0x7e: the space,
/// control bytes, DEL and non-ASCII.
#[inline(always)]
fn stop_bytes(x: u64) -> u64 {
    let low7 = x & !HI;
    let is_7f = (low7 + LO) & HI;
    let over_20 = (low7 + LO * (0x80 - 0x21)) & HI;
    (x & HI) | is_7f | (!over_20 & HI)
}

/// The index of the first byte of `b` from `i` on that `mask` marks (a
/// word at a time, little-endian) and `byte` agrees with, or `b.len()`.
/// Short lines and fields are the norm, so this beats memchr's set-up.
#[inline(always)]
fn find(b: &[u8], mut i: usize, mask: impl Fn(u64) -> u64, byte: impl Fn(u8) -> bool) -> usize {
    let word = |at: usize| {
        let mut w = [0u8; 8];
        w.copy_from_slice(&b[at..at + 8]);
        u64::from_le_bytes(w)
    };
    while i + 8 <= b.len() {
        let m = mask(word(i));
        if m != 0 {
            return i + (m.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    if i < b.len() && b.len() >= 8 {
        // The last word again, without the bytes already looked at.
        let last = b.len() - 8;
        let m = mask(word(last)) & (u64::MAX << (8 * (i - last)));
        return if m != 0 {
            last + (m.trailing_zeros() / 8) as usize
        } else {
            b.len()
        };
    }
    while i < b.len() && !byte(b[i]) {
        i += 1;
    }
    i
}

fn invalid(kind: ErrorKind, offset: usize) -> Decoded<'static> {
    Decoded::Invalid(Error::new(kind, offset))
}

/// What a line (or a prefix of one) said.
struct Fields {
    proto: Proto,
    addrs: Option<(SocketAddr, SocketAddr)>,
    warnings: Warnings,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Proto {
    Tcp4,
    Tcp6,
    Unknown,
}

fn build(buf: &[u8], len: usize, f: Fields) -> Header<'_> {
    let mut warnings = f.warnings;
    if looks_like_header_start(&buf[len..]) {
        warnings.insert(Warning::StackedHeader);
    }
    let (family, addresses) = match (f.proto, f.addrs) {
        (Proto::Tcp4, Some((src, dst))) => (Family::Inet, Addresses::Inet { src, dst }),
        (Proto::Tcp6, Some((src, dst))) => (Family::Inet6, Addresses::Inet { src, dst }),
        _ => (Family::Unspec, Addresses::None),
    };
    Header {
        version: Version::V1,
        command: Command::Proxy,
        family,
        transport: if family == Family::Unspec {
            Transport::Unspec
        } else {
            Transport::Stream
        },
        family_byte: None,
        addresses,
        raw: &buf[..len],
        tlv_start: len,
        crc32c: None,
        warnings,
    }
}

/// Check the fields of `line` (without CRLF). With `complete == false` the
/// last field may still grow, so it is only checked for what it can't become.
fn parse_fields(line: &[u8], complete: bool) -> Result<Fields, Error> {
    // Up to 6 fields after "PROXY ": protocol, 4 address fields, and one extra
    // to detect a trailing field.
    let mut spans = [(0usize, 0usize); 6];
    let mut count = 0;
    let mut start = SIGNATURE.len();
    let mut proto = None;
    // Field by field: one scan, eight bytes at a time, finds the first byte
    // that is not printable ASCII: the space ending the field, or a bad byte.
    while start <= line.len() {
        if count > 0 && proto == Some(Proto::Unknown) {
            // Anything after UNKNOWN is ignored (§2.1).
            break;
        }
        let i = find(line, start, stop_bytes, |b| !(0x21..=0x7e).contains(&b));
        if i < line.len() && line[i] != b' ' {
            return Err(Error::new(ErrorKind::V1BadByte, i));
        }
        let at_end = i == line.len();
        let partial_last = at_end && !complete;
        if i == start && at_end && count == 5 && proto != Some(Proto::Unknown) {
            // "... 443 \r\n" (or "... 443 " so far): a space where the
            // line should end.
            return Err(Error::new(ErrorKind::V1TrailingSpace, i - 1));
        }
        if i == start && !partial_last && proto != Some(Proto::Unknown) {
            // An empty field: a double space, a trailing space, or nothing at all.
            let kind = match count {
                0 if at_end => ErrorKind::V1Protocol,
                _ if count >= 5 => ErrorKind::V1ExtraField,
                _ if at_end => ErrorKind::V1MissingField,
                _ => ErrorKind::V1EmptyField,
            };
            return Err(Error::new(kind, i));
        }
        if count == 0 {
            proto = Some(check_proto(&line[start..i], start, partial_last)?);
        } else if proto == Some(Proto::Unknown) {
            break;
        }
        if count < spans.len() {
            spans[count] = (start, i);
        }
        count += 1;
        if count == 6 && proto != Some(Proto::Unknown) {
            return Err(Error::new(ErrorKind::V1ExtraField, start));
        }
        start = i + 1;
    }

    let proto = match proto {
        Some(p) => p,
        None => {
            return Ok(Fields {
                proto: Proto::Unknown,
                addrs: None,
                warnings: Warnings::default(),
            })
        }
    };
    let mut warnings = Warnings::default();
    if proto == Proto::Unknown {
        if complete && line.len() > spans[0].1 {
            warnings.insert(Warning::UnknownWithTrailingData);
        }
        return Ok(Fields {
            proto,
            addrs: None,
            warnings,
        });
    }
    if complete && count < 5 {
        return Err(Error::new(ErrorKind::V1MissingField, line.len()));
    }

    let mut ips = [None::<IpAddr>; 2];
    let mut ports = [0u16; 2];
    for (k, &(s, e)) in spans.iter().enumerate().take(count.min(5)).skip(1) {
        let last_partial = !complete && k == count - 1;
        let field = &line[s..e];
        let which = if k % 2 == 1 {
            Endpoint::Source
        } else {
            Endpoint::Destination
        };
        if k <= 2 {
            if last_partial {
                check_partial_address(field, proto, which, s)?;
            } else {
                let (ip, canonical) = parse_address(field, proto, which, s)?;
                if !canonical {
                    warnings.insert(Warning::NonCanonicalIpv6);
                }
                ips[k - 1] = Some(ip);
            }
        } else {
            ports[k - 3] = parse_port(field, which, s, last_partial)?;
        }
    }
    let addrs = match (ips, complete) {
        ([Some(src), Some(dst)], true) => Some((
            SocketAddr::new(src, ports[0]),
            SocketAddr::new(dst, ports[1]),
        )),
        _ => None,
    };
    Ok(Fields {
        proto,
        addrs,
        warnings,
    })
}

fn check_proto(word: &[u8], at: usize, partial: bool) -> Result<Proto, Error> {
    match word {
        b"TCP4" => Ok(Proto::Tcp4),
        b"TCP6" => Ok(Proto::Tcp6),
        b"UNKNOWN" => Ok(Proto::Unknown),
        _ if partial
            && [&b"TCP4"[..], b"TCP6", b"UNKNOWN"]
                .iter()
                .any(|p| p.starts_with(word)) =>
        {
            // Still growing; the caller never looks at it.
            Ok(Proto::Unknown)
        }
        _ => Err(Error::new(ErrorKind::V1Protocol, at)),
    }
}

/// Parse a complete address field; also report whether IPv6 text is canonical.
fn parse_address(
    field: &[u8],
    proto: Proto,
    which: Endpoint,
    at: usize,
) -> Result<(IpAddr, bool), Error> {
    if proto == Proto::Tcp4 {
        // The common case, without going through str parsing.
        if let Some(ip) = parse_ipv4(field) {
            return Ok((IpAddr::V4(ip), true));
        }
    }
    let bad = |field: &[u8]| {
        Error::new(
            ErrorKind::V1Address(which, address_fault(field, proto == Proto::Tcp4)),
            at,
        )
    };
    // The field is printable ASCII (checked by the caller), so it is UTF-8.
    let text = std::str::from_utf8(field).map_err(|_| bad(field))?;
    match proto {
        Proto::Tcp4 => match text.parse::<Ipv4Addr>() {
            Ok(ip) => Ok((IpAddr::V4(ip), true)),
            Err(_) if text.parse::<Ipv6Addr>().is_ok() => {
                Err(Error::new(ErrorKind::V1FamilyMismatch(which), at))
            }
            Err(_) => Err(bad(field)),
        },
        _ => {
            if let Some((ip, canonical)) = parse_ipv6(field) {
                return Ok((IpAddr::V6(ip), canonical));
            }
            // Not an address: the slow path names the fault.
            if text.contains('%') {
                return Err(Error::new(ErrorKind::V1ZoneId(which), at));
            }
            match text.parse::<Ipv6Addr>() {
                Ok(ip) => Ok((IpAddr::V6(ip), is_canonical(&ip, text))),
                Err(_) if text.parse::<Ipv4Addr>().is_ok() => {
                    Err(Error::new(ErrorKind::V1FamilyMismatch(which), at))
                }
                Err(_) => Err(bad(field)),
            }
        }
    }
}

/// Name what is wrong with an address field that did not parse (the slow
/// path: only called on an error).
fn address_fault(field: &[u8], tcp4: bool) -> AddressFault {
    use AddressFault::*;
    if field.iter().any(|&b| b == b'[' || b == b']') {
        return Brackets;
    }
    let allowed = |b: u8| b.is_ascii_hexdigit() || b == b':' || b == b'.';
    if let Some(&b) = field.iter().find(|&&b| !allowed(b)) {
        return BadChar(b);
    }
    if tcp4 {
        if let Some(colon) = field.iter().rposition(|&b| b == b':') {
            let (host, port) = (&field[..colon], &field[colon + 1..]);
            if !port.is_empty()
                && port.iter().all(u8::is_ascii_digit)
                && !host.contains(&b':')
                && parse_ipv4(host).is_some()
            {
                return PortInAddress;
            }
            return ColonUnderTcp4;
        }
        return ipv4_fault(field);
    }
    // TCP6.
    let Some(last_colon) = field.iter().rposition(|&b| b == b':') else {
        return if field.contains(&b'.') {
            Ipv4UnderTcp6
        } else {
            GroupCount(1)
        };
    };
    let colons = field.windows(2).filter(|w| w == b"::").count();
    if field.windows(3).any(|w| w == b":::") {
        return EmptyGroup;
    }
    if colons > 1 {
        return TwoDoubleColons;
    }
    let starts_single = field.starts_with(b":") && !field.starts_with(b"::");
    let ends_single = field.ends_with(b":") && !field.ends_with(b"::");
    if starts_single || ends_single {
        return EmptyGroup;
    }
    let (hex_part, v4) = if field[last_colon + 1..].contains(&b'.') {
        (&field[..last_colon + 1], Some(&field[last_colon + 1..]))
    } else {
        (field, None)
    };
    if let Some(v4) = v4 {
        if parse_ipv4(v4).is_none() {
            return ipv4_fault(v4);
        }
    }
    let mut groups = 0u8;
    for (i, g) in hex_part
        .split(|&b| b == b':')
        .filter(|g| !g.is_empty())
        .enumerate()
    {
        if g.contains(&b'.') {
            return Ipv4UnderTcp6;
        }
        if g.len() > 4 {
            return GroupTooLong((i + 1).min(255) as u8);
        }
        groups = groups.saturating_add(1);
    }
    if v4.is_some() {
        groups = groups.saturating_add(2);
    }
    if (colons == 1 && groups >= 8) || (colons == 0 && groups != 8) {
        return GroupCount(groups);
    }
    Other
}

/// What is wrong with text that should be a dotted quad.
fn ipv4_fault(field: &[u8]) -> AddressFault {
    use AddressFault::*;
    let count = field.split(|&b| b == b'.').count();
    if count != 4 {
        return OctetCount(count.min(255) as u8);
    }
    for (i, octet) in field.split(|&b| b == b'.').enumerate() {
        let n = (i + 1) as u8;
        if let Some(&b) = octet.iter().find(|b| !b.is_ascii_digit()) {
            return BadChar(b);
        }
        if octet.is_empty() {
            return EmptyOctet(n);
        }
        if octet.len() > 1 && octet[0] == b'0' {
            return LeadingZero(n);
        }
        if octet.len() > 3
            || octet
                .iter()
                .fold(0u32, |v, &d| v * 10 + u32::from(d - b'0'))
                > 255
        {
            return OctetOver255(n);
        }
    }
    Other
}

/// The fewest bytes that could still complete `line` (a valid prefix of a
/// v1 line, without CR) into a valid header: the rest of the field being
/// written, the shortest form of each missing field, and the CRLF.
fn min_needed(line: &[u8]) -> usize {
    if line.len() < SIGNATURE.len() {
        return MIN_LEN - line.len();
    }
    let rest = &line[SIGNATURE.len()..];
    let mut fields = rest.split(|&b| b == b' ');
    let proto = fields.next().unwrap_or_default();
    // The shortest tail after each protocol word: " <src> <dst> <sp> <dp>\r\n".
    let after_proto = |word: &[u8]| match word {
        b"TCP4" => 1 + 7 + 1 + 7 + 1 + 1 + 1 + 1 + 2,
        b"TCP6" => 1 + 2 + 1 + 2 + 1 + 1 + 1 + 1 + 2,
        _ => 2,
    };
    let addrs = rest.iter().filter(|&&b| b == b' ').count();
    if addrs == 0 {
        // The protocol word itself is still being written.
        return [&b"TCP4"[..], b"TCP6", b"UNKNOWN"]
            .iter()
            .filter(|w| w.starts_with(proto))
            .map(|w| w.len() - proto.len() + after_proto(w))
            .min()
            .unwrap_or(1);
    }
    if proto == b"UNKNOWN" {
        return 2;
    }
    let tcp4 = proto == b"TCP4";
    // Shortest complete address field, and the tail after a port field.
    let addr_min = if tcp4 { 7 } else { 2 };
    let last = line.rsplit(|&b| b == b' ').next().unwrap_or_default();
    // `addrs` spaces so far: 1 = in the source address, 2 = destination,
    // 3 = source port, 4 = destination port.
    let finish_last = match addrs {
        1 | 2 if tcp4 => ipv4_min_completion(last),
        1 | 2 => ipv6_min_completion(last),
        _ => usize::from(last.is_empty()),
    };
    let later_fields = match addrs {
        1 => 1 + addr_min + 1 + 1 + 1 + 1,
        2 => 1 + 1 + 1 + 1,
        3 => 1 + 1,
        _ => 0,
    };
    finish_last + later_fields + 2
}

/// Characters to add to a prefix of a dotted quad to make one.
fn ipv4_min_completion(p: &[u8]) -> usize {
    let dots = p.iter().filter(|&&b| b == b'.').count();
    if dots > 3 {
        return 0;
    }
    let open = p.is_empty() || p.ends_with(b".");
    usize::from(open) + (3 - dots) * 2
}

/// Characters to add to a prefix of IPv6 text to make valid IPv6: a dotted
/// tail is finished as IPv4; otherwise at most two characters ("::") are
/// ever needed, so the shortest of "", "0", ":", "::" and ":0" that parses.
fn ipv6_min_completion(p: &[u8]) -> usize {
    let tail_start = p.iter().rposition(|&b| b == b':').map_or(0, |c| c + 1);
    if p[tail_start..].contains(&b'.') {
        return ipv4_min_completion(&p[tail_start..]);
    }
    let mut buf = [0u8; 48];
    if p.len() + 2 > buf.len() {
        return 0;
    }
    buf[..p.len()].copy_from_slice(p);
    for tail in [&b""[..], b"0", b":", b"::", b":0", b"0:", b"00"] {
        let end = p.len() + tail.len();
        buf[p.len()..end].copy_from_slice(tail);
        let parses = std::str::from_utf8(&buf[..end])
            .ok()
            .and_then(|t| t.parse::<Ipv6Addr>().ok())
            .is_some();
        if parses {
            return tail.len();
        }
    }
    0
}

/// Strict dotted quad: four decimal octets 0-255, no leading zeros (the
/// same rules as `Ipv4Addr::from_str`, which stays the fallback).
fn parse_ipv4(b: &[u8]) -> Option<Ipv4Addr> {
    let mut octets = [0u8; 4];
    let mut i = 0;
    for (n, octet) in octets.iter_mut().enumerate() {
        let start = i;
        let mut v = 0u32;
        while i < b.len() && b[i].is_ascii_digit() && i - start < 3 {
            v = v * 10 + u32::from(b[i] - b'0');
            i += 1;
        }
        let digits = i - start;
        if digits == 0 || v > 255 || (digits > 1 && b[start] == b'0') {
            return None;
        }
        *octet = v as u8;
        if n < 3 {
            if b.get(i) != Some(&b'.') {
                return None;
            }
            i += 1;
        }
    }
    (i == b.len()).then(|| Ipv4Addr::from(octets))
}

/// IPv6 text in one pass: the same grammar as `Ipv6Addr::from_str` (groups
/// of 1-4 hex digits, at most one `::` standing for at least one zero
/// group, an optional dotted quad in the last two groups), and whether the
/// text is the canonical form (`is_canonical`) found along the way: no
/// upper case, no leading zeros, and `::` exactly on the longest run of
/// two or more zero groups (leftmost on a tie). Text with a dotted quad is
/// rare and is checked by `is_canonical` (formatting).
fn parse_ipv6(b: &[u8]) -> Option<(Ipv6Addr, bool)> {
    let len = b.len();
    let mut seg = [0u16; 8];
    let mut n = 0usize;
    // Where "::" stands: the number of groups before it.
    let mut gap = usize::MAX;
    let mut plain = true; // no upper case, no leading zero
    let mut dotted = false;
    let mut i = 0;
    if len >= 2 && b[0] == b':' && b[1] == b':' {
        gap = 0;
        i = 2;
    }
    if i < len {
        loop {
            let start = i;
            let mut v = 0u32;
            while i < len && i - start < 5 {
                let c = b[i];
                let d = match c {
                    b'0'..=b'9' => c - b'0',
                    b'a'..=b'f' => c - b'a' + 10,
                    b'A'..=b'F' => {
                        plain = false;
                        c - b'A' + 10
                    }
                    _ => break,
                };
                v = (v << 4) | u32::from(d);
                i += 1;
            }
            let digits = i - start;
            if digits == 0 || digits > 4 {
                return None;
            }
            if i < len && b[i] == b'.' {
                // A dotted quad ends the text and fills two groups.
                let v4 = parse_ipv4(&b[start..])?;
                if n > 6 {
                    return None;
                }
                let o = v4.octets();
                seg[n] = u16::from_be_bytes([o[0], o[1]]);
                seg[n + 1] = u16::from_be_bytes([o[2], o[3]]);
                n += 2;
                dotted = true;
                break;
            }
            if n == 8 {
                return None;
            }
            if digits > 1 && b[start] == b'0' {
                plain = false;
            }
            seg[n] = v as u16;
            n += 1;
            if i == len {
                break;
            }
            if b[i] != b':' {
                return None;
            }
            i += 1;
            if i < len && b[i] == b':' {
                if gap != usize::MAX {
                    return None;
                }
                gap = n;
                i += 1;
                if i == len {
                    break;
                }
            } else if i == len {
                return None;
            }
        }
    } else if gap == usize::MAX {
        return None;
    }
    if gap == usize::MAX {
        if n != 8 {
            return None;
        }
    } else {
        // "::" stands for at least one group.
        if n > 7 {
            return None;
        }
        let tail = n - gap;
        seg.copy_within(gap..n, 8 - tail);
        seg[gap..8 - tail].fill(0);
    }
    let ip = Ipv6Addr::from(seg);
    if dotted {
        let text = std::str::from_utf8(b).ok()?;
        return Some((ip, is_canonical(&ip, text)));
    }
    if !plain {
        return Some((ip, false));
    }
    // Longest run of zero groups (length >= 2), leftmost.
    let (mut best, mut best_len, mut run) = (0usize, 0usize, 0usize);
    for (k, &s) in seg.iter().enumerate() {
        if s == 0 {
            run += 1;
            if run > best_len {
                best_len = run;
                best = k + 1 - run;
            }
        } else {
            run = 0;
        }
    }
    let canonical = if gap == usize::MAX {
        best_len < 2
    } else {
        best_len >= 2 && gap == best && 8 - n == best_len
    };
    Some((ip, canonical))
}

/// Check a partial address field for characters it can never contain. A
/// character that could still make a valid address of either family is
/// left for the complete field, so the error kind never depends on where
/// the bytes were split.
fn check_partial_address(
    field: &[u8],
    proto: Proto,
    which: Endpoint,
    at: usize,
) -> Result<(), Error> {
    for &b in field {
        if b == b'%' && proto == Proto::Tcp6 {
            return Err(Error::new(ErrorKind::V1ZoneId(which), at));
        }
        if !(b.is_ascii_hexdigit() || b == b':' || b == b'.' || (b == b'%' && proto == Proto::Tcp4))
        {
            let fault = if b == b'[' || b == b']' {
                AddressFault::Brackets
            } else {
                AddressFault::BadChar(b)
            };
            return Err(Error::new(ErrorKind::V1Address(which, fault), at));
        }
    }
    Ok(())
}

fn parse_port(field: &[u8], which: Endpoint, at: usize, partial: bool) -> Result<u16, Error> {
    let err = |kind| Err(Error::new(kind, at));
    match field.first() {
        Some(b'+') | Some(b'-') => return err(ErrorKind::V1PortSign(which)),
        None if partial => return Ok(0),
        _ => {}
    }
    if let Some(i) = field.iter().position(|b| !b.is_ascii_digit()) {
        return Err(Error::new(ErrorKind::V1Port(which), at + i));
    }
    if field.len() > 1 && field[0] == b'0' {
        return err(ErrorKind::V1PortLeadingZero(which));
    }
    if field.len() > 5 {
        return err(ErrorKind::V1PortRange(which));
    }
    let value = field
        .iter()
        .fold(0u32, |acc, &b| acc * 10 + u32::from(b - b'0'));
    u16::try_from(value).or_else(|_| err(ErrorKind::V1PortRange(which)))
}

/// Is `text` the canonical RFC 5952 form of `ip`? Checked from the groups
/// (lower case, no leading zeros, the longest run of two or more zero
/// groups compressed, leftmost on a tie) without formatting, which is the
/// slow part of IPv6 handling; dotted forms fall back to formatting.
fn is_canonical(ip: &Ipv6Addr, text: &str) -> bool {
    if text.contains('.') {
        let mut buf = StackStr::default();
        return write!(buf, "{ip}").is_ok() && buf.as_str() == text;
    }
    if text.bytes().any(|b| b.is_ascii_uppercase()) {
        return false;
    }
    // Longest run of zero groups (length >= 2), leftmost.
    let seg = ip.segments();
    let (mut best, mut best_len, mut i) = (0, 0, 0);
    while i < 8 {
        if seg[i] == 0 {
            let start = i;
            while i < 8 && seg[i] == 0 {
                i += 1;
            }
            if i - start > best_len {
                best = start;
                best_len = i - start;
            }
        } else {
            i += 1;
        }
    }
    if best_len < 2 {
        best_len = 0;
    }
    // One pass over the text: groups before "::", groups after it, and any
    // group written with a leading zero.
    let (mut head, mut tail, mut compressed, mut at_group_start) = (0usize, 0usize, false, true);
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b':' {
            if b.get(i + 1) == Some(&b':') {
                if compressed {
                    return false;
                }
                compressed = true;
                i += 2;
            } else {
                i += 1;
            }
            at_group_start = true;
            continue;
        }
        if at_group_start {
            if b[i] == b'0' && b.get(i + 1).is_some_and(|c| c.is_ascii_hexdigit()) {
                return false;
            }
            if compressed {
                tail += 1;
            } else {
                head += 1;
            }
            at_group_start = false;
        }
        i += 1;
    }
    if compressed {
        best_len > 0 && head == best && 8 - head - tail == best_len
    } else {
        best_len == 0
    }
}

/// A fixed buffer big enough for any IPv6 address text (45 bytes).
struct StackStr {
    buf: [u8; 64],
    len: usize,
}

impl Default for StackStr {
    fn default() -> Self {
        StackStr {
            buf: [0; 64],
            len: 0,
        }
    }
}

impl StackStr {
    fn as_str(&self) -> &str {
        std::str::from_utf8(&self.buf[..self.len]).unwrap_or("")
    }
}

impl std::fmt::Write for StackStr {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let end = self.len + s.len();
        if end > self.buf.len() {
            return Err(std::fmt::Error);
        }
        self.buf[self.len..end].copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::{is_canonical, parse_ipv6};
    use proptest::prelude::*;
    use std::net::Ipv6Addr;

    /// The one-pass parser against std's parser followed by the previous
    /// canonical check.
    fn agrees(text: &str) {
        let std = text.parse::<Ipv6Addr>().ok();
        let ours = parse_ipv6(text.as_bytes());
        assert_eq!(ours.map(|(ip, _)| ip), std, "{text:?}");
        if let (Some((_, canonical)), Some(ip)) = (ours, std) {
            assert_eq!(canonical, is_canonical(&ip, text), "{text:?}");
            // And with std's formatting, except where std writes an
            // IPv4-mapped address dotted (as `is_canonical` does not
            // require of hex text).
            if ip.to_ipv4_mapped().is_none() {
                assert_eq!(canonical, ip.to_string() == text, "{text:?}");
            }
        }
    }

    #[test]
    fn ipv6_parser_agrees_with_std_on_tricky_text() {
        for text in [
            "",
            ":",
            "::",
            ":::",
            "::::",
            "1",
            "1:",
            ":1",
            "1::",
            "::1",
            "1::1",
            "1:::1",
            "1::1::1",
            "::1:",
            ":1::",
            "0::0",
            "00::",
            "0000::",
            "00000::",
            "::ffff",
            "::fffff",
            "::FFFF",
            "::Ffff",
            "1:2:3:4:5:6:7:8",
            "1:2:3:4:5:6:7:8:9",
            "1:2:3:4:5:6:7::",
            "::2:3:4:5:6:7:8",
            "1:2:3:4:5:6:7::8",
            "1::3:4:5:6:7:8",
            "1:2:3:4:5:6::8",
            "1:2:3:4:5:6:7:",
            "1:2:3:4:5:6:7:8:",
            ":1:2:3:4:5:6:7:8",
            "1:0:0:2:0:0:0:3",
            "1:0:0:2::3",
            "1::2:0:0:0:3",
            "1:0:0:0:2::3",
            "1:0::2:0:0:3",
            "2001:db8::1",
            "2001:DB8::1",
            "2001:0db8::1",
            "2001:db8:0:0:1:0:0:1",
            "2001:db8::1:0:0:1",
            "2001:db8:0:1:1:1:1:1",
            "2001:db8::1:1:1:1:1",
            "fe80::1:0:0:0",
            "fe80::1%eth0",
            "[::1]",
            "::1 ",
            " ::1",
            "::g",
            "g::",
            "::1.2.3.4",
            "::ffff:1.2.3.4",
            "::FFFF:1.2.3.4",
            "::ffff:01.2.3.4",
            "::ffff:1.2.3",
            "::ffff:1.2.3.4.5",
            "::ffff:256.2.3.4",
            "1:2:3:4:5:6:1.2.3.4",
            "1:2:3:4:5:6:7:1.2.3.4",
            "1:2:3:4:5::1.2.3.4",
            "1:2:3:4:5:6::1.2.3.4",
            "1.2.3.4",
            "1.2.3.4::",
            "::1.2.3.4:1",
            "1.2.3.4:1::",
            "::1234.1.1.1",
            "::123.1.1.1",
            "::ab.1.2.3",
            "::1.2.3.4.",
            "0:0:0:0:0:0:0:0",
            "0:0:0:0:0:0:0:1",
            "::0:0",
            "0:0::",
            "1:0::",
            "1::0",
            "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
            "::0.0.0.0",
            "::ffff:0.0.0.0",
            "64:ff9b::1.2.3.4",
            "1:2:3:4:5:6:7:8:",
            "12345::",
            "::12345",
            "1:2:3:4:5:6:7:8::",
            "::1:2:3:4:5:6:7:8",
        ] {
            agrees(text);
        }
    }

    fn group() -> impl Strategy<Value = String> {
        prop_oneof![
            Just(String::new()),
            Just("0".to_string()),
            Just("00".to_string()),
            Just("0000".to_string()),
            Just("1.2.3.4".to_string()),
            Just("01.2.3.4".to_string()),
            "[0-9a-fA-F]{1,5}",
            "[0-9]{1,3}(\\.[0-9]{1,3}){0,4}",
            "[0-9a-fA-F:.%g ]{0,3}",
        ]
    }

    /// The TCP4 fast path reads a line exactly as the field-by-field path
    /// does, or leaves it to it.
    fn fast_path_agrees(line: &[u8]) {
        if let Some(h) = super::tcp4(line) {
            assert_eq!(
                super::Decoded::Complete(h),
                super::decode_line(line),
                "{:?}",
                String::from_utf8_lossy(line)
            );
        }
    }

    #[test]
    fn tcp4_fast_path_agrees_on_edge_lines() {
        for line in [
            &b"PROXY TCP4 1.2.3.4 5.6.7.8 1000 80\r\n"[..],
            b"PROXY TCP4 1.2.3.4 5.6.7.8 1000 80\r\nGET / HTTP/1.1\r\n\r\n",
            b"PROXY TCP4 1.2.3.4 5.6.7.8 1000 80\r\nPROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n",
            b"PROXY TCP4 1.2.3.4 5.6.7.8 1000 80\r\n\r\n\r\n\0\r\nQUIT",
            b"PROXY TCP4 255.255.255.255 255.255.255.255 65535 65535\r\n",
            b"PROXY TCP4 0.0.0.0 0.0.0.0 0 0\r\n",
            b"PROXY TCP4 1.2.3.4 5.6.7.8 65536 80\r\n",
            b"PROXY TCP4 1.2.3.4 5.6.7.8 01 80\r\n",
            b"PROXY TCP4 01.2.3.4 5.6.7.8 1 80\r\n",
            b"PROXY TCP4 1.2.3.4 5.6.7.8 1 80\n",
            b"PROXY TCP4 1.2.3.4 5.6.7.8 1 80\r",
            b"PROXY TCP4 1.2.3.4 5.6.7.8 1 80 \r\n",
            b"PROXY TCP4 1.2.3.4  5.6.7.8 1 80\r\n",
            b"PROXY TCP4 1.2.3.4 ::1 1 80\r\n",
            b"PROXY TCP4 1.2.3.256 5.6.7.8 1 80\r\n",
            b"PROXY TCP4 1.2.3 5.6.7.8 1 80\r\n",
            b"PROXY TCP4 1.2.3.4.5 5.6.7.8 1 80\r\n",
            b"PROXY TCP4 1.2.3.4 5.6.7.8 1 80 9\r\n",
            b"PROXY TCP4 1.2.3.4 5.6.7.8 +1 80\r\n",
            b"PROXY TCP4 1.2.3.4 5.6.7.8 100000 80\r\n",
            b"PROXY TCP4 1.2.3.4 5.6.7.8 1 80\r\r\n",
        ] {
            fast_path_agrees(line);
        }
        assert!(super::tcp4(b"PROXY TCP4 1.2.3.4 5.6.7.8 1000 80\r\n").is_some());
        assert!(super::tcp4(b"PROXY TCP4 1.2.3.4 5.6.7.8 1000 80\r").is_none());
    }

    fn v4_piece() -> impl Strategy<Value = String> {
        prop_oneof![
            4 => "(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(\\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}",
            1 => "[0-9]{1,4}(\\.[0-9]{1,4}){2,4}",
            1 => "[0-9.:a-f ]{0,17}",
        ]
    }

    fn port_piece() -> impl Strategy<Value = String> {
        prop_oneof![4 => "[1-9][0-9]{0,4}", 1 => "0", 1 => "[0-9+ -]{0,7}"]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4096))]

        #[test]
        fn tcp4_fast_path_agrees_with_the_field_parser(
            src in v4_piece(),
            dst in v4_piece(),
            sport in port_piece(),
            dport in port_piece(),
            sep in prop_oneof![6 => Just(" "), 1 => Just("  "), 1 => Just("\t")],
            end in prop_oneof![6 => Just("\r\n"), 1 => Just("\r"), 1 => Just("\n"), 1 => Just(""), 1 => Just(" \r\n"), 2 => Just("\r\nPROXY "), 2 => Just("\r\nGET / HTTP/1.1\r\n")],
        ) {
            let line = format!("PROXY TCP4 {src}{sep}{dst} {sport} {dport}{end}");
            fast_path_agrees(line.as_bytes());
        }

        #[test]
        fn word_scans_agree_with_byte_scans(
            bytes in proptest::collection::vec(
                prop_oneof![Just(b' '), Just(b'\r'), Just(b'\n'), Just(0x7f), Just(0x80), Just(0x21), Just(0x7e), any::<u8>(), 0x21u8..0x7f],
                0..40,
            ),
            from in 0usize..41,
        ) {
            let from = from.min(bytes.len());
            let stop = |b: u8| !(0x21..=0x7e).contains(&b);
            let naive = bytes[from..].iter().position(|&b| stop(b)).map_or(bytes.len(), |p| from + p);
            prop_assert_eq!(super::find(&bytes, from, super::stop_bytes, stop), naive);
            let crlf = |b: u8| b == b'\r' || b == b'\n';
            let naive = bytes[from..].iter().position(|&b| crlf(b)).map_or(bytes.len(), |p| from + p);
            let mask = |x| super::eq_bytes(x, b'\r') | super::eq_bytes(x, b'\n');
            prop_assert_eq!(super::find(&bytes, from, mask, crlf), naive);
        }

        #[test]
        fn ipv6_parser_agrees_with_std_on_random_text(text in "[0-9a-fA-F:.]{0,45}") {
            agrees(&text);
        }

        #[test]
        fn ipv6_parser_agrees_with_std_on_random_groups(
            groups in proptest::collection::vec(group(), 0..10),
            colons in proptest::collection::vec(1usize..3, 0..10),
        ) {
            let mut text = String::new();
            for (k, g) in groups.iter().enumerate() {
                if k > 0 {
                    text.push_str(if colons.get(k) == Some(&2) { "::" } else { ":" });
                }
                text.push_str(g);
            }
            agrees(&text);
        }

        #[test]
        fn ipv6_parser_reads_every_address_and_its_forms(seg in proptest::array::uniform8(
            prop_oneof![Just(0u16), Just(0u16), Just(1u16), Just(0xffffu16), any::<u16>()]
        )) {
            let ip = Ipv6Addr::from(seg);
            agrees(&ip.to_string());
            let exploded = seg.iter().map(|s| format!("{s:x}")).collect::<Vec<_>>().join(":");
            agrees(&exploded);
            let padded = seg.iter().map(|s| format!("{s:04X}")).collect::<Vec<_>>().join(":");
            agrees(&padded);
            let o = ip.octets();
            let dotted = format!("{}:{}.{}.{}.{}", seg[..6].iter().map(|s| format!("{s:x}")).collect::<Vec<_>>().join(":"), o[12], o[13], o[14], o[15]);
            agrees(&dotted);
            // Every possible "::" placement over a run of groups.
            for a in 0..8 {
                for b in a + 1..=8 {
                    let head = seg[..a].iter().map(|s| format!("{s:x}")).collect::<Vec<_>>().join(":");
                    let tail = seg[b..].iter().map(|s| format!("{s:x}")).collect::<Vec<_>>().join(":");
                    agrees(&format!("{head}::{tail}"));
                }
            }
        }
    }

    #[test]
    fn canonical_ipv6_agrees_with_formatting() {
        for text in [
            "2001:db8::1",
            "::",
            "::1",
            "1::",
            "2001:db8:0:0:1:0:0:1",
            "2001:db8::1:0:0:1",
            "2001:db8:0:1:1:1:1:1",
            "2001:db8::1:1:1:1:1",
            "2001:DB8::1",
            "2001:0db8::1",
            "fe80::1:0:0:0",
            "1:0:0:2:0:0:0:3",
            "1:0:0:2::3",
            "::ffff:1.2.3.4",
            "0:0:0:0:0:0:0:1",
            "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
            "1:2:3:4:5:6:7::",
            "1:2:3:4:5:6:7:0",
        ] {
            let ip: std::net::Ipv6Addr = text.parse().unwrap();
            assert_eq!(
                is_canonical(&ip, text),
                ip.to_string() == text,
                "{text} (canonical: {ip})"
            );
        }
    }

    #[test]
    fn canonical_agrees_with_std_on_many_addresses() {
        // Segments drawn from a small set so zero runs of every length occur.
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..20_000 {
            let mut seg = [0u16; 8];
            for s in &mut seg {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                *s = [0, 0, 0, 1, 0xdb8, 0xffff, 0x10][(x % 7) as usize];
            }
            let ip = std::net::Ipv6Addr::from(seg);
            let canonical = ip.to_string();
            assert!(is_canonical(&ip, &canonical), "{canonical}");
            let exploded = seg
                .iter()
                .map(|s| format!("{s:x}"))
                .collect::<Vec<_>>()
                .join(":");
            assert_eq!(
                is_canonical(&ip, &exploded),
                exploded == canonical,
                "{exploded}"
            );
            let padded = seg
                .iter()
                .map(|s| format!("{s:04x}"))
                .collect::<Vec<_>>()
                .join(":");
            assert!(!is_canonical(&ip, &padded), "{padded}");
        }
    }

    #[test]
    fn ipv4_fast_path_agrees_with_std() {
        for text in [
            "1.2.3.4",
            "0.0.0.0",
            "255.255.255.255",
            "256.1.1.1",
            "01.2.3.4",
            "1.2.3",
            "1.2.3.4.5",
            "1..2.3",
            "1.2.3.4 ",
            "1234.1.1.1",
            "1.2.3.04",
            "10.0.0.1",
            "",
            ".1.2.3",
            "1.2.3.",
            "a.b.c.d",
            "1.2.3.4a",
        ] {
            let std = text.parse::<std::net::Ipv4Addr>().ok();
            assert_eq!(super::parse_ipv4(text.as_bytes()), std, "{text:?}");
        }
    }
}
