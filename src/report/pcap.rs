//! `ppctl pcap`'s views of its typed results: the flow table (fitted to the
//! width by dropping low-priority columns), one line per flow for a live
//! pipe, the explanation of each finding that is not simply fine (with its
//! fixes), the summary, and the JSON lines (`type: "flow"` / `"summary"`, docs/json.md).

use std::fmt::Write as _;

use serde::Serialize;

use super::finding::{self, FindingJson, FixJson};
use super::json::{self, Doc, EndpointJson, HeaderJson, SniffJson, Tally};
use super::protocol as rp;
use super::table::{self, Tone};
use super::Style;
use crate::codec::{self, Decoded, Version};
use crate::judge::fixes::Case;
use crate::judge::{Answer, Ending, Finding, Severity};
use crate::pcap::group::{Group, Key};
use crate::pcap::{Close, FlowResult, GroupBy, Groups, Missing, ReadError, Start, Summary};
use crate::protocol::{Kind, Protocol};
use crate::sniff::{self, Sniffed};

/// The table's columns, in display order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Col {
    Time,
    Stream,
    Flow,
    Header,
    Claims,
    Tlvs,
    Response,
    Finding,
    Why,
}

impl Col {
    const ALL: [Col; 9] = [
        Col::Time,
        Col::Stream,
        Col::Flow,
        Col::Header,
        Col::Claims,
        Col::Tlvs,
        Col::Response,
        Col::Finding,
        Col::Why,
    ];

    fn title(self) -> &'static str {
        match self {
            Col::Time => "time",
            Col::Stream => "stream",
            Col::Flow => "client -> server",
            Col::Header => "header",
            Col::Claims => "claims",
            Col::Tlvs => "TLVs",
            Col::Response => "response",
            Col::Finding => "finding",
            Col::Why => "why",
        }
    }

    /// Which columns stay when the width is short: lowest first.
    fn priority(self) -> u8 {
        match self {
            Col::Finding => 0,
            Col::Flow => 1,
            Col::Why => 2,
            Col::Header => 3,
            Col::Response => 4,
            Col::Claims => 5,
            Col::Time => 6,
            Col::Stream => 7,
            Col::Tlvs => 8,
        }
    }

    /// The narrowest a column is worth keeping at (its cells wrap to it).
    fn min_width(self) -> usize {
        match self {
            Col::Finding => 19,
            Col::Flow | Col::Claims | Col::Why => 24,
            Col::Header => 9,
            Col::Response => 14,
            Col::Time => 15,
            Col::Stream => 6,
            Col::Tlvs => 10,
        }
    }
}

/// A column's borders and padding.
const COL_CHROME: usize = 3;

/// The text of one cell (the finding cell is built with its tone).
fn text(f: &FlowResult, col: Col, style: Style) -> String {
    match col {
        Col::Time => f.time.time_of_day(),
        Col::Stream => f.stream.to_string(),
        // The hop behind a proxy, under the flow it relays.
        Col::Flow if f.front.is_some() => {
            let mark = if style.unicode { "\u{21b3}" } else { "`->" };
            format!("{mark} {} -> {}", f.client, f.server)
        }
        Col::Flow => format!("{} -> {}", f.client, f.server),
        Col::Header => header_word(&f.decision.start),
        Col::Claims => match f.header() {
            Some(h) if h.local => "-".into(),
            Some(h) => match (h.source, h.destination) {
                (Some(s), Some(d)) => format!("{s} -> {d}"),
                _ => h.protocol.into(),
            },
            None => "-".into(),
        },
        Col::Tlvs => match f.header() {
            Some(h) if !h.tlvs.is_empty() => h.tlvs.names().collect::<Vec<_>>().join(","),
            _ => "-".into(),
        },
        Col::Response => response_words(f),
        Col::Finding => finding_words(f.finding()),
        Col::Why => reason(f),
    }
}

/// `tcp.stream 4` (`udp.stream`): Wireshark's handle on a flow.
fn stream_name(udp: bool, stream: u64) -> String {
    format!("{}.stream {stream}", if udp { "udp" } else { "tcp" })
}

fn finding_words(f: Finding) -> String {
    format!("{} ({})", f.name(), f.code())
}

