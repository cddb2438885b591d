//! `ppctl pcap`: find every PROXY header in a capture, pair it with the
//! server's answer, and give a verdict per flow.

use std::fs::File;
use std::io::{self, IsTerminal, Read, Write};
use std::path::PathBuf;

use comfy_table::{presets::UTF8_BORDERS_ONLY, Cell, ContentArrangement, Table};
use indicatif::{ProgressBar, ProgressStyle};

use crate::error::{Error, ExitCode, Result};
use crate::pcap::filter::Endpoints;
use crate::pcap::{self, verdict, Filter, FlowReport, Limits, Next, Summary, Verdict};
use crate::report::Style;

/// Files bigger than this get a progress bar (on a terminal).
const PROGRESS_MIN_BYTES: u64 = 50 * 1000 * 1000;
/// Rows per printed table when reading a file (bounds memory on huge captures).
const PAGE_ROWS: usize = 1000;

#[derive(Debug, clap::Args)]
pub struct PcapArgs {
    /// A pcap or pcapng capture (`tcpdump -w FILE`); `-` reads stdin as it
    /// is written, e.g. `tcpdump -i any -U -w - | ppctl pcap -`.
    pub file: PathBuf,
    /// Print one JSON object per flow, then a summary object (docs/json.md).
    #[arg(long)]
    pub json: bool,
    /// Print only the summary.
    #[arg(long)]
    pub summary: bool,
    /// Add a column with the reason for each verdict (problem verdicts always
    /// get cause-and-fix footnotes under the table).
    #[arg(long)]
    pub explain: bool,
    /// Report only flows with these verdicts (comma-separated or repeated).
    #[arg(long, value_enum, value_delimiter = ',')]
    pub verdict: Vec<Verdict>,
    /// Report only flows whose client matches: CIDR, address, port (443 or
    /// :443) or address:port.
    #[arg(long, value_name = "PATTERN")]
    pub client: Option<Endpoints>,
    /// Report only flows whose server matches: CIDR, address, port or
    /// address:port.
    #[arg(long, value_name = "PATTERN")]
    pub server: Option<Endpoints>,
    /// Stop after this many reported flows.
    #[arg(long, value_name = "N")]
    pub limit: Option<u64>,
    /// Bytes reassembled per direction of each flow (enough for the header
    /// and the start of the answer).
    #[arg(long, value_name = "BYTES", default_value_t = Limits::default().max_bytes)]
    pub max_bytes: usize,
    /// Flows tracked at once; the least recently seen are decided early
    /// beyond it.
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_flows)]
    pub max_flows: usize,
    /// Seconds (capture time) without a packet after which a flow is
    /// decided with what was seen.
    #[arg(long, value_name = "SECS", default_value_t = Limits::default().idle_timeout)]
    pub idle_timeout: u64,
}

pub fn run(args: &PcapArgs, style: Style) -> Result<ExitCode> {
    let stdin = args.file.as_os_str() == "-";
    let (input, size): (Box<dyn Read>, Option<u64>) = if stdin {
        (Box::new(io::stdin().lock()), None)
    } else {
        let f = File::open(&args.file).map_err(|e| {
            Error::io(
                format!("opening {} (a pcap or pcapng capture)", args.file.display()),
                e,
            )
        })?;
        let size = f.metadata().ok().map(|m| m.len());
        (Box::new(f), size)
    };
    let limits = Limits {
        max_bytes: args.max_bytes.max(16),
        max_flows: args.max_flows,
        idle_timeout: args.idle_timeout,
    };
    let filter = Filter {
        verdicts: args.verdict.clone(),
        client: args.client.clone(),
        server: args.server.clone(),
        limit: args.limit,
    };
    let progress = progress_bar(size);
    let mut out = Output::new(args, style, stdin);
    let (summary, result) = pcap::analyze(
        input,
        limits,
        &filter,
        !args.summary,
        |flow| out.flow(flow),
        |stats, flows| {
            if let Some(bar) = &progress {
                bar.set_position(stats.bytes);
                bar.set_message(format!("{} frames, {flows} flows open", stats.frames));
            }
        },
    );
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    let mut summary = summary;
    if let Err(e) = &result {
        summary.error = Some(e.to_string());
    }
    out.finish(&summary)?;
    match result {
        Err(e) => Err(Error::Other(anyhow::Error::new(e))),
        Ok(()) => Ok(ExitCode::check(summary.problems == 0)),
    }
}

