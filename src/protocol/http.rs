//! HTTP/1.x: the client speaks first (send builds the request, with the
//! target's Host); the answer's status line decides. A `400` is what nginx
//! answers a header it does not expect (the seed failure), so it is the
//! refusal; other statuses of 400 and up are the server's errors.

use super::{text, Kind, Reply};
use crate::sniff::{classify, Sniffed};

pub(super) fn replies(bytes: &[u8]) -> Vec<Reply> {
    if bytes.is_empty() {
        return Vec::new();
    }
    let line_end = memchr::memchr(b'\n', bytes).unwrap_or(bytes.len());
    let words = text(
        bytes[..line_end]
            .strip_suffix(b"\r")
            .unwrap_or(&bytes[..line_end]),
    );
    let reply = match classify(bytes) {
        Sniffed::HttpResponse { status, .. } => {
            let kind = match status {
                400 => Kind::Refused,
                401..=599 => Kind::Error,
                _ => Kind::Ok,
            };
            Reply::new(kind, bytes.len(), &words).with_code(status)
        }
        _ if line_end == bytes.len() && b"HTTP/".starts_with(&bytes[..bytes.len().min(5)]) => {
            Reply::new(Kind::Partial, bytes.len(), &words)
        }
        _ => Reply::new(Kind::Foreign, bytes.len(), &words),
    };
    vec![reply]
}
