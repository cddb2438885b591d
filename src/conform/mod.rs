//! `ppctl conform`: a conformance and trust audit of a live PROXY receiver.
//! The suite ([`suite::SUITE`], data) sends every test's bytes through
//! `net` ([`wire`]), reads what the receiver did in the protocol's terms
//! ([`crate::protocol`]) and grades it against the spec ([`grade`]): pass, fail,
//! warn or skip, each with a typed reason. Rendering is `report::conform`'s.

mod grade;
mod profiles;
pub(crate) mod suite;
mod wire;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use futures_util::future::join_all;
use futures_util::stream::{FuturesUnordered, StreamExt};
use thiserror::Error as ThisError;
use tokio::sync::Semaphore;

pub(crate) use grade::{Status, Why};
use suite::{Delivery, How, Modes, Reflect, Test, SUITE};
use wire::{Shot, Wire};

use crate::codec::Version;
use crate::diagnose::probe::{self, Class};
use crate::net::{End, Target, TlsOptions, Watch};
use crate::protocol::{Protocol, Selection};

/// How the receiver is configured (`--mode`; `auto` asks probe).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Mode {
    /// A header is required (nginx `listen … proxy_protocol`, HAProxy
    /// `accept-proxy`).
    Require,
    /// A header is read when there is one (spoofable; the spec says a
    /// receiver must not guess).
    Optional,
    /// No PROXY protocol: a header is data.
    Off,
}

impl Mode {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Mode::Require => "require",
            Mode::Optional => "optional",
            Mode::Off => "off",
        }
    }

    pub(crate) fn describe(self) -> &'static str {
        match self {
            Mode::Require => "a header is required (nginx proxy_protocol, HAProxy accept-proxy)",
            Mode::Optional => "a header is read when there is one (spoofable)",
            Mode::Off => "no PROXY protocol: a header is data",
        }
    }

    /// The mode probe's profile stands for; `None` when it can't tell.
    fn of(class: Class) -> Option<Mode> {
        match class {
            Class::RequiresV1 | Class::RequiresV2 | Class::RequiresV1OrV2 => Some(Mode::Require),
            Class::Optional => Some(Mode::Optional),
            Class::NoHeader => Some(Mode::Off),
            Class::Unreachable | Class::Inconclusive => None,
        }
    }

    fn runs(self, modes: Modes) -> bool {
        match modes {
            Modes::Proxy => self != Mode::Off,
            Modes::Off => self == Mode::Off,
        }
    }
}

/// A `--only`/`--skip` pattern over test ids (`v1/*`, `*split*`).
#[derive(Debug, Clone)]
pub(crate) struct Pattern(glob::Pattern);

impl Pattern {
    pub(crate) fn new(text: &str) -> Result<Pattern, String> {
        let p = glob::Pattern::new(text).map_err(|e| format!("{text:?}: {e}"))?;
        if !SUITE.iter().any(|t| p.matches(t.id)) {
            return Err(format!(
                "{text:?} matches no test; ids look like v1/tcp4, v2/split-every-offset, trust/no-header (see --list)"
            ));
        }
        Ok(Pattern(p))
    }

    fn matches(&self, id: &str) -> bool {
        self.0.matches(id)
    }
}

/// Everything a run needs, decided.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub target: Target,
    /// `--protocol` (http unless given): `auto` is the port's, else found
    /// with probe's engine.
    pub protocol: Selection,
    /// How long a server that speaks first may take to greet
    /// (`--greeting-timeout`).
    pub greeting_timeout: Duration,
    /// TLS after the header (`--tls`; implied by `--protocol tls`).
    pub tls: Option<TlsOptions>,
    /// `None`: find it with probe (`--mode auto`).
    pub mode: Option<Mode>,
    pub reflect: Option<String>,
    pub from: Option<IpAddr>,
    pub only: Vec<Pattern>,
    pub skip: Vec<Pattern>,
    /// Run the timing tests too.
    pub slow: bool,
    /// The bound of each timing test.
    pub slow_limit: Duration,
    /// The wait for a connect and for each reply.
    pub timeout: Duration,
}

/// `--timeout` unless given.
pub(crate) const TIMEOUT: Duration = Duration::from_secs(2);
/// `--slow-limit` unless given.
pub(crate) const SLOW_LIMIT: Duration = Duration::from_secs(20);

