//! `probe`: find out what a receiver expects by trying a few short
//! connections (no header, v1, v2, v2 LOCAL) and watching how each ends.
//!
//! A receiver shows its hand in how it treats the first bytes: one that
//! requires a header closes or resets a connection without one; one that
//! does not parse headers answers `400` (HTTP), fails the TLS handshake or
//! complains after its banner when it gets one; one that takes both is
//! "optional", which lets any client forge its source address.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use comfy_table::{presets::UTF8_FULL_CONDENSED, ContentArrangement, Table};
use serde::Serialize;

use super::fixes::{self, Fix};
use super::probe_tls::{self, TlsEnd};
use crate::codec::encode::HeaderSpec;
use crate::codec::Version;
use crate::net::{self, End, Message, Reply, Target};
use crate::report::json::SCHEMA;
use crate::report::Style;
use crate::sniff::{self, Sniffed};

/// What the receiver turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Class {
    /// Takes a v1 header only, and nothing without one.
    RequiresV1,
    /// Takes a v2 header only, and nothing without one.
    RequiresV2,
    /// Takes v1 or v2, and nothing without a header.
    RequiresV1OrV2,
    /// Does not parse PROXY headers: answers plain connections, rejects headers.
    NoProxyProtocol,
    /// Takes connections with and without a header: spoofable.
    Optional,
    /// No connection could be made.
    Unreachable,
    /// Connected, but nothing was accepted: the probe could not tell
    /// (try --tls or --banner).
    Inconclusive,
}

impl Class {
    pub fn code(self) -> &'static str {
        match self {
            Class::RequiresV1 => "requires-v1",
            Class::RequiresV2 => "requires-v2",
            Class::RequiresV1OrV2 => "requires-v1-or-v2",
            Class::NoProxyProtocol => "no-proxy-protocol",
            Class::Optional => "optional",
            Class::Unreachable => "unreachable",
            Class::Inconclusive => "inconclusive",
        }
    }
}

/// One verdict's wording and fixes: data, looked up by class.
struct Advice {
    class: Class,
    summary: &'static str,
    fixes: &'static [&'static str],
}

static ADVICE: &[Advice] = &[
    Advice {
        class: Class::RequiresV1,
        summary: "requires a v1 PROXY header: the sender must send v1 (send-proxy, PROXY_V1); v2-only senders such as AWS NLB will be rejected",
        fixes: &["match-version", "haproxy-send-proxy", "gcp-proxy-header", "client-send-header"],
    },
    Advice {
        class: Class::RequiresV2,
        summary: "requires a v2 PROXY header: the sender must send v2 (send-proxy-v2, AWS NLB proxy_protocol_v2); v1 senders and direct clients will be rejected",
        fixes: &["match-version", "haproxy-send-proxy", "aws-nlb-proxy-protocol-v2"],
    },
    Advice {
        class: Class::RequiresV1OrV2,
        summary: "requires a PROXY header (v1 or v2): every sender must add one, including health checks and in-cluster callers",
        fixes: &["enable-at-sender", "health-check-match", "hairpin-ip-mode-proxy", "client-send-header"],
    },
    Advice {
        class: Class::NoProxyProtocol,
        summary: "does not read PROXY headers: a load balancer that sends one will break it; enable parsing on this receiver together with the sender, or turn the sender's option off",
        fixes: &[
            "nginx-listen-proxy-protocol",
            "ingress-nginx-use-proxy-protocol",
            "haproxy-accept-proxy",
            "disable-at-sender",
            "external-traffic-policy-local",
        ],
    },
    Advice {
        class: Class::Optional,
        summary: "accepts connections with and without a header: any client that reaches it can forge its source address (spoofable)",
        fixes: &[
            "require-header-and-allowlist",
            "haproxy-expect-proxy-allowlist",
            "traefik-trusted-ips",
            "go-proxyproto-policy",
        ],
    },
    Advice {
        class: Class::Unreachable,
        summary: "no connection could be made: check the address, the port and firewalls",
        fixes: &[],
    },
    Advice {
        class: Class::Inconclusive,
        summary: "connected, but no attempt was accepted: the endpoint may speak TLS (--tls) or speak first (--banner), or reject this request for other reasons",
        fixes: &[],
    },
];

