//! Counts per verdict, printed when the server stops.

use std::collections::BTreeMap;

use serde::Serialize;

use super::record::{ConnRecord, Verdict};
use crate::report::json::SCHEMA;
use crate::report::Style;

#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    /// Always "summary".
    pub event: &'static str,
    pub schema: u32,
    pub connections: u64,
    /// Verdict name -> count (only verdicts seen).
    pub verdicts: BTreeMap<&'static str, u64>,
    /// Header versions seen among served connections: "v1", "v2", "none".
    pub versions: BTreeMap<&'static str, u64>,
    /// With expectations: connections that did not match.
    pub mismatched: Option<u64>,
    /// Stopped by a signal (rather than by `--count`).
    pub interrupted: bool,
}

impl Summary {
    pub fn new(expectations: bool) -> Self {
        Summary {
            event: "summary",
            schema: SCHEMA,
            mismatched: expectations.then_some(0),
            ..Default::default()
        }
    }

    pub fn add(&mut self, rec: &ConnRecord) {
        self.connections += 1;
        *self.verdicts.entry(rec.verdict.name()).or_default() += 1;
        if rec.verdict.served() {
            let v = match rec.header.as_ref().and_then(|h| h.version) {
                Some(1) => "v1",
                Some(2) => "v2",
                _ => "none",
            };
            *self.versions.entry(v).or_default() += 1;
        }
        if let (Some(m), Some(false)) = (self.mismatched.as_mut(), rec.matched) {
            *m += 1;
        }
    }

    pub fn count(&self, v: Verdict) -> u64 {
        self.verdicts.get(v.name()).copied().unwrap_or(0)
    }

    /// Every connection met the expectations (true when none were set).
    pub fn all_matched(&self) -> bool {
        self.mismatched.is_none_or(|m| m == 0)
    }

    pub fn json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    pub fn human(&self, style: Style) -> String {
        let mut parts: Vec<String> = Verdict::ALL
            .iter()
            .filter(|v| self.count(**v) > 0)
            .map(|v| format!("{} {}", self.count(*v), v.name()))
            .collect();
        if parts.is_empty() {
            parts.push("none".into());
        }
        let mut s = format!(
            "{} {} connection(s): {}",
            style.bold("summary:"),
            self.connections,
            parts.join(", ")
        );
        if !self.versions.is_empty() {
            let v: Vec<String> = self
                .versions
                .iter()
                .map(|(k, n)| format!("{n} {k}"))
                .collect();
            s.push_str(&format!(" (served: {})", v.join(", ")));
        }
        if let Some(m) = self.mismatched {
            s.push_str(&if m == 0 {
                style.good("; every connection matched the expectations")
            } else {
                style.bad(&format!("; {m} did not match the expectations"))
            });
        }
        s.push('\n');
        s
    }
}
