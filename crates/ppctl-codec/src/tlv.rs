//! TLVs (§2.2.1-§2.2.8): a borrowed walker that reports offsets, the name
//! table, per-type checks, and readable values for standard and vendor types.

use std::fmt;

use super::{crc, Error, ErrorKind, Warning, Warnings};

pub const ALPN: u8 = 0x01;
pub const AUTHORITY: u8 = 0x02;
pub const CRC32C: u8 = 0x03;
pub const NOOP: u8 = 0x04;
pub const UNIQUE_ID: u8 = 0x05;
pub const SSL: u8 = 0x20;
pub const SSL_VERSION: u8 = 0x21;
pub const SSL_CN: u8 = 0x22;
pub const SSL_CIPHER: u8 = 0x23;
pub const SSL_SIG_ALG: u8 = 0x24;
pub const SSL_KEY_ALG: u8 = 0x25;
pub const SSL_GROUP: u8 = 0x26;
pub const SSL_SIG_SCHEME: u8 = 0x27;
pub const SSL_CLIENT_CERT: u8 = 0x28;
pub const NETNS: u8 = 0x30;
/// Google Cloud Private Service Connect connection id (u64 big-endian).
pub const GCP: u8 = 0xE0;
/// Alibaba Cloud PrivateLink: subtype + id string.
pub const ALIBABA: u8 = 0xE1;
/// AWS: subtype 0x01 = VPC endpoint id.
pub const AWS: u8 = 0xEA;
/// Azure Private Link: subtype 0x01 + LINKID (u32 little-endian).
pub const AZURE: u8 = 0xEE;

/// SSL `client` bits (§2.2.6).
pub const CLIENT_SSL: u8 = 0x01;
pub const CLIENT_CERT_CONN: u8 = 0x02;
pub const CLIENT_CERT_SESS: u8 = 0x04;

/// The longest UNIQUE_ID the spec allows (§2.2.5).
pub const UNIQUE_ID_MAX: usize = 128;

/// Name of a TLV type: the spec's PP2_TYPE_/PP2_SUBTYPE_ names without the
/// prefix, vendor names for the known custom types, or the range.
pub fn name(kind: u8) -> &'static str {
    match kind {
        ALPN => "ALPN",
        AUTHORITY => "AUTHORITY",
        CRC32C => "CRC32C",
        NOOP => "NOOP",
        UNIQUE_ID => "UNIQUE_ID",
        SSL => "SSL",
        SSL_VERSION => "SSL_VERSION",
        SSL_CN => "SSL_CN",
        SSL_CIPHER => "SSL_CIPHER",
        SSL_SIG_ALG => "SSL_SIG_ALG",
        SSL_KEY_ALG => "SSL_KEY_ALG",
        SSL_GROUP => "SSL_GROUP",
        SSL_SIG_SCHEME => "SSL_SIG_SCHEME",
        SSL_CLIENT_CERT => "SSL_CLIENT_CERT",
        NETNS => "NETNS",
        GCP => "GCP_PSC_CONNECTION_ID",
        ALIBABA => "ALIBABA_PRIVATELINK",
        AWS => "AWS",
        AZURE => "AZURE",
        0xE2..=0xEF => "CUSTOM",
        0xF0..=0xF7 => "EXPERIMENT",
        0xF8..=0xFF => "FUTURE",
        _ => "UNASSIGNED",
    }
}

/// One TLV, borrowed from the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tlv<'a> {
    pub kind: u8,
    /// Offset of the type byte from the start of the header.
    pub offset: usize,
    pub value: &'a [u8],
}

impl<'a> Tlv<'a> {
    pub fn name(&self) -> &'static str {
        name(self.kind)
    }

    /// Offset of the first value byte from the start of the header.
    pub fn value_offset(&self) -> usize {
        self.offset + 3
    }

    /// A readable form of the value.
    pub fn decoded(&self) -> Value<'a> {
        Value::of(self.kind, self.value)
    }
}

/// Walks a TLV area. Yields an error (once) where the area is malformed.
#[derive(Debug, Clone)]
pub struct Tlvs<'a> {
    bytes: &'a [u8],
    pos: usize,
    base: usize,
    failed: bool,
}

