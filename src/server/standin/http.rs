//! The HTTP stand-in's connection: frame the header ([`crate::server::conn::Conn::frame`]),
//! decide as the configured nginx would, then answer the first request
//! (the whoami page, nginx's 400, or `--echo`).
//!
//! Memory is bounded by [`Http::buffer_cap`]; every read and every write
//! is bounded by a deadline and by the server's stop signal, so a slow or
//! hostile client only ever costs its own task, for a bounded time: the
//! header stage has one deadline (`--header-timeout`), the request head
//! another (`--request-timeout`), neither restarted by a byte; each read
//! and each write also waits at most `--idle-timeout`.

use std::time::{Duration, Instant, SystemTime};

use tokio::io::AsyncReadExt;

use crate::codec::{self, Decoded};
use crate::judge::{self, Arrived, Finding};
use crate::server::conn::{Conn as Io, Failure, Framed, Read, Stage, WriteFailed};
use crate::server::record::{self, Event};
use crate::server::tls::{self, TlsSeen};
use crate::server::{
    signalled, Accepted, Bound, Closing, HeaderFacts, HeaderSeen, IpProtocol, Served, Service,
    StageDeadline,
};

use super::nginx::{self, Log};
use super::whoami::{self, PageTlv, Whoami};
use super::{ConnRecord, Data, Event as Said, Http, Mode, SentBack};

/// How long a TLS port without PROXY protocol, having answered a header
/// with nginx's 400, waits for what the client sends behind the header (a
/// ClientHello, or plain HTTP) when it has not come with it: the finding
/// depends on it. Clients send it right behind the header, unprompted.
const FOLLOW_WAIT: Duration = Duration::from_millis(250);

struct Conn<'a> {
    io: Io,
    cfg: &'a Http,
    rec: ConnRecord,
}

impl Service for Http {
    type Facts = super::Answered;

    /// Serve one connection to the end and say what happened. The stream is
    /// handed back open: the record goes out first and the close after, so
    /// a client that sees the close can count on the line being out.
    async fn serve(&self, c: Accepted) -> Served<super::Answered> {
        let started = Instant::now();
        let rec = self.record(c.id, IpProtocol::Tcp, c.peer, c.local);
        let mut conn = Conn {
            io: Io::new(c, self.buffer_cap()),
            cfg: self,
            rec,
        };
        conn.run().await;
        let mut rec = conn.rec;
        rec.bytes_in += conn.io.buf.len() as u64;
        rec.framing = conn.io.framing;
        rec.duration = started.elapsed();
        // Something may be left unread: send the FIN before the close.
        let shutdown = !rec.service.drained;
        Served {
            record: Box::new(rec),
            close: Some(Closing {
                stream: conn.io.stream,
                shutdown,
            }),
        }
    }
}

