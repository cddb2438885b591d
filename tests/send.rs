//! `ppctl send` against in-test std listeners that capture the bytes.

mod common;
mod listen_support;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use assert_cmd::Command;
use listen_support::Listen;
use ppctl::codec::corrupt::{corrupt, Corruption};
use ppctl::codec::{decode, Decoded};
use predicates::prelude::*;

fn ppctl() -> Command {
    let mut c = Command::cargo_bin("ppctl").unwrap();
    c.env("NO_COLOR", "1");
    c
}

/// What one accepted connection sent, and from where.
struct Captured {
    bytes: Vec<u8>,
    peer: SocketAddr,
}

/// Accept one connection, read until the client pauses, answer `reply`
/// (if any), close.
fn capture(reply: &'static [u8]) -> (SocketAddr, JoinHandle<Captured>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let h = thread::spawn(move || {
        let (mut s, peer) = listener.accept().unwrap();
        let bytes = read_until_pause(&mut s);
        if !reply.is_empty() {
            let _ = s.write_all(reply);
        }
        Captured { bytes, peer }
    });
    (addr, h)
}

fn read_until_pause(s: &mut TcpStream) -> Vec<u8> {
    s.set_read_timeout(Some(Duration::from_millis(400)))
        .unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while let Ok(n) = s.read(&mut buf) {
        if n == 0 {
            break;
        }
        got.extend_from_slice(&buf[..n]);
    }
    got
}

const OK: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";
const BAD: &[u8] = b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n";

fn send(addr: SocketAddr, args: &[&str]) -> assert_cmd::assert::Assert {
    ppctl()
        .arg("send")
        .arg(addr.to_string())
        .args(args)
        .args(["--timeout", "3s"])
        .assert()
}

#[test]
fn v1_by_default_with_the_real_socket_ends_and_an_http_get() {
    let (addr, h) = capture(OK);
    send(addr, &[])
        .success()
        .stdout(predicate::str::contains("proxied (PP-PROXIED)"));
    let c = h.join().unwrap();
    let head = format!(
        "PROXY TCP4 127.0.0.1 127.0.0.1 {} {}\r\nGET / HTTP/1.1\r\nHost: 127.0.0.1:{}\r\n",
        c.peer.port(),
        addr.port(),
        addr.port()
    );
    assert!(
        c.bytes.starts_with(head.as_bytes()),
        "{:?}",
        String::from_utf8_lossy(&c.bytes)
    );
    assert!(c.bytes.ends_with(b"Connection: close\r\n\r\n"));
}

#[test]
fn v2_with_given_addresses_is_byte_exact() {
    let (addr, h) = capture(OK);
    send(
        addr,
        &[
            "-2",
            "--src",
            "1.2.3.4:1000",
            "--dst",
            "5.6.7.8:80",
            "--no-payload",
        ],
    )
    .success();
    let expected =
        hex::decode("0d0a0d0a000d0a515549540a2111000c01020304050607080".to_string() + "3e80050")
            .unwrap();
    assert_eq!(h.join().unwrap().bytes, expected);
}

#[test]
fn v4_v6_mix_is_promoted() {
    let (addr, h) = capture(OK);
    send(
        addr,
        &[
            "-1",
            "--src",
            "1.2.3.4:1000",
            "--dst",
            "[::1]:80",
            "--no-payload",
        ],
    )
    .success();
    assert_eq!(
        h.join().unwrap().bytes,
        b"PROXY TCP6 ::ffff:1.2.3.4 ::1 1000 80\r\n"
    );
}

#[test]
fn tlvs_go_in_haproxy_order_with_a_valid_crc() {
    let (addr, h) = capture(OK);
    send(
        addr,
        &[
            "--src",
            "1.2.3.4:1",
            "--dst",
            "5.6.7.8:2",
            "--no-payload",
            "--tlv",
            "0xE2=0x0102",
            "--authority",
            "ex.com",
            "--alpn",
            "h2",
            "--crc32c",
            "--unique-id",
            "id1",
            "--noop",
            "2",
            "--aws-vpce-id",
            "vpce-1",
        ],
    )
    .success();
    let bytes = h.join().unwrap().bytes;
    let Decoded::Complete(header) = decode(&bytes) else {
        panic!("not valid: {bytes:02x?}")
    };
    let kinds: Vec<u8> = header.tlvs().map(|t| t.kind).collect();
    assert_eq!(kinds, [0xE2, 0x03, 0x01, 0x02, 0x05, 0xEA, 0x04]);
    assert!(header.crc32c.is_some());
    assert_eq!(header.len(), bytes.len());
}

