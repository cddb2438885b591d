//! `ppctl listen --tls` end to end, with `ppctl send --tls` as the client:
//! TLS after the header (and without one in auto), the generated
//! certificate and its fingerprint, the handshake facts on each connection,
//! and the ordering mistakes as findings.

mod common;
mod listen_support;

use std::process::Command;

use common::free_port;
use common::peers::{self, Haproxy, Peer};
use listen_support::Listen;
use serde_json::Value;

/// Run `ppctl send ARGS --json` against `port`: (exit code, document).
fn send(port: u16, args: &[&str]) -> (i32, Value) {
    let target = format!("127.0.0.1:{port}");
    common::send_json(&[&[target.as_str()], args].concat())
}

/// `listen 127.0.0.1:0 --json --tls ARGS`: the server and its first line.
fn listen(args: &[&str]) -> (Listen, Value) {
    let l = Listen::start(&[&["--tls"], args].concat());
    let first: Value = serde_json::from_str(&l.first).expect("the listening line is JSON");
    (l, first)
}

#[test]
fn tls_after_the_header_with_a_generated_certificate() {
    let (l, first) = listen(&["--proxy-protocol", "require", "--count", "2"]);
    let tls = &first["tls"];
    assert_eq!(tls["generated"], true, "{first:#}");
    let fingerprint = tls["sha256"].as_str().expect("a fingerprint").to_string();
    assert_eq!(fingerprint.len(), 95, "{fingerprint}");
    assert!(tls["names"].to_string().contains("127.0.0.1"), "{first:#}");
    let dir = tempfile::tempdir().unwrap();
    let pem = dir.path().join("listen.pem");
    std::fs::write(&pem, tls["pem"].as_str().expect("the PEM")).unwrap();
    let pem = pem.to_string_lossy().into_owned();

    // Verified against the printed certificate, by IP and by name.
    let (code, doc) = send(
        l.port,
        &["-2", "--tls", "--cacert", &pem, "--src", "203.0.113.7:4444"],
    );
    assert_eq!(code, 0, "{doc:#}");
    assert_eq!(doc["finding"]["name"], "proxied", "{doc:#}");
    assert_eq!(doc["tls"]["certificate"]["sha256"], fingerprint.as_str());
    let body = doc["reply"]["data"]["text"].as_str().unwrap_or_default();
    assert!(body.contains("proxy_protocol_addr: 203.0.113.7"), "{body}");
    let (code, doc) = send(
        l.port,
        &[
            "-1",
            "--tls",
            "--cacert",
            &pem,
            "--sni",
            "localhost",
            "--tls-alpn",
            "h2,http/1.1",
        ],
    );
    assert_eq!(code, 0, "{doc:#}");
    assert_eq!(doc["tls"]["alpn"], "http/1.1");

    let (status, lines) = l.finish();
    assert!(status.success());
    let (records, _) = Listen::split(&lines);
    assert_eq!(records.len(), 2, "{lines:#?}");
    let first_tls = &records[0]["tls"];
    assert_eq!(records[0]["finding"]["name"], "proxied", "{:#}", records[0]);
    assert_eq!(first_tls["version"], "TLSv1.3", "{first_tls:#}");
    assert!(first_tls["sni"].is_null(), "{first_tls:#}");
    assert_eq!(first_tls["alpn"], "http/1.1");
    assert!(first_tls["cipher"]
        .as_str()
        .unwrap_or_default()
        .starts_with("TLS13_"));
    assert_eq!(records[1]["tls"]["sni"], "localhost");
}

#[test]
fn auto_serves_tls_without_a_header_and_plain_http_gets_nginx_s_400() {
    let (l, _) = listen(&["--count", "2"]);
    let (code, doc) = send(l.port, &["--no-header", "--tls", "-k"]);
    assert_eq!(code, 0, "{doc:#}");
    assert_eq!(doc["finding"]["name"], "plain", "{doc:#}");
    let (code, doc) = send(l.port, &["-2"]);
    assert_eq!(code, 1, "{doc:#}");
    assert_eq!(doc["finding"]["name"], "plain-http-to-tls", "{doc:#}");
    let text = doc["reply"]["data"]["text"].as_str().unwrap_or_default();
    assert!(
        text.contains("<center>The plain HTTP request was sent to HTTPS port</center>"),
        "{text}"
    );
    let (_, lines) = l.finish();
    let (records, _) = Listen::split(&lines);
    assert_eq!(records[0]["finding"]["name"], "plain", "{:#}", records[0]);
    assert_eq!(
        records[1]["finding"]["name"], "plain-http-to-tls",
        "{:#}",
        records[1]
    );
}

