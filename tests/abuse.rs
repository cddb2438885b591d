//! Abuse tests that complete tests/listen_abuse.rs and tests/pcap.rs
//! (issue 7): floods of garbage and of stalled 65535-byte v2 claims,
//! `--max-conns`, file descriptors and memory of `ppctl listen`; corrupt
//! captures for `ppctl pcap` (truncated headers and blocks, huge and zero
//! lengths, a wrong snaplen, IP total lengths that contradict the frame).
//!
//! Loopback only; every loop is bounded in count, every wait bounded in
//! time (`listen_support::BOUND`); assertions are on outcomes and order,
//! never on durations.

mod listen_support;
mod synth;

use std::io::{ErrorKind, Read, Write};
use std::net::{Ipv4Addr, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use assert_cmd::Command;
use listen_support::{fds, read_all, served, talk, v1, Listen, BOUND, GET};
use ppctl::codec::encode::HeaderSpec;
use ppctl::codec::Version;
use ppctl::pcap::linktype;
use ppctl::pcap::Timestamp;
use serde_json::Value;
use synth::{Conversation, Dir, Packet};

// ---------------------------------------------------------------- listen

/// A field of /proc/<pid>/status in KiB (VmRSS: resident now; VmHWM: the
/// peak resident size since start).
fn status_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"))
}

/// Wait (bounded) until the listener's fd count is back to `before`, which
/// it reaches once the last reported connections have been closed.
fn fds_settle(pid: u32, before: usize) -> usize {
    let deadline = Instant::now() + BOUND;
    let mut now = fds(pid);
    while now != before && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(20));
        now = fds(pid);
    }
    now
}

fn valid_request() -> Vec<u8> {
    [v1("192.0.2.10", "198.51.100.1", 40000, 443), GET.to_vec()].concat()
}

/// A v2 prefix for TCP4 claiming `len` 65535.
const CLAIM_65535: &[u8] = b"\r\n\r\n\0\r\nQUIT\n\x21\x11\xff\xff";

/// Kinds of garbage a scanner sends first.
fn garbage(i: usize) -> Vec<u8> {
    match i % 6 {
        0 => b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
        1 => b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage-client-hello".to_vec(),
        2 => b"SSH-2.0-OpenSSH_9.6\r\n".to_vec(),
        3 => (0..200u32).map(|b| (b * 37 + i as u32) as u8).collect(),
        4 => b"PROXY TCP4 999.1.1.1 1.1.1.1 1 2\r\n".to_vec(),
        _ => {
            // A v2 signature with a bad version nibble and random tail.
            let mut b = b"\r\n\r\n\0\r\nQUIT\n\x31\x11\x00\x0c".to_vec();
            b.extend_from_slice(&[0xAB; 12]);
            b
        }
    }
}

/// 300 garbage connections from 4 threads, then a valid client: every one
/// is answered or closed, each gets one record, the valid client is served
/// and no descriptor is left open.
#[test]
fn garbage_flood_is_closed_and_leaks_no_fd() {
    const FLOOD: usize = 300;
    let l = Listen::start(&["--proxy-protocol", "require", "--header-timeout", "2s"]);
    let pid = l.pid();
    let before = fds(pid);
    let port = l.port;
    let workers: Vec<_> = (0..4)
        .map(|w| {
            thread::spawn(move || {
                for i in (w..FLOOD).step_by(4) {
                    // Each ends in a close by the server (read_all returns).
                    let _ = talk(port, &garbage(i), i % 2 == 0);
                }
            })
        })
        .collect();
    for w in workers {
        w.join().expect("a flood thread");
    }
    assert!(served(&talk(port, &valid_request(), false)));
    let records: Vec<Value> = (0..=FLOOD).map(|_| l.next_json()).collect();
    let proxied = records
        .iter()
        .filter(|r| r["finding"]["name"] == "proxied")
        .count();
    assert_eq!(proxied, 1, "only the valid client is proxied");
    let after = fds_settle(pid, before);
    assert_eq!(before, after, "open fds before {before}, after {after}");
    l.term();
    let (status, lines) = l.finish();
    // It saw problem findings: 1 (the one exit-code rule).
    assert_eq!(status.code(), Some(1));
    let (_, summary) = Listen::split(&lines);
    assert_eq!(summary["connections"], (FLOOD + 1) as u64, "{summary}");
}

