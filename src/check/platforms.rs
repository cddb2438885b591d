//! What the platforms' annotations and keys mean: data, next to the shared
//! fixes table (`judge::fixes`), so a new platform is a new row.
//!
//! Each row names the documentation it was taken from (docs/check.md lists
//! them); fix ids are checked against the fixes table by a unit test.

use super::yaml::Value;
use super::Header;

/// Which load balancer a Service gets, from its annotations and
/// `spec.loadBalancerClass`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lb {
    /// AWS, in-tree cloud provider, no type annotation: a Classic ELB.
    AwsClassic,
    /// AWS, in-tree cloud provider, `aws-load-balancer-type: nlb`.
    AwsNlbInTree,
    /// AWS Load Balancer Controller (`external`, `nlb-ip`, or the
    /// `service.k8s.aws/nlb` class).
    AwsNlbController,
    DigitalOcean,
    Hetzner,
    Scaleway,
    Linode,
    Azure,
    /// OpenStack's Octavia (cloud-provider-openstack: OVHcloud Public Cloud,
    /// many others).
    OpenStack,
    Cloudscale,
    /// Google's L4 load balancers (GKE): passthrough, no PROXY option.
    Gke,
    /// A load balancer no annotation names.
    Unknown,
}

impl Lb {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Lb::AwsClassic => "AWS Classic ELB (in-tree)",
            Lb::AwsNlbInTree => "AWS NLB (in-tree cloud provider)",
            Lb::AwsNlbController => "AWS NLB (AWS Load Balancer Controller)",
            Lb::DigitalOcean => "DigitalOcean load balancer",
            Lb::Hetzner => "Hetzner Cloud load balancer",
            Lb::Scaleway => "Scaleway load balancer",
            Lb::Linode => "Linode NodeBalancer",
            Lb::Azure => "Azure load balancer",
            Lb::OpenStack => "OpenStack Octavia load balancer",
            Lb::Cloudscale => "cloudscale.ch load balancer",
            Lb::Gke => "Google Cloud L4 load balancer (GKE)",
            Lb::Unknown => "cloud load balancer",
        }
    }
}

