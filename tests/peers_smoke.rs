//! Real peers against the library's encoder. These prove the harness in
//! tests/common/, reproduce the symptoms ppctl diagnoses (nginx's `400 Bad
//! Request` and `broken header`, HAProxy's "does not look like a PROXY
//! protocol header"), pin down how lenient each receiver really is, and check
//! that what nginx and HAProxy send decodes with ppctl's codec. The exact log
//! lines seen here are kept in tests/data/peer-messages.txt.
//!
//! Binary-driven peer tests (`ppctl send`/`listen`) live next to those commands.

mod common;

use std::io::Write;
use std::net::{SocketAddr, TcpStream};

use common::peers::{self, Haproxy, Nginx, Peer};
use common::{exchange, free_port, send_and_close, status_line, Upstream, HTTP_GET};
use ppctl::codec::corrupt::{corrupt, Corruption};
use ppctl::codec::encode::HeaderSpec;
use ppctl::codec::{decode, tlv, Decoded, Header, Version};

/// The client address the tests claim (TEST-NET-3).
const CLAIMED: &str = "203.0.113.7:51000";

fn claimed() -> SocketAddr {
    CLAIMED.parse().expect("a literal socket address")
}

/// A PROXY TCP4 header claiming [`CLAIMED`] -> 127.0.0.1:`port`; v2 headers
/// carry an AUTHORITY TLV and a CRC32C, so every corruption applies.
fn header(version: Version, port: u16) -> Vec<u8> {
    let mut spec = HeaderSpec::tcp(version, claimed(), SocketAddr::from(([127, 0, 0, 1], port)));
    if version == Version::V2 {
        spec = spec.with_tlv(tlv::AUTHORITY, b"ppctl.example".to_vec());
        spec.crc32c = true;
    }
    spec.encode().expect("a TCP header always encodes")
}

fn corrupted(version: Version, c: Corruption, port: u16) -> Vec<u8> {
    corrupt(&header(version, port), c).expect("the corruption applies to this header")
}

fn then_get(mut bytes: Vec<u8>) -> Vec<u8> {
    bytes.extend_from_slice(HTTP_GET);
    bytes
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn complete(bytes: &[u8]) -> Header<'_> {
    match decode(bytes) {
        Decoded::Complete(h) => h,
        other => panic!("expected a complete PROXY header, got {other:?} from {bytes:02x?}"),
    }
}

fn tlv_value(h: &Header<'_>, kind: u8) -> Option<Vec<u8>> {
    h.tlvs().find(|t| t.kind == kind).map(|t| t.value.to_vec())
}

/// The payload every proxied test connection carries.
const PAYLOAD: &[u8] = b"hello";

/// Connect to the proxy on `port`, send `own_header` (empty for a plain
/// client) and [`PAYLOAD`], and return what `upstream` received (header
/// and payload) and the client's address.
fn through_proxy(port: u16, upstream: &Upstream, own_header: &[u8]) -> (Vec<u8>, SocketAddr) {
    let mut client = TcpStream::connect(("127.0.0.1", port)).expect("connect to the proxy");
    client
        .write_all(&[own_header, PAYLOAD].concat())
        .expect("send to the proxy");
    let (bytes, _upstream_side) = upstream.capture(PAYLOAD.len());
    (bytes, client.local_addr().expect("the client's address"))
}

/// `bytes` = a v1 header for `client` -> 127.0.0.1:`port`, then [`PAYLOAD`].
fn assert_v1_from(bytes: &[u8], client: SocketAddr, port: u16) {
    let h = complete(bytes);
    assert_eq!(h.version, Version::V1, "{}", text(bytes));
    assert_eq!(h.source(), Some(client));
    assert_eq!(
        h.destination(),
        Some(SocketAddr::from(([127, 0, 0, 1], port)))
    );
    assert_eq!(&bytes[h.len()..], PAYLOAD);
}

/// Bytes a TLS client sends first (the start of a ClientHello).
const TLS_HELLO_START: &[u8] = b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03ppctl-random-bytes";

// ---------------------------------------------------------------- nginx

