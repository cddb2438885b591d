//! One exchange with TLS after the header (`send --tls`): connect, write the
//! PROXY header in clear (split as asked), run the TLS handshake (rustls),
//! then send the payload inside TLS and read the reply.
//!
//! The handshake is reported as plain facts ([`Handshake`]): the protocol
//! version, the cipher suite, the ALPN protocol, the server's certificate
//! (subject, issuer, names, validity, whether it matches the SNI), or how
//! it failed and what came back in clear instead of a ServerHello, which
//! is what tells a receiver that read the header as TLS from one that
//! wanted a header and got a ClientHello. The caller judges.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use super::tcp::{bounded, connect, keep, read_reply, write_message, Cut, READ_CHUNK};
use super::{End, Message, NetError, Options, Transcript};

/// How the client checks the server's certificate.
#[derive(Debug, Clone)]
pub enum Verify {
    /// Against these roots (the system's, or `--cacert`), as curl does;
    /// `pinned` (the `--cacert` certificates) are also trusted as
    /// themselves, so a self-signed server certificate can be given.
    Roots {
        roots: Arc<RootCertStore>,
        pinned: Vec<CertificateDer<'static>>,
    },
    /// Not at all (`--insecure`): the facts are still reported.
    Insecure,
}

/// The TLS side of one exchange.
#[derive(Debug, Clone)]
pub struct TlsOptions {
    /// The SNI to send; `None` sends none (an IP target without `--sni`).
    /// A certificate is still checked against the target's IP then.
    pub sni: Option<String>,
    /// The name the certificate is checked against (the SNI, or the IP).
    pub verify_name: String,
    /// ALPN protocols to offer, most preferred first.
    pub alpn: Vec<String>,
    pub verify: Verify,
}

/// Why the roots could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum RootsError {
    #[error("--cacert {path}: {error}")]
    CaFile { path: String, error: String },
    #[error("--cacert {0}: no certificate in the file (PEM expected)")]
    Empty(String),
}

/// How to verify: against the certificates of `cacert` (PEM) when given,
/// else the system's store (nothing is fetched).
pub fn roots(cacert: Option<&Path>) -> Result<Verify, RootsError> {
    let mut store = RootCertStore::empty();
    let mut pinned = Vec::new();
    match cacert {
        Some(path) => {
            let shown = path.display().to_string();
            let certs = CertificateDer::pem_file_iter(path)
                .and_then(|it| it.collect::<Result<Vec<_>, _>>())
                .map_err(|e| RootsError::CaFile {
                    path: shown.clone(),
                    error: e.to_string(),
                })?;
            if certs.is_empty() {
                return Err(RootsError::Empty(shown));
            }
            // A leaf certificate is no CA: keep it as pinned only.
            let _ = store.add_parsable_certificates(certs.iter().cloned());
            pinned = certs;
        }
        None => {
            // Unreadable system certificates leave the store short; the
            // handshake then fails with an unknown issuer, which is said.
            let found = rustls_native_certs::load_native_certs();
            let _ = store.add_parsable_certificates(found.certs);
        }
    }
    Ok(Verify::Roots {
        roots: Arc::new(store),
        pinned,
    })
}

/// What the handshake came to, in plain facts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handshake {
    /// The SNI sent, if any.
    pub sni: Option<String>,
    /// The ALPN protocols offered.
    pub alpn_offered: Vec<String>,
    /// The certificate was checked (not `--insecure`).
    pub verified: bool,
    pub result: HandshakeResult,
    /// The server's end-entity certificate, when it sent one.
    pub certificate: Option<Certificate>,
    /// How long the handshake took.
    pub duration: Option<std::time::Duration>,
}

impl Handshake {
    /// A handshake about to start with these options.
    pub(super) fn new(tls: &TlsOptions) -> Handshake {
        Handshake {
            sni: tls.sni.clone(),
            alpn_offered: tls.alpn.clone(),
            verified: matches!(tls.verify, Verify::Roots { .. }),
            result: HandshakeResult::NotStarted,
            certificate: None,
            duration: None,
        }
    }
}

/// How the handshake ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HandshakeResult {
    /// Never started: no connection, or the header could not be written.
    NotStarted,
    Done(Session),
    Failed(Failure),
}

