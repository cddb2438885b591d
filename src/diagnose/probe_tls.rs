//! The TLS leg of `probe`: header in clear, then a TLS handshake (rustls,
//! certificate never verified: the probe is about the header, not about
//! who the server is), then one HTTP request inside TLS.
//!
//! `net::exchange` writes bytes and reads a reply; it has no TLS, so this
//! leg connects itself, with blocking sockets and per-operation timeouts
//! (it runs on a blocking thread of the probe's runtime), each cut to what
//! is left before the attempt's deadline (`--max-time`).

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, ClientConnection, DigitallySignedStruct, SignatureScheme};

use crate::net::Certificate;

/// How a TLS attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TlsEnd {
    Refused(String),
    ConnectTimeout,
    ConnectError(String),
    /// The handshake finished; the answer to the request sent inside TLS,
    /// up to [`MAX_REPLY`] bytes (empty when none came).
    HandshakeOk {
        version: String,
        reply: Vec<u8>,
        /// The server's certificate (its expiry is the exporter's
        /// `ppctl_probe_tls_cert_expiry_timestamp_seconds`).
        certificate: Option<Box<Certificate>>,
    },
    /// The server sent a TLS alert.
    Alert(String),
    /// The server answered with something that is not TLS.
    NotTls(String),
    Closed,
    Reset,
    Timeout,
    /// The attempt's time limit (`--max-time`) came first.
    MaxTime,
    Error(String),
}

/// Accepts any certificate: the probe asks "is the header accepted?", not
/// "is this the right server?".
#[derive(Debug)]
struct AcceptAnyCert(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAnyCert {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }

    fn verify_tls13_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

fn config() -> Result<Arc<ClientConfig>, rustls::Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AcceptAnyCert(provider)))
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// One TLS attempt: how it ended and what was on the wire.
#[derive(Debug, Clone)]
pub(crate) struct TlsRun {
    pub end: TlsEnd,
    /// The header bytes sent in clear before the ClientHello.
    pub header: Vec<u8>,
    pub local: Option<SocketAddr>,
    pub peer: Option<SocketAddr>,
    /// The first bytes the server sent, as read off the socket (TLS
    /// records, or a plain-text answer when it does not speak TLS).
    pub clear: Vec<u8>,
}

/// At most this much of the server's first bytes on the wire is kept.
const KEPT: usize = 512;

/// At most this much of the answer inside TLS is read (the bound of the
/// probe's plain HTTP attempts too).
pub(crate) const MAX_REPLY: usize = 4096;

/// Connect to the first address that answers, write `header(local, peer)`,
/// then handshake with `sni` and send `request` inside TLS.
pub(crate) fn attempt(
    addrs: &[SocketAddr],
    timeout: Duration,
    deadline: Instant,
    sni: &str,
    request: &[u8],
    header: impl FnOnce(SocketAddr, SocketAddr) -> Vec<u8>,
) -> TlsRun {
    let mut run = TlsRun {
        end: TlsEnd::ConnectTimeout,
        header: Vec::new(),
        local: None,
        peer: None,
        clear: Vec::new(),
    };
    let sock = match connect(addrs, timeout, deadline) {
        Ok(s) => s,
        Err(end) => {
            run.end = end;
            return run;
        }
    };
    let (local, peer) = match (sock.local_addr(), sock.peer_addr()) {
        (Ok(l), Ok(p)) => (l, p),
        (Err(e), _) | (_, Err(e)) => {
            run.end = TlsEnd::ConnectError(e.to_string());
            return run;
        }
    };
    (run.local, run.peer) = (Some(local), Some(peer));
    run.header = header(local, peer);
    let _ = sock.set_nodelay(true);
    let mut tee = Tee {
        sock,
        seen: Vec::new(),
        timeout,
        deadline,
        hit: false,
    };
    run.end = if run.header.is_empty() {
        handshake(&mut tee, sni, request)
    } else {
        let header = run.header.clone();
        match tee.write_all(&header) {
            Ok(()) => handshake(&mut tee, sni, request),
            Err(e) => io_end(&e),
        }
    };
    if tee.hit && !matches!(run.end, TlsEnd::HandshakeOk { .. }) {
        run.end = TlsEnd::MaxTime;
    }
    run.clear = tee.seen;
    run
}

/// The socket, keeping a copy of the first bytes read from it; every read
/// and write waits at most `timeout`, and none goes past `deadline`.
struct Tee {
    sock: TcpStream,
    seen: Vec<u8>,
    timeout: Duration,
    deadline: Instant,
    /// The deadline ended a read or a write.
    hit: bool,
}

