#!/usr/bin/env bash
# Run every fuzz target for SECONDS each (default 60), one after the other,
# or the targets named after it:  fuzz/run.sh 600 decode tlv
# The codec's targets (decode, tlv, input) live in crates/ppctl-codec/fuzz
# and build the codec alone; pcap lives here and builds the whole tool.
# Seeds the corpora first when they are missing (fuzz/seed.sh). Prints one
# line per target (runs, coverage, corpus size) and exits 1 if any target
# found a crash; the crashing input is in <fuzz dir>/artifacts/<target>/ and
# the full libFuzzer log in <fuzz dir>/artifacts/logs/<target>.log.
# Needs the nightly toolchain and cargo-fuzz (cargo install cargo-fuzz --locked).
set -euo pipefail
cd "$(dirname "$0")"
here=$PWD

seconds=${1:-60}
shift || true
targets=("$@")
if ((${#targets[@]} == 0)); then
    targets=(decode tlv input pcap)
fi

# Bigger inputs where the format needs room: a capture holds several frames.
max_len() {
    case "$1" in
        pcap) echo 65536 ;;
        *) echo 4096 ;;
    esac
}

# The fuzz directory (its own cargo workspace) that holds a target.
dir_of() {
    case "$1" in
        pcap) echo "$here" ;;
        *) echo "$here/../crates/ppctl-codec/fuzz" ;;
    esac
}

[ -d corpus/pcap ] && [ -d ../crates/ppctl-codec/fuzz/corpus/decode ] || ./seed.sh
failed=()
for t in "${targets[@]}"; do
    cd "$(dir_of "$t")"
    mkdir -p artifacts/logs
    mkdir -p "corpus/$t" "artifacts/$t"
    log="artifacts/logs/$t.log"
    # -timeout: an input that takes over 10 s is a hang, reported as a crash.
    # -rss_limit_mb: an input that needs over 2 GiB is unbounded allocation.
    if cargo +nightly fuzz run "$t" "corpus/$t" -- \
        -max_total_time="$seconds" -max_len="$(max_len "$t")" \
        -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 >"$log" 2>&1; then
        status=ok
    elif ! grep -q '^INFO: Running with' "$log"; then
        status="BUILD FAILED"
        failed+=("$t")
    else
        status=CRASH
        failed+=("$t")
    fi
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')
    last=$(grep -E '^#[0-9]+' "$log" | tail -1 || true)
    cov=$(grep -o 'cov: [0-9]*' <<<"$last" | grep -o '[0-9]*' || echo '?')
    ft=$(grep -o 'ft: [0-9]*' <<<"$last" | grep -o '[0-9]*' || echo '?')
    corp=$(grep -o 'corp: [0-9]*' <<<"$last" | grep -o '[0-9]*' || echo '?')
    cd "$here"
    echo "fuzz: $t: $status, ${seconds}s, $runs runs, cov $cov, ft $ft, corpus $corp"
done
if ((${#failed[@]})); then
    echo "fuzz: failed: ${failed[*]}; see artifacts/logs/<target>.log (and the input in artifacts/<target>/) under fuzz/ (pcap) or crates/ppctl-codec/fuzz/ (the others)" >&2
    exit 1
fi