/// A completed handshake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// `TLSv1.3`, `TLSv1.2`.
    pub version: String,
    /// The IANA name of the suite (`TLS13_AES_256_GCM_SHA384`).
    pub cipher: String,
    /// The protocol both sides agreed on, if any.
    pub alpn: Option<String>,
}

/// A failed handshake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub kind: FailureKind,
    /// The error (rustls's or the socket's, or a time limit).
    pub error: NetError,
}

/// What made the handshake fail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FailureKind {
    /// The server sent a TLS alert (its description, e.g. `ProtocolVersion`).
    Alert(String),
    /// The client refused the server's certificate (verification on).
    Certificate,
    /// The server answered with bytes that are not TLS.
    NotTls,
    /// The server closed the connection.
    Closed,
    /// The server reset the connection.
    Reset,
    /// No answer within the timeout.
    Timeout,
    /// Anything else (a protocol error in the server's TLS records).
    Other,
}

/// The server's certificate, as far as a person debugging an ingress needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Certificate {
    pub subject: String,
    pub issuer: String,
    /// DNS names and IP addresses of the subjectAltName extension.
    pub sans: Vec<String>,
    /// The validity, in seconds since the Unix epoch.
    pub not_before: i64,
    pub not_after: i64,
    pub expired: bool,
    pub self_signed: bool,
    /// The certificate is valid for the checked name (SNI or IP).
    pub matches_name: bool,
    /// The name it was matched against.
    pub name: String,
    /// SHA-256 of the DER, `AB:CD:…` (as `listen --tls` prints its own).
    pub sha256: String,
}

impl Certificate {
    /// Read the facts off a DER certificate; `None` when it does not parse.
    pub fn of(der: &[u8], name: &str) -> Option<Certificate> {
        use x509_parser::extensions::GeneralName;
        let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
        let mut sans = Vec::new();
        if let Ok(Some(ext)) = cert.subject_alternative_name() {
            for n in &ext.value.general_names {
                match n {
                    GeneralName::DNSName(d) => sans.push((*d).to_string()),
                    GeneralName::IPAddress(b) => match b.len() {
                        4 => sans.push(IpAddr::from(<[u8; 4]>::try_from(*b).ok()?).to_string()),
                        16 => sans.push(IpAddr::from(<[u8; 16]>::try_from(*b).ok()?).to_string()),
                        _ => {}
                    },
                    _ => {}
                }
            }
        }
        let validity = cert.validity();
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        let subject = cert.subject().to_string();
        let issuer = cert.issuer().to_string();
        Some(Certificate {
            matches_name: matches_name(&sans, &subject, name),
            self_signed: subject == issuer,
            subject,
            issuer,
            sans,
            not_before: validity.not_before.timestamp(),
            not_after: validity.not_after.timestamp(),
            expired: validity.not_after.timestamp() < now,
            name: name.to_string(),
            sha256: sha256(der),
        })
    }
}

