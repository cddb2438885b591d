//! `ppctl repro`: the in-process matrix, its JSON, and `--target` against
//! ppctl listen and real nginx.

mod common;
mod listen_support;

use common::peers::{self, Nginx, Peer};
use common::{free_port, ppctl};
use listen_support::Listen;
use serde_json::{json, Value};

#[test]
fn default_matrix_shows_the_400_and_its_fix() {
    let out = ppctl()
        .args(["repro", "--color", "never"])
        .env("COLUMNS", "80")
        .output()
        .expect("run repro");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    // The story comes first: the header, the 400, the finding, the fix.
    let at = |needle: &str| {
        text.find(needle)
            .unwrap_or_else(|| panic!("{needle:?} in\n{text}"))
    };
    assert!(at("v1  PROXY TCP4 203.0.113.7 127.0.0.1 51234 ") < at("HTTP/1.1 400 Bad Request"));
    assert!(
        at("v2  0d0a0d0a000d0a515549540a 21 11 000c cb007107 7f000001 c822 ")
            < at("HTTP/1.1 400 Bad Request")
    );
    assert!(at("HTTP/1.1 400 Bad Request") < at("unexpected-header (PP-UNEXPECTED-HEADER)"));
    assert!(at("unexpected-header (PP-UNEXPECTED-HEADER)") < at("use-proxy-protocol: \"true\""));
    // The plain port's fix, not a TLS one.
    assert!(at("use-proxy-protocol: \"true\"") < at("listen PORT proxy_protocol;"));
    assert!(at("listen PORT proxy_protocol;") < at("| sender"));
    assert!(!text.contains("listen 443 ssl"), "{text}");
    // Its receivers are said to be ppctl's copies of nginx.
    assert!(
        text.contains("The receivers are ppctl's, not nginx"),
        "{text}"
    );
    // nginx's exact page, its log lines, and the fixes of each finding.
    assert!(
        text.contains("<center><h1>400 Bad Request</h1></center>"),
        "{text}"
    );
    assert!(text.contains("real_ip_header proxy_protocol"), "{text}");
    assert!(text.contains("accept-proxy"), "{text}");
    assert!(text.contains("send-proxy-v2"), "{text}");
    assert!(text.contains("broken header: \"GET / HTTP/1.1"), "{text}");
    assert!(
        text.contains("missing-header (PP-MISSING-HEADER)"),
        "{text}"
    );
    assert!(text.contains("spoofable (PP-SPOOFABLE)"), "{text}");
    assert!(
        text.contains("v1 -> auto: 200 OK, client 203.0.113.7"),
        "{text}"
    );
    assert!(
        text.contains("every cell behaved as predicted (9 of 9)"),
        "{text}"
    );
    // One block per finding: cells that share one share its fixes.
    assert_eq!(
        text.matches("[ingress-nginx-use-proxy-protocol]").count(),
        1,
        "{text}"
    );
    // Three findings need attention: unexpected-header and missing-header
    // with their fixes in full, spoofable (the auto column's choice) with
    // one line that names them.
    assert_eq!(
        text.matches("Fixes (docs/verdicts.md):").count(),
        2,
        "{text}"
    );
    assert!(
        text.contains("Fixes: require-header-and-allowlist, ingress-nginx-real-ip-cidr"),
        "{text}"
    );
}

