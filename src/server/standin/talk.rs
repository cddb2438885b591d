//! The stand-in for a server that speaks first (`listen --protocol smtp`,
//! imap, pop3, mysql): the real server's order of things around the
//! header, and its words from `protocol::standin`.
//!
//! - `off` (plain Postfix smtpd, Dovecot without `haproxy`, MariaDB
//!   without `proxy_protocol_networks`): the greeting at once, then a
//!   header is a command the server refuses in its words (MariaDB: error
//!   1130 and a close).
//! - `require` (`smtpd_upstream_proxy_protocol = haproxy`, Dovecot's
//!   `haproxy = yes`): no word until a header; none within
//!   `--header-timeout`, or bytes that are not one: Postfix's `421`, or
//!   Dovecot's close without a word. MariaDB has no such mode.
//! - `auto`: MariaDB with `proxy_protocol_networks` greets first and takes
//!   a header before the login when one comes; the mail servers have no
//!   such mode, so their stand-in waits [`GREET_PAUSE`] for a header
//!   before it greets (a client without one is greeted a moment late).
//!
//! Every read waits at most `--idle-timeout` (the header, its own
//! deadline), and the buffer is capped, as for the HTTP stand-in.

use std::time::{Duration, Instant};

use ipnet::IpNet;

use crate::judge::{Arrived, Expects};
use crate::protocol::standin::{Answer, Hangup, Session, Who, KEPT_COMMANDS};
use crate::protocol::Protocol;
use crate::server::conn::{Conn as Io, Failure, Framed, Read, Stage, WriteFailed};
use crate::server::record::{self, Event};
use crate::server::{Accepted, Closing, HeaderSeen, IpProtocol, Served, Service};

use super::{Answered, ConnRecord, Mode, SentBack};

/// How long the `auto` mail stand-ins wait for a header before they greet
/// a client that sends none: shorter than the 1 s `probe` gives a server
/// to greet.
pub(crate) const GREET_PAUSE: Duration = Duration::from_millis(300);

/// Room for a command line or a login packet after the header.
const COMMAND_CAP: usize = 16 * 1024;

/// A stand-in for a server that speaks first, and its settings.
#[derive(Debug, Clone)]
pub(crate) struct Talk {
    pub protocol: Protocol,
    pub mode: Mode,
    pub max_header: usize,
    pub header_timeout: Duration,
    pub idle_timeout: Duration,
    /// Peers allowed to send a header (Dovecot's
    /// `haproxy_trusted_networks`, MariaDB's `proxy_protocol_networks`).
    pub trust: Vec<IpNet>,
}

/// What a protocol stand-in did, besides what every server records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Talked {
    pub protocol: Protocol,
    /// The greeting went out.
    pub greeted: bool,
    /// The first commands it read (lines without their line break, MySQL
    /// packets' payloads), at most [`KEPT_COMMANDS`].
    pub heard: Vec<Vec<u8>>,
    /// Everything it sent, at most [`record::KEPT`] bytes.
    pub said: Vec<u8>,
    pub end: TalkEnd,
}

/// How a protocol stand-in's session ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TalkEnd {
    /// It never began (the header stage ended the connection).
    NotBegun,
    /// The server hung up after its reply ([`Hangup`]).
    Hungup(Hangup),
    /// The client closed.
    ClientClosed,
    /// Nothing arrived for `--idle-timeout`.
    Idle(Duration),
    /// A command outgrew the room for it.
    TooLong(usize),
    /// The server stopped.
    Stopped,
    /// A reply could not be sent.
    ReplyFailed(WriteFailed),
}

impl Talk {
    fn trusts(&self, peer: std::net::IpAddr) -> bool {
        crate::server::trusts(&self.trust, peer)
    }

    fn expects(&self) -> Expects {
        self.mode.expects()
    }
}

struct Conn<'a> {
    io: Io,
    cfg: &'a Talk,
    rec: ConnRecord,
    session: Session,
    talked: Talked,
    /// Close with a reset (an RST): Dovecot dropping bytes that are not a
    /// header, MariaDB giving up on a silent client.
    reset: bool,
}

