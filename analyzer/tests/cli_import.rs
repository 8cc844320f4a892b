//! `analyzer import` on real logs other tools wrote (`tests/fixtures/
//! powerlogs`, in the repository with their provenance) plus epoch-log
//! fixtures, then the analyzer's own loader
//! and commands on the imported runs.
//!
//! The expected numbers are computed here from the raw files, independently
//! of the importer: the nvidia-smi log's trapezoid (322.3 J over 6.425 s, 65
//! samples) and the pinpoint trace's energy over the training window.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

mod archive_support;

use analyzer::archive::{load, LoadOptions};
use archive_support::{run, run_dirs, s};
use arrow::array::{Array, AsArray, RecordBatch, RecordBatchReader};
use arrow::datatypes::{DataType, Int64Type};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use std::path::{Path, PathBuf};
use trainwatt_trace::{Manifest, Method};

const SMI: &str = "nvidia-smi_flame_resnet18-train_100ms.csv";
const PINPOINT: &str = "pinpoint_nvml-rapl_mnist-keras_run0_100ms.txt";
const CODECARBON: &str = "codecarbon_emissions_lightspec_a100.csv";

/// The real power logs (`tests/fixtures/powerlogs`, see the README there).
fn powerlogs() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/powerlogs");
    assert!(
        dir.join(SMI).is_file(),
        "{} is missing from the clone",
        dir.display()
    );
    dir
}

/// A whole Parquet file as one batch.
fn read_parquet(path: &Path) -> RecordBatch {
    let reader = ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(path).unwrap())
        .unwrap()
        .build()
        .unwrap();
    let schema = reader.schema();
    let batches: Vec<RecordBatch> = reader.map(Result::unwrap).collect();
    arrow::compute::concat_batches(&schema, &batches).unwrap()
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/import")
        .join(name)
}

/// Trapezoid of the nvidia-smi log, straight from its text (local times
/// within one day, so the zone does not matter for differences).
fn smi_reference(text: &str) -> (usize, f64, f64) {
    let rows: Vec<(f64, f64)> = text
        .lines()
        .skip(1)
        .map(|l| {
            let (ts, p) = l.split_once(", ").unwrap();
            let clock = ts.split(' ').nth(1).unwrap();
            let mut hms = clock.split(':').map(|x| x.parse::<f64>().unwrap());
            let t = hms.next().unwrap() * 3600.0 + hms.next().unwrap() * 60.0 + hms.next().unwrap();
            (t, p.trim_end_matches(" W").parse::<f64>().unwrap())
        })
        .collect();
    let e: f64 = rows
        .windows(2)
        .map(|w| (w[0].1 + w[1].1) / 2.0 * (w[1].0 - w[0].0))
        .sum();
    (rows.len(), rows[rows.len() - 1].0 - rows[0].0, e)
}

