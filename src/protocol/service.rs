//! Whether a server served a client, in its protocol's terms: the
//! question `conform` asks of every connection it grades. The answer
//! comes from the same readers as the judge's ([`super::Protocol::replies`]).

use std::net::IpAddr;

use super::{client_seen, Kind, Protocol, Reply};

/// Whether a server served a client (`conform`'s question): what it said
/// before the client's opening (`before`) and after it (`after`, `None`
/// when no opening was sent after a greeting).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Service {
    /// It served: the reply that shows it (the answer to the opening: an
    /// HTTP status, EHLO's `250`, MySQL's login error naming the client),
    /// and the client address it named, if its replies name one.
    Served {
        reply: Reply,
        client: Option<IpAddr>,
    },
    /// It answered, refusing: the refusal or error in its words (an HTTP
    /// 400, Postfix's `500 5.5.2` to a header line or its `421`, MariaDB's
    /// `Proxy header is not accepted`), or bytes of another protocol.
    Refused(Reply),
    /// Nothing that decides: no reply, a greeting alone, a reply cut short.
    Nothing,
}

/// What a conversation shows of the server's service, in `protocol`:
///
/// - HTTP: any status but 400 (a 404 or a 500 is the application's: the
///   receiver passed the connection on); a 400 or bytes that are not HTTP
///   refuse.
/// - raw: any byte back.
/// - a server that speaks first: its greeting does not show it took the
///   header (MariaDB greets every client before it reads one, and a
///   server without PROXY support greets before it reads the header as a
///   command); the answer to the opening sent after the greeting does
///   (EHLO's `250`, CAPABILITY's `OK`, CAPA's `+OK`, MySQL's `OK` or a
///   login error naming the client).
/// - the other protocols: the first reply, when it is a positive one.
pub(crate) fn service(protocol: Protocol, before: &[u8], after: Option<&[u8]>) -> Service {
    let stream = [before, after.unwrap_or_default()].concat();
    let replies = protocol.replies(&stream);
    let client = client_seen(protocol, &replies);
    let refusal = || {
        replies
            .iter()
            .find(|r| matches!(r.kind, Kind::Refused | Kind::Error | Kind::Foreign))
            .cloned()
            .map_or(Service::Nothing, Service::Refused)
    };
    let served = |reply: &Reply| Service::Served {
        reply: reply.clone(),
        client,
    };
    match protocol {
        Protocol::Raw => replies.first().map_or(Service::Nothing, served),
        Protocol::Http | Protocol::Tls => match replies.first() {
            Some(r) if matches!(r.kind, Kind::Ok | Kind::Error) => served(r),
            Some(r) if matches!(r.kind, Kind::Refused | Kind::Foreign) => {
                Service::Refused(r.clone())
            }
            _ => Service::Nothing,
        },
        p if p.server_speaks_first() => {
            // The answer to the opening, after everything said before it;
            // or an error naming the client wherever it falls (MariaDB
            // checks the header's address as soon as it reads the header,
            // so its `Host '203.0.113.7' is not allowed` can come before
            // the opening is sent, or in the same read as the greeting).
            let mut at = 0;
            let answer = replies.iter().find(|r| {
                let starts = at;
                at += r.len;
                let names_client =
                    r.kind == Kind::Error && client_seen(p, std::slice::from_ref(r)).is_some();
                names_client || (after.is_some() && starts >= before.len() && r.kind == Kind::Ok)
            });
            let refused = replies
                .iter()
                .any(|r| matches!(r.kind, Kind::Refused | Kind::Foreign));
            match answer {
                Some(r) if !refused => served(r),
                _ => refusal(),
            }
        }
        _ => match replies.first() {
            Some(r) if r.kind == Kind::Ok => served(r),
            _ => refusal(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A MySQL packet: length, sequence, payload.
    fn packet(sequence: u8, payload: &[u8]) -> Vec<u8> {
        let len = (payload.len() as u32).to_le_bytes();
        [&len[..3], &[sequence], payload].concat()
    }

    fn mysql_error(code: u16, message: &str) -> Vec<u8> {
        let mut payload = vec![0xff];
        payload.extend_from_slice(&code.to_le_bytes());
        payload.extend_from_slice(b"#HY000");
        payload.extend_from_slice(message.as_bytes());
        packet(2, &payload)
    }

    fn mysql_greeting() -> Vec<u8> {
        packet(0, b"\x0a10.11.19-MariaDB\x00rest")
    }

    #[test]
    fn an_error_naming_the_client_serves_before_or_after_the_opening() {
        let greeting = mysql_greeting();
        let host = mysql_error(1130, "Host '203.0.113.7' is not allowed to connect");
        let ip: IpAddr = "203.0.113.7".parse().unwrap();
        // Read with the greeting, before the opening went out.
        let both = [greeting.clone(), host.clone()].concat();
        for (before, after) in [(&both[..], Some(&[][..])), (&greeting[..], Some(&host[..]))] {
            match service(Protocol::Mysql, before, after) {
                Service::Served { client, .. } => assert_eq!(client, Some(ip)),
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn a_greeting_alone_or_a_refused_header_does_not_serve() {
        let greeting = mysql_greeting();
        assert_eq!(service(Protocol::Mysql, &greeting, None), Service::Nothing);
        let refused = mysql_error(1130, "Proxy header is not accepted from 127.0.0.1");
        match service(Protocol::Mysql, &greeting, Some(&refused)) {
            Service::Refused(r) => assert_eq!(r.code, Some(1130)),
            other => panic!("{other:?}"),
        }
        // An SMTP greeting, then EHLO's answer: served; the greeting alone
        // is not.
        let banner = b"220 mail.test ESMTP\r\n";
        assert_eq!(service(Protocol::Smtp, banner, None), Service::Nothing);
        assert!(matches!(
            service(
                Protocol::Smtp,
                banner,
                Some(b"250-mail.test\r\n250 8BITMIME\r\n")
            ),
            Service::Served { .. }
        ));
        assert!(matches!(
            service(
                Protocol::Smtp,
                banner,
                Some(b"500 5.5.2 Error: command not recognized\r\n")
            ),
            Service::Refused(_)
        ));
    }
}
