//! The suite, as data: every test's id, the section of the spec it comes
//! from (HAProxy's proxy-protocol.txt, as numbered in the project's
//! checklist), its requirement level, what it sends and what the receiver
//! must do. [`SUITE`] is in run order; `grade` turns what a receiver did
//! into pass, fail, warn or skip, and `wire` sends the bytes.
//!
//! Claimed addresses come from the documentation ranges (203.0.113.0/24,
//! 192.0.2.0/24, 2001:db8::/32), so a reflector that names one of them
//! names the header's address, never the connection's.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use crate::codec::corrupt::Corruption;
use crate::codec::{tlv, Command, Transport, Version, SAFE_SEGMENT};
use crate::send::{AddressPlan, HeaderPlan};

pub(crate) use crate::judge::conformance::Level;

/// Which receiver configurations a test is for (`--mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Modes {
    /// Receivers that read PROXY headers (require, optional).
    Proxy,
    /// Receivers configured without PROXY protocol (off).
    Off,
}

/// How one connection delivers the header and the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Delivery {
    /// Header and request in one write (one segment).
    Whole,
    /// The header, a pause, then the request in a second segment.
    Apart,
    /// One segment per header byte, then the request.
    Bytewise,
    /// The header alone, then a FIN: no request.
    HalfClose,
    /// The start of the request, then the header, then the rest.
    DataFirst,
    /// Whole, from `--from` (a source outside the allow-list).
    From,
    /// Whole, the request carrying `X-Forwarded-For: FORWARDED`.
    Forwarded,
    /// Nothing at all: connect and wait.
    Idle,
}

/// What a test does.
#[derive(Debug, Clone, Copy)]
pub(crate) enum How {
    /// One connection: these header bytes, delivered so.
    Once(fn() -> Vec<u8>, Delivery),
    /// One connection per byte offset: the header in two segments cut
    /// there, the request with the second.
    EveryOffset(fn() -> Vec<u8>),
    /// v2 headers of growing size (NOOP TLVs) until one is not served.
    Largest,
    /// `--slow`: a v1 header at one byte a second.
    Trickle,
    /// `--slow`: a connection that sends nothing.
    Silent,
    /// `--slow`: [`STALLED`] connections holding half a header, then one
    /// valid client.
    Stalled,
}

impl How {
    pub(crate) fn slow(self) -> bool {
        matches!(self, How::Trickle | How::Silent | How::Stalled)
    }
}

/// What a receiver grades as for a rejection where the test wants
/// acceptance, or the other way round.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Otherwise {
    Pass,
    /// A warn whatever the level.
    Warn,
    /// Fail at MUST, warn below.
    ByLevel,
}

/// What the receiver must do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Expect {
    /// Serve, taking this address from the header (checked with a
    /// reflector).
    Take(IpAddr),
    /// Serve with the connection's own address: `forged` (if any) must
    /// never be taken; a rejection grades as `rejected`.
    Socket {
        forged: Option<IpAddr>,
        rejected: Otherwise,
    },
    /// Do not serve (close, reset, an error answer); `forged` must never
    /// be taken.
    Reject { forged: Option<IpAddr> },
    /// Reject when it checks CRC32C; serving is a warn (checking is
    /// optional, the MUST binds receivers that do).
    RejectIfChecked,
    /// Serve or refuse, either way promptly (a header the spec defines
    /// but a receiver need not implement): only hanging misses.
    Either,
    /// Serve a client that sends no header (a receiver without PROXY).
    Plain,
    /// Take a header at least [`SAFE_SEGMENT`] bytes long.
    Large,
    /// Close the connection within the `--slow-limit` bound.
    Deadline,
    /// Serve the valid client despite the stalled ones.
    Serve,
}

/// Whether a test needs `--reflect` to be graded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reflect {
    /// Used when given; the test is graded without it.
    Optional,
    /// Needed only when the receiver serves (to see which address it took).
    IfServed,
    /// Always needed.
    Required,
}

/// One test of the suite.
#[derive(Debug)]
pub(crate) struct Test {
    /// `group/name`, what `--only`/`--skip` match.
    pub id: &'static str,
    /// The section of the spec (`2.1`, `2.2.3`).
    pub section: &'static str,
    pub level: Level,
    /// What goes on the wire, in a few words.
    pub sends: &'static str,
    pub how: How,
    pub expect: Expect,
    pub reflect: Reflect,
    pub modes: Modes,
}

