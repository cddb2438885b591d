//! The accept-and-drain lifecycle of every server, in the mini-redis
//! shape: a semaphore bounds the connections in flight (past it, new
//! clients wait in the kernel backlog), `--count` stops accepting after N
//! connections, a shutdown future starts the drain, and the drain is
//! bounded (`--drain`) or cut short at once (`now`: a second signal, or
//! nobody reads the output any more). Connections learn that they must end
//! from the `stop` flag they are handed. With `accept_threads` above one,
//! each further thread accepts on the same listening sockets and serves
//! what it took on a `current_thread` runtime of its own (nginx's workers'
//! shape); the slots, the count and both flags are shared.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::unix::AsyncFd;
use tokio::io::Interest;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch, Semaphore, TryAcquireError};
use tokio::task::JoinSet;

/// The bounds of one server.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// Connections served at once (`--max-conns`).
    pub max_conns: usize,
    /// Stop accepting after this many connections (`--count`).
    pub count: Option<u64>,
    /// How long connections in flight get to finish after a shutdown.
    pub drain: Duration,
    /// Threads that accept and serve, each with a runtime of its own
    /// (`current_thread`) past the first: a connection lives and ends on
    /// the thread that accepted it.
    pub accept_threads: usize,
}

impl Limits {
    /// Descriptors the threads past the first hold of their own: each its
    /// event loop, its waker and a copy of the listener. Counted before
    /// they are open, so nothing else takes them (relay's pipes).
    pub(crate) fn thread_descriptors(accept_threads: usize) -> u64 {
        3 * (accept_threads.max(1) as u64 - 1)
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_conns: super::MAX_CONNS,
            count: None,
            drain: super::DRAIN,
            accept_threads: 1,
        }
    }
}

/// What every accept loop (and listen's UDP sockets) shares: the slots,
/// the connection count, and the two flags.
pub(crate) struct Gate {
    conns: Arc<Semaphore>,
    accepted: AtomicU64,
    count: Option<u64>,
    /// Set to stop accepting (shutdown, or `--count` reached).
    quit: watch::Sender<bool>,
    /// Set once the drain bound has passed: connections end now.
    stop: watch::Receiver<bool>,
    /// `accept()` calls refused for want of a file descriptor (EMFILE,
    /// ENFILE): the client stays in the kernel's backlog and is taken
    /// after a back-off. Shared with `--metrics`' meter.
    out_of_descriptors: Arc<AtomicU64>,
}

impl Gate {
    /// The next connection's id (from 1); `None` when `--count` is used up.
    pub(crate) fn claim(&self) -> Option<u64> {
        let n = self.accepted.fetch_add(1, Ordering::SeqCst) + 1;
        match self.count {
            Some(max) if n > max => None,
            Some(max) => {
                if n == max {
                    self.quit.send_replace(true);
                }
                Some(n)
            }
            None => Some(n),
        }
    }

    /// Resolves once the server stops accepting.
    pub(crate) fn quitting(&self) -> watch::Receiver<bool> {
        self.quit.subscribe()
    }

    /// The flag that tells a connection to end now.
    pub(crate) fn stop(&self) -> watch::Receiver<bool> {
        self.stop.clone()
    }
}

/// The pause after an `accept()` that failed (no descriptor left, most
/// often) before the next try: the listener stays readable, so retrying at
/// once would spin.
pub(crate) const ACCEPT_BACKOFF: Duration = Duration::from_millis(20);

/// One accepted TCP connection, handed to the server's handler.
pub(crate) struct Accepted {
    /// Non-blocking, and not registered with the runtime yet: a connection
    /// served without waiting (its bytes were in when it was accepted, and
    /// the answer fit in the socket buffer) never costs the two
    /// `epoll_ctl` of a registration. `TcpStream::from_std` registers it
    /// once it must wait.
    pub stream: std::net::TcpStream,
    /// The client, as an IPv4 address when it is one (see [`canonical`]).
    pub peer: SocketAddr,
    pub local: SocketAddr,
    /// Accept order, from 1.
    pub id: u64,
    /// Set when the connection must end now (the drain is over).
    pub stop: watch::Receiver<bool>,
}

/// Resolves once `flag` is set (or its sender is gone).
pub(crate) async fn signalled(flag: &mut watch::Receiver<bool>) {
    let _ = flag.wait_for(|set| *set).await;
}

/// A dual-stack socket reports IPv4 peers as `::ffff:a.b.c.d`; show them
/// as the IPv4 addresses they are.
pub(crate) fn canonical(a: SocketAddr) -> SocketAddr {
    SocketAddr::new(a.ip().to_canonical(), a.port())
}

