//! Decoding errors: a small `Copy` enum, the offset where the rule was broken,
//! the spec section, and a one-line hint at the fix.

use thiserror::Error as ThisError;

/// Which end of the connection a v1 field describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoint {
    Source,
    Destination,
}

impl Endpoint {
    pub fn name(self) -> &'static str {
        match self {
            Endpoint::Source => "source",
            Endpoint::Destination => "destination",
        }
    }
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A broken rule, and the byte offset (from the start of the header) where
/// it was detected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ThisError)]
#[error("{kind} (at byte {offset})")]
pub struct Error {
    pub kind: ErrorKind,
    pub offset: usize,
}

impl Error {
    pub fn new(kind: ErrorKind, offset: usize) -> Self {
        Error { kind, offset }
    }

    /// Stable kebab-case identifier, used in JSON.
    pub fn code(&self) -> &'static str {
        self.kind.code()
    }
}

/// Every way a header can be invalid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ThisError)]
pub enum ErrorKind {
    // ----- v1 (§2.1)
    #[error("v1 signature must be exactly \"PROXY\" (upper case) followed by one space")]
    V1Signature,
    #[error("no CRLF within the first 107 bytes: a v1 line is at most 107 bytes")]
    V1TooLong,
    #[error("line ends with a bare LF; v1 requires CRLF")]
    V1BareLf,
    #[error("bare CR inside the line; v1 requires CR to be followed by LF")]
    V1BareCr,
    #[error("non-ASCII or control byte in a v1 line")]
    V1BadByte,
    #[error("empty field: fields must be separated by exactly one space")]
    V1EmptyField,
    #[error("unsupported protocol word; v1 allows only TCP4, TCP6 or UNKNOWN")]
    V1Protocol,
    #[error("missing field: a TCP4/TCP6 line needs source, destination, source port and destination port")]
    V1MissingField,
    #[error("extra field after the destination port")]
    V1ExtraField,
    #[error("space after the destination port: the line must end with CRLF right after it")]
    V1TrailingSpace,
    #[error("{0} address is not a valid address for this protocol: {1}")]
    V1Address(Endpoint, AddressFault),
    #[error("{0} address is of the wrong family (TCP4 needs dotted IPv4, TCP6 needs IPv6 text)")]
    V1FamilyMismatch(Endpoint),
    #[error("{0} address has an IPv6 zone id (%...), which v1 does not allow")]
    V1ZoneId(Endpoint),
    #[error("{0} port is not a decimal number")]
    V1Port(Endpoint),
    #[error("{0} port has a sign; ports are plain decimal digits")]
    V1PortSign(Endpoint),
    #[error("{0} port has a leading zero")]
    V1PortLeadingZero(Endpoint),
    #[error("{0} port is above 65535")]
    V1PortRange(Endpoint),

    // ----- v2 (§2.2)
    #[error("bytes differ from the 12-byte v2 signature \\r\\n\\r\\n\\0\\r\\nQUIT\\n")]
    V2Signature,
    #[error("version nibble is {0:#x}; only 0x2 is valid")]
    V2Version(u8),
    #[error("command nibble is {0:#x}; only 0x0 (LOCAL) and 0x1 (PROXY) are valid")]
    V2Command(u8),
    #[error("address family nibble is {0:#x}; only 0x0-0x3 are defined")]
    V2Family(u8),
    #[error("transport nibble is {0:#x}; only 0x0-0x2 are defined")]
    V2Transport(u8),
    #[error("len is {len} but the address family needs at least {need} bytes")]
    V2LengthTooShort { len: u16, need: u16 },

