//! One TCP exchange: connect, (banner), header, payload, reply.

use std::borrow::Cow;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::time::{sleep, timeout};

use super::{End, NetError, Transcript};

/// The whole exchange's bound when none is given (`--max-time`): connect,
/// banner, writes and reply together, however the peer trickles.
pub const MAX_TIME: Duration = Duration::from_secs(10);

/// The bytes to send on one connection.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Message {
    /// The header (or headers, or any raw bytes); `Split` applies to it.
    pub header: Vec<u8>,
    /// What follows the header.
    pub payload: Vec<u8>,
}

/// How to cut the header into writes. TCP_NODELAY is set, so on loopback
/// each write is its own segment and the receiver sees the pieces apart.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Split {
    /// Header and payload in one write (one segment), like a proxy that
    /// sends the header with the first payload (AWS NLB's default).
    #[default]
    Whole,
    /// Cut the header at these byte offsets; the payload is a last write.
    At(Vec<usize>),
    /// One write per header byte; the payload is a last write.
    Bytewise,
}

/// Knobs of one exchange.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    pub connect_timeout: Duration,
    /// Wait this long for the server to speak first before sending.
    pub banner_timeout: Option<Duration>,
    /// Stop reading when nothing arrives for this long.
    pub reply_timeout: Duration,
    /// Keep at most this many reply bytes (the rest is counted, not kept).
    pub max_reply: usize,
    pub split: Split,
    /// Pause between the pieces of a split header.
    pub split_delay: Duration,
    /// The whole exchange ends by then, even if every read brings a byte
    /// (curl's `--max-time`): the per-read timeouts bound silence, this
    /// bounds a peer that trickles.
    pub max_time: Duration,
    /// Connect from this local address (a second loopback address, to
    /// come from a source outside a receiver's allow-list).
    pub bind: Option<IpAddr>,
    /// Shut down the sending side once everything is written (a client
    /// that hangs up after a truncated header), then read the reply.
    pub half_close: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            connect_timeout: Duration::from_secs(5),
            banner_timeout: None,
            reply_timeout: Duration::from_secs(5),
            max_reply: 64 * 1024,
            split: Split::Whole,
            split_delay: Duration::ZERO,
            max_time: MAX_TIME,
            bind: None,
            half_close: false,
        }
    }
}

/// Connect to the first of `addrs` that answers, build the message from the
/// real (local, peer) addresses, send it and read the reply.
///
/// Network trouble is part of the [`Transcript`]; only `build`'s error is
/// returned as an error.
pub async fn exchange<E>(
    addrs: &[SocketAddr],
    opts: &Options,
    build: impl FnOnce(SocketAddr, SocketAddr) -> Result<Message, E>,
) -> Result<Transcript, E> {
    let start = Instant::now();
    let deadline = start + opts.max_time;
    let (mut stream, local, peer) = match connect(addrs, opts, deadline).await {
        Ok(c) => c,
        Err((end, error)) => return Ok(Transcript::not_connected(end, error, start.elapsed())),
    };
    let message = build(local, peer)?;
    let mut reply = Transcript::connected(local, peer, start.elapsed());
    let mut buf = vec![0u8; READ_CHUNK];
    let mut ended = None;
    if let Some(wait) = opts.banner_timeout {
        // Only the first burst counts as the banner; whatever it says, we go on.
        match bounded(wait, deadline, stream.read(&mut buf)).await {
            Ok(result) => match chunk(result, &mut reply.error) {
                Ok(n) => {
                    reply.timings.first_byte = Some(start.elapsed());
                    keep(&mut reply.banner, &buf[..n], opts.max_reply);
                }
                Err(end) => ended = Some(end),
            },
            Err(Cut::Deadline) => ended = Some(End::MaxTime),
            Err(Cut::Idle) => {}
        }
    }
    if ended.is_none() {
        // A failed write leaves the reply to read (the peer's last words),
        // unless the time is up.
        if let Err(End::MaxTime) =
            write_message(&mut stream, &message, opts, deadline, &mut reply).await
        {
            ended = Some(End::MaxTime);
        }
        reply.timings.sent = Some(start.elapsed());
        if opts.half_close && reply.write_error.is_none() {
            // The peer sees a FIN; its answer can still be read.
            let _ = stream.shutdown().await;
        }
    }
    if ended.is_none() {
        ended = Some(
            read_reply(
                &mut stream,
                &mut buf,
                opts,
                deadline,
                start,
                &mut reply,
                false,
            )
            .await,
        );
    }
    reply.end = match ended.unwrap_or(End::Timeout) {
        End::EofWithoutData if reply.received_total > 0 => End::EofAfterData,
        end => end,
    };
    reply.message = Some(message);
    reply.timings.total = start.elapsed();
    Ok(reply)
}

