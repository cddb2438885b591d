//! `ppctl inspect` driven through the built binary: output, JSON, exit
//! codes, input forms, color policy.

mod common;

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
        .env("COLUMNS", "120")
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
    assert_eq!(j["type"], "inspect");
    assert_eq!(j["schema"], 3);
    assert_eq!(j["verdict"], "valid");
    assert_eq!(j["input"]["format"], "hex");
    assert_eq!(j["input"]["header_offset"], 0);
    assert!(j["finding"].is_null());
    assert_eq!(j["receivers"][0]["receiver"], "nginx");
    assert_eq!(j["receivers"][0]["outcome"], "accept");
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

/// Zero bytes are the spec's `incomplete` (a receiver that has read
/// nothing waits for more), as the peers' own tests say (ppp,
/// proxy-protocol); never a usage error.
#[test]
fn empty_input_is_incomplete() {
    let out = ppctl()
        .args(["inspect", "-", "--json"])
        .write_stdin("")
        .assert()
        .code(1)
        .get_output()
        .clone();
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(j["verdict"], "incomplete");
}

/// The v1 sample line, as each tool prints it.
const V1_LINE: &str = "PROXY TCP4 192.168.0.1 192.168.0.11 56324 443";

fn inspect_json(args: &[&str], stdin: Option<&str>) -> serde_json::Value {
    let mut cmd = ppctl();
    cmd.arg("inspect").args(args).arg("--json");
    if let Some(s) = stdin {
        cmd.write_stdin(s.to_string());
    }
    let out = cmd.assert().get_output().stdout.clone();
    serde_json::from_slice(&out).expect("valid JSON")
}

#[test]
fn pasted_dumps_are_recognised() {
    let dumps = [
        (
            "tcpdump",
            "12:00:00.000000 IP 127.0.0.1.40000 > 127.0.0.1.80: Flags [P.], length 47
\t0x0000:  5052 4f58 5920 5443 5034 2031 3932 2e31  PROXY.TCP4.192.1
\t0x0010:  3638 2e30 2e31 2031 3932 2e31 3638 2e30  68.0.1.192.168.0
\t0x0020:  2e31 3120 3536 3332 3420 3434 330d 0a    .11.56324.443..
",
        ),
        (
            "tshark",
            "0000  50 52 4f 58 59 20 54 43 50 34 20 31 39 32 2e 31   PROXY TCP4 192.1
0010  36 38 2e 30 2e 31 20 31 39 32 2e 31 36 38 2e 30   68.0.1 192.168.0
0020  2e 31 31 20 35 36 33 32 34 20 34 34 33 0d 0a      .11 56324 443..
",
        ),
        (
            "xxd",
            "00000000: 5052 4f58 5920 5443 5034 2031 3932 2e31  PROXY TCP4 192.1
00000010: 3638 2e30 2e31 2031 3932 2e31 3638 2e30  68.0.1 192.168.0
00000020: 2e31 3120 3536 3332 3420 3434 330d 0a    .11 56324 443..
",
        ),
        (
            "hexdump-c",
            "00000000  50 52 4f 58 59 20 54 43  50 34 20 31 39 32 2e 31  |PROXY TCP4 192.1|
00000010  36 38 2e 30 2e 31 20 31  39 32 2e 31 36 38 2e 30  |68.0.1 192.168.0|
00000020  2e 31 31 20 35 36 33 32  34 20 34 34 33 0d 0a     |.11 56324 443..|
0000002f
",
        ),
        (
            "python-bytes",
            "b'PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\\r\\n'",
        ),
        (
            "base64",
            "UFJPWFkgVENQNCAxOTIuMTY4LjAuMSAxOTIuMTY4LjAuMTEgNTYzMjQgNDQzDQo=",
        ),
    ];
    for (format, text) in dumps {
        // From stdin and as an argument.
        for j in [
            inspect_json(&["-"], Some(text)),
            inspect_json(&[text], None),
        ] {
            assert_eq!(j["verdict"], "valid", "{format}: {j}");
            assert_eq!(j["input"]["format"], format, "{format}");
            assert_eq!(j["source"]["port"], 56324, "{format}");
        }
    }
    // The human view says which form was read.
    ppctl()
        .args(["inspect", "-"])
        .write_stdin(dumps[2].1)
        .assert()
        .success()
        .stdout(predicate::str::contains("input: an xxd dump (47 bytes)"));
}

