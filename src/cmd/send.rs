//! `ppctl send TARGET`: options, turned into a [`send::Plan`], run once,
//! dry, or as a load.

use std::io::Read;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use super::values::parse_duration;
use super::values::Choice;
use crate::codec::corrupt::Corruption;
use crate::codec::{Command, Transport, Version};
use crate::error::{Error, ExitCode, Result};
use crate::input;
use crate::net::{self, Split, Target};
use crate::protocol::{Chosen, Protocol};
use crate::report::progress::Progress;
use crate::report::{self, Style};
use crate::send::load::Watch;
use crate::send::{self, AddressPlan, Expect, How, LoadOptions, Outcome, Plan, Speak};

const SEND_HELP: &str = concat!(
    "\
Version: without -1/-2, ppctl sends v1 (what curl --haproxy-protocol sends),
or v2 when an option needs it (--local, UNIX, --udp, a TLV, a v2-only
--corrupt).
Addresses default to the real socket ends, as curl does.
TLV order (HAProxy's): --tlv ones, CRC32C, ALPN, AUTHORITY, UNIQUE_ID, SSL,
NETNS, AWS, AZURE, GCP, NOOP.
DURATION: 500ms, 2s, 1m (a bare number is seconds).
--tls: the header goes in clear, then the TLS handshake, then the request;
the certificate is verified (system roots, or --cacert) unless -k.
--protocol smtp|imap|pop3|mysql|ssh: after the header, wait for the server's
greeting (up to --greeting-timeout), send a harmless first command (EHLO,
CAPABILITY, CAPA, a login as user ppctl, an SSH identification), judge the
answer in the server's words, then say goodbye (QUIT, LOGOUT); postgres and
redis send theirs with the header (SSLRequest, PING). --starttls then asks
for TLS and reports the handshake as --tls does. See docs/protocols.md.
The reply is judged as one finding (name and code, e.g. unexpected-header
(PP-UNEXPECTED-HEADER)) with its fixes: see docs/verdicts.md. Presets (--like)
are described in docs/presets.md; --json in docs/json.md.

Examples:
  ppctl send 127.0.0.1:8080
      A v1 header with the real socket ends, then a GET; judge the reply.
  ppctl send lb.example.com:443 -2 --src 203.0.113.7:4444 --expect-status 200
      A v2 header claiming a client address; exit 0 only on HTTP 200.
  ppctl send 127.0.0.1:8080 --like aws-nlb-health --dry-run
      Show the AWS NLB health-check header and what receivers would do.
  ppctl send 10.0.0.5:443 -2 --tls -k --sni app.example --host app.example
      A v2 header, then TLS: a 443 ingress by IP with its SNI and Host.
  ppctl send 127.0.0.1:8080 --connections 1000 --concurrency 50 --json
      Load: 1000 exchanges, 50 at a time; rate, latency, findings.
  ppctl send mail.internal:25 --protocol smtp
      A v1 header, then SMTP: Postfix without PROXY support answers the
      header line with 500 5.5.2 (unexpected-header).
  ppctl send mail.internal:10025 --protocol smtp --no-header
      A client that skips the proxy: no banner, then 421 (missing-header).
  ppctl send mail.internal:10143 --protocol imap --starttls --cacert ca.pem
      A header, the greeting, CAPABILITY, STARTTLS and the handshake.
  ppctl send db.internal:3306 --protocol mysql --src 203.0.113.7:5000
      MariaDB names the client it sees in its answer to the login.

",
    super::exit_rule!(),
    "
send judges the reply to its exchange (with --connections, every exchange:
one with a problem finding is 1); a refused or unreachable target is
no-receiver or unreachable: 1. --dry-run judges nothing: 0. Out of file
descriptors is 2 (lower --concurrency or raise ulimit -n)."
);

#[derive(Debug, clap::Args)]
#[command(after_help = SEND_HELP)]
#[command(group(clap::ArgGroup::new("tls_layer").args(["tls", "starttls"]).multiple(true)))]
pub struct SendArgs {
    /// Where to send: HOST:PORT, [IPv6]:PORT or NAME:PORT.
    #[allow(rustdoc::broken_intra_doc_links)] // `[IPv6]` is --help text
    pub(crate) target: String,

    /// Send a v1 (text) header.
    #[arg(
        short = '1',
        long = "v1",
        conflicts_with_all = ["v2", "like"],
        help_heading = "Header"
    )]
    pub(crate) v1: bool,
    /// Send a v2 (binary) header.
    #[arg(
        short = '2',
        long = "v2",
        conflicts_with = "like",
        help_heading = "Header"
    )]
    pub(crate) v2: bool,
    /// v2 LOCAL command (a health check) instead of PROXY; no addresses
    /// unless --src/--dst are given.
    #[arg(long, conflicts_with = "like", help_heading = "Header")]
    pub(crate) local: bool,
    /// Claimed source [default: the real local end of the socket].
    #[arg(long, value_name = "IP:PORT", help_heading = "Header")]
    pub(crate) src: Option<SocketAddr>,
    /// Claimed destination [default: the real peer end of the socket].
    #[arg(long, value_name = "IP:PORT", help_heading = "Header")]
    pub(crate) dst: Option<SocketAddr>,
    /// No addresses: v1 `PROXY UNKNOWN`, v2 AF_UNSPEC.
    #[arg(long, conflicts_with_all = ["src", "dst", "unix_src", "like"], help_heading = "Header")]
    pub(crate) unknown: bool,
    /// UNIX source path (v2; a leading @ is the abstract namespace).
    #[arg(long, value_name = "PATH", requires = "unix_dst", conflicts_with_all = ["src", "dst", "like"], help_heading = "Header")]
    pub(crate) unix_src: Option<String>,
    /// UNIX destination path (v2).
    #[arg(
        long,
        value_name = "PATH",
        requires = "unix_src",
        help_heading = "Header"
    )]
    pub(crate) unix_dst: Option<String>,
    /// UDP: a v2 DGRAM header and the payload in one datagram.
    #[arg(long, conflicts_with_all = ["split", "wait_banner"], help_heading = "Header")]
    pub(crate) udp: bool,
    #[command(flatten)]
    pub(crate) header: super::header_args::HeaderArgs,

    /// Path of the default HTTP request.
    #[arg(long, default_value = "/", help_heading = "Payload")]
    pub(crate) path: String,
    /// Send this text after the header instead of the GET (\r \n \t \\ \xNN
    /// escapes); `-` reads stdin.
    #[arg(long, conflicts_with_all = ["data_file", "no_payload"], help_heading = "Payload")]
    pub(crate) data: Option<String>,
    /// Send this file's bytes after the header; `-` reads stdin.
    #[arg(
        long,
        value_name = "FILE",
        conflicts_with = "no_payload",
        help_heading = "Payload"
    )]
    pub(crate) data_file: Option<PathBuf>,
    /// Send the header alone.
    #[arg(long, help_heading = "Payload")]
    pub(crate) no_payload: bool,

    /// Cut the header into pieces: at byte offsets (5,12) or `bytewise`.
    #[arg(long, value_name = "OFFSETS|bytewise", value_parser = parse_split, help_heading = "Faults")]
    pub(crate) split: Option<Split>,
    /// Pause between the pieces of --split.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, requires = "split", help_heading = "Faults")]
    pub(crate) split_delay: Option<Duration>,
    #[arg(long, help = wait_banner_help(), value_name = "DURATION", num_args = 0..=1, default_missing_value = default_banner_wait(), value_parser = parse_duration, help_heading = "Faults")]
    pub(crate) wait_banner: Option<Duration>,
    /// Send the header twice (a stacked header).
    #[arg(long, help_heading = "Faults")]
    pub(crate) twice: bool,
    /// Break the header on purpose (crc adds a CRC32C TLV if needed).
    #[arg(long, value_name = "KIND", help_heading = "Faults", value_parser = Choice::new(&Corruption::ALL, Corruption::name, Corruption::describe))]
    pub(crate) corrupt: Option<Corruption>,
    /// Send these bytes (hex) instead of a header.
    #[arg(long, value_name = "HEX", conflicts_with_all = ["like", "v1", "v2", "local", "unknown", "src", "dst", "unix_src", "tlvs", "corrupt", "twice", "crc32c"], help_heading = "Faults")]
    pub(crate) raw: Option<String>,

    /// Print the header that would be sent, and send nothing.
    #[arg(long, help_heading = "Run")]
    pub(crate) dry_run: bool,
    /// How long to wait for the reply (and for each further piece of it).
    #[arg(long, value_name = "DURATION", default_value = default_timeout(), value_parser = parse_duration, help_heading = "Run")]
    pub(crate) timeout: Duration,
    /// How long to wait for the connection.
    #[arg(long, value_name = "DURATION", default_value = default_connect_timeout(), value_parser = parse_duration, help_heading = "Run")]
    pub(crate) connect_timeout: Duration,
    /// Keep at most this many reply bytes.
    #[arg(
        long,
        value_name = "BYTES",
        default_value_t = net::Options::default().max_reply,
        help_heading = "Run"
    )]
    pub(crate) max_reply: usize,
    /// Exit 0 only if the reply is an HTTP response with this status.
    #[arg(long, value_name = "CODE", help_heading = "Run")]
    pub(crate) expect_status: Option<u16>,
    /// Exit 0 only if the receiver closes or resets without replying.
    #[arg(long, help_heading = "Run")]
    pub(crate) expect_close: bool,
    /// Print one JSON object (docs/json.md).
    #[arg(long, help_heading = "Run")]
    pub(crate) json: bool,

    /// Load mode: make N connections (each one exchange).
    #[arg(long, value_name = "N", default_value_t = LoadOptions::default().connections, help_heading = "Load")]
    pub(crate) connections: u64,
    /// Load mode: at most C connections at a time.
    #[arg(long, value_name = "C", default_value_t = LoadOptions::default().concurrency, help_heading = "Load")]
    pub(crate) concurrency: usize,
    /// Load mode: stop after this long (exchanges under way are stopped).
    #[arg(long, value_name = "DURATION", default_value = default_load_duration(), value_parser = parse_duration, help_heading = "Load")]
    pub(crate) duration: Duration,
    /// The longest one exchange may take in all (connect, writes and the
    /// whole reply), however slowly the peer trickles (curl's --max-time).
    #[arg(long, value_name = "DURATION", default_value = default_max_time(), value_parser = parse_max_time, help_heading = "Run")]
    pub(crate) max_time: Duration,

    #[command(flatten)]
    pub(crate) http: super::send_http::HttpArgs,
    #[command(flatten)]
    pub(crate) tls: super::send_http::TlsArgs,
    #[command(flatten)]
    pub(crate) speak: super::protocol_args::ProtocolArgs,
}

