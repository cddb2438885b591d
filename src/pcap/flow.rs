//! Flow tracking: one entry per TCP connection or UDP 5-tuple, the first
//! bytes of each direction reassembled by sequence number, and FIN/RST.
//!
//! Memory is bounded: a stream keeps at most `max_bytes`, a flow drops its
//! buffers as soon as it is decided (a small tombstone remains so later
//! packets of the same connection are not mistaken for a new one), and the
//! table holds at most `max_flows` entries, evicting on close, on idle time
//! and, when full, the least recently seen.

use std::net::SocketAddr;
use std::time::Duration;

use super::flowmap::{FlowMap, Key};
use super::link::{Layer4, Peer, Segment};
use super::reader::Timestamp;

/// Limits for the flow table.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Bytes kept per direction (the header, and the start of the answer).
    pub max_bytes: usize,
    /// How a flow's protocol after the header is told (`--protocol`):
    /// by name, or `auto` (the server port's, else the one the server
    /// greets in). Mail, database and SSH flows are judged in their
    /// server's words.
    pub protocol: crate::protocol::Selection,
    /// Flows tracked at once.
    pub max_flows: usize,
    /// Capture time without a packet after which a flow is decided with
    /// what was seen.
    pub idle_timeout: Duration,
    /// How long (capture time) a decided flow waits for the flows that
    /// started before it before it is reported out of turn; `None` keeps
    /// the capture order strictly (bounded by `order::MAX_WAITING`). A live
    /// pipe sets it, so a connection that stays open does not hold back
    /// every later row until it is idle.
    pub order_wait: Option<Duration>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bytes: 4096,
            protocol: crate::protocol::Selection::Auto,
            max_flows: 100_000,
            idle_timeout: Duration::from_secs(300),
            order_wait: None,
        }
    }
}

/// Capture time a closed connection's conversation is kept after its last
/// packet, so its final ACK or a retransmitted FIN keeps its stream index.
const CLOSED_LINGER: Duration = Duration::from_secs(2);
/// How often (capture time) the table is swept for idle flows, at most:
/// a shorter idle timeout sweeps as often as it is long.
const SWEEP_EVERY: Duration = Duration::from_secs(5);
/// ... and at least.
const SWEEP_MIN: Duration = Duration::from_millis(100);
/// Buffers of decided flows kept for the next flows' first bytes (two
/// allocations and their growth saved per flow), and the largest kept:
/// at most 1 MiB in all.
const SPARE_BUFFERS: usize = 64;
const SPARE_CAPACITY: usize = 16 * 1024;

/// The start of one direction of a stream, reassembled.
#[derive(Debug, Default, Clone)]
pub struct Stream {
    /// Sequence number of the first data byte (ISN + 1), once known.
    base: Option<u32>,
    /// Contiguous bytes from `base`.
    data: Vec<u8>,
    /// Out-of-order segments past a gap: (offset from base, bytes).
    pending: Vec<(usize, Vec<u8>)>,
    pending_bytes: usize,
}

impl Stream {
    /// The contiguous bytes received from the start of the stream.
    pub fn bytes(&self) -> &[u8] {
        &self.data
    }

    /// True when data arrived but the very first bytes are missing.
    pub fn missing_start(&self) -> bool {
        self.data.is_empty() && !self.pending.is_empty()
    }

    fn set_base(&mut self, first_byte: u32) {
        if self.base.is_none() {
            self.base = Some(first_byte);
        }
    }

    /// Whether a segment at `seq` would be this stream's first bytes, kept
    /// as they are ([`Stream::add`] into an empty stream at its base): its
    /// payload can be lent ([`Seen`]) instead of copied. Sets the base, as
    /// `add` would.
    fn lends_at(&mut self, seq: u32) -> bool {
        let first = self.data.is_empty()
            && self.pending.is_empty()
            && self.base.is_none_or(|base| base == seq);
        if first {
            self.base = Some(seq);
        }
        first
    }

    /// Add a segment that starts at sequence number `seq`. Retransmitted
    /// and overlapping bytes keep their first copy; anything beyond `max`
    /// bytes from the start is ignored.
    fn add(&mut self, seq: u32, payload: &[u8], max: usize) {
        if payload.is_empty() {
            return;
        }
        let base = *self.base.get_or_insert(seq);
        let mut off = seq.wrapping_sub(base) as usize;
        let mut payload = payload;
        if off > (u32::MAX / 2) as usize {
            // Starts before the base: a retransmission that overlaps it.
            let before = base.wrapping_sub(seq) as usize;
            match payload.get(before..) {
                Some(rest) if !rest.is_empty() => payload = rest,
                _ => return,
            }
            off = 0;
        }
        if off >= max {
            return;
        }
        payload = &payload[..payload.len().min(max - off)];
        if off <= self.data.len() {
            self.append_at(off, payload);
            self.drain_pending();
        } else if self.pending_bytes + payload.len() <= max {
            self.pending_bytes += payload.len();
            self.pending.push((off, payload.to_vec()));
        }
    }

    fn append_at(&mut self, off: usize, payload: &[u8]) {
        let have = self.data.len() - off;
        if let Some(new) = payload.get(have..) {
            self.data.extend_from_slice(new);
        }
    }

