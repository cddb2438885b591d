//! The committed completions (completions/) and man page (docs/ppctl.1) must
//! match what the CLI generates. Regenerate with:
//!     PPCTL_REGENERATE=1 cargo test --test generated

use std::path::Path;

use clap_complete::Shell;
use ppctl::cmd::generate::{completion_script, man_page};

fn check(path: &str, want: &[u8]) {
    let full = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    if std::env::var_os("PPCTL_REGENERATE").is_some() {
        std::fs::write(&full, want).expect("write generated file");
        return;
    }
    let got = std::fs::read(&full).unwrap_or_default();
    assert!(
        got == want,
        "{path} is out of step with the CLI; run: PPCTL_REGENERATE=1 cargo test --test generated"
    );
}

#[test]
fn completions_are_current() {
    check("completions/ppctl.bash", &completion_script(Shell::Bash));
    check("completions/_ppctl", &completion_script(Shell::Zsh));
    check("completions/ppctl.fish", &completion_script(Shell::Fish));
}

#[test]
fn man_page_is_current() {
    check("docs/ppctl.1", &man_page().expect("renders"));
}
