//! The protocols ppctl speaks after a PROXY header, and the one place that
//! knows each: its well-known ports (for `--protocol auto`), how its server
//! greets (or that the client speaks first), the harmless opening a client
//! sends, how to read what the server sends back, and the server's own
//! words for the report. One file per protocol; this file holds the table
//! and [`judge()`], which turns what a client saw into the judge's
//! [`Finding`] (the same names as for HTTP: `unexpected-header`,
//! `missing-header`, `header-rejected`, …).
//!
//! The readers are built on bytes recorded from real servers (Postfix 3.7,
//! Dovecot 2.3, MariaDB 10.11, OpenSSH 9.2, PostgreSQL 15:
//! tests/data/protocols) and docs/protocols.md quotes them.
//!
//! Pure: no I/O, no printing, no JSON.
//!
//! send, probe, pcap and explain use it (the openings, the judge, the
//! fixes); pcap and relay judge what they saw both ways through
//! [`recorded`]; [`standin`] is the servers' side, which the server core's
//! protocol stand-in (`listen --protocol`, `repro --protocol`) drives.

mod http;
mod imap;
mod mysql;
mod pop3;
mod postgres;
mod recorded;
mod redis;
mod service;
mod smtp;
mod speak;
mod ssh;
pub(crate) mod standin;
mod tls;

pub(crate) use recorded::{conversation, hear, Command, Recorded, Spoken};
pub(crate) use service::{service, Service};
pub(crate) use speak::Speaker;
pub use speak::{Chosen, Selection};

use std::net::IpAddr;
use std::time::Duration;

use crate::judge::{self, Answer, Ending, Exchange, Finding, Sent};

/// How long a client waits for a server that speaks first to greet, after
/// the header or without one (`--greeting-timeout`): longer than the
/// server's own wait for a header (Postfix's smtpd_upstream_proxy_timeout
/// and postscreen_upstream_proxy_timeout are 5 s, Dovecot's haproxy_timeout
/// 3 s), so the server's answer to a missing header (Postfix's `421`, a
/// close) is seen, not cut off by the client's own timeout.
pub(crate) const GREETING_TIMEOUT: Duration = Duration::from_secs(6);

/// A protocol spoken after the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protocol {
    Http,
    Tls,
    Smtp,
    Imap,
    Pop3,
    Mysql,
    Postgres,
    Redis,
    Ssh,
    /// Bytes of the user's choosing; nothing is read into the reply.
    Raw,
}

/// What a client sends first, after any header, to see the server work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Opening {
    /// These bytes (EHLO, CAPABILITY, CAPA, a MySQL login, SSLRequest,
    /// PING, an SSH identification line).
    Bytes(&'static [u8]),
    /// An HTTP request for the target (send builds it: it names the host).
    HttpRequest,
    /// A TLS ClientHello (the TLS client makes it).
    TlsHandshake,
    /// The user's payload, if any.
    Payload,
}

impl Protocol {
    /// Every protocol, in `--protocol` order.
    pub(crate) const ALL: [Protocol; 10] = [
        Protocol::Http,
        Protocol::Tls,
        Protocol::Smtp,
        Protocol::Imap,
        Protocol::Pop3,
        Protocol::Mysql,
        Protocol::Postgres,
        Protocol::Redis,
        Protocol::Ssh,
        Protocol::Raw,
    ];

