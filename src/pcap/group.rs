//! `--group-by`: one row per server, client or finding, with the count of
//! flows per finding, for captures with thousands of flows.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

use super::FlowResult;
use crate::judge::Finding;

/// Distinct groups kept; flows of any further group are lumped together.
pub const MAX_GROUPS: usize = 10_000;

/// What flows are grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupBy {
    /// The server's address and port.
    Server,
    /// The client's address (its ports vary from flow to flow).
    Client,
    /// The flow's finding.
    Finding,
}

impl GroupBy {
    pub const ALL: [GroupBy; 3] = [GroupBy::Server, GroupBy::Client, GroupBy::Finding];

    pub fn name(self) -> &'static str {
        match self {
            GroupBy::Server => "server",
            GroupBy::Client => "client",
            GroupBy::Finding => "finding",
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            GroupBy::Server => "one row per server address:port",
            GroupBy::Client => "one row per client address",
            GroupBy::Finding => "one row per finding (alias: verdict)",
        }
    }
}

/// One group's key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Key {
    Server(SocketAddr),
    Client(IpAddr),
    Finding(Finding),
    /// Every group past [`MAX_GROUPS`].
    Other,
}

/// One row: the flows of a group, counted per finding.
#[derive(Debug, Clone)]
pub(crate) struct Group {
    pub(crate) key: Key,
    pub(crate) flows: u64,
    pub(crate) problems: u64,
    /// Flows per finding, indexed by `Finding as usize`.
    counts: [u64; Finding::ALL.len()],
    /// The first flow of the group: its frame number and stream index.
    pub(crate) first_frame: u64,
    pub(crate) first_stream: u64,
}

impl Group {
    /// The findings of the group's flows, with their counts, most
    /// frequent first (ties in docs/verdicts.md order).
    pub(crate) fn findings(&self) -> Vec<(Finding, u64)> {
        let mut v: Vec<(Finding, u64)> = Finding::ALL
            .into_iter()
            .map(|f| (f, self.counts[f as usize]))
            .filter(|(_, n)| *n > 0)
            .collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        v
    }
}

/// The groups of the flows reported.
#[derive(Debug)]
pub(crate) struct Groups {
    by: GroupBy,
    groups: HashMap<Key, Group>,
}

impl Groups {
    pub(crate) fn new(by: GroupBy) -> Self {
        Groups {
            by,
            groups: HashMap::new(),
        }
    }

    pub(crate) fn by(&self) -> GroupBy {
        self.by
    }

    pub(crate) fn add(&mut self, f: &FlowResult) {
        let mut key = match self.by {
            GroupBy::Server => Key::Server(f.server),
            GroupBy::Client => Key::Client(f.client.ip()),
            GroupBy::Finding => Key::Finding(f.finding()),
        };
        if !self.groups.contains_key(&key) && self.groups.len() >= MAX_GROUPS {
            key = Key::Other;
        }
        let g = self.groups.entry(key).or_insert(Group {
            key,
            flows: 0,
            problems: 0,
            counts: [0; Finding::ALL.len()],
            first_frame: f.first_frame,
            first_stream: f.stream,
        });
        g.flows += 1;
        if f.finding().is_problem() {
            g.problems += 1;
        }
        g.counts[f.finding() as usize] += 1;
    }

    /// The rows: by finding in docs/verdicts.md order; otherwise the
    /// groups with the most problems first, then the most flows.
    pub(crate) fn rows(&self) -> Vec<&Group> {
        let mut v: Vec<&Group> = self.groups.values().collect();
        match self.by {
            GroupBy::Finding => v.sort_by_key(|g| g.key),
            _ => v.sort_by(|a, b| {
                (a.key == Key::Other)
                    .cmp(&(b.key == Key::Other))
                    .then(b.problems.cmp(&a.problems))
                    .then(b.flows.cmp(&a.flows))
                    .then(a.key.cmp(&b.key))
            }),
        }
        v
    }
}
