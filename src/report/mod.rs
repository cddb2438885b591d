//! Output: one data model per result, rendered for humans (tables, color)
//! or as stable JSON (see docs/json.md). Commands produce data; these
//! modules format it. Results go to stdout, diagnostics to stderr.

pub(crate) mod check;
#[allow(dead_code)]
pub(crate) mod finding;
pub mod hexdump;
pub mod inspect;
pub mod json;
pub mod style;
#[allow(dead_code)]
pub(crate) mod table;
#[cfg(test)] // only its test writes docs/verdicts.md
mod verdicts;

pub use style::{ColorChoice, Style};
