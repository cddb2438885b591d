//! `ppctl probe` against real receivers on loopback: HAProxy `accept-proxy`,
//! nginx `listen … proxy_protocol`, plain nginx, and a closed port.

mod common;

use common::peers::{self, Haproxy, Nginx, Peer};
use common::{free_port, ppctl};
use serde_json::Value;

/// Run `ppctl probe --json` and return (exit code, report).
fn probe(target: &str, extra: &[&str]) -> (i32, Value) {
    let out = ppctl()
        .args(["probe", target, "--json", "--timeout", "2s"])
        .args(extra)
        .output()
        .expect("run ppctl probe");
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "probe printed no JSON ({e}); stdout:\n{}\nstderr:\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap_or(-1), report)
}

fn accepted(report: &Value, header: &str) -> bool {
    report["attempts"]
        .as_array()
        .and_then(|a| a.iter().find(|x| x["kind"] == header))
        .map(|x| x["accepted"] == true)
        .unwrap_or(false)
}

#[test]
fn haproxy_accept_proxy_requires_v1_or_v2() {
    if !peers::require(Peer::Haproxy) {
        return;
    }
    let port = free_port().to_string();
    let _h = Haproxy::start("accept_proxy", &[("PORT", &port)]);
    let target = format!("127.0.0.1:{port}");
    let (code, r) = probe(&target, &["--expect", "requires-v1-or-v2"]);
    assert_eq!(r["class"], "requires-v1-or-v2", "{r:#}");
    assert_eq!(code, 0);
    assert!(
        !accepted(&r, "none")
            && accepted(&r, "v1")
            && accepted(&r, "v2")
            && accepted(&r, "v2-local")
    );
    assert_eq!(r["spoofable"], false);
    // HAProxy resets a connection that carries no header.
    let none = &r["attempts"][0];
    assert_eq!(none["outcome"], "reset", "{none:#}");
    assert_eq!(none["finding"]["name"], "missing-header", "{none:#}");
    // The profile leads to what a sender without a header meets.
    assert_eq!(r["finding"]["code"], "PP-MISSING", "{r:#}");
}

#[test]
fn nginx_proxy_protocol_listener_requires_v1_or_v2() {
    if !peers::require(Peer::Nginx) {
        return;
    }
    let port = free_port().to_string();
    let _n = Nginx::start("pp_http", &[("PORT", &port)]);
    let (code, r) = probe(
        &format!("127.0.0.1:{port}"),
        &["--expect", "requires-v1-or-v2"],
    );
    assert_eq!(r["class"], "requires-v1-or-v2", "{r:#}");
    assert_eq!(code, 0);
    let ids: Vec<&str> = r["fixes"]
        .as_array()
        .map(|a| a.iter().filter_map(|f| f["id"].as_str()).collect())
        .unwrap_or_default();
    assert!(ids.contains(&"enable-at-sender"), "{ids:?}");
}

#[test]
fn plain_nginx_takes_no_header() {
    if !peers::require(Peer::Nginx) {
        return;
    }
    let port = free_port().to_string();
    let _n = Nginx::start("plain_http", &[("PORT", &port)]);
    let (code, r) = probe(&format!("127.0.0.1:{port}"), &[]);
    assert_eq!(r["type"], "probe", "{r:#}");
    assert_eq!(r["schema"], 2, "{r:#}");
    assert_eq!(r["class"], "no-header", "{r:#}");
    assert_eq!(code, 0);
    // The seed failure, named as every command names it: the v1 attempt
    // and the profile's finding.
    let v1 = &r["attempts"][1];
    assert_eq!(v1["kind"], "v1", "{v1:#}");
    assert_eq!(v1["finding"]["name"], "unexpected-header", "{v1:#}");
    assert_eq!(v1["finding"]["code"], "PP-UNEXPECTED", "{v1:#}");
    assert_eq!(v1["finding"]["severity"], "problem", "{v1:#}");
    assert_eq!(r["finding"]["name"], "unexpected-header", "{r:#}");
    assert_eq!(r["finding"]["code"], "PP-UNEXPECTED", "{r:#}");
    assert_eq!(r["fixes"][0]["id"], "ingress-nginx-use-proxy-protocol");
    // The header sent, as an object of the inspect schema.
    assert_eq!(v1["header"]["verdict"], "valid", "{v1:#}");
    assert_eq!(v1["header"]["version"], 1, "{v1:#}");
    assert_eq!(v1["header"]["source"]["address"], "127.0.0.1", "{v1:#}");
    assert!(r["attempts"][0]["header"].is_null(), "{r:#}");
    assert_eq!(r["attempts"][0]["finding"]["name"], "plain", "{r:#}");
    // The tell-tale 400 to a header on a plain listener.
    assert!(
        r["attempts"][1]["reply"]
            .as_str()
            .unwrap_or("")
            .contains("400"),
        "{r:#}"
    );
    // And the CI gate: expecting v2 here fails with exit 1.
    let (code, _) = probe(&format!("127.0.0.1:{port}"), &["--expect", "requires-v2"]);
    assert_eq!(code, 1);
}

