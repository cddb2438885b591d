//! `ppctl relay` as a library: a PROXY-aware TCP relay that plays the load
//! balancer (sends a header upstream), translates (v1 <-> v2), strips, or
//! just watches, and says for each connection what passed and what the
//! judge makes of it.
//!
//! Shaped like listen's server (mini-redis style): the listening sockets
//! and the shutdown future are injected ([`run`]), a semaphore caps
//! concurrent connections, `--count` stops accepting, and a drain step
//! lets in-flight connections finish (within a bound) so every accepted
//! connection yields exactly one [`Record`] on the sink.

pub(crate) mod config;
mod conn;
pub(crate) mod record;

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch, Semaphore};
use tokio::task::JoinSet;

pub(crate) use config::{Accept, Config, SendMode};
pub(crate) use record::{Record, Summary};

struct Shared {
    cfg: Config,
    conns: Arc<Semaphore>,
    accepted: AtomicU64,
    summary: Mutex<Summary>,
    sink: mpsc::Sender<Record>,
    /// Set once the drain bound has passed: connections end now.
    stop: watch::Receiver<bool>,
    /// Set to stop accepting (shutdown, or `--count` reached).
    quit: watch::Sender<bool>,
}

impl Shared {
    /// The next connection's id; `None` when `--count` is used up.
    fn claim(&self) -> Option<u64> {
        let n = self.accepted.fetch_add(1, Ordering::SeqCst) + 1;
        match self.cfg.count {
            Some(max) if n > max => None,
            Some(max) => {
                if n == max {
                    self.quit.send_replace(true);
                }
                Some(n)
            }
            None => Some(n),
        }
    }
}

/// Relay until `shutdown` resolves or `--count` connections were handled.
/// Every record goes to `sink` before this returns.
pub(crate) async fn run(
    listeners: Vec<TcpListener>,
    cfg: Config,
    shutdown: impl Future,
    sink: mpsc::Sender<Record>,
) -> Summary {
    let (stop_tx, stop_rx) = watch::channel(false);
    let (quit_tx, _) = watch::channel(false);
    let drain = cfg.drain;
    let shared = Arc::new(Shared {
        conns: Arc::new(Semaphore::new(cfg.max_conns.max(1))),
        cfg,
        accepted: AtomicU64::new(0),
        summary: Mutex::new(Summary::default()),
        sink,
        stop: stop_rx,
        quit: quit_tx,
    });
    // Each connection task holds a clone; `recv` yields None once all ended.
    let (done_tx, mut done_rx) = mpsc::channel::<()>(1);
    let mut loops = JoinSet::new();
    for l in listeners {
        loops.spawn(accept_loop(l, shared.clone(), done_tx.clone()));
    }
    drop(done_tx);
    let interrupted = tokio::select! {
        _ = shutdown => true,
        _ = async { while loops.join_next().await.is_some() {} } => false,
    };
    shared.quit.send_replace(true);
    while loops.join_next().await.is_some() {}
    if !interrupted {
        done_rx.recv().await;
    } else if tokio::time::timeout(drain, done_rx.recv()).await.is_err() {
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
        // Past --max-conns, new clients wait in the kernel backlog.
        let permit = tokio::select! {
            p = shared.conns.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => return,
            },
            _ = crate::listen::signalled(&mut quit) => return,
        };
        let (stream, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            },
            _ = crate::listen::signalled(&mut quit) => return,
        };
        let Some(id) = shared.claim() else { return };
        let local = stream
            .local_addr()
            .unwrap_or_else(|_| listener.local_addr().unwrap_or(peer));
        let shared = shared.clone();
        let done = done.clone();
        tokio::spawn(async move {
            let peer = crate::listen::canonical(peer);
            let local = crate::listen::canonical(local);
            let rec = conn::serve(stream, peer, local, id, &shared.cfg, shared.stop.clone()).await;
            if let Ok(mut s) = shared.summary.lock() {
                s.add(&rec);
            }
            // A closed sink means nobody is listening any more.
            let _ = shared.sink.send(rec).await;
            drop(permit);
            drop(done);
        });
    }
}
