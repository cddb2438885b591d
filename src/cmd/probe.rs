//! `ppctl probe HOST:PORT`: what does this endpoint expect?

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ipnet::IpNet;

use super::values::{parse_cidr, parse_duration, Choice, Wait};
use crate::diagnose::probe::{
    self, Class, Expectation, HeaderKind, Mode, DEFAULT_TIMEOUT, MAX_TIMEOUT,
};
use crate::error::{Error, ExitCode, Result};
use crate::net::{self, Target, Watch};
use crate::protocol::Chosen;
use crate::report::progress::Progress;
use crate::report::{self, Style};

#[derive(Debug, clap::Args)]
#[command(after_help = concat!("\
--expect takes a profile (the JSON `class`), not a finding: each attempt gets
its own finding, and the profile the one it leads to (no-header leads to
unexpected-header, optional to spoofable; see docs/verdicts.md). Repeat it
(or comma-separate) to allow any of several. accepts-v2 passes where a v2
sender is served and a client without a header is not (requires-v2 or
requires-v1-or-v2: HAProxy accept-proxy, nginx proxy_protocol); likewise
accepts-v1. optional never counts as accepting: add --expect optional to
allow it.

--expect-body and --expect-client-ip look at the answers to the attempts
accepted with a PROXY header (v1, v2; over --tls, the decrypted answer): each
must pass, and they fail when no attempt was accepted with one.

--protocol smtp|imap|pop3|mysql|postgres|redis|ssh: each attempt speaks the
protocol after its header (the greeting, then EHLO, CAPABILITY, CAPA, a login,
SSLRequest, PING or an SSH identification) and is judged in the server's
words; accepted when the server greets (or answers) and refuses nothing. An
attempt without a header that gets no greeting while the others do shows a
server waiting for a header (Postfix's 421 after smtpd_upstream_proxy_timeout,
Dovecot's close after haproxy_timeout): --greeting-timeout must outlast that
wait (6s by default; Postfix waits 5s). Silence to every attempt is
inconclusive: not this protocol. auto takes the well-known port's protocol,
else the one the server greets in. See docs/protocols.md.

Examples:
  ppctl probe ingress.internal:80
  ppctl probe ingress.internal:443 --tls --expect accepts-v2
  ppctl probe ingress.internal:443 --tls \\
      --expect requires-v2 --expect requires-v1-or-v2
  ppctl probe 10.0.0.5:8080 --expect accepts-v1 --expect-body 'ok' \\
      --expect-client-ip 10.0.0.0/8
  ppctl probe mail.internal:10025 --protocol smtp --expect accepts-v2
  ppctl probe mail.internal:143 --protocol auto
  ppctl probe db.internal:3306 --protocol mysql --expect no-header
  ppctl probe smtp.internal:2525 --banner --timeout 5s
  ppctl probe 10.0.0.5:8080 --json | jq -r .finding.name

--watch repeats the probe and prints a line when something changes;
--serve answers Prometheus' scrapes (docs/monitoring.md):
  kubectl rollout status deploy/ingress && \\
    ppctl probe --watch --until accepts-v2 lb.internal:443 --tls --max-time 5m
  ppctl probe --serve 127.0.0.1:9115 --config ppctl.yml
  curl '127.0.0.1:9115/probe?target=ingress.internal:80&module=proxy_v2'

", super::exit_rule!(), "
probe concludes the endpoint's profile (requires-v2, no-header, optional,
...: the JSON `class`). A profile is a fact about the endpoint, not a
problem: 0 whatever the attempts' findings, and for inconclusive; 1 only
when no attempt could connect (no-receiver, unreachable). Gate on the
profile with --expect. --watch --until ends 0 as soon as the profile meets
it, 1 when --max-time comes first, 130 on SIGINT before; without --until a
watch ends as its last probe would. --serve runs until SIGINT/SIGTERM, then
0; a config it cannot read or an address it cannot bind is 2."))]
pub struct ProbeArgs {
    /// The endpoint: HOST:PORT, [IPv6]:PORT or NAME:PORT.
    #[allow(rustdoc::broken_intra_doc_links)] // `[IPv6]` is --help text
    #[arg(required_unless_present = "serve")]
    pub(crate) target: Option<String>,
    /// Send a TLS ClientHello after the header instead of an HTTP request
    /// (the certificate is never verified).
    #[arg(long, conflicts_with = "banner")]
    pub(crate) tls: bool,
    /// Send nothing after the header: wait for any banner (for a
    /// protocol ppctl knows, --protocol smtp, imap, pop3, mysql or ssh
    /// judges its greeting and answer in its words).
    #[arg(long)]
    pub(crate) banner: bool,
    /// The SNI (default: the target's host name; none for an IP, which
    /// TLS does not put in SNI).
    #[arg(long, value_name = "NAME", requires = "tls")]
    pub(crate) sni: Option<String>,
    /// How long to wait for the connect and for each reply (500ms, 2s, 1m;
    /// at most 60s).
    #[arg(
        long,
        value_name = "DURATION",
        default_value_t = Wait(DEFAULT_TIMEOUT),
        value_parser = parse_wait,
        overrides_with = "timeout"
    )]
    pub(crate) timeout: Wait,
    /// The longest one attempt may take in all (connect, header and the
    /// whole reply), however slowly the endpoint trickles; at most 60s
    /// [default: 10s]. With --watch: the longest the whole watch may take
    /// (5m, 1h; default: 10m with --until, else until SIGINT).
    #[arg(long, value_name = "DURATION", value_parser = parse_long_wait)]
    pub(crate) max_time: Option<Wait>,
    /// Exit 1 unless the endpoint's profile meets one of these (for CI;
    /// repeat or comma-separate: any one passes).
    #[arg(
        long,
        value_name = "CLASS",
        value_delimiter = ',',
        action = clap::ArgAction::Append,
        value_parser = Choice::new(&Expectation::ALL, Expectation::name, Expectation::describe)
    )]
    pub(crate) expect: Vec<Expectation>,
    /// Exit 1 unless the body of each answer to an attempt accepted with a
    /// PROXY header contains PATTERN (a plain substring, not a regex; over
    /// --tls, the decrypted answer; the first 4096 bytes are searched).
    #[arg(long, value_name = "PATTERN")]
    pub(crate) expect_body: Option<String>,
    /// Exit 1 unless the client address the receiver reports to each
    /// attempt accepted with a PROXY header is in one of these (repeat or
    /// comma-separate; a bare IP is a /32 or /128). The address is read
    /// from a whoami page: ppctl listen's `remote_addr (realip): IP`, or
    /// `remote_addr=IP` in the body (nginx `return 200
    /// "remote_addr=$remote_addr"`), or with --protocol mysql from
    /// MariaDB's answer to the login (`Host '…'`, `'ppctl'@'…'`): the
    /// JSON's `client_ip`. (listen's --expect-src checks the source a
    /// header claims instead.)
    #[arg(
        long,
        alias = "expect-src",
        value_name = "CIDR",
        value_delimiter = ',',
        action = clap::ArgAction::Append,
        value_parser = parse_cidr
    )]
    pub(crate) expect_client_ip: Vec<IpNet>,
    /// Print one JSON object (docs/json.md); with --watch, one JSON line
    /// per change; with --serve, the first line.
    #[arg(long)]
    pub(crate) json: bool,
    #[command(flatten)]
    pub(crate) watch: super::probe_watch::WatchArgs,
    #[command(flatten)]
    pub(crate) serve: super::probe_serve::ServeArgs,
    #[command(flatten)]
    pub(crate) speak: super::protocol_args::ProtocolArgs,
}