#[test]
fn nginx_pp_http_accepts_v1_and_v2() {
    if !peers::require(Peer::Nginx) {
        return;
    }
    let port = free_port();
    let nginx = Nginx::start("pp_http", &[("PORT", &port.to_string())]);
    for version in [Version::V1, Version::V2] {
        let response = text(&exchange(port, &then_get(header(version, port))));
        assert_eq!(
            status_line(response.as_bytes()),
            "HTTP/1.1 200 OK",
            "{version:?}: {response}"
        );
        let expected = format!(
            "proxy_protocol_addr=203.0.113.7 proxy_protocol_port=51000 \
             proxy_protocol_server_addr=127.0.0.1 proxy_protocol_server_port={port} \
             remote_addr=203.0.113.7 realip_remote_addr=127.0.0.1\n"
        );
        // realip (`real_ip_header proxy_protocol`) replaced $remote_addr.
        assert!(
            response.ends_with(&expected),
            "{version:?}: expected body {expected:?} in\n{response}"
        );
    }
    let access = nginx.wait_access_log("\n203.0.113.7 - - [");
    assert_eq!(
        access
            .lines()
            .filter(|l| l.starts_with("203.0.113.7 - - ["))
            .count(),
        2,
        "{access}"
    );
    assert!(access.contains("\"GET / HTTP/1.1\" 200 "), "{access}");
}

#[test]
fn nginx_plain_http_answers_400_to_a_proxy_header() {
    if !peers::require(Peer::Nginx) {
        return;
    }
    let port = free_port();
    let nginx = Nginx::start("plain_http", &[("PORT", &port.to_string())]);
    let response = text(&exchange(port, &then_get(header(Version::V1, port))));
    // The seed symptom: the header line is taken as a request line.
    assert_eq!(
        status_line(response.as_bytes()),
        "HTTP/1.1 400 Bad Request",
        "{response}"
    );
    assert!(
        response.contains("<center><h1>400 Bad Request</h1></center>"),
        "{response}"
    );

    let line = format!("PROXY TCP4 203.0.113.7 127.0.0.1 51000 {port}");
    let access = nginx.wait_access_log(" 400 ");
    let expected = format!("\"{line}\" 400 157 \"-\" \"-\"");
    let entry = access.lines().next().unwrap_or("");
    assert!(
        entry.starts_with("127.0.0.1 - - [") && entry.ends_with(&expected),
        "access log: {access}"
    );
    let errors = nginx.wait_error_log("client sent invalid request");
    let expected = format!(
        "client sent invalid request while reading client request line, client: 127.0.0.1, server: , request: \"{line}\""
    );
    assert!(
        errors.contains(&expected),
        "error log (info level): {errors}"
    );
}

#[test]
fn nginx_pp_http_without_header_logs_broken_header() {
    if !peers::require(Peer::Nginx) {
        return;
    }
    let port = free_port();
    let nginx = Nginx::start("pp_http", &[("PORT", &port.to_string())]);
    let response = exchange(port, HTTP_GET);
    assert!(
        response.is_empty(),
        "nginx answered a request without a PROXY header: {}",
        text(&response)
    );
    let log = nginx.wait_error_log("broken header:");
    // nginx logs the raw bytes it read, CR/LF included, so the entry spans lines.
    let expected = format!(
        "[error] {{pid}}: *1 broken header: \"{}\" while reading PROXY protocol, client: 127.0.0.1, server: 127.0.0.1:{port}",
        text(HTTP_GET)
    );
    let (_, entry) = log.split_once("#").unwrap_or_default();
    let entry = entry.split_once(": ").map_or("", |(_, rest)| rest);
    let (_, tail) = expected.split_once("*1 ").unwrap_or_default();
    assert!(
        log.contains("[error] ") && entry.contains(tail),
        "expected {expected:?} in\n{log}"
    );
    assert!(
        nginx.access_log().is_empty(),
        "a broken header is not an HTTP request: nothing in the access log"
    );
}

