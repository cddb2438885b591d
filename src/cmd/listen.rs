//! `ppctl listen ADDR...`: flags and wiring around [`crate::listen::run`].
//!
//! Output goes to stdout, one line per event, in order: first
//! `listening on ADDR...` (with `--json`: `{"type":"listening",...}`), then
//! one line per connection, then the summary on stop. A writer thread owns
//! stdout and flushes every line, so nothing is lost when the server stops.

use std::sync::Arc;

use ipnet::IpNet;
use tokio::sync::mpsc;
use tokio::sync::watch;

use super::serve::{reached, write_lines, Signals, Stop};
use super::values::{parse_cidr, timeout, wait, Choice, Wait};
use crate::error::{Error, ExitCode, Result};
use crate::listen::{self, Config, Expect};
use crate::report::listen as view;
use crate::report::out::Out;
use crate::report::Style;
use crate::server::standin::{ConnRecord, Http, Mode};
use crate::server::{self as config, bind, Transport};

const AFTER_HELP: &str = concat!(
    "\
Examples:
  ppctl listen :8080
      v1, v2 or no header, said which (a test port: results are spoofable)
  ppctl listen 127.0.0.1:9000 --proxy-protocol require --trust 10.0.0.0/8
      behave like nginx `listen ... proxy_protocol` + `set_real_ip_from`
  ppctl listen :8080 --proxy-protocol off
      behave like nginx without proxy_protocol: a header gets 400 Bad Request
  ppctl listen 127.0.0.1:0 --json --count 1 --expect-src 192.0.2.0/24
      one connection as a JSON line; exit 1 unless its header claims a
      source in 192.0.2.0/24
  ppctl listen :5353 --udp --echo
      decode a v2 header in every datagram and echo the payload

Each connection's finding (proxied, missing-header, unexpected-header, ...)
is explained in docs/verdicts.md.

Deadlines (docs/security.md): the header within --header-timeout, then the
whole request head within --request-timeout; each read and each reply (or
--echo write) waits at most --idle-timeout. A first SIGINT/SIGTERM stops
accepting and gives connections in flight --drain to finish; a second one
stops them at once (they are reported as interrupted).

",
    super::exit_rule!(),
    "
listen judges every connection (the summary counts their findings). It runs
until stopped: SIGINT/SIGTERM is its normal end, then 0 or 1 by what it
saw; with --count N, a signal before the Nth connection is 130. Lost
output stops the server (2)."
);

#[derive(Debug, clap::Args)]
#[command(
    after_help = AFTER_HELP,
    mut_arg("threads", |a| a.help("Worker threads (default: 1, or 2 with --tls). One serves plain connections fastest on a small machine (docs/performance.md); more help many TLS handshakes on a machine with more cores."))
)]
pub struct ListenArgs {
    /// Where to listen: `:PORT` (every interface, IPv4 and IPv6), IP:PORT,
    /// [IPv6]:PORT or NAME:PORT. Port 0 picks a free port (printed first).
    #[arg(required = true, value_name = "ADDR")]
    pub addrs: Vec<String>,
    /// What the receiver expects.
    #[arg(
        long,
        default_value = Mode::default().name(),
        value_name = "MODE",
        value_parser = Choice::new(&Mode::ALL, Mode::name, Mode::describe)
    )]
    pub(crate) proxy_protocol: Mode,
    /// Peers allowed to send a header, like nginx `set_real_ip_from` (repeat
    /// or comma-separate; a bare IP is a /32 or /128). Others' headers are
    /// rejected (require) or ignored (auto), as untrusted-source. Without
    /// it, anyone may.
    #[arg(long, value_name = "CIDR", value_delimiter = ',', value_parser = parse_cidr)]
    pub trust: Vec<IpNet>,
    #[command(flatten)]
    pub(crate) max_header: super::serve::MaxHeaderArg,
    /// Time allowed for a complete header (as ingress-nginx's
    /// proxy-protocol-header-timeout), e.g. 5s, 250ms; more than 0.
    #[arg(long, default_value_t = Wait(config::HEADER_TIMEOUT), value_name = "DURATION", value_parser = timeout)]
    pub header_timeout: Wait,
    /// Time allowed for the whole first request head once the header is in
    /// (not restarted by each byte, so a client that trickles it is closed
    /// on time); more than 0.
    #[arg(long, default_value_t = Wait(config::REQUEST_TIMEOUT), value_name = "DURATION", value_parser = timeout)]
    pub request_timeout: Wait,
    /// Longest silence after the header before closing, and longest wait
    /// for a client that does not read a reply (or `--echo`); more than 0.
    #[arg(long, default_value_t = Wait(config::IDLE_TIMEOUT), value_name = "DURATION", value_parser = timeout)]
    pub idle_timeout: Wait,
    /// Connections served at once; more wait in the kernel's backlog.
    #[arg(long, default_value_t = config::MAX_CONNS as u32, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub max_conns: u32,
    /// On SIGINT/SIGTERM, time in-flight connections get to finish; a
    /// second signal stops them at once.
    #[arg(long, default_value_t = Wait(config::DRAIN), value_name = "DURATION", value_parser = wait)]
    pub drain: Wait,
    /// Echo non-HTTP bytes back (otherwise they are logged as a hexdump and
    /// the connection is closed).
    #[arg(long)]
    pub echo: bool,
    /// Listen on UDP instead: decode a v2 header in every datagram.
    #[arg(long)]
    pub udp: bool,
    /// Exit after N connections (datagrams with --udp).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub count: Option<u64>,
    /// Exit 1 unless every connection's header claims a source in one of
    /// these CIDRs (a bare IP is one address; repeat it or separate with
    /// commas: any one matches).
    #[arg(
        long,
        value_name = "CIDR",
        value_delimiter = ',',
        action = clap::ArgAction::Append,
        value_parser = super::values::parse_cidr
    )]
    pub expect_src: Vec<ipnet::IpNet>,
    /// Exit 1 unless every connection carried a header of this version.
    #[arg(long, value_name = "1|2", value_parser = clap::value_parser!(u8).range(1..=2))]
    pub expect_version: Option<u8>,
    /// JSON Lines on stdout: a "listening" object first (with the bound
    /// addresses), one "connection" object per connection (with its
    /// finding), a "summary" at the end (docs/json.md). Without it the same
    /// lines are text, also on stdout, starting with `listening on ADDR`.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub tls: super::listen_tls::ListenTlsArgs,
    #[command(flatten)]
    pub(crate) threads: super::serve::ThreadsArg,
}

