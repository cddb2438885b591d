//! `ppctl listen` end to end: the binary on 127.0.0.1:0, clients over std
//! TcpStream, JSON lines checked field by field.

mod listen_support;

use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr, TcpStream};

use listen_support::{body, talk, v1, Listen, GET, GET_JSON};
use ppctl::codec::encode::HeaderSpec;
use ppctl::codec::{tlv, Version};
use serde_json::Value;

fn sa(s: &str) -> SocketAddr {
    s.parse().expect("test address")
}

/// Start, run `clients`, wait for exit; return (exit code, records, summary).
fn session(args: &[&str], clients: impl FnOnce(u16)) -> (i32, Vec<Value>, Value) {
    let l = Listen::start(args);
    assert_eq!(l.next_json_first()["type"], "listening");
    clients(l.port);
    let (status, lines) = l.finish();
    let (records, summary) = Listen::split(&lines);
    (status.code().unwrap_or(-1), records, summary)
}

trait First {
    fn next_json_first(&self) -> Value;
}
impl First for Listen {
    fn next_json_first(&self) -> Value {
        serde_json::from_str(&self.first).expect("first line is JSON with --json")
    }
}

#[test]
fn first_line_says_where_it_listens() {
    let l = Listen::start(&["--count", "1"]);
    let first = l.next_json_first();
    assert_eq!(first["type"], "listening");
    assert_eq!(first["mode"], "auto");
    assert!(l.port > 0);
    drop(l);
    let human = Listen::start_raw(&["listen", "127.0.0.1:0", "--count", "1"]);
    assert!(
        human.first.starts_with("listening on 127.0.0.1:"),
        "{}",
        human.first
    );
}

#[test]
fn v1_header_is_decoded_and_whoami_shows_it() {
    let mut reply = Vec::new();
    let (code, recs, summary) = session(&["--count", "1"], |port| {
        let mut bytes = v1("192.0.2.10", "198.51.100.1", 40000, 443);
        bytes.extend_from_slice(GET);
        reply = talk(port, &bytes, false);
    });
    assert_eq!(code, 0);
    let text = String::from_utf8_lossy(&reply);
    assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
    assert!(text.contains("proxy_protocol_addr: 192.0.2.10\n"), "{text}");
    assert!(text.contains("proxy_protocol_port: 40000\n"), "{text}");
    assert!(text.contains("proxy_protocol_server_port: 443\n"), "{text}");
    let r = &recs[0];
    assert_eq!(r["type"], "connection");
    assert_eq!(r["schema"], 3);
    assert_eq!(r["finding"]["name"], "proxied");
    assert_eq!(r["finding"]["code"], "PP-PROXIED");
    assert_eq!(r["pairing"]["name"], "spoofable");
    assert_eq!(r["pairing"]["code"], "PP-SPOOFABLE");
    assert_eq!(r["spoofable"], true);
    assert_eq!(r["header"]["version"], 1);
    assert_eq!(r["header"]["command"], "PROXY");
    assert_eq!(r["header"]["source"]["address"], "192.0.2.10");
    assert_eq!(r["client"]["address"], "192.0.2.10");
    assert_eq!(r["request"], "GET / HTTP/1.1");
    assert_eq!(r["reply"], "whoami");
    assert_eq!(summary["findings"]["proxied"], 1);
    assert_eq!(summary["versions"]["v1"], 1);
}

