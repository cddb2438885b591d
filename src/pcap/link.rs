//! From a captured frame to a TCP segment or UDP datagram: the link layer
//! (Ethernet, raw IP, Linux cooked SLL/SLL2, BSD loopback), VLAN tags and
//! IPv4/IPv6 (extension headers included). `etherparse` does the slicing;
//! the fixed-size SLL, SLL2 and NULL/LOOP headers are skipped here, so a
//! cooked capture decodes whatever its ARPHRD type (`tcpdump -i any` on
//! loopback writes 772, which etherparse's own SLL parser refuses).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use etherparse::{EtherType, NetSlice, SlicedPacket, TransportSlice};

/// pcap LINKTYPE_ values we understand.
pub mod linktype {
    pub const NULL: i32 = 0;
    pub const ETHERNET: i32 = 1;
    pub const RAW: i32 = 101;
    pub const LOOP: i32 = 108;
    pub const LINUX_SLL: i32 = 113;
    pub const IPV4: i32 = 228;
    pub const IPV6: i32 = 229;
    pub const LINUX_SLL2: i32 = 276;
}

/// Length of a LINKTYPE_LINUX_SLL (v1) header; its last two bytes are the
/// protocol (an EtherType for IP, whatever the ARPHRD type).
const SLL_HEADER: usize = 16;
/// Protocol values below this are not EtherTypes (802.3 lengths, SLL's
/// own codes for 802.2 LLC, CAN...): such frames carry no IP.
const MIN_ETHER_TYPE: u16 = 0x0600;
/// Length of a LINKTYPE_LINUX_SLL2 header; its first two bytes are the
/// EtherType of the payload.
const SLL2_HEADER: usize = 20;
/// Length of the NULL/LOOP header: an address family, whose byte order
/// depends on the capturing host. The IP version nibble is read instead.
const NULL_HEADER: usize = 4;

/// TCP flags that matter for flow tracking.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Flags {
    pub syn: bool,
    pub ack: bool,
    pub fin: bool,
    pub rst: bool,
}

/// A frame's TCP or UDP part (etherparse's `TransportSlice`, read). Not
/// `Transport`: that is the PROXY header's field (`codec::Transport`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layer4<'a> {
    Tcp {
        seq: u32,
        ack: u32,
        flags: Flags,
        payload: &'a [u8],
    },
    Udp {
        payload: &'a [u8],
    },
}

/// A TCP segment or UDP datagram and its endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment<'a> {
    pub src: Peer,
    pub dst: Peer,
    pub transport: Layer4<'a>,
}

/// One end of a segment. An IPv4 end (nearly every one) is its address
/// and port in one word, `address << 16 | port`: the flow table keys on
/// and compares that word, so no `SocketAddr` is built for each packet
/// (only for each new flow). Any other end is its `SocketAddr`. Two ends
/// are equal exactly when their `SocketAddr`s are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Peer {
    V4(u64),
    Other(SocketAddr),
}

impl Peer {
    pub fn of(addr: SocketAddr) -> Self {
        match addr {
            SocketAddr::V4(a) => Peer::v4(a.ip().to_bits(), a.port()),
            other => Peer::Other(other),
        }
    }

    fn v4(ip: u32, port: u16) -> Self {
        Peer::V4((u64::from(ip) << 16) | u64::from(port))
    }

    pub fn addr(self) -> SocketAddr {
        match self {
            Peer::V4(w) => SocketAddr::from((Ipv4Addr::from_bits((w >> 16) as u32), w as u16)),
            Peer::Other(a) => a,
        }
    }
}

/// Why a frame could not be decoded. Counted, never fatal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BadFrame {
    UnsupportedLinkType(i32),
    Malformed(String),
}

impl std::fmt::Display for BadFrame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            // pcap's link type is unsigned (0xffffffff is not -1).
            BadFrame::UnsupportedLinkType(t) => {
                write!(f, "unsupported link type {}", *t as u32)
            }
            BadFrame::Malformed(why) => write!(f, "malformed: {why}"),
        }
    }
}

/// Decode a frame. `Ok(None)` is a valid frame that carries neither TCP nor
/// UDP (ARP, ICMP, an IP fragment after the first...). Inlined where each
/// frame is read, so the common frame's segment is built where it is used
/// rather than returned through memory.
#[inline]
pub fn segment(linktype: i32, frame: &[u8]) -> Result<Option<Segment<'_>>, BadFrame> {
    if linktype == linktype::ETHERNET {
        if let Some(seg) = ethernet_ipv4_tcp(frame) {
            return Ok(Some(seg));
        }
    }
    sliced(linktype, frame)
}

/// Ethernet header length, and where its EtherType is.
const ETHERNET_HEADER: usize = 14;
/// An IPv4 header without options, and a TCP header without options.
const IPV4_HEADER: usize = 20;
const TCP_HEADER: usize = 20;

