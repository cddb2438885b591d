//! The command line, in one place (clap derive). Each subcommand's options
//! live next to its code in `cmd::*`; this file ties them together.

use clap::{Parser, Subcommand};

use crate::cmd;
use crate::error::ExitCode;

use crate::report::{ColorChoice, Style};

pub(crate) const EXIT_CODES: &str = concat!(
    "\
Every verdict is a finding with one name and code (unexpected-header,
PP-UNEXPECTED-HEADER), the same in every command and in JSON; docs/verdicts.md
lists them all with their fixes. `ppctl <command> --help` shows examples.

",
    crate::cmd::exit_rule!(),
    "
Each command's --help says what it judges."
);

/// A toolkit for the PROXY protocol (v1 text, v2 binary): send crafted
/// headers, stand up a receiver, decode bytes and captures, and explain why
/// a sender and a receiver disagree.
#[derive(Debug, Parser)]
#[command(name = "ppctl", version, about, after_help = EXIT_CODES, max_term_width = 100)]
pub struct Cli {
    /// When to use color: auto (a terminal, and NO_COLOR unset), always, never.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, global = true)]
    pub(crate) color: ColorChoice,

    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Decode and explain bytes: is this a valid PROXY header, and what would receivers do?
    Inspect(crate::cmd::inspect::InspectArgs),
    /// Explain a pasted log line or error message: which system, what it means, the fix.
    Explain(crate::cmd::explain::ExplainArgs),
    /// Find out what an endpoint expects: no header, v1, v2, or either (spoofable).
    Probe(crate::cmd::probe::ProbeArgs),
    /// Stand up a receiver that shows exactly what arrived (like nginx with or without proxy_protocol).
    Listen(crate::cmd::listen::ListenArgs),
    /// Reproduce the sender/receiver mismatch (the 400 Bad Request) on loopback, and explain each cell.
    Repro(crate::cmd::repro::ReproArgs),
    /// Send a crafted PROXY header (and a payload) to a receiver, and explain its reply.
    Send(Box<crate::cmd::send::SendArgs>),
    /// Find every PROXY header in a capture, pair it with the server's answer, and give a verdict per flow.
    Pcap(crate::cmd::pcap::PcapArgs),
    /// Grade a live receiver against the spec: framing, rejection, trust and deadlines (h2spec for PROXY).
    Conform(Box<crate::cmd::conform::ConformArgs>),
    /// Read every hop's configuration (nginx, HAProxy, Kubernetes, Helm values, Traefik, Envoy, Caddy, Postfix, Dovecot, MariaDB) and find the PROXY mismatch before the rollout.
    Check(crate::cmd::check::CheckArgs),
    /// Relay TCP to an upstream, adding, translating or stripping the PROXY header, and show each connection.
    Relay(Box<crate::cmd::relay::RelayArgs>),
    /// Print shell completions to stdout.
    Completions(crate::cmd::generate::CompletionsArgs),
    /// Write the man pages: the top page to stdout, or every page into --dir.
    Man(crate::cmd::generate::ManArgs),
}

impl Cli {
    /// Parse the process's arguments. `--help`, `help` and `--version` are
    /// results like any other: written to stdout through the one sink, so a
    /// failed write (`ppctl --help >/dev/full`) is exit 2 with the lines
    /// lost, never a silent 0. Usage errors go to stderr, exit 2, as clap
    /// prints them.
    pub fn parse_or_exit_code() -> Result<Cli, ExitCode> {
        let e = match Cli::try_parse() {
            Ok(cli) => return Ok(cli),
            Err(e) => e,
        };
        if e.use_stderr() {
            e.exit();
        }
        let rendered = e.render();
        let text = if clap_would_color_stdout() {
            rendered.ansi().to_string()
        } else {
            rendered.to_string()
        };
        match crate::report::out::Out::stdout().line(&text) {
            Ok(()) => Err(ExitCode::Success),
            Err(e) => {
                cmd::report_error(&e);
                Err(ExitCode::Error)
            }
        }
    }

    /// Run the parsed command line: dispatch to the command, print an
    /// error once on stderr (exit 2).
    pub fn run(self) -> ExitCode {
        let style = Style::new(self.color);
        let result = match self.command {
            Command::Check(args) => cmd::check::run(&args, style),
            Command::Conform(args) => cmd::conform::run(&args, style),
            Command::Inspect(args) => cmd::inspect::run(&args, style),
            Command::Explain(args) => cmd::explain::run(&args, style),
            Command::Probe(args) => cmd::probe::run(&args, style),
            Command::Listen(args) => cmd::listen::run(&args, style),
            Command::Repro(args) => cmd::repro::run(&args, style),
            Command::Send(args) => cmd::send::run(&args, style),
            Command::Pcap(args) => cmd::pcap::run(&args, style),
            Command::Relay(args) => cmd::relay::run(&args, style),
            Command::Completions(args) => cmd::generate::completions(&args),
            Command::Man(args) => cmd::generate::man(&args),
        };
        match result {
            Ok(code) => code,
            // A closed stdout is an error too (`ppctl ... | head -1`):
            // results were lost, and the message says how many lines.
            Err(e) => {
                cmd::report_error(&e);
                ExitCode::Error
            }
        }
    }
}

/// Whether clap would style its help on stdout (its `ColorChoice::Auto`):
/// a terminal, NO_COLOR unset and TERM not `dumb`.
fn clap_would_color_stdout() -> bool {
    use std::io::IsTerminal;
    std::io::stdout().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        && std::env::var_os("TERM").is_none_or(|t| t != "dumb")
}
