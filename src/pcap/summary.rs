//! Totals over a capture: flows per finding, the sources headers claimed,
//! and the frames that could not be used.

use std::net::IpAddr;

// Counted once per flow: Fx, not SipHash (the views sort what they show).
use rustc_hash::FxHashMap as HashMap;

use super::link::BadFrame;
use super::reader::ReadStats;
use super::FlowResult;
use crate::judge::Finding;

/// Distinct claimed sources counted one by one; more are lumped together,
/// so memory stays bounded on huge captures.
const MAX_SOURCES: usize = 65_536;
/// Sources listed in the summary.
pub const TOP_SOURCES: usize = 20;
/// Distinct reasons for undecodable frames kept.
const MAX_REASONS: usize = 32;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceCount {
    pub address: IpAddr,
    pub flows: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReasonCount {
    pub reason: String,
    pub frames: u64,
}

/// Frames that carried no TCP/UDP, or could not be decoded.
#[derive(Debug, Default, Clone)]
pub struct FrameCounts {
    pub ignored: u64,
    pub bad: u64,
    reasons: HashMap<String, u64>,
}

impl FrameCounts {
    /// Count `frames` frames that could not be decoded for the same reason.
    pub fn bad(&mut self, why: &BadFrame, frames: u64) {
        self.bad += frames;
        let key = why.to_string();
        if let Some(n) = self.reasons.get_mut(&key) {
            *n += frames;
        } else if self.reasons.len() < MAX_REASONS {
            self.reasons.insert(key, frames);
        }
    }
}

/// A count per finding, indexed by `Finding as usize` (std derives
/// `Default` for arrays of at most 32).
#[derive(Debug, Clone)]
struct PerFinding([u64; Finding::ALL.len()]);

impl Default for PerFinding {
    fn default() -> Self {
        PerFinding([0; Finding::ALL.len()])
    }
}

/// Totals over the flows reported and the frames read: the `--summary`
/// view, and the last line of `--json`.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// Flows reported (after filters, when the command applies them).
    pub flows: u64,
    /// Flows with a problem finding (these make the exit code 1).
    pub problems: u64,
    /// Flows per finding, indexed by `Finding as usize`.
    findings: PerFinding,
    /// The most frequent source addresses claimed by headers.
    pub claimed_sources: Vec<SourceCount>,
    /// Frames read, and bytes of the file consumed.
    pub frames: u64,
    pub bytes: u64,
    /// Valid frames that carry neither TCP nor UDP (ARP, ICMP...).
    pub ignored_frames: u64,
    /// Frames that could not be decoded, and why.
    pub undecodable_frames: u64,
    pub undecodable: Vec<ReasonCount>,
    /// TCP packets without data outside any tracked flow (the last ACK of
    /// a closed connection, a mid-connection ACK): they start no flow.
    pub stray_packets: u64,
    sources: HashMap<IpAddr, u64>,
    pub other_sources: u64,
    /// The read was ended early (the user's Ctrl-C): everything above
    /// covers the capture up to there.
    pub interrupted: bool,
}

impl Summary {
    /// Flows with this finding.
    pub(crate) fn count_of(&self, f: Finding) -> u64 {
        self.findings.0[f as usize]
    }

    /// Count one reported flow.
    pub fn count(&mut self, flow: &FlowResult) {
        self.flows += 1;
        let f = flow.finding();
        if f.is_problem() {
            self.problems += 1;
        }
        self.findings.0[f as usize] += 1;
        if let Some(ip) = flow.claimed() {
            if let Some(n) = self.sources.get_mut(&ip) {
                *n += 1;
            } else if self.sources.len() < MAX_SOURCES {
                self.sources.insert(ip, 1);
            } else {
                self.other_sources += 1;
            }
        }
    }

    /// Fill in the reading counters and the top sources.
    pub fn finish(&mut self, stats: &ReadStats, frames: FrameCounts, stray: u64) {
        self.frames = stats.frames;
        self.bytes = stats.bytes;
        self.ignored_frames = frames.ignored;
        self.undecodable_frames = frames.bad + stats.orphan_frames;
        let mut reasons: Vec<ReasonCount> = frames
            .reasons
            .into_iter()
            .map(|(reason, frames)| ReasonCount { reason, frames })
            .collect();
        if stats.orphan_frames > 0 {
            reasons.push(ReasonCount {
                reason: "pcapng packet on an undescribed interface".into(),
                frames: stats.orphan_frames,
            });
        }
        reasons.sort_by(|a, b| b.frames.cmp(&a.frames).then(a.reason.cmp(&b.reason)));
        self.undecodable = reasons;
        self.stray_packets = stray;
        self.refresh_sources();
    }

    /// Recompute the top claimed sources from the counts.
    fn refresh_sources(&mut self) {
        let mut top: Vec<(IpAddr, u64)> = self.sources.iter().map(|(ip, n)| (*ip, *n)).collect();
        top.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        top.truncate(TOP_SOURCES);
        self.claimed_sources = top
            .into_iter()
            .map(|(address, flows)| SourceCount { address, flows })
            .collect();
    }
}
