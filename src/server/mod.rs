//! The one server engine that `listen` and `relay` (and `repro`'s
//! receivers) are built on:
//!
//! ```text
//!  bind ─► lifecycle (accept, slots, --count, drain, stop)
//!              │ one task per connection
//!              ▼
//!          Conn::frame (the header stage: read until the codec decides)
//!              │
//!              ▼
//!          a Service: what the server does after the header stage
//!          (standin::Http: answer like nginx; relay: copy to an upstream;
//!           issue 22's protocol stand-ins plug in beside standin::Http)
//!              │ Record<Facts>
//!              ▼
//!          Hub::finish: the summary, the meter (--metrics), the sink (the
//!          writer of the lines)
//! ```
//!
//! Shaped like mini-redis's server: the sockets and the shutdown future are
//! injected ([`run`]), a semaphore caps concurrent connections, and a drain
//! step lets in-flight connections finish (within a bound) so every
//! accepted connection yields exactly one [`Record`] on the sink. Prints
//! nothing: `report::server` renders the records and the summary.

pub(crate) mod bind;
pub(crate) mod clock;
pub(crate) mod conn;
pub(crate) mod deadline;
pub(crate) mod header;
mod lifecycle;
pub(crate) mod meter;
pub(crate) mod record;
pub(crate) mod standin;
pub(crate) mod stream;
pub(crate) mod summary;
pub(crate) mod text;
pub(crate) mod tls;

use std::future::Future;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ipnet::IpNet;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::task::JoinSet;

pub(crate) use bind::Listeners;
pub(crate) use deadline::{Bound, StageDeadline};
pub(crate) use header::{HeaderFacts, HeaderSeen};
pub(crate) use lifecycle::{canonical, signalled, Accepted, Gate, Limits, ACCEPT_BACKOFF};
pub(crate) use meter::Meter;
pub(crate) use record::{IpProtocol, Record};
pub(crate) use stream::Stream;
pub(crate) use summary::Summary;

/// `--max-header` unless given (go-proxyproto's limit).
pub(crate) const MAX_HEADER: usize = 4096;
/// `--header-timeout` unless given.
pub(crate) const HEADER_TIMEOUT: Duration = Duration::from_secs(5);
/// `--request-timeout` unless given.
pub(crate) const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// `--idle-timeout` unless given.
pub(crate) const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// `--max-conns` unless given.
pub(crate) const MAX_CONNS: usize = 4096;
/// `--drain` unless given.
pub(crate) const DRAIN: Duration = Duration::from_secs(2);

/// May `peer` send a header? Every peer when `trust` is empty (nginx's
/// `set_real_ip_from`, listen's and relay's `--trust`).
pub(crate) fn trusts(trust: &[IpNet], peer: IpAddr) -> bool {
    trust.is_empty() || trust.iter().any(|net| net.contains(&peer))
}

/// What a server does with each connection once it is accepted.
pub(crate) trait Service: Send + Sync + 'static {
    /// The service's own facts of a connection (its [`Record`]'s `service`).
    type Facts: Send + 'static;

    /// Serve one connection to its end and say what happened. A stream
    /// handed back is closed after the record is out, so a client that
    /// sees the close can count on the line being written.
    fn serve(&self, c: Accepted) -> impl Future<Output = Served<Self::Facts>> + Send;
}

/// A served connection: its record, and the stream still to close. The
/// record is boxed: a few hundred bytes, moved out of the service's
/// future, into the hub's and into the sink, a pointer copied each time
/// rather than the record.
pub(crate) struct Served<T> {
    pub record: Box<Record<T>>,
    pub close: Option<Closing>,
}

/// A stream to close after the record is out.
pub(crate) struct Closing {
    pub stream: Stream,
    /// Send the FIN first (something may be left unread, and a close
    /// would then reset); else the close sends it, one syscall less.
    pub shutdown: bool,
}

/// Where a server's records go: a channel whose every record is waited
/// for (repro reads each one), or the writer of a server's lines, whose
/// channel is a bounded backlog: a record that finds it full is not waited
/// for (a stdout nobody reads must never stop the server) but handed to
/// `overflow`, which counts its lines as not written.
pub(crate) struct Sink<T> {
    tx: mpsc::Sender<Record<T>>,
    overflow: Option<Overflow<T>>,
}

/// What becomes of a record the writer had no room for.
pub(crate) type Overflow<T> = Box<dyn Fn(&Record<T>) + Send + Sync>;

impl<T> Sink<T> {
    /// A backlog of `tx`'s capacity; past it, records go to `overflow`.
    pub(crate) fn backlog(tx: mpsc::Sender<Record<T>>, overflow: Overflow<T>) -> Self {
        Sink {
            tx,
            overflow: Some(overflow),
        }
    }
}