impl Tee {
    /// Set the socket's timeouts to what is left; an error at the deadline.
    fn arm(&mut self) -> io::Result<()> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            self.hit = true;
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the attempt's time limit (--max-time) came",
            ));
        }
        let wait = Some(self.timeout.min(left));
        self.sock.set_read_timeout(wait)?;
        self.sock.set_write_timeout(wait)
    }
}

impl Read for Tee {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.arm()?;
        let n = self.sock.read(buf).inspect_err(|_| {
            self.hit |= Instant::now() >= self.deadline;
        })?;
        let room = KEPT.saturating_sub(self.seen.len());
        self.seen.extend_from_slice(&buf[..n.min(room)]);
        Ok(n)
    }
}

impl Write for Tee {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.arm()?;
        self.sock.write(buf).inspect_err(|_| {
            self.hit |= Instant::now() >= self.deadline;
        })
    }

    fn flush(&mut self) -> io::Result<()> {
        self.sock.flush()
    }
}

fn connect(
    addrs: &[SocketAddr],
    timeout: Duration,
    deadline: Instant,
) -> Result<TcpStream, TlsEnd> {
    let mut last = TlsEnd::ConnectError("no address to connect to".into());
    for addr in addrs {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(TlsEnd::ConnectTimeout);
        }
        match TcpStream::connect_timeout(addr, timeout.min(left)) {
            Ok(s) => return Ok(s),
            Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
                last = TlsEnd::Refused(format!("{addr}: {e}"))
            }
            Err(e)
                if e.kind() == io::ErrorKind::TimedOut || e.kind() == io::ErrorKind::WouldBlock =>
            {
                last = TlsEnd::ConnectTimeout
            }
            Err(e) => last = TlsEnd::ConnectError(format!("{addr}: {e}")),
        }
    }
    Err(last)
}

fn handshake(sock: &mut Tee, sni: &str, request: &[u8]) -> TlsEnd {
    let config = match config() {
        Ok(c) => c,
        Err(e) => return TlsEnd::Error(format!("TLS setup: {e}")),
    };
    let name = match ServerName::try_from(sni.to_string()) {
        Ok(n) => n,
        Err(e) => return TlsEnd::Error(format!("{sni:?} is not a valid TLS server name: {e}")),
    };
    let mut conn = match ClientConnection::new(config, name) {
        Ok(c) => c,
        Err(e) => return TlsEnd::Error(format!("TLS setup: {e}")),
    };
    while conn.is_handshaking() {
        match conn.complete_io(sock) {
            Ok((0, 0)) if conn.is_handshaking() => return TlsEnd::Closed,
            Ok(_) => {}
            Err(e) => return io_end(&e),
        }
    }
    let version = conn
        .protocol_version()
        .map(crate::net::version_name)
        .unwrap_or_else(|| "TLS".into());
    let certificate = conn
        .peer_certificates()
        .and_then(|c| c.first())
        .and_then(|der| Certificate::of(der, sni))
        .map(Box::new);
    let mut tls = rustls::Stream::new(&mut conn, sock);
    let mut reply = Vec::new();
    if tls.write_all(request).is_ok() {
        read_reply(&mut tls, &mut reply);
    }
    TlsEnd::HandshakeOk {
        version,
        reply,
        certificate,
    }
}

/// Read the answer inside TLS until the server closes (the request says
/// `Connection: close`), an error, a silence of the timeout, or
/// [`MAX_REPLY`] bytes; what came before any of them is the reply.
fn read_reply(tls: &mut impl Read, reply: &mut Vec<u8>) {
    let mut buf = [0u8; 2048];
    while reply.len() < MAX_REPLY {
        match tls.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                let room = MAX_REPLY - reply.len();
                reply.extend_from_slice(&buf[..n.min(room)]);
            }
        }
    }
}

/// Map an I/O error from the socket or from rustls to an outcome.
fn io_end(e: &io::Error) -> TlsEnd {
    match e.kind() {
        io::ErrorKind::ConnectionReset
        | io::ErrorKind::ConnectionAborted
        | io::ErrorKind::BrokenPipe => TlsEnd::Reset,
        io::ErrorKind::UnexpectedEof => TlsEnd::Closed,
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => TlsEnd::Timeout,
        io::ErrorKind::InvalidData => {
            match e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
                Some(rustls::Error::AlertReceived(a)) => TlsEnd::Alert(format!("{a:?}")),
                Some(rustls::Error::InvalidMessage(m)) => {
                    TlsEnd::NotTls(format!("not a TLS record ({m:?})"))
                }
                Some(other) => TlsEnd::Error(other.to_string()),
                None => TlsEnd::Error(e.to_string()),
            }
        }
        _ => TlsEnd::Error(e.to_string()),
    }
}
