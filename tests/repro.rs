//! `ppctl repro`: the in-process matrix, its JSON, and `--target` against
//! ppctl listen and real nginx.

mod common;
mod listen_support;

use common::peers::{self, Nginx, Peer};
use common::{free_port, ppctl};
use listen_support::Listen;
use serde_json::Value;

#[test]
fn default_matrix_shows_the_400_and_its_fix() {
    let out = ppctl()
        .args(["repro", "--color", "never"])
        .output()
        .expect("run repro");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("HTTP/1.1 400 Bad Request"), "{text}");
    assert!(
        text.contains("<center><h1>400 Bad Request</h1></center>"),
        "{text}"
    );
    assert!(text.contains("use-proxy-protocol"), "{text}");
    assert!(text.contains("listen 443 ssl proxy_protocol;"), "{text}");
    assert!(text.contains("real_ip_header proxy_protocol"), "{text}");
    assert!(text.contains("accept-proxy"), "{text}");
    assert!(text.contains("send-proxy-v2"), "{text}");
    assert!(
        text.contains("broken header: \"GET /json HTTP/1.1"),
        "{text}"
    );
    assert!(text.contains("200, client 203.0.113.7"), "{text}");
    assert!(text.contains("every cell behaved as predicted"), "{text}");
}

#[test]
fn json_matrix_has_nine_cells_as_predicted() {
    let out = ppctl()
        .args(["repro", "--json"])
        .output()
        .expect("run repro");
    assert_eq!(out.status.code(), Some(0));
    let m: Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!(m["schema"], 1);
    assert_eq!(m["target"], Value::Null);
    assert_eq!(m["all_as_predicted"], true);
    let cells = m["cells"].as_array().expect("cells");
    assert_eq!(cells.len(), 9);
    let cell = |s: &str, r: &str| {
        cells
            .iter()
            .find(|c| c["sender"] == s && c["receiver"] == r)
            .unwrap_or_else(|| panic!("cell {s} -> {r}"))
            .clone()
    };
    let c = cell("v1", "off");
    assert_eq!(c["outcome"], "bad-request");
    assert_eq!(c["broken"], true);
    assert_eq!(c["receiver_verdict"], "unexpected");
    assert_eq!(c["diagnosis"]["id"], "PP-UNEXPECTED");
    let ids: Vec<&str> = c["diagnosis"]["fixes"]
        .as_array()
        .map(|a| a.iter().filter_map(|f| f["id"].as_str()).collect())
        .unwrap_or_default();
    assert!(ids.contains(&"ingress-nginx-use-proxy-protocol"), "{ids:?}");
    assert!(ids.contains(&"nginx-listen-proxy-protocol"), "{ids:?}");
    assert!(c["response"]
        .as_str()
        .unwrap_or("")
        .starts_with("HTTP/1.1 400 Bad Request\r\n"));
    let c = cell("v2", "off");
    assert_eq!(c["outcome"], "bad-request");
    assert!(c["receiver_log"]
        .as_str()
        .unwrap_or("")
        .contains("client sent invalid method"));
    let c = cell("none", "require");
    assert_eq!(c["outcome"], "closed");
    assert_eq!(c["receiver_verdict"], "missing");
    assert_eq!(c["diagnosis"]["id"], "PP-MISSING");
    for r in ["require", "auto"] {
        for s in ["v1", "v2"] {
            let c = cell(s, r);
            assert_eq!(c["outcome"], "http-ok");
            assert_eq!(c["client_ip"], "203.0.113.7");
            assert_eq!(c["broken"], false);
        }
    }
    assert_eq!(cell("none", "off")["client_ip"], "127.0.0.1");
    assert_eq!(cell("none", "auto")["diagnosis"]["id"], "PP-SPOOF");
    for c in cells {
        for key in [
            "status_line",
            "end",
            "explanation",
            "receiver_log",
            "predicted",
            "as_predicted",
        ] {
            assert!(c.get(key).is_some(), "{key} in {c}");
        }
    }
}

fn target_matches(port: u16) -> (i32, Vec<String>) {
    let out = ppctl()
        .args(["repro", "--json", "--timeout", "3s", "--target"])
        .arg(format!("127.0.0.1:{port}"))
        .output()
        .expect("run repro --target");
    let m: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let matches = m["matches"]
        .as_array()
        .expect("matches")
        .iter()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect();
    (out.status.code().unwrap_or(-1), matches)
}

#[test]
fn target_matches_the_column_of_a_ppctl_listen() {
    for mode in ["off", "require", "auto"] {
        let l = Listen::start(&["--proxy-protocol", mode]);
        let (code, matches) = target_matches(l.port);
        assert_eq!(code, 0);
        assert_eq!(matches, vec![mode.to_string()]);
    }
}

#[test]
fn target_matches_real_nginx_with_and_without_proxy_protocol() {
    if !peers::require(Peer::Nginx) {
        return;
    }
    for (conf, column) in [("plain_http", "off"), ("pp_http", "require")] {
        let port = free_port();
        let _nginx = Nginx::start(conf, &[("PORT", &port.to_string())]);
        let (code, matches) = target_matches(port);
        assert_eq!(code, 0, "{conf}");
        assert_eq!(matches, vec![column.to_string()], "{conf}");
    }
}

#[test]
fn target_that_matches_nothing_exits_1() {
    // Nothing listens on a just-freed port: no column predicts that.
    let (code, matches) = target_matches(free_port());
    assert_eq!(code, 1);
    assert!(matches.is_empty());
}
