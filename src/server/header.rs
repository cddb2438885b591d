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
    /// The TLVs' types, in wire order.
    pub tlvs: TlvKinds,
}

/// The types of a header's TLVs, in wire order. The first few are kept in
/// place: a capture makes these facts for every header it sees, and a
/// list of names allocated for each was a measurable part of a flow's cost.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct TlvKinds {
    first: [u8; TLV_KINDS_IN_PLACE],
    len: u8,
    /// The types after the first [`TLV_KINDS_IN_PLACE`] (a header may hold
    /// many TLVs; few do).
    rest: Vec<u8>,
}

/// How many TLV types [`TlvKinds`] keeps without allocating.
const TLV_KINDS_IN_PLACE: usize = 15;

impl TlvKinds {
    pub(crate) fn push(&mut self, kind: u8) {
        match self.first.get_mut(usize::from(self.len)) {
            Some(slot) => {
                *slot = kind;
                self.len += 1;
            }
            None => self.rest.push(kind),
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The TLVs' names (the codec's: `ALPN`, `SSL`, `CUSTOM`...).
    pub(crate) fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.first[..usize::from(self.len)]
            .iter()
            .chain(&self.rest)
            .map(|&kind| codec::tlv::name(kind))
    }
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
            tlvs: {
                let mut kinds = TlvKinds::default();
                h.tlvs().for_each(|t| kinds.push(t.kind));
                kinds
            },
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Past the types kept in place, the rest still come in wire order.
    #[test]
    fn tlv_kinds_keep_wire_order_past_those_in_place() {
        let mut kinds = TlvKinds::default();
        assert!(kinds.is_empty());
        let wire: Vec<u8> = (0..40).map(|i| [0x01, 0x20, 0x05, 0xE3][i % 4]).collect();
        wire.iter().for_each(|&k| kinds.push(k));
        assert!(!kinds.is_empty());
        let want: Vec<&str> = wire.iter().map(|&k| codec::tlv::name(k)).collect();
        assert_eq!(kinds.names().collect::<Vec<_>>(), want);
    }
}
