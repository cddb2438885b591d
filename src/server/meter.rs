//! `--metrics`: what a server counts of its connections while it runs, for
//! Prometheus (listen's and relay's). Every record passes here once, in
//! [`super::Hub::finish`]; counting is a few relaxed atomic additions into
//! arrays sized at start (no lock, no allocation, no label lookup per
//! connection). `report::metrics` reads the counts at scrape time and
//! writes them in the Prometheus text format.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

use crate::judge::{Finding, HeaderKind};

use super::record::{IpProtocol, Record};

/// The `header` label ([`HeaderKind`], probe's too): what the header
/// stage found.
impl HeaderKind {
    /// The valid header that arrived (taken or not), else `None`.
    pub(crate) fn of<T>(rec: &Record<T>) -> Self {
        match rec.header.as_ref().and_then(|h| h.valid.as_ref()) {
            None => HeaderKind::None,
            Some(h) if h.number() == 1 => HeaderKind::V1,
            Some(h) if h.local => HeaderKind::V2Local,
            Some(_) => HeaderKind::V2,
        }
    }
}

/// The transports, in label order.
pub(crate) const TRANSPORTS: [IpProtocol; 2] = [IpProtocol::Tcp, IpProtocol::Udp];

const FINDINGS: usize = Finding::ALL.len();
const HEADERS: usize = HeaderKind::ALL.len();

/// Upper bounds of the header wait's buckets, in seconds: a header comes
/// with the connection (well under a millisecond on a LAN) or is late.
pub(crate) const HEADER_WAIT_BUCKETS: [f64; 11] = [
    0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];
/// Upper bounds of the connection time's buckets, in seconds.
pub(crate) const DURATION_BUCKETS: [f64; 12] = [
    0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0,
];

/// A histogram of atomics: one count per bucket (not cumulative; the last
/// is +Inf), the sum in nanoseconds, the count.
#[derive(Debug)]
pub(crate) struct Histogram<const N: usize> {
    bounds: &'static [f64; N],
    buckets: [AtomicU64; N],
    over: AtomicU64,
    sum_nanos: AtomicU64,
    count: AtomicU64,
}

impl<const N: usize> Histogram<N> {
    fn new(bounds: &'static [f64; N]) -> Self {
        Histogram {
            bounds,
            buckets: std::array::from_fn(|_| AtomicU64::new(0)),
            over: AtomicU64::new(0),
            sum_nanos: AtomicU64::new(0),
            count: AtomicU64::new(0),
        }
    }

    fn observe(&self, d: Duration) {
        let secs = d.as_secs_f64();
        match self.bounds.iter().position(|b| secs <= *b) {
            Some(i) => self.buckets[i].fetch_add(1, Relaxed),
            None => self.over.fetch_add(1, Relaxed),
        };
        let nanos = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        self.sum_nanos.fetch_add(nanos, Relaxed);
        self.count.fetch_add(1, Relaxed);
    }

    /// The buckets as `(upper bound, count in it)`, +Inf last, with the
    /// sum in seconds and the count. Read bucket by bucket while others
    /// count: the count is the buckets' total, so they agree.
    pub(crate) fn read(&self) -> (Vec<(f64, u64)>, f64, u64) {
        let mut buckets: Vec<(f64, u64)> = self
            .bounds
            .iter()
            .zip(&self.buckets)
            .map(|(b, n)| (*b, n.load(Relaxed)))
            .collect();
        buckets.push((f64::INFINITY, self.over.load(Relaxed)));
        let count = buckets.iter().map(|(_, n)| n).sum();
        let sum = Duration::from_nanos(self.sum_nanos.load(Relaxed)).as_secs_f64();
        (buckets, sum, count)
    }
}

/// What a server counts for `--metrics`.
#[derive(Debug)]
pub(crate) struct Meter {
    /// Connections (and datagrams) by finding, transport and header.
    conns: [[[AtomicU64; HEADERS]; TRANSPORTS.len()]; FINDINGS],
    /// TCP connections accepted and not yet finished.
    open: AtomicI64,
    /// Accept to the end of the header stage (TCP).
    pub(crate) header_wait: Histogram<{ HEADER_WAIT_BUCKETS.len() }>,
    /// Accept to the end (TCP).
    pub(crate) duration: Histogram<{ DURATION_BUCKETS.len() }>,
    /// `accept()` calls refused for want of a file descriptor: the accept
    /// loops count into it (the summary's `local-limit`).
    pub(crate) out_of_descriptors: Arc<AtomicU64>,
}

