//! `ppctl pcap`: find every PROXY header in a capture, pair it with the
//! server's answer, and judge each flow. Arguments → the engine
//! (`crate::pcap`) → report::pcap → stdout.

use std::fs::File;
use std::io;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use super::values::{parse_duration, Choice};
use crate::error::{Error, ExitCode, Result};
use crate::judge::Finding;
use crate::pcap::filter::Endpoints;
use crate::pcap::{self, Filter, GroupBy, Limits, Next};
use crate::protocol::Selection;
use crate::report::pcap_stream::{Presenter, View};
use crate::report::progress::Progress;
use crate::report::Style;

/// Files bigger than this get a progress bar (on a terminal).
const PROGRESS_MIN_BYTES: u64 = 50 * 1000 * 1000;
/// How long (capture time) a decided flow read from stdin waits for the
/// flows that started before it.
const STREAM_ORDER_WAIT: Duration = Duration::from_secs(5);

const PCAP_HELP: &str = concat!(
    "\
Rows follow each flow's first packet (Wireshark's order); a flow is printed
once every flow that started before it is decided (from stdin, after 5s of
capture time at most). A flow through a proxy
in the same capture (client -> proxy, proxy -> upstream) is shown as a chain,
the hop behind the proxy indented under the front one, and the front hop is
judged by it (upstream-failed). `stream` is Wireshark's tcp.stream/udp.stream.
Mail, database and SSH flows (--protocol; auto: the server port's protocol,
else the one the server's first bytes are in) are judged in the server's words:
the greeting, a refusal of the header line, the silence until a 421 or a
close, STARTTLS (docs/protocols.md).

Examples:
  ppctl pcap capture.pcap.gz
  ppctl pcap capture.pcapng --explain \\
      --finding unexpected-header,upstream-failed
  ppctl pcap big.pcap --group-by server
  ppctl pcap capture.pcap --json |
      jq -c 'select(.finding.severity == \"problem\") | .stream'
  tcpdump -i any -U -w - 'tcp port 80' | ppctl pcap - --idle-timeout 30s
  ppctl pcap mail.pcap --protocol smtp --explain

",
    super::exit_rule!(),
    "
pcap judges every selected flow (--finding, --client, --server select). Not
a capture, a truncated or corrupt one (reported up to the damage) and one
with no packet it could decode are 2."
);

#[derive(Debug, clap::Args)]
#[command(after_help = PCAP_HELP)]
pub struct PcapArgs {
    /// A pcap or pcapng capture (`tcpdump -w FILE`), or either one
    /// gzip-compressed (`.pcap.gz`); `-` reads stdin as it is written, e.g.
    /// `tcpdump -i any -U -w - | ppctl pcap -`.
    pub file: PathBuf,
    /// Print one JSON object per flow, then a summary object (docs/json.md).
    #[arg(long)]
    pub json: bool,
    /// Print only the summary.
    #[arg(long)]
    pub summary: bool,
    /// Add a column with the reason for each finding (problem findings are
    /// always explained, with their fixes, under the table).
    #[arg(long)]
    pub explain: bool,
    /// Report only flows with these findings (comma-separated or repeated).
    /// (`--verdict`, the old name, still works.)
    #[arg(long, alias = "verdict", value_name = "FINDING", value_delimiter = ',',
          value_parser = Choice::new(crate::pcap::findings(), Finding::name, Finding::describe))]
    pub(crate) finding: Vec<Finding>,
    /// Report only flows whose client matches: CIDR, address, port (443 or
    /// :443) or address:port.
    #[arg(long, value_name = "PATTERN")]
    pub client: Option<Endpoints>,
    /// Report only flows whose server matches: CIDR, address, port or
    /// address:port.
    #[arg(long, value_name = "PATTERN")]
    pub server: Option<Endpoints>,
    /// One row per server (address:port), client (address) or finding,
    /// with the count of flows per finding, instead of one row per flow.
    #[arg(long, value_name = "KEY", value_enum)]
    pub(crate) group_by: Option<GroupBy>,
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
    /// Capture time without a packet after which a flow is decided with
    /// what was seen (500ms, 30s, 5m; a bare number is seconds).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration,
          default_value = idle_default())]
    pub idle_timeout: Duration,
    /// What the flows speak after the header: `auto` takes the server
    /// port's protocol (25 smtp, 143 imap, 3306 mysql, ...), else the one
    /// the server greets in; mail, database and SSH flows are judged in
    /// their server's words (docs/protocols.md).
    #[arg(long, value_name = "PROTOCOL", default_value = "auto",
          value_parser = super::protocol_args::heard_parser())]
    pub(crate) protocol: Selection,
}

