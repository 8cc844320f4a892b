#!/usr/bin/env bash
# The README's test command (`make test`): every test of the workspace, then
# a summary of what ran and of every ignored test with its reason.
#
#   scripts/test.sh          # what `make test` runs
#   scripts/test.sh --ci     # also runs the ignored tests whose needs this
#                            # machine meets (what `.ci/run` runs)
#
# A test that needs something a machine may lack is `#[ignore = "needs …"]`;
# no test skips itself by returning early. Each need is listed once below,
# with the probe that says whether this machine has it and the cargo
# arguments that run the tests that need it.
set -euo pipefail
cd "$(dirname "$0")/.."
CI=0
[ "${1:-}" = "--ci" ] && CI=1

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
status=0

run_tests() { # cargo test ARGS…, output also kept in $log
  set +e
  cargo test "$@" 2>&1 | tee -a "$log"
  local rc=${PIPESTATUS[0]}
  set -e
  [ "$rc" -eq 0 ] || status=$rc
}

# need | probe (sh) | cargo test arguments for the tests that need it
NEEDS=(
  "unprivileged user namespaces|d=\$(mktemp -d) && unshare -rm sh -c 'mount -t tmpfs -o size=64k tmpfs \"\$1\"' sh \"\$d\"; r=\$?; rmdir \"\$d\"; exit \$r|-p trainwatt-recorder --test cli_record -- --ignored"
)

run_tests --workspace --no-fail-fast

extra=""
if [ "$CI" = 1 ]; then
  for entry in "${NEEDS[@]}"; do
    IFS='|' read -r need probe args <<<"$entry"
    if sh -c "$probe" >/dev/null 2>&1; then
      echo "== tests that need $need (this machine has them)"
      # shellcheck disable=SC2086
      run_tests $args
    else
      extra="$extra
  NOT RUN: the tests that need $need (this machine lacks them)"
    fi
  done
fi

# The summary: libtest prints "test NAME ... ignored, REASON".
results="$(grep -E '^test result:' "$log" || true)"
passed=$(grep -Eo '[0-9]+ passed' <<<"$results" | awk '{s+=$1} END {print s+0}')
failed=$(grep -Eo '[0-9]+ failed' <<<"$results" | awk '{s+=$1} END {print s+0}')
echo
echo "== summary: $passed passed, $failed failed"
ignored=$(grep -E '^test .* \.\.\. ignored' "$log" | sort -u || true)
if [ -n "$ignored" ]; then
  echo "== ignored in the main run ($(grep -c . <<<"$ignored")), and why:"
  sed -E 's/^test (.*) \.\.\. ignored(, )?/  \1: /' <<<"$ignored"
  if [ "$CI" = 1 ]; then
    echo "   (the ones whose needs this machine meets ran above)$extra"
  else
    echo "   (.ci/run, i.e. scripts/test.sh --ci, runs those whose needs a machine meets)"
  fi
fi
exit "$status"
