//! Totals over a capture: flows per verdict, the sources headers claimed,
//! and the frames that could not be used.

use std::collections::HashMap;
use std::net::IpAddr;

use serde::Serialize;

use super::link::BadFrame;
use super::reader::ReadStats;
use super::{FlowReport, Verdict};
use crate::report::json::SCHEMA;

/// Distinct claimed sources counted one by one; more are lumped together,
/// so memory stays bounded on huge captures.
const MAX_SOURCES: usize = 65_536;
/// Sources listed in the summary.
pub const TOP_SOURCES: usize = 20;
/// Distinct reasons for undecodable frames kept.
const MAX_REASONS: usize = 32;

/// Flows per verdict; every verdict is always present.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct VerdictCounts {
    pub proxied: u64,
    pub unexpected_header: u64,
    pub missing_header: u64,
    pub invalid_header: u64,
    pub health_check: u64,
    pub plain: u64,
    pub incomplete: u64,
}

impl VerdictCounts {
    pub fn get(&self, v: Verdict) -> u64 {
        match v {
            Verdict::Proxied => self.proxied,
            Verdict::UnexpectedHeader => self.unexpected_header,
            Verdict::MissingHeader => self.missing_header,
            Verdict::InvalidHeader => self.invalid_header,
            Verdict::HealthCheck => self.health_check,
            Verdict::Plain => self.plain,
            Verdict::Incomplete => self.incomplete,
        }
    }

    fn slot(&mut self, v: Verdict) -> &mut u64 {
        match v {
            Verdict::Proxied => &mut self.proxied,
            Verdict::UnexpectedHeader => &mut self.unexpected_header,
            Verdict::MissingHeader => &mut self.missing_header,
            Verdict::InvalidHeader => &mut self.invalid_header,
            Verdict::HealthCheck => &mut self.health_check,
            Verdict::Plain => &mut self.plain,
            Verdict::Incomplete => &mut self.incomplete,
        }
    }
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SourceCount {
    pub address: String,
    pub flows: u64,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
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
    pub fn bad(&mut self, why: &BadFrame) {
        self.bad += 1;
        let key = why.to_string();
        if let Some(n) = self.reasons.get_mut(&key) {
            *n += 1;
        } else if self.reasons.len() < MAX_REASONS {
            self.reasons.insert(key, 1);
        }
    }
}

/// The `--summary` view, and the last line of `--json`.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub schema: u32,
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Flows reported (after filters, when the command applies them).
    pub flows: u64,
    /// Flows with a problem verdict (these make the exit code 1).
    pub problems: u64,
    pub verdicts: VerdictCounts,
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
    /// The read error that stopped the analysis early, if any.
    pub error: Option<String>,
    #[serde(skip)]
    sources: HashMap<IpAddr, u64>,
    #[serde(skip)]
    pub other_sources: u64,
}

impl Default for Summary {
    fn default() -> Self {
        Summary {
            schema: SCHEMA,
            kind: "summary",
            flows: 0,
            problems: 0,
            verdicts: VerdictCounts::default(),
            claimed_sources: Vec::new(),
            frames: 0,
            bytes: 0,
            ignored_frames: 0,
            undecodable_frames: 0,
            undecodable: Vec::new(),
            stray_packets: 0,
            error: None,
            sources: HashMap::new(),
            other_sources: 0,
        }
    }
}

impl Summary {
    /// Count one reported flow.
    pub fn count(&mut self, flow: &FlowReport) {
        self.flows += 1;
        if flow.verdict.is_problem() {
            self.problems += 1;
        }
        *self.verdicts.slot(flow.verdict) += 1;
        if let Some(ip) = flow.claimed {
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
            .map(|(ip, flows)| SourceCount {
                address: ip.to_string(),
                flows,
            })
            .collect();
    }
}