pub fn run(args: &SendArgs, style: Style) -> Result<ExitCode> {
    let target: Target = args
        .target
        .parse()
        .map_err(|e: net::TargetError| Error::usage(e.to_string()))?;
    let plan = plan(args, target)?;
    plan.check().map_err(build_error)?;
    let how = if args.dry_run {
        How::DryRun
    } else if args.connections > 1 {
        How::Load(LoadOptions {
            connections: args.connections,
            concurrency: super::values::fit_descriptors(
                "--concurrency",
                args.concurrency
                    .min(usize::try_from(args.connections).unwrap_or(usize::MAX)),
                1,
                0,
            )?,
            duration: args.duration,
        })
    } else {
        How::Once
    };
    let runtime = net::runtime()?;
    let addrs = runtime
        .block_on(args.http.routes().addresses(&plan.target))
        .map_err(|e| Error::Other(e.into()))?;
    let (watch, progress) = match how {
        How::Load(opts) => load_watch(opts)?,
        _ => (Watch::default(), Progress::hidden()),
    };
    let sent = runtime
        .block_on(send::run(plan, &addrs, how, &watch))
        .map_err(build_error)?;
    progress.clear();
    if let Some(e) = local_error(&sent) {
        return Err(Error::Other(anyhow::anyhow!(
            "out of file descriptors ({e}): this is a limit of this host, not a finding about the target; lower --concurrency or raise `ulimit -n`"
        )));
    }
    if args.json {
        super::print(&report::send::json(&sent))?;
    } else {
        super::print(&report::send::human(&sent, style))?;
    }
    Ok(match &sent.outcome {
        Outcome::DryRun => ExitCode::Success,
        Outcome::Load(l) if l.interrupted => {
            super::interrupt::say_partial(&format!(
                "the statistics cover the {} of {} connections made before it",
                l.connections, args.connections
            ));
            ExitCode::Interrupted
        }
        Outcome::Load(l) => ExitCode::check(l.passed()),
        Outcome::Once(x) => ExitCode::check(x.ok()),
    })
}

