//! Every vector in crates/ppctl-codec/tests/data/vectors.json (the shared spec vectors plus our
//! own, built by the same rules): verdict, decoded fields, error offsets.
//! Also: every strict prefix of a valid header is incomplete.

use ppctl::codec::{self, Decoded};
use ppctl::report::json::HeaderJson;
use serde_json::Value;

fn check(failures: &mut Vec<String>, name: &str, field: &str, got: Value, want: &Value) {
    if &got != want {
        failures.push(format!("{name}: {field}: want {want}, got {got}"));
    }
}

fn vectors() -> Vec<Value> {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/crates/ppctl-codec/tests/data/vectors.json"
    ))
    .expect("crates/ppctl-codec/tests/data/vectors.json");
    serde_json::from_str::<Value>(&text)
        .expect("valid JSON")
        .as_array()
        .cloned()
        .expect("an array")
}

fn bytes(v: &Value) -> Vec<u8> {
    hex::decode(v["hex"].as_str().expect("hex")).expect("hex decodes")
}

#[test]
fn every_vector_decodes_as_expected() {
    let mut failures = Vec::new();
    let all = vectors();
    assert!(
        all.len() >= 60,
        "expected the full vector set, got {}",
        all.len()
    );
    for v in &all {
        let name = v["name"].as_str().unwrap_or("?");
        let input = bytes(v);
        let d = codec::decode(&input);
        let got = serde_json::to_value(HeaderJson::new(&d, &input)).expect("serializes");
        let exp = &v["expect"];
        check(
            &mut failures,
            name,
            "verdict",
            got["verdict"].clone(),
            &exp["verdict"],
        );
        for field in ["version", "command", "protocol", "crc32c", "length"] {
            if !exp[field].is_null() {
                check(&mut failures, name, field, got[field].clone(), &exp[field]);
            }
        }
        for field in ["source", "destination"] {
            if let Some(want) = exp[field].as_str() {
                let shown = match &d {
                    Decoded::Complete(_) => {
                        let j = HeaderJson::new(&d, &input);
                        let e = if field == "source" {
                            j.source
                        } else {
                            j.destination
                        };
                        e.map(|e| e.to_string()).unwrap_or_default()
                    }
                    _ => String::new(),
                };
                check(
                    &mut failures,
                    name,
                    field,
                    Value::from(shown),
                    &Value::from(want),
                );
            }
        }
        if let Some(code) = exp["error"].as_str() {
            check(
                &mut failures,
                name,
                "error.kind",
                got["error"]["kind"].clone(),
                &Value::from(code),
            );
            check(
                &mut failures,
                name,
                "error.offset",
                got["error"]["offset"].clone(),
                &exp["offset"],
            );
        }
        if let Some(kind) = exp["looks_like"].as_str() {
            check(
                &mut failures,
                name,
                "looks_like",
                got["looks_like"]["kind"].clone(),
                &Value::from(kind),
            );
        }
        if let Some(warns) = exp["warnings"].as_array() {
            let codes: Vec<Value> = got["warnings"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|w| w["code"].clone())
                .collect();
            for w in warns {
                if !codes.contains(w) {
                    failures.push(format!("{name}: warning {w} missing (got {codes:?})"));
                }
            }
        }
        if let Some(tlvs) = exp["tlvs"].as_array() {
            let got_tlvs = got["tlvs"].as_array().cloned().unwrap_or_default();
            if got_tlvs.len() != tlvs.len() {
                failures.push(format!(
                    "{name}: want {} TLVs, got {}",
                    tlvs.len(),
                    got_tlvs.len()
                ));
            }
            for (w, g) in tlvs.iter().zip(&got_tlvs) {
                check(&mut failures, name, "tlv.name", g["name"].clone(), &w[0]);
                if !w[1].is_null() {
                    check(
                        &mut failures,
                        name,
                        "tlv.decoded",
                        g["decoded"].clone(),
                        &w[1],
                    );
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} mismatch(es):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn every_strict_prefix_of_a_valid_header_is_incomplete() {
    for v in vectors() {
        let input = bytes(&v);
        let Decoded::Complete(h) = codec::decode(&input) else {
            continue;
        };
        for cut in 0..h.len() {
            match codec::decode(&input[..cut]) {
                Decoded::Incomplete { needed } => {
                    assert!(needed >= 1, "{}: needed 0 at {cut}", v["name"])
                }
                other => panic!("{}: prefix of {cut} bytes gave {other:?}", v["name"]),
            }
        }
    }
}

#[test]
fn invalid_vectors_stay_invalid_when_more_bytes_arrive() {
    for v in vectors() {
        let mut input = bytes(&v);
        if let Decoded::Invalid(e) = codec::decode(&input) {
            input.extend_from_slice(b"\r\nGET / HTTP/1.1\r\n\r\n");
            match codec::decode(&input) {
                Decoded::Invalid(e2) => assert_eq!(e, e2, "{}", v["name"]),
                other => panic!("{}: became {other:?}", v["name"]),
            }
        }
    }
}

#[test]
fn decode_final_turns_incomplete_into_truncated() {
    let d = codec::decode_final(b"PROXY TCP4 1.2.3.4");
    match d {
        Decoded::Invalid(e) => assert_eq!(e.code(), "truncated"),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        codec::decode_final(b""),
        Decoded::NotProxy(ppctl::sniff::Sniffed::Empty)
    ));
}
