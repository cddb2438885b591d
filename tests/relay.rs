//! `ppctl relay` end to end: the binary on 127.0.0.1:0 between real peers
//! (curl, nginx, HAProxy, ppctl send/listen) and in-test servers. Every
//! wait is bounded.

mod common;
mod listen_support;

use std::io::{Read, Write};
use std::net::{Ipv4Addr, Shutdown, TcpListener, TcpStream};
use std::process::Command;
use std::thread;

use common::peers::{self, Haproxy, Nginx, Peer};
use common::{free_port, ppctl};
use listen_support::{read_all, Listen, BOUND};
use ring::digest::{Context, SHA256};
use serde_json::Value;

/// `ppctl relay 127.0.0.1:0 --to 127.0.0.1:UPSTREAM <args>`.
fn relay(upstream: u16, args: &[&str]) -> Listen {
    let to = format!("127.0.0.1:{upstream}");
    Listen::start_raw(&[&["relay", "127.0.0.1:0", "--to", &to], args].concat())
}

/// Wait for the relay to exit; its exit code and JSON lines.
fn finish(r: Listen) -> (i32, Vec<Value>, Value) {
    let (status, lines) = r.finish();
    let (records, summary) = Listen::split(&lines);
    (status.code().unwrap_or(-1), records, summary)
}

/// curl through the relay: (body, curl's local port).
fn curl(port: u16) -> (String, u16) {
    let curl = peers::path(Peer::Curl).expect("curl installed");
    let out = Command::new(curl)
        .args(["-s", "--max-time", "10", "-w", "\n%{local_port}"])
        .arg(format!("http://127.0.0.1:{port}/"))
        .output()
        .expect("run curl");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, local) = text.rsplit_once('\n').unwrap_or((&text, "0"));
    (body.to_string(), local.trim().parse().unwrap_or(0))
}

fn curl_through_relay_to_nginx(send: &str, version: u64) {
    if !peers::require(Peer::Nginx) || !peers::require(Peer::Curl) {
        return;
    }
    let port = free_port();
    let nginx = Nginx::start("pp_http", &[("PORT", &port.to_string())]);
    let r = relay(port, &["--send", send, "--json", "--count", "1"]);
    let (body, curl_port) = curl(r.port);
    assert!(
        body.contains("proxy_protocol_addr=127.0.0.1 "),
        "nginx saw: {body}"
    );
    assert!(
        body.contains(&format!("proxy_protocol_port={curl_port} ")),
        "nginx saw: {body} (curl's port {curl_port})"
    );
    let log = nginx.wait_access_log("GET / HTTP/1.1");
    assert!(log.contains("\"GET / HTTP/1.1\" 200"), "{log}");
    let (code, recs, summary) = finish(r);
    assert_eq!(code, 0);
    let rec = &recs[0];
    assert_eq!(rec["type"], "connection");
    assert_eq!(rec["schema"], 3);
    assert_eq!(rec["client"]["port"], u64::from(curl_port));
    assert_eq!(rec["sent"]["version"], version);
    assert_eq!(rec["sent"]["source"]["port"], u64::from(curl_port));
    assert_eq!(rec["request"], "GET / HTTP/1.1");
    assert_eq!(rec["status"], "HTTP/1.1 200 OK");
    assert_eq!(rec["finding"]["name"], "proxied");
    assert_eq!(rec["finding"]["code"], "PP-PROXIED");
    assert_eq!(summary["findings"]["proxied"], 1);
}

#[test]
fn curl_relay_v1_nginx_proxy_protocol_sees_curls_address() {
    curl_through_relay_to_nginx("v1", 1);
}

#[test]
fn curl_relay_v2_nginx_proxy_protocol_sees_curls_address() {
    curl_through_relay_to_nginx("v2", 2);
}

#[test]
fn curl_relay_v2_haproxy_accept_proxy_sees_curls_address_and_tlvs() {
    if !peers::require(Peer::Haproxy) || !peers::require(Peer::Curl) {
        return;
    }
    let port = free_port();
    let _haproxy = Haproxy::start("accept_proxy", &[("PORT", &port.to_string())]);
    let r = relay(
        port,
        &[
            "--send",
            "v2",
            "--authority",
            "example.test",
            "--crc32c",
            "--json",
            "--count",
            "1",
        ],
    );
    let (body, curl_port) = curl(r.port);
    assert!(
        body.contains(&format!("src=127.0.0.1 src_port={curl_port} ")),
        "{body}"
    );
    assert!(body.contains("authority=example.test"), "{body}");
    let (code, recs, _) = finish(r);
    assert_eq!(code, 0);
    assert_eq!(recs[0]["finding"]["name"], "proxied");
    assert!(recs[0]["sent"]["crc32c"].is_string(), "{}", recs[0]);
}

#[test]
fn relay_v1_to_nginx_without_proxy_protocol_names_unexpected_header() {
    if !peers::require(Peer::Nginx) {
        return;
    }
    let port = free_port();
    let _nginx = Nginx::start("plain_http", &[("PORT", &port.to_string())]);
    // Piped, without --tap: the connection's line is written, as listen's.
    let r = relay(port, &["--send", "v1", "--count", "1"]);
    assert!(
        r.first.starts_with("listening on 127.0.0.1:"),
        "{}",
        r.first
    );
    let mut s = TcpStream::connect((Ipv4Addr::LOCALHOST, r.port)).expect("connect");
    s.set_read_timeout(Some(BOUND)).expect("timeout");
    s.write_all(common::HTTP_GET).expect("send");
    let answer = read_all(&mut s);
    assert!(
        answer.starts_with(b"HTTP/1.1 400 Bad Request\r\n"),
        "{}",
        String::from_utf8_lossy(&answer)
    );
    // nginx half-closes after its 400 (lingering close): the client hangs up.
    drop(s);
    let (status, lines) = r.finish_text();
    let text = lines.join("\n");
    assert_eq!(status.code(), Some(1), "{text}");
    assert!(
        text.contains("unexpected-header (PP-UNEXPECTED-HEADER)"),
        "{text}"
    );
    // The connection's own line, not only the summary: one line (it is
    // grepped), the client and the finding first.
    let tap = lines
        .iter()
        .find(|l| l.contains("(PP-") && l.contains(" to 127.0.0.1:"))
        .unwrap_or_else(|| panic!("no tap line: {text}"));
    let first = tap.find(" unexpected-header (PP-UNEXPECTED-HEADER)");
    assert!(first.is_some_and(|at| at < 30), "{tap}");
    assert!(text.contains("\"HTTP/1.1 400 Bad Request\""), "{text}");
    assert!(
        text.contains("[ingress-nginx-use-proxy-protocol]"),
        "{text}"
    );
    // Its details, under it, fit 80 columns.
    for l in lines
        .iter()
        .skip_while(|l| *l != tap)
        .skip(1)
        .take_while(|l| !l.starts_with("summary:"))
    {
        assert!(l.chars().count() <= 80, "over 80 columns: {l:?}");
    }
}