/// SHA-256 of `der` as colon-separated upper-case hex (what browsers and
/// `openssl x509 -fingerprint -sha256` show).
pub fn sha256(der: &[u8]) -> String {
    ring::digest::digest(&ring::digest::SHA256, der)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// Whether a certificate with these SANs (or, without any, this subject's
/// CN, as old clients did) is valid for `name`: exact, or a `*.` wildcard
/// for one left-most label; IP addresses match exactly.
pub(crate) fn matches_name(sans: &[String], subject: &str, name: &str) -> bool {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    let one = |pattern: &str| {
        let pattern = pattern.trim_end_matches('.').to_ascii_lowercase();
        if let Some(rest) = pattern.strip_prefix("*.") {
            match name.split_once('.') {
                Some((first, tail)) => !first.is_empty() && tail == rest,
                None => false,
            }
        } else {
            pattern == name
        }
    };
    if sans.is_empty() {
        return subject
            .split(',')
            .filter_map(|part| part.trim().strip_prefix("CN="))
            .any(one);
    }
    sans.iter().any(|s| one(s))
}

/// A verifier that remembers the server's certificate (so it is shown even
/// when verification fails) and, unless insecure, delegates to webpki.
#[derive(Debug)]
struct Recording {
    inner: Option<Arc<WebPkiServerVerifier>>,
    /// The --cacert certificates, trusted as end entities too.
    pinned: Vec<CertificateDer<'static>>,
    provider: Arc<CryptoProvider>,
    seen: Arc<Mutex<Option<CertificateDer<'static>>>>,
}

impl ServerCertVerifier for Recording {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if let Ok(mut seen) = self.seen.lock() {
            *seen = Some(end_entity.clone().into_owned());
        }
        let Some(v) = &self.inner else {
            return Ok(ServerCertVerified::assertion());
        };
        let verdict =
            v.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now);
        // A self-signed certificate given with --cacert is trusted as
        // itself (as OpenSSL and curl do), when valid for the name and date.
        if verdict.is_err() && self.pinned.iter().any(|p| p == end_entity) {
            let name = match server_name {
                ServerName::DnsName(d) => d.as_ref().to_string(),
                ServerName::IpAddress(ip) => IpAddr::from(*ip).to_string(),
                _ => String::new(),
            };
            if Certificate::of(end_entity, &name).is_some_and(|c| c.matches_name && !c.expired) {
                return Ok(ServerCertVerified::assertion());
            }
        }
        verdict
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

type Seen = Arc<Mutex<Option<CertificateDer<'static>>>>;

fn client_config(tls: &TlsOptions) -> Result<(Arc<ClientConfig>, Seen), NetError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let (inner, pinned) = match &tls.verify {
        Verify::Insecure => (None, Vec::new()),
        Verify::Roots { roots, pinned } => (
            Some(
                WebPkiServerVerifier::builder_with_provider(roots.clone(), provider.clone())
                    .build()
                    .map_err(|e| NetError::TlsSetup(e.to_string()))?,
            ),
            pinned.clone(),
        ),
    };
    let seen: Seen = Arc::default();
    let verifier = Recording {
        inner,
        pinned,
        provider: provider.clone(),
        seen: seen.clone(),
    };
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| NetError::TlsSetup(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    config.alpn_protocols = tls.alpn.iter().map(|p| p.as_bytes().to_vec()).collect();
    config.enable_sni = tls.sni.is_some();
    Ok((Arc::new(config), seen))
}

/// The socket, keeping a copy of what the server sends during the
/// handshake: on failure, that is what the receiver answered instead.
pub(super) struct Tee {
    sock: TcpStream,
    seen: Vec<u8>,
    keeping: bool,
    max: usize,
}

impl AsyncRead for Tee {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let this = &mut *self;
        let poll = Pin::new(&mut this.sock).poll_read(cx, buf);
        if this.keeping {
            if let Poll::Ready(Ok(())) = &poll {
                let max = this.max;
                keep(&mut this.seen, &buf.filled()[before..], max);
            }
        }
        poll
    }
}

impl AsyncWrite for Tee {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.sock).poll_write(cx, buf)
    }

    /// rustls hands over everything it has queued as one vectored write,
    /// and after a failed handshake it writes once, last gasp: the default
    /// (the first buffer only) sent TLS 1.3's ChangeCipherSpec and lost the
    /// alert behind it, so a receiver saw a close where the client had
    /// refused its certificate. Pass the buffers on whole.
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.sock).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.sock.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.sock).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.sock).poll_shutdown(cx)
    }
}

/// The server name rustls is given: the SNI, else the IP (rustls sends no
/// SNI for an IP, and checks the certificate against it).
fn server_name(tls: &TlsOptions) -> Result<ServerName<'static>, NetError> {
    let name = tls.sni.as_deref().unwrap_or(&tls.verify_name);
    ServerName::try_from(name.to_string()).map_err(|e| NetError::ServerName {
        name: name.to_string(),
        error: e.to_string(),
    })
}

