//! `conform`'s three views: the human table (one row per test, then why
//! each test did not pass, then the summary), the `conform` JSON document
//! (docs/json.md) and JUnit XML (`--junit FILE`, which GitLab, Jenkins and
//! GitHub show as a test report).

use std::fmt::Write as _;
use std::net::IpAddr;
use std::time::Duration;

use comfy_table::ColumnConstraint;
use quick_xml::events::{BytesDecl, BytesText, Event};
use quick_xml::Writer;
use serde::Serialize;

use super::json::{ms, Doc, TargetJson};
use super::table::{self, Tone};
use super::Style;
use crate::conform::suite::{Level, Modes, Test, V1_BASELINE};
use crate::conform::{Did, Outcome, Run, Status, Took, Why};
use crate::protocol::Protocol;

/// Below this width the table leaves out what each test sends (`--list`
/// and the notes under the table say it).
const WIDE: u16 = 120;

/// The human view.
pub(crate) fn human(run: &Run, style: Style) -> String {
    let mut out = String::new();
    let first = format!("{} {}", style.bold("conform"), setting(run));
    let _ = writeln!(out, "{}", table::wrap(style, &first, 8));
    let wide = style.width >= WIDE;
    let header: &[&str] = if wide {
        &["test", "§", "level", "sent", "receiver did", "result"]
    } else {
        &["test", "§", "level", "receiver did", "result"]
    };
    let mut t = table::new(style, header);
    for o in &run.outcomes {
        let mut row = vec![
            table::cell(style, o.test.id, Tone::Bold),
            table::cell(style, o.test.section, Tone::Plain),
            table::cell(style, level(o.test.level), Tone::Plain),
        ];
        if wide {
            row.push(table::cell(style, o.test.sends, Tone::Dim));
        }
        row.push(table::cell(style, &did(&o.did), Tone::Plain));
        row.push(table::cell(style, o.status.name(), tone(o.status)));
        t.add_row(row);
    }
    // An id is what `--only` takes: never broken across lines.
    if let Some(c) = t.column_mut(0) {
        c.set_constraint(ColumnConstraint::ContentWidth);
    }
    let _ = writeln!(out, "{t}");
    let missed: Vec<&Outcome> = run
        .outcomes
        .iter()
        .filter(|o| matches!(o.status, Status::Fail | Status::Warn))
        .collect();
    if !missed.is_empty() {
        let _ = writeln!(out, "\n{}", style.bold("Not passed:"));
        for o in missed {
            let mark = match o.status {
                Status::Fail => style.bad("fail"),
                _ => style.warn("warn"),
            };
            let text = format!(
                "{} (§{}, {}): sent {}; {}",
                o.test.id,
                o.test.section,
                o.test.level.name(),
                o.test.sends,
                why(o, run.protocol)
            );
            table::fill_line(&mut out, style, &format!("  {mark} "), "       ", &text);
        }
    }
    let skipped = skips(run);
    if !skipped.is_empty() {
        let _ = writeln!(out, "\n{}", style.bold("Skipped:"));
        for (reason, ids) in skipped {
            let text = format!("{reason}: {}", ids.join(", "));
            table::fill_line(&mut out, style, "  ", "    ", &text);
        }
    }
    let _ = writeln!(out, "\n{}", summary(run, style));
    out
}

/// The first line: where, how, in which mode.
fn setting(run: &Run) -> String {
    let mut s = format!("{} ({}", run.target, run.protocol.name());
    if run.tls && run.protocol != Protocol::Tls {
        s.push_str(" over TLS");
    }
    match run.detected {
        Some(class) => {
            let _ = write!(
                s,
                ", mode {} found by probe: {}",
                run.mode.name(),
                class.name()
            );
        }
        None => {
            let _ = write!(s, ", mode {}", run.mode.name());
        }
    }
    if let Some(path) = &run.reflect {
        let _ = write!(s, ", reflector {path}");
    }
    if let Some(ip) = run.from {
        let _ = write!(s, ", untrusted source {ip}");
    }
    s.push(')');
    s
}

