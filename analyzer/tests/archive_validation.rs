//! The reader's checks: every problem that makes a number wrong excludes the
//! run with a reason naming the file and row; harmless differences (extra
//! columns, a plain-string source column) load unchanged; unfinished runs
//! are used up to their last covered epoch and flagged.
#![allow(clippy::unwrap_used)]

mod archive_support;

use analyzer::archive::{load, LoadOptions, Loaded};
use analyzer::model::EnergyMode;
use archive_support::*;
use std::path::{Path, PathBuf};
use trainwatt_trace::{Method, RunStatus};

/// A clean 1 kHz, 100 W GPU run with 4 epochs of 1 s from 0.5 s.
fn clean() -> RunSpec {
    clean_gpu_run()
}

fn load_dir(dir: &Path) -> Loaded {
    load(&[dir.to_path_buf()], &LoadOptions::default()).unwrap()
}

/// Loads `dir`, expects it excluded, returns the reason as `[kind] message`
/// (the kind's stable code, so tests match on it as scripts do).
#[track_caller]
fn excluded(dir: &Path, opts: &LoadOptions) -> String {
    let loaded = load(&[dir.to_path_buf()], opts).unwrap();
    assert!(loaded.runs.is_empty(), "expected exclusion, got a run");
    assert_eq!(loaded.excluded.len(), 1);
    assert_eq!(loaded.excluded[0].dir, dir);
    assert!(!loaded.warnings.is_empty());
    let r = &loaded.excluded[0].reason;
    format!("[{}] {}", r.kind.code(), r.message)
}

#[track_caller]
fn assert_has(reason: &str, parts: &[&str]) {
    for p in parts {
        assert!(reason.contains(p), "`{p}` not in: {reason}");
    }
}

fn write(spec: &RunSpec, tmp: &tempfile::TempDir, name: &str) -> PathBuf {
    spec.write(&tmp.path().join(name))
}

#[test]
fn clean_run_loads_and_extra_columns_and_plain_strings_change_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let base = load_dir(&write(&clean(), &tmp, "base"));
    assert_eq!(base.runs.len(), 1, "{:?}", base.excluded);
    let mut spec = clean();
    spec.extra_columns = true;
    spec.layout = SourceColumn::Plain;
    let other = load_dir(&write(&spec, &tmp, "extra"));
    assert_eq!(other.runs.len(), 1, "{:?}", other.excluded);
    assert_eq!(base.runs[0].epochs, other.runs[0].epochs);
    assert_close(base.runs[0].epochs[3].energy_j, 400.0, "E(4)");

    // A later segment with a column the first one lacks (a newer writer).
    let spec = clean().segmented(2_000);
    let dir = write(&spec, &tmp, "mixed");
    let seg = dir.join("samples/part-000001.parquet");
    write_samples(&seg, &spec.segments[1], SourceColumn::Dictionary, true);
    let mixed = load_dir(&dir);
    assert_eq!(mixed.runs.len(), 1, "{:?}", mixed.excluded);
    assert_eq!(base.runs[0].epochs, mixed.runs[0].epochs);
}

#[test]
fn nan_power_is_excluded_with_file_and_row() {
    let tmp = tempfile::tempdir().unwrap();
    let mut spec = clean().segmented(2_000);
    spec.segments[1][5].power_w = Some(f32::NAN);
    let reason = excluded(&write(&spec, &tmp, "nan"), &LoadOptions::default());
    assert_has(
        &reason,
        &[
            "[sample:power-not-finite]",
            "part-000001.parquet row 5",
            "power_w is NaN",
            "nvml:0",
        ],
    );
}

#[test]
fn negative_and_absurd_watts_are_excluded() {
    let tmp = tempfile::tempdir().unwrap();
    let mut spec = clean();
    spec.segments[0][1200].power_w = Some(-3.0);
    spec.segments[0][1300].power_w = Some(90_000.0);
    let reason = excluded(&write(&spec, &tmp, "w"), &LoadOptions::default());
    assert_has(&reason, &["row 1200", "negative", "row 1300", "plausible"]);
}

#[test]
fn backwards_clock_and_decreasing_counter_are_excluded() {
    let tmp = tempfile::tempdir().unwrap();
    let mut spec = clean();
    spec.segments[0][2000].t_ns -= 10 * MS;
    let reason = excluded(&write(&spec, &tmp, "clock"), &LoadOptions::default());
    assert_has(
        &reason,
        &[
            "[sample:backwards-clock]",
            "part-000000.parquet row 2000",
            "clock went backwards",
        ],
    );

    let mut spec = clean();
    spec.segments[0][2500].energy_uj = Some(5);
    let reason = excluded(&write(&spec, &tmp, "counter"), &LoadOptions::default());
    assert_has(
        &reason,
        &[
            "[sample:counter-decreased]",
            "row 2500",
            "below the previous reading",
        ],
    );
}

#[test]
fn gap_inside_the_epochs_is_excluded_but_not_before_them() {
    let tmp = tempfile::tempdir().unwrap();
    let mut spec = clean();
    spec.segments[0].retain(|s| !(2 * S..4 * S).contains(&s.t_ns));
    let reason = excluded(&write(&spec, &tmp, "gap"), &LoadOptions::default());
    assert_has(
        &reason,
        &["[sample:gap]", "no sample for 2.001 s", "tolerance 1.000 s"],
    );
    let lenient = LoadOptions {
        gap_tolerance_s: 5.0,
        ..LoadOptions::default()
    };
    let loaded = load(&[tmp.path().join("gap")], &lenient).unwrap();
    assert_eq!(loaded.runs.len(), 1, "{:?}", loaded.excluded);
}

