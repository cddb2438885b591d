//! The one table of fixes shared by every finding of the judge (and so by
//! `send`, `listen`, `probe`, `explain`, `repro` and `pcap`): what to change, where, and the upstream doc section.
//!
//! It is data, not logic: diagnostics refer to entries by their kebab-case
//! id and never spell a config change themselves, so a wording or link is
//! corrected in one place. Annotation and key names were checked against
//! upstream docs or the cloud controllers' sources where we could (see the
//! `// checked:` / `// unverified:` notes above each entry).

/// Which side of the connection a fix changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The load balancer or proxy that adds the header.
    Sender,
    /// The server that reads the header.
    Receiver,
    /// A client that connects to the receiver directly.
    Client,
    /// The cluster or network around both.
    Platform,
}

impl Side {
    pub fn name(self) -> &'static str {
        match self {
            Side::Sender => "sender",
            Side::Receiver => "receiver",
            Side::Client => "client",
            Side::Platform => "platform",
        }
    }
}

/// One fix: a concrete change and where it is documented.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fix {
    /// Stable kebab-case identifier (used in JSON and by other tables).
    pub id: &'static str,
    pub title: &'static str,
    pub side: Side,
    /// The product or component the change applies to.
    pub applies_to: &'static str,
    /// The exact change, as it is written in that product's config.
    pub change: &'static str,
    /// Upstream documentation section.
    pub doc: &'static str,
}

/// The receiver a fix is shown for, as far as the command knows it: its
/// port, whether it serves TLS (`send` and `probe` know their target's),
/// and the protocol spoken after the header (`--protocol`, a capture's
/// flow, the server of an `explain` log line), which chooses the fixes
/// (Postfix's for SMTP, not nginx's: [`crate::judge::Finding::fixes_for`]).
/// What is not known stays generic in the snippet.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Case {
    pub port: Option<u16>,
    pub tls: Option<bool>,
    pub protocol: Option<crate::protocol::Protocol>,
}

impl Fix {
    /// The change, for `case`: `{port}` is the port (`PORT` when not
    /// known), `{ ssl}` is ` ssl` on a TLS port, nothing on a plain one,
    /// ` [ssl]` when not known. A plain port 8081 is told
    /// `listen 8081 proxy_protocol;`, not `listen 443 ssl proxy_protocol;`.
    pub fn change_for(&self, case: Case) -> String {
        let port = case
            .port
            .map_or_else(|| "PORT".to_string(), |p| p.to_string());
        let ssl = match case.tls {
            Some(true) => " ssl",
            Some(false) => "",
            None => " [ssl]",
        };
        self.change.replace("{port}", &port).replace("{ ssl}", ssl)
    }
}

