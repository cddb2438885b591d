//! Load mode: the same exchange N times, C at a time, within a time cap.
//! Counts findings, ends and statuses and keeps every latency (connect to
//! end of reply); `report::send` turns them into rates and percentiles.
//!
//! The time cap (`--duration`) is a deadline for every exchange too: one
//! still under way then is stopped, counted in `stopped` and not judged.
//! Each connection is a file descriptor: `net::fit` raises the soft
//! limit and says how many fit; running out anyway stops the run
//! with a local error, never a finding about the peer. A [`Watch`] hears
//! of each exchange as it is judged (the command's progress bar), and its
//! interrupt (Ctrl-C) ends the run like the time cap, with the counts so
//! far.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{http_status, judge_reply, layered_exchange, placeholder_ends, BuildError, Plan};
use crate::judge::Finding;
use crate::net::{self, End, Message};

/// The bounds of a run: it stops at `connections` or at `duration`,
/// whichever comes first (exchanges under way at `duration` are stopped).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LoadOptions {
    pub connections: u64,
    pub concurrency: usize,
    pub duration: Duration,
}

impl Default for LoadOptions {
    /// `send`'s defaults (one connection: not a load run).
    fn default() -> Self {
        LoadOptions {
            connections: 1,
            concurrency: 1,
            duration: Duration::from_secs(60),
        }
    }
}

/// A load run's watcher: told whether each judged exchange was ok; its
/// interrupt (Ctrl-C) stops the exchanges under way (counted in
/// `stopped`, not judged) and ends the run with what it measured.
pub(crate) type Watch = net::Watch<bool>;

/// What the exchanges of a run came to.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct LoadSummary {
    /// Exchanges made.
    pub connections: u64,
    pub concurrency: usize,
    /// Exchanges that met the expectations (or, without any, whose
    /// finding is not a problem).
    pub ok: u64,
    pub elapsed: Duration,
    /// Connect to end of reply, for each exchange that connected, sorted.
    pub latencies: Vec<Duration>,
    /// How the exchanges ended.
    pub ends: BTreeMap<End, u64>,
    /// The judge's findings.
    pub findings: BTreeMap<Finding, u64>,
    /// HTTP status codes seen.
    pub statuses: BTreeMap<u16, u64>,
    /// True when the time cap stopped the run before `connections`.
    pub capped: bool,
    /// True when an interrupt (Ctrl-C) stopped the run before
    /// `connections` and the time cap.
    pub interrupted: bool,
    /// Exchanges under way at the time cap or the interrupt, stopped there
    /// and not judged (not in `connections`).
    pub stopped: u64,
    /// The run ran out of file descriptors (the error): a local failure
    /// that stopped it; the counts are the exchanges made before.
    pub local_error: Option<Box<crate::net::NetError>>,
}

impl LoadSummary {
    /// Every exchange was ok, and the run was not all stopped at the cap.
    pub(crate) fn passed(&self) -> bool {
        self.ok == self.connections && (self.connections > 0 || self.stopped == 0)
    }

    /// Exchanges that connected.
    pub(crate) fn connected(&self) -> u64 {
        self.latencies.len() as u64
    }

    fn merge(&mut self, other: LoadSummary) {
        self.latencies.extend(other.latencies);
        self.ok += other.ok;
        self.connections += other.connections;
        self.stopped += other.stopped;
        if self.local_error.is_none() {
            self.local_error = other.local_error;
        }
        for (k, v) in other.ends {
            *self.ends.entry(k).or_default() += v;
        }
        for (k, v) in other.findings {
            *self.findings.entry(k).or_default() += v;
        }
        for (k, v) in other.statuses {
            *self.statuses.entry(k).or_default() += v;
        }
    }
}

/// Run `plan` under `opts` against `addrs`, telling `watch` as it goes.
pub(crate) async fn run(
    plan: Arc<Plan>,
    addrs: Arc<Vec<SocketAddr>>,
    opts: LoadOptions,
    watch: &Watch,
) -> Result<LoadSummary, BuildError> {
    let next = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let deadline = start + opts.duration;
    // For exchanges that never connected (no real socket ends).
    let (local, peer) = placeholder_ends(addrs.first().copied());
    let stand_in = Arc::new(Message {
        header: plan.header.build(local, peer)?,
        payload: plan.payload.clone(),
    });
    let out_of_fds = Arc::new(AtomicBool::new(false));
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..opts.concurrency.max(1) {
        let (plan, addrs, next, stand_in, out_of_fds, watch) = (
            plan.clone(),
            addrs.clone(),
            next.clone(),
            stand_in.clone(),
            out_of_fds.clone(),
            watch.clone(),
        );
        workers.spawn(async move {
            let mut tally = LoadSummary::default();
            let mut plan_now = (*plan).clone();
            while !watch.interrupt.requested()
                && next.fetch_add(1, Ordering::Relaxed) < opts.connections
                && Instant::now() < deadline
                && !out_of_fds.load(Ordering::Relaxed)
            {
                // The time cap is this exchange's deadline too.
                let left = deadline.saturating_duration_since(Instant::now());
                let cut_by_cap = left < plan.net.max_time;
                plan_now.net.max_time = plan.net.max_time.min(left);
                let exchanged = tokio::select! {
                    x = judged_exchange(&plan, &plan_now, &addrs, &stand_in) => Some(x),
                    () = watch.interrupt.wait() => None,
                };
                let Some(exchanged) = exchanged else {
                    tally.stopped += 1;
                    break;
                };
                let judged = exchanged?;
                let reply = &judged.reply;
                if reply.end == End::LocalLimit {
                    out_of_fds.store(true, Ordering::Relaxed);
                    tally.local_error = reply.error.clone().map(Box::new);
                    break;
                }
                if cut_by_cap && reply.end == End::MaxTime {
                    tally.stopped += 1;
                    continue;
                }
                if reply.connected {
                    tally.latencies.push(reply.timings.total);
                }
                *tally.ends.entry(reply.end).or_default() += 1;
                if let Some(s) = http_status(&reply.received) {
                    *tally.statuses.entry(s).or_default() += 1;
                }
                tally.ok += u64::from(judged.ok());
                tally.connections += 1;
                *tally.findings.entry(judged.finding).or_default() += 1;
                watch.tell(&judged.ok());
            }
            Ok::<_, BuildError>(tally)
        });
    }
    let mut all = LoadSummary::default();
    while let Some(joined) = workers.join_next().await {
        // A worker task only ends by returning; a panic would be a bug.
        if let Ok(tally) = joined {
            all.merge(tally?);
        }
    }
    all.elapsed = start.elapsed();
    all.concurrency = opts.concurrency.max(1);
    all.interrupted = watch.interrupt.requested() && all.connections < opts.connections;
    all.capped =
        all.connections < opts.connections && all.local_error.is_none() && !all.interrupted;
    all.latencies.sort_unstable();
    Ok(all)
}

/// One exchange of the load, judged: a protocol's conversation
/// (`--protocol smtp`...), or the payload's exchange. `plan_now` is the
/// plan with this exchange's deadline.
async fn judged_exchange(
    plan: &Plan,
    plan_now: &Plan,
    addrs: &[SocketAddr],
    stand_in: &Message,
) -> Result<super::Exchanged, BuildError> {
    if let Some(speak) = &plan.speak {
        return Ok(super::speak::once(plan_now, speak, addrs).await?.1);
    }
    let (reply, handshake) = layered_exchange(plan_now, addrs).await?;
    let message = reply.message.clone();
    Ok(judge_reply(
        plan,
        message.as_ref().unwrap_or(stand_in),
        reply,
        handshake,
    ))
}
