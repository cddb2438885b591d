//! The `explain` catalogue: log and error messages that PROXY-protocol
//! mismatches produce, as data. Each pattern is a regex (matched on raw
//! bytes, since nginx writes the bytes it received verbatim) with named
//! captures, the system that writes it, what the message says, the likely
//! cause, and the judge's [`Finding`] it comes to: names, codes and fixes
//! are the judge's (docs/verdicts.md), never this table's.
//!
//! Order matters: the first matching pattern wins, so specific patterns
//! (curl's `(35) … wrong version number`) come before generic ones
//! (OpenSSL's `wrong version number`). Sources: HAProxy `src/connection.c`,
//! nginx `ngx_proxy_protocol.c`, pires/go-proxyproto, and lines captured
//! from real nginx 1.22 / HAProxy 2.6 on loopback; the Postfix, Dovecot,
//! MariaDB, OpenSSH and PostgreSQL lines are the ones recorded from the real
//! servers in tests/data/protocols (tests/explain.rs feeds them through).

use crate::judge::Finding;
use crate::protocol::Protocol;

/// Where the bytes captured by a pattern's `data` group came from, which
/// decides what they mean.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Captured {
    /// The pattern captures no bytes.
    Nothing,
    /// Bytes a PROXY-protocol listener rejected as its header.
    ExpectedHeader,
    /// Bytes a plain (non-PROXY) listener received as its request line.
    NoHeaderExpected,
}

/// One recognizable message.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Pattern {
    pub id: &'static str,
    pub system: &'static str,
    /// A `regex::bytes` pattern. The named group `data` (when `captured` is
    /// not `Nothing`) holds the quoted bytes; other named groups become fields.
    pub regex: &'static str,
    /// What the message says, in plain words.
    pub meaning: &'static str,
    pub cause: &'static str,
    /// What it comes to; for a pattern that quotes bytes, the bytes' rule
    /// ([`BYTES_RULES`]) decides instead.
    pub finding: Finding,
    pub captured: Captured,
    /// The protocol of the server that writes it, when that is not HTTP:
    /// its fixes are that server's (Postfix's, Dovecot's), not nginx's.
    /// Dovecot's lines say IMAP for IMAP and POP3 alike (the same fixes).
    pub protocol: Option<Protocol>,
}

/// Optional `client: …, server: …` suffix of nginx error-log lines.
macro_rules! nginx_ctx {
    () => {
        r"(?:, client: (?P<client>[^,\s]+))?(?:, server: (?P<server>[^,\s]*))?"
    };
}

/// Optional HAProxy log prefix: `10.0.0.7:5555 [24/Nov/2026:10:00:00.123] fe/1: `.
macro_rules! haproxy_ctx {
    () => {
        r"(?:(?P<client>[0-9A-Fa-f.:\[\]]+):(?P<port>\d+) \[[^\]]*\] (?P<frontend>[^\s/]+)/\S*:? )?"
    };
}

