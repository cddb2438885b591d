//! `probe --serve` (the exporter) and `probe --watch`, with the real
//! binary: a real Prometheus scrapes the exporter with docs/monitoring.md's
//! relabelling and alert rules, `promtool check metrics` reads every
//! exposition, and a watch ends a rollout. Every peer is on loopback.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use common::peers::{self, Peer};
use common::server::JsonServer;
use serde_json::Value;

/// Bounds every wait: a hang fails the test instead of stalling the suite.
const PATIENCE: Duration = Duration::from_secs(60);

fn ppctl_bin() -> PathBuf {
    assert_cmd::cargo::cargo_bin("ppctl")
}

/// `ppctl listen 127.0.0.1:0 --proxy-protocol MODE`.
fn listen(mode: &str) -> JsonServer {
    JsonServer::start("listen", &["--proxy-protocol", mode])
}

/// One HTTP/1.1 GET with `Connection: close`: the status, the head and the
/// body.
fn get(port: u16, target: &str, headers: &[(&str, &str)]) -> (u16, String, String) {
    request(port, "GET", target, headers)
}

fn request(
    port: u16,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
) -> (u16, String, String) {
    let mut s = TcpStream::connect((Ipv4Addr::LOCALHOST, port)).expect("connect");
    s.set_read_timeout(Some(PATIENCE)).expect("timeout");
    let mut req =
        format!("{method} {target} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).expect("send");
    let mut answer = Vec::new();
    s.read_to_end(&mut answer).expect("read the answer");
    let text = String::from_utf8_lossy(&answer).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no status in {head:?}"));
    (status, head.to_string(), body.to_string())
}

fn docs() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/monitoring.md"))
        .expect("read docs/monitoring.md")
}

/// The fenced YAML block of docs/monitoring.md whose first line is `# NAME`
/// (or starts `# NAME:`).
fn docs_block(name: &str) -> String {
    let text = docs();
    text.split("```yaml\n")
        .skip(1)
        .filter_map(|b| b.split("\n```").next())
        .find(|b| {
            let first = b.lines().next().unwrap_or("");
            first == format!("# {name}") || first.starts_with(&format!("# {name}:"))
        })
        .unwrap_or_else(|| panic!("docs/monitoring.md has no ```yaml block starting `# {name}`"))
        .to_string()
        + "\n"
}

/// `promtool check metrics` on an exposition: it must pass.
fn promtool_check(what: &str, exposition: &str) {
    let exe = peers::path(Peer::Promtool).expect("promtool (peers::require first)");
    let mut child = Command::new(exe)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run promtool");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(exposition.as_bytes())
        .expect("feed promtool");
    let out = child.wait_with_output().expect("promtool's answer");
    assert!(
        out.status.success(),
        "promtool check metrics fails on {what}:\n{}{}\n--- exposition ---\n{exposition}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Every metric family in an exposition is in docs/monitoring.md's tables.
fn documented(exposition: &str) {
    let docs = docs();
    for line in exposition.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let name = rest.split(' ').next().unwrap_or("");
            assert!(
                docs.contains(&format!("`{name}`")),
                "docs/monitoring.md does not list {name}"
            );
        }
    }
}

/// Prometheus' `/api/v1/query` for `expr`: its result vector.
/// `probe --serve --json` with docs/monitoring.md's modules (its
/// `ppctl.yml`, written in `dir`).
fn exporter(dir: &Path) -> JsonServer {
    let modules = dir.join("ppctl.yml");
    std::fs::write(&modules, docs_block("ppctl.yml")).expect("write ppctl.yml");
    JsonServer::spawn(&[
        "probe",
        "--serve",
        "127.0.0.1:0",
        "--json",
        "--config",
        modules.to_str().expect("utf-8 path"),
    ])
}

/// Prometheus with tests/peers/prometheus/NAME.yml on a free port, once
/// it answers queries (its storage ready: 503 before).
fn prometheus(name: &str, vars: &[(&str, &str)]) -> peers::Prometheus {
    let port = common::free_port().to_string();
    let mut all = vec![("PORT", port.as_str())];
    all.extend_from_slice(vars);
    let prometheus = peers::Prometheus::start(name, &all);
    let deadline = Instant::now() + PATIENCE;
    while get(prometheus.port(), "/-/ready", &[]).0 != 200 {
        assert!(Instant::now() < deadline, "{}", prometheus.log());
        thread::sleep(Duration::from_millis(100));
    }
    prometheus
}

