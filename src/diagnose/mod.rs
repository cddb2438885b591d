//! Diagnosis: what an endpoint expects (`probe`), what a log line means
//! (`explain`), and the one table of fixes they share.

pub mod catalogue;
pub mod explain;
pub use crate::judge::fixes;
pub mod probe;
mod probe_tls;