fn progress_bar(size: Option<u64>) -> Option<ProgressBar> {
    let size = size.filter(|s| *s > PROGRESS_MIN_BYTES)?;
    if !io::stderr().is_terminal() {
        return None;
    }
    let bar = ProgressBar::new(size);
    if let Ok(s) = ProgressStyle::with_template("{bar:30} {bytes}/{total_bytes} ({eta}) {msg}") {
        bar.set_style(s);
    }
    Some(bar)
}

/// Renders flows as they come: JSON lines, table pages, or (stdin) one
/// line per flow so a live pipe shows each result at once.
struct Output<'a> {
    args: &'a PcapArgs,
    style: Style,
    streaming: bool,
    out: io::BufWriter<io::StdoutLock<'static>>,
    rows: Vec<FlowReport>,
    seen: Vec<Verdict>,
    /// stdout was closed (e.g. `| head`): stop quietly.
    closed: bool,
    error: Option<io::Error>,
}

impl<'a> Output<'a> {
    fn new(args: &'a PcapArgs, style: Style, streaming: bool) -> Self {
        Output {
            args,
            style,
            streaming,
            out: io::BufWriter::new(io::stdout().lock()),
            rows: Vec::new(),
            seen: Vec::new(),
            closed: false,
            error: None,
        }
    }

    fn flow(&mut self, flow: FlowReport) -> Next {
        if self.closed {
            return Next::Stop;
        }
        if !self.seen.contains(&flow.verdict) {
            self.seen.push(flow.verdict);
        }
        if self.args.summary {
            return Next::Continue;
        }
        let text = if self.args.json {
            match serde_json::to_string(&flow) {
                Ok(line) => line + "\n",
                Err(e) => {
                    self.error = Some(io::Error::other(e));
                    return Next::Stop;
                }
            }
        } else if self.streaming {
            self.line(&flow)
        } else {
            self.rows.push(flow);
            if self.rows.len() >= PAGE_ROWS {
                let table = self.table();
                return self.write(&table);
            }
            return Next::Continue;
        };
        self.write(&text)
    }