    // ----- TLVs (§2.2.1-§2.2.8)
    #[error("{} left over in the TLV area: a TLV needs at least 3 (type + length)", Bytes(u32::from(*.left)))]
    TlvTruncated { left: u16 },
    #[error(
        "TLV {tlv_type:#04x} declares {} but only {available} remain in the header", Bytes(u32::from(*.declared))
    )]
    TlvOverrun {
        tlv_type: u8,
        declared: u16,
        available: u16,
    },
    #[error("CRC32C TLV must be 4 bytes, got {0}")]
    CrcLength(u16),
    #[error("CRC32C mismatch: header says {stored:#010x}, bytes give {computed:#010x}")]
    CrcMismatch { stored: u32, computed: u32 },
    #[error("UNIQUE_ID is {} long; the maximum is 128", Bytes(u32::from(*.0)))]
    UniqueIdTooLong(u16),
    #[error("AUTHORITY is not valid UTF-8")]
    AuthorityUtf8,
    #[error("SSL TLV is {} long; its fixed part alone is 5 (client + verify)", Bytes(u32::from(*.0)))]
    SslTooShort(u16),
    #[error("{} left over in the SSL sub-TLV area: a sub-TLV needs at least 3 (type + length)", Bytes(u32::from(*.left)))]
    SslSubTlvTruncated { left: u16 },
    #[error(
        "SSL sub-TLV {sub_type:#04x} declares {} but only {available} remain in the SSL TLV", Bytes(u32::from(*.declared))
    )]
    SslSubTlvOverrun {
        sub_type: u8,
        declared: u16,
        available: u16,
    },

    // ----- stream
    #[error("header ends early: at least {} more {} expected", .needed, if *.needed == 1 { "byte was" } else { "bytes were" })]
    Truncated { needed: u32 },
}

