//! A round trip through both binaries: `recorder wrap` records a child that
//! writes epoch lines while a fake counter source draws a known constant
//! power, then `analyzer epochs` reads the run back. The energy up to the
//! end of each epoch must equal power × (end of epoch i − start of epoch 1)
//! (SPEC §2) within the meter's and the clock's resolution: 1 µJ of counter
//! rounding at each of the two reads around a boundary, 1 ns of clock.
//!
//! The recorder is its real binary (`CARGO_BIN_EXE_recorder`). The analyzer
//! binary belongs to another package, so cargo gives no path to a build of
//! it that is sure to be current; instead this test executable runs itself
//! as the analyzer (`TRAINWATT_ROUNDTRIP_AS=analyzer`), calling
//! `analyzer::cli::main()`, the one function `analyzer`'s `main.rs` calls.
//! Hence `harness = false`: `main` decides which of the two it is.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test

use arrow::array::{Array, Int32Array, Int64Array};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

const AS_ENV: &str = "TRAINWATT_ROUNDTRIP_AS";
/// The fake source's power: a value with a fractional part, in whole mW.
const POWER_W: f64 = 123.456;
/// Two counter reads of ±0.5 µJ rounding each, plus 2 ns of clock at POWER_W.
const TOLERANCE_J: f64 = 2e-6 + POWER_W * 2e-9;

/// Three epochs of different length; the child writes each line when its
/// epoch ends, with `>>` as the protocol asks.
const CHILD: &str = r#"
log="$TRAINWATT_EPOCH_LOG"
sleep 0.25; echo '{"epoch":1,"train_acc":0.50,"test_acc":0.40,"train_loss":1.5}' >> "$log"
sleep 0.45; echo '{"epoch":2,"train_acc":0.70,"test_acc":0.60,"train_loss":0.9}' >> "$log"
sleep 0.15; echo '{"epoch":3,"train_acc":0.80,"test_acc":0.65,"train_loss":0.6}' >> "$log"
"#;

fn main() -> ExitCode {
    if std::env::var(AS_ENV).as_deref() == Ok("analyzer") {
        return analyzer::cli::main();
    }
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--list") {
        // `cargo test -- --list`: one test, never ignored.
        if !args.iter().any(|a| a == "--ignored") {
            println!("recorder_wrap_then_analyzer_epochs: test");
        }
        return ExitCode::SUCCESS;
    }
    if args.iter().any(|a| a == "--ignored") {
        println!("roundtrip: no ignored tests");
        return ExitCode::SUCCESS;
    }
    recorder_wrap_then_analyzer_epochs();
    println!("test recorder_wrap_then_analyzer_epochs ... ok");
    println!("\ntest result: ok. 1 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out");
    ExitCode::SUCCESS
}

fn recorder_wrap_then_analyzer_epochs() {
    let dir = tempfile::tempdir().unwrap();
    let run = record(dir.path());
    let epochs = epoch_bounds(&run);
    assert_eq!(
        epochs.iter().map(|e| e.0).collect::<Vec<_>>(),
        [1, 2, 3],
        "epochs recorded: {epochs:?}"
    );
    let energy_j = analyzer_energy_j(dir.path());
    assert_eq!(energy_j.len(), 3, "analyzer rows: {energy_j:?}");
    let start1_ns = epochs[0].1;
    for ((epoch, _, end_ns), (row_epoch, got_j)) in epochs.iter().zip(&energy_j) {
        assert_eq!(epoch, row_epoch);
        let want_j = POWER_W * (end_ns - start1_ns) as f64 / 1e9;
        let err_j = (got_j - want_j).abs();
        println!("epoch {epoch}: analyzer {got_j:.9} J, P × t {want_j:.9} J, |Δ| {err_j:.2e} J");
        assert!(
            err_j <= TOLERANCE_J,
            "epoch {epoch}: analyzer says {got_j} J, {POWER_W} W × {} ns is {want_j} J \
             (|Δ| {err_j:e} J > {TOLERANCE_J:e} J)",
            end_ns - start1_ns
        );
    }
}

/// `recorder wrap` with the fake counter source; returns the run folder.
fn record(out: &Path) -> PathBuf {
    let o = Command::new(env!("CARGO_BIN_EXE_recorder"))
        .args(["wrap", "--rate", "100", "--fake-sources"])
        .arg(format!("gpu={POWER_W}"))
        .args(["--arch", "roundtrip", "--dataset", "synthetic", "--out"])
        .arg(out)
        .args(["--", "sh", "-c", CHILD])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "recorder wrap failed: {stderr}");
    let run = PathBuf::from(String::from_utf8(o.stdout).unwrap().trim());
    assert!(
        run.join("manifest.json").is_file(),
        "no run at {run:?}: {stderr}"
    );
    run
}

/// (epoch, start_ns, end_ns) from the run's epochs.parquet, read with the
/// parquet crate directly (not through the analyzer).
fn epoch_bounds(run: &Path) -> Vec<(i32, i64, i64)> {
    let f = std::fs::File::open(run.join("epochs.parquet")).unwrap();
    let reader = ParquetRecordBatchReaderBuilder::try_new(f)
        .unwrap()
        .build()
        .unwrap();
    let mut out = Vec::new();
    for b in reader {
        let b = b.unwrap();
        let col = |name: &str| b.column_by_name(name).unwrap().clone();
        let (e, s, n) = (col("epoch"), col("start_ns"), col("end_ns"));
        let e = e.as_any().downcast_ref::<Int32Array>().unwrap();
        let s = s.as_any().downcast_ref::<Int64Array>().unwrap();
        let n = n.as_any().downcast_ref::<Int64Array>().unwrap();
        for i in 0..b.num_rows() {
            out.push((e.value(i), s.value(i), n.value(i)));
        }
    }
    out
}

/// (epoch, energy up to its end in J) from `analyzer epochs --format json`.
fn analyzer_energy_j(archive: &Path) -> Vec<(i32, f64)> {
    let o = Command::new(std::env::current_exe().unwrap())
        .env(AS_ENV, "analyzer")
        .args(["epochs", "--format", "json"])
        .arg(archive)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "analyzer epochs failed: {stderr}");
    let doc: Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("analyzer's stdout is not JSON ({e}); stderr: {stderr}"));
    let tables = doc["tables"].as_array().expect("a report with tables");
    assert_eq!(tables.len(), 1, "one energy kind, one table: {doc:#}");
    let table = &tables[0];
    let unit = table["columns"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["key"] == "energy")
        .map(|c| c["unit"].as_str().unwrap_or_default().to_string());
    assert_eq!(
        unit.as_deref(),
        Some("kJ"),
        "energy column in kJ: {table:#}"
    );
    table["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let epoch = r["epoch"].as_i64().expect("epoch") as i32;
            (epoch, r["energy"].as_f64().expect("energy") * 1e3)
        })
        .collect()
}