/// A value an annotation or key must have (`Any`: any value at all).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum When {
    Any,
    Is(&'static str),
    /// A comma-separated list that holds this item (`a=b,c=d`).
    ListHas(&'static str),
    /// True as Go's `strconv.ParseBool` reads it (`1`, `t`, `true`, …).
    GoTrue,
}

impl When {
    pub(crate) fn matches(self, value: &str) -> bool {
        match self {
            When::Any => true,
            When::Is(v) => value.trim().eq_ignore_ascii_case(v),
            When::ListHas(item) => value
                .split(',')
                .any(|p| p.trim().eq_ignore_ascii_case(item)),
            When::GoTrue => go_bool(value) == Some(true),
        }
    }
}

/// A boolean as Go's `strconv.ParseBool` reads it: `1`, `t`, `T`, `TRUE`,
/// `true`, `True` and their false forms, nothing else (no trimming, no
/// `yes`, no `tRuE`); `None`: an error.
pub(crate) fn go_bool(value: &str) -> Option<bool> {
    match value {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// A PROXY annotation whose value the cloud controller checks: another
/// value is an error it reports on the Service (an event), and it does not
/// configure the load balancer from that Service at all.
pub(crate) struct Checked {
    pub key: &'static str,
    pub accepts: fn(&str) -> bool,
    /// What the controller takes, for the message.
    pub wants: &'static str,
    pub doc: &'static str,
}

const GO_BOOL: &str =
    "a boolean as Go's strconv.ParseBool reads it (1, t, T, true, TRUE, True or their false forms)";

/// The values the controllers refuse: DigitalOcean's and Hetzner's
/// controllers parse their PROXY annotation with `strconv.ParseBool`
/// (digitalocean-cloud-controller-manager `getBool`, hcloud's
/// `BoolFromService`); Linode's lowercases its value and takes `none`,
/// `v1` or `v2` (`getPortProxyProtocol`).
pub(crate) static CHECKED: &[Checked] = &[
    Checked {
        key: "service.beta.kubernetes.io/do-loadbalancer-enable-proxy-protocol",
        accepts: |v| go_bool(v).is_some(),
        wants: GO_BOOL,
        doc: "https://docs.digitalocean.com/products/kubernetes/how-to/configure-load-balancers/#proxy-protocol",
    },
    Checked {
        key: "load-balancer.hetzner.cloud/uses-proxyprotocol",
        accepts: |v| go_bool(v).is_some(),
        wants: GO_BOOL,
        doc: "https://github.com/hetznercloud/hcloud-cloud-controller-manager/blob/main/docs/reference/load_balancer_annotations.md",
    },
    Checked {
        key: "service.beta.kubernetes.io/linode-loadbalancer-default-proxy-protocol",
        accepts: |v| linode_proxy(v).is_some(),
        wants: "none, v1 or v2 (any case)",
        doc: LINODE_DOC,
    },
];

pub(crate) const LINODE_DOC: &str =
    "https://github.com/linode/linode-cloud-controller-manager#annotations";

/// A Linode `proxy-protocol` value (the service-wide annotation, or a
/// port's JSON): lowercased, `none`, `v1` or `v2`; `None`: an error.
pub(crate) fn linode_proxy(value: &str) -> Option<Header> {
    match value.to_ascii_lowercase().as_str() {
        "none" => Some(Header::None),
        "v1" => Some(Header::V1),
        "v2" => Some(Header::V2),
        _ => None,
    }
}

/// The prefix of Linode's per-port annotation
/// (`service.beta.kubernetes.io/linode-loadbalancer-port-443`), whose JSON
/// `proxy-protocol` overrides the service-wide one for that port.
pub(crate) const LINODE_PORT_PREFIX: &str = "service.beta.kubernetes.io/linode-loadbalancer-port-";

/// What a Linode per-port annotation says about PROXY: `Ok(None)` when its
/// JSON has no `proxy-protocol` (the service-wide value holds), `Err` when
/// the controller refuses it (not a JSON object, a field that is not a
/// string, a value other than none/v1/v2). Go's `json.Unmarshal` matches
/// the field names in any case. The object is read with the YAML reader
/// (JSON is YAML's flow style), which also takes the unquoted words JSON
/// refuses: those few are not caught.
pub(crate) fn linode_port(json: &str) -> Result<Option<Header>, String> {
    if !json.trim_start().starts_with('{') {
        return Err("not a JSON object".to_string());
    }
    let docs = super::yaml::parse("", json).map_err(|_| "not JSON".to_string())?;
    let Some(Value::Map(map)) = docs.first().map(|d| &d.value) else {
        return Err("not a JSON object".to_string());
    };
    let mut found = None;
    for (k, v) in map {
        let k = k.str().unwrap_or("");
        let known = [
            "tls-secret-name",
            "protocol",
            "proxy-protocol",
            "algorithm",
            "stickiness",
            "udp-check-port",
        ];
        if !known.iter().any(|f| f.eq_ignore_ascii_case(k)) {
            continue;
        }
        let Some(s) = v.str() else {
            return Err(format!("\"{k}\" is not a string"));
        };
        if k.eq_ignore_ascii_case("proxy-protocol") {
            found = Some(
                linode_proxy(s)
                    .ok_or_else(|| format!("proxy-protocol \"{s}\" is not none, v1 or v2"))?,
            );
        }
    }
    Ok(found)
}

/// An annotation that says which load balancer a Service gets.
pub(crate) struct LbRow {
    pub key: &'static str,
    pub when: When,
    pub lb: Lb,
}

/// First match wins: the specific rows before the catch-alls.
pub(crate) static LB_KINDS: &[LbRow] = &[
    LbRow {
        key: "service.beta.kubernetes.io/aws-load-balancer-type",
        when: When::Is("nlb"),
        lb: Lb::AwsNlbInTree,
    },
    LbRow {
        key: "service.beta.kubernetes.io/aws-load-balancer-type",
        when: When::Is("external"),
        lb: Lb::AwsNlbController,
    },
    LbRow {
        key: "service.beta.kubernetes.io/aws-load-balancer-type",
        when: When::Is("nlb-ip"),
        lb: Lb::AwsNlbController,
    },
    LbRow {
        key: "service.beta.kubernetes.io/aws-load-balancer-nlb-target-type",
        when: When::Any,
        lb: Lb::AwsNlbController,
    },
    LbRow {
        key: "service.beta.kubernetes.io/aws-load-balancer-target-group-attributes",
        when: When::Any,
        lb: Lb::AwsNlbController,
    },
    LbRow {
        key: "service.beta.kubernetes.io/aws-load-balancer-proxy-protocol",
        when: When::Any,
        lb: Lb::AwsClassic,
    },
    LbRow {
        key: "service.beta.kubernetes.io/aws-load-balancer-backend-protocol",
        when: When::Any,
        lb: Lb::AwsClassic,
    },
    LbRow {
        key: "service.beta.kubernetes.io/do-loadbalancer-enable-proxy-protocol",
        when: When::Any,
        lb: Lb::DigitalOcean,
    },
    LbRow {
        key: "load-balancer.hetzner.cloud/uses-proxyprotocol",
        when: When::Any,
        lb: Lb::Hetzner,
    },
    LbRow {
        key: "load-balancer.hetzner.cloud/location",
        when: When::Any,
        lb: Lb::Hetzner,
    },
    LbRow {
        key: "service.beta.kubernetes.io/scw-loadbalancer-proxy-protocol-v2",
        when: When::Any,
        lb: Lb::Scaleway,
    },
    LbRow {
        key: "service.beta.kubernetes.io/scw-loadbalancer-proxy-protocol-v1",
        when: When::Any,
        lb: Lb::Scaleway,
    },
    LbRow {
        key: "service.beta.kubernetes.io/linode-loadbalancer-default-proxy-protocol",
        when: When::Any,
        lb: Lb::Linode,
    },
    LbRow {
        key: "service.beta.kubernetes.io/azure-pls-proxy-protocol",
        when: When::Any,
        lb: Lb::Azure,
    },
    LbRow {
        key: "service.beta.kubernetes.io/azure-pls-create",
        when: When::Any,
        lb: Lb::Azure,
    },
    LbRow {
        key: "service.beta.kubernetes.io/azure-load-balancer-internal",
        when: When::Any,
        lb: Lb::Azure,
    },
    LbRow {
        key: "loadbalancer.openstack.org/proxy-protocol",
        when: When::Any,
        lb: Lb::OpenStack,
    },
    LbRow {
        key: "loadbalancer.openstack.org/class",
        when: When::Any,
        lb: Lb::OpenStack,
    },
    LbRow {
        key: "k8s.cloudscale.ch/loadbalancer-pool-protocol",
        when: When::Any,
        lb: Lb::Cloudscale,
    },
    LbRow {
        key: "cloud.google.com/load-balancer-type",
        when: When::Any,
        lb: Lb::Gke,
    },
    LbRow {
        key: "networking.gke.io/load-balancer-type",
        when: When::Any,
        lb: Lb::Gke,
    },
];

/// `spec.loadBalancerClass` values that name a controller.
pub(crate) static LB_CLASSES: &[(&str, Lb)] = &[("service.k8s.aws/nlb", Lb::AwsNlbController)];

/// An annotation that turns PROXY protocol on at a load balancer.
pub(crate) struct ProxyAnnotation {
    pub key: &'static str,
    pub when: When,
    pub sends: Header,
    /// Load balancers on which the annotation does nothing.
    pub ignored_on: &'static [Lb],
    /// Load balancers on which it sends another version.
    pub sends_on: &'static [(Lb, Header)],
    /// The value may list the Service ports that send (`"80,443"`), or be
    /// a boolean or `*` (read by [`port_selection`]).
    pub port_list: bool,
    /// Another annotation without which this one does nothing (Azure's
    /// PROXY v2 is a Private Link Service's, made only when asked for):
    /// its key, the value it needs, and what lacks without it.
    pub needs: Option<(&'static str, When, &'static str)>,
    /// The fix (shared table) that sets it right.
    pub fix: &'static str,
    /// Where its meaning is documented.
    pub doc: &'static str,
}

const OPENSTACK_DOC: &str = "https://github.com/kubernetes/cloud-provider-openstack/blob/master/docs/openstack-cloud-controller-manager/expose-applications-using-loadbalancer-type-service.md";
const CLOUDSCALE_DOC: &str = "https://github.com/cloudscale-ch/cloudscale-cloud-controller-manager/blob/main/pkg/cloudscale_ccm/loadbalancer.go";

pub(crate) static PROXY_ANNOTATIONS: &[ProxyAnnotation] = &[
    ProxyAnnotation {
        key: "service.beta.kubernetes.io/aws-load-balancer-proxy-protocol",
        when: When::Is("*"),
        sends: Header::V1,
        ignored_on: &[Lb::AwsNlbInTree],
        sends_on: &[(Lb::AwsNlbController, Header::V2)],
        port_list: false,
        needs: None,
        fix: "aws-nlb-proxy-protocol-v2",
        doc: "https://kubernetes-sigs.github.io/aws-load-balancer-controller/latest/guide/service/annotations/#proxy-protocol-v2",
    },
    ProxyAnnotation {
        key: "service.beta.kubernetes.io/aws-load-balancer-target-group-attributes",
        when: When::ListHas("proxy_protocol_v2.enabled=true"),
        sends: Header::V2,
        ignored_on: &[Lb::AwsNlbInTree, Lb::AwsClassic],
        sends_on: &[],
        port_list: false,
        needs: None,
        fix: "aws-nlb-proxy-protocol-v2",
        doc: "https://kubernetes-sigs.github.io/aws-load-balancer-controller/latest/guide/service/annotations/#target-group-attributes",
    },
    ProxyAnnotation {
        key: "service.beta.kubernetes.io/do-loadbalancer-enable-proxy-protocol",
        when: When::GoTrue,
        sends: Header::V1,
        ignored_on: &[],
        sends_on: &[],
        port_list: false,
        needs: None,
        fix: "digitalocean-proxy-protocol",
        doc: "https://docs.digitalocean.com/products/kubernetes/how-to/configure-load-balancers/#proxy-protocol",
    },
    ProxyAnnotation {
        key: "load-balancer.hetzner.cloud/uses-proxyprotocol",
        when: When::GoTrue,
        sends: Header::V1,
        ignored_on: &[],
        sends_on: &[],
        port_list: false,
        needs: None,
        fix: "hetzner-proxy-protocol",
        doc: "https://github.com/hetznercloud/hcloud-cloud-controller-manager/blob/main/docs/reference/load_balancer_annotations.md",
    },
    ProxyAnnotation {
        key: "service.beta.kubernetes.io/scw-loadbalancer-proxy-protocol-v2",
        when: When::Any,
        sends: Header::V2,
        ignored_on: &[],
        sends_on: &[],
        port_list: true,
        needs: None,
        fix: "scaleway-proxy-protocol",
        doc: "https://github.com/scaleway/scaleway-cloud-controller-manager/blob/master/docs/loadbalancer-annotations.md",
    },
    ProxyAnnotation {
        key: "service.beta.kubernetes.io/scw-loadbalancer-proxy-protocol-v1",
        when: When::Any,
        sends: Header::V1,
        ignored_on: &[],
        sends_on: &[],
        port_list: true,
        needs: None,
        fix: "scaleway-proxy-protocol",
        doc: "https://github.com/scaleway/scaleway-cloud-controller-manager/blob/master/docs/loadbalancer-annotations.md",
    },
    ProxyAnnotation {
        key: "service.beta.kubernetes.io/linode-loadbalancer-default-proxy-protocol",
        when: When::Is("v1"),
        sends: Header::V1,
        ignored_on: &[],
        sends_on: &[],
        port_list: false,
        needs: None,
        fix: "linode-proxy-protocol",
        doc: LINODE_DOC,
    },
    ProxyAnnotation {
        key: "service.beta.kubernetes.io/linode-loadbalancer-default-proxy-protocol",
        when: When::Is("v2"),
        sends: Header::V2,
        ignored_on: &[],
        sends_on: &[],
        port_list: false,
        needs: None,
        fix: "linode-proxy-protocol",
        doc: LINODE_DOC,
    },
    ProxyAnnotation {
        key: "loadbalancer.openstack.org/proxy-protocol",
        when: When::Is("true"),
        sends: Header::V1,
        ignored_on: &[],
        sends_on: &[],
        port_list: false,
        needs: None,
        fix: "openstack-proxy-protocol",
        doc: OPENSTACK_DOC,
    },
    ProxyAnnotation {
        key: "loadbalancer.openstack.org/proxy-protocol",
        when: When::Is("v1"),
        sends: Header::V1,
        ignored_on: &[],
        sends_on: &[],
        port_list: false,
        needs: None,
        fix: "openstack-proxy-protocol",
        doc: OPENSTACK_DOC,
    },
    ProxyAnnotation {
        key: "loadbalancer.openstack.org/proxy-protocol",
        when: When::Is("v2"),
        sends: Header::V2,
        ignored_on: &[],
        sends_on: &[],
        port_list: false,
        needs: None,
        fix: "openstack-proxy-protocol",
        doc: OPENSTACK_DOC,
    },
    ProxyAnnotation {
        key: "k8s.cloudscale.ch/loadbalancer-pool-protocol",
        when: When::Is("proxy"),
        sends: Header::V1,
        ignored_on: &[],
        sends_on: &[],
        port_list: false,
        needs: None,
        fix: "cloudscale-proxy-protocol",
        doc: CLOUDSCALE_DOC,
    },
    ProxyAnnotation {
        key: "k8s.cloudscale.ch/loadbalancer-pool-protocol",
        when: When::Is("proxyv2"),
        sends: Header::V2,
        ignored_on: &[],
        sends_on: &[],
        port_list: false,
        needs: None,
        fix: "cloudscale-proxy-protocol",
        doc: CLOUDSCALE_DOC,
    },
    ProxyAnnotation {
        key: "service.beta.kubernetes.io/azure-pls-proxy-protocol",
        when: When::Is("true"),
        sends: Header::V2,
        ignored_on: &[],
        sends_on: &[],
        port_list: false,
        // cloud-provider-azure reconciles the PLS (and its
        // EnableProxyProtocol) only when `serviceRequiresPLS`: this
        // annotation "true", any case, trimmed.
        needs: Some((
            "service.beta.kubernetes.io/azure-pls-create",
            When::Is("true"),
            "\"true\" (no Private Link Service is made), and the load balancer itself sends no PROXY header",
        )),
        fix: "azure-pls-proxy-protocol",
        doc: "https://cloud-provider-azure.sigs.k8s.io/topics/pls-integration/",
    },
];

/// Which Service ports an annotation that takes a port list turns PROXY on
/// for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Ports {
    /// Every port (`true`, `*`).
    All,
    /// Only these Service ports; empty: none (`false`, `""`).
    Only(Vec<u16>),
    /// A value the cloud controller refuses: it configures no PROXY.
    Invalid,
}

/// The Scaleway cloud controller's reading of its PROXY annotations
/// (`isPortInRange`): Go's `strconv.ParseBool` first (`true`/`false`, `t`,
/// `F`, …, but not `1` and `0`, which are port numbers), then `*` for every
/// port and `""` for none, else a comma-separated list of Service ports
/// (spaces dropped); anything else is an error and the load balancer is not
/// configured from it.
pub(crate) fn port_selection(value: &str) -> Ports {
    match value {
        "t" | "T" | "true" | "TRUE" | "True" | "*" => return Ports::All,
        "f" | "F" | "false" | "FALSE" | "False" | "" => return Ports::Only(Vec::new()),
        _ => {}
    }
    let list: Option<Vec<u16>> = value
        .replace(' ', "")
        .split(',')
        .map(|p| p.parse::<u16>().ok())
        .collect();
    list.map_or(Ports::Invalid, Ports::Only)
}

/// The fix that turns PROXY on at this load balancer.
pub(crate) fn enable_fix(lb: Lb) -> &'static str {
    match lb {
        Lb::AwsClassic => "aws-legacy-proxy-protocol-annotation",
        Lb::AwsNlbInTree | Lb::AwsNlbController => "aws-nlb-proxy-protocol-v2",
        Lb::DigitalOcean => "digitalocean-proxy-protocol",
        Lb::Hetzner => "hetzner-proxy-protocol",
        Lb::Scaleway => "scaleway-proxy-protocol",
        Lb::Linode => "linode-proxy-protocol",
        Lb::Azure => "azure-pls-proxy-protocol",
        Lb::OpenStack => "openstack-proxy-protocol",
        Lb::Cloudscale => "cloudscale-proxy-protocol",
        Lb::Gke => "gcp-proxy-header",
        Lb::Unknown => "enable-at-sender",
    }
}

/// What the value of a controller's PROXY key is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ProxyValue {
    /// `"true"` turns it on (any case).
    Bool,
    /// A list of sources (CIDRs) turns it on, from those sources only: it
    /// is the trust list too (haproxytech's `proxy-protocol`).
    Sources,
}

