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
        Finding::NoReply => Some(super::SILENT_SERVER),
        _ => None,
    }
}

// ------------------------------------------------------------------ stand-in

/// Dovecot's limit of bad commands before login: the last gets `* BYE`.
pub(super) const MAX_BAD: u32 = 3;

/// Dovecot's pre-login capabilities: plaintext login for a secured
/// (loopback) client, `LOGINDISABLED` for others without TLS.
fn capabilities(who: &super::standin::Who) -> String {
    let auth = if who.local() {
        "AUTH=PLAIN"
    } else {
        "LOGINDISABLED"
    };
    format!("IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ {auth}")
}

/// Dovecot's greeting, naming the client after its `ready.`.
pub(super) fn greeting(who: &super::standin::Who) -> String {
    format!(
        "* OK [CAPABILITY {}] Dovecot (Debian) ready. Client {}.\r\n",
        capabilities(who),
        who.client
    )
}

/// One IMAP session of Dovecot's imap-login, before a login.
#[derive(Debug, Default)]
pub(super) struct Session {
    bad: u32,
}

impl Session {
    /// The reply to one command line (`tag COMMAND ...`).
    pub(super) fn answer(
        &mut self,
        who: &super::standin::Who,
        line: &[u8],
    ) -> (String, Option<super::standin::Hangup>) {
        use super::standin::Hangup;
        let text = String::from_utf8_lossy(line);
        let (tag, rest) = text.split_once(' ').unwrap_or((&text, ""));
        let tag_ok = !tag.is_empty()
            && tag
                .bytes()
                .all(|b| b.is_ascii_graphic() && !b"(){%*\"\\+".contains(&b));
        if !tag_ok {
            return self.bad("*");
        }
        let command = rest
            .split(' ')
            .next()
            .unwrap_or_default()
            .to_ascii_uppercase();
        match command.as_str() {
            "CAPABILITY" => (
                format!(
                    "* CAPABILITY {}\r\n{tag} OK Pre-login capabilities listed, post-login capabilities have more.\r\n",
                    capabilities(who)
                ),
                None,
            ),
            "LOGOUT" => (
                format!("* BYE Logging out\r\n{tag} OK Logout completed.\r\n"),
                Some(Hangup::Quit),
            ),
            "NOOP" => (format!("{tag} OK NOOP completed.\r\n"), None),
            "ID" => (format!("* ID NIL\r\n{tag} OK ID completed.\r\n"), None),
            "STARTTLS" => (format!("{tag} BAD TLS support isn't enabled.\r\n"), None),
            "LOGIN" | "AUTHENTICATE" if !who.local() => (
                format!("{tag} NO [PRIVACYREQUIRED] Plaintext authentication disallowed on non-secure (SSL/TLS) connections.\r\n"),
                None,
            ),
            "LOGIN" | "AUTHENTICATE" => (
                format!("{tag} NO [AUTHENTICATIONFAILED] Authentication failed.\r\n"),
                None,
            ),
            _ => self.bad(tag),
        }
    }

    /// `BAD` for a command Dovecot can't read, counted; the last allowed
    /// is `* BYE` and a close.
    fn bad(&mut self, tag: &str) -> (String, Option<super::standin::Hangup>) {
        self.bad += 1;
        if self.bad >= MAX_BAD {
            return (
                "* BYE Too many invalid IMAP commands.\r\n".into(),
                Some(super::standin::Hangup::Refused),
            );
        }
        (
            format!("{tag} BAD Error in IMAP command received by server.\r\n"),
            None,
        )
    }
}
