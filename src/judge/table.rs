//! Every finding, declared once. Each row of `findings!` below is one
//! finding: its variant, kebab-case name, severity, meaning, fixes and the
//! subcommands that report it. The macro makes of that one list the
//! `Finding` enum, `Finding::ALL` and the table [`FINDINGS`] that
//! `Finding`'s methods read; each command's list of findings
//! (`judge::reported_by`: pcap's `--finding` values and summary counts)
//! and docs/verdicts.md's "reported by" column come from its
//! `reported_by`. docs/verdicts.md is generated from this table by
//! `report::verdicts` (its unit test fails when the doc is out of date).
//! A finding's code is derived from its name (`Finding::code`), never
//! written.

use super::Severity::{self, Info, Ok, Problem, Warning};

/// A subcommand that can print a finding: docs/verdicts.md's "reported
/// by" column, in its order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Reporter {
    Send,
    Listen,
    Probe,
    Repro,
    Pcap,
    Relay,
    /// What a receiver that requires a header makes of the bytes.
    Inspect,
    /// The findings its log patterns name.
    Explain,
    Check,
}

impl Reporter {
    // ALL and name are for docs/verdicts.md's generator, which runs as a
    // test.
    /// In the column's order.
    #[cfg(test)]
    pub(crate) const ALL: [Reporter; 9] = [
        Reporter::Send,
        Reporter::Listen,
        Reporter::Probe,
        Reporter::Repro,
        Reporter::Pcap,
        Reporter::Relay,
        Reporter::Inspect,
        Reporter::Explain,
        Reporter::Check,
    ];

    /// The subcommand's name.
    #[cfg(test)]
    pub(crate) fn name(self) -> &'static str {
        match self {
            Reporter::Send => "send",
            Reporter::Listen => "listen",
            Reporter::Probe => "probe",
            Reporter::Repro => "repro",
            Reporter::Pcap => "pcap",
            Reporter::Relay => "relay",
            Reporter::Inspect => "inspect",
            Reporter::Explain => "explain",
            Reporter::Check => "check",
        }
    }
}

/// One row of docs/verdicts.md.
#[derive(Debug)]
pub(crate) struct FindingInfo {
    /// The kebab-case name; the code is derived from it
    /// ([`super::Finding::code`]), never written by hand.
    pub name: &'static str,
    pub severity: Severity,
    /// A few words, for `--help` value lists and narrow tables.
    pub short: &'static str,
    /// One sentence: what happened and why it matters.
    pub meaning: &'static str,
    /// Ids in the shared fixes table, most likely first; a few, not all.
    pub fixes: &'static [&'static str],
    /// The subcommands that can print this finding, in
    /// the column's order (`Reporter`'s).
    pub reported_by: &'static [Reporter],
}

/// The one declaration of the findings: see the module's comment. Each
/// variant's doc is its meaning.
macro_rules! findings {
    ($(
        $variant:ident {
            name: $name:literal,
            severity: $severity:ident,
            short: $short:literal,
            meaning: $meaning:literal,
            fixes: [$($fix:literal),* $(,)?],
            reported_by: [$($by:ident),* $(,)?] $(,)?
        }
    ),* $(,)?) => {
        /// What an exchange (or a receiver's view of one) comes to. The
        /// order is the order of docs/verdicts.md.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub(crate) enum Finding {
            $(#[doc = $meaning] $variant,)*
        }

        impl Finding {
            /// Every finding, in docs/verdicts.md order.
            pub(crate) const ALL: [Finding; [$($name),*].len()] = [$(Finding::$variant),*];
        }

        /// The table, in [`Finding::ALL`] order: a finding's index is its
        /// discriminant.
        pub(crate) static FINDINGS: &[FindingInfo] = &[$(
            FindingInfo {
                name: $name,
                severity: $severity,
                short: $short,
                meaning: $meaning,
                fixes: &[$($fix),*],
                reported_by: &[$(Reporter::$by),*],
            },
        )*];
    };
}

