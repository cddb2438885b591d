//! A header as a server (or a capture) saw it: the bytes of the header
//! stage, and the plain facts of a valid header that a receiver acts on.
//! One type for listen, relay and pcap.

use std::net::SocketAddr;

use crate::codec::{self, Command, Decoded, Header, Version};

/// The facts of a valid header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HeaderFacts {
    pub version: Version,
    /// A LOCAL command (a health check).
    pub local: bool,
    /// Bytes the header uses.
    pub len: usize,
    /// The claimed ends (IP families only: none for LOCAL without
    /// addresses, UNKNOWN, UNSPEC, UNIX).
    pub source: Option<SocketAddr>,
    pub destination: Option<SocketAddr>,
    /// The protocol word (TCP4, UDP6, UNSPEC, UNKNOWN...).
    pub protocol: &'static str,
    /// TLV names, in wire order.
    pub tlvs: Vec<&'static str>,
}

impl HeaderFacts {
    pub(crate) fn of(h: &Header<'_>) -> Self {
        HeaderFacts {
            version: h.version,
            local: h.command == Command::Local,
            len: h.len(),
            source: h.source(),
            destination: h.destination(),
            protocol: h.protocol_name(),
            tlvs: h.tlvs().map(|t| t.name()).collect(),
        }
    }

    /// 1 or 2.
    pub(crate) fn number(&self) -> u8 {
        self.version.number()
    }
}

/// The bytes of the header stage and what they decode to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HeaderSeen {
    /// The header (for a valid one), or what arrived of it.
    pub bytes: Vec<u8>,
    /// The input ended with these bytes (a close, a timeout, a datagram):
    /// decoded with `decode_final`, so a partial header reads as truncated.
    pub at_end: bool,
    /// Set when the bytes start with a valid header.
    pub valid: Option<HeaderFacts>,
}

impl HeaderSeen {
    /// A header the header stage has already decoded into `facts`: not
    /// decoded again (it is, at most, once more for a report's full view).
    pub(crate) fn of_valid(bytes: &[u8], facts: HeaderFacts) -> Self {
        HeaderSeen {
            bytes: bytes[..facts.len].to_vec(),
            at_end: false,
            valid: Some(facts),
        }
    }

    pub(crate) fn new(bytes: &[u8], at_end: bool) -> Self {
        let mut seen = HeaderSeen {
            bytes: bytes.to_vec(),
            at_end,
            valid: None,
        };
        if let Decoded::Complete(h) = seen.decode() {
            seen.valid = Some(HeaderFacts::of(&h));
        }
        seen
    }

    /// The codec's reading of the bytes (for the report's header view).
    pub(crate) fn decode(&self) -> Decoded<'_> {
        if self.at_end {
            codec::decode_final(&self.bytes)
        } else {
            codec::decode(&self.bytes)
        }
    }
}