/// A load run's watch: Ctrl-C ends it with the statistics so far, and a
/// bar on stderr (a terminal only) counts the connections.
fn load_watch(opts: LoadOptions) -> Result<(Watch, Progress)> {
    let progress = Progress::count(opts.connections, "connections");
    let ok = Arc::new(AtomicU64::new(0));
    let bar = progress.clone();
    let watch = Watch {
        on_step: Some(Arc::new(move |&passed: &bool| {
            let ok = ok.fetch_add(u64::from(passed), Ordering::Relaxed) + u64::from(passed);
            bar.inc(1);
            bar.say(format!("{ok} ok"));
        })),
        interrupt: super::interrupt::catch_ctrl_c()?,
    };
    Ok((watch, progress))
}

/// The error of a run that ran out of file descriptors.
fn local_error(sent: &send::Sent) -> Option<String> {
    match &sent.outcome {
        Outcome::Once(x) if x.reply.end == net::End::LocalLimit => Some(
            x.reply
                .error
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
        ),
        Outcome::Load(l) => l.local_error.as_ref().map(ToString::to_string),
        _ => None,
    }
}

fn build_error(e: send::BuildError) -> Error {
    Error::usage(format!("can't build this header: {e}"))
}

/// The defaults of the duration flags, from the engine's own defaults.
fn default_timeout() -> &'static str {
    static S: OnceLock<String> = OnceLock::new();
    S.get_or_init(|| crate::duration::show(net::Options::default().reply_timeout))
}

