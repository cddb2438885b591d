//! Conformance to the spec, in the words `ppctl conform` grades a
//! receiver with: a requirement's [`Level`] (MUST, SHOULD, common
//! practice) and a test's [`Status`] (pass, warn, fail, skip). Here too:
//! the sender's rules (`listen --conform`, `relay --conform`), graded on
//! every header that arrives. Pure: bytes and facts in, statuses out.

use crate::codec::{self, Command, Decoded, ErrorKind, Version};

/// How strongly the spec asks for the behaviour a test checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Level {
    Must,
    Should,
    /// The spec allows it (`may`) or is silent; receivers do it anyway.
    Practice,
}

impl Level {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Level::Must => "MUST",
            Level::Should => "SHOULD",
            Level::Practice => "common practice",
        }
    }
}

/// A test's result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Status {
    Pass,
    Warn,
    Fail,
    Skip,
}

impl Status {
    pub(crate) const ALL: [Status; 4] = [Status::Pass, Status::Warn, Status::Fail, Status::Skip];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Warn => "warn",
            Status::Fail => "fail",
            Status::Skip => "skip",
        }
    }
}

/// A miss at `level`: a MUST fails, the rest warn.
pub(crate) fn miss(level: Level) -> Status {
    match level {
        Level::Must => Status::Fail,
        Level::Should | Level::Practice => Status::Warn,
    }
}

/// The sender's rules, each graded on every connection that brings a
/// header (or should have).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SenderTest {
    HeaderFirst,
    AtOnce,
    WellFormed,
    V1Crlf,
    TlvLengths,
    Crc32c,
    LocalHealthCheck,
    LocalEmpty,
}

impl SenderTest {
    pub(crate) const ALL: [SenderTest; 8] = [
        SenderTest::HeaderFirst,
        SenderTest::AtOnce,
        SenderTest::WellFormed,
        SenderTest::V1Crlf,
        SenderTest::TlvLengths,
        SenderTest::Crc32c,
        SenderTest::LocalHealthCheck,
        SenderTest::LocalEmpty,
    ];

    /// `group/name`, as `ppctl conform`'s ids.
    pub(crate) fn id(self) -> &'static str {
        match self {
            SenderTest::HeaderFirst => "sender/header-first",
            SenderTest::AtOnce => "sender/header-at-once",
            SenderTest::WellFormed => "sender/well-formed",
            SenderTest::V1Crlf => "sender/v1-crlf",
            SenderTest::TlvLengths => "sender/tlv-lengths",
            SenderTest::Crc32c => "sender/crc32c",
            SenderTest::LocalHealthCheck => "sender/local-health-check",
            SenderTest::LocalEmpty => "sender/local-len-0",
        }
    }

    /// The section of the spec (HAProxy's proxy-protocol.txt).
    pub(crate) fn section(self) -> &'static str {
        match self {
            SenderTest::HeaderFirst | SenderTest::AtOnce => "2",
            SenderTest::WellFormed => "2.1, 2.2",
            SenderTest::V1Crlf => "2.1",
            SenderTest::TlvLengths | SenderTest::LocalHealthCheck | SenderTest::LocalEmpty => "2.2",
            SenderTest::Crc32c => "2.2.3",
        }
    }

    pub(crate) fn level(self) -> Level {
        match self {
            SenderTest::LocalHealthCheck | SenderTest::LocalEmpty => Level::Should,
            _ => Level::Must,
        }
    }

    /// What the sender must do, in a few words.
    pub(crate) fn rule(self) -> &'static str {
        match self {
            SenderTest::HeaderFirst => "the header starts the connection, before any data",
            SenderTest::AtOnce => "the whole header in the first segment",
            SenderTest::WellFormed => "a header the spec's grammar allows",
            SenderTest::V1Crlf => "a v1 line ends with CRLF",
            SenderTest::TlvLengths => "TLV lengths add up to the header's length",
            SenderTest::Crc32c => "a CRC32C TLV holds the header's CRC",
            SenderTest::LocalHealthCheck => "LOCAL on a connection that carries no data",
            SenderTest::LocalEmpty => "LOCAL sends len 0 (no addresses, no TLVs)",
        }
    }

    /// What the sender did when it missed, in a few words.
    pub(crate) fn missed(self) -> &'static str {
        match self {
            SenderTest::HeaderFirst => "no header at the start of the connection",
            SenderTest::AtOnce => "the header came in pieces",
            SenderTest::WellFormed => "a header the spec does not allow",
            SenderTest::V1Crlf => "a v1 line without CRLF",
            SenderTest::TlvLengths => "TLV lengths that do not add up",
            SenderTest::Crc32c => "a wrong CRC32C",
            SenderTest::LocalHealthCheck => "a PROXY header on a connection without data",
            SenderTest::LocalEmpty => "a LOCAL header with bytes after its 16-byte prefix",
        }
    }
}

