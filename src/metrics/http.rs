//! A bounded HTTP/1.1 server for scrapes: at most `max_connections` at
//! once (the next one waits in the kernel's backlog), a deadline on every
//! request head, and a graceful stop: on the first stop level no new
//! connection is taken and the requests in flight get `drain` to finish;
//! the second level ends them at once.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::select_all;
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};

/// Every response's body: the whole text at once (an exposition, a page).
pub(crate) type Body = Full<Bytes>;

/// The server's bounds.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// Connections served at once; more wait to be accepted.
    pub max_connections: usize,
    /// A request head must arrive within this (a client that opens a
    /// connection and sends nothing is closed).
    pub header_timeout: Duration,
    /// How long the requests in flight may take once a stop began.
    pub drain: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: 512,
            header_timeout: Duration::from_secs(10),
            drain: Duration::from_secs(15),
        }
    }
}

/// The most a request head may take (hyper's read buffer): a scrape's
/// request line and headers are a few hundred bytes.
const MAX_HEAD: usize = 16 * 1024;

/// A response with `status`, a `Content-Type` and `body`.
pub(crate) fn response(status: u16, content_type: &str, body: String) -> Response<Body> {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() =
        hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    if let Ok(v) = hyper::header::HeaderValue::from_str(content_type) {
        r.headers_mut().insert(hyper::header::CONTENT_TYPE, v);
    }
    r
}

/// Plain text, for what is not an exposition.
pub(crate) const TEXT: &str = "text/plain; charset=utf-8";

/// `405` for a method other than GET or HEAD (`None` for those).
pub(crate) fn only_get(method: &hyper::Method) -> Option<Response<Body>> {
    if method == hyper::Method::GET || method == hyper::Method::HEAD {
        return None;
    }
    let mut r = response(405, TEXT, format!("{method} is not served here: use GET\n"));
    r.headers_mut().insert(
        hyper::header::ALLOW,
        hyper::header::HeaderValue::from_static("GET, HEAD"),
    );
    Some(r)
}

/// Serve `listeners` with `handler` until `stop` reaches 1 (stop taking
/// connections, let those in flight finish within [`Limits::drain`]) or 2
/// (end now). An accept error that is not about one connection ends it
/// with that error.
pub(crate) async fn serve<H, F>(
    listeners: Vec<TcpListener>,
    handler: H,
    mut stop: watch::Receiver<u8>,
    limits: Limits,
) -> io::Result<()>
where
    H: Fn(Request<Incoming>, SocketAddr) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Response<Body>> + Send + 'static,
{
    if listeners.is_empty() {
        return Ok(());
    }
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_buf_size(MAX_HEAD);
    let result = loop {
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break Ok(()),
            },
            _ = stop.wait_for(|l| *l >= 1) => break Ok(()),
        };
        let accepted = tokio::select! {
            (accepted, _, _) = select_all(listeners.iter().map(|l| Box::pin(l.accept()))) => accepted,
            _ = stop.wait_for(|l| *l >= 1) => break Ok(()),
        };
        let (stream, peer) = match accepted {
            Ok(a) => a,
            // One connection's trouble (reset before accept, out of
            // descriptors for a moment): wait a little, go on.
            Err(e) if transient(&e) => {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
            Err(e) => break Err(e),
        };
        let _ = stream.set_nodelay(true);
        let handler = handler.clone();
        let conn = http.serve_connection(
            TokioIo::new(stream),
            service_fn(move |req| {
                let answer = handler(req, peer);
                async move { Ok::<_, Infallible>(answer.await) }
            }),
        );
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            // A client that goes away mid-request is its own business.
            let _ = conn.await;
            drop(slot);
        });
    };
    drop(listeners);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(limits.drain) => {}
        _ = stop.wait_for(|l| *l >= 2) => {}
    }
    result
}

/// Accept errors that concern one connection or a passing shortage.
fn transient(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::Interrupted
            | io::ErrorKind::WouldBlock
    ) || matches!(
        e.raw_os_error(),
        Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM)
    )
}
