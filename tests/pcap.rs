//! `ppctl pcap` on synthesized captures: the cases that are hard to produce
//! live (reordering, VLANs, odd link types and file variants, corrupt
//! files). Captures are built with tests/synth.

mod common;
mod synth;

use std::collections::BTreeMap;
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::Path;

use assert_cmd::Command;
use common::peers::{self, Peer};
use ppctl::codec::encode::HeaderSpec;
use ppctl::codec::{tlv, Version};
use ppctl::pcap::linktype;
use ppctl::pcap::{Filter, Limits, Timestamp};
use serde_json::Value;
use synth::{Conversation, Dir, Packet};

const T0: Timestamp = Timestamp {
    secs: 1_700_000_000,
    nanos: 123_456_789,
};

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn at(secs: i64) -> Timestamp {
    Timestamp {
        secs: T0.secs + secs,
        nanos: T0.nanos,
    }
}

fn v1(src: &str, dst: &str) -> Vec<u8> {
    HeaderSpec::tcp(Version::V1, addr(src), addr(dst))
        .encode()
        .unwrap()
}

fn v2_with_tlvs(src: &str, dst: &str) -> Vec<u8> {
    HeaderSpec::tcp(Version::V2, addr(src), addr(dst))
        .with_tlv(tlv::AUTHORITY, b"example.com".to_vec())
        .with_tlv(tlv::UNIQUE_ID, vec![7; 20])
        .encode()
        .unwrap()
}

const GET: &[u8] = b"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n";
const OK: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
const BAD: &[u8] = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n";

/// A full HTTP exchange: handshake, request (after `header`), answer, close.
fn exchange(
    client: &str,
    server: &str,
    start: Timestamp,
    header: &[u8],
    answer: &[u8],
) -> Vec<Packet> {
    let mut c = Conversation::new(addr(client), addr(server), start);
    let mut p = c.handshake();
    p.push(c.data(Dir::ToServer, &[header, GET].concat()));
    if !answer.is_empty() {
        p.push(c.data(Dir::ToClient, answer));
    }
    p.push(c.fin(Dir::ToClient));
    p.push(c.fin(Dir::ToServer));
    p.push(c.ack(Dir::ToClient));
    p
}

/// The most common flow of these tests: a v1 header, a request, `answer`.
fn one_v1_exchange(answer: &[u8]) -> Vec<Packet> {
    exchange(
        "10.0.0.1:40001",
        "10.0.0.9:80",
        at(0),
        &v1("203.0.113.7:5555", "198.51.100.1:80"),
        answer,
    )
}

/// A pcapng capture with one interface of type `link`.
fn pcapng_file(link: i32, packets: &[Packet]) -> Vec<u8> {
    let mut out = synth::pcapng_section();
    out.extend(synth::pcapng_interface(link));
    for p in packets {
        out.extend(synth::pcapng_packet(
            0,
            p.ts,
            &synth::frame(link, &p.ip, &[]),
        ));
    }
    out
}

fn pcap_file(link: i32, packets: &[Packet]) -> Vec<u8> {
    pcap_variant(link, packets, false, false, &[])
}

fn pcap_variant(
    link: i32,
    packets: &[Packet],
    nanos: bool,
    big_endian: bool,
    vlans: &[u16],
) -> Vec<u8> {
    let mut out = synth::pcap_header(link, nanos, big_endian);
    for p in packets {
        out.extend(synth::pcap_record(
            p.ts,
            &synth::frame(link, &p.ip, vlans),
            nanos,
            big_endian,
        ));
    }
    out
}

struct Run {
    code: i32,
    flows: Vec<Value>,
    summary: Value,
    stderr: String,
}

/// Run `ppctl pcap - --json` on `capture` (stdin) with extra args.
fn run(capture: &[u8], args: &[&str]) -> Run {
    let out = Command::cargo_bin("ppctl")
        .unwrap()
        .args(["pcap", "-", "--json"])
        .args(args)
        .write_stdin(capture.to_vec())
        .output()
        .unwrap();
    json_run(out)
}

/// A `--json` run's exit code, flows, summary and stderr.
fn json_run(out: std::process::Output) -> Run {
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(!stderr.contains("panicked"), "panic: {stderr}");
    let mut lines: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l}: {e}")))
        .collect();
    let summary = lines.pop().expect("a summary line");
    assert_eq!(summary["type"], "summary");
    Run {
        code: out.status.code().unwrap_or(-1),
        flows: lines,
        summary,
        stderr,
    }
}

fn verdicts(r: &Run) -> Vec<String> {
    r.flows
        .iter()
        .map(|f| f["finding"]["name"].as_str().unwrap().to_string())
        .collect()
}

/// The seven verdicts, one flow each.
fn every_verdict() -> Vec<Packet> {
    let mut p = Vec::new();
    // proxied: v1 header, 200.
    p.extend(one_v1_exchange(OK));
    // unexpected-header: v1 header, nginx-style 400.
    p.extend(exchange(
        "10.0.0.1:40002",
        "10.0.0.9:80",
        at(1),
        &v1("203.0.113.8:5555", "198.51.100.1:80"),
        BAD,
    ));
    // missing-header: plain request, server closes without answering.
    p.extend(exchange("10.0.0.2:40003", "10.0.0.9:81", at(2), b"", b""));
    // invalid-header: a broken v1 line, server closes.
    p.extend(exchange(
        "10.0.0.1:40004",
        "10.0.0.9:81",
        at(3),
        b"PROXY TCP4 1.2.3.4 5.6.7.8 +80 81\r\n",
        b"",
    ));
    // health-check: v2 LOCAL, then close.
    let mut c = Conversation::new(addr("10.0.0.3:40005"), addr("10.0.0.9:81"), at(4));
    p.extend(c.handshake());
    p.push(c.data(Dir::ToServer, &HeaderSpec::local().encode().unwrap()));
    p.push(c.fin(Dir::ToServer));
    p.push(c.fin(Dir::ToClient));
    // plain: no header, 200.
    p.extend(exchange("10.0.0.4:40006", "10.0.0.9:8080", at(5), b"", OK));
    // incomplete: the SYN is not in the capture.
    let mut c = Conversation::new(addr("10.0.0.5:40007"), addr("10.0.0.9:80"), at(6));
    let _ = c.handshake();
    p.push(c.data(Dir::ToServer, GET));
    p.push(c.data(Dir::ToClient, OK));
    p
}

#[test]
fn every_verdict_over_ethernet() {
    let r = run(&pcap_file(linktype::ETHERNET, &every_verdict()), &[]);
    assert_eq!(
        verdicts(&r),
        [
            "proxied",
            "unexpected-header",
            "missing-header",
            "invalid-header",
            "health-check",
            "plain",
            "incomplete"
        ]
    );
    assert_eq!(r.code, 1, "problem verdicts exit with 1");
    let f = &r.flows[0];
    assert_eq!(f["client"]["address"], "10.0.0.1");
    assert_eq!(f["server"]["port"], 80);
    assert_eq!(f["header"]["version"], 1);
    assert_eq!(f["header"]["source"]["address"], "203.0.113.7");
    assert_eq!(f["response"]["answer"]["kind"], "http-response");
    assert_eq!(r.flows[0]["type"], "flow");
    assert_eq!(r.flows[0]["schema"], 3);
    assert_eq!(r.flows[0]["finding"]["severity"], "ok");
    assert_eq!(r.flows[0]["fixes"].as_array().map(Vec::len), Some(0));
    assert_eq!(r.flows[1]["finding"]["code"], "PP-UNEXPECTED-HEADER");
    assert_eq!(r.flows[1]["finding"]["severity"], "problem");
    assert_eq!(
        r.flows[1]["fixes"][0]["id"],
        "ingress-nginx-use-proxy-protocol"
    );
    for key in ["id", "title", "side", "applies_to", "change", "doc"] {
        assert!(r.flows[1]["fixes"][0][key].is_string(), "fix.{key}");
    }
    assert_eq!(r.flows[2]["finding"]["code"], "PP-MISSING-HEADER");
    assert_eq!(r.flows[2]["response"]["close"], "server-fin");
    assert_eq!(r.flows[3]["header"]["error"]["offset"], 27);
    assert!(r.flows[6]["header"].is_null());
    assert_eq!(r.summary["flows"], 7);
    assert_eq!(r.summary["problems"], 3);
    assert_eq!(r.summary["schema"], 3);
    assert_eq!(r.summary["findings"]["proxied"], 1);
    assert_eq!(r.summary["findings"]["header-rejected"], 0);
    assert_eq!(r.summary["claimed_sources"][0]["flows"], 1);
    assert_eq!(r.summary["undecodable_frames"], 0);
}