/// What nginx 1.22 does with each broken header: some are rejected with a
/// message, some silently, and several are accepted although the spec says
/// to reject them (nginx checks neither CRC32C nor TLV bounds, and treats an
/// unknown command or family like LOCAL).
#[test]
fn nginx_pp_http_reacts_to_broken_headers() {
    if !peers::require(Peer::Nginx) {
        return;
    }
    let port = free_port();
    let nginx = Nginx::start("pp_http", &[("PORT", &port.to_string())]);
    use Corruption::{
        Command, Crc, Family, LengthShort, Signature, TlvOverrun, Truncate, V1LeadingZero, V1LfOnly,
    };
    use Version::{V1, V2};

    // Rejected: the connection is closed without an answer.
    let rejected: &[(&str, Vec<u8>, &str)] = &[
        (
            "v1 signature",
            then_get(corrupted(V1, Signature, port)),
            "broken header: \"PROXZ TCP4 203.0.113.7",
        ),
        (
            "v1 LF only",
            then_get(corrupted(V1, V1LfOnly, port)),
            "broken header: \"PROXY TCP4 203.0.113.7",
        ),
        (
            "v2 signature",
            then_get(corrupted(V2, Signature, port)),
            "broken header: \"\r\n\r\n\0\r\nQUIT\x0b",
        ),
        (
            "v2 version",
            then_get(corrupted(V2, Corruption::Version, port)),
            "unknown PROXY protocol version: 1 while reading",
        ),
        (
            "TLS ClientHello",
            TLS_HELLO_START.to_vec(),
            "\x03\x03ppctl-random-bytes\" while reading PROXY protocol",
        ),
        (
            "11 bytes, then hang-up",
            TLS_HELLO_START[..11].to_vec(),
            "broken header: \"\x16\x03\x01\x02\0\x01\0\x01\u{fffd}\x03\x03\" while",
        ),
        // nginx logs what it got of a v1 line, but calls a short v2 header "too large".
        (
            "v1 truncated",
            corrupted(V1, Truncate, port),
            "broken header: \"PROXY TCP4 203.0.113.7 \" while",
        ),
        (
            "v2 truncated",
            corrupted(V2, Truncate, port),
            "header is too large while reading PROXY protocol",
        ),
    ];
    for (what, bytes, needle) in rejected {
        let response = send_and_close(port, bytes);
        assert!(
            response.is_empty(),
            "{what}: nginx answered {}",
            text(&response)
        );
        let log = nginx.wait_error_log(needle);
        assert!(
            log.contains(needle),
            "{what}: expected {needle:?} in the error log:\n{log}"
        );
    }
    // A v2 length shorter than the address block: closed, nothing logged.
    let before = nginx.error_log();
    let response = exchange(port, &then_get(corrupted(V2, LengthShort, port)));
    assert!(
        response.is_empty(),
        "v2 length short: nginx answered {}",
        text(&response)
    );
    // Connect and hang up without a byte: logged at info level only.
    assert!(send_and_close(port, b"").is_empty());
    let log = nginx.wait_error_log("client closed connection while reading PROXY protocol");
    let new = &log[before.len()..];
    assert!(
        new.lines().count() == 1
            && new.contains("[info] ")
            && new.contains("client closed connection"),
        "only the hang-up should be logged after the short v2 length:\n{new}"
    );

    // Accepted although invalid.
    let accepted: &[(&str, Vec<u8>, &str)] = &[
        (
            "v1 TCP6 with IPv4 addresses",
            corrupted(V1, Family, port),
            "remote_addr=203.0.113.7 ",
        ),
        (
            "v1 port with a leading zero",
            corrupted(V1, V1LeadingZero, port),
            "remote_addr=203.0.113.7 ",
        ),
        (
            "v2 wrong CRC32C",
            corrupted(V2, Crc, port),
            "remote_addr=203.0.113.7 ",
        ),
        (
            "v2 TLV overrun",
            corrupted(V2, TlvOverrun, port),
            "remote_addr=203.0.113.7 ",
        ),
        // Addresses ignored: nginx falls back to the connection's own.
        (
            "v2 command 2",
            corrupted(V2, Command, port),
            "proxy_protocol_addr= proxy_protocol_port= ",
        ),
        (
            "v2 family 4",
            corrupted(V2, Family, port),
            "proxy_protocol_addr= proxy_protocol_port= ",
        ),
    ];
    for (what, bytes, needle) in accepted {
        let response = text(&exchange(port, &then_get(bytes.clone())));
        assert_eq!(
            status_line(response.as_bytes()),
            "HTTP/1.1 200 OK",
            "{what}: {response}"
        );
        assert!(
            response.contains(needle),
            "{what}: expected {needle:?} in {response}"
        );
    }
}

#[test]
fn nginx_stream_sends_v1_with_the_client_address() {
    if !peers::require(Peer::Nginx) {
        return;
    }
    let upstream = Upstream::bind();
    let port = free_port();
    let _nginx = Nginx::start(
        "stream_pp",
        &[
            ("PORT", &port.to_string()),
            ("UPSTREAM", &upstream.port().to_string()),
        ],
    );
    let (bytes, client) = through_proxy(port, &upstream, b"");
    assert_v1_from(&bytes, client, port);
}