/// Open `n` connections that each send a v2 prefix claiming 65535 bytes,
/// then `extra` bytes of it, then stall. Returns the sockets (kept open).
fn stalled_claims(port: u16, n: usize, extra: usize) -> Vec<TcpStream> {
    let mut claim = CLAIM_65535.to_vec();
    claim.resize(CLAIM_65535.len() + extra, 0x42);
    (0..n)
        .map(|_| {
            let mut s = TcpStream::connect((Ipv4Addr::LOCALHOST, port)).expect("connect");
            s.write_all(&claim).expect("write the claim");
            s
        })
        .collect()
}

/// 400 stalled 65535-byte claims, twice, with the cap raised to the
/// maximum: each is ended by the header timeout, the peak memory grows by
/// what the cap allows and no more, and a second flood does not grow the
/// resident size further (nothing is kept per finished connection).
#[test]
fn stalled_v2_claims_keep_memory_bounded() {
    const N: usize = 400;
    const EXTRA: usize = 4096;
    let l = Listen::start(&["--max-header", "65551", "--header-timeout", "1s"]);
    let pid = l.pid();
    // Warm up the runtime and the writer with one ordinary connection,
    // and wait (bounded) until its socket is closed too.
    let idle_fds = fds(pid);
    assert!(served(&talk(l.port, &valid_request(), false)));
    l.next_json();
    let before_fds = fds_settle(pid, idle_fds);
    let rss_before = status_kib(pid, "VmRSS");
    let mut peak = 0;
    for round in 0..2 {
        let socks = stalled_claims(l.port, N, EXTRA);
        for _ in 0..N {
            let r = l.next_json();
            assert_eq!(r["finding"]["name"], "header-timeout", "round {round}: {r}");
            assert_eq!(r["bytes_in"], (16 + EXTRA) as u64, "{r}");
        }
        drop(socks);
        assert_eq!(fds_settle(pid, before_fds), before_fds, "round {round}");
        let hwm = status_kib(pid, "VmHWM");
        if round == 0 {
            peak = hwm;
        }
        // Per connection at most the header cap plus 32 KiB of buffers
        // and task state: a server that allocated per byte claimed, or
        // kept finished connections, would exceed it.
        let allowed = (N as u64) * (65551 + 32 * 1024) / 1024;
        assert!(
            hwm.saturating_sub(rss_before) <= allowed,
            "round {round}: peak {hwm} KiB, {rss_before} KiB before, {allowed} KiB allowed"
        );
    }
    let rss_after = status_kib(pid, "VmRSS");
    eprintln!("listen memory: {rss_before} KiB before, peak {peak} KiB, {rss_after} KiB after two floods of {N}");
    // The second flood reuses what the first one freed (allocator slack: 8 MiB).
    assert!(
        rss_after <= peak + 8 * 1024,
        "resident {rss_after} KiB after two floods, peak after the first {peak} KiB"
    );
    l.term();
    let (status, _) = l.finish();
    // It saw problem findings: 1 (the one exit-code rule).
    assert_eq!(status.code(), Some(1));
}

/// Can a reply be read now? `None` when nothing arrived within `wait`.
fn reply_within(s: &mut TcpStream, wait: Duration) -> Option<Vec<u8>> {
    s.set_read_timeout(Some(wait)).expect("read timeout");
    let mut buf = [0u8; 1];
    match s.read(&mut buf) {
        Ok(n) => Some(buf[..n].to_vec()),
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => None,
        Err(_) => Some(Vec::new()),
    }
}

