//! Captures: find every PROXY header on the wire, pair it with the
//! server's answer, and give each flow a verdict.
//!
//! Frames stream through [`reader`] (pcap/pcapng) → [`link`] (link layer to
//! TCP/UDP) → [`flow`] (reassembly of the first bytes, bounded) →
//! [`verdict`]. Each flow is reported once, as soon as it is decided, so a
//! live `tcpdump -w -` pipe shows results as they happen.

pub mod filter;
pub mod flow;
pub mod link;
pub mod reader;
pub mod summary;
pub mod synth;
pub mod verdict;

use std::io::Read;

use serde::Serialize;

use crate::report::json::{EndpointJson, HeaderJson, SCHEMA};
pub use filter::Filter;
pub use flow::Limits;
use flow::{Flow, FlowTable, Why};
pub use reader::{Next, ReadError, ReadStats, Timestamp};
pub use summary::Summary;
pub use verdict::{Explanation, ResponseJson, Verdict};

/// One flow's result: the data model behind both the table row and the
/// JSON line (docs/json.md).
#[derive(Debug, Clone, Serialize)]
pub struct FlowReport {
    pub schema: u32,
    /// Always "flow" (the last line of `--json` output is a "summary").
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Order in which the flow was first seen (1-based).
    pub id: u64,
    /// When its first packet was captured (seconds since the epoch).
    pub time: f64,
    #[serde(skip)]
    pub ts: Timestamp,
    /// "tcp" or "udp".
    pub transport: &'static str,
    /// The endpoints as seen on the wire (client = the SYN sender).
    pub client: EndpointJson,
    pub server: EndpointJson,
    #[serde(skip)]
    pub client_addr: std::net::SocketAddr,
    #[serde(skip)]
    pub server_addr: std::net::SocketAddr,
    pub packets: u64,
    /// The start of the client's stream, decoded (the inspect schema); null
    /// when the client sent nothing or its start is not in the capture.
    pub header: Option<HeaderJson>,
    pub response: ResponseJson,
    pub verdict: Verdict,
    /// Why this verdict, in one sentence.
    pub reason: String,
    /// Cause and fix, for problem verdicts.
    pub explanation: Option<Explanation>,
    /// The source address the header claims (for the summary).
    #[serde(skip)]
    pub claimed: Option<std::net::IpAddr>,
}

impl FlowReport {
    fn new(flow: &Flow, why: Why, detail: bool) -> Self {
        let j = verdict::judge(flow, why, detail);
        FlowReport {
            schema: SCHEMA,
            kind: "flow",
            id: flow.id,
            time: flow.first_seen.as_f64(),
            ts: flow.first_seen,
            transport: if flow.udp { "udp" } else { "tcp" },
            client: EndpointJson::inet(flow.client),
            server: EndpointJson::inet(flow.server),
            client_addr: flow.client,
            server_addr: flow.server,
            packets: flow.packets,
            header: j.header,
            response: j.response,
            verdict: j.verdict,
            reason: j.reason,
            explanation: verdict::explanation(j.verdict),
            claimed: j.claimed,
        }
    }
}

/// Analyse a capture. `on_flow` gets each flow that `filter` selects as
/// soon as it is decided; the analysis stops after `filter.limit` of them,
/// or when `on_flow` says so.
/// `detail` builds each flow's header and answer views (the JSON and table
/// output); without it only verdicts and claimed sources are worked out,
/// which is all `--summary` needs. `on_progress` is called now and then
/// with the reading counters and the
/// number of flows held. The returned summary covers everything read (and
/// the selected flows), even when the read stopped on an error.
pub fn analyze<R: Read>(
    input: R,
    limits: Limits,
    filter: &Filter,
    detail: bool,
    mut on_flow: impl FnMut(FlowReport) -> Next,
    mut on_progress: impl FnMut(&ReadStats, usize),
) -> (Summary, Result<(), ReadError>) {
    let mut table = FlowTable::new(limits);
    let mut summary = Summary::default();
    let mut stats = ReadStats::default();
    let mut frames = summary::FrameCounts::default();
    let stop = std::cell::Cell::new(false);
    let ready = |f: &Flow| verdict::ready(f);
    let result = {
        let mut decide = |flow: &Flow, why: Why| {
            if stop.get() {
                return;
            }
            let report = FlowReport::new(flow, why, detail);
            if !filter.selects(&report) {
                return;
            }
            summary.count(&report);
            let next = on_flow(report);
            if next == Next::Stop || filter.limit.is_some_and(|n| summary.flows >= n) {
                stop.set(true);
            }
        };
        let result = reader::read_frames(input, &mut stats, |frame, st| {
            if st.frames % 4096 == 0 {
                on_progress(st, table.len());
            }
            match link::segment(frame.linktype, frame.data) {
                Ok(Some(seg)) => table.add(frame.ts, &seg, &ready, &mut decide),
                Ok(None) => frames.ignored += 1,
                Err(bad) => frames.bad(&bad),
            }
            if stop.get() {
                Next::Stop
            } else {
                Next::Continue
            }
        });
        table.finish_all(&mut decide);
        result
    };
    summary.finish(&stats, frames, table.stray_packets);
    on_progress(&stats, 0);
    (summary, result)
}