    fn drain_pending(&mut self) {
        while let Some(i) = self
            .pending
            .iter()
            .position(|(off, _)| *off <= self.data.len())
        {
            let (off, bytes) = self.pending.swap_remove(i);
            self.pending_bytes -= bytes.len();
            self.append_at(off, &bytes);
        }
    }

    /// Start the contiguous bytes in a spare buffer (before the first).
    fn reuse(&mut self, spare: &mut Vec<Vec<u8>>) {
        if self.data.capacity() == 0 {
            if let Some(buf) = spare.pop() {
                self.data = buf;
            }
        }
    }

    /// A released stream as a new one ([`Stream::default`]), its (empty)
    /// buffers kept.
    fn restart(&mut self) {
        self.base = None;
        self.data.clear();
        self.pending.clear();
        self.pending_bytes = 0;
    }

    /// Drop the bytes; the buffer goes back to `spare`. A stream that
    /// never held a byte (a side whose first bytes were lent, [`Seen`])
    /// has nothing to give back: each step is taken only when there is.
    #[inline]
    fn release(&mut self, spare: &mut Vec<Vec<u8>>) {
        if self.data.capacity() != 0 {
            let mut data = std::mem::take(&mut self.data);
            if spare.len() < SPARE_BUFFERS && data.capacity() <= SPARE_CAPACITY {
                data.clear();
                spare.push(data);
            }
        }
        if self.pending.capacity() != 0 {
            self.pending = Vec::new();
        }
        self.pending_bytes = 0;
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Client,
    Server,
}

/// How a direction ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    Fin,
    Rst,
}

/// Why a flow is being decided now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Why {
    /// Enough has been seen (the header and the answer, or a close).
    Ready,
    /// The connection closed (both FINs, or a RST).
    Closed,
    /// No packet for the idle timeout.
    Idle,
    /// The table was full and this flow was the least recently seen.
    Evicted,
    /// The capture ended.
    CaptureEnd,
}

/// One tracked connection (TCP) or 5-tuple (UDP).
#[derive(Debug, Clone)]
pub struct Flow {
    /// Order of creation, for stable output.
    pub id: u64,
    pub client: SocketAddr,
    pub server: SocketAddr,
    pub udp: bool,
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
    /// When the client's first data byte was captured.
    pub first_data: Option<Timestamp>,
    /// When the server's first data byte was captured (a server that
    /// speaks first greets before the client's first byte).
    pub server_first_data: Option<Timestamp>,
    /// The capture's frame number (1-based, as Wireshark counts) of the
    /// flow's first packet.
    pub first_frame: u64,
    /// The conversation's index among the capture's TCP (or UDP)
    /// conversations, from 0: Wireshark's `tcp.stream` (`udp.stream`).
    pub stream: u64,
    /// The handshake (SYN or SYN-ACK) is in the capture; for UDP, always.
    pub start_seen: bool,
    /// The server's SYN-ACK is in the capture (the connection was accepted).
    pub synack_seen: bool,
    /// Read through [`Seen`] (`ready`, `decide`): the bytes a packet
    /// lends are in no stream.
    client_data: Stream,
    server_data: Stream,
    pub client_end: Option<End>,
    pub server_end: Option<End>,
    /// Which side closed (FIN or RST) first.
    pub first_close: Option<Side>,
    pub packets: u64,
    decided: bool,
    /// The client as its packets carry it, to tell the two sides apart.
    client_peer: Peer,
    /// Its open conversation, held here while the flow is tracked (its
    /// packets need no lookup of it) and put back in the table when the
    /// flow goes. `None` when the flow started on a closed conversation:
    /// that one stays in the closed tables, where it ages.
    conversation: Option<Conversation>,
}

impl Flow {
    fn new(id: u64, client: Peer, server: Peer, udp: bool, ts: Timestamp) -> Self {
        Flow {
            id,
            client: client.addr(),
            server: server.addr(),
            udp,
            first_seen: ts,
            last_seen: ts,
            first_data: None,
            server_first_data: None,
            first_frame: 0,
            stream: 0,
            start_seen: udp,
            synack_seen: false,
            client_data: Stream::default(),
            server_data: Stream::default(),
            client_end: None,
            server_end: None,
            first_close: None,
            packets: 0,
            decided: false,
            client_peer: client,
            conversation: None,
        }
    }

    /// Make a freed place (its buffers given back) the new flow
    /// [`Flow::new`] would be, in place: no flow is built and moved in.
    fn reset(&mut self, id: u64, client: Peer, server: Peer, udp: bool, ts: Timestamp) {
        // Every field, named: a new one can't be left stale.
        let Flow {
            id: id_,
            client: client_,
            server: server_,
            udp: udp_,
            first_seen,
            last_seen,
            first_data,
            server_first_data,
            first_frame,
            stream,
            start_seen,
            synack_seen,
            client_data,
            server_data,
            client_end,
            server_end,
            first_close,
            packets,
            decided,
            client_peer,
            conversation,
        } = self;
        (*id_, *client_, *server_, *udp_) = (id, client.addr(), server.addr(), udp);
        *client_peer = client;
        (*first_seen, *last_seen) = (ts, ts);
        (*first_data, *server_first_data) = (None, None);
        (*first_frame, *stream, *packets) = (0, 0, 0);
        (*start_seen, *synack_seen, *decided) = (udp, false, false);
        client_data.restart();
        server_data.restart();
        (*client_end, *server_end, *first_close) = (None, None, None);
        *conversation = None;
    }

