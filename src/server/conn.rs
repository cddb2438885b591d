//! One accepted connection's I/O, the same for every server: its stream,
//! the buffer the header stage reads into, bounded reads and writes, and
//! the one header-framing loop ([`Conn::frame`]: read until the codec
//! decides).
//!
//! Every read and write is bounded by a deadline and by the server's stop
//! signal, and the buffer by its cap, so a slow or hostile client only ever
//! costs its own task, for a bounded time.
//!
//! Reads go straight into the connection's buffer (a chunk on the stack
//! would be part of every connection's task, moved at each spawn), and are
//! tried on the socket before any wait: a client sends as soon as it is
//! connected, so its bytes are often in before the socket was ever polled,
//! and a connection served without waiting is never registered with the
//! runtime (docs/performance.md).

use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::watch;

use crate::codec::{self, Decoded};
use crate::judge::Arrived;

use super::lifecycle::{signalled, Accepted};
use super::record::{Awaited, Event, Fault, Framing, Record};
use super::stream::Stream;
use super::{HeaderFacts, HeaderSeen};

/// How one read ended.
#[derive(Debug)]
pub(crate) enum Read {
    Data,
    Eof,
    Timeout,
    Stopped,
    /// The buffer is at its cap.
    Full,
    Failed(io::Error),
}

/// How the header stage ended.
#[derive(Debug)]
pub(crate) enum Framed {
    /// A complete header: its facts (`len` bytes of the buffer), taken
    /// from the one decode that framed it.
    Header(HeaderFacts),
    /// The bytes are not a header.
    NotProxy,
    /// No header: [`Record::header_failed`] says why.
    Failed(Failure),
}

/// How a header stage failed.
#[derive(Debug)]
pub(crate) enum Failure {
    Invalid(codec::Error),
    /// A v2 header announcing this many bytes, more than the cap.
    TooLarge(usize),
    /// Ended before the codec decided: how.
    Ended(Read),
}

/// The header stage's bounds, for the record of how it failed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Stage {
    /// `--header-timeout`.
    pub limit: Duration,
    /// `--max-header`.
    pub max_header: usize,
    pub awaited: Awaited,
}

impl<T> Record<T> {
    /// The header stage failed (`buf`: what arrived): record what arrived,
    /// what the judge makes of it, and why.
    pub(crate) fn header_failed(&mut self, failure: &Failure, buf: &[u8], stage: Stage) {
        let got = buf.len();
        match failure {
            Failure::Invalid(e) => {
                self.header = Some(HeaderSeen::new(buf, false));
                self.arrive(Arrived::Invalid);
                self.events.push(Event::InvalidHeader(*e));
            }
            Failure::TooLarge(announced) => {
                self.header = Some(HeaderSeen::new(buf, false));
                self.arrive(Arrived::TooLarge);
                self.events.push(Event::TooLarge {
                    announced: *announced,
                    max: stage.max_header,
                });
            }
            Failure::Ended(how) => {
                if got > 0 {
                    self.header = Some(HeaderSeen::new(buf, true));
                }
                let awaited = stage.awaited;
                match how {
                    Read::Timeout => {
                        self.arrive(Arrived::TimedOut);
                        self.events.push(Event::HeaderTimedOut {
                            limit: stage.limit,
                            got,
                            awaited,
                        });
                    }
                    Read::Stopped => {
                        self.arrive(Arrived::Interrupted);
                        self.events.push(Event::StoppedInHeader { got, awaited });
                    }
                    Read::Eof | Read::Failed(_) | Read::Full | Read::Data => {
                        let fault = match how {
                            Read::Failed(e) => Some(Fault::of(e)),
                            _ => None,
                        };
                        // Bytes that stop half-way are a broken header (for
                        // a receiver without PROXY protocol, a header-shaped
                        // start it reads as a bad request line).
                        self.arrive(if got == 0 {
                            Arrived::Closed
                        } else {
                            Arrived::Invalid
                        });
                        self.events.push(Event::ClosedEarly { got, fault });
                    }
                }
            }
        }
    }
}

/// Why a write did not go out whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum WriteFailed {
    Io(Fault),
    /// The peer read nothing for the idle limit.
    Idle(Duration),
    /// The server stopped.
    Stopped,
}

/// An accepted connection: its stream and what was read of it.
pub(crate) struct Conn {
    pub stream: Stream,
    /// What arrived and has not been handed on.
    pub buf: Vec<u8>,
    cap: usize,
    pub stop: watch::Receiver<bool>,
    /// The client's socket address.
    pub peer: SocketAddr,
    /// When the connection was taken on.
    started: Instant,
    /// How the header stage went, once [`Conn::frame`] has run.
    pub framing: Option<Framing>,
}

impl Conn {
    /// `cap`: the most the buffer may hold.
    pub(crate) fn new(c: Accepted, cap: usize) -> Self {
        Conn {
            stream: Stream::Raw(c.stream),
            buf: Vec::with_capacity(1024),
            cap,
            stop: c.stop,
            peer: c.peer,
            started: Instant::now(),
            framing: None,
        }
    }

    /// The header stage: read until the codec decides, by `deadline`.
    /// `decode` is only called again once at least `needed` more bytes are
    /// in, so slow input costs O(header) work, and the v2 length is checked
    /// against `max_header` as soon as the 16-byte prefix is in.
    /// The stage's time and reads are kept in [`Conn::framing`].
    pub(crate) async fn frame(&mut self, deadline: Instant, max_header: usize) -> Framed {
        let mut framing = Framing::default();
        let framed = self.frame_into(deadline, max_header, &mut framing).await;
        framing.wait = self.started.elapsed();
        self.framing = Some(framing);
        framed
    }

