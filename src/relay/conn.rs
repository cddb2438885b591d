//! One client: the header stage (per `--accept`), the connect upstream,
//! the header sent, then the bytes both ways until both sides are done.
//!
//! The data path holds one bounded buffer per direction: a read is written
//! out before the next read, so a slow reader slows the writer
//! (backpressure), nothing is reordered, and an EOF on one side becomes a
//! write shutdown on the other (half-close). Recognition (request line,
//! status, SNI) looks at a copy of the first bytes and never holds data.
//! On Linux a direction in bulk goes on through a pipe by splice(2)
//! ([`super::splice`]), with the same bound (the pipe's size), the same
//! counts and the same endings.

use std::io;
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncWriteExt, Interest};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::time::timeout;

use crate::codec::{self, Decoded};
use crate::judge::{self, Arrived, Ending};
use crate::server::conn::{retry, send_before_fin, Conn as Io, Framed, Stage};
use crate::server::record::{self, Awaited, Event, Fault};
use crate::server::{
    signalled, Accepted, Bound, HeaderSeen, IpProtocol, Record as ServerRecord, StageDeadline,
    Stream,
};

use super::config::{Accept, Config};
use super::cutoff::{Cut, Cutoffs};
use super::record::{Done, Event as Said, Record, Relayed, Unconnected, PEEK};
use super::spare::Spare;

/// The client's first bytes are read at most this many at once, and a
/// direction's copy buffer starts a little above it ([`super::spare`]: an
/// HTTP head, a short answer, in a buffer kept from an ended connection)...
const CHUNK_FIRST: usize = 4 * 1024;
/// ...and grows to this once a read fills it (a bulk transfer: fewer
/// read/write pairs per MiB).
const CHUNK_BULK: usize = 128 * 1024;

/// Relay one client to the end and say what happened. The client's
/// socket gets TCP_NODELAY unless it came with it from the listener.
pub(crate) async fn serve(
    c: Accepted,
    cfg: &Config,
    cutoffs: &Cutoffs,
    nodelay_inherited: bool,
) -> Box<Record> {
    let started = Instant::now();
    if !nodelay_inherited {
        let _ = c.stream.set_nodelay(true);
    }
    // Boxed from the start: the record is built where it stays, and goes
    // to the hub and the sink as a pointer, not copied at each move.
    let mut rec = Box::new(ServerRecord::new(
        c.id,
        IpProtocol::Tcp,
        c.peer,
        c.local,
        cfg.accept.expects(),
        cfg.trust.is_empty(),
        Relayed::new(cfg.accept, cfg.send),
    ));
    rec.service.protocol = cfg.protocol;
    // The client is registered with the runtime only once the upstream
    // has its first bytes: until then its bytes are read straight from the
    // socket, and an earlier registration would report the bytes already
    // read as new input (a read for nothing).
    let (client, rest, mut stop) = if cfg.accept == Accept::None {
        rec.arrived = Arrived::NoHeader;
        (Stream::Raw(c.stream), Some(Vec::new()), c.stop)
    } else {
        let mut io = Io::new(c, cfg.max_header.max(codec::V1_MAX_LEN));
        let rest = header_stage(&mut io, &mut rec, cfg).await;
        rec.bytes_in = io.buf.len() as u64;
        rec.framing = io.framing;
        (io.stream, rest, io.stop)
    };
    if let Some(rest) = rest {
        relay(client, rest, &mut rec, cfg, cutoffs, &mut stop).await;
    }
    if cfg.accept == Accept::None {
        spot_client_header(&mut rec);
    }
    rec.duration = started.elapsed();
    rec.judge();
    rec
}

/// With `--accept none`, a header at the start of the client's stream is
/// data that went upstream as it came: name it.
fn spot_client_header(rec: &mut Record) {
    // Most streams are no header at all: tell so from their first bytes,
    // not from a decode that would sniff (parse) the whole request.
    if !codec::looks_like_header_start(&rec.service.first_up) {
        return;
    }
    if let Decoded::Complete(h) = codec::decode(&rec.service.first_up) {
        let seen = HeaderSeen::new(&rec.service.first_up[..h.len()], false);
        rec.arrived = Arrived::Header {
            local: seen.valid.as_ref().is_some_and(|f| f.local),
            trusted: true,
            stacked: false,
        };
        rec.header = Some(seen);
    }
}

