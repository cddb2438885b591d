//! The stable JSON view of a decoded header: the "inspect schema" shared by
//! `inspect`, `send --dry-run`, `listen` and `pcap` (docs/json.md). These
//! DTOs are separate from the codec's types so the schema can stay stable.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, SystemTime};

use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

use crate::net::{Certificate, FailureKind, Handshake, HandshakeResult, Target};

use crate::codec::{self, tlv, Addresses, Decoded, Header};
use crate::sniff::{self, Sniffed};

/// The envelope of every JSON document and line: `type` (what the
/// document is) and `schema` first, then the body's own fields.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Doc<T> {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub schema: u32,
    #[serde(flatten)]
    pub body: T,
}

impl<T: Serialize> Doc<T> {
    pub(crate) fn new(kind: &'static str, body: T) -> Self {
        Doc {
            kind,
            schema: crate::JSON_SCHEMA,
            body,
        }
    }

    /// One line of JSON, with its newline (a `--json` document of one
    /// line, or a line of JSON Lines).
    pub(crate) fn line(&self) -> String {
        super::line(self)
    }

    /// The document pretty-printed, with its newline.
    pub(crate) fn pretty(&self) -> String {
        super::pretty(self)
    }
}

/// What a count is keyed by, as its JSON object names it.
pub(crate) trait CountKey {
    fn key(&self) -> std::borrow::Cow<'static, str>;
}

impl CountKey for crate::judge::Finding {
    fn key(&self) -> std::borrow::Cow<'static, str> {
        self.name().into()
    }
}

impl CountKey for crate::net::End {
    fn key(&self) -> std::borrow::Cow<'static, str> {
        self.code().into()
    }
}

impl CountKey for u16 {
    fn key(&self) -> std::borrow::Cow<'static, str> {
        self.to_string().into()
    }
}

impl CountKey for &'static str {
    fn key(&self) -> std::borrow::Cow<'static, str> {
        (*self).into()
    }
}

/// Counts as a JSON object in the map's order: `{"proxied": 3, ...}`.
pub(crate) struct Counts<'a, K, V = u64>(pub &'a BTreeMap<K, V>);

impl<K: CountKey, V: Serialize> Serialize for Counts<'_, K, V> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, n) in self.0 {
            m.serialize_entry(&k.key(), n)?;
        }
        m.end()
    }
}

/// Counts in the order given, as a JSON object (`{"proxied": 3, ...}`).
pub(crate) struct Tally<K>(pub Vec<(K, u64)>);

impl<K: CountKey> Serialize for Tally<K> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, n) in &self.0 {
            m.serialize_entry(&k.key(), n)?;
        }
        m.end()
    }
}

/// The TLS handshake after the header (`send --tls`, `repro --tls`).
#[derive(Debug, Clone, Serialize)]
pub(crate) struct HandshakeJson<'a> {
    result: &'static str,
    sni: &'a Option<String>,
    alpn_offered: &'a [String],
    verify: bool,
    version: Option<&'a str>,
    cipher: Option<&'a str>,
    alpn: Option<&'a str>,
    failure: Option<TlsFailureJson<'a>>,
    certificate: Option<CertificateJson<'a>>,
    handshake_ms: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
struct TlsFailureJson<'a> {
    kind: &'static str,
    alert: Option<&'a str>,
    error: &'a crate::net::NetError,
}

#[derive(Debug, Clone, Serialize)]
struct CertificateJson<'a> {
    subject: &'a str,
    issuer: &'a str,
    sans: &'a [String],
    not_before: String,
    not_after: String,
    expired: bool,
    self_signed: bool,
    name: &'a str,
    matches_name: bool,
    sha256: &'a str,
}

impl<'a> HandshakeJson<'a> {
    pub(crate) fn of(h: &'a Handshake) -> Self {
        let (result, session, failure) = match &h.result {
            HandshakeResult::NotStarted => ("not-started", None, None),
            HandshakeResult::Done(s) => ("done", Some(s), None),
            HandshakeResult::Failed(f) => ("failed", None, Some(f)),
        };
        HandshakeJson {
            result,
            sni: &h.sni,
            alpn_offered: &h.alpn_offered,
            verify: h.verified,
            version: session.map(|s| s.version.as_str()),
            cipher: session.map(|s| s.cipher.as_str()),
            alpn: session.and_then(|s| s.alpn.as_deref()),
            failure: failure.map(|f| TlsFailureJson {
                kind: failure_kind(&f.kind),
                alert: match &f.kind {
                    FailureKind::Alert(a) => Some(a),
                    _ => None,
                },
                error: &f.error,
            }),
            certificate: h.certificate.as_ref().map(CertificateJson::of),
            handshake_ms: h.duration.map(ms),
        }
    }
}

