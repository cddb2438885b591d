//! Cause and fix for each broken cell of the matrix. The fixes are entries
//! of the shared table ([`crate::judge::fixes`]); this file only says
//! which entries fit which pair, and why the pair fails. The 400 case takes
//! `send`'s list, so both commands give the same advice for the same reply.

use serde::Serialize;

use crate::judge::fixes::{self as table, Fix};
use crate::listen::Mode;
use crate::send::explain::{self, Verdict as SendVerdict};

use super::Sender;

/// Why a cell is broken, and what to change.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Diagnosis {
    /// Field-guide failure id: PP-UNEXPECTED, PP-MISSING or PP-SPOOF.
    pub id: &'static str,
    pub cause: String,
    pub fixes: Vec<&'static Fix>,
}

/// The diagnosis for a sender/receiver pair, or `None` for a healthy pair.
pub fn diagnose(sender: Sender, receiver: Mode) -> Option<Diagnosis> {
    match (sender, receiver) {
        (Sender::V1 | Sender::V2, Mode::Off) => Some(Diagnosis {
            id: "PP-UNEXPECTED",
            cause: format!(
                "the sender puts a {} PROXY header in front of the request, but the receiver does not expect one: nginx reads the header as the request line and answers `400 Bad Request`",
                sender.name()
            ),
            fixes: explain::fixes(SendVerdict::NotExpectingProxy, true),
        }),
        (Sender::None, Mode::Require) => Some(Diagnosis {
            id: "PP-MISSING",
            cause: "the receiver requires a PROXY header (nginx `listen ... proxy_protocol`) but this client sent none: a health check, a pod reaching the ingress directly (hairpin past the LB), or a load balancer whose PROXY option is off. nginx logs `broken header: \"GET / ...\" while reading PROXY protocol` and closes without a reply".into(),
            fixes: table::collect([
                "enable-at-sender",
                "aws-nlb-proxy-protocol-v2",
                "haproxy-send-proxy",
                "client-send-header",
                "route-through-lb",
                "hairpin-ip-mode-proxy",
                "nginx-remove-proxy-protocol",
            ]),
        }),
        (_, Mode::Auto) => Some(Diagnosis {
            id: "PP-SPOOF",
            cause: "works, but a port that accepts a header or none lets any client that reaches it forge its address (the spec says a receiver MUST NOT guess)".into(),
            fixes: table::collect(["require-header-and-allowlist", "ingress-nginx-real-ip-cidr"]),
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_pair_resolves_its_fixes() {
        // `collect` panics on an unknown id: walk every pair once.
        for s in Sender::ALL {
            for r in super::super::RECEIVERS {
                if let Some(d) = diagnose(s, r) {
                    assert!(!d.fixes.is_empty(), "{s:?} {r:?}");
                }
            }
        }
    }
}
