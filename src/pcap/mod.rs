//! Captures: find every PROXY header on the wire, pair it with the
//! server's answer, and judge each flow (a `judge::Finding`).
//!
//! Frames stream through `reader` (pcap/pcapng) → `link` (link layer to
//! TCP/UDP) → `flow` (reassembly of the first bytes, bounded) →
//! `exchange` (the facts, judged by `crate::judge`) → `order` (capture
//! order, and chains of flows through a proxy). Rendering is report::pcap's.
//! Each flow is reported once, as soon as it and every flow that started
//! before it are decided, so a live `tcpdump -w -` pipe shows results as
//! they happen.

pub(crate) mod exchange;
pub(crate) mod filter;
pub(crate) mod flow;
mod flowmap;
pub(crate) mod group;
pub(crate) mod link;
mod mapped;
pub(crate) mod order;
pub(crate) mod reader;
pub(crate) mod summary;

use std::io::Read;
use std::net::SocketAddr;

use crate::judge::Finding;
use crate::protocol::Selection;
use crate::server::HeaderFacts;
pub(crate) use exchange::{findings, Close, Decision, Missing, Start};
pub use filter::Filter;
pub use flow::Limits;
use flow::{FlowTable, Seen, Why};
pub(crate) use group::{GroupBy, Groups};
pub use link::linktype;
pub(crate) use order::Hop;
pub use reader::{Next, ReadError, ReadStats, Timestamp};
pub use summary::Summary;

// Captures built for the tests: the file is the integration tests' too.
#[cfg(test)]
#[path = "../../tests/synth/mod.rs"]
mod synth;

/// One flow's result: the facts and the finding. report::pcap renders it
/// (the table row, the JSON line).
#[derive(Debug, Clone)]
pub struct FlowResult {
    /// Order in which the flow was first seen (1-based).
    pub(crate) id: u64,
    /// When its first packet was captured.
    pub(crate) time: Timestamp,
    /// When the client's first data was captured.
    pub(crate) first_data: Option<Timestamp>,
    /// Wireshark's handles: the frame number of the conversation's first
    /// packet, and its `tcp.stream` (`udp.stream`) index.
    pub(crate) first_frame: u64,
    pub(crate) stream: u64,
    pub(crate) udp: bool,
    /// The endpoints as seen on the wire (client = the SYN sender, or the
    /// first sender of a UDP flow).
    pub(crate) client: SocketAddr,
    pub(crate) server: SocketAddr,
    /// Packets seen until the flow was decided.
    pub(crate) packets: u64,
    /// What the client sent first, and how the flow was judged.
    pub(crate) decision: Decision,
    /// The start of the client's stream (the header is
    /// `client_bytes[..len]`) and the server's first bytes, as far as they
    /// were reassembled; empty without `detail` (`--summary`).
    pub(crate) client_bytes: Vec<u8>,
    pub(crate) answer: Vec<u8>,
    /// The flow's finding on its own; `decision.finding` is the flow's
    /// finding once judged by the hop behind it (`upstream-failed`).
    pub(crate) own: Finding,
    /// The flow this one relays (it is the hop behind a proxy), and the
    /// flow it became behind the proxy.
    pub(crate) front: Option<Hop>,
    pub(crate) back: Option<Hop>,
}

impl FlowResult {
    /// A place for a result in the sequencer's slab, before its first
    /// [`FlowResult::fill`].
    pub(crate) fn blank() -> Self {
        let nowhere = SocketAddr::from(([0, 0, 0, 0], 0));
        FlowResult {
            id: 0,
            time: Timestamp::default(),
            first_data: None,
            first_frame: 0,
            stream: 0,
            udp: false,
            client: nowhere,
            server: nowhere,
            packets: 0,
            decision: Decision {
                start: Start::Nothing,
                exchange: None,
                finding: Finding::Incomplete,
                close: None,
                spoken: None,
            },
            client_bytes: Vec::new(),
            answer: Vec::new(),
            own: Finding::Incomplete,
            front: None,
            back: None,
        }
    }

    /// `flow`'s result, written over this one in place (every field): it
    /// is made where the sequencer holds it, not built and moved there.
    fn fill(
        &mut self,
        flow: &Seen<'_>,
        detail: bool,
        protocol: Selection,
        kept: &exchange::KeptStart,
    ) {
        // Every field, named: a new one can't be left stale.
        let FlowResult {
            id,
            time,
            first_data,
            first_frame,
            stream,
            udp,
            client,
            server,
            packets,
            decision,
            client_bytes,
            answer,
            own,
            front,
            back,
        } = self;
        *decision = exchange::decide(flow, protocol, kept);
        (*id, *time, *first_data) = (flow.id, flow.first_seen, flow.first_data);
        (*first_frame, *stream, *udp) = (flow.first_frame, flow.stream, flow.udp);
        (*client, *server, *packets) = (flow.client, flow.server, flow.packets);
        *own = decision.finding;
        let keep = |to: &mut Vec<u8>, from: &[u8]| {
            to.clear();
            if detail {
                to.extend_from_slice(from);
            }
        };
        keep(client_bytes, flow.client_bytes());
        keep(answer, flow.server_bytes());
        (*front, *back) = (None, None);
    }

    pub(crate) fn finding(&self) -> Finding {
        self.decision.finding
    }

    /// The valid header at the start of the client's stream, if any.
    pub(crate) fn header(&self) -> Option<&HeaderFacts> {
        match &self.decision.start {
            Start::Header(h) => Some(&h.header),
            _ => None,
        }
    }

    /// The source address the header claims (for the summary).
    pub(crate) fn claimed(&self) -> Option<std::net::IpAddr> {
        self.header().and_then(|h| h.source).map(|a| a.ip())
    }
}

