//! Property tests for the codec: what the encoder builds decodes back to
//! itself; any bytes decode without panicking; feeding bytes in any split
//! gives the same result as feeding them at once; size rules hold.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use ppctl_codec::encode::{promote, Endpoints, HeaderSpec};
use ppctl_codec::{self as codec, corrupt, tlv, Addresses, Command, Decoded, Transport, Version};
use proptest::prelude::*;

fn addr() -> impl Strategy<Value = SocketAddr> {
    prop_oneof![
        (any::<u32>(), any::<u16>())
            .prop_map(|(ip, p)| SocketAddr::new(IpAddr::V4(Ipv4Addr::from(ip)), p)),
        (any::<u128>(), any::<u16>())
            .prop_map(|(ip, p)| SocketAddr::new(IpAddr::V6(Ipv6Addr::from(ip)), p)),
    ]
}

/// A TLV that passes the per-type rules (UNIQUE_ID <= 128, AUTHORITY UTF-8,
/// SSL with a well-formed fixed part; CRC32C comes from the `crc32c` flag).
fn tlv_item() -> impl Strategy<Value = (u8, Vec<u8>)> {
    prop_oneof![
        (
            any::<u8>().prop_filter("special types", |k| ![
                tlv::CRC32C,
                tlv::UNIQUE_ID,
                tlv::AUTHORITY,
                tlv::SSL
            ]
            .contains(k)),
            proptest::collection::vec(any::<u8>(), 0..40)
        ),
        "[a-z0-9.-]{0,40}".prop_map(|s| (tlv::AUTHORITY, s.into_bytes())),
        proptest::collection::vec(any::<u8>(), 0..=128).prop_map(|v| (tlv::UNIQUE_ID, v)),
        ("[A-Za-z0-9.]{1,12}", 0u8..8).prop_map(|(v, c)| (
            tlv::SSL,
            ppctl_codec::encode::ssl_value(c, 0, &[(tlv::SSL_VERSION, v.as_bytes())])
        )),
    ]
}

fn spec() -> impl Strategy<Value = HeaderSpec> {
    let v1 = prop_oneof![
        (addr(), addr()).prop_map(|(s, d)| HeaderSpec::tcp(Version::V1, s, d)),
        Just(HeaderSpec {
            endpoints: Endpoints::Unknown,
            ..HeaderSpec::tcp(
                Version::V1,
                "1.1.1.1:1".parse().unwrap(),
                "1.1.1.1:1".parse().unwrap()
            )
        }),
    ];
    let endpoints = prop_oneof![
        (addr(), addr()).prop_map(|(src, dst)| Endpoints::Inet { src, dst }),
        ("[a-z/]{1,100}", "@?[a-z/]{1,100}").prop_map(|(src, dst)| Endpoints::Unix { src, dst }),
        Just(Endpoints::Unknown),
    ];
    let v2 = (
        endpoints,
        any::<bool>(),
        any::<bool>(),
        proptest::collection::vec(tlv_item(), 0..6),
        any::<bool>(),
    )
        .prop_map(|(endpoints, local, dgram, tlvs, crc32c)| HeaderSpec {
            version: Version::V2,
            command: if local {
                Command::Local
            } else {
                Command::Proxy
            },
            transport: if dgram {
                Transport::Dgram
            } else {
                Transport::Stream
            },
            endpoints,
            tlvs,
            crc32c,
        });
    prop_oneof![v1, v2]
}

