//! The judge: one place that says what an exchange means.
//!
//! Every command that sees a PROXY exchange (send, listen, probe, repro,
//! pcap, and later relay and check) describes it with the plain facts of
//! [`Exchange`] (what the client put first on the wire, what came back, how
//! the connection ended) or [`Arrived`] (what a receiver got, and how it is
//! configured), and asks this module for the [`Finding`]. A finding has one
//! kebab-case name and one stable `PP-…` code, the same in the human text,
//! every JSON document, the `--finding`/`--expect` values and
//! docs/verdicts.md; its meaning and fixes live in [`FINDINGS`] and the
//! shared fixes table ([`fixes`]).
//!
//! Pure: no I/O, no printing, no JSON.

pub(crate) mod conformance;
pub mod fixes;
mod header_kind;
mod table;

pub(crate) use fixes::Fix;
pub(crate) use header_kind::HeaderKind;
pub(crate) use table::{Finding, FindingInfo, Reporter, FINDINGS};

use std::sync::LazyLock;

/// The code of the finding named `name`: `PP-` and the name upper-cased.
fn code_of(name: &str) -> String {
    format!("PP-{}", name.to_ascii_uppercase())
}

/// How much a finding matters: `Problem` findings make a command exit 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Severity {
    /// Works as configured.
    Ok,
    /// Neither right nor wrong: a fact about the exchange (a capture cut
    /// short, a probe that could not tell).
    Info,
    /// Works, but is risky (a header anyone can forge).
    Warning,
    /// Broken: the client does not get through, or gets the wrong address.
    Problem,
}

impl Severity {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Severity::Ok => "ok",
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Problem => "problem",
        }
    }
}

impl Finding {
    fn info(self) -> &'static FindingInfo {
        // `findings!` writes FINDINGS in `ALL` order, so the index is the
        // discriminant.
        &FINDINGS[self as usize]
    }

    /// The kebab-case name (`unexpected-header`).
    pub(crate) fn name(self) -> &'static str {
        self.info().name
    }

    /// The stable code, derived from the name the same way for every
    /// finding: `PP-` and the name upper-cased (`unexpected-header` is
    /// `PP-UNEXPECTED-HEADER`). Computed once, here.
    pub(crate) fn code(self) -> &'static str {
        static CODES: LazyLock<Vec<String>> =
            LazyLock::new(|| FINDINGS.iter().map(|f| code_of(f.name)).collect());
        &CODES[self as usize]
    }

    pub(crate) fn severity(self) -> Severity {
        self.info().severity
    }

    /// True when the finding makes a command exit 1.
    pub(crate) fn is_problem(self) -> bool {
        self.severity() == Severity::Problem
    }

    /// What the finding means, in one sentence (docs/verdicts.md).
    pub(crate) fn meaning(self) -> &'static str {
        self.info().meaning
    }

    /// The fixes that apply, from the shared table, most likely first.
    pub(crate) fn fixes(self) -> Vec<&'static Fix> {
        fixes::collect(self.info().fixes.iter().copied())
    }

    /// The fixes for the receiver of `case`: its protocol's own where it
    /// has them (`crate::protocol::Protocol::fixes`: Postfix's for SMTP,
    /// Dovecot's for IMAP), else the finding's.
    pub(crate) fn fixes_for(self, case: fixes::Case) -> Vec<&'static Fix> {
        match case.protocol.and_then(|p| p.fixes(self)) {
            Some(ids) => fixes::collect(ids.iter().copied()),
            None => self.fixes(),
        }
    }

    /// The finding with this name.
    #[cfg(test)]
    pub(crate) fn from_name(name: &str) -> Option<Finding> {
        Finding::ALL.into_iter().find(|f| f.name() == name)
    }

    /// The one-line description for `--help` value lists.
    pub(crate) fn describe(self) -> &'static str {
        self.info().short
    }
}

/// The findings `command` can report, in docs/verdicts.md order: read off
/// the table's `reported_by`, so a command never offers (or counts) a
/// finding it cannot give.
pub(crate) fn reported_by(command: Reporter) -> Vec<Finding> {
    Finding::ALL
        .into_iter()
        .filter(|f| f.info().reported_by.contains(&command))
        .collect()
}

/// What the client put first on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sent {
    /// Nothing at all (a connect, then silence or a close).
    Nothing,
    /// Data, but no PROXY header in front of it. `request`: the data is a
    /// well-formed HTTP/1 request (see [`Sent::data`]), so a server that
    /// refuses it as malformed was not reading it first.
    NoHeader { request: bool },
    /// A valid PROXY-command header (v1 or v2), then whatever followed.
    Header { payload: bool },
    /// A valid v2 LOCAL header (a health check), then whatever followed.
    Local { payload: bool },
    /// Two headers back to back.
    Stacked,
    /// A header that breaks the spec.
    Invalid,
}

impl Sent {
    /// Data without a header in front: `NoHeader`, with whether it is a
    /// well-formed request.
    pub(crate) fn data(bytes: &[u8]) -> Sent {
        Sent::NoHeader {
            request: well_formed_request(bytes),
        }
    }

    fn has_header(self) -> bool {
        matches!(
            self,
            Sent::Header { .. } | Sent::Local { .. } | Sent::Stacked | Sent::Invalid
        )
    }
}

/// What came back first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Answer {
    /// Not a byte.
    Nothing,
    /// An HTTP status line. `stock_400`: the answer is a web server's own
    /// `400 Bad Request` page, the one it gives a request line it cannot
    /// parse, with `Connection: close` (see [`stock_400`]); not an
    /// application's 400.
    Http { status: u16, stock_400: bool },
    /// A TLS alert record.
    TlsAlert,
    /// Some other bytes (a banner, a TLS ServerHello, a binary protocol).
    Other,
}

