"""Reduce a trainwatt archive with Spark: the analyzer's own fold, per run.

    spark-submit --master yarn spark/reduce.py s3a://bucket/archive s3a://bucket/reduced
    python spark/reduce.py data/sample /tmp/reduced            # local[*], pyspark installed

Writes the reduced table (docs/reduced-format.md) as a folder of Parquet
part files: one row per run x epoch x source, one per excluded run with its
reason. ``analyzer report OUT`` (or efficiency, epochs, overtraining,
platforms) reads that folder in place of the archive and prints the same
tables as on the archive itself.

How: Spark lists and reads the archive's files as bytes (the ``binaryFile``
source, so any URI Spark reads works: local, HDFS, s3a://, gs://, abfss://),
groups them by run folder (``groupBy(run_dir).applyInArrow``), and each
group's Python worker hands the run's files to ``trainwatt.reduce_run``: the
Rust crate ``trainwatt-fold``, the code ``analyzer reduce`` runs, which
decodes them with the same Parquet reader. Moving compressed files instead
of decoded rows keeps the shuffle small and keeps every file's rows in their
written order and types, which the fold's checks (clock going back, counter
jumps, segment order) depend on; Spark's row readers guarantee neither.

Run keys come from each run's manifest, not from folder names: the
``platform=…/…/run=…`` folders are derived from the manifest, and their
``samples/`` level is not a partition, so files are listed recursively rather
than by Hive partition inference.

Memory: one run's decoded samples (about 21 bytes per sample) live in one
Python worker while it is folded; give executors' Python workers that much
(``spark.executor.pyspark.memory``) for the longest run.

Options mirror ``analyzer reduce``: --energy, --components, --baseline,
--gap-tolerance. Needs pyspark >= 4.0 and the trainwatt package with its
extension (``pip install ./python``) on every executor (a cluster: ship the
built wheel, e.g. ``--archives`` of a venv, or install it in the image).
"""

import argparse
import os
import sys
from urllib.parse import unquote, urlparse

MANIFEST = "manifest.json"
# A run's parts by path: (run folder, manifest.json | epochs.parquet |
# samples/NAME.parquet).
PARTS = r"^(.*)/(manifest\.json|epochs\.parquet|samples/[^/]+\.parquet)$"
EPOCHS = "epochs.parquet"


def local_path(uri):
    """A ``file:`` URI as the local path the analyzer would name; other
    schemes (hdfs, s3a, ...) stay URIs."""
    u = urlparse(uri)
    if u.scheme in ("", "file"):
        return unquote(u.path)
    return uri


def spark_type(t):
    import pyarrow as pa

    for arrow, ddl in (
        (pa.string(), "string"),
        (pa.int64(), "bigint"),
        (pa.int32(), "int"),
        (pa.float64(), "double"),
        (pa.bool_(), "boolean"),
    ):
        if t == arrow:
            return ddl
    raise TypeError(f"reduced column type {t} has no Spark type here")


def large_strings(schema):
    """``schema`` with 64-bit string offsets: what Spark expects back when
    ``spark.sql.execution.arrow.useLargeVarTypes`` is on (it is, so that one
    run's files may pass 2 GB)."""
    import pyarrow as pa

    return pa.schema(
        [f.with_type(pa.large_string()) if f.type == pa.string() else f for f in schema]
    )


def reduced_ddl():
    import trainwatt

    return ", ".join(f"`{f.name}` {spark_type(f.type)}" for f in trainwatt.reduced_schema())


def fold_run(run_dir, files, options):
    """One run's reduced rows from its files: (part, path, bytes) triples.
    The files go to the fold as bytes: it decodes them with the analyzer's
    own Parquet reader, so types and messages match ``analyzer reduce``."""
    import trainwatt

    manifest, epochs, segments = None, None, []
    for part, path, content in files:
        if part == MANIFEST:
            manifest = content.decode("utf-8")
        elif part == EPOCHS:
            epochs = content
        else:
            segments.append((local_path(path), content))
    segments.sort(key=lambda s: s[0])
    rows = trainwatt.reduce_run(
        manifest, epochs, segments, run_dir=local_path(run_dir), **options
    )
    return rows.cast(large_strings(rows.schema))


def fold_group(options):
    """``--read spark``: the applyInArrow function, one run's files (their
    bytes read by Spark and shuffled to this group) in, its rows out."""

    def fold(table):
        files = zip(
            table.column("part").to_pylist(),
            table.column("path").to_pylist(),
            table.column("content").to_pylist(),
        )
        return fold_run(table.column("run_dir")[0].as_py(), files, options)

    return fold


def fold_listed(options):
    """``--read executors``: the mapInArrow function, batches of runs (their
    file lists) in; each run's files are read here, where the task runs."""

    def fold(batches):
        filesystems = {}
        for batch in batches:
            for run_dir, parts, paths in zip(
                batch.column("run_dir").to_pylist(),
                batch.column("parts").to_pylist(),
                batch.column("paths").to_pylist(),
            ):
                files = [(p, u, read_bytes(u, filesystems)) for p, u in zip(parts, paths)]
                yield from fold_run(run_dir, files, options).to_batches()

    return fold