/// Read the client's header per `--accept`: the bytes after it to relay,
/// or `None` to close the client (the record says why).
async fn header_stage(io: &mut Io, rec: &mut Record, cfg: &Config) -> Option<Vec<u8>> {
    let deadline = Instant::now() + cfg.header_timeout;
    let trusted = cfg.trusts(rec.peer.ip());
    rec.trusted = trusted;
    match io.frame(deadline, cfg.max_header).await {
        Framed::Header(facts) => {
            let len = facts.len;
            rec.header = Some(HeaderSeen::of_valid(&io.buf, facts.clone()));
            let rest = io.buf[len..].to_vec();
            if !cfg.accept.takes(facts.number()) {
                rec.arrived = Arrived::OtherVersion;
                rec.service.events.push(Said::OtherVersion {
                    version: facts.number(),
                    accept: cfg.accept,
                });
                return None;
            }
            let stacked = matches!(codec::decode(&rest), Decoded::Complete(_));
            rec.arrived = Arrived::Header {
                local: facts.local,
                trusted,
                stacked,
            };
            if !trusted {
                let rejected = cfg.accept != Accept::Auto;
                rec.events.push(Event::Untrusted {
                    peer: rec.peer.ip(),
                    trust: cfg.trust.clone(),
                    rejected,
                });
                if rejected {
                    return None;
                }
            } else {
                rec.service.claimed = facts.source;
                if let Some(src) = facts.source {
                    rec.client = src;
                }
            }
            Some(rest)
        }
        Framed::NotProxy => {
            rec.arrived = Arrived::NoHeader;
            if cfg.accept == Accept::Auto {
                return Some(io.buf.clone());
            }
            rec.events.push(Event::NoHeader {
                first: record::kept(&io.buf),
            });
            rec.service.first_up = io.buf.clone();
            None
        }
        Framed::Failed(failure) => {
            let stage = Stage {
                limit: cfg.header_timeout,
                max_header: cfg.max_header,
                awaited: Awaited::Header,
            };
            rec.header_failed(&failure, &io.buf, stage);
            rec.service.interrupted = rec.arrived == Arrived::Interrupted;
            None
        }
    }
}

/// How one upstream address failed to take the connection, and whether
/// to try the next (not after running out of descriptors here: the next
/// would fare no better).
fn unconnected(addr: SocketAddr, e: &io::Error) -> ((Ending, Said), bool) {
    let failed = |how| Said::ConnectFailed {
        addr: Some(addr),
        how,
    };
    if e.kind() == io::ErrorKind::ConnectionRefused {
        ((Ending::Refused, failed(Unconnected::Refused)), true)
    } else if crate::net::local_limit(e) {
        let how = Unconnected::LocalLimit(Fault::of(e));
        ((Ending::LocalLimit, failed(how)), false)
    } else {
        let how = Unconnected::Failed(Fault::of(e));
        ((Ending::Unreachable, failed(how)), true)
    }
}

/// An upstream connection, and how many of the first bytes it took.
struct Connected {
    stream: TcpStream,
    addr: SocketAddr,
    written: usize,
}

/// Why one connect attempt failed.
enum Attempt {
    Failed(io::Error),
    TimedOut,
}

/// Connect to the first of `addrs` that takes the connection and write
/// `first` to it (`fill` tops it up just before: the client's first bytes,
/// if they are in). connect(2) on a non-blocking socket says EINPROGRESS
/// even when the handshake is over by the time it returns, as it is with a
/// loopback or nearby upstream; so `first` is written at once, and a write
/// that goes out proves the connection: no wait for epoll, no timer, no
/// SO_ERROR to ask. A write that would block means the handshake is still
/// under way: wait for it, within `limit`.
async fn connect(
    addrs: &[SocketAddr],
    limit: Duration,
    first: &mut Vec<u8>,
    mut fill: impl FnMut(&mut Vec<u8>),
) -> Result<Connected, (Ending, Said)> {
    let mut last = (
        Ending::Unreachable,
        Said::ConnectFailed {
            addr: None,
            how: Unconnected::Failed(Fault::of(&io::ErrorKind::AddrNotAvailable.into())),
        },
    );
    for &addr in addrs {
        let attempt = match start(addr) {
            Ok(socket) => {
                fill(first);
                established(socket, limit, first).await
            }
            Err(e) => Err(Attempt::Failed(e)),
        };
        match attempt {
            Ok((stream, written)) => {
                return Ok(Connected {
                    stream,
                    addr,
                    written,
                })
            }
            Err(Attempt::TimedOut) => {
                last = (
                    Ending::Unreachable,
                    Said::ConnectFailed {
                        addr: Some(addr),
                        how: Unconnected::TimedOut(limit),
                    },
                )
            }
            Err(Attempt::Failed(e)) => {
                let (said, next) = unconnected(addr, &e);
                if !next {
                    return Err(said);
                }
                last = said;
            }
        }
    }
    Err(last)
}

