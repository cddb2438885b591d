//! `probe --watch`: the same probe every interval, and a change reported
//! only when something an operator acts on changed: the profile, the
//! finding, how an attempt was answered, or whether the expectation holds.
//! Made to end a rollout script: with `until`, the watch ends as soon as
//! the expectation holds.

use std::future::Future;
use std::mem::Discriminant;
use std::time::{Duration, Instant, SystemTime};

use tokio::time::MissedTickBehavior;

use crate::diagnose::probe::{self, Came, Class, HeaderKind, Probe, TlsEnd};
use crate::judge::Finding;
use crate::net::{End as NetEnd, Target, TargetError};

/// The interval when `--interval` is not given.
pub(crate) const DEFAULT_INTERVAL: Duration = Duration::from_secs(2);

/// The shortest interval taken (each round is four connections).
pub(crate) const MIN_INTERVAL: Duration = Duration::from_millis(100);

/// How long a watch with `--until` goes on when `--max-time` is not given.
pub(crate) const DEFAULT_UNTIL_LIMIT: Duration = Duration::from_secs(600);

/// How to watch.
#[derive(Debug, Clone)]
pub(crate) struct Options {
    /// From the start of one round to the start of the next (a round that
    /// takes longer is followed at once).
    pub interval: Duration,
    /// End as soon as a round meets the probe's expectations (`--until`).
    pub until: bool,
    /// End by then, whatever was seen (`--max-time`); `None`: only a
    /// signal ends it.
    pub limit: Option<Duration>,
}

/// What one round saw.
#[derive(Debug)]
pub(crate) enum Seen {
    Probe(Probe),
    /// The target's name did not resolve this time.
    Unresolved(TargetError),
}

impl Seen {
    /// As `ppctl probe` would exit 0: every expectation held, or with none,
    /// a connection was made.
    pub(crate) fn met(&self) -> bool {
        match self {
            Seen::Probe(p) => match &p.checked {
                Some(c) => c.met(),
                None => p.class != Class::Unreachable,
            },
            Seen::Unresolved(_) => false,
        }
    }
}

/// What a change is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Aspect {
    /// The endpoint's profile (`class`).
    Profile,
    Finding,
    /// How at least one attempt was answered.
    Reply,
    /// Whether the expectations hold.
    Expectation,
}

impl Aspect {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Aspect::Profile => "profile",
            Aspect::Finding => "finding",
            Aspect::Reply => "reply",
            Aspect::Expectation => "expectation",
        }
    }
}

/// How an attempt was answered, as far as the watch compares it: the kind
/// of answer and its status, never its bytes (a `Date:` header, a banner's
/// clock would make every round a change).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Answered {
    NoConnection(NetEnd),
    Http(u16),
    NotHttp(NetEnd),
    Nothing(NetEnd),
    Banner {
        unprompted: bool,
    },
    Tls(Discriminant<TlsEnd>),
    /// A protocol's conversation: greeted or not, and the code of the
    /// reply that decided (SMTP's, MySQL's error number), never its words.
    Spoke {
        greeted: bool,
        code: Option<u16>,
        end: NetEnd,
    },
}

impl Answered {
    fn of(came: &Came) -> Answered {
        match came {
            Came::NoConnection { end, .. } => Answered::NoConnection(*end),
            Came::Http { status, .. } => Answered::Http(*status),
            Came::NotHttp { end, .. } => Answered::NotHttp(*end),
            Came::Nothing { end, .. } => Answered::Nothing(*end),
            Came::Banner { unprompted, .. } => Answered::Banner {
                unprompted: *unprompted,
            },
            Came::Tls { end, .. } => Answered::Tls(std::mem::discriminant(end)),
            Came::Spoke { verdict, end, .. } => Answered::Spoke {
                greeted: verdict.greeting.is_some(),
                code: verdict.reply.as_ref().and_then(|r| r.code),
                end: *end,
            },
        }
    }
}

/// What is compared from one round to the next.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Signature {
    class: Option<Class>,
    finding: Option<Finding>,
    replies: Vec<(HeaderKind, bool, Answered)>,
    met: bool,
}

impl Signature {
    fn of(seen: &Seen) -> Signature {
        match seen {
            Seen::Probe(p) => Signature {
                class: Some(p.class),
                finding: Some(p.finding),
                replies: p
                    .attempts
                    .iter()
                    .map(|a| (a.kind, a.accepted, Answered::of(&a.came)))
                    .collect(),
                met: seen.met(),
            },
            Seen::Unresolved(_) => Signature {
                class: None,
                finding: None,
                replies: Vec::new(),
                met: false,
            },
        }
    }

    /// What differs from `before`, in [`Aspect`] order.
    fn changes(&self, before: &Signature) -> Vec<Aspect> {
        let mut out = Vec::new();
        if self.class != before.class {
            out.push(Aspect::Profile);
        }
        if self.finding != before.finding {
            out.push(Aspect::Finding);
        }
        if self.replies != before.replies {
            out.push(Aspect::Reply);
        }
        if self.met != before.met {
            out.push(Aspect::Expectation);
        }
        out
    }
}

/// A round worth reporting: the first, and every one that changed.
#[derive(Debug)]
pub(crate) struct Change<'a> {
    /// 1 for the first round.
    pub round: u64,
    pub at: SystemTime,
    /// Since the watch began.
    pub since: Duration,
    pub seen: &'a Seen,
    /// What changed since the round before (empty for the first).
    pub changed: Vec<Aspect>,
    pub met: bool,
}