fn summary(run: &Run, style: Style) -> String {
    let c = run.counts();
    let connections: usize = run.outcomes.iter().map(|o| o.connections).sum();
    let counts = format!(
        "{} pass, {} warn, {} fail, {} skip",
        c.pass, c.warn, c.fail, c.skip
    );
    let verdict = if run.must_failed() {
        style.bad("a MUST failed")
    } else {
        style.good("every MUST passed")
    };
    let like = run.like.map(|l| format!("{l}-like: ")).unwrap_or_default();
    let verdict = if run.interrupted {
        format!("{verdict} {}", style.warn("before it was interrupted"))
    } else {
        verdict
    };
    // Two short lines, so they fit 80 columns whatever the counts.
    format!(
        "{} {like}{counts}; {verdict}\n         {} tests, {connections} connections in {}",
        style.bold("summary:"),
        run.outcomes.len(),
        seconds(run.elapsed)
    )
}

fn tone(s: Status) -> Tone {
    match s {
        Status::Pass => Tone::Good,
        Status::Warn => Tone::Warn,
        Status::Fail => Tone::Bad,
        Status::Skip => Tone::Dim,
    }
}

/// The level in the table's narrow column.
fn level(l: Level) -> &'static str {
    match l {
        Level::Must => "MUST",
        Level::Should => "SHOULD",
        Level::Practice => "practice",
    }
}

fn seconds(d: Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}

/// What the receiver did, in a few words.
pub(crate) fn did(d: &Did) -> String {
    match d {
        Did::Nothing => "-".into(),
        Did::Served {
            status,
            words,
            took,
        } => {
            let mut s = match (words, status) {
                (Some(w), _) => format!("served: {w:?}"),
                (None, Some(code)) => format!("served {code}"),
                (None, None) => "served".into(),
            };
            match took {
                Took::Unchecked => {}
                Took::Claimed(ip) => {
                    let _ = write!(s, ", took {ip}");
                }
                Took::Forwarded(ip) => {
                    let _ = write!(s, ", took X-Forwarded-For {ip}");
                }
                Took::Socket(ip) => {
                    let _ = write!(s, ", took its own {ip}");
                }
                Took::Other(ip) => {
                    let _ = write!(s, ", took {ip}");
                }
                Took::Unnamed => s.push_str(", named no address"),
            }
            s
        }
        Did::Refused { words: Some(w), .. } => format!("answered {w:?}"),
        Did::Refused {
            status: Some(code),
            words: None,
        } => format!("answered {code}"),
        Did::Refused {
            status: None,
            words: None,
        } => "refused (another protocol's bytes)".into(),
        Did::Closed { after } => ended("closed", *after),
        Did::Reset { after } => ended("reset", *after),
        Did::Silent { after } => format!("silent for {}", seconds(*after)),
        Did::NotConnected { error, .. } => match error {
            Some(e) => format!("no connection: {e}"),
            None => "no connection".into(),
        },
        Did::Split {
            refused,
            tried,
            first,
        } if refused.is_empty() => {
            format!("served at all {tried} cuts")
        }
        Did::Split {
            refused,
            tried,
            first,
        } => format!(
            "not served at {} of {tried} cuts ({}); first: {}",
            refused.len(),
            ranges(refused),
            did(first)
        ),
        Did::Largest { taken, refused } => {
            let taken = match taken {
                Some(n) => format!("took {n} bytes"),
                None => "took no size tried".into(),
            };
            match refused {
                Some((size, what)) => format!("{taken}; {size}: {}", did(what)),
                None => format!("{taken} (all sizes)"),
            }
        }
        Did::Stalled {
            held,
            failed,
            client,
        } => {
            let mut s = format!("held {held}");
            if *failed > 0 {
                let _ = write!(s, " ({failed} not opened)");
            }
            let _ = write!(s, "; the client: {}", did(client));
            s
        }
    }
}

/// "closed", with the time when it is long enough to matter.
fn ended(word: &str, after: Duration) -> String {
    if after >= Duration::from_secs(1) {
        format!("{word} after {}", seconds(after))
    } else {
        word.into()
    }
}

/// Offsets as ranges: `1-5, 9, 12-13`.
fn ranges(offsets: &[usize]) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while i < offsets.len() {
        let start = offsets[i];
        let mut end = start;
        while i + 1 < offsets.len() && offsets[i + 1] == end + 1 {
            i += 1;
            end = offsets[i];
        }
        parts.push(if start == end {
            start.to_string()
        } else {
            format!("{start}-{end}")
        });
        i += 1;
    }
    parts.join(", ")
}

