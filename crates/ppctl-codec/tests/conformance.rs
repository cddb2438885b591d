//! What the conformance round (peer test suites run through `inspect`)
//! showed, pinned: UNSPEC headers that carry an address block, messages
//! that name the exact fault, and `needed` as a true minimum. The bytes are
//! built here by the spec's rules.

use ppctl_codec::{decode, AddressFault, Decoded, Endpoint, ErrorKind, Warning};

/// A v2 header: ver/cmd byte, family byte, then the body (len follows it).
fn v2(cmd: u8, fam: u8, body: &[u8]) -> Vec<u8> {
    let mut out = ppctl_codec::V2_SIGNATURE.to_vec();
    out.extend_from_slice(&[cmd, fam]);
    out.extend_from_slice(&(body.len() as u16).to_be_bytes());
    out.extend_from_slice(body);
    out
}

/// 10.1.2.3:4000 -> 10.9.8.7:443 as an IPv4 address block.
const BLOCK: [u8; 12] = [10, 1, 2, 3, 10, 9, 8, 7, 0x0f, 0xa0, 0x01, 0xbb];

fn invalid(bytes: &[u8]) -> ErrorKind {
    match decode(bytes) {
        Decoded::Invalid(e) => e.kind,
        other => panic!("{:?}: {other:?}", String::from_utf8_lossy(bytes)),
    }
}

fn message(bytes: &[u8]) -> String {
    invalid(bytes).to_string()
}

#[test]
fn local_unspec_with_an_address_block_is_valid_and_the_block_discarded() {
    for fam in [0x00, 0x01, 0x02] {
        let h = v2(0x20, fam, &BLOCK);
        let Decoded::Complete(d) = decode(&h) else {
            panic!("{fam:#04x}: {:?}", decode(&h))
        };
        assert_eq!(d.len(), 28);
        assert_eq!(d.source(), None);
        assert_eq!(d.tlvs().count(), 0);
        assert!(d.warnings.contains(Warning::UnspecBlockDiscarded));
        assert!(Warning::UnspecBlockDiscarded
            .message()
            .contains("HAProxy 3.0 and later"));
    }
}

#[test]
fn proxy_unspec_with_an_address_block_is_valid_with_both_warnings() {
    let h = v2(0x21, 0x00, &BLOCK);
    let Decoded::Complete(d) = decode(&h) else {
        panic!("{:?}", decode(&h))
    };
    assert!(d.warnings.contains(Warning::ProxyWithUnspec));
    assert!(d.warnings.contains(Warning::UnspecBlockDiscarded));
}

#[test]
fn unspec_with_clean_tlvs_keeps_them() {
    // LOCAL + UNSPEC + a NOOP TLV: TLVs, not a block to discard.
    let h = v2(0x20, 0x00, &[0x04, 0x00, 0x02, 0, 0]);
    let Decoded::Complete(d) = decode(&h) else {
        panic!()
    };
    assert_eq!(d.tlvs().count(), 1);
    assert!(!d.warnings.contains(Warning::UnspecBlockDiscarded));
}

#[test]
fn v1_address_names_the_fault() {
    use AddressFault::*;
    let cases: [(&str, AddressFault); 12] = [
        ("PROXY TCP4 01.2.3.4 5.6.7.8 1 2\r\n", LeadingZero(1)),
        ("PROXY TCP4 1.2.3.256 5.6.7.8 1 2\r\n", OctetOver255(4)),
        ("PROXY TCP4 1.2.3 5.6.7.8 1 2\r\n", OctetCount(3)),
        ("PROXY TCP4 1..3.4 5.6.7.8 1 2\r\n", EmptyOctet(2)),
        ("PROXY TCP4 1.2.3.4:80 5.6.7.8 1 2\r\n", PortInAddress),
        ("PROXY TCP4 1.2.3.a 5.6.7.8 1 2\r\n", BadChar(b'a')),
        ("PROXY TCP6 1::2::3 ::1 1 2\r\n", TwoDoubleColons),
        ("PROXY TCP6 [::1] ::1 1 2\r\n", Brackets),
        ("PROXY TCP6 12345::1 ::1 1 2\r\n", GroupTooLong(1)),
        ("PROXY TCP6 1.2.3.04 ::1 1 2\r\n", Ipv4UnderTcp6),
        ("PROXY TCP6 1:2:3:4:5:6:7 ::1 1 2\r\n", GroupCount(7)),
        ("PROXY TCP6 ::1 ::ffff:1.2.3.999 1 2\r\n", OctetOver255(4)),
    ];
    for (line, fault) in cases {
        let kind = invalid(line.as_bytes());
        let which = if line.contains(" ::1 1 2") || line.contains("5.6.7.8") {
            Endpoint::Source
        } else {
            Endpoint::Destination
        };
        assert_eq!(kind, ErrorKind::V1Address(which, fault), "{line:?}");
        assert_eq!(kind.code(), "v1-address");
        assert!(kind.to_string().contains(&fault.to_string()), "{kind}");
    }
    assert!(message(b"PROXY TCP4 01.2.3.4 5.6.7.8 1 2\r\n").contains("octet 1 has a leading zero"));
    assert!(message(b"PROXY TCP6 1::2::3 ::1 1 2\r\n").contains("two \"::\""));
    // Valid IPv4 under TCP6 keeps its own code.
    assert_eq!(
        invalid(b"PROXY TCP6 1.2.3.4 ::1 1 2\r\n").code(),
        "v1-family-mismatch"
    );
}

