#!/usr/bin/env bash
# Analyzer throughput benchmark (issue 4 §6): a synthetic archive of RUNS runs
# x EPOCHS epochs at RATE_HZ with 3 counter sources, written by the
# recorder's own writer (recorder/examples/bench_archive.rs: per-second
# segments, then the compaction a clean finish does), then, each in a fresh
# process (page cache dropped first where the kernel lets us):
#   - `analyzer efficiency --paper-criteria` end to end, when the binary has
#     that command;
#   - `load_bench`: the archive reader alone (scan + validation + per-epoch
#     energy), the part that touches every sample;
#   - `analyzer reduce` with 1 and 2 threads (runs folded in parallel), and
#     the speed-up;
#   - the same per-epoch reduction as one DuckDB SQL query.
# Prints samples/s, wall seconds and peak RSS (/usr/bin/time -v) for each and
# the ours/DuckDB time ratio (below 1: we are faster).
#
# The full size of the issue (100 runs x 100 epochs x 3.34 s x 1 kHz x 3
# sources, about 1e8 samples, ~1 GB on disk) takes a while to generate; the
# default is a tenth of it. Env knobs:
#   BENCH_RUNS (10)  BENCH_EPOCHS (100)  BENCH_EPOCH_S (3.34)  BENCH_RATE_HZ (1000)
#   BENCH_DIR (cache folder)  BENCH_THREADS (all cores, for DuckDB)
#   BENCH_DUCKDB_MEMORY (8GB: DuckDB spills beyond)  BENCH_DUCKDB_TIMEOUT (1800 s)
#   BENCH_KEEP_SEGMENTS=1 (leave the per-second segments, as a killed run
#     does; default: compacted, as every cleanly finished run is)
#   BENCH_SKIP_DUCKDB=1 (time ours only)
# Full size: BENCH_RUNS=100 bench/analyzer_bench.sh
set -euo pipefail

cd "$(dirname "$0")/.."
RUNS="${BENCH_RUNS:-10}"
EPOCHS="${BENCH_EPOCHS:-100}"
EPOCH_S="${BENCH_EPOCH_S:-3.34}"
RATE="${BENCH_RATE_HZ:-1000}"
CACHE="${TRAINWATT_CACHE:-$HOME/.cache/trainwatt}"
if [ "${BENCH_KEEP_SEGMENTS:-0}" = 1 ]; then
  LAYOUT="1 s segments (a killed run's layout)"; GEN_FLAGS=(--keep-segments); SUFFIX=-segments
else
  LAYOUT="compacted (a finished run's layout)"; GEN_FLAGS=(); SUFFIX=
fi
DIR="${BENCH_DIR:-$CACHE/bench/recorder-r$RUNS-e$EPOCHS-s$EPOCH_S-hz$RATE$SUFFIX}"
export TRAINWATT_NO_TORCH=1
eval "$(scripts/setup.sh --print-env)"
PY="${TRAINWATT_PYTHON:-$CACHE/venv/bin/python}"

log() { printf 'bench: %s\n' "$*" >&2; }

if ! "$PY" -c 'import duckdb, pyarrow, numpy' 2>/dev/null; then
  log "installing duckdb, pyarrow, numpy into $("$PY" -c 'import sys; print(sys.prefix)')"
  "$PY" -m pip install --quiet --disable-pip-version-check duckdb pyarrow numpy
fi

if [ ! -f "$DIR/SAMPLES" ]; then
  log "generating $DIR with the recorder's writer"
  rm -rf "$DIR"
  cargo build --release --quiet -p trainwatt-recorder --no-default-features --example bench_archive
  "$CARGO_TARGET_DIR/release/examples/bench_archive" "$DIR" "$RUNS" "$EPOCHS" "$EPOCH_S" "$RATE" \
    "${GEN_FLAGS[@]}" >&2
fi
SAMPLES="$(cat "$DIR/SAMPLES")"
BYTES="$(du -sb "$DIR" | cut -f1)"

