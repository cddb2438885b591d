//! `send`'s results, for humans and as JSON (docs/json.md, `send --json`).
//! Both views come from the engine's typed [`Sent`]: the bytes that went
//! out, the reply, the judge's finding and send's notes.

use std::fmt::Write as _;
use std::net::IpAddr;
use std::time::Duration;

use serde::Serialize;

use super::finding::{FindingJson, FixJson};
use super::json::{
    ms, time_at as json_time_at, Counts, Doc, EndpointJson, HandshakeJson, HeaderJson, SniffJson,
    TargetJson,
};
use super::protocol::{self as rp, ReplyJson};
use super::{finding, inspect, table, Style};
use crate::codec;
use crate::judge;
use crate::judge::fixes::Case;
use crate::net::{End, FailureKind, Handshake, HandshakeResult, NetError, Split, Transcript};
use crate::receivers;
use crate::send::{Exchanged, Expected, LoadSummary, Note, Outcome, Sent};
use crate::sniff;

/// How much of the reply the JSON and the human view show as text.
pub(crate) const REPLY_TEXT_MAX: usize = 4096;

/// The width of the key column in the human view.
const KEY: usize = 10;

/// The receiver the fixes are for: the target's port, TLS with `--tls`,
/// and the protocol spoken (its server's fixes: Postfix's for SMTP).
fn case(plan: &crate::send::Plan, x: Option<&Exchanged>) -> Case {
    let spoken = x.and_then(|x| x.spoken.as_deref());
    Case {
        port: Some(plan.target.port),
        tls: Some(plan.tls.is_some()),
        protocol: Some(spoken.map_or(plan.protocol.0, |s| s.protocol)),
    }
}

/// How long the server was quiet: from the header to its first byte, or
/// to the end of the exchange.
fn quiet(r: &Transcript) -> rp::Quiet {
    let from = r.timings.sent.or(r.timings.connect).unwrap_or_default();
    let until = r.timings.first_byte.unwrap_or(r.timings.total);
    rp::Quiet {
        waited: Some(until.saturating_sub(from)),
        closed: matches!(r.end, End::EofAfterData | End::EofWithoutData | End::Reset),
        reset: r.end == End::Reset,
    }
}

/// The finding in the server's words, for a conversation in a protocol.
fn because(x: &Exchanged) -> Option<String> {
    let s = x.spoken.as_deref()?;
    rp::because(s.protocol, x.finding, &s.verdict, quiet(&x.reply))
}

/// The `protocol` object of `send --json`: the protocol asked for, and
/// the conversation when there was one (its fields null otherwise).
#[derive(Serialize)]
struct ProtocolJson {
    name: &'static str,
    chosen_by: &'static str,
    greeting: Option<ReplyJson>,
    opening: Option<String>,
    reply: Option<ReplyJson>,
    client_ip: Option<String>,
    silent: Option<bool>,
    starttls: Option<StartTlsJson>,
    words: Option<String>,
}

#[derive(Serialize)]
struct StartTlsJson {
    agreed: Option<bool>,
    answer: Option<ReplyJson>,
    inside: Option<String>,
}

impl ProtocolJson {
    fn of(s: &Sent, x: Option<&Exchanged>) -> Self {
        let (name, chosen) = s.plan.protocol;
        let (Some(x), Some(spoken)) = (x, x.and_then(|x| x.spoken.as_deref())) else {
            return ProtocolJson {
                name: name.name(),
                chosen_by: chosen.name(),
                greeting: None,
                opening: None,
                reply: None,
                client_ip: None,
                silent: None,
                starttls: None,
                words: None,
            };
        };
        let v = &spoken.verdict;
        let starttls = spoken.upgrade.as_ref().map(|u| {
            let answer = x.reply.received.get(u.at..).unwrap_or_default();
            let inside = &u.inside[..u.inside.len().min(REPLY_TEXT_MAX)];
            StartTlsJson {
                agreed: u.agreed,
                answer: spoken
                    .protocol
                    .starttls_answer(answer)
                    .map(|r| ReplyJson::of(&r)),
                inside: (!inside.is_empty()).then(|| String::from_utf8_lossy(inside).into_owned()),
            }
        });
        ProtocolJson {
            name: spoken.protocol.name(),
            chosen_by: spoken.chosen.name(),
            greeting: v.greeting.as_ref().map(ReplyJson::of),
            opening: spoken
                .opening
                .as_ref()
                .map(|o| String::from_utf8_lossy(o).into_owned()),
            reply: v.reply.as_ref().map(ReplyJson::of),
            client_ip: v.client_seen.map(|ip| ip.to_string()),
            silent: Some(spoken.silent),
            starttls,
            words: because(x),
        }
    }
}

/// The mode word (`send`, `dry-run`, `load`).
fn mode(s: &Sent) -> &'static str {
    match s.outcome {
        Outcome::DryRun => "dry-run",
        Outcome::Once(_) => "send",
        Outcome::Load(_) => "load",
    }
}

/// Every byte that went out (or would): header then payload.
fn all_bytes(s: &Sent) -> Vec<u8> {
    [s.header.as_slice(), s.payload.as_slice()].concat()
}

/// The second header of a stacked pair (`--twice`), with where it starts.
fn stacked(s: &Sent) -> Option<(usize, &[u8])> {
    s.stacked_at.map(|at| (at, &s.header[at..]))
}

// ---------------------------------------------------------------- JSON --

/// The `send --json` document, one line.
pub(crate) fn json(s: &Sent) -> String {
    Doc::new("send", SendJson::of(s)).line()
}

/// The `send --json` document, to read fields of in tests.
#[cfg(test)]
pub(crate) fn document(s: &Sent) -> serde_json::Value {
    serde_json::to_value(Doc::new("send", SendJson::of(s))).unwrap_or_default()
}

/// The body of `send --json` (docs/json.md): what went out, what came
/// back, the judge's finding and its fixes, or the load run's counts.
#[derive(Serialize)]
struct SendJson<'a> {
    mode: &'static str,
    target: TargetJson,
    transport: &'static str,
    header: HeaderJson,
    stacked_header: Option<HeaderJson>,
    header_hex: String,
    payload: Option<SniffJson>,
    faults: FaultsJson,
    max_time_ms: u64,
    connected: Option<bool>,
    local: Option<EndpointJson>,
    peer: Option<EndpointJson>,
    sent_bytes: Option<usize>,
    banner: Option<BytesJson>,
    sent: Option<&'static str>,
    tls: Option<HandshakeJson<'a>>,
    protocol: ProtocolJson,
    reply: Option<ReplyDataJson<'a>>,
    elapsed_ms: Option<f64>,
    phases_ms: Option<PhasesJson>,
    finding: Option<FindingJson>,
    fixes: Vec<FixJson>,
    notes: Vec<NoteJson>,
    expectations: Vec<CheckJson>,
    load: Option<LoadJson<'a>>,
    ok: bool,
}