/// Why the suite could not run.
#[derive(Debug, ThisError)]
pub(crate) enum ConformError {
    #[error("nothing answers at {target}: {error}; check the address and the port")]
    Unreachable { target: String, error: String },
    #[error("--mode auto: probe could not tell what {target} expects ({class}); give --mode require, optional or off")]
    Undecided { target: String, class: &'static str },
    #[error("--protocol auto: {target} greeted in no protocol ppctl knows and answered no HTTP request; give --protocol")]
    NoProtocol { target: String },
    #[error(
        "--from {ip}: {error}; give an address of this host (on loopback, any of 127.0.0.0/8)"
    )]
    From { ip: IpAddr, error: String },
    #[error("--reflect {path}: the answer to a valid header names no IP address (its body begins {body:?}); point --reflect at a path whose body names the client, as nginx `return 200 \"$proxy_protocol_addr\";` does")]
    Unnamed { path: String, body: String },
    #[error(
        "interrupted (Ctrl-C) while finding out what {target} expects (--mode auto): no test ran"
    )]
    Interrupted { target: String },
}

/// What the receiver did on a test's connection(s).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Did {
    /// Not run (the test was skipped).
    Nothing,
    /// Served the client, taking this address: `status` is the code of
    /// the answer that shows it (an HTTP status, SMTP's `250`, a MySQL
    /// error number), `words` the server's words in a protocol that has
    /// them (EHLO's `250` line, MariaDB's login error).
    Served {
        status: Option<u16>,
        words: Option<String>,
        took: Took,
    },
    /// An answer that refuses (an HTTP 400, a TLS alert, bytes of another
    /// protocol, Postfix's `500 5.5.2` to a header line or its `421`,
    /// MariaDB's `Proxy header is not accepted`), in the server's words.
    Refused {
        status: Option<u16>,
        words: Option<String>,
    },
    /// Closed (FIN) without a byte, this long after the connect.
    Closed { after: Duration },
    /// Reset without a byte.
    Reset { after: Duration },
    /// Nothing, still open when the wait ran out.
    Silent { after: Duration },
    /// No connection.
    NotConnected {
        end: End,
        error: Option<crate::net::NetError>,
    },
    /// Split at every offset: those not served (each offset is the
    /// length of the first segment), of `tried`, and what the first of
    /// them got.
    Split {
        refused: Vec<usize>,
        tried: usize,
        first: Box<Did>,
    },
    /// The largest header served (bytes), and the first size not served
    /// with what it got.
    Largest {
        taken: Option<usize>,
        refused: Option<(usize, Box<Did>)>,
    },
    /// Connections held with half a header, and what the valid client got.
    Stalled {
        held: usize,
        failed: usize,
        client: Box<Did>,
    },
}

impl Did {
    fn served(&self) -> bool {
        matches!(self, Did::Served { .. })
    }
}

/// Which address a reflector's answer names (`--reflect`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Took {
    /// Not asked: no `--reflect`, or a protocol without one.
    Unchecked,
    /// The address the header claims.
    Claimed(IpAddr),
    /// The address of the request's X-Forwarded-For.
    Forwarded(IpAddr),
    /// The connection's own address.
    Socket(IpAddr),
    /// Another address.
    Other(IpAddr),
    /// The answer names no address.
    Unnamed,
}

/// One test's result.
#[derive(Debug, Clone)]
pub(crate) struct Outcome {
    pub test: &'static Test,
    pub status: Status,
    pub why: Why,
    pub did: Did,
    /// Connections the test made.
    pub connections: usize,
    pub elapsed: Duration,
}

/// The whole run.
#[derive(Debug, Clone)]
pub(crate) struct Run {
    pub target: Target,
    pub protocol: Protocol,
    pub tls: bool,
    pub mode: Mode,
    /// Probe's profile when the mode was found (`--mode auto`).
    pub detected: Option<Class>,
    pub reflect: Option<String>,
    pub from: Option<IpAddr>,
    pub slow: bool,
    pub outcomes: Vec<Outcome>,
    /// The known receiver (docs/conformance.md) whose misses it shares.
    pub like: Option<&'static str>,
    pub started: SystemTime,
    pub elapsed: Duration,
    /// Stopped by an interrupt (Ctrl-C): the tests that had not finished
    /// are skipped as [`Why::Interrupted`].
    pub interrupted: bool,
}