/// What a receiver saw of a sender on one connection.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sent<'a> {
    /// The first bytes (the header, or what arrived in its place); empty
    /// when nothing arrived.
    pub bytes: &'a [u8],
    /// The input ended with these bytes (a close or a timeout mid-header).
    pub at_end: bool,
    /// Whether the header came in pieces is known (a TCP header stage),
    /// and if so, whether it did.
    pub split: Option<bool>,
    /// Bytes came after the header (data, not a health check).
    pub data_after: bool,
    /// Bytes arrived that are not a header (when `bytes` were not kept).
    pub not_header: bool,
}

/// The statuses of [`SenderTest::ALL`], in that order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SenderGrade(pub [Status; SenderTest::ALL.len()]);

impl SenderGrade {
    pub(crate) fn of(&self, t: SenderTest) -> Status {
        self.0[t as usize]
    }

    /// The tests it missed, with their status.
    pub(crate) fn misses(&self) -> impl Iterator<Item = (SenderTest, Status)> + '_ {
        SenderTest::ALL
            .into_iter()
            .map(|t| (t, self.of(t)))
            .filter(|(_, s)| matches!(s, Status::Fail | Status::Warn))
    }
}

/// Does `bytes` start like a header (v1 or v2)?
fn starts_like_header(bytes: &[u8]) -> bool {
    let v1 = b"PROXY";
    let n = bytes.len().min(v1.len());
    let m = bytes.len().min(codec::V2_SIGNATURE.len());
    n > 0 && (bytes[..n] == v1[..n] || bytes[..m] == codec::V2_SIGNATURE[..m])
}

/// Grade one connection against the sender's rules.
pub(crate) fn sender(sent: &Sent<'_>) -> SenderGrade {
    use SenderTest as T;
    use Status::{Fail, Pass, Skip};
    let mut g = [Skip; SenderTest::ALL.len()];
    let set = |g: &mut [Status; 8], t: T, s: Status| g[t as usize] = s;
    let graded = |t: T, ok: bool| if ok { Pass } else { miss(t.level()) };
    if sent.bytes.is_empty() {
        if sent.not_header {
            set(&mut g, T::HeaderFirst, Fail);
        }
        // Else connect-and-close, nothing sent: a plain TCP health check.
        return SenderGrade(g);
    }
    let decoded = if sent.at_end {
        codec::decode_final(sent.bytes)
    } else {
        codec::decode(sent.bytes)
    };
    if let Some(split) = sent.split {
        if !matches!(decoded, Decoded::NotProxy(_)) {
            set(&mut g, T::AtOnce, graded(T::AtOnce, !split));
        }
    }
    match decoded {
        Decoded::Complete(h) => {
            set(&mut g, T::HeaderFirst, Pass);
            set(&mut g, T::WellFormed, Pass);
            if h.version == Version::V1 {
                set(&mut g, T::V1Crlf, Pass);
                return SenderGrade(g);
            }
            set(&mut g, T::TlvLengths, Pass);
            if h.tlvs().any(|t| t.kind == codec::tlv::CRC32C) {
                set(&mut g, T::Crc32c, Pass);
            }
            let local = h.command == Command::Local;
            if !sent.data_after {
                set(
                    &mut g,
                    T::LocalHealthCheck,
                    graded(T::LocalHealthCheck, local),
                );
            }
            if local {
                set(&mut g, T::LocalEmpty, graded(T::LocalEmpty, h.len() == 16));
            }
        }
        Decoded::Invalid(e) => {
            set(
                &mut g,
                T::HeaderFirst,
                graded(T::HeaderFirst, starts_like_header(sent.bytes)),
            );
            let test = match e.kind {
                ErrorKind::V1BareLf | ErrorKind::V1BareCr => T::V1Crlf,
                ErrorKind::TlvTruncated { .. }
                | ErrorKind::TlvOverrun { .. }
                | ErrorKind::SslSubTlvTruncated { .. }
                | ErrorKind::SslSubTlvOverrun { .. } => T::TlvLengths,
                ErrorKind::CrcMismatch { .. } | ErrorKind::CrcLength(_) => T::Crc32c,
                _ => T::WellFormed,
            };
            if starts_like_header(sent.bytes) {
                set(&mut g, test, Fail);
            }
        }
        Decoded::Incomplete { .. } => {
            // Still undecided when the stage ended: a header cut short.
            set(&mut g, T::HeaderFirst, Pass);
            set(&mut g, T::WellFormed, Fail);
        }
        Decoded::NotProxy(_) => set(&mut g, T::HeaderFirst, Fail),
    }
    SenderGrade(g)
}

