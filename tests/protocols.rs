//! The recorded exchanges of tests/data/protocols, replayed against the real
//! servers (Postfix, Dovecot, MariaDB, sshd, PostgreSQL) started from the
//! configs in tests/peers/: every file's bytes, silences, endings and log
//! lines must still be what the server does (variable parts aside; see
//! tests/common/transcript.rs for the format).
//!
//! A failure prints everything the server sent (escaped as in the files)
//! and what it logged meanwhile: that is also how the files were recorded.

mod common;
#[path = "common/transcript.rs"]
mod transcript;

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::free_port;
use common::peers::{self, Peer, Server};
use transcript::{End, Step, Transcript};

/// The servers' wait for a PROXY header when the recordings were made
/// (Postfix's smtpd and postscreen, Dovecot's haproxy_timeout): their
/// `silence:` steps are shorter.
const RECORDED_PROXY_TIMEOUT: &str = "3s";

/// How long a `recv:` may take (silences are their own steps).
const RECV_TIMEOUT: Duration = Duration::from_secs(10);

/// Run every transcript of `server` against `running`, whose ports are
/// `ports`; one failure report for all that fail.
fn replay_all(server: &str, running: &Server, ports: &[(&str, u16)]) {
    let transcripts: Vec<Transcript> = transcript::all()
        .into_iter()
        .filter(|t| t.server == server)
        .collect();
    assert!(!transcripts.is_empty(), "no transcript for {server}");
    let failures: Vec<String> = transcripts
        .iter()
        .filter_map(|t| {
            let port = ports
                .iter()
                .find(|(name, _)| *name == t.port)
                .unwrap_or_else(|| panic!("{}: no port {} for {server}", t.file.display(), t.port))
                .1;
            replay(running, port, t)
                .err()
                .map(|e| format!("{}:\n{e}", t.file.display()))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} {server} transcripts no longer match:\n\n{}",
        failures.len(),
        transcripts.len(),
        failures.join("\n\n")
    );
}

/// One exchange; `Err` says which step failed, with what came instead.
fn replay(server: &Server, port: u16, t: &Transcript) -> Result<(), String> {
    let log_start = server.log().len();
    let mut conn =
        TcpStream::connect(("127.0.0.1", port)).map_err(|e| format!("connect to {port}: {e}"))?;
    let mut seen = Seen::default();
    let started = Instant::now();
    for (i, step) in t.steps.iter().enumerate() {
        let result = match step {
            Step::Send(bytes) => conn.write_all(bytes).map_err(|e| format!("send: {e}")),
            Step::Recv(pattern) => {
                let re = pattern.prefix_regex();
                let deadline = Instant::now() + RECV_TIMEOUT;
                loop {
                    if let Some(m) = re.find(&seen.pending) {
                        seen.pending.drain(..m.end());
                        break Ok(());
                    }
                    match seen.read(&mut conn, deadline) {
                        Ok(true) => continue,
                        Ok(false) => {
                            break Err(format!(
                                "connection ended before recv {:?}",
                                pattern.regex_source()
                            ))
                        }
                        Err(e) => break Err(format!("recv {:?}: {e}", pattern.regex_source())),
                    }
                }
            }
            Step::Silence(seconds) => {
                let deadline = Instant::now() + Duration::from_secs_f64(*seconds);
                if !seen.pending.is_empty() {
                    Err("bytes where silence was recorded".to_string())
                } else {
                    match seen.read(&mut conn, deadline) {
                        Err(e) if e == "timed out" => Ok(()),
                        Ok(true) => Err(format!("bytes within the {seconds} s of silence")),
                        Ok(false) => Err(format!("closed within the {seconds} s of silence")),
                        Err(e) => Err(format!("{e} within the {seconds} s of silence")),
                    }
                }
            }
            Step::End(end) => {
                let deadline = Instant::now() + RECV_TIMEOUT;
                loop {
                    if !seen.pending.is_empty() {
                        break Err(format!("bytes before the recorded end ({end:?})"));
                    }
                    match (seen.read(&mut conn, deadline), end) {
                        (Ok(true), _) => continue,
                        (Ok(false), End::Closed | End::ClosedOrReset) => break Ok(()),
                        (Err(e), End::Reset | End::ClosedOrReset) if e == "reset" => break Ok(()),
                        (Ok(false), End::Reset) => break Err("closed, not reset".into()),
                        (Err(e), _) => break Err(format!("{e}, not {end:?}")),
                    }
                }
            }
            Step::Log(pattern) => {
                let re = pattern.search_regex();
                let log = server.wait_log_until(|log| {
                    re.is_match(log.get(log_start..).unwrap_or("").as_bytes())
                });
                if re.is_match(log.get(log_start..).unwrap_or("").as_bytes()) {
                    Ok(())
                } else {
                    Err(format!("no log line matches {:?}", pattern.regex_source()))
                }
            }
        };
        if let Err(e) = result {
            let log = server.log();
            return Err(format!(
                "  step {} ({}) failed after {:.2} s: {e}\n  the server sent: {}\n  and logged:\n{}",
                i + 1,
                describe(step),
                started.elapsed().as_secs_f64(),
                transcript::escape(&seen.all),
                log.get(log_start..).unwrap_or("")
            ));
        }
    }
    Ok(())
}

