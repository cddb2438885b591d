//! Cause and fix for each broken cell of the matrix. The fixes are entries
//! of the shared table ([`crate::diagnose::fixes`]); the 400 case reuses
//! `send`'s list so the two commands say the same thing.

use serde::Serialize;

use crate::diagnose::fixes::{self as table, Fix};
use crate::send::explain::{self, Verdict as SendVerdict};

use super::Sender;
use crate::listen::Mode;

/// Why a cell is broken, and what to change.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Diagnosis {
    /// Field-guide failure id (F1 PP-UNEXPECTED, F2 PP-MISSING, F9 PP-SPOOF).
    pub id: &'static str,
    pub cause: String,
    pub fixes: Vec<&'static Fix>,
}

/// The diagnosis for a sender/receiver pair, or `None` for a healthy pair.
pub fn diagnose(sender: Sender, receiver: Mode) -> Option<Diagnosis> {
    match (sender, receiver) {
        (Sender::V1 | Sender::V2, Mode::Off) => {
            let fixes = explain::fixes(SendVerdict::NotExpectingProxy, true);
            Some(Diagnosis {
                id: "PP-UNEXPECTED",
                cause: format!(
                    "the sender puts a {} PROXY header in front of the request, but the receiver does not expect one: nginx reads the header as the request line and answers `400 Bad Request`",
                    sender.name()
                ),
                fixes,
            })
        }
        (Sender::None, Mode::Require) => Some(Diagnosis {
            id: "PP-MISSING",
            cause: "the receiver requires a PROXY header (nginx `listen ... proxy_protocol`) but this client sent none: a health check, a pod reaching the ingress directly (hairpin past the LB), or a load balancer whose PROXY option is off. nginx logs `broken header: \"GET / ...\" while reading PROXY protocol` and closes without a reply".into(),
            fixes: table::collect([
                "enable-at-sender",
                "haproxy-send-proxy",
                "nginx-stream-send-proxy-protocol",
                "client-send-header",
                "hairpin-ip-mode-proxy",
                "nginx-remove-proxy-protocol",
            ]),
        }),
        (_, Mode::Auto) => Some(Diagnosis {
            id: "PP-SPOOF",
            cause: "works, but a port that accepts a header or none lets any client that reaches it forge its address (the spec says a receiver MUST NOT guess)".into(),
            fixes: table::collect([
                "require-header-and-allowlist",
                "nginx-listen-proxy-protocol",
                "ingress-nginx-real-ip-cidr",
            ]),
        }),
        _ => None,
    }
}
