//! Shared helpers for the integration tests: the built binary, free loopback
//! ports, and (in [`peers`]) real nginx/HAProxy instances run from the
//! configs in `tests/peers/`.
//!
//! Each `tests/*.rs` file compiles this module on its own and uses only part
//! of it, hence the `dead_code` allowance.
#![allow(dead_code)]

pub mod pcap_check;
pub mod peers;
pub mod server;

use std::collections::BTreeSet;
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::Path;
use std::sync::Mutex;
use std::thread;
use std::time::{Duration, Instant};

/// The `ppctl` binary built by cargo for this test run.
pub fn ppctl() -> assert_cmd::Command {
    assert_cmd::Command::cargo_bin("ppctl")
        .expect("cargo builds the ppctl binary for integration tests")
}

/// Run `ppctl send ARGS --json --timeout 3s` (bounded at 30 s): its exit
/// code and its JSON document (a test fails, with both outputs, when the
/// document is not JSON).
pub fn send_json(args: &[&str]) -> (i32, serde_json::Value) {
    let out = ppctl()
        .arg("send")
        .args(args)
        .args(["--json", "--timeout", "3s"])
        .timeout(Duration::from_secs(30))
        .output()
        .expect("run ppctl send");
    let doc = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "send printed no JSON ({e}); stdout:\n{}\nstderr:\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap_or(-1), doc)
}

/// Certificates made for a test (rcgen, ECDSA P-256), written as PEM files
/// in `dir` (kept as long as this value): a CA, and a leaf for
/// app.example.com, localhost and 127.0.0.1 signed by it.
pub struct Certificates {
    pub dir: tempfile::TempDir,
    /// The CA certificate (for `--cacert`).
    pub ca: String,
    /// The leaf certificate and its key (nginx `ssl_certificate`,
    /// `ssl_certificate_key`; `ppctl listen --cert --key`).
    pub cert: String,
    pub key: String,
    /// The leaf certificate and its key in one file (HAProxy `crt`).
    pub pem: String,
}

/// Make a CA and a leaf signed by it: see [`Certificates`].
pub fn certificates() -> Certificates {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
    let alg = &rcgen::PKCS_ECDSA_P256_SHA256;
    let ca_key = KeyPair::generate_for(alg).expect("CA key");
    let mut ca = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "ppctl test CA");
    let ca_cert = ca.self_signed(&ca_key).expect("CA certificate");
    let key = KeyPair::generate_for(alg).expect("key");
    let names = ["app.example.com", "localhost", "127.0.0.1"].map(str::to_string);
    let mut leaf = CertificateParams::new(names.to_vec()).expect("leaf params");
    leaf.distinguished_name
        .push(DnType::CommonName, "app.example.com");
    let cert = leaf
        .signed_by(&key, &ca_cert, &ca_key)
        .expect("leaf certificate");
    let dir = tempfile::tempdir().expect("temp dir");
    let write = |name: &str, text: String| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).expect("write PEM");
        p.to_string_lossy().into_owned()
    };
    let ca = write("ca.pem", ca_cert.pem());
    let pem = write("both.pem", cert.pem() + &key.serialize_pem());
    let cert = write("cert.pem", cert.pem());
    let key = write("key.pem", key.serialize_pem());
    Certificates {
        dir,
        ca,
        cert,
        key,
        pem,
    }
}

/// nginx with the three 443-style listeners of
/// tests/peers/nginx/send_tls.conf, on free loopback ports, with
/// certificates made for the test (send_tls, repro, relay and pcap_live use
/// it). `None` (a loud skip, or a failure with PPCTL_REQUIRE_PEERS=1) when
/// nginx is missing.
pub struct TlsIngress {
    pub nginx: peers::Nginx,
    /// `listen … ssl proxy_protocol`: the ingress case.
    pub pp_ssl: u16,
    /// `listen … ssl`, without proxy_protocol.
    pub ssl: u16,
    /// `listen … proxy_protocol`, without ssl.
    pub pp_plain: u16,
    pub certs: Certificates,
}

impl TlsIngress {
    pub fn start() -> Option<TlsIngress> {
        if !peers::require(peers::Peer::Nginx) {
            return None;
        }
        let certs = certificates();
        let (pp_ssl, ssl, pp_plain) = (free_port(), free_port(), free_port());
        let nginx = peers::Nginx::start(
            "send_tls",
            &[
                ("PORT", &pp_ssl.to_string()),
                ("SSL_PORT", &ssl.to_string()),
                ("HTTP_PORT", &pp_plain.to_string()),
                ("CERT", &certs.cert),
                ("KEY", &certs.key),
            ],
        );
        Some(TlsIngress {
            nginx,
            pp_ssl,
            ssl,
            pp_plain,
            certs,
        })
    }
}

