#!/usr/bin/env bash
# Past one machine, measured side by side (issue 12 §5): the heavy step
# (samples -> energy per run, epoch and source) on the recorder-written
# benchmark archive (bench/analyzer_bench.sh's generator; 10 runs = 1e7
# samples, BENCH_RUNS=100 = 1e8), each in a fresh process:
#   - `analyzer reduce` on 1 and 2 threads, page cache warm and dropped;
#   - the Python module (trainwatt.reduce_dir, one process, files as bytes);
#   - spark/reduce.py on local[2] with the module, files read by Spark and
#     shuffled (--read spark) or read in the executors (--read executors),
#     and Spark's start-up alone (JVM, session, Python workers importing
#     pyarrow and trainwatt in one trivial job), reported apart;
#   - DuckDB's one-query reduction (bench/analyzer_duckdb.py, 2 threads);
# each with samples/s and peak RSS (for Spark summed over the process tree:
# the driver, the JVM and its Python workers). The reduced tables are checked equal (analyzer 1 vs 2
# threads byte for byte; Spark and the module row for row, floats by bits;
# DuckDB's E(i) checksum against the analyzer's counter energies), then the
# measured per-core rates are projected to the 1.4e11-sample archive of the
# issue (1 000 runs x 10 h x 1 kHz x 4 sources).
#
# Env: BENCH_RUNS (10)  BENCH_EPOCHS (100)  BENCH_EPOCH_S (3.34)
#      BENCH_RATE_HZ (1000)  BENCH_SKIP_SPARK=1  BENCH_SKIP_DUCKDB=1
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS="${BENCH_RUNS:-10}"
EPOCHS="${BENCH_EPOCHS:-100}"
EPOCH_S="${BENCH_EPOCH_S:-3.34}"
RATE="${BENCH_RATE_HZ:-1000}"
CACHE="${TRAINWATT_CACHE:-$HOME/.cache/trainwatt}"
DIR="${BENCH_DIR:-$CACHE/bench/recorder-r$RUNS-e$EPOCHS-s$EPOCH_S-hz$RATE}"
eval "$(TRAINWATT_NO_TORCH=1 scripts/setup.sh --print-env)"
PY="$TRAINWATT_PYTOOLS"
log() { printf 'bench: %s\n' "$*" >&2; }

if [ ! -f "$DIR/SAMPLES" ]; then
  log "generating $DIR with the recorder's writer"
  rm -rf "$DIR"
  cargo build --release --quiet -p trainwatt-recorder --no-default-features --example bench_archive
  "$CARGO_TARGET_DIR/release/examples/bench_archive" "$DIR" "$RUNS" "$EPOCHS" "$EPOCH_S" "$RATE" >&2
fi
SAMPLES="$(cat "$DIR/SAMPLES")"
log "building (release)"
cargo build --release --quiet -p trainwatt-analyzer --bin analyzer
A="$CARGO_TARGET_DIR/release/analyzer"
OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT

drop_caches() {
  sync
  if echo 3 >/proc/sys/vm/drop_caches 2>/dev/null; then echo cold; else echo "warm (cannot drop)"; fi
}
warm() { find "$DIR" -name '*.parquet' -exec cat {} + >/dev/null; }

# run NAME CACHE CMD...: prints the figures, sets SECS
run() {
  local name="$1" cache="$2"; shift 2
  if [ "$cache" = cold ]; then cache="$(drop_caches)"; else warm; fi
  # A one-process command: /usr/bin/time's peak RSS. With TREE=1 (Spark:
  # the driver, the JVM and its Python workers) the command runs in a
  # session of its own and the RSS summed over the session is sampled every
  # 100 ms (the sampling costs a few % of a core, so only there).
  local wall rss peak=0 now rc=0
  if [ "${TREE:-0}" = 1 ]; then
    setsid /usr/bin/time -v "$@" >"$OUT/stdout" 2>"$OUT/time" &
    local sid=$!
    while kill -0 "$sid" 2>/dev/null; do
      now="$(ps -o rss= -s "$sid" 2>/dev/null | awk '{s+=$1} END {print s+0}')"
      [ "${now:-0}" -gt "$peak" ] && peak=$now
      sleep 0.1
    done
    wait "$sid" || rc=$?
  else
    /usr/bin/time -v "$@" >"$OUT/stdout" 2>"$OUT/time" || rc=$?
    peak="$(awk -F': ' '/Maximum resident set size/ {print $2}' "$OUT/time")"
  fi
  if [ "$rc" -ne 0 ]; then
    echo "bench: $name failed (exit $rc):" >&2
    cat "$OUT/stdout" "$OUT/time" >&2
    return 1
  fi
  wall="$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$OUT/time")"
  rss="$(awk -v k="$peak" 'BEGIN {printf "%.0f", k/1024}')"
  SECS="$(echo "$wall" | awk -F: '{ if (NF==3) print $1*3600+$2*60+$3; else print $1*60+$2 }')"
  printf '%-36s %8.2f s %9.2f M samples/s %7s MiB peak RSS  (%s)\n' "$name" "$SECS" \
    "$(awk -v n="$SAMPLES" -v s="$SECS" 'BEGIN{print n/s/1e6}')" "$rss" "$cache"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", a/b}'; }

echo "archive: $DIR: $RUNS runs, $SAMPLES samples, $(du -sm "$DIR" | cut -f1) MiB; $(nproc) cores; load $(cut -d' ' -f1-3 /proc/loadavg) before"
for cache in warm cold; do
  run "analyzer reduce, 1 thread" $cache "$A" reduce "$DIR" --threads 1 --out "$OUT/t1.parquet"; T1=$SECS
  run "analyzer reduce, 2 threads" $cache "$A" reduce "$DIR" --threads 2 --out "$OUT/t2.parquet"; T2=$SECS
  echo "  2 threads / 1 thread ($cache): $(ratio "$T1" "$T2")x"
  [ $cache = warm ] && { W1=$T1; W2=$T2; }