    async fn frame_into(
        &mut self,
        deadline: Instant,
        max_header: usize,
        framing: &mut Framing,
    ) -> Framed {
        let mut want = 1;
        // The last read came back short of the room it was given.
        let mut short = false;
        loop {
            if self.buf.len() >= want {
                let decided = match codec::decode(&self.buf) {
                    Decoded::Complete(h) => Some(Framed::Header(HeaderFacts::of(&h))),
                    Decoded::NotProxy(_) => Some(Framed::NotProxy),
                    Decoded::Invalid(e) => Some(Framed::Failed(Failure::Invalid(e))),
                    Decoded::Incomplete { needed } => match codec::v2_total_len(&self.buf) {
                        Some(total) if total > max_header => {
                            Some(Framed::Failed(Failure::TooLarge(total)))
                        }
                        _ => {
                            want = self.buf.len() + needed.max(1);
                            None
                        }
                    },
                };
                if let Some(framed) = decided {
                    return framed;
                }
            }
            // Undecided after a read that took all the socket had: the
            // rest comes later.
            framing.split |= short;
            let before = self.buf.len();
            let asked = self.room();
            match self.read(deadline).await {
                Read::Data => {
                    framing.reads += 1;
                    short = self.buf.len() - before < asked;
                }
                other => return Framed::Failed(Failure::Ended(other)),
            }
        }
    }

    /// Read once into the buffer, bounded by `deadline`, the buffer cap and
    /// the stop signal.
    pub(crate) async fn read(&mut self, deadline: Instant) -> Read {
        let want = self.room();
        if want == 0 {
            return Read::Full;
        }
        let old = self.buf.len();
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

    /// How much the next read asks for: the room the buffer has, or 4 KiB
    /// more when little is left, within the cap.
    fn room(&self) -> usize {
        let room = self.cap.saturating_sub(self.buf.len());
        let spare = self.buf.capacity() - self.buf.len();
        room.min(if spare >= 512 { spare } else { 4096 })
    }

    /// One read into `buf[from..]`: the bytes read, or how it ended.
    async fn read_into(&mut self, from: usize, deadline: Instant) -> Result<usize, Read> {
        // Fast path: read now rather than after a trip through epoll. Not
        // under TLS: those bytes are records for the session.
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
            _ = signalled(&mut self.stop) => Err(Read::Stopped),
        }
    }

    /// Write all of `bytes`, each wait bounded by `idle` (a peer that does
    /// not read cannot hold the connection) and by the stop signal.
    pub(crate) async fn send(
        &mut self,
        mut bytes: &[u8],
        idle: Duration,
    ) -> Result<(), WriteFailed> {
        // Fast path: a fresh socket has room, but tokio only learns so from
        // epoll; write now (what does not fit goes the async way). Not
        // under TLS: those bytes must go through the session.
        if let Some(tcp) = self.stream.plain() {
            match io::Write::write(&mut &*tcp, bytes) {
                Ok(n) if n == bytes.len() => return Ok(()),
                Ok(n) => bytes = &bytes[n..],
                Err(e) if retry(&e) => {}
                Err(e) => return Err(WriteFailed::Io(Fault::of(&e))),
            }
        }
        let deadline = Instant::now() + idle;
        tokio::select! {
            r = tokio::time::timeout_at(deadline.into(), self.stream.write_all(bytes)) => match r {
                Ok(Ok(())) => Ok(()),
                Ok(Err(e)) => Err(WriteFailed::Io(Fault::of(&e))),
                Err(_) => Err(WriteFailed::Idle(idle)),
            },
            _ = signalled(&mut self.stop) => Err(WriteFailed::Stopped),
        }
    }

    /// Write the connection's last bytes: nothing else is read or written
    /// before its close (or shutdown), which follows as soon as its record
    /// is out, so they go by [`send_before_fin`] (7 packets per connection
    /// on loopback, not 9; docs/performance.md). What the socket does not
    /// take at once goes as [`Conn::send`] sends it, pushed out at once.
    pub(crate) async fn send_last(
        &mut self,
        bytes: &[u8],
        idle: Duration,
    ) -> Result<(), WriteFailed> {
        let mut rest = bytes;
        if let Some(tcp) = self.stream.plain() {
            match send_before_fin(tcp, bytes) {
                Ok(n) if n == bytes.len() => return Ok(()),
                Ok(n) => rest = &bytes[n..],
                Err(e) => return Err(WriteFailed::Io(Fault::of(&e))),
            }
        }
        self.send(rest, idle).await
    }
}

/// Send what the socket takes at once of the last bytes before a FIN,
/// with `MSG_MORE`: the kernel holds them for the FIN, which follows at
/// once and rides on the same segment, so the peer gets both in one
/// packet and wakes once (as from HAProxy). How many bytes it took (0 when
/// it would block); the caller writes the rest the usual way.
pub(crate) fn send_before_fin(socket: socket2::SockRef<'_>, bytes: &[u8]) -> io::Result<usize> {
    match socket.send_with_flags(bytes, libc::MSG_MORE | libc::MSG_NOSIGNAL) {
        Err(e) if retry(&e) => Ok(0),
        sent => sent,
    }
}

/// Nothing to read (or no room to write) yet, or interrupted: wait.
pub(crate) fn retry(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
    )
}
