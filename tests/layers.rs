//! The layering of docs/architecture.md, checked on the source: engines,
//! the server core, the judge and net never reach up into the command
//! line, the commands or the report layer, and never render (serde_json,
//! comfy-table, colored); an engine uses another engine only where the
//! architecture says so (and nothing but listen's command uses listen);
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
    "src/server",
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

/// Who may use whom below the commands: each module and the modules of the
/// crate it may name (`crate::NAME`), besides the codec (`codec`, `sniff`,
/// `input`), `error`, `duration` and `JSON_SCHEMA`, which everything may
/// use. The
/// engines' base is the judge, the protocols, net and the server core; an
/// engine uses another engine only where docs/architecture.md says so.
const MAY_USE: &[(&str, &[&str])] = &[
    ("src/send", &["judge", "protocol", "net"]),
    ("src/listen", &["judge", "protocol", "server"]),
    // The header sent upstream is built by send's HeaderPlan.
    ("src/relay", &["judge", "protocol", "net", "server", "send"]),
    ("src/diagnose", &["judge", "protocol", "net"]),
    // The senders are send's exchanges; the receivers the server's stand-ins.
    ("src/repro", &["judge", "protocol", "net", "server", "send"]),
    ("src/pcap", &["judge", "protocol", "server"]),
    // --probe runs probe's engine.
    ("src/check", &["judge", "protocol", "net", "diagnose"]),
    // Sends with send's plans; --mode auto runs probe's engine.
    (
        "src/conform",
        &["judge", "protocol", "net", "server", "send", "diagnose"],
    ),
    // probe --watch and --serve run probe's engine; modules are YAML,
    // read with check's one YAML reader.
    (
        "src/monitor",
        &["judge", "protocol", "net", "diagnose", "check"],
    ),
    ("src/metrics", &[]),
    ("src/receivers.rs", &["judge"]),
    ("src/samples.rs", &[]),
    // The protocol stand-ins speak with protocol::standin's words.
    ("src/server", &["judge", "net", "protocol"]),
    // A protocol's client side is a net::Script.
    ("src/protocol", &["judge", "net"]),
    // A client's exchange is named from net's Transcript; a fix is chosen for
    // the protocol spoken.
    ("src/judge", &["net", "protocol"]),
    ("src/net", &[]),
];

/// Names the whole crate may use.
const EVERYONE: &[&str] = &[
    "codec",
    "sniff",
    "input",
    "error",
    "duration",
    "JSON_SCHEMA",
];

/// The crate's top-level modules a line of code names (comments left
/// out): `crate::NAME`, and `super::…::NAME` when the `super`s climb to
/// the crate's root from a module `depth` levels down (`src/relay/conn.rs`
/// is 2, `src/relay/mod.rs` and `src/receivers.rs` are 1), so that
/// `use super::super::listen` is caught as well as `crate::listen`.
fn crate_paths(line: &str, depth: usize) -> Vec<&str> {
    let code = line.split("//").next().unwrap_or("");
    let ident_end = |rest: &str| {
        rest.find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(rest.len())
    };
    let mut names: Vec<&str> = code
        .match_indices("crate::")
        .filter(|(i, _)| !code[..*i].ends_with('$'))
        .map(|(i, _)| {
            let rest = &code[i + "crate::".len()..];
            &rest[..ident_end(rest)]
        })
        .collect();
    let mut at = 0;
    while let Some(i) = code[at..].find("super::") {
        let start = at + i;
        let before = code[..start].chars().next_back();
        let mut rest = &code[start..];
        let mut climbs = 0;
        while let Some(r) = rest.strip_prefix("super::") {
            climbs += 1;
            rest = r;
        }
        at = code.len() - rest.len();
        let word_start = !before.is_some_and(|c| c.is_alphanumeric() || c == '_');
        if word_start && climbs == depth {
            names.push(&rest[..ident_end(rest)]);
        }
    }
    names
}

