//! A server's TLS (`listen --tls`, repro's TLS receivers; the connection
//! starts it after the header stage, [`super::stream::Stream::start_tls`]):
//! the server identity (`--cert`/`--key`, or a self-signed ECDSA P-256
//! certificate made at start for the listen addresses and localhost) with
//! its SHA-256 fingerprint, and what a handshake came to (SNI, ALPN,
//! version, cipher, or how it failed).

use std::io;
use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::ServerConfig;

use super::record::Fault;

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
    /// The connection could not be watched by the runtime.
    Unwatched(Fault),
    /// Anything else rustls or the socket said.
    Other(String),
}

impl Refused {
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
            Refused::Unwatched(_) | Refused::Other(_) => "other",
        }
    }
}

/// Is this the start of a TLS handshake record (a ClientHello)?
pub(crate) fn is_client_hello(first: &[u8]) -> bool {
    matches!(first, [0x16, 0x03, ..]) || first == [0x16]
}

/// What a server connection agreed on.
pub(super) fn facts(conn: &rustls::ServerConnection) -> Facts {
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

pub(super) fn refused(e: &io::Error) -> Refused {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
