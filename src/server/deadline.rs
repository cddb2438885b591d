//! A stage with one total deadline (listen's request head, relay's first
//! request): counted once from the stage's start and never restarted by a
//! byte, so a client that trickles is cut on time, whatever it sends.
//! Inside it, each wait is also bounded by the idle limit.

use std::time::{Duration, Instant};

/// Which bound a wait ran into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Bound {
    /// The stage's total deadline (`--request-timeout`).
    Stage,
    /// Silence for the idle limit (`--idle-timeout`).
    Idle,
}

/// The bounds of one stage: its end, and the longest silence in it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StageDeadline {
    end: Instant,
    idle: Duration,
}

impl StageDeadline {
    /// A stage that must be over within `limit` from now, with no silence
    /// longer than `idle` in it.
    pub(crate) fn start(limit: Duration, idle: Duration) -> Self {
        StageDeadline {
            end: Instant::now() + limit,
            idle,
        }
    }

    /// The deadline of the next wait when the last byte moved at `last`:
    /// the stage's end or the idle limit, whichever comes first, and which.
    pub(crate) fn next(&self, last: Instant) -> (Instant, Bound) {
        let idle = last + self.idle;
        if self.end <= idle {
            (self.end, Bound::Stage)
        } else {
            (idle, Bound::Idle)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_byte_does_not_restart_the_stage() {
        let stage = StageDeadline::start(Duration::from_secs(1), Duration::from_secs(60));
        let (first, bound) = stage.next(Instant::now());
        assert_eq!(bound, Bound::Stage);
        // A byte later: the same end.
        let (again, _) = stage.next(Instant::now() + Duration::from_millis(500));
        assert_eq!(first, again);
        let short = StageDeadline::start(Duration::from_secs(60), Duration::from_secs(1));
        assert_eq!(short.next(Instant::now()).1, Bound::Idle);
    }
}