/// How a server's run ended.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Ended {
    /// A shutdown (not `--count`) ended the run.
    pub interrupted: bool,
    /// `accept()` calls refused for want of a file descriptor.
    pub out_of_descriptors: u64,
}

/// Serve `listeners` with `handle` (one task per connection) until
/// `shutdown` resolves or `--count` connections were accepted, then drain.
/// `extra` may add tasks that share the gate (listen's UDP sockets).
/// Accepts refused for want of a descriptor are counted in
/// `out_of_descriptors`.
pub(crate) async fn run<H, Fut>(
    listeners: Vec<TcpListener>,
    limits: Limits,
    out_of_descriptors: Arc<AtomicU64>,
    shutdown: impl Future,
    now: impl Future,
    extra: impl FnOnce(&Arc<Gate>, &mut JoinSet<()>),
    handle: H,
) -> Ended
where
    H: Fn(Accepted) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let (stop_tx, stop_rx) = watch::channel(false);
    let (quit_tx, _) = watch::channel(false);
    let gate = Arc::new(Gate {
        conns: Arc::new(Semaphore::new(limits.max_conns.max(1))),
        accepted: AtomicU64::new(0),
        count: limits.count,
        quit: quit_tx,
        stop: stop_rx,
        out_of_descriptors,
    });
    let handle = Arc::new(handle);
    // Each connection task holds a clone; `recv` yields None once all ended.
    let (done_tx, mut done_rx) = mpsc::channel::<()>(1);
    // Accepted outside tokio's TcpListener, whose streams come registered.
    let listeners: Vec<std::net::TcpListener> = listeners
        .into_iter()
        .filter_map(|l| l.into_std().ok())
        .collect();
    // Past the first, each thread accepts on copies of the listeners (the
    // same sockets: one queue each, no SO_REUSEPORT, which would let another
    // process of this user bind the port unnoticed).
    let mut threads = Vec::new();
    for _ in 1..limits.accept_threads.max(1) {
        let copies = listeners.iter().filter_map(|l| l.try_clone().ok());
        let copies = copies.collect();
        if let Some(t) = accept_thread(copies, gate.clone(), done_tx.clone(), handle.clone()) {
            threads.push(t);
        }
    }
    // Should this future be dropped before its end, the threads stop too.
    let _ends_threads = EndsThreads {
        gate: &gate,
        stop: &stop_tx,
    };
    let mut loops = JoinSet::new();
    for l in listeners {
        loops.spawn(accept_loop(
            l,
            gate.clone(),
            done_tx.clone(),
            handle.clone(),
        ));
    }
    extra(&gate, &mut loops);
    drop(done_tx);

    let interrupted = tokio::select! {
        _ = shutdown => true,
        _ = async { while loops.join_next().await.is_some() {} } => false,
    };
    gate.quit.send_replace(true);
    while loops.join_next().await.is_some() {}

    // After `--count`, the last connections finish on their own (each is
    // bounded by its timeouts). After a shutdown they get `drain` to
    // finish. Either way `now` cuts it short; then they are told to stop.
    let drained = if interrupted {
        tokio::select! {
            _ = done_rx.recv() => true,
            _ = tokio::time::sleep(limits.drain) => false,
            _ = now => false,
        }
    } else {
        tokio::select! {
            _ = done_rx.recv() => true,
            _ = now => false,
        }
    };
    if !drained {
        stop_tx.send_replace(true);
        done_rx.recv().await;
    }
    // Each thread let go of `done` after its runtime was dropped.
    for t in threads {
        let _ = tokio::task::spawn_blocking(move || t.join()).await;
    }
    Ended {
        interrupted,
        out_of_descriptors: gate.out_of_descriptors.load(Ordering::Relaxed),
    }
}

/// Stops the accept threads (and their connections) when dropped.
struct EndsThreads<'a> {
    gate: &'a Gate,
    stop: &'a watch::Sender<bool>,
}

impl Drop for EndsThreads<'_> {
    fn drop(&mut self) {
        self.gate.quit.send_replace(true);
        self.stop.send_replace(true);
    }
}

/// A thread of its own that accepts on `listeners` (copies of the
/// server's, sharing their queues) and serves what it accepts to the end
/// on its own `current_thread` runtime: no connection wakes another
/// thread. `done` is let go once every connection of the thread has
/// ended. `None` if the thread or its runtime could not start (the other
/// threads serve).
fn accept_thread<H, Fut>(
    listeners: Vec<std::net::TcpListener>,
    gate: Arc<Gate>,
    done: mpsc::Sender<()>,
    handle: Arc<H>,
) -> Option<std::thread::JoinHandle<()>>
where
    H: Fn(Accepted) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let runtime = crate::net::runtime_here().ok()?;
    let thread = std::thread::Builder::new()
        .name("ppctl-server".into())
        .spawn(move || {
            runtime.block_on(async move {
                let (mine_tx, mut mine_rx) = mpsc::channel::<()>(1);
                let mut loops = JoinSet::new();
                for l in listeners {
                    loops.spawn(accept_loop(
                        l,
                        gate.clone(),
                        mine_tx.clone(),
                        handle.clone(),
                    ));
                }
                drop(mine_tx);
                while loops.join_next().await.is_some() {}
                // None once the last connection of this thread has ended.
                mine_rx.recv().await;
            });
            drop(runtime);
            drop(done);
        });
    thread.ok()
}