    /// A few words for the `--protocol` value list: what ppctl sends.
    pub(crate) fn describe(self) -> &'static str {
        match self {
            Protocol::Http => "an HTTP/1.1 request; judged by its status line",
            Protocol::Tls => "a TLS handshake after the header",
            Protocol::Smtp => "wait for the 220 banner, then EHLO (Postfix, Exim, ...)",
            Protocol::Imap => "wait for the * OK greeting, then CAPABILITY (Dovecot, ...)",
            Protocol::Pop3 => "wait for the +OK greeting, then CAPA",
            Protocol::Mysql => {
                "wait for the handshake, then a login as user ppctl (MariaDB, MySQL)"
            }
            Protocol::Postgres => "an SSLRequest; answered N or S",
            Protocol::Redis => "PING; answered +PONG",
            Protocol::Ssh => "wait for SSH-2.0-..., then send an SSH identification",
            Protocol::Raw => "the payload you give (--data), or nothing: wait for the server",
        }
    }

    /// A few words for the `--protocol` value list of `pcap` and `relay`,
    /// which speak nothing: what of the server's they read.
    pub(crate) fn describe_heard(self) -> &'static str {
        match self {
            Protocol::Http => "the request and status lines (as without --protocol)",
            Protocol::Tls => "the ClientHello and the server's answer (as without --protocol)",
            Protocol::Smtp => "the 220 banner, a 500 to the header line, the 421 (Postfix, ...)",
            Protocol::Imap => "the * OK greeting, PROXY BAD to the header line (Dovecot, ...)",
            Protocol::Pop3 => "the +OK greeting, -ERR to the header line (Dovecot, ...)",
            Protocol::Mysql => {
                "the handshake, error 1130 to a header, the login's answer (MariaDB)"
            }
            Protocol::Postgres => "the answer to SSLRequest, or a close (PostgreSQL)",
            Protocol::Redis => "+PONG, or -ERR to the header line",
            Protocol::Ssh => "the SSH-2.0 line, or `Invalid SSH identification string`",
            Protocol::Raw => "any bytes, judged as without --protocol",
        }
    }

    /// The `--protocol` value.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Protocol::Http => "http",
            Protocol::Tls => "tls",
            Protocol::Smtp => "smtp",
            Protocol::Imap => "imap",
            Protocol::Pop3 => "pop3",
            Protocol::Mysql => "mysql",
            Protocol::Postgres => "postgres",
            Protocol::Redis => "redis",
            Protocol::Ssh => "ssh",
            Protocol::Raw => "raw",
        }
    }

    #[cfg(test)]
    pub(crate) fn from_name(name: &str) -> Option<Protocol> {
        Protocol::ALL.into_iter().find(|p| p.name() == name)
    }

    /// The ports where `--protocol auto` assumes this protocol (implicit
    /// TLS ports such as 465, 993 and 995 are `tls`: the handshake comes
    /// first there).
    pub(crate) fn ports(self) -> &'static [u16] {
        match self {
            Protocol::Http => &[80, 8000, 8080],
            Protocol::Tls => &[443, 465, 636, 993, 995, 8443],
            Protocol::Smtp => &[25, 587, 2525],
            Protocol::Imap => &[143],
            Protocol::Pop3 => &[110],
            Protocol::Mysql => &[3306],
            Protocol::Postgres => &[5432],
            Protocol::Redis => &[6379],
            Protocol::Ssh => &[22],
            Protocol::Raw => &[],
        }
    }

    /// `--protocol auto`, first step: the protocol of a well-known port.
    pub(crate) fn by_port(port: u16) -> Option<Protocol> {
        Protocol::ALL
            .into_iter()
            .find(|p| p.ports().contains(&port))
    }

    /// `--protocol auto`, second step: the protocol whose server greets
    /// with these first bytes (a client-first server sends none).
    pub(crate) fn by_greeting(first: &[u8]) -> Option<Protocol> {
        [
            Protocol::Smtp,
            Protocol::Imap,
            Protocol::Pop3,
            Protocol::Mysql,
            Protocol::Ssh,
        ]
        .into_iter()
        .find(|p| p.greets_with(first))
    }

    /// STARTTLS in a recorded session (a capture): `None` when the
    /// client did not ask for it, `Some(true)` when TLS records follow the
    /// server's answer, `Some(false)` when they don't (refused, or the
    /// record ends first).
    pub(crate) fn starttls_seen(self, client: &[u8], server: &[u8]) -> Option<bool> {
        let word: &[u8] = match self {
            Protocol::Smtp | Protocol::Imap => b"STARTTLS",
            Protocol::Pop3 => b"STLS",
            _ => return None,
        };
        let (lines, _) = lines(client);
        let asked = lines.iter().any(|(line, _)| {
            let last = line.rsplit(|&b| b == b' ').next().unwrap_or_default();
            last.eq_ignore_ascii_case(word)
        });
        if !asked {
            return None;
        }
        // A TLS handshake record at the start of a line of the server's.
        Some(server.windows(3).any(|w| w == [b'\n', 0x16, 0x03]))
    }

    /// Whether the server's replies are lines of text.
    pub(crate) fn line_based(self) -> bool {
        matches!(
            self,
            Protocol::Smtp | Protocol::Imap | Protocol::Pop3 | Protocol::Ssh | Protocol::Redis
        )
    }

    /// Whether the server speaks first: it greets every client, so a
    /// client that gets nothing is being made to wait (for a header).
    pub(crate) fn server_speaks_first(self) -> bool {
        matches!(
            self,
            Protocol::Smtp | Protocol::Imap | Protocol::Pop3 | Protocol::Mysql | Protocol::Ssh
        )
    }

    fn greets_with(self, first: &[u8]) -> bool {
        match self {
            Protocol::Smtp => smtp::is_greeting(first),
            Protocol::Imap => imap::is_greeting(first),
            Protocol::Pop3 => pop3::is_greeting(first),
            Protocol::Mysql => mysql::is_greeting(first),
            Protocol::Ssh => ssh::is_greeting(first),
            _ => false,
        }
    }

    /// The harmless first thing a client sends.
    pub(crate) fn opening(self) -> Opening {
        match self {
            Protocol::Http => Opening::HttpRequest,
            Protocol::Tls => Opening::TlsHandshake,
            Protocol::Smtp => Opening::Bytes(smtp::OPENING),
            Protocol::Imap => Opening::Bytes(imap::OPENING),
            Protocol::Pop3 => Opening::Bytes(pop3::OPENING),
            Protocol::Mysql => Opening::Bytes(mysql::OPENING),
            Protocol::Postgres => Opening::Bytes(postgres::OPENING),
            Protocol::Redis => Opening::Bytes(redis::OPENING),
            Protocol::Ssh => Opening::Bytes(ssh::OPENING),
            Protocol::Raw => Opening::Payload,
        }
    }

    /// What a polite client says before it hangs up (QUIT, LOGOUT), if
    /// anything.
    pub(crate) fn closing(self) -> Option<&'static [u8]> {
        match self {
            Protocol::Smtp => Some(b"QUIT\r\n"),
            Protocol::Imap => Some(b"a2 LOGOUT\r\n"),
            Protocol::Pop3 => Some(b"QUIT\r\n"),
            Protocol::Redis => Some(b"QUIT\r\n"),
            _ => None,
        }
    }

    /// The command that asks for TLS inside the plain session, for the
    /// protocols that have one (SMTP `STARTTLS`, IMAP `STARTTLS`, POP3
    /// `STLS`).
    pub(crate) fn starttls(self) -> Option<&'static [u8]> {
        match self {
            Protocol::Smtp => Some(b"STARTTLS\r\n"),
            Protocol::Imap => Some(b"s1 STARTTLS\r\n"),
            Protocol::Pop3 => Some(b"STLS\r\n"),
            _ => None,
        }
    }

    /// The server's answer to [`Protocol::starttls`], once it is whole: a
    /// reply of kind [`Kind::Ok`] lets the handshake begin (SMTP `220`,
    /// IMAP `s1 OK`, POP3 `+OK`); any other refuses it (SMTP `454 4.7.0
    /// TLS not available`, `502`). `None` while it is not complete.
    pub(crate) fn starttls_answer(self, answer: &[u8]) -> Option<Reply> {
        let mut first = self
            .replies(answer)
            .into_iter()
            .find(|r| r.kind != Kind::Partial)?;
        // Read on its own, SMTP's 220 and POP3's +OK look like greetings.
        if first.kind == Kind::Greeting {
            first.kind = Kind::Ok;
        }
        Some(first)
    }

    /// Whether `bytes`, the first the server sent (after any header), hold
    /// all it will say before the client's opening: its whole greeting,
    /// or a reply that means none is coming (an error, a refusal, bytes of
    /// another protocol). A notice before the greeting (Dovecot's
    /// `Waiting for authentication process`, postscreen's `220-` teaser,
    /// lines before SSH's identification) is not yet the greeting.
    pub(crate) fn greeted(self, bytes: &[u8]) -> bool {
        self.replies(bytes).iter().any(|r| {
            matches!(
                r.kind,
                Kind::Greeting | Kind::Refused | Kind::Error | Kind::Foreign
            )
        })
    }

    /// What the server sent, as the protocol's replies, in order. A reply
    /// cut short by the end of `bytes` is the last one, [`Kind::Partial`].
    pub(crate) fn replies(self, bytes: &[u8]) -> Vec<Reply> {
        match self {
            Protocol::Smtp => smtp::replies(bytes),
            Protocol::Imap => imap::replies(bytes),
            Protocol::Pop3 => pop3::replies(bytes),
            Protocol::Mysql => mysql::replies(bytes),
            Protocol::Postgres => postgres::replies(bytes),
            Protocol::Redis => redis::replies(bytes),
            Protocol::Ssh => ssh::replies(bytes),
            Protocol::Http => http::replies(bytes),
            Protocol::Tls => tls::replies(bytes),
            Protocol::Raw if bytes.is_empty() => Vec::new(),
            Protocol::Raw => vec![Reply::new(Kind::Ok, bytes.len(), "")],
        }
    }

    /// Whether `after` (what came after the client's opening) holds the
    /// whole answer to it, so a reader can stop before its deadline.
    /// `before` is what came first (the greeting): a reply's meaning
    /// depends on it (a POP3 `+OK` is the greeting first, CAPA's list
    /// later).
    pub(crate) fn answered(self, before: &[u8], after: &[u8]) -> bool {
        if self == Protocol::Raw {
            return false;
        }
        let stream = [before, after].concat();
        let mut at = 0;
        self.replies(&stream).iter().any(|r| {
            let starts = at;
            at += r.len;
            starts >= before.len()
                && match self {
                    // An answer, not a late greeting (postscreen's teaser,
                    // then smtpd's banner) or a notice.
                    Protocol::Smtp | Protocol::Imap | Protocol::Pop3 | Protocol::Ssh => {
                        matches!(r.kind, Kind::Ok | Kind::Refused | Kind::Error)
                    }
                    _ => r.kind != Kind::Partial,
                }
        })
    }

    /// The fixes for `finding` in this protocol, where they differ from
    /// the finding's own (nginx's and HAProxy's for HTTP): Postfix's for
    /// SMTP, Dovecot's for IMAP and POP3, MariaDB's for MySQL, and for the
    /// servers that read no header (OpenSSH, PostgreSQL, Redis) not to
    /// send one. Ids of the one fixes table (`judge::fixes`).
    pub(crate) fn fixes(self, finding: Finding) -> Option<&'static [&'static str]> {
        match self {
            Protocol::Smtp => smtp::fixes(finding),
            Protocol::Imap | Protocol::Pop3 => imap::fixes(finding),
            Protocol::Mysql => mysql::fixes(finding),
            Protocol::Ssh | Protocol::Postgres | Protocol::Redis => no_header_fixes(finding),
            Protocol::Http | Protocol::Tls | Protocol::Raw => None,
        }
    }
}