/// `v1`, `v2 LOCAL`, `v1+v1` (stacked), `invalid: v1-port @27`, `none`.
fn header_word(start: &Start) -> String {
    let v = |v: Version| format!("v{}", v.number());
    match start {
        Start::Unseen(_) => "-".into(),
        Start::Nothing | Start::NotProxy => "none".into(),
        Start::Header(h) => {
            let mut w = v(h.header.version);
            if h.header.local {
                w.push_str(" LOCAL");
            }
            match h.stacked {
                Some(Some(second)) => w = format!("{w}+{}", v(second)),
                Some(None) => w.push_str("+?"),
                None => {}
            }
            w
        }
        Start::Partial { .. } => "partial".into(),
        Start::Invalid(e) => format!("invalid: {} @{}", e.code(), e.offset),
    }
}

/// The server's first bytes in a few words (`HTTP 400 Bad Request`), or
/// how the flow ended without any.
fn response_words(f: &FlowResult) -> String {
    if let Some(words) = answer_words(f) {
        return words;
    }
    match f.decision.close {
        Some(c) => format!("no answer, {}", close_name(c)),
        None => "-".into(),
    }
}

/// What the server answered, when it did.
fn answer_words(f: &FlowResult) -> Option<String> {
    if let Some(sp) = &f.decision.spoken {
        let v = &sp.verdict;
        let q = |r: &crate::protocol::Reply| rp::plain(sp.protocol, r);
        let answer = v.reply.as_ref().filter(|r| r.kind != Kind::Greeting);
        return match (&v.greeting, answer) {
            (Some(g), Some(r)) => Some(format!("{}; {}", q(g), q(r))),
            (Some(g), None) => Some(q(g)),
            (None, Some(r)) => Some(q(r)),
            (None, None) => None,
        };
    }
    if !f.answer.is_empty() {
        return Some(match sniff::classify(&f.answer) {
            Sniffed::HttpResponse { status, reason } => format!("HTTP {status} {reason}"),
            Sniffed::TlsAlert { description, .. } => format!("a TLS alert ({description})"),
            other => other.to_string(),
        });
    }
    // Without the bytes (`--summary`), what the judge was told.
    match f.decision.exchange?.answer {
        Answer::Nothing => None,
        Answer::Http { status, .. } => Some(format!("HTTP {status}")),
        Answer::TlsAlert => Some("a TLS alert".into()),
        Answer::Other => Some("data".into()),
    }
}

fn close_name(c: Close) -> &'static str {
    match c {
        Close::ClientFin => "client-fin",
        Close::ClientRst => "client-rst",
        Close::ServerFin => "server-fin",
        Close::ServerRst => "server-rst",
    }
}

/// Why this finding, in one sentence: what was sent, then what came back,
/// and the hops of its chain.
fn reason(f: &FlowResult) -> String {
    let mut why = own_reason(f);
    if let Some(back) = f.back {
        let _ = write!(
            why,
            "; behind the proxy it became {}: {} ({})",
            stream_name(f.udp, back.stream),
            back.finding.name(),
            back.finding.code()
        );
    }
    if let Some(front) = f.front {
        let _ = write!(
            why,
            "; it relays {} ({})",
            stream_name(f.udp, front.stream),
            front.finding.name()
        );
    }
    why
}