/// `--max-conns 2` with two silent clients holding both slots: a third,
/// valid client waits in the backlog unanswered; once one silent client
/// leaves, it is served. The records come in that order.
#[test]
fn max_conns_is_enforced() {
    let l = Listen::start(&[
        "--max-conns",
        "2",
        "--header-timeout",
        "60s",
        "--proxy-protocol",
        "require",
    ]);
    let pid = l.pid();
    let before = fds(pid);
    let first = TcpStream::connect((Ipv4Addr::LOCALHOST, l.port)).expect("connect 1");
    let second = TcpStream::connect((Ipv4Addr::LOCALHOST, l.port)).expect("connect 2");
    // Both are accepted (the server holds two more sockets).
    let deadline = Instant::now() + BOUND;
    while fds(pid) < before + 2 && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(fds(pid), before + 2, "two connections accepted");
    let mut third = TcpStream::connect((Ipv4Addr::LOCALHOST, l.port)).expect("connect 3");
    third.write_all(&valid_request()).expect("write");
    // While both slots are held the third is not accepted, so it can't be
    // answered however long it waits; half a second is only how long we look.
    assert_eq!(reply_within(&mut third, Duration::from_millis(500)), None);
    assert_eq!(fds(pid), before + 2, "the third waits in the backlog");
    drop(first);
    let freed = l.next_json();
    assert_eq!(
        freed["finding"]["name"], "client-closed",
        "the silent client that left: {freed}"
    );
    third.set_read_timeout(Some(BOUND)).expect("timeout");
    let mut reply = Vec::new();
    let _ = third.read_to_end(&mut reply);
    assert!(served(&reply), "{}", String::from_utf8_lossy(&reply));
    let r = l.next_json();
    assert_eq!(r["finding"]["name"], "proxied", "{r}");
    drop(second);
    assert_eq!(l.next_json()["finding"]["name"], "client-closed");
    l.term();
    let (status, _) = l.finish();
    assert_eq!(status.code(), Some(0));
}

/// Several byte-at-a-time senders at once, interleaved with a flood of
/// one-byte-then-silence clients: the slow valid ones are all served, the
/// silent ones end at the header timeout.
#[test]
fn concurrent_byte_at_a_time_senders() {
    const SLOW: usize = 4;
    const DRIP: usize = 20;
    let l = Listen::start(&["--header-timeout", "2s", "--proxy-protocol", "require"]);
    let port = l.port;
    let v2 = HeaderSpec::tcp(
        Version::V2,
        "192.0.2.20:40000".parse().expect("addr"),
        "198.51.100.1:443".parse().expect("addr"),
    )
    .encode()
    .expect("encode");
    let slow: Vec<_> = (0..SLOW)
        .map(|i| {
            let bytes = if i % 2 == 0 {
                [v2.clone(), GET.to_vec()].concat()
            } else {
                valid_request()
            };
            thread::spawn(move || {
                let mut s = TcpStream::connect((Ipv4Addr::LOCALHOST, port)).expect("connect");
                s.set_nodelay(true).expect("nodelay");
                // The header in single bytes; the request in one go.
                for b in &bytes {
                    if s.write_all(std::slice::from_ref(b)).is_err() {
                        break;
                    }
                    thread::sleep(Duration::from_micros(100));
                }
                s.set_read_timeout(Some(BOUND)).expect("timeout");
                served(&read_all(&mut s))
            })
        })
        .collect();
    let drips: Vec<TcpStream> = (0..DRIP)
        .map(|i| {
            let mut s = TcpStream::connect((Ipv4Addr::LOCALHOST, port)).expect("connect");
            let first = if i % 2 == 0 { b"P" } else { b"\r" };
            s.write_all(first).expect("one byte");
            s
        })
        .collect();
    for t in slow {
        assert!(t.join().expect("slow sender"), "a slow sender was served");
    }
    let records: Vec<Value> = (0..SLOW + DRIP).map(|_| l.next_json()).collect();
    let count = |v: &str| records.iter().filter(|r| r["finding"]["name"] == v).count();
    assert_eq!(count("proxied"), SLOW);
    assert_eq!(count("header-timeout"), DRIP);
    drop(drips);
    l.term();
    let (status, _) = l.finish();
    // It saw problem findings: 1 (the one exit-code rule).
    assert_eq!(status.code(), Some(1));
}

// ------------------------------------------------------------------ pcap

const T0: Timestamp = Timestamp {
    secs: 1_700_000_000,
    nanos: 0,
};
const OK: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";

fn at(secs: i64) -> Timestamp {
    Timestamp {
        secs: T0.secs + secs,
        nanos: 0,
    }
}

