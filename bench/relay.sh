#!/usr/bin/env bash
# `ppctl relay` next to HAProxy `mode tcp` + `send-proxy-v2` and nginx
# `stream` + `proxy_protocol on`, each in front of the same nginx `listen ...
# proxy_protocol` backend (issue 13's benchmark). For each front hop:
#   - connections/s: N plain GETs (Connection: close; the front hop adds
#     the header), C at a time, from the neutral load generator
#     bench/loadgen.c (neither ppctl nor a peer), median of ROUNDS
#     interleaved rounds;
#   - MiB/s of one SIZE download of /big through it (curl), median of ROUNDS,
#     and the front hop's CPU time per GiB of it (user + sys, from /proc;
#     10 ms ticks, so take SIZE=1G for a figure that counts);
#   - RSS of the front hop with IDLE idle connections open through it;
#   - CPU time per connection of the front hop (user + sys of it and its
#     children, from /proc, during the conn/s runs), and the per-round
#     ratios ppctl relay / HAProxy (median, min, max).
# PPCTL_B=path adds a second ppctl build as front hop "ppctl-b" (A/B of two
# builds in the same rounds); PPCTL_B_ARGS adds flags to its relay (an A/B
# of one build, e.g. PPCTL_B=$PPCTL PPCTL_B_ARGS="--threads 2").
# RECEIVER_CPU=0.5 caps each front hop (not the shared backend) at half a
# CPU (bench/common.sh; needs root): uncapped, the front hop, the backend
# and the generator share 2 CPUs; capped, each front hop is the bottleneck
# under the same CPU budget. Every process runs from a config in bench/
# and is stopped by pid.
#
#   cargo build --release && bench/relay.sh
#   N=20000 C=50 SIZE=256M IDLE=1000 ROUNDS=3 bench/relay.sh
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-20000}
C=${C:-50}
SIZE=${SIZE:-256M}
IDLE=${IDLE:-1000}
ROUNDS=${ROUNDS:-3}
PPCTL=${PPCTL:-target/release/ppctl}
PPCTL_B=${PPCTL_B:-}
read -r -a PPCTL_B_ARGS <<< "${PPCTL_B_ARGS:-}"
STREAM_MODULE=${STREAM_MODULE:-/usr/lib/nginx/modules/ngx_stream_module.so}
. bench/common.sh
need_ppctl
LOADGEN=$WORK/loadgen
cc -O2 -o "$LOADGEN" bench/loadgen.c
command -v nginx > /dev/null || { echo "nginx is needed for the backend" >&2; exit 2; }

declare -A RATE SPEED RSS

head -c "$SIZE" /dev/zero > "$WORK/big"
# nginx workers run as an unprivileged user when started as root.
chmod 755 "$WORK"; chmod 644 "$WORK/big"
BACKEND=$(free_port)
render bench/nginx-relay-backend.conf "$WORK/backend.conf" "$BACKEND"
RECEIVER_CPU= start backend "$BACKEND" nginx -p "$WORK" -c "$WORK/backend.conf"

p=$(free_port)
start ppctl-relay "$p" "$PPCTL" --color never relay "127.0.0.1:$p" --to "127.0.0.1:$BACKEND" --send v2 --no-tap --max-conns 8192
if [ -n "$PPCTL_B" ]; then
  p=$(free_port)
  start ppctl-b "$p" "$PPCTL_B" --color never relay "127.0.0.1:$p" --to "127.0.0.1:$BACKEND" --send v2 --no-tap --max-conns 8192 ${PPCTL_B_ARGS[@]+"${PPCTL_B_ARGS[@]}"}
fi
start_relay_peers "$BACKEND"

