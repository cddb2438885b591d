//! `ppctl send` and `ppctl probe` with `--protocol` against the real mail,
//! database and SSH servers (Postfix, Dovecot, MariaDB, sshd, PostgreSQL,
//! started from tests/peers/ by `common::peers::Server`), alone and behind
//! a real sender (HAProxy `mode tcp` `send-proxy`, nginx `stream`
//! `proxy_protocol on`), and `ppctl relay --protocol` in front of them
//! with a client through it: every case comes to its finding in the
//! server's own words.
//!
//! The servers wait 1 s for a header here (`PROXY_TIMEOUT`), and each
//! test runs its cases at the same time, so the slow ones (a server that
//! waits, then says 421) cost about a second of wall time each.

mod common;
mod listen_support;

use std::thread;
use std::time::Duration;

use common::peers::{self, Haproxy, Nginx, Peer, Server};
use common::{free_port, ppctl, Ports};
use serde_json::Value;

/// How long the servers here wait for a PROXY header before they give up
/// (Postfix's smtpd_upstream_proxy_timeout, Dovecot's haproxy_timeout).
const PROXY_TIMEOUT: &str = "1s";

/// `--greeting-timeout` here: longer than the servers' wait, so their
/// answer to a missing header (421, a close) is seen.
const GREETING: &str = "4s";

/// What must hold of a run's exit code and JSON document.
type Check = Box<dyn Fn(i32, &Value) -> Result<(), String> + Send + Sync>;

/// One ppctl run, as a test case: the arguments and its check.
struct Case {
    what: String,
    args: Vec<String>,
    /// Run through `ppctl relay`: the check is on the relay's record.
    relay: Option<Relay>,
    check: Check,
}

/// `ppctl relay 127.0.0.1:0 --to 127.0.0.1:UPSTREAM ARGS --json --count
/// 1`, with the case's run as its one client (`RELAY` in the client's
/// arguments is the relay's port).
struct Relay {
    upstream: u16,
    args: Vec<String>,
}

fn case(
    what: impl Into<String>,
    args: &[&str],
    check: impl Fn(i32, &Value) -> Result<(), String> + Send + Sync + 'static,
) -> Case {
    Case {
        what: what.into(),
        args: args.iter().map(|a| a.to_string()).collect(),
        relay: None,
        check: Box::new(check),
    }
}

/// A client (`client`, with `RELAY` for the relay's port) through `ppctl
/// relay --to 127.0.0.1:UPSTREAM RELAY_ARGS`; `check` is on the relay's
/// exit code and its connection record.
fn relayed(
    what: impl Into<String>,
    upstream: u16,
    relay: &[&str],
    client: &[&str],
    check: impl Fn(i32, &Value) -> Result<(), String> + Send + Sync + 'static,
) -> Case {
    let mut c = case(what, client, check);
    c.relay = Some(Relay {
        upstream,
        args: relay.iter().map(|a| a.to_string()).collect(),
    });
    c
}

/// `send 127.0.0.1:RELAY --no-header --protocol P`: a plain client of a
/// relay (its greeting wait the test's).
fn client(protocol: &str) -> Vec<String> {
    let mut args = send(0, protocol, &["--no-header"]);
    args[1] = "127.0.0.1:RELAY".into();
    args
}

/// Run the case's client through its relay: the relay's exit code and its
/// one connection record.
fn run_relayed(r: &Relay, client: &[String]) -> Result<(i32, Value), String> {
    let to = format!("127.0.0.1:{}", r.upstream);
    let mut args = vec!["relay", "127.0.0.1:0", "--to", &to];
    args.extend(r.args.iter().map(String::as_str));
    args.extend(["--json", "--count", "1"]);
    let relay = listen_support::Listen::start_raw(&args);
    let port = relay.port.to_string();
    let client: Vec<String> = client.iter().map(|a| a.replace("RELAY", &port)).collect();
    // The client's own verdict is send's (tested above); the relay's is
    // the case's.
    let _ = run(&client);
    let (status, lines) = relay.finish();
    let record = lines
        .into_iter()
        .find(|v| v["type"] == "connection")
        .ok_or("the relay wrote no connection record")?;
    Ok((status.code().unwrap_or(-1), record))
}