/// A non-blocking socket (TCP_NODELAY, as the client's) with connect(2)
/// to `addr` under way.
fn start(addr: SocketAddr) -> io::Result<std::net::TcpStream> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(
        Domain::for_address(addr),
        Type::STREAM.nonblocking().cloexec(),
        Some(Protocol::TCP),
    )?;
    let _ = socket.set_tcp_nodelay(true);
    match socket.connect(&addr.into()) {
        Ok(()) => {}
        Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
        Err(e) => return Err(e),
    }
    Ok(socket.into())
}

/// The connection on `socket` once established (registered with the
/// runtime), with how many bytes of `first` it took.
async fn established(
    socket: std::net::TcpStream,
    limit: Duration,
    first: &[u8],
) -> Result<(TcpStream, usize), Attempt> {
    let mut wrote = None;
    if !first.is_empty() {
        match io::Write::write(&mut &socket, first) {
            Ok(n) => wrote = Some(n),
            // Still connecting.
            Err(e) if retry(&e) => {}
            // Connected, and gone already: the write below says so.
            Err(e) if matches!(e.raw_os_error(), Some(libc::EPIPE | libc::ECONNRESET)) => {
                wrote = Some(0)
            }
            Err(e) => return Err(Attempt::Failed(e)),
        }
    }
    let stream = TcpStream::from_std(socket).map_err(Attempt::Failed)?;
    if let Some(n) = wrote {
        return Ok((stream, n));
    }
    match timeout(limit, stream.writable()).await {
        Err(_) => Err(Attempt::TimedOut),
        Ok(Err(e)) => Err(Attempt::Failed(e)),
        Ok(Ok(())) => match stream.take_error() {
            Ok(None) => Ok((stream, 0)),
            Ok(Some(e)) | Err(e) => Err(Attempt::Failed(e)),
        },
    }
}

/// The state of one direction, kept outside its future so the record can
/// read it whatever happens to the future.
struct Flow {
    first: Vec<u8>,
    bytes: u64,
    /// When its first byte was read.
    first_at: Option<Instant>,
}

impl Flow {
    /// Count `bytes` gone through, and keep the first of them.
    fn pass(&mut self, bytes: &[u8]) {
        self.bytes += bytes.len() as u64;
        if !bytes.is_empty() {
            self.first_at.get_or_insert_with(Instant::now);
        }
        let room = PEEK.saturating_sub(self.first.len());
        self.first
            .extend_from_slice(&bytes[..bytes.len().min(room)]);
    }
}

/// Whether the client's first request is complete, and with it the stage
/// `--request-timeout` bounds: an HTTP request head's blank line, or
/// [`PEEK`] bytes (a stream in bulk, not a trickle). The stage also ends
/// with the client's EOF and with upstream's first byte (see [`pump`]).
fn request_complete(first: &[u8]) -> bool {
    first.len() >= PEEK || memchr::memmem::find(first, b"\r\n\r\n").is_some()
}