async fn accept_loop<H, Fut>(
    mut std_listener: std::net::TcpListener,
    gate: Arc<Gate>,
    done: mpsc::Sender<()>,
    handle: Arc<H>,
) where
    H: Fn(Accepted) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let mut quit = gate.quitting();
    let listener = loop {
        // SAFETY: the std listener owns its descriptor, and it is never
        // replaced or closed while the AsyncFd holds it.
        match unsafe { AsyncFd::register_with_interest(std_listener, Interest::READABLE) } {
            Ok(l) => break l,
            // Out of memory or epoll watches: back off as for EMFILE below.
            Err(e) => {
                std_listener = e.into_parts().0;
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_millis(20)) => {}
                    _ = signalled(&mut quit) => return,
                }
            }
        }
    };
    // Bound to one address: every connection's local end is that address
    // (no getsockname per connection). A wildcard asks each socket.
    let bound = listener
        .get_ref()
        .local_addr()
        .ok()
        .filter(|a| !a.ip().is_unspecified());
    loop {
        // Under load a slot is free and a client waits: both are taken
        // without a `select!` (whose futures cost as much as the accept
        // itself, docs/performance.md), and the loop only waits when one
        // is missing. The task budget makes it yield now and then, as
        // those waits would, so a backlog of clients does not keep the
        // accepted ones from running.
        tokio::task::coop::consume_budget().await;
        if *quit.borrow() {
            return;
        }
        // Wait for a free slot before accepting: past --max-conns, new
        // clients wait in the kernel backlog.
        let permit = match gate.conns.clone().try_acquire_owned() {
            Ok(p) => p,
            Err(TryAcquireError::Closed) => return,
            Err(TryAcquireError::NoPermits) => tokio::select! {
                p = gate.conns.clone().acquire_owned() => match p {
                    Ok(p) => p,
                    Err(_) => return,
                },
                _ = signalled(&mut quit) => return,
            },
        };
        let taken = match listener.try_io(Interest::READABLE, take) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => tokio::select! {
                r = accept(&listener) => r,
                _ = signalled(&mut quit) => return,
            },
            other => other,
        };
        let (stream, peer) = match taken {
            Ok(x) => x,
            // EMFILE and friends: back off briefly rather than spin (the
            // client waits in the backlog). Running out of descriptors is
            // counted: the summary reports it.
            Err(e) => {
                if crate::net::local_limit(&e) {
                    gate.out_of_descriptors.fetch_add(1, Ordering::Relaxed);
                }
                tokio::time::sleep(ACCEPT_BACKOFF).await;
                continue;
            }
        };
        let Some(id) = gate.claim() else { return };
        let local = match bound {
            Some(a) => a,
            None => stream
                .local_addr()
                .unwrap_or_else(|_| listener.get_ref().local_addr().unwrap_or(peer)),
        };
        let accepted = Accepted {
            stream,
            peer: canonical(peer),
            local: canonical(local),
            id,
            stop: gate.stop(),
        };
        // Boxed: a connection's state is kilobytes (its record, a relay's
        // two copy loops), and a task's future is copied whole when it is
        // spawned, when it first runs and at each change of the task's
        // stage. In a box it is copied once; the task holds a pointer.
        let task = Box::pin(handle(accepted));
        let done = done.clone();
        tokio::spawn(async move {
            task.await;
            drop(permit);
            drop(done);
        });
    }
}

/// The next connection on `listener`: non-blocking, close-on-exec, not
/// registered with the runtime.
async fn accept(
    listener: &AsyncFd<std::net::TcpListener>,
) -> io::Result<(std::net::TcpStream, SocketAddr)> {
    loop {
        let mut ready = listener.readable().await?;
        // WouldBlock clears the readiness and waits for the next edge.
        if let Ok(r) = ready.try_io(|l| take(l.get_ref())) {
            return r;
        }
    }
}

fn take(listener: &std::net::TcpListener) -> io::Result<(std::net::TcpStream, SocketAddr)> {
    let (socket, addr) =
        socket2::SockRef::from(listener).accept4(libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC)?;
    let peer = addr
        .as_socket()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "a peer that is not IP"))?;
    Ok((socket.into(), peer))
}
