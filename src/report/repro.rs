//! `ppctl repro`'s two views of a [`Matrix`].
//!
//! Human: the seed's story first (the header a load balancer sends, the
//! `400 Bad Request` of a receiver without PROXY support, the one-line fix),
//! then the matrix as a table that fits the terminal, then one block per
//! finding that needs attention (the cells that share it, what the client
//! got, what the receiver logged, the finding's meaning and its few fixes),
//! then whether every cell did what the judge predicted.
//!
//! JSON: one `repro` document (docs/json.md).

use std::fmt::Write as _;

use serde::Serialize;

use super::finding::{self, FindingJson, FixJson};
use super::json::{Doc, EndpointJson, HandshakeJson, TargetJson};
use super::table::{self, Tone};
use super::Style;
use crate::judge::fixes::Case;
use crate::judge::{Answer, Finding, Fix, Severity};
use crate::net::{End, HandshakeResult};
use crate::protocol::Protocol;
use crate::repro::{Cell, Matrix, Receiver, Sender};

/// Bytes of a reply kept in the JSON `response` and shown in full.
const RESPONSE_SHOWN: usize = 1024;

// ---------------------------------------------------------------- JSON

/// The `repro` document (docs/json.md), pretty-printed.
pub(crate) fn json(m: &Matrix) -> String {
    document(m).pretty()
}

fn document(m: &Matrix) -> Doc<ReproJson<'_>> {
    let case = case(m);
    Doc::new(
        "repro",
        ReproJson {
            target: m.target.as_ref().map(TargetJson::from),
            tls: m.tls,
            protocol: m.protocol.name(),
            claimed_source: EndpointJson::inet(m.claimed),
            cells: m.cells.iter().map(|c| CellJson::of(c, case)).collect(),
            all_as_predicted: m.all_as_predicted(),
            matches: m.matches.iter().map(|r| r.name()).collect(),
            interrupted: m.interrupted,
        },
    )
}

#[derive(Serialize)]
struct ReproJson<'a> {
    target: Option<TargetJson>,
    tls: bool,
    protocol: &'static str,
    claimed_source: EndpointJson,
    cells: Vec<CellJson<'a>>,
    all_as_predicted: bool,
    matches: Vec<&'static str>,
    interrupted: bool,
}

/// The receiver the fixes are for: the target's port with `--target`, and
/// TLS with `--tls` (the stand-ins' ports are nobody's to change).
fn case(m: &Matrix) -> Case {
    Case {
        port: m.target.as_ref().map(|t| t.port),
        tls: Some(m.tls),
        protocol: (m.protocol != Protocol::Http).then_some(m.protocol),
    }
}

/// One sender × receiver pair: what went out, what came back, the
/// finding against the prediction, and its fixes.
#[derive(Serialize)]
struct CellJson<'a> {
    sender: &'static str,
    receiver: &'static str,
    peer: Option<EndpointJson>,
    header: Option<String>,
    tls: Option<HandshakeJson<'a>>,
    finding: FindingJson,
    predicted: Option<FindingJson>,
    as_predicted: Option<bool>,
    broken: bool,
    status: Option<u16>,
    status_line: Option<String>,
    response: Option<String>,
    end: &'static str,
    client_ip: Option<String>,
    said: &'a Option<String>,
    receiver_finding: Option<FindingJson>,
    receiver_log: Option<String>,
    fixes: Vec<FixJson>,
}

impl<'a> CellJson<'a> {
    fn of(c: &'a Cell, case: Case) -> Self {
        let header = c.header();
        CellJson {
            sender: c.sender.name(),
            receiver: receiver_name(c),
            peer: c.reply.peer.map(EndpointJson::inet),
            header: (!header.is_empty()).then(|| hex::encode(header)),
            tls: c.handshake.as_ref().map(HandshakeJson::of),
            finding: FindingJson::of(c.finding),
            predicted: c.predicted.map(FindingJson::of),
            as_predicted: c.as_predicted(),
            broken: c.finding.is_problem(),
            status: status(c),
            status_line: status_line(c),
            response: response(c),
            end: c.reply.end.code(),
            client_ip: c.client.map(|ip| ip.to_string()),
            said: &c.said,
            receiver_finding: c.receiver_finding.map(FindingJson::of),
            receiver_log: c.receiver_log.as_ref().map(|l| l.line()),
            fixes: FixJson::list(&c.finding.fixes_for(case), case),
        }
    }
}