impl Conn<'_> {
    async fn run(&mut self) {
        self.rec.trusted = self.cfg.trusts(self.io.peer.ip());
        let deadline = Instant::now() + self.cfg.header_timeout;
        let framed = self.io.frame(deadline, self.cfg.max_header).await;
        let mode = self.cfg.mode;
        match framed {
            Framed::Header(facts) => {
                if mode == Mode::Off {
                    return self.unexpected().await;
                }
                self.accept_header(facts).await
            }
            Framed::NotProxy => {
                self.arrive(Arrived::NoHeader);
                match mode {
                    Mode::Require => {
                        self.rec.events.push(Event::NoHeader {
                            first: record::kept(&self.io.buf),
                        });
                        self.rec.service.log = Some(Log::broken_header(&self.io.buf));
                        // A ClientHello: the sender started TLS where
                        // the header goes.
                        let hello = tls::is_client_hello(&self.io.buf);
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
                            self.rec.events.push(Event::PeerIsClient);
                        }
                        self.payload(0).await
                    }
                }
            }
            Framed::Failed(Failure::Invalid(_) | Failure::TooLarge(_)) if mode == Mode::Off => {
                if let Framed::Failed(Failure::Invalid(_)) = framed {
                    self.rec.header = Some(HeaderSeen::new(&self.io.buf, false));
                }
                self.unexpected().await
            }
            Framed::Failed(failure) => {
                let stage = Stage {
                    limit: self.cfg.header_timeout,
                    max_header: self.cfg.max_header,
                    awaited: mode.awaited(),
                };
                self.rec.header_failed(&failure, &self.io.buf, stage);
                // nginx without proxy_protocol logs none of these: it sees
                // a client that left in the middle of its request line.
                if mode != Mode::Off {
                    self.rec.service.log = match (&failure, self.rec.arrived) {
                        (Failure::TooLarge(_), _) => Some(Log::TooLarge),
                        (_, Arrived::TimedOut) => Some(Log::TimedOut),
                        (_, Arrived::Closed) => Some(Log::ClosedEmpty),
                        (_, Arrived::Invalid) => Some(Log::broken_header(&self.io.buf)),
                        _ => None,
                    };
                }
            }
        }
    }

    /// Record what arrived; the judge gives the finding.
    fn arrive(&mut self, arrived: Arrived) {
        self.rec.arrive(arrived);
    }

    /// Off mode met a header: nginx parses it as a request line and answers 400.
    async fn unexpected(&mut self) {
        let len = self.header_len_hint();
        if self.rec.header.is_none() {
            self.rec.header = Some(HeaderSeen::new(&self.io.buf[..len], false));
        }
        self.arrive(Arrived::Invalid);
        let valid = self.rec.header.as_ref().and_then(|h| h.valid.as_ref());
        if let Some(local) = valid.map(|h| h.local) {
            self.arrive(Arrived::Header {
                local,
                trusted: self.rec.trusted,
                stacked: false,
            });
        }
        self.rec.service.log = Some(Log::invalid_request(&self.io.buf));
        // The request line as nginx sees it: empty lines skipped.
        let line = self
            .io
            .buf
            .split(|&b| b == b'\r' || b == b'\n')
            .find(|l| !l.is_empty())
            .unwrap_or(&[]);
        self.rec.service.request = Some(String::from_utf8_lossy(line).into_owned());
        let page = nginx::bad_request(SystemTime::now());
        let sent = self.write(&page, SentBack::BadRequest).await;
        if self.cfg.tls.is_some() {
            // nginx `listen … ssl` checks the first byte for TLS; anything
            // else is served as plain HTTP, so the header is a request line
            // and a ClientHello behind it gets the 400 in clear: the
            // handshake fails. Plain HTTP behind it tried no handshake.
            // What follows the header tells, as it does the client's side.
            if sent && self.io.buf.len() <= len {
                let until = Instant::now() + FOLLOW_WAIT.min(self.cfg.idle_timeout);
                let _ = self.io.read(until).await;
            }
            let layer = judge::Layer::of_bytes(
                &self.io.buf[len.min(self.io.buf.len())..],
                judge::Answer::of(&page),
                &page,
            );
            self.rec.finding = judge::on_tls_port(self.rec.finding, layer);
            self.rec.pairing = None;
        }
        // First among what the stand-in says (a reply that failed follows).
        let tls = self.rec.finding == Finding::TlsHandshakeFailed;
        self.rec.service.events.insert(0, Said::Unexpected { tls });
    }

    /// Bytes of a complete header at the start of the buffer, else all.
    fn header_len_hint(&self) -> usize {
        match codec::decode(&self.io.buf) {
            Decoded::Complete(h) => h.len(),
            _ => self.io.buf.len(),
        }
    }

    /// A valid header (`facts`) is at the start of the buffer.
    async fn accept_header(&mut self, facts: HeaderFacts) {
        let len = facts.len;
        let local_cmd = facts.local;
        let source = facts.source;
        self.rec.header = Some(HeaderSeen::of_valid(&self.io.buf, facts));
        self.arrive(Arrived::Header {
            local: local_cmd,
            trusted: self.rec.trusted,
            stacked: false,
        });
        if !self.rec.trusted {
            let rejected = self.cfg.mode == Mode::Require;
            self.rec.events.push(Event::Untrusted {
                peer: self.io.peer.ip(),
                trust: self.cfg.trust.clone(),
                rejected,
            });
            if rejected {
                return;
            }
            return self.payload(len).await;
        }
        if local_cmd {
            self.rec.events.push(Event::Local);
        } else if let Some(src) = source {
            self.rec.client = src;
        }
        if self.cfg.trust.is_empty() {
            self.rec.events.push(Event::AnyPeer);
        }
        self.payload(len).await
    }

    fn deadline_idle(&self) -> Instant {
        Instant::now() + self.cfg.idle_timeout
    }

    /// After the header (`start` bytes of it): the first request. The whole
    /// request head has one deadline (`--request-timeout`, from now), so a
    /// client that trickles it byte by byte is closed on time; each read
    /// also waits no longer than `--idle-timeout`.
    async fn payload(&mut self, start: usize) {
        if self.cfg.tls.is_some()
            && !self.io.stream.is_tls()
            && !Box::pin(self.start_tls(start)).await
        {
            return;
        }
        let stage = StageDeadline::start(self.cfg.request_timeout, self.cfg.idle_timeout);
        let mut scanned = start;
        let mut parsed_once = false;
        loop {
            let rest = &self.io.buf[start..];
            // Parse when something new could change the answer: the first
            // bytes (to spot non-HTTP early), then only once the blank line
            // that ends the request head has arrived. O(n) on slow input.
            let ready = !rest.is_empty()
                && (!parsed_once
                    || ends_head(&self.io.buf[start..], scanned.saturating_sub(start)));
            scanned = self.io.buf.len();
            if ready {
                parsed_once = true;
                match self.parse_http(start) {
                    Head::Request { line, json, whole } => {
                        self.whoami(line, json).await;
                        // Under TLS the close_notify goes out with shutdown().
                        self.rec.service.drained = whole
                            && self.rec.service.reply != SentBack::None
                            && !self.io.stream.is_tls();
                        return;
                    }
                    Head::Partial => {}
                    Head::Other => return self.non_http(start).await,
                }
            }
            let (due, bound) = stage.next(Instant::now());
            match self.io.read(due).await {
                Read::Data => {}
                Read::Full => {
                    self.said(Said::HeadTooLarge {
                        cap: super::REQUEST_CAP,
                    });
                    return;
                }
                Read::Eof | Read::Failed(_) => {
                    if self.io.buf.len() > start && !parsed_once {
                        return self.non_http(start).await;
                    }
                    if self.io.buf.len() > start {
                        self.said(Said::ClosedInRequest);
                    }
                    return;
                }
                Read::Timeout => {
                    let got = self.io.buf.len() - start;
                    self.said(if bound == Bound::Stage {
                        Said::RequestTimedOut {
                            limit: self.cfg.request_timeout,
                            got,
                        }
                    } else {
                        Said::IdleInRequest {
                            limit: self.cfg.idle_timeout,
                            got,
                        }
                    });
                    return;
                }
                Read::Stopped => {
                    self.said(Said::StoppedInRequest);
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
        while self.io.buf.len() <= start {
            match self.io.read(stage.min(self.deadline_idle())).await {
                Read::Data => {}
                Read::Timeout => {
                    self.said(Said::NoClientHello);
                    return false;
                }
                _ => return false,
            }
        }
        let rest = &self.io.buf[start..];
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
            self.rec.service.request = Some(String::from_utf8_lossy(line).into_owned());
            let page = nginx::plain_http_to_https(SystemTime::now());
            self.rec.finding = judge::on_tls_port(self.rec.finding, judge::Layer::of_400(&page));
            self.rec.pairing = None;
            self.said(Said::PlainHttpOnTls);
            self.rec.service.log = Some(Log::PlainHttpToHttps);
            self.write(&page, SentBack::BadRequest).await;
            return false;
        }
        let prefix = self.io.buf.split_off(start);
        self.rec.bytes_in += prefix.len() as u64;
        let limit = self.cfg.request_timeout.min(self.cfg.idle_timeout);
        match self.io.stream.start_tls(&identity, prefix, limit).await {
            Ok(facts) => {
                self.rec.service.tls = Some(TlsSeen::Done(facts));
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
                self.said(Said::HandshakeFailed);
                self.rec.service.tls = Some(TlsSeen::Refused(refused));
                false
            }
        }
    }

    /// Parse the request head after `start`.
    fn parse_http(&self, start: usize) -> Head {
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut req = httparse::Request::new(&mut headers);
        match req.parse(&self.io.buf[start..]) {
            Ok(httparse::Status::Complete(head)) => {
                let path = req.path.unwrap_or("/");
                let method = req.method.unwrap_or("?");
                // `METHOD PATH HTTP/1.V`, sized once (no `fmt`: a request
                // line is read on every connection).
                let mut line = String::with_capacity(method.len() + path.len() + 10);
                line.push_str(method);
                line.push(' ');
                line.push_str(path);
                line.push_str(" HTTP/1.");
                crate::server::text::push_decimal(&mut line, u64::from(req.version.unwrap_or(1)));
                let json = whoami::wants_json(
                    path,
                    req.headers
                        .iter()
                        .find(|h| h.name.eq_ignore_ascii_case("accept"))
                        .map(|h| h.value),
                );
                Head::Request {
                    line,
                    json,
                    whole: start + head == self.io.buf.len(),
                }
            }
            Ok(httparse::Status::Partial) | Err(httparse::Error::TooManyHeaders) => Head::Partial,
            Err(_) => Head::Other,
        }
    }

    /// Answer an HTTP request with the whoami page.
    async fn whoami(&mut self, line: String, json: bool) {
        let accepted = self.rec.accepted();
        let proxied = accepted.filter(|h| !h.local);
        // Decoded again only for TLVs: the facts have their names alone.
        let tlvs = match (&self.rec.header, proxied) {
            (Some(h), Some(f)) if !f.tlvs.is_empty() => PageTlv::of(&h.decode()),
            _ => Vec::new(),
        };
        let page = Whoami {
            peer: self.io.peer,
            server: self.rec.local,
            claimed: proxied.and_then(|h| Some((h.source?, h.destination?))),
            proxy_protocol: accepted.map(|h| (h.number(), if h.local { "LOCAL" } else { "PROXY" })),
            tlvs,
            trust: self.cfg.trust.clone(),
            spoofable: self.rec.pairing == Some(Finding::Spoofable),
            note: whoami::note(&self.rec.events),
            request: line,
        };
        let (response, reply) = if json {
            let body = page.json();
            (
                whoami::response("application/json", |r| r.push_str(&body)),
                SentBack::WhoamiJson,
            )
        } else {
            (
                whoami::response("text/plain; charset=utf-8", |r| page.push_text(r)),
                SentBack::Whoami,
            )
        };
        self.rec.service.request = Some(page.request);
        // The page is the connection's last word: the close follows.
        let sent = self.io.send_last(&response, self.cfg.idle_timeout).await;
        self.replied(sent, reply);
    }

    /// Bytes that are not HTTP: echo them (`--echo`) or log and close.
    async fn non_http(&mut self, start: usize) {
        if !self.io.stream.is_tls() && tls::is_client_hello(&self.io.buf[start..]) {
            // TLS to a port that serves none (listen without --tls): nginx
            // reads the ClientHello as a request line and answers 400 in
            // clear, which tells the client's TLS stack what happened.
            self.rec.service.data = Some(Data::of(&self.io.buf[start..]));
            self.rec.finding = judge::hello_on_plain_port(self.rec.finding);
            self.rec.pairing = None;
            self.said(Said::HelloOnPlainPort);
            if !self.cfg.echo {
                self.rec.service.log = Some(Log::invalid_request(&self.io.buf[start..]));
                self.write(&nginx::bad_request(SystemTime::now()), SentBack::BadRequest)
                    .await;
                return;
            }
        }
        let rest = &self.io.buf[start..];
        if self.io.stream.is_tls()
            && matches!(
                codec::decode(rest),
                Decoded::Complete(_) | Decoded::Incomplete { .. }
            )
        {
            // A PROXY header inside TLS: the sender wraps TLS first.
            self.rec.service.data = Some(Data::of(rest));
            self.rec.finding = Finding::TlsBeforeProxy;
            self.rec.pairing = None;
            self.said(Said::HeaderInsideTls);
            return;
        }
        self.rec.service.data = Some(Data::of(rest));
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
            self.said(Said::NotHttp);
            return;
        }
        let first = self.io.buf[start..].to_vec();
        if !self.write(&first, SentBack::Echo).await {
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
                r = tokio::time::timeout_at(deadline.into(), self.io.stream.read(&mut chunk)) => match r {
                    Ok(Ok(n)) if n > 0 => n,
                    Ok(_) => return,
                    Err(_) => {
                        self.said(Said::EchoIdle {
                            limit: self.cfg.idle_timeout,
                        });
                        return;
                    }
                },
                _ = signalled(&mut self.io.stop) => return,
            };
            self.rec.bytes_in += n as u64;
            if let Err(why) = self.io.send(&chunk[..n], self.cfg.idle_timeout).await {
                self.said(Said::EchoFailed(why));
                return;
            }
        }
    }

    /// Send a reply, bounded by `--idle-timeout` (a peer that does not
    /// read cannot hold the connection) and by the stop signal; on failure
    /// say why in the record. True when sent.
    async fn write(&mut self, bytes: &[u8], reply: SentBack) -> bool {
        let sent = self.io.send(bytes, self.cfg.idle_timeout).await;
        self.replied(sent, reply)
    }

    /// Record how a reply's write went; true when it went out whole.
    fn replied(&mut self, sent: Result<(), WriteFailed>, reply: SentBack) -> bool {
        match sent {
            Ok(()) => {
                self.rec.service.reply = reply;
                true
            }
            Err(why) => {
                self.said(Said::ReplyFailed(why));
                false
            }
        }
    }

    /// What the stand-in says of the connection, in order.
    fn said(&mut self, event: Said) {
        self.rec.service.events.push(event);
    }
}

/// The request head, as far as it has arrived.
enum Head {
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