/// Write `message` (its header cut as `opts.split` says, with the pauses
/// between the pieces), counting what went out in `reply.sent`. A failed
/// write is `reply.write_error` and stops the writing, and says how the
/// connection looks: `Reset` (the peer went away), `Timeout` (it stopped
/// reading), `MaxTime` (the exchange's deadline came first).
pub(super) async fn write_message<S: tokio::io::AsyncWrite + Unpin>(
    stream: &mut S,
    message: &Message,
    opts: &Options,
    deadline: Instant,
    reply: &mut Transcript,
) -> Result<(), End> {
    for (i, piece) in pieces(message, &opts.split).iter().enumerate() {
        if i > 0 && !opts.split_delay.is_zero() {
            let left = deadline.saturating_duration_since(Instant::now());
            sleep(opts.split_delay.min(left)).await;
            // A write that is ready at once would beat the deadline's
            // timer: the pieces left would go out in one burst, and a
            // trickle would end as a whole header.
            if Instant::now() >= deadline {
                reply.write_error = Some(NetError::MaxTimeWhileWriting);
                return Err(End::MaxTime);
            }
        }
        let (error, end) =
            match bounded(opts.reply_timeout, deadline, stream.write_all(piece)).await {
                Ok(Ok(())) => {
                    reply.sent += piece.len();
                    continue;
                }
                Ok(Err(e)) => (NetError::io(&e), End::Reset),
                Err(Cut::Idle) => (NetError::PeerStoppedReading, End::Timeout),
                Err(Cut::Deadline) => (NetError::MaxTimeWhileWriting, End::MaxTime),
            };
        reply.write_error = Some(error);
        return Err(end);
    }
    Ok(())
}

/// Read the reply into `reply` until the peer ends it, the size bound,
/// a silence of `reply_timeout`, or the exchange's deadline. With
/// `eof_is_end`, an unexpected EOF counts as the end (a TLS server that
/// closes without close_notify has still said all it had to say).
pub(super) async fn read_reply<S: tokio::io::AsyncRead + Unpin>(
    stream: &mut S,
    buf: &mut [u8],
    opts: &Options,
    deadline: Instant,
    start: Instant,
    reply: &mut Transcript,
    eof_is_end: bool,
) -> End {
    loop {
        let result = match bounded(opts.reply_timeout, deadline, stream.read(buf)).await {
            Err(Cut::Idle) => break End::Timeout,
            Err(Cut::Deadline) => break End::MaxTime,
            Ok(Err(e)) if eof_is_end && e.kind() == io::ErrorKind::UnexpectedEof => Ok(0),
            Ok(result) => result,
        };
        match chunk(result, &mut reply.error) {
            Err(end) => break end,
            Ok(n) => {
                if reply.received_total == 0 {
                    reply.timings.first_byte.get_or_insert(start.elapsed());
                }
                reply.received_total += n;
                keep(&mut reply.received, &buf[..n], opts.max_reply);
                if reply.received_total >= opts.max_reply {
                    break End::SizeLimit;
                }
            }
        }
    }
}

/// Why a bounded wait gave up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Cut {
    /// The wait's own timeout (silence).
    Idle,
    /// The exchange's deadline (`max_time`).
    Deadline,
}

/// `fut`, bounded by `wait` and by `deadline`, whichever comes first.
pub(super) async fn bounded<T>(
    wait: Duration,
    deadline: Instant,
    fut: impl Future<Output = T>,
) -> Result<T, Cut> {
    let left = deadline.saturating_duration_since(Instant::now());
    if wait < left {
        timeout(wait, fut).await.map_err(|_| Cut::Idle)
    } else {
        timeout(left, fut).await.map_err(|_| Cut::Deadline)
    }
}

/// Out of file descriptors (per process or system-wide): a local error,
/// not something the peer did.
pub(crate) fn local_limit(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::EMFILE | libc::ENFILE))
}

