//! The exporter's views: a probe run in the Prometheus text format
//! (version 0.0.4, written by prometheus-client's encoder), the exporter's
//! own registry, and the `/` page. The metric names and labels are listed
//! in docs/monitoring.md; a test holds the two together.

use std::fmt::Write as _;
use std::sync::atomic::AtomicU64;

use std::net::SocketAddr;

use prometheus_client::encoding::prometheus_text;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use serde::Serialize;

use super::json::{Doc, EndpointJson};
use super::Style;
use crate::diagnose::probe::{Came, Mode, Probe, TlsEnd};
use crate::monitor::exporter::{Ended, Exporter, Outcome, Recent, Run};
use crate::monitor::modules::{Module, Modules};

/// The `Content-Type` of an exposition.
pub(crate) const CONTENT_TYPE: &str = prometheus_text::CONTENT_TYPE;

type Labels = Vec<(&'static str, String)>;
type Float = Gauge<f64, AtomicU64>;

/// A registry in the Prometheus text format.
pub(crate) fn encode(registry: &Registry) -> String {
    let mut text = String::new();
    // Writing to a String cannot fail; a metric that cannot be encoded
    // would be a bug in the encoder.
    let _ = prometheus_text::encode(&mut text, registry);
    text
}

/// A gauge's help and value, registered.
fn gauge(r: &mut Registry, name: &str, help: &str, value: f64) {
    let g = Float::default();
    g.set(value);
    r.register(name, help, g);
}

/// A labelled gauge family, one sample per row.
fn family(r: &mut Registry, name: &str, help: &str, rows: Vec<(Labels, f64)>) {
    if rows.is_empty() {
        return;
    }
    let f = Family::<Labels, Float>::default();
    for (labels, value) in rows {
        f.get_or_create(&labels).set(value);
    }
    r.register(name, help, f);
}

fn flag(b: bool) -> f64 {
    if b {
        1.0
    } else {
        0.0
    }
}

/// One probe run: what `/probe` answers.
pub(crate) fn probe(run: &Run) -> String {
    let mut r = Registry::default();
    gauge(
        &mut r,
        "ppctl_probe_success",
        "1 when the endpoint was reached and its profile concluded (not unreachable or inconclusive)",
        flag(run.success()),
    );
    gauge(
        &mut r,
        "ppctl_probe_expectation_met",
        "1 when the module's expectations hold (as ppctl probe with its flags exits 0; without any, a connection was made)",
        flag(run.met()),
    );
    gauge(
        &mut r,
        "ppctl_probe_duration_seconds",
        "How long the probe took, its lookup included",
        run.duration.as_secs_f64(),
    );
    gauge(
        &mut r,
        "ppctl_probe_timeout_seconds",
        "The time the probe was given: the module's timeout, cut to the scrape's",
        run.budget.as_secs_f64(),
    );
    match &run.outcome {
        Outcome::Probed(p) => probed(&mut r, p),
        other => {
            let error = match other {
                Outcome::Unresolved(_) => "unresolved",
                Outcome::NoAddress(_) => "no-address",
                _ => "over-time",
            };
            family(
                &mut r,
                "ppctl_probe_error_info",
                "Why the probe did not run (unresolved: the name did not resolve; no-address: none of the module's IP family; over-time)",
                vec![(vec![("error", error.to_string())], 1.0)],
            );
        }
    }
    encode(&r)
}

fn probed(r: &mut Registry, p: &Probe) {
    family(
        r,
        "ppctl_probe_profile_info",
        "The endpoint's profile: which headers it takes (docs/verdicts.md)",
        vec![(vec![("profile", p.class.name().to_string())], 1.0)],
    );
    family(
        r,
        "ppctl_probe_finding_info",
        "The finding the profile leads to (docs/verdicts.md)",
        vec![(finding_labels(p.finding), 1.0)],
    );
    let header = |a: &crate::diagnose::probe::Attempt| vec![("header", a.kind.name().to_string())];
    family(
        r,
        "ppctl_probe_attempt_connected",
        "1 when the attempt with this header connected",
        p.attempts
            .iter()
            .map(|a| (header(a), flag(a.connected)))
            .collect(),
    );
    family(
        r,
        "ppctl_probe_attempt_accepted",
        "1 when the endpoint served the attempt with this header",
        p.attempts
            .iter()
            .map(|a| (header(a), flag(a.accepted)))
            .collect(),
    );
    family(
        r,
        "ppctl_probe_attempt_duration_seconds",
        "How long the attempt with this header took",
        p.attempts
            .iter()
            .map(|a| (header(a), a.elapsed.as_secs_f64()))
            .collect(),
    );
    family(
        r,
        "ppctl_probe_attempt_finding_info",
        "The judge's finding for the attempt with this header",
        p.attempts
            .iter()
            .map(|a| {
                let mut labels = header(a);
                labels.extend(finding_labels(a.finding));
                (labels, 1.0)
            })
            .collect(),
    );
    family(
        r,
        "ppctl_probe_attempt_http_status",
        "The HTTP status that answered the attempt with this header (plain HTTP modules)",
        p.attempts
            .iter()
            .filter_map(|a| match &a.came {
                Came::Http { status, .. } => Some((header(a), f64::from(*status))),
                _ => None,
            })
            .collect(),
    );
    if p.mode != Mode::Tls {
        return;
    }
    let handshakes: Vec<_> = p
        .attempts
        .iter()
        .filter_map(|a| match &a.came {
            Came::Tls {
                end:
                    TlsEnd::HandshakeOk {
                        version,
                        certificate,
                        ..
                    },
                ..
            } => Some((a, version, certificate)),
            _ => None,
        })
        .collect();
    family(
        r,
        "ppctl_probe_tls_version_info",
        "The TLS version the attempt with this header negotiated",
        handshakes
            .iter()
            .map(|(a, version, _)| {
                let mut labels = header(a);
                labels.push(("version", version.to_string()));
                (labels, 1.0)
            })
            .collect(),
    );
    let expiry = handshakes
        .iter()
        .filter_map(|(_, _, c)| c.as_ref().map(|c| c.not_after))
        .min();
    if let Some(expiry) = expiry {
        gauge(
            r,
            "ppctl_probe_tls_cert_expiry_timestamp_seconds",
            "When the server's certificate expires (Unix time; the earliest any attempt saw)",
            expiry as f64,
        );
    }
}

fn finding_labels(f: crate::judge::Finding) -> Labels {
    vec![
        ("finding", f.name().to_string()),
        ("code", f.code().to_string()),
        ("severity", f.severity().name().to_string()),
    ]
}

/// `/probe?…&debug=true`: the probe's report as `ppctl probe` prints it,
/// then the metrics.
pub(crate) fn debug(run: &Run) -> String {
    let mut text = format!(
        "module {} ({}), target {}, given {:.1}s, waited {:.1}s for a slot\n\n",
        run.module.name,
        describe(&run.module),
        run.target,
        run.budget.as_secs_f64(),
        run.waited.as_secs_f64()
    );
    match &run.outcome {
        Outcome::Probed(p) => text.push_str(&super::probe::human(p, Style::plain())),
        Outcome::Unresolved(e) => {
            let _ = writeln!(text, "{e}");
        }
        Outcome::NoAddress(family) => {
            let _ = writeln!(
                text,
                "{} has no {} address, and the module's ip_protocol_fallback is false",
                run.target,
                family.name()
            );
        }
        Outcome::OverTime => {
            let _ = writeln!(text, "the probe did not end within its time");
        }
    }
    text.push_str("\nMetrics that would have been returned:\n");
    text.push_str(&probe(run));
    text
}

/// The first line of `probe --serve --json`: where it serves, what.
pub(crate) fn serving_json(addrs: &[SocketAddr], exporter: &Exporter) -> String {
    #[derive(Serialize)]
    struct ServingJson<'a> {
        addresses: Vec<EndpointJson>,
        modules: Vec<&'a str>,
        max_probes: usize,
    }
    Doc::new(
        "serving",
        ServingJson {
            addresses: addrs.iter().map(|a| EndpointJson::inet(*a)).collect(),
            modules: exporter.modules().names(),
            max_probes: exporter.max_probes(),
        },
    )
    .line()
}

