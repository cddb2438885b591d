//! `ppctl probe` against real receivers on loopback: HAProxy `accept-proxy`
//! (plain and `ssl crt`), nginx `listen … proxy_protocol` (plain and
//! `ssl`), plain nginx, `ppctl listen` (plain and `--tls`) in each mode, and
//! a closed port; and the `--expect`, `--expect-body` and `--expect-client-ip`
//! gates.

mod common;

use common::peers::{self, Haproxy, Nginx, Peer};
use common::{free_port, ppctl};
use serde_json::Value;

/// Run `ppctl probe --json` and return (exit code, report).
fn probe(target: &str, extra: &[&str]) -> (i32, Value) {
    let (code, report, _) = probe_stderr(target, extra);
    (code, report)
}

/// Run `ppctl probe --json` and return (exit code, report, stderr).
fn probe_stderr(target: &str, extra: &[&str]) -> (i32, Value, String) {
    let out = ppctl()
        .args(["probe", target, "--json", "--timeout", "2s"])
        .args(extra)
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .expect("run ppctl probe");
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "probe printed no JSON ({e}); stdout:\n{}\nstderr:\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (out.status.code().unwrap_or(-1), report, stderr)
}

/// No part of the report suggests --tls (it was given): "without --tls"
/// is the only way the flag may be named.
fn never_suggests_tls(report: &Value) {
    let text = report.to_string().replace("without --tls", "");
    assert!(!text.contains("--tls"), "{report:#}");
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
    assert_eq!(r["finding"]["code"], "PP-MISSING-HEADER", "{r:#}");
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
    assert_eq!(r["schema"], 3, "{r:#}");
    assert_eq!(r["class"], "no-header", "{r:#}");
    assert_eq!(code, 0);
    // The seed failure, named as every command names it: the v1 attempt
    // and the profile's finding.
    let v1 = &r["attempts"][1];
    assert_eq!(v1["kind"], "v1", "{v1:#}");
    assert_eq!(v1["finding"]["name"], "unexpected-header", "{v1:#}");
    assert_eq!(v1["finding"]["code"], "PP-UNEXPECTED-HEADER", "{v1:#}");
    assert_eq!(v1["finding"]["severity"], "problem", "{v1:#}");
    assert_eq!(r["finding"]["name"], "unexpected-header", "{r:#}");
    assert_eq!(r["finding"]["code"], "PP-UNEXPECTED-HEADER", "{r:#}");
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
    assert_eq!(r["finding"]["code"], "PP-NO-RECEIVER", "{r:#}");
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
        .stdout(predicates::str::contains("no-receiver (PP-NO-RECEIVER)"))
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
    let codes = text.find("Exit codes").expect("exit codes");
    assert!(examples < codes, "{text}");
    assert!(text.contains("no-header") && !text.contains("no-proxy-protocol"));
    assert!(text.contains("[default: 2s]"), "{text}");
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    for needle in [
        "accepts-v2",
        "accepts-v1",
        "add --expect optional to allow it",
        "--expect-body <PATTERN>",
        "plain substring",
        "--expect-client-ip <CIDR>",
        "--expect requires-v2 --expect requires-v1-or-v2",
    ] {
        assert!(flat.contains(needle), "{needle:?} not in\n{text}");
    }
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
    ppctl()
        .args(["probe", "127.0.0.1:1", "--expect-client-ip", "10.0.0.0/33"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("is not a CIDR or IP"));
    ppctl()
        .args(["probe", "127.0.0.1:1", "--expect", "accepts-v3"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("accepts-v2"));
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
    listen_with(mode, &[])
}

/// `ppctl listen 127.0.0.1:PORT --proxy-protocol MODE EXTRA...` on a free
/// port: (its guard, "127.0.0.1:PORT").
fn listen_with(mode: &str, extra: &[&str]) -> (Listener, String) {
    let port = free_port();
    let child = std::process::Command::new(assert_cmd::cargo::cargo_bin("ppctl"))
        .args([
            "listen",
            &format!("127.0.0.1:{port}"),
            "--proxy-protocol",
            mode,
        ])
        .args(extra)
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
    assert_eq!(r["finding"]["code"], "PP-SPOOFABLE", "{r:#}");
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
        .stdout(predicates::str::contains("spoofable (PP-SPOOFABLE)"));
}

#[test]
fn ppctl_listen_require_and_off() {
    let (_l, target) = listen("require");
    assert_eq!(probe(&target, &[]).1["class"], "requires-v1-or-v2");
    let (_l, target) = listen("off");
    let r = probe(&target, &[]).1;
    assert_eq!(r["class"], "no-header", "{r:#}");
    assert_eq!(
        r["attempts"][1]["finding"]["code"], "PP-UNEXPECTED-HEADER",
        "{r:#}"
    );
    assert_eq!(r["finding"]["code"], "PP-UNEXPECTED-HEADER", "{r:#}");
}

#[test]
fn tls_probe_through_nginx_ssl_listeners() {
    if !peers::require(Peer::Nginx) {
        return;
    }
    let certs = common::certificates();
    let (cert, key) = (certs.cert.as_str(), certs.key.as_str());
    let port = free_port().to_string();
    let _n = Nginx::start("pp_tls", &[("PORT", &port), ("CERT", cert), ("KEY", key)]);
    let (code, r) = probe(
        &format!("127.0.0.1:{port}"),
        &["--tls", "--expect", "requires-v1-or-v2"],
    );
    assert_eq!(r["class"], "requires-v1-or-v2", "{r:#}");
    assert_eq!(code, 0);
    assert_eq!(r["mode"], "tls");
    assert_eq!(r["attempts"][1]["outcome"], "tls-handshake-ok", "{r:#}");
    // nginx takes both versions: requires-v2 cannot pass, accepts-v2 does,
    // and so do the body and the client nginx took from the header.
    let (code, _, stderr) = probe_stderr(
        &format!("127.0.0.1:{port}"),
        &["--tls", "--expect", "requires-v2"],
    );
    assert_eq!(code, 1);
    assert!(
        stderr.contains("ppctl: expected requires-v2, found requires-v1-or-v2"),
        "{stderr}"
    );
    let (code, r) = probe(
        &format!("localhost:{port}"),
        &[
            "--tls",
            "--expect",
            "accepts-v2",
            "--expect-body",
            "tls ok",
            "--expect-client-ip",
            "127.0.0.0/8",
        ],
    );
    assert_eq!(code, 0, "{r:#}");
    assert_eq!(r["attempts"][2]["client_ip"], "127.0.0.1", "{r:#}");
    assert_eq!(r["expect"]["met"], true, "{r:#}");
    assert_eq!(
        r["expect"]["body"]["searched"],
        serde_json::json!(["v1", "v2"])
    );

    let port = free_port().to_string();
    let _p = Nginx::start(
        "plain_tls",
        &[("PORT", &port), ("CERT", cert), ("KEY", key)],
    );
    let (code, r) = probe(
        &format!("localhost:{port}"),
        &["--tls", "--expect", "no-header"],
    );
    assert_eq!(r["class"], "no-header", "{r:#}");
    assert_eq!(code, 0);
    assert_eq!(r["attempts"][0]["outcome"], "tls-handshake-ok", "{r:#}");
    assert_eq!(r["attempts"][0]["finding"]["name"], "plain", "{r:#}");
    assert_eq!(
        r["attempts"][1]["finding"]["name"], "tls-handshake-failed",
        "{r:#}"
    );
    // In HTTP mode the same port answers 400 to everything: inconclusive,
    // with a hint to use --tls.
    let (_, r) = probe(&format!("127.0.0.1:{port}"), &[]);
    assert_eq!(r["class"], "inconclusive", "{r:#}");
    assert_eq!(r["finding"]["code"], "PP-INCONCLUSIVE", "{r:#}");
    assert!(r["warnings"].to_string().contains("--tls"), "{r:#}");
}

#[test]
fn tls_probe_through_haproxy_ssl_accept_proxy() {
    if !peers::require(Peer::Haproxy) {
        return;
    }
    let certs = common::certificates();
    let port = free_port().to_string();
    let _h = Haproxy::start("accept_proxy_tls", &[("PORT", &port), ("PEM", &certs.pem)]);
    let (code, r, stderr) = probe_stderr(
        &format!("127.0.0.1:{port}"),
        &[
            "--tls",
            "--expect",
            "accepts-v2",
            "--expect-body",
            "tls ok",
            "--expect-client-ip",
            "127.0.0.1",
        ],
    );
    assert_eq!(r["class"], "requires-v1-or-v2", "{r:#}");
    assert_eq!(code, 0, "{stderr}\n{r:#}");
    // HAProxy resets a ClientHello that comes where the header should.
    assert_eq!(r["attempts"][0]["outcome"], "reset", "{r:#}");
    assert_eq!(
        r["attempts"][0]["finding"]["name"], "tls-before-proxy",
        "{r:#}"
    );
    for kind in 1..=3 {
        assert_eq!(r["attempts"][kind]["outcome"], "tls-handshake-ok", "{r:#}");
    }
}

/// `probe --tls` against `ppctl listen --tls`: conclusive in every mode.
#[test]
fn tls_probe_of_ppctl_listen_tls_in_each_mode() {
    for (mode, class, finding) in [
        ("require", "requires-v1-or-v2", "tls-before-proxy"),
        ("off", "no-header", "tls-handshake-failed"),
        ("auto", "optional", "spoofable"),
    ] {
        let (_l, target) = listen_with(mode, &["--tls"]);
        let (code, r) = probe(&target, &["--tls", "--expect", class]);
        assert_eq!(r["class"], class, "{mode}: {r:#}");
        assert_eq!(code, 0, "{mode}: {r:#}");
        assert_eq!(r["finding"]["name"], finding, "{mode}: {r:#}");
        never_suggests_tls(&r);
        let ok = |i: usize| r["attempts"][i]["outcome"] == "tls-handshake-ok";
        match mode {
            "require" => {
                assert!(!ok(0) && ok(1) && ok(2) && ok(3), "{r:#}");
                assert_eq!(r["attempts"][0]["finding"]["name"], "tls-before-proxy");
            }
            // listen --tls --proxy-protocol off answers a header like nginx
            // `listen 443 ssl`: a plain-text 400.
            "off" => {
                assert!(ok(0) && !ok(1) && !ok(2), "{r:#}");
                assert_eq!(r["attempts"][1]["outcome"], "not-tls", "{r:#}");
                assert_eq!(r["attempts"][1]["finding"]["name"], "tls-handshake-failed");
            }
            _ => assert!((0..4).all(ok), "{r:#}"),
        }
        // The decrypted whoami page names the client.
        let served = if mode == "off" { 0 } else { 2 };
        assert_eq!(r["attempts"][served]["client_ip"], "127.0.0.1", "{r:#}");
    }
}

/// `probe --tls` against a port without TLS: inconclusive, and the hint says
/// to probe without --tls, never with it.
#[test]
fn tls_probe_of_a_plain_port_says_to_probe_without_tls() {
    for mode in ["require", "off", "auto"] {
        let (_l, target) = listen(mode);
        let (code, r) = probe(&target, &["--tls"]);
        assert_eq!(r["class"], "inconclusive", "{mode}: {r:#}");
        assert_eq!(code, 0);
        never_suggests_tls(&r);
        let out = ppctl()
            .args(["probe", &target, "--tls", "--color", "never"])
            .output()
            .expect("run");
        // Words, not lines: the human view wraps.
        let text = String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .replace("without --tls", "");
        assert!(!text.contains("--tls"), "{mode}:\n{text}");
        if mode == "off" {
            // It answered the header in clear (a 400): the warning says so.
            let w = r["warnings"].to_string();
            assert!(
                w.contains("answered in clear") && w.contains("without --tls"),
                "{r:#}"
            );
        }
    }
}

/// `--expect` forms and repeats, against `ppctl listen` in each mode.
#[test]
fn expect_forms_and_repeats() {
    let (_l, require) = listen("require");
    let gate = |target: &str, forms: &[&str]| {
        let mut args = Vec::new();
        for f in forms {
            args.extend(["--expect", *f]);
        }
        let (code, r, stderr) = probe_stderr(target, &args);
        (code, r, stderr)
    };
    for pass in [
        &["requires-v1-or-v2"][..],
        &["accepts-v2"],
        &["accepts-v1"],
        &["requires-v2", "requires-v1-or-v2"],
        &["requires-v2,accepts-v1"],
    ] {
        let (code, r, stderr) = gate(&require, pass);
        assert_eq!(code, 0, "{pass:?}: {stderr}");
        assert!(stderr.is_empty(), "{pass:?}: {stderr}");
        assert_eq!(r["expect"]["class_met"], true, "{r:#}");
        assert_eq!(r["expect"]["met"], true, "{r:#}");
    }
    let (code, r, stderr) = gate(&require, &["requires-v2", "requires-v1"]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("ppctl: expected requires-v2 or requires-v1, found requires-v1-or-v2"),
        "{stderr}"
    );
    assert_eq!(
        r["expect"]["forms"],
        serde_json::json!(["requires-v2", "requires-v1"])
    );
    assert_eq!(r["expect"]["met"], false, "{r:#}");

    // optional is not "accepting": it must be allowed on purpose.
    let (_a, auto) = listen("auto");
    let (code, _, stderr) = gate(&auto, &["accepts-v2"]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("ppctl: expected accepts-v2, found optional"),
        "{stderr}"
    );
    assert_eq!(gate(&auto, &["accepts-v2", "optional"]).0, 0);

    let (_o, off) = listen("off");
    let (code, _, stderr) = gate(&off, &["requires-v2", "accepts-v1"]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("ppctl: expected requires-v2 or accepts-v1, found no-header"),
        "{stderr}"
    );
    // Without any --expect there is no expect object.
    assert!(probe(&off, &[]).1["expect"].is_null());
}

#[test]
fn expect_body_searches_the_answers_served_with_a_header() {
    let (_l, target) = listen("require");
    let (code, r) = probe(&target, &["--expect-body", "proxy_protocol: v"]);
    assert_eq!(code, 0, "{r:#}");
    assert_eq!(r["expect"]["body"]["met"], true, "{r:#}");
    assert_eq!(r["expect"]["body"]["pattern"], "proxy_protocol: v");
    // A plain substring, not a pattern language.
    let (code, r, stderr) = probe_stderr(&target, &["--expect-body", "proxy_protocol: v.*"]);
    assert_eq!(code, 1, "{r:#}");
    assert!(
        stderr.contains("--expect-body: the body of the answer to the v1 attempt does not contain \"proxy_protocol: v.*\""),
        "{stderr}"
    );
    // Its first bytes, from the body (not the HTTP head).
    assert!(
        stderr.contains("it starts \"remote_addr (realip): 127.0.0.1"),
        "{stderr}"
    );
    assert_eq!(r["expect"]["body"]["missed"], "v1", "{r:#}");
    // Over TLS, the decrypted answer.
    let (_t, tls) = listen_with("require", &["--tls"]);
    let (code, r) = probe(
        &tls,
        &["--tls", "--expect-body", "proxy_protocol: v2 PROXY"],
    );
    // The v1 attempt's page says v1: the v2 pattern misses there.
    assert_eq!(code, 1, "{r:#}");
    assert_eq!(r["expect"]["body"]["missed"], "v1", "{r:#}");
    let (code, r) = probe(&tls, &["--tls", "--expect-body", "server: 127.0.0.1:"]);
    assert_eq!(code, 0, "{r:#}");
    // No attempt served with a header: nothing to search, a failure.
    let (_o, off) = listen("off");
    let (code, _, stderr) = probe_stderr(&off, &["--expect-body", "remote_addr"]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("--expect-body: no attempt was accepted with a PROXY header (the endpoint is no-header)"),
        "{stderr}"
    );
}

#[test]
fn expect_client_ip_takes_cidrs_and_repeats() {
    let (_l, target) = listen("require");
    for pass in [
        &["--expect-client-ip", "127.0.0.0/8"][..],
        &["--expect-client-ip", "127.0.0.1"],
        &[
            "--expect-client-ip",
            "10.0.0.0/8",
            "--expect-client-ip",
            "127.0.0.1/32",
        ],
        &["--expect-client-ip", "10.0.0.0/8,127.0.0.0/24"],
    ] {
        let (code, r, stderr) = probe_stderr(&target, pass);
        assert_eq!(code, 0, "{pass:?}: {stderr}\n{r:#}");
        assert_eq!(r["expect"]["client_ip"]["met"], true, "{r:#}");
    }
    // listen's word for another check stays a hidden alias of the old name.
    let (code, r, _) = probe_stderr(&target, &["--expect-src", "127.0.0.1"]);
    assert_eq!(code, 0, "{r:#}");
    let (code, r, stderr) = probe_stderr(
        &target,
        &[
            "--expect-client-ip",
            "10.0.0.0/8",
            "--expect-client-ip",
            "192.0.2.1",
        ],
    );
    assert_eq!(code, 1);
    assert!(
        stderr.contains("--expect-client-ip: the receiver reported client 127.0.0.1 to the v1 attempt, which is not in 10.0.0.0/8, 192.0.2.1/32"),
        "{stderr}"
    );
    assert_eq!(r["expect"]["client_ip"]["found"], "127.0.0.1", "{r:#}");
    assert_eq!(
        r["expect"]["client_ip"]["allowed"],
        serde_json::json!(["10.0.0.0/8", "192.0.2.1/32"])
    );
    // With the class and the body, all must hold.
    let (code, _) = probe(
        &target,
        &[
            "--expect",
            "accepts-v2",
            "--expect-body",
            "no such text",
            "--expect-client-ip",
            "127.0.0.1",
        ],
    );
    assert_eq!(code, 1);
}

#[test]
fn expect_client_ip_reads_nginx_remote_addr() {
    if !peers::require(Peer::Nginx) {
        return;
    }
    let port = free_port().to_string();
    let _n = Nginx::start("pp_http", &[("PORT", &port)]);
    let target = format!("127.0.0.1:{port}");
    let (code, r) = probe(
        &target,
        &["--expect", "accepts-v1", "--expect-client-ip", "127.0.0.1"],
    );
    assert_eq!(code, 0, "{r:#}");
    assert_eq!(r["attempts"][1]["client_ip"], "127.0.0.1", "{r:#}");
    let (code, _, stderr) = probe_stderr(&target, &["--expect-client-ip", "::1"]);
    assert_eq!(code, 1);
    assert!(stderr.contains("reported client 127.0.0.1"), "{stderr}");
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
    assert_eq!(r["finding"]["code"], "PP-HEADER-REJECTED", "{r:#}");
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

/// Ctrl-C (SIGINT) while probe waits on a receiver that accepts and never
/// answers: no profile (it needs all four attempts), a line on stderr that
/// says how far it got, and exit 130; nothing on stdout, and no progress
/// bar on stderr off a terminal.
#[test]
fn ctrl_c_stops_without_a_profile_and_exits_130() {
    let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let target = silent.local_addr().expect("address").to_string();
    let mut held = None;
    let out = common::interrupted(&["probe", &target, "--timeout", "30s"], || {
        held = Some(silent.accept().expect("the first attempt connects"));
    });
    drop(held);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(
        out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(
        stderr.trim_end(),
        "ppctl: interrupted (Ctrl-C): after 0 of 4 attempts: no profile (it needs all of them)"
    );
}
