//! The faults found in the servers (issue 21), on the built binary, on
//! loopback: a stdout nobody reads, running out of descriptors, a client
//! that trickles after the header, and the upstream's silences. Every
//! loop is bounded in count; every wait has a bound that fails the test,
//! and nothing is timed.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, TcpStream};
use std::process::{Child, ChildStderr, ChildStdout, Command, Stdio};
use std::time::Duration;

use common::{exchange, free_port, HTTP_GET};
use serde_json::Value;

/// A ppctl server whose stdout the test reads only when it chooses.
struct Server {
    child: Child,
    stdout: Option<BufReader<ChildStdout>>,
    stderr: ChildStderr,
    port: u16,
}

impl Server {
    /// `ppctl ARGS... --json` on 127.0.0.1:0, once its first line is read.
    fn start(args: &[&str]) -> Server {
        let mut ppctl = Command::new(assert_cmd::cargo::cargo_bin("ppctl"));
        ppctl.args(args);
        Server::spawn(ppctl)
    }

    /// `ppctl ARGS... --json` under `ulimit -n files` (soft and hard).
    fn under_ulimit(files: u32, args: &[&str]) -> Server {
        let mut sh = Command::new("sh");
        sh.arg("-c")
            .arg(format!("ulimit -n {files} && exec \"$0\" \"$@\""))
            .arg(assert_cmd::cargo::cargo_bin("ppctl"))
            .args(args);
        Server::spawn(sh)
    }

    fn spawn(mut command: Command) -> Server {
        let mut child = command
            .args(["--json"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start ppctl");
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let stderr = child.stderr.take().expect("stderr");
        let mut first = String::new();
        stdout.read_line(&mut first).expect("the listening line");
        let v: Value = serde_json::from_str(&first).unwrap_or_else(|e| panic!("{e}: {first}"));
        let port = v["addresses"][0]["port"]
            .as_u64()
            .and_then(|p| u16::try_from(p).ok())
            .expect("a port");
        Server {
            child,
            stdout: Some(stdout),
            stderr,
            port,
        }
    }

    /// Read the server's lines as they come, on a thread of their own: all
    /// of stdout once the server has exited.
    fn read_lines(&mut self) -> std::thread::JoinHandle<String> {
        let mut out = self.stdout.take().expect("stdout");
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = out.read_to_string(&mut text);
            text
        })
    }

