//! The capture reader's check for any bytes, shared by the property tests
//! (tests/pcap_props.rs, on stable in `cargo test`) and the `pcap` fuzz
//! target (fuzz/fuzz_targets/pcap.rs includes this file by path): any
//! bytes end in a summary, never a panic; the summary counts the flows
//! reported; the table never holds more flows than its limit; every report
//! and the summary render as JSON.

use std::time::Duration;

use ppctl::pcap::{analyze, Filter, Limits, Next};

/// Run `data` through the entry point of `ppctl pcap` with small limits
/// (so eviction runs): in strict order or out of turn after a wait, with
/// the detailed views or the summary only.
pub fn check(data: &[u8], strict_order: bool, detail: bool) {
    let limits = Limits {
        max_bytes: 512,
        max_flows: 8,
        idle_timeout: Duration::from_secs(30),
        order_wait: (!strict_order).then_some(Duration::from_secs(1)),
        ..Limits::default()
    };
    let mut flows = 0u64;
    let (summary, result) = analyze(
        data,
        limits,
        &Filter::default(),
        detail,
        |report| {
            flows += 1;
            let _ = ppctl::report::pcap::flow_json(report).to_string();
            Next::Continue
        },
        |_, held| {
            assert!(held <= limits.max_flows, "{held} flows held");
            Next::Continue
        },
    );
    assert_eq!(
        summary.flows, flows,
        "the summary counts the flows reported"
    );
    let _ = ppctl::report::pcap::summary_json(&summary, result.as_ref().err()).to_string();
}
