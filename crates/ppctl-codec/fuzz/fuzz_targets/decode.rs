//! The header decoder (v1 and v2) fed like a stream: the input is cut at
//! points the fuzzer chooses and decoded after each chunk, as `listen` does.
//!
//! Checks: no panic; while the decoder says `Incomplete { needed }`, fewer
//! than `needed` more bytes never complete a header (they may still prove
//! it invalid: a signature can break before its end); the streamed decision is
//! the one decoding the whole buffer at once gives; `decode_final` never
//! says `Incomplete`; a complete header decodes the same from its own bytes
//! and, when the encoder can build it, re-encodes to a header that decodes
//! to the same addresses and TLVs.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ppctl_codec::encode::{Endpoints, HeaderSpec};
use ppctl_codec::{
    decode, decode_final, tlv, Addresses, Command, Decoded, Header, Warning, Warnings,
};

fuzz_target!(|data: &[u8]| {
    // First byte: how many cut points; then that many cut sizes; the rest
    // is the stream.
    let (cuts, stream) = match data.split_first() {
        Some((&n, rest)) => {
            let n = (n as usize % 16).min(rest.len());
            (&rest[..n], &rest[n..])
        }
        None => (&[][..], data),
    };
    let whole = decode(stream);
    check_streamed(cuts, stream, &whole);
    let fin = decode_final(stream);
    assert!(!matches!(fin, Decoded::Incomplete { .. }));
    match (&whole, &fin) {
        (Decoded::Incomplete { .. }, _) => {}
        (w, f) => assert_eq!(w, f, "decode_final differs from decode"),
    }
    if let Decoded::Complete(h) = whole {
        check_complete(&h, stream);
    }
});

fn check_streamed(cuts: &[u8], stream: &[u8], whole: &Decoded<'_>) {
    let mut have = 0usize;
    let mut promised = 0usize; // no complete header before this length
    let mut cut = cuts.iter();
    loop {
        let step = cut.next().map_or(stream.len(), |&c| c as usize + 1);
        have = (have + step).min(stream.len());
        let now = decode(&stream[..have]);
        match now {
            Decoded::Incomplete { needed } => {
                assert!(needed >= 1);
                promised = have + needed;
                if have == stream.len() {
                    assert!(matches!(whole, Decoded::Incomplete { .. }));
                    return;
                }
            }
            decided => {
                if matches!(decided, Decoded::Complete(_)) {
                    assert!(
                        have >= promised,
                        "complete at {have} bytes after promising to need {promised}"
                    );
                }
                same_decision(&decided, whole);
                return;
            }
        }
    }
}

/// The decision on a prefix must be the decision on the whole buffer.
/// Sniffing (what non-PROXY bytes look like) may sharpen with more bytes,
/// so for `NotProxy` only the verdict must agree. A v1 line with several
/// faults may be reported at a different one (the whole line is checked
/// for bad bytes before its fields; a prefix stops at the first bad
/// field), so for `Invalid` only the verdict must agree too
/// (docs/fuzzing.md).
fn same_decision(streamed: &Decoded<'_>, whole: &Decoded<'_>) {
    match (streamed, whole) {
        (Decoded::NotProxy(_), Decoded::NotProxy(_)) => {}
        (Decoded::Invalid(_), Decoded::Invalid(_)) => {}
        (Decoded::Complete(a), Decoded::Complete(b)) => assert_eq!(own(a), own(b)),
        (a, b) => assert_eq!(a, b, "streamed decision differs from decoding at once"),
    }
}

/// A header without the one warning that looks past its end
/// (`stacked-header`: the next bytes start another header), which depends
/// on how much of the stream had arrived.
fn own<'a>(h: &Header<'a>) -> Header<'a> {
    let mut warnings = Warnings::default();
    for w in Warning::ALL {
        if w != Warning::StackedHeader && h.warnings.contains(w) {
            warnings.insert(w);
        }
    }
    Header { warnings, ..*h }
}

fn check_complete(h: &Header<'_>, stream: &[u8]) {
    assert!(!h.raw.is_empty() && h.raw.len() <= stream.len());
    assert_eq!(h.raw, &stream[..h.len()]);
    match decode(h.raw) {
        Decoded::Complete(again) => {
            assert_eq!(own(&again), own(h), "a header decodes the same alone")
        }
        other => panic!("a header's own bytes decode to {other:?}"),
    }
    if let Some(len) = h.length_field() {
        assert_eq!(16 + len as usize, h.len());
    } else {
        assert!(h.len() <= 107, "v1 header longer than 107 bytes");
    }
    let _ = (h.protocol_name(), h.source(), h.destination());
    for t in h.tlvs() {
        let _ = t.decoded().to_string();
    }
    reencode(h);
}

/// Build the same header with the encoder and decode it back.
fn reencode(h: &Header<'_>) {
    let endpoints = match h.addresses {
        Addresses::Inet { src, dst } => Endpoints::Inet { src, dst },
        Addresses::None => Endpoints::Unknown,
        Addresses::Unix { .. } => return,
    };
    if h.command != Command::Proxy {
        return;
    }
    let tlvs: Vec<(u8, Vec<u8>)> = h
        .tlvs()
        .filter(|t| t.kind != tlv::CRC32C)
        .map(|t| (t.kind, t.value.to_vec()))
        .collect();
    let spec = HeaderSpec {
        version: h.version,
        command: h.command,
        transport: h.transport,
        endpoints,
        tlvs,
        crc32c: h.crc32c.is_some(),
    };
    let Ok(bytes) = spec.encode() else { return };
    match decode(&bytes) {
        Decoded::Complete(b) => {
            assert_eq!(b.len(), bytes.len());
            assert_eq!(b.version, h.version);
            assert_eq!(b.addresses, h.addresses, "re-encoded addresses differ");
            let kinds = |x: &Header<'_>| -> Vec<(u8, Vec<u8>)> {
                x.tlvs()
                    .filter(|t| t.kind != tlv::CRC32C)
                    .map(|t| (t.kind, t.value.to_vec()))
                    .collect()
            };
            assert_eq!(kinds(&b), kinds(h), "re-encoded TLVs differ");
        }
        other => panic!("the encoder built {bytes:02x?}, which decodes to {other:?}"),
    }
}