pub(crate) static PATTERNS: &[Pattern] = &[
    // ---- nginx -------------------------------------------------------------
    Pattern {
        id: "nginx-broken-header",
        system: "nginx",
        regex: concat!(
            r#"broken header: "(?P<data>(?s-u:.)*?)" while reading PROXY protocol"#,
            nginx_ctx!()
        ),
        meaning: "an nginx listener with `proxy_protocol` (it requires a header) received bytes that are not a valid PROXY header, and closed the connection without answering",
        cause: "see what the received bytes are, below",
        finding: Finding::MissingHeader,
        captured: Captured::ExpectedHeader,
        protocol: None,
    },
    Pattern {
        // What `grep 'broken header' error.log` returns when the bytes
        // nginx quotes held a line break: the entry's first line alone, its
        // quote closed (with the client and server) on a later line.
        id: "nginx-broken-header-first-line",
        system: "nginx",
        regex: r#"broken header: "(?P<data>(?-u:[^\r\n])*)\r?$"#,
        meaning: "the first line of an nginx `broken header` entry: an nginx listener with `proxy_protocol` (it requires a header) received bytes that are not a valid PROXY header, and closed the connection without answering; the bytes held a line break, so the entry (with the client address) goes on over the next lines of the log",
        cause: "see what the received bytes are, below (their first line)",
        finding: Finding::MissingHeader,
        captured: Captured::ExpectedHeader,
        protocol: None,
    },
    Pattern {
        id: "nginx-header-too-large",
        system: "nginx",
        regex: concat!(r"header is too large(?: while reading PROXY protocol)?", nginx_ctx!()),
        meaning: "nginx saw a v2 signature, but the length field promises more bytes than nginx got in its single read",
        cause: "a v2 header split across TCP segments (large TLVs) or a corrupt length field",
        finding: Finding::HeaderTooLarge,
        captured: Captured::Nothing,
        protocol: None,
    },
    Pattern {
        id: "nginx-unknown-version",
        system: "nginx",
        regex: concat!(
            r"unknown PROXY protocol version: (?P<version>\d+)(?: while reading PROXY protocol)?",
            nginx_ctx!()
        ),
        meaning: "nginx saw the v2 signature but the version nibble is not 2",
        cause: "the sender writes a corrupt v2 header (the 13th byte must be 0x20 or 0x21)",
        finding: Finding::InvalidHeader,
        captured: Captured::Nothing,
        protocol: None,
    },
    Pattern {
        id: "nginx-client-closed",
        system: "nginx",
        regex: concat!(r"client closed connection while reading PROXY protocol", nginx_ctx!()),
        meaning: "a client connected to a `proxy_protocol` listener and closed before sending a header",
        cause: "a TCP health check or port scanner that connects and closes, or a client that gave up",
        finding: Finding::MissingHeader,
        captured: Captured::Nothing,
        protocol: None,
    },
    Pattern {
        id: "nginx-client-timed-out",
        system: "nginx",
        regex: concat!(r"client timed out(?: \([^)]*\))? while reading PROXY protocol", nginx_ctx!()),
        meaning: "a client connected to a `proxy_protocol` listener and sent nothing within proxy_protocol_timeout",
        cause: "a server-speaks-first client waiting for a banner, or an AWS NLB holding the header until the client's first bytes",
        finding: Finding::HeaderTimeout,
        captured: Captured::Nothing,
        protocol: None,
    },
    Pattern {
        id: "nginx-protocol-options-redefined",
        system: "nginx",
        regex: r"protocol options redefined for (?P<listen>\S+)",
        meaning: "two server blocks on the same address:port disagree on listen options such as `proxy_protocol`; nginx applies `proxy_protocol` to every server on that address:port",
        cause: "`proxy_protocol` added to some server blocks of a port but not all",
        finding: Finding::PartialProxy,
        captured: Captured::Nothing,
        protocol: None,
    },
    Pattern {
        id: "nginx-duplicate-listen-options",
        system: "nginx",
        regex: r"duplicate listen options for (?P<listen>\S+)",
        meaning: "two server blocks on the same address:port both set listen options; nginx refuses the config",
        cause: "`proxy_protocol` (or ssl) set in more than one server block of a port, or set differently",
        finding: Finding::PartialProxy,
        captured: Captured::Nothing,
        protocol: None,
    },
    Pattern {
        id: "nginx-invalid-request-line",
        system: "nginx",
        regex: r#"client sent invalid (?:request|method) while reading client request line(?:, client: (?P<client>[^,\s]+))?.*?, request: "(?P<data>(?s-u:.)*?)""#,
        meaning: "a plain nginx HTTP listener (no `proxy_protocol`) could not parse the request line and answered 400",
        cause: "see what the request line is, below",
        finding: Finding::HttpError,
        captured: Captured::NoHeaderExpected,
        protocol: None,
    },
    Pattern {
        id: "nginx-access-log-400",
        system: "nginx (access log)",
        regex: r#"\] "(?P<data>(?:PROXY |\\x00|\\x0D|\\x16|\x00)[^"]*)" (?P<status>400) \d+"#,
        meaning: "nginx answered 400 Bad Request to a request line that is not HTTP",
        cause: "see what the request line is, below",
        finding: Finding::HttpError,
        captured: Captured::NoHeaderExpected,
        protocol: None,
    },
    Pattern {
        id: "nginx-plain-http-to-https",
        system: "nginx",
        regex: r"The plain HTTP request was sent to HTTPS port",
        meaning: "an nginx `listen … ssl` port received plain HTTP instead of a TLS handshake",
        cause: "the load balancer terminates TLS and forwards plain HTTP (with or without a header) to the TLS port, or PROXY/TLS settings of LB and ingress disagree",
        finding: Finding::PlainHttpToTls,
        captured: Captured::Nothing,
        protocol: None,
    },
    Pattern {
        id: "nginx-400-page",
        system: "nginx (400 page)",
        regex: r"<(?:title|h1)>400 Bad Request</(?:title|h1)>",
        meaning: "nginx's 400 Bad Request page: the HTTP parser rejected the first line of the connection",
        cause: "most often a PROXY header sent to a listener without `proxy_protocol`; nginx's access log then shows a request line starting `PROXY TCP4`",
        finding: Finding::UnexpectedHeader,
        captured: Captured::Nothing,
        protocol: None,
    },
    Pattern {
        id: "nginx-ssl-wrong-version",
        system: "nginx (OpenSSL)",
        regex: concat!(
            r"SSL_do_handshake\(\) failed \(SSL: error:(?P<code>0A00010B|1408F10B):SSL routines:[^)]*wrong version number\)[^,]*",
            nginx_ctx!()
        ),
        meaning: "an nginx TLS listener received bytes that are not a TLS record where the ClientHello should be",
        cause: "a PROXY header (text `PROXY …` or the v2 signature) in front of the ClientHello, on a listener without `proxy_protocol`",
        finding: Finding::TlsHandshakeFailed,
        captured: Captured::Nothing,
        protocol: None,
    },
    // ---- HAProxy (src/connection.c, conn_err_code_str) ---------------------
    Pattern {
        id: "haproxy-closed-waiting",
        system: "HAProxy",
        regex: concat!(haproxy_ctx!(), r"Connection closed while waiting for PROXY protocol header"),
        meaning: "an `accept-proxy` listener: the peer closed before sending a header",
        cause: "a TCP health check or scanner that connects and closes, or a client that gave up",
        finding: Finding::MissingHeader,
        captured: Captured::Nothing,
        protocol: None,
    },
    Pattern {
        id: "haproxy-error-waiting",
        system: "HAProxy",
        regex: concat!(haproxy_ctx!(), r"Connection error while waiting for PROXY protocol header"),
        meaning: "an `accept-proxy` listener: a socket error (reset) before the header arrived",
        cause: "the peer reset the connection, often a health check or a client that gave up",
        finding: Finding::MissingHeader,
        captured: Captured::Nothing,
        protocol: None,
    },
    Pattern {
        id: "haproxy-timeout-waiting",
        system: "HAProxy",
        regex: concat!(haproxy_ctx!(), r"Timeout while waiting for PROXY protocol header"),
        meaning: "an `accept-proxy` listener: no header within `timeout client`",
        cause: "a server-speaks-first client waiting for a banner, or an AWS NLB that sends the header only after the client's first bytes",
        finding: Finding::HeaderTimeout,
        captured: Captured::Nothing,
        protocol: None,
    },
    Pattern {
        id: "haproxy-truncated",
        system: "HAProxy",
        regex: concat!(haproxy_ctx!(), r"Truncated PROXY protocol header received"),
        meaning: "an `accept-proxy` listener got the beginning of a header and then the connection ended",
        cause: "a sender that writes a partial header, or a header split and cut by a middlebox",
        finding: Finding::InvalidHeader,
        captured: Captured::Nothing,
        protocol: None,
    },
    Pattern {
        id: "haproxy-not-a-header",
        system: "HAProxy",
        regex: concat!(haproxy_ctx!(), r"Received something which does not look like a PROXY protocol header"),
        meaning: "an `accept-proxy` listener (header required) received data without a header; HAProxy resets the connection",
        cause: "a client or health check that skipped the load balancer, in-cluster hairpin traffic, or an LB that does not send the header",
        finding: Finding::MissingHeader,
        captured: Captured::Nothing,
        protocol: None,
    },
    Pattern {
        id: "haproxy-invalid-header",
        system: "HAProxy",
        regex: concat!(haproxy_ctx!(), r"Received an invalid PROXY protocol header"),
        meaning: "an `accept-proxy` listener received a header that breaks the spec (bad field, bad length, bad family/command)",
        cause: "a sender writing a malformed header",
        finding: Finding::InvalidHeader,
        captured: Captured::Nothing,
        protocol: None,
    },
    Pattern {
        id: "haproxy-unhandled-protocol",
        system: "HAProxy",
        regex: concat!(haproxy_ctx!(), r"Received an unhandled protocol in the PROXY protocol header"),
        meaning: "an `accept-proxy` listener received a header with an address family or transport it does not support",
        cause: "a sender emitting UNIX or UDP families to a TCP listener",
        finding: Finding::InvalidHeader,
        captured: Captured::Nothing,
        protocol: None,
    },
    Pattern {
        id: "haproxy-badreq-after-header",
        system: "HAProxy",
        regex: r#"(?P<client>[0-9A-Fa-f.:\[\]]+):(?P<port>\d+) \[[^\]]*\] (?P<frontend>\S+) \S+/<NOSRV> \S+ 400 \d+ .*PR-- .*"<BADREQ>""#,
        meaning: "HAProxy (mode http) took the connection, then could not parse the request line and answered 400",
        cause: "on an accept-proxy frontend, the bytes after the header were not HTTP: most often a second PROXY header stacked by another hop (the logged client is the first header's claim), or a non-HTTP client",
        finding: Finding::StackedHeader,
        captured: Captured::Nothing,
        protocol: None,
    },
    // ---- Envoy (stats) -----------------------------------------------------
    Pattern {
        id: "envoy-proxy-proto-error",
        system: "Envoy",
        regex: r"(?P<stat>[\w.]*downstream_cx_proxy_proto_error)(?:[:=\s]+(?P<count>\d+))?",
        meaning: "Envoy's proxy_protocol listener filter closed connections whose header was missing or invalid",
        cause: "clients reaching the listener without a header or a malformed header",
        finding: Finding::MissingHeader,
        captured: Captured::Nothing,
        protocol: None,
    },
    Pattern {
        id: "envoy-not-found-disallowed",
        system: "Envoy",
        regex: r"(?P<stat>[\w.]*proxy_proto\.(?:[\w]+\.)?not_found_disallowed)(?:[:=\s]+(?P<count>\d+))?",
        meaning: "Envoy's proxy_protocol filter (header required) closed connections that arrived without a header",
        cause: "clients or health checks reaching the listener directly, or an LB that does not send the header",
        finding: Finding::MissingHeader,
        captured: Captured::Nothing,
        protocol: None,
    },
    Pattern {
        id: "envoy-not-found-allowed",
        system: "Envoy",
        regex: r"(?P<stat>[\w.]*proxy_proto\.(?:[\w]+\.)?not_found_allowed)(?:[:=\s]+(?P<count>\d+))?",
        meaning: "Envoy accepted connections without a header because allow_requests_without_proxy_protocol is set",
        cause: "the optional mode: any client that reaches this listener can also forge a header (spoofable)",
        finding: Finding::Spoofable,
        captured: Captured::Nothing,
        protocol: None,
    },
    Pattern {
        id: "envoy-version-error",
        system: "Envoy",
        regex: r"(?P<stat>[\w.]*proxy_proto\.(?:[\w]+\.)?versions\.(?P<version>v[12])\.(?P<what>error|disallowed))(?:[:=\s]+(?P<count>\d+))?",
        meaning: "Envoy's proxy_protocol filter rejected headers of this version (malformed, or the version is disallowed by config)",
        cause: "a sender writing a malformed header, or a version the listener is configured to refuse",
        finding: Finding::HeaderRejected,
        captured: Captured::Nothing,
        protocol: None,
    },
    // ---- Traefik -----------------------------------------------------------
    Pattern {
        id: "traefik-untrusted-ip",
        system: "Traefik",
        regex: r"IP (?P<ip>\S+) is not in trusted IPs list, ignoring ProxyProtocol Headers and bypass connection",
        meaning: "Traefik ignored the PROXY header because the connecting address is not in proxyProtocol.trustedIPs; the app sees the LB's address",
        cause: "trustedIPs lists the LB's public address while it connects from a private one",
        finding: Finding::UntrustedSource,
        captured: Captured::Nothing,
        protocol: None,
    },
    Pattern {
        id: "traefik-no-trusted-ips",
        system: "Traefik",
        regex: r"error while building entryPoint (?P<entrypoint>[\w-]+)\b.*no trusted IPs provided",
        meaning: "Traefik did not start: an entry point's proxyProtocol has neither trustedIPs nor insecure",
        cause: "PROXY protocol turned on for an entry point without saying whose headers to trust",
        finding: Finding::RefusedSetting,
        captured: Captured::Nothing,
        protocol: None,
    },
    Pattern {
        id: "mariadb-networks-parse-error",
        system: "MariaDB",
        regex: r"Error parsing proxy_protocol_networks parameter, near '(?P<near>[^']*)'",
        meaning: "MariaDB did not start: an entry of proxy_protocol_networks is not an address, a CIDR or `localhost` (a host name, or `*` in a list)",
        cause: "proxy_protocol_networks written with host names, or `*` beside other entries",
        finding: Finding::RefusedSetting,
        captured: Captured::Nothing,
        protocol: None,
    },
    // ---- go-proxyproto -----------------------------------------------------
    Pattern {
        id: "go-proxyproto-signature-missing",
        system: "go-proxyproto",
        regex: r"proxyproto: proxy protocol signature not present",
        meaning: "a Go server (policy REQUIRE) received a connection without a header",
        cause: "a client that skipped the load balancer, or an LB that does not send the header",
        finding: Finding::MissingHeader,
        captured: Captured::Nothing,
        protocol: None,
    },
    Pattern {
        id: "go-proxyproto-superfluous",
        system: "go-proxyproto",
        regex: r"proxyproto: upstream connection sent PROXY header but isn't allowed to send one",
        meaning: "a Go server (policy REJECT for this peer) received a header from a peer that must not send one",
        cause: "a header from an address outside the LB allowlist (possibly spoofing), or the policy is wrong for the LB",
        finding: Finding::UntrustedSource,
        captured: Captured::Nothing,
        protocol: None,
    },
    Pattern {
        id: "go-proxyproto-untrusted-upstream",
        system: "go-proxyproto",
        regex: r"proxyproto: upstream connection address not trusted for PROXY information",
        meaning: "a Go server's policy refused PROXY information from this peer address",
        cause: "the LB connects from an address that is not in the allowlist",
        finding: Finding::UntrustedSource,
        captured: Captured::Nothing,
        protocol: None,
    },
    Pattern {
        id: "go-proxyproto-malformed",
        system: "go-proxyproto",
        regex: r"proxyproto: (?P<error>version 1 header must be 107 bytes or less|version 1 header is invalid, must end with \S+|can't read version 1 header|unknown proxy protocol version|unsupported proxy protocol version and command|unsupported address family and protocol|invalid length|invalid address|invalid port number|can't read proxy protocol version and command|can't read address family or protocol|can't read length|truncated TLV|malformed TLV Value|incompatible TLV type)",
        meaning: "a Go server using go-proxyproto received a malformed header",
        cause: "a sender writing a malformed header, or the header split across reads",
        finding: Finding::InvalidHeader,
        captured: Captured::Nothing,
        protocol: None,
    },
    // ---- TLS stacks --------------------------------------------------------
    Pattern {
        id: "go-tls-first-record",
        system: "Go TLS (Traefik, Caddy, Go apps)",
        regex: r"(?:TLS handshake error from (?P<client>\S+): )?tls: first record does not look like a TLS handshake",
        meaning: "a Go TLS server read bytes that are not a TLS record where the ClientHello should be",
        cause: "a PROXY header in front of the ClientHello, on a listener that does not parse it, or parses it after TLS",
        finding: Finding::TlsHandshakeFailed,
        captured: Captured::Nothing,
        protocol: None,
    },
    Pattern {
        id: "curl-wrong-version-number",
        system: "curl (OpenSSL)",
        regex: r"curl: \(35\).*wrong version number",
        meaning: "curl's TLS handshake got a non-TLS answer: the server port speaks plain text",
        cause: "curl used https:// against a plain port, or a plain listener answered 400 to the PROXY header curl sent first",
        finding: Finding::TlsToPlainPort,
        captured: Captured::Nothing,
        protocol: None,
    },
    Pattern {
        id: "curl-alert-protocol-version",
        system: "curl (OpenSSL)",
        regex: r"curl: \(35\).*alert protocol version",
        meaning: "the TLS server aborted the handshake with a protocol_version alert",
        cause: "observed when a PROXY header was sent to a TLS ingress that does not parse it (HAProxy send-proxy into ingress-nginx without use-proxy-protocol, ingress-nginx #909)",
        finding: Finding::TlsHandshakeFailed,
        captured: Captured::Nothing,
        protocol: None,
    },
    Pattern {
        id: "curl-tls-handshake-cut",
        system: "curl (OpenSSL)",
        regex: r"curl: \(35\).*(?:SSL_ERROR_SYSCALL|unexpected eof|Connection reset by peer)",
        meaning: "the server closed or reset the connection during curl's TLS handshake",
        cause: "the server expects a PROXY header before the ClientHello and hung up when none came",
        finding: Finding::TlsBeforeProxy,
        captured: Captured::Nothing,
        protocol: None,
    },
    Pattern {
        id: "curl-empty-reply",
        system: "curl",
        regex: r"curl: \(52\) Empty reply from server",
        meaning: "the server closed the connection without answering",
        cause: "the server requires a PROXY header (nginx `proxy_protocol`, Envoy) and hung up when none came",
        finding: Finding::MissingHeader,
        captured: Captured::Nothing,
        protocol: None,
    },
    Pattern {
        id: "curl-reset",
        system: "curl",
        regex: r"curl: \(56\) Recv failure: Connection reset by peer",
        meaning: "the server reset the connection instead of answering",
        cause: "the server requires a PROXY header and resets connections without one (HAProxy `accept-proxy`)",
        finding: Finding::MissingHeader,
        captured: Captured::Nothing,
        protocol: None,
    },
    Pattern {
        id: "openssl-wrong-version-number",
        system: "OpenSSL server",
        regex: r"(?:error:(?P<code>0A00010B|1408F10B)|ssl3_get_record:wrong version number|SSL routines::wrong version number)",
        meaning: "an OpenSSL-based TLS server read bytes that are not a TLS record where the ClientHello should be",
        cause: "a PROXY header in front of the ClientHello, on a listener that does not parse it; or a plain-text client on a TLS port",
        finding: Finding::TlsHandshakeFailed,
        captured: Captured::Nothing,
        protocol: None,
    },
    Pattern {
        id: "rustls-invalid-content-type",
        system: "rustls",
        regex: r"(?:received corrupt message of type InvalidContentType|InvalidMessage\(InvalidContentType\))",
        meaning: "a rustls server read bytes that are not a TLS record where the ClientHello should be",
        cause: "a PROXY header (often a v2 LOCAL health check) in front of the ClientHello, on a listener that does not parse it",
        finding: Finding::TlsHandshakeFailed,
        captured: Captured::Nothing,
        protocol: None,
    },
    Pattern {
        id: "java-unrecognized-ssl-message",
        system: "Java TLS (JSSE)",
        regex: r"Unsupported or unrecognized SSL message",
        meaning: "a Java TLS endpoint read bytes that are not a TLS record",
        cause: "a PROXY header in front of the ClientHello on a listener that does not parse it; or plain text on a TLS port",
        finding: Finding::TlsHandshakeFailed,
        captured: Captured::Nothing,
        protocol: None,
    },
    // ---- other clients and servers -----------------------------------------
    Pattern {
        id: "go-http-client-eof",
        system: "Go HTTP client (Consul, probes)",
        regex: r#"(?:Get|Head|Post) "?(?P<url>https?://[^"\s]+)"?: EOF"#,
        meaning: "the server closed the connection without answering the request",
        cause: "the server requires a PROXY header and hung up when none came",
        finding: Finding::MissingHeader,
        captured: Captured::Nothing,
        protocol: None,
    },
    Pattern {
        id: "haraka-proxy-timed-out",
        system: "Haraka (SMTP)",
        regex: r"421 PROXY timed out",
        meaning: "Haraka waited for a PROXY header from a listed proxy host and none came within 30 s",
        cause: "the LB sends the header only after the client's first bytes, but SMTP clients wait for the banner",
        finding: Finding::HeaderTimeout,
        captured: Captured::Nothing,
        protocol: Some(Protocol::Smtp),
    },
    // ---- Postfix 3.7 (lines of its maillog, recorded in tests/data/protocols)
    Pattern {
        id: "postfix-haproxy-timeout",
        system: "Postfix (smtpd)",
        regex: r"(?:smtpd\[\d+\]: )?warning: haproxy read: timeout error",
        meaning: "smtpd with `smtpd_upstream_proxy_protocol = haproxy` waited smtpd_upstream_proxy_timeout (5 s by default) for a PROXY header and none came; the client got `421 4.3.0 <host> Server local error` and no banner",
        cause: "a mail client (or a health check) that connects straight to the port and waits for the banner, as SMTP clients do, or a proxy that sends no header",
        finding: Finding::HeaderTimeout,
        captured: Captured::Nothing,
        protocol: Some(Protocol::Smtp),
    },
    Pattern {
        id: "postscreen-haproxy-timeout",
        system: "Postfix (postscreen)",
        regex: r"(?:postscreen\[\d+\]: )?warning: haproxy read: time limit exceeded",
        meaning: "postscreen with `postscreen_upstream_proxy_protocol = haproxy` waited postscreen_upstream_proxy_timeout (5 s by default) for a PROXY header and none came; the client got `421 4.3.2 No system resources`",
        cause: "a mail client (or a health check) that connects straight to the port and waits for the banner, or a proxy that sends no header",
        finding: Finding::HeaderTimeout,
        captured: Captured::Nothing,
        protocol: Some(Protocol::Smtp),
    },
    Pattern {
        id: "postfix-haproxy-unrecognized",
        system: "Postfix (smtpd, postscreen)",
        regex: r"warning: haproxy read: unrecognized protocol header: (?P<data>.*)",
        meaning: "smtpd or postscreen, set to require a PROXY header (`*_upstream_proxy_protocol = haproxy`), received these bytes instead and answered `421` (smtpd: `4.3.0 <host> Server local error`; postscreen: `4.3.2 No system resources`)",
        cause: "see what the received bytes are, below",
        finding: Finding::MissingHeader,
        captured: Captured::ExpectedHeader,
        protocol: Some(Protocol::Smtp),
    },
    Pattern {
        id: "postfix-pipelining-proxy",
        system: "Postfix (smtpd)",
        regex: r"improper command pipelining after CONNECT from (?P<client>[^:\s]+): (?P<data>PROXY .*)",
        meaning: "smtpd without PROXY support received a PROXY header (and more) before it sent its banner; it reads the header as a command and answers `500 5.5.2 Error: command not recognized`",
        cause: "see what the received bytes are, below",
        finding: Finding::UnexpectedHeader,
        captured: Captured::NoHeaderExpected,
        protocol: Some(Protocol::Smtp),
    },
    // ---- Dovecot 2.3 (log_path lines, recorded in tests/data/protocols) ---
    Pattern {
        id: "dovecot-haproxy-timed-out",
        system: "Dovecot",
        regex: r"haproxy: Client timed out \(rip=(?P<client>[^)]+)\)",
        meaning: "a Dovecot listener with `haproxy = yes` waited haproxy_timeout (3 s by default) for a PROXY header and closed the connection without a word (no greeting)",
        cause: "an IMAP or POP3 client (or a health check) that connects straight to the port and waits for the greeting, or a proxy that sends no header",
        finding: Finding::HeaderTimeout,
        captured: Captured::Nothing,
        protocol: Some(Protocol::Imap),
    },
    Pattern {
        id: "dovecot-haproxy-invalid",
        system: "Dovecot",
        regex: r"haproxy: Client disconnected: Failed to read valid HAproxy data \(rip=(?P<client>[^)]+)\)",
        meaning: "a Dovecot listener with `haproxy = yes` received bytes that are not a valid PROXY header and dropped the connection without a word",
        cause: "a client that skipped the proxy and spoke first (or another protocol), a proxy that sends no header, or a malformed header",
        finding: Finding::MissingHeader,
        captured: Captured::Nothing,
        protocol: Some(Protocol::Imap),
    },
    Pattern {
        id: "dovecot-haproxy-untrusted",
        system: "Dovecot",
        regex: r"haproxy: Client not trusted \(rip=(?P<client>[^)]+)\)",
        meaning: "a Dovecot listener with `haproxy = yes` got a connection from an address outside haproxy_trusted_networks and dropped it without a word",
        cause: "haproxy_trusted_networks does not hold the address the proxy connects from (its private address, a new node, IPv6)",
        finding: Finding::UntrustedSource,
        captured: Captured::Nothing,
        protocol: Some(Protocol::Imap),
    },
    // ---- MariaDB 10.11 -----------------------------------------------------
    Pattern {
        id: "mariadb-proxy-header-not-accepted",
        system: "MariaDB (error 1130 to the client)",
        regex: r"Proxy header is not accepted from (?P<client>[0-9A-Fa-f.:]+)",
        meaning: "MariaDB received a PROXY header from a peer outside proxy_protocol_networks (or with none set) and refused the connection after its greeting; the server's error log shows only an `Aborted connection`",
        cause: "the proxy adds a header but proxy_protocol_networks is unset or does not hold the proxy's address",
        finding: Finding::UnexpectedHeader,
        captured: Captured::Nothing,
        protocol: Some(Protocol::Mysql),
    },
    Pattern {
        id: "mariadb-aborted-real-ip",
        system: "MariaDB",
        regex: r"Aborted connection (?P<id>\d+) to db: '[^']*' user: '[^']*' host: '(?P<client>[^']*)' real ip: '(?P<proxy>[^']*)'",
        meaning: "MariaDB took a PROXY header from `real ip` (a peer in proxy_protocol_networks) and saw the client as `host`; the connection then ended before it logged in",
        cause: "not a PROXY protocol problem: the header worked; the client gave up, or was refused by the grant tables (error 1130 `Host '…' is not allowed to connect`)",
        finding: Finding::Proxied,
        captured: Captured::Nothing,
        protocol: Some(Protocol::Mysql),
    },
    // ---- OpenSSH 9.2 (sshd -E lines, recorded in tests/data/protocols) ----
    Pattern {
        id: "sshd-invalid-identifier-proxy",
        system: "OpenSSH (sshd)",
        regex: r#"kex_exchange_identification: client sent invalid protocol identifier "(?P<data>PROXY [^"]*)""#,
        meaning: "sshd (no PROXY support) read a PROXY header where the client's `SSH-2.0-…` identification should be, answered `Invalid SSH identification string.` and closed",
        cause: "see what the received bytes are, below",
        finding: Finding::UnexpectedHeader,
        captured: Captured::NoHeaderExpected,
        protocol: Some(Protocol::Ssh),
    },
    Pattern {
        id: "sshd-invalid-identifier-empty",
        system: "OpenSSH (sshd)",
        regex: r#"kex_exchange_identification: client sent invalid protocol identifier """#,
        meaning: "sshd (no PROXY support) read an empty line where the client's `SSH-2.0-…` identification should be, answered `Invalid SSH identification string.` and closed",
        cause: "most often a v2 PROXY header, whose signature starts with an empty line (`\\r\\n\\r\\n…`): a load balancer that adds a header in front of SSH",
        finding: Finding::UnexpectedHeader,
        captured: Captured::Nothing,
        protocol: Some(Protocol::Ssh),
    },
    Pattern {
        id: "sshd-banner-exchange-invalid",
        system: "OpenSSH (sshd)",
        regex: r"banner exchange: Connection from (?P<client>\S+) port (?P<port>\d+): invalid format",
        meaning: "sshd closed a connection whose first line was not an SSH identification (the line before it, `kex_exchange_identification: client sent invalid protocol identifier`, quotes it)",
        cause: "most often a load balancer that adds a PROXY header in front of SSH (sshd has none), or another protocol (HTTP, a scanner) on the SSH port",
        finding: Finding::UnexpectedHeader,
        captured: Captured::Nothing,
        protocol: Some(Protocol::Ssh),
    },
    // ---- PostgreSQL 15 -----------------------------------------------------
    Pattern {
        id: "postgres-invalid-startup-length",
        system: "PostgreSQL",
        regex: r"invalid length of startup packet",
        meaning: "PostgreSQL read the first four bytes of a connection as a startup packet's length and found it impossible; it closed without a word",
        cause: "a PROXY header in front of the startup packet (PostgreSQL has no PROXY support: `PROX` reads as a length of 1.3 GB), or another protocol on the port",
        finding: Finding::UnexpectedHeader,
        captured: Captured::Nothing,
        protocol: Some(Protocol::Postgres),
    },
];