// -------------------------------------------------------------- HAProxy

#[test]
fn haproxy_accept_proxy_accepts_v1_and_v2() {
    if !peers::require(Peer::Haproxy) {
        return;
    }
    let port = free_port();
    let haproxy = Haproxy::start("accept_proxy", &[("PORT", &port.to_string())]);
    for (n, version) in [Version::V1, Version::V2].into_iter().enumerate() {
        let response = text(&exchange(port, &then_get(header(version, port))));
        assert_eq!(
            status_line(response.as_bytes()),
            "HTTP/1.1 200 OK",
            "{version:?}: {response}"
        );
        let authority = if version == Version::V2 {
            "ppctl.example"
        } else {
            ""
        };
        let expected = format!(
            "src=203.0.113.7 src_port=51000 dst=127.0.0.1 dst_port={port} authority={authority} "
        );
        assert!(
            response.contains(&expected),
            "{version:?}: expected {expected:?} in {response}"
        );
        let log = haproxy.wait_log_lines(n + 1);
        let line = log.lines().nth(n).unwrap_or("");
        assert!(
            line.starts_with("203.0.113.7:51000 [")
                && line.contains(" 200 ")
                && line.contains(" - - LR-- ")
                && line.ends_with(" \"GET / HTTP/1.1\""),
            "{version:?}: {log}"
        );
    }
}

/// HAProxy 2.6's answer to each broken header: every one closes the
/// connection with one log line, except a v1 port with a leading zero,
/// which it accepts.
#[test]
fn haproxy_accept_proxy_rejects_broken_headers() {
    if !peers::require(Peer::Haproxy) {
        return;
    }
    let port = free_port();
    let haproxy = Haproxy::start("accept_proxy", &[("PORT", &port.to_string())]);
    use Corruption::{
        Command, Crc, Family, LengthShort, Signature, TlvOverrun, Truncate, V1LeadingZero, V1LfOnly,
    };
    use Version::{V1, V2};
    const NOT_PP: &str = "Received something which does not look like a PROXY protocol header";
    const INVALID: &str = "Received an invalid PROXY protocol header";
    const TRUNCATED: &str = "Truncated PROXY protocol header received";
    // (what, bytes, who HAProxy names as the client, message)
    let cases: &[(&str, Vec<u8>, &str, &str)] = &[
        ("no header", HTTP_GET.to_vec(), "127.0.0.1", NOT_PP),
        (
            "v1 signature",
            then_get(corrupted(V1, Signature, port)),
            "127.0.0.1",
            NOT_PP,
        ),
        (
            "v2 signature",
            then_get(corrupted(V2, Signature, port)),
            "127.0.0.1",
            NOT_PP,
        ),
        (
            "v2 version",
            then_get(corrupted(V2, Corruption::Version, port)),
            "127.0.0.1",
            NOT_PP,
        ),
        (
            "TLS ClientHello",
            TLS_HELLO_START.to_vec(),
            "127.0.0.1",
            NOT_PP,
        ),
        (
            "v1 TCP6 with IPv4 addresses",
            then_get(corrupted(V1, Family, port)),
            "127.0.0.1",
            INVALID,
        ),
        (
            "v1 LF only",
            then_get(corrupted(V1, V1LfOnly, port)),
            "127.0.0.1",
            INVALID,
        ),
        (
            "v2 command 2",
            then_get(corrupted(V2, Command, port)),
            "127.0.0.1",
            INVALID,
        ),
        (
            "v2 family 4",
            then_get(corrupted(V2, Family, port)),
            "127.0.0.1",
            INVALID,
        ),
        (
            "v2 length short",
            then_get(corrupted(V2, LengthShort, port)),
            "127.0.0.1",
            INVALID,
        ),
        // Addresses are parsed before the TLVs are checked, so the log names
        // the claimed client.
        (
            "v2 wrong CRC32C",
            then_get(corrupted(V2, Crc, port)),
            "203.0.113.7",
            INVALID,
        ),
        (
            "v2 TLV overrun",
            then_get(corrupted(V2, TlvOverrun, port)),
            "203.0.113.7",
            INVALID,
        ),
        (
            "hang-up",
            Vec::new(),
            "127.0.0.1",
            "Connection closed while waiting for PROXY protocol header",
        ),
        (
            "v1 truncated",
            corrupted(V1, Truncate, port),
            "127.0.0.1",
            TRUNCATED,
        ),
        (
            "v2 truncated",
            corrupted(V2, Truncate, port),
            "127.0.0.1",
            TRUNCATED,
        ),
        (
            "11 bytes",
            TLS_HELLO_START[..11].to_vec(),
            "127.0.0.1",
            TRUNCATED,
        ),
    ];
    for (n, (what, bytes, client, message)) in cases.iter().enumerate() {
        let response = send_and_close(port, bytes);
        assert!(
            response.is_empty(),
            "{what}: HAProxy answered {}",
            text(&response)
        );
        let log = haproxy.wait_log_lines(n + 1);
        let line = log.lines().nth(n).unwrap_or("");
        let tail = format!("] fe_accept_proxy/1: {message}");
        assert!(
            line.starts_with(&format!("{client}:")) && line.ends_with(&tail),
            "{what}: expected {tail:?}:\n{log}"
        );
    }

    // Accepted although the spec forbids leading zeros.
    let response = text(&exchange(
        port,
        &then_get(corrupted(V1, V1LeadingZero, port)),
    ));
    assert_eq!(
        status_line(response.as_bytes()),
        "HTTP/1.1 200 OK",
        "{response}"
    );
    assert!(
        response.contains("src=203.0.113.7 src_port=51000 "),
        "{response}"
    );

    // Two headers: the second one is the HTTP request line -> 400.
    let mut twice = header(V1, port);
    twice.extend(then_get(header(V1, port)));
    let response = text(&exchange(port, &twice));
    assert_eq!(
        status_line(response.as_bytes()),
        "HTTP/1.1 400 Bad request",
        "{response}"
    );
    let log = haproxy.wait_log_lines(cases.len() + 2);
    // Counters (actconn/feconn...) vary with how fast the last connection
    // was released, so they are not compared.
    let badreq = log.lines().any(|line| {
        line.starts_with("203.0.113.7:51000 [")
            && line.contains(" 400 0 - - PR-- ")
            && line.ends_with(" \"<BADREQ>\"")
    });
    assert!(badreq, "{log}");
}

