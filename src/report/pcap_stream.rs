//! `pcap`'s presenter: the flows as the engine decides them, written
//! through the one stdout sink as JSON lines, pages of the table, or (a
//! live pipe) one line each; then the groups, the explanations of what was
//! met and the summary.

use super::out::Out;
use super::progress::Progress;
use super::Style;
use crate::error::Result;
use crate::judge::Finding;
use crate::pcap::{FlowResult, GroupBy, Groups, Next, ReadError, Summary};
use crate::protocol::Protocol;

/// Rows per printed table when reading a file (bounds memory on huge captures).
const PAGE_ROWS: usize = 1000;

/// What the command asked to see.
#[derive(Debug, Clone, Copy)]
pub(crate) struct View {
    /// JSON lines.
    pub json: bool,
    /// Only the summary (`--summary`).
    pub summary: bool,
    /// Each row's reason (`--explain`).
    pub explain: bool,
    /// One row per group (`--group-by`).
    pub group_by: Option<GroupBy>,
    /// A live pipe (stdin): one line per flow, at once.
    pub streaming: bool,
}

/// Writes flows as they come: JSON lines, table pages, or (stdin) one line
/// per flow so a live pipe shows each result at once.
pub(crate) struct Presenter {
    view: View,
    style: Style,
    out: Out,
    rows: Vec<FlowResult>,
    groups: Option<Groups>,
    /// Findings seen, in order, with the protocol of their flow (its
    /// server's fixes), for the explanations.
    seen: Vec<(Finding, Option<Protocol>)>,
    /// stdout failed (the reader closed the pipe, the disk is full): the
    /// read stops, and `finish` reports the error (exit 2).
    closed: bool,
    /// Lifted while a page is written.
    progress: Progress,
}

impl Presenter {
    pub(crate) fn new(view: View, style: Style, progress: Progress) -> Self {
        Presenter {
            view,
            style,
            out: Out::stdout(),
            rows: Vec::new(),
            groups: view.group_by.map(Groups::new),
            seen: Vec::new(),
            closed: false,
            progress,
        }
    }

    /// Take a decided flow: write it (or its page), or keep it for a
    /// group; `Stop` once stdout failed.
    pub(crate) fn flow(&mut self, flow: &FlowResult) -> Next {
        if self.closed {
            return Next::Stop;
        }
        // An upstream failure is explained with the failure behind it
        // (and its fixes), even when that flow is not selected.
        let cause = flow
            .back
            .filter(|_| flow.finding() == Finding::UpstreamFailed)
            .map(|b| b.cause);
        let protocol = flow.decision.spoken.as_deref().map(|sp| sp.protocol);
        // Each noted in turn, not through an iterator chain (its `try_fold`
        // was ~70 instructions a flow, on every flow of a `--summary`).
        self.met(flow.finding(), protocol);
        if let Some(cause) = cause {
            self.met(cause, None);
        }
        if let Some(groups) = &mut self.groups {
            groups.add(flow);
            return Next::Continue;
        }
        if self.view.summary {
            return Next::Continue;
        }
        let text = if self.view.json {
            super::pcap::flow_json(flow)
        } else if self.view.streaming {
            super::pcap::line(flow, self.style, self.view.explain)
        } else {
            // The sequencer lends its flows: a page keeps copies.
            self.rows.push(flow.clone());
            if self.rows.len() < PAGE_ROWS {
                return Next::Continue;
            }
            self.page()
        };
        self.write(&text)
    }

    /// Note a finding seen (with its flow's protocol), once.
    fn met(&mut self, finding: Finding, protocol: Option<Protocol>) {
        let seen = (finding, protocol);
        if !self.seen.contains(&seen) {
            self.seen.push(seen);
        }
    }

    /// The rows so far as one table (and forget them).
    fn page(&mut self) -> String {
        let rows = std::mem::take(&mut self.rows);
        super::pcap::table(&rows, self.style, self.view.explain)
    }

    fn write(&mut self, text: &str) -> Next {
        let (out, streaming) = (&mut self.out, self.view.streaming);
        let written = self.progress.suspend(|| {
            if streaming {
                out.line(text)
            } else {
                // A page goes out whole, not while the bar is drawn.
                out.queue(text).and_then(|()| out.flush())
            }
        });
        match written {
            Ok(()) => Next::Continue,
            Err(_) => {
                self.closed = true;
                Next::Stop
            }
        }
    }

    /// The rest: the last page, the groups, the explanations and the
    /// summary; a failed write here or earlier is the error (exit 2).
    pub(crate) fn finish(mut self, summary: &Summary, error: Option<&ReadError>) -> Result<()> {
        let mut text = String::new();
        if self.view.json {
            if let Some(groups) = &self.groups {
                for g in groups.rows() {
                    text.push_str(&super::pcap::group_json(groups.by(), g));
                }
            }
            text.push_str(&super::pcap::summary_json(summary, error));
        } else {
            if !self.rows.is_empty() {
                text.push_str(&self.page());
            }
            if let Some(groups) = &self.groups {
                if !self.view.summary {
                    text.push_str(&super::pcap::group_table(groups, self.style));
                }
            }
            if !self.view.summary {
                text.push_str(&super::pcap::explanations(&self.seen, self.style));
                text.push('\n');
            }
            text.push_str(&super::pcap::summary(summary, error, self.style));
        }
        // A failure here, or earlier, is reported by `finish` (exit 2).
        let _ = self.out.queue(&text);
        self.out.finish()
    }
}
