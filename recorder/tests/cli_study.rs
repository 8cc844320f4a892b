//! `recorder study` end to end on tiny synthetic MNIST files: the plan is
//! printed first, runs land in the archive with their study ids, a second
//! invocation skips complete runs, and an interrupted run is planned again.

#![cfg(feature = "train")]
#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

use arrow::array::{Array, AsArray};
use arrow::datatypes::Int64Type;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use std::path::Path;
use std::process::Command;

/// Every batch of every Parquet file at `path` (a file or a folder).
fn batches(path: &Path) -> Vec<arrow::record_batch::RecordBatch> {
    let files: Vec<_> = if path.is_dir() {
        std::fs::read_dir(path)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect()
    } else {
        vec![path.to_path_buf()]
    };
    files
        .iter()
        .flat_map(|f| {
            let f = std::fs::File::open(f).unwrap();
            ParquetRecordBatchReaderBuilder::try_new(f)
                .unwrap()
                .build()
                .unwrap()
        })
        .map(Result::unwrap)
        .collect()
}

/// The epochs' (start, end) and the instants of the run's boundary rows.
fn bounds_and_boundary_rows(run: &Path) -> (Vec<(i64, i64)>, Vec<i64>) {
    let mut epochs = Vec::new();
    for b in batches(&run.join("epochs.parquet")) {
        let (s, e) = (
            b.column(1).as_primitive::<Int64Type>(),
            b.column(2).as_primitive::<Int64Type>(),
        );
        epochs.extend((0..b.num_rows()).map(|i| (s.value(i), e.value(i))));
    }
    let mut marked = Vec::new();
    for b in batches(&run.join("samples")) {
        let t = b
            .column_by_name("t_ns")
            .unwrap()
            .as_primitive::<Int64Type>();
        let m = b.column_by_name("boundary").unwrap().as_boolean();
        marked.extend(
            (0..b.num_rows())
                .filter(|&i| !m.is_null(i) && m.value(i))
                .map(|i| t.value(i)),
        );
    }
    marked.sort_unstable();
    (epochs, marked)
}

/// Writes raw IDX test files with `n` 28×28 images of 10 classes.
fn write_mnist(dir: &Path, n: usize) {
    std::fs::create_dir_all(dir).unwrap();
    let mut images = Vec::new();
    images.extend_from_slice(&2051u32.to_be_bytes());
    images.extend_from_slice(&(n as u32).to_be_bytes());
    images.extend_from_slice(&28u32.to_be_bytes());
    images.extend_from_slice(&28u32.to_be_bytes());
    let mut labels = Vec::new();
    labels.extend_from_slice(&2049u32.to_be_bytes());
    labels.extend_from_slice(&(n as u32).to_be_bytes());
    for i in 0..n {
        let class = (i % 10) as u8;
        labels.push(class);
        // A bright bar whose row encodes the class: learnable, deterministic.
        images.extend((0..28 * 28).map(|p| {
            if p / 28 == 2 + 2 * usize::from(class) {
                255
            } else {
                0
            }
        }));
    }
    std::fs::write(dir.join("t10k-images-idx3-ubyte"), images).unwrap();
    std::fs::write(dir.join("t10k-labels-idx1-ubyte"), labels).unwrap();
}

const STUDY: &str = r#"
name = "tiny"
epochs = 2
seeds = [1]
archs = ["lenet"]
widths = [1, 2]
[settings]
threads = 1
device = "cpu"
[[datasets]]
name = "mnist"
dir = "mnist"
protocol = { kind = "test-files-split", train_count = 60, test_count = 20, split_seed = 1 }
"#;

fn study(dir: &Path, extra: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_recorder"))
        .arg("study")
        .arg(dir.join("study.toml"))
        .arg("--data-root")
        .arg(dir)
        .args(["--fake-sources", "cpu=20", "--rate", "200", "--out"])
        .arg(dir.join("archive"))
        .args(extra)
        .output()
        .unwrap()
}

fn manifests(root: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.file_name().is_some_and(|n| n == "manifest.json") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

#[test]
fn study_runs_the_grid_then_resumes() {
    let dir = tempfile::tempdir().unwrap();
    write_mnist(&dir.path().join("mnist"), 100);
    std::fs::write(dir.path().join("study.toml"), STUDY).unwrap();

    let out = study(dir.path(), &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("2 runs of 2 epochs; 0 complete (skipped), 0 to redo"),
        "{err}"
    );
    assert!(
        err.contains("mnist-lenet-w1-testsplit60x20-s1: Complete"),
        "{err}"
    );
    let ms = manifests(&dir.path().join("archive"));
    assert_eq!(ms.len(), 2);
    for path in &ms {
        let m = trainwatt_trace::Manifest::read(path).unwrap();
        assert_eq!(m.status, trainwatt_trace::RunStatus::Complete);
        assert_eq!(m.workload.extra["study"], "tiny");
        assert_eq!(m.workload.extra["epochs_completed"], 2);
        assert_eq!(m.workload.protocol.as_deref(), Some("test-split:60/20"));
        // Each boundary is a boundary read: epoch 2 starts where 1 ended,
        // and the boundary rows sit at exactly those instants.
        assert!(m.sampler.boundary_reads);
        let (epochs, marked) = bounds_and_boundary_rows(path.parent().unwrap());
        assert_eq!(epochs.len(), 2);
        assert_eq!(epochs[1].0, epochs[0].1);
        assert_eq!(marked, [epochs[0].0, epochs[0].1, epochs[1].1]);
    }

    // Mark one run interrupted: the plan redoes it (in a new folder) and
    // skips the other.
    let text = std::fs::read_to_string(&ms[0])
        .unwrap()
        .replace("\"complete\"", "\"interrupted\"");
    std::fs::write(&ms[0], text).unwrap();
    let out = study(dir.path(), &["--dry-run"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("1 complete (skipped), 1 to redo"), "{err}");
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 1);
    assert_eq!(
        manifests(&dir.path().join("archive")).len(),
        2,
        "dry run writes nothing"
    );
}