/// An ingress controller's settings (ConfigMap keys, or the chart values
/// that become them): which keys mean what. A new controller is a new row.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Controller {
    pub name: &'static str,
    /// The key that makes the controller read a PROXY header.
    pub proxy_key: &'static str,
    pub proxy_value: ProxyValue,
    /// The key holding the trusted sources (comma-separated CIDRs), when
    /// it is not the PROXY key itself; absent: anyone's header is taken.
    pub trust_key: Option<&'static str>,
    /// The key that takes X-Forwarded-For from the peer ("true").
    pub forwarded_key: Option<&'static str>,
    /// The key that must say `proxy_protocol` for the header's address to
    /// be used (`None`: the controller does it by itself).
    pub real_ip_header_key: Option<&'static str>,
    /// The fix (shared table) that turns PROXY on at the controller.
    pub fix: &'static str,
    /// The fix that narrows whose header it takes.
    pub trust_fix: &'static str,
    pub doc: &'static str,
}

pub(crate) static INGRESS_NGINX: Controller = Controller {
    name: "ingress-nginx",
    proxy_key: "use-proxy-protocol",
    proxy_value: ProxyValue::Bool,
    trust_key: Some("proxy-real-ip-cidr"),
    forwarded_key: Some("use-forwarded-headers"),
    real_ip_header_key: None,
    fix: "ingress-nginx-use-proxy-protocol",
    trust_fix: "ingress-nginx-real-ip-cidr",
    doc: "https://kubernetes.github.io/ingress-nginx/user-guide/nginx-configuration/configmap/",
};

