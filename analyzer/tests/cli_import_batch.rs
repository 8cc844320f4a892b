//! `analyzer import` with many runs per command, logs that hold several
//! runs, energy columns, Zeus and carbontracker logs, duplicate inputs, and
//! the import's faults and warnings, through the real binary.
//!
//! Expected values are computed here from the files the tests write (or, for
//! the fixtures, by hand: see `tests/fixtures/import/README.md`), never
//! taken from the importer's output.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

mod archive_support;

use analyzer::archive::{load, LoadOptions};
use analyzer::model::EnergyMode;
use archive_support::{run, run_dirs, s};
use std::path::{Path, PathBuf};
use trainwatt_trace::{Manifest, Method};

const PINPOINT: &str = "pinpoint_nvml-rapl_mnist-keras_run0_100ms.txt";
const SMI: &str = "nvidia-smi_flame_resnet18-train_100ms.csv";

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/import")
        .join(name)
}

fn powerlog(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/powerlogs")
        .join(name)
}

fn manifest(dir: &Path) -> Manifest {
    Manifest::read(&dir.join("manifest.json")).unwrap()
}

// ---------------------------------------------------------------------------
// The case: 20 pinpoint traces and one Keras log that holds an
// aborted run and then 20 runs.

/// Training rows of trace `i` (1-based): 300 + 10 i, between 200 idle rows
/// on each side, one row per 100 ms.
fn train_rows(i: usize) -> usize {
    300 + 10 * i
}

/// Trace `i`'s rows, (GPU, package) in mW.
fn trace_rows(i: usize) -> Vec<[u64; 2]> {
    let train = train_rows(i);
    (0..200 + train + 200)
        .map(|k| {
            if (200..200 + train).contains(&k) {
                [150_000 + 1_000 * i as u64, 40_000]
            } else {
                [20_000, 10_000]
            }
        })
        .collect()
}

/// `val_accuracy` of epoch `e` (0-based) of log run `j` (1-based; 0 is the
/// aborted one), as written into the log.
fn val_acc(j: usize, e: usize) -> String {
    format!("{:.4}", 0.4 + e as f64 / 50.0 + j as f64 / 1000.0)
}

/// Writes `traces/run_{1..=20}.txt` and `all_runs.csv` (an aborted run of 4
/// epochs, then 20 runs of 12) under `dir`.
fn write_twenty(dir: &Path) {
    let traces = dir.join("traces");
    std::fs::create_dir_all(&traces).unwrap();
    for i in 1..=20 {
        let mut text = String::from("nvml:nvidia_geforce_gtx_970_0,rapl:pkg\n");
        for [g, p] in trace_rows(i) {
            text.push_str(&format!("{g},{p}\n"));
        }
        std::fs::write(traces.join(format!("run_{i}.txt")), text).unwrap();
    }
    let mut log = String::from("epoch,accuracy,loss,val_accuracy,val_loss\n");
    for (j, epochs) in std::iter::once((0, 4)).chain((1..=20).map(|j| (j, 12))) {
        for e in 0..epochs {
            log.push_str(&format!(
                "{e},{:.4},{:.4},{},{:.4}\n",
                0.5 + e as f64 / 100.0,
                1.0 / (e as f64 + 1.0),
                val_acc(j, e),
                1.2 / (e as f64 + 1.0)
            ));
        }
    }
    std::fs::write(dir.join("all_runs.csv"), log).unwrap();
}

