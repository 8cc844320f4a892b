//! Spark and the Python module give the rows `analyzer reduce` gives.
//!
//! `spark/reduce.py` on `local[2]` (real pyspark, a real JVM; the files
//! read by Spark and shuffled, or read in the executors) and
//! `trainwatt.reduce_dir` (the PyO3 module, with the files handed over as
//! bytes and decoded by pyarrow) reduce `data/sample` and an archive built
//! for the edge cases: uneven sampling, epoch boundaries between samples, a
//! gap, NaN power, the clock going back, a counter spike, an interrupted
//! run, several platforms, a run split into segments, segments named out of
//! time order and a folder without its manifest. Every row and value must
//! equal the analyzer's, exclusions (kind, file, row, message) included;
//! floats are compared by their bits.
//!
//! The Python module's own tests (`python/tests/test_reduce.py`: the inputs
//! `trainwatt.reduce_run` takes and the errors it gives) run here too.
//!
//! Python is `$TRAINWATT_PYTOOLS`: the venv `scripts/setup.sh` makes, with
//! pyspark, pyarrow, polars and the trainwatt package built from `python/`.

#![allow(clippy::unwrap_used)]

mod archive_support;

use archive_support::*;
use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::DataType;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use std::path::{Path, PathBuf};
use std::process::Command;
use trainwatt_trace::{Domain, Method, RunStatus};

fn python() -> String {
    std::env::var("TRAINWATT_PYTOOLS").unwrap_or_else(|_| "python3".into())
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

#[track_caller]
fn check(out: &std::process::Output, what: &str) {
    assert!(
        out.status.success(),
        "{what} failed ({}); `make test` (scripts/setup.sh) installs pyspark, Java and the \
         trainwatt package into the venv TRAINWATT_PYTOOLS names\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The rows of every Parquet file at `path` (a file or a folder of parts),
/// each as its column values in schema order, sorted: floats by their bits,
/// so equal means equal to the last bit.
fn rows(path: &Path) -> Vec<Vec<String>> {
    let files: Vec<PathBuf> = if path.is_dir() {
        let mut f: Vec<PathBuf> = std::fs::read_dir(path)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "parquet"))
            .collect();
        f.sort();
        f
    } else {
        vec![path.to_path_buf()]
    };
    let names: Vec<String> = trainwatt_fold::reduced::schema::schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    let mut out = Vec::new();
    for f in files {
        let reader = ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(&f).unwrap())
            .unwrap()
            .build()
            .unwrap();
        for batch in reader {
            let batch = batch.unwrap();
            for r in 0..batch.num_rows() {
                out.push(names.iter().map(|n| cell(&batch, n, r)).collect());
            }
        }
    }
    out.sort();
    out
}

fn cell(batch: &RecordBatch, name: &str, r: usize) -> String {
    let c = batch
        .column_by_name(name)
        .unwrap_or_else(|| panic!("column {name} missing"));
    if c.is_null(r) {
        return format!("{name}=null");
    }
    let v = match c.data_type() {
        DataType::Utf8 => c.as_string::<i32>().value(r).to_string(),
        DataType::LargeUtf8 => c.as_string::<i64>().value(r).to_string(),
        DataType::Int64 => c
            .as_primitive::<arrow::datatypes::Int64Type>()
            .value(r)
            .to_string(),
        DataType::Int32 => c
            .as_primitive::<arrow::datatypes::Int32Type>()
            .value(r)
            .to_string(),
        DataType::Float64 => {
            let x = c.as_primitive::<arrow::datatypes::Float64Type>().value(r);
            format!("{x} ({:#x})", x.to_bits())
        }
        DataType::Boolean => c.as_boolean().value(r).to_string(),
        other => panic!("column {name}: unexpected type {other}"),
    };
    format!("{name}={v}")
}

fn analyzer_reduce(archive: &Path, out: &Path) {
    let o = Command::new(env!("CARGO_BIN_EXE_analyzer"))
        .arg("reduce")
        .arg(archive)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap();
    check(&o, "analyzer reduce");
}