/// What the bytes quoted by a message turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Nothing at all.
    Empty,
    /// A valid PROXY header.
    ValidHeader,
    /// The start of a header (logs keep only its first line).
    HeaderStart,
    /// A header that breaks the spec.
    InvalidHeader,
    /// A v1-like line whose signature is not `PROXY` (`PROXZ TCP4 …`).
    BadSignature,
    /// Not a header: what it looks like instead, as a
    /// `sniff::Sniffed::code()` (`http-request`, `tls-client-hello`, …).
    Other(&'static str),
}

impl Kind {
    /// The stable identifier (JSON `bytes.kind`).
    pub(crate) fn code(self) -> &'static str {
        match self {
            Kind::Empty => "empty",
            Kind::ValidHeader => "valid-header",
            Kind::HeaderStart => "header-start",
            Kind::InvalidHeader | Kind::BadSignature => "invalid-header",
            Kind::Other(code) => code,
        }
    }
}

/// What quoted bytes of one [`Kind`] mean in a given context: the cause and
/// the finding that follow. Looked up by `(context, kind)`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BytesRule {
    pub context: Captured,
    /// The kind this rule is for; `None` matches any kind.
    pub kind: Option<Kind>,
    pub cause: &'static str,
    pub finding: Finding,
}

const fn other(code: &'static str) -> Option<Kind> {
    Some(Kind::Other(code))
}