#[test]
fn a_client_hello_where_a_header_is_required_is_tls_before_proxy() {
    let (l, _) = listen(&["--proxy-protocol", "require", "--count", "1"]);
    let (code, doc) = send(l.port, &["--no-header", "--tls", "-k"]);
    assert_eq!(code, 1, "{doc:#}");
    assert_eq!(doc["finding"]["name"], "tls-before-proxy", "{doc:#}");
    let (_, lines) = l.finish();
    let (records, _) = Listen::split(&lines);
    assert_eq!(
        records[0]["finding"]["name"], "tls-before-proxy",
        "{:#}",
        records[0]
    );
    let log = records[0]["log"].as_str().unwrap_or_default();
    assert!(
        log.starts_with("broken header: \"\\x16\\x03"),
        "{:#}",
        records[0]
    );
}

#[test]
fn a_header_to_tls_without_proxy_protocol_gets_nginx_s_400() {
    let (l, _) = listen(&["--proxy-protocol", "off", "--count", "1"]);
    let (code, doc) = send(l.port, &["-2", "--tls", "-k"]);
    assert_eq!(code, 1, "{doc:#}");
    assert_eq!(doc["finding"]["name"], "tls-handshake-failed", "{doc:#}");
    assert_eq!(doc["reply"]["http_status"], 400, "{doc:#}");
    let (_, lines) = l.finish();
    let (records, _) = Listen::split(&lines);
    // The receiver names it as the client does.
    assert_eq!(
        records[0]["finding"]["name"], "tls-handshake-failed",
        "{:#}",
        records[0]
    );
    assert!(
        records[0]["error"]
            .as_str()
            .is_some_and(|e| e.contains("TLS port without PROXY protocol")),
        "{:#}",
        records[0]
    );
}

#[test]
fn haproxy_send_proxy_v2_ssl_over_tls_is_decoded_next_to_the_handshake() {
    if !peers::require(Peer::Haproxy) {
        return;
    }
    let (l, _) = listen(&["--proxy-protocol", "require", "--count", "1"]);
    // HAProxy's own certificate for its TLS frontend: cert and key in one PEM.
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("key");
    let cert = rcgen::CertificateParams::new(vec!["localhost".to_string()])
        .expect("params")
        .self_signed(&key)
        .expect("certificate");
    let dir = tempfile::tempdir().expect("temp dir");
    let pem = dir.path().join("haproxy.pem");
    std::fs::write(&pem, cert.pem() + &key.serialize_pem()).expect("write PEM");
    let port = free_port();
    let _haproxy = Haproxy::start(
        "send_proxy_v2_ssl_tls",
        &[
            ("PORT", &port.to_string()),
            ("PEM", &pem.to_string_lossy()),
            ("UPSTREAM", &l.port.to_string()),
        ],
    );
    let (code, doc) = send(port, &["--no-header", "--tls", "-k", "--sni", "localhost"]);
    assert_eq!(code, 0, "{doc:#}");
    let body = doc["reply"]["data"]["text"].as_str().unwrap_or_default();
    assert!(body.contains("proxy_protocol: v2 PROXY"), "{body}");
    let (_, lines) = l.finish();
    let (records, _) = Listen::split(&lines);
    let r = &records[0];
    assert_eq!(r["finding"]["name"], "proxied", "{r:#}");
    // The header's SSL TLV (the client's TLS to HAProxy) and the handshake
    // HAProxy made with us, side by side.
    assert!(
        listen_support::tlv_names(r).iter().any(|n| n == "SSL"),
        "{r:#}"
    );
    assert!(r["header"].to_string().contains("TLSv1.3"), "{r:#}");
    assert_eq!(r["tls"]["result"], "done", "{r:#}");
    assert!(r["tls"]["version"]
        .as_str()
        .unwrap_or_default()
        .starts_with("TLSv1."));
}

#[test]
fn curl_haproxy_protocol_over_https_is_served() {
    if !peers::require(Peer::Curl) {
        return;
    }
    let (l, _) = listen(&["--proxy-protocol", "require", "--count", "1"]);
    let url = format!("https://localhost:{}/json", l.port);
    let out = Command::new(peers::path(Peer::Curl).expect("curl"))
        .args([
            "--silent",
            "--show-error",
            "--max-time",
            "10",
            "--haproxy-protocol",
            "-k",
        ])
        .args(["--resolve", &format!("localhost:{}:127.0.0.1", l.port)])
        .arg(&url)
        .output()
        .expect("run curl");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let page: Value = serde_json::from_slice(&out.stdout).expect("the whoami JSON page");
    assert_eq!(page["proxy_protocol"], "v1 PROXY", "{page:#}");
    let (_, lines) = l.finish();
    let (records, _) = Listen::split(&lines);
    let r = &records[0];
    assert_eq!(r["finding"]["name"], "proxied", "{r:#}");
    assert_eq!(r["tls"]["sni"], "localhost", "{r:#}");
    assert_eq!(r["tls"]["alpn"], "http/1.1", "{r:#}");
    assert_eq!(r["client"]["address"], "127.0.0.1");
}