/// The first line of `probe --serve`, and one per module.
pub(crate) fn serving_human(addrs: &[SocketAddr], exporter: &Exporter, style: Style) -> String {
    let urls: Vec<String> = addrs.iter().map(|a| format!("http://{a}/")).collect();
    let mut text = format!(
        "serving probes on {} (at most {} at once; /probe?target=HOST:PORT&module=NAME)\n",
        style.bold(&urls.join(" ")),
        exporter.max_probes()
    );
    for m in exporter.modules().iter() {
        let _ = writeln!(text, "  module {}: {}", style.bold(&m.name), describe(m));
    }
    text
}

/// A module's settings in a few words.
pub(crate) fn describe(m: &Module) -> String {
    let mut parts = vec![m.mode.name().to_string()];
    if let Some(wait) = m.greeting_timeout {
        parts.push(format!("greeting_timeout {}", crate::duration::show(wait)));
    }
    if let Some(sni) = &m.sni {
        parts.push(format!("sni {sni}"));
    }
    parts.push(format!("timeout {}", seconds(m.timeout.as_secs_f64())));
    if !m.expect.forms.is_empty() {
        let forms: Vec<&str> = m.expect.forms.iter().map(|f| f.name()).collect();
        parts.push(format!("expect {}", forms.join(" or ")));
    }
    if let Some(body) = &m.expect.body {
        parts.push(format!("expect_body {body:?}"));
    }
    if !m.expect.client_ip.is_empty() {
        let src: Vec<String> = m.expect.client_ip.iter().map(|n| n.to_string()).collect();
        parts.push(format!("expect_client_ip {}", src.join(", ")));
    }
    if m.family != crate::monitor::modules::IpFamily::Any {
        parts.push(format!(
            "{}{}",
            m.family.name(),
            if m.fallback { "" } else { " only" }
        ));
    }
    parts.join(", ")
}

