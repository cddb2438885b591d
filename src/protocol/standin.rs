//! The server's side of a protocol, for the stand-ins (`listen
//! --protocol`, `repro --protocol`'s receivers): what Postfix, Dovecot and
//! MariaDB send, copied from the recordings in tests/data/protocols, as a
//! pure state machine (bytes in, bytes out; the server core does the I/O).
//!
//! Each protocol's replies are in its own file (`smtp::Session`, …); this
//! file holds the one type the server core drives. The only words that
//! differ from the real servers' say who the stand-in thinks the client
//! is: SMTP's `250` answer to EHLO and HELO (`Hello NAME [203.0.113.7]`, as
//! Exim and Sendmail say it), IMAP's and POP3's greeting (`Client
//! 203.0.113.7.` after Dovecot's `ready.`), and MySQL's errors, which name
//! it as MariaDB does.

use std::net::IpAddr;

use super::{imap, lines, mysql, pop3, smtp, Protocol};

/// The protocols that have a stand-in, in `--protocol` order.
pub(crate) const SERVED: [Protocol; 5] = [
    Protocol::Http,
    Protocol::Smtp,
    Protocol::Imap,
    Protocol::Pop3,
    Protocol::Mysql,
];

/// The address the stand-in's IMAP or POP3 greeting names (`… ready.
/// Client 203.0.113.7.`).
pub(crate) fn client_named(words: &str) -> Option<IpAddr> {
    let (_, rest) = words.rsplit_once(" Client ")?;
    rest.strip_suffix('.')?.parse().ok()
}

/// A few words for `listen --protocol`'s value list: what answers.
pub(crate) fn describe(protocol: Protocol) -> &'static str {
    match protocol {
        Protocol::Http => "nginx 1.22.1's answers and the whoami page (the default)",
        Protocol::Smtp => "Postfix 3.7's smtpd; EHLO's 250 names the client",
        Protocol::Imap => "Dovecot 2.3's imap-login; the greeting names the client",
        Protocol::Pop3 => "Dovecot 2.3's pop3-login; the greeting names the client",
        Protocol::Mysql => "MariaDB 10.11; the login's error names the client",
        _ => "no stand-in",
    }
}

/// The most commands (lines, packets) a record keeps of one connection.
pub(crate) const KEPT_COMMANDS: usize = 8;

/// What a stand-in answers, and whether it hangs up after.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Answer {
    /// Bytes of input used (complete commands).
    pub used: usize,
    /// The reply bytes, in order.
    pub bytes: Vec<u8>,
    /// The commands answered, as the server read them (a line without its
    /// line break; a MySQL packet's payload).
    pub heard: Vec<Vec<u8>>,
    /// Why the stand-in hangs up after the reply, if it does.
    pub close: Option<Hangup>,
}

/// Why a stand-in ends a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Hangup {
    /// The client asked to (QUIT, LOGOUT).
    Quit,
    /// The server's own refusal that ends the session: too many bad
    /// commands, an HTTP request to a mail server (Postfix's `221 2.7.0`),
    /// MySQL's login error, MariaDB's refusal of a header.
    Refused,
}

/// A client as a stand-in sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Who {
    /// Who the server thinks the client is: a taken header's source, else
    /// the peer.
    pub client: IpAddr,
    /// The socket's peer.
    pub peer: IpAddr,
    /// The connection's number (MySQL's thread id).
    pub id: u64,
}

impl Who {
    /// Dovecot's "secured" client, MariaDB's `localhost` grants: a
    /// loopback address.
    pub(crate) fn local(&self) -> bool {
        self.client.is_loopback()
    }
}

/// One connection's session in a protocol.
#[derive(Debug)]
pub(crate) struct Session {
    pub protocol: Protocol,
    pub who: Who,
    state: State,
}

#[derive(Debug)]
enum State {
    Smtp(smtp::Session),
    Imap(imap::Session),
    Pop3(pop3::Session),
    Mysql(mysql::Session),
}

impl Session {
    /// A session for `protocol`, if it has a stand-in here (HTTP's is
    /// `server::standin::Http`).
    pub(crate) fn new(protocol: Protocol, who: Who) -> Option<Session> {
        let state = match protocol {
            Protocol::Smtp => State::Smtp(smtp::Session::default()),
            Protocol::Imap => State::Imap(imap::Session::default()),
            Protocol::Pop3 => State::Pop3(pop3::Session::default()),
            Protocol::Mysql => State::Mysql(mysql::Session),
            _ => return None,
        };
        Some(Session {
            protocol,
            who,
            state,
        })
    }

    /// Whether the real server greets before it reads a header, in every
    /// mode (MariaDB): else a server set to take a header waits for it.
    pub(crate) fn greets_before_header(&self) -> bool {
        self.protocol == Protocol::Mysql
    }