#[test]
fn base64_from_a_go_json_log_and_forced() {
    let line = r#"{"level":"warn","msg":"bad header","header":"DQoNCgANClFVSVQKIAAAAA=="}"#;
    let j = inspect_json(&[line], None);
    assert_eq!(j["verdict"], "valid");
    assert_eq!(j["command"], "LOCAL");
    assert_eq!(j["input"]["format"], "base64");
    let j = inspect_json(&["--encoding", "base64", "DQoNCgANClFVSVQKIAAAAA"], None);
    assert_eq!(j["verdict"], "valid");
    ppctl()
        .args(["inspect", "--encoding", "base64", "DQo*"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("invalid base64 at character 3"));
}

#[test]
fn odd_length_hex_is_an_error_with_its_position() {
    ppctl()
        .args(["inspect", "0d 0a 0 0d"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "odd number of hex digits (7): the digit at character 6",
        ));
}

#[test]
fn header_inside_a_whole_frame_is_found() {
    // Ethernet + IPv4 + TCP headers (54 bytes of zeros and lengths), then
    // the v2 LOCAL header.
    let mut frame = "00".repeat(12) + "0800" + "45000044" + &"00".repeat(36);
    frame.push_str("0d0a0d0a000d0a515549540a20000000");
    let j = inspect_json(&[&frame], None);
    assert_eq!(j["verdict"], "valid", "{j}");
    assert_eq!(j["input"]["header_offset"], 54);
    assert_eq!(j["input"]["length"], 70);
    ppctl()
        .args(["inspect", &frame])
        .env("COLUMNS", "200")
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "the PROXY header starts at byte 54",
        ));
}

#[test]
fn v1_line_without_crlf_gets_a_hint() {
    ppctl()
        .args(["inspect", V1_LINE])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("at least 2 more bytes needed"))
        .stdout(predicate::str::contains("hint: the v1 line has no CRLF"));
    let j = inspect_json(&["--eof", V1_LINE], None);
    assert_eq!(j["error"]["kind"], "truncated");
    assert!(j["error"]["hint"]
        .as_str()
        .unwrap_or("")
        .contains("no CRLF"));
    assert_eq!(j["finding"]["name"], "invalid-header");
}

#[test]
fn fits_80_columns_and_aligns_with_colour() {
    for sample in ["v1", "v2", "aws-nlb", "broken"] {
        let out = ppctl()
            .args(["--color", "always", "inspect", "--sample", sample])
            .env("COLUMNS", "80")
            .assert()
            .get_output()
            .stdout
            .clone();
        let text = String::from_utf8_lossy(&out);
        let plain = common::strip_ansi(&text);
        for line in plain.lines() {
            assert!(
                unicode_width::UnicodeWidthStr::width(line) <= 80,
                "{sample}: {line:?}"
            );
        }
        // Every line of a table has the same width.
        let mut widths = Vec::new();
        for line in plain.lines() {
            if line.starts_with(['┌', '│', '├', '╞', '└']) {
                widths.push(unicode_width::UnicodeWidthStr::width(line));
            } else if !widths.is_empty() {
                assert!(
                    widths.iter().all(|w| *w == widths[0]),
                    "{sample}: {widths:?}"
                );
                widths.clear();
            }
        }
    }
}

