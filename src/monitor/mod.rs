//! Watching endpoints over time: the exporter behind `probe --serve` (a
//! scrape in, one probe run out, within bounds; `exporter`, with its
//! `modules` and `query`) and `probe --watch` (`watch`). Both run
//! `diagnose::probe` unchanged and return typed results; the Prometheus
//! text, the HTML page and the watch's lines are rendered in
//! `report::metrics` and `report::watch`.

pub(crate) mod exporter;
pub(crate) mod modules;
pub(crate) mod query;
pub(crate) mod watch;