/// Run `ppctl ARGS --json` (bounded at 60 s): the exit code and document.
fn run(args: &[String]) -> Result<(i32, Value), String> {
    let out = ppctl()
        .args(args)
        .arg("--json")
        .timeout(Duration::from_secs(60))
        .output()
        .map_err(|e| format!("run ppctl: {e}"))?;
    let doc = serde_json::from_slice(&out.stdout).map_err(|e| {
        format!(
            "no JSON ({e}); stdout:\n{}\nstderr:\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })?;
    Ok((out.status.code().unwrap_or(-1), doc))
}

/// Run every case at once; fail with every case that did not hold.
fn run_all(cases: Vec<Case>) {
    let failures: Vec<String> = thread::scope(|s| {
        let running: Vec<_> = cases
            .iter()
            .map(|c| {
                s.spawn(move || {
                    let ran = match &c.relay {
                        Some(r) => run_relayed(r, &c.args),
                        None => run(&c.args),
                    };
                    let result = ran.and_then(|(code, doc)| {
                        (c.check)(code, &doc)
                            .map_err(|e| format!("{e}\n  exit {code}, document:\n{doc:#}"))
                    });
                    result
                        .err()
                        .map(|e| format!("{} (ppctl {}):\n  {e}", c.what, c.args.join(" ")))
                })
            })
            .collect();
        running
            .into_iter()
            .filter_map(|h| h.join().unwrap_or_else(|_| Some("a case panicked".into())))
            .collect()
    });
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n\n")
    );
}

/// `probe 127.0.0.1:PORT --protocol P` with the test's greeting wait.
fn probe(port: u16, protocol: &str, extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = [
        "probe",
        &format!("127.0.0.1:{port}"),
        "--protocol",
        protocol,
        "--greeting-timeout",
        GREETING,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

/// `send 127.0.0.1:PORT --protocol P` with the test's greeting wait.
fn send(port: u16, protocol: &str, extra: &[&str]) -> Vec<String> {
    let mut args = probe(port, protocol, extra);
    args[0] = "send".into();
    args
}

fn args(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// `doc[path]` as text (`""` when absent).
fn text<'a>(doc: &'a Value, path: &str) -> &'a str {
    doc.pointer(path).and_then(Value::as_str).unwrap_or("")
}

/// What a probe must conclude: its profile and finding.
fn profile(
    class: &'static str,
    finding: &'static str,
) -> impl Fn(i32, &Value) -> Result<(), String> {
    move |code, doc| {
        if code != 0 {
            return Err(format!("exit {code}, not 0 (a profile is a fact)"));
        }
        let (got_class, got_finding) = (text(doc, "/class"), text(doc, "/finding/name"));
        if (got_class, got_finding) != (class, finding) {
            return Err(format!(
                "profile {got_class} / {got_finding}, not {class} / {finding}"
            ));
        }
        Ok(())
    }
}

/// A send's finding and exit code, and words its protocol view must hold.
fn verdict(
    code: i32,
    finding: &'static str,
    words: &'static [&'static str],
) -> impl Fn(i32, &Value) -> Result<(), String> {
    move |got, doc| {
        let name = text(doc, "/finding/name");
        if (got, name) != (code, finding) {
            return Err(format!("{name} exit {got}, not {finding} exit {code}"));
        }
        let said = text(doc, "/protocol/words");
        for w in words {
            if !said.contains(w) {
                return Err(format!("protocol.words {said:?} lacks {w:?}"));
            }
        }
        Ok(())
    }
}

/// A check made of two.
fn both(
    a: impl Fn(i32, &Value) -> Result<(), String> + Send + Sync + 'static,
    b: impl Fn(i32, &Value) -> Result<(), String> + Send + Sync + 'static,
) -> impl Fn(i32, &Value) -> Result<(), String> + Send + Sync + 'static {
    move |code, doc| a(code, doc).and_then(|()| b(code, doc))
}

/// `doc[path]` must equal `want`.
fn is(path: &'static str, want: Value) -> impl Fn(i32, &Value) -> Result<(), String> {
    move |_, doc| match doc.pointer(path) {
        Some(v) if *v == want => Ok(()),
        other => Err(format!("{path} is {other:?}, not {want}")),
    }
}

/// The text at `path` must contain `want`.
fn has(path: &'static str, want: &'static str) -> impl Fn(i32, &Value) -> Result<(), String> {
    move |_, doc| {
        let got = text(doc, path);
        if got.contains(want) {
            Ok(())
        } else {
            Err(format!("{path} is {got:?}, without {want:?}"))
        }
    }
}

fn postfix() -> Option<(Server, Ports)> {
    if !peers::require(Peer::Postfix) {
        return None;
    }
    let ports = Ports::new(&["SMTP_PORT", "PP_PORT", "SCREEN_PORT", "TLS_PORT"]);
    let server = Server::postfix(&ports.vars(&[("PROXY_TIMEOUT", PROXY_TIMEOUT)]));
    Some((server, ports))
}

fn dovecot() -> Option<(Server, Ports)> {
    if !peers::require(Peer::Dovecot) {
        return None;
    }
    let ports = Ports::new(&["IMAP_PORT", "IMAP_PP_PORT", "POP3_PORT", "POP3_PP_PORT"]);
    let server = Server::dovecot(
        "mail",
        &ports.vars(&[("TRUSTED", "127.0.0.0/8"), ("PROXY_TIMEOUT", PROXY_TIMEOUT)]),
    );
    Some((server, ports))
}

#[test]
fn postfix_smtpd_postscreen_and_starttls() {
    let Some((server, p)) = postfix() else {
        return;
    };
    let (plain, pp, screen, tls) = (
        p.port("SMTP_PORT"),
        p.port("PP_PORT"),
        p.port("SCREEN_PORT"),
        p.port("TLS_PORT"),
    );
    let ca = server.tls_ca().to_string_lossy().into_owned();
    let refused = "500 5.5.2 Error: command not recognized";
    run_all(vec![
        case(
            "probe: Postfix without PROXY support",
            &args(&probe(plain, "smtp", &[])),
            both(
                profile("no-header", "unexpected-header"),
                both(
                    is("/attempts/1/answer/words", refused.into()),
                    is("/fixes/0/id", "postfix-upstream-proxy-protocol".into()),
                ),
            ),
        ),
        case(
            "probe: Postfix with smtpd_upstream_proxy_protocol = haproxy",
            &args(&probe(pp, "smtp", &[])),
            both(
                profile("requires-v1-or-v2", "missing-header"),
                both(
                    is(
                        "/attempts/0/answer/words",
                        "421 4.3.0 mail.ppctl.test Server local error".into(),
                    ),
                    has("/attempts/0/words", "the server waits for a PROXY header"),
                ),
            ),
        ),
        case(
            "probe: postscreen with postscreen_upstream_proxy_protocol = haproxy",
            &args(&probe(screen, "smtp", &[])),
            both(
                profile("requires-v1-or-v2", "missing-header"),
                is(
                    "/attempts/0/answer/words",
                    "421 4.3.2 No system resources".into(),
                ),
            ),
        ),
        case(
            "probe --protocol auto: the greeting says smtp",
            &args(&probe(plain, "auto", &[])),
            both(
                profile("no-header", "unexpected-header"),
                both(
                    is("/mode", "smtp".into()),
                    is("/protocol/chosen_by", "greeting".into()),
                ),
            ),
        ),
        case(
            "probe --expect accepts-v2 at the haproxy port",
            &args(&probe(pp, "smtp", &["--expect", "accepts-v2"])),
            |code, _| (code == 0).then_some(()).ok_or("exit not 0".into()),
        ),
        case(
            "probe --expect no-header at the haproxy port",
            &args(&probe(pp, "smtp", &["--expect", "no-header"])),
            |code, _| (code == 1).then_some(()).ok_or("exit not 1".into()),
        ),
        case(
            "probe --banner: the banner comes before the header",
            &["probe".into(), format!("127.0.0.1:{plain}"), "--banner".into()]
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>(),
            is("/attempts/1/finding/name", "banner-before-header".into()),
        ),
        case(
            "send: a header to Postfix without PROXY support",
            &args(&send(plain, "smtp", &[])),
            both(
                verdict(
                    1,
                    "unexpected-header",
                    &["the server greeted with `220 mail.ppctl.test ESMTP ppctl-test`, then answered `500 5.5.2 Error: command not recognized` to the header line"],
                ),
                is("/fixes/0/id", "postfix-upstream-proxy-protocol".into()),
            ),
        ),
        case(
            "send: no header to Postfix without PROXY support",
            &args(&send(plain, "smtp", &["--no-header"])),
            verdict(0, "plain", &["greeted without a header"]),
        ),
        case(
            "send: no header where Postfix waits for one",
            &args(&send(pp, "smtp", &["--no-header"])),
            both(
                verdict(
                    1,
                    "missing-header",
                    &[
                        "no banner for 1.",
                        "then `421 4.3.0 mail.ppctl.test Server local error`: the server waits for a PROXY header",
                    ],
                ),
                is("/fixes/0/id", "haproxy-tcp-send-proxy".into()),
            ),
        ),
        case(
            "send: a v2 header where Postfix waits for one",
            &args(&send(pp, "smtp", &["-2", "--src", "203.0.113.7:5000"])),
            both(
                verdict(0, "proxied", &["greeted after the header"]),
                is("/protocol/opening", "EHLO ppctl.invalid\r\n".into()),
            ),
        ),
        case(
            "send --starttls: the header, EHLO, STARTTLS, TLS, EHLO again",
            &args(&send(tls, "smtp", &["--starttls", "--cacert", &ca])),
            both(
                verdict(0, "proxied", &[]),
                both(
                    both(
                        is("/tls/result", "done".into()),
                        is("/protocol/starttls/agreed", true.into()),
                    ),
                    has("/protocol/starttls/inside", "250"),
                ),
            ),
        ),
        case(
            "send --starttls without the CA: the certificate is refused",
            &args(&send(tls, "smtp", &["--starttls"])),
            verdict(1, "certificate-rejected", &[]),
        ),
        case(
            "send --starttls where smtpd has no TLS",
            &args(&send(plain, "smtp", &["--starttls", "--no-header"])),
            both(
                verdict(0, "plain", &[]),
                is("/notes/0/kind", "starttls-refused".into()),
            ),
        ),
        relayed(
            "relay --send v1 in front of Postfix without PROXY support",
            plain,
            &["--send", "v1", "--protocol", "smtp"],
            &args(&client("smtp")),
            both(
                verdict(
                    1,
                    "unexpected-header",
                    &["the server greeted with `220 mail.ppctl.test ESMTP ppctl-test`, then answered `500 5.5.2 Error: command not recognized` to the header line"],
                ),
                both(
                    is("/protocol/reply/code", 500.into()),
                    is("/fixes/0/id", "postfix-upstream-proxy-protocol".into()),
                ),
            ),
        ),
        relayed(
            "relay --send v2 where Postfix waits for a header",
            pp,
            &["--send", "v2", "--protocol", "smtp"],
            &args(&client("smtp")),
            both(
                verdict(0, "proxied", &["greeted after the header: `220 mail.ppctl.test"]),
                both(
                    is("/protocol/command", "EHLO ppctl.invalid".into()),
                    is("/protocol/chosen_by", "option".into()),
                ),
            ),
        ),
        relayed(
            "relay --send none where Postfix waits for a header",
            pp,
            &["--send", "none", "--protocol", "smtp"],
            &args(&client("smtp")),
            both(
                verdict(
                    1,
                    "missing-header",
                    &[
                        "no banner for 1.",
                        "then `421 4.3.0 mail.ppctl.test Server local error`: the server waits for a PROXY header",
                    ],
                ),
                is("/fixes/0/id", "haproxy-tcp-send-proxy".into()),
            ),
        ),
        relayed(
            "relay --send none --protocol auto to Postfix without PROXY support",
            plain,
            &["--send", "none", "--protocol", "auto"],
            &args(&client("smtp")),
            both(
                verdict(0, "plain", &["greeted without a header"]),
                both(
                    is("/protocol/name", "smtp".into()),
                    is("/protocol/chosen_by", "greeting".into()),
                ),
            ),
        ),
    ]);
    let log = server.wait_log("connect from unknown[203.0.113.7]");
    assert!(log.contains("connect from unknown[203.0.113.7]"), "{log}");
}

#[test]
fn dovecot_imap_and_pop3_with_and_without_haproxy() {
    let Some((server, p)) = dovecot() else {
        return;
    };
    let (imap, imap_pp, pop3, pop3_pp) = (
        p.port("IMAP_PORT"),
        p.port("IMAP_PP_PORT"),
        p.port("POP3_PORT"),
        p.port("POP3_PP_PORT"),
    );
    run_all(vec![
        case(
            "probe: IMAP without haproxy",
            &args(&probe(imap, "imap", &[])),
            both(
                profile("no-header", "unexpected-header"),
                both(
                    is(
                        "/attempts/1/answer/words",
                        "PROXY BAD Error in IMAP command received by server.".into(),
                    ),
                    is("/fixes/0/id", "dovecot-haproxy".into()),
                ),
            ),
        ),
        case(
            "probe: IMAP with haproxy = yes",
            &args(&probe(imap_pp, "imap", &[])),
            both(
                profile("requires-v1-or-v2", "missing-header"),
                has(
                    "/attempts/0/words",
                    "the server closed the connection without a word: the server waits for a PROXY header",
                ),
            ),
        ),
        case(
            "probe: POP3 without haproxy",
            &args(&probe(pop3, "pop3", &[])),
            both(
                profile("no-header", "unexpected-header"),
                is("/attempts/1/answer/words", "-ERR Unknown command.".into()),
            ),
        ),
        case(
            "probe: POP3 with haproxy = yes",
            &args(&probe(pop3_pp, "pop3", &[])),
            profile("requires-v1-or-v2", "missing-header"),
        ),
        case(
            "send: a header to IMAP without haproxy",
            &args(&send(imap, "imap", &[])),
            verdict(
                1,
                "unexpected-header",
                &["then answered `PROXY BAD Error in IMAP command received by server.` to the header line"],
            ),
        ),
        case(
            "send: a header to IMAP with haproxy = yes",
            &args(&send(imap_pp, "imap", &["--src", "203.0.113.7:5000"])),
            verdict(0, "proxied", &["greeted after the header: `* OK"]),
        ),
        case(
            "send: no header to POP3 with haproxy = yes",
            &args(&send(pop3_pp, "pop3", &["--no-header"])),
            verdict(
                1,
                "missing-header",
                &["then the server closed the connection without a word: the server waits for a PROXY header"],
            ),
        ),
        case(
            "send: a header to POP3 without haproxy",
            &args(&send(pop3, "pop3", &[])),
            verdict(1, "unexpected-header", &["`-ERR Unknown command.`"]),
        ),
        relayed(
            "relay --send v1 in front of IMAP without haproxy",
            imap,
            &["--send", "v1", "--protocol", "imap"],
            &args(&client("imap")),
            both(
                verdict(
                    1,
                    "unexpected-header",
                    &["then answered `PROXY BAD Error in IMAP command received by server.` to the header line"],
                ),
                is("/fixes/0/id", "dovecot-haproxy".into()),
            ),
        ),
        relayed(
            "relay --send v2 in front of IMAP with haproxy = yes",
            imap_pp,
            &["--send", "v2", "--protocol", "imap"],
            &args(&client("imap")),
            both(
                verdict(0, "proxied", &["greeted after the header: `* OK"]),
                is("/protocol/command", "a1 CAPABILITY".into()),
            ),
        ),
        relayed(
            "relay --send none in front of IMAP with haproxy = yes",
            imap_pp,
            &["--send", "none", "--protocol", "imap"],
            &args(&client("imap")),
            both(
                verdict(
                    1,
                    "missing-header",
                    &["then the server closed the connection without a word: the server waits for a PROXY header"],
                ),
                is("/fixes/0/id", "haproxy-tcp-send-proxy".into()),
            ),
        ),
        relayed(
            "relay --send v1 in front of POP3 without haproxy",
            pop3,
            &["--send", "v1", "--protocol", "pop3"],
            &args(&client("pop3")),
            verdict(1, "unexpected-header", &["`-ERR Unknown command.`"]),
        ),
        relayed(
            "relay --send none in front of POP3 with haproxy = yes",
            pop3_pp,
            &["--send", "none", "--protocol", "pop3"],
            &args(&client("pop3")),
            verdict(1, "missing-header", &["the server waits for a PROXY header"]),
        ),
    ]);
    let log = server.wait_log("rip=203.0.113.7");
    assert!(log.contains("rip=203.0.113.7"), "{log}");
}

#[test]
fn dovecot_starttls_and_stls_after_the_header() {
    if !peers::require(Peer::Dovecot) {
        return;
    }
    let p = Ports::new(&["IMAP_PP_PORT", "POP3_PP_PORT"]);
    let server = Server::dovecot("tls", &p.vars(&[]));
    let ca = server.tls_ca().to_string_lossy().into_owned();
    let upgraded = |inside: &'static str| {
        both(
            verdict(0, "proxied", &[]),
            both(
                both(
                    is("/tls/result", "done".into()),
                    is("/protocol/starttls/agreed", true.into()),
                ),
                has("/protocol/starttls/inside", inside),
            ),
        )
    };
    run_all(vec![
        case(
            "send --starttls: IMAP",
            &args(&send(
                p.port("IMAP_PP_PORT"),
                "imap",
                &["--starttls", "--cacert", &ca],
            )),
            upgraded("CAPABILITY"),
        ),
        case(
            "send --starttls: POP3 (STLS)",
            &args(&send(
                p.port("POP3_PP_PORT"),
                "pop3",
                &["--starttls", "--cacert", &ca],
            )),
            upgraded("+OK"),
        ),
        relayed(
            "relay --send v2 in front of it, a client with --starttls through it",
            p.port("IMAP_PP_PORT"),
            &["--send", "v2", "--protocol", "imap"],
            &args(
                &[
                    client("imap"),
                    vec!["--starttls".into(), "--cacert".into(), ca.clone()],
                ]
                .concat(),
            ),
            both(
                verdict(0, "proxied", &["greeted after the header"]),
                is("/protocol/starttls", true.into()),
            ),
        ),
    ]);
}

