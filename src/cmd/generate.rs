//! Shell completions and the man page, generated from the same clap
//! definition as `--help`, so they can't drift (tests check the committed
//! copies in completions/ and docs/).

use std::path::PathBuf;

use clap::CommandFactory;
use clap_complete::Shell;

use crate::cli::Cli;
use crate::error::{Error, ExitCode, Result};

#[derive(Debug, clap::Args)]
pub struct CompletionsArgs {
    /// The shell: bash, zsh, fish, elvish or powershell.
    #[arg(value_enum)]
    pub shell: Shell,
}

#[derive(Debug, clap::Args)]
pub struct ManArgs {
    /// Where to write the roff page; `-` for stdout.
    #[arg(long, short, default_value = "docs/ppctl.1")]
    pub output: PathBuf,
}

/// The completion script for `shell`.
pub fn completion_script(shell: Shell) -> Vec<u8> {
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "ppctl", &mut out);
    out
}

/// The man page (roff).
pub fn man_page() -> Result<Vec<u8>> {
    let mut out = Vec::new();
    clap_mangen::Man::new(Cli::command())
        .render(&mut out)
        .map_err(|e| Error::io("rendering the man page", e))?;
    Ok(out)
}

pub fn completions(args: &CompletionsArgs) -> Result<ExitCode> {
    let script = completion_script(args.shell);
    super::print(&String::from_utf8_lossy(&script))?;
    Ok(ExitCode::Success)
}

pub fn man(args: &ManArgs) -> Result<ExitCode> {
    let page = man_page()?;
    if args.output.as_os_str() == "-" {
        super::print(&String::from_utf8_lossy(&page))?;
    } else {
        std::fs::write(&args.output, page)
            .map_err(|e| Error::io(format!("writing {}", args.output.display()), e))?;
        eprintln!("wrote {}", args.output.display());
    }
    Ok(ExitCode::Success)
}