/// Why this flow's own finding, in one sentence.
fn own_reason(f: &FlowResult) -> String {
    let d = &f.decision;
    if let Some(words) = spoken_reason(f) {
        return words;
    }
    let Some(x) = d.exchange else {
        return match d.start {
            Start::Unseen(Missing::Handshake) => {
                "the connection's start (SYN) is not in the capture".into()
            }
            Start::Unseen(Missing::FirstBytes) => {
                "the client's first bytes are missing from the capture".into()
            }
            _ => "the header had not arrived in full when the capture ended".into(),
        };
    };
    let sent = match &d.start {
        Start::Nothing => "the client sent nothing".to_string(),
        Start::Header(h) => {
            let what = match (h.header.local, h.stacked) {
                (_, Some(_)) => format!("two headers ({})", header_word(&d.start)),
                (true, None) => format!("a v{} LOCAL header", h.header.number()),
                (false, None) => format!("a valid v{} header", h.header.number()),
            };
            if h.payload && h.stacked.is_none() {
                format!("{what} and data")
            } else {
                what
            }
        }
        Start::Invalid(e) => format!("an invalid header: {} (offset {})", e.kind, e.offset),
        Start::Partial { .. } => "a header cut short".into(),
        Start::NotProxy | Start::Unseen(_) => "no header".into(),
    };
    let sent = if f.udp {
        format!("{sent} in the first datagram")
    } else {
        sent
    };
    let reply = match (answer_words(f), x.ending) {
        (_, Ending::Refused) => "the server refused the connection (a reset to the SYN)".into(),
        (Some(a), _) => format!("the server answered {a}"),
        (None, Ending::ServerClosed) => "the server closed without answering".into(),
        (None, Ending::ServerReset) => "the server reset the connection without answering".into(),
        (None, Ending::ClientClosed) => "the client closed before any answer".into(),
        (None, _) if f.udp => "no answer in the capture (a datagram needs none)".into(),
        (None, _) => "no answer in the capture".into(),
    };
    format!("{sent}; {reply}")
}

/// A mail, database or SSH flow's finding in its server's words.
fn spoken_reason(f: &FlowResult) -> Option<String> {
    let sp = f.decision.spoken.as_deref()?;
    rp::heard(sp, f.decision.finding, quiet(f))
}

/// How the server of a flow kept quiet and ended.
fn quiet(f: &FlowResult) -> rp::Quiet {
    rp::Quiet {
        waited: f.decision.spoken.as_deref().and_then(|sp| sp.waited),
        closed: matches!(f.decision.close, Some(Close::ServerFin | Close::ServerRst)),
        reset: f.decision.close == Some(Close::ServerRst),
    }
}

/// The `protocol` object of a flow: `null` for HTTP, TLS and unknown.
fn protocol_json(f: &FlowResult) -> Option<rp::SpokenJson> {
    let sp = f.decision.spoken.as_deref()?;
    Some(rp::SpokenJson::of(sp, f.decision.finding, quiet(f)))
}

/// The receiver the fixes are for: a flow's protocol chooses its server's.
pub(crate) fn case(f: &FlowResult) -> Case {
    Case {
        port: Some(f.server.port()),
        protocol: f.decision.spoken.as_deref().map(|sp| sp.protocol),
        ..Case::default()
    }
}

/// The columns that fit `width`: every column whose narrowest useful
/// width still fits, by priority; the table then wraps cells to the width.
fn columns(rows: &[Vec<String>], cols: &[Col], width: usize) -> Vec<usize> {
    let need = |i: usize| {
        let widest = rows
            .iter()
            .map(|r| r[i].chars().count())
            .chain([cols[i].title().len()])
            .max()
            .unwrap_or(0);
        widest.min(cols[i].min_width()) + COL_CHROME
    };
    let mut by_priority: Vec<usize> = (0..cols.len()).collect();
    by_priority.sort_by_key(|&i| cols[i].priority());
    let mut used = 1; // the left border
    let mut keep = Vec::new();
    for i in by_priority {
        let n = need(i);
        if used + n <= width || keep.is_empty() {
            used += n;
            keep.push(i);
        }
    }
    keep.sort_unstable();
    keep
}

fn wanted(explain: bool) -> Vec<Col> {
    Col::ALL
        .into_iter()
        .filter(|c| explain || *c != Col::Why)
        .collect()
}

/// The flows as one table that fits `style.width`.
pub(crate) fn table(flows: &[FlowResult], style: Style, explain: bool) -> String {
    let cols = wanted(explain);
    let rows: Vec<Vec<String>> = flows
        .iter()
        .map(|f| cols.iter().map(|c| text(f, *c, style)).collect())
        .collect();
    let keep = columns(&rows, &cols, usize::from(style.width));
    let head: Vec<&str> = keep.iter().map(|&i| cols[i].title()).collect();
    let mut t = table::new(style, &head);
    for (f, row) in flows.iter().zip(&rows) {
        t.add_row(keep.iter().map(|&i| match cols[i] {
            Col::Finding => finding::cell(f.finding(), style),
            _ => table::cell(style, &row[i], Tone::Plain),
        }));
    }
    // A code (`(PP-UNEXPECTED-HEADER)`) is one word: never cut it.
    let code = flows.iter().map(|f| f.finding().code().len() + 2).max();
    if let (Some(at), Some(code)) = (keep.iter().position(|&i| cols[i] == Col::Finding), code) {
        // Plus the cell's padding.
        table::keep_whole(&mut t, at, code + 2);
    }
    format!("{t}\n")
}

