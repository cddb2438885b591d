//! Decoding (and encoding) cost per header, ppctl's strict codec next to the
//! raw `ppp` crate on the same inputs. Figures: docs/performance.md.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use ppctl_codec::encode::HeaderSpec;
use ppctl_codec::{self as codec, tlv, Version};

fn inputs() -> Vec<(&'static str, Vec<u8>)> {
    let h = |s: &str| hex::decode(s).expect("hex");
    vec![
        ("v1_tcp4", b"PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n".to_vec()),
        ("v1_tcp6", b"PROXY TCP6 2001:db8::1 2001:db8::2 51234 443\r\n".to_vec()),
        ("v1_unknown", b"PROXY UNKNOWN\r\n".to_vec()),
        ("v2_tcp4", h("0d0a0d0a000d0a515549540a2111000cc0a80001c0a8000bdc0401bb")),
        ("v2_tcp6", h("0d0a0d0a000d0a515549540a2121002420010db800000000000000000000000120010db8000000000000000000000002c82201bb")),
        ("v2_tcp4_tlvs", h("0d0a0d0a000d0a515549540a21110032c0a80001c0a8000bdc0401bb010002683202000b6578616d706c652e636f6d05001000112233445566778899aabbccddeeff")),
    ]
}

fn decode(c: &mut Criterion) {
    let mut g = c.benchmark_group("decode");
    for (name, bytes) in inputs() {
        g.bench_function(format!("ppctl/{name}"), |b| {
            b.iter(|| match codec::decode(black_box(&bytes)) {
                // black_box: the whole header must be built, not only the
                // fields the closure reads.
                codec::Decoded::Complete(h) => black_box(h).len(),
                _ => 0,
            })
        });
        if name.starts_with("v1") {
            g.bench_function(format!("ppp/{name}"), |b| {
                b.iter(|| {
                    ppp::v1::Header::try_from(black_box(&bytes[..]))
                        .map(|h| black_box(h).header.len())
                        .unwrap_or(0)
                })
            });
        } else {
            // ppp does not walk TLVs while parsing; walk them so both do the
            // same work a receiver needs.
            g.bench_function(format!("ppp/{name}"), |b| {
                b.iter(|| match ppp::v2::Header::try_from(black_box(&bytes[..])) {
                    Ok(h) => {
                        let h = black_box(h);
                        h.tlvs().filter(|t| t.is_ok()).count() + h.len()
                    }
                    Err(_) => 0,
                })
            });
        }
    }
    g.finish();
}

fn encode(c: &mut Criterion) {
    let mut g = c.benchmark_group("encode");
    let src = "192.168.0.1:56324".parse().expect("addr");
    let dst = "192.168.0.11:443".parse().expect("addr");
    let v1 = HeaderSpec::tcp(Version::V1, src, dst);
    let v2 = HeaderSpec::tcp(Version::V2, src, dst)
        .with_tlv(tlv::ALPN, "h2")
        .with_tlv(tlv::AUTHORITY, "example.com");
    let mut v2crc = v2.clone();
    v2crc.crc32c = true;
    g.bench_function("ppctl/v1_tcp4", |b| {
        b.iter(|| black_box(&v1).encode().map(|v| v.len()))
    });
    g.bench_function("ppctl/v2_tcp4_tlvs", |b| {
        b.iter(|| black_box(&v2).encode().map(|v| v.len()))
    });
    g.bench_function("ppctl/v2_tcp4_tlvs_crc32c", |b| {
        b.iter(|| black_box(&v2crc).encode().map(|v| v.len()))
    });
    g.bench_function("ppp/v2_tcp4_tlvs", |b| {
        b.iter(|| {
            ppp::v2::Builder::with_addresses(
                0x21,
                ppp::v2::Protocol::Stream,
                (black_box(src), black_box(dst)),
            )
            .write_tlv(ppp::v2::Type::ALPN, b"h2")
            .and_then(|b| b.write_tlv(ppp::v2::Type::Authority, b"example.com"))
            .and_then(|b| b.build())
            .map(|v| v.len())
        })
    });
    g.finish();
}

criterion_group!(benches, decode, encode);
criterion_main!(benches);