/// The protocol a server speaks, from what it sent first: its greeting,
/// or the reply a server that speaks first sends instead of one (SMTP's
/// `421` to a client without a header, POP3's `-ERR`, IMAP's `* BYE`, a
/// MySQL error packet).
pub(crate) fn greeting_of(said: &[u8]) -> Option<Protocol> {
    Protocol::by_greeting(said).or_else(|| {
        let smtp_code = said.len() >= 4
            && said[..3].iter().all(u8::is_ascii_digit)
            && matches!(said[0], b'4' | b'5')
            && matches!(said[3], b' ' | b'-');
        if smtp_code {
            Some(Protocol::Smtp)
        } else if said.starts_with(b"-ERR") {
            Some(Protocol::Pop3)
        } else if said.starts_with(b"* BYE") || said.starts_with(b"* BAD") {
            Some(Protocol::Imap)
        } else if said.len() >= 5 && said[3] == 0 && said[4] == 0xff {
            Some(Protocol::Mysql)
        } else {
            None
        }
    })
}

/// Whether these first bytes may still grow into a greeting (a line not
/// yet ended, too short to tell).
pub(crate) fn may_greet(said: &[u8]) -> bool {
    said.len() < 5 && memchr::memchr(b'\n', said).is_none()
}

/// What one reply of a server is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// The server greets: it is ready (SMTP 220, IMAP `* OK`, POP3 `+OK`,
    /// MySQL's handshake packet, SSH's identification line).
    Greeting,
    /// A positive answer (SMTP 2xx/3xx, IMAP `OK` and untagged data, POP3
    /// `+OK`, MySQL OK, PostgreSQL `N`/`S`/authentication, Redis `+PONG`,
    /// an SSH packet, an HTTP status below 400, a TLS handshake record).
    Ok,
    /// The server read what it got as a command and refused it in its
    /// words (SMTP 5xx, IMAP `BAD`/`NO`, POP3 `-ERR`, Redis `-ERR`, SSH
    /// `Invalid SSH identification string.`, HTTP 400, MySQL 1130 `Proxy
    /// header is not accepted from …`).
    Refused,
    /// The server's own error, closing or not about a command (SMTP 421,
    /// a MySQL or PostgreSQL error packet, an HTTP 4xx/5xx but 400, a TLS
    /// alert, IMAP `* BYE` before anything).
    Error,
    /// Bytes that are not this protocol.
    Foreign,
    /// The start of a reply; the rest did not come.
    Partial,
}