#[test]
fn mariadb_without_proxy_protocol_networks() {
    let Some((_server, port)) = Server::mariadb_on_free_port("plain") else {
        return;
    };
    run_all(vec![
        case(
            "probe",
            &args(&probe(port, "mysql", &[])),
            both(
                profile("no-header", "unexpected-header"),
                is("/fixes/0/id", "mariadb-proxy-protocol-networks".into()),
            ),
        ),
        case(
            "send: a header",
            &args(&send(port, "mysql", &[])),
            both(
                verdict(
                    1,
                    "unexpected-header",
                    &["then answered error 1130 `Proxy header is not accepted from 127.0.0.1` to the header line"],
                ),
                has("/protocol/greeting/words", "MariaDB"),
            ),
        ),
        case(
            "send: no header",
            &args(&send(port, "mysql", &["--no-header"])),
            both(
                verdict(0, "plain", &[]),
                is("/protocol/client_ip", "127.0.0.1".into()),
            ),
        ),
        relayed(
            "relay --send v1 in front of it",
            port,
            &["--send", "v1", "--protocol", "mysql"],
            &args(&client("mysql")),
            both(
                verdict(
                    1,
                    "unexpected-header",
                    &["then answered error 1130 `Proxy header is not accepted from 127.0.0.1` to the header line"],
                ),
                both(
                    has("/protocol/greeting/words", "MariaDB"),
                    is("/fixes/0/id", "mariadb-proxy-protocol-networks".into()),
                ),
            ),
        ),
    ]);
}