/// How a watch ended.
#[derive(Debug)]
pub(crate) enum End {
    /// A round met the expectations (with `until`).
    Met { rounds: u64, after: Duration },
    /// The limit came; `met`: whether the last round met them.
    TimeUp { rounds: u64, met: bool },
    /// A signal ended it.
    Stopped { met: bool },
    /// The first round could not resolve the target: nothing to watch.
    Unresolved(TargetError),
    /// The reporter could not go on (stdout is gone).
    ReportFailed,
}

/// Watch `target`: a round every interval, `report` called on the first
/// and on every change (it returns false when it can report no more), until
/// the expectations hold (with `until`), the limit, or `stop`.
pub(crate) async fn watch(
    target: &Target,
    probe: &probe::Options,
    opts: &Options,
    stop: impl Future<Output = ()>,
    mut report: impl FnMut(&Change<'_>) -> bool,
) -> End {
    let start = Instant::now();
    let limit = async {
        match opts.limit {
            Some(d) => tokio::time::sleep_until((start + d).into()).await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(stop, limit);
    let mut ticker = tokio::time::interval(opts.interval.max(MIN_INTERVAL));
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut last: Option<Signature> = None;
    let mut rounds = 0u64;
    loop {
        let next = async {
            ticker.tick().await;
            round(target, probe).await
        };
        let seen = tokio::select! {
            () = &mut stop => return End::Stopped { met: last.as_ref().is_some_and(|s| s.met) },
            () = &mut limit => return End::TimeUp { rounds, met: last.as_ref().is_some_and(|s| s.met) },
            seen = next => seen,
        };
        rounds += 1;
        let seen = match seen {
            Seen::Unresolved(e) if rounds == 1 => return End::Unresolved(e),
            seen => seen,
        };
        let signature = Signature::of(&seen);
        let changed = match &last {
            None => Some(Vec::new()),
            Some(before) => Some(signature.changes(before)).filter(|c| !c.is_empty()),
        };
        let met = signature.met;
        if let Some(changed) = changed {
            let change = Change {
                round: rounds,
                at: SystemTime::now(),
                since: start.elapsed(),
                seen: &seen,
                changed,
                met,
            };
            if !report(&change) {
                return End::ReportFailed;
            }
        }
        last = Some(signature);
        if opts.until && met {
            return End::Met {
                rounds,
                after: start.elapsed(),
            };
        }
    }
}

/// One round: look the name up again (a rollout may move it) and probe.
async fn round(target: &Target, opts: &probe::Options) -> Seen {
    match target.resolve().await {
        Ok(addrs) => Seen::Probe(probe::probe(target, &addrs, opts).await),
        Err(e) => Seen::Unresolved(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sig(class: Class, finding: Finding, status: u16, met: bool) -> Signature {
        Signature {
            class: Some(class),
            finding: Some(finding),
            replies: vec![(HeaderKind::None, true, Answered::Http(status))],
            met,
        }
    }

    #[test]
    fn changes_name_what_changed() {
        let a = sig(Class::NoHeader, Finding::UnexpectedHeader, 200, false);
        assert!(a.changes(&a.clone()).is_empty());
        let b = sig(Class::RequiresV1OrV2, Finding::MissingHeader, 400, true);
        assert_eq!(
            b.changes(&a),
            [
                Aspect::Profile,
                Aspect::Finding,
                Aspect::Reply,
                Aspect::Expectation
            ]
        );
        let c = sig(Class::NoHeader, Finding::UnexpectedHeader, 503, false);
        assert_eq!(c.changes(&a), [Aspect::Reply]);
    }

    #[test]
    fn bytes_that_differ_are_no_change() {
        let tls = |reply: &[u8]| Came::Tls {
            end: TlsEnd::HandshakeOk {
                version: "TLSv1_3".into(),
                reply: reply.to_vec(),
                certificate: None,
            },
            clear: Vec::new(),
        };
        assert_eq!(
            Answered::of(&tls(b"Date: 1")),
            Answered::of(&tls(b"Date: 2"))
        );
        assert_ne!(
            Answered::of(&tls(b"")),
            Answered::of(&Came::Tls {
                end: TlsEnd::Reset,
                clear: Vec::new()
            })
        );
        let banner = |b: &[u8]| Came::Banner {
            first: b.to_vec(),
            unprompted: true,
        };
        assert_eq!(
            Answered::of(&banner(b"220 a")),
            Answered::of(&banner(b"220 b"))
        );
    }

    #[tokio::test]
    async fn a_closed_port_is_one_line_until_the_limit() {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let target: Target = format!("127.0.0.1:{port}").parse().unwrap();
        let opts = probe::Options {
            mode: probe::Mode::Http,
            timeout: Duration::from_millis(500),
            max_time: Duration::from_millis(500),
            sni: None,
            expect: probe::Expect::default(),
        };
        let watch_opts = Options {
            interval: MIN_INTERVAL,
            until: true,
            limit: Some(Duration::from_millis(700)),
        };
        let mut lines = 0;
        let end = watch(&target, &opts, &watch_opts, std::future::pending(), |c| {
            assert_eq!(c.round, 1);
            assert!(!c.met);
            lines += 1;
            true
        })
        .await;
        assert_eq!(lines, 1);
        assert!(
            matches!(end, End::TimeUp { met: false, rounds } if rounds >= 2),
            "{end:?}"
        );
        // A stop ends it too.
        let end = watch(&target, &opts, &watch_opts, async {}, |_| true).await;
        assert!(matches!(end, End::Stopped { met: false }), "{end:?}");
    }
}