#[test]
fn haproxy_send_proxy_v2_sends_crc32c_unique_id_and_relays_authority() {
    if !peers::require(Peer::Haproxy) {
        return;
    }
    let upstream = Upstream::bind();
    let (port, pp_port) = (free_port(), free_port());
    let _haproxy = Haproxy::start(
        "send_proxy_v2",
        &[
            ("PORT", &port.to_string()),
            ("PP_PORT", &pp_port.to_string()),
            ("UPSTREAM", &upstream.port().to_string()),
        ],
    );

    // A plain client: no TLS, so no SNI, so HAProxy has no AUTHORITY to send.
    let (bytes, client) = through_proxy(port, &upstream, b"");
    let h = complete(&bytes);
    assert_eq!(h.version, Version::V2);
    assert!(h.crc32c.is_some(), "HAProxy's CRC32C TLV verified");
    assert_eq!(h.source(), Some(client));
    assert_eq!(
        h.destination(),
        Some(SocketAddr::from(([127, 0, 0, 1], port)))
    );
    // The unique-id-format starts with the client address in hex.
    let unique_id = tlv_value(&h, tlv::UNIQUE_ID).expect("a UNIQUE_ID TLV");
    assert!(unique_id.starts_with(b"7F000001:"), "{}", text(&unique_id));
    assert_eq!(
        tlv_value(&h, tlv::AUTHORITY),
        None,
        "no AUTHORITY without SNI or an incoming one"
    );
    // HAProxy writes the CRC32C TLV first, before UNIQUE_ID.
    let kinds: Vec<u8> = h.tlvs().map(|t| t.kind).collect();
    assert_eq!(kinds, [tlv::CRC32C, tlv::UNIQUE_ID]);
    assert_eq!(&bytes[h.len()..], PAYLOAD);

    // A client that sends its own v2 header with an AUTHORITY: HAProxy
    // relays the claimed source and the AUTHORITY.
    let (bytes, _) = through_proxy(pp_port, &upstream, &header(Version::V2, pp_port));
    let h = complete(&bytes);
    assert!(h.crc32c.is_some());
    assert_eq!(h.source(), Some(claimed()));
    assert_eq!(
        tlv_value(&h, tlv::AUTHORITY).as_deref(),
        Some(&b"ppctl.example"[..])
    );
    let unique_id = tlv_value(&h, tlv::UNIQUE_ID).expect("a UNIQUE_ID TLV");
    assert!(
        unique_id.starts_with(b"CB007107:C738_"),
        "claimed client in hex: {}",
        text(&unique_id)
    );
    assert_eq!(&bytes[h.len()..], PAYLOAD);
}

