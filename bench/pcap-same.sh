#!/usr/bin/env bash
# Compare two builds of ppctl on `ppctl pcap`: every view and the option
# variants on each capture, as the SHA-256 of stdout, stderr and the exit
# code. Prints each differing run and a count; exits 1 if any differ.
#
# Usage: bench/pcap-same.sh OLD NEW [CAPTURE...]
#        default captures: tests/data/pcap/*
# Both binaries are run as `ppctl` (copied into temp dirs), so messages
# that name the program match.
set -uo pipefail
[ $# -ge 2 ] || { echo "usage: $0 OLD NEW [CAPTURE...]" >&2; exit 2; }
old=$1 new=$2
shift 2
cd "$(dirname "$0")/.."
if [ $# -eq 0 ]; then set -- tests/data/pcap/*; fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/old" "$tmp/new"
cp "$old" "$tmp/old/ppctl"
cp "$new" "$tmp/new/ppctl"

views=(
    ""
    "--json"
    "--summary"
    "--summary --json"
    "--explain"
    "--group-by server"
    "--group-by client"
    "--group-by finding"
    "--color always"
    "--color always --explain"
)
options=(
    "--max-flows 3"
    "--max-flows 10"
    "--idle-timeout 1ms"
    "--idle-timeout 50ms"
    "--max-bytes 8"
    "--limit 5"
    "--protocol raw"
    "--protocol smtp"
    "--protocol http"
    "--finding proxied,http-error"
    "--finding plain"
    "--client 10.0.0.0/16"
    "--server :8080"
)

# SHA-256 of one run's stdout, stderr and exit code; stdin when $3 is "-"
digest() {
    local bin=$1 args=$2 file=$3 rc
    if [ "$file" = "-" ]; then
        # shellcheck disable=SC2086
        "$bin" pcap $args - <"$4" >"$tmp/out" 2>"$tmp/err"
    else
        # shellcheck disable=SC2086
        "$bin" pcap $args "$file" >"$tmp/out" 2>"$tmp/err"
    fi
    rc=$?
    { sha256sum <"$tmp/out"; sha256sum <"$tmp/err"; echo "$rc"; } | sha256sum | cut -c1-16
}

runs=0 diffs=0
compare() {
    local args=$1 file=$2 stdin=${3:-}
    local a b
    if [ -n "$stdin" ]; then
        a=$(digest "$tmp/old/ppctl" "$args" - "$file")
        b=$(digest "$tmp/new/ppctl" "$args" - "$file")
    else
        a=$(digest "$tmp/old/ppctl" "$args" "$file")
        b=$(digest "$tmp/new/ppctl" "$args" "$file")
    fi
    runs=$((runs + 1))
    if [ "$a" != "$b" ]; then
        diffs=$((diffs + 1))
        echo "DIFFERS: pcap $args ${stdin:+(stdin) }$file"
    fi
}

for cap in "$@"; do
    for v in "${views[@]}"; do compare "$v" "$cap"; done
    compare "--json" "$cap" stdin
    for o in "${options[@]}"; do
        compare "$o --json" "$cap"
        compare "$o --summary" "$cap"
    done
done
echo "$runs runs, $diffs differ"
[ "$diffs" -eq 0 ]
