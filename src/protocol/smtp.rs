//! SMTP (RFC 5321): the server greets with `220`; replies are lines
//! `NNN-text` continued until a line `NNN text`. Postfix without PROXY
//! support reads a header as a command (`500 5.5.2 Error: command not
//! recognized`); with `smtpd_upstream_proxy_protocol = haproxy` it does not
//! greet a client without a header and ends with `421 4.3.0 <host> Server
//! local error` (postscreen: `421 4.3.2 No system resources`).

use std::net::IpAddr;

use super::{lines, text, Kind, Reply};
use crate::judge::Finding;

/// EHLO with a name that can't be anyone's (RFC 2606 `.invalid`).
pub(super) const OPENING: &[u8] = b"EHLO ppctl.invalid\r\n";

pub(super) fn is_greeting(first: &[u8]) -> bool {
    first.len() >= 4 && first.starts_with(b"220") && matches!(first[3], b' ' | b'-' | b'\r')
}

/// The replies in `bytes`: multi-line replies joined, the first `220`
/// reply the greeting.
pub(super) fn replies(bytes: &[u8]) -> Vec<Reply> {
    let (lines, rest) = lines(bytes);
    let mut out: Vec<Reply> = Vec::new();
    let mut open: Option<(usize, u16, String)> = None; // (len so far, code, first line)
    for (line, len) in lines {
        let code = reply_code(line);
        let Some(code) = code else {
            out.push(Reply::new(Kind::Foreign, len, &text(line)));
            open = None;
            continue;
        };
        let (so_far, first) = match open.take() {
            Some((so_far, c, first)) if c == code => (so_far, first),
            _ => (0, text(line)),
        };
        if line.get(3) == Some(&b'-') {
            open = Some((so_far + len, code, first));
            continue;
        }
        let greeting = code == 220 && !out.iter().any(|r| r.kind == Kind::Greeting);
        let kind = match code {
            220 if greeting => Kind::Greeting,
            // 221 closes the session as asked (QUIT's answer), unless it
            // says why (Postfix to a non-SMTP command: `221 2.7.0 Error: I
            // can break rules, too. Goodbye.`). 421 ends it on the
            // server's own account.
            221 if !first.contains("Error") => Kind::Ok,
            221 | 421 => Kind::Error,
            200..=399 => Kind::Ok,
            400..=499 => Kind::Error,
            _ => Kind::Refused,
        };
        out.push(Reply::new(kind, so_far + len, &first).with_code(code));
    }
    if let Some((so_far, code, first)) = open {
        out.push(Reply::new(Kind::Partial, so_far + rest.len(), &first).with_code(code));
    } else if !rest.is_empty() {
        out.push(Reply::new(Kind::Partial, rest.len(), &text(rest)));
    }
    out
}

/// `NNN` followed by a space, a hyphen or the end of the line.
fn reply_code(line: &[u8]) -> Option<u16> {
    let digits = line.get(..3)?;
    if !digits.iter().all(u8::is_ascii_digit) || !matches!(line.get(3), None | Some(b' ' | b'-')) {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse().ok()
}

/// The address a reply names in brackets: Exim's and Sendmail's `250`
/// to EHLO (`Hello ppctl.invalid [203.0.113.7]`), Postfix's rejections
/// (`<unknown[203.0.113.7]>`), its `smtpd_reject_footer` with
/// `[$client_address]`. `IPv6:` is RFC 5321's address literal prefix.
pub(super) fn client_seen(words: &str) -> Option<IpAddr> {
    words.split('[').skip(1).find_map(|rest| {
        let inside = rest.split(']').next()?;
        let inside = inside.strip_prefix("IPv6:").unwrap_or(inside);
        inside.parse().ok()
    })
}

/// Postfix's fixes (see [`super::Protocol::fixes`]).
pub(super) fn fixes(finding: Finding) -> Option<&'static [&'static str]> {
    match finding {
        Finding::UnexpectedHeader | Finding::BannerBeforeHeader => {
            Some(&["postfix-upstream-proxy-protocol", "disable-at-sender"])
        }
        Finding::MissingHeader | Finding::HeaderTimeout => Some(super::SEND_A_HEADER),
        Finding::Spoofable => Some(&["postfix-proxy-port-private"]),
        Finding::NoReply => Some(super::SILENT_SERVER),
        _ => None,
    }
}

// ------------------------------------------------------------------ stand-in

