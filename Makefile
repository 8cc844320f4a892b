# trainwatt: the two commands a new user needs are `make demo` and `make test`.
# Both call scripts/setup.sh, which (idempotently) creates the PyTorch venv
# and the cargo target dir in ~/.cache/trainwatt (override TRAINWATT_CACHE).
SHELL := /bin/bash
ENV := eval "$$(scripts/setup.sh --print-env)"
ARCHIVE ?= data/sample
REPORT ?= reports/sample

.PHONY: demo test lint bench-recorder bench-precision bench-wrap-latency bench-analyzer sample-archive

## The main job on the shipped sample archive: every table of the analysis.
demo:
	@ARCHIVE=$(ARCHIVE) REPORT=$(REPORT) bash scripts/demo.sh

## The whole test suite (what CI runs; CI adds TEST_FLAGS=--ci to run the
## ignored tests whose needs the machine meets).
test:
	@$(ENV) && cargo fmt --all -- --check && scripts/test.sh $(TEST_FLAGS)

lint:
	@$(ENV) && cargo fmt --all -- --check && cargo clippy --workspace --all-targets -- -D warnings

bench-recorder:
	@bash bench/recorder_overhead.sh

## Energy per epoch by method and sampling rate (docs/precision.md).
bench-precision:
	@bash bench/precision.sh

## How late `recorder wrap` stamps a child's epoch line.
bench-wrap-latency:
	@bash bench/wrap_latency.sh

bench-analyzer:
	@bash bench/analyzer_bench.sh

## Re-record the sample archive in data/ (about an hour on 2 cores).
sample-archive:
	@bash scripts/record-sample.sh
