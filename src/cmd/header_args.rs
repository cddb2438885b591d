//! The header options `send` and `relay` share (`--like`, the TLV flags):
//! one clap struct, flattened into both, and one way to turn it into a
//! [`HeaderPlan`].

use super::values::Choice;
use crate::codec::{tlv, Version};
use crate::send::header::{parse_tlv, ssl_tlv};
use crate::send::{HeaderPlan, Preset};

#[derive(Debug, Clone, Default, clap::Args)]
pub struct HeaderArgs {
    /// Send what a real emitter sends (see docs/presets.md).
    #[arg(long, value_name = "EMITTER", value_parser = Choice::new(&Preset::ALL, Preset::name, Preset::describe), help_heading = "Header")]
    pub(crate) like: Option<Preset>,

    /// A TLV: TYPE is a number (0xEA, 234) or a name (AUTHORITY); VALUE is
    /// hex after 0x, else text. Repeatable.
    #[arg(long = "tlv", value_name = "TYPE=VALUE", value_parser = parse_tlv, help_heading = "TLVs (v2)")]
    pub(crate) tlvs: Vec<(u8, Vec<u8>)>,
    /// ALPN TLV (e.g. h2).
    #[arg(long, help_heading = "TLVs (v2)")]
    pub(crate) alpn: Option<String>,
    /// AUTHORITY TLV (the SNI host name).
    #[arg(long, help_heading = "TLVs (v2)")]
    pub(crate) authority: Option<String>,
    /// UNIQUE_ID TLV (at most 128 bytes).
    #[arg(long, help_heading = "TLVs (v2)")]
    pub(crate) unique_id: Option<String>,
    /// NOOP TLV with N bytes of padding.
    #[arg(long, value_name = "N", help_heading = "TLVs (v2)")]
    pub(crate) noop: Option<u16>,
    /// CRC32C TLV, computed over the header.
    #[arg(long, help_heading = "TLVs (v2)")]
    pub(crate) crc32c: bool,
    /// SSL TLV with this SSL_VERSION sub-TLV (e.g. TLSv1.3).
    #[arg(long, value_name = "TEXT", help_heading = "TLVs (v2)")]
    pub(crate) ssl_version: Option<String>,
    /// SSL TLV with this client-certificate CN (sets the certificate bits).
    #[arg(long, value_name = "TEXT", help_heading = "TLVs (v2)")]
    pub(crate) ssl_cn: Option<String>,
    /// SSL TLV with this SSL_CIPHER sub-TLV.
    #[arg(long, value_name = "TEXT", help_heading = "TLVs (v2)")]
    pub(crate) ssl_cipher: Option<String>,
    /// SSL TLV `verify` field (0 = client certificate verified).
    #[arg(long, value_name = "N", help_heading = "TLVs (v2)")]
    pub(crate) ssl_verify: Option<u32>,
    /// NETNS TLV (network namespace name).
    #[arg(long, value_name = "NAME", help_heading = "TLVs (v2)")]
    pub(crate) netns: Option<String>,
    /// AWS TLV (0xEA), subtype 0x01: VPC endpoint id (vpce-...).
    #[arg(long, value_name = "ID", help_heading = "TLVs (v2)")]
    pub(crate) aws_vpce_id: Option<String>,
    /// Azure TLV (0xEE), subtype 0x01: private endpoint LINKID.
    #[arg(long, value_name = "N", help_heading = "TLVs (v2)")]
    pub(crate) azure_link_id: Option<u32>,
    /// GCP TLV (0xE0): Private Service Connect connection id.
    #[arg(long, value_name = "N", help_heading = "TLVs (v2)")]
    pub(crate) gcp_psc_id: Option<u64>,
}

impl HeaderArgs {
    /// The TLV flags, in HAProxy's order: --tlv ones, CRC32C, ALPN,
    /// AUTHORITY, UNIQUE_ID, SSL, NETNS, AWS, AZURE, GCP, NOOP.
    pub(crate) fn tlvs(&self) -> Vec<(u8, Vec<u8>)> {
        let text = |k: u8, v: &Option<String>| v.as_ref().map(|v| (k, v.as_bytes().to_vec()));
        let ssl = (self.ssl_version.is_some()
            || self.ssl_cn.is_some()
            || self.ssl_cipher.is_some()
            || self.ssl_verify.is_some())
        .then(|| {
            let v = ssl_tlv(
                self.ssl_version.as_deref(),
                self.ssl_cn.as_deref(),
                self.ssl_cipher.as_deref(),
                self.ssl_verify.unwrap_or(0),
            );
            (tlv::SSL, v)
        });
        let mut out: Vec<(u8, Vec<u8>)> = self.tlvs.clone();
        out.extend(
            [
                self.crc32c.then(|| (tlv::CRC32C, Vec::new())),
                text(tlv::ALPN, &self.alpn),
                text(tlv::AUTHORITY, &self.authority),
                text(tlv::UNIQUE_ID, &self.unique_id),
                ssl,
                text(tlv::NETNS, &self.netns),
                self.aws_vpce_id
                    .as_deref()
                    .map(|id| (tlv::AWS, crate::codec::encode::aws_vpce_value(id))),
                self.azure_link_id
                    .map(|id| (tlv::AZURE, crate::codec::encode::azure_link_value(id))),
                self.gcp_psc_id
                    .map(|id| (tlv::GCP, crate::codec::encode::gcp_psc_value(id))),
                self.noop.map(|n| (tlv::NOOP, vec![0; usize::from(n)])),
            ]
            .into_iter()
            .flatten(),
        );
        out
    }

    /// The header these options describe: the `--like` preset's, or a
    /// plain PROXY header of `version` with the socket's addresses; then
    /// the TLV flags (a preset's own CRC32C or Azure TLV is not doubled).
    pub(crate) fn plan(&self, version: Version) -> HeaderPlan {
        let mut header = match self.like {
            Some(preset) => preset.plan(self.azure_link_id),
            None => HeaderPlan::new(version),
        };
        for (kind, value) in self.tlvs() {
            let preset_has_it = matches!(kind, tlv::CRC32C | tlv::AZURE)
                && header.tlvs.iter().any(|(k, _)| *k == kind);
            if !preset_has_it {
                header.tlvs.push((kind, value));
            }
        }
        header
    }
}
