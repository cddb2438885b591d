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
