//! Drives the real `recorder` binary with fake power sources (the hidden
//! `--fake-sources` flag) and checks what lands on disk: sampling, the wrap
//! protocol, signals, SIGKILL durability, and bad output folders.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

use arrow::array::{Array, Int64Array};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use trainwatt_trace::{Manifest, RunStatus};

fn recorder() -> Command {
    Command::new(env!("CARGO_BIN_EXE_recorder"))
}

/// All run folders (those holding a manifest) under `root`.
fn runs(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        if d.join("manifest.json").exists() {
            out.push(d.clone());
        }
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            if e.path().is_dir() {
                stack.push(e.path());
            }
        }
    }
    out.sort();
    out
}

/// (source, t_ns, energy_uj) of every sample row of a run, any order.
fn samples(run: &Path) -> Vec<(String, i64, Option<i64>)> {
    let mut rows = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(run.join("samples"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "parquet"))
        .collect();
    files.sort();
    for f in files {
        let reader = ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(&f).unwrap())
            .unwrap()
            .build()
            .unwrap();
        for batch in reader {
            let b = batch.unwrap();
            let t = b
                .column_by_name("t_ns")
                .unwrap()
                .as_any()
                .downcast_ref::<Int64Array>()
                .unwrap()
                .clone();
            let e = b
                .column_by_name("energy_uj")
                .unwrap()
                .as_any()
                .downcast_ref::<Int64Array>()
                .unwrap()
                .clone();
            let s = arrow::compute::cast(
                b.column_by_name("source").unwrap(),
                &arrow::datatypes::DataType::Utf8,
            )
            .unwrap();
            let s = s
                .as_any()
                .downcast_ref::<arrow::array::StringArray>()
                .unwrap();
            for i in 0..b.num_rows() {
                rows.push((
                    s.value(i).to_string(),
                    t.value(i),
                    (!e.is_null(i)).then(|| e.value(i)),
                ));
            }
        }
    }
    rows
}

fn epochs(run: &Path) -> Vec<(i32, i64, i64)> {
    let f = std::fs::File::open(run.join("epochs.parquet")).unwrap();
    let mut out = Vec::new();
    for b in ParquetRecordBatchReaderBuilder::try_new(f)
        .unwrap()
        .build()
        .unwrap()
    {
        let b = b.unwrap();
        let e = b
            .column(0)
            .as_any()
            .downcast_ref::<arrow::array::Int32Array>()
            .unwrap();
        let s = b.column(1).as_any().downcast_ref::<Int64Array>().unwrap();
        let n = b.column(2).as_any().downcast_ref::<Int64Array>().unwrap();
        for i in 0..b.num_rows() {
            out.push((e.value(i), s.value(i), n.value(i)));
        }
    }
    out
}

