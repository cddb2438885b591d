//! POP3 (RFC 1939, RFC 2449): the server greets with `+OK`; an answer is
//! `+OK` or `-ERR`, and CAPA's `+OK` opens a list closed by a line `.`.
//! Dovecot without `haproxy` reads a header as a command: `-ERR Unknown
//! command.`; with `haproxy = yes` it says nothing to a client without a
//! header and closes after haproxy_timeout.

use super::{lines, text, Kind, Reply};

/// CAPA needs no login (RFC 2449).
pub(super) const OPENING: &[u8] = b"CAPA\r\n";

pub(super) fn is_greeting(first: &[u8]) -> bool {
    first.starts_with(b"+OK")
}

pub(super) fn replies(bytes: &[u8]) -> Vec<Reply> {
    let (lines, rest) = lines(bytes);
    let mut out: Vec<Reply> = Vec::new();
    // A `+OK` with more lines to come (CAPA's list) until a line `.`.
    let mut list: Option<Reply> = None;
    for (line, len) in lines {
        if let Some(mut open) = list.take() {
            open.len += len;
            if line == b"." {
                out.push(open);
            } else {
                list = Some(open);
            }
            continue;
        }
        let words = text(line);
        let greeted = out.iter().any(|r| r.kind == Kind::Greeting);
        let reply = if words.contains(super::imap::WAITING) {
            // Dovecot, when its auth process is not ready yet.
            Reply::new(Kind::Ok, len, &words)
        } else if line.starts_with(b"+OK") && !greeted {
            Reply::new(Kind::Greeting, len, &words)
        } else if line == b"+OK" {
            // A bare `+OK` after the greeting: CAPA's list follows.
            list = Some(Reply::new(Kind::Ok, len, &words));
            continue;
        } else if line.starts_with(b"+OK") {
            Reply::new(Kind::Ok, len, &words)
        } else if line.starts_with(b"-ERR") {
            Reply::new(Kind::Refused, len, &words)
        } else {
            Reply::new(Kind::Foreign, len, &words)
        };
        out.push(reply);
    }
    match list {
        Some(mut open) => {
            open.kind = Kind::Partial;
            open.len += rest.len();
            out.push(open);
        }
        None if !rest.is_empty() => out.push(Reply::new(Kind::Partial, rest.len(), &text(rest))),
        None => {}
    }
    out
}

// ------------------------------------------------------------------ stand-in

/// Dovecot's greeting, naming the client after its `ready.`.
pub(super) fn greeting(who: &super::standin::Who) -> String {
    format!("+OK Dovecot (Debian) ready. Client {}.\r\n", who.client)
}

/// One POP3 session of Dovecot's pop3-login, before a login.
#[derive(Debug, Default)]
pub(super) struct Session {
    bad: u32,
}

impl Session {
    /// The reply to one command line.
    pub(super) fn answer(
        &mut self,
        who: &super::standin::Who,
        line: &[u8],
    ) -> (String, Option<super::standin::Hangup>) {
        use super::standin::Hangup;
        let text = String::from_utf8_lossy(line);
        let command = text
            .split(' ')
            .next()
            .unwrap_or_default()
            .to_ascii_uppercase();
        let reply = |s: &str| (format!("{s}\r\n"), None);
        const PLAINTEXT: &str =
            "-ERR [AUTH] Plaintext authentication disallowed on non-secure (SSL/TLS) connections.";
        match command.as_str() {
            "CAPA" => {
                // A secured (loopback) client may log in with USER and
                // SASL PLAIN; others see no mechanism (as recorded).
                let auth = if who.local() {
                    "USER\r\nSASL PLAIN"
                } else {
                    "SASL"
                };
                (
                    format!("+OK\r\nCAPA\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nPIPELINING\r\nAUTH-RESP-CODE\r\n{auth}\r\n.\r\n"),
                    None,
                )
            }
            "QUIT" => ("+OK Logging out\r\n".into(), Some(Hangup::Quit)),
            "USER" | "AUTH" if !who.local() => reply(PLAINTEXT),
            "USER" => reply("+OK"),
            "PASS" => reply("-ERR [AUTH] Authentication failed."),
            "STLS" => reply("-ERR TLS support isn't enabled."),
            _ => {
                self.bad += 1;
                if self.bad >= super::imap::MAX_BAD {
                    return (
                        "-ERR Too many invalid bad commands.\r\n".into(),
                        Some(Hangup::Refused),
                    );
                }
                reply("-ERR Unknown command.")
            }
        }
    }
}