fn default_connect_timeout() -> &'static str {
    static S: OnceLock<String> = OnceLock::new();
    S.get_or_init(|| crate::duration::show(net::Options::default().connect_timeout))
}

fn default_banner_wait() -> &'static str {
    static S: OnceLock<String> = OnceLock::new();
    S.get_or_init(|| crate::duration::show(send::BANNER_WAIT))
}

fn wait_banner_help() -> String {
    format!(
        "Wait for the server to speak first (up to DURATION, default {}) before sending",
        default_banner_wait()
    )
}

fn default_max_time() -> &'static str {
    static S: OnceLock<String> = OnceLock::new();
    S.get_or_init(|| crate::duration::show(net::MAX_TIME))
}

/// `--max-time`: a duration above zero.
fn parse_max_time(s: &str) -> std::result::Result<Duration, String> {
    match parse_duration(s)? {
        d if d.is_zero() => Err("--max-time must be more than 0 (e.g. 10s)".into()),
        d => Ok(d),
    }
}

fn default_load_duration() -> &'static str {
    static S: OnceLock<String> = OnceLock::new();
    S.get_or_init(|| crate::duration::show(LoadOptions::default().duration))
}

/// Decide everything from the options.
fn plan(args: &SendArgs, target: Target) -> Result<Plan> {
    let tlvs = args.header.tlvs();
    let unix = args.unix_src.clone().zip(args.unix_dst.clone());
    let needs_v2 = args.local
        || unix.is_some()
        || args.udp
        || !tlvs.is_empty()
        || args.corrupt.is_some_and(|c| !c.applies_to(Version::V1));
    let version = if args.v1 {
        Version::V1
    } else if args.v2 || needs_v2 {
        Version::V2
    } else {
        Version::V1
    };
    let mut header = args.header.plan(version);
    if args.header.like.is_none() {
        if args.local {
            header.command = Command::Local;
        }
        header.addresses = match unix {
            Some((src, dst)) => AddressPlan::Unix { src, dst },
            None if args.unknown => AddressPlan::Unknown,
            None if args.local && args.src.is_none() && args.dst.is_none() => AddressPlan::Unknown,
            None => AddressPlan::Inet {
                src: args.src,
                dst: args.dst,
            },
        };
    } else if matches!(header.addresses, AddressPlan::Inet { .. }) {
        header.addresses = AddressPlan::Inet {
            src: args.src,
            dst: args.dst,
        };
    }
    if args.udp {
        header.transport = Transport::Dgram;
    }
    header.corrupt = args.corrupt;
    header.twice = args.twice;
    header.raw = args.raw.as_deref().map(parse_hex).transpose()?;
    if args.tls.no_header {
        header.raw = Some(Vec::new());
    }

    let (protocol, speak) = protocol(args, &target)?;
    let payload = payload(args, &target, protocol.0)?;
    let tls = if protocol.0 == Protocol::Tls && !args.tls.tls {
        let mut forced = args.tls.starttls_options(&target)?;
        forced.alpn = vec![super::send_http::TLS_ALPN.to_string()];
        Some(forced)
    } else {
        args.tls.options(&target)?
    };
    let net = net::Options {
        connect_timeout: args.connect_timeout,
        banner_timeout: args.wait_banner,
        reply_timeout: args.timeout,
        max_reply: args.max_reply.max(1),
        split: args.split.clone().unwrap_or_default(),
        split_delay: args.split_delay.unwrap_or(Duration::ZERO),
        max_time: args.max_time,
        ..net::Options::default()
    };
    if args.concurrency == 0 || args.connections == 0 {
        return Err(Error::usage(
            "--connections and --concurrency must be at least 1",
        ));
    }
    Ok(Plan {
        target,
        header,
        payload,
        udp: args.udp,
        net,
        expect: Expect {
            status: args.expect_status,
            close: args.expect_close,
        },
        tls,
        protocol,
        speak,
    })
}

