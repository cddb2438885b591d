//! Turn a server's ADDR arguments (`listen ADDR...`, `relay LISTEN`) into
//! bound sockets.
//!
//! `:8080` (or `8080`) means every interface, IPv4 and IPv6: one dual-stack
//! `[::]` socket with IPV6_V6ONLY off, so port 0 gives one port for both;
//! on a host without IPv6 it falls back to `0.0.0.0`.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use socket2::{Domain, Protocol, Socket, Type};
use thiserror::Error;
use tokio::net::{TcpListener, UdpSocket};

use super::IpProtocol;

/// The sockets a server runs on.
#[derive(Debug, Default)]
pub(crate) struct Listeners {
    pub tcp: Vec<TcpListener>,
    /// With `listen --udp`: each datagram must start with a v2 header.
    pub udp: Vec<UdpSocket>,
}

impl Listeners {
    /// The bound addresses, TCP first.
    pub(crate) fn local_addrs(&self) -> Vec<(IpProtocol, SocketAddr)> {
        let tcp = self
            .tcp
            .iter()
            .filter_map(|l| l.local_addr().ok())
            .map(|a| (IpProtocol::Tcp, a));
        let udp = self
            .udp
            .iter()
            .filter_map(|u| u.local_addr().ok())
            .map(|a| (IpProtocol::Udp, a));
        tcp.chain(udp).collect()
    }
}

#[derive(Debug, Error)]
pub(crate) enum BindError {
    #[error(
        "'{0}' is not an address: use :PORT (every interface), IP:PORT, [IPv6]:PORT or NAME:PORT"
    )]
    Syntax(String),
    #[error("'{addr}': port {port:?} is not a number from 0 to 65535 (0 picks a free one)")]
    Port { addr: String, port: String },
    #[error("cannot resolve '{addr}': {source}")]
    Resolve {
        addr: String,
        #[source]
        source: io::Error,
    },
    #[error("cannot listen on {addr} ({transport}): {source}; is the port in use, or below 1024 without privileges?")]
    Bind {
        addr: SocketAddr,
        transport: &'static str,
        #[source]
        source: io::Error,
    },
}

/// One parsed ADDR.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Spec {
    /// Every interface, v4 and v6.
    Any(u16),
    /// Explicit addresses (a name may resolve to several).
    Addrs(Vec<SocketAddr>),
}

/// Parse one ADDR (names are resolved).
pub(crate) async fn parse(arg: &str) -> Result<Spec, BindError> {
    let port_only = arg.strip_prefix(':').unwrap_or(arg);
    if let Ok(port) = port_only.parse::<u16>() {
        return Ok(Spec::Any(port));
    }
    if let Ok(a) = arg.parse::<SocketAddr>() {
        return Ok(Spec::Addrs(vec![a]));
    }
    let Some((_, port)) = arg.rsplit_once(':').filter(|(_, p)| !p.contains(']')) else {
        return Err(BindError::Syntax(arg.into()));
    };
    if port.parse::<u16>().is_err() {
        return Err(BindError::Port {
            addr: arg.into(),
            port: port.into(),
        });
    }
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host(arg)
        .await
        .map_err(|source| BindError::Resolve {
            addr: arg.into(),
            source,
        })?
        .collect();
    if addrs.is_empty() {
        return Err(BindError::Syntax(arg.into()));
    }
    Ok(Spec::Addrs(addrs))
}

/// Bind every ADDR, TCP (and UDP with `udp`).
pub(crate) async fn bind_all(args: &[String], udp: bool) -> Result<Listeners, BindError> {
    let mut out = Listeners::default();
    for arg in args {
        let addrs = match parse(arg).await? {
            Spec::Any(port) => vec![any(port)],
            Spec::Addrs(a) => a,
        };
        for addr in addrs {
            if udp {
                out.udp.push(bind_udp(addr)?);
            } else {
                out.tcp.push(bind_tcp(addr)?);
            }
        }
    }
    Ok(out)
}

/// `[::]:port` when IPv6 works here, else `0.0.0.0:port`.
fn any(port: u16) -> SocketAddr {
    let v6 = SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), port);
    match Socket::new(Domain::IPV6, Type::STREAM, None) {
        Ok(_) => v6,
        Err(_) => SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port),
    }
}

fn socket(addr: SocketAddr, ty: Type, proto: Protocol) -> io::Result<Socket> {
    let s = Socket::new(Domain::for_address(addr), ty, Some(proto))?;
    if addr.is_ipv6() && addr.ip().is_unspecified() {
        // Dual stack: one socket for v4 and v6, whatever the sysctl says.
        s.set_only_v6(false)?;
    }
    if ty == Type::STREAM {
        s.set_reuse_address(true)?;
    }
    s.set_nonblocking(true)?;
    s.bind(&addr.into())?;
    Ok(s)
}

pub(crate) fn bind_tcp(addr: SocketAddr) -> Result<TcpListener, BindError> {
    let err = |source| BindError::Bind {
        addr,
        transport: "tcp",
        source,
    };
    let s = socket(addr, Type::STREAM, Protocol::TCP).map_err(err)?;
    s.listen(4096).map_err(err)?;
    TcpListener::from_std(s.into()).map_err(err)
}

/// Let the ACK of a connection's first bytes ride on the answer instead of
/// going out on its own: a client that sends its request at once and waits
/// for the reply then costs one packet less per connection (9 against 10
/// on loopback, as HAProxy's HTTP listeners, which do the same;
/// docs/performance.md). Accepted sockets inherit it from the listener; it
/// only holds once the socket listens (listen() resets it). The cost: a
/// client that writes twice without TCP_NODELAY waits for the delayed-ACK
/// timer (40 ms, once per connection) before its second write goes out.
/// Best effort: without it, only the extra packet.
pub(crate) fn delay_first_ack(listener: &TcpListener) {
    let _ = socket2::SockRef::from(listener).set_tcp_quickack(false);
}

pub(crate) fn bind_udp(addr: SocketAddr) -> Result<UdpSocket, BindError> {
    let err = |source| BindError::Bind {
        addr,
        transport: "udp",
        source,
    };
    let s = socket(addr, Type::DGRAM, Protocol::UDP).map_err(err)?;
    UdpSocket::from_std(s.into()).map_err(err)
}