/// Why a test did not pass, in a sentence.
pub(crate) fn why(o: &Outcome, protocol: Protocol) -> String {
    let what = did(&o.did);
    match o.why {
        Why::AsRequired => what,
        Why::RejectAllowed => format!("{what}: refused, which the spec allows here"),
        Why::NotServed => format!("{what}: not served"),
        Why::TookOther => format!("{what}: not the address the header claims"),
        Why::TookForwarded => format!(
            "{what}: it believes X-Forwarded-For, which any client can send, over the PROXY header"
        ),
        Why::TookForged => format!("{what}: an address the header had no right to set"),
        Why::Served => format!("{what}: bytes that must be refused were served"),
        Why::Guessing => format!(
            "{what}: it serves clients without a header too (optional), so any client can forge its address; the spec says a receiver must not guess"
        ),
        Why::NotRejectedEarly => format!(
            "{what}: not refused; still open when the wait ran out (the spec asks to drop it as early as possible)"
        ),
        Why::OtherVersionOnly if o.test.id == V1_BASELINE => format!(
            "{what}: it serves v2 headers only; the spec recommends that v2 receivers take v1 too"
        ),
        Why::OtherVersionOnly => format!(
            "{what}: it serves v1 headers only; v2 senders (AWS NLB, HAProxy send-proxy-v2) are turned away"
        ),
        Why::CrcNotChecked => format!(
            "{what}: it does not check CRC32C (optional; a receiver that checks must drop a mismatch)"
        ),
        Why::SplitRefused => format!(
            "{what}: it wants the header in one segment; the spec recommends buffering a partial header (a big v2 header spans segments)"
        ),
        Why::Small => format!(
            "{what}: no v2 header of {} bytes taken (the size the spec designs for)",
            crate::codec::SAFE_SEGMENT
        ),
        Why::NoDeadline => format!("{what}: still open at the end of --slow-limit"),
        Why::Starved => format!(
            "{what}: a valid client was not served while connections stalled on half a header"
        ),
        Why::Unreachable => what,
        Why::NotForMode
        | Why::NeedsSlow
        | Why::NeedsReflect
        | Why::NeedsFrom
        | Why::NotUnderTls
        | Why::VersionNotTaken(_)
        | Why::TookUnknown
        | Why::HttpOnly
        | Why::Interrupted => skip_reason(o.why, o.test, protocol),
    }
}

/// Why a test was skipped.
fn skip_reason(w: Why, t: &Test, protocol: Protocol) -> String {
    match w {
        Why::NotForMode if t.modes == Modes::Off => {
            "only for receivers without PROXY protocol (--mode off)".into()
        }
        Why::NotForMode => "not for a receiver without PROXY protocol (--mode off)".into(),
        Why::NeedsSlow => "a timing test: add --slow".into(),
        Why::NeedsReflect if protocol != Protocol::Http => format!(
            "needs the address the receiver took: the {} server's answers named none",
            protocol.name()
        ),
        Why::NeedsReflect => {
            "needs --reflect PATH (an HTTP path whose answer names the client's address)".into()
        }
        Why::HttpOnly => format!(
            "an HTTP request header: not for --protocol {}",
            protocol.name()
        ),
        Why::NeedsFrom => {
            "needs --from ADDR (a source outside the receiver's allow-list, e.g. 127.0.0.2)".into()
        }
        Why::NotUnderTls => "data can't go in front of the header under --tls".into(),
        Why::VersionNotTaken(v) => format!(
            "the receiver serves no v{0} header (v{0}/tcp4 was not served)",
            v.number()
        ),
        Why::TookUnknown if protocol != Protocol::Http => format!(
            "served; which address it took is not seen: the {} server's answers name none",
            protocol.name()
        ),
        Why::TookUnknown => "served; which address it took needs --reflect PATH".into(),
        Why::Interrupted => "not run or not finished: the run was interrupted (Ctrl-C)".into(),
        _ => String::new(),
    }
}

