//! `--like`: send what a real emitter sends (docs/presets.md,
//! protocol.md §5.3). Each preset sets the version, the command, the
//! addresses and the TLVs; TLV flags given with it are added.

use super::header::{AddressPlan, HeaderPlan};
use crate::codec::{tlv, Command, Transport, Version};

/// A real sender to imitate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Preset {
    /// AWS Network Load Balancer: v2 PROXY TCP4/TCP6 with the real ends, sent
    /// in the same segment as the first payload (on_first_ack_with_payload);
    /// with --aws-vpce-id, the 0xEA VPC-endpoint TLV (PrivateLink).
    AwsNlb,
    /// AWS NLB health check: v2 LOCAL with family byte 0x11 but no address
    /// block, a CRC32C TLV and 74 bytes of NOOP padding (len 84).
    AwsNlbHealth,
    /// HAProxy `send-proxy-v2`: v2 PROXY TCP4/TCP6, no TLVs (add --crc32c,
    /// --unique-id, --authority for proxy-v2-options).
    Haproxy,
    /// HAProxy health check (`check-send-proxy`, 2.1+): v2 LOCAL, AF_UNSPEC,
    /// no address block: 16 bytes.
    HaproxyCheck,
    /// nginx stream `proxy_protocol on`: a v1 TCP4/TCP6 line (nginx sends v1 only).
    Nginx,
    /// GCP TCP/SSL proxy load balancer (`--proxy-header=PROXY_V1`): a v1 line.
    GcpTcpProxy,
    /// Azure Private Link Service: v2 PROXY + the 0xEE TLV, subtype 0x01,
    /// the private endpoint LINKID as u32 little-endian (--azure-link-id,
    /// default 1).
    AzurePls,
}

/// The NOOP padding AWS NLB health checks carry (kubernetes#57250 capture).
pub(crate) const AWS_HEALTH_NOOP: usize = 74;
/// The LINKID `--like azure-pls` claims when --azure-link-id is not given.
pub(crate) const AZURE_DEFAULT_LINK_ID: u32 = 1;

impl Preset {
    /// Every preset, in `--help` order.
    pub(crate) const ALL: [Preset; 7] = [
        Preset::AwsNlb,
        Preset::AwsNlbHealth,
        Preset::Haproxy,
        Preset::HaproxyCheck,
        Preset::Nginx,
        Preset::GcpTcpProxy,
        Preset::AzurePls,
    ];

    /// The one-line description for `--help`.
    pub(crate) fn describe(self) -> &'static str {
        match self {
            Preset::AwsNlb => "AWS Network Load Balancer: v2 PROXY TCP4/TCP6 with the real ends, sent with the first payload; with --aws-vpce-id, the 0xEA VPC-endpoint TLV (PrivateLink)",
            Preset::AwsNlbHealth => "AWS NLB health check: v2 LOCAL with family byte 0x11 but no address block, a CRC32C TLV and 74 bytes of NOOP padding (len 84)",
            Preset::Haproxy => "HAProxy `send-proxy-v2`: v2 PROXY TCP4/TCP6, no TLVs (add --crc32c, --unique-id, --authority for proxy-v2-options)",
            Preset::HaproxyCheck => "HAProxy health check (`check-send-proxy`, 2.1+): v2 LOCAL, AF_UNSPEC, no address block: 16 bytes",
            Preset::Nginx => "nginx stream `proxy_protocol on`: a v1 TCP4/TCP6 line (nginx sends v1 only)",
            Preset::GcpTcpProxy => "GCP TCP/SSL proxy load balancer (`--proxy-header=PROXY_V1`): a v1 line",
            Preset::AzurePls => "Azure Private Link Service: v2 PROXY + the 0xEE TLV, subtype 0x01, the private endpoint LINKID as u32 little-endian (--azure-link-id, default 1)",
        }
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Preset::AwsNlb => "aws-nlb",
            Preset::AwsNlbHealth => "aws-nlb-health",
            Preset::Haproxy => "haproxy",
            Preset::HaproxyCheck => "haproxy-check",
            Preset::Nginx => "nginx",
            Preset::GcpTcpProxy => "gcp-tcp-proxy",
            Preset::AzurePls => "azure-pls",
        }
    }

    /// The plan this emitter's header follows. `azure_link_id` is used by
    /// `azure-pls` (other vendor TLVs come from their own flags).
    pub(crate) fn plan(self, azure_link_id: Option<u32>) -> HeaderPlan {
        let mut plan = HeaderPlan::new(Version::V2);
        match self {
            Preset::AwsNlb | Preset::Haproxy => {}
            Preset::AwsNlbHealth => {
                plan.command = Command::Local;
                plan.transport = Transport::Unspec;
                plan.addresses = AddressPlan::Unknown;
                plan.tlvs = vec![
                    (tlv::CRC32C, Vec::new()),
                    (tlv::NOOP, vec![0; AWS_HEALTH_NOOP]),
                ];
                plan.family_byte = Some(0x11);
            }
            Preset::HaproxyCheck => {
                plan.command = Command::Local;
                plan.transport = Transport::Unspec;
                plan.addresses = AddressPlan::Unknown;
            }
            Preset::Nginx | Preset::GcpTcpProxy => plan.version = Version::V1,
            Preset::AzurePls => {
                let id = azure_link_id.unwrap_or(AZURE_DEFAULT_LINK_ID);
                plan.tlvs
                    .push((tlv::AZURE, crate::codec::encode::azure_link_value(id)));
            }
        }
        plan
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aws_health_matches_the_capture_layout() {
        let plan = Preset::AwsNlbHealth.plan(None);
        let out = plan
            .build("10.0.0.1:1".parse().unwrap(), "10.0.0.2:2".parse().unwrap())
            .unwrap();
        // 20 11 0054 | 03 0004 <crc> | 04 004a 00*74 (kubernetes#57250)
        assert_eq!(&out[12..16], &[0x20, 0x11, 0x00, 0x54]);
        assert_eq!(&out[16..19], &[0x03, 0x00, 0x04]);
        assert_eq!(&out[23..26], &[0x04, 0x00, 0x4a]);
        assert_eq!(out.len(), 16 + 84);
    }

    #[test]
    fn haproxy_check_is_sixteen_bytes() {
        let out = Preset::HaproxyCheck
            .plan(None)
            .build("10.0.0.1:1".parse().unwrap(), "10.0.0.2:2".parse().unwrap())
            .unwrap();
        assert_eq!(out.len(), 16);
        assert_eq!(&out[12..16], &[0x20, 0x00, 0x00, 0x00]);
    }
}