impl ErrorKind {
    /// Stable identifier for JSON and scripts.
    pub fn code(&self) -> &'static str {
        use ErrorKind::*;
        match self {
            V1Signature => "v1-signature",
            V1TooLong => "v1-too-long",
            V1BareLf => "v1-bare-lf",
            V1BareCr => "v1-bare-cr",
            V1BadByte => "v1-bad-byte",
            V1EmptyField => "v1-empty-field",
            V1Protocol => "v1-protocol",
            V1MissingField => "v1-missing-field",
            V1ExtraField => "v1-extra-field",
            V1TrailingSpace => "v1-trailing-space",
            V1Address(..) => "v1-address",
            V1FamilyMismatch(_) => "v1-family-mismatch",
            V1ZoneId(_) => "v1-zone-id",
            V1Port(_) => "v1-port",
            V1PortSign(_) => "v1-port-sign",
            V1PortLeadingZero(_) => "v1-port-leading-zero",
            V1PortRange(_) => "v1-port-range",
            V2Signature => "v2-signature",
            V2Version(_) => "v2-version",
            V2Command(_) => "v2-command",
            V2Family(_) => "v2-family",
            V2Transport(_) => "v2-transport",
            V2LengthTooShort { .. } => "v2-length-too-short",
            TlvTruncated { .. } => "tlv-truncated",
            TlvOverrun { .. } => "tlv-overrun",
            CrcLength(_) => "crc32c-length",
            CrcMismatch { .. } => "crc32c-mismatch",
            UniqueIdTooLong(_) => "unique-id-too-long",
            AuthorityUtf8 => "authority-utf8",
            SslTooShort(_) => "ssl-too-short",
            SslSubTlvTruncated { .. } | SslSubTlvOverrun { .. } => "ssl-sub-tlv",
            Truncated { .. } => "truncated",
        }
    }

    /// The section of HAProxy's proxy-protocol.txt that states the rule.
    pub fn rule(&self) -> &'static str {
        use ErrorKind::*;
        match self {
            V1Signature | V1BadByte | V1EmptyField | V1Protocol | V1MissingField | V1ExtraField
            | V1TrailingSpace => "§2.1 (v1 line format)",
            V1TooLong => "§2.1 (107-byte limit)",
            V1BareLf | V1BareCr => "§2.1 (CRLF terminator)",
            V1Address(..) | V1FamilyMismatch(_) | V1ZoneId(_) => "§2.1 (address format)",
            V1Port(_) | V1PortSign(_) | V1PortLeadingZero(_) | V1PortRange(_) => {
                "§2.1 (port format)"
            }
            V2Signature => "§2.2 (signature)",
            V2Version(_) => "§2.2 (version nibble)",
            V2Command(_) => "§2.2 (command nibble)",
            V2Family(_) | V2Transport(_) => "§2.2 (family and transport byte)",
            V2LengthTooShort { .. } => "§2.2 (len and address block)",
            TlvTruncated { .. } | TlvOverrun { .. } => "§2.2 (TLV format)",
            CrcLength(_) | CrcMismatch { .. } => "§2.2.3 (PP2_TYPE_CRC32C)",
            UniqueIdTooLong(_) => "§2.2.5 (PP2_TYPE_UNIQUE_ID)",
            AuthorityUtf8 => "§2.2.2 (PP2_TYPE_AUTHORITY)",
            SslTooShort(_) | SslSubTlvTruncated { .. } | SslSubTlvOverrun { .. } => {
                "§2.2.6 (PP2_TYPE_SSL)"
            }
            Truncated { .. } => "§2 (partial headers must be rejected)",
        }
    }

    /// One line telling the sender what to change.
    pub fn hint(&self) -> &'static str {
        use ErrorKind::*;
        match self {
            V1Signature => "start the line with \"PROXY \" exactly (case-sensitive, one space)",
            V1TooLong => "end the line with \\r\\n within 107 bytes; long UNKNOWN lines may be shortened to \"PROXY UNKNOWN\\r\\n\"",
            V1BareLf => "terminate the line with \\r\\n (printf 'PROXY ...\\r\\n'), not just \\n",
            V1BareCr => "a CR may only appear as part of the final \\r\\n",
            V1BadByte => "v1 is US-ASCII text; check that binary or UTF-8 bytes were not mixed in",
            V1EmptyField => "separate fields with exactly one space",
            V1Protocol => "use TCP4, TCP6 or UNKNOWN; UDP and UNIX need a v2 header",
            V1MissingField => "write PROXY TCP4 <src> <dst> <sport> <dport>\\r\\n",
            V1ExtraField => "remove whatever follows the destination port; the line ends with \\r\\n",
            V1TrailingSpace => "remove the space before \\r\\n",
            V1Address(_, fault) => fault.hint(),
            V1FamilyMismatch(_) => "use TCP6 for IPv6 addresses and TCP4 for IPv4; map IPv4 as ::ffff:a.b.c.d in TCP6",
            V1ZoneId(_) => "drop the %zone suffix from the IPv6 address",
            V1Port(_) => "write the port as decimal digits 0-65535",
            V1PortSign(_) => "remove the + or - sign from the port",
            V1PortLeadingZero(_) => "write the port without leading zeros (80, not 080)",
            V1PortRange(_) => "ports go from 0 to 65535",
            V2Signature => "send the exact 12-byte signature 0D 0A 0D 0A 00 0D 0A 51 55 49 54 0A",
            V2Version(_) => "set the high nibble of byte 12 to 2 (0x20 LOCAL, 0x21 PROXY)",
            V2Command(_) => "set the low nibble of byte 12 to 0 (LOCAL) or 1 (PROXY)",
            V2Family(_) | V2Transport(_) => "use one of 0x00, 0x11, 0x12, 0x21, 0x22, 0x31, 0x32 for byte 13",
            V2LengthTooShort { .. } => "set len to the address block size (12 IPv4, 36 IPv6, 216 UNIX) plus the TLVs",
            TlvTruncated { .. } => "make len end exactly after the last TLV, or pad with a NOOP TLV of 3+ bytes",
            TlvOverrun { .. } => "make each TLV's length match its value, and len cover all TLVs",
            CrcLength(_) => "a CRC32C TLV carries exactly 4 bytes",
            CrcMismatch { .. } => "compute CRC-32C (Castagnoli) over the whole header with the 4 CRC bytes zeroed, and store it big-endian",
            UniqueIdTooLong(_) => "shorten UNIQUE_ID to 128 bytes or fewer",
            AuthorityUtf8 => "send the host name (SNI) as UTF-8",
            SslTooShort(_) => "the SSL TLV starts with client (1 byte) and verify (4 bytes)",
            SslSubTlvTruncated { .. } | SslSubTlvOverrun { .. } => "each SSL sub-TLV needs a 3-byte header and a value that fits in the SSL TLV",
            Truncated { .. } => "send the whole header in one write, before any payload",
        }
    }
}

/// "1 byte", "2 bytes".
struct Bytes(u32);

impl std::fmt::Display for Bytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.0 == 1 {
            f.write_str("1 byte")
        } else {
            write!(f, "{} bytes", self.0)
        }
    }
}