fn decode_complete(bytes: &[u8]) -> ppctl_codec::Header<'_> {
    match codec::decode(bytes) {
        Decoded::Complete(h) => h,
        other => panic!("not complete: {other:?} for {}", hex::encode(bytes)),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn encode_then_decode_round_trips(s in spec()) {
        let bytes = s.encode().expect("valid spec encodes");
        let h = decode_complete(&bytes);
        prop_assert_eq!(h.len(), bytes.len());
        prop_assert_eq!(h.version, s.version);
        prop_assert_eq!(h.command, s.command);
        match (&s.endpoints, h.addresses) {
            (Endpoints::Inet { src, dst }, Addresses::Inet { src: hs, dst: hd }) => {
                let (ps, pd) = promote(*src, *dst);
                prop_assert_eq!((ps, pd), (hs, hd));
            }
            (Endpoints::Unix { src, dst }, Addresses::Unix { src: hs, dst: hd }) => {
                let show = |raw| codec::unix_path(raw).map(|(a, p)| if a { format!("@{p}") } else { p.to_string() });
                prop_assert_eq!(show(hs), Some(src.clone()));
                prop_assert_eq!(show(hd), Some(dst.clone()));
            }
            (Endpoints::Unknown, Addresses::None) => {}
            (e, a) => prop_assert!(false, "endpoints {:?} came back as {:?}", e, a),
        }
        let got: Vec<(u8, Vec<u8>)> = h.tlvs().filter(|t| t.kind != tlv::CRC32C).map(|t| (t.kind, t.value.to_vec())).collect();
        prop_assert_eq!(got, s.tlvs.clone());
        prop_assert_eq!(h.crc32c.is_some(), s.crc32c);
        match s.version {
            Version::V1 => prop_assert!(bytes.len() <= codec::V1_MAX_LEN),
            Version::V2 => prop_assert_eq!(usize::from(h.length_field().unwrap()), bytes.len() - 16),
        }
    }

    #[test]
    fn any_bytes_decode_without_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = codec::decode(&bytes);
        let _ = codec::decode_final(&bytes);
    }

    #[test]
    fn bytes_after_a_signature_decode_without_panic(v2 in any::<bool>(), tail in proptest::collection::vec(any::<u8>(), 0..300)) {
        let mut bytes = if v2 { codec::V2_SIGNATURE.to_vec() } else { b"PROXY ".to_vec() };
        bytes.extend_from_slice(&tail);
        let _ = codec::decode(&bytes);
        let _ = codec::decode_final(&bytes);
    }

    #[test]
    fn any_split_gives_the_same_result(s in spec(), fault in 0usize..13, cuts in proptest::collection::vec(0usize..300, 0..6), tail in proptest::collection::vec(any::<u8>(), 0..20)) {
        let mut bytes = s.encode().expect("encodes");
        // Sometimes break the header, so invalid inputs are split too.
        let kinds = [corrupt::Corruption::Signature, corrupt::Corruption::Version, corrupt::Corruption::Command,
            corrupt::Corruption::Family, corrupt::Corruption::LengthShort, corrupt::Corruption::Crc,
            corrupt::Corruption::TlvOverrun, corrupt::Corruption::V1LeadingZero, corrupt::Corruption::V1LfOnly];
        if let Some(k) = kinds.get(fault) {
            if let Ok(b) = corrupt::corrupt(&bytes, *k) { bytes = b; }
        }
        bytes.extend_from_slice(&tail);
        // What the bytes look like (for not-a-header) may sharpen as more
        // arrive; the verdict may not.
        let key = |d: Decoded<'_>| match d {
            Decoded::NotProxy(_) => "NotProxy".to_string(),
            d => format!("{d:?}"),
        };
        let whole = key(codec::decode(&bytes));
        let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(bytes.len())).collect();
        cuts.sort_unstable();
        cuts.push(bytes.len());
        let mut result = None;
        for c in cuts {
            match codec::decode(&bytes[..c]) {
                Decoded::Incomplete { .. } if c < bytes.len() => continue,
                d => { result = Some(key(d)); break; }
            }
        }
        // A streaming receiver stops at the first decision; it must be the same.
        let streamed = result.expect("decided");
        prop_assert_eq!(streamed, whole);
    }

    #[test]
    fn v1_lines_never_exceed_107_bytes(src in addr(), dst in addr()) {
        let b = HeaderSpec::tcp(Version::V1, src, dst).encode().expect("encodes");
        prop_assert!(b.len() <= codec::V1_MAX_LEN);
    }
}
