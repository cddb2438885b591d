//! A finding of the judge, and its fixes, in both views: the same name,
//! code and fixes wherever a command reports one.

use std::fmt::Write as _;

use serde::Serialize;

use super::table::{self, Tone};
use super::Style;
use crate::judge::fixes::{Case, Side};
use crate::judge::{Finding, Fix, Severity};

/// The tone a finding is shown in.
pub(crate) fn tone(f: Finding) -> Tone {
    match f.severity() {
        Severity::Ok => Tone::Good,
        Severity::Info => Tone::Dim,
        Severity::Warning => Tone::Warn,
        Severity::Problem => Tone::Bad,
    }
}

/// `✗ unexpected-header (PP-UNEXPECTED-HEADER)`, coloured by severity.
pub(crate) fn label(f: Finding, style: Style) -> String {
    let mark = match f.severity() {
        Severity::Ok => "✓",
        Severity::Info => "·",
        Severity::Warning => "!",
        Severity::Problem => "✗",
    };
    let text = format!("{mark} {} ({})", f.name(), f.code());
    paint(style, &text, tone(f))
}

/// `name (CODE)` without a mark, for table cells.
pub(crate) fn cell(f: Finding, style: Style) -> comfy_table::Cell {
    table::cell(style, &format!("{} ({})", f.name(), f.code()), tone(f))
}

/// Paint a string in a tone (outside tables).
pub(crate) fn paint(style: Style, text: &str, tone: Tone) -> String {
    match tone {
        Tone::Plain => text.to_string(),
        Tone::Good => style.good(text),
        Tone::Bad => style.bad(text),
        Tone::Warn => style.warn(text),
        Tone::Dim => style.dim(text),
        Tone::Bold => style.bold(text),
        Tone::Accent => style.accent(text),
    }
}

/// A finding in JSON: `{name, code, severity, meaning}`, the shape every
/// document that carries a finding uses.
#[derive(Debug, Clone, Copy, Serialize)]
pub(crate) struct FindingJson {
    pub name: &'static str,
    pub code: &'static str,
    pub severity: &'static str,
    pub meaning: &'static str,
}

impl FindingJson {
    pub(crate) fn of(f: Finding) -> Self {
        FindingJson {
            name: f.name(),
            code: f.code(),
            severity: f.severity().name(),
            meaning: f.meaning(),
        }
    }
}

/// A fix in JSON: the same shape in every document; `change` is built for
/// the case when the command knows it ([`Case`]).
#[derive(Debug, Clone, Serialize)]
pub(crate) struct FixJson {
    pub id: &'static str,
    pub title: &'static str,
    pub side: &'static str,
    pub applies_to: &'static str,
    pub change: String,
    pub doc: &'static str,
}

impl FixJson {
    pub(crate) fn of(f: &Fix, case: Case) -> Self {
        FixJson {
            id: f.id,
            title: f.title,
            side: side_name(f.side),
            applies_to: f.applies_to,
            change: f.change_for(case),
            doc: f.doc,
        }
    }

    /// A finding's fixes for the receiver of `case` (its protocol's own
    /// where it has them), most likely first.
    pub(crate) fn all(f: Finding, case: Case) -> Vec<FixJson> {
        f.fixes_for(case)
            .iter()
            .map(|x| FixJson::of(x, case))
            .collect()
    }

    /// Fixes chosen for a case (`Finding::fixes_for`), in their order.
    pub(crate) fn list(fixes: &[&Fix], case: Case) -> Vec<FixJson> {
        fixes.iter().map(|x| FixJson::of(x, case)).collect()
    }
}

fn side_name(s: Side) -> &'static str {
    s.name()
}

/// Human rendering of fixes: one block per fix, wrapped to the width.
pub(crate) fn fixes_human(fixes: &[&Fix], case: Case, style: Style) -> String {
    let mut out = String::new();
    fixes_shown_once(&mut out, fixes, &mut Vec::new(), case, style);
    out
}

