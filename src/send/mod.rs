//! `ppctl send`: the engine. A [`Plan`] (what to send, how, what to
//! expect) is built from the command line by `cmd::send`; [`run`] carries
//! it out (dry, once, or as a [`load`]) and returns a typed [`Sent`]: the
//! bytes, the reply, the judge's [`Finding`] and send's own [`Note`]s.
//! Rendering is `report::send`'s job.

pub mod header;
pub mod http;
pub mod load;
pub mod preset;
pub mod speak;

use std::net::SocketAddr;
use std::time::Duration;

use crate::codec::{self, Command, Decoded};
use crate::judge::{self, Finding};
use crate::net::{self, FailureKind, Handshake, HandshakeResult, Message, Target, Transcript};
use crate::sniff::{self, Sniffed};

pub use header::{AddressPlan, BuildError, HeaderPlan};
pub(crate) use load::{LoadOptions, LoadSummary};
pub(crate) use preset::Preset;
pub use speak::Speak;
pub(crate) use speak::Spoken;

/// How long `--wait-banner` waits when given without a value.
pub(crate) const BANNER_WAIT: Duration = Duration::from_secs(2);

/// One `send`, fully decided.
#[derive(Debug, Clone)]
pub struct Plan {
    pub target: Target,
    pub header: HeaderPlan,
    pub payload: Vec<u8>,
    /// One datagram (v2 DGRAM header + payload) instead of a TCP connection.
    pub udp: bool,
    pub net: net::Options,
    pub expect: Expect,
    /// TLS after the header (`--tls`).
    pub tls: Option<net::TlsOptions>,
    /// The protocol after the header as the report names it, and how it
    /// was chosen (send's own HTTP request or `--data` by default).
    pub protocol: (crate::protocol::Protocol, crate::protocol::Chosen),
    /// A conversation in a protocol of `crate::protocol` instead of one
    /// exchange of the payload (`--protocol smtp`...).
    pub speak: Option<Speak>,
}

/// The default payload: a GET that asks the server to close afterwards, so
/// the reply ends with EOF instead of the keep-alive timeout.
pub fn http_get(target: &Target, path: &str) -> Vec<u8> {
    http::Request {
        path: path.to_string(),
        ..http::Request::default()
    }
    .bytes(target, false)
}

impl Plan {
    /// Build the header once with stand-in addresses, so a plan that can't
    /// be encoded fails before anything is sent.
    pub fn check(&self) -> Result<Vec<u8>, BuildError> {
        let (local, peer) = placeholder_ends(None);
        self.header.build(local, peer)
    }

    fn message(&self, local: SocketAddr, peer: SocketAddr) -> Result<Message, BuildError> {
        Ok(Message {
            header: self.header.build(local, peer)?,
            payload: self.payload.clone(),
        })
    }

    /// The header was cut into pieces (`--split`).
    pub(crate) fn split(&self) -> bool {
        !self.udp && self.net.split != net::Split::Whole
    }
}

/// Run the plan once against the resolved `addrs`.
pub async fn exchange(plan: &Plan, addrs: &[SocketAddr]) -> Result<Transcript, BuildError> {
    Ok(layered_exchange(plan, addrs).await?.0)
}

/// Run the plan once, with the TLS handshake's facts when it has TLS.
pub(crate) async fn layered_exchange(
    plan: &Plan,
    addrs: &[SocketAddr],
) -> Result<(Transcript, Option<Handshake>), BuildError> {
    let build = |local, peer| plan.message(local, peer);
    if plan.udp {
        Ok((net::datagram_exchange(addrs, &plan.net, build).await?, None))
    } else if let Some(tls) = &plan.tls {
        let (reply, handshake) = net::tls_exchange(addrs, &plan.net, tls, build).await?;
        Ok((reply, Some(handshake)))
    } else {
        Ok((net::exchange(addrs, &plan.net, build).await?, None))
    }
}

/// What to do with a plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum How {
    /// Build the header and send nothing.
    DryRun,
    /// One exchange.
    Once,
    /// Many exchanges.
    Load(LoadOptions),
}

/// `send`'s result: the plan, the bytes and what came of them.
#[derive(Debug, Clone)]
pub(crate) struct Sent {
    pub plan: Plan,
    /// The header bytes as sent (or, for dry and load runs, as built for a
    /// stand-in connection; see [`placeholder_ends`]).
    pub header: Vec<u8>,
    /// The payload as sent.
    pub payload: Vec<u8>,
    /// Where a second header starts in `header` (`--twice`, or `--raw`
    /// bytes holding two headers).
    pub stacked_at: Option<usize>,
    pub outcome: Outcome,
}