#[test]
fn human_matrix_fits_80_columns_and_uses_120() {
    for (cols, lines_at_most) in [(80usize, 200usize), (120, 170)] {
        let out = ppctl()
            .args(["repro", "--color", "never"])
            .env("COLUMNS", cols.to_string())
            .output()
            .expect("run repro");
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{text}");
        let table: Vec<&str> = text.lines().filter(|l| l.starts_with(['|', '+'])).collect();
        assert!(!table.is_empty(), "{text}");
        for l in &table {
            assert!(l.chars().count() <= cols, "{l:?}\n{text}");
        }
        if cols >= 120 {
            // With room, a cell's finding and what the client got each
            // take one line (the longest, unexpected-header's, needs 122
            // columns with the others).
            for cell in [
                "missing-header (PP-MISSING-HEADER)",
                "200 OK, client 203.0.113.7",
            ] {
                assert!(table.iter().any(|l| l.contains(cell)), "{cell}\n{text}");
            }
        } else {
            // At 80 the table takes the whole width.
            assert!(table.iter().all(|l| l.chars().count() == cols), "{text}");
        }
        assert!(
            table.len() <= 16,
            "{} table lines at {cols}\n{text}",
            table.len()
        );
        for l in text.lines() {
            // Only a URL, which cannot be cut, may be wider.
            if !l.trim_start().starts_with("docs: http") {
                assert!(
                    l.chars().count() <= cols,
                    "{} > {cols}: {l:?}",
                    l.chars().count()
                );
            }
        }
        assert!(text.lines().count() <= lines_at_most, "{text}");
    }
}

