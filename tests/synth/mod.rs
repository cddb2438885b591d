//! Building captures: pcap/pcapng records, link-layer framing and TCP
//! conversations. Used by the tests (captures that are hard to produce
//! live: reordering, VLANs, odd link types) and by the benchmark's
//! generator (examples/gen_pcap.rs); not part of the tool.
//!
//! Whoever includes this file (`mod synth;` in tests/pcap.rs and
//! tests/abuse.rs, `#[path]` in examples/gen_pcap.rs and in the pcap
//! reader's unit tests) has `linktype` and `Timestamp` in scope: it names
//! them through `super`, so one file serves the library's tests and the
//! integration tests alike.

// Each includer uses only part of it.
#![allow(dead_code)]

use std::net::SocketAddr;

use etherparse::{PacketBuilder, PacketBuilderStep, TcpHeader};

use super::{linktype, Timestamp};

/// Legacy pcap file header.
pub fn pcap_header(linktype: i32, nanos: bool, big_endian: bool) -> Vec<u8> {
    let magic: u32 = if nanos { 0xa1b2_3c4d } else { 0xa1b2_c3d4 };
    let mut out = Vec::with_capacity(24);
    let u32b: fn(u32) -> [u8; 4] = if big_endian {
        u32::to_be_bytes
    } else {
        u32::to_le_bytes
    };
    let u16b: fn(u16) -> [u8; 2] = if big_endian {
        u16::to_be_bytes
    } else {
        u16::to_le_bytes
    };
    out.extend_from_slice(&u32b(magic));
    out.extend_from_slice(&u16b(2));
    out.extend_from_slice(&u16b(4));
    out.extend_from_slice(&u32b(0)); // thiszone
    out.extend_from_slice(&u32b(0)); // sigfigs
    out.extend_from_slice(&u32b(262_144)); // snaplen
    out.extend_from_slice(&u32b(linktype as u32));
    out
}

/// Legacy pcap record.
pub fn pcap_record(ts: Timestamp, frame: &[u8], nanos: bool, big_endian: bool) -> Vec<u8> {
    let u32b: fn(u32) -> [u8; 4] = if big_endian {
        u32::to_be_bytes
    } else {
        u32::to_le_bytes
    };
    let frac = if nanos { ts.nanos } else { ts.nanos / 1000 };
    let mut out = Vec::with_capacity(16 + frame.len());
    out.extend_from_slice(&u32b(ts.secs as u32));
    out.extend_from_slice(&u32b(frac));
    out.extend_from_slice(&u32b(frame.len() as u32));
    out.extend_from_slice(&u32b(frame.len() as u32));
    out.extend_from_slice(frame);
    out
}

fn ng_block(kind: u32, body: &[u8]) -> Vec<u8> {
    let padded = body.len().div_ceil(4) * 4;
    let total = (12 + padded) as u32;
    let mut out = Vec::with_capacity(total as usize);
    out.extend_from_slice(&kind.to_le_bytes());
    out.extend_from_slice(&total.to_le_bytes());
    out.extend_from_slice(body);
    out.resize(8 + padded, 0);
    out.extend_from_slice(&total.to_le_bytes());
    out
}

/// pcapng Section Header Block (little-endian).
pub fn pcapng_section() -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&0x1A2B_3C4Du32.to_le_bytes());
    body.extend_from_slice(&1u16.to_le_bytes());
    body.extend_from_slice(&0u16.to_le_bytes());
    body.extend_from_slice(&u64::MAX.to_le_bytes()); // section length: unknown
    ng_block(0x0A0D_0D0A, &body)
}

/// pcapng Interface Description Block with a nanosecond resolution.
pub fn pcapng_interface(linktype: i32) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&(linktype as u16).to_le_bytes());
    body.extend_from_slice(&0u16.to_le_bytes());
    body.extend_from_slice(&262_144u32.to_le_bytes());
    // if_tsresol = 9 (10^-9), then opt_endofopt.
    body.extend_from_slice(&[9, 0, 1, 0, 9, 0, 0, 0, 0, 0, 0, 0]);
    ng_block(1, &body)
}

