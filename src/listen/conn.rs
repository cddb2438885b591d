//! One TCP connection: frame the header with the streaming codec, decide
//! as the configured receiver would, then answer the first request.
//!
//! Memory is bounded by [`Config::buffer_cap`]; every read and every write
//! is bounded by a deadline and by the server's stop signal, so a slow or
//! hostile client only ever costs its own task, for a bounded time: the
//! header stage has one deadline (`--header-timeout`), the request head
//! another (`--request-timeout`), neither restarted by a byte; each read
//! and each write also waits at most `--idle-timeout`.

use std::io;
use std::net::SocketAddr;
use std::time::{Instant, SystemTime};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::watch;

use crate::codec::{self, Decoded};
use crate::judge::{self, Arrived, Finding};

use super::config::{Config, Mode};
use super::nginx;
use super::record::{ConnRecord, Data, HeaderSeen, Reply, Transport};
use super::tls::{self, Stream, TlsSeen};
use super::whoami::{self, PageTlv, Whoami};

/// How long a TLS port without PROXY protocol, having answered a header
/// with nginx's 400, waits for what the client sends behind the header (a
/// ClientHello, or plain HTTP) when it has not come with it: the finding
/// depends on it. Clients send it right behind the header, unprompted.
const FOLLOW_WAIT: std::time::Duration = std::time::Duration::from_millis(250);

/// How one read ended.
enum Read {
    Data,
    Eof,
    Timeout,
    Stopped,
    Full,
    Failed(io::Error),
}

/// How the header stage ended.
enum Framed {
    /// A complete header of this many bytes.
    Header(usize),
    /// The bytes are not a header.
    NotProxy,
    Invalid(codec::Error),
    TooLarge(usize),
    /// Ended early: how, and the decode of what arrived.
    Ended(Read),
}

struct Conn<'a> {
    stream: Stream,
    cfg: &'a Config,
    buf: Vec<u8>,
    cap: usize,
    stop: watch::Receiver<bool>,
    rec: ConnRecord,
    peer: SocketAddr,
}

/// Serve one connection to the end and say what happened. The stream is
/// handed back open: the caller records first and closes after, so a client
/// that sees the close can count on the line being out.
pub(crate) async fn serve(
    stream: std::net::TcpStream,
    peer: SocketAddr,
    local: SocketAddr,
    id: u64,
    cfg: &Config,
    stop: watch::Receiver<bool>,
) -> (ConnRecord, Stream) {
    let started = Instant::now();
    let rec = ConnRecord::new(id, Transport::Tcp, peer, local, cfg.mode);
    let mut conn = Conn {
        stream: Stream::Raw(stream),
        cfg,
        buf: Vec::with_capacity(1024),
        cap: cfg.buffer_cap(),
        stop,
        rec,
        peer,
    };
    conn.run().await;
    let mut rec = conn.rec;
    rec.bytes_in += conn.buf.len() as u64;
    rec.duration = started.elapsed();
    rec.matched = expectations(cfg, &rec);
    (rec, conn.stream)
}

/// `--expect-src` / `--expect-version` against the accepted header.
pub(crate) fn expectations(cfg: &Config, rec: &ConnRecord) -> Option<bool> {
    if !cfg.has_expectations() {
        return None;
    }
    let header = rec.accepted();
    let src_ok = cfg.expect_src.is_empty()
        || header
            .and_then(|h| h.source)
            .is_some_and(|s| cfg.expect_src.iter().any(|net| net.contains(&s.ip())));
    let ver_ok = cfg
        .expect_version
        .is_none_or(|want| header.map(|h| h.version) == Some(want));
    Some(src_ok && ver_ok)
}