/// Counts of each status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Counts {
    pub pass: usize,
    pub warn: usize,
    pub fail: usize,
    pub skip: usize,
}

impl Run {
    pub(crate) fn counts(&self) -> Counts {
        let mut c = Counts::default();
        for o in &self.outcomes {
            match o.status {
                Status::Pass => c.pass += 1,
                Status::Warn => c.warn += 1,
                Status::Fail => c.fail += 1,
                Status::Skip => c.skip += 1,
            }
        }
        c
    }

    /// When the run started, RFC 3339 (the JUnit timestamp).
    pub(crate) fn started_rfc3339(&self) -> String {
        crate::server::clock::rfc3339(self.started)
    }

    /// A MUST failed: the exit status is 1.
    pub(crate) fn must_failed(&self) -> bool {
        self.outcomes
            .iter()
            .any(|o| o.status == Status::Fail && o.test.level == suite::Level::Must)
    }
}

/// Every test id, in run order (`--list`).
pub(crate) fn tests() -> &'static [Test] {
    SUITE
}

/// Run the suite against `addrs` (already resolved), telling `watch` of
/// each test as it is graded. On its interrupt the tests under way are
/// dropped and every test not graded is skipped as interrupted.
pub(crate) async fn run(
    cfg: &Config,
    addrs: &[SocketAddr],
    watch: &Watch<Outcome>,
) -> Result<Run, ConformError> {
    let start = Instant::now();
    let started = SystemTime::now();
    if let Some(ip) = cfg.from {
        // An address this host does not have fails here, not on every test.
        std::net::TcpListener::bind((ip, 0)).map_err(|e| ConformError::From {
            ip,
            error: e.to_string(),
        })?;
    }
    let known = cfg.protocol.before_talking(cfg.target.port).map(|(p, _)| p);
    let (mode, detected, protocol) = match (cfg.mode, known) {
        (Some(m), Some(p)) => (m, None, p),
        _ => tokio::select! {
            found = detect(cfg, addrs, known) => found?,
            () = watch.interrupt.wait() => {
                return Err(ConformError::Interrupted { target: cfg.target.to_string() })
            }
        },
    };
    let wire = Wire {
        target: cfg.target.clone(),
        addrs: addrs.to_vec(),
        protocol,
        tls: cfg.tls.clone(),
        timeout: cfg.timeout,
        greeting_timeout: cfg.greeting_timeout,
        from: cfg.from,
        reflect: cfg.reflect.clone(),
        permits: Arc::new(Semaphore::new(wire::PARALLEL)),
    };
    let ctx = Ctx {
        cfg,
        wire: &wire,
        mode,
        taken: [None, None],
        reflecting: cfg.reflect.is_some(),
    };
    let selected: Vec<&'static Test> = SUITE.iter().filter(|t| cfg.selects(t)).collect();
    // The baselines first: they tell which versions the receiver takes.
    let baselines: Vec<&'static Test> = selected
        .iter()
        .copied()
        .filter(|t| t.is_baseline())
        .collect();
    let both = async {
        tokio::join!(
            ctx.outcome_of(baselines.first().copied()),
            ctx.outcome_of(baselines.get(1).copied()),
        )
    };
    let first: Vec<Outcome> = tokio::select! {
        (a, b) = both => [a, b].into_iter().flatten().collect(),
        () = watch.interrupt.wait() => Vec::new(),
    };
    for o in &first {
        watch.tell(o);
    }
    let interrupted = watch.interrupt.requested();
    if !interrupted {
        unreachable_check(cfg, &first)?;
    }
    reflector_check(cfg, &first)?;
    let mut ctx = ctx;
    for o in &first {
        let at = if o.test.id == suite::V1_BASELINE {
            0
        } else {
            1
        };
        ctx.taken[at] = Some(o.did.served());
        // A protocol whose answer named the client (MySQL's login error,
        // an SMTP reply's `[…]`) reflects without `--reflect`.
        if let Did::Served { took, .. } = &o.did {
            ctx.reflecting |= !matches!(took, Took::Unchecked | Took::Unnamed);
        }
    }
    let mut outcomes = first;
    if !interrupted {
        let mut rest: FuturesUnordered<_> = selected
            .iter()
            .filter(|t| !t.is_baseline())
            .map(|t| ctx.execute(t))
            .collect();
        loop {
            tokio::select! {
                graded = rest.next() => match graded {
                    Some(o) => {
                        watch.tell(&o);
                        outcomes.push(o);
                    }
                    None => break,
                },
                () = watch.interrupt.wait() => break,
            }
        }
    }
    let interrupted = watch.interrupt.requested() && outcomes.len() < selected.len();
    for &t in &selected {
        if !outcomes.iter().any(|o| std::ptr::eq(o.test, t)) {
            outcomes.push(Outcome {
                test: t,
                status: Status::Skip,
                why: Why::Interrupted,
                did: Did::Nothing,
                connections: 0,
                elapsed: Duration::ZERO,
            });
        }
    }
    grade::baselines(&mut outcomes);
    outcomes.sort_by_key(|o| SUITE.iter().position(|t| std::ptr::eq(t, o.test)));
    // A receiver is like a known one by all its misses, not some of them.
    let like = profiles::like(&outcomes).filter(|_| !interrupted);
    Ok(Run {
        like,
        target: cfg.target.clone(),
        protocol,
        tls: cfg.tls.is_some(),
        mode,
        detected,
        reflect: cfg.reflect.clone(),
        from: cfg.from,
        slow: cfg.slow,
        outcomes,
        started,
        elapsed: start.elapsed(),
        interrupted,
    })
}