#[test]
fn json_matrix_has_nine_cells_as_predicted() {
    let out = ppctl()
        .args(["repro", "--json"])
        .output()
        .expect("run repro");
    assert_eq!(out.status.code(), Some(0));
    let m: Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!(m["type"], "repro");
    assert_eq!(m["schema"], 3);
    assert_eq!(m["target"], Value::Null);
    assert_eq!(
        m["claimed_source"],
        json!({"address": "203.0.113.7", "port": 51234})
    );
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
    let finding = |c: &Value, key: &str| {
        (
            c[key]["name"].as_str().unwrap_or("").to_string(),
            c[key]["code"].as_str().unwrap_or("").to_string(),
        )
    };
    let unexpected = (
        "unexpected-header".to_string(),
        "PP-UNEXPECTED-HEADER".to_string(),
    );
    let c = cell("v1", "off");
    assert_eq!(finding(&c, "finding"), unexpected);
    assert_eq!(c["finding"]["severity"], "problem");
    assert_eq!(c["status"], 400);
    assert_eq!(c["status_line"], "HTTP/1.1 400 Bad Request");
    assert_eq!(c["broken"], true);
    assert_eq!(finding(&c, "receiver_finding"), unexpected);
    assert!(c["header"]
        .as_str()
        .unwrap_or("")
        .starts_with(&hex_of("PROXY TCP4 203.0.113.7 ")));
    let ids: Vec<&str> = c["fixes"]
        .as_array()
        .map(|a| a.iter().filter_map(|f| f["id"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(ids[0], "ingress-nginx-use-proxy-protocol", "{ids:?}");
    assert!(ids.contains(&"nginx-listen-proxy-protocol"), "{ids:?}");
    assert!(ids.len() <= 4, "a few fixes, not all: {ids:?}");
    for f in c["fixes"].as_array().expect("fixes") {
        for key in ["id", "title", "side", "applies_to", "change", "doc"] {
            assert!(f[key].is_string(), "{key} in {f}");
        }
    }
    assert!(c["response"]
        .as_str()
        .unwrap_or("")
        .starts_with("HTTP/1.1 400 Bad Request\r\n"));
    let c = cell("v2", "off");
    assert_eq!(finding(&c, "finding"), unexpected);
    assert!(c["header"]
        .as_str()
        .unwrap_or("")
        .starts_with("0d0a0d0a000d0a515549540a2111000c"));
    assert!(c["receiver_log"]
        .as_str()
        .unwrap_or("")
        .contains("client sent invalid method"));
    let c = cell("none", "require");
    assert_eq!(
        finding(&c, "finding"),
        (
            "missing-header".to_string(),
            "PP-MISSING-HEADER".to_string()
        )
    );
    assert_eq!(c["end"], "eof-without-data");
    assert_eq!(c["status"], Value::Null);
    assert_eq!(finding(&c, "receiver_finding"), finding(&c, "finding"));
    assert!(c["receiver_log"]
        .as_str()
        .unwrap_or("")
        .starts_with("broken header: \"GET / HTTP/1.1"));
    for s in ["v1", "v2"] {
        let c = cell(s, "require");
        assert_eq!(c["finding"]["name"], "proxied");
        assert_eq!(c["client_ip"], "203.0.113.7");
        assert_eq!(c["broken"], false);
        assert_eq!(c["fixes"], Value::Array(Vec::new()));
    }
    for s in ["none", "v1", "v2"] {
        let c = cell(s, "auto");
        assert_eq!(
            finding(&c, "finding"),
            ("spoofable".to_string(), "PP-SPOOFABLE".to_string())
        );
        assert_eq!(c["finding"]["severity"], "warning");
        assert_eq!(c["broken"], false);
        assert_eq!(c["fixes"][0]["id"], "require-header-and-allowlist");
    }
    assert_eq!(cell("v1", "auto")["client_ip"], "203.0.113.7");
    assert_eq!(cell("none", "auto")["client_ip"], "127.0.0.1");
    assert_eq!(cell("none", "off")["client_ip"], "127.0.0.1");
    assert_eq!(cell("none", "off")["finding"]["name"], "plain");
    for c in cells {
        assert_eq!(c["as_predicted"], true, "{c}");
        assert_eq!(c["predicted"]["name"], c["finding"]["name"], "{c}");
        for key in [
            "peer",
            "status_line",
            "end",
            "receiver_finding",
            "receiver_log",
            "predicted",
            "fixes",
        ] {
            assert!(c.get(key).is_some(), "{key} in {c}");
        }
    }
}

fn hex_of(s: &str) -> String {
    s.bytes().map(|b| format!("{b:02x}")).collect()
}

/// Exit code, matched columns, and each sender's finding (none, v1, v2).
fn target_matches(port: u16) -> (i32, Vec<String>, Vec<String>) {
    target_matches_with(port, &[])
}

/// [`target_matches`] with more arguments (`--tls`).
fn target_matches_with(port: u16, args: &[&str]) -> (i32, Vec<String>, Vec<String>) {
    let out = ppctl()
        .args(["repro", "--json", "--timeout", "3s", "--target"])
        .arg(format!("127.0.0.1:{port}"))
        .args(args)
        .output()
        .expect("run repro --target");
    let m: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(m["type"], "repro");
    assert_eq!(m["target"], json!({"host": "127.0.0.1", "port": port}));
    let strings = |v: &Value| -> Vec<String> {
        v.as_array()
            .expect("an array")
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect()
    };
    let cells = m["cells"].as_array().expect("cells");
    assert_eq!(cells.len(), 3);
    for (c, s) in cells.iter().zip(["none", "v1", "v2"]) {
        assert_eq!(c["sender"], s);
        assert_eq!(c["receiver"], "target");
    }
    let findings = cells
        .iter()
        .map(|c| c["finding"]["name"].as_str().unwrap_or("").to_string())
        .collect();
    (
        out.status.code().unwrap_or(-1),
        strings(&m["matches"]),
        findings,
    )
}

fn names(n: [&str; 3]) -> Vec<String> {
    n.iter().map(|s| s.to_string()).collect()
}

#[test]
fn target_matches_the_column_of_a_ppctl_listen() {
    for (mode, findings) in [
        ("off", ["plain", "unexpected-header", "unexpected-header"]),
        ("require", ["missing-header", "proxied", "proxied"]),
        // Behaving like auto makes every cell spoofable.
        ("auto", ["spoofable", "spoofable", "spoofable"]),
    ] {
        let l = Listen::start(&["--proxy-protocol", mode]);
        let (code, matches, got) = target_matches(l.port);
        assert_eq!(code, 0);
        assert_eq!(matches, vec![mode.to_string()]);
        assert_eq!(got, names(findings), "{mode}");
    }
}

#[test]
fn target_human_view_names_the_column() {
    let l = Listen::start(&["--proxy-protocol", "off"]);
    let out = ppctl()
        .args(["repro", "--color", "never", "--timeout", "3s", "--target"])
        .arg(format!("127.0.0.1:{}", l.port))
        .env("COLUMNS", "80")
        .output()
        .expect("run repro --target");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains("unexpected-header (PP-UNEXPECTED-HEADER)"),
        "{text}"
    );
    assert!(text.contains("400 Bad Request"), "{text}");
    assert!(text.contains("the target behaves like `off`"), "{text}");
    assert!(text.contains("A profile, not a problem"), "{text}");
    assert!(text.contains("use-proxy-protocol: \"true\""), "{text}");
    for l in text
        .lines()
        .filter(|l| !l.trim_start().starts_with("docs: http"))
    {
        assert!(l.chars().count() <= 80, "{l:?}");
    }
}

#[test]
fn target_matches_real_nginx_with_and_without_proxy_protocol() {
    if !peers::require(Peer::Nginx) {
        return;
    }
    for (conf, column, findings) in [
        (
            "plain_http",
            "off",
            ["plain", "unexpected-header", "unexpected-header"],
        ),
        (
            "pp_http",
            "require",
            ["missing-header", "proxied", "proxied"],
        ),
    ] {
        let port = free_port();
        let _nginx = Nginx::start(conf, &[("PORT", &port.to_string())]);
        let (code, matches, got) = target_matches(port);
        assert_eq!(code, 0, "{conf}");
        assert_eq!(matches, vec![column.to_string()], "{conf}");
        assert_eq!(got, names(findings), "{conf}");
    }
}

#[test]
fn target_that_matches_nothing_exits_1() {
    // Nothing listens on a just-freed port: no column predicts that.
    let (code, matches, got) = target_matches(free_port());
    assert_eq!(code, 1);
    assert!(matches.is_empty());
    assert_eq!(got, names(["no-receiver"; 3]));
}

#[test]
fn tls_matrix_runs_the_443_case_as_predicted() {
    let out = ppctl()
        .args(["repro", "--tls", "--json"])
        .output()
        .expect("run repro --tls");
    assert_eq!(out.status.code(), Some(0));
    let m: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(m["tls"], true);
    assert_eq!(m["all_as_predicted"], true, "{m:#}");
    let cells = m["cells"].as_array().expect("cells");
    let got: Vec<(String, String, String)> = cells
        .iter()
        .map(|c| {
            let s = |k: &str| c[k].as_str().unwrap_or("").to_string();
            (
                s("sender"),
                s("receiver"),
                c["finding"]["name"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    let want = [
        ("none", "ssl", "plain"),
        ("none", "ssl-proxy-protocol", "tls-before-proxy"),
        ("v1", "ssl", "tls-handshake-failed"),
        ("v1", "ssl-proxy-protocol", "proxied"),
        ("v2", "ssl", "tls-handshake-failed"),
        ("v2", "ssl-proxy-protocol", "proxied"),
    ];
    let want: Vec<(String, String, String)> = want
        .iter()
        .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
        .collect();
    assert_eq!(got, want);
    for c in cells {
        assert_eq!(c["as_predicted"], true, "{c:#}");
        assert!(c["tls"]["result"].is_string(), "{c:#}");
    }
    // The served cells went through TLS 1.3 and saw the claimed client.
    let served = &cells[3];
    assert_eq!(served["tls"]["result"], "done");
    assert_eq!(served["tls"]["version"], "TLSv1.3");
    assert_eq!(served["client_ip"], "203.0.113.7");
    // A header on `listen 443 ssl`: nginx's plain 400, in clear.
    assert_eq!(cells[2]["status"], 400, "{:#}", cells[2]);
    assert_eq!(cells[2]["tls"]["result"], "failed");
    assert_eq!(
        cells[2]["receiver_finding"]["name"], "tls-handshake-failed",
        "the receiver names it as the client does"
    );
    // A ClientHello where a header is required: nginx's broken header.
    let log = cells[1]["receiver_log"].as_str().unwrap_or("");
    assert!(log.starts_with("broken header: \"\\x16\\x03"), "{log}");
}

#[test]
fn tls_matrix_reads_at_80_columns() {
    let out = ppctl()
        .args(["repro", "--tls", "--color", "never"])
        .env("COLUMNS", "80")
        .output()
        .expect("run repro --tls");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    let at = |s: &str| text.find(s).unwrap_or_else(|| panic!("{s:?} in\n{text}"));
    // The story: the header, nginx `listen 443 ssl`'s 400 in clear, the fix.
    assert!(at("v1  PROXY TCP4 203.0.113.7") < at("HTTP/1.1 400 Bad Request"));
    assert!(at("HTTP/1.1 400 Bad Request") < at("listen PORT ssl proxy_protocol;"));
    assert!(at("listen PORT ssl proxy_protocol;") < at("| sender"));
    assert!(text.contains("| ssl proxy_protocol"), "{text}");
    assert!(text.contains("400 Bad Request in clear"), "{text}");
    assert!(
        text.contains("tls-before-proxy (PP-TLS-BEFORE-PROXY)"),
        "{text}"
    );
    assert!(
        text.contains("every cell behaved as predicted (6 of 6)"),
        "{text}"
    );
    for l in text
        .lines()
        .filter(|l| !l.trim_start().starts_with("docs: http"))
    {
        assert!(l.chars().count() <= 80, "{l:?}");
    }
}

#[test]
fn tls_target_matches_a_ppctl_listen_tls() {
    for (mode, column, findings) in [
        (
            "off",
            "ssl",
            ["plain", "tls-handshake-failed", "tls-handshake-failed"],
        ),
        (
            "require",
            "ssl-proxy-protocol",
            ["tls-before-proxy", "proxied", "proxied"],
        ),
    ] {
        let l = Listen::start(&["--tls", "--proxy-protocol", mode]);
        let (code, matches, got) = target_matches_with(l.port, &["--tls"]);
        assert_eq!(code, 0, "{mode}");
        assert_eq!(matches, vec![column.to_string()], "{mode}");
        assert_eq!(got, names(findings), "{mode}");
    }
}

#[test]
fn tls_target_matches_real_nginx_ssl_with_and_without_proxy_protocol() {
    let Some(ingress) = common::TlsIngress::start() else {
        return;
    };
    let (pp_ssl, ssl, plain) = (ingress.pp_ssl, ingress.ssl, ingress.pp_plain);
    let (code, matches, got) = target_matches_with(pp_ssl, &["--tls"]);
    assert_eq!(code, 0);
    assert_eq!(matches, names1("ssl-proxy-protocol"));
    assert_eq!(got, names(["tls-before-proxy", "proxied", "proxied"]));
    let (code, matches, got) = target_matches_with(ssl, &["--tls"]);
    assert_eq!(code, 0);
    assert_eq!(matches, names1("ssl"));
    assert_eq!(
        got,
        names(["plain", "tls-handshake-failed", "tls-handshake-failed"])
    );
    // A plain PROXY port is neither TLS column: it takes the header and
    // answers the ClientHello in clear.
    let (code, matches, got) = target_matches_with(plain, &["--tls"]);
    assert_eq!(code, 1);
    assert!(matches.is_empty());
    assert_eq!(got[1], "tls-to-plain-port");
}

fn names1(n: &str) -> Vec<String> {
    vec![n.to_string()]
}

/// Ctrl-C (SIGINT) while `repro --target` waits on a silent receiver: the
/// cells made so far are printed with no conclusion, the document says
/// `interrupted`, the exit is 130, and stderr holds only the line that
/// says so (no progress bar off a terminal).
#[test]
fn ctrl_c_during_a_target_run_prints_the_cells_so_far_and_exits_130() {
    // Accepts and never answers: each sender would wait its --timeout.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let target = silent.local_addr().expect("address").to_string();
    let mut held = None;
    let out = common::interrupted(
        &["repro", "--target", &target, "--timeout", "60s", "--json"],
        // The first sender has connected: the run is under way.
        || held = Some(silent.accept().expect("the first sender connects")),
    );
    drop(held);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    let doc: Value = serde_json::from_slice(&out.stdout).expect("one JSON document");
    assert_eq!(doc["interrupted"], true, "{doc:#}");
    assert_eq!(doc["matches"], serde_json::json!([]), "{doc:#}");
    assert_eq!(doc["cells"], serde_json::json!([]), "{doc:#}");
    assert_eq!(
        stderr.trim_end(),
        "ppctl: interrupted (Ctrl-C): 0 of 3 senders went to the target"
    );
}
