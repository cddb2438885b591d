//! Snapshots (insta) of the human output of every command on fixed inputs,
//! taken before the codec moves into its own crate so the move can be
//! checked against them.
//!
//! Each case runs the built binary four times: `--color never` and
//! `--color always`, each at `COLUMNS=80` and `COLUMNS=120` (with `TERM=xterm`,
//! `NO_COLOR` unset, `TZ=UTC`). stdout is a pipe, so today the width does not
//! change the output; the pairs are kept so a change in that policy shows up.
//!
//! The offline commands (inspect, explain, pcap, send --dry-run) are
//! snapshotted as they are. For the ones that touch the network (repro,
//! send, probe, listen) insta filters redact what varies between runs:
//! ephemeral loopback ports (4-5 digits, replaced by a 5-character token so
//! tables keep their shape), wall-clock timestamps, HTTP `Date:` headers,
//! and durations (send's round trip, probe's ms column). ESC is written as
//! `␛` so the colour codes are readable in the `.snap` files. Each snapshot
//! starts with the exit code.
//!
//! Regenerate with `INSTA_UPDATE=always cargo test --test snapshots_output`.
//!
//! `table_lines_align_with_color` checks that colour does not break table
//! alignment: comfy-table styles the cells, so padding is measured without
//! the escape codes.

mod common;

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{Ipv4Addr, Shutdown, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

/// Terminal widths every case runs at.
const WIDTHS: [u16; 2] = [80, 120];
/// Colour policies every case runs with.
const COLORS: [&str; 2] = ["never", "always"];
/// Bound on any single wait (not a timing assertion).
const BOUND: Duration = Duration::from_secs(30);

/// A v1 TCP4 header followed by the start of an HTTP request.
const V1_TCP4: &str =
    r"PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n";

/// Three log lines from tests/data/peer-messages.txt: nginx's broken header
/// (half a v1 line), HAProxy's "not a PROXY header", nginx's access-log 400.
const LOG_LINES: &str = concat!(
    "2026/11/24 19:24:25 [error] 17539#17539: *8 broken header: \"PROXY TCP4 203.0.113.7 \" while reading PROXY protocol, client: 127.0.0.1, server: 127.0.0.1:45819\n",
    "127.0.0.1:43500 [24/Nov/2026:19:24:27.209] fe_accept_proxy/1: Received something which does not look like a PROXY protocol header\n",
    "127.0.0.1 - - [24/Nov/2026:19:24:26 +0000] \"PROXY TCP4 203.0.113.7 127.0.0.1 51000 46117\" 400 157 \"-\" \"-\"\n",
);

/// What a client sends in the listen cases.
const V1_GET: &[u8] =
    b"PROXY TCP4 192.0.2.10 198.51.100.1 40000 443\r\nGET / HTTP/1.1\r\nHost: ppctl.test\r\nConnection: close\r\n\r\n";
const PLAIN_GET: &[u8] = b"GET / HTTP/1.1\r\nHost: ppctl.test\r\nConnection: close\r\n\r\n";

// ---------------------------------------------------------------------------
// Running the binary
// ---------------------------------------------------------------------------

/// `ppctl --color COLOR ARGS...` with the snapshot environment.
fn command(color: &str, columns: u16, args: &[&str]) -> Command {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("ppctl"));
    cmd.env("COLUMNS", columns.to_string())
        .env("TERM", "xterm")
        .env("TZ", "UTC")
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR")
        .env_remove("CLICOLOR_FORCE")
        .args(["--color", color])
        .args(args);
    cmd
}

/// Run to completion (stdin from `input`, or empty) and render the result.
fn run(color: &str, columns: u16, args: &[&str], input: Option<&[u8]>) -> String {
    let mut cmd = command(color, columns, args);
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn ppctl");
    let mut stdin = child.stdin.take().expect("piped stdin");
    if let Some(bytes) = input {
        stdin.write_all(bytes).expect("write stdin");
    }
    drop(stdin);
    let out = wait_output(child);
    render(
        out.status.code(),
        &String::from_utf8_lossy(&out.stdout),
        &String::from_utf8_lossy(&out.stderr),
    )
}

/// `wait_with_output`, killing the child past [`BOUND`].
fn wait_output(child: Child) -> std::process::Output {
    let pid = child.id();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(BOUND) {
        Ok(out) => out.expect("wait for ppctl"),
        Err(_) => {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
            panic!("ppctl (pid {pid}) did not finish within {BOUND:?}");
        }
    }
}

