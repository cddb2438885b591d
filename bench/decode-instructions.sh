#!/usr/bin/env bash
# Instructions per decode, ppctl next to ppp, counted by valgrind's callgrind
# (independent of machine load). Prints a markdown table.
# Usage: bench/decode-instructions.sh [ITERATIONS]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-20000}
command -v valgrind >/dev/null || { echo "valgrind is needed (apt-get install valgrind)" >&2; exit 2; }
cargo build --release -p ppctl-codec --bench instructions >&2
bin=$(ls -t target/release/deps/instructions-* | grep -v '\.d$' | head -1)
count() { valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" "$@" 2>&1 | grep -o 'refs: *[0-9,]*' | tr -d ', ' | cut -d: -f2; }
echo "| input | ppctl instr/decode | ppp instr/decode | ppctl / ppp |"
echo "|---|---|---|---|"
for input in v1_tcp4 v1_tcp6 v1_unknown v2_tcp4 v2_tcp6 v2_tcp4_tlvs; do
    base=$(count none "$input" "$n")
    a=$(( ($(count ppctl "$input" "$n") - base) / n ))
    b=$(( ($(count ppp "$input" "$n") - base) / n ))
    echo "| $input | $a | $b | $(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f", a / b }') |"
done