impl<'a> SendJson<'a> {
    fn of(s: &'a Sent) -> Self {
        let all = all_bytes(s);
        let mut header = HeaderJson::new(&codec::decode_final(&s.header), &all);
        if s.payload.is_empty() {
            header.payload = None;
        }
        let stacked_header = stacked(s).map(|(at, rest)| {
            let mut j = HeaderJson::new(&codec::decode_final(rest), &all[at..]);
            if s.payload.is_empty() {
                j.payload = None;
            }
            j
        });
        let plan = &s.plan;
        let once = match &s.outcome {
            Outcome::Once(x) => Some(x.as_ref()),
            _ => None,
        };
        let reply = once.map(|x| &x.reply);
        let (load, ok) = match &s.outcome {
            Outcome::DryRun => (None, true),
            Outcome::Once(x) => (None, x.ok()),
            Outcome::Load(l) => (Some(LoadJson::of(l)), l.passed()),
        };
        SendJson {
            mode: mode(s),
            target: TargetJson::from(&plan.target),
            transport: if plan.udp { "udp" } else { "tcp" },
            header,
            stacked_header,
            header_hex: hex::encode(&s.header),
            payload: (!s.payload.is_empty()).then(|| SniffJson::of(&s.payload)),
            faults: FaultsJson::of(s),
            max_time_ms: plan.net.max_time.as_millis() as u64,
            connected: reply.map(|r| r.connected),
            local: reply.and_then(|r| r.local).map(EndpointJson::inet),
            peer: reply.and_then(|r| r.peer).map(EndpointJson::inet),
            sent_bytes: reply.map(|r| r.sent),
            banner: reply
                .filter(|r| !r.banner.is_empty())
                .map(|r| BytesJson::of(&r.banner, r.banner.len())),
            sent: once.map(|x| sent_kind(x.sent)),
            tls: once
                .and_then(|x| x.handshake.as_ref())
                .map(HandshakeJson::of),
            protocol: ProtocolJson::of(s, once),
            reply: reply.map(ReplyDataJson::of),
            elapsed_ms: reply.map(|r| ms(r.timings.total)),
            phases_ms: reply.map(PhasesJson::of),
            finding: once.map(|x| FindingJson::of(x.finding)),
            fixes: once.map_or_else(Vec::new, |x| {
                let case = case(plan, Some(x));
                FixJson::list(&x.finding.fixes_for(case), case)
            }),
            notes: once
                .map(|x| {
                    x.notes
                        .iter()
                        .map(|n| NoteJson {
                            kind: note_kind(n),
                            text: note_text(n, x),
                        })
                        .collect()
                })
                .unwrap_or_default(),
            expectations: once
                .map(|x| {
                    x.checks
                        .iter()
                        .map(|c| CheckJson {
                            expected: expected_text(c.expected),
                            met: c.met,
                        })
                        .collect()
                })
                .unwrap_or_default(),
            load,
            ok,
        }
    }
}

/// `--split`, `--corrupt`, `--twice`, `--raw`, `--wait-banner`.
#[derive(Serialize)]
struct FaultsJson {
    split: Option<String>,
    split_delay_ms: u64,
    corrupt: Option<&'static str>,
    twice: bool,
    raw: bool,
    wait_banner: bool,
}

impl FaultsJson {
    fn of(s: &Sent) -> Self {
        let plan = &s.plan;
        let split = (!plan.udp)
            .then_some(&plan.net.split)
            .and_then(|sp| match sp {
                Split::Whole => None,
                Split::Bytewise => Some("bytewise".to_string()),
                Split::At(o) => Some(o.iter().map(usize::to_string).collect::<Vec<_>>().join(",")),
            });
        FaultsJson {
            split,
            split_delay_ms: plan.net.split_delay.as_millis() as u64,
            corrupt: plan.header.corrupt.map(|c| c.name()),
            twice: plan.header.twice,
            raw: plan.header.raw.is_some(),
            wait_banner: plan.net.banner_timeout.is_some(),
        }
    }
}

/// Received bytes: `{length, text, hex, looks_like}`.
#[derive(Serialize)]
struct BytesJson {
    length: usize,
    text: String,
    hex: String,
    looks_like: SniffJson,
}

impl BytesJson {
    fn of(bytes: &[u8], length: usize) -> Self {
        let shown = &bytes[..bytes.len().min(REPLY_TEXT_MAX)];
        BytesJson {
            length,
            text: String::from_utf8_lossy(shown).into_owned(),
            hex: hex::encode(shown),
            looks_like: SniffJson::of(bytes),
        }
    }
}

/// How the exchange ended and what the receiver sent.
#[derive(Serialize)]
struct ReplyDataJson<'a> {
    end: &'static str,
    http_status: Option<u16>,
    data: Option<BytesJson>,
    error: &'a Option<NetError>,
    write_error: &'a Option<NetError>,
}

impl<'a> ReplyDataJson<'a> {
    fn of(r: &'a Transcript) -> Self {
        ReplyDataJson {
            end: r.end.code(),
            http_status: crate::send::http_status(&r.received),
            data: (r.received_total > 0).then(|| BytesJson::of(&r.received, r.received_total)),
            error: &r.error,
            write_error: &r.write_error,
        }
    }
}

/// When each step was done, from the start of the connect (the end is
/// `elapsed_ms`), in milliseconds to the microsecond.
#[derive(Serialize)]
struct PhasesJson {
    connect: Option<f64>,
    sent: Option<f64>,
    first_byte: Option<f64>,
}

impl PhasesJson {
    fn of(r: &Transcript) -> Self {
        let t = &r.timings;
        PhasesJson {
            connect: t.connect.map(ms),
            sent: t.sent.map(ms),
            first_byte: t.first_byte.map(ms),
        }
    }
}

#[derive(Serialize)]
struct NoteJson {
    kind: &'static str,
    text: String,
}

#[derive(Serialize)]
struct CheckJson {
    expected: String,
    met: bool,
}

/// The load run (`--connections`): counts, rate and latency.
#[derive(Serialize)]
struct LoadJson<'a> {
    connections: u64,
    concurrency: usize,
    connected: u64,
    ok: u64,
    elapsed_ms: f64,
    connections_per_second: f64,
    latency_ms: Option<LatencyJson>,
    ends: Counts<'a, End>,
    findings: Counts<'a, judge::Finding>,
    statuses: Counts<'a, u16>,
    capped: bool,
    interrupted: bool,
    stopped: u64,
}

#[derive(Serialize)]
struct LatencyJson {
    p50: f64,
    p90: f64,
    p99: f64,
    max: f64,
}

impl<'a> LoadJson<'a> {
    fn of(l: &'a LoadSummary) -> Self {
        LoadJson {
            connections: l.connections,
            concurrency: l.concurrency,
            connected: l.connected(),
            ok: l.ok,
            elapsed_ms: ms(l.elapsed),
            connections_per_second: rate(l),
            latency_ms: percentiles(&l.latencies).map(|p| LatencyJson {
                p50: ms(p.p50),
                p90: ms(p.p90),
                p99: ms(p.p99),
                max: ms(p.max),
            }),
            ends: Counts(&l.ends),
            findings: Counts(&l.findings),
            statuses: Counts(&l.statuses),
            capped: l.capped,
            interrupted: l.interrupted,
            stopped: l.stopped,
        }
    }
}