#[test]
fn v1_without_crlf_needs_the_true_minimum() {
    let needed = |s: &str| match decode(s.as_bytes()) {
        Decoded::Incomplete { needed } => needed,
        other => panic!("{s:?}: {other:?}"),
    };
    assert_eq!(needed("PROXY TCP4 1.2.3.4 5.6.7.8 1000 80"), 2);
    assert_eq!(needed("PROXY TCP4 1.2.3.4 5.6.7.8 1000 80\r"), 1);
    // " 0.0.0.0 0 0\r\n"
    assert_eq!(needed("PROXY TCP4 1.2.3.4"), 14);
    // ".0 0.0.0.0 0 0\r\n"
    assert_eq!(needed("PROXY TCP4 1.2.3"), 16);
    // "::" + " :: 0 0\r\n"
    assert_eq!(needed("PROXY TCP6 "), 11);
    assert_eq!(needed("PROXY UNKNOWN"), 2);
    assert_eq!(needed("PROXY"), 10);
    // "6 :: :: 0 0\r\n" (TCP6 is the shortest way on)
    assert_eq!(needed("PROXY TCP"), 13);
    // Every prefix of a valid line: needed never overshoots what is left.
    for line in [
        &b"PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n"[..],
        b"PROXY TCP6 2001:db8::1 ::ffff:10.0.0.1 1 65535\r\n",
        b"PROXY UNKNOWN\r\n",
    ] {
        for cut in 0..line.len() {
            if let Decoded::Incomplete { needed } = decode(&line[..cut]) {
                assert!(needed <= line.len() - cut, "{cut}: {needed}");
                assert!(needed >= 1);
            }
        }
    }
}

#[test]
fn trailing_space_is_not_an_extra_field() {
    let e = match decode(b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n") {
        Decoded::Invalid(e) => e,
        other => panic!("{other:?}"),
    };
    assert_eq!(e.kind, ErrorKind::V1TrailingSpace);
    assert_eq!(e.offset, 30);
    assert_eq!(e.code(), "v1-trailing-space");
    // Cut before the CRLF: the same verdict.
    assert_eq!(
        decode(b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2 "),
        Decoded::Invalid(e)
    );
    // A real extra field stays one.
    assert_eq!(
        invalid(b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n"),
        ErrorKind::V1ExtraField
    );
}

#[test]
fn ssl_sub_tlv_errors_give_byte_counts() {
    // SSL TLV: client, verify, then a sub-TLV SSL_VERSION declaring 2 bytes
    // with 1 present.
    let mut body = BLOCK.to_vec();
    body.extend_from_slice(&[0x20, 0x00, 0x09, 0x01, 0, 0, 0, 0, 0x21, 0x00, 0x02, b'T']);
    let kind = invalid(&v2(0x21, 0x11, &body));
    assert_eq!(
        kind,
        ErrorKind::SslSubTlvOverrun {
            sub_type: 0x21,
            declared: 2,
            available: 1
        }
    );
    assert_eq!(kind.code(), "ssl-sub-tlv");
    assert!(
        kind.to_string()
            .contains("declares 2 bytes but only 1 remain"),
        "{kind}"
    );
    // Two stray bytes after the fixed part.
    let mut body = BLOCK.to_vec();
    body.extend_from_slice(&[0x20, 0x00, 0x07, 0x01, 0, 0, 0, 0, 0x21, 0x00]);
    let kind = invalid(&v2(0x21, 0x11, &body));
    assert_eq!(kind, ErrorKind::SslSubTlvTruncated { left: 2 });
    assert!(kind.to_string().starts_with("2 bytes left over"), "{kind}");
}

#[test]
fn one_byte_is_singular() {
    let mut body = BLOCK.to_vec();
    body.extend_from_slice(&[0x01, 0x00, 0x01]);
    let text = message(&v2(0x21, 0x11, &body));
    assert!(text.contains("declares 1 byte but"), "{text}");
    let mut body = BLOCK.to_vec();
    body.push(0x01);
    let text = message(&v2(0x21, 0x11, &body));
    assert!(text.starts_with("1 byte left over"), "{text}");
    let t = ErrorKind::Truncated { needed: 1 }.to_string();
    assert!(t.contains("1 more byte was"), "{t}");
}

#[test]
fn zero_padding_is_not_a_duplicate_tlv() {
    let mut body = BLOCK.to_vec();
    body.extend_from_slice(&[0u8; 30]);
    let h = v2(0x21, 0x11, &body);
    let Decoded::Complete(d) = decode(&h) else {
        panic!()
    };
    assert!(!d.warnings.contains(Warning::DuplicateTlv));
    // Two ALPN TLVs still are.
    let mut body = BLOCK.to_vec();
    body.extend_from_slice(&[0x01, 0x00, 0x02, b'h', b'2', 0x01, 0x00, 0x02, b'h', b'2']);
    let h = v2(0x21, 0x11, &body);
    let Decoded::Complete(d) = decode(&h) else {
        panic!()
    };
    assert!(d.warnings.contains(Warning::DuplicateTlv));
}
