//! The TLS half of `listen --tls` (building blocks; the connection code
//! calls them after the header stage): the server identity (`--cert`/
//! `--key`, or a self-signed ECDSA P-256 certificate made at start for the
//! listen addresses and localhost) with its SHA-256 fingerprint, a stream
//! that replays the bytes already read after the header before the socket,
//! the handshake with its facts (SNI, ALPN, version, cipher), and nginx's
//! answer to plain HTTP on a TLS port, byte for byte.

use std::io;
use std::net::IpAddr;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::ServerConfig;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::timeout;
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

use super::clock;
use super::nginx::SERVER;

/// The certificate a TLS listener presents, and how to tell it.
#[derive(Clone)]
pub(crate) struct Identity {
    pub config: Arc<ServerConfig>,
    /// SHA-256 of the certificate's DER, as `AB:CD:…` (what browsers and
    /// `openssl x509 -fingerprint -sha256` show).
    pub fingerprint: String,
    /// Made at start (no `--cert`/`--key`).
    pub generated: bool,
    /// The names it is valid for (generated ones; empty for `--cert`).
    pub names: Vec<String>,
    /// The certificate in PEM, so a client can be told to trust it.
    pub pem: String,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity")
            .field("fingerprint", &self.fingerprint)
            .field("generated", &self.generated)
            .field("names", &self.names)
            .finish()
    }
}

/// Why a TLS listener could not be set up.
#[derive(Debug, thiserror::Error)]
pub(crate) enum IdentityError {
    #[error("{what} {path}: {error}")]
    Read {
        what: &'static str,
        path: String,
        error: String,
    },
    #[error("--cert {0}: no certificate in the file (PEM expected)")]
    NoCertificate(String),
    #[error("the certificate and key do not make a TLS server: {0}")]
    Config(String),
    #[error("generating a self-signed certificate: {0}")]
    Generate(String),
}

/// The ALPN protocols a TLS listener accepts: it answers HTTP/1.1.
const ALPN: [&[u8]; 1] = [b"http/1.1"];

fn server_config(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<Arc<ServerConfig>, IdentityError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| IdentityError::Config(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| IdentityError::Config(e.to_string()))?;
    config.alpn_protocols = ALPN.iter().map(|p| p.to_vec()).collect();
    Ok(Arc::new(config))
}

/// SHA-256 of `der`, `AB:CD:…`.
pub(crate) fn fingerprint(der: &[u8]) -> String {
    crate::net::sha256(der)
}

/// The identity from `--cert`/`--key` (PEM files).
pub(crate) fn from_files(cert: &Path, key: &Path) -> Result<Identity, IdentityError> {
    let read = |what: &'static str, path: &Path, e: &dyn std::fmt::Display| IdentityError::Read {
        what,
        path: path.display().to_string(),
        error: e.to_string(),
    };
    let chain = CertificateDer::pem_file_iter(cert)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| read("--cert", cert, &e))?;
    let first = chain
        .first()
        .ok_or_else(|| IdentityError::NoCertificate(cert.display().to_string()))?;
    let fingerprint = fingerprint(first);
    let pem = std::fs::read_to_string(cert).map_err(|e| read("--cert", cert, &e))?;
    let key = PrivateKeyDer::from_pem_file(key).map_err(|e| read("--key", key, &e))?;
    Ok(Identity {
        config: server_config(chain, key)?,
        fingerprint,
        generated: false,
        names: Vec::new(),
        pem,
    })
}

