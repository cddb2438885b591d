//! `ppctl check` on input as it comes: empty, truncated, of the wrong kind,
//! hostile (alias bombs, deep nesting, huge words, FIFOs, devices), and
//! the "Read:" account of what each file gave. Never "✓ no finding" on
//! what was not understood: every such case is exit 2, and `--json` still
//! prints its document.

mod common;

use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::ppctl;

/// A generous bound: these inputs must end, and quickly; the bound only
/// turns a hang into a failure.
const HANG_GUARD: Duration = Duration::from_secs(120);

/// `ppctl check ARGS` in `dir` with `stdin`: exit code, stdout, stderr.
fn run_in(dir: &Path, args: &[&str], stdin: &[u8]) -> (i32, String, String) {
    let out = ppctl()
        .current_dir(dir)
        .env("COLUMNS", "80")
        .args(["--color", "never", "check"])
        .args(args)
        .write_stdin(stdin.to_vec())
        .timeout(HANG_GUARD)
        .output()
        .expect("run ppctl check");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn run(args: &[&str], stdin: &[u8]) -> (i32, String, String) {
    run_in(Path::new("."), args, stdin)
}

/// `ppctl check --json ARGS`: exit code and the document (always one).
fn json_in(dir: &Path, args: &[&str], stdin: &[u8]) -> (i32, serde_json::Value) {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let (code, out, err) = run_in(dir, &all, stdin);
    let doc = serde_json::from_str(&out)
        .unwrap_or_else(|e| panic!("--json printed no document ({e}): {out}{err}"));
    (code, doc)
}

fn json(args: &[&str], stdin: &[u8]) -> (i32, serde_json::Value) {
    json_in(Path::new("."), args, stdin)
}

#[test]
fn empty_input_is_exit_2_never_green() {
    let (code, out, err) = run(&["-"], b"");
    assert_eq!(code, 2, "{out}{err}");
    assert!(err.contains("-: is empty"), "{err}");
    assert!(!out.contains("no finding"), "{out}");
    let (code, out, err) = run(&["/dev/null"], b"");
    assert_eq!(code, 2, "{out}{err}");
    assert!(err.contains("/dev/null: is empty"), "{err}");
    let (code, _, err) = run(&["-"], b"# nothing but a comment\n\n");
    assert_eq!(code, 2);
    assert!(err.contains("only comments"), "{err}");
    let (code, doc) = json(&["-"], b"");
    assert_eq!(code, 2);
    assert_eq!(doc["type"], "check");
    assert_eq!(doc["ok"], false);
    assert_eq!(doc["errors"][0]["error"], "unreadable");
    assert_eq!(doc["errors"][0]["file"], "-");
    // A closed stdin (`<&-`): kubectl printed nothing, or was never there.
    let exe = assert_cmd::cargo::cargo_bin("ppctl");
    let out = Command::new("sh")
        .arg("-c")
        .arg("\"$0\" check - <&-")
        .arg(&exe)
        .output()
        .expect("run sh");
    assert_eq!(out.status.code(), Some(2), "{out:?}");
}

#[test]
fn a_truncated_nginx_file_is_nginx_and_exit_2() {
    let (code, out, err) = run(&["-"], b"http { server { listen 80 proxy_pro");
    assert_eq!(code, 2, "{out}{err}");
    assert!(err.contains("-:1:"), "{err}");
    assert!(err.contains("read as nginx"), "{err}");
    assert!(err.contains("--kind KIND=-"), "{err}");
    let (code, doc) = json(&["-"], b"http { server { listen 80 proxy_pro");
    assert_eq!(code, 2);
    assert_eq!(doc["errors"][0]["read_as"], "nginx");
    assert_eq!(doc["errors"][0]["line"], 1);
    assert_eq!(doc["findings"], serde_json::json!([]));
}

#[test]
fn nothing_understood_is_nothing_to_check_with_what_was_read() {
    // A Service without a load balancer and a Deployment of no controller
    // known to check: read, understood as not about PROXY, nothing to judge.
    let k8s = b"apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  ports:\n  - port: 80\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    spec:\n      containers:\n      - name: web\n        image: example/web:1\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: tls\n";
    let (code, out, err) = run(&["-"], k8s);
    assert_eq!(code, 2, "{out}{err}");
    assert!(out.contains("Read:"), "{out}");
    assert!(
        out.contains("- (kubernetes): nothing about PROXY protocol understood"),
        "{out}"
    );
    assert!(
        out.contains("skipped: Service web (no load balancer"),
        "{out}"
    );
    assert!(
        out.contains("skipped: Deployment web (no PROXY settings)"),
        "{out}"
    );
    assert!(
        out.contains("skipped: Secret tls (not read by check)"),
        "{out}"
    );
    assert!(out.contains("nothing to check"), "{out}");
    assert!(!out.contains("no finding"), "{out}");
    assert!(err.contains("nothing to check"), "{err}");
    let (code, doc) = json(&["-"], k8s);
    assert_eq!(code, 2);
    assert_eq!(doc["errors"][0]["error"], "nothing-to-check");
    let skipped = doc["files"][0]["skipped"].as_array().expect("skipped");
    let whys: Vec<&str> = skipped.iter().filter_map(|s| s["why"].as_str()).collect();
    assert_eq!(whys, ["no-load-balancer", "no-proxy-settings", "not-read"]);
    assert_eq!(doc["files"][0]["understood"], false);
}

#[test]
fn read_lists_every_file_and_include_with_what_it_gave() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/configs/seed");
    let (code, out, _) = run_in(&dir, &["k8s.yaml", "nginx.conf"], b"");
    assert_eq!(code, 1, "{out}");
    let read = out.split("\n\n").next().unwrap_or_default();
    assert!(
        read.contains("k8s.yaml (kubernetes): 1 hop, 2 listeners"),
        "{read}"
    );
    assert!(
        read.contains("used: ConfigMap ingress-nginx/ingress-nginx-controller"),
        "{read}"
    );
    assert!(
        read.contains("skipped: ConfigMap ingress-nginx/kube-root-ca.crt (no PROXY settings)"),
        "{read}"
    );
    assert!(
        read.contains("nginx.conf (nginx): through its includes"),
        "{read}"
    );
    assert!(
        read.contains("    stream.d/ingress.conf (nginx, included at nginx.conf:12): 2 hops"),
        "{read}"
    );
    let (_, doc) = json_in(&dir, &["k8s.yaml", "nginx.conf"], b"");
    let files = doc["files"].as_array().expect("files");
    assert_eq!(files.len(), 3);
    assert_eq!(files[2]["file"], "stream.d/ingress.conf");
    assert_eq!(files[2]["included_from"]["line"], 12);
    assert_eq!(doc["errors"], serde_json::json!([]));
}

