//! One conversation in a protocol whose server may speak first (SMTP,
//! IMAP, POP3, MySQL, SSH) or answers a short opening (PostgreSQL, Redis):
//! connect, (wait for a banner if asked), the header (with the client's
//! opening when the client speaks first), the server's greeting, the
//! opening, its answer; with STARTTLS, the upgrade, the TLS handshake and
//! the opening again inside TLS; then the polite closing (QUIT, LOGOUT).
//!
//! What the bytes mean is the caller's: a [`Script`] says when the server
//! has greeted, what to send next and when an answer is whole (the send
//! and probe engines build it from `crate::protocol`). This file knows
//! sockets and deadlines: every wait has one, and the whole conversation
//! `Options::max_time`.

use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::time::timeout;

use super::tcp::{chunk, connect, keep, write_message, READ_CHUNK};
use super::tls::{shake_hands, Handshake, TlsOptions};
use super::{End, Message, NetError, Options, Transcript};

/// What the bytes of a conversation mean, turn by turn.
pub(crate) trait Script: Sync {
    /// Whether `said`, what the server sent so far (after the header, or
    /// before it with a banner wait), is all it says before the client's
    /// opening: its whole greeting, or an answer that means none is coming.
    fn greeted(&self, said: &[u8]) -> bool;
    /// What to send once the server has greeted, or stayed silent for the
    /// greeting's wait (`said` is what came); `None`: nothing (a server
    /// that did not greet, or refused).
    fn opening(&self, said: &[u8]) -> Option<Vec<u8>>;
    /// Whether `answer` (what came after the opening) is the whole answer
    /// to it; `said` is what came before it.
    fn answered(&self, said: &[u8], answer: &[u8]) -> bool;
    /// The answer to STARTTLS, once whole: `Some(true)` lets the
    /// handshake begin, `Some(false)` refuses it.
    fn upgrade(&self, answer: &[u8]) -> Option<bool>;
    /// What a polite client says before it hangs up, if anything.
    fn closing(&self) -> Option<Vec<u8>>;
    /// Whether the server, having greeted, refused what it read (the
    /// header line taken as a command: SMTP's `500`, IMAP's `BAD`, POP3's
    /// `-ERR`) and goes on listening: a polite close ends the session,
    /// where waiting for the server to end it would last the whole reply
    /// timeout.
    fn listening_after_refusal(&self, said: &[u8]) -> bool;
}

/// How to hold one conversation.
pub(crate) struct Conversation<'a> {
    /// The server speaks first: wait up to this long after the header for
    /// its greeting (a server that waits for a header greets only after
    /// it, or ends the connection after its own timeout: Postfix's 421).
    /// `None`: the client speaks first, and `Message::payload` (its
    /// opening) goes with the header.
    pub greeting_timeout: Option<Duration>,
    /// Upgrade to TLS after the opening's answer with this command.
    pub starttls: Option<(&'a [u8], &'a TlsOptions)>,
    pub script: &'a dyn Script,
}

/// What came of a conversation.
#[derive(Debug, Clone)]
pub(crate) struct Dialogue {
    /// `received`: every byte the server sent in clear after the header
    /// (the greeting, the answers); `banner`: what it sent before the
    /// header, with a banner wait; `end`: how the server ended it, or
    /// [`End::Done`] when the answer was whole and ppctl hung up.
    pub reply: Transcript,
    /// Where the answer to the opening starts in `reply.received`; `None`
    /// when no opening was sent after the greeting's wait.
    pub opened_at: Option<usize>,
    /// The greeting's wait ran out before the server said a word.
    pub silent: bool,
    /// STARTTLS and what came of it.
    pub upgrade: Option<Upgrade>,
}

/// The STARTTLS part of a conversation.
#[derive(Debug, Clone)]
pub(crate) struct Upgrade {
    /// Where the answer to STARTTLS starts in `reply.received`.
    pub at: usize,
    /// The server agreed (`None`: its answer did not come).
    pub agreed: Option<bool>,
    /// The handshake, when one was tried.
    pub handshake: Option<Handshake>,
    /// The answer to the opening sent again inside TLS.
    pub inside: Vec<u8>,
}