/// Skipped tests grouped by reason, in the suite's order.
fn skips(run: &Run) -> Vec<(String, Vec<&'static str>)> {
    let mut groups: Vec<(String, Vec<&'static str>)> = Vec::new();
    for o in run.outcomes.iter().filter(|o| o.status == Status::Skip) {
        let reason = skip_reason(o.why, o.test, run.protocol);
        match groups.iter_mut().find(|(r, _)| *r == reason) {
            Some((_, ids)) => ids.push(o.test.id),
            None => groups.push((reason, vec![o.test.id])),
        }
    }
    groups
}

/// The stable code of a reason (JSON `reason.code`).
fn why_code(w: Why) -> &'static str {
    match w {
        Why::AsRequired => "as-required",
        Why::RejectAllowed => "reject-allowed",
        Why::NotForMode => "not-for-mode",
        Why::NeedsSlow => "needs-slow",
        Why::NeedsReflect => "needs-reflect",
        Why::NeedsFrom => "needs-from",
        Why::NotUnderTls => "not-under-tls",
        Why::HttpOnly => "http-only",
        Why::VersionNotTaken(_) => "version-not-taken",
        Why::TookUnknown => "took-unknown",
        Why::Interrupted => "interrupted",
        Why::NotServed => "not-served",
        Why::TookOther => "took-other",
        Why::TookForwarded => "took-forwarded",
        Why::TookForged => "took-forged",
        Why::Served => "served",
        Why::Guessing => "guessing",
        Why::NotRejectedEarly => "not-rejected-early",
        Why::OtherVersionOnly => "other-version-only",
        Why::CrcNotChecked => "crc-not-checked",
        Why::SplitRefused => "split-refused",
        Why::Small => "small",
        Why::NoDeadline => "no-deadline",
        Why::Starved => "starved",
        Why::Unreachable => "unreachable",
    }
}

/// The `conform` JSON document (docs/json.md), pretty-printed.
pub(crate) fn json(run: &Run) -> String {
    Doc::new("conform", ConformJson::of(run)).pretty()
}

#[derive(Serialize)]
struct ConformJson<'a> {
    target: TargetJson,
    protocol: &'static str,
    tls: bool,
    mode: &'static str,
    detected: Option<&'static str>,
    reflect: &'a Option<String>,
    from: Option<String>,
    slow: bool,
    like: Option<&'static str>,
    interrupted: bool,
    summary: SummaryJson,
    elapsed_ms: f64,
    tests: Vec<TestJson<'a>>,
}

#[derive(Serialize)]
struct SummaryJson {
    pass: usize,
    warn: usize,
    fail: usize,
    skip: usize,
    must_failed: bool,
}

/// One test's outcome.
#[derive(Serialize)]
struct TestJson<'a> {
    id: &'static str,
    section: &'static str,
    level: &'static str,
    sends: &'static str,
    status: &'static str,
    reason: Option<ReasonJson>,
    did: DidJson<'a>,
    connections: usize,
    elapsed_ms: f64,
}

/// Why a test did not simply pass: a code and its words.
#[derive(Serialize)]
struct ReasonJson {
    code: &'static str,
    text: String,
}

impl<'a> ConformJson<'a> {
    fn of(run: &'a Run) -> Self {
        let c = run.counts();
        let tests = run
            .outcomes
            .iter()
            .map(|o| TestJson {
                id: o.test.id,
                section: o.test.section,
                level: o.test.level.name(),
                sends: o.test.sends,
                status: o.status.name(),
                reason: match o.status {
                    Status::Pass if o.why == Why::AsRequired => None,
                    _ => Some(ReasonJson {
                        code: why_code(o.why),
                        text: why(o, run.protocol),
                    }),
                },
                did: DidJson::of(&o.did),
                connections: o.connections,
                elapsed_ms: ms(o.elapsed),
            })
            .collect();
        ConformJson {
            target: TargetJson::from(&run.target),
            protocol: run.protocol.name(),
            tls: run.tls,
            mode: run.mode.name(),
            detected: run.detected.map(|c| c.name()),
            reflect: &run.reflect,
            from: run.from.map(|ip| ip.to_string()),
            slow: run.slow,
            like: run.like,
            interrupted: run.interrupted,
            summary: SummaryJson {
                pass: c.pass,
                warn: c.warn,
                fail: c.fail,
                skip: c.skip,
                must_failed: run.must_failed(),
            },
            elapsed_ms: ms(run.elapsed),
            tests,
        }
    }
}

/// What the receiver did: `kind`, the fields of that kind, then the
/// words the table shows (`text`).
#[derive(Serialize)]
pub(crate) struct DidJson<'a> {
    #[serde(flatten)]
    what: WhatJson<'a>,
    text: String,
}

