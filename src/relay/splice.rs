//! A direction in bulk, moved by splice(2) (Linux): socket -> pipe ->
//! socket, the bytes never copied to user space and back. The copy loop
//! ([`super::conn`]) reads each byte into a buffer and writes it out again,
//! two copies per byte and a read/write pair per 128 KiB; through a pipe of
//! 1 MiB the kernel moves the pages, and a pair of calls moves what the
//! sockets hold. A direction comes here only once a read has filled the
//! copy's largest buffer (a bulk transfer): a short connection never makes
//! a pipe (docs/performance.md, relay's eighth pass).
//!
//! Each call is non-blocking and driven by tokio's readiness of the two
//! sockets: no busy loop, no blocking call, and the sweeper's deadlines and
//! the stop flag cut it as they cut the copy.

use std::io;
use std::os::fd::OwnedFd;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::Poll;

use rustix::pipe::{self as sys, PipeFlags, SpliceFlags};
use tokio::io::Interest;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;

use super::record::Done;
use crate::server::conn::retry;

/// The pipe's capacity asked for: fewer calls per MiB than the default
/// 64 KiB. Unprivileged, Linux grants up to `/proc/sys/fs/pipe-max-size`
/// (1 MiB by default) while the user's pipes stay under
/// `/proc/sys/fs/pipe-user-pages-soft`.
const SIZE: usize = 1024 * 1024;

/// Smaller than this (a user past the soft limit gets pipes of two pages),
/// the copy does better: it moves 128 KiB per read.
const SMALLEST: usize = 64 * 1024;

/// The same for both ends: move the pages, not copies, and never wait in
/// the kernel (the sockets are non-blocking already; the pipe is too).
const FLAGS: SpliceFlags = SpliceFlags::MOVE.union(SpliceFlags::NONBLOCK);

/// Pipes that may be open at once: each is two descriptors, taken from
/// those the connections do not need (`--max-conns` of two each was fitted
/// under `ulimit -n`), so a pipe never takes a connection's descriptor.
/// When `--max-conns` was lowered to fit, none: the copy goes on.
static PIPES_LEFT: AtomicUsize = AtomicUsize::new(0);

/// Allow as many pipes as the descriptors left beside what `max_conns`
/// connections and the threads past the first (`threads_hold`) will hold
/// (called once the listeners are open, before those threads start).
pub(super) fn allow_pipes(max_conns: usize, threads_hold: u64) {
    let held = (max_conns as u64)
        .saturating_mul(2)
        .saturating_add(threads_hold);
    let pipes = crate::net::spare_descriptors(held) / 2;
    PIPES_LEFT.store(
        usize::try_from(pipes).unwrap_or(usize::MAX),
        Ordering::Relaxed,
    );
}

/// One of [`PIPES_LEFT`], given back when dropped.
struct Permit;

impl Permit {
    fn take() -> Option<Permit> {
        PIPES_LEFT
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
            .ok()
            .map(|_| Permit)
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        PIPES_LEFT.fetch_add(1, Ordering::Relaxed);
    }
}

/// A pipe between the two sockets of one direction.
pub(super) struct Pipe {
    read: OwnedFd,
    write: OwnedFd,
    /// Its capacity in bytes.
    size: usize,
    _permit: Permit,
}

impl Pipe {
    /// A non-blocking pipe of [`SIZE`] bytes, or of what Linux grants if
    /// that is at least [`SMALLEST`]; an error when none can be had (the
    /// descriptors are out, or the user's pipes are past their limit): the
    /// direction stays with the copy. None either past [`PIPES_LEFT`].
    pub(super) fn new() -> io::Result<Pipe> {
        let permit =
            Permit::take().ok_or_else(|| io::Error::other("no descriptors to spare for a pipe"))?;
        let (read, write) = sys::pipe_with(PipeFlags::NONBLOCK | PipeFlags::CLOEXEC)?;
        let size = match sys::fcntl_setpipe_size(&write, SIZE) {
            Ok(size) => size,
            Err(_) => sys::fcntl_getpipe_size(&write)?,
        };
        if size < SMALLEST {
            return Err(io::Error::other("pipe too small to splice through"));
        }
        Ok(Pipe {
            read,
            write,
            size,
            _permit: permit,
        })
    }

