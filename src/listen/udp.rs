//! `--udp`: every datagram must start with a v2 header (DGRAM transport);
//! each one is decoded on its own and reported like a connection.

use std::sync::Arc;

use tokio::net::UdpSocket;

use crate::codec::{self, Command, Decoded};
use crate::judge::{Arrived, Finding};

use crate::server::record::Event;
use crate::server::standin::{nginx, Answered, ConnRecord, Data, Http, Mode, SentBack};
use crate::server::{canonical, signalled, Gate, HeaderSeen, Hub, IpProtocol};

use super::Listen;

pub(super) async fn serve(
    socket: UdpSocket,
    listen: Arc<Listen>,
    hub: Arc<Hub<Answered>>,
    gate: Arc<Gate>,
) {
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
        let mut rec = datagram(dgram, canonical(peer), local, id, &listen.http);
        if listen.http.echo && rec.served() {
            let start = match codec::decode_final(dgram) {
                Decoded::Complete(h) => h.len(),
                _ => 0,
            };
            if socket.send_to(&dgram[start..], peer).await.is_ok() {
                rec.service.reply = SentBack::Echo;
            }
        }
        rec.matched = listen.expect.check(&rec);
        hub.finish(rec).await;
    }
}

/// Judge one datagram.
fn datagram(
    d: &[u8],
    peer: std::net::SocketAddr,
    local: std::net::SocketAddr,
    id: u64,
    cfg: &Http,
) -> ConnRecord {
    let mut rec = cfg.record(id, IpProtocol::Udp, peer, local);
    rec.bytes_in = d.len() as u64;
    rec.trusted = cfg.trusts(peer.ip());
    let decoded = codec::decode_final(d);
    match decoded {
        Decoded::Complete(h) => {
            let seen = HeaderSeen::new(d, true);
            let local_cmd = h.command == Command::Local;
            rec.arrive(Arrived::Header {
                local: local_cmd,
                trusted: rec.trusted,
                stacked: false,
            });
            if !rec.trusted {
                rec.events.push(Event::Untrusted {
                    peer: peer.ip(),
                    trust: cfg.trust.clone(),
                    rejected: cfg.mode == Mode::Require,
                });
            } else if let (false, Some(src)) =
                (local_cmd, seen.valid.as_ref().and_then(|v| v.source))
            {
                rec.client = src;
            }
            if h.version == codec::Version::V1 {
                rec.events.push(Event::V1Datagram);
            }
            rec.header = Some(seen);
        }
        Decoded::Invalid(e) => {
            rec.header = Some(HeaderSeen::new(d, true));
            rec.arrive(Arrived::Invalid);
            rec.events.push(Event::InvalidHeader(e));
        }
        Decoded::NotProxy(_) | Decoded::Incomplete { .. } => {
            rec.arrive(Arrived::NoHeader);
            rec.service.data = Some(Data::of(d));
            if rec.finding == Finding::MissingHeader {
                rec.service.log = Some(nginx::Log::broken_header(d));
            }
        }
    }
    rec
}
