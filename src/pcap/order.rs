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
//!
//! The flows from the next to report on sit in a ring indexed by flow id
//! (a slot each: still open, held, or reported early); a held flow's
//! result stays where it was put in a slab, and the output borrows it
//! there. Ids the order moves past leave the ring, so what it holds is
//! bounded by the flows open and held.

use std::collections::VecDeque;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

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
    /// Its place holds a flow (a free place keeps the last one's result,
    /// overwritten field by field by the next: a result is a few hundred
    /// bytes, and building one elsewhere and moving it in copied it twice).
    live: bool,
    result: FlowResult,
    /// Capture time when it was decided.
    decided_at: Timestamp,
    /// Flows created when it was decided: its back flow is one of them.
    created_before: u64,
    /// The tallies' buckets it counts in ([`Sequencer::buckets`]), kept
    /// for when it leaves them.
    buckets: (Option<usize>, usize),
}

/// What the ring knows of one flow id from `next` on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    /// Not decided yet.
    Open,
    /// Decided and held back: its index in the slab.
    Held(u32),
    /// Reported ahead of its turn (the back flow of a chain).
    Early,
}

/// Buckets of a [`Tally`] (a power of two).
const TALLY_BITS: u32 = 12;

/// How many held flows may offer a key to a front flow looking for its
/// back flow, counted in buckets: zero says that none does, so the scan
/// of the held flows (each a cache miss) is skipped; two keys that share
/// a bucket only cost a scan, which decides exactly.
struct Tally(Vec<u32>);

impl Tally {
    fn new() -> Self {
        Tally(vec![0; 1 << TALLY_BITS])
    }

    fn bucket(bits: u128) -> usize {
        let folded = (bits as u64) ^ ((bits >> 64) as u64);
        (folded.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - TALLY_BITS)) as usize
    }

    fn ip_bits(ip: IpAddr) -> u128 {
        match ip {
            IpAddr::V4(ip) => u128::from(ip.to_bits()),
            IpAddr::V6(ip) => ip.to_bits(),
        }
    }

    fn of_ip(ip: IpAddr) -> usize {
        Self::bucket(Self::ip_bits(ip))
    }

    fn of_addr(addr: SocketAddr) -> usize {
        Self::bucket(Self::ip_bits(addr.ip()) ^ (u128::from(addr.port()) << 40))
    }

    fn count(&mut self, bucket: usize, up: bool) {
        let n = &mut self.0[bucket];
        *n = if up { *n + 1 } else { n.saturating_sub(1) };
    }

    fn has(&self, bucket: usize) -> bool {
        self.0[bucket] > 0
    }
}

pub(crate) struct Sequencer {
    /// How long a decided flow waits for its turn (capture time).
    wait: Option<Duration>,
    /// The smallest id not reported yet (ids count from 1).
    next: u64,
    /// Every id up to it is decided.
    frontier: u64,
    /// `ring[i]` is flow `next + i`; ids past its end are open.
    ring: VecDeque<Slot>,
    /// The held flows' results, and the free places among them.
    slab: Vec<Waiting>,
    free: Vec<u32>,
    /// Flows held.
    held: usize,
    /// No flow below this id is held (a hint for [`Sequencer::first_held`]).
    held_from: u64,
    /// What the held flows offer a front flow that looks for its back
    /// flow: the clients their headers claim, and their clients' hosts.
    claimed: Tally,
    hosts: Tally,
    /// Flows decided while the table took a frame, placed in the slab
    /// as they were made (a result is a few hundred bytes: it is not
    /// moved again) and held by [`Sequencer::settle`] once the frame is in.
    pending: Vec<u32>,
}

impl Sequencer {
    pub(crate) fn new(wait: Option<Duration>) -> Self {
        Sequencer {
            wait,
            next: 1,
            frontier: 0,
            ring: VecDeque::new(),
            slab: Vec::new(),
            free: Vec::new(),
            held: 0,
            held_from: 1,
            claimed: Tally::new(),
            hosts: Tally::new(),
            pending: Vec::new(),
        }
    }

