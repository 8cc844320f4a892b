//! The analyzer's fault suite: one row per bad input or fault (archives,
//! manifests, epochs, samples, criteria, options, output, report, import),
//! each run through the real binary with its expected verdict: the exit
//! code, what stderr must say (the file, the row, the fix), and that
//! nothing half-written (`*.tmp`) is left behind. A new fault is one row.
//!
//! Every run-level fault is written beside a good run, so the verdict also
//! checks that one bad run costs only itself ("1 excluded") and that what
//! it says is about the bad one.

#![allow(clippy::unwrap_used)] // a test

mod archive_support;

use archive_support::*;
use arrow::array::{ArrayRef, Float64Array, Int64Array, StringArray};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use trainwatt_trace::{Domain, Method, RunStatus};

/// One fault: `make` builds the input under the folder it is given and
/// returns the analyzer's arguments.
struct Fault {
    name: &'static str,
    make: fn(&Path) -> Vec<String>,
    code: i32,
    /// Substrings stderr must hold (case-sensitive).
    stderr: &'static [&'static str],
}

/// A clean 1 kHz, 100 W GPU counter run: 4 epochs of 1 s from 0.5 s.
fn clean() -> RunSpec {
    clean_gpu_run()
}

/// A clean 10 Hz, 20 W modelled CPU run over 6 s.
fn modelled() -> RunSpec {
    let samples = track(
        "model:cpu",
        (0..=60).map(|k| k * 100 * MS),
        |_| Some(20.0),
        |_| None,
    );
    let m = manifest(
        vec![source(
            "model:cpu",
            Domain::CpuPackage,
            Method::Modelled,
            10.0,
        )],
        RunStatus::Complete,
    );
    RunSpec::new(m, epochs(4, 500 * MS, S, 0), samples)
}

/// The archive: a good run beside `bad`; returns the archive's path.
fn beside_good(dir: &Path, bad: &RunSpec) -> PathBuf {
    let archive = dir.join("archive");
    clean().write(&archive.join("run=good"));
    bad.write(&archive.join("run=bad"));
    archive
}

fn s(p: &Path) -> String {
    p.to_str().unwrap().to_string()
}

/// `efficiency ARCHIVE --format csv` (notes go to stderr in CSV).
fn efficiency(archive: &Path) -> Vec<String> {
    vec![
        "efficiency".into(),
        s(archive),
        "--format".into(),
        "csv".into(),
    ]
}

/// A good run beside `bad`, then `efficiency` on both.
fn with_bad(dir: &Path, bad: RunSpec) -> Vec<String> {
    efficiency(&beside_good(dir, &bad))
}

/// A good run and a bad one changed on disk by `edit(bad_run_dir)`.
fn with_edit(dir: &Path, edit: fn(&Path)) -> Vec<String> {
    let archive = beside_good(dir, &clean());
    edit(&archive.join("run=bad"));
    efficiency(&archive)
}

fn edit_json(run: &Path, f: impl FnOnce(&mut serde_json::Value)) {
    let path = run.join("manifest.json");
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    f(&mut v);
    std::fs::write(&path, v.to_string()).unwrap();
}

/// The bad run's one segment replaced by `cols`.
fn replace_samples(run: &Path, cols: Vec<(&str, ArrayRef)>) {
    write_columns(&run.join("samples/part-000000.parquet"), cols);
}

/// The clean run's rows with one changed by `f(rows)`.
fn clean_with(f: fn(&mut Vec<Sample>)) -> RunSpec {
    let mut spec = clean();
    f(&mut spec.segments[0]);
    spec
}

const EXCLUDED: &str = "1 excluded";