/// Hold the conversation with the first of `addrs` that answers; the
/// header and the client-first opening are built from the real socket
/// ends. Network trouble is part of the result; only `build`'s error is
/// returned.
pub(crate) async fn converse<E>(
    addrs: &[std::net::SocketAddr],
    opts: &Options,
    talk: &Conversation<'_>,
    build: impl FnOnce(std::net::SocketAddr, std::net::SocketAddr) -> Result<Message, E>,
) -> Result<Dialogue, E> {
    let start = Instant::now();
    let deadline = start + opts.max_time;
    let (mut stream, local, peer) = match connect(addrs, opts, deadline).await {
        Ok(c) => c,
        Err((end, error)) => {
            return Ok(Dialogue {
                reply: Transcript::not_connected(end, error, start.elapsed()),
                opened_at: None,
                silent: false,
                upgrade: None,
            })
        }
    };
    let message = build(local, peer)?;
    let mut d = Dialogue {
        reply: Transcript::connected(local, peer, start.elapsed()),
        opened_at: None,
        silent: false,
        upgrade: None,
    };
    let mut reader = Reader::new(opts, deadline, start);
    let ended = talk_plain(&mut stream, &message, opts, talk, &mut reader, &mut d).await;
    let ended = match ended {
        Talked::Ended(end) => end,
        Talked::Upgrade(tls) => {
            let mut handshake = Handshake::new(tls);
            let end = match shake_hands(stream, opts, tls, deadline, &mut handshake).await {
                Ok(mut secure) => {
                    let end = talk_inside(&mut secure, talk, &mut reader, &mut d).await;
                    if let Some(u) = d.upgrade.as_mut() {
                        u.handshake = Some(handshake);
                    }
                    d.reply.timings.total = start.elapsed();
                    d.reply.end = end;
                    d.reply.message = Some(message);
                    return Ok(d);
                }
                Err(failed) => {
                    // What came in clear instead of the server's handshake.
                    reader.take(&mut d.reply, &failed.clear);
                    if failed.error.is_some() {
                        d.reply.error = failed.error;
                    }
                    failed.end
                }
            };
            if let Some(u) = d.upgrade.as_mut() {
                u.handshake = Some(handshake);
            }
            end
        }
    };
    d.reply.end = match ended {
        End::EofWithoutData if d.reply.received_total > 0 => End::EofAfterData,
        end => end,
    };
    d.reply.message = Some(message);
    d.reply.timings.total = start.elapsed();
    Ok(d)
}

/// How the plain part ended: the connection's end, or on to TLS.
enum Talked<'a> {
    Ended(End),
    Upgrade(&'a TlsOptions),
}

/// The part in clear: banner wait, header, greeting, opening, answer,
/// STARTTLS and its answer; or the polite closing.
async fn talk_plain<'a, S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    message: &Message,
    opts: &Options,
    talk: &'a Conversation<'a>,
    reader: &mut Reader,
    d: &mut Dialogue,
) -> Talked<'a> {
    let script = talk.script;
    if let Some(wait) = opts.banner_timeout {
        // `--wait-banner`: only the first burst counts as the banner.
        let window = Instant::now() + wait;
        let (mut banner, mut total) = (Vec::new(), 0);
        let sink = Sink {
            kept: &mut banner,
            total: &mut total,
            error: &mut d.reply.error,
        };
        let (read, first) = reader.read(stream, sink, window, |b| !b.is_empty()).await;
        d.reply.timings.first_byte = first;
        d.reply.banner = banner;
        match read {
            Read::Done | Read::Ended(End::Timeout) => {}
            Read::Ended(end) => return Talked::Ended(end),
        }
    }
    // The header, and the client-first opening with it.
    let first = Message {
        header: message.header.clone(),
        payload: if talk.greeting_timeout.is_none() {
            message.payload.clone()
        } else {
            Vec::new()
        },
    };
    let written = write_message(stream, &first, opts, reader.deadline, &mut d.reply).await;
    d.reply.timings.sent = Some(reader.start.elapsed());
    if let Err(End::MaxTime) = written {
        return Talked::Ended(End::MaxTime);
    }
    if written.is_err() {
        // The server went away while the header went out: what it said
        // before that is still to be read.
        let deadline = reader.deadline;
        return match reader
            .read_reply(stream, &mut d.reply, deadline, |_| false)
            .await
        {
            Read::Done => Talked::Ended(End::Timeout),
            Read::Ended(end) => Talked::Ended(end),
        };
    }
    let said = |d: &Dialogue| [d.reply.banner.as_slice(), &d.reply.received].concat();
    let Some(greeting_timeout) = talk.greeting_timeout else {
        // Client first: the opening went with the header.
        d.opened_at = Some(0);
        return answer(stream, opts, talk, reader, d, Vec::new()).await;
    };
    if !script.greeted(&said(d)) {
        let window = Instant::now() + greeting_timeout;
        let banner = d.reply.banner.clone();
        let read = reader
            .read_reply(stream, &mut d.reply, window, |b| {
                script.greeted(&[banner.as_slice(), b].concat())
            })
            .await;
        match read {
            Read::Done => {}
            Read::Ended(End::Timeout) => d.silent = d.reply.received.is_empty(),
            Read::Ended(end) => return Talked::Ended(end),
        }
    }
    let Some(opening) = script.opening(&said(d)) else {
        if d.silent {
            // Silence for the whole wait: the server waits (for a header).
            return Talked::Ended(End::Timeout);
        }
        if script.listening_after_refusal(&said(d)) {
            return Talked::Ended(close(stream, script, reader.opts(), reader).await);
        }
        // Not greeted but answered (Postfix's 421, a refusal): the rest,
        // and how the server ends it.
        let window = Instant::now() + reader.opts.reply_timeout;
        return match reader
            .read_reply(stream, &mut d.reply, window, |_| false)
            .await
        {
            Read::Done => Talked::Ended(End::Timeout),
            Read::Ended(end) => Talked::Ended(end),
        };
    };
    d.opened_at = Some(d.reply.received.len());
    answer(stream, opts, talk, reader, d, opening).await
}

