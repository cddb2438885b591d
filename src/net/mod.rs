//! The client side of one exchange with a receiver, shared by `send`,
//! `repro` and `probe`: resolve a target, connect (with a timeout), wait
//! for a banner if asked, write a header and a payload (whole, or split to
//! test how the receiver reassembles), then read the reply with a timeout
//! and a size bound, and say how the connection ended. Every wait has its
//! own timeout, and the whole exchange one deadline (`Options::max_time`,
//! curl's `--max-time`), so a peer that trickles cannot hold it open.
//!
//! The header is built by a closure that gets the real local and peer
//! socket addresses, because the default header carries them (as
//! `curl --haproxy-protocol` does) and they are only known after connect.
//!
//! Nothing here prints or knows about PROXY protocol rules; the caller
//! decides what the bytes are and what the [`Transcript`] means.

mod dialog;
mod limits;
mod reply;
mod target;
mod tcp;
mod tls;
mod udp;
mod watch;

pub(crate) use dialog::{converse, Conversation, Dialogue, Script, Upgrade};
pub(crate) use limits::{fit, spare_descriptors};
pub(crate) use reply::{http_body, whoami_client};
pub use reply::{End, NetError, Transcript};
// Named by the report layer's tests, which build replies and handshakes.
#[cfg(test)]
pub(crate) use reply::Timings;
pub(crate) use target::{Target, TargetError};
pub(crate) use tcp::{bytes_acked, local_limit};
pub use tcp::{exchange, Message, Options, Split};
pub(crate) use tcp::{hold, Held, MAX_TIME};
pub(crate) use tls::version_name;
pub(crate) use tls::{
    roots, sha256, tls_exchange, Certificate, FailureKind, Handshake, HandshakeResult, TlsOptions,
    Verify,
};
#[cfg(test)]
pub(crate) use tls::{Failure, Session};
pub(crate) use udp::datagram_exchange;
pub(crate) use watch::{Interrupt, Watch};

/// The runtime for a server (and `repro`, which runs servers): two worker
/// threads, so a busy writer or a burst of accepts never stalls the rest.
pub(crate) fn runtime() -> crate::error::Result<tokio::runtime::Runtime> {
    runtime_with(WORKERS)
}

/// Worker threads of `listen` on plain TCP: one (the lines go out from a
/// thread of their own). A plain connection is a few system calls and
/// microseconds of work, so one worker serves tens of thousands a second; a
/// second one mostly adds the cost of waking it and of tasks moving between
/// the two (12% more CPU per connection, on 2 CPUs: docs/performance.md).
/// TLS handshakes are CPU work: `listen --tls` keeps two. `--threads`
/// overrides both. relay serves on the calling thread ([`runtime_here`]).
pub(crate) const PLAIN_SERVER_WORKERS: usize = 1;
/// relay's threads when `--threads` is not given: one per CPU the process
/// may use (a cgroup's CPU quota counts: under half a CPU, one), at most
/// this many (nginx's `worker_processes auto` and HAProxy's `nbthread`
/// default are one per CPU). One thread leaves a CPU idle while it waits:
/// 28-45 µs of idle CPU per connection through it on 2 CPUs, against 10-17
/// with two; two cost more CPU per connection (cross-CPU wake-ups), but
/// serve more in total (docs/performance.md, relay's ninth pass). Measured
/// on 2 CPUs only; every thread's event loop is woken by each new
/// connection, so more are left to `--threads`.
pub(crate) const RELAY_THREADS_AT_MOST: usize = 2;

/// relay's threads by default: one per CPU, at most
/// [`RELAY_THREADS_AT_MOST`].
pub(crate) fn relay_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get().min(RELAY_THREADS_AT_MOST))
}

/// Worker threads of `listen --tls` and of [`runtime`].
pub(crate) const WORKERS: usize = 2;

/// A runtime that runs everything on the calling thread (`current_thread`):
/// relay's, and each of the threads its `--threads` adds
/// (`server::Limits::accept_threads`). With one worker thread instead, the
/// calling thread would only wait, and each wake-up would cross between the
/// two: relay's front hop cost 147-156 µs of CPU per connection this way
/// against 154-164 with a worker (docs/performance.md, relay's ninth pass).
/// listen keeps its worker: on the calling thread it served 0.94x and
/// 0.98x the connections a second at the same CPU (two runs). Blocking
/// work has threads of its own either way (`spawn_blocking`, the line
/// writer).
pub(crate) fn runtime_here() -> crate::error::Result<tokio::runtime::Runtime> {
    started(&mut tokio::runtime::Builder::new_current_thread())
}

/// A runtime with `workers` worker threads.
pub(crate) fn runtime_with(workers: usize) -> crate::error::Result<tokio::runtime::Runtime> {
    started(tokio::runtime::Builder::new_multi_thread().worker_threads(workers))
}

/// `builder`'s runtime, with I/O and timers.
fn started(builder: &mut tokio::runtime::Builder) -> crate::error::Result<tokio::runtime::Runtime> {
    builder
        .enable_all()
        .build()
        .map_err(|e| crate::error::Error::io("starting the async runtime", e))
}
