//! One client: the header stage (per `--accept`), the connect upstream,
//! the header sent, then the bytes both ways until both sides are done.
//!
//! The data path holds one bounded buffer per direction: a read is written
//! out before the next read, so a slow reader slows the writer
//! (backpressure), nothing is reordered, and an EOF on one side becomes a
//! write shutdown on the other (half-close). Recognition (request line,
//! status, SNI) looks at a copy of the first bytes and never holds data.

use std::io;
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::io::AsyncWriteExt;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::time::timeout;

use crate::codec::{self, Decoded};
use crate::judge::{self, Arrived, Ending};
use crate::server::conn::{Conn as Io, Framed, Stage};
use crate::server::record::{self, Awaited, Event, Fault};
use crate::server::{
    signalled, Accepted, Bound, HeaderSeen, IpProtocol, Record as ServerRecord, StageDeadline,
};

use super::config::{Accept, Config};
use super::record::{Event as Said, Record, Relayed, Unconnected, PEEK};

/// The copy buffer of one direction starts at this size (an HTTP head, a
/// short answer: one small allocation per connection)...
const CHUNK_FIRST: usize = 4 * 1024;
/// ...and grows to this once a read fills it (a bulk transfer: fewer
/// read/write pairs per MiB).
const CHUNK_BULK: usize = 128 * 1024;