/// pcapng Enhanced Packet Block (nanosecond timestamps).
pub fn pcapng_packet(interface: u32, ts: Timestamp, frame: &[u8]) -> Vec<u8> {
    let units = ts.secs as u64 * 1_000_000_000 + u64::from(ts.nanos);
    let mut body = Vec::with_capacity(20 + frame.len());
    body.extend_from_slice(&interface.to_le_bytes());
    body.extend_from_slice(&((units >> 32) as u32).to_le_bytes());
    body.extend_from_slice(&(units as u32).to_le_bytes());
    body.extend_from_slice(&(frame.len() as u32).to_le_bytes());
    body.extend_from_slice(&(frame.len() as u32).to_le_bytes());
    body.extend_from_slice(frame);
    ng_block(6, &body)
}

/// Wrap an IP packet for a link type. `vlans` adds 802.1Q tags (two =
/// QinQ) to Ethernet frames.
pub fn frame(link: i32, ip: &[u8], vlans: &[u16]) -> Vec<u8> {
    let ether_type: u16 = if ip.first().is_some_and(|b| b >> 4 == 6) {
        0x86DD
    } else {
        0x0800
    };
    let mut out = Vec::with_capacity(ip.len() + 24);
    match link {
        linktype::ETHERNET => {
            out.extend_from_slice(&[2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1]);
            for (i, vid) in vlans.iter().enumerate() {
                let tpid: u16 = if i + 1 < vlans.len() { 0x88A8 } else { 0x8100 };
                out.extend_from_slice(&tpid.to_be_bytes());
                out.extend_from_slice(&(vid & 0x0FFF).to_be_bytes());
            }
            out.extend_from_slice(&ether_type.to_be_bytes());
        }
        // Cooked frames as `tcpdump -i any` writes them on loopback:
        // ARPHRD 772, which etherparse's own SLL parser refuses.
        linktype::LINUX_SLL => {
            out.extend_from_slice(&[0, 0, 0x03, 0x04, 0, 6, 0, 0, 0, 0, 0, 0, 0, 0]);
            out.extend_from_slice(&ether_type.to_be_bytes());
        }
        linktype::LINUX_SLL2 => {
            out.extend_from_slice(&ether_type.to_be_bytes());
            out.extend_from_slice(&[0, 0, 0, 0, 0, 1, 0x03, 0x04, 0, 6, 0, 0, 0, 0, 0, 0, 0, 0]);
        }
        linktype::NULL => {
            let af: u32 = if ether_type == 0x86DD { 30 } else { 2 };
            out.extend_from_slice(&af.to_le_bytes());
        }
        linktype::LOOP => {
            let af: u32 = if ether_type == 0x86DD { 30 } else { 2 };
            out.extend_from_slice(&af.to_be_bytes());
        }
        _ => {}
    }
    out.extend_from_slice(ip);
    out
}

/// A packet of a conversation: when, and the IP bytes.
#[derive(Debug, Clone)]
pub struct Packet {
    pub ts: Timestamp,
    pub ip: Vec<u8>,
}

/// A TCP connection that produces correctly numbered IP packets.
#[derive(Debug, Clone)]
pub struct Conversation {
    client: SocketAddr,
    server: SocketAddr,
    client_seq: u32,
    server_seq: u32,
    ts: Timestamp,
}

/// Which way a segment goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dir {
    ToServer,
    ToClient,
}

impl Conversation {
    /// `start` is the time of the SYN; each packet is 100 µs after the previous one.
    pub fn new(client: SocketAddr, server: SocketAddr, start: Timestamp) -> Self {
        Conversation {
            client,
            server,
            client_seq: 1_000_000 ^ u32::from(client.port()) << 8,
            server_seq: 3_000_000_000,
            ts: start,
        }
    }

    /// The client's initial sequence number (port reuse with a new one).
    pub fn with_client_isn(mut self, isn: u32) -> Self {
        self.client_seq = isn;
        self
    }

    fn tick(&mut self) -> Timestamp {
        let t = self.ts;
        self.ts.nanos += 100_000;
        if self.ts.nanos >= 1_000_000_000 {
            self.ts.nanos -= 1_000_000_000;
            self.ts.secs += 1;
        }
        t
    }

    fn packet(&mut self, dir: Dir, seq: u32, flags: &str, payload: &[u8]) -> Packet {
        let (src, dst, ack) = match dir {
            Dir::ToServer => (self.client, self.server, self.server_seq),
            Dir::ToClient => (self.server, self.client, self.client_seq),
        };
        let ip = tcp_packet(src, dst, seq, ack, flags, payload);
        Packet {
            ts: self.tick(),
            ip,
        }
    }