impl ListenArgs {
    fn config(&self) -> Config {
        Config {
            http: Http {
                mode: self.proxy_protocol,
                max_header: self.max_header.bytes(),
                header_timeout: self.header_timeout.0,
                request_timeout: self.request_timeout.0,
                idle_timeout: self.idle_timeout.0,
                trust: self.trust.clone(),
                echo: self.echo,
                tls: None,
            },
            max_conns: self.max_conns as usize,
            count: self.count,
            drain: self.drain.0,
            expect: Expect {
                src: self.expect_src.clone(),
                version: self.expect_version,
            },
        }
    }
}

pub fn run(args: &ListenArgs, style: Style) -> Result<ExitCode> {
    let workers = if args.tls.tls {
        crate::net::WORKERS
    } else {
        crate::net::PLAIN_SERVER_WORKERS
    };
    args.threads.runtime(workers)?.block_on(serve(args, style))
}

async fn serve(args: &ListenArgs, style: Style) -> Result<ExitCode> {
    // Signals are caught before the first line is out, so a client that
    // reads it and signals at once is not met with the default action.
    let stop: Arc<Stop> = Arc::new(watch::channel(0).0);
    let signals = Signals::register().map_err(|e| Error::io("installing signal handlers", e))?;
    tokio::spawn(signals.count(stop.clone()));
    let listeners = bind::bind_all(&args.addrs, args.udp)
        .await
        .map_err(|e| Error::Other(e.into()))?;
    let addrs: Vec<_> = listeners.local_addrs().iter().map(|(_, a)| *a).collect();
    let transport = if args.udp {
        Transport::Udp
    } else {
        Transport::Tcp
    };
    let mode = args.proxy_protocol;
    let identity = args.tls.identity(&addrs)?;
    let first = if args.json {
        let mut first = view::listening_json(transport, &addrs, mode);
        if let Some(id) = &identity {
            first["tls"] = view::identity_json(id);
        }
        view::line(&first)
    } else {
        let tls = identity.as_ref().map(view::identity_human);
        let stand_in = match transport {
            Transport::Tcp => view::stand_in_human(style),
            Transport::Udp => String::new(),
        };
        view::listening_human(transport, &addrs, mode) + &tls.unwrap_or_default() + &stand_in
    };
    let mut out = Out::stdout();
    out.line(&first)?;

    let (tx, rx) = mpsc::channel::<ConnRecord>(1024);
    let json = args.json;
    let lost = stop.clone();
    let writer = std::thread::spawn(move || write_records(rx, json, style, out, &lost));
    let mut config = args.config();
    config.http.tls = identity;
    let summary = listen::run(
        listeners,
        config,
        reached(stop.subscribe(), 1),
        reached(stop.subscribe(), 2),
        tx,
    )
    .await;
    let mut out = writer
        .join()
        .map_err(|_| Error::Other(anyhow::anyhow!("the output thread panicked")))?;

    let text = if json {
        view::line(&view::summary_json(&summary))
    } else {
        view::summary_human(&summary, style)
    };
    // A failure here is reported by `finish`, with every line lost.
    let _ = out.line(&text);
    out.finish()?;
    if summary.interrupted && args.count.is_some() {
        return Ok(ExitCode::Interrupted);
    }
    Ok(ExitCode::check(summary.passed()))
}

/// The writer thread: one line (or block) per record.
fn write_records(
    rx: mpsc::Receiver<ConnRecord>,
    json: bool,
    style: Style,
    out: Out,
    stop: &Stop,
) -> Out {
    write_lines(rx, out, stop, |rec| {
        Some(if json {
            view::line(&view::connection_json(rec))
        } else {
            view::connection_human(rec, style)
        })
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn defaults_are_the_engine_s_and_show_as_typed() {
        assert_eq!(Wait(config::HEADER_TIMEOUT).to_string(), "5s");
        assert_eq!(Wait(Duration::from_millis(250)).to_string(), "250ms");
        assert!(timeout("0").is_err());
        assert!(timeout("0ms").is_err());
        assert_eq!(timeout("1ms"), Ok(Wait(Duration::from_millis(1))));
    }
}
