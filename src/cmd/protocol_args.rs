//! The protocol options `send` and `probe` share (`--protocol`,
//! `--starttls`, `--greeting-timeout`): one clap struct, flattened into
//! both; `--protocol`'s values for `pcap` and `relay`, which read what went
//! by ([`heard_parser`]), and for the stand-ins. What each protocol is,
//! sends and answers is `crate::protocol`'s.

use super::values::{timeout, Choice, Wait};
use crate::protocol::{Protocol, Selection, GREETING_TIMEOUT};

#[derive(Debug, Clone, clap::Args)]
pub struct ProtocolArgs {
    /// What to speak after the header (docs/protocols.md). The server's
    /// greeting and answer are judged in that protocol's words.
    #[arg(long, value_name = "PROTOCOL", value_parser = parser(), help_heading = "Protocol")]
    pub(crate) protocol: Option<Selection>,
    /// After the plain opening (EHLO, CAPABILITY, CAPA), ask for TLS
    /// (SMTP and IMAP STARTTLS, POP3 STLS) and report the handshake.
    #[arg(long, help_heading = "Protocol")]
    pub(crate) starttls: bool,
    /// How long a server that speaks first (smtp, imap, pop3, mysql, ssh)
    /// may take to greet after the header, or without one: longer than
    /// the server's own wait for a header (Postfix's
    /// smtpd_upstream_proxy_timeout is 5s), so its 421 is seen.
    #[arg(
        long,
        value_name = "DURATION",
        default_value_t = Wait(GREETING_TIMEOUT),
        value_parser = timeout,
        overrides_with = "greeting_timeout",
        help_heading = "Protocol"
    )]
    pub(crate) greeting_timeout: Wait,
}

/// `--protocol`'s values, for the commands that speak it (send, probe,
/// conform).
pub(crate) const fn parser() -> Choice<Selection> {
    Choice::new(&Selection::ALL, Selection::name, Selection::describe)
}

/// The same values, for the commands that judge what went by and speak
/// nothing (pcap, relay): each says what of the server's is read.
pub(crate) const fn heard_parser() -> Choice<Selection> {
    Choice::new(&Selection::ALL, Selection::name, Selection::describe_heard)
}

impl ProtocolArgs {
    /// The protocol asked for, if any.
    pub(crate) fn selection(&self) -> Option<Selection> {
        self.protocol
    }

    /// The `--starttls` check every command makes: only for a protocol
    /// that has it (`auto` on a port that is not well-known can't tell).
    pub(crate) fn check_starttls(&self, protocol: Option<Protocol>) -> Result<(), String> {
        if !self.starttls {
            return Ok(());
        }
        match protocol {
            Some(p) if p.starttls().is_some() => Ok(()),
            Some(p) => Err(format!(
                "--starttls: {} has no STARTTLS; it goes with --protocol smtp, imap or pop3",
                p.name()
            )),
            None => Err(
                "--starttls needs a protocol known before the connection: give --protocol smtp, imap or pop3"
                    .into(),
            ),
        }
    }
}

/// `--protocol` for the commands that serve (listen; repro's receivers):
/// which real server the stand-in copies. The same option and values as
/// send's, limited to the protocols with a stand-in.
#[derive(Debug, Clone, clap::Args)]
pub struct StandinProtocolArg {
    /// Which server the stand-in copies, and what a client speaks to it
    /// (docs/protocols.md): nginx for http, Postfix for smtp, Dovecot for
    /// imap and pop3, MariaDB for mysql.
    #[arg(
        long,
        value_name = "PROTOCOL",
        default_value = "http",
        value_parser = standin_parser(),
        help_heading = "Protocol"
    )]
    pub(crate) protocol: Protocol,
}

const fn standin_parser() -> Choice<Protocol> {
    Choice::new(
        &crate::protocol::standin::SERVED,
        Protocol::name,
        crate::protocol::standin::describe,
    )
}