#[test]
fn an_upstream_that_refuses_is_reported_and_the_client_closed() {
    let dead = free_port();
    let r = relay(dead, &["--json", "--count", "1"]);
    let mut s = TcpStream::connect((Ipv4Addr::LOCALHOST, r.port)).expect("connect");
    s.set_read_timeout(Some(BOUND)).expect("timeout");
    let _ = s.write_all(common::HTTP_GET);
    assert_eq!(read_all(&mut s), b"", "a close, no fake answer");
    let (code, recs, summary) = finish(r);
    assert_eq!(code, 1);
    assert_eq!(recs[0]["finding"]["name"], "no-receiver");
    assert_eq!(recs[0]["finding"]["code"], "PP-NO-RECEIVER");
    assert_eq!(recs[0]["ending"], "refused");
    assert!(
        recs[0]["error"]
            .as_str()
            .is_some_and(|e| e.contains("refused")),
        "{}",
        recs[0]
    );
    assert_eq!(summary["findings"]["no-receiver"], 1);
}

#[test]
fn send_v2_relay_translates_to_v1_and_listen_gets_the_claimed_source() {
    let listen = Listen::start(&["--proxy-protocol", "require", "--count", "1"]);
    let r = relay(
        listen.port,
        &["--accept", "v2", "--send", "v1", "--json", "--count", "1"],
    );
    ppctl()
        .args(["send", &format!("127.0.0.1:{}", r.port), "--v2"])
        .args(["--src", "203.0.113.7:4444", "--dst", "198.51.100.9:443"])
        .args(["--path", "/json", "--timeout", "10s"])
        .timeout(BOUND)
        .assert()
        .success();
    let (code, recs, _) = finish(r);
    assert_eq!(code, 0);
    let rec = &recs[0];
    assert_eq!(rec["received"]["version"], 2);
    assert_eq!(rec["claimed"]["address"], "203.0.113.7");
    assert_eq!(rec["sent"]["version"], 1);
    assert_eq!(rec["sent"]["source"]["address"], "203.0.113.7");
    assert_eq!(rec["sent"]["source"]["port"], 4444);
    assert_eq!(rec["sent"]["destination"]["address"], "198.51.100.9");
    assert_eq!(rec["finding"]["name"], "proxied");
    let (status, lines) = listen.finish();
    assert_eq!(status.code(), Some(0));
    let (lrecs, _) = Listen::split(&lines);
    assert_eq!(lrecs[0]["header"]["version"], 1);
    assert_eq!(lrecs[0]["client"]["address"], "203.0.113.7");
    assert_eq!(lrecs[0]["client"]["port"], 4444);
}

#[test]
fn accept_v1_closes_a_v2_client_as_header_rejected() {
    let listen = Listen::start(&["--count", "1"]);
    let r = relay(listen.port, &["--accept", "v1", "--json", "--count", "1"]);
    ppctl()
        .args(["send", &format!("127.0.0.1:{}", r.port), "--v2"])
        .timeout(BOUND)
        .assert()
        .code(1);
    let (code, recs, _) = finish(r);
    assert_eq!(code, 1);
    assert_eq!(recs[0]["finding"]["name"], "header-rejected");
    assert_eq!(recs[0]["upstream"], Value::Null);
}

/// A deterministic stream of `len` bytes (xorshift), fed to `sink` in
/// chunks.
fn pattern(seed: u64, len: usize, mut sink: impl FnMut(&[u8])) {
    let mut x = seed | 1;
    let mut chunk = vec![0u8; 64 * 1024];
    let mut left = len;
    while left > 0 {
        let n = left.min(chunk.len());
        for b in chunk[..n].chunks_mut(8) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let bytes = x.to_le_bytes();
            b.copy_from_slice(&bytes[..b.len()]);
        }
        sink(&chunk[..n]);
        left -= n;
    }
}

fn digest_of(seed: u64, len: usize) -> Vec<u8> {
    let mut c = Context::new(&SHA256);
    pattern(seed, len, |b| c.update(b));
    c.finish().as_ref().to_vec()
}

/// Read to EOF, hashing; returns (bytes, digest).
fn drain(s: &mut TcpStream) -> (usize, Vec<u8>) {
    let mut c = Context::new(&SHA256);
    let mut buf = vec![0u8; 64 * 1024];
    let mut total = 0;
    loop {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                c.update(&buf[..n]);
                total += n;
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => panic!("read after {total} bytes: {e}"),
        }
    }
    (total, c.finish().as_ref().to_vec())
}

/// Write the pattern, then shut down the write side (half-close).
fn feed(s: &mut TcpStream, seed: u64, len: usize) {
    pattern(seed, len, |b| s.write_all(b).expect("write"));
    s.shutdown(Shutdown::Write).expect("half-close");
}

#[test]
fn bytes_pass_exactly_both_ways_with_half_close() {
    const LEN: usize = 256 * 1024 * 1024;
    let upstream = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
    let up_port = upstream.local_addr().expect("addr").port();
    // The upstream: read the v1 line, then receive to EOF while sending its
    // own 256 MiB and half-closing.
    let server = thread::spawn(move || {
        let (mut s, _) = upstream.accept().expect("accept");
        s.set_read_timeout(Some(BOUND)).expect("timeout");
        s.set_write_timeout(Some(BOUND)).expect("timeout");
        let mut line = Vec::new();
        let mut b = [0u8; 1];
        while !line.ends_with(b"\r\n") {
            s.read_exact(&mut b).expect("header byte");
            line.push(b[0]);
        }
        let mut w = s.try_clone().expect("clone");
        let writer = thread::spawn(move || feed(&mut w, 2, LEN));
        let got = drain(&mut s);
        writer.join().expect("upstream writer");
        (String::from_utf8_lossy(&line).into_owned(), got)
    });
    let r = relay(up_port, &["--json", "--count", "1"]);
    let mut c = TcpStream::connect((Ipv4Addr::LOCALHOST, r.port)).expect("connect");
    c.set_read_timeout(Some(BOUND)).expect("timeout");
    c.set_write_timeout(Some(BOUND)).expect("timeout");
    let mut w = c.try_clone().expect("clone");
    let writer = thread::spawn(move || feed(&mut w, 1, LEN));
    let down = drain(&mut c);
    writer.join().expect("client writer");
    let (line, up) = server.join().expect("upstream");
    let (code, recs, _) = finish(r);
    assert_relayed_whole(&line, up, down, (1, 2), LEN, &recs[0]);
    assert_eq!(code, 0, "{}", recs[0]);
}

/// Upstream read a v1 line, then `len` bytes of pattern `seeds.0`, and
/// the client `len` bytes of pattern `seeds.1`, whole (length and
/// SHA-256); the record counts both.
fn assert_relayed_whole(
    line: &str,
    up: (usize, Vec<u8>),
    down: (usize, Vec<u8>),
    seeds: (u64, u64),
    len: usize,
    rec: &Value,
) {
    assert!(
        line.starts_with("PROXY TCP4 127.0.0.1 127.0.0.1 "),
        "{line}"
    );
    assert_eq!(up.0, len, "upload length");
    assert_eq!(up.1, digest_of(seeds.0, len), "upload SHA-256");
    assert_eq!(down.0, len, "download length");
    assert_eq!(down.1, digest_of(seeds.1, len), "download SHA-256");
    assert_eq!(rec["bytes_up"], len as u64, "{rec}");
    assert_eq!(rec["bytes_down"], len as u64, "{rec}");
}