#[cfg(test)]
mod tests {
    use super::*;
    use SenderTest as T;

    fn sent(bytes: &[u8]) -> Sent<'_> {
        Sent {
            bytes,
            at_end: false,
            split: Some(false),
            data_after: true,
            not_header: false,
        }
    }

    const V2_LOCAL: &[u8] = b"\r\n\r\n\0\r\nQUIT\n\x20\x00\x00\x00";
    const V2_PROXY: &[u8] =
        b"\r\n\r\n\0\r\nQUIT\n\x21\x11\x00\x0c\xc0\x00\x02\x01\xc0\x00\x02\x02\x03\xe8\x00\x50";

    #[test]
    fn a_v1_line_at_once_passes_what_applies() {
        let g = sender(&sent(b"PROXY TCP4 192.0.2.1 192.0.2.2 1000 80\r\nGET /"));
        assert_eq!(g.of(T::HeaderFirst), Status::Pass);
        assert_eq!(g.of(T::AtOnce), Status::Pass);
        assert_eq!(g.of(T::V1Crlf), Status::Pass);
        assert_eq!(g.of(T::Crc32c), Status::Skip);
        assert_eq!(g.misses().count(), 0);
    }

    #[test]
    fn a_bare_lf_fails_crlf_and_a_split_fails_at_once() {
        let mut s = sent(b"PROXY TCP4 192.0.2.1 192.0.2.2 1000 80\nGET /");
        s.split = Some(true);
        let g = sender(&s);
        assert_eq!(g.of(T::V1Crlf), Status::Fail);
        assert_eq!(g.of(T::AtOnce), Status::Fail);
        assert_eq!(g.of(T::WellFormed), Status::Skip);
    }

    #[test]
    fn health_checks_should_be_local_without_an_address_block() {
        let mut s = sent(V2_PROXY);
        s.data_after = false;
        assert_eq!(sender(&s).of(T::LocalHealthCheck), Status::Warn);
        let mut s = sent(V2_LOCAL);
        s.data_after = false;
        let g = sender(&s);
        assert_eq!(g.of(T::LocalHealthCheck), Status::Pass);
        assert_eq!(g.of(T::LocalEmpty), Status::Pass);
        // With data, a PROXY header is a client's: nothing to say.
        assert_eq!(
            sender(&sent(V2_PROXY)).of(T::LocalHealthCheck),
            Status::Skip
        );
    }

    #[test]
    fn data_before_the_header_fails_header_first() {
        let bytes = b"GET / HTTP/1.1\r\nPROXY TCP4 192.0.2.1 192.0.2.2 1 2\r\n";
        let g = sender(&sent(bytes));
        assert_eq!(g.of(T::HeaderFirst), Status::Fail);
        assert_eq!(g.of(T::AtOnce), Status::Skip);
    }

    #[test]
    fn a_wrong_crc_fails_crc32c() {
        // A TCP4 header with a CRC32C TLV holding zeros.
        let mut b = V2_PROXY.to_vec();
        b[15] = 12 + 7;
        b.extend_from_slice(&[0x03, 0x00, 0x04, 0, 0, 0, 1]);
        assert_eq!(sender(&sent(&b)).of(T::Crc32c), Status::Fail);
        assert_eq!(sender(&sent(&b)).of(T::WellFormed), Status::Skip);
    }
}