impl<'a> Tlvs<'a> {
    /// `base` is the offset of `bytes` from the start of the header, so
    /// reported offsets are absolute.
    pub fn new(bytes: &'a [u8], base: usize) -> Self {
        Tlvs {
            bytes,
            pos: 0,
            base,
            failed: false,
        }
    }
}

impl<'a> Iterator for Tlvs<'a> {
    type Item = Result<Tlv<'a>, Error>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.pos >= self.bytes.len() {
            return None;
        }
        let rest = &self.bytes[self.pos..];
        let at = self.base + self.pos;
        if rest.len() < 3 {
            self.failed = true;
            let left = rest.len() as u16;
            return Some(Err(Error::new(ErrorKind::TlvTruncated { left }, at)));
        }
        let kind = rest[0];
        let len = u16::from_be_bytes([rest[1], rest[2]]);
        let available = rest.len() - 3;
        if usize::from(len) > available {
            self.failed = true;
            return Some(Err(Error::new(
                ErrorKind::TlvOverrun {
                    tlv_type: kind,
                    declared: len,
                    available: available.min(u16::MAX as usize) as u16,
                },
                at,
            )));
        }
        self.pos += 3 + usize::from(len);
        Some(Ok(Tlv {
            kind,
            offset: at,
            value: &rest[3..3 + usize::from(len)],
        }))
    }
}

/// The TLVs of an area `check` validated, without a `Result` per TLV: it
/// stops at the first malformed TLV, as `Tlvs` flattened does.
#[derive(Debug, Clone)]
pub(crate) struct Walk<'a> {
    bytes: &'a [u8],
    pos: usize,
    base: usize,
}

impl<'a> Walk<'a> {
    #[inline]
    pub(crate) fn new(bytes: &'a [u8], base: usize) -> Self {
        Walk {
            bytes,
            pos: 0,
            base,
        }
    }
}

impl<'a> Iterator for Walk<'a> {
    type Item = Tlv<'a>;

    #[inline]
    fn next(&mut self) -> Option<Tlv<'a>> {
        let rest = self.bytes.get(self.pos..)?;
        let [kind, hi, lo, ..] = *rest else {
            return None;
        };
        let len = usize::from(u16::from_be_bytes([hi, lo]));
        let value = rest.get(3..3 + len)?;
        let offset = self.base + self.pos;
        self.pos += 3 + len;
        Some(Tlv {
            kind,
            offset,
            value,
        })
    }
}

/// What validating a header's TLV area found.
pub(super) struct Checked {
    pub crc32c: Option<u32>,
    pub warnings: Warnings,
}

