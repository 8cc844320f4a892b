#!/usr/bin/env bash
# Precision of the energy per epoch by method and sampling rate
# (recorder/examples/precision.rs; the results are in docs/precision.md).
# Runs the real sampler on a known bursty waveform at 1, 10, 100 and
# 1000 Hz (about 40 s in all), prints the table, and draws
# docs/precision.svg from the per-epoch errors.
#
#   bench/precision.sh              # table + docs/precision.svg
#   SVG=/tmp/p.svg bench/precision.sh
set -euo pipefail
cd "$(dirname "$0")/.."
eval "$(scripts/setup.sh --print-env)"
SVG="${SVG:-docs/precision.svg}"
cargo build --release -p trainwatt-recorder --no-default-features --example precision >&2
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
echo "machine: $(uname -n), $(nproc) cores; load average: $(cut -d' ' -f1-3 /proc/loadavg)"
"$CARGO_TARGET_DIR/release/examples/precision" "$work/errors.csv"
python3 bench/precision_svg.py "$work/errors.csv" "$SVG"
echo "figure: $SVG"