const FAULTS: &[Fault] = &[
    // ── Archives and paths ──────────────────────────────────────────────
    Fault {
        name: "archive path does not exist",
        make: |d| efficiency(&d.join("nowhere")),
        code: 1,
        stderr: &["cannot read", "nowhere", "No such file"],
    },
    Fault {
        name: "archive path is a file",
        make: |d| {
            std::fs::write(d.join("file"), "x").unwrap();
            efficiency(&d.join("file"))
        },
        code: 1,
        stderr: &["is not a folder", "give an archive folder"],
    },
    Fault {
        name: "archive folder without runs",
        make: |d| {
            std::fs::create_dir(d.join("empty")).unwrap();
            efficiency(&d.join("empty"))
        },
        code: 1,
        stderr: &["no run folders", "manifest.json"],
    },
    Fault {
        name: "the only run is excluded",
        make: |d| {
            let mut spec = clean();
            spec.segments[0][1000].power_w = Some(f32::NAN);
            efficiency(&spec.write(&d.join("only")))
        },
        code: 1,
        stderr: &[
            "no usable runs",
            "part-000000.parquet row 1000",
            "power_w is NaN",
        ],
    },
    // ── Manifests ───────────────────────────────────────────────────────
    Fault {
        name: "manifest.json missing",
        make: |d| {
            with_edit(d, |r| {
                std::fs::remove_file(r.join("manifest.json")).unwrap();
            })
        },
        code: 0,
        stderr: &[
            EXCLUDED,
            "run=bad",
            "manifest.json is missing",
            "restore manifest.json",
        ],
    },
    Fault {
        name: "manifest.json is not JSON",
        make: |d| {
            with_edit(d, |r| {
                std::fs::write(r.join("manifest.json"), "{ not json").unwrap()
            })
        },
        code: 0,
        stderr: &[EXCLUDED, "run=bad/manifest.json"],
    },
    Fault {
        name: "manifest of a future major version",
        make: |d| with_edit(d, |r| edit_json(r, |v| v["schema_version"] = "2.0".into())),
        code: 0,
        stderr: &[EXCLUDED, "schema_version 2.0", "upgrade"],
    },
    Fault {
        name: "manifest lists no source",
        make: |d| {
            with_edit(d, |r| {
                edit_json(r, |v| v["sources"] = serde_json::json!([]))
            })
        },
        code: 0,
        stderr: &[EXCLUDED, "no additive source"],
    },
    Fault {
        name: "manifest lists a source twice",
        make: |d| {
            with_edit(d, |r| {
                edit_json(r, |v| {
                    let first = v["sources"][0].clone();
                    v["sources"].as_array_mut().unwrap().push(first);
                })
            })
        },
        code: 0,
        stderr: &[EXCLUDED, "`nvml:0` appears twice"],
    },
    // ── Epochs ──────────────────────────────────────────────────────────
    Fault {
        name: "epochs.parquet missing",
        make: |d| {
            with_edit(d, |r| {
                std::fs::remove_file(r.join("epochs.parquet")).unwrap()
            })
        },
        code: 0,
        stderr: &[EXCLUDED, "epochs.parquet: missing", "completed no epoch"],
    },
    Fault {
        name: "epochs.parquet is not Parquet",
        make: |d| {
            with_edit(d, |r| {
                std::fs::write(r.join("epochs.parquet"), "PAR1 nope").unwrap()
            })
        },
        code: 0,
        stderr: &[EXCLUDED, "epochs.parquet: cannot read"],
    },
    Fault {
        name: "epochs.parquet without rows",
        make: |d| {
            let mut spec = clean();
            spec.epochs.clear();
            with_bad(d, spec)
        },
        code: 0,
        stderr: &[EXCLUDED, "no epoch rows"],
    },
    Fault {
        name: "epochs numbered out of order",
        make: |d| {
            let mut spec = clean();
            spec.epochs[2].epoch = 4;
            with_bad(d, spec)
        },
        code: 0,
        stderr: &[
            EXCLUDED,
            "epochs.parquet row 2",
            "epoch 4 where 3 was expected",
        ],
    },
    Fault {
        name: "epoch ends before it starts",
        make: |d| {
            let mut spec = clean();
            spec.epochs[1].end_ns = spec.epochs[1].start_ns - 1;
            with_bad(d, spec)
        },
        code: 0,
        stderr: &[EXCLUDED, "epochs.parquet row 1", "is not after start_ns"],
    },
    Fault {
        name: "accuracy above 1",
        make: |d| {
            let mut spec = clean();
            spec.epochs[0].test_acc = Some(97.5);
            with_bad(d, spec)
        },
        code: 0,
        stderr: &[
            EXCLUDED,
            "row 0",
            "test_acc 97.5 is not a fraction in [0, 1]",
        ],
    },
    // ── Sample files ────────────────────────────────────────────────────
    Fault {
        name: "samples folder missing",
        make: |d| with_edit(d, |r| std::fs::remove_dir_all(r.join("samples")).unwrap()),
        code: 0,
        stderr: &[EXCLUDED, "samples: cannot list the sample segments"],
    },
    Fault {
        name: "samples folder empty",
        make: |d| {
            with_edit(d, |r| {
                std::fs::remove_file(r.join("samples/part-000000.parquet")).unwrap()
            })
        },
        code: 0,
        stderr: &[EXCLUDED, "no *.parquet sample segment"],
    },
    Fault {
        name: "segment of a complete run is not Parquet",
        make: |d| {
            with_edit(d, |r| {
                std::fs::write(r.join("samples/part-000000.parquet"), "PAR1 torn").unwrap()
            })
        },
        code: 0,
        stderr: &[EXCLUDED, "part-000000.parquet"],
    },
    Fault {
        name: "t_ns in float seconds",
        make: |d| {
            with_edit(d, |r| {
                let t: Float64Array = (0..=50).map(|k| Some(k as f64 * 0.1)).collect();
                let n = t.len();
                replace_samples(
                    r,
                    vec![
                        ("t_ns", Arc::new(t) as ArrayRef),
                        ("source", Arc::new(StringArray::from(vec!["nvml:0"; n]))),
                        ("power_w", Arc::new(Float64Array::from(vec![100.0; n]))),
                        ("energy_uj", Arc::new(Int64Array::from(vec![0i64; n]))),
                    ],
                )
            })
        },
        code: 0,
        stderr: &[
            EXCLUDED,
            "column `t_ns` is Float64",
            "integer",
            "multiply by 1e9",
        ],
    },
    Fault {
        name: "power_w stored as text",
        make: |d| {
            with_edit(d, |r| {
                let n = 51;
                replace_samples(
                    r,
                    vec![
                        (
                            "t_ns",
                            Arc::new(Int64Array::from_iter_values((0..n).map(|k| k * 100 * MS)))
                                as ArrayRef,
                        ),
                        (
                            "source",
                            Arc::new(StringArray::from(vec!["nvml:0"; n as usize])),
                        ),
                        (
                            "power_w",
                            Arc::new(StringArray::from(vec!["100.0"; n as usize])),
                        ),
                        (
                            "energy_uj",
                            Arc::new(Int64Array::from_iter_values((0..n).map(|k| k * 10_000_000))),
                        ),
                    ],
                )
            })
        },
        code: 0,
        stderr: &[
            EXCLUDED,
            "column `power_w` is Utf8",
            "numbers stored as text",
        ],
    },
    Fault {
        name: "NaN watts inside the epochs",
        make: |d| with_bad(d, clean_with(|r| r[1200].power_w = Some(f32::NAN))),
        code: 0,
        stderr: &[EXCLUDED, "part-000000.parquet row 1200", "power_w is NaN"],
    },
    Fault {
        name: "negative watts",
        make: |d| with_bad(d, clean_with(|r| r[1300].power_w = Some(-3.0))),
        code: 0,
        stderr: &[EXCLUDED, "row 1300", "negative"],
    },
    Fault {
        name: "absurd watts",
        make: |d| with_bad(d, clean_with(|r| r[1400].power_w = Some(90_000.0))),
        code: 0,
        stderr: &[EXCLUDED, "row 1400", "above the plausible"],
    },
    Fault {
        name: "clock goes backwards",
        make: |d| with_bad(d, clean_with(|r| r[2000].t_ns -= 10 * MS)),
        code: 0,
        stderr: &[EXCLUDED, "row 2000", "clock went backwards"],
    },
    Fault {
        name: "same instant twice with different watts",
        make: |d| {
            with_bad(
                d,
                clean_with(|r| {
                    let mut twin = r[2500].clone();
                    twin.power_w = Some(400.0);
                    r.insert(2501, twin);
                }),
            )
        },
        code: 0,
        stderr: &[
            EXCLUDED,
            "row 2501",
            "a second row at t_ns",
            "keep one row per source",
        ],
    },
    Fault {
        name: "counter goes down",
        make: |d| with_bad(d, clean_with(|r| r[2500].energy_uj = Some(5))),
        code: 0,
        stderr: &[EXCLUDED, "row 2500", "below the previous reading"],
    },
    Fault {
        name: "counter jumps by 1e13 µJ and stays there",
        make: |d| {
            with_bad(
                d,
                clean_with(|r| {
                    for s in &mut r[3000..] {
                        s.energy_uj = s.energy_uj.map(|e| e + 10_000_000_000_000);
                    }
                }),
            )
        },
        code: 0,
        stderr: &[
            EXCLUDED,
            "first refused reading",
            "row 3000",
            "more than 5000 W",
        ],
    },
    Fault {
        name: "gap inside the epochs",
        make: |d| {
            with_bad(
                d,
                clean_with(|r| r.retain(|s| !(2 * S..4 * S).contains(&s.t_ns))),
            )
        },
        code: 0,
        stderr: &[EXCLUDED, "no sample for 2.001 s", "tolerance"],
    },
    Fault {
        name: "segments named out of time order",
        make: |d| {
            let archive = beside_good(d, &clean().segmented(2_000));
            let dir = archive.join("run=bad/samples");
            std::fs::rename(
                dir.join("part-000000.parquet"),
                dir.join("part-000009.parquet"),
            )
            .unwrap();
            efficiency(&archive)
        },
        code: 0,
        stderr: &[
            EXCLUDED,
            "part-000009.parquet starts",
            "name order",
            "rename them",
        ],
    },
    Fault {
        name: "complete run whose samples stop early",
        make: |d| with_bad(d, clean_with(|r| r.retain(|s| s.t_ns <= 3_200 * MS))),
        code: 0,
        stderr: &[EXCLUDED, "status is complete", "before epoch 3 ends"],
    },
    // ── Warnings: the run is used, and the user is told ─────────────────
    Fault {
        name: "a row repeated exactly",
        make: |d| {
            with_bad(
                d,
                clean_with(|r| {
                    let twin = r[2500].clone();
                    r.insert(2501, twin);
                }),
            )
        },
        code: 0,
        stderr: &[
            "0 excluded",
            "1 rows repeat the previous row of their source exactly",
        ],
    },
    Fault {
        name: "samples of a source the manifest does not list",
        make: |d| {
            let mut spec = clean();
            let ghost = track(
                "ghost:0",
                (0..=50).map(|k| k * 100 * MS),
                |_| Some(50.0),
                |_| None,
            );
            spec.segments[0] = interleave(vec![spec.segments[0].clone(), ghost]);
            with_bad(d, spec)
        },
        code: 0,
        stderr: &["0 excluded", "does not list", "`ghost:0` (51 rows)"],
    },
    Fault {
        name: "one 4 kW spike on a 20 W modelled source",
        make: |d| {
            let mut spec = modelled();
            spec.segments[0][30].power_w = Some(4_000.0);
            with_bad(d, spec)
        },
        code: 0,
        stderr: &["0 excluded", "row 30", "4000.0 W", "glitch"],
    },
    Fault {
        name: "interrupted run is used up to its last covered epoch",
        make: |d| {
            let mut spec = clean_with(|r| r.retain(|s| s.t_ns <= 3_200 * MS));
            spec.manifest.status = RunStatus::Interrupted;
            with_bad(d, spec)
        },
        code: 0,
        stderr: &["0 excluded", "interrupted", "using epochs 1..2"],
    },
    // ── Criteria and options ────────────────────────────────────────────
    Fault {
        name: "criterion with a NaN bound",
        make: |d| {
            let mut a = efficiency(&beside_good(d, &clean()));
            a.extend(["--criterion".into(), "energy:NaNws".into()]);
            a
        },
        code: 2,
        stderr: &["energy:NaNws", "not a finite number"],
    },
    Fault {
        name: "unknown criterion",
        make: |d| {
            let mut a = efficiency(&beside_good(d, &clean()));
            a.extend(["--criterion".into(), "patience:3".into()]);
            a
        },
        code: 2,
        stderr: &["unknown criterion 'patience'", "expected one of"],
    },
    Fault {
        name: "unknown component",
        make: |d| {
            let mut a = efficiency(&beside_good(d, &clean()));
            a.extend(["--components".into(), "tpu".into()]);
            a
        },
        code: 2,
        stderr: &["invalid value 'tpu'", "possible values: gpu, cpu, dram"],
    },
    Fault {
        name: "negative gap tolerance",
        make: |d| {
            let mut a = efficiency(&beside_good(d, &clean()));
            a.extend(["--gap-tolerance".into(), "-1".into()]);
            a
        },
        code: 1,
        stderr: &["gap tolerance must be a positive number"],
    },
    Fault {
        name: "components that no source measures",
        make: |d| {
            let mut a = efficiency(&beside_good(d, &clean()));
            a.extend(["--components".into(), "dram".into()]);
            a
        },
        code: 1,
        stderr: &[
            "no usable runs",
            "no additive source of the selected components (dram)",
        ],
    },
    // ── Report ──────────────────────────────────────────────────────────
    Fault {
        name: "report onto a folder that is not a report",
        make: |d| {
            let archive = beside_good(d, &clean());
            let out = d.join("mine");
            std::fs::create_dir(&out).unwrap();
            std::fs::write(out.join("thesis.tex"), "keep me").unwrap();
            vec!["report".into(), s(&archive), "--out".into(), s(&out)]
        },
        code: 1,
        stderr: &[
            "refusing to replace",
            "mine",
            "choose a new or empty folder",
        ],
    },
    Fault {
        name: "report into a folder under a file",
        make: |d| {
            let archive = beside_good(d, &clean());
            std::fs::write(d.join("blocker"), "x").unwrap();
            vec![
                "report".into(),
                s(&archive),
                "--out".into(),
                s(&d.join("blocker/out")),
            ]
        },
        code: 1,
        stderr: &["cannot write the report", "blocker"],
    },
    // ── Import ──────────────────────────────────────────────────────────
    Fault {
        name: "import of a file that does not exist",
        make: |d| {
            vec![
                "import".into(),
                "--power".into(),
                format!("nvidia-smi:{}", s(&d.join("missing.csv"))),
                "--out".into(),
                s(&d.join("imported")),
                "--platform".into(),
                "box".into(),
            ]
        },
        code: 1,
        stderr: &["missing.csv"],
    },
    Fault {
        name: "import of a malformed nvidia-smi log",
        make: |d| {
            let log = d.join("smi.csv");
            std::fs::write(
                &log,
                "timestamp, power.draw [W]\n2025/04/24 15:58:57.879, 18.81 W\n2025/04/24 15:58:57.979, lots W\n",
            )
            .unwrap();
            vec![
                "import".into(),
                "--power".into(),
                format!("nvidia-smi:{}", s(&log)),
                "--timezone".into(),
                "UTC".into(),
                "--out".into(),
                s(&d.join("imported")),
                "--platform".into(),
                "box".into(),
            ]
        },
        code: 1,
        stderr: &["smi.csv", "line 3"],
    },
];

