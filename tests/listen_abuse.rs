//! Hostile and careless clients against `ppctl listen`: bounded in count
//! and time, asserting outcomes and order, never durations.

mod listen_support;

use std::io::{ErrorKind, Write};
use std::net::{Ipv4Addr, Shutdown, TcpStream};
use std::thread;
use std::time::Duration;

use listen_support::{fds, read_all, served, talk, v1, Listen, GET};
use ppctl::codec::encode::HeaderSpec;
use ppctl::codec::Version;

const IDLE: usize = 1000;

#[test]
fn a_thousand_silent_clients_do_not_starve_a_valid_one() {
    let count = (IDLE + 1).to_string();
    let l = Listen::start(&[
        "--count",
        &count,
        "--header-timeout",
        "2s",
        "--proxy-protocol",
        "require",
    ]);
    let before = fds(l.pid());
    let mut silent: Vec<TcpStream> = (0..IDLE)
        .map(|_| {
            TcpStream::connect((Ipv4Addr::LOCALHOST, l.port)).expect("connect a silent client")
        })
        .collect();
    // While all 1,000 hold a connection, a valid client is served.
    let mut ok = v1("192.0.2.10", "198.51.100.1", 40000, 443);
    ok.extend_from_slice(GET);
    assert!(served(&talk(l.port, &ok, false)));
    let first = l.next_json();
    assert_eq!(
        first["finding"]["name"], "proxied",
        "the valid client is reported first: {first}"
    );
    // Each silent one is closed by the server at the header timeout.
    for s in &mut silent {
        s.set_read_timeout(Some(listen_support::BOUND))
            .expect("timeout");
        assert!(read_all(s).is_empty());
    }
    let (status, lines) = l.finish();
    // 1,000 header-timeouts: problem findings, so 1 (the one exit-code rule).
    assert_eq!(status.code(), Some(1));
    let (recs, summary) = Listen::split(&lines);
    assert_eq!(recs.len(), IDLE);
    let odd: Vec<&serde_json::Value> = recs
        .iter()
        .filter(|r| r["finding"]["name"] != "header-timeout")
        .collect();
    assert!(odd.is_empty(), "{odd:?}");
    assert_eq!(summary["findings"]["header-timeout"], IDLE as u64);
    assert!(before > 0);
}

#[test]
fn no_fd_leak_after_many_kinds_of_connections() {
    let l = Listen::start(&["--header-timeout", "300ms"]);
    let pid = l.pid();
    let before = fds(pid);
    for i in 0..50 {
        match i % 5 {
            0 => {
                let mut b = v1("192.0.2.10", "198.51.100.1", 40000, 443);
                b.extend_from_slice(GET);
                talk(l.port, &b, false);
            }
            1 => {
                talk(l.port, b"\x16\x03\x01\x00\x05hello", false);
            }
            2 => {
                // Connect and vanish.
                drop(TcpStream::connect((Ipv4Addr::LOCALHOST, l.port)).expect("connect"));
            }
            3 => {
                talk(l.port, b"PROXY TCP4 1.2.3.4", true);
            }
            _ => {
                talk(l.port, b"\r\n\r\n\0\r\nQUIT\n\x21\x11\xff\xff", false);
            }
        }
    }
    for _ in 0..50 {
        l.next_json();
    }
    // Every connection has reported; each socket is closed right after its
    // line is queued, so wait (bounded) for the last closes to land.
    let deadline = std::time::Instant::now() + listen_support::BOUND;
    let mut after = fds(pid);
    while after != before && std::time::Instant::now() < deadline {
        thread::sleep(Duration::from_millis(20));
        after = fds(pid);
    }
    assert_eq!(before, after, "open fds before {before}, after {after}");
    l.term();
    let (status, _) = l.finish();
    // Problem findings among them: 1 (the one exit-code rule).
    assert_eq!(status.code(), Some(1));
}

