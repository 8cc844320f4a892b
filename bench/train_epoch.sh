#!/usr/bin/env bash
# Epoch time of lenet k=1, lenet k=5 and bcnn k=1 on MNIST-sized synthetic
# input: trainwatt's Rust trainer (tch) against the same models in PyTorch
# from the venv's python, same thread count, same device (CUDA when both see
# one, else CPU). Goal: ratio Rust/PyTorch <= 1.0 (libtorch does the work).
#
#   bench/train_epoch.sh [THREADS] [N_EXAMPLES] [ROUNDS]   (defaults 2, 10000, 3)
#
# Each round runs every model once in Rust, then once in Python; the table
# shows the fastest epoch of each (the least disturbed by other load). Run it
# on an otherwise idle machine: a concurrent build skews single rounds by 2x.
#
# The Rust side is the ignored test recorder/tests/train_bench_epoch.rs, built
# with the dev profile (dependencies at opt-level 2, see Cargo.toml); set
# PROFILE=release for a release build.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
THREADS="${1:-2}"
EXAMPLES="${2:-10000}"
ROUNDS="${3:-3}"
MODELS="${MODELS:-lenet:1,lenet:5,bcnn:1}"
profile_flag=()
[ "${PROFILE:-dev}" = "release" ] && profile_flag=(--release)

rust_round() {
  TRAINWATT_BENCH_THREADS="$THREADS" TRAINWATT_BENCH_EXAMPLES="$EXAMPLES" \
    TRAINWATT_BENCH_MODELS="$MODELS" \
    cargo test -q "${profile_flag[@]}" -p trainwatt-recorder --test train_bench_epoch -- \
    --ignored --nocapture 2>/dev/null | awk '/^BENCH /{print "rust", $2, $3, $4}'
}
py_round() {
  python bench/train_epoch.py --threads "$THREADS" --n-examples "$EXAMPLES" --models "$MODELS" \
    2>/dev/null | awk '{print "torch", $1, $2, $3}'
}

results=$(for _ in $(seq "$ROUNDS"); do rust_round; py_round; done)

echo "epoch time, $EXAMPLES examples, batch 256, $THREADS threads, best of $ROUNDS rounds"
echo "$results" | awk '
  { key = $2 " " $3; t = $4 + 0
    if (!(key in order)) { order[key] = n++; names[order[key]] = key }
    if (!(($1, key) in best) || t < best[$1, key]) best[$1, key] = t }
  END {
    printf "%-8s %5s %10s %10s %7s\n", "model", "width", "rust_s", "torch_s", "ratio"
    for (i = 0; i < n; i++) { k = names[i]; split(k, p, " ")
      printf "%-8s %5s %10.3f %10.3f %7.2f\n", p[1], p[2], best["rust", k], best["torch", k], best["rust", k] / best["torch", k] } }'
