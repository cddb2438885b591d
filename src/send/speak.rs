//! `send --protocol smtp|imap|pop3|mysql|postgres|redis|ssh` (and `auto`
//! on a port that is not well-known): after the header, one conversation
//! in the protocol (`net::converse`: the greeting, the harmless opening,
//! its answer, STARTTLS), judged by `protocol::judge` in the server's own
//! words.

use std::net::SocketAddr;
use std::time::Duration;

use super::{judge_reply, what_was_sent, BuildError, Exchanged, Note, Plan};
use crate::judge;
use crate::net::{self, Conversation, FailureKind, HandshakeResult, Message, TlsOptions};
use crate::protocol::{self, Chosen, Opening, Protocol, Seen, Speaker};

/// How long `auto` waits for a greeting on a port that is not well-known
/// before it takes the server for a client-first one and speaks HTTP.
pub(crate) const AUTO_GREETING_WAIT: Duration = Duration::from_secs(1);

/// What `send` speaks after the header, when it is a protocol of
/// `crate::protocol` rather than its own HTTP request or `--data`.
#[derive(Debug, Clone)]
pub struct Speak {
    /// `None`: `auto` on a port that is not well-known (found from the
    /// greeting, else HTTP).
    pub protocol: Option<Protocol>,
    /// How the protocol was chosen before the connection (named, port).
    pub chosen: Chosen,
    /// The wait for a server that speaks first (`--greeting-timeout`).
    pub greeting_timeout: Duration,
    /// `--starttls`, with the TLS options of the handshake.
    pub starttls: Option<TlsOptions>,
    /// What `auto` sends when the server says nothing first.
    pub http_request: Vec<u8>,
}

/// A conversation in a protocol, and the judge's verdict in its words.
#[derive(Debug, Clone)]
pub(crate) struct Spoken {
    pub protocol: Protocol,
    pub chosen: Chosen,
    pub verdict: protocol::Verdict,
    /// The opening sent (EHLO, CAPABILITY...), if one was.
    pub opening: Option<Vec<u8>>,
    /// The server said nothing for the whole greeting wait.
    pub silent: bool,
    pub greeting_timeout: Duration,
    /// STARTTLS and what came of it.
    pub upgrade: Option<net::Upgrade>,
}

impl Speak {
    fn speaker(&self) -> Speaker {
        Speaker {
            protocol: self.protocol,
            http_request: self.http_request.clone(),
        }
    }

    /// The client speaks first: its opening goes with the header.
    fn client_first(&self) -> bool {
        self.protocol.is_some_and(|p| !p.server_speaks_first())
    }

    fn opening_bytes(&self) -> Vec<u8> {
        match self.protocol.map(Protocol::opening) {
            Some(Opening::Bytes(b)) => b.to_vec(),
            _ => Vec::new(),
        }
    }
}

/// Hold the conversation of `plan` with `addrs` and judge it; the message
/// as it went out, if a connection was made.
pub(crate) async fn once(
    plan: &Plan,
    speak: &Speak,
    addrs: &[SocketAddr],
) -> Result<(Option<Message>, Exchanged), BuildError> {
    let speaker = speak.speaker();
    let greeting_timeout = match speak.protocol {
        _ if speak.client_first() => None,
        None => Some(speak.greeting_timeout.min(AUTO_GREETING_WAIT)),
        Some(_) => Some(speak.greeting_timeout),
    };
    let command = speak.protocol.and_then(Protocol::starttls);
    let talk = Conversation {
        greeting_timeout,
        starttls: command.zip(speak.starttls.as_ref()),
        script: &speaker,
    };
    let payload = if speak.client_first() {
        speak.opening_bytes()
    } else {
        Vec::new()
    };
    let dialogue = net::converse(addrs, &plan.net, &talk, |local, peer| {
        Ok::<_, BuildError>(Message {
            header: plan.header.build(local, peer)?,
            payload: payload.clone(),
        })
    })
    .await?;
    let message = dialogue.reply.message.clone();
    let header = match &message {
        Some(m) => m.header.clone(),
        None => {
            let (local, peer) = super::placeholder_ends(addrs.first().copied());
            plan.header.build(local, peer)?
        }
    };
    Ok((message, judge_spoken(plan, speak, &header, dialogue)))
}