#[test]
fn unknown_local_and_unix() {
    let (addr, h) = capture(OK);
    send(addr, &["--unknown", "--no-payload"]).success();
    assert_eq!(h.join().unwrap().bytes, b"PROXY UNKNOWN\r\n");

    let (addr, h) = capture(OK);
    send(addr, &["--local", "--no-payload"]).success();
    assert_eq!(
        h.join().unwrap().bytes,
        hex::decode("0d0a0d0a000d0a515549540a20000000").unwrap()
    );

    let (addr, h) = capture(OK);
    send(
        addr,
        &["--unix-src", "/tmp/a", "--unix-dst", "@b", "--no-payload"],
    )
    .success();
    let bytes = h.join().unwrap().bytes;
    assert_eq!(&bytes[12..16], &[0x21, 0x31, 0x00, 0xd8]);
    assert_eq!(&bytes[16..22], b"/tmp/a");
    assert_eq!(&bytes[124..126], b"\0b");
}

#[test]
fn presets_send_what_the_emitters_send() {
    // AWS NLB health check, byte for byte as captured in kubernetes#57250.
    let (addr, h) = capture(OK);
    send(addr, &["--like", "aws-nlb-health", "--no-payload"]).success();
    let mut expected =
        hex::decode("0d0a0d0a000d0a515549540a2011005403000 4bce5951f04004a".replace(' ', ""))
            .unwrap();
    expected.extend_from_slice(&[0; 74]);
    assert_eq!(h.join().unwrap().bytes, expected);

    let (addr, h) = capture(OK);
    send(addr, &["--like", "haproxy-check", "--no-payload"]).success();
    assert_eq!(
        h.join().unwrap().bytes,
        hex::decode("0d0a0d0a000d0a515549540a20000000").unwrap()
    );

    for preset in ["nginx", "gcp-tcp-proxy"] {
        let (addr, h) = capture(OK);
        send(
            addr,
            &["--like", preset, "--src", "9.9.9.9:9", "--no-payload"],
        )
        .success();
        let want = format!("PROXY TCP4 9.9.9.9 127.0.0.1 9 {}\r\n", addr.port());
        assert_eq!(h.join().unwrap().bytes, want.as_bytes());
    }

    let (addr, h) = capture(OK);
    send(
        addr,
        &[
            "--like",
            "azure-pls",
            "--azure-link-id",
            "258",
            "--no-payload",
        ],
    )
    .success();
    let bytes = h.join().unwrap().bytes;
    assert_eq!(&bytes[12..14], &[0x21, 0x11]);
    assert_eq!(
        &bytes[28..],
        &[0xEE, 0x00, 0x05, 0x01, 0x02, 0x01, 0x00, 0x00]
    );

    for preset in ["aws-nlb", "haproxy"] {
        let (addr, h) = capture(OK);
        send(addr, &["--like", preset, "--no-payload"]).success();
        let bytes = h.join().unwrap().bytes;
        assert_eq!(bytes.len(), 28);
        assert_eq!(&bytes[12..16], &[0x21, 0x11, 0x00, 0x0c]);
    }
}

