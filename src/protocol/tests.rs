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

#[test]
fn a_silent_mail_or_database_server_gets_no_http_ingress_fix() {
    use crate::judge::fixes::Case;
    // An ingress's header timeout or an NLB's first ACK says nothing
    // about a mail server that never greeted, or a database that never
    // answered the login.
    for p in [
        Protocol::Smtp,
        Protocol::Imap,
        Protocol::Pop3,
        Protocol::Mysql,
    ] {
        let ids: Vec<&str> = Finding::NoReply
            .fixes_for(Case {
                protocol: Some(p),
                ..Case::default()
            })
            .iter()
            .map(|f| f.id)
            .collect();
        assert!(ids.contains(&"match-version"), "{}: {ids:?}", p.name());
        assert!(
            !ids.iter()
                .any(|id| id.starts_with("ingress-nginx") || id.starts_with("aws-")),
            "{}: {ids:?}",
            p.name()
        );
    }
    let smtp = Finding::NoReply.fixes_for(Case {
        protocol: Some(Protocol::Smtp),
        ..Case::default()
    });
    assert!(smtp.iter().any(|f| f.id == "implicit-tls-port"));
}

#[test]
fn a_greeting_before_the_header_with_nothing_after_it_is_banner_before_header() {
    let greeting = b"220 mail.ppctl.test ESMTP ppctl-test\r\n";
    let first = Seen {
        greeted_first: true,
        ..seen(HEADER, greeting, None, Ending::ClientClosed)
    };
    let v = judge(Protocol::Smtp, &first);
    assert_eq!(v.finding, Finding::BannerBeforeHeader);
    // The same bytes after the header: the server waited for it.
    let v = judge(
        Protocol::Smtp,
        &seen(HEADER, greeting, None, Ending::ClientClosed),
    );
    assert_eq!(v.finding, Finding::Proxied);
    // MariaDB greets first and takes the header when it comes: its answer
    // to the login (naming the header's client) shows it read it.
    let t = transcript::all()
        .into_iter()
        .find(|t| t.file.ends_with("mariadb-proxy-header.txt"))
        .expect("the recording");
    let r = replay(&t, Protocol::Mysql);
    let v = judge(
        Protocol::Mysql,
        &Seen {
            greeted_first: true,
            ..seen(r.sent, &r.before, r.after.as_deref(), r.ending)
        },
    );
    assert_eq!(v.finding, Finding::Proxied);
}

#[test]
fn a_greeting_then_a_hang_up_after_a_header_is_no_proof_it_was_read() {
    // MariaDB without proxy-protocol-networks greets before it reads the
    // header, answers it with error 1130 and hangs up; when the client's
    // login meets the hang-up, the reset can cost the client the 1130.
    // The greeting alone says nothing about the header.
    let t = transcript::all()
        .into_iter()
        .find(|t| t.file.ends_with("mariadb-plain-header.txt"))
        .expect("the recording");
    let r = replay(&t, Protocol::Mysql);
    let whole = judge(
        Protocol::Mysql,
        &seen(r.sent, &r.before, r.after.as_deref(), Ending::ServerReset),
    );
    assert_eq!(whole.finding, Finding::UnexpectedHeader);
    let greeting = protocol_greeting(Protocol::Mysql, &r.before);
    for ending in [Ending::ServerReset, Ending::ServerClosed] {
        let v = judge(Protocol::Mysql, &seen(r.sent, greeting, Some(b""), ending));
        assert_eq!(v.finding, Finding::HeaderRejected, "{ending:?}");
        assert!(v.greeting.is_some());
    }
    // The login left unanswered until the wait ran out: no reply.
    let v = judge(
        Protocol::Mysql,
        &seen(r.sent, greeting, Some(b""), Ending::TimedOut),
    );
    assert_eq!(v.finding, Finding::NoReply);
    // A recorded client (relay, pcap) that sent nothing after the header:
    // nothing was asked, the greeting stands.
    let v = judge(
        Protocol::Mysql,
        &seen(r.sent, greeting, None, Ending::ServerClosed),
    );
    assert_eq!(v.finding, Finding::Proxied);
    // The same in SMTP: a greeting after the header, then EHLO hung up on.
    let smtp = b"220 mail.ppctl.test ESMTP ppctl-test\r\n";
    let v = judge(
        Protocol::Smtp,
        &seen(HEADER, smtp, Some(b""), Ending::ServerReset),
    );
    assert_eq!(v.finding, Finding::HeaderRejected);
    // An answer after the greeting, or a client that hung up first, keeps
    // the greeting's word: the server went on, or was not asked to.
    let ehlo = b"250 mail.ppctl.test\r\n";
    let v = judge(
        Protocol::Smtp,
        &seen(HEADER, smtp, Some(ehlo), Ending::ServerClosed),
    );
    assert_eq!(v.finding, Finding::Proxied);
    let v = judge(
        Protocol::Smtp,
        &seen(HEADER, smtp, None, Ending::ClientClosed),
    );
    assert_eq!(v.finding, Finding::Proxied);
}

/// The greeting at the start of `said`: the bytes of its first reply.
fn protocol_greeting(protocol: Protocol, said: &[u8]) -> &[u8] {
    let first = &protocol.replies(said)[0];
    assert_eq!(first.kind, Kind::Greeting);
    &said[..first.len]
}