/// The text a snapshot holds: exit code, stdout, and stderr when not empty.
fn render(code: Option<i32>, stdout: &str, stderr: &str) -> String {
    let mut s = format!("exit: {code:?}\n--- stdout ---\n{stdout}");
    if !stderr.is_empty() {
        s.push_str("--- stderr ---\n");
        s.push_str(stderr);
    }
    s.replace('\u{1b}', "␛")
}

/// A `ppctl listen` child: its stdout lines arrive on a channel.
struct Listener {
    child: Child,
    lines: mpsc::Receiver<String>,
    port: u16,
    first: String,
}

impl Listener {
    fn start(color: &str, columns: u16, args: &[&str]) -> Listener {
        Listener::start_command(color, columns, &[&["listen", "127.0.0.1:0"], args].concat())
    }

    /// `ppctl ARGS`, a server whose first line says where it listens
    /// (listen, relay).
    fn start_command(color: &str, columns: u16, args: &[&str]) -> Listener {
        let mut child = command(color, columns, args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn ppctl listen");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, lines) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let first = lines
            .recv_timeout(BOUND)
            .expect("ppctl listen prints where it listens");
        // "listening on 127.0.0.1:PORT (tcp, ...)", perhaps with colour codes.
        let port = first
            .split("127.0.0.1:")
            .nth(1)
            .and_then(|rest| {
                let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
                digits.parse().ok()
            })
            .unwrap_or_else(|| panic!("no port in the first line: {first:?}"));
        Listener {
            child,
            lines,
            port,
            first,
        }
    }

    fn target(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Wait for exit (after `--count`) and render every line it printed.
    fn finish(mut self) -> String {
        let deadline = Instant::now() + BOUND;
        let status = loop {
            if let Some(s) = self.child.try_wait().expect("poll ppctl listen") {
                break s;
            }
            assert!(
                Instant::now() < deadline,
                "ppctl listen did not exit within {BOUND:?}"
            );
            thread::sleep(Duration::from_millis(10));
        };
        let mut out = vec![self.first.clone()];
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(5)) {
            out.push(line);
        }
        let mut text = out.join("\n");
        text.push('\n');
        render(status.code(), &text, "")
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Connect, send `bytes`, read until the peer closes (a reset counts).
fn converse(port: u16, bytes: &[u8]) {
    let mut s = TcpStream::connect((Ipv4Addr::LOCALHOST, port)).expect("connect to ppctl listen");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("set a read timeout");
    let _ = s.write_all(bytes);
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                panic!("ppctl listen neither answered nor closed")
            }
            Err(_) => break,
        }
    }
    let _ = s.shutdown(Shutdown::Both);
}

// ---------------------------------------------------------------------------
// Filters
// ---------------------------------------------------------------------------

/// What varies between runs of the commands that touch the network (repro,
/// send, probe, listen). The offline commands (inspect, explain, pcap,
/// send --dry-run) get no filters: their output must match byte for byte.
const NET_FILTERS: &[(&str, &str)] = &[
    // An ephemeral loopback port (the kernel hands out 32768-60999, five
    // digits; four allowed too). Five characters, so tables keep their
    // widths.
    (r"127\.0\.0\.1:\d{4,5}\b", "127.0.0.1:[PRT]"),
    // Those ports in a v1 line: "PROXY TCP4 203.0.113.7 127.0.0.1 51234 PORT".
    (
        r"(PROXY TCP[46] \S+ 127\.0\.0\.1 \d+ )\d{4,5}\b",
        "${1}[PRT]",
    ),
    // listen's wall-clock time of day (no leading \b: a colour code ending
    // in `m` may come right before it).
    (r"\d{2}:\d{2}:\d{2}\.\d{3}\b", "HH:MM:SS.mmm"),
    // The HTTP Date header of nginx-style replies.
    (
        r"Date: [A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT",
        "Date: [DATE]",
    ),
    // send's round-trip time.
    (r"\d+\.\d{3} ms\b", "[DUR] ms"),
    // relay's duration of a connection.
    (r"(\d+B down, )\d+ms\b", "${1}[T]ms"),
    // repro's sender port (51234) then the receiver's, maybe wrapped.
    (r"(\b51234\s+)\d{4,5}\b", "${1}[PRT]"),
    // A v2 header in hex (repro's story): its last 4 digits are the
    // destination port, an ephemeral one.
    (r"(7f000001 [0-9a-f]{4}) [0-9a-f]{4}\b", "${1} [PR]"),
];

