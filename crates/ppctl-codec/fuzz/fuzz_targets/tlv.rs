//! The TLV walker and the readable form of every value: any bytes as a TLV
//! area must walk to the end or stop at one error, with every TLV inside
//! the area, and every value must display.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ppctl_codec::tlv::{Tlvs, Value};

/// Offset a v2 TLV area starts at after an IPv4 address block.
const BASE: usize = 28;

fuzz_target!(|data: &[u8]| {
    let mut next = BASE;
    let mut failed = false;
    for item in Tlvs::new(data, BASE) {
        assert!(!failed, "the walker yields nothing after its error");
        match item {
            Ok(tlv) => {
                assert_eq!(tlv.offset, next, "TLVs are contiguous");
                let end = tlv.value_offset() + tlv.value.len();
                assert!(end <= BASE + data.len(), "TLV runs past the area");
                next = end;
                let shown = tlv.decoded().to_string();
                let _ = (tlv.name(), shown);
                // Each value also displays as any other kind (SSL sub-TLVs,
                // cloud ids): the Display of one kind must not depend on
                // the walker having checked it.
                let _ = Value::of(data.first().copied().unwrap_or(0), tlv.value).to_string();
            }
            Err(e) => {
                failed = true;
                assert!(e.offset >= next && e.offset <= BASE + data.len());
                let _ = (e.to_string(), e.kind.code(), e.kind.hint());
            }
        }
    }
    if !failed {
        assert_eq!(next, BASE + data.len(), "a clean walk covers the area");
    }
});