#[test]
fn nvidia_smi_log_imports_to_65_samples_and_322_joules() {
    let logs = powerlogs();
    let smi = logs.join(SMI);
    let text = std::fs::read_to_string(&smi).unwrap();
    let (n, span, reference_j) = smi_reference(&text);
    assert_eq!(n, 65);
    assert!((span - 6.425).abs() < 1e-6, "{span}");
    assert!((reference_j - 322.3).abs() < 0.1, "{reference_j}");

    let tmp = tempfile::tempdir().unwrap();
    let archive = tmp.path().join("archive");
    let args = [
        "import",
        "--power",
        &format!("nvidia-smi:{}", s(&smi)),
        "--timezone",
        "Europe/Madrid",
        "--epochs",
        &format!("jsonl:{}", s(&fixture("resnet18_steps.jsonl"))),
        "--equal-epochs",
        "start..end",
        "--platform",
        "flame",
        "--dataset",
        "cifar10",
        "--arch",
        "resnet18",
        "--width",
        "1",
        "--out",
        s(&archive),
    ];
    let (ok, out, err) = run(&args);
    assert!(ok, "{err}");
    assert!(
        out.contains("nvml:0: 65 samples, 0.000 .. 6.425 s, 322.3 J (trapezoid)"),
        "{out}"
    );
    assert!(
        out.contains("epochs: 2 from 0.000 to 6.425 s (placed by a rule"),
        "{out}"
    );

    let dirs = run_dirs(&archive);
    assert_eq!(dirs.len(), 1);
    let dir = &dirs[0];
    let rel = dir
        .strip_prefix(&archive)
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        rel.starts_with(
            "platform=flame/dataset=cifar10/arch=resnet18/width=1/run=import-20250424T135857Z-"
        ),
        "{rel}"
    );
    let m = Manifest::read(&dir.join("manifest.json")).unwrap();
    assert_eq!(m.workload.kind, "import");
    assert!(m.epochs_approximate);
    // 15:58:57.879 in Madrid (CEST) is 13:58:57.879 UTC.
    assert_eq!(m.started_at_utc, "2025-04-24T13:58:57.879000000Z");
    assert_eq!(m.sources.len(), 1);
    assert_eq!(m.sources[0].id, "nvml:0");
    assert_eq!(m.sources[0].method, Method::MeasuredPower);
    let imported = m.imported.as_ref().unwrap();
    assert_eq!(imported.tools, ["nvidia-smi", "epochs-jsonl"]);
    assert_eq!(imported.files[0].bytes, text.len() as u64);
    assert_eq!(imported.files[0].sha256.as_ref().unwrap().len(), 64);
    assert_eq!(imported.options["timezone"], "Europe/Madrid");
    assert_eq!(imported.options["epoch_placement"], "equal:start..end");

    // The samples file has the format's columns and types.
    let df = read_parquet(&dir.join("samples/part-000000.parquet"));
    assert_eq!(df.num_rows(), 65);
    let ty = |c: &str| df.column_by_name(c).unwrap().data_type().clone();
    assert_eq!(ty("t_ns"), DataType::Int64);
    assert_eq!(ty("power_w"), DataType::Float32);
    assert_eq!(ty("energy_uj"), DataType::Int64);
    let t = df
        .column_by_name("t_ns")
        .unwrap()
        .as_primitive::<Int64Type>();
    assert_eq!(
        (arrow::compute::min(t), arrow::compute::max(t)),
        (Some(0), Some(6_425_000_000))
    );

    // The analyzer's own loader: integral mode, the whole log in 2 epochs.
    let loaded = load(std::slice::from_ref(&archive), &LoadOptions::default()).unwrap();
    assert!(loaded.excluded.is_empty(), "{:?}", loaded.excluded);
    let r = &loaded.runs[0];
    assert_eq!(r.energy_mode, analyzer::model::EnergyMode::Integral);
    assert_eq!(r.epochs.len(), 2);
    let e = r.epochs[1].energy_j;
    assert!(
        (e - 322.3).abs() < 0.1 && (e - reference_j).abs() < 1e-3,
        "{e} vs {reference_j}"
    );
    assert_eq!(r.epochs[1].test_acc, Some(0.2985));
    assert!(
        r.warnings.iter().any(|w| w.contains("placed by a rule")),
        "{:?}",
        r.warnings
    );

    // And `analyzer epochs` prints Eq. 2 from it.
    let (ok, out, err) = run(&["epochs", s(&archive), "--format", "csv"]);
    assert!(ok, "{err}");
    assert!(
        out.contains("resnet18") && out.lines().count() == 3,
        "{out}"
    );

    // Importing the same files again is refused and changes nothing.
    let (ok, _, err) = run(&args);
    assert!(!ok);
    assert!(err.contains("already exists"), "{err}");
    assert_eq!(run_dirs(&archive), dirs);
}

