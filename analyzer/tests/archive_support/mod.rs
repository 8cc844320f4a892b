//! Test support: writes run folders in the v1 trace format with a plain
//! `parquet::arrow::ArrowWriter` (default settings: no encodings, codec or
//! metadata chosen), independent of the recorder's writer, so the reader is
//! tested against the format as documented in `trainwatt-trace`. Files that
//! other tools wrote (pyarrow, pandas, DuckDB, polars) are tested in
//! `other_writers.rs`. Also the few helpers the command-line tests share
//! (run the analyzer, list run folders, a path as `&str`).
#![allow(dead_code, clippy::unwrap_used)]

use arrow::array::{
    ArrayRef, BooleanArray, DictionaryArray, Float32Array, Float64Array, Int32Array, Int64Array,
    RecordBatch, StringArray,
};
use arrow::datatypes::Int32Type;
use parquet::arrow::ArrowWriter;
use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use trainwatt_trace::manifest::{HostFacts, SamplerStats, Workload};
use trainwatt_trace::{Domain, Manifest, Method, RunStatus, SourceInfo, SCHEMA_VERSION};

pub const S: i64 = 1_000_000_000;
pub const MS: i64 = 1_000_000;

/// One sample row.
#[derive(Debug, Clone)]
pub struct Sample {
    pub t_ns: i64,
    pub source: String,
    pub power_w: Option<f32>,
    pub energy_uj: Option<i64>,
    /// The format 1.1 `boundary` column: written only when some row has it.
    pub boundary: Option<bool>,
}

pub fn sample(t_ns: i64, source: &str, power_w: Option<f32>, energy_uj: Option<i64>) -> Sample {
    Sample {
        t_ns,
        source: source.into(),
        power_w,
        energy_uj,
        boundary: None,
    }
}

/// One epoch row.
#[derive(Debug, Clone)]
pub struct Epoch {
    pub epoch: i32,
    pub start_ns: i64,
    pub end_ns: i64,
    pub test_acc: Option<f64>,
}

/// Epochs 1..=n back to back from `start` with `len` each.
pub fn epochs(n: usize, start: i64, len: i64, gap: i64) -> Vec<Epoch> {
    (0..n)
        .map(|i| {
            let s = start + i as i64 * (len + gap);
            Epoch {
                epoch: i as i32 + 1,
                start_ns: s,
                end_ns: s + len,
                test_acc: Some(0.5 + 0.004 * i as f64),
            }
        })
        .collect()
}

pub fn source(id: &str, domain: Domain, method: Method, poll_hz: f64) -> SourceInfo {
    SourceInfo {
        id: id.into(),
        domain,
        method,
        description: String::new(),
        poll_hz,
        settings: BTreeMap::new(),
    }
}

pub fn manifest(sources: Vec<SourceInfo>, status: RunStatus) -> Manifest {
    Manifest {
        schema_version: SCHEMA_VERSION,
        run_id: "r".into(),
        started_at_utc: "2026-01-01T00:00:00Z".into(),
        ended_at_utc: None,
        status,
        platform: "test".into(),
        host: HostFacts::default(),
        sources,
        sampler: SamplerStats::default(),
        workload: Workload {
            kind: "train".into(),
            arch: Some("lenet".into()),
            width: Some(1),
            dataset: Some("mnist".into()),
            ..Workload::default()
        },
        epochs_approximate: false,
        imported: None,
        warnings: vec![],
        error: None,
        writer: "archive tests".into(),
    }
}

/// How to lay out the `source` column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceColumn {
    /// Dictionary-encoded, like the recorder.
    Dictionary,
    /// Plain UTF-8 strings.
    Plain,
}

/// Writes one sample segment. `extra` adds an unknown column.
pub fn write_samples(path: &Path, rows: &[Sample], layout: SourceColumn, extra: bool) {
    let t: Int64Array = rows.iter().map(|r| Some(r.t_ns)).collect();
    let names: Vec<&str> = rows.iter().map(|r| r.source.as_str()).collect();
    let src: ArrayRef = match layout {
        SourceColumn::Dictionary => {
            Arc::new(names.into_iter().collect::<DictionaryArray<Int32Type>>())
        }
        SourceColumn::Plain => Arc::new(StringArray::from(names)),
    };
    let p: Float32Array = rows.iter().map(|r| r.power_w).collect();
    let e: Int64Array = rows.iter().map(|r| r.energy_uj).collect();
    let mut cols: Vec<(&str, ArrayRef)> = vec![
        ("t_ns", Arc::new(t)),
        ("source", src),
        ("power_w", Arc::new(p)),
        ("energy_uj", Arc::new(e)),
    ];
    if extra {
        let v: Float64Array = rows.iter().map(|_| Some(42.0)).collect();
        cols.insert(1, ("future_column", Arc::new(v)));
    }
    if rows.iter().any(|r| r.boundary.is_some()) {
        let b: BooleanArray = rows.iter().map(|r| r.boundary).collect();
        cols.push(("boundary", Arc::new(b)));
    }
    write_columns(path, cols);
}