    /// The greeting (SMTP `220`, IMAP `* OK`, POP3 `+OK`, MySQL's
    /// handshake packet).
    pub(crate) fn greeting(&self) -> Vec<u8> {
        match &self.state {
            State::Smtp(_) => smtp::greeting().into_bytes(),
            State::Imap(_) => imap::greeting(&self.who).into_bytes(),
            State::Pop3(_) => pop3::greeting(&self.who).into_bytes(),
            State::Mysql(_) => mysql::greeting(self.who.id),
        }
    }

    /// What a server that waits for a header says when none comes (in
    /// time, or bytes that are not one) before it hangs up: Postfix's
    /// `421 4.3.0 <host> Server local error`; Dovecot says nothing.
    pub(crate) fn no_header(&self) -> Option<Vec<u8>> {
        match self.state {
            State::Smtp(_) => Some(smtp::no_header().into_bytes()),
            _ => None,
        }
    }

    /// A server that greeted first and reads no header from this peer
    /// (MariaDB without `proxy_protocol_networks`, or the peer outside
    /// it) refuses one with an error, then hangs up: error 1130 `Proxy
    /// header is not accepted from <peer>`. `None`: the header is read as
    /// a command (Postfix, Dovecot).
    pub(crate) fn header_refused(&self) -> Option<Vec<u8>> {
        match self.state {
            State::Mysql(_) => Some(mysql::header_refused(self.who.peer)),
            _ => None,
        }
    }

    /// A header was taken: the client is its source. What the server says
    /// at once, if anything (MariaDB checks the new host against its
    /// grants: `Host '…' is not allowed to connect`, and hangs up).
    pub(crate) fn header_taken(&mut self, client: IpAddr) -> Answer {
        self.who.client = client;
        match &mut self.state {
            State::Mysql(s) => s.header_taken(&self.who),
            _ => Answer::default(),
        }
    }

    /// Answer the complete commands at the start of `input`.
    pub(crate) fn answer(&mut self, input: &[u8]) -> Answer {
        let who = self.who;
        match &mut self.state {
            State::Mysql(s) => s.answer(&who, input),
            State::Smtp(_) | State::Imap(_) | State::Pop3(_) => {
                let mut out = Answer::default();
                let (complete, _) = lines(input);
                for (line, len) in complete {
                    let (reply, close) = match &mut self.state {
                        State::Smtp(s) => s.answer(&who, line),
                        State::Imap(s) => s.answer(&who, line),
                        State::Pop3(s) => s.answer(&who, line),
                        State::Mysql(_) => unreachable!("handled above"),
                    };
                    out.used += len;
                    out.bytes.extend_from_slice(reply.as_bytes());
                    out.heard.push(line.to_vec());
                    if close.is_some() {
                        out.close = close;
                        break;
                    }
                }
                out
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn who(client: &str) -> Who {
        Who {
            client: client.parse().expect("an address"),
            peer: "127.0.0.1".parse().expect("an address"),
            id: 3,
        }
    }

    #[test]
    fn a_header_line_is_a_command_the_plain_servers_refuse() {
        let header = b"PROXY TCP4 203.0.113.7 127.0.0.1 51000 25\r\n";
        let cases: [(Protocol, &[u8]); 3] = [
            (
                Protocol::Smtp,
                b"500 5.5.2 Error: command not recognized\r\n",
            ),
            (
                Protocol::Imap,
                b"PROXY BAD Error in IMAP command received by server.\r\n",
            ),
            (Protocol::Pop3, b"-ERR Unknown command.\r\n"),
        ];
        for (p, want) in cases {
            let mut s = Session::new(p, who("127.0.0.1")).expect("a stand-in");
            let a = s.answer(header);
            assert_eq!(a.bytes, want, "{p:?}");
            assert_eq!(a.used, header.len());
            assert_eq!(a.close, None);
        }
    }

    #[test]
    fn the_answers_name_the_client() {
        let mut s = Session::new(Protocol::Smtp, who("127.0.0.1")).expect("smtp");
        s.header_taken("203.0.113.7".parse().expect("ip"));
        let a = s.answer(b"EHLO client.test\r\n");
        let text = String::from_utf8_lossy(&a.bytes);
        assert!(
            text.starts_with("250-mail.ppctl.test Hello client.test [203.0.113.7]\r\n"),
            "{text}"
        );
        let p = Session::new(Protocol::Pop3, who("203.0.113.7")).expect("pop3");
        assert_eq!(
            p.greeting(),
            b"+OK Dovecot (Debian) ready. Client 203.0.113.7.\r\n"
        );
    }

    #[test]
    fn a_partial_line_waits() {
        let mut s = Session::new(Protocol::Imap, who("127.0.0.1")).expect("imap");
        let a = s.answer(b"a1 CAPA");
        assert_eq!(a, Answer::default());
    }
}
