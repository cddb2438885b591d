//! What came back from one exchange, and how it ended.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use super::Message;

/// How an exchange ended. The receiver's behaviour is in these few words:
/// a receiver that rejects a header usually closes or resets without a
/// word; one that does not expect a header answers (HTTP: 400); one that
/// waits for more says nothing until the timeout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum End {
    /// The peer closed (FIN) after sending something.
    EofAfterData,
    /// The peer closed (FIN) without sending anything.
    EofWithoutData,
    /// The peer reset the connection (RST), with or without data before it.
    Reset,
    /// Nothing more arrived within the reply timeout (data may have come before).
    Timeout,
    /// The reply reached the size bound; the rest was not read.
    SizeLimit,
    /// UDP: a datagram came back.
    Datagram,
    /// Nobody listens there (RST to the SYN, or ICMP port unreachable).
    Refused,
    /// The connect timed out.
    ConnectTimeout,
    /// Another error (unreachable network, permission...); see `Transcript::error`.
    Error,
    /// The exchange's time limit (`--max-time`) came first: the peer was
    /// still sending (or trickling), or still had not answered.
    MaxTime,
    /// This host ran out of file descriptors: a local error, nothing the
    /// peer did (see `Transcript::error`).
    LocalLimit,
    /// The answer was whole and ppctl ended the conversation (after a
    /// protocol's polite goodbye: QUIT, LOGOUT).
    Done,
}

impl End {
    /// Stable identifier for JSON.
    pub fn code(self) -> &'static str {
        match self {
            End::EofAfterData => "eof-after-data",
            End::EofWithoutData => "eof-without-data",
            End::Reset => "reset",
            End::Timeout => "timeout",
            End::SizeLimit => "size-limit",
            End::Datagram => "datagram",
            End::Refused => "refused",
            End::ConnectTimeout => "connect-timeout",
            End::Error => "error",
            End::MaxTime => "max-time",
            End::LocalLimit => "local-limit",
            End::Done => "done",
        }
    }
}

/// What went wrong on an exchange's connection, kept as what it is; the
/// report layer says it in words. An error from the OS or the TLS library
/// keeps that error's own text (`io::Error` is not `Clone`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetError {
    /// There was no address to connect or send to.
    NoAddress,
    /// An I/O error on the connection (a read, a write, the handshake).
    Io(String),
    /// An I/O error about one address: its connect, or its socket's ends.
    At { addr: SocketAddr, error: String },
    /// The local address (`--bind`) could not be bound for `addr`.
    Bind {
        addr: SocketAddr,
        local: IpAddr,
        error: String,
    },
    /// No answer to the connect within `after`.
    ConnectTimeout { addr: SocketAddr, after: Duration },
    /// A write waited past the reply timeout: the peer stopped reading.
    PeerStoppedReading,
    /// The exchange's time limit came while writing.
    MaxTimeWhileWriting,
    /// The exchange's time limit (`--max-time`) came during the handshake.
    MaxTimeInHandshake,
    /// No TLS answer within the reply timeout.
    NoTlsAnswer { after: Duration },
    /// The TLS client could not be set up: the CA file's or the server
    /// name's error, as rustls put it.
    TlsSetup(String),
    /// The server name given for TLS is not one rustls takes.
    ServerName { name: String, error: String },
}

impl NetError {
    /// An I/O error on the connection.
    pub(crate) fn io(e: &std::io::Error) -> Self {
        NetError::Io(e.to_string())
    }
}

/// Elapsed times, each from the start of the connect.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Timings {
    pub connect: Option<Duration>,
    /// When the last byte was handed to the kernel.
    pub sent: Option<Duration>,
    pub first_byte: Option<Duration>,
    pub total: Duration,
}

/// What one client connection saw, start to end: whether it connected,
/// what went out, what came back and how it ended. (Named for the whole
/// exchange: one reply of a protocol is `protocol::Reply`, what a server's
/// stand-in sent back is `server::standin::SentBack`.)
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transcript {
    pub connected: bool,
    pub local: Option<SocketAddr>,
    pub peer: Option<SocketAddr>,
    /// What was built for this connection (absent when it never connected).
    pub message: Option<Message>,
    /// Bytes written before the peer went away.
    pub sent: usize,
    /// With a banner wait: what the server said before we sent anything.
    pub banner: Vec<u8>,
    /// The reply's first bytes (at most the size bound).
    pub received: Vec<u8>,
    /// Every reply byte counted, including those beyond the bound.
    pub received_total: usize,
    pub end: End,
    /// A write that failed (the peer closed or reset while we were sending).
    pub write_error: Option<NetError>,
    /// The error behind `Refused`, `ConnectTimeout`, `Reset` or `Error`.
    pub error: Option<NetError>,
    pub timings: Timings,
}