#[test]
fn a_file_that_cannot_be_read_is_in_the_json_document() {
    let (code, doc) = json(&["/nonexistent/ppctl-check.yaml"], b"");
    assert_eq!(code, 2);
    assert_eq!(doc["ok"], false);
    let e = &doc["errors"][0];
    assert_eq!(e["file"], "/nonexistent/ppctl-check.yaml");
    assert!(e["line"].is_null());
    assert!(
        e["message"].as_str().unwrap_or("").contains("No such file"),
        "{doc:#}"
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = dir.path().join("bad.yaml");
    fs::write(&bad, "apiVersion: v1\nkind: ConfigMap\ndata: [\n").expect("write");
    let (code, doc) = json(&[bad.to_str().expect("utf-8 path")], b"");
    assert_eq!(code, 2);
    assert!(
        doc["errors"][0]["line"].as_u64().unwrap_or(0) >= 3,
        "{doc:#}"
    );
}

// Hostile input: each ends in a clear error (exit 2, file and line) or a
// right answer, and finishes (the hang guard is generous; no timing is
// asserted: speed is bench/check.sh's).

/// Run in a temporary directory holding `files`.
fn hostile(files: &[(&str, &[u8])], args: &[&str]) -> (i32, serde_json::Value, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, text) in files {
        fs::write(dir.path().join(name), text).expect("write");
    }
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let (code, out, err) = run_in(dir.path(), &all, b"");
    let doc = serde_json::from_str(&out)
        .unwrap_or_else(|e| panic!("--json printed no document ({e}): {out}{err}"));
    (code, doc, err)
}

#[test]
fn a_yaml_alias_bomb_is_refused_not_expanded() {
    // 941 bytes, 9^22 nodes expanded.
    let mut y = String::from("a0: &a0 [x,x,x,x,x,x,x,x,x]\n");
    for i in 1..23 {
        let refs = vec![format!("*a{}", i - 1); 9].join(",");
        y.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
    }
    let (code, doc, err) = hostile(&[("values.yaml", y.as_bytes())], &["values.yaml"]);
    assert_eq!(code, 2, "{doc:#}");
    assert!(err.contains("alias bomb"), "{err}");
    assert!(
        doc["errors"][0]["line"].as_u64().unwrap_or(0) >= 2,
        "{doc:#}"
    );
}