/// One reply: what it is, how many bytes it took, and the server's words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Reply {
    pub kind: Kind,
    /// Its length in the bytes read.
    pub len: usize,
    /// The protocol's code: SMTP's reply code, MySQL's error number, an
    /// HTTP status.
    pub code: Option<u16>,
    /// The server's words for the report: the reply line without its line
    /// break, the first line of a multi-line reply, an error's message, a
    /// greeting's server version.
    pub words: String,
}

impl Reply {
    fn new(kind: Kind, len: usize, words: &str) -> Reply {
        Reply {
            kind,
            len,
            code: None,
            words: words.to_string(),
        }
    }

    /// A completed TLS handshake, as the reply that shows it (the TLS
    /// client read it, not these readers).
    pub(crate) fn handshake() -> Reply {
        Reply::new(Kind::Ok, 0, "the TLS handshake completed")
    }

    fn with_code(mut self, code: u16) -> Reply {
        self.code = Some(code);
        self
    }
}

/// The complete CRLF- (or LF-) terminated lines at the start of `bytes`,
/// each with its length including the line break; and what is left.
fn lines(bytes: &[u8]) -> (Vec<(&[u8], usize)>, &[u8]) {
    let mut out = Vec::new();
    let mut rest = bytes;
    while let Some(end) = memchr::memchr(b'\n', rest) {
        let line = &rest[..end];
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        out.push((line, end + 1));
        rest = &rest[end + 1..];
    }
    (out, rest)
}

