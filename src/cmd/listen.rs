//! `ppctl listen ADDR...`: flags and wiring around [`crate::listen::run`].
//!
//! Output goes to stdout, one line per event, in order: first
//! `listening on ADDR...` (with `--json`: `{"event":"listening",...}`), then
//! one line per connection, then the summary on stop. A writer thread owns
//! stdout and flushes every line, so nothing is lost when the server stops.

use crate::cli::parse_duration;
use std::io::{self, BufWriter, Write};
use std::net::IpAddr;
use std::time::Duration;

use ipnet::IpNet;
use serde::Serialize;
use tokio::sync::mpsc::{self, error::TryRecvError};

use crate::error::{Error, ExitCode, Result};
use crate::listen::{self, bind, Config, ConnRecord, Mode};
use crate::report::json::SCHEMA;
use crate::report::Style;

#[derive(Debug, clap::Args)]
pub struct ListenArgs {
    /// Where to listen: `:PORT` (every interface, IPv4 and IPv6), IP:PORT,
    /// [IPv6]:PORT or NAME:PORT. Port 0 picks a free port (printed first).
    #[arg(required = true, value_name = "ADDR")]
    pub addrs: Vec<String>,
    /// What the receiver expects: auto (v1, v2 or no header; results are
    /// spoofable), require (nginx `listen ... proxy_protocol`), off (nginx
    /// without it: a header gets 400 Bad Request).
    #[arg(long, value_enum, default_value_t = Mode::Auto, value_name = "MODE")]
    pub proxy_protocol: Mode,
    /// Peers allowed to send a header, like nginx `set_real_ip_from` (repeat
    /// or comma-separate; a bare IP is a /32 or /128). Others' headers are
    /// rejected (require) or ignored (auto). Without it, anyone may.
    #[arg(long, value_name = "CIDR", value_delimiter = ',', value_parser = parse_cidr)]
    pub trust: Vec<IpNet>,
    /// Largest v2 header accepted, in bytes (16 + len).
    #[arg(long, default_value_t = 4096, value_name = "BYTES", value_parser = clap::value_parser!(u32).range(16..=65551))]
    pub max_header: u32,
    /// Time allowed for a complete header (as ingress-nginx's
    /// proxy-protocol-header-timeout), e.g. 5s, 250ms.
    #[arg(long, default_value = "5s", value_name = "DURATION", value_parser = parse_duration)]
    pub header_timeout: Duration,
    /// Longest silence after the header before closing.
    #[arg(long, default_value = "60s", value_name = "DURATION", value_parser = parse_duration)]
    pub idle_timeout: Duration,
    /// Connections served at once; more wait in the kernel's backlog.
    #[arg(long, default_value_t = 4096, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub max_conns: u32,
    /// On SIGINT/SIGTERM, time in-flight connections get to finish.
    #[arg(long, default_value = "2s", value_name = "DURATION", value_parser = parse_duration)]
    pub drain: Duration,
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
    /// Exit 1 unless every connection's header claims this source IP.
    #[arg(long, value_name = "IP")]
    pub expect_src: Option<IpAddr>,
    /// Exit 1 unless every connection carried a header of this version.
    #[arg(long, value_name = "1|2", value_parser = clap::value_parser!(u8).range(1..=2))]
    pub expect_version: Option<u8>,
    /// JSON Lines on stdout: a "listening" object first (with the bound
    /// addresses), one "connection" object per connection, a "summary" at
    /// the end (docs/json.md). Without it the same events are text
    /// lines, also on stdout, starting with `listening on ADDR`.
    #[arg(long)]
    pub json: bool,
}

fn parse_cidr(s: &str) -> std::result::Result<IpNet, String> {
    s.parse::<IpNet>()
        .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
        .map_err(|_| format!("'{s}' is not a CIDR or IP (e.g. 10.0.0.0/8, 192.0.2.1, ::1)"))
}

impl ListenArgs {
    fn config(&self) -> Config {
        Config {
            mode: self.proxy_protocol,
            max_header: self.max_header as usize,
            header_timeout: self.header_timeout,
            idle_timeout: self.idle_timeout,
            max_conns: self.max_conns as usize,
            trust: self.trust.clone(),
            echo: self.echo,
            count: self.count,
            expect_src: self.expect_src,
            expect_version: self.expect_version,
            drain: self.drain,
        }
    }
}

#[derive(Serialize)]
struct ListeningJson {
    event: &'static str,
    schema: u32,
    transport: &'static str,
    addresses: Vec<String>,
    mode: &'static str,
}

pub fn run(args: &ListenArgs, style: Style) -> Result<ExitCode> {
    crate::net::runtime()?.block_on(serve(args, style))
}

async fn serve(args: &ListenArgs, style: Style) -> Result<ExitCode> {
    let listeners = bind::bind_all(&args.addrs, args.udp)
        .await
        .map_err(|e| Error::Other(e.into()))?;
    let addrs: Vec<String> = listeners
        .local_addrs()
        .iter()
        .map(|(_, a)| a.to_string())
        .collect();
    let transport = if args.udp { "udp" } else { "tcp" };
    let first = if args.json {
        serde_json::to_string(&ListeningJson {
            event: "listening",
            schema: SCHEMA,
            transport,
            addresses: addrs.clone(),
            mode: args.proxy_protocol.name(),
        })
        .map_err(|e| Error::Other(e.into()))?
    } else {
        format!(
            "listening on {} ({transport}, proxy-protocol {})",
            addrs.join(" "),
            args.proxy_protocol.name()
        )
    };
    super::print(&format!("{first}\n"))?;

    let (tx, rx) = mpsc::channel::<ConnRecord>(1024);
    let json = args.json;
    let writer = std::thread::spawn(move || write_records(rx, json, style));
    let summary = listen::run(listeners, args.config(), stop_signal(), tx).await;
    let written = writer.join().unwrap_or(Ok(()));

    let text = if json {
        format!("{}\n", summary.json())
    } else {
        summary.human(style)
    };
    super::print(&text)?;
    written?;
    if summary.interrupted && args.count.is_some() {
        return Ok(ExitCode::Interrupted);
    }
    Ok(ExitCode::check(summary.all_matched()))
}

/// The writer thread: one line (or block) per record. Lines are buffered
/// while more records are queued and flushed as soon as the queue is empty
/// (and at the end), so output keeps up with the connections without one
/// write(2) per line, and nothing is left unflushed when the server stops.
fn write_records(mut rx: mpsc::Receiver<ConnRecord>, json: bool, style: Style) -> Result<()> {
    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(64 * 1024, stdout.lock());
    let mut result: io::Result<()> = Ok(());
    loop {
        let rec = match rx.try_recv() {
            Ok(rec) => rec,
            Err(TryRecvError::Empty) => {
                if result.is_ok() {
                    result = out.flush();
                }
                match rx.blocking_recv() {
                    Some(rec) => rec,
                    None => break,
                }
            }
            Err(TryRecvError::Disconnected) => break,
        };
        // After a write error, keep draining so senders never block.
        if result.is_ok() {
            let text = if json {
                format!("{}\n", rec.json())
            } else {
                rec.human(style)
            };
            result = out.write_all(text.as_bytes());
        }
    }
    if result.is_ok() {
        result = out.flush();
    }
    result.map_err(|e| Error::io("writing to stdout", e))
}

/// SIGINT or SIGTERM.
async fn stop_signal() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {},
        _ = term => {},
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("5s"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_duration("2"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("1m"), Ok(Duration::from_secs(60)));
        assert!(parse_duration("5x").is_err());
        assert!(parse_duration("-1s").is_err());
    }
}