/// The common case, read directly: an untagged Ethernet frame carrying an
/// unfragmented IPv4 packet without options and a TCP segment (with or
/// without options). `None` for anything else (including anything
/// malformed), which etherparse then decodes: the result is the same as
/// etherparse's for every frame this accepts.
#[inline]
fn ethernet_ipv4_tcp(frame: &[u8]) -> Option<Segment<'_>> {
    let be16 = |at: usize| u16::from_be_bytes([frame[at], frame[at + 1]]);
    let be32 =
        |at: usize| u32::from_be_bytes([frame[at], frame[at + 1], frame[at + 2], frame[at + 3]]);
    if frame.len() < ETHERNET_HEADER + IPV4_HEADER + TCP_HEADER || be16(12) != 0x0800 {
        return None;
    }
    let ip = ETHERNET_HEADER;
    // Version 4, IHL 5 (no options), TCP, neither "more fragments" nor an
    // offset.
    if frame[ip] != 0x45 || frame[ip + 9] != 6 || be16(ip + 6) & 0x3fff != 0 {
        return None;
    }
    let total = usize::from(be16(ip + 2));
    if total < IPV4_HEADER + TCP_HEADER || ip + total > frame.len() {
        return None;
    }
    let tcp = ip + IPV4_HEADER;
    let offset = usize::from(frame[tcp + 12] >> 4) * 4;
    if offset < TCP_HEADER || IPV4_HEADER + offset > total {
        return None;
    }
    let flags = frame[tcp + 13];
    Some(Segment {
        src: Peer::v4(be32(ip + 12), be16(tcp)),
        dst: Peer::v4(be32(ip + 16), be16(tcp + 2)),
        transport: Layer4::Tcp {
            seq: be32(tcp + 4),
            ack: be32(tcp + 8),
            flags: Flags {
                syn: flags & 0x02 != 0,
                ack: flags & 0x10 != 0,
                fin: flags & 0x01 != 0,
                rst: flags & 0x04 != 0,
            },
            payload: &frame[tcp + offset..ip + total],
        },
    })
}

