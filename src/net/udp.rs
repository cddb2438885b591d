//! One UDP exchange: a single datagram out (header and payload together,
//! as the spec requires for DGRAM), at most one datagram back.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Instant;

use tokio::net::UdpSocket;

use super::tcp::{bounded, local_limit, Cut};
use super::{End, Message, NetError, Options, Transcript};

/// Send one datagram to the first of `addrs` and wait `reply_timeout` for
/// an answer (within `max_time` of the start). `split` and the banner wait
/// do not apply to datagrams.
pub async fn datagram_exchange<E>(
    addrs: &[SocketAddr],
    opts: &Options,
    build: impl FnOnce(SocketAddr, SocketAddr) -> Result<Message, E>,
) -> Result<Transcript, E> {
    let start = Instant::now();
    let deadline = start + opts.max_time;
    let Some(&peer) = addrs.first() else {
        return Ok(Transcript::not_connected(
            End::Error,
            NetError::NoAddress,
            start.elapsed(),
        ));
    };
    let any = match peer.ip() {
        IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
    };
    let socket = match bind_connect(SocketAddr::new(any, 0), peer).await {
        Ok(s) => s,
        Err(e) => {
            let end = if local_limit(&e) {
                End::LocalLimit
            } else {
                End::Error
            };
            return Ok(Transcript::not_connected(
                end,
                NetError::At {
                    addr: peer,
                    error: e.to_string(),
                },
                start.elapsed(),
            ));
        }
    };
    let local = match socket.local_addr() {
        Ok(a) => a,
        Err(e) => {
            return Ok(Transcript::not_connected(
                End::Error,
                NetError::At {
                    addr: peer,
                    error: e.to_string(),
                },
                start.elapsed(),
            ))
        }
    };
    let message = build(local, peer)?;
    let mut datagram = message.header.clone();
    datagram.extend_from_slice(&message.payload);
    let mut reply = Transcript::connected(local, peer, start.elapsed());
    reply.message = Some(message);
    match socket.send(&datagram).await {
        Ok(n) => reply.sent = n,
        Err(e) => reply.write_error = Some(NetError::io(&e)),
    }
    reply.timings.sent = Some(start.elapsed());
    let mut buf = vec![0u8; 65536];
    reply.end = match bounded(opts.reply_timeout, deadline, socket.recv(&mut buf)).await {
        Err(Cut::Idle) => End::Timeout,
        Err(Cut::Deadline) => End::MaxTime,
        Ok(Ok(n)) => {
            reply.timings.first_byte = Some(start.elapsed());
            reply.received_total = n;
            reply.received = buf[..n.min(opts.max_reply)].to_vec();
            End::Datagram
        }
        Ok(Err(e)) if e.kind() == io::ErrorKind::ConnectionRefused => {
            reply.error = Some(NetError::io(&e));
            End::Refused
        }
        Ok(Err(e)) => {
            reply.error = Some(NetError::io(&e));
            End::Error
        }
    };
    reply.timings.total = start.elapsed();
    Ok(reply)
}

async fn bind_connect(local: SocketAddr, peer: SocketAddr) -> io::Result<UdpSocket> {
    let socket = UdpSocket::bind(local).await?;
    socket.connect(peer).await?;
    Ok(socket)
}
