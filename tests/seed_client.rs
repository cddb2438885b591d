//! The seed failure seen from the client: a hop that adds a PROXY header
//! (nginx `stream { proxy_protocol on; }`, HAProxy `send-proxy`) in front of
//! a backend that does not read one. A client that sends no header gets the
//! backend's stock `400 Bad Request` and a close; `send`, `probe` and a
//! `relay` in front name it `hop-adds-header` (suspected), and a plain
//! backend reached directly is not named so. Real peers, loopback only.

mod common;
mod listen_support;

use std::time::Duration;

use common::peers::{self, Haproxy, Nginx, Peer};
use common::{free_port, ppctl, send_json};
use listen_support::Listen;
use serde_json::Value;

/// `ppctl probe 127.0.0.1:PORT --json`: exit code and document.
fn probe_json(port: u16) -> (i32, Value) {
    let out = ppctl()
        .args(["probe", &format!("127.0.0.1:{port}"), "--json"])
        .args(["--timeout", "3s"])
        .timeout(Duration::from_secs(60))
        .output()
        .expect("run ppctl probe");
    let doc = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "probe printed no JSON ({e}): {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap_or(-1), doc)
}

/// `send --no-header` and `probe` against the front port of a chain whose
/// backend does not read the header the front adds.
fn named_hop_adds_header(front: u16, server: &str) {
    let target = format!("127.0.0.1:{front}");
    let (code, v) = send_json(&[&target, "--no-header"]);
    assert_eq!(code, 1, "{v}");
    assert_eq!(v["reply"]["http_status"], 400, "{v}");
    let page = v["reply"]["data"]["text"].as_str().unwrap_or("");
    assert!(page.contains(server), "the backend's page: {page}");
    assert_eq!(v["finding"]["name"], "hop-adds-header", "{v}");
    assert_eq!(v["finding"]["code"], "PP-HOP-ADDS-HEADER");
    let meaning = v["finding"]["meaning"].as_str().unwrap_or("");
    assert!(meaning.starts_with("suspected"), "{meaning}");
    assert_eq!(v["fixes"][0]["id"], "confirm-hop-adds-header");
    let fixes: Vec<&str> = v["fixes"]
        .as_array()
        .map(|a| a.iter().filter_map(|f| f["id"].as_str()).collect())
        .unwrap_or_default();
    assert!(
        fixes.contains(&"ingress-nginx-use-proxy-protocol"),
        "{fixes:?}"
    );

    // The human view says it is a suspicion, and how to confirm it.
    let out = ppctl()
        .args(["send", &target, "--no-header", "--color", "never"])
        .timeout(Duration::from_secs(30))
        .output()
        .expect("run ppctl send");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("✗ hop-adds-header (PP-HOP-ADDS-HEADER)"),
        "{text}"
    );
    assert!(text.contains("suspected, not proven"), "{text}");
    assert!(text.contains("ppctl listen :PORT"), "{text}");
    assert!(!text.contains("the PROXY layer is fine"), "{text}");

    let (code, p) = probe_json(front);
    assert_eq!(code, 0, "a profile is not a failure: {p}");
    assert_eq!(p["class"], "no-header", "{p}");
    assert_eq!(p["finding"]["name"], "hop-adds-header", "{p}");
    assert_eq!(p["attempts"][0]["finding"]["name"], "hop-adds-header");
    for row in [1, 2] {
        assert_eq!(p["attempts"][row]["finding"]["name"], "unexpected-header");
    }
}

#[test]
fn nginx_stream_proxy_protocol_in_front_of_plain_nginx() {
    if !peers::require(Peer::Nginx) {
        return;
    }
    let (back, front) = (free_port(), free_port());
    let backend = Nginx::start("plain_http", &[("PORT", &back.to_string())]);
    let _front = Nginx::start(
        "stream_pp",
        &[
            ("PORT", &front.to_string()),
            ("UPSTREAM", &back.to_string()),
        ],
    );
    named_hop_adds_header(front, "<center>nginx");
    // What the suspicion stands for: the backend read the header as a
    // request line.
    let log = backend.wait_access_log("\"PROXY TCP4 ");
    assert!(log.contains("\"PROXY TCP4 127.0.0.1 127.0.0.1 "), "{log}");
    assert!(log.contains("\" 400 "), "{log}");
}