#[test]
fn byte_at_a_time_sender_is_served() {
    let l = Listen::start(&["--count", "2"]);
    let mut spec_bytes = HeaderSpec::tcp(
        Version::V2,
        "192.0.2.10:40000".parse().expect("addr"),
        "198.51.100.1:443".parse().expect("addr"),
    )
    .with_tlv(ppctl::codec::tlv::AUTHORITY, b"slow.example".to_vec())
    .encode()
    .expect("encode");
    spec_bytes.extend_from_slice(GET);
    for bytes in [
        spec_bytes,
        [v1("192.0.2.10", "198.51.100.1", 40000, 443), GET.to_vec()].concat(),
    ] {
        let mut s = TcpStream::connect((Ipv4Addr::LOCALHOST, l.port)).expect("connect");
        s.set_nodelay(true).expect("nodelay");
        for b in &bytes {
            s.write_all(std::slice::from_ref(b)).expect("one byte");
            thread::sleep(Duration::from_micros(200));
        }
        s.set_read_timeout(Some(listen_support::BOUND))
            .expect("timeout");
        assert!(served(&read_all(&mut s)));
    }
    let (_, lines) = l.finish();
    let (recs, _) = Listen::split(&lines);
    assert_eq!(recs[0]["header"]["version"], 2);
    assert_eq!(recs[0]["finding"]["name"], "proxied");
    assert_eq!(recs[1]["header"]["version"], 1);
}

/// A v2 prefix announcing len 65535 (then 12 address bytes, then silence):
/// the verdict and the record, once the server has closed on us.
fn claim_65535(args: &[&str]) -> serde_json::Value {
    let mut prefix = b"\r\n\r\n\0\r\nQUIT\n\x21\x11\xff\xff".to_vec();
    prefix.extend_from_slice(&[0u8; 12]);
    let l = Listen::start(&[&["--count", "1"], args].concat());
    let mut s = TcpStream::connect((Ipv4Addr::LOCALHOST, l.port)).expect("connect");
    s.write_all(&prefix).expect("write");
    s.set_read_timeout(Some(listen_support::BOUND))
        .expect("timeout");
    assert!(read_all(&mut s).is_empty());
    let (_, lines) = l.finish();
    Listen::split(&lines).0.remove(0)
}

#[test]
fn v2_claiming_65535_is_capped_or_timed_out() {
    // Default cap (4096): refused as soon as the 16-byte prefix is in.
    let r = claim_65535(&[]);
    assert_eq!(r["finding"]["name"], "header-too-large");
    assert!(r["error"].as_str().unwrap_or("").contains("65551"));
    // Cap raised to the maximum: it waits, then the header timeout ends it.
    let r = claim_65535(&["--max-header", "65551", "--header-timeout", "300ms"]);
    assert_eq!(r["finding"]["name"], "header-timeout");
    assert_eq!(r["bytes_in"], 28);
}

#[test]
fn half_closed_sockets() {
    let l = Listen::start(&["--count", "3"]);
    // Whole request, then FIN: still answered.
    let mut b = v1("192.0.2.10", "198.51.100.1", 40000, 443);
    b.extend_from_slice(GET);
    assert!(served(&talk(l.port, &b, true)));
    // Half a header, then FIN: a truncated header, closed.
    assert!(talk(l.port, b"PROXY TCP4 192.0.2.10 198.5", true).is_empty());
    // Header only, then FIN: header accepted, no request.
    let s = TcpStream::connect((Ipv4Addr::LOCALHOST, l.port)).expect("connect");
    (&s).write_all(&v1("192.0.2.10", "198.51.100.1", 40000, 443))
        .expect("write");
    s.shutdown(Shutdown::Write).expect("half-close");
    let mut s = s;
    s.set_read_timeout(Some(listen_support::BOUND))
        .expect("timeout");
    assert!(read_all(&mut s).is_empty());
    let (_, lines) = l.finish();
    let (recs, _) = Listen::split(&lines);
    assert_eq!(recs[0]["reply"], "whoami");
    assert_eq!(recs[1]["finding"]["name"], "invalid-header");
    assert_eq!(recs[1]["header"]["error"]["kind"], "truncated");
    assert_eq!(recs[2]["finding"]["name"], "proxied");
    assert_eq!(recs[2]["reply"], "none");
}

