#!/usr/bin/env bash
# `ppctl check` at scale (not run in CI): wall time and peak RSS on
#   - nginx-200k: one nginx configuration of 200,000 server blocks (31 MB),
#     each `listen ADDR:80 proxy_protocol`, a server_name and a location,
#     with set_real_ip_from / real_ip_header proxy_protocol in `http`;
#   - k8s-64k: 65,536 Services of type LoadBalancer, one YAML stream (13 MB);
#   - k8s-16k: a quarter of it, to see that time grows linearly;
# each with the human view and with --json (200 MB of JSON for nginx-200k),
# ROUNDS times, interleaved. Prints one line per run and the median per
# input and view. The inputs are generated into a temporary directory.
#
#   cargo build --release && bench/check.sh
#   ROUNDS=5 bench/check.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
PPCTL=${PPCTL:-target/release/ppctl}
[ -x "$PPCTL" ] || { echo "build first: cargo build --release" >&2; exit 2; }
PPCTL=$(cd "$(dirname "$PPCTL")" && pwd)/$(basename "$PPCTL")
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

python3 - "$WORK" <<'PY'
import sys
work = sys.argv[1]
with open(f"{work}/nginx-200k.conf", "w") as f:
    f.write("events {}\nhttp {\n    set_real_ip_from 10.0.0.0/8;\n    real_ip_header proxy_protocol;\n")
    for i in range(200000):
        f.write(f"server {{\n listen 10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}:80 proxy_protocol;\n"
                f" server_name site{i}.example.com;\n location / {{ proxy_pass http://127.0.0.1:8080; }}\n}}\n")
    f.write("}\n")
def services(path, n):
    with open(path, "w") as f:
        for i in range(n):
            f.write(f"---\napiVersion: v1\nkind: Service\nmetadata:\n  name: svc-{i}\n  namespace: ns-{i % 97}\n"
                    f"spec:\n  type: LoadBalancer\n  selector:\n    app: a{i}\n  ports:\n  - name: http\n"
                    f"    port: 80\n    targetPort: 8080\n")
services(f"{work}/k8s-64k.yaml", 65536)
services(f"{work}/k8s-16k.yaml", 16384)
PY

runs=$WORK/runs.txt
: > "$runs"
for round in $(seq "$ROUNDS"); do
  for input in nginx-200k.conf k8s-64k.yaml k8s-16k.yaml; do
    for view in human json; do
      flag=""; [ "$view" = json ] && flag=--json
      code=0
      /usr/bin/time -f "%e %M" -o "$WORK/time" "$PPCTL" check $flag "$WORK/$input" > /dev/null 2> "$WORK/err" || code=$?
      read -r secs kib < <(tail -1 "$WORK/time")
      size=$(du -m "$WORK/$input" | cut -f1)
      echo "round $round  $input (${size} MB)  $view  exit $code  ${secs} s  $((kib / 1024)) MiB" | tee -a "$runs"
      echo "$input $view $secs $((kib / 1024))" >> "$WORK/table"
    done
  done
done
echo
echo "| input | view | median s | min-max s | median peak RSS MiB |"
echo "|---|---|---|---|---|"
for input in nginx-200k.conf k8s-64k.yaml k8s-16k.yaml; do
  for view in human json; do
    grep "^$input $view " "$WORK/table" | awk -v i="$input" -v v="$view" '
      { s[NR] = $3; m[NR] = $4 }
      END {
        n = asort(s); asort(m)
        printf "| %s | %s | %.2f | %.2f-%.2f | %d |\n", i, v, s[int((n + 1) / 2)], s[1], s[n], m[int((n + 1) / 2)]
      }'
  done
done