def read_bytes(uri, filesystems):
    """A file's bytes by URI, with pyarrow's filesystems (local, s3/s3a, gs,
    hdfs, abfs(s)); one filesystem object per scheme and host."""
    u = urlparse(uri)
    if u.scheme in ("", "file"):
        with open(unquote(u.path), "rb") as f:
            return f.read()
    import pyarrow.fs as pafs

    scheme = {"s3a": "s3", "s3n": "s3"}.get(u.scheme, u.scheme)
    key = (scheme, u.netloc)
    if key not in filesystems:
        filesystems[key] = pafs.FileSystem.from_uri(f"{scheme}://{u.netloc}/")[0]
    path = f"{u.netloc}{u.path}" if scheme in ("s3", "gs") else u.path
    with filesystems[key].open_input_file(unquote(path)) as f:
        return f.read()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("archive", help="archive root (any URI Spark reads)")
    ap.add_argument("out", help="output folder of reduced part files")
    ap.add_argument("--energy", choices=["counter", "integral", "sample-sum"])
    ap.add_argument("--components", default="", help="comma-separated: gpu,cpu,dram")
    ap.add_argument("--baseline", action="store_true")
    ap.add_argument("--gap-tolerance", type=float, default=1.0, metavar="S")
    ap.add_argument("--master", help="Spark master when run with plain python (default local[*])")
    ap.add_argument("--overwrite", action="store_true", help="replace OUT if it exists")
    ap.add_argument(
        "--read",
        choices=["spark", "executors"],
        default="spark",
        help="spark (default): Spark reads the files and shuffles each run's bytes to one "
        "task (any URI Spark reads); executors: Spark lists the files, only the list is "
        "shuffled, and each task reads its runs' files with pyarrow (local, s3a/s3, gs, hdfs, "
        "abfs(s); no shuffle of the data)",
    )
    args = ap.parse_args(argv)

    import pyarrow  # noqa: F401 - fail here, not in an executor
    import trainwatt
    from pyspark.sql import functions as F

    options = {
        "energy": args.energy,
        "components": [c for c in args.components.split(",") if c.strip()],
        "baseline": args.baseline,
        "gap_tolerance_s": args.gap_tolerance,
    }
    trainwatt.options_json(**options)  # refuse bad options before starting

    spark = session(args)
    if args.read == "spark":
        reduced = run_files(spark, args.archive).groupBy("run_dir").applyInArrow(fold_group(options), reduced_ddl())
    else:
        runs = (
            run_files(spark, args.archive)
            .drop("content")
            .groupBy("run_dir")
            .agg(F.collect_list("part").alias("parts"), F.collect_list("path").alias("paths"))
            # The lists are tiny: without an explicit count, adaptive
            # execution would put every run in one task.
            .repartition(int(spark.conf.get("spark.sql.shuffle.partitions")))
        )
        reduced = runs.mapInArrow(fold_listed(options), reduced_ddl())
    mode = "overwrite" if args.overwrite else "errorifexists"
    reduced.write.mode(mode).parquet(args.out)
    summarize(spark, args.out)
    spark.stop()
    return 0


def session(args):
    """The Spark session: the master given (or local[*] outside
    spark-submit), Arrow with 64-bit offsets, no shuffle compression."""
    from pyspark import SparkConf, SparkContext
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.appName("trainwatt-reduce")
    # Under spark-submit the JVM started this driver (PYSPARK_GATEWAY_PORT is
    # set) and its --master rules: a master set here would override it.
    submitted = "PYSPARK_GATEWAY_PORT" in os.environ
    if args.master or not submitted:
        master = args.master or "local[*]"
        builder = builder.master(master)
    else:
        SparkContext._ensure_initialized()  # so that SparkConf sees spark-submit's settings
        master = SparkConf().get("spark.master", "")
    if master.startswith("local"):
        # Local workers run this interpreter (its pyarrow and trainwatt),
        # not whatever `python3` is first on the PATH.
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    spark = (
        builder.config("spark.sql.execution.arrow.useLargeVarTypes", "true")
        # What crosses the shuffle is Parquet files, already compressed:
        # compressing them again costs CPU and saves nothing (measured: 7%
        # of the job on the benchmark archive).
        .config("spark.shuffle.compress", "false")
        .config("spark.ui.enabled", "false")
        .getOrCreate()
    )
    if not spark.sparkContext.getConf().contains("spark.sql.shuffle.partitions"):
        # A group is a whole run: a few groups per core, not Spark's 200.
        spark.conf.set("spark.sql.shuffle.partitions", 4 * spark.sparkContext.defaultParallelism)
    return spark


def run_files(spark, archive):
    """Every file that is part of a run, with its run folder, its part
    (manifest.json, epochs.parquet or samples/NAME.parquet), its path and
    its content (read only where selected). The path filter is applied while
    listing, so no other file is read."""
    from pyspark.sql import functions as F

    return (
        spark.read.format("binaryFile")
        .option("recursiveFileLookup", "true")
        .load(archive)
        .where(F.col("path").rlike(PARTS))
        .select(
            F.regexp_extract("path", PARTS, 1).alias("run_dir"),
            F.regexp_extract("path", PARTS, 2).alias("part"),
            "path",
            "content",
        )
    )


def summarize(spark, out):
    """One line on stderr: runs, excluded runs and rows written (one job)."""
    from pyspark.sql import functions as F

    summary = (
        spark.read.parquet(out)
        .agg(
            F.countDistinct("run_dir").alias("runs"),
            F.count("excluded_kind").alias("excluded"),
            F.count(F.lit(1)).alias("rows"),
        )
        .first()
    )
    print(
        f"spark/reduce.py: reduced {summary.runs} runs ({summary.excluded} excluded) into "
        f"{summary.rows} rows in {out}",
        file=sys.stderr,
    )


if __name__ == "__main__":
    sys.exit(main())