/// Analyse a capture. `on_flow` gets each flow that `filter` selects, in
/// the order of their first packets, as soon as it (and every flow that
/// started before it, and every flow its proxy may have opened for it) is
/// decided; a chain of flows through a proxy comes together, front first.
/// The analysis stops after `filter.limit` flows, or when `on_flow` says so.
/// `detail` keeps each flow's first bytes (for the JSON and table views);
/// without it only findings and claimed sources are worked out, which is
/// all `--summary` needs. `on_progress` is called for each frame with the
/// reading counters and the number of flows held; when it says
/// [`Next::Stop`] (the user's Ctrl-C) the read ends there, the flows still
/// open are decided with what was seen, and the summary is marked
/// `interrupted`. The returned summary covers everything read (and
/// the selected flows), even when the read stopped on an error; a capture
/// with no packet, or none that could be decoded, is an error too.
pub fn analyze<R: Read>(
    input: R,
    limits: Limits,
    filter: &Filter,
    detail: bool,
    on_flow: impl FnMut(&FlowResult) -> Next,
    on_progress: impl FnMut(&ReadStats, usize) -> Next,
) -> (Summary, Result<(), ReadError>) {
    analyze_source(
        Source::Stream(input),
        limits,
        filter,
        detail,
        on_flow,
        on_progress,
    )
}

/// [`analyze`] a capture file: a legacy pcap file is read in large chunks
/// and parsed in place ([`reader::read_file`]), with the same results.
pub(crate) fn analyze_file(
    file: std::fs::File,
    limits: Limits,
    filter: &Filter,
    detail: bool,
    on_flow: impl FnMut(&FlowResult) -> Next,
    on_progress: impl FnMut(&ReadStats, usize) -> Next,
) -> (Summary, Result<(), ReadError>) {
    analyze_source(
        Source::<std::io::Empty>::File(file),
        limits,
        filter,
        detail,
        on_flow,
        on_progress,
    )
}

enum Source<R> {
    Stream(R),
    File(std::fs::File),
}

fn analyze_source<R: Read>(
    input: Source<R>,
    limits: Limits,
    filter: &Filter,
    detail: bool,
    mut on_flow: impl FnMut(&FlowResult) -> Next,
    mut on_progress: impl FnMut(&ReadStats, usize) -> Next,
) -> (Summary, Result<(), ReadError>) {
    let mut table = FlowTable::new(limits);
    let mut summary = Summary::default();
    let mut stats = ReadStats::default();
    let mut frames = summary::FrameCounts::default();
    let stop = std::cell::Cell::new(false);
    let mut interrupted = false;
    // The header `ready` decodes, for the decision that follows.
    let kept = exchange::KeptStart::default();
    let ready = |f: &Seen<'_>| exchange::ready(f, limits.protocol, limits.max_bytes, &kept);
    let mut order = order::Sequencer::new(limits.order_wait);
    let mut now = Timestamp::default();
    let result = {
        let mut emit = |report: &FlowResult| {
            if stop.get() || !filter.selects(report) {
                return;
            }
            summary.count(report);
            let next = on_flow(report);
            if next == Next::Stop || filter.limit.is_some_and(|n| summary.flows >= n) {
                stop.set(true);
            }
        };
        let on_frame = |frame: reader::Frame<'_>, st: &ReadStats| {
            if on_progress(st, table.len()) == Next::Stop {
                interrupted = true;
                return Next::Stop;
            }
            // A run of empty records (`frame.records` > 1) decodes as one
            // empty frame would, and is counted as the records it stands for.
            // Matched by reference: binding the segment by value copied
            // it (over 100 bytes) out of the result on every packet.
            match &link::segment(frame.linktype, frame.data) {
                Ok(Some(seg)) => {
                    now = now.max(frame.ts);
                    table.add(
                        frame.ts,
                        st.frames,
                        seg,
                        &ready,
                        &mut |f: &Seen<'_>, _: Why| {
                            order.put_with(|r| r.fill(f, detail, limits.protocol, &kept))
                        },
                    );
                    // Rows are released when a flow is decided (most
                    // frames decide none), and (with a wait) as capture
                    // time passes.
                    let waits = limits.order_wait.is_some() && !order.is_empty();
                    if order.has_pending() || waits {
                        order.settle(table.last_id(), now, &mut emit);
                        order.release(table.last_id(), now, false, &mut emit);
                    }
                }
                Ok(None) => frames.ignored += frame.records,
                Err(bad) => frames.bad(bad, frame.records),
            }
            if stop.get() {
                Next::Stop
            } else {
                Next::Continue
            }
        };
        let result = match input {
            Source::Stream(r) => reader::read_frames(r, &mut stats, on_frame),
            Source::File(f) => reader::read_file(f, &mut stats, on_frame),
        };
        table.finish_all(&mut |f: &Seen<'_>, _: Why| {
            order.put_with(|r| r.fill(f, detail, limits.protocol, &kept))
        });
        order.settle(table.last_id(), now, &mut emit);
        order.release(table.last_id(), now, true, &mut emit);
        result
    };
    summary.finish(&stats, frames, table.stray_packets);
    summary.interrupted = interrupted;
    on_progress(&stats, 0);
    let result = result.and_then(|()| {
        if stop.get() || interrupted {
            Ok(())
        } else if summary.frames == 0 {
            Err(ReadError::NoFrames)
        } else if summary.undecodable_frames >= summary.frames {
            Err(ReadError::Undecodable {
                frames: summary.frames,
                reason: summary
                    .undecodable
                    .first()
                    .map_or_else(|| "no reason".to_string(), |r| r.reason.clone()),
            })
        } else {
            Ok(())
        }
    });
    (summary, result)
}