impl<T> From<mpsc::Sender<Record<T>>> for Sink<T> {
    fn from(tx: mpsc::Sender<Record<T>>) -> Self {
        Sink { tx, overflow: None }
    }
}

/// Where every record of a server goes, once: the summary, the meter
/// (`--metrics`) and the sink (the writer of the lines).
pub(crate) struct Hub<T> {
    summary: Mutex<Summary>,
    meter: Option<Arc<Meter>>,
    /// `--conform`: grade every sender.
    conform: bool,
    sink: Sink<T>,
}

impl<T> Hub<T> {
    pub(crate) fn new(summary: Summary, sink: impl Into<Sink<T>>) -> Self {
        Hub {
            summary: Mutex::new(summary),
            meter: None,
            conform: false,
            sink: sink.into(),
        }
    }

    /// Grade every sender against the spec's rules (`--conform`).
    pub(crate) fn conforming(mut self, conform: bool) -> Self {
        self.conform = conform;
        if conform {
            if let Ok(s) = self.summary.get_mut() {
                s.sender = Some(Default::default());
            }
        }
        self
    }

    /// Count every record in `meter` too (`--metrics`).
    pub(crate) fn metered(mut self, meter: Option<Arc<Meter>>) -> Self {
        self.meter = meter;
        self
    }

    /// Count a finished connection and hand its record to the sink.
    pub(crate) async fn finish(&self, mut rec: Record<T>) {
        self.count(&mut rec);
        self.deliver(rec).await;
    }

    /// [`Hub::finish`] for a boxed record (a TCP connection's): counted
    /// where it is, moved once, into the sink.
    pub(crate) async fn finish_boxed(&self, mut rec: Box<Record<T>>) {
        self.count(&mut rec);
        // No line per connection (relay --no-tap without --json): the
        // sink is closed, and the record is dropped where it is, not moved
        // out to a send that fails.
        if !self.sink.tx.is_closed() {
            self.deliver(*rec).await;
        }
    }

    /// Grade the sender, meter and count the record.
    fn count(&self, rec: &mut Record<T>) {
        if self.conform {
            rec.grade_sender();
        }
        if let Some(m) = &self.meter {
            m.observe(rec);
        }
        if let Ok(mut s) = self.summary.lock() {
            s.add(rec);
        }
    }

    /// Hand the record to the sink.
    async fn deliver(&self, rec: Record<T>) {
        // A closed sink means nobody is listening any more; nothing to do.
        match &self.sink.overflow {
            None => {
                let _ = self.sink.tx.send(rec).await;
            }
            Some(overflow) => {
                if let Err(mpsc::error::TrySendError::Full(rec)) = self.sink.tx.try_send(rec) {
                    overflow(&rec);
                }
            }
        }
    }

    /// The counts so far.
    pub(crate) fn summary(&self) -> Summary {
        self.summary
            .lock()
            .map(|s| s.clone())
            .unwrap_or_else(|e| e.into_inner().clone())
    }
}

/// Serve `tcp` with `service` until `shutdown` resolves or `--count`
/// connections were accepted, then drain (cut short once `now` resolves: a
/// second signal, or nobody reads the output any more). `extra` may add
/// tasks that share the gate (listen's UDP sockets). Every record goes to
/// the hub before this returns.
pub(crate) async fn run<S: Service>(
    tcp: Vec<TcpListener>,
    limits: Limits,
    service: Arc<S>,
    hub: Arc<Hub<S::Facts>>,
    shutdown: impl Future,
    now: impl Future,
    extra: impl FnOnce(&Arc<Gate>, &mut JoinSet<()>),
) -> Summary {
    let for_tcp = hub.clone();
    let out_of_descriptors = hub
        .meter
        .as_ref()
        .map_or_else(Default::default, |m| m.out_of_descriptors.clone());
    let handle = move |c: Accepted| {
        let service = service.clone();
        let hub = for_tcp.clone();
        async move {
            let open = hub.meter.as_deref().map(Meter::open);
            let served = service.serve(c).await;
            drop(open);
            hub.finish_boxed(served.record).await;
            if let Some(mut c) = served.close {
                if c.shutdown {
                    // Best effort: the peer may be gone already.
                    let _ = tokio::io::AsyncWriteExt::shutdown(&mut c.stream).await;
                }
            }
        }
    };
    let ended = lifecycle::run(
        tcp,
        limits,
        out_of_descriptors,
        shutdown,
        now,
        extra,
        handle,
    )
    .await;
    let mut summary = hub.summary();
    summary.interrupted = ended.interrupted;
    summary.out_of_descriptors = ended.out_of_descriptors;
    summary
}