impl Conn<'_> {
    async fn run(&mut self) {
        self.rec.trusted = self.cfg.trusts(self.peer.ip());
        let deadline = Instant::now() + self.cfg.header_timeout;
        let framed = self.frame(deadline).await;
        let mode = self.cfg.mode;
        match framed {
            Framed::Header(len) => {
                if mode == Mode::Off {
                    return self.unexpected().await;
                }
                self.accept_header(len).await
            }
            Framed::NotProxy => {
                self.arrive(Arrived::NoHeader);
                match mode {
                    Mode::Require => {
                        self.rec.error = Some(format!(
                            "no PROXY header: the first bytes look like {}",
                            crate::sniff::classify(&self.buf)
                        ));
                        self.rec.log = Some(nginx::broken_header(&self.buf));
                        // A ClientHello: the sender started TLS where
                        // the header goes.
                        let hello = tls::is_client_hello(&self.buf);
                        self.rec.finding = if self.cfg.tls.is_some() {
                            // Hung up on, a ClientHello's handshake fails.
                            let layer = if hello {
                                judge::Layer::TlsFailed
                            } else {
                                judge::Layer::Plain
                            };
                            judge::on_tls_port(self.rec.finding, layer)
                        } else if hello {
                            judge::hello_on_plain_port(self.rec.finding)
                        } else {
                            self.rec.finding
                        };
                    }
                    Mode::Auto | Mode::Off => {
                        if mode == Mode::Auto {
                            self.rec.note = Some("no PROXY header: the peer is the client".into());
                        }
                        self.payload(0).await
                    }
                }
            }
            Framed::Invalid(e) => {
                self.rec.header = Some(HeaderSeen::new(&self.buf, false));
                if mode == Mode::Off {
                    return self.unexpected().await;
                }
                self.arrive(Arrived::Invalid);
                self.rec.error = Some(format!(
                    "invalid header at byte {}: {}; {}",
                    e.offset,
                    e.kind,
                    e.kind.hint()
                ));
                self.rec.log = Some(nginx::broken_header(&self.buf));
            }
            Framed::TooLarge(total) => {
                if mode == Mode::Off {
                    return self.unexpected().await;
                }
                self.arrive(Arrived::TooLarge);
                self.rec.error = Some(format!(
                    "v2 header announces {total} bytes, more than --max-header {}; raise --max-header if the sender is legitimate",
                    self.cfg.max_header
                ));
                self.rec.log = Some("header is too large while reading PROXY protocol".into());
            }
            Framed::Ended(how) => self.ended_early(how, mode),
        }
    }

    /// Record what arrived; the judge gives the finding.
    fn arrive(&mut self, arrived: Arrived) {
        self.rec.arrive(arrived, self.cfg.trust.is_empty());
    }

    /// The header stage: read until the codec decides. `decode` is only
    /// called again once at least `needed` more bytes are in, so slow input
    /// costs O(header) work, and the v2 length is checked against the cap
    /// as soon as the 16-byte prefix is in.
    async fn frame(&mut self, deadline: Instant) -> Framed {
        let mut want = 1;
        loop {
            if self.buf.len() >= want {
                match codec::decode(&self.buf) {
                    Decoded::Complete(h) => return Framed::Header(h.len()),
                    Decoded::NotProxy(_) => return Framed::NotProxy,
                    Decoded::Invalid(e) => return Framed::Invalid(e),
                    Decoded::Incomplete { needed } => {
                        if let Some(total) = codec::v2_total_len(&self.buf) {
                            if total > self.cfg.max_header {
                                return Framed::TooLarge(total);
                            }
                        }
                        want = self.buf.len() + needed.max(1);
                    }
                }
            }
            match self.read(deadline).await {
                Read::Data => {}
                other => return Framed::Ended(other),
            }
        }
    }

    /// EOF, timeout, stop or error before the header stage finished.
    fn ended_early(&mut self, how: Read, mode: Mode) {
        let got = self.buf.len();
        if got > 0 {
            self.rec.header = Some(HeaderSeen::new(&self.buf, true));
        }
        let what = if mode == Mode::Off {
            "first request"
        } else {
            "PROXY header"
        };
        match how {
            Read::Timeout => {
                self.arrive(Arrived::TimedOut);
                self.rec.error = Some(format!(
                    "no complete {what} within --header-timeout {:?} ({got} bytes arrived); a server-speaks-first protocol, or a sender that sends no header",
                    self.cfg.header_timeout
                ));
                if mode != Mode::Off {
                    self.rec.log = Some("client timed out while reading PROXY protocol".into());
                }
            }
            Read::Stopped => {
                self.arrive(Arrived::Interrupted);
                self.rec.error = Some(format!(
                    "server stopped while waiting for the {what} ({got} bytes arrived)"
                ));
            }
            Read::Eof | Read::Failed(_) | Read::Full | Read::Data => {
                let cause = match &how {
                    Read::Failed(e) => format!("connection error ({e})"),
                    _ => "peer closed".to_string(),
                };
                if got == 0 {
                    self.arrive(Arrived::Closed);
                    self.rec.error = Some(format!(
                        "{cause} before sending anything (a TCP health check?)"
                    ));
                    if mode != Mode::Off {
                        self.rec.log = Some(nginx::CLOSED_EMPTY.into());
                    }
                } else {
                    // Off: a header-shaped start is what nginx reads as a
                    // bad request line (unexpected-header).
                    self.arrive(Arrived::Invalid);
                    self.rec.error =
                        Some(format!("{cause} after {got} bytes of an incomplete header"));
                    // nginx without proxy_protocol just sees a client that
                    // left in the middle of its request line.
                    if mode != Mode::Off {
                        self.rec.log = Some(nginx::broken_header(&self.buf));
                    }
                }
            }
        }
    }

    /// Off mode met a header: nginx parses it as a request line and answers 400.
    async fn unexpected(&mut self) {
        let len = self.header_len_hint();
        if self.rec.header.is_none() {
            self.rec.header = Some(HeaderSeen::new(&self.buf[..len], false));
        }
        self.arrive(Arrived::Invalid);
        if let Some(h) = self.rec.header.as_ref().and_then(|h| h.valid) {
            self.arrive(Arrived::Header {
                local: h.local,
                trusted: self.rec.trusted,
                stacked: false,
            });
        }
        self.rec.log = Some(nginx::invalid_request(&self.buf));
        // The request line as nginx sees it: empty lines skipped.
        let line = self
            .buf
            .split(|&b| b == b'\r' || b == b'\n')
            .find(|l| !l.is_empty())
            .unwrap_or(&[]);
        self.rec.request = Some(String::from_utf8_lossy(line).into_owned());
        let page = nginx::bad_request(SystemTime::now());
        let sent = self.write(&page, Reply::BadRequest).await;
        if self.cfg.tls.is_some() {
            // nginx `listen … ssl` checks the first byte for TLS; anything
            // else is served as plain HTTP, so the header is a request line
            // and a ClientHello behind it gets the 400 in clear: the
            // handshake fails. Plain HTTP behind it tried no handshake.
            // What follows the header tells, as it does the client's side.
            if sent && self.buf.len() <= len {
                let until = Instant::now() + FOLLOW_WAIT.min(self.cfg.idle_timeout);
                let _ = self.read(until).await;
            }
            let layer = judge::Layer::of_bytes(
                &self.buf[len.min(self.buf.len())..],
                judge::Answer::of(&page),
                &page,
            );
            self.rec.finding = judge::on_tls_port(self.rec.finding, layer);
            self.rec.pairing = None;
        }
        let error = if self.rec.finding == Finding::TlsHandshakeFailed {
            "a PROXY header reached a TLS port without PROXY protocol: nginx `listen … ssl` reads it as a plain HTTP request line and answers 400 Bad Request in clear, so the TLS handshake behind it fails"
        } else {
            "a PROXY header reached a receiver that does not expect one: nginx answers 400 Bad Request"
        };
        self.rec.error = Some(match self.rec.error.take() {
            Some(write_failed) => format!("{error}; {write_failed}"),
            None => error.into(),
        });
    }

    /// Bytes of a complete header at the start of the buffer, else all.
    fn header_len_hint(&self) -> usize {
        match codec::decode(&self.buf) {
            Decoded::Complete(h) => h.len(),
            _ => self.buf.len(),
        }
    }

    /// A valid header of `len` bytes is in the buffer.
    async fn accept_header(&mut self, len: usize) {
        let seen = HeaderSeen::new(&self.buf[..len], false);
        let facts = seen.valid;
        self.rec.header = Some(seen);
        let local_cmd = facts.is_some_and(|h| h.local);
        self.arrive(Arrived::Header {
            local: local_cmd,
            trusted: self.rec.trusted,
            stacked: false,
        });
        if !self.rec.trusted {
            let msg = format!(
                "header from {} which is not in --trust {}",
                self.peer.ip(),
                self.trust_list()
            );
            if self.cfg.mode == Mode::Require {
                self.rec.error = Some(format!("{msg}: rejected"));
                return;
            }
            self.rec.note = Some(format!("{msg}: ignored, the peer is the client"));
            return self.payload(len).await;
        }
        if local_cmd {
            self.rec.note =
                Some("LOCAL header (a health check): the socket's addresses stand".into());
        } else if let Some(src) = facts.and_then(|h| h.source) {
            self.rec.client = src;
        }
        if self.cfg.trust.is_empty() {
            self.rec.note = Some(format!(
                "{}accepted from any peer: any client could forge it; use --trust CIDR",
                self.rec
                    .note
                    .as_deref()
                    .map(|n| format!("{n}; "))
                    .unwrap_or_default()
            ));
        }
        self.payload(len).await
    }

    fn trust_list(&self) -> String {
        self.cfg
            .trust
            .iter()
            .map(|n| n.to_string())
            .collect::<Vec<_>>()
            .join(",")
    }

    fn deadline_idle(&self) -> Instant {
        Instant::now() + self.cfg.idle_timeout
    }

    /// After the header (`start` bytes of it): the first request. The whole
    /// request head has one deadline (`--request-timeout`, from now), so a
    /// client that trickles it byte by byte is closed on time; each read
    /// also waits no longer than `--idle-timeout`.
    async fn payload(&mut self, start: usize) {
        if self.cfg.tls.is_some() && !self.stream.is_tls() && !Box::pin(self.start_tls(start)).await
        {
            return;
        }
        let stage = Instant::now() + self.cfg.request_timeout;
        let mut scanned = start;
        let mut parsed_once = false;
        loop {
            let rest = &self.buf[start..];
            // Parse when something new could change the answer: the first
            // bytes (to spot non-HTTP early), then only once the blank line
            // that ends the request head has arrived. O(n) on slow input.
            let ready = !rest.is_empty()
                && (!parsed_once || ends_head(&self.buf[start..], scanned.saturating_sub(start)));
            scanned = self.buf.len();
            if ready {
                parsed_once = true;
                match self.parse_http(start) {
                    Http::Request { line, json, whole } => {
                        self.whoami(line, json).await;
                        // Under TLS the close_notify goes out with shutdown().
                        self.rec.drained =
                            whole && self.rec.reply != Reply::None && !self.stream.is_tls();
                        return;
                    }
                    Http::Partial => {}
                    Http::Other => return self.non_http(start).await,
                }
            }
            let idle = self.deadline_idle();
            let whole = stage <= idle;
            match self.read(if whole { stage } else { idle }).await {
                Read::Data => {}
                Read::Full => {
                    self.rec.error = Some(format!(
                        "request head larger than {} bytes; closed",
                        super::config::REQUEST_CAP
                    ));
                    return;
                }
                Read::Eof | Read::Failed(_) => {
                    if self.buf.len() > start && !parsed_once {
                        return self.non_http(start).await;
                    }
                    if self.buf.len() > start {
                        self.rec.note = Some(join_note(
                            &self.rec.note,
                            "peer closed in the middle of the request",
                        ));
                    }
                    return;
                }
                Read::Timeout => {
                    let got = self.buf.len() - start;
                    let why = if whole {
                        format!(
                            "no complete request head within --request-timeout {:?} ({got} bytes arrived); closed",
                            self.cfg.request_timeout
                        )
                    } else {
                        format!(
                            "idle timeout waiting for the request (--idle-timeout {:?}, {got} bytes arrived); closed",
                            self.cfg.idle_timeout
                        )
                    };
                    self.rec.note = Some(join_note(&self.rec.note, &why));
                    return;
                }
                Read::Stopped => {
                    self.rec.note = Some(join_note(
                        &self.rec.note,
                        "server stopped before the request was complete",
                    ));
                    return;
                }
            }
        }
    }

    /// `--tls`: after the header stage (`start` bytes), the handshake.
    /// Plain HTTP gets nginx's `400 The plain HTTP request was sent to
    /// HTTPS port`. True when TLS is on and the request can be read.
    async fn start_tls(&mut self, start: usize) -> bool {
        let Some(identity) = self.cfg.tls.clone() else {
            return true;
        };
        // The first byte after the header tells TLS from plain text.
        let stage = Instant::now() + self.cfg.request_timeout;
        while self.buf.len() <= start {
            match self.read(stage.min(self.deadline_idle())).await {
                Read::Data => {}
                Read::Timeout => {
                    self.rec.note = Some(join_note(
                        &self.rec.note,
                        "no ClientHello before the timeout; closed",
                    ));
                    return false;
                }
                _ => return false,
            }
        }
        let rest = &self.buf[start..];
        if !tls::is_client_hello(rest)
            && matches!(
                crate::sniff::classify(rest),
                crate::sniff::Sniffed::HttpRequest { .. }
            )
        {
            let line = rest
                .split(|&b| b == b'\r' || b == b'\n')
                .next()
                .unwrap_or(&[]);
            self.rec.request = Some(String::from_utf8_lossy(line).into_owned());
            let page = tls::plain_http_to_https(SystemTime::now());
            self.rec.finding = judge::on_tls_port(self.rec.finding, judge::Layer::of_400(&page));
            self.rec.pairing = None;
            self.rec.error = Some(
                "plain HTTP on a TLS port: nginx answers 400 The plain HTTP request was sent to HTTPS port".into(),
            );
            self.rec.log = Some(
                "client sent plain HTTP request to HTTPS port while reading client request headers"
                    .into(),
            );
            self.write(&page, Reply::BadRequest).await;
            return false;
        }
        let prefix = self.buf.split_off(start);
        self.rec.bytes_in += prefix.len() as u64;
        let limit = self.cfg.request_timeout.min(self.cfg.idle_timeout);
        match self.stream.start_tls(&identity, prefix, limit).await {
            Ok(facts) => {
                self.rec.tls = Some(TlsSeen::Done(facts));
                true
            }
            Err(refused) => {
                let layer = if refused.is_certificate() {
                    judge::Layer::TlsCertificateRefused
                } else {
                    judge::Layer::TlsFailed
                };
                self.rec.finding = judge::on_tls_port(self.rec.finding, layer);
                self.rec.pairing = None;
                self.rec.error = Some(format!("TLS handshake failed: {}", refused.describe()));
                self.rec.tls = Some(TlsSeen::Refused(refused));
                false
            }
        }
    }

    /// Parse the request head after `start`.
    fn parse_http(&self, start: usize) -> Http {
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut req = httparse::Request::new(&mut headers);
        match req.parse(&self.buf[start..]) {
            Ok(httparse::Status::Complete(head)) => {
                let path = req.path.unwrap_or("/").to_string();
                let line = format!(
                    "{} {} HTTP/1.{}",
                    req.method.unwrap_or("?"),
                    path,
                    req.version.unwrap_or(1)
                );
                let json = whoami::wants_json(
                    &path,
                    req.headers
                        .iter()
                        .find(|h| h.name.eq_ignore_ascii_case("accept"))
                        .map(|h| h.value),
                );
                Http::Request {
                    line,
                    json,
                    whole: start + head == self.buf.len(),
                }
            }
            Ok(httparse::Status::Partial) | Err(httparse::Error::TooManyHeaders) => Http::Partial,
            Err(_) => Http::Other,
        }
    }

    /// Answer an HTTP request with the whoami page.
    async fn whoami(&mut self, line: String, json: bool) {
        let accepted = self.rec.accepted();
        let proxied = accepted.filter(|h| !h.local);
        let tlvs = match (&self.rec.header, proxied) {
            (Some(h), Some(_)) => PageTlv::of(&h.decode()),
            _ => Vec::new(),
        };
        let page = Whoami {
            peer: self.peer,
            server: self.rec.local,
            claimed: proxied.and_then(|h| Some((h.source?, h.destination?))),
            proxy_protocol: accepted.map(|h| (h.version, if h.local { "LOCAL" } else { "PROXY" })),
            tlvs,
            trust: self.cfg.trust.clone(),
            spoofable: self.rec.pairing == Some(Finding::Spoofable),
            note: self.rec.note.clone(),
            request: line.clone(),
        };
        self.rec.request = Some(line);
        let (body, ctype, reply) = if json {
            (page.json(), "application/json", Reply::WhoamiJson)
        } else {
            (page.text(), "text/plain; charset=utf-8", Reply::Whoami)
        };
        self.write(&whoami::response(&body, ctype), reply).await;
    }

    /// Bytes that are not HTTP: echo them (`--echo`) or log and close.
    async fn non_http(&mut self, start: usize) {
        let rest = &self.buf[start..];
        if !self.stream.is_tls() && tls::is_client_hello(rest) {
            // TLS to a port that serves none (listen without --tls): nginx
            // reads the ClientHello as a request line and answers 400 in
            // clear, which tells the client's TLS stack what happened.
            self.rec.data = Some(Data::of(rest));
            self.rec.finding = judge::hello_on_plain_port(self.rec.finding);
            self.rec.pairing = None;
            self.rec.error = Some(
                "a TLS ClientHello on a port that serves no TLS: the client (or the load balancer) speaks TLS here; serve TLS on this port (listen --tls, nginx `listen … ssl`) or send plain HTTP".into(),
            );
            if !self.cfg.echo {
                self.rec.log = Some(nginx::invalid_request(rest));
                self.write(&nginx::bad_request(SystemTime::now()), Reply::BadRequest)
                    .await;
                return;
            }
        }
        if self.stream.is_tls()
            && matches!(
                codec::decode(rest),
                Decoded::Complete(_) | Decoded::Incomplete { .. }
            )
        {
            // A PROXY header inside TLS: the sender wraps TLS first.
            self.rec.data = Some(Data::of(rest));
            self.rec.finding = Finding::TlsBeforeProxy;
            self.rec.pairing = None;
            self.rec.error = Some(
                "a PROXY header arrived inside TLS, after the handshake: the sender starts TLS first and sends the header in it".into(),
            );
            return;
        }
        self.rec.data = Some(Data::of(rest));
        // A second header right after an accepted one: two hops both add one.
        if let Arrived::Header {
            local,
            trusted: true,
            ..
        } = self.rec.arrived
        {
            if start > 0
                && matches!(
                    codec::decode(rest),
                    Decoded::Complete(_) | Decoded::Invalid(_)
                )
            {
                self.arrive(Arrived::Header {
                    local,
                    trusted: true,
                    stacked: true,
                });
            }
        }
        if !self.cfg.echo {
            self.rec.note = Some(join_note(
                &self.rec.note,
                "not HTTP: logged and closed (--echo echoes it)",
            ));
            return;
        }
        let first = self.buf[start..].to_vec();
        if !self.write(&first, Reply::Echo).await {
            return;
        }
        // From here on the buffer is not kept: echo chunk by chunk. Each
        // read waits at most --idle-timeout, and so does each write, so a
        // peer that sends but never reads loses its slot.
        // On the heap: only echoing connections need it.
        let mut chunk = vec![0u8; 4096];
        loop {
            let deadline = self.deadline_idle();
            let n = tokio::select! {
                r = tokio::time::timeout_at(deadline.into(), self.stream.read(&mut chunk)) => match r {
                    Ok(Ok(n)) if n > 0 => n,
                    Ok(_) => return,
                    Err(_) => {
                        let why = format!(
                            "echo: nothing arrived for --idle-timeout {:?}; closed",
                            self.cfg.idle_timeout
                        );
                        self.rec.note = Some(join_note(&self.rec.note, &why));
                        return;
                    }
                },
                _ = super::signalled(&mut self.stop) => return,
            };
            self.rec.bytes_in += n as u64;
            if let Err(why) = self.send(&chunk[..n]).await {
                self.rec.note = Some(join_note(&self.rec.note, &format!("echo: {why}; closed")));
                return;
            }
        }
    }

    /// Send a reply; on failure say why in the record. True when sent.
    async fn write(&mut self, bytes: &[u8], reply: Reply) -> bool {
        match self.send(bytes).await {
            Ok(()) => {
                self.rec.reply = reply;
                true
            }
            Err(why) => {
                self.rec.error = Some(join_note(
                    &self.rec.error,
                    &format!("could not send the reply: {why}"),
                ));
                false
            }
        }
    }

    /// Write all of `bytes`, bounded by `--idle-timeout` (a peer that does
    /// not read cannot hold the connection) and by the stop signal.
    async fn send(&mut self, mut bytes: &[u8]) -> Result<(), String> {
        // Fast path: a fresh socket has room, but tokio only learns so from
        // epoll; write now (what does not fit goes the async way). Not
        // under TLS: those bytes must go through the session.
        if let Some(tcp) = self.stream.plain() {
            match io::Write::write(&mut &*tcp, bytes) {
                Ok(n) if n == bytes.len() => return Ok(()),
                Ok(n) => bytes = &bytes[n..],
                Err(e) if retry(&e) => {}
                Err(e) => return Err(e.to_string()),
            }
        }
        let deadline = self.deadline_idle();
        tokio::select! {
            r = tokio::time::timeout_at(deadline.into(), self.stream.write_all(bytes)) => match r {
                Ok(Ok(())) => Ok(()),
                Ok(Err(e)) => Err(e.to_string()),
                Err(_) => Err(format!(
                    "the peer read nothing for --idle-timeout {:?}",
                    self.cfg.idle_timeout
                )),
            },
            _ = super::signalled(&mut self.stop) => Err("the server stopped".into()),
        }
    }

    /// Read once into the buffer, bounded by `deadline`, the buffer cap and
    /// the stop signal.
    async fn read(&mut self, deadline: Instant) -> Read {
        let room = self.cap.saturating_sub(self.buf.len());
        if room == 0 {
            return Read::Full;
        }
        // Read straight into the buffer (a chunk on the stack would be part
        // of every connection's task, moved at each spawn): into the room
        // it has, or 4 KiB more when little is left.
        let old = self.buf.len();
        let spare = self.buf.capacity() - old;
        let want = room.min(if spare >= 512 { spare } else { 4096 });
        self.buf.resize(old + want, 0);
        let got = self.read_into(old, deadline).await;
        let n = match &got {
            Ok(n) => *n,
            Err(_) => 0,
        };
        self.buf.truncate(old + n);
        match got {
            Ok(0) => Read::Eof,
            Ok(_) => Read::Data,
            Err(how) => how,
        }
    }

    /// One read into `buf[from..]`: the bytes read, or how it ended.
    async fn read_into(&mut self, from: usize, deadline: Instant) -> Result<usize, Read> {
        // Fast path: the bytes are often in before the socket was ever
        // polled (a client sends as soon as it is connected): read them now
        // rather than after a trip through epoll.
        // Not under TLS: those bytes are records for the session.
        if let Some(tcp) = self.stream.plain() {
            match io::Read::read(&mut &*tcp, &mut self.buf[from..]) {
                Ok(n) => return Ok(n),
                Err(e) if retry(&e) => {}
                Err(e) => return Err(Read::Failed(e)),
            }
        }
        tokio::select! {
            r = tokio::time::timeout_at(deadline.into(), self.stream.read(&mut self.buf[from..])) => match r {
                Err(_) => Err(Read::Timeout),
                Ok(Ok(n)) => Ok(n),
                Ok(Err(e)) => Err(Read::Failed(e)),
            },
            _ = super::signalled(&mut self.stop) => Err(Read::Stopped),
        }
    }
}

/// The request head, as far as it has arrived.
enum Http {
    /// `whole`: the head is all that arrived (nothing after it).
    Request {
        line: String,
        json: bool,
        whole: bool,
    },
    Partial,
    Other,
}

/// Did the blank line that ends an HTTP head arrive? Looks only at bytes
/// from `from` on (with 3 bytes of overlap), so repeated calls stay linear.
fn ends_head(rest: &[u8], from: usize) -> bool {
    let window = &rest[from.saturating_sub(3)..];
    window.windows(2).any(|w| w == b"\n\n") || window.windows(3).any(|w| w == b"\n\r\n")
}

/// Nothing to read (or no room to write) yet, or interrupted: wait.
fn retry(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
    )
}

fn join_note(old: &Option<String>, add: &str) -> String {
    match old {
        Some(o) => format!("{o}; {add}"),
        None => add.to_string(),
    }
}