fn twenty_args(dir: &Path, archive: &Path) -> Vec<String> {
    [
        "import",
        "--power",
        &format!("pinpoint:{}", dir.join("traces/run_{i}.txt").display()),
        "--interval",
        "100ms",
        "--keras",
        s(&dir.join("all_runs.csv")),
        "--equal-epochs",
        "20s..end-20s",
        "--platform",
        "gtx970",
        "--dataset",
        "mnist",
        "--arch",
        "cnn",
        "--out",
        s(archive),
    ]
    .iter()
    .map(|a| a.to_string())
    .collect()
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

#[test]
fn twenty_traces_and_one_log_with_an_aborted_run_import_in_one_command() {
    let tmp = tempfile::tempdir().unwrap();
    write_twenty(tmp.path());
    let archive = tmp.path().join("archive");
    let args = twenty_args(tmp.path(), &archive);
    let (ok, out, err) = run(&strs(&args));
    println!("$ analyzer {}\n{out}{err}", args[..].join(" "));
    assert!(ok, "{err}");
    assert_eq!(
        out.lines().filter(|l| l.starts_with("imported /")).count(),
        20
    );
    assert_eq!(out.lines().last(), Some("imported 20 runs, refused 0"));
    // Each run says where it came from: trace 7 took the log's run 8.
    assert!(
        out.contains(&format!(
            "  from: {} with {} run 8 (lines 78–89 (12 epochs))",
            tmp.path().join("traces/run_7.txt").display(),
            tmp.path().join("all_runs.csv").display()
        )),
        "{out}"
    );
    assert!(
        out.contains(
            "holds 21 runs for 20 traces; run 1 at lines 2–5 (4 epochs) is the only one shorter \
             than the others (12 epochs each), so it is taken for an aborted attempt"
        ),
        "{out}"
    );
    // The 20 runs' identical warnings are one line each on stderr.
    assert_eq!(err.matches("started_at_utc is unknown").count(), 1, "{err}");
    assert!(err.contains("give --start to record it (×20)"), "{err}");

    let dirs = run_dirs(&archive);
    assert_eq!(dirs.len(), 20);
    for dir in &dirs {
        let m = manifest(dir);
        let imp = m.imported.as_ref().unwrap();
        let trace = &imp.files[0].path;
        let j: usize = trace
            .rsplit("run_")
            .next()
            .unwrap()
            .trim_end_matches(".txt")
            .parse()
            .unwrap();
        // Trace j takes log run j + 1: line 1 header, lines 2-5 the
        // aborted run, then 12 lines per run.
        assert_eq!(imp.files[1].line, Some(6 + 12 * (j as u64 - 1)), "{trace}");
        assert_eq!(imp.options["log_run"], j + 1);
        assert_eq!(imp.options["log_runs"], 21);
        assert!(m.epochs_approximate);
    }

    let loaded = load(std::slice::from_ref(&archive), &LoadOptions::default()).unwrap();
    assert!(loaded.excluded.is_empty(), "{:?}", loaded.excluded);
    assert_eq!(loaded.runs.len(), 20);
    let r7 = loaded
        .runs
        .iter()
        .find(|r| {
            r.manifest.imported.as_ref().unwrap().files[0]
                .path
                .ends_with("run_7.txt")
        })
        .unwrap();
    assert_eq!(r7.epochs.len(), 12);
    let expected_acc: f64 = val_acc(7, 11).parse().unwrap();
    assert_eq!(r7.epochs[11].test_acc, Some(expected_acc));
    // Energy through epoch 12: the trapezoid of GPU + package from 20 s
    // (row 199) to the end minus 20 s (the last training row).
    let rows = trace_rows(7);
    let w = |k: usize| (rows[k][0] + rows[k][1]) as f64 / 1000.0;
    let last = 199 + train_rows(7);
    let reference: f64 = (199..last).map(|k| (w(k) + w(k + 1)) / 2.0 * 0.1).sum();
    let e = r7.epochs[11].energy_j;
    assert!(
        (e - reference).abs() < 1e-6 * reference,
        "{e} vs {reference}"
    );
}

#[test]
fn a_shifted_pairing_is_warned_about_and_recorded() {
    let tmp = tempfile::tempdir().unwrap();
    write_twenty(tmp.path());
    let archive = tmp.path().join("archive");
    let mut args = twenty_args(tmp.path(), &archive);
    // Leave out the last run instead of the aborted one: every trace gets
    // the run before its own, and trace 1 the 4-epoch attempt.
    args.extend(["--skip-log-run".to_string(), "21".to_string()]);
    let (ok, out, err) = run(&strs(&args));
    assert!(ok, "{err}");
    assert!(out.contains("run 21 left out by --skip-log-run"), "{out}");
    // Trace 1: 31 s of training (310 rows) for 4 epochs.
    let warning = "run_1.txt: 4 epochs placed on 31.0 s of trace";
    assert!(err.contains(warning), "{err}");
    assert_eq!(err.matches("epochs placed on").count(), 1, "{err}");
    let m = run_dirs(&archive)
        .iter()
        .map(|d| manifest(d))
        .find(|m| {
            m.imported.as_ref().unwrap().files[0]
                .path
                .ends_with("run_1.txt")
        })
        .unwrap();
    assert!(
        m.warnings.iter().any(|w| w.contains(warning)),
        "{:?}",
        m.warnings
    );

    // Neither rule decides when two runs are left over: refused, listing them.
    let tmp2 = tempfile::tempdir().unwrap();
    write_twenty(tmp2.path());
    std::fs::remove_file(tmp2.path().join("traces/run_20.txt")).unwrap();
    let archive2 = tmp2.path().join("archive");
    let (ok, _, err) = run(&strs(&twenty_args(tmp2.path(), &archive2)));
    assert!(!ok);
    assert!(
        err.contains("holds 21 runs (the epoch count restarts at lines 6, 18,")
            && err.contains("and 21 remain for 19 power traces")
            && err.contains("--skip-log-run N"),
        "{err}"
    );
    assert!(!archive2.exists());
}

#[test]
fn warnings_collapse_on_stderr_and_json_stdout_stays_json() {
    let tmp = tempfile::tempdir().unwrap();
    write_twenty(tmp.path());
    let archive = tmp.path().join("archive");
    let (ok, _, err) = run(&strs(&twenty_args(tmp.path(), &archive)));
    assert!(ok, "{err}");
    let (ok, out, err) = run(&["epochs", s(&archive), "--format", "json"]);
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(v["tables"].is_array());
    let rule = "epoch boundaries were placed by a rule (imported trace), not stamped live";
    let line = err
        .lines()
        .find(|l| l.contains(rule))
        .unwrap_or_else(|| panic!("{err}"));
    assert!(line.contains("(×20 runs; the first: "), "{line}");
    assert_eq!(err.matches(rule).count(), 1, "{err}");
    // Text formats leave the warnings to stderr.
    let (ok, out, err) = run(&["epochs", s(&archive), "--format", "markdown"]);
    assert!(ok, "{err}");
    assert!(!out.contains(rule), "{out}");
    assert!(err.contains(rule), "{err}");
    assert!(err.contains("analyzer: 20 runs loaded"), "{err}");
}

// ---------------------------------------------------------------------------
// Pairing by {i}, refusals that do not stop the others, the same files twice.

#[test]
fn files_paired_by_i_refused_runs_do_not_stop_the_others() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    write_twenty(dir);
    for i in 5..=20 {
        std::fs::remove_file(dir.join(format!("traces/run_{i}.txt"))).unwrap();
    }
    let logs = dir.join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    let keras = std::fs::read_to_string(fixture("keras_mnist_cnn_training.log")).unwrap();
    let body: String = keras.lines().skip(1).map(|l| format!("{l}\n")).collect();
    let aborted: String = keras
        .lines()
        .skip(1)
        .take(4)
        .map(|l| format!("{l}\n"))
        .collect();
    let header = keras.lines().next().unwrap();
    for i in [1, 2, 5] {
        std::fs::write(logs.join(format!("log_{i}.csv")), &keras).unwrap();
    }
    std::fs::write(logs.join("log_4.csv"), format!("{header}\n{aborted}{body}")).unwrap();
    let archive = dir.join("archive");
    let args = [
        "import",
        "--power",
        &format!("pinpoint:{}", dir.join("traces/run_{i}.txt").display()),
        "--interval",
        "100ms",
        "--epochs",
        &format!("keras:{}", logs.join("log_{i}.csv").display()),
        "--equal-epochs",
        "20s..end-20s",
        "--platform",
        "gtx970",
        "--out",
        s(&archive),
    ];
    let (ok, out, err) = run(&args);
    assert!(!ok);
    assert!(out.contains("imported 2 runs, refused 3:"), "{out}");
    let t = |i: usize| {
        dir.join(format!("traces/run_{i}.txt"))
            .display()
            .to_string()
    };
    let l = |i: usize| logs.join(format!("log_{i}.csv")).display().to_string();
    assert!(
        out.contains(&format!(
            "  refused {}: no epoch log {} for {{i}} = 3",
            t(3),
            l(3)
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "  refused {}: {} holds 2 runs (the epoch count restarts at line 6): run 1 lines 2–5 \
             (4 epochs), run 2 lines 6–17 (12 epochs): import one with --log-run N",
            t(4),
            l(4)
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!("  refused {}: no power file for {{i}} = 5", l(5))),
        "{out}"
    );
    assert!(
        err.contains("error: 3 of 5 inputs refused (listed above); the other 2 runs were imported"),
        "{err}"
    );
    let dirs = run_dirs(&archive);
    assert_eq!(dirs.len(), 2);

    // Again, under other labels: the two runs are refused by content.
    let mut again: Vec<&str> = args.to_vec();
    let platform = again.len() - 3;
    again[platform] = "other-platform";
    let (ok, out, _) = run(&again);
    assert!(!ok);
    assert!(out.contains("imported 0 runs, refused 5:"), "{out}");
    assert_eq!(
        out.matches("an import of the same input files").count(),
        2,
        "{out}"
    );
    for d in &dirs {
        assert!(
            out.contains(&format!("already exists: {}", d.display())),
            "{out}"
        );
    }
    assert_eq!(run_dirs(&archive), dirs);
}

#[test]
fn one_trace_and_a_log_of_two_runs_needs_log_run() {
    let tmp = tempfile::tempdir().unwrap();
    let keras = std::fs::read_to_string(fixture("keras_mnist_cnn_training.log")).unwrap();
    let mut lines = keras.lines();
    let header = lines.next().unwrap();
    let rows: Vec<&str> = lines.collect();
    let log = tmp.path().join("appended.csv");
    std::fs::write(
        &log,
        format!("{header}\n{}\n{}\n", rows[..4].join("\n"), rows.join("\n")),
    )
    .unwrap();
    let archive = tmp.path().join("archive");
    let base = [
        "import",
        "--power",
        &format!("pinpoint:{}", s(&powerlog(PINPOINT))),
        "--interval",
        "100ms",
        "--keras",
        s(&log),
        "--equal-epochs",
        "20s..end-20s",
        "--platform",
        "gtx970",
        "--out",
        s(&archive),
    ];
    let (ok, _, err) = run(&base);
    assert!(!ok);
    assert!(
        err.contains(
            "holds 2 runs (the epoch count restarts at line 6): run 1 lines 2–5 (4 epochs), \
             run 2 lines 6–17 (12 epochs): import one with --log-run N"
        ),
        "{err}"
    );
    assert!(!err.contains("where 4 was expected"), "{err}");
    assert!(!archive.exists());

    let mut pick = base.to_vec();
    pick.extend(["--log-run", "2"]);
    let (ok, out, err) = run(&pick);
    assert!(ok, "{err}");
    assert!(out.contains("epochs: 12 from 20.000 to 84.200 s"), "{out}");
    let m = manifest(&run_dirs(&archive)[0]);
    let imp = m.imported.as_ref().unwrap();
    assert_eq!(imp.files[1].line, Some(6));
    assert_eq!(imp.options["log_run"], 2);
    let loaded = load(&[archive], &LoadOptions::default()).unwrap();
    assert_eq!(loaded.runs[0].epochs[11].test_acc, Some(0.9913333058357239));
}

#[test]
fn the_same_files_under_other_labels_are_refused_by_content() {
    let tmp = tempfile::tempdir().unwrap();
    let archive = tmp.path().join("archive");
    let smi = format!("nvidia-smi:{}", s(&powerlog(SMI)));
    let args = |platform: &'static str| {
        vec![
            "import".to_string(),
            "--power".into(),
            smi.clone(),
            "--timezone".into(),
            "UTC".into(),
            "--platform".into(),
            platform.into(),
            "--out".into(),
            s(&archive).into(),
        ]
    };
    let (ok, _, err) = run(&strs(&args("a")));
    assert!(ok, "{err}");
    let first = run_dirs(&archive);
    assert_eq!(first.len(), 1);
    let (ok, _, err) = run(&strs(&args("b")));
    assert!(!ok);
    assert!(
        err.contains(&format!(
            "an import of the same input files (same SHA-256, whatever the labels) already \
             exists: {}; give --run-id",
            first[0].display()
        )),
        "{err}"
    );
    assert_eq!(run_dirs(&archive), first);
    let mut on_purpose = args("b");
    on_purpose.extend(["--run-id".into(), "again".into()]);
    let (ok, _, err) = run(&strs(&on_purpose));
    assert!(ok, "{err}");
    assert_eq!(run_dirs(&archive).len(), 2);
}

