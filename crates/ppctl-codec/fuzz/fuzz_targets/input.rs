//! The `inspect` input parser: hex (with separators) and escaped text, from
//! an argument or from file bytes, with every encoding.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ppctl_codec::input::{from_argument, from_bytes, parse_hex, Encoding};

const ENCODINGS: [Encoding; 4] = [Encoding::Auto, Encoding::Hex, Encoding::Text, Encoding::Raw];

fuzz_target!(|data: &[u8]| {
    for enc in ENCODINGS {
        let bytes = from_bytes(data.to_vec(), enc);
        if enc == Encoding::Raw {
            assert_eq!(bytes.as_deref(), Ok(data));
        }
        if let Ok(s) = std::str::from_utf8(data) {
            let arg = from_argument(s, enc);
            if let (Encoding::Hex, Ok(b)) = (enc, &arg) {
                // Hex output round-trips through plain hex.
                assert_eq!(parse_hex(&hex_of(b)).as_ref(), Ok(b));
            }
            if let Err(e) = arg {
                let _ = e.to_string();
            }
        }
        if let Err(e) = bytes {
            let _ = e.to_string();
        }
    }
});

fn hex_of(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x} ")).collect()
}
