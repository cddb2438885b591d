//! `ppctl send` as a client of a 443 ingress: HTTP realism (-H, --host,
//! --method, --path, --connect-to, --resolve) against a capturing server,
//! and `--tls` (header, then TLS, then the request) against real nginx
//! listeners, with certificates made here by rcgen (ECDSA P-256).

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use common::peers::{self, Nginx, Peer};
use common::{free_port, ppctl};
use serde_json::Value;

/// Run `ppctl send ARGS --json`: (exit code, document).
fn send(args: &[&str]) -> (i32, Value) {
    common::send_json(args)
}

/// Run `ppctl send ARGS` for humans: (exit code, stdout).
fn send_text(args: &[&str]) -> (i32, String) {
    let out = ppctl()
        .arg("send")
        .args(args)
        .args(["--timeout", "3s"])
        .env("COLUMNS", "80")
        .timeout(Duration::from_secs(30))
        .output()
        .expect("run ppctl send");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// Text with every run of white space made one space (wrapped prose).
fn flat(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn reply_text(doc: &Value) -> String {
    doc["reply"]["data"]["text"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// A server that takes one connection, keeps everything up to the end of
/// the request head, answers 200 and hands the bytes over.
fn capture_server() -> (u16, mpsc::Receiver<Vec<u8>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let Ok((mut conn, _)) = listener.accept() else {
            return;
        };
        let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        while !got.windows(4).any(|w| w == b"\r\n\r\n") {
            match conn.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
        let _ =
            conn.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        let _ = tx.send(got);
    });
    (port, rx)
}

fn captured(rx: &mpsc::Receiver<Vec<u8>>) -> String {
    String::from_utf8_lossy(&rx.recv_timeout(Duration::from_secs(10)).expect("a request"))
        .into_owned()
}

#[test]
fn host_headers_method_and_path_go_into_the_request() {
    let (port, rx) = capture_server();
    let target = format!("127.0.0.1:{port}");
    let (code, doc) = send(&[
        &target,
        "--host",
        "app.example.com",
        "-H",
        "X-Trace: abc",
        "--header",
        "User-Agent: probe/1",
        "-H",
        "Accept:",
        "--method",
        "HEAD",
        "--path",
        "/healthz?x=1",
    ]);
    assert_eq!(code, 0, "{doc:#}");
    let got = captured(&rx);
    let head = got.split_once("\r\n").expect("a header line").1;
    assert!(
        head.starts_with("HEAD /healthz?x=1 HTTP/1.1\r\nHost: app.example.com\r\n"),
        "{got:?}"
    );
    assert!(head.contains("\r\nX-Trace: abc\r\n"), "{got:?}");
    assert!(head.contains("\r\nUser-Agent: probe/1\r\n"), "{got:?}");
    assert!(
        !head.contains("ppctl/") && !head.contains("Accept"),
        "{got:?}"
    );
    assert_eq!(doc["finding"]["name"], "proxied");
}

#[test]
fn connect_to_and_resolve_keep_the_name_in_host() {
    // --connect-to: the name stays in Host, the connection goes elsewhere.
    let (port, rx) = capture_server();
    let rule = format!("app.example.com:443:127.0.0.1:{port}");
    let (code, doc) = send(&["app.example.com:443", "--connect-to", &rule, "-2"]);
    assert_eq!(code, 0, "{doc:#}");
    assert_eq!(
        doc["peer"],
        serde_json::json!({"address": "127.0.0.1", "port": port})
    );
    assert!(captured(&rx).contains("\r\nHost: app.example.com:443\r\n"));

    // --resolve: the name resolves to the given address.
    let (port, rx) = capture_server();
    let target = format!("api.example.test:{port}");
    let rule = format!("api.example.test:{port}:127.0.0.1");
    let (code, doc) = send(&[&target, "--resolve", &rule]);
    assert_eq!(code, 0, "{doc:#}");
    assert!(captured(&rx).contains(&format!("\r\nHost: api.example.test:{port}\r\n")));

    // Bad rules are usage errors.
    let out = ppctl()
        .args(["send", "x:1", "--resolve", "x:1:not-an-ip"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = ppctl()
        .args(["send", "x:1", "-H", "no colon here"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn tls_flags_need_tls_and_the_help_keeps_the_two_alpns_apart() {
    let out = ppctl()
        .args(["send", "127.0.0.1:1", "--sni", "x"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let help = ppctl().args(["send", "--help"]).output().unwrap();
    let help = flat(&String::from_utf8_lossy(&help.stdout));
    assert!(help.contains("--tls-alpn"), "{help}");
    assert!(help.contains("Not the --alpn TLV"), "{help}");
}

fn ingress() -> Option<common::TlsIngress> {
    common::TlsIngress::start()
}

fn fix_ids(doc: &Value) -> Vec<String> {
    doc["fixes"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|f| f["id"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn tls_after_the_header_reaches_nginx_ssl_proxy_protocol() {
    let Some(ing) = ingress() else { return };
    let target = format!("127.0.0.1:{}", ing.pp_ssl);
    for version in ["-1", "-2"] {
        let (code, doc) = send(&[
            &target,
            version,
            "--tls",
            "--sni",
            "app.example.com",
            "--host",
            "app.example.com",
            "--cacert",
            &ing.certs.ca,
            "--src",
            "203.0.113.7:4444",
            "-H",
            "X-Trace: t1",
        ]);
        assert_eq!(code, 0, "{doc:#}");
        assert_eq!(doc["finding"]["name"], "proxied", "{doc:#}");
        assert_eq!(doc["reply"]["http_status"], 200);
        let body = reply_text(&doc);
        assert!(body.contains("pp=203.0.113.7:4444 "), "{body}");
        assert!(body.contains(" sni=app.example.com "), "{body}");
        assert!(body.contains(" alpn=http/1.1 "), "{body}");
        assert!(body.contains(" host=app.example.com "), "{body}");
        assert!(body.contains(" x_trace=t1"), "{body}");
        let tls = &doc["tls"];
        assert_eq!(tls["result"], "done", "{tls:#}");
        assert_eq!(tls["version"], "TLSv1.3");
        assert_eq!(tls["alpn"], "http/1.1");
        assert_eq!(tls["sni"], "app.example.com");
        assert_eq!(tls["verify"], true);
        let cert = &tls["certificate"];
        assert_eq!(cert["subject"], "CN=app.example.com", "{cert:#}");
        assert_eq!(cert["issuer"], "CN=ppctl test CA");
        assert_eq!(cert["matches_name"], true);
        assert_eq!(cert["expired"], false);
        assert!(cert["sans"].to_string().contains("127.0.0.1"), "{cert:#}");
    }
    // By name, with --connect-to (SNI and Host default to the name) and
    // with --resolve.
    let rule = format!("app.example.com:443:127.0.0.1:{}", ing.pp_ssl);
    let (code, doc) = send(&[
        "app.example.com:443",
        "--connect-to",
        &rule,
        "--tls",
        "--cacert",
        &ing.certs.ca,
    ]);
    assert_eq!(code, 0, "{doc:#}");
    let body = reply_text(&doc);
    assert!(body.contains(" sni=app.example.com "), "{body}");
    assert!(body.contains(" host=app.example.com "), "{body}");
    let rule = format!("app.example.com:{}:127.0.0.1", ing.pp_ssl);
    let by_name = format!("app.example.com:{}", ing.pp_ssl);
    let (code, doc) = send(&[
        &by_name,
        "--resolve",
        &rule,
        "--tls",
        "--cacert",
        &ing.certs.ca,
        "--tls-alpn",
        "h2,http/1.1",
    ]);
    assert_eq!(code, 0, "{doc:#}");
    assert_eq!(doc["tls"]["alpn_offered"][0], "h2");

    // The human view: the handshake, the certificate, the verdict.
    let (code, text) = send_text(&[
        &target,
        "--tls",
        "--sni",
        "app.example.com",
        "--cacert",
        &ing.certs.ca,
    ]);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("\ntls       TLSv1.3 "), "{text}");
    assert!(
        text.contains("ALPN http/1.1, SNI app.example.com"),
        "{text}"
    );
    assert!(text.contains("\ncert      CN=app.example.com"), "{text}");
    assert!(text.contains("issuer CN=ppctl test CA"), "{text}");
    assert!(text.contains("valid for app.example.com"), "{text}");
    assert!(text.contains("proxied (PP-PROXIED)"), "{text}");
    for l in text.lines() {
        assert!(l.chars().count() <= 80, "{l:?}");
    }
    ing.nginx.wait_access_log("203.0.113.7");

    // Load: every exchange a full handshake.
    let (code, doc) = send(&[
        &target,
        "-2",
        "--tls",
        "-k",
        "--connections",
        "20",
        "--concurrency",
        "4",
    ]);
    assert_eq!(code, 0, "{doc:#}");
    assert_eq!(doc["load"]["ok"], 20, "{doc:#}");
    assert_eq!(doc["load"]["findings"]["proxied"], 20, "{doc:#}");
}

#[test]
fn verification_is_on_by_default() {
    let Some(ing) = ingress() else { return };
    let target = format!("127.0.0.1:{}", ing.pp_ssl);
    // The test CA is in no system store.
    let (code, doc) = send(&[&target, "--tls", "--sni", "app.example.com"]);
    assert_eq!(code, 1, "{doc:#}");
    assert_eq!(doc["finding"]["name"], "certificate-rejected", "{doc:#}");
    assert_eq!(doc["finding"]["code"], "PP-CERTIFICATE-REJECTED");
    assert_eq!(doc["tls"]["failure"]["kind"], "certificate");
    // The certificate is shown even so.
    assert_eq!(doc["tls"]["certificate"]["subject"], "CN=app.example.com");
    assert_eq!(fix_ids(&doc), ["tls-trust-certificate"]);
    // A name the certificate does not hold.
    let (code, doc) = send(&[
        &target,
        "--tls",
        "--sni",
        "other.example.com",
        "--cacert",
        &ing.certs.ca,
    ]);
    assert_eq!(code, 1, "{doc:#}");
    assert_eq!(doc["finding"]["name"], "certificate-rejected");
    assert_eq!(doc["tls"]["certificate"]["matches_name"], false);
    // -k: served, and said to be unverified.
    let (code, doc) = send(&[&target, "--tls", "-k", "--sni", "other.example.com"]);
    assert_eq!(code, 0, "{doc:#}");
    assert_eq!(doc["finding"]["name"], "proxied");
    assert_eq!(doc["tls"]["verify"], false);
    assert_eq!(doc["tls"]["certificate"]["matches_name"], false);
    // An IP target and no --sni: no SNI, the certificate's IP SAN matches.
    let (code, doc) = send(&[&target, "--tls", "--cacert", &ing.certs.ca]);
    assert_eq!(code, 0, "{doc:#}");
    assert!(doc["tls"]["sni"].is_null());
    assert_eq!(doc["tls"]["certificate"]["matches_name"], true);
}

#[test]
fn a_header_to_nginx_ssl_without_proxy_protocol_breaks_the_handshake() {
    let Some(ing) = ingress() else { return };
    let target = format!("127.0.0.1:{}", ing.ssl);
    for version in ["-1", "-2"] {
        let (code, doc) = send(&[&target, version, "--tls", "-k"]);
        assert_eq!(code, 1, "{doc:#}");
        assert_eq!(doc["finding"]["name"], "tls-handshake-failed", "{doc:#}");
        assert_eq!(doc["finding"]["code"], "PP-TLS-HANDSHAKE-FAILED");
        assert_eq!(doc["tls"]["result"], "failed");
        let fixes = fix_ids(&doc);
        assert_eq!(fixes[0], "ingress-nginx-use-proxy-protocol", "{fixes:?}");
        assert!(fixes.contains(&"nginx-listen-proxy-protocol".to_string()));
        assert!(fixes.contains(&"parse-header-before-tls".to_string()));
    }
    // nginx `listen … ssl` peeks at the first byte: not a TLS record, so
    // it reads the header as a plain HTTP request line and answers 400.
    let log = ing
        .nginx
        .wait_access_log("\"PROXY TCP4 127.0.0.1 127.0.0.1 ");
    assert!(log.contains("\" 400 "), "{log}");
    // The same without a header works: the receiver serves plain TLS.
    let (code, doc) = send(&[&target, "--no-header", "--tls", "-k"]);
    assert_eq!(code, 0, "{doc:#}");
    assert_eq!(doc["finding"]["name"], "plain", "{doc:#}");

    let (_, text) = send_text(&[&target, "-2", "--tls", "-k"]);
    assert!(text.contains("handshake FAILED"), "{text}");
    assert!(
        text.contains("tls-handshake-failed (PP-TLS-HANDSHAKE-FAILED)"),
        "{text}"
    );
    assert!(
        flat(&text).contains("read the header as the start of TLS"),
        "{text}"
    );
}

#[test]
fn plain_http_to_nginx_ssl_proxy_protocol_is_named() {
    let Some(ing) = ingress() else { return };
    let target = format!("127.0.0.1:{}", ing.pp_ssl);
    let (code, doc) = send(&[&target, "-2"]);
    assert_eq!(code, 1, "{doc:#}");
    assert_eq!(doc["finding"]["name"], "plain-http-to-tls", "{doc:#}");
    assert_eq!(doc["finding"]["code"], "PP-PLAIN-HTTP-TO-TLS");
    assert!(
        reply_text(&doc).contains("The plain HTTP request was sent to HTTPS port"),
        "{doc:#}"
    );
    assert_eq!(fix_ids(&doc)[0], "speak-tls-to-tls-port");
    let (_, text) = send_text(&[&target]);
    assert!(
        text.contains("plain-http-to-tls (PP-PLAIN-HTTP-TO-TLS)"),
        "{text}"
    );
    assert!(flat(&text).contains("TLS and PROXY are mixed up"), "{text}");
}

#[test]
fn tls_without_a_header_to_a_receiver_that_requires_one() {
    let Some(ing) = ingress() else { return };
    let target = format!("127.0.0.1:{}", ing.pp_ssl);
    let (code, doc) = send(&[&target, "--no-header", "--tls", "-k"]);
    assert_eq!(code, 1, "{doc:#}");
    assert_eq!(doc["finding"]["name"], "tls-before-proxy", "{doc:#}");
    assert_eq!(doc["finding"]["code"], "PP-TLS-BEFORE-PROXY");
    assert_eq!(fix_ids(&doc)[0], "enable-at-sender");
    let log = ing.nginx.wait_error_log("broken header");
    // nginx 1.22 logs the bytes raw; later versions escape them.
    assert!(
        log.contains("broken header: \"\u{16}\u{3}") || log.contains(r#"broken header: "\x16\x03"#),
        "{log}"
    );
}

#[test]
fn tls_to_a_plain_proxy_protocol_port() {
    let Some(ing) = ingress() else { return };
    let target = format!("127.0.0.1:{}", ing.pp_plain);
    let (code, doc) = send(&[&target, "--tls", "-k"]);
    assert_eq!(code, 1, "{doc:#}");
    assert_eq!(doc["finding"]["name"], "tls-to-plain-port", "{doc:#}");
    assert_eq!(doc["reply"]["http_status"], 400, "{doc:#}");
    assert_eq!(fix_ids(&doc), ["tls-to-plain-port"]);
    assert_eq!(doc["notes"][0]["kind"], "plain-served", "{doc:#}");
}

#[test]
fn a_cacert_that_is_not_pem_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.pem");
    std::fs::write(&bad, "not a certificate").unwrap();
    let out = ppctl()
        .args(["send", "127.0.0.1:1", "--tls", "--cacert"])
        .arg(Path::new(&bad))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--cacert"));
}

#[test]
fn a_self_signed_certificate_given_with_cacert_is_trusted_as_itself() {
    if !peers::require(Peer::Nginx) {
        return;
    }
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("key");
    let cert = rcgen::CertificateParams::new(vec!["localhost".to_string()])
        .expect("params")
        .self_signed(&key)
        .expect("self-signed");
    let dir = tempfile::tempdir().expect("temp dir");
    let (cert_path, key_path) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert_path, cert.pem()).expect("write");
    std::fs::write(&key_path, key.serialize_pem()).expect("write");
    let s = |p: &Path| p.to_string_lossy().into_owned();
    let port = free_port().to_string();
    let _n = Nginx::start(
        "pp_tls",
        &[
            ("PORT", &port),
            ("CERT", &s(&cert_path)),
            ("KEY", &s(&key_path)),
        ],
    );
    let target = format!("localhost:{port}");
    let (code, doc) = send(&[&target, "--tls", "--cacert", &s(&cert_path)]);
    assert_eq!(code, 0, "{doc:#}");
    assert_eq!(doc["tls"]["certificate"]["self_signed"], true);
    assert_eq!(doc["tls"]["verify"], true);
    // ...but only for the names it holds.
    let by_ip = format!("127.0.0.1:{port}");
    let (code, doc) = send(&[&by_ip, "--tls", "--cacert", &s(&cert_path)]);
    assert_eq!(code, 1, "{doc:#}");
    assert_eq!(doc["finding"]["name"], "certificate-rejected");
}

#[test]
fn max_time_bounds_a_handshake_that_never_answers() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    // Accept and keep the socket, silent, until the test ends.
    thread::spawn(move || {
        let kept: Vec<_> = listener.incoming().take(1).collect();
        thread::sleep(Duration::from_secs(10));
        drop(kept);
    });
    let started = std::time::Instant::now();
    let out = ppctl()
        .args([
            "send",
            &format!("127.0.0.1:{port}"),
            "--tls",
            "-k",
            "--json",
        ])
        .args(["--timeout", "5s", "--max-time", "1s"])
        .timeout(Duration::from_secs(30))
        .output()
        .expect("run ppctl send");
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    let doc: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(doc["reply"]["end"], "max-time", "{doc:#}");
    assert_eq!(doc["tls"]["failure"]["kind"], "timeout", "{doc:#}");
    assert_eq!(doc["finding"]["name"], "no-reply", "{doc:#}");
}