/// Files or folders whose name says they are half-written.
fn leftovers(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            let name = e.file_name().to_string_lossy().into_owned();
            if name.ends_with(".tmp") {
                out.push(p.clone());
            }
            if p.is_dir() {
                stack.push(p);
            }
        }
    }
    out
}

#[test]
fn every_fault_gets_its_verdict() {
    assert!(FAULTS.len() >= 40, "{} faults", FAULTS.len());
    let mut failures = Vec::new();
    for f in FAULTS {
        let tmp = tempfile::tempdir().unwrap();
        let args = (f.make)(tmp.path());
        let out = Command::new(env!("CARGO_BIN_EXE_analyzer"))
            .args(&args)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        let mut wrong = Vec::new();
        if out.status.code() != Some(f.code) {
            wrong.push(format!("exit {:?}, expected {}", out.status.code(), f.code));
        }
        for part in f.stderr {
            if !stderr.contains(part) {
                wrong.push(format!("stderr lacks `{part}`"));
            }
        }
        if f.code != 0 && stderr.matches("error:").count() > 1 {
            wrong.push("the error is printed more than once".into());
        }
        let left = leftovers(tmp.path());
        if !left.is_empty() {
            wrong.push(format!("half-written files left: {left:?}"));
        }
        if !wrong.is_empty() {
            failures.push(format!(
                "{}: {}\n  stderr: {stderr}",
                f.name,
                wrong.join("; ")
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} faults got the wrong verdict:\n{}",
        failures.len(),
        FAULTS.len(),
        failures.join("\n")
    );
}

/// A full stdout: the error names it, exit 1.
#[test]
fn a_full_stdout_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    let archive = beside_good(tmp.path(), &clean());
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_analyzer"))
        .args(efficiency(&archive))
        .stdout(full)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("writing to standard output"), "{stderr}");
    assert!(stderr.contains("No space left on device"), "{stderr}");
    assert_eq!(
        stderr.matches("No space left on device").count(),
        1,
        "{stderr}"
    );
}

/// A reader that stops reading (`| head -1`): exit 0, no error.
#[test]
fn a_closed_pipe_is_not_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let archive = beside_good(tmp.path(), &clean());
    let mut child = Command::new(env!("CARGO_BIN_EXE_analyzer"))
        .args(["epochs", &s(&archive), "--format", "csv"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("error"), "{stderr}");
}