    /// The slot of flow `id`; ids before `next` were reported, and hold
    /// nothing.
    fn slot(&self, id: u64) -> Slot {
        id.checked_sub(self.next)
            .and_then(|i| usize::try_from(i).ok())
            .and_then(|i| self.ring.get(i).copied())
            .unwrap_or(Slot::Open)
    }

    fn set(&mut self, id: u64, slot: Slot) {
        let i = (id - self.next) as usize;
        if i == self.ring.len() {
            // The usual case: flows are decided about in the order they
            // start.
            self.ring.push_back(slot);
            return;
        }
        if i > self.ring.len() {
            self.ring.resize(i + 1, Slot::Open);
        }
        self.ring[i] = slot;
    }

    /// Move the order on to `id`: the slots before it leave the ring.
    fn advance_to(&mut self, id: u64) {
        let gone = ((id - self.next) as usize).min(self.ring.len());
        if gone == 1 {
            // The usual step, without a drain's set-up.
            self.ring.pop_front();
        } else {
            self.ring.drain(..gone);
        }
        self.next = id;
    }

    /// A flow was decided at capture time `now`; `created` flows exist so
    /// far.
    #[cfg(test)]
    pub(crate) fn decided(
        &mut self,
        result: FlowResult,
        created: u64,
        now: Timestamp,
        out: &mut dyn FnMut(&FlowResult),
    ) {
        self.put(result);
        self.settle(created, now, out);
    }

    /// A flow was decided: its result waits in the slab for
    /// [`Sequencer::settle`].
    #[cfg(test)]
    pub(crate) fn put(&mut self, result: FlowResult) {
        self.put_with(|r| *r = result);
    }

    /// A flow was decided: `fill` writes its result in place in the slab
    /// (over whatever a free place held: every field), where it waits for
    /// [`Sequencer::settle`].
    pub(crate) fn put_with(&mut self, fill: impl FnOnce(&mut FlowResult)) {
        let at = match self.free.pop() {
            Some(at) => at,
            None => {
                self.slab.push(Waiting {
                    live: false,
                    result: FlowResult::blank(),
                    decided_at: Timestamp::default(),
                    created_before: 0,
                    buckets: (None, 0),
                });
                (self.slab.len() - 1) as u32
            }
        };
        let w = &mut self.slab[at as usize];
        fill(&mut w.result);
        w.live = true;
        w.decided_at = Timestamp::default();
        w.created_before = 0;
        w.buckets = (None, 0);
        self.pending.push(at);
    }

    /// Flows were [`put_with`](Sequencer::put_with) since the last settle.
    pub(crate) fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    /// The flows put since the last call were decided at capture time
    /// `now`, when `created` flows existed: each is held back until its
    /// turn, in the order they were decided.
    pub(crate) fn settle(
        &mut self,
        created: u64,
        now: Timestamp,
        out: &mut dyn FnMut(&FlowResult),
    ) {
        for i in 0..self.pending.len() {
            let at = self.pending[i];
            let w = &mut self.slab[at as usize];
            if !w.live {
                continue;
            }
            if w.result.id < self.next {
                // Its turn was skipped (too many waiting): report it now.
                self.report(at, out);
                continue;
            }
            w.decided_at = now;
            w.created_before = created;
            let id = w.result.id;
            let buckets = Self::buckets(&w.result);
            w.buckets = buckets;
            self.count(buckets, true);
            self.set(id, Slot::Held(at));
            self.held += 1;
            self.held_from = self.held_from.min(id);
        }
        self.pending.clear();
    }

    /// The held flow `id`.
    fn get(&self, id: u64) -> Option<&Waiting> {
        match self.slot(id) {
            Slot::Held(at) => self.at(at),
            _ => None,
        }
    }

    /// Take a held flow out of the order (its slot becomes `then`); its
    /// result stays in the slab, at the place returned, until [`free`].
    ///
    /// [`free`]: Sequencer::free
    fn take(&mut self, id: u64, then: Slot) -> Option<u32> {
        let Slot::Held(at) = self.slot(id) else {
            return None;
        };
        let buckets = self.at(at)?.buckets;
        self.count(buckets, false);
        self.set(id, then);
        self.held -= 1;
        Some(at)
    }

