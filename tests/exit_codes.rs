//! The exit-code rule (`ppctl --help`, README "Exit codes"), held for every
//! command with the real binary: for each command, at least one case of
//! each code it can give. Every peer is on loopback; a closed port stands
//! for a target that refuses.
//!
//! 0 done, no problem; 1 done, a problem found (a problem finding in what
//! the command judged, or an --expect... not met); 2 ppctl could not do its
//! job; 130 interrupted.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::ppctl;
use common::server::JsonServer;

/// Bounds every run: a hang fails the test instead of stalling the suite.
const RUN: Duration = Duration::from_secs(60);

/// `ppctl ARGS` with stdin closed: its exit code (`None` when a signal
/// ended it) and its stdout and stderr, for the failure message.
fn code(args: &[&str]) -> (Option<i32>, String) {
    let out = ppctl()
        .args(args)
        .env("COLUMNS", "80")
        .write_stdin("")
        .timeout(RUN)
        .output()
        .expect("run ppctl");
    let text = format!(
        "ppctl {}\nstdout:\n{}\nstderr:\n{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), text)
}

fn assert_code(want: i32, args: &[&str]) {
    let (got, text) = code(args);
    assert_eq!(got, Some(want), "{text}");
}

/// A loopback port nothing listens on: bound, then released.
fn closed_port() -> String {
    format!("127.0.0.1:{}", common::free_port())
}

const V1: &[u8] = b"PROXY TCP4 203.0.113.7 127.0.0.1 51234 80\r\n";

fn v1_request() -> Vec<u8> {
    [V1, common::HTTP_GET].concat()
}

#[test]
fn the_rule_is_in_every_help_and_the_readme() {
    let rule = ppctl::cmd::EXIT_RULE;
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("read README.md");
    let flat = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    let (_, top) = code(&["--help"]);
    assert!(top.contains(rule), "ppctl --help lacks the rule:\n{top}");
    let commands = [
        "inspect",
        "explain",
        "probe",
        "listen",
        "repro",
        "send",
        "pcap",
        "check",
        "relay",
        "conform",
        "completions",
        "man",
    ];
    for c in commands {
        let (got, help) = code(&[c, "--help"]);
        assert_eq!(got, Some(0), "{help}");
        assert!(help.contains(rule), "{c} --help lacks the rule:\n{help}");
        // The paragraph after the rule says what the command judges; the
        // README's table says the same words.
        let after = &help[help.find(rule).unwrap() + rule.len()..];
        let judges = after
            .split("\n\n")
            .map(str::trim)
            .find(|p| !p.is_empty())
            .unwrap_or("");
        let judges = judges.split("\nstderr:").next().unwrap_or("");
        assert!(
            judges.starts_with(&format!("{c} judges"))
                || judges.starts_with(&format!("{c} concludes")),
            "{c}: {judges:?}"
        );
        assert!(
            flat(&readme).contains(&flat(judges)),
            "README.md's exit-code table lacks {c}'s line: {judges:?}"
        );
    }
}

#[test]
fn inspect() {
    assert_code(0, &["inspect", "--sample", "v2"]);
    assert_code(
        1,
        &["inspect", "PROXY TCP4 1.2.3.4 5.6.7.8 1000 80 x\\r\\n"],
    );
    // Cut short: a receiver would wait, then drop it.
    assert_code(1, &["inspect", "PROXY TCP4 1.2.3.4"]);
    assert_code(1, &["inspect", "GET / HTTP/1.1\\r\\n"]);
    assert_code(2, &["inspect", "--file", "/nonexistent/ppctl-test"]);
}

#[test]
fn explain() {
    assert_code(
        1,
        &[
            "explain",
            "broken header: \"GET / HTTP/1.1\" while reading PROXY protocol",
        ],
    );
    // Nothing recognized is no finding: not a problem.
    assert_code(0, &["explain", "the weather is fine"]);
    assert_code(2, &["explain", "--file", "/nonexistent/ppctl-test"]);
}

#[test]
fn probe() {
    let off = JsonServer::start("listen", &["--proxy-protocol", "off"]);
    // A profile (no-header) is a fact, not a problem, though v1 and v2
    // meet unexpected-header.
    let probe = |want: i32, expect: &[&str]| {
        let mut args = vec!["probe", off.addr.as_str(), "--timeout", "3s"];
        args.extend_from_slice(expect);
        assert_code(want, &args);
    };
    probe(0, &[]);
    probe(1, &["--expect", "accepts-v2"]);
    probe(0, &["--expect", "no-header"]);
    // A refusing target is a finding about it (no-receiver), not ppctl failing.
    assert_code(1, &["probe", &closed_port(), "--timeout", "3s"]);
    assert_code(2, &["probe", "no-port-here"]);
}

#[test]
fn probe_watch() {
    let require = JsonServer::start("listen", &["--proxy-protocol", "require"]);
    let watch = |want: i32, target: &str, extra: &[&str]| {
        let mut args = vec!["probe", target, "--watch", "--interval", "200ms"];
        args.extend_from_slice(extra);
        assert_code(want, &args);
    };
    // --until: 0 as soon as it holds, 1 when --max-time comes first.
    watch(0, &require.addr, &["--until", "accepts-v2"]);
    watch(
        1,
        &require.addr,
        &["--until", "requires-v2", "--max-time", "1s"],
    );
    // Without --until: as its last probe would.
    watch(0, &require.addr, &["--max-time", "1s"]);
    watch(1, &closed_port(), &["--max-time", "1s"]);
    watch(2, "no-port-here", &[]);
    watch(2, &require.addr, &["--interval", "10ms"]);
    // 130: SIGINT before --until holds.
    let closed = closed_port();
    let args = ["probe", &closed, "--watch", "--until", "accepts-v2"];
    assert_eq!(code_after_signal(&args, "unreachable", "-INT"), Some(130));
}

/// `ppctl ARGS` until its first line on stdout (which must contain
/// `first`), then `kill SIGNAL` by pid: its exit code.
fn code_after_signal(args: &[&str], first: &str, signal: &str) -> Option<i32> {
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("ppctl"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start ppctl");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("the first line");
    assert!(line.contains(first), "{args:?}: {line}");
    let ok = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(ok.success());
    child.wait().expect("wait").code()
}

#[test]
fn probe_serve() {
    let dir = tempfile::tempdir().expect("temp dir");
    let bad = dir.path().join("bad.yml");
    std::fs::write(&bad, "modules:\n  a:\n    expect: requires-v3\n").expect("write");
    let (got, text) = code(&[
        "probe",
        "--serve",
        "127.0.0.1:0",
        "--config",
        bad.to_str().expect("utf-8"),
    ]);
    assert_eq!(got, Some(2), "{text}");
    assert!(
        text.contains("bad.yml: line 3: module \"a\": expect"),
        "{text}"
    );
    assert_code(
        2,
        &[
            "probe",
            "--serve",
            "127.0.0.1:0",
            "--config",
            "/nonexistent/ppctl.yml",
        ],
    );
    // A port in use.
    let taken = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
    let addr = taken.local_addr().expect("addr").to_string();
    assert_code(2, &["probe", "--serve", &addr]);
    // SIGINT and SIGTERM are its normal end: 0.
    for signal in ["-INT", "-TERM"] {
        let args = ["probe", "--serve", "127.0.0.1:0"];
        let code = code_after_signal(&args, "serving probes on http://127.0.0.1:", signal);
        assert_eq!(code, Some(0), "{signal}");
    }
}

#[test]
fn send() {
    let require = JsonServer::start("listen", &["--proxy-protocol", "require"]);
    assert_code(0, &["send", &require.addr, "--timeout", "3s"]);
    assert_code(
        1,
        &["send", &require.addr, "--no-header", "--timeout", "3s"],
    );
    // The expectations alone decide.
    assert_code(
        0,
        &[
            "send",
            &require.addr,
            "--no-header",
            "--timeout",
            "3s",
            "--expect-close",
        ],
    );
    assert_code(
        1,
        &[
            "send",
            &require.addr,
            "--timeout",
            "3s",
            "--expect-status",
            "404",
        ],
    );
    // Refused: no-receiver, a finding about the target.
    assert_code(1, &["send", &closed_port(), "--timeout", "3s"]);
    assert_code(
        1,
        &[
            "send",
            &closed_port(),
            "--timeout",
            "3s",
            "--connections",
            "3",
        ],
    );
    assert_code(0, &["send", &closed_port(), "--dry-run"]);
    assert_code(2, &["send", "no-port-here"]);
}

#[test]
fn repro() {
    assert_code(0, &["repro"]);
    let off = JsonServer::start("listen", &["--proxy-protocol", "off"]);
    // Which column it behaves like is a profile: 0, with no "ok".
    let (got, text) = code(&[
        "repro",
        "--target",
        &off.addr,
        "--timeout",
        "3s",
        "--color",
        "never",
    ]);
    assert_eq!(got, Some(0), "{text}");
    assert!(text.contains("behaves like `off`"), "{text}");
    assert!(!text.contains("ok: "), "{text}");
    assert_code(1, &["repro", "--target", &closed_port(), "--timeout", "3s"]);
    assert_code(2, &["repro", "--target", "no-port-here"]);
}

#[test]
fn pcap() {
    let data = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/pcap/");
    assert_code(
        0,
        &["pcap", &format!("{data}scrambled-v2.pcapng"), "--summary"],
    );
    assert_code(
        1,
        &["pcap", &format!("{data}every-verdict.pcap"), "--summary"],
    );
    // Only the selected flows are judged.
    assert_code(
        0,
        &[
            "pcap",
            &format!("{data}every-verdict.pcap"),
            "--finding",
            "proxied",
        ],
    );
    let not_a_capture = concat!(env!("CARGO_MANIFEST_DIR"), "/README.md");
    assert_code(2, &["pcap", not_a_capture]);
}

#[test]
fn check() {
    let data = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/configs/");
    assert_code(0, &["check", &format!("{data}clean-nginx/nginx.conf")]);
    assert_code(
        1,
        &[
            "check",
            &format!("{data}seed/k8s.yaml"),
            &format!("{data}seed/nginx.conf"),
        ],
    );
    assert_code(2, &["check", "/nonexistent/ppctl-test.conf"]);
}

#[test]
fn conform() {
    let require = JsonServer::start("listen", &["--proxy-protocol", "require"]);
    let off = JsonServer::start("listen", &["--proxy-protocol", "off"]);
    let grade = |want: i32, s: &JsonServer, extra: &[&str]| {
        let mut a = vec!["conform", s.addr.as_str(), "--mode", "require"];
        a.extend_from_slice(extra);
        assert_code(want, &a);
    };
    grade(0, &require, &["--only", "v1/*"]);
    // A receiver without PROXY support graded as one that requires it.
    grade(1, &off, &["--only", "v1/tcp4"]);
    assert_code(1, &["conform", &closed_port(), "--mode", "require"]);
    grade(2, &require, &["--only", "nope/*"]);
}

#[test]
fn completions_and_man() {
    assert_code(0, &["completions", "bash"]);
    assert_code(0, &["man"]);
    assert_code(2, &["man", "--dir", "/dev/null/ppctl-test"]);
    let full = std::fs::OpenOptions::new().write(true).open("/dev/full");
    if let Ok(full) = full {
        let status = Command::new(assert_cmd::cargo::cargo_bin("ppctl"))
            .args(["completions", "bash"])
            .stdout(full)
            .stderr(Stdio::null())
            .status()
            .expect("run ppctl");
        assert_eq!(status.code(), Some(2));
    }
}

#[test]
fn listen() {
    // 0: what it saw had no problem.
    let s = JsonServer::start("listen", &["--proxy-protocol", "require", "--count", "1"]);
    s.client(&v1_request());
    assert_eq!(s.wait().0, Some(0));
    // 1: an invalid header, as relay.
    let s = JsonServer::start("listen", &["--count", "1"]);
    s.client(b"PROXY TCP4 1.2.3.4 5.6.7.8 1000 80 x\r\n");
    let (got, rest) = s.wait();
    assert_eq!(got, Some(1), "{rest}");
    // 1: an expectation not met; 0: met, whatever the findings.
    let s = JsonServer::start("listen", &["--count", "1", "--expect-version", "2"]);
    s.client(&v1_request());
    assert_eq!(s.wait().0, Some(1));
    // SIGINT is listen's normal end: 0 or 1 by what it saw.
    let mut s = JsonServer::start("listen", &["--proxy-protocol", "require"]);
    s.client(&v1_request());
    s.seen(1);
    s.interrupt();
    assert_eq!(s.wait().0, Some(0));
    let mut s = JsonServer::start("listen", &["--proxy-protocol", "require"]);
    s.client(common::HTTP_GET);
    s.seen(1);
    s.interrupt();
    assert_eq!(s.wait().0, Some(1));
    // 130: a signal before --count N.
    let s = JsonServer::start("listen", &["--count", "5"]);
    s.interrupt();
    assert_eq!(s.wait().0, Some(130));
    // 2: the port is taken.
    let taken = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    assert_code(2, &["listen", &addr, "--count", "1"]);
}

#[test]
fn relay() {
    let upstream = JsonServer::start("listen", &["--proxy-protocol", "require"]);
    let s = JsonServer::start("relay", &["--to", &upstream.addr, "--count", "1"]);
    s.client(common::HTTP_GET);
    assert_eq!(s.wait().0, Some(0));
    // The upstream refuses: no-receiver, a finding about the target.
    let s = JsonServer::start("relay", &["--to", &closed_port(), "--count", "1"]);
    let mut c = TcpStream::connect(("127.0.0.1", s.port())).unwrap();
    let _ = c.write_all(common::HTTP_GET);
    drop(c);
    let (got, rest) = s.wait();
    assert_eq!(got, Some(1), "{rest}");
    // An invalid header from the client, as listen.
    let s = JsonServer::start(
        "relay",
        &["--to", &upstream.addr, "--accept", "v1", "--count", "1"],
    );
    s.client(b"PROXY TCP4 1.2.3.4 5.6.7.8 1000 80 x\r\n");
    assert_eq!(s.wait().0, Some(1));
    // SIGINT: the normal end (0 here: nothing seen); before --count N: 130.
    let s = JsonServer::start("relay", &["--to", &upstream.addr]);
    s.interrupt();
    assert_eq!(s.wait().0, Some(0));
    let s = JsonServer::start("relay", &["--to", &upstream.addr, "--count", "3"]);
    s.interrupt();
    assert_eq!(s.wait().0, Some(130));
    let taken = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    assert_code(2, &["relay", &addr, "--to", &upstream.addr]);
}

/// A command without a server's signal handling dies of SIGINT, which a
/// shell reports as 130.
#[test]
fn interrupted_elsewhere_is_the_shell_s_130() {
    use std::os::unix::process::{CommandExt, ExitStatusExt};
    let mut command = Command::new(assert_cmd::cargo::cargo_bin("ppctl"));
    command
        .args(["inspect", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    // SIGINT as a terminal gives it: a test run started in the background
    // of a script (`cargo test &`) ignores SIGINT, and every process it
    // starts inherits that (it then read EOF and exited 1).
    // SAFETY: signal(2) is async-signal-safe, as pre_exec requires.
    unsafe {
        command.pre_exec(|| {
            libc::signal(libc::SIGINT, libc::SIG_DFL);
            Ok(())
        });
    }
    let mut child = command.spawn().expect("start ppctl inspect");
    std::thread::sleep(Duration::from_millis(300));
    Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("run kill");
    let status = child.wait().expect("wait for ppctl");
    assert_eq!(status.signal(), Some(2), "{status:?}");
}
