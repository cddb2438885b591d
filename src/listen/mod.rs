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
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::{mpsc, watch, Semaphore};
use tokio::task::JoinSet;

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
    conns: Arc<Semaphore>,
    next_id: AtomicU64,
    accepted: AtomicU64,
    summary: Mutex<Summary>,
    sink: mpsc::Sender<ConnRecord>,
    /// Set once the drain bound has passed: connections end now.
    stop: watch::Receiver<bool>,
    /// Set to stop accepting (shutdown, or `--count` reached).
    quit: watch::Sender<bool>,
}

impl Shared {
    /// Reserve the next connection slot; `None` when `--count` is used up.
    fn claim(&self) -> Option<u64> {
        let n = self.accepted.fetch_add(1, Ordering::SeqCst) + 1;
        match self.cfg.count {
            Some(max) if n > max => None,
            Some(max) => {
                if n == max {
                    self.quit.send_replace(true);
                }
                Some(self.next_id.fetch_add(1, Ordering::SeqCst) + 1)
            }
            None => Some(self.next_id.fetch_add(1, Ordering::SeqCst) + 1),
        }
    }

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
    let (stop_tx, stop_rx) = watch::channel(false);
    let (quit_tx, _) = watch::channel(false);
    let drain = cfg.drain;
    let shared = Arc::new(Shared {
        conns: Arc::new(Semaphore::new(cfg.max_conns.max(1))),
        summary: Mutex::new(Summary::new(cfg.has_expectations())),
        cfg,
        next_id: AtomicU64::new(0),
        accepted: AtomicU64::new(0),
        sink,
        stop: stop_rx,
        quit: quit_tx,
    });
    // Each connection task holds a clone; `recv` yields None once all ended.
    let (done_tx, mut done_rx) = mpsc::channel::<()>(1);
    let mut loops = JoinSet::new();
    for l in listeners.tcp {
        loops.spawn(accept_loop(l, shared.clone(), done_tx.clone()));
    }
    for u in listeners.udp {
        loops.spawn(udp::serve(u, shared.clone()));
    }
    drop(done_tx);

    let interrupted = tokio::select! {
        _ = shutdown => true,
        _ = async { while loops.join_next().await.is_some() {} } => false,
    };
    shared.quit.send_replace(true);
    while loops.join_next().await.is_some() {}

    // After `--count`, the last connections finish on their own (each is
    // bounded by its timeouts). After a signal they get `drain` to finish.
    // Either way `now` cuts it short; then they are told to stop (each
    // still reports, as "interrupted" if it had not decided yet).
    let drained = if interrupted {
        tokio::select! {
            _ = done_rx.recv() => true,
            _ = tokio::time::sleep(drain) => false,
            _ = now => false,
        }
    } else {
        tokio::select! {
            _ = done_rx.recv() => true,
            _ = now => false,
        }
    };
    if !drained {
        stop_tx.send_replace(true);
        done_rx.recv().await;
    }
    let mut summary = shared
        .summary
        .lock()
        .map(|s| s.clone())
        .unwrap_or_else(|e| e.into_inner().clone());
    summary.interrupted = interrupted;
    summary
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>, done: mpsc::Sender<()>) {
    let mut quit = shared.quit.subscribe();
    loop {
        // Wait for a free slot before accepting (as mini-redis does): past
        // --max-conns, new clients wait in the kernel backlog.
        let permit = tokio::select! {
            p = shared.conns.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => return,
            },
            _ = signalled(&mut quit) => return,
        };
        let (stream, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(x) => x,
                // EMFILE and friends: back off briefly rather than spin.
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            },
            _ = signalled(&mut quit) => return,
        };
        let Some(id) = shared.claim() else { return };
        let local = stream
            .local_addr()
            .unwrap_or_else(|_| listener.local_addr().unwrap_or(peer));
        let shared = shared.clone();
        let done = done.clone();
        tokio::spawn(async move {
            let peer = canonical(peer);
            let local = canonical(local);
            let (rec, mut stream) =
                conn::serve(stream, peer, local, id, &shared.cfg, shared.stop.clone()).await;
            shared.finish(rec).await;
            // Best effort: the peer may be gone already.
            let _ = tokio::io::AsyncWriteExt::shutdown(&mut stream).await;
            drop(permit);
            drop(done);
        });
    }
}

/// A dual-stack socket reports IPv4 peers as `::ffff:a.b.c.d`; show them
/// as the IPv4 addresses they are.
pub fn canonical(a: SocketAddr) -> SocketAddr {
    SocketAddr::new(a.ip().to_canonical(), a.port())
}

/// Resolves once the flag is set (or its sender is gone). The guard
/// `wait_for` returns is dropped here, so callers' futures stay `Send`.
pub(crate) async fn signalled(flag: &mut watch::Receiver<bool>) {
    let _ = flag.wait_for(|set| *set).await;
}

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
