//! A session seen from the outside, both ways (a capture's flow, a
//! relayed connection): which protocol it is in, the client's first
//! command, and [`super::judge()`]'s verdict on what the server said. `pcap`
//! and `relay` both hand their bytes here, so a relayed session and a
//! captured one are judged alike, in the server's own words.

use std::time::Duration;

use super::{judge, lines, mysql, postgres, Chosen, Protocol, Seen, Selection, Verdict};
use crate::judge::{Ending, Finding, Sent};
use crate::sniff::{self, Sniffed};

/// What one session showed, for the judge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Recorded<'a> {
    /// What the client (or the relay, for it) put first on the wire.
    pub sent: Sent,
    /// The server's first byte came before the header reached it.
    pub greeted_first: bool,
    /// The client's bytes after any header (the first of them).
    pub client: &'a [u8],
    /// The server's bytes (the first of them).
    pub server: &'a [u8],
    pub ending: Ending,
    /// From the header (or the connection, without one) to the server's
    /// first byte, or to the end when none came.
    pub waited: Option<Duration>,
}

/// A session judged in its protocol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Spoken {
    pub protocol: Protocol,
    pub chosen: Chosen,
    pub verdict: Verdict,
    /// The server greeted before the header reached it.
    pub greeted_first: bool,
    /// How long the server kept quiet (see [`Recorded::waited`]).
    pub waited: Option<Duration>,
    /// STARTTLS: asked and taken (`Some(true)`), asked and refused
    /// (`Some(false)`).
    pub starttls: Option<bool>,
    /// The client's first command after the header.
    pub command: Option<Command>,
}

/// The client's first command after the header, as its server reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Command {
    /// A line without its line break (`EHLO client.example`, `a1
    /// CAPABILITY`, an SSH identification), or what came of one before
    /// the record ends.
    Line(Vec<u8>),
    /// MySQL's HandshakeResponse: the user, and whether a password came.
    Login { user: String, password: bool },
    /// PostgreSQL's SSLRequest.
    SslRequest,
    /// A packet or bytes not read further, and their length.
    Bytes(usize),
}

/// The longest command line kept.
const COMMAND_MAX: usize = 200;

/// The protocol a session is judged in, in its server's words: the one
/// asked for, else the server port's (`auto`), else the one the server's
/// first bytes are in. `None` for HTTP, TLS and raw, which the judge's
/// own rules read, and for bytes of no protocol known here.
pub(crate) fn conversation(
    asked: Selection,
    server_port: u16,
    server: &[u8],
) -> Option<(Protocol, Chosen)> {
    let (p, chosen) = match asked.before_talking(server_port) {
        Some(known) => known,
        None => (super::greeting_of(server)?, Chosen::Greeting),
    };
    (!matches!(p, Protocol::Http | Protocol::Tls | Protocol::Raw)).then_some((p, chosen))
}

/// The session judged in `protocol`; `None` when the server answered in
/// another protocol (`inconclusive`: the judge's generic rules then
/// stand).
pub(crate) fn hear(protocol: Protocol, chosen: Chosen, r: &Recorded) -> Option<Spoken> {
    let client = sniff::classify(r.client);
    let foreign_client = matches!(client, Sniffed::HttpRequest { .. }) || client.is_tls();
    let verdict = judge(
        protocol,
        &Seen {
            sent: r.sent,
            greeted_first: r.greeted_first,
            foreign_client,
            before: r.server,
            // The interleaving is not kept: all the server said is
            // `before`, and an empty `after` says the client spoke after
            // the header, so a hang-up or silence after the greeting was
            // the server's answer to it, as for send.
            after: (!r.client.is_empty()).then_some(&[][..]),
            ending: r.ending,
        },
    );
    if verdict.finding == Finding::Inconclusive {
        return None;
    }
    Some(Spoken {
        protocol,
        chosen,
        verdict,
        greeted_first: r.greeted_first,
        waited: r.waited,
        starttls: protocol.starttls_seen(r.client, r.server),
        command: protocol.first_command(r.client),
    })
}