/// How the exchange ended, as far as it was watched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ending {
    /// The server closed (FIN).
    ServerClosed,
    /// The server reset (RST).
    ServerReset,
    /// The server reset (RST) after it had taken data well beyond the
    /// header: more than a receiver holds unread ([`MID_STREAM`]), so it
    /// read past the header, and the reset is no refusal of it.
    ServerResetMidStream,
    /// The client closed first.
    ClientClosed,
    /// Still open when the wait ran out (send's and probe's timeout).
    TimedOut,
    /// Still open when the record ended (a capture cut short).
    Unfinished,
    /// Connection refused: nothing listens there.
    Refused,
    /// No connection at all (timeout, no route).
    Unreachable,
    /// No connection tried: this host had no file descriptor for it.
    LocalLimit,
}

impl Answer {
    /// What a peer's first bytes are, as far as judging needs.
    pub(crate) fn of(first_bytes: &[u8]) -> Answer {
        use crate::sniff::{classify, Sniffed};
        match classify(first_bytes) {
            Sniffed::Empty => Answer::Nothing,
            Sniffed::HttpResponse { status, .. } => Answer::Http {
                status,
                stock_400: status == 400 && stock_400(first_bytes),
            },
            Sniffed::TlsAlert { .. } => Answer::TlsAlert,
            _ => Answer::Other,
        }
    }
}

/// Whether `bytes` start with a well-formed HTTP/1 request head: a request
/// line, headers, the blank line, and a `Host` (HTTP/1.1 requires one; nginx
/// answers 400 without it). A web server that reads them first has no
/// reason to call them a bad request.
pub(crate) fn well_formed_request(bytes: &[u8]) -> bool {
    // Uninitialised slots: httparse fills those it returns, and writing 64
    // empty headers first cost a third of the parse (pcap asks this of
    // every flow without a header).
    let mut headers = [const { std::mem::MaybeUninit::<httparse::Header<'_>>::uninit() }; 64];
    let mut req = httparse::Request::new(&mut []);
    match req.parse_with_uninit_headers(bytes, &mut headers) {
        Ok(httparse::Status::Complete(_)) => {
            req.path.is_some_and(|p| p.starts_with('/') || p == "*")
                && (req.version == Some(0)
                    || req
                        .headers
                        .iter()
                        .any(|h| h.name.eq_ignore_ascii_case("host") && !h.value.is_empty()))
        }
        _ => false,
    }
}

/// Whether an HTTP 400 answer is a web server's own page for a request it
/// could not parse, sent with `Connection: close`: nginx's bare page (the
/// same for any version, `server_tokens off`, OpenResty) and HAProxy's.
/// That is what a server without PROXY support answers to `PROXY TCP4 …`
/// read as a request line. An application's 400 (a JSON body, its own
/// page, a kept-alive connection) is not this.
pub(crate) fn stock_400(answer: &[u8]) -> bool {
    const PAGES: [&[u8]; 2] = [
        // nginx: ngx_http_error_400_page, then the `<hr><center>nginx…` tail.
        b"<html>\r\n<head><title>400 Bad Request</title></head>\r\n<body>\r\n<center><h1>400 Bad Request</h1></center>\r\n<hr><center>",
        // HAProxy: its built-in 400 error file.
        b"<html><body><h1>400 Bad request</h1>\nYour browser sent an invalid request.\n</body></html>",
    ];
    // Built once: pcap asks this of every flow answered 400.
    static HEAD_END: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
        std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b"\r\n\r\n"));
    let Some(at) = HEAD_END.find(answer) else {
        return false;
    };
    let (head, body) = (&answer[..at], &answer[at + 4..]);
    // The head's lines, as `split` on LF gives them, found by memchr.
    let mut from = 0;
    let closes = memchr::memchr_iter(b'\n', head)
        .chain(std::iter::once(head.len()))
        .any(|end| {
            let line = head[from..end].trim_ascii();
            from = end + 1;
            line.len() > 11
                && line[..11].eq_ignore_ascii_case(b"connection:")
                && line[11..].trim_ascii().eq_ignore_ascii_case(b"close")
        });
    closes && PAGES.iter().any(|page| body.starts_with(page))
}

/// Bytes beyond the header that a receiver must have read, not just held
/// unread in its socket buffer (Linux starts one at 128 KiB), for a reset
/// to be [`Ending::ServerResetMidStream`]: a receiver that refuses a header
/// reads the header and what came with it, closes, and its kernel resets
/// with the rest unread; one that took this much went on reading.
pub(crate) const MID_STREAM: u64 = 256 * 1024;

/// One exchange, in plain facts: the judge's input for send, probe, repro
/// and pcap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Exchange {
    pub sent: Sent,
    pub answer: Answer,
    pub ending: Ending,
    /// Datagrams, not a stream: silence is normal.
    pub udp: bool,
}

impl Exchange {
    /// A client's exchange (`send`, `probe`) in the judge's terms, from
    /// what `net` saw and what was sent.
    pub(crate) fn of(reply: &crate::net::Transcript, sent: Sent, udp: bool) -> Exchange {
        use crate::net::End;
        let ending = match reply.end {
            End::Refused => Ending::Refused,
            End::ConnectTimeout => Ending::Unreachable,
            End::LocalLimit => Ending::LocalLimit,
            End::Error if !reply.connected => Ending::Unreachable,
            End::Reset => Ending::ServerReset,
            End::EofAfterData | End::EofWithoutData | End::Error => Ending::ServerClosed,
            End::Timeout | End::SizeLimit | End::Datagram | End::MaxTime => Ending::TimedOut,
            End::Done => Ending::ClientClosed,
        };
        Exchange {
            sent,
            answer: Answer::of(&reply.received),
            ending,
            udp,
        }
    }
}

