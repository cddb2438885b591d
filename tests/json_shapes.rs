//! One JSON shape per concept, across commands (docs/json.md, schema 3):
//! every command's `--json` is walked and the shared concepts checked
//! wherever they appear: an endpoint is `{address, port}`, a target
//! `{host, port}`, a `time` RFC 3339 to the microsecond, a measured
//! duration a number in `*_ms`, a finding `{name, code, severity,
//! meaning}` with the code derived from the name, and `schema` one
//! number. And `client` means the same in listen and relay.

mod common;

use std::time::Duration;

use common::ppctl;
use common::server::JsonServer;
use serde_json::Value;

const RUN: Duration = Duration::from_secs(60);

/// `ppctl ARGS`: its stdout as JSON values (one document, or JSON Lines).
fn docs(args: &[&str]) -> Vec<Value> {
    let out = ppctl()
        .args(args)
        .write_stdin("")
        .timeout(RUN)
        .output()
        .expect("run ppctl");
    let text = String::from_utf8_lossy(&out.stdout);
    let all: Result<Value, _> = serde_json::from_str(&text);
    match all {
        Ok(v) => vec![v],
        Err(_) => text
            .lines()
            .map(|l| {
                serde_json::from_str(l).unwrap_or_else(|e| panic!("ppctl {args:?}: {e}: {l:?}"))
            })
            .collect(),
    }
}

fn is_rfc3339_micros(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 27
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && b[19] == b'.'
        && b[26] == b'Z'
        && b.iter()
            .enumerate()
            .all(|(i, c)| [4, 7, 10, 13, 16, 19, 26].contains(&i) || c.is_ascii_digit())
}

fn is_endpoint(v: &Value) -> bool {
    let Some(o) = v.as_object() else {
        return false;
    };
    let inet = o.len() == 2 && o["address"].is_string() && o["port"].is_u64();
    let unix = o.len() == 2 && o.contains_key("path") && o["abstract"].is_boolean();
    inet || unix
}

/// Check every shared concept in `v`, found at `path`.
fn walk(v: &Value, path: &str, seen: &mut Vec<String>) {
    match v {
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                walk(x, &format!("{path}[{i}]"), seen);
            }
        }
        Value::Object(o) => {
            // A header object's addresses are endpoints too.
            let header = o.contains_key("verdict");
            for (k, x) in o {
                let at = format!("{path}.{k}");
                assert!(
                    !["duration_ms", "timings_ms", "not_after_unix"].contains(&k.as_str()),
                    "{at}: an old name"
                );
                match k.as_str() {
                    // A log line's own fields (explain) are its words.
                    "fields" => continue,
                    "schema" => assert_eq!(x, &Value::from(3), "{at}"),
                    "peer" | "local" | "client" | "server" | "claimed" | "claimed_source" => {
                        assert!(x.is_null() || is_endpoint(x), "{at}: {x}");
                        seen.push(k.clone());
                    }
                    "source" | "destination" if header => {
                        assert!(x.is_null() || is_endpoint(x), "{at}: {x}");
                    }
                    // check's links name a hop's upstream by its index.
                    "upstream" if x.is_u64() => {}
                    "addresses" | "upstream" => {
                        let all = x.as_array().map_or(vec![x], |a| a.iter().collect());
                        for e in all {
                            assert!(e.is_null() || is_endpoint(e), "{at}: {x}");
                        }
                        seen.push(k.clone());
                    }
                    "target" => {
                        let ok = x.is_null()
                            || (x["host"].is_string()
                                && x["port"].is_u64()
                                && x.as_object().is_some_and(|t| t.len() == 2));
                        assert!(ok, "{at}: {x}");
                        seen.push(k.clone());
                    }
                    "time" | "not_before" | "not_after" => {
                        assert!(x.as_str().is_some_and(is_rfc3339_micros), "{at}: {x}");
                        seen.push(k.clone());
                    }
                    "finding" | "predicted" | "receiver_finding" | "pairing" | "arrival"
                    | "exchange"
                        if !x.is_null() =>
                    {
                        let keys: Vec<&str> = x
                            .as_object()
                            .map(|f| f.keys().map(String::as_str).collect())
                            .unwrap_or_default();
                        assert_eq!(keys, ["name", "code", "severity", "meaning"], "{at}");
                        let name = x["name"].as_str().unwrap_or("");
                        assert_eq!(x["code"], format!("PP-{}", name.to_uppercase()), "{at}");
                        seen.push("finding".into());
                    }
                    _ if k.ends_with("_ms") => {
                        let numbers = match x {
                            Value::Object(parts) => {
                                parts.values().all(|p| p.is_number() || p.is_null())
                            }
                            _ => x.is_number() || x.is_null(),
                        };
                        assert!(numbers, "{at}: {x}");
                        seen.push("_ms".into());
                    }
                    _ => walk(x, &at, seen),
                }
            }
        }
        _ => {}
    }
}

