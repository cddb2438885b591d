//! The layering of docs/architecture.md, checked on the source: engines,
//! the judge and net never reach up into the command line, the commands or
//! the report layer, and never render (serde_json, comfy-table, colored);
//! the codec crate depends on none of the tool's crates.

use std::fs;
use std::path::{Path, PathBuf};

const BELOW_REPORT: &[&str] = &[
    "src/send",
    "src/listen",
    "src/relay",
    "src/diagnose",
    "src/repro",
    "src/pcap",
    "src/check",
    "src/conform",
    "src/monitor",
    "src/metrics",
    "src/net",
    "src/judge",
    "src/protocol",
    "src/receivers.rs",
    "src/duration.rs",
    "src/samples.rs",
];

const FORBIDDEN: &[&str] = &[
    "crate::report",
    "crate::cli",
    "crate::cmd",
    "serde_json",
    "comfy_table",
    "colored::",
    "Serialize",
];

fn rust_files(path: &Path, out: &mut Vec<PathBuf>) {
    if path.is_dir() {
        let mut entries: Vec<_> = fs::read_dir(path)
            .expect("read a source folder")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        entries.sort();
        for p in entries {
            rust_files(&p, out);
        }
    } else if path.extension().is_some_and(|e| e == "rs") {
        out.push(path.to_path_buf());
    }
}

#[test]
fn engines_never_reach_up_or_render() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in BELOW_REPORT {
        rust_files(&root.join(dir), &mut files);
    }
    assert!(files.len() > 20, "found only {} files", files.len());
    let mut hits = Vec::new();
    for f in &files {
        let text = fs::read_to_string(f).expect("read a source file");
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            for word in FORBIDDEN {
                if code.contains(word) {
                    hits.push(format!("{}:{}: {}", f.display(), n + 1, line.trim()));
                }
            }
        }
    }
    assert!(
        hits.is_empty(),
        "arrows back up the layers:\n{}",
        hits.join("\n")
    );
}

#[test]
fn the_codec_crate_stands_alone() {
    let manifest = fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/crates/ppctl-codec/Cargo.toml"
    ))
    .expect("the codec's manifest");
    let deps = manifest
        .split("[dependencies]")
        .nth(1)
        .and_then(|s| s.split("\n[").next())
        .unwrap_or("");
    for heavy in [
        "clap",
        "tokio",
        "serde",
        "rustls",
        "comfy-table",
        "colored",
        "ppctl ",
    ] {
        assert!(
            !deps.contains(heavy),
            "the codec depends on {heavy}:\n{deps}"
        );
    }
}
