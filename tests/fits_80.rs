//! At 80 columns nothing ppctl lays out is wider than 80, and nothing is
//! broken in the middle of an address, a flag, a file name or an example:
//!
//! - every insta snapshot taken at 80 columns (tests/snapshots,
//!   src/report/snapshots) has no line over 80 display columns, except a
//!   line that holds a URL (a link must stay whole to be followed) and the
//!   per-connection line of listen and relay (one line each whatever the
//!   width, because it is grepped; its time, client and finding come first
//!   and fit in 80);
//! - `ppctl --help` and every subcommand's `--help` at COLUMNS=80: no line
//!   over 80, and every line of the examples and notes whole (snapshots);
//! - every man page in docs/man read at 80 columns (groff): no line over
//!   80, no hyphenation, every flag whole (snapshots).
//!
//! Regenerate the snapshots with `INSTA_UPDATE=always cargo test --test
//! fits_80`, and read each change.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use clap::CommandFactory;
use common::strip_ansi;
use unicode_width::UnicodeWidthStr;

const WIDTH: usize = 80;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn width(line: &str) -> usize {
    strip_ansi(line).width()
}

fn holds_url(line: &str) -> bool {
    line.contains("http://") || line.contains("https://")
}

/// A per-connection line of listen or relay: it starts with the time of
/// day (`14:02:11.123`, or the snapshots' `HH:MM:SS.mmm`).
fn is_connection_line(line: &str) -> bool {
    let plain = strip_ansi(line);
    let b = plain.as_bytes();
    let time = plain.starts_with("HH:MM:SS.mmm ")
        || (b.len() > 13
            && b[2] == b':'
            && b[5] == b':'
            && b[8] == b'.'
            && b[12] == b' '
            && [0, 1, 3, 4, 6, 7, 9, 10, 11]
                .iter()
                .all(|&i| b[i].is_ascii_digit()));
    time
}

/// The stem of a snapshot file names its width as a token: `..._80`,
/// `..._80_color`, `load-80-plain`, `help_80__send`.
fn at_80_columns(path: &Path) -> bool {
    let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
    stem.split(['_', '-', '.']).any(|t| t == "80")
}

fn snapshot_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            if p.file_name().is_some_and(|n| n != "target" && n != ".git") {
                snapshot_files(&p, out);
            }
        } else if p.extension().is_some_and(|x| x == "snap") {
            out.push(p);
        }
    }
}

/// The body of an insta snapshot: what follows its `---` header.
fn body(text: &str) -> &str {
    match text.strip_prefix("---\n") {
        Some(rest) => rest.split_once("\n---\n").map_or(rest, |(_, b)| b),
        None => text,
    }
}

#[test]
fn every_snapshot_at_80_columns_fits() {
    let mut files = Vec::new();
    snapshot_files(&root().join("tests"), &mut files);
    snapshot_files(&root().join("src"), &mut files);
    files.retain(|p| at_80_columns(p));
    files.sort();
    assert!(
        files.len() >= 40,
        "only {} snapshots at 80 columns",
        files.len()
    );
    let mut wide = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).expect("read a snapshot");
        let name = f.strip_prefix(root()).unwrap_or(f).display();
        for (n, line) in body(&text).lines().enumerate() {
            if is_connection_line(line) {
                // One line whatever the width; what matters fits first.
                let plain = strip_ansi(line);
                let finding_ends = plain
                    .find("(PP-")
                    .and_then(|at| plain[at..].find(')').map(|e| at + e + 1));
                match finding_ends {
                    Some(end) if plain[..end].width() <= WIDTH => {}
                    _ => wide.push(format!(
                        "{name}:{}: the client and the finding are not in the first {WIDTH} columns: {line}",
                        n + 1
                    )),
                }
                continue;
            }
            if width(line) > WIDTH && !holds_url(line) {
                wide.push(format!("{name}:{}: {} columns: {line}", n + 1, width(line)));
            }
        }
    }
    assert!(
        wide.is_empty(),
        "{} line(s) wider than {WIDTH} columns in snapshots taken at {WIDTH}:\n{}",
        wide.len(),
        wide.join("\n")
    );
}