// ---------------------------------------------------------------------------
// Energy columns, Zeus, carbontracker.

#[test]
fn energy_columns_one_per_gpu_become_counter_sources() {
    let tmp = tempfile::tempdir().unwrap();
    // GPU 0: a running total, 1000 J + 250 J per second; GPU 1: 120 J per
    // row, the energy since the previous row (the first row sets the start).
    let mut csv = String::from("t_s,gpu0_energy_j,gpu1_energy_j\n");
    for k in 0..=10 {
        let per_row = if k == 0 { 0 } else { 120 };
        csv.push_str(&format!("{k},{},{per_row}\n", 1000 + 250 * k));
    }
    let power = tmp.path().join("energy.csv");
    std::fs::write(&power, csv).unwrap();
    let epochs = tmp.path().join("epochs.jsonl");
    std::fs::write(
        &epochs,
        "{\"epoch\": 1, \"test_acc\": 0.5, \"start\": 0, \"end\": 5}\n\
         {\"epoch\": 2, \"test_acc\": 0.6, \"start\": 5, \"end\": 10}\n",
    )
    .unwrap();
    let archive = tmp.path().join("archive");
    let (ok, out, err) = run(&[
        "import",
        "--power",
        &format!("csv:{}", s(&power)),
        "--energy-col",
        "gpu0_energy_j:cumulative,gpu1_energy_j:per-row",
        "--energy-unit",
        "J",
        "--domain",
        "gpu",
        "--epochs",
        &format!("jsonl:{}", s(&epochs)),
        "--platform",
        "box",
        "--out",
        s(&archive),
    ]);
    assert!(ok, "{err}");
    assert!(
        out.contains("csv:gpu0_energy_j: 11 samples, 0.000 .. 10.000 s, 2500.0 J (counter)"),
        "{out}"
    );
    assert!(
        out.contains("csv:gpu1_energy_j: 11 samples, 0.000 .. 10.000 s, 1200.0 J (counter)"),
        "{out}"
    );
    let m = manifest(&run_dirs(&archive)[0]);
    assert!(m
        .sources
        .iter()
        .all(|s| s.method == Method::MeasuredCounter));
    assert_eq!(m.sources[1].settings["energy_kind"], "per-row");
    let loaded = load(std::slice::from_ref(&archive), &LoadOptions::default()).unwrap();
    let r = &loaded.runs[0];
    assert_eq!(r.energy_mode, EnergyMode::Counter);
    // Epoch 1: 5 × 250 + 5 × 120 J; through epoch 2: twice that.
    assert!(
        (r.epochs[0].energy_j - 1850.0).abs() < 1e-6,
        "{}",
        r.epochs[0].energy_j
    );
    assert!(
        (r.epochs[1].energy_j - 3700.0).abs() < 1e-6,
        "{}",
        r.epochs[1].energy_j
    );

    // An energy column given as power is read, with a warning that says so.
    let (ok, _, err) = run(&[
        "import",
        "--power",
        &format!("csv:{}", s(&power)),
        "--power-col",
        "gpu1_energy_j",
        "--domain",
        "gpu",
        "--platform",
        "box",
        "--dry-run",
        "--out",
        s(&tmp.path().join("dry")),
    ]);
    assert!(ok, "{err}");
    assert!(
        err.contains(&format!(
            "warning: {}: column `gpu1_energy_j` is read as power (--power-col) but its name \
             says energy",
            power.display()
        )),
        "{err}"
    );
}

