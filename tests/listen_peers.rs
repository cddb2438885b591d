//! Real peers in front of `ppctl listen`: nginx's stream module and
//! HAProxy sending headers, curl sending one itself. A missing peer is a
//! loud skip (a failure with PPCTL_REQUIRE_PEERS=1).

mod common;
mod listen_support;

use std::io::Write;
use std::net::{Ipv4Addr, TcpStream};
use std::process::Command;

use common::free_port;
use common::peers::{self, Haproxy, Nginx, Peer};
use listen_support::{body, read_all, Listen, BOUND, GET_JSON};
use ppctl::codec::encode::HeaderSpec;
use ppctl::codec::{tlv, Version};
use serde_json::Value;

/// Send a GET /json on a fresh connection; return (our local port, page).
fn whoami_via(port: u16, header: &[u8]) -> (u16, Value) {
    let mut s = TcpStream::connect((Ipv4Addr::LOCALHOST, port)).expect("connect to the peer");
    s.set_read_timeout(Some(BOUND)).expect("timeout");
    let local = s.local_addr().expect("local addr").port();
    s.write_all(&[header, GET_JSON].concat()).expect("send");
    let reply = read_all(&mut s);
    let page = serde_json::from_str(&body(&reply))
        .unwrap_or_else(|e| panic!("no whoami JSON ({e}): {}", String::from_utf8_lossy(&reply)));
    (local, page)
}

#[test]
fn nginx_stream_proxy_protocol_on_shows_the_real_client() {
    if !peers::require(Peer::Nginx) {
        return;
    }
    let l = Listen::start(&[
        "--count",
        "1",
        "--proxy-protocol",
        "require",
        "--trust",
        "127.0.0.1",
    ]);
    let port = free_port();
    let _nginx = Nginx::start(
        "stream_pp",
        &[
            ("PORT", &port.to_string()),
            ("UPSTREAM", &l.port.to_string()),
        ],
    );
    let (client_port, page) = whoami_via(port, b"");
    // The socket peer is nginx; the header carries the client's own port.
    assert_eq!(page["proxy_protocol_addr"], "127.0.0.1");
    assert_eq!(page["proxy_protocol_port"], client_port);
    assert_eq!(page["proxy_protocol_server_port"], port);
    assert_ne!(page["peer"]["port"], client_port);
    let (status, lines) = l.finish();
    assert_eq!(status.code(), Some(0));
    let (recs, _) = Listen::split(&lines);
    assert_eq!(recs[0]["finding"]["name"], "proxied");
    assert_eq!(recs[0]["header"]["version"], 1);
    assert_eq!(recs[0]["client"]["port"], client_port);
}

#[test]
fn haproxy_send_proxy_v2_tlvs_are_decoded_and_crc_verified() {
    if !peers::require(Peer::Haproxy) {
        return;
    }
    let l = Listen::start(&["--count", "2", "--proxy-protocol", "require"]);
    let (port, pp_port) = (free_port(), free_port());
    let _haproxy = Haproxy::start(
        "send_proxy_v2",
        &[
            ("PORT", &port.to_string()),
            ("PP_PORT", &pp_port.to_string()),
            ("UPSTREAM", &l.port.to_string()),
        ],
    );
    let (client_port, page) = whoami_via(port, b"");
    assert_eq!(page["proxy_protocol"], "v2 PROXY");
    assert_eq!(page["proxy_protocol_port"], client_port);
    // Through the accept-proxy port, HAProxy relays our AUTHORITY TLV.
    let ours = HeaderSpec::tcp(
        Version::V2,
        "192.0.2.33:41000".parse().expect("addr"),
        "198.51.100.1:443".parse().expect("addr"),
    )
    .with_tlv(tlv::AUTHORITY, b"authority.example".to_vec())
    .encode()
    .expect("encode");
    let (_, page) = whoami_via(pp_port, &ours);
    assert_eq!(page["proxy_protocol_addr"], "192.0.2.33");
    let (status, lines) = l.finish();
    assert_eq!(status.code(), Some(0));
    let (recs, _) = Listen::split(&lines);
    for r in &recs {
        assert_eq!(r["finding"]["name"], "proxied");
        assert_eq!(r["header"]["version"], 2);
        assert!(
            r["header"]["crc32c"].is_string(),
            "CRC32C present and verified: {r}"
        );
        let names = listen_support::tlv_names(r);
        assert!(
            names.iter().any(|n| n == "CRC32C") && names.iter().any(|n| n == "UNIQUE_ID"),
            "{names:?}"
        );
    }
    let authority = recs[1]["header"]["tlvs"]
        .as_array()
        .expect("tlvs")
        .iter()
        .find(|t| t["name"] == "AUTHORITY")
        .cloned()
        .expect("AUTHORITY relayed");
    assert_eq!(authority["decoded"], "authority.example");
}