// ---------------------------------------------------------- the facts

fn receiver_name(c: &Cell) -> &'static str {
    c.receiver.map_or("target", Receiver::name)
}

/// The TLS handshake after the header did not complete (`--tls`).
fn handshake_failed(c: &Cell) -> bool {
    c.handshake
        .as_ref()
        .is_some_and(|h| matches!(h.result, HandshakeResult::Failed(_)))
}

fn status(c: &Cell) -> Option<u16> {
    match Answer::of(&c.reply.received) {
        Answer::Http { status, .. } => Some(status),
        _ => None,
    }
}

/// The reply's first line, control bytes escaped.
fn status_line(c: &Cell) -> Option<String> {
    let r = &c.reply.received;
    let line = r.split(|&b| b == b'\n').next().filter(|l| !l.is_empty())?;
    Some(printable(line.strip_suffix(b"\r").unwrap_or(line)))
}

/// The whole reply (its first KiB) when the request was not served.
fn response(c: &Cell) -> Option<String> {
    let r = &c.reply.received;
    let served = matches!(status(c), Some(100..=399));
    // MariaDB's packets are binary: its words are in `said`.
    (!served && !r.is_empty() && c.protocol != Protocol::Mysql)
        .then(|| String::from_utf8_lossy(&r[..r.len().min(RESPONSE_SHOWN)]).into_owned())
}

/// Bytes as text, with anything that is not printable ASCII as `\xNN`.
fn printable(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        match b {
            b'\r' => out.push_str("\\r"),
            b'\n' => out.push_str("\\n"),
            0x20..=0x7e => out.push(char::from(b)),
            _ => {
                let _ = write!(out, "\\x{b:02X}");
            }
        }
    }
    out
}

/// What the client got, in a few words: `400 Bad Request`, `200 OK,
/// client 203.0.113.7`, `closed, no reply`.
fn got(c: &Cell) -> String {
    let r = &c.reply;
    if !r.connected {
        return match r.end {
            End::Refused => "refused".into(),
            End::ConnectTimeout => "no connection (timeout)".into(),
            _ => "no connection".into(),
        };
    }
    if c.protocol != Protocol::Http {
        let said = c.said.clone().unwrap_or_else(|| match r.end {
            End::Reset => "reset, no word".into(),
            End::Timeout => "no word (timeout)".into(),
            _ => "closed, no word".into(),
        });
        return match c.client {
            Some(ip) => format!("{said}, client {ip}"),
            None => said,
        };
    }
    match Answer::of(&r.received) {
        Answer::Http { .. } => {
            let line = status_line(c).unwrap_or_default();
            let status = line.split_once(' ').map_or(line.as_str(), |(_, s)| s);
            match c.client {
                Some(ip) => format!("{status}, client {ip}"),
                None if handshake_failed(c) => format!("{status} in clear"),
                None => status.to_string(),
            }
        }
        Answer::TlsAlert => "a TLS alert".into(),
        Answer::Other => format!("{} bytes, not HTTP", r.received_total),
        Answer::Nothing => match r.end {
            End::Reset => "reset, no reply".into(),
            End::Timeout => "no reply (timeout)".into(),
            _ => "closed, no reply".into(),
        },
    }
}

/// `v1 → off` (`v1 -> off` in plain ASCII).
fn pair(c: &Cell, style: Style) -> String {
    let arrow = if style.unicode { "→" } else { "->" };
    format!("{} {arrow} {}", c.sender.name(), receiver_name(c))
}

/// A column's table title: the words of the nginx `listen` line.
fn column_title(r: Receiver) -> &'static str {
    match r {
        Receiver::SslProxyProtocol => "ssl proxy_protocol",
        r => r.name(),
    }
}

fn sender_title(s: Sender) -> &'static str {
    match s {
        Sender::None => "no header",
        Sender::V1 => "v1 header",
        Sender::V2 => "v2 header",
    }
}