impl Service for Talk {
    type Facts = Answered;

    async fn serve(&self, c: Accepted) -> Served<Answered> {
        let started = Instant::now();
        let mut rec = crate::server::Record::new(
            c.id,
            IpProtocol::Tcp,
            c.peer,
            c.local,
            self.expects(),
            self.trust.is_empty(),
            Answered::new(self.mode),
        );
        rec.trusted = self.trusts(c.peer.ip());
        // Judged as this protocol's server: its fixes apply (Postfix's
        // for SMTP, Dovecot's for IMAP and POP3).
        rec.protocol = Some(self.protocol);
        let who = Who {
            client: c.peer.ip(),
            peer: c.peer.ip(),
            id: c.id,
        };
        let session = Session::new(self.protocol, who)
            .expect("listen and repro build a Talk only for a protocol with a stand-in");
        let cap = self.max_header.max(crate::codec::V1_MAX_LEN) + COMMAND_CAP;
        let mut conn = Conn {
            io: Io::new(c, cap),
            cfg: self,
            rec,
            session,
            talked: Talked {
                protocol: self.protocol,
                greeted: false,
                heard: Vec::new(),
                said: Vec::new(),
                end: TalkEnd::NotBegun,
            },
            reset: false,
        };
        conn.run().await;
        let Conn {
            io,
            mut rec,
            talked,
            reset,
            ..
        } = conn;
        rec.bytes_in += io.buf.len() as u64;
        rec.framing = io.framing;
        rec.bytes_out = talked.said.len() as u64;
        rec.duration = started.elapsed();
        rec.service.reply = if talked.greeted {
            SentBack::Greeting
        } else if talked.said.is_empty() {
            SentBack::None
        } else {
            SentBack::Error
        };
        rec.service.talk = Some(talked);
        if reset {
            if let Some(s) = io.stream.plain() {
                // Best effort: a close with linger 0 sends the RST.
                let _ = s.set_linger(Some(Duration::ZERO));
            }
        }
        let drained = io.buf.is_empty();
        Served {
            record: Box::new(rec),
            close: Some(Closing {
                stream: io.stream,
                shutdown: !drained && !reset,
            }),
        }
    }
}