pub(crate) static BYTES_RULES: &[BytesRule] = &[
    // A listener that requires a header got these bytes instead.
    BytesRule {
        context: Captured::ExpectedHeader,
        kind: Some(Kind::Empty),
        cause: "the first line was empty: a TCP health check that connected and closed, or bytes starting with a line break",
        finding: Finding::MissingHeader,
    },
    BytesRule {
        context: Captured::ExpectedHeader,
        kind: Some(Kind::ValidHeader),
        cause: "a valid header that nginx still rejected: it arrived split across reads, or nginx is too old for it (v2 needs 1.13.11+)",
        finding: Finding::InvalidHeader,
    },
    BytesRule {
        context: Captured::ExpectedHeader,
        kind: Some(Kind::HeaderStart),
        cause: "only the start of a header arrived before nginx gave up: a header split across segments or a sender that stops mid-header",
        finding: Finding::InvalidHeader,
    },
    BytesRule {
        context: Captured::ExpectedHeader,
        kind: Some(Kind::InvalidHeader),
        cause: "the sender writes a malformed PROXY header",
        finding: Finding::InvalidHeader,
    },
    BytesRule {
        context: Captured::ExpectedHeader,
        kind: other("http-request"),
        cause: "an HTTP client reached this port without a header: it skipped the load balancer (monitoring agent, scanner, in-cluster hairpin traffic), or the LB does not send headers",
        finding: Finding::MissingHeader,
    },
    BytesRule {
        context: Captured::ExpectedHeader,
        kind: other("tls-client-hello"),
        cause: "a TLS client reached this port without a header: it skipped the load balancer (or hairpin traffic), or the LB passes TLS through without adding a header",
        finding: Finding::TlsBeforeProxy,
    },
    BytesRule {
        context: Captured::ExpectedHeader,
        kind: None,
        cause: "a client of some other protocol reached this port without a header, skipping the load balancer",
        finding: Finding::MissingHeader,
    },
    // A listener that does not parse headers got these bytes as its request.
    BytesRule {
        context: Captured::NoHeaderExpected,
        kind: Some(Kind::ValidHeader),
        cause: "a PROXY header reached a port that does not expect one: the sender adds it but the listener has no proxy_protocol, or a second hop stacked another header",
        finding: Finding::UnexpectedHeader,
    },
    BytesRule {
        context: Captured::NoHeaderExpected,
        kind: Some(Kind::HeaderStart),
        cause: "a PROXY header reached a port that does not expect one: the sender adds it but the listener has no proxy_protocol, or a second hop stacked another header",
        finding: Finding::UnexpectedHeader,
    },
    BytesRule {
        context: Captured::NoHeaderExpected,
        kind: Some(Kind::InvalidHeader),
        cause: "a PROXY header (malformed or cut in the log) reached a port that does not expect one",
        finding: Finding::UnexpectedHeader,
    },
    BytesRule {
        context: Captured::NoHeaderExpected,
        kind: other("tls-client-hello"),
        cause: "a TLS client connected to a plain-text port (https:// to an http port, or TLS passthrough to a plain listener): not a PROXY protocol problem",
        finding: Finding::HttpError,
    },
    BytesRule {
        context: Captured::NoHeaderExpected,
        kind: None,
        cause: "a request line that is not HTTP and not a PROXY header: some other protocol spoke to this HTTP port",
        finding: Finding::HttpError,
    },
];

