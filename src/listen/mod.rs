//! `ppctl listen` as a library: a PROXY-protocol receiver that shows
//! exactly what arrived, behaving like nginx with and without
//! `proxy_protocol` (or accepting both, in `auto`).
//!
//! Shaped like mini-redis's server: sockets and the shutdown future are
//! injected ([`run`]), a semaphore caps concurrent connections, and a
//! drain step lets in-flight connections finish (within a bound) so every
//! accepted connection yields exactly one [`ConnRecord`] on the sink.

pub mod bind;
pub(crate) mod clock;
pub mod config;
mod conn;
pub mod nginx;
pub(crate) mod record;
pub(crate) mod summary;
pub(crate) mod tls;
mod udp;
pub(crate) mod whoami;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::mpsc;

use crate::net::server;

pub use config::{Config, Mode};
pub(crate) use record::{ConnRecord, Reply, Transport};
pub(crate) use summary::Summary;

/// The sockets a server runs on.
#[derive(Debug, Default)]
pub struct Listeners {
    pub tcp: Vec<TcpListener>,
    /// With `--udp`: each datagram must start with a v2 header.
    pub udp: Vec<UdpSocket>,
}

impl Listeners {
    /// The bound addresses, TCP first.
    pub(crate) fn local_addrs(&self) -> Vec<(Transport, SocketAddr)> {
        let tcp = self
            .tcp
            .iter()
            .filter_map(|l| l.local_addr().ok())
            .map(|a| (Transport::Tcp, a));
        let udp = self
            .udp
            .iter()
            .filter_map(|u| u.local_addr().ok())
            .map(|a| (Transport::Udp, a));
        tcp.chain(udp).collect()
    }
}

/// What every task of one server shares.
struct Shared {
    cfg: Config,
    summary: Mutex<Summary>,
    sink: mpsc::Sender<ConnRecord>,
}

impl Shared {
    /// Count a finished connection and hand its record to the sink.
    async fn finish(&self, rec: ConnRecord) {
        if let Ok(mut s) = self.summary.lock() {
            s.add(&rec);
        }
        // A closed sink means nobody is listening any more; nothing to do.
        let _ = self.sink.send(rec).await;
    }
}

/// Run a server until `shutdown` resolves or `--count` connections were
/// handled. Every record goes to `sink` before this returns.
pub(crate) async fn run(
    listeners: Listeners,
    cfg: Config,
    shutdown: impl Future,
    sink: mpsc::Sender<ConnRecord>,
) -> Summary {
    run_until(listeners, cfg, shutdown, std::future::pending::<()>(), sink).await
}

/// Like [`run`], and once `now` resolves (a second signal, or nobody reads
/// the output any more) the drain ends at once: connections still in
/// flight stop and are reported as `interrupted`.
pub(crate) async fn run_until(
    listeners: Listeners,
    cfg: Config,
    shutdown: impl Future,
    now: impl Future,
    sink: mpsc::Sender<ConnRecord>,
) -> Summary {
    let limits = server::Limits {
        max_conns: cfg.max_conns,
        count: cfg.count,
        drain: cfg.drain,
    };
    let shared = Arc::new(Shared {
        summary: Mutex::new(Summary::new(cfg.has_expectations())),
        cfg,
        sink,
    });
    let udp = listeners.udp;
    let for_udp = shared.clone();
    let for_tcp = shared.clone();
    let interrupted = server::run(
        listeners.tcp,
        limits,
        shutdown,
        now,
        move |gate, tasks| {
            for u in udp {
                tasks.spawn(udp::serve(u, for_udp.clone(), gate.clone()));
            }
        },
        move |c: server::Accepted| {
            let shared = for_tcp.clone();
            async move {
                let (rec, mut stream) =
                    conn::serve(c.stream, c.peer, c.local, c.id, &shared.cfg, c.stop).await;
                let drained = rec.drained;
                shared.finish(rec).await;
                // Something may be left unread: send the FIN before the
                // close (best effort: the peer may be gone already). Else
                // the close sends it, one syscall less.
                if !drained {
                    let _ = tokio::io::AsyncWriteExt::shutdown(&mut stream).await;
                }
            }
        },
    )
    .await;
    let mut summary = shared
        .summary
        .lock()
        .map(|s| s.clone())
        .unwrap_or_else(|e| e.into_inner().clone());
    summary.interrupted = interrupted;
    summary
}

pub(crate) use crate::net::server::{canonical, signalled};

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// The server as a library: injected listener, shutdown future and sink.
    #[tokio::test]
    async fn runs_in_process_with_injected_listener_and_shutdown() {
        let listener = bind::bind_tcp(SocketAddr::from(([127, 0, 0, 1], 0))).expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (tx, mut rx) = mpsc::channel(8);
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(run(
            Listeners {
                tcp: vec![listener],
                udp: Vec::new(),
            },
            Config::default(),
            async move {
                let _ = stop_rx.await;
            },
            tx,
        ));
        let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
        s.write_all(b"PROXY TCP4 192.0.2.1 192.0.2.2 1000 80\r\nGET /json HTTP/1.1\r\n\r\n")
            .await
            .expect("write");
        let mut reply = Vec::new();
        s.read_to_end(&mut reply).await.expect("read");
        assert!(reply.starts_with(b"HTTP/1.1 200 OK\r\n"));
        let rec = rx.recv().await.expect("a record");
        assert_eq!(rec.finding, crate::judge::Finding::Proxied);
        assert_eq!(rec.pairing, Some(crate::judge::Finding::Spoofable));
        assert_eq!(rec.client, SocketAddr::from(([192, 0, 2, 1], 1000)));
        assert_eq!(rec.reply, Reply::WhoamiJson);
        let _ = stop_tx.send(());
        let summary = server.await.expect("server task");
        assert_eq!(summary.connections, 1);
        assert!(summary.interrupted);
    }
}
