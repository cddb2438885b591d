//! The client's side of a conversation in a protocol, as the net layer's
//! [`Script`] asks it turn by turn (`send` and `probe` hold conversations
//! through `net::converse` with a [`Speaker`]); and `--protocol`'s values.

use super::{Kind, Protocol};
use crate::net::Script;

/// A `--protocol` value: one protocol, or `auto`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Selection {
    /// From the well-known port, else from the server's first bytes.
    Auto,
    One(Protocol),
}

impl Selection {
    /// Every value, in `--protocol` order.
    pub(crate) const ALL: [Selection; 11] = [
        Selection::One(Protocol::Http),
        Selection::One(Protocol::Tls),
        Selection::One(Protocol::Smtp),
        Selection::One(Protocol::Imap),
        Selection::One(Protocol::Pop3),
        Selection::One(Protocol::Mysql),
        Selection::One(Protocol::Postgres),
        Selection::One(Protocol::Redis),
        Selection::One(Protocol::Ssh),
        Selection::One(Protocol::Raw),
        Selection::Auto,
    ];

    /// The value named so (`--protocol`'s and an exporter module's
    /// `protocol`).
    pub(crate) fn from_name(name: &str) -> Option<Selection> {
        Selection::ALL.into_iter().find(|s| s.name() == name)
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Selection::Auto => "auto",
            Selection::One(p) => p.name(),
        }
    }

    pub(crate) fn describe(self) -> &'static str {
        match self {
            Selection::Auto => {
                "the well-known port's (25 smtp, 143 imap, 3306 mysql, ...), else the one the server greets in"
            }
            Selection::One(p) => p.describe(),
        }
    }

    /// A few words for the `--protocol` value list of the commands that
    /// judge what went by rather than speak (`pcap`, `relay`): what of the
    /// server's is read.
    pub(crate) fn describe_heard(self) -> &'static str {
        match self {
            Selection::Auto => {
                "the server port's (25 smtp, 143 imap, 3306 mysql, ...), else the one its first bytes are in"
            }
            Selection::One(p) => p.describe_heard(),
        }
    }

    /// The protocol, when it is known before a byte is read: the one
    /// named, or the well-known port's.
    pub(crate) fn before_talking(self, port: u16) -> Option<(Protocol, Chosen)> {
        match self {
            Selection::One(p) => Some((p, Chosen::Named)),
            Selection::Auto => Protocol::by_port(port).map(|p| (p, Chosen::Port)),
        }
    }
}

/// How the protocol of a conversation was chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chosen {
    /// Not asked for: the command's own (send's HTTP request, or the
    /// `--data` you give; probe's HTTP).
    Default,
    /// `--protocol` named it.
    Named,
    /// `auto`: the well-known port's.
    Port,
    /// `auto`: the server greeted in it.
    Greeting,
    /// `auto`: the server said nothing first, so the client spoke HTTP.
    Silence,
}

impl Chosen {
    /// The stable identifier (JSON `protocol.chosen_by`).
    pub(crate) fn name(self) -> &'static str {
        match self {
            Chosen::Default => "default",
            Chosen::Named => "option",
            Chosen::Port => "port",
            Chosen::Greeting => "greeting",
            Chosen::Silence => "silence",
        }
    }
}

/// The client of one conversation: the protocol (or `auto`, found from
/// the greeting), and the HTTP request an `auto` client sends when the
/// server stays silent.
#[derive(Debug, Clone)]
pub(crate) struct Speaker {
    /// `None`: `auto` on a port that is not well-known.
    pub protocol: Option<Protocol>,
    pub http_request: Vec<u8>,
}

impl Speaker {
    /// The protocol spoken, given what the server said first: the one
    /// asked for; for `auto`, the one it greeted in (after any notice
    /// before its greeting), or HTTP when it said nothing.
    pub(crate) fn protocol(&self, said: &[u8]) -> (Protocol, Chosen) {
        if let Some(p) = self.protocol {
            return (p, Chosen::Named);
        }
        if said.is_empty() {
            return (Protocol::Http, Chosen::Silence);
        }
        let found = super::greeting_of(said).unwrap_or(Protocol::Raw);
        (found, Chosen::Greeting)
    }
}

impl Script for Speaker {
    fn greeted(&self, said: &[u8]) -> bool {
        match self.protocol {
            Some(p) => p.greeted(said),
            // `auto`: the protocol's own reading once its greeting shows.
            None => match super::greeting_of(said) {
                Some(p) => p.greeted(said),
                None => !said.is_empty() && !super::may_greet(said),
            },
        }
    }

    fn opening(&self, said: &[u8]) -> Option<Vec<u8>> {
        let (protocol, chosen) = self.protocol(said);
        if chosen == Chosen::Silence {
            return Some(self.http_request.clone());
        }
        let replies = protocol.replies(said);
        let greeted = replies.iter().any(|r| r.kind == Kind::Greeting);
        // A server that has refused already is not asked anything more:
        // the opening would reach it unread as it hangs up, and the reset
        // that makes can cut its last words.
        if replies
            .iter()
            .any(|r| matches!(r.kind, Kind::Refused | Kind::Error))
        {
            return None;
        }
        match protocol.opening() {
            super::Opening::Bytes(b) if greeted || !protocol.server_speaks_first() => {
                Some(b.to_vec())
            }
            _ => None,
        }
    }

    fn answered(&self, said: &[u8], answer: &[u8]) -> bool {
        match self.protocol(said) {
            // HTTP after silence: the whole response, until the close.
            (_, Chosen::Silence) => false,
            (p, _) => p.answered(said, answer),
        }
    }

    fn upgrade(&self, answer: &[u8]) -> Option<bool> {
        let p = self.protocol?;
        p.starttls_answer(answer).map(|r| r.kind == Kind::Ok)
    }

    fn listening_after_refusal(&self, said: &[u8]) -> bool {
        let (protocol, _) = self.protocol(said);
        // Line protocols go on after a refused command; MySQL and the
        // others end the connection after their error.
        if !matches!(protocol, Protocol::Smtp | Protocol::Imap | Protocol::Pop3) {
            return false;
        }
        let replies = protocol.replies(said);
        replies.iter().any(|r| r.kind == Kind::Greeting)
            && replies.last().is_some_and(|r| r.kind == Kind::Refused)
    }

    fn closing(&self) -> Option<Vec<u8>> {
        self.protocol
            .and_then(Protocol::closing)
            .map(<[u8]>::to_vec)
    }
}