#[test]
fn curl_haproxy_protocol_is_decoded_with_curls_addresses() {
    if !peers::require(Peer::Curl) {
        return;
    }
    let l = Listen::start(&["--count", "1", "--proxy-protocol", "require"]);
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "20", "--haproxy-protocol"])
        .arg(format!("http://127.0.0.1:{}/json", l.port))
        .output()
        .expect("run curl");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let page: Value = serde_json::from_slice(&out.stdout).expect("whoami JSON");
    // curl's header carries the socket's real ends.
    assert_eq!(page["proxy_protocol"], "v1 PROXY");
    assert_eq!(page["proxy_protocol_addr"], "127.0.0.1");
    assert_eq!(page["proxy_protocol_port"], page["peer"]["port"]);
    assert_eq!(page["proxy_protocol_server_port"], l.port);
    let (status, lines) = l.finish();
    assert_eq!(status.code(), Some(0));
    let (recs, _) = Listen::split(&lines);
    assert_eq!(recs[0]["header"]["protocol"], "TCP4");
}

/// The sender test of `summary.sender.tests` with this id.
fn sender_test<'a>(summary: &'a Value, id: &str) -> &'a Value {
    summary["sender"]["tests"]
        .as_array()
        .and_then(|t| t.iter().find(|t| t["id"] == id))
        .unwrap_or_else(|| panic!("no {id} in {summary}"))
}

#[test]
fn listen_conform_grades_haproxy_and_nginx_as_senders() {
    if !peers::require(Peer::Haproxy) || !peers::require(Peer::Nginx) {
        return;
    }
    let l = Listen::start(&["--proxy-protocol", "require", "--conform"]);
    let (v1_port, v2_port, nginx_port) = (free_port(), free_port(), free_port());
    let _haproxy = Haproxy::start(
        "send_proxy_checks",
        &[
            ("V1_PORT", &v1_port.to_string()),
            ("V2_PORT", &v2_port.to_string()),
            ("UPSTREAM", &l.port.to_string()),
        ],
    );
    let _nginx = Nginx::start(
        "stream_pp",
        &[
            ("PORT", &nginx_port.to_string()),
            ("UPSTREAM", &l.port.to_string()),
        ],
    );
    for port in [v1_port, v2_port, nginx_port] {
        let (_, page) = whoami_via(port, b"");
        assert_eq!(page["proxy_protocol_addr"], "127.0.0.1", "{page}");
    }
    // HAProxy's health checks (every 300 ms, a header each: LOCAL in v2)
    // keep coming: wait for a v2 and a v1 one, besides the 3 clients.
    let (mut local, mut v1_checks, mut clients) = (0, 0, 0);
    while local < 2 || v1_checks < 2 || clients < 3 {
        let rec = l.next_json();
        assert_eq!(rec["type"], "connection", "{rec}");
        let checks = rec["sender"].as_array().expect("graded");
        for c in checks {
            // HAProxy's LOCAL carries its CRC32C TLV (len 7, not 0).
            let want = if c["id"] == "sender/local-len-0" {
                "warn"
            } else {
                "pass"
            };
            assert_eq!(c["status"], want, "{rec}");
        }
        match (&rec["header"]["version"], &rec["header"]["command"]) {
            (v, c) if *v == 2 && *c == "LOCAL" => local += 1,
            _ if rec["request"].is_string() => clients += 1,
            (v, _) if *v == 1 => v1_checks += 1,
            _ => panic!("neither a client nor a health check: {rec}"),
        }
    }
    l.term();
    let (status, lines) = l.finish();
    let (_, summary) = Listen::split(&lines);
    assert_eq!(summary["sender"]["status"], "warn", "{summary}");
    assert_eq!(
        sender_test(&summary, "sender/local-len-0")["status"],
        "warn"
    );
    for id in [
        "sender/header-first",
        "sender/header-at-once",
        "sender/well-formed",
        "sender/v1-crlf",
        "sender/tlv-lengths",
        "sender/crc32c",
        "sender/local-health-check",
    ] {
        let t = sender_test(&summary, id);
        assert_eq!(t["status"], "pass", "{t}");
        assert!(t["pass"].as_u64() > Some(0), "{t}");
    }
    // No MUST missed, every finding ok: exit 0.
    assert_eq!(status.code(), Some(0), "{summary}");
}