/// A self-signed ECDSA P-256 certificate for `ips` and localhost, valid
/// from an hour ago for 30 days.
pub(crate) fn generate(ips: &[IpAddr]) -> Result<Identity, IdentityError> {
    let err = |e: rcgen::Error| IdentityError::Generate(e.to_string());
    let mut names = vec!["localhost".to_string()];
    for ip in ips {
        let name = if ip.is_unspecified() {
            // 0.0.0.0 / :: is no address a client uses: loopback stands in.
            match ip {
                IpAddr::V4(_) => "127.0.0.1".to_string(),
                IpAddr::V6(_) => "::1".to_string(),
            }
        } else {
            ip.to_string()
        };
        if !names.contains(&name) {
            names.push(name);
        }
    }
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(err)?;
    let mut params = rcgen::CertificateParams::new(names.clone()).map_err(err)?;
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "ppctl listen");
    let now = SystemTime::now();
    params.not_before = (now - Duration::from_secs(3600)).into();
    params.not_after = (now + Duration::from_secs(30 * 24 * 3600)).into();
    let cert = params.self_signed(&key).map_err(err)?;
    let der = cert.der().clone();
    let key = PrivateKeyDer::try_from(key.serialize_der())
        .map_err(|e| IdentityError::Generate(e.to_string()))?;
    Ok(Identity {
        fingerprint: fingerprint(&der),
        pem: cert.pem(),
        config: server_config(vec![der], key)?,
        generated: true,
        names,
    })
}

/// What the handshake agreed on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Facts {
    pub sni: Option<String>,
    pub alpn: Option<String>,
    /// `TLSv1.3`, `TLSv1.2`.
    pub version: String,
    /// The IANA name of the suite.
    pub cipher: String,
}

/// A connection's TLS, as the record keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TlsSeen {
    Done(Facts),
    Refused(Refused),
}

/// How the server side of a handshake ended badly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Refused {
    /// The bytes are not TLS (plain HTTP on a TLS port, or a header where
    /// none is expected).
    NotTls(String),
    /// The client sent an alert (it refused our certificate, most often).
    Alert(String),
    /// The client left or went silent.
    Closed,
    Timeout,
    Other(String),
}

impl Refused {
    /// In words, for the record's error.
    pub(crate) fn describe(&self) -> String {
        match self {
            Refused::NotTls(e) => format!("the client's bytes are not TLS ({e})"),
            Refused::Alert(a) => format!("the client sent the alert {a}"),
            Refused::Closed => "the client closed the connection".into(),
            Refused::Timeout => "no complete ClientHello before the timeout".into(),
            Refused::Other(e) => e.clone(),
        }
    }

    /// The client refused our certificate: its alert says so (rustls and
    /// OpenSSL send `BadCertificate`, `UnknownCA`, `CertificateExpired`,
    /// `CertificateUnknown`...).
    pub(crate) fn is_certificate(&self) -> bool {
        matches!(self, Refused::Alert(a) if a.contains("Certificate") || a.contains("UnknownCA"))
    }

    /// A stable word for JSON.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Refused::NotTls(_) => "not-tls",
            Refused::Alert(_) => "alert",
            Refused::Closed => "closed",
            Refused::Timeout => "timeout",
            Refused::Other(_) => "other",
        }
    }
}

/// Is this the start of a TLS handshake record (a ClientHello)?
pub(crate) fn is_client_hello(first: &[u8]) -> bool {
    matches!(first, [0x16, 0x03, ..]) || first == [0x16]
}

/// What a server connection agreed on.
fn facts(conn: &rustls::ServerConnection) -> Facts {
    Facts {
        sni: conn.server_name().map(str::to_string),
        alpn: conn
            .alpn_protocol()
            .map(|p| String::from_utf8_lossy(p).into_owned()),
        version: conn
            .protocol_version()
            .map(crate::net::version_name)
            .unwrap_or_default(),
        cipher: conn
            .negotiated_cipher_suite()
            .map(|s| format!("{:?}", s.suite()))
            .unwrap_or_default(),
    }
}

