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

/// Worker threads of `listen` and `relay` on plain TCP: one (the lines go
/// out from a thread of their own). A plain connection is a few system
/// calls and microseconds of work, so one worker serves tens of thousands a
/// second; a second one mostly adds the cost of waking it and of tasks
/// moving between the two (12% more CPU per connection for `listen`, 4% for
/// `relay`, on 2 CPUs: docs/performance.md). TLS handshakes are CPU work:
/// `listen --tls` keeps two. listen's `--threads` overrides both; relay's
/// adds threads that accept and serve on their own (`server::Limits`).
pub(crate) const PLAIN_SERVER_WORKERS: usize = 1;
/// Worker threads of `listen --tls` and of [`runtime`].
pub(crate) const WORKERS: usize = 2;

/// A runtime with `workers` worker threads.
pub(crate) fn runtime_with(workers: usize) -> crate::error::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .map_err(|e| crate::error::Error::io("starting the async runtime", e))
}