#[test]
fn oversized_request_head_is_bounded() {
    let l = Listen::start(&["--count", "1"]);
    let mut s = TcpStream::connect((Ipv4Addr::LOCALHOST, l.port)).expect("connect");
    s.write_all(b"GET / HTTP/1.1\r\n").expect("write");
    let filler = format!("X-Filler: {}\r\n", "a".repeat(1000));
    // 40 KiB of headers without the blank line: the server stops reading
    // at its bound and closes; writes may then fail, which is fine.
    for _ in 0..40 {
        if s.write_all(filler.as_bytes()).is_err() {
            break;
        }
    }
    s.set_read_timeout(Some(listen_support::BOUND))
        .expect("timeout");
    assert!(read_all(&mut s).is_empty());
    let (_, lines) = l.finish();
    let (recs, _) = Listen::split(&lines);
    assert!(recs[0]["error"]
        .as_str()
        .unwrap_or("")
        .contains("request head larger than"));
    assert!(recs[0]["bytes_in"].as_u64().unwrap_or(u64::MAX) <= 4096 + 16 * 1024 + 4096);
}

// ------------------------------------------- issue 11: waits that never end

/// Short deadlines, so the tests below end quickly: 1 s for the header,
/// 2 s for the whole request head, 2 s of silence or of a peer that does
/// not read.
const SHORT: [&str; 6] = [
    "--header-timeout",
    "1s",
    "--request-timeout",
    "2s",
    "--idle-timeout",
    "2s",
];

/// Generous bound on "closed at the deadline" (the deadlines are 2-3 s).
const CLOSED_WITHIN: Duration = Duration::from_secs(10);

/// Send `first`, then one byte of `trickle` every 250 ms (well inside the
/// idle timeout, so only a total deadline can end it) until the server
/// closes or 30 s have passed. The stream is returned for reading.
fn trickler(port: u16, first: &[u8], trickle: u8) -> (TcpStream, thread::JoinHandle<()>) {
    let s = TcpStream::connect((Ipv4Addr::LOCALHOST, port)).expect("connect a trickler");
    s.set_nodelay(true).expect("nodelay");
    let mut w = s.try_clone().expect("clone");
    w.write_all(first).expect("the first bytes");
    let feed = thread::spawn(move || {
        for _ in 0..120 {
            thread::sleep(Duration::from_millis(250));
            if w.write_all(&[trickle]).is_err() {
                return;
            }
        }
    });
    (s, feed)
}

/// Did the server close `s` (EOF or reset) within `bound`? Whatever it
/// sent before is ignored.
fn closed_within(s: &mut TcpStream, bound: Duration) -> bool {
    use std::io::Read;
    let deadline = std::time::Instant::now() + bound;
    let mut chunk = [0u8; 4096];
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            return false;
        }
        s.set_read_timeout(Some(left)).expect("timeout");
        match s.read(&mut chunk) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return false
            }
            Err(_) => return true,
        }
    }
}

fn note(rec: &serde_json::Value) -> &str {
    rec["note"].as_str().unwrap_or("")
}

#[test]
fn a_trickled_request_head_is_closed_at_its_deadline() {
    let l = Listen::start(&[&["--count", "2"], &SHORT[..]].concat());
    // A valid header, then a request head at 4 bytes/s that never ends.
    let mut first = v1("192.0.2.10", "198.51.100.1", 40000, 443);
    first.extend_from_slice(b"GET / HTTP/1.1\r\nX-Slow: ");
    let (mut s, feed) = trickler(l.port, &first, b'a');
    assert!(
        closed_within(&mut s, CLOSED_WITHIN),
        "a trickled request head after a header is closed"
    );
    feed.join().expect("trickler thread");
    // No header, and a first byte that is neither P nor CR: the header
    // stage ends at once, the request head has the same deadline.
    let (mut s, feed) = trickler(l.port, b"GET /", b'a');
    assert!(
        closed_within(&mut s, CLOSED_WITHIN),
        "a trickled request head without a header is closed"
    );
    feed.join().expect("trickler thread");
    let (status, lines) = l.finish();
    assert_eq!(status.code(), Some(0));
    let (recs, _) = Listen::split(&lines);
    assert_eq!(recs.len(), 2);
    assert_eq!(recs[0]["finding"]["name"], "proxied");
    assert_eq!(recs[1]["finding"]["name"], "plain");
    for r in &recs {
        assert_eq!(r["reply"], "none", "{r}");
        assert!(
            note(r).contains("no complete request head within --request-timeout 2s"),
            "{r}"
        );
    }
}