/// Writes `epochs.parquet`. `extra` adds an unknown column.
pub fn write_epochs(path: &Path, rows: &[Epoch], extra: bool) {
    let n = rows.len();
    let mut cols: Vec<(&str, ArrayRef)> = vec![
        (
            "epoch",
            Arc::new(rows.iter().map(|r| Some(r.epoch)).collect::<Int32Array>()),
        ),
        (
            "start_ns",
            Arc::new(
                rows.iter()
                    .map(|r| Some(r.start_ns))
                    .collect::<Int64Array>(),
            ),
        ),
        (
            "end_ns",
            Arc::new(rows.iter().map(|r| Some(r.end_ns)).collect::<Int64Array>()),
        ),
        (
            "train_acc",
            Arc::new(
                rows.iter()
                    .map(|r| r.test_acc.map(|a| a + 0.01))
                    .collect::<Float64Array>(),
            ),
        ),
        (
            "test_acc",
            Arc::new(rows.iter().map(|r| r.test_acc).collect::<Float64Array>()),
        ),
        (
            "train_loss",
            Arc::new(Float64Array::from(vec![Some(0.1); n])),
        ),
        ("test_loss", Arc::new(Float64Array::from(vec![None; n]))),
        (
            "examples",
            Arc::new(Int64Array::from(vec![Some(60_000); n])),
        ),
    ];
    if extra {
        cols.push(("future_column", Arc::new(StringArray::from(vec!["x"; n]))));
    }
    write_columns(path, cols);
}

/// Writes `cols` as one Parquet file (any Arrow types: the fault tests write
/// wrong ones on purpose).
pub fn write_columns(path: &Path, cols: Vec<(&str, ArrayRef)>) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let batch = RecordBatch::try_from_iter(cols).unwrap();
    let f = File::create(path).unwrap();
    let mut w = ArrowWriter::try_new(f, batch.schema(), None).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
}

/// A run to write: manifest, epochs, sample segments.
#[derive(Debug, Clone)]
pub struct RunSpec {
    pub manifest: Manifest,
    pub epochs: Vec<Epoch>,
    pub segments: Vec<Vec<Sample>>,
    pub layout: SourceColumn,
    pub extra_columns: bool,
}

impl RunSpec {
    pub fn new(manifest: Manifest, epochs: Vec<Epoch>, samples: Vec<Sample>) -> Self {
        Self {
            manifest,
            epochs,
            segments: vec![samples],
            layout: SourceColumn::Dictionary,
            extra_columns: false,
        }
    }

    /// Splits the samples into segments of at most `rows` rows.
    pub fn segmented(mut self, rows: usize) -> Self {
        let all: Vec<Sample> = self.segments.concat();
        self.segments = all.chunks(rows).map(<[Sample]>::to_vec).collect();
        self
    }

    /// Writes the run into `dir` (created) and returns it.
    pub fn write(&self, dir: &Path) -> PathBuf {
        std::fs::create_dir_all(dir.join("samples")).unwrap();
        std::fs::write(dir.join("manifest.json"), self.manifest.to_json()).unwrap();
        write_epochs(
            &dir.join("epochs.parquet"),
            &self.epochs,
            self.extra_columns,
        );
        for (i, seg) in self.segments.iter().enumerate() {
            let p = dir.join(format!("samples/part-{i:06}.parquet"));
            write_samples(&p, seg, self.layout, self.extra_columns);
        }
        dir.to_path_buf()
    }
}

/// A clean 1 kHz, 100 W GPU counter run: samples 0..5 s, 4 epochs of 1 s
/// from 0.5 s (E(4) = 400 J). The base the validation and fault tests
/// break one thing of.
pub fn clean_gpu_run() -> RunSpec {
    let samples = track(
        "nvml:0",
        (0..=5_000).map(|k| k * MS),
        |_| Some(100.0),
        |t| Some(1_000 + t / 10),
    );
    let m = manifest(
        vec![source(
            "nvml:0",
            Domain::Gpu,
            Method::MeasuredCounter,
            1000.0,
        )],
        RunStatus::Complete,
    );
    RunSpec::new(m, epochs(4, 500 * MS, S, 0), samples)
}

/// Samples of one source at the given times, with power `p(t)` (W, must be
/// exact in f32 for exact tests) and counter `e(t)` (µJ).
pub fn track(
    id: &str,
    times: impl IntoIterator<Item = i64>,
    p: impl Fn(i64) -> Option<f32>,
    e: impl Fn(i64) -> Option<i64>,
) -> Vec<Sample> {
    times
        .into_iter()
        .map(|t| sample(t, id, p(t), e(t)))
        .collect()
}

/// Interleaves several sources' samples by time (stable), like the sampler.
pub fn interleave(tracks: Vec<Vec<Sample>>) -> Vec<Sample> {
    let mut all: Vec<Sample> = tracks.concat();
    all.sort_by_key(|s| s.t_ns);
    all
}

/// Relative difference.
pub fn rel(a: f64, b: f64) -> f64 {
    if a == b {
        0.0
    } else {
        (a - b).abs() / a.abs().max(b.abs())
    }
}

/// Asserts `got` equals `want` to 1e-9 relative.
#[track_caller]
pub fn assert_close(got: f64, want: f64, what: &str) {
    assert!(
        rel(got, want) < 1e-9,
        "{what}: got {got}, want {want} (rel {:e})",
        rel(got, want)
    );
}

/// Runs the `analyzer` binary with `args`; returns (success, stdout, stderr).
pub fn run(args: &[&str]) -> (bool, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_analyzer"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// A path as `&str` (test paths are UTF-8).
pub fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Every folder under `root` that holds a manifest, sorted.
pub fn run_dirs(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        if d.join("manifest.json").is_file() {
            out.push(d);
            continue;
        }
        if let Ok(rd) = std::fs::read_dir(&d) {
            stack.extend(rd.map(|e| e.unwrap().path()).filter(|p| p.is_dir()));
        }
    }
    out.sort();
    out
}
