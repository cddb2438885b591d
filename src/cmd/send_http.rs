//! `send`'s HTTP and TLS options (flattened into `SendArgs`): what makes a
//! request look like a browser's to an ingress that routes by Host and
//! SNI, and TLS after the header.

use std::path::PathBuf;

use crate::error::{Error, Result};
use crate::net::{self, Target, TlsOptions, Verify};
use crate::send::http::{parse_header, ConnectTo, Request, Resolve, Routes};

/// `-H`, `--host`, `--method`, `--connect-to`, `--resolve`.
#[derive(Debug, Clone, clap::Args)]
pub struct HttpArgs {
    /// A request header, `Name: value` (repeatable); `Name:` removes a
    /// default header (Host, User-Agent, Accept, Connection), as in curl.
    #[arg(short = 'H', long = "header", value_name = "NAME: VALUE", value_parser = parse_header, help_heading = "Payload")]
    pub(crate) headers: Vec<(String, String)>,
    /// The Host header of the request (default: the target's host and port).
    #[arg(long, value_name = "NAME", help_heading = "Payload")]
    pub(crate) host: Option<String>,
    /// The request method.
    #[arg(long, value_name = "METHOD", default_value = Request::METHOD, help_heading = "Payload")]
    pub(crate) method: String,
    /// Connect to HOST2:PORT2 when the target is HOST1:PORT1 (curl's
    /// option; empty fields match any or keep the target's); Host and SNI
    /// stay the target's. Repeatable.
    #[arg(
        long,
        value_name = "HOST1:PORT1:HOST2:PORT2",
        help_heading = "Connection"
    )]
    pub(crate) connect_to: Vec<ConnectTo>,
    /// Resolve HOST on PORT to ADDR instead of asking DNS (curl's option;
    /// ADDR may be a comma-separated list, HOST may be *). Repeatable.
    #[arg(long, value_name = "HOST:PORT:ADDR", help_heading = "Connection")]
    pub(crate) resolve: Vec<Resolve>,
}

/// `--tls` and its options.
#[derive(Debug, Clone, clap::Args)]
pub struct TlsArgs {
    /// After the header, run a TLS handshake and send the request inside
    /// TLS (what a load balancer in TCP mode does in front of a 443
    /// ingress).
    #[arg(long, conflicts_with_all = ["udp", "wait_banner"], help_heading = "TLS")]
    pub(crate) tls: bool,
    /// The SNI (default: the target's host name; none for an IP). With
    /// --tls or --starttls, as the next three.
    #[arg(
        long,
        value_name = "NAME",
        requires = "tls_layer",
        help_heading = "TLS"
    )]
    pub(crate) sni: Option<String>,
    /// ALPN protocols offered in the TLS handshake, comma-separated
    /// (default http/1.1; none after STARTTLS). Not the --alpn TLV of the
    /// PROXY header.
    #[arg(
        long,
        value_name = "LIST",
        requires = "tls_layer",
        help_heading = "TLS"
    )]
    pub(crate) tls_alpn: Option<String>,
    /// Do not verify the server's certificate (its facts are still shown).
    #[arg(short = 'k', long, requires = "tls_layer", help_heading = "TLS")]
    pub(crate) insecure: bool,
    /// Verify the server's certificate against the CAs in this PEM file
    /// instead of the system's.
    #[arg(
        long,
        value_name = "FILE",
        requires = "tls_layer",
        conflicts_with = "insecure",
        help_heading = "TLS"
    )]
    pub(crate) cacert: Option<PathBuf>,
    /// Send no PROXY header at all (a direct client; with --tls, a bare
    /// ClientHello).
    #[arg(long, conflicts_with_all = ["raw", "like", "v1", "v2", "local", "twice", "corrupt"], help_heading = "Header")]
    pub(crate) no_header: bool,
}

/// The ALPN offered when `--tls-alpn` is not given: the request is HTTP/1.1.
pub(crate) const TLS_ALPN: &str = "http/1.1";

impl HttpArgs {
    pub(crate) fn request(&self, path: &str) -> Request {
        Request {
            method: self.method.clone(),
            path: path.to_string(),
            host: self.host.clone(),
            headers: self.headers.clone(),
        }
    }

    pub(crate) fn routes(&self) -> Routes {
        Routes {
            connect_to: self.connect_to.clone(),
            resolve: self.resolve.clone(),
        }
    }
}

impl TlsArgs {
    /// The TLS options for `target`, or `None` without `--tls`.
    pub(crate) fn options(&self, target: &Target) -> Result<Option<TlsOptions>> {
        if !self.tls {
            return Ok(None);
        }
        self.build(target, TLS_ALPN).map(Some)
    }

    /// The TLS options of a STARTTLS handshake (no ALPN unless asked).
    pub(crate) fn starttls_options(&self, target: &Target) -> Result<TlsOptions> {
        self.build(target, "")
    }

    fn build(&self, target: &Target, default_alpn: &str) -> Result<TlsOptions> {
        let is_ip = target.host.parse::<std::net::IpAddr>().is_ok();
        let sni = match &self.sni {
            Some(s) if s.is_empty() => None,
            Some(s) => Some(s.clone()),
            None if is_ip => None,
            None => Some(target.host.clone()),
        };
        let verify = if self.insecure {
            Verify::Insecure
        } else {
            net::roots(self.cacert.as_deref()).map_err(|e| Error::usage(e.to_string()))?
        };
        let alpn = self
            .tls_alpn
            .as_deref()
            .unwrap_or(default_alpn)
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(str::to_string)
            .collect();
        Ok(TlsOptions {
            verify_name: sni.clone().unwrap_or_else(|| target.host.clone()),
            sni,
            alpn,
            verify,
        })
    }
}