/// A bulk direction (a read filled the relay's 128 KiB buffer) goes on
/// through a pipe by splice(2) on Linux: these transfers are several times
/// the pipe's 1 MiB, so each fills and empties it many times over.
const BULK: usize = 8 * 1024 * 1024;

/// Read the v1 line the relay sends first, a byte at a time (nothing
/// after it is taken).
fn read_v1_line(s: &mut TcpStream) -> String {
    let mut line = Vec::new();
    let mut b = [0u8; 1];
    while !line.ends_with(b"\r\n") {
        s.read_exact(&mut b).expect("header byte");
        line.push(b[0]);
    }
    String::from_utf8_lossy(&line).into_owned()
}

/// An upstream on 127.0.0.1 that runs `serve` on the one connection it
/// takes (read and write timeouts set): its port and thread.
fn upstream_with<T: Send + 'static>(
    serve: impl FnOnce(TcpStream) -> T + Send + 'static,
) -> (u16, thread::JoinHandle<T>) {
    let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
    let port = l.local_addr().expect("addr").port();
    let t = thread::spawn(move || {
        let (s, _) = l.accept().expect("accept");
        s.set_read_timeout(Some(BOUND)).expect("timeout");
        s.set_write_timeout(Some(BOUND)).expect("timeout");
        serve(s)
    });
    (port, t)
}

/// A client connected to the relay on `port`, with timeouts.
fn client_of(port: u16) -> TcpStream {
    let c = TcpStream::connect((Ipv4Addr::LOCALHOST, port)).expect("connect");
    c.set_read_timeout(Some(BOUND)).expect("timeout");
    c.set_write_timeout(Some(BOUND)).expect("timeout");
    c
}

#[test]
fn a_bulk_upload_half_closed_then_a_bulk_answer_pass_exactly() {
    // Upstream takes the whole upload to its EOF, then answers in bulk.
    let (up_port, server) = upstream_with(|mut s| {
        let line = read_v1_line(&mut s);
        let got = drain(&mut s);
        feed(&mut s, 12, BULK);
        (line, got)
    });
    let r = relay(up_port, &["--json", "--count", "1"]);
    let mut c = client_of(r.port);
    feed(&mut c, 11, BULK);
    let down = drain(&mut c);
    let (line, up) = server.join().expect("upstream");
    let (code, recs, summary) = finish(r);
    assert_relayed_whole(&line, up, down, (11, 12), BULK, &recs[0]);
    assert_eq!(code, 0, "{}", recs[0]);
    assert_eq!(recs[0]["ending"], "client-closed", "{}", recs[0]);
    assert_eq!(summary["bytes_up"], BULK as u64, "{summary}");
    assert_eq!(summary["bytes_down"], BULK as u64, "{summary}");
}

#[test]
fn a_bulk_answer_half_closed_then_a_bulk_upload_pass_exactly() {
    // Upstream speaks first, in bulk, and half-closes; the client uploads
    // once it has the whole answer, through the direction still open.
    let (up_port, server) = upstream_with(|mut s| {
        let line = read_v1_line(&mut s);
        feed(&mut s, 14, BULK);
        (line, drain(&mut s))
    });
    let r = relay(up_port, &["--json", "--count", "1"]);
    let mut c = client_of(r.port);
    let down = drain(&mut c);
    feed(&mut c, 13, BULK);
    let (line, up) = server.join().expect("upstream");
    assert_eq!(read_all(&mut c), b"", "the relay closes after both EOFs");
    assert!(
        line.starts_with("PROXY TCP4 127.0.0.1 127.0.0.1 "),
        "{line}"
    );
    assert_eq!(down.0, BULK, "answer length");
    assert_eq!(down.1, digest_of(14, BULK), "answer SHA-256");
    assert_eq!(up.0, BULK, "upload length");
    assert_eq!(up.1, digest_of(13, BULK), "upload SHA-256");
    let (_, recs, summary) = finish(r);
    assert_eq!(recs[0]["bytes_up"], BULK as u64, "{}", recs[0]);
    assert_eq!(recs[0]["bytes_down"], BULK as u64, "{}", recs[0]);
    assert_eq!(recs[0]["ending"], "upstream-closed", "{}", recs[0]);
    assert_eq!(summary["bytes_up"], BULK as u64, "{summary}");
    assert_eq!(summary["bytes_down"], BULK as u64, "{summary}");
}

/// Read up to `limit` bytes of `s` (writing 64 KiB of answer before each
/// read, with `answer`), then set SO_LINGER 0 so that dropping `s` is a
/// reset; the bytes read.
fn read_then_reset(s: &mut TcpStream, limit: usize, answer: bool) -> usize {
    let chunk = vec![b'd'; 64 * 1024];
    let mut buf = vec![0u8; 64 * 1024];
    let mut read = 0;
    while read < limit {
        if answer && s.write_all(&chunk).is_err() {
            break;
        }
        match s.read(&mut buf[..(limit - read).min(64 * 1024)]) {
            Ok(0) | Err(_) => break,
            Ok(n) => read += n,
        }
    }
    // SO_LINGER 0: the close is a reset.
    socket2::SockRef::from(&*s)
        .set_linger(Some(std::time::Duration::ZERO))
        .expect("linger");
    read
}

/// An upstream that reads 4 MiB of a bulk upload (answering in bulk as it
/// reads, with `answer`), then resets: the relay's record, the summary,
/// and how many bytes the client got.
fn an_upstream_that_resets_mid_bulk(answer: bool) -> (i32, Value, Value, usize) {
    const READ: usize = 4 * 1024 * 1024;
    let (up_port, server) = upstream_with(move |mut s| {
        read_v1_line(&mut s);
        // Write and read in turn (one thread: the reset below is the only
        // close), until READ bytes are in.
        read_then_reset(&mut s, READ, answer)
    });
    let r = relay(up_port, &["--json", "--count", "1"]);
    let mut c = client_of(r.port);
    let mut w = c.try_clone().expect("clone");
    // Four times what upstream reads: the writes end with the reset.
    let writer = thread::spawn(move || {
        let mut failed = false;
        pattern(15, 4 * READ, |b| failed = failed || w.write_all(b).is_err());
    });
    let mut buf = vec![0u8; 64 * 1024];
    let mut got = 0;
    while let Ok(n @ 1..) = c.read(&mut buf) {
        got += n;
    }
    writer.join().expect("client writer");
    assert_eq!(server.join().expect("upstream"), READ);
    let (code, recs, summary) = finish(r);
    let rec = recs[0].clone();
    assert_eq!(rec["ending"], "upstream-reset", "{rec}");
    assert!(
        rec["error"]
            .as_str()
            .is_some_and(|e| e.contains("after it had taken")),
        "{rec}"
    );
    let up = rec["bytes_up"].as_u64().unwrap_or(0);
    assert!(up >= READ as u64, "{rec}");
    let down = rec["bytes_down"].as_u64().unwrap_or(u64::MAX);
    assert!(down >= got as u64, "{rec} (client got {got})");
    (code, rec, summary, got)
}

