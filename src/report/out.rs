//! The one sink for results on stdout.
//!
//! Every command writes its results through [`Out`] (directly, or through
//! `cmd::print` for a single block). A write that fails (the reader closed
//! the pipe, the disk is full) is never taken for success: it becomes
//! [`Error::Output`], which says why and how many lines were lost, and the
//! run ends with exit 2. After the first failure nothing more is written,
//! but every later line is still counted, so a streaming command can keep
//! draining its producers and report the true number at the end.

use std::io::{self, BufWriter, Write};
use std::os::fd::AsRawFd;

use crate::error::{Error, Result};

/// A line-oriented writer to stdout (or any `Write`, for tests).
pub(crate) struct Out<W: Write = io::Stdout> {
    w: BufWriter<W>,
    /// The first failure and the lines not written since (those the
    /// failed write left in the buffer, a line cut short among them, and
    /// every line offered after it).
    failed: Option<(io::Error, u64)>,
    /// Lines never offered: a server's lines dropped while its writer fell
    /// behind (nobody read stdout). Writing goes on; the run still fails.
    skipped: u64,
}

impl Out<io::Stdout> {
    /// The process's stdout.
    pub(crate) fn stdout() -> Self {
        Out::new(io::stdout())
    }
}

impl<F: Fn() -> bool> Out<Patient<F>> {
    /// The process's stdout for a server: a write waits for the reader
    /// only until `give_up` says so (a second signal), then fails.
    pub(crate) fn patient(give_up: F) -> Self {
        Out::new(Patient::new(give_up))
    }
}

impl<W: Write> Out<W> {
    pub(crate) fn new(w: W) -> Self {
        Out {
            w: BufWriter::with_capacity(64 * 1024, w),
            failed: None,
            skipped: 0,
        }
    }

    /// Count `lines` that were never offered (dropped before they reached
    /// this writer): the run ends with exit 2 and says how many.
    pub(crate) fn skipped(&mut self, lines: u64) {
        self.skipped += lines;
    }

    /// Write `text` (one or more lines) and flush it now.
    pub(crate) fn line(&mut self, text: &str) -> Result<()> {
        self.queue(text)?;
        self.flush()
    }

    /// Buffer `text` (one or more lines); [`Out::flush`] sends the batch.
    /// Use it while more output is known to follow right away.
    pub(crate) fn queue(&mut self, text: &str) -> Result<()> {
        // Lines are counted only when they are lost: a server queues one
        // or more per connection, and counting every byte of them cost
        // more than the copy (docs/performance.md).
        if let Some((_, unwritten)) = &mut self.failed {
            *unwritten += count_lines(text.as_bytes());
            return Err(self.error());
        }
        match self.w.write_all(text.as_bytes()) {
            Ok(()) => Ok(()),
            // `text` was not taken: the buffer's flush to make room failed
            // (what it holds is what is left), or `text` was written past
            // an empty buffer and how much of it went is not known.
            Err(e) => Err(self.fail(e, count_lines(text.as_bytes()))),
        }
    }

    /// Send everything queued.
    pub(crate) fn flush(&mut self) -> Result<()> {
        if self.failed.is_some() {
            return Err(self.error());
        }
        match self.w.flush() {
            Ok(()) => Ok(()),
            Err(e) => Err(self.fail(e, 0)),
        }
    }

    /// True once a write has failed (nothing more is written).
    pub(crate) fn failed(&self) -> bool {
        self.failed.is_some()
    }

    /// Flush and give the outcome of the whole run: the first failure, with
    /// every line that was not written (skipped ones too).
    pub(crate) fn finish(mut self) -> Result<()> {
        match self.flush() {
            Err(Error::Output { source, unwritten }) => Err(Error::Output {
                source,
                unwritten: unwritten + self.skipped,
            }),
            Ok(()) if self.skipped > 0 => Err(Error::Output {
                source: io::Error::other(
                    "nobody read the lines as fast as connections came, so the server went on serving and dropped them",
                ),
                unwritten: self.skipped,
            }),
            other => other,
        }
    }