    /// The flow at `at` in the slab (taken out of the order, it stays
    /// there until it is reported).
    fn at(&self, at: u32) -> Option<&Waiting> {
        self.slab.get(at as usize).filter(|w| w.live)
    }

    fn at_mut(&mut self, at: u32) -> Option<&mut FlowResult> {
        self.slab
            .get_mut(at as usize)
            .filter(|w| w.live)
            .map(|w| &mut w.result)
    }

    /// Report the flow at `at` and give its place back.
    fn report(&mut self, at: u32, out: &mut dyn FnMut(&FlowResult)) {
        let Some(w) = self.slab.get_mut(at as usize).filter(|w| w.live) else {
            return;
        };
        out(&w.result);
        w.live = false;
        // The bytes kept for the views go now, as the result went before:
        // a free place holds no more than a result without them.
        w.result.client_bytes = Vec::new();
        w.result.answer = Vec::new();
        self.free.push(at);
    }

    /// The tallies' buckets a flow counts in: the client its header
    /// claims, and its client's host.
    fn buckets(r: &FlowResult) -> (Option<usize>, usize) {
        let claimed = r.header().and_then(|h| h.source).map(Tally::of_addr);
        (claimed, Tally::of_ip(r.client.ip()))
    }

    fn count(&mut self, (claimed, host): (Option<usize>, usize), up: bool) {
        if let Some(claimed) = claimed {
            self.claimed.count(claimed, up);
        }
        self.hosts.count(host, up);
    }

    /// The smallest id held, if any.
    fn first_held(&mut self) -> Option<u64> {
        if self.held == 0 {
            return None;
        }
        let from = self.held_from.max(self.next);
        let skip = usize::try_from(from - self.next).unwrap_or(usize::MAX);
        let found = self
            .ring
            .iter()
            .skip(skip)
            .position(|s| matches!(s, Slot::Held(_)))?;
        let id = from + found as u64;
        self.held_from = id;
        Some(id)
    }

    /// No decided flow waits.
    pub(crate) fn is_empty(&self) -> bool {
        self.held == 0
    }

    /// Report every flow whose turn has come, at capture time `now`;
    /// `ended` at the end of the capture (everything is decided then).
    pub(crate) fn release(
        &mut self,
        created: u64,
        now: Timestamp,
        ended: bool,
        out: &mut dyn FnMut(&FlowResult),
    ) {
        loop {
            while self.frontier < created {
                let id = self.frontier + 1;
                if id < self.next || self.slot(id) != Slot::Open {
                    self.frontier = id;
                } else {
                    break;
                }
            }
            if self.slot(self.next) == Slot::Early {
                self.advance_to(self.next + 1);
                continue;
            }
            let overdue = match self.wait {
                Some(w) => self
                    .first_held()
                    .and_then(|id| self.get(id))
                    .is_some_and(|first| first.decided_at.plus(w) <= now),
                None => false,
            };
            let crowded = self.held > MAX_WAITING || overdue;
            let Some(head) = self.get(self.next) else {
                // The next flow is not decided yet.
                match self.first_held() {
                    Some(first) if ended || crowded => {
                        // Early slots passed here are dropped with the
                        // rest: their flows were reported.
                        self.advance_to(first);
                        continue;
                    }
                    _ => return,
                }
            };
            if !ended && !crowded && head.created_before > self.frontier {
                return;
            }
            let Some(head) = self.take(self.next, Slot::Early) else {
                return;
            };
            self.advance_to(self.next + 1);
            // Most flows are no proxy's front: reported as they are,
            // without gathering a chain.
            let alone = self
                .at(head)
                .is_none_or(|w| self.back_of(&w.result, w.created_before).is_none());
            if alone {
                self.report(head, out);
                continue;
            }
            for at in self.chain(head, 0) {
                self.report(at, out);
            }
        }
    }