#[test]
fn an_upstream_that_resets_mid_bulk_upload_is_reset_mid_stream() {
    let (code, rec, summary, got) = an_upstream_that_resets_mid_bulk(false);
    assert_eq!(code, 1, "{rec}");
    assert_eq!(rec["finding"]["name"], "reset-mid-stream", "{rec}");
    assert_eq!(summary["findings"]["reset-mid-stream"], 1, "{summary}");
    assert_eq!(got, 0);
}

#[test]
fn an_upstream_that_resets_mid_bulk_both_ways_says_what_it_had_taken() {
    // Upstream answered: the exchange is judged proxied, with the reset
    // and what it had taken said (as with the copy).
    let (code, rec, summary, _) = an_upstream_that_resets_mid_bulk(true);
    assert_eq!(code, 0, "{rec}");
    assert_eq!(rec["finding"]["name"], "proxied", "{rec}");
    assert_eq!(summary["findings"]["proxied"], 1, "{summary}");
}

/// The pipes a process holds open (/proc/<pid>/fd).
fn pipes(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| {
            d.filter_map(Result::ok)
                .filter(|e| {
                    std::fs::read_link(e.path())
                        .is_ok_and(|l| l.to_string_lossy().starts_with("pipe:"))
                })
                .count()
        })
        .unwrap_or(0)
}

/// An upstream that sends in bulk to a client that reads `BULK` bytes and
/// then no more: the transfer stalls with the pipe full, and `cut` (the
/// idle timeout, or the stop flag) still ends it. Upstream keeps its
/// socket until the relay is done (a close of its own would be the
/// ending).
fn a_client_that_stops_reading_mid_bulk(
    args: &[&str],
    cut: impl FnOnce(&Listen),
) -> (Value, Value) {
    let (up_port, server) = upstream_with(|mut s| {
        read_v1_line(&mut s);
        s.set_write_timeout(Some(std::time::Duration::from_secs(1)))
            .expect("timeout");
        let chunk = vec![b'd'; 1024 * 1024];
        let mut written = 0;
        while written < 256 * 1024 * 1024 {
            match s.write(&chunk) {
                Ok(n) => written += n,
                Err(_) => break,
            }
        }
        (written, s)
    });
    let r = relay(up_port, &[&["--json"], args].concat());
    let before = pipes(r.pid());
    let mut c = client_of(r.port);
    let mut buf = vec![0u8; 64 * 1024];
    let mut got = 0;
    while got < BULK {
        match c.read(&mut buf[..(BULK - got).min(64 * 1024)]) {
            Ok(0) | Err(_) => break,
            Ok(n) => got += n,
        }
    }
    assert_eq!(got, BULK);
    // The answer went bulk: its pipe is open (until the cut).
    if cfg!(target_os = "linux") {
        assert_eq!(pipes(r.pid()), before + 2, "a pipe of two ends");
    }
    cut(&r);
    let (written, upstream) = server.join().expect("upstream");
    let (_, recs, summary) = finish(r);
    drop((c, upstream));
    let through = recs[0]["bytes_down"].as_u64().unwrap_or(u64::MAX);
    assert!(through <= written as u64, "{}", recs[0]);
    assert!(through >= BULK as u64, "{}", recs[0]);
    assert!(written < 64 * 1024 * 1024, "upstream wrote {written} bytes");
    // Cut, whichever way: by the relay's bound (the bytes already came).
    assert_eq!(recs[0]["ending"], "timed-out", "{}", recs[0]);
    assert_eq!(recs[0]["finding"]["name"], "proxied", "{}", recs[0]);
    (recs[0].clone(), summary)
}

/// With every descriptor under `ulimit -n` given to connections
/// (`--max-conns` lowered to fit), a bulk transfer makes no pipe (it would
/// take a connection's descriptors) and is copied, exactly.
#[test]
fn a_bulk_answer_with_no_descriptors_to_spare_is_copied_without_a_pipe() {
    let (up_port, server) = upstream_with(|mut s| {
        read_v1_line(&mut s);
        feed(&mut s, 16, BULK);
    });
    let r = relay(
        up_port,
        &["--json", "--count", "1", "--max-conns", "4000000000"],
    );
    let before = pipes(r.pid());
    let mut c = client_of(r.port);
    let mut half = vec![0u8; BULK / 2];
    c.read_exact(&mut half).expect("the first half");
    // Upstream is still sending: a pipe would be open now.
    assert_eq!(pipes(r.pid()), before, "no pipe");
    let rest = drain(&mut c);
    server.join().expect("upstream");
    let mut expected = Vec::with_capacity(BULK);
    pattern(16, BULK, |b| expected.extend_from_slice(b));
    assert_eq!(half, expected[..BULK / 2], "the first half");
    assert_eq!(rest.0, BULK - BULK / 2, "the rest's length");
    let mut tail = Context::new(&SHA256);
    tail.update(&expected[BULK / 2..]);
    assert_eq!(rest.1, tail.finish().as_ref(), "the rest's SHA-256");
    drop(c);
    let (code, recs, _) = finish(r);
    assert_eq!(code, 0, "{}", recs[0]);
    assert_eq!(recs[0]["bytes_down"], BULK as u64);
}

#[test]
fn a_client_that_stops_reading_mid_bulk_hits_the_idle_timeout() {
    let args = ["--idle-timeout", "300ms", "--count", "1"];
    let (rec, summary) = a_client_that_stops_reading_mid_bulk(&args, |_| {});
    assert_eq!(summary["interrupted"], false, "{rec}");
}

#[test]
fn a_client_that_stops_reading_mid_bulk_is_cut_by_the_stop() {
    // (Without --count: after it, the last connections end on their own.)
    let (rec, summary) = a_client_that_stops_reading_mid_bulk(&["--drain", "200ms"], |r| r.term());
    assert_eq!(summary["interrupted"], true, "{rec}");
}

#[test]
fn a_client_that_half_closes_still_gets_the_whole_answer() {
    // The upstream answers only after the client's EOF.
    let upstream = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
    let up_port = upstream.local_addr().expect("addr").port();
    let server = thread::spawn(move || {
        let (mut s, _) = upstream.accept().expect("accept");
        s.set_read_timeout(Some(BOUND)).expect("timeout");
        let got = read_all(&mut s);
        s.write_all(b"seen ").expect("answer");
        s.write_all(&got).expect("answer");
    });
    let r = relay(up_port, &["--send", "none", "--json", "--count", "1"]);
    let answer = listen_support::talk(r.port, b"ping", true);
    server.join().expect("upstream");
    assert_eq!(answer, b"seen ping");
    let (code, recs, _) = finish(r);
    assert_eq!(code, 0);
    assert_eq!(recs[0]["sent"], Value::Null);
    assert_eq!(recs[0]["finding"]["name"], "plain");
}