/// ingress-nginx configured through the chart's values: the same keys,
/// under `controller.config`.
pub(crate) static INGRESS_NGINX_HELM: Controller = Controller {
    fix: "ingress-nginx-helm-use-proxy-protocol",
    ..INGRESS_NGINX
};

pub(crate) static NGINX_INC: Controller = Controller {
    name: "NGINX Ingress Controller (nginx.org)",
    proxy_key: "proxy-protocol",
    proxy_value: ProxyValue::Bool,
    trust_key: Some("set-real-ip-from"),
    forwarded_key: None,
    real_ip_header_key: Some("real-ip-header"),
    fix: "nginx-inc-proxy-protocol",
    trust_fix: "nginx-inc-proxy-protocol",
    doc: "https://docs.nginx.com/nginx-ingress-controller/configuration/global-configuration/configmap-resource/",
};

/// HAProxy Kubernetes Ingress (haproxytech): `proxy-protocol` lists the
/// sources a header is taken from; the chart's `controller.config` is the
/// ConfigMap.
pub(crate) static HAPROXYTECH: Controller = Controller {
    name: "HAProxy Kubernetes Ingress (haproxytech)",
    proxy_key: "proxy-protocol",
    proxy_value: ProxyValue::Sources,
    trust_key: None,
    forwarded_key: None,
    real_ip_header_key: None,
    fix: "haproxytech-proxy-protocol",
    trust_fix: "haproxytech-proxy-protocol",
    doc: "https://github.com/haproxytech/kubernetes-ingress/blob/master/documentation/annotations.md#proxy-protocol",
};