/// Every fix ppctl knows. Ids are unique (unit-tested).
pub static FIXES: &[Fix] = &[
    // checked: ingress-nginx ConfigMap docs (use-proxy-protocol, default "false").
    Fix {
        id: "ingress-nginx-use-proxy-protocol",
        title: "Make ingress-nginx read the PROXY header",
        side: Side::Receiver,
        applies_to: "ingress-nginx (ConfigMap of the controller)",
        change: "data:\n  use-proxy-protocol: \"true\"\n# enable it in the same change as the load balancer option:\n# nginx has no optional mode",
        doc: "https://kubernetes.github.io/ingress-nginx/user-guide/nginx-configuration/configmap/#use-proxy-protocol",
    },
    // checked: ingress-nginx chart values (controller.config becomes the ConfigMap).
    Fix {
        id: "ingress-nginx-helm-use-proxy-protocol",
        title: "Make ingress-nginx read the PROXY header (Helm values)",
        side: Side::Receiver,
        applies_to: "ingress-nginx Helm chart (values of the release)",
        change: "controller:\n  config:\n    use-proxy-protocol: \"true\"\n    proxy-real-ip-cidr: \"10.0.0.0/16\"   # the LB's source range\n# then: helm upgrade ingress-nginx ingress-nginx/ingress-nginx \\\n#   -n ingress-nginx --reuse-values -f values.yaml",
        doc: "https://github.com/kubernetes/ingress-nginx/blob/main/charts/ingress-nginx/values.yaml",
    },
    // checked: ingress-nginx "Exposing TCP and UDP services" (namespace/service:port:[PROXY]:[PROXY]).
    Fix {
        id: "ingress-nginx-tcp-services-proxy",
        title: "Make an ingress-nginx TCP service read (decode) the PROXY header",
        side: Side::Receiver,
        applies_to: "ingress-nginx tcp-services ConfigMap, or the chart's tcp: values",
        change: "data:\n  # decode: read the header from the LB\n  \"9000\": \"default/app:9000:PROXY\"\n  # \"default/app:9000:PROXY:PROXY\" also sends (encodes) one to the app\n# use-proxy-protocol applies to the HTTP ports only",
        doc: "https://kubernetes.github.io/ingress-nginx/user-guide/exposing-tcp-udp-services/",
    },
    // ingress-nginx's docs give the PROXY fields for "a TCP service"; its
    // template writes proxy_protocol only on the TCP servers' listen.
    Fix {
        id: "ingress-nginx-udp-services-no-proxy",
        title: "Drop the PROXY fields of ingress-nginx UDP services",
        side: Side::Receiver,
        applies_to: "ingress-nginx udp-services ConfigMap, or the chart's udp: values",
        change: "data:\n  # no :PROXY fields: only TCP services take them\n  \"53\": \"kube-system/kube-dns:53\"\n# a protocol that runs over TCP belongs in tcp-services,\n# where :PROXY works",
        doc: "https://kubernetes.github.io/ingress-nginx/user-guide/exposing-tcp-udp-services/",
    },
    // checked: ingress-nginx TLS user guide (ssl-passthrough: a TCP proxy
    // takes port 443) and issues #10181, #11365 (PROXY with passthrough).
    Fix {
        id: "ingress-nginx-ssl-passthrough-proxy",
        title: "With ssl-passthrough, send PROXY on every port and test the passthrough hosts",
        side: Side::Platform,
        applies_to: "ingress-nginx started with --enable-ssl-passthrough and use-proxy-protocol \"true\"",
        change: "# use-proxy-protocol applies to :80 and to the passthrough proxy on\n# :443 alike: the load balancer must send a header on both ports,\n# then confirm each path:\nppctl send -1 LB:80 --src 203.0.113.7:5000   # HTTP through the LB\nppctl probe PASSTHROUGH-HOST:443 --tls       # the passthrough path",
        doc: "https://kubernetes.github.io/ingress-nginx/user-guide/tls/#ssl-passthrough",
    },
    // checked: ingress-nginx ConfigMap docs and controller source (ProxyRealIPCIDR).
    Fix {
        id: "ingress-nginx-real-ip-cidr",
        title: "Trust only the load balancer's addresses for the client IP",
        side: Side::Receiver,
        applies_to: "ingress-nginx (ConfigMap of the controller)",
        change: "data:\n  # the LB's real source range (VPC/subnet CIDR for an NLB)\n  proxy-real-ip-cidr: \"10.0.0.0/16\"",
        doc: "https://kubernetes.github.io/ingress-nginx/user-guide/nginx-configuration/configmap/#proxy-real-ip-cidr",
    },
    // checked: ingress-nginx ConfigMap table (proxy-protocol-header-timeout, default "5s").
    Fix {
        id: "ingress-nginx-header-timeout",
        title: "Bound how long ingress-nginx waits for the header",
        side: Side::Receiver,
        applies_to: "ingress-nginx (ConfigMap of the controller)",
        change: "data:\n  proxy-protocol-header-timeout: \"5s\"",
        doc: "https://kubernetes.github.io/ingress-nginx/user-guide/nginx-configuration/configmap/#proxy-protocol-header-timeout",
    },
    // checked: ingress-nginx ConfigMap docs (use-forwarded-headers).
    Fix {
        id: "ingress-nginx-forwarded-headers",
        title: "Use X-Forwarded-For only behind an L7 load balancer",
        side: Side::Receiver,
        applies_to: "ingress-nginx (ConfigMap of the controller)",
        change: "data:\n  # only when an HTTP (L7) LB sets X-Forwarded-For; behind an L4 LB\n  # use use-proxy-protocol instead, and never trust both from the internet\n  use-forwarded-headers: \"true\"",
        doc: "https://kubernetes.github.io/ingress-nginx/user-guide/nginx-configuration/configmap/#use-forwarded-headers",
    },
    // checked: NGINX Ingress Controller ConfigMap resource docs (proxy-protocol,
    // real-ip-header, set-real-ip-from).
    Fix {
        id: "nginx-inc-proxy-protocol",
        title: "Make NGINX Ingress Controller (nginx.org) read the PROXY header",
        side: Side::Receiver,
        applies_to: "NGINX Ingress Controller by F5 NGINX (ConfigMap nginx-config)",
        change: "data:\n  proxy-protocol: \"True\"\n  real-ip-header: \"proxy_protocol\"\n  set-real-ip-from: \"10.0.0.0/16\"   # the LB's source range",
        doc: "https://docs.nginx.com/nginx-ingress-controller/configuration/global-configuration/configmap-resource/",
    },
    // checked: haproxytech/kubernetes-ingress documentation/annotations.md
    // (proxy-protocol: IPs or CIDRs, ConfigMap only).
    Fix {
        id: "haproxytech-proxy-protocol",
        title: "Make HAProxy Kubernetes Ingress read the PROXY header from the load balancer",
        side: Side::Receiver,
        applies_to: "HAProxy Kubernetes Ingress by HAProxy Technologies (ConfigMap, or the chart's controller.config)",
        change: "data:\n  # a header is read from these sources only: the load balancer's\n  proxy-protocol: \"10.0.0.0/16\"",
        doc: "https://github.com/haproxytech/kubernetes-ingress/blob/master/documentation/annotations.md#proxy-protocol",
    },
    // checked: haproxy-ingress.github.io configuration keys (use-proxy-protocol, global).
    Fix {
        id: "haproxy-ingress-use-proxy-protocol",
        title: "Make HAProxy Ingress (jcmoraisjr) read the PROXY header",
        side: Side::Receiver,
        applies_to: "HAProxy Ingress (ConfigMap, or the chart's controller.config)",
        change: "data:\n  # every bind then takes a header: restrict who reaches the ports\n  use-proxy-protocol: \"true\"",
        doc: "https://haproxy-ingress.github.io/docs/configuration/keys/#proxy-protocol",
    },
    // checked: traefik-helm-chart values.yaml (ports.<name>.proxyProtocol).
    Fix {
        id: "traefik-helm-proxy-protocol",
        title: "Make Traefik's entry points read the PROXY header (chart values)",
        side: Side::Receiver,
        applies_to: "Traefik Helm chart (values)",
        change: "ports:\n  web:\n    proxyProtocol:\n      trustedIPs: [\"10.0.0.0/16\"]   # where the LB connects from\n  websecure:\n    proxyProtocol:\n      trustedIPs: [\"10.0.0.0/16\"]",
        doc: "https://github.com/traefik/traefik-helm-chart/blob/master/traefik/values.yaml",
    },
    // checked: Traefik TCP serversTransport docs (proxyProtocol.version, default 2).
    Fix {
        id: "traefik-send-proxy-protocol",
        title: "Make Traefik send the header version the backend reads",
        side: Side::Sender,
        applies_to: "Traefik (dynamic configuration, TCP service)",
        change: "tcp:\n  serversTransports:\n    pp:\n      proxyProtocol:\n        version: 1   # or 2: the version the backend reads\n  services:\n    app:\n      loadBalancer:\n        serversTransport: pp",
        doc: "https://doc.traefik.io/traefik/reference/routing-configuration/tcp/serverstransport/",
    },
    // checked: cloud-provider-openstack LoadBalancer docs
    // (loadbalancer.openstack.org/proxy-protocol: "true"/"v1" or "v2").
    Fix {
        id: "openstack-proxy-protocol",
        title: "Turn PROXY protocol on at the OpenStack (Octavia) load balancer",
        side: Side::Sender,
        applies_to: "OpenStack Octavia via cloud-provider-openstack (OVHcloud Public Cloud, others): Service annotation",
        change: "metadata:\n  annotations:\n    # or \"v2\": the version the backend reads\n    loadbalancer.openstack.org/proxy-protocol: \"v1\"",
        doc: "https://github.com/kubernetes/cloud-provider-openstack/blob/master/docs/openstack-cloud-controller-manager/expose-applications-using-loadbalancer-type-service.md",
    },
    // checked: cloudscale-cloud-controller-manager loadbalancer.go
    // (k8s.cloudscale.ch/loadbalancer-pool-protocol: tcp, proxy, proxyv2).
    Fix {
        id: "cloudscale-proxy-protocol",
        title: "Set the cloudscale.ch load balancer's pool protocol to PROXY",
        side: Side::Sender,
        applies_to: "cloudscale.ch cloud controller manager (Service annotation)",
        change: "metadata:\n  annotations:\n    # proxyv2 sends v2, proxy v1, tcp (the default) none\n    k8s.cloudscale.ch/loadbalancer-pool-protocol: proxyv2",
        doc: "https://github.com/cloudscale-ch/cloudscale-cloud-controller-manager/blob/main/pkg/cloudscale_ccm/loadbalancer.go",
    },
    // checked: Envoy Gateway API reference (ClientTrafficPolicySpec.proxyProtocol,
    // ProxyProtocolSettings.optional; enableProxyProtocol deprecated).
    Fix {
        id: "envoy-gateway-client-traffic-policy",
        title: "Make Envoy Gateway's listeners read the PROXY header (ClientTrafficPolicy)",
        side: Side::Receiver,
        applies_to: "Envoy Gateway (ClientTrafficPolicy attached to the Gateway)",
        change: "apiVersion: gateway.envoyproxy.io/v1alpha1\nkind: ClientTrafficPolicy\nmetadata:\n  name: proxy-protocol\nspec:\n  targetRefs:\n  - group: gateway.networking.k8s.io\n    kind: Gateway\n    name: eg\n  # optional: true would take clients without one too (spoofable)\n  proxyProtocol: {}",
        doc: "https://gateway.envoyproxy.io/docs/api/extension_types/#clienttrafficpolicyspec",
    },
    // checked: Envoy Gateway API reference (BackendTrafficPolicy proxyProtocol.version V1/V2).
    Fix {
        id: "envoy-gateway-backend-proxy-protocol",
        title: "Make Envoy Gateway send the header version the backend reads",
        side: Side::Sender,
        applies_to: "Envoy Gateway (BackendTrafficPolicy)",
        change: "spec:\n  # V1 or V2: what the backend reads; drop it if it reads none\n  proxyProtocol:\n    version: V1",
        doc: "https://gateway.envoyproxy.io/docs/api/extension_types/#proxyprotocol",
    },
    // checked: NGINX Gateway Fabric NginxProxy API (rewriteClientIP mode ProxyProtocol,
    // trustedAddresses).
    Fix {
        id: "ngf-rewrite-client-ip",
        title: "Make NGINX Gateway Fabric read the PROXY header from the load balancer",
        side: Side::Receiver,
        applies_to: "NGINX Gateway Fabric (NginxProxy)",
        change: "spec:\n  rewriteClientIP:\n    mode: ProxyProtocol\n    trustedAddresses:\n    - type: CIDR\n      value: 10.0.0.0/16   # where the LB connects from",
        doc: "https://docs.nginx.com/nginx-gateway-fabric/reference/api/",
    },
    // checked: Istio network topologies docs (gatewayTopology.proxyProtocol).
    Fix {
        id: "istio-gateway-proxy-protocol",
        title: "Make Istio's gateway read the PROXY header",
        side: Side::Receiver,
        applies_to: "Istio ingress gateway (pod annotation, or meshConfig.defaultConfig)",
        change: "metadata:\n  annotations:\n    proxy.istio.io/config: '{\"gatewayTopology\":{\"proxyProtocol\":{}}}'\n# the header is then required on every gateway listener",
        doc: "https://istio.io/latest/docs/ops/configuration/traffic-management/network-topologies/#proxy-protocol",
    },
    // checked: Contour API reference (EnvoyListenerConfig.useProxyProtocol).
    Fix {
        id: "contour-use-proxy-protocol",
        title: "Make Contour's Envoy read the PROXY header",
        side: Side::Receiver,
        applies_to: "Contour (ContourConfiguration)",
        change: "spec:\n  envoy:\n    listener:\n      useProxyProtocol: true",
        doc: "https://projectcontour.io/docs/main/config/api/#projectcontour.io/v1alpha1.EnvoyListenerConfig",
    },
    // checked: Caddy docs, global options listener_wrappers proxy_protocol (allow,
    // fallback_policy) and reverse_proxy transport http proxy_protocol.
    Fix {
        id: "caddy-proxy-protocol",
        title: "Make Caddy read the PROXY header before TLS",
        side: Side::Receiver,
        applies_to: "Caddy (Caddyfile global options)",
        change: "{\n\tservers {\n\t\tlistener_wrappers {\n\t\t\tproxy_protocol {\n\t\t\t\tallow 10.0.0.0/16   # the sender's sources\n\t\t\t}\n\t\t\ttls\n\t\t}\n\t}\n}",
        doc: "https://caddyserver.com/docs/caddyfile/options#listener-wrappers",
    },
    // checked: Envoy docs, upstream proxy_protocol transport socket
    // (ProxyProtocolUpstreamTransport, config.version V1 default, V2).
    Fix {
        id: "envoy-upstream-proxy-protocol",
        title: "Make Envoy send the header version the upstream reads",
        side: Side::Sender,
        applies_to: "Envoy (cluster transport_socket)",
        change: "transport_socket:\n  name: envoy.transport_sockets.upstream_proxy_protocol\n  typed_config:\n    \"@type\": type.googleapis.com/envoy.extensions.transport_sockets.proxy_protocol.v3.ProxyProtocolUpstreamTransport\n    config:\n      version: V1   # or V2: what the upstream reads\n    transport_socket:\n      name: envoy.transport_sockets.raw_buffer",
        doc: "https://www.envoyproxy.io/docs/envoy/latest/api-v3/extensions/transport_sockets/proxy_protocol/v3/upstream_proxy_protocol.proto",
    },
    // checked: nginx listen directive (proxy_protocol parameter) and realip module.
    Fix {
        id: "nginx-listen-proxy-protocol",
        title: "Make nginx read the PROXY header on this listener",
        side: Side::Receiver,
        applies_to: "nginx (http or stream server block)",
        change: "# every server on this addr:port must agree\nlisten {port}{ ssl} proxy_protocol;\nset_real_ip_from 10.0.0.0/16;   # the LB's source range\nreal_ip_header proxy_protocol;",
        doc: "https://docs.nginx.com/nginx/admin-guide/load-balancer/using-proxy-protocol/",
    },
    Fix {
        id: "nginx-remove-proxy-protocol",
        title: "Stop nginx expecting a header that nothing sends",
        side: Side::Receiver,
        applies_to: "nginx",
        change: "# drop the proxy_protocol parameter, or give direct clients their own\n# listener without it (listen 8443 ssl;)\nlisten {port}{ ssl};",
        doc: "https://nginx.org/en/docs/http/ngx_http_core_module.html#listen",
    },
    Fix {
        id: "nginx-listen-options-agree",
        title: "Give every nginx server block on one address:port the same listen options",
        side: Side::Receiver,
        applies_to: "nginx",
        change: "# all of these must carry proxy_protocol, or none of them:\nserver { listen 80 proxy_protocol; server_name a.example; }\nserver { listen 80 proxy_protocol; server_name b.example; }",
        doc: "https://nginx.org/en/docs/http/ngx_http_core_module.html#listen",
    },
    // checked: nginx stream proxy module (proxy_protocol on; sends v1 only).
    Fix {
        id: "nginx-stream-send-proxy-protocol",
        title: "Send, don't accept, in an nginx stream proxy that forwards to a PROXY-aware backend",
        side: Side::Sender,
        applies_to: "nginx stream module",
        change: "server {\n    listen 443;\n    proxy_pass backend;\n    proxy_protocol on;     # sends a v1 header to the upstream\n}",
        doc: "https://nginx.org/en/docs/stream/ngx_stream_proxy_module.html#proxy_protocol",
    },
    // checked: HAProxy configuration manual, bind option accept-proxy.
    Fix {
        id: "haproxy-accept-proxy",
        title: "Make HAProxy read the PROXY header (v1 and v2)",
        side: Side::Receiver,
        applies_to: "HAProxy (frontend bind line)",
        change: "bind :{port} accept-proxy",
        doc: "https://docs.haproxy.org/2.8/configuration.html#5.1-accept-proxy",
    },
    // checked: HAProxy manual, server options send-proxy / send-proxy-v2 / check-send-proxy.
    Fix {
        id: "haproxy-send-proxy",
        title: "Make HAProxy send the header the backend expects",
        side: Side::Sender,
        applies_to: "HAProxy (backend server line)",
        change: "# send-proxy for v1\nserver app1 10.0.0.5:443 send-proxy-v2 check check-send-proxy",
        doc: "https://docs.haproxy.org/2.8/configuration.html#5.2-send-proxy-v2",
    },
    // checked: HAProxy manual, "mode tcp" and the server options send-proxy,
    // send-proxy-v2 (mail and database ports are TCP, not HTTP).
    Fix {
        id: "haproxy-tcp-send-proxy",
        title: "Make HAProxy (mode tcp) send the header to the mail or database server",
        side: Side::Sender,
        applies_to: "HAProxy in front of SMTP, IMAP, POP3 or MySQL (mode tcp)",
        change: "frontend mail\n    mode tcp\n    bind :25\n    default_backend mx\nbackend mx\n    mode tcp\n    # send-proxy for v1; the server must be set to read it\n    server mx1 10.0.0.5:{port} send-proxy-v2",
        doc: "https://docs.haproxy.org/2.8/configuration.html#5.2-send-proxy-v2",
    },
    // checked: nginx stream proxy module (proxy_protocol on; v1 only).
    Fix {
        id: "nginx-stream-send-proxy-tcp",
        title: "Make an nginx stream proxy send the header to the mail or database server",
        side: Side::Sender,
        applies_to: "nginx stream module in front of SMTP, IMAP, POP3 or MySQL",
        change: "stream {\n    server {\n        listen 25;\n        proxy_pass 10.0.0.5:{port};\n        proxy_protocol on;   # a v1 header before the client's bytes\n    }\n}",
        doc: "https://nginx.org/en/docs/stream/ngx_stream_proxy_module.html#proxy_protocol",
    },
    // checked: Postfix postconf(5) smtpd_upstream_proxy_protocol,
    // postscreen_upstream_proxy_protocol (Postfix 2.10+: haproxy).
    Fix {
        id: "postfix-upstream-proxy-protocol",
        title: "Make Postfix read the PROXY header on the port the proxy connects to",
        side: Side::Receiver,
        applies_to: "Postfix (master.cf; smtpd, or postscreen in front of it)",
        change: "# master.cf: a port for the proxy alone (clients without a header\n# get no banner there, then 421)\n{port}  inet  n  -  y  -  -  smtpd\n  -o smtpd_upstream_proxy_protocol=haproxy\n# with postscreen on the port, set it there instead:\n#   -o postscreen_upstream_proxy_protocol=haproxy",
        doc: "https://www.postfix.org/postconf.5.html#smtpd_upstream_proxy_protocol",
    },
    // checked: postconf(5): smtpd_upstream_proxy_protocol and
    // postscreen_upstream_proxy_protocol take no list of senders; master(5):
    // a service name of host:port binds that address alone.
    Fix {
        id: "postfix-proxy-port-private",
        title: "Let only the proxy reach Postfix's PROXY port",
        side: Side::Receiver,
        applies_to: "Postfix (master.cf) with *_upstream_proxy_protocol = haproxy",
        change: "# Postfix takes a header from any peer: bind the proxy's port to\n# an address only the proxy reaches (and firewall it)\n10.0.0.5:{port}  inet  n  -  y  -  -  smtpd\n  -o smtpd_upstream_proxy_protocol=haproxy",
        doc: "https://www.postfix.org/postconf.5.html#smtpd_upstream_proxy_protocol",
    },
    // checked: Dovecot docs' HAProxy page (haproxy = yes on an
    // inet_listener, haproxy_trusted_networks); Dovecot 2.3 takes the same
    // settings (tests/peers/dovecot/mail.conf).
    Fix {
        id: "dovecot-haproxy",
        title: "Make Dovecot read the PROXY header on a listener for the proxy",
        side: Side::Receiver,
        applies_to: "Dovecot (imap-login, pop3-login, submission-login listeners)",
        change: "service imap-login {\n  inet_listener imap_proxy {\n    port = {port}\n    haproxy = yes\n  }\n}\n# pop3-login likewise; and who may send a header:\nhaproxy_trusted_networks = 10.0.0.0/16",
        doc: "https://doc.dovecot.org/2.4.5/core/config/proxy/haproxy.html",
    },
    Fix {
        id: "dovecot-haproxy-trusted-networks",
        title: "List the proxy's addresses in Dovecot's haproxy_trusted_networks",
        side: Side::Receiver,
        applies_to: "Dovecot listeners with haproxy = yes",
        change: "# the address the proxy connects from (its private address, every\n# node, IPv6); others are dropped without a word\nhaproxy_trusted_networks = 10.0.0.0/16",
        doc: "https://doc.dovecot.org/2.4.5/core/config/proxy/haproxy.html",
    },
    // checked: MariaDB KB "Proxy Protocol Support" (proxy-protocol-networks,
    // 10.3+); the header is optional from those networks (tests/protocols.rs).
    Fix {
        id: "mariadb-proxy-protocol-networks",
        title: "Make MariaDB take the PROXY header from the proxy's addresses",
        side: Side::Receiver,
        applies_to: "MariaDB 10.3+ (my.cnf, [mariadbd])",
        change: "[mariadbd]\n# the proxy alone: from these addresses a header is taken when it\n# comes, and a client without one is served as itself\nproxy-protocol-networks = 10.0.0.5/32",
        doc: "https://mariadb.com/kb/en/proxy-protocol-support/",
    },
    Fix {
        id: "mariadb-proxy-networks-narrow",
        title: "Keep MariaDB's proxy_protocol_networks to the proxy, and reach it only through the proxy",
        side: Side::Receiver,
        applies_to: "MariaDB with proxy_protocol_networks (the header is optional)",
        change: "[mariadbd]\n# MariaDB has no \"header required\" mode: list the proxy's address\n# only, and let nothing else connect from it\nproxy-protocol-networks = 10.0.0.5/32\n# grant users by the client's address, as the header gives it:\n# GRANT ... TO 'app'@'203.0.113.%'",
        doc: "https://mariadb.com/kb/en/proxy-protocol-support/",
    },
    Fix {
        id: "server-reads-no-header",
        title: "Send no PROXY header to a server that cannot read one",
        side: Side::Sender,
        applies_to: "the proxy in front of OpenSSH, PostgreSQL or Redis (none reads PROXY protocol)",
        change: "# HAProxy: no send-proxy* on this server line\nserver db1 10.0.0.5:{port}\n# nginx stream: no proxy_protocol on; in this server block\n# the server then sees the proxy's address: log clients at the proxy",
        doc: "https://www.haproxy.org/download/2.8/doc/proxy-protocol.txt",
    },
    // checked: HAProxy manual, tcp-request connection expect-proxy layer4.
    Fix {
        id: "haproxy-expect-proxy-allowlist",
        title: "Accept a header in HAProxy only from the load balancer's addresses",
        side: Side::Receiver,
        applies_to: "HAProxy (frontend)",
        change: "tcp-request connection expect-proxy layer4 if { src 10.0.0.0/16 }",
        doc: "https://docs.haproxy.org/2.8/configuration.html#4.2-tcp-request%20connection",
    },
    // checked: Envoy API, FilterChainMatch.direct_source_prefix_ranges (the
    // directly connected peer; source_prefix_ranges may be the PROXY
    // header's address); Kubernetes NetworkPolicy ipBlock.
    Fix {
        id: "envoy-admit-lb-only",
        title: "Let only the load balancer reach the port Envoy reads the header on",
        side: Side::Receiver,
        applies_to: "Envoy, Istio, Envoy Gateway, Contour (its listener, or the pods' NetworkPolicy)",
        change: "# Envoy's proxy_protocol filter has no trust list: admit only the LB.\n# Kubernetes (Istio, Envoy Gateway, Contour): a NetworkPolicy\nkind: NetworkPolicy\nspec:\n  podSelector: {matchLabels: {app: envoy}}   # the gateway's pods\n  ingress:\n  - from:\n    - ipBlock: {cidr: 10.0.0.0/16}   # where the LB connects from\n# an Envoy bootstrap: each filter chain of the listener\nfilter_chain_match:\n  direct_source_prefix_ranges:\n  - {address_prefix: 10.0.0.0, prefix_len: 16}   # the LB's sources",
        doc: "https://www.envoyproxy.io/docs/envoy/latest/api-v3/config/listener/v3/listener_components.proto#config-listener-v3-filterchainmatch",
    },
    // checked: Envoy proxy_protocol listener filter docs.
    Fix {
        id: "envoy-proxy-protocol-filter",
        title: "Add Envoy's proxy_protocol listener filter (header required)",
        side: Side::Receiver,
        applies_to: "Envoy (listener)",
        change: "listener_filters:\n- name: envoy.filters.listener.proxy_protocol\n  typed_config:\n    \"@type\": type.googleapis.com/envoy.extensions.filters.listener.proxy_protocol.v3.ProxyProtocol\n# leave allow_requests_without_proxy_protocol unset:\n# setting it makes the address spoofable",
        doc: "https://www.envoyproxy.io/docs/envoy/latest/configuration/listeners/listener_filters/proxy_protocol",
    },
    // checked: Traefik entrypoint docs (proxyProtocol.trustedIPs / insecure).
    Fix {
        id: "traefik-trusted-ips",
        title: "List the load balancer's real source addresses in Traefik",
        side: Side::Receiver,
        applies_to: "Traefik (entryPoint)",
        change: "entryPoints:\n  websecure:\n    address: \":443\"\n    proxyProtocol:\n      # where the LB connects from, often a private range\n      trustedIPs: [\"10.0.0.0/16\"]",
        doc: "https://doc.traefik.io/traefik/routing/entrypoints/#proxyprotocol",
    },
    // checked: pires/go-proxyproto README (Policy, REQUIRE default since v0.15).
    Fix {
        id: "go-proxyproto-policy",
        title: "Set go-proxyproto's policy: REQUIRE from the load balancer, REJECT from others",
        side: Side::Receiver,
        applies_to: "Go programs using github.com/pires/go-proxyproto",
        change: "// lbOnly: a proxyproto.ConnPolicyFunc that gives REQUIRE for the LB's\n// addresses and REJECT (or IGNORE) for everyone else\nln := &proxyproto.Listener{Listener: tcp, ConnPolicy: lbOnly}",
        doc: "https://pkg.go.dev/github.com/pires/go-proxyproto#Policy",
    },
    Fix {
        id: "parse-header-before-tls",
        title: "Read the PROXY header before the TLS handshake",
        side: Side::Receiver,
        applies_to: "any TLS server (Go, Caddy, Node, Java, rustls, OpenSSL apps)",
        change: "# wrap the raw TCP listener with the PROXY parser first, TLS on top:\n# Go: tls.NewListener(&proxyproto.Listener{...}, config)\n# Caddy: the proxy_protocol listener wrapper before tls",
        doc: "https://caddyserver.com/docs/caddyfile/options#listener-wrappers",
    },
    // checked: AWS LB Controller service annotations (target-group-attributes).
    Fix {
        id: "aws-nlb-proxy-protocol-v2",
        title: "Turn on PROXY v2 on the AWS NLB target group",
        side: Side::Sender,
        applies_to: "AWS Network Load Balancer (AWS Load Balancer Controller)",
        change: "metadata:\n  annotations:\n    service.beta.kubernetes.io/aws-load-balancer-target-group-attributes: >-\n      proxy_protocol_v2.enabled=true\n# without Kubernetes:\n# aws elbv2 modify-target-group-attributes --target-group-arn ARN \\\n#   --attributes Key=proxy_protocol_v2.enabled,Value=true",
        doc: "https://docs.aws.amazon.com/elasticloadbalancing/latest/network/edit-target-group-attributes.html#proxy-protocol",
    },
    // checked: AWS LB Controller annotations table ("Set to \"*\" to enable");
    // the in-tree controller ignores it for NLBs (ingress-nginx #7905).
    Fix {
        id: "aws-legacy-proxy-protocol-annotation",
        title: "Turn on PROXY protocol with the legacy AWS annotation",
        side: Side::Sender,
        applies_to: "AWS Classic ELB (v1), or an NLB managed by the AWS Load Balancer Controller (v2)",
        change: "metadata:\n  annotations:\n    service.beta.kubernetes.io/aws-load-balancer-proxy-protocol: \"*\"\n# the in-tree cloud provider ignores it for NLBs:\n# use the target-group attribute there",
        doc: "https://kubernetes-sigs.github.io/aws-load-balancer-controller/latest/guide/service/annotations/#proxy-protocol-v2",
    },
    // checked: attribute name seen in AWS LB Controller users' manifests and
    // TiDB's NLB notes; the AWS doc page anchor is unverified.
    Fix {
        id: "aws-nlb-header-on-first-ack",
        title: "Send the NLB's header on connect, for server-speaks-first protocols",
        side: Side::Sender,
        applies_to: "AWS Network Load Balancer (SMTP, SSH, FTP, MySQL, ... behind it)",
        change: "metadata:\n  annotations:\n    service.beta.kubernetes.io/aws-load-balancer-target-group-attributes: >-\n      proxy_protocol_v2.enabled=true,\n      proxy_protocol_v2.client_to_server.header_placement=on_first_ack",
        doc: "https://docs.aws.amazon.com/elasticloadbalancing/latest/network/edit-target-group-attributes.html#proxy-protocol",
    },
    // checked: DigitalOcean CCM annotations doc and DOKS "configure load balancers".
    Fix {
        id: "digitalocean-proxy-protocol",
        title: "Turn on PROXY protocol on the DigitalOcean load balancer",
        side: Side::Sender,
        applies_to: "DigitalOcean Kubernetes (Service of type LoadBalancer)",
        change: "metadata:\n  annotations:\n    service.beta.kubernetes.io/do-loadbalancer-enable-proxy-protocol: >-\n      true",
        doc: "https://docs.digitalocean.com/products/kubernetes/how-to/configure-load-balancers/#proxy-protocol",
    },
    // checked: annotation used in hcloud-cloud-controller-manager examples;
    // the docs path below is unverified.
    Fix {
        id: "hetzner-proxy-protocol",
        title: "Turn on PROXY protocol on the Hetzner load balancer",
        side: Side::Sender,
        applies_to: "Hetzner Cloud (hcloud-cloud-controller-manager)",
        change: "metadata:\n  annotations:\n    load-balancer.hetzner.cloud/uses-proxyprotocol: \"true\"",
        doc: "https://github.com/hetznercloud/hcloud-cloud-controller-manager/blob/main/docs/reference/load_balancer_annotations.md",
    },
    // checked: scaleway-cloud-controller-manager docs/loadbalancer-annotations.md.
    Fix {
        id: "scaleway-proxy-protocol",
        title: "Turn on PROXY protocol v2 on the Scaleway load balancer",
        side: Side::Sender,
        applies_to: "Scaleway Kapsule (scaleway-cloud-controller-manager)",
        change: "metadata:\n  annotations:\n    # or \"80,443\" for those ports; -v1 for v1\n    service.beta.kubernetes.io/scw-loadbalancer-proxy-protocol-v2: \"true\"",
        doc: "https://github.com/scaleway/scaleway-cloud-controller-manager/blob/master/docs/loadbalancer-annotations.md",
    },
    // checked: linode-cloud-controller-manager annotations package (none, v1, v2).
    Fix {
        id: "linode-proxy-protocol",
        title: "Turn on PROXY protocol on the Linode/Akamai NodeBalancer",
        side: Side::Sender,
        applies_to: "Linode Kubernetes Engine (linode-cloud-controller-manager)",
        change: "metadata:\n  annotations:\n    # none | v1 | v2\n    service.beta.kubernetes.io/linode-loadbalancer-default-proxy-protocol: v2",
        doc: "https://github.com/linode/linode-cloud-controller-manager#annotations",
    },
    // checked: cloud-provider-azure reconciles the PLS, and its
    // EnableProxyProtocol, only when azure-pls-create is "true"
    // (serviceRequiresPLS), on an internal load balancer.
    Fix {
        id: "azure-pls-proxy-protocol",
        title: "Turn on PROXY v2 on the Azure Private Link Service",
        side: Side::Sender,
        applies_to: "Azure (cloud-provider-azure, Private Link Service)",
        change: "metadata:\n  annotations:\n    # the header is the PLS's: clients come through its private\n    # endpoints, not to the LB's own frontend\n    service.beta.kubernetes.io/azure-load-balancer-internal: \"true\"\n    service.beta.kubernetes.io/azure-pls-create: \"true\"\n    service.beta.kubernetes.io/azure-pls-proxy-protocol: \"true\"",
        doc: "https://cloud-provider-azure.sigs.k8s.io/topics/pls-integration/",
    },
    // unverified: flag spelling from the field guide (gcloud target-tcp-proxies).
    Fix {
        id: "gcp-proxy-header",
        title: "Send PROXY v1 from the Google Cloud TCP/SSL proxy load balancer",
        side: Side::Sender,
        applies_to: "Google Cloud TCP/SSL proxy load balancer",
        change: "gcloud compute target-tcp-proxies update NAME --proxy-header=PROXY_V1\n# and for its TCP health check:\ngcloud compute health-checks update tcp NAME --proxy-header=PROXY_V1",
        doc: "https://cloud.google.com/load-balancing/docs/tcp/setting-up-tcp#proxy-protocol",
    },
    Fix {
        id: "enable-at-sender",
        title: "Make the load balancer in front actually send the header",
        side: Side::Sender,
        applies_to: "the load balancer or proxy in front of this port",
        change: "# HAProxy: send-proxy-v2 on the server line\n# nginx stream: proxy_protocol on;\n# AWS NLB: proxy_protocol_v2.enabled=true\n# DigitalOcean, Hetzner, Scaleway, Linode, Azure, GCP: see the fixes\n#   aws-nlb-proxy-protocol-v2, digitalocean-proxy-protocol,\n#   hetzner-proxy-protocol, scaleway-proxy-protocol,\n#   linode-proxy-protocol, azure-pls-proxy-protocol, gcp-proxy-header\n# then check the wire with ppctl listen: YAML that says so is not proof",
        doc: "https://www.haproxy.org/download/2.8/doc/proxy-protocol.txt",
    },
    Fix {
        id: "tls-to-plain-port",
        title: "Point TLS clients at the TLS port (or enable TLS on this listener)",
        side: Side::Client,
        applies_to: "the client or the LB's target port",
        change: "# use the https/TLS port for TLS clients,\n# or add ssl to this listener (nginx):\nlisten {port} ssl;",
        doc: "https://nginx.org/en/docs/http/configuring_https_servers.html",
    },
    // checked: RFC 8314 section 3 (implicit TLS for submission on 465,
    // IMAP on 993, POP3 on 995: the client starts the TLS handshake).
    Fix {
        id: "implicit-tls-port",
        title: "Start with TLS on an implicit-TLS port, or use the plain port",
        side: Side::Client,
        applies_to: "clients of SMTPS (465), IMAPS (993), POP3S (995)",
        change: "# an implicit-TLS port waits for the client's TLS handshake and\n# says nothing first: its greeting comes inside TLS\nppctl send host:465     # --protocol auto: TLS on 465, 993, 995\n# or speak the plain protocol on its plain port (25/587, 143, 110)",
        doc: "https://www.rfc-editor.org/rfc/rfc8314#section-3",
    },
    Fix {
        id: "confirm-hop-adds-header",
        title: "Confirm which hop adds the header the backend does not read",
        side: Side::Platform,
        applies_to: "the hops between this port and the backend (load balancer, TCP proxy, ingress)",
        change: "# in place of the backend: shows the header each connection brings\nppctl listen :PORT\n# which hop sends a header, and which reads one\nppctl check nginx.conf haproxy.cfg\n# on the proxy host: both hops of one connection, side by side\nppctl pcap proxy-host.pcap",
        doc: "https://www.haproxy.org/download/2.8/doc/proxy-protocol.txt",
    },
    Fix {
        id: "disable-at-sender",
        title: "Or turn the PROXY option off at the sender",
        side: Side::Sender,
        applies_to: "the load balancer or proxy in front of this port",
        change: "# when the receiver cannot read headers, remove the PROXY option\n# where it is set: HAProxy send-proxy*, nginx stream proxy_protocol on,\n# the cloud annotation",
        doc: "https://www.haproxy.org/download/2.8/doc/proxy-protocol.txt",
    },
    // checked: Kubernetes docs "Preserving the client source IP".
    Fix {
        id: "external-traffic-policy-local",
        title: "Keep the client IP without PROXY protocol: externalTrafficPolicy Local",
        side: Side::Platform,
        applies_to: "Kubernetes Service of type LoadBalancer (LBs that do not NAT the source)",
        change: "spec:\n  # only nodes with a ready pod receive traffic; no header needed\n  externalTrafficPolicy: Local",
        doc: "https://kubernetes.io/docs/tasks/access-application-cluster/create-external-load-balancer/#preserving-the-client-source-ip",
    },
    // checked: KEP-1860 (ipMode), hcloud-ccm release notes; DO/Hetzner hostname annotations.
    Fix {
        id: "hairpin-ip-mode-proxy",
        title: "Stop in-cluster traffic to the LB IP from skipping the LB (hairpin)",
        side: Side::Platform,
        applies_to: "Kubernetes (kube-proxy / CNI short-circuits traffic to status.loadBalancer IPs)",
        change: "status:\n  loadBalancer:\n    ingress:\n    - ip: 203.0.113.10\n      ipMode: Proxy   # set by the cloud controller (Kubernetes >= 1.30)\n# or publish a hostname instead:\n# service.beta.kubernetes.io/do-loadbalancer-hostname\n# load-balancer.hetzner.cloud/hostname",
        doc: "https://kubernetes.io/docs/concepts/services-networking/service/#load-balancer-ip-mode",
    },
    Fix {
        id: "health-check-match",
        title: "Make health checks speak the same way as the data path",
        side: Side::Sender,
        applies_to: "the load balancer's health checks",
        change: "# either send a header in checks (HAProxy check-send-proxy;\n# GCP --proxy-header=PROXY_V1; the cloud's health-check PROXY toggle),\n# or point checks at a port that does not expect one",
        doc: "https://docs.haproxy.org/2.8/configuration.html#5.2-check-send-proxy",
    },
    Fix {
        id: "route-through-lb",
        title: "Send direct clients through the load balancer, or give them their own port",
        side: Side::Client,
        applies_to: "monitoring agents, scanners, in-cluster callers, health probes",
        change: "# connect via the LB address, or open a second listener without\n# PROXY protocol (bound to an internal address) for direct clients",
        doc: "https://www.haproxy.org/download/2.8/doc/proxy-protocol.txt",
    },
    // checked: curl man page (--haproxy-protocol, v1 only, 7.60.0+).
    Fix {
        id: "client-send-header",
        title: "Make a direct client send a header itself",
        side: Side::Client,
        applies_to: "curl, probes, scripts",
        change: "curl --haproxy-protocol https://host/   # v1 only\nppctl send -2 host:80                   # a v2 header, then a request",
        doc: "https://curl.se/docs/manpage.html#--haproxy-protocol",
    },
    Fix {
        id: "match-version",
        title: "Use a header version the receiver accepts",
        side: Side::Sender,
        applies_to: "the sender (LB or proxy)",
        change: "# v1-only receivers (cloudflare mmproxy, some apps) need send-proxy\n# or PROXY_V1; AWS NLB, Azure PLS and GCP PSC send v2 only:\n# the receiver must accept v2",
        doc: "https://www.haproxy.org/download/2.8/doc/proxy-protocol.txt",
    },
    Fix {
        id: "single-header-hop",
        title: "Let exactly one hop add the header",
        side: Side::Sender,
        applies_to: "chains of L4 proxies (LB -> proxy -> app)",
        change: "# the first PROXY-aware hop consumes the header and re-emits one;\n# no other hop adds another (an AWS NLB forwards a header already\n# in the stream unchanged)",
        doc: "https://docs.aws.amazon.com/elasticloadbalancing/latest/network/edit-target-group-attributes.html#proxy-protocol",
    },
    Fix {
        id: "require-header-and-allowlist",
        title: "Require the header on a dedicated port and accept it only from the LB",
        side: Side::Receiver,
        applies_to: "receivers with an optional/auto-detect mode (spoofable)",
        change: "# turn auto-detect off (Traefik insecure=false, Envoy\n# allow_requests_without_proxy_protocol unset, go-proxyproto REQUIRE)\n# and allowlist the LB's source range",
        doc: "https://www.haproxy.org/download/2.8/doc/proxy-protocol.txt",
    },
    Fix {
        id: "small-header-or-upgrade",
        title: "Keep the header within one segment, or upgrade the receiver",
        side: Side::Sender,
        applies_to: "senders adding large TLVs; nginx reads v2 in one recv",
        change: "# drop large TLVs (certificates, long unique ids), or upgrade nginx\n# (the split-header fix, nginx #1400)",
        doc: "https://nginx.org/en/docs/http/ngx_http_core_module.html#listen",
    },
    Fix {
        id: "fix-sender-header",
        title: "Fix the sender: it emits a malformed header",
        side: Side::Sender,
        applies_to: "the sender that wrote these bytes",
        change: "# compare with a valid header: the broken rule and its offset\nppctl inspect '<bytes>'",
        doc: "https://www.haproxy.org/download/2.8/doc/proxy-protocol.txt",
    },
    Fix {
        id: "speak-tls-to-tls-port",
        title: "Send TLS to the TLS port, plain HTTP to the plain one",
        side: Side::Sender,
        applies_to: "the load balancer (or client) in front of an ssl listener",
        change: "# a load balancer that terminates TLS forwards to the plain port:\nlisten 80 proxy_protocol;\n# one that passes TLS through keeps it TLS (HAProxy: mode tcp,\n# server ... send-proxy-v2); test it with ppctl send --tls",
        doc: "https://nginx.org/en/docs/http/ngx_http_ssl_module.html#errors",
    },
    // checked: nginx beginner's guide, "Starting, Stopping, and Reloading
    // Configuration" (nginx -s reload); HAProxy management guide (-c checks).
    Fix {
        id: "reload-after-change",
        title: "Make the running server run this configuration, then probe again",
        side: Side::Receiver,
        applies_to: "the server that owns the port (nginx, HAProxy, an ingress controller)",
        change: "nginx -t && nginx -s reload\nhaproxy -c -f /etc/haproxy/haproxy.cfg && systemctl reload haproxy\nss -ltnp 'sport = :PORT'      # which process owns the port\nppctl check --probe FILE...   # the wire now agrees with the file",
        doc: "https://nginx.org/en/docs/beginners_guide.html#control",
    },
    // checked: HAProxy configuration manual, 8.5 "Session state at
    // disconnection" (the termination flags in each log line).
    Fix {
        id: "read-receiver-log",
        title: "Read the receiver's log for why it dropped the connection",
        side: Side::Receiver,
        applies_to: "the application or proxy behind the PROXY layer",
        change: "# the header went through: the reset is the application's\n# HAProxy: the termination state of the log line (SD, SH, CD...)\n# nginx: error.log (client_max_body_size, upstream timed out)\n# an application: its crash or request-size limit in its own log",
        doc: "https://docs.haproxy.org/2.8/configuration.html#8.5",
    },
    Fix {
        id: "tls-trust-certificate",
        title: "Trust the receiver's certificate, or ask for the name it is valid for",
        side: Side::Client,
        applies_to: "the client (ppctl send --tls, curl)",
        change: "--cacert FILE with the issuing CA, --sni NAME that the certificate names,\nor -k/--insecure to skip the check while debugging (curl: the same flags)",
        doc: "https://curl.se/docs/sslcerts.html",
    },
];

