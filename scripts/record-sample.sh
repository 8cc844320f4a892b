#!/usr/bin/env bash
# Re-records the sample archive in data/sample (studies/sample-mnist.toml):
# lenet and bcnn at widths 1..5 on real MNIST images, 60 epochs each, with
# every power source this machine has (modelled CPU and DRAM on a VM).
# Resumable: run it again after an interruption and it continues.
#   MNIST_ROOT  folder holding mnist/ (default recorder/tests/fixtures, the t10k files in the repo)
#   RECORDER    a recorder binary to use instead of building the release one
set -euo pipefail
cd "$(dirname "$0")/.."
eval "$(scripts/setup.sh --print-env)"
if [ -z "${RECORDER:-}" ]; then
  cargo build --release -p trainwatt-recorder
  RECORDER="$CARGO_TARGET_DIR/release/recorder"
fi
"$RECORDER" study studies/sample-mnist.toml \
  --data-root "${MNIST_ROOT:-recorder/tests/fixtures}" --out data/sample --platform dev-vm-2vcpu --rate 1000 "$@"
