//! `ppctl relay LISTEN --to UPSTREAM`: its flags, and its engine
//! ([`crate::relay::run`]) run by the one serve command
//! ([`super::serve`]). Output goes to stdout in order: `listening on ADDR`
//! (with `--json`: `{"type":"listening",...}`), one line per connection as
//! it ends (unless `--no-tap`), the summary on stop.

use ipnet::IpNet;

use super::header_args::HeaderArgs;
use super::serve::{Lines, Serving};
use super::values::{parse_cidr, timeout, Choice, Wait};
use crate::codec::Version;
use crate::error::{Error, ExitCode, Result};
use crate::net::{self, Target};
use crate::protocol::Selection;
use crate::relay::{self, Accept, Config, SendMode};
use crate::report::server as view;
use crate::report::Style;
use crate::server::{bind, IpProtocol};

const AFTER_HELP: &str = concat!(
    "\
The header sent upstream carries the client's address: its socket's, or
the one claimed in the header it sent (--accept). Each connection's finding
(proxied, unexpected-header, no-receiver, ...) is explained in
docs/verdicts.md; --json lines are described in docs/json.md.

With --protocol smtp, imap, pop3, mysql, postgres, redis or ssh (auto: the
upstream port's protocol, else the one its first bytes are in), each
connection is judged and tapped in the upstream's words: its banner, the
client's first command, its error reply (a 500 to the header line is
unexpected-header; no banner, then a 421 or a close, is missing-header;
docs/protocols.md). Without it, HTTP and TLS are judged as --protocol http.

Examples:
  ppctl relay :8080 --to 127.0.0.1:30080 --send v2
      stand in for the load balancer in front of an ingress: does it expect
      the header? (a 400 shows as unexpected-header, with its fixes)
  ppctl relay 127.0.0.1:9000 --to 10.0.0.5:443 --accept v1 --send v2
      translate: a v1-only load balancer in front of a v2-only backend
  ppctl relay :8443 --to 10.0.0.5:8443 --accept any --send same
      watch what passes between a load balancer and its backend
  ppctl relay 127.0.0.1:0 --to 127.0.0.1:8080 --json --count 1
      one connection as a JSON line, on a free port (printed first)
  ppctl relay :8443 --to 10.0.0.5:8443 --accept any --metrics 127.0.0.1:9102
      count what passes by finding, for Prometheus (docs/monitoring.md)
  ppctl relay 127.0.0.1:2525 --to 10.0.0.7:25 --protocol smtp
      in front of Postfix: does smtpd read the header? (500 5.5.2 to the
      header line: unexpected-header, with Postfix's fix)
  ppctl relay 127.0.0.1:3307 --to 10.0.0.8:3306 --protocol auto
      MariaDB (port 3306): error 1130 `Proxy header is not accepted from`
      is unexpected-header; a login answered after the header is proxied
  ppctl relay 127.0.0.1:1143 --to 10.0.0.7:143 --send none --protocol imap
      no header to Dovecot: with `haproxy = yes` it closes without a
      banner (missing-header)

",
    super::exit_rule!(),
    "
relay judges every connection, its upstream's answer included (a refusing
upstream is no-receiver: 1; a mail server's 500 to the header line is
unexpected-header: 1). It runs until stopped: SIGINT/SIGTERM is its
normal end, then 0 or 1 by what it saw; with --count N, a signal before the
Nth connection is 130."
);

#[derive(Debug, clap::Args)]
#[command(
    after_help = AFTER_HELP,
    mut_arg("threads", |a| a.help("Threads that accept and serve connections (default: one per CPU it may use, at most 2), each on an event loop of its own: a connection stays on the thread that took it. Two serve the most connections a second on 2 CPUs; one costs the least CPU per connection (docs/performance.md)")),
    mut_arg("idle_timeout", |a| a.help("Close both sides after this long without a byte either way; more than 0")),
    mut_arg("request_timeout", |a| a.help("Time allowed for the client's first request once the header is in, counted once (a byte does not restart it, so a client that trickles is closed on time): until an HTTP request head's blank line, 4 KiB from the client, the client's EOF, or upstream's first byte; more than 0")),
    // relay::config::MAX_HEADER (a unit test keeps them equal).
    mut_arg("max_header", |a| a.default_value("65551").help("Largest v2 header taken from a client, in bytes (16 + len; by default every size the spec allows); a larger one is header-too-large, checked as soon as its 16-byte prefix is in"))
)]
pub struct RelayArgs {
    /// Where to listen: `:PORT` (every interface, IPv4 and IPv6), IP:PORT,
    /// [IPv6]:PORT or NAME:PORT. Port 0 picks a free port (printed first).
    #[allow(rustdoc::broken_intra_doc_links)] // `[IPv6]` is --help text
    #[arg(value_name = "LISTEN")]
    pub(crate) listen: String,
    /// Where to relay to: HOST:PORT, [IPv6]:PORT or NAME:PORT.
    #[allow(rustdoc::broken_intra_doc_links)] // `[IPv6]` is --help text
    #[arg(long, value_name = "UPSTREAM")]
    pub(crate) to: String,
    /// What the relay expects from its clients.
    #[arg(
        long,
        default_value = Accept::default().name(),
        value_name = "WHAT",
        value_parser = Choice::new(&Accept::ALL, Accept::name, Accept::describe)
    )]
    pub(crate) accept: Accept,
    /// Peers allowed to send a header (repeat or comma-separate; a bare IP
    /// is a /32 or /128). Others' headers are refused (or, with --accept
    /// auto, ignored) as untrusted-source. Without it, anyone may.
    #[arg(long, value_name = "CIDR", value_delimiter = ',', value_parser = parse_cidr)]
    pub(crate) trust: Vec<IpNet>,
    /// What the relay sends upstream (with --like: the preset's version).
    #[arg(
        long,
        default_value = SendMode::default().name(),
        value_name = "WHAT",
        conflicts_with = "like",
        value_parser = Choice::new(&SendMode::ALL, SendMode::name, SendMode::describe)
    )]
    pub(crate) send: SendMode,
    /// What clients and upstream speak: judge and tap each connection in
    /// that protocol's words (docs/protocols.md). Without it, HTTP and TLS.
    #[arg(long, value_name = "PROTOCOL", value_parser = super::protocol_args::heard_parser(),
          help_heading = "Protocol")]
    pub(crate) protocol: Option<Selection>,
    #[command(flatten)]
    pub(crate) header: HeaderArgs,
    #[command(flatten)]
    pub(crate) threads: super::serve::ThreadsArg,
    #[command(flatten, next_help_heading = "Limits")]
    pub(crate) server: super::serve::ServerArgs,
    /// Time allowed to connect upstream.
    #[arg(long, default_value_t = Wait(relay::config::CONNECT_TIMEOUT), value_name = "DURATION", value_parser = timeout, help_heading = "Limits")]
    pub(crate) connect_timeout: Wait,
    /// One line per connection as it ends: the default now, on a terminal
    /// or not (kept for scripts that give it).
    #[arg(long, conflicts_with = "no_tap", hide = true)]
    pub(crate) tap: bool,
    /// No line per connection: only the first line and the summary (each
    /// connection's line is written otherwise, to a pipe too, as listen's).
    #[arg(long, help_heading = "Output")]
    pub(crate) no_tap: bool,
    /// JSON Lines: a "listening" object, one "connection" object per
    /// connection, a "summary" at the end (docs/json.md).
    #[arg(long, help_heading = "Output")]
    pub(crate) json: bool,
}