#[test]
fn every_corruption_is_sent_as_the_codec_makes_it() {
    let base = [
        "--src",
        "1.2.3.4:1000",
        "--dst",
        "5.6.7.8:80",
        "--no-payload",
    ];
    let v2 =
        hex::decode("0d0a0d0a000d0a515549540a2111000c0102030405060708 03e80050".replace(' ', ""))
            .unwrap();
    let v1 = b"PROXY TCP4 1.2.3.4 5.6.7.8 1000 80\r\n".to_vec();
    for (kind, version, valid) in [
        (Corruption::Signature, "-2", &v2),
        (Corruption::Version, "-2", &v2),
        (Corruption::Command, "-2", &v2),
        (Corruption::Family, "-2", &v2),
        (Corruption::LengthShort, "-2", &v2),
        (Corruption::TlvOverrun, "-2", &v2),
        (Corruption::Truncate, "-2", &v2),
        (Corruption::Signature, "-1", &v1),
        (Corruption::Family, "-1", &v1),
        (Corruption::V1LeadingZero, "-1", &v1),
        (Corruption::V1LfOnly, "-1", &v1),
        (Corruption::Truncate, "-1", &v1),
    ] {
        let (addr, h) = capture(b"");
        let mut args = vec![version, "--corrupt", kind.name()];
        args.extend(base);
        send(addr, &args).code(1).stdout(predicate::str::contains(
            "invalid-header (PP-INVALID-HEADER)",
        ));
        assert_eq!(
            h.join().unwrap().bytes,
            corrupt(valid, kind).unwrap(),
            "{}",
            kind.name()
        );
    }
}

#[test]
fn corrupt_crc_adds_the_crc_tlv_and_breaks_it() {
    let (addr, h) = capture(b"");
    send(
        addr,
        &[
            "--corrupt",
            "crc",
            "--src",
            "1.2.3.4:1",
            "--dst",
            "5.6.7.8:2",
            "--no-payload",
        ],
    )
    .code(1)
    .stdout(predicate::str::contains(
        "invalid-header (PP-INVALID-HEADER)",
    ));
    let bytes = h.join().unwrap().bytes;
    assert_eq!(bytes.len(), 16 + 12 + 7);
    assert_eq!(&bytes[28..31], &[0x03, 0x00, 0x04]);
    assert!(matches!(decode(&bytes), Decoded::Invalid(_)));
}

#[test]
fn split_twice_and_raw() {
    let (addr, h) = capture(OK);
    send(
        addr,
        &[
            "--split",
            "bytewise",
            "--split-delay",
            "1ms",
            "--data",
            "hi\\r\\n",
        ],
    )
    .success();
    let bytes = h.join().unwrap().bytes;
    assert!(
        bytes.starts_with(b"PROXY TCP4 127.0.0.1 127.0.0.1 ") && bytes.ends_with(b"\r\nhi\r\n")
    );

    let (addr, h) = capture(OK);
    send(addr, &["-2", "--split", "5,16", "--no-payload"]).success();
    assert_eq!(h.join().unwrap().bytes.len(), 28);

    let (addr, h) = capture(BAD);
    send(addr, &["--twice", "--unknown", "--no-payload"])
        .code(1)
        .stdout(predicate::str::contains("header 2  VALID v1 PROXY UNKNOWN"))
        .stdout(predicate::str::contains(
            "stacked-header (PP-STACKED-HEADER)",
        ));
    assert_eq!(
        h.join().unwrap().bytes,
        b"PROXY UNKNOWN\r\nPROXY UNKNOWN\r\n"
    );

    let (addr, h) = capture(OK);
    // "PRO" is the start of a v1 header, cut short: an invalid header.
    send(addr, &["--raw", "0x50 52 4f", "--data", "x"])
        .code(1)
        .stdout(predicate::str::contains(
            "invalid-header (PP-INVALID-HEADER)",
        ));
    assert_eq!(h.join().unwrap().bytes, b"PROx");
}

#[test]
fn payload_from_stdin_and_file() {
    let (addr, h) = capture(OK);
    ppctl()
        .args(["send", &addr.to_string(), "--unknown", "--data", "-"])
        .write_stdin("from stdin")
        .assert()
        .success();
    assert_eq!(h.join().unwrap().bytes, b"PROXY UNKNOWN\r\nfrom stdin");

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("p.bin");
    std::fs::write(&file, b"\x00\x01file").unwrap();
    let (addr, h) = capture(OK);
    send(addr, &["--unknown", "--data-file", file.to_str().unwrap()]).success();
    assert_eq!(h.join().unwrap().bytes, b"PROXY UNKNOWN\r\n\x00\x01file");
}

