//! A `ppctl listen` or `ppctl relay` child in `--json` mode on a free
//! loopback port (its first line names the port), stopped by its own pid
//! when dropped.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// How long a server may take to stop once told to (a bound, not a timing).
const STOP: Duration = Duration::from_secs(60);

pub struct JsonServer {
    child: Child,
    lines: BufReader<ChildStdout>,
    /// The `listening` line.
    pub first: Value,
    /// `127.0.0.1:PORT`.
    pub addr: String,
}

impl JsonServer {
    /// `ppctl COMMAND 127.0.0.1:0 --json ARGS...`.
    pub fn start(command: &str, args: &[&str]) -> JsonServer {
        let mut all = vec![command, "127.0.0.1:0", "--json"];
        all.extend_from_slice(args);
        JsonServer::spawn(&all)
    }

    /// `ppctl ARGS...` (with `--json` among them), once its first line
    /// (`listening`, `serving`) is out.
    pub fn spawn(args: &[&str]) -> JsonServer {
        let mut child = Command::new(assert_cmd::cargo::cargo_bin("ppctl"))
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start ppctl");
        let mut lines = BufReader::new(child.stdout.take().expect("piped stdout"));
        let mut first = String::new();
        lines
            .read_line(&mut first)
            .expect("read the listening line");
        let first: Value =
            serde_json::from_str(&first).unwrap_or_else(|e| panic!("{e}: {first:?}"));
        let a = &first["addresses"][0];
        let addr = format!("{}:{}", a["address"].as_str().unwrap_or("?"), a["port"]);
        JsonServer {
            child,
            lines,
            first,
            addr,
        }
    }

    pub fn port(&self) -> u16 {
        self.first["addresses"][0]["port"]
            .as_u64()
            .and_then(|p| u16::try_from(p).ok())
            .expect("a port in the listening line")
    }

    /// Send `bytes` on one connection and read the answer until the close.
    pub fn client(&self, bytes: &[u8]) {
        let _ = super::exchange(self.port(), bytes);
    }

    /// SIGINT, by pid.
    pub fn interrupt(&self) {
        self.signal("-INT");
    }

    /// `kill SIGNAL` (`-INT`, `-TERM`), by pid.
    pub fn signal(&self, signal: &str) {
        let ok = Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(ok.success());
    }

    /// Wait until the server has written `n` connection lines.
    pub fn seen(&mut self, n: usize) {
        for _ in 0..n {
            let mut line = String::new();
            self.lines.read_line(&mut line).expect("read a connection");
            assert!(line.contains("\"connection\""), "{line}");
        }
    }

    /// Wait (bounded) for the exit: the code and the rest of stdout.
    pub fn wait(mut self) -> (Option<i32>, String) {
        let deadline = Instant::now() + STOP;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait for ppctl") {
                let mut rest = String::new();
                let _ = self.lines.read_to_string(&mut rest);
                return (status.code(), rest);
            }
            assert!(Instant::now() < deadline, "ppctl did not stop");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Wait for the exit: every line, the listening line first.
    pub fn all_lines(self) -> Vec<Value> {
        let first = self.first.clone();
        let (_, rest) = self.wait();
        std::iter::once(first)
            .chain(
                rest.lines()
                    .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l:?}"))),
            )
            .collect()
    }
}

impl Drop for JsonServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