/// The rule for `(context, kind)`, falling back to the context's catch-all.
pub(crate) fn bytes_rule(context: Captured, kind: Kind) -> Option<&'static BytesRule> {
    let kind = match kind {
        Kind::BadSignature => Kind::InvalidHeader,
        k => k,
    };
    BYTES_RULES
        .iter()
        .find(|r| r.context == context && r.kind == Some(kind))
        .or_else(|| {
            BYTES_RULES
                .iter()
                .find(|r| r.context == context && r.kind.is_none())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_pattern_compiles_and_is_unique() {
        for (i, p) in PATTERNS.iter().enumerate() {
            regex::bytes::Regex::new(p.regex).unwrap_or_else(|e| panic!("{}: {e}", p.id));
            assert!(
                PATTERNS[i + 1..].iter().all(|o| o.id != p.id),
                "duplicate {}",
                p.id
            );
            if p.captured != Captured::Nothing {
                assert!(p.regex.contains("?P<data>"), "{}", p.id);
            }
        }
    }

    #[test]
    fn no_citation_of_documents_that_do_not_ship() {
        let texts = PATTERNS
            .iter()
            .flat_map(|p| [p.meaning, p.cause])
            .chain(BYTES_RULES.iter().map(|r| r.cause));
        for t in texts {
            assert!(
                !t.contains("(F") && !t.contains(", F") && !t.contains("field-guide"),
                "{t}"
            );
        }
    }

    #[test]
    fn every_context_has_a_catch_all() {
        for c in [Captured::ExpectedHeader, Captured::NoHeaderExpected] {
            assert!(bytes_rule(c, Kind::Other("no-such-kind")).is_some());
        }
        assert_eq!(
            bytes_rule(Captured::NoHeaderExpected, Kind::BadSignature).map(|r| r.finding),
            Some(Finding::UnexpectedHeader)
        );
    }
}
