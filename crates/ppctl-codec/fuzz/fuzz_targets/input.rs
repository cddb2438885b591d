//! The `inspect` input parser: hex (with separators), hex dumps, base64,
//! Python literals and escaped text, from an argument or from file bytes,
//! with every encoding; and the header search inside a frame.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ppctl_codec::input::{
    from_argument, from_bytes, header_offset, parse_hex, read_argument, v1_without_crlf,
    Encoding, Format,
};

const ENCODINGS: [Encoding; 5] = Encoding::ALL;

fuzz_target!(|data: &[u8]| {
    if let Some(at) = header_offset(data) {
        assert!(at > 0 && at < data.len());
    }
    let _ = v1_without_crlf(data);
    for enc in ENCODINGS {
        let bytes = from_bytes(data.to_vec(), enc);
        if enc == Encoding::Raw {
            assert_eq!(bytes.as_deref(), Ok(data));
        }
        if let Ok(s) = std::str::from_utf8(data) {
            if let Ok(p) = read_argument(s, enc) {
                // The format read agrees with the encoding asked for.
                match enc {
                    Encoding::Raw => assert_eq!(p.format, Format::Raw),
                    Encoding::Text => assert_eq!(p.format, Format::Text),
                    Encoding::Base64 => assert_eq!(p.format, Format::Base64),
                    _ => {}
                }
            }
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