impl Config {
    /// Whether `--only` and `--skip` keep test `t`.
    pub(crate) fn selects(&self, t: &Test) -> bool {
        (self.only.is_empty() || self.only.iter().any(|p| p.matches(t.id)))
            && !self.skip.iter().any(|p| p.matches(t.id))
    }
}

/// `--mode auto`, and `--protocol auto` on a port that is not
/// well-known: probe's engine, over the same transport and in the same
/// protocol (`known`, else the one the server greets in). The mode given
/// stands; the protocol is the one named, else the one probe spoke.
async fn detect(
    cfg: &Config,
    addrs: &[SocketAddr],
    known: Option<Protocol>,
) -> Result<(Mode, Option<Class>, Protocol), ConformError> {
    let (speaks, _) =
        probe::Mode::of_selection(cfg.protocol, Some(cfg.target.port), cfg.greeting_timeout);
    let mode = if cfg.tls.is_some() {
        probe::Mode::Tls
    } else {
        speaks
    };
    let greeting = match mode {
        probe::Mode::Speak(_) => cfg.greeting_timeout,
        _ => Duration::ZERO,
    };
    let opts = probe::Options {
        mode,
        timeout: cfg.timeout,
        max_time: cfg.timeout * 4 + greeting,
        sni: cfg.tls.as_ref().and_then(|t| t.sni.clone()),
        expect: probe::Expect::default(),
    };
    let found = probe::probe(&cfg.target, addrs, &opts).await;
    let protocol = match known {
        Some(p) => p,
        None => match found.mode {
            probe::Mode::Speak(s) => s.protocol.ok_or_else(|| ConformError::NoProtocol {
                target: cfg.target.to_string(),
            })?,
            other => other.protocol(),
        },
    };
    if let Some(m) = cfg.mode {
        return Ok((m, None, protocol));
    }
    match Mode::of(found.class) {
        Some(m) => Ok((m, Some(found.class), protocol)),
        None if found.class == Class::Unreachable => Err(ConformError::Unreachable {
            target: cfg.target.to_string(),
            error: found
                .attempts
                .first()
                .and_then(|a| match &a.came {
                    probe::Came::NoConnection { error, .. } => error.as_ref(),
                    _ => None,
                })
                .map(unreachable_words)
                .unwrap_or_else(|| "no connection".into()),
        }),
        None => Err(ConformError::Undecided {
            target: cfg.target.to_string(),
            class: found.class.name(),
        }),
    }
}

/// Why nothing answers, after "nothing answers at TARGET": the OS's words
/// without the address the message already names.
fn unreachable_words(error: &crate::net::NetError) -> String {
    match error {
        crate::net::NetError::At { error, .. } => error.clone(),
        other => other.to_string(),
    }
}

