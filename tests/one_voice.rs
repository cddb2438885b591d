//! One failure, one name: a v1 header sent to a receiver without PROXY
//! support (the seed's 400) is named `unexpected-header` / `PP-UNEXPECTED-HEADER`
//! by every command that sees it: send, listen (`--proxy-protocol off`),
//! probe, repro and pcap, in their JSON and in their human text.

mod common;
mod listen_support;

use common::ppctl;
use listen_support::Listen;
use serde_json::Value;

const NAME: &str = "unexpected-header";
const CODE: &str = "PP-UNEXPECTED-HEADER";

/// Whether any object in `v` names the finding: `{"name": NAME, "code": CODE}`.
fn names_it(v: &Value) -> bool {
    match v {
        Value::Object(o) => {
            (o.get("name") == Some(&Value::from(NAME)) && o.get("code") == Some(&Value::from(CODE)))
                || o.values().any(names_it)
        }
        Value::Array(a) => a.iter().any(names_it),
        _ => false,
    }
}

/// Every JSON document in a command's stdout (one per line, or one in all).
fn documents(stdout: &[u8]) -> Vec<Value> {
    let text = String::from_utf8_lossy(stdout);
    if let Ok(v) = serde_json::from_str::<Value>(&text) {
        return vec![v];
    }
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

fn run(args: &[&str]) -> Vec<u8> {
    let out = ppctl()
        .args(args)
        .env("NO_COLOR", "1")
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .expect("run ppctl");
    out.stdout
}

#[test]
fn every_command_names_the_seed_failure_alike() {
    let listen = Listen::start(&["--proxy-protocol", "off"]);
    let target = format!("127.0.0.1:{}", listen.port);

    let send_json = documents(&run(&["send", &target, "--v1", "--json"]));
    assert!(send_json.iter().any(names_it), "send --json: {send_json:?}");
    let send_text = String::from_utf8_lossy(&run(&["send", &target, "--v1"])).into_owned();
    assert!(
        send_text.contains(NAME) && send_text.contains(CODE),
        "send: {send_text}"
    );

    let probe_json = documents(&run(&["probe", &target, "--json"]));
    assert!(
        probe_json.iter().any(names_it),
        "probe --json: {probe_json:?}"
    );
    let probe_text = String::from_utf8_lossy(&run(&["probe", &target])).into_owned();
    assert!(
        probe_text.contains(NAME) && probe_text.contains(CODE),
        "probe: {probe_text}"
    );

    listen.term();
    let (_, lines) = listen.finish();
    assert!(lines.iter().any(names_it), "listen --json: {lines:?}");

    let repro_json = documents(&run(&["repro", "--json"]));
    assert!(
        repro_json.iter().any(names_it),
        "repro --json: {repro_json:?}"
    );

    let capture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/pcap/every-verdict.pcap"
    );
    let pcap_json = documents(&run(&["pcap", capture, "--json"]));
    assert!(pcap_json.iter().any(names_it), "pcap --json: {pcap_json:?}");
    let pcap_text = String::from_utf8_lossy(&run(&["pcap", capture])).into_owned();
    assert!(
        pcap_text.contains(NAME) && pcap_text.contains(CODE),
        "pcap: {pcap_text}"
    );
}

#[test]
fn listen_text_names_it_too() {
    let listen = Listen::start_raw(&[
        "listen",
        "127.0.0.1:0",
        "--proxy-protocol",
        "off",
        "--count",
        "1",
        "--color",
        "never",
    ]);
    let target = format!("127.0.0.1:{}", listen.port);
    let _ = run(&["send", &target, "--v1"]);
    let (_, lines) = listen.finish_text();
    let text = lines.join("\n");
    assert!(text.contains(NAME) && text.contains(CODE), "listen: {text}");
}