/// The header as it went out: v1 as text, v2 as hex cut at its fields
/// (signature, version and command, family, length, then for TCP/UDP over
/// IPv4 or IPv6 the addresses and ports).
fn header_shown(h: &[u8]) -> String {
    if h.starts_with(b"PROXY ") {
        return printable(h);
    }
    let mut cuts = vec![12, 13, 14, 16];
    match h.get(13).map(|b| b >> 4) {
        Some(1) => cuts.extend([20, 24, 26, 28]),
        Some(2) => cuts.extend([32, 48, 50, 52]),
        _ => {}
    }
    let mut out = String::new();
    let mut from = 0;
    for to in cuts.into_iter().chain([h.len()]) {
        let to = to.min(h.len());
        if to > from {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(&hex::encode(&h[from..to]));
            from = to;
        }
    }
    out
}

// ------------------------------------------------------------- human

/// `fill` with the text (not the prefix) painted.
fn fill_painted(
    style: Style,
    first: &str,
    rest: &str,
    text: &str,
    paint: impl Fn(&str) -> String,
) -> String {
    let full = table::fill(style, first, rest, text);
    format!("{first}{}", paint(&full[first.len()..]))
}

/// The human view.
pub(crate) fn human(m: &Matrix, style: Style) -> String {
    let mut out = String::new();
    let title = match &m.target {
        None if m.protocol != Protocol::Http => format!(
            "the {} story, then every sender x receiver pair, live on loopback, against ppctl's copies of {}",
            m.protocol.name(),
            server_name(m.protocol)
        ),
        None if m.tls => {
            "the 443 story, then every sender x receiver pair over TLS, live on loopback, against ppctl's copies of nginx"
                .to_string()
        }
        None => "the 400 story, then every sender x receiver pair, live on loopback, against ppctl's copies of nginx".to_string(),
        Some(t) => format!("each sender against {t} (headers claim {})", m.claimed),
    };
    let title = table::fill(style, "repro: ", "  ", &title);
    let _ = writeln!(
        out,
        "{}{}\n",
        style.bold("repro:"),
        &title["repro:".len()..]
    );
    if m.target.is_none() {
        story(&mut out, m, style);
    }
    out.push_str(&matrix_table(m, style));
    findings(&mut out, m, style);
    out.push('\n');
    verdict(&mut out, m, style);
    out
}

