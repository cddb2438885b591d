//! ppctl: a toolkit for the PROXY protocol (v1 text, v2 binary).
//!
//! The library holds all logic; the `ppctl` binary only parses arguments and
//! calls [`cmd::run`]. The [`codec`] is pure (no I/O, no printing).

pub mod cli;
pub mod cmd;
pub use ppctl_codec as codec;
pub mod diagnose;
pub mod error;
pub use ppctl_codec::input;
pub mod judge;
pub mod listen;
pub mod net;
pub mod pcap;
pub mod receivers;
pub mod relay;
pub mod report;
pub mod repro;
pub mod samples;
pub mod send;
pub use ppctl_codec::sniff;
