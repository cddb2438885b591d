//! `ppctl conform HOST:PORT`: grade a live receiver against the spec.

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;

use super::protocol_args::ProtocolArgs;
use super::values::{timeout, Choice, Wait};
use crate::conform::{self, Mode, Pattern};
use crate::error::{Error, ExitCode, Result};
use crate::net::{self, Target, TlsOptions, Verify, Watch};
use crate::protocol::{Protocol, Selection};
use crate::report::progress::Progress;
use crate::report::{self, Style};

const AFTER_HELP: &str = concat!(
    "\
Each test sends one thing (a header split at every offset, a v1 line with a
bare LF, a LOCAL header carrying addresses, ...) and grades what the
receiver did against the spec (HAProxy's proxy-protocol.txt, by section):
a MUST missed fails, a SHOULD or a common practice missed warns. `--list`
shows every test. Tests that need something not given are skipped with the
reason: --reflect (which address the receiver took), --from (a source
outside its allow-list), --slow (the timing tests, each bounded by
--slow-limit).

--reflect PATH is an HTTP path whose answer names the client address the
receiver took: nginx `return 200 \"$proxy_protocol_addr\";`, HAProxy
`http-request return status 200 lf-string \"%[src]\"`, Caddy
`respond \"{remote_host}\"`, or any path of `ppctl listen`.

--protocol is http unless given. With smtp, imap, pop3, mysql, postgres,
redis or ssh, each test's connection speaks the protocol after its header
(docs/protocols.md): a server that speaks first is served when it answers
the opening sent after its greeting (EHLO, CAPABILITY, CAPA, a login),
since a greeting alone shows nothing (a server without PROXY support
greets before it reads the header, and MariaDB greets every client). What
it said is shown in its words. Where its answers name the client
(MariaDB's `Access denied for user 'ppctl'@'203.0.113.7'`, an SMTP reply's
[address]), that is the reflector. --greeting-timeout must outlast the
server's own wait for a header (Postfix's smtpd_upstream_proxy_timeout)
for its answer to be seen. raw sends the line `ppctl conform`; served is
any byte back.

Examples:
  ppctl conform 127.0.0.1:8080
  ppctl conform 127.0.0.1:8080 --mode require --reflect / --from 127.0.0.2
  ppctl conform ingress.internal:443 --tls --reflect /whoami --junit conform.xml
  ppctl conform 127.0.0.1:8080 --only 'v2/*' --skip '*split*'
  ppctl conform mail.internal:10025 --protocol smtp --from 127.0.0.2
  ppctl conform db.internal:3306 --protocol mysql --mode optional
  ppctl conform 127.0.0.1:8080 --slow --slow-limit 10s --json | jq '.summary'
  ppctl conform --list

",
    super::exit_rule!(),
    "
conform judges the receiver against the spec: 1 when a MUST test failed
(warns and skips are 0), or when nothing answers at HOST:PORT (a finding
about the target). --mode auto that cannot tell the mode, --from not an
address of this host, a --reflect path that names no address and a --junit
FILE that cannot be written are 2."
);

