//! Property tests for the capture reader, in `cargo test` on the stable
//! toolchain: the `pcap` fuzz target's check (tests/common/pcap_check.rs)
//! over the test captures cut short, with bytes overwritten, spliced into
//! each other, and a file header followed by noise.

mod common;

use common::pcap_check::check;
use proptest::prelude::*;

const CAPTURES: [&[u8]; 6] = [
    include_bytes!("data/pcap/every-verdict.pcap"),
    include_bytes!("data/pcap/proxy-chain.pcap"),
    include_bytes!("data/pcap/qinq-nanos-be.pcap"),
    include_bytes!("data/pcap/scrambled-v2.pcapng"),
    include_bytes!("data/pcap/sll-loopback.pcap"),
    include_bytes!("data/pcap/sll2-loopback.pcapng"),
];

/// One of the captures, and which one (for the failure message).
fn capture() -> impl Strategy<Value = usize> {
    0..CAPTURES.len()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn a_capture_cut_anywhere(which in capture(), cut in any::<prop::sample::Index>(),
                              strict in any::<bool>(), detail in any::<bool>()) {
        let data = CAPTURES[which];
        check(&data[..cut.index(data.len() + 1)], strict, detail);
    }

    #[test]
    fn a_capture_with_bytes_overwritten(
        which in capture(),
        writes in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..16),
        strict in any::<bool>(), detail in any::<bool>(),
    ) {
        let mut data = CAPTURES[which].to_vec();
        for (at, byte) in writes {
            let i = at.index(data.len());
            data[i] = byte;
        }
        check(&data, strict, detail);
    }

    #[test]
    fn two_captures_spliced(first in capture(), second in capture(),
                            a in any::<prop::sample::Index>(), b in any::<prop::sample::Index>(),
                            strict in any::<bool>(), detail in any::<bool>()) {
        // The head of one file (its header and some records) and the tail
        // of another: records of the wrong format, length fields that point
        // anywhere.
        let (x, y) = (CAPTURES[first], CAPTURES[second]);
        let mut data = x[..a.index(x.len() + 1)].to_vec();
        data.extend_from_slice(&y[b.index(y.len() + 1)..]);
        check(&data, strict, detail);
    }

    #[test]
    fn a_file_header_then_any_bytes(which in capture(),
                                    rest in prop::collection::vec(any::<u8>(), 0..2048),
                                    strict in any::<bool>(), detail in any::<bool>()) {
        // The file header of pcap (24 bytes) or of a pcapng section (its
        // first block, cut at 28), then noise.
        let data = CAPTURES[which];
        let mut bytes = data[..28.min(data.len())].to_vec();
        bytes.extend_from_slice(&rest);
        check(&bytes, strict, detail);
    }
}