/// The finding for one exchange.
pub(crate) fn exchange(x: &Exchange) -> Finding {
    use Finding as F;
    match x.ending {
        Ending::Refused => return F::NoReceiver,
        Ending::Unreachable => return F::Unreachable,
        Ending::LocalLimit => return F::LocalLimit,
        _ => {}
    }
    match (x.sent, x.answer) {
        (Sent::Invalid, _) => F::InvalidHeader,
        (Sent::Stacked, Answer::Http { status: 400, .. }) => F::StackedHeader,
        // A web server's stock 400 to the request behind a LOCAL header:
        // it read the header as the request line (what a receiver that
        // does not expect one says of it), not a health check it refused.
        (
            Sent::Local { payload: true },
            Answer::Http {
                status: 400,
                stock_400: true,
            },
        ) => F::UnexpectedHeader,
        (Sent::Local { .. }, Answer::Http { status, .. }) if status >= 400 => F::FailedHealthCheck,
        (Sent::Local { .. }, Answer::TlsAlert) => F::FailedHealthCheck,
        (Sent::Local { .. }, _) => F::HealthCheck,
        (Sent::Header { .. }, Answer::Http { status: 400, .. }) => F::UnexpectedHeader,
        (Sent::Header { .. } | Sent::Stacked, Answer::TlsAlert) => F::UnexpectedHeader,
        // A well-formed request without a header, refused as unparsable
        // and closed: what the backend of a hop that adds a header says.
        (
            Sent::NoHeader { request: true },
            Answer::Http {
                status: 400,
                stock_400: true,
            },
        ) if matches!(x.ending, Ending::ServerClosed | Ending::ServerReset) => F::HopAddsHeader,
        (_, Answer::Http { status, .. }) if status >= 400 => F::HttpError,
        (s, Answer::Http { .. } | Answer::Other) if s.has_header() => F::Proxied,
        (_, Answer::Http { .. } | Answer::Other) => F::Plain,
        (_, Answer::TlsAlert) => F::HttpError,
        (sent, Answer::Nothing) => silent(sent, x.ending, x.udp),
    }
}

/// No answer came back: what the ending says.
fn silent(sent: Sent, ending: Ending, udp: bool) -> Finding {
    use Finding as F;
    match ending {
        Ending::TimedOut if udp => F::NoDatagram,
        Ending::TimedOut => F::NoReply,
        // A datagram seen without an answer (a capture): silence is normal.
        Ending::Unfinished if udp => match sent {
            Sent::Nothing | Sent::NoHeader { .. } => F::Plain,
            _ => F::Proxied,
        },
        Ending::Unfinished => F::Incomplete,
        Ending::ClientClosed => match sent {
            // A connect-and-close, or a header and nothing else: the shape
            // of a load balancer's TCP health check.
            Sent::Nothing | Sent::Header { payload: false } => F::HealthCheck,
            _ => F::Incomplete,
        },
        Ending::ServerClosed | Ending::ServerReset => match sent {
            Sent::Nothing | Sent::NoHeader { .. } => F::MissingHeader,
            _ => F::HeaderRejected,
        },
        // It read the stream, then dropped it: the header (or its absence)
        // was not the matter.
        Ending::ServerResetMidStream => F::ResetMidStream,
        Ending::Refused => F::NoReceiver,
        Ending::Unreachable => F::Unreachable,
        Ending::LocalLimit => F::LocalLimit,
    }
}

/// A front hop (client → proxy) judged by the hop behind it (proxy →
/// upstream), when a capture holds both: a failure behind the proxy is the
/// front hop's real cause, unless the front hop broke on its own (a bad
/// header, a refused connection...).
pub(crate) fn behind(front: Finding, back: Finding) -> Finding {
    use Finding as F;
    let symptom = !front.is_problem()
        || matches!(
            front,
            F::MissingHeader | F::HeaderRejected | F::HttpError | F::HopAddsHeader
        );
    if back.is_problem() && symptom && front != F::Incomplete {
        F::UpstreamFailed
    } else {
        front
    }
}

/// The TLS dimension of an exchange (`send --tls`, and plain requests that
/// reach a TLS port): judged by [`layered`] on top of [`exchange`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Layer {
    /// Plain TCP, and nothing in the answer says TLS.
    Plain,
    /// Plain TCP, answered by a TLS server's complaint about plain HTTP
    /// (nginx: `400 The plain HTTP request was sent to HTTPS port`).
    PlainToTls,
    /// TLS after the header; the handshake completed and the answer is
    /// the decrypted reply.
    Tls,
    /// TLS after the header; the server did not complete the handshake.
    /// The answer is what it sent in clear instead.
    TlsFailed,
    /// The server completed its part, but the client refused its
    /// certificate (verification on).
    TlsCertificateRefused,
    /// TLS after the header failed, and a second connection with the same
    /// header and the request in clear was served: the port takes the
    /// header but does not speak TLS.
    TlsFailedPlainServed,
}

impl Layer {
    /// A plain exchange's layer, from the answer's bytes: the phrases TLS
    /// servers answer plain HTTP with (nginx, Go's net/http, Apache).
    pub(crate) fn of_plain(answer: &[u8]) -> Layer {
        // The status first: it is cheap, and most answers are not a 400.
        match Answer::of(answer) {
            Answer::Http { status: 400, .. } => Layer::of_400(answer),
            _ => Layer::Plain,
        }
    }

    /// The layer of an exchange seen from the outside (a capture, a relay),
    /// as `send` gives it: a ClientHello as the client's first bytes after
    /// any header (`after`) that the server answered with a TLS record is
    /// TLS; answered otherwise (a plain 400, an alert, nothing) it failed;
    /// no ClientHello is plain, where the answer itself may say TLS
    /// (nginx's page for plain HTTP on an HTTPS port).
    pub(crate) fn of_bytes(after: &[u8], answer: Answer, server: &[u8]) -> Layer {
        const HANDSHAKE: [u8; 2] = [0x16, 0x03];
        if !after.starts_with(&HANDSHAKE) {
            match answer {
                Answer::Http { status: 400, .. } => Layer::of_400(server),
                _ => Layer::Plain,
            }
        } else if server.starts_with(&HANDSHAKE) {
            Layer::Tls
        } else {
            Layer::TlsFailed
        }
    }