/// The seed failure in a few lines: what the sender sends, what a receiver
/// without PROXY support answers, the fix. Shown when the matrix
/// reproduced it.
fn story(out: &mut String, m: &Matrix, style: Style) {
    // The column without PROXY support, its finding, and the words.
    let plain_server = format!(
        "A {} without PROXY support (here ppctl's copy of it) greets, then reads the header as a command and refuses it:",
        server_name(m.protocol)
    );
    let (column, f, sends, answers) = if m.protocol != Protocol::Http {
        (
            Receiver::Off,
            Finding::UnexpectedHeader,
            "A load balancer puts a PROXY header in front of each connection:",
            plain_server.as_str(),
        )
    } else if m.tls {
        (
            Receiver::Ssl,
            Finding::TlsHandshakeFailed,
            "A load balancer puts a PROXY header in front of each connection; the client's TLS handshake follows it:",
            "A TLS receiver without PROXY support (nginx `listen 443 ssl`; here ppctl's copy of it) takes the header for a plain HTTP request line and answers in clear, so the handshake fails:",
        )
    } else {
        (
            Receiver::Off,
            Finding::UnexpectedHeader,
            "A load balancer puts a PROXY header in front of each connection:",
            "A receiver without PROXY support (nginx without proxy_protocol; here ppctl's copy of it) reads it as the request line and answers:",
        )
    };
    let seed: Vec<&Cell> = [Sender::V1, Sender::V2]
        .into_iter()
        .filter_map(|s| m.cell(s, Some(column)))
        .filter(|c| c.finding == f)
        .collect();
    if seed.is_empty() {
        return;
    }
    table::fill_line(out, style, "1. ", "   ", sends);
    for c in &seed {
        let first = format!("     {}  ", c.sender.name());
        let shown = fill_painted(style, &first, "         ", &header_shown(c.header()), |t| {
            style.accent(t)
        });
        let _ = writeln!(out, "{shown}");
    }
    table::fill_line(out, style, "2. ", "   ", answers);
    let mut answers: Vec<String> = seed
        .iter()
        .filter_map(|c| c.said.clone().or_else(|| status_line(c)))
        .collect();
    answers.dedup();
    for a in answers {
        let _ = writeln!(out, "     {}", style.bad(&a));
    }
    let _ = writeln!(out, "   {}", finding::label(f, style));
    let fixes: Vec<(&Fix, String)> = f
        .fixes_for(case(m))
        .into_iter()
        .filter_map(|x| Some((x, gist(x, case(m))?)))
        .filter(|(x, _)| x.side == crate::judge::fixes::Side::Receiver)
        .take(2)
        .collect();
    if fixes.is_empty() {
        return;
    }
    table::fill_line(
        out,
        style,
        "3. ",
        "   ",
        "The fix: make the receiver read the header (in the same change as the sender's option):",
    );
    let width = fixes
        .iter()
        .flat_map(|(_, g)| g.lines().map(|l| l.chars().count()))
        .max()
        .unwrap_or(0);
    let fits = |x: &Fix, pad: usize| {
        5 + pad + 3 + 2 + x.applies_to.chars().count() <= usize::from(style.width)
    };
    let aligned = fixes.iter().all(|(x, _)| fits(x, width));
    for (x, g) in &fixes {
        let comment = format!("# {}", x.applies_to);
        let pad = if aligned { width } else { g.chars().count() };
        if let Some((first, more)) = g.split_once('\n') {
            // A setting on continuation lines: the lines as they are
            // written, then what they apply to.
            let _ = writeln!(out, "     {}", style.good(first));
            for l in more.lines() {
                let _ = writeln!(out, "     {}", style.good(l));
            }
            let _ = writeln!(
                out,
                "{}",
                fill_painted(style, "       ", "         ", &comment, |t| style.dim(t))
            );
        } else if fits(x, pad) {
            let _ = writeln!(
                out,
                "     {}   {}",
                style.good(&format!("{g:pad$}")),
                style.dim(&comment)
            );
        } else {
            let _ = writeln!(out, "     {}", style.good(g));
            let _ = writeln!(
                out,
                "{}",
                fill_painted(style, "       ", "         ", &comment, |t| style.dim(t))
            );
        }
    }
    out.push('\n');
}

/// Whether two responses are the same but for their `Date:` (two cells
/// answered in different seconds show one response, not two).
fn same_response(a: &str, b: &str) -> bool {
    fn undated(t: &str) -> impl Iterator<Item = &str> {
        t.lines()
            .filter(|l| !l.to_ascii_lowercase().starts_with("date:"))
    }
    undated(a).eq(undated(b))
}

/// The line of a fix that says it all (`use-proxy-protocol: "true"`,
/// `listen 443 ssl proxy_protocol;`): its first line that is not a YAML
/// key opening a block or a comment, without a trailing comment; with the
/// lines that continue it (indented deeper: master.cf's `-o` options, where
/// the setting itself is).
fn gist(fix: &Fix, case: Case) -> Option<String> {
    let change = fix.change_for(case);
    let indent = |l: &str| l.len() - l.trim_start().len();
    let uncommented = |l: &str| l.split(" #").next().unwrap_or(l).trim_end().to_string();
    let mut lines = change.lines().skip_while(|l| {
        let t = l.trim();
        t.is_empty() || t.starts_with('#') || t.ends_with(':')
    });
    let first = lines.next()?;
    let mut gist = uncommented(first).trim_start().to_string();
    for more in lines.take_while(|l| indent(l) > indent(first) && !l.trim().starts_with('#')) {
        gist.push('\n');
        gist.push_str("  ");
        gist.push_str(uncommented(more).trim_start());
    }
    Some(gist)
}

