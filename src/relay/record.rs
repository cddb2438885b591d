//! One relayed connection, as typed facts and the judge's findings, and
//! the per-finding counts kept until the relay stops. report/relay.rs
//! renders both.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, SystemTime};

use crate::judge::{self, Answer, Arrived, Ending, Exchange, Expects, Finding, Sent};
use crate::listen::record::HeaderSeen;
use crate::sniff::{self, Sniffed};

use super::config::{Accept, SendMode};

/// How many of the first bytes each way a record keeps to recognise the
/// request line, the status line and the SNI (a copy: the data itself is
/// forwarded at once).
pub(crate) const PEEK: usize = 4096;

/// One connection through the relay.
#[derive(Debug, Clone)]
pub(crate) struct Record {
    /// Accept order, from 1.
    pub id: u64,
    /// When the client was accepted.
    pub time: SystemTime,
    /// The client's socket address.
    pub client: SocketAddr,
    /// The relay's end of the client connection.
    pub local: SocketAddr,
    pub accept: Accept,
    pub send: SendMode,
    /// What arrived from the client, in the judge's terms.
    pub arrived: Arrived,
    /// The header stage's bytes (a header taken, or what arrived of a
    /// broken one); with `--accept none`, a header found in the stream.
    pub received: Option<HeaderSeen>,
    /// The source the accepted header claims.
    pub claimed: Option<SocketAddr>,
    /// The upstream address connected to.
    pub upstream: Option<SocketAddr>,
    /// The header sent upstream.
    pub sent: Option<HeaderSeen>,
    /// The first bytes from the client after the header stage.
    pub first_up: Vec<u8>,
    /// The first bytes from upstream.
    pub first_down: Vec<u8>,
    /// Bytes read from the client (header included) and from upstream.
    pub bytes_up: u64,
    pub bytes_down: u64,
    /// How the exchange with upstream ended (`None`: never connected, or
    /// the connection ended at the header stage).
    pub ending: Option<Ending>,
    /// The relay stopped (signal) before the connection ended.
    pub interrupted: bool,
    /// `judge::arrival` for what the client sent.
    pub arrival: Finding,
    /// `judge::exchange` for what upstream made of what the relay sent.
    pub exchange: Option<Finding>,
    /// The connection's finding: the arrival's when it is a problem (or
    /// nothing went upstream), else the exchange's.
    pub finding: Finding,
    /// `Spoofable` for an `--accept auto` relay without `--trust`.
    pub pairing: Option<Finding>,
    /// What went wrong, in words.
    pub error: Option<String>,
    /// Accept to close.
    pub duration: Duration,
}

impl Record {
    pub(crate) fn new(
        id: u64,
        client: SocketAddr,
        local: SocketAddr,
        accept: Accept,
        send: SendMode,
    ) -> Self {
        Record {
            id,
            time: SystemTime::now(),
            client,
            local,
            accept,
            send,
            arrived: Arrived::Closed,
            received: None,
            claimed: None,
            upstream: None,
            sent: None,
            first_up: Vec::new(),
            first_down: Vec::new(),
            bytes_up: 0,
            bytes_down: 0,
            ending: None,
            interrupted: false,
            arrival: Finding::ClientClosed,
            exchange: None,
            finding: Finding::ClientClosed,
            pairing: None,
            error: None,
            duration: Duration::ZERO,
        }
    }

    /// The client's bytes after the header stage (the payload).
    fn payload(&self) -> &[u8] {
        match (&self.received, self.accept) {
            // Accept none: a header the client sent is part of the stream.
            (Some(h), Accept::None) if h.valid.is_some() => {
                let len = match h.decode() {
                    crate::codec::Decoded::Complete(h) => h.len(),
                    _ => 0,
                };
                self.first_up.get(len..).unwrap_or(&[])
            }
            _ => &self.first_up,
        }
    }