#[test]
fn mariadb_with_proxy_protocol_networks_is_spoofable() {
    let Some((_server, port)) = Server::mariadb_on_free_port("proxy") else {
        return;
    };
    run_all(vec![
        case(
            "probe",
            &args(&probe(port, "mysql", &[])),
            both(
                profile("optional", "spoofable"),
                is("/fixes/0/id", "mariadb-proxy-networks-narrow".into()),
            ),
        ),
        case(
            "send: a header naming another client",
            &args(&send(port, "mysql", &["--src", "203.0.113.7:5000"])),
            both(
                verdict(0, "proxied", &["the server sees the client as 203.0.113.7"]),
                is("/protocol/client_ip", "203.0.113.7".into()),
            ),
        ),
        case(
            "send: no header, served as itself",
            &args(&send(port, "mysql", &["--no-header"])),
            both(
                verdict(0, "plain", &[]),
                is("/protocol/client_ip", "127.0.0.1".into()),
            ),
        ),
        relayed(
            "relay --send none in front of it: served as itself",
            port,
            &["--send", "none", "--protocol", "mysql"],
            &args(&client("mysql")),
            verdict(0, "plain", &["the server sees the client as 127.0.0.1"]),
        ),
        relayed(
            "relay --send v2 in front of it: the login is answered",
            port,
            &["--send", "v2", "--protocol", "mysql"],
            &args(&client("mysql")),
            both(
                verdict(0, "proxied", &["the server sees the client as 127.0.0.1"]),
                is(
                    "/protocol/command",
                    "login as 'ppctl' (using password: NO)".into(),
                ),
            ),
        ),
    ]);
}

