#!/usr/bin/env bash
# Cut a legacy pcap file at a record boundary: the global header and the
# whole records within the first BYTES bytes (the callgrind slopes of
# docs/performance.md are taken between two such cuts).
#
# Usage: bench/pcap-cut.sh IN BYTES OUT
#        prints the records kept and the bytes written
set -euo pipefail
[ $# -eq 3 ] || { echo "usage: $0 IN BYTES OUT" >&2; exit 2; }
python3 - "$1" "$2" "$3" <<'PY'
import struct, sys
src, limit, dst = sys.argv[1], int(sys.argv[2]), sys.argv[3]
with open(src, "rb") as f:
    head = f.read(24)
    magic = head[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        order = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        order = ">"
    else:
        sys.exit(f"{src}: not a legacy pcap file")
    out, size, records = [head], 24, 0
    while True:
        rec = f.read(16)
        if len(rec) < 16:
            break
        incl = struct.unpack(order + "I", rec[8:12])[0]
        if size + 16 + incl > limit:
            break
        body = f.read(incl)
        if len(body) < incl:
            break
        out.append(rec)
        out.append(body)
        size += 16 + incl
        records += 1
with open(dst, "wb") as g:
    g.writelines(out)
print(records, size)
PY