impl RelayArgs {
    fn config(&self, upstream: Vec<std::net::SocketAddr>) -> Result<Config> {
        let header = self.header.plan(Version::V1);
        let send = match self.header.like {
            Some(_) if header.version == Version::V1 => SendMode::V1,
            Some(_) => SendMode::V2,
            None => self.send,
        };
        if !header.tlvs.is_empty() && matches!(send, SendMode::V1 | SendMode::None) {
            return Err(Error::usage(format!(
                "TLV options need a v2 header: add --send v2 (or --send same), not --send {}",
                send.name()
            )));
        }
        let mut cfg = Config::new(upstream);
        cfg.accept = self.accept;
        cfg.trust = self.trust.clone();
        cfg.send = send;
        cfg.header = header;
        cfg.max_header = self.server.max_header();
        cfg.header_timeout = self.server.header_timeout.0;
        cfg.connect_timeout = self.connect_timeout.0;
        cfg.idle_timeout = self.server.idle_timeout.0;
        cfg.request_timeout = self.server.request_timeout.0;
        // Two descriptors per connection: the client and the upstream.
        let threads = self
            .threads
            .threads
            .map_or_else(net::relay_threads, usize::from);
        cfg.limits = self.server.limits(2, threads)?;
        cfg.conform = self.server.conform;
        cfg.protocol = self.protocol;
        // Build once with stand-in ends: a header that can't be encoded
        // fails now, not per connection.
        let stand_in = std::net::SocketAddr::from(([192, 0, 2, 1], 1));
        cfg.header_for(None, stand_in, stand_in)
            .map_err(|e| Error::usage(format!("can't build this header: {e}")))?;
        Ok(cfg)
    }
}

pub fn run(args: &RelayArgs, style: Style) -> Result<ExitCode> {
    // The calling thread serves; `--threads` adds threads that accept and
    // serve on their own (`Limits::accept_threads`), not workers that share
    // tasks.
    net::runtime_here()?.block_on(serve(args, style))
}

async fn serve(args: &RelayArgs, style: Style) -> Result<ExitCode> {
    let mut serving = Serving::start()?;
    let target: Target = args
        .to
        .parse()
        .map_err(|e: net::TargetError| Error::usage(format!("--to: {e}")))?;
    let upstream = target.resolve().await.map_err(|e| Error::Other(e.into()))?;
    let mut cfg = args.config(upstream.clone())?;
    let listeners = bind::bind_all(std::slice::from_ref(&args.listen), false)
        .await
        .map_err(|e| Error::Other(e.into()))?;
    let addrs: Vec<_> = listeners.local_addrs().iter().map(|(_, a)| *a).collect();
    let (meter, metrics) = serving.metered(args.server.metrics.as_deref()).await?;
    cfg.meter = meter;
    let what = view::Serving::Relay {
        upstream: &upstream,
        accept: cfg.accept,
        send: cfg.send,
        protocol: cfg.protocol,
    };
    let first = view::listening(IpProtocol::Tcp, &addrs, &what, &metrics, args.json, style);
    // As listen's lines: written to a pipe too (`| grep`, `> log`).
    let lines = Lines {
        json: args.json,
        style,
        tap: !args.no_tap,
        count: cfg.limits.count,
    };
    serving
        .run(lines, &first, |shutdown, now, sink| {
            relay::run(listeners.tcp, cfg, shutdown, now, sink)
        })
        .await
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use crate::cli::{Cli, Command};

    #[test]
    fn max_header_defaults_to_every_header_the_spec_allows() {
        let cli = Cli::try_parse_from(["ppctl", "relay", ":0", "--to", "127.0.0.1:1"]);
        match cli.map(|c| c.command) {
            Ok(Command::Relay(args)) => {
                assert_eq!(args.server.max_header(), crate::relay::config::MAX_HEADER);
                assert_eq!(crate::relay::config::MAX_HEADER, 65551);
            }
            other => panic!("{other:?}"),
        }
    }
}