#[test]
fn help_ends_with_examples_and_exit_codes() {
    let out = ppctl()
        .args(["relay", "--help"])
        .output()
        .expect("run ppctl");
    let text = String::from_utf8_lossy(&out.stdout);
    let examples = text.find("Examples:").expect("examples");
    let codes = text.find("Exit codes").expect("exit codes");
    assert!(examples < codes, "{text}");
    assert!(text.contains("[default: none]"), "{text}");
    assert!(text.contains("[default: v1]"), "{text}");
    assert!(
        text.contains("--crc32c"),
        "the header flags of send: {text}"
    );
}

#[test]
fn haproxy_send_proxy_v1_relay_translates_to_v2_and_nginx_sees_the_client() {
    if !peers::require(Peer::Nginx) || !peers::require(Peer::Haproxy) || !peers::require(Peer::Curl)
    {
        return;
    }
    let nginx_port = free_port();
    let _nginx = Nginx::start("pp_http", &[("PORT", &nginx_port.to_string())]);
    let r = relay(
        nginx_port,
        &["--accept", "v1", "--send", "v2", "--json", "--count", "1"],
    );
    let lb_port = free_port();
    let _haproxy = Haproxy::start(
        "send_proxy_v1",
        &[
            ("PORT", &lb_port.to_string()),
            ("UPSTREAM", &r.port.to_string()),
        ],
    );
    let (body, curl_port) = curl(lb_port);
    assert!(
        body.contains(&format!(
            "proxy_protocol_addr=127.0.0.1 proxy_protocol_port={curl_port} "
        )),
        "nginx saw: {body} (curl's port {curl_port})"
    );
    assert!(
        body.contains(&format!("proxy_protocol_server_port={lb_port} ")),
        "{body}"
    );
    let (code, recs, _) = finish(r);
    assert_eq!(code, 0);
    assert_eq!(recs[0]["received"]["version"], 1);
    assert_eq!(recs[0]["claimed"]["port"], u64::from(curl_port));
    assert_eq!(recs[0]["sent"]["version"], 2);
    assert_eq!(recs[0]["finding"]["name"], "proxied");
}

/// An upstream that takes one connection, reads what comes for a moment,
/// and hangs up.
fn hang_up_upstream() -> (u16, thread::JoinHandle<()>) {
    let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
    let port = l.local_addr().expect("addr").port();
    let t = thread::spawn(move || {
        if let Ok((mut s, _)) = l.accept() {
            let _ = s.set_read_timeout(Some(std::time::Duration::from_millis(500)));
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
        }
    });
    (port, t)
}

#[test]
fn a_tls_client_hello_shows_its_sni() {
    if !peers::require(Peer::Curl) {
        return;
    }
    let (up, t) = hang_up_upstream();
    let r = relay(up, &["--send", "none", "--json", "--count", "1"]);
    let curl = peers::path(Peer::Curl).expect("curl installed");
    let _ = Command::new(curl)
        .args(["-s", "-k", "--max-time", "10", "--resolve"])
        .arg(format!("example.test:{}:127.0.0.1", r.port))
        .arg(format!("https://example.test:{}/", r.port))
        .output()
        .expect("run curl");
    t.join().expect("upstream");
    let (_, recs, _) = finish(r);
    assert_eq!(recs[0]["sni"], "example.test", "{}", recs[0]);
    assert_eq!(recs[0]["request"], Value::Null);
}

#[test]
fn a_silent_client_gets_the_header_timeout() {
    let (up, _t) = hang_up_upstream();
    let r = relay(
        up,
        &[
            "--accept",
            "any",
            "--header-timeout",
            "200ms",
            "--json",
            "--count",
            "1",
        ],
    );
    let mut s = TcpStream::connect((Ipv4Addr::LOCALHOST, r.port)).expect("connect");
    s.set_read_timeout(Some(BOUND)).expect("timeout");
    assert_eq!(read_all(&mut s), b"");
    let (code, recs, _) = finish(r);
    assert_eq!(code, 1);
    assert_eq!(recs[0]["finding"]["name"], "header-timeout");
    assert_eq!(recs[0]["upstream"], Value::Null, "never went upstream");
}

#[test]
fn an_upstream_that_never_answers_hits_the_idle_timeout() {
    let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
    let up = l.local_addr().expect("addr").port();
    let held = thread::spawn(move || {
        let (mut s, _) = l.accept().expect("accept");
        s.set_read_timeout(Some(BOUND)).expect("timeout");
        // Hold the connection, read everything, answer nothing.
        read_all(&mut s)
    });
    let r = relay(up, &["--idle-timeout", "300ms", "--json", "--count", "1"]);
    let answer = listen_support::talk(r.port, common::HTTP_GET, false);
    assert_eq!(answer, b"", "closed without an answer");
    let got = held.join().expect("upstream");
    assert!(got.starts_with(b"PROXY TCP4 127.0.0.1 127.0.0.1 "));
    let (code, recs, _) = finish(r);
    assert_eq!(code, 1);
    assert_eq!(recs[0]["ending"], "timed-out");
    assert_eq!(recs[0]["finding"]["name"], "no-reply");
}

/// An upstream that reads everything and answers nothing (a sink), and a
/// client that leaves first: a silence (no-reply), in HTTP's words and in
/// a protocol's, never `incomplete`, which is a capture's (one that
/// started late or ended early).
#[test]
fn a_sink_upstream_is_no_reply_not_an_incomplete_record() {
    for (protocol, first) in [
        (None, common::HTTP_GET),
        (Some("smtp"), &b"EHLO client.example\r\n"[..]),
    ] {
        let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
        let up = l.local_addr().expect("addr").port();
        let sink = thread::spawn(move || {
            let (mut s, _) = l.accept().expect("accept");
            s.set_read_timeout(Some(BOUND)).expect("timeout");
            // Everything, to the relay's half-close after the client's.
            read_all(&mut s)
        });
        let mut args = vec!["--json", "--count", "1"];
        if let Some(p) = protocol {
            args.extend(["--protocol", p]);
        }
        let r = relay(up, &args);
        let mut c = TcpStream::connect((Ipv4Addr::LOCALHOST, r.port)).expect("connect");
        c.write_all(first).expect("send");
        c.shutdown(Shutdown::Write).expect("half-close");
        c.set_read_timeout(Some(BOUND)).expect("timeout");
        assert_eq!(read_all(&mut c), b"", "{protocol:?}: nothing came back");
        let got = sink.join().expect("sink");
        assert!(got.ends_with(first), "{protocol:?}: {got:?}");
        let (code, recs, _) = finish(r);
        assert_eq!(code, 1, "{protocol:?}");
        assert_eq!(recs[0]["ending"], "client-closed", "{}", recs[0]);
        assert_eq!(recs[0]["finding"]["name"], "no-reply", "{}", recs[0]);
        assert!(
            !recs[0].to_string().contains("capture"),
            "{protocol:?}: {}",
            recs[0]
        );
    }
}