#[test]
fn dry_run_prints_the_header_and_sends_nothing() {
    // A port nobody listens on: a dry run must not care.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let target = format!("127.0.0.1:{port}");
    ppctl()
        .args(["send", &target, "-2", "--src", "1.2.3.4:1", "--dry-run"])
        .assert()
        .success()
        .stdout(predicate::str::contains("nothing sent"))
        .stdout(predicate::str::contains("0d 0a 0d 0a 00 0d 0a 51"))
        .stdout(predicate::str::contains("VALID v2 PROXY TCP4"))
        .stdout(predicate::str::contains("1.2.3.4:1"))
        .stdout(predicate::str::contains("What receivers would do"));
    let out = ppctl()
        .args(["send", &target, "--dry-run", "--json", "--alpn", "h2"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["type"], "send");
    assert_eq!(v["mode"], "dry-run");
    assert!(v["finding"].is_null());
    assert_eq!(v["header"]["verdict"], "valid");
    assert_eq!(v["header"]["version"], 2);
    assert_eq!(v["header"]["tlvs"][0]["name"], "ALPN");
    assert!(v["reply"].is_null());
}

#[test]
fn a_400_after_the_header_is_explained_with_the_fixes() {
    let (addr, h) = capture(BAD);
    send(addr, &[])
        .code(1)
        .stdout(predicate::str::contains(
            "unexpected-header (PP-UNEXPECTED-HEADER)",
        ))
        .stdout(predicate::str::contains("use-proxy-protocol: \"true\""))
        .stdout(predicate::str::contains("accept-proxy"))
        .stdout(predicate::str::contains("proxy_protocol"));
    h.join().unwrap();
}

#[test]
fn json_reply_object() {
    let (addr, h) = capture(BAD);
    let out = send(addr, &["--json"]).code(1).get_output().stdout.clone();
    h.join().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["type"], "send");
    assert_eq!(v["schema"], 3);
    assert_eq!(v["mode"], "send");
    assert_eq!(v["connected"], true);
    assert_eq!(v["reply"]["http_status"], 400);
    assert_eq!(v["reply"]["end"], "eof-after-data");
    assert_eq!(v["sent"], "header");
    assert_eq!(v["finding"]["name"], "unexpected-header");
    assert_eq!(v["finding"]["code"], "PP-UNEXPECTED-HEADER");
    assert_eq!(v["finding"]["severity"], "problem");
    assert_eq!(v["ok"], false);
    assert_eq!(v["header"]["verdict"], "valid");
    assert_eq!(v["payload"]["kind"], "http-request");
    let fixes = v["fixes"].as_array().unwrap();
    assert!(fixes.len() >= 3);
    for key in ["id", "title", "side", "applies_to", "change", "doc"] {
        assert!(fixes[0].get(key).is_some(), "{key}");
    }
}

#[test]
fn expectations_set_the_exit_code() {
    let (addr, h) = capture(OK);
    send(addr, &["--expect-status", "200"]).code(0);
    h.join().unwrap();
    let (addr, h) = capture(BAD);
    send(addr, &["--expect-status", "200"])
        .code(1)
        .stdout(predicate::str::contains("NOT met"));
    h.join().unwrap();
    let (addr, h) = capture(b"");
    send(addr, &["--expect-close"])
        .code(0)
        .stdout(predicate::str::contains(
            "header-rejected (PP-HEADER-REJECTED)",
        ));
    h.join().unwrap();
    let (addr, h) = capture(OK);
    send(addr, &["--expect-close"]).code(1);
    h.join().unwrap();
    // Nothing listens on UDP there.
    let port = UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    ppctl()
        .args([
            "send",
            &format!("127.0.0.1:{port}"),
            "--udp",
            "--timeout",
            "2s",
        ])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("no-receiver (PP-NO-RECEIVER)"));
    // Nothing listens: a finding about the target (1), not ppctl failing (2).
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    ppctl()
        .args(["send", &format!("127.0.0.1:{port}")])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("no-receiver (PP-NO-RECEIVER)"));
}