impl Test {
    /// The header bytes of a one-connection test (empty for the others).
    pub(crate) fn header(&self) -> Vec<u8> {
        match self.how {
            How::Once(f, _) | How::EveryOffset(f) => f(),
            _ => Vec::new(),
        }
    }

    /// The PROXY version the test's header is written in, when it is one
    /// that must be served: the test is moot for a receiver that takes
    /// no header of that version.
    pub(crate) fn served_version(&self) -> Option<Version> {
        let serves = matches!(
            self.expect,
            Expect::Take(_)
                | Expect::Socket {
                    rejected: Otherwise::ByLevel | Otherwise::Warn,
                    ..
                }
        );
        if !serves {
            return None;
        }
        match self.header().first() {
            Some(b'P') => Some(Version::V1),
            Some(b'\r') => Some(Version::V2),
            _ => None,
        }
    }

    /// The two tests that find out which versions the receiver takes.
    pub(crate) fn is_baseline(&self) -> bool {
        self.id == V1_BASELINE || self.id == V2_BASELINE
    }
}

pub(crate) const V1_BASELINE: &str = "v1/tcp4";
pub(crate) const V2_BASELINE: &str = "v2/tcp4";

/// Connections the stalled-headers test holds open.
pub(crate) const STALLED: usize = 500;

/// Header sizes the largest-header test tries, in bytes (16 + len).
pub(crate) const SIZES: [usize; 9] = [
    256,
    SAFE_SEGMENT,
    1024,
    2048,
    4096,
    8192,
    16384,
    32768,
    65551,
];

// The addresses headers claim.
const V4: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 7);
const V4_SECOND: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 8);
const V4_OCTAL: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 11);
const V6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 7);
const V6_LONG: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0x85a3, 0, 0, 0x8a2e, 0x370, 0x7334);
const SRC4: SocketAddr = SocketAddr::new(IpAddr::V4(V4), 51000);
const DST4: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)), 80);
const SRC6: SocketAddr = SocketAddr::new(IpAddr::V6(V6), 51000);
const DST6: SocketAddr = SocketAddr::new(
    IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1)),
    80,
);
/// What the X-Forwarded-For test's request says the client is.
pub(crate) const FORWARDED: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 40));

const fn v4(ip: Ipv4Addr) -> IpAddr {
    IpAddr::V4(ip)
}

/// The claimed source of most tests.
pub(crate) const CLAIMED: IpAddr = v4(V4);

fn build(plan: HeaderPlan) -> Vec<u8> {
    // Every address is given, so the socket ends are never used.
    plan.build(SRC4, DST4).unwrap_or_default()
}

fn plan(version: Version, src: SocketAddr, dst: SocketAddr) -> HeaderPlan {
    HeaderPlan {
        addresses: AddressPlan::Inet {
            src: Some(src),
            dst: Some(dst),
        },
        ..HeaderPlan::new(version)
    }
}

fn tcp4(version: Version) -> Vec<u8> {
    build(plan(version, SRC4, DST4))
}

fn v1_tcp4() -> Vec<u8> {
    tcp4(Version::V1)
}

fn v2_tcp4() -> Vec<u8> {
    tcp4(Version::V2)
}

fn v2_with(f: impl FnOnce(&mut HeaderPlan)) -> Vec<u8> {
    let mut p = plan(Version::V2, SRC4, DST4);
    f(&mut p);
    build(p)
}

fn corrupt(version: Version, c: Corruption) -> Vec<u8> {
    let mut p = plan(version, SRC4, DST4);
    p.corrupt = Some(c);
    build(p)
}

fn line(text: &str) -> Vec<u8> {
    text.as_bytes().to_vec()
}

/// A v2 header with `byte` as its 13th byte (version and command).
fn v2_ver_cmd(byte: u8) -> Vec<u8> {
    let mut h = v2_tcp4();
    h[12] = byte;
    h
}

/// A v2 header with `byte` as its 14th byte (family and transport).
fn v2_fam(byte: u8) -> Vec<u8> {
    let mut h = v2_tcp4();
    h[13] = byte;
    h
}