/// Bytes of this socket's stream that the peer acknowledged (the kernel's
/// `tcpi_bytes_acked`, kept after a reset); `None` where the kernel does
/// not say (not Linux, or a Linux before 4.1).
pub(crate) fn bytes_acked(socket: std::os::fd::BorrowedFd<'_>) -> Option<u64> {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        // SAFETY: an all-zero tcp_info is a valid value of plain integers.
        let mut info: libc::tcp_info = unsafe { std::mem::zeroed() };
        let mut len = std::mem::size_of::<libc::tcp_info>() as libc::socklen_t;
        // SAFETY: `info` and `len` are valid for writes of `len` bytes, and
        // the descriptor is borrowed for the call.
        let rc = unsafe {
            libc::getsockopt(
                socket.as_raw_fd(),
                libc::IPPROTO_TCP,
                libc::TCP_INFO,
                std::ptr::addr_of_mut!(info).cast(),
                &mut len,
            )
        };
        let end = std::mem::offset_of!(libc::tcp_info, tcpi_bytes_acked) + 8;
        (rc == 0 && len as usize >= end).then_some(info.tcpi_bytes_acked)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = socket;
        None
    }
}

/// Bytes asked of the kernel per read.
pub(super) const READ_CHUNK: usize = 8192;

/// A read's outcome: `Ok(n)` for data, or how the connection ended (the
/// error text goes to `error`).
pub(super) fn chunk(result: io::Result<usize>, error: &mut Option<NetError>) -> Result<usize, End> {
    match result {
        Ok(0) => Err(End::EofWithoutData),
        Ok(n) => Ok(n),
        Err(e) => {
            *error = Some(NetError::io(&e));
            Err(match e.kind() {
                io::ErrorKind::ConnectionReset
                | io::ErrorKind::ConnectionAborted
                | io::ErrorKind::BrokenPipe => End::Reset,
                _ => End::Error,
            })
        }
    }
}

pub(super) fn keep(into: &mut Vec<u8>, bytes: &[u8], max: usize) {
    let room = max.saturating_sub(into.len());
    into.extend_from_slice(&bytes[..bytes.len().min(room)]);
}

pub(super) async fn connect(
    addrs: &[SocketAddr],
    opts: &Options,
    deadline: Instant,
) -> Result<(TcpStream, SocketAddr, SocketAddr), (End, NetError)> {
    let mut last = (End::Error, NetError::NoAddress);
    for addr in addrs {
        let at = |e: &io::Error| NetError::At {
            addr: *addr,
            error: e.to_string(),
        };
        let limit = opts
            .connect_timeout
            .min(deadline.saturating_duration_since(Instant::now()));
        // The error, and whether it came from binding `--bind`'s address.
        let connecting = async {
            match opts.bind {
                None => TcpStream::connect(addr).await.map_err(|e| (e, None)),
                Some(ip) => {
                    let socket = if addr.is_ipv4() {
                        TcpSocket::new_v4()
                    } else {
                        TcpSocket::new_v6()
                    }
                    .map_err(|e| (e, None))?;
                    socket
                        .bind(SocketAddr::new(ip, 0))
                        .map_err(|e| (e, Some(ip)))?;
                    socket.connect(*addr).await.map_err(|e| (e, None))
                }
            }
        };
        let error = |e: &io::Error, bound: Option<IpAddr>| match bound {
            Some(local) => NetError::Bind {
                addr: *addr,
                local,
                error: e.to_string(),
            },
            None => at(e),
        };
        match timeout(limit, connecting).await {
            Ok(Ok(stream)) => {
                // Small writes must leave as they are: splitting is a test.
                let _ = stream.set_nodelay(true);
                match (stream.local_addr(), stream.peer_addr()) {
                    (Ok(local), Ok(peer)) => return Ok((stream, local, peer)),
                    (Err(e), _) | (_, Err(e)) => last = (End::Error, at(&e)),
                }
            }
            Ok(Err((e, bound))) if local_limit(&e) => {
                return Err((End::LocalLimit, error(&e, bound)))
            }
            Ok(Err((e, bound))) if e.kind() == io::ErrorKind::ConnectionRefused => {
                last = (End::Refused, error(&e, bound))
            }
            Ok(Err((e, bound))) => last = (End::Error, error(&e, bound)),
            Err(_) => {
                last = (
                    End::ConnectTimeout,
                    NetError::ConnectTimeout {
                        addr: *addr,
                        after: limit,
                    },
                )
            }
        }
    }
    Err(last)
}