/// `spark/reduce.py`, reading the files with Spark (`spark`) or in the
/// executors (`executors`).
fn spark_reduce(archive: &Path, out: &Path, read: &str) {
    let o = Command::new(python())
        .arg(repo().join("spark/reduce.py"))
        .args(["--master", "local[2]", "--read", read])
        .arg(archive)
        .arg(out)
        .output()
        .unwrap();
    check(&o, "spark/reduce.py");
}

/// `trainwatt.reduce_dir` of every run folder under `archive` (both ways:
/// files as bytes, and decoded by pyarrow first) into two Parquet files.
fn python_reduce(archive: &Path, dir: &Path) -> [PathBuf; 2] {
    let script = r#"
import os, sys
import pyarrow as pa, pyarrow.parquet as pq, trainwatt
archive, out = sys.argv[1], sys.argv[2]
runs = []
for root, dirs, files in os.walk(archive):
    dirs[:] = sorted(d for d in dirs if not d.startswith("."))
    if "manifest.json" in files or "epochs.parquet" in files:
        runs.append(root)
        dirs[:] = []
for decode in (False, True):
    t = pa.concat_tables([trainwatt.reduce_dir(r, decode=decode) for r in runs])
    pq.write_table(t, os.path.join(out, f"decode-{decode}.parquet"))
"#;
    let o = Command::new(python())
        .arg("-c")
        .arg(script)
        .arg(archive)
        .arg(dir)
        .output()
        .unwrap();
    check(&o, "trainwatt.reduce_dir");
    [
        dir.join("decode-False.parquet"),
        dir.join("decode-True.parquet"),
    ]
}

/// Two sources: a 1 kHz GPU counter and a 10 Hz modelled CPU, on `platform`.
fn two_source_run(platform: &str, jitter: bool) -> RunSpec {
    let irregular = |k: i64| {
        if jitter {
            k * MS + (k * 7919 % 613) * 1_000
        } else {
            k * MS
        }
    };
    let gpu = track(
        "nvml:0",
        (0..=5_000).map(irregular),
        |t| Some(100.0 + (t / MS % 7) as f32),
        |t| Some(1_000 + t / 10 + (t / MS % 7) * 3),
    );
    let cpu = track(
        "model:cpu",
        (0..=50).map(|k| k * 100 * MS + 37 * MS),
        |t| Some(20.0 + (t / (100 * MS) % 3) as f32),
        |_| None,
    );
    let mut m = manifest(
        vec![
            source("nvml:0", Domain::Gpu, Method::MeasuredCounter, 1000.0),
            source("model:cpu", Domain::CpuPackage, Method::Modelled, 10.0),
        ],
        RunStatus::Complete,
    );
    m.platform = platform.into();
    // Boundaries between samples (0.5003 s, then every 0.9871 s).
    let e = epochs(4, 500 * MS + 300_000, 987_100_000, 0);
    RunSpec::new(m, e, interleave(vec![gpu, cpu]))
}

fn edge_cases(root: &Path) {
    let write = |name: &str, spec: RunSpec| {
        spec.write(&root.join(name));
    };
    write("platform=a/run=clean", clean_gpu_run());
    write("platform=a/run=uneven", two_source_run("a", true));
    write("platform=b/run=two-sources", two_source_run("b", false));
    write(
        "platform=b/run=segments",
        two_source_run("b", false).segmented(1_700),
    );
    let mut gap = clean_gpu_run();
    gap.segments[0].retain(|s| !(2_000 * MS..3_500 * MS).contains(&s.t_ns));
    write("platform=a/run=gap", gap);
    let mut nan = clean_gpu_run();
    nan.segments[0][1_234].power_w = Some(f32::NAN);
    write("platform=a/run=nan-power", nan);
    let mut back = clean_gpu_run();
    back.segments[0][2_000].t_ns -= 5 * MS;
    write("platform=a/run=clock-back", back);
    let mut spike = clean_gpu_run();
    for s in &mut spike.segments[0][3_000..] {
        s.energy_uj = s.energy_uj.map(|e| e + 90_000_000_000);
    }
    write("platform=a/run=counter-spike", spike);
    let mut interrupted = clean_gpu_run();
    interrupted.manifest.status = RunStatus::Interrupted;
    interrupted.segments[0].retain(|s| s.t_ns < 3_200 * MS);
    write("platform=c/run=interrupted", interrupted);
    let mut order = clean_gpu_run().segmented(2_000);
    order.segments.swap(0, 2);
    write("platform=c/run=segment-order", order);
    let lost = root.join("platform=c/run=lost-manifest");
    clean_gpu_run().write(&lost);
    std::fs::remove_file(lost.join("manifest.json")).unwrap();
}

