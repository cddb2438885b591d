#!/usr/bin/env bash
# TLS handshakes per second: `ppctl listen --tls --proxy-protocol require`
# next to nginx `listen ... ssl proxy_protocol` (bench/nginx-ssl-proxy-
# protocol.conf), both serving the same ECDSA P-256 certificate made here
# with openssl, both with two workers (nginx `worker_processes 2`; ppctl's
# runtime has two worker threads) on loopback. The load generator is
# neutral: bench/tls-loadgen.c (OpenSSL; per connection a v2 header from
# 203.0.113.x, a full TLS 1.3 handshake with SNI, one GET with
# `Connection: close`, read to EOF; never a resumption). ppctl's
# per-connection lines go to a file, as in bench/listen.sh.
#
# After a warm-up of each, ROUNDS rounds alternate the two (ppctl first in
# odd rounds, nginx first in even ones). Per round and receiver: conn/s,
# p50/p99/max latency, session tickets sent per connection (both servers
# send two by default; the client counts and drops them), and the
# receiver's CPU time per connection (user +
# sys of all its processes, from /proc, so less sensitive to the other
# load on a shared machine). Prints every round, the per-round ratio
# ppctl / nginx, and the median and spread of the ratios.
#
#   cargo build --release && bench/tls.sh
#   N=5000 C=50 THREADS=2 SECS=30 ROUNDS=5 bench/tls.sh
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-5000}
C=${C:-50}
THREADS=${THREADS:-2}
SECS=${SECS:-30}
ROUNDS=${ROUNDS:-5}
WARM=${WARM:-500}
PPCTL=${PPCTL:-target/release/ppctl}
. bench/common.sh
need_ppctl
"$PPCTL" listen --help | grep -q -- --tls || { echo "this ppctl has no listen --tls" >&2; exit 2; }
command -v nginx > /dev/null || { echo "SKIP: nginx not installed" >&2; exit 0; }
LOADGEN=$WORK/tls-loadgen
cc -O2 -o "$LOADGEN" bench/tls-loadgen.c -lssl -lcrypto -lpthread

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
  -keyout "$WORK/key.pem" -out "$WORK/cert.pem" -days 2 -subj /CN=localhost \
  -addext subjectAltName=DNS:localhost,IP:127.0.0.1 2> /dev/null

# Both receivers are needed: a missing one ends the run with its log.
start_or_exit() { # name, port, command...
  start "$@"
  [ -n "${PORT[$1]:-}" ] || { cat "$WORK/$1.log" >&2; exit 1; }
}

p=$(free_port)
start_or_exit ppctl "$p" "$PPCTL" --color never listen "127.0.0.1:$p" --proxy-protocol require \
  --tls --cert "$WORK/cert.pem" --key "$WORK/key.pem"
p=$(free_port); render bench/nginx-ssl-proxy-protocol.conf "$WORK/nginx.conf" "$p"
start_or_exit nginx "$p" nginx -p "$WORK" -c "$WORK/nginx.conf"

# One load run: "conn/s p50 p99 max ok done errors tickets/conn cpu_us/conn".
load() {
  local name=$1 n=$2 before after out
  before=$(ticks "${PID[$name]}")
  out=$("$LOADGEN" "${PORT[$name]}" "$n" "$C" "$THREADS" "$SECS" localhost 2>> "$WORK/loadgen.err" || true)
  after=$(ticks "${PID[$name]}")
  read -r _ _ _ _ _ done _ <<< "$out"
  echo "$out $(( (after - before) * 1000000 / HZ / (done > 0 ? done : 1) ))"
}

# Both answer 200 over TLS 1.3 and see the header's client (one
# connection each through Python's ssl module, shown first).
check() {
  python3 - "$1" <<'PY'
import socket, ssl, struct, sys
port = int(sys.argv[1])
s = socket.create_connection(("127.0.0.1", port), 5)  # and 5 s for each read
s.sendall(b"\r\n\r\n\0\r\nQUIT\n" + bytes([0x21, 0x11, 0, 12, 203, 0, 113, 7, 127, 0, 0, 1]) + struct.pack("!HH", 40000, port))
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
t = ctx.wrap_socket(s, server_hostname="localhost")
t.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
data = b""
while True:
    try:
        b = t.recv(65536)
    except (ssl.SSLEOFError, ConnectionResetError):
        break
    if not b:
        break
    data += b
body = data.split(b"\r\n\r\n", 1)[-1].decode(errors="replace")
client = [l for l in body.splitlines() if "203.0.113.7" in l][:1]
print("%s %s, %s: %s" % (t.version(), t.cipher()[0], data.split(b"\r\n", 1)[0].decode(), client[0].strip() if client else "client 203.0.113.7 NOT shown"))
PY
}
for name in ppctl nginx; do printf '%-6s %s\n' "$name" "$(check "${PORT[$name]}")"; done
load ppctl "$WARM" > /dev/null
load nginx "$WARM" > /dev/null

echo "load: bench/tls-loadgen.c, $N connections a round (at most ${SECS}s), concurrency $C, $THREADS loadgen threads, v2 header + TLS 1.3 (full handshake, ECDSA P-256 certificate) + GET; $ROUNDS rounds alternating; $(nproc) CPUs, $(uname -r), load average $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-6s %-6s %8s %8s %8s %8s %12s %8s %11s\n' round recv conn/s p50_ms p99_ms max_ms ok/done tickets cpu_us/conn
RATIOS=()
P99R=()
CPUR=()
for round in $(seq "$ROUNDS"); do
  if (( round % 2 )); then order=(ppctl nginx); else order=(nginx ppctl); fi
  declare -A R=()
  for name in "${order[@]}"; do
    R[$name]=$(load "$name" "$N")
    read -r rate p50 p99 max ok done _ tix cpu <<< "${R[$name]}"
    printf '%-6s %-6s %8s %8s %8s %8s %12s %8s %11s\n' "$round" "$name" "$rate" "$p50" "$p99" "$max" "$ok/$done" "$tix" "$cpu"
  done
  read -r a _ ap99 _ _ _ _ _ acpu <<< "${R[ppctl]}"
  read -r b _ bp99 _ _ _ _ _ bcpu <<< "${R[nginx]}"
  RATIOS+=("$(ratio "$a" "$b")"); P99R+=("$(ratio_ms "$ap99" "$bp99")"); CPUR+=("$(ratio "$acpu" "$bcpu")")
done
summary "conn/s ppctl / nginx:" "${RATIOS[@]}"
summary "p99 ppctl / nginx:" "${P99R[@]}"
summary "CPU per conn ppctl / nginx:" "${CPUR[@]}"
if [ -s "$WORK/loadgen.err" ]; then echo "load generator said:"; sort "$WORK/loadgen.err" | uniq -c | head -5; fi