/// A loopback TCP port that was free a moment ago, and that no other call in
/// this test process has handed out: bind port 0, read what the kernel chose,
/// and release it. The kernel can choose a port it just released again (CI
/// once gave Dovecot's IMAP and POP3 listeners the same one), so each port is
/// remembered and a repeat is held bound while the next is asked for. Another
/// process could still take the port in between; with the kernel's port
/// rotation that is rare enough for tests.
pub fn free_port() -> u16 {
    static HANDED_OUT: Mutex<BTreeSet<u16>> = Mutex::new(BTreeSet::new());
    let mut handed_out = HANDED_OUT.lock().unwrap_or_else(|e| e.into_inner());
    // Repeats stay bound until a new port is found, so the kernel can't
    // offer them again in this loop.
    let mut repeats = Vec::new();
    loop {
        let listener =
            TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind 127.0.0.1:0 for a free port");
        let port = listener
            .local_addr()
            .expect("local address of a bound socket")
            .port();
        if handed_out.insert(port) {
            return port;
        }
        assert!(
            repeats.len() < 1000,
            "no new free loopback port after 1000 tries"
        );
        repeats.push(listener);
    }
}

/// Free loopback ports by name, for a server's config (`{{NAME}}`), all
/// different (see [`free_port`]).
pub struct Ports(Vec<(&'static str, String)>);

impl Ports {
    pub fn new(names: &[&'static str]) -> Ports {
        Ports(
            names
                .iter()
                .map(|n| (*n, free_port().to_string()))
                .collect(),
        )
    }

    pub fn port(&self, name: &str) -> u16 {
        self.0
            .iter()
            .find(|(n, _)| *n == name)
            .and_then(|(_, p)| p.parse().ok())
            .unwrap_or_else(|| panic!("no port {name}"))
    }

    /// The ports as a config's vars, then `more`.
    pub fn vars<'a>(&'a self, more: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
        let mut v: Vec<(&str, &str)> = self.0.iter().map(|(n, p)| (*n, p.as_str())).collect();
        v.extend_from_slice(more);
        v
    }
}

/// Wait until something listens on 127.0.0.1:`port` (or any address on that
/// port), for at most `timeout`. Returns whether it came up.
///
/// On Linux this reads the kernel's socket tables instead of connecting, so a
/// peer that requires a PROXY header does not log a probe connection as an
/// error (which would pollute the logs the tests assert on).
pub fn wait_for_port(port: u16, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if is_listening(port) {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        thread::sleep(Duration::from_millis(20));
    }
}

/// Whether a TCP socket listens on `port`.
pub fn is_listening(port: u16) -> bool {
    match listening_in_proc(port) {
        Some(found) => found,
        // No /proc (not Linux): fall back to a probe connection.
        None => TcpStream::connect_timeout(
            &(Ipv4Addr::LOCALHOST, port).into(),
            Duration::from_millis(200),
        )
        .is_ok(),
    }
}

/// Look `port` up in /proc/net/tcp{,6} in state 0A (LISTEN). `None` when the
/// tables can't be read.
fn listening_in_proc(port: u16) -> Option<bool> {
    let mut readable = false;
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(Path::new(table)) else {
            continue;
        };
        readable = true;
        let wanted = format!(":{port:04X}");
        // Lines: "sl local_address rem_address st ...", e.g. "0: 0100007F:1F90 00000000:0000 0A ...".
        let found = text.lines().skip(1).any(|line| {
            let mut cols = line.split_whitespace();
            let local = cols.nth(1).unwrap_or("");
            let state = cols.nth(1).unwrap_or("");
            local.ends_with(&wanted) && state == "0A"
        });
        if found {
            return Some(true);
        }
    }
    readable.then_some(false)
}

/// A minimal HTTP/1.1 request that asks the server to close afterwards.
pub const HTTP_GET: &[u8] =
    b"GET / HTTP/1.1\r\nHost: ppctl.test\r\nUser-Agent: ppctl-tests\r\nConnection: close\r\n\r\n";

/// How long a test client waits for a peer's answer before giving up (a bound
/// against hangs, not a timing assertion).
pub const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// Connect to 127.0.0.1:`port`, send `bytes`, and return everything the peer
/// sends back until it closes. A reset counts as a close: what arrived before
/// it is returned.
pub fn exchange(port: u16, bytes: &[u8]) -> Vec<u8> {
    converse(port, bytes, false)
}

/// Like [`exchange`], but shut down our sending side after `bytes` (a client
/// that sends a little, or nothing, and hangs up).
pub fn send_and_close(port: u16, bytes: &[u8]) -> Vec<u8> {
    converse(port, bytes, true)
}

fn converse(port: u16, bytes: &[u8], half_close: bool) -> Vec<u8> {
    use std::io::{ErrorKind, Read, Write};
    let mut stream = TcpStream::connect((Ipv4Addr::LOCALHOST, port)).expect("connect to the peer");
    stream
        .set_read_timeout(Some(IO_TIMEOUT))
        .expect("set a read timeout");
    // The peer may close before reading everything (that is what some tests
    // provoke), so failed writes are not errors here.
    let _ = stream.write_all(bytes);
    if half_close {
        let _ = stream.shutdown(std::net::Shutdown::Write);
    }
    let mut answer = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        match stream.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => answer.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                panic!("127.0.0.1:{port} neither answered nor closed within {IO_TIMEOUT:?}")
            }
            Err(_) => break,
        }
    }
    answer
}

