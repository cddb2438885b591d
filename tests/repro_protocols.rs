//! `ppctl repro --protocol smtp|imap|pop3|mysql`: the matrix for a server
//! that speaks first, against ppctl's copies of Postfix, Dovecot and
//! MariaDB (every cell as the judge predicts), and with `--target` against
//! the real servers, started from tests/peers configs on loopback, each
//! named as the column its setup is.

mod common;

use std::time::Duration;

use common::peers::{self, Peer, Server};
use common::{free_port, ppctl};
use serde_json::Value;

/// The real servers' wait for a header (Postfix's, Dovecot's), short.
const PROXY_TIMEOUT: &str = "1s";

/// `ppctl repro ARGS --json`: exit code and document.
fn repro(args: &[&str]) -> (Option<i32>, Value) {
    let out = ppctl()
        .arg("repro")
        .args(args)
        .arg("--json")
        .timeout(Duration::from_secs(120))
        .output()
        .expect("run ppctl repro");
    let doc = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "repro printed no JSON ({e}); stdout:\n{}\nstderr:\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code(), doc)
}

fn cell<'a>(doc: &'a Value, sender: &str, receiver: &str) -> &'a Value {
    doc["cells"]
        .as_array()
        .expect("cells")
        .iter()
        .find(|c| c["sender"] == sender && c["receiver"] == receiver)
        .unwrap_or_else(|| panic!("no cell {sender} -> {receiver}: {doc}"))
}

#[test]
fn every_cell_of_each_protocol_matrix_is_as_predicted() {
    // (protocol, the column that takes a header, its finding for v1)
    let cases = [
        ("smtp", "require", "proxied"),
        ("imap", "require", "proxied"),
        ("pop3", "require", "proxied"),
        ("mysql", "auto", "spoofable"),
    ];
    for (protocol, takes, finding) in cases {
        let (code, doc) = repro(&["--protocol", protocol]);
        assert_eq!(doc["protocol"], protocol);
        assert_eq!(doc["all_as_predicted"], true, "{protocol}: {doc}");
        assert_eq!(code, Some(0), "{protocol}");
        assert_eq!(doc["cells"].as_array().map(Vec::len), Some(6), "{protocol}");
        let off = cell(&doc, "v1", "off");
        assert_eq!(off["finding"]["name"], "unexpected-header", "{protocol}");
        let taken = cell(&doc, "v2", takes);
        assert_eq!(taken["finding"]["name"], finding, "{protocol}");
        // The stand-in named the header's client in its words.
        assert_eq!(taken["client_ip"], "203.0.113.7", "{protocol}: {taken}");
    }
    // The human view tells the mail story in Postfix's words.
    let out = ppctl()
        .args(["repro", "--protocol", "smtp", "--color", "never"])
        .timeout(Duration::from_secs(120))
        .output()
        .expect("run ppctl repro");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("500 5.5.2 Error: command not recognized"),
        "{text}"
    );
    assert!(
        text.contains("postfix-upstream-proxy-protocol")
            || text.contains("smtpd_upstream_proxy_protocol"),
        "{text}"
    );
}

/// `--target`: each real server's port is named as the column its setup is.
fn matches(target: u16, protocol: &str) -> Value {
    let t = format!("127.0.0.1:{target}");
    let (_, doc) = repro(&["--protocol", protocol, "--target", &t, "--timeout", "3s"]);
    doc["matches"].clone()
}

#[test]
fn real_postfix_and_dovecot_are_named_by_their_setup() {
    if peers::require(Peer::Postfix) {
        let (smtp, pp) = (free_port(), free_port());
        let (screen, tls) = (free_port(), free_port());
        let ports = [smtp, pp, screen, tls].map(|p| p.to_string());
        let _postfix = Server::postfix(&[
            ("SMTP_PORT", &ports[0]),
            ("PP_PORT", &ports[1]),
            ("SCREEN_PORT", &ports[2]),
            ("TLS_PORT", &ports[3]),
            ("PROXY_TIMEOUT", PROXY_TIMEOUT),
        ]);
        assert_eq!(matches(smtp, "smtp"), serde_json::json!(["off"]));
        assert_eq!(matches(pp, "smtp"), serde_json::json!(["require"]));
    }
    if peers::require(Peer::Dovecot) {
        let ports = [free_port(), free_port(), free_port(), free_port()];
        let p = ports.map(|p| p.to_string());
        let _dovecot = Server::dovecot(
            "mail",
            &[
                ("IMAP_PORT", &p[0]),
                ("IMAP_PP_PORT", &p[1]),
                ("POP3_PORT", &p[2]),
                ("POP3_PP_PORT", &p[3]),
                ("TRUSTED", "127.0.0.0/8"),
                ("PROXY_TIMEOUT", PROXY_TIMEOUT),
            ],
        );
        assert_eq!(matches(ports[0], "imap"), serde_json::json!(["off"]));
        assert_eq!(matches(ports[1], "imap"), serde_json::json!(["require"]));
        assert_eq!(matches(ports[2], "pop3"), serde_json::json!(["off"]));
        assert_eq!(matches(ports[3], "pop3"), serde_json::json!(["require"]));
    }
}

#[test]
fn real_mariadb_is_named_by_its_setup() {
    for (config, column) in [("plain", "off"), ("proxy", "auto")] {
        let Some((_server, port)) = Server::mariadb_on_free_port(config) else {
            return;
        };
        assert_eq!(
            matches(port, "mysql"),
            serde_json::json!([column]),
            "{config}"
        );
    }
}
