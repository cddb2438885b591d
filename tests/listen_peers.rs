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
