//! IMAP (RFC 9051): the server greets with `* OK` (or `* PREAUTH`, or
//! `* BYE` to refuse); a command is `tag NAME`, answered by untagged `*`
//! lines and one tagged `tag OK|NO|BAD` line. Dovecot without `haproxy`
//! reads a header as a command tagged `PROXY` and answers `PROXY BAD Error
//! in IMAP command received by server.`; with `haproxy = yes` it says
//! nothing to a client without a header and closes after haproxy_timeout.

use super::{lines, text, Kind, Reply};
use crate::judge::Finding;

/// CAPABILITY needs no login, and every server answers it.
pub(super) const OPENING: &[u8] = b"a1 CAPABILITY\r\n";

/// Dovecot's notice before its greeting while its auth process starts.
pub(super) const WAITING: &str = "Waiting for authentication process to respond";

pub(super) fn is_greeting(first: &[u8]) -> bool {
    first.starts_with(b"* OK") || first.starts_with(b"* PREAUTH")
}

pub(super) fn replies(bytes: &[u8]) -> Vec<Reply> {
    let (lines, rest) = lines(bytes);
    let mut out: Vec<Reply> = Vec::new();
    for (line, len) in lines {
        let words = text(line);
        let greeted = out.iter().any(|r| r.kind == Kind::Greeting);
        let kind = match words.split_once(' ') {
            Some(("*", status)) => {
                let status = status.split(' ').next().unwrap_or("");
                match status {
                    // Dovecot, when its auth process is not ready yet: a
                    // notice before the real greeting.
                    "OK" if words.contains(WAITING) => Kind::Ok,
                    "OK" | "PREAUTH" if !greeted => Kind::Greeting,
                    "BYE" if !greeted => Kind::Error,
                    "BAD" | "NO" => Kind::Refused,
                    _ => Kind::Ok,
                }
            }
            Some((_tag, status)) => match status.split(' ').next().unwrap_or("") {
                "OK" => Kind::Ok,
                "BAD" | "NO" => Kind::Refused,
                _ => Kind::Foreign,
            },
            None => Kind::Foreign,
        };
        out.push(Reply::new(kind, len, &words));
    }
    if !rest.is_empty() {
        out.push(Reply::new(Kind::Partial, rest.len(), &text(rest)));
    }
    out
}

/// Dovecot's fixes, for IMAP and POP3 (see [`super::Protocol::fixes`]).
pub(super) fn fixes(finding: Finding) -> Option<&'static [&'static str]> {
    match finding {
        Finding::UnexpectedHeader | Finding::BannerBeforeHeader => {
            Some(&["dovecot-haproxy", "disable-at-sender"])
        }
        Finding::MissingHeader | Finding::HeaderTimeout => Some(super::SEND_A_HEADER),
        Finding::UntrustedSource | Finding::HeaderRejected => {
            Some(&["dovecot-haproxy-trusted-networks", "match-version"])
        }
        _ => None,
    }
}