#[test]
fn pinpoint_trace_imports_1042_samples_per_source_with_keras_epochs() {
    let logs = powerlogs();
    let trace = logs.join(PINPOINT);
    let tmp = tempfile::tempdir().unwrap();
    let archive = tmp.path().join("archive");
    let (ok, out, err) = run(&[
        "import",
        "--power",
        &format!("pinpoint:{}", s(&trace)),
        "--interval",
        "100ms",
        "--epochs",
        &format!("keras:{}", s(&fixture("keras_mnist_cnn_training.log"))),
        "--equal-epochs",
        "20s..end-20s",
        "--platform",
        "gtx970",
        "--dataset",
        "mnist",
        "--arch",
        "cnn",
        "--out",
        s(&archive),
    ]);
    assert!(ok, "{err}");
    assert!(
        out.contains("nvml:nvidia_geforce_gtx_970_0: 1042 samples, 0.100 .. 104.200 s"),
        "{out}"
    );
    assert!(out.contains("rapl:pkg: 1042 samples"), "{out}");
    assert!(out.contains("epochs: 12 from 20.000 to 84.200 s"), "{out}");

    let dir = &run_dirs(&archive)[0];
    let m = Manifest::read(&dir.join("manifest.json")).unwrap();
    let gpu = &m.sources[0];
    assert!((gpu.poll_hz - 10.0).abs() < 1e-9, "{}", gpu.poll_hz);
    assert!(
        m.started_at_utc.is_empty(),
        "pinpoint has no wall-clock time"
    );
    assert_eq!(
        m.imported.as_ref().unwrap().options["interval_ns"],
        100_000_000
    );

    // Reference: trapezoid over rows 199..=841 (t = 20.0 .. 84.2 s) of the
    // additive sources (GPU, package, DRAM; never the cores), from the text.
    let text = std::fs::read_to_string(&trace).unwrap();
    let rows: Vec<Vec<f64>> = text
        .lines()
        .skip(1)
        .map(|l| {
            l.split(',')
                .map(|x| x.parse::<f64>().unwrap() / 1000.0)
                .collect()
        })
        .collect();
    assert_eq!(rows.len(), 1042);
    let total_w = |r: &Vec<f64>| r[0] + r[1] + r[3];
    let reference_j: f64 = (199..841)
        .map(|k| (total_w(&rows[k]) + total_w(&rows[k + 1])) / 2.0 * 0.1)
        .sum();

    let loaded = load(std::slice::from_ref(&archive), &LoadOptions::default()).unwrap();
    assert!(loaded.excluded.is_empty(), "{:?}", loaded.excluded);
    let r = &loaded.runs[0];
    assert_eq!(r.epochs.len(), 12);
    let e = r.epochs[11].energy_j;
    assert!(
        (e - reference_j).abs() < 1e-6 * reference_j,
        "{e} vs {reference_j}"
    );
    assert_eq!(r.epochs[11].test_acc, Some(0.9913333058357239));
    assert!((r.epochs[11].elapsed_s - 64.2).abs() < 1e-9);

    // Only the GPU.
    let gpu_only = LoadOptions {
        components: vec!["gpu".into()],
        ..LoadOptions::default()
    };
    let g = &load(&[archive], &gpu_only).unwrap().runs[0];
    assert!(g.epochs[11].energy_j < e);
}

