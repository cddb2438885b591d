//! Load mode: the same exchange N times, C at a time, within a time cap.
//! Counts findings, ends and statuses and keeps every latency (connect to
//! end of reply); `report::send` turns them into rates and percentiles.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{http_status, judge_reply, layered_exchange, placeholder_ends, BuildError, Plan};
use crate::judge::Finding;
use crate::net::{End, Message};

/// The bounds of a run: it stops at `connections` or at `duration`,
/// whichever comes first (connections under way then finish).
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
}

impl LoadSummary {
    /// Exchanges that connected.
    pub(crate) fn connected(&self) -> u64 {
        self.latencies.len() as u64
    }

    fn merge(&mut self, other: LoadSummary) {
        self.latencies.extend(other.latencies);
        self.ok += other.ok;
        self.connections += other.connections;
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

/// Run `plan` under `opts` against `addrs`.
pub(crate) async fn run(
    plan: Arc<Plan>,
    addrs: Arc<Vec<SocketAddr>>,
    opts: LoadOptions,
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
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..opts.concurrency.max(1) {
        let (plan, addrs, next, stand_in) =
            (plan.clone(), addrs.clone(), next.clone(), stand_in.clone());
        workers.spawn(async move {
            let mut tally = LoadSummary::default();
            while next.fetch_add(1, Ordering::Relaxed) < opts.connections
                && Instant::now() < deadline
            {
                let (reply, handshake) = layered_exchange(&plan, &addrs).await?;
                if reply.connected {
                    tally.latencies.push(reply.timings.total);
                }
                *tally.ends.entry(reply.end).or_default() += 1;
                if let Some(s) = http_status(&reply.received) {
                    *tally.statuses.entry(s).or_default() += 1;
                }
                let message = reply.message.clone();
                let judged = judge_reply(
                    &plan,
                    message.as_ref().unwrap_or(&stand_in),
                    reply,
                    handshake,
                );
                tally.ok += u64::from(judged.ok());
                tally.connections += 1;
                *tally.findings.entry(judged.finding).or_default() += 1;
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
    all.capped = all.connections < opts.connections;
    all.latencies.sort_unstable();
    Ok(all)
}