/// A capture on the client's side of a hop that adds a header (nginx
/// stream `proxy_protocol on`) before a backend that does not read it: the
/// request went out without a header, and the backend's stock 400 page came
/// back in two segments, then a reset. `pcap` names it as `send` does; an
/// application's 400 is still `http-error`.
#[test]
fn a_stock_400_and_a_close_to_a_request_without_a_header_is_a_hop_that_adds_one() {
    const HEAD: &[u8] = b"HTTP/1.1 400 Bad Request\r\nServer: nginx/1.22.1\r\nContent-Type: text/html\r\nContent-Length: 157\r\nConnection: close\r\n\r\n";
    const PAGE: &[u8] = b"<html>\r\n<head><title>400 Bad Request</title></head>\r\n<body>\r\n<center><h1>400 Bad Request</h1></center>\r\n<hr><center>nginx/1.22.1</center>\r\n</body>\r\n</html>\r\n";
    const APP: &[u8] = b"HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n{\"error\":\"bad id\"}";
    let mut p = Vec::new();
    let mut c = Conversation::new(addr("10.0.0.1:40001"), addr("10.0.0.9:80"), at(0));
    p.extend(c.handshake());
    p.push(c.data(Dir::ToServer, GET));
    p.push(c.data(Dir::ToClient, HEAD));
    p.push(c.data(Dir::ToClient, PAGE));
    p.push(c.rst(Dir::ToClient));
    p.extend(exchange("10.0.0.1:40002", "10.0.0.9:80", at(1), b"", APP));
    let r = run(&pcap_file(linktype::ETHERNET, &p), &[]);
    assert_eq!(verdicts(&r), ["hop-adds-header", "http-error"]);
    assert_eq!(r.flows[0]["finding"]["code"], "PP-HOP-ADDS-HEADER");
    assert_eq!(r.flows[0]["fixes"][0]["id"], "confirm-hop-adds-header");
    assert_eq!(r.code, 1);
}

#[test]
fn only_proxied_flows_exit_zero() {
    let mut p = one_v1_exchange(OK);
    p.extend(exchange("10.0.0.4:40006", "10.0.0.9:8080", at(1), b"", OK));
    let r = run(&pcap_file(linktype::ETHERNET, &p), &[]);
    assert_eq!(verdicts(&r), ["proxied", "plain"]);
    assert_eq!(r.code, 0);
}

/// A v2 header with TLVs, split over three segments, delivered out of
/// order with a retransmission and an overlap.
fn scrambled_v2() -> Vec<Packet> {
    let header = v2_with_tlvs("[2001:db8::7]:5555", "[2001:db8::1]:443");
    let mut c = Conversation::new(addr("10.0.0.1:40010"), addr("10.0.0.9:80"), at(0));
    let mut p = c.handshake();
    let base = c.next_seq(Dir::ToServer);
    let data = [header.as_slice(), GET].concat();
    let (a, b) = (10u32, 30u32);
    let third = c.data_at(Dir::ToServer, base, b, &data[b as usize..]);
    let first = c.data_at(Dir::ToServer, base, 0, &data[..a as usize]);
    let second_overlapping = c.data_at(
        Dir::ToServer,
        base,
        a - 4,
        &data[a as usize - 4..b as usize],
    );
    let first_again = c.data_at(Dir::ToServer, base, 0, &data[..a as usize]);
    p.extend([third, first_again.clone(), second_overlapping, first]);
    c.advance(Dir::ToServer, data.len() as u32);
    p.push(c.data(Dir::ToClient, OK));
    p
}

#[test]
fn reassembles_reordered_retransmitted_and_split_headers() {
    let r = run(&pcap_file(linktype::ETHERNET, &scrambled_v2()), &[]);
    assert_eq!(verdicts(&r), ["proxied"]);
    let h = &r.flows[0]["header"];
    assert_eq!(h["version"], 2);
    assert_eq!(h["source"]["address"], "2001:db8::7");
    assert_eq!(h["tlvs"][0]["name"], "AUTHORITY");
    assert_eq!(h["tlvs"][0]["decoded"], "example.com");
    assert_eq!(h["payload"]["kind"], "http-request");
}

#[test]
fn header_split_over_three_segments_in_order() {
    let header = v1("192.0.2.1:1111", "192.0.2.2:80");
    let mut c = Conversation::new(addr("10.0.0.1:40011"), addr("10.0.0.9:80"), at(0));
    let mut p = c.handshake();
    p.push(c.data(Dir::ToServer, &header[..6]));
    p.push(c.data(Dir::ToServer, &header[6..20]));
    p.push(c.data(Dir::ToServer, &[&header[20..], GET].concat()));
    p.push(c.data(Dir::ToClient, OK));
    let r = run(&pcap_file(linktype::ETHERNET, &p), &[]);
    assert_eq!(verdicts(&r), ["proxied"]);
    assert_eq!(r.flows[0]["header"]["source"]["address"], "192.0.2.1");
}

#[test]
fn vlan_and_qinq_tags() {
    for vlans in [&[100u16][..], &[100, 200]] {
        let p = one_v1_exchange(BAD);
        let r = run(
            &pcap_variant(linktype::ETHERNET, &p, false, false, vlans),
            &[],
        );
        assert_eq!(verdicts(&r), ["unexpected-header"], "vlans {vlans:?}");
    }
}

#[test]
fn every_link_type() {
    for link in [
        linktype::RAW,
        linktype::IPV4,
        linktype::LINUX_SLL,
        linktype::LINUX_SLL2,
        linktype::NULL,
        linktype::LOOP,
    ] {
        let p = one_v1_exchange(OK);
        let r = run(&pcap_file(link, &p), &[]);
        assert_eq!(verdicts(&r), ["proxied"], "link type {link}");
        assert_eq!(r.summary["undecodable_frames"], 0, "link type {link}");
    }
    let p = exchange(
        "[fd00::1]:40001",
        "[fd00::9]:443",
        at(0),
        &v2_with_tlvs("[2001:db8::7]:5555", "[2001:db8::1]:443"),
        OK,
    );
    for link in [
        linktype::IPV6,
        linktype::LINUX_SLL2,
        linktype::NULL,
        linktype::ETHERNET,
    ] {
        let r = run(&pcap_file(link, &p), &[]);
        assert_eq!(verdicts(&r), ["proxied"], "IPv6 on link type {link}");
        assert_eq!(r.flows[0]["client"]["address"], "fd00::1");
    }
}

#[test]
fn nanosecond_and_big_endian_pcap() {
    let p = one_v1_exchange(OK);
    for (nanos, be) in [(true, false), (false, true), (true, true)] {
        let r = run(&pcap_variant(linktype::ETHERNET, &p, nanos, be, &[]), &[]);
        assert_eq!(verdicts(&r), ["proxied"], "nanos {nanos} big-endian {be}");
        // RFC 3339, to the microsecond (a nanosecond capture's 123456789
        // is cut, not rounded).
        assert_eq!(r.flows[0]["time"], "2023-11-14T22:13:20.123456Z");
    }
}

#[test]
fn pcapng_with_two_interfaces_of_different_link_types() {
    let eth = one_v1_exchange(OK);
    let raw = exchange(
        "10.0.0.2:40002",
        "10.0.0.9:80",
        at(1),
        &v2_with_tlvs("203.0.113.9:5555", "198.51.100.1:80"),
        BAD,
    );
    let mut f = synth::pcapng_section();
    f.extend(synth::pcapng_interface(linktype::ETHERNET));
    f.extend(synth::pcapng_interface(linktype::RAW));
    for (a, b) in eth.iter().zip(raw.iter()) {
        f.extend(synth::pcapng_packet(
            0,
            a.ts,
            &synth::frame(linktype::ETHERNET, &a.ip, &[]),
        ));
        f.extend(synth::pcapng_packet(1, b.ts, &b.ip));
    }
    // A packet on an interface that was never described: counted, not fatal.
    f.extend(synth::pcapng_packet(7, at(9), &raw[0].ip));
    let r = run(&f, &[]);
    assert_eq!(verdicts(&r), ["proxied", "unexpected-header"]);
    assert_eq!(r.flows[1]["header"]["version"], 2);
    assert_eq!(r.summary["undecodable_frames"], 1);
    assert_eq!(r.flows[0]["time"], "2023-11-14T22:13:20.123456Z");
}