/// Send `opening` (empty: it went with the header), read its answer, then
/// STARTTLS or the closing.
async fn answer<'a, S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    opts: &Options,
    talk: &'a Conversation<'a>,
    reader: &mut Reader,
    d: &mut Dialogue,
    opening: Vec<u8>,
) -> Talked<'a> {
    let script = talk.script;
    if let Some(end) = send(stream, &opening, opts, reader, d).await {
        if end != End::Reset {
            return Talked::Ended(end);
        }
        // The server hung up while the opening went out: what it said
        // first (MariaDB's error 1130 to the header) may still wait unread
        // ahead of the reset.
        let deadline = reader.deadline;
        return match reader
            .read_reply(stream, &mut d.reply, deadline, |_| false)
            .await
        {
            Read::Ended(End::MaxTime) => Talked::Ended(End::MaxTime),
            _ => Talked::Ended(End::Reset),
        };
    }
    let at = d.opened_at.unwrap_or(0);
    let said = [d.reply.banner.as_slice(), &d.reply.received[..at]].concat();
    let deadline = reader.deadline;
    let read = reader
        .read_reply(stream, &mut d.reply, deadline, |b| {
            script.answered(&said, &b[at..])
        })
        .await;
    if let Read::Ended(end) = read {
        return Talked::Ended(end);
    }
    if let Some((command, tls)) = talk.starttls {
        let at = d.reply.received.len();
        d.upgrade = Some(Upgrade {
            at,
            agreed: None,
            handshake: None,
            inside: Vec::new(),
        });
        if let Some(end) = send(stream, command, opts, reader, d).await {
            return Talked::Ended(end);
        }
        let deadline = reader.deadline;
        let read = reader
            .read_reply(stream, &mut d.reply, deadline, |b| {
                script.upgrade(&b[at..]).is_some()
            })
            .await;
        if let Read::Ended(end) = read {
            return Talked::Ended(end);
        }
        let agreed = script.upgrade(&d.reply.received[at..]);
        if let Some(u) = d.upgrade.as_mut() {
            u.agreed = agreed;
        }
        if agreed == Some(true) {
            return Talked::Upgrade(tls);
        }
    }
    Talked::Ended(close(stream, script, opts, reader).await)
}

/// Inside TLS: the opening again, its answer, the closing.
async fn talk_inside<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    talk: &Conversation<'_>,
    reader: &mut Reader,
    d: &mut Dialogue,
) -> End {
    let script = talk.script;
    let at = d.opened_at.unwrap_or(0);
    let said = [d.reply.banner.as_slice(), &d.reply.received[..at]].concat();
    let Some(opening) = script.opening(&said) else {
        return close(stream, script, reader.opts(), reader).await;
    };
    let written = async {
        stream.write_all(&opening).await?;
        stream.flush().await
    };
    match timeout(reader.left(), written).await {
        Ok(Ok(())) => d.reply.sent += opening.len(),
        Ok(Err(e)) => {
            d.reply.write_error = Some(NetError::io(&e));
            return End::Reset;
        }
        Err(_) => return End::MaxTime,
    }
    let (mut inside, mut total) = (Vec::new(), 0);
    let sink = Sink {
        kept: &mut inside,
        total: &mut total,
        error: &mut d.reply.error,
    };
    let deadline = reader.deadline;
    let (read, _) = reader
        .read(stream, sink, deadline, |b| script.answered(&said, b))
        .await;
    if let Some(u) = d.upgrade.as_mut() {
        u.inside = inside;
    }
    match read {
        Read::Done => close(stream, script, reader.opts(), reader).await,
        Read::Ended(end) => end,
    }
}

/// Write `bytes` (nothing when empty), within the reply timeout and the
/// deadline; `Some(end)` when the connection ended there.
async fn send<S: AsyncWrite + Unpin>(
    stream: &mut S,
    bytes: &[u8],
    opts: &Options,
    reader: &Reader,
    d: &mut Dialogue,
) -> Option<End> {
    if bytes.is_empty() {
        return None;
    }
    let wait = opts.reply_timeout.min(reader.left());
    match timeout(wait, stream.write_all(bytes)).await {
        Ok(Ok(())) => {
            d.reply.sent += bytes.len();
            d.reply.timings.sent = Some(reader.start.elapsed());
            None
        }
        Ok(Err(e)) => {
            d.reply.write_error = Some(NetError::io(&e));
            Some(End::Reset)
        }
        Err(_) if reader.left().is_zero() => Some(End::MaxTime),
        Err(_) => {
            d.reply.write_error = Some(NetError::PeerStoppedReading);
            Some(End::Timeout)
        }
    }
}

