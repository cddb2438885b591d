//! `--udp`: every datagram must start with a v2 header (DGRAM transport);
//! each one is decoded on its own and reported like a connection.

use std::sync::Arc;
use std::time::SystemTime;

use tokio::net::UdpSocket;

use crate::codec::{self, Addresses, Command, Decoded};
use crate::report::json::{EndpointJson, HeaderJson};

use super::record::{ConnRecord, Reply, Verdict};
use super::{canonical, clock, conn, nginx, signalled, Shared};

pub(super) async fn serve(socket: UdpSocket, shared: Arc<Shared>) {
    let mut quit = shared.quit.subscribe();
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
        let Some(id) = shared.claim() else { return };
        let dgram = &buf[..n];
        let mut rec = datagram(dgram, canonical(peer), local, id, &shared.cfg);
        if shared.cfg.echo && rec.verdict.served() {
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
    let mut rec = ConnRecord::new(
        id,
        clock::rfc3339(SystemTime::now()),
        "udp",
        peer,
        local,
        cfg.mode.name(),
    );
    rec.bytes_in = d.len() as u64;
    rec.trusted = cfg.trusts(peer.ip());
    let decoded = codec::decode_final(d);
    match decoded {
        Decoded::Complete(h) => {
            rec.header = Some(HeaderJson::new(&decoded, d));
            if !rec.trusted {
                rec.verdict = Verdict::Untrusted;
                rec.error = Some(format!("header from {} which is not in --trust", peer.ip()));
            } else if h.command == Command::Local {
                rec.verdict = Verdict::Local;
            } else {
                rec.verdict = Verdict::Proxy;
                rec.spoofable = cfg.trust.is_empty();
                if let Addresses::Inet { src, .. } = h.addresses {
                    rec.client = EndpointJson::inet(src);
                }
            }
            if h.version == codec::Version::V1 {
                rec.note =
                    Some("a v1 header in a datagram: the spec defines UDP for v2 only".into());
            }
        }
        Decoded::Invalid(e) => {
            rec.header = Some(HeaderJson::new(&decoded, d));
            rec.verdict = Verdict::Invalid;
            rec.error = Some(format!(
                "invalid header at byte {}: {}; {}",
                e.offset,
                e.kind,
                e.kind.hint()
            ));
        }
        Decoded::NotProxy(_) | Decoded::Incomplete { .. } => {
            rec.verdict = if cfg.mode == super::Mode::Require {
                Verdict::Missing
            } else {
                Verdict::Direct
            };
            rec.data = Some(super::record::DataJson::of(d));
            if rec.verdict == Verdict::Missing {
                rec.log = Some(nginx::broken_header(d));
            }
        }
    }
    rec
}