#[test]
fn udp_datagrams_with_a_v2_dgram_header() {
    let header = HeaderSpec {
        transport: ppctl::codec::Transport::Dgram,
        ..HeaderSpec::tcp(
            Version::V2,
            addr("203.0.113.7:5353"),
            addr("198.51.100.1:53"),
        )
    }
    .encode()
    .unwrap();
    let p = vec![
        Packet {
            ts: at(0),
            ip: synth::udp_packet(
                addr("10.0.0.1:5000"),
                addr("10.0.0.9:53"),
                &[&header[..], b"query"].concat(),
            ),
        },
        Packet {
            ts: at(1),
            ip: synth::udp_packet(addr("10.0.0.9:53"), addr("10.0.0.1:5000"), b"answer"),
        },
        Packet {
            ts: at(2),
            ip: synth::udp_packet(addr("10.0.0.2:5000"), addr("10.0.0.9:53"), b"no header"),
        },
    ];
    let capture = pcap_file(linktype::ETHERNET, &p);
    let r = run(&capture, &[]);
    assert_eq!(verdicts(&r), ["proxied", "plain"]);
    assert_eq!(r.flows[0]["stream"], 0);
    assert_eq!(r.flows[1]["stream"], 1);
    let dir = tempfile::tempdir().unwrap();
    check_streams_against_tshark(&file(&dir, "udp.pcap", &capture));
    assert_eq!(r.flows[0]["transport"], "udp");
    assert_eq!(r.flows[0]["header"]["protocol"], "UDP4");
}

#[test]
fn truncated_final_record_prints_what_was_decoded_then_fails() {
    let mut f = pcap_file(linktype::ETHERNET, &every_verdict());
    let cut = f.len() - 7;
    // A cut record is truncated, not corrupt.
    f.truncate(cut);
    let r = run(&f, &[]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("truncated capture at byte offset"),
        "{}",
        r.stderr
    );
    assert!(
        r.flows.len() >= 6,
        "flows decoded before the cut are printed"
    );
    assert!(r.summary["error"].as_str().unwrap().contains("offset"));
}

#[test]
fn garbage_and_huge_record_lengths() {
    let good = pcap_file(linktype::ETHERNET, &every_verdict());
    let first_record = 24;
    // A huge caplen in the first record.
    let mut huge = good.clone();
    huge[first_record + 8..first_record + 12].copy_from_slice(&0xFFFF_FFF0u32.to_le_bytes());
    let r = run(&huge, &[]);
    assert_eq!(r.code, 2);
    // A length over the limit is a corrupt field, not a file cut short.
    assert!(
        r.stderr.contains("corrupt capture at byte offset 24"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("more than the 16 MiB limit"),
        "{}",
        r.stderr
    );
    // Garbage lengths in the middle of the file.
    let mut garbage = good.clone();
    let mid = good.len() / 2;
    for b in &mut garbage[mid..mid + 64] {
        *b = 0xA5;
    }
    let r = run(&garbage, &[]);
    assert!(r.code == 1 || r.code == 2, "exit {}", r.code);
}

#[test]
fn zero_length_and_undecodable_records_are_counted() {
    let mut f = synth::pcap_header(linktype::ETHERNET, false, false);
    f.extend(synth::pcap_record(at(0), b"", false, false));
    f.extend(synth::pcap_record(at(0), &[0xEE; 30], false, false));
    for p in one_v1_exchange(OK) {
        f.extend(synth::pcap_record(
            p.ts,
            &synth::frame(linktype::ETHERNET, &p.ip, &[]),
            false,
            false,
        ));
    }
    let r = run(&f, &[]);
    assert_eq!(verdicts(&r), ["proxied"]);
    assert_eq!(r.summary["undecodable_frames"], 1, "the empty record");
    assert_eq!(r.summary["ignored_frames"], 1, "an unknown EtherType");
    assert_eq!(r.code, 0);
}

/// Run `ppctl pcap FILE --json` (the file path, read in chunks).
fn run_json_file(path: &Path) -> Run {
    let out = Command::cargo_bin("ppctl")
        .unwrap()
        .args(["pcap", "--json"])
        .arg(path)
        .output()
        .unwrap();
    json_run(out)
}

/// Runs of empty records (a sparse file's hole, zeros streamed through
/// gzip, pcapng packet blocks that captured nothing) are read in bulk and
/// every record is still counted: frames, bytes and undecodable frames
/// are those of the records one by one, and the flows around the runs are
/// judged as usual.
#[test]
fn runs_of_empty_records_are_counted_in_bulk() {
    use std::io::{Seek, SeekFrom};
    let frames_of = |packets: &[Packet]| -> Vec<Vec<u8>> {
        packets
            .iter()
            .map(|p| synth::frame(linktype::ETHERNET, &p.ip, &[]))
            .collect()
    };
    let first = one_v1_exchange(OK);
    let mut second = one_v1_exchange(OK);
    for p in &mut second {
        p.ts = Timestamp {
            secs: p.ts.secs + 60,
            ..p.ts
        };
    }
    let packets = (first.len() + second.len()) as u64;
    let records = |packets: &[Packet]| -> Vec<u8> {
        let mut out = Vec::new();
        for (p, f) in packets.iter().zip(frames_of(packets)) {
            out.extend(synth::pcap_record(p.ts, &f, false, false));
        }
        out
    };
    let check = |r: &Run, empty: u64, bytes: u64, what: &str| {
        assert_eq!(verdicts(r), ["proxied", "proxied"], "{what}: {}", r.stderr);
        assert_eq!(r.summary["frames"], packets + empty, "{what}");
        assert_eq!(r.summary["undecodable_frames"], empty, "{what}");
        assert_eq!(r.summary["undecodable"][0]["frames"], empty, "{what}");
        assert_eq!(r.summary["bytes"], bytes, "{what}");
        assert_eq!(r.code, 0, "{what}: {}", r.stderr);
    };

    // A legacy file with a hole of 9 MiB and 48 bytes (past the reader's
    // chunks) between two exchanges, and one empty record alone.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sparse.pcap");
    let hole: u64 = (9 << 20) + 48;
    let mut head = synth::pcap_header(linktype::ETHERNET, false, false);
    head.extend(records(&first));
    head.extend([0u8; 16]);
    let tail = records(&second);
    {
        let mut f = std::fs::File::create(&path).unwrap();
        f.write_all(&head).unwrap();
        f.seek(SeekFrom::Current(hole as i64)).unwrap();
        f.write_all(&tail).unwrap();
    }
    let size = std::fs::metadata(&path).unwrap().len();
    let empty = hole / 16 + 1;
    check(&run_json_file(&path), empty, size, "sparse file");

    // The same capture on stdin, and gzip-compressed.
    let bytes = std::fs::read(&path).unwrap();
    check(&run(&bytes, &[]), empty, size, "stdin");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&bytes).unwrap();
    check(&run(&gz.finish().unwrap(), &[]), empty, size, "gzip");

    // pcapng: packet blocks without data between the two exchanges.
    let mut ng = synth::pcapng_section();
    ng.extend(synth::pcapng_interface(linktype::ETHERNET));
    for (p, f) in first.iter().zip(frames_of(&first)) {
        ng.extend(synth::pcapng_packet(0, p.ts, &f));
    }
    let blocks = 100_000u64;
    for i in 0..blocks {
        ng.extend(synth::pcapng_packet(0, at(i as i64 % 30), &[]));
    }
    for (p, f) in second.iter().zip(frames_of(&second)) {
        ng.extend(synth::pcapng_packet(0, p.ts, &f));
    }
    let path = dir.path().join("empty-blocks.pcapng");
    std::fs::write(&path, &ng).unwrap();
    check(&run_json_file(&path), blocks, ng.len() as u64, "pcapng");
}

#[test]
fn not_a_capture_and_empty_input() {
    let out = Command::cargo_bin("ppctl")
        .unwrap()
        .args(["pcap", "-"])
        .write_stdin("hello")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a pcap or pcapng file"));
    let out = Command::cargo_bin("ppctl")
        .unwrap()
        .args(["pcap", "/nonexistent/x.pcap"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("opening /nonexistent/x.pcap"));
    // A directory is a usage error before any output, not an empty report.
    let dir = tempfile::tempdir().unwrap();
    let out = Command::cargo_bin("ppctl")
        .unwrap()
        .arg("pcap")
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("is a directory: give a capture file"));
}

#[test]
fn mutated_captures_never_panic() {
    let good = pcap_file(
        linktype::ETHERNET,
        &[every_verdict(), scrambled_v2()].concat(),
    );
    let ng = pcapng_file(linktype::LINUX_SLL2, &every_verdict());
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut rand = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for base in [&good, &ng] {
        for _ in 0..400 {
            let mut f = base.to_vec();
            for _ in 0..(rand() % 8 + 1) {
                let i = (rand() as usize) % f.len();
                f[i] = rand() as u8;
            }
            if rand() % 4 == 0 {
                let n = (rand() as usize) % f.len();
                f.truncate(n);
            }
            let (_, _) = ppctl::pcap::analyze(
                &f[..],
                Limits::default(),
                &Filter::default(),
                true,
                |_| ppctl::pcap::Next::Continue,
                |_, _| ppctl::pcap::Next::Continue,
            );
        }
    }
}