    fn closed(&self) -> bool {
        self.client_end == Some(End::Rst)
            || self.server_end == Some(End::Rst)
            || (self.client_end.is_some() && self.server_end.is_some())
    }

    fn end(&mut self, side: Side, end: End) {
        let slot = match side {
            Side::Client => &mut self.client_end,
            Side::Server => &mut self.server_end,
        };
        if *slot != Some(End::Rst) {
            *slot = Some(end);
        }
        self.first_close.get_or_insert(side);
    }

    fn stream(&mut self, side: Side) -> &mut Stream {
        match side {
            Side::Client => &mut self.client_data,
            Side::Server => &mut self.server_data,
        }
    }
}

/// A flow as `ready` and `decide` read it: its fields, and each
/// direction's first bytes, which may be the payload of the packet in hand
/// rather than the flow's stream. The packet that decides a flow (most
/// often the server's answer, its first bytes) is read where it was
/// captured: copying it into the flow, only to drop it once the flow is
/// decided, was ~200 instructions a flow on a flow-dense capture.
pub struct Seen<'a> {
    flow: &'a Flow,
    client: &'a [u8],
    server: &'a [u8],
}

impl<'a> Seen<'a> {
    /// `flow` with the bytes of its streams.
    pub(crate) fn of(flow: &'a Flow) -> Self {
        Seen {
            flow,
            client: flow.client_data.bytes(),
            server: flow.server_data.bytes(),
        }
    }

    /// `flow`, whose stream on `side` is empty, with `bytes` as that
    /// side's first bytes (what [`Stream::add`] would keep of them).
    fn lending(flow: &'a Flow, side: Side, bytes: &'a [u8]) -> Self {
        let mut seen = Seen::of(flow);
        match side {
            Side::Client => seen.client = bytes,
            Side::Server => seen.server = bytes,
        }
        seen
    }

    /// The contiguous bytes the client sent from the start of its stream.
    pub fn client_bytes(&self) -> &'a [u8] {
        self.client
    }

    /// The contiguous bytes the server sent from the start of its stream.
    pub fn server_bytes(&self) -> &'a [u8] {
        self.server
    }

    /// The client sent data, but its very first bytes are missing.
    pub fn client_missing_start(&self) -> bool {
        self.client.is_empty() && self.flow.client_data.missing_start()
    }
}

impl std::ops::Deref for Seen<'_> {
    type Target = Flow;

    fn deref(&self) -> &Flow {
        self.flow
    }
}

/// Bits of a [`MaybeIn`] (a power of two): 128 KiB, for the tens of
/// thousands of conversations one span of closures holds on a busy
/// capture (at 32 KiB, one new flow in six or seven on the flow-dense
/// capture found its bit set by another key and probed a table for
/// nothing).
const MAYBE_BITS: u32 = 20;

/// The keys that may be in one of the closed conversation tables, a bit
/// per hash: a clear bit says the key is not there, and the lookup (a
/// miss for nearly every new flow) is skipped; a set bit only costs it.
struct MaybeIn(Vec<u64>);

impl MaybeIn {
    fn new() -> Self {
        MaybeIn(vec![0; 1 << (MAYBE_BITS - 6)])
    }

    fn bit(key: &Key) -> (usize, u64) {
        let at = (key.mix() >> (64 - MAYBE_BITS)) as usize;
        (at >> 6, 1 << (at & 63))
    }

    fn add(&mut self, key: &Key) {
        let (word, bit) = Self::bit(key);
        self.0[word] |= bit;
    }

    fn may_hold(&self, key: &Key) -> bool {
        let (word, bit) = Self::bit(key);
        self.0[word] & bit != 0
    }

    fn clear(&mut self) {
        self.0.fill(0);
    }
}

/// One conversation as Wireshark numbers them: every packet of a new
/// address/port pair starts one (a bare ACK too), and so does a SYN with
/// a new sequence number on a known pair (port reuse).
///
/// Its last packet's time is kept as its two fields, not a [`Timestamp`]
/// (whose padding made a conversation 40 bytes): 32 bytes, and the tables
/// of closed conversations are most of the memory on a busy capture.
#[derive(Debug, Clone, Copy, Default)]
struct Conversation {
    index: u64,
    /// Its flow closed (both FINs, or a RST) and was forgotten.
    closed: bool,
    syn_seq: Option<u32>,
    last_secs: i64,
    last_nanos: u32,
}

// The packing above holds (a field added would show here first).
const _: () = assert!(std::mem::size_of::<Conversation>() == 32);

impl Conversation {
    fn new(index: u64, syn_seq: Option<u32>, now: Timestamp) -> Self {
        Conversation {
            index,
            closed: false,
            syn_seq,
            last_secs: now.secs,
            last_nanos: now.nanos,
        }
    }

    fn last_seen(&self) -> Timestamp {
        Timestamp {
            secs: self.last_secs,
            nanos: self.last_nanos,
        }
    }

    fn seen(&mut self, now: Timestamp) {
        (self.last_secs, self.last_nanos) = (now.secs, now.nanos);
    }