/// A paste over inspect's 1 MiB cap is read up to its last whole unit, in
/// every form: a valid header at its start stays valid (a Python literal
/// cut open, hex cut mid-byte, base64 mid-group, xxd mid-line), and the
/// output says only the start was read.
#[test]
fn a_paste_over_the_cap_is_cut_cleanly() {
    let header = b"PROXY TCP4 192.0.2.1 192.0.2.2 1000 80\r\n";
    // Varied payload bytes, so every escape form appears in the literal.
    let payload: Vec<u8> = (0..1_200_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let bytes = [header.as_slice(), &payload].concat();
    let python = format!(
        "b'{}'",
        bytes
            .iter()
            .map(|&b| match b {
                b'\r' => "\\r".to_string(),
                b'\n' => "\\n".to_string(),
                b'\\' => "\\\\".to_string(),
                b'\'' => "\\'".to_string(),
                0x20..=0x7e => (b as char).to_string(),
                b => format!("\\x{b:02x}"),
            })
            .collect::<String>()
    );
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let spaced: String = bytes.iter().map(|b| format!("{b:02x} ")).collect();
    let mut forms = vec![
        ("python-bytes", python.into_bytes()),
        ("hex", hex.into_bytes()),
        ("hex", spaced.into_bytes()),
    ];
    for (format, tool, args) in [
        ("base64", "base64", &[][..]),
        ("xxd", "xxd", &[][..]),
        ("hexdump-c", "hexdump", &["-C"][..]),
    ] {
        let mut child = match std::process::Command::new(tool)
            .args(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
        {
            Ok(c) => c,
            Err(e) => {
                eprintln!("SKIP: {tool}: {e}");
                continue;
            }
        };
        let mut stdin = child.stdin.take().expect("piped stdin");
        let input = bytes.clone();
        let writer = std::thread::spawn(move || {
            use std::io::Write;
            let _ = stdin.write_all(&input);
        });
        let out = child.wait_with_output().expect("run the dump tool");
        writer.join().expect("writer");
        forms.push((format, out.stdout));
    }
    for (format, text) in forms {
        assert!(text.len() > 1 << 20, "{format}: only {} bytes", text.len());
        let out = ppctl()
            .args(["inspect", "-", "--json"])
            .write_stdin(text)
            .output()
            .expect("run ppctl inspect");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{format}: {err}");
        let r: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
        assert_eq!(r["verdict"], "valid", "{format}");
        assert_eq!(r["input"]["format"], format);
        assert_eq!(r["input"]["cut_at"], 1 << 20, "{format}");
        let length = r["input"]["length"].as_u64().expect("a length") as usize;
        assert!(length > header.len() && length < bytes.len(), "{format}");
    }
    // The human view says so.
    ppctl()
        .args(["inspect", "-", "--color", "never"])
        .env("COLUMNS", "200")
        .write_stdin(vec![b'0'; (1 << 20) + 2])
        .assert()
        .stdout(predicate::str::contains(
            "from the first 1 MiB of the input; the rest was not read",
        ));
}

#[test]
fn an_input_that_names_a_file_or_a_pipe_is_read_as_one() {
    // `/dev/stdin` here is a pipe, as bash's `<(...)` is: not a regular
    // file, and still no text to decode as its own path.
    ppctl()
        .args(["inspect", "/dev/stdin", "--color", "never"])
        .write_stdin("PROXY TCP4 1.2.3.4 5.6.7.8 1000 80\r\n")
        .assert()
        .success()
        .stdout(predicate::str::contains("input: raw bytes (36 bytes)"))
        .stdout(predicate::str::contains("VALID v1 PROXY TCP4 header"));
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("header.bin");
    std::fs::write(&path, b"PROXY UNKNOWN\r\n").expect("write");
    ppctl()
        .args(["inspect", path.to_str().expect("utf-8"), "--json"])
        .assert()
        .success()
        .stdout(predicate::str::contains("\"UNKNOWN\""));
    ppctl()
        .args(["inspect", dir.path().to_str().expect("utf-8")])
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::str::contains("is a directory"));
}
