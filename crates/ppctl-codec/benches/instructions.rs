//! Instruction counts per decode, ppctl next to ppp, for valgrind's
//! callgrind: `bench/decode-instructions.sh` runs this once per
//! (decoder, input) with a fixed iteration count. Unlike wall time, the
//! count does not depend on what else the machine is doing.
//!
//! Usage: instructions DECODER INPUT ITERATIONS   (DECODER = ppctl | ppp | none)

use std::hint::black_box;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 4 || args.iter().any(|a| a == "--bench") {
        // `cargo bench` runs every bench target with --bench: nothing to do.
        return;
    }
    let input: Vec<u8> = match args[2].as_str() {
        "v1_tcp4" => b"PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n".to_vec(),
        "v1_tcp6" => b"PROXY TCP6 2001:db8::1 2001:db8::2 51234 443\r\n".to_vec(),
        "v1_unknown" => b"PROXY UNKNOWN\r\n".to_vec(),
        "v2_tcp4" => hex::decode("0d0a0d0a000d0a515549540a2111000cc0a80001c0a8000bdc0401bb").unwrap_or_default(),
        "v2_tcp6" => hex::decode("0d0a0d0a000d0a515549540a2121002420010db800000000000000000000000120010db8000000000000000000000002c82201bb").unwrap_or_default(),
        "v2_tcp4_tlvs" => hex::decode("0d0a0d0a000d0a515549540a21110032c0a80001c0a8000bdc0401bb010002683202000b6578616d706c652e636f6d05001000112233445566778899aabbccddeeff").unwrap_or_default(),
        other => {
            eprintln!("unknown input {other}");
            std::process::exit(2);
        }
    };
    let n: u64 = args[3].parse().unwrap_or(100_000);
    let v1 = input.starts_with(b"PROXY");
    let mut total = 0usize;
    for _ in 0..n {
        let bytes = black_box(&input[..]);
        total += match args[1].as_str() {
            "ppctl" => match ppctl_codec::decode(bytes) {
                ppctl_codec::Decoded::Complete(h) => {
                    let h = black_box(h);
                    h.len() + h.tlvs().count()
                }
                _ => 0,
            },
            "ppp" if v1 => ppp::v1::Header::try_from(bytes)
                .map(|h| black_box(h).header.len())
                .unwrap_or(0),
            "ppp" => match ppp::v2::Header::try_from(bytes) {
                Ok(h) => {
                    let h = black_box(h);
                    h.len() + h.tlvs().filter(|t| t.is_ok()).count()
                }
                Err(_) => 0,
            },
            _ => bytes.len(),
        };
    }
    println!("{total}");
}
