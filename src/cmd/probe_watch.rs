//! `ppctl probe --watch`: the probe every `--interval`, a line per change,
//! and with `--until` an end made for a rollout script.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch as signal;

use super::serve::{reached, Signals, Stop};
use super::values::{Choice, Wait};
use crate::diagnose::probe::{self, Expectation};
use crate::error::{Error, ExitCode, Result};
use crate::monitor::watch::{self, End, DEFAULT_INTERVAL, DEFAULT_UNTIL_LIMIT, MIN_INTERVAL};
use crate::net::{self, Target};
use crate::report::out::Out;
use crate::report::{self, Style};

/// `probe`'s flags for watching.
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Watching a rollout (--watch)")]
pub(crate) struct WatchArgs {
    /// Probe again every --interval and print a line (with the time) when
    /// the profile, the finding or how an attempt was answered changes; the
    /// first probe always prints one.
    #[arg(long)]
    pub(crate) watch: bool,
    /// From the start of one probe to the start of the next (at least
    /// 100ms).
    #[arg(
        long,
        value_name = "DURATION",
        requires = "watch",
        default_value_t = Wait(DEFAULT_INTERVAL),
        value_parser = parse_interval
    )]
    pub(crate) interval: Wait,
    /// Exit 0 as soon as the endpoint's profile meets one of these (and
    /// --expect-body, --expect-client-ip hold); exit 1 when --max-time comes
    /// first (10m unless given). Takes what --expect takes.
    #[arg(
        long,
        value_name = "CLASS",
        requires = "watch",
        conflicts_with = "expect",
        value_delimiter = ',',
        action = clap::ArgAction::Append,
        value_parser = Choice::new(&Expectation::ALL, Expectation::name, Expectation::describe)
    )]
    pub(crate) until: Vec<Expectation>,
}

fn parse_interval(s: &str) -> std::result::Result<Wait, String> {
    let d = super::values::parse_duration(s)?;
    if d < MIN_INTERVAL {
        return Err(format!(
            "'{s}' is too short an interval: each probe makes four connections; give at least 100ms (e.g. 500ms, 2s)"
        ));
    }
    Ok(Wait(d))
}

/// Watch `target` with `opts` (the probe's flags; `--until` is its class
/// expectation). `limit`: `--max-time`, which bounds the whole watch here.
pub(crate) fn run(
    target: &Target,
    mut opts: probe::Options,
    args: &WatchArgs,
    limit: Option<Duration>,
    json: bool,
    style: Style,
) -> Result<ExitCode> {
    let until = !args.until.is_empty();
    if until {
        opts.expect.forms = args.until.clone();
    }
    let watch_opts = watch::Options {
        interval: args.interval.0,
        until,
        limit: limit.or(until.then_some(DEFAULT_UNTIL_LIMIT)),
    };
    net::runtime()?.block_on(async {
        let stop: Arc<Stop> = Arc::new(signal::channel(0).0);
        let signals =
            Signals::register().map_err(|e| Error::io("installing signal handlers", e))?;
        tokio::spawn(signals.count(stop.clone()));
        let mut out = Out::stdout();
        let end = watch::watch(
            target,
            &opts,
            &watch_opts,
            reached(stop.subscribe(), 1),
            |change| {
                let text = if json {
                    report::watch::json_line(change)
                } else {
                    report::watch::human(change, style) + "\n"
                };
                out.line(&text).is_ok()
            },
        )
        .await;
        if let Some(line) = report::watch::ended(&end, &args.until, watch_opts.limit) {
            eprintln!("ppctl: {line}");
        }
        out.finish()?;
        Ok(match end {
            End::Met { .. } => ExitCode::Success,
            End::TimeUp { met, .. } => ExitCode::check(!until && met),
            End::Stopped { .. } if until => ExitCode::Interrupted,
            End::Stopped { met, .. } => ExitCode::check(met),
            End::Unresolved(e) => return Err(Error::usage(e.to_string())),
            // `finish` above reported the lost output.
            End::ReportFailed => ExitCode::Error,
        })
    })
}