#[test]
fn v2_with_tlvs_and_crc_is_decoded() {
    let mut spec = HeaderSpec::tcp(
        Version::V2,
        sa("[2001:db8::7]:5555"),
        sa("[2001:db8::1]:443"),
    )
    .with_tlv(tlv::AUTHORITY, b"example.test".to_vec())
    .with_tlv(tlv::UNIQUE_ID, b"abc-123".to_vec());
    spec.crc32c = true;
    let mut bytes = spec.encode().expect("encode a v2 header");
    bytes.extend_from_slice(GET_JSON);
    let mut reply = Vec::new();
    let (_, recs, _) = session(&["--count", "1"], |port| reply = talk(port, &bytes, false));
    let page: Value = serde_json::from_str(&body(&reply)).expect("whoami JSON");
    assert_eq!(page["proxy_protocol_addr"], "2001:db8::7");
    assert_eq!(page["proxy_protocol"], "v2 PROXY");
    let r = &recs[0];
    assert_eq!(r["header"]["version"], 2);
    assert_eq!(r["header"]["protocol"], "TCP6");
    let names = listen_support::tlv_names(r);
    assert!(
        names.iter().any(|n| n == "AUTHORITY")
            && names.iter().any(|n| n == "UNIQUE_ID")
            && names.iter().any(|n| n == "CRC32C"),
        "{names:?}"
    );
    assert!(r["header"]["crc32c"].is_string(), "CRC verified: {r}");
    assert_eq!(r["reply"], "whoami-json");
}

#[test]
fn no_header_in_auto_is_direct_and_accept_json_is_honoured() {
    let mut reply = Vec::new();
    let (_, recs, _) = session(&["--count", "1"], |port| {
        reply = talk(
            port,
            b"GET /x HTTP/1.1\r\nHost: t\r\nAccept: application/json\r\n\r\n",
            false,
        );
    });
    let page: Value = serde_json::from_str(&body(&reply)).expect("whoami JSON");
    assert_eq!(page["proxy_protocol_addr"], Value::Null);
    assert_eq!(page["realip_remote_addr"], "127.0.0.1");
    assert_eq!(recs[0]["finding"]["name"], "plain");
    assert_eq!(recs[0]["header"], Value::Null);
}

#[test]
fn garbage_is_logged_as_hex_and_closed_or_echoed() {
    let (_, recs, _) = session(&["--count", "1"], |port| {
        let reply = talk(port, b"\x00\x01binary\xff", false);
        assert!(reply.is_empty());
    });
    assert_eq!(recs[0]["finding"]["name"], "plain");
    assert_eq!(recs[0]["data"]["hex"], "000162696e617279ff");
    assert_eq!(recs[0]["reply"], "none");

    let (_, recs, _) = session(&["--count", "1", "--echo"], |port| {
        let reply = talk(port, b"\x00\x01ping", true);
        assert_eq!(reply, b"\x00\x01ping");
    });
    assert_eq!(recs[0]["reply"], "echo");
}

#[test]
fn require_mode_logs_broken_header_like_nginx_and_closes() {
    let (code, recs, summary) = session(&["--count", "3", "--proxy-protocol", "require"], |port| {
        assert!(talk(port, GET, false).is_empty());
        assert!(talk(
            port,
            b"PROXY TCP4 1.2.3.4 5.6.7.8 99999 80\r\nGET / HTTP/1.1\r\n\r\n",
            false
        )
        .is_empty());
        let mut ok = v1("192.0.2.10", "198.51.100.1", 40000, 443);
        ok.extend_from_slice(GET);
        assert!(String::from_utf8_lossy(&talk(port, &ok, false)).starts_with("HTTP/1.1 200 OK"));
    });
    // Two problem findings: 1 (the one exit-code rule).
    assert_eq!(code, 1);
    assert_eq!(recs[0]["finding"]["name"], "missing-header");
    assert_eq!(
        recs[0]["log"],
        // nginx's entry ends with the first line (tests/data/peer-messages.txt).
        "broken header: \"GET / HTTP/1.1\\x0D\\x0A\" while reading PROXY protocol"
    );
    assert_eq!(recs[1]["finding"]["name"], "invalid-header");
    assert_eq!(recs[1]["header"]["error"]["kind"], "v1-port-range");
    assert!(recs[1]["log"]
        .as_str()
        .unwrap_or("")
        .starts_with("broken header: \"PROXY TCP4"));
    assert_eq!(recs[2]["finding"]["name"], "proxied");
    assert_eq!(summary["findings"]["missing-header"], 1);
}

