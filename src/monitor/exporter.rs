//! The exporter's engine (`probe --serve`): a scrape's query and timeout
//! in, one probe run out, within bounds. The HTTP side and the rendering
//! (the Prometheus text format, the HTML page) are the command's and the
//! report's; this owns the modules, the probe slots, the exporter's own
//! counters and the last probes.
//!
//! Deadlines: a probe runs on its module's `timeout`, cut to the scrape's
//! (`X-Prometheus-Scrape-Timeout-Seconds` less [`SCRAPE_OFFSET`], kept for
//! the answer to travel). Slots: at most `max_probes` probes run at once.
//! A scrape that finds them all busy waits for one only as long as its
//! scrape timeout leaves beyond the probe's own time; a probe never runs on
//! less than its module's time because it waited (that would make a slow
//! queue look like a slow endpoint). Otherwise: 503, counted as `busy`.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use thiserror::Error;
use tokio::sync::Semaphore;

use super::modules::{IpFamily, Module, Modules};
use super::query::{self, ProbeQuery, QueryError};
use crate::diagnose::probe::{self, Class, Probe};
use crate::judge::Finding;
use crate::net::{Target, TargetError};

/// Kept from a scrape's timeout for the answer to reach Prometheus
/// (blackbox_exporter's default `--timeout-offset`).
pub(crate) const SCRAPE_OFFSET: Duration = Duration::from_millis(500);

/// A probe needs at least this long (a quarter per attempt).
pub(crate) const MIN_BUDGET: Duration = Duration::from_millis(200);

/// Probes run at once unless `--max-probes` says.
pub(crate) const DEFAULT_MAX_PROBES: usize = 32;

/// How many of the last probes `/` lists.
pub(crate) const RECENT: usize = 20;

/// Past its budget a probe is given this long before it is called over
/// time (the engine bounds every attempt; this only catches a bug).
const GRACE: Duration = Duration::from_secs(2);

/// How one probe run ended.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// The probe ran (whatever it found).
    Probed(Probe),
    /// The target's name did not resolve.
    Unresolved(TargetError),
    /// The name resolved, but to no address of the module's family.
    NoAddress(IpFamily),
    /// The probe did not end within its budget.
    OverTime,
}

/// One probe run, for the exposition and the `/` page.
#[derive(Debug)]
pub(crate) struct Run {
    pub module: Module,
    pub target: Target,
    pub at: SystemTime,
    /// The time the probe was given.
    pub budget: Duration,
    /// How long the scrape waited for a slot.
    pub waited: Duration,
    /// From the slot to the result (the name's lookup included).
    pub duration: Duration,
    pub outcome: Outcome,
}

impl Run {
    pub(crate) fn probe(&self) -> Option<&Probe> {
        match &self.outcome {
            Outcome::Probed(p) => Some(p),
            _ => None,
        }
    }

    /// The endpoint was reached and its profile concluded.
    pub(crate) fn success(&self) -> bool {
        self.probe()
            .is_some_and(|p| !matches!(p.class, Class::Unreachable | Class::Inconclusive))
    }

    /// What `ppctl probe` with the module's flags would exit 0 on: every
    /// expectation met, or with none, a connection made.
    pub(crate) fn met(&self) -> bool {
        self.probe().is_some_and(|p| match &p.checked {
            Some(c) => c.met(),
            None => p.class != Class::Unreachable,
        })
    }

    fn result(&self) -> ProbeResult {
        match (&self.outcome, self.met()) {
            (Outcome::Probed(_), true) => ProbeResult::Met,
            (Outcome::Probed(_), false) => ProbeResult::Unmet,
            _ => ProbeResult::Error,
        }
    }
}

/// A probe as `/` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Recent {
    pub at: SystemTime,
    pub module: String,
    pub target: Target,
    /// `None` when the probe did not run (see `outcome`).
    pub class: Option<Class>,
    pub finding: Option<Finding>,
    pub met: bool,
    pub duration: Duration,
    pub outcome: Ended,
}

