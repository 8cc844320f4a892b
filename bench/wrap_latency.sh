#!/usr/bin/env bash
# How late `recorder wrap` stamps a child's epoch line: the child takes
# CLOCK_MONOTONIC right before writing each line and puts it in the line
# (on the run's clock, via $TRAINWATT_CLOCK_ORIGIN_NS); the recorder's stamp
# is the epoch's end_ns, the instant of the boundary read it took for the
# line (also CLOCK_MONOTONIC: std's Instant). Latency = end_ns - child's t.
# Prints p50 / p99 / max for the inotify wait (the default) and for the old
# 10 ms polling (--epoch-poll 10ms), with this machine's own sources
# (modelled here: the sampler sleeps 100 ms between ticks, so the boundary
# read must wake it) and with fake sources read at 1 kHz.
#
#   bench/wrap_latency.sh            # 300 lines per case
#   LINES=1000 bench/wrap_latency.sh
set -euo pipefail
cd "$(dirname "$0")/.."
eval "$(scripts/setup.sh --print-env)"
LINES="${LINES:-300}"
cargo build --release -p trainwatt-recorder --no-default-features --bin recorder >&2
BIN="$CARGO_TARGET_DIR/release/recorder"
PY="${TRAINWATT_PYTOOLS:?needs the test tools venv (pyarrow) from scripts/setup.sh}"
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
cat > "$work/child.py" <<'PY'
import json, os, random, sys, time
log, origin = os.environ["TRAINWATT_EPOCH_LOG"], int(os.environ["TRAINWATT_CLOCK_ORIGIN_NS"])
random.seed(1)
for epoch in range(1, int(sys.argv[1]) + 1):
    time.sleep(random.uniform(0.005, 0.025))
    with open(log, "a") as f:
        t = time.clock_gettime_ns(time.CLOCK_MONOTONIC) - origin
        f.write(json.dumps({"epoch": epoch, "child_t_ns": t}) + "\n")
PY
run_case() { # name, recorder args…
  local name="$1"; shift
  local out="$work/$name"
  "$BIN" wrap "$@" --out "$out" -- python3 "$work/child.py" "$LINES" > "$work/$name.run" 2> "$work/$name.log"
  "$PY" - "$(cat "$work/$name.run")" "$name" <<'PY'
import json, sys
import pyarrow.parquet as pq
run, name = sys.argv[1], sys.argv[2]
ends = dict(zip(*[pq.read_table(f"{run}/epochs.parquet").column(c).to_pylist() for c in ("epoch", "end_ns")]))
child = {l["epoch"]: l["child_t_ns"] for l in map(json.loads, open(f"{run}/child-epochs.jsonl"))}
lat = sorted((ends[e] - child[e]) / 1e3 for e in child)
assert len(lat) == len(ends) and min(lat) > 0, (len(lat), len(ends), lat[:3])
m = json.load(open(f"{run}/manifest.json"))
q = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))]
print(f"{name:<28} {m['sampler']['rate_hz']:>7.0f} Hz  {len(lat):>5}  {q(0.5):>9.0f}  {q(0.99):>9.0f}  {lat[-1]:>9.0f}")
PY
}
echo "machine: $(uname -n), $(nproc) cores; load average: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "stamp latency (recorder's end_ns minus the child's CLOCK_MONOTONIC before its write), µs"
printf '%-28s %10s  %5s  %9s  %9s  %9s\n' case sampler lines p50 p99 max
run_case "inotify, this machine"
run_case "poll 10 ms, this machine" --epoch-poll 10ms
run_case "inotify, fake 1 kHz" --fake-sources gpu=200,cpu=50,dram=5
run_case "poll 10 ms, fake 1 kHz" --fake-sources gpu=200,cpu=50,dram=5 --epoch-poll 10ms
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