/// Fixes, one block each: the title and where it applies (wrapped to the
/// width), the change as written in that product's configuration, built
/// for the case, the doc. A line of configuration is never wrapped (a
/// copy of it must work): a comment that does not fit beside it goes on
/// its own line above it, and only comments wrap. A fix already shown
/// under another finding gets its title only.
pub(crate) fn fixes_shown_once<'a>(
    out: &mut String,
    fixes: &[&'a Fix],
    shown: &mut Vec<&'a str>,
    case: Case,
    style: Style,
) {
    let width = usize::from(style.width);
    for f in fixes {
        let mark = style.accent(if style.unicode { "▸" } else { ">" });
        if shown.contains(&f.id) {
            let text = table::fill(
                style,
                "  > ",
                "    ",
                &format!("{} [{}] (above)", f.title, f.id),
            );
            let _ = writeln!(out, "  {mark}{}", &text[3..]);
            continue;
        }
        shown.push(f.id);
        let _ = writeln!(
            out,
            "  {mark} {}",
            style.bold(&table::fill(style, "    ", "    ", f.title)[4..])
        );
        let dot = if style.unicode { "·" } else { "-" };
        let meta = format!("[{}] {} {dot} {}", f.id, f.side.name(), f.applies_to);
        let _ = writeln!(
            out,
            "{}",
            style.dim(&table::fill(style, "    ", "    ", &meta))
        );
        let change = f.change_for(case);
        let indent = snippet_indent(&change, width);
        for l in change.lines() {
            let text = l.trim_start();
            let lead = " ".repeat(indent + l.len() - text.len());
            if lead.len() + text.chars().count() <= width {
                let _ = writeln!(out, "{lead}{text}");
                continue;
            }
            let comment_at = COMMENTS
                .iter()
                .filter_map(|mark| text.find(&format!("  {mark}")).map(|at| (at, *mark)))
                .min();
            let starts = COMMENTS.iter().find(|m| text.starts_with(**m));
            match (starts, comment_at) {
                // A comment: prose, wrapped with its mark on each line.
                (Some(mark), _) => {
                    table::fill_line(out, style, &lead, &format!("{lead}{mark} "), text);
                }
                // Code and its comment: the comment above, the code whole.
                (None, Some((at, mark))) => {
                    let comment = text[at..].trim_start();
                    table::fill_line(out, style, &lead, &format!("{lead}{mark} "), comment);
                    let _ = writeln!(out, "{lead}{}", text[..at].trim_end());
                }
                (None, None) => {
                    let _ = writeln!(out, "{lead}{text}");
                }
            }
        }
        let _ = writeln!(out, "    {}", style.dim(&format!("docs: {}", f.doc)));
    }
}

/// Comment marks of the configuration languages the fixes are written in.
const COMMENTS: [&str; 2] = ["#", "//"];

/// The column a fix's change starts at: 6, under its title, or further
/// left when a line of configuration (its code, without a trailing
/// comment, which moves above it) would not fit there. The whole change
/// moves, so its own indentation (YAML's) is kept, and no line is wrapped.
fn snippet_indent(change: &str, width: usize) -> usize {
    let longest = change
        .lines()
        .map(|l| {
            let text = l.trim_start();
            let code = COMMENTS
                .iter()
                .filter_map(|mark| text.find(&format!("  {mark}")))
                .min()
                .map_or(text, |at| text[..at].trim_end());
            if COMMENTS.iter().any(|m| text.starts_with(m)) {
                0
            } else {
                l.len() - text.len() + code.chars().count()
            }
        })
        .max()
        .unwrap_or(0);
    6.min(width.saturating_sub(longest))
}

/// A finding, its meaning (wrapped) and its fixes: the block every command
/// prints under a problem.
pub(crate) fn explained(f: Finding, case: Case, style: Style) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}", label(f, style));
    let _ = writeln!(out, "{}", table::fill(style, "  ", "  ", f.meaning()));
    let fixes = f.fixes_for(case);
    if !fixes.is_empty() {
        let _ = writeln!(out, "{}", style.bold("Fixes (docs/verdicts.md):"));
        out.push_str(&fixes_human(&fixes, case, style));
    }
    out
}

/// How much of a finding a human view prints: the one decision, for every
/// command. Fixes where something is wrong: a problem that happened. A
/// one-line note where it is a choice (a warning, such as the `spoofable`
/// of `listen`'s default auto mode, which the user picked) or a fact
/// (`info`), and where nothing happened yet: a profile's consequence, what
/// a sender that does not match a probed endpoint would meet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Weight {
    /// The label, the meaning and the fixes.
    Fixes,
    /// The label, a few words, and the ids of its fixes.
    Note,
}

