//! One relayed connection, as typed facts and the judge's findings;
//! report/server.rs renders it.

use std::net::SocketAddr;
use std::time::Duration;

use crate::judge::{self, Answer, Arrived, Ending, Exchange, Finding, Sent};
use crate::protocol::{self, Recorded, Selection, Spoken};
use crate::send::BuildError;
use crate::server::record::Fault;
use crate::server::{self, HeaderSeen};
use crate::sniff::{self, Sniffed};

use super::config::{Accept, SendMode};

/// How many of the first bytes each way a record keeps to recognise the
/// request line, the status line and the SNI (a copy: the data itself is
/// forwarded at once).
pub(crate) const PEEK: usize = 4096;

/// What the relay did with one connection, besides what every server
/// records.
#[derive(Debug, Clone)]
pub(crate) struct Relayed {
    pub accept: Accept,
    pub send: SendMode,
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
    /// How the exchange with upstream ended (`None`: never connected, or
    /// the connection ended at the header stage).
    pub ending: Option<Ending>,
    /// The relay stopped (signal) before the connection ended.
    pub interrupted: bool,
    /// `--protocol`: what the session is judged in (`None`: HTTP and TLS
    /// by the judge's own rules, as without it).
    pub protocol: Option<Selection>,
    /// From the header sent upstream (or the connect, without one) to
    /// upstream's first byte, or to the end when none came: how long it
    /// kept quiet (a server that waits for a header says its `421` late).
    pub waited: Option<Duration>,
    /// Upstream's first byte came before the client's first byte (a
    /// banner before a header the client sends itself, `--accept none`).
    pub upstream_first: bool,
    /// The session judged in its protocol (`--protocol`), when it is one
    /// of a server's words (SMTP, IMAP, POP3, MySQL, ...).
    pub spoken: Option<Box<Spoken>>,
    /// `judge::arrival` for what the client sent.
    pub arrival: Finding,
    /// `judge::exchange` for what upstream made of what the relay sent.
    pub exchange: Option<Finding>,
    /// What happened after the header stage, in order.
    pub events: Vec<Event>,
}

/// What the relay says of a connection besides what every server says
/// (report::server says each in words).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Event {
    /// A valid header of a version `--accept` does not take: closed, as a
    /// receiver of the other version would.
    OtherVersion { version: u8, accept: Accept },
    /// The relay stopped while connecting upstream.
    StoppedConnecting,
    /// No connection upstream (the client was closed).
    ConnectFailed {
        addr: Option<SocketAddr>,
        how: Unconnected,
    },
    /// The header to send upstream could not be built.
    BuildFailed(BuildError),
    /// Upstream went away before the header was written.
    UpstreamGone(Fault),
    /// Upstream reset the connection (the client was closed), having
    /// acknowledged `taken` bytes of the stream after the header (`None`:
    /// the kernel does not say); more than [`judge::MID_STREAM`] is a
    /// reset mid-stream.
    UpstreamReset { taken: Option<u64> },
    /// No byte either way for `--idle-timeout` (both sides were closed).
    Idle { limit: Duration },
    /// The client's first request was not complete within
    /// `--request-timeout` (`got` bytes of it came): both sides were
    /// closed. The client was slow, not upstream: no exchange is judged.
    RequestTimedOut { limit: Duration, got: u64 },
}

/// Why the connect upstream failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Unconnected {
    Refused,
    Failed(Fault),
    /// This host had no file descriptor for the connection (EMFILE,
    /// ENFILE): upstream was never tried.
    LocalLimit(Fault),
    /// No connection within `--connect-timeout`.
    TimedOut(Duration),
}

impl Relayed {
    pub(crate) fn new(accept: Accept, send: SendMode) -> Self {
        Relayed {
            accept,
            send,
            claimed: None,
            upstream: None,
            sent: None,
            first_up: Vec::new(),
            first_down: Vec::new(),
            ending: None,
            interrupted: false,
            protocol: None,
            waited: None,
            upstream_first: false,
            spoken: None,
            arrival: Finding::ClientClosed,
            exchange: None,
            events: Vec::new(),
        }
    }
}