#[test]
fn off_mode_answers_nginx_exact_400() {
    let mut reply = Vec::new();
    let (_, recs, _) = session(&["--count", "1", "--proxy-protocol", "off"], |port| {
        let mut bytes = v1("192.0.2.10", "198.51.100.1", 40000, 443);
        bytes.extend_from_slice(GET);
        reply = talk(port, &bytes, false);
    });
    let text = String::from_utf8_lossy(&reply).into_owned();
    // Bytes captured from Debian's nginx 1.22.1; only the Date differs.
    let date_start = text.find("Date: ").expect("a Date header") + 6;
    let date_end = date_start
        + text[date_start..]
            .find("\r\n")
            .expect("CRLF after the date");
    let masked = format!("{}DATE{}", &text[..date_start], &text[date_end..]);
    assert_eq!(
        masked,
        "HTTP/1.1 400 Bad Request\r\nServer: nginx/1.22.1\r\nDate: DATE\r\nContent-Type: text/html\r\n\
Content-Length: 157\r\nConnection: close\r\n\r\n<html>\r\n<head><title>400 Bad Request</title></head>\r\n<body>\r\n\
<center><h1>400 Bad Request</h1></center>\r\n<hr><center>nginx/1.22.1</center>\r\n</body>\r\n</html>\r\n"
    );
    assert!(text[date_start..date_end].ends_with(" GMT"));
    assert_eq!(recs[0]["finding"]["name"], "unexpected-header");
    assert_eq!(recs[0]["finding"]["code"], "PP-UNEXPECTED-HEADER");
    assert_eq!(recs[0]["finding"]["severity"], "problem");
    assert_eq!(
        recs[0]["fixes"][0]["id"], "ingress-nginx-use-proxy-protocol",
        "fixes come from the shared table"
    );
    assert_eq!(recs[0]["pairing"], Value::Null, "off mode takes no header");
    assert_eq!(recs[0]["reply"], "bad-request");
    assert_eq!(
        recs[0]["log"],
        "client sent invalid request while reading client request line, request: \"PROXY TCP4 192.0.2.10 198.51.100.1 40000 443\""
    );
}

#[test]
fn trust_decides_who_may_send_a_header() {
    let header = || {
        let mut b = v1("192.0.2.10", "198.51.100.1", 40000, 443);
        b.extend_from_slice(GET_JSON);
        b
    };
    // Loopback trusted: realip takes the header's address.
    let (_, recs, _) = session(&["--count", "1", "--trust", "127.0.0.0/8"], |port| {
        let page: Value = serde_json::from_str(&body(&talk(port, &header(), false))).expect("JSON");
        assert_eq!(page["realip_remote_addr"], "192.0.2.10");
    });
    assert_eq!(recs[0]["spoofable"], false);
    assert_eq!(
        recs[0]["pairing"],
        Value::Null,
        "a trust list: not spoofable"
    );
    assert_eq!(recs[0]["finding"]["name"], "proxied");
    // Not trusted, auto: header ignored with a note, the peer is the client.
    let (_, recs, _) = session(&["--count", "1", "--trust", "10.0.0.0/8"], |port| {
        let page: Value = serde_json::from_str(&body(&talk(port, &header(), false))).expect("JSON");
        assert_eq!(page["realip_remote_addr"], "127.0.0.1");
    });
    assert_eq!(recs[0]["finding"]["name"], "untrusted-source");
    assert!(recs[0]["note"].as_str().unwrap_or("").contains("ignored"));
    assert_eq!(recs[0]["client"]["address"], "127.0.0.1");
    // Not trusted, require: rejected.
    let (_, recs, _) = session(
        &[
            "--count",
            "1",
            "--trust",
            "10.0.0.0/8",
            "--proxy-protocol",
            "require",
        ],
        |port| {
            assert!(talk(port, &header(), false).is_empty());
        },
    );
    assert_eq!(recs[0]["finding"]["name"], "untrusted-source");
    assert_eq!(recs[0]["reply"], "none");
}

