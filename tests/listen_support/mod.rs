//! A `ppctl listen` child process for integration tests: start it, read
//! the port from its first line, talk to it, stop it, read its JSON lines.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpStream};
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

/// Bound on any single wait in these tests (not a timing assertion).
pub const BOUND: Duration = Duration::from_secs(30);

pub struct Listen {
    child: Child,
    lines: mpsc::Receiver<String>,
    pub port: u16,
    pub first: String,
}

impl Listen {
    /// `ppctl listen 127.0.0.1:0 --json <args>`.
    pub fn start(args: &[&str]) -> Listen {
        Self::start_raw(&[&["listen", "127.0.0.1:0", "--json"], args].concat())
    }

    /// `ppctl <args>` exactly; the first stdout line must carry the port.
    pub fn start_raw(args: &[&str]) -> Listen {
        let mut child = Command::new(assert_cmd::cargo::cargo_bin("ppctl"))
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn ppctl listen");
        let stdout: ChildStdout = child.stdout.take().expect("piped stdout");
        let (tx, lines) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                match line {
                    Ok(l) => {
                        if tx.send(l).is_err() {
                            break;
                        }
                    }
                    Err(_) => break,
                }
            }
        });
        let first = lines
            .recv_timeout(BOUND)
            .expect("ppctl listen prints its first line");
        let port = first
            .rsplit(|c: char| !c.is_ascii_digit())
            .find(|s| !s.is_empty())
            .and_then(|_| port_in(&first))
            .unwrap_or_else(|| panic!("no port in the first line: {first}"));
        Listen {
            child,
            lines,
            port,
            first,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.port))
    }

    /// The next output line, parsed as JSON.
    pub fn next_json(&self) -> Value {
        let line = self
            .lines
            .recv_timeout(BOUND)
            .expect("ppctl listen prints a line");
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"))
    }

    /// Send SIGTERM.
    pub fn term(&self) {
        let ok = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()
            .expect("run kill")
            .success();
        assert!(ok, "kill -TERM {}", self.pid());
    }

    /// Wait for exit (killing it past the bound) and return the exit
    /// status and every remaining line parsed as JSON.
    pub fn finish(self) -> (ExitStatus, Vec<Value>) {
        let (status, lines) = self.finish_text();
        let values = lines
            .iter()
            .map(|line| {
                serde_json::from_str::<Value>(line)
                    .unwrap_or_else(|e| panic!("not JSON ({e}): {line}"))
            })
            .collect();
        (status, values)
    }

    /// Like `finish`, with the lines as text.
    pub fn finish_text(mut self) -> (ExitStatus, Vec<String>) {
        let deadline = Instant::now() + BOUND;
        let status = loop {
            if let Some(s) = self.child.try_wait().expect("poll ppctl") {
                break s;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("ppctl listen did not exit within {BOUND:?}");
            }
            thread::sleep(Duration::from_millis(20));
        };
        let mut out = Vec::new();
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(5)) {
            out.push(line);
        }
        (status, out)
    }

    /// Records (type = connection) and the summary from `finish`'s lines.
    pub fn split(lines: &[Value]) -> (Vec<Value>, Value) {
        let records = lines
            .iter()
            .filter(|v| v["type"] == "connection")
            .cloned()
            .collect();
        let summary = lines
            .iter()
            .find(|v| v["type"] == "summary")
            .cloned()
            .expect("a summary line");
        (records, summary)
    }
}

impl Drop for Listen {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The port in a "listening" line (JSON or human).
fn port_in(line: &str) -> Option<u16> {
    if let Ok(v) = serde_json::from_str::<Value>(line) {
        return u16::try_from(v["addresses"][0]["port"].as_u64()?).ok();
    }
    let addr = line.split_whitespace().nth(2)?;
    addr.rsplit(':').next()?.parse().ok()
}

/// Connect, send, half-close when `close_write`, read to the end.
pub fn talk(port: u16, bytes: &[u8], close_write: bool) -> Vec<u8> {
    let mut s = TcpStream::connect((Ipv4Addr::LOCALHOST, port)).expect("connect to ppctl listen");
    s.set_read_timeout(Some(BOUND)).expect("read timeout");
    let _ = s.write_all(bytes);
    if close_write {
        let _ = s.shutdown(Shutdown::Write);
    }
    read_all(&mut s)
}

/// Read until EOF or reset (what arrived before a reset is returned).
pub fn read_all(s: &mut TcpStream) -> Vec<u8> {
    let mut out = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        match s.read(&mut chunk) {
            Ok(0) => return out,
            Ok(n) => out.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                panic!("no answer and no close within {BOUND:?}")
            }
            Err(_) => return out,
        }
    }
}

pub const GET: &[u8] = b"GET / HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n";
pub const GET_JSON: &[u8] = b"GET /json HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n";

/// The body of an HTTP response.
pub fn body(response: &[u8]) -> String {
    let text = String::from_utf8_lossy(response);
    text.split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default()
}

pub fn v1(src: &str, dst: &str, sport: u16, dport: u16) -> Vec<u8> {
    format!("PROXY TCP4 {src} {dst} {sport} {dport}\r\n").into_bytes()
}

/// The TLV names of a record's header.
pub fn tlv_names(record: &Value) -> Vec<String> {
    record["header"]["tlvs"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|t| t["name"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Open file descriptors of a process (its /proc/<pid>/fd entries).
pub fn fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| d.count())
        .unwrap_or(0)
}

/// The reply is listen's `whoami` answer (the connection was served).
pub fn served(reply: &[u8]) -> bool {
    String::from_utf8_lossy(reply).starts_with("HTTP/1.1 200 OK")
}
