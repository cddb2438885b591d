//! One line of `listen` output: what one connection (or datagram) brought
//! and what the receiver did. The same data feeds the human line and the
//! JSON line (docs/json.md).

use std::net::SocketAddr;

use serde::Serialize;

use crate::report::json::{EndpointJson, HeaderJson, SniffJson, SCHEMA};
use crate::report::{hexdump, Style};

/// What became of the header part of a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// A valid PROXY header was accepted.
    Proxy,
    /// A valid LOCAL header (health check): the socket's addresses stand.
    Local,
    /// No header, served as a direct client (auto and off modes).
    Direct,
    /// A valid header from a peer outside `--trust`: ignored (auto) or
    /// rejected (require).
    Untrusted,
    /// A header reached a receiver that does not expect one (off): 400.
    Unexpected,
    /// A header that breaks the spec; the connection was closed.
    Invalid,
    /// A v2 header larger than `--max-header`; closed.
    TooLarge,
    /// No header where one is required; closed (nginx `broken header`).
    Missing,
    /// No complete header (or first bytes) within `--header-timeout`.
    Timeout,
    /// The peer closed (or reset) before a header or any bytes arrived.
    Closed,
    /// The server stopped before this connection finished.
    Interrupted,
}

impl Verdict {
    pub const ALL: [Verdict; 11] = [
        Verdict::Proxy,
        Verdict::Local,
        Verdict::Direct,
        Verdict::Untrusted,
        Verdict::Unexpected,
        Verdict::Invalid,
        Verdict::TooLarge,
        Verdict::Missing,
        Verdict::Timeout,
        Verdict::Closed,
        Verdict::Interrupted,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Verdict::Proxy => "proxy",
            Verdict::Local => "local",
            Verdict::Direct => "direct",
            Verdict::Untrusted => "untrusted",
            Verdict::Unexpected => "unexpected",
            Verdict::Invalid => "invalid",
            Verdict::TooLarge => "too-large",
            Verdict::Missing => "missing",
            Verdict::Timeout => "timeout",
            Verdict::Closed => "closed",
            Verdict::Interrupted => "interrupted",
        }
    }

    /// Did the connection get past the header stage and get served?
    pub fn served(self) -> bool {
        matches!(self, Verdict::Proxy | Verdict::Local | Verdict::Direct)
    }
}

/// What the receiver sent back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Reply {
    /// Nothing: the connection was closed.
    None,
    /// `200` whoami, text/plain.
    Whoami,
    /// `200` whoami, application/json.
    WhoamiJson,
    /// nginx's exact `400 Bad Request` page.
    BadRequest,
    /// Non-HTTP bytes echoed back (`--echo`).
    Echo,
}

/// Non-HTTP bytes that arrived after the header stage.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct DataJson {
    pub length: usize,
    /// The first bytes (at most [`DATA_SHOWN`]), lower-case hex.
    pub hex: String,
    pub looks_like: SniffJson,
}

impl DataJson {
    /// Keep the first [`DATA_SHOWN`] bytes and say what they look like.
    pub fn of(bytes: &[u8]) -> Self {
        DataJson {
            length: bytes.len(),
            hex: hex::encode(&bytes[..bytes.len().min(DATA_SHOWN)]),
            looks_like: SniffJson::of(bytes),
        }
    }
}

/// How many bytes of unrecognised data a record keeps.
pub const DATA_SHOWN: usize = 64;

/// One connection (or datagram), as printed.
#[derive(Debug, Clone, Serialize)]
pub struct ConnRecord {
    /// Always "connection" (the stream also has "listening" and "summary").
    pub event: &'static str,
    pub schema: u32,
    /// Accept order, from 1.
    pub id: u64,
    /// When the connection was accepted (RFC 3339, UTC).
    pub time: String,
    /// "tcp" or "udp".
    pub transport: &'static str,
    pub peer: EndpointJson,
    pub local: EndpointJson,
    pub mode: &'static str,
    pub verdict: Verdict,
    /// The header is believed only because the port believes anyone
    /// (no `--trust`): any client could have forged it.
    pub spoofable: bool,
    /// The peer is allowed to send a header (`--trust`, or no list).
    pub trusted: bool,
    /// The header in the inspect schema; null when none was sent.
    pub header: Option<HeaderJson>,
    /// The client address an application behind this port would use:
    /// the header's source when one was accepted, else the peer.
    pub client: EndpointJson,
    /// What went wrong, in words; null when nothing did.
    pub error: Option<String>,
    /// The line nginx would write to its error log in this mode, if any.
    pub log: Option<String>,
    pub note: Option<String>,
    /// The first request line, for HTTP.
    pub request: Option<String>,
    /// Non-HTTP bytes after the header stage.
    pub data: Option<DataJson>,
    pub reply: Reply,
    pub bytes_in: u64,
    pub duration_ms: u64,
    /// With `--expect-src`/`--expect-version`: did this one match?
    pub matched: Option<bool>,
}

