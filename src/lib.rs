//! ppctl: a toolkit for the PROXY protocol (v1 text, v2 binary).
//!
//! The library holds all logic; the `ppctl` binary only parses arguments and
//! calls [`cli::Cli::run`]. The [`codec`] is pure (no I/O, no printing).

/// The schema version of every JSON document and line ppctl writes
/// (docs/json.md), and of listen's whoami page: one number for all, bumped
/// once for every change of shape.
pub const JSON_SCHEMA: u32 = 3;

pub(crate) mod check;
pub mod cli;
pub mod cmd;
pub(crate) mod conform;
pub use ppctl_codec as codec;
pub(crate) mod diagnose;
pub(crate) mod duration;
pub(crate) mod error;
pub use ppctl_codec::input;
pub(crate) mod judge;
pub(crate) mod listen;
pub(crate) mod metrics;
pub(crate) mod monitor;
pub mod net;
pub mod pcap;
pub(crate) mod protocol;
pub(crate) mod receivers;
pub(crate) mod relay;
pub mod report;
pub(crate) mod repro;
pub mod samples;
pub(crate) mod send;
pub(crate) mod server;
pub use ppctl_codec::sniff;
