//! What the long-running server commands (`listen`, `relay`) share around
//! their engine: the shutdown level signals raise, and the writer thread
//! that owns stdout.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use tokio::signal::unix;
use tokio::sync::mpsc::{self, error::TryRecvError};
use tokio::sync::watch;

use crate::report::out::Out;

/// `--max-header`, for `listen` and `relay`: the largest v2 header taken
/// from a client.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct MaxHeaderArg {
    /// Largest v2 header accepted, in bytes (16 + len); a larger one is
    /// header-too-large, checked as soon as its 16-byte prefix is in.
    #[arg(long, default_value_t = crate::server::MAX_HEADER as u32, value_name = "BYTES", value_parser = clap::value_parser!(u32).range(16..=65551))]
    pub(crate) max_header: u32,
}

impl MaxHeaderArg {
    pub(crate) fn bytes(&self) -> usize {
        self.max_header as usize
    }
}

/// `--threads`, for `listen` and `relay`: the runtime's worker threads.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct ThreadsArg {
    // listen replaces this help with its own (2 workers with --tls).
    /// Worker threads (default: 1). One serves plain connections fastest on
    /// a small machine (docs/performance.md); more help bulk relaying on a
    /// machine with more cores.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=256))]
    pub(crate) threads: Option<u16>,
}

impl ThreadsArg {
    /// The runtime, with `default` workers unless `--threads` says.
    pub(crate) fn runtime(&self, default: usize) -> crate::error::Result<tokio::runtime::Runtime> {
        crate::net::runtime_with(self.threads.map_or(default, usize::from))
    }
}

/// How far shutdown has gone: 0 running, 1 draining (a first signal),
/// 2 stopping now (a second signal, or stdout is gone).
pub(crate) type Stop = watch::Sender<u8>;

/// How long the writer thread waits for more lines after a flush, under load.
const BATCH_NAP: Duration = Duration::from_millis(1);

/// A writer thread's loop (listen's and relay's): the text `render` makes
/// of each item (nothing for `None`). Lines are queued while more items are
/// waiting and flushed as soon as the queue is empty (and at the end), so
/// output keeps up without one write(2) per line. After a flush that wrote
/// something the thread naps for [`BATCH_NAP`] before it looks again, so
/// under load lines gather into one write and the senders wake nobody
/// (no futex per line); once a look finds nothing it waits for the next
/// item, which is then written at once. When stdout fails (the
/// reader closed the pipe, the disk is full) the server is told to stop at
/// once; the items still coming are drained and counted as lost, and the
/// sink is handed back so the command ends with that error (exit 2).
pub(crate) fn write_lines<T>(
    mut rx: mpsc::Receiver<T>,
    mut out: Out,
    stop: &Stop,
    render: impl Fn(&T) -> Option<String>,
) -> Out {
    // Items since the last flush.
    let mut since = 0usize;
    loop {
        let item = match rx.try_recv() {
            Ok(item) => item,
            Err(TryRecvError::Empty) => {
                if !out.failed() && out.flush().is_err() {
                    stop.send_replace(2);
                }
                if since > 0 {
                    since = 0;
                    std::thread::sleep(BATCH_NAP);
                    continue;
                }
                match rx.blocking_recv() {
                    Some(item) => item,
                    None => break,
                }
            }
            Err(TryRecvError::Disconnected) => break,
        };
        since += 1;
        if let Some(text) = render(&item) {
            if out.queue(&text).is_err() {
                stop.send_replace(2);
            }
        }
    }
    out
}

/// Resolves once shutdown has reached `level` (or its sender is gone).
pub(crate) async fn reached(mut stop: watch::Receiver<u8>, level: u8) {
    let _ = stop.wait_for(|l| *l >= level).await;
}

/// SIGINT and SIGTERM, caught for the whole run.
pub(crate) struct Signals {
    int: unix::Signal,
    term: unix::Signal,
}

impl Signals {
    pub(crate) fn register() -> io::Result<Self> {
        Ok(Signals {
            int: unix::signal(unix::SignalKind::interrupt())?,
            term: unix::signal(unix::SignalKind::terminate())?,
        })
    }

    /// The first signal starts the drain (`--drain`), the second ends it.
    pub(crate) async fn count(mut self, stop: Arc<Stop>) {
        loop {
            tokio::select! {
                _ = self.int.recv() => {},
                _ = self.term.recv() => {},
            }
            stop.send_modify(|l| *l = l.saturating_add(1).min(2));
        }
    }
}
