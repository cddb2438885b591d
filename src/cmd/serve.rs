//! The one serve command that `listen` and `relay` run (each brings its
//! flags, its engine and its first line): signals caught before the first
//! line, the first line, a writer thread that owns stdout and writes one
//! line per connection, the engine until a signal or `--count`, the
//! summary, and the exit status of the one rule. Also the shutdown levels
//! that signals raise (`probe --serve` shares them) and the flags both
//! servers have.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::{Request, Response};
use tokio::net::TcpListener;
use tokio::signal::unix;
use tokio::sync::mpsc::{self, error::TryRecvError};
use tokio::sync::{oneshot, watch};

use crate::error::{Error, ExitCode, Result};
use crate::metrics::http::{self, Body};
use crate::report;
use crate::report::out::{self, Out};
use crate::report::server::{self as view, View};
use crate::report::Style;
use crate::server::{self, bind, Limits, Meter, Record, Sink, Summary};

use super::values::{timeout, wait, Wait};

/// The flags every server command has (`listen`, `relay`): the header
/// stage's bounds and the server's. Defaults are the server core's.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct ServerArgs {
    /// Largest v2 header accepted, in bytes (16 + len); a larger one is
    /// header-too-large, checked as soon as its 16-byte prefix is in.
    #[arg(long, default_value_t = server::MAX_HEADER as u32, value_name = "BYTES", value_parser = clap::value_parser!(u32).range(16..=65551))]
    pub(crate) max_header: u32,
    /// Time a client has for a complete header, counted once (a byte does
    /// not restart it), as ingress-nginx's proxy-protocol-header-timeout;
    /// e.g. 5s, 250ms; more than 0.
    #[arg(long, default_value_t = Wait(server::HEADER_TIMEOUT), value_name = "DURATION", value_parser = timeout)]
    pub(crate) header_timeout: Wait,
    // relay replaces this help with its own (its first request).
    /// Time allowed for the whole first request head once the header is in
    /// (not restarted by each byte, so a client that trickles it is closed
    /// on time); more than 0.
    #[arg(long, default_value_t = Wait(server::REQUEST_TIMEOUT), value_name = "DURATION", value_parser = timeout)]
    pub(crate) request_timeout: Wait,
    // relay replaces this help with its own (no byte either way).
    /// Longest silence after the header before closing, and longest wait
    /// for a client that does not read a reply (or `--echo`); more than 0.
    #[arg(long, default_value_t = Wait(server::IDLE_TIMEOUT), value_name = "DURATION", value_parser = timeout)]
    pub(crate) idle_timeout: Wait,
    /// Connections served at once; more wait in the kernel's backlog.
    #[arg(long, default_value_t = server::MAX_CONNS as u32, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) max_conns: u32,
    /// On SIGINT/SIGTERM, time in-flight connections get to finish; a
    /// second signal stops them at once.
    #[arg(long, default_value_t = Wait(server::DRAIN), value_name = "DURATION", value_parser = wait)]
    pub(crate) drain: Wait,
    // listen replaces this help with its own (datagrams with --udp).
    /// Exit after N connections.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) count: Option<u64>,
    /// Serve Prometheus metrics on ADDR (:PORT, IP:PORT, [IPv6]:PORT) at
    /// /metrics: connections by finding, transport and header, those open,
    /// the header wait and the connection time (docs/monitoring.md). Bind
    /// it to loopback or the monitoring network.
    #[allow(rustdoc::broken_intra_doc_links)] // `[IPv6]` is --help text
    #[arg(long, value_name = "ADDR")]
    pub(crate) metrics: Option<String>,
    /// Grade every sender against the spec's sender rules (the header
    /// first and in one segment, CRLF, CRC32C, TLV lengths, LOCAL for
    /// health checks): each connection's line says what it missed, the
    /// summary grades the load balancer under test; a MUST missed is exit
    /// 1 (docs/conformance.md).
    #[arg(long)]
    pub(crate) conform: bool,
}

impl ServerArgs {
    pub(crate) fn max_header(&self) -> usize {
        self.max_header as usize
    }

