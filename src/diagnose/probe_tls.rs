//! The TLS leg of `probe`: header in clear, then a TLS handshake, then one
//! HTTP request inside TLS. The exchange is `net::tls_exchange`, the one
//! TLS client (the header written as `send --tls` writes it, its deadlines
//! and bounds), with the certificate not verified: the probe asks "is the
//! header accepted?", not "is this the right server?" (the certificate's
//! facts are still read, for the exporter's expiry gauge). This file says
//! what the exchange and its handshake came to in probe's terms
//! ([`TlsEnd`]).

use std::convert::Infallible;
use std::net::SocketAddr;

use crate::net::{
    self, Certificate, End, FailureKind, Handshake, HandshakeResult, Message, NetError, Options,
    TlsOptions, Transcript, Verify,
};

/// How a TLS attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TlsEnd {
    Refused(Option<NetError>),
    ConnectTimeout,
    ConnectError(Option<NetError>),
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
    NotTls(NetError),
    Closed,
    Reset,
    Timeout,
    /// The attempt's time limit (`--max-time`) came first.
    MaxTime,
    Error(Option<NetError>),
}

/// One TLS attempt: how it ended and what was on the wire.
#[derive(Debug, Clone)]
pub(crate) struct TlsRun {
    pub end: TlsEnd,
    /// The header bytes sent in clear before the ClientHello.
    pub header: Vec<u8>,
    pub local: Option<SocketAddr>,
    pub peer: Option<SocketAddr>,
    /// What the server sent in clear when the handshake failed (a
    /// plain-text answer when it does not speak TLS); empty when it
    /// completed.
    pub clear: Vec<u8>,
}

/// At most this much of the server's first bytes on the wire is kept.
const KEPT: usize = 512;

/// At most this much of the answer inside TLS is read (the bound of the
/// probe's plain HTTP attempts too).
pub(crate) const MAX_REPLY: usize = 4096;

/// Connect to the first address that answers, write `header(local, peer)`,
/// then handshake with `sni` and send `request` inside TLS, within `opts`'
/// timeouts and its time limit (`--max-time`).
pub(crate) async fn attempt(
    addrs: &[SocketAddr],
    opts: &Options,
    sni: &str,
    request: Vec<u8>,
    header: impl FnOnce(SocketAddr, SocketAddr) -> Vec<u8>,
) -> TlsRun {
    let tls = TlsOptions {
        sni: Some(sni.to_string()),
        verify_name: sni.to_string(),
        alpn: Vec::new(),
        verify: Verify::Insecure,
    };
    let exchanged = net::tls_exchange(addrs, opts, &tls, |local, peer| {
        Ok::<_, Infallible>(Message {
            header: header(local, peer),
            payload: request,
        })
    })
    .await;
    let (transcript, handshake) = match exchanged {
        Ok(done) => done,
        Err(never) => match never {},
    };
    run(transcript, handshake)
}

/// The exchange in probe's terms.
fn run(t: Transcript, handshake: Handshake) -> TlsRun {
    let end = end(&t, &handshake);
    let clear = match &end {
        TlsEnd::HandshakeOk { .. } => Vec::new(),
        _ => t.received[..t.received.len().min(KEPT)].to_vec(),
    };
    let reply = match &end {
        TlsEnd::HandshakeOk { .. } => t.received,
        _ => Vec::new(),
    };
    TlsRun {
        end: match end {
            TlsEnd::HandshakeOk {
                version,
                certificate,
                ..
            } => TlsEnd::HandshakeOk {
                version,
                reply,
                certificate,
            },
            other => other,
        },
        header: t.message.map(|m| m.header).unwrap_or_default(),
        local: t.local,
        peer: t.peer,
        clear,
    }
}

/// How the attempt ended: the connection, the header's write, the
/// handshake, in that order (the reply itself is `HandshakeOk`'s).
fn end(t: &Transcript, handshake: &Handshake) -> TlsEnd {
    let error = || t.error.clone();
    if !t.connected {
        return match t.end {
            End::Refused => TlsEnd::Refused(error()),
            End::ConnectTimeout | End::MaxTime => TlsEnd::ConnectTimeout,
            _ => TlsEnd::ConnectError(error()),
        };
    }
    match &handshake.result {
        HandshakeResult::Done(session) => TlsEnd::HandshakeOk {
            version: session.version.clone(),
            reply: Vec::new(),
            certificate: handshake.certificate.clone().map(Box::new),
        },
        // The header could not be written.
        HandshakeResult::NotStarted => match t.end {
            End::Reset => TlsEnd::Reset,
            End::MaxTime => TlsEnd::MaxTime,
            End::Timeout => TlsEnd::Timeout,
            _ => TlsEnd::Error(t.write_error.clone().or_else(error)),
        },
        HandshakeResult::Failed(failure) => match &failure.kind {
            _ if t.end == End::MaxTime => TlsEnd::MaxTime,
            FailureKind::Alert(alert) => TlsEnd::Alert(alert.clone()),
            FailureKind::NotTls => TlsEnd::NotTls(failure.error.clone()),
            FailureKind::Closed => TlsEnd::Closed,
            FailureKind::Reset => TlsEnd::Reset,
            FailureKind::Timeout => TlsEnd::Timeout,
            // Verification is off: a certificate is never refused.
            FailureKind::Certificate | FailureKind::Other => {
                TlsEnd::Error(Some(failure.error.clone()))
            }
        },
    }
}