/// Every baseline that ran found nothing listening: stop (exit 1, a
/// finding about the target).
fn unreachable_check(cfg: &Config, first: &[Outcome]) -> Result<(), ConformError> {
    let down = |o: &Outcome| match &o.did {
        Did::NotConnected { error, .. } => {
            Some(error.as_ref().map(unreachable_words).unwrap_or_default())
        }
        _ => None,
    };
    match first.iter().map(down).collect::<Option<Vec<String>>>() {
        Some(errors) if !errors.is_empty() => Err(ConformError::Unreachable {
            target: cfg.target.to_string(),
            error: errors.into_iter().next().unwrap_or_default(),
        }),
        _ => Ok(()),
    }
}

/// A reflector that names no address at all, even for a valid header it
/// served, is a wrong `--reflect`: stop before every test skips or fails
/// for it.
fn reflector_check(cfg: &Config, first: &[Outcome]) -> Result<(), ConformError> {
    let Some(path) = &cfg.reflect else {
        return Ok(());
    };
    let served: Vec<&Outcome> = first.iter().filter(|o| o.did.served()).collect();
    if !served.is_empty()
        && served.iter().all(|o| {
            matches!(
                o.did,
                Did::Served {
                    took: Took::Unnamed,
                    ..
                }
            )
        })
    {
        return Err(ConformError::Unnamed {
            path: path.clone(),
            body: String::new(),
        });
    }
    Ok(())
}

/// A run in progress.
struct Ctx<'a> {
    cfg: &'a Config,
    wire: &'a Wire,
    mode: Mode,
    /// Whether v1 and v2 headers are served (from the baselines); `None`
    /// when the baseline did not run.
    taken: [Option<bool>; 2],
    /// Which address the receiver took can be seen: `--reflect`, or a
    /// baseline's answer named it.
    reflecting: bool,
}