/// `--threads`: more workers serve the same, every connection counted once.
#[test]
fn more_worker_threads_serve_the_same() {
    let (code, recs, summary) = session(&["--count", "20", "--threads", "4"], |port| {
        let handles: Vec<_> = (0..20)
            .map(|i| {
                std::thread::spawn(move || {
                    let mut b = v1("192.0.2.10", "198.51.100.1", 40000 + i, 443);
                    b.extend_from_slice(GET);
                    talk(port, &b, false)
                })
            })
            .collect();
        for h in handles {
            let answer = h.join().expect("a client thread");
            assert!(String::from_utf8_lossy(&answer).starts_with("HTTP/1.1 200 OK"));
        }
    });
    assert_eq!(code, 0);
    assert_eq!(recs.len(), 20);
    assert_eq!(summary["connections"], 20);
}

#[test]
fn expectations_set_the_exit_code() {
    let send = |port: u16, src: &str| {
        let mut b = v1(src, "198.51.100.1", 40000, 443);
        b.extend_from_slice(GET);
        talk(port, &b, false);
    };
    let (code, recs, summary) = session(
        &[
            "--count",
            "2",
            "--expect-src",
            "192.0.2.10",
            "--expect-version",
            "1",
        ],
        |p| {
            send(p, "192.0.2.10");
            send(p, "192.0.2.10");
        },
    );
    assert_eq!(code, 0);
    assert_eq!(recs[0]["matched"], true);
    assert_eq!(summary["mismatched"], 0);
    let (code, _, summary) = session(&["--count", "2", "--expect-src", "192.0.2.10"], |p| {
        send(p, "192.0.2.10");
        send(p, "192.0.2.99");
    });
    assert_eq!(code, 1);
    assert_eq!(summary["mismatched"], 1);
    // CIDRs, repeated or comma-separated: any one matches.
    let (code, _, summary) = session(
        &[
            "--count",
            "2",
            "--expect-src",
            "10.0.0.0/8,192.0.2.0/28",
            "--expect-src",
            "2001:db8::/32",
        ],
        |p| {
            send(p, "192.0.2.10");
            send(p, "10.1.2.3");
        },
    );
    assert_eq!(code, 0);
    assert_eq!(summary["mismatched"], 0);
    let (code, _, _) = session(&["--count", "1", "--expect-src", "192.0.2.16/28"], |p| {
        send(p, "192.0.2.10")
    });
    assert_eq!(code, 1);
    let (code, _, _) = session(&["--count", "1", "--expect-version", "2"], |p| {
        send(p, "192.0.2.10")
    });
    assert_eq!(code, 1);
}

#[test]
fn sigterm_prints_every_line_and_a_summary() {
    let l = Listen::start(&[]);
    for _ in 0..3 {
        let mut b = v1("192.0.2.10", "198.51.100.1", 40000, 443);
        b.extend_from_slice(GET);
        talk(l.port, &b, false);
    }
    talk(l.port, GET, false);
    // Every line is out before the signal: read them as they come.
    let recs: Vec<Value> = (0..4).map(|_| l.next_json()).collect();
    assert!(recs.iter().all(|r| r["type"] == "connection"));
    l.term();
    let (status, lines) = l.finish();
    assert_eq!(status.code(), Some(0));
    let (_, summary) = Listen::split(&lines);
    assert_eq!(summary["connections"], 4);
    assert_eq!(summary["findings"]["proxied"], 3);
    assert_eq!(summary["findings"]["plain"], 1);
    assert_eq!(summary["interrupted"], true);
}

