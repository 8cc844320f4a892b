#!/usr/bin/env bash
# Opens a report's index.html in headless Chromium (Debian's `chromium`
# package) from disk, with the network off, and saves screenshots of the
# page, so a person can look at what a reader sees.
#   usage: bench/report_screenshot.sh [REPORT_DIR] [OUT_DIR]
#   REPORT_DIR defaults to reports/sample (make demo), OUT_DIR to
#   REPORT_DIR/screenshots. HEIGHT (default 9000) is the page height drawn.
set -euo pipefail
cd "$(dirname "$0")/.."
REPORT="${1:-reports/sample}"
OUT="${2:-$REPORT/screenshots}"
HEIGHT="${HEIGHT:-9000}"
CHROMIUM="${CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}"
if [ -z "$CHROMIUM" ]; then
  echo "report_screenshot: no chromium; install Debian's package: apt-get install chromium" >&2
  exit 2
fi
[ -f "$REPORT/index.html" ] || { echo "report_screenshot: no $REPORT/index.html (run make demo)" >&2; exit 2; }
mkdir -p "$OUT"
profile="$(mktemp -d)"
trap 'rm -rf "$profile"' EXIT
url="file://$(cd "$REPORT" && pwd)/index.html"
for width in 1280 800; do
  # The flags keep Chromium off the network entirely (as a reader offline
  # would be): no background fetches, no component updates, no QUIC.
  "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --hide-scrollbars --user-data-dir="$profile" \
    --window-size="$width,$HEIGHT" --screenshot="$OUT/page-${width}px.png" "$url" \
    2> "$OUT/chromium-${width}px.log" || { cat "$OUT/chromium-${width}px.log" >&2; exit 1; }
  echo "report_screenshot: $OUT/page-${width}px.png" >&2
done