/// The fix with this id, if any.
pub fn find(id: &str) -> Option<&'static Fix> {
    FIXES.iter().find(|f| f.id == id)
}

/// The fix with this id. Ids are compile-time constants of the other
/// diagnostic tables (checked by their unit tests), never user input.
///
/// # Panics
/// When `id` is not in [`FIXES`]: a programming error in a table.
pub fn get(id: &str) -> &'static Fix {
    match find(id) {
        Some(f) => f,
        None => panic!("fix id {id:?} is not in diagnose::fixes::FIXES"),
    }
}

/// Fixes that change a Kubernetes object, and so are no alternative where
/// no cluster is in sight (`check` of a plain nginx tree).
const KUBERNETES_ONLY: [&str; 2] = ["external-traffic-policy-local", "hairpin-ip-mode-proxy"];

impl Fix {
    /// Whether the change is to a Kubernetes object.
    pub fn kubernetes_only(&self) -> bool {
        KUBERNETES_ONLY.contains(&self.id)
    }
}

/// All fixes for a list of ids, in order, without repeats.
pub fn collect<'a>(ids: impl IntoIterator<Item = &'a str>) -> Vec<&'static Fix> {
    let mut out: Vec<&'static Fix> = Vec::new();
    for id in ids {
        let f = get(id);
        if !out.iter().any(|o| o.id == f.id) {
            out.push(f);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_kebab_case_and_linked() {
        for (i, f) in FIXES.iter().enumerate() {
            assert!(
                f.id.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
                "{}",
                f.id
            );
            assert!(f.doc.starts_with("https://"), "{}", f.id);
            assert!(!f.change.is_empty() && !f.title.is_empty());
            assert!(
                FIXES[i + 1..].iter().all(|o| o.id != f.id),
                "duplicate {}",
                f.id
            );
        }
    }

    /// Each line of a change fits 80 columns under the 6 columns of its
    /// indent (a view never wraps a line of configuration), unless one of
    /// its words alone is too long to (a YAML key, an Envoy type URL).
    #[test]
    fn every_line_of_a_change_fits_under_its_indent() {
        for f in FIXES {
            for case in [
                Case::default(),
                Case {
                    port: Some(65535),
                    tls: Some(true),
                    protocol: None,
                },
            ] {
                for l in f.change_for(case).lines() {
                    let unbreakable = l.split_whitespace().any(|w| w.chars().count() > 40);
                    assert!(
                        l.chars().count() <= 74 || unbreakable,
                        "{}: {l:?} is {} columns",
                        f.id,
                        l.chars().count()
                    );
                }
            }
        }
    }

    #[test]
    fn a_snippet_is_built_for_the_case_or_stays_generic() {
        let listen = get("nginx-listen-proxy-protocol");
        let plain = Case {
            port: Some(8081),
            tls: Some(false),
            protocol: None,
        };
        let tls = Case {
            port: Some(443),
            tls: Some(true),
            protocol: None,
        };
        assert!(listen
            .change_for(plain)
            .contains("\nlisten 8081 proxy_protocol;\n"));
        assert!(listen
            .change_for(tls)
            .contains("\nlisten 443 ssl proxy_protocol;\n"));
        assert!(listen
            .change_for(Case::default())
            .contains("\nlisten PORT [ssl] proxy_protocol;\n"));
        assert_eq!(
            get("haproxy-accept-proxy").change_for(plain),
            "bind :8081 accept-proxy"
        );
        for f in FIXES {
            let generic = f.change_for(Case::default());
            assert!(
                !generic.contains("{port}") && !generic.contains("{ ssl}"),
                "{}: {generic}",
                f.id
            );
        }
    }

    #[test]
    fn collect_dedups_and_renders() {
        let v = collect([
            "haproxy-accept-proxy",
            "haproxy-accept-proxy",
            "nginx-listen-proxy-protocol",
        ]);
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].id, "haproxy-accept-proxy");
    }
}
