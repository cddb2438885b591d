//! `ppctl repro`: run the sender x receiver matrix and explain it.

use std::sync::Arc;
use std::time::Duration;

use crate::error::{Error, ExitCode, Result};
use crate::net::{Target, Watch};
use crate::report::progress::Progress;
use crate::report::{self, Style};
use crate::repro;

#[derive(Debug, clap::Args)]
#[command(after_help = concat!("\
Examples:
  ppctl repro
      the 3x3 matrix on loopback: the 400 and its fix
  ppctl repro --tls
      the 443 case: listen ... ssl [proxy_protocol]
  ppctl repro --json |
      jq -r '.cells[] | \"\\(.sender) -> \\(.receiver): \\(.finding.name)\"'
  ppctl repro --target 127.0.0.1:8080
      which receiver column is this server?
  ppctl repro --target ingress.example:80 --timeout 2s --json
  ppctl repro --tls --target 10.0.0.5:443
      is this port ssl, or ssl proxy_protocol?
  ppctl repro --protocol smtp
      the mail matrix: Postfix with and without
      smtpd_upstream_proxy_protocol (ppctl's copies)
  ppctl repro --protocol mysql --target 127.0.0.1:3306
      is this MariaDB set with proxy_protocol_networks?

", super::exit_rule!(), "
repro judges its own predictions: 1 when a cell did not do what the judge
predicted (the matrix shows problem findings on purpose: they are 0). With
--target it concludes which receiver column (off, require, auto; with --tls
ssl, ssl-proxy-protocol) the target behaves like: a fact, 0; 1 when it
behaves like none (nothing listens, or no column behaves so).

--protocol smtp, imap, pop3, mysql: the senders speak the protocol after
the header; the columns are the real server's setups: off and require for
Postfix and Dovecot, off and auto for MariaDB (docs/protocols.md)."))]
pub struct ReproArgs {
    /// Run the sender column (no header, v1, v2) against this receiver
    /// (HOST:PORT) and say which receiver column it behaves like.
    #[arg(long, value_name = "HOST:PORT")]
    pub target: Option<Target>,
    /// The 443 case: each sender sends its header, then a TLS handshake
    /// and the request; the receivers serve TLS like nginx `listen 443 ssl`
    /// and `listen 443 ssl proxy_protocol`. Certificates are shown, never
    /// checked.
    #[arg(long)]
    pub tls: bool,
    /// With --target: how long to wait for each reply.
    #[arg(long, default_value = "5s", value_name = "DURATION", value_parser = super::values::parse_duration)]
    pub timeout: Duration,
    /// Print the matrix as one JSON object (docs/json.md).
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub(crate) protocol: super::protocol_args::StandinProtocolArg,
}

pub fn run(args: &ReproArgs, style: Style) -> Result<ExitCode> {
    let protocol = args.protocol.protocol;
    if args.tls && protocol != crate::protocol::Protocol::Http {
        return Err(Error::usage(format!(
            "--tls goes with --protocol http; the {} stand-ins serve plain TCP (STARTTLS is send's --starttls)",
            protocol.name()
        )));
    }
    // With a target each sender may wait --timeout: a bar on a terminal
    // counts them, and Ctrl-C ends the run with the cells made so far.
    let (watch, progress) = match &args.target {
        Some(_) => target_watch()?,
        None => (Watch::default(), Progress::hidden()),
    };
    let matrix = crate::net::runtime()?
        .block_on(async {
            match &args.target {
                Some(t) => {
                    repro::run_target(t.clone(), args.timeout, args.tls, protocol, &watch).await
                }
                None => repro::run_local(args.tls, protocol).await,
            }
        })
        .map_err(|e| Error::Other(e.into()))?;
    progress.clear();
    let text = if args.json {
        report::repro::json(&matrix)
    } else {
        report::repro::human(&matrix, style)
    };
    super::print(&text)?;
    if matrix.interrupted {
        super::interrupt::say_partial(&format!(
            "{} of {} senders went to the target",
            matrix.cells.len(),
            repro::Sender::ALL.len()
        ));
        return Ok(ExitCode::Interrupted);
    }
    Ok(ExitCode::check(matrix.ok()))
}

fn target_watch() -> Result<(Watch<repro::Cell>, Progress)> {
    let progress = Progress::count(repro::Sender::ALL.len() as u64, "senders");
    let bar = progress.clone();
    let watch = Watch {
        on_step: Some(Arc::new(move |c: &repro::Cell| {
            bar.inc(1);
            bar.say(format!("{}: {}", c.sender.name(), c.finding.name()));
        })),
        interrupt: super::interrupt::catch_ctrl_c()?,
    };
    Ok((watch, progress))
}