#[test]
fn silence_is_a_timeout_and_a_banner_is_noted() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    ppctl()
        .args(["send", &addr.to_string(), "--timeout", "300ms", "--json"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("\"code\":\"PP-NO-REPLY\""));
    drop(listener);

    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let h = thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        s.write_all(b"220 smtp.example ESMTP\r\n").unwrap();
        read_until_pause(&mut s)
    });
    ppctl()
        .args([
            "send",
            &addr.to_string(),
            "--wait-banner",
            "2s",
            "--timeout",
            "300ms",
            "--no-payload",
        ])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("spoke first"));
    assert!(h.join().unwrap().starts_with(b"PROXY TCP4"));
}

#[test]
fn udp_sends_one_datagram_with_a_dgram_header() {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = socket.local_addr().unwrap();
    let h = thread::spawn(move || {
        let mut buf = [0u8; 2048];
        let (n, from) = socket.recv_from(&mut buf).unwrap();
        socket.send_to(b"pong", from).unwrap();
        (buf[..n].to_vec(), from)
    });
    let out = send(addr, &["--udp", "--data", "ping", "--json"])
        .success()
        .get_output()
        .stdout
        .clone();
    let (datagram, from) = h.join().unwrap();
    let mut expected = hex::decode("0d0a0d0a000d0a515549540a2112000c7f0000017f000001").unwrap();
    expected.extend_from_slice(&from.port().to_be_bytes());
    expected.extend_from_slice(&addr.port().to_be_bytes());
    expected.extend_from_slice(b"ping");
    assert_eq!(datagram, expected);
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["transport"], "udp");
    assert_eq!(v["finding"]["name"], "proxied");
    assert_eq!(v["reply"]["end"], "datagram");
    assert_eq!(v["reply"]["data"]["text"], "pong");
}

#[test]
fn load_mode_counts_and_measures() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let n = 30;
    let h = thread::spawn(move || {
        for _ in 0..n {
            let (mut s, _) = listener.accept().unwrap();
            thread::spawn(move || {
                let mut buf = [0u8; 1024];
                let mut got = Vec::new();
                while !got.ends_with(b"\r\n\r\n") {
                    match s.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(k) => got.extend_from_slice(&buf[..k]),
                    }
                }
                let _ = s.write_all(OK);
            });
        }
    });
    let out = send(
        addr,
        &[
            "--connections",
            "30",
            "--concurrency",
            "4",
            "--expect-status",
            "200",
            "--json",
        ],
    )
    .success()
    .get_output()
    .stdout
    .clone();
    h.join().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["mode"], "load");
    assert_eq!(v["load"]["connections"], 30);
    assert_eq!(v["load"]["ok"], 30);
    assert_eq!(v["load"]["statuses"]["200"], 30);
    assert_eq!(v["load"]["findings"]["proxied"], 30);
    assert!(v["load"]["latency_ms"]["p99"].as_f64().is_some());
    assert!(v["load"]["connections_per_second"].as_f64().unwrap() > 0.0);
}

#[test]
fn bad_arguments_exit_2_with_a_clear_message() {
    let cases: &[(&[&str], &str)] = &[
        (&["nohost"], "HOST:PORT"),
        (&["::1:80"], "brackets"),
        (&["127.0.0.1:1", "--tlv", "nope=1"], "unknown TLV type"),
        (&["127.0.0.1:1", "--tlv", "ALPN=0xzz"], "not hex"),
        (
            &["127.0.0.1:1", "-1", "--alpn", "h2"],
            "v1 can't carry TLVs",
        ),
        (
            &["127.0.0.1:1", "-1", "--corrupt", "crc"],
            "applies only to v2",
        ),
        (&["127.0.0.1:1", "--raw", "zz"], "--raw"),
        (&["127.0.0.1:1", "--split", "x"], "bytewise"),
        (&["127.0.0.1:1", "--timeout", "5x"], "not a duration"),
        (&["127.0.0.1:1", "-1", "-2"], "cannot be used"),
        (&["127.0.0.1:1", "--data", "\\q"], "escape"),
        (&["127.0.0.1:1", "--like", "nginx", "-2"], "cannot be used"),
    ];
    for (args, msg) in cases {
        ppctl()
            .arg("send")
            .args(*args)
            .assert()
            .code(2)
            .stderr(predicate::str::contains(*msg));
    }
}

