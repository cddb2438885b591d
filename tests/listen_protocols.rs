//! `ppctl listen --protocol smtp|imap|pop3|mysql`: the built binary as a
//! stand-in Postfix, Dovecot or MariaDB, met by real clients (ppctl send
//! speaking the protocol, MariaDB's `mariadb` client, HAProxy `mode tcp`
//! `send-proxy` in front), judged on both sides as the real servers are
//! (docs/protocols.md). The stand-ins' bytes are held to the recordings by
//! the unit test `server::standin::talk::tests`.

mod common;
mod listen_support;

use std::process::Command;
use std::time::Duration;

use common::peers::{self, Haproxy, Peer};
use common::{free_port, send_json};
use listen_support::Listen;
use serde_json::Value;

/// `ppctl send --protocol P` to the listener, with the header claiming
/// 203.0.113.7 (or none): send's JSON.
fn send(l: &Listen, protocol: &str, header: bool) -> Value {
    let target = format!("127.0.0.1:{}", l.port);
    let mut args = vec![target.as_str(), "--protocol", protocol];
    if header {
        args.extend(["--src", "203.0.113.7:51000"]);
    } else {
        args.push("--no-header");
    }
    let (_, doc) = send_json(&args);
    doc
}

/// Every cell of the table: what send (the client) concludes and
/// what listen (the server) concludes, for each protocol and mode.
#[test]
fn each_stand_in_is_judged_as_its_real_server_on_both_sides() {
    // (protocol, mode, header?, client's finding, server's finding)
    let cases = [
        (
            "smtp",
            "off",
            true,
            "unexpected-header",
            "unexpected-header",
        ),
        ("smtp", "off", false, "plain", "plain"),
        ("smtp", "require", true, "proxied", "proxied"),
        ("smtp", "require", false, "missing-header", "header-timeout"),
        (
            "imap",
            "off",
            true,
            "unexpected-header",
            "unexpected-header",
        ),
        ("imap", "require", true, "proxied", "proxied"),
        ("imap", "require", false, "missing-header", "header-timeout"),
        (
            "pop3",
            "off",
            true,
            "unexpected-header",
            "unexpected-header",
        ),
        ("pop3", "require", true, "proxied", "proxied"),
        ("pop3", "auto", false, "plain", "plain"),
        (
            "mysql",
            "off",
            true,
            "unexpected-header",
            "unexpected-header",
        ),
        ("mysql", "off", false, "plain", "plain"),
        ("mysql", "auto", true, "proxied", "proxied"),
    ];
    for (protocol, mode, header, client, server) in cases {
        let l = Listen::start(&[
            "--protocol",
            protocol,
            "--proxy-protocol",
            mode,
            "--header-timeout",
            "1s",
            "--count",
            "1",
        ]);
        let first: Value = serde_json::from_str(&l.first).expect("JSON first line");
        assert_eq!(first["protocol"], protocol);
        let doc = send(&l, protocol, header);
        let case = format!("{protocol} {mode} header={header}");
        assert_eq!(doc["finding"]["name"], client, "{case}: {doc}");
        let (status, lines) = l.finish();
        let (records, _) = Listen::split(&lines);
        let rec = &records[0];
        assert_eq!(rec["finding"]["name"], server, "{case}: {rec}");
        assert_eq!(rec["talk"]["protocol"], protocol, "{case}");
        assert!(status.code().is_some(), "{case}: {status:?}");
        // The fixes are the real server's, as send gives them.
        if server == "unexpected-header" {
            let first_fix = match protocol {
                "smtp" => "postfix-upstream-proxy-protocol",
                "mysql" => "mariadb-proxy-protocol-networks",
                _ => "dovecot-haproxy",
            };
            assert_eq!(rec["fixes"][0]["id"], first_fix, "{case}: {rec}");
            assert_eq!(doc["fixes"][0]["id"], first_fix, "{case}: {doc}");
        }
        // Who the stand-in thinks the client is, in the protocol's words.
        if client == "proxied" {
            let said = rec["talk"]["said"].to_string();
            let words = doc["protocol"]["reply"]["words"].to_string()
                + &doc["reply"]["data"]["text"].to_string();
            assert!(said.contains("203.0.113.7"), "{case}: {said}");
            assert!(words.contains("203.0.113.7"), "{case}: {words}");
        }
    }
}