/// Printable words of a line (invalid UTF-8 replaced).
fn text(line: &[u8]) -> String {
    String::from_utf8_lossy(line).trim_end().to_string()
}

/// The fixes of a server that reads no PROXY header (OpenSSH,
/// PostgreSQL, Redis): send it none.
fn no_header_fixes(finding: Finding) -> Option<&'static [&'static str]> {
    match finding {
        Finding::UnexpectedHeader | Finding::HeaderRejected | Finding::BannerBeforeHeader => {
            Some(&["server-reads-no-header", "disable-at-sender"])
        }
        _ => None,
    }
}

/// The fixes where a mail or database server waits for a header that does
/// not come: the proxy in front must send one, and clients go through it.
const SEND_A_HEADER: &[&str] = &[
    "haproxy-tcp-send-proxy",
    "nginx-stream-send-proxy-tcp",
    "route-through-lb",
    "aws-nlb-header-on-first-ack",
];

/// A server that speaks first and said nothing until the timeout (no
/// greeting, or none to the opening): it waits for a header it can read,
/// or for a TLS handshake (an implicit-TLS port). Not the generic fixes,
/// which are HTTP ingresses' header timeouts.
const SILENT_SERVER: &[&str] = &["match-version", "implicit-tls-port"];

/// What a client saw on one connection in a protocol: the judge's input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Seen<'a> {
    /// What the client put first on the wire (the header, if any).
    pub sent: Sent,
    /// The server greeted before the header reached it (a capture shows
    /// the greeting first; a client that waited for the banner before it
    /// sent the header saw it): it does not wait for one.
    pub greeted_first: bool,
    /// The client spoke another protocol after any header (an HTTP
    /// request, a TLS ClientHello), which the server refuses for what it
    /// is, not as a header.
    pub foreign_client: bool,
    /// What the server sent before the client's opening (its greeting, and
    /// any answer to the header), or everything, when no opening was sent.
    pub before: &'a [u8],
    /// What it sent after the opening; `None` when none was sent (the
    /// server closed first, or a client-first protocol sent it with the
    /// header and everything is `before`).
    pub after: Option<&'a [u8]>,
    pub ending: Ending,
}