#[test]
fn help_ends_with_examples_and_exit_codes() {
    let out = ppctl()
        .args(["send", "--help"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    let examples = text.find("Examples:").expect("an Examples block");
    let codes = text.find("Exit codes").expect("an Exit codes block");
    assert!(examples < codes, "{text}");
    assert!(text[examples..].matches("ppctl send ").count() >= 2);
    assert!(
        text.trim_end()
            .ends_with("(lower --concurrency or raise ulimit -n)."),
        "{text}"
    );
    // Defaults are the engine's, shown once.
    assert!(text.contains("[default: 5s]") && text.contains("[default: 60s]"));
    assert!(text.contains("--max-time <DURATION>") && text.contains("[default: 10s]"));
    assert!(text.contains("default 2s"));
}

/// A server that accepts every connection and sends it one byte every
/// 200 ms (for at most 30 s), never reading: a per-read timeout never
/// fires against it, only the exchange's deadline does.
fn trickler() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    thread::spawn(move || {
        for s in listener.incoming() {
            let Ok(mut s) = s else { return };
            thread::spawn(move || {
                let start = std::time::Instant::now();
                while start.elapsed() < Duration::from_secs(30) {
                    if s.write_all(b".").is_err() {
                        return;
                    }
                    thread::sleep(Duration::from_millis(200));
                }
            });
        }
    });
    addr
}

/// Run ppctl with `args`, bounded; return its output and how long it took.
fn timed(args: &[&str]) -> (std::process::Output, Duration) {
    let start = std::time::Instant::now();
    let out = ppctl()
        .args(args)
        .timeout(Duration::from_secs(40))
        .output()
        .unwrap();
    (out, start.elapsed())
}

#[test]
fn max_time_bounds_an_exchange_with_a_trickling_server() {
    let addr = trickler().to_string();
    let (out, took) = timed(&[
        "send",
        &addr,
        "--timeout",
        "1s",
        "--max-time",
        "2s",
        "--json",
    ]);
    assert!(
        took < Duration::from_secs(8) && took >= Duration::from_millis(1800),
        "took {took:?}"
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!("{e}: {}", String::from_utf8_lossy(&out.stderr));
    });
    assert_eq!(v["reply"]["end"], "max-time", "{v:#}");
    // The partial answer is kept and judged.
    assert!(
        v["reply"]["data"]["length"].as_u64().unwrap_or(0) >= 3,
        "{v:#}"
    );
    assert!(v["finding"]["name"].is_string(), "{v:#}");
    assert_eq!(v["max_time_ms"], 2000, "{v:#}");
    // The human view says why it stopped.
    let (out, _) = timed(&["send", &addr, "--timeout", "1s", "--max-time", "1s"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("--max-time"), "{text}");
}

#[test]
fn load_mode_stops_every_exchange_at_the_duration() {
    let addr = trickler().to_string();
    let (out, took) = timed(&[
        "send",
        &addr,
        "--connections",
        "1000",
        "--concurrency",
        "8",
        "--duration",
        "2s",
        "--json",
    ]);
    assert!(took < Duration::from_secs(8), "took {took:?}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!("{e}: {}", String::from_utf8_lossy(&out.stderr));
    });
    assert_eq!(v["load"]["capped"], true, "{v:#}");
    assert_eq!(v["load"]["stopped"], 8, "{v:#}");
    assert_eq!(v["load"]["connections"], 0, "{v:#}");
    // Nothing was completed: not a pass.
    assert_eq!(out.status.code(), Some(1));
}

/// A quick HTTP server with a deep backlog: it reads the request, answers
/// 200 and closes, on four threads, for at most 60 s.
fn quick_server() -> SocketAddr {
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    socket.set_reuse_address(true).unwrap();
    socket
        .bind(&SocketAddr::from(([127, 0, 0, 1], 0)).into())
        .unwrap();
    socket.listen(4096).unwrap();
    let listener: TcpListener = socket.into();
    let addr = listener.local_addr().unwrap();
    let listener = std::sync::Arc::new(listener);
    for _ in 0..4 {
        let listener = listener.clone();
        thread::spawn(move || {
            let start = std::time::Instant::now();
            while start.elapsed() < Duration::from_secs(60) {
                let Ok((mut s, _)) = listener.accept() else {
                    return;
                };
                let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
                let mut buf = [0u8; 4096];
                let mut got = Vec::new();
                while !got.ends_with(b"\r\n\r\n") {
                    match s.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(k) => got.extend_from_slice(&buf[..k]),
                    }
                }
                let _ = s.write_all(OK);
                let _ = s.shutdown(std::net::Shutdown::Write);
            }
        });
    }
    addr
}

