//! `ppctl listen ADDR...`: its flags, and its engine ([`crate::listen::run`])
//! run by the one serve command ([`super::serve`]).
//!
//! Output goes to stdout, one line per event, in order: first
//! `listening on ADDR...` (with `--json`: `{"type":"listening",...}`), then
//! one line per connection, then the summary on stop.

use ipnet::IpNet;

use super::serve::{Lines, Serving};
use super::values::{parse_cidr, Choice};
use crate::error::{Error, ExitCode, Result};
use crate::listen::{self, Config, Expect};
use crate::protocol::Protocol;
use crate::report::server as view;
use crate::report::Style;
use crate::server::standin::talk::Talk;
use crate::server::standin::{Http, Mode};
use crate::server::{bind, IpProtocol};

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
  ppctl listen :8080 --proxy-protocol require --metrics 127.0.0.1:9101
      a stand-in backend for a rollout, its connections counted by finding
      for Prometheus at http://127.0.0.1:9101/metrics (docs/monitoring.md)
  ppctl listen 127.0.0.1:2525 --protocol smtp --proxy-protocol require
      a stand-in Postfix with smtpd_upstream_proxy_protocol: no banner
      until a header, else 421; EHLO's 250 names the client
  ppctl listen 127.0.0.1:1143 --protocol imap --proxy-protocol off
      a stand-in Dovecot without haproxy: a header gets PROXY BAD
  ppctl listen 127.0.0.1:3307 --protocol mysql
      a stand-in MariaDB with proxy_protocol_networks: the mysql client
      pointed at it prints the address it sees (ERROR 1045)
  ppctl listen :8080 --proxy-protocol require --conform
      grade the load balancer in front against the spec's sender rules
      (the header first, in one segment, CRLF, CRC32C, LOCAL health checks)

Each connection's finding (proxied, missing-header, unexpected-header, ...)
is explained in docs/verdicts.md.

--protocol smtp, imap, pop3 and mysql copy Postfix, Dovecot and MariaDB
(docs/protocols.md): off is the server without PROXY support, require
waits for a header before its banner (MariaDB has no such mode), auto
takes one when it comes (MariaDB's proxy_protocol_networks; the mail
stand-ins wait 300ms for it before they greet).

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
    mut_arg("count", |a| a.help("Exit after N connections (datagrams with --udp)")),
    mut_arg("threads", |a| a.help("Worker threads (default: 1, or 2 with --tls). One serves plain connections fastest on a small machine (docs/performance.md); more help many TLS handshakes on a machine with more cores."))
)]
pub struct ListenArgs {
    /// Where to listen: `:PORT` (every interface, IPv4 and IPv6), IP:PORT,
    /// [IPv6]:PORT or NAME:PORT. Port 0 picks a free port (printed first).
    #[allow(rustdoc::broken_intra_doc_links)] // `[IPv6]` is --help text
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
    pub(crate) server: super::serve::ServerArgs,
    /// Echo non-HTTP bytes back (otherwise they are logged as a hexdump and
    /// the connection is closed).
    #[arg(long)]
    pub echo: bool,
    /// Listen on UDP instead: decode a v2 header in every datagram.
    #[arg(long)]
    pub udp: bool,
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
    #[command(flatten)]
    pub(crate) protocol: super::protocol_args::StandinProtocolArg,
}

impl ListenArgs {
    fn config(&self) -> Result<Config> {
        Ok(Config {
            http: Http {
                mode: self.proxy_protocol,
                max_header: self.server.max_header(),
                header_timeout: self.server.header_timeout.0,
                request_timeout: self.server.request_timeout.0,
                idle_timeout: self.server.idle_timeout.0,
                trust: self.trust.clone(),
                echo: self.echo,
                tls: None,
            },
            talk: (self.protocol.protocol != Protocol::Http).then(|| Talk {
                protocol: self.protocol.protocol,
                mode: self.proxy_protocol,
                max_header: self.server.max_header(),
                header_timeout: self.server.header_timeout.0,
                idle_timeout: self.server.idle_timeout.0,
                trust: self.trust.clone(),
            }),
            // One descriptor per connection (a datagram holds none).
            limits: self.server.limits(1, 1)?,
            meter: None,
            conform: self.server.conform,
            expect: Expect {
                src: self.expect_src.clone(),
                version: self.expect_version,
            },
        })
    }
}

/// The flags a protocol stand-in can't honour.
fn check_protocol(args: &ListenArgs) -> Result<()> {
    let p = args.protocol.protocol;
    if p == Protocol::Http {
        return Ok(());
    }
    let clash = [
        (args.udp, "--udp"),
        (args.echo, "--echo"),
        (args.tls.tls, "--tls"),
    ];
    if let Some((_, flag)) = clash.iter().find(|(on, _)| *on) {
        return Err(Error::usage(format!(
            "{flag} goes with --protocol http (the nginx stand-in); the {} stand-in serves plain TCP",
            p.name()
        )));
    }
    if p == Protocol::Mysql && args.proxy_protocol == Mode::Require {
        return Err(Error::usage(
            "--protocol mysql --proxy-protocol require: MariaDB has no such mode; it greets first and takes a header when one comes (proxy_protocol_networks): use --proxy-protocol auto, or off",
        ));
    }
    Ok(())
}

pub fn run(args: &ListenArgs, style: Style) -> Result<ExitCode> {
    check_protocol(args)?;
    let workers = if args.tls.tls {
        crate::net::WORKERS
    } else {
        crate::net::PLAIN_SERVER_WORKERS
    };
    args.threads.runtime(workers)?.block_on(serve(args, style))
}

async fn serve(args: &ListenArgs, style: Style) -> Result<ExitCode> {
    let mut serving = Serving::start()?;
    let listeners = bind::bind_all(&args.addrs, args.udp)
        .await
        .map_err(|e| Error::Other(e.into()))?;
    let addrs: Vec<_> = listeners.local_addrs().iter().map(|(_, a)| *a).collect();
    let transport = if args.udp {
        IpProtocol::Udp
    } else {
        IpProtocol::Tcp
    };
    let mut config = args.config()?;
    config.http.tls = args.tls.identity(&addrs)?;
    let (meter, metrics) = serving.metered(args.server.metrics.as_deref()).await?;
    config.meter = meter;
    let what = view::Serving::Listen {
        mode: args.proxy_protocol,
        tls: config.http.tls.as_ref(),
        protocol: config.talk.as_ref().map(|t| t.protocol),
    };
    let first = view::listening(transport, &addrs, &what, &metrics, args.json, style);
    let lines = Lines {
        json: args.json,
        style,
        tap: true,
        count: args.server.count,
    };
    serving
        .run(lines, &first, |shutdown, now, sink| {
            listen::run(listeners, config, shutdown, now, sink)
        })
        .await
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::super::values::{timeout, Wait};
    use crate::server as config;

    #[test]
    fn defaults_are_the_engine_s_and_show_as_typed() {
        assert_eq!(Wait(config::HEADER_TIMEOUT).to_string(), "5s");
        assert_eq!(Wait(Duration::from_millis(250)).to_string(), "250ms");
        assert!(timeout("0").is_err());
        assert!(timeout("0ms").is_err());
        assert_eq!(timeout("1ms"), Ok(Wait(Duration::from_millis(1))));
    }
}