/// Validate the TLV area of `header` starting at `start`: the walk must end
/// exactly at the end of the header, the per-type rules must hold, and any
/// CRC32C must match.
pub(super) fn check(header: &[u8], start: usize) -> Result<Checked, Error> {
    if start >= header.len() {
        // No TLVs: the common case for TCP headers.
        return Ok(Checked {
            crc32c: None,
            warnings: Warnings::default(),
        });
    }
    let mut warnings = Warnings::default();
    let mut seen = [0u64; 4];
    let mut crc32c = None;
    // The same walk as `Tlvs` (and the same errors), without building a
    // `Result` per TLV.
    let end = header.len();
    let mut at = start;
    while at < end {
        let available = end - at;
        if available < 3 {
            let left = available as u16;
            return Err(Error::new(ErrorKind::TlvTruncated { left }, at));
        }
        let kind = header[at];
        let declared = u16::from_be_bytes([header[at + 1], header[at + 2]]);
        let value_end = at + 3 + usize::from(declared);
        if value_end > end {
            return Err(Error::new(
                ErrorKind::TlvOverrun {
                    tlv_type: kind,
                    declared,
                    available: (available - 3).min(u16::MAX as usize) as u16,
                },
                at,
            ));
        }
        let tlv = Tlv {
            kind,
            offset: at,
            value: &header[at + 3..value_end],
        };
        at = value_end;
        let bit = 1u64 << (tlv.kind % 64);
        let slot = &mut seen[usize::from(tlv.kind / 64)];
        // NOOP may repeat, and so may zero padding (runs of 00 bytes read
        // as empty type-0x00 TLVs).
        if *slot & bit != 0 {
            let padding = tlv.kind == NOOP || (tlv.kind == 0 && tlv.value.is_empty());
            if !padding {
                warnings.insert(Warning::DuplicateTlv);
            }
        }
        *slot |= bit;
        let len = declared;
        if tlv.value.len() > 1024 {
            warnings.insert(Warning::TlvOver1024);
        }
        match tlv.kind {
            CRC32C => {
                if tlv.value.len() != 4 {
                    return Err(Error::new(ErrorKind::CrcLength(len), tlv.offset));
                }
                let stored =
                    u32::from_be_bytes([tlv.value[0], tlv.value[1], tlv.value[2], tlv.value[3]]);
                let computed = crc::checksum_zeroed(header, tlv.value_offset());
                if stored != computed {
                    return Err(Error::new(
                        ErrorKind::CrcMismatch { stored, computed },
                        tlv.value_offset(),
                    ));
                }
                crc32c = Some(stored);
            }
            UNIQUE_ID if tlv.value.len() > UNIQUE_ID_MAX => {
                return Err(Error::new(ErrorKind::UniqueIdTooLong(len), tlv.offset));
            }
            AUTHORITY => {
                // ASCII (the usual host name) is checked much faster.
                if !tlv.value.is_ascii() && std::str::from_utf8(tlv.value).is_err() {
                    return Err(Error::new(ErrorKind::AuthorityUtf8, tlv.value_offset()));
                }
                if tlv.value.len() > 255 {
                    warnings.insert(Warning::AuthorityOver255);
                }
            }
            SSL => check_ssl(&tlv, &mut warnings)?,
            AWS => {
                if let [0x01, id @ ..] = tlv.value {
                    if !id.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'-') {
                        warnings.insert(Warning::AwsVpceIdChars);
                    }
                }
            }
            AZURE if tlv.value.len() != 5 => warnings.insert(Warning::VendorTlvLength),
            GCP if tlv.value.len() != 8 => warnings.insert(Warning::VendorTlvLength),
            _ => {}
        }
    }
    Ok(Checked { crc32c, warnings })
}

fn check_ssl(tlv: &Tlv<'_>, warnings: &mut Warnings) -> Result<(), Error> {
    if tlv.value.len() < 5 {
        return Err(Error::new(
            ErrorKind::SslTooShort(tlv.value.len() as u16),
            tlv.offset,
        ));
    }
    let client = tlv.value[0];
    let verify = u32::from_be_bytes([tlv.value[1], tlv.value[2], tlv.value[3], tlv.value[4]]);
    let mut has_version = false;
    for sub in Tlvs::new(&tlv.value[5..], tlv.value_offset() + 5) {
        let sub = sub.map_err(|e| {
            let kind = match e.kind {
                ErrorKind::TlvOverrun {
                    tlv_type,
                    declared,
                    available,
                } => ErrorKind::SslSubTlvOverrun {
                    sub_type: tlv_type,
                    declared,
                    available,
                },
                ErrorKind::TlvTruncated { left } => ErrorKind::SslSubTlvTruncated { left },
                other => other,
            };
            Error::new(kind, e.offset)
        })?;
        has_version |= sub.kind == SSL_VERSION;
    }
    if client & CLIENT_SSL != 0 && !has_version {
        warnings.insert(Warning::SslWithoutVersion);
    }
    if verify != 0 && client & (CLIENT_CERT_CONN | CLIENT_CERT_SESS) == 0 {
        warnings.insert(Warning::SslVerifyWithoutCert);
    }
    Ok(())
}