impl Weight {
    pub(crate) fn of(f: Finding, happened: bool) -> Weight {
        if happened && f.is_problem() {
            Weight::Fixes
        } else {
            Weight::Note
        }
    }
}

/// A finding as its [`Weight`] says: [`explained`] or [`noted`].
pub(crate) fn explained_as(f: Finding, happened: bool, case: Case, style: Style) -> String {
    match Weight::of(f, happened) {
        Weight::Fixes => explained(f, case, style),
        Weight::Note => noted(f, happened, case, style),
    }
}

/// One line (wrapped): the label, the few words, and where its fixes are.
/// Not in the finding's colour when it did not happen.
pub(crate) fn noted(f: Finding, happened: bool, case: Case, style: Style) -> String {
    let mut text = format!(
        "{}: {}",
        label(
            f,
            Style {
                color: false,
                ..style
            }
        ),
        f.describe()
    );
    let ids: Vec<&str> = f.fixes_for(case).iter().map(|x| x.id).collect();
    if !ids.is_empty() {
        let _ = write!(text, "; fixes: {} (docs/verdicts.md)", ids.join(", "));
    }
    let wrapped = table::fill(style, "", "  ", &text);
    let tone = if happened { tone(f) } else { Tone::Dim };
    let mut out = String::new();
    for l in wrapped.lines() {
        let _ = writeln!(out, "{}", paint(style, l, tone));
    }
    out
}

/// Counts per finding as text parts (`3 proxied`), or `none`.
pub(crate) fn counts_human(map: &std::collections::BTreeMap<Finding, u64>) -> Vec<String> {
    let mut parts: Vec<String> = map
        .iter()
        .map(|(f, n)| format!("{n} {}", f.name()))
        .collect();
    if parts.is_empty() {
        parts.push("none".into());
    }
    parts
}

/// The problems and warnings among `seen` (all of which happened), a
/// blank line before each, as their [`Weight`] says: what a summary
/// explains under its counts, each with the fixes for its receiver
/// (`case`: its protocol's server's, when it was judged in one).
pub(crate) fn explain_worth<'a>(
    seen: impl IntoIterator<Item = &'a Finding>,
    case: impl Fn(Finding) -> Case,
    style: Style,
) -> String {
    let mut out = String::new();
    for f in seen {
        if matches!(f.severity(), Severity::Problem | Severity::Warning) {
            out.push('\n');
            out.push_str(&explained_as(*f, true, case(*f), style));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A line of configuration too long for its place under the title
    /// moves the whole change left (its own indentation kept), unwrapped;
    /// at 80 columns every fix of every finding fits, links aside.
    #[test]
    fn a_long_line_of_configuration_moves_its_change_left_whole() {
        let fix = crate::judge::fixes::get("aws-nlb-proxy-protocol-v2");
        let text = fixes_human(&[fix], Case::default(), Style::plain());
        let key = "service.beta.kubernetes.io/aws-load-balancer-target-group-attributes: >-";
        let line = text
            .lines()
            .find(|l| l.contains(key))
            .expect("the annotation");
        assert!(line.chars().count() <= 80, "{text}");
        let at = |needle: &str| {
            let l = text.lines().find(|l| l.trim_start().starts_with(needle));
            l.map(|l| l.len() - l.trim_start().len()).expect(needle)
        };
        // The YAML's nesting is kept: two columns per level.
        assert_eq!(at("annotations:"), at("metadata:") + 2, "{text}");
        assert_eq!(at(key), at("annotations:") + 2, "{text}");
        for f in Finding::ALL {
            let text = explained(f, Case::default(), Style::plain());
            for l in text.lines().filter(|l| !l.contains("://")) {
                assert!(l.chars().count() <= 80, "{}: {l:?}", f.name());
            }
        }
    }

    #[test]
    fn every_finding_renders_with_its_name_and_code() {
        for f in Finding::ALL {
            let text = explained(f, Case::default(), Style::plain());
            assert!(text.contains(f.name()) && text.contains(f.code()), "{text}");
            assert_eq!(FindingJson::of(f).code, f.code());
        }
    }
}