#[test]
fn sshd_behind_nothing() {
    if !peers::require(Peer::Sshd) {
        return;
    }
    let port = free_port();
    let _server = Server::sshd(&[("PORT", &port.to_string())]);
    run_all(vec![
        case(
            "probe",
            &args(&probe(port, "ssh", &[])),
            both(
                profile("no-header", "unexpected-header"),
                is("/fixes/0/id", "server-reads-no-header".into()),
            ),
        ),
        case(
            "probe --protocol auto (port and greeting unknown to it)",
            &args(&probe(port, "auto", &[])),
            both(
                profile("no-header", "unexpected-header"),
                is("/mode", "ssh".into()),
            ),
        ),
        case(
            "send: a header",
            &args(&send(port, "ssh", &[])),
            verdict(
                1,
                "unexpected-header",
                &["then answered `Invalid SSH identification string.` to the header line"],
            ),
        ),
        case(
            "send: no header",
            &args(&send(port, "ssh", &["--no-header"])),
            verdict(0, "plain", &["greeted without a header: `SSH-2.0-OpenSSH"]),
        ),
        relayed(
            "relay --send v1 in front of it",
            port,
            &["--send", "v1", "--protocol", "auto"],
            &args(&client("ssh")),
            both(
                verdict(
                    1,
                    "unexpected-header",
                    &["then answered `Invalid SSH identification string.` to the header line"],
                ),
                both(
                    is("/protocol/chosen_by", "greeting".into()),
                    is("/fixes/0/id", "server-reads-no-header".into()),
                ),
            ),
        ),
    ]);
}