/// The verdict on one conversation, with send's notes and expectations.
pub(crate) fn judge_spoken(
    plan: &Plan,
    speak: &Speak,
    header: &[u8],
    d: net::Dialogue,
) -> Exchanged {
    let speaker = speak.speaker();
    let reply = d.reply;
    let at = d.opened_at.unwrap_or(reply.received.len());
    let before = [reply.banner.as_slice(), &reply.received[..at]].concat();
    let (protocol, chosen) = match speak.protocol {
        Some(p) => (p, speak.chosen),
        None => speaker.protocol(&before),
    };
    let opening = d.opened_at.map(|_| {
        if speak.client_first() {
            speak.opening_bytes()
        } else {
            net::Script::opening(&speaker, &before).unwrap_or_default()
        }
    });
    let spoken = |verdict| Spoken {
        protocol,
        chosen,
        verdict,
        opening: opening.clone(),
        silent: d.silent,
        greeting_timeout: speak.greeting_timeout,
        upgrade: d.upgrade.clone(),
    };
    if chosen == Chosen::Silence {
        // `auto`, and the server said nothing first: an HTTP exchange,
        // judged as send judges one.
        let message = Message {
            header: header.to_vec(),
            payload: speak.http_request.clone(),
        };
        let mut x = judge_reply(plan, &message, reply, None);
        let verdict = protocol::judge(
            Protocol::Http,
            &Seen {
                sent: x.sent,
                greeted_first: false,
                foreign_client: false,
                before: &x.reply.received,
                after: None,
                ending: judge::Exchange::of(&x.reply, x.sent, false).ending,
            },
        );
        x.spoken = Some(Box::new(spoken(verdict)));
        return x;
    }
    let sent = match plan.header.corrupt {
        Some(_) => judge::Sent::Invalid,
        None => what_was_sent(header, opening.as_deref().unwrap_or_default()),
    };
    let ending = judge::Exchange::of(&reply, sent, false).ending;
    // The answer to the opening; STARTTLS's is its own (a refusal of it
    // is no refusal of the header).
    let upto = d.upgrade.as_ref().map_or(reply.received.len(), |u| u.at);
    let verdict = protocol::judge(
        protocol,
        &Seen {
            sent,
            greeted_first: !reply.banner.is_empty(),
            foreign_client: false,
            before: &before,
            after: d
                .opened_at
                .map(|at| &reply.received[at.min(upto)..upto.max(at)]),
            ending,
        },
    );
    let mut finding = verdict.finding;
    let handshake = d.upgrade.as_ref().and_then(|u| u.handshake.clone());
    let mut notes = super::connection_notes(&reply);
    if let Some(u) = &d.upgrade {
        let answer = &reply.received[u.at.min(reply.received.len())..];
        match (u.agreed, protocol.starttls_answer(answer)) {
            (Some(false), Some(r)) => notes.push(Note::StartTlsRefused(r.words)),
            (None, _) => notes.push(Note::StartTlsUnanswered),
            _ => {}
        }
    }
    // The PROXY layer worked if the session got this far; a certificate
    // the client refused is the finding, as with `--tls`.
    let refused = handshake.as_ref().is_some_and(
        |h| matches!(&h.result, HandshakeResult::Failed(f) if f.kind == FailureKind::Certificate),
    );
    if refused {
        finding = judge::on_tls_port(finding, judge::Layer::TlsCertificateRefused);
    }
    let checks = plan.expect.check(&reply);
    Exchanged {
        reply,
        handshake,
        sent,
        finding,
        notes,
        checks,
        spoken: Some(Box::new(spoken(verdict))),
    }
}
