//! `ppctl send`: the library side. A [`Plan`] (what to send, how, what to
//! expect) is built from the command line by `cmd::send`; [`exchange`]
//! runs it once over [`crate::net`]; [`explain`] says what the reply means;
//! [`load`] runs it many times; [`report`] renders results.

pub mod explain;
pub mod header;
pub mod load;
pub mod preset;
pub mod report;

use std::net::SocketAddr;

use crate::net::{self, Message, Reply, Target};
use crate::sniff::{self, Sniffed};

pub use header::{AddressPlan, BuildError, HeaderPlan};
pub use preset::Preset;

/// One `send`, fully decided.
#[derive(Debug, Clone)]
pub struct Plan {
    pub target: Target,
    pub header: HeaderPlan,
    pub payload: Vec<u8>,
    /// One datagram (v2 DGRAM header + payload) instead of a TCP connection.
    pub udp: bool,
    pub net: net::Options,
    pub expect: Expect,
}

/// The default payload: a GET that asks the server to close afterwards, so
/// the reply ends with EOF instead of the keep-alive timeout.
pub fn http_get(target: &Target, path: &str) -> Vec<u8> {
    format!(
        "GET {path} HTTP/1.1\r\nHost: {}\r\nUser-Agent: ppctl/{}\r\nAccept: */*\r\nConnection: close\r\n\r\n",
        target.authority(),
        env!("CARGO_PKG_VERSION")
    )
    .into_bytes()
}

impl Plan {
    /// Build the header once with stand-in addresses, so a plan that can't
    /// be encoded fails before anything is sent.
    pub fn check(&self) -> Result<Vec<u8>, BuildError> {
        let (local, peer) = placeholder_ends(None);
        self.header.build(local, peer)
    }

    /// What explaining a reply needs to know about this plan.
    pub fn sent(&self, header: bool) -> explain::Sent {
        explain::Sent {
            header,
            udp: self.udp,
            split: self.net.split != net::Split::Whole,
            stacked: self.header.twice,
        }
    }

    fn message(&self, local: SocketAddr, peer: SocketAddr) -> Result<Message, BuildError> {
        Ok(Message {
            header: self.header.build(local, peer)?,
            payload: self.payload.clone(),
        })
    }
}

/// Run the plan once against the resolved `addrs`.
pub async fn exchange(plan: &Plan, addrs: &[SocketAddr]) -> Result<Reply, BuildError> {
    let build = |local, peer| plan.message(local, peer);
    if plan.udp {
        net::datagram_exchange(addrs, &plan.net, build).await
    } else {
        net::exchange(addrs, &plan.net, build).await
    }
}

/// The ends a `--dry-run` header shows when --src/--dst are not given:
/// the target and the local address the kernel would pick for it (found
/// with an unsent UDP "connect"); the source port is 0 because the real one
/// only exists after connect.
pub fn placeholder_ends(peer: Option<SocketAddr>) -> (SocketAddr, SocketAddr) {
    let peer = peer.unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 80)));
    let any: SocketAddr = if peer.is_ipv4() {
        SocketAddr::from(([0, 0, 0, 0], 0))
    } else {
        SocketAddr::from(([0u16; 8], 0))
    };
    let local_ip = std::net::UdpSocket::bind(any)
        .and_then(|s| s.connect(peer).and_then(|_| s.local_addr()))
        .map(|a| a.ip())
        .unwrap_or(any.ip());
    (SocketAddr::new(local_ip, 0), peer)
}

/// `--expect-status` and `--expect-close`: what makes the exit code 0.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expect {
    pub status: Option<u16>,
    pub close: bool,
}

/// One expectation and whether the reply met it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Check {
    pub expected: String,
    pub met: bool,
}

impl Expect {
    pub fn is_empty(&self) -> bool {
        self.status.is_none() && !self.close
    }

    pub fn check(&self, reply: &Reply) -> Vec<Check> {
        let mut out = Vec::new();
        if let Some(want) = self.status {
            out.push(Check {
                expected: format!("HTTP status {want}"),
                met: http_status(&reply.received) == Some(want),
            });
        }
        if self.close {
            out.push(Check {
                expected: "the receiver closes or resets without a reply".into(),
                met: closed_without_reply(reply),
            });
        }
        out
    }
}

/// The status code when the reply starts with an HTTP response line.
pub fn http_status(received: &[u8]) -> Option<u16> {
    match sniff::classify(received) {
        Sniffed::HttpResponse { status, .. } => Some(status),
        _ => None,
    }
}

/// True when the receiver hung up (FIN or RST) without answering.
pub fn closed_without_reply(reply: &Reply) -> bool {
    reply.connected
        && reply.received_total == 0
        && matches!(reply.end, net::End::EofWithoutData | net::End::Reset)
}
