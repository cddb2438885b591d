#!/usr/bin/env bash
# Start-up time of the ppctl binary next to `curl --version`, in one
# hyperfine run: `ppctl --version` (clap parse, print, exit) and
# `ppctl inspect --sample v1` (a whole small command: decode, table,
# print). Prints hyperfine's table and the ratios ppctl / curl.
#
#   cargo build --release && bench/startup.sh
#   RUNS=500 PPCTL=target/release/ppctl bench/startup.sh
# Needs hyperfine (apt: hyperfine), curl and jq.
set -euo pipefail
cd "$(dirname "$0")/.."
PPCTL=${PPCTL:-target/release/ppctl}
RUNS=${RUNS:-300}
[ -x "$PPCTL" ] || { echo "build first: cargo build --release" >&2; exit 2; }
for tool in hyperfine curl jq; do
    command -v "$tool" >/dev/null || { echo "startup.sh needs $tool (apt install $tool)" >&2; exit 2; }
done
out=$(mktemp)
trap 'rm -f "$out"' EXIT

# -N: no intermediate shell, so its own start-up is not in the figures.
# Output goes to /dev/null (hyperfine's default), color off for ppctl.
hyperfine -N --warmup 20 --runs "$RUNS" --export-json "$out" \
    -n 'curl --version' 'curl --version' \
    -n 'ppctl --version' "$PPCTL --version" \
    -n 'ppctl inspect --sample v1' "$PPCTL --color never inspect --sample v1"

echo
jq -r '
  (.results | map({(.command): .}) | add) as $r
  | $r["curl --version"].mean as $curl
  | .results[]
  | "\(.command): mean \(.mean * 1e6 | floor) µs, median \(.median * 1e6 | floor) µs, "
    + "min \(.min * 1e6 | floor) µs; ratio to curl --version \((.mean / $curl) * 100 | floor / 100)x"
' "$out"