/// Every command's name as `ppctl` runs it: the top level, then each
/// subcommand (`help` has no page and no help of its own).
fn commands() -> Vec<String> {
    let cli = ppctl::cli::Cli::command();
    let mut names = vec![String::new()];
    names.extend(
        cli.get_subcommands()
            .filter(|s| !s.is_hide_set())
            .map(|s| s.get_name().to_string()),
    );
    names
}

/// The examples and notes under a command's options, as written.
fn after_help(name: &str) -> String {
    let cli = ppctl::cli::Cli::command();
    let cmd = if name.is_empty() {
        &cli
    } else {
        cli.find_subcommand(name).expect("a subcommand")
    };
    cmd.get_after_help()
        .map(|t| t.to_string())
        .unwrap_or_default()
}

#[test]
fn help_at_80_columns() {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("snapshots");
    settings.set_omit_expression(true);
    let mut problems = Vec::new();
    for name in commands() {
        let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("ppctl"));
        if !name.is_empty() {
            cmd.arg(&name);
        }
        let out = cmd
            .arg("--help")
            .env("COLUMNS", WIDTH.to_string())
            .env_remove("NO_COLOR")
            .output()
            .expect("run ppctl --help");
        assert_eq!(out.status.code(), Some(0), "{name} --help");
        let help = String::from_utf8_lossy(&out.stdout).into_owned();
        let shown = if name.is_empty() { "ppctl" } else { &name };
        for line in help.lines().filter(|l| width(l) > WIDTH) {
            problems.push(format!("{shown} --help: {} columns: {line}", width(line)));
        }
        // Nothing of the examples and notes is wrapped: each line as written.
        let lines: Vec<&str> = help.lines().map(str::trim_end).collect();
        for line in after_help(&name).lines().map(str::trim_end) {
            if !line.is_empty() && !lines.contains(&line) {
                problems.push(format!(
                    "{shown} --help: not whole at {WIDTH} columns: {line}"
                ));
            }
        }
        let snapshot = format!("help_80__{}", if name.is_empty() { "ppctl" } else { &name });
        settings.bind(|| insta::assert_snapshot!(snapshot, help));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// groff, to read the man pages at 80 columns; a loud skip without it (a
/// failure in CI, where .ci/run installs groff-base).
fn groff() -> bool {
    let found = Command::new("groff").arg("--version").output().is_ok();
    if !found {
        assert!(
            std::env::var_os("PPCTL_REQUIRE_PEERS").is_none(),
            "groff is required (PPCTL_REQUIRE_PEERS is set): install groff-base"
        );
        eprintln!("SKIP: groff is not installed (groff-base): the man pages are not read");
    }
    found
}

/// The long flags a roff page names (`\-\-max\-time`).
fn flags(roff: &str) -> Vec<String> {
    let text = roff.replace("\\-", "-");
    let mut out: Vec<String> = Vec::new();
    for (at, _) in text.match_indices("--") {
        let rest = &text[at + 2..];
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect();
        let flag = format!("--{name}");
        if name.len() > 1 && !name.ends_with('-') && !out.contains(&flag) {
            out.push(flag);
        }
    }
    out
}

#[test]
fn man_pages_at_80_columns() {
    if !groff() {
        return;
    }
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("snapshots");
    settings.set_omit_expression(true);
    let mut pages: Vec<PathBuf> = std::fs::read_dir(root().join("docs/man"))
        .expect("docs/man")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "1"))
        .collect();
    pages.sort();
    assert!(pages.len() >= 10, "only {} man pages", pages.len());
    let mut problems = Vec::new();
    for page in pages {
        let name = page
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("?")
            .to_string();
        let out = Command::new("groff")
            .args(["-man", "-Tutf8", "-rLL=80n", "-P-cbou"])
            .arg(&page)
            .output()
            .expect("run groff");
        assert!(
            out.status.success(),
            "groff {name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        for line in text.lines() {
            if width(line) > WIDTH && !holds_url(line) {
                problems.push(format!("{name}(1): {} columns: {line}", width(line)));
            }
            if line.ends_with('\u{2010}') {
                problems.push(format!("{name}(1): hyphenated: {line}"));
            }
        }
        let roff = std::fs::read_to_string(&page).expect("read the page");
        for flag in flags(&roff) {
            if !text.contains(&flag) {
                problems.push(format!("{name}(1): {flag} is not whole at 80 columns"));
            }
        }
        let snapshot = format!("man_80__{name}");
        settings.bind(|| insta::assert_snapshot!(snapshot, text));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
