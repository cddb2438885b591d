#!/usr/bin/env bash
# The same load against each PROXY-protocol receiver on loopback:
# `ppctl listen --proxy-protocol require` (its per-connection lines to a
# file), HAProxy `accept-proxy` and nginx `listen ... proxy_protocol`
# (reference). The load generator is neutral, neither ppctl nor a peer:
# bench/loadgen.c (one epoll thread; per connection a PROXY header (HDR:
# v1 or v2) and a GET with `Connection: close` in one write, read to EOF).
# Prints connections/s and latency per receiver (median of ROUNDS
# interleaved rounds) and the ratio ppctl listen / HAProxy. Every receiver
# runs from a config in bench/ and is stopped by pid.
#
#   cargo build --release && bench/listen.sh
#   N=20000 C=50 HDR=v1 ROUNDS=3 bench/listen.sh
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-20000}
C=${C:-50}
HDR=${HDR:-v1}
ROUNDS=${ROUNDS:-3}
PPCTL=${PPCTL:-target/release/ppctl}
WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

[ -x "$PPCTL" ] || { echo "build first: cargo build --release" >&2; exit 2; }
LOADGEN=$WORK/loadgen
cc -O2 -o "$LOADGEN" bench/loadgen.c

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_port() {
  for _ in $(seq 100); do
    python3 -c "import socket,sys; socket.create_connection(('127.0.0.1', $1), 0.2).close()" 2>/dev/null && return 0
    sleep 0.05
  done
  return 1
}
render() { sed -e "s|{{PORT}}|$2|g" -e "s|{{DIR}}|$WORK|g" "$1" > "$3"; }

# One load run: "conn/s p50 p99 ok/total".
load() { { "$LOADGEN" "$1" "$N" "$C" "$HDR" || true; } | awk '{ print $1, $2, $3, $4 "/" $5 }'; }

declare -A PORT RUNS
start() { # name, port, command...
  local name=$1 port=$2; shift 2
  "$@" > "$WORK/$name.log" 2>&1 &
  PIDS+=($!)
  if wait_port "$port"; then PORT[$name]=$port; else echo "$name did not start (see $WORK/$name.log)" >&2; fi
}

if "$PPCTL" listen --help > /dev/null 2>&1; then
  p=$(free_port)
  start ppctl-listen "$p" "$PPCTL" --color never listen "127.0.0.1:$p" --proxy-protocol require
else
  echo "SKIP: this ppctl has no listen command" >&2
fi
if command -v haproxy > /dev/null; then
  p=$(free_port); render bench/haproxy-accept-proxy.cfg "$p" "$WORK/haproxy.cfg"
  start haproxy "$p" haproxy -db -f "$WORK/haproxy.cfg"
else
  echo "SKIP: haproxy not installed" >&2
fi
if command -v nginx > /dev/null; then
  p=$(free_port); render bench/nginx-proxy-protocol.conf "$p" "$WORK/nginx.conf"
  start nginx "$p" nginx -p "$WORK" -c "$WORK/nginx.conf"
else
  echo "SKIP: nginx not installed" >&2
fi

# Rounds interleave the receivers (A B C, B C A, ...) so that load from
# other processes on a shared machine hits them alike; the median is kept.
NAMES=()
for name in ppctl-listen haproxy nginx; do [ -n "${PORT[$name]:-}" ] && NAMES+=("$name"); done
for round in $(seq "$ROUNDS"); do
  for k in "${!NAMES[@]}"; do
    name=${NAMES[$(( (k + round) % ${#NAMES[@]} ))]}
    RUNS[$name]+="$(load "${PORT[$name]}")"$'\n'
  done
done
median() { sort -n | awk '{ l[NR] = $0 } END { print l[int((NR + 1) / 2)] }'; }

echo "load: bench/loadgen.c, $N connections, concurrency $C, $HDR header + HTTP GET, median of $ROUNDS interleaved rounds; $(nproc) CPUs, $(uname -r)"
printf '%-14s %10s %10s %10s %12s   %s\n' receiver conn/s p50_ms p99_ms ok "all rounds (conn/s)"
declare -A RESULT
for name in "${NAMES[@]}"; do
  RESULT[$name]=$(printf '%s' "${RUNS[$name]}" | median)
  read -r rate p50 p99 ok <<< "${RESULT[$name]}"
  all=$(printf '%s' "${RUNS[$name]}" | awk '{ printf "%s ", $1 }')
  printf '%-14s %10s %10s %10s %12s   %s\n' "$name" "$rate" "$p50" "$p99" "$ok" "$all"
done
if [ -n "${RESULT[ppctl-listen]:-}" ] && [ -n "${RESULT[haproxy]:-}" ]; then
  python3 -c "print('ratio ppctl listen / haproxy: %.2fx' % (${RESULT[ppctl-listen]%% *} / ${RESULT[haproxy]%% *}))"
fi