#[derive(Debug, clap::Args)]
// --starttls comes with the shared protocol options; conform refuses it
// (it grades the PROXY layer), so it is not offered.
#[command(after_help = AFTER_HELP, mut_arg("starttls", |a| a.hide(true)))]
pub struct ConformArgs {
    /// The receiver: HOST:PORT, [IPv6]:PORT or NAME:PORT.
    #[allow(rustdoc::broken_intra_doc_links)] // `[IPv6]` is --help text
    #[arg(required_unless_present = "list")]
    pub(crate) target: Option<String>,
    /// TLS after the header (the certificate is never checked).
    #[arg(long)]
    pub(crate) tls: bool,
    /// The SNI (default: the target's host name; none for an IP).
    #[arg(long, value_name = "NAME")]
    pub(crate) sni: Option<String>,
    /// What the client speaks after the header, and what a served answer
    /// is (default: http).
    #[command(flatten)]
    pub(crate) speak: ProtocolArgs,
    /// How the receiver is configured; auto finds out with probe's engine.
    #[arg(
        long,
        value_name = "MODE",
        default_value = "auto",
        value_parser = Choice::new(&ModeArg::ALL, ModeArg::name, ModeArg::describe)
    )]
    pub(crate) mode: ModeArg,
    /// An HTTP path whose answer names the client address the receiver
    /// took (each test's request asks for it).
    #[arg(long, value_name = "PATH", value_parser = reflect_path)]
    pub(crate) reflect: Option<String>,
    /// A local address outside the receiver's allow-list to connect from
    /// for the untrusted-source test (127.0.0.2 on loopback).
    #[arg(long, value_name = "ADDR")]
    pub(crate) from: Option<IpAddr>,
    /// Run only the tests whose id matches (repeat: any one; `v1/*`,
    /// `*split*`).
    #[arg(long, value_name = "GLOB", value_parser = Pattern::new)]
    pub(crate) only: Vec<Pattern>,
    /// Leave out the tests whose id matches (repeat).
    #[arg(long, value_name = "GLOB", value_parser = Pattern::new)]
    pub(crate) skip: Vec<Pattern>,
    /// Add the timing tests (a trickled header, a silent connection, 500
    /// stalled headers), each bounded by --slow-limit.
    #[arg(long)]
    pub(crate) slow: bool,
    /// The bound of each timing test.
    #[arg(long, value_name = "DURATION", default_value_t = Wait(conform::SLOW_LIMIT), value_parser = timeout)]
    pub(crate) slow_limit: Wait,
    /// The wait for a connect and for each reply.
    #[arg(long, value_name = "DURATION", default_value_t = Wait(conform::TIMEOUT), value_parser = timeout)]
    pub(crate) timeout: Wait,
    /// Print one JSON object (docs/json.md).
    #[arg(long)]
    pub(crate) json: bool,
    /// Also write the results as JUnit XML to FILE (`-` for stdout, in
    /// place of the table).
    #[arg(long, value_name = "FILE")]
    pub(crate) junit: Option<PathBuf>,
    /// List the tests and exit.
    #[arg(long, conflicts_with_all = ["json", "junit"])]
    pub(crate) list: bool,
}

/// `--mode`: a configuration, or auto.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ModeArg {
    Auto,
    Given(Mode),
}

impl ModeArg {
    const ALL: [ModeArg; 4] = [
        ModeArg::Auto,
        ModeArg::Given(Mode::Require),
        ModeArg::Given(Mode::Optional),
        ModeArg::Given(Mode::Off),
    ];

    fn name(self) -> &'static str {
        match self {
            ModeArg::Auto => "auto",
            ModeArg::Given(m) => m.name(),
        }
    }

    fn describe(self) -> &'static str {
        match self {
            ModeArg::Auto => "find out with probe's engine (four connections)",
            ModeArg::Given(m) => m.describe(),
        }
    }
}

fn reflect_path(s: &str) -> std::result::Result<String, String> {
    if !s.starts_with('/') || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!(
            "{s:?} is not an HTTP path: it starts with / and has no spaces (e.g. / or /whoami)"
        ));
    }
    Ok(s.to_string())
}