#[test]
fn zeus_windows_give_counters_and_exact_epochs() {
    let tmp = tempfile::tempdir().unwrap();
    let archive = tmp.path().join("archive");
    let zeus = fixture("zeus_monitor_epochs.csv");
    let keras = fixture("keras_mnist_cnn_training.log");
    let base = [
        "import",
        "--zeus",
        s(&zeus),
        "--keras",
        s(&keras),
        "--platform",
        "a100x2",
        "--out",
        s(&archive),
    ];
    // The step window nests in the first epoch window.
    let (ok, _, err) = run(&base);
    assert!(!ok);
    assert!(
        err.contains("window 'step' (line 2) overlaps window 'epoch' (line 3)")
            && err.contains("--zeus-window NAME"),
        "{err}"
    );
    let mut epochs_only = base.to_vec();
    epochs_only.extend(["--zeus-window", "epoch"]);
    let (ok, out, err) = run(&epochs_only);
    assert!(ok, "{err}");
    // 12 windows with 0.25 s between them: 24 readings per GPU.
    assert!(
        out.contains("zeus:gpu0: 24 samples, 0.000 .. 65.750 s, 16260.0 J (counter)"),
        "{out}"
    );
    assert!(
        out.contains("zeus:gpu1: 24 samples, 0.000 .. 65.750 s, 8136.0 J (counter)"),
        "{out}"
    );
    assert!(
        out.contains("epochs: 12 from 0.000 to 65.750 s (on the power log's windows)"),
        "{out}"
    );
    assert!(err.contains("the Zeus windows leave"), "{err}");
    let m = manifest(&run_dirs(&archive)[0]);
    assert!(!m.epochs_approximate);
    assert_eq!(m.started_at_utc, "2024-05-31T16:08:37.250000000Z");
    let loaded = load(std::slice::from_ref(&archive), &LoadOptions::default()).unwrap();
    let r = &loaded.runs[0];
    assert_eq!(r.energy_mode, EnergyMode::Counter);
    assert_eq!(
        (r.epochs[0].start_ns, r.epochs[0].end_ns),
        (0, 5_250_000_000)
    );
    // Epoch 1: 1300 + 650.5 J; all 12: 16260 + 8136 J.
    assert!(
        (r.epochs[0].energy_j - 1950.5).abs() < 1e-6,
        "{}",
        r.epochs[0].energy_j
    );
    assert!(
        (r.epochs[11].energy_j - 24396.0).abs() < 1e-6,
        "{}",
        r.epochs[11].energy_j
    );
    assert_eq!(r.epochs[11].test_acc, Some(0.9913333058357239));
}

