#!/usr/bin/env bash
# Benchmark `ppctl pcap` (not run in CI).
#
# Generates two synthetic captures (a mix of PROXY v1, v2 with TLVs and plain
# HTTP flows, some answered 400) with examples/gen_pcap.rs, then times in one
# run, on a warm page cache:
#   ppctl pcap --summary FILE        (release build)
#   tshark -o tcp.try_heuristic_first:TRUE -Y proxy -r FILE
#   cat FILE | wc -c                 (the cost of just reading the file)
# and prints both ratios and the maximum RSS (GNU time -v). The small file
# shows whether RSS grows with the file's size.
#
# Usage: bench/pcap.sh [FLOWS] [--short]
#        default: 75000 flows of 14 packets = 1.1 M packets, ~500 MB;
#        --short: flows of 6 packets (one answer segment, then a reset),
#        the shape of issue 14's capture: 170000 flows = 1.02 M packets,
#        ~250 MB (bench/pcap.sh 170000 --short)
# Env:   BENCH_DIR (default: a temp dir), TSHARK_LIMIT (seconds, default 600):
#        when tshark takes longer on the big file it is timed on a slice
#        (the small file) and extrapolated by packet count, and the output
#        says so.
set -euo pipefail

flows=${1:-75000}
shape=${2:-}
small_flows=$((flows / 4))
dir=${BENCH_DIR:-$(mktemp -d)}
tshark_limit=${TSHARK_LIMIT:-600}
cd "$(dirname "$0")/.."

for tool in tshark /usr/bin/time; do
    command -v "$tool" >/dev/null || { echo "missing $tool (apt-get install tshark time)" >&2; exit 2; }
done

cargo build --quiet --release --bin ppctl --example gen_pcap
ppctl=target/release/ppctl
gen=target/release/examples/gen_pcap

big=$dir/big.pcap
small=$dir/small.pcap
[ -s "$big" ] || "$gen" "$flows" $shape >"$big"
[ -s "$small" ] || "$gen" "$small_flows" $shape >"$small"

# wall seconds, CPU seconds (user + sys) and max RSS (KB) of a command, from GNU time
measure() {
    # ppctl exits with 1 when the capture has problem flows: not a failure here.
    /usr/bin/time -o "$dir/time.out" -f "%e %U %S %M" "$@" >/dev/null 2>&1 || true
    tail -1 "$dir/time.out" | awk '{printf "%s %.2f %s\n", $1, $2 + $3, $4}'
}

# best of 3 (the machine may be shared): wall, CPU, RSS
best_of_3() {
    local best="" cpu_best="" t cpu rss
    for _ in 1 2 3; do
        read -r t cpu rss < <(measure "$@")
        if [ -z "$best" ] || awk "BEGIN{exit !($t < $best)}"; then best=$t; fi
        if [ -z "$cpu_best" ] || awk "BEGIN{exit !($cpu < $cpu_best)}"; then cpu_best=$cpu; fi
    done
    echo "$best $cpu_best $rss"
}


packets() { { "$ppctl" pcap --summary --json "$1" || true; } | sed -n 's/.*"frames":\([0-9]*\).*/\1/p'; }

for f in "$big" "$small"; do cat "$f" >/dev/null; done # warm the cache
load=$(cut -d' ' -f1-3 /proc/loadavg)

read -r p_big pc_big rss_big < <(best_of_3 "$ppctl" pcap --summary "$big")
read -r p_small pc_small rss_small < <(best_of_3 "$ppctl" pcap --summary "$small")
read -r c_big cc_big _ < <(best_of_3 sh -c 'cat "$1" | wc -c' sh "$big")

n_big=$(packets "$big")
n_small=$(packets "$small")
size_big=$(stat -c %s "$big")
size_small=$(stat -c %s "$small")

tshark_note="full file"
if read -r t_big tc_big t_rss < <(measure timeout "$tshark_limit" tshark -n -r "$big" -o tcp.try_heuristic_first:TRUE -Y proxy) &&
    [ "$(awk "BEGIN{print ($t_big < $tshark_limit - 1)}")" = 1 ]; then
    :
else
    read -r t_small tc_small t_rss < <(measure tshark -n -r "$small" -o tcp.try_heuristic_first:TRUE -Y proxy)
    t_big=$(awk "BEGIN{printf \"%.2f\", $t_small * $n_big / $n_small}")
    tc_big=$(awk "BEGIN{printf \"%.2f\", $tc_small * $n_big / $n_small}")
    tshark_note="extrapolated from the small file ($t_small s for $n_small packets)"
fi

echo "machine: $(nproc) CPUs, $(awk '/MemTotal/{printf "%.1f GiB", $2/1048576}' /proc/meminfo) RAM"
lscpu | sed -n 's/^Model name: *//p' | head -1
echo "big:   $n_big packets, $size_big bytes"
echo "small: $n_small packets, $size_small bytes"
echo "load average before the run: $load"
echo "                              wall     CPU (user+sys)"
echo "ppctl pcap --summary (big):   ${p_big} s   ${pc_big} s   max RSS ${rss_big} KB"
echo "ppctl pcap --summary (small): ${p_small} s   ${pc_small} s   max RSS ${rss_small} KB"
echo "cat | wc -c (big):             ${c_big} s   ${cc_big} s"
echo "tshark -Y proxy (big):        ${t_big} s   ${tc_big} s   max RSS ${t_rss} KB ($tshark_note)"
awk "BEGIN{printf \"wall: tshark / ppctl %.1fx, ppctl / cat %.1fx;  CPU: tshark / ppctl %.1fx, ppctl / cat %.1fx\n\", $t_big / $p_big, $p_big / $c_big, $tc_big / $pc_big, $pc_big / $cc_big}"
awk "BEGIN{printf \"ppctl throughput (wall): %.0f MB/s, %.2f M packets/s\n\", $size_big / $p_big / 1e6, $n_big / $p_big / 1e6}"
