//! The flow table's maps: from a direction-independent flow key to a small
//! value (a flow's place, a conversation).
//!
//! Every packet looks its flow up, and every new flow looks up, inserts and
//! removes in three maps (its place, its open conversation, the closed
//! ones), so on a flow-dense capture these maps are a large share of the
//! work. Nearly every flow is IPv4: its key is two plain words (each end's
//! address and port), kept in one flat array with open addressing (linear
//! probing, at most three-quarters full, removal by backward shift so no tombstones
//! build up), hashed by one multiplication and compared in two. Any other
//! pair (IPv6, or one end of each family) takes the slower second path: a
//! general hash map of the wider key.

use std::net::{IpAddr, SocketAddr};

use super::link::Peer;

use rustc_hash::FxHashMap;

/// A direction-independent flow key: the same for both directions of a
/// conversation, distinct for TCP and UDP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Key {
    /// Two IPv4 ends, the lower first, each as address << 16 | port (48
    /// bits); the higher word carries [`V4_OCCUPIED`] and, for UDP,
    /// [`V4_UDP`] in its top bits (free above the 48; the flat table keeps
    /// its generation in the bits between).
    V4([u64; 2]),
    /// Any other pair: IPv6 (or one IPv4 end) in four words, the flags and
    /// the ports in the fifth.
    Wide([u64; 5]),
}

/// Set in every IPv4 key's higher word: an empty slot of the flat table
/// is all zeros, so no key is mistaken for one.
const V4_OCCUPIED: u64 = 1 << 63;
const V4_UDP: u64 = 1 << 62;

/// Flags in a wide key's last word.
const WIDE_UDP: u64 = 1;
/// An endpoint of a wide pair is an IPv4 address (a pair from one packet
/// never mixes them; the key stays exact if one did).
const WIDE_A_V4: u64 = 1 << 2;
const WIDE_B_V4: u64 = 1 << 3;

impl Key {
    /// The key of a segment's two ends (either way round).
    #[inline]
    pub(super) fn new(x: Peer, y: Peer, udp: bool) -> Self {
        match (x, y) {
            (Peer::V4(x), Peer::V4(y)) => Key::v4(x, y, udp),
            _ => Key::wide(x.addr(), y.addr(), udp),
        }
    }

    /// The key of any other pair: IPv6, or one end of each family.
    #[inline(never)]
    fn wide(x: SocketAddr, y: SocketAddr, udp: bool) -> Self {
        // Address then port, as SocketAddr orders them.
        let (a, b) = if x <= y { (x, y) } else { (y, x) };
        let bits = |s: SocketAddr| match s.ip() {
            IpAddr::V4(ip) => ip.to_ipv6_mapped().to_bits(),
            IpAddr::V6(ip) => ip.to_bits(),
        };
        let (ba, bb) = (bits(a), bits(b));
        let v4 = |s: SocketAddr, flag: u64| if s.is_ipv4() { flag } else { 0 };
        Key::Wide([
            (ba >> 64) as u64,
            ba as u64,
            (bb >> 64) as u64,
            bb as u64,
            if udp { WIDE_UDP } else { 0 }
                | v4(a, WIDE_A_V4)
                | v4(b, WIDE_B_V4)
                | (u64::from(a.port()) << 16)
                | (u64::from(b.port()) << 32),
        ])
    }

    /// The key of two IPv4 ends given as address << 16 | port.
    fn v4(x: u64, y: u64, udp: bool) -> Self {
        let flags = V4_OCCUPIED | if udp { V4_UDP } else { 0 };
        Key::V4([x.min(y), x.max(y) | flags])
    }

    pub(super) fn udp(&self) -> bool {
        match self {
            Key::V4([_, b]) => b & V4_UDP != 0,
            Key::Wide(w) => w[4] & WIDE_UDP != 0,
        }
    }