// ------------------------------------------------------- shared words --

/// What went out first, as the judge was told.
fn sent_kind(s: judge::Sent) -> &'static str {
    match s {
        judge::Sent::Nothing => "nothing",
        judge::Sent::NoHeader { .. } => "no-header",
        judge::Sent::Header { .. } => "header",
        judge::Sent::Local { .. } => "local",
        judge::Sent::Stacked => "stacked",
        judge::Sent::Invalid => "invalid",
    }
}

fn note_kind(n: &Note) -> &'static str {
    match n {
        Note::BannerFirst => "banner-first",
        Note::WriteStopped(_) => "write-stopped",
        Note::SplitHeader => "split-header",
        Note::PlainServed(_) => "plain-served",
        Note::H2Chosen => "h2-chosen",
        Note::StartTlsRefused(_) => "starttls-refused",
        Note::StartTlsUnanswered => "starttls-unanswered",
    }
}

fn note_text(n: &Note, x: &Exchanged) -> String {
    match n {
        Note::BannerFirst => format!(
            "the server spoke first ({}) before any header was sent: a receiver that expects PROXY protocol stays silent until the header arrives, so this one probably does not expect it",
            sniff::classify(&x.reply.banner)
        ),
        Note::WriteStopped(e) => format!(
            "sending stopped early ({e}): the receiver gave up while the header was still arriving"
        ),
        Note::H2Chosen => "the server chose h2 by ALPN but the request is HTTP/1.1 text: offer --tls-alpn http/1.1 (the default)".to_string(),
        Note::PlainServed(status) => format!("a second connection with the same header and the request in clear got HTTP {status}: this port takes the header but does not serve TLS"),
        Note::SplitHeader => "the header was sent in pieces: HAProxy (and go-proxyproto for v1) reject a header that is not complete in the first read, while nginx waits for the rest".to_string(),
        Note::StartTlsRefused(words) => format!("the server refused STARTTLS (`{words}`): it has no TLS set up on this port; the PROXY verdict stands"),
        Note::StartTlsUnanswered => "STARTTLS got no answer before the timeout; the PROXY verdict stands".to_string(),
    }
}

fn expected_text(e: Expected) -> String {
    match e {
        Expected::Status(s) => format!("HTTP status {s}"),
        Expected::Close => "the receiver closes or resets without a reply".to_string(),
    }
}

/// How the connection ended, in words.
fn end_phrase(end: End) -> &'static str {
    match end {
        End::EofAfterData | End::EofWithoutData => "the receiver closed the connection",
        End::Reset => "the receiver reset the connection",
        End::Timeout => "silence until the timeout",
        End::SizeLimit => "the size bound (rest not read)",
        End::Datagram => "end of datagram",
        End::Refused => "connection refused",
        End::ConnectTimeout => "no answer to the connect",
        End::Error => "an error",
        End::MaxTime => "the time limit (--max-time), the reply unfinished",
        End::LocalLimit => "no file descriptor left on this host",
        End::Done => "ppctl hung up (the answer was whole)",
    }
}

/// Latency percentiles (nearest rank) of sorted samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Percentiles {
    pub p50: Duration,
    pub p90: Duration,
    pub p99: Duration,
    pub max: Duration,
}

/// Nearest-rank percentiles of `sorted`; `None` when nothing was measured.
pub(crate) fn percentiles(sorted: &[Duration]) -> Option<Percentiles> {
    let last = *sorted.last()?;
    let at = |p: f64| {
        let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
        sorted[rank.clamp(1, sorted.len()) - 1]
    };
    Some(Percentiles {
        p50: at(50.0),
        p90: at(90.0),
        p99: at(99.0),
        max: last,
    })
}

/// Exchanges per second over the run.
fn rate(l: &LoadSummary) -> f64 {
    if l.elapsed.is_zero() {
        0.0
    } else {
        l.connections as f64 / l.elapsed.as_secs_f64()
    }
}

// --------------------------------------------------------------- human --

/// `key` in a bold column, then `value` wrapped to the width under it.
fn line(out: &mut String, style: Style, key: &str, value: &str) {
    // Wrap with a stand-in for the key column (wrap keeps no leading
    // spaces), then put the key in its place.
    let wrapped = table::wrap(style, &format!("{}{value}", "#".repeat(KEY)), KEY);
    let key = format!("{key:<KEY$}");
    let _ = writeln!(out, "{}{}", style.bold(&key), &wrapped[KEY..]);
}

/// Cut `text` to `max` characters, marking the cut.
fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut s: String = text.chars().take(max.saturating_sub(1)).collect();
    s.push('…');
    s
}

/// The human view.
pub(crate) fn human(s: &Sent, style: Style) -> String {
    let mut out = String::new();
    let plan = &s.plan;
    let transport = if plan.udp { "udp" } else { "tcp" };
    match s.outcome {
        Outcome::DryRun => line(
            &mut out,
            style,
            "dry run",
            &format!("nothing sent to {}", plan.target),
        ),
        _ => {
            let spoken = match &s.outcome {
                Outcome::Once(x) => x.spoken.as_deref().map(|sp| (sp.protocol, sp.chosen)),
                _ => None,
            };
            let (name, chosen) = spoken.unwrap_or(plan.protocol);
            let protocol = rp::named(name, chosen, plan.target.port);
            line(
                &mut out,
                style,
                "target",
                &format!("{} ({transport}, {protocol})", plan.target),
            )
        }
    }
    let once = match &s.outcome {
        Outcome::Once(x) => Some(x.as_ref()),
        _ => None,
    };
    if let Some((local, peer)) = once.and_then(|x| x.reply.local.zip(x.reply.peer)) {
        line(&mut out, style, "socket", &format!("{local} -> {peer}"));
    }
    let all = all_bytes(s);
    if s.header.is_empty() {
        line(&mut out, style, "header", "none (no PROXY header is sent)");
    } else if matches!(s.outcome, Outcome::DryRun) {
        // The inspect view, with what receivers would do.
        let decoded = codec::decode_final(&s.header);
        let predictions = receivers::predict(&decoded, &all);
        out.push('\n');
        out.push_str(&inspect::render(&decoded, &all, &predictions, style));
        out.push('\n');
    } else {
        header_lines(&mut out, style, "header", &s.header, &all);
        if let Some((at, rest)) = stacked(s) {
            header_lines(&mut out, style, "header 2", rest, &all[at..]);
        }
    }
    let spoken = matches!(&s.outcome, Outcome::Once(x) if x.spoken.is_some());
    if !s.payload.is_empty() && !matches!(s.outcome, Outcome::DryRun) && !spoken {
        line(
            &mut out,
            style,
            "payload",
            &format!(
                "{} ({} bytes)",
                sniff::classify(&s.payload),
                s.payload.len()
            ),
        );
    }
    if let (Some(tls), false) = (&plan.tls, once.is_some()) {
        let sni = tls.sni.as_deref().unwrap_or("none");
        let verify = match tls.verify {
            crate::net::Verify::Insecure => "not verified (--insecure)",
            crate::net::Verify::Roots { .. } => "verified",
        };
        line(
            &mut out,
            style,
            "tls",
            &format!(
                "after the header: a TLS handshake, SNI {sni}, ALPN {}, certificate {verify}",
                tls.alpn.join(",")
            ),
        );
    }
    if let Some(x) = once {
        // The address the header claims: the line of the reply that names
        // it is what shows the header was taken.
        let claimed = match codec::decode_final(&s.header) {
            codec::Decoded::Complete(h) => h.source().map(|a| a.ip()),
            _ => None,
        };
        exchange_lines(&mut out, style, x, claimed, self::case(plan, Some(x)));
    }
    if let Outcome::Load(l) = &s.outcome {
        load_view(&mut out, style, l);
    }
    out
}