#[test]
fn a_client_that_never_reads_slows_the_upstream_down() {
    const TOTAL: usize = 256 * 1024 * 1024;
    let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
    let up = l.local_addr().expect("addr").port();
    let writer = thread::spawn(move || {
        let (mut s, _) = l.accept().expect("accept");
        s.set_write_timeout(Some(std::time::Duration::from_secs(1)))
            .expect("timeout");
        let chunk = vec![7u8; 1024 * 1024];
        let mut written = 0;
        while written < TOTAL {
            match s.write(&chunk) {
                Ok(n) => written += n,
                Err(_) => break,
            }
        }
        written
    });
    let r = relay(up, &["--send", "none", "--json", "--count", "1"]);
    let c = TcpStream::connect((Ipv4Addr::LOCALHOST, r.port)).expect("connect");
    let written = writer.join().expect("upstream");
    assert!(
        written < TOTAL / 4,
        "the upstream wrote {written} bytes to a client that reads nothing"
    );
    drop(c);
    let (_, recs, _) = finish(r);
    let through = recs[0]["bytes_down"].as_u64().unwrap_or(u64::MAX);
    assert!(through <= written as u64, "{}", recs[0]);
}

#[test]
fn sigterm_drains_and_prints_the_summary() {
    let listen = Listen::start(&[]);
    let r = relay(listen.port, &["--tap"]);
    let answer = listen_support::talk(r.port, listen_support::GET, false);
    assert!(answer.starts_with(b"HTTP/1.1 200 OK\r\n"));
    r.term();
    let (status, lines) = r.finish_text();
    let text = lines.join("\n");
    assert_eq!(status.code(), Some(0), "{text}");
    assert!(text.contains("proxied (PP-PROXIED)"), "{text}");
    assert!(
        text.contains("summary: 1 connection(s): 1 proxied;"),
        "{text}"
    );
    listen.term();
}

#[test]
fn an_upstream_that_resets_is_reported_and_the_client_closed() {
    let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
    let up = l.local_addr().expect("addr").port();
    let t = thread::spawn(move || {
        let (mut s, _) = l.accept().expect("accept");
        s.set_read_timeout(Some(BOUND)).expect("timeout");
        let mut buf = [0u8; 256];
        let _ = s.read(&mut buf);
        // SO_LINGER 0: the close is a reset.
        socket2::SockRef::from(&s)
            .set_linger(Some(std::time::Duration::ZERO))
            .expect("linger");
    });
    let r = relay(up, &["--json", "--count", "1"]);
    let answer = listen_support::talk(r.port, common::HTTP_GET, false);
    t.join().expect("upstream");
    assert_eq!(answer, b"", "a close, no made-up answer");
    let (code, recs, _) = finish(r);
    assert_eq!(code, 1);
    assert_eq!(recs[0]["ending"], "upstream-reset", "{}", recs[0]);
    assert_eq!(recs[0]["finding"]["name"], "header-rejected");
    assert!(
        recs[0]["error"]
            .as_str()
            .is_some_and(|e| e.contains("reset")),
        "{}",
        recs[0]
    );
}

/// An upstream that read 1 MiB of the stream, then reset: it took the
/// header and the data, so the reset is no refusal of the header
/// (header-rejected) but a reset mid-stream.
#[test]
fn an_upstream_that_reads_a_mebibyte_then_resets_is_reset_mid_stream() {
    const READ: usize = 1 << 20;
    let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
    let up = l.local_addr().expect("addr").port();
    let t = thread::spawn(move || {
        let (mut s, _) = l.accept().expect("accept");
        s.set_read_timeout(Some(BOUND)).expect("timeout");
        read_then_reset(&mut s, READ, false)
    });
    let r = relay(up, &["--json", "--count", "1"]);
    let mut c = TcpStream::connect((Ipv4Addr::LOCALHOST, r.port)).expect("connect");
    c.set_write_timeout(Some(BOUND)).expect("timeout");
    c.set_read_timeout(Some(BOUND)).expect("timeout");
    // Twice what upstream reads: the writes end with the reset.
    let chunk = vec![b'x'; 64 * 1024];
    for _ in 0..(2 * READ / chunk.len()) {
        if c.write_all(&chunk).is_err() {
            break;
        }
    }
    let mut rest = Vec::new();
    let _ = c.read_to_end(&mut rest);
    assert_eq!(t.join().expect("upstream"), READ);
    let (code, recs, summary) = finish(r);
    assert_eq!(code, 1);
    assert_eq!(recs[0]["ending"], "upstream-reset", "{}", recs[0]);
    assert_eq!(
        recs[0]["finding"]["name"], "reset-mid-stream",
        "{}",
        recs[0]
    );
    assert_eq!(recs[0]["finding"]["code"], "PP-RESET-MID-STREAM");
    assert_eq!(recs[0]["fixes"][0]["id"], "read-receiver-log");
    assert!(
        recs[0]["error"]
            .as_str()
            .is_some_and(|e| e.contains("after it had taken")),
        "{}",
        recs[0]
    );
    assert_eq!(summary["findings"]["reset-mid-stream"], 1);
}

/// `clients` idle clients through a relay (`args` added), held by a silent
/// upstream, then SIGTERM: after the drain each is reported, once, as
/// interrupted.
fn idle_clients_reported_after_the_drain(clients: usize, args: &[&str]) {
    let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
    let up = l.local_addr().expect("addr").port();
    // Takes every connection and holds it, silent. Detached: it ends with
    // the test process.
    let (seen_tx, seen) = std::sync::mpsc::channel();
    thread::spawn(move || {
        let mut held = Vec::new();
        while let Ok((s, _)) = l.accept() {
            held.push(s);
            let _ = seen_tx.send(());
        }
    });
    let r = relay(up, &[&["--json", "--drain", "200ms"], args].concat());
    let held: Vec<TcpStream> = (0..clients)
        .map(|_| TcpStream::connect((Ipv4Addr::LOCALHOST, r.port)).expect("connect"))
        .collect();
    // The relay has taken them all once upstream has seen them all.
    for _ in 0..clients {
        seen.recv_timeout(BOUND)
            .expect("the relay connects each upstream");
    }
    r.term();
    let (code, recs, summary) = finish(r);
    assert_eq!(code, 0);
    assert_eq!(recs.len(), clients);
    assert_eq!(summary["connections"], clients as u64);
    assert_eq!(
        summary["findings"]["interrupted"], clients as u64,
        "{summary}"
    );
    assert_eq!(summary["interrupted"], true);
    drop(held);
}

#[test]
fn idle_clients_are_all_reported_after_the_drain() {
    idle_clients_reported_after_the_drain(1000, &[]);
}

#[test]
fn an_upstream_that_never_accepts_is_unreachable_after_the_connect_timeout() {
    use socket2::{Domain, Socket, Type};
    // A listener with a full accept queue drops further SYNs: connects hang.
    let sock = Socket::new(Domain::IPV4, Type::STREAM, None).expect("socket");
    sock.bind(&std::net::SocketAddr::from((Ipv4Addr::LOCALHOST, 0)).into())
        .expect("bind");
    sock.listen(0).expect("listen");
    let addr = sock.local_addr().expect("addr").as_socket().expect("inet");
    let short = std::time::Duration::from_millis(300);
    let fillers: Vec<TcpStream> = (0..4)
        .filter_map(|_| TcpStream::connect_timeout(&addr, short).ok())
        .collect();
    if TcpStream::connect_timeout(&addr, short).is_ok() {
        eprintln!("SKIP: this kernel completes connects past a full backlog");
        return;
    }
    let r = relay(
        addr.port(),
        &["--connect-timeout", "300ms", "--json", "--count", "1"],
    );
    let answer = listen_support::talk(r.port, common::HTTP_GET, false);
    assert_eq!(answer, b"", "a close, no made-up answer");
    let (code, recs, _) = finish(r);
    assert_eq!(code, 1);
    assert_eq!(recs[0]["finding"]["name"], "unreachable");
    assert_eq!(recs[0]["finding"]["code"], "PP-UNREACHABLE");
    assert_eq!(recs[0]["ending"], "unreachable");
    drop(fillers);
}