/// `sh -c 'ulimit -n N; exec ppctl ARGS'`: ppctl under a low limit on open
/// files (soft and hard).
fn under_ulimit(n: u32, args: &[&str]) -> std::process::Output {
    let bin = assert_cmd::cargo::cargo_bin("ppctl");
    std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("ulimit -n {n} && exec \"$0\" \"$@\""))
        .arg(bin)
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

#[test]
fn load_mode_fits_its_concurrency_under_the_descriptor_limit() {
    let addr = quick_server().to_string();
    let out = under_ulimit(
        256,
        &[
            "send",
            &addr,
            "--connections",
            "2000",
            "--concurrency",
            "500",
            "--json",
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    let v: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {stderr}"));
    // The cap is said, and not one connection is blamed on the target.
    assert!(stderr.contains("--concurrency 500 lowered to"), "{stderr}");
    assert!(v["load"]["concurrency"].as_u64().unwrap() < 256, "{v:#}");
    assert_eq!(v["load"]["connections"], 2000, "{v:#}");
    assert!(v["load"]["findings"].get("unreachable").is_none(), "{v:#}");
    assert_eq!(v["load"]["findings"]["proxied"], 2000, "{v:#}");
    assert_eq!(out.status.code(), Some(0), "{stderr}");
}

#[test]
fn no_descriptor_to_spare_is_a_local_error() {
    // With 12 descriptors, stdio and the runtime leave none to spare.
    let addr = quick_server().to_string();
    let out = under_ulimit(
        12,
        &["send", &addr, "--connections", "20", "--concurrency", "5"],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("file descriptor"), "{stderr}");
    assert!(!String::from_utf8_lossy(&out.stdout).contains("unreachable"));
}

/// Ctrl-C (SIGINT) during a load run against a real `ppctl listen`: the
/// statistics of the connections made so far are printed on stdout, the
/// exit is 130, and with stderr not a terminal nothing but the one line
/// that says the results are partial goes there (no progress bar).
#[test]
fn ctrl_c_prints_the_partial_load_statistics_and_exits_130() {
    for json in [false, true] {
        // A receiver of its own: its lines are this run's connections,
        // made after ppctl send caught SIGINT.
        let listen = Listen::start(&["--proxy-protocol", "require"]);
        let target = listen.addr().to_string();
        let mut args = vec!["send", &target, "--connections", "10000000"];
        args.extend(["--concurrency", "4", "--duration", "5m", "--color", "never"]);
        if json {
            args.push("--json");
        }
        let out = common::interrupted(&args, || {
            // The run is under way once the receiver has logged connections.
            for _ in 0..20 {
                listen.next_json();
            }
        });
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(130), "{stdout}\n{stderr}");
        assert!(
            stderr.starts_with("ppctl: interrupted (Ctrl-C): the statistics cover the "),
            "{stderr}"
        );
        assert!(stderr
            .trim_end()
            .ends_with("of 10000000 connections made before it"));
        assert_eq!(
            stderr.lines().count(),
            1,
            "only that line, no progress: {stderr:?}"
        );
        if json {
            let v: serde_json::Value = serde_json::from_str(&stdout).expect("one JSON document");
            let load = &v["load"];
            assert_eq!(load["interrupted"], true, "{v:#}");
            assert_eq!(load["capped"], false, "{v:#}");
            let made = load["connections"].as_u64().expect("a count");
            assert!((1..10_000_000).contains(&made), "{v:#}");
            assert_eq!(load["ok"], made, "every one was proxied: {v:#}");
            assert!(load["latency_ms"]["p50"].as_f64().is_some(), "{v:#}");
        } else {
            assert!(stdout.contains("(interrupted by Ctrl-C"), "{stdout}");
            for key in ["load ", "rate ", "latency ", "ok ", "ends "] {
                assert!(
                    stdout.lines().any(|l| l.starts_with(key)),
                    "{key}: {stdout}"
                );
            }
            assert!(stdout.contains("proxied (PP-PROXIED)"), "{stdout}");
        }
    }
}

/// On a terminal (a pty from `script`), a load run draws its progress on
/// stderr, and clears it before the results.
#[test]
fn a_load_run_shows_progress_on_a_terminal() {
    if std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("SKIP: no `script` (util-linux) to give ppctl a terminal");
        return;
    }
    let listen = Listen::start(&["--proxy-protocol", "require"]);
    let ppctl = assert_cmd::cargo::cargo_bin("ppctl");
    // stdout to /dev/null: the terminal gets only stderr.
    let inner = format!(
        "{} send {} --connections 3000 --concurrency 4 >/dev/null",
        ppctl.display(),
        listen.addr()
    );
    let out = std::process::Command::new("timeout")
        .args(["60", "script", "-qec", &inner, "/dev/null"])
        .env("COLUMNS", "80")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run script");
    let tty = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{tty}");
    assert!(tty.contains("/3000 connections"), "{tty}");
    // Cleared at the end: the last thing written erases the line.
    assert!(
        tty.trim_end_matches(['\r', '\n']).ends_with("\u{1b}[2K"),
        "{tty:?}"
    );
}

