#!/usr/bin/env bash
# User instructions per flow of `ppctl pcap --summary`, counted by
# valgrind's callgrind (independent of machine load), as a slope between
# captures of one shape: (instructions(B) - instructions(A)) / (flows(B) -
# flows(A)), so start-up and the tables' first growth cancel out. Cut the
# captures with bench/pcap-cut.sh.
#
# Usage: bench/pcap-instructions.sh PPCTL SMALL.pcap BIG.pcap [MORE.pcap...]
#        prints each capture's instructions and flows, then each slope
#        between consecutive captures
set -euo pipefail
[ $# -ge 3 ] || { echo "usage: $0 PPCTL A.pcap B.pcap [C.pcap...]" >&2; exit 2; }
command -v valgrind >/dev/null || { echo "valgrind is needed (apt-get install valgrind)" >&2; exit 2; }
ppctl=$1
shift
# ppctl exits with 1 when the capture has problem flows: not a failure here.
count() {
    { valgrind --tool=callgrind --callgrind-out-file=/dev/null "$ppctl" pcap --summary "$1" 2>&1 >/dev/null || true; } |
        grep -o 'refs: *[0-9,]*' | tr -d ', ' | cut -d: -f2
}
flows() {
    { "$ppctl" pcap --summary --json "$1" 2>/dev/null || true; } | grep -o '"flows":[0-9]*' | head -1 | cut -d: -f2
}
prev_ir="" prev_flows=""
for cap in "$@"; do
    ir=$(count "$cap")
    n=$(flows "$cap")
    printf '%s: %s instructions, %s flows\n' "$cap" "$ir" "$n"
    if [ -n "$prev_ir" ]; then
        printf '  slope: %s instructions per flow\n' $(( (ir - prev_ir) / (n - prev_flows) ))
    fi
    prev_ir=$ir prev_flows=$n
done
