//! Progress of long work (send's load mode, pcap on a big file, conform,
//! repro --target, check --probe): an indicatif bar on stderr, drawn only
//! when stderr is a terminal, so a pipe, a file or CI gets nothing. It is
//! cleared before the results are printed; results never go through it.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressFinish, ProgressStyle};

/// A bar (or nothing, off a terminal). Cloning shares the bar.
#[derive(Debug, Clone)]
pub(crate) struct Progress {
    bar: ProgressBar,
}

impl Progress {
    /// `done/total what` with a bar and the time left: tests, connections.
    pub(crate) fn count(total: u64, what: &str) -> Self {
        Progress::drawn(
            total,
            &format!("{{bar:24}} {{pos}}/{{len}} {what} ({{elapsed}}, {{eta}} left) {{msg}}"),
        )
    }

    /// Bytes read of a file, with the time left.
    pub(crate) fn bytes(total: u64) -> Self {
        Progress::drawn(
            total,
            "{bar:24} {bytes}/{total_bytes} ({elapsed}, {eta} left) {msg}",
        )
    }

    /// Draws nothing.
    pub(crate) fn hidden() -> Self {
        Progress {
            bar: ProgressBar::hidden(),
        }
    }

    fn drawn(total: u64, template: &str) -> Self {
        if !std::io::stderr().is_terminal() {
            return Progress::hidden();
        }
        // Dropped unfinished (an early return), it still leaves no trace.
        let bar = ProgressBar::new(total).with_finish(ProgressFinish::AndClear);
        if let Ok(style) = ProgressStyle::with_template(template) {
            bar.set_style(style);
        }
        // The elapsed time and the time left move between steps too.
        bar.enable_steady_tick(Duration::from_millis(200));
        Progress { bar }
    }

    pub(crate) fn inc(&self, n: u64) {
        self.bar.inc(n);
    }

    pub(crate) fn set_position(&self, n: u64) {
        self.bar.set_position(n);
    }

    /// The words after the bar (keep them short: the line fits the terminal).
    pub(crate) fn say(&self, text: impl Into<String>) {
        self.bar.set_message(text.into());
    }

    /// Run `f` (which writes to the terminal) with the bar lifted.
    pub(crate) fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        self.bar.suspend(f)
    }

    /// Remove the bar from the terminal.
    pub(crate) fn clear(&self) {
        self.bar.finish_and_clear();
    }
}
