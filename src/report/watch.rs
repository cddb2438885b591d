//! `probe --watch`'s views: one line per change (human: the time, the
//! profile, the finding and how each attempt was answered; `--json`: one
//! `watch` object per line, the round's `probe` document inside), and the
//! line that says how the watch ended (stderr).

use std::time::Duration;

use serde::Serialize;

use super::finding;
use super::json::Doc;
use super::table::Tone;
use super::Style;
use crate::diagnose::probe::{Came, Expectation, HeaderKind, TlsEnd};
use crate::monitor::watch::{Change, End, Seen};
use crate::net::End as NetEnd;
use crate::server::clock;

/// The human line of a change: `14:03:07Z requires-v1-or-v2
/// missing-header  none:closed v1:200 v2:200 local:200`.
pub(crate) fn human(c: &Change<'_>, style: Style) -> String {
    let stamp = clock::rfc3339(c.at);
    // `HH:MM:SS` of `YYYY-MM-DDTHH:MM:SS.mmmZ`, marked UTC.
    let time = format!("{}Z", stamp.get(11..19).unwrap_or(&stamp));
    match c.seen {
        Seen::Probe(p) => {
            let attempts: Vec<String> = p
                .attempts
                .iter()
                .map(|a| {
                    let text = format!("{}:{}", short_kind(a.kind), answered(&a.came));
                    let tone = if a.accepted { Tone::Good } else { Tone::Plain };
                    finding::paint(style, &text, tone)
                })
                .collect();
            let class = finding::paint(style, p.class.name(), Tone::Bold);
            let found = finding::paint(style, p.finding.name(), finding::tone(p.finding));
            format!("{time} {class} {found}  {}", attempts.join(" "))
        }
        Seen::Unresolved(e) => format!("{time} {}", style.bad(&e.to_string())),
    }
}

/// `local` for v2 LOCAL: the line's attempts stay short.
fn short_kind(k: HeaderKind) -> &'static str {
    match k {
        HeaderKind::V2Local => "local",
        k => k.name(),
    }
}

/// How an attempt was answered, in a word (an HTTP status, how the
/// connection ended, how the TLS handshake went).
fn answered(came: &Came) -> String {
    let end = |e: &NetEnd| match e {
        NetEnd::EofAfterData | NetEnd::EofWithoutData => "closed",
        NetEnd::Reset => "reset",
        NetEnd::Timeout => "silent",
        NetEnd::Refused => "refused",
        NetEnd::ConnectTimeout => "no-connect",
        NetEnd::MaxTime => "max-time",
        NetEnd::SizeLimit => "data",
        NetEnd::Datagram => "datagram",
        NetEnd::Error | NetEnd::LocalLimit => "error",
        NetEnd::Done => "answered",
    };
    match came {
        Came::NoConnection { end: e, .. } | Came::Nothing { end: e, .. } => end(e).into(),
        Came::Http { status, .. } => status.to_string(),
        Came::NotHttp { .. } => "data".into(),
        Came::Banner { .. } => "banner".into(),
        Came::Tls { end: t, .. } => match t {
            TlsEnd::HandshakeOk { .. } => "tls",
            TlsEnd::Alert(_) => "alert",
            TlsEnd::NotTls(_) => "not-tls",
            TlsEnd::Closed => "closed",
            TlsEnd::Reset => "reset",
            TlsEnd::Timeout => "silent",
            TlsEnd::MaxTime => "max-time",
            TlsEnd::Refused(_) => "refused",
            TlsEnd::ConnectTimeout => "no-connect",
            TlsEnd::ConnectError(_) | TlsEnd::Error(_) => "error",
        }
        .into(),
        Came::Spoke {
            verdict, end: e, ..
        } => match (&verdict.greeting, &verdict.reply) {
            (_, Some(r)) if r.kind != crate::protocol::Kind::Greeting => r
                .code
                .map_or_else(|| "reply".to_string(), |c| c.to_string()),
            (Some(_), _) => "greeted".into(),
            _ => end(e).into(),
        },
    }
}

/// The `--json` line of a change (docs/json.md, `probe --watch --json`).
pub(crate) fn json_line(c: &Change<'_>) -> String {
    let (probe, error) = match c.seen {
        Seen::Probe(p) => (Some(super::probe::document(p)), None),
        Seen::Unresolved(e) => (None, Some(e.to_string())),
    };
    Doc::new(
        "watch",
        WatchJson {
            time: clock::rfc3339(c.at),
            elapsed_ms: u64::try_from(c.since.as_millis()).unwrap_or(u64::MAX),
            round: c.round,
            changed: c.changed.iter().map(|a| a.name()).collect(),
            met: c.met,
            probe,
            error,
        },
    )
    .line()
}

/// A line of `probe --watch --json`: the round, what changed, and the
/// probe's whole document (or why there was none).
#[derive(Serialize)]
struct WatchJson<'a> {
    time: String,
    elapsed_ms: u64,
    round: u64,
    changed: Vec<&'static str>,
    met: bool,
    probe: Option<Doc<super::probe::ProbeJson<'a>>>,
    error: Option<String>,
}

/// How the watch ended, for stderr (without the `ppctl: ` prefix); `None`
/// when there is nothing to add.
pub(crate) fn ended(end: &End, until: &[Expectation], limit: Option<Duration>) -> Option<String> {
    let forms = || {
        until
            .iter()
            .map(|f| f.name())
            .collect::<Vec<_>>()
            .join(" or ")
    };
    let asked = || {
        if until.is_empty() {
            "the expectations".to_string()
        } else {
            forms()
        }
    };
    match end {
        End::Met { rounds, after } => Some(format!(
            "{} holds after {} ({} {})",
            asked(),
            duration(*after),
            rounds,
            plural(*rounds, "probe", "probes")
        )),
        End::TimeUp { rounds, met } => Some(match (met, limit) {
            (true, _) => format!(
                "--max-time {} came after {rounds} {}; the last probe met the expectations",
                limit.map(duration).unwrap_or_default(),
                plural(*rounds, "probe", "probes")
            ),
            (false, _) => format!(
                "--max-time {} came after {rounds} {}, and {} did not hold (the last line above is the last state seen)",
                limit.map(duration).unwrap_or_default(),
                plural(*rounds, "probe", "probes"),
                asked()
            ),
        }),
        End::Stopped { .. } | End::Unresolved(_) | End::ReportFailed => None,
    }
}

fn plural(n: u64, one: &'static str, more: &'static str) -> &'static str {
    if n == 1 {
        one
    } else {
        more
    }
}

/// `6.2s`, `5m`, `1m30s`.
fn duration(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s < 60.0 {
        format!("{s:.1}s")
    } else {
        let whole = d.as_secs();
        match whole % 60 {
            0 => format!("{}m", whole / 60),
            r => format!("{}m{r}s", whole / 60),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::probe::Class;

    #[test]
    fn endings_say_what_held() {
        let until = [Expectation::Class(Class::RequiresV2)];
        let met = End::Met {
            rounds: 3,
            after: Duration::from_millis(6200),
        };
        assert_eq!(
            ended(&met, &until, None).unwrap(),
            "requires-v2 holds after 6.2s (3 probes)"
        );
        let up = End::TimeUp {
            rounds: 1,
            met: false,
        };
        let text = ended(&up, &until, Some(Duration::from_secs(300))).unwrap();
        assert!(
            text.starts_with("--max-time 5m came after 1 probe, and requires-v2 did not hold"),
            "{text}"
        );
        assert_eq!(duration(Duration::from_secs(90)), "1m30s");
    }
}
