//! The Python helper (`python/`, package `trainwatt`) end to end: its own
//! tests pass (Keras and Lightning stood in for
//! by fakes), and a real PyTorch training script that calls it under
//! `recorder wrap` becomes a run whose epochs carry exactly the numbers the
//! script reported, each epoch starting at its `epoch_start` line.
//!
//! Python is `$TRAINWATT_PYTHON` or `python3` on the PATH, which
//! `scripts/setup.sh` makes the venv with PyTorch (the `train` feature
//! builds against that same PyTorch, so the test runs wherever it does).

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

use arrow::array::{Array, AsArray};
use arrow::datatypes::{Float64Type, Int32Type, Int64Type};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use std::path::{Path, PathBuf};
use std::process::Command;
use trainwatt_trace::Manifest;

fn python() -> String {
    std::env::var("TRAINWATT_PYTHON").unwrap_or_else(|_| "python3".into())
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn check(out: &std::process::Output, what: &str) {
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Where the package's pure-Python part is importable from: the
/// checkout's `python/src`. Since the package holds the compiled reducer
/// too (`pip install ./python` builds it with maturin, which the PyTorch
/// venv does not have), the wheel build and the reducer are tested in the
/// test tools' venv instead (analyzer/tests/python_fold.rs); the epoch
/// helpers import without the extension.
fn helper_path() -> PathBuf {
    let site = repo().join("python/src");
    assert!(site.join("trainwatt/__init__.py").exists());
    site
}

/// (epoch, start, end, train_acc, test_acc, train_loss, test_loss).
type Epoch = (i32, i64, i64, f64, f64, f64, f64);

fn epochs(run: &Path) -> Vec<Epoch> {
    let f = std::fs::File::open(run.join("epochs.parquet")).unwrap();
    let mut out = Vec::new();
    for b in ParquetRecordBatchReaderBuilder::try_new(f)
        .unwrap()
        .build()
        .unwrap()
    {
        let b = b.unwrap();
        let f = |name: &str| {
            b.column_by_name(name)
                .unwrap()
                .as_primitive::<Float64Type>()
                .clone()
        };
        let (tra, tea, trl, tel) = (
            f("train_acc"),
            f("test_acc"),
            f("train_loss"),
            f("test_loss"),
        );
        let n = b.column(0).as_primitive::<Int32Type>();
        let s = b.column(1).as_primitive::<Int64Type>();
        let e = b.column(2).as_primitive::<Int64Type>();
        for i in 0..b.num_rows() {
            assert!(!tra.is_null(i) && !tel.is_null(i));
            out.push((
                n.value(i),
                s.value(i),
                e.value(i),
                tra.value(i),
                tea.value(i),
                trl.value(i),
                tel.value(i),
            ));
        }
    }
    out
}

fn run_dir(root: &Path) -> PathBuf {
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        if d.join("manifest.json").exists() {
            return d;
        }
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            if e.path().is_dir() {
                stack.push(e.path());
            }
        }
    }
    panic!("no run under {}", root.display())
}

#[test]
#[cfg_attr(
    not(feature = "train"),
    ignore = "needs PyTorch (the train feature's venv)"
)]
fn a_pytorch_script_reports_its_epochs_through_the_helper() {
    let dir = tempfile::tempdir().unwrap();
    let site = helper_path();
    // The helper's own tests, against the installed copy.
    let out = Command::new(python())
        .arg(repo().join("python/tests/test_trainwatt.py"))
        .env("PYTHONPATH", &site)
        .output()
        .unwrap();
    check(&out, "python/tests/test_trainwatt.py");
    // A real PyTorch run under the recorder.
    let reported = dir.path().join("reported.json");
    let archive = dir.path().join("archive");
    let out = Command::new(env!("CARGO_BIN_EXE_recorder"))
        .args([
            "wrap",
            "--rate",
            "100",
            "--fake-sources",
            "gpu=100",
            "--arch",
            "mlp",
            "--out",
        ])
        .arg(&archive)
        .arg("--")
        .arg(python())
        .arg(repo().join("python/examples/mlp_epochs.py"))
        .arg(&reported)
        .env("PYTHONPATH", &site)
        .output()
        .unwrap();
    check(&out, "recorder wrap -- python mlp_epochs.py");
    let said: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&reported).unwrap()).unwrap();
    let run = run_dir(&archive);
    let got = epochs(&run);
    assert_eq!(got.len(), 3, "{got:?}");
    for (e, r) in got.iter().zip(said.as_array().unwrap()) {
        let num = |k: &str| r[k].as_f64().unwrap();
        assert_eq!(i64::from(e.0), r["epoch"].as_i64().unwrap());
        assert_eq!(
            (e.3, e.4, e.5, e.6),
            (
                num("train_acc"),
                num("test_acc"),
                num("train_loss"),
                num("test_loss")
            )
        );
        assert!(e.1 < e.2, "{e:?}");
    }
    assert!(
        got[2].4 > got[0].4 - 0.05 && got[2].4 > 0.6,
        "did it learn? {got:?}"
    );
    // Each epoch starts at its epoch_start line, after the previous end
    // (and epoch 1 after torch's import, not at the child's start).
    assert!(got[1].1 >= got[0].2 && got[2].1 >= got[1].2, "{got:?}");
    let m = Manifest::read(&run.join("manifest.json")).unwrap();
    assert!(
        !m.warnings.iter().any(|w| w.contains("no epoch_start line")),
        "{:?}",
        m.warnings
    );
    assert!(m.sampler.boundary_reads);
}