/// One proxied HTTP exchange (v1 header, 200), as IP packets.
fn proxied_flow(client_port: u16, start: Timestamp) -> Vec<Packet> {
    let client = format!("10.1.0.1:{client_port}").parse().expect("addr");
    let mut c = Conversation::new(client, "10.1.0.9:80".parse().expect("addr"), start);
    let header = v1("203.0.113.7", "198.51.100.1", 5555, 80);
    let mut p = c.handshake();
    p.push(c.data(Dir::ToServer, &[header, GET.to_vec()].concat()));
    p.push(c.data(Dir::ToClient, OK));
    p.push(c.fin(Dir::ToClient));
    p.push(c.fin(Dir::ToServer));
    p.push(c.ack(Dir::ToClient));
    p
}

/// A pcap record with explicit captured and original lengths.
fn record(ts: Timestamp, frame: &[u8], caplen: u32, origlen: u32) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 + frame.len());
    out.extend_from_slice(&(ts.secs as u32).to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&caplen.to_le_bytes());
    out.extend_from_slice(&origlen.to_le_bytes());
    out.extend_from_slice(frame);
    out
}

/// An Ethernet pcap of `flows`, each frame passed through `edit`.
fn capture(flows: &[Vec<Packet>], mut edit: impl FnMut(Vec<u8>) -> Vec<u8>) -> Vec<u8> {
    let mut out = synth::pcap_header(linktype::ETHERNET, false, false);
    for p in flows.iter().flatten() {
        let frame = edit(synth::frame(linktype::ETHERNET, &p.ip, &[]));
        let len = frame.len() as u32;
        out.extend(record(p.ts, &frame, len, len));
    }
    out
}

struct PcapRun {
    code: i32,
    flows: Vec<Value>,
    summary: Value,
    stderr: String,
}

/// `ppctl pcap - --json` on `bytes`: never a panic, always a summary line.
fn pcap(bytes: &[u8]) -> PcapRun {
    let out = Command::cargo_bin("ppctl")
        .expect("the ppctl binary")
        .args(["pcap", "-", "--json"])
        .write_stdin(bytes.to_vec())
        .timeout(BOUND)
        .output()
        .expect("run ppctl pcap");
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(!stderr.contains("panicked"), "panic: {stderr}");
    let code = out.status.code().unwrap_or(-1);
    assert!(
        (0..=2).contains(&code),
        "exit {code} (killed?); stderr: {stderr}"
    );
    let mut lines: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l}: {e}")))
        .collect();
    let summary = lines.pop().unwrap_or(Value::Null);
    PcapRun {
        code,
        flows: lines,
        summary,
        stderr,
    }
}

fn proxied(r: &PcapRun) -> usize {
    r.flows
        .iter()
        .filter(|f| f["finding"]["name"] == "proxied")
        .count()
}

/// The file header cut at every length below 24 bytes (and a pcapng
/// section header cut short): a clear error, never a panic.
#[test]
fn truncated_file_headers() {
    let whole = capture(&[proxied_flow(40001, at(0))], |f| f);
    for n in 1..24 {
        let r = pcap(&whole[..n]);
        assert_eq!(r.code, 2, "{n} bytes");
        assert!(
            r.stderr.contains("truncated") || r.stderr.contains("not a pcap"),
            "{n} bytes: {}",
            r.stderr
        );
    }
    let mut ng = synth::pcapng_section();
    ng.extend(synth::pcapng_interface(linktype::ETHERNET));
    for n in [4, 11, 20, ng.len() - 3] {
        let r = pcap(&ng[..n]);
        assert_eq!(r.code, 2, "pcapng cut at {n}");
        assert!(!r.stderr.is_empty(), "pcapng cut at {n}: a message");
    }
}