/// Any frame, through etherparse.
#[inline(never)]
fn sliced(linktype: i32, frame: &[u8]) -> Result<Option<Segment<'_>>, BadFrame> {
    let sliced = match linktype {
        linktype::ETHERNET => SlicedPacket::from_ethernet(frame),
        linktype::RAW | linktype::IPV4 | linktype::IPV6 => SlicedPacket::from_ip(frame),
        linktype::LINUX_SLL => match frame.get(..SLL_HEADER) {
            Some(h) => match u16::from_be_bytes([h[14], h[15]]) {
                p if p >= MIN_ETHER_TYPE => {
                    SlicedPacket::from_ether_type(EtherType(p), &frame[SLL_HEADER..])
                }
                _ => return Ok(None),
            },
            None => return Err(BadFrame::Malformed("SLL header cut short".into())),
        },
        linktype::LINUX_SLL2 => match frame.get(..SLL2_HEADER) {
            Some(h) => match u16::from_be_bytes([h[0], h[1]]) {
                p if p >= MIN_ETHER_TYPE => {
                    SlicedPacket::from_ether_type(EtherType(p), &frame[SLL2_HEADER..])
                }
                _ => return Ok(None),
            },
            None => return Err(BadFrame::Malformed("SLL2 header cut short".into())),
        },
        linktype::NULL | linktype::LOOP => match frame.get(NULL_HEADER..) {
            Some(ip) => SlicedPacket::from_ip(ip),
            None => return Err(BadFrame::Malformed("loopback header cut short".into())),
        },
        other => return Err(BadFrame::UnsupportedLinkType(other)),
    }
    .map_err(|e| BadFrame::Malformed(e.to_string()))?;
    let (src_ip, dst_ip): (IpAddr, IpAddr) = match &sliced.net {
        Some(NetSlice::Ipv4(v4)) => (
            v4.header().source_addr().into(),
            v4.header().destination_addr().into(),
        ),
        Some(NetSlice::Ipv6(v6)) => (
            v6.header().source_addr().into(),
            v6.header().destination_addr().into(),
        ),
        None => return Ok(None),
    };
    let (sport, dport, transport) = match &sliced.transport {
        Some(TransportSlice::Tcp(t)) => (
            t.source_port(),
            t.destination_port(),
            Layer4::Tcp {
                seq: t.sequence_number(),
                ack: t.acknowledgment_number(),
                flags: Flags {
                    syn: t.syn(),
                    ack: t.ack(),
                    fin: t.fin(),
                    rst: t.rst(),
                },
                payload: t.payload(),
            },
        ),
        Some(TransportSlice::Udp(u)) => (
            u.source_port(),
            u.destination_port(),
            Layer4::Udp {
                payload: u.payload(),
            },
        ),
        _ => return Ok(None),
    };
    Ok(Some(Segment {
        src: Peer::of(SocketAddr::new(src_ip, sport)),
        dst: Peer::of(SocketAddr::new(dst_ip, dport)),
        transport,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use etherparse::PacketBuilder;

    fn tcp_v4(payload: &[u8]) -> Vec<u8> {
        let b = PacketBuilder::ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
            .tcp(40000, 80, 7, 1024)
            .syn();
        let mut out = Vec::new();
        b.write(&mut out, payload).unwrap();
        out
    }

    #[test]
    fn raw_and_loopback_frames() {
        let ip = tcp_v4(b"");
        let s = segment(linktype::RAW, &ip).unwrap().unwrap();
        assert_eq!(s.src.addr(), "10.0.0.1:40000".parse().unwrap());
        let mut null = vec![2, 0, 0, 0];
        null.extend_from_slice(&ip);
        assert_eq!(segment(linktype::NULL, &null).unwrap(), Some(s));
        let mut sll2 = vec![0x08, 0x00];
        sll2.resize(SLL2_HEADER, 0);
        sll2.extend_from_slice(&ip);
        assert_eq!(segment(linktype::LINUX_SLL2, &sll2).unwrap(), Some(s));
    }

    /// `tcpdump -i any` on loopback: ARPHRD 772, which etherparse's SLL
    /// parser refuses; and an IP tunnel (778), and a non-EtherType protocol.
    #[test]
    fn cooked_frames_decode_whatever_their_arphrd_type() {
        let ip = tcp_v4(b"");
        let want = segment(linktype::RAW, &ip).unwrap();
        for arphrd in [1u16, 772, 778, 0xfffe] {
            let mut sll = vec![0, 0];
            sll.extend_from_slice(&arphrd.to_be_bytes());
            sll.extend_from_slice(&[0, 6, 0, 0, 0, 0, 0, 0, 0, 0, 0x08, 0x00]);
            sll.extend_from_slice(&ip);
            assert_eq!(segment(linktype::LINUX_SLL, &sll), Ok(want), "{arphrd}");
            let mut sll2 = vec![0x08, 0x00, 0, 0, 0, 0, 0, 1];
            sll2.extend_from_slice(&arphrd.to_be_bytes());
            sll2.resize(SLL2_HEADER, 0);
            sll2.extend_from_slice(&ip);
            assert_eq!(segment(linktype::LINUX_SLL2, &sll2), Ok(want), "{arphrd}");
        }
        let mut llc = vec![0, 0, 0, 1, 0, 6, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4];
        llc.extend_from_slice(&ip);
        assert_eq!(segment(linktype::LINUX_SLL, &llc), Ok(None));
        assert_eq!(
            BadFrame::UnsupportedLinkType(-1).to_string(),
            "unsupported link type 4294967295"
        );
    }

    /// The Ethernet/IPv4/TCP fast path gives etherparse's answer for every
    /// frame it takes, whatever its bytes.
    #[test]
    fn the_fast_path_agrees_with_etherparse() {
        let mut frames = Vec::new();
        for payload in [&b""[..], b"GET / HTTP/1.1\r\n\r\n"] {
            let b = PacketBuilder::ethernet2([1; 6], [2; 6])
                .ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
                .tcp(40000, 80, 7, 1024)
                .ack(99)
                .psh();
            let mut f = Vec::new();
            b.write(&mut f, payload).unwrap();
            frames.push(f.clone());
            f.extend_from_slice(&[0; 6]); // Ethernet padding
            frames.push(f);
        }
        let mut checked = 0;
        for base in &frames {
            for at in 0..base.len() {
                for byte in [
                    0u8, 1, 2, 4, 5, 6, 0x12, 0x20, 0x3f, 0x40, 0x45, 0x46, 0x50, 0x60, 0x80, 0xf0,
                    0xff,
                ] {
                    let mut f = base.clone();
                    f[at] = byte;
                    for len in [f.len(), f.len() - 1, 54, 53] {
                        let f = &f[..len.min(f.len())];
                        if let Some(fast) = ethernet_ipv4_tcp(f) {
                            assert_eq!(sliced(linktype::ETHERNET, f), Ok(Some(fast)), "{f:02x?}");
                            checked += 1;
                        }
                    }
                }
            }
        }
        assert!(checked > 1000, "{checked}");
    }

    /// A peer gives back the address it was made of, and two peers are
    /// equal exactly when their addresses are.
    #[test]
    fn peers_round_trip_and_compare_as_addresses() {
        let addrs: Vec<SocketAddr> = [
            "10.0.0.1:40000",
            "10.0.0.1:40001",
            "10.0.0.2:40000",
            "0.0.0.0:0",
            "255.255.255.255:65535",
            "[::ffff:10.0.0.1]:40000",
            "[fd00::1]:80",
            "[fd00::1%3]:80",
        ]
        .iter()
        .map(|a| a.parse().unwrap())
        .collect();
        for a in &addrs {
            assert_eq!(Peer::of(*a).addr(), *a);
            for b in &addrs {
                assert_eq!(Peer::of(*a) == Peer::of(*b), a == b, "{a} {b}");
            }
        }
    }

    #[test]
    fn bad_frames_are_errors_not_panics() {
        assert_eq!(segment(999, b"x"), Err(BadFrame::UnsupportedLinkType(999)));
        for lt in [0, 1, 101, 108, 113, 228, 229, 276] {
            for len in 0..64 {
                let _ = segment(lt, &vec![0x45; len]);
            }
        }
    }
}
