//! Writes a large synthetic capture for bench/pcap.sh: HTTP-like flows over
//! Ethernet, a mix of PROXY v1, v2 (with TLVs) and plain, some answered 400,
//! 64 connections interleaved at any time.
//!
//! Usage: gen_pcap FLOWS [--short] > FILE.pcap
//!   default: about 14 packets and 6.7 KB per flow (4 answer segments, FINs)
//!   --short: 6 packets and about 1.5 KB per flow (one answer segment, then
//!            the client resets), the shape of issue 14's capture: 170,000
//!            flows make ~250 MB and ~1 M packets

use std::io::{self, BufWriter, Write};
use std::net::SocketAddr;
use std::process::ExitCode;

#[path = "../tests/synth/mod.rs"]
mod synth;

use ppctl::codec::encode::HeaderSpec;
use ppctl::codec::{tlv, Version};
use ppctl::pcap::linktype;
use ppctl::pcap::Timestamp;
use synth::{Conversation, Dir, Packet};

const CONCURRENT: usize = 64;
const SEGMENT: usize = 1400;

fn flow(i: u64, start: Timestamp, short: bool) -> Vec<Packet> {
    let client = SocketAddr::from((
        [10, (i >> 16) as u8, (i >> 8) as u8, i as u8],
        20_000 + (i % 40_000) as u16,
    ));
    let server = SocketAddr::from(([10, 255, 0, 1], if i % 7 == 0 { 8080 } else { 80 }));
    let claimed = SocketAddr::from(([198, 51, (i % 200) as u8, (i % 250) as u8 + 1], 40_000));
    let header = match i % 4 {
        0 => HeaderSpec::tcp(Version::V1, claimed, server).encode(),
        1 => HeaderSpec::tcp(Version::V2, claimed, server)
            .with_tlv(tlv::AUTHORITY, b"bench.example".to_vec())
            .with_tlv(tlv::UNIQUE_ID, i.to_be_bytes().to_vec())
            .encode(),
        2 => HeaderSpec::tcp(Version::V2, claimed, server).encode(),
        _ => Ok(Vec::new()),
    }
    .unwrap_or_default();
    let request = [
        &header[..],
        b"GET /index.html HTTP/1.1\r\nHost: bench.example\r\n\r\n",
    ]
    .concat();
    // A realistic answer: a status line and a few headers, then the body.
    let status = if i % 13 == 0 {
        "400 Bad Request"
    } else {
        "200 OK"
    };
    let head = format!(
        "HTTP/1.1 {status}\r\nServer: nginx\r\nDate: Tue, 14 Nov 2023 22:13:20 GMT\r\n\
         Content-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        answer_len(short)
    );
    let mut body = head.into_bytes();
    body.resize(answer_len(short), b'x');

    let mut c = Conversation::new(client, server, start);
    let mut p = c.handshake();
    p.push(c.data(Dir::ToServer, &request));
    if short {
        p.push(c.data(Dir::ToClient, &body));
        p.push(c.rst(Dir::ToServer));
        return p;
    }
    for chunk in body.chunks(SEGMENT) {
        p.push(c.data(Dir::ToClient, chunk));
        p.push(c.ack(Dir::ToServer));
    }
    p.push(c.fin(Dir::ToClient));
    p.push(c.fin(Dir::ToServer));
    p.push(c.ack(Dir::ToClient));
    p
}

/// The answer's length: four full segments, or one short one.
fn answer_len(short: bool) -> usize {
    if short {
        960
    } else {
        4 * SEGMENT
    }
}

fn main() -> ExitCode {
    let flows: u64 = match std::env::args().nth(1).and_then(|a| a.parse().ok()) {
        Some(n) => n,
        None => {
            eprintln!("usage: gen_pcap FLOWS [--short] > FILE.pcap");
            return ExitCode::from(2);
        }
    };
    let short = std::env::args().nth(2).is_some_and(|a| a == "--short");
    let mut out = BufWriter::with_capacity(1 << 20, io::stdout().lock());
    let mut write = |bytes: &[u8]| out.write_all(bytes);
    if write(&synth::pcap_header(linktype::ETHERNET, false, false)).is_err() {
        return ExitCode::from(2);
    }
    // Round-robin over CONCURRENT open flows, one packet each turn.
    let mut open: Vec<std::vec::IntoIter<Packet>> = Vec::new();
    let mut next = 0u64;
    let mut clock = Timestamp {
        secs: 1_700_000_000,
        nanos: 0,
    };
    let mut packets = 0u64;
    loop {
        while open.len() < CONCURRENT && next < flows {
            open.push(flow(next, clock, short).into_iter());
            next += 1;
        }
        if open.is_empty() {
            break;
        }
        let mut i = 0;
        while i < open.len() {
            match open[i].next() {
                Some(mut p) => {
                    clock.nanos += 10_000;
                    if clock.nanos >= 1_000_000_000 {
                        clock.nanos -= 1_000_000_000;
                        clock.secs += 1;
                    }
                    p.ts = clock;
                    let frame = synth::frame(linktype::ETHERNET, &p.ip, &[]);
                    if write(&synth::pcap_record(p.ts, &frame, false, false)).is_err() {
                        return ExitCode::from(2);
                    }
                    packets += 1;
                    i += 1;
                }
                None => {
                    open.swap_remove(i);
                }
            }
        }
    }
    if out.flush().is_err() {
        return ExitCode::from(2);
    }
    eprintln!("{flows} flows, {packets} packets");
    ExitCode::SUCCESS
}