/// A step as its file line says it.
fn describe(step: &Step) -> String {
    match step {
        Step::Send(bytes) => format!("send: {}", transcript::escape(bytes)),
        Step::Recv(p) => format!("recv: {}", transcript::escape(&p.sample())),
        Step::Log(p) => format!("log: {}", transcript::escape(&p.sample())),
        Step::Silence(s) => format!("silence: {s}"),
        Step::End(e) => format!("end: {e:?}"),
    }
}

/// What came in so far, and what no `recv:` has matched yet.
#[derive(Default)]
struct Seen {
    all: Vec<u8>,
    pending: Vec<u8>,
}

impl Seen {
    /// One read before `deadline`: `Ok(true)` bytes came, `Ok(false)` the
    /// server closed; `Err("timed out")`, `Err("reset")` or another error.
    fn read(&mut self, conn: &mut TcpStream, deadline: Instant) -> Result<bool, String> {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err("timed out".into());
        }
        conn.set_read_timeout(Some(left))
            .map_err(|e| e.to_string())?;
        let mut buf = [0u8; 4096];
        match conn.read(&mut buf) {
            Ok(0) => Ok(false),
            Ok(n) => {
                self.all.extend_from_slice(&buf[..n]);
                self.pending.extend_from_slice(&buf[..n]);
                Ok(true)
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                Err("timed out".into())
            }
            Err(e) if e.kind() == ErrorKind::ConnectionReset => Err("reset".into()),
            Err(e) => Err(e.to_string()),
        }
    }
}

fn ports(names: &[&'static str]) -> Vec<(&'static str, u16)> {
    names.iter().map(|n| (*n, free_port())).collect()
}

fn vars<'a>(ports: &'a [(&'static str, u16)], strings: &'a [String]) -> Vec<(&'a str, &'a str)> {
    ports
        .iter()
        .zip(strings)
        .map(|((n, _), s)| (*n, s.as_str()))
        .collect()
}

fn as_strings(ports: &[(&'static str, u16)]) -> Vec<String> {
    ports.iter().map(|(_, p)| p.to_string()).collect()
}

#[test]
fn postfix_smtpd_and_postscreen() {
    if !peers::require(Peer::Postfix) {
        return;
    }
    let ports = ports(&["SMTP_PORT", "PP_PORT", "SCREEN_PORT", "TLS_PORT"]);
    let strings = as_strings(&ports);
    let mut vars = vars(&ports, &strings);
    vars.push(("PROXY_TIMEOUT", RECORDED_PROXY_TIMEOUT));
    let server = Server::postfix(&vars);
    replay_all("postfix", &server, &ports);
}

fn dovecot(server: &str, trusted: &str) {
    if !peers::require(Peer::Dovecot) {
        return;
    }
    let ports = ports(&["IMAP_PORT", "IMAP_PP_PORT", "POP3_PORT", "POP3_PP_PORT"]);
    let strings = as_strings(&ports);
    let mut all = vars(&ports, &strings);
    all.push(("TRUSTED", trusted));
    all.push(("PROXY_TIMEOUT", RECORDED_PROXY_TIMEOUT));
    let running = Server::dovecot("mail", &all);
    replay_all(server, &running, &ports);
}

#[test]
fn dovecot_imap_and_pop3() {
    dovecot("dovecot", "127.0.0.0/8");
}

#[test]
fn dovecot_with_the_client_outside_haproxy_trusted_networks() {
    dovecot("dovecot-untrusted", "192.0.2.0/24");
}

fn mariadb(config: &str) {
    if !peers::require(Peer::Mariadb) {
        return;
    }
    let ports = ports(&["PORT"]);
    let strings = as_strings(&ports);
    let running = Server::mariadb(config, &vars(&ports, &strings));
    replay_all(&format!("mariadb-{config}"), &running, &ports);
}

#[test]
fn mariadb_without_proxy_protocol_networks() {
    mariadb("plain");
}

#[test]
fn mariadb_with_proxy_protocol_networks() {
    mariadb("proxy");
}

#[test]
fn sshd_behind_nothing() {
    if !peers::require(Peer::Sshd) {
        return;
    }
    let ports = ports(&["PORT"]);
    let strings = as_strings(&ports);
    let running = Server::sshd(&vars(&ports, &strings));
    replay_all("sshd", &running, &ports);
}

#[test]
fn postgres_without_proxy_support() {
    if !peers::require(Peer::Postgres) {
        return;
    }
    let ports = ports(&["PORT"]);
    let strings = as_strings(&ports);
    let running = Server::postgres(&vars(&ports, &strings));
    replay_all("postgres", &running, &ports);
}

#[test]
fn every_transcript_parses_and_names_a_started_server() {
    let known = [
        "postfix",
        "dovecot",
        "dovecot-untrusted",
        "mariadb-plain",
        "mariadb-proxy",
        "sshd",
        "postgres",
    ];
    let all = transcript::all();
    assert!(all.len() >= 20, "only {} transcripts", all.len());
    for t in &all {
        assert!(
            known.contains(&t.server.as_str()),
            "{}: unknown server {}",
            t.file.display(),
            t.server
        );
        let text = std::fs::read_to_string(&t.file).expect("read");
        assert!(
            text.starts_with("# "),
            "{}: starts with a header comment (server, version, config, how recorded)",
            t.file.display()
        );
    }
}