/// probe's last column holds a duration in ms: redact the whole cell, and
/// give the column a fixed width so a slow run (3 digits) looks the same.
const PROBE_FILTERS: &[(&str, &str)] = &[
    (r"(?m)┆[^┆\n]*│$", "┆ [MS] │"),
    (r"(?m)([┬┴┼])─+([┐┘┤])$", "${1}──────${2}"),
    (r"(?m)╪═+╡$", "╪══════╡"),
    // The same with ASCII borders (no terminal, colour off).
    (r"(?m)\|[^|\n]*\|$", "| [MS] |"),
    (r"(?m)\+[-=]+\+$", "+------+"),
];

/// Snapshot `case` at every width and colour policy, through `filters`.
fn snap_all(case: &str, filters: &[&[(&str, &str)]], mut run_one: impl FnMut(&str, u16) -> String) {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("snapshots");
    settings.set_omit_expression(true);
    for (regex, replacement) in filters.iter().copied().flatten() {
        settings.add_filter(regex, *replacement);
    }
    for color in COLORS {
        for columns in WIDTHS {
            let output = run_one(color, columns);
            let name = format!("{case}__{color}_{columns}");
            settings.bind(|| insta::assert_snapshot!(name, output));
        }
    }
}

// ---------------------------------------------------------------------------
// The snapshots
// ---------------------------------------------------------------------------

#[test]
fn inspect_outputs() {
    let cases: [(&str, &[&str]); 4] = [
        ("inspect_v1_tcp4", &["inspect", V1_TCP4]),
        ("inspect_v2_tlvs", &["inspect", "--sample", "v2"]),
        ("inspect_invalid", &["inspect", "--sample", "broken"]),
        ("inspect_not_proxy_http", &["inspect", "--sample", "http"]),
    ];
    for (case, args) in cases {
        snap_all(case, &[], |color, columns| run(color, columns, args, None));
    }
}

#[test]
fn explain_outputs() {
    snap_all("explain_three_lines", &[], |color, columns| {
        run(
            color,
            columns,
            &["explain", "-"],
            Some(LOG_LINES.as_bytes()),
        )
    });
}

#[test]
fn pcap_outputs() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/pcap/");
    for (case, file) in [
        ("pcap_every_verdict", "every-verdict.pcap"),
        ("pcap_scrambled_v2", "scrambled-v2.pcapng"),
    ] {
        let path = format!("{dir}{file}");
        snap_all(case, &[], |color, columns| {
            run(color, columns, &["pcap", &path], None)
        });
    }
}

#[test]
fn repro_outputs() {
    snap_all("repro", &[NET_FILTERS], |color, columns| {
        run(color, columns, &["repro"], None)
    });
}

#[test]
fn send_dry_run_outputs() {
    let cases: [(&str, &[&str]); 4] = [
        (
            "send_dry_v1",
            &[
                "--v1",
                "--src",
                "192.0.2.10:40000",
                "--dst",
                "198.51.100.1:443",
            ],
        ),
        (
            "send_dry_v2_tlvs",
            &[
                "--v2",
                "--src",
                "192.0.2.10:40000",
                "--dst",
                "198.51.100.1:443",
                "--alpn",
                "h2",
                "--authority",
                "example.com",
                "--crc32c",
            ],
        ),
        ("send_dry_aws_nlb_health", &["--like", "aws-nlb-health"]),
        (
            "send_dry_corrupt_crc",
            &[
                "--v2",
                "--src",
                "[2001:db8::7]:5555",
                "--dst",
                "[2001:db8::1]:443",
                "--corrupt",
                "crc",
            ],
        ),
    ];
    for (case, extra) in cases {
        let args = [&["send", "--dry-run", "127.0.0.1:9"], extra].concat();
        snap_all(case, &[], |color, columns| run(color, columns, &args, None));
    }
}

#[test]
fn send_to_listen_output() {
    let listener = Listener::start("never", 80, &["--proxy-protocol", "require"]);
    let target = listener.target();
    snap_all(
        "send_v1_to_listen_require",
        &[NET_FILTERS],
        |color, columns| {
            run(
                color,
                columns,
                &[
                    "send",
                    &target,
                    "--src",
                    "192.0.2.10:40000",
                    "--dst",
                    "198.51.100.1:443",
                ],
                None,
            )
        },
    );
}

#[test]
fn probe_output() {
    let listener = Listener::start("never", 80, &["--proxy-protocol", "require"]);
    let target = listener.target();
    snap_all(
        "probe_listen_require",
        &[NET_FILTERS, PROBE_FILTERS],
        |color, columns| run(color, columns, &["probe", &target], None),
    );
}