/// Connect to the first of `addrs` that answers, write the header built
/// from the real socket ends, run the handshake, send the payload inside
/// TLS and read the reply. `Transcript::received` is the decrypted reply after
/// a handshake, or what the server sent in clear when it failed.
///
/// Network and TLS trouble are part of the result; only `build`'s error is
/// returned as an error.
pub async fn tls_exchange<E>(
    addrs: &[SocketAddr],
    opts: &Options,
    tls: &TlsOptions,
    build: impl FnOnce(SocketAddr, SocketAddr) -> Result<Message, E>,
) -> Result<(Transcript, Handshake), E> {
    let start = Instant::now();
    let mut handshake = Handshake::new(tls);
    let deadline = start + opts.max_time;
    let (stream, local, peer) = match connect(addrs, opts, deadline).await {
        Ok(c) => c,
        Err((end, error)) => {
            return Ok((
                Transcript::not_connected(end, error, start.elapsed()),
                handshake,
            ))
        }
    };
    let message = build(local, peer)?;
    let mut reply = Transcript::connected(local, peer, start.elapsed());
    let mut stream = stream;
    // The header, in clear (and in pieces when asked).
    let header_only = Message {
        header: message.header.clone(),
        payload: Vec::new(),
    };
    if let Err(end) = write_message(&mut stream, &header_only, opts, deadline, &mut reply).await {
        reply.end = end;
    }
    if reply.write_error.is_some() {
        reply.message = Some(message);
        reply.timings.total = start.elapsed();
        return Ok((reply, handshake));
    }
    let mut tls_stream = match shake_hands(stream, opts, tls, deadline, &mut handshake).await {
        Ok(s) => s,
        Err(failed) => {
            reply.received_total = failed.clear.len();
            reply.received = failed.clear;
            reply.error = failed.error;
            reply.end = failed.end;
            reply.message = Some(message);
            reply.timings.total = start.elapsed();
            return Ok((reply, handshake));
        }
    };
    // The payload, inside TLS.
    if !message.payload.is_empty() {
        let writing = async {
            tls_stream.write_all(&message.payload).await?;
            tls_stream.flush().await
        };
        match bounded(opts.reply_timeout, deadline, writing).await {
            Ok(Ok(())) => reply.sent += message.payload.len(),
            Ok(Err(e)) => reply.write_error = Some(NetError::io(&e)),
            Err(Cut::Idle) => reply.write_error = Some(NetError::PeerStoppedReading),
            Err(Cut::Deadline) => reply.write_error = Some(NetError::MaxTimeWhileWriting),
        }
    }
    reply.timings.sent = Some(start.elapsed());
    let mut buf = vec![0u8; READ_CHUNK];
    let end = read_reply(
        &mut tls_stream,
        &mut buf,
        opts,
        deadline,
        start,
        &mut reply,
        true,
    )
    .await;
    reply.end = match end {
        End::EofWithoutData if reply.received_total > 0 => End::EofAfterData,
        end => end,
    };
    reply.message = Some(message);
    reply.timings.total = start.elapsed();
    Ok((reply, handshake))
}

/// A handshake that did not complete: what the server sent in clear
/// instead (or with) its part, how the connection ended, the error.
pub(super) struct Failed {
    pub clear: Vec<u8>,
    pub end: End,
    pub error: Option<NetError>,
}