/// `--max-time`: any positive duration here; [`run`] holds a single
/// probe's to [`MAX_TIMEOUT`] (a watch's may be longer).
fn parse_long_wait(s: &str) -> std::result::Result<Wait, String> {
    let d = parse_duration(s)?;
    if d.is_zero() {
        return Err(format!(
            "'{s}' is not a usable time limit: give more than 0 (e.g. 5s, or 5m with --watch)"
        ));
    }
    Ok(Wait(d))
}

fn parse_wait(s: &str) -> std::result::Result<Wait, String> {
    let d = parse_duration(s)?;
    if d.is_zero() || d > MAX_TIMEOUT {
        return Err(format!(
            "'{s}' is not a usable timeout: give more than 0 and at most {} (e.g. 500ms or 2s)",
            Wait(MAX_TIMEOUT)
        ));
    }
    Ok(Wait(d))
}

pub fn run(args: &ProbeArgs, style: Style) -> Result<ExitCode> {
    if let Some(addr) = &args.serve.serve {
        return super::probe_serve::run(addr, &args.serve, args.json, style);
    }
    let target: Target = args
        .target
        .as_deref()
        .unwrap_or_default()
        .parse()
        .map_err(|e: net::TargetError| Error::usage(e.to_string()))?;
    let max_time = match args.max_time {
        Some(Wait(d)) if !args.watch.watch && d > MAX_TIMEOUT => {
            return Err(Error::usage(format!(
                "--max-time {}: one probe's attempts take at most {} each (a longer --max-time bounds a --watch)",
                Wait(d),
                Wait(MAX_TIMEOUT)
            )))
        }
        Some(Wait(d)) if !args.watch.watch => d,
        _ => net::MAX_TIME,
    };
    let (mode, chosen) = mode(args, &target, max_time)?;
    let opts = probe::Options {
        mode,
        timeout: args.timeout.0,
        max_time,
        sni: args.sni.clone(),
        expect: probe::Expect {
            forms: args.expect.clone(),
            body: args.expect_body.clone(),
            client_ip: args.expect_client_ip.clone(),
        },
    };
    if args.watch.watch {
        let limit = args.max_time.map(|w| w.0);
        return super::probe_watch::run(&target, opts, &args.watch, limit, args.json, style);
    }
    // Four attempts, each up to --timeout: a bar on a terminal counts them,
    // and Ctrl-C stops (a profile needs all four).
    let progress = Progress::count(HeaderKind::ALL.len() as u64, "attempts");
    let bar = progress.clone();
    let made = Arc::new(AtomicUsize::new(0));
    let counted = made.clone();
    let watch = Watch {
        on_step: Some(Arc::new(move |a: &probe::Attempt| {
            counted.fetch_add(1, Ordering::Relaxed);
            bar.inc(1);
            bar.say(a.kind.name());
        })),
        interrupt: super::interrupt::catch_ctrl_c()?,
    };
    let result = net::runtime()?.block_on(async {
        let addrs = target
            .resolve()
            .await
            .map_err(|e| Error::usage(e.to_string()))?;
        Ok::<_, Error>(probe::probe_watched(&target, &addrs, &opts, &watch).await)
    })?;
    progress.clear();
    let Some(result) = result else {
        super::interrupt::say_partial(&format!(
            "after {} of {} attempts: no profile (it needs all of them)",
            made.load(Ordering::Relaxed),
            HeaderKind::ALL.len()
        ));
        return Ok(ExitCode::Interrupted);
    };
    let mut result = result;
    if let Some(chosen) = chosen {
        result.chosen = chosen;
    }
    let text = if args.json {
        report::probe::json(&result)
    } else {
        report::probe::human(&result, style)
    };
    super::print(&text)?;
    Ok(match &result.checked {
        Some(checked) => {
            for line in report::probe::unmet(&result, checked) {
                eprintln!("ppctl: {line}");
            }
            ExitCode::check(checked.met())
        }
        None => ExitCode::check(result.class != Class::Unreachable),
    })
}