    fn write(&mut self, text: &str) -> Next {
        let mut r = self.out.write_all(text.as_bytes());
        if r.is_ok() && self.streaming {
            r = self.out.flush();
        }
        match r {
            Ok(()) => Next::Continue,
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
                self.closed = true;
                Next::Stop
            }
            Err(e) => {
                self.error = Some(e);
                self.closed = true;
                Next::Stop
            }
        }
    }

    fn finish(mut self, summary: &Summary) -> Result<()> {
        let mut text = String::new();
        if self.args.json {
            text = serde_json::to_string(summary).map_err(|e| Error::Other(e.into()))? + "\n";
        } else {
            if !self.rows.is_empty() {
                text.push_str(&self.table());
            }
            if !self.args.summary {
                text.push_str(&self.footnotes());
            }
            text.push_str(&self.summary(summary));
        }
        let _ = self.write(&text);
        let flushed = self.out.flush();
        match self.error.take().map(Err).unwrap_or(flushed) {
            Err(e) if e.kind() != io::ErrorKind::BrokenPipe => {
                Err(Error::io("writing to stdout", e))
            }
            _ => Ok(()),
        }
    }

    fn verdict_cell(&self, v: Verdict) -> String {
        let name = v.name();
        let mark = match self
            .seen
            .iter()
            .filter(|s| s.is_problem())
            .position(|s| *s == v)
        {
            Some(i) if v.is_problem() => format!("{name} [{}]", i + 1),
            _ => name.to_string(),
        };
        match v {
            Verdict::Proxied => self.style.good(&mark),
            v if v.is_problem() => self.style.bad(&mark),
            Verdict::Incomplete => self.style.warn(&mark),
            _ => self.style.dim(&mark),
        }
    }

    fn cells(&self, f: &FlowReport) -> Vec<String> {
        let (version, claimed, tlvs) = header_cells(f);
        let mut cells = vec![
            f.ts.time_of_day(),
            format!("{} -> {}", f.client, f.server),
            version,
            claimed,
            tlvs,
            f.response.summary(),
            self.verdict_cell(f.verdict),
        ];
        if self.args.explain {
            cells.push(f.reason.clone());
        }
        cells
    }

    fn line(&self, f: &FlowReport) -> String {
        self.cells(f).join("  ") + "\n"
    }

    /// The rows so far as one table (and forget them).
    fn table(&mut self) -> String {
        let mut table = Table::new();
        table
            .load_preset(UTF8_BORDERS_ONLY)
            .set_content_arrangement(ContentArrangement::Dynamic);
        let mut head = vec![
            "time",
            "client -> server",
            "header",
            "claims",
            "TLVs",
            "response",
            "verdict",
        ];
        if self.args.explain {
            head.push("why");
        }
        table.set_header(head.into_iter().map(|h| Cell::new(self.style.bold(h))));
        let rows = std::mem::take(&mut self.rows);
        for f in &rows {
            table.add_row(self.cells(f));
        }
        format!("{table}\n")
    }

    fn footnotes(&self) -> String {
        let mut text = String::new();
        let problems = self.seen.iter().filter(|v| v.is_problem());
        for (i, v) in problems.enumerate() {
            if let Some(e) = verdict::explanation(*v) {
                text.push_str(&format!(
                    "[{}] {} ({}): {}.\n",
                    i + 1,
                    self.style.bad(v.name()),
                    e.id,
                    e.cause,
                ));
                text.push_str(&crate::report::finding::fixes_human(&e.fixes, self.style));
            }
        }
        text
    }

    fn summary(&self, s: &Summary) -> String {
        let mut text = format!(
            "{} flows, {}\n",
            s.flows,
            if s.problems == 0 {
                self.style.good("no problems")
            } else {
                self.style.bad(&format!("{} with a problem", s.problems))
            }
        );
        let counts: Vec<String> = Verdict::ALL
            .iter()
            .filter(|v| s.verdicts.get(**v) > 0)
            .map(|v| format!("{} {}", v.name(), s.verdicts.get(*v)))
            .collect();
        if !counts.is_empty() {
            text.push_str(&format!("  verdicts: {}\n", counts.join(", ")));
        }
        if !s.claimed_sources.is_empty() {
            let top: Vec<String> = s
                .claimed_sources
                .iter()
                .map(|c| format!("{} ({})", c.address, c.flows))
                .collect();
            text.push_str(&format!("  claimed sources: {}\n", top.join(", ")));
        }
        text.push_str(&format!(
            "  {} frames ({} bytes), {} without TCP/UDP, {} undecodable\n",
            s.frames, s.bytes, s.ignored_frames, s.undecodable_frames
        ));
        for r in &s.undecodable {
            text.push_str(
                &self
                    .style
                    .dim(&format!("    {} x {}\n", r.frames, r.reason)),
            );
        }
        text
    }
}

/// Header version, claimed source -> destination, and TLV names.
fn header_cells(f: &FlowReport) -> (String, String, String) {
    let Some(h) = &f.header else {
        return ("-".into(), "-".into(), "-".into());
    };
    let version = match (h.verdict, h.version, h.command) {
        ("valid", Some(v), Some("LOCAL")) => format!("v{v} LOCAL"),
        ("valid", Some(v), _) => format!("v{v}"),
        ("invalid", ..) => match &h.error {
            Some(e) => format!("invalid: {} @{}", e.kind, e.offset),
            None => "invalid".into(),
        },
        ("incomplete", ..) => "partial".into(),
        _ => "none".into(),
    };
    let claimed = if h.verdict == "valid" {
        h.tuple()
    } else {
        "-".into()
    };
    let tlvs = if h.tlvs.is_empty() {
        "-".to_string()
    } else {
        h.tlvs.iter().map(|t| t.name).collect::<Vec<_>>().join(",")
    };
    (version, claimed, tlvs)
}
