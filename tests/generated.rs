//! The committed completions (completions/) and man pages (docs/man/) must
//! match what the CLI generates. Regenerate with:
//!     PPCTL_REGENERATE=1 cargo test --test generated
//! (docs/verdicts.md has its own check: cargo test --lib report::verdicts.)

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use clap_complete::Shell;
use ppctl::cmd::generate::{completion_script, man_page, man_pages};

fn regenerate() -> bool {
    std::env::var_os("PPCTL_REGENERATE").is_some()
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn check(path: &str, want: &[u8]) {
    let full = root().join(path);
    if regenerate() {
        if let Some(dir) = full.parent() {
            std::fs::create_dir_all(dir).expect("create the folder");
        }
        std::fs::write(&full, want).expect("write generated file");
        return;
    }
    let got = std::fs::read(&full).unwrap_or_default();
    assert!(
        got == want,
        "{path} is out of step with the CLI; run: PPCTL_REGENERATE=1 cargo test --test generated"
    );
}

/// The `.1` files in a folder.
fn pages_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".1"))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[test]
fn completions_are_current() {
    check("completions/ppctl.bash", &completion_script(Shell::Bash));
    check("completions/_ppctl", &completion_script(Shell::Zsh));
    check("completions/ppctl.fish", &completion_script(Shell::Fish));
}

#[test]
fn man_pages_are_current() {
    let pages = man_pages().expect("renders");
    let dir = root().join("docs/man");
    let mut want: Vec<String> = pages.iter().map(|p| p.file.clone()).collect();
    want.sort();
    if regenerate() {
        // A page for a subcommand that is gone goes too.
        for stale in pages_in(&dir).iter().filter(|n| !want.contains(n)) {
            std::fs::remove_file(dir.join(stale)).expect("remove a stale page");
        }
    }
    for page in &pages {
        check(&format!("docs/man/{}", page.file), &page.roff);
    }
    assert_eq!(
        pages_in(&dir),
        want,
        "docs/man/ holds pages the CLI does not generate (or misses some); run: \
         PPCTL_REGENERATE=1 cargo test --test generated"
    );
}

#[test]
fn every_page_the_top_page_names_exists() {
    let pages = man_pages().expect("renders");
    let top = String::from_utf8(pages[0].roff.clone()).expect("utf-8");
    assert_eq!(pages[0].file, "ppctl.1");
    assert_eq!(pages[0].roff, man_page().expect("renders"));
    for cmd in [
        "send", "listen", "probe", "repro", "pcap", "explain", "inspect",
    ] {
        let file = format!("ppctl-{cmd}.1");
        assert!(pages.iter().any(|p| p.file == file), "no {file}");
    }
    // Every `ppctl-x(1)` reference (SUBCOMMANDS and SEE ALSO) is a page.
    let mut named = 0;
    for piece in top.split("ppctl\\-").skip(1) {
        let end = piece
            .find(|c: char| !c.is_ascii_lowercase())
            .unwrap_or(piece.len());
        let (name, rest) = piece.split_at(end);
        if !(rest.starts_with("(1)") || rest.starts_with("\\fR(1)")) {
            continue;
        }
        let file = format!("ppctl-{name}.1");
        assert!(
            pages.iter().any(|p| p.file == file),
            "ppctl.1 names {file}, which is not generated"
        );
        named += 1;
    }
    assert!(named >= 2 * (pages.len() - 1), "SUBCOMMANDS and SEE ALSO");
    assert!(!top.contains("ppctl\\-help"), "there is no ppctl-help page");
}

#[test]
fn man_writes_to_stdout_anywhere_and_every_page_to_a_dir() {
    let out = tempfile::tempdir().expect("tempdir");
    // No argument: the top page on stdout, whatever the current folder.
    let stdout = Command::cargo_bin("ppctl")
        .unwrap()
        .current_dir(out.path())
        .arg("man")
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert_eq!(stdout, man_page().expect("renders"));
    assert!(pages_in(out.path()).is_empty(), "wrote files without --dir");

    let dir = out.path().join("man1");
    Command::cargo_bin("ppctl")
        .unwrap()
        .args(["man", "--dir"])
        .arg(&dir)
        .assert()
        .success();
    for page in man_pages().expect("renders") {
        let got = std::fs::read(dir.join(&page.file)).expect(&page.file);
        assert_eq!(got, page.roff, "{}", page.file);
    }
}