fn query(prometheus: u16, expr: &str) -> Vec<Value> {
    let q: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("query", expr)
        .finish();
    let (status, _, body) = get(prometheus, &format!("/api/v1/query?{q}"), &[]);
    assert_eq!(status, 200, "{expr}: {body}");
    let doc: Value = serde_json::from_str(&body).expect("JSON from Prometheus");
    doc["data"]["result"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// `query` until `done` holds for the result, within [`PATIENCE`].
fn query_until(prometheus: u16, expr: &str, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let result = query(prometheus, expr);
        if done(&result) {
            return result;
        }
        assert!(
            Instant::now() < deadline,
            "{expr}: not there after {PATIENCE:?}; last: {result:?}"
        );
        thread::sleep(Duration::from_millis(250));
    }
}

/// The sample of `instance` in a result, as a number.
fn value_of(result: &[Value], instance: &str) -> f64 {
    let sample = result
        .iter()
        .find(|s| s["metric"]["instance"] == instance)
        .unwrap_or_else(|| panic!("no {instance} in {result:?}"));
    sample["value"][1]
        .as_str()
        .and_then(|v| v.parse().ok())
        .expect("a number")
}

fn label_of(result: &[Value], instance: &str, label: &str) -> String {
    result
        .iter()
        .find(|s| s["metric"]["instance"] == instance)
        .and_then(|s| s["metric"][label].as_str())
        .unwrap_or_else(|| panic!("no {label} for {instance} in {result:?}"))
        .to_string()
}

#[test]
fn prometheus_scrapes_the_exporter_with_the_documented_config() {
    if !peers::require(Peer::Nginx)
        || !peers::require(Peer::Prometheus)
        || !peers::require(Peer::Promtool)
    {
        return;
    }
    let require = listen("require");
    let off = listen("off");
    let nginx_port = common::free_port();
    let _nginx = peers::Nginx::start("pp_http", &[("PORT", &nginx_port.to_string())]);
    let dir = tempfile::tempdir().expect("temp dir");
    let exporter = exporter(dir.path());

    // Every exposition passes promtool, and the docs list every metric.
    let targets = [
        ("require", require.port()),
        ("nginx", nginx_port),
        ("off", off.port()),
    ];
    for (what, port) in targets {
        let (status, head, body) = get(
            exporter.port(),
            &format!("/probe?target=127.0.0.1:{port}&module=proxy_v2"),
            &[("X-Prometheus-Scrape-Timeout-Seconds", "10")],
        );
        assert_eq!(status, 200, "{what}: {body}");
        assert!(head.contains("text/plain; version=0.0.4"), "{head}");
        promtool_check(what, &body);
        documented(&body);
    }
    let (_, _, own) = get(exporter.port(), "/metrics", &[]);
    promtool_check("/metrics", &own);
    documented(&own);

    // Prometheus with the docs' relabelling and alert rules.
    let rules = dir.path().join("ppctl-rules.yml");
    std::fs::write(&rules, docs_block("ppctl-rules.yml")).expect("write the rules");
    let prometheus = prometheus(
        "monitor",
        &[
            ("RULES", rules.to_str().expect("utf-8 path")),
            ("REQUIRE_PORT", &require.port().to_string()),
            ("NGINX_PORT", &nginx_port.to_string()),
            ("OFF_PORT", &off.port().to_string()),
            ("EXPORTER_PORT", &exporter.port().to_string()),
        ],
    );
    let at = |port: u16| format!("127.0.0.1:{port}");
    let met = query_until(prometheus.port(), "ppctl_probe_expectation_met", |r| {
        r.len() == 3
    });
    assert_eq!(value_of(&met, &at(require.port())), 1.0, "{met:?}");
    assert_eq!(value_of(&met, &at(nginx_port)), 1.0, "{met:?}");
    assert_eq!(value_of(&met, &at(off.port())), 0.0, "{met:?}");
    assert_eq!(label_of(&met, &at(nginx_port), "module"), "proxy_v2");
    let profiles = query_until(prometheus.port(), "ppctl_probe_profile_info", |r| {
        r.len() == 3
    });
    for (port, profile) in [
        (require.port(), "requires-v1-or-v2"),
        (nginx_port, "requires-v1-or-v2"),
        (off.port(), "no-header"),
    ] {
        assert_eq!(label_of(&profiles, &at(port), "profile"), profile);
    }
    let findings = query(prometheus.port(), "ppctl_probe_finding_info");
    assert_eq!(
        label_of(&findings, &at(off.port()), "finding"),
        "unexpected-header"
    );
    let accepted = query(
        prometheus.port(),
        r#"ppctl_probe_attempt_accepted{header="v2"}"#,
    );
    assert_eq!(value_of(&accepted, &at(nginx_port)), 1.0);
    assert_eq!(value_of(&accepted, &at(off.port())), 0.0);
    let up = query_until(prometheus.port(), r#"up{job="ppctl-exporter"}"#, |r| {
        !r.is_empty()
    });
    assert_eq!(value_of(&up, &at(exporter.port())), 1.0);
    let probes = query_until(prometheus.port(), "sum(ppctl_exporter_probes_total)", |r| {
        !r.is_empty()
    });
    let n: f64 = probes[0]["value"][1]
        .as_str()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    assert!(n >= 3.0, "{probes:?}");
    // The docs' alert: the endpoint that does not meet its module is
    // pending (it fires after 2 minutes).
    let alerts = query_until(
        prometheus.port(),
        r#"ALERTS{alertname="ProxyProtocolExpectationNotMet"}"#,
        |r| !r.is_empty(),
    );
    assert_eq!(alerts.len(), 1, "{alerts:?}\n{}", prometheus.log());
    assert_eq!(label_of(&alerts, &at(off.port()), "alertstate"), "pending");
}