#[track_caller]
fn assert_same(want: &[Vec<String>], got: &[Vec<String>], what: &str) {
    assert_eq!(want.len(), got.len(), "{what}: row count");
    for (w, g) in want.iter().zip(got) {
        assert_eq!(w, g, "{what}: first differing row");
    }
}

#[test]
fn spark_and_python_reduce_the_edge_cases_to_the_analyzers_rows() {
    let tmp = tempfile::tempdir().unwrap();
    let archive = tmp.path().join("archive");
    edge_cases(&archive);
    let reference = tmp.path().join("analyzer.parquet");
    analyzer_reduce(&archive, &reference);
    let want = rows(&reference);
    // The cases did what they are for: each excluded one for its reason.
    let kinds: Vec<&String> = want
        .iter()
        .flat_map(|r| r.iter().filter(|c| c.starts_with("excluded_kind=")))
        .filter(|c| !c.ends_with("=null"))
        .collect();
    for kind in [
        "sample:gap",
        "sample:power-not-finite",
        "sample:backwards-clock",
        // A counter that jumps for good: every later reading is refused, so
        // the samples "end" there, and the message names the first one.
        "coverage",
        "segment-order",
        "missing-manifest",
    ] {
        assert!(
            kinds.iter().any(|k| k.ends_with(&format!("={kind}"))),
            "no run excluded as {kind}: {kinds:?}"
        );
    }
    assert!(want
        .iter()
        .flatten()
        .any(|c| c.starts_with("excluded_message=") && c.contains("the first refused reading")));
    assert!(want
        .iter()
        .any(|r| r.contains(&"status=interrupted".to_string())));

    for read in ["spark", "executors"] {
        let spark = tmp.path().join(format!("spark-{read}"));
        spark_reduce(&archive, &spark, read);
        assert_same(
            &want,
            &rows(&spark),
            &format!("spark/reduce.py --read {read}"),
        );
    }
    let py = tmp.path().join("py");
    std::fs::create_dir(&py).unwrap();
    for (f, how) in python_reduce(&archive, &py)
        .iter()
        .zip(["bytes", "pyarrow"])
    {
        assert_same(&want, &rows(f), &format!("trainwatt.reduce_dir ({how})"));
    }
}

#[test]
fn spark_reduces_the_sample_archive_to_the_analyzers_rows() {
    let tmp = tempfile::tempdir().unwrap();
    let sample = repo().join("data/sample").canonicalize().unwrap();
    let reference = tmp.path().join("analyzer.parquet");
    analyzer_reduce(&sample, &reference);
    let spark = tmp.path().join("spark");
    spark_reduce(&sample, &spark, "spark");
    let want = rows(&reference);
    assert!(want.len() > 1_000, "{} rows", want.len());
    assert_same(&want, &rows(&spark), "spark/reduce.py on data/sample");
    // And the analysis of Spark's folder prints the archive's tables.
    let table = |input: &Path| {
        let o = Command::new(env!("CARGO_BIN_EXE_analyzer"))
            .args(["efficiency", "--paper-criteria", "--format", "csv"])
            .arg(input)
            .output()
            .unwrap();
        check(&o, "analyzer efficiency");
        String::from_utf8(o.stdout).unwrap()
    };
    assert_eq!(table(&sample), table(&spark));
}

#[test]
fn the_python_modules_own_tests_pass() {
    let run = repo().join(
        "data/sample/platform=dev-vm-2vcpu/dataset=mnist/arch=lenet/width=1/\
         run=20261201T140322Z-lenet-w1-s1",
    );
    assert!(run.join("manifest.json").is_file(), "{}", run.display());
    let out = Command::new(python())
        .arg(repo().join("python/tests/test_reduce.py"))
        .arg(&run)
        .output()
        .unwrap();
    check(&out, "python/tests/test_reduce.py");
}
