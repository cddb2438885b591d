//! MySQL and MariaDB (the client/server protocol): packets of a 3-byte
//! length, a sequence number and a payload. The server greets first with
//! its handshake (protocol 10, the server version, a salt); an error packet
//! is `0xff`, a 2-byte error number, `#` and a SQLSTATE, and a message.
//! MariaDB greets before it reads a header, in both modes: without
//! `proxy_protocol_networks` (or from a peer outside it) a header gets
//! error 1130 `Proxy header is not accepted from <peer>`; with it, the
//! header is optional, and the next answer names the header's address
//! (`Host '203.0.113.7' is not allowed to connect`, or `Access denied for
//! user 'ppctl'@'203.0.113.7'`).

use std::net::IpAddr;

use super::{Kind, Reply};
use crate::judge::Finding;

/// A login as user `ppctl` without a password (HandshakeResponse41:
/// capabilities LONG_PASSWORD, PROTOCOL_41, SECURE_CONNECTION; max packet
/// 16 MiB; utf8; 23 zero bytes; the user; an empty auth response). No
/// server has that user, so the answer is an error that names the address
/// the server sees, and nothing is changed.
pub(super) const OPENING: &[u8] = b"'\x00\x00\x01\x01\x82\x00\x00\x00\x00\x00\x01\x21\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00ppctl\x00\x00";

/// ER_HOST_NOT_PRIVILEGED: `Host '…' is not allowed to connect`, and
/// MariaDB's `Proxy header is not accepted from …`.
const HOST_NOT_PRIVILEGED: u16 = 1130;

pub(super) fn is_greeting(first: &[u8]) -> bool {
    first.len() >= 5 && first[3] == 0 && first[4] == 10
}

pub(super) fn replies(bytes: &[u8]) -> Vec<Reply> {
    let mut out = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        let Some(head) = rest.get(..4) else {
            out.push(Reply::new(Kind::Partial, rest.len(), ""));
            break;
        };
        let len = u32::from_le_bytes([head[0], head[1], head[2], 0]) as usize;
        let Some(payload) = rest.get(4..4 + len) else {
            out.push(Reply::new(Kind::Partial, rest.len(), ""));
            break;
        };
        out.push(packet(head[3], payload, 4 + len));
        rest = &rest[4 + len..];
    }
    out
}

fn packet(sequence: u8, payload: &[u8], len: usize) -> Reply {
    match payload.first() {
        Some(10) if sequence == 0 => {
            // Protocol 10: the server version is a NUL-terminated string.
            let version = payload[1..].split(|&b| b == 0).next().unwrap_or(&[]);
            let version = String::from_utf8_lossy(version);
            // MariaDB prefixes "5.5.5-" for old clients.
            let version = version.strip_prefix("5.5.5-").unwrap_or(&version);
            Reply::new(Kind::Greeting, len, version)
        }
        Some(0xff) if payload.len() >= 3 => {
            let code = u16::from_le_bytes([payload[1], payload[2]]);
            // `#` and a 5-character SQLSTATE, then the message.
            let message = match payload.get(3) {
                Some(b'#') => payload.get(9..).unwrap_or(&[]),
                _ => &payload[3..],
            };
            let words = String::from_utf8_lossy(message).into_owned();
            let kind = if code == HOST_NOT_PRIVILEGED
                && words.starts_with("Proxy header is not accepted")
            {
                Kind::Refused
            } else {
                Kind::Error
            };
            Reply::new(kind, len, &words).with_code(code)
        }
        Some(0x00) => Reply::new(Kind::Ok, len, "OK"),
        _ => Reply::new(Kind::Foreign, len, ""),
    }
}

pub(super) fn refuses_header(reply: &Reply) -> bool {
    reply.code == Some(HOST_NOT_PRIVILEGED) && reply.kind == Kind::Refused
}

/// The address an error names as the client's: `Host '…' is not
/// allowed`, `Access denied for user '…'@'…'`, `Proxy header is not
/// accepted from …` (that one names the peer, not a header's client).
pub(super) fn client_seen(words: &str) -> Option<IpAddr> {
    let quoted = if let Some(rest) = words.strip_prefix("Host '") {
        rest.split('\'').next()
    } else if let Some(at) = words.find("'@'") {
        words[at + 3..].split('\'').next()
    } else {
        None
    };
    quoted?.parse().ok()
}

/// MariaDB's fixes (see [`super::Protocol::fixes`]).
pub(super) fn fixes(finding: Finding) -> Option<&'static [&'static str]> {
    match finding {
        Finding::UnexpectedHeader => {
            Some(&["mariadb-proxy-protocol-networks", "disable-at-sender"])
        }
        // A header from outside proxy_protocol_networks: error 1130.
        Finding::UntrustedSource => Some(&["mariadb-proxy-protocol-networks"]),
        Finding::Spoofable | Finding::BannerBeforeHeader => Some(&[
            "mariadb-proxy-networks-narrow",
            "mariadb-proxy-protocol-networks",
        ]),
        _ => None,
    }
}