fn advice(class: Class) -> &'static Advice {
    // ADVICE has one entry per class (unit-tested); Inconclusive is last.
    ADVICE
        .iter()
        .find(|a| a.class == class)
        .unwrap_or(&ADVICE[ADVICE.len() - 1])
}

/// What each connection carries after the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// An HTTP/1.1 request.
    Http,
    /// A TLS ClientHello (then an HTTP request inside TLS).
    Tls,
    /// Nothing: wait for the server to speak first (SMTP, SSH, FTP...).
    Banner,
}

/// The header an attempt sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderKind {
    None,
    V1,
    V2,
    V2Local,
}

impl HeaderKind {
    pub const ALL: [HeaderKind; 4] = [
        HeaderKind::None,
        HeaderKind::V1,
        HeaderKind::V2,
        HeaderKind::V2Local,
    ];

    pub fn code(self) -> &'static str {
        match self {
            HeaderKind::None => "none",
            HeaderKind::V1 => "v1",
            HeaderKind::V2 => "v2",
            HeaderKind::V2Local => "v2-local",
        }
    }

    /// The header bytes for a connection from `local` to `peer`.
    fn bytes(self, local: SocketAddr, peer: SocketAddr) -> Vec<u8> {
        let spec = match self {
            HeaderKind::None => return Vec::new(),
            HeaderKind::V1 => HeaderSpec::tcp(Version::V1, local, peer),
            HeaderKind::V2 => HeaderSpec::tcp(Version::V2, local, peer),
            HeaderKind::V2Local => HeaderSpec::local(),
        };
        // Real socket addresses of one family always encode.
        spec.encode().unwrap_or_default()
    }

    fn describe(self, local: Option<SocketAddr>, peer: Option<SocketAddr>) -> String {
        let tuple = match (local, peer) {
            (Some(l), Some(p)) => format!(" {l} -> {p}"),
            _ => String::new(),
        };
        match self {
            HeaderKind::None => "no header".into(),
            HeaderKind::V1 => format!("v1 PROXY{tuple}"),
            HeaderKind::V2 => format!("v2 PROXY{tuple}"),
            HeaderKind::V2Local => "v2 LOCAL (health-check form)".into(),
        }
    }
}

/// How to probe.
#[derive(Debug, Clone)]
pub struct Options {
    pub mode: Mode,
    /// Bound on the connect and on each wait for a reply.
    pub timeout: Duration,
    /// TLS server name (defaults to the target's host).
    pub sni: Option<String>,
}

/// One attempt and what came back.
#[derive(Debug, Clone, Serialize)]
pub struct Attempt {
    /// none, v1, v2 or v2-local.
    pub header: &'static str,
    /// What was sent, in words.
    pub sent: String,
    /// The header's bytes, hex (empty for none).
    pub header_hex: String,
    pub connected: bool,
    /// http-response, closed, reset, timeout, refused, connect-timeout,
    /// banner, data, tls-handshake-ok, tls-alert, not-tls, error.
    pub outcome: &'static str,
    /// What came back, in words (a status line, "closed without a reply"...).
    pub reply: String,
    /// Whether the receiver took this connection as valid.
    pub accepted: bool,
    pub elapsed_ms: u64,
}

/// The whole probe result.
#[derive(Debug, Clone, Serialize)]
pub struct ProbeReport {
    pub schema: u32,
    pub target: String,
    pub mode: Mode,
    pub attempts: Vec<Attempt>,
    pub class: Class,
    pub summary: &'static str,
    pub spoofable: bool,
    pub warnings: Vec<String>,
    pub fixes: Vec<&'static Fix>,
}

/// Probe `target` at `addrs` (already resolved).
pub async fn probe(target: &Target, addrs: &[SocketAddr], opts: &Options) -> ProbeReport {
    let mut attempts = Vec::new();
    for kind in HeaderKind::ALL {
        attempts.push(run_attempt(target, addrs, opts, kind).await);
    }
    verdict(target, opts.mode, attempts)
}