#[test]
fn listen_outputs() {
    let cases: [(&str, &str, &[u8]); 3] = [
        ("listen_off_v1", "off", V1_GET),
        ("listen_require_v1", "require", V1_GET),
        ("listen_auto_no_header", "auto", PLAIN_GET),
    ];
    for (case, mode, bytes) in cases {
        snap_all(case, &[NET_FILTERS], |color, columns| {
            let l = Listener::start(color, columns, &["--count", "1", "--proxy-protocol", mode]);
            converse(l.port, bytes);
            l.finish()
        });
    }
}

/// relay in front of a `listen --proxy-protocol off`: its v1 header gets
/// nginx's 400 (unexpected-header). The tap line is one line, the client
/// and the finding first; the details fit under it.
#[test]
fn relay_output() {
    snap_all("relay_v1_to_off", &[NET_FILTERS], |color, columns| {
        let upstream = Listener::start("never", 80, &["--proxy-protocol", "off"]);
        let relay = Listener::start_command(
            color,
            columns,
            &[
                "relay",
                "127.0.0.1:0",
                "--to",
                &upstream.target(),
                "--send",
                "v1",
                "--count",
                "1",
            ],
        );
        converse(relay.port, PLAIN_GET);
        relay.finish()
    });
}

/// check on the seed's configurations (tests/data/configs/seed): the read
/// files, the chain, the findings and their fixes.
#[test]
fn check_output() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/configs/seed");
    let args = std::fs::read_to_string(format!("{dir}/ARGS")).expect("the scenario's ARGS");
    let args: Vec<&str> = args.split_whitespace().collect();
    snap_all("check_seed", &[], |color, columns| {
        let mut cmd = command(color, columns, &[&["check"], args.as_slice()].concat());
        let out = cmd
            .current_dir(dir)
            .stdin(Stdio::null())
            .output()
            .expect("run ppctl check");
        render(
            out.status.code(),
            &String::from_utf8_lossy(&out.stdout),
            &String::from_utf8_lossy(&out.stderr),
        )
    });
}

// ---------------------------------------------------------------------------
// Table alignment under colour
// ---------------------------------------------------------------------------

/// Whether a line is part of a drawn table: it starts with a border
/// character (ASCII `+`/`|` or box drawing).
fn is_table_line(line: &str) -> bool {
    match line.chars().next() {
        Some('+' | '|') => true,
        Some(c) => ('\u{2500}'..='\u{257f}').contains(&c),
        None => false,
    }
}

/// Misaligned table blocks in `text`: for each, the widths seen.
fn misaligned_tables(text: &str) -> Vec<String> {
    use unicode_width::UnicodeWidthStr;
    let mut problems = Vec::new();
    let mut block: Vec<(usize, &str)> = Vec::new();
    let mut flush = |block: &mut Vec<(usize, &str)>| {
        if let Some(&(first_width, first_line)) = block.first() {
            let bad: Vec<_> = block.iter().filter(|(w, _)| *w != first_width).collect();
            if !bad.is_empty() {
                let (w, l) = bad[0];
                problems.push(format!(
                    "table starting {first_line:?} is {first_width} wide, but {} of its {} lines are not, e.g. {w}: {l:?}",
                    bad.len(),
                    block.len()
                ));
            }
        }
        block.clear();
    };
    for line in text.lines() {
        if is_table_line(line) {
            block.push((line.width(), line));
        } else {
            flush(&mut block);
        }
    }
    flush(&mut block);
    problems
}

#[test]
fn table_lines_align_with_color() {
    let every_verdict = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/pcap/every-verdict.pcap"
    );
    let scrambled = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/pcap/scrambled-v2.pcapng"
    );
    let cases: [(&str, &[&str]); 7] = [
        ("inspect v1", &["inspect", V1_TCP4]),
        ("inspect --sample v2", &["inspect", "--sample", "v2"]),
        (
            "inspect --sample broken",
            &["inspect", "--sample", "broken"],
        ),
        ("inspect --sample http", &["inspect", "--sample", "http"]),
        ("repro", &["repro"]),
        ("pcap every-verdict.pcap", &["pcap", every_verdict]),
        ("pcap scrambled-v2.pcapng", &["pcap", scrambled]),
    ];
    let mut failures = Vec::new();
    for (what, args) in cases {
        for columns in WIDTHS {
            let out = command("always", columns, args)
                .stdin(Stdio::null())
                .output()
                .expect("run ppctl");
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(
                text.contains('\u{1b}'),
                "{what}: no colour with --color always"
            );
            let plain = common::strip_ansi(&text);
            assert!(
                plain.lines().any(is_table_line),
                "{what}: no table in the output"
            );
            for problem in misaligned_tables(&plain) {
                failures.push(format!("{what} (COLUMNS={columns}): {problem}"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} misaligned table(s) with --color always:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