/// One header: the decode's one-line verdict and its addresses.
fn header_lines(out: &mut String, style: Style, key: &str, header: &[u8], input: &[u8]) {
    let decoded = codec::decode_final(header);
    let view = HeaderJson::new(&decoded, input);
    let tuple = match view.version {
        Some(_) => format!(" {}", view.tuple()),
        None => String::new(),
    };
    line(
        out,
        style,
        key,
        &format!("{}{tuple}", inspect::verdict_line(&decoded, style)),
    );
    if let Some(e) = &view.error {
        line(out, style, "", &format!("rule {}: {}", e.rule, e.hint));
    }
}

/// The handshake: what was agreed, or how it failed; then the certificate.
fn handshake_lines(out: &mut String, style: Style, h: &Handshake) {
    let sni = match &h.sni {
        Some(s) => format!("SNI {s}"),
        None => "no SNI".to_string(),
    };
    let took = h
        .duration
        .map(|d| format!(", {:.3} ms", ms(d)))
        .unwrap_or_default();
    match &h.result {
        HandshakeResult::NotStarted => line(
            out,
            style,
            "tls",
            "no handshake (nothing to shake hands with)",
        ),
        HandshakeResult::Done(s) => {
            let alpn = s.alpn.as_deref().unwrap_or("none");
            line(
                out,
                style,
                "tls",
                &format!("{} {}, ALPN {alpn}, {sni}{took}", s.version, s.cipher),
            );
        }
        HandshakeResult::Failed(f) => {
            let what = match &f.kind {
                FailureKind::Alert(a) => format!("the receiver sent the alert {a}"),
                FailureKind::Certificate => "the certificate was refused".to_string(),
                FailureKind::NotTls => {
                    "the receiver answered with bytes that are not TLS".to_string()
                }
                FailureKind::Closed => "the receiver closed the connection".to_string(),
                FailureKind::Reset => "the receiver reset the connection".to_string(),
                FailureKind::Timeout => "no answer to the ClientHello".to_string(),
                FailureKind::Other => "a TLS error".to_string(),
            };
            let failed = style.bad("handshake FAILED");
            line(
                out,
                style,
                "tls",
                &format!("{failed}: {what} ({sni}{took})"),
            );
            line(out, style, "", &format!("({})", f.error));
        }
    }
    if let Some(c) = &h.certificate {
        line(out, style, "cert", &c.subject);
        line(out, style, "", &format!("issuer {}", c.issuer));
        if !c.sans.is_empty() {
            line(out, style, "", &format!("names {}", c.sans.join(", ")));
        }
        let matches = if c.matches_name {
            style.good(&format!("valid for {}", c.name))
        } else {
            style.bad(&format!("NOT valid for {}", c.name))
        };
        // The date and time, without the fraction.
        let after = json_time_at(c.not_after, 0);
        let after = format!(
            "{} UTC",
            after.get(..19).unwrap_or(&after).replace('T', " ")
        );
        let until = if c.expired {
            style.bad(&format!("EXPIRED {after}"))
        } else {
            format!("until {after}")
        };
        let check = match (&h.result, h.verified) {
            (_, false) => "not verified (--insecure)".to_string(),
            (HandshakeResult::Done(_), true) => style.good("verified"),
            (HandshakeResult::Failed(f), true) if f.kind == FailureKind::Certificate => {
                style.bad("refused")
            }
            _ => "not checked".to_string(),
        };
        let own = if c.self_signed { ", self-signed" } else { "" };
        line(out, style, "", &format!("{matches}, {until}{own}; {check}"));
    }
}

/// The reply as text, as much as proves the verdict: see [`reply_lines`].
/// Every line left out is counted where it was (the last count says where
/// they all are), and bytes beyond what is kept are counted at the end. A
/// line of the proof is wrapped, never cut.
fn reply_text(out: &mut String, style: Style, r: &Transcript, claimed: Option<IpAddr>) {
    // TLS records are not text.
    if sniff::classify(&r.received).is_tls() {
        return;
    }
    let kept = &r.received[..r.received.len().min(REPLY_TEXT_MAX)];
    let text = String::from_utf8_lossy(kept);
    let lines: Vec<&str> = text.lines().collect();
    let claimed = claimed.map(|ip| ip.to_string());
    let shown = reply_lines(&lines, claimed.as_deref(), REPLY_LINES);
    let room = usize::from(style.width).max(40) - KEY;
    // What is printed: a line (wrapped or cut), or a count of lines left out.
    let mut printed: Vec<Result<String, usize>> = Vec::new();
    for (l, show) in lines.iter().zip(&shown) {
        let text = l.escape_debug().to_string();
        match show {
            Shown::No => match printed.last_mut() {
                Some(Err(n)) => *n += 1,
                _ => printed.push(Err(1)),
            },
            Shown::Proof => {
                let lead = " ".repeat(KEY);
                let wrapped = table::fill(style, &lead, &format!("{lead}  "), &text);
                printed.extend(wrapped.lines().map(|part| Ok(part[KEY..].to_string())));
            }
            Shown::Yes => printed.push(Ok(clip(&text, room))),
        }
    }
    let unseen = r.received_total.saturating_sub(kept.len());
    let last_gap = printed.iter().rposition(|p| p.is_err());
    let ends_in_gap = matches!(printed.last(), Some(Err(_)));
    for (i, p) in printed.iter().enumerate() {
        let text = match p {
            Ok(line) => line.clone(),
            Err(n) => {
                let more = if i + 1 == printed.len() { "more " } else { "" };
                let mut t = format!("… {n} {more}{} left out", plural(*n, "line"));
                if Some(i) == last_gap && unseen == 0 {
                    t.push_str(" (--json has them)");
                }
                t
            }
        };
        let _ = writeln!(out, "{:KEY$}{}", "", style.dim(&text));
    }
    if unseen > 0 {
        let and = if ends_in_gap { "and " } else { "" };
        let _ = writeln!(
            out,
            "{:KEY$}{}",
            "",
            style.dim(&format!("… {and}{unseen} more bytes, not shown"))
        );
    }
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        word.to_string()
    } else {
        format!("{word}s")
    }
}

/// Whether (and how) a reply line is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shown {
    No,
    Yes,
    /// A line of the proof: wrapped, never cut.
    Proof,
}

/// At most this many lines of a reply are shown.
const REPLY_LINES: usize = 8;