#[test]
fn sigterm_drains_a_connection_in_flight() {
    let l = Listen::start(&["--drain", "100ms", "--header-timeout", "60s"]);
    let mut idle = TcpStream::connect((Ipv4Addr::LOCALHOST, l.port)).expect("connect");
    idle.write_all(b"PROXY TCP4 1.2").expect("partial header");
    // Make sure the server has it before stopping: a served client after it.
    talk(l.port, GET, false);
    assert_eq!(l.next_json()["finding"]["name"], "plain");
    l.term();
    let (status, lines) = l.finish();
    assert_eq!(status.code(), Some(0));
    let (recs, summary) = Listen::split(&lines);
    assert_eq!(
        recs.len(),
        1,
        "the in-flight connection still gets its line"
    );
    assert_eq!(recs[0]["finding"]["name"], "interrupted");
    assert_eq!(summary["connections"], 2);
}

#[test]
fn max_conns_queues_instead_of_refusing() {
    // One slot: a silent client holds it until the header timeout, then
    // the second client is served. Order, not time, is asserted.
    let (_, recs, _) = session(
        &[
            "--count",
            "2",
            "--max-conns",
            "1",
            "--header-timeout",
            "300ms",
        ],
        |port| {
            let _silent = TcpStream::connect((Ipv4Addr::LOCALHOST, port)).expect("connect");
            let reply = talk(port, GET, false);
            assert!(String::from_utf8_lossy(&reply).starts_with("HTTP/1.1 200 OK"));
        },
    );
    assert_eq!(recs[0]["finding"]["name"], "header-timeout");
    assert_eq!(recs[1]["finding"]["name"], "plain");
}

#[test]
fn header_timeout_closes_a_silent_client() {
    let (_, recs, _) = session(
        &[
            "--count",
            "2",
            "--header-timeout",
            "200ms",
            "--proxy-protocol",
            "require",
        ],
        |port| {
            let mut s = TcpStream::connect((Ipv4Addr::LOCALHOST, port)).expect("connect");
            assert!(listen_support::read_all(&mut s).is_empty());
            let mut s = TcpStream::connect((Ipv4Addr::LOCALHOST, port)).expect("connect");
            s.write_all(b"PROXY TCP4 ").expect("write");
            assert!(listen_support::read_all(&mut s).is_empty());
        },
    );
    assert_eq!(recs[0]["finding"]["name"], "header-timeout");
    assert_eq!(
        recs[0]["log"],
        "client timed out while reading PROXY protocol"
    );
    assert_eq!(recs[1]["finding"]["name"], "header-timeout");
    assert_eq!(recs[1]["bytes_in"], 11);
}

#[test]
fn udp_decodes_a_header_per_datagram() {
    let l = Listen::start_raw(&[
        "listen",
        "127.0.0.1:0",
        "--json",
        "--udp",
        "--count",
        "2",
        "--echo",
    ]);
    let sock = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind udp");
    sock.set_read_timeout(Some(listen_support::BOUND))
        .expect("timeout");
    let mut spec = HeaderSpec::tcp(Version::V2, sa("192.0.2.10:5353"), sa("198.51.100.1:53"));
    spec.transport = ppctl::codec::Transport::Dgram;
    let mut d = spec.encode().expect("encode");
    d.extend_from_slice(b"query");
    sock.send_to(&d, l.addr()).expect("send");
    let mut buf = [0u8; 64];
    let (n, _) = sock.recv_from(&mut buf).expect("echo");
    assert_eq!(&buf[..n], b"query");
    sock.send_to(b"no header", l.addr()).expect("send");
    let (status, lines) = l.finish();
    assert_eq!(status.code(), Some(0));
    let (recs, _) = Listen::split(&lines);
    assert_eq!(recs[0]["transport"], "udp");
    assert_eq!(recs[0]["header"]["protocol"], "UDP4");
    assert_eq!(recs[0]["client"]["address"], "192.0.2.10");
    assert_eq!(recs[1]["finding"]["name"], "plain");
}

