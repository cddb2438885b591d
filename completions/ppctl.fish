# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_ppctl_global_optspecs
    string join \n color= h/help V/version
end

function __fish_ppctl_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_ppctl_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_ppctl_using_subcommand
    set -l cmd (__fish_ppctl_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c ppctl -n "__fish_ppctl_needs_command" -l color -d 'When to use color: auto (a terminal, and NO_COLOR unset), always, never' -r -f -a "auto\t'Color when stdout is a terminal and NO_COLOR is not set'
always\t''
never\t''"
complete -c ppctl -n "__fish_ppctl_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ppctl -n "__fish_ppctl_needs_command" -s V -l version -d 'Print version'
complete -c ppctl -n "__fish_ppctl_needs_command" -f -a "inspect" -d 'Decode and explain bytes: is this a valid PROXY header, and what would receivers do?'
complete -c ppctl -n "__fish_ppctl_needs_command" -f -a "explain" -d 'Explain a pasted log line or error message: which system, what it means, the fix'
complete -c ppctl -n "__fish_ppctl_needs_command" -f -a "probe" -d 'Find out what an endpoint expects: no header, v1, v2, or either (spoofable)'
complete -c ppctl -n "__fish_ppctl_needs_command" -f -a "listen" -d 'Stand up a receiver that shows exactly what arrived (like nginx with or without proxy_protocol)'
complete -c ppctl -n "__fish_ppctl_needs_command" -f -a "repro" -d 'Reproduce the sender/receiver mismatch (the 400 Bad Request) on loopback, and explain each cell'
complete -c ppctl -n "__fish_ppctl_needs_command" -f -a "send" -d 'Send a crafted PROXY header (and a payload) to a receiver, and explain its reply'
complete -c ppctl -n "__fish_ppctl_needs_command" -f -a "pcap" -d 'Find every PROXY header in a capture, pair it with the server\'s answer, and give a verdict per flow'
complete -c ppctl -n "__fish_ppctl_needs_command" -f -a "conform" -d 'Grade a live receiver against the spec: framing, rejection, trust and deadlines (h2spec for PROXY)'
complete -c ppctl -n "__fish_ppctl_needs_command" -f -a "check" -d 'Read every hop\'s configuration (nginx, HAProxy, Kubernetes, Helm values, Traefik, Envoy, Caddy, Postfix, Dovecot, MariaDB) and find the PROXY mismatch before the rollout'
complete -c ppctl -n "__fish_ppctl_needs_command" -f -a "relay" -d 'Relay TCP to an upstream, adding, translating or stripping the PROXY header, and show each connection'
complete -c ppctl -n "__fish_ppctl_needs_command" -f -a "completions" -d 'Print shell completions to stdout'
complete -c ppctl -n "__fish_ppctl_needs_command" -f -a "man" -d 'Write the man pages: the top page to stdout, or every page into --dir'
complete -c ppctl -n "__fish_ppctl_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c ppctl -n "__fish_ppctl_using_subcommand inspect" -s f -l file -d 'Read the bytes from a file (raw, or any of the text forms)' -r -F
complete -c ppctl -n "__fish_ppctl_using_subcommand inspect" -l sample -d 'Inspect a built-in sample: v1, v2, aws-nlb, health-check, broken, http' -r
complete -c ppctl -n "__fish_ppctl_using_subcommand inspect" -l encoding -d 'How to read the input; the default recognises the form' -r -f -a "auto\t'recognise hex, a tcpdump/tshark/xxd/hexdump dump, base64 or a Python b\'...\' literal; else escaped text (argument) or raw bytes (file, stdin)'
hex\t'hex digits (whitespace, `0x`, `:`, `-` and `\\x` separators are ignored), or a tcpdump -X/-xx, tshark -x, xxd or hexdump -C dump'
base64\t'base64, standard or URL-safe, padding optional'
text\t'text with \\r \\n \\t \\0 \\\\ \\xNN escapes (for an argument)'
raw\t'the bytes as they are (for a file or stdin)'"
complete -c ppctl -n "__fish_ppctl_using_subcommand inspect" -l color -d 'When to use color: auto (a terminal, and NO_COLOR unset), always, never' -r -f -a "auto\t'Color when stdout is a terminal and NO_COLOR is not set'
always\t''
never\t''"
complete -c ppctl -n "__fish_ppctl_using_subcommand inspect" -l json -d 'Print one JSON object (schema in docs/json.md)'
complete -c ppctl -n "__fish_ppctl_using_subcommand inspect" -l eof -d 'Treat the input as everything there will ever be: a header cut short is reported as truncated (invalid), not as incomplete'
complete -c ppctl -n "__fish_ppctl_using_subcommand inspect" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ppctl -n "__fish_ppctl_using_subcommand explain" -s f -l file -d 'Read the lines from a file (a log file)' -r -F
complete -c ppctl -n "__fish_ppctl_using_subcommand explain" -l color -d 'When to use color: auto (a terminal, and NO_COLOR unset), always, never' -r -f -a "auto\t'Color when stdout is a terminal and NO_COLOR is not set'
always\t''
never\t''"
complete -c ppctl -n "__fish_ppctl_using_subcommand explain" -l json -d 'Print one JSON document (docs/json.md); its `lines` are written as they are read'
complete -c ppctl -n "__fish_ppctl_using_subcommand explain" -l json-lines -d 'Print one JSON object per record as it is read, then a summary line (docs/json.md)'
complete -c ppctl -n "__fish_ppctl_using_subcommand explain" -s v -l verbose -d 'List the unrecognized lines too (they are only counted otherwise)'
complete -c ppctl -n "__fish_ppctl_using_subcommand explain" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ppctl -n "__fish_ppctl_using_subcommand probe" -l sni -d 'The SNI (default: the target\'s host name; none for an IP, which TLS does not put in SNI)' -r
complete -c ppctl -n "__fish_ppctl_using_subcommand probe" -l timeout -d 'How long to wait for the connect and for each reply (500ms, 2s, 1m; at most 60s)' -r
complete -c ppctl -n "__fish_ppctl_using_subcommand probe" -l max-time -d 'The longest one attempt may take in all (connect, header and the whole reply), however slowly the endpoint trickles; at most 60s [default: 10s]. With --watch: the longest the whole watch may take (5m, 1h; default: 10m with --until, else until SIGINT)' -r
complete -c ppctl -n "__fish_ppctl_using_subcommand probe" -l expect -d 'Exit 1 unless the endpoint\'s profile meets one of these (for CI; repeat or comma-separate: any one passes)' -r -f -a "requires-v1\t'takes a v1 header only, nothing without one'
requires-v2\t'takes a v2 header only, nothing without one'
requires-v1-or-v2\t'takes v1 or v2, nothing without a header'
accepts-v1\t'requires-v1 or requires-v1-or-v2: serves a v1 sender, nothing without a header (not optional: add --expect optional to allow it)'
accepts-v2\t'requires-v2 or requires-v1-or-v2: serves a v2 sender, nothing without a header (not optional: add --expect optional to allow it)'
no-header\t'takes connections without a header; a header there is unexpected-header'
optional\t'takes connections with and without a header (spoofable)'
unreachable\t'no connection could be made'
inconclusive\t'connected, but nothing was accepted (the endpoint may speak another protocol than the one probed)'"
complete -c ppctl -n "__fish_ppctl_using_subcommand probe" -l expect-body -d 'Exit 1 unless the body of each answer to an attempt accepted with a PROXY header contains PATTERN (a plain substring, not a regex; over --tls, the decrypted answer; the first 4096 bytes are searched)' -r
complete -c ppctl -n "__fish_ppctl_using_subcommand probe" -l expect-client-ip -d 'Exit 1 unless the client address the receiver reports to each attempt accepted with a PROXY header is in one of these (repeat or comma-separate; a bare IP is a /32 or /128). The address is read from a whoami page: ppctl listen\'s `remote_addr (realip): IP`, or `remote_addr=IP` in the body (nginx `return 200 "remote_addr=$remote_addr"`), or with --protocol mysql from MariaDB\'s answer to the login (`Host \'…\'`, `\'ppctl\'@\'…\'`): the JSON\'s `client_ip`. (listen\'s --expect-src checks the source a header claims instead.)' -r
complete -c ppctl -n "__fish_ppctl_using_subcommand probe" -l interval -d 'From the start of one probe to the start of the next (at least 100ms)' -r
complete -c ppctl -n "__fish_ppctl_using_subcommand probe" -l until -d 'Exit 0 as soon as the endpoint\'s profile meets one of these (and --expect-body, --expect-client-ip hold); exit 1 when --max-time comes first (10m unless given). Takes what --expect takes' -r -f -a "requires-v1\t'takes a v1 header only, nothing without one'
requires-v2\t'takes a v2 header only, nothing without one'
requires-v1-or-v2\t'takes v1 or v2, nothing without a header'
accepts-v1\t'requires-v1 or requires-v1-or-v2: serves a v1 sender, nothing without a header (not optional: add --expect optional to allow it)'
accepts-v2\t'requires-v2 or requires-v1-or-v2: serves a v2 sender, nothing without a header (not optional: add --expect optional to allow it)'
no-header\t'takes connections without a header; a header there is unexpected-header'
optional\t'takes connections with and without a header (spoofable)'
unreachable\t'no connection could be made'
inconclusive\t'connected, but nothing was accepted (the endpoint may speak another protocol than the one probed)'"
complete -c ppctl -n "__fish_ppctl_using_subcommand probe" -l serve -d 'Serve probes to Prometheus on ADDR (:PORT, IP:PORT, [IPv6]:PORT), as blackbox_exporter does: GET /probe?target=HOST:PORT&module=NAME probes and answers in the Prometheus text format; /metrics has the exporter\'s own; / lists the modules and the last probes (docs/monitoring.md). Runs until SIGINT or SIGTERM' -r
complete -c ppctl -n "__fish_ppctl_using_subcommand probe" -l config -d 'The modules to serve (YAML: probe\'s flags by name, per module; see docs/monitoring.md). Without it: http, tls and banner, with the defaults and no expectation' -r -F
complete -c ppctl -n "__fish_ppctl_using_subcommand probe" -l max-probes -d 'Probes run at once. A scrape that finds every slot busy waits for one as long as its scrape timeout leaves beyond the module\'s timeout, else gets 503' -r
complete -c ppctl -n "__fish_ppctl_using_subcommand probe" -l protocol -d 'What to speak after the header (docs/protocols.md). The server\'s greeting and answer are judged in that protocol\'s words' -r -f -a "http\t'an HTTP/1.1 request; judged by its status line'
tls\t'a TLS handshake after the header'
smtp\t'wait for the 220 banner, then EHLO (Postfix, Exim, ...)'
imap\t'wait for the * OK greeting, then CAPABILITY (Dovecot, ...)'
pop3\t'wait for the +OK greeting, then CAPA'
mysql\t'wait for the handshake, then a login as user ppctl (MariaDB, MySQL)'
postgres\t'an SSLRequest; answered N or S'
redis\t'PING; answered +PONG'
ssh\t'wait for SSH-2.0-..., then send an SSH identification'
raw\t'the payload you give (--data), or nothing: wait for the server'
auto\t'the well-known port\'s (25 smtp, 143 imap, 3306 mysql, ...), else the one the server greets in'"
complete -c ppctl -n "__fish_ppctl_using_subcommand probe" -l greeting-timeout -d 'How long a server that speaks first (smtp, imap, pop3, mysql, ssh) may take to greet after the header, or without one: longer than the server\'s own wait for a header (Postfix\'s smtpd_upstream_proxy_timeout is 5s), so its 421 is seen' -r
complete -c ppctl -n "__fish_ppctl_using_subcommand probe" -l color -d 'When to use color: auto (a terminal, and NO_COLOR unset), always, never' -r -f -a "auto\t'Color when stdout is a terminal and NO_COLOR is not set'
always\t''
never\t''"
complete -c ppctl -n "__fish_ppctl_using_subcommand probe" -l tls -d 'Send a TLS ClientHello after the header instead of an HTTP request (the certificate is never verified)'
complete -c ppctl -n "__fish_ppctl_using_subcommand probe" -l banner -d 'Send nothing after the header: wait for any banner (for a protocol ppctl knows, --protocol smtp, imap, pop3, mysql or ssh judges its greeting and answer in its words)'
complete -c ppctl -n "__fish_ppctl_using_subcommand probe" -l json -d 'Print one JSON object (docs/json.md); with --watch, one JSON line per change; with --serve, the first line'
complete -c ppctl -n "__fish_ppctl_using_subcommand probe" -l watch -d 'Probe again every --interval and print a line (with the time) when the profile, the finding or how an attempt was answered changes; the first probe always prints one'
complete -c ppctl -n "__fish_ppctl_using_subcommand probe" -l starttls -d 'After the plain opening (EHLO, CAPABILITY, CAPA), ask for TLS (SMTP and IMAP STARTTLS, POP3 STLS) and report the handshake'
complete -c ppctl -n "__fish_ppctl_using_subcommand probe" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ppctl -n "__fish_ppctl_using_subcommand listen" -l proxy-protocol -d 'What the receiver expects' -r -f -a "auto\t'v1, v2 or no header, said which (spoofable: any client can forge its address)'
require\t'like nginx `listen ... proxy_protocol`: a missing or broken header is closed'
off\t'like nginx without proxy_protocol: a header gets 400 Bad Request'"
complete -c ppctl -n "__fish_ppctl_using_subcommand listen" -l trust -d 'Peers allowed to send a header, like nginx `set_real_ip_from` (repeat or comma-separate; a bare IP is a /32 or /128). Others\' headers are rejected (require) or ignored (auto), as untrusted-source. Without it, anyone may' -r
complete -c ppctl -n "__fish_ppctl_using_subcommand listen" -l max-header -d 'Largest v2 header accepted, in bytes (16 + len); a larger one is header-too-large, checked as soon as its 16-byte prefix is in' -r
complete -c ppctl -n "__fish_ppctl_using_subcommand listen" -l header-timeout -d 'Time a client has for a complete header, counted once (a byte does not restart it), as ingress-nginx\'s proxy-protocol-header-timeout; e.g. 5s, 250ms; more than 0' -r
complete -c ppctl -n "__fish_ppctl_using_subcommand listen" -l request-timeout -d 'Time allowed for the whole first request head once the header is in (not restarted by each byte, so a client that trickles it is closed on time); more than 0' -r
complete -c ppctl -n "__fish_ppctl_using_subcommand listen" -l idle-timeout -d 'Longest silence after the header before closing, and longest wait for a client that does not read a reply (or `--echo`); more than 0' -r
complete -c ppctl -n "__fish_ppctl_using_subcommand listen" -l max-conns -d 'Connections served at once; more wait in the kernel\'s backlog' -r
complete -c ppctl -n "__fish_ppctl_using_subcommand listen" -l drain -d 'On SIGINT/SIGTERM, time in-flight connections get to finish; a second signal stops them at once' -r
complete -c ppctl -n "__fish_ppctl_using_subcommand listen" -l metrics -d 'Serve Prometheus metrics on ADDR (:PORT, IP:PORT, [IPv6]:PORT) at /metrics: connections by finding, transport and header, those open, the header wait and the connection time (docs/monitoring.md). Bind it to loopback or the monitoring network' -r
complete -c ppctl -n "__fish_ppctl_using_subcommand listen" -l expect-src -d 'Exit 1 unless every connection\'s header claims a source in one of these CIDRs (a bare IP is one address; repeat it or separate with commas: any one matches)' -r
complete -c ppctl -n "__fish_ppctl_using_subcommand listen" -l expect-version -d 'Exit 1 unless every connection carried a header of this version' -r
complete -c ppctl -n "__fish_ppctl_using_subcommand listen" -l cert -d 'The certificate chain (PEM) to serve with --tls' -r -F
complete -c ppctl -n "__fish_ppctl_using_subcommand listen" -l key -d 'The private key (PEM) of --cert' -r -F
complete -c ppctl -n "__fish_ppctl_using_subcommand listen" -l protocol -d 'Which server the stand-in copies, and what a client speaks to it (docs/protocols.md): nginx for http, Postfix for smtp, Dovecot for imap and pop3, MariaDB for mysql' -r -f -a "http\t'nginx 1.22.1\'s answers and the whoami page (the default)'
smtp\t'Postfix 3.7\'s smtpd; EHLO\'s 250 names the client'
imap\t'Dovecot 2.3\'s imap-login; the greeting names the client'
pop3\t'Dovecot 2.3\'s pop3-login; the greeting names the client'
mysql\t'MariaDB 10.11; the login\'s error names the client'"
complete -c ppctl -n "__fish_ppctl_using_subcommand listen" -l count -d 'Exit after N connections (datagrams with --udp)' -r
complete -c ppctl -n "__fish_ppctl_using_subcommand listen" -l threads -d 'Worker threads (default: 1, or 2 with --tls). One serves plain connections fastest on a small machine (docs/performance.md); more help many TLS handshakes on a machine with more cores.' -r
complete -c ppctl -n "__fish_ppctl_using_subcommand listen" -l color -d 'When to use color: auto (a terminal, and NO_COLOR unset), always, never' -r -f -a "auto\t'Color when stdout is a terminal and NO_COLOR is not set'
always\t''
never\t''"
complete -c ppctl -n "__fish_ppctl_using_subcommand listen" -l conform -d 'Grade every sender against the spec\'s sender rules (the header first and in one segment, CRLF, CRC32C, TLV lengths, LOCAL for health checks): each connection\'s line says what it missed, the summary grades the load balancer under test; a MUST missed is exit 1 (docs/conformance.md)'
complete -c ppctl -n "__fish_ppctl_using_subcommand listen" -l echo -d 'Echo non-HTTP bytes back (otherwise they are logged as a hexdump and the connection is closed)'
complete -c ppctl -n "__fish_ppctl_using_subcommand listen" -l udp -d 'Listen on UDP instead: decode a v2 header in every datagram'
complete -c ppctl -n "__fish_ppctl_using_subcommand listen" -l json -d 'JSON Lines on stdout: a "listening" object first (with the bound addresses), one "connection" object per connection (with its finding), a "summary" at the end (docs/json.md). Without it the same lines are text, also on stdout, starting with `listening on ADDR`'
complete -c ppctl -n "__fish_ppctl_using_subcommand listen" -l tls -d 'Serve TLS after the header (and, in auto and off modes, without one), like nginx `listen 443 ssl [proxy_protocol]`. Without --cert/--key a self-signed certificate is made for the listen addresses and localhost. Its SHA-256 fingerprint is printed under the `listening on` line (JSON: the listening object\'s tls.sha256)'
complete -c ppctl -n "__fish_ppctl_using_subcommand listen" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ppctl -n "__fish_ppctl_using_subcommand repro" -l target -d 'Run the sender column (no header, v1, v2) against this receiver (HOST:PORT) and say which receiver column it behaves like' -r
complete -c ppctl -n "__fish_ppctl_using_subcommand repro" -l timeout -d 'With --target: how long to wait for each reply' -r
complete -c ppctl -n "__fish_ppctl_using_subcommand repro" -l protocol -d 'Which server the stand-in copies, and what a client speaks to it (docs/protocols.md): nginx for http, Postfix for smtp, Dovecot for imap and pop3, MariaDB for mysql' -r -f -a "http\t'nginx 1.22.1\'s answers and the whoami page (the default)'
smtp\t'Postfix 3.7\'s smtpd; EHLO\'s 250 names the client'
imap\t'Dovecot 2.3\'s imap-login; the greeting names the client'
pop3\t'Dovecot 2.3\'s pop3-login; the greeting names the client'
mysql\t'MariaDB 10.11; the login\'s error names the client'"
complete -c ppctl -n "__fish_ppctl_using_subcommand repro" -l color -d 'When to use color: auto (a terminal, and NO_COLOR unset), always, never' -r -f -a "auto\t'Color when stdout is a terminal and NO_COLOR is not set'
always\t''
never\t''"
complete -c ppctl -n "__fish_ppctl_using_subcommand repro" -l tls -d 'The 443 case: each sender sends its header, then a TLS handshake and the request; the receivers serve TLS like nginx `listen 443 ssl` and `listen 443 ssl proxy_protocol`. Certificates are shown, never checked'
complete -c ppctl -n "__fish_ppctl_using_subcommand repro" -l json -d 'Print the matrix as one JSON object (docs/json.md)'
complete -c ppctl -n "__fish_ppctl_using_subcommand repro" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ppctl -n "__fish_ppctl_using_subcommand send" -l src -d 'Claimed source [default: the real local end of the socket]' -r
complete -c ppctl -n "__fish_ppctl_using_subcommand send" -l dst -d 'Claimed destination [default: the real peer end of the socket]' -r
complete -c ppctl -n "__fish_ppctl_using_subcommand send" -l unix-src -d 'UNIX source path (v2; a leading @ is the abstract namespace)' -r
complete -c ppctl -n "__fish_ppctl_using_subcommand send" -l unix-dst -d 'UNIX destination path (v2)' -r
complete -c ppctl -n "__fish_ppctl_using_subcommand send" -l like -d 'Send what a real emitter sends (see docs/presets.md)' -r -f -a "aws-nlb\t'AWS Network Load Balancer: v2 PROXY TCP4/TCP6 with the real ends, sent with the first payload; with --aws-vpce-id, the 0xEA VPC-endpoint TLV (PrivateLink)'
aws-nlb-health\t'AWS NLB health check: v2 LOCAL with family byte 0x11 but no address block, a CRC32C TLV and 74 bytes of NOOP padding (len 84)'
haproxy\t'HAProxy `send-proxy-v2`: v2 PROXY TCP4/TCP6, no TLVs (add --crc32c, --unique-id, --authority for proxy-v2-options)'
haproxy-check\t'HAProxy health check (`check-send-proxy`, 2.1+): v2 LOCAL, AF_UNSPEC, no address block: 16 bytes'
nginx\t'nginx stream `proxy_protocol on`: a v1 TCP4/TCP6 line (nginx sends v1 only)'
gcp-tcp-proxy\t'GCP TCP/SSL proxy load balancer (`--proxy-header=PROXY_V1`): a v1 line'
azure-pls\t'Azure Private Link Service: v2 PROXY + the 0xEE TLV, subtype 0x01, the private endpoint LINKID as u32 little-endian (--azure-link-id, default 1)'"
complete -c ppctl -n "__fish_ppctl_using_subcommand send" -l tlv -d 'A TLV: TYPE is a number (0xEA, 234) or a name (AUTHORITY); VALUE is hex after 0x, else text. Repeatable' -r
complete -c ppctl -n "__fish_ppctl_using_subcommand send" -l alpn -d 'ALPN TLV (e.g. h2)' -r
complete -c ppctl -n "__fish_ppctl_using_subcommand send" -l authority -d 'AUTHORITY TLV (the SNI host name)' -r
complete -c ppctl -n "__fish_ppctl_using_subcommand send" -l unique-id -d 'UNIQUE_ID TLV (at most 128 bytes)' -r
complete -c ppctl -n "__fish_ppctl_using_subcommand send" -l noop -d 'NOOP TLV with N bytes of padding' -r
complete -c ppctl -n "__fish_ppctl_using_subcommand send" -l ssl-version -d 'SSL TLV with this SSL_VERSION sub-TLV (e.g. TLSv1.3)' -r
complete -c ppctl -n "__fish_ppctl_using_subcommand send" -l ssl-cn -d 'SSL TLV with this client-certificate CN (sets the certificate bits)' -r
complete -c ppctl -n "__fish_ppctl_using_subcommand send" -l ssl-cipher -d 'SSL TLV with this SSL_CIPHER sub-TLV' -r
complete -c ppctl -n "__fish_ppctl_using_subcommand send" -l ssl-verify -d 'SSL TLV `verify` field (0 = client certificate verified)' -r
complete -c ppctl -n "__fish_ppctl_using_subcommand send" -l netns -d 'NETNS TLV (network namespace name)' -r
complete -c ppctl -n "__fish_ppctl_using_subcommand send" -l aws-vpce-id -d 'AWS TLV (0xEA), subtype 0x01: VPC endpoint id (vpce-...)' -r
complete -c ppctl -n "__fish_ppctl_using_subcommand send" -l azure-link-id -d 'Azure TLV (0xEE), subtype 0x01: private endpoint LINKID' -r
complete -c ppctl -n "__fish_ppctl_using_subcommand send" -l gcp-psc-id -d 'GCP TLV (0xE0): Private Service Connect connection id' -r
complete -c ppctl -n "__fish_ppctl_using_subcommand send" -l path -d 'Path of the default HTTP request' -r
complete -c ppctl -n "__fish_ppctl_using_subcommand send" -l data -d 'Send this text after the header instead of the GET (\\r \\n \\t \\\\ \\xNN escapes); `-` reads stdin' -r
complete -c ppctl -n "__fish_ppctl_using_subcommand send" -l data-file -d 'Send this file\'s bytes after the header; `-` reads stdin' -r -F
complete -c ppctl -n "__fish_ppctl_using_subcommand send" -l split -d 'Cut the header into pieces: at byte offsets (5,12) or `bytewise`' -r
complete -c ppctl -n "__fish_ppctl_using_subcommand send" -l split-delay -d 'Pause between the pieces of --split' -r
complete -c ppctl -n "__fish_ppctl_using_subcommand send" -l wait-banner -d 'Wait for the server to speak first (up to DURATION, default 2s) before sending' -r
complete -c ppctl -n "__fish_ppctl_using_subcommand send" -l corrupt -d 'Break the header on purpose (crc adds a CRC32C TLV if needed)' -r -f -a "signature\t'v1: `PROXZ`; v2: last signature byte 0x0A -> 0x0B'
version\t'v2: version nibble 1 instead of 2'
command\t'v2: command nibble 2 (neither LOCAL nor PROXY)'
family\t'v2: family nibble 4; v1: TCP4 and TCP6 swapped'
length-short\t'v2: `len` one byte shorter than the address block needs'
length-long\t'v2: `len` 16 bytes longer than what is sent (the receiver waits)'
crc\t'v2: a wrong CRC32C value (a CRC32C TLV is added if there is none)'
tlv-overrun\t'v2: a last TLV that declares more bytes than the header holds'
v1-leading-zero\t'v1: the source port written with a leading zero'
v1-lf-only\t'v1: the line ends with a bare LF'
truncate\t'either: only the first half of the header'"
complete -c ppctl -n "__fish_ppctl_using_subcommand send" -l raw -d 'Send these bytes (hex) instead of a header' -r
complete -c ppctl -n "__fish_ppctl_using_subcommand send" -l timeout -d 'How long to wait for the reply (and for each further piece of it)' -r
complete -c ppctl -n "__fish_ppctl_using_subcommand send" -l connect-timeout -d 'How long to wait for the connection' -r
complete -c ppctl -n "__fish_ppctl_using_subcommand send" -l max-reply -d 'Keep at most this many reply bytes' -r
complete -c ppctl -n "__fish_ppctl_using_subcommand send" -l expect-status -d 'Exit 0 only if the reply is an HTTP response with this status' -r
complete -c ppctl -n "__fish_ppctl_using_subcommand send" -l connections -d 'Load mode: make N connections (each one exchange)' -r
complete -c ppctl -n "__fish_ppctl_using_subcommand send" -l concurrency -d 'Load mode: at most C connections at a time' -r
complete -c ppctl -n "__fish_ppctl_using_subcommand send" -l duration -d 'Load mode: stop after this long (exchanges under way are stopped)' -r
complete -c ppctl -n "__fish_ppctl_using_subcommand send" -l max-time -d 'The longest one exchange may take in all (connect, writes and the whole reply), however slowly the peer trickles (curl\'s --max-time)' -r
complete -c ppctl -n "__fish_ppctl_using_subcommand send" -s H -l header -d 'A request header, `Name: value` (repeatable); `Name:` removes a default header (Host, User-Agent, Accept, Connection), as in curl' -r
complete -c ppctl -n "__fish_ppctl_using_subcommand send" -l host -d 'The Host header of the request (default: the target\'s host and port)' -r
complete -c ppctl -n "__fish_ppctl_using_subcommand send" -l method -d 'The request method' -r
complete -c ppctl -n "__fish_ppctl_using_subcommand send" -l connect-to -d 'Connect to HOST2:PORT2 when the target is HOST1:PORT1 (curl\'s option; empty fields match any or keep the target\'s); Host and SNI stay the target\'s. Repeatable' -r
complete -c ppctl -n "__fish_ppctl_using_subcommand send" -l resolve -d 'Resolve HOST on PORT to ADDR instead of asking DNS (curl\'s option; ADDR may be a comma-separated list, HOST may be *). Repeatable' -r
complete -c ppctl -n "__fish_ppctl_using_subcommand send" -l sni -d 'The SNI (default: the target\'s host name; none for an IP). With --tls or --starttls, as the next three' -r
complete -c ppctl -n "__fish_ppctl_using_subcommand send" -l tls-alpn -d 'ALPN protocols offered in the TLS handshake, comma-separated (default http/1.1; none after STARTTLS). Not the --alpn TLV of the PROXY header' -r
complete -c ppctl -n "__fish_ppctl_using_subcommand send" -l cacert -d 'Verify the server\'s certificate against the CAs in this PEM file instead of the system\'s' -r -F
complete -c ppctl -n "__fish_ppctl_using_subcommand send" -l protocol -d 'What to speak after the header (docs/protocols.md). The server\'s greeting and answer are judged in that protocol\'s words' -r -f -a "http\t'an HTTP/1.1 request; judged by its status line'
tls\t'a TLS handshake after the header'
smtp\t'wait for the 220 banner, then EHLO (Postfix, Exim, ...)'
imap\t'wait for the * OK greeting, then CAPABILITY (Dovecot, ...)'
pop3\t'wait for the +OK greeting, then CAPA'
mysql\t'wait for the handshake, then a login as user ppctl (MariaDB, MySQL)'
postgres\t'an SSLRequest; answered N or S'
redis\t'PING; answered +PONG'
ssh\t'wait for SSH-2.0-..., then send an SSH identification'
raw\t'the payload you give (--data), or nothing: wait for the server'
auto\t'the well-known port\'s (25 smtp, 143 imap, 3306 mysql, ...), else the one the server greets in'"
complete -c ppctl -n "__fish_ppctl_using_subcommand send" -l greeting-timeout -d 'How long a server that speaks first (smtp, imap, pop3, mysql, ssh) may take to greet after the header, or without one: longer than the server\'s own wait for a header (Postfix\'s smtpd_upstream_proxy_timeout is 5s), so its 421 is seen' -r
complete -c ppctl -n "__fish_ppctl_using_subcommand send" -l color -d 'When to use color: auto (a terminal, and NO_COLOR unset), always, never' -r -f -a "auto\t'Color when stdout is a terminal and NO_COLOR is not set'
always\t''
never\t''"
complete -c ppctl -n "__fish_ppctl_using_subcommand send" -s 1 -l v1 -d 'Send a v1 (text) header'
complete -c ppctl -n "__fish_ppctl_using_subcommand send" -s 2 -l v2 -d 'Send a v2 (binary) header'
complete -c ppctl -n "__fish_ppctl_using_subcommand send" -l local -d 'v2 LOCAL command (a health check) instead of PROXY; no addresses unless --src/--dst are given'
complete -c ppctl -n "__fish_ppctl_using_subcommand send" -l unknown -d 'No addresses: v1 `PROXY UNKNOWN`, v2 AF_UNSPEC'
complete -c ppctl -n "__fish_ppctl_using_subcommand send" -l udp -d 'UDP: a v2 DGRAM header and the payload in one datagram'
complete -c ppctl -n "__fish_ppctl_using_subcommand send" -l crc32c -d 'CRC32C TLV, computed over the header'
complete -c ppctl -n "__fish_ppctl_using_subcommand send" -l no-payload -d 'Send the header alone'
complete -c ppctl -n "__fish_ppctl_using_subcommand send" -l twice -d 'Send the header twice (a stacked header)'
complete -c ppctl -n "__fish_ppctl_using_subcommand send" -l dry-run -d 'Print the header that would be sent, and send nothing'
complete -c ppctl -n "__fish_ppctl_using_subcommand send" -l expect-close -d 'Exit 0 only if the receiver closes or resets without replying'
complete -c ppctl -n "__fish_ppctl_using_subcommand send" -l json -d 'Print one JSON object (docs/json.md)'
complete -c ppctl -n "__fish_ppctl_using_subcommand send" -l tls -d 'After the header, run a TLS handshake and send the request inside TLS (what a load balancer in TCP mode does in front of a 443 ingress)'
complete -c ppctl -n "__fish_ppctl_using_subcommand send" -s k -l insecure -d 'Do not verify the server\'s certificate (its facts are still shown)'
complete -c ppctl -n "__fish_ppctl_using_subcommand send" -l no-header -d 'Send no PROXY header at all (a direct client; with --tls, a bare ClientHello)'
complete -c ppctl -n "__fish_ppctl_using_subcommand send" -l starttls -d 'After the plain opening (EHLO, CAPABILITY, CAPA), ask for TLS (SMTP and IMAP STARTTLS, POP3 STLS) and report the handshake'
complete -c ppctl -n "__fish_ppctl_using_subcommand send" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ppctl -n "__fish_ppctl_using_subcommand pcap" -l finding -d 'Report only flows with these findings (comma-separated or repeated). (`--verdict`, the old name, still works.)' -r -f -a "proxied\t'a valid header, taken'
plain\t'no header, served'
health-check\t'a LOCAL header or connect-and-close'
unexpected-header\t'a header the receiver does not expect'
hop-adds-header\t'suspected: a hop behind adds a header'
missing-header\t'no header where one is required'
banner-before-header\t'a greeting before the header was read'
invalid-header\t'a header that breaks the spec'
header-rejected\t'a valid header, closed without a reply'
stacked-header\t'two headers in one stream'
failed-health-check\t'a health check answered with an error'
http-error\t'an HTTP error for the request'
no-receiver\t'connection refused'
incomplete\t'its start or its end is not in the record'
upstream-failed\t'the hop behind the proxy failed'
tls-handshake-failed\t'the TLS handshake failed after the header'
plain-http-to-tls\t'plain HTTP sent to a TLS port'
tls-before-proxy\t'a ClientHello where a header was required'
tls-to-plain-port\t'TLS sent to a plain-text port'"
complete -c ppctl -n "__fish_ppctl_using_subcommand pcap" -l client -d 'Report only flows whose client matches: CIDR, address, port (443 or :443) or address:port' -r
complete -c ppctl -n "__fish_ppctl_using_subcommand pcap" -l server -d 'Report only flows whose server matches: CIDR, address, port or address:port' -r
complete -c ppctl -n "__fish_ppctl_using_subcommand pcap" -l group-by -d 'One row per server (address:port), client (address) or finding, with the count of flows per finding, instead of one row per flow' -r -f -a "server\t'one row per server address:port'
client\t'one row per client address'
finding\t'one row per finding (alias: verdict)'"
complete -c ppctl -n "__fish_ppctl_using_subcommand pcap" -l limit -d 'Stop after this many reported flows' -r
complete -c ppctl -n "__fish_ppctl_using_subcommand pcap" -l max-bytes -d 'Bytes reassembled per direction of each flow (enough for the header and the start of the answer)' -r
complete -c ppctl -n "__fish_ppctl_using_subcommand pcap" -l max-flows -d 'Flows tracked at once; the least recently seen are decided early beyond it' -r
complete -c ppctl -n "__fish_ppctl_using_subcommand pcap" -l idle-timeout -d 'Capture time without a packet after which a flow is decided with what was seen (500ms, 30s, 5m; a bare number is seconds)' -r
complete -c ppctl -n "__fish_ppctl_using_subcommand pcap" -l protocol -d 'What the flows speak after the header: `auto` takes the server port\'s protocol (25 smtp, 143 imap, 3306 mysql, ...), else the one the server greets in; mail, database and SSH flows are judged in their server\'s words (docs/protocols.md)' -r -f -a "http\t'the request and status lines (as without --protocol)'
tls\t'the ClientHello and the server\'s answer (as without --protocol)'
smtp\t'the 220 banner, a 500 to the header line, the 421 (Postfix, ...)'
imap\t'the * OK greeting, PROXY BAD to the header line (Dovecot, ...)'
pop3\t'the +OK greeting, -ERR to the header line (Dovecot, ...)'
mysql\t'the handshake, error 1130 to a header, the login\'s answer (MariaDB)'
postgres\t'the answer to SSLRequest, or a close (PostgreSQL)'
redis\t'+PONG, or -ERR to the header line'
ssh\t'the SSH-2.0 line, or `Invalid SSH identification string`'
raw\t'any bytes, judged as without --protocol'
auto\t'the server port\'s (25 smtp, 143 imap, 3306 mysql, ...), else the one its first bytes are in'"
complete -c ppctl -n "__fish_ppctl_using_subcommand pcap" -l color -d 'When to use color: auto (a terminal, and NO_COLOR unset), always, never' -r -f -a "auto\t'Color when stdout is a terminal and NO_COLOR is not set'
always\t''
never\t''"
complete -c ppctl -n "__fish_ppctl_using_subcommand pcap" -l json -d 'Print one JSON object per flow, then a summary object (docs/json.md)'
complete -c ppctl -n "__fish_ppctl_using_subcommand pcap" -l summary -d 'Print only the summary'
complete -c ppctl -n "__fish_ppctl_using_subcommand pcap" -l explain -d 'Add a column with the reason for each finding (problem findings are always explained, with their fixes, under the table)'
complete -c ppctl -n "__fish_ppctl_using_subcommand pcap" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ppctl -n "__fish_ppctl_using_subcommand conform" -l sni -d 'The SNI (default: the target\'s host name; none for an IP)' -r
complete -c ppctl -n "__fish_ppctl_using_subcommand conform" -l protocol -d 'What to speak after the header (docs/protocols.md). The server\'s greeting and answer are judged in that protocol\'s words' -r -f -a "http\t'an HTTP/1.1 request; judged by its status line'
tls\t'a TLS handshake after the header'
smtp\t'wait for the 220 banner, then EHLO (Postfix, Exim, ...)'
imap\t'wait for the * OK greeting, then CAPABILITY (Dovecot, ...)'
pop3\t'wait for the +OK greeting, then CAPA'
mysql\t'wait for the handshake, then a login as user ppctl (MariaDB, MySQL)'
postgres\t'an SSLRequest; answered N or S'
redis\t'PING; answered +PONG'
ssh\t'wait for SSH-2.0-..., then send an SSH identification'
raw\t'the payload you give (--data), or nothing: wait for the server'
auto\t'the well-known port\'s (25 smtp, 143 imap, 3306 mysql, ...), else the one the server greets in'"
complete -c ppctl -n "__fish_ppctl_using_subcommand conform" -l greeting-timeout -d 'How long a server that speaks first (smtp, imap, pop3, mysql, ssh) may take to greet after the header, or without one: longer than the server\'s own wait for a header (Postfix\'s smtpd_upstream_proxy_timeout is 5s), so its 421 is seen' -r
complete -c ppctl -n "__fish_ppctl_using_subcommand conform" -l mode -d 'How the receiver is configured; auto finds out with probe\'s engine' -r -f -a "auto\t'find out with probe\'s engine (four connections)'
require\t'a header is required (nginx proxy_protocol, HAProxy accept-proxy)'
optional\t'a header is read when there is one (spoofable)'
off\t'no PROXY protocol: a header is data'"
complete -c ppctl -n "__fish_ppctl_using_subcommand conform" -l reflect -d 'An HTTP path whose answer names the client address the receiver took (each test\'s request asks for it)' -r
complete -c ppctl -n "__fish_ppctl_using_subcommand conform" -l from -d 'A local address outside the receiver\'s allow-list to connect from for the untrusted-source test (127.0.0.2 on loopback)' -r
complete -c ppctl -n "__fish_ppctl_using_subcommand conform" -l only -d 'Run only the tests whose id matches (repeat: any one; `v1/*`, `*split*`)' -r
complete -c ppctl -n "__fish_ppctl_using_subcommand conform" -l skip -d 'Leave out the tests whose id matches (repeat)' -r
complete -c ppctl -n "__fish_ppctl_using_subcommand conform" -l slow-limit -d 'The bound of each timing test' -r
complete -c ppctl -n "__fish_ppctl_using_subcommand conform" -l timeout -d 'The wait for a connect and for each reply' -r
complete -c ppctl -n "__fish_ppctl_using_subcommand conform" -l junit -d 'Also write the results as JUnit XML to FILE (`-` for stdout, in place of the table)' -r -F
complete -c ppctl -n "__fish_ppctl_using_subcommand conform" -l color -d 'When to use color: auto (a terminal, and NO_COLOR unset), always, never' -r -f -a "auto\t'Color when stdout is a terminal and NO_COLOR is not set'
always\t''
never\t''"
complete -c ppctl -n "__fish_ppctl_using_subcommand conform" -l tls -d 'TLS after the header (the certificate is never checked)'
complete -c ppctl -n "__fish_ppctl_using_subcommand conform" -l slow -d 'Add the timing tests (a trickled header, a silent connection, 500 stalled headers), each bounded by --slow-limit'
complete -c ppctl -n "__fish_ppctl_using_subcommand conform" -l json -d 'Print one JSON object (docs/json.md)'
complete -c ppctl -n "__fish_ppctl_using_subcommand conform" -l list -d 'List the tests and exit'
complete -c ppctl -n "__fish_ppctl_using_subcommand conform" -l starttls -d 'After the plain opening (EHLO, CAPABILITY, CAPA), ask for TLS (SMTP and IMAP STARTTLS, POP3 STLS) and report the handshake'
complete -c ppctl -n "__fish_ppctl_using_subcommand conform" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ppctl -n "__fish_ppctl_using_subcommand check" -l kind -d 'Read FILE (or every file, without =FILE) as KIND instead of detecting it: nginx, haproxy, kubernetes, helm, traefik, envoy, caddy, postfix, dovecot, mariadb (e.g. --kind helm=values.yaml; repeat for more files)' -r
complete -c ppctl -n "__fish_ppctl_using_subcommand check" -l root -d 'Where absolute includes (nginx, Dovecot, MariaDB\'s `!includedir`) are read from: a copy of a server\'s tree (/etc/nginx/x.conf is DIR/etc/nginx/x.conf, DIR/nginx/x.conf or DIR/x.conf, the first that exists). Without it they are read from this machine, and "Read:" says so' -r -f -a "(__fish_complete_directories)"
complete -c ppctl -n "__fish_ppctl_using_subcommand check" -l probe-timeout -d 'How long --probe waits for a lookup, a connect and each reply (500ms, 2s; at most 60s)' -r
complete -c ppctl -n "__fish_ppctl_using_subcommand check" -l probe-host -d 'Also probe wildcard listeners (listen 80, *:80, 0.0.0.0, a Kubernetes port) at this host (an IP or a name)' -r -f -a "(__fish_print_hostnames)"
complete -c ppctl -n "__fish_ppctl_using_subcommand check" -l color -d 'When to use color: auto (a terminal, and NO_COLOR unset), always, never' -r -f -a "auto\t'Color when stdout is a terminal and NO_COLOR is not set'
always\t''
never\t''"
complete -c ppctl -n "__fish_ppctl_using_subcommand check" -l json -d 'Print one JSON object (docs/json.md)'
complete -c ppctl -n "__fish_ppctl_using_subcommand check" -l probe -d 'Confirm live, with probe\'s engine, what each listener whose address is written in the configuration expects, and report where the wire disagrees'
complete -c ppctl -n "__fish_ppctl_using_subcommand check" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ppctl -n "__fish_ppctl_using_subcommand relay" -l to -d 'Where to relay to: HOST:PORT, [IPv6]:PORT or NAME:PORT' -r
complete -c ppctl -n "__fish_ppctl_using_subcommand relay" -l accept -d 'What the relay expects from its clients' -r -f -a "none\t'plain clients; the bytes pass as they come (like nginx `stream`)'
v1\t'a v1 header is required; others are closed'
v2\t'a v2 header is required; others are closed'
any\t'a v1 or v2 header is required; clients without one are closed'
auto\t'a header is taken when there is one (spoofable: any client can forge its address)'"
complete -c ppctl -n "__fish_ppctl_using_subcommand relay" -l trust -d 'Peers allowed to send a header (repeat or comma-separate; a bare IP is a /32 or /128). Others\' headers are refused (or, with --accept auto, ignored) as untrusted-source. Without it, anyone may' -r
complete -c ppctl -n "__fish_ppctl_using_subcommand relay" -l send -d 'What the relay sends upstream (with --like: the preset\'s version)' -r -f -a "none\t'no header upstream (strips an accepted one)'
v1\t'a v1 header, like nginx `proxy_protocol on`'
v2\t'a v2 header, like HAProxy `send-proxy-v2`'
same\t'the version the client sent (none without a header)'"
complete -c ppctl -n "__fish_ppctl_using_subcommand relay" -l protocol -d 'What clients and upstream speak: judge and tap each connection in that protocol\'s words (docs/protocols.md). Without it, HTTP and TLS' -r -f -a "http\t'the request and status lines (as without --protocol)'
tls\t'the ClientHello and the server\'s answer (as without --protocol)'
smtp\t'the 220 banner, a 500 to the header line, the 421 (Postfix, ...)'
imap\t'the * OK greeting, PROXY BAD to the header line (Dovecot, ...)'
pop3\t'the +OK greeting, -ERR to the header line (Dovecot, ...)'
mysql\t'the handshake, error 1130 to a header, the login\'s answer (MariaDB)'
postgres\t'the answer to SSLRequest, or a close (PostgreSQL)'
redis\t'+PONG, or -ERR to the header line'
ssh\t'the SSH-2.0 line, or `Invalid SSH identification string`'
raw\t'any bytes, judged as without --protocol'
auto\t'the server port\'s (25 smtp, 143 imap, 3306 mysql, ...), else the one its first bytes are in'"
complete -c ppctl -n "__fish_ppctl_using_subcommand relay" -l like -d 'Send what a real emitter sends (see docs/presets.md)' -r -f -a "aws-nlb\t'AWS Network Load Balancer: v2 PROXY TCP4/TCP6 with the real ends, sent with the first payload; with --aws-vpce-id, the 0xEA VPC-endpoint TLV (PrivateLink)'
aws-nlb-health\t'AWS NLB health check: v2 LOCAL with family byte 0x11 but no address block, a CRC32C TLV and 74 bytes of NOOP padding (len 84)'
haproxy\t'HAProxy `send-proxy-v2`: v2 PROXY TCP4/TCP6, no TLVs (add --crc32c, --unique-id, --authority for proxy-v2-options)'
haproxy-check\t'HAProxy health check (`check-send-proxy`, 2.1+): v2 LOCAL, AF_UNSPEC, no address block: 16 bytes'
nginx\t'nginx stream `proxy_protocol on`: a v1 TCP4/TCP6 line (nginx sends v1 only)'
gcp-tcp-proxy\t'GCP TCP/SSL proxy load balancer (`--proxy-header=PROXY_V1`): a v1 line'
azure-pls\t'Azure Private Link Service: v2 PROXY + the 0xEE TLV, subtype 0x01, the private endpoint LINKID as u32 little-endian (--azure-link-id, default 1)'"
complete -c ppctl -n "__fish_ppctl_using_subcommand relay" -l tlv -d 'A TLV: TYPE is a number (0xEA, 234) or a name (AUTHORITY); VALUE is hex after 0x, else text. Repeatable' -r
complete -c ppctl -n "__fish_ppctl_using_subcommand relay" -l alpn -d 'ALPN TLV (e.g. h2)' -r
complete -c ppctl -n "__fish_ppctl_using_subcommand relay" -l authority -d 'AUTHORITY TLV (the SNI host name)' -r
complete -c ppctl -n "__fish_ppctl_using_subcommand relay" -l unique-id -d 'UNIQUE_ID TLV (at most 128 bytes)' -r
complete -c ppctl -n "__fish_ppctl_using_subcommand relay" -l noop -d 'NOOP TLV with N bytes of padding' -r
complete -c ppctl -n "__fish_ppctl_using_subcommand relay" -l ssl-version -d 'SSL TLV with this SSL_VERSION sub-TLV (e.g. TLSv1.3)' -r
complete -c ppctl -n "__fish_ppctl_using_subcommand relay" -l ssl-cn -d 'SSL TLV with this client-certificate CN (sets the certificate bits)' -r
complete -c ppctl -n "__fish_ppctl_using_subcommand relay" -l ssl-cipher -d 'SSL TLV with this SSL_CIPHER sub-TLV' -r
complete -c ppctl -n "__fish_ppctl_using_subcommand relay" -l ssl-verify -d 'SSL TLV `verify` field (0 = client certificate verified)' -r
complete -c ppctl -n "__fish_ppctl_using_subcommand relay" -l netns -d 'NETNS TLV (network namespace name)' -r
complete -c ppctl -n "__fish_ppctl_using_subcommand relay" -l aws-vpce-id -d 'AWS TLV (0xEA), subtype 0x01: VPC endpoint id (vpce-...)' -r
complete -c ppctl -n "__fish_ppctl_using_subcommand relay" -l azure-link-id -d 'Azure TLV (0xEE), subtype 0x01: private endpoint LINKID' -r
complete -c ppctl -n "__fish_ppctl_using_subcommand relay" -l gcp-psc-id -d 'GCP TLV (0xE0): Private Service Connect connection id' -r
complete -c ppctl -n "__fish_ppctl_using_subcommand relay" -l header-timeout -d 'Time a client has for a complete header, counted once (a byte does not restart it), as ingress-nginx\'s proxy-protocol-header-timeout; e.g. 5s, 250ms; more than 0' -r
complete -c ppctl -n "__fish_ppctl_using_subcommand relay" -l max-conns -d 'Connections served at once; more wait in the kernel\'s backlog' -r
complete -c ppctl -n "__fish_ppctl_using_subcommand relay" -l drain -d 'On SIGINT/SIGTERM, time in-flight connections get to finish; a second signal stops them at once' -r
complete -c ppctl -n "__fish_ppctl_using_subcommand relay" -l count -d 'Exit after N connections' -r
complete -c ppctl -n "__fish_ppctl_using_subcommand relay" -l metrics -d 'Serve Prometheus metrics on ADDR (:PORT, IP:PORT, [IPv6]:PORT) at /metrics: connections by finding, transport and header, those open, the header wait and the connection time (docs/monitoring.md). Bind it to loopback or the monitoring network' -r
complete -c ppctl -n "__fish_ppctl_using_subcommand relay" -l connect-timeout -d 'Time allowed to connect upstream' -r
complete -c ppctl -n "__fish_ppctl_using_subcommand relay" -l threads -d 'Threads that accept and serve connections (default: one per CPU it may use, at most 2), each on an event loop of its own: a connection stays on the thread that took it. Two serve the most connections a second on 2 CPUs; one costs the least CPU per connection (docs/performance.md)' -r
complete -c ppctl -n "__fish_ppctl_using_subcommand relay" -l idle-timeout -d 'Close both sides after this long without a byte either way; more than 0' -r
complete -c ppctl -n "__fish_ppctl_using_subcommand relay" -l request-timeout -d 'Time allowed for the client\'s first request once the header is in, counted once (a byte does not restart it, so a client that trickles is closed on time): until an HTTP request head\'s blank line, 4 KiB from the client, the client\'s EOF, or upstream\'s first byte; more than 0' -r
complete -c ppctl -n "__fish_ppctl_using_subcommand relay" -l max-header -d 'Largest v2 header taken from a client, in bytes (16 + len; by default every size the spec allows); a larger one is header-too-large, checked as soon as its 16-byte prefix is in' -r
complete -c ppctl -n "__fish_ppctl_using_subcommand relay" -l color -d 'When to use color: auto (a terminal, and NO_COLOR unset), always, never' -r -f -a "auto\t'Color when stdout is a terminal and NO_COLOR is not set'
always\t''
never\t''"
complete -c ppctl -n "__fish_ppctl_using_subcommand relay" -l crc32c -d 'CRC32C TLV, computed over the header'
complete -c ppctl -n "__fish_ppctl_using_subcommand relay" -l conform -d 'Grade every sender against the spec\'s sender rules (the header first and in one segment, CRLF, CRC32C, TLV lengths, LOCAL for health checks): each connection\'s line says what it missed, the summary grades the load balancer under test; a MUST missed is exit 1 (docs/conformance.md)'
complete -c ppctl -n "__fish_ppctl_using_subcommand relay" -l tap -d 'One line per connection as it ends: the default now, on a terminal or not (kept for scripts that give it)'
complete -c ppctl -n "__fish_ppctl_using_subcommand relay" -l no-tap -d 'No line per connection: only the first line and the summary (each connection\'s line is written otherwise, to a pipe too, as listen\'s)'
complete -c ppctl -n "__fish_ppctl_using_subcommand relay" -l json -d 'JSON Lines: a "listening" object, one "connection" object per connection, a "summary" at the end (docs/json.md)'
complete -c ppctl -n "__fish_ppctl_using_subcommand relay" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ppctl -n "__fish_ppctl_using_subcommand completions" -l color -d 'When to use color: auto (a terminal, and NO_COLOR unset), always, never' -r -f -a "auto\t'Color when stdout is a terminal and NO_COLOR is not set'
always\t''
never\t''"
complete -c ppctl -n "__fish_ppctl_using_subcommand completions" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ppctl -n "__fish_ppctl_using_subcommand man" -l dir -d 'Write ppctl.1 and one page per subcommand (ppctl-send.1, ppctl-listen.1, ...) into DIR, creating it if needed. Without --dir, the top page (ppctl.1) goes to stdout' -r -F
complete -c ppctl -n "__fish_ppctl_using_subcommand man" -l color -d 'When to use color: auto (a terminal, and NO_COLOR unset), always, never' -r -f -a "auto\t'Color when stdout is a terminal and NO_COLOR is not set'
always\t''
never\t''"
complete -c ppctl -n "__fish_ppctl_using_subcommand man" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ppctl -n "__fish_ppctl_using_subcommand help; and not __fish_seen_subcommand_from inspect explain probe listen repro send pcap conform check relay completions man help" -f -a "inspect" -d 'Decode and explain bytes: is this a valid PROXY header, and what would receivers do?'
complete -c ppctl -n "__fish_ppctl_using_subcommand help; and not __fish_seen_subcommand_from inspect explain probe listen repro send pcap conform check relay completions man help" -f -a "explain" -d 'Explain a pasted log line or error message: which system, what it means, the fix'
complete -c ppctl -n "__fish_ppctl_using_subcommand help; and not __fish_seen_subcommand_from inspect explain probe listen repro send pcap conform check relay completions man help" -f -a "probe" -d 'Find out what an endpoint expects: no header, v1, v2, or either (spoofable)'
complete -c ppctl -n "__fish_ppctl_using_subcommand help; and not __fish_seen_subcommand_from inspect explain probe listen repro send pcap conform check relay completions man help" -f -a "listen" -d 'Stand up a receiver that shows exactly what arrived (like nginx with or without proxy_protocol)'
complete -c ppctl -n "__fish_ppctl_using_subcommand help; and not __fish_seen_subcommand_from inspect explain probe listen repro send pcap conform check relay completions man help" -f -a "repro" -d 'Reproduce the sender/receiver mismatch (the 400 Bad Request) on loopback, and explain each cell'
complete -c ppctl -n "__fish_ppctl_using_subcommand help; and not __fish_seen_subcommand_from inspect explain probe listen repro send pcap conform check relay completions man help" -f -a "send" -d 'Send a crafted PROXY header (and a payload) to a receiver, and explain its reply'
complete -c ppctl -n "__fish_ppctl_using_subcommand help; and not __fish_seen_subcommand_from inspect explain probe listen repro send pcap conform check relay completions man help" -f -a "pcap" -d 'Find every PROXY header in a capture, pair it with the server\'s answer, and give a verdict per flow'
complete -c ppctl -n "__fish_ppctl_using_subcommand help; and not __fish_seen_subcommand_from inspect explain probe listen repro send pcap conform check relay completions man help" -f -a "conform" -d 'Grade a live receiver against the spec: framing, rejection, trust and deadlines (h2spec for PROXY)'
complete -c ppctl -n "__fish_ppctl_using_subcommand help; and not __fish_seen_subcommand_from inspect explain probe listen repro send pcap conform check relay completions man help" -f -a "check" -d 'Read every hop\'s configuration (nginx, HAProxy, Kubernetes, Helm values, Traefik, Envoy, Caddy, Postfix, Dovecot, MariaDB) and find the PROXY mismatch before the rollout'
complete -c ppctl -n "__fish_ppctl_using_subcommand help; and not __fish_seen_subcommand_from inspect explain probe listen repro send pcap conform check relay completions man help" -f -a "relay" -d 'Relay TCP to an upstream, adding, translating or stripping the PROXY header, and show each connection'
complete -c ppctl -n "__fish_ppctl_using_subcommand help; and not __fish_seen_subcommand_from inspect explain probe listen repro send pcap conform check relay completions man help" -f -a "completions" -d 'Print shell completions to stdout'
complete -c ppctl -n "__fish_ppctl_using_subcommand help; and not __fish_seen_subcommand_from inspect explain probe listen repro send pcap conform check relay completions man help" -f -a "man" -d 'Write the man pages: the top page to stdout, or every page into --dir'
complete -c ppctl -n "__fish_ppctl_using_subcommand help; and not __fish_seen_subcommand_from inspect explain probe listen repro send pcap conform check relay completions man help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
