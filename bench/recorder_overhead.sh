#!/usr/bin/env bash
# The recorder's own cost with its default rates, beside the wake-up floor
# and CodeCarbon's tracker, one after the other in the same run:
#
#   recorder, this machine's sources  (a VM: modelled CPU and DRAM, 10 Hz)
#   recorder, a fake RAPL tree        (package, core, dram zones: 1 kHz)
#   recorder, the same tree, --rate 1 (1 Hz; epochs stay exact by boundary reads)
#   floor at 1 kHz and at 10 Hz       (examples/tick_floor: a thread that only
#                                      wakes on the sampler's schedule)
#   CodeCarbon OfflineEmissionsTracker, measure_power_secs 15 (its default) and 1
#
# For each: wake-ups per second, CPU time as a share of one core in steady
# state (recorder: its sampling and writing threads, from the manifest;
# floor: its thread; CodeCarbon: the whole process between start() and
# stop()), the whole process over its wall time (start-up included),
# missed deadlines, and bytes per sample on disk. Prints the load average
# before and after: on a shared machine, say what else was running.
#
#   bench/recorder_overhead.sh             # 60 s per case, ~8 min
#   DURATION=20 bench/recorder_overhead.sh
#
# The fake RAPL tree is real files read through the real RaplSource (on
# ext4 here, not sysfs); NVML reads on a GPU machine cost more.
set -euo pipefail
cd "$(dirname "$0")/.."
eval "$(scripts/setup.sh --print-env)"
DURATION="${DURATION:-60}"
CACHE="${TRAINWATT_CACHE:-$HOME/.cache/trainwatt}"
CC="$CACHE/codecarbon-venv"
if ! "$CC/bin/python" -c 'import codecarbon' 2>/dev/null; then
  echo "installing codecarbon into $CC" >&2
  python3 -m venv "$CC"
  "$CC/bin/python" -m pip install --quiet --disable-pip-version-check codecarbon >&2
fi
cargo build --release -p trainwatt-recorder --no-default-features --bin recorder --example tick_floor >&2
BIN="$CARGO_TARGET_DIR/release/recorder"
FLOOR="$CARGO_TARGET_DIR/release/examples/tick_floor"
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
pc="$work/powercap"
mk() { mkdir -p "$pc/$1"; echo "$2" > "$pc/$1/name"; echo "$3" > "$pc/$1/energy_uj"; echo 262143328850 > "$pc/$1/max_energy_range_uj"; }
mk intel-rapl:0 package-0 123456789
mk intel-rapl:0:0 core 23456789
mk intel-rapl:0:1 dram 3456789
# A writer that advances the counters like a ~40 W package would, so the
# readers see changing values (and one wrap on the dram counter).
( e=123456789; d=262143000000; while true; do e=$((e+4000)); d=$(((d+500) % 262143328850));
  echo $e > "$pc/intel-rapl:0/energy_uj"; echo $d > "$pc/intel-rapl:0:1/energy_uj"; sleep 0.1; done ) &
bump=$!
trap 'kill $bump 2>/dev/null; rm -rf "$work"' EXIT
cat > "$work/cc.py" <<'PY'
import json, resource, sys, time
period, duration = float(sys.argv[1]), float(sys.argv[2])
from codecarbon import OfflineEmissionsTracker
cpu = lambda: sum(resource.getrusage(resource.RUSAGE_SELF)[:2])
tr = OfflineEmissionsTracker(country_iso_code="FRA", measure_power_secs=period,
                             save_to_file=False, log_level="error")
tr.start()
c0, w0 = cpu(), time.monotonic()
time.sleep(duration)
c1, w1 = cpu(), time.monotonic()
tr.stop()
print(json.dumps({"cpu_s": c1 - c0, "wall_s": w1 - w0}))
PY
load() { cut -d' ' -f1-3 /proc/loadavg; }
echo "machine: $(uname -n), $(nproc) cores, $(uname -r); load average before: $(load)"
rec() { # name, args…
  local name="$1"; shift
  /usr/bin/time -f '%U %S %e' -o "$work/$name.time" "$BIN" sample --duration "${DURATION}s" \
    --format json --out "$work/$name" "$@" > "$work/$name.json" 2> "$work/$name.log"
}
rec modelled
rec rapl --powercap-root "$pc" --no-nvml
rec rapl-1hz --powercap-root "$pc" --no-nvml --rate 1
"$FLOOR" "$DURATION" 1000 > "$work/floor-1000.json"
"$FLOOR" "$DURATION" 10 > "$work/floor-10.json"
/usr/bin/time -f '%U %S %e' -o "$work/cc15.time" "$CC/bin/python" "$work/cc.py" 15 "$DURATION" > "$work/cc15.json" 2>/dev/null
/usr/bin/time -f '%U %S %e' -o "$work/cc1.time" "$CC/bin/python" "$work/cc.py" 1 "$DURATION" > "$work/cc1.json" 2>/dev/null
echo "load average after: $(load)"
"$CC/bin/python" -c 'import codecarbon; print("codecarbon", codecarbon.__version__)'
python3 - "$work" <<'PY'
import json, sys, os
w = sys.argv[1]
def j(n): return json.load(open(os.path.join(w, n)))
def whole(n):
    u, s, e = map(float, open(os.path.join(w, n + ".time")).read().split())
    return 100 * (u + s) / e
print()
print("| case | wakes/s | CPU, % of a core (steady) | whole process, % | missed deadlines | bytes/sample |")
print("|---|---:|---:|---:|---:|---:|")
for name, label in [("modelled", "recorder, this VM's sources (modelled CPU+DRAM)"),
                    ("rapl", "recorder, fake RAPL tree (3 zones)"),
                    ("rapl-1hz", "recorder, fake RAPL tree, --rate 1")]:
    r = j(name + ".json"); s = r["sampler"]
    cpu = 100 * (s["sampler_cpu_s"] + s["writer_cpu_s"]) / r["duration_s"]
    print(f"| {label} | {s['rate_hz']:g} | {cpu:.3f} (sampler {100*s['sampler_cpu_s']/r['duration_s']:.3f}, "
          f"writer {100*s['writer_cpu_s']/r['duration_s']:.3f}) | {whole(name):.2f} | "
          f"{s['missed_deadlines']} of {s['ticks']} | {r['bytes_per_sample']:.2f} |")
for hz in (1000, 10):
    f = j(f"floor-{hz}.json")
    print(f"| floor: a thread waking at {hz} Hz | {hz} | {100*f['cpu_s']/f['wall_s']:.3f} | – | "
          f"{f['missed_deadlines']} of {f['ticks']} | – |")
for p in (15, 1):
    c = j(f"cc{p}.json")
    print(f"| CodeCarbon, measure_power_secs={p} | {1/p:g} | {100*c['cpu_s']/c['wall_s']:.3f} | "
          f"{whole(f'cc{p}'):.2f} | – | – |")
PY
