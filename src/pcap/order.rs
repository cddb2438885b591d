//! Rows in capture order, and chains: a flow is reported once every flow
//! that started before it is decided (so the rows follow each flow's first
//! packet), and once every flow that started before it was decided is
//! decided too, so the flow it became behind a proxy can be linked to it.
//!
//! A chain links a front flow (client → proxy) to the back flow it became
//! (proxy → upstream): the back flow's header claims the front flow's
//! client address and port, or, without a header, the back flow starts
//! from the proxy's host (the front flow's server address) after the front
//! flow, within [`CHAIN_WINDOW`] of its first data and before it was
//! decided, and sends its own data after the front flow's. The second rule
//! is a heuristic: on a busy host, concurrent unrelated flows can match it. The front flow is then
//! judged by what happened behind it (`judge::behind`), and the chain is
//! reported together: the front flow, then the flows behind it.
//!
//! Memory is bounded: past [`MAX_WAITING`] decided flows held back, the
//! oldest is reported without waiting for the rest; so it is, with a wait
//! set (a live pipe), once it has waited that long in capture time.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use rustc_hash::FxHashMap as HashMap;

use super::exchange::Start;
use super::reader::Timestamp;
use super::FlowResult;
use crate::judge::{self, Finding};

/// How long after the front flow's first data (or its start) a back flow
/// without a header may start.
pub const CHAIN_WINDOW: Duration = Duration::from_secs(1);
/// Decided flows held back at most.
pub const MAX_WAITING: usize = 4096;
/// Hops followed behind one front flow.
const MAX_HOPS: usize = 8;

/// One end of a chain link, as the other flow sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Hop {
    pub(crate) id: u64,
    pub(crate) stream: u64,
    pub(crate) finding: Finding,
    /// The finding at the root of the failure: the flow's own, or, when
    /// it is `upstream-failed` too, the one behind it.
    pub(crate) cause: Finding,
}

struct Waiting {
    /// Boxed: a flow's result is large; it moves from the flow table to
    /// the output as a pointer, and B-tree nodes shift their entries on
    /// every insert and removal.
    result: Box<FlowResult>,
    /// Capture time when it was decided.
    decided_at: Timestamp,
    /// Flows created when it was decided: its back flow is one of them.
    created_before: u64,
}

#[derive(Default)]
pub(crate) struct Sequencer {
    /// How long a decided flow waits for its turn (capture time).
    wait: Option<Duration>,
    /// The smallest id not reported yet (ids count from 1).
    next: u64,
    /// Every id up to it is decided.
    frontier: u64,
    waiting: BTreeMap<u64, Waiting>,
    /// Reported ahead of their turn (the back flows of a chain).
    early: BTreeSet<u64>,
    /// What the waiting flows offer a front flow that looks for its back
    /// flow, counted: the clients their headers claim, and their clients'
    /// hosts. A front flow whose client is not claimed and whose server's
    /// host opened none of them has no back flow waiting: the scan of the
    /// waiting flows (each a cache miss) is skipped.
    claimed: HashMap<SocketAddr, u32>,
    hosts: HashMap<IpAddr, u32>,
}

/// Count `key` in (`up`) or out of a multiset.
fn tally<K: std::hash::Hash + Eq>(set: &mut HashMap<K, u32>, key: K, up: bool) {
    if up {
        *set.entry(key).or_default() += 1;
    } else if let std::collections::hash_map::Entry::Occupied(mut e) = set.entry(key) {
        *e.get_mut() -= 1;
        if *e.get() == 0 {
            e.remove();
        }
    }
}

impl Sequencer {
    pub(crate) fn new(wait: Option<Duration>) -> Self {
        Sequencer {
            wait,
            next: 1,
            ..Sequencer::default()
        }
    }

    /// A flow was decided at capture time `now`; `created` flows exist so
    /// far.
    pub(crate) fn decided(
        &mut self,
        result: Box<FlowResult>,
        created: u64,
        now: Timestamp,
        out: &mut dyn FnMut(Box<FlowResult>),
    ) {
        if result.id < self.next {
            // Its turn was skipped (too many waiting): report it now.
            out(result);
            return;
        }
        self.hold(Waiting {
            result,
            decided_at: now,
            created_before: created,
        });
    }

    /// Hold a decided flow back until its turn.
    fn hold(&mut self, w: Waiting) {
        self.count(&w.result, true);
        self.waiting.insert(w.result.id, w);
    }

    /// Take a waiting flow out.
    fn take(&mut self, id: u64) -> Option<Waiting> {
        let w = self.waiting.remove(&id)?;
        self.count(&w.result, false);
        Some(w)
    }

    fn count(&mut self, r: &FlowResult, up: bool) {
        if let Some(claimed) = r.header().and_then(|h| h.source) {
            tally(&mut self.claimed, claimed, up);
        }
        tally(&mut self.hosts, r.client.ip(), up);
    }

    /// No decided flow waits.
    pub(crate) fn is_empty(&self) -> bool {
        self.waiting.is_empty()
    }