/// The matrix (in process) or the sender column (with a target).
fn matrix_table(m: &Matrix, style: Style) -> String {
    let mut out = String::new();
    if m.target.is_none() {
        let protocol_intro = format!(
            "Every pair, real connections on loopback. The receivers are ppctl's, not {0}: they send {0}'s recorded bytes (docs/protocols.md). {1}; a real server: --target HOST:PORT.",
            server_name(m.protocol),
            m.columns()
                .iter()
                .map(|&r| format!("{} = {}", r.name(), setup(r, m.protocol)))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let intro = if m.protocol != Protocol::Http {
            protocol_intro.as_str()
        } else if m.tls {
            "Every pair over TLS, each sender with its header, then the handshake and the request. The receivers are ppctl's, not nginx: they answer as nginx 1.22.1 does (its 400 page and `Server: nginx/1.22.1`, its log lines). ssl = listen 443 ssl, ssl proxy_protocol = listen 443 ssl proxy_protocol; a real server: --target HOST:PORT."
        } else {
            "Every pair, real connections on loopback. The receivers are ppctl's, not nginx: they answer as nginx 1.22.1 does (its 400 page and `Server: nginx/1.22.1`, its log lines). off = no proxy_protocol, require = listen ... proxy_protocol, auto = a header or none; a real server: --target HOST:PORT."
        };
        table::fill_line(
            &mut out,
            style,
            "",
            "",
            &format!("{intro} Headers claim {}.", m.claimed),
        );
        let mut titles = vec!["sender"];
        titles.extend(m.columns().iter().map(|&r| column_title(r)));
        let mut t = table::new(style, &titles);
        for s in Sender::ALL {
            let mut row = vec![table::cell(style, sender_title(s), Tone::Bold)];
            for &r in m.columns() {
                row.push(match m.cell(s, Some(r)) {
                    Some(c) => table::cell(style, &cell_text(c), finding::tone(c.finding)),
                    None => table::cell(style, "-", Tone::Dim),
                });
            }
            t.add_row(row);
        }
        let _ = writeln!(out, "{t}");
    } else {
        let mut t = table::new(style, &["sender", "finding", "the client got"]);
        for c in &m.cells {
            t.add_row(vec![
                table::cell(style, sender_title(c.sender), Tone::Bold),
                finding::cell(c.finding, style),
                table::cell(style, &got(c), Tone::Plain),
            ]);
        }
        let _ = writeln!(out, "{t}");
    }
    out
}

/// A matrix cell: the finding, what the client got, and the prediction
/// when the cell missed it.
fn cell_text(c: &Cell) -> String {
    let mut s = format!("{} ({})\n{}", c.finding.name(), c.finding.code(), got(c));
    if c.as_predicted() == Some(false) {
        match c.predicted {
            Some(p) if p != c.finding => {
                let _ = write!(s, "\nNOT as predicted: {}", p.name());
            }
            _ => s.push_str("\nNOT as predicted"),
        }
    }
    s
}

/// One block per finding that needs attention, problems first; the cells
/// that share a finding share its block.
fn findings(out: &mut String, m: &Matrix, style: Style) {
    let mut shown: Vec<Finding> = m
        .cells
        .iter()
        .map(|c| c.finding)
        .filter(|f| f.severity() >= Severity::Warning)
        .collect();
    shown.sort_by_key(|f| (std::cmp::Reverse(f.severity()), *f));
    shown.dedup();
    let mut full_shown: Vec<String> = Vec::new();
    let mut fixes_shown: Vec<&str> = Vec::new();
    for f in shown {
        let cells: Vec<&Cell> = m.cells.iter().filter(|c| c.finding == f).collect();
        let pairs: Vec<String> = cells.iter().map(|c| pair(c, style)).collect();
        out.push('\n');
        let label = finding::label(f, style);
        let plain = format!("{} ({})  ", f.name(), f.code());
        let text = table::fill(style, &format!("  {plain}"), "  ", &pairs.join(", "));
        let _ = writeln!(out, "{label}{}", &text[plain.len()..]);
        table::fill_line(out, style, "  ", "  ", f.meaning());
        let _ = writeln!(out, "  {}", style.bold("The client got:"));
        for c in &cells {
            table::fill_line(
                out,
                style,
                "    ",
                "      ",
                &format!("{}: {}", pair(c, style), got(c)),
            );
            if let Some(r) = response(c) {
                if f.is_problem() && !full_shown.iter().any(|s| same_response(s, &r)) {
                    for l in r.lines() {
                        let _ = writeln!(
                            out,
                            "{}",
                            style.dim(&table::fill(style, "      ", "        ", l))
                        );
                    }
                    full_shown.push(r);
                }
            }
        }
        let logs: Vec<(&Cell, String)> = cells
            .iter()
            .filter_map(|c| c.receiver_log.as_ref().map(|l| (*c, l.line())))
            .collect();
        if !logs.is_empty() {
            let _ = writeln!(out, "  {}", style.bold("The receiver logged:"));
            for (c, l) in logs {
                table::fill_line(
                    out,
                    style,
                    "    ",
                    "      ",
                    &format!("{}: {l}", pair(c, style)),
                );
            }
        }
        let fixes = f.fixes_for(case(m));
        if fixes.is_empty() {
            continue;
        }
        match finding::Weight::of(f, true) {
            finding::Weight::Fixes => {
                let _ = writeln!(out, "  {}", style.bold("Fixes (docs/verdicts.md):"));
                finding::fixes_shown_once(out, &fixes, &mut fixes_shown, case(m), style);
            }
            // A warning is a choice (the auto column): where its fixes are.
            finding::Weight::Note => {
                let ids: Vec<&str> = fixes.iter().map(|x| x.id).collect();
                let text = format!("Fixes: {} (docs/verdicts.md)", ids.join(", "));
                table::fill_line(out, style, "  ", "    ", &text);
            }
        }
    }
}

/// The last line: what the exit status says.
fn verdict(out: &mut String, m: &Matrix, style: Style) {
    let (good, text) = match &m.target {
        None => {
            let missed: Vec<String> = m
                .cells
                .iter()
                .filter(|c| c.as_predicted() == Some(false))
                .map(|c| pair(c, style))
                .collect();
            match missed.as_slice() {
                [] => (
                    true,
                    format!(
                        "every cell behaved as predicted ({} of {})",
                        m.cells.len(),
                        m.cells.len()
                    ),
                ),
                _ => (false, format!("NOT as predicted: {}", missed.join(", "))),
            }
        }
        Some(_) if m.interrupted => (
            false,
            format!(
                "interrupted (Ctrl-C) after {} of {} senders: no conclusion",
                m.cells.len(),
                Sender::ALL.len()
            ),
        ),
        Some(_) => match m.matches.as_slice() {
            [] => (
                false,
                format!(
                    "it matches none of the receiver columns ({}): see the findings above",
                    m.columns()
                        .iter()
                        .map(|r| r.name())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ),
            cols => {
                // A profile, as probe's: a fact about the target, not a
                // pass (its mismatched senders' findings stand above).
                let names: Vec<String> = cols.iter().map(|&r| column(r, m.protocol)).collect();
                let text = format!(
                    "the target behaves like {}. A profile, not a problem (exit 0): a sender that does not match it meets the findings above.",
                    names.join("; ")
                );
                let mark = if style.unicode { "→ " } else { "profile: " };
                let _ = writeln!(
                    out,
                    "{}",
                    style.bold(&table::fill(style, mark, "  ", &text))
                );
                return;
            }
        },
    };
    let mark = match (good, style.unicode) {
        (true, true) => "✓ ",
        (false, true) => "✗ ",
        (true, false) => "ok: ",
        (false, false) => "FAILED: ",
    };
    let text = table::fill(style, mark, "  ", &text);
    let _ = writeln!(
        out,
        "{}",
        if good {
            style.good(&text)
        } else {
            style.bad(&text)
        }
    );
}

/// The real server's setup a column copies, for a protocol that speaks
/// first.
fn setup(r: Receiver, p: Protocol) -> &'static str {
    match (p, r) {
        (Protocol::Smtp, Receiver::Off) => "smtpd without PROXY support",
        (Protocol::Smtp, _) => "smtpd_upstream_proxy_protocol = haproxy",
        (Protocol::Mysql, Receiver::Off) => "no proxy_protocol_networks (or the peer outside it)",
        (Protocol::Mysql, _) => "proxy_protocol_networks (a header optional)",
        (_, Receiver::Off) => "a listener without haproxy",
        (_, _) => "haproxy = yes",
    }
}

/// Whose bytes the stand-ins copy.
fn server_name(p: Protocol) -> &'static str {
    match p {
        Protocol::Smtp => "Postfix",
        Protocol::Imap | Protocol::Pop3 => "Dovecot",
        Protocol::Mysql => "MariaDB",
        _ => "nginx",
    }
}