impl Transcript {
    /// A connected exchange, before anything was sent or received.
    pub(super) fn connected(local: SocketAddr, peer: SocketAddr, connect: Duration) -> Self {
        Transcript {
            connected: true,
            local: Some(local),
            peer: Some(peer),
            message: None,
            sent: 0,
            banner: Vec::new(),
            received: Vec::new(),
            received_total: 0,
            end: End::Timeout,
            write_error: None,
            error: None,
            timings: Timings {
                connect: Some(connect),
                ..Timings::default()
            },
        }
    }

    pub(super) fn not_connected(end: End, error: NetError, total: Duration) -> Self {
        Transcript {
            connected: false,
            local: None,
            peer: None,
            message: None,
            sent: 0,
            banner: Vec::new(),
            received: Vec::new(),
            received_total: 0,
            end,
            write_error: None,
            error: Some(error),
            timings: Timings {
                total,
                ..Timings::default()
            },
        }
    }
}

/// The body of an HTTP response: the bytes after the blank line that ends
/// the head. `None` when `received` is not an HTTP response or its head is
/// not complete.
pub(crate) fn http_body(received: &[u8]) -> Option<&[u8]> {
    if !received.starts_with(b"HTTP/") {
        return None;
    }
    let at = received.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    Some(&received[at..])
}

/// The client address a 2xx whoami page reports: `listen`'s page says
/// `remote_addr (realip): 203.0.113.7` on a line of its own; the nginx
/// configs of the tests (and a `return 200 "... remote_addr=$remote_addr"`
/// anyone can add) say `remote_addr=IP` as a word of the body. `None`
/// when the reply is no 2xx page or names no client.
pub(crate) fn whoami_client(received: &[u8]) -> Option<IpAddr> {
    if !matches!(
        crate::sniff::classify(received),
        crate::sniff::Sniffed::HttpResponse {
            status: 200..=299,
            ..
        }
    ) {
        return None;
    }
    let body = String::from_utf8_lossy(http_body(received)?);
    let realip = body.lines().find_map(|l| {
        l.strip_prefix("remote_addr (realip):")
            .and_then(|v| v.trim().parse().ok())
    });
    realip.or_else(|| {
        body.split_whitespace().find_map(|w| {
            w.strip_prefix("remote_addr=")
                .and_then(|v| v.trim_matches(|c| c == '"' || c == ',').parse().ok())
        })
    })
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;

    #[test]
    fn reads_the_client_address_of_a_whoami_page() {
        let page = b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nremote_addr (realip): 203.0.113.7\npeer: x\n";
        let claimed = IpAddr::V4(Ipv4Addr::new(203, 0, 113, 7));
        assert_eq!(whoami_client(page), Some(claimed));
        let nginx = b"HTTP/1.1 200 OK\r\n\r\nremote_addr=127.0.0.1\n";
        assert_eq!(whoami_client(nginx), Some(IpAddr::V4(Ipv4Addr::LOCALHOST)));
        // A word among others (tests/peers/nginx/pp_http.conf), not the
        // realip_remote_addr= word before it.
        let words = b"HTTP/1.1 200 OK\r\n\r\nrealip_remote_addr=127.0.0.1 proxy_protocol_addr=203.0.113.7 remote_addr=203.0.113.7\n";
        assert_eq!(whoami_client(words), Some(claimed));
        assert_eq!(
            whoami_client(b"HTTP/1.1 400 Bad Request\r\n\r\nremote_addr=1.2.3.4\n"),
            None
        );
        assert_eq!(whoami_client(b"HTTP/1.1 200 OK\r\n\r\nhello\n"), None);
        assert_eq!(
            http_body(b"HTTP/1.1 200 OK\r\nA: b\r\n\r\nbody"),
            Some(&b"body"[..])
        );
        assert_eq!(http_body(b"SSH-2.0-x\r\n\r\n"), None);
    }
}