#[test]
fn filters_limit_and_summary() {
    let capture = pcap_file(linktype::ETHERNET, &every_verdict());
    let r = run(&capture, &["--finding", "unexpected-header,missing-header"]);
    assert_eq!(verdicts(&r), ["unexpected-header", "missing-header"]);
    let r = run(&capture, &["--server", ":81"]);
    assert_eq!(
        verdicts(&r),
        ["missing-header", "invalid-header", "health-check"]
    );
    let r = run(&capture, &["--client", "10.0.0.1/32", "--limit", "2"]);
    assert_eq!(verdicts(&r), ["proxied", "unexpected-header"]);
    let r = run(&capture, &["--finding", "plain"]);
    assert_eq!(r.code, 0, "the exit code follows the selected flows");
    // The old name still works.
    let r = run(&capture, &["--verdict", "plain"]);
    assert_eq!(verdicts(&r), ["plain"]);
    let r = run(&capture, &["--summary"]);
    assert!(r.flows.is_empty());
    assert_eq!(r.summary["flows"], 7);
    let out = Command::cargo_bin("ppctl")
        .unwrap()
        .args(["pcap", "-", "--server", "nonsense"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn table_view_with_footnotes_and_explanations() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("all.pcap");
    std::fs::write(&path, pcap_file(linktype::ETHERNET, &every_verdict())).unwrap();
    let out = Command::cargo_bin("ppctl")
        .unwrap()
        .args(["pcap", "--explain"])
        .arg(&path)
        .env("COLUMNS", "250")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("10.0.0.1:40002 -> 10.0.0.9:80"), "{text}");
    // The finding cell, then the explanation under the table.
    assert!(text.contains("| unexpected-header"), "{text}");
    assert!(
        text.contains("✗ unexpected-header (PP-UNEXPECTED-HEADER)"),
        "{text}"
    );
    assert!(
        text.contains("✗ missing-header (PP-MISSING-HEADER)"),
        "{text}"
    );
    assert!(text.contains("Fixes (docs/verdicts.md):"), "{text}");
    assert!(text.contains("[haproxy-accept-proxy]"), "{text}");
    assert!(text.contains("HTTP 400 Bad Request"), "{text}");
    assert!(!text.contains("field-guide"), "{text}");
    assert!(text.contains("| v1 "), "{text}");
    assert!(text.contains("invalid: v1-port-sign @27"), "{text}");
}

#[test]
fn the_table_fits_80_columns_and_uses_more() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("all.pcap");
    std::fs::write(&path, pcap_file(linktype::ETHERNET, &every_verdict())).unwrap();
    let table = |columns: &str, explain: bool| {
        let mut cmd = Command::cargo_bin("ppctl").unwrap();
        cmd.arg("pcap").arg(&path).env("COLUMNS", columns);
        if explain {
            cmd.arg("--explain");
        }
        let out = cmd.output().unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        let rows: Vec<String> = text
            .lines()
            .take_while(|l| !l.is_empty())
            .map(str::to_string)
            .collect();
        (text, rows)
    };
    for explain in [false, true] {
        let (text, rows) = table("80", explain);
        assert!(rows.len() > 7, "{text}");
        for row in &rows {
            assert_eq!(row.chars().count(), 80, "{row:?} in\n{text}");
        }
        // The finding and the flow always stay.
        assert!(rows[1].contains("finding") && rows[1].contains("client -> server"));
        assert!(text.contains("(PP-UNEXPECTED-HEADER)"), "{text}");
    }
    let (text, rows) = table("200", false);
    assert!(
        rows[1].contains("time") && rows[1].contains("claims"),
        "{text}"
    );
    assert!(rows.iter().all(|r| r.chars().count() <= 200), "{text}");
    assert!(text.contains("7 flows, 3 with a problem"), "{text}");
    assert!(text.contains("claimed sources: 203.0.113.7 (1)"), "{text}");
}

#[test]
fn flow_cap_and_idle_eviction_still_report_every_flow() {
    // Ten connections whose halves interleave, far more than the cap.
    let mut convs: Vec<Conversation> = (0..10)
        .map(|i| {
            Conversation::new(
                addr(&format!("10.0.1.{i}:4000")),
                addr("10.0.0.9:80"),
                at(i),
            )
        })
        .collect();
    let mut p = Vec::new();
    for c in &mut convs {
        p.extend(c.handshake());
    }
    for c in &mut convs {
        p.push(c.data(
            Dir::ToServer,
            &[v1("203.0.113.7:5555", "198.51.100.1:80").as_slice(), GET].concat(),
        ));
    }
    for c in &mut convs {
        p.push(c.data(Dir::ToClient, OK));
    }
    p.sort_by_key(|p| p.ts);
    let r = run(&pcap_file(linktype::ETHERNET, &p), &["--max-flows", "3"]);
    assert_eq!(r.flows.len(), 10);
    // Idle eviction: a flow silent for longer than the timeout is decided early.
    let mut q = exchange(
        "10.0.0.1:40001",
        "10.0.0.9:80",
        at(0),
        &v1("203.0.113.7:5555", "198.51.100.1:80"),
        b"",
    );
    q.truncate(4); // handshake + request, no answer, no close
    q.extend(exchange("10.0.0.2:40002", "10.0.0.9:80", at(100), b"", OK));
    let r = run(
        &pcap_file(linktype::ETHERNET, &q),
        &["--idle-timeout", "10"],
    );
    assert_eq!(verdicts(&r), ["incomplete", "plain"]);
    // Durations take units (`30s` used to fail with "invalid digit").
    let r = run(
        &pcap_file(linktype::ETHERNET, &q),
        &["--idle-timeout", "10s"],
    );
    assert_eq!(verdicts(&r), ["incomplete", "plain"]);
    let r = run(
        &pcap_file(linktype::ETHERNET, &q),
        &["--idle-timeout", "2m"],
    );
    // Decided later (still open at 100 s), but reported first: rows
    // follow each flow's first packet.
    assert_eq!(
        verdicts(&r),
        ["incomplete", "plain"],
        "2m: still open at 100s, reported in capture order"
    );
}

/// The captures committed in tests/data/pcap/ (for trying `ppctl pcap` by
/// hand); `PPCTL_WRITE_SAMPLES=1 cargo test --test pcap` rewrites them.
fn samples() -> Vec<(&'static str, Vec<u8>, usize)> {
    let ng = pcapng_file(linktype::ETHERNET, &scrambled_v2());
    let qinq = one_v1_exchange(BAD);
    vec![
        // `tcpdump -i any` on loopback: cooked v1 and v2, ARPHRD 772.
        (
            "sll-loopback.pcap",
            pcap_file(linktype::LINUX_SLL, &every_verdict()),
            7,
        ),
        (
            "sll2-loopback.pcapng",
            pcapng_file(linktype::LINUX_SLL2, &every_verdict()),
            7,
        ),
        // The seed failure through a proxy: a chain of two flows.
        (
            "proxy-chain.pcap",
            pcap_file(linktype::ETHERNET, &chain(true, BAD)),
            2,
        ),
        (
            "every-verdict.pcap",
            pcap_file(linktype::ETHERNET, &every_verdict()),
            7,
        ),
        ("scrambled-v2.pcapng", ng, 1),
        (
            "qinq-nanos-be.pcap",
            pcap_variant(linktype::ETHERNET, &qinq, true, true, &[10, 20]),
            1,
        ),
    ]
}

#[test]
fn committed_samples_decode() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/pcap");
    for (name, bytes, flows) in samples() {
        let path = dir.join(name);
        if std::env::var_os("PPCTL_WRITE_SAMPLES").is_some() {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(&path, &bytes).unwrap();
        }
        let committed = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(
            committed, bytes,
            "{name} is stale: rerun with PPCTL_WRITE_SAMPLES=1"
        );
        let r = run(&committed, &[]);
        assert_eq!(r.flows.len(), flows, "{name}");
    }
}