/// One connection through the relay. `received` (the header stage's
/// bytes: a header taken, or what arrived of a broken one; with `--accept
/// none`, a header found in the stream) is the record's `header`; the
/// connection's finding is the arrival's when it is a problem (or nothing
/// went upstream), else the exchange's.
pub(crate) type Record = server::Record<Relayed>;

/// How one direction of a relayed connection ended (the copy's and the
/// splice's word for it; the record's [`Ending`] is made from both
/// directions' `Done`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Done {
    /// The reader sent EOF; the writer was shut down after it.
    Eof,
    /// Reading failed (a reset).
    ReadFailed,
    /// Writing failed (the other side went away).
    WriteFailed,
}

impl Record {
    /// The client's bytes after the header stage (the payload).
    fn payload(&self) -> &[u8] {
        match (&self.header, self.service.accept) {
            // Accept none: a header the client sent is part of the stream.
            (Some(h), Accept::None) if h.valid.is_some() => {
                let len = match h.decode() {
                    crate::codec::Decoded::Complete(h) => h.len(),
                    _ => 0,
                };
                self.service.first_up.get(len..).unwrap_or(&[])
            }
            _ => &self.service.first_up,
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
        match sniff::classify(&self.service.first_down) {
            Sniffed::HttpResponse { .. } => Some(first_line(&self.service.first_down)),
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
    pub(crate) fn judge(&mut self) {
        let arrived = if self.service.interrupted && self.service.first_down.is_empty() {
            Arrived::Interrupted
        } else {
            self.arrived
        };
        let arrival = judge::arrival(self.expects, arrived);
        self.service.arrival = arrival;
        self.service.spoken = self.spoken().map(Box::new);
        let spoken = self.service.spoken.as_ref().map(|s| s.verdict.finding);
        // A client cut at --request-timeout was slow, not upstream: no
        // exchange to judge.
        let cut_in_request = self
            .service
            .events
            .iter()
            .any(|e| matches!(e, Event::RequestTimedOut { .. }));
        self.service.exchange = self
            .service
            .ending
            .filter(|_| !cut_in_request)
            .map(|ending| {
                let finding = spoken.unwrap_or_else(|| {
                    let answer = Answer::of(&self.service.first_down);
                    let x = Exchange {
                        sent: self.sent_kind(),
                        answer,
                        ending,
                        udp: false,
                    };
                    // TLS through the relay is judged as `send --tls` judges it.
                    judge::layered(
                        &x,
                        judge::Layer::of_bytes(self.payload(), answer, &self.service.first_down),
                    )
                });
                // The client left before a byte came back, with upstream
                // still holding the connection (a sink), in HTTP's words or
                // a protocol's: a silence, as send would call it, not a
                // record cut short (`incomplete` is a capture's).
                if finding == Finding::Incomplete && ending == Ending::ClientClosed {
                    Finding::NoReply
                } else {
                    finding
                }
            });
        self.finding = match self.service.exchange {
            Some(x) if !arrival.is_problem() && arrived != Arrived::Interrupted => {
                // Upstream's finding: its server's fixes.
                self.protocol = self.service.spoken.as_ref().map(|s| s.protocol);
                x
            }
            _ => arrival,
        };
        self.pair();
    }

    /// With `--protocol`, the session judged in its protocol, in its
    /// server's words (`crate::protocol`, as pcap judges a captured one).
    fn spoken(&self) -> Option<Spoken> {
        let r = &self.service;
        let (asked, upstream, ending) = (r.protocol?, r.upstream?, r.ending?);
        let (p, chosen) = protocol::conversation(asked, upstream.port(), &r.first_down)?;
        let sent = self.sent_kind();
        // A header the relay sends goes out before upstream can be read;
        // one the client sends itself may follow upstream's banner.
        let client_header = matches!(sent, Sent::Header { .. } | Sent::Local { .. });
        let greeted_first = r.sent.is_none() && client_header && r.upstream_first;
        protocol::hear(
            p,
            chosen,
            &Recorded {
                sent,
                greeted_first,
                client: self.payload(),
                server: &r.first_down,
                ending,
                waited: r.waited,
            },
        )
    }

    /// What the relay put first on the wire upstream.
    fn sent_kind(&self) -> Sent {
        let payload = !self.payload().is_empty();
        let client_header = self.service.accept == Accept::None
            && self.header.as_ref().is_some_and(|h| h.valid.is_some());
        match &self.service.sent {
            Some(_) if client_header => Sent::Stacked,
            Some(h) if h.valid.as_ref().is_some_and(|f| f.local) => Sent::Local { payload },
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::Protocol;
    use crate::server::IpProtocol;

    /// A plain client relayed to `upstream` (the v1 header sent, or none
    /// with `--send none`): the client said `up`, upstream `down`, and the
    /// exchange ended so; not judged yet.
    fn relayed(upstream: u16, header: bool, up: &[u8], down: &[u8], ending: Ending) -> Record {
        let peer = SocketAddr::from(([127, 0, 0, 1], 40000));
        let send = if header { SendMode::V1 } else { SendMode::None };
        let mut rec = Record::new(
            1,
            IpProtocol::Tcp,
            peer,
            peer,
            Accept::None.expects(),
            true,
            Relayed::new(Accept::None, send),
        );
        rec.arrived = judge::Arrived::NoHeader;
        rec.service.upstream = Some(SocketAddr::from(([127, 0, 0, 1], upstream)));
        if header {
            rec.service.sent = Some(HeaderSeen::new(
                b"PROXY TCP4 127.0.0.1 127.0.0.1 40000 40000\r\n",
                false,
            ));
        }
        rec.service.first_up = up.to_vec();
        rec.service.first_down = down.to_vec();
        rec.service.ending = Some(ending);
        rec
    }

    /// A client that sent a request and left, to an upstream that took it
    /// and never answered: no-reply, not a capture's `incomplete`.
    #[test]
    fn a_sink_upstream_is_no_reply() {
        let request = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n";
        let mut rec = relayed(40000, true, request, b"", Ending::ClientClosed);
        rec.judge();
        assert_eq!(rec.finding, Finding::NoReply);
    }

    /// [`relayed`] with `--protocol`, upstream closing after 5 s, judged.
    fn spoken(protocol: &str, upstream: u16, header: bool, up: &[u8], down: &[u8]) -> Record {
        let mut rec = relayed(upstream, header, up, down, Ending::ServerClosed);
        rec.service.protocol = Selection::from_name(protocol);
        rec.service.waited = Some(Duration::from_secs(5));
        rec.judge();
        rec
    }

    /// Postfix without PROXY support reads the header line as a command.
    #[test]
    fn a_500_to_the_header_line_is_unexpected_header_in_smtp_s_words() {
        let down = b"220 mail.example ESMTP\r\n500 5.5.2 Error: command not recognized\r\n";
        let rec = spoken("smtp", 2525, true, b"EHLO x\r\n", down);
        assert_eq!(rec.finding, Finding::UnexpectedHeader);
        assert_eq!(rec.protocol, Some(Protocol::Smtp));
        let sp = rec.service.spoken.as_deref();
        assert_eq!(sp.map(|s| s.chosen), Some(protocol::Chosen::Named));
        let reply = sp.and_then(|s| s.verdict.reply.as_ref());
        assert_eq!(reply.and_then(|r| r.code), Some(500));
    }

    /// Postfix with smtpd_upstream_proxy_protocol, and no header: its
    /// 421 after the wait.
    #[test]
    fn no_banner_then_421_is_missing_header() {
        let down = b"421 4.3.0 mail.example Server local error\r\n";
        let rec = spoken("auto", 25, false, b"", down);
        assert_eq!(rec.finding, Finding::MissingHeader);
        let sp = rec.service.spoken.as_deref();
        assert_eq!(sp.map(|s| s.chosen), Some(protocol::Chosen::Port));
        assert_eq!(sp.and_then(|s| s.waited), Some(Duration::from_secs(5)));
    }

    /// `auto` on an HTTP upstream: judged as without `--protocol`.
    #[test]
    fn auto_leaves_http_to_the_judge_s_own_rules() {
        let down = b"HTTP/1.1 400 Bad Request\r\nServer: nginx\r\n\r\n";
        let rec = spoken("auto", 8080, true, b"GET / HTTP/1.1\r\n\r\n", down);
        assert_eq!(rec.finding, Finding::UnexpectedHeader);
        assert!(rec.service.spoken.is_none());
        assert_eq!(rec.protocol, None);
    }
}
