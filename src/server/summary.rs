//! Counts per finding, kept while a server runs and reported when it
//! stops.

use std::collections::BTreeMap;

use crate::judge::conformance::{SenderTest, Status};
use crate::judge::Finding;
use crate::protocol::Protocol;

use super::record::Record;

#[derive(Debug, Clone, Default)]
pub(crate) struct Summary {
    pub connections: u64,
    /// Finding -> count (only findings seen), in docs/verdicts.md order.
    pub findings: BTreeMap<Finding, u64>,
    /// Pairing finding (spoofable) -> count of connections it was added to.
    pub pairings: BTreeMap<Finding, u64>,
    /// Finding -> the protocol it was first judged in (`relay
    /// --protocol`), whose server's fixes the summary explains.
    pub protocols: BTreeMap<Finding, Protocol>,
    /// Header versions seen among served connections: "v1", "v2", "none".
    pub versions: BTreeMap<&'static str, u64>,
    /// With expectations: connections that did not meet them.
    pub mismatched: Option<u64>,
    /// Bytes from the clients, and to them.
    pub bytes_in: u64,
    pub bytes_out: u64,
    /// Stopped by a signal (rather than by `--count`).
    pub interrupted: bool,
    /// `accept()` calls refused for want of a file descriptor (EMFILE,
    /// ENFILE), each followed by a back-off while the client waited in the
    /// backlog: this host's limit, the finding `local-limit`.
    pub out_of_descriptors: u64,
    /// `--conform`: per sender test, the connections of each status.
    pub sender: Option<SenderTally>,
}

/// `--conform`'s counts: per sender test ([`SenderTest::ALL`] order), the
/// connections that got each status ([`Status::ALL`] order).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct SenderTally(pub [[u64; Status::ALL.len()]; SenderTest::ALL.len()]);

impl SenderTally {
    pub(crate) fn count(&self, t: SenderTest, s: Status) -> u64 {
        self.0[t as usize][s as usize]
    }

    /// The test's status over the run: its worst over the connections
    /// graded (skip when none was).
    pub(crate) fn status(&self, t: SenderTest) -> Status {
        [Status::Fail, Status::Warn, Status::Pass]
            .into_iter()
            .find(|s| self.count(t, *s) > 0)
            .unwrap_or(Status::Skip)
    }

    /// True when no MUST failed.
    pub(crate) fn passed(&self) -> bool {
        SenderTest::ALL
            .into_iter()
            .all(|t| self.status(t) != Status::Fail)
    }
}

impl Summary {
    pub(crate) fn new(expectations: bool) -> Self {
        Summary {
            mismatched: expectations.then_some(0),
            ..Default::default()
        }
    }

    /// The findings of the run besides the connections': `local-limit`
    /// when an accept ran out of descriptors.
    pub(crate) fn server_findings(&self) -> Option<Finding> {
        (self.out_of_descriptors > 0).then_some(Finding::LocalLimit)
    }

    pub(crate) fn add<T>(&mut self, rec: &Record<T>) {
        self.connections += 1;
        *self.findings.entry(rec.finding).or_default() += 1;
        if let Some(p) = rec.protocol {
            self.protocols.entry(rec.finding).or_insert(p);
        }
        if let Some(p) = rec.pairing {
            *self.pairings.entry(p).or_default() += 1;
            if let Some(protocol) = rec.protocol {
                self.protocols.entry(p).or_insert(protocol);
            }
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
        if let (Some(tally), Some(g)) = (self.sender.as_mut(), rec.sender) {
            for t in SenderTest::ALL {
                tally.0[t as usize][g.of(t) as usize] += 1;
            }
        }
        self.bytes_in += rec.bytes_in;
        self.bytes_out += rec.bytes_out;
    }

    /// The exit status's question (the rule of `ppctl --help`): with
    /// expectations, every connection met them; without, no connection
    /// had a problem finding.
    pub(crate) fn passed(&self) -> bool {
        if self.sender.as_ref().is_some_and(|t| !t.passed()) {
            return false;
        }
        if self.out_of_descriptors > 0 {
            return false;
        }
        match self.mismatched {
            Some(m) => m == 0,
            None => !self.findings.keys().any(|f| f.is_problem()),
        }
    }
}
