//! `ppctl probe --serve ADDR`: the exporter's HTTP side. Routes
//! `/probe`, `/metrics` and `/` to the exporter engine
//! (`monitor::exporter`) and its views (`report::metrics`), on the one
//! metrics server (`metrics::http`), until SIGINT or SIGTERM.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::{Request, Response};
use tokio::sync::watch;

use super::serve::{Signals, Stop};
use crate::error::{Error, ExitCode, Result};
use crate::metrics::http::{self, Body, Limits, TEXT};
use crate::monitor::exporter::{Exporter, DEFAULT_MAX_PROBES};
use crate::monitor::modules::{Modules, MAX_CONFIG};
use crate::report::out::Out;
use crate::report::{self, Style};
use crate::server::bind;

/// `probe`'s flags for serving Prometheus.
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Serving Prometheus (--serve)")]
pub(crate) struct ServeArgs {
    /// Serve probes to Prometheus on ADDR (:PORT, IP:PORT, [IPv6]:PORT), as
    /// blackbox_exporter does: GET /probe?target=HOST:PORT&module=NAME
    /// probes and answers in the Prometheus text format; /metrics has the
    /// exporter's own; / lists the modules and the last probes
    /// (docs/monitoring.md). Runs until SIGINT or SIGTERM.
    #[allow(rustdoc::broken_intra_doc_links)] // `[IPv6]` is --help text
    #[arg(
        long,
        value_name = "ADDR",
        conflicts_with_all = ["target", "tls", "banner", "sni", "expect", "expect_body", "expect_client_ip", "watch"]
    )]
    pub(crate) serve: Option<String>,
    /// The modules to serve (YAML: probe's flags by name, per module; see
    /// docs/monitoring.md). Without it: http, tls and banner, with the
    /// defaults and no expectation.
    #[arg(long, value_name = "FILE", requires = "serve")]
    pub(crate) config: Option<PathBuf>,
    /// Probes run at once. A scrape that finds every slot busy waits for
    /// one as long as its scrape timeout leaves beyond the module's
    /// timeout, else gets 503.
    #[arg(
        long,
        value_name = "N",
        requires = "serve",
        default_value_t = DEFAULT_MAX_PROBES,
        value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=4096)
    )]
    pub(crate) max_probes: usize,
}

/// The scrape timeout's header, as Prometheus sends it.
const SCRAPE_TIMEOUT: &str = "x-prometheus-scrape-timeout-seconds";

/// Serve on `addr` until a signal; 0 then.
pub(crate) fn run(addr: &str, args: &ServeArgs, json: bool, style: Style) -> Result<ExitCode> {
    let modules = match &args.config {
        Some(path) => load(path)?,
        None => Modules::builtin(),
    };
    let exporter = Arc::new(Exporter::new(modules, args.max_probes));
    crate::net::runtime()?.block_on(async {
        let stop: Arc<Stop> = Arc::new(watch::channel(0).0);
        let signals =
            Signals::register().map_err(|e| Error::io("installing signal handlers", e))?;
        tokio::spawn(signals.count(stop.clone()));
        let listeners = bind::bind_all(&[addr.to_string()], false)
            .await
            .map_err(|e| Error::Other(e.into()))?;
        let addrs: Vec<_> = listeners.local_addrs().iter().map(|(_, a)| *a).collect();
        let first = if json {
            report::metrics::serving_json(&addrs, &exporter)
        } else {
            report::metrics::serving_human(&addrs, &exporter, style)
        };
        Out::stdout().line(&first)?;
        let limits = Limits {
            // A probe in flight when the signal comes may take its time.
            drain: exporter.modules().longest() + Duration::from_secs(2),
            ..Limits::default()
        };
        let handler = move |req, _peer| {
            let exporter = exporter.clone();
            async move { route(&exporter, req).await }
        };
        http::serve(listeners.tcp, handler, stop.subscribe(), limits)
            .await
            .map_err(|e| Error::io("accepting scrapes", e))?;
        Ok(ExitCode::Success)
    })
}

/// Read and check a config file.
fn load(path: &Path) -> Result<Modules> {
    let shown = path.display().to_string();
    let meta = std::fs::metadata(path).map_err(|e| Error::io(format!("reading {shown}"), e))?;
    if meta.len() > MAX_CONFIG as u64 {
        return Err(Error::usage(format!(
            "{shown}: {} bytes is too big for a config (at most {MAX_CONFIG})",
            meta.len()
        )));
    }
    let text =
        std::fs::read_to_string(path).map_err(|e| Error::io(format!("reading {shown}"), e))?;
    Modules::parse(&shown, &text).map_err(|e| Error::usage(format!("{shown}: {e}")))
}

/// One request to its answer.
async fn route(exporter: &Arc<Exporter>, req: Request<Incoming>) -> Response<Body> {
    if let Some(refused) = http::only_get(req.method()) {
        return refused;
    }
    match req.uri().path() {
        "/probe" => {
            let timeout = req.headers().get(SCRAPE_TIMEOUT).map(|v| v.as_bytes());
            match exporter.scrape(req.uri().query(), timeout).await {
                Ok((query, run)) if query.debug => {
                    http::response(200, TEXT, report::metrics::debug(&run))
                }
                Ok((_, run)) => http::response(
                    200,
                    report::metrics::CONTENT_TYPE,
                    report::metrics::probe(&run),
                ),
                Err(refusal) => http::response(refusal.status(), TEXT, format!("{refusal}\n")),
            }
        }
        "/metrics" => http::response(
            200,
            report::metrics::CONTENT_TYPE,
            report::metrics::encode(exporter.registry()),
        ),
        "/" => http::response(
            200,
            "text/html; charset=utf-8",
            report::metrics::index(
                exporter.modules(),
                &exporter.recent(),
                exporter.max_probes(),
            ),
        ),
        _ => http::response(
            404,
            TEXT,
            "not found: this exporter serves /probe?target=HOST:PORT&module=NAME, /metrics and /\n"
                .into(),
        ),
    }
}
