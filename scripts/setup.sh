#!/usr/bin/env bash
# Idempotent set-up for trainwatt: a Python venv with PyTorch 2.13.0 (libtorch
# for tch 0.26) and a cargo target dir, both in a cache outside the clone.
#
#   source scripts/setup.sh        # exports the build environment
#   scripts/setup.sh --print-env   # prints it (used by the Makefile)
#
# Env knobs:
#   TRAINWATT_CACHE   cache folder (default ~/.cache/trainwatt)
#   TRAINWATT_PYTHON  an existing python whose `torch` is 2.13.x: used instead
#                     of creating a venv (a user who already has PyTorch)
#   TRAINWATT_NO_TORCH=1  skip libtorch entirely (analyzer-only builds)
#   TRAINWATT_NO_PYTOOLS=1  skip the test tools' venv (pyarrow, pandas,
#                     duckdb, polars: the tests rewrite Parquet files with
#                     them; pyspark and the trainwatt Python package with
#                     its Rust reducer: the Spark parity tests; `make demo`
#                     needs none of it)
set -euo pipefail

TORCH_VERSION="2.13.0"
CACHE="${TRAINWATT_CACHE:-$HOME/.cache/trainwatt}"
mkdir -p "$CACHE"

log() { printf 'setup: %s\n' "$*" >&2; }

if [ "${TRAINWATT_NO_TORCH:-0}" != "1" ]; then
  if [ -n "${TRAINWATT_PYTHON:-}" ]; then
    PY="$TRAINWATT_PYTHON"
  else
    VENV="$CACHE/venv"
    PY="$VENV/bin/python"
    if [ ! -x "$PY" ]; then
      log "creating venv $VENV"
      python3 -m venv "$VENV"
    fi
  fi
  have=$("$PY" -c 'import torch,sys; sys.stdout.write(torch.__version__)' 2>/dev/null || true)
  case "$have" in
    "$TORCH_VERSION"*) ;;
    *)
      if [ -n "${TRAINWATT_PYTHON:-}" ]; then
        log "TRAINWATT_PYTHON=$PY has torch '${have:-none}', tch 0.26 needs $TORCH_VERSION"; exit 1
      fi
      log "installing torch==$TORCH_VERSION into $VENV (about 75 s, 4.7 GB)"
      lock="$CACHE/pip.lock"
      ( flock 9
        "$PY" -m pip install --quiet --disable-pip-version-check "torch==$TORCH_VERSION" ) 9>"$lock"
      ;;
  esac
  PYBIN="$(dirname "$PY")"
  TORCH_LIB="$("$PY" -c 'import os,torch; print(os.path.join(os.path.dirname(torch.__file__),"lib"))' 2>/dev/null)"
  ENV_LINES="export PATH=\"$PYBIN:\$PATH\"
export LIBTORCH_USE_PYTORCH=1
export TRAINWATT_TORCH_LIB=\"$TORCH_LIB\""
else
  ENV_LINES=""
fi
if [ "${TRAINWATT_NO_PYTOOLS:-0}" != "1" ]; then
  # The tools that wrote the Parquet files users bring, for the tests that
  # read their output (analyzer/tests/other_writers.rs): a venv of their own,
  # so a user's TRAINWATT_PYTHON is never written to.
  TOOLS="$CACHE/pytools"
  if ! "$TOOLS/bin/python" -c 'import pyarrow, pandas, duckdb, polars, pyspark, maturin' 2>/dev/null; then
    log "installing pyarrow, pandas, duckdb, polars, pyspark, maturin into $TOOLS (about 60 s, 900 MB)"
    ( flock 9
      [ -x "$TOOLS/bin/python" ] || python3 -m venv "$TOOLS"
      "$TOOLS/bin/python" -m pip install --quiet --disable-pip-version-check \
        pyarrow pandas duckdb polars pyspark maturin ) 9>"$CACHE/pip.lock"
  fi
  # Spark needs a Java runtime (17 or 21): Debian's, where none is there.
  if ! command -v java >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
    log "installing openjdk-17-jre-headless for pyspark"
    ( flock 9
      apt-get install -y -qq openjdk-17-jre-headless >&2 \
        || { apt-get update -qq >&2 && apt-get install -y -qq openjdk-17-jre-headless >&2; } \
        || log "no java: the Spark tests will fail until a Java 17 runtime is installed"
    ) 9>"$CACHE/apt.lock"
  fi
  # The trainwatt Python package with its compiled reducer (trainwatt._fold,
  # built by maturin from python/Cargo.toml into cargo's target dir here):
  # built again when the clone's package differs from the installed one.
  HELPER="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/python"
  stamp=$(cat "$HELPER/pyproject.toml" "$HELPER/Cargo.toml" "$HELPER"/rust/*.rs \
    "$HELPER"/src/trainwatt/*.py "$HELPER"/../fold/src/*.rs "$HELPER"/../fold/src/*/*.rs \
    "$HELPER"/../trace/src/*.rs "$HELPER"/../trace/src/*/*.rs "$HELPER"/../Cargo.lock 2>/dev/null | sha256sum | cut -c1-16)
  if [ "$(cat "$TOOLS/.trainwatt-stamp" 2>/dev/null)" != "$stamp" ]; then
    log "building the trainwatt Python package (Rust reducer) into $TOOLS (about 2 min cold)"
    ( flock 9
      PATH="$TOOLS/bin:$PATH" CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$CACHE/target}" \
        "$TOOLS/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps \
        --no-build-isolation --force-reinstall "$HELPER" >&2
      echo "$stamp" > "$TOOLS/.trainwatt-stamp" ) 9>"$CACHE/pip.lock"
  fi
  ENV_LINES="$ENV_LINES
export TRAINWATT_PYTOOLS=\"$TOOLS/bin/python\""
fi
ENV_LINES="$ENV_LINES
export CARGO_TARGET_DIR=\"\${CARGO_TARGET_DIR:-$CACHE/target}\""

if [ "${1:-}" = "--print-env" ]; then
  printf '%s\n' "$ENV_LINES"
else
  eval "$ENV_LINES"
fi