/// A TLV value in readable form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Value<'a> {
    /// Printable text (ALPN, AUTHORITY, NETNS, SSL string sub-TLVs).
    Text(&'a str),
    /// Opaque bytes, shown as hex.
    Bytes(&'a [u8]),
    Crc32c(u32),
    Noop(usize),
    Ssl {
        client: u8,
        verify: u32,
        /// Sub-TLVs; walk them with [`Tlvs::new`] and `sub_offset`.
        subs: &'a [u8],
    },
    AwsVpceId(&'a str),
    AzureLinkId(u32),
    GcpPscId(u64),
    Alibaba {
        subtype: u8,
        id: &'a str,
    },
}

impl<'a> Value<'a> {
    pub fn of(kind: u8, value: &'a [u8]) -> Value<'a> {
        let text = || match std::str::from_utf8(value) {
            Ok(s) if !s.chars().any(char::is_control) => Value::Text(s),
            _ => Value::Bytes(value),
        };
        match (kind, value) {
            (CRC32C, [a, b, c, d]) => Value::Crc32c(u32::from_be_bytes([*a, *b, *c, *d])),
            (NOOP, _) => Value::Noop(value.len()),
            (
                ALPN | AUTHORITY | NETNS | SSL_VERSION | SSL_CN | SSL_CIPHER | SSL_SIG_ALG
                | SSL_KEY_ALG | SSL_GROUP | SSL_SIG_SCHEME,
                _,
            ) => text(),
            (SSL, [client, v0, v1, v2, v3, subs @ ..]) => Value::Ssl {
                client: *client,
                verify: u32::from_be_bytes([*v0, *v1, *v2, *v3]),
                subs,
            },
            (AWS, [0x01, id @ ..]) => match std::str::from_utf8(id) {
                Ok(s) => Value::AwsVpceId(s),
                Err(_) => Value::Bytes(value),
            },
            (AZURE, [0x01, a, b, c, d]) => Value::AzureLinkId(u32::from_le_bytes([*a, *b, *c, *d])),
            (GCP, [a, b, c, d, e, f, g, h]) => {
                Value::GcpPscId(u64::from_be_bytes([*a, *b, *c, *d, *e, *f, *g, *h]))
            }
            (ALIBABA, [subtype @ 0x01..=0x03, id @ ..]) => match std::str::from_utf8(id) {
                Ok(id) => Value::Alibaba {
                    subtype: *subtype,
                    id,
                },
                Err(_) => Value::Bytes(value),
            },
            _ => Value::Bytes(value),
        }
    }
}

/// Names of the SSL `client` bits that are set, e.g. "SSL|CERT_CONN".
pub fn client_bits(client: u8) -> String {
    let names: Vec<&str> = [
        (CLIENT_SSL, "SSL"),
        (CLIENT_CERT_CONN, "CERT_CONN"),
        (CLIENT_CERT_SESS, "CERT_SESS"),
    ]
    .iter()
    .filter(|(bit, _)| client & bit != 0)
    .map(|(_, n)| *n)
    .collect();
    if names.is_empty() {
        "none".to_string()
    } else {
        names.join("|")
    }
}

impl fmt::Display for Value<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Text(s) => write!(f, "{s}"),
            Value::Bytes(b) => write!(f, "0x{}", hex::encode(b)),
            Value::Crc32c(c) => write!(f, "{c:#010x}"),
            Value::Noop(n) => write!(f, "{n} byte(s) of padding"),
            Value::Ssl {
                client,
                verify,
                subs,
            } => {
                write!(f, "client={}", client_bits(*client))?;
                if client & (CLIENT_CERT_CONN | CLIENT_CERT_SESS) != 0 {
                    let verdict = if *verify == 0 {
                        "verified"
                    } else {
                        "NOT verified"
                    };
                    write!(f, " verify={verify} ({verdict})")?;
                } else {
                    write!(f, " (no client certificate)")?;
                }
                for sub in Tlvs::new(subs, 0).flatten() {
                    match sub.decoded() {
                        Value::Text(s) => write!(f, " {}={s}", name(sub.kind))?,
                        _ => write!(f, " {}=<{} bytes>", name(sub.kind), sub.value.len())?,
                    }
                }
                Ok(())
            }
            Value::AwsVpceId(id) => write!(f, "VPC endpoint id {id}"),
            Value::AzureLinkId(id) => write!(f, "private endpoint LINKID {id}"),
            Value::GcpPscId(id) => write!(f, "PSC connection id {id}"),
            Value::Alibaba { subtype, id } => {
                let what = match subtype {
                    0x01 => "VPC id",
                    0x02 => "endpoint id",
                    _ => "endpoint service id",
                };
                write!(f, "{what} {id}")
            }
        }
    }
}