    /// Still kept at `now`, if closed: quiet for less than [`CLOSED_LINGER`].
    fn lingers(&self, now: Timestamp) -> bool {
        now < self.last_seen().plus(CLOSED_LINGER)
    }
}

/// The tracked flows. Each stays where it was placed in a slab (a flow is
/// a few hundred bytes: its packets update it in place, and neither the
/// index growing nor a flow leaving moves it), found by its key.
#[derive(Default)]
struct Flows {
    index: FlowMap<u32>,
    slab: Vec<Flow>,
    /// Places of flows that left, for the next ones.
    free: Vec<u32>,
}

impl Flows {
    fn len(&self) -> usize {
        self.index.len()
    }

    /// Where `key`'s flow is. Inlined: every packet asks, and its call
    /// cost ~15 instructions to enter and leave, about the probe's own.
    #[inline(always)]
    fn find(&self, key: &Key) -> Option<usize> {
        self.index.get(key).map(|&at| at as usize)
    }

    /// Put a new flow in a free place (not yet found by its key).
    fn place(
        &mut self,
        id: u64,
        (client, server, udp): (Peer, Peer, bool),
        ts: Timestamp,
    ) -> usize {
        match self.free.pop() {
            Some(at) => {
                self.slab[at as usize].reset(id, client, server, udp, ts);
                at as usize
            }
            None => {
                self.slab.push(Flow::new(id, client, server, udp, ts));
                self.slab.len() - 1
            }
        }
    }

    fn track(&mut self, key: Key, at: usize) {
        self.index.insert(key, at as u32);
    }

    /// Stop finding `key`'s flow; it keeps its place until [`Flows::free`].
    fn untrack(&mut self, key: &Key) -> Option<usize> {
        self.index.remove(key).map(|at| at as usize)
    }

    /// Give a place back; its buffers go to `spare`.
    fn free(&mut self, at: usize, spare: &mut Vec<Vec<u8>>) {
        let flow = &mut self.slab[at];
        if !flow.decided {
            // A decided flow's were given back when it was decided.
            flow.client_data.release(spare);
            flow.server_data.release(spare);
        }
        flow.conversation = None;
        self.free.push(at as u32);
    }

    /// What `pick` reads of each tracked flow and its key, where it
    /// reads something.
    fn collect<T>(&self, pick: impl Fn(Key, &Flow) -> Option<T>) -> Vec<T> {
        self.index
            .iter()
            .filter_map(|(k, &at)| pick(k, &self.slab[at as usize]))
            .collect()
    }
}

/// The flow table. `ready` says whether an undecided flow can be decided
/// now; it is asked after a flow's first packet and after each packet
/// that changed what it may read (the handshake, the ends, the bytes
/// kept), so it must read nothing else that changes (not `packets`, not
/// the clocks). `decide` receives every flow exactly once.
pub struct FlowTable {
    flows: Flows,
    limits: Limits,
    next_id: u64,
    /// How often the table is swept, and the capture time from which the
    /// next sweep is due. Deadlines, compared as timestamps: the clocks
    /// are checked on every packet, and a difference in nanoseconds
    /// (`Timestamp::since`, in `i128`) cost more than the comparison.
    sweep_every: Duration,
    sweep_due: Timestamp,
    /// Wireshark's stream numbering, TCP and UDP apart: the open
    /// conversations...
    conversations: FlowMap<Conversation>,
    /// ... and the closed ones, kept for [`CLOSED_LINGER`] after their last
    /// packet, in two generations: those closed in the current span, and
    /// those closed in the span of the same length before it, dropped
    /// whole when the next span starts (their last packets are that old).
    /// A closed conversation quiet for the linger is gone when looked up.
    /// No entry is removed one by one, so the tables fill and empty
    /// without tombstones and keep the size of one span's closures: on a
    /// busy capture they are most of the memory, and one table that
    /// churned doubled at a time that depended on the capture's length.
    closed_recent: FlowMap<Conversation>,
    closed_older: FlowMap<Conversation>,
    /// The keys that may be in each of them.
    maybe_recent: MaybeIn,
    maybe_older: MaybeIn,
    /// When the current span of closures is [`CLOSED_LINGER`] long.
    closed_span_ends: Timestamp,
    next_stream: [u64; 2],
    /// Buffers of decided flows, for the next ones.
    spare: Vec<Vec<u8>>,
    /// Packets that belong to no tracked flow and can't start one (a bare
    /// ACK of a connection whose start is not in the capture).
    pub stray_packets: u64,
}

impl FlowTable {
    pub fn new(limits: Limits) -> Self {
        let sweep_every = limits.idle_timeout.clamp(SWEEP_MIN, SWEEP_EVERY);
        FlowTable {
            flows: Flows::default(),
            limits: Limits {
                max_flows: limits.max_flows.max(1),
                ..limits
            },
            next_id: 0,
            sweep_every,
            sweep_due: Timestamp::default().plus(sweep_every),
            conversations: FlowMap::default(),
            closed_recent: FlowMap::default(),
            closed_older: FlowMap::default(),
            maybe_recent: MaybeIn::new(),
            maybe_older: MaybeIn::new(),
            closed_span_ends: Timestamp::default().plus(CLOSED_LINGER),
            next_stream: [0; 2],
            spare: Vec::new(),
            stray_packets: 0,
        }
    }