    /// A well-mixed hash of the key: its top bits pick a slot.
    #[inline]
    pub(super) fn mix(&self) -> u64 {
        let folded = match *self {
            Key::V4([a, b]) => a ^ b.rotate_left(29),
            Key::Wide([a, b, c, d, e]) => {
                a ^ b.rotate_left(21) ^ c.rotate_left(42) ^ d.rotate_left(11) ^ e
            }
        };
        folded.wrapping_mul(0x9E37_79B9_7F4A_7C15)
    }
}

/// Slots of a new flat table (a power of two).
const MIN_SLOTS: usize = 1024;

/// IPv4 keys to values, open addressing with linear probing. At most
/// three-quarters full: a lookup that misses (every new flow's, in two
/// maps) ends at the first empty slot within a few slots, and the tables
/// of closed conversations, the bulk of pcap's memory, need half the slots
/// of a half-full bound (which cost 9 MiB more of peak RSS on the
/// flow-dense capture, for the same instructions per flow:
/// docs/performance.md, pcap's eighth pass). The keys are apart from the
/// values, so a probe reads only keys until it finds its own.
///
/// Emptying the table is one step: each stored key carries the table's
/// generation in bits its words leave free, and a slot whose generation is
/// not the current one is empty. The tables of closed conversations are
/// emptied every two seconds of capture time, each time at the size of
/// that span's closures (hundreds of thousands of slots on a busy
/// capture); the keys are zeroed only when the generation wraps.
struct FlatV4<V> {
    keys: Vec<[u64; 2]>,
    values: Vec<V>,
    len: usize,
    /// The current generation, in place in a stored key's higher word.
    generation: u64,
}

/// Where a stored key's generation is (between the 48 bits of the end
/// and the flags), and how many there are before the keys are zeroed.
const GEN_SHIFT: u32 = 48;
const GEN_MASK: u64 = ((1 << 14) - 1) << GEN_SHIFT;

impl<V: Copy + Default> FlatV4<V> {
    fn new() -> Self {
        FlatV4 {
            keys: Vec::new(),
            values: Vec::new(),
            len: 0,
            generation: 0,
        }
    }

    fn mask(&self) -> usize {
        self.keys.len() - 1
    }

    /// `key` as it is stored now (with the generation).
    #[inline]
    fn stamped(&self, [a, b]: [u64; 2]) -> [u64; 2] {
        [a, b | self.generation]
    }

    /// The key stored in a slot, if it holds one of this generation.
    #[inline]
    fn live(&self, [a, b]: [u64; 2]) -> Option<[u64; 2]> {
        (b & (V4_OCCUPIED | GEN_MASK) == V4_OCCUPIED | self.generation)
            .then_some([a, b & !GEN_MASK])
    }

    /// Where a key's probe starts.
    #[inline]
    fn home(&self, key: [u64; 2]) -> usize {
        let shift = 64 - self.keys.len().trailing_zeros();
        (Key::V4(key).mix() >> shift) as usize
    }

    /// The slot that holds `key`, or the empty slot where it would go.
    #[inline]
    fn probe(&self, key: [u64; 2]) -> (usize, bool) {
        let mask = self.mask();
        let want = self.stamped(key);
        let mut at = self.home(key);
        loop {
            let here = self.keys[at];
            if here == want {
                return (at, true);
            }
            if self.live(here).is_none() {
                return (at, false);
            }
            at = (at + 1) & mask;
        }
    }

    #[inline]
    fn find(&self, key: [u64; 2]) -> Option<usize> {
        if self.len == 0 {
            return None;
        }
        match self.probe(key) {
            (at, true) => Some(at),
            _ => None,
        }
    }

    #[inline]
    fn insert(&mut self, key: [u64; 2], value: V) -> Option<V> {
        if (self.len + 1) * 4 > self.keys.len() * 3 {
            self.grow();
        }
        let (at, found) = self.probe(key);
        if found {
            return Some(std::mem::replace(&mut self.values[at], value));
        }
        self.keys[at] = self.stamped(key);
        self.values[at] = value;
        self.len += 1;
        None
    }