#[test]
fn closed_port_is_unreachable() {
    let port = free_port();
    let (code, r) = probe(&format!("127.0.0.1:{port}"), &["--expect", "unreachable"]);
    assert_eq!(r["class"], "unreachable", "{r:#}");
    assert_eq!(r["finding"]["name"], "no-receiver", "{r:#}");
    assert_eq!(r["finding"]["code"], "PP-REFUSED", "{r:#}");
    assert_eq!(code, 0);
    let (code, _) = probe(&format!("127.0.0.1:{port}"), &[]);
    assert_eq!(code, 1, "unreachable without --expect is a failed check");
}

#[test]
fn human_view_shows_evidence_and_verdict() {
    let port = free_port();
    ppctl()
        .args(["probe", &format!("127.0.0.1:{port}"), "--color", "never"])
        .assert()
        .code(1)
        .stdout(predicates::str::contains("profile unreachable"))
        .stdout(predicates::str::contains("no-receiver (PP-REFUSED)"))
        .stdout(predicates::str::contains("connection refused"));
}

#[test]
fn human_view_fits_80_columns_in_its_table() {
    let port = free_port();
    let out = ppctl()
        .env("COLUMNS", "80")
        .args(["probe", &format!("127.0.0.1:{port}"), "--color", "never"])
        .output()
        .expect("run");
    let text = String::from_utf8_lossy(&out.stdout);
    let table: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with('+') || l.starts_with('|'))
        .collect();
    assert!(table.len() > 4, "{text}");
    for line in &table {
        assert!(line.chars().count() <= 80, "{line:?}");
    }
    assert!(
        !text.contains("field-guide") && !text.contains("(F1)"),
        "{text}"
    );
}

#[test]
fn timeout_takes_a_duration() {
    let port = free_port();
    for t in ["2s", "500ms", "1.5", "1"] {
        ppctl()
            .args(["probe", &format!("127.0.0.1:{port}"), "--timeout", t])
            .assert()
            .code(1);
    }
    for t in ["0", "0s", "2m", "soon"] {
        ppctl()
            .args(["probe", &format!("127.0.0.1:{port}"), "--timeout", t])
            .assert()
            .code(2);
    }
}

#[test]
fn help_ends_with_examples_and_exit_codes() {
    let out = ppctl().args(["probe", "--help"]).output().expect("run");
    let text = String::from_utf8_lossy(&out.stdout);
    let examples = text.find("Examples:").expect("examples");
    let codes = text.find("Exit codes:").expect("exit codes");
    assert!(examples < codes, "{text}");
    assert!(text.contains("no-header") && !text.contains("no-proxy-protocol"));
    assert!(text.contains("[default: 2s]"), "{text}");
}

#[test]
fn usage_errors_exit_2() {
    ppctl().args(["probe", "no-port-here"]).assert().code(2);
    ppctl()
        .args(["probe", "127.0.0.1:1", "--expect", "sometimes"])
        .assert()
        .code(2);
    ppctl()
        .args(["probe", "127.0.0.1:1", "--timeout", "0"])
        .assert()
        .code(2);
}

/// A `ppctl listen` child, killed (by its own handle) when dropped.
struct Listener(std::process::Child);

