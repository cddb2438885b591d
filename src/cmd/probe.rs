//! `ppctl probe HOST:PORT`: what does this endpoint expect?

use std::time::Duration;

use crate::diagnose::probe::{self, Class, Mode};
use crate::error::{Error, ExitCode, Result};
use crate::net::{self, Target};
use crate::report::Style;

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Exit codes: 0 the probe ran (and matched --expect); 1 --expect not met, \
or the endpoint is unreachable; 2 usage or I/O error."
)]
pub struct ProbeArgs {
    /// The endpoint: HOST:PORT, [IPv6]:PORT or NAME:PORT.
    pub target: String,
    /// Send a TLS ClientHello after the header instead of an HTTP request
    /// (the certificate is never verified).
    #[arg(long, conflicts_with = "banner")]
    pub tls: bool,
    /// Send nothing after the header: wait for a server-speaks-first
    /// protocol's banner (SMTP, SSH, FTP, ...).
    #[arg(long)]
    pub banner: bool,
    /// TLS server name to send (default: the target's host).
    #[arg(long, requires = "tls")]
    pub sni: Option<String>,
    /// Seconds to wait for the connect and for each reply.
    #[arg(long, default_value_t = 2.0, value_parser = parse_timeout, overrides_with = "timeout")]
    pub timeout: f64,
    /// Exit 1 unless the endpoint is of this class (for CI).
    #[arg(long, value_enum)]
    pub expect: Option<Class>,
    /// Print one JSON object (docs/json.md).
    #[arg(long)]
    pub json: bool,
}

fn parse_timeout(s: &str) -> std::result::Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v > 0.0 && v <= 60.0 => Ok(v),
        _ => Err(format!(
            "{s:?} is not a number of seconds between 0 and 60 (e.g. 2 or 0.5)"
        )),
    }
}

pub fn run(args: &ProbeArgs, style: Style) -> Result<ExitCode> {
    let target: Target = args
        .target
        .parse()
        .map_err(|e: net::TargetError| Error::usage(e.to_string()))?;
    let mode = if args.tls {
        Mode::Tls
    } else if args.banner {
        Mode::Banner
    } else {
        Mode::Http
    };
    let opts = probe::Options {
        mode,
        timeout: Duration::from_secs_f64(args.timeout),
        sni: args.sni.clone(),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::io("starting the async runtime", e))?;
    let report = runtime.block_on(async {
        let addrs = target
            .resolve()
            .await
            .map_err(|e| Error::usage(e.to_string()))?;
        Ok::<_, Error>(probe::probe(&target, &addrs, &opts).await)
    })?;
    let text = if args.json {
        let mut s = serde_json::to_string_pretty(&report).map_err(|e| Error::Other(e.into()))?;
        s.push('\n');
        s
    } else {
        probe::render_human(&report, style)
    };
    super::print(&text)?;
    Ok(match args.expect {
        Some(expected) => {
            if expected != report.class {
                eprintln!(
                    "ppctl: expected {}, found {}",
                    expected.code(),
                    report.class.code()
                );
            }
            ExitCode::check(expected == report.class)
        }
        None => ExitCode::check(report.class != Class::Unreachable),
    })
}
