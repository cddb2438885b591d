#!/usr/bin/env bash
# Fill fuzz/corpus/<target>/ with seeds from the test vectors and the test
# captures. The corpora are git-ignored (they grow while fuzzing); this
# script recreates their starting point on a fresh clone.
# Needs jq, xxd and perl.
set -euo pipefail
cd "$(dirname "$0")"
data=../tests/data
vectors=../crates/ppctl-codec/tests/data/vectors.json
codec=../crates/ppctl-codec/fuzz/corpus
mkdir -p "$codec/decode" "$codec/tlv" "$codec/input" corpus/pcap

# Every vector, as a header file named after it.
while read -r name hex; do
    [ -n "$hex" ] || continue
    bin=$(mktemp)
    printf '%s' "$hex" | xxd -r -p >"$bin"
    # decode: first byte = number of cut points. One seed fed at once, one
    # cut into 1-, 2- and 13-byte chunks then the rest.
    { printf '\x00'; cat "$bin"; } >"$codec/decode/$name"
    { printf '\x03\x00\x01\x0c'; cat "$bin"; } >"$codec/decode/$name-split"
    # input: the hex as typed (with spaces, as hex dumps show it), and the
    # escaped-text form of a v1 line.
    printf '%s' "$hex" | sed 's/../& /g' >"$codec/input/$name-hex"
    if [ "$(xxd -p -l 5 "$bin")" = "50524f5859" ]; then
        perl -0777 -pe 's/\r/\\r/g; s/\n/\\n/g; s/\0/\\0/g' "$bin" >"$codec/input/$name-text"
    fi
    # tlv: the TLV area of v2 headers (after the 16-byte prefix and the
    # address block the family byte implies).
    if [ "$(xxd -p -l 12 "$bin")" = "0d0a0d0a000d0a515549540a" ] && [ "$(stat -c %s "$bin")" -gt 16 ]; then
        fam=$(xxd -p -s 13 -l 1 "$bin")
        case "${fam:0:1}" in
            1) skip=12 ;; 2) skip=36 ;; 3) skip=216 ;; *) skip=0 ;;
        esac
        tail -c +$((17 + skip)) "$bin" >"$codec/tlv/$name"
    fi
    rm -f "$bin"
done < <(jq -r '.[] | "\(.name) \(.hex // "")"' "$vectors")

# The test captures (pcap, pcapng, both byte orders, VLANs).
cp "$data"/pcap/* corpus/pcap/

# Drop empty seeds (a vector with an empty TLV area).
find corpus "$codec" -type f -empty -delete
for d in "$codec/decode" "$codec/tlv" "$codec/input" corpus/pcap; do
    echo "seed: $d: $(find "$d" -type f | wc -l) files"
done
