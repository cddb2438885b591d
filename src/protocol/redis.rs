//! Redis (RESP): the client speaks first; PING is answered `+PONG`. Errors
//! are lines starting `-`: an unknown command (a PROXY header read as one)
//! is `-ERR unknown command …`; `-NOAUTH` and `-WRONGPASS` mean the server
//! read the command and wants a login. Not recorded from a real server
//! here (Debian's redis-server starts a system service when installed).

use super::{lines, text, Kind, Reply};

/// An inline PING.
pub(super) const OPENING: &[u8] = b"PING\r\n";

pub(super) fn replies(bytes: &[u8]) -> Vec<Reply> {
    let (lines, rest) = lines(bytes);
    let mut out: Vec<Reply> = lines
        .into_iter()
        .map(|(line, len)| {
            let words = text(line);
            let kind = match line.first() {
                Some(b'-') if line.starts_with(b"-NOAUTH") || line.starts_with(b"-WRONGPASS") => {
                    Kind::Ok
                }
                Some(b'-') => Kind::Refused,
                Some(b'+' | b':' | b'$' | b'*' | b'_' | b'%' | b'>') => Kind::Ok,
                _ => Kind::Foreign,
            };
            Reply::new(kind, len, &words)
        })
        .collect();
    if !rest.is_empty() {
        out.push(Reply::new(Kind::Partial, rest.len(), &text(rest)));
    }
    out
}