done
cmp -s "$OUT/t1.parquet" "$OUT/t2.parquet" && echo "  tables: 1 and 2 threads byte-identical" \
  || { echo "  tables: 1 and 2 threads DIFFER"; exit 1; }

run "python module (1 process)" warm "$PY" -c '
import os, sys, pyarrow as pa, pyarrow.parquet as pq, trainwatt
runs = sorted(r for r, d, f in os.walk(sys.argv[1]) if "manifest.json" in f)
pq.write_table(pa.concat_tables([trainwatt.reduce_dir(r) for r in runs]), sys.argv[2])
' "$DIR" "$OUT/py.parquet"
PYS=$SECS

compare() { # compare NAME FILE_OR_DIR: rows equal to the analyzer's, floats by bits
  "$PY" - "$OUT/t1.parquet" "$2" "$1" <<'EOF'
import sys, pyarrow.dataset as ds, pyarrow as pa
def rows(p):
    t = ds.dataset(p, format="parquet").to_table()
    t = t.select(sorted(t.column_names)).cast(pa.schema(
        [pa.field(f.name, pa.string() if pa.types.is_large_string(f.type) else f.type)
         for f in sorted(t.schema, key=lambda f: f.name)]))
    return sorted(map(repr, t.to_pylist()))
a, b = rows(sys.argv[1]), rows(sys.argv[2])
print(f"  tables: {sys.argv[3]} {'equals' if a == b else 'DIFFERS from'} the analyzer's ({len(b)} rows)")
sys.exit(0 if a == b else 1)
EOF
}
compare "python module" "$OUT/py.parquet"

if [ "${BENCH_SKIP_SPARK:-0}" != 1 ]; then
  # Start-up: the JVM and session, and two Python workers importing pyarrow
  # and trainwatt (one tiny mapInArrow job): what every job pays first.
  TREE=1 run "spark start-up alone (local[2])" warm "$PY" -c '
import os, sys
os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
from pyspark.sql import SparkSession
s = SparkSession.builder.master("local[2]").config("spark.ui.enabled", "false").getOrCreate()
def f(batches):
    import pyarrow, trainwatt
    yield from batches
s.range(0, 2, 1, 2).mapInArrow(f, "id long").count(); s.stop()'
  START=$SECS
  for read in spark executors; do
    TREE=1 run "spark/reduce.py local[2] --read $read" warm "$PY" spark/reduce.py --master 'local[2]' --read $read "$DIR" "$OUT/spark-$read"
    SPARK=$SECS
    WORK="$(awk -v a="$SPARK" -v b="$START" 'BEGIN{print (a-b > 0.01 ? a-b : 0.01)}')"
    echo "  spark work without start-up: ${WORK} s, $(awk -v n="$SAMPLES" -v s="$WORK" 'BEGIN{printf "%.2f", n/s/2e6}') M samples/s per core"
    compare "spark --read $read" "$OUT/spark-$read"
    [ $read = spark ] && WORK_SPARK=$WORK || WORK_EXEC=$WORK
  done
fi

if [ "${BENCH_SKIP_DUCKDB:-0}" != 1 ]; then
  run "duckdb one query, 2 threads" warm timeout "${BENCH_DUCKDB_TIMEOUT:-1800}" "$PY" bench/analyzer_duckdb.py "$DIR" 2
  DUCK=$SECS
  sed 's/^/  /' "$OUT/stdout"
  "$PY" - "$OUT/t1.parquet" "$(grep -o 'energy_checksum_j=[0-9.]*' "$OUT/stdout" | cut -d= -f2)" <<'EOF'
import sys, pyarrow.parquet as pq, pyarrow.compute as pc
t = pq.read_table(sys.argv[1])
t = t.filter(pc.greater(t["epoch"], 0))
ours = pc.sum(t["counter_j"]).as_py()
duck = float(sys.argv[2])
print(f"  E(i) checksum: analyzer {ours:.6f} J, DuckDB {duck:.6f} J, relative difference {abs(ours-duck)/abs(ours):.1e}")
EOF
fi

echo "projection to 1.4e11 samples (1 000 runs x 10 h x 1 kHz x 4 sources), from the warm per-core rates above,"
echo "assuming the rate per core holds (runs are independent; storage bandwidth and the shuffle of ~0.4 TB not modelled):"
awk -v n=1.4e11 -v s="$SAMPLES" -v w1="$W1" -v w2="$W2" -v sp="${WORK_SPARK:-0}" -v ex="${WORK_EXEC:-0}" 'BEGIN{
  r1 = s / w1; r2 = s / w2 / 2;
  printf "  analyzer: %.1f M samples/s per core (1 thread), %.1f per core on 2\n", r1/1e6, r2/1e6;
  printf "    1 machine, 2 cores: %.1f h;  1 machine, 64 cores: %.1f min;  16 jobs x 2 cores (--shard): %.1f min\n", n/(r2*2)/3600, n/(r2*64)/60, n/(r2*32)/60;
  split("spark executors", name); split(sp " " ex, work);
  for (i = 1; i <= 2; i++) if (work[i] > 0) {
    rs = s / work[i] / 2;
    printf "  spark --read %s with the fold: %.2f M samples/s per core (%.1fx the analyzer per core)\n", name[i], rs/1e6, r2/rs;
    printf "    16 executors x 1 core: %.1f h;  64 executors x 1 core: %.1f h (plus start-up)\n", n/(rs*16)/3600, n/(rs*64)/3600;
  }
}'
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
