//! TLS: the client speaks first (its ClientHello, made by the TLS client);
//! the server's first record says whether it took the handshake (a
//! handshake record) or refused it (an alert). Plain text instead means the
//! port does not speak TLS (nginx answers a plain `400` there).

use super::{Kind, Reply};

const HANDSHAKE: u8 = 0x16;
const ALERT: u8 = 0x15;

pub(super) fn replies(bytes: &[u8]) -> Vec<Reply> {
    let Some(&content_type) = bytes.first() else {
        return Vec::new();
    };
    let record = bytes.get(1) == Some(&0x03);
    let reply = match content_type {
        HANDSHAKE if record => Reply::new(Kind::Ok, bytes.len(), "a TLS handshake record"),
        ALERT if record => Reply::new(Kind::Error, bytes.len(), "a TLS alert"),
        _ if bytes.len() < 2 => Reply::new(Kind::Partial, bytes.len(), ""),
        _ => Reply::new(Kind::Foreign, bytes.len(), ""),
    };
    vec![reply]
}