impl Protocol {
    /// The client's first command in `client` (its bytes after any
    /// header), if it sent one.
    pub(crate) fn first_command(self, client: &[u8]) -> Option<Command> {
        if client.is_empty() {
            return None;
        }
        Some(match self {
            Protocol::Mysql => match mysql::login_of(client) {
                Some((user, password)) => Command::Login { user, password },
                None => Command::Bytes(client.len()),
            },
            Protocol::Postgres if client.starts_with(postgres::OPENING) => Command::SslRequest,
            p if p.line_based() => {
                let (done, rest) = lines(client);
                let line = done.first().map_or(rest, |(line, _)| line);
                Command::Line(line[..line.len().min(COMMAND_MAX)].to_vec())
            }
            _ => Command::Bytes(client.len()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recorded<'a>(sent: Sent, client: &'a [u8], server: &'a [u8]) -> Recorded<'a> {
        Recorded {
            sent,
            greeted_first: false,
            client,
            server,
            ending: Ending::ServerClosed,
            waited: None,
        }
    }

    #[test]
    fn the_protocol_is_the_one_asked_the_port_s_or_the_greeting_s() {
        let one = |p| Selection::One(p);
        assert_eq!(
            conversation(one(Protocol::Smtp), 8080, b""),
            Some((Protocol::Smtp, Chosen::Named))
        );
        assert_eq!(
            conversation(Selection::Auto, 3306, b""),
            Some((Protocol::Mysql, Chosen::Port))
        );
        assert_eq!(
            conversation(
                Selection::Auto,
                40000,
                b"* OK [CAPABILITY IMAP4rev1] ready.\r\n"
            ),
            Some((Protocol::Imap, Chosen::Greeting))
        );
        // HTTP, TLS and raw are read by the judge's own rules.
        assert_eq!(conversation(Selection::Auto, 8080, b""), None);
        assert_eq!(conversation(one(Protocol::Raw), 25, b"220 x\r\n"), None);
        assert_eq!(conversation(Selection::Auto, 40000, b"HTTP/1.1 400"), None);
    }

    /// Relayed or captured as send sees it: a greeting after the header,
    /// then the client's command met by a hang-up, is no proof the header
    /// was read; a client that said nothing was not refused.
    #[test]
    fn a_greeting_then_a_hang_up_on_the_clients_command_is_header_rejected() {
        let header = Sent::Header { payload: true };
        let greeting = b"220 mail.ppctl.test ESMTP\r\n";
        let spoke = Recorded {
            ending: Ending::ServerReset,
            ..recorded(header, b"EHLO client.example\r\n", greeting)
        };
        let s = hear(Protocol::Smtp, Chosen::Named, &spoke).expect("judged");
        assert_eq!(s.verdict.finding, Finding::HeaderRejected);
        let quiet = recorded(header, b"", greeting);
        let s = hear(Protocol::Smtp, Chosen::Named, &quiet).expect("judged");
        assert_eq!(s.verdict.finding, Finding::Proxied);
    }

    /// Postfix without PROXY support, a header in front of EHLO.
    #[test]
    fn a_header_read_as_a_command_is_unexpected_header_with_the_command() {
        let server = b"220 mail.example ESMTP\r\n500 5.5.2 Error: command not recognized\r\n";
        let r = recorded(
            Sent::Header { payload: true },
            b"EHLO x\r\nQUIT\r\n",
            server,
        );
        let spoken = hear(Protocol::Smtp, Chosen::Named, &r);
        let Some(s) = spoken else {
            panic!("not judged")
        };
        assert_eq!(s.verdict.finding, Finding::UnexpectedHeader);
        assert_eq!(s.verdict.reply.map(|r| r.code), Some(Some(500)));
        assert_eq!(s.command, Some(Command::Line(b"EHLO x".to_vec())));
    }

    #[test]
    fn first_commands_in_each_protocol() {
        assert_eq!(
            Protocol::Mysql.first_command(super::super::mysql::OPENING),
            Some(Command::Login {
                user: "ppctl".into(),
                password: false
            })
        );
        assert_eq!(
            Protocol::Postgres.first_command(postgres::OPENING),
            Some(Command::SslRequest)
        );
        assert_eq!(
            Protocol::Imap.first_command(b"a1 CAPABIL"),
            Some(Command::Line(b"a1 CAPABIL".to_vec()))
        );
        assert_eq!(
            Protocol::Mysql.first_command(b"GET / HTTP/1.1\r\n"),
            Some(Command::Bytes(16))
        );
        assert_eq!(Protocol::Smtp.first_command(b""), None);
    }

    /// An HTTP server behind `--protocol smtp`: not judged as SMTP.
    #[test]
    fn a_server_in_another_protocol_is_left_to_the_generic_rules() {
        let r = recorded(
            Sent::Header { payload: false },
            b"",
            b"HTTP/1.1 400 Bad\r\n\r\n",
        );
        assert_eq!(hear(Protocol::Smtp, Chosen::Named, &r), None);
    }
}