#[test]
fn epoch_problems_are_excluded_with_rows() {
    let tmp = tempfile::tempdir().unwrap();
    let mut spec = clean();
    spec.epochs[2].epoch = 4;
    spec.epochs[3].end_ns = spec.epochs[3].start_ns;
    let reason = excluded(&write(&spec, &tmp, "numbering"), &LoadOptions::default());
    assert_has(
        &reason,
        &[
            "[epochs]",
            "epochs.parquet row 2: epoch 4 where 3 was expected",
            "epochs.parquet row 3: end_ns",
        ],
    );

    let mut spec = clean();
    spec.epochs[1].start_ns -= S / 2;
    let reason = excluded(&write(&spec, &tmp, "overlap"), &LoadOptions::default());
    assert_has(&reason, &["row 1", "before the previous epoch's end_ns"]);

    let mut spec = clean();
    spec.epochs[0].test_acc = Some(f64::NAN);
    let reason = excluded(&write(&spec, &tmp, "acc"), &LoadOptions::default());
    assert_has(&reason, &["row 0", "test_acc NaN"]);

    let dir = write(&clean(), &tmp, "missing");
    std::fs::remove_file(dir.join("epochs.parquet")).unwrap();
    let reason = excluded(&dir, &LoadOptions::default());
    assert_has(&reason, &["[no-epochs]", "epochs.parquet: missing"]);

    let mut spec = clean();
    spec.epochs.clear();
    let reason = excluded(&write(&spec, &tmp, "empty"), &LoadOptions::default());
    assert_has(&reason, &["[no-epochs]", "no epoch rows"]);
}

#[test]
fn unknown_major_version_is_excluded_clearly() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = write(&clean(), &tmp, "v2");
    let path = dir.join("manifest.json");
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    v["schema_version"] = "2.0".into();
    std::fs::write(&path, v.to_string()).unwrap();
    let reason = excluded(&dir, &LoadOptions::default());
    assert_has(
        &reason,
        &[
            "[manifest]",
            "schema_version 2.0",
            "manifest.json",
            "upgrade",
        ],
    );
}

#[test]
fn unfinished_runs_use_covered_epochs_and_complete_ones_are_excluded() {
    let tmp = tempfile::tempdir().unwrap();
    // Samples stop at 3.2 s: epochs 1 and 2 (ending 1.5 s, 2.5 s) are covered.
    let mut spec = clean();
    spec.segments[0].retain(|s| s.t_ns <= 3_200 * MS);
    spec.manifest.status = RunStatus::Running;
    let loaded = load_dir(&write(&spec, &tmp, "killed"));
    let run = &loaded.runs[0];
    assert_eq!(run.epochs.len(), 2);
    assert_close(run.epochs[1].energy_j, 200.0, "E(2)");
    let w = run.warnings.join(" | ");
    assert_has(
        &w,
        &[
            "status is `running`",
            "before epoch 3 ends",
            "using epochs 1..2",
        ],
    );

    spec.manifest.status = RunStatus::Complete;
    let reason = excluded(&write(&spec, &tmp, "short"), &LoadOptions::default());
    assert_has(
        &reason,
        &["[coverage]", "status is complete", "before epoch 3 ends"],
    );

    // A killed recorder may leave a torn last segment.
    let mut spec = clean().segmented(2_000);
    spec.manifest.status = RunStatus::Interrupted;
    let dir = write(&spec, &tmp, "torn");
    std::fs::write(dir.join("samples/part-000002.parquet"), b"PAR1 torn").unwrap();
    let loaded = load_dir(&dir);
    assert_eq!(
        loaded.runs[0].epochs.len(),
        3,
        "{:?}",
        loaded.runs[0].warnings
    );
    assert_has(
        &loaded.runs[0].warnings.join(" | "),
        &["part-000002.parquet: unreadable", "interrupted"],
    );
}

#[test]
fn forced_counter_mode_without_counters_is_excluded() {
    let tmp = tempfile::tempdir().unwrap();
    let mut spec = clean();
    spec.manifest.sources[0].method = Method::MeasuredPower;
    let dir = write(&spec, &tmp, "p");
    let opts = LoadOptions {
        energy: Some(EnergyMode::Counter),
        ..LoadOptions::default()
    };
    let reason = excluded(&dir, &opts);
    assert_has(
        &reason,
        &["[energy-mode]", "counter", "nvml:0", "no counter"],
    );
}

#[test]
fn problems_after_the_epochs_only_warn_and_bad_paths_error() {
    let tmp = tempfile::tempdir().unwrap();
    let mut spec = clean();
    spec.segments[0][4_900].power_w = Some(f32::NAN);
    let loaded = load_dir(&write(&spec, &tmp, "late"));
    assert_eq!(loaded.runs.len(), 1, "{:?}", loaded.excluded);
    assert_has(
        &loaded.runs[0].warnings.join(" | "),
        &["outside the epochs", "row 4900"],
    );

    let err = load(&[tmp.path().join("nope")], &LoadOptions::default()).unwrap_err();
    assert!(err.to_string().contains("nope"), "{err}");
}