#[test]
fn lightning_epochs_placed_by_an_epoch_times_file() {
    let logs = powerlogs();
    let tmp = tempfile::tempdir().unwrap();
    let times = tmp.path().join("times.csv");
    std::fs::write(&times, "epoch,start,end\n0,20,40\n1,40.5,60\n2,60,80.25\n").unwrap();
    let archive = tmp.path().join("archive");
    let (ok, out, err) = run(&[
        "import",
        "--power",
        &format!("pinpoint:{}", s(&logs.join(PINPOINT))),
        "--interval",
        "100ms",
        "--epochs",
        &format!("lightning:{}", s(&fixture("lightning_metrics.csv"))),
        "--epoch-times",
        s(&times),
        "--platform",
        "gtx970",
        "--out",
        s(&archive),
    ]);
    assert!(ok, "{err}");
    assert!(out.contains("epochs: 3 from 20.000 to 80.250 s"), "{out}");
    let loaded = load(std::slice::from_ref(&archive), &LoadOptions::default()).unwrap();
    let r = &loaded.runs[0];
    let e: Vec<(i64, i64, Option<f64>, Option<f64>)> = r
        .epochs
        .iter()
        .map(|e| (e.start_ns, e.end_ns, e.train_acc, e.test_acc))
        .collect();
    assert_eq!(
        e,
        [
            (20_000_000_000, 40_000_000_000, Some(0.8611), Some(0.9512)),
            (40_500_000_000, 60_000_000_000, Some(0.958), Some(0.9688)),
            (60_000_000_000, 80_250_000_000, Some(0.9702), Some(0.9741)),
        ]
    );
    let m = &r.manifest;
    assert!(m.epochs_approximate);
    let imp = m.imported.as_ref().unwrap();
    assert_eq!(imp.files.len(), 3);
    assert_eq!(imp.files[2].role, "epoch-times");
    assert_eq!(imp.options["train_acc_column"], "train_acc_epoch");
}