    #[cold]
    #[inline(never)]
    fn grow(&mut self) {
        let slots = (self.keys.len() * 2).max(MIN_SLOTS);
        let keys = std::mem::replace(&mut self.keys, vec![[0, 0]; slots]);
        let values = std::mem::replace(&mut self.values, vec![V::default(); slots]);
        let generation = std::mem::replace(&mut self.generation, 0);
        for (stored, value) in keys.into_iter().zip(values) {
            let [a, b] = stored;
            if b & (V4_OCCUPIED | GEN_MASK) == V4_OCCUPIED | generation {
                let key = [a, b & !GEN_MASK];
                let (at, _) = self.probe(key);
                self.keys[at] = key;
                self.values[at] = value;
            }
        }
    }

    /// Empty slot `at`, and close the gap: each later slot of the run
    /// whose probe starts at or before the gap moves back into it, so
    /// every key stays reachable from its home without tombstones.
    fn remove_at(&mut self, at: usize) -> V {
        let mask = self.mask();
        let value = self.values[at];
        let mut gap = at;
        let mut next = at;
        loop {
            next = (next + 1) & mask;
            let Some(key) = self.live(self.keys[next]) else {
                break;
            };
            let from_home = next.wrapping_sub(self.home(key)) & mask;
            let from_gap = next.wrapping_sub(gap) & mask;
            if from_home >= from_gap {
                self.keys[gap] = self.keys[next];
                self.values[gap] = self.values[next];
                gap = next;
            }
        }
        self.keys[gap] = [0, 0];
        self.len -= 1;
        value
    }

    /// Empty the table: a new generation, every stored key of the old one
    /// empty at once (so every probe run is still whole: all of it is).
    fn clear(&mut self) {
        if self.len == 0 {
            return;
        }
        self.len = 0;
        self.generation = (self.generation + (1 << GEN_SHIFT)) & GEN_MASK;
        if self.generation == 0 {
            // Wrapped: a key of the generation now starting may still be
            // stored.
            self.keys.fill([0, 0]);
        }
    }

    /// Keep the entries `keep` accepts. A removal may move a later entry
    /// back into the slot just checked (or an earlier, already kept one
    /// around the end): the slot is checked again, and checking a kept
    /// entry twice gives the same answer.
    fn retain(&mut self, mut keep: impl FnMut(&V) -> bool) {
        let mut at = 0;
        while at < self.keys.len() {
            if self.live(self.keys[at]).is_some() && !keep(&self.values[at]) {
                self.remove_at(at);
            } else {
                at += 1;
            }
        }
    }

    fn iter(&self) -> impl Iterator<Item = (Key, &V)> {
        self.keys
            .iter()
            .zip(&self.values)
            .filter_map(|(k, v)| self.live(*k).map(|k| (Key::V4(k), v)))
    }
}

/// A map from flow keys to small values: IPv4 keys in a flat table, the
/// rest in a general hash map.
pub(super) struct FlowMap<V> {
    v4: FlatV4<V>,
    wide: FxHashMap<[u64; 5], V>,
}

impl<V: Copy + Default> Default for FlowMap<V> {
    fn default() -> Self {
        FlowMap {
            v4: FlatV4::new(),
            wide: FxHashMap::default(),
        }
    }
}

impl<V: Copy + Default> FlowMap<V> {
    pub(super) fn len(&self) -> usize {
        self.v4.len + self.wide.len()
    }

    #[inline(always)]
    pub(super) fn get(&self, key: &Key) -> Option<&V> {
        match key {
            Key::V4(k) => self.v4.find(*k).map(|at| &self.v4.values[at]),
            Key::Wide(k) => self.wide.get(k),
        }
    }