    /// [`Layer::of_plain`] for an answer already known to be an HTTP 400
    /// (pcap asks this of every flow answered so).
    pub(crate) fn of_400(page: &[u8]) -> Layer {
        static PHRASES: std::sync::LazyLock<[memchr::memmem::Finder<'static>; 3]> =
            std::sync::LazyLock::new(|| {
                [
                    &b"The plain HTTP request was sent to HTTPS port"[..],
                    b"Client sent an HTTP request to an HTTPS server",
                    b"speaking plain HTTP to an SSL-enabled server port",
                ]
                .map(memchr::memmem::Finder::new)
            });
        // Each phrase has "HTTP " in it: a page without it (most 400
        // pages, the status line being `HTTP/1.x`) is searched once, not
        // once per phrase (~1,300 instructions for a 1 KB page).
        static ANY: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
            std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b"HTTP "));
        let head = &page[..page.len().min(4096)];
        if ANY.find(head).is_some() && PHRASES.iter().any(|p| p.find(head).is_some()) {
            Layer::PlainToTls
        } else {
            Layer::Plain
        }
    }
}

/// The finding for one exchange with its TLS dimension: the client's side
/// of [`on_tls_port`], which decides; what only the client sees (a
/// ClientHello without a header answered in clear, or hung up on) is
/// decided here.
pub(crate) fn layered(x: &Exchange, layer: Layer) -> Finding {
    use Finding as F;
    let no_header = matches!(x.sent, Sent::Nothing | Sent::NoHeader { .. });
    match (layer, x.answer) {
        // A plain-text server answered the ClientHello itself.
        (Layer::TlsFailed, Answer::Http { .. }) if no_header => F::TlsToPlainPort,
        // No header, and the receiver hung up on the ClientHello: it
        // wanted a header first.
        (Layer::TlsFailed, Answer::Nothing)
            if no_header
                && !matches!(
                    x.ending,
                    Ending::TimedOut | Ending::Refused | Ending::Unreachable | Ending::LocalLimit
                ) =>
        {
            F::TlsBeforeProxy
        }
        _ => on_tls_port(exchange(x), layer),
    }
}

/// How a receiver is set up, as far as judging an arrival needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Expects {
    /// No PROXY protocol: a header is read as data (nginx without
    /// `proxy_protocol`).
    Nothing,
    /// A header is required (nginx `listen … proxy_protocol`).
    Header,
    /// A header is taken when there is one (spoofable).
    Optional,
}

/// What arrived at a receiver: the judge's input for listen (and relay).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Arrived {
    /// A valid header (PROXY or LOCAL) from a peer inside the trust list
    /// (or with no trust list).
    Header {
        local: bool,
        trusted: bool,
        stacked: bool,
    },
    /// Bytes that are not a header.
    NoHeader,
    /// A header that breaks the spec.
    Invalid,
    /// A v2 header over the size limit.
    TooLarge,
    /// Nothing complete before the header deadline.
    TimedOut,
    /// The client left before sending a byte.
    Closed,
    /// The receiver stopped first.
    Interrupted,
    /// A valid header of the version the receiver does not take (relay
    /// `--accept v1` given v2): it closes without a word.
    OtherVersion,
}

/// The finding for what a receiver got.
pub(crate) fn arrival(expects: Expects, arrived: Arrived) -> Finding {
    use Finding as F;
    match (expects, arrived) {
        (_, Arrived::Interrupted) => F::Interrupted,
        (_, Arrived::Closed) => F::ClientClosed,
        (_, Arrived::TimedOut) => F::HeaderTimeout,
        (Expects::Nothing, Arrived::Header { .. } | Arrived::Invalid | Arrived::TooLarge) => {
            F::UnexpectedHeader
        }
        (Expects::Nothing, Arrived::NoHeader) => F::Plain,
        (_, Arrived::Invalid) => F::InvalidHeader,
        (_, Arrived::TooLarge) => F::HeaderTooLarge,
        (_, Arrived::OtherVersion) => F::HeaderRejected,
        (_, Arrived::Header { trusted: false, .. }) => F::UntrustedSource,
        (_, Arrived::Header { stacked: true, .. }) => F::StackedHeader,
        (_, Arrived::Header { local: true, .. }) => F::HealthCheck,
        (_, Arrived::Header { .. }) => F::Proxied,
        (Expects::Header, Arrived::NoHeader) => F::MissingHeader,
        (Expects::Optional, Arrived::NoHeader) => F::Plain,
    }
}

/// What the TLS layer makes of a connection whose finding without it is
/// `finding`: the one decision for both sides of a connection, so they
/// name it alike. The client's side (`send`, `probe`, `pcap`, `relay`)
/// comes through [`layered`], the receiver's (`listen --tls`) and `repro
/// --tls`'s predictions call it directly, each with the [`Layer`] it saw:
/// plain HTTP where TLS is served is `plain-http-to-tls` whatever the
/// header; a handshake that failed after a header (nginx `listen … ssl`
/// takes the header for a plain HTTP request and answers `400 Bad Request`
/// in clear) is `tls-handshake-failed`, and without the header a receiver
/// requires, `tls-before-proxy`; a certificate the client refused is
/// `certificate-rejected`. A header read as data with no ClientHello
/// behind it stays `unexpected-header`: no handshake was tried.
pub(crate) fn on_tls_port(finding: Finding, layer: Layer) -> Finding {
    use Finding as F;
    match (finding, layer) {
        (f, Layer::Plain | Layer::Tls) => f,
        // Nothing of TLS was reached, or the header broke first.
        (F::NoReceiver | F::Unreachable | F::LocalLimit | F::NoReply | F::InvalidHeader, _) => {
            finding
        }
        (_, Layer::PlainToTls) => F::PlainHttpToTls,
        (_, Layer::TlsCertificateRefused) => F::CertificateRejected,
        (_, Layer::TlsFailedPlainServed) => F::TlsToPlainPort,
        (F::MissingHeader, Layer::TlsFailed) => F::TlsBeforeProxy,
        (_, Layer::TlsFailed) => F::TlsHandshakeFailed,
    }
}