impl Drop for Listener {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn listen(mode: &str) -> (Listener, String) {
    let port = free_port();
    let child = std::process::Command::new(assert_cmd::cargo::cargo_bin("ppctl"))
        .args([
            "listen",
            &format!("127.0.0.1:{port}"),
            "--proxy-protocol",
            mode,
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start ppctl listen");
    let guard = Listener(child);
    assert!(
        common::wait_for_port(port, std::time::Duration::from_secs(10)),
        "ppctl listen did not come up on {port}"
    );
    (guard, format!("127.0.0.1:{port}"))
}

#[test]
fn ppctl_listen_auto_is_optional_and_flagged_spoofable() {
    let (_l, target) = listen("auto");
    let (code, r) = probe(&target, &["--expect", "optional"]);
    assert_eq!(r["class"], "optional", "{r:#}");
    assert_eq!(code, 0);
    assert_eq!(r["spoofable"], true);
    assert_eq!(r["finding"]["name"], "spoofable", "{r:#}");
    assert_eq!(r["finding"]["code"], "PP-SPOOF", "{r:#}");
    assert!(
        r["warnings"].as_array().is_some_and(|w| w
            .iter()
            .any(|x| x.as_str().unwrap_or("").contains("SECURITY"))),
        "{r:#}"
    );
    ppctl()
        .args(["probe", &target, "--color", "never"])
        .assert()
        .code(0)
        .stdout(predicates::str::contains("spoofable (PP-SPOOF)"));
}

#[test]
fn ppctl_listen_require_and_off() {
    let (_l, target) = listen("require");
    assert_eq!(probe(&target, &[]).1["class"], "requires-v1-or-v2");
    let (_l, target) = listen("off");
    let r = probe(&target, &[]).1;
    assert_eq!(r["class"], "no-header", "{r:#}");
    assert_eq!(
        r["attempts"][1]["finding"]["code"], "PP-UNEXPECTED",
        "{r:#}"
    );
    assert_eq!(r["finding"]["code"], "PP-UNEXPECTED", "{r:#}");
}

/// A self-signed certificate and key made with the openssl CLI, in a temp
/// dir kept alive by the returned guard. `None` (after a loud SKIP) when
/// openssl is missing, unless PPCTL_REQUIRE_PEERS=1.
fn self_signed() -> Option<(tempfile::TempDir, String, String)> {
    let dir = tempfile::tempdir().expect("temp dir");
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let made = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !made {
        let message = "SKIP: openssl could not make a test certificate (apt-get install openssl)";
        if std::env::var_os("PPCTL_REQUIRE_PEERS").is_some_and(|v| v == "1") {
            panic!("{message}; PPCTL_REQUIRE_PEERS=1 makes this a failure");
        }
        eprintln!("{message}");
        return None;
    }
    let s = |p: std::path::PathBuf| p.to_string_lossy().into_owned();
    Some((dir, s(cert), s(key)))
}

#[test]
fn tls_probe_through_nginx_ssl_listeners() {
    if !peers::require(Peer::Nginx) {
        return;
    }
    let Some((_dir, cert, key)) = self_signed() else {
        return;
    };
    let port = free_port().to_string();
    let _n = Nginx::start("pp_tls", &[("PORT", &port), ("CERT", &cert), ("KEY", &key)]);
    let (code, r) = probe(
        &format!("127.0.0.1:{port}"),
        &["--tls", "--expect", "requires-v1-or-v2"],
    );
    assert_eq!(r["class"], "requires-v1-or-v2", "{r:#}");
    assert_eq!(code, 0);
    assert_eq!(r["mode"], "tls");
    assert_eq!(r["attempts"][1]["outcome"], "tls-handshake-ok", "{r:#}");

    let port = free_port().to_string();
    let _p = Nginx::start(
        "plain_tls",
        &[("PORT", &port), ("CERT", &cert), ("KEY", &key)],
    );
    let (_, r) = probe(&format!("localhost:{port}"), &["--tls"]);
    assert_eq!(r["class"], "no-header", "{r:#}");
    assert_eq!(r["attempts"][0]["outcome"], "tls-handshake-ok", "{r:#}");
    assert_eq!(r["attempts"][0]["finding"]["name"], "plain", "{r:#}");
    // In HTTP mode the same port answers 400 to everything: inconclusive,
    // with a hint to use --tls.
    let (_, r) = probe(&format!("127.0.0.1:{port}"), &[]);
    assert_eq!(r["class"], "inconclusive", "{r:#}");
    assert_eq!(r["finding"]["code"], "PP-PROBE-BLIND", "{r:#}");
    assert!(r["warnings"].to_string().contains("--tls"), "{r:#}");
}

/// A server-speaks-first receiver that requires a v1 header, like an SMTP
/// relay behind an NLB: it reads one line, then greets only if it was a
/// PROXY line. Serves `n` connections on its own thread.
fn banner_server(n: usize) -> String {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr").to_string();
    std::thread::spawn(move || {
        for conn in listener.incoming().take(n) {
            let Ok(mut conn) = conn else { continue };
            let _ = conn.set_read_timeout(Some(std::time::Duration::from_secs(5)));
            let mut line = String::new();
            let read = BufReader::new(&conn).read_line(&mut line);
            if read.is_ok() && line.starts_with("PROXY ") {
                let _ = conn.write_all(b"220 mail.example ESMTP\r\n");
            }
        }
    });
    addr
}

#[test]
fn banner_mode_finds_a_server_first_receiver_that_requires_v1() {
    let addr = banner_server(4);
    let (code, r) = probe(
        &addr,
        &["--banner", "--timeout", "500ms", "--expect", "requires-v1"],
    );
    assert_eq!(r["class"], "requires-v1", "{r:#}");
    assert_eq!(code, 0);
    assert_eq!(r["attempts"][1]["finding"]["name"], "proxied", "{r:#}");
    assert_eq!(
        r["attempts"][2]["finding"]["name"], "header-rejected",
        "{r:#}"
    );
    assert_eq!(r["finding"]["code"], "PP-VERSION", "{r:#}");
    assert!(
        r["attempts"][1]["reply"]
            .as_str()
            .unwrap_or("")
            .contains("220"),
        "{r:#}"
    );
}

/// A server that accepts every connection, sends it `first`, then one byte
/// every 200 ms (for at most 30 s), never reading.
fn trickler(first: &'static [u8]) -> std::net::SocketAddr {
    use std::io::Write;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for s in listener.incoming() {
            let Ok(mut s) = s else { return };
            std::thread::spawn(move || {
                let start = std::time::Instant::now();
                if s.write_all(first).is_err() {
                    return;
                }
                while start.elapsed() < std::time::Duration::from_secs(30) {
                    if s.write_all(b".").is_err() {
                        return;
                    }
                    std::thread::sleep(std::time::Duration::from_millis(200));
                }
            });
        }
    });
    addr
}

#[test]
fn max_time_bounds_each_attempt_against_a_trickling_server() {
    use std::time::{Duration, Instant};
    let addr = trickler(b"").to_string();
    // A TLS handshake record announcing 16 KiB, then a byte every 200 ms.
    let tls = trickler(b"\x16\x03\x03\x40\x00").to_string();
    for (addr, mode) in [
        (addr.as_str(), &[][..]),
        (addr.as_str(), &["--banner"][..]),
        (tls.as_str(), &["--tls"][..]),
    ] {
        let start = Instant::now();
        let out = ppctl()
            .args([
                "probe",
                addr,
                "--json",
                "--timeout",
                "1s",
                "--max-time",
                "1s",
            ])
            .args(mode)
            .timeout(Duration::from_secs(40))
            .output()
            .expect("run ppctl probe");
        let took = start.elapsed();
        // Four attempts, each cut at 1 s.
        assert!(took < Duration::from_secs(8), "{mode:?} took {took:?}");
        let report: Value = serde_json::from_slice(&out.stdout).expect("JSON report");
        let attempts = report["attempts"].as_array().expect("attempts");
        assert_eq!(attempts.len(), 4, "{report:#}");
        for a in attempts {
            assert!(a["finding"]["name"].is_string(), "{a:#}");
            if mode == ["--tls"] {
                assert_eq!(a["outcome"], "max-time", "{a:#}");
            }
            assert!(
                a["elapsed_ms"].as_f64().unwrap_or(0.0) < 1900.0,
                "{mode:?}: {a:#}"
            );
        }
        assert!(report["finding"]["name"].is_string(), "{report:#}");
    }
}