/// One flow as one line (a live pipe shows each flow as it is decided):
/// the flow, its header, the answer and the finding (and why, with
/// `--explain`), two spaces apart, wrapped to the width.
pub(crate) fn line(f: &FlowResult, style: Style, explain: bool) -> String {
    let mut cols = vec![Col::Flow, Col::Header, Col::Response, Col::Finding];
    if explain {
        cols.push(Col::Why);
    }
    let cells: Vec<String> = cols.iter().map(|&c| text(f, c, style)).collect();
    // Wrapped as plain text (escape codes have no width), then the
    // finding's name (one word, never split) painted.
    let wrapped = table::wrap(style, &cells.join("  "), 4);
    let name = f.finding().name();
    let painted = finding::paint(style, name, finding::tone(f.finding()));
    let mut out = String::new();
    for l in wrapped.lines() {
        let _ = writeln!(out, "{}", l.trim_end());
    }
    let code = format!("({})", f.finding().code());
    let at = out.find(&code).and_then(|end| out[..end].rfind(name));
    if let Some(i) = at {
        out.replace_range(i..i + name.len(), &painted);
    }
    out
}

/// Each finding seen that is not simply fine (problems, warnings, and
/// facts such as `incomplete`), with its meaning and fixes, in the order
/// first seen.
/// A finding met in a protocol's flow (`Some`: a mail, database or SSH
/// server's) is explained with that server's fixes.
pub(crate) fn explanations(seen: &[(Finding, Option<Protocol>)], style: Style) -> String {
    let mut out = String::new();
    for (f, protocol) in seen.iter().filter(|(f, _)| f.severity() != Severity::Ok) {
        out.push('\n');
        let case = Case {
            protocol: *protocol,
            ..Case::default()
        };
        out.push_str(&finding::explained_as(*f, true, case, style));
    }
    out
}

/// The human summary: flows, findings, claimed sources, frames. With a
/// read error, it never reads as a clean bill of health: the error (on
/// stderr) says what stopped the read.
pub(crate) fn summary(s: &Summary, error: Option<&ReadError>, style: Style) -> String {
    let mut out = String::new();
    let verdict = match (s.problems, error) {
        (0, None) => style.good("no problems"),
        (0, Some(_)) => style.bad("no problems found before the read stopped (see the error)"),
        (n, None) => style.bad(&format!("{n} with a problem")),
        (n, Some(_)) => style.bad(&format!(
            "{n} with a problem before the read stopped (see the error)"
        )),
    };
    let _ = writeln!(out, "{} flows, {verdict}", s.flows);
    if s.interrupted {
        indented(
            &mut out,
            style,
            &style.warn("interrupted (Ctrl-C): these cover the capture up to where it stopped"),
        );
    }
    let counts: Vec<String> = Finding::ALL
        .iter()
        .filter(|f| s.count_of(**f) > 0)
        .map(|f| format!("{} {}", f.name(), s.count_of(*f)))
        .collect();
    if !counts.is_empty() {
        indented(&mut out, style, &format!("findings: {}", counts.join(", ")));
    }
    if !s.claimed_sources.is_empty() {
        let top: Vec<String> = s
            .claimed_sources
            .iter()
            .map(|c| format!("{} ({})", c.address, c.flows))
            .collect();
        indented(
            &mut out,
            style,
            &format!("claimed sources: {}", top.join(", ")),
        );
    }
    let _ = writeln!(
        out,
        "  {} frames ({} bytes), {} without TCP/UDP, {} undecodable",
        s.frames, s.bytes, s.ignored_frames, s.undecodable_frames
    );
    for r in &s.undecodable {
        let _ = writeln!(
            out,
            "{}",
            style.dim(&format!("    {} x {}", r.frames, r.reason))
        );
    }
    out
}