#[test]
fn bad_arguments_are_usage_errors() {
    let out = std::process::Command::new(assert_cmd::cargo::cargo_bin("ppctl"))
        .args(["listen", "nonsense"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not an address"));
    let out = std::process::Command::new(assert_cmd::cargo::cargo_bin("ppctl"))
        .args(["listen", "127.0.0.1:99999"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("port \"99999\" is not a number from 0 to 65535"),
        "{err}"
    );
    // A port in use: the OS's words once, not again as a cause.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = taken.local_addr().expect("addr").to_string();
    let out = std::process::Command::new(assert_cmd::cargo::cargo_bin("ppctl"))
        .args(["listen", &addr])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot listen on"), "{err}");
    assert_eq!(err.matches("in use (os error").count(), 1, "{err}");
    let out = std::process::Command::new(assert_cmd::cargo::cargo_bin("ppctl"))
        .args(["listen", ":0", "--trust", "banana"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a CIDR"));
    // Issue 11: a zero header timeout would time out every connection.
    for zero in ["0", "0s", "0ms"] {
        let out = std::process::Command::new(assert_cmd::cargo::cargo_bin("ppctl"))
            .args(["listen", ":0", "--header-timeout", zero])
            .output()
            .expect("run");
        assert_eq!(out.status.code(), Some(2), "--header-timeout {zero}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("--header-timeout") && err.contains("would time out every connection"),
            "{err}"
        );
    }
    let out = std::process::Command::new(assert_cmd::cargo::cargo_bin("ppctl"))
        .args(["listen", ":0", "--proxy-protocol", "sometimes"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("auto"));
}

#[test]
fn all_interfaces_means_v4_and_v6_on_one_port() {
    let l = Listen::start_raw(&["listen", ":0", "--json", "--count", "2"]);
    let first: Value = serde_json::from_str(&l.first).expect("JSON");
    assert_eq!(
        first["addresses"][0]["address"].as_str(),
        Some("::"),
        "{first}"
    );
    talk(l.port, GET, false);
    let v6 = TcpStream::connect(("::1", l.port));
    if let Ok(mut s) = v6 {
        s.write_all(GET).expect("write");
        s.set_read_timeout(Some(listen_support::BOUND))
            .expect("timeout");
        listen_support::read_all(&mut s);
    } else {
        eprintln!("SKIP (v6 half): no IPv6 loopback here");
        talk(l.port, GET, false);
    }
    let (status, lines) = l.finish();
    assert_eq!(status.code(), Some(0));
    let (recs, _) = Listen::split(&lines);
    // IPv4 peers of the dual-stack socket are shown as IPv4.
    assert_eq!(recs[0]["peer"]["address"], "127.0.0.1");
}

#[test]
fn human_lines_show_header_verdict_and_summary() {
    let l = Listen::start_raw(&["listen", "127.0.0.1:0", "--count", "2", "--color", "never"]);
    let mut b = v1("192.0.2.10", "198.51.100.1", 40000, 443);
    b.extend_from_slice(GET);
    talk(l.port, &b, false);
    talk(l.port, b"\x00\x01\x02", false);
    let (status, lines) = l.finish_text();
    assert_eq!(status.code(), Some(0));
    let text = lines.join("\n");
    assert!(
        text.contains("proxied (PP-PROXIED) spoofable (PP-SPOOFABLE) v1 PROXY 192.0.2.10:40000 -> 198.51.100.1:443 \"GET / HTTP/1.1\" reply=whoami at 127.0.0.1:"),
        "{text}"
    );
    assert!(
        text.contains("plain (PP-PLAIN) spoofable (PP-SPOOFABLE) no header"),
        "{text}"
    );
    assert!(text.contains("    00000000  00 01 02"), "{text}");
    assert!(
        text.contains("summary: 2 connection(s): 1 proxied, 1 plain (served: 1 none, 1 v1); 2 spoofable (PP-SPOOFABLE)"),
        "{text}"
    );
    // The warning is the default mode's choice: one line that names its
    // fixes and where to read them, not a block of them.
    assert!(
        text.contains("! spoofable (PP-SPOOFABLE): a header taken from anyone; fixes:"),
        "{text}"
    );
    assert!(text.contains("(docs/verdicts.md)"), "{text}");
    assert!(!text.contains("Fixes (docs/verdicts.md):"), "{text}");
}

#[test]
fn sigint_stops_like_sigterm() {
    let l = Listen::start(&[]);
    talk(l.port, GET, false);
    assert_eq!(l.next_json()["finding"]["name"], "plain");
    let ok = std::process::Command::new("kill")
        .args(["-INT", &l.pid().to_string()])
        .status()
        .expect("run kill")
        .success();
    assert!(ok);
    let (status, lines) = l.finish();
    assert_eq!(status.code(), Some(0));
    let (_, summary) = Listen::split(&lines);
    assert_eq!(summary["connections"], 1);
}

#[test]
fn help_ends_with_examples_and_exit_codes_and_shows_engine_defaults() {
    let out = std::process::Command::new(assert_cmd::cargo::cargo_bin("ppctl"))
        .args(["listen", "--help"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0));
    let help = String::from_utf8_lossy(&out.stdout);
    let examples = help.find("Examples:").expect("an Examples block");
    let codes = help.find("Exit codes").expect("exit codes");
    assert!(examples < codes, "{help}");
    assert!(help[examples..].contains("ppctl listen :8080"), "{help}");
    assert!(help.contains("[default: 5s]"), "{help}");
    assert!(help.contains("[default: 4096]"), "{help}");
    assert!(help.contains("[default: auto]"), "{help}");
    assert!(help.contains("--request-timeout"), "{help}");
    assert!(help.contains("[default: 30s]"), "{help}");
    // A closed stdout is exit 2, said where the exit codes are.
    assert!(
        help[codes..].contains("2    ppctl could not do its job")
            && help[codes..].contains("lost output (stdout closed or full"),
        "{help}"
    );
    assert!(!help.contains("field-guide"), "{help}");
}

#[test]
fn a_stacked_header_is_named() {
    let mut reply = Vec::new();
    let (_, recs, summary) = session(&["--count", "1", "--trust", "127.0.0.1"], |port| {
        let mut b = v1("192.0.2.10", "198.51.100.1", 40000, 443);
        b.extend_from_slice(&v1("203.0.113.5", "198.51.100.1", 50000, 443));
        b.extend_from_slice(GET);
        reply = talk(port, &b, false);
    });
    assert!(reply.is_empty(), "not HTTP: closed");
    assert_eq!(recs[0]["finding"]["name"], "stacked-header");
    assert_eq!(recs[0]["finding"]["code"], "PP-STACKED-HEADER");
    assert_eq!(recs[0]["fixes"][0]["id"], "single-header-hop");
    assert_eq!(summary["findings"]["stacked-header"], 1);
}

/// Connect, send a request, read what comes back; a refused connection
/// (the server is already gone) is fine.
fn try_talk(port: u16, bytes: &[u8]) {
    use std::io::Read;
    if let Ok(mut s) = TcpStream::connect((Ipv4Addr::LOCALHOST, port)) {
        let _ = s.set_read_timeout(Some(listen_support::BOUND));
        let _ = s.write_all(bytes);
        let _ = s.read_to_end(&mut Vec::new());
    }
}

#[test]
fn a_second_signal_ends_a_long_drain_at_once() {
    // Without --count a signal is exit 0; with one, 130 (--help).
    for (args, code) in [(&[][..], 0), (&["--count", "1000"][..], 130)] {
        let l = Listen::start(&[&["--drain", "600s", "--header-timeout", "600s"], args].concat());
        let mut held = TcpStream::connect((Ipv4Addr::LOCALHOST, l.port)).expect("connect");
        held.write_all(b"PROXY TCP4 1.2").expect("partial header");
        // The server has the held connection once a later one is reported.
        talk(l.port, GET, false);
        assert_eq!(l.next_json()["finding"]["name"], "plain");
        l.term();
        // The first signal has been handled once the port is closed (no
        // more accepting): the drain of up to 600 s has begun.
        let deadline = std::time::Instant::now() + listen_support::BOUND;
        while TcpStream::connect((Ipv4Addr::LOCALHOST, l.port)).is_ok() {
            assert!(std::time::Instant::now() < deadline, "still accepting");
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        l.term();
        // `finish` waits at most BOUND (30 s), far less than the drain.
        let (status, lines) = l.finish();
        assert_eq!(status.code(), Some(code), "{args:?}");
        let (recs, summary) = Listen::split(&lines);
        assert!(
            recs.iter()
                .any(|r| r["finding"]["name"] == "interrupted" && r["bytes_in"] == 14),
            "the held connection is reported as interrupted: {recs:?}"
        );
        assert_eq!(summary["interrupted"], true);
        drop(held);
    }
}

#[test]
fn a_closed_stdout_ends_the_run_with_exit_2() {
    use std::io::{BufRead, BufReader, Read};
    use std::process::{Command, Stdio};
    // The reader goes away after the first line (`| sed -u 1q`, an
    // unbuffered `head -1`) or after the second (a later line fails just
    // the same). The pipe is between ppctl and that reader in a shell: a pipe held by this test process could
    // stay open a moment longer in a child another test forks meanwhile,
    // and ppctl's write would then succeed.
    let ppctl = assert_cmd::cargo::cargo_bin("ppctl");
    for keep in [1, 2] {
        // After sed, the group closes its own copy of the pipe and says so:
        // the test makes the connections whose lines must fail only once
        // nobody can read them (a busy CI machine let ppctl write them all
        // into the pipe before sed had exited, and ppctl ended with 0).
        let script = format!(
            "\"$0\" listen 127.0.0.1:0 --json --count 5 | {{ sed -u {keep}q; exec 0<&-; echo reader-gone; }}; exit ${{PIPESTATUS[0]}}"
        );
        let mut child = Command::new("bash")
            .args(["-c", &script])
            .arg(&ppctl)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn bash -c 'ppctl listen | sed -u 1q'");
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let mut first = String::new();
        stdout.read_line(&mut first).expect("the listening line");
        let listening: Value = serde_json::from_str(&first).expect("JSON");
        let port: u16 = listening["addresses"][0]["port"]
            .as_u64()
            .and_then(|p| u16::try_from(p).ok())
            .expect("a port");
        if keep == 2 {
            try_talk(port, GET);
            let mut second = String::new();
            stdout.read_line(&mut second).expect("a connection line");
            assert!(second.contains("\"connection\""), "{second}");
        }
        let mut gone = String::new();
        stdout.read_line(&mut gone).expect("the reader's end");
        assert_eq!(gone, "reader-gone\n");
        for _ in 0..5 {
            try_talk(port, GET);
        }
        let deadline = std::time::Instant::now() + listen_support::BOUND;
        let status = loop {
            if let Some(s) = child.try_wait().expect("poll") {
                break s;
            }
            if std::time::Instant::now() > deadline {
                let _ = child.kill();
                panic!("ppctl listen did not stop after its stdout was closed");
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        };
        let mut err = String::new();
        child
            .stderr
            .take()
            .expect("stderr")
            .read_to_string(&mut err)
            .expect("stderr");
        assert_eq!(status.code(), Some(2), "keep {keep}: {err}");
        assert!(
            err.contains(
                "ppctl: error: writing to stdout: Broken pipe (the reader closed the pipe); "
            ),
            "{err}"
        );
        assert!(err.contains(" not written"), "{err}");
        assert_eq!(err.lines().count(), 1, "one message: {err}");
    }
}
