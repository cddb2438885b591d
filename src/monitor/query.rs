//! What a scrape asks: `/probe?target=HOST:PORT&module=NAME` and the
//! deadline Prometheus sends in `X-Prometheus-Scrape-Timeout-Seconds`.
//! Anything else is refused with a reason (the exporter answers 400 with
//! it); nothing here panics, whatever the bytes.

use std::time::Duration;

use thiserror::Error;

use crate::net::{Target, TargetError};

/// A parsed `/probe` query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ProbeQuery {
    pub target: Target,
    /// `None`: the exporter's default module.
    pub module: Option<String>,
    /// `debug=true`: the probe's human report before the metrics
    /// (blackbox_exporter's `debug`).
    pub debug: bool,
}

/// Why a query is refused.
#[derive(Debug, Error, PartialEq, Eq)]
pub(crate) enum QueryError {
    #[error("no target: ask /probe?target=HOST:PORT&module=NAME")]
    NoTarget,
    #[error("{0}= is given twice: give it once")]
    Twice(&'static str),
    #[error("{0}= is empty")]
    Empty(&'static str),
    #[error("{0}")]
    Target(String),
    #[error("target host {0:?} has characters a host name or IP address cannot have (letters, digits, '-', '.', '_'; an IPv6 address in brackets)")]
    Host(String),
    #[error("unknown parameter {0:?}: /probe takes target, module and debug")]
    Unknown(String),
    #[error("debug={0:?}: give debug=true or debug=false")]
    Debug(String),
    #[error("the query is {0} bytes: at most {MAX_QUERY}")]
    TooLong(usize),
    #[error("X-Prometheus-Scrape-Timeout-Seconds: {0:?} is not a number of seconds above 0")]
    ScrapeTimeout(String),
}

/// The longest query read.
pub(crate) const MAX_QUERY: usize = 2048;

/// Parse the query part of a `/probe` URI (without the `?`).
pub(crate) fn parse(query: Option<&str>) -> Result<ProbeQuery, QueryError> {
    let query = query.unwrap_or("");
    if query.len() > MAX_QUERY {
        return Err(QueryError::TooLong(query.len()));
    }
    let (mut target, mut module, mut debug) = (None, None, None);
    for (key, value) in form_urlencoded::parse(query.as_bytes()) {
        let slot = match key.as_ref() {
            "target" => &mut target,
            "module" => &mut module,
            "debug" => &mut debug,
            other => return Err(QueryError::Unknown(other.chars().take(64).collect())),
        };
        if slot.is_some() {
            return Err(QueryError::Twice(name(&key)));
        }
        *slot = Some(value.into_owned());
    }
    let target = target.ok_or(QueryError::NoTarget)?;
    if target.is_empty() {
        return Err(QueryError::Empty("target"));
    }
    let target: Target = target
        .parse()
        .map_err(|e: TargetError| QueryError::Target(e.to_string()))?;
    if !host_chars(&target.host) {
        return Err(QueryError::Host(target.host));
    }
    if module.as_deref() == Some("") {
        return Err(QueryError::Empty("module"));
    }
    let debug = match debug.as_deref() {
        None | Some("false") => false,
        Some("true") => true,
        Some(other) => return Err(QueryError::Debug(other.chars().take(64).collect())),
    };
    Ok(ProbeQuery {
        target,
        module,
        debug,
    })
}

fn name(key: &str) -> &'static str {
    match key {
        "target" => "target",
        "module" => "module",
        _ => "debug",
    }
}

/// A host goes into the probe's `Host:` line and its TLS server name:
/// letters, digits, `-`, `.`, `_`, and an IPv6 literal's `:`.
fn host_chars(host: &str) -> bool {
    host.len() <= 253
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | ':'))
}

