#!/usr/bin/env bash
# The main job on the shipped sample archive: every efficiency table of the
# paper (Tables 3-12: the four paper criteria, Eq. 2-4, intervals, ratios)
# and Eq. 2 per epoch, in every export format, under reports/sample/.
#   ARCHIVE (default data/sample), REPORT (default reports/sample)
set -euo pipefail
cd "$(dirname "$0")/.."
# The analyzer never needs libtorch: skip the PyTorch venv.
eval "$(TRAINWATT_NO_TORCH=1 scripts/setup.sh --print-env)"
ARCHIVE="${ARCHIVE:-data/sample}"
REPORT="${REPORT:-reports/sample}"
cargo build --release -p trainwatt-analyzer >&2
A="$CARGO_TARGET_DIR/release/analyzer"
mkdir -p "$REPORT"
"$A" efficiency "$ARCHIVE" --paper-criteria | tee "$REPORT/efficiency.txt"
for fmt in markdown csv latex json; do
  ext=$fmt; [ "$fmt" = markdown ] && ext=md; [ "$fmt" = latex ] && ext=tex
  "$A" efficiency "$ARCHIVE" --paper-criteria --format "$fmt" > "$REPORT/efficiency.$ext" 2>/dev/null
done
"$A" epochs "$ARCHIVE" --format csv > "$REPORT/epochs.csv" 2>/dev/null
echo "demo: tables written to $REPORT/ (efficiency.{txt,md,csv,tex,json}, epochs.csv)" >&2
