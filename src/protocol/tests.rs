//! The protocol readers and [`judge`] on the bytes recorded from real
//! servers (tests/data/protocols, through the one transcript parser), and
//! on a few hand-written replies where no server was recorded (Redis, HTTP,
//! TLS).

use super::transcript::{self, End, Step, Transcript};
use super::*;
use crate::codec::{decode, Command, Decoded};

/// What the client of a transcript saw, as [`Seen`] takes it: the first
/// send decides `sent`; replies before the opening are `before`, replies
/// to it `after`, up to the polite closing (QUIT, LOGOUT), whose answer is
/// not judged.
struct Replayed {
    sent: Sent,
    /// The client spoke HTTP (or TLS), not the protocol.
    foreign: bool,
    before: Vec<u8>,
    after: Option<Vec<u8>>,
    ending: Ending,
}

fn replay(t: &Transcript, protocol: Protocol) -> Replayed {
    let Opening::Bytes(opening) = protocol.opening() else {
        panic!(
            "{}: {} has no byte opening",
            t.file.display(),
            protocol.name()
        );
    };
    let closing = protocol.closing();
    let mut r = Replayed {
        sent: Sent::Nothing,
        foreign: false,
        before: Vec::new(),
        after: None,
        ending: Ending::TimedOut,
    };
    let mut first_send = true;
    let mut closed_politely = false;
    for step in &t.steps {
        match step {
            Step::Send(bytes) => {
                if first_send {
                    r.sent = sent(bytes);
                    first_send = false;
                }
                r.foreign |= memchr::memmem::find(bytes, b"HTTP/1.").is_some();
                if Some(bytes.as_slice()) == closing {
                    closed_politely = true;
                } else if bytes.ends_with(opening) {
                    assert!(r.after.is_none(), "{}: the opening twice", t.file.display());
                    // A client-first opening sent with the header is part
                    // of the first write: all the answer is `before`.
                    if bytes.len() == opening.len() || protocol.server_speaks_first() {
                        r.after = Some(Vec::new());
                    }
                }
            }
            Step::Recv(pattern) if !closed_politely => {
                let into = r.after.as_mut().unwrap_or(&mut r.before);
                into.extend(pattern.sample());
            }
            Step::End(end) if !closed_politely => {
                r.ending = match end {
                    End::Reset => Ending::ServerReset,
                    End::Closed | End::ClosedOrReset => Ending::ServerClosed,
                }
            }
            _ => {}
        }
    }
    if closed_politely {
        r.ending = Ending::ClientClosed;
    }
    r
}

fn sent(first: &[u8]) -> Sent {
    match decode(first) {
        Decoded::Complete(h) if h.command == Command::Local => Sent::Local {
            payload: first.len() > h.len(),
        },
        Decoded::Complete(h) => Sent::Header {
            payload: first.len() > h.len(),
        },
        Decoded::Invalid(_) => Sent::Invalid,
        _ => Sent::data(first),
    }
}