fn check(name: &str, values: &[Value]) -> Vec<String> {
    assert!(!values.is_empty(), "{name}: no JSON");
    let mut seen = Vec::new();
    for (i, v) in values.iter().enumerate() {
        assert_eq!(v["schema"], 3, "{name}[{i}]: {v}");
        walk(v, name, &mut seen);
    }
    seen.sort();
    seen.dedup();
    seen
}

#[test]
fn shared_concepts_have_one_shape_in_every_command() {
    let data = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/");
    let require = JsonServer::start("listen", &["--proxy-protocol", "require"]);
    let target = require.addr.clone();
    let mut runs: Vec<(&str, Vec<Value>)> = vec![
        ("inspect", docs(&["inspect", "--sample", "v2", "--json"])),
        (
            "explain",
            docs(&[
                "explain",
                "--json",
                "broken header: \"GET / HTTP/1.1\" while reading PROXY protocol, client: 10.0.0.7, server: 0.0.0.0:443",
            ]),
        ),
        ("send", docs(&["send", &target, "--json", "--timeout", "3s"])),
        ("send --dry-run", docs(&["send", &target, "--json", "--dry-run"])),
        (
            "send load",
            docs(&["send", &target, "--json", "--connections", "3"]),
        ),
        ("probe", docs(&["probe", &target, "--json", "--timeout", "3s"])),
        (
            "probe --watch",
            docs(&["probe", &target, "--watch", "--until", "accepts-v2", "--json"]),
        ),
        (
            "repro --target",
            docs(&["repro", "--target", &target, "--json", "--timeout", "3s"]),
        ),
        (
            "pcap",
            docs(&["pcap", &format!("{data}pcap/every-verdict.pcap"), "--json"]),
        ),
        (
            "conform",
            docs(&["conform", &target, "--mode", "require", "--only", "v1/tcp4", "--json"]),
        ),
        (
            "check",
            docs(&[
                "check",
                "--json",
                &format!("{data}configs/seed/k8s.yaml"),
                &format!("{data}configs/seed/nginx.conf"),
            ]),
        ),
    ];
    // A listen and a relay in front of it, each for one connection.
    let listen = JsonServer::start("listen", &["--count", "1"]);
    let relay = JsonServer::start(
        "relay",
        &[
            "--to",
            &listen.addr,
            "--accept",
            "v1",
            "--send",
            "v2",
            "--count",
            "1",
        ],
    );
    let _ = common::exchange(
        relay.port(),
        &[
            b"PROXY TCP4 203.0.113.7 127.0.0.1 51234 80\r\n".as_slice(),
            common::HTTP_GET,
        ]
        .concat(),
    );
    let exporter = JsonServer::spawn(&["probe", "--serve", "127.0.0.1:0", "--json"]);
    runs.push(("probe --serve", vec![exporter.first.clone()]));
    let relayed = relay.all_lines();
    let listened = listen.all_lines();
    runs.push(("relay", relayed.clone()));
    runs.push(("listen", listened.clone()));
    let mut seen = Vec::new();
    for (name, values) in &runs {
        seen.extend(check(name, values));
    }
    seen.sort();
    seen.dedup();
    // Each concept was met somewhere (the test is not vacuous).
    for concept in [
        "_ms",
        "addresses",
        "claimed_source",
        "client",
        "finding",
        "local",
        "peer",
        "server",
        "target",
        "time",
        "upstream",
    ] {
        assert!(
            seen.iter().any(|s| s == concept),
            "{concept} not met: {seen:?}"
        );
    }

    // `client` means one thing in listen and relay: the client the
    // connection stands for (the accepted header's source, else the
    // socket's peer). The relay took the client's header and sent its
    // source on; listen took the relay's.
    let conn = |v: &[Value]| {
        v.iter()
            .find(|l| l["type"] == "connection")
            .cloned()
            .expect("a connection line")
    };
    let (r, l) = (conn(&relayed), conn(&listened));
    assert_eq!(r["client"]["address"], "203.0.113.7", "{r}");
    assert_eq!(r["client"]["port"], 51234, "{r}");
    assert_eq!(l["client"], r["client"], "{l}\n{r}");
    assert_eq!(r["peer"]["address"], "127.0.0.1", "{r}");
    assert_eq!(l["peer"]["address"], "127.0.0.1", "{l}");
}
