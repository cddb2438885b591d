//! What each flow comes to. The facts of its exchange (what the client put
//! first on the wire, what the server answered first, how the connection
//! ended) are read off the flow and handed to [`crate::judge`], the one
//! place that names a finding. A flow whose start is not in the capture is
//! `incomplete` without asking: there is nothing to judge.

use std::cell::RefCell;
use std::sync::LazyLock;

use super::flow::{End, Flow, Seen, Side};
use crate::codec::{self, Command, Decoded, Version, Warning};
use crate::judge::{self, Answer, Ending, Exchange, Finding, Sent};
use crate::protocol::{self, Chosen, Protocol, Recorded, Selection, Spoken};
use crate::server::HeaderFacts;

/// The findings a capture can show (the rest need a live peer: a timeout,
/// an unreachable host, a receiver's configuration), from the judge's
/// table (`reported_by` `Pcap`): `--finding`'s values, and the summary
/// counts each of them, zero or not.
pub(crate) fn findings() -> &'static [Finding] {
    static FINDINGS: LazyLock<Vec<Finding>> =
        LazyLock::new(|| judge::reported_by(judge::Reporter::Pcap));
    &FINDINGS
}

/// Why a flow's start is not in the capture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Missing {
    /// The handshake (SYN) is not in the capture.
    Handshake,
    /// Data arrived, but the client's first bytes did not.
    FirstBytes,
}

/// A valid header at the start of the client's stream (its bytes are
/// `client_bytes[..header.len]`), and what follows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Opening {
    pub(crate) header: HeaderFacts,
    /// Another header right behind it: its version when it decodes, `None`
    /// inside when only its signature is there.
    pub(crate) stacked: Option<Option<Version>>,
    /// Bytes follow the header(s).
    pub(crate) payload: bool,
}

/// The start of the client's stream, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Start {
    /// The start is not in the capture.
    Unseen(Missing),
    /// The client sent no byte.
    Nothing,
    /// A valid header.
    Header(Opening),
    /// The capture ended inside a header: at least `needed` more bytes.
    Partial { needed: usize },
    /// A header that breaks the spec.
    Invalid(codec::Error),
    /// Not a PROXY header.
    NotProxy,
}

/// The first close seen, and by whom.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Close {
    ClientFin,
    ClientRst,
    ServerFin,
    ServerRst,
}

/// A flow, decided: the facts and the finding.
#[derive(Debug, Clone)]
pub(crate) struct Decision {
    pub(crate) start: Start,
    /// What the judge was asked; `None` when the flow could not be judged
    /// (its start is missing, or the capture ended inside the header).
    pub(crate) exchange: Option<Exchange>,
    pub(crate) finding: Finding,
    pub(crate) close: Option<Close>,
    /// A mail, database or SSH flow, judged in its server's words.
    pub(crate) spoken: Option<Box<Spoken>>,
}

/// The protocol after a flow's header, when it is one the judge reads in
/// its server's words (SMTP, IMAP, POP3, MySQL, PostgreSQL, Redis, SSH):
/// `protocol::conversation`'s. HTTP, TLS and unknown flows are judged as
/// before.
pub(crate) fn conversation(flow: &Seen<'_>, asked: Selection) -> Option<(Protocol, Chosen)> {
    if flow.udp {
        return None;
    }
    protocol::conversation(asked, flow.server.port(), flow.server_bytes())
}

/// A header [`ready`] decoded, kept for the decision that follows it: the
/// same flow with as many client bytes has the same bytes (a stream only
/// grows), so the header is decoded once per flow, not twice.
#[derive(Default)]
pub(crate) struct KeptStart(RefCell<Option<(u64, usize, Start, Sent)>>);

impl KeptStart {
    fn keep(&self, flow: &Seen<'_>, (start, sent): (Start, Sent)) {
        let len = flow.client_bytes().len();
        *self.0.borrow_mut() = Some((flow.id, len, start, sent));
    }

    /// The start kept for `flow` as it is now, if any.
    fn take(&self, flow: &Seen<'_>) -> Option<(Start, Sent)> {
        let len = flow.client_bytes().len();
        match self.0.borrow_mut().take() {
            Some((id, n, start, sent)) if id == flow.id && n == len => Some((start, sent)),
            _ => None,
        }
    }
}

