//! `send`'s results, for humans and as JSON (docs/json.md). Both views
//! come from the same [`SendJson`] model.

use serde::Serialize;

use super::explain::Explanation;
use super::load::LoadSummary;
use super::{http_status, Check};
use crate::codec;
use crate::net::{End, Reply};
use crate::receivers;
use crate::report::json::{HeaderJson, SniffJson, SCHEMA};
use crate::report::{inspect, Style};

/// How much of the reply the JSON and the human view show as text.
pub const REPLY_TEXT_MAX: usize = 4096;

/// The faults that shaped what was sent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FaultsJson {
    /// `bytewise`, or the offsets (`"5,12"`), or null.
    pub split: Option<String>,
    pub split_delay_ms: u64,
    pub corrupt: Option<&'static str>,
    pub twice: bool,
    pub raw: bool,
    pub wait_banner: bool,
}

/// Some received bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BytesJson {
    /// Every byte counted, including any beyond the size bound.
    pub length: usize,
    /// The first bytes (at most 4096) as text, lossy UTF-8.
    pub text: String,
    /// The same bytes as lower-case hex.
    pub hex: String,
    pub looks_like: SniffJson,
}

impl BytesJson {
    fn of(bytes: &[u8], length: usize) -> Self {
        let shown = &bytes[..bytes.len().min(REPLY_TEXT_MAX)];
        BytesJson {
            length,
            text: String::from_utf8_lossy(shown).into_owned(),
            hex: hex::encode(shown),
            looks_like: SniffJson::of(bytes),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReplyJson {
    /// net::End code: eof-after-data, eof-without-data, reset, timeout,
    /// size-limit, datagram, refused, connect-timeout, error.
    pub end: &'static str,
    pub http_status: Option<u16>,
    pub data: Option<BytesJson>,
    pub error: Option<String>,
    pub write_error: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct TimingsJson {
    pub connect: Option<f64>,
    pub sent: Option<f64>,
    pub first_byte: Option<f64>,
    pub total: f64,
}

/// One `send` (or its dry run, or a load run), as printed by `--json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SendJson {
    pub schema: u32,
    /// send, dry-run or load.
    pub mode: &'static str,
    pub target: String,
    /// tcp or udp.
    pub transport: &'static str,
    /// The header as sent, in the inspect schema (decoded from the bytes,
    /// so a corrupted header shows its error). For load runs: the header
    /// of a stand-in connection.
    pub header: HeaderJson,
    pub header_hex: String,
    pub payload: Option<SniffJson>,
    pub faults: FaultsJson,
    pub connected: Option<bool>,
    pub local: Option<String>,
    pub peer: Option<String>,
    pub sent_bytes: Option<usize>,
    pub banner: Option<BytesJson>,
    pub reply: Option<ReplyJson>,
    pub timings_ms: Option<TimingsJson>,
    pub explanation: Option<Explanation>,
    pub expectations: Vec<Check>,
    pub load: Option<LoadSummary>,
    /// Every expectation met (without any: connected, for load runs:
    /// every exchange ok).
    pub ok: bool,
    /// Header then payload, as sent (the human view decodes it again).
    #[serde(skip)]
    pub bytes: Vec<u8>,
    #[serde(skip)]
    pub header_len: usize,
}

impl SendJson {
    /// The header part, shared by every mode.
    pub fn new(
        mode: &'static str,
        target: String,
        udp: bool,
        header: &[u8],
        payload: &[u8],
        faults: FaultsJson,
    ) -> Self {
        let mut all = header.to_vec();
        all.extend_from_slice(payload);
        let mut header_json = HeaderJson::new(&codec::decode_final(header), &all);
        if payload.is_empty() {
            header_json.payload = None;
        }
        SendJson {
            schema: SCHEMA,
            mode,
            target,
            transport: if udp { "udp" } else { "tcp" },
            header: header_json,
            header_hex: hex::encode(header),
            payload: (!payload.is_empty()).then(|| SniffJson::of(payload)),
            faults,
            connected: None,
            local: None,
            peer: None,
            sent_bytes: None,
            banner: None,
            reply: None,
            timings_ms: None,
            explanation: None,
            expectations: Vec::new(),
            load: None,
            ok: true,
            bytes: all,
            header_len: header.len(),
        }
    }

    /// Add an exchange's outcome.
    pub fn with_reply(
        mut self,
        reply: &Reply,
        explanation: Explanation,
        checks: Vec<Check>,
    ) -> Self {
        let ms = |d: std::time::Duration| (d.as_secs_f64() * 1_000_000.0).round() / 1000.0;
        self.connected = Some(reply.connected);
        self.local = reply.local.map(|a| a.to_string());
        self.peer = reply.peer.map(|a| a.to_string());
        self.sent_bytes = Some(reply.sent);
        self.banner =
            (!reply.banner.is_empty()).then(|| BytesJson::of(&reply.banner, reply.banner.len()));
        self.reply = Some(ReplyJson {
            end: reply.end.code(),
            http_status: http_status(&reply.received),
            data: (reply.received_total > 0)
                .then(|| BytesJson::of(&reply.received, reply.received_total)),
            error: reply.error.clone(),
            write_error: reply.write_error.clone(),
        });
        self.timings_ms = Some(TimingsJson {
            connect: reply.timings.connect.map(ms),
            sent: reply.timings.sent.map(ms),
            first_byte: reply.timings.first_byte.map(ms),
            total: ms(reply.timings.total),
        });
        self.ok = if checks.is_empty() {
            reply.connected && reply.end != End::Refused
        } else {
            checks.iter().all(|c| c.met)
        };
        self.expectations = checks;
        self.explanation = Some(explanation);
        self
    }

    pub fn to_json(&self) -> String {
        // Serializing plain DTOs (strings, numbers, maps with string keys)
        // cannot fail.
        serde_json::to_string(self).unwrap_or_default() + "\n"
    }

    /// The human view.
    pub fn to_human(&self, style: &Style) -> String {
        let mut out = String::new();
        let line = |out: &mut String, key: &str, value: String| {
            out.push_str(&format!("{}{value}\n", style.bold(&format!("{key:<10}"))));
        };
        match self.mode {
            "dry-run" => line(
                &mut out,
                "dry run",
                format!("nothing sent to {}", self.target),
            ),
            _ => line(
                &mut out,
                "target",
                format!("{} ({})", self.target, self.transport),
            ),
        }
        if let (Some(local), Some(peer)) = (&self.local, &self.peer) {
            line(&mut out, "socket", format!("{local} -> {peer}"));
        }
        let header = &self.bytes[..self.header_len];
        let decoded = codec::decode_final(header);
        if header.is_empty() {
            line(
                &mut out,
                "header",
                "none (no PROXY header is sent)".to_string(),
            );
        } else if self.mode == "dry-run" {
            // The inspect view, with what receivers would do.
            out.push('\n');
            let predictions = receivers::predict(&decoded, &self.bytes);
            out.push_str(&inspect::render(
                &decoded,
                &self.bytes,
                &predictions,
                *style,
            ));
            out.push('\n');
        } else {
            let tuple = match self.header.version {
                Some(_) => format!(" {}", self.header.tuple()),
                None => String::new(),
            };
            line(
                &mut out,
                "header",
                format!("{}{tuple}", inspect::verdict_line(&decoded, *style)),
            );
            if let Some(e) = &self.header.error {
                line(&mut out, "", format!("rule {}: {}", e.rule, e.hint));
            }
        }
        if let Some(p) = self.payload.as_ref().filter(|_| self.mode != "dry-run") {
            line(
                &mut out,
                "payload",
                format!("{} ({} bytes)", p.description, p.length),
            );
        }
        if let Some(b) = &self.banner {
            line(
                &mut out,
                "banner",
                format!("{} ({} bytes)", b.looks_like.description, b.length),
            );
        }
        if let Some(r) = &self.reply {
            let what = match &r.data {
                Some(d) => format!(
                    "{} ({} bytes), then {}",
                    d.looks_like.description,
                    d.length,
                    end_phrase(r.end)
                ),
                None => format!("nothing, then {}", end_phrase(r.end)),
            };
            line(&mut out, "reply", what);
            if let Some(d) = &r.data {
                for l in d.text.lines().take(8) {
                    out.push_str(&format!(
                        "          {}\n",
                        style.dim(&l.escape_debug().to_string())
                    ));
                }
            }
            if let Some(t) = &self.timings_ms {
                line(&mut out, "time", format!("{:.3} ms", t.total));
            }
        }
        if let Some(e) = &self.explanation {
            let verdict = if e.verdict.is_problem() {
                style.bad(e.verdict.code())
            } else {
                style.good(e.verdict.code())
            };
            line(&mut out, "verdict", format!("{verdict}: {}", e.summary));
            for n in &e.notes {
                line(&mut out, "note", n.clone());
            }
            if !e.fixes.is_empty() {
                out.push_str(&format!("{}\n", style.bold("fix")));
                out.push_str(&crate::report::finding::fixes_human(&e.fixes, *style));
            }
        }
        for c in &self.expectations {
            let met = if c.met {
                style.good("met")
            } else {
                style.bad("NOT met")
            };
            line(&mut out, "expect", format!("{}: {met}", c.expected));
        }
        if let Some(l) = &self.load {
            out.push_str(&load_view(l, style));
        }
        out
    }
}

fn load_view(l: &LoadSummary, style: &Style) -> String {
    let mut out = String::new();
    let mut line = |key: &str, value: String| {
        out.push_str(&format!("{}{value}\n", style.bold(&format!("{key:<10}"))))
    };
    let capped = if l.capped {
        " (stopped by the time cap)"
    } else {
        ""
    };
    line(
        "load",
        format!(
            "{} connections, concurrency {}, {:.1} ms{capped}",
            l.connections, l.concurrency, l.elapsed_ms
        ),
    );
    line(
        "rate",
        format!("{:.1} connections/s", l.connections_per_second),
    );
    if let Some(p) = &l.latency_ms {
        line(
            "latency",
            format!(
                "p50 {:.3} ms  p90 {:.3} ms  p99 {:.3} ms  max {:.3} ms",
                p.p50, p.p90, p.p99, p.max
            ),
        );
    }
    let ok = format!("{} / {}", l.ok, l.connections);
    line(
        "ok",
        if l.ok == l.connections {
            style.good(&ok)
        } else {
            style.bad(&ok)
        },
    );
    let join = |m: Vec<String>| m.join("  ");
    line(
        "ends",
        join(l.ends.iter().map(|(k, v)| format!("{k} {v}")).collect()),
    );
    line(
        "verdicts",
        join(l.verdicts.iter().map(|(k, v)| format!("{k} {v}")).collect()),
    );
    if !l.statuses.is_empty() {
        line(
            "statuses",
            join(
                l.statuses
                    .iter()
                    .map(|(k, v)| format!("{k}: {v}"))
                    .collect(),
            ),
        );
    }
    out
}

/// A net::End code in words.
fn end_phrase(code: &str) -> &'static str {
    match code {
        "eof-after-data" | "eof-without-data" => "the receiver closed the connection",
        "reset" => "the receiver reset the connection",
        "timeout" => "silence until the timeout",
        "size-limit" => "the size bound (rest not read)",
        "datagram" => "end of datagram",
        "refused" => "connection refused",
        "connect-timeout" => "no answer to the connect",
        _ => "an error",
    }
}
