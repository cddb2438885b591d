//! Counts per finding, kept while a server runs and reported when it
//! stops.

use std::collections::BTreeMap;

use crate::judge::Finding;

use super::record::Record;

#[derive(Debug, Clone, Default)]
pub(crate) struct Summary {
    pub connections: u64,
    /// Finding -> count (only findings seen), in docs/verdicts.md order.
    pub findings: BTreeMap<Finding, u64>,
    /// Pairing finding (spoofable) -> count of connections it was added to.
    pub pairings: BTreeMap<Finding, u64>,
    /// Header versions seen among served connections: "v1", "v2", "none".
    pub versions: BTreeMap<&'static str, u64>,
    /// With expectations: connections that did not meet them.
    pub mismatched: Option<u64>,
    /// Bytes from the clients, and to them.
    pub bytes_in: u64,
    pub bytes_out: u64,
    /// Stopped by a signal (rather than by `--count`).
    pub interrupted: bool,
}

impl Summary {
    pub(crate) fn new(expectations: bool) -> Self {
        Summary {
            mismatched: expectations.then_some(0),
            ..Default::default()
        }
    }

    pub(crate) fn add<T>(&mut self, rec: &Record<T>) {
        self.connections += 1;
        *self.findings.entry(rec.finding).or_default() += 1;
        if let Some(p) = rec.pairing {
            *self.pairings.entry(p).or_default() += 1;
        }
        if rec.served() {
            let v = match rec.accepted().map(|h| h.number()) {
                Some(1) => "v1",
                Some(2) => "v2",
                _ => "none",
            };
            *self.versions.entry(v).or_default() += 1;
        }
        if let (Some(m), Some(false)) = (self.mismatched.as_mut(), rec.matched) {
            *m += 1;
        }
        self.bytes_in += rec.bytes_in;
        self.bytes_out += rec.bytes_out;
    }

    /// The exit status's question (the rule of `ppctl --help`): with
    /// expectations, every connection met them; without, no connection
    /// had a problem finding.
    pub(crate) fn passed(&self) -> bool {
        match self.mismatched {
            Some(m) => m == 0,
            None => !self.findings.keys().any(|f| f.is_problem()),
        }
    }
}