#[test]
fn haproxy_send_proxy_in_front_of_plain_nginx() {
    if !peers::require(Peer::Nginx) || !peers::require(Peer::Haproxy) {
        return;
    }
    let (back, front) = (free_port(), free_port());
    let backend = Nginx::start("plain_http", &[("PORT", &back.to_string())]);
    let _front = Haproxy::start(
        "send_proxy_v1",
        &[
            ("PORT", &front.to_string()),
            ("UPSTREAM", &back.to_string()),
        ],
    );
    named_hop_adds_header(front, "<center>nginx");
    let log = backend.wait_access_log("\"PROXY TCP4 ");
    assert!(log.contains("\" 400 "), "{log}");
}

/// HAProxy's own 400 page, behind nginx stream: the same signature.
#[test]
fn nginx_stream_proxy_protocol_in_front_of_haproxy_without_accept_proxy() {
    if !peers::require(Peer::Nginx) || !peers::require(Peer::Haproxy) {
        return;
    }
    let (back, front) = (free_port(), free_port());
    let _backend = Haproxy::start("plain_http", &[("PORT", &back.to_string())]);
    let _front = Nginx::start(
        "stream_pp",
        &[
            ("PORT", &front.to_string()),
            ("UPSTREAM", &back.to_string()),
        ],
    );
    named_hop_adds_header(front, "Your browser sent an invalid request.");
}

/// The plain backends reached directly: served, and a header there is the
/// seed's own `unexpected-header`, never the suspicion.
#[test]
fn plain_nginx_and_haproxy_reached_directly_are_not_named_so() {
    if !peers::require(Peer::Nginx) || !peers::require(Peer::Haproxy) {
        return;
    }
    let (nginx, haproxy) = (free_port(), free_port());
    let _n = Nginx::start("plain_http", &[("PORT", &nginx.to_string())]);
    let _h = Haproxy::start("plain_http", &[("PORT", &haproxy.to_string())]);
    for port in [nginx, haproxy] {
        let target = format!("127.0.0.1:{port}");
        let (code, v) = send_json(&[&target, "--no-header"]);
        assert_eq!((code, &v["finding"]["name"]), (0, &"plain".into()), "{v}");
        let (_, v) = send_json(&[&target, "-1"]);
        assert_eq!(v["finding"]["name"], "unexpected-header", "{v}");
        let (_, p) = probe_json(port);
        assert_eq!(p["class"], "no-header", "{p}");
        assert_eq!(p["finding"]["name"], "unexpected-header", "{p}");
        assert_eq!(p["attempts"][0]["finding"]["name"], "plain", "{p}");
    }
}

/// `relay` judging the same exchanges: as the plain hop in front of the
/// chain it sees what `send` sees; as the hop that adds the header it knows
/// it sent one, and names the backend's 400 `unexpected-header`.
#[test]
fn relay_in_front_of_the_chain_and_as_the_hop_agree_with_send() {
    if !peers::require(Peer::Nginx) {
        return;
    }
    let (back, front) = (free_port(), free_port());
    let _backend = Nginx::start("plain_http", &[("PORT", &back.to_string())]);
    let _front = Nginx::start(
        "stream_pp",
        &[
            ("PORT", &front.to_string()),
            ("UPSTREAM", &back.to_string()),
        ],
    );
    for (upstream, send, relay_says) in [
        (front, "none", "hop-adds-header"),
        (back, "v1", "unexpected-header"),
    ] {
        let to = format!("127.0.0.1:{upstream}");
        let r = Listen::start_raw(&[
            "relay",
            "127.0.0.1:0",
            "--to",
            &to,
            "--send",
            send,
            "--json",
            "--count",
            "1",
        ]);
        let (_, v) = send_json(&[&format!("127.0.0.1:{}", r.port), "--no-header"]);
        assert_eq!(v["finding"]["name"], "hop-adds-header", "{send}: {v}");
        let (_, lines) = r.finish();
        let (records, _) = Listen::split(&lines);
        assert_eq!(
            records[0]["finding"]["name"], relay_says,
            "{send}: {}",
            records[0]
        );
    }
}