impl<'a> CertificateJson<'a> {
    fn of(c: &'a Certificate) -> Self {
        CertificateJson {
            subject: &c.subject,
            issuer: &c.issuer,
            sans: &c.sans,
            not_before: time_at(c.not_before, 0),
            not_after: time_at(c.not_after, 0),
            expired: c.expired,
            self_signed: c.self_signed,
            name: &c.name,
            matches_name: c.matches_name,
            sha256: &c.sha256,
        }
    }
}

fn failure_kind(k: &FailureKind) -> &'static str {
    match k {
        FailureKind::Alert(_) => "alert",
        FailureKind::Certificate => "certificate",
        FailureKind::NotTls => "not-tls",
        FailureKind::Closed => "closed",
        FailureKind::Reset => "reset",
        FailureKind::Timeout => "timeout",
        FailureKind::Other => "other",
    }
}

/// A target as given (send, probe, repro, conform, check --probe):
/// `{host, port}`, the host a name or an IP (IPv6 without brackets). Where
/// the connection went is an [`EndpointJson`] (`peer`).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct TargetJson {
    pub host: String,
    pub port: u16,
}

impl From<&Target> for TargetJson {
    fn from(t: &Target) -> Self {
        TargetJson {
            host: t.host.clone(),
            port: t.port,
        }
    }
}

/// A wall-clock instant, the one `time` form of every document: RFC 3339,
/// UTC, microseconds (`2026-11-24T19:05:10.123456Z`).
pub(crate) fn time(t: SystemTime) -> String {
    crate::server::clock::rfc3339(t)
}

/// [`time`] of a capture's timestamp (seconds since the epoch, nanoseconds).
pub(crate) fn time_at(secs: i64, nanos: u32) -> String {
    crate::server::clock::rfc3339_at(secs, nanos)
}

/// A measured duration, the one form of every `*_ms` field that measures:
/// milliseconds, to the microsecond.
pub(crate) fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1_000_000.0).round() / 1000.0
}

/// An endpoint: `{address, port}` for IP, `{path}` for UNIX.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum EndpointJson {
    Inet {
        address: String,
        port: u16,
    },
    Unix {
        path: String,
        #[serde(rename = "abstract")]
        abstract_ns: bool,
    },
}

impl EndpointJson {
    pub fn inet(a: SocketAddr) -> Self {
        // Said four times in each of a server's JSON lines: written by
        // `server::text`, not `fmt` (docs/performance.md).
        let mut address = String::with_capacity(if a.is_ipv4() { 15 } else { 39 });
        crate::server::text::push_ip(&mut address, a.ip());
        EndpointJson::Inet {
            address,
            port: a.port(),
        }
    }

    fn unix(raw: &[u8]) -> Self {
        match codec::unix_path(raw) {
            Some((abstract_ns, p)) => EndpointJson::Unix {
                path: p.to_string(),
                abstract_ns,
            },
            None => EndpointJson::Unix {
                path: format!("0x{}", hex::encode(raw)),
                abstract_ns: false,
            },
        }
    }
}

impl std::fmt::Display for EndpointJson {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EndpointJson::Inet { address, port } if address.contains(':') => {
                write!(f, "[{address}]:{port}")
            }
            EndpointJson::Inet { address, port } => write!(f, "{address}:{port}"),
            EndpointJson::Unix {
                path,
                abstract_ns: true,
            } => write!(f, "unix:@{path}"),
            EndpointJson::Unix { path, .. } => write!(f, "unix:{path}"),
        }
    }
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct TlvJson {
    #[serde(rename = "type")]
    pub kind: u8,
    pub name: &'static str,
    pub offset: usize,
    pub length: usize,
    /// The raw value, lower-case hex.
    pub value: String,
    /// A readable form, or null when the value is opaque.
    pub decoded: Option<String>,
}

impl TlvJson {
    pub fn from_tlv(t: &tlv::Tlv<'_>) -> Self {
        let decoded = match t.decoded() {
            tlv::Value::Bytes(_) => None,
            v => Some(v.to_string()),
        };
        TlvJson {
            kind: t.kind,
            name: t.name(),
            offset: t.offset,
            length: t.value.len(),
            value: hex::encode(t.value),
            decoded,
        }
    }
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct WarningJson {
    pub code: &'static str,
    pub message: &'static str,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ErrorJson {
    pub kind: &'static str,
    pub offset: usize,
    pub message: String,
    pub rule: &'static str,
    pub hint: &'static str,
}

impl ErrorJson {
    pub fn from_error(e: &codec::Error) -> Self {
        ErrorJson {
            kind: e.code(),
            offset: e.offset,
            message: e.kind.to_string(),
            rule: e.kind.rule(),
            hint: e.kind.hint(),
        }
    }
}

/// What some bytes look like (not-a-header input, or the payload).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SniffJson {
    pub kind: &'static str,
    pub description: String,
    pub length: usize,
}