/// Copy `from` to `to` until EOF or an error, keeping the first bytes;
/// once a read fills the bulk buffer, the rest by splice(2) (Linux).
/// The buffer is taken (a kept one, [`Spare`]) when the first bytes are
/// ready, so an idle connection holds none, and never zeroed (reads fill
/// it). `request` is
/// set once the client's first request is over: by this direction's EOF,
/// by a complete request (`client`: this is the client's direction), or by
/// upstream's first byte.
#[allow(clippy::too_many_arguments)]
async fn pump(
    from: OwnedReadHalf,
    mut to: OwnedWriteHalf,
    flow: &mut Flow,
    active: &AtomicU64,
    epoch: Instant,
    ends: [&AtomicBool; 2],
    request: &AtomicBool,
    client: bool,
) -> Done {
    // No buffer until the first bytes are ready (an idle connection holds
    // none); then a kept one, given back when this ends.
    let mut spare = Spare(Vec::new());
    loop {
        let ready = match from.ready(Interest::READABLE | Interest::ERROR).await {
            Ok(ready) => ready,
            Err(_) => return Done::ReadFailed,
        };
        if spare.0.capacity() == 0 {
            // The client's first bytes went upstream with the header, and
            // its FIN is in before anything needed a buffer here: most
            // often it said all it had (a request, then its FIN), which a
            // peek tells without the buffer (4 KiB, too big for malloc's
            // per-thread cache). Not upstream's side: its first wake-up
            // most often brings the answer, and the peek would be a
            // system call more.
            if client && ready.is_read_closed() && !ready.is_error() && only_fin(&from) {
                return end(to, ends, request).await;
            }
            spare = Spare::take();
        }
        let buf = &mut spare.0;
        buf.clear();
        let room = buf.capacity();
        let n = match from.try_read_buf(buf) {
            Ok(0) => return end(to, ends, request).await,
            Ok(n) => n,
            Err(e) if retry(&e) => continue,
            Err(_) => return Done::ReadFailed,
        };
        flow.pass(&buf[..n]);
        if !request.load(Ordering::Relaxed) && (!client || request_complete(&flow.first)) {
            request.store(true, Ordering::Relaxed);
        }
        active.store(epoch.elapsed().as_millis() as u64, Ordering::Relaxed);
        // The peer's FIN was in before this read (and no error), and the
        // read took less than it had room for: it took all there was
        // before the FIN, so the next read would only say EOF. (A reset
        // comes with an error; a reset after the FIN still reads as EOF.)
        let last = ready.is_read_closed() && !ready.is_error() && n < room;
        let written = if last {
            write_before_fin(&mut to, &buf[..n]).await
        } else {
            to.write_all(&buf[..n]).await
        };
        if written.is_err() {
            return Done::WriteFailed;
        }
        if last {
            return end(to, ends, request).await;
        }
        if n == room && room < CHUNK_BULK {
            // (The small one goes back to the spares.)
            spare = Spare(Vec::with_capacity(CHUNK_BULK));
        }
        #[cfg(target_os = "linux")]
        if n == room && room >= CHUNK_BULK {
            // A bulk transfer: the rest goes through a pipe, when one can
            // be had (the request is over by now: PEEK bytes went by).
            if let Ok(pipe) = super::splice::Pipe::new() {
                drop(spare);
                let took = |n: usize| {
                    flow.bytes += n as u64;
                    active.store(epoch.elapsed().as_millis() as u64, Ordering::Relaxed);
                };
                // Boxed: its state stays out of this future, which every
                // connection's task holds (and copies once), bulk or not.
                let spliced = Box::pin(super::splice::pump(&pipe, &from, &to, took));
                return match spliced.await {
                    Done::Eof => end(to, ends, request).await,
                    failed => failed,
                };
            }
        }
    }
}

/// Whether the peer's FIN is all that is left to read: a peek of one
/// byte, which leaves whatever it finds to the read that follows.
fn only_fin(from: &OwnedReadHalf) -> bool {
    let mut byte = [std::mem::MaybeUninit::uninit()];
    matches!(socket2::SockRef::from(from.as_ref()).peek(&mut byte), Ok(0))
}

/// Write the last bytes before this side's FIN by [`send_before_fin`]:
/// the FIN follows at once ([`end`]'s shutdown, or the close right after
/// it when the other direction is done too). What the socket does not
/// take at once goes the usual way, pushed out without delay.
async fn write_before_fin(to: &mut OwnedWriteHalf, bytes: &[u8]) -> io::Result<()> {
    let n = send_before_fin(socket2::SockRef::from(to.as_ref()), bytes)?;
    to.write_all(&bytes[n..]).await
}

/// One direction read its EOF (which ends the client's first request
/// too): the other side gets it, and the answer still flows (half-close).
/// When the other direction already read its EOF, both sockets are closed
/// next and the close sends the FIN: no shutdown (one syscall less per
/// connection).
async fn end(mut to: OwnedWriteHalf, ends: [&AtomicBool; 2], request: &AtomicBool) -> Done {
    ends[0].store(true, Ordering::Relaxed);
    request.store(true, Ordering::Relaxed);
    if ends[1].load(Ordering::Relaxed) {
        // (A dropped write half would shut down: forget it.)
        to.forget();
    } else {
        let _ = to.shutdown().await;
    }
    Done::Eof
}