#[test]
fn carbontracker_epochs_give_counters_per_device() {
    let tmp = tempfile::tempdir().unwrap();
    let archive = tmp.path().join("archive");
    let (ok, out, err) = run(&[
        "import",
        "--carbontracker",
        s(&fixture("carbontracker_std.log")),
        "--timezone",
        "Europe/Copenhagen",
        "--epochs",
        &format!("lightning:{}", s(&fixture("lightning_metrics.csv"))),
        "--platform",
        "rtx3090",
        "--out",
        s(&archive),
    ]);
    assert!(ok, "{err}");
    // Epoch 1 starts 11.73 s before 09:30:13 (09:30:01.27); epoch 3 ends
    // at 09:30:37: 35.73 s later.
    assert!(
        out.contains("carbontracker:gpu:0: 6 samples, 0.000 .. 35.730 s, 10642.6 J (counter)"),
        "{out}"
    );
    assert!(
        out.contains("carbontracker:cpu:0: 6 samples, 0.000 .. 35.730 s, 2298.2 J (counter)"),
        "{out}"
    );
    assert!(
        out.contains(
            "epochs: 3 from 0.000 to 35.730 s (on the power log's windows, stamped to the \
             second: approximate)"
        ),
        "{out}"
    );
    let m = manifest(&run_dirs(&archive)[0]);
    assert_eq!(m.started_at_utc, "2024-05-14T07:30:01.270000000Z");
    assert_eq!(m.host.gpus[0].name, "NVIDIA GeForce RTX 3090");
    assert!(m.epochs_approximate);
    let loaded = load(std::slice::from_ref(&archive), &LoadOptions::default()).unwrap();
    let r = &loaded.runs[0];
    assert_eq!(r.energy_mode, EnergyMode::Counter);
    // 301.25 × 11.73 + 305.5 × 11.8 + 299.75 × 11.69 (GPU) and
    // 65.5 × 11.73 + 66 × 11.8 + 64.25 × 11.69 (CPU).
    let expected = 10642.64 + 2298.1975;
    assert!(
        (r.epochs[2].energy_j - expected).abs() < 1e-3,
        "{}",
        r.epochs[2].energy_j
    );
    assert_eq!(r.epochs[2].test_acc, Some(0.9741));
}

