//! `ppctl relay` as a library: a PROXY-aware TCP relay that plays the load
//! balancer (sends a header upstream), translates (v1 <-> v2), strips, or
//! just watches, and says for each connection what passed and what the
//! judge makes of it. A [`crate::server::Service`]: the server engine
//! accepts, drains and records; this module is what happens after accept.

pub(crate) mod config;
mod conn;
mod cutoff;
pub(crate) mod record;
mod spare;
#[cfg(target_os = "linux")]
mod splice;

use std::future::Future;
use std::sync::Arc;

use tokio::net::TcpListener;

use crate::server::{self, Accepted, Hub, Served, Service, Sink, Summary};

use cutoff::Cutoffs;

pub(crate) use config::{Accept, Config, SendMode};
pub(crate) use record::Relayed;

struct Relay {
    cfg: Config,
    /// When each connection must end, watched by one sweeper.
    cutoffs: Arc<Cutoffs>,
    /// The listeners pass TCP_NODELAY on to the sockets they accept.
    nodelay_inherited: bool,
}

impl Service for Relay {
    type Facts = Relayed;

    async fn serve(&self, c: Accepted) -> Served<Relayed> {
        Served {
            record: conn::serve(c, &self.cfg, &self.cutoffs, self.nodelay_inherited).await,
            close: None,
        }
    }
}

/// Relay until `shutdown` resolves or `--count` connections were handled;
/// once `now` resolves the drain ends at once. Every record goes to `sink`
/// before this returns.
pub(crate) async fn run(
    listeners: Vec<TcpListener>,
    cfg: Config,
    shutdown: impl Future,
    now: impl Future,
    sink: impl Into<Sink<Relayed>>,
) -> Summary {
    let limits = cfg.limits;
    #[cfg(target_os = "linux")]
    splice::allow_pipes(
        limits.max_conns,
        crate::server::Limits::thread_descriptors(limits.accept_threads),
    );
    // Set on the listener, TCP_NODELAY is inherited by each accepted
    // socket (Linux): one setsockopt in all, not one per connection.
    let nodelay_inherited = listeners
        .iter()
        .all(|l| socket2::SockRef::from(l).set_tcp_nodelay(true).is_ok());
    let hub = Hub::new(Summary::new(false), sink)
        .metered(cfg.meter.clone())
        .conforming(cfg.conform);
    let cutoffs = Arc::new(Cutoffs::default());
    // The sweeper runs on this runtime from the first accept to the end
    // (past the drain: it is what tells the connections that it is over).
    // Should this future be dropped before its end, the sweeper still
    // ends the connections: the server's stop flag is set then, or gone.
    let mut sweeper = None;
    let summary = server::run(
        listeners,
        limits,
        Arc::new(Relay {
            cfg,
            cutoffs: cutoffs.clone(),
            nodelay_inherited,
        }),
        Arc::new(hub),
        shutdown,
        now,
        |gate, _| {
            let stop = gate.stop();
            sweeper = Some(tokio::spawn(async move { cutoffs.sweep(stop).await }));
        },
    )
    .await;
    // Every connection has ended.
    if let Some(s) = sweeper {
        s.abort();
    }
    summary
}