#[test]
fn twenty_tricklers_do_not_keep_a_valid_client_waiting() {
    const N: usize = 20;
    let l = Listen::start(&[&["--count", "21", "--max-conns", "20"], &SHORT[..]].concat());
    let mut head = v1("192.0.2.10", "198.51.100.1", 40000, 443);
    head.extend_from_slice(b"GET / HTTP/1.1\r\nX-Slow: ");
    let tricklers: Vec<_> = (0..N).map(|_| trickler(l.port, &head, b'a')).collect();
    // Every slot is taken; the valid client waits in the backlog until the
    // tricklers' request deadline frees one, then is served.
    let mut s = TcpStream::connect((Ipv4Addr::LOCALHOST, l.port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(15)))
        .expect("timeout");
    s.write_all(&valid_request()).expect("write");
    assert!(
        served(&read_all_within(&mut s)),
        "the valid client is served while tricklers keep trickling"
    );
    for (mut t, feed) in tricklers {
        assert!(closed_within(&mut t, CLOSED_WITHIN));
        feed.join().expect("trickler thread");
    }
    let (status, lines) = l.finish();
    assert_eq!(status.code(), Some(0));
    let (recs, _) = Listen::split(&lines);
    assert_eq!(recs.len(), N + 1);
    let timed_out = recs
        .iter()
        .filter(|r| note(r).contains("--request-timeout"))
        .count();
    assert_eq!(timed_out, N);
    assert_eq!(recs.iter().filter(|r| r["reply"] == "whoami").count(), 1);
}

/// Read to EOF or reset; a read timeout (set by the caller) is a failure.
fn read_all_within(s: &mut TcpStream) -> Vec<u8> {
    use std::io::Read;
    let mut out = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        match s.read(&mut chunk) {
            Ok(0) => return out,
            Ok(n) => out.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                panic!("no answer within the read timeout")
            }
            Err(_) => return out,
        }
    }
}

#[test]
fn an_echo_client_that_never_reads_loses_its_slot() {
    let l = Listen::start(&[&["--count", "2", "--max-conns", "1", "--echo"], &SHORT[..]].concat());
    // Not HTTP (a TLS-like first byte), echoed; the client writes and never
    // reads, so the echo fills its receive buffer and the server's writes
    // block until the write deadline.
    let hog = TcpStream::connect((Ipv4Addr::LOCALHOST, l.port)).expect("connect");
    let mut w = hog.try_clone().expect("clone");
    w.set_write_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let flood = thread::spawn(move || {
        let chunk = [0x16u8; 64 * 1024];
        let until = std::time::Instant::now() + Duration::from_secs(40);
        while std::time::Instant::now() < until {
            match w.write(&chunk) {
                Ok(_) => {}
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(_) => return true,
            }
        }
        false
    });
    // The only slot is the hog's: this client is served once it is dropped.
    let mut s = TcpStream::connect((Ipv4Addr::LOCALHOST, l.port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    s.write_all(&valid_request()).expect("write");
    assert!(served(&read_all_within(&mut s)));
    assert!(
        flood.join().expect("flood thread"),
        "the server closed the connection of the client that does not read"
    );
    drop(hog);
    let (status, lines) = l.finish();
    assert_eq!(status.code(), Some(0));
    let (recs, _) = Listen::split(&lines);
    assert_eq!(recs[0]["reply"], "echo", "{}", recs[0]);
    assert!(
        note(&recs[0]).contains("echo: the peer read nothing for --idle-timeout 2s"),
        "{}",
        recs[0]
    );
    assert_eq!(recs[1]["reply"], "whoami");
}

fn valid_request() -> Vec<u8> {
    [v1("192.0.2.10", "198.51.100.1", 40000, 443), GET.to_vec()].concat()
}