    /// SYN, SYN-ACK, ACK.
    pub fn handshake(&mut self) -> Vec<Packet> {
        let syn = self.packet(Dir::ToServer, self.client_seq, "S", b"");
        let synack = self.packet(Dir::ToClient, self.server_seq, "SA", b"");
        self.client_seq = self.client_seq.wrapping_add(1);
        self.server_seq = self.server_seq.wrapping_add(1);
        let ack = self.packet(Dir::ToServer, self.client_seq, "A", b"");
        vec![syn, synack, ack]
    }

    /// One data segment (PSH+ACK), advancing that side's sequence number.
    pub fn data(&mut self, dir: Dir, payload: &[u8]) -> Packet {
        let seq = self.next_seq(dir);
        let p = self.packet(dir, seq, "PA", payload);
        self.advance(dir, payload.len() as u32);
        p
    }

    /// A segment at an explicit offset from the start of that side's data,
    /// without advancing (for reordering and retransmission tests).
    pub fn data_at(&mut self, dir: Dir, base: u32, offset: u32, payload: &[u8]) -> Packet {
        self.packet(dir, base.wrapping_add(offset), "PA", payload)
    }

    /// The sequence number of the next byte this side will send.
    pub fn next_seq(&self, dir: Dir) -> u32 {
        match dir {
            Dir::ToServer => self.client_seq,
            Dir::ToClient => self.server_seq,
        }
    }

    /// Move a side's sequence number on by `n` bytes.
    pub fn advance(&mut self, dir: Dir, n: u32) {
        match dir {
            Dir::ToServer => self.client_seq = self.client_seq.wrapping_add(n),
            Dir::ToClient => self.server_seq = self.server_seq.wrapping_add(n),
        }
    }

    /// FIN+ACK from one side.
    pub fn fin(&mut self, dir: Dir) -> Packet {
        let seq = self.next_seq(dir);
        let p = self.packet(dir, seq, "FA", b"");
        self.advance(dir, 1);
        p
    }

    /// RST from one side.
    pub fn rst(&mut self, dir: Dir) -> Packet {
        let seq = self.next_seq(dir);
        self.packet(dir, seq, "R", b"")
    }

    /// A bare ACK from one side.
    pub fn ack(&mut self, dir: Dir) -> Packet {
        let seq = self.next_seq(dir);
        self.packet(dir, seq, "A", b"")
    }
}

/// An IPv4 or IPv6 TCP packet. `flags` holds S, A, F, R, P.
pub fn tcp_packet(
    src: SocketAddr,
    dst: SocketAddr,
    seq: u32,
    ack: u32,
    flags: &str,
    payload: &[u8],
) -> Vec<u8> {
    let mut tcp = TcpHeader::new(src.port(), dst.port(), seq, 65_535);
    tcp.syn = flags.contains('S');
    tcp.fin = flags.contains('F');
    tcp.rst = flags.contains('R');
    tcp.psh = flags.contains('P');
    if flags.contains('A') {
        tcp.ack = true;
        tcp.acknowledgment_number = ack;
    }
    let mut out = Vec::with_capacity(60 + payload.len());
    // Writing into a Vec cannot fail, and the header is valid by construction.
    let _ = ip_builder(src, dst)
        .tcp_header(tcp)
        .write(&mut out, payload);
    out
}

/// An IPv4 or IPv6 UDP datagram.
pub fn udp_packet(src: SocketAddr, dst: SocketAddr, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(48 + payload.len());
    let _ = ip_builder(src, dst)
        .udp(src.port(), dst.port())
        .write(&mut out, payload);
    out
}

fn ip_builder(src: SocketAddr, dst: SocketAddr) -> PacketBuilderStep<etherparse::IpHeaders> {
    match (src, dst) {
        (SocketAddr::V4(s), SocketAddr::V4(d)) => {
            PacketBuilder::ipv4(s.ip().octets(), d.ip().octets(), 64)
        }
        (s, d) => PacketBuilder::ipv6(v6(s), v6(d), 64),
    }
}

fn v6(a: SocketAddr) -> [u8; 16] {
    match a {
        SocketAddr::V6(a) => a.ip().octets(),
        SocketAddr::V4(a) => a.ip().to_ipv6_mapped().octets(),
    }
}
