//! The one table style: every table of every command is built here, so
//! borders, width and colour follow the same rules everywhere.
//!
//! Colour is applied by comfy-table itself (per cell), which measures the
//! text without its escape codes: coloured cells keep their padding and the
//! borders line up. The table fits `Style::width` (COLUMNS or the terminal)
//! and wraps long cells rather than overflowing.

use comfy_table::{
    presets, Attribute, Cell, CellAlignment, Color, ColumnConstraint, ContentArrangement, Table,
    Width,
};

use super::Style;

/// How a cell reads: its colour and weight when colour is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tone {
    Plain,
    Good,
    Bad,
    Warn,
    Dim,
    Bold,
    Accent,
}

/// A table with the house style, a header row and the terminal's width.
pub(crate) fn new(style: Style, header: &[&str]) -> Table {
    let mut t = Table::new();
    t.load_preset(if style.unicode {
        presets::UTF8_FULL_CONDENSED
    } else {
        presets::ASCII_FULL_CONDENSED
    })
    .set_content_arrangement(ContentArrangement::Dynamic)
    .set_width(style.width);
    if style.color {
        t.enforce_styling();
    } else {
        t.force_no_tty();
    }
    if !header.is_empty() {
        t.set_header(header.iter().map(|h| cell(style, h, Tone::Bold)));
    }
    t
}

/// Keep column `index` at least `chars` wide (its cells' content), so that
/// a word that must not be cut (a finding's code) is not cut when the
/// table shrinks to the width.
pub(crate) fn keep_whole(t: &mut Table, index: usize, chars: usize) {
    let natural: usize = t
        .column_max_content_widths()
        .iter()
        .map(|&w| usize::from(w) + 3)
        .sum::<usize>()
        + 1;
    if let Some(c) = t.column_mut(index) {
        let w = u16::try_from(chars).unwrap_or(u16::MAX);
        c.set_constraint(ColumnConstraint::LowerBoundary(Width::Fixed(w)));
    }
    // A table cut to the width takes all of it (with a bound set,
    // comfy-table's plain dynamic arrangement leaves columns short).
    if t.width().is_some_and(|w| natural > usize::from(w)) {
        t.set_content_arrangement(ContentArrangement::DynamicFullWidth);
    }
}

/// A cell in a tone; plain when colour is off.
pub(crate) fn cell(style: Style, text: &str, tone: Tone) -> Cell {
    let c = Cell::new(text);
    if !style.color {
        return c;
    }
    match tone {
        Tone::Plain => c,
        Tone::Good => c.fg(Color::Green).add_attribute(Attribute::Bold),
        Tone::Bad => c.fg(Color::Red).add_attribute(Attribute::Bold),
        Tone::Warn => c.fg(Color::Yellow).add_attribute(Attribute::Bold),
        Tone::Dim => c.add_attribute(Attribute::Dim),
        Tone::Bold => c.add_attribute(Attribute::Bold),
        Tone::Accent => c.fg(Color::Cyan),
    }
}

/// A right-aligned number cell.
pub(crate) fn number(style: Style, n: impl std::fmt::Display) -> Cell {
    cell(style, &n.to_string(), Tone::Plain).set_alignment(CellAlignment::Right)
}

/// Word-wrap `text` to the style's width: the first line after `first`,
/// the others after `rest`. Runs of spaces inside the text are kept (config
/// lines align their comments); a word longer than a line stays whole.
pub(crate) fn fill(style: Style, first: &str, rest: &str, text: &str) -> String {
    let width = usize::from(style.width).max(40);
    let mut out = String::from(first);
    let mut col = first.chars().count();
    let mut start = true;
    let room = width.saturating_sub(rest.chars().count()).max(20);
    for word in text.split(' ') {
        let len = word.chars().count();
        if !start && col + 1 + len > width && !word.is_empty() {
            out.push('\n');
            out.push_str(rest);
            col = rest.chars().count();
        } else if !start {
            out.push(' ');
            col += 1;
        }
        if len > room && !word.contains("://") {
            // A word wider than a line (escaped bytes, a long log entry) is
            // cut where the line ends; links stay whole so they still work.
            for ch in word.chars() {
                if col >= width {
                    out.push('\n');
                    out.push_str(rest);
                    col = rest.chars().count();
                }
                out.push(ch);
                col += 1;
            }
        } else {
            out.push_str(word);
            col += len;
        }
        start = false;
    }
    out
}

/// [`fill`], then a newline, onto `out`.
pub(crate) fn fill_line(out: &mut String, style: Style, first: &str, rest: &str, text: &str) {
    out.push_str(&fill(style, first, rest, text));
    out.push('\n');
}

/// Wrap prose to the style's width, indenting continuation lines by
/// `indent` spaces (for notes and fixes under a table). The first line
/// starts at column 0; use [`fill`] when it follows a prefix.
pub(crate) fn wrap(style: Style, text: &str, indent: usize) -> String {
    let width = usize::from(style.width).max(40);
    if fits(text, width) {
        return text.to_string();
    }
    wrap_words(text, width, indent)
}

/// [`wrap`]'s loop: a word that would pass `width` starts a new line.
fn wrap_words(text: &str, width: usize, indent: usize) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / width * (indent + 1));
    let mut col = 0;
    for word in text.split(' ') {
        let len = word.chars().count();
        if col > indent && col + 1 + len > width {
            out.push('\n');
            out.extend(std::iter::repeat_n(' ', indent));
            col = indent;
        } else if col > 0 {
            out.push(' ');
            col += 1;
        }
        out.push_str(word);
        col += len;
    }
    out
}

/// Does [`wrap`] leave `text` as it is? It does when the text fits in
/// `width` and does not start with a space (the loop drops leading
/// spaces): then no word moves to a next line. Checked first because a
/// server says a note on every connection's line.
pub(crate) fn fits(text: &str, width: usize) -> bool {
    !text.starts_with(' ') && (text.len() <= width || text.chars().count() <= width)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_at_the_width_with_an_indent() {
        let s = Style::plain();
        let text = "word ".repeat(40);
        let wrapped = wrap(s, text.trim(), 4);
        for line in wrapped.lines() {
            assert!(line.chars().count() <= 80, "{line:?}");
        }
        assert!(wrapped.lines().skip(1).all(|l| l.starts_with("    ")));
    }

    #[test]
    fn a_text_that_fits_is_what_the_loop_makes_of_it() {
        let texts = [
            "",
            "note: accepted from any peer: any client could forge it; use --trust CIDR",
            " a leading space",
            "two  spaces and a trailing one ",
            "ünïcödé wörds, ünïcödé wörds, ünïcödé wörds, ünïcödé wörds, ü",
            "a-word-longer-than-the-line-itself-a-word-longer-than-the-line-itself",
        ];
        for text in texts {
            for width in 40..=100 {
                if fits(text, width) {
                    assert_eq!(wrap_words(text, width, 4), text, "{width}: {text:?}");
                }
            }
        }
        assert!(!fits(" a", 80));
    }
}