    /// Move what `from` holds into the pipe, which holds `held` bytes
    /// already: `Ok(Some(0))` at EOF, `Ok(None)` when the pipe is full.
    /// splice(2) says EAGAIN both for a socket with nothing to read and for
    /// a pipe with no room; only the first may clear the socket's readiness
    /// (an error of kind WouldBlock in `try_io`), or the bytes waiting in it
    /// would wait for a wake-up that never comes. So EAGAIN with bytes in
    /// the pipe is taken for a full pipe: the pipe is emptied first, and the
    /// next fill, into an empty pipe, tells.
    fn fill(&self, from: &TcpStream, held: usize) -> io::Result<Option<usize>> {
        let room = self.size.saturating_sub(held);
        if room == 0 {
            return Ok(None);
        }
        match sys::splice(from, None, &self.write, None, room, FLAGS) {
            Ok(n) => Ok(Some(n)),
            Err(rustix::io::Errno::AGAIN) if held > 0 => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Move up to `held` bytes from the pipe to `to`.
    fn drain(&self, to: &TcpStream, held: usize) -> io::Result<usize> {
        Ok(sys::splice(&self.read, None, to, None, held, FLAGS)?)
    }
}

/// Move the rest of `from` to `to` through `pipe`, calling `took` with each
/// count read (the record's count and the idle clock, as a read of the copy
/// would). At `from`'s EOF the pipe is emptied first, then this says
/// [`Done::Eof`] (the caller sends the FIN). A read that fails (a reset)
/// says so once the bytes read before it are out, as the copy, which writes
/// each read before the next, does; a write that fails ends it at once (the
/// bytes still in the pipe are the ones `to` did not take).
pub(super) async fn pump(
    pipe: &Pipe,
    from: &OwnedReadHalf,
    to: &OwnedWriteHalf,
    mut took: impl FnMut(usize),
) -> Done {
    let (source, sink) = (from.as_ref(), to.as_ref());
    // Bytes in the pipe.
    let mut held = 0;
    // How reading ended: `Eof` or `ReadFailed`.
    let mut read_end = None;
    loop {
        let mut moved = false;
        let mut full = false;
        if read_end.is_none() {
            match source.try_io(Interest::READABLE, || pipe.fill(source, held)) {
                Ok(Some(0)) => read_end = Some(Done::Eof),
                Ok(Some(n)) => {
                    held += n;
                    took(n);
                    moved = true;
                }
                Ok(None) => full = true,
                Err(e) if retry(&e) => {}
                Err(_) => read_end = Some(Done::ReadFailed),
            }
        }
        if held > 0 {
            match sink.try_io(Interest::WRITABLE, || pipe.drain(sink, held)) {
                Ok(n) => {
                    held -= n;
                    moved = true;
                }
                Err(e) if retry(&e) => {}
                Err(_) => return Done::WriteFailed,
            }
        }
        if held == 0 {
            if let Some(end) = read_end {
                return end;
            }
        }
        if moved {
            // Give the other direction, the deadlines and the other tasks
            // on this thread their turn now and then: the calls above never
            // wait, and a steady stream would keep them from it.
            tokio::task::coop::consume_budget().await;
            continue;
        }
        // Nothing moved: wait for the side that can move next; not for the
        // source while the pipe is full (it is readable still, and would
        // wake this at once). When nothing is to be read, bytes are held:
        // one of the two is always waited for. (By `poll_*_ready`, not
        // `ready()`: the copy loop's wait stays the only caller of that.)
        let read = read_end.is_none() && !full;
        let write = held > 0;
        let woke = std::future::poll_fn(|cx| {
            if write {
                if let Poll::Ready(r) = sink.poll_write_ready(cx) {
                    return Poll::Ready(r.map_err(|_| Done::WriteFailed));
                }
            }
            if read {
                if let Poll::Ready(r) = source.poll_read_ready(cx) {
                    return Poll::Ready(r.map_err(|_| Done::ReadFailed));
                }
            }
            Poll::Pending
        });
        match woke.await {
            Ok(()) => {}
            Err(Done::ReadFailed) => read_end = Some(Done::ReadFailed),
            Err(failed) => return failed,
        }
    }
}