#[derive(Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
enum WhatJson<'a> {
    #[serde(rename = "none")]
    Nothing,
    Served {
        status: Option<u16>,
        words: &'a Option<String>,
        took: TookJson,
    },
    Refused {
        status: Option<u16>,
        words: &'a Option<String>,
    },
    Closed {
        after_ms: f64,
    },
    Reset {
        after_ms: f64,
    },
    Silent {
        after_ms: f64,
    },
    NotConnected {
        end: &'static str,
        error: &'a Option<crate::net::NetError>,
    },
    Split {
        tried: usize,
        refused_offsets: &'a [usize],
        first_refused: Box<DidJson<'a>>,
    },
    Largest {
        taken_bytes: Option<usize>,
        refused_bytes: Option<usize>,
        refused: Option<Box<DidJson<'a>>>,
    },
    Stalled {
        held: usize,
        not_opened: usize,
        valid_client: Box<DidJson<'a>>,
    },
}

/// The address a served receiver took, and how it was named.
#[derive(Serialize)]
struct TookJson {
    kind: &'static str,
    address: Option<String>,
}

impl TookJson {
    fn of(t: &Took) -> Self {
        let (kind, address): (&str, Option<IpAddr>) = match t {
            Took::Unchecked => ("unchecked", None),
            Took::Claimed(ip) => ("claimed", Some(*ip)),
            Took::Forwarded(ip) => ("forwarded", Some(*ip)),
            Took::Socket(ip) => ("socket", Some(*ip)),
            Took::Other(ip) => ("other", Some(*ip)),
            Took::Unnamed => ("unnamed", None),
        };
        TookJson {
            kind,
            address: address.map(|a| a.to_string()),
        }
    }
}

impl<'a> DidJson<'a> {
    pub(crate) fn of(d: &'a Did) -> Self {
        let boxed = |d: &'a Did| Box::new(DidJson::of(d));
        let what = match d {
            Did::Nothing => WhatJson::Nothing,
            Did::Served {
                status,
                words,
                took,
            } => WhatJson::Served {
                status: *status,
                words,
                took: TookJson::of(took),
            },
            Did::Refused { status, words } => WhatJson::Refused {
                status: *status,
                words,
            },
            Did::Closed { after } => WhatJson::Closed {
                after_ms: ms(*after),
            },
            Did::Reset { after } => WhatJson::Reset {
                after_ms: ms(*after),
            },
            Did::Silent { after } => WhatJson::Silent {
                after_ms: ms(*after),
            },
            Did::NotConnected { end, error } => WhatJson::NotConnected {
                end: end.code(),
                error,
            },
            Did::Split {
                refused,
                tried,
                first,
            } => WhatJson::Split {
                tried: *tried,
                refused_offsets: refused,
                first_refused: boxed(first),
            },
            Did::Largest { taken, refused } => WhatJson::Largest {
                taken_bytes: *taken,
                refused_bytes: refused.as_ref().map(|r| r.0),
                refused: refused.as_ref().map(|r| boxed(&r.1)),
            },
            Did::Stalled {
                held,
                failed,
                client,
            } => WhatJson::Stalled {
                held: *held,
                not_opened: *failed,
                valid_client: boxed(client),
            },
        };
        DidJson { what, text: did(d) }
    }
}