/// A server that greets after the header, then hangs up on the client's
/// opening without a word (a reset): the greeting is no proof that the
/// header was read (MariaDB greets before it reads anything, and the reset
/// can cost the client the error that said why), so it is
/// `header-rejected`, never `proxied`.
#[test]
fn a_greeting_then_a_reset_after_a_header_is_header_rejected() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let h = thread::spawn(move || {
        let (s, mut got) = greet_after_the_header(&listener);
        // The client's EHLO.
        read_line(&s, &mut got);
        // SO_LINGER 0: the close is a reset.
        socket2::SockRef::from(&s)
            .set_linger(Some(Duration::ZERO))
            .unwrap();
        got
    });
    let (code, doc) = common::send_json(&[&addr.to_string(), "--protocol", "smtp"]);
    let got = h.join().unwrap();
    assert!(got.starts_with(b"PROXY TCP4 "), "{got:?}");
    assert_eq!(code, 1, "{doc}");
    assert_eq!(doc["finding"]["name"], "header-rejected", "{doc}");
    assert_eq!(
        doc["protocol"]["greeting"]["words"], "220 mail.ppctl.test ESMTP",
        "{doc}"
    );
}

/// The same server, silent after its greeting: the opening left
/// unanswered is `no-reply`, not `proxied`.
#[test]
fn a_greeting_then_silence_after_a_header_is_no_reply() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let h = thread::spawn(move || {
        let (mut s, _) = greet_after_the_header(&listener);
        // Silent until the client gives up.
        let mut buf = [0u8; 512];
        while s.read(&mut buf).is_ok_and(|n| n > 0) {}
    });
    ppctl()
        .args([
            "send",
            &addr.to_string(),
            "--protocol",
            "smtp",
            "--timeout",
            "500ms",
        ])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("no-reply (PP-NO-REPLY)"))
        .stdout(predicate::str::contains(
            "greeted with `220 mail.ppctl.test ESMTP`, then not a word",
        ));
    h.join().unwrap();
}

/// A mail server's first steps for the two tests above: take a
/// connection, read the header line, then greet. Returns what was read.
fn greet_after_the_header(listener: &TcpListener) -> (TcpStream, Vec<u8>) {
    let (mut s, _) = listener.accept().unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut got = Vec::new();
    read_line(&s, &mut got);
    s.write_all(b"220 mail.ppctl.test ESMTP\r\n").unwrap();
    (s, got)
}

/// Read from `s` onto `got` until a line more ends there.
fn read_line(mut s: &TcpStream, got: &mut Vec<u8>) {
    let from = got.len();
    let mut buf = [0u8; 512];
    while !got[from..].ends_with(b"\r\n") {
        let n = s.read(&mut buf).unwrap();
        assert!(n > 0, "the client hung up before its line ended");
        got.extend_from_slice(&buf[..n]);
    }
}
