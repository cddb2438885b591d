//! The command line, in one place (clap derive). Each subcommand's options
//! live next to its code in `cmd::*`; this file ties them together.

use std::time::Duration;

use clap::{Parser, Subcommand};

use crate::report::ColorChoice;

pub const EXIT_CODES: &str = "\
Every verdict is a finding with one name and code (unexpected-header,
PP-UNEXPECTED), the same in every command and in JSON; docs/verdicts.md lists
them all with their fixes. `ppctl <command> --help` shows examples.

Exit codes:
  0    success: a valid header, no problem finding, expectations met
  1    check failed: a problem finding (docs/verdicts.md), a header
       that is not valid, or an --expect... not met
  2    usage or I/O error: ppctl could not do its job
  130  interrupted (SIGINT) before finishing";

/// A toolkit for the PROXY protocol (v1 text, v2 binary): send crafted
/// headers, stand up a receiver, decode bytes and captures, and explain why
/// a sender and a receiver disagree.
#[derive(Debug, Parser)]
#[command(name = "ppctl", version, about, after_help = EXIT_CODES, max_term_width = 100)]
pub struct Cli {
    /// When to use color: auto (a terminal, and NO_COLOR unset), always, never.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, global = true)]
    pub color: ColorChoice,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
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
    /// Read every hop's configuration (nginx, HAProxy, Kubernetes, Helm) and find the PROXY mismatch before the rollout.
    Check(crate::cmd::check::CheckArgs),
    /// Relay TCP to an upstream, adding, translating or stripping the PROXY header, and show each connection.
    Relay(Box<crate::cmd::relay::RelayArgs>),
    /// Print shell completions to stdout.
    Completions(crate::cmd::generate::CompletionsArgs),
    /// Write the man pages: the top page to stdout, or every page into --dir.
    Man(crate::cmd::generate::ManArgs),
}

/// A clap value parser for an enum that lives outside this crate (the
/// codec's, which must not depend on clap): the names, each with its help
/// line, come from the enum's own tables.
#[derive(Clone)]
pub(crate) struct Choice<T: 'static> {
    all: &'static [T],
    name: fn(T) -> &'static str,
    help: fn(T) -> &'static str,
}

impl<T: Copy + Send + Sync + 'static> Choice<T> {
    pub(crate) const fn new(
        all: &'static [T],
        name: fn(T) -> &'static str,
        help: fn(T) -> &'static str,
    ) -> Self {
        Choice { all, name, help }
    }
}

impl<T: Copy + Send + Sync + 'static> clap::builder::TypedValueParser for Choice<T> {
    type Value = T;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<T, clap::Error> {
        let names = self.all.iter().map(|v| (self.name)(*v));
        let text = clap::builder::PossibleValuesParser::new(names).parse_ref(cmd, arg, value)?;
        self.all
            .iter()
            .copied()
            .find(|v| (self.name)(*v) == text)
            .ok_or_else(|| clap::Error::new(clap::error::ErrorKind::InvalidValue).with_cmd(cmd))
    }

    fn possible_values(
        &self,
    ) -> Option<Box<dyn Iterator<Item = clap::builder::PossibleValue> + '_>> {
        Some(Box::new(self.all.iter().map(|v| {
            clap::builder::PossibleValue::new((self.name)(*v)).help((self.help)(*v))
        })))
    }
}

/// Every duration flag's parser (one for all commands): `250ms`, `5s`, `2m`, or a bare number of seconds (`1.5`).
pub(crate) fn parse_duration(s: &str) -> std::result::Result<Duration, String> {
    let bad = || format!("'{s}' is not a duration: use e.g. 250ms, 5s, 1.5s or 2m");
    let (num, unit) = match s.find(|c: char| c.is_ascii_alphabetic()) {
        Some(i) => s.split_at(i),
        None => (s, "s"),
    };
    let n: f64 = num.trim().parse().map_err(|_| bad())?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "s" => n,
        "m" => n * 60.0,
        _ => return Err(bad()),
    };
    if !(0.0..=86_400.0 * 365.0).contains(&secs) {
        return Err(bad());
    }
    Ok(Duration::from_secs_f64(secs))
}
