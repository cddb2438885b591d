#!/usr/bin/env bash
# The server and pcap speed aims of docs/performance.md in one run (about
# 12 minutes on 2 CPUs; not run in CI): bench/relay.sh (SIZE=1G) and
# bench/listen.sh, uncapped and with each receiver capped at half a CPU
# (RECEIVER_CPU=0.5, needs root), 5 interleaved rounds each, then
# bench/pcap-pinned.sh on each capture given (7 pairs, with the peak RSS).
# PPCTL_B adds a second build in the same rounds: the same build twice
# shows the spread of one build against itself. Each script's output goes
# to OUT/TAG-*.txt.
#
# Usage: bench/aims.sh TAG OUT [CAPTURE...]
#        PPCTL=... PPCTL_B=... bench/aims.sh night1 /tmp/aims dense.pcap big.pcap
# Captures: target/release/examples/gen_pcap 170000 --short > dense.pcap
#           (flow-dense), target/release/examples/gen_pcap 75000 > big.pcap
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: $0 TAG OUT [CAPTURE...]" >&2; exit 2; }
tag=$1 out=$2
shift 2
cd "$(dirname "$0")/.."
mkdir -p "$out"
export PPCTL=${PPCTL:-target/release/ppctl} PPCTL_B=${PPCTL_B:-}
for cap in "" 0.5; do
    name=${cap:+capped}
    name=${name:-uncapped}
    SIZE=1G RECEIVER_CPU=$cap ROUNDS=5 bench/relay.sh > "$out/$tag-relay-$name.txt" 2>&1
    RECEIVER_CPU=$cap ROUNDS=5 bench/listen.sh > "$out/$tag-listen-$name.txt" 2>&1
done
for capture in "$@"; do
    bench/pcap-pinned.sh "$capture" "$PPCTL" "${PPCTL_B:--}" 7 \
        > "$out/$tag-pcap-$(basename "$capture" .pcap).txt" 2>&1
done
echo "results: $out/$tag-*.txt"