// ---------------------------------------------------------------------------
// Smaller things and import faults.

#[test]
fn help_and_pinpoint_agree_on_where_relative_times_count_from() {
    let (ok, out, _) = run(&["import", "--help"]);
    assert!(ok);
    assert!(out.contains("count from the run's zero"), "{out}");
    assert!(
        !out.contains("count from the run's first power sample"),
        "{out}"
    );
    // pinpoint's first row is at 0.1 s: an epoch from 0.1 s to 0.2 s starts
    // on it (were times counted from the first sample, it would be 0.2 s).
    let tmp = tempfile::tempdir().unwrap();
    let times = tmp.path().join("t.csv");
    std::fs::write(&times, "epoch,start,end\n0,0.1,0.2\n").unwrap();
    let log = tmp.path().join("k.csv");
    std::fs::write(&log, "epoch,accuracy\n0,0.5\n").unwrap();
    let (ok, out, err) = run(&[
        "import",
        "--power",
        &format!("pinpoint:{}", s(&powerlog(PINPOINT))),
        "--interval",
        "100ms",
        "--keras",
        s(&log),
        "--epoch-times",
        s(&times),
        "--platform",
        "gtx970",
        "--dry-run",
        "--out",
        s(&tmp.path().join("archive")),
    ]);
    assert!(ok, "{err}");
    assert!(out.contains("epochs: 1 from 0.100 to 0.200 s"), "{out}");
}

