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
use std::sync::{Arc, Mutex};

use tokio::net::TcpListener;
use tokio::sync::mpsc;

use crate::net::server;

pub(crate) use config::{Accept, Config, SendMode};
pub(crate) use record::{Record, Summary};

struct Shared {
    cfg: Config,
    summary: Mutex<Summary>,
    sink: mpsc::Sender<Record>,
}

/// Relay until `shutdown` resolves or `--count` connections were handled.
/// Every record goes to `sink` before this returns.
pub(crate) async fn run(
    listeners: Vec<TcpListener>,
    cfg: Config,
    shutdown: impl Future,
    sink: mpsc::Sender<Record>,
) -> Summary {
    let limits = server::Limits {
        max_conns: cfg.max_conns,
        count: cfg.count,
        drain: cfg.drain,
    };
    let shared = Arc::new(Shared {
        cfg,
        summary: Mutex::new(Summary::default()),
        sink,
    });
    let for_tcp = shared.clone();
    let interrupted = server::run(
        listeners,
        limits,
        shutdown,
        std::future::pending::<()>(),
        |_, _| {},
        move |c: server::Accepted| {
            let shared = for_tcp.clone();
            async move {
                let rec = conn::serve(c.stream, c.peer, c.local, c.id, &shared.cfg, c.stop).await;
                if let Ok(mut s) = shared.summary.lock() {
                    s.add(&rec);
                }
                // A closed sink means nobody is listening any more.
                let _ = shared.sink.send(rec).await;
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
