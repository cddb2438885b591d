//! `listen --conform` and `relay --conform`: the sender's grades, in the
//! words of `ppctl conform` (test ids, spec sections, MUST / SHOULD, pass /
//! warn / fail / skip). A connection's misses under its line; the load
//! balancer under test graded in the summary.

use std::fmt::Write as _;

use serde::Serialize;

use super::{table, Style};
use crate::judge::conformance::{SenderGrade, SenderTest, Status};
use crate::server::summary::SenderTally;

/// One test's result on one connection.
#[derive(Serialize)]
pub(super) struct CheckJson {
    id: &'static str,
    section: &'static str,
    level: &'static str,
    status: &'static str,
}

/// The connection's graded tests (skips left out), for its JSON line.
pub(super) fn connection_json(g: Option<&SenderGrade>) -> Option<Vec<CheckJson>> {
    let g = g?;
    Some(
        SenderTest::ALL
            .into_iter()
            .filter(|t| g.of(*t) != Status::Skip)
            .map(|t| CheckJson {
                id: t.id(),
                section: t.section(),
                level: t.level().name(),
                status: g.of(t).name(),
            })
            .collect(),
    )
}

fn colour(style: Style, s: Status, text: &str) -> String {
    match s {
        Status::Fail => style.bad(text),
        Status::Warn => style.warn(text),
        Status::Pass => text.to_string(),
        Status::Skip => style.dim(text),
    }
}

/// Under a connection's line: each test it missed, one line each.
pub(super) fn connection_human(g: Option<&SenderGrade>, style: Style) -> String {
    let mut out = String::new();
    let Some(g) = g else { return out };
    for (t, s) in g.misses() {
        let text = format!(
            "{} {} (§{}, {}): {}",
            s.name(),
            t.id(),
            t.section(),
            t.level().name(),
            t.missed()
        );
        let wrapped = table::fill(style, "    sender: ", "      ", &text);
        let _ = writeln!(out, "{}", colour(style, s, &wrapped));
    }
    out
}

#[derive(Serialize)]
pub(super) struct TallyJson {
    /// The worst status of any test.
    status: &'static str,
    tests: Vec<TestJson>,
}

#[derive(Serialize)]
struct TestJson {
    id: &'static str,
    section: &'static str,
    level: &'static str,
    rule: &'static str,
    status: &'static str,
    pass: u64,
    warn: u64,
    fail: u64,
    skip: u64,
}

fn overall(t: &SenderTally) -> Status {
    SenderTest::ALL
        .into_iter()
        .map(|x| t.status(x))
        .filter(|s| *s != Status::Skip)
        .max()
        .unwrap_or(Status::Skip)
}

/// The summary's `sender` object.
pub(super) fn summary_json(t: Option<&SenderTally>) -> Option<TallyJson> {
    let t = t?;
    Some(TallyJson {
        status: overall(t).name(),
        tests: SenderTest::ALL
            .into_iter()
            .map(|x| TestJson {
                id: x.id(),
                section: x.section(),
                level: x.level().name(),
                rule: x.rule(),
                status: t.status(x).name(),
                pass: t.count(x, Status::Pass),
                warn: t.count(x, Status::Warn),
                fail: t.count(x, Status::Fail),
                skip: t.count(x, Status::Skip),
            })
            .collect(),
    })
}

/// The load balancer under test, graded: a line of counts, then one line
/// per test (its status over the run, and of how many connections).
pub(super) fn summary_human(t: Option<&SenderTally>, style: Style) -> String {
    let Some(t) = t else {
        return String::new();
    };
    let statuses: Vec<Status> = SenderTest::ALL.into_iter().map(|x| t.status(x)).collect();
    let n = |s: Status| statuses.iter().filter(|x| **x == s).count();
    let mut out = format!(
        "{} {} pass, {} warn, {} fail, {} not seen\n",
        style.bold("sender under test:"),
        n(Status::Pass),
        n(Status::Warn),
        n(Status::Fail),
        n(Status::Skip)
    );
    for x in SenderTest::ALL {
        let s = t.status(x);
        let graded = t.count(x, Status::Pass) + t.count(x, Status::Warn) + t.count(x, Status::Fail);
        let counts = if s == Status::Skip {
            "no connection to grade".to_string()
        } else if s == Status::Pass {
            format!("{graded} of {graded}")
        } else {
            format!("{} of {graded} missed", graded - t.count(x, Status::Pass))
        };
        let text = format!(
            "{} (§{}, {}): {}; {counts}",
            x.id(),
            x.section(),
            x.level().name(),
            x.rule()
        );
        // Coloured after the fill, which counts the characters.
        let first = format!("  {:<4} ", s.name());
        let filled = table::fill(style, &first, "       ", &text);
        let _ = writeln!(out, "{}", colour(style, s, &filled));
    }
    out
}
