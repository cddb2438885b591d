#!/usr/bin/env bash
# `ppctl probe --serve` under load it cannot serve at once: N concurrent
# scrapes (200) of a stalled target (a loopback listener whose connections
# complete in the kernel's backlog and never get a byte back), so every
# probe takes its module's whole timeout. Records, per round:
#   - the answers: how many 200 and 503 (and anything else, which is a bug),
#     and the slowest answer against the scrape timeout it was given;
#   - the bound: the most probes in flight seen on /metrics (sampled every
#     50 ms during the round) against --max-probes;
#   - memory and threads of the exporter: VmRSS before, VmHWM (peak) after,
#     Threads and open descriptors at the peak of the round.
# Then one line per bound: ok or EXCEEDED. Nothing but loopback; every
# process is stopped by pid; the load is bounded in count (N per round,
# ROUNDS rounds) and time (each scrape's own timeout).
#
#   cargo build --release && bench/exporter.sh
#   N=200 SLOTS=32 MODULE_TIMEOUT=2s SCRAPE_TIMEOUT=10 ROUNDS=3 bench/exporter.sh
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-200}
SLOTS=${SLOTS:-32}
MODULE_TIMEOUT=${MODULE_TIMEOUT:-2s}
SCRAPE_TIMEOUT=${SCRAPE_TIMEOUT:-10}
ROUNDS=${ROUNDS:-1}
RSS_LIMIT_MB=${RSS_LIMIT_MB:-64}
PPCTL=${PPCTL:-target/release/ppctl}
. bench/common.sh
need_ppctl

# The stalled target: listen(4096), never accept, for at most 10 minutes.
python3 - "$WORK/stalled.port" <<'EOF' &
import socket, sys, time
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(4096)
open(sys.argv[1], "w").write(str(s.getsockname()[1]))
time.sleep(600)
EOF
PIDS+=($!)
for _ in $(seq 100); do [ -s "$WORK/stalled.port" ] && break; sleep 0.05; done
STALLED=$(cat "$WORK/stalled.port")

printf 'modules:\n  stalled:\n    timeout: %s\n' "$MODULE_TIMEOUT" > "$WORK/ppctl.yml"
"$PPCTL" probe --serve 127.0.0.1:0 --config "$WORK/ppctl.yml" --max-probes "$SLOTS" --json \
  > "$WORK/exporter.out" 2> "$WORK/exporter.err" &
EXPORTER=$!
PIDS+=($EXPORTER)
for _ in $(seq 100); do [ -s "$WORK/exporter.out" ] && break; sleep 0.05; done
PORT=$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["addresses"][0]["port"])' "$WORK/exporter.out")

status() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$EXPORTER/status"; }
echo "exporter: $PPCTL (pid $EXPORTER) on 127.0.0.1:$PORT, --max-probes $SLOTS, module timeout $MODULE_TIMEOUT;" \
  "target 127.0.0.1:$STALLED (stalled); $N concurrent scrapes, scrape timeout ${SCRAPE_TIMEOUT}s, $ROUNDS round(s)"
echo "before: VmRSS $(status VmRSS) kB, Threads $(status Threads)"

worst=0
for round in $(seq "$ROUNDS"); do
  python3 - "$PORT" "$STALLED" "$N" "$SCRAPE_TIMEOUT" "$EXPORTER" > "$WORK/round.txt" <<'EOF'
import http.client, os, sys, threading, time
port, target, n, scrape = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
pid = sys.argv[5]
answers, lock, done = [], threading.Lock(), threading.Event()
def scrape_once():
    t = time.monotonic()
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=scrape + 30)
        c.request("GET", f"/probe?target=127.0.0.1:{target}&module=stalled",
                  headers={"X-Prometheus-Scrape-Timeout-Seconds": str(scrape)})
        r = c.getresponse(); r.read(); code = r.status
    except Exception as e:
        code = type(e).__name__
    with lock:
        answers.append((code, time.monotonic() - t))
peak = {"in_flight": 0, "waiting": 0, "threads": 0, "fds": 0}
def sample():
    while not done.is_set():
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            c.request("GET", "/metrics"); body = c.getresponse().read().decode()
            for line in body.splitlines():
                for k in ("in_flight", "waiting"):
                    if line.startswith(f"ppctl_exporter_probes_{k} "):
                        peak[k] = max(peak[k], int(float(line.split()[1])))
            for line in open(f"/proc/{pid}/status"):
                if line.startswith("Threads:"):
                    peak["threads"] = max(peak["threads"], int(line.split()[1]))
            peak["fds"] = max(peak["fds"], len(os.listdir(f"/proc/{pid}/fd")))
        except Exception:
            pass
        time.sleep(0.05)
sampler = threading.Thread(target=sample); sampler.start()
start = time.monotonic()
threads = [threading.Thread(target=scrape_once) for _ in range(n)]
for t in threads: t.start()
for t in threads: t.join()
wall = time.monotonic() - start
done.set(); sampler.join()
codes = {}
for code, _ in answers: codes[code] = codes.get(code, 0) + 1
ok = sorted(t for c, t in answers if c == 200)
busy = sorted(t for c, t in answers if c == 503)
slowest = max(t for _, t in answers)
print(f"answers {' '.join(f'{k}:{v}' for k, v in sorted(codes.items(), key=str))}")
print(f"wall {wall:.1f}s; 200 in {ok[0] if ok else 0:.2f}..{ok[-1] if ok else 0:.2f}s; 503 in {busy[0] if busy else 0:.2f}..{busy[-1] if busy else 0:.2f}s; slowest {slowest:.2f}s")
print(f"peak in_flight {peak['in_flight']} waiting {peak['waiting']} threads {peak['threads']} fds {peak['fds']}")
print(f"BOUNDS {peak['in_flight']} {slowest:.3f} {sum(v for k, v in codes.items() if k not in (200, 503))}")
EOF
  echo "round $round:"
  grep -v '^BOUNDS' "$WORK/round.txt" | sed 's/^/  /'
  read -r _ in_flight slowest others < <(grep '^BOUNDS' "$WORK/round.txt")
  ok_slots=$([ "$in_flight" -le "$SLOTS" ] && echo ok || echo EXCEEDED)
  ok_time=$(python3 -c "print('ok' if $slowest <= $SCRAPE_TIMEOUT + 1 else 'EXCEEDED')")
  ok_codes=$([ "$others" -eq 0 ] && echo ok || echo EXCEEDED)
  echo "  bound: in flight $in_flight <= $SLOTS: $ok_slots; slowest ${slowest}s <= scrape timeout + 1s: $ok_time; only 200 and 503: $ok_codes"
  for v in "$ok_slots" "$ok_time" "$ok_codes"; do [ "$v" = ok ] || worst=1; done
done

hwm=$(status VmHWM)
echo "after: VmRSS $(status VmRSS) kB, VmHWM (peak) $hwm kB, Threads $(status Threads)"
if [ "$hwm" -le $(( RSS_LIMIT_MB * 1024 )) ]; then
  echo "bound: peak RSS $((hwm / 1024)) MB <= ${RSS_LIMIT_MB} MB: ok"
else
  echo "bound: peak RSS $((hwm / 1024)) MB <= ${RSS_LIMIT_MB} MB: EXCEEDED"; worst=1
fi
# A graceful stop: SIGTERM, and the exporter exits 0.
kill -TERM "$EXPORTER"
code=0; wait "$EXPORTER" || code=$?
echo "SIGTERM: exit $code"
exit $worst