/// The findings the judge gives that the old pcap verdicts had no name
/// for: stacked headers, a silent close after a header, a failed health
/// check, a refused connection, an HTTP error; and who closed first.
#[test]
fn judge_findings_in_a_capture() {
    let hdr = v1("203.0.113.7:5555", "198.51.100.1:80");
    let local = HeaderSpec::local().encode().unwrap();
    let mut p = Vec::new();
    // Two v1 headers back to back, nginx's 400.
    p.extend(exchange(
        "10.0.0.1:41001",
        "10.0.0.9:80",
        at(0),
        &[hdr.as_slice(), &hdr].concat(),
        BAD,
    ));
    // A header and a request, and the server closes without a word.
    p.extend(exchange("10.0.0.1:41002", "10.0.0.9:80", at(1), &hdr, b""));
    // A LOCAL health check answered with an error.
    p.extend(exchange(
        "10.0.0.1:41003",
        "10.0.0.9:80",
        at(2),
        &local,
        BAD,
    ));
    // A SYN answered with a reset: nothing listens.
    let mut c = Conversation::new(addr("10.0.0.1:41004"), addr("10.0.0.9:82"), at(3));
    p.push(c.handshake().remove(0));
    p.push(c.rst(Dir::ToClient));
    // No header, and the application's 503.
    let unavailable = b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n";
    p.extend(exchange(
        "10.0.0.1:41005",
        "10.0.0.9:80",
        at(4),
        b"",
        unavailable,
    ));
    // A header and a request, the client half-closes, the server closes
    // without answering: the server's close counts.
    let mut c = Conversation::new(addr("10.0.0.1:41006"), addr("10.0.0.9:80"), at(5));
    p.extend(c.handshake());
    p.push(c.data(Dir::ToServer, &[hdr.as_slice(), GET].concat()));
    p.push(c.fin(Dir::ToServer));
    p.push(c.fin(Dir::ToClient));
    // A bare header, then the client closes: a TCP health check.
    let mut c = Conversation::new(addr("10.0.0.1:41007"), addr("10.0.0.9:80"), at(6));
    p.extend(c.handshake());
    p.push(c.data(Dir::ToServer, &hdr));
    p.push(c.fin(Dir::ToServer));
    p.push(c.fin(Dir::ToClient));
    let capture = pcap_file(linktype::ETHERNET, &p);
    let r = run(&capture, &[]);
    assert_eq!(
        verdicts(&r),
        [
            "stacked-header",
            "header-rejected",
            "failed-health-check",
            "no-receiver",
            "http-error",
            "header-rejected",
            "health-check"
        ]
    );
    assert_eq!(r.flows[0]["finding"]["code"], "PP-STACKED-HEADER");
    assert_eq!(r.flows[0]["fixes"][0]["id"], "single-header-hop");
    assert_eq!(r.flows[1]["finding"]["code"], "PP-HEADER-REJECTED");
    assert_eq!(r.flows[2]["finding"]["severity"], "problem");
    assert_eq!(r.code, 1);
    assert_eq!(r.summary["findings"]["header-rejected"], 2);
    // Stacked headers show as such in the table.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("judged.pcap");
    std::fs::write(&path, &capture).unwrap();
    let out = Command::cargo_bin("ppctl")
        .unwrap()
        .args(["pcap", "--explain"])
        .arg(&path)
        .env("COLUMNS", "250")
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("| v1+v1 "), "{text}");
    assert!(text.contains("two headers (v1+v1)"), "{text}");
    assert!(
        text.contains("✗ failed-health-check (PP-FAILED-HEALTH-CHECK)"),
        "{text}"
    );
}