    /// SIGTERM until the server exits (a second signal must end it, and two
    /// sent at once may arrive as one): at most 100 signals, 200 ms apart.
    /// The exit code, the rest of stdout and stderr.
    fn terminate(mut self) -> (Option<i32>, String, String) {
        let mut status = None;
        for _ in 0..100 {
            // SAFETY: kill(2) on the pid of a child not yet waited for.
            unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
            std::thread::sleep(Duration::from_millis(200));
            if let Some(s) = self.child.try_wait().expect("wait") {
                status = Some(s);
                break;
            }
        }
        let Some(status) = status else {
            let _ = self.child.kill();
            let _ = self.child.wait();
            panic!("100 SIGTERMs did not end the server");
        };
        let mut rest = String::new();
        if let Some(out) = self.stdout.as_mut() {
            let _ = out.read_to_string(&mut rest);
        }
        let mut err = String::new();
        let _ = self.stderr.read_to_string(&mut err);
        (status.code(), rest, err)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The N of "N lines were not written" on stderr.
fn unwritten(stderr: &str) -> u64 {
    let at = stderr
        .find(" lines were not written")
        .unwrap_or_else(|| panic!("no count of lines not written: {stderr}"));
    stderr[..at]
        .rsplit(|c: char| !c.is_ascii_digit())
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no number before the count: {stderr}"))
}

/// Connections past the writer's backlog (1024 records, plus what the
/// write buffer and the pipe hold).
const PAST_BACKLOG: usize = 2000;

/// A stdout nobody reads never stops a server: every client is served,
/// two SIGTERMs end it, and every line reached the reader or is counted
/// as not written (exit 2).
fn keeps_serving_with_stdout_unread(server: Server, answer: &[u8]) {
    for i in 0..PAST_BACKLOG {
        let reply = exchange(server.port, HTTP_GET);
        assert!(
            reply.starts_with(answer),
            "connection {i}: {:?}",
            String::from_utf8_lossy(&reply[..reply.len().min(80)])
        );
    }
    let (code, rest, err) = server.terminate();
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("nobody read"), "{err}");
    // The listening line was read; each of the connections' lines and the
    // summary's either came whole or is counted, once: a line cut short
    // is counted, the lines the reader got whole are not.
    let read = rest
        .split_inclusive('\n')
        .filter(|l| l.ends_with("}\n"))
        .count() as u64;
    let counted = unwritten(&err);
    assert!(counted > 0, "{err}");
    assert_eq!(
        read + counted,
        PAST_BACKLOG as u64 + 1,
        "{read} lines read and {counted} counted for {PAST_BACKLOG} connections and a summary"
    );
}

#[test]
fn listen_keeps_serving_when_nobody_reads_its_stdout() {
    let server = Server::start(&["listen", "127.0.0.1:0"]);
    keeps_serving_with_stdout_unread(server, b"HTTP/1.1 200 OK");
}

/// A `ppctl listen --proxy-protocol require` upstream whose lines are read
/// and thrown away; stopped by its pid when dropped.
struct Upstream {
    child: Child,
    drain: Option<std::thread::JoinHandle<()>>,
    addr: String,
}

impl Upstream {
    fn start() -> Upstream {
        let mut child = Command::new(assert_cmd::cargo::cargo_bin("ppctl"))
            .args([
                "listen",
                "127.0.0.1:0",
                "--json",
                "--proxy-protocol",
                "require",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the upstream");
        let mut first = String::new();
        let mut out = BufReader::new(child.stdout.take().expect("stdout"));
        out.read_line(&mut first).expect("the upstream's line");
        let v: Value = serde_json::from_str(&first).expect("json");
        let addr = format!("127.0.0.1:{}", v["addresses"][0]["port"]);
        let drain = std::thread::spawn(move || {
            let _ = std::io::copy(&mut out, &mut std::io::sink());
        });
        Upstream {
            child,
            drain: Some(drain),
            addr,
        }
    }
}

impl Upstream {
    /// `relay 127.0.0.1:0 --to UPSTREAM --send v1`.
    fn relay(&self) -> [&str; 6] {
        ["relay", "127.0.0.1:0", "--to", &self.addr, "--send", "v1"]
    }
}

impl Drop for Upstream {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(d) = self.drain.take() {
            let _ = d.join();
        }
    }
}

#[test]
fn relay_keeps_serving_when_nobody_reads_its_stdout() {
    let upstream = Upstream::start();
    let server = Server::start(&upstream.relay());
    keeps_serving_with_stdout_unread(server, b"HTTP/1.1 200 OK");
}

/// The same with `--threads 2`: the lines of both threads' connections
/// are written or counted, and two signals end it.
#[test]
fn relay_on_two_threads_keeps_serving_when_nobody_reads_its_stdout() {
    let upstream = Upstream::start();
    let args = [&upstream.relay()[..], &["--threads", "2"]].concat();
    let server = Server::start(&args);
    keeps_serving_with_stdout_unread(server, b"HTTP/1.1 200 OK");
}

/// Under `ulimit -n 64`, many clients at once: `--max-conns` is lowered to
/// what fits (`per` descriptors a connection) and said on stderr; every
/// client is served (the rest wait in the backlog), none is blamed on the
/// upstream or refused. The summary's findings.
fn fits_its_connections_under_the_descriptor_limit(mut server: Server, per: u32) -> Value {
    let port = server.port;
    // The server's lines are read as they come.
    let reader = server.read_lines();
    let clients: Vec<_> = (0..40)
        .map(|_| {
            std::thread::spawn(move || {
                (0..10)
                    .filter(|_| exchange(port, HTTP_GET).starts_with(b"HTTP/1.1 200 OK"))
                    .count()
            })
        })
        .collect();
    let served: usize = clients.into_iter().map(|c| c.join().unwrap_or(0)).sum();
    let (code, _, err) = server.terminate();
    let text = reader.join().unwrap_or_default();
    assert!(err.contains("--max-conns 4096 lowered to"), "{err}");
    assert_eq!(err.contains("each connection holds 2"), per == 2, "{err}");
    assert_eq!(served, 400, "{err}");
    let summary: Value = text
        .lines()
        .last()
        .and_then(|l| serde_json::from_str(l).ok())
        .unwrap_or_else(|| panic!("no summary: {err}"));
    assert_eq!(summary["connections"], 400, "{summary}");
    assert_eq!(
        summary["accept_failures"],
        serde_json::json!({}),
        "{summary}"
    );
    assert_eq!(code, Some(0), "{err}");
    summary["findings"].clone()
}

/// The same with `--threads 3`: the connections of every thread count
/// against the one `--max-conns`.
#[test]
fn relay_on_three_threads_fits_its_connections_under_the_descriptor_limit() {
    let upstream = Upstream::start();
    let args = [&upstream.relay()[..], &["--threads", "3"]].concat();
    let server = Server::under_ulimit(64, &args);
    let findings = fits_its_connections_under_the_descriptor_limit(server, 2);
    assert_eq!(findings["proxied"], 400, "{findings}");
}

#[test]
fn relay_fits_its_connections_under_the_descriptor_limit() {
    let upstream = Upstream::start();
    let server = Server::under_ulimit(64, &upstream.relay());
    let findings = fits_its_connections_under_the_descriptor_limit(server, 2);
    assert_eq!(findings["proxied"], 400, "{findings}");
}

#[test]
fn listen_fits_its_connections_under_the_descriptor_limit() {
    let server = Server::under_ulimit(64, &["listen", "127.0.0.1:0"]);
    let findings = fits_its_connections_under_the_descriptor_limit(server, 1);
    assert_eq!(findings["plain"], 400, "{findings}");
}

/// The JSON lines of a server's stdout: its connections and its summary.
fn records(text: &str) -> (Vec<Value>, Value) {
    let all: Vec<Value> = text
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let summary = all
        .iter()
        .find(|v| v["type"] == "summary")
        .cloned()
        .unwrap_or_else(|| panic!("no summary: {text}"));
    let conns = all
        .into_iter()
        .filter(|v| v["type"] == "connection")
        .collect();
    (conns, summary)
}

/// Slowloris after the header: `--max-conns 5` held by 5 clients that
/// trickle their first request a byte at a time, without ever finishing
/// it. Each is cut at `--request-timeout` (one deadline: a byte does not
/// restart it), and a normal client that came after them is served.
#[test]
fn relay_cuts_clients_that_trickle_their_first_request() {
    const SLOW: usize = 5;
    let upstream = Upstream::start();
    let mut args = upstream.relay().to_vec();
    args.extend(["--max-conns", "5", "--request-timeout", "1s"]);
    let mut server = Server::start(&args);
    let port = server.port;
    let reader = server.read_lines();
    let slow: Vec<_> = (0..SLOW)
        .map(|_| {
            let mut s = TcpStream::connect((Ipv4Addr::LOCALHOST, port)).expect("connect");
            s.write_all(b"GET / HTTP/1.1\r\nX-Slow: ")
                .expect("the first bytes");
            std::thread::spawn(move || {
                // A header value that never ends, a byte every 200 ms, for
                // at most 100 bytes: the relay cuts it long before.
                (0..100)
                    .take_while(|_| {
                        std::thread::sleep(Duration::from_millis(200));
                        s.write_all(b"a").is_ok()
                    })
                    .count()
            })
        })
        .collect();
    let reply = exchange(port, HTTP_GET);
    assert!(
        reply.starts_with(b"HTTP/1.1 200 OK"),
        "{:?}",
        String::from_utf8_lossy(&reply)
    );
    for s in slow {
        assert!(s.join().unwrap_or(100) < 100, "a slow client was never cut");
    }
    let (code, _, err) = server.terminate();
    let (conns, summary) = records(&reader.join().unwrap_or_default());
    assert_eq!(conns.len(), SLOW + 1, "{err}");
    let cut: Vec<&Value> = conns
        .iter()
        .filter(|c| {
            c["error"].as_str().is_some_and(|e| {
                e.contains("no complete first request within --request-timeout 1s")
            })
        })
        .collect();
    assert_eq!(cut.len(), SLOW, "{conns:?}");
    assert!(cut.iter().all(|c| c["ending"] == "timed-out"), "{cut:?}");
    let served: Vec<&Value> = conns
        .iter()
        .filter(|c| c["status"] == "HTTP/1.1 200 OK")
        .collect();
    assert_eq!(served.len(), 1, "{conns:?}");
    assert_eq!(served[0]["finding"]["name"], "proxied");
    assert_eq!(summary["connections"], 6, "{summary}");
    assert_eq!(code, Some(0), "{err}");
}

/// The soft and hard descriptor limits of process `pid`; with `set`,
/// replaced by it first (prlimit(2)).
fn descriptor_limit(pid: u32, set: Option<libc::rlimit>) -> libc::rlimit {
    let mut old = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    let new = set.as_ref().map_or(std::ptr::null(), |l| l as *const _);
    // SAFETY: prlimit(2) on a child of this process; `old` is ours to
    // write, `new` null or a live rlimit.
    let rc = unsafe { libc::prlimit(pid as libc::pid_t, libc::RLIMIT_NOFILE, new, &mut old) };
    assert_eq!(rc, 0, "prlimit: {}", std::io::Error::last_os_error());
    old
}

/// The lowest descriptor number process `pid` has free: the next one it
/// would get.
fn lowest_free_descriptor(pid: u32) -> u64 {
    let open: Vec<u64> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .expect("the child's descriptors")
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    (0..).find(|n| !open.contains(n)).unwrap_or(0)
}

/// accept() with no descriptor left (the server's limit lowered under it
/// while it runs, in a child process): the client waits in the backlog,
/// each failed accept is counted (not a spin: one try per back-off), the
/// summary reports them as local-limit (exit 1), `--metrics` counts them
/// too, and once descriptors are back the client is served: none lost.
#[test]
fn listen_counts_accepts_that_ran_out_of_descriptors() {
    let metrics = free_port();
    let mut server = Server::start(&[
        "listen",
        "127.0.0.1:0",
        "--metrics",
        &format!("127.0.0.1:{metrics}"),
    ]);
    let (pid, port) = (server.child.id(), server.port);
    let reader = server.read_lines();
    let normal = descriptor_limit(pid, None);
    let full = libc::rlimit {
        rlim_cur: lowest_free_descriptor(pid),
        rlim_max: normal.rlim_max,
    };
    descriptor_limit(pid, Some(full));
    let client = std::thread::spawn(move || exchange(port, HTTP_GET));
    // The client is in the backlog, and the server's accepts fail: give
    // them a few back-offs (a pause, not a measure).
    std::thread::sleep(Duration::from_millis(500));
    descriptor_limit(pid, Some(normal));
    let reply = client.join().expect("the client");
    assert!(
        reply.starts_with(b"HTTP/1.1 200 OK"),
        "{:?}",
        String::from_utf8_lossy(&reply)
    );
    let scrape = String::from_utf8_lossy(&exchange(
        metrics,
        b"GET /metrics HTTP/1.1\r\nHost: ppctl\r\nConnection: close\r\n\r\n",
    ))
    .into_owned();
    let refused: u64 = scrape
        .lines()
        .find_map(|l| l.strip_prefix("ppctl_server_accepts_refused_total "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0);
    assert!(refused >= 1, "{scrape}");
    let (code, _, err) = server.terminate();
    let (conns, summary) = records(&reader.join().unwrap_or_default());
    assert_eq!(conns.len(), 1, "{err}");
    let failed = summary["accept_failures"]["local-limit"]
        .as_u64()
        .unwrap_or(0);
    assert!(failed >= 1, "{summary}");
    assert_eq!(code, Some(1), "{err}");
}

/// The open descriptors of process `pid`.
fn open_descriptors(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .expect("the child's descriptors")
        .count()
}

/// relay out of descriptors for the connection upstream (its limit
/// lowered under it while it runs, to room for the accepted client
/// alone): the connection is local-limit, this host's limit, never blamed
/// on the upstream (unreachable); the client is closed, and once
/// descriptors are back the next client is served.
#[test]
fn relay_out_of_descriptors_for_the_upstream_is_local_limit() {
    let upstream = Upstream::start();
    let mut server = Server::start(&upstream.relay());
    let (pid, port) = (server.child.id(), server.port);
    let reader = server.read_lines();
    let before = open_descriptors(pid);
    let warm = exchange(port, HTTP_GET);
    assert!(warm.starts_with(b"HTTP/1.1 200 OK"), "{warm:?}");
    // The warm-up's sockets closed (a bound, not a measure: a descriptor
    // the runtime keeps from now on only moves the limit below).
    for _ in 0..100 {
        if open_descriptors(pid) <= before {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let normal = descriptor_limit(pid, None);
    let room_for_the_client = libc::rlimit {
        rlim_cur: lowest_free_descriptor(pid) + 1,
        rlim_max: normal.rlim_max,
    };
    descriptor_limit(pid, Some(room_for_the_client));
    let refused = exchange(port, HTTP_GET);
    descriptor_limit(pid, Some(normal));
    assert_eq!(refused, b"", "closed, no made-up answer");
    let served = exchange(port, HTTP_GET);
    assert!(served.starts_with(b"HTTP/1.1 200 OK"), "{served:?}");
    let (code, _, err) = server.terminate();
    let (conns, summary) = records(&reader.join().unwrap_or_default());
    assert_eq!(conns.len(), 3, "{err}");
    let limited: Vec<&Value> = conns
        .iter()
        .filter(|c| c["finding"]["name"] == "local-limit")
        .collect();
    assert_eq!(limited.len(), 1, "{conns:?}");
    assert_eq!(limited[0]["ending"], "local-limit", "{}", limited[0]);
    assert!(
        limited[0]["error"]
            .as_str()
            .is_some_and(|e| e.contains("no file descriptor on this host")),
        "{}",
        limited[0]
    );
    assert_eq!(summary["findings"]["proxied"], 2, "{summary}");
    assert_eq!(summary["findings"]["local-limit"], 1, "{summary}");
    assert!(
        summary["findings"].get("unreachable").is_none(),
        "{summary}"
    );
    assert_eq!(code, Some(1), "{err}");
}