async fn run_attempt(
    target: &Target,
    addrs: &[SocketAddr],
    opts: &Options,
    kind: HeaderKind,
) -> Attempt {
    let start = Instant::now();
    let request = http_request(target);
    let mut attempt = match opts.mode {
        Mode::Tls => {
            let addrs = addrs.to_vec();
            let sni = opts.sni.clone().unwrap_or_else(|| target.host.clone());
            let timeout = opts.timeout;
            let joined = tokio::task::spawn_blocking(move || {
                let mut tuple = (None, None);
                let (end, head) = probe_tls::attempt(&addrs, timeout, &sni, &request, |l, p| {
                    tuple = (Some(l), Some(p));
                    kind.bytes(l, p)
                });
                (end, head, tuple)
            })
            .await;
            match joined {
                Ok((end, head, (l, p))) => tls_attempt(kind, end, &head, l, p),
                Err(e) => failed(kind, format!("the TLS attempt stopped: {e}")),
            }
        }
        Mode::Http | Mode::Banner => {
            let net_opts = net::Options {
                connect_timeout: opts.timeout,
                banner_timeout: (opts.mode == Mode::Banner).then_some(opts.timeout),
                reply_timeout: opts.timeout,
                max_reply: 4096,
                ..net::Options::default()
            };
            let payload = if opts.mode == Mode::Http {
                request
            } else {
                Vec::new()
            };
            let reply = net::exchange(addrs, &net_opts, |l, p| {
                Ok::<_, std::convert::Infallible>(Message {
                    header: kind.bytes(l, p),
                    payload,
                })
            })
            .await;
            match reply {
                Ok(r) if opts.mode == Mode::Http => http_attempt(kind, &r),
                Ok(r) => banner_attempt(kind, &r),
                Err(never) => match never {},
            }
        }
    };
    attempt.elapsed_ms = start.elapsed().as_millis().min(u64::MAX as u128) as u64;
    attempt
}

fn http_request(target: &Target) -> Vec<u8> {
    format!(
        "GET / HTTP/1.1\r\nHost: {}\r\nUser-Agent: ppctl-probe/{}\r\nConnection: close\r\n\r\n",
        target.authority(),
        env!("CARGO_PKG_VERSION")
    )
    .into_bytes()
}

fn base(kind: HeaderKind, reply: &Reply) -> Attempt {
    let header = reply
        .message
        .as_ref()
        .map(|m| m.header.clone())
        .unwrap_or_default();
    Attempt {
        header: kind.code(),
        sent: kind.describe(reply.local, reply.peer),
        header_hex: hex::encode(header),
        connected: reply.connected,
        outcome: reply.end.code(),
        reply: String::new(),
        accepted: false,
        elapsed_ms: 0,
    }
}

fn failed(kind: HeaderKind, why: String) -> Attempt {
    Attempt {
        header: kind.code(),
        sent: kind.describe(None, None),
        header_hex: String::new(),
        connected: false,
        outcome: "error",
        reply: why,
        accepted: false,
        elapsed_ms: 0,
    }
}

/// How the connection ended, in words, when nothing (more) came back.
fn ending(reply: &Reply) -> String {
    match reply.end {
        End::EofWithoutData | End::EofAfterData => "closed (FIN)".into(),
        End::Reset => "reset (RST)".into(),
        End::Timeout => "no reply before the timeout".into(),
        End::SizeLimit => "reply cut at the size bound".into(),
        End::Refused => format!(
            "connection refused ({})",
            reply.error.as_deref().unwrap_or("")
        ),
        End::ConnectTimeout => "connect timed out".into(),
        End::Datagram | End::Error => reply.error.clone().unwrap_or_else(|| "error".into()),
    }
}

/// HTTP mode: accepted when an HTTP response other than 400 came back.
fn http_attempt(kind: HeaderKind, reply: &Reply) -> Attempt {
    let mut a = base(kind, reply);
    a.sent.push_str(" + HTTP GET /");
    if !reply.connected {
        a.reply = ending(reply);
        return a;
    }
    match sniff::classify(&reply.received) {
        Sniffed::Empty => a.reply = format!("{} without a reply", ending(reply)),
        Sniffed::HttpResponse { status, reason } => {
            a.outcome = "http-response";
            a.accepted = status != 400;
            a.reply = format!("HTTP {status} {reason}");
        }
        other => {
            a.outcome = if other.is_tls() {
                "not-http-tls"
            } else {
                "data"
            };
            a.reply = format!("{other}, then {}", ending(reply));
        }
    }
    a
}