/// What happened, by mode.
#[derive(Debug, Clone)]
pub(crate) enum Outcome {
    /// Nothing was sent.
    DryRun,
    /// One exchange, judged.
    Once(Box<Exchanged>),
    /// A load run, counted.
    Load(LoadSummary),
}

/// One exchange and the judge's word on it.
#[derive(Debug, Clone)]
pub(crate) struct Exchanged {
    pub reply: Transcript,
    /// The TLS handshake after the header (`--tls`).
    pub handshake: Option<Handshake>,
    /// What the judge was told went out.
    pub sent: judge::Sent,
    pub finding: Finding,
    pub notes: Vec<Note>,
    pub checks: Vec<Check>,
    /// The conversation in a protocol (`--protocol smtp`...), with the
    /// verdict in the server's words.
    pub spoken: Option<Box<Spoken>>,
}

/// Something about the exchange that the finding does not say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Note {
    /// The server spoke before anything was sent (`--wait-banner`): a
    /// receiver that expects PROXY protocol waits for the header.
    BannerFirst,
    /// Writing stopped early: the receiver gave up while the header was
    /// still arriving.
    WriteStopped(crate::net::NetError),
    /// The header went out in pieces and was rejected: HAProxy (and
    /// go-proxyproto for v1) want it whole in the first read.
    SplitHeader,
    /// TLS failed, and a second connection with the same header and the
    /// request in clear got this HTTP status.
    PlainServed(u16),
    /// The server chose HTTP/2 by ALPN, but the request is HTTP/1.1 text.
    H2Chosen,
    /// The server refused STARTTLS, in its words (`454 4.7.0 TLS not
    /// available due to local problem`).
    StartTlsRefused(String),
    /// STARTTLS got no answer before the timeout.
    StartTlsUnanswered,
}

impl Exchanged {
    /// Every expectation met; without any: the finding is not a problem.
    pub(crate) fn ok(&self) -> bool {
        if self.checks.is_empty() {
            !self.finding.is_problem()
        } else {
            self.checks.iter().all(|c| c.met)
        }
    }
}

impl Sent {
    fn new(plan: Plan, message: Message, outcome: Outcome) -> Self {
        Sent {
            stacked_at: stacked_at(&message.header),
            header: message.header,
            payload: message.payload,
            plan,
            outcome,
        }
    }
}

/// Carry out `plan` against the resolved `addrs`; a load run tells
/// `watch` as it goes.
pub(crate) async fn run(
    plan: Plan,
    addrs: &[SocketAddr],
    how: How,
    watch: &load::Watch,
) -> Result<Sent, BuildError> {
    // What a connection would send, with stand-in socket ends.
    let stand_in = Message {
        header: {
            let (local, peer) = placeholder_ends(addrs.first().copied());
            plan.header.build(local, peer)?
        },
        payload: plan.payload.clone(),
    };
    Ok(match how {
        How::DryRun => Sent::new(plan, stand_in, Outcome::DryRun),
        How::Load(opts) => {
            let plan = std::sync::Arc::new(plan);
            let summary = load::run(plan.clone(), addrs.to_vec().into(), opts, watch).await?;
            let plan = std::sync::Arc::try_unwrap(plan).unwrap_or_else(|p| (*p).clone());
            Sent::new(plan, stand_in, Outcome::Load(summary))
        }
        How::Once => {
            let (message, exchanged) = once(&plan, addrs).await?;
            let message = message.unwrap_or(stand_in);
            Sent::new(plan, message, Outcome::Once(Box::new(exchanged)))
        }
    })
}

/// One exchange, judged (with the second opinion a failed handshake may
/// need), and the message as it went out, if a connection was made.
pub(crate) async fn once(
    plan: &Plan,
    addrs: &[SocketAddr],
) -> Result<(Option<Message>, Exchanged), BuildError> {
    if let Some(speak) = &plan.speak {
        return speak::once(plan, speak, addrs).await;
    }
    let (reply, handshake) = layered_exchange(plan, addrs).await?;
    let message = reply.message.clone();
    let stand_in;
    let judged_as = match &message {
        Some(m) => m,
        // Not connected: what would have gone out, for the judge.
        None => {
            let (local, peer) = placeholder_ends(addrs.first().copied());
            stand_in = plan.message(local, peer)?;
            &stand_in
        }
    };
    let mut exchanged = judge_reply(plan, judged_as, reply, handshake);
    second_opinion(plan, addrs, &mut exchanged).await?;
    Ok((message, exchanged))
}

