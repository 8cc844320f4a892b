//! The reduced table read in place of the archive: every analysis prints
//! the same tables, byte for byte, from `data/sample` and from its reduced
//! table (one file, or a folder of three shards reduced by three separate
//! runs of `analyzer reduce --shard I/3`), excluded runs and their typed
//! reasons included; a table reduced with other load options is refused.

#![allow(clippy::unwrap_used)]

mod archive_support;

use archive_support::*;
use std::path::{Path, PathBuf};
use std::process::Command;

fn analyzer(args: &[&str]) -> (i32, String, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_analyzer"))
        .args(args)
        .output()
        .unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8(o.stdout).unwrap(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

const COMMANDS: [&[&str]; 5] = [
    &["efficiency", "--paper-criteria", "--format", "csv"],
    &[
        "efficiency",
        "--criterion",
        "epochs:30",
        "--baseline",
        "--format",
        "json",
    ],
    &["epochs", "--format", "csv"],
    &["overtraining", "--at", "30,60", "--format", "csv"],
    &["platforms", "--format", "csv"],
];

/// `args` then the inputs.
fn output(args: &[&str], inputs: &[&Path]) -> String {
    let mut a: Vec<&str> = args.to_vec();
    a.extend(inputs.iter().map(|p| s(p)));
    let (code, out, err) = analyzer(&a);
    assert_eq!(code, 0, "analyzer {a:?}: {err}");
    out
}

fn reduce(inputs: &[&Path], out: &Path, extra: &[&str]) {
    let mut a = vec!["reduce"];
    a.extend(inputs.iter().map(|p| s(p)));
    a.extend(["--out", s(out)]);
    a.extend(extra);
    let (code, _, err) = analyzer(&a);
    assert_eq!(code, 0, "reduce: {err}");
}

fn sample() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/sample")
}

#[test]
fn every_analysis_prints_the_same_tables_from_the_reduced_table() {
    let tmp = tempfile::tempdir().unwrap();
    let one = tmp.path().join("sample.parquet");
    reduce(&[&sample()], &one, &[]);
    let baseline = tmp.path().join("baseline.parquet");
    reduce(&[&sample()], &baseline, &["--baseline"]);
    let parts = tmp.path().join("parts");
    std::fs::create_dir(&parts).unwrap();
    for i in 1..=3 {
        reduce(&[&sample()], &parts, &["--shard", &format!("{i}/3")]);
    }
    assert_eq!(std::fs::read_dir(&parts).unwrap().count(), 3);
    for cmd in COMMANDS {
        let want = output(cmd, &[&sample()]);
        let table = if cmd.contains(&"--baseline") {
            &baseline
        } else {
            &one
        };
        assert_eq!(output(cmd, &[table]), want, "{cmd:?} on the reduced file");
        if !cmd.contains(&"--baseline") {
            assert_eq!(output(cmd, &[&parts]), want, "{cmd:?} on three shards");
        }
    }
}

#[test]
fn excluded_runs_travel_with_their_kind_and_other_options_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let archive = tmp.path().join("archive");
    let good = clean_gpu_run();
    good.write(&archive.join("run=good"));
    let mut bad = good.clone();
    bad.segments[0][2000].t_ns -= 10 * MS;
    bad.write(&archive.join("run=bad"));
    let table = tmp.path().join("t.parquet");
    reduce(&[&archive], &table, &[]);
    let json = ["efficiency", "--criterion", "epochs:4", "--format", "json"];
    let from_archive: serde_json::Value =
        serde_json::from_str(&output(&json, &[&archive])).unwrap();
    let from_table: serde_json::Value = serde_json::from_str(&output(&json, &[&table])).unwrap();
    assert_eq!(from_archive, from_table);
    assert_eq!(
        from_table["excluded"][0]["reason"]["kind"],
        "sample:backwards-clock"
    );
    assert_eq!(from_table["excluded"][0]["reason"]["row"], 2000);

    let (code, _, err) = analyzer(&["epochs", s(&table), "--components", "gpu"]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("reduced with the load options") && err.contains("analyzer reduce"),
        "{err}"
    );
    let (code, _, err) = analyzer(&["reduce", s(&archive), "--out", s(&tmp.path().join("x.csv"))]);
    assert_eq!(code, 1);
    assert!(
        err.contains("give a .parquet file or an existing folder"),
        "{err}"
    );
}

/// Threads change no number: one run per thread, and with fewer runs than
/// threads each segment decoded ahead on a spare thread; a run with a
/// segment overwritten mid-way is excluded the same way under both.
#[test]
fn threads_and_decoding_ahead_change_no_byte_of_the_table() {
    let dir = tempfile::tempdir().unwrap();
    let one = dir.path().join("one");
    clean_gpu_run()
        .segmented(700)
        .write(&one.join("platform=a/run=long"));
    let broken = one.join("platform=a/run=broken");
    clean_gpu_run().segmented(1_500).write(&broken);
    let seg = broken.join("samples/part-000002.parquet");
    let mut bytes = std::fs::read(&seg).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid..mid + 64].fill(0xA5);
    std::fs::write(&seg, bytes).unwrap();
    let mut tables = Vec::new();
    for threads in ["1", "2", "8"] {
        let out = dir.path().join(format!("t{threads}.parquet"));
        reduce(&[&one], &out, &["--threads", threads]);
        tables.push(std::fs::read(&out).unwrap());
    }
    assert!(tables.windows(2).all(|w| w[0] == w[1]));
    let (code, json, _) = analyzer(&[
        "epochs",
        "--format",
        "json",
        s(&dir.path().join("t8.parquet")),
    ]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let excluded = v["excluded"].as_array().unwrap();
    assert_eq!(excluded.len(), 1, "{json}");
    assert!(excluded[0]["dir"].as_str().unwrap().ends_with("run=broken"));
}
