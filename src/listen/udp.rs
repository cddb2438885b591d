//! `--udp`: every datagram must start with a v2 header (DGRAM transport);
//! each one is decoded on its own and reported like a connection.

use std::sync::Arc;

use tokio::net::UdpSocket;

use crate::codec::{self, Command, Decoded};
use crate::judge::{Arrived, Finding};

use super::record::{ConnRecord, Data, HeaderSeen, Reply, Transport};
use super::{canonical, conn, nginx, signalled, Shared};
use crate::net::server::Gate;

pub(super) async fn serve(socket: UdpSocket, shared: Arc<Shared>, gate: Arc<Gate>) {
    let mut quit = gate.quitting();
    let local = match socket.local_addr() {
        Ok(a) => canonical(a),
        Err(_) => return,
    };
    let mut buf = vec![0u8; 65_536];
    loop {
        let (n, peer) = tokio::select! {
            r = socket.recv_from(&mut buf) => match r {
                Ok(x) => x,
                Err(_) => continue,
            },
            _ = signalled(&mut quit) => return,
        };
        let Some(id) = gate.claim() else { return };
        let dgram = &buf[..n];
        let mut rec = datagram(dgram, canonical(peer), local, id, &shared.cfg);
        if shared.cfg.echo && rec.served() {
            let start = match codec::decode_final(dgram) {
                Decoded::Complete(h) => h.len(),
                _ => 0,
            };
            if socket.send_to(&dgram[start..], peer).await.is_ok() {
                rec.reply = Reply::Echo;
            }
        }
        rec.matched = conn::expectations(&shared.cfg, &rec);
        shared.finish(rec).await;
    }
}

/// Judge one datagram.
fn datagram(
    d: &[u8],
    peer: std::net::SocketAddr,
    local: std::net::SocketAddr,
    id: u64,
    cfg: &super::Config,
) -> ConnRecord {
    let mut rec = ConnRecord::new(id, Transport::Udp, peer, local, cfg.mode);
    let open = cfg.trust.is_empty();
    rec.bytes_in = d.len() as u64;
    rec.trusted = cfg.trusts(peer.ip());
    let decoded = codec::decode_final(d);
    match decoded {
        Decoded::Complete(h) => {
            let seen = HeaderSeen::new(d, true);
            let local_cmd = h.command == Command::Local;
            rec.arrive(
                Arrived::Header {
                    local: local_cmd,
                    trusted: rec.trusted,
                    stacked: false,
                },
                open,
            );
            if !rec.trusted {
                rec.error = Some(format!("header from {} which is not in --trust", peer.ip()));
            } else if let (false, Some(src)) = (local_cmd, seen.valid.and_then(|v| v.source)) {
                rec.client = src;
            }
            if h.version == codec::Version::V1 {
                rec.note =
                    Some("a v1 header in a datagram: the spec defines UDP for v2 only".into());
            }
            rec.header = Some(seen);
        }
        Decoded::Invalid(e) => {
            rec.header = Some(HeaderSeen::new(d, true));
            rec.arrive(Arrived::Invalid, open);
            rec.error = Some(format!(
                "invalid header at byte {}: {}; {}",
                e.offset,
                e.kind,
                e.kind.hint()
            ));
        }
        Decoded::NotProxy(_) | Decoded::Incomplete { .. } => {
            rec.arrive(Arrived::NoHeader, open);
            rec.data = Some(Data::of(d));
            if rec.finding == Finding::MissingHeader {
                rec.log = Some(nginx::broken_header(d));
            }
        }
    }
    rec
}