impl SniffJson {
    pub fn of(bytes: &[u8]) -> Self {
        Self::from_sniffed(&sniff::classify(bytes), bytes.len())
    }

    pub fn from_sniffed(s: &Sniffed<'_>, length: usize) -> Self {
        SniffJson {
            kind: s.code(),
            description: s.to_string(),
            length,
        }
    }
}

/// One decoded header (or the failure to find one), as JSON.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct HeaderJson {
    /// valid, invalid, incomplete or not-proxy.
    pub verdict: &'static str,
    pub version: Option<u8>,
    pub command: Option<&'static str>,
    pub protocol: Option<&'static str>,
    pub source: Option<EndpointJson>,
    pub destination: Option<EndpointJson>,
    pub tlvs: Vec<TlvJson>,
    /// Bytes the header used.
    pub length: Option<usize>,
    pub crc32c: Option<String>,
    pub warnings: Vec<WarningJson>,
    pub error: Option<ErrorJson>,
    /// For `incomplete`: at least this many more bytes are needed.
    pub needed: Option<usize>,
    /// For `not-proxy`: what the bytes look like instead.
    pub looks_like: Option<SniffJson>,
    /// What follows the header, if anything.
    pub payload: Option<SniffJson>,
}

impl HeaderJson {
    /// Build from a decode result and the bytes that were decoded.
    pub fn new(decoded: &Decoded<'_>, input: &[u8]) -> Self {
        let mut j = HeaderJson {
            verdict: verdict(decoded),
            version: None,
            command: None,
            protocol: None,
            source: None,
            destination: None,
            tlvs: Vec::new(),
            length: None,
            crc32c: None,
            warnings: Vec::new(),
            error: None,
            needed: None,
            looks_like: None,
            payload: None,
        };
        match decoded {
            Decoded::Complete(h) => j.fill(h, input),
            Decoded::Invalid(e) => j.error = Some(ErrorJson::from_error(e)),
            Decoded::Incomplete { needed } => j.needed = Some(*needed),
            Decoded::NotProxy(s) => j.looks_like = Some(SniffJson::from_sniffed(s, input.len())),
        }
        j
    }

    fn fill(&mut self, h: &Header<'_>, input: &[u8]) {
        self.version = Some(h.version.number());
        self.command = Some(h.command.name());
        self.protocol = Some(h.protocol_name());
        match h.addresses {
            Addresses::Inet { src, dst } => {
                self.source = Some(EndpointJson::inet(src));
                self.destination = Some(EndpointJson::inet(dst));
            }
            Addresses::Unix { src, dst } => {
                self.source = Some(EndpointJson::unix(src));
                self.destination = Some(EndpointJson::unix(dst));
            }
            Addresses::None => {}
        }
        self.tlvs = h.tlvs().map(|t| TlvJson::from_tlv(&t)).collect();
        self.length = Some(h.len());
        self.crc32c = h.crc32c.map(|c| format!("{c:#010x}"));
        self.warnings = h
            .warnings
            .iter()
            .map(|w| WarningJson {
                code: w.code(),
                message: w.message(),
            })
            .collect();
        let rest = &input[h.len().min(input.len())..];
        if !rest.is_empty() {
            self.payload = Some(SniffJson::of(rest));
        }
    }

    /// "src → dst" for one-line views, or the protocol word when there are
    /// no addresses.
    pub fn tuple(&self) -> String {
        match (&self.source, &self.destination) {
            (Some(s), Some(d)) => format!("{s} -> {d}"),
            _ => self.protocol.unwrap_or("-").to_string(),
        }
    }
}

/// The verdict word for a decode result.
pub fn verdict(d: &Decoded<'_>) -> &'static str {
    match d {
        Decoded::Complete(_) => "valid",
        Decoded::Invalid(_) => "invalid",
        Decoded::Incomplete { .. } => "incomplete",
        Decoded::NotProxy(_) => "not-proxy",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_envelope_puts_type_and_schema_first() {
        #[derive(Serialize)]
        struct Body {
            a: u8,
        }
        let line = Doc::new("connection", Body { a: 1 }).line();
        let want = format!(
            "{{\"type\":\"connection\",\"schema\":{},\"a\":1}}\n",
            crate::JSON_SCHEMA
        );
        assert_eq!(line, want);
    }
}