#[test]
fn verdict_values_are_finding_names() {
    let out = Command::cargo_bin("ppctl")
        .unwrap()
        .args(["pcap", "-", "--finding", "not-expecting-proxy"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("unexpected-header"), "{err}");
    for (value, message) in [("0", "more than 0"), ("30x", "not a duration")] {
        let out = Command::cargo_bin("ppctl")
            .unwrap()
            .args(["pcap", "-", "--idle-timeout", value])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "--idle-timeout {value}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(message), "{err}");
    }
    let out = Command::cargo_bin("ppctl")
        .unwrap()
        .args(["pcap", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("header-rejected"), "{help}");
    assert!(help.contains("[default: 5m]"), "{help}");
    // --finding offers what a capture can show (docs/verdicts.md's
    // "reported by"), not the findings that need a live peer.
    assert!(help.contains("no-receiver"), "{help}");
    assert!(!help.contains("local-limit"), "{help}");
    let out = Command::cargo_bin("ppctl")
        .unwrap()
        .args(["pcap", "-", "--finding", "local-limit"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("invalid value 'local-limit'"), "{err}");
    let tail = help.trim_end();
    let examples = tail.find("Examples:").expect("examples");
    let codes = tail.find("Exit codes").expect("exit codes");
    assert!(
        examples < codes && tail.ends_with("could decode are 2."),
        "{help}"
    );
}

/// The human output on a fixed capture, at 80 and 120 columns, colour off
/// and on; with colour on, every table line has the same display width
/// once the escape codes are stripped.
#[test]
fn human_output_snapshots() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("every-verdict.pcap");
    std::fs::write(&path, pcap_file(linktype::ETHERNET, &every_verdict())).unwrap();
    for columns in ["80", "120"] {
        for color in ["never", "always"] {
            let out = Command::cargo_bin("ppctl")
                .unwrap()
                .args(["--color", color, "pcap"])
                .arg(&path)
                .env("COLUMNS", columns)
                .env_remove("NO_COLOR")
                .output()
                .unwrap();
            let text = String::from_utf8(out.stdout).unwrap();
            insta::assert_snapshot!(format!("pcap_{columns}_{color}"), text);
            let plain = strip_escapes(&text);
            let widths: Vec<usize> = plain
                .lines()
                .take_while(|l| !l.is_empty())
                .map(|l| l.chars().count())
                .collect();
            assert!(widths.len() > 7, "{plain}");
            assert!(
                widths.iter().all(|w| *w == widths[0]),
                "{columns} columns, color {color}: {widths:?}\n{plain}"
            );
            assert!(widths[0] <= columns.parse::<usize>().unwrap());
        }
    }
}

fn strip_escapes(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            for d in chars.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// A capture's bytes in a temporary file named `name`.
fn file(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn run_file(path: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::cargo_bin("ppctl")
        .unwrap()
        .arg("pcap")
        .arg(path)
        .args(args)
        .env("COLUMNS", "200")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// Cooked captures as `tcpdump -i any` writes them on loopback (ARPHRD
/// 772, refused by etherparse's own SLL parser) decode like Ethernet.
#[test]
fn cooked_loopback_captures_decode() {
    for link in [linktype::LINUX_SLL, linktype::LINUX_SLL2] {
        let f = pcap_file(link, &every_verdict());
        let first = &f[24 + 16..];
        let arphrd = if link == linktype::LINUX_SLL {
            &first[2..4]
        } else {
            &first[8..10]
        };
        assert_eq!(arphrd, [3, 4], "ARPHRD 772 in link type {link}");
        let r = run(&f, &[]);
        assert_eq!(r.flows.len(), 7, "link type {link}");
        assert_eq!(r.summary["undecodable_frames"], 0, "link type {link}");
    }
}

#[test]
fn files_cut_inside_their_first_header_are_truncated() {
    let pcap = pcap_file(linktype::ETHERNET, &one_v1_exchange(OK));
    for n in 4..24 {
        let r = run(&pcap[..n], &[]);
        assert_eq!(r.code, 2, "pcap cut at {n}");
        assert!(
            r.stderr
                .contains(&format!("truncated capture at byte offset {n}")),
            "pcap cut at {n}: {}",
            r.stderr
        );
    }
    let ng = pcapng_file(linktype::ETHERNET, &one_v1_exchange(OK));
    // Its first header: the section header and the interface description
    // (tcpdump's, with options, take 104 bytes; these 60).
    let first_header =
        synth::pcapng_section().len() + synth::pcapng_interface(linktype::ETHERNET).len();
    let section = synth::pcapng_section().len();
    for n in (8..first_header).filter(|&n| n != section) {
        let r = run(&ng[..n], &[]);
        assert_eq!(r.code, 2, "pcapng cut at {n}");
        assert!(
            r.stderr.contains("truncated capture at byte offset"),
            "pcapng cut at {n}: {}",
            r.stderr
        );
    }
    // Cut right after the section header: nothing is cut, there is nothing
    // in it (not "copied while tcpdump was still writing").
    let r = run(&ng[..section], &[]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains(&format!(
            "the pcapng capture holds only its section header: it ends at byte offset {section} \
             without an interface description or a packet"
        )),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("truncated"), "{}", r.stderr);
}

/// A packet record whose captured length contradicts the record around it
/// is corrupt at its byte offset, not a file cut while tcpdump was writing:
/// a pcapng packet block that is whole but claims more bytes than it holds,
/// a legacy record that claims more than the packet had or than the
/// snapshot length; last in the file or not.
#[test]
fn a_corrupt_captured_length_is_corrupt_not_truncated() {
    let flows = one_v1_exchange(OK);
    let set_u32 =
        |f: &mut Vec<u8>, at: usize, v: u32| f[at..at + 4].copy_from_slice(&v.to_le_bytes());
    // pcapng: the second packet block's caplen (body offset 12).
    let ng = pcapng_file(linktype::ETHERNET, &flows);
    let first = synth::pcapng_section().len() + synth::pcapng_interface(linktype::ETHERNET).len();
    let second = first + u32::from_le_bytes(ng[first + 4..first + 8].try_into().unwrap()) as usize;
    let second_len = u32::from_le_bytes(ng[second + 4..second + 8].try_into().unwrap()) as usize;
    // Legacy pcap: the second record (after the 24-byte file header).
    let legacy = pcap_file(linktype::ETHERNET, &flows);
    let rec = 24 + 16 + u32::from_le_bytes(legacy[24 + 8..24 + 12].try_into().unwrap()) as usize;
    let rec_len = u32::from_le_bytes(legacy[rec + 8..rec + 12].try_into().unwrap()) as usize;
    let cases: [(&str, Vec<u8>, usize, u32, &str); 4] = [
        (
            "pcapng",
            ng.clone(),
            second,
            5000,
            "captured bytes (its captured length field is corrupt: the block holds at most",
        ),
        (
            "pcapng, huge",
            ng.clone(),
            second,
            0xffff_fff0,
            "claims 4294967280 captured bytes",
        ),
        (
            "pcap, over the packet",
            legacy.clone(),
            rec,
            1500,
            "captured bytes of a",
        ),
        (
            "pcap, over the snaplen",
            legacy.clone(),
            rec,
            300_000,
            "more than the capture's snapshot length",
        ),
    ];
    for (what, file, at, caplen, says) in cases {
        let field = if what.starts_with("pcapng") {
            at + 20
        } else {
            at + 8
        };
        let mut whole = file.clone();
        set_u32(&mut whole, field, caplen);
        if what == "pcap, over the snaplen" {
            set_u32(&mut whole, at + 12, caplen); // the packet was that long
        }
        // The record as the last one: the file ends where its bytes do.
        let last = if what.starts_with("pcapng") {
            whole[..at + second_len].to_vec()
        } else {
            whole[..at + 16 + rec_len].to_vec()
        };
        for (place, f) in [("in the middle", whole), ("last", last)] {
            let r = run(&f, &[]);
            assert_eq!(r.code, 2, "{what}, {place}: {}", r.stderr);
            assert!(
                r.stderr
                    .contains(&format!("corrupt capture at byte offset {at}: ")),
                "{what}, {place}: {}",
                r.stderr
            );
            assert!(r.stderr.contains(says), "{what}, {place}: {}", r.stderr);
            assert!(
                !r.stderr.contains("still writing"),
                "{what}, {place}: {}",
                r.stderr
            );
        }
    }
}

#[test]
fn unknown_and_custom_pcapng_blocks_are_skipped() {
    let block = |kind: u32, body: &[u8]| {
        let total = (12 + body.len()) as u32;
        let mut b = kind.to_le_bytes().to_vec();
        b.extend_from_slice(&total.to_le_bytes());
        b.extend_from_slice(body);
        b.extend_from_slice(&total.to_le_bytes());
        b
    };
    let mut f = synth::pcapng_section();
    f.extend(synth::pcapng_interface(linktype::ETHERNET));
    // Apple's process information type with a body pcap-parser misreads,
    // a custom block, an unknown type.
    f.extend(block(0x8000_0001, &[1, 2, 3, 4, 0xff, 0xff, 0xff, 0x7f]));
    f.extend(block(0x0000_0BAD, &[0, 0, 0x7e, 0x1f, 9, 9, 9, 9]));
    f.extend(block(0x1234_5678, &[0; 8]));
    for p in one_v1_exchange(OK) {
        f.extend(synth::pcapng_packet(
            0,
            p.ts,
            &synth::frame(linktype::ETHERNET, &p.ip, &[]),
        ));
    }
    f.extend(block(0x8000_0001, &[0xAA; 12]));
    let r = run(&f, &[]);
    assert_eq!(verdicts(&r), ["proxied"], "{}", r.stderr);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.summary["error"].is_null(), "{}", r.summary);
}

/// A capture in which nothing could be read is not a clean bill of
/// health: exit 2, and say what happened.
#[test]
fn nothing_decoded_is_an_error() {
    // An unknown link type, printed unsigned.
    let mut f = synth::pcap_header(-1, false, false);
    for p in one_v1_exchange(OK) {
        f.extend(synth::pcap_record(p.ts, &p.ip, false, false));
    }
    let r = run(&f, &[]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("none of the 8 frames could be decoded"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("unsupported link type 4294967295"),
        "{}",
        r.stderr
    );
    assert_eq!(
        r.summary["undecodable"][0]["reason"],
        "unsupported link type 4294967295"
    );
    // No packet at all.
    let r = run(&synth::pcap_header(linktype::ETHERNET, false, false), &[]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("holds no packets"), "{}", r.stderr);
    // The human summary does not read as "no problems".
    let dir = tempfile::tempdir().unwrap();
    let (code, out, err) = run_file(&file(&dir, "bad.pcap", &f), &[]);
    assert_eq!(code, 2, "{err}");
    assert!(!out.contains("no problems\n"), "{out}");
    assert!(out.contains("before the read stopped"), "{out}");
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

#[test]
fn gzip_captures_are_read_directly() {
    let plain = pcap_file(linktype::ETHERNET, &every_verdict());
    let ng = pcapng_file(linktype::LINUX_SLL2, &every_verdict());
    let dir = tempfile::tempdir().unwrap();
    // By magic bytes, whatever the name; on stdin too.
    for (name, bytes) in [
        ("a.pcap.gz", gzip(&plain)),
        ("b.pcapng.gz", gzip(&ng)),
        ("c.pcap", gzip(&plain)),
    ] {
        let (code, out, err) = run_file(&file(&dir, name, &bytes), &["--json"]);
        assert_eq!(code, 1, "{name}: {err}");
        assert_eq!(out.lines().count(), 8, "{name}: {out}");
        assert!(err.is_empty(), "{name}: {err}");
    }
    let r = run(&gzip(&plain), &[]);
    assert_eq!(verdicts(&r).len(), 7);
    // Cut short: what was read, then the error.
    let gz = gzip(&plain);
    let r = run(&gz[..gz.len() * 2 / 3], &[]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("compressed stream ends early"),
        "{}",
        r.stderr
    );
    // zstd: say how to read it.
    let r = run(&[0x28, 0xb5, 0x2f, 0xfd, 0, 0, 0, 0], &[]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("zstd -dc FILE | ppctl pcap -"),
        "{}",
        r.stderr
    );
}

#[test]
fn rows_in_capture_order_with_stream_and_frame_numbers() {
    // Flow B starts after flow A but is decided first.
    let mut a = exchange(
        "10.0.0.1:40001",
        "10.0.0.9:80",
        at(0),
        &v1("203.0.113.7:5555", "198.51.100.1:80"),
        OK,
    );
    for p in &mut a[4..] {
        p.ts = at(5);
    }
    let b = exchange("10.0.0.2:40002", "10.0.0.9:80", at(1), b"", OK);
    let mut all = [a, b].concat();
    all.sort_by_key(|p| p.ts);
    let r = run(&pcap_file(linktype::ETHERNET, &all), &[]);
    let clients: Vec<&str> = r
        .flows
        .iter()
        .map(|f| f["client"]["address"].as_str().unwrap())
        .collect();
    assert_eq!(clients, ["10.0.0.1", "10.0.0.2"]);
    assert_eq!(r.flows[0]["stream"], 0);
    assert_eq!(r.flows[0]["first_frame"], 1);
    assert_eq!(r.flows[1]["stream"], 1);
    assert_eq!(r.flows[1]["first_frame"], 5);
    // Every flow of the every-verdict capture starts its stream.
    // A port reused after a close: a new flow; a new stream when the SYN
    // has a new sequence number, the same one otherwise (as tshark, which
    // takes the same SYN for a retransmission).
    let mut reuse = exchange("10.0.0.1:40001", "10.0.0.9:80", at(0), b"", OK);
    reuse.extend(exchange("10.0.0.1:40001", "10.0.0.9:80", at(1), b"", BAD));
    let mut c = Conversation::new(addr("10.0.0.1:40001"), addr("10.0.0.9:80"), at(20))
        .with_client_isn(77_000_000);
    reuse.extend(c.handshake());
    reuse.push(c.data(Dir::ToServer, GET));
    reuse.push(c.data(Dir::ToClient, OK));
    let capture = pcap_file(linktype::ETHERNET, &reuse);
    let r = run(&capture, &[]);
    assert_eq!(verdicts(&r), ["plain", "http-error", "plain"]);
    let streams: Vec<&Value> = r.flows.iter().map(|f| &f["stream"]).collect();
    assert_eq!(streams, [0, 0, 1]);
    let tmp = tempfile::tempdir().unwrap();
    check_streams_against_tshark(&file(&tmp, "reuse.pcap", &capture));
    // A long connection whose final ACK comes just as the table is swept
    // keeps its stream: the next connection is stream 1, as in tshark.
    let mut long = exchange("10.0.0.1:40001", "10.0.0.9:80", at(0), b"", OK);
    let n = long.len();
    // Both FINs, then the final ACK 5.1 s after the first packet: the
    // first packet a sweep runs on.
    for (q, ms) in long[n - 3..].iter_mut().zip([4_400u64, 4_500, 5_100]) {
        q.ts = T0.plus(std::time::Duration::from_millis(ms));
    }
    long.extend(exchange("10.0.0.2:40002", "10.0.0.9:80", at(8), b"", OK));
    let capture = pcap_file(linktype::ETHERNET, &long);
    let r = run(&capture, &[]);
    assert_eq!(r.flows[1]["stream"], 1);
    assert_eq!(r.summary["stray_packets"], 2);
    check_streams_against_tshark(&file(&tmp, "long.pcap", &capture));
    // The committed captures: every flow's stream and first frame are
    // tshark's.
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/pcap");
    for (name, _, _) in samples() {
        check_streams_against_tshark(&dir.join(name));
    }
}

/// From a file, rows keep the capture order however long a flow stays
/// open; from stdin (a live pipe), a decided flow waits for the flows that
/// started before it for 5 s of capture time at most.
#[test]
fn a_live_pipe_does_not_wait_for_a_flow_that_stays_open() {
    let mut p = exchange("10.0.0.1:40001", "10.0.0.9:80", at(0), b"", OK);
    p.truncate(4); // handshake and request: open until the capture ends
    p.extend(exchange("10.0.0.2:40002", "10.0.0.9:80", at(1), b"", OK));
    p.extend(exchange("10.0.0.3:40003", "10.0.0.9:80", at(20), b"", OK));
    let capture = pcap_file(linktype::ETHERNET, &p);
    let clients = |flows: &[Value]| -> Vec<String> {
        flows
            .iter()
            .map(|f| f["client"]["port"].to_string())
            .collect()
    };
    // The open flow is reported when it is decided (here at the end).
    let r = run(&capture, &[]);
    assert_eq!(clients(&r.flows), ["40002", "40003", "40001"]);
    let dir = tempfile::tempdir().unwrap();
    let (_, out, _) = run_file(&file(&dir, "open.pcap", &capture), &["--json"]);
    let flows: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|v| v["type"] == "flow")
        .collect();
    assert_eq!(clients(&flows), ["40001", "40002", "40003"]);
}

/// Every flow's `stream` is tshark's `tcp.stream`/`udp.stream` of its
/// first frame, `first_frame`; that is the stream's first frame unless the
/// conversation started before the flow (a bare ACK, a reused port).
fn check_streams_against_tshark(path: &Path) {
    if !peers::require(Peer::Tshark) {
        return;
    }
    let out = std::process::Command::new(peers::path(Peer::Tshark).unwrap())
        .arg("-r")
        .arg(path)
        .args(["-T", "fields", "-E", "separator=|"])
        .args(["-e", "frame.number", "-e", "tcp.stream", "-e", "udp.stream"])
        .output()
        .expect("run tshark");
    let mut stream_of: BTreeMap<u64, (bool, u64)> = BTreeMap::new();
    let mut first: BTreeMap<(bool, u64), u64> = BTreeMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let c: Vec<&str> = line.split('|').collect();
        let frame: u64 = c[0].parse().unwrap();
        for (udp, col) in [(false, 1), (true, 2)] {
            if let Some(stream) = c.get(col).and_then(|s| s.parse::<u64>().ok()) {
                stream_of.insert(frame, (udp, stream));
                first.entry((udp, stream)).or_insert(frame);
            }
        }
    }
    let r = run(&std::fs::read(path).unwrap(), &[]);
    assert!(!r.flows.is_empty(), "{}", path.display());
    let mut starts = 0;
    for f in &r.flows {
        let udp = f["transport"] == "udp";
        let stream = f["stream"].as_u64().unwrap();
        let frame = f["first_frame"].as_u64().unwrap();
        assert_eq!(
            stream_of.get(&frame),
            Some(&(udp, stream)),
            "{}: frame {frame} of {f}",
            path.display()
        );
        if first.get(&(udp, stream)) == Some(&frame) {
            starts += 1;
        }
    }
    assert!(starts > 0, "{}", path.display());
}

#[test]
fn group_by_server_client_and_finding() {
    let capture = pcap_file(linktype::ETHERNET, &every_verdict());
    let groups = |by: &str| {
        let out = Command::cargo_bin("ppctl")
            .unwrap()
            .args(["pcap", "-", "--json", "--group-by", by])
            .write_stdin(capture.clone())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1));
        let lines: Vec<Value> = String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.last().unwrap()["type"], "summary");
        lines[..lines.len() - 1].to_vec()
    };
    let servers = groups("server");
    assert!(servers
        .iter()
        .all(|g| g["type"] == "group" && g["by"] == "server"));
    assert_eq!(servers.len(), 3, "{servers:?}");
    // The most problems first: :81 has missing-header and invalid-header.
    assert_eq!(servers[0]["key"], "10.0.0.9:81");
    assert_eq!(servers[0]["flows"], 3);
    assert_eq!(servers[0]["problems"], 2);
    assert_eq!(servers[0]["findings"]["health-check"], 1);
    let clients = groups("client");
    assert_eq!(clients[0]["key"], "10.0.0.1");
    assert_eq!(clients[0]["flows"], 3);
    for by in ["finding", "verdict"] {
        let findings = groups(by);
        assert_eq!(findings.len(), 7);
        assert_eq!(findings[0]["key"], "proxied");
        assert_eq!(findings[0]["by"], "finding");
    }
    let dir = tempfile::tempdir().unwrap();
    let path = file(&dir, "all.pcap", &capture);
    let (code, out, _) = run_file(&path, &["--group-by", "server"]);
    assert_eq!(code, 1);
    assert!(out.contains("| 10.0.0.9:81 "), "{out}");
    assert!(out.contains("missing-header 1"), "{out}");
    assert!(out.contains("7 flows, 3 with a problem"), "{out}");
    assert!(
        !out.contains("10.0.0.1:40002 ->"),
        "one row per group: {out}"
    );
}

/// The seed's failure behind a proxy, as a capture on the proxy host
/// holds it: the client's flow to the proxy (no header), and the proxy's
/// flow to the backend (a header that claims the client, or none) that
/// the backend answers with `answer` (or closes on).
fn chain(with_header: bool, answer: &[u8]) -> Vec<Packet> {
    let client = "10.0.0.1:40001";
    let mut front = Conversation::new(addr(client), addr("10.0.0.9:80"), at(0));
    let mut p = front.handshake();
    p.push(front.data(Dir::ToServer, GET));
    let start = Timestamp {
        nanos: T0.nanos + 250_000,
        ..T0
    };
    let mut back = Conversation::new(addr("10.0.0.9:50000"), addr("10.0.0.20:8080"), start);
    p.extend(back.handshake());
    let header = if with_header {
        v1(client, "10.0.0.9:80")
    } else {
        Vec::new()
    };
    p.push(back.data(Dir::ToServer, &[header.as_slice(), GET].concat()));
    if !answer.is_empty() {
        p.push(back.data(Dir::ToClient, answer));
    }
    p.push(back.fin(Dir::ToClient));
    p.push(back.fin(Dir::ToServer));
    p.push(back.ack(Dir::ToClient));
    // The proxy relays the answer (or closes), a little later.
    let mut rest = Vec::new();
    if !answer.is_empty() {
        rest.push(front.data(Dir::ToClient, answer));
    }
    rest.push(front.fin(Dir::ToClient));
    rest.push(front.fin(Dir::ToServer));
    rest.push(front.ack(Dir::ToClient));
    for (i, q) in rest.iter_mut().enumerate() {
        q.ts = Timestamp {
            nanos: T0.nanos + 2_000_000 + i as u32 * 100_000,
            ..T0
        };
    }
    p.extend(rest);
    p.sort_by_key(|q| q.ts);
    p
}

#[test]
fn a_chain_through_a_proxy_is_judged_by_its_back_hop() {
    for with_header in [true, false] {
        let answer = if with_header { BAD } else { b"" as &[u8] };
        let r = run(
            &pcap_file(linktype::ETHERNET, &chain(with_header, answer)),
            &[],
        );
        let back = if with_header {
            "unexpected-header"
        } else {
            "missing-header"
        };
        assert_eq!(
            verdicts(&r),
            ["upstream-failed", back],
            "header {with_header}"
        );
        let (front, behind) = (&r.flows[0], &r.flows[1]);
        assert_eq!(front["finding"]["code"], "PP-UPSTREAM-FAILED");
        assert_eq!(front["finding"]["severity"], "problem");
        assert_eq!(front["chain"]["back"]["id"], behind["id"]);
        assert_eq!(front["chain"]["back"]["stream"], 1);
        assert_eq!(front["chain"]["back"]["finding"]["name"], back);
        // The front hop's fixes are those of the failure behind it.
        assert_eq!(front["fixes"], behind["fixes"]);
        assert!(!front["fixes"].as_array().unwrap().is_empty());
        assert!(front["chain"]["front"].is_null());
        assert_eq!(behind["chain"]["front"]["id"], front["id"]);
        assert_eq!(
            behind["chain"]["front"]["finding"]["name"],
            "upstream-failed"
        );
        assert!(
            front["reason"].as_str().unwrap().contains("tcp.stream 1"),
            "{front}"
        );
        assert_eq!(r.summary["findings"]["upstream-failed"], 1);
        assert_eq!(r.code, 1);
    }
    // The table: the back hop under the front one, and the fix.
    let dir = tempfile::tempdir().unwrap();
    let path = file(
        &dir,
        "chain.pcap",
        &pcap_file(linktype::ETHERNET, &chain(true, BAD)),
    );
    let (_, out, _) = run_file(&path, &["--explain"]);
    let front = out.find("10.0.0.1:40001 -> 10.0.0.9:80").expect(&out);
    let back = out.find("`-> 10.0.0.9:50000 ->").expect(&out);
    assert!(front < back, "{out}");
    assert!(
        out.contains("upstream-failed (PP-UPSTREAM-FAILED)"),
        "{out}"
    );
    assert!(
        out.contains("unexpected-header (PP-UNEXPECTED-HEADER)"),
        "{out}"
    );
    assert!(out.contains("[ingress-nginx-use-proxy-protocol]"), "{out}");
    assert!(out.contains("use-proxy-protocol: \"true\""), "{out}");
    // Only the front hop selected: the failure behind it is still
    // explained, with its fixes.
    let (_, out, _) = run_file(&path, &["--finding", "upstream-failed"]);
    assert!(!out.contains("`->"), "{out}");
    assert!(
        out.contains("✗ unexpected-header (PP-UNEXPECTED-HEADER)"),
        "{out}"
    );
    assert!(out.contains("[ingress-nginx-use-proxy-protocol]"), "{out}");
    // A working chain keeps its findings.
    let r = run(&pcap_file(linktype::ETHERNET, &chain(true, OK)), &[]);
    assert_eq!(verdicts(&r), ["plain", "proxied"]);
    assert_eq!(r.flows[0]["chain"]["back"]["finding"]["name"], "proxied");
    // Unrelated flows one after the other from the same host are no chain.
    let mut p = exchange("10.0.0.9:40001", "10.0.0.9:80", at(0), b"", b"");
    p.extend(exchange("10.0.0.9:40002", "10.0.0.9:81", at(1), b"", BAD));
    p.sort_by_key(|q| q.ts);
    let r = run(&pcap_file(linktype::ETHERNET, &p), &[]);
    assert!(
        r.flows.iter().all(|f| f["chain"]["back"].is_null()),
        "{:?}",
        r.flows
    );
}

/// `ppctl pcap … | head -1`: a closed stdout is an error (exit 2, one line on
/// stderr), not a clean run; the same with its reader gone before the start.
#[test]
fn a_closed_stdout_ends_the_run_with_exit_2() {
    use std::io::{BufRead, BufReader, Read};
    use std::process::{Command as Process, Stdio};
    let capture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/pcap/every-verdict.pcap"
    );
    // The reader takes one line and goes: `--json` prints a line per flow
    // and a summary, so later lines meet a closed pipe.
    let mut child = Process::new(assert_cmd::cargo::cargo_bin("ppctl"))
        .args(["pcap", capture, "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn ppctl pcap");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut first = String::new();
    stdout.read_line(&mut first).expect("a first line");
    drop(stdout);
    let status = child.wait().expect("wait for ppctl pcap");
    let mut err = String::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut err)
        .expect("stderr");
    // The pipe holds the whole output of this small capture, so the write
    // may succeed before the reader leaves: then the run is clean (0 or 1).
    // When it fails, it must say so and exit 2.
    if status.code() == Some(2) {
        assert!(err.contains("writing to stdout"), "{err}");
    } else {
        assert!(matches!(status.code(), Some(0 | 1)), "{status:?}: {err}");
    }

    // A reader that is gone before anything is written: always exit 2.
    let (reader, writer) = std::io::pipe().expect("a pipe");
    drop(reader);
    let out = Process::new(assert_cmd::cargo::cargo_bin("ppctl"))
        .args(["pcap", capture, "--json"])
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .expect("run ppctl pcap");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("ppctl: error: writing to stdout: Broken pipe"),
        "{err}"
    );
}