    /// The server's limits, `--max-conns` lowered (and said so on stderr)
    /// to the connections of `per` descriptors each that fit under the
    /// descriptor limit, raised first to the hard limit as `send` does:
    /// running out is this host's limit, never blamed on a peer. Served by
    /// `accept_threads` threads, each past the first with descriptors of
    /// its own (its event loop, its waker, a copy of the listener).
    pub(crate) fn limits(&self, per: u64, accept_threads: usize) -> Result<Limits> {
        let accept_threads = accept_threads.max(1);
        let reserved = Limits::thread_descriptors(accept_threads);
        let max_conns = self.max_conns as usize;
        Ok(Limits {
            max_conns: super::values::fit_descriptors("--max-conns", max_conns, per, reserved)?,
            count: self.count,
            drain: self.drain.0,
            accept_threads,
        })
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

/// A scrape to its answer.
fn route(meter: &Arc<Meter>, req: &Request<Incoming>) -> Response<Body> {
    if let Some(refused) = http::only_get(req.method()) {
        return refused;
    }
    match req.uri().path() {
        "/metrics" => http::response(
            200,
            report::metrics::CONTENT_TYPE,
            report::meter::exposition(meter),
        ),
        "/" => http::response(200, http::TEXT, report::meter::index()),
        _ => http::response(
            404,
            http::TEXT,
            "not found: the metrics are at /metrics\n".into(),
        ),
    }
}

/// How far shutdown has gone: 0 running, 1 draining (a first signal),
/// 2 stopping now (a second signal, or stdout is gone).
pub(crate) type Stop = watch::Sender<u8>;

/// Records a server's writer may be behind by before the next one is
/// dropped (and counted) rather than waited for.
const BACKLOG: usize = 1024;

/// How long the writer thread waits for more lines after a flush, under load.
const BATCH_NAP: Duration = Duration::from_millis(1);

/// A writer thread's loop (listen's, relay's and probe's): the text
/// `render` makes of each item (nothing for `None`). Lines are queued while more items are
/// waiting and flushed as soon as the queue is empty (and at the end), so
/// output keeps up without one write(2) per line. After a flush that wrote
/// something the thread naps for [`BATCH_NAP`] before it looks again, so
/// under load lines gather into one write and the senders wake nobody
/// (no futex per line); once a look finds nothing it waits for the next
/// item, which is then written at once. When stdout fails (the
/// reader closed the pipe, the disk is full) the server is told to stop at
/// once; the items still coming are drained and counted as lost, and the
/// sink is handed back so the command ends with that error (exit 2).
pub(crate) fn write_lines<T, W: std::io::Write>(
    mut rx: mpsc::Receiver<T>,
    mut out: Out<W>,
    stop: &Stop,
    render: impl Fn(&T) -> Option<String>,
) -> Out<W> {
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

/// A shutdown level reached, as a future the engine waits on.
pub(crate) type Level = Pin<Box<dyn Future<Output = ()> + Send>>;

/// How the lines of a server are written.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Lines {
    pub json: bool,
    pub style: Style,
    /// One line per connection (relay's `--no-tap`: only the first line
    /// and the summary; JSON always has them).
    pub tap: bool,
    /// `--count`: a signal before the Nth connection is an interruption.
    pub count: Option<u64>,
}

/// A server command under way: its signals are caught (before its first
/// line is out, so a client that reads the line and signals at once is not
/// met with the default action).
pub(crate) struct Serving {
    stop: Arc<Stop>,
    /// `--metrics`: its sockets and what it counts.
    metrics: Option<(Vec<TcpListener>, Arc<Meter>)>,
}

impl Serving {
    pub(crate) fn start() -> Result<Self> {
        let stop: Arc<Stop> = Arc::new(watch::channel(0).0);
        let signals =
            Signals::register().map_err(|e| Error::io("installing signal handlers", e))?;
        tokio::spawn(signals.count(stop.clone()));
        Ok(Serving {
            stop,
            metrics: None,
        })
    }

    /// `--metrics ADDR`: bind it (before the first line, which names it)
    /// and make the meter the engine counts in. The addresses bound.
    pub(crate) async fn metered(
        &mut self,
        addr: Option<&str>,
    ) -> Result<(Option<Arc<Meter>>, Vec<SocketAddr>)> {
        let Some(addr) = addr else {
            return Ok((None, Vec::new()));
        };
        let listeners = bind::bind_all(&[addr.to_string()], false)
            .await
            .map_err(|e| Error::usage(format!("--metrics: {e}")))?;
        let addrs = listeners.local_addrs().iter().map(|(_, a)| *a).collect();
        let meter = Arc::new(Meter::default());
        self.metrics = Some((listeners.tcp, meter.clone()));
        Ok((Some(meter), addrs))
    }

    /// Serve `/metrics` until the stop levels say (the first signal, or
    /// the engine's end).
    fn serve_metrics(
        &mut self,
        stop: watch::Receiver<u8>,
    ) -> Option<tokio::task::JoinHandle<io::Result<()>>> {
        let (listeners, meter) = self.metrics.take()?;
        let handler = move |req: Request<Incoming>, _peer| {
            let meter = meter.clone();
            async move { route(&meter, &req) }
        };
        let limits = http::Limits {
            drain: Duration::from_secs(1),
            ..http::Limits::default()
        };
        Some(tokio::spawn(http::serve(listeners, handler, stop, limits)))
    }

    fn level(&self, level: u8) -> Level {
        Box::pin(reached(self.stop.subscribe(), level))
    }

    /// Write `first`, then run the engine (`run(shutdown, now, sink)`: stop
    /// accepting at the first level, end the drain at the second) with its
    /// records written by a thread of their own; then the summary. The
    /// exit status is the one rule's: 130 for a signal before `--count`,
    /// else 0 or 1 by the summary, 2 when output was lost.
    ///
    /// A stdout nobody reads never stops the server: the writer's backlog
    /// is [`BACKLOG`] records, and a record that finds it full is dropped
    /// and its lines counted; the run then ends with exit 2 and says how
    /// many lines were not written. The second signal always ends the run
    /// at once: a write still waiting for the reader gives up.
    pub(crate) async fn run<T, Fut>(
        mut self,
        lines: Lines,
        first: &str,
        run: impl FnOnce(Level, Level, Sink<T>) -> Fut,
    ) -> Result<ExitCode>
    where
        T: View + Send + 'static,
        Fut: Future<Output = Summary>,
    {
        let stopping = self.stop.subscribe();
        let mut out = Out::patient(move || *stopping.borrow() >= 2);
        out.line(first)?;
        let (tx, mut rx) = mpsc::channel::<Record<T>>(BACKLOG);
        if !lines.json && !lines.tap {
            // No line per connection: the engine's sends fail at once (the
            // summary is counted in the engine), so no record crosses threads.
            rx.close();
        }
        let dropped = Arc::new(AtomicU64::new(0));
        let count = dropped.clone();
        let sink = Sink::backlog(
            tx,
            Box::new(move |rec: &Record<T>| {
                let text = view::connection(rec, lines.json, lines.style);
                count.fetch_add(out::lines_in(&text), Ordering::Relaxed);
            }),
        );
        let lost = self.stop.clone();
        // Joined by a channel, not `join()`: a blocked runtime thread would
        // not see the second signal.
        let (done, written) = oneshot::channel();
        std::thread::spawn(move || {
            let out = write_lines(rx, out, &lost, |rec: &Record<T>| {
                Some(view::connection(rec, lines.json, lines.style))
            });
            let _ = done.send(out);
        });
        // The metrics server's own stop: the first signal, or the engine's
        // end (not the second level, at which a write still waiting for a
        // slow reader would give up).
        let metrics_stop = Arc::new(watch::channel(0u8).0);
        let first_signal = {
            let m = metrics_stop.clone();
            let level = self.level(1);
            tokio::spawn(async move {
                level.await;
                m.send_modify(|l| *l = (*l).max(1));
            })
        };
        let metrics = self.serve_metrics(metrics_stop.subscribe());
        let summary = run(self.level(1), self.level(2), sink).await;
        // The engine is done: so is its metrics server.
        metrics_stop.send_replace(2);
        first_signal.abort();
        let served = match metrics {
            Some(task) => task.await.unwrap_or(Ok(())),
            None => Ok(()),
        };
        let mut out = written
            .await
            .map_err(|_| Error::Other(anyhow::anyhow!("the output thread panicked")))?;
        out.skipped(dropped.load(Ordering::Relaxed));
        // A failure here is reported by `finish`, with every line lost.
        let _ = out.line(&view::summary::<T>(&summary, lines.json, lines.style));
        out.finish()?;
        served.map_err(|e| Error::io("serving --metrics", e))?;
        if summary.interrupted && lines.count.is_some() {
            return Ok(ExitCode::Interrupted);
        }
        Ok(ExitCode::check(summary.passed()))
    }
}