/// TLS to a plain port: `listen` without `--tls` answers the ClientHello
/// as nginx would (a 400 in clear) and names it as `send --tls` does.
#[test]
fn tls_to_a_plain_listen_is_named_on_both_sides() {
    // Three connections: the TLS one, send's second opinion, the last.
    let l = Listen::start(&["--proxy-protocol", "require", "--count", "3"]);
    let (code, doc) = send(l.port, &["-2", "--tls", "-k"]);
    assert_eq!(code, 1, "{doc:#}");
    assert_eq!(doc["finding"]["name"], "tls-to-plain-port", "{doc:#}");
    let (code, doc) = send(l.port, &["--no-header", "--tls", "-k"]);
    assert_eq!(code, 1, "{doc:#}");
    assert_eq!(doc["finding"]["name"], "tls-before-proxy", "{doc:#}");
    let (_, lines) = l.finish();
    let (records, _) = Listen::split(&lines);
    let names: Vec<&str> = records
        .iter()
        .filter_map(|r| r["finding"]["name"].as_str())
        .collect();
    // send's second opinion (the same header, the request in clear) is
    // served: that is how it knows the port takes the header.
    assert_eq!(
        names,
        ["tls-to-plain-port", "proxied", "tls-before-proxy"],
        "{records:#?}"
    );
    assert_eq!(records[0]["reply"], "bad-request", "{:#}", records[0]);
}

/// `ppctl probe --json ARGS 127.0.0.1:PORT`: the document.
fn probe(port: u16, args: &[&str]) -> Value {
    let out = common::ppctl()
        .args([
            "probe",
            &format!("127.0.0.1:{port}"),
            "--json",
            "--timeout",
            "3s",
        ])
        .args(args)
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .expect("run ppctl probe");
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "probe printed no JSON ({e}): {}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// probe's four attempts and listen's four records are the same
/// connections, in the same order: each gets one name on both sides.
fn probe_and_listen_agree(mode: &str, probe_args: &[&str], want: [&str; 4]) {
    let (l, _) = listen(&["--proxy-protocol", mode, "--count", "4"]);
    let p = probe(l.port, probe_args);
    let (_, lines) = l.finish();
    let (records, _) = Listen::split(&lines);
    let listen_says: Vec<&str> = records
        .iter()
        .filter_map(|r| r["finding"]["name"].as_str())
        .collect();
    let probe_says: Vec<&str> = (0..4)
        .filter_map(|i| p["attempts"][i]["finding"]["name"].as_str())
        .collect();
    assert_eq!(probe_says, want, "{mode} {probe_args:?}: {p:#}");
    assert_eq!(listen_says, want, "{mode} {probe_args:?}: {records:#?}");
}

/// What happens on the wire: a header read, then plain HTTP where TLS is
/// served, is plain-http-to-tls (nginx `listen … ssl proxy_protocol`
/// answers `400 The plain HTTP request was sent to HTTPS port`); a header
/// read as data is unexpected-header when plain HTTP follows it (no
/// handshake was tried), tls-handshake-failed when a ClientHello does.
#[test]
fn probe_and_listen_name_each_connection_to_a_tls_port_alike() {
    probe_and_listen_agree(
        "require",
        &[],
        [
            "missing-header",
            "plain-http-to-tls",
            "plain-http-to-tls",
            "plain-http-to-tls",
        ],
    );
    probe_and_listen_agree(
        "off",
        &[],
        [
            "plain-http-to-tls",
            "unexpected-header",
            "unexpected-header",
            "unexpected-header",
        ],
    );
    probe_and_listen_agree(
        "require",
        &["--tls"],
        ["tls-before-proxy", "proxied", "proxied", "health-check"],
    );
    probe_and_listen_agree(
        "off",
        &["--tls"],
        [
            "plain",
            "tls-handshake-failed",
            "tls-handshake-failed",
            "tls-handshake-failed",
        ],
    );
}

/// A client that refuses the certificate (ppctl's rustls, curl's OpenSSL):
/// certificate-rejected on both sides, with its own fix.
#[test]
fn a_refused_certificate_is_certificate_rejected_on_both_sides() {
    let curl = peers::require(Peer::Curl);
    let (l, _) = listen(&[
        "--proxy-protocol",
        "require",
        "--count",
        if curl { "2" } else { "1" },
    ]);
    let (code, doc) = send(l.port, &["-1", "--tls"]);
    assert_eq!(code, 1, "{doc:#}");
    assert_eq!(doc["finding"]["name"], "certificate-rejected", "{doc:#}");
    if curl {
        let status = Command::new(peers::path(Peer::Curl).expect("curl"))
            .args([
                "-s",
                "-o",
                "/dev/null",
                "--max-time",
                "10",
                "--haproxy-protocol",
            ])
            .arg(format!("https://127.0.0.1:{}/", l.port))
            .status()
            .expect("run curl");
        assert!(!status.success(), "curl trusted a generated certificate");
    }
    let (_, lines) = l.finish();
    let (records, _) = Listen::split(&lines);
    for r in &records {
        assert_eq!(r["finding"]["name"], "certificate-rejected", "{r:#}");
        assert_eq!(r["fixes"][0]["id"], "tls-trust-certificate", "{r:#}");
    }
}
