//! The capture reader with flow reassembly: any bytes as a pcap/pcapng file
//! go through the same entry point as `ppctl pcap`, and every flow report
//! renders as its JSON line. Small flow limits so eviction paths run too.
//! The check is the property tests' (tests/common/pcap_check.rs).
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../tests/common/pcap_check.rs"]
mod pcap_check;

fuzz_target!(|data: &[u8]| {
    // Both orderings (strict, and out of turn after a wait) and both the
    // detailed views and the summary-only path, chosen by the length so
    // the bytes mean the same either way.
    pcap_check::check(data, data.len() % 3 != 0, data.len() % 2 == 0);
});