#[test]
fn postgres_without_proxy_support() {
    if !peers::require(Peer::Postgres) {
        return;
    }
    let port = free_port();
    let _server = Server::postgres(&[("PORT", &port.to_string())]);
    run_all(vec![
        case(
            "probe",
            &args(&probe(port, "postgres", &[])),
            profile("no-header", "unexpected-header"),
        ),
        case(
            "send: a header",
            &args(&send(port, "postgres", &[])),
            both(
                verdict(
                    1,
                    "header-rejected",
                    &["the server closed the connection without a word"],
                ),
                is("/fixes/0/id", "server-reads-no-header".into()),
            ),
        ),
        case(
            "send: no header",
            &args(&send(port, "postgres", &["--no-header"])),
            verdict(0, "plain", &["answered `N` without a header"]),
        ),
        relayed(
            "relay --send v1 in front of it",
            port,
            &["--send", "v1", "--protocol", "postgres"],
            &args(&client("postgres")),
            both(
                verdict(1, "header-rejected", &[]),
                both(
                    is("/protocol/command", "SSLRequest".into()),
                    is("/fixes/0/id", "server-reads-no-header".into()),
                ),
            ),
        ),
        relayed(
            "relay --send none in front of it",
            port,
            &["--send", "none", "--protocol", "postgres"],
            &args(&client("postgres")),
            verdict(0, "plain", &["answered `N` without a header"]),
        ),
    ]);
}