    /// The first request line, when the client speaks HTTP.
    pub(crate) fn request_line(&self) -> Option<String> {
        match sniff::classify(self.payload()) {
            Sniffed::HttpRequest { .. } => Some(first_line(self.payload())),
            _ => None,
        }
    }

    /// The first response line, when upstream answered HTTP.
    pub(crate) fn status_line(&self) -> Option<String> {
        match sniff::classify(&self.first_down) {
            Sniffed::HttpResponse { .. } => Some(first_line(&self.first_down)),
            _ => None,
        }
    }

    /// The TLS SNI, when the client started with a ClientHello.
    pub(crate) fn sni(&self) -> Option<String> {
        match sniff::classify(self.payload()) {
            Sniffed::TlsClientHello { sni } => sni.map(str::to_string),
            _ => None,
        }
    }

    /// Ask the judge: the arrival, the exchange (when something went
    /// upstream), the connection's finding and the pairing.
    pub(crate) fn judge(&mut self, open: bool) {
        let expects = self.accept.expects();
        let arrived = if self.interrupted && self.first_down.is_empty() {
            Arrived::Interrupted
        } else {
            self.arrived
        };
        self.arrival = judge::arrival(expects, arrived);
        self.exchange = self.ending.map(|ending| {
            let answer = Answer::of(&self.first_down);
            let x = Exchange {
                sent: self.sent_kind(),
                answer,
                ending,
                udp: false,
            };
            // TLS through the relay is judged as `send --tls` judges it.
            judge::layered(
                &x,
                judge::Layer::of_bytes(self.payload(), answer, &self.first_down),
            )
        });
        self.finding = match self.exchange {
            Some(x) if !self.arrival.is_problem() && arrived != Arrived::Interrupted => x,
            _ => self.arrival,
        };
        let paired = judge::pairing(expects, self.finding);
        self.pairing =
            (open && expects == Expects::Optional && paired != self.finding).then_some(paired);
    }

    /// What the relay put first on the wire upstream.
    fn sent_kind(&self) -> Sent {
        let payload = !self.payload().is_empty();
        let client_header = self.accept == Accept::None
            && self.received.as_ref().is_some_and(|h| h.valid.is_some());
        match &self.sent {
            Some(_) if client_header => Sent::Stacked,
            Some(h) if h.valid.is_some_and(|f| f.local) => Sent::Local { payload },
            Some(_) => Sent::Header { payload },
            None if client_header => Sent::Header { payload },
            None if payload => Sent::data(self.payload()),
            None => Sent::Nothing,
        }
    }
}

/// The first line of `bytes` (without CR/LF), at most 200 bytes, as text.
fn first_line(bytes: &[u8]) -> String {
    let end = bytes
        .iter()
        .position(|&b| b == b'\r' || b == b'\n')
        .unwrap_or(bytes.len())
        .min(200);
    String::from_utf8_lossy(&bytes[..end]).into_owned()
}

/// Counts per finding, reported when the relay stops.
#[derive(Debug, Clone, Default)]
pub(crate) struct Summary {
    pub connections: u64,
    /// Finding -> count, in docs/verdicts.md order.
    pub findings: BTreeMap<Finding, u64>,
    pub pairings: BTreeMap<Finding, u64>,
    pub bytes_up: u64,
    pub bytes_down: u64,
    /// Stopped by a signal (rather than by `--count`).
    pub interrupted: bool,
}

impl Summary {
    pub(crate) fn add(&mut self, rec: &Record) {
        self.connections += 1;
        *self.findings.entry(rec.finding).or_default() += 1;
        if let Some(p) = rec.pairing {
            *self.pairings.entry(p).or_default() += 1;
        }
        self.bytes_up += rec.bytes_up;
        self.bytes_down += rec.bytes_down;
    }

    /// No connection had a problem finding.
    pub(crate) fn clean(&self) -> bool {
        !self.findings.keys().any(|f| f.is_problem())
    }
}
