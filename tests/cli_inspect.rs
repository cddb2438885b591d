//! `ppctl inspect` driven through the built binary: output, JSON, exit
//! codes, input forms, color policy.

use assert_cmd::Command;
use predicates::prelude::*;

fn ppctl() -> Command {
    Command::cargo_bin("ppctl").expect("binary built")
}

const V2_TLVS: &str = "0d0a0d0a000d0a515549540a21110032c0a80001c0a8000bdc0401bb010002683202000b6578616d706c652e636f6d05001000112233445566778899aabbccddeeff";

#[test]
fn valid_v1_table_and_exit_0() {
    ppctl()
        .args([
            "inspect",
            r"PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "VALID v1 PROXY TCP4 header (47 bytes)",
        ))
        .stdout(predicate::str::contains("192.168.0.1:56324"))
        .stdout(predicate::str::contains(
            "After the header: HTTP GET / Host: x",
        ))
        .stdout(predicate::str::contains("signature \"PROXY \""))
        .stdout(predicate::str::contains("\u{1b}[").not());
}

#[test]
fn v2_tlvs_named_and_decoded() {
    ppctl()
        .args(["inspect", V2_TLVS])
        .assert()
        .success()
        .stdout(predicate::str::contains("ALPN"))
        .stdout(predicate::str::contains("example.com"))
        .stdout(predicate::str::contains("UNIQUE_ID"))
        .stdout(predicate::str::contains(
            "TLV AUTHORITY (0x02): example.com",
        ));
}

#[test]
fn hex_with_spaces_and_0x() {
    ppctl()
        .args([
            "inspect",
            "0x0d 0x0a 0x0d 0x0a 00 0d 0a 51 55 49 54 0a 20 00 00 00",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "VALID v2 LOCAL UNSPEC header (16 bytes)",
        ));
}

#[test]
fn json_follows_the_schema() {
    let out = ppctl()
        .args(["inspect", "--json", V2_TLVS])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let j: serde_json::Value = serde_json::from_slice(&out).expect("valid JSON");
    assert_eq!(j["schema"], 1);
    assert_eq!(j["verdict"], "valid");
    assert_eq!(j["version"], 2);
    assert_eq!(j["command"], "PROXY");
    assert_eq!(j["protocol"], "TCP4");
    assert_eq!(j["source"]["address"], "192.168.0.1");
    assert_eq!(j["source"]["port"], 56324);
    assert_eq!(j["destination"]["port"], 443);
    assert_eq!(j["length"], 66);
    assert_eq!(j["tlvs"][0]["type"], 1);
    assert_eq!(j["tlvs"][0]["name"], "ALPN");
    assert_eq!(j["tlvs"][0]["value"], "6832");
    assert_eq!(j["tlvs"][0]["decoded"], "h2");
    assert!(j["warnings"].as_array().expect("array").is_empty());
    assert!(j["error"].is_null());
    assert!(j["payload"].is_null());
    assert_eq!(j["receivers"].as_array().expect("array").len(), 3);
}

#[test]
fn invalid_gives_offset_rule_hint_and_exit_1() {
    ppctl()
        .args(["inspect", r"PROXY TCP4 1.2.3.4 5.6.7.8 +80 443\r\n"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "INVALID at byte 27: source port has a sign",
        ))
        .stdout(predicate::str::contains("§2.1"))
        .stdout(predicate::str::contains("fix:"));
    let out = ppctl()
        .args([
            "inspect",
            "--json",
            r"PROXY TCP4 1.2.3.4 5.6.7.8 +80 443\r\n",
        ])
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let j: serde_json::Value = serde_json::from_slice(&out).expect("valid JSON");
    assert_eq!(j["verdict"], "invalid");
    assert_eq!(j["error"]["kind"], "v1-port-sign");
    assert_eq!(j["error"]["offset"], 27);
}