#[test]
fn nginx_blocks_nested_deeply_are_an_error_not_a_stack_overflow() {
    let deep = format!("http {}{}\n", "{ a ".repeat(20_000), "}".repeat(20_000));
    let (code, doc, err) = hostile(&[("deep.conf", deep.as_bytes())], &["deep.conf"]);
    assert_eq!(code, 2, "{doc:#}");
    assert!(
        err.contains("deep.conf:1: blocks nested deeper than 64"),
        "{err}"
    );
    // YAML and JSON too (the parser's own limit).
    let json = format!("{}{}", "[".repeat(20_000), "]".repeat(20_000));
    let (code, _, err) = hostile(&[("deep.json", json.as_bytes())], &["deep.json"]);
    assert_eq!(code, 2);
    assert!(err.contains("deep.json:1"), "{err}");
}

#[test]
fn a_long_unquoted_nginx_word_is_read_in_linear_time() {
    // 4 MiB in one word: quadratic tokenizing took minutes for 1 MiB.
    let word = "a".repeat(4 << 20);
    let conf = format!("http {{ server {{ listen 80 proxy_protocol; server_name {word}; }} }}\n");
    let (code, doc, _) = hostile(&[("long.conf", conf.as_bytes())], &["long.conf"]);
    // Read, and judged.
    assert_ne!(code, 2, "{doc:#}");
    assert_eq!(doc["hops"].as_array().map(Vec::len), Some(1));
    let name = doc["hops"][0]["name"].as_str().unwrap_or("");
    assert!(name.len() > 4 << 20, "the whole word is kept");
}

#[test]
fn many_load_balancer_services_are_judged_linearly() {
    // 20,000 Services in one stream: every link built, none quadratic
    // (64k took 17 s when links were matched pairwise).
    let mut y = String::new();
    for i in 0..20_000 {
        y.push_str(&format!(
            "---\napiVersion: v1\nkind: Service\nmetadata:\n  name: svc-{i}\nspec:\n  type: LoadBalancer\n  ports:\n  - port: 80\n"
        ));
    }
    let (code, doc, _) = hostile(&[("services.yaml", y.as_bytes())], &["services.yaml"]);
    assert_eq!(code, 0);
    assert_eq!(doc["hops"].as_array().map(Vec::len), Some(20_000));
    assert_eq!(doc["links"].as_array().map(Vec::len), Some(20_000));
}

#[test]
fn devices_binary_and_fifos_are_refused_without_blocking() {
    // /dev/urandom: binary, said at once (not after 64 MiB).
    let (code, out, err) = run(&["--json", "/dev/urandom"], b"");
    assert_eq!(code, 2);
    assert!(err.contains("/dev/urandom holds binary data"), "{err}");
    assert!(serde_json::from_str::<serde_json::Value>(&out).is_ok());
    // include /dev/zero: not a regular file, on the include's line.
    let (code, doc, err) = hostile(
        &[(
            "nginx.conf",
            b"events {}\nhttp {\n    include /dev/zero;\n}\n",
        )],
        &["nginx.conf"],
    );
    assert_eq!(code, 2, "{doc:#}");
    assert!(
        err.contains("nginx.conf:3: include /dev/zero: /dev/zero is not a regular file"),
        "{err}"
    );
    // A FIFO nobody writes to, as FILE and as an include: no wait.
    let dir = tempfile::tempdir().expect("tempdir");
    let fifo = dir.path().join("pipe.conf");
    let made = Command::new("mkfifo").arg(&fifo).status().expect("mkfifo");
    assert!(made.success());
    let (code, _, err) = run_in(dir.path(), &["pipe.conf"], b"");
    assert_eq!(code, 2);
    assert!(err.contains("pipe.conf: is empty"), "{err}");
    fs::write(
        dir.path().join("nginx.conf"),
        "events {}\nhttp {\n    include pipe.conf;\n}\n",
    )
    .expect("write");
    let (code, _, err) = run_in(dir.path(), &["nginx.conf"], b"");
    assert_eq!(code, 2);
    assert!(err.contains("nginx.conf:3: include pipe.conf"), "{err}");
    assert!(err.contains("not a regular file"), "{err}");
}

#[test]
fn a_file_over_the_size_cap_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let big = dir.path().join("big.conf");
    let f = fs::File::create(&big).expect("create");
    // Sparse: 65 MiB of nothing, written as one hole.
    f.set_len(65 << 20).expect("set_len");
    let (code, _, err) = run_in(dir.path(), &["big.conf"], b"");
    assert_eq!(code, 2);
    assert!(err.contains("big.conf is larger than 64 MiB"), "{err}");
}

#[test]
fn an_include_loop_ends_with_where() {
    let (code, doc, err) = hostile(
        &[
            (
                "nginx.conf",
                b"events {}\nhttp {\n    include loop.conf;\n}\n",
            ),
            ("loop.conf", b"server { listen 80; }\ninclude loop.conf;\n"),
        ],
        &["nginx.conf"],
    );
    assert_eq!(code, 2, "{doc:#}");
    assert!(
        err.contains("loop.conf:2: includes nested deeper than 16"),
        "{err}"
    );
}