/// The mode from `--protocol` (or `--tls`, `--banner`), and how an HTTP or
/// TLS mode was chosen (a protocol's mode carries its own).
fn mode(args: &ProbeArgs, target: &Target, max_time: Duration) -> Result<(Mode, Option<Chosen>)> {
    if args.speak.starttls {
        return Err(Error::usage(
            "probe judges the PROXY layer and does not take --starttls: test the upgrade with `ppctl send --protocol smtp --starttls`",
        ));
    }
    let flag = if args.tls {
        Some(Mode::Tls)
    } else if args.banner {
        Some(Mode::Banner)
    } else {
        None
    };
    let Some(selection) = args.speak.selection() else {
        return Ok((flag.unwrap_or(Mode::Http), None));
    };
    let (mode, chosen) =
        Mode::of_selection(selection, Some(target.port), args.speak.greeting_timeout.0);
    if let Some(f) = flag.filter(|f| *f != mode) {
        let flag = if f == Mode::Tls { "--tls" } else { "--banner" };
        return Err(Error::usage(format!(
            "{flag} and --protocol {} ask for different things: give one of them",
            selection.name()
        )));
    }
    if let Mode::Speak(s) = mode {
        if s.greeting_timeout >= max_time {
            return Err(Error::usage(format!(
                "--greeting-timeout {} is not shorter than --max-time {}: an attempt would end before the greeting's wait; raise --max-time",
                Wait(s.greeting_timeout),
                Wait(max_time)
            )));
        }
    }
    Ok((mode, chosen))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_take_durations() {
        assert_eq!(parse_wait("2s"), Ok(Wait(Duration::from_secs(2))));
        assert_eq!(parse_wait("500ms"), Ok(Wait(Duration::from_millis(500))));
        assert_eq!(parse_wait("1.5"), Ok(Wait(Duration::from_millis(1500))));
        assert!(parse_wait("0").is_err());
        assert!(parse_wait("2m").is_err());
        assert_eq!(Wait(DEFAULT_TIMEOUT).to_string(), "2s");
        assert_eq!(Wait(Duration::from_millis(1500)).to_string(), "1500ms");
    }
}