/// HAProxy Ingress (jcmoraisjr): `use-proxy-protocol` makes every bind
/// `accept-proxy`, with no source list.
pub(crate) static HAPROXY_INGRESS: Controller = Controller {
    name: "HAProxy Ingress (jcmoraisjr)",
    proxy_key: "use-proxy-protocol",
    proxy_value: ProxyValue::Bool,
    trust_key: None,
    forwarded_key: None,
    real_ip_header_key: None,
    fix: "haproxy-ingress-use-proxy-protocol",
    trust_fix: "require-header-and-allowlist",
    doc: "https://haproxy-ingress.github.io/docs/configuration/keys/#proxy-protocol",
};

/// Traefik as a cluster's ingress (its chart): an entry point's
/// `proxyProtocol` reads a header when there is one; `trustedIPs` are the
/// sources whose address it uses, `insecure` anyone's.
pub(crate) static TRAEFIK: Controller = Controller {
    name: "Traefik",
    proxy_key: "proxyProtocol",
    proxy_value: ProxyValue::Sources,
    trust_key: None,
    forwarded_key: None,
    real_ip_header_key: None,
    fix: "traefik-helm-proxy-protocol",
    trust_fix: "traefik-trusted-ips",
    doc: "https://doc.traefik.io/traefik/routing/entrypoints/#proxyprotocol",
};