    /// The first failure: the lines not written are those still in the
    /// buffer (a failed write keeps there what did not go, so a line cut
    /// short counts and the lines before it, which went out whole, don't),
    /// and `more` that never reached it.
    fn fail(&mut self, e: io::Error, more: u64) -> Error {
        let held = count_lines(self.w.buffer());
        self.failed = Some((e, held + more));
        self.error()
    }

    fn error(&self) -> Error {
        match &self.failed {
            Some((e, unwritten)) => Error::Output {
                source: same(e),
                unwritten: *unwritten,
            },
            None => Error::Output {
                source: io::Error::other("no error"),
                unwritten: 0,
            },
        }
    }
}

/// Lines in `text` as [`Out`] counts them.
pub(crate) fn lines_in(text: &str) -> u64 {
    count_lines(text.as_bytes())
}

/// Stdout for a server's writer thread. A plain `write(2)` to a pipe
/// nobody reads blocks for ever, and no signal would end the run; this
/// one waits for room with `poll(2)` and looks at `give_up` between
/// waits. To a pipe it writes at most `PIPE_BUF` bytes at a time, which a
/// pipe with room takes without blocking.
pub(crate) struct Patient<F> {
    give_up: F,
    fifo: bool,
}

/// How long one wait for room lasts before `give_up` is asked again.
const PATIENCE_MS: i32 = 100;

impl<F: Fn() -> bool> Patient<F> {
    fn new(give_up: F) -> Self {
        let fifo = std::fs::metadata("/dev/stdout")
            .map(|m| std::os::unix::fs::FileTypeExt::is_fifo(&m.file_type()))
            .unwrap_or(false);
        Patient { give_up, fifo }
    }
}

impl<F: Fn() -> bool> Write for Patient<F> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let fd = io::stdout().as_raw_fd();
        loop {
            let mut want = libc::pollfd {
                fd,
                events: libc::POLLOUT,
                revents: 0,
            };
            // SAFETY: one pollfd we own, for the duration of the call.
            let ready = unsafe { libc::poll(&mut want, 1, PATIENCE_MS) };
            if ready < 0 {
                let e = io::Error::last_os_error();
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(e);
            }
            if ready == 0 {
                if (self.give_up)() {
                    return Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "nobody read it, and a second signal ended the wait",
                    ));
                }
                continue;
            }
            let len = if self.fifo {
                buf.len().min(libc::PIPE_BUF)
            } else {
                buf.len()
            };
            // SAFETY: `len` bytes of `buf` are readable for the call.
            let n = unsafe { libc::write(fd, buf.as_ptr().cast(), len) };
            if n < 0 {
                let e = io::Error::last_os_error();
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(e);
            }
            return Ok(n as usize);
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A copy of an I/O error (they are not `Clone`).
fn same(e: &io::Error) -> io::Error {
    match e.raw_os_error() {
        Some(code) => io::Error::from_raw_os_error(code),
        None => io::Error::new(e.kind(), e.to_string()),
    }
}