/// What exactly is wrong with a v1 address field (`v1-address`). Octet and
/// group numbers count from 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AddressFault {
    /// A character no address of this protocol contains.
    BadChar(u8),
    /// `[::1]`: v1 writes IPv6 without brackets.
    Brackets,
    /// `1.2.3.4:80`: a port glued to the address.
    PortInAddress,
    /// Not four dotted octets (the count found).
    OctetCount(u8),
    /// `1..2.3`: an octet with no digits.
    EmptyOctet(u8),
    /// `01.2.3.4`: a leading zero (octal in some parsers).
    LeadingZero(u8),
    /// `256.1.1.1`.
    OctetOver255(u8),
    /// IPv6 text (or something with colons) under TCP4.
    ColonUnderTcp4,
    /// Dotted IPv4 text, not valid, under TCP6 (valid IPv4 there is
    /// `v1-family-mismatch`).
    Ipv4UnderTcp6,
    /// `1::2::3`.
    TwoDoubleColons,
    /// `:::`, or a single colon at either end.
    EmptyGroup,
    /// A group of five or more hex digits.
    GroupTooLong(u8),
    /// Not eight groups (the count found; an embedded IPv4 counts as two).
    GroupCount(u8),
    /// Something else (never expected; kept so the type is total).
    Other,
}

impl std::fmt::Display for AddressFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use AddressFault::*;
        match *self {
            BadChar(c) if c.is_ascii_graphic() => {
                write!(f, "the character '{}' is not allowed in it", c as char)
            }
            BadChar(c) => write!(f, "byte {c:#04x} is not allowed in it"),
            Brackets => f.write_str("it is in brackets; v1 writes IPv6 without [ ]"),
            PortInAddress => {
                f.write_str("a port is glued to it with ':'; the port is its own field")
            }
            OctetCount(n) => write!(f, "it has {n} dotted octet(s); IPv4 needs exactly 4"),
            EmptyOctet(i) => write!(f, "octet {i} is empty"),
            LeadingZero(i) => write!(f, "octet {i} has a leading zero"),
            OctetOver255(i) => write!(f, "octet {i} is over 255"),
            ColonUnderTcp4 => f.write_str("it contains ':' but TCP4 takes dotted IPv4 only"),
            Ipv4UnderTcp6 => f.write_str("it is (broken) IPv4 text but the protocol is TCP6"),
            TwoDoubleColons => {
                f.write_str("it has two \"::\"; only one run of zero groups may be compressed")
            }
            EmptyGroup => f.write_str("it has an empty group (\":::\" or a lone ':' at an end)"),
            GroupTooLong(i) => write!(f, "group {i} has more than 4 hex digits"),
            GroupCount(n) => write!(f, "it has {n} group(s); IPv6 has 8 (or fewer with \"::\")"),
            Other => f.write_str("it does not parse"),
        }
    }
}

impl AddressFault {
    /// One line telling the sender what to change.
    pub fn hint(self) -> &'static str {
        use AddressFault::*;
        match self {
            BadChar(_) | Other => "write the address as plain dotted IPv4 (TCP4) or RFC 4291 IPv6 text (TCP6)",
            Brackets => "drop the brackets: PROXY TCP6 2001:db8::1 2001:db8::2 ...",
            PortInAddress => "put the port in its own field: PROXY TCP4 <src> <dst> <sport> <dport>",
            OctetCount(_) | EmptyOctet(_) => "write four dotted decimal octets (192.0.2.1)",
            LeadingZero(_) => "write octets without leading zeros (10.0.0.1, not 010.000.000.001)",
            OctetOver255(_) => "each IPv4 octet goes from 0 to 255",
            ColonUnderTcp4 => "use TCP6 for IPv6 addresses, and dotted IPv4 with TCP4",
            Ipv4UnderTcp6 => "use TCP4 for IPv4 addresses, or write them as ::ffff:a.b.c.d under TCP6",
            TwoDoubleColons | EmptyGroup | GroupCount(_) => "write 8 colon-separated groups, compressing one run of zeros with \"::\" (2001:db8::1)",
            GroupTooLong(_) => "each IPv6 group is 1 to 4 hex digits",
        }
    }
}
