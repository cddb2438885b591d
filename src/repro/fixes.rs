//! Cause and fix for each broken cell of the matrix.
//!
//! The texts live in this ONE function until the shared fixes table
//! (src/diagnose/fixes.rs, branch `diag`) is on main; the 400 case reuses
//! `send`'s list so the two commands say the same thing. When the table
//! lands, the entries map to its ids: PP-UNEXPECTED ->
//! ingress-nginx-use-proxy-protocol, nginx-listen-proxy-protocol,
//! haproxy-accept-proxy, disable-at-sender; PP-MISSING -> enable-at-sender,
//! haproxy-send-proxy, nginx-stream-send-proxy-protocol, client-send-header,
//! route-through-lb, nginx-remove-proxy-protocol; PP-SPOOF ->
//! require-header-and-allowlist.

use serde::Serialize;

use crate::send::explain::{self, Verdict as SendVerdict};

use super::Sender;
use crate::listen::Mode;

/// Why a cell is broken, and what to change.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Diagnosis {
    /// Field-guide failure id (F1 PP-UNEXPECTED, F2 PP-MISSING, F9 PP-SPOOF).
    pub id: &'static str,
    pub cause: String,
    pub fixes: Vec<explain::Fix>,
}

/// The diagnosis for a sender/receiver pair, or `None` for a healthy pair.
pub fn diagnose(sender: Sender, receiver: Mode) -> Option<Diagnosis> {
    let fix = |place, fix| explain::Fix { place, fix };
    match (sender, receiver) {
        (Sender::V1 | Sender::V2, Mode::Off) => {
            let mut fixes = explain::fixes(SendVerdict::NotExpectingProxy);
            fixes.push(fix(
                "the cloud load balancer",
                "or switch its PROXY protocol option off: AWS NLB target-group attribute proxy_protocol_v2.enabled=false (Service annotation service.beta.kubernetes.io/aws-load-balancer-target-group-attributes), DigitalOcean do-loadbalancer-enable-proxy-protocol, Hetzner load-balancer.hetzner.cloud/uses-proxyprotocol, GCP proxyHeader NONE",
            ));
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
            fixes: vec![
                fix("the cloud load balancer", "switch its PROXY protocol option on, in the same change as the receiver: AWS NLB target-group attribute proxy_protocol_v2.enabled=true (annotation service.beta.kubernetes.io/aws-load-balancer-proxy-protocol: \"*\" for the legacy controller), DigitalOcean do-loadbalancer-enable-proxy-protocol: \"true\", GCP proxyHeader PROXY_V1"),
                fix("HAProxy", "add send-proxy-v2 (or send-proxy for v1) to the server line, and check-send-proxy so health checks carry it too"),
                fix("nginx stream", "proxy_protocol on; in the stream server that forwards to this receiver (sends v1)"),
                fix("probes and direct clients", "curl --haproxy-protocol, or give them their own listener without proxy_protocol; for hairpin traffic set ipMode: Proxy or the LB hostname annotation"),
                fix("ingress-nginx", "or, if nothing in front sends PROXY protocol, set use-proxy-protocol: \"false\" (remove proxy_protocol from the nginx listen line)"),
            ],
        }),
        (_, Mode::Auto) => Some(Diagnosis {
            id: "PP-SPOOF",
            cause: "works, but a port that accepts a header or none lets any client that reaches it forge its address (the spec says a receiver MUST NOT guess)".into(),
            fixes: vec![
                fix("the receiver", "require the header on a dedicated port (nginx `listen ... proxy_protocol`, HAProxy `accept-proxy`) and trust only the load balancer: nginx `set_real_ip_from <LB CIDR>; real_ip_header proxy_protocol;`, ingress-nginx proxy-real-ip-cidr"),
            ],
        }),
        _ => None,
    }
}
