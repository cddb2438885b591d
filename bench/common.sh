# Shared by the server benchmarks (bench/listen.sh, relay.sh, tls.sh,
# exporter.sh): a scratch dir removed at exit, every started process
# stopped by pid, ports, CPU ticks and the ratio summaries. Source it after
# `cd` to the repository's root:  . bench/common.sh
WORK=$(mktemp -d)
PIDS=()
CGROUPS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for g in "${CGROUPS[@]}"; do
    for _ in $(seq 50); do rmdir "$g" 2>/dev/null && break; sleep 0.1; done
  done
  rm -rf "$WORK"
}
trap cleanup EXIT

need_ppctl() { [ -x "$PPCTL" ] || { echo "build first: cargo build --release" >&2; exit 2; }; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
# Waits (at most 5 s) until something listens on 127.0.0.1:PORT. It reads
# /proc/net/tcp instead of connecting, so the receiver counts no extra
# connection.
wait_port() {
  for _ in $(seq 100); do
    grep -qi ":$(printf '%04X' "$1") 00000000:0000 0A" /proc/net/tcp 2>/dev/null && return 0
    sleep 0.05
  done
  return 1
}
# A config from a template in bench/: render TEMPLATE OUT PORT [UPSTREAM].
render() {
  sed -e "s|{{PORT}}|$3|g" -e "s|{{UPSTREAM}}|${4:-}|g" -e "s|{{DIR}}|$WORK|g" \
    -e "s|{{STREAM_MODULE}}|${STREAM_MODULE:-}|g" "$1" > "$2"
}
# RECEIVER_CPU=F (e.g. 0.5): each started server (with its children: nginx's
# workers) runs in a CPU cgroup of its own capped at F CPUs (cgroup v2
# cpu.max, or v1 cpu.cfs_quota_us; 10 ms periods), the load generator
# uncapped. On a machine where the one-thread generator sets the pace
# (gen% near 100), this makes each server the bottleneck under the same CPU
# budget, so conn/s compares the servers, not the generator. Needs root.
cpu_cgroup() { # NAME: prints the new cgroup's directory
  local quota period=10000 dir
  quota=$(python3 -c "print(int($RECEIVER_CPU * $period))")
  if grep -qw cpu /sys/fs/cgroup/cgroup.controllers 2>/dev/null; then
    echo +cpu > /sys/fs/cgroup/cgroup.subtree_control 2>/dev/null || true
    dir=/sys/fs/cgroup/ppctl-bench-$$-$1
    mkdir "$dir" && echo "$quota $period" > "$dir/cpu.max"
  elif [ -d /sys/fs/cgroup/cpu ]; then
    dir=/sys/fs/cgroup/cpu/ppctl-bench-$$-$1
    mkdir "$dir" && echo "$period" > "$dir/cpu.cfs_period_us" && echo "$quota" > "$dir/cpu.cfs_quota_us"
  else
    echo "RECEIVER_CPU: no CPU cgroup controller here (cgroup v2 cpu or v1 cpu)" >&2; exit 2
  fi
  echo "$dir"
}
# start NAME PORT COMMAND...: runs it in the background (log in $WORK/NAME.log)
# and sets PID[NAME], and PORT[NAME] once it listens; says so when it doesn't.
declare -A PORT PID
start() {
  local name=$1 port=$2 group; shift 2
  if [ -n "${RECEIVER_CPU:-}" ]; then
    group=$(cpu_cgroup "$name") || exit 2
    CGROUPS+=("$group")
    # The shell joins the cgroup, then becomes the server: every process
    # it forks stays in it.
    set -- sh -c 'echo $$ > "$0/cgroup.procs" && exec "$@"' "$group" "$@"
  fi
  "$@" > "$WORK/$name.log" 2>&1 &
  PIDS+=($!); PID[$name]=$!
  if wait_port "$port"; then PORT[$name]=$port; else echo "$name did not start (see $WORK/$name.log)" >&2; fi
}

# CPU ticks (user + sys) of a process and its children (nginx's workers).
ticks() {
  local total=0 p
  for p in $1 $(pgrep -P "$1" || true); do
    total=$(( total + $(awk '{ print $14 + $15 }' "/proc/$p/stat") ))
  done
  echo "$total"
}
HZ=$(getconf CLK_TCK)

# gen_pct FILE: a load generator's CPU (user + sys) over its wall time, in
# % of one CPU, from `/usr/bin/time -f '%U %S %e' -o FILE`. bench/loadgen.c
# is one thread: near 100 it, not the server under test, sets the pace.
gen_pct() { awk 'END { printf "%.0f", ($3 > 0 ? 100 * ($1 + $2) / $3 : 0) }' "$1"; }

median() { sort -n | awk '{ l[NR] = $0 } END { print l[int((NR + 1) / 2)] }'; }
# ratio A B: A / B with three decimals (B of 0 counts as 1).
ratio() { python3 -c "print('%.3f' % ($1 / max($2, 1)))"; }
# ratio_ms A B: the same for latencies in ms (B of 0 counts as 0.001).
ratio_ms() { python3 -c "print('%.3f' % ($1 / max($2, 0.001)))"; }
# summary LABEL RATIO...: median, min and max of the per-round ratios
# (nothing when there are none: that receiver did not run).
summary() {
  [ $# -gt 1 ] || return 0
  python3 -c "import statistics as s, sys; v = [float(x) for x in sys.argv[2:]]; print('%-34s median %.2fx, min %.2fx, max %.2fx  (%s)' % (sys.argv[1], s.median(v), min(v), max(v), ' '.join(sys.argv[2:])))" "$@"
}

# The peers' front hops of bench/relay.sh and relay-system.sh in front of
# BACKEND: HAProxy `send-proxy-v2` and nginx `stream` `proxy_protocol on`
# (STREAM_MODULE: the module's path), each skipped, and said so, when it is
# not installed.
start_relay_peers() { # BACKEND
  local p
  if command -v haproxy > /dev/null; then
    p=$(free_port); render bench/haproxy-send-proxy-v2.cfg "$WORK/haproxy.cfg" "$p" "$1"
    start haproxy "$p" haproxy -db -f "$WORK/haproxy.cfg"
  else
    echo "SKIP: haproxy not installed" >&2
  fi
  if [ -f "$STREAM_MODULE" ]; then
    p=$(free_port); render bench/nginx-stream-proxy-protocol.conf "$WORK/stream.conf" "$p" "$1"
    start nginx-stream "$p" nginx -p "$WORK" -c "$WORK/stream.conf"
  else
    echo "SKIP: nginx stream module not installed ($STREAM_MODULE)" >&2
  fi
}