#[test]
fn codecarbon_rows_become_runs_and_rows_for_tables() {
    let logs = powerlogs();
    let tmp = tempfile::tempdir().unwrap();
    let archive = tmp.path().join("archive");
    let rows = tmp.path().join("rows.csv");
    let (ok, out, err) = run(&[
        "import",
        "--codecarbon",
        s(&logs.join(CODECARBON)),
        "--timezone",
        "UTC",
        "--labels",
        s(&fixture("codecarbon_labels.csv")),
        "--rows-out",
        s(&rows),
        "--out",
        s(&archive),
    ]);
    assert!(ok, "{err}");
    let dirs = run_dirs(&archive);
    assert_eq!(dirs.len(), 7);
    assert_eq!(out.matches("imported ").count(), 7, "{out}");

    let first = dirs
        .iter()
        .find(|d| d.ends_with("run=cea50251-c031-4a1a-9b12-a54f326cf0d7"))
        .unwrap();
    assert!(first.to_str().unwrap().contains(
        "platform=NVIDIA-A100-SXM4-40GB/dataset=lightspec/arch=lightspec-encoder/width=1/"
    ));
    let m = Manifest::read(&first.join("manifest.json")).unwrap();
    assert_eq!(m.started_at_utc, "2025-05-30T00:11:39.708310795Z");
    assert_eq!(m.host.cpu_model, "AMD EPYC 7742 64-Core Processor");
    let ids: Vec<(&str, Method)> = m
        .sources
        .iter()
        .map(|s| (s.id.as_str(), s.method))
        .collect();
    assert_eq!(
        ids,
        [
            ("codecarbon:gpu", Method::MeasuredCounter),
            ("codecarbon:cpu", Method::Modelled),
            ("codecarbon:ram", Method::Modelled)
        ]
    );
    assert_eq!(m.imported.as_ref().unwrap().files[0].line, Some(2));
    // Counter readings: 0 at t = 0, the component's kWh (in µJ) at the end.
    let df = read_parquet(&first.join("samples/part-000000.parquet"));
    let e = df
        .column_by_name("energy_uj")
        .unwrap()
        .as_primitive::<Int64Type>();
    assert_eq!(e.null_count(), 0);
    let total_uj: i64 = e.iter().flatten().sum();
    let expected_uj = 0.0174528138527075 * 3.6e12;
    assert!((total_uj as f64 - expected_uj).abs() < 3.0, "{total_uj}");
    assert!(
        out.contains("codecarbon:gpu: 2 samples, 0.000 .. 208.292 s, 39835.4 J (counter)"),
        "{out}"
    );

    // Without epochs the loader leaves them out, saying why.
    let loaded = load(&[archive], &LoadOptions::default()).unwrap();
    assert!(loaded.runs.is_empty());
    assert!(
        loaded.excluded[0].reason.kind == analyzer::archive::ExclusionKind::NoEpochs
            && loaded.excluded[0].reason.message.contains("epochs.parquet")
            && loaded.excluded[0]
                .reason
                .message
                .contains("no epoch log was imported"),
        "{:?}",
        loaded.excluded[0]
    );

    // The rows file feeds `analyzer tables`.
    let text = std::fs::read_to_string(&rows).unwrap();
    assert_eq!(text.lines().count(), 8, "{text}");
    assert!(
        text.lines().nth(1).unwrap().contains(",0.017452813852707"),
        "{text}"
    );
    let (ok, out, err) = run(&["tables", "--rows", s(&rows), "--format", "json"]);
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let models = v["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == "models")
        .unwrap_or_else(|| panic!("{out}"));
    let w1 = models["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["width"] == 1)
        .unwrap_or_else(|| panic!("{models}"));
    // 0.0174528 kWh is 62.830 kJ; Eq. 2 = 0.712 / 62.830 per kJ.
    let energy = w1["energy"].as_f64().unwrap();
    assert!((energy - 62.8301).abs() < 1e-3, "{w1}");
    assert_eq!(w1["accuracy"], 0.712, "{w1}");
    assert!(
        (w1["eff_eq2"].as_f64().unwrap() - 0.712 / energy).abs() < 1e-12,
        "{w1}"
    );
}

#[test]
fn malformed_input_names_file_line_and_column_and_writes_nothing() {
    let logs = powerlogs();
    let tmp = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(logs.join(SMI)).unwrap();
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    lines[40] = lines[40].replace(" W", " Watt?");
    let bad = tmp.path().join("smi.csv");
    std::fs::write(&bad, lines.join("\n")).unwrap();
    let archive = tmp.path().join("archive");
    let (ok, _, err) = run(&[
        "import",
        "--power",
        &format!("nvidia-smi:{}", s(&bad)),
        "--timezone",
        "UTC",
        "--platform",
        "x",
        "--out",
        s(&archive),
    ]);
    assert!(!ok);
    assert!(
        err.contains(&format!(
            "{}: line 41, column 2 (power.draw [W])",
            bad.display()
        )),
        "{err}"
    );
    assert!(!archive.exists(), "nothing may be written");

    // Epochs outside the trace: refused after parsing, still nothing written.
    let (ok, _, err) = run(&[
        "import",
        "--power",
        &format!("nvidia-smi:{}", s(&logs.join(SMI))),
        "--timezone",
        "UTC",
        "--epochs",
        &format!("keras:{}", s(&fixture("keras_mnist_cnn_training.log"))),
        "--equal-epochs",
        "0s..10s",
        "--platform",
        "x",
        "--out",
        s(&archive),
    ]);
    assert!(!ok);
    // 12 epochs of 10/12 s: epoch 8 is the first to end after 6.425 s.
    assert!(err.contains("outside") && err.contains("epoch 8 "), "{err}");
    assert!(!archive.exists());

    // A log without timestamps needs a rule, and local times a zone.
    let (ok, _, err) = run(&[
        "import",
        "--power",
        &format!("nvidia-smi:{}", s(&logs.join(SMI))),
        "--epochs",
        &format!("keras:{}", s(&fixture("keras_mnist_cnn_training.log"))),
        "--out",
        s(&archive),
    ]);
    assert!(!ok && err.contains("--timezone"), "{err}");
    let (ok, _, err) = run(&[
        "import",
        "--power",
        &format!("nvidia-smi:{}", s(&logs.join(SMI))),
        "--timezone",
        "UTC",
        "--epochs",
        &format!("keras:{}", s(&fixture("keras_mnist_cnn_training.log"))),
        "--platform",
        "x",
        "--out",
        s(&archive),
    ]);
    assert!(!ok && err.contains("--equal-epochs"), "{err}");
    assert!(!archive.exists());
}