#[test]
fn incomplete_and_not_a_header_exit_1() {
    ppctl()
        .args(["inspect", "PROXY TCP4 1.2.3.4"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("INCOMPLETE"));
    ppctl()
        .args(["inspect", "--eof", "PROXY TCP4 1.2.3.4"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("header ends early"));
    ppctl()
        .args(["inspect", r"GET / HTTP/1.1\r\nHost: shop.example\r\n\r\n"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "NOT A PROXY HEADER: looks like HTTP GET / Host: shop.example",
        ))
        .stdout(predicate::str::contains(
            "broken header: \"GET / HTTP/1.1\"",
        ));
}

#[test]
fn stdin_raw_bytes() {
    ppctl()
        .args(["inspect", "-"])
        .write_stdin(
            b"\r\n\r\n\0\r\nQUIT\n\x21\x11\x00\x0c\x7f\x00\x00\x01\x7f\x00\x00\x01\x00\x50\x01\xbb"
                .to_vec(),
        )
        .assert()
        .success()
        .stdout(predicate::str::contains("127.0.0.1:80"));
    // No argument and a pipe on stdin: read it.
    ppctl()
        .arg("inspect")
        .write_stdin("PROXY UNKNOWN\r\n")
        .assert()
        .success();
}

#[test]
fn file_input_raw_and_hex() {
    let dir = tempfile::tempdir().expect("tempdir");
    let raw = dir.path().join("h.bin");
    std::fs::write(&raw, b"PROXY UNKNOWN\r\n").expect("write");
    ppctl()
        .args(["inspect", "--file"])
        .arg(&raw)
        .assert()
        .success();
    let hexf = dir.path().join("h.hex");
    std::fs::write(&hexf, "0d0a0d0a000d0a515549540a20000000\n").expect("write");
    ppctl()
        .args(["inspect", "--file"])
        .arg(&hexf)
        .assert()
        .success()
        .stdout(predicate::str::contains("LOCAL"));
    ppctl()
        .args(["inspect", "--encoding", "raw", "--file"])
        .arg(&hexf)
        .assert()
        .code(1);
}

#[test]
fn usage_and_io_errors_exit_2() {
    ppctl()
        .args(["inspect", "--encoding", "hex", "0g"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "invalid hex digit 'g' at character 1",
        ));
    ppctl()
        .args(["inspect", "--file", "/nonexistent/x.bin"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("opening /nonexistent/x.bin"));
    ppctl()
        .args(["inspect", "--sample", "nope"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("try one of"));
    ppctl().args(["inspect", "--bogus"]).assert().code(2);
}

#[test]
fn color_policy() {
    ppctl()
        .args(["--color", "always", "inspect", "--sample", "v1"])
        .assert()
        .success()
        .stdout(predicate::str::contains("\u{1b}["));
    ppctl()
        .args(["--color", "never", "inspect", "--sample", "v1"])
        .assert()
        .success()
        .stdout(predicate::str::contains("\u{1b}[").not());
    // auto: stdout is a pipe here, so plain, whatever NO_COLOR says.
    ppctl()
        .args(["inspect", "--sample", "v1"])
        .env("NO_COLOR", "1")
        .assert()
        .success()
        .stdout(predicate::str::contains("\u{1b}[").not());
}

#[test]
fn samples_all_work() {
    for (name, _, _) in ppctl::samples::SAMPLES {
        let code = ppctl()
            .args(["inspect", "--sample", name])
            .assert()
            .get_output()
            .status
            .code();
        assert!(
            matches!(code, Some(0) | Some(1)),
            "sample {name} exited {code:?}"
        );
    }
}

#[test]
fn nonsense_never_panics() {
    let inputs: [&[u8]; 8] = [
        b"",
        b"\x00\x00\x00",
        b"PROXY",
        b"\r\n\r\n\x00\r\nQUIT\n\x2f\xff\xff\xff",
        b"\r\n\r\n\x00\r\nQUIT\n\x21\x31\x00\x00",
        b"\x16\x03\x01\x00\x05\x01\x00\x00\x01\x00",
        b"PROXY TCP6 ::::::::::::::::::::: 1 2\r\n",
        &[0xff; 2000],
    ];
    for input in inputs {
        let out = ppctl()
            .args(["inspect", "-"])
            .write_stdin(input.to_vec())
            .assert()
            .get_output()
            .clone();
        assert_eq!(out.status.code(), Some(1), "input {:?}", hex::encode(input));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains("panicked"), "{err}");
    }
}