#[test]
fn small_things_json_codecarbon_no_epochs_zero_accuracy_and_one_run() {
    let tmp = tempfile::tempdir().unwrap();
    // A JSON file given to --codecarbon: named, not dumped.
    let json = tmp.path().join("emissions.json");
    let filler = "x".repeat(20_000);
    std::fs::write(
        &json,
        format!("[{{\"run_id\": \"r\", \"note\": \"{filler}\"}}]\n"),
    )
    .unwrap();
    let (ok, _, err) = run(&[
        "import",
        "--codecarbon",
        s(&json),
        "--timezone",
        "UTC",
        "--out",
        s(&tmp.path().join("a")),
    ]);
    assert!(!ok);
    assert!(
        err.contains("looks like JSON") && err.contains("--codecarbon expects"),
        "{err}"
    );
    assert!(err.len() < 800, "{} bytes: {err}", err.len());

    // No epoch log: said at import.
    let archive = tmp.path().join("archive");
    let smi = format!("nvidia-smi:{}", s(&powerlog(SMI)));
    let (ok, _, err) = run(&[
        "import",
        "--power",
        &smi,
        "--timezone",
        "UTC",
        "--platform",
        "x",
        "--out",
        s(&archive),
    ]);
    assert!(ok, "{err}");
    assert!(err.contains("warning: no epoch log was imported"), "{err}");

    // An accuracy column of zeros (a placeholder).
    let log = tmp.path().join("zeros.csv");
    std::fs::write(&log, "epoch,accuracy,val_accuracy\n0,0.5,0\n1,0.6,0.0\n").unwrap();
    let archive2 = tmp.path().join("archive2");
    let (ok, _, err) = run(&[
        "import",
        "--power",
        &smi,
        "--timezone",
        "UTC",
        "--keras",
        s(&log),
        "--equal-epochs",
        "start..end",
        "--platform",
        "x",
        "--out",
        s(&archive2),
    ]);
    assert!(ok, "{err}");
    assert!(
        err.contains(&format!(
            "warning: {}: lines 2–3 (2 epochs): accuracy column `val_accuracy` is 0 in all 2 \
             epochs (a placeholder?)",
            log.display()
        )),
        "{err}"
    );
    // One run: "1 run".
    let (ok, _, err) = run(&["epochs", s(&archive2), "--format", "csv"]);
    assert!(ok, "{err}");
    assert!(err.contains("analyzer: 1 run loaded, 0 excluded"), "{err}");
}

