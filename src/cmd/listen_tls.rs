//! `listen --tls`, `--cert`, `--key` (flattened into `ListenArgs`): serve
//! TLS after the PROXY header, like nginx `listen 443 ssl proxy_protocol`.

use std::net::SocketAddr;
use std::path::PathBuf;

use crate::error::{Error, Result};
use crate::server::tls::{self, Identity};

/// The TLS options of `listen`.
#[derive(Debug, Clone, clap::Args)]
pub struct ListenTlsArgs {
    /// Serve TLS after the header (and, in auto and off modes, without
    /// one), like nginx `listen 443 ssl [proxy_protocol]`. Without
    /// --cert/--key a self-signed certificate is made for the listen
    /// addresses and localhost. Its SHA-256 fingerprint is printed under
    /// the `listening on` line (JSON: the listening object's tls.sha256).
    #[arg(long, conflicts_with_all = ["udp", "echo"], help_heading = "TLS")]
    pub tls: bool,
    /// The certificate chain (PEM) to serve with --tls.
    #[arg(long, value_name = "FILE", requires_all = ["tls", "key"], help_heading = "TLS")]
    pub cert: Option<PathBuf>,
    /// The private key (PEM) of --cert.
    #[arg(long, value_name = "FILE", requires_all = ["tls", "cert"], help_heading = "TLS")]
    pub key: Option<PathBuf>,
}

impl ListenTlsArgs {
    /// The identity to serve, or `None` without `--tls`.
    pub(crate) fn identity(&self, bound: &[SocketAddr]) -> Result<Option<Identity>> {
        if !self.tls {
            return Ok(None);
        }
        let made = match (&self.cert, &self.key) {
            (Some(cert), Some(key)) => tls::from_files(cert, key),
            _ => {
                let ips: Vec<_> = bound.iter().map(SocketAddr::ip).collect();
                tls::generate(&ips)
            }
        };
        made.map(Some).map_err(|e| Error::usage(e.to_string()))
    }
}