/// Say goodbye as the protocol does, and wait (briefly) for the server to
/// close: ppctl ended the conversation.
async fn close<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    script: &dyn Script,
    opts: &Options,
    reader: &Reader,
) -> End {
    if let Some(bye) = script.closing() {
        let wait = opts.reply_timeout.min(reader.left());
        let said = async {
            stream.write_all(&bye).await?;
            stream.flush().await?;
            // Its answer (221, BYE) is not judged; wait for the close so
            // the server logs a clean end, not a lost connection.
            let mut sink = [0u8; 512];
            while stream.read(&mut sink).await? > 0 {}
            Ok::<_, std::io::Error>(())
        };
        let _ = timeout(wait, said).await;
    }
    End::Done
}

/// The outcome of one read loop.
enum Read {
    /// The predicate held.
    Done,
    /// The connection ended, the wait ran out, or the size bound.
    Ended(End),
}

/// Where a read loop puts what it reads: the bytes kept (at most the size
/// bound) and the count of all of them.
struct Sink<'a> {
    kept: &'a mut Vec<u8>,
    total: &'a mut usize,
    error: &'a mut Option<NetError>,
}

/// The reading side of a conversation: its deadline, its bounds, its
/// buffer.
struct Reader {
    opts: Options,
    deadline: Instant,
    start: Instant,
    buf: Vec<u8>,
}

impl Reader {
    fn new(opts: &Options, deadline: Instant, start: Instant) -> Reader {
        Reader {
            opts: opts.clone(),
            deadline,
            start,
            buf: vec![0u8; READ_CHUNK],
        }
    }

    fn opts(&self) -> &Options {
        &self.opts
    }

    /// Time left before the conversation's deadline.
    fn left(&self) -> Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }

    /// Count and keep `bytes` as received (what came in clear instead of a
    /// handshake).
    fn take(&self, reply: &mut Transcript, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        reply.timings.first_byte.get_or_insert(self.start.elapsed());
        reply.received_total += bytes.len();
        keep(&mut reply.received, bytes, self.opts.max_reply);
    }

    /// Read what follows into `reply.received` until `done(received)`.
    async fn read_reply<S: AsyncRead + Unpin>(
        &mut self,
        stream: &mut S,
        reply: &mut Transcript,
        window: Instant,
        done: impl Fn(&[u8]) -> bool,
    ) -> Read {
        let mut kept = std::mem::take(&mut reply.received);
        let had = kept.is_empty();
        let (read, first) = self
            .read(
                stream,
                Sink {
                    kept: &mut kept,
                    total: &mut reply.received_total,
                    error: &mut reply.error,
                },
                window,
                done,
            )
            .await;
        reply.received = kept;
        if had {
            if let Some(at) = first {
                reply.timings.first_byte.get_or_insert(at);
            }
        }
        read
    }

    /// Read into `sink` until `done(kept)` holds, the peer ends the
    /// connection, a silence of the reply timeout, `window` (a wait of its
    /// own, such as the greeting's) or the deadline; and when the first
    /// byte of this loop came.
    async fn read<S: AsyncRead + Unpin>(
        &mut self,
        stream: &mut S,
        sink: Sink<'_>,
        window: Instant,
        done: impl Fn(&[u8]) -> bool,
    ) -> (Read, Option<Duration>) {
        let mut first = None;
        loop {
            if done(sink.kept) {
                return (Read::Done, first);
            }
            if *sink.total >= self.opts.max_reply {
                return (Read::Ended(End::SizeLimit), first);
            }
            let now = Instant::now();
            let to_deadline = self.deadline.saturating_duration_since(now);
            // A wait of its own (the greeting's) bounds the silence too.
            let silence = if window < self.deadline {
                window.saturating_duration_since(now)
            } else {
                self.opts.reply_timeout
            };
            let (wait, cut) = if silence < to_deadline {
                (silence, End::Timeout)
            } else {
                (to_deadline, End::MaxTime)
            };
            let read = match timeout(wait, stream.read(&mut self.buf)).await {
                Err(_) => return (Read::Ended(cut), first),
                Ok(r) => r,
            };
            match chunk(read, sink.error) {
                Err(end) => return (Read::Ended(end), first),
                Ok(n) => {
                    first.get_or_insert(self.start.elapsed());
                    *sink.total += n;
                    keep(sink.kept, &self.buf[..n], self.opts.max_reply);
                }
            }
        }
    }
}
