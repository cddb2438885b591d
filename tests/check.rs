//! `ppctl check` on the corpus in tests/data/configs/: one directory per
//! scenario, with `ARGS` (the files to pass, in order) and `EXPECT` (the
//! codes of the findings it must yield, one per line; empty for a clean
//! chain). Every nginx file of the corpus must pass `nginx -t` and every
//! HAProxy file `haproxy -c`: the real parsers agree the configs are valid.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::peers::{self, Peer};
use common::ppctl;

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/configs")
}

fn scenarios() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = fs::read_dir(corpus())
        .expect("tests/data/configs exists")
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    assert!(dirs.len() >= 10, "the corpus has its scenarios");
    dirs
}

fn args(dir: &Path) -> Vec<String> {
    fs::read_to_string(dir.join("ARGS"))
        .unwrap_or_else(|e| panic!("{}/ARGS: {e}", dir.display()))
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

fn expected(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_to_string(dir.join("EXPECT"))
        .unwrap_or_else(|e| panic!("{}/EXPECT: {e}", dir.display()))
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect();
    v.sort();
    v
}

fn run_json(dir: &Path, files: &[String]) -> (i32, serde_json::Value) {
    let out = ppctl()
        .current_dir(dir)
        .arg("check")
        .arg("--json")
        .args(files)
        .output()
        .expect("run ppctl check");
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{}: not JSON ({e}): {}{}",
            dir.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap_or(-1), doc)
}

#[test]
fn every_scenario_yields_exactly_its_findings() {
    for dir in scenarios() {
        let (code, doc) = run_json(&dir, &args(&dir));
        assert_eq!(doc["type"], "check");
        assert_eq!(doc["schema"], 2);
        let findings = doc["findings"].as_array().expect("findings");
        let mut got: Vec<String> = findings
            .iter()
            .map(|f| f["finding"]["code"].as_str().unwrap_or("").to_string())
            .collect();
        got.sort();
        let want = expected(&dir);
        assert_eq!(got, want, "{}: {doc:#}", dir.display());
        let problem = findings
            .iter()
            .any(|f| f["finding"]["severity"] == "problem");
        assert_eq!(code, i32::from(problem), "{}: exit code", dir.display());
        for f in findings {
            let file = f["file"].as_str().expect("file");
            assert!(
                dir.join(file).is_file(),
                "{}: {file} is a file",
                dir.display()
            );
            assert!(f["line"].as_u64().unwrap_or(0) >= 1);
            assert!(
                !f["fixes"].as_array().expect("fixes").is_empty()
                    || f["finding"]["severity"] != "problem"
            );
        }
    }
}

#[test]
fn the_seed_names_the_mismatch_and_the_fix() {
    let dir = corpus().join("seed");
    let out = ppctl()
        .current_dir(&dir)
        .env("COLUMNS", "80")
        .args(["--color", "never", "check", "-", "nginx.conf"])
        .write_stdin(fs::read(dir.join("k8s.yaml")).expect("k8s.yaml"))
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("unexpected-header (PP-UNEXPECTED)"), "{text}");
    assert!(text.contains("use-proxy-protocol: \"true\""), "{text}");
    assert!(text.contains("-:5"), "the stdin input is named `-`: {text}");
    assert!(text.contains("stream.d/ingress.conf:14"), "{text}");
    for line in text.lines() {
        // Tables and prose fit 80 columns (the fix blocks are the shared
        // renderer's and hold commands verbatim).
        if line.starts_with('|') || line.starts_with('+') {
            assert!(line.chars().count() <= 80, "{line:?}");
        }
    }
}

#[test]
fn a_parse_error_names_file_and_line_and_exits_2() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = dir.path().join("bad.conf");
    fs::write(&bad, "http {\n    server {\n        listen 80\n    }\n").expect("write");
    let out = ppctl().arg("check").arg(&bad).output().expect("run");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.conf:"), "{err}");
    let yaml = dir.path().join("bad.yaml");
    fs::write(&yaml, "apiVersion: v1\nkind: ConfigMap\ndata: [\n").expect("write");
    let out = ppctl().arg("check").arg(&yaml).output().expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("bad.yaml:"));
}

#[test]
fn help_ends_with_examples_and_exit_codes() {
    let out = ppctl().args(["check", "--help"]).output().expect("run");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("Examples:") && text.contains("| ppctl check - nginx.conf"),
        "{text}"
    );
    assert!(
        text.trim_end().ends_with("line) or a usage error."),
        "{text}"
    );
}

/// The nginx files of the corpus that are whole configurations (the ones
/// in sub-directories are included by them).
fn files_with(ext: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for dir in scenarios() {
        for e in fs::read_dir(&dir).expect("read scenario") {
            let p = e.expect("entry").path();
            if p.extension().is_some_and(|x| x == ext) {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

#[test]
fn every_nginx_file_passes_nginx_t() {
    if !peers::require(Peer::Nginx) {
        return;
    }
    let exe = peers::path(Peer::Nginx).expect("nginx");
    let files = files_with("conf");
    assert!(files.len() >= 8);
    for conf in files {
        let prefix = tempfile::tempdir().expect("tempdir");
        let out = Command::new(&exe)
            .arg("-t")
            .arg("-q")
            .arg("-p")
            .arg(prefix.path())
            .arg("-e")
            .arg("stderr")
            .arg("-c")
            .arg(&conf)
            .output()
            .expect("run nginx -t");
        assert!(
            out.status.success(),
            "nginx -t {}: {}",
            conf.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn every_haproxy_file_passes_haproxy_c() {
    if !peers::require(Peer::Haproxy) {
        return;
    }
    let exe = peers::path(Peer::Haproxy).expect("haproxy");
    let files = files_with("cfg");
    assert!(!files.is_empty());
    for cfg in files {
        let out = Command::new(&exe)
            .arg("-c")
            .arg("-f")
            .arg(&cfg)
            .output()
            .expect("run haproxy -c");
        assert!(
            out.status.success(),
            "haproxy -c {}: {}{}",
            cfg.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn kind_forces_the_reader_and_json_names_the_fix() {
    let dir = corpus().join("helm-lb-only");
    let out = ppctl()
        .current_dir(&dir)
        .args(["check", "--kind", "helm", "--json", "-"])
        .write_stdin(fs::read(dir.join("values.yaml")).expect("values.yaml"))
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(doc["files"][0]["file"], "-");
    assert_eq!(doc["files"][0]["kind"], "helm");
    assert_eq!(doc["ok"], false);
    let f = &doc["findings"][0];
    assert_eq!(f["finding"]["name"], "unexpected-header");
    assert_eq!(f["fixes"][0]["id"], "ingress-nginx-helm-use-proxy-protocol");
    assert!(doc["links"]
        .as_array()
        .expect("links")
        .iter()
        .any(|l| l["ok"] == false && l["carried"] == "v1"));
    // The same file forced to another kind is not read as Helm values.
    let out = ppctl()
        .current_dir(&dir)
        .args(["check", "--kind", "kubernetes", "values.yaml"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0));
}