    #[inline]
    pub(super) fn get_mut(&mut self, key: &Key) -> Option<&mut V> {
        match key {
            Key::V4(k) => self.v4.find(*k).map(|at| &mut self.v4.values[at]),
            Key::Wide(k) => self.wide.get_mut(k),
        }
    }

    #[inline]
    pub(super) fn insert(&mut self, key: Key, value: V) -> Option<V> {
        match key {
            Key::V4(k) => self.v4.insert(k, value),
            Key::Wide(k) => self.wide.insert(k, value),
        }
    }

    #[inline]
    pub(super) fn remove(&mut self, key: &Key) -> Option<V> {
        match key {
            Key::V4(k) => self.v4.find(*k).map(|at| self.v4.remove_at(at)),
            Key::Wide(k) => self.wide.remove(k),
        }
    }

    /// Empty the map, keeping its room.
    pub(super) fn clear(&mut self) {
        self.v4.clear();
        self.wide.clear();
    }

    pub(super) fn retain(&mut self, mut keep: impl FnMut(&V) -> bool) {
        self.v4.retain(&mut keep);
        self.wide.retain(|_, v| keep(v));
    }

    /// Every entry, in no particular order.
    pub(super) fn iter(&self) -> impl Iterator<Item = (Key, &V)> {
        self.v4
            .iter()
            .chain(self.wide.iter().map(|(k, v)| (Key::Wide(*k), v)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashMap;

    /// A key from a few small numbers: ends that collide often (few
    /// addresses and ports), IPv6 now and then.
    fn key(ends: (u8, u16, u8, u16), udp: bool, v6: bool) -> Key {
        let (ha, pa, hb, pb) = ends;
        let at = |h: u8, p: u16| -> SocketAddr {
            if v6 {
                SocketAddr::new(IpAddr::from([0xfd00, 0, 0, 0, 0, 0, 0, u16::from(h)]), p)
            } else {
                SocketAddr::new(IpAddr::from([10, 0, 0, h]), p)
            }
        };
        Key::new(Peer::of(at(ha, pa)), Peer::of(at(hb, pb)), udp)
    }

    #[derive(Debug, Clone)]
    enum Op {
        Insert(Key, u32),
        Remove(Key),
        Get(Key),
        Touch(Key, u32),
        Clear,
        RetainEven,
    }

    fn op() -> impl Strategy<Value = Op> {
        let k = (
            (0u8..6, 1u16..40, 0u8..3, 1u16..4),
            any::<bool>(),
            prop::bool::weighted(0.1),
        )
            .prop_map(|(ends, udp, v6)| key(ends, udp, v6));
        prop_oneof![
            8 => (k.clone(), any::<u32>()).prop_map(|(k, v)| Op::Insert(k, v)),
            6 => k.clone().prop_map(Op::Remove),
            4 => k.clone().prop_map(Op::Get),
            2 => (k, any::<u32>()).prop_map(|(k, v)| Op::Touch(k, v)),
            1 => Just(Op::RetainEven),
            1 => Just(Op::Clear),
        ]
    }

    fn same(map: &FlowMap<u32>, model: &HashMap<Key, u32>) {
        assert_eq!(map.len(), model.len());
        let mut all: Vec<(Key, u32)> = map.iter().map(|(k, v)| (k, *v)).collect();
        assert_eq!(all.len(), model.len(), "iter gives each entry once");
        all.retain(|(k, v)| model.get(k) == Some(v));
        assert_eq!(all.len(), model.len());
        for (k, v) in model {
            assert_eq!(map.get(k), Some(v), "{k:?}");
        }
    }

    proptest! {
        /// The map agrees with a `HashMap` under any mix of inserts,
        /// removals, lookups, in-place updates, clears and retains, through
        /// growth and the backward shifts of long probe runs.
        #[test]
        fn agrees_with_a_hashmap(ops in prop::collection::vec(op(), 1..1500)) {
            let mut map = FlowMap::<u32>::default();
            let mut model = HashMap::new();
            for op in ops {
                match op {
                    Op::Insert(k, v) => prop_assert_eq!(map.insert(k, v), model.insert(k, v)),
                    Op::Remove(k) => prop_assert_eq!(map.remove(&k), model.remove(&k)),
                    Op::Get(k) => prop_assert_eq!(map.get(&k), model.get(&k)),
                    Op::Touch(k, v) => {
                        if let Some(m) = model.get_mut(&k) {
                            *m = v;
                        }
                        if let Some(m) = map.get_mut(&k) {
                            *m = v;
                        }
                    }
                    Op::Clear => {
                        map.clear();
                        model.clear();
                    }
                    Op::RetainEven => {
                        map.retain(|v| v % 2 == 0);
                        model.retain(|_, v| *v % 2 == 0);
                    }
                }
                same(&map, &model);
            }
        }
    }

    /// Keys that share a home slot (a full cluster wrapping past the end of
    /// the array) stay reachable through removals anywhere in the run.
    #[test]
    fn removal_inside_a_wrapping_run_keeps_every_key() {
        let mut t = FlatV4::<u32>::new();
        t.insert([1, V4_OCCUPIED], 0);
        let last = t.keys.len() - 1;
        // Keys whose home is one of the last three slots, enough to wrap.
        let keys: Vec<[u64; 2]> = (0u64..)
            .map(|i| [i, V4_OCCUPIED | 7])
            .filter(|k| t.home(*k) >= last - 2)
            .take(8)
            .collect();
        for (i, k) in keys.iter().enumerate() {
            t.insert(*k, i as u32);
        }
        for gone in 0..keys.len() {
            let mut u = FlatV4::<u32>::new();
            u.insert([1, V4_OCCUPIED], 0);
            for (i, k) in keys.iter().enumerate() {
                u.insert(*k, i as u32);
            }
            let at = u.find(keys[gone]).unwrap();
            assert_eq!(u.remove_at(at), gone as u32);
            for (i, k) in keys.iter().enumerate() {
                let want = (i != gone).then_some(i as u32);
                assert_eq!(u.find(*k).map(|at| u.values[at]), want, "{gone} {i}");
            }
        }
    }

    /// Emptying starts a generation; when they wrap, the keys are zeroed,
    /// so a key stored that many generations ago is not taken for one of
    /// the new generation.
    #[test]
    fn clears_past_the_generations_wrap_empty_the_table() {
        let mut t = FlatV4::<u32>::new();
        let key = |j: u64| [j, V4_OCCUPIED];
        for round in 0..(1u64 << 14) + 20 {
            let now = round % 7;
            t.insert(key(now), round as u32);
            for j in 0..7 {
                let want = (j == now).then_some(round as u32);
                assert_eq!(t.find(key(j)).map(|at| t.values[at]), want, "{round} {j}");
            }
            assert_eq!(t.iter().count(), 1);
            t.clear();
        }
    }

    /// The two directions of a conversation have one key; TCP and UDP, and
    /// the two families, never share one.
    #[test]
    fn keys_are_direction_independent() {
        let p = |a: &str| Peer::of(a.parse().unwrap());
        let (a, b) = (p("10.0.0.1:40000"), p("10.0.0.2:80"));
        assert_eq!(Key::new(a, b, false), Key::new(b, a, false));
        assert_ne!(Key::new(a, b, false), Key::new(a, b, true));
        assert!(Key::new(a, b, true).udp() && !Key::new(a, b, false).udp());
        let (c, d) = (p("[::ffff:10.0.0.1]:40000"), p("[::ffff:10.0.0.2]:80"));
        assert_eq!(Key::new(c, d, true), Key::new(d, c, true));
        assert_ne!(Key::new(a, b, false), Key::new(c, d, false));
        assert!(Key::new(c, d, true).udp());
    }
}