/// `--idle-timeout`'s default, written as the engine's `Limits::default()`.
fn idle_default() -> &'static str {
    static TEXT: OnceLock<String> = OnceLock::new();
    TEXT.get_or_init(|| crate::duration::show(Limits::default().idle_timeout))
}

impl clap::ValueEnum for GroupBy {
    fn value_variants<'a>() -> &'a [Self] {
        &GroupBy::ALL
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        let v = clap::builder::PossibleValue::new(self.name()).help(self.describe());
        Some(match self {
            GroupBy::Finding => v.alias("verdict"),
            _ => v,
        })
    }
}

pub fn run(args: &PcapArgs, style: Style) -> Result<ExitCode> {
    if args.idle_timeout.is_zero() {
        return Err(Error::usage(
            "--idle-timeout must be more than 0 (e.g. 30s): a flow needs time to show its answer",
        ));
    }
    let stdin = args.file.as_os_str() == "-";
    let (input, size): (Option<File>, Option<u64>) = if stdin {
        (None, None)
    } else {
        let f = File::open(&args.file).map_err(|e| {
            Error::io(
                format!("opening {} (a pcap or pcapng capture)", args.file.display()),
                e,
            )
        })?;
        let meta = f.metadata().ok();
        if meta.as_ref().is_some_and(|m| m.is_dir()) {
            return Err(super::a_directory(
                &args.file,
                "a capture file (pcap or pcapng)",
            ));
        }
        let size = meta.map(|m| m.len());
        (Some(f), size)
    };
    let limits = Limits {
        max_bytes: args.max_bytes.max(16),
        protocol: args.protocol,
        max_flows: args.max_flows,
        idle_timeout: args.idle_timeout,
        // A live pipe: a flow that stays open holds back later rows for
        // this long at most.
        order_wait: stdin.then_some(STREAM_ORDER_WAIT),
    };
    let filter = Filter {
        findings: args.finding.clone(),
        client: args.client.clone(),
        server: args.server.clone(),
        limit: args.limit,
    };
    // A compressed file's size says nothing about the bytes read.
    let gz = args.file.extension().is_some_and(|e| e == "gz");
    let progress = match size.filter(|s| !gz && *s > PROGRESS_MIN_BYTES) {
        Some(size) => Progress::bytes(size),
        None => Progress::hidden(),
    };
    // Ctrl-C ends the read; the flows seen so far and the summary are
    // printed (exit 130).
    let interrupt = super::interrupt::catch_ctrl_c()?;
    let view = View {
        json: args.json,
        summary: args.summary,
        explain: args.explain,
        group_by: args.group_by,
        streaming: stdin,
    };
    let mut out = Presenter::new(view, style, progress.clone());
    let detail = !args.summary && args.group_by.is_none();
    let on_flow = |flow: &pcap::FlowResult| out.flow(flow);
    // Every 4096 frames (a run of empty records counts as its records).
    let mut shown = 0u64;
    let on_progress = |stats: &pcap::ReadStats, flows: usize| {
        if stats.frames >= shown + 4096 {
            shown = stats.frames;
            progress.set_position(stats.bytes);
            progress.say(format!("{} frames, {flows} flows open", stats.frames));
        }
        if interrupt.requested() {
            Next::Stop
        } else {
            Next::Continue
        }
    };
    let (summary, result) = match input {
        // A file: read in large chunks when it is a legacy pcap file.
        Some(f) => pcap::analyze_file(f, limits, &filter, detail, on_flow, on_progress),
        None => pcap::analyze(
            io::stdin().lock(),
            limits,
            &filter,
            detail,
            on_flow,
            on_progress,
        ),
    };
    progress.clear();
    out.finish(&summary, result.as_ref().err())?;
    match result {
        Err(e) => Err(Error::Other(anyhow::Error::new(e))),
        Ok(()) if summary.interrupted => {
            super::interrupt::say_partial(&format!(
                "the results cover the first {} frames ({} bytes) of the capture",
                summary.frames, summary.bytes
            ));
            Ok(ExitCode::Interrupted)
        }
        Ok(()) => Ok(ExitCode::check(summary.problems == 0)),
    }
}