#[test]
fn sample_records_exact_fake_energy_at_the_rate() {
    let dir = tempfile::tempdir().unwrap();
    let out = recorder()
        .args([
            "sample",
            "--duration",
            "1500ms",
            "--rate",
            "500",
            "--fake-sources",
            "gpu=200,cpu=50",
            "--format",
            "json",
            "--out",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let runs = runs(dir.path());
    assert_eq!(runs.len(), 1);
    let m = Manifest::read(&runs[0].join("manifest.json")).unwrap();
    // `--format json`: one object on stdout that agrees with the files.
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        j["run_dir"].as_str().map(PathBuf::from),
        Some(runs[0].clone())
    );
    assert_eq!(j["status"], "complete");
    assert_eq!(j["sampler"]["ticks"], m.sampler.ticks);
    assert_eq!(j["sampler"]["missed_deadlines"], m.sampler.missed_deadlines);
    assert_eq!(j["modelled"], false);
    let duration_s = j["duration_s"].as_f64().unwrap();
    assert!((1.4..10.0).contains(&duration_s), "{duration_s}");
    // The recorder's own CPU time is measured and stored on every run.
    let cpu_s = m.sampler.sampler_cpu_s.unwrap() + m.sampler.writer_cpu_s.unwrap();
    assert!(cpu_s > 0.0 && cpu_s < duration_s, "{cpu_s}");
    let frac = j["sampler"]["cpu_fraction_of_one_core"].as_f64().unwrap();
    assert!((frac - cpu_s / duration_s).abs() < 1e-9, "{frac}");
    assert_eq!(m.status, RunStatus::Complete);
    assert_eq!(m.sampler.rate_hz, 500.0);
    assert_eq!(m.sources.len(), 2);
    // A clean finish compacts the per-second segments into one file.
    assert!(m.sampler.compacted);
    assert!(m.sampler.segments >= 2, "{:?}", m.sampler);
    assert_eq!(
        std::fs::read_dir(runs[0].join("samples")).unwrap().count(),
        1
    );
    assert!(!runs[0].join("samples.new").exists());
    let rows = samples(&runs[0]);
    assert_eq!(j["samples"], rows.len());
    let gpu: Vec<_> = rows.iter().filter(|r| r.0 == "fake:gpu").collect();
    // 1.5 s at 500 Hz = 750 ticks; allow for start-up and a loaded machine.
    assert!((600..=760).contains(&gpu.len()), "{} gpu rows", gpu.len());
    // One row per scheduled tick at most, plus the closing reading the
    // sampler takes of every source when it stops (not a tick).
    assert!(
        m.sampler.ticks as usize + 1 >= gpu.len(),
        "{} ticks, {} gpu rows",
        m.sampler.ticks,
        gpu.len()
    );
    // The fake counter is the exact integral of 200 W.
    let (t0, e0) = (gpu[0].1, gpu[0].2.unwrap());
    let (t1, e1) = (gpu[gpu.len() - 1].1, gpu[gpu.len() - 1].2.unwrap());
    let expect_uj = 200.0 * (t1 - t0) as f64 / 1e3;
    assert!(
        ((e1 - e0) as f64 - expect_uj).abs() < 2.0,
        "{} vs {expect_uj}",
        e1 - e0
    );
    // Sorted by time within a source.
    assert!(gpu.windows(2).all(|w| w[0].1 < w[1].1));
    // The run path is Hive-partitioned.
    let rel = runs[0]
        .strip_prefix(dir.path())
        .unwrap()
        .to_string_lossy()
        .to_string();
    assert!(rel.contains("dataset=idle/arch=none/width=0/run="), "{rel}");
}

const CHILD: &str = r#"
log="$TRAINWATT_EPOCH_LOG"
sleep 0.3; echo '{"epoch":1,"train_acc":0.5,"test_acc":0.45,"train_loss":1.2}' >> "$log"
sleep 0.3; echo 'epoch 2 looked fine' >> "$log"
echo '{"epoch":2,"train_acc":0.7,"test_acc":0.65}' >> "$log"
sleep 0.3; echo '{"epoch":3,"test_acc":1.5}' >> "$log"
exit 3
"#;

#[test]
fn wrap_records_child_epochs_and_keeps_bad_lines() {
    let dir = tempfile::tempdir().unwrap();
    let out = recorder()
        .args([
            "wrap",
            "--rate",
            "200",
            "--fake-sources",
            "gpu=100",
            "--arch",
            "mlp",
            "--out",
        ])
        .arg(dir.path())
        .args(["--", "sh", "-c", CHILD])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let run = &runs(dir.path())[0];
    let m = Manifest::read(&run.join("manifest.json")).unwrap();
    assert_eq!(m.status, RunStatus::Failed);
    assert_eq!(m.workload.exit_code, Some(3));
    assert_eq!(m.workload.arch.as_deref(), Some("mlp"));
    let e = epochs(run);
    assert_eq!(e.iter().map(|r| r.0).collect::<Vec<_>>(), [1, 2]);
    assert!(
        e[0].2 > e[0].1 && e[1].1 == e[0].2 && e[1].2 > e[1].1,
        "{e:?}"
    );
    assert!(
        e[0].2 - e[0].1 >= 250_000_000,
        "epoch 1 spans the child's 0.3 s sleep"
    );
    // Samples cover every epoch: the sampler takes a closing reading.
    let last_t = samples(run).iter().map(|r| r.1).max().unwrap();
    assert!(
        last_t >= e[1].2,
        "last sample {last_t} before epoch 2 ends {}",
        e[1].2
    );
    let warnings = m.warnings.join("\n");
    assert!(
        warnings.contains("line 2") && warnings.contains("epoch 2 looked fine"),
        "{warnings}"
    );
    assert!(
        warnings.contains("line 4") && warnings.contains("outside [0, 1]"),
        "{warnings}"
    );
    let verbatim = std::fs::read_to_string(run.join("child-epochs.jsonl")).unwrap();
    assert_eq!(verbatim.lines().count(), 4);
    assert!(String::from_utf8_lossy(&out.stderr).contains("line 2 not used"));
}

#[test]
fn sigterm_finishes_files_and_marks_interrupted() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = recorder()
        .args(["sample", "--fake-sources", "cpu=10", "--out"])
        .arg(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    let status = child.wait().unwrap();
    assert!(status.success());
    let run = &runs(dir.path())[0];
    let m = Manifest::read(&run.join("manifest.json")).unwrap();
    assert_eq!(m.status, RunStatus::Interrupted);
    assert!(!samples(run).is_empty());
}

#[test]
fn sigkill_loses_at_most_about_one_second() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("ninth-epoch-written");
    let script = format!(
        r#"
for i in 1 2 3 4 5 6 7 8 9; do sleep 0.1; echo "{{\"epoch\":$i,\"test_acc\":0.5}}" >> "$TRAINWATT_EPOCH_LOG"; done
touch '{}'
sleep 10
"#,
        marker.display()
    );
    let archive = dir.path().join("archive");
    let mut child = recorder()
        .args([
            "wrap",
            "--rate",
            "1000",
            "--fake-sources",
            "gpu=100,cpu=20",
            "--out",
        ])
        .arg(&archive)
        .args(["--", "sh", "-c", &script])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Wait (on a loaded machine, as long as it takes) until the child has
    // written its ninth epoch, let the recorder run 1.5 s more, then SIGKILL.
    let deadline = Instant::now() + Duration::from_secs(60);
    while !marker.exists() {
        assert!(
            Instant::now() < deadline,
            "the child never wrote its epochs"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let seen = Instant::now();
    std::thread::sleep(Duration::from_millis(1500));
    child.kill().unwrap(); // SIGKILL
    let after_seen = seen.elapsed().as_secs_f64();
    child.wait().unwrap();
    let run = &runs(&archive)[0];
    let m = Manifest::read(&run.join("manifest.json")).unwrap();
    assert_eq!(
        m.status,
        RunStatus::Running,
        "a killed run cannot say otherwise"
    );
    assert!(!m.sampler.compacted, "segments stay as written");
    // Every completed epoch survived.
    let e = epochs(run);
    assert_eq!(e.len(), 9);
    // What is on disk reads, and covers all but about the last second. The
    // kill happened at most `after_seen` + two 10 ms polls after epoch 9
    // was stamped, on the recorder's clock.
    let rows = samples(run);
    let last_t = rows.iter().map(|r| r.1).max().unwrap();
    let kill_t = e[8].2 as f64 / 1e9 + after_seen + 0.02;
    let lost = kill_t - last_t as f64 / 1e9;
    assert!(lost < 1.6, "lost {lost:.2} s of samples");
    assert!(lost > 0.0, "samples after the kill? {lost:.2}");
}

#[test]
fn unwritable_output_is_a_clear_error() {
    let out = recorder()
        .args([
            "sample",
            "--duration",
            "1s",
            "--fake-sources",
            "cpu=1",
            "--out",
            "/proc/trainwatt-nope",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("/proc/trainwatt-nope") && err.contains("writable"),
        "{err}"
    );
}

#[test]
fn runs_in_the_same_second_never_share_a_folder() {
    let dir = tempfile::tempdir().unwrap();
    for _ in 0..2 {
        let st = recorder()
            .args([
                "sample",
                "--duration",
                "100ms",
                "--fake-sources",
                "cpu=1",
                "--out",
            ])
            .arg(dir.path())
            .output()
            .unwrap();
        assert!(st.status.success());
    }
    assert_eq!(runs(dir.path()).len(), 2);
}

/// Why the disk-full tests are `#[ignore]`d: `.ci/run` runs them wherever
/// `unshare -rm true` works (see the README's test section).
const NEEDS_USERNS: &str =
    "needs unprivileged user namespaces (`unshare -rm`) to mount a small tmpfs";

/// Runs `script` (sh; `$1` the mount point, `$2` the recorder, `$3` a
/// folder that outlives the namespace) after mounting a tmpfs of `size` at
/// `$1` in a private user and mount namespace (`unshare -rm`, no root
/// needed): a disk that really fills up. Returns the kept folder; fails the
/// test, saying why, where the namespace cannot be made (these tests are
/// `#[ignore]`d so that only machines that can make one run them).
fn in_small_tmpfs(dir: &Path, size: &str, script: &str) -> PathBuf {
    let (mnt, kept) = (dir.join("small"), dir.join("kept"));
    std::fs::create_dir(&mnt).unwrap();
    std::fs::create_dir(&kept).unwrap();
    let full = format!("mount -t tmpfs -o size={size} tmpfs \"$1\" || exit 99\n{script}");
    let st = Command::new("unshare")
        .args(["-rm", "sh", "-c", &full, "sh"])
        .arg(&mnt)
        .arg(env!("CARGO_BIN_EXE_recorder"))
        .arg(&kept)
        .status()
        .unwrap_or_else(|e| panic!("cannot run `unshare` ({e}); this test {NEEDS_USERNS}"));
    assert!(
        st.code() != Some(99),
        "cannot mount a tmpfs in a user namespace; this test {NEEDS_USERNS}"
    );
    assert!(st.success(), "the namespace script failed: {st:?}");
    kept
}

fn exit_code(kept: &Path) -> i32 {
    std::fs::read_to_string(kept.join("rc"))
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

/// `sample` into a 128 KiB tmpfs until it is full; the run is copied out
/// before the namespace goes away.
#[test]
#[ignore = "needs unprivileged user namespaces (`unshare -rm`); .ci/run runs it where they work"]
fn disk_full_is_a_clear_error_and_earlier_segments_stay_readable() {
    let dir = tempfile::tempdir().unwrap();
    let script = r#"
"$2" sample --duration 60s --rate 2000 --flush-interval 200ms \
  --fake-sources gpu=200,cpu=50,dram=10 --format json --out "$1/archive" >"$3/stdout" 2>"$3/stderr"
echo $? > "$3/rc"
cp -a "$1/archive" "$3/archive"
"#;
    let started = Instant::now();
    let kept = in_small_tmpfs(dir.path(), "128k", script);
    let rc = exit_code(&kept);
    let err = std::fs::read_to_string(kept.join("stderr")).unwrap();
    assert_ne!(rc, 0, "a full disk must fail the command: {err}");
    // It stopped when the disk filled, not when the 60 s were up.
    assert!(
        started.elapsed() < Duration::from_secs(50),
        "ran {:?}: {err}",
        started.elapsed()
    );
    // The error names the file that could not be written, the cause, and
    // what is still there.
    assert!(err.contains("No space left on device"), "{err}");
    assert!(err.contains("part-") && err.contains(".parquet"), "{err}");
    assert!(
        err.contains("everything written before this file is intact"),
        "{err}"
    );
    // Everything that reached the disk reads, and nothing half-written is left.
    let run = &runs(&kept.join("archive"))[0];
    let names: Vec<String> = std::fs::read_dir(run.join("samples"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| n.ends_with(".parquet")), "{names:?}");
    assert!(
        names.len() >= 2,
        "the disk filled before any segment: {names:?}"
    );
    let rows = samples(run);
    assert!(rows.len() >= 1000, "{} rows kept", rows.len());
    // The manifest reads; it says `failed` with the reason, or, when the
    // full disk refused the manifest as well, still `running` (and the
    // error said so).
    let m = Manifest::read(&run.join("manifest.json")).unwrap();
    match m.status {
        RunStatus::Failed => assert!(
            m.error.as_deref().unwrap_or("").contains("No space left"),
            "{:?}",
            m.error
        ),
        RunStatus::Running => assert!(err.contains("manifest could not be updated"), "{err}"),
        other => panic!("status {other:?} after a full disk: {err}"),
    }
}

/// `wrap` on a disk that fills up: the training command is not abandoned
/// (it runs to its end and its epochs keep arriving), the failure is
/// reported at once, the run is marked failed and the recorder exits 1.
#[test]
#[ignore = "needs unprivileged user namespaces (`unshare -rm`); .ci/run runs it where they work"]
fn wrap_on_a_full_disk_lets_the_command_finish_and_fails_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let script = r#"
"$2" wrap --rate 2000 --flush-interval 200ms --fake-sources gpu=200,cpu=50,dram=10 \
  --out "$1/archive" -- sh -c '
    for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
      sleep 0.5; echo "{\"epoch\":$i,\"test_acc\":0.5}" >> "$TRAINWATT_EPOCH_LOG" 2>/dev/null
    done
    touch "$0/child-finished"' "$3" >"$3/stdout" 2>"$3/stderr"
echo $? > "$3/rc"
"#;
    let kept = in_small_tmpfs(dir.path(), "128k", script);
    let err = std::fs::read_to_string(kept.join("stderr")).unwrap();
    assert!(
        kept.join("child-finished").exists(),
        "the training command was cut short: {err}"
    );
    assert_eq!(exit_code(&kept), 1, "{err}");
    assert!(err.contains("the command keeps running"), "{err}");
    assert!(err.contains("No space left on device"), "{err}");
    assert!(err.contains("recording failed"), "{err}");
}