/// The judge's finding for what was seen, and the reply that decided it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Verdict {
    pub finding: Finding,
    /// The server's greeting, if it greeted.
    pub greeting: Option<Reply>,
    /// The reply that decided, in the server's words (the refusal of the
    /// header, the error, or the answer to the opening).
    pub reply: Option<Reply>,
    /// The client address the server named (MySQL's `Host '…'` and
    /// `'user'@'…'`, SMTP's `250 … Hello NAME [IP]` as Exim and ppctl's
    /// stand-in say it, the stand-in's IMAP and POP3 greeting): who it
    /// thinks the client is.
    pub client_seen: Option<IpAddr>,
}

/// The finding for one connection in `protocol`, under the judge's names:
///
/// - a reply refusing the header as a command (SMTP `500 5.5.2`, IMAP
///   `PROXY BAD`, POP3 `-ERR`, SSH `Invalid SSH identification string.`,
///   MySQL 1130 `Proxy header is not accepted`) after a header is
///   `unexpected-header`;
/// - a server-speaks-first server that does not greet a client without a
///   header (silence, a close, SMTP 421) is `missing-header`;
/// - a greeting and an answer after a header is `proxied`, without one
///   `plain`; a greeting after a header and then a hang-up with no other
///   word is `header-rejected`;
/// - the rest is the judge's [`judge::exchange`] on the first reply.
pub(crate) fn judge(protocol: Protocol, seen: &Seen) -> Verdict {
    // One stream: a reply's meaning depends on what came before it (a
    // POP3 `+OK` is the greeting first, CAPA's list later).
    let mut stream = seen.before.to_vec();
    stream.extend_from_slice(seen.after.unwrap_or_default());
    // The server's close ends its last line: a server that refuses and
    // hangs up may lose the line break of its last words (sshd's `Invalid
    // SSH identification string.` and its `\r\n` are two writes, and the
    // close with the client's opening unread resets the second).
    let closed = matches!(
        seen.ending,
        Ending::ServerClosed | Ending::ServerReset | Ending::ServerResetMidStream
    );
    if closed && protocol.line_based() && !stream.is_empty() && !stream.ends_with(b"\n") {
        stream.extend_from_slice(b"\r\n");
    }
    let replies = protocol.replies(&stream);
    let greeting = replies.iter().find(|r| r.kind == Kind::Greeting).cloned();
    let refusal = replies.iter().find(|r| r.kind == Kind::Refused).cloned();
    let error = replies.iter().find(|r| r.kind == Kind::Error).cloned();
    let client_seen = client_seen(protocol, &replies);
    let header = !matches!(seen.sent, Sent::Nothing | Sent::NoHeader { .. });
    let answered = replies.iter().any(|r| {
        matches!(
            r.kind,
            Kind::Greeting | Kind::Ok | Kind::Refused | Kind::Error
        )
    });
    let speaks_first = protocol.server_speaks_first();
    let decided = |finding, reply: Option<Reply>| Verdict {
        finding,
        greeting: greeting.clone(),
        reply,
        client_seen,
    };
    match seen.ending {
        Ending::Refused => return decided(Finding::NoReceiver, None),
        Ending::Unreachable => return decided(Finding::Unreachable, None),
        Ending::LocalLimit => return decided(Finding::LocalLimit, None),
        _ => {}
    }
    if seen.sent == Sent::Invalid {
        return decided(Finding::InvalidHeader, refusal.or(error));
    }
    // The header is the first thing the server reads: its answer is the
    // first reply after the greeting.
    let greeted_at = replies.iter().position(|r| r.kind == Kind::Greeting);
    // The replies after the greeting (all of them, without one).
    let after_greeting = &replies[greeted_at.map_or(0, |at| at + 1)..];
    if let Some(r) = after_greeting
        .first()
        .filter(|r| header && r.kind == Kind::Refused)
    {
        if refuses_header(protocol, r) {
            return decided(Finding::UnexpectedHeader, Some(r.clone()));
        }
    }
    // Nothing, or the protocol's own opening (not another protocol's
    // request, which the server refuses for what it is).
    let own_words =
        !seen.foreign_client && matches!(seen.sent, Sent::Nothing | Sent::NoHeader { .. });
    if let Some(r) = refusal.as_ref().filter(|r| {
        own_words && greeting.is_some() && refuses_a_header_line(protocol, r, seen.before)
    }) {
        // No header from the client, yet the server refused one (the
        // seed, in a mail or database server's words): a hop in between
        // adds a header this server does not read.
        return decided(Finding::HopAddsHeader, Some(r.clone()));
    }
    if speaks_first && greeting.is_none() && !header {
        // Not greeted: the server waits for a header, and says so (SMTP
        // 421 after its timeout) or not (silence, a close).
        if !replies.iter().any(|r| r.kind == Kind::Foreign) {
            return decided(Finding::MissingHeader, error);
        }
    }
    if speaks_first && greeting.is_some() && header && seen.greeted_first {
        // Greeted before the header came, and no refusal: only an answer
        // after the greeting (MariaDB names the header's client in it)
        // shows the header was read; without one the server may yet take
        // the header for a command.
        let went_on = after_greeting
            .iter()
            .any(|r| matches!(r.kind, Kind::Ok | Kind::Error));
        if !went_on {
            return decided(Finding::BannerBeforeHeader, greeting.clone());
        }
    }
    if speaks_first && greeting.is_some() && matches!(seen.sent, Sent::Header { .. }) {
        // Greeted, then the opening met a hang-up or silence: a server
        // that greets before it reads anything (MariaDB) says nothing
        // about the header in its greeting, and one that read the header
        // answers the opening (a login error, EHLO's 250). A hang-up is
        // the refusal (its words, if the server said any, lost to the
        // reset); silence is no reply. Only where the opening was sent: a
        // recorded client that said nothing was not answered either.
        let went_on = after_greeting.iter().any(|r| r.kind != Kind::Partial);
        if !went_on && seen.after.is_some() {
            match seen.ending {
                Ending::ServerClosed | Ending::ServerReset => {
                    return decided(Finding::HeaderRejected, None)
                }
                Ending::TimedOut => return decided(Finding::NoReply, None),
                _ => {}
            }
        }
    }
    if speaks_first && greeting.is_some() {
        let finding = match seen.sent {
            Sent::Local { .. } => Finding::HealthCheck,
            Sent::Stacked => Finding::StackedHeader,
            _ if header => Finding::Proxied,
            _ => Finding::Plain,
        };
        // The server's words that matter: a refusal, an error after the
        // greeting (MariaDB's login error names the client it sees), else
        // the greeting itself.
        let answer = after_greeting
            .iter()
            .find(|r| r.kind == Kind::Error)
            .cloned();
        let reply = refusal.or(answer).or_else(|| greeting.clone());
        return decided(finding, reply);
    }
    if speaks_first
        && greeting.is_none()
        && !replies.is_empty()
        && replies
            .iter()
            .all(|r| matches!(r.kind, Kind::Foreign | Kind::Partial))
    {
        // Bytes, but no greeting or reply of this protocol: the server
        // speaks another one; nothing here says what it made of the header.
        return decided(Finding::Inconclusive, None);
    }
    if matches!(seen.sent, Sent::Local { .. }) && !answered {
        // A LOCAL header hung up on, or left unanswered: the health check
        // fails.
        match seen.ending {
            Ending::ServerClosed | Ending::ServerReset => {
                return decided(Finding::HeaderRejected, None)
            }
            Ending::TimedOut => return decided(Finding::NoReply, None),
            _ => {}
        }
    }
    // Client-first protocols, and servers that answered in another
    // protocol: the judge's rules on the first reply.
    let first = replies.first();
    let answer = match first.map(|r| r.kind) {
        None | Some(Kind::Partial) if !answered => Answer::Nothing,
        Some(Kind::Refused) if protocol == Protocol::Http => Answer::of(&stream),
        Some(Kind::Error) if protocol == Protocol::Tls => Answer::TlsAlert,
        _ => Answer::Other,
    };
    let finding = match (first.map(|r| r.kind), header) {
        (Some(Kind::Refused), true) => Finding::UnexpectedHeader,
        (Some(Kind::Error), _) if protocol != Protocol::Tls => Finding::HttpError,
        _ => judge::exchange(&Exchange {
            sent: seen.sent,
            answer,
            ending: seen.ending,
            udp: false,
        }),
    };
    decided(finding, refusal.or(error).or_else(|| first.cloned()))
}

