//! Things the spec allows but that bite in practice (protocol.md §1.6).
//! Stored as a bit set so decoding never allocates.

/// One warning about a header that is valid per the spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Warning {
    UnknownWithTrailingData,
    ProxyWithUnspec,
    LocalWithAddressBlock,
    StackedHeader,
    MayBeSplit,
    UnlistedFamilyByte,
    DuplicateTlv,
    AuthorityOver255,
    TlvOver1024,
    LargerThan4096,
    SslVerifyWithoutCert,
    SslWithoutVersion,
    NonCanonicalIpv6,
    LocalWithTlvs,
    AwsVpceIdChars,
    VendorTlvLength,
    UnspecBlockDiscarded,
}

impl Warning {
    pub const ALL: [Warning; 17] = [
        Warning::UnknownWithTrailingData,
        Warning::ProxyWithUnspec,
        Warning::LocalWithAddressBlock,
        Warning::StackedHeader,
        Warning::MayBeSplit,
        Warning::UnlistedFamilyByte,
        Warning::DuplicateTlv,
        Warning::AuthorityOver255,
        Warning::TlvOver1024,
        Warning::LargerThan4096,
        Warning::SslVerifyWithoutCert,
        Warning::SslWithoutVersion,
        Warning::NonCanonicalIpv6,
        Warning::LocalWithTlvs,
        Warning::AwsVpceIdChars,
        Warning::VendorTlvLength,
        Warning::UnspecBlockDiscarded,
    ];

    /// Stable identifier for JSON.
    pub fn code(self) -> &'static str {
        match self {
            Warning::UnknownWithTrailingData => "unknown-with-trailing-data",
            Warning::ProxyWithUnspec => "proxy-with-unspec",
            Warning::LocalWithAddressBlock => "local-with-address-block",
            Warning::StackedHeader => "stacked-header",
            Warning::MayBeSplit => "may-be-split",
            Warning::UnlistedFamilyByte => "unlisted-family-byte",
            Warning::DuplicateTlv => "duplicate-tlv",
            Warning::AuthorityOver255 => "authority-over-255",
            Warning::TlvOver1024 => "tlv-over-1024",
            Warning::LargerThan4096 => "larger-than-4096",
            Warning::SslVerifyWithoutCert => "ssl-verify-without-cert",
            Warning::SslWithoutVersion => "ssl-without-version",
            Warning::NonCanonicalIpv6 => "non-canonical-ipv6",
            Warning::LocalWithTlvs => "local-with-tlvs",
            Warning::AwsVpceIdChars => "aws-vpce-id-chars",
            Warning::VendorTlvLength => "vendor-tlv-length",
            Warning::UnspecBlockDiscarded => "unspec-block-discarded",
        }
    }

    /// What it means and who it bites.
    pub fn message(self) -> &'static str {
        match self {
            Warning::UnknownWithTrailingData => "UNKNOWN line carries data after the protocol word: legal (§2.1), but HAProxy accepts only the short \"PROXY UNKNOWN\\r\\n\" (PRX_BAD_PROTO)",
            Warning::ProxyWithUnspec => "PROXY command with AF_UNSPEC: the receiver may use the real endpoints or reject (§2.2); HAProxy and go-proxyproto reject it",
            Warning::LocalWithAddressBlock => "LOCAL header carries an address block: receivers must ignore it, and disagree where TLVs start (HAProxy >= 3.0 reads TLVs from byte 16)",
            Warning::StackedHeader => "a second PROXY header follows right behind this one (e.g. an AWS NLB in front of a client that sent its own); receivers will treat it as payload",
            Warning::MayBeSplit => "header is larger than 536 bytes and may be split across TCP segments; HAProxy rejects a header that is not complete in the first read",
            Warning::UnlistedFamilyByte => "family/transport byte is nibble-valid but not one of the 7 listed values (0x00, 0x11, 0x12, 0x21, 0x22, 0x31, 0x32); go-proxyproto rejects it",
            Warning::DuplicateTlv => "the same TLV type appears more than once; HAProxy keeps all, most receivers use the first or last",
            Warning::AuthorityOver255 => "AUTHORITY is longer than 255 bytes; HAProxy rejects it",
            Warning::TlvOver1024 => "a TLV value is longer than 1024 bytes; HAProxy refuses the connection",
            Warning::LargerThan4096 => "header is larger than 4096 bytes, go-proxyproto's default MaxV2HeaderSize",
            Warning::SslVerifyWithoutCert => "SSL verify is non-zero but no client-certificate bit is set",
            Warning::SslWithoutVersion => "SSL TLV has CLIENT_SSL set but no SSL_VERSION sub-TLV; go-proxyproto treats it as malformed",
            Warning::NonCanonicalIpv6 => "IPv6 text is not in canonical (RFC 5952) form; strict receivers or log parsers may differ",
            Warning::LocalWithTlvs => "LOCAL header carries TLVs; some receivers (Dovecot before its fix) mishandle the extra bytes",
            Warning::AwsVpceIdChars => "AWS VPC endpoint id has characters outside [A-Za-z0-9-]; go-proxyproto rejects it",
            Warning::VendorTlvLength => "vendor TLV has an unexpected length for its known layout (Azure: 5, GCP: 8)",
            Warning::UnspecBlockDiscarded => "family UNSPEC, yet len covers bytes that are not TLVs (an address block): they were skipped as the protocol block the spec says to discard; HAProxy 3.0 and later parse them as TLVs from byte 16 and refuse the header (\"Received an invalid PROXY protocol header\"); nginx and netty skip them, and so does go-proxyproto for LOCAL (it refuses PROXY with UNSPEC)",
        }
    }
}

/// A set of warnings.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Warnings(u32);

impl Warnings {
    pub fn insert(&mut self, w: Warning) {
        self.0 |= 1 << (w as u8);
    }

    pub fn contains(&self, w: Warning) -> bool {
        self.0 & (1 << (w as u8)) != 0
    }

    pub fn is_empty(&self) -> bool {
        self.0 == 0
    }

    pub fn len(&self) -> usize {
        self.0.count_ones() as usize
    }

    pub fn iter(&self) -> impl Iterator<Item = Warning> + '_ {
        Warning::ALL.into_iter().filter(|w| self.contains(*w))
    }
}