#[test]
fn a_trickling_upstream_s_bytes_reach_the_client_as_they_come() {
    let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
    let up = l.local_addr().expect("addr").port();
    let (go_tx, go) = std::sync::mpsc::channel::<()>();
    let t = thread::spawn(move || {
        let (mut s, _) = l.accept().expect("accept");
        s.set_read_timeout(Some(BOUND)).expect("timeout");
        let mut buf = [0u8; 4096];
        let _ = s.read(&mut buf);
        // Half a response; the rest only once the client has seen it.
        s.write_all(b"HTTP/1.1 200 OK\r\n").expect("first piece");
        go.recv_timeout(BOUND)
            .expect("the client saw the first piece");
        s.write_all(b"Content-Length: 0\r\n\r\n").expect("rest");
    });
    let r = relay(up, &["--json", "--count", "1"]);
    let mut c = TcpStream::connect((Ipv4Addr::LOCALHOST, r.port)).expect("connect");
    c.set_read_timeout(Some(BOUND)).expect("timeout");
    c.write_all(common::HTTP_GET).expect("request");
    let mut first = vec![0u8; 17];
    c.read_exact(&mut first)
        .expect("the first piece arrives before the rest is sent");
    assert_eq!(first, b"HTTP/1.1 200 OK\r\n");
    go_tx.send(()).expect("signal");
    let rest = read_all(&mut c);
    assert_eq!(rest, b"Content-Length: 0\r\n\r\n");
    t.join().expect("upstream");
    drop(c);
    let (code, recs, _) = finish(r);
    assert_eq!(code, 0);
    assert_eq!(recs[0]["status"], "HTTP/1.1 200 OK");
    assert_eq!(recs[0]["finding"]["name"], "proxied");
}