/// Ctrl-C (SIGINT) while `ppctl pcap -` reads a capture that is still being
/// written: the read ends at the next packet, the flows seen so far (one
/// still open is decided with what was seen) and the summary are printed,
/// marked interrupted, and the exit is 130. With stderr not a
/// terminal, stderr holds only the line that says the results are partial.
#[test]
fn ctrl_c_prints_the_flows_so_far_and_exits_130() {
    use std::io::BufRead;
    let link = linktype::ETHERNET;
    let done = exchange(
        "10.0.0.1:40001",
        "10.0.0.9:80",
        at(0),
        &v1("203.0.113.7:5555", "198.51.100.1:80"),
        OK,
    );
    // A flow that never ends: only its first packets are written.
    let open = exchange("10.0.0.2:40002", "10.0.0.9:80", at(1), b"", OK);
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("ppctl"))
        .args(["pcap", "-", "--json"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn ppctl pcap");
    let mut stdin = child.stdin.take().expect("piped stdin");
    let frame =
        |p: &Packet| synth::pcap_record(p.ts, &synth::frame(link, &p.ip, &[]), false, false);
    stdin
        .write_all(&synth::pcap_header(link, false, false))
        .expect("write");
    for p in done.iter().chain(&open[..2]) {
        stdin.write_all(&frame(p)).expect("write");
    }
    stdin.flush().expect("flush");
    // The closed flow is printed as soon as it is decided: the run is under
    // way (and past catching SIGINT).
    let mut lines = std::io::BufReader::new(child.stdout.take().expect("piped stdout")).lines();
    let first: Value = serde_json::from_str(&lines.next().expect("a flow line").expect("read"))
        .expect("a JSON flow");
    assert_eq!(first["type"], "flow", "{first}");
    let pid = child.id() as libc::pid_t;
    // SAFETY: kill(2) on the pid of a child this test spawned.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGINT) }, 0);
    // The next packet is where the read stops; the pipe stays open, and
    // packets of the open flow keep coming (an ACK every 50 ms) until
    // ppctl is gone, for 30 s at most, then it is killed.
    let ack = frame(&open[2]);
    let writer = std::thread::spawn(move || {
        for _ in 0..600 {
            if stdin.write_all(&ack).and_then(|()| stdin.flush()).is_err() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        // SAFETY: as above.
        unsafe { libc::kill(pid, libc::SIGKILL) };
    });
    let rest: Vec<Value> = lines
        .map(|l| serde_json::from_str(&l.expect("read")).expect("a JSON line"))
        .collect();
    let status = child.wait().expect("wait for ppctl pcap");
    writer.join().expect("the writer");
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().expect("stderr"), &mut stderr)
        .expect("read stderr");
    assert_eq!(status.code(), Some(130), "{stderr}\n{rest:?}");
    let summary = rest.last().expect("a summary line");
    assert_eq!(summary["type"], "summary", "{summary}");
    assert_eq!(summary["interrupted"], true, "{summary}");
    assert!(summary["error"].is_null(), "{summary}");
    // Every flow read is printed: the closed one, and the open one when its
    // first packets were read before the interrupt (decided with them).
    let printed = 1 + rest.iter().filter(|v| v["type"] == "flow").count();
    assert_eq!(summary["flows"], printed, "{summary}\n{rest:?}");
    assert_eq!(rest.len(), printed, "the flows, then the summary: {rest:?}");
    assert!(
        stderr.starts_with("ppctl: interrupted (Ctrl-C): the results cover the first "),
        "{stderr}"
    );
    assert_eq!(
        stderr.lines().count(),
        1,
        "only that line, no progress: {stderr:?}"
    );
}