/// A pcapng block claiming 4 GiB after a good flow: the flow is reported,
/// then a corrupt-capture error naming the offset; nothing near 4 GiB is
/// allocated (the process would be killed, and exit 0..=2 is asserted).
#[test]
fn pcapng_block_claiming_huge_length() {
    let mut ng = synth::pcapng_section();
    ng.extend(synth::pcapng_interface(linktype::ETHERNET));
    for p in proxied_flow(40001, at(0)) {
        ng.extend(synth::pcapng_packet(
            0,
            p.ts,
            &synth::frame(linktype::ETHERNET, &p.ip, &[]),
        ));
    }
    let offset = ng.len();
    ng.extend_from_slice(&6u32.to_le_bytes());
    ng.extend_from_slice(&0xFFFF_FFF0u32.to_le_bytes());
    ng.extend_from_slice(&[0u8; 64]);
    let r = pcap(&ng);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert_eq!(proxied(&r), 1, "the flow before the bad block");
    assert!(
        r.stderr.contains(&format!("offset {offset}")),
        "names the offset {offset}: {}",
        r.stderr
    );
}

/// Zero-length records between every packet of two flows: both flows are
/// still decided, the empty records are counted as undecodable.
#[test]
fn zero_length_records_everywhere() {
    let flows = [proxied_flow(40001, at(0)), proxied_flow(40002, at(1))];
    let mut f = synth::pcap_header(linktype::ETHERNET, false, false);
    let mut packets = 0u64;
    for p in flows.iter().flatten() {
        f.extend(record(p.ts, &[], 0, 0));
        f.extend(record(p.ts, &[], 0, 1514));
        let frame = synth::frame(linktype::ETHERNET, &p.ip, &[]);
        f.extend(record(p.ts, &frame, frame.len() as u32, frame.len() as u32));
        packets += 1;
    }
    let r = pcap(&f);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(proxied(&r), 2);
    assert_eq!(r.summary["frames"], packets * 3);
    assert_eq!(r.summary["undecodable_frames"], packets * 2);
}

/// Snaplen in the file header that contradicts the records: smaller than
/// the records (records are still read as long as they claim), zero, and
/// huge; and records cut by a small snaplen (caplen < origlen), as
/// `tcpdump -s 64` writes them: the header bytes are missing, so the flow
/// is reported without a wrong verdict of "proxied", and nothing panics.
#[test]
fn wrong_snaplen() {
    let whole = capture(&[proxied_flow(40001, at(0))], |f| f);
    for snaplen in [0u32, 16, 64, u32::MAX] {
        let mut f = whole.clone();
        f[16..20].copy_from_slice(&snaplen.to_le_bytes());
        let r = pcap(&f);
        assert!(r.code <= 2, "snaplen {snaplen}");
        assert_eq!(
            proxied(&r),
            1,
            "snaplen {snaplen}: records are self-describing"
        );
    }
    // Frames cut at 60 bytes (14 Ethernet + 20 IP + 20 TCP + 6 of payload).
    let mut f = synth::pcap_header(linktype::ETHERNET, false, false);
    f[16..20].copy_from_slice(&60u32.to_le_bytes());
    for p in proxied_flow(40001, at(0)) {
        let frame = synth::frame(linktype::ETHERNET, &p.ip, &[]);
        let cut = frame.len().min(60);
        f.extend(record(p.ts, &frame[..cut], cut as u32, frame.len() as u32));
    }
    let r = pcap(&f);
    assert!(r.code <= 2, "{}", r.stderr);
    assert_eq!(proxied(&r), 0, "a header cut by the snaplen is not proof");
    assert!(r.summary.is_object(), "a summary even so");
}

/// Rewrite the IPv4 total length of an Ethernet frame (the checksum is
/// left as is: captures on the sending host often have it wrong anyway).
fn with_ip_total_len(mut frame: Vec<u8>, total: impl Fn(u16) -> u16) -> Vec<u8> {
    if frame.len() >= 34 && frame[12..14] == [0x08, 0x00] {
        let now = u16::from_be_bytes([frame[16], frame[17]]);
        frame[16..18].copy_from_slice(&total(now).to_be_bytes());
    }
    frame
}