/// Run the client's TLS handshake on `stream` (after the header, or after
/// a protocol's STARTTLS), bounded by `opts.reply_timeout` and `deadline`,
/// and fill `handshake` with its facts (the session, the certificate, or
/// how it failed). The TLS stream on success.
pub(super) async fn shake_hands(
    stream: TcpStream,
    opts: &Options,
    tls: &TlsOptions,
    deadline: Instant,
    handshake: &mut Handshake,
) -> Result<tokio_rustls::client::TlsStream<Tee>, Failed> {
    let (config, seen) = match client_config(tls).and_then(|c| Ok((c, server_name(tls)?))) {
        Ok(((config, seen), name)) => ((config, name), seen),
        Err(e) => {
            handshake.result = HandshakeResult::Failed(Failure {
                kind: FailureKind::Other,
                error: e.clone(),
            });
            return Err(Failed {
                clear: Vec::new(),
                end: End::Error,
                error: Some(e),
            });
        }
    };
    let (config, name) = config;
    let tee = Tee {
        sock: stream,
        seen: Vec::new(),
        keeping: true,
        max: opts.max_reply,
    };
    let began = Instant::now();
    let connecting = TlsConnector::from(config)
        .connect(name, tee)
        .into_fallible();
    let outcome = bounded(opts.reply_timeout, deadline, connecting).await;
    handshake.duration = Some(began.elapsed());
    let certificate = |seen: &Seen| {
        seen.lock()
            .ok()
            .and_then(|s| s.clone())
            .and_then(|der| Certificate::of(&der, &tls.verify_name))
    };
    let mut tls_stream = match outcome {
        Ok(Ok(s)) => s,
        Ok(Err((e, tee))) => {
            // What the server sent instead of (or with) its handshake.
            handshake.certificate = certificate(&seen);
            let (kind, end) = failure(&e);
            handshake.result = HandshakeResult::Failed(Failure {
                kind,
                error: NetError::io(&e),
            });
            let end = match end {
                End::EofWithoutData if !tee.seen.is_empty() => End::EofAfterData,
                end => end,
            };
            return Err(Failed {
                clear: tee.seen,
                end,
                error: Some(NetError::io(&e)),
            });
        }
        Err(cut) => {
            handshake.result = HandshakeResult::Failed(Failure {
                kind: FailureKind::Timeout,
                error: match cut {
                    Cut::Idle => NetError::NoTlsAnswer {
                        after: opts.reply_timeout,
                    },
                    Cut::Deadline => NetError::MaxTimeInHandshake,
                },
            });
            return Err(Failed {
                clear: Vec::new(),
                end: match cut {
                    Cut::Idle => End::Timeout,
                    Cut::Deadline => End::MaxTime,
                },
                error: None,
            });
        }
    };
    let (tee, conn) = tls_stream.get_mut();
    tee.keeping = false;
    handshake.result = HandshakeResult::Done(Session {
        version: conn
            .protocol_version()
            .map(version_name)
            .unwrap_or_default(),
        cipher: conn
            .negotiated_cipher_suite()
            .map(|s| format!("{:?}", s.suite()))
            .unwrap_or_default(),
        alpn: conn
            .alpn_protocol()
            .map(|p| String::from_utf8_lossy(p).into_owned()),
    });
    handshake.certificate = conn
        .peer_certificates()
        .and_then(|c| c.first())
        .and_then(|der| Certificate::of(der, &tls.verify_name))
        .or_else(|| certificate(&seen));
    Ok(tls_stream)
}

/// A TLS version as people write it (`TLSv1.3`), for every command.
pub(crate) fn version_name(v: rustls::ProtocolVersion) -> String {
    match v {
        rustls::ProtocolVersion::TLSv1_3 => "TLSv1.3".into(),
        rustls::ProtocolVersion::TLSv1_2 => "TLSv1.2".into(),
        other => format!("{other:?}"),
    }
}

/// A failed handshake's kind, and how the connection ended.
fn failure(e: &io::Error) -> (FailureKind, End) {
    if let Some(tls) = e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
        return match tls {
            rustls::Error::AlertReceived(a) => {
                (FailureKind::Alert(format!("{a:?}")), End::EofAfterData)
            }
            rustls::Error::InvalidCertificate(_) => (FailureKind::Certificate, End::EofAfterData),
            rustls::Error::InvalidMessage(_) | rustls::Error::InappropriateMessage { .. } => {
                (FailureKind::NotTls, End::EofAfterData)
            }
            _ => (FailureKind::Other, End::EofAfterData),
        };
    }
    match e.kind() {
        io::ErrorKind::UnexpectedEof => (FailureKind::Closed, End::EofWithoutData),
        io::ErrorKind::ConnectionReset
        | io::ErrorKind::ConnectionAborted
        | io::ErrorKind::BrokenPipe => (FailureKind::Reset, End::Reset),
        io::ErrorKind::InvalidData => (FailureKind::NotTls, End::EofAfterData),
        _ => (FailureKind::Other, End::Error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_like_a_browser() {
        let sans = vec!["app.example.com".to_string(), "*.example.org".to_string()];
        assert!(matches_name(&sans, "", "app.example.com"));
        assert!(matches_name(&sans, "", "APP.example.com."));
        assert!(matches_name(&sans, "", "a.example.org"));
        assert!(!matches_name(&sans, "", "example.org"));
        assert!(!matches_name(&sans, "", "a.b.example.org"));
        assert!(!matches_name(&sans, "", "other.example.com"));
        assert!(matches_name(
            &[],
            "CN=app.example.com, O=x",
            "app.example.com"
        ));
        assert!(matches_name(&["127.0.0.1".into()], "", "127.0.0.1"));
    }
}