fn seconds(s: f64) -> String {
    if s.fract() == 0.0 {
        format!("{s:.0}s")
    } else {
        format!("{s:.1}s")
    }
}

/// Text for HTML: `&`, `<`, `>`, `"` and `'` escaped.
fn html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A `/probe` link's query for a target and module.
fn probe_query(target: &str, module: &str, debug: bool) -> String {
    let mut q = form_urlencoded::Serializer::new(String::new());
    q.append_pair("target", target)
        .append_pair("module", module);
    if debug {
        q.append_pair("debug", "true");
    }
    q.finish()
}

/// `/`: the modules and the last probes (as blackbox_exporter's page).
pub(crate) fn index(modules: &Modules, recent: &[Recent], slots: usize) -> String {
    let mut page = String::from(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>ppctl probe exporter</title></head>\n<body>\n<h1>ppctl probe exporter</h1>\n",
    );
    let _ = writeln!(
        page,
        "<p>ppctl {}: <code>/probe?target=HOST:PORT&amp;module=NAME</code> probes an endpoint's PROXY protocol profile; <a href=\"/metrics\">/metrics</a> has the exporter's own. At most {slots} probes run at once.</p>",
        env!("CARGO_PKG_VERSION")
    );
    page.push_str(
        "<h2>Modules</h2>\n<table border=\"1\">\n<tr><th>module</th><th>settings</th></tr>\n",
    );
    for m in modules.iter() {
        let _ = writeln!(
            page,
            "<tr><td>{}</td><td>{}</td></tr>",
            html(&m.name),
            html(&describe(m))
        );
    }
    page.push_str("</table>\n<h2>Last probes</h2>\n");
    if recent.is_empty() {
        page.push_str("<p>None yet.</p>\n");
    } else {
        page.push_str("<table border=\"1\">\n<tr><th>time (UTC)</th><th>module</th><th>target</th><th>profile</th><th>finding</th><th>expectation</th><th>duration</th><th>debug</th></tr>\n");
        for p in recent {
            let target = p.target.to_string();
            let (profile, finding) = match (p.class, p.finding, p.outcome) {
                (Some(c), Some(f), _) => (c.name().to_string(), f.name().to_string()),
                (_, _, Ended::Unresolved) => ("(not resolved)".into(), String::new()),
                (_, _, Ended::NoAddress) => ("(no address of the family)".into(), String::new()),
                _ => ("(over time)".into(), String::new()),
            };
            let _ = writeln!(
                page,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.3}s</td><td><a href=\"/probe?{}\">debug</a></td></tr>",
                crate::server::clock::rfc3339(p.at),
                html(&p.module),
                html(&target),
                html(&profile),
                html(&finding),
                if p.met { "met" } else { "not met" },
                p.duration.as_secs_f64(),
                html(&probe_query(&target, &p.module, true)),
            );
        }
        page.push_str("</table>\n");
    }
    page.push_str("</body></html>\n");
    page
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use super::*;
    use crate::judge::Finding;
    use crate::monitor::modules::Modules;
    use crate::net::Target;

    #[test]
    fn html_is_escaped_and_links_are_encoded() {
        assert_eq!(
            html("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
        assert_eq!(
            probe_query("[::1]:80", "a b", true),
            "target=%5B%3A%3A1%5D%3A80&module=a+b&debug=true"
        );
        let recent = Recent {
            at: SystemTime::now(),
            module: "http".into(),
            target: Target {
                host: "<script>".into(),
                port: 80,
            },
            class: None,
            finding: Some(Finding::Unreachable),
            met: false,
            duration: Duration::from_millis(3),
            outcome: Ended::Unresolved,
        };
        let page = index(&Modules::builtin(), &[recent], 4);
        assert!(!page.contains("<script>"), "{page}");
        assert!(page.contains("&lt;script&gt;:80"));
        assert!(page.contains("(not resolved)"));
    }
}