/// Can an undecided flow be decided now? Yes once the header (or the
/// lack of one) is known and the server has answered; closes are handled by
/// the flow table. A whole header decoded here is kept in `kept`.
///
/// The common case, most packets of a flow, is answered here, inlined
/// where the table asks: the server has said nothing and the client has
/// neither closed nor filled its buffer. No flow is ready then,
/// conversation or not (see both cases in [`ready_now`]), so the protocol
/// is not looked up on every packet.
#[inline(always)]
pub(crate) fn ready(flow: &Seen<'_>, asked: Selection, max_bytes: usize, kept: &KeptStart) -> bool {
    let waiting = flow.start_seen
        && !flow.udp
        && flow.server_bytes().is_empty()
        && flow.server_end.is_none()
        && flow.client_end.is_none()
        && flow.client_bytes().len() < max_bytes;
    !waiting && ready_now(flow, asked, max_bytes, kept)
}

/// [`ready`] for a flow that is not plainly waiting.
#[inline(never)]
fn ready_now(flow: &Seen<'_>, asked: Selection, max_bytes: usize, kept: &KeptStart) -> bool {
    if !flow.start_seen {
        return true;
    }
    if conversation(flow, asked).is_some() {
        // A conversation (greeting, commands, STARTTLS) is judged whole:
        // at the first close, or once a side has filled its buffer.
        return flow.client_end.is_some()
            || flow.server_end.is_some()
            || flow.client_bytes().len() >= max_bytes
            || flow.server_bytes().len() >= max_bytes;
    }
    let client = flow.client_bytes();
    if flow.udp {
        return !client.is_empty();
    }
    // A client that closed without sending anything can't send a header
    // any more: a connect-and-close.
    let silent_close =
        client.is_empty() && flow.client_end.is_some() && flow.server_bytes().is_empty();
    // Until the server answers or closes, nothing else can make the flow
    // ready: the header is decoded only then, not on every client packet.
    if flow.server_bytes().is_empty() && flow.server_end.is_none() {
        return silent_close;
    }
    let (settled, alone) = header_settled(client, |h| kept.keep(flow, opened(client, h)));
    // A header with nothing behind it yet: what follows it (a request, a
    // ClientHello) decides how the answer reads, and a server may answer
    // the header alone (nginx `listen 443 ssl` answers 400 before the
    // ClientHello is in). Wait for it, or for the client's end.
    if alone && flow.client_end.is_none() {
        return false;
    }
    if flow.server_end.is_none() && flow.client_end.is_none() && awaits_close(client, flow) {
        return false;
    }
    (settled && !flow.server_bytes().is_empty()) || flow.server_end.is_some() || silent_close
}

/// A 400 to data without a header is judged by how the connection ends (a
/// web server's stock page and a close is `hop-adds-header`, see
/// `judge::stock_400`; kept open, it is an application's `http-error`), and
/// its page may still be arriving: such a flow waits for a close.
fn awaits_close(client: &[u8], flow: &Seen<'_>) -> bool {
    let server = flow.server_bytes();
    server.starts_with(b"HTTP/1.") && server.get(9..12) == Some(b"400") && not_proxy(client)
}

/// Whether the codec calls `client` not a PROXY header: bytes that can't
/// start one are not, without the codec's sniff of them (a request parse).
fn not_proxy(client: &[u8]) -> bool {
    match client.first() {
        None => false,
        Some(_) if !may_be_header(client) => true,
        Some(_) => matches!(codec::decode(client), Decoded::NotProxy(_)),
    }
}