/// MariaDB's own client, pointed at the MariaDB stand-in, prints the
/// address the server sees, as it does for MariaDB itself.
#[test]
fn the_mariadb_client_shows_the_address_the_stand_in_sees() {
    if !peers::require(Peer::MariadbClient) {
        return;
    }
    let exe = peers::path(Peer::MariadbClient).expect("mariadb client");
    for mode in ["auto", "off"] {
        let l = Listen::start(&[
            "--protocol",
            "mysql",
            "--proxy-protocol",
            mode,
            "--count",
            "1",
        ]);
        let out = Command::new(&exe)
            .args(["-h", "127.0.0.1", "-P", &l.port.to_string(), "-u", "alice"])
            .args(["--connect-timeout=10", "-e", "select 1"])
            .output()
            .expect("run mariadb");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(
                "ERROR 1045 (28000): Access denied for user 'alice'@'127.0.0.1' (using password: NO)"
            ),
            "{mode}: {stderr}"
        );
        let (_, lines) = l.finish();
        let (records, _) = Listen::split(&lines);
        assert_eq!(records[0]["finding"]["name"], "plain");
        assert_eq!(
            records[0]["talk"]["heard"][0],
            "login as 'alice' (using password: NO)"
        );
    }
}

/// A real sender in front: HAProxy `mode tcp` with `send-proxy`, to the
/// stand-in Postfix with `smtpd_upstream_proxy_protocol`: greeted at once,
/// and EHLO's 250 names the client HAProxy saw.
#[test]
fn haproxy_send_proxy_in_front_of_the_smtp_stand_in() {
    if !peers::require(Peer::Haproxy) {
        return;
    }
    let l = Listen::start(&[
        "--protocol",
        "smtp",
        "--proxy-protocol",
        "require",
        "--count",
        "1",
    ]);
    let port = free_port();
    let _haproxy = Haproxy::start(
        "send_proxy_v1",
        &[
            ("PORT", &port.to_string()),
            ("UPSTREAM", &l.port.to_string()),
        ],
    );
    let target = format!("127.0.0.1:{port}");
    let (_, doc) = send_json(&[&target, "--protocol", "smtp", "--no-header"]);
    assert_eq!(doc["finding"]["name"], "plain", "{doc}");
    let local = doc["local"]["port"].as_u64().expect("send's local port");
    let text = doc["reply"]["data"]["text"].as_str().unwrap_or_default();
    assert!(
        text.contains("250-mail.ppctl.test Hello ppctl.invalid [127.0.0.1]"),
        "{text}"
    );
    let (_, lines) = l.finish();
    let (records, _) = Listen::split(&lines);
    assert_eq!(records[0]["finding"]["name"], "proxied");
    assert_eq!(records[0]["client"]["port"].as_u64(), Some(local));
}

/// The flags a protocol stand-in can't honour say so, and MariaDB has no
/// `require` mode.
#[test]
fn impossible_combinations_are_usage_errors() {
    for args in [
        &["--protocol", "smtp", "--udp"][..],
        &["--protocol", "imap", "--echo"][..],
        &["--protocol", "mysql", "--proxy-protocol", "require"][..],
    ] {
        let out = common::ppctl()
            .args(["listen", "127.0.0.1:0"])
            .args(args)
            .timeout(Duration::from_secs(30))
            .output()
            .expect("run ppctl listen");
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("--protocol") || err.contains("MariaDB"),
            "{err}"
        );
    }
}

/// A server that reads the header line as a command refuses it with its
/// first answer; send's human view says that answer is to the header line,
/// not to the EHLO listed as sent just above it when the refusal came
/// after EHLO went out (which of the two comes first is a race).
#[test]
fn the_refusal_is_shown_as_the_answer_to_the_header_line() {
    let l = Listen::start(&[
        "--protocol",
        "smtp",
        "--proxy-protocol",
        "off",
        "--count",
        "1",
    ]);
    let out = std::process::Command::new(assert_cmd::cargo::cargo_bin("ppctl"))
        .args([
            "send",
            &format!("127.0.0.1:{}", l.port),
            "--protocol",
            "smtp",
            "--color",
            "never",
        ])
        .env("COLUMNS", "120")
        .output()
        .expect("run send");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("answer    500 5.5.2 Error: command not recognized (to the header line)"),
        "{text}"
    );
    let _ = l.finish();
}