impl Conn<'_> {
    async fn run(&mut self) {
        let mode = self.cfg.mode;
        let first = self.session.greets_before_header() || mode == Mode::Off;
        if first && !self.greet().await {
            return;
        }
        let mut deadline = Instant::now() + self.cfg.header_timeout;
        if !first && mode == Mode::Auto {
            // Greet a client without a header after a pause (the mail
            // servers have no optional mode; see the module's doc).
            let framed = self
                .io
                .frame(Instant::now() + GREET_PAUSE, self.cfg.max_header)
                .await;
            match framed {
                Framed::Failed(Failure::Ended(Read::Timeout)) if self.io.buf.is_empty() => {
                    self.rec.arrive(Arrived::NoHeader);
                    self.rec.events.push(Event::PeerIsClient);
                    if self.greet().await {
                        self.converse().await;
                    }
                    return;
                }
                Framed::Failed(Failure::Ended(Read::Timeout)) => {}
                other => return self.framed(other).await,
            }
        } else if mode == Mode::Off && !self.session.greets_before_header() {
            // A plain server waits for the first command, not a header.
            deadline = Instant::now() + self.cfg.idle_timeout;
        }
        let framed = self.io.frame(deadline, self.cfg.max_header).await;
        self.framed(framed).await
    }

    /// The header stage ended so.
    async fn framed(&mut self, framed: Framed) {
        let mode = self.cfg.mode;
        match framed {
            Framed::Header(facts) => {
                let (len, local, source) = (facts.len, facts.local, facts.source);
                self.rec.header = Some(HeaderSeen::of_valid(&self.io.buf, facts));
                let trusted = self.rec.trusted;
                self.rec.arrive(Arrived::Header {
                    local,
                    trusted,
                    stacked: false,
                });
                if mode == Mode::Off || (!trusted && self.session.header_refused().is_some()) {
                    return self.header_as_command().await;
                }
                if !trusted {
                    let rejected = mode == Mode::Require;
                    self.rec.events.push(Event::Untrusted {
                        peer: self.io.peer.ip(),
                        trust: self.cfg.trust.clone(),
                        rejected,
                    });
                    if rejected {
                        // Dovecot: `Client not trusted`, a close; Postfix
                        // has no such list: its 421.
                        if let Some(bytes) = self.session.no_header() {
                            self.say(&bytes).await;
                        }
                        return;
                    }
                    self.io.buf.drain(..len);
                    self.rec.bytes_in += len as u64;
                    return self.after_header().await;
                }
                if local {
                    self.rec.events.push(Event::Local);
                } else if let Some(src) = source {
                    self.rec.client = src;
                }
                if self.cfg.trust.is_empty() {
                    self.rec.events.push(Event::AnyPeer);
                }
                self.io.buf.drain(..len);
                self.rec.bytes_in += len as u64;
                let taken = self.session.header_taken(self.rec.client.ip());
                if !self.answered(taken).await {
                    return;
                }
                self.after_header().await
            }
            Framed::NotProxy => {
                self.rec.arrive(Arrived::NoHeader);
                if mode == Mode::Require {
                    self.rec.events.push(Event::NoHeader {
                        first: record::kept(&self.io.buf),
                    });
                    return self.refuse_no_header(true).await;
                }
                if mode == Mode::Auto {
                    self.rec.events.push(Event::PeerIsClient);
                }
                self.after_header().await
            }
            Framed::Failed(Failure::Invalid(_) | Failure::TooLarge(_)) if mode == Mode::Off => {
                self.rec.header = Some(HeaderSeen::new(&self.io.buf, false));
                self.rec.arrive(Arrived::Invalid);
                self.header_as_command().await
            }
            Framed::Failed(failure) => {
                // A plain mail server waits for a command as long as it
                // waits for any (see `run`).
                let plain_text = mode == Mode::Off && !self.session.greets_before_header();
                let stage = Stage {
                    limit: if plain_text {
                        self.cfg.idle_timeout
                    } else {
                        self.cfg.header_timeout
                    },
                    max_header: self.cfg.max_header,
                    awaited: mode.awaited(),
                };
                self.rec.header_failed(&failure, &self.io.buf, stage);
                match failure {
                    Failure::Ended(Read::Eof | Read::Failed(_) | Read::Stopped) => {}
                    Failure::Ended(Read::Timeout) if self.talked.greeted => {
                        // MariaDB gives up on a silent client with a reset.
                        self.reset = self.session.greets_before_header();
                    }
                    Failure::Ended(Read::Timeout) => self.refuse_no_header(false).await,
                    _ => self.refuse_no_header(true).await,
                }
            }
        }
    }

    /// A server that waits for a header got none: Postfix's `421`, or
    /// Dovecot's close (a reset when bytes are left unread: `unread`).
    async fn refuse_no_header(&mut self, unread: bool) {
        match self.session.no_header() {
            Some(bytes) => {
                self.say(&bytes).await;
            }
            None => self.reset = unread,
        }
    }

    /// A server without PROXY support reads the header as a command
    /// (Postfix's `500`, Dovecot's `BAD`), or refuses it outright
    /// (MariaDB's 1130).
    async fn header_as_command(&mut self) {
        if let Some(bytes) = self.session.header_refused() {
            let len = self.io.buf.len();
            self.talked
                .heard
                .push(record::kept(&self.io.buf[..len.min(120)]));
            self.say(&bytes).await;
            self.talked.end = TalkEnd::Hungup(Hangup::Refused);
            return;
        }
        self.converse().await
    }

    /// The header stage is over: greet if not yet, then the session.
    async fn after_header(&mut self) {
        if !self.talked.greeted && !self.greet().await {
            return;
        }
        self.converse().await
    }

    /// Send the greeting; false when it could not go out.
    async fn greet(&mut self) -> bool {
        let greeting = self.session.greeting();
        let sent = self.say(&greeting).await;
        self.talked.greeted = sent;
        sent
    }

    /// Send `bytes` and keep them; false (and the end said) on failure.
    async fn say(&mut self, bytes: &[u8]) -> bool {
        let room = record::KEPT.saturating_sub(self.talked.said.len());
        self.talked
            .said
            .extend_from_slice(&bytes[..bytes.len().min(room)]);
        match self.io.send(bytes, self.cfg.idle_timeout).await {
            Ok(()) => true,
            Err(why) => {
                self.talked.end = TalkEnd::ReplyFailed(why);
                false
            }
        }
    }

    /// Send what the session answered; false when the session is over.
    async fn answered(&mut self, answer: Answer) -> bool {
        for h in answer.heard {
            if self.talked.heard.len() < KEPT_COMMANDS {
                self.talked.heard.push(record::kept(&h));
            }
        }
        if !answer.bytes.is_empty() && !self.say(&answer.bytes).await {
            return false;
        }
        if let Some(why) = answer.close {
            self.talked.end = TalkEnd::Hungup(why);
            return false;
        }
        true
    }

    /// Answer commands until one side ends the session.
    async fn converse(&mut self) {
        loop {
            let answer = self.session.answer(&self.io.buf);
            let used = answer.used;
            let more = self.answered(answer).await;
            self.io.buf.drain(..used);
            self.rec.bytes_in += used as u64;
            if !more {
                return;
            }
            match self.io.read(Instant::now() + self.cfg.idle_timeout).await {
                Read::Data => {}
                Read::Eof | Read::Failed(_) => {
                    self.talked.end = TalkEnd::ClientClosed;
                    return;
                }
                Read::Timeout => {
                    self.talked.end = TalkEnd::Idle(self.cfg.idle_timeout);
                    return;
                }
                Read::Stopped => {
                    self.talked.end = TalkEnd::Stopped;
                    return;
                }
                Read::Full => {
                    self.talked.end = TalkEnd::TooLong(self.io.buf.len());
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    //! Every recorded exchange with Postfix's smtpd, Dovecot and MariaDB
    //! (tests/data/protocols), replayed against the stand-in set up as the
    //! recorded server was: the same bytes, the same silences, the same
    //! ends. The one difference allowed is the client's address where the
    //! stand-in names it (EHLO's `Hello NAME [IP]`, Dovecot's greeting).

    use std::net::SocketAddr;
    use std::sync::Arc;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;
    use tokio::sync::{mpsc, oneshot};

    use super::*;
    use crate::protocol::transcript::{self, End, Step, Transcript};
    use crate::server::{self, bind, Hub, Limits, Summary};

    /// The stand-in's setup for a recording, if it copies that server.
    fn setup(t: &Transcript) -> Option<(Mode, Vec<IpNet>)> {
        let net = |s: &str| vec![s.parse::<IpNet>().expect("a CIDR")];
        Some(match (t.server.as_str(), t.port.as_str()) {
            ("postfix", "SMTP_PORT") | ("dovecot", "IMAP_PORT" | "POP3_PORT") => {
                (Mode::Off, Vec::new())
            }
            ("postfix", "PP_PORT") | ("dovecot", "IMAP_PP_PORT" | "POP3_PP_PORT") => {
                (Mode::Require, Vec::new())
            }
            ("dovecot-untrusted", _) => (Mode::Require, net("10.0.0.0/8")),
            ("mariadb-plain", _) => (Mode::Off, Vec::new()),
            ("mariadb-proxy", _) => (Mode::Auto, net("127.0.0.0/8")),
            _ => return None,
        })
    }

    /// What the stand-in said, with the client's address where it names
    /// it taken out.
    fn unnamed(got: &[u8]) -> Vec<u8> {
        let client = regex::bytes::Regex::new(r"(?-u) Client [0-9a-f.:]+\.\r\n").expect("regex");
        let hello = regex::bytes::Regex::new(r"(?-u) Hello [!-~]+ \[[0-9a-f.:]+\]").expect("regex");
        let got = client.replace_all(got, &b"\r\n"[..]);
        hello.replace_all(&got, &b""[..]).into_owned()
    }

    async fn replay(t: Transcript, addr: SocketAddr) -> Result<(), String> {
        let name = t.file.display().to_string();
        let mut s = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
        let mut got = Vec::new();
        let mut seen = 0; // bytes of `got` matched so far (unnamed)
        let mut buf = [0u8; 4096];
        for step in &t.steps {
            match step {
                Step::Send(bytes) => s.write_all(bytes).await.map_err(|e| e.to_string())?,
                Step::Recv(pattern) => {
                    let re = pattern.prefix_regex();
                    loop {
                        let text = unnamed(&got);
                        if let Some(m) = re.find(&text[seen..]) {
                            seen += m.end();
                            break;
                        }
                        let read = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf));
                        match read.await {
                            Ok(Ok(n)) if n > 0 => got.extend_from_slice(&buf[..n]),
                            other => {
                                return Err(format!(
                                    "{name}: wanted {}, got {} then {other:?}",
                                    pattern.regex_source(),
                                    transcript::escape(&text[seen..])
                                ))
                            }
                        }
                    }
                }
                Step::Silence(secs) => {
                    let quiet = Duration::from_secs_f64(*secs);
                    if let Ok(r) = tokio::time::timeout(quiet, s.read(&mut buf)).await {
                        return Err(format!("{name}: not silent: {r:?}"));
                    }
                }
                Step::End(end) => {
                    let r = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf)).await;
                    let ok = match r {
                        Ok(Ok(0)) => *end != End::Reset,
                        Ok(Err(ref e)) => {
                            e.kind() == std::io::ErrorKind::ConnectionReset && *end != End::Closed
                        }
                        _ => false,
                    };
                    if !ok {
                        return Err(format!("{name}: wanted {end:?}, got {r:?}"));
                    }
                }
                Step::Log(_) => {}
            }
        }
        Ok(())
    }

    #[tokio::test]
    async fn the_stand_ins_answer_as_the_recorded_servers_did() {
        let mut runs = tokio::task::JoinSet::new();
        let mut stops = Vec::new();
        let mut count = 0;
        for t in transcript::all() {
            let Some((mode, trust)) = setup(&t) else {
                continue;
            };
            let protocol = Protocol::ALL
                .into_iter()
                .find(|p| p.name() == t.protocol)
                .expect("a known protocol");
            let talk = Talk {
                protocol,
                mode,
                max_header: server::MAX_HEADER,
                // The recorded servers waited 3 s for a header (Postfix's
                // timeouts set so; Dovecot's default).
                header_timeout: Duration::from_millis(2500),
                idle_timeout: Duration::from_secs(10),
                trust,
            };
            let listener = bind::bind_tcp(SocketAddr::from(([127, 0, 0, 1], 0))).expect("bind");
            let addr = listener.local_addr().expect("addr");
            let (stop, stop_rx) = oneshot::channel::<()>();
            let (tx, mut rx) = mpsc::channel(8);
            tokio::spawn(async move { while rx.recv().await.is_some() {} });
            tokio::spawn(server::run(
                vec![listener],
                Limits::default(),
                Arc::new(talk),
                Arc::new(Hub::new(Summary::new(false), tx)),
                async move {
                    let _ = stop_rx.await;
                },
                std::future::pending::<()>(),
                |_, _| {},
            ));
            stops.push(stop);
            count += 1;
            runs.spawn(replay(t, addr));
        }
        assert!(count >= 25, "only {count} recordings replayed");
        let mut failed = Vec::new();
        while let Some(r) = runs.join_next().await {
            if let Err(e) = r.expect("a replay task") {
                failed.push(e);
            }
        }
        for s in stops {
            let _ = s.send(());
        }
        assert!(failed.is_empty(), "{}", failed.join("\n"));
    }
}