#[test]
fn every_recorded_exchange_comes_to_its_recorded_finding_in_the_servers_words() {
    let all = transcript::all();
    assert!(all.len() >= 40, "{} transcripts", all.len());
    let mut failures = Vec::new();
    for t in &all {
        let protocol = Protocol::from_name(&t.protocol)
            .unwrap_or_else(|| panic!("{}: unknown protocol {}", t.file.display(), t.protocol));
        let r = replay(t, protocol);
        let verdict = judge(
            protocol,
            &Seen {
                sent: r.sent,
                greeted_first: false,
                foreign_client: r.foreign,
                before: &r.before,
                after: r.after.as_deref(),
                ending: r.ending,
            },
        );
        if t.finding != "-" && verdict.finding.name() != t.finding {
            failures.push(format!(
                "{}: {} (recorded: {}); replies {:?}",
                t.file.display(),
                verdict.finding.name(),
                t.finding,
                protocol.replies(&r.before)
            ));
        }
        if let Some(words) = &t.words {
            let said = verdict.reply.as_ref().map(|r| r.words.as_str());
            if said != Some(words.as_str()) {
                failures.push(format!(
                    "{}: words {said:?}, recorded {words:?}",
                    t.file.display()
                ));
            }
        }
        // Every reply of a recording is of its protocol, and whole unless
        // the recording stops at a prefix (no `end:`).
        let mut stream = r.before.clone();
        stream.extend(r.after.unwrap_or_default());
        let replies = protocol.replies(&stream);
        let total: usize = replies.iter().map(|r| r.len).sum();
        assert_eq!(total, stream.len(), "{}: {replies:?}", t.file.display());
        let ended = t.steps.iter().any(|s| matches!(s, Step::End(_)));
        let bad = replies
            .iter()
            .find(|r| r.kind == Kind::Foreign || (ended && r.kind == Kind::Partial));
        if let Some(bad) = bad {
            failures.push(format!("{}: {bad:?} in {replies:?}", t.file.display()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_recorded_greeting_names_its_protocol() {
    for t in transcript::all() {
        let protocol = Protocol::from_name(&t.protocol).expect("known protocol");
        let Some(Step::Recv(first)) = t.steps.iter().find(|s| matches!(s, Step::Recv(_))) else {
            continue;
        };
        let bytes = first.sample();
        let replies = protocol.replies(&bytes);
        if replies.iter().any(|r| r.kind == Kind::Greeting) {
            let greeting = &bytes[replies
                .iter()
                .take_while(|r| r.kind != Kind::Greeting)
                .map(|r| r.len)
                .sum::<usize>()..];
            assert_eq!(
                Protocol::by_greeting(greeting),
                Some(protocol),
                "{}",
                t.file.display()
            );
        }
    }
}

#[test]
fn the_recorded_openings_are_the_ones_ppctl_sends() {
    for t in transcript::all() {
        let protocol = Protocol::from_name(&t.protocol).expect("known protocol");
        let Opening::Bytes(opening) = protocol.opening() else {
            continue;
        };
        let openings = t
            .steps
            .iter()
            .filter(|s| matches!(s, Step::Send(b) if b.ends_with(opening)))
            .count();
        let any_command = t.steps.iter().any(
            |s| matches!(s, Step::Send(b) if matches!(sent(b), Sent::NoHeader { .. }) && !b.starts_with(b"GET ")),
        );
        assert!(
            openings > 0 || !any_command,
            "{}: sends a command that is not {}'s opening {:?}",
            t.file.display(),
            protocol.name(),
            String::from_utf8_lossy(opening)
        );
    }
}

#[test]
fn mysql_names_the_client_it_sees() {
    let denied = "Access denied for user 'ppctl'@'127.0.0.1' (using password: NO)";
    assert_eq!(mysql::client_seen(denied), "127.0.0.1".parse().ok());
    let host = "Host '203.0.113.7' is not allowed to connect to this MariaDB server";
    assert_eq!(mysql::client_seen(host), "203.0.113.7".parse().ok());
    assert_eq!(
        mysql::client_seen("Proxy header is not accepted from 127.0.0.1"),
        None
    );
    let proxied = transcript::all()
        .into_iter()
        .find(|t| t.file.ends_with("mariadb-proxy-header.txt"))
        .expect("the recording");
    let r = replay(&proxied, Protocol::Mysql);
    let v = judge(
        Protocol::Mysql,
        &Seen {
            sent: r.sent,
            greeted_first: false,
            foreign_client: r.foreign,
            before: &r.before,
            after: r.after.as_deref(),
            ending: r.ending,
        },
    );
    assert_eq!(v.client_seen, "203.0.113.7".parse().ok());
    assert_eq!(
        v.greeting.map(|g| g.words).as_deref(),
        Some("10.11.19-MariaDB-0+deb12u1")
    );
}

#[test]
fn ports_and_names() {
    for p in Protocol::ALL {
        assert_eq!(Protocol::from_name(p.name()), Some(p));
        for &port in p.ports() {
            assert_eq!(Protocol::by_port(port), Some(p), "port {port}");
        }
    }
    assert_eq!(Protocol::by_port(25), Some(Protocol::Smtp));
    assert_eq!(Protocol::by_port(3306), Some(Protocol::Mysql));
    assert_eq!(Protocol::by_port(12345), None);
    assert!(Protocol::Smtp.server_speaks_first());
    assert!(!Protocol::Postgres.server_speaks_first());
}

fn seen<'a>(sent: Sent, before: &'a [u8], after: Option<&'a [u8]>, ending: Ending) -> Seen<'a> {
    Seen {
        sent,
        greeted_first: false,
        foreign_client: false,
        before,
        after,
        ending,
    }
}

const HEADER: Sent = Sent::Header { payload: true };

#[test]
fn a_silent_server_speaks_first_protocol_waits_for_a_header() {
    // Dovecot with `haproxy = yes` within ppctl's wait, before its own
    // haproxy_timeout: no greeting at all.
    let v = judge(
        Protocol::Imap,
        &seen(Sent::Nothing, b"", None, Ending::TimedOut),
    );
    assert_eq!(v.finding, Finding::MissingHeader);
    // A client-first protocol that hears nothing is only a silent server.
    let v = judge(
        Protocol::Postgres,
        &seen(HEADER, b"", None, Ending::TimedOut),
    );
    assert_eq!(v.finding, Finding::NoReply);
    let v = judge(Protocol::Smtp, &seen(HEADER, b"", None, Ending::Refused));
    assert_eq!(v.finding, Finding::NoReceiver);
}

#[test]
fn replies_not_recorded_from_a_server_here() {
    // Redis: RESP lines.
    let v = judge(
        Protocol::Redis,
        &seen(
            HEADER,
            b"-ERR unknown command 'PROXY', with args beginning with: 'TCP4' \r\n+PONG\r\n",
            None,
            Ending::TimedOut,
        ),
    );
    assert_eq!(v.finding, Finding::UnexpectedHeader);
    assert!(v
        .reply
        .expect("the refusal")
        .words
        .starts_with("-ERR unknown command 'PROXY'"));
    let v = judge(
        Protocol::Redis,
        &seen(HEADER, b"+PONG\r\n", None, Ending::TimedOut),
    );
    assert_eq!(v.finding, Finding::Proxied);
    let v = judge(
        Protocol::Redis,
        &seen(
            Sent::NoHeader { request: false },
            b"-NOAUTH Authentication required.\r\n",
            None,
            Ending::TimedOut,
        ),
    );
    assert_eq!(v.finding, Finding::Plain);
    // HTTP: nginx's 400 to a header it does not expect; a 503 is the
    // server's own error.
    let v = judge(
        Protocol::Http,
        &seen(
            HEADER,
            b"HTTP/1.1 400 Bad Request\r\nServer: nginx\r\n\r\n",
            None,
            Ending::ServerClosed,
        ),
    );
    assert_eq!(v.finding, Finding::UnexpectedHeader);
    assert_eq!(
        v.reply.map(|r| (r.code, r.words)),
        Some((Some(400), "HTTP/1.1 400 Bad Request".into()))
    );
    let v = judge(
        Protocol::Http,
        &seen(
            HEADER,
            b"HTTP/1.1 503 Service Unavailable\r\n\r\n",
            None,
            Ending::ServerClosed,
        ),
    );
    assert_eq!(v.finding, Finding::HttpError);
    let v = judge(
        Protocol::Http,
        &seen(
            HEADER,
            b"HTTP/1.1 200 OK\r\n\r\n",
            None,
            Ending::ServerClosed,
        ),
    );
    assert_eq!(v.finding, Finding::Proxied);
    // TLS: a handshake record, an alert.
    let v = judge(
        Protocol::Tls,
        &seen(HEADER, b"\x16\x03\x03\x00\x7a\x02", None, Ending::TimedOut),
    );
    assert_eq!(v.finding, Finding::Proxied);
    let v = judge(
        Protocol::Tls,
        &seen(
            HEADER,
            b"\x15\x03\x03\x00\x02\x02\x46",
            None,
            Ending::ServerClosed,
        ),
    );
    assert_eq!(v.finding, Finding::UnexpectedHeader);
}

#[test]
fn readers_survive_any_bytes() {
    // No panic on cut, empty or hostile input; every byte is accounted for.
    let samples: [&[u8]; 9] = [
        b"",
        b"2",
        b"220-",
        b"\xff\xff\xff\x00",
        b"\x05\x00\x00\x00\xff",
        b"SSH-2.0-x\r\n\xff\xff\xff\xff",
        b"* OK\r\n+OK\r\n",
        b"E\x00\x00\x00\x02",
        b"+OK\r\nCAPA\r\n",
    ];
    for p in Protocol::ALL {
        for s in samples {
            let replies = p.replies(s);
            let total: usize = replies.iter().map(|r| r.len).sum();
            assert_eq!(total, s.len(), "{} on {s:?}: {replies:?}", p.name());
            let _ = p.answered(s, s);
            let _ = p.greeted(s);
            let _ = p.starttls_answer(s);
            let _ = judge(p, &seen(HEADER, s, Some(s), Ending::ServerClosed));
        }
    }
}

#[test]
fn every_protocol_fix_is_in_the_one_table() {
    use crate::judge::fixes::{self, Case};
    for p in Protocol::ALL {
        for f in Finding::ALL {
            if let Some(ids) = p.fixes(f) {
                assert!(
                    !ids.is_empty() && ids.len() <= 4,
                    "{} {}",
                    p.name(),
                    f.name()
                );
                // `collect` panics on an id the table does not have.
                let chosen = f.fixes_for(Case {
                    protocol: Some(p),
                    ..Case::default()
                });
                assert_eq!(chosen, fixes::collect(ids.iter().copied()));
            }
        }
    }
    // HTTP keeps the finding's own fixes.
    let http = Case {
        protocol: Some(Protocol::Http),
        ..Case::default()
    };
    assert_eq!(
        Finding::UnexpectedHeader.fixes_for(http),
        Finding::UnexpectedHeader.fixes()
    );
    let smtp = Case {
        protocol: Some(Protocol::Smtp),
        ..Case::default()
    };
    assert_eq!(
        Finding::UnexpectedHeader.fixes_for(smtp)[0].id,
        "postfix-upstream-proxy-protocol"
    );
}