impl Ctx<'_> {
    async fn outcome_of(&self, test: Option<&'static Test>) -> Option<Outcome> {
        match test {
            Some(t) => Some(self.execute(t).await),
            None => None,
        }
    }

    /// Why the test can't run here, if it can't.
    fn skip(&self, t: &Test) -> Option<Why> {
        if !self.mode.runs(t.modes) {
            return Some(Why::NotForMode);
        }
        if t.how.slow() && !self.cfg.slow {
            return Some(Why::NeedsSlow);
        }
        match t.how {
            How::Once(_, Delivery::Forwarded) if self.wire.protocol != Protocol::Http => {
                return Some(Why::HttpOnly)
            }
            _ => {}
        }
        if t.reflect == Reflect::Required && !self.reflecting {
            return Some(Why::NeedsReflect);
        }
        match t.how {
            How::Once(_, Delivery::From) if self.cfg.from.is_none() => return Some(Why::NeedsFrom),
            How::Once(_, Delivery::DataFirst) if self.cfg.tls.is_some() => {
                return Some(Why::NotUnderTls)
            }
            _ => {}
        }
        let taken = |v: Version| self.taken[usize::from(v == Version::V2)];
        match t.served_version() {
            Some(v) if !t.is_baseline() && taken(v) == Some(false) => Some(Why::VersionNotTaken(v)),
            _ => None,
        }
    }

    /// A version the receiver takes, v2 first (for the tests that only need
    /// a valid client).
    fn valid_header(&self) -> Vec<u8> {
        let v2 = SUITE.iter().find(|t| t.id == suite::V2_BASELINE);
        let v1 = SUITE.iter().find(|t| t.id == suite::V1_BASELINE);
        let pick = if self.taken[1] == Some(false) { v1 } else { v2 };
        pick.map(Test::header).unwrap_or_default()
    }

    async fn execute(&self, t: &'static Test) -> Outcome {
        let start = Instant::now();
        if let Some(why) = self.skip(t) {
            return Outcome {
                test: t,
                status: Status::Skip,
                why,
                did: Did::Nothing,
                connections: 0,
                elapsed: Duration::ZERO,
            };
        }
        let claims = grade::claims(t.expect);
        let (did, connections) = match t.how {
            How::Once(header, delivery) => {
                let (did, _) = self
                    .wire
                    .shoot(&Shot::new(header(), delivery, claims))
                    .await;
                (did, 1)
            }
            How::EveryOffset(header) => self.every_offset(&header(), claims).await,
            How::Largest => self.largest().await,
            How::Trickle => {
                let shot = Shot {
                    pause: Duration::from_secs(1),
                    limit: Some(self.cfg.slow_limit),
                    ..Shot::new(SUITE[0].header(), Delivery::Bytewise, None)
                };
                (self.wire.shoot(&shot).await.0, 1)
            }
            How::Silent => {
                let shot = Shot {
                    limit: Some(self.cfg.slow_limit),
                    ..Shot::new(Vec::new(), Delivery::Idle, None)
                };
                (self.wire.shoot(&shot).await.0, 1)
            }
            How::Stalled => self.stalled().await,
        };
        let (status, why) = grade::grade(t, &did, self.mode, self.reflecting);
        Outcome {
            test: t,
            status,
            why,
            did,
            connections,
            elapsed: start.elapsed(),
        }
    }

    /// One connection per cut of the header, all at once (the wire bounds
    /// how many are open).
    async fn every_offset(&self, header: &[u8], claims: Option<IpAddr>) -> (Did, usize) {
        let cuts: Vec<usize> = (1..header.len()).collect();
        let shots = cuts.iter().map(|&at| {
            let shot = Shot {
                cut: Some(at),
                ..Shot::new(header.to_vec(), Delivery::Whole, claims)
            };
            async move { self.wire.shoot(&shot).await.0 }
        });
        let dids = join_all(shots).await;
        let mut refused = Vec::new();
        let mut first = None;
        for (at, did) in cuts.iter().zip(dids) {
            let ok = matches!(
                &did,
                Did::Served {
                    took: Took::Claimed(_) | Took::Unchecked,
                    ..
                }
            );
            if !ok {
                refused.push(*at);
                first.get_or_insert(did);
            }
        }
        let tried = cuts.len();
        let first = Box::new(first.unwrap_or(Did::Nothing));
        (
            Did::Split {
                refused,
                tried,
                first,
            },
            tried,
        )
    }

    /// Headers of growing size until one is not served.
    async fn largest(&self) -> (Did, usize) {
        let mut taken = None;
        let mut made = 0;
        for size in suite::SIZES {
            made += 1;
            let shot = Shot::new(suite::v2_of_size(size), Delivery::Whole, None);
            let (did, _) = self.wire.shoot(&shot).await;
            if did.served() {
                taken = Some(size);
            } else {
                return (
                    Did::Largest {
                        taken,
                        refused: Some((size, Box::new(did))),
                    },
                    made,
                );
            }
        }
        (
            Did::Largest {
                taken,
                refused: None,
            },
            made,
        )
    }

    /// Half a header on many connections, then one valid client.
    async fn stalled(&self) -> (Did, usize) {
        let header = self.valid_header();
        let half = &header[..header.len() / 2];
        let held = self.wire.hold(half, suite::STALLED).await;
        let shot = Shot::new(header.clone(), Delivery::Whole, Some(suite::CLAIMED));
        let (client, _) = self.wire.shoot(&shot).await;
        let did = Did::Stalled {
            held: held.len(),
            failed: held.failed,
            client: Box::new(client),
        };
        drop(held);
        (did, suite::STALLED + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_come_from_probe_classes() {
        assert_eq!(Mode::of(Class::RequiresV1OrV2), Some(Mode::Require));
        assert_eq!(Mode::of(Class::RequiresV2), Some(Mode::Require));
        assert_eq!(Mode::of(Class::Optional), Some(Mode::Optional));
        assert_eq!(Mode::of(Class::NoHeader), Some(Mode::Off));
        assert_eq!(Mode::of(Class::Inconclusive), None);
    }

    #[test]
    fn patterns_match_ids_and_refuse_what_matches_nothing() {
        let p = Pattern::new("v1/*").expect("pattern");
        assert!(p.matches("v1/tcp4") && !p.matches("v2/tcp4"));
        assert!(Pattern::new("*split*")
            .expect("pattern")
            .matches("v2/split-every-offset"));
        assert!(Pattern::new("nothing/*").is_err());
        assert!(Pattern::new("[").is_err());
    }
}