/// A v2 PROXY TCP4 header, 192.0.2.1:1000 -> 192.0.2.2:80.
const V2: &[u8] =
    b"\r\n\r\n\0\r\nQUIT\n\x21\x11\x00\x0c\xc0\x00\x02\x01\xc0\x00\x02\x02\x03\xe8\x00\x50";
/// A v2 LOCAL header (a health check), no addresses.
const V2_LOCAL: &[u8] = b"\r\n\r\n\0\r\nQUIT\n\x20\x00\x00\x00";
const V1: &[u8] = b"PROXY TCP4 192.0.2.1 192.0.2.2 1000 80\r\n";
const REQUEST: &[u8] = b"GET / HTTP/1.0\r\n\r\n";

/// The port of a server's `--metrics`, from its `listening` line.
fn metrics_port(server: &JsonServer) -> u16 {
    server.first["metrics"][0]["port"]
        .as_u64()
        .and_then(|p| u16::try_from(p).ok())
        .unwrap_or_else(|| panic!("no metrics address in {}", server.first))
}

/// The one sample of an instant query, as a number (`None`: no sample).
fn scalar(result: &[Value]) -> Option<f64> {
    assert!(result.len() <= 1, "{result:?}");
    result
        .first()
        .and_then(|s| s["value"][1].as_str())
        .and_then(|v| v.parse().ok())
}