# "conn/s ok/total cpu_us/conn gen%" for one load run through a front hop
# (gen%: the load generator's own CPU, `gen_pct`).
load() { # name
  local before after out rate ok n
  before=$(ticks "${PID[$1]}")
  out=$({ /usr/bin/time -f '%U %S %e' -o "$WORK/gen.time" "$LOADGEN" "${PORT[$1]}" "$N" "$C" none || true; } | awk '{ print $1, $4 "/" $5, $4 }')
  after=$(ticks "${PID[$1]}")
  read -r rate ok n <<< "$out"
  echo "$rate $ok $(( (after - before) * 1000000 / HZ / (n > 0 ? n : 1) )) $(gen_pct "$WORK/gen.time")"
}
# "MiB/s bytes cpu_ms/GiB" of one download of /big through a front hop
# (cpu_ms/GiB: the front hop's CPU during it).
download() { # name
  local before after out
  before=$(ticks "${PID[$1]}")
  out=$(curl -sS -o /dev/null --max-time 300 -w '%{speed_download} %{size_download}' "http://127.0.0.1:${PORT[$1]}/big" || true)
  after=$(ticks "${PID[$1]}")
  echo "$out" | awk -v t=$(( after - before )) -v hz="$HZ" \
    '{ printf "%.0f %d %.0f\n", $1 / 1048576, $2, ($2 > 0 ? t * 1000 / hz / ($2 / 1073741824) : 0) }'
}
# RSS (kB) of a process (nginx and haproxy: their workers summed) with IDLE
# idle connections open through it.
rss_with_idle() { # port, pid
  python3 - "$1" "$2" "$IDLE" <<'PY'
import os, socket, sys, time
port, pid, n = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
socks = []
for _ in range(n):
    s = socket.create_connection(("127.0.0.1", port), 5)
    socks.append(s)
time.sleep(1)
def rss(p):
    try:
        with open(f"/proc/{p}/status") as f:
            return next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))
    except (OSError, StopIteration):
        return 0
kids = []
for d in os.listdir("/proc"):
    if d.isdigit():
        try:
            with open(f"/proc/{d}/stat") as f:
                if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                    kids.append(int(d))
        except (OSError, ValueError, IndexError):
            pass
print(rss(pid) + sum(rss(k) for k in kids))
for s in socks:
    s.close()
PY
}

