//! The capture reader with flow reassembly: any bytes as a pcap/pcapng file
//! go through the same entry point as `ppctl pcap`, and every flow report
//! renders as its JSON line. Small flow limits so eviction paths run too.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ppctl::pcap::{analyze, Filter, Limits, Next};

fuzz_target!(|data: &[u8]| {
    let limits = Limits {
        max_bytes: 512,
        max_flows: 8,
        idle_timeout: std::time::Duration::from_secs(30),
        // Both orderings: strict, and out of turn after a wait.
        order_wait: (data.len() % 3 == 0).then_some(std::time::Duration::from_secs(1)),
        // The rest as `ppctl pcap` has them (protocol: auto), so a new
        // limit does not break this target's build.
        ..Limits::default()
    };
    let mut flows = 0u64;
    let (summary, result) = analyze(
        data,
        limits,
        &Filter::default(),
        // Both the detailed views (JSON, table) and the summary-only path;
        // chosen by the length so the bytes mean the same either way.
        data.len() % 2 == 0,
        |report| {
            flows += 1;
            ppctl::report::pcap::flow_json(&report).to_string();
            Next::Continue
        },
        |_, held| {
            assert!(held <= limits.max_flows);
            Next::Continue
        },
    );
    assert_eq!(summary.flows, flows);
    ppctl::report::pcap::summary_json(&summary, result.as_ref().err()).to_string();
});