fn refused(e: &io::Error) -> Refused {
    if let Some(tls) = e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
        return match tls {
            rustls::Error::AlertReceived(a) => Refused::Alert(format!("{a:?}")),
            rustls::Error::InvalidMessage(_) | rustls::Error::InappropriateMessage { .. } => {
                Refused::NotTls(tls.to_string())
            }
            other => Refused::Other(other.to_string()),
        };
    }
    match e.kind() {
        io::ErrorKind::UnexpectedEof
        | io::ErrorKind::ConnectionReset
        | io::ErrorKind::BrokenPipe => Refused::Closed,
        io::ErrorKind::InvalidData => Refused::NotTls(e.to_string()),
        _ => Refused::Other(e.to_string()),
    }
}

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
            return Err(Refused::Other(format!(
                "could not watch the connection: {e}"
            )));
        }
        let tcp = match std::mem::replace(self, Stream::Closed) {
            Stream::Plain(tcp) => tcp,
            other => {
                *self = other;
                return Err(Refused::Other("TLS was started twice".into()));
            }
        };
        let acceptor = TlsAcceptor::from(identity.config.clone());
        let accepting = acceptor.accept(Prefixed::new(prefix, tcp)).into_fallible();
        match timeout(limit, accepting).await {
            Err(_) => Err(Refused::Timeout),
            Ok(Err((e, io))) => {
                *self = Stream::Plain(io.inner);
                Err(refused(&e))
            }
            Ok(Ok(stream)) => {
                let facts = facts(stream.get_ref().1);
                *self = Stream::Tls(Box::new(stream));
                Ok(facts)
            }
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

/// nginx's body for plain HTTP on an ssl listener (error 497, sent as 400).
const PLAIN_HTTP_BODY: &str = "<html>\r\n<head><title>400 The plain HTTP request was sent to HTTPS port</title></head>\r\n<body>\r\n\
<center><h1>400 Bad Request</h1></center>\r\n<center>The plain HTTP request was sent to HTTPS port</center>\r\n\
<hr><center>nginx/1.22.1</center>\r\n</body>\r\n</html>\r\n";

/// The exact response nginx 1.22.1 sends to plain HTTP on a `listen … ssl`
/// port (captured on loopback).
pub(crate) fn plain_http_to_https(now: SystemTime) -> Vec<u8> {
    format!(
        "HTTP/1.1 400 Bad Request\r\nServer: {SERVER}\r\nDate: {}\r\nContent-Type: text/html\r\n\
Content-Length: {}\r\nConnection: close\r\n\r\n{PLAIN_HTTP_BODY}",
        clock::http_date(now),
        PLAIN_HTTP_BODY.len()
    )
    .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[test]
    fn the_plain_http_page_is_nginx_s() {
        let page = plain_http_to_https(SystemTime::UNIX_EPOCH);
        let text = String::from_utf8(page.clone()).unwrap_or_default();
        assert!(text.starts_with("HTTP/1.1 400 Bad Request\r\nServer: nginx/1.22.1\r\n"));
        assert!(text.contains("Content-Length: 255\r\n"), "{text}");
        assert_eq!(
            crate::judge::Layer::of_plain(&page),
            crate::judge::Layer::PlainToTls
        );
    }

    #[test]
    fn a_generated_certificate_names_the_addresses_and_localhost() {
        let id = generate(&["0.0.0.0".parse().unwrap(), "127.0.0.2".parse().unwrap()]).unwrap();
        assert_eq!(id.names, ["localhost", "127.0.0.1", "127.0.0.2"]);
        assert_eq!(id.fingerprint.len(), 32 * 3 - 1);
        assert!(id.pem.starts_with("-----BEGIN CERTIFICATE-----"));
        assert!(id.generated);
        assert!(is_client_hello(&[0x16, 0x03, 0x01, 0x02]));
        assert!(!is_client_hello(b"PROXY TCP4"));
    }

    #[test]
    fn cert_and_key_files_make_an_identity() {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let cert = rcgen::CertificateParams::new(vec!["app.example.com".to_string()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let (c, k) = (dir.path().join("c.pem"), dir.path().join("k.pem"));
        std::fs::write(&c, cert.pem()).unwrap();
        std::fs::write(&k, key.serialize_pem()).unwrap();
        let id = from_files(&c, &k).unwrap();
        assert_eq!(id.fingerprint, fingerprint(cert.der()));
        assert!(!id.generated);
        std::fs::write(&c, "nothing").unwrap();
        assert!(matches!(
            from_files(&c, &k),
            Err(IdentityError::NoCertificate(_))
        ));
        assert!(matches!(
            from_files(&dir.path().join("missing"), &k),
            Err(IdentityError::Read { .. })
        ));
    }

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
        let id = generate(&["127.0.0.1".parse().unwrap()]).unwrap();
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