/// The client address the server named in its replies, where the
/// protocol's replies name one: MySQL's `Host '…'` and `'user'@'…'`, an
/// SMTP reply's `[…]` (Exim's and Sendmail's `250` to EHLO, `Hello name
/// [203.0.113.7]`; Postfix's rejections, `<unknown[203.0.113.7]>`).
pub(super) fn client_seen(protocol: Protocol, replies: &[Reply]) -> Option<IpAddr> {
    replies.iter().find_map(|r| match protocol {
        Protocol::Mysql => mysql::client_seen(&r.words),
        Protocol::Smtp => smtp::client_seen(&r.words),
        // ppctl's stand-in names it in Dovecot's greeting (`… ready.
        // Client 203.0.113.7.`).
        Protocol::Imap | Protocol::Pop3 if r.kind == Kind::Greeting => {
            standin::client_named(&r.words)
        }
        _ => None,
    })
}

/// Whether `reply` can only be a refusal of a PROXY header line (or a v2
/// header's bytes), never of the client's own opening: SMTP's `500`
/// (EHLO is never unrecognized), IMAP's reply tagged `PROXY`, OpenSSH's
/// invalid identification (ppctl's is valid), MariaDB's `Proxy header is
/// not accepted`, and POP3's `-ERR` when it came before the opening was
/// sent (`before`).
fn refuses_a_header_line(protocol: Protocol, reply: &Reply, before: &[u8]) -> bool {
    match protocol {
        Protocol::Smtp => reply.code == Some(500),
        Protocol::Imap => reply.words.starts_with("PROXY "),
        Protocol::Ssh => reply.words.starts_with("Invalid SSH identification"),
        Protocol::Mysql => mysql::refuses_header(reply),
        Protocol::Pop3 => {
            let text = String::from_utf8_lossy(before);
            text.contains(reply.words.as_str())
        }
        _ => false,
    }
}

/// Whether the first refusal after a header is the server refusing the
/// header itself.
fn refuses_header(protocol: Protocol, reply: &Reply) -> bool {
    match protocol {
        // The header line is the first "command" the server reads.
        Protocol::Smtp | Protocol::Pop3 | Protocol::Ssh | Protocol::Redis | Protocol::Http => true,
        // Dovecot echoes the header's first word as the tag.
        Protocol::Imap => reply.words.starts_with("PROXY ") || reply.words.starts_with("* BAD"),
        Protocol::Mysql => mysql::refuses_header(reply),
        _ => false,
    }
}

#[cfg(test)]
#[path = "../../tests/common/transcript.rs"]
pub(crate) mod transcript;

#[cfg(test)]
mod tests;