/// The stand-in's host name (Postfix's `myhostname` in the recordings).
pub(super) const HOST: &str = "mail.ppctl.test";

/// Postfix's `smtpd_hard_error_limit`: after this many errors, `421` and a
/// close.
const HARD_ERROR_LIMIT: u32 = 20;

/// Postfix's EHLO features, as recorded (no TLS, no AUTH).
const FEATURES: [&str; 8] = [
    "PIPELINING",
    "SIZE 10240000",
    "VRFY",
    "ETRN",
    "ENHANCEDSTATUSCODES",
    "8BITMIME",
    "DSN",
    "CHUNKING",
];

/// Postfix's banner (`smtpd_banner = $myhostname ESMTP $mail_name`).
pub(super) fn greeting() -> String {
    format!("220 {HOST} ESMTP ppctl-test\r\n")
}

/// `smtpd_upstream_proxy_protocol = haproxy`, and no header (in time, or
/// bytes that are not one).
pub(super) fn no_header() -> String {
    format!("421 4.3.0 {HOST} Server local error\r\n")
}

/// One SMTP session of Postfix's smtpd, before any mail is taken.
#[derive(Debug, Default)]
pub(super) struct Session {
    helo: bool,
    mail: bool,
    errors: u32,
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
        let mut words = text.split(' ');
        let verb = words.next().unwrap_or_default().to_ascii_uppercase();
        let arg = words.next().unwrap_or_default();
        let ok = |s: &str| (format!("{s}\r\n"), None);
        if !line.first().is_some_and(u8::is_ascii_alphabetic) {
            return self.error("500 5.5.2 Error: bad syntax");
        }
        match verb.as_str() {
            "EHLO" | "HELO" if arg.is_empty() => {
                self.error(&format!("501 Syntax: {verb} hostname"))
            }
            "EHLO" => {
                self.helo = true;
                let mut out = format!("250-{HOST} Hello {arg} [{}]\r\n", who.client);
                for (i, f) in FEATURES.iter().enumerate() {
                    let sep = if i + 1 == FEATURES.len() { ' ' } else { '-' };
                    out.push_str(&format!("250{sep}{f}\r\n"));
                }
                (out, None)
            }
            "HELO" => {
                self.helo = true;
                ok(&format!("250 {HOST} Hello {arg} [{}]", who.client))
            }
            "QUIT" => ("221 2.0.0 Bye\r\n".into(), Some(Hangup::Quit)),
            "NOOP" | "RSET" => ok("250 2.0.0 Ok"),
            // smtpd_forbidden_commands: a web client at a mail port.
            "GET" | "POST" | "CONNECT" => (
                "221 2.7.0 Error: I can break rules, too. Goodbye.\r\n".into(),
                Some(Hangup::Refused),
            ),
            "MAIL" | "RCPT" | "DATA" if !self.helo => {
                self.error("503 5.5.1 Error: send HELO/EHLO first")
            }
            "MAIL" => {
                self.mail = true;
                ok("250 2.1.0 Ok")
            }
            "RCPT" if !self.mail => self.error("503 5.5.1 Error: need MAIL command"),
            // reject_unknown_client_hostname, with smtpd_peername_lookup
            // = no: the client is named, no mail is taken.
            "RCPT" => self.error(&format!(
                "450 4.7.25 Client host rejected: cannot find your hostname, [{}]",
                who.client
            )),
            "DATA" => self.error("503 5.5.1 Error: need RCPT command"),
            "VRFY" => ok(&format!("252 2.0.0 {arg}")),
            "AUTH" => self.error("503 5.5.1 Error: authentication not enabled"),
            "STARTTLS" => self.error("502 5.5.1 Error: command not implemented"),
            _ if verb.ends_with(':') => (
                "221 2.7.0 Error: I can break rules, too. Goodbye.\r\n".into(),
                Some(Hangup::Refused),
            ),
            _ => self.error("500 5.5.2 Error: command not recognized"),
        }
    }

    /// An error reply, counted: the last one allowed is `421`.
    fn error(&mut self, reply: &str) -> (String, Option<super::standin::Hangup>) {
        self.errors += 1;
        if self.errors >= HARD_ERROR_LIMIT {
            return (
                format!("421 4.7.0 {HOST} Error: too many errors\r\n"),
                Some(super::standin::Hangup::Refused),
            );
        }
        (format!("{reply}\r\n"), None)
    }
}