/// The scrape's timeout from `X-Prometheus-Scrape-Timeout-Seconds` (`None`
/// when the header is absent).
pub(crate) fn scrape_timeout(header: Option<&[u8]>) -> Result<Option<Duration>, QueryError> {
    let Some(raw) = header else {
        return Ok(None);
    };
    let text = String::from_utf8_lossy(raw);
    let bad = || QueryError::ScrapeTimeout(text.chars().take(32).collect());
    let secs: f64 = text.trim().parse().map_err(|_| bad())?;
    if !(secs > 0.0 && secs.is_finite()) {
        return Err(bad());
    }
    // Anything longer than a day is as good as no cap.
    Ok(Some(Duration::from_secs_f64(secs.min(86_400.0))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_scrape_query() {
        let q = parse(Some("target=127.0.0.1%3A8080&module=tls_v2")).unwrap();
        assert_eq!(q.target.to_string(), "127.0.0.1:8080");
        assert_eq!(q.module.as_deref(), Some("tls_v2"));
        assert!(!q.debug);
        let q = parse(Some("module=a&target=[::1]:443&debug=true")).unwrap();
        assert_eq!(
            (q.target.host.as_str(), q.target.port, q.debug),
            ("::1", 443, true)
        );
        let q = parse(Some("target=lb.internal:443")).unwrap();
        assert_eq!(q.module, None);
    }

    #[test]
    fn bad_queries_say_why() {
        let e = |q: Option<&str>| parse(q).unwrap_err();
        assert_eq!(e(None), QueryError::NoTarget);
        assert_eq!(e(Some("module=a")), QueryError::NoTarget);
        assert_eq!(e(Some("target=")), QueryError::Empty("target"));
        assert_eq!(
            e(Some("target=a:1&target=b:2")),
            QueryError::Twice("target")
        );
        assert_eq!(e(Some("target=a:1&module=")), QueryError::Empty("module"));
        assert_eq!(
            e(Some("target=a:1&modul=x")),
            QueryError::Unknown("modul".into())
        );
        assert_eq!(
            e(Some("target=a:1&debug=yes")),
            QueryError::Debug("yes".into())
        );
        assert!(matches!(e(Some("target=a")), QueryError::Target(_)));
        assert!(matches!(e(Some("target=a:0")), QueryError::Target(_)));
        assert!(matches!(e(Some("target=::1:80")), QueryError::Target(_)));
        assert_eq!(
            e(Some("target=a%0d%0aX-Injected%201:80")),
            QueryError::Host("a\r\nX-Injected 1".into())
        );
        let long = format!("target={}:80", "a".repeat(MAX_QUERY));
        assert!(matches!(e(Some(&long)), QueryError::TooLong(_)));
    }

    #[test]
    fn the_scrape_timeout_header() {
        assert_eq!(scrape_timeout(None), Ok(None));
        assert_eq!(
            scrape_timeout(Some(b"10")),
            Ok(Some(Duration::from_secs(10)))
        );
        assert_eq!(
            scrape_timeout(Some(b" 0.5 ")),
            Ok(Some(Duration::from_millis(500)))
        );
        for bad in [&b"0"[..], b"-1", b"NaN", b"inf", b"", b"ten", b"\xff"] {
            assert!(scrape_timeout(Some(bad)).is_err(), "{bad:?}");
        }
    }

    proptest! {
        /// Whatever the query, parse answers (and never panics); what it
        /// accepts has a target it can print back and parse again.
        #[test]
        fn any_query_gets_an_answer(q in ".{0,300}") {
            if let Ok(p) = parse(Some(&q)) {
                let again: Target = p.target.to_string().parse().expect("round trip");
                prop_assert_eq!(again, p.target);
            }
        }

        /// Queries built from the parameters' own pieces, percent-encoded
        /// or not, with any bytes between.
        #[test]
        fn pieces_of_queries(
            parts in proptest::collection::vec(
                prop_oneof![
                    Just("target=".to_string()), Just("module=".to_string()),
                    Just("debug=".to_string()), Just("&".to_string()), Just("=".to_string()),
                    Just("%".to_string()), Just("%3A".to_string()), Just("%ZZ".to_string()),
                    Just("[::1]".to_string()), Just(":".to_string()), Just("80".to_string()),
                    Just("127.0.0.1".to_string()), Just("+".to_string()), Just("%00".to_string()),
                    "[^&=]{0,8}",
                ],
                0..12,
            )
        ) {
            let _ = parse(Some(&parts.concat()));
        }

        #[test]
        fn any_header_gets_an_answer(h in proptest::collection::vec(any::<u8>(), 0..40)) {
            if let Ok(Some(d)) = scrape_timeout(Some(&h)) {
                prop_assert!(!d.is_zero());
            }
        }
    }
}