log "building (release)"
cargo build --release --quiet -p trainwatt-analyzer --bin analyzer --example load_bench
BIN="$CARGO_TARGET_DIR/release"

drop_caches() {
  sync
  if echo 3 > /proc/sys/vm/drop_caches 2>/dev/null; then
    echo cold
  else
    echo "warm (cannot drop the page cache here)"
  fi
}

# run NAME CMD...: runs CMD under /usr/bin/time -v; prints "NAME seconds rss_mib"
run() {
  local name="$1"; shift
  local cache out
  cache="$(drop_caches)"
  out="$(mktemp)"
  /usr/bin/time -v "$@" >"$out.stdout" 2>"$out"
  local wall rss
  wall="$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$out")"
  rss="$(awk -F': ' '/Maximum resident set size/ {printf "%.0f", $2/1024}' "$out")"
  local secs
  secs="$(echo "$wall" | awk -F: '{ if (NF==3) print $1*3600+$2*60+$3; else print $1*60+$2 }')"
  printf '%-28s %8.2f s %10.1f M samples/s %7s MiB peak RSS  (%s)\n' \
    "$name" "$secs" "$(awk -v n="$SAMPLES" -v s="$secs" 'BEGIN{print n/s/1e6}')" "$rss" "$cache"
  grep -h -E 'checksum|rows=' "$out.stdout" | sed 's/^/    /' || true
  echo "$secs" >"$out.secs"
  LAST_SECS="$secs"
  rm -f "$out" "$out.stdout" "$out.secs"
}

echo "archive: $DIR"
echo "  $RUNS runs x $EPOCHS epochs x ${EPOCH_S}s at ${RATE} Hz, 3 sources, $LAYOUT: $SAMPLES samples, $((BYTES / 1048576)) MiB on disk, $(nproc) cores"

if "$BIN/analyzer" efficiency --help >/dev/null 2>&1; then
  run "analyzer efficiency" "$BIN/analyzer" efficiency --paper-criteria "$DIR"
  EFF_SECS="$LAST_SECS"
else
  echo "analyzer efficiency: not available in this build; timing the reader only"
  EFF_SECS=""
fi
run "load_bench (reader)" "$BIN/examples/load_bench" "$DIR" "$SAMPLES"
OURS_SECS="$LAST_SECS"
# `analyzer reduce` (issue 12): the fold alone, one run per thread.
RED="$(mktemp -d)"
run "analyzer reduce, 1 thread" "$BIN/analyzer" reduce "$DIR" --threads 1 --out "$RED/t1.parquet"
R1="$LAST_SECS"
run "analyzer reduce, 2 threads" "$BIN/analyzer" reduce "$DIR" --threads 2 --out "$RED/t2.parquet"
R2="$LAST_SECS"
echo "reduce: 2 threads are $(awk -v a="$R1" -v b="$R2" 'BEGIN{printf "%.2f", a/b}')x 1 thread ($(nproc) cores; $(cut -d' ' -f1-3 /proc/loadavg) load)"
cmp -s <("$BIN/analyzer" epochs "$RED/t1.parquet" --format csv 2>/dev/null) \
       <("$BIN/analyzer" epochs "$RED/t2.parquet" --format csv 2>/dev/null) \
  && echo "reduce: the 1- and 2-thread tables give identical epochs output" \
  || echo "reduce: the 1- and 2-thread tables DIFFER"
rm -rf "$RED"
if [ "${BENCH_SKIP_DUCKDB:-0}" = 1 ]; then
  echo "duckdb: skipped (BENCH_SKIP_DUCKDB=1)"
  exit 0
fi
run "duckdb (one SQL query)" timeout "${BENCH_DUCKDB_TIMEOUT:-1800}" "$PY" bench/analyzer_duckdb.py "$DIR" ${BENCH_THREADS:-}
DUCK_SECS="$LAST_SECS"

ratio() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", a/b}'; }
echo "ours/DuckDB time: reader $(ratio "$OURS_SECS" "$DUCK_SECS")${EFF_SECS:+, efficiency $(ratio "$EFF_SECS" "$DUCK_SECS")}"