/// A summary line: two spaces in, wrapped to the width, continued four in.
fn indented(out: &mut String, style: Style, text: &str) {
    let narrower = Style {
        width: style.width.saturating_sub(2),
        ..style
    };
    let _ = writeln!(
        out,
        "  {}",
        table::wrap(narrower, text, 2).replace('\n', "\n  ")
    );
}

/// The start of the client's stream in the inspect schema; null when the
/// client sent nothing or its start is not in the capture (or the bytes
/// were not kept: `--summary`).
fn header_json(f: &FlowResult) -> Option<HeaderJson> {
    let bytes = &f.client_bytes;
    if bytes.is_empty() {
        return None;
    }
    let decoded = match (&f.decision.start, f.decision.exchange) {
        (Start::Unseen(_) | Start::Nothing, _) => return None,
        // Cut short by the end of the capture: what there is, so far.
        (Start::Partial { .. }, None) => codec::decode(bytes),
        _ => codec::decode_final(bytes),
    };
    if let (Start::Header(h), Decoded::Complete(d)) = (&f.decision.start, &decoded) {
        debug_assert_eq!(h.header.len, d.len());
    }
    Some(HeaderJson::new(&decoded, bytes))
}

/// One `"type": "flow"` JSON line, with its newline.
pub fn flow_json(f: &FlowResult) -> String {
    let finding = f.finding();
    Doc::new(
        "flow",
        FlowJson {
            id: f.id,
            time: json::time_at(f.time.secs, f.time.nanos),
            transport: if f.udp { "udp" } else { "tcp" },
            stream: f.stream,
            first_frame: f.first_frame,
            client: EndpointJson::inet(f.client),
            server: EndpointJson::inet(f.server),
            packets: f.packets,
            header: header_json(f),
            response: ResponseJson {
                answer: (!f.answer.is_empty()).then(|| SniffJson::of(&f.answer)),
                close: f.decision.close.map(close_name),
            },
            protocol: protocol_json(f),
            finding: FindingJson::of(finding),
            reason: reason(f),
            fixes: FixJson::list(
                &fixes(f),
                Case {
                    port: None,
                    ..case(f)
                },
            ),
            chain: ChainJson {
                front: f.front.map(HopJson::of),
                back: f.back.map(HopJson::of),
            },
        },
    )
    .line()
}

/// A flow: where and when, what the client sent first, what came back,
/// the finding with its reason and fixes, and its place in a chain.
#[derive(Serialize)]
struct FlowJson {
    id: u64,
    time: String,
    transport: &'static str,
    stream: u64,
    first_frame: u64,
    client: EndpointJson,
    server: EndpointJson,
    packets: u64,
    header: Option<HeaderJson>,
    response: ResponseJson,
    protocol: Option<rp::SpokenJson>,
    finding: FindingJson,
    reason: String,
    fixes: Vec<FixJson>,
    chain: ChainJson,
}

#[derive(Serialize)]
struct ResponseJson {
    answer: Option<SniffJson>,
    close: Option<&'static str>,
}

/// The flows in front of and behind this one through a proxy.
#[derive(Serialize)]
struct ChainJson {
    front: Option<HopJson>,
    back: Option<HopJson>,
}

#[derive(Serialize)]
struct HopJson {
    id: u64,
    stream: u64,
    finding: FindingJson,
}

impl HopJson {
    fn of(h: crate::pcap::Hop) -> Self {
        HopJson {
            id: h.id,
            stream: h.stream,
            finding: FindingJson::of(h.finding),
        }
    }
}

/// A flow's fixes: its finding's, or for `upstream-failed` those of the
/// failure behind the proxy.
fn fixes(f: &FlowResult) -> Vec<&'static crate::judge::Fix> {
    match (f.finding(), f.back) {
        (Finding::UpstreamFailed, Some(back)) => back.cause.fixes(),
        (finding, _) => finding.fixes_for(case(f)),
    }
}

fn group_key(k: Key) -> String {
    match k {
        Key::Server(a) => a.to_string(),
        Key::Client(ip) => ip.to_string(),
        Key::Finding(f) => finding_words(f),
        Key::Other => format!("(others, past {})", crate::pcap::group::MAX_GROUPS),
    }
}