    /// The id of the last flow created (ids count from 1).
    pub fn last_id(&self) -> u64 {
        self.next_id
    }

    /// The conversation (stream index) `seg` belongs to, out of its table:
    /// the caller puts it back, or a new flow holds it.
    fn conversation(&mut self, key: Key, ts: Timestamp, seg: &Segment<'_>) -> Conversation {
        let syn = match seg.transport {
            Layer4::Tcp { seq, flags, .. } if flags.syn && !flags.ack => Some(seq),
            _ => None,
        };
        let known = self.take_conversation(key, ts);
        let next = &mut self.next_stream[usize::from(key.udp())];
        let mut fresh = || {
            let c = Conversation::new(*next, syn, ts);
            *next += 1;
            c
        };
        match known {
            Some(mut c) => {
                c.seen(ts);
                match (syn, c.syn_seq) {
                    (Some(new), Some(old)) if new != old => c = fresh(),
                    (Some(new), None) => c.syn_seq = Some(new),
                    _ => {}
                }
                c
            }
            None => fresh(),
        }
    }

    /// Take `key`'s conversation out of its table, if it has one at `now`
    /// (a closed one quiet for [`CLOSED_LINGER`] is forgotten).
    fn take_conversation(&mut self, key: Key, now: Timestamp) -> Option<Conversation> {
        if let Some(c) = self.conversations.remove(&key) {
            return Some(c);
        }
        let c = self.remove_closed(&key)?;
        c.lingers(now).then_some(c)
    }

    /// Take `key`'s closed conversation out of the newer table that has it.
    fn remove_closed(&mut self, key: &Key) -> Option<Conversation> {
        let recent = if self.maybe_recent.may_hold(key) {
            self.closed_recent.remove(key)
        } else {
            None
        };
        recent.or_else(|| {
            if self.maybe_older.may_hold(key) {
                self.closed_older.remove(key)
            } else {
                None
            }
        })
    }

    /// What [`FlowTable::conversation`] and [`FlowTable::put_conversation`]
    /// do for a packet that is no SYN (its conversation's last packet is
    /// now; a new one if it has none), without taking the conversation out
    /// of its table and putting it back when it stays there.
    fn touch_conversation(&mut self, key: Key, now: Timestamp) {
        if let Some(c) = self.conversations.get_mut(&key) {
            c.seen(now);
            return;
        }
        let recent = if self.maybe_recent.may_hold(&key) {
            self.closed_recent.get_mut(&key)
        } else {
            None
        };
        let known = match recent {
            Some(c) if c.lingers(now) => {
                c.seen(now);
                return;
            }
            Some(_) => self.closed_recent.remove(&key).and(None),
            None if self.maybe_older.may_hold(&key) => {
                self.closed_older.remove(&key).filter(|c| c.lingers(now))
            }
            None => None,
        };
        let c = match known {
            Some(mut c) => {
                c.seen(now);
                c
            }
            None => {
                let next = &mut self.next_stream[usize::from(key.udp())];
                let c = Conversation::new(*next, None, now);
                *next += 1;
                c
            }
        };
        self.put_conversation(key, c);
    }

    /// Keep a conversation: open ones until the sweep finds them idle,
    /// closed ones for the linger.
    fn put_conversation(&mut self, key: Key, c: Conversation) {
        if c.closed {
            self.maybe_recent.add(&key);
            self.closed_recent.insert(key, c);
        } else {
            self.conversations.insert(key, c);
        }
    }

    /// Flows currently held (decided tombstones included).
    pub fn len(&self) -> usize {
        self.flows.len()
    }

