//! Output: one data model per result, rendered for humans (tables, color)
//! or as stable JSON (see docs/json.md). Commands produce data; these
//! modules format it. Results go to stdout, diagnostics to stderr.

#[allow(dead_code)]
pub(crate) mod finding;
pub mod hexdump;
pub mod inspect;
pub mod json;
pub mod style;
#[allow(dead_code)]
pub(crate) mod table;

pub use style::{ColorChoice, Style};
pub(crate) mod send;