fn column(r: Receiver, p: Protocol) -> String {
    if p != Protocol::Http {
        return format!("`{}`: {} ({})", r.name(), setup(r, p), server_name(p));
    }
    let what = match r {
        Receiver::Off => "no PROXY protocol (nginx without proxy_protocol)",
        Receiver::Require => {
            "requires a header (nginx `listen ... proxy_protocol`, HAProxy accept-proxy)"
        }
        Receiver::Auto => "takes a header or none (spoofable)",
        Receiver::Ssl => "TLS without PROXY protocol (nginx `listen 443 ssl`)",
        Receiver::SslProxyProtocol => {
            "a header, then TLS (nginx `listen 443 ssl proxy_protocol`, HAProxy accept-proxy on an ssl bind)"
        }
    };
    format!("`{}`: {what}", r.name())
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use super::*;
    use crate::net::{Message, Timings, Transcript};
    use crate::repro::{Receiver, CLAIMED};

    const BAD: &[u8] = b"HTTP/1.1 400 Bad Request\r\nServer: nginx\r\n\r\n<center><h1>400 Bad Request</h1></center>\r\n";

    fn reply(header: &[u8], received: &[u8], end: End) -> Transcript {
        Transcript {
            connected: true,
            local: Some(SocketAddr::from(([127, 0, 0, 1], 40000))),
            peer: Some(SocketAddr::from(([127, 0, 0, 1], 8080))),
            message: Some(Message {
                header: header.to_vec(),
                payload: b"GET / HTTP/1.1\r\n\r\n".to_vec(),
            }),
            sent: header.len(),
            banner: Vec::new(),
            received: received.to_vec(),
            received_total: received.len(),
            end,
            write_error: None,
            error: None,
            timings: Timings::default(),
        }
    }

    fn cell(sender: Sender, receiver: Receiver, finding: Finding, reply: Transcript) -> Cell {
        Cell {
            sender,
            protocol: Protocol::Http,
            said: None,
            receiver: Some(receiver),
            reply,
            finding,
            predicted: Some(finding),
            receiver_finding: Some(finding),
            receiver_log: None,
            client: None,
            expected_client: None,
            handshake: None,
        }
    }

    fn matrix() -> Matrix {
        let v1 = b"PROXY TCP4 203.0.113.7 127.0.0.1 51234 8080\r\n";
        let mut ok = cell(
            Sender::V1,
            Receiver::Auto,
            Finding::Spoofable,
            reply(v1, b"HTTP/1.1 200 OK\r\n\r\n", End::EofAfterData),
        );
        ok.client = Some(CLAIMED.ip());
        let mut missing = cell(
            Sender::None,
            Receiver::Require,
            Finding::MissingHeader,
            reply(b"", b"", End::EofWithoutData),
        );
        missing.receiver_log = Some(crate::server::standin::nginx::Log::broken_header(
            b"GET / HTTP/1.1",
        ));
        Matrix {
            target: None,
            tls: false,
            protocol: Protocol::Http,
            claimed: CLAIMED,
            cells: vec![
                cell(
                    Sender::V1,
                    Receiver::Off,
                    Finding::UnexpectedHeader,
                    reply(v1, BAD, End::EofAfterData),
                ),
                missing,
                ok,
            ],
            matches: Vec::new(),
            interrupted: false,
        }
    }

    #[test]
    fn the_story_leads_and_every_line_fits() {
        let text = human(&matrix(), Style::plain());
        let at = |s: &str| text.find(s).unwrap_or_else(|| panic!("{s:?} in\n{text}"));
        assert!(at("v1  PROXY TCP4 203.0.113.7") < at("HTTP/1.1 400 Bad Request"));
        assert!(at("HTTP/1.1 400 Bad Request") < at("use-proxy-protocol: \"true\""));
        assert!(at("use-proxy-protocol: \"true\"") < at("| sender"));
        assert!(text.contains("200 OK, client 203.0.113.7"), "{text}");
        assert!(text.contains("none -> require: closed, no reply"), "{text}");
        assert!(
            text.contains("every cell behaved as predicted (3 of 3)"),
            "{text}"
        );
        for l in text.lines() {
            if !l.trim_start().starts_with("docs: http") {
                assert!(l.chars().count() <= 80, "{l:?}");
            }
        }
    }

    #[test]
    fn a_missed_prediction_is_named_in_the_cell_and_at_the_end() {
        let mut m = matrix();
        m.cells[0].finding = Finding::HttpError;
        let text = human(&m, Style::plain());
        assert!(text.contains("| NOT as predicted: |"), "{text}");
        assert!(
            text.contains("FAILED: NOT as predicted: v1 -> off"),
            "{text}"
        );
        assert!(!m.ok());
    }

    #[test]
    fn json_snapshot() {
        insta::assert_snapshot!("repro_json", json(&matrix()));
    }

    #[test]
    fn json_cells_carry_finding_objects_and_common_fixes() {
        let m = matrix();
        let v = serde_json::to_value(document(&m)).expect("a document");
        assert_eq!(v["type"], "repro");
        let c = &v["cells"][0];
        assert_eq!(c["finding"]["code"], "PP-UNEXPECTED-HEADER");
        let fixes = FixJson::list(&Finding::UnexpectedHeader.fixes(), case(&m));
        assert_eq!(c["fixes"], serde_json::to_value(fixes).expect("fixes"));
        assert_eq!(c["status"], 400);
        assert_eq!(v["cells"][2]["client_ip"], CLAIMED.ip().to_string());
    }

    #[test]
    fn a_fix_shared_by_two_findings_is_shown_once() {
        let mut m = matrix();
        // failed-health-check shares nginx-listen-proxy-protocol with
        // unexpected-header.
        m.cells[1].finding = Finding::FailedHealthCheck;
        let text = human(&m, Style::plain());
        assert_eq!(
            text.matches("[nginx-listen-proxy-protocol] receiver")
                .count(),
            1,
            "{text}"
        );
        assert!(
            text.contains("[nginx-listen-proxy-protocol] (above)"),
            "{text}"
        );
    }

    #[test]
    fn helpers() {
        let f = crate::judge::fixes::get("ingress-nginx-use-proxy-protocol");
        let plain = Case {
            port: None,
            tls: Some(false),
            protocol: None,
        };
        assert_eq!(
            gist(f, plain).as_deref(),
            Some("use-proxy-protocol: \"true\"")
        );
        let f = crate::judge::fixes::get("nginx-listen-proxy-protocol");
        assert_eq!(
            gist(f, plain).as_deref(),
            Some("listen PORT proxy_protocol;")
        );
        let tls = Case {
            port: Some(443),
            tls: Some(true),
            protocol: None,
        };
        assert_eq!(
            gist(f, tls).as_deref(),
            Some("listen 443 ssl proxy_protocol;")
        );
        let f = crate::judge::fixes::get("postfix-upstream-proxy-protocol");
        let smtp = Case {
            port: Some(10025),
            tls: Some(false),
            protocol: Some(crate::protocol::Protocol::Smtp),
        };
        let g = gist(f, smtp).unwrap();
        assert!(
            g.contains("smtpd\n  -o smtpd_upstream_proxy_protocol=haproxy"),
            "{g}"
        );
        assert!(same_response(
            "HTTP/1.1 400 Bad Request\r\nDate: Sun, 06 Dec 2026 20:00:00 GMT\r\n\r\nx",
            "HTTP/1.1 400 Bad Request\r\nDate: Sun, 06 Dec 2026 20:00:01 GMT\r\n\r\nx"
        ));
        assert!(!same_response("HTTP/1.1 400 A\r\n", "HTTP/1.1 400 B\r\n"));
        let s = Style::plain();
        assert_eq!(table::fill(s, "> ", "  ", "a  b"), "> a  b");
        let long = table::fill(s, "1. ", "   ", &"word ".repeat(30));
        assert!(long.lines().all(|l| l.chars().count() <= 80), "{long}");
        assert!(
            long.lines().skip(1).all(|l| l.starts_with("   w")),
            "{long}"
        );
        let v2 = hex::decode("0d0a0d0a000d0a515549540a2111000ccb0071077f000001c8221f90")
            .unwrap_or_default();
        assert_eq!(
            header_shown(&v2),
            "0d0a0d0a000d0a515549540a 21 11 000c cb007107 7f000001 c822 1f90"
        );
    }
}