/// What is spoken after the header: send's own HTTP request (or `--data`),
/// TLS, or a conversation in a protocol of `crate::protocol`
/// (`--protocol smtp`...; `auto` by the port, else by the greeting).
fn protocol(args: &SendArgs, target: &Target) -> Result<((Protocol, Chosen), Option<Speak>)> {
    let own_payload = args.data.is_some() || args.data_file.is_some() || args.no_payload;
    let Some(selection) = args.speak.selection() else {
        args.speak.check_starttls(None).map_err(Error::usage)?;
        let default = if own_payload || args.udp {
            Protocol::Raw
        } else {
            Protocol::Http
        };
        return Ok(((default, Chosen::Default), None));
    };
    let known = selection.before_talking(target.port);
    let converses = match known {
        Some((p, _)) => !matches!(p, Protocol::Http | Protocol::Tls | Protocol::Raw),
        None => true,
    };
    args.speak
        .check_starttls(known.map(|(p, _)| p).filter(|_| converses))
        .map_err(Error::usage)?;
    if !converses {
        let (p, chosen) = known.unwrap_or((Protocol::Http, Chosen::Named));
        return Ok(((p, chosen), None));
    }
    let name = known.map_or("auto", |(p, _)| p.name());
    let clash = [
        (own_payload, "--data, --data-file and --no-payload"),
        (args.udp, "--udp"),
        (args.tls.tls, "--tls (use --starttls)"),
    ]
    .into_iter()
    .find(|(clash, _)| *clash);
    if let Some((_, what)) = clash {
        return Err(Error::usage(format!(
            "--protocol {name} speaks the protocol's own opening after the header: it does not go with {what}"
        )));
    }
    let starttls = if args.speak.starttls {
        Some(args.tls.starttls_options(target)?)
    } else {
        None
    };
    let (protocol, chosen) = known.map_or((None, Chosen::Greeting), |(p, c)| (Some(p), c));
    let speak = Speak {
        protocol,
        chosen,
        greeting_timeout: args.speak.greeting_timeout.0,
        starttls,
        http_request: args.http.request(&args.path).bytes(target, false),
    };
    let shown = protocol.unwrap_or(Protocol::Raw);
    Ok(((shown, chosen), Some(speak)))
}

fn payload(args: &SendArgs, target: &Target, protocol: Protocol) -> Result<Vec<u8>> {
    let stdin = || {
        let mut buf = Vec::new();
        std::io::stdin()
            .read_to_end(&mut buf)
            .map_err(|e| Error::io("reading the payload from stdin", e))
            .map(|_| buf)
    };
    if args.no_payload {
        return Ok(Vec::new());
    }
    if let Some(data) = &args.data {
        return if data == "-" { stdin() } else { unescape(data) };
    }
    if let Some(path) = &args.data_file {
        if path.as_os_str() == "-" {
            return stdin();
        }
        return std::fs::read(path)
            .map_err(|e| Error::io(format!("reading --data-file {}", path.display()), e));
    }
    if args.udp || !matches!(protocol, Protocol::Http | Protocol::Tls) {
        // A raw connection without --data, or a protocol's conversation
        // (its opening comes after the greeting, from crate::protocol).
        return Ok(Vec::new());
    }
    let tls = args.tls.tls || protocol == Protocol::Tls;
    Ok(args.http.request(&args.path).bytes(target, tls))
}

/// `--data` text with \r \n \t \0 \\ and \xNN escapes.
fn unescape(s: &str) -> Result<Vec<u8>> {
    input::parse_escaped(s).map_err(|e| Error::usage(format!("--data: {e}")))
}

/// `--raw` hex: spaces, colons and a 0x prefix are allowed.
fn parse_hex(s: &str) -> Result<Vec<u8>> {
    input::parse_hex(s).map_err(|e| Error::usage(format!("--raw: {e}")))
}

/// `--split`: `bytewise`, or comma-separated byte offsets.
fn parse_split(s: &str) -> std::result::Result<Split, String> {
    if s.eq_ignore_ascii_case("bytewise") {
        return Ok(Split::Bytewise);
    }
    s.split(',')
        .map(|o| o.trim().parse::<usize>())
        .collect::<std::result::Result<Vec<_>, _>>()
        .map(Split::At)
        .map_err(|_| format!("{s:?} is neither `bytewise` nor byte offsets like 5,12"))
}