/// IPv4 total length that contradicts the frame: longer than the frame
/// (a cut frame), shorter than the IP header, and shorter than the frame
/// with the rest being Ethernet padding (which must not be taken as TCP
/// payload: the header must still decode exactly).
#[test]
fn ip_total_length_contradicting_the_frame() {
    let flows = [proxied_flow(40001, at(0)), proxied_flow(40002, at(1))];
    // Longer than the frame.
    let r = pcap(&capture(&flows, |f| with_ip_total_len(f, |n| n + 1000)));
    assert!(r.code <= 2);
    assert!(r.summary.is_object(), "{}", r.stderr);
    // Shorter than an IPv4 header.
    let r = pcap(&capture(&flows, |f| with_ip_total_len(f, |_| 8)));
    assert!(r.code <= 2);
    assert_eq!(proxied(&r), 0);
    assert!(r.summary["undecodable_frames"].as_u64().unwrap_or(0) > 0);
    // Padding after the IP packet: the flows are exactly as without it.
    let padded = pcap(&capture(&flows, |mut f| {
        f.extend_from_slice(&[0xEE; 18]);
        f
    }));
    assert_eq!(padded.code, 0, "{}", padded.stderr);
    assert_eq!(proxied(&padded), 2);
    for f in &padded.flows {
        assert_eq!(f["header"]["source"]["address"], "203.0.113.7", "{f}");
    }
    // Half the flows' frames claim 1000 more bytes than they carry, the
    // other flow is intact: the intact one is still proxied.
    let r = pcap(&capture(&flows, |f| {
        let ports = [
            u16::from_be_bytes([f[34], f[35]]),
            u16::from_be_bytes([f[36], f[37]]),
        ];
        if ports.contains(&40002) {
            with_ip_total_len(f, |n| n + 1000)
        } else {
            f
        }
    }));
    assert!(r.code <= 2);
    assert!(proxied(&r) >= 1, "the intact flow: {:?}", r.flows);
}

// ------------------------------------------------- output that is lost

/// `ppctl inspect --sample v1 | (exit)`: the reader is gone before the
/// report is written. Losing it is an error (exit 2, one line on stderr),
/// not a success. The pipe's read end is closed before ppctl starts, so
/// the outcome does not depend on who is faster.
#[test]
fn a_closed_stdout_is_an_error_for_a_one_shot_command() {
    let (reader, writer) = std::io::pipe().expect("a pipe");
    drop(reader);
    let out = std::process::Command::new(assert_cmd::cargo::cargo_bin("ppctl"))
        .args(["inspect", "--sample", "v1"])
        .stdout(writer)
        .stderr(std::process::Stdio::piped())
        .output()
        .expect("run ppctl inspect");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.starts_with(
            "ppctl: error: writing to stdout: Broken pipe (the reader closed the pipe); "
        ),
        "{err}"
    );
    assert!(err.trim_end().ends_with("lines were not written"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
}

/// A full disk (`>/dev/full`) loses every command's output, `--help`,
/// `--version` and `explain` included: exit 2 and one line on stderr that
/// says how many lines were not written, as for any other result.
#[test]
fn a_full_disk_is_an_error_for_help_version_and_explain() {
    let Ok(full) = std::fs::OpenOptions::new().write(true).open("/dev/full") else {
        eprintln!("SKIP: no /dev/full on this system");
        return;
    };
    let cases: [(&[&str], &str); 7] = [
        (&["--help"], ""),
        (&["-h"], ""),
        (&["--version"], ""),
        (&["help", "send"], ""),
        (&["send", "--help"], ""),
        (&["inspect", "--sample", "v1"], ""),
        (
            &["explain", "-"],
            "broken header: \"GET / HTTP/1.1\" while reading PROXY protocol\n",
        ),
    ];
    for (args, stdin) in cases {
        let out = std::process::Command::new(assert_cmd::cargo::cargo_bin("ppctl"))
            .args(args)
            .stdin(std::process::Stdio::piped())
            .stdout(full.try_clone().expect("a second handle on /dev/full"))
            .stderr(std::process::Stdio::piped())
            .spawn()
            .and_then(|mut child| {
                use std::io::Write;
                let mut input = child.stdin.take().expect("piped stdin");
                let _ = input.write_all(stdin.as_bytes());
                drop(input);
                child.wait_with_output()
            })
            .expect("run ppctl");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.starts_with(
                "ppctl: error: writing to stdout: No space left on device (the disk is full); "
            ),
            "{args:?}: {err}"
        );
        let lost = err.trim_end();
        assert!(
            lost.ends_with("lines were not written") || lost.ends_with("1 line was not written"),
            "{args:?}: {err}"
        );
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
    }
}