/// `--group-by`: one row per group, with its flows and their findings.
pub(crate) fn group_table(groups: &Groups, style: Style) -> String {
    let title = match groups.by() {
        GroupBy::Server => "server",
        GroupBy::Client => "client",
        GroupBy::Finding => "finding",
    };
    let mut t = table::new(
        style,
        &[title, "flows", "problems", "findings", "first stream"],
    );
    for g in groups.rows() {
        let key = match g.key {
            Key::Finding(f) => finding::cell(f, style),
            k => table::cell(style, &group_key(k), Tone::Plain),
        };
        let findings: Vec<String> = g
            .findings()
            .iter()
            .map(|(f, n)| format!("{} {n}", f.name()))
            .collect();
        let tone = if g.problems > 0 {
            Tone::Bad
        } else {
            Tone::Plain
        };
        t.add_row(vec![
            key,
            table::number(style, g.flows),
            table::cell(style, &g.problems.to_string(), tone),
            table::cell(style, &findings.join(", "), Tone::Plain),
            table::cell(style, &g.first_stream.to_string(), Tone::Plain),
        ]);
    }
    format!("{t}\n")
}

/// One `"type": "group"` JSON line, with its newline.
pub(crate) fn group_json(by: GroupBy, g: &Group) -> String {
    let key = match g.key {
        Key::Finding(f) => f.name().to_string(),
        k => group_key(k),
    };
    Doc::new(
        "group",
        GroupJson {
            by: by.name(),
            key,
            flows: g.flows,
            problems: g.problems,
            findings: Tally(g.findings()),
            first_stream: g.first_stream,
            first_frame: g.first_frame,
        },
    )
    .line()
}

#[derive(Serialize)]
struct GroupJson {
    by: &'static str,
    key: String,
    flows: u64,
    problems: u64,
    findings: Tally<Finding>,
    first_stream: u64,
    first_frame: u64,
}

/// The `"type": "summary"` JSON line (the last one), with its newline;
/// `error` is the read error that stopped the analysis early, if any.
pub fn summary_json(s: &Summary, error: Option<&ReadError>) -> String {
    let findings = Finding::ALL
        .into_iter()
        .filter(|f| crate::pcap::findings().contains(f) || s.count_of(*f) > 0)
        .map(|f| (f, s.count_of(f)))
        .collect();
    Doc::new(
        "summary",
        SummaryJson {
            flows: s.flows,
            problems: s.problems,
            findings: Tally(findings),
            claimed_sources: s
                .claimed_sources
                .iter()
                .map(|c| SourceJson {
                    address: c.address.to_string(),
                    flows: c.flows,
                })
                .collect(),
            frames: s.frames,
            bytes: s.bytes,
            ignored_frames: s.ignored_frames,
            undecodable_frames: s.undecodable_frames,
            undecodable: s
                .undecodable
                .iter()
                .map(|r| UndecodableJson {
                    reason: &r.reason,
                    frames: r.frames,
                })
                .collect(),
            stray_packets: s.stray_packets,
            interrupted: s.interrupted,
            error: error.map(|e| e.to_string()),
        },
    )
    .line()
}

/// The capture's counts.
#[derive(Serialize)]
struct SummaryJson<'a> {
    flows: u64,
    problems: u64,
    findings: Tally<Finding>,
    claimed_sources: Vec<SourceJson>,
    frames: u64,
    bytes: u64,
    ignored_frames: u64,
    undecodable_frames: u64,
    undecodable: Vec<UndecodableJson<'a>>,
    stray_packets: u64,
    interrupted: bool,
    error: Option<String>,
}

#[derive(Serialize)]
struct SourceJson {
    address: String,
    flows: u64,
}

#[derive(Serialize)]
struct UndecodableJson<'a> {
    reason: &'a str,
    frames: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_drop_by_priority_to_fit() {
        let cols = wanted(false);
        let row: Vec<String> = cols.iter().map(|_| "x".repeat(30)).collect();
        let keep = columns(std::slice::from_ref(&row), &cols, 80);
        let kept: Vec<Col> = keep.iter().map(|&i| cols[i]).collect();
        assert_eq!(kept, [Col::Flow, Col::Header, Col::Response, Col::Finding]);
        let keep = columns(std::slice::from_ref(&row), &cols, 400);
        assert_eq!(keep.len(), cols.len());
    }
}