/// A TLS handshake after a header that got a plain HTTP answer: nginx
/// `listen … ssl` (no proxy_protocol) answers so, and so does a plain port
/// that took the header. One more connection with the same header and the
/// request in clear tells them apart: served means a plain PROXY port.
async fn second_opinion(
    plan: &Plan,
    addrs: &[SocketAddr],
    x: &mut Exchanged,
) -> Result<(), BuildError> {
    let answered_plain = matches!(
        judge::Answer::of(&x.reply.received),
        judge::Answer::Http { .. }
    );
    if x.finding != Finding::TlsHandshakeFailed || !answered_plain {
        return Ok(());
    }
    let clear = Plan {
        tls: None,
        ..plan.clone()
    };
    let reply = exchange(&clear, addrs).await?;
    if let Some(status) = http_status(&reply.received).filter(|s| *s < 400) {
        x.finding = judge::layered(
            &judge::Exchange::of(&x.reply, x.sent, plan.udp),
            judge::Layer::TlsFailedPlainServed,
        );
        x.notes.push(Note::PlainServed(status));
    }
    Ok(())
}

/// Judge one reply to `message`, with send's notes and the expectations.
pub(crate) fn judge_reply(
    plan: &Plan,
    message: &Message,
    reply: Transcript,
    handshake: Option<Handshake>,
) -> Exchanged {
    // A header broken on purpose is invalid even where the bytes no longer
    // look like a header at all (a corrupted signature).
    let sent = match plan.header.corrupt {
        Some(_) => judge::Sent::Invalid,
        None => what_was_sent(&message.header, &message.payload),
    };
    let finding = judge::layered(
        &judge::Exchange::of(&reply, sent, plan.udp),
        layer(&reply, handshake.as_ref()),
    );
    let mut notes = connection_notes(&reply);
    let h2 = handshake.as_ref().is_some_and(
        |h| matches!(&h.result, HandshakeResult::Done(s) if s.alpn.as_deref() == Some("h2")),
    );
    let http1 = matches!(
        sniff::classify(&message.payload),
        Sniffed::HttpRequest { .. }
    );
    if h2 && http1 {
        notes.push(Note::H2Chosen);
    }
    if plan.split() && matches!(finding, Finding::HeaderRejected | Finding::InvalidHeader) {
        notes.push(Note::SplitHeader);
    }
    let checks = plan.expect.check(&reply);
    Exchanged {
        reply,
        handshake,
        sent,
        finding,
        notes,
        checks,
        spoken: None,
    }
}

/// The notes any exchange's connection can earn: the server spoke first,
/// or the peer stopped the writing.
pub(crate) fn connection_notes(reply: &Transcript) -> Vec<Note> {
    let mut notes = Vec::new();
    if !reply.banner.is_empty() {
        notes.push(Note::BannerFirst);
    }
    if let Some(e) = &reply.write_error {
        notes.push(Note::WriteStopped(e.clone()));
    }
    notes
}

/// The TLS dimension of an exchange, for the judge.
fn layer(reply: &Transcript, handshake: Option<&Handshake>) -> judge::Layer {
    match handshake.map(|h| &h.result) {
        None => judge::Layer::of_plain(&reply.received),
        // Not connected (the judge says so from the reply), or the header
        // could not be written.
        Some(HandshakeResult::NotStarted) => judge::Layer::Plain,
        Some(HandshakeResult::Done(_)) => judge::Layer::Tls,
        Some(HandshakeResult::Failed(f)) if f.kind == FailureKind::Certificate => {
            judge::Layer::TlsCertificateRefused
        }
        Some(HandshakeResult::Failed(_)) => judge::Layer::TlsFailed,
    }
}

/// What went out first, in the judge's terms, from the bytes themselves:
/// so `--twice` and `--raw` are judged by what they made.
pub(crate) fn what_was_sent(header: &[u8], payload: &[u8]) -> judge::Sent {
    let has_payload = !payload.is_empty();
    if header.is_empty() {
        return if has_payload {
            judge::Sent::data(payload)
        } else {
            judge::Sent::Nothing
        };
    }
    match codec::decode_final(header) {
        Decoded::Complete(h) => {
            if stacked_at(header).is_some() {
                return judge::Sent::Stacked;
            }
            let rest = &header[h.len().min(header.len())..];
            let payload = has_payload || !rest.is_empty();
            match h.command {
                Command::Local => judge::Sent::Local { payload },
                Command::Proxy => judge::Sent::Header { payload },
            }
        }
        Decoded::Invalid(_) | Decoded::Incomplete { .. } => judge::Sent::Invalid,
        // `--raw` bytes that are no header at all are data.
        Decoded::NotProxy(_) => judge::Sent::data(&[header, payload].concat()),
    }
}

