#!/usr/bin/env bash
# `ppctl pcap --summary FILE` next to `cat FILE | wc -c` (the cost of just
# reading the file) with both pinned to one CPU (`taskset -c 0`), as the
# pcap rows of docs/performance.md are measured: unpinned, the pipe's two
# ends wake each other across CPUs and `cat | wc -c` costs two to three
# times as much, a baseline that would flatter ppctl without making it
# faster. Wall time of PAIRS interleaved pairs on a warm page cache (the
# baseline first in each pair); prints each pair's ratio, the median and
# the range, then ppctl's peak RSS (GNU time).
#
# Usage: bench/pcap-pinned.sh FILE [PPCTL] [PPCTL_B] [PAIRS]
#        PPCTL defaults to target/release/ppctl; PPCTL_B (or -) adds a
#        second build in the same pairs; PAIRS defaults to 7.
#        Captures: bench/pcap.sh's generator, e.g.
#        target/release/examples/gen_pcap 170000 --short > dense.pcap
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: $0 FILE [PPCTL] [PPCTL_B|-] [PAIRS]" >&2; exit 2; }
file=$1
a=${2:-target/release/ppctl}
b=${3:--}
pairs=${4:-7}
[ "$b" = - ] && b=
for tool in taskset /usr/bin/time; do
    command -v "$tool" > /dev/null || { echo "missing $tool (apt-get install util-linux time)" >&2; exit 2; }
done
[ -r "$file" ] || { echo "$file: cannot read it" >&2; exit 2; }

# Nanoseconds one command takes (its output discarded; ppctl exits 1 when
# the capture has problem flows, which is no failure here).
nanos() {
    local start end
    start=$(date +%s%N)
    "$@" > /dev/null 2>&1 || true
    end=$(date +%s%N)
    echo $((end - start))
}

# The median of the numbers on stdin (of the middle two for an even count).
median() {
    sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# The median, smallest and largest of the ratios on stdin.
stats() {
    local sorted
    sorted=$(sort -g)
    printf '%.2fx (pairs %.2f-%.2f)' "$(median <<< "$sorted")" "$(head -1 <<< "$sorted")" "$(tail -1 <<< "$sorted")"
}

# The median of the nanoseconds on stdin, in seconds.
median_s() { awk '{ printf "%.3f s", $1 / 1e9 }' <<< "$(median)"; }

cat "$file" > /dev/null # warm the cache
echo "$(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg); $file ($(stat -c %s "$file") bytes), $pairs pairs"
ra="" rb="" ta="" tc=""
for _ in $(seq "$pairs"); do
    c=$(nanos taskset -c 0 sh -c 'cat "$1" | wc -c' sh "$file")
    x=$(nanos taskset -c 0 "$a" pcap --summary "$file")
    ra+="$(awk "BEGIN { print $x / $c }")"$'\n'
    ta+="$x"$'\n' tc+="$c"$'\n'
    if [ -n "$b" ]; then
        y=$(nanos taskset -c 0 "$b" pcap --summary "$file")
        rb+="$(awk "BEGIN { print $y / $c }")"$'\n'
    fi
done
echo "$a: $(printf '%s' "$ra" | stats) of cat | wc -c; ppctl $(printf '%s' "$ta" | median_s), cat | wc -c $(printf '%s' "$tc" | median_s)"
[ -n "$b" ] && echo "$b: $(printf '%s' "$rb" | stats) of cat | wc -c"
rss=$(mktemp)
trap 'rm -f "$rss"' EXIT
for build in "$a" ${b:+"$b"}; do
    /usr/bin/time -f "%M" -o "$rss" "$build" pcap --summary "$file" > /dev/null 2>&1 || true
    tail -1 "$rss" | awk -v b="$build" '{ printf "%s: peak RSS %d KB (%.1f MiB)\n", b, $1, $1 / 1024 }'
done