#[test]
fn import_faults_name_the_separator_the_line_and_the_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let out_dir = tmp.path().join("archive");
    // Semicolons.
    let semi = tmp.path().join("gpu.csv");
    std::fs::write(&semi, "t_s;power_w\n0;120,5\n1;121,0\n").unwrap();
    let (ok, _, err) = run(&[
        "import",
        "--power",
        &format!("csv:{}", s(&semi)),
        "--domain",
        "gpu",
        "--platform",
        "x",
        "--out",
        s(&out_dir),
    ]);
    assert!(!ok);
    assert!(
        err.contains(&format!(
            "{}: line 1: the header 't_s;power_w' is separated by semicolons",
            semi.display()
        )) && err.contains("sed 's/,/./g; s/;/,/g'"),
        "{err}"
    );
    // An absurd row: 9 kW on line 4 of a pinpoint trace.
    let trace = tmp.path().join("p.txt");
    std::fs::write(&trace, "nvml:gpu_0\n100000\n100000\n9000000\n100000\n").unwrap();
    let (ok, _, err) = run(&[
        "import",
        "--power",
        &format!("pinpoint:{}", s(&trace)),
        "--interval",
        "1s",
        "--platform",
        "x",
        "--dry-run",
        "--out",
        s(&out_dir),
    ]);
    assert!(ok, "{err}");
    assert!(
        err.contains(&format!(
            "warning: {}: line 4: 1 reading(s) of `nvml:gpu_0` above 5 kW",
            trace.display()
        )),
        "{err}"
    );
    // nvidia-smi rows without a reading: said on stderr, not only in the manifest.
    let smi = tmp.path().join("smi.csv");
    let text = std::fs::read_to_string(powerlog(SMI)).unwrap();
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    for k in [10, 11] {
        let (ts, _) = lines[k].split_once(", ").unwrap();
        lines[k] = format!("{ts}, [N/A]");
    }
    std::fs::write(&smi, lines.join("\n")).unwrap();
    let (ok, _, err) = run(&[
        "import",
        "--power",
        &format!("nvidia-smi:{}", s(&smi)),
        "--timezone",
        "UTC",
        "--platform",
        "x",
        "--dry-run",
        "--out",
        s(&out_dir),
    ]);
    assert!(ok, "{err}");
    assert!(
        err.contains(&format!(
            "warning: {}: 2 row(s) without a power reading ([N/A] or similar) skipped, the first on line 11",
            smi.display()
        )),
        "{err}"
    );
    // --out naming a file.
    let file = tmp.path().join("not-a-folder");
    std::fs::write(&file, "x").unwrap();
    let (ok, _, err) = run(&[
        "import",
        "--power",
        &format!("nvidia-smi:{}", s(&smi)),
        "--timezone",
        "UTC",
        "--out",
        s(&file),
    ]);
    assert!(!ok);
    assert!(err.contains("--out must be a folder"), "{err}");
}