/// Where a second complete header follows the first in `header`.
pub(crate) fn stacked_at(header: &[u8]) -> Option<usize> {
    let Decoded::Complete(h) = codec::decode_final(header) else {
        return None;
    };
    let at = h.len().min(header.len());
    matches!(codec::decode_final(&header[at..]), Decoded::Complete(_)).then_some(at)
}

/// The ends a `--dry-run` header shows when --src/--dst are not given:
/// the target and the local address the kernel would pick for it (found
/// with an unsent UDP "connect"); the source port is 0 because the real one
/// only exists after connect.
pub(crate) fn placeholder_ends(peer: Option<SocketAddr>) -> (SocketAddr, SocketAddr) {
    let peer = peer.unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 80)));
    let any: SocketAddr = if peer.is_ipv4() {
        SocketAddr::from(([0, 0, 0, 0], 0))
    } else {
        SocketAddr::from(([0u16; 8], 0))
    };
    let local_ip = std::net::UdpSocket::bind(any)
        .and_then(|s| s.connect(peer).and_then(|_| s.local_addr()))
        .map(|a| a.ip())
        .unwrap_or(any.ip());
    (SocketAddr::new(local_ip, 0), peer)
}

/// `--expect-status` and `--expect-close`: what makes the exit code 0.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expect {
    pub status: Option<u16>,
    pub close: bool,
}

/// One expectation and whether the reply met it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Check {
    pub expected: Expected,
    pub met: bool,
}

/// What an expectation asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Expected {
    /// An HTTP response with this status.
    Status(u16),
    /// A close or reset without a reply.
    Close,
}

impl Expect {
    pub(crate) fn check(&self, reply: &Transcript) -> Vec<Check> {
        let mut out = Vec::new();
        if let Some(want) = self.status {
            out.push(Check {
                expected: Expected::Status(want),
                met: http_status(&reply.received) == Some(want),
            });
        }
        if self.close {
            out.push(Check {
                expected: Expected::Close,
                met: closed_without_reply(reply),
            });
        }
        out
    }
}

/// The status code when the reply starts with an HTTP response line.
pub fn http_status(received: &[u8]) -> Option<u16> {
    match sniff::classify(received) {
        Sniffed::HttpResponse { status, .. } => Some(status),
        _ => None,
    }
}

/// True when the receiver hung up (FIN or RST) without answering.
pub(crate) fn closed_without_reply(reply: &Transcript) -> bool {
    reply.connected
        && reply.received_total == 0
        && matches!(reply.end, net::End::EofWithoutData | net::End::Reset)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_was_sent_comes_from_the_bytes() {
        let v1 = b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n".to_vec();
        let get = b"GET / HTTP/1.1\r\n\r\n";
        assert_eq!(
            what_was_sent(&v1, get),
            judge::Sent::Header { payload: true }
        );
        assert_eq!(
            what_was_sent(&v1, b""),
            judge::Sent::Header { payload: false }
        );
        let twice = [v1.clone(), v1.clone()].concat();
        assert_eq!(what_was_sent(&twice, get), judge::Sent::Stacked);
        assert_eq!(what_was_sent(&v1[..10], b""), judge::Sent::Invalid);
        assert_eq!(
            what_was_sent(b"PROXY TCP5 x\r\n", get),
            judge::Sent::Invalid
        );
        let local = hex::decode("0d0a0d0a000d0a515549540a20000000").unwrap();
        assert_eq!(
            what_was_sent(&local, b""),
            judge::Sent::Local { payload: false }
        );
        assert_eq!(what_was_sent(b"PRO", b""), judge::Sent::Invalid);
        assert_eq!(
            what_was_sent(b"", get),
            judge::Sent::NoHeader { request: false }
        );
        let with_host = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n";
        assert_eq!(
            what_was_sent(b"", with_host),
            judge::Sent::NoHeader { request: true }
        );
        assert_eq!(
            what_was_sent(b"GET / HTTP/1.1\r\n", b"Host: a\r\n\r\n"),
            judge::Sent::NoHeader { request: true }
        );
        assert_eq!(what_was_sent(b"", b""), judge::Sent::Nothing);
        assert_eq!(
            what_was_sent(b"hello", b""),
            judge::Sent::NoHeader { request: false }
        );
    }
}
