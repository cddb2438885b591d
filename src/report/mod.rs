//! Output: one data model per result, rendered for humans (tables, color)
//! or as stable JSON (see docs/json.md). Commands produce data; these
//! modules format it. Results go to stdout, diagnostics to stderr.

pub(crate) mod check;
pub(crate) mod conform;
pub(crate) mod explain;
pub(crate) mod finding;
pub(crate) mod hexdump;
pub(crate) mod inspect;
pub mod json;
pub(crate) mod meter;
pub(crate) mod metrics;
mod net_error;
pub(crate) mod out;
pub mod pcap; // pub: the fuzz target renders every flow as JSON
pub(crate) mod pcap_stream;
pub(crate) mod probe;
pub(crate) mod progress;
pub(crate) mod protocol;
pub(crate) mod repro;
pub(crate) mod style;
pub(crate) mod table;
#[cfg(test)] // only its test writes docs/verdicts.md
mod verdicts;

pub(crate) use style::{ColorChoice, Style};
pub(crate) mod send;
mod sender;
pub(crate) mod server;
pub(crate) mod watch;

/// A whole JSON document, pretty-printed, with its newline (the one-shot
/// commands' `--json`). Serializing the report's types cannot fail.
pub(crate) fn pretty<T: serde::Serialize + ?Sized>(v: &T) -> String {
    let mut s = serde_json::to_string_pretty(v).unwrap_or_default();
    s.push('\n');
    s
}

/// A JSON document or a line of JSON Lines on one line, with its newline.
pub(crate) fn line<T: serde::Serialize + ?Sized>(v: &T) -> String {
    let mut s = serde_json::to_string(v).unwrap_or_default();
    s.push('\n');
    s
}