/// Lines in `text`: its newlines, plus an unterminated last line.
fn count_lines(text: &[u8]) -> u64 {
    let newlines = memchr::memchr_iter(b'\n', text).count() as u64;
    newlines + u64::from(text.last().is_some_and(|&b| b != b'\n'))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Accepts `room` bytes, then fails like a closed pipe or a full disk.
    struct Closing {
        room: usize,
        got: Vec<u8>,
        error: fn() -> io::Error,
    }

    impl Write for Closing {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if self.room == 0 {
                return Err((self.error)());
            }
            let n = buf.len().min(self.room);
            self.room -= n;
            self.got.extend_from_slice(&buf[..n]);
            Ok(n)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn closing(room: usize, error: fn() -> io::Error) -> Out<Closing> {
        Out::new(Closing {
            room,
            got: Vec::new(),
            error,
        })
    }

    fn unwritten(e: Error) -> (io::ErrorKind, u64) {
        match e {
            Error::Output { source, unwritten } => (source.kind(), unwritten),
            other => panic!("not an output error: {other}"),
        }
    }

    #[test]
    fn every_line_after_a_closed_pipe_is_an_error_and_is_counted() {
        let mut out = closing(6, || io::Error::from(io::ErrorKind::BrokenPipe));
        assert!(out.line("first\n").is_ok());
        let e = out.line("second\n").expect_err("the reader is gone");
        assert_eq!(unwritten(e), (io::ErrorKind::BrokenPipe, 1));
        for _ in 0..4 {
            assert!(
                out.line("more\n").is_err(),
                "every line, not just the first"
            );
        }
        assert!(out.queue("two\nlines\n").is_err());
        assert!(out.failed());
        let e = out.finish().expect_err("the run is not a success");
        assert_eq!(unwritten(e), (io::ErrorKind::BrokenPipe, 7));
    }

    #[test]
    fn a_full_disk_loses_the_lines_it_did_not_take_whole() {
        let mut out = closing(3, || io::Error::from_raw_os_error(28));
        out.queue("a\n").expect("buffered");
        out.queue("b\nc\n").expect("buffered");
        // `a` went out whole, `b` cut short: `b` and `c` were not written.
        let e = out.flush().expect_err("ENOSPC");
        let (kind, n) = unwritten(e);
        assert_eq!(kind, io::ErrorKind::StorageFull);
        assert_eq!(n, 2);
        assert_eq!(out.w.get_ref().got, b"a\nb");
        assert!(out
            .finish()
            .expect_err("still failed")
            .to_string()
            .contains("No space left on device (the disk is full); 2 lines were not written"));
    }

    #[test]
    fn a_failed_flush_to_make_room_counts_the_buffer_and_the_line() {
        // Room for the first two lines of three queued; the fourth, too
        // long for the buffer's room, makes it flush, which fails.
        let mut out = closing(4, || io::Error::from(io::ErrorKind::BrokenPipe));
        for line in ["a\n", "b\n", "c\n"] {
            out.queue(line).expect("buffered");
        }
        let long = format!("{}\n", "d".repeat(64 * 1024));
        let e = out.queue(&long).expect_err("the reader is gone");
        assert_eq!(unwritten(e), (io::ErrorKind::BrokenPipe, 2));
    }

    #[test]
    fn skipped_lines_fail_the_run_but_writing_goes_on() {
        let mut out = closing(1000, || io::Error::from(io::ErrorKind::BrokenPipe));
        out.skipped(3);
        assert!(out.line("the summary\n").is_ok(), "still written");
        let e = out.finish().expect_err("lines were dropped");
        assert!(e.to_string().ends_with("; 3 lines were not written"), "{e}");
        // A write failure on top: both counts.
        let mut out = closing(0, || io::Error::from(io::ErrorKind::BrokenPipe));
        out.skipped(3);
        let _ = out.line("a\n");
        assert_eq!(
            unwritten(out.finish().expect_err("failed")),
            (io::ErrorKind::BrokenPipe, 4)
        );
    }

    #[test]
    fn lines_are_counted_as_shown() {
        assert_eq!(count_lines(b""), 0);
        assert_eq!(count_lines(b"a"), 1);
        assert_eq!(count_lines(b"a\n"), 1);
        assert_eq!(count_lines(b"a\nb"), 2);
        assert_eq!(count_lines(b"a\n\nb\n"), 3);
    }

    #[test]
    fn a_working_sink_writes_everything() {
        let mut out = Out::new(Vec::new());
        out.line("x\n").expect("write");
        out.queue("y\n").expect("write");
        out.flush().expect("flush");
        assert!(!out.failed());
        assert_eq!(out.w.get_ref().as_slice(), b"x\ny\n");
    }
}
