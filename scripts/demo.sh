#!/usr/bin/env bash
# The main job on the shipped sample archive: `analyzer report` writes every
# table (Markdown, LaTeX, one CSV per table), every figure (SVG, PNG) and a
# self-contained index.html under reports/sample/, then the overall table
# (Eq. 4 and ratios) is printed here.
#   ARCHIVE (default data/sample), REPORT (default reports/sample)
#   AT (default 30,60: the sample records 60 epochs, so the paper's 50,100
#   would leave every model "not compared")
set -euo pipefail
cd "$(dirname "$0")/.."
# The analyzer never needs libtorch: skip the PyTorch venv.
eval "$(TRAINWATT_NO_TORCH=1 TRAINWATT_NO_PYTOOLS=1 scripts/setup.sh --print-env)"
ARCHIVE="${ARCHIVE:-data/sample}"
REPORT="${REPORT:-reports/sample}"
AT="${AT:-30,60}"
cargo build --release -p trainwatt-analyzer >&2
A="$CARGO_TARGET_DIR/release/analyzer"
"$A" report "$ARCHIVE" --paper-criteria --at "$AT" --out "$REPORT"
"$A" efficiency "$ARCHIVE" --paper-criteria --only overall 2>/dev/null
echo "demo: open $REPORT/index.html (tables in $REPORT/tables, figures in $REPORT/figures)" >&2