impl ConnRecord {
    /// A record with nothing known yet but the socket ends.
    pub fn new(
        id: u64,
        time: String,
        transport: &'static str,
        peer: SocketAddr,
        local: SocketAddr,
        mode: &'static str,
    ) -> Self {
        ConnRecord {
            event: "connection",
            schema: SCHEMA,
            id,
            time,
            transport,
            peer: EndpointJson::inet(peer),
            local: EndpointJson::inet(local),
            mode,
            verdict: Verdict::Closed,
            spoofable: false,
            trusted: true,
            header: None,
            client: EndpointJson::inet(peer),
            error: None,
            log: None,
            note: None,
            request: None,
            data: None,
            reply: Reply::None,
            bytes_in: 0,
            duration_ms: 0,
            matched: None,
        }
    }

    /// The JSON line (no newline).
    pub fn json(&self) -> String {
        serde_json::to_string(self)
            .unwrap_or_else(|e| format!("{{\"event\":\"error\",\"message\":\"{e}\"}}"))
    }

    /// The human line, plus indented detail lines (TLVs, log, hexdump).
    pub fn human(&self, style: Style) -> String {
        let time = self.time.get(11..23).unwrap_or(&self.time);
        let verdict = match self.verdict {
            v if v.served() && !self.spoofable => style.good(v.name()),
            v if v.served() => style.warn(&format!("{} (spoofable)", v.name())),
            v => style.bad(v.name()),
        };
        let mut line = format!("{} {} -> {} ", style.dim(time), self.peer, self.local);
        match &self.header {
            Some(h) if h.version.is_some() => {
                line.push_str(&format!(
                    "v{} {} {} ",
                    h.version.unwrap_or(0),
                    h.command.unwrap_or("?"),
                    style.accent(&h.tuple())
                ));
            }
            Some(_) => line.push_str(&style.bad("broken header ")),
            None => line.push_str(&style.dim("no header ")),
        }
        line.push_str(&verdict);
        if let Some(r) = &self.request {
            line.push_str(&format!(
                " \"{}\"",
                crate::listen::nginx::escape(r.as_bytes())
            ));
        }
        if self.reply != Reply::None {
            line.push_str(&style.dim(&format!(" reply={}", reply_name(self.reply))));
        }
        if let Some(m) = self.matched {
            line.push_str(&if m {
                style.good(" expected")
            } else {
                style.bad(" NOT-EXPECTED")
            });
        }
        line.push('\n');
        if let Some(h) = &self.header {
            for t in &h.tlvs {
                let shown = t.decoded.clone().unwrap_or_else(|| t.value.clone());
                line.push_str(&format!(
                    "    tlv {} (0x{:02x}): {}\n",
                    t.name, t.kind, shown
                ));
            }
            if let Some(c) = &h.crc32c {
                line.push_str(&format!("    crc32c {c} verified\n"));
            }
        }
        for (label, text) in [
            ("error", &self.error),
            ("log", &self.log),
            ("note", &self.note),
        ] {
            if let Some(t) = text {
                let t = if label == "error" {
                    style.bad(t)
                } else {
                    t.clone()
                };
                line.push_str(&format!("    {label}: {t}\n"));
            }
        }
        if let Some(d) = &self.data {
            line.push_str(&format!(
                "    data: {} bytes, {}\n",
                d.length, d.looks_like.description
            ));
            if let Ok(bytes) = hex::decode(&d.hex) {
                for l in hexdump::classic(&bytes, None, style).lines() {
                    line.push_str(&format!("    {l}\n"));
                }
            }
        }
        line
    }
}

/// The reply's name, as in JSON.
pub fn reply_name(r: Reply) -> &'static str {
    match r {
        Reply::None => "none",
        Reply::Whoami => "whoami",
        Reply::WhoamiJson => "whoami-json",
        Reply::BadRequest => "bad-request",
        Reply::Echo => "echo",
    }
}