    /// Account for one segment, the capture's frame number `frame`.
    ///
    /// The common packet (of a tracked flow) is handled here; what happens
    /// once a flow (its start, its end, a port reused, a stray packet) is
    /// in functions of its own, so this one stays small and cheap to enter.
    #[inline(always)]
    pub fn add(
        &mut self,
        ts: Timestamp,
        frame: u64,
        seg: &Segment<'_>,
        ready: &dyn Fn(&Seen<'_>) -> bool,
        decide: &mut dyn FnMut(&Seen<'_>, Why),
    ) {
        if ts >= self.sweep_due {
            self.sweep(ts, decide);
        }
        if ts >= self.closed_span_ends {
            self.age_closed(ts);
        }
        let udp = matches!(seg.transport, Layer4::Udp { .. });
        let key = Key::new(seg.src, seg.dst, udp);
        let mut found = self.flows.find(&key);
        // A new SYN on a finished (or differently numbered) connection
        // is port reuse: close the old flow, start a new one. (The
        // segment is read in place: copying its transport out cost more
        // than the test.)
        if let Layer4::Tcp { seq, flags, .. } = &seg.transport {
            if let (Some(at), true) = (found, flags.syn && !flags.ack) {
                if self.port_reused(key, at, seg.src, *seq, decide) {
                    found = None;
                }
            }
        }
        // The common case, one lookup: a packet of a flow already tracked.
        if let Some(at) = found {
            let flow = &mut self.flows.slab[at];
            let max = self.limits.max_bytes;
            update(flow, ts, seg, max, &mut self.spare, ready, decide);
            // A closed, decided flow is forgotten at once: what can still
            // come (the last ACK, a retransmitted FIN) carries no data and
            // can't start a new flow, so the table only holds open flows.
            if flow.decided && flow.closed() {
                self.forget(key, at, ts);
            }
            return;
        }
        self.untracked(key, ts, frame, seg, ready, decide);
    }

    /// A SYN on `key`'s tracked flow at `at`: when it is not a
    /// retransmission of the flow's own SYN, the old flow is closed and
    /// forgotten (true) and the SYN starts a new one.
    #[cold]
    #[inline(never)]
    fn port_reused(
        &mut self,
        key: Key,
        at: usize,
        src: Peer,
        seq: u32,
        decide: &mut dyn FnMut(&Seen<'_>, Why),
    ) -> bool {
        let old = &self.flows.slab[at];
        if old.client_peer == src && old.client_data.base == Some(seq.wrapping_add(1)) {
            return false;
        }
        self.flows.untrack(&key);
        let old = &self.flows.slab[at];
        untrack(&mut self.conversations, key, old);
        finish(old, Why::Closed, decide);
        self.flows.free(at, &mut self.spare);
        true
    }

    /// `key`'s flow at `at` is decided and closed: it leaves the table,
    /// and its conversation lingers among the closed ones.
    #[inline(never)]
    fn forget(&mut self, key: Key, at: usize, ts: Timestamp) {
        let held = self.flows.slab[at].conversation;
        self.flows.untrack(&key);
        self.flows.free(at, &mut self.spare);
        self.closed(key, held, ts);
    }

    /// A segment of no tracked flow (or of a port reused with a new SYN):
    /// it starts a flow, or it is a stray packet of its conversation.
    #[inline(never)]
    fn untracked(
        &mut self,
        key: Key,
        ts: Timestamp,
        frame: u64,
        seg: &Segment<'_>,
        ready: &dyn Fn(&Seen<'_>) -> bool,
        decide: &mut dyn FnMut(&Seen<'_>, Why),
    ) {
        // Find its conversation. A tracked flow's packets need no lookup:
        // the flow holds its conversation.
        if !starts_flow(seg) {
            // Most often a closed connection's last ACK: its conversation
            // is touched where it is.
            self.touch_conversation(key, ts);
            self.stray_packets += 1;
            return;
        }
        let conversation = self.conversation(key, ts, seg);
        self.next_id += 1;
        let held = if conversation.closed {
            self.put_conversation(key, conversation);
            None
        } else {
            Some(conversation)
        };
        if self.flows.len() >= self.limits.max_flows {
            evict_oldest(
                &mut self.flows,
                &mut self.conversations,
                &mut self.spare,
                decide,
            );
        }
        let at = self.flows.place(self.next_id, endpoints(seg), ts);
        let flow = &mut self.flows.slab[at];
        flow.stream = conversation.index;
        flow.conversation = held;
        flow.first_frame = frame;
        let max = self.limits.max_bytes;
        update(flow, ts, seg, max, &mut self.spare, ready, decide);
        if !(flow.decided && flow.closed()) {
            self.flows.track(key, at);
        } else {
            let held = flow.conversation;
            self.flows.free(at, &mut self.spare);
            self.closed(key, held, ts);
        }
    }

    /// The connection closed: its conversation (`held` by its flow, or
    /// in the tables) is kept only long enough for its last packets (the
    /// final ACK) to count in it.
    fn closed(&mut self, key: Key, held: Option<Conversation>, ts: Timestamp) {
        let held = held.or_else(|| self.take_conversation(key, ts));
        if let Some(mut c) = held {
            c.closed = true;
            c.seen(ts);
            self.put_conversation(key, c);
        }
    }

    /// Start a new span of closures (the current one is
    /// [`CLOSED_LINGER`] long at `now`): the span before it is forgotten
    /// (every conversation in it has been quiet for longer).
    #[cold]
    #[inline(never)]
    fn age_closed(&mut self, now: Timestamp) {
        self.closed_older.clear();
        self.maybe_older.clear();
        std::mem::swap(&mut self.closed_recent, &mut self.closed_older);
        std::mem::swap(&mut self.maybe_recent, &mut self.maybe_older);
        self.closed_span_ends = now.plus(CLOSED_LINGER);
    }

    /// Decide idle flows, drop old tombstones and forget idle
    /// conversations.
    #[cold]
    #[inline(never)]
    fn sweep(&mut self, now: Timestamp, decide: &mut dyn FnMut(&Seen<'_>, Why)) {
        self.sweep_due = now.plus(self.sweep_every);
        let idle = self.limits.idle_timeout;
        let gone = self
            .flows
            .collect(|key, f| (now.since(f.last_seen) >= idle).then_some((f.id, key)));
        remove(
            &mut self.flows,
            &mut self.conversations,
            &mut self.spare,
            gone,
            Why::Idle,
            decide,
        );
        // Tracked flows hold their conversations: these are all untracked.
        self.conversations
            .retain(|c| now.since(c.last_seen()) < idle);
    }

    /// The capture ended: decide every flow still open, oldest first.
    pub fn finish_all(&mut self, decide: &mut dyn FnMut(&Seen<'_>, Why)) {
        let keys = self.flows.collect(|key, f| Some((f.id, key)));
        remove(
            &mut self.flows,
            &mut self.conversations,
            &mut self.spare,
            keys,
            Why::CaptureEnd,
            decide,
        );
    }
}

/// Whether a segment with no flow starts one: UDP, a SYN, or TCP data
/// (not a bare ACK, FIN or RST).
fn starts_flow(seg: &Segment<'_>) -> bool {
    match seg.transport {
        Layer4::Udp { .. } => true,
        Layer4::Tcp { flags, payload, .. } => flags.syn || !payload.is_empty(),
    }
}

/// The client, the server and whether it is UDP, of a flow that `seg`
/// starts ([`starts_flow`]): a SYN-ACK's receiver is the client.
fn endpoints(seg: &Segment<'_>) -> (Peer, Peer, bool) {
    match seg.transport {
        Layer4::Udp { .. } => (seg.src, seg.dst, true),
        Layer4::Tcp { flags, .. } if flags.syn && flags.ack => (seg.dst, seg.src, false),
        Layer4::Tcp { .. } => (seg.src, seg.dst, false),
    }
}

/// Make room: evict the least recently seen tenth of the table.
fn evict_oldest(
    flows: &mut Flows,
    conversations: &mut FlowMap<Conversation>,
    spare: &mut Vec<Vec<u8>>,
    decide: &mut dyn FnMut(&Seen<'_>, Why),
) {
    let mut by_age = flows.collect(|key, f| Some((f.last_seen, f.id, key)));
    let n = (by_age.len() / 10).max(1);
    by_age.select_nth_unstable_by_key(n - 1, |(ts, id, _)| (*ts, *id));
    by_age.truncate(n);
    remove(
        flows,
        conversations,
        spare,
        by_age.into_iter().map(|(_, id, k)| (id, k)).collect(),
        Why::Evicted,
        decide,
    );
}

/// Take flows out of the table (not closed: their conversations go back
/// among the open ones) and decide those still undecided, oldest first.
fn remove(
    flows: &mut Flows,
    conversations: &mut FlowMap<Conversation>,
    spare: &mut Vec<Vec<u8>>,
    mut keys: Vec<(u64, Key)>,
    why: Why,
    decide: &mut dyn FnMut(&Seen<'_>, Why),
) {
    keys.sort_unstable_by_key(|(id, _)| *id);
    for (_, key) in keys {
        if let Some(at) = flows.untrack(&key) {
            let flow = &flows.slab[at];
            untrack(conversations, key, flow);
            finish(flow, why, decide);
            flows.free(at, spare);
        }
    }
}

/// A flow left the table open: the conversation it held is an open one
/// again.
fn untrack(conversations: &mut FlowMap<Conversation>, key: Key, flow: &Flow) {
    if let Some(c) = flow.conversation {
        conversations.insert(key, c);
    }
}

/// Account for one segment of a known flow, and decide it when it is ready.
/// Inlined where the table takes a packet: a call per packet cost ~17
/// instructions to enter and leave (its arguments, the registers saved).
#[inline(always)]
fn update(
    flow: &mut Flow,
    ts: Timestamp,
    seg: &Segment<'_>,
    max: usize,
    spare: &mut Vec<Vec<u8>>,
    ready: &dyn Fn(&Seen<'_>) -> bool,
    decide: &mut dyn FnMut(&Seen<'_>, Why),
) {
    flow.last_seen = ts;
    flow.packets += 1;
    // What `ready` reads (the handshake, the ends, the bytes) may have
    // changed with this packet: else its answer is the one it gave at the
    // last packet (no), and it is not asked again (a bare ACK).
    let mut changed = flow.packets == 1;
    // A segment that would be its side's first bytes as they are, and
    // their start: read in place if it decides the flow ([`Seen`]).
    let mut lent: Option<(Side, u32, &[u8])> = None;
    let side = if seg.src == flow.client_peer {
        Side::Client
    } else {
        Side::Server
    };
    match seg.transport {
        Layer4::Tcp {
            seq,
            ack,
            flags,
            payload,
        } => {
            changed |= flags.syn || flags.fin || flags.rst || !payload.is_empty();
            if flags.syn {
                flow.start_seen = true;
                flow.stream(side).set_base(seq.wrapping_add(1));
                if flags.ack && side == Side::Server {
                    flow.synack_seen = true;
                    flow.client_data.set_base(ack);
                }
            }
            if !payload.is_empty() {
                match side {
                    Side::Client => flow.first_data.get_or_insert(ts),
                    Side::Server => flow.server_first_data.get_or_insert(ts),
                };
            }
            if !flow.decided && !payload.is_empty() {
                // SYN data (TCP Fast Open) starts at ISN + 1 too.
                let start = if flags.syn { seq.wrapping_add(1) } else { seq };
                let stream = flow.stream(side);
                if stream.lends_at(start) {
                    // Copied below only if this packet does not decide.
                    lent = Some((side, start, &payload[..payload.len().min(max)]));
                } else {
                    stream.reuse(spare);
                    stream.add(start, payload, max);
                }
            }
            if flags.rst {
                flow.end(side, End::Rst);
            } else if flags.fin {
                flow.end(side, End::Fin);
            }
        }
        Layer4::Udp { payload } => {
            changed = true;
            if side == Side::Client {
                flow.first_data.get_or_insert(ts);
            }
            if !flow.decided && flow.stream(side).bytes().is_empty() {
                let stream = flow.stream(side);
                stream.reuse(spare);
                stream.add(0, payload, max);
            }
        }
    }
    // `ready` is asked only when this packet changed what it reads.
    if !flow.decided && (changed || flow.closed()) {
        let seen = match lent {
            Some((side, _, bytes)) => Seen::lending(flow, side, bytes),
            None => Seen::of(flow),
        };
        if (changed && ready(&seen)) || flow.closed() {
            let why = if flow.closed() {
                Why::Closed
            } else {
                Why::Ready
            };
            decide(&seen, why);
            flow.decided = true;
            flow.client_data.release(spare);
            flow.server_data.release(spare);
            return;
        }
    }
    if let Some((side, start, bytes)) = lent {
        let stream = flow.stream(side);
        stream.reuse(spare);
        stream.add(start, bytes, max);
    }
}

fn finish(flow: &Flow, why: Why, decide: &mut dyn FnMut(&Seen<'_>, Why)) {
    if !flow.decided {
        let why = if flow.closed() { Why::Closed } else { why };
        decide(&Seen::of(flow), why);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pcap::link::Flags;

    /// A TCP segment at `millis` of capture time.
    fn tcp<'a>(from: &str, to: &str, seq: u32, flags: Flags, payload: &'a [u8]) -> Segment<'a> {
        Segment {
            src: Peer::of(from.parse().unwrap()),
            dst: Peer::of(to.parse().unwrap()),
            transport: Layer4::Tcp {
                seq,
                ack: 0,
                flags,
                payload,
            },
        }
    }

    fn at(millis: i64) -> Timestamp {
        Timestamp {
            secs: 1_700_000_000 + millis / 1000,
            nanos: (millis % 1000) as u32 * 1_000_000,
        }
    }

    /// A closed connection's later packets keep its conversation alive
    /// (a stray ACK touches it where it is), so a retransmission with data
    /// after it starts a flow in the same stream; past the linger, or on a
    /// new SYN, a new stream starts.
    #[test]
    fn stray_packets_keep_a_closed_conversation() {
        let (c, s) = ("10.0.0.1:40000", "10.0.0.2:80");
        let syn = Flags {
            syn: true,
            ..Flags::default()
        };
        let synack = Flags {
            syn: true,
            ack: true,
            ..Flags::default()
        };
        let ack = Flags {
            ack: true,
            ..Flags::default()
        };
        let fin = Flags {
            fin: true,
            ack: true,
            ..Flags::default()
        };
        let mut table = FlowTable::new(Limits::default());
        let mut streams = Vec::new();
        let mut add = |table: &mut FlowTable, ms: i64, seg: Segment<'_>| {
            table.add(
                at(ms),
                1,
                &seg,
                &|_: &Seen<'_>| false,
                &mut |f: &Seen<'_>, _| streams.push((f.id, f.stream)),
            );
        };
        add(&mut table, 0, tcp(c, s, 100, syn, b""));
        add(&mut table, 1, tcp(s, c, 500, synack, b""));
        add(&mut table, 2, tcp(c, s, 101, fin, b""));
        add(&mut table, 3, tcp(s, c, 501, fin, b""));
        assert_eq!(table.len(), 0, "a closed flow is forgotten at once");
        // The last ACK, then another 1.9 s later: both within the linger
        // of the packet before them.
        add(&mut table, 500, tcp(c, s, 102, ack, b""));
        add(&mut table, 2400, tcp(c, s, 102, ack, b""));
        assert_eq!(table.stray_packets, 2);
        // Data on the pair starts a flow in the same conversation.
        add(&mut table, 2450, tcp(c, s, 102, fin, b"late"));
        // A new SYN with another sequence number: port reuse, a new one.
        add(&mut table, 2500, tcp(c, s, 9000, syn, b""));
        add(&mut table, 2501, tcp(c, s, 9001, fin, b""));
        add(&mut table, 2502, tcp(s, c, 7000, fin, b""));
        // Quiet past the linger: a stray packet starts a new conversation,
        // and data after it is in that one.
        add(&mut table, 9000, tcp(c, s, 9002, ack, b""));
        add(&mut table, 9001, tcp(c, s, 9002, ack, b"x"));
        table.finish_all(&mut |f: &Seen<'_>, _| streams.push((f.id, f.stream)));
        assert_eq!(streams, vec![(1, 0), (2, 0), (3, 1), (4, 2)]);
    }

    #[test]
    fn reassembles_out_of_order_and_retransmitted() {
        let mut s = Stream::default();
        s.set_base(1000);
        s.add(1010, b"KLMNO", 100);
        s.add(1005, b"FGHIJ", 100);
        s.add(1005, b"XXXXX", 100); // retransmission with other bytes: first copy wins
        assert_eq!(s.bytes(), b"");
        assert!(s.missing_start());
        s.add(998, b"..ABCDEFG", 100); // overlaps the base
        assert_eq!(s.bytes(), b"ABCDEFGHIJKLMNO");
    }

    #[test]
    fn keeps_at_most_max_bytes() {
        let mut s = Stream::default();
        s.set_base(u32::MAX - 2); // wraps around
        s.add(u32::MAX - 2, b"0123456789", 4);
        assert_eq!(s.bytes(), b"0123");
        s.add((u32::MAX - 2).wrapping_add(100), b"far", 4);
        assert!(s.pending.is_empty());
    }
}