/// What an arrival's finding becomes when the client's first bytes (after
/// any header) are a TLS ClientHello and the port serves no TLS (`listen`
/// without `--tls`, nginx without `ssl`): a receiver that requires a header
/// and got the ClientHello is `tls-before-proxy` (nginx logs it as a
/// `broken header: "\x16\x03…"`), and a connection it would have served is
/// `tls-to-plain-port`.
pub(crate) fn hello_on_plain_port(finding: Finding) -> Finding {
    match finding {
        Finding::MissingHeader => Finding::TlsBeforeProxy,
        Finding::Proxied | Finding::Plain => Finding::TlsToPlainPort,
        f => f,
    }
}

/// A pairing of a sender and a receiver that works but should not be left
/// so: a receiver that takes a header from anyone. `repro` and `check` add
/// it to the exchange's own finding.
pub(crate) fn pairing(expects: Expects, exchange_finding: Finding) -> Finding {
    match (expects, exchange_finding) {
        (Expects::Optional, Finding::Proxied | Finding::Plain) => Finding::Spoofable,
        (_, f) => f,
    }
}

/// A receiver's configuration against what a live probe saw it take
/// (`check --probe`): `None` when they agree, else the finding. `seen` is
/// the probe's profile as an expectation (a `requires-*` class is
/// `Header`, `no-header` is `Nothing`, `optional` is `Optional`); a probe
/// that could not tell is no evidence and is not judged here.
pub(crate) fn wire(configured: Expects, seen: Expects) -> Option<Finding> {
    (configured != seen).then_some(Finding::ConfigWireMismatch)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn x(sent: Sent, answer: Answer, ending: Ending) -> Finding {
        exchange(&Exchange {
            sent,
            answer,
            ending,
            udp: false,
        })
    }

    const HDR: Sent = Sent::Header { payload: true };
    /// A well-formed request without a header.
    const GET: Sent = Sent::NoHeader { request: true };
    /// Data that is no request (a ClientHello, a banner).
    const HELLO: Sent = Sent::NoHeader { request: false };

    /// No descriptor on this host: the far end was never tried, whatever
    /// was to be sent and whatever the layer.
    #[test]
    fn out_of_descriptors_is_this_hosts_limit_not_the_peers() {
        for sent in [HDR, GET, HELLO, Sent::Nothing] {
            let x = Exchange {
                sent,
                answer: Answer::Nothing,
                ending: Ending::LocalLimit,
                udp: false,
            };
            assert_eq!(exchange(&x), Finding::LocalLimit);
            assert_eq!(layered(&x, Layer::TlsFailed), Finding::LocalLimit);
        }
        assert!(Finding::LocalLimit.is_problem());
    }

    #[test]
    fn the_wire_agrees_with_the_configuration_or_is_a_mismatch() {
        for e in [Expects::Nothing, Expects::Header, Expects::Optional] {
            assert_eq!(wire(e, e), None);
        }
        assert_eq!(
            wire(Expects::Header, Expects::Nothing),
            Some(Finding::ConfigWireMismatch)
        );
        assert_eq!(
            wire(Expects::Nothing, Expects::Optional),
            Some(Finding::ConfigWireMismatch)
        );
        assert!(Finding::ConfigWireMismatch.is_problem());
        assert_eq!(
            Finding::ConfigWireMismatch.fixes()[0].id,
            "reload-after-change"
        );
    }

    #[test]
    fn table_is_in_enum_order_with_unique_names_and_codes() {
        assert_eq!(FINDINGS.len(), Finding::ALL.len());
        for (i, f) in Finding::ALL.into_iter().enumerate() {
            assert_eq!(f as usize, i, "{f:?}");
            assert_eq!(Finding::from_name(f.name()), Some(f));
            // The name is the variant's, in kebab case: one word for both.
            let mut kebab = String::new();
            for c in format!("{f:?}").chars() {
                if c.is_ascii_uppercase() && !kebab.is_empty() {
                    kebab.push('-');
                }
                kebab.push(c.to_ascii_lowercase());
            }
            assert_eq!(f.name(), kebab);
            assert_eq!(f.code(), format!("PP-{}", f.name().to_uppercase()));
            assert!(f.name().chars().all(|c| c.is_ascii_lowercase() || c == '-'));
            for g in &Finding::ALL[i + 1..] {
                assert_ne!(f.name(), g.name());
                assert_ne!(f.code(), g.code());
            }
            // `fixes::collect` panics on an unknown id.
            let fixes = f.fixes();
            assert!(fixes.len() <= 4, "{f:?}: at most a few fixes");
            if f.is_problem()
                && !matches!(
                    f,
                    Finding::NoReceiver
                        | Finding::Unreachable
                        | Finding::LocalLimit
                        | Finding::HttpError
                        | Finding::UpstreamFailed
                )
            {
                assert!(!fixes.is_empty(), "{f:?} has no fix");
            }
        }
    }

    /// nginx 1.22's answer to `PROXY TCP4 …` read as a request line, as
    /// captured from the plain nginx behind `tests/peers/nginx/stream_pp.conf`.
    const NGINX_400: &[u8] = b"HTTP/1.1 400 Bad Request\r\nServer: nginx/1.22.1\r\nDate: Sun, 06 Dec 2026 13:15:44 GMT\r\nContent-Type: text/html\r\nContent-Length: 157\r\nConnection: close\r\n\r\n<html>\r\n<head><title>400 Bad Request</title></head>\r\n<body>\r\n<center><h1>400 Bad Request</h1></center>\r\n<hr><center>nginx/1.22.1</center>\r\n</body>\r\n</html>\r\n";
    /// HAProxy 2.6's own 400 (mode http, no accept-proxy), captured the same way.
    const HAPROXY_400: &[u8] = b"HTTP/1.1 400 Bad request\r\nContent-length: 90\r\nCache-Control: no-cache\r\nConnection: close\r\nContent-Type: text/html\r\n\r\n<html><body><h1>400 Bad request</h1>\nYour browser sent an invalid request.\n</body></html>\n";

    #[test]
    fn a_stock_400_is_a_servers_own_page_with_a_close() {
        assert!(stock_400(NGINX_400));
        assert!(stock_400(HAPROXY_400));
        // `server_tokens off` (ingress-nginx's default) and a cut reply.
        let quiet =
            String::from_utf8_lossy(NGINX_400).replace("nginx/1.22.1</center>", "nginx</center>");
        assert!(stock_400(quiet.as_bytes()));
        assert!(stock_400(&NGINX_400[..NGINX_400.len() - 30]));
        // An application's 400: its own body, or no close.
        let json = b"HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n{\"error\":\"missing field\"}";
        assert!(!stock_400(json));
        let kept = String::from_utf8_lossy(NGINX_400)
            .replace("Connection: close", "Connection: keep-alive");
        assert!(!stock_400(kept.as_bytes()));
        let own_page = b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n<html><body>Bad input</body></html>";
        assert!(!stock_400(own_page));
        // nginx's page for plain HTTP on an HTTPS port is another finding.
        let https = b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n<html>\r\n<head><title>400 The plain HTTP request was sent to HTTPS port</title></head>\r\n<body>\r\n<center><h1>400 Bad Request</h1></center>\r\n";
        assert!(!stock_400(https));
        // Only the head so far.
        assert!(!stock_400(
            b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\n"
        ));
        assert_eq!(
            Answer::of(NGINX_400),
            Answer::Http {
                status: 400,
                stock_400: true
            }
        );
        assert_eq!(
            Answer::of(json),
            Answer::Http {
                status: 400,
                stock_400: false
            }
        );
    }

    #[test]
    fn a_well_formed_request_has_a_request_line_a_host_and_the_blank_line() {
        assert!(well_formed_request(
            b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
        ));
        assert!(well_formed_request(b"GET / HTTP/1.0\r\n\r\n"));
        assert!(well_formed_request(
            b"POST /x HTTP/1.1\r\nhost: a\r\nContent-Length: 2\r\n\r\nhi"
        ));
        assert!(!well_formed_request(b"GET / HTTP/1.1\r\n\r\n"), "no Host");
        assert!(
            !well_formed_request(b"GET / HTTP/1.1\r\nHost: a\r\n"),
            "no end"
        );
        assert!(!well_formed_request(b"GET x HTTP/1.1\r\nHost: a\r\n\r\n"));
        assert!(!well_formed_request(b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n"));
        assert!(!well_formed_request(b"\x16\x03\x01\x00\x10"));
        assert!(!well_formed_request(b""));
    }

    /// The seed seen from the client: no header, a stock 400 and a close.
    #[test]
    fn a_stock_400_to_a_request_without_a_header_points_behind() {
        use Ending::*;
        let nginx = Answer::of(NGINX_400);
        let haproxy = Answer::of(HAPROXY_400);
        for answer in [nginx, haproxy] {
            for ending in [ServerClosed, ServerReset] {
                assert_eq!(x(GET, answer, ending), Finding::HopAddsHeader);
            }
            // Kept open, not a request, or a header of our own: not this.
            assert_eq!(x(GET, answer, TimedOut), Finding::HttpError);
            assert_eq!(x(HELLO, answer, ServerClosed), Finding::HttpError);
            assert_eq!(x(HDR, answer, ServerClosed), Finding::UnexpectedHeader);
        }
        // An application's 400 with a close is the request's own problem.
        let app =
            Answer::of(b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n{\"error\":\"x\"}");
        assert_eq!(x(GET, app, ServerClosed), Finding::HttpError);
        let f = Finding::HopAddsHeader;
        assert!(f.is_problem());
        assert!(f.meaning().starts_with("suspected"));
        let ids: Vec<&str> = f.fixes().iter().map(|f| f.id).collect();
        assert_eq!(ids[0], "confirm-hop-adds-header");
        assert!(ids.contains(&"ingress-nginx-use-proxy-protocol"));
        // A capture of both hops proves it: the hop behind is the cause.
        assert_eq!(
            behind(f, Finding::UnexpectedHeader),
            Finding::UpstreamFailed
        );
        // The layer is asked first: a TLS port's page is its own finding.
        assert_eq!(
            layered(
                &Exchange {
                    sent: GET,
                    answer: nginx,
                    ending: ServerClosed,
                    udp: false
                },
                Layer::of_plain(NGINX_400)
            ),
            Finding::HopAddsHeader
        );
    }

    #[test]
    fn codes_are_derived_from_names() {
        assert_eq!(Finding::InvalidHeader.code(), "PP-INVALID-HEADER");
        assert_eq!(Finding::Inconclusive.code(), "PP-INCONCLUSIVE");
        assert_eq!(Finding::HeaderTimeout.code(), "PP-HEADER-TIMEOUT");
    }

    #[test]
    fn the_seed_failure_has_one_name() {
        let f = x(
            HDR,
            Answer::Http {
                status: 400,
                stock_400: false,
            },
            Ending::ServerClosed,
        );
        assert_eq!(f, Finding::UnexpectedHeader);
        assert_eq!(
            arrival(
                Expects::Nothing,
                Arrived::Header {
                    local: false,
                    trusted: true,
                    stacked: false
                }
            ),
            f
        );
        assert_eq!(
            (f.name(), f.code()),
            ("unexpected-header", "PP-UNEXPECTED-HEADER")
        );
        let ids: Vec<&str> = f.fixes().iter().map(|f| f.id).collect();
        assert_eq!(ids[0], "ingress-nginx-use-proxy-protocol");
    }

    #[test]
    fn exchanges() {
        use Answer::*;
        use Ending::*;
        let ok = Http {
            status: 200,
            stock_400: false,
        };
        assert_eq!(x(HDR, ok, ServerClosed), Finding::Proxied);
        assert_eq!(x(GET, ok, ServerClosed), Finding::Plain);
        assert_eq!(
            x(
                GET,
                Http {
                    status: 400,
                    stock_400: false
                },
                ServerClosed
            ),
            Finding::HttpError
        );
        assert_eq!(
            x(
                HDR,
                Http {
                    status: 503,
                    stock_400: false
                },
                ServerClosed
            ),
            Finding::HttpError
        );
        assert_eq!(x(HDR, TlsAlert, ServerClosed), Finding::UnexpectedHeader);
        assert_eq!(
            x(
                Sent::Stacked,
                Http {
                    status: 400,
                    stock_400: false
                },
                ServerClosed
            ),
            Finding::StackedHeader
        );
        assert_eq!(x(HDR, Nothing, ServerClosed), Finding::HeaderRejected);
        assert_eq!(x(HDR, Nothing, ServerReset), Finding::HeaderRejected);
        assert_eq!(x(GET, Nothing, ServerClosed), Finding::MissingHeader);
        assert_eq!(
            x(Sent::Nothing, Nothing, ServerClosed),
            Finding::MissingHeader
        );
        assert_eq!(
            x(Sent::Nothing, Nothing, ClientClosed),
            Finding::HealthCheck
        );
        assert_eq!(x(HDR, Nothing, TimedOut), Finding::NoReply);
        // A reset after the receiver read on past the header is no refusal.
        assert_eq!(
            x(HDR, Nothing, ServerResetMidStream),
            Finding::ResetMidStream
        );
        assert_eq!(x(HDR, Nothing, Unfinished), Finding::Incomplete);
        assert_eq!(x(HDR, Nothing, Refused), Finding::NoReceiver);
        assert_eq!(
            x(Sent::Invalid, Nothing, ServerClosed),
            Finding::InvalidHeader
        );
        let local = Sent::Local { payload: true };
        assert_eq!(x(local, ok, ServerClosed), Finding::HealthCheck);
        assert_eq!(
            x(
                local,
                Http {
                    status: 400,
                    stock_400: false
                },
                ServerClosed
            ),
            Finding::FailedHealthCheck
        );
        // The stock 400 page: the header was read as the request line, as
        // the receiver's side (`listen`, off) names it too.
        assert_eq!(
            x(local, Answer::of(NGINX_400), ServerClosed),
            Finding::UnexpectedHeader
        );
        let local_arrival = Arrived::Header {
            local: true,
            trusted: true,
            stacked: false,
        };
        assert_eq!(
            arrival(Expects::Nothing, local_arrival),
            Finding::UnexpectedHeader
        );
        let udp = Exchange {
            sent: HDR,
            answer: Nothing,
            ending: TimedOut,
            udp: true,
        };
        assert_eq!(exchange(&udp), Finding::NoDatagram);
    }

    #[test]
    fn the_tls_dimension() {
        use Answer::*;
        use Ending::*;
        let ex = |sent, answer, ending| Exchange {
            sent,
            answer,
            ending,
            udp: false,
        };
        let nginx = b"HTTP/1.1 400 Bad Request\r\nServer: nginx\r\n\r\n<html><center>The plain HTTP request was sent to HTTPS port</center></html>";
        assert_eq!(Layer::of_plain(nginx), Layer::PlainToTls);
        assert_eq!(
            Layer::of_plain(b"HTTP/1.1 400 Bad Request\r\n\r\n"),
            Layer::Plain
        );
        let bad = Http {
            status: 400,
            stock_400: false,
        };
        // Without the layer, the same answer reads as a header problem.
        assert_eq!(
            layered(&ex(HDR, bad, ServerClosed), Layer::Plain),
            Finding::UnexpectedHeader
        );
        assert_eq!(
            layered(&ex(HDR, bad, ServerClosed), Layer::PlainToTls),
            Finding::PlainHttpToTls
        );
        assert_eq!(
            layered(&ex(GET, bad, ServerClosed), Layer::PlainToTls),
            Finding::PlainHttpToTls
        );
        let ok = Http {
            status: 200,
            stock_400: false,
        };
        assert_eq!(
            layered(&ex(HDR, ok, ServerClosed), Layer::Tls),
            Finding::Proxied
        );
        assert_eq!(
            layered(&ex(GET, ok, ServerClosed), Layer::Tls),
            Finding::Plain
        );
        for answer in [Nothing, TlsAlert, Other] {
            assert_eq!(
                layered(&ex(HDR, answer, ServerClosed), Layer::TlsFailed),
                Finding::TlsHandshakeFailed,
                "{answer:?}"
            );
        }
        assert_eq!(
            layered(&ex(HDR, Nothing, ServerReset), Layer::TlsFailed),
            Finding::TlsHandshakeFailed
        );
        assert_eq!(
            layered(&ex(HELLO, Nothing, ServerClosed), Layer::TlsFailed),
            Finding::TlsBeforeProxy
        );
        // A plain 400 to header + ClientHello: nginx `listen … ssl` reads
        // the header as a plain HTTP request; only a second connection
        // that is served in clear tells a plain PROXY port.
        assert_eq!(
            layered(&ex(HDR, bad, ServerClosed), Layer::TlsFailed),
            Finding::TlsHandshakeFailed
        );
        assert_eq!(
            layered(&ex(HDR, bad, ServerClosed), Layer::TlsFailedPlainServed),
            Finding::TlsToPlainPort
        );
        assert_eq!(
            layered(&ex(HELLO, bad, ServerClosed), Layer::TlsFailed),
            Finding::TlsToPlainPort
        );
        assert_eq!(
            layered(&ex(HDR, Nothing, TimedOut), Layer::TlsFailed),
            Finding::NoReply
        );
        assert_eq!(
            layered(&ex(HDR, Other, ServerClosed), Layer::TlsCertificateRefused),
            Finding::CertificateRejected
        );
        assert_eq!(
            layered(&ex(HDR, Nothing, Refused), Layer::TlsFailed),
            Finding::NoReceiver
        );
    }

    #[test]
    fn arrivals_and_pairings() {
        let hdr = Arrived::Header {
            local: false,
            trusted: true,
            stacked: false,
        };
        assert_eq!(arrival(Expects::Header, hdr), Finding::Proxied);
        assert_eq!(
            arrival(Expects::Header, Arrived::NoHeader),
            Finding::MissingHeader
        );
        assert_eq!(
            arrival(Expects::Optional, Arrived::NoHeader),
            Finding::Plain
        );
        assert_eq!(
            arrival(
                Expects::Header,
                Arrived::Header {
                    local: false,
                    trusted: false,
                    stacked: false
                }
            ),
            Finding::UntrustedSource
        );
        assert_eq!(
            pairing(Expects::Optional, Finding::Proxied),
            Finding::Spoofable
        );
        assert_eq!(pairing(Expects::Header, Finding::Proxied), Finding::Proxied);
    }

    #[test]
    fn a_client_hello_on_a_plain_port_is_named_for_tls() {
        assert_eq!(
            hello_on_plain_port(Finding::MissingHeader),
            Finding::TlsBeforeProxy
        );
        assert_eq!(
            hello_on_plain_port(Finding::Proxied),
            Finding::TlsToPlainPort
        );
        assert_eq!(hello_on_plain_port(Finding::Plain), Finding::TlsToPlainPort);
        assert_eq!(
            hello_on_plain_port(Finding::UntrustedSource),
            Finding::UntrustedSource
        );
    }

    #[test]
    fn a_tls_port_turns_the_header_mistakes_into_tls_ones() {
        let hdr = Arrived::Header {
            local: false,
            trusted: true,
            stacked: false,
        };
        let tls = |e, a, layer| on_tls_port(arrival(e, a), layer);
        // A header read as data, a ClientHello behind it: the handshake
        // fails (nginx `listen … ssl` answers 400 in clear).
        assert_eq!(
            tls(Expects::Nothing, hdr, Layer::TlsFailed),
            Finding::TlsHandshakeFailed
        );
        // Plain HTTP behind it: no handshake was tried.
        assert_eq!(
            tls(Expects::Nothing, hdr, Layer::Plain),
            Finding::UnexpectedHeader
        );
        assert_eq!(
            tls(Expects::Header, Arrived::NoHeader, Layer::TlsFailed),
            Finding::TlsBeforeProxy
        );
        // Plain HTTP without a header to `ssl proxy_protocol`: nginx logs
        // a broken header, as on a plain port.
        assert_eq!(
            tls(Expects::Header, Arrived::NoHeader, Layer::Plain),
            Finding::MissingHeader
        );
        // The header read, then plain HTTP where TLS is served.
        assert_eq!(
            tls(Expects::Header, hdr, Layer::PlainToTls),
            Finding::PlainHttpToTls
        );
        assert_eq!(tls(Expects::Header, hdr, Layer::Tls), Finding::Proxied);
        assert_eq!(
            tls(Expects::Header, hdr, Layer::TlsCertificateRefused),
            Finding::CertificateRejected
        );
        assert_eq!(
            tls(Expects::Nothing, Arrived::NoHeader, Layer::Tls),
            Finding::Plain
        );
    }

    /// One connection, seen by the receiver (`listen --tls`: the arrival
    /// and the layer it saw) and by the client (`send`, `probe`: the
    /// exchange and the layer the answer shows), gets one name.
    #[test]
    fn both_sides_of_a_tls_port_name_a_connection_alike() {
        use Ending::ServerClosed;
        let hdr = Arrived::Header {
            local: false,
            trusted: true,
            stacked: false,
        };
        let ex = |sent, answer| Exchange {
            sent,
            answer,
            ending: ServerClosed,
            udp: false,
        };
        let bare = Answer::of(NGINX_400);
        let https = b"HTTP/1.1 400 Bad Request\r\n\r\n<center>The plain HTTP request was sent to HTTPS port</center>";
        let cases = [
            // probe (http) against `listen --tls --proxy-protocol require`.
            (
                arrival(Expects::Header, hdr),
                Layer::PlainToTls,
                ex(HDR, Answer::of(https)),
                Layer::of_plain(https),
            ),
            // probe (http) against `listen --tls` (off): header, plain GET.
            (
                arrival(Expects::Nothing, hdr),
                Layer::Plain,
                ex(HDR, bare),
                Layer::of_plain(NGINX_400),
            ),
            // send --tls against `listen --tls` (off): header, ClientHello.
            (
                arrival(Expects::Nothing, hdr),
                Layer::TlsFailed,
                ex(HDR, bare),
                Layer::TlsFailed,
            ),
            // send --tls against `--proxy-protocol require`, no header.
            (
                arrival(Expects::Header, Arrived::NoHeader),
                Layer::TlsFailed,
                ex(HELLO, Answer::Nothing),
                Layer::TlsFailed,
            ),
            // send --tls refusing the certificate.
            (
                arrival(Expects::Header, hdr),
                Layer::TlsCertificateRefused,
                ex(HDR, Answer::Other),
                Layer::TlsCertificateRefused,
            ),
        ];
        for (arrived, seen, x, answered) in cases {
            assert_eq!(on_tls_port(arrived, seen), layered(&x, answered), "{x:?}");
        }
    }
}