    /// Report every flow whose turn has come, at capture time `now`;
    /// `ended` at the end of the capture (everything is decided then).
    pub(crate) fn release(
        &mut self,
        created: u64,
        now: Timestamp,
        ended: bool,
        out: &mut dyn FnMut(Box<FlowResult>),
    ) {
        loop {
            while self.frontier < created {
                let id = self.frontier + 1;
                if id < self.next || self.waiting.contains_key(&id) || self.early.contains(&id) {
                    self.frontier = id;
                } else {
                    break;
                }
            }
            if self.early.remove(&self.next) {
                self.next += 1;
                continue;
            }
            let overdue = self.wait.is_some_and(|w| {
                self.waiting
                    .values()
                    .next()
                    .is_some_and(|first| first.decided_at.plus(w) <= now)
            });
            let crowded = self.waiting.len() > MAX_WAITING || overdue;
            let Some(head) = self.waiting.get(&self.next) else {
                // The next flow is not decided yet.
                match self.waiting.keys().next() {
                    Some(&first) if ended || crowded => {
                        self.next = first;
                        continue;
                    }
                    _ => return,
                }
            };
            if !ended && !crowded && head.created_before > self.frontier {
                return;
            }
            let Some(head) = self.take(self.next) else {
                return;
            };
            self.next += 1;
            // Most flows are no proxy's front: reported as they are,
            // without gathering a chain.
            if self.back_of(&head.result, head.created_before).is_none() {
                out(head.result);
                continue;
            }
            for r in self.chain(head.result, head.created_before, 0) {
                out(r);
            }
        }
    }

    /// `front` and the flows behind it, judged.
    // Boxes in a Vec on purpose: the results move on as pointers.
    #[allow(clippy::vec_box)]
    fn chain(
        &mut self,
        mut front: Box<FlowResult>,
        created_before: u64,
        hops: usize,
    ) -> Vec<Box<FlowResult>> {
        let found = if hops < MAX_HOPS {
            self.back_of(&front, created_before)
        } else {
            None
        };
        let Some(id) = found else {
            return vec![front];
        };
        let Some(back) = self.take(id) else {
            return vec![front];
        };
        self.early.insert(id);
        let mut rest = self.chain(back.result, back.created_before, hops + 1);
        let behind = &mut rest[0];
        front.decision.finding = judge::behind(front.own, behind.finding());
        let cause = match behind.back {
            Some(further) if behind.finding() == Finding::UpstreamFailed => further.cause,
            _ => behind.finding(),
        };
        front.back = Some(Hop {
            id: behind.id,
            stream: behind.stream,
            finding: behind.finding(),
            cause,
        });
        behind.front = Some(Hop {
            id: front.id,
            stream: front.stream,
            finding: front.finding(),
            cause: front.finding(),
        });
        let mut all = vec![front];
        all.append(&mut rest);
        all
    }

    /// The back flow of `front` among the decided flows created before
    /// `front` was decided.
    fn back_of(&self, front: &FlowResult, created_before: u64) -> Option<u64> {
        if created_before <= front.id
            || !(self.claimed.contains_key(&front.client)
                || self.hosts.contains_key(&front.server.ip()))
        {
            return None;
        }
        let candidates = self
            .waiting
            .range(front.id + 1..created_before + 1)
            .map(|(id, w)| (*id, &w.result))
            .filter(|(_, b)| b.udp == front.udp && b.front.is_none());
        // The header claims the front flow's client; or, without a header
        // (TCP only), from the proxy's host, soon after the front's data.
        // The first rule wins over the second: one pass looks for both.
        let until = front.first_data.unwrap_or(front.time).plus(CHAIN_WINDOW);
        let mut plain = None;
        for (id, b) in candidates {
            if b.header().and_then(|h| h.source) == Some(front.client) {
                return Some(id);
            }
            if plain.is_none()
                && !front.udp
                && matches!(b.decision.start, Start::NotProxy | Start::Nothing)
                && b.client.ip() == front.server.ip()
                && b.client != front.server
                && b.server != front.server
                && b.server != front.client
                && b.time >= front.time
                && b.time <= until
                // It forwards what the client sent: its data follows.
                && b.first_data >= front.first_data
            {
                plain = Some(id);
            }
        }
        plain
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::judge::Finding as F;

    #[test]
    fn the_front_hop_is_judged_by_the_hop_behind_it() {
        assert_eq!(
            judge::behind(F::HttpError, F::UnexpectedHeader),
            F::UpstreamFailed
        );
        assert_eq!(
            judge::behind(F::MissingHeader, F::HeaderRejected),
            F::UpstreamFailed
        );
        assert_eq!(
            judge::behind(F::Plain, F::UpstreamFailed),
            F::UpstreamFailed
        );
        // A working hop behind, or a front hop broken on its own.
        assert_eq!(judge::behind(F::Plain, F::Proxied), F::Plain);
        assert_eq!(
            judge::behind(F::InvalidHeader, F::MissingHeader),
            F::InvalidHeader
        );
        assert_eq!(
            judge::behind(F::Incomplete, F::MissingHeader),
            F::Incomplete
        );
    }
}