/// Whether the client's first bytes say all they will about a header.
/// Only bytes that can start one (`\r` for v2, `P` for v1) need decoding;
/// anything else is already known not to be a header, so this stays cheap
/// on the hot path (it runs for every packet of an undecided flow).
/// Also: whether they are one whole header and nothing else. A whole
/// header goes to `whole`.
fn header_settled(client: &[u8], whole: impl FnOnce(&codec::Header<'_>)) -> (bool, bool) {
    match client.first() {
        None => (false, false),
        Some(_) if may_be_header(client) => match codec::decode(client) {
            Decoded::Incomplete { .. } => (false, false),
            Decoded::Complete(h) => {
                whole(&h);
                (true, h.len() == client.len())
            }
            _ => (true, false),
        },
        Some(_) => (true, false),
    }
}

/// Whether `client`'s first byte can start a header (`\r` for v2, `P` for
/// v1); the codec calls anything else not a PROXY header, after sniffing
/// it (for a request, a parse that judging does not use).
fn may_be_header(client: &[u8]) -> bool {
    matches!(client.first(), Some(b'\r' | b'P' | b'p'))
}

/// Decide a flow (with the header `ready` decoded, when `kept` has it).
pub(crate) fn decide(flow: &Seen<'_>, asked: Selection, kept: &KeptStart) -> Decision {
    let close = close(flow);
    let unjudged = |start| Decision {
        start,
        exchange: None,
        finding: Finding::Incomplete,
        close,
        spoken: None,
    };
    if !flow.start_seen {
        return unjudged(Start::Unseen(Missing::Handshake));
    }
    if flow.client_missing_start() {
        return unjudged(Start::Unseen(Missing::FirstBytes));
    }
    let client = flow.client_bytes();
    let ended = flow.udp || flow.first_close.is_some();
    if !ended && flow.server_bytes().is_empty() && !header_settled(client, |_| {}).0 {
        if let Decoded::Incomplete { needed } = codec::decode(client) {
            if !client.is_empty() {
                return unjudged(Start::Partial { needed });
            }
        }
    }
    let (start, sent) = kept.take(flow).unwrap_or_else(|| start(client));
    let refused = !flow.udp && !flow.synack_seen && flow.server_end == Some(End::Rst);
    let ending = if refused {
        Ending::Refused
    } else {
        ending(flow, sent)
    };
    let exchange = Exchange {
        sent,
        answer: Answer::of(flow.server_bytes()),
        ending,
        udp: flow.udp,
    };
    let after = client.get(header_len(&start)..).unwrap_or_default();
    if let Some((p, chosen)) = conversation(flow, asked) {
        if let Some(spoken) = speak(flow, p, chosen, sent, ending) {
            return Decision {
                start,
                finding: spoken.verdict.finding,
                exchange: Some(exchange),
                close,
                spoken: Some(Box::new(spoken)),
            };
        }
    }
    let layer = judge::Layer::of_bytes(after, exchange.answer, flow.server_bytes());
    let finding = judge::layered(&exchange, layer);
    Decision {
        start,
        finding,
        exchange: Some(exchange),
        close,
        spoken: None,
    }
}

/// A conversation flow judged in its protocol; `None` when the server
/// answered in another protocol (the generic judgement then stands).
fn speak(
    flow: &Seen<'_>,
    p: Protocol,
    chosen: Chosen,
    sent: Sent,
    ending: Ending,
) -> Option<Spoken> {
    let client = flow.client_bytes();
    let header = matches!(
        sent,
        Sent::Header { .. } | Sent::Local { .. } | Sent::Stacked
    );
    let greeted_first =
        header && matches!((flow.server_first_data, flow.first_data), (Some(s), Some(c)) if s < c);
    let after = client
        .get(
            match codec::decode_final(client) {
                Decoded::Complete(h) => h.len(),
                _ => 0,
            }..,
        )
        .unwrap_or_default();
    let from = flow.first_data.unwrap_or(flow.first_seen);
    let until = flow.server_first_data.unwrap_or(flow.last_seen);
    protocol::hear(
        p,
        chosen,
        &Recorded {
            sent,
            greeted_first,
            client: after,
            server: flow.server_bytes(),
            ending,
            waited: Some(until.since(from)),
        },
    )
}

/// Bytes of the client's first header (0 without one).
fn header_len(start: &Start) -> usize {
    match start {
        Start::Header(h) => h.header.len,
        _ => 0,
    }
}

/// The client's first bytes, decoded as everything there will be.
fn start(client: &[u8]) -> (Start, Sent) {
    if client.is_empty() {
        return (Start::Nothing, Sent::Nothing);
    }
    if !may_be_header(client) {
        return (Start::NotProxy, Sent::data(client));
    }
    match codec::decode_final(client) {
        Decoded::Complete(h) => opened(client, &h),
        Decoded::Invalid(e) => (Start::Invalid(e), Sent::Invalid),
        Decoded::Incomplete { needed } => (Start::Partial { needed }, Sent::Invalid),
        Decoded::NotProxy(_) => (Start::NotProxy, Sent::data(client)),
    }
}

/// The start of `client`, whose first bytes are the whole header `h`.
fn opened(client: &[u8], h: &codec::Header<'_>) -> (Start, Sent) {
    let rest = &client[h.len()..];
    let stacked = h
        .warnings
        .contains(Warning::StackedHeader)
        .then(|| match codec::decode(rest) {
            Decoded::Complete(second) => Some(second.version),
            _ => None,
        });
    let local = h.command == Command::Local;
    let payload = !rest.is_empty();
    let sent = match (local, stacked) {
        (_, Some(_)) => Sent::Stacked,
        (true, None) => Sent::Local { payload },
        (false, None) => Sent::Header { payload },
    };
    let opening = Opening {
        header: HeaderFacts::of(h),
        stacked,
        payload,
    };
    (Start::Header(opening), sent)
}

/// How the exchange ended, for the judge. The server's close counts when it
/// closed first, or when it closed without answering a client that had
/// sent a request and only half-closed; a client that left with nothing
/// to answer (a connect-and-close, a bare header) closed the exchange.
fn ending(flow: &Flow, sent: Sent) -> Ending {
    let server = |end| match end {
        End::Fin => Ending::ServerClosed,
        End::Rst => Ending::ServerReset,
    };
    let request = matches!(
        sent,
        Sent::NoHeader { .. }
            | Sent::Header { payload: true }
            | Sent::Local { payload: true }
            | Sent::Stacked
    );
    match (flow.first_close, flow.server_end) {
        (None, _) => Ending::Unfinished,
        (Some(Side::Server), end) => server(end.unwrap_or(End::Fin)),
        (Some(Side::Client), Some(end)) if request && flow.client_end == Some(End::Fin) => {
            server(end)
        }
        (Some(Side::Client), _) => Ending::ClientClosed,
    }
}

fn close(flow: &Flow) -> Option<Close> {
    flow.first_close.map(|side| match side {
        Side::Client if flow.client_end == Some(End::Rst) => Close::ClientRst,
        Side::Client => Close::ClientFin,
        Side::Server if flow.server_end == Some(End::Rst) => Close::ServerRst,
        Side::Server => Close::ServerFin,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stacked_header_is_seen_with_both_versions() {
        let one = b"PROXY TCP4 1.2.3.4 5.6.7.8 1000 80\r\n";
        let two = [&one[..], &one[..], b"GET / HTTP/1.1\r\n\r\n"].concat();
        let (start, sent) = start(&two);
        assert_eq!(sent, Sent::Stacked);
        match start {
            Start::Header(h) => {
                assert_eq!(h.stacked, Some(Some(Version::V1)));
                assert_eq!(h.header.len, one.len());
                assert!(h.payload);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_datagram_without_an_answer_is_judged_by_what_it_carried() {
        let udp = |sent| {
            judge::exchange(&Exchange {
                sent,
                answer: Answer::Nothing,
                ending: Ending::Unfinished,
                udp: true,
            })
        };
        assert_eq!(udp(Sent::Header { payload: true }), Finding::Proxied);
        assert_eq!(udp(Sent::NoHeader { request: false }), Finding::Plain);
        assert_eq!(udp(Sent::Local { payload: false }), Finding::HealthCheck);
        assert_eq!(udp(Sent::Invalid), Finding::InvalidHeader);
    }

    fn after_header(client: &[u8]) -> &[u8] {
        client
            .get(header_len(&start(client).0)..)
            .unwrap_or_default()
    }

    #[test]
    fn the_443_mistakes_get_their_tls_findings() {
        let hello: &[u8] = b"\x16\x03\x01\x00\x05\x01\x00\x00\x01\x03";
        let v1 = b"PROXY TCP4 203.0.113.7 10.0.0.5 51234 443\r\n";
        let bad = b"HTTP/1.1 400 Bad Request\r\n\r\n";
        let judged = |client: &[u8], server: &[u8], sent, answer, ending| {
            let x = Exchange {
                sent,
                answer,
                ending,
                udp: false,
            };
            judge::layered(
                &x,
                judge::Layer::of_bytes(after_header(client), x.answer, server),
            )
        };
        let header_hello = [&v1[..], hello].concat();
        // A header in front of TLS, answered in clear: nginx `listen 443 ssl`.
        assert_eq!(
            judged(
                &header_hello,
                bad,
                Sent::Header { payload: true },
                Answer::of(bad),
                Ending::ServerClosed
            ),
            Finding::TlsHandshakeFailed
        );
        // A ClientHello without a header, hung up on: `ssl proxy_protocol`.
        assert_eq!(
            judged(
                hello,
                b"",
                Sent::NoHeader { request: false },
                Answer::Nothing,
                Ending::ServerClosed
            ),
            Finding::TlsBeforeProxy
        );
        // A header, then TLS answered with TLS: served.
        let server_hello = b"\x16\x03\x03\x00\x02\x02\x00";
        assert_eq!(
            judged(
                &header_hello,
                server_hello,
                Sent::Header { payload: true },
                Answer::of(server_hello),
                Ending::ServerClosed
            ),
            judge::exchange(&Exchange {
                sent: Sent::Header { payload: true },
                answer: Answer::of(server_hello),
                ending: Ending::ServerClosed,
                udp: false,
            })
        );
        // No TLS at all: the plain judgement.
        let x = Exchange {
            sent: Sent::Header { payload: false },
            answer: Answer::of(bad),
            ending: Ending::ServerClosed,
            udp: false,
        };
        assert_eq!(
            judge::Layer::of_bytes(after_header(v1), x.answer, bad),
            judge::Layer::Plain
        );
    }

    #[test]
    fn a_capture_can_show_a_refused_connect_but_not_a_local_limit() {
        assert!(findings().contains(&Finding::NoReceiver));
        assert!(findings().contains(&Finding::BannerBeforeHeader));
        assert!(!findings().contains(&Finding::LocalLimit));
        assert!(!findings().contains(&Finding::HeaderTimeout));
    }
}