/// The JUnit XML report: one `testsuite`, one `testcase` per test. A fail
/// is a `failure`, a skip `skipped`; a warn passes, with the reason in
/// `system-out` (JUnit has no warning).
pub(crate) fn junit(run: &Run, hostname: &str) -> String {
    let c = run.counts();
    let mut w = Writer::new_with_indent(Vec::new(), b' ', 2);
    let time = |d: Duration| format!("{:.3}", d.as_secs_f64());
    let name = format!("ppctl conform {}", run.target);
    let written = (|| -> std::io::Result<()> {
        w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
        w.create_element("testsuites")
            .with_attribute(("name", name.as_str()))
            .with_attribute(("tests", run.outcomes.len().to_string().as_str()))
            .with_attribute(("failures", c.fail.to_string().as_str()))
            .with_attribute(("errors", "0"))
            .with_attribute(("time", time(run.elapsed).as_str()))
            .write_inner_content(|w| {
                w.create_element("testsuite")
                    .with_attribute(("name", name.as_str()))
                    .with_attribute(("tests", run.outcomes.len().to_string().as_str()))
                    .with_attribute(("failures", c.fail.to_string().as_str()))
                    .with_attribute(("errors", "0"))
                    .with_attribute(("skipped", c.skip.to_string().as_str()))
                    .with_attribute(("time", time(run.elapsed).as_str()))
                    .with_attribute(("timestamp", run.started_rfc3339().as_str()))
                    .with_attribute(("hostname", hostname))
                    .write_inner_content(|w| {
                        properties(w, run)?;
                        for o in &run.outcomes {
                            testcase(w, o, run.protocol, &time(o.elapsed))?;
                        }
                        Ok(())
                    })?;
                Ok(())
            })?;
        Ok(())
    })();
    // Writing into a Vec does not fail.
    debug_assert!(written.is_ok());
    let mut text = String::from_utf8(w.into_inner()).unwrap_or_default();
    text.push('\n');
    text
}

fn properties(w: &mut Writer<Vec<u8>>, run: &Run) -> std::io::Result<()> {
    let props = [
        ("target", run.target.to_string()),
        ("protocol", run.protocol.name().to_string()),
        ("tls", run.tls.to_string()),
        ("mode", run.mode.name().to_string()),
        ("reflect", run.reflect.clone().unwrap_or_default()),
        (
            "from",
            run.from.map(|ip| ip.to_string()).unwrap_or_default(),
        ),
        ("slow", run.slow.to_string()),
    ];
    w.create_element("properties").write_inner_content(|w| {
        for (name, value) in &props {
            w.create_element("property")
                .with_attribute(("name", *name))
                .with_attribute(("value", value.as_str()))
                .write_empty()?;
        }
        Ok(())
    })?;
    Ok(())
}

fn testcase(
    w: &mut Writer<Vec<u8>>,
    o: &Outcome,
    protocol: Protocol,
    time: &str,
) -> std::io::Result<()> {
    let group = o.test.id.split('/').next().unwrap_or("conform");
    let classname = format!("conform.{group}");
    let detail = format!(
        "§{} {}: sent {}; the receiver {}",
        o.test.section,
        o.test.level.name(),
        o.test.sends,
        did(&o.did)
    );
    let case = w
        .create_element("testcase")
        .with_attribute(("name", o.test.id))
        .with_attribute(("classname", classname.as_str()))
        .with_attribute(("time", time));
    match o.status {
        Status::Pass => {
            case.write_empty()?;
        }
        Status::Fail => {
            case.write_inner_content(|w| {
                w.create_element("failure")
                    .with_attribute(("type", o.test.level.name()))
                    .with_attribute(("message", why(o, protocol).as_str()))
                    .write_text_content(BytesText::new(&detail))?;
                Ok(())
            })?;
        }
        Status::Skip => {
            case.write_inner_content(|w| {
                w.create_element("skipped")
                    .with_attribute(("message", why(o, protocol).as_str()))
                    .write_empty()?;
                Ok(())
            })?;
        }
        Status::Warn => {
            let text = format!(
                "warn ({}): {}\n{detail}",
                o.test.level.name(),
                why(o, protocol)
            );
            case.write_inner_content(|w| {
                w.create_element("system-out")
                    .write_text_content(BytesText::new(&text))?;
                Ok(())
            })?;
        }
    }
    Ok(())
}

/// `--list`: every test, one row each.
pub(crate) fn list(tests: &[Test], style: Style) -> String {
    let mut t = table::new(style, &["test", "§", "level", "sends"]);
    for test in tests {
        let mut id = test.id.to_string();
        if test.how.slow() {
            id.push_str(" (--slow)");
        }
        t.add_row(vec![
            table::cell(style, &id, Tone::Bold),
            table::cell(style, test.section, Tone::Plain),
            table::cell(style, level(test.level), Tone::Plain),
            table::cell(style, test.sends, Tone::Plain),
        ]);
    }
    format!("{t}\n{} tests\n", tests.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_read_as_ranges() {
        assert_eq!(ranges(&[1, 2, 3, 5, 7, 8]), "1-3, 5, 7-8");
        assert_eq!(ranges(&[4]), "4");
        assert_eq!(ranges(&[]), "");
    }
}
