//! `ppctl check` on the corpus in tests/data/configs/: one directory per
//! scenario, with `ARGS` (the files or directories to pass, in order),
//! `EXPECT` (the names of the findings it must yield, one per line; empty
//! for a clean chain) and, when it is not what the findings make it,
//! `EXIT` (2: a template, nothing to check). Many are shaped like real
//! deployments: a GitOps folder, a chart's values with snippets and
//! comments, `kubectl get -o json` dumps, a production nginx tree with its
//! includes. Every nginx file of the corpus passes `nginx -t`, every HAProxy
//! file `haproxy -c`, every Caddyfile `caddy validate`: the real parsers
//! agree the configurations are valid.

mod common;

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::peers::{self, Haproxy, Nginx, Peer, Server};
use common::{free_port, ppctl, TlsIngress};
use serde_json::json;

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
    assert!(dirs.len() >= 60, "the corpus has its scenarios");
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

/// The exit code a scenario's `EXIT` names, if it has one.
fn expected_exit(dir: &Path) -> Option<i32> {
    fs::read_to_string(dir.join("EXIT"))
        .ok()
        .and_then(|t| t.trim().parse().ok())
}

#[test]
fn every_scenario_yields_exactly_its_findings() {
    for dir in scenarios() {
        let (code, doc) = run_json(&dir, &args(&dir));
        assert_eq!(doc["type"], "check");
        assert_eq!(doc["schema"], 3);
        if let Some(exit) = expected_exit(&dir) {
            assert_eq!(code, exit, "{}: {doc:#}", dir.display());
            assert!(expected(&dir).is_empty());
            assert!(!doc["errors"].as_array().expect("errors").is_empty());
            continue;
        }
        // One chain, or several (`check old/ new/`): every finding of all.
        let chains: Vec<&serde_json::Value> = match doc["chains"].as_array() {
            Some(c) => c.iter().collect(),
            None => vec![&doc],
        };
        for c in &chains {
            assert_eq!(
                c["errors"],
                serde_json::json!([]),
                "{}: {doc:#}",
                dir.display()
            );
            kubernetes_fixes_only_with_kubernetes_input(&dir, c);
        }
        let findings: Vec<serde_json::Value> = chains
            .iter()
            .flat_map(|c| c["findings"].as_array().expect("findings").clone())
            .collect();
        let mut got: Vec<String> = findings
            .iter()
            .map(|f| f["finding"]["name"].as_str().unwrap_or("").to_string())
            .collect();
        got.sort();
        let want = expected(&dir);
        assert_eq!(got, want, "{}: {doc:#}", dir.display());
        let problem = findings
            .iter()
            .any(|f| f["finding"]["severity"] == "problem");
        assert_eq!(code, i32::from(problem), "{}: exit code", dir.display());
        for f in findings.iter() {
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

/// A fix that changes a Kubernetes object (`externalTrafficPolicy`, the
/// load balancer's `ipMode`) is offered only when the chain's input holds
/// Kubernetes objects or a chart's values: a plain nginx tree's
/// `real-ip-lost` has no Service to change.
fn kubernetes_fixes_only_with_kubernetes_input(dir: &Path, chain: &serde_json::Value) {
    const KUBERNETES_ONLY: [&str; 2] = ["external-traffic-policy-local", "hairpin-ip-mode-proxy"];
    let cluster = chain["files"]
        .as_array()
        .expect("files")
        .iter()
        .any(|f| f["kind"] == "kubernetes" || f["kind"] == "helm");
    if cluster {
        return;
    }
    for f in chain["findings"].as_array().expect("findings") {
        for fix in f["fixes"].as_array().expect("fixes") {
            let id = fix["id"].as_str().expect("a fix id");
            assert!(
                !KUBERNETES_ONLY.contains(&id),
                "{}: {id} offered without Kubernetes input: {f:#}",
                dir.display()
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
    assert!(
        text.contains("unexpected-header (PP-UNEXPECTED-HEADER)"),
        "{text}"
    );
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
fn a_setting_the_server_refuses_is_a_problem_on_every_link_to_it() {
    // Traefik exits when an entry point's proxyProtocol has neither
    // trustedIPs nor insecure: a problem at the setting's line, and no
    // link to that Traefik is judged as served.
    let dir = corpus().join("traefik-static-proxy-protocol-no-trust");
    let (code, doc) = run_json(&dir, &args(&dir));
    assert_eq!(code, 1, "{doc:#}");
    let found = doc["findings"].as_array().expect("findings");
    assert_eq!(found.len(), 1, "{doc:#}");
    assert_eq!(found[0]["finding"]["name"], "refused-setting", "{doc:#}");
    assert_eq!(found[0]["line"], 21, "{doc:#}");
    let message = found[0]["message"].as_str().expect("message");
    assert!(message.contains("no trusted IPs provided"), "{message}");
    let links = doc["links"].as_array().expect("links");
    assert_eq!(links.len(), 2, "{doc:#}");
    assert!(
        links
            .iter()
            .all(|l| l["finding"]["name"] == "refused-setting"),
        "{doc:#}"
    );
}

#[test]
fn help_ends_with_examples_and_exit_codes() {
    let out = ppctl().args(["check", "--help"]).output().expect("run");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("Examples:") && text.contains("| ppctl check - nginx.conf"),
        "{text}"
    );
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(flat.ends_with("said with what was read)."), "{text}");
}

/// Every file under `dir`, recursively.
fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in fs::read_dir(dir).expect("read a scenario") {
        let p = e.expect("entry").path();
        if p.is_dir() {
            walk(&p, out);
        } else {
            out.push(p);
        }
    }
}

/// The corpus's files for which `pick` says yes (by name).
fn files_where(pick: impl Fn(&str) -> bool) -> Vec<PathBuf> {
    let mut all = Vec::new();
    for dir in scenarios() {
        walk(&dir, &mut all);
    }
    let mut out: Vec<PathBuf> = all
        .into_iter()
        .filter(|p| p.file_name().is_some_and(|n| pick(&n.to_string_lossy())))
        .collect();
    out.sort();
    out
}

/// An nginx configuration's main file: it has `events` (an included file
/// is checked through the file that includes it); a file of server blocks
/// alone (a sites-enabled file given on its own) is checked inside an
/// `http` block, as nginx would read it.
fn nginx_main(text: &str) -> bool {
    text.lines().any(|l| l.trim_start().starts_with("events"))
}

/// `nginx -v` is at least `major.minor.patch`.
fn nginx_at_least(want: (u32, u32, u32)) -> bool {
    let v = peers::version(Peer::Nginx);
    let n: Vec<u32> = v.split('.').filter_map(|p| p.parse().ok()).collect();
    n.len() == 3 && (n[0], n[1], n[2]) >= want
}

#[test]
fn every_nginx_file_passes_nginx_t() {
    if !peers::require(Peer::Nginx) {
        return;
    }
    let exe = peers::path(Peer::Nginx).expect("nginx");
    let files = files_where(|n| n.ends_with(".conf") && !n.ends_with(".yaml"));
    assert!(files.len() >= 15, "{files:?}");
    let mut checked = 0;
    for conf in files {
        let text = fs::read_to_string(&conf).expect("read");
        // Written for a newer nginx than this one: said, not hidden.
        if text.contains("proxy_protocol_version") && !nginx_at_least((1, 31, 4)) {
            let _ = writeln!(
                std::io::stderr(),
                "SKIP nginx -t {}: proxy_protocol_version needs nginx 1.31.4, this is {}",
                conf.display(),
                peers::version(Peer::Nginx)
            );
            continue;
        }
        let included = conf.parent().is_some_and(|d| {
            !fs::read_dir(d).expect("dir").any(|e| {
                e.expect("entry")
                    .path()
                    .file_name()
                    .is_some_and(|n| n == "ARGS")
            })
        });
        if included && !nginx_main(&text) {
            continue;
        }
        let prefix = tempfile::tempdir().expect("tempdir");
        let main = if nginx_main(&text) {
            conf.clone()
        } else {
            let wrap = prefix.path().join("wrap.conf");
            fs::write(
                &wrap,
                format!(
                    "pid nginx.pid;\nerror_log stderr;\nevents {{}}\nhttp {{\n    include {};\n}}\n",
                    conf.display()
                ),
            )
            .expect("write");
            wrap
        };
        let out = Command::new(&exe)
            .arg("-t")
            .arg("-q")
            .arg("-p")
            .arg(prefix.path())
            .arg("-e")
            .arg("stderr")
            .arg("-c")
            .arg(&main)
            .output()
            .expect("run nginx -t");
        assert!(
            out.status.success(),
            "nginx -t {}: {}",
            conf.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        checked += 1;
    }
    assert!(checked >= 12, "{checked} nginx files checked");
}

/// Runs `command(file)` on each file and asserts it succeeds: the peer
/// accepts the configuration as written.
fn each_accepted_by(files: Vec<PathBuf>, what: &str, mut command: impl FnMut(&Path) -> Command) {
    for file in files {
        let out = command(&file)
            .output()
            .unwrap_or_else(|e| panic!("run {what}: {e}"));
        assert!(
            out.status.success(),
            "{what} {}: {}{}",
            file.display(),
            String::from_utf8_lossy(&out.stdout),
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
    let files = files_where(|n| n.ends_with(".cfg"));
    assert!(files.len() >= 8, "{files:?}");
    each_accepted_by(files, "haproxy -c", |cfg| {
        let mut c = Command::new(&exe);
        c.arg("-c").arg("-f").arg(cfg);
        c
    });
}

/// Every dovecot.conf of the corpus (with its includes) passes `doveconf
/// -n`, Dovecot's own parser.
#[test]
fn every_dovecot_file_passes_doveconf() {
    if !peers::require(Peer::Dovecot) {
        return;
    }
    let files = files_where(|n| n == "dovecot.conf");
    assert!(files.len() >= 4, "{files:?}");
    each_accepted_by(files, "doveconf -n -c", |conf| {
        let mut c = Command::new("doveconf");
        c.arg("-n").arg("-c").arg(conf);
        c
    });
}

/// Every Postfix directory of the corpus passes `postconf -n` (main.cf)
/// and `postconf -M` (master.cf), Postfix's own parser.
#[test]
fn every_postfix_directory_passes_postconf() {
    if !peers::require(Peer::Postfix) {
        return;
    }
    let postconf = peers::path(Peer::Postfix)
        .and_then(|p| p.parent().map(|d| d.join("postconf")))
        .expect("postconf beside postfix");
    let dirs: Vec<PathBuf> = files_where(|n| n == "master.cf")
        .into_iter()
        .filter_map(|f| f.parent().map(Path::to_path_buf))
        .collect();
    assert!(dirs.len() >= 4, "{dirs:?}");
    for flag in ["-n", "-M"] {
        each_accepted_by(dirs.clone(), &format!("postconf {flag} -c"), |dir| {
            let mut c = Command::new(&postconf);
            c.arg("-c").arg(dir).arg(flag);
            c
        });
    }
}

#[test]
fn every_caddyfile_passes_caddy_validate() {
    if !peers::require(Peer::Caddy) {
        return;
    }
    let exe = peers::path(Peer::Caddy).expect("caddy");
    let files = files_where(|n| n.starts_with("Caddyfile"));
    assert!(files.len() >= 2, "{files:?}");
    let home = tempfile::tempdir().expect("tempdir");
    each_accepted_by(files, "caddy validate", |file| {
        let mut c = Command::new(&exe);
        c.args(["validate", "--adapter", "caddyfile", "--config"])
            .arg(file)
            .env("HOME", home.path());
        c
    });
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
    // The same file forced to another kind is not read as Helm values:
    // nothing in it is a Kubernetes object, so there is nothing to check.
    let out = ppctl()
        .current_dir(&dir)
        .args(["check", "--kind", "kubernetes", "values.yaml"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("values.yaml (kubernetes, --kind): nothing about PROXY protocol understood"),
        "{text}"
    );
}

// `check --probe`: the configuration against the running server, on
// loopback. Each test runs nginx from tests/peers/nginx and checks a file
// that says what that server (or another one) should expect.

/// `tests/<template>` with each `{{NAME}}` replaced, written to `dir`.
fn rendered(dir: &Path, template: &str, vars: &[(&str, &str)]) -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join(template);
    let mut text =
        fs::read_to_string(&src).unwrap_or_else(|e| panic!("read {}: {e}", src.display()));
    text = text.replace("{{DIR}}", &dir.to_string_lossy());
    for (name, value) in vars {
        text = text.replace(&format!("{{{{{name}}}}}"), value);
    }
    assert!(
        !text.contains("{{"),
        "{template}: a placeholder has no value"
    );
    let name = Path::new(template).file_name().expect("a file name");
    let path = dir.join(name);
    fs::write(&path, text).expect("write the rendered config");
    path
}

/// `ppctl check --probe ARGS --json FILE` (bounded): exit code and document.
fn probe_json(args: &[&str], file: &Path) -> (i32, serde_json::Value) {
    let out = ppctl()
        .args(["check", "--probe", "--probe-timeout", "2s", "--json"])
        .args(args)
        .arg(file)
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .expect("run ppctl check --probe");
    let doc = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap_or(-1), doc)
}

fn codes(doc: &serde_json::Value) -> Vec<String> {
    doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| f["finding"]["code"].as_str().unwrap_or("").to_string())
        .collect()
}

fn probes(doc: &serde_json::Value) -> Vec<serde_json::Value> {
    doc["probes"].as_array().expect("a probes array").clone()
}

#[test]
fn probe_confirms_a_listener_the_running_nginx_serves_as_configured() {
    if !peers::require(Peer::Nginx) {
        return;
    }
    let port = free_port().to_string();
    let nginx = Nginx::start("pp_http", &[("PORT", &port)]);
    let conf = nginx.dir().join("nginx.conf");
    let (code, doc) = probe_json(&[], &conf);
    assert_eq!(code, 0, "{doc:#}");
    let p = probes(&doc);
    assert_eq!(p.len(), 1, "{doc:#}");
    assert_eq!(
        p[0]["target"],
        json!({"host": "127.0.0.1", "port": port.parse::<u16>().unwrap()})
    );
    assert_eq!(p[0]["mode"], "http");
    assert_eq!(p[0]["expected"], "header");
    assert_eq!(p[0]["class"], "requires-v1-or-v2");
    assert_eq!(p[0]["agrees"], true);
    assert!(p[0]["finding"].is_null());
    assert!(p[0]["listener_at"]
        .as_str()
        .is_some_and(|a| a.ends_with("nginx.conf:21")));
    assert!(!codes(&doc).contains(&"PP-CONFIG-WIRE-MISMATCH".to_string()));
    // The human view says so in one line under the chain.
    let out = ppctl()
        .env("COLUMNS", "80")
        .args(["--color", "never", "check", "--probe"])
        .arg(&conf)
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .expect("run");
    let text = String::from_utf8_lossy(&out.stdout);
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        flat.contains(&format!(
            "ok probed 127.0.0.1:{port}: requires-v1-or-v2, as configured"
        )),
        "{text}"
    );
}

#[test]
fn probe_finds_the_wire_disagreeing_with_the_file() {
    if !peers::require(Peer::Nginx) {
        return;
    }
    // The file says proxy_protocol; the nginx on that port runs a config
    // without it (as if the change were never reloaded).
    let port = free_port().to_string();
    let _running = Nginx::start("plain_http", &[("PORT", &port)]);
    let dir = tempfile::tempdir().expect("tempdir");
    let conf = rendered(dir.path(), "peers/nginx/pp_http.conf", &[("PORT", &port)]);
    let (code, doc) = probe_json(&[], &conf);
    assert_eq!(code, 1, "a disagreement is a problem: {doc:#}");
    assert_eq!(codes(&doc), ["PP-CONFIG-WIRE-MISMATCH"], "{doc:#}");
    let f = &doc["findings"][0];
    assert_eq!(f["finding"]["name"], "config-wire-mismatch");
    assert_eq!(f["line"], 21);
    assert_eq!(f["fixes"][0]["id"], "reload-after-change");
    let p = probes(&doc);
    assert_eq!(p[0]["class"], "no-header");
    assert_eq!(p[0]["agrees"], false);
    assert_eq!(p[0]["finding"]["code"], "PP-CONFIG-WIRE-MISMATCH");
    // The human view: the ✗ line names the file:line, within 80 columns.
    let out = ppctl()
        .env("COLUMNS", "80")
        .args(["--color", "never", "check", "--probe"])
        .arg(&conf)
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        flat.contains(&format!(
            "FAILED probed 127.0.0.1:{port}: no-header, but the configuration ("
        )) && flat.contains("pp_http.conf:21) says it requires a header"),
        "{text}"
    );
    assert!(
        text.contains("config-wire-mismatch (PP-CONFIG-WIRE-MISMATCH)"),
        "{text}"
    );
    assert!(text.contains("nginx -s reload"), "{text}");
    let block = text
        .split("Probed (live")
        .nth(1)
        .and_then(|b| b.split("\n\n").next())
        .unwrap_or_default();
    for line in block.lines() {
        assert!(line.chars().count() <= 80, "{line:?}");
    }
}

#[test]
fn probe_says_not_reachable_where_nothing_listens() {
    let port = free_port().to_string();
    let dir = tempfile::tempdir().expect("tempdir");
    let conf = rendered(dir.path(), "peers/nginx/pp_http.conf", &[("PORT", &port)]);
    let (code, doc) = probe_json(&[], &conf);
    assert_eq!(code, 0, "unreachable is no disagreement: {doc:#}");
    let p = probes(&doc);
    assert_eq!(p[0]["class"], "unreachable");
    assert!(p[0]["agrees"].is_null());
    assert!(p[0]["finding"].is_null());
    assert!(codes(&doc).is_empty(), "{doc:#}");
    let out = ppctl()
        .args(["--color", "never", "check", "--probe"])
        .arg(&conf)
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .expect("run");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("not reachable from here"), "{text}");
}

#[test]
fn probe_host_probes_wildcard_listeners_there() {
    if !peers::require(Peer::Nginx) {
        return;
    }
    let port = free_port().to_string();
    let _running = Nginx::start("pp_http", &[("PORT", &port)]);
    let dir = tempfile::tempdir().expect("tempdir");
    let conf = rendered(
        dir.path(),
        "data/check_probe/wildcard_pp.conf",
        &[("PORT", &port)],
    );
    // Without --probe-host the wildcard listener is not probed.
    let (code, doc) = probe_json(&[], &conf);
    assert_eq!(code, 0, "{doc:#}");
    assert!(probes(&doc).is_empty(), "{doc:#}");
    assert_eq!(doc["not_probed"][0]["why"], "wildcard");
    // With it, it is probed at that host and agrees.
    let (code, doc) = probe_json(&["--probe-host", "127.0.0.1"], &conf);
    assert_eq!(code, 0, "{doc:#}");
    let p = probes(&doc);
    assert_eq!(p.len(), 1, "{doc:#}");
    assert_eq!(
        p[0]["target"],
        json!({"host": "127.0.0.1", "port": port.parse::<u16>().unwrap()})
    );
    assert_eq!(p[0]["agrees"], true, "{doc:#}");
    // --probe-host without --probe is a usage error.
    let out = ppctl()
        .args(["check", "--probe-host", "127.0.0.1"])
        .arg(&conf)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn probe_speaks_tls_to_ssl_listeners() {
    let Some(ingress) = TlsIngress::start() else {
        return;
    };
    // The running nginx's own file: three listeners, each as configured
    // (ssl proxy_protocol and ssl probed over TLS).
    let conf = ingress.nginx.dir().join("nginx.conf");
    let (_, doc) = probe_json(&[], &conf);
    assert!(
        !codes(&doc).contains(&"PP-CONFIG-WIRE-MISMATCH".to_string()),
        "{doc:#}"
    );
    let p = probes(&doc);
    let of = |port: u16| {
        p.iter()
            .find(|x| x["target"] == json!({"host": "127.0.0.1", "port": port}))
            .unwrap_or_else(|| panic!("{port} probed: {doc:#}"))
    };
    assert_eq!(of(ingress.pp_ssl)["mode"], "tls");
    assert_eq!(of(ingress.pp_ssl)["class"], "requires-v1-or-v2");
    assert_eq!(of(ingress.ssl)["mode"], "tls");
    assert_eq!(of(ingress.ssl)["class"], "no-header");
    assert_eq!(of(ingress.pp_plain)["mode"], "http");
    for x in &p {
        assert_eq!(x["agrees"], true, "{doc:#}");
    }
    // A file that says `ssl proxy_protocol` where the server takes TLS
    // without a header: the wire disagrees.
    let dir = tempfile::tempdir().expect("tempdir");
    let ssl = ingress.ssl.to_string();
    let conf = rendered(
        dir.path(),
        "peers/nginx/pp_tls.conf",
        &[
            ("PORT", &ssl),
            ("CERT", &ingress.certs.cert),
            ("KEY", &ingress.certs.key),
        ],
    );
    let (code, doc) = probe_json(&[], &conf);
    assert_eq!(code, 1, "{doc:#}");
    assert_eq!(codes(&doc), ["PP-CONFIG-WIRE-MISMATCH"], "{doc:#}");
    let p = probes(&doc);
    assert_eq!(
        (&p[0]["mode"], &p[0]["class"]),
        (&"tls".into(), &"no-header".into())
    );
}

#[test]
fn probe_reads_haproxy_binds_too() {
    if !peers::require(Peer::Haproxy) || !peers::require(Peer::Nginx) {
        return;
    }
    // HAProxy's own file, while it runs: `bind 127.0.0.1:PORT accept-proxy`
    // requires a header, and the wire agrees.
    let port = free_port().to_string();
    let haproxy = Haproxy::start("accept_proxy", &[("PORT", &port)]);
    let (code, doc) = probe_json(&[], &haproxy.dir().join("haproxy.cfg"));
    assert!(
        !codes(&doc).contains(&"PP-CONFIG-WIRE-MISMATCH".to_string()),
        "{doc:#}"
    );
    assert_eq!(code, 0, "spoofable is a warning: {doc:#}");
    let p = probes(&doc);
    assert_eq!(p.len(), 1, "{doc:#}");
    assert_eq!(p[0]["class"], "requires-v1-or-v2");
    assert_eq!(p[0]["agrees"], true);
    // The same bind on a port where an nginx without proxy_protocol runs.
    let other = free_port().to_string();
    let _nginx = Nginx::start("plain_http", &[("PORT", &other)]);
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = rendered(
        dir.path(),
        "peers/haproxy/accept_proxy.cfg",
        &[("PORT", &other)],
    );
    let (code, doc) = probe_json(&[], &cfg);
    assert_eq!(code, 1, "{doc:#}");
    assert!(
        codes(&doc).contains(&"PP-CONFIG-WIRE-MISMATCH".to_string()),
        "{doc:#}"
    );
    let f = doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| f["finding"]["code"] == "PP-CONFIG-WIRE-MISMATCH")
        .expect("the mismatch");
    assert_eq!(f["line"], 17, "the bind's line: {doc:#}");
}

/// Ctrl-C (SIGINT) while `check --probe` waits on a listener that accepts
/// and never answers: the configuration is judged and printed, the probe
/// under way says it was interrupted, and the exit is 130, with one line
/// on stderr (no progress bar off a terminal).
#[test]
fn probe_interrupted_by_ctrl_c_prints_the_check_and_exits_130() {
    let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = silent.local_addr().expect("address").port().to_string();
    let dir = tempfile::tempdir().expect("tempdir");
    let conf = rendered(dir.path(), "peers/nginx/pp_http.conf", &[("PORT", &port)]);
    let conf = conf.to_string_lossy();
    let mut held = None;
    let out = common::interrupted(
        &[
            "check",
            "--probe",
            "--probe-timeout",
            "30s",
            "--json",
            &conf,
        ],
        // The probe has connected: it is under way.
        || held = Some(silent.accept().expect("the probe connects")),
    );
    drop(held);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("the check, as JSON");
    let p = probes(&doc);
    assert_eq!(p.len(), 1, "{doc:#}");
    assert_eq!(p[0]["class"], "inconclusive", "{doc:#}");
    assert!(
        p[0]["error"]
            .as_str()
            .is_some_and(|e| e.contains("interrupted (Ctrl-C)")),
        "{doc:#}"
    );
    assert!(
        stderr.starts_with("ppctl: interrupted (Ctrl-C): "),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "only that line: {stderr:?}");
}

/// The configurations the tests run real Postfix, Dovecot and MariaDB
/// from (tests/peers/) are read by `check` as those servers behaved in the
/// recordings of tests/data/protocols: a port that took a header expects
/// one (or takes an optional one), a port that refused a header or served
/// a client without one expects none, a port that waited for a header
/// requires one.
#[test]
fn the_peers_configs_are_read_as_the_real_servers_behaved() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let ports: &[(&str, u16)] = &[
        ("SMTP_PORT", 2501),
        ("PP_PORT", 2502),
        ("SCREEN_PORT", 2503),
        ("TLS_PORT", 2504),
        ("IMAP_PORT", 2511),
        ("IMAP_PP_PORT", 2512),
        ("POP3_PORT", 2513),
        ("POP3_PP_PORT", 2514),
        ("PORT", 2521),
    ];
    let servers: &[(&str, &[&str])] = &[
        ("postfix", &["postfix/main.cf", "postfix/master.cf"]),
        ("dovecot", &["dovecot/mail.conf"]),
        ("mariadb-plain", &["mariadb/plain.cnf"]),
        ("mariadb-proxy", &["mariadb/proxy.cnf"]),
    ];
    let mut judged = 0;
    for (server, files) in servers {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut args = Vec::new();
        for f in *files {
            let mut text = fs::read_to_string(root.join("tests/peers").join(f)).expect("read");
            for (name, port) in ports {
                text = text.replace(&format!("{{{{{name}}}}}"), &port.to_string());
            }
            text = text
                .replace("{{DIR}}", "/var/lib/ppctl-test")
                .replace("{{PROXY_TIMEOUT}}", "3s")
                .replace("{{TRUSTED}}", "127.0.0.0/8");
            assert!(!text.contains("{{"), "{f}: a placeholder left: {text}");
            let path = dir.path().join(Path::new(f).file_name().expect("name"));
            fs::write(&path, text).expect("write");
            args.push(path.to_string_lossy().into_owned());
        }
        let (code, doc) = run_json(dir.path(), &args);
        assert_ne!(code, 2, "{server}: {doc:#}");
        let expects = |port: u16| -> String {
            doc["hops"]
                .as_array()
                .expect("hops")
                .iter()
                .flat_map(|h| h["listeners"].as_array().expect("listeners").iter())
                .find(|l| l["port"] == port)
                .map_or_else(
                    || panic!("{server}: no listener on {port}: {doc:#}"),
                    |l| l["expects"].as_str().expect("expects").to_string(),
                )
        };
        let mut recordings: Vec<PathBuf> = fs::read_dir(root.join("tests/data/protocols"))
            .expect("recordings")
            .map(|e| e.expect("entry").path())
            .collect();
        recordings.sort();
        for rec in recordings {
            let text = fs::read_to_string(&rec).expect("read");
            let field = |k: &str| {
                text.lines()
                    .find_map(|l| l.strip_prefix(&format!("{k}: ")))
                    .unwrap_or("")
                    .to_string()
            };
            if field("server") != *server {
                continue;
            }
            let port = ports
                .iter()
                .find(|(n, _)| *n == field("port"))
                .map(|(_, p)| *p)
                .expect("a known port");
            let send = field("send");
            let header = send.starts_with("PROXY ") || send.starts_with("\\r\\n\\r\\n\\x00");
            let want: &[&str] = match (header, field("finding").as_str()) {
                (true, "proxied") => &["header", "optional"],
                (true, "unexpected-header") => &["none"],
                (false, "missing-header") => &["header"],
                (false, "plain") => &["none", "optional"],
                _ => continue,
            };
            let got = expects(port);
            assert!(
                want.contains(&got.as_str()),
                "{}: the server behaved as {want:?} on {port}, check reads {got}",
                rec.display()
            );
            judged += 1;
        }
    }
    assert!(judged >= 20, "{judged} recordings judged");
}

/// A mail or database server's finding is said in its own words (as the
/// real servers answered in tests/data/protocols), with its own fix first;
/// "Read:" names each file's kind, includes and all, and a file that both
/// a directory gives and an include reads is read once.
#[test]
fn mail_and_database_findings_speak_the_servers_words() {
    let cases: &[(&str, &str, &str, &str)] = &[
        (
            "postfix-header-to-plain-smtpd",
            "unexpected-header",
            "`500 5.5.2 Error: command not recognized`",
            "postfix-upstream-proxy-protocol",
        ),
        (
            "postfix-nginx-stream-missing-header",
            "missing-header",
            "`421 4.3.0",
            "nginx-stream-send-proxy-tcp",
        ),
        (
            "dovecot-haproxy-no-trusted-networks",
            "untrusted-source",
            "haproxy_trusted_networks is not set",
            "dovecot-haproxy-trusted-networks",
        ),
        (
            "dovecot-nginx-stream-header-to-plain-pop3",
            "unexpected-header",
            "`-ERR Unknown command.`",
            "dovecot-haproxy",
        ),
        (
            "dovecot-haproxy-header-to-imaps",
            "unexpected-header",
            "reads the header as a broken ClientHello",
            "dovecot-haproxy",
        ),
        (
            "mariadb-header-without-networks",
            "unexpected-header",
            "error 1130 `Proxy header is not accepted from",
            "mariadb-proxy-protocol-networks",
        ),
        (
            "mariadb-haproxy-proxy-networks",
            "spoofable",
            "header is optional",
            "mariadb-proxy-networks-narrow",
        ),
    ];
    for (scenario, name, words, fix) in cases {
        let dir = corpus().join(scenario);
        let (_, doc) = run_json(&dir, &args(&dir));
        let f = doc["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .find(|f| f["finding"]["name"] == *name)
            .unwrap_or_else(|| panic!("{scenario}: no {name}: {doc:#}"));
        let message = f["message"].as_str().expect("message");
        assert!(message.contains(words), "{scenario}: {message}");
        assert_eq!(f["fixes"][0]["id"], *fix, "{scenario}: {f:#}");
    }
    // Debian's dovecot.conf tree given as a directory: each file's kind,
    // the listeners once.
    let dir = corpus().join("dovecot-haproxy-clean");
    let (code, doc) = run_json(&dir, &args(&dir));
    assert_eq!(code, 0, "{doc:#}");
    let files = doc["files"].as_array().expect("files");
    assert!(files
        .iter()
        .filter(|f| f["file"]
            .as_str()
            .is_some_and(|n| n.contains("etc-dovecot")))
        .all(|f| f["kind"] == "dovecot"));
    assert!(files
        .iter()
        .any(|f| f["file"] == "etc-dovecot/conf.d/10-master.conf"
            && f["included_from"]["file"] == "etc-dovecot/dovecot.conf"));
    let pp: Vec<&serde_json::Value> = doc["hops"]
        .as_array()
        .expect("hops")
        .iter()
        .flat_map(|h| h["listeners"].as_array().expect("listeners").iter())
        .filter(|l| l["expects"] == "header")
        .collect();
    assert_eq!(pp.len(), 2, "{doc:#}");
    // main.cf and master.cf: their flavours.
    let dir = corpus().join("postfix-haproxy-tcp-loopback");
    let (_, doc) = run_json(&dir, &args(&dir));
    let flavours: Vec<&str> = doc["files"]
        .as_array()
        .expect("files")
        .iter()
        .filter(|f| f["kind"] == "postfix")
        .filter_map(|f| f["flavour"].as_str())
        .collect();
    assert_eq!(flavours, ["main.cf", "master.cf"], "{doc:#}");
}

/// `check --probe` on the configuration a real Postfix runs from speaks
/// SMTP to each port (its greeting, EHLO), as `probe --protocol smtp`
/// does, and the wire agrees with the files: the plain smtpd takes no
/// header, the smtpd and postscreen with `*_upstream_proxy_protocol =
/// haproxy` require one.
#[test]
fn probe_speaks_smtp_to_the_real_postfix() {
    if !peers::require(Peer::Postfix) {
        return;
    }
    let ports = common::Ports::new(&["SMTP_PORT", "PP_PORT", "SCREEN_PORT", "TLS_PORT"]);
    let server = Server::postfix(&ports.vars(&[("PROXY_TIMEOUT", "1s")]));
    let conf = server.dir().join("conf");
    let (code, doc) = run_json(
        &conf,
        &["--probe".into(), "main.cf".into(), "master.cf".into()],
    );
    assert_eq!(code, 0, "{doc:#}");
    let probed = doc["probes"].as_array().expect("probes");
    assert_eq!(probed.len(), 4, "{doc:#}");
    for p in probed {
        assert_eq!(p["mode"], "smtp", "{p:#}");
        assert_eq!(p["agrees"], true, "{p:#}\n{}", server.log());
    }
}

/// The same against the real Dovecot (IMAP and POP3, with and without
/// `haproxy = yes`) and MariaDB (with `proxy-protocol-networks`: the
/// header optional): each listener probed in its protocol agrees with the
/// configuration the server runs from.
#[test]
fn probe_speaks_imap_pop3_and_mysql_to_the_real_servers() {
    if peers::require(Peer::Dovecot) {
        let ports: Vec<(&str, String)> = ["IMAP_PORT", "IMAP_PP_PORT", "POP3_PORT", "POP3_PP_PORT"]
            .into_iter()
            .map(|n| (n, free_port().to_string()))
            .collect();
        let mut vars: Vec<(&str, &str)> = ports.iter().map(|(n, p)| (*n, p.as_str())).collect();
        vars.extend([("TRUSTED", "127.0.0.0/8"), ("PROXY_TIMEOUT", "1s")]);
        let server = Server::dovecot("mail", &vars);
        let (code, doc) = run_json(server.dir(), &["--probe".into(), "dovecot.conf".into()]);
        assert_eq!(code, 0, "{doc:#}");
        let probed = doc["probes"].as_array().expect("probes");
        assert_eq!(probed.len(), 4, "{doc:#}");
        for p in probed {
            assert!(p["mode"] == "imap" || p["mode"] == "pop3", "{p:#}");
            assert_eq!(p["agrees"], true, "{p:#}\n{}", server.log());
        }
    }
    if let Some((server, _)) = Server::mariadb_on_free_port("proxy") {
        let (code, doc) = run_json(server.dir(), &["--probe".into(), "my.cnf".into()]);
        // The optional header is spoofable: a warning.
        assert_eq!(code, 0, "{doc:#}");
        let p = &doc["probes"][0];
        assert_eq!(p["mode"], "mysql", "{doc:#}");
        assert_eq!(p["expected"], "optional", "{doc:#}");
        assert_eq!(p["agrees"], true, "{p:#}\n{}", server.log());
    }
}