/// Which of a reply's `lines` the human view shows, at most `budget`: the
/// status line first, then the lines that prove the verdict, then the
/// others while there is room, body before head. The proof is the client
/// address the backend saw (a body line that names the header's source,
/// `claimed`, or a `remote_addr`), and for an error who answered and how
/// (`Server:`, `Connection:`) and what its page says (the body's text).
fn reply_lines(lines: &[&str], claimed: Option<&str>, budget: usize) -> Vec<Shown> {
    let status = lines
        .first()
        .and_then(|l| l.strip_prefix("HTTP/"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|code| code.parse::<u16>().ok());
    // Without a status line the reply has no head: it is all body.
    let body_at = match status {
        Some(_) => lines
            .iter()
            .position(|l| l.is_empty())
            .unwrap_or(lines.len()),
        None => 0,
    };
    let error = status.is_some_and(|s| s >= 400);
    let names = |l: &str| {
        claimed.is_some_and(|ip| {
            l.match_indices(ip).any(|(at, _)| {
                let after = l[at + ip.len()..].chars().next();
                !after.is_some_and(|c| c.is_ascii_hexdigit() || c == '.')
            })
        }) || l.to_ascii_lowercase().contains("remote_addr")
    };
    let says = |l: &str| {
        let mut depth = 0;
        l.chars().any(|c| {
            match c {
                '<' => depth += 1,
                '>' => depth -= 1,
                _ if depth == 0 && !c.is_whitespace() => return true,
                _ => {}
            }
            false
        })
    };
    let rank = |i: usize, l: &str| -> u8 {
        let head = i < body_at;
        let field = |name: &str| l.len() > name.len() && l[..name.len()].eq_ignore_ascii_case(name);
        match () {
            _ if i == 0 => 0,
            _ if !head && i > body_at && names(l) => 1,
            _ if error && head && (field("server:") || field("connection:")) => 1,
            _ if error && !head && says(l) => 1,
            _ if i == body_at => 2,
            _ if !head => 3,
            _ => 4,
        }
    };
    let mut order: Vec<(u8, usize)> = lines
        .iter()
        .enumerate()
        .map(|(i, l)| (rank(i, l), i))
        .collect();
    order.sort_unstable();
    let mut shown = vec![Shown::No; lines.len()];
    for (rank, i) in order.into_iter().take(budget) {
        shown[i] = if rank == 1 { Shown::Proof } else { Shown::Yes };
    }
    shown
}

fn exchange_lines(
    out: &mut String,
    style: Style,
    x: &Exchanged,
    claimed: Option<IpAddr>,
    case: Case,
) {
    let r = &x.reply;
    if let Some(h) = x.handshake.as_ref().filter(|_| x.spoken.is_none()) {
        handshake_lines(out, style, h);
    }
    if !r.banner.is_empty() {
        line(
            out,
            style,
            "banner",
            &format!("{} ({} bytes)", sniff::classify(&r.banner), r.banner.len()),
        );
    }
    if let Some(sp) = x.spoken.as_deref() {
        spoken_lines(out, style, x, sp);
    }
    let what = if r.received_total > 0 {
        format!(
            "{} ({} bytes), then {}",
            sniff::classify(&r.received),
            r.received_total,
            end_phrase(r.end)
        )
    } else {
        format!("nothing, then {}", end_phrase(r.end))
    };
    line(out, style, "reply", &what);
    // A failed handshake's error is on its own line already.
    let handshake_failed = x
        .handshake
        .as_ref()
        .is_some_and(|h| matches!(h.result, HandshakeResult::Failed(_)));
    if let Some(e) = r.error.as_ref().filter(|_| r.received_total == 0) {
        if !handshake_failed {
            line(out, style, "", &format!("({e})"));
        }
    }
    reply_text(out, style, r, claimed);
    if r.connected {
        line(
            out,
            style,
            "time",
            &format!("{:.3} ms", ms(r.timings.total)),
        );
    }
    for c in &x.checks {
        let met = if c.met {
            style.good("met")
        } else {
            style.bad("NOT met")
        };
        line(
            out,
            style,
            "expect",
            &format!("{}: {met}", expected_text(c.expected)),
        );
    }
    // The judge's word, its meaning, send's notes, and the fixes.
    let f = x.finding;
    out.push('\n');
    let _ = writeln!(out, "{}", finding::label(f, style));
    let _ = writeln!(out, "  {}", table::wrap(style, f.meaning(), 2));
    if let Some(words) = because(x) {
        let text = format!("here: {words}");
        let _ = writeln!(out, "  {}", table::wrap(style, &text, 2));
    }
    for n in &x.notes {
        let text = format!("note: {}", note_text(n, x));
        let _ = writeln!(out, "  {}", table::wrap(style, &text, 2));
    }
    let fixes = f.fixes_for(case);
    if !fixes.is_empty() {
        let _ = writeln!(out, "{}", style.bold("Fixes (docs/verdicts.md):"));
        out.push_str(&finding::fixes_human(&fixes, case, style));
    }
}

/// A conversation in a protocol: the greeting, what ppctl said, the
/// answer that decided, STARTTLS.
fn spoken_lines(out: &mut String, style: Style, x: &Exchanged, sp: &crate::send::Spoken) {
    let v = &sp.verdict;
    let q = |r: &crate::protocol::Reply| rp::plain(sp.protocol, r);
    match &v.greeting {
        Some(g) => line(out, style, "greeting", &q(g)),
        None if sp.protocol.server_speaks_first() => {
            let waited = quiet(&x.reply).waited.map(rp::seconds).unwrap_or_default();
            let what = if sp.silent {
                format!(
                    "none for {waited} (--greeting-timeout {})",
                    rp::seconds(sp.greeting_timeout)
                )
            } else {
                format!("none; the server spoke after {waited}:")
            };
            line(out, style, "greeting", &what);
        }
        None => {}
    }
    if let Some(o) = &sp.opening {
        let printable = o
            .iter()
            .all(|b| b.is_ascii_graphic() || matches!(b, b' ' | b'\r' | b'\n'));
        let shown = if printable {
            String::from_utf8_lossy(o).trim_end().to_string()
        } else {
            format!("{} bytes: {}", o.len(), sp.protocol.describe())
        };
        line(out, style, "sent", &shown);
    }
    let decided = v
        .reply
        .as_ref()
        .filter(|r| r.kind != crate::protocol::Kind::Greeting);
    if let Some(r) = decided {
        // The refusal that decided answers the header line, which the
        // server read as its first command, not what ppctl sent after it
        // (shown just above): say so.
        let to = match v.finding {
            crate::judge::Finding::UnexpectedHeader => " (to the header line)",
            crate::judge::Finding::HopAddsHeader => " (to a hop's header line)",
            _ => "",
        };
        line(out, style, "answer", &format!("{}{to}", q(r)));
    }
    if let Some(ip) = v.client_seen {
        line(out, style, "client", &format!("the server sees {ip}"));
    }
    if let Some(u) = &sp.upgrade {
        let answer = x.reply.received.get(u.at..).unwrap_or_default();
        let said = sp
            .protocol
            .starttls_answer(answer)
            .map_or_else(|| "no answer".to_string(), |r| q(&r));
        let what = match u.agreed {
            Some(true) => format!("{said}; then TLS:"),
            Some(false) => format!("refused: {said}"),
            None => said,
        };
        line(out, style, "starttls", &what);
        if let Some(h) = &u.handshake {
            handshake_lines(out, style, h);
        }
        if !u.inside.is_empty() {
            let text = String::from_utf8_lossy(&u.inside);
            let first = text.lines().next().unwrap_or_default();
            line(out, style, "inside", first);
        }
    }
}

fn load_view(out: &mut String, style: Style, l: &LoadSummary) {
    let by = if l.interrupted {
        "interrupted by Ctrl-C"
    } else {
        "stopped by the time cap"
    };
    let capped = match (l.capped || l.interrupted, l.stopped) {
        (false, _) => String::new(),
        (true, 0) => format!(" ({by})"),
        (true, n) => format!(" ({by}, {n} under way stopped)"),
    };
    line(
        out,
        style,
        "load",
        &format!(
            "{} connections, concurrency {}, {:.1} ms{capped}",
            l.connections,
            l.concurrency,
            ms(l.elapsed)
        ),
    );
    line(out, style, "rate", &format!("{:.1} connections/s", rate(l)));
    if let Some(p) = percentiles(&l.latencies) {
        line(
            out,
            style,
            "latency",
            &format!(
                "p50 {:.3} ms  p90 {:.3} ms  p99 {:.3} ms  max {:.3} ms",
                ms(p.p50),
                ms(p.p90),
                ms(p.p99),
                ms(p.max)
            ),
        );
    }
    let ok = format!("{} / {}", l.ok, l.connections);
    let ok = if l.ok == l.connections {
        style.good(&ok)
    } else {
        style.bad(&ok)
    };
    line(out, style, "ok", &ok);
    let ends: Vec<String> = l
        .ends
        .iter()
        .map(|(k, v)| format!("{} {v}", k.code()))
        .collect();
    line(out, style, "ends", &ends.join("  "));
    if !l.statuses.is_empty() {
        let statuses: Vec<String> = l
            .statuses
            .iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect();
        line(out, style, "statuses", &statuses.join("  "));
    }
    let mut t = table::new(style, &["finding", "exchanges", "meaning"]);
    for (f, n) in &l.findings {
        t.add_row(vec![
            finding::cell(*f, style),
            table::number(style, n),
            table::cell(style, f.describe(), table::Tone::Plain),
        ]);
    }
    let _ = writeln!(out, "{t}");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::Version;
    use crate::judge::Finding;
    use crate::net::{self, Certificate, Message, Target, Timings};
    use crate::send::{judge_reply, stacked_at, Expect, HeaderPlan, Plan};

    fn plan(twice: bool) -> Plan {
        let mut header = HeaderPlan::new(Version::V1);
        header.twice = twice;
        Plan {
            target: "127.0.0.1:8080".parse::<Target>().unwrap(),
            header,
            payload: b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
            udp: false,
            net: net::Options::default(),
            expect: Expect::default(),
            tls: None,
            protocol: (
                crate::protocol::Protocol::Http,
                crate::protocol::Chosen::Default,
            ),
            speak: None,
        }
    }

    fn once(plan: Plan, received: &[u8], end: End) -> Sent {
        let local = "127.0.0.1:5000".parse().unwrap();
        let peer = "127.0.0.1:8080".parse().unwrap();
        let message = Message {
            header: plan.header.build(local, peer).unwrap(),
            payload: plan.payload.clone(),
        };
        let reply = Transcript {
            connected: true,
            local: Some(local),
            peer: Some(peer),
            message: Some(message.clone()),
            sent: message.header.len() + message.payload.len(),
            banner: Vec::new(),
            received: received.to_vec(),
            received_total: received.len(),
            end,
            write_error: None,
            error: None,
            timings: Timings::default(),
        };
        let x = judge_reply(&plan, &message, reply, None);
        Sent {
            stacked_at: stacked_at(&message.header),
            header: message.header,
            payload: message.payload,
            plan,
            outcome: Outcome::Once(Box::new(x)),
        }
    }

    const BAD: &[u8] = b"HTTP/1.1 400 Bad Request\r\nServer: nginx\r\n\r\n";

    #[test]
    fn stacked_headers_show_both_and_the_double_finding() {
        let s = once(plan(true), BAD, End::EofAfterData);
        let text = human(&s, Style::plain());
        assert!(text.contains("\nheader    VALID v1 PROXY TCP4"), "{text}");
        assert!(text.contains("\nheader 2  VALID v1 PROXY TCP4"), "{text}");
        assert!(
            text.contains("stacked-header (PP-STACKED-HEADER)"),
            "{text}"
        );
        assert!(text.contains("single-header-hop"), "{text}");
        let v = document(&s);
        assert_eq!(v["type"], "send");
        assert_eq!(v["schema"], 3);
        assert_eq!(v["finding"]["name"], "stacked-header");
        assert_eq!(v["finding"]["code"], "PP-STACKED-HEADER");
        assert_eq!(v["stacked_header"]["verdict"], "valid");
        assert_eq!(v["ok"], false);
    }

    #[test]
    fn a_400_to_one_header_is_unexpected_header_with_its_fixes() {
        let s = once(plan(false), BAD, End::EofAfterData);
        let Outcome::Once(x) = &s.outcome else {
            panic!()
        };
        assert_eq!(x.finding, Finding::UnexpectedHeader);
        let v = document(&s);
        assert_eq!(v["mode"], "send");
        assert_eq!(v["finding"]["severity"], "problem");
        assert_eq!(v["fixes"][0]["id"], "ingress-nginx-use-proxy-protocol");
        assert!(v["stacked_header"].is_null());
        assert_eq!(v["reply"]["http_status"], 400);
        let keys: Vec<&String> = v.as_object().unwrap().keys().take(3).collect();
        assert_eq!(keys, ["type", "schema", "mode"]);
    }

    #[test]
    fn fits_80_columns() {
        let long = [BAD, "x".repeat(200).as_bytes()].concat();
        let s = once(plan(true), &long, End::EofAfterData);
        for l in human(&s, Style::plain()).lines() {
            // Fix blocks come verbatim from the shared table
            // (report::finding::fixes_human).
            if l.starts_with("    ") || l.starts_with('▸') {
                continue;
            }
            assert!(l.chars().count() <= 80, "{l:?}");
        }
    }

    #[test]
    fn continuation_lines_stay_under_their_key() {
        let mut out = String::new();
        line(&mut out, Style::plain(), "", "(an error)");
        line(&mut out, Style::plain(), "reply", &"word ".repeat(30));
        assert!(out.starts_with("          (an error)\n"), "{out:?}");
        for l in out.lines() {
            assert!(l.chars().count() <= 80, "{l:?}");
            assert!(
                l.starts_with("reply     word") || l.starts_with("          "),
                "{l:?}"
            );
        }
    }

    fn load() -> Sent {
        let mut l = LoadSummary {
            connections: 30,
            concurrency: 4,
            ok: 20,
            elapsed: Duration::from_millis(1500),
            latencies: (1..=30)
                .map(|i| Duration::from_micros(i * 1000 + 17))
                .collect(),
            ..LoadSummary::default()
        };
        l.ends.insert(End::EofAfterData, 28);
        l.ends.insert(End::Timeout, 2);
        l.findings.insert(Finding::Proxied, 20);
        l.findings.insert(Finding::UnexpectedHeader, 8);
        l.findings.insert(Finding::NoReply, 2);
        l.statuses.insert(200, 20);
        l.statuses.insert(400, 8);
        let plan = plan(false);
        let message = Message {
            header: plan
                .header
                .build(
                    "127.0.0.1:0".parse().unwrap(),
                    "127.0.0.1:8080".parse().unwrap(),
                )
                .unwrap(),
            payload: plan.payload.clone(),
        };
        Sent {
            stacked_at: None,
            header: message.header,
            payload: message.payload,
            plan,
            outcome: Outcome::Load(l),
        }
    }

    fn styled(color: bool, width: u16) -> Style {
        Style {
            color,
            width,
            unicode: color,
        }
    }

    /// The text without ANSI escapes.
    fn strip(s: &str) -> String {
        let mut out = String::new();
        let mut chars = s.chars();
        while let Some(c) = chars.next() {
            if c == '\u{1b}' {
                for c in chars.by_ref() {
                    if c.is_ascii_alphabetic() {
                        break;
                    }
                }
            } else {
                out.push(c);
            }
        }
        out
    }

    #[test]
    fn snapshots_at_80_and_120_columns_colour_on_and_off() {
        colored::control::set_override(true);
        let stacked = once(plan(true), BAD, End::EofAfterData);
        let load = load();
        for width in [80, 120] {
            for color in [false, true] {
                let style = styled(color, width);
                let suffix = format!("{width}-{}", if color { "color" } else { "plain" });
                insta::assert_snapshot!(format!("stacked-{suffix}"), human(&stacked, style));
                insta::assert_snapshot!(format!("load-{suffix}"), human(&load, style));
            }
        }
    }

    #[test]
    fn coloured_table_rows_line_up() {
        colored::control::set_override(true);
        for width in [80, 120] {
            let text = strip(&human(&load(), styled(true, width)));
            let rows: Vec<&str> = text
                .lines()
                .filter(|l| l.starts_with(['│', '┌', '├', '└', '╞']))
                .collect();
            assert!(rows.len() >= 5, "{text}");
            let w = |l: &str| unicode_width::UnicodeWidthStr::width(l);
            assert!(rows.iter().all(|r| w(r) == w(rows[0])), "{text}");
            assert!(w(rows[0]) <= usize::from(width), "{text}");
        }
    }

    fn with_handshake(handshake: Handshake, received: &[u8], end: End) -> Sent {
        let mut s = once(plan(false), received, end);
        let Outcome::Once(x) = &mut s.outcome else {
            panic!()
        };
        let reply = x.reply.clone();
        let message = reply.message.clone().unwrap();
        **x = judge_reply(&s.plan, &message, reply, Some(handshake));
        s
    }

    fn certificate() -> Certificate {
        Certificate {
            subject: "CN=app.example.com".into(),
            issuer: "CN=Example CA".into(),
            sans: vec!["app.example.com".into(), "*.app.example.com".into()],
            not_before: 1_767_225_600,
            not_after: 1_798_761_600,
            expired: false,
            self_signed: false,
            matches_name: true,
            name: "app.example.com".into(),
            sha256: "AB:CD".into(),
        }
    }

    #[test]
    fn a_completed_handshake_shows_its_facts_and_the_certificate() {
        let h = Handshake {
            sni: Some("app.example.com".into()),
            alpn_offered: vec!["http/1.1".into()],
            verified: true,
            result: HandshakeResult::Done(crate::net::Session {
                version: "TLSv1.3".into(),
                cipher: "TLS13_AES_128_GCM_SHA256".into(),
                alpn: Some("http/1.1".into()),
            }),
            certificate: Some(certificate()),
            duration: Some(Duration::from_millis(3)),
        };
        let s = with_handshake(h, b"HTTP/1.1 200 OK\r\n\r\nok", End::EofAfterData);
        let text = human(&s, Style::plain());
        assert!(
            text.contains(
                "\ntls       TLSv1.3 TLS13_AES_128_GCM_SHA256, ALPN http/1.1, SNI app.example.com"
            ),
            "{text}"
        );
        assert!(text.contains("\ncert      CN=app.example.com\n"), "{text}");
        assert!(
            text.contains("names app.example.com, *.app.example.com"),
            "{text}"
        );
        assert!(
            text.contains("valid for app.example.com, until 2027-01-01 00:00:00 UTC"),
            "{text}"
        );
        assert!(text.contains("proxied (PP-PROXIED)"), "{text}");
        for l in text.lines() {
            assert!(l.chars().count() <= 80, "{l:?}");
        }
        let v = document(&s);
        assert_eq!(v["tls"]["result"], "done");
        assert_eq!(v["tls"]["cipher"], "TLS13_AES_128_GCM_SHA256");
        assert_eq!(v["tls"]["certificate"]["sans"][1], "*.app.example.com");
        assert_eq!(v["tls"]["handshake_ms"], 3.0);
        assert!(v["tls"]["failure"].is_null());
    }

    #[test]
    fn h2_chosen_for_an_http1_request_is_noted() {
        let h = Handshake {
            sni: None,
            alpn_offered: vec!["h2".into()],
            verified: false,
            result: HandshakeResult::Done(crate::net::Session {
                version: "TLSv1.3".into(),
                cipher: "TLS13_AES_128_GCM_SHA256".into(),
                alpn: Some("h2".into()),
            }),
            certificate: None,
            duration: None,
        };
        let s = with_handshake(h, b"", End::EofWithoutData);
        let v = document(&s);
        assert_eq!(v["notes"][0]["kind"], "h2-chosen", "{v:#}");
    }

    #[test]
    fn a_failed_handshake_is_judged_with_the_tls_dimension() {
        let failed = |kind: FailureKind| Handshake {
            sni: None,
            alpn_offered: vec!["http/1.1".into()],
            verified: false,
            result: HandshakeResult::Failed(crate::net::Failure {
                kind,
                error: NetError::Io("received fatal alert: ProtocolVersion".into()),
            }),
            certificate: None,
            duration: None,
        };
        let alert = [0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x46];
        let s = with_handshake(
            failed(FailureKind::Alert("ProtocolVersion".into())),
            &alert,
            End::EofAfterData,
        );
        let Outcome::Once(x) = &s.outcome else {
            panic!()
        };
        assert_eq!(x.finding, Finding::TlsHandshakeFailed);
        let text = human(&s, Style::plain());
        assert!(
            text.contains("handshake FAILED: the receiver sent the alert ProtocolVersion (no SNI)"),
            "{text}"
        );
        assert!(
            text.contains("tls-handshake-failed (PP-TLS-HANDSHAKE-FAILED)"),
            "{text}"
        );
        // The alert's bytes are not dumped as text.
        assert!(!text.contains("\\u{15}"), "{text}");
        let v = document(&s);
        assert_eq!(v["tls"]["failure"]["kind"], "alert");
        assert_eq!(v["tls"]["failure"]["alert"], "ProtocolVersion");
        assert_eq!(v["fixes"][0]["id"], "ingress-nginx-use-proxy-protocol");
        assert_eq!(v["fixes"][1]["id"], "nginx-listen-proxy-protocol");

        let mut refused = failed(FailureKind::Certificate);
        refused.verified = true;
        refused.certificate = Some(Certificate {
            matches_name: false,
            ..certificate()
        });
        let s = with_handshake(refused, b"", End::EofWithoutData);
        let text = human(&s, Style::plain());
        assert!(text.contains("NOT valid for app.example.com"), "{text}");
        let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(flat.contains("00:00:00 UTC; refused"), "{text}");
        assert!(
            text.contains("certificate-rejected (PP-CERTIFICATE-REJECTED)"),
            "{text}"
        );
    }

    /// `ppctl listen`'s whoami page to a v1 header claiming 203.0.113.7.
    const WHOAMI: &[u8] = b"HTTP/1.1 200 OK\r\nServer: ppctl\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 368\r\nConnection: close\r\n\r\nremote_addr (realip): 127.0.0.1\npeer: 127.0.0.1:46136\nserver: 127.0.0.1:38099\nproxy_protocol: v1 PROXY\nproxy_protocol_addr: 203.0.113.7\nproxy_protocol_port: 4444\nproxy_protocol_server_addr: 127.0.0.1\nproxy_protocol_server_port: 38099\nset_real_ip_from: -\nspoofable: true\nnote: accepted from any peer\nrequest: GET / HTTP/1.1\n";

    /// The reply block of send's human view.
    fn reply_block(text: &str) -> Vec<&str> {
        text.lines()
            .skip_while(|l| !l.trim().starts_with("HTTP/"))
            .take_while(|l| !l.starts_with("time "))
            .filter(|l| l.starts_with("          "))
            .map(str::trim)
            .collect()
    }

    /// "✓ proxied … the real client address reached the backend": the
    /// line with that address is shown, and what is left out is counted.
    #[test]
    fn a_proxied_reply_shows_the_address_the_backend_saw() {
        let mut p = plan(false);
        p.header.addresses = crate::send::AddressPlan::Inet {
            src: Some("203.0.113.7:4444".parse().unwrap()),
            dst: None,
        };
        let s = once(p, WHOAMI, End::EofAfterData);
        let text = human(&s, Style::plain());
        assert!(text.contains("✓ proxied"), "{text}");
        let block = reply_block(&text);
        assert!(
            block.contains(&"proxy_protocol_addr: 203.0.113.7"),
            "{block:#?}"
        );
        assert!(
            block.contains(&"remote_addr (realip): 127.0.0.1"),
            "{block:#?}"
        );
        assert!(!block.contains(&"proxy_protocol_addr: 203.0.113.70"));
        let shown = block.iter().filter(|l| !l.starts_with('…')).count();
        let left: usize = block
            .iter()
            .filter_map(|l| l.strip_prefix("… "))
            .filter_map(|l| l.split(' ').next()?.parse::<usize>().ok())
            .sum();
        assert_eq!(shown, REPLY_LINES, "{block:#?}");
        assert_eq!(shown + left, 18, "{block:#?}");
        assert!(block
            .last()
            .is_some_and(|l| l.ends_with("(--json has them)")));
    }

    #[test]
    fn the_lines_that_prove_the_verdict_come_first() {
        let shown = |reply: &str, claimed| {
            let lines: Vec<&str> = reply.lines().collect();
            let picked = reply_lines(&lines, claimed, 8);
            lines
                .iter()
                .zip(picked)
                .filter(|(_, s)| *s != Shown::No)
                .map(|(l, s)| format!("{}{l}", if s == Shown::Proof { "!" } else { "" }))
                .collect::<Vec<_>>()
        };
        // An error page: who answered, how, and what its page says.
        let nginx = "HTTP/1.1 400 Bad Request\r\nServer: nginx/1.22.1\r\nDate: x\r\nContent-Type: text/html\r\nContent-Length: 157\r\nConnection: close\r\n\r\n<html>\r\n<head><title>400 Bad Request</title></head>\r\n<body>\r\n<center><h1>400 Bad Request</h1></center>\r\n<hr><center>nginx/1.22.1</center>\r\n</body>\r\n</html>\r\n";
        let got = shown(nginx, None);
        for want in [
            "HTTP/1.1 400 Bad Request",
            "!Server: nginx/1.22.1",
            "!Connection: close",
            "!<center><h1>400 Bad Request</h1></center>",
            "!<hr><center>nginx/1.22.1</center>",
        ] {
            assert!(got.iter().any(|l| l == want), "{want}: {got:#?}");
        }
        assert!(!got.iter().any(|l| l.contains("Date:")), "{got:#?}");
        // The claimed address, not one that starts like it.
        let page = "HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\nE: 5\r\nF: 6\r\nG: 7\r\nH: 8\r\n\r\nsrc=10.0.0.70\nsrc=10.0.0.7\n";
        let got = shown(page, Some("10.0.0.7"));
        assert!(got.contains(&"!src=10.0.0.7".to_string()), "{got:#?}");
        assert!(!got.contains(&"!src=10.0.0.70".to_string()), "{got:#?}");
        // Short replies are shown whole.
        assert_eq!(shown("SSH-2.0-OpenSSH_9\r\n", None), ["SSH-2.0-OpenSSH_9"]);
    }

    /// The JSON of each kind of run, byte for byte (docs/json.md): a
    /// change here is a change of the schema.
    #[test]
    fn json_snapshots() {
        let failed = |kind: FailureKind| Handshake {
            sni: Some("app.example.com".into()),
            alpn_offered: vec!["http/1.1".into()],
            verified: true,
            result: HandshakeResult::Failed(crate::net::Failure {
                kind,
                error: NetError::Io("invalid peer certificate: NotValidForName".into()),
            }),
            certificate: Some(certificate()),
            duration: Some(Duration::from_micros(1234)),
        };
        let mut dry = once(plan(false), b"", End::Timeout);
        dry.outcome = Outcome::DryRun;
        let mut faulty = plan(false);
        faulty.net.split = Split::At(vec![3, 5]);
        faulty.header.corrupt = Some(crate::codec::corrupt::Corruption::Signature);
        for (name, s) in [
            ("stacked", once(plan(true), BAD, End::EofAfterData)),
            ("timeout", once(plan(false), b"", End::Timeout)),
            ("load", load()),
            (
                "certificate",
                with_handshake(failed(FailureKind::Certificate), b"", End::EofWithoutData),
            ),
            ("dry-run", dry),
            ("faults", once(faulty, BAD, End::Reset)),
        ] {
            insta::assert_snapshot!(format!("json-{name}"), json(&s));
        }
    }

    #[test]
    fn nearest_rank() {
        let v: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        let p = percentiles(&v).unwrap();
        let ms = |d: Duration| d.as_millis();
        assert_eq!(
            (ms(p.p50), ms(p.p90), ms(p.p99), ms(p.max)),
            (50, 90, 99, 100)
        );
        assert!(percentiles(&[]).is_none());
    }
}