findings! {
    Proxied {
        name: "proxied",
        severity: Ok,
        short: "a valid header, taken",
        meaning: "a valid PROXY header went through and the receiver answered: the real client address reached the backend",
        fixes: [],
        reported_by: [Send, Listen, Probe, Repro, Pcap, Relay, Explain],
    },
    Plain {
        name: "plain",
        severity: Ok,
        short: "no header, served",
        meaning: "no PROXY header, and the receiver served the connection as a direct client (it sees the peer's own address)",
        fixes: [],
        reported_by: [Send, Listen, Probe, Repro, Pcap, Relay],
    },
    HealthCheck {
        name: "health-check",
        severity: Ok,
        short: "a LOCAL header or connect-and-close",
        meaning: "a v2 LOCAL header, or a connect-and-close: a load balancer's health check, which carries no client address",
        fixes: [],
        reported_by: [Send, Listen, Probe, Pcap, Relay, Explain],
    },
    UnexpectedHeader {
        name: "unexpected-header",
        severity: Problem,
        short: "a header the receiver does not expect",
        meaning: "the sender puts a PROXY header in front of the connection but the receiver is not configured for PROXY protocol, so it reads the header as data: nginx answers `400 Bad Request`, a TLS server sends an alert",
        fixes: [
            "ingress-nginx-use-proxy-protocol",
            "nginx-listen-proxy-protocol",
            "haproxy-accept-proxy",
            "disable-at-sender",
        ],
        reported_by: [Send, Listen, Probe, Repro, Pcap, Relay, Explain, Check],
    },
    HopAddsHeader {
        name: "hop-adds-header",
        severity: Problem,
        short: "suspected: a hop behind adds a header",
        meaning: "suspected, not proven: a well-formed request without a PROXY header got a web server's own `400 Bad Request` page and a close (nginx's or HAProxy's answer to a request line it cannot parse): the signature of a hop behind this port (nginx stream `proxy_protocol on`, HAProxy `send-proxy`, a cloud load balancer) that adds a PROXY header the backend does not read, so the backend takes `PROXY TCP4 …` for the request line. An application can answer so too: confirm it with the first fix",
        fixes: [
            "confirm-hop-adds-header",
            "ingress-nginx-use-proxy-protocol",
            "nginx-listen-proxy-protocol",
            "disable-at-sender",
        ],
        reported_by: [Send, Probe, Repro, Pcap, Relay],
    },
    MissingHeader {
        name: "missing-header",
        severity: Problem,
        short: "no header where one is required",
        meaning: "the receiver requires a PROXY header but the client sent none (a client that bypasses the load balancer, a health check, hairpin traffic, a load balancer whose option is off): nginx logs `broken header` and closes",
        fixes: ["enable-at-sender", "route-through-lb", "client-send-header", "hairpin-ip-mode-proxy"],
        reported_by: [Send, Listen, Probe, Repro, Pcap, Relay, Inspect, Explain, Check],
    },
    BannerBeforeHeader {
        name: "banner-before-header",
        severity: Problem,
        short: "a greeting before the header was read",
        meaning: "a server that speaks first (SMTP `220`, IMAP `* OK`, POP3 `+OK`, a MySQL handshake, `SSH-2.0-…`) greeted the client before the PROXY header had reached it, and nothing after the greeting shows that it read the header: a server set to require one never does so (Postfix `smtpd_upstream_proxy_protocol`, Dovecot `haproxy = yes` stay silent until the header), so this one reads no header and will take it for a command, or takes it only when it comes (MariaDB `proxy_protocol_networks`: spoofable)",
        fixes: [
            "postfix-upstream-proxy-protocol",
            "dovecot-haproxy",
            "mariadb-proxy-protocol-networks",
            "disable-at-sender",
        ],
        reported_by: [Send, Probe, Pcap, Relay],
    },
    InvalidHeader {
        name: "invalid-header",
        severity: Problem,
        short: "a header that breaks the spec",
        meaning: "the sender wrote a malformed, truncated or split PROXY header; receivers reject it (HAProxy `Received an invalid PROXY protocol header`, nginx `broken header`)",
        fixes: ["fix-sender-header", "small-header-or-upgrade"],
        reported_by: [Send, Listen, Pcap, Relay, Inspect, Explain],
    },
    HeaderRejected {
        name: "header-rejected",
        severity: Problem,
        short: "a valid header, closed without a reply",
        meaning: "the receiver closed or reset the connection without a word after a valid header: it wants the other PROXY version, the sender is not on its allow-list, or it does not speak PROXY protocol at all",
        fixes: ["match-version", "haproxy-expect-proxy-allowlist", "fix-sender-header"],
        reported_by: [Send, Probe, Repro, Pcap, Relay, Explain, Check],
    },
    StackedHeader {
        name: "stacked-header",
        severity: Problem,
        short: "two headers in one stream",
        meaning: "two PROXY headers arrived back to back: two hops both add one (an AWS NLB forwards a header already in the stream), so the receiver takes the first and reads the second as data",
        fixes: ["single-header-hop"],
        reported_by: [Send, Listen, Pcap, Relay, Explain, Check],
    },
    FailedHealthCheck {
        name: "failed-health-check",
        severity: Problem,
        short: "a health check answered with an error",
        meaning: "a health check (a v2 LOCAL header) got an error answer: the load balancer will mark this backend down although real clients may be served",
        fixes: ["health-check-match", "nginx-listen-proxy-protocol"],
        reported_by: [Send, Probe, Pcap, Relay],
    },
    Spoofable {
        name: "spoofable",
        severity: Warning,
        short: "a header taken from anyone",
        meaning: "it works, but any client that reaches the receiver directly can forge its address: the receiver takes a header when there is one and serves clients without one (the spec says a receiver must not guess), or takes a header from any source, with no list of the senders it trusts",
        fixes: ["require-header-and-allowlist", "ingress-nginx-real-ip-cidr"],
        reported_by: [Listen, Probe, Repro, Relay, Check],
    },
    UntrustedSource {
        name: "untrusted-source",
        severity: Problem,
        short: "a header from outside the trust list",
        meaning: "a valid header came from a peer outside the trusted ranges, so its address was ignored (or the connection refused): the backend sees the load balancer's address, not the client's",
        fixes: ["ingress-nginx-real-ip-cidr", "traefik-trusted-ips", "haproxy-expect-proxy-allowlist"],
        reported_by: [Listen, Relay, Explain, Check],
    },
    HeaderTooLarge {
        name: "header-too-large",
        severity: Problem,
        short: "a v2 header over the size limit",
        meaning: "a v2 header larger than the receiver's limit (go-proxyproto takes 4096 bytes, ppctl's --max-header): its TLVs carry too much",
        fixes: ["small-header-or-upgrade"],
        reported_by: [Listen, Relay],
    },
    HeaderTimeout {
        name: "header-timeout",
        severity: Problem,
        short: "no header before the deadline",
        meaning: "the client connected but no complete header (or first bytes) arrived before the receiver's header deadline: a server-speaks-first protocol behind a proxy, or a load balancer that sends its header only with data",
        fixes: ["ingress-nginx-header-timeout", "aws-nlb-header-on-first-ack"],
        reported_by: [Listen, Relay, Explain],
    },
    NoReply {
        name: "no-reply",
        severity: Problem,
        short: "no reply before the timeout",
        meaning: "the receiver kept the connection open without answering: it waits for more (an incomplete header, or a request it has not finished reading), or the protocol is server-speaks-first",
        fixes: ["ingress-nginx-header-timeout", "aws-nlb-header-on-first-ack"],
        reported_by: [Send, Probe, Repro, Relay],
    },
    ResetMidStream {
        name: "reset-mid-stream",
        severity: Problem,
        short: "a reset after the stream was read",
        meaning: "the receiver read the header and far more of the stream after it (more than a receiver holds unread), then reset the connection without a word: the PROXY layer went through (a receiver that refuses a header resets before reading on); the application dropped the connection (a crash, a size limit, its own timeout)",
        fixes: ["read-receiver-log"],
        reported_by: [Relay],
    },
    HttpError {
        name: "http-error",
        severity: Problem,
        short: "an HTTP error for the request",
        meaning: "the receiver spoke HTTP, so the PROXY layer is fine, but it refused the request itself (4xx/5xx): look at the request, the Host, or the application",
        fixes: [],
        reported_by: [Send, Probe, Repro, Pcap, Relay],
    },
    NoReceiver {
        name: "no-receiver",
        severity: Problem,
        short: "connection refused",
        meaning: "the connection was refused: nothing listens on that address and port",
        fixes: [],
        reported_by: [Send, Probe, Repro, Pcap, Relay],
    },
    Unreachable {
        name: "unreachable",
        severity: Problem,
        short: "no connection",
        meaning: "no connection could be made (a connect timeout, no route, a firewall that drops)",
        fixes: [],
        reported_by: [Send, Probe, Repro, Relay],
    },
    LocalLimit {
        name: "local-limit",
        severity: Problem,
        short: "no file descriptor on this host",
        meaning: "this host had no file descriptor left (`ulimit -n`, or the system's limit): for a connection out, so the far end was never tried and nothing is known of it; for a server's accept(), so clients waited in its backlog (the summary counts the tries): raise the limit, or lower --concurrency or --max-conns",
        fixes: [],
        reported_by: [Send, Listen, Relay],
    },
    NoDatagram {
        name: "no-datagram",
        severity: Info,
        short: "no datagram came back",
        meaning: "no datagram came back before the timeout; many UDP receivers never answer, so check the receiver's log",
        fixes: [],
        reported_by: [Send],
    },
    ClientClosed {
        name: "client-closed",
        severity: Info,
        short: "the client left first",
        meaning: "the client closed or reset the connection before a header or any byte arrived",
        fixes: [],
        reported_by: [Listen, Relay],
    },
    Interrupted {
        name: "interrupted",
        severity: Info,
        short: "stopped before the end",
        meaning: "the receiver stopped (SIGINT, SIGTERM, --count) before this connection finished",
        fixes: [],
        reported_by: [Listen, Relay],
    },
    Incomplete {
        name: "incomplete",
        severity: Info,
        short: "its start or its end is not in the record",
        meaning: "the start or the end of the exchange is missing from the record (a capture started late or ended early), so there is nothing to judge",
        fixes: [],
        reported_by: [Pcap, Inspect],
    },
    Inconclusive {
        name: "inconclusive",
        severity: Info,
        short: "the probe could not tell",
        meaning: "the endpoint took the connection but answered nothing the probe could read, with or without a header: it may speak another protocol than the one probed or named with --protocol (TLS, plain HTTP, or a server-speaks-first protocol; the probe's warning says which mode to try)",
        fixes: [],
        reported_by: [Send, Probe],
    },
    // Configuration findings: `check` reads them from the configuration of
    // every hop, before the rollout.
    RealIpLost {
        name: "real-ip-lost",
        severity: Problem,
        short: "the client address is lost on the way",
        meaning: "the connection gets through but the backend sees a proxy's address, not the client's: the header is read but its address not used (nginx without `real_ip_header proxy_protocol` or `set_real_ip_from`), or a load balancer without PROXY protocol with `externalTrafficPolicy: Cluster`",
        fixes: ["nginx-listen-proxy-protocol", "external-traffic-policy-local"],
        reported_by: [Check],
    },
    IgnoredSetting {
        name: "ignored-setting",
        severity: Warning,
        short: "a setting that does nothing where it stands",
        meaning: "a PROXY setting that this platform ignores where it is written (the in-tree AWS annotation `aws-load-balancer-proxy-protocol` on an NLB): the configuration says PROXY, the wire will not",
        fixes: ["aws-nlb-proxy-protocol-v2", "ingress-nginx-udp-services-no-proxy"],
        reported_by: [Check],
    },
    RefusedSetting {
        name: "refused-setting",
        severity: Problem,
        short: "a setting the server will not start with",
        meaning: "a PROXY setting the server refuses to start with (Traefik's `proxyProtocol` with neither `trustedIPs` nor `insecure`: `error while building entryPoint …: no trusted IPs provided`; MariaDB's `proxy_protocol_networks` holding a host name, or `*` in a list: `Error parsing proxy_protocol_networks parameter`): the server does not start, so none of its ports takes a connection",
        fixes: ["traefik-trusted-ips", "mariadb-proxy-protocol-networks"],
        reported_by: [Explain, Check],
    },
    PartialProxy {
        name: "partial-proxy",
        severity: Problem,
        short: "PROXY on one port and not its sibling",
        meaning: "PROXY protocol on one port or listener and not its sibling (80 vs 443), or nginx servers sharing an address:port that disagree on `proxy_protocol` (nginx applies it to all of them): some clients break",
        fixes: ["nginx-listen-options-agree", "nginx-listen-proxy-protocol"],
        reported_by: [Explain, Check],
    },
    Hairpin {
        name: "hairpin",
        severity: Warning,
        short: "in-cluster clients skip the load balancer",
        meaning: "in-cluster clients that connect to the load balancer's IP are short-circuited by kube-proxy and reach the ingress without the PROXY header it requires (`broken header` for them only)",
        fixes: ["hairpin-ip-mode-proxy", "route-through-lb"],
        reported_by: [Check],
    },
    ConfigWireMismatch {
        name: "config-wire-mismatch",
        severity: Problem,
        short: "the wire disagrees with the configuration",
        meaning: "the configuration says this listener expects one thing (a PROXY header, none, or either) but a live probe found another: the server on that port is not running this configuration (not reloaded since the change, another server on the port, or a different file)",
        fixes: ["reload-after-change"],
        reported_by: [Check],
    },
    UpstreamFailed {
        name: "upstream-failed",
        severity: Problem,
        short: "the hop behind the proxy failed",
        meaning: "the client's connection to a proxy failed because the proxy's own connection to its upstream failed (a capture taken on the proxy host holds both hops): see the linked flow's finding and its fixes",
        fixes: [],
        reported_by: [Pcap],
    },
    TlsHandshakeFailed {
        name: "tls-handshake-failed",
        severity: Problem,
        short: "the TLS handshake failed after the header",
        meaning: "the PROXY header went out, then the TLS handshake failed: the receiver serves TLS without PROXY protocol on this port and read the header as the start of TLS (OpenSSL logs `wrong version number` and sends an alert or closes; nginx `listen … ssl` takes it for a plain HTTP request and answers `400 Bad Request`)",
        fixes: [
            "ingress-nginx-use-proxy-protocol",
            "nginx-listen-proxy-protocol",
            "parse-header-before-tls",
            "disable-at-sender",
        ],
        reported_by: [Send, Listen, Probe, Repro, Pcap, Relay, Explain],
    },
    PlainHttpToTls {
        name: "plain-http-to-tls",
        severity: Problem,
        short: "plain HTTP sent to a TLS port",
        meaning: "the receiver serves TLS here but got plain HTTP: nginx answers `400 The plain HTTP request was sent to HTTPS port`; behind a PROXY header this means the header was read and TLS and PROXY are mixed up at the load balancer (it terminates TLS and forwards plain HTTP to the ssl port)",
        fixes: ["speak-tls-to-tls-port", "tls-to-plain-port"],
        reported_by: [Send, Listen, Pcap, Relay, Explain],
    },
    TlsBeforeProxy {
        name: "tls-before-proxy",
        severity: Problem,
        short: "a ClientHello where a header was required",
        meaning: "the client started TLS without a PROXY header in front, and the receiver, which requires one, hung up: it logs `broken header: \"\\x16\\x03…\"` (the ClientHello); the sender wraps the header inside TLS, or sends none",
        fixes: ["enable-at-sender", "client-send-header", "nginx-remove-proxy-protocol"],
        reported_by: [Send, Listen, Probe, Repro, Pcap, Relay, Explain],
    },
    TlsToPlainPort {
        name: "tls-to-plain-port",
        severity: Problem,
        short: "TLS sent to a plain-text port",
        meaning: "the client started TLS but the receiver answered in plain text (HTTP 400 to the ClientHello), and the same request in clear is served: this port takes the PROXY header but does not serve TLS",
        fixes: ["tls-to-plain-port"],
        reported_by: [Send, Listen, Pcap, Relay, Explain],
    },
    CertificateRejected {
        name: "certificate-rejected",
        severity: Problem,
        short: "the server's certificate was not trusted",
        meaning: "the PROXY header and the handshake went through, but the client refused the server's certificate (unknown issuer, expired, or not valid for the SNI): the PROXY layer works; the certificate or the name does not",
        fixes: ["tls-trust-certificate"],
        reported_by: [Send, Listen],
    },
}