/// Envoy Gateway: a ClientTrafficPolicy's `proxyProtocol` (or the older
/// `enableProxyProtocol`) on a Gateway or one of its listeners.
pub(crate) static ENVOY_GATEWAY: Controller = Controller {
    name: "Envoy Gateway",
    proxy_key: "proxyProtocol",
    proxy_value: ProxyValue::Bool,
    trust_key: None,
    forwarded_key: None,
    real_ip_header_key: None,
    fix: "envoy-gateway-client-traffic-policy",
    trust_fix: "envoy-admit-lb-only",
    doc: "https://gateway.envoyproxy.io/docs/api/extension_types/#clienttrafficpolicyspec",
};

/// NGINX Gateway Fabric: NginxProxy `rewriteClientIP.mode: ProxyProtocol`
/// with its `trustedAddresses`.
pub(crate) static NGF: Controller = Controller {
    name: "NGINX Gateway Fabric",
    proxy_key: "rewriteClientIP.mode",
    proxy_value: ProxyValue::Bool,
    trust_key: Some("rewriteClientIP.trustedAddresses"),
    forwarded_key: None,
    real_ip_header_key: None,
    fix: "ngf-rewrite-client-ip",
    trust_fix: "ngf-rewrite-client-ip",
    doc: "https://docs.nginx.com/nginx-gateway-fabric/reference/api/",
};

