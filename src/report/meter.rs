//! `listen --metrics` and `relay --metrics`: the server's counts
//! ([`crate::server::Meter`]) in the Prometheus text format, through
//! prometheus-client's encoder (a [`Collector`] that reads the atomics at
//! scrape time), and the short page at `/`. The names and labels are listed
//! in docs/monitoring.md; a test holds the two together.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric, NoLabelSet};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;

use crate::server::meter::Histogram;
use crate::server::Meter;

/// The exposition of `meter`: what `/metrics` answers.
pub(crate) fn exposition(meter: &Arc<Meter>) -> String {
    let mut r = Registry::default();
    r.register_collector(Box::new(Counts(meter.clone())));
    super::metrics::encode(&r)
}

/// `/`: where the metrics are.
pub(crate) fn index() -> String {
    "ppctl: this server's metrics are at /metrics (docs/monitoring.md)\n".to_string()
}

#[derive(Debug)]
struct Counts(Arc<Meter>);

impl Collector for Counts {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let m = &self.0;
        let mut conns = encoder.encode_descriptor(
            "ppctl_server_connections",
            "Connections (and datagrams) finished, by the judge's finding (docs/verdicts.md), the transport and the header that arrived",
            None,
            MetricType::Counter,
        )?;
        for (finding, transport, header, n) in m.counts() {
            let labels = [
                ("finding", finding.name()),
                ("code", finding.code()),
                ("transport", transport.name()),
                ("header", header.name()),
            ];
            ConstCounter::new(n).encode(conns.encode_family(&labels)?)?;
        }
        let refused = ConstCounter::new(m.out_of_descriptors.load(Relaxed));
        refused.encode(encoder.encode_descriptor(
            "ppctl_server_accepts_refused",
            "accept() calls refused for want of a file descriptor (EMFILE, ENFILE): the client waited in the kernel's backlog (the summary's local-limit, PP-LOCAL-LIMIT)",
            None,
            refused.metric_type(),
        )?)?;
        let open = ConstGauge::new(m.open_now());
        open.encode(encoder.encode_descriptor(
            "ppctl_server_connections_open",
            "TCP connections accepted and not finished yet",
            None,
            open.metric_type(),
        )?)?;
        histogram(
            &mut encoder,
            "ppctl_server_header_wait_seconds",
            "TCP: from accept to the end of the header stage (a header, no header, or a failure)",
            &m.header_wait,
        )?;
        histogram(
            &mut encoder,
            "ppctl_server_connection_duration_seconds",
            "TCP: from accept to the end of the connection",
            &m.duration,
        )
    }
}

fn histogram<const N: usize>(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    h: &Histogram<N>,
) -> Result<(), std::fmt::Error> {
    let (buckets, sum, count) = h.read();
    let mut e = encoder.encode_descriptor(name, help, None, MetricType::Histogram)?;
    e.encode_histogram::<NoLabelSet>(sum, count, &buckets, None)
}