/// Banner mode: without a header, accepted when the server speaks first;
/// with one, accepted when the server waited for it (said nothing before
/// it) and then spoke.
fn banner_attempt(kind: HeaderKind, reply: &Reply) -> Attempt {
    let mut a = base(kind, reply);
    a.sent.push_str(", then wait");
    if !reply.connected {
        a.reply = ending(reply);
        return a;
    }
    let first_line = |b: &[u8]| sniff::classify(b).to_string();
    if kind == HeaderKind::None {
        a.accepted = !reply.banner.is_empty();
        a.outcome = if a.accepted {
            "banner"
        } else {
            reply.end.code()
        };
        a.reply = if a.accepted {
            format!("banner: {}", first_line(&reply.banner))
        } else {
            format!("no banner; {}", ending(reply))
        };
        return a;
    }
    if !reply.banner.is_empty() {
        a.outcome = "banner";
        a.reply = format!(
            "banner before the header ({}): the server does not wait for a header",
            first_line(&reply.banner)
        );
    } else if !reply.received.is_empty() {
        a.outcome = "banner";
        a.accepted = !matches!(reply.end, End::Reset);
        a.reply = format!("banner after the header: {}", first_line(&reply.received));
    } else {
        a.reply = format!("{} without a banner", ending(reply));
    }
    a
}

/// TLS mode: accepted when the handshake completes.
fn tls_attempt(
    kind: HeaderKind,
    end: TlsEnd,
    head: &[u8],
    local: Option<SocketAddr>,
    peer: Option<SocketAddr>,
) -> Attempt {
    let (outcome, connected, accepted, reply) = match end {
        TlsEnd::Refused(e) => ("refused", false, false, format!("connection refused ({e})")),
        TlsEnd::ConnectTimeout => ("connect-timeout", false, false, "connect timed out".into()),
        TlsEnd::ConnectError(e) => ("error", false, false, e),
        TlsEnd::HandshakeOk {
            version,
            status_line,
        } => (
            "tls-handshake-ok",
            true,
            true,
            match status_line {
                Some(s) => format!("TLS handshake ok ({version}); {s}"),
                None => format!("TLS handshake ok ({version})"),
            },
        ),
        TlsEnd::Alert(a) => ("tls-alert", true, false, format!("TLS alert {a}")),
        TlsEnd::NotTls(m) => (
            "not-tls",
            true,
            false,
            format!("a reply that is not TLS: {m}"),
        ),
        TlsEnd::Closed => (
            "closed",
            true,
            false,
            "closed (FIN) during the handshake".into(),
        ),
        TlsEnd::Reset => (
            "reset",
            true,
            false,
            "reset (RST) during the handshake".into(),
        ),
        TlsEnd::Timeout => (
            "timeout",
            true,
            false,
            "no TLS answer before the timeout".into(),
        ),
        TlsEnd::Error(e) => ("error", true, false, e),
    };
    Attempt {
        header: kind.code(),
        sent: format!("{} + TLS ClientHello", kind.describe(local, peer)),
        header_hex: hex::encode(head),
        connected,
        outcome,
        reply,
        accepted,
        elapsed_ms: 0,
    }
}

/// Classify from the attempts. The decision uses none/v1/v2; v2 LOCAL only
/// adds a warning (health checks use it).
pub fn classify(attempts: &[Attempt]) -> Class {
    let get = |code: &str| attempts.iter().find(|a| a.header == code);
    let ok = |code: &str| get(code).is_some_and(|a| a.accepted);
    if attempts.iter().all(|a| !a.connected) {
        return Class::Unreachable;
    }
    match (ok("none"), ok("v1"), ok("v2")) {
        (true, false, false) => Class::NoProxyProtocol,
        (true, _, _) => Class::Optional,
        (false, true, true) => Class::RequiresV1OrV2,
        (false, true, false) => Class::RequiresV1,
        (false, false, true) => Class::RequiresV2,
        (false, false, false) => Class::Inconclusive,
    }
}