NAMES=()
for name in ppctl-relay ppctl-b haproxy nginx-stream; do [ -n "${PORT[$name]:-}" ] && NAMES+=("$name"); done
declare -A RUNS DOWNS R
RATIOS=(); CPUR=(); NRATIOS=(); NCPUR=(); ABR=(); ABCPU=()
MBR=(); MBCPU=(); NMBR=(); NMBCPU=(); ABMBR=(); ABMBCPU=()
declare -A D
for round in $(seq "$ROUNDS"); do
  for k in "${!NAMES[@]}"; do
    name=${NAMES[$(( (k + round) % ${#NAMES[@]} ))]}
    R[$name]=$(load "$name")
    RUNS[$name]+="${R[$name]}"$'\n'
    D[$name]=$(download "$name")
    DOWNS[$name]+="${D[$name]}"$'\n'
  done
  read -r a _ acpu <<< "${D[ppctl-relay]:-0 0 0}"
  for other in haproxy nginx-stream ppctl-b; do
    [ -n "${D[$other]:-}" ] || continue
    read -r b _ bcpu <<< "${D[$other]}"
    case $other in
      haproxy) MBR+=("$(ratio "$a" "$b")"); MBCPU+=("$(ratio "$acpu" "$bcpu")") ;;
      nginx-stream) NMBR+=("$(ratio "$a" "$b")"); NMBCPU+=("$(ratio "$acpu" "$bcpu")") ;;
      ppctl-b) ABMBR+=("$(ratio "$a" "$b")"); ABMBCPU+=("$(ratio "$acpu" "$bcpu")") ;;
    esac
  done
  read -r a _ acpu _ <<< "${R[ppctl-relay]:-0 - 0}"
  if [ -n "${R[haproxy]:-}" ]; then
    read -r b _ bcpu _ <<< "${R[haproxy]}"
    RATIOS+=("$(ratio "$a" "$b")"); CPUR+=("$(ratio "$acpu" "$bcpu")")
  fi
  if [ -n "${R[nginx-stream]:-}" ]; then
    read -r b _ bcpu _ <<< "${R[nginx-stream]}"
    NRATIOS+=("$(ratio "$a" "$b")"); NCPUR+=("$(ratio "$acpu" "$bcpu")")
  fi
  if [ -n "${R[ppctl-b]:-}" ]; then
    read -r b _ bcpu _ <<< "${R[ppctl-b]}"
    ABR+=("$(ratio "$a" "$b")"); ABCPU+=("$(ratio "$acpu" "$bcpu")")
  fi
done

echo "front hops -> nginx listen proxy_protocol; $N connections, concurrency $C, GET with Connection: close;"
echo "download of $SIZE; RSS with $IDLE idle connections; median of $ROUNDS interleaved rounds; $(nproc) CPUs, $(uname -r), load average $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-14s %10s %12s %11s %5s %10s %10s %10s   %s\n' "front hop" conn/s ok cpu_us/conn gen% MiB/s ms/GiB RSS_kB "all rounds (conn/s | cpu_us/conn | MiB/s | ms/GiB)"
for name in "${NAMES[@]}"; do
  read -r rate ok _ <<< "$(printf '%s' "${RUNS[$name]}" | median)"
  cpu=$(printf '%s' "${RUNS[$name]}" | awk '{ print $3 }' | median)
  gen=$(printf '%s' "${RUNS[$name]}" | awk '{ print $4 }' | median)
  read -r speed _ <<< "$(printf '%s' "${DOWNS[$name]}" | median)"
  per_gib=$(printf '%s' "${DOWNS[$name]}" | awk '{ print $3 }' | median)
  rss=$(rss_with_idle "${PORT[$name]}" "${PID[$name]}")
  RATE[$name]=$rate; SPEED[$name]=$speed; RSS[$name]=$rss
  all="$(printf '%s' "${RUNS[$name]}" | awk '{ printf "%s ", $1 }')| $(printf '%s' "${RUNS[$name]}" | awk '{ printf "%s ", $3 }')| $(printf '%s' "${DOWNS[$name]}" | awk '{ printf "%s ", $1 }')| $(printf '%s' "${DOWNS[$name]}" | awk '{ printf "%s ", $3 }')"
  printf '%-14s %10s %12s %11s %5s %10s %10s %10s   %s\n' "$name" "$rate" "$ok" "$cpu" "$gen" "$speed" "$per_gib" "$rss" "$all"
done
summary "conn/s ppctl relay / haproxy:" "${RATIOS[@]}"
summary "CPU per conn ppctl relay / haproxy:" "${CPUR[@]}"
summary "conn/s ppctl relay / nginx-stream:" "${NRATIOS[@]}"
summary "CPU per conn ppctl relay / nginx-stream:" "${NCPUR[@]}"
summary "conn/s ppctl relay / ppctl-b:" "${ABR[@]}"
summary "CPU per conn ppctl relay / ppctl-b:" "${ABCPU[@]}"
summary "MiB/s ppctl relay / haproxy:" "${MBR[@]}"
summary "CPU per GiB ppctl relay / haproxy:" "${MBCPU[@]}"
summary "MiB/s ppctl relay / nginx-stream:" "${NMBR[@]}"
summary "CPU per GiB ppctl relay / nginx-stream:" "${NMBCPU[@]}"
summary "MiB/s ppctl relay / ppctl-b:" "${ABMBR[@]}"
summary "CPU per GiB ppctl relay / ppctl-b:" "${ABMBCPU[@]}"
if [ -n "${RATE[ppctl-relay]:-}" ]; then
  for other in haproxy nginx-stream; do
    [ -n "${RATE[$other]:-}" ] || continue
    python3 -c "print('ppctl relay / $other: %.2fx conn/s, %.2fx MiB/s' % (${RATE[ppctl-relay]} / ${RATE[$other]}, ${SPEED[ppctl-relay]} / max(${SPEED[$other]}, 1)))"
  done
fi
