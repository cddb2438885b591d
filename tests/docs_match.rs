//! What the docs and `--help` say, held against the tool: the CI package
//! list, the tcpdump pipeline of `inspect --help`, where `listen --tls`
//! prints its fingerprint, and the SNI `probe --tls` sends by default.
//! (The exit-code table: tests/exit_codes.rs; JSON shapes:
//! tests/json_shapes.rs; man pages and completions: tests/generated.rs.)

mod common;

use std::io::BufRead;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::peers::{self, Peer};
use common::ppctl;
use common::server::JsonServer;

fn root(path: &str) -> String {
    format!("{}/{path}", env!("CARGO_MANIFEST_DIR"))
}

fn words(s: &str) -> Vec<String> {
    s.split_whitespace()
        .map(|w| w.trim_matches(|c| "`():,".contains(c)).to_string())
        .filter(|w| !w.is_empty())
        .collect()
}

/// The README's CI package list is .ci/run's `packages=(...)`.
#[test]
fn readme_lists_the_packages_ci_installs() {
    let ci = std::fs::read_to_string(root(".ci/run")).expect(".ci/run");
    let start = ci.find("packages=(").expect("packages=(") + "packages=(".len();
    let end = start + ci[start..].find(')').expect(")");
    let packages = words(&ci[start..end]);
    let readme = std::fs::read_to_string(root("README.md")).expect("README.md");
    let at = readme
        .find("installs the real peers (`")
        .expect("the CI paragraph");
    let list = &readme[at + "installs the real peers (`".len()..];
    let listed = words(&list[..list.find('`').expect("closing backtick")]);
    assert_eq!(listed, packages, "README's CI package list vs .ci/run");
    let fuzzing = std::fs::read_to_string(root("docs/fuzzing.md")).expect("fuzzing.md");
    assert!(
        fuzzing.contains("the packages of `.ci/run`"),
        "docs/fuzzing.md points at .ci/run's list instead of a copy"
    );
}

/// `inspect --help`'s tcpdump pipeline, run as written on a capture.
#[test]
fn the_tcpdump_pipeline_of_inspect_help_works() {
    if !peers::require(Peer::Tcpdump) {
        return;
    }
    let out = ppctl().args(["inspect", "--help"]).output().expect("help");
    let help = String::from_utf8_lossy(&out.stdout);
    let flat = help.split_whitespace().collect::<Vec<_>>().join(" ");
    let start = flat.find("`tcpdump -X").expect("the tcpdump example") + 1;
    let pipeline = &flat[start..start + flat[start..].find('`').expect("closing backtick")];
    assert!(pipeline.ends_with("| ppctl inspect -"), "{pipeline}");
    let capture = root("tests/data/pcap/every-verdict.pcap");
    let ppctl = assert_cmd::cargo::cargo_bin("ppctl");
    let script = pipeline
        .replace("capture.pcap", &capture)
        .replace("ppctl inspect", &format!("{} inspect", ppctl.display()));
    let out = Command::new("bash")
        .args(["-c", &format!("set -o pipefail; {script}")])
        .output()
        .expect("run the pipeline");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{script}\n{text}");
    assert!(text.contains("VALID v1 PROXY TCP4 header"), "{text}");
}

/// `listen --tls` prints its fingerprint where its help says: under the
/// `listening on` line.
#[test]
fn listen_tls_prints_its_fingerprint_under_the_first_line() {
    let help = ppctl().args(["listen", "--help"]).output().expect("help");
    let help = String::from_utf8_lossy(&help.stdout);
    let flat = help.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        flat.contains("SHA-256 fingerprint is printed under the `listening on` line"),
        "{help}"
    );
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("ppctl"))
        .args(["listen", "127.0.0.1:0", "--tls", "--color", "never"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start listen");
    let mut lines = std::io::BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut first = Vec::new();
    for _ in 0..3 {
        first.push(lines.next().expect("a line").expect("text"));
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(first[0].starts_with("listening on 127.0.0.1:"), "{first:?}");
    assert!(
        first[1..].iter().any(|l| l.starts_with("tls: SHA-256 ")),
        "{first:?}"
    );
}

/// `probe --tls` sends the target's host name as SNI by default, and none
/// for an IP (its help says so).
#[test]
fn probe_sni_defaults_to_the_host_name_and_none_for_an_ip() {
    let help = ppctl().args(["probe", "--help"]).output().expect("help");
    let flat = String::from_utf8_lossy(&help.stdout)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        flat.contains("default: the target's host name; none for an IP"),
        "{flat}"
    );
    let seen = |host: &str| -> Vec<serde_json::Value> {
        let l = JsonServer::start("listen", &["--tls", "--count", "4"]);
        let target = format!("{host}:{}", l.port());
        let out = ppctl()
            .args(["probe", &target, "--tls", "--timeout", "3s", "--json"])
            .timeout(Duration::from_secs(60))
            .output()
            .expect("run probe");
        assert!(out.status.code().is_some());
        l.all_lines()
            .into_iter()
            .filter(|v| v["type"] == "connection" && v["tls"]["result"] == "done")
            .map(|v| v["tls"]["sni"].clone())
            .collect()
    };
    let by_ip = seen("127.0.0.1");
    assert!(!by_ip.is_empty());
    assert!(by_ip.iter().all(serde_json::Value::is_null), "{by_ip:?}");
    let by_name = seen("localhost");
    assert!(!by_name.is_empty());
    assert!(by_name.iter().all(|s| s == "localhost"), "{by_name:?}");
}

/// Each server's `--threads` help speaks of itself: relay serves no TLS.
#[test]
fn threads_help_fits_each_server() {
    let help = |c: &str| {
        let out = ppctl().args([c, "--help"]).output().expect("help");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let at = text.find("--threads <N>").expect("--threads");
        text[at..].split("\n\n").next().unwrap_or("").to_string()
    };
    let relay = help("relay");
    assert!(
        !relay.contains("TLS") && !relay.contains("--tls"),
        "{relay}"
    );
    assert!(help("listen").contains("2 with --tls"));
}
