//! Deliberately malformed headers, to test how receivers cope. Each fault
//! starts from a valid encoded header and breaks exactly one rule.

use thiserror::Error as ThisError;

use super::{decode, tlv, Decoded, Family, Version, V2_PREFIX_LEN};

/// One way to break a header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Corruption {
    /// v1: `PROXZ`; v2: last signature byte 0x0A -> 0x0B.
    Signature,
    /// v2: version nibble 1 instead of 2.
    Version,
    /// v2: command nibble 2 (neither LOCAL nor PROXY).
    Command,
    /// v2: family nibble 4; v1: TCP4 and TCP6 swapped (family/address mismatch).
    Family,
    /// v2: `len` one byte shorter than the address block needs.
    LengthShort,
    /// v2: `len` 16 bytes longer than what is sent (the receiver waits).
    LengthLong,
    /// v2: a wrong CRC32C value (the header gets a CRC32C TLV if it has none).
    Crc,
    /// v2: a last TLV that declares more bytes than the header holds.
    TlvOverrun,
    /// v1: the source port written with a leading zero.
    V1LeadingZero,
    /// v1: the line ends with a bare LF.
    V1LfOnly,
    /// Either: only the first half of the header.
    Truncate,
}

impl Corruption {
    /// Every fault, in the order `--help` lists them.
    pub const ALL: [Corruption; 11] = [
        Corruption::Signature,
        Corruption::Version,
        Corruption::Command,
        Corruption::Family,
        Corruption::LengthShort,
        Corruption::LengthLong,
        Corruption::Crc,
        Corruption::TlvOverrun,
        Corruption::V1LeadingZero,
        Corruption::V1LfOnly,
        Corruption::Truncate,
    ];

    /// What the fault does, in one line (for `--help`).
    pub fn describe(self) -> &'static str {
        match self {
            Corruption::Signature => "v1: `PROXZ`; v2: last signature byte 0x0A -> 0x0B",
            Corruption::Version => "v2: version nibble 1 instead of 2",
            Corruption::Command => "v2: command nibble 2 (neither LOCAL nor PROXY)",
            Corruption::Family => "v2: family nibble 4; v1: TCP4 and TCP6 swapped",
            Corruption::LengthShort => "v2: `len` one byte shorter than the address block needs",
            Corruption::LengthLong => {
                "v2: `len` 16 bytes longer than what is sent (the receiver waits)"
            }
            Corruption::Crc => "v2: a wrong CRC32C value (a CRC32C TLV is added if there is none)",
            Corruption::TlvOverrun => {
                "v2: a last TLV that declares more bytes than the header holds"
            }
            Corruption::V1LeadingZero => "v1: the source port written with a leading zero",
            Corruption::V1LfOnly => "v1: the line ends with a bare LF",
            Corruption::Truncate => "either: only the first half of the header",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Corruption::Signature => "signature",
            Corruption::Version => "version",
            Corruption::Command => "command",
            Corruption::Family => "family",
            Corruption::LengthShort => "length-short",
            Corruption::LengthLong => "length-long",
            Corruption::Crc => "crc",
            Corruption::TlvOverrun => "tlv-overrun",
            Corruption::V1LeadingZero => "v1-leading-zero",
            Corruption::V1LfOnly => "v1-lf-only",
            Corruption::Truncate => "truncate",
        }
    }

    /// The versions this fault applies to.
    pub fn applies_to(self, version: Version) -> bool {
        use Corruption::*;
        match self {
            Signature | Family | Truncate => true,
            Version | Command | LengthShort | LengthLong | Crc | TlvOverrun => {
                version == super::Version::V2
            }
            V1LeadingZero | V1LfOnly => version == super::Version::V1,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, ThisError)]
pub enum CorruptError {
    #[error("--corrupt {0} applies only to v{1} headers; add -{1}")]
    WrongVersion(&'static str, u8),
    #[error("--corrupt {0} needs {1}")]
    NotPossible(&'static str, &'static str),
    #[error("the header to corrupt is not valid to begin with")]
    NotValid,
}

/// Return a copy of the valid `header` with `c` applied.
pub fn corrupt(header: &[u8], c: Corruption) -> Result<Vec<u8>, CorruptError> {
    let h = match decode(header) {
        Decoded::Complete(h) => h,
        _ => return Err(CorruptError::NotValid),
    };
    if !c.applies_to(h.version) {
        let other = if h.version == Version::V1 { 2 } else { 1 };
        return Err(CorruptError::WrongVersion(c.name(), other));
    }
    let mut out = h.raw.to_vec();
    let set_len = |out: &mut Vec<u8>, len: usize| {
        let len = len.min(usize::from(u16::MAX)) as u16;
        out[14..16].copy_from_slice(&len.to_be_bytes());
    };
    let len = out.len().saturating_sub(V2_PREFIX_LEN);
    match (c, h.version) {
        (Corruption::Signature, Version::V1) => out[4] = b'Z',
        (Corruption::Signature, Version::V2) => out[11] = 0x0B,
        (Corruption::Version, _) => out[12] = 0x10 | (out[12] & 0x0F),
        (Corruption::Command, _) => out[12] = 0x22,
        (Corruption::Family, Version::V2) => out[13] = 0x40 | (out[13] & 0x0F),
        (Corruption::Family, Version::V1) => {
            let at = 6;
            match &out[at..at + 4] {
                b"TCP4" => out[at + 3] = b'6',
                b"TCP6" => out[at + 3] = b'4',
                _ => return Err(CorruptError::NotPossible(c.name(), "a TCP4 or TCP6 line")),
            }
        }
        (Corruption::LengthShort, _) => {
            let block = h.family.block_len();
            if h.family != Family::Unspec && block > 0 {
                set_len(&mut out, block - 1);
            } else if len > 0 {
                set_len(&mut out, len - 1);
            } else {
                return Err(CorruptError::NotPossible(
                    c.name(),
                    "an address family or a TLV (use --src/--dst)",
                ));
            }
        }
        (Corruption::LengthLong, _) => set_len(&mut out, len + 16),
        (Corruption::Crc, _) => {
            let crc = h.tlvs().find(|t| t.kind == tlv::CRC32C);
            match crc {
                Some(t) => out[t.value_offset() + 3] ^= 0x01,
                None => {
                    return Err(CorruptError::NotPossible(
                        c.name(),
                        "a CRC32C TLV (add --crc32c)",
                    ))
                }
            }
        }
        (Corruption::TlvOverrun, _) => {
            out.extend_from_slice(&[tlv::AUTHORITY, 0x00, 0x10, b'a', b'b', b'c']);
            set_len(&mut out, len + 6);
        }
        (Corruption::V1LeadingZero, _) => {
            // The source port is the 5th space-separated field.
            let at = match out.iter().enumerate().filter(|(_, &b)| b == b' ').nth(3) {
                Some((i, _)) if h.family != Family::Unspec => i + 1,
                _ => return Err(CorruptError::NotPossible(c.name(), "a TCP4 or TCP6 line")),
            };
            out.insert(at, b'0');
        }
        (Corruption::V1LfOnly, _) => {
            let n = out.len();
            out.remove(n - 2);
        }
        (Corruption::Truncate, _) => out.truncate((out.len() / 2).max(1)),
    }
    Ok(out)
}