/// The first line of an HTTP response, without its CRLF.
pub fn status_line(response: &[u8]) -> String {
    let text = String::from_utf8_lossy(response);
    text.lines().next().unwrap_or("").to_string()
}

/// A plain loopback listener standing in for an upstream behind a peer
/// (nginx `proxy_protocol on`, HAProxy `send-proxy`): it captures the first
/// bytes of the first connection.
pub struct Upstream {
    listener: TcpListener,
}

impl Upstream {
    pub fn bind() -> Upstream {
        let listener =
            TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind an upstream on 127.0.0.1:0");
        Upstream { listener }
    }

    pub fn port(&self) -> u16 {
        self.listener
            .local_addr()
            .expect("local address of a bound socket")
            .port()
    }

    /// Accept one connection (waiting at most [`IO_TIMEOUT`]) and read until
    /// the bytes hold a complete PROXY header followed by at least
    /// `payload_len` bytes, something that is no header, or the peer closes.
    /// Returns the bytes and the open connection (to answer on it or hold it).
    pub fn capture(&self, payload_len: usize) -> (Vec<u8>, TcpStream) {
        use ppctl::codec::{decode, Decoded};
        use std::io::{ErrorKind, Read};
        let deadline = Instant::now() + IO_TIMEOUT;
        self.listener
            .set_nonblocking(true)
            .expect("make the upstream listener non-blocking");
        let mut stream = loop {
            match self.listener.accept() {
                Ok((stream, _)) => break stream,
                Err(e) if e.kind() == ErrorKind::WouldBlock && Instant::now() < deadline => {
                    thread::sleep(Duration::from_millis(10))
                }
                Err(e) => panic!(
                    "no connection to the upstream on port {} within {IO_TIMEOUT:?}: {e}",
                    self.port()
                ),
            }
        };
        stream
            .set_nonblocking(false)
            .expect("make the upstream connection blocking");
        stream
            .set_read_timeout(Some(IO_TIMEOUT))
            .expect("set a read timeout");
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            let enough = match decode(&buf) {
                Decoded::Complete(h) => buf.len() >= h.len() + payload_len,
                Decoded::Incomplete { .. } => false,
                Decoded::Invalid(_) | Decoded::NotProxy(_) => true,
            };
            if enough {
                return (buf, stream);
            }
            match stream.read(&mut chunk) {
                Ok(0) => return (buf, stream),
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => panic!(
                    "reading from the peer on the upstream side ({} bytes so far): {e}",
                    buf.len()
                ),
            }
        }
    }
}

/// `ppctl ARGS` (stdin empty, stdout and stderr piped), sent SIGINT (the
/// user's Ctrl-C) once `under_way` has returned (the test sees the run has
/// started, so it is past catching the signal); its output. Every wait is
/// bounded: past 60 s the child is killed and the test fails.
pub fn interrupted(args: &[&str], under_way: impl FnOnce()) -> std::process::Output {
    let child = std::process::Command::new(assert_cmd::cargo::cargo_bin("ppctl"))
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn ppctl");
    let pid = child.id() as libc::pid_t;
    let (tx, rx) = std::sync::mpsc::channel();
    thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    let kill = |signal| {
        // SAFETY: kill(2) on the pid of a child this test spawned and has
        // not waited for yet (the waiting thread has not returned).
        unsafe { libc::kill(pid, signal) }
    };
    under_way();
    assert_eq!(kill(libc::SIGINT), 0, "kill -INT {pid}");
    match rx.recv_timeout(Duration::from_secs(60)) {
        Ok(out) => out.expect("wait for ppctl"),
        Err(_) => {
            kill(libc::SIGKILL);
            panic!("ppctl {args:?} did not stop within 60 s of Ctrl-C");
        }
    }
}

/// `text` without ANSI CSI sequences (`ESC [ ... final byte`), written raw
/// or as the insta snapshots show ESC (`␛`).
pub fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if (c == '\u{1b}' || c == '␛') && chars.peek() == Some(&'[') {
            chars.next();
            for c in chars.by_ref() {
                if ('\u{40}'..='\u{7e}').contains(&c) {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}