fn verdict(target: &Target, mode: Mode, attempts: Vec<Attempt>) -> ProbeReport {
    let class = classify(&attempts);
    let mut warnings = Vec::new();
    let accepted = |code: &str| attempts.iter().any(|a| a.header == code && a.accepted);
    if class == Class::Optional {
        warnings.push(
            "SECURITY: the header is optional here, so any client that can reach this port can claim any source address"
                .to_string(),
        );
    }
    if accepted("v2") && !accepted("v2-local") {
        warnings.push(
            "v2 PROXY is accepted but v2 LOCAL is not: health checks that use LOCAL (AWS NLB, HAProxy check-send-proxy) will fail"
                .to_string(),
        );
    }
    if attempts.iter().any(|a| !a.connected) && attempts.iter().any(|a| a.connected) {
        warnings
            .push("some attempts could not connect: the verdict rests on the others".to_string());
    }
    if class == Class::Inconclusive && mode == Mode::Http {
        warnings.push(if attempts.iter().any(|a| a.outcome == "not-http-tls") {
            "the endpoint answered with TLS: probe it again with --tls".to_string()
        } else {
            "no attempt was accepted over plain HTTP: if this port speaks TLS, probe it with --tls; if the server speaks first, with --banner".to_string()
        });
    }
    let a = advice(class);
    let mut fix_ids: Vec<&str> = a.fixes.to_vec();
    if warnings.iter().any(|w| w.contains("LOCAL")) {
        fix_ids.push("health-check-match");
    }
    ProbeReport {
        schema: SCHEMA,
        target: target.to_string(),
        mode,
        attempts,
        class,
        summary: a.summary,
        spoofable: class == Class::Optional,
        warnings,
        fixes: fixes::collect(fix_ids),
    }
}

/// Human view: the evidence table, the verdict, the warnings, the fixes.
pub fn render_human(r: &ProbeReport, style: Style) -> String {
    let mut table = Table::new();
    table
        .load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(vec!["header", "sent", "came back", "accepted", "ms"]);
    for a in &r.attempts {
        table.add_row(vec![
            a.header.to_string(),
            a.sent.clone(),
            a.reply.clone(),
            if a.accepted {
                "yes".into()
            } else {
                "no".into()
            },
            a.elapsed_ms.to_string(),
        ]);
    }
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} {} ({} mode)",
        style.bold("probe"),
        r.target,
        mode_name(r.mode)
    );
    let _ = writeln!(out, "{table}");
    let class = match r.class {
        Class::Optional | Class::Unreachable => style.bad(r.class.code()),
        Class::Inconclusive => style.warn(r.class.code()),
        _ => style.good(r.class.code()),
    };
    let _ = writeln!(out, "\n{} {class}: {}", style.bold("verdict"), r.summary);
    for w in &r.warnings {
        let _ = writeln!(out, "{} {w}", style.warn("warning:"));
    }
    if !r.fixes.is_empty() {
        let _ = writeln!(out, "\n{}", style.bold("What to change"));
        out.push_str(&crate::report::finding::fixes_human(&r.fixes, style));
    }
    out
}

fn mode_name(m: Mode) -> &'static str {
    match m {
        Mode::Http => "http",
        Mode::Tls => "tls",
        Mode::Banner => "banner",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn att(header: &'static str, accepted: bool) -> Attempt {
        Attempt {
            header,
            sent: String::new(),
            header_hex: String::new(),
            connected: true,
            outcome: "x",
            reply: String::new(),
            accepted,
            elapsed_ms: 0,
        }
    }

    #[test]
    fn classes_follow_the_accept_pattern() {
        let c = |n, a, b| {
            classify(&[
                att("none", n),
                att("v1", a),
                att("v2", b),
                att("v2-local", b),
            ])
        };
        assert_eq!(c(false, true, true), Class::RequiresV1OrV2);
        assert_eq!(c(false, true, false), Class::RequiresV1);
        assert_eq!(c(false, false, true), Class::RequiresV2);
        assert_eq!(c(true, false, false), Class::NoProxyProtocol);
        assert_eq!(c(true, true, true), Class::Optional);
        assert_eq!(c(false, false, false), Class::Inconclusive);
        let mut down = vec![att("none", false)];
        down[0].connected = false;
        assert_eq!(classify(&down), Class::Unreachable);
    }

    #[test]
    fn every_class_has_advice_with_known_fixes() {
        use clap::ValueEnum;
        for c in Class::value_variants() {
            let a = advice(*c);
            assert_eq!(a.class, *c);
            for f in a.fixes {
                assert!(fixes::find(f).is_some(), "{f}");
            }
        }
    }
}