/// How deep in the module tree each line of `file` is (`rel`, relative to
/// the crate's root): the file's own depth, plus one from an inline
/// `mod NAME {` on (in practice a file's `mod tests`, which ends it).
fn depths(rel: &Path, text: &str) -> Vec<usize> {
    let parts: Vec<_> = rel.strip_prefix("src").unwrap_or(rel).iter().collect();
    let own = if rel.file_name().is_some_and(|n| n == "mod.rs") {
        parts.len() - 1
    } else {
        parts.len()
    };
    let mut depth = own;
    text.lines()
        .map(|line| {
            let at = depth;
            let code = line.trim_start().trim_start_matches("pub(crate) ");
            if code.starts_with("mod ") && code.trim_end().ends_with('{') {
                depth += 1;
            }
            at
        })
        .collect()
}

#[test]
fn engines_use_only_what_the_architecture_allows() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut hits = Vec::new();
    for (module, allowed) in MAY_USE {
        let mut files = Vec::new();
        rust_files(&root.join(module), &mut files);
        assert!(!files.is_empty(), "{module} has no source");
        let own = module.trim_start_matches("src/").trim_end_matches(".rs");
        for f in &files {
            let text = fs::read_to_string(f).expect("read a source file");
            let rel = f.strip_prefix(root).unwrap_or(f);
            for ((n, line), depth) in text.lines().enumerate().zip(depths(rel, &text)) {
                for name in crate_paths(line, depth) {
                    let fine = name.is_empty()
                        || name == own
                        || EVERYONE.contains(&name)
                        || allowed.contains(&name);
                    if !fine || line.contains("crate::{") {
                        hits.push(format!("{}:{}: {}", f.display(), n + 1, line.trim()));
                    }
                }
            }
        }
    }
    assert!(
        hits.is_empty(),
        "arrows the architecture does not allow (docs/architecture.md):\n{}",
        hits.join("\n")
    );
}

#[test]
fn nothing_but_listen_s_command_uses_listen() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    let mut hits = Vec::new();
    for f in &files {
        let rel = f.strip_prefix(root).unwrap_or(f);
        if rel.starts_with("src/listen") || rel == Path::new("src/cmd/listen.rs") {
            continue;
        }
        let text = fs::read_to_string(f).expect("read a source file");
        for ((n, line), depth) in text.lines().enumerate().zip(depths(rel, &text)) {
            if crate_paths(line, depth).contains(&"listen") {
                hits.push(format!("{}:{}: {}", rel.display(), n + 1, line.trim()));
            }
        }
    }
    assert!(
        hits.is_empty(),
        "listen used from outside:\n{}",
        hits.join("\n")
    );
}

/// The arrows docs/architecture.md names as gone stay out of `MAY_USE`:
/// relay and repro build on the server core, not on listen; net judges
/// nothing (the judge reads net's `Transcript`, never the other way).
#[test]
fn the_retired_arrows_stay_retired() {
    for (from, to) in [
        ("src/relay", "listen"),
        ("src/repro", "listen"),
        ("src/net", "judge"),
        ("src/server", "listen"),
        ("src/net", "protocol"),
        ("src/net", "server"),
    ] {
        let (_, allowed) = MAY_USE
            .iter()
            .find(|(m, _)| *m == from)
            .expect("the module is in MAY_USE");
        assert!(!allowed.contains(&to), "{from} may use {to} again");
    }
}

/// The checker sees through `super::`: a path that climbs to the root is
/// a crate path, one that stays inside the module is not.
#[test]
fn super_paths_that_reach_the_root_count() {
    assert_eq!(crate_paths("use super::super::listen::X;", 2), ["listen"]);
    assert_eq!(crate_paths("use super::listen::X;", 1), ["listen"]);
    assert!(crate_paths("use super::conn::Conn;", 2).is_empty());
    assert_eq!(
        crate_paths("use crate::judge::{self, Finding};", 3),
        ["judge"]
    );
    assert!(crate_paths("let s = my_super::x; // super::super::cmd", 2).is_empty());
    let text = "use super::x;\n#[cfg(test)]\nmod tests {\n    use super::super::y;\n}\n";
    assert_eq!(depths(Path::new("src/a/b.rs"), text), [2, 2, 2, 3, 3]);
    assert_eq!(depths(Path::new("src/a/mod.rs"), "x"), [1]);
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
