//! Shell completions and the man pages, generated from the same clap
//! definition as `--help`, so they can't drift (tests/generated.rs checks
//! the committed copies in completions/ and docs/man/).

use std::path::{Path, PathBuf};

use clap::CommandFactory;
use clap_complete::Shell;
use clap_mangen::roff::{bold, roman, Roff};

use crate::cli::Cli;
use crate::error::{Error, ExitCode, Result};

#[derive(Debug, clap::Args)]
#[command(after_help = concat!("\
Examples:
  ppctl completions bash > /etc/bash_completion.d/ppctl
  ppctl completions zsh > \"${fpath[1]}/_ppctl\"
  ppctl completions fish > ~/.config/fish/completions/ppctl.fish

", super::exit_rule!(), "
completions judges nothing: 0 once the script is written, 2 when it cannot
be."))]
pub(crate) struct CompletionsArgs {
    /// The shell: bash, zsh, fish, elvish or powershell.
    #[arg(value_enum)]
    pub shell: Shell,
}

#[derive(Debug, clap::Args)]
#[command(after_help = concat!("\
Examples:
  ppctl man | man -l -
  ppctl man --dir /usr/local/share/man/man1
  ppctl man --dir docs/man

", super::exit_rule!(), "
man judges nothing: 0 once the pages are written, 2 when they cannot be."))]
pub(crate) struct ManArgs {
    /// Write ppctl.1 and one page per subcommand (ppctl-send.1, ppctl-listen.1, ...)
    /// into DIR, creating it if needed. Without --dir, the top page (ppctl.1) goes to
    /// stdout.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

/// The completion script for `shell`.
pub fn completion_script(shell: Shell) -> Vec<u8> {
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "ppctl", &mut out);
    out
}

/// One man page: its file name (`ppctl-send.1`) and its roff source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManPage {
    pub file: String,
    pub roff: Vec<u8>,
}

/// The CLI as the man pages show it: no `help` subcommand (it has no page;
/// `--help` is listed on every page).
fn man_command() -> clap::Command {
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    cmd
}

/// The top page (ppctl.1): every option, every subcommand with its
/// one-line summary, the exit codes, and SEE ALSO the subcommands' pages.
pub fn man_page() -> Result<Vec<u8>> {
    let cmd = man_command();
    let subpages: Vec<String> = subcommands(&cmd)
        .map(|s| page_name(&cmd, s.get_name()))
        .collect();
    render(&cmd, &subpages)
}

/// Every page: ppctl.1 first, then one per subcommand (ppctl-send.1, ...),
/// in `--help` order. Each subcommand page points back to ppctl(1).
pub fn man_pages() -> Result<Vec<ManPage>> {
    let cmd = man_command();
    let top = cmd.get_name().to_string();
    let mut pages = vec![ManPage {
        file: format!("{top}.1"),
        roff: man_page()?,
    }];
    for sub in subcommands(&cmd) {
        let name = page_name(&cmd, sub.get_name());
        pages.push(ManPage {
            file: format!("{name}.1"),
            roff: render(sub, std::slice::from_ref(&top))?,
        });
    }
    Ok(pages)
}

fn subcommands(cmd: &clap::Command) -> impl Iterator<Item = &clap::Command> {
    cmd.get_subcommands().filter(|s| !s.is_hide_set())
}

/// `ppctl-send`: the page name clap_mangen gives a subcommand (and lists
/// in the top page's SUBCOMMANDS section).
fn page_name(cmd: &clap::Command, sub: &str) -> String {
    format!("{}-{sub}", cmd.get_name())
}