/// Istio's gateways: `gatewayTopology.proxyProtocol` in the pod's
/// `proxy.istio.io/config` (or the Gateway's), or an EnvoyFilter.
pub(crate) static ISTIO: Controller = Controller {
    name: "Istio",
    proxy_key: "gatewayTopology.proxyProtocol",
    proxy_value: ProxyValue::Bool,
    trust_key: None,
    forwarded_key: None,
    real_ip_header_key: None,
    fix: "istio-gateway-proxy-protocol",
    trust_fix: "envoy-admit-lb-only",
    doc: "https://istio.io/latest/docs/ops/configuration/traffic-management/network-topologies/#proxy-protocol",
};

/// Contour: ContourConfiguration `spec.envoy.listener.useProxyProtocol`.
pub(crate) static CONTOUR: Controller = Controller {
    name: "Contour",
    proxy_key: "envoy.listener.useProxyProtocol",
    proxy_value: ProxyValue::Bool,
    trust_key: None,
    forwarded_key: None,
    real_ip_header_key: None,
    fix: "contour-use-proxy-protocol",
    trust_fix: "envoy-admit-lb-only",
    doc: "https://projectcontour.io/docs/main/config/api/#projectcontour.io/v1alpha1.EnvoyListenerConfig",
};

/// A Gateway API implementation: the GatewayClass controller it answers
/// to, and the names its classes usually have (when the GatewayClass is
/// not in the input).
pub(crate) struct Gateway {
    pub name: &'static str,
    pub controller_name: &'static str,
    pub class_names: &'static [&'static str],
    pub controller: &'static Controller,
    pub fix: &'static str,
}

/// The Gateway API implementations `check` reads. kgateway is not among
/// them: its PROXY settings could not be confirmed in its documentation.
pub(crate) static GATEWAYS: &[Gateway] = &[
    Gateway {
        name: "Envoy Gateway",
        controller_name: "gateway.envoyproxy.io/gatewayclass-controller",
        class_names: &["eg", "envoy-gateway", "envoy"],
        controller: &ENVOY_GATEWAY,
        fix: "envoy-gateway-client-traffic-policy",
    },
    Gateway {
        name: "NGINX Gateway Fabric",
        controller_name: "gateway.nginx.org/nginx-gateway-controller",
        class_names: &["nginx"],
        controller: &NGF,
        fix: "ngf-rewrite-client-ip",
    },
    Gateway {
        name: "Istio",
        controller_name: "istio.io/gateway-controller",
        class_names: &["istio"],
        controller: &ISTIO,
        fix: "istio-gateway-proxy-protocol",
    },
    Gateway {
        name: "Contour",
        controller_name: "projectcontour.io/gateway-controller",
        class_names: &["contour"],
        controller: &CONTOUR,
        fix: "contour-use-proxy-protocol",
    },
];

