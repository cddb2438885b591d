//! SSH (RFC 4253 §4.2): the server sends its identification line
//! `SSH-2.0-…` (possibly after other lines) and expects the client's; then
//! binary packets (KEXINIT first). OpenSSH has no PROXY support: a header
//! where the client's identification should be gets `Invalid SSH
//! identification string.` and a close (log: `kex_exchange_identification:
//! client sent invalid protocol identifier "PROXY TCP4 …"`).

use super::{lines, text, Kind, Reply};

/// The client's identification line.
pub(super) const OPENING: &[u8] = b"SSH-2.0-ppctl\r\n";

pub(super) fn is_greeting(first: &[u8]) -> bool {
    first.starts_with(b"SSH-")
}

pub(super) fn replies(bytes: &[u8]) -> Vec<Reply> {
    let mut out: Vec<Reply> = Vec::new();
    let mut at = 0;
    // Text lines until the identification; binary packets after it.
    while at < bytes.len() {
        let greeted = out.iter().any(|r| r.kind == Kind::Greeting);
        let rest = &bytes[at..];
        if greeted && !rest.starts_with(b"Invalid SSH") && !rest.starts_with(b"Protocol mismatch") {
            // A binary packet: uint32 length, then that many bytes.
            let Some(len) = rest
                .get(..4)
                .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize)
            else {
                out.push(Reply::new(Kind::Partial, rest.len(), ""));
                break;
            };
            let total = 4 + len;
            if rest.len() < total || len > 256 * 1024 {
                let kind = if len > 256 * 1024 {
                    Kind::Foreign
                } else {
                    Kind::Partial
                };
                out.push(Reply::new(kind, rest.len(), "an SSH packet"));
                break;
            }
            let message = rest.get(5).copied().unwrap_or(0);
            let words = if message == 20 {
                "KEXINIT"
            } else {
                "an SSH packet"
            };
            out.push(Reply::new(Kind::Ok, total, words));
            at += total;
            continue;
        }
        let (mut lines, tail) = lines(rest);
        if lines.is_empty() {
            out.push(Reply::new(Kind::Partial, tail.len(), &text(tail)));
            break;
        }
        let (line, len) = lines.remove(0);
        let words = text(line);
        let kind = if line.starts_with(b"SSH-") && !greeted {
            Kind::Greeting
        } else if line.starts_with(b"Invalid SSH identification string")
            || line.starts_with(b"Protocol mismatch")
        {
            Kind::Refused
        } else if greeted {
            Kind::Foreign
        } else {
            // Lines a server may send before its identification.
            Kind::Ok
        };
        out.push(Reply::new(kind, len, &words));
        at += len;
    }
    out
}
