#!/usr/bin/env bash
# Recorder overhead at 1 kHz: CPU time per second of sampling, missed
# deadlines, and bytes on disk per sample. Prints the figures.
#
# Sources: a realistic fake RAPL tree (package-0 with core and dram subzones,
# real sysfs-like files read through the real RaplSource), plus whatever this
# machine has (modelled CPU/DRAM here). Each tick therefore does real file
# reads; NVML reads on a GPU machine cost more (see README).
set -euo pipefail
cd "$(dirname "$0")/.."
eval "$(scripts/setup.sh --print-env)"
DURATION="${DURATION:-20}"
RATE="${RATE:-1000}"
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
/usr/bin/time -f '%U %S %e' -o "$work/time" "$BIN" sample --duration "${DURATION}s" --rate "$RATE" \
  --powercap-root "$pc" --no-nvml --out "$work/archive" > "$work/run" 2> "$work/log"
run="$(cat "$work/run")"
read -r user sys wall < "$work/time"
# The floor: a thread that only wakes on the same schedule, same duration.
"$FLOOR" "$DURATION" "$RATE" > "$work/floor"
python3 - "$run" "$user" "$sys" "$wall" "$RATE" "$work/log" "$work/floor" <<'PY'
import json, os, sys, glob
run, user, sys_, wall, rate = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5])
floor = json.load(open(sys.argv[7]))
m = json.load(open(os.path.join(run, "manifest.json")))
seg = glob.glob(os.path.join(run, "samples", "*.parquet"))
size = sum(os.path.getsize(f) for f in seg)
s = m["sampler"]
ticks = s["ticks"]
srcs = [x["id"] for x in m["sources"]]
fast = [x["id"] for x in m["sources"] if x["poll_hz"] == 0 or x["poll_hz"] >= rate]
# rows: every-tick sources contribute one row per tick; slower ones fewer.
import re
log = open(sys.argv[6]).read()
mm = re.search(r"(\d+) samples in (\d+) segments", log)
rows = int(mm.group(1)) if mm else None
cpu = user + sys_
dur = ticks / rate
samp, writ = s.get("sampler_cpu_s"), s.get("writer_cpu_s")
pct = lambda x, d: 100 * x / d
print(f"machine: {os.uname().nodename} ({os.cpu_count()} cores), {os.uname().release}")
print(f"sources: {', '.join(srcs)}")
print(f"sampled {s['rate_hz']:.0f} Hz for {wall:.1f} s wall: {ticks} ticks, {s['missed_deadlines']} missed deadlines ({100*s['missed_deadlines']/max(ticks,1):.3f} %)")
print(f"floor (a thread that only sleeps on the same schedule, examples/tick_floor): "
      f"{pct(floor['cpu_s'], floor['wall_s']):.2f} % of one core, "
      f"{floor['missed_deadlines']} missed of {floor['ticks']} ({100*floor['missed_deadlines']/max(floor['ticks'],1):.3f} %)")
if samp is not None and writ is not None:
    print(f"sampler thread: {pct(samp, dur):.2f} % of one core ({pct(samp, dur) - pct(floor['cpu_s'], floor['wall_s']):+.2f} points over the floor); "
          f"writer thread: {pct(writ, dur):.2f} %; both: {pct(samp + writ, dur):.2f} %")
print(f"whole process (start-up, host facts, compaction included): {cpu:.2f} s = {100*cpu/wall:.2f} % of one core (user {user:.2f} s, sys {sys_:.2f} s)")
print(f"disk: {size} bytes in {len(seg)} segments")
if rows:
    print(f"rows: {rows}; {size/rows:.2f} bytes per sample row (one source, one tick)")
PY
