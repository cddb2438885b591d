#!/usr/bin/env bash
# Where a relayed connection's CPU goes on the whole machine, for each front
# hop of bench/relay.sh (ppctl relay, HAProxy `send-proxy-v2`, nginx
# `stream`), in front of the same nginx `listen ... proxy_protocol` backend:
# per connection, the CPU time of the front hop, of the backend, of the
# load generator (bench/loadgen.c), and the time the machine's CPUs sat
# idle (from /proc/stat). Uncapped on a small machine the three share the
# CPUs, so conn/s is the machine's total divided by their sum: a front hop
# that costs less but leaves CPUs idle while it waits serves no more
# (docs/performance.md, relay's ninth pass). One line per front hop and
# round, rounds interleaved.
#
# PPCTL_ARGS adds flags to ppctl's relay; PPCTL_B (and PPCTL_B_ARGS) adds a
# second ppctl front hop, e.g. PPCTL_B=$PPCTL PPCTL_B_ARGS="--threads 1".
#
#   cargo build --release && bench/relay-system.sh
#   N=20000 C=50 ROUNDS=3 bench/relay-system.sh
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-20000}
C=${C:-50}
ROUNDS=${ROUNDS:-3}
PPCTL=${PPCTL:-target/release/ppctl}
PPCTL_B=${PPCTL_B:-}
read -r -a PPCTL_ARGS <<< "${PPCTL_ARGS:-}"
read -r -a PPCTL_B_ARGS <<< "${PPCTL_B_ARGS:-}"
STREAM_MODULE=${STREAM_MODULE:-/usr/lib/nginx/modules/ngx_stream_module.so}
. bench/common.sh
need_ppctl
command -v nginx > /dev/null || { echo "nginx is needed for the backend" >&2; exit 2; }
LOADGEN=$WORK/loadgen
cc -O2 -o "$LOADGEN" bench/loadgen.c
chmod 755 "$WORK"

BACKEND=$(free_port)
render bench/nginx-relay-backend.conf "$WORK/backend.conf" "$BACKEND"
start backend "$BACKEND" nginx -p "$WORK" -c "$WORK/backend.conf"
relay() { # name binary args...
  local name=$1 bin=$2 p; shift 2
  p=$(free_port)
  start "$name" "$p" "$bin" --color never relay "127.0.0.1:$p" --to "127.0.0.1:$BACKEND" --send v2 --no-tap --max-conns 8192 "$@"
}
relay ppctl-relay "$PPCTL" ${PPCTL_ARGS[@]+"${PPCTL_ARGS[@]}"}
[ -n "$PPCTL_B" ] && relay ppctl-b "$PPCTL_B" ${PPCTL_B_ARGS[@]+"${PPCTL_B_ARGS[@]}"}
start_relay_peers "$BACKEND"

# Idle and iowait ticks of all CPUs together.
idle_ticks() { awk '/^cpu / { print $5 + $6 }' /proc/stat; }
per_conn() { echo $(( ($2 - $1) * 1000000 / HZ / N )); } # before after

NAMES=()
for name in ppctl-relay ppctl-b haproxy nginx-stream; do [ -n "${PORT[$name]:-}" ] && NAMES+=("$name"); done
echo "$N connections, concurrency $C, GET with Connection: close; $(nproc) CPUs, $(uname -r), load average $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-13s %5s %7s %13s %15s %11s %13s %7s\n' "front hop" round conn/s "front us/conn" "backend us/conn" "gen us/conn" "idle us/conn" "sum us"
for round in $(seq "$ROUNDS"); do
  for k in "${!NAMES[@]}"; do
    name=${NAMES[$(( (k + round) % ${#NAMES[@]} ))]}
    f0=$(ticks "${PID[$name]}"); b0=$(ticks "${PID[backend]}"); i0=$(idle_ticks)
    rate=$(/usr/bin/time -f '%U %S' -o "$WORK/gen.time" "$LOADGEN" "${PORT[$name]}" "$N" "$C" none | awk '{ print $1 }')
    f1=$(ticks "${PID[$name]}"); b1=$(ticks "${PID[backend]}"); i1=$(idle_ticks)
    gen=$(awk -v n="$N" '{ printf "%d", ($1 + $2) * 1000000 / n }' "$WORK/gen.time")
    front=$(per_conn "$f0" "$f1"); back=$(per_conn "$b0" "$b1"); idle=$(per_conn "$i0" "$i1")
    printf '%-13s %5s %7s %13s %15s %11s %13s %7s\n' "$name" "$round" "$rate" "$front" "$back" "$gen" "$idle" $(( front + back + gen + idle ))
  done
done