    /// The flow at `front` (in the slab) and the flows behind it, judged:
    /// their places, front first.
    fn chain(&mut self, front: u32, hops: usize) -> Vec<u32> {
        let found = match self.at(front) {
            Some(w) if hops < MAX_HOPS => self.back_of(&w.result, w.created_before),
            _ => None,
        };
        let Some(back) = found.and_then(|id| self.take(id, Slot::Early)) else {
            return vec![front];
        };
        let mut all = vec![front];
        all.extend(self.chain(back, hops + 1));
        // The hop behind, as the front flow sees it (judged by what is
        // behind it in turn: the recursion above).
        let Some(behind) = self.at(back).map(|w| &w.result) else {
            return all;
        };
        let finding = behind.finding();
        let cause = match behind.back {
            Some(further) if finding == Finding::UpstreamFailed => further.cause,
            _ => finding,
        };
        let hop = Hop {
            id: behind.id,
            stream: behind.stream,
            finding,
            cause,
        };
        let Some(f) = self.at_mut(front) else {
            return all;
        };
        f.decision.finding = judge::behind(f.own, finding);
        f.back = Some(hop);
        let hop = Hop {
            id: f.id,
            stream: f.stream,
            finding: f.finding(),
            cause: f.finding(),
        };
        if let Some(b) = self.at_mut(back) {
            b.front = Some(hop);
        }
        all
    }

    /// The back flow of `front` among the decided flows created before
    /// `front` was decided.
    fn back_of(&self, front: &FlowResult, created_before: u64) -> Option<u64> {
        if created_before <= front.id
            || !(self.claimed.has(Tally::of_addr(front.client))
                || self.hosts.has(Tally::of_ip(front.server.ip())))
        {
            return None;
        }
        let candidates = (front.id + 1..created_before + 1)
            .filter_map(|id| self.get(id).map(|w| (id, &w.result)))
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

    /// A plain TCP flow's result (no header), started at second `id / 3`.
    fn plain(id: u64, client: &str, server: &str) -> FlowResult {
        let time = Timestamp {
            secs: 1_700_000_000 + (id / 3) as i64,
            nanos: 0,
        };
        FlowResult {
            id,
            time,
            first_data: Some(time),
            first_frame: id,
            stream: id,
            udp: false,
            client: client.parse().unwrap(),
            server: server.parse().unwrap(),
            packets: 1,
            decision: super::super::Decision {
                start: Start::NotProxy,
                exchange: None,
                finding: F::Plain,
                close: None,
                spoken: None,
            },
            client_bytes: Vec::new(),
            answer: Vec::new(),
            own: F::Plain,
            front: None,
            back: None,
        }
    }

    /// Back flows reported ahead of their turn are forgotten when the
    /// order skips past them (a flow before them never ends), not kept
    /// for the rest of the capture.
    #[test]
    fn back_flows_skipped_past_are_not_kept() {
        // Wait zero: every held flow is overdue, so the order skips past
        // the open flow in each round at once.
        let mut seq = Sequencer::new(Some(Duration::ZERO));
        let mut out = Vec::new();
        for round in 0..10_000u64 {
            // A front flow to the proxy, a flow that stays open, and the
            // proxy's flow upstream for the front one.
            let front = round * 3 + 1;
            let back = front + 2;
            let now = plain(back, "10.0.0.1:1", "10.0.0.1:2").time;
            let mut emit = |r: &FlowResult| out.push((r.id, r.back.map(|b| b.id)));
            seq.decided(
                plain(front, "192.0.2.1:40000", "10.0.0.5:80"),
                back,
                now,
                &mut emit,
            );
            seq.decided(
                plain(back, "10.0.0.5:50000", "10.0.0.9:8080"),
                back,
                now,
                &mut emit,
            );
            seq.release(back, now, false, &mut emit);
            assert!(
                seq.ring.len() <= 4,
                "round {round}: {} slots",
                seq.ring.len()
            );
        }
        assert_eq!(out.len(), 20_000);
        assert_eq!(out[0], (1, Some(3)));
        assert_eq!(out[1], (3, None));
        assert!(seq.is_empty() && seq.slab.len() <= 2);
    }

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