/// Relay one client to the end and say what happened.
pub(crate) async fn serve(c: Accepted, cfg: &Config) -> Record {
    let started = Instant::now();
    let _ = c.stream.set_nodelay(true);
    let mut rec = ServerRecord::new(
        c.id,
        IpProtocol::Tcp,
        c.peer,
        c.local,
        cfg.accept.expects(),
        cfg.trust.is_empty(),
        Relayed::new(cfg.accept, cfg.send),
    );
    rec.service.protocol = cfg.protocol;
    let mut io = Io::new(c, cfg.max_header.max(codec::V1_MAX_LEN));
    let rest = if cfg.accept == Accept::None {
        rec.arrived = Arrived::NoHeader;
        Some(Vec::new())
    } else {
        let rest = header_stage(&mut io, &mut rec, cfg).await;
        rec.bytes_in = io.buf.len() as u64;
        rec.framing = io.framing;
        rest
    };
    if let Some(rest) = rest {
        let mut stop = io.stop.clone();
        match io.stream.into_tcp() {
            Ok(client) => relay(client, rest, &mut rec, cfg, &mut stop).await,
            Err(e) => rec.events.push(Event::Unwatched(Fault::of(&e))),
        }
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
        Framed::Header(len) => {
            let seen = HeaderSeen::new(&io.buf[..len], false);
            let facts = seen.valid.clone()?;
            rec.header = Some(seen);
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

/// Connect upstream, or say why not.
async fn connect(
    addrs: &[SocketAddr],
    limit: Duration,
) -> Result<(TcpStream, SocketAddr), (Ending, Said)> {
    let failed = |addr, how| Said::ConnectFailed {
        addr: Some(addr),
        how,
    };
    let mut last = (
        Ending::Unreachable,
        Said::ConnectFailed {
            addr: None,
            how: Unconnected::Failed(Fault::of(&io::ErrorKind::AddrNotAvailable.into())),
        },
    );
    for &addr in addrs {
        match timeout(limit, TcpStream::connect(addr)).await {
            Ok(Ok(s)) => return Ok((s, addr)),
            Ok(Err(e)) if e.kind() == io::ErrorKind::ConnectionRefused => {
                last = (Ending::Refused, failed(addr, Unconnected::Refused))
            }
            // No descriptor here: the next address would fare no better.
            Ok(Err(e)) if crate::net::local_limit(&e) => {
                return Err((
                    Ending::LocalLimit,
                    failed(addr, Unconnected::LocalLimit(Fault::of(&e))),
                ));
            }
            Ok(Err(e)) => {
                last = (
                    Ending::Unreachable,
                    failed(addr, Unconnected::Failed(Fault::of(&e))),
                )
            }
            Err(_) => {
                last = (
                    Ending::Unreachable,
                    failed(addr, Unconnected::TimedOut(limit)),
                )
            }
        }
    }
    Err(last)
}

/// How one direction ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Done {
    /// The reader sent EOF; the writer was shut down after it.
    Eof,
    /// Reading failed (a reset).
    ReadFailed,
    /// Writing failed (the other side went away).
    WriteFailed,
}

/// The state of one direction, kept outside its future so the record can
/// read it whatever happens to the future.
struct Flow {
    first: Vec<u8>,
    bytes: u64,
    /// When its first byte was read.
    first_at: Option<Instant>,
}

/// Whether the client's first request is complete, and with it the stage
/// `--request-timeout` bounds: an HTTP request head's blank line, or
/// [`PEEK`] bytes (a stream in bulk, not a trickle). The stage also ends
/// with the client's EOF and with upstream's first byte (see [`pump`]).
fn request_complete(first: &[u8]) -> bool {
    first.len() >= PEEK || memchr::memmem::find(first, b"\r\n\r\n").is_some()
}

/// Copy `from` to `to` until EOF or an error, keeping the first bytes.
/// The buffer is allocated when the first bytes are ready, so an idle
/// connection holds none. `request` is set once the client's first request
/// is over: by this direction's EOF, by a complete request (`client`: this
/// is the client's direction), or by upstream's first byte.
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
    let mut buf = Vec::new();
    loop {
        if from.readable().await.is_err() {
            return Done::ReadFailed;
        }
        if buf.is_empty() {
            buf = vec![0u8; CHUNK_FIRST];
        }
        let n = match from.try_read(&mut buf) {
            Ok(0) => {
                // Half-close: the other side gets EOF, the answer still
                // flows. When the other direction already read its EOF,
                // both sockets are closed next and the close sends the
                // FIN: no shutdown (one syscall less per connection).
                ends[0].store(true, Ordering::Relaxed);
                request.store(true, Ordering::Relaxed);
                if ends[1].load(Ordering::Relaxed) {
                    // (A dropped write half would shut down: forget it.)
                    to.forget();
                } else {
                    let _ = to.shutdown().await;
                }
                return Done::Eof;
            }
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => return Done::ReadFailed,
        };
        flow.bytes += n as u64;
        if flow.first_at.is_none() {
            flow.first_at = Some(Instant::now());
        }
        if flow.first.len() < PEEK {
            let room = PEEK - flow.first.len();
            flow.first.extend_from_slice(&buf[..n.min(room)]);
        }
        if !request.load(Ordering::Relaxed) && (!client || request_complete(&flow.first)) {
            request.store(true, Ordering::Relaxed);
        }
        active.store(epoch.elapsed().as_millis() as u64, Ordering::Relaxed);
        if to.write_all(&buf[..n]).await.is_err() {
            return Done::WriteFailed;
        }
        if n == buf.len() && buf.len() < CHUNK_BULK {
            buf = vec![0u8; CHUNK_BULK];
        }
    }
}

/// Resolves when the connection is to be cut, with the bound it ran
/// into: neither direction moved a byte for the idle limit, or the
/// client's first request was not over (`request` unset) by the stage's
/// deadline. One timer, moved on as bytes move.
async fn cut(
    active: &AtomicU64,
    epoch: Instant,
    stage: StageDeadline,
    idle: Duration,
    request: &AtomicBool,
) -> Bound {
    loop {
        let last = epoch + Duration::from_millis(active.load(Ordering::Relaxed));
        let (due, bound) = if request.load(Ordering::Relaxed) {
            (last + idle, Bound::Idle)
        } else {
            stage.next(last)
        };
        if Instant::now() >= due {
            return bound;
        }
        tokio::time::sleep_until(due.into()).await;
    }
}

/// Connect, send the header and `rest`, then copy both ways.
async fn relay(
    client: TcpStream,
    rest: Vec<u8>,
    rec: &mut Record,
    cfg: &Config,
    stop: &mut watch::Receiver<bool>,
) {
    let connected = tokio::select! {
        c = connect(&cfg.upstream, cfg.connect_timeout) => c,
        _ = signalled(stop) => {
            rec.service.interrupted = true;
            rec.service.events.push(Said::StoppedConnecting);
            return;
        }
    };
    let (mut upstream, to) = match connected {
        Ok(s) => s,
        Err((ending, said)) => {
            rec.service.ending = Some(ending);
            rec.service.events.push(said);
            return;
        }
    };
    let _ = upstream.set_nodelay(true);
    // The address connected to is the peer: no getpeername.
    rec.service.upstream = Some(crate::server::canonical(to));
    let accepted = rec.taken().cloned();
    let header = match cfg.header_for(accepted.as_ref(), rec.peer, rec.local) {
        Ok(h) => h,
        Err(e) => {
            rec.service.events.push(Said::BuildFailed(e));
            return;
        }
    };
    let rest_len = rest.len();
    let mut first = Vec::with_capacity(header.as_ref().map_or(0, Vec::len) + rest.len());
    if let Some(h) = &header {
        rec.service.sent = Some(HeaderSeen::new(h, false));
        first.extend_from_slice(h);
    }
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
    // The client's first bytes, when they are in already (a client speaks
    // as soon as it is connected, and the upstream connect took a round
    // trip), go out with the header: one write, one segment upstream. A
    // client that has said nothing yet is not waited for.
    if header.is_some() {
        let mut early = [0u8; CHUNK_FIRST];
        // Straight from the socket: tokio's `try_read` would say
        // WouldBlock until epoll has reported the socket readable.
        if let Ok(n @ 1..) = io::Read::read(&mut &*socket2::SockRef::from(&client), &mut early) {
            first.extend_from_slice(&early[..n]);
            up.bytes += n as u64;
            up.first_at.get_or_insert_with(Instant::now);
            let room = PEEK.saturating_sub(up.first.len());
            up.first.extend_from_slice(&early[..n.min(room)]);
        }
    }
    let epoch = Instant::now();
    let active = AtomicU64::new(0);
    let stage = StageDeadline::start(cfg.request_timeout, cfg.idle_timeout);
    // The client's first request may have come with the header.
    let request = AtomicBool::new(request_complete(&up.first));
    let (ending, stopped, taken, request_cut) = {
        if !first.is_empty() {
            if let Err(e) = upstream.write_all(&first).await {
                rec.service.events.push(Said::UpstreamGone(Fault::of(&e)));
            }
        }
        // Asked after a reset: how much of the stream upstream took.
        let upstream_fd = upstream.as_raw_fd();
        let (cr, cw) = client.into_split();
        let (ur, uw) = upstream.into_split();
        let (up_eof, down_eof) = (AtomicBool::new(false), AtomicBool::new(false));
        let ends = ([&up_eof, &down_eof], [&down_eof, &up_eof]);
        let a = pump(cr, uw, &mut up, &active, epoch, ends.0, &request, true);
        let b = pump(ur, cw, &mut down, &active, epoch, ends.1, &request, false);
        tokio::pin!(a, b);
        let mut up_done: Option<(Done, Instant)> = None;
        let mut down_done: Option<(Done, Instant)> = None;
        let mut timed_out = false;
        let mut request_cut = false;
        let mut stopped = false;
        while up_done.is_none() || down_done.is_none() {
            tokio::select! {
                d = &mut a, if up_done.is_none() => {
                    up_done = Some((d, Instant::now()));
                    if d != Done::Eof { break; }
                }
                d = &mut b, if down_done.is_none() => {
                    down_done = Some((d, Instant::now()));
                    if d != Done::Eof { break; }
                }
                bound = cut(&active, epoch, stage, cfg.idle_timeout, &request) => {
                    timed_out = true;
                    request_cut = bound == Bound::Stage;
                    break;
                }
                _ = signalled(stop) => { stopped = true; break; }
            }
        }
        let mut ending = ending_of(up_done, down_done, timed_out || stopped);
        let mut taken = None;
        if ending == Ending::ServerReset {
            // SAFETY: the upstream socket is open until `a` and `b`, which
            // own its halves, are dropped at the end of this block.
            let fd = unsafe { std::os::fd::BorrowedFd::borrow_raw(upstream_fd) };
            let header_len = header.as_ref().map_or(0, Vec::len) as u64;
            taken = crate::net::bytes_acked(fd).map(|n| n.saturating_sub(header_len));
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