/// How a listed probe ended, without its details.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ended {
    Probed,
    Unresolved,
    NoAddress,
    OverTime,
}

/// Why a scrape gets no probe.
#[derive(Debug, Error)]
pub(crate) enum Refusal {
    #[error("{0}")]
    Query(#[from] QueryError),
    #[error("unknown module {name:?}: this exporter has {}", known.join(", "))]
    UnknownModule { name: String, known: Vec<String> },
    #[error("no module= given, and this exporter has no default (a config with one module, or one named http): give one of {}", known.join(", "))]
    NoModule { known: Vec<String> },
    #[error("the scrape timeout ({}ms) leaves less than {}ms for a probe once {}ms are kept for the answer: raise scrape_timeout", .scrape.as_millis(), MIN_BUDGET.as_millis(), SCRAPE_OFFSET.as_millis())]
    ScrapeTooShort { scrape: Duration },
    #[error("all {slots} probe slots are busy and none came free within {}ms (what the scrape timeout leaves beyond the module's timeout): raise --max-probes, or give the module a timeout shorter than the scrape timeout so a probe may wait", .waited.as_millis())]
    Busy { slots: usize, waited: Duration },
    #[error("the probe stopped unexpectedly")]
    Crashed,
}

impl Refusal {
    /// The HTTP status it is answered with.
    pub(crate) fn status(&self) -> u16 {
        match self {
            Refusal::Busy { .. } => 503,
            Refusal::Crashed => 500,
            _ => 400,
        }
    }

