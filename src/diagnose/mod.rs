//! Diagnosis: what an endpoint expects (`probe`) and what a log line means
//! (`explain`). Both come to the judge's findings; rendering is in
//! `report::probe` and `report::explain`.

pub(crate) mod catalogue;
pub(crate) mod explain;
pub(crate) mod probe;
mod probe_tls;