fn local(f: impl FnOnce(&mut HeaderPlan)) -> Vec<u8> {
    let mut p = HeaderPlan::new(Version::V2);
    p.command = Command::Local;
    p.transport = Transport::Unspec;
    p.addresses = AddressPlan::Unknown;
    f(&mut p);
    build(p)
}

/// A v2 header of exactly `total` bytes (16..=65551): TCP4 addresses, then
/// NOOP TLVs of at most 1000 value bytes (HAProxy refuses a TLV over
/// 1024), the last one taking what is left.
pub(crate) fn v2_of_size(total: usize) -> Vec<u8> {
    let base = 16 + 12;
    let mut room = total.clamp(base, crate::codec::V2_MAX_LEN) - base;
    let mut tlvs = Vec::new();
    while room >= 3 {
        let value = (room - 3).min(1000);
        // Never leave 1 or 2 bytes, which no TLV can fill.
        let value = if (1..3).contains(&(room - 3 - value)) {
            value - 3
        } else {
            value
        };
        tlvs.push((tlv::NOOP, vec![0u8; value]));
        room -= 3 + value;
    }
    v2_with(|p| p.tlvs = tlvs)
}

const fn t(
    id: &'static str,
    section: &'static str,
    level: Level,
    sends: &'static str,
    how: How,
    expect: Expect,
) -> Test {
    Test {
        id,
        section,
        level,
        sends,
        how,
        expect,
        reflect: Reflect::Optional,
        modes: Modes::Proxy,
    }
}

const fn reflect(mut test: Test, reflect: Reflect) -> Test {
    test.reflect = reflect;
    test
}

const fn off(mut test: Test) -> Test {
    test.modes = Modes::Off;
    test
}

use Delivery::*;
use Level::*;

const TAKE: Expect = Expect::Take(CLAIMED);
const REJECT: Expect = Expect::Reject {
    forged: Some(CLAIMED),
};

/// Serve with the socket's address; a rejection grades as `rejected`.
const fn socket(forged: Option<IpAddr>, rejected: Otherwise) -> Expect {
    Expect::Socket { forged, rejected }
}