/// When the connection is to be cut, with the bound it would run into:
/// neither direction moved a byte for the idle limit, or the client's
/// first request was not over (`request` unset) by the stage's deadline.
/// Asked again each time the sweeper ([`Cutoffs`]) wakes the connection,
/// so bytes that moved in between push it further.
fn next_cut(
    active: &AtomicU64,
    epoch: Instant,
    stage: StageDeadline,
    idle: Duration,
    request: &AtomicBool,
) -> (Instant, Bound) {
    let last = epoch + Duration::from_millis(active.load(Ordering::Relaxed));
    if request.load(Ordering::Relaxed) {
        (last + idle, Bound::Idle)
    } else {
        stage.next(last)
    }
}

/// Connect, send the header and `rest`, then copy both ways.
async fn relay(
    client: Stream,
    rest: Vec<u8>,
    rec: &mut Record,
    cfg: &Config,
    cutoffs: &Cutoffs,
    stop: &mut watch::Receiver<bool>,
) {
    // The header, what came after it, and the client's first bytes when
    // they are in already (a client speaks as soon as it is connected): one
    // write, one segment upstream, from a kept buffer. A client that has
    // said nothing yet is not waited for.
    let mut spare = Spare::take();
    let header = {
        let accepted = rec.taken();
        cfg.write_header(accepted, rec.peer, rec.local, &mut spare.0)
    };
    let header_len = match header {
        Ok(len) => len,
        Err(e) => {
            rec.service.events.push(Said::BuildFailed(e));
            return;
        }
    };
    let first = &mut spare.0;
    first.reserve(rest.len() + CHUNK_FIRST);
    first.extend_from_slice(&rest);
    let pre_read = rec.bytes_in;
    let mut up = Flow {
        first: rest[..rest.len().min(PEEK)].to_vec(),
        bytes: 0,
        first_at: (!rest.is_empty()).then(Instant::now),
    };
    let mut down = Flow {
        first: Vec::new(),
        bytes: 0,
        first_at: None,
    };
    let mut early = |first: &mut Vec<u8>| {
        let Some(socket) = client.plain() else { return };
        let at = first.len();
        first.reserve(CHUNK_FIRST);
        // Straight from the socket: tokio's `try_read` would say
        // WouldBlock until epoll has reported the socket readable. Into
        // spare room, not zeroed first: the read fills what it reports.
        let n = socket
            .recv(&mut first.spare_capacity_mut()[..CHUNK_FIRST])
            .unwrap_or(0);
        // SAFETY: recv(2) initialised the first `n` bytes of the spare room.
        unsafe { first.set_len(at + n) };
        up.pass(&first[at..]);
    };
    // In order (biased), not from a random branch: a connect that is done
    // at once (a loopback or nearby upstream) then costs no wait on the
    // stop flag, nor a random number.
    let connected = tokio::select! {
        biased;
        c = connect(&cfg.upstream, cfg.connect_timeout, first, &mut early) => c,
        _ = signalled(stop) => {
            rec.service.interrupted = true;
            rec.service.events.push(Said::StoppedConnecting);
            return;
        }
    };
    let Connected {
        stream: mut upstream,
        addr: to,
        written,
    } = match connected {
        Ok(c) => c,
        Err((ending, said)) => {
            rec.service.ending = Some(ending);
            rec.service.events.push(said);
            return;
        }
    };
    // Upstream has (or is about to get) its first bytes: its answer is
    // timed from here.
    let epoch = Instant::now();
    // The address connected to is the peer: no getpeername.
    rec.service.upstream = Some(crate::server::canonical(to));
    if let Some(len) = header_len {
        rec.service.sent = Some(HeaderSeen::new(&first[..len], false));
    }
    if written < first.len() {
        if let Err(e) = upstream.write_all(&first[written..]).await {
            rec.service.events.push(Said::UpstreamGone(Fault::of(&e)));
        }
    }
    // Kept for the answer's first read, or the next connection's.
    drop(spare);
    let client = match client.into_tcp() {
        Ok(client) => client,
        Err(e) => {
            rec.events.push(Event::Unwatched(Fault::of(&e)));
            return;
        }
    };
    let active = AtomicU64::new(0);
    let stage = StageDeadline::start(cfg.request_timeout, cfg.idle_timeout);
    // The client's first request may have come with the header.
    let request = AtomicBool::new(request_complete(&up.first));
    let rest_len = rest.len();
    let (ending, stopped, taken, request_cut) = {
        // Asked after a reset: how much of the stream upstream took.
        let upstream_fd = upstream.as_raw_fd();
        let (cr, cw) = client.into_split();
        let (ur, uw) = upstream.into_split();
        let (up_eof, down_eof) = (AtomicBool::new(false), AtomicBool::new(false));
        let ends = ([&up_eof, &down_eof], [&down_eof, &up_eof]);
        let a = pump(cr, uw, &mut up, &active, epoch, ends.0, &request, true);
        let b = pump(ur, cw, &mut down, &active, epoch, ends.1, &request, false);
        // The time bounds and the stop flag: one entry in the relay's
        // table for the whole exchange, no timer or wait of its own.
        let mut slot = cutoffs.slot();
        let cutting = std::future::poll_fn(|cx| {
            let (due, bound) = next_cut(&active, epoch, stage, cfg.idle_timeout, &request);
            slot.poll_due(cx, due).map(|cut| (cut, bound))
        });
        tokio::pin!(a, b, cutting);
        let mut up_done: Option<(Done, Instant)> = None;
        let mut down_done: Option<(Done, Instant)> = None;
        let mut timed_out = false;
        let mut request_cut = false;
        let mut stopped = false;
        while up_done.is_none() || down_done.is_none() {
            // In order (biased): each branch ends once, so none can starve
            // the others, and no random number is drawn per wake-up.
            tokio::select! {
                biased;
                d = &mut a, if up_done.is_none() => {
                    up_done = Some((d, Instant::now()));
                    if d != Done::Eof { break; }
                }
                d = &mut b, if down_done.is_none() => {
                    down_done = Some((d, Instant::now()));
                    if d != Done::Eof { break; }
                }
                (cut, bound) = &mut cutting => {
                    if cut == Cut::Stopped {
                        stopped = true;
                    } else {
                        timed_out = true;
                        request_cut = bound == Bound::Stage;
                    }
                    break;
                }
            }
        }
        let mut ending = ending_of(up_done, down_done, timed_out || stopped);
        let mut taken = None;
        if ending == Ending::ServerReset {
            // SAFETY: the upstream socket is open until `a` and `b`, which
            // own its halves, are dropped at the end of this block.
            let fd = unsafe { std::os::fd::BorrowedFd::borrow_raw(upstream_fd) };
            taken = crate::net::bytes_acked(fd)
                .map(|n| n.saturating_sub(header_len.unwrap_or(0) as u64));
            if taken.is_some_and(|n| n > judge::MID_STREAM) {
                ending = Ending::ServerResetMidStream;
            }
        }
        (ending, stopped, taken, request_cut)
    };
    let end = Instant::now();
    rec.service.waited = Some(
        down.first_at
            .unwrap_or(end)
            .saturating_duration_since(epoch),
    );
    rec.service.upstream_first = match (down.first_at, up.first_at) {
        (Some(d), Some(u)) => d < u,
        (Some(_), None) => true,
        (None, _) => false,
    };
    rec.bytes_in = pre_read + up.bytes;
    rec.bytes_out = down.bytes;
    rec.service.first_up = up.first;
    rec.service.first_down = down.first;
    rec.service.interrupted = stopped;
    rec.service.ending = Some(ending);
    match ending {
        Ending::ServerReset | Ending::ServerResetMidStream => {
            rec.service.events.push(Said::UpstreamReset { taken })
        }
        Ending::TimedOut if stopped => {}
        Ending::TimedOut if request_cut => rec.service.events.push(Said::RequestTimedOut {
            limit: cfg.request_timeout,
            got: rest_len as u64 + up.bytes,
        }),
        Ending::TimedOut => rec.service.events.push(Said::Idle {
            limit: cfg.idle_timeout,
        }),
        _ => {}
    }
}

/// The judge's ending from how each direction ended. `up` is client to
/// upstream, `down` upstream to client.
fn ending_of(up: Option<(Done, Instant)>, down: Option<(Done, Instant)>, cut: bool) -> Ending {
    let server = match down {
        Some((Done::Eof, t)) => Some((Ending::ServerClosed, t)),
        Some((Done::ReadFailed, t)) => Some((Ending::ServerReset, t)),
        Some((Done::WriteFailed, t)) => Some((Ending::ClientClosed, t)),
        None => None,
    };
    let client = match up {
        Some((Done::Eof | Done::ReadFailed, t)) => Some((Ending::ClientClosed, t)),
        Some((Done::WriteFailed, t)) => Some((Ending::ServerReset, t)),
        None => None,
    };
    match (server, client) {
        (Some((s, ts)), Some((c, tc))) => {
            if ts <= tc {
                s
            } else {
                c
            }
        }
        (Some((s, _)), None) | (None, Some((s, _))) => s,
        (None, None) if cut => Ending::TimedOut,
        (None, None) => Ending::Unfinished,
    }
}