impl Default for Meter {
    fn default() -> Self {
        Meter {
            conns: std::array::from_fn(|_| {
                std::array::from_fn(|_| std::array::from_fn(|_| AtomicU64::new(0)))
            }),
            open: AtomicI64::new(0),
            header_wait: Histogram::new(&HEADER_WAIT_BUCKETS),
            duration: Histogram::new(&DURATION_BUCKETS),
            out_of_descriptors: Arc::default(),
        }
    }
}

impl Meter {
    /// Count a finished connection (or datagram).
    pub(crate) fn observe<T>(&self, rec: &Record<T>) {
        let t = match rec.transport {
            IpProtocol::Tcp => 0,
            IpProtocol::Udp => 1,
        };
        let h = HeaderKind::of(rec) as usize;
        self.conns[rec.finding as usize][t][h].fetch_add(1, Relaxed);
        if rec.transport == IpProtocol::Tcp {
            if let Some(f) = rec.framing {
                self.header_wait.observe(f.wait);
            }
            self.duration.observe(rec.duration);
        }
    }

    /// A TCP connection is open until the guard is dropped.
    pub(crate) fn open(&self) -> Open<'_> {
        self.open.fetch_add(1, Relaxed);
        Open(self)
    }

    pub(crate) fn open_now(&self) -> i64 {
        self.open.load(Relaxed)
    }

    /// Every count that is not 0: (finding, transport, header, count).
    pub(crate) fn counts(
        &self,
    ) -> impl Iterator<Item = (Finding, IpProtocol, HeaderKind, u64)> + '_ {
        Finding::ALL.into_iter().flat_map(move |f| {
            TRANSPORTS.into_iter().enumerate().flat_map(move |(t, tr)| {
                HeaderKind::ALL.into_iter().filter_map(move |h| {
                    let n = self.conns[f as usize][t][h as usize].load(Relaxed);
                    (n > 0).then_some((f, tr, h, n))
                })
            })
        })
    }
}

/// An open connection, counted until dropped (also when its task is cut
/// short at the end of a drain).
pub(crate) struct Open<'a>(&'a Meter);

impl Drop for Open<'_> {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::judge::Expects;
    use crate::server::HeaderSeen;

    fn record(bytes: &[u8]) -> Record<()> {
        let a = "127.0.0.1:1".parse().unwrap();
        let mut rec = Record::new(1, IpProtocol::Tcp, a, a, Expects::Optional, true, ());
        rec.header = Some(HeaderSeen::new(bytes, false));
        rec.finding = Finding::Proxied;
        rec.duration = Duration::from_millis(20);
        rec
    }

    #[test]
    fn counts_by_finding_transport_and_header() {
        let m = Meter::default();
        m.observe(&record(b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n"));
        m.observe(&record(b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n"));
        m.observe(&record(b"GET / HTTP/1.1\r\n"));
        let counts: Vec<_> = m.counts().collect();
        assert_eq!(
            counts,
            [
                (Finding::Proxied, IpProtocol::Tcp, HeaderKind::None, 1),
                (Finding::Proxied, IpProtocol::Tcp, HeaderKind::V1, 2),
            ]
        );
        let (buckets, sum, count) = m.duration.read();
        assert_eq!(count, 3);
        assert!((sum - 0.06).abs() < 1e-9);
        assert_eq!(buckets.iter().find(|(b, _)| *b == 0.05).unwrap().1, 3);
        // No framing recorded: no header wait.
        assert_eq!(m.header_wait.read().2, 0);
    }

    #[test]
    fn an_open_connection_is_counted_until_its_guard_drops() {
        let m = Meter::default();
        let a = m.open();
        let b = m.open();
        assert_eq!(m.open_now(), 2);
        drop(a);
        drop(b);
        assert_eq!(m.open_now(), 0);
    }

    #[test]
    fn a_time_past_the_last_bound_is_in_inf() {
        let h = Histogram::new(&HEADER_WAIT_BUCKETS);
        h.observe(Duration::from_secs(7));
        let (buckets, _, count) = h.read();
        assert_eq!(buckets.last(), Some(&(f64::INFINITY, 1)));
        assert_eq!(count, 1);
    }
}