/// The mail analogue of the seed: a real sender (HAProxy `mode tcp`
/// `send-proxy`, nginx `stream` `proxy_protocol on`) adds a header in
/// front of Postfix and Dovecot, with and without PROXY support behind.
#[test]
fn mail_behind_haproxy_and_nginx_stream() {
    if ![Peer::Haproxy, Peer::Nginx, Peer::Postfix, Peer::Dovecot]
        .into_iter()
        .all(peers::require)
    {
        return;
    }
    let Some((postfix, pf)) = postfix() else {
        return;
    };
    let Some((dovecot, dv)) = dovecot() else {
        return;
    };
    // A port in front of `upstream`, and the config's vars.
    let front = |upstream: u16| {
        let port = free_port();
        (
            port,
            [("PORT", port), ("UPSTREAM", upstream)].map(|(k, v)| (k, v.to_string())),
        )
    };
    let start = |name: &str, vars: &[(&'static str, String); 2], haproxy: bool| {
        let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
        if haproxy {
            (Some(Haproxy::start(name, &vars)), None)
        } else {
            (None, Some(Nginx::start(name, &vars)))
        }
    };
    let (to_pp, v1) = front(pf.port("PP_PORT"));
    let (to_plain, v2) = front(pf.port("SMTP_PORT"));
    let (to_imap_pp, v3) = front(dv.port("IMAP_PP_PORT"));
    let (to_imap, v4) = front(dv.port("IMAP_PORT"));
    let _senders = [
        start("send_proxy_v1", &v1, true),
        start("send_proxy_v1", &v2, true),
        start("stream_pp", &v3, false),
        start("stream_pp", &v4, false),
    ];
    // A TCP server that never says a word: it takes connections and holds
    // them until the test ends.
    let quiet = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let silent = quiet.local_addr().expect("addr").port();
    thread::spawn(move || {
        let mut held = Vec::new();
        for conn in quiet.incoming().take(8) {
            held.extend(conn.ok());
        }
        thread::sleep(Duration::from_secs(30));
    });
    let http = free_port();
    let _web = Nginx::start("plain_http", &[("PORT", &http.to_string())]);
    run_all(vec![
        case(
            "HAProxy send-proxy -> Postfix with haproxy: a client without a header is greeted",
            &args(&send(to_pp, "smtp", &["--no-header"])),
            verdict(0, "plain", &["greeted without a header: `220 mail.ppctl.test"]),
        ),
        case(
            "HAProxy send-proxy -> Postfix with haproxy: the port reads no header of its own",
            &args(&probe(to_pp, "smtp", &[])),
            profile("no-header", "unexpected-header"),
        ),
        case(
            "HAProxy send-proxy -> Postfix without PROXY: the hop adds a header",
            &args(&send(to_plain, "smtp", &["--no-header"])),
            both(
                verdict(
                    1,
                    "hop-adds-header",
                    &["answered `500 5.5.2 Error: command not recognized` to a header line the client never sent"],
                ),
                is("/fixes/0/id", "confirm-hop-adds-header".into()),
            ),
        ),
        case(
            "HAProxy send-proxy -> Postfix without PROXY: probe",
            &args(&probe(to_plain, "smtp", &[])),
            profile("no-header", "hop-adds-header"),
        ),
        case(
            "nginx stream proxy_protocol -> Dovecot with haproxy: greeted",
            &args(&send(to_imap_pp, "imap", &["--no-header"])),
            verdict(0, "plain", &["greeted without a header: `* OK"]),
        ),
        case(
            "nginx stream proxy_protocol -> Dovecot without haproxy: the hop adds a header",
            &args(&send(to_imap, "imap", &["--no-header"])),
            verdict(
                1,
                "hop-adds-header",
                &["`PROXY BAD Error in IMAP command received by server.` to a header line the client never sent"],
            ),
        ),
        case(
            "smtp to an HTTP server: not this protocol",
            &args(&probe(http, "smtp", &["--greeting-timeout", "1s"])),
            both(
                profile("inconclusive", "inconclusive"),
                both(
                    has("/warnings/0", "not smtp: the server answered in http"),
                    is("/attempts/0/finding/name", "no-reply".into()),
                ),
            ),
        ),
        case(
            "smtp to a server that never speaks: silent, not this protocol",
            &args(&probe(silent, "smtp", &["--greeting-timeout", "1s"])),
            both(
                profile("inconclusive", "inconclusive"),
                has("/warnings/0", "silent: not a word in 1.0 s"),
            ),
        ),
    ]);
    // The header HAProxy added reached Postfix and Dovecot.
    let log = postfix.wait_log("connect from unknown[127.0.0.1]");
    assert!(log.contains("connect from unknown[127.0.0.1]"), "{log}");
    let log = dovecot.wait_log("rip=127.0.0.1");
    assert!(log.contains("rip=127.0.0.1"), "{log}");
}
