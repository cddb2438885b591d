//! Load mode: the same exchange N times, C at a time, within a time cap.
//! Measures connections per second and latency (connect to end of reply).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::explain::explain;
use super::{exchange, http_status, BuildError, Plan};

/// The bounds of a run: it stops at `connections` or at `duration`,
/// whichever comes first (connections under way then finish).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoadOptions {
    pub connections: u64,
    pub concurrency: usize,
    pub duration: Duration,
}

/// What one worker saw.
#[derive(Debug, Default)]
struct Tally {
    latencies: Vec<Duration>,
    ends: BTreeMap<&'static str, u64>,
    verdicts: BTreeMap<&'static str, u64>,
    statuses: BTreeMap<u16, u64>,
    ok: u64,
}

impl Tally {
    fn merge(&mut self, other: Tally) {
        self.latencies.extend(other.latencies);
        self.ok += other.ok;
        for (k, v) in other.ends {
            *self.ends.entry(k).or_default() += v;
        }
        for (k, v) in other.verdicts {
            *self.verdicts.entry(k).or_default() += v;
        }
        for (k, v) in other.statuses {
            *self.statuses.entry(k).or_default() += v;
        }
    }
}

/// Latency percentiles in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Percentiles {
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
}

/// The result of a load run (also its `--json` object, under `load`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LoadSummary {
    pub connections: u64,
    pub concurrency: usize,
    /// Exchanges that connected.
    pub connected: u64,
    /// Exchanges that met the expectations (or, without any, got an
    /// accepting answer).
    pub ok: u64,
    pub elapsed_ms: f64,
    pub connections_per_second: f64,
    pub latency_ms: Option<Percentiles>,
    /// How the exchanges ended (net::End codes).
    pub ends: BTreeMap<&'static str, u64>,
    /// Explanation verdicts.
    pub verdicts: BTreeMap<&'static str, u64>,
    /// HTTP status codes seen.
    pub statuses: BTreeMap<u16, u64>,
    /// True when the time cap stopped the run before `connections`.
    pub capped: bool,
}

/// Run `plan` under `opts` against `addrs`.
pub async fn run(
    plan: Arc<Plan>,
    addrs: Arc<Vec<SocketAddr>>,
    opts: LoadOptions,
) -> Result<LoadSummary, BuildError> {
    let next = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let deadline = start + opts.duration;
    let sent_header = plan.check().map(|h| !h.is_empty())?;
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..opts.concurrency.max(1) {
        let (plan, addrs, next) = (plan.clone(), addrs.clone(), next.clone());
        workers.spawn(async move {
            let mut tally = Tally::default();
            while next.fetch_add(1, Ordering::Relaxed) < opts.connections
                && Instant::now() < deadline
            {
                let reply = exchange(&plan, &addrs).await?;
                let verdict = explain(&reply, plan.sent(sent_header)).verdict;
                let checks = plan.expect.check(&reply);
                let ok = if checks.is_empty() {
                    !verdict.is_problem()
                } else {
                    checks.iter().all(|c| c.met)
                };
                tally.ok += u64::from(ok);
                if reply.connected {
                    tally.latencies.push(reply.timings.total);
                }
                *tally.ends.entry(reply.end.code()).or_default() += 1;
                *tally.verdicts.entry(verdict.code()).or_default() += 1;
                if let Some(s) = http_status(&reply.received) {
                    *tally.statuses.entry(s).or_default() += 1;
                }
            }
            Ok::<_, BuildError>(tally)
        });
    }
    let mut all = Tally::default();
    while let Some(joined) = workers.join_next().await {
        // A worker task only ends by returning; a panic would be a bug.
        if let Ok(tally) = joined {
            all.merge(tally?);
        }
    }
    let elapsed = start.elapsed();
    let done: u64 = all.ends.values().sum();
    let connected = all.latencies.len() as u64;
    Ok(LoadSummary {
        connections: done,
        concurrency: opts.concurrency.max(1),
        connected,
        ok: all.ok,
        elapsed_ms: ms(elapsed),
        connections_per_second: if elapsed.is_zero() {
            0.0
        } else {
            done as f64 / elapsed.as_secs_f64()
        },
        latency_ms: percentiles(&mut all.latencies),
        ends: all.ends,
        verdicts: all.verdicts,
        statuses: all.statuses,
        capped: done < opts.connections,
    })
}

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1_000_000.0).round() / 1000.0
}

/// Nearest-rank percentiles; `None` when nothing was measured.
pub fn percentiles(samples: &mut [Duration]) -> Option<Percentiles> {
    if samples.is_empty() {
        return None;
    }
    samples.sort_unstable();
    let at = |p: f64| {
        let rank = ((p / 100.0) * samples.len() as f64).ceil() as usize;
        ms(samples[rank.clamp(1, samples.len()) - 1])
    };
    Some(Percentiles {
        p50: at(50.0),
        p90: at(90.0),
        p99: at(99.0),
        max: ms(samples[samples.len() - 1]),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank() {
        let mut v: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        let p = percentiles(&mut v).unwrap();
        assert_eq!((p.p50, p.p90, p.p99, p.max), (50.0, 90.0, 99.0, 100.0));
        assert!(percentiles(&mut []).is_none());
    }
}