    fn reason(&self) -> RefusalReason {
        match self {
            Refusal::Query(QueryError::ScrapeTimeout(_)) | Refusal::ScrapeTooShort { .. } => {
                RefusalReason::ScrapeTimeout
            }
            Refusal::Query(_) => RefusalReason::BadQuery,
            Refusal::UnknownModule { .. } | Refusal::NoModule { .. } => {
                RefusalReason::UnknownModule
            }
            Refusal::Busy { .. } => RefusalReason::Busy,
            Refusal::Crashed => RefusalReason::Crashed,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ProbeResult {
    /// Every expectation held.
    Met,
    Unmet,
    /// The probe could not run (name, family, time).
    Error,
}

impl ProbeResult {
    fn name(self) -> &'static str {
        match self {
            ProbeResult::Met => "met",
            ProbeResult::Unmet => "unmet",
            ProbeResult::Error => "error",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RefusalReason {
    BadQuery,
    UnknownModule,
    ScrapeTimeout,
    Busy,
    Crashed,
}

impl RefusalReason {
    fn name(self) -> &'static str {
        match self {
            RefusalReason::BadQuery => "bad-query",
            RefusalReason::UnknownModule => "unknown-module",
            RefusalReason::ScrapeTimeout => "scrape-timeout",
            RefusalReason::Busy => "busy",
            RefusalReason::Crashed => "crashed",
        }
    }
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ProbeLabels {
    module: String,
    result: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ModuleLabel {
    module: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RefusalLabel {
    reason: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BuildLabel {
    version: &'static str,
}

fn duration_histogram() -> Histogram {
    Histogram::new([
        0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
    ])
}

/// The exporter's own metrics (`/metrics`).
struct Stats {
    registry: Registry,
    probes: Family<ProbeLabels, Counter>,
    durations: Family<ModuleLabel, Histogram, fn() -> Histogram>,
    refused: Family<RefusalLabel, Counter>,
    in_flight: Gauge,
    waiting: Gauge,
}

impl Stats {
    fn new(slots: usize) -> Stats {
        let mut registry = Registry::default();
        let probes = Family::<ProbeLabels, Counter>::default();
        registry.register(
            "ppctl_exporter_probes",
            "Probes run, by module and result (met: every expectation held; unmet; error: the probe could not run)",
            probes.clone(),
        );
        let durations: Family<ModuleLabel, Histogram, fn() -> Histogram> =
            Family::new_with_constructor(duration_histogram);
        registry.register(
            "ppctl_exporter_probe_duration_seconds",
            "How long probes took, by module",
            durations.clone(),
        );
        let refused = Family::<RefusalLabel, Counter>::default();
        registry.register(
            "ppctl_exporter_scrapes_refused",
            "Scrapes answered without a probe, by reason (bad-query, unknown-module, scrape-timeout: 400; busy: 503)",
            refused.clone(),
        );
        let in_flight = Gauge::default();
        registry.register(
            "ppctl_exporter_probes_in_flight",
            "Probes running now",
            in_flight.clone(),
        );
        let waiting = Gauge::default();
        registry.register(
            "ppctl_exporter_probes_waiting",
            "Scrapes waiting for a probe slot now",
            waiting.clone(),
        );
        let max: Gauge = Gauge::default();
        max.set(i64::try_from(slots).unwrap_or(i64::MAX));
        registry.register(
            "ppctl_exporter_probe_slots",
            "Probes that may run at once (--max-probes)",
            max,
        );
        let build = Family::<BuildLabel, Gauge>::default();
        build
            .get_or_create(&BuildLabel {
                version: env!("CARGO_PKG_VERSION"),
            })
            .set(1);
        registry.register(
            "ppctl_exporter_build_info",
            "The ppctl version serving",
            build,
        );
        Stats {
            registry,
            probes,
            durations,
            refused,
            in_flight,
            waiting,
        }
    }
}

/// Decrements a gauge when dropped (a scrape whose client leaves still
/// gives its count back).
struct Held(Gauge);

impl Held {
    fn new(g: &Gauge) -> Held {
        g.inc();
        Held(g.clone())
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// The exporter: modules, slots, counters, the last probes.
pub(crate) struct Exporter {
    modules: Modules,
    slots: Arc<Semaphore>,
    max_probes: usize,
    stats: Stats,
    recent: Mutex<VecDeque<Recent>>,
}

impl Exporter {
    pub(crate) fn new(modules: Modules, max_probes: usize) -> Exporter {
        let max_probes = max_probes.max(1);
        Exporter {
            modules,
            slots: Arc::new(Semaphore::new(max_probes)),
            max_probes,
            stats: Stats::new(max_probes),
            recent: Mutex::new(VecDeque::with_capacity(RECENT)),
        }
    }

    pub(crate) fn modules(&self) -> &Modules {
        &self.modules
    }

    pub(crate) fn max_probes(&self) -> usize {
        self.max_probes
    }

    /// The exporter's own metrics.
    pub(crate) fn registry(&self) -> &Registry {
        &self.stats.registry
    }

    /// The last probes, newest first.
    pub(crate) fn recent(&self) -> Vec<Recent> {
        self.recent
            .lock()
            .map(|r| r.iter().rev().cloned().collect())
            .unwrap_or_default()
    }

    /// Answer one scrape: `query` is the URI's query, `scrape_timeout` the
    /// `X-Prometheus-Scrape-Timeout-Seconds` header's value. Every refusal
    /// is counted.
    pub(crate) async fn scrape(
        self: &Arc<Self>,
        query: Option<&str>,
        scrape_timeout: Option<&[u8]>,
    ) -> Result<(ProbeQuery, Run), Refusal> {
        let answer = self.try_scrape(query, scrape_timeout).await;
        if let Err(refusal) = &answer {
            self.stats
                .refused
                .get_or_create(&RefusalLabel {
                    reason: refusal.reason().name(),
                })
                .inc();
        }
        answer
    }

    async fn try_scrape(
        self: &Arc<Self>,
        query: Option<&str>,
        scrape_timeout: Option<&[u8]>,
    ) -> Result<(ProbeQuery, Run), Refusal> {
        let q = query::parse(query)?;
        let scrape = query::scrape_timeout(scrape_timeout)?;
        let module = match &q.module {
            Some(name) => self
                .modules
                .get(name)
                .ok_or_else(|| Refusal::UnknownModule {
                    name: name.clone(),
                    known: self.known(),
                })?,
            None => self
                .modules
                .default_module()
                .ok_or_else(|| Refusal::NoModule {
                    known: self.known(),
                })?,
        }
        .clone();
        let (budget, slack) = budget(module.timeout, scrape)?;
        let start = Instant::now();
        let slot = match self.slots.clone().try_acquire_owned() {
            Ok(slot) => slot,
            Err(_) if slack.is_zero() => {
                return Err(Refusal::Busy {
                    slots: self.max_probes,
                    waited: Duration::ZERO,
                })
            }
            Err(_) => {
                let _waiting = Held::new(&self.stats.waiting);
                match tokio::time::timeout(slack, self.slots.clone().acquire_owned()).await {
                    Ok(Ok(slot)) => slot,
                    _ => {
                        return Err(Refusal::Busy {
                            slots: self.max_probes,
                            waited: start.elapsed(),
                        })
                    }
                }
            }
        };
        let waited = start.elapsed();
        // The probe runs in a task of its own that holds the slot, so the
        // bound holds even when the scraper hangs up mid-probe.
        let me = self.clone();
        let target = q.target.clone();
        let task = tokio::spawn(async move {
            let _slot = slot;
            let _flying = Held::new(&me.stats.in_flight);
            let at = SystemTime::now();
            let began = Instant::now();
            let outcome = run(&module, &target, budget).await;
            let run = Run {
                module,
                target,
                at,
                budget,
                waited,
                duration: began.elapsed(),
                outcome,
            };
            me.record(&run);
            run
        });
        let run = task.await.map_err(|_| Refusal::Crashed)?;
        Ok((q, run))
    }

    fn known(&self) -> Vec<String> {
        self.modules.names().into_iter().map(String::from).collect()
    }

    fn record(&self, run: &Run) {
        self.stats
            .probes
            .get_or_create(&ProbeLabels {
                module: run.module.name.clone(),
                result: run.result().name(),
            })
            .inc();
        self.stats
            .durations
            .get_or_create(&ModuleLabel {
                module: run.module.name.clone(),
            })
            .observe(run.duration.as_secs_f64());
        let recent = Recent {
            at: run.at,
            module: run.module.name.clone(),
            target: run.target.clone(),
            class: run.probe().map(|p| p.class),
            finding: run.probe().map(|p| p.finding),
            met: run.met(),
            duration: run.duration,
            outcome: match run.outcome {
                Outcome::Probed(_) => Ended::Probed,
                Outcome::Unresolved(_) => Ended::Unresolved,
                Outcome::NoAddress(_) => Ended::NoAddress,
                Outcome::OverTime => Ended::OverTime,
            },
        };
        if let Ok(mut list) = self.recent.lock() {
            if list.len() == RECENT {
                list.pop_front();
            }
            list.push_back(recent);
        }
    }
}

/// The probe's time and how long a scrape may wait for a slot: the
/// module's timeout, cut to the scrape's (less the offset); the wait is
/// what the scrape's leaves beyond it (none without the header).
pub(crate) fn budget(
    module: Duration,
    scrape: Option<Duration>,
) -> Result<(Duration, Duration), Refusal> {
    let Some(scrape) = scrape else {
        return Ok((module, Duration::ZERO));
    };
    let usable = scrape.saturating_sub(SCRAPE_OFFSET);
    if usable < MIN_BUDGET {
        return Err(Refusal::ScrapeTooShort { scrape });
    }
    let budget = module.min(usable);
    Ok((budget, usable - budget))
}

/// Look the target up and probe it, all within `budget`.
async fn run(module: &Module, target: &Target, budget: Duration) -> Outcome {
    let began = Instant::now();
    let addrs = match tokio::time::timeout(budget, target.resolve()).await {
        Ok(Ok(addrs)) => addrs,
        Ok(Err(e)) => return Outcome::Unresolved(e),
        Err(_) => return Outcome::OverTime,
    };
    let addrs = module.pick(&addrs);
    if addrs.is_empty() {
        return Outcome::NoAddress(module.family);
    }
    let left = budget.saturating_sub(began.elapsed());
    if left < MIN_BUDGET {
        return Outcome::OverTime;
    }
    let opts = module.options(left, target.port);
    match tokio::time::timeout(left + GRACE, probe::probe(target, &addrs, &opts)).await {
        Ok(p) => Outcome::Probed(p),
        Err(_) => Outcome::OverTime,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_is_the_module_cut_to_the_scrape() {
        let s = Duration::from_secs;
        let ms = Duration::from_millis;
        assert_eq!(budget(s(8), None).unwrap(), (s(8), Duration::ZERO));
        assert_eq!(budget(s(8), Some(s(10))).unwrap(), (s(8), ms(1500)));
        assert_eq!(
            budget(s(8), Some(s(5))).unwrap(),
            (ms(4500), Duration::ZERO)
        );
        assert!(matches!(
            budget(s(8), Some(ms(600))),
            Err(Refusal::ScrapeTooShort { .. })
        ));
    }

    fn exporter(max: usize) -> Arc<Exporter> {
        Arc::new(Exporter::new(Modules::builtin(), max))
    }

    #[tokio::test]
    async fn refusals_are_counted_and_say_why() {
        let e = exporter(2);
        let err = e.scrape(Some("target=x"), None).await.unwrap_err();
        assert_eq!(err.status(), 400);
        let err = e
            .scrape(Some("target=127.0.0.1:1&module=nope"), None)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("http, tls, banner"), "{err}");
        let err = e
            .scrape(Some("target=127.0.0.1:1"), Some(b"0.6"))
            .await
            .unwrap_err();
        assert!(matches!(err, Refusal::ScrapeTooShort { .. }), "{err}");
        let err = e
            .scrape(Some("target=127.0.0.1:1"), Some(b"abc"))
            .await
            .unwrap_err();
        assert!(matches!(err, Refusal::Query(QueryError::ScrapeTimeout(_))));
        let refused: u64 = [
            RefusalReason::BadQuery,
            RefusalReason::UnknownModule,
            RefusalReason::ScrapeTimeout,
        ]
        .into_iter()
        .map(|r| {
            e.stats
                .refused
                .get_or_create(&RefusalLabel { reason: r.name() })
                .get()
        })
        .sum();
        assert_eq!(refused, 4);
    }

    #[tokio::test]
    async fn a_closed_port_is_probed_and_remembered() {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let e = exporter(2);
        let (q, run) = e
            .scrape(Some(&format!("target=127.0.0.1:{port}")), Some(b"5"))
            .await
            .unwrap();
        assert_eq!(q.target.port, port);
        assert_eq!(run.module.name, "http");
        assert_eq!(run.budget, Duration::from_millis(4500));
        assert!(!run.success() && !run.met());
        assert_eq!(run.probe().map(|p| p.class), Some(Class::Unreachable));
        let recent = e.recent();
        assert_eq!(recent.len(), 1);
        assert_eq!(recent[0].class, Some(Class::Unreachable));
        assert_eq!(e.stats.in_flight.get(), 0);
    }

    #[tokio::test]
    async fn busy_slots_refuse_at_once_without_slack() {
        let e = exporter(1);
        let held = e.slots.clone().try_acquire_owned().unwrap();
        // Module timeout 8s, scrape 5s: no time to wait.
        let err = e
            .scrape(Some("target=127.0.0.1:1"), Some(b"5"))
            .await
            .unwrap_err();
        assert!(
            matches!(err, Refusal::Busy { .. }) && err.status() == 503,
            "{err}"
        );
        // Scrape 8.7s: 0.2s to wait, and the slot stays busy.
        let t = Instant::now();
        let err = e
            .scrape(Some("target=127.0.0.1:1"), Some(b"8.7"))
            .await
            .unwrap_err();
        assert!(matches!(err, Refusal::Busy { .. }));
        assert!(t.elapsed() >= Duration::from_millis(150));
        assert_eq!(e.stats.waiting.get(), 0);
        drop(held);
    }
}