/// A page, then a SEE ALSO section naming `see_also` (pages in section 1).
fn render(cmd: &clap::Command, see_also: &[String]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    // Every page's footer names the package, not the subcommand.
    clap_mangen::Man::new(cmd.clone())
        .source(format!("ppctl {}", env!("CARGO_PKG_VERSION")))
        .render(&mut out)
        .map_err(|e| Error::io("rendering the man page", e))?;
    // clap_mangen heads the after-help text "EXTRA": name it for what it
    // holds.
    let after = cmd
        .get_after_long_help()
        .or_else(|| cmd.get_after_help())
        .map(|t| t.to_string())
        .unwrap_or_default();
    let heading = match (after.contains("Examples:"), after.contains("\nExit codes")) {
        (true, true) => ".SH \"EXAMPLES AND EXIT STATUS\"\n",
        (true, false) => ".SH EXAMPLES\n",
        (false, true) => ".SH \"EXIT STATUS\"\n",
        (false, false) => ".SH NOTES\n",
    };
    // No hyphenation and no stretched spaces: a flag, an address or a file
    // name is never broken at the end of a line (roff would write
    // `--connec-` and `tions`), and a paragraph reads as --help does.
    let mut page =
        String::from_utf8_lossy(&out).replacen("\n.SH NAME\n", "\n.nh\n.ad l\n.SH NAME\n", 1);
    // The examples and notes as --help shows them, line for line (laid out
    // for 80 columns, so from the left margin): an example is never
    // refilled or wrapped.
    if let Some(at) = page.find(".SH EXTRA\n") {
        let body = at + ".SH EXTRA\n".len();
        let end = page[body..]
            .find("\n.SH ")
            .map_or(page.len(), |e| body + e + 1);
        page.insert_str(end, ".fi\n");
        page.insert_str(body, ".nf\n.in 0\n");
        page.replace_range(at..body, heading);
    }
    let mut out = page.into_bytes();
    if !see_also.is_empty() {
        let mut roff = Roff::new();
        roff.control("SH", ["SEE ALSO"]);
        let last = see_also.len() - 1;
        let mut line = Vec::new();
        for (i, page) in see_also.iter().enumerate() {
            line.push(bold(page.as_str()));
            line.push(roman(if i == last { "(1)" } else { "(1), " }));
        }
        roff.text(line);
        // Every roff document starts with the same preamble; the page
        // already has it.
        let preamble = Roff::new().render();
        let section = roff.render();
        out.extend_from_slice(
            section
                .strip_prefix(&preamble)
                .unwrap_or(&section)
                .as_bytes(),
        );
    }
    Ok(out)
}

pub(crate) fn completions(args: &CompletionsArgs) -> Result<ExitCode> {
    let script = completion_script(args.shell);
    super::print(&String::from_utf8_lossy(&script))?;
    Ok(ExitCode::Success)
}

pub(crate) fn man(args: &ManArgs) -> Result<ExitCode> {
    match &args.dir {
        None => super::print(&String::from_utf8_lossy(&man_page()?))?,
        Some(dir) => {
            let pages = man_pages()?;
            write_pages(dir, &pages)?;
            eprintln!("wrote {} man pages to {}", pages.len(), dir.display());
        }
    }
    Ok(ExitCode::Success)
}

fn write_pages(dir: &Path, pages: &[ManPage]) -> Result<()> {
    std::fs::create_dir_all(dir)
        .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
    for page in pages {
        let path = dir.join(&page.file);
        std::fs::write(&path, &page.roff)
            .map_err(|e| Error::io(format!("writing {}", path.display()), e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `ppctl --help` and ppctl(1) list only commands that exist.
    #[test]
    fn the_summary_names_real_subcommands() {
        let cli = Cli::command();
        let about = cli.get_about().map(|a| a.to_string()).unwrap_or_default();
        let (_, list) = about.rsplit_once(": ").expect("a list after the colon");
        for name in list.split(", ") {
            assert!(
                cli.get_subcommands().any(|s| s.get_name() == name),
                "{name} in `{about}` is not a subcommand"
            );
        }
    }

    /// check's one-line summary names every kind it reads.
    #[test]
    fn check_s_summary_names_every_kind() {
        let cli = Cli::command();
        let check = cli.find_subcommand("check").expect("check");
        let about = check
            .get_about()
            .map(|a| a.to_string().to_lowercase())
            .unwrap_or_default();
        for kind in crate::check::Kind::ALL {
            assert!(about.contains(kind.name()), "{}: {about}", kind.name());
        }
    }

    /// The README says which commands have no --json; no other lacks it.
    #[test]
    fn every_command_but_two_has_json() {
        let cli = Cli::command();
        let without: Vec<&str> = cli
            .get_subcommands()
            .filter(|s| !s.get_arguments().any(|a| a.get_id() == "json"))
            .map(|s| s.get_name())
            .collect();
        assert_eq!(without, ["completions", "man"]);
        let readme = include_str!("../../README.md");
        let flat = readme.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(flat.contains("Every command but `completions` and `man` has `--json`"));
    }

    /// docs/verdicts.md's "reported by" column names subcommands that exist.
    #[test]
    fn findings_are_reported_by_real_subcommands() {
        let cli = Cli::command();
        for by in crate::judge::Reporter::ALL {
            assert!(
                cli.get_subcommands().any(|s| s.get_name() == by.name()),
                "{by:?} is not a subcommand"
            );
        }
    }
}
