"""trainwatt.reduce_run: the inputs it takes, the errors it gives.

Run with the venv scripts/setup.sh makes (pyarrow, polars, the package
built from python/): ``python python/tests/test_reduce.py RUN_DIR`` where
RUN_DIR is a run folder (the Rust test analyzer/tests/spark_parity.rs
passes one of data/sample's). The numbers themselves are compared with
``analyzer reduce`` in analyzer/tests/spark_parity.rs.
"""

import json
import os
import sys
import unittest

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

import trainwatt

RUN = None  # set from argv


def parts(run):
    with open(os.path.join(run, "manifest.json"), encoding="utf-8") as f:
        manifest = f.read()
    epochs = pq.read_table(os.path.join(run, "epochs.parquet"))
    seg = os.path.join(run, "samples", sorted(os.listdir(os.path.join(run, "samples")))[0])
    return manifest, epochs, seg


class ReduceRun(unittest.TestCase):
    def setUp(self):
        self.reference = trainwatt.reduce_dir(RUN)
        self.manifest, self.epochs, self.segment = parts(RUN)

    def test_the_reference_has_rows_for_every_epoch_and_source(self):
        t = self.reference
        self.assertEqual(t.schema, trainwatt.reduced_schema())
        self.assertTrue(all(k is None for k in t.column("excluded_kind").to_pylist()))
        epochs = set(t.column("epoch").to_pylist())
        self.assertEqual(epochs, set(range(0, self.epochs.num_rows + 1)))
        self.assertEqual(set(t.column("reduced_version").to_pylist()), {"1.1"})

    def test_polars_frames_and_a_dict_manifest_give_the_same_rows(self):
        got = trainwatt.reduce_run(
            json.loads(self.manifest),
            pl.from_arrow(self.epochs),
            [(self.segment, pl.read_parquet(self.segment))],
            run_dir=RUN,
        )
        self.assertTrue(got.equals(self.reference))

    def test_a_record_batch_reader_is_read_as_a_stream(self):
        reader = pq.ParquetFile(self.segment).iter_batches(batch_size=1000)
        schema = pq.read_schema(self.segment)
        stream = pa.RecordBatchReader.from_batches(schema, reader)
        got = trainwatt.reduce_run(
            self.manifest, self.epochs, [(self.segment, stream)], run_dir=RUN
        )
        self.assertTrue(got.equals(self.reference))

    def test_a_manifest_path_names_the_run(self):
        got = trainwatt.reduce_run(
            os.path.join(RUN, "manifest.json"),
            self.epochs,
            [(os.path.basename(self.segment), pq.read_table(self.segment))],
        )
        self.assertTrue(got.equals(self.reference))

    def test_a_missing_manifest_is_a_row_that_says_so(self):
        got = trainwatt.reduce_run(None, self.epochs, pq.read_table(self.segment), run_dir=RUN)
        self.assertEqual(got.num_rows, 1)
        self.assertEqual(got.column("excluded_kind")[0].as_py(), "missing-manifest")
        self.assertIn("manifest.json is missing", got.column("excluded_message")[0].as_py())

    def test_a_clock_going_back_is_named_by_row(self):
        t = pq.read_table(self.segment)
        rows = t.to_pylist()
        # Halfway through the first source's rows (the recorder writes a
        # segment source by source), a reading stamped 10 reads back.
        first = rows[0]["source"]
        k = sum(1 for r in rows if r["source"] == first) // 2
        rows[k]["t_ns"] = rows[k - 10]["t_ns"]
        bad = pa.Table.from_pylist(rows, schema=t.schema)
        got = trainwatt.reduce_run(self.manifest, self.epochs, bad, run_dir="/runs/x")
        self.assertEqual(got.column("excluded_kind")[0].as_py(), "sample:backwards-clock")
        self.assertEqual(got.column("excluded_row")[0].as_py(), k)
        self.assertEqual(got.column("excluded_file")[0].as_py(), "/runs/x/samples/<table>")

    def test_bad_options_and_inputs_are_refused_with_the_fix(self):
        with self.assertRaisesRegex(ValueError, "use \"counter\", \"integral\""):
            trainwatt.reduce_run(self.manifest, self.epochs, [], energy="joules")
        with self.assertRaisesRegex(ValueError, "unknown component `gpus`"):
            trainwatt.reduce_run(self.manifest, self.epochs, [], components=["gpus"])
        with self.assertRaisesRegex(TypeError, "samples: expected a pyarrow Table"):
            trainwatt.reduce_run(self.manifest, self.epochs, 42)
        with self.assertRaisesRegex(TypeError, r"samples\[0\]: expected a \(path, table\)"):
            trainwatt.reduce_run(self.manifest, self.epochs, [self.epochs])

    def test_options_are_recorded_like_the_analyzers(self):
        got = trainwatt.reduce_dir(RUN, energy="integral", components=["gpu", "cpu"])
        options = json.loads(got.column("reduced_options")[0].as_py())
        self.assertEqual(options["energy"], "integral")
        self.assertEqual(options["components"], ["cpu", "gpu"])
        self.assertEqual(set(got.column("energy_mode").to_pylist()), {"integral"})


if __name__ == "__main__":
    RUN = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)