pub fn run(args: &ConformArgs, style: Style) -> Result<ExitCode> {
    if args.list {
        super::print(&report::conform::list(conform::tests(), style))?;
        return Ok(ExitCode::Success);
    }
    let target: Target = args
        .target
        .as_deref()
        .unwrap_or_default()
        .parse()
        .map_err(|e: net::TargetError| Error::usage(e.to_string()))?;
    if args.speak.starttls {
        return Err(Error::usage(
            "conform grades the PROXY layer and does not take --starttls: test the upgrade with `ppctl send --protocol smtp --starttls`",
        ));
    }
    let selection = args
        .speak
        .selection()
        .unwrap_or(Selection::One(Protocol::Http));
    // The protocol when the port or the option says it (auto on another
    // port is found by probe).
    let known = selection.before_talking(target.port).map(|(p, _)| p);
    if args.reflect.is_some() && known != Some(Protocol::Http) {
        return Err(Error::usage(format!(
            "--reflect reads an HTTP answer; it does not go with --protocol {} (a mail or database server's own answers name the client where they can)",
            selection.name()
        )));
    }
    let is_tls = known == Some(Protocol::Tls);
    if args.tls && !matches!(known, Some(Protocol::Http | Protocol::Raw | Protocol::Tls)) {
        return Err(Error::usage(format!(
            "--tls is TLS right after the header, for --protocol http or raw; conform does not grade a --protocol {} server's own upgrade to TLS (STARTTLS and the like)",
            selection.name()
        )));
    }
    if args.sni.is_some() && !args.tls && !is_tls {
        return Err(Error::usage("--sni needs --tls (or --protocol tls)"));
    }
    let tls = (args.tls || is_tls).then(|| tls_options(&target, args, known));
    let cfg = conform::Config {
        target: target.clone(),
        protocol: selection,
        greeting_timeout: args.speak.greeting_timeout.0,
        tls,
        mode: match args.mode {
            ModeArg::Auto => None,
            ModeArg::Given(m) => Some(m),
        },
        reflect: args.reflect.clone(),
        from: args.from,
        only: args.only.clone(),
        skip: args.skip.clone(),
        slow: args.slow,
        slow_limit: args.slow_limit.0,
        timeout: args.timeout.0,
    };
    let watch = run_watch(&cfg)?;
    let result = net::runtime()?.block_on(async {
        let addrs = target
            .resolve()
            .await
            .map_err(|e| Error::usage(e.to_string()))?;
        Ok::<_, Error>(conform::run(&cfg, &addrs, &watch.0).await)
    })?;
    watch.1.clear();
    let result = match result {
        Ok(r) => r,
        Err(e @ conform::ConformError::Interrupted { .. }) => {
            eprintln!("ppctl: {e}");
            return Ok(ExitCode::Interrupted);
        }
        // Nothing answers: a finding about the target (the one exit-code
        // rule), not ppctl failing.
        Err(e @ conform::ConformError::Unreachable { .. }) => {
            eprintln!("ppctl: {e}");
            return Ok(ExitCode::CheckFailed);
        }
        Err(e) => return Err(Error::Other(e.into())),
    };
    let to_stdout = args.junit.as_deref().is_some_and(|p| p.as_os_str() == "-");
    if let Some(path) = args.junit.as_deref().filter(|_| !to_stdout) {
        let xml = report::conform::junit(&result, &hostname());
        std::fs::write(path, xml)
            .map_err(|e| Error::io(format!("writing --junit {}", path.display()), e))?;
    }
    let text = if to_stdout {
        report::conform::junit(&result, &hostname())
    } else if args.json {
        report::conform::json(&result)
    } else {
        report::conform::human(&result, style)
    };
    super::print(&text)?;
    if result.interrupted {
        let graded = result
            .outcomes
            .iter()
            .filter(|o| o.why != conform::Why::Interrupted)
            .count();
        super::interrupt::say_partial(&format!(
            "{graded} of {} tests were graded; the others are skipped as interrupted",
            result.outcomes.len()
        ));
        return Ok(ExitCode::Interrupted);
    }
    Ok(ExitCode::check(!result.must_failed()))
}

/// Ctrl-C ends the run with the tests graded so far; on a terminal, a bar
/// on stderr counts the tests and names the last one graded.
fn run_watch(cfg: &conform::Config) -> Result<(Watch<conform::Outcome>, Progress)> {
    let tests = conform::tests().iter().filter(|t| cfg.selects(t)).count();
    let progress = Progress::count(tests as u64, "tests");
    let bar = progress.clone();
    let watch = Watch {
        on_step: Some(Arc::new(move |o: &conform::Outcome| {
            bar.inc(1);
            bar.say(format!("{} {}", o.test.id, o.status.name()));
        })),
        interrupt: super::interrupt::catch_ctrl_c()?,
    };
    Ok((watch, progress))
}

/// Never verified: the suite is about the header, not the certificate.
fn tls_options(target: &Target, args: &ConformArgs, protocol: Option<Protocol>) -> TlsOptions {
    let is_ip = target.host.parse::<IpAddr>().is_ok();
    TlsOptions {
        sni: args
            .sni
            .clone()
            .or_else(|| (!is_ip).then(|| target.host.clone())),
        verify_name: args.sni.clone().unwrap_or_else(|| target.host.clone()),
        alpn: if protocol == Some(Protocol::Http) {
            vec!["http/1.1".into()]
        } else {
            Vec::new()
        },
        verify: Verify::Insecure,
    }
}

/// This host's name, for the JUnit report.
fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reflect_paths_are_paths() {
        assert_eq!(reflect_path("/"), Ok("/".into()));
        assert!(reflect_path("/who ami").is_err());
        assert!(reflect_path("whoami").is_err());
    }
}