#[test]
fn prometheus_scrapes_listen_metrics() {
    if !peers::require(Peer::Prometheus) || !peers::require(Peer::Promtool) {
        return;
    }
    let mut listen = JsonServer::start(
        "listen",
        &["--metrics", "127.0.0.1:0", "--header-timeout", "60s"],
    );
    let port = listen.port();
    let metrics = metrics_port(&listen);
    // One connection held open: no byte yet.
    let held = TcpStream::connect((Ipv4Addr::LOCALHOST, port)).expect("connect");
    for bytes in [
        [V1, REQUEST].concat(),
        [V1, REQUEST].concat(),
        [V2, REQUEST].concat(),
        [V2_LOCAL, REQUEST].concat(),
        REQUEST.to_vec(),
        b"PROXY TCP4 192.0.2.1\r\n".to_vec(),
    ] {
        listen.client(&bytes);
    }
    listen.seen(6);
    let (status, head, body) = get(metrics, "/metrics", &[]);
    assert_eq!(status, 200, "{body}");
    assert!(head.contains("text/plain; version=0.0.4"), "{head}");
    promtool_check("listen --metrics", &body);
    documented(&body);
    assert!(
        body.contains(
            "ppctl_server_connections_total{finding=\"proxied\",code=\"PP-PROXIED\",transport=\"tcp\",header=\"v1\"} 2"
        ),
        "{body}"
    );
    // No accept ran out of descriptors; the counter is there from the start.
    assert!(
        body.contains("\nppctl_server_accepts_refused_total 0\n"),
        "{body}"
    );
    assert_eq!(get(metrics, "/nothing", &[]).0, 404);
    assert_eq!(request(metrics, "POST", "/metrics", &[]).0, 405);

    let metrics_port = metrics.to_string();
    let prometheus = prometheus("listen", &[("METRICS_PORT", &metrics_port)]);
    let p = prometheus.port();
    let count = |expr: &str| {
        let r = query_until(p, expr, |r| !r.is_empty());
        scalar(&r).unwrap_or_else(|| panic!("{expr}: {r:?}"))
    };
    let by = |labels: &str| count(&format!("sum(ppctl_server_connections_total{{{labels}}})"));
    assert_eq!(by(r#"finding="proxied",header="v1",transport="tcp""#), 2.0);
    assert_eq!(by(r#"finding="proxied",header="v2""#), 1.0);
    assert_eq!(by(r#"finding="health-check",header="v2-local""#), 1.0);
    assert_eq!(by(r#"finding="plain",header="none""#), 1.0);
    assert_eq!(
        by(r#"finding="invalid-header",code="PP-INVALID-HEADER""#),
        1.0
    );
    assert_eq!(count("ppctl_server_connections_open"), 1.0);
    assert_eq!(count("ppctl_server_header_wait_seconds_count"), 6.0);
    assert_eq!(count("ppctl_server_connection_duration_seconds_count"), 6.0);
    // Every header came at once: no wait reaches the last bucket's bound.
    assert_eq!(
        count(r#"ppctl_server_header_wait_seconds_bucket{le="5"}"#),
        6.0
    );

    // The held connection closes: it is counted, and no longer open.
    drop(held);
    listen.seen(1);
    let closed = query_until(
        p,
        r#"sum(ppctl_server_connections_total{finding="client-closed"})"#,
        |r| scalar(r) == Some(1.0),
    );
    assert_eq!(scalar(&closed), Some(1.0));
    let open = query_until(p, "ppctl_server_connections_open", |r| {
        scalar(r) == Some(0.0)
    });
    assert_eq!(scalar(&open), Some(0.0));
    listen.interrupt();
    assert_eq!(
        listen.wait().0,
        Some(1),
        "invalid-header is a problem: exit 1"
    );
}

#[test]
fn relay_metrics_pass_promtool() {
    if !peers::require(Peer::Promtool) {
        return;
    }
    let upstream = JsonServer::start("listen", &["--proxy-protocol", "require"]);
    let to = upstream.addr.clone();
    let mut relay = JsonServer::start(
        "relay",
        &["--to", &to, "--send", "v2", "--metrics", "127.0.0.1:0"],
    );
    let metrics = metrics_port(&relay);
    relay.client(REQUEST);
    relay.seen(1);
    let (status, _, body) = get(metrics, "/metrics", &[]);
    assert_eq!(status, 200, "{body}");
    promtool_check("relay --metrics", &body);
    documented(&body);
    assert!(
        body.contains(
            "ppctl_server_connections_total{finding=\"proxied\",code=\"PP-PROXIED\",transport=\"tcp\",header=\"none\"} 1"
        ),
        "{body}"
    );
    assert!(
        body.contains("ppctl_server_connection_duration_seconds_count 1"),
        "{body}"
    );
}

#[test]
fn the_documented_configs_pass_promtool_and_the_dashboard_parses() {
    if !peers::require(Peer::Promtool) {
        return;
    }
    let promtool = peers::path(Peer::Promtool).expect("promtool");
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("prometheus.yml");
    std::fs::write(&config, docs_block("prometheus.yml")).expect("write");
    std::fs::write(
        dir.path().join("ppctl-rules.yml"),
        docs_block("ppctl-rules.yml"),
    )
    .expect("write");
    for args in [
        ["check", "config", "prometheus.yml"],
        ["check", "rules", "ppctl-rules.yml"],
    ] {
        let out = Command::new(&promtool)
            .args(args)
            .current_dir(dir.path())
            .output()
            .expect("run promtool");
        assert!(
            out.status.success(),
            "promtool {args:?}:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // The test's Prometheus relabels as the docs say.
    let relabel = |text: &str| -> String {
        let start = text.find("    relabel_configs:").expect("relabel_configs");
        let end = text[start..].find("replacement:").expect("replacement") + start;
        text[start..end].to_string()
    };
    let ours = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/prometheus/monitor.yml"),
    )
    .expect("read the test's config");
    assert_eq!(relabel(&docs_block("prometheus.yml")), relabel(&ours));
    // The dashboard is JSON, and asks only for metrics the docs list.
    let dashboard = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/grafana-ppctl-probe.json"),
    )
    .expect("read the dashboard");
    let doc: Value = serde_json::from_str(&dashboard).expect("the dashboard is JSON");
    let docs = docs();
    let panels = doc["panels"].as_array().expect("panels");
    assert!(panels.len() >= 6);
    let mut exprs = 0;
    for panel in panels {
        for target in panel["targets"].as_array().expect("targets") {
            let expr = target["expr"].as_str().expect("expr");
            exprs += 1;
            for word in expr.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
                if let Some(name) = word.strip_prefix("ppctl_") {
                    let family = ["_bucket", "_sum", "_count"]
                        .iter()
                        .find_map(|s| name.strip_suffix(s))
                        .unwrap_or(name);
                    assert!(
                        docs.contains(&format!("`ppctl_{family}`")),
                        "the dashboard asks for ppctl_{name}, which docs/monitoring.md does not list"
                    );
                }
            }
        }
    }
    assert!(exprs >= 10);
}

#[test]
fn a_watch_until_ends_when_the_rollout_lands() {
    let port = common::free_port();
    let addr = format!("127.0.0.1:{port}");
    let off = JsonServer::spawn(&["listen", &addr, "--json", "--proxy-protocol", "off"]);
    let mut watch = Command::new(ppctl_bin())
        .args([
            "probe",
            &addr,
            "--watch",
            "--until",
            "accepts-v2",
            "--interval",
            "3s",
            "--max-time",
            "60s",
            "--color",
            "never",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the watch");
    let mut lines = BufReader::new(watch.stdout.take().expect("stdout"));
    let mut first = String::new();
    lines.read_line(&mut first).expect("the first line");
    assert!(first.contains(" no-header unexpected-header "), "{first}");
    // The rollout: the same port now requires a header.
    drop(off);
    let _require = JsonServer::spawn(&["listen", &addr, "--json", "--proxy-protocol", "require"]);
    let deadline = Instant::now() + PATIENCE;
    let status = loop {
        if let Some(status) = watch.try_wait().expect("wait") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = watch.kill();
            panic!("the watch did not end");
        }
        thread::sleep(Duration::from_millis(50));
    };
    let mut rest = String::new();
    lines.read_to_string(&mut rest).expect("the rest");
    let mut stderr = String::new();
    watch
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut stderr)
        .expect("stderr");
    assert_eq!(status.code(), Some(0), "{first}{rest}\n{stderr}");
    let second: Vec<&str> = rest.lines().collect();
    assert_eq!(second.len(), 1, "two lines in all:\n{first}{rest}");
    assert!(
        second[0].contains(" requires-v1-or-v2 missing-header ") && second[0].contains("v2:200"),
        "{rest}"
    );
    // Each line starts with the time.
    for line in [first.as_str(), second[0]] {
        let time = line.split(' ').next().unwrap_or("");
        assert!(time.len() == 9 && time.ends_with('Z'), "{line}");
    }
    assert!(stderr.contains("accepts-v2 holds after"), "{stderr}");
}

#[test]
fn the_exporter_refuses_what_it_cannot_answer_and_stops_on_sigterm() {
    let exporter = JsonServer::spawn(&["probe", "--serve", "127.0.0.1:0", "--json"]);
    let p = exporter.port();
    for (target, status, says) in [
        ("/probe", 400, "no target"),
        ("/probe?target=nope", 400, "is not HOST:PORT"),
        (
            "/probe?target=127.0.0.1:1&module=nope",
            400,
            "unknown module \"nope\": this exporter has http, tls, banner",
        ),
        (
            "/probe?target=127.0.0.1:1&target=127.0.0.1:2",
            400,
            "given twice",
        ),
        (
            "/probe?target=127.0.0.1:1&color=red",
            400,
            "unknown parameter \"color\"",
        ),
        ("/probe?target=%ff%fe:80", 400, "characters a host name"),
        ("/nope", 404, "/probe?target=HOST:PORT"),
    ] {
        let (got, _, body) = get(p, target, &[]);
        assert_eq!(got, status, "{target}: {body}");
        assert!(body.contains(says), "{target}: {body}");
    }
    let (got, _, body) = get(
        p,
        "/probe?target=127.0.0.1:1",
        &[("X-Prometheus-Scrape-Timeout-Seconds", "soon")],
    );
    assert_eq!(got, 400, "{body}");
    let (got, head, _) = request(p, "POST", "/probe?target=127.0.0.1:1", &[]);
    assert_eq!(got, 405);
    assert!(
        head.to_ascii_lowercase().contains("allow: get, head"),
        "{head}"
    );
    // A closed port is a probe that ran: 200, the endpoint unreachable.
    let closed = common::free_port();
    let (got, _, body) = get(p, &format!("/probe?target=127.0.0.1:{closed}"), &[]);
    assert_eq!(got, 200);
    assert!(body.contains("ppctl_probe_success 0"), "{body}");
    assert!(body.contains("profile=\"unreachable\""), "{body}");
    let (_, _, page) = get(p, "/", &[]);
    assert!(page.contains("<td>banner</td>") && page.contains(&format!("127.0.0.1:{closed}")));
    let (_, _, own) = get(p, "/metrics", &[]);
    assert!(
        own.contains("ppctl_exporter_scrapes_refused_total{reason=\"bad-query\"} 5"),
        "{own}"
    );
    assert!(
        own.contains("ppctl_exporter_scrapes_refused_total{reason=\"unknown-module\"} 1"),
        "{own}"
    );
    exporter.signal("-TERM");
    assert_eq!(exporter.wait().0, Some(0));
}

#[test]
fn a_busy_exporter_waits_within_the_scrape_or_answers_503() {
    // A target that accepts (the kernel's backlog) and never answers.
    let stalled = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
    let stalled_port = stalled.local_addr().expect("addr").port();
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("ppctl.yml");
    std::fs::write(&config, "modules:\n  slow:\n    timeout: 2s\n").expect("write");
    let exporter = JsonServer::spawn(&[
        "probe",
        "--serve",
        "127.0.0.1:0",
        "--json",
        "--config",
        config.to_str().expect("utf-8"),
        "--max-probes",
        "1",
    ]);
    let p = exporter.port();
    let probe = format!("/probe?target=127.0.0.1:{stalled_port}");
    let first = {
        let probe = probe.clone();
        thread::spawn(move || get(p, &probe, &[("X-Prometheus-Scrape-Timeout-Seconds", "10")]))
    };
    // Wait until it holds the one slot.
    let deadline = Instant::now() + PATIENCE;
    while !get(p, "/metrics", &[])
        .2
        .contains("ppctl_exporter_probes_in_flight 1")
    {
        assert!(Instant::now() < deadline, "the first probe never started");
        thread::sleep(Duration::from_millis(20));
    }
    // 2.3 s leaves 1.8 s: less than the module's 2 s, so nothing to wait with.
    let (got, _, body) = get(p, &probe, &[("X-Prometheus-Scrape-Timeout-Seconds", "2.3")]);
    assert_eq!(got, 503, "{body}");
    assert!(body.contains("all 1 probe slots are busy"), "{body}");
    // 10 s leaves 7.5 s beyond the module's time: it waits for the slot.
    let (got, _, body) = get(p, &probe, &[("X-Prometheus-Scrape-Timeout-Seconds", "10")]);
    assert_eq!(got, 200, "{body}");
    assert!(body.contains("ppctl_probe_timeout_seconds 2"), "{body}");
    let (got, _, body) = first.join().expect("the first scrape");
    assert_eq!(got, 200, "{body}");
    // Four attempts that each hear nothing: nothing accepted, so inconclusive.
    assert!(body.contains("profile=\"inconclusive\""), "{body}");
    assert!(body.contains("ppctl_probe_success 0"), "{body}");
    let (_, _, own) = get(p, "/metrics", &[]);
    assert!(
        own.contains("ppctl_exporter_scrapes_refused_total{reason=\"busy\"} 1"),
        "{own}"
    );
    assert!(own.contains("ppctl_exporter_probes_in_flight 0"), "{own}");
    drop(stalled);
}

/// A module with `protocol: smtp` (docs/monitoring.md's `smtp_proxy`)
/// probing a real Postfix: the port with `smtpd_upstream_proxy_protocol =
/// haproxy` meets `requires-v1-or-v2` (silent without a header:
/// missing-header), the port without PROXY support does not (it answers
/// the header line `500 5.5.2`: unexpected-header).
#[test]
fn a_smtp_module_probes_a_real_postfix() {
    if !peers::require(Peer::Postfix) {
        return;
    }
    let ports = common::Ports::new(&["SMTP_PORT", "PP_PORT", "SCREEN_PORT", "TLS_PORT"]);
    // Postfix's wait for a header, shorter than the module's 1.5 s wait
    // for the greeting: the attempt without one sees its 421.
    let _postfix = peers::Server::postfix(&ports.vars(&[("PROXY_TIMEOUT", "1s")]));
    let port = |name: &str| ports.port(name).to_string();
    let dir = tempfile::tempdir().expect("temp dir");
    let exporter = exporter(dir.path());
    let scrape = |port: &str| {
        let (status, _, body) = get(
            exporter.port(),
            &format!("/probe?target=127.0.0.1:{port}&module=smtp_proxy"),
            &[("X-Prometheus-Scrape-Timeout-Seconds", "10")],
        );
        assert_eq!(status, 200, "{body}");
        promtool_if_there(&body);
        body
    };
    let proxied = scrape(&port("PP_PORT"));
    for line in [
        "ppctl_probe_expectation_met 1",
        "ppctl_probe_profile_info{profile=\"requires-v1-or-v2\"} 1",
        "ppctl_probe_attempt_accepted{header=\"v2\"} 1",
        "ppctl_probe_attempt_accepted{header=\"none\"} 0",
    ] {
        assert!(proxied.contains(line), "{line}:\n{proxied}");
    }
    assert!(
        proxied.contains(
            "ppctl_probe_attempt_finding_info{header=\"none\",finding=\"missing-header\""
        ),
        "{proxied}"
    );
    let plain = scrape(&port("SMTP_PORT"));
    for line in [
        "ppctl_probe_expectation_met 0",
        "ppctl_probe_profile_info{profile=\"no-header\"} 1",
    ] {
        assert!(plain.contains(line), "{line}:\n{plain}");
    }
    assert!(
        plain.contains(
            "ppctl_probe_attempt_finding_info{header=\"v1\",finding=\"unexpected-header\""
        ),
        "{plain}"
    );
    exporter.signal("-TERM");
    assert_eq!(exporter.wait().0, Some(0));
}

/// `promtool check metrics` when promtool is installed (this test is
/// about the module, not the exposition, which the Prometheus test
/// checks).
fn promtool_if_there(exposition: &str) {
    if peers::path(Peer::Promtool).is_some() {
        promtool_check("an smtp module's probe", exposition);
    }
}