/// The suite, in run order (the two baselines first).
#[rustfmt::skip]
pub(crate) static SUITE: &[Test] = &[
    // Framing: what must be served.
    t("v1/tcp4", "2.1", Must, "a TCP4 line and the request in one segment", How::Once(v1_tcp4, Whole), TAKE),
    t("v2/tcp4", "2.2", Must, "a v2 TCP4 header and the request in one segment", How::Once(v2_tcp4, Whole), TAKE),
    t("v1/tcp6", "2.1", Must, "a TCP6 line", How::Once(|| build(plan(Version::V1, SRC6, DST6)), Whole), Expect::Take(IpAddr::V6(V6))),
    t("v2/tcp6", "2.2", Must, "a v2 TCP6 header", How::Once(|| build(plan(Version::V2, SRC6, DST6)), Whole), Expect::Take(IpAddr::V6(V6))),
    t("v1/apart", "2", Must, "a TCP4 line, then the request in a second segment", How::Once(v1_tcp4, Apart), TAKE),
    t("v2/apart", "2", Must, "a v2 header, then the request in a second segment", How::Once(v2_tcp4, Apart), TAKE),
    t("v1/split-every-offset", "2", Should, "a TCP4 line in two segments, cut at each offset in turn", How::EveryOffset(v1_tcp4), TAKE),
    t("v2/split-every-offset", "2", Should, "a v2 header in two segments, cut at each offset in turn", How::EveryOffset(v2_tcp4), TAKE),
    t("v1/split-bytewise", "2", Should, "a TCP4 line, one segment per byte", How::Once(v1_tcp4, Bytewise), TAKE),
    t("v2/split-bytewise", "2", Should, "a v2 header, one segment per byte", How::Once(v2_tcp4, Bytewise), TAKE),
    t("v1/tcp6-longest", "2.1", Must, "a 104-byte TCP6 line (full-length addresses and ports)",
        How::Once(|| line("PROXY TCP6 2001:0db8:85a3:0000:0000:8a2e:0370:7334 2001:0db8:85a3:0000:0000:8a2e:0370:7335 65535 65535\r\n"), Whole),
        Expect::Take(IpAddr::V6(V6_LONG))),
    t("v1/unknown-107", "2.1", Must, "the longest legal line: UNKNOWN with full-length fields (107 bytes)",
        How::Once(|| line("PROXY UNKNOWN 2001:0db8:85a3:0000:0000:8a2e:0370:7334 2001:0db8:85a3:0000:0000:8a2e:0370:7335 65535 65535\r\n"), Whole),
        socket(Some(IpAddr::V6(V6_LONG)), Otherwise::Warn)),
    t("v1/line-108", "2.1", Should, "an UNKNOWN line of 108 bytes, one more than the longest",
        How::Once(|| line("PROXY UNKNOWN 2001:0db8:85a3:0000:0000:8a2e:0370:7334 2001:0db8:85a3:0000:0000:8a2e:0370:7335 65535 655355\r\n"), Whole),
        Expect::Reject { forged: Some(IpAddr::V6(V6_LONG)) }),
    t("v1/unknown", "2.1", Should, "PROXY UNKNOWN alone (the short form)", How::Once(|| line("PROXY UNKNOWN\r\n"), Whole),
        socket(None, Otherwise::ByLevel)),
    t("v1/unknown-fields", "2.1", Must, "UNKNOWN followed by addresses and ports, which must be ignored",
        How::Once(|| line("PROXY UNKNOWN 203.0.113.7 192.0.2.1 51000 80\r\n"), Whole),
        socket(Some(CLAIMED), Otherwise::Warn)),
    t("v1/tcp6-v4-mapped", "2.1", Must, "a TCP6 line with ::ffff:203.0.113.7 (v4-mapped) addresses",
        How::Once(|| line("PROXY TCP6 ::ffff:203.0.113.7 ::ffff:192.0.2.1 51000 80\r\n"), Whole), TAKE),
    t("v2/tcp6-v4-mapped", "2.2", Must, "a v2 TCP6 header with v4-mapped addresses",
        How::Once(|| {
            let mapped = |a: SocketAddr, ip: Ipv4Addr| SocketAddr::new(IpAddr::V6(ip.to_ipv6_mapped()), a.port());
            build(plan(Version::V2, mapped(SRC4, V4), mapped(DST4, Ipv4Addr::new(192, 0, 2, 1))))
        }, Whole), TAKE),
    t("v2/crc32c", "2.2.3", Must, "a CRC32C TLV with the right checksum",
        How::Once(|| v2_with(|p| p.tlvs = vec![(tlv::CRC32C, Vec::new())]), Whole), TAKE),
    t("v2/crc32c-wrong", "2.2.3", Must, "a CRC32C TLV with a wrong checksum",
        How::Once(|| corrupt(Version::V2, Corruption::Crc), Whole), Expect::RejectIfChecked),
    t("v2/tlv-unknown", "2.2", Must, "TLVs of unassigned, custom and experimental types (0x50, 0xE5, 0xF3)",
        How::Once(|| v2_with(|p| p.tlvs = vec![(0x50, b"x".to_vec()), (0xE5, b"custom".to_vec()), (0xF3, vec![1, 2, 3])]), Whole), TAKE),
    t("v2/tlv-noop", "2.2.4", Must, "a NOOP TLV of 100 zero bytes (padding)",
        How::Once(|| v2_with(|p| p.tlvs = vec![(tlv::NOOP, vec![0; 100])]), Whole), TAKE),
    t("v2/tlv-registered", "2.2.1", Must, "ALPN, AUTHORITY and UNIQUE_ID TLVs",
        How::Once(|| v2_with(|p| p.tlvs = vec![
            (tlv::ALPN, b"http/1.1".to_vec()),
            (tlv::AUTHORITY, b"app.example.com".to_vec()),
            (tlv::UNIQUE_ID, b"conform-0001".to_vec()),
        ]), Whole), TAKE),
    t("v2/tlv-ssl", "2.2.6", Must, "an SSL TLV with version, CN and cipher sub-TLVs",
        How::Once(|| v2_with(|p| p.tlvs = vec![(tlv::SSL, crate::send::header::ssl_tlv(
            Some("TLSv1.3"), Some("client.example.com"), Some("TLS_AES_128_GCM_SHA256"), 0))]), Whole), TAKE),
    t("v2/tlv-largest", "2", Practice, "v2 headers of 256 bytes up to 64 KiB (NOOP TLVs): the largest taken",
        How::Largest, Expect::Large),
    t("v2/local", "2.2", Must, "LOCAL, AF_UNSPEC, no address block (a health check)",
        How::Once(|| local(|_| {}), Whole), socket(None, Otherwise::ByLevel)),
    t("v2/local-tlvs", "2.2", Must, "LOCAL, AF_UNSPEC, with a TLV after the prefix (len is not 0)",
        How::Once(|| local(|p| p.tlvs = vec![(tlv::NOOP, vec![0; 8])]), Whole), socket(None, Otherwise::ByLevel)),
    t("v2/local-family-no-block", "2.2", Must, "LOCAL with family byte 0x11 and no address block (AWS NLB's health check)",
        How::Once(|| local(|p| p.family_byte = Some(0x11)), Whole), socket(None, Otherwise::ByLevel)),
    t("v2/proxy-unspec", "2.2", Must, "PROXY with AF_UNSPEC and no addresses",
        How::Once(|| v2_with(|p| p.addresses = AddressPlan::Unknown), Whole), socket(None, Otherwise::Pass)),
    t("v2/af-unix", "2.2", Must, "PROXY, AF_UNIX: two UNIX socket paths on a TCP port",
        How::Once(|| v2_with(|p| p.addresses = AddressPlan::Unix { src: "/run/client.sock".into(), dst: "/run/app.sock".into() }), Whole),
        socket(None, Otherwise::Pass)),
    t("v2/dgram", "2.2", Should, "PROXY, UDP4 (DGRAM) addresses on a stream connection",
        How::Once(|| v2_with(|p| p.transport = Transport::Dgram), Whole), Expect::Either),

    // Rejection: what must not be served.
    t("v1/bare-lf", "2.1", Must, "a TCP4 line ending in LF alone", How::Once(|| corrupt(Version::V1, Corruption::V1LfOnly), Whole), REJECT),
    t("v1/lone-cr", "2.1", Must, "a TCP4 line ending in CR alone, then the request",
        How::Once(|| line("PROXY TCP4 203.0.113.7 192.0.2.1 51000 80\r"), Whole), REJECT),
    t("v1/lowercase", "2.1", Must, "`proxy` in lower case", How::Once(|| line("proxy TCP4 203.0.113.7 192.0.2.1 51000 80\r\n"), Whole), REJECT),
    t("v1/bad-signature", "2.1", Must, "`PROXZ` for `PROXY`", How::Once(|| corrupt(Version::V1, Corruption::Signature), Whole), REJECT),
    t("v1/protocol-tcp5", "2.1", Must, "protocol word TCP5", How::Once(|| line("PROXY TCP5 203.0.113.7 192.0.2.1 51000 80\r\n"), Whole), REJECT),
    t("v1/port-65536", "2.1", Must, "source port 65536", How::Once(|| line("PROXY TCP4 203.0.113.7 192.0.2.1 65536 80\r\n"), Whole), REJECT),
    t("v1/port-leading-zero", "2.1", Must, "source port 051000 (a leading zero)", How::Once(|| corrupt(Version::V1, Corruption::V1LeadingZero), Whole), REJECT),
    t("v1/port-plus-sign", "2.1", Must, "source port +51000", How::Once(|| line("PROXY TCP4 203.0.113.7 192.0.2.1 +51000 80\r\n"), Whole), REJECT),
    t("v1/ipv4-leading-zero", "2.1", Must, "source 203.0.113.011 (octal to some parsers)",
        How::Once(|| line("PROXY TCP4 203.0.113.011 192.0.2.1 51000 80\r\n"), Whole), Expect::Reject { forged: Some(v4(V4_OCTAL)) }),
    t("v1/ipv4-octet-256", "2.1", Must, "source 203.0.113.256", How::Once(|| line("PROXY TCP4 203.0.113.256 192.0.2.1 51000 80\r\n"), Whole), REJECT),
    t("v1/double-space", "2.1", Must, "two spaces between fields", How::Once(|| line("PROXY TCP4  203.0.113.7 192.0.2.1 51000 80\r\n"), Whole), REJECT),
    t("v1/missing-port", "2.1", Must, "a TCP4 line with one port", How::Once(|| line("PROXY TCP4 203.0.113.7 192.0.2.1 51000\r\n"), Whole), REJECT),
    t("v1/tcp4-ipv6", "2.1", Must, "TCP4 carrying IPv6 addresses", How::Once(|| line("PROXY TCP4 2001:db8::7 2001:db8::1 51000 80\r\n"), Whole),
        Expect::Reject { forged: Some(IpAddr::V6(V6)) }),
    t("v1/tcp6-ipv4", "2.1", Must, "TCP6 carrying dotted IPv4 addresses", How::Once(|| line("PROXY TCP6 203.0.113.7 192.0.2.1 51000 80\r\n"), Whole), REJECT),
    t("v2/bad-signature", "2.2", Must, "the last signature byte 0x0B for 0x0A", How::Once(|| corrupt(Version::V2, Corruption::Signature), Whole), REJECT),
    t("v2/version-1", "2.2", Must, "version nibble 1", How::Once(|| v2_ver_cmd(0x11), Whole), REJECT),
    t("v2/version-3", "2.2", Must, "version nibble 3", How::Once(|| v2_ver_cmd(0x31), Whole), REJECT),
    t("v2/command-2", "2.2", Must, "command nibble 2 (neither LOCAL nor PROXY)", How::Once(|| v2_ver_cmd(0x22), Whole), REJECT),
    t("v2/command-f", "2.2", Must, "command nibble 0xF", How::Once(|| v2_ver_cmd(0x2F), Whole), REJECT),
    t("v2/family-4", "2.2", Must, "family nibble 4", How::Once(|| v2_fam(0x41), Whole), REJECT),
    t("v2/transport-3", "2.2", Must, "transport nibble 3", How::Once(|| v2_fam(0x13), Whole), REJECT),
    t("v2/len-short", "2.2", Must, "len 11, one byte short of the TCP4 address block",
        How::Once(|| corrupt(Version::V2, Corruption::LengthShort), Whole), REJECT),
    t("v2/tlv-overrun", "2.2", Must, "a last TLV that claims more bytes than the header holds",
        How::Once(|| corrupt(Version::V2, Corruption::TlvOverrun), Whole), REJECT),
    t("v1/truncated", "2.2", Must, "the first half of a TCP4 line, then FIN", How::Once(|| corrupt(Version::V1, Corruption::Truncate), HalfClose), REJECT),
    t("v2/truncated", "2.2", Must, "the first half of a v2 header, then FIN", How::Once(|| corrupt(Version::V2, Corruption::Truncate), HalfClose), REJECT),
    reflect(t("v1/after-data", "2", Must, "the start of the request, then a TCP4 line, then the rest",
        How::Once(v1_tcp4, DataFirst), socket(Some(CLAIMED), Otherwise::Pass)), Reflect::IfServed),
    reflect(t("v2/after-data", "2", Must, "the start of the request, then a v2 header, then the rest",
        How::Once(v2_tcp4, DataFirst), socket(Some(CLAIMED), Otherwise::Pass)), Reflect::IfServed),
    t("v1/stacked", "2", Must, "two TCP4 lines back to back: the second is data",
        How::Once(|| [v1_tcp4(), build(plan(Version::V1, SocketAddr::new(v4(V4_SECOND), 51000), DST4))].concat(), Whole),
        Expect::Reject { forged: Some(v4(V4_SECOND)) }),
    t("v2/stacked", "2", Must, "two v2 headers back to back: the second is data",
        How::Once(|| [v2_tcp4(), build(plan(Version::V2, SocketAddr::new(v4(V4_SECOND), 51000), DST4))].concat(), Whole),
        Expect::Reject { forged: Some(v4(V4_SECOND)) }),

    // Trust.
    t("trust/no-header", "2", Must, "the request without a header (the receiver must not guess)",
        How::Once(Vec::new, Whole), Expect::Reject { forged: None }),
    reflect(t("trust/untrusted-source", "5", Should, "a v2 header from --from, outside the allow-list",
        How::Once(v2_tcp4, From), socket(Some(CLAIMED), Otherwise::Pass)), Reflect::IfServed),
    reflect(t("trust/forged-local", "2.2", Must, "LOCAL carrying a TCP4 address block (the socket's must stand)",
        How::Once(|| local(|p| {
            p.addresses = AddressPlan::Inet { src: Some(SRC4), dst: Some(DST4) };
            p.transport = Transport::Stream;
        }), Whole), socket(Some(CLAIMED), Otherwise::ByLevel)), Reflect::IfServed),
    reflect(t("trust/x-forwarded-for", "5", Practice, "a v2 header, and X-Forwarded-For: 192.0.2.40 in the request",
        How::Once(v2_tcp4, Forwarded), TAKE), Reflect::Required),

    // Receivers configured without PROXY protocol.
    off(t("off/v1-not-read", "5", Must, "a TCP4 line and the request: a header must not be guessed", How::Once(v1_tcp4, Whole), REJECT)),
    off(t("off/v2-not-read", "5", Must, "a v2 header and the request: a header must not be guessed", How::Once(v2_tcp4, Whole), REJECT)),
    off(t("off/no-header", "5", Must, "the request without a header", How::Once(Vec::new, Whole), Expect::Plain)),

    // Deadlines (--slow).
    t("deadline/trickle", "2", Practice, "a TCP4 line at one byte a second", How::Trickle, Expect::Deadline),
    t("deadline/silent", "2", Practice, "a connection that sends nothing", How::Silent, Expect::Deadline),
    t("deadline/stalled-500", "2", Practice, "500 connections holding half a header, then one valid client",
        How::Stalled, Expect::Serve),
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::{decode, Decoded};

    fn group(t: &Test) -> &str {
        t.id.split('/').next().unwrap_or("")
    }

    #[test]
    fn ids_are_unique_grouped_and_many() {
        assert!(SUITE.len() >= 50, "{} tests", SUITE.len());
        for (i, t) in SUITE.iter().enumerate() {
            let (group, name) = t.id.split_once('/').expect("group/name");
            assert!(
                ["v1", "v2", "trust", "off", "deadline"].contains(&group),
                "{}",
                t.id
            );
            assert!(
                name.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
                "{}",
                t.id
            );
            assert!(
                SUITE[i + 1..].iter().all(|o| o.id != t.id),
                "{} twice",
                t.id
            );
            assert!(!t.sends.is_empty() && !t.section.is_empty());
        }
        assert_eq!(SUITE[0].id, V1_BASELINE);
        assert_eq!(SUITE[1].id, V2_BASELINE);
    }

    /// Every header is what its test says: valid where it must be served,
    /// not valid where it must be rejected for its bytes.
    #[test]
    fn headers_are_what_the_tests_say() {
        for t in SUITE {
            let h = t.header();
            let valid = matches!(decode(&h), Decoded::Complete(_));
            match (t.how, t.expect) {
                (How::Once(..) | How::EveryOffset(_), Expect::Take(_)) => {
                    assert!(valid, "{}", t.id)
                }
                (How::Once(_, Delivery::HalfClose), _) => assert!(!valid, "{}", t.id),
                (How::Once(..), Expect::Reject { .. })
                    if (group(t) == "v1" || group(t) == "v2") && !t.id.ends_with("stacked") =>
                {
                    assert!(!valid, "{} decodes as valid", t.id);
                }
                _ => {}
            }
        }
        let line = |id: &str| SUITE.iter().find(|t| t.id == id).expect(id).header();
        assert_eq!(line("v1/unknown-107").len(), 107);
        assert_eq!(line("v1/line-108").len(), 108);
        assert_eq!(line("v1/tcp6-longest").len(), 104);
        assert_eq!(line("v2/len-short")[15], 11);
        for size in SIZES {
            let h = v2_of_size(size);
            assert_eq!(h.len(), size);
            assert!(matches!(decode(&h), Decoded::Complete(_)), "{size}");
        }
    }

    #[test]
    fn served_versions_come_from_the_bytes() {
        let of = |id: &str| {
            SUITE
                .iter()
                .find(|t| t.id == id)
                .expect(id)
                .served_version()
        };
        assert_eq!(of("v1/tcp6"), Some(Version::V1));
        assert_eq!(of("trust/x-forwarded-for"), Some(Version::V2));
        assert_eq!(of("v1/bare-lf"), None);
        assert_eq!(of("v2/proxy-unspec"), None);
    }
}
