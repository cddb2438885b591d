//! PostgreSQL (frontend/backend protocol 3): the client speaks first. Its
//! harmless opening is SSLRequest, answered by one byte, `S` or `N`; other
//! answers are messages of a type byte and a 4-byte length (`E`:
//! ErrorResponse, whose `M` field is the message). PostgreSQL has no PROXY
//! support: a header's first four bytes are read as a startup packet's
//! length, and the server closes without a word (log: `invalid length of
//! startup packet`).

use super::{Kind, Reply};

/// SSLRequest: length 8, code 80877103.
pub(super) const OPENING: &[u8] = b"\x00\x00\x00\x08\x04\xd2\x16\x2f";

pub(super) fn replies(bytes: &[u8]) -> Vec<Reply> {
    let mut out = Vec::new();
    let mut rest = bytes;
    // The answer to SSLRequest is a single byte.
    if out.is_empty() {
        if let Some(&b) = rest.first().filter(|&&b| b == b'N' || b == b'S') {
            if rest.len() == 1 || !rest[1..].starts_with(&[0, 0]) {
                out.push(Reply::new(Kind::Ok, 1, &(b as char).to_string()));
                rest = &rest[1..];
            }
        }
    }
    while !rest.is_empty() {
        let Some(head) = rest.get(..5) else {
            out.push(Reply::new(Kind::Partial, rest.len(), ""));
            break;
        };
        let len = u32::from_be_bytes([head[1], head[2], head[3], head[4]]) as usize;
        if !(4..=1 << 20).contains(&len) {
            out.push(Reply::new(Kind::Foreign, rest.len(), ""));
            break;
        }
        let Some(body) = rest.get(5..1 + len) else {
            out.push(Reply::new(Kind::Partial, rest.len(), ""));
            break;
        };
        let reply = match head[0] {
            b'E' => Reply::new(Kind::Error, 1 + len, &field(body, b'M')),
            b'R' | b'S' | b'K' | b'Z' | b'N' => Reply::new(Kind::Ok, 1 + len, ""),
            _ => Reply::new(Kind::Foreign, 1 + len, ""),
        };
        out.push(reply);
        rest = &rest[1 + len..];
    }
    out
}

/// A field of an ErrorResponse: type byte, NUL-terminated text.
fn field(body: &[u8], wanted: u8) -> String {
    body.split(|&b| b == 0)
        .find(|f| f.first() == Some(&wanted))
        .map(|f| String::from_utf8_lossy(&f[1..]).into_owned())
        .unwrap_or_default()
}
