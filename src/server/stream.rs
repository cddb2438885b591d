//! A connection's byte stream: the accepted socket (not registered with
//! the runtime until it must wait), or TLS over it once the handshake is
//! done, with the bytes the header stage read past the header replayed
//! first.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::timeout;
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

use super::record::Fault;
use super::tls::{self, Facts, Identity, Refused};

/// A stream that first yields bytes already read (what followed the
/// header in the header stage's buffer), then reads the socket.
pub(crate) struct Prefixed<S> {
    pub prefix: Vec<u8>,
    pub at: usize,
    pub inner: S,
}

impl<S> Prefixed<S> {
    pub(crate) fn new(prefix: Vec<u8>, inner: S) -> Self {
        Prefixed {
            prefix,
            at: 0,
            inner,
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Prefixed<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if this.at < this.prefix.len() {
            let n = buf.remaining().min(this.prefix.len() - this.at);
            buf.put_slice(&this.prefix[this.at..this.at + n]);
            this.at += n;
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Prefixed<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    /// rustls hands over what it has queued (a handshake flight is a few
    /// records, then the session tickets) as one vectored write: pass it on
    /// whole, so it costs one `writev`, not one `sendto` per record (the
    /// default writes the first buffer only).
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// A connection's stream: the socket, or TLS over it once the handshake
/// is done (with the bytes read before it replayed first), or nothing
/// (a handshake that timed out took the socket with it).
pub(crate) enum Stream {
    /// As accepted: not registered with the runtime until it must wait
    /// (the first poll registers it and makes it `Plain`).
    Raw(std::net::TcpStream),
    Plain(TcpStream),
    Tls(Box<TlsStream<Prefixed<TcpStream>>>),
    Closed,
}

impl Stream {
    /// Start TLS on a plain stream; `prefix` is what was read after the
    /// header. On failure the socket stays (to be closed by the caller).
    pub(crate) async fn start_tls(
        &mut self,
        identity: &Identity,
        prefix: Vec<u8>,
        limit: Duration,
    ) -> Result<Facts, Refused> {
        if let Err(e) = self.register() {
            return Err(Refused::Unwatched(Fault::of(&e)));
        }
        let tcp = match std::mem::replace(self, Stream::Closed) {
            Stream::Plain(tcp) => tcp,
            other => {
                *self = other;
                return Err(Refused::Unwatched(Fault::of(
                    &io::ErrorKind::AlreadyExists.into(),
                )));
            }
        };
        let acceptor = TlsAcceptor::from(identity.config.clone());
        let accepting = acceptor.accept(Prefixed::new(prefix, tcp)).into_fallible();
        match timeout(limit, accepting).await {
            Err(_) => Err(Refused::Timeout),
            Ok(Err((e, io))) => {
                *self = Stream::Plain(io.inner);
                Err(tls::refused(&e))
            }
            Ok(Ok(stream)) => {
                let facts = tls::facts(stream.get_ref().1);
                *self = Stream::Tls(Box::new(stream));
                Ok(facts)
            }
        }
    }

    /// The plain socket, registered with the runtime (for a relay's copy
    /// loops, which wait on both directions at once).
    pub(crate) fn into_tcp(mut self) -> io::Result<TcpStream> {
        self.register()?;
        match self {
            Stream::Plain(s) => Ok(s),
            _ => Err(io::ErrorKind::NotConnected.into()),
        }
    }

    /// TLS is on.
    pub(crate) fn is_tls(&self) -> bool {
        matches!(self, Stream::Tls(_))
    }

    /// The socket, when no TLS session stands between it and the bytes
    /// (for reads and writes that do not wait).
    pub(crate) fn plain(&self) -> Option<socket2::SockRef<'_>> {
        match self {
            Stream::Raw(s) => Some(socket2::SockRef::from(s)),
            Stream::Plain(s) => Some(socket2::SockRef::from(s)),
            Stream::Tls(_) | Stream::Closed => None,
        }
    }

    /// Register a raw socket with the runtime, before the first wait.
    fn register(&mut self) -> io::Result<()> {
        if let Stream::Raw(_) = self {
            if let Stream::Raw(s) = std::mem::replace(self, Stream::Closed) {
                *self = Stream::Plain(TcpStream::from_std(s)?);
            }
        }
        Ok(())
    }
}

impl AsyncRead for Stream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.register()?;
        match &mut *self {
            // Not reached: registered above.
            Stream::Raw(_) => Poll::Ready(Err(io::ErrorKind::NotConnected.into())),
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
            Stream::Closed => Poll::Ready(Ok(())),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.register()?;
        match &mut *self {
            // Not reached: registered above.
            Stream::Raw(_) => Poll::Ready(Err(io::ErrorKind::NotConnected.into())),
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
            Stream::Closed => Poll::Ready(Err(io::ErrorKind::NotConnected.into())),
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut *self {
            Stream::Raw(_) => Poll::Ready(Ok(())),
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
            Stream::Closed => Poll::Ready(Ok(())),
        }
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut *self {
            // Nothing buffered: the FIN goes now, no wait needed.
            Stream::Raw(s) => Poll::Ready(s.shutdown(std::net::Shutdown::Write)),
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
            Stream::Closed => Poll::Ready(Ok(())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[test]
    fn the_prefixed_stream_writes_a_vector_in_one_call() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let mut client = TcpStream::connect(addr).await.unwrap();
            let (sock, _) = listener.accept().await.unwrap();
            let mut stream = Prefixed::new(b"before".to_vec(), sock);
            assert!(stream.is_write_vectored());
            // rustls hands its queued records over like this: all of them
            // go, not only the first (the default of poll_write_vectored).
            let bufs = [io::IoSlice::new(b"one "), io::IoSlice::new(b"two")];
            assert_eq!(stream.write_vectored(&bufs).await.unwrap(), 7);
            stream.shutdown().await.unwrap();
            let mut got = Vec::new();
            client.read_to_end(&mut got).await.unwrap();
            assert_eq!(got, b"one two");
            let mut replayed = [0u8; 6];
            stream.read_exact(&mut replayed).await.unwrap();
            assert_eq!(&replayed, b"before");
        });
    }

    #[test]
    fn a_client_handshakes_through_the_prefix() {
        let id = tls::generate(&["127.0.0.1".parse().unwrap()]).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let server = tokio::spawn(async move {
                let (mut sock, _) = listener.accept().await.unwrap();
                // The header stage read the header and a few bytes more.
                let mut first = vec![0u8; 40];
                sock.read_exact(&mut first).await.unwrap();
                let rest = first[32..].to_vec();
                let mut tls = Stream::Plain(sock);
                let facts = tls
                    .start_tls(&id, rest, Duration::from_secs(5))
                    .await
                    .unwrap();
                assert!(tls.is_tls());
                let mut buf = [0u8; 5];
                tls.read_exact(&mut buf).await.unwrap();
                tls.write_all(b"pong!").await.unwrap();
                tls.shutdown().await.unwrap();
                (facts, buf)
            });
            let client = tokio::spawn(async move {
                let opts = crate::net::TlsOptions {
                    sni: Some("localhost".into()),
                    verify_name: "localhost".into(),
                    alpn: vec!["http/1.1".into()],
                    verify: crate::net::Verify::Insecure,
                };
                crate::net::tls_exchange(&[addr], &crate::net::Options::default(), &opts, |_, _| {
                    Ok::<_, ()>(crate::net::Message {
                        header: vec![b'x'; 32],
                        payload: b"ping!".to_vec(),
                    })
                })
                .await
                .unwrap()
            });
            let (facts, got) = server.await.unwrap();
            let (reply, handshake) = client.await.unwrap();
            assert_eq!(&got, b"ping!");
            assert_eq!(reply.received, b"pong!");
            assert_eq!(facts.sni.as_deref(), Some("localhost"));
            assert_eq!(facts.alpn.as_deref(), Some("http/1.1"));
            assert_eq!(facts.version, "TLSv1.3");
            let cert = handshake.certificate.unwrap();
            assert_eq!(cert.subject, "CN=ppctl listen");
            assert!(cert.self_signed && cert.matches_name);
        });
    }
}