/// HAProxy from `tests/peers/haproxy/<config>.cfg` on a free port, its
/// ACL's list `sources`, in front of a fresh upstream listener.
fn haproxy_in_front(config: &str, sources: &str) -> (Upstream, u16, Haproxy) {
    let upstream = Upstream::bind();
    let port = free_port();
    let haproxy = Haproxy::start(
        config,
        &[
            ("PORT", &port.to_string()),
            ("UPSTREAM", &upstream.port().to_string()),
            ("SOURCES", sources),
        ],
    );
    (upstream, port, haproxy)
}

/// What `check` says of an `expect-proxy` rule whose `acl … src` list
/// leaves the sender out (`untrusted-source`: HAProxy reads no header and
/// takes its bytes as the connection's data), and in (the header is read),
/// on the real HAProxy.
#[test]
fn haproxy_expect_proxy_reads_a_header_only_from_the_acls_sources() {
    if !peers::require(Peer::Haproxy) {
        return;
    }
    let own = "PROXY TCP4 203.0.113.7 127.0.0.1 51000 443\r\n";
    for (sources, read) in [("10.7.0.0/24", false), ("127.0.0.0/8 10.7.0.0/24", true)] {
        let (upstream, port, _haproxy) = haproxy_in_front("expect_proxy_listed", sources);
        let (bytes, _) = through_proxy(port, &upstream, own.as_bytes());
        let expected: Vec<u8> = if read {
            PAYLOAD.to_vec()
        } else {
            [own.as_bytes(), PAYLOAD].concat()
        };
        assert_eq!(text(&bytes), text(&expected), "acl src {sources}");
    }
}

/// `tcp-request connection reject unless { src … }` next to `accept-proxy`
/// judges the real peer's address, not the header's: a peer outside the
/// list is cut even when its header claims an address inside it, so the
/// list is who may send a header (check's trust list), on the real HAProxy.
#[test]
fn haproxy_reject_unless_source_judges_the_peer_not_the_header() {
    use std::io::Read;
    if !peers::require(Peer::Haproxy) {
        return;
    }
    let claims_inside = b"PROXY TCP4 10.7.0.9 127.0.0.1 51000 443\r\n";
    for (sources, admitted) in [("10.7.0.0/24", false), ("127.0.0.0/8", true)] {
        let (upstream, port, _haproxy) = haproxy_in_front("reject_unless_source", sources);
        if admitted {
            let (bytes, _) = through_proxy(port, &upstream, claims_inside);
            assert_eq!(text(&bytes), text(PAYLOAD), "src {sources}");
            continue;
        }
        let mut client = TcpStream::connect(("127.0.0.1", port)).expect("connect to the proxy");
        client
            .set_read_timeout(Some(std::time::Duration::from_secs(5)))
            .expect("a read timeout");
        // The write may fail once the reset is in: either way nothing comes back.
        let _ = client.write_all(&[&claims_inside[..], PAYLOAD].concat());
        let mut buf = [0u8; 64];
        match client.read(&mut buf) {
            Ok(0) => {}
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
            Ok(n) => panic!("src {sources}: answered {:?}", text(&buf[..n])),
            Err(e) => panic!("src {sources}: not cut ({e})"),
        }
    }
}

#[test]
fn haproxy_send_proxy_v1_sends_the_client_address() {
    if !peers::require(Peer::Haproxy) {
        return;
    }
    let upstream = Upstream::bind();
    let port = free_port();
    let _haproxy = Haproxy::start(
        "send_proxy_v1",
        &[
            ("PORT", &port.to_string()),
            ("UPSTREAM", &upstream.port().to_string()),
        ],
    );
    let (bytes, client) = through_proxy(port, &upstream, b"");
    assert_v1_from(&bytes, client, port);
}
