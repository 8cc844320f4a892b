#!/usr/bin/env python3
"""The analyzer's per-epoch reduction as one DuckDB SQL query, for
bench/analyzer_bench.sh to time against `analyzer`.

Same numbers as the analyzer's counter mode: per run and epoch, E(i) = the
sum over sources of the counter interpolated linearly at the end of epoch i
minus the same at the start of epoch 1 (ASOF joins find the bracketing
reads), plus the cumulative sample-sum of power_w over [start of epoch 1,
end of epoch i]. Every sample row is read (the sample-sum needs them all),
as in the analyzer. Prints rows, seconds and a checksum of E.

The run key is a hash of the run folder and the sample CTE is materialized:
of the variants tried these were fastest (string keys from the path made
the ASOF joins about 2.5x slower, re-reading the files about 1.5x).

usage: analyzer_duckdb.py ARCHIVE [THREADS]
"""
import os
import sys
import time

import duckdb

QUERY = r"""
WITH s AS MATERIALIZED (
  SELECT hash(regexp_extract(filename, '^(.*)/samples/[^/]*$', 1)) AS run,
         source::VARCHAR AS source, t_ns, power_w, energy_uj
  FROM read_parquet('{root}/**/samples/*.parquet', filename = true, hive_partitioning = false)
),
e AS (
  SELECT hash(regexp_extract(filename, '^(.*)/epochs\.parquet$', 1)) AS run, epoch, start_ns, end_ns
  FROM read_parquet('{root}/**/epochs.parquet', filename = true, hive_partitioning = false)
),
b AS (
  SELECT run, 0 AS k, start_ns AS t FROM e WHERE epoch = 1
  UNION ALL
  SELECT run, epoch AS k, end_ns AS t FROM e
),
src AS (SELECT * FROM (VALUES ('nvml:0'), ('rapl:package-0'), ('rapl:dram-0')) v(source)),
bs AS (SELECT b.run, b.k, b.t, src.source FROM b CROSS JOIN src),
lo AS (
  SELECT bs.run, bs.k, bs.t, bs.source, s.t_ns AS t0, s.energy_uj AS e0
  FROM bs ASOF JOIN s ON bs.run = s.run AND bs.source = s.source AND bs.t >= s.t_ns
),
hi AS (
  SELECT bs.run, bs.k, bs.source, s.t_ns AS t1, s.energy_uj AS e1
  FROM bs ASOF JOIN s ON bs.run = s.run AND bs.source = s.source AND bs.t <= s.t_ns
),
c AS (
  SELECT lo.run, lo.k,
         sum(CASE WHEN t1 = t0 THEN e0::DOUBLE
                  ELSE e0 + (e1 - e0)::DOUBLE * (lo.t - t0) / (t1 - t0) END) AS c_uj
  FROM lo JOIN hi USING (run, k, source)
  GROUP BY ALL
),
energy AS (
  SELECT c.run, c.k AS epoch, (c.c_uj - c0.c_uj) * 1e-6 AS energy_j
  FROM c JOIN c AS c0 ON c0.run = c.run AND c0.k = 0
  WHERE c.k > 0
),
first AS (SELECT run, start_ns AS b0 FROM e WHERE epoch = 1),
bins AS (
  SELECT s.run, e.epoch, sum(s.power_w) AS w
  FROM s JOIN first USING (run)
  ASOF JOIN e ON s.run = e.run AND s.t_ns <= e.end_ns
  WHERE s.t_ns >= first.b0
  GROUP BY ALL
)
SELECT energy.run, energy.epoch, energy.energy_j,
       sum(coalesce(bins.w, 0)) OVER (PARTITION BY energy.run ORDER BY energy.epoch) AS sample_sum_w
FROM energy LEFT JOIN bins USING (run, epoch)
ORDER BY energy.run, energy.epoch
"""


def main():
    root = sys.argv[1].rstrip("/")
    con = duckdb.connect()
    # Keep a full-size run from taking the machine's memory; DuckDB spills.
    con.execute(f"SET memory_limit = '{os.environ.get('BENCH_DUCKDB_MEMORY', '8GB')}'")
    # Spill outside the repository (the default `.tmp` in the working folder
    # filled this machine's disk once at full size).
    spill = os.environ.get(
        "BENCH_DUCKDB_TMP", os.path.expanduser("~/.cache/trainwatt/duckdb-tmp")
    )
    con.execute(f"SET temp_directory = '{spill}'")
    if len(sys.argv) > 2 and sys.argv[2] != "--show":
        con.execute(f"SET threads = {int(sys.argv[2])}")
    t0 = time.perf_counter()
    rows = con.execute(QUERY.format(root=root)).fetchall()
    secs = time.perf_counter() - t0
    checksum = sum(r[2] for r in rows)
    print(f"duckdb rows={len(rows)} seconds={secs:.3f} energy_checksum_j={checksum:.6f}")
    if "--show" in sys.argv:
        for r in rows[:5]:
            print(r)


if __name__ == "__main__":
    main()