#[test]
fn bad_arguments_are_usage_errors() {
    for (args, says) in [
        (
            &["relay", "127.0.0.1:0", "--to", "no-port"][..],
            "is not HOST:PORT",
        ),
        (
            &["relay", "127.0.0.1:0", "--to", "127.0.0.1:1", "--crc32c"][..],
            "TLV options need a v2 header",
        ),
        (
            &[
                "relay",
                "127.0.0.1:0",
                "--to",
                "127.0.0.1:1",
                "--idle-timeout",
                "0",
            ][..],
            "positive duration",
        ),
        (
            &["relay", "nonsense", "--to", "127.0.0.1:1"][..],
            "is not an address",
        ),
    ] {
        let out = ppctl()
            .args(args)
            .timeout(BOUND)
            .output()
            .expect("run ppctl");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
    }
    // --like decides the version: --send conflicts with it.
    let out = ppctl()
        .args(["relay", "127.0.0.1:0", "--to", "127.0.0.1:1"])
        .args(["--like", "aws-nlb", "--send", "v1"])
        .output()
        .expect("run ppctl");
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn accept_auto_is_labelled_spoofable_and_trust_refuses_strangers() {
    let listen = Listen::start(&[]);
    let r = relay(
        listen.port,
        &["--accept", "auto", "--send", "v2", "--json", "--count", "2"],
    );
    let mut with = b"PROXY TCP4 192.0.2.1 192.0.2.2 1000 80\r\n".to_vec();
    with.extend_from_slice(listen_support::GET);
    let a = listen_support::talk(r.port, &with, false);
    let b = listen_support::talk(r.port, listen_support::GET, false);
    assert!(a.starts_with(b"HTTP/1.1 200 OK\r\n") && b.starts_with(b"HTTP/1.1 200 OK\r\n"));
    let (code, recs, summary) = finish(r);
    assert_eq!(code, 0);
    let by_claim = |claimed: bool| {
        recs.iter()
            .find(|r| r["claimed"].is_null() != claimed)
            .cloned()
            .unwrap_or_default()
    };
    let taken = by_claim(true);
    assert_eq!(taken["finding"]["name"], "proxied");
    assert_eq!(taken["pairing"]["name"], "spoofable");
    assert_eq!(taken["sent"]["source"]["address"], "192.0.2.1");
    let plain = by_claim(false);
    assert_eq!(
        plain["finding"]["name"], "proxied",
        "a header was sent upstream"
    );
    assert_eq!(plain["arrival"]["name"], "plain");
    assert_eq!(plain["sent"]["source"]["address"], "127.0.0.1");
    assert_eq!(summary["pairings"]["spoofable"], 2);

    let r = relay(
        listen.port,
        &[
            "--accept",
            "any",
            "--trust",
            "10.0.0.0/8",
            "--json",
            "--count",
            "1",
        ],
    );
    assert_eq!(listen_support::talk(r.port, &with, false), b"");
    let (code, recs, _) = finish(r);
    assert_eq!(code, 1);
    assert_eq!(recs[0]["finding"]["name"], "untrusted-source");
    assert_eq!(recs[0]["upstream"], Value::Null);
    listen.term();
}

/// TLS through the relay (a TCP load balancer in front of a 443 ingress):
/// the relay's header in front of the client's ClientHello is served by
/// nginx `listen ssl proxy_protocol` and breaks `listen ssl`, which the tap
/// names as `send --tls` does.
#[test]
fn tls_through_the_relay_to_nginx_ssl_with_and_without_proxy_protocol() {
    if !peers::require(Peer::Curl) {
        return;
    }
    let Some(ingress) = common::TlsIngress::start() else {
        return;
    };
    let (pp_ssl, ssl) = (ingress.pp_ssl, ingress.ssl);
    let curl = peers::path(Peer::Curl).expect("curl installed");
    for (upstream, finding) in [(pp_ssl, "proxied"), (ssl, "tls-handshake-failed")] {
        let r = relay(upstream, &["--send", "v2", "--json", "--count", "1"]);
        let out = Command::new(&curl)
            .args(["-s", "-k", "--max-time", "10", "--resolve"])
            .arg(format!("app.example.com:{}:127.0.0.1", r.port))
            .arg(format!("https://app.example.com:{}/", r.port))
            .output()
            .expect("run curl");
        let body = String::from_utf8_lossy(&out.stdout);
        if finding == "proxied" {
            assert!(body.contains("pp=127.0.0.1:"), "{body}");
            assert!(body.contains("sni=app.example.com"), "{body}");
        }
        let (_, recs, _) = finish(r);
        assert_eq!(recs[0]["finding"]["name"], finding, "{}", recs[0]);
        assert_eq!(recs[0]["sni"], "app.example.com", "{}", recs[0]);
    }
}

/// `--max-header`, as listen's: a v2 header announcing more is
/// header-too-large as soon as its 16-byte prefix is in.
#[test]
fn max_header_bounds_the_client_s_header() {
    let upstream = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = upstream.local_addr().expect("addr").port();
    let r = relay(
        port,
        &[
            "--accept",
            "v2",
            "--max-header",
            "64",
            "--json",
            "--count",
            "1",
        ],
    );
    let mut prefix = b"\r\n\r\n\0\r\nQUIT\n\x21\x11".to_vec();
    prefix.extend_from_slice(&100u16.to_be_bytes());
    let mut s = TcpStream::connect((Ipv4Addr::LOCALHOST, r.port)).expect("connect");
    s.set_read_timeout(Some(BOUND)).expect("timeout");
    s.write_all(&prefix).expect("send");
    let _ = read_all(&mut s);
    let (code, recs, _) = finish(r);
    assert_eq!(code, 1);
    assert_eq!(
        recs[0]["finding"]["name"], "header-too-large",
        "{}",
        recs[0]
    );
    assert!(
        recs[0]["error"]
            .as_str()
            .is_some_and(|e| e.contains("more than --max-header 64")),
        "{}",
        recs[0]
    );
}

/// By default relay takes every v2 header the spec allows (16 + 65535
/// bytes): the largest, 65,551 bytes (a NOOP TLV of padding, as a long
/// certificate would be), is taken and translated, not header-too-large.
#[test]
fn a_v2_header_past_4096_bytes_is_taken_by_default() {
    // The addresses (12 bytes) and the TLV's type and length (3) fill the
    // rest of the 65535 bytes the length field can say.
    const PAD: usize = 65_535 - 12 - 3;
    let listen = Listen::start(&["--proxy-protocol", "require", "--count", "1"]);
    let r = relay(
        listen.port,
        &["--accept", "v2", "--send", "v1", "--json", "--count", "1"],
    );
    let mut header = b"\r\n\r\n\0\r\nQUIT\n\x21\x11".to_vec();
    header.extend_from_slice(&((12 + 3 + PAD) as u16).to_be_bytes());
    header.extend_from_slice(&[203, 0, 113, 7, 198, 51, 100, 9]);
    header.extend_from_slice(&4444u16.to_be_bytes());
    header.extend_from_slice(&443u16.to_be_bytes());
    header.push(0x04);
    header.extend_from_slice(&(PAD as u16).to_be_bytes());
    header.resize(header.len() + PAD, 0);
    assert_eq!(header.len(), 65_551);
    header.extend_from_slice(common::HTTP_GET);
    let answer = listen_support::talk(r.port, &header, false);
    assert!(answer.starts_with(b"HTTP/1.1 200"), "{answer:?}");
    let (code, recs, _) = finish(r);
    assert_eq!(code, 0);
    assert_eq!(recs[0]["finding"]["name"], "proxied", "{}", recs[0]);
    assert_eq!(recs[0]["claimed"]["address"], "203.0.113.7");
    let (status, _) = listen.finish();
    assert_eq!(status.code(), Some(0));
}

#[test]
fn relay_conform_grades_a_sender_that_splits_its_header() {
    let listen = Listen::start(&["--proxy-protocol", "require", "--count", "2"]);
    let r = relay(
        listen.port,
        &[
            "--accept",
            "any",
            "--send",
            "v1",
            "--json",
            "--count",
            "2",
            "--conform",
        ],
    );
    let to = format!("127.0.0.1:{}", r.port);
    ppctl()
        .args(["send", &to, "--v2", "--timeout", "10s"])
        .timeout(BOUND)
        .assert()
        .success();
    ppctl()
        .args([
            "send",
            &to,
            "--v1",
            "--split",
            "6",
            "--split-delay",
            "200ms",
        ])
        .args(["--timeout", "10s"])
        .timeout(BOUND)
        .assert()
        .success();
    let (code, recs, summary) = finish(r);
    // The split header was served (relay buffers), but a MUST was missed.
    assert_eq!(code, 1, "{summary}");
    let status = |rec: &Value, id: &str| {
        rec["sender"]
            .as_array()
            .and_then(|c| c.iter().find(|c| c["id"] == id))
            .map(|c| c["status"].clone())
            .unwrap_or_else(|| panic!("no {id} in {rec}"))
    };
    let (whole, split) = if recs[0]["received"]["version"] == 2 {
        (&recs[0], &recs[1])
    } else {
        (&recs[1], &recs[0])
    };
    assert_eq!(status(whole, "sender/header-at-once"), "pass");
    assert_eq!(status(split, "sender/header-at-once"), "fail");
    assert_eq!(split["finding"]["name"], "proxied");
    assert_eq!(summary["sender"]["status"], "fail");
    let _ = listen.finish();
}

/// The names of process `pid`'s threads.
fn thread_names(pid: u32) -> Vec<String> {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .map(|d| {
            d.flatten()
                .filter_map(|t| std::fs::read_to_string(t.path().join("comm")).ok())
                .map(|n| n.trim().to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// `--threads 3`: two threads of their own accept and serve beside the
/// runtime's worker; `--max-conns` and `--count` hold over all of them,
/// every connection is served and counted once, with its own id.
#[test]
fn more_threads_serve_each_connection_once() {
    let listen = Listen::start(&[]);
    let r = relay(
        listen.port,
        &[
            "--json",
            "--threads",
            "3",
            "--count",
            "60",
            "--max-conns",
            "4",
        ],
    );
    // The threads start once the listening line is out.
    let started = std::time::Instant::now();
    let servers = || {
        let names = thread_names(r.pid());
        (names.iter().filter(|n| *n == "ppctl-server").count(), names)
    };
    while servers().0 < 2 && started.elapsed() < BOUND {
        thread::sleep(std::time::Duration::from_millis(10));
    }
    let (count, names) = servers();
    assert_eq!(count, 2, "{names:?}");
    let port = r.port;
    let clients: Vec<_> = (0..6)
        .map(|_| {
            thread::spawn(move || {
                (0..10)
                    .map(|_| listen_support::talk(port, listen_support::GET, false))
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    for c in clients {
        for answer in c.join().expect("a client thread") {
            assert!(
                answer.starts_with(b"HTTP/1.1 200 OK\r\n"),
                "{}",
                String::from_utf8_lossy(&answer)
            );
        }
    }
    let (code, recs, summary) = finish(r);
    assert_eq!(code, 0, "{summary}");
    let mut ids: Vec<u64> = recs.iter().filter_map(|r| r["id"].as_u64()).collect();
    ids.sort_unstable();
    assert_eq!(ids, (1..=60).collect::<Vec<_>>());
    assert_eq!(summary["connections"], 60, "{summary}");
    assert_eq!(summary["interrupted"], false, "{summary}");
    listen.term();
}

/// A signal's drain reaches the connections of every thread: each idle
/// client held by any of them is reported, once, as interrupted.
#[test]
fn idle_clients_on_every_thread_are_reported_after_the_drain() {
    idle_clients_reported_after_the_drain(200, &["--threads", "2"]);
}