/// Every controller whose ConfigMap `check` reads.
#[cfg(test)]
pub(crate) static CONTROLLERS: [&Controller; 10] = [
    &TRAEFIK,
    &ENVOY_GATEWAY,
    &NGF,
    &ISTIO,
    &CONTOUR,
    &INGRESS_NGINX,
    &INGRESS_NGINX_HELM,
    &NGINX_INC,
    &HAPROXYTECH,
    &HAPROXY_INGRESS,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_booleans_as_strconv_parse_bool_reads_them() {
        for t in ["1", "t", "T", "true", "TRUE", "True"] {
            assert_eq!(go_bool(t), Some(true), "{t}");
            assert!(When::GoTrue.matches(t));
        }
        for f in ["0", "f", "F", "false", "FALSE", "False"] {
            assert_eq!(go_bool(f), Some(false), "{f}");
            assert!(!When::GoTrue.matches(f));
        }
        for bad in ["yes", "tRuE", " true", "", "on"] {
            assert_eq!(go_bool(bad), None, "{bad:?}");
        }
        let accepts = |k: &str, v: &str| CHECKED.iter().any(|c| c.key == k && (c.accepts)(v));
        let do_key = "service.beta.kubernetes.io/do-loadbalancer-enable-proxy-protocol";
        assert!(accepts(do_key, "1") && !accepts(do_key, "yes"));
        let linode = "service.beta.kubernetes.io/linode-loadbalancer-default-proxy-protocol";
        assert!(accepts(linode, "V2") && accepts(linode, "none") && !accepts(linode, "v3"));
    }

    #[test]
    fn linode_port_json_as_its_controller_reads_it() {
        assert_eq!(
            linode_port(r#"{"protocol": "tcp", "proxy-protocol": "v2"}"#),
            Ok(Some(Header::V2))
        );
        assert_eq!(
            linode_port(r#"{"Proxy-Protocol": "None"}"#),
            Ok(Some(Header::None))
        );
        assert_eq!(linode_port(r#"{"tls-secret-name": "shop-tls"}"#), Ok(None));
        assert!(linode_port(r#"{"proxy-protocol": "v3"}"#).is_err());
        assert!(linode_port(r#"{"proxy-protocol": 2}"#).is_err());
        assert!(linode_port(r#"{"proxy-protocol": {"v": 2}}"#).is_err());
        assert!(linode_port("proxy-protocol: v2").is_err());
        assert!(linode_port(r#"["v2"]"#).is_err());
    }

    #[test]
    fn scaleway_values_as_its_controller_reads_them() {
        assert_eq!(port_selection("true"), Ports::All);
        assert_eq!(port_selection("*"), Ports::All);
        assert_eq!(port_selection("T"), Ports::All);
        assert_eq!(port_selection("false"), Ports::Only(vec![]));
        assert_eq!(port_selection("False"), Ports::Only(vec![]));
        assert_eq!(port_selection(""), Ports::Only(vec![]));
        assert_eq!(port_selection("0"), Ports::Only(vec![0]));
        assert_eq!(port_selection("1"), Ports::Only(vec![1]));
        assert_eq!(port_selection("80, 443"), Ports::Only(vec![80, 443]));
        assert_eq!(port_selection("yes"), Ports::Invalid);
        assert_eq!(port_selection("tRuE"), Ports::Invalid);
    }

    #[test]
    fn fix_ids_are_in_the_shared_table() {
        for a in PROXY_ANNOTATIONS {
            assert!(crate::judge::fixes::find(a.fix).is_some(), "{}", a.fix);
            assert!(a.doc.starts_with("https://"));
        }
        for lb in [Lb::AwsClassic, Lb::DigitalOcean, Lb::Unknown, Lb::Azure] {
            assert!(crate::judge::fixes::find(enable_fix(lb)).is_some());
        }
        for c in CONTROLLERS {
            assert!(crate::judge::fixes::find(c.fix).is_some(), "{}", c.fix);
            assert!(
                crate::judge::fixes::find(c.trust_fix).is_some(),
                "{}",
                c.trust_fix
            );
            assert!(c.doc.starts_with("https://"));
        }
    }
}
