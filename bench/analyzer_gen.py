#!/usr/bin/env python3
"""Synthetic archive for bench/analyzer_bench.sh.

Writes RUNS runs of EPOCHS epochs sampled at RATE Hz from three counter
sources (GPU, CPU package, DRAM) in the v1 trace format, laid out the way
recorder/src/sink.rs writes it: one segment per second of samples, rows
sorted by (source, t_ns), `source` as Dictionary(Int16, Utf8), t_ns and
energy_uj DELTA_BINARY_PACKED, power_w BYTE_STREAM_SPLIT, zstd. Timestamps
jitter around the 1 ms schedule as a real sampler's do. A pre-training
window of PRE_S seconds precedes epoch 1. BENCH_SEGMENT_S (env) changes
the segment length, to see what compacting segments would buy.

usage: analyzer_gen.py OUT_DIR RUNS EPOCHS EPOCH_S RATE_HZ
"""
import json
import os
import sys

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

SOURCES = [
    ("nvml:0", "gpu", 150.0, 40.0),
    ("rapl:package-0", "cpu-package", 45.0, 8.0),
    ("rapl:dram-0", "dram", 6.0, 1.0),
]
PRE_S = 2.0
SEGMENT_S = float(os.environ.get("BENCH_SEGMENT_S", "1.0"))  # the recorder flushes every 1 s
EVAL_GAP_S = 0.05


def write_run(run_dir, run_idx, n_epochs, epoch_s, rate_hz, rng):
    os.makedirs(os.path.join(run_dir, "samples"), exist_ok=True)
    total_s = PRE_S + n_epochs * epoch_s + 0.5
    n = int(total_s * rate_hz)
    period_ns = int(1e9 / rate_hz)
    t = np.arange(n, dtype=np.int64) * period_ns
    t += rng.integers(0, period_ns // 20, size=n)  # read jitter, stays ordered
    dt_s = np.diff(t, prepend=t[0]).astype(np.float64) * 1e-9
    per_source = []
    for k, (_, _, mean_w, swing_w) in enumerate(SOURCES):
        phase = rng.uniform(0, 6.3)
        p = mean_w + swing_w * np.sin(t * 1e-9 * 0.7 + phase) + rng.normal(0, swing_w / 20, n)
        p = np.clip(p, 0.5, None).astype(np.float32)
        e = np.int64(rng.integers(10**9, 10**11)) + np.cumsum(
            (p.astype(np.float64) * dt_s * 1e6).astype(np.int64)
        )
        per_source.append((k, p, e))
    ids = pa.array([s[0] for s in SOURCES], type=pa.string())
    seg_rows = int(SEGMENT_S * rate_hz)
    for seg, lo in enumerate(range(0, n, seg_rows)):
        hi = min(n, lo + seg_rows)
        keys = np.concatenate([np.full(hi - lo, k, dtype=np.int16) for k, _, _ in per_source])
        table = pa.table(
            {
                "t_ns": pa.array(np.tile(t[lo:hi], len(SOURCES))),
                "source": pa.DictionaryArray.from_arrays(pa.array(keys), ids),
                "power_w": pa.array(np.concatenate([p[lo:hi] for _, p, _ in per_source])),
                "energy_uj": pa.array(np.concatenate([e[lo:hi] for _, _, e in per_source])),
            }
        )
        pq.write_table(
            table,
            os.path.join(run_dir, "samples", f"part-{seg:06d}.parquet"),
            compression="zstd",
            use_dictionary=["source"],
            column_encoding={
                "t_ns": "DELTA_BINARY_PACKED",
                "energy_uj": "DELTA_BINARY_PACKED",
                "power_w": "BYTE_STREAM_SPLIT",
            },
        )
    start = PRE_S + np.arange(n_epochs) * epoch_s
    acc = 0.5 + 0.45 * (1 - np.exp(-np.arange(1, n_epochs + 1) / 15.0))
    epochs = pa.table(
        {
            "epoch": pa.array(np.arange(1, n_epochs + 1, dtype=np.int32)),
            "start_ns": pa.array((start * 1e9).astype(np.int64)),
            "end_ns": pa.array(((start + epoch_s - EVAL_GAP_S) * 1e9).astype(np.int64)),
            "train_acc": pa.array(np.minimum(acc + 0.02, 1.0)),
            "test_acc": pa.array(acc),
            "train_loss": pa.array(1.0 - acc),
            "test_loss": pa.array(1.05 - acc),
            "examples": pa.array(np.full(n_epochs, 60000, dtype=np.int64)),
        }
    )
    pq.write_table(epochs, os.path.join(run_dir, "epochs.parquet"), compression="zstd")
    return n * len(SOURCES), seg + 1


def manifest(run_id, arch, width, seed, rate_hz, segments):
    return {
        "schema_version": "1.0",
        "run_id": run_id,
        "started_at_utc": "2026-01-01T00:00:00Z",
        "ended_at_utc": "2026-01-01T06:00:00Z",
        "status": "complete",
        "platform": "bench",
        "host": {"hostname": "bench", "cpu_model": "synthetic", "cpu_cores": 2},
        "sources": [
            {"id": i, "domain": d, "method": "measured-counter", "poll_hz": rate_hz}
            for i, d, _, _ in SOURCES
        ],
        "sampler": {"rate_hz": rate_hz, "segments": segments},
        "workload": {
            "kind": "train",
            "arch": arch,
            "width": width,
            "dataset": "mnist",
            "protocol": "holdout",
            "seed": seed,
        },
        "writer": "bench/analyzer_gen.py",
    }


def main():
    out, runs, n_epochs, epoch_s, rate_hz = sys.argv[1:6]
    runs, n_epochs, epoch_s, rate_hz = int(runs), int(n_epochs), float(epoch_s), float(rate_hz)
    rng = np.random.default_rng(2024)
    total = 0
    for r in range(runs):
        arch = ("lenet", "bcnn")[r % 2]
        width = 1 + (r // 2) % 5
        seed = r // 10
        run_id = f"{arch}-w{width}-s{seed}-{r:03d}"
        d = os.path.join(
            out, "platform=bench", "dataset=mnist", f"arch={arch}", f"width={width}", f"run={run_id}"
        )
        rows, segments = write_run(d, r, n_epochs, epoch_s, rate_hz, rng)
        with open(os.path.join(d, "manifest.json"), "w") as f:
            json.dump(manifest(run_id, arch, width, seed, rate_hz, segments), f, indent=2)
        total += rows
    with open(os.path.join(out, "SAMPLES"), "w") as f:
        f.write(f"{total}\n")
    print(f"wrote {runs} runs, {total} samples under {out}")


if __name__ == "__main__":
    main()
