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
        // A header from outside proxy_protocol_networks: error 1130; a
        // hang-up after the greeting is the same refusal with its 1130
        // lost to the reset.
        Finding::UntrustedSource | Finding::HeaderRejected => {
            Some(&["mariadb-proxy-protocol-networks"])
        }
        Finding::Spoofable | Finding::BannerBeforeHeader => Some(&[
            "mariadb-proxy-networks-narrow",
            "mariadb-proxy-protocol-networks",
        ]),
        // Greeted, then no answer to the login: a server that reads the
        // header answers it (MariaDB reads it with the first packet).
        Finding::NoReply => Some(&["match-version"]),
        _ => None,
    }
}

// ------------------------------------------------------------------ stand-in

use super::standin::{Answer, Hangup, Who};

/// MariaDB 10.11's server version as it greets (`5.5.5-` for old clients).
const VERSION: &str = "5.5.5-10.11.19-MariaDB-0+deb12u1";

/// MariaDB's handshake packet as recorded (protocol 10, the version, the
/// thread id, the salt, capabilities without SSL,
/// `mysql_native_password`); the thread id is the connection's number.
pub(super) fn greeting(thread: u64) -> Vec<u8> {
    let mut p = vec![10u8];
    p.extend_from_slice(VERSION.as_bytes());
    p.push(0);
    p.extend_from_slice(&(thread as u32).to_le_bytes());
    p.extend_from_slice(b"bkqv}3#U\x00");
    p.extend_from_slice(b"\xfe\xf7\x08\x02\x00\xff\x81\x15");
    p.extend_from_slice(&[0; 6]);
    p.extend_from_slice(b"\x1d\x00\x00\x00bm|I8y|$8/#`\x00mysql_native_password\x00");
    packet_bytes(0, &p)
}

/// A packet: 3-byte length, sequence number, payload.
fn packet_bytes(sequence: u8, payload: &[u8]) -> Vec<u8> {
    let len = (payload.len() as u32).to_le_bytes();
    let mut out = vec![len[0], len[1], len[2], sequence];
    out.extend_from_slice(payload);
    out
}

/// An error packet: `0xff`, the number, `#`, the SQLSTATE, the message.
fn error(sequence: u8, code: u16, state: &str, message: &str) -> Vec<u8> {
    let mut p = vec![0xff];
    p.extend_from_slice(&code.to_le_bytes());
    p.push(b'#');
    p.extend_from_slice(state.as_bytes());
    p.extend_from_slice(message.as_bytes());
    packet_bytes(sequence, &p)
}

/// Error 1130 to a header from a peer outside `proxy_protocol_networks`.
pub(super) fn header_refused(peer: IpAddr) -> Vec<u8> {
    error(
        1,
        HOST_NOT_PRIVILEGED,
        "HY000",
        &format!("Proxy header is not accepted from {peer}"),
    )
}

/// Error 1130 to a client the grant tables don't know (the stand-in's
/// grants are MariaDB's after install: local users only).
fn host_not_allowed(sequence: u8, client: IpAddr) -> Vec<u8> {
    error(
        sequence,
        HOST_NOT_PRIVILEGED,
        "HY000",
        &format!("Host '{client}' is not allowed to connect to this MariaDB server"),
    )
}

/// One MariaDB connection before a login.
#[derive(Debug, Default)]
pub(super) struct Session;

impl Session {
    /// A header was taken: MariaDB checks the new host at once.
    pub(super) fn header_taken(&mut self, who: &Who) -> Answer {
        if who.local() {
            return Answer::default();
        }
        Answer {
            bytes: host_not_allowed(1, who.client),
            close: Some(Hangup::Refused),
            ..Answer::default()
        }
    }

    /// The client's first packet (its login) gets the error that names
    /// it; a packet out of sequence (not a MySQL client: an HTTP request)
    /// gets MariaDB's `Got packets out of order`. Either ends the session.
    pub(super) fn answer(&mut self, who: &Who, input: &[u8]) -> Answer {
        let Some(head) = input.get(..4) else {
            return Answer::default();
        };
        if head[3] != 1 {
            return Answer {
                used: input.len(),
                bytes: error(1, 1156, "08S01", "Got packets out of order"),
                heard: vec![head.to_vec()],
                close: Some(Hangup::Refused),
            };
        }
        let len = u32::from_le_bytes([head[0], head[1], head[2], 0]) as usize;
        let Some(payload) = input.get(4..4 + len) else {
            return Answer::default();
        };
        let (user, password) = login(payload);
        let bytes = if who.local() {
            let using = if password { "YES" } else { "NO" };
            error(
                2,
                1045,
                "28000",
                &format!(
                    "Access denied for user '{user}'@'{}' (using password: {using})",
                    who.client
                ),
            )
        } else {
            host_not_allowed(2, who.client)
        };
        let using = if password { "YES" } else { "NO" };
        Answer {
            used: 4 + len,
            bytes,
            heard: vec![format!("login as '{user}' (using password: {using})").into_bytes()],
            close: Some(Hangup::Refused),
        }
    }
}

/// A client's login, when `input` starts with its HandshakeResponse41
/// whole (sequence 1): the user, and whether a password came.
pub(super) fn login_of(input: &[u8]) -> Option<(String, bool)> {
    let head = input.get(..4).filter(|h| h[3] == 1)?;
    let len = u32::from_le_bytes([head[0], head[1], head[2], 0]) as usize;
    input.get(4..4 + len).map(login)
}

/// The user of a HandshakeResponse41 (capabilities, max packet, charset,
/// 23 reserved bytes, the NUL-terminated user) and whether an auth
/// response follows it (a password).
fn login(payload: &[u8]) -> (String, bool) {
    let Some(rest) = payload.get(32..) else {
        return (String::new(), false);
    };
    let end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
    let user = String::from_utf8_lossy(&rest[..end]).into_owned();
    let password = rest.get(end + 1).is_some_and(|&n| n > 0);
    (user, password)
}