/// Connections held open, each after writing a few bytes (a slowloris
/// with half a header); they close when this is dropped.
#[derive(Debug, Default)]
pub struct Held {
    streams: Vec<TcpStream>,
    /// Connections that could not be made or written to.
    pub failed: usize,
}

impl Held {
    /// How many are held.
    pub fn len(&self) -> usize {
        self.streams.len()
    }
}

/// Open `count` connections to `addrs` and write `bytes` on each, all
/// within `opts.max_time`; what could not be opened in time is counted
/// as failed.
pub async fn hold(addrs: &[SocketAddr], opts: &Options, bytes: &[u8], count: usize) -> Held {
    let deadline = Instant::now() + opts.max_time;
    let mut held = Held::default();
    for _ in 0..count {
        if Instant::now() >= deadline {
            held.failed += 1;
            continue;
        }
        match connect(addrs, opts, deadline).await {
            Ok((mut stream, _, _)) => {
                match bounded(opts.reply_timeout, deadline, stream.write_all(bytes)).await {
                    Ok(Ok(())) => held.streams.push(stream),
                    _ => held.failed += 1,
                }
            }
            Err(_) => held.failed += 1,
        }
    }
    held
}

/// The writes for `message` under `split`.
pub(super) fn pieces<'m>(message: &'m Message, split: &Split) -> Vec<Cow<'m, [u8]>> {
    let h = message.header.as_slice();
    let mut out: Vec<Cow<'m, [u8]>> = match split {
        Split::Whole => {
            let mut all = Vec::with_capacity(h.len() + message.payload.len());
            all.extend_from_slice(h);
            all.extend_from_slice(&message.payload);
            return vec![Cow::Owned(all)];
        }
        Split::Bytewise => h.chunks(1).map(Cow::Borrowed).collect(),
        Split::At(offsets) => {
            let mut cuts: Vec<usize> = offsets
                .iter()
                .copied()
                .filter(|&o| o > 0 && o < h.len())
                .collect();
            cuts.sort_unstable();
            cuts.dedup();
            let mut prev = 0;
            let mut v = Vec::with_capacity(cuts.len() + 2);
            for cut in cuts {
                v.push(Cow::Borrowed(&h[prev..cut]));
                prev = cut;
            }
            v.push(Cow::Borrowed(&h[prev..]));
            v
        }
    };
    out.push(Cow::Borrowed(&message.payload));
    out.retain(|p| !p.is_empty());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg() -> Message {
        Message {
            header: b"abcdef".to_vec(),
            payload: b"XY".to_vec(),
        }
    }

    #[test]
    fn pieces_follow_the_split() {
        let m = msg();
        let join = |s: &Split| {
            pieces(&m, s)
                .iter()
                .map(|p| String::from_utf8_lossy(p).into_owned())
                .collect::<Vec<_>>()
        };
        assert_eq!(join(&Split::Whole), ["abcdefXY"]);
        assert_eq!(
            join(&Split::At(vec![4, 2, 2, 0, 9])),
            ["ab", "cd", "ef", "XY"]
        );
        assert_eq!(join(&Split::Bytewise), ["a", "b", "c", "d", "e", "f", "XY"]);
    }

    #[test]
    fn out_of_descriptors_is_local() {
        assert!(local_limit(&io::Error::from_raw_os_error(libc::EMFILE)));
        assert!(local_limit(&io::Error::from_raw_os_error(libc::ENFILE)));
        assert!(!local_limit(&io::Error::from_raw_os_error(
            libc::ECONNREFUSED
        )));
    }

    /// A peer that sends a byte every 50 ms never lets the per-read
    /// timeout fire; the exchange's deadline ends it, keeping what came.
    #[tokio::test]
    async fn the_deadline_cuts_a_trickle() {
        use tokio::io::AsyncWriteExt;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            for _ in 0..100 {
                if s.write_all(b".").await.is_err() {
                    return;
                }
                sleep(Duration::from_millis(50)).await;
            }
        });
        let opts = Options {
            reply_timeout: Duration::from_secs(1),
            max_time: Duration::from_millis(600),
            ..Options::default()
        };
        let reply = exchange(&[addr], &opts, |_, _| Ok::<_, ()>(msg()))
            .await
            .unwrap();
        assert_eq!(reply.end, End::MaxTime);
        assert!(reply.received_total >= 3, "{reply:?}");
        assert!(reply.timings.total < Duration::from_millis(1500));
    }
}