#[test]
fn a_refused_header_line_the_client_never_sent_is_a_hop_that_adds_one() {
    // HAProxy send-proxy in front of smtpd without PROXY support: the
    // client sent no header, yet smtpd refuses one.
    let before = b"220 mail.ppctl.test ESMTP ppctl-test\r\n";
    let after =
        b"500 5.5.2 Error: command not recognized\r\n250-mail.ppctl.test\r\n250 8BITMIME\r\n";
    let no_header = Sent::NoHeader { request: false };
    let v = judge(
        Protocol::Smtp,
        &seen(no_header, before, Some(after), Ending::ClientClosed),
    );
    assert_eq!(v.finding, Finding::HopAddsHeader);
    assert_eq!(
        v.reply.map(|r| r.words).as_deref(),
        Some("500 5.5.2 Error: command not recognized")
    );
    // The client's own HTTP request, refused for what it is: not a hop.
    let v = judge(
        Protocol::Smtp,
        &Seen {
            foreign_client: true,
            ..seen(no_header, before, Some(after), Ending::ServerClosed)
        },
    );
    assert_ne!(v.finding, Finding::HopAddsHeader);
    // IMAP's answer tagged with the header's first word.
    let v = judge(
        Protocol::Imap,
        &seen(
            no_header,
            b"* OK Dovecot ready.\r\n",
            Some(b"PROXY BAD Error in IMAP command received by server.\r\n"),
            Ending::ClientClosed,
        ),
    );
    assert_eq!(v.finding, Finding::HopAddsHeader);
}

#[test]
fn another_protocol_or_an_unanswered_health_check_is_no_greeting() {
    // An SMTP server probed as IMAP: its bytes are no IMAP reply.
    let v = judge(
        Protocol::Imap,
        &seen(
            HEADER,
            b"220 mail.ppctl.test ESMTP ppctl-test\r\n",
            None,
            Ending::TimedOut,
        ),
    );
    assert_eq!(v.finding, Finding::Inconclusive);
    // A LOCAL header hung up on, or never answered.
    let local = Sent::Local { payload: false };
    let v = judge(
        Protocol::Postgres,
        &seen(local, b"", None, Ending::ServerClosed),
    );
    assert_eq!(v.finding, Finding::HeaderRejected);
    let v = judge(Protocol::Smtp, &seen(local, b"", None, Ending::TimedOut));
    assert_eq!(v.finding, Finding::NoReply);
}

#[test]
fn the_readers_say_when_a_turn_is_over() {
    // A notice or a teaser is not yet the greeting; a 421 ends the wait.
    assert!(!Protocol::Imap.greeted(b"* OK Waiting for authentication process to respond..\r\n"));
    assert!(Protocol::Imap.greeted(
        b"* OK Waiting for authentication process to respond..\r\n* OK Dovecot ready.\r\n"
    ));
    assert!(!Protocol::Smtp.greeted(b"220-mail.ppctl.test ESMTP\r\n"));
    assert!(Protocol::Smtp.greeted(b"421 4.3.0 mail.ppctl.test Server local error\r\n"));
    assert!(!Protocol::Smtp.greeted(b"220 mail.ppctl.te"));
    // POP3's CAPA list is whole at its `.`; its `+OK` is not a greeting
    // after one.
    let greeting = b"+OK Dovecot (Debian) ready.\r\n";
    assert!(!Protocol::Pop3.answered(greeting, b"+OK\r\nCAPA\r\nTOP\r\n"));
    assert!(Protocol::Pop3.answered(greeting, b"+OK\r\nCAPA\r\nTOP\r\n.\r\n"));
    assert!(Protocol::Smtp.answered(b"220 x\r\n", b"250 x\r\n"));
    assert!(!Protocol::Smtp.answered(b"220-x\r\n", b"220 x\r\n"));
    // STARTTLS's answer, read on its own.
    let go = |p: Protocol, b: &[u8]| p.starttls_answer(b).map(|r| r.kind == Kind::Ok);
    assert_eq!(
        go(Protocol::Smtp, b"220 2.0.0 Ready to start TLS\r\n"),
        Some(true)
    );
    assert_eq!(
        go(
            Protocol::Smtp,
            b"502 5.5.1 Error: command not implemented\r\n"
        ),
        Some(false)
    );
    assert_eq!(
        go(Protocol::Imap, b"s1 OK Begin TLS negotiation now.\r\n"),
        Some(true)
    );
    assert_eq!(
        go(Protocol::Pop3, b"+OK Begin TLS negotiation\r\n"),
        Some(true)
    );
    assert_eq!(go(Protocol::Pop3, b"+OK Begin"), None);
    // STARTTLS in a capture.
    let client = b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\nEHLO x\r\nSTARTTLS\r\n\x16\x03\x01";
    let server = b"220 x\r\n250 x\r\n220 2.0.0 Ready to start TLS\r\n\x16\x03\x03\x00\x7a";
    assert_eq!(Protocol::Smtp.starttls_seen(client, server), Some(true));
    assert_eq!(
        Protocol::Smtp.starttls_seen(client, b"220 x\r\n250 x\r\n454 4.7.0 TLS not available\r\n"),
        Some(false)
    );
    assert_eq!(
        Protocol::Smtp.starttls_seen(b"EHLO x\r\nQUIT\r\n", server),
        None
    );
}

#[test]
fn auto_knows_a_server_by_its_first_bytes() {
    let first = |b: &[u8]| greeting_of(b).map(Protocol::name);
    assert_eq!(first(b"220 mail ESMTP\r\n"), Some("smtp"));
    assert_eq!(
        first(b"421 4.3.0 mail Server local error\r\n"),
        Some("smtp")
    );
    assert_eq!(first(b"* OK ready\r\n"), Some("imap"));
    assert_eq!(first(b"+OK ready\r\n"), Some("pop3"));
    assert_eq!(first(b"-ERR no\r\n"), Some("pop3"));
    assert_eq!(first(b"SSH-2.0-OpenSSH_9.2\r\n"), Some("ssh"));
    assert_eq!(first(b"HTTP/1.1 400 Bad Request\r\n"), None);
    assert!(may_greet(b"22"));
    assert!(!may_greet(b"HTTP/1.1 400"));
}
