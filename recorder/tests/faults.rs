//! The recorder's fault suite: one row per bad flag, child behaviour,
//! signal or broken output, each run through the real binary with its
//! verdict: the exit code, what stderr must say, what must be on disk (the
//! epochs a run kept, its status), and that nothing half-written (`*.tmp`)
//! is left. A new fault is one row. (Full disks are in cli_record.rs: they
//! need a tmpfs in a user namespace.)

#![allow(clippy::unwrap_used)] // a test

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;
use trainwatt_trace::{Manifest, RunStatus};

/// One fault. `args` get `--out OUT` (and a fake source and a rate, unless
/// they set their own) before any `--`; `run` says what the run folder must
/// hold when one is expected.
struct Fault {
    name: &'static str,
    args: &'static [&'static str],
    code: i32,
    stderr: &'static [&'static str],
    /// Send this signal to the recorder after `after_ms`.
    signal: Option<(i32, u64)>,
    /// What the run folder must hold (status, epochs), if one is expected.
    run: Option<Expect>,
    /// Substrings of stdout.
    stdout: &'static [&'static str],
}

#[derive(Debug, Clone, Copy)]
struct Expect {
    status: RunStatus,
    epochs: usize,
}

const NONE: Fault = Fault {
    name: "",
    args: &[],
    code: 0,
    stderr: &[],
    signal: None,
    run: None,
    stdout: &[],
};

const FAKE: &str = "gpu=100";

/// A child that reports three epochs by rewriting the log each time.
const REWRITES: &str = r#"for e in 1 2 3; do sleep 0.15; echo "{\"epoch\":$e,\"test_acc\":0.5}" > "$TRAINWATT_EPOCH_LOG"; done"#;
/// A child whose last line has no newline.
const NO_NEWLINE: &str = r#"sleep 0.15; echo '{"epoch":1,"test_acc":0.5}' >> "$TRAINWATT_EPOCH_LOG"; sleep 0.15; printf '{"epoch":2,"test_acc":0.6}' >> "$TRAINWATT_EPOCH_LOG"; sleep 0.2"#;
/// A child that writes one 2 MB line.
const HUGE_LINE: &str = r#"sleep 0.1; head -c 2000000 /dev/zero | tr '\0' 'x' >> "$TRAINWATT_EPOCH_LOG"; echo >> "$TRAINWATT_EPOCH_LOG"; sleep 0.1"#;
const MALFORMED: &str = r#"sleep 0.1; echo 'epoch one done' >> "$TRAINWATT_EPOCH_LOG"; echo '{"epoch":1,"test_acc":0.5}' >> "$TRAINWATT_EPOCH_LOG"; sleep 0.1"#;
const OUT_OF_ORDER: &str =
    r#"sleep 0.1; echo '{"epoch":2,"test_acc":0.5}' >> "$TRAINWATT_EPOCH_LOG"; sleep 0.1"#;
const TWO_EPOCHS_THEN_EXIT_3: &str = r#"for e in 1 2; do sleep 0.1; echo "{\"epoch\":$e,\"test_acc\":0.5}" >> "$TRAINWATT_EPOCH_LOG"; done; exit 3"#;
const KILLS_ITSELF: &str =
    r#"sleep 0.1; echo '{"epoch":1,"test_acc":0.5}' >> "$TRAINWATT_EPOCH_LOG"; kill -9 $$"#;
const LONG: &str = r#"for e in 1 2 3 4 5 6 7 8 9; do sleep 0.1; echo "{\"epoch\":$e,\"test_acc\":0.5}" >> "$TRAINWATT_EPOCH_LOG"; done"#;

const FAULTS: &[Fault] = &[
    // ── Flags ──────────────────────────────────────────────────────────
    Fault {
        name: "absurdly long --duration",
        args: &["sample", "--duration", "99999999999999999999h"],
        code: 2,
        stderr: &["longer than 366 days", "until Ctrl-C"],
        ..NONE
    },
    Fault {
        name: "absurdly long --flush-interval",
        args: &[
            "sample",
            "--duration",
            "1s",
            "--flush-interval",
            "99999999999999999999h",
        ],
        code: 2,
        stderr: &["longer than 366 days"],
        ..NONE
    },
    Fault {
        name: "--flush-interval longer than an hour",
        args: &["sample", "--duration", "1s", "--flush-interval", "2h"],
        code: 2,
        stderr: &["a killed run would lose", "at most 1h"],
        ..NONE
    },
    Fault {
        name: "negative --duration",
        args: &["sample", "--duration", "-1s"],
        code: 2,
        stderr: &["'-1s' must be a positive duration"],
        ..NONE
    },
    Fault {
        name: "--duration without a unit it knows",
        args: &["sample", "--duration", "3d"],
        code: 2,
        stderr: &["unknown unit 'd'", "ms, s, m or h"],
        ..NONE
    },
    Fault {
        name: "zero --rate",
        args: &["sample", "--duration", "1s", "--rate", "0"],
        code: 2,
        stderr: &["invalid value '0' for '--rate", "out of range (0, 100000]"],
        ..NONE
    },
    Fault {
        name: "malformed --fake-sources",
        args: &["sample", "--duration", "1s", "--fake-sources", "gpu=lots"],
        code: 1,
        stderr: &["--fake-sources 'gpu=lots'"],
        ..NONE
    },
    // ── The child ──────────────────────────────────────────────────────
    Fault {
        name: "wrap of a command that does not exist, JSON summary",
        args: &["wrap", "--format", "json", "--", "/nonexistent/train.py"],
        code: 1,
        stderr: &["cannot start '/nonexistent/train.py'", "PATH"],
        run: Some(Expect {
            status: RunStatus::Failed,
            epochs: 0,
        }),
        stdout: &["\"status\":\"failed\""],
        ..NONE
    },
    Fault {
        name: "child exits with 3 after two epochs",
        args: &["wrap", "--", "sh", "-c", TWO_EPOCHS_THEN_EXIT_3],
        code: 3,
        stderr: &["child exited with 3"],
        run: Some(Expect {
            status: RunStatus::Failed,
            epochs: 2,
        }),
        ..NONE
    },
    Fault {
        name: "child killed by SIGKILL",
        args: &["wrap", "--", "sh", "-c", KILLS_ITSELF],
        code: 137,
        stderr: &["child exited with 137"],
        run: Some(Expect {
            status: RunStatus::Failed,
            epochs: 1,
        }),
        ..NONE
    },
    Fault {
        name: "child rewrites its epoch log (open 'w') instead of appending",
        args: &["wrap", "--", "sh", "-c", REWRITES],
        code: 0,
        stderr: &["rewrote child-epochs.jsonl", "mode \"a\""],
        run: Some(Expect {
            status: RunStatus::Complete,
            epochs: 3,
        }),
        ..NONE
    },
    Fault {
        name: "last epoch line without a newline",
        args: &["wrap", "--", "sh", "-c", NO_NEWLINE],
        code: 0,
        stderr: &["line 2 has no newline; used as the child exited"],
        run: Some(Expect {
            status: RunStatus::Complete,
            epochs: 2,
        }),
        ..NONE
    },
    Fault {
        name: "a 2 MB epoch line is clipped in messages",
        args: &["wrap", "--", "sh", "-c", HUGE_LINE],
        code: 0,
        stderr: &["not used", "2000000 bytes in all"],
        run: Some(Expect {
            status: RunStatus::Complete,
            epochs: 0,
        }),
        ..NONE
    },
    Fault {
        name: "a line that is not JSON",
        args: &["wrap", "--", "sh", "-c", MALFORMED],
        code: 0,
        stderr: &["line 1 not used", "epoch one done"],
        run: Some(Expect {
            status: RunStatus::Complete,
            epochs: 1,
        }),
        ..NONE
    },
    Fault {
        name: "epoch out of order",
        args: &["wrap", "--", "sh", "-c", OUT_OF_ORDER],
        code: 0,
        stderr: &["epoch 2 out of order (expected 1)"],
        run: Some(Expect {
            status: RunStatus::Complete,
            epochs: 0,
        }),
        ..NONE
    },
    // ── Signals ────────────────────────────────────────────────────────
    Fault {
        name: "SIGTERM to the recorder during wrap is passed on",
        args: &["wrap", "--", "sh", "-c", LONG],
        code: 143,
        stderr: &["status Interrupted"],
        signal: Some((libc::SIGTERM, 350)),
        run: Some(Expect {
            status: RunStatus::Interrupted,
            epochs: 0, // checked as "fewer than nine" below
        }),
        ..NONE
    },
    Fault {
        name: "SIGINT to sample ends it as interrupted",
        args: &["sample"],
        code: 0,
        stderr: &[],
        signal: Some((libc::SIGINT, 200)),
        run: Some(Expect {
            status: RunStatus::Interrupted,
            epochs: 0,
        }),
        ..NONE
    },
];

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
    out
}

fn epoch_count(run: &Path) -> usize {
    let Ok(f) = std::fs::File::open(run.join("epochs.parquet")) else {
        return 0;
    };
    use parquet::file::reader::FileReader;
    let r = parquet::file::reader::SerializedFileReader::new(f).unwrap();
    r.metadata().file_metadata().num_rows() as usize
}

fn leftovers(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if e.file_name().to_string_lossy().ends_with(".tmp") {
                out.push(p.clone());
            }
            if p.is_dir() {
                stack.push(p);
            }
        }
    }
    out
}

/// Runs one fault; returns what was wrong with its verdict.
fn verdict(f: &Fault) -> Vec<String> {
    let tmp = tempfile::tempdir().unwrap();
    let out_dir = tmp.path().join("runs");
    let split = f
        .args
        .iter()
        .position(|a| *a == "--")
        .unwrap_or(f.args.len());
    // Defaults for the rows that do not set their own (a flag given twice
    // would be clap's error, not the fault's).
    let mut defaults: Vec<&str> = Vec::new();
    if !f.args.contains(&"--rate") {
        defaults.extend(["--rate", "200"]);
    }
    if !f.args.contains(&"--fake-sources") {
        defaults.extend(["--fake-sources", FAKE]);
    }
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_recorder"));
    cmd.args(&f.args[..split])
        .args(defaults)
        .arg("--out")
        .arg(&out_dir)
        .args(&f.args[split..])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    // stderr is read as it comes, so a signal goes out only once the
    // recorder says it is recording (its handlers are set by then), however
    // slow the machine: a fixed sleep raced start-up on a loaded CI box.
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let mut pipe = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        use std::io::BufRead;
        let mut all = String::new();
        let mut lines = std::io::BufReader::new(&mut pipe);
        let mut line = String::new();
        while lines.read_line(&mut line).unwrap_or(0) > 0 {
            if line.contains("recording into") || line.contains("sampling into") {
                let _ = ready_tx.send(());
            }
            all.push_str(&line);
            line.clear();
        }
        all
    });
    if let Some((sig, after_ms)) = f.signal {
        ready_rx
            .recv_timeout(Duration::from_secs(60))
            .expect("the recorder never said it was recording");
        std::thread::sleep(Duration::from_millis(after_ms));
        let pid = nix::unistd::Pid::from_raw(child.id() as i32);
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::try_from(sig).unwrap()).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    let stderr = reader.join().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let mut wrong = Vec::new();
    if out.status.code() != Some(f.code) {
        wrong.push(format!("exit {:?}, expected {}", out.status.code(), f.code));
    }
    for part in f.stderr {
        if !stderr.contains(part) {
            wrong.push(format!("stderr lacks `{part}`"));
        }
    }
    for part in f.stdout {
        if !stdout.contains(part) {
            wrong.push(format!("stdout lacks `{part}`"));
        }
    }
    if let Some(line) = stderr.lines().find(|l| l.len() > 4_096) {
        wrong.push(format!("a stderr line of {} bytes", line.len()));
    }
    if stderr.matches("error:").count() > 1 {
        wrong.push("an error printed more than once".into());
    }
    let made = runs(&out_dir);
    match (f.run, made.as_slice()) {
        (None, []) => {}
        (None, _) => wrong.push(format!("a run folder was made: {made:?}")),
        (Some(_), []) => wrong.push("no run folder".into()),
        (Some(e), [run]) => {
            let m = Manifest::read(&run.join("manifest.json")).unwrap();
            if m.status != e.status {
                wrong.push(format!("status {:?}, expected {:?}", m.status, e.status));
            }
            let n = epoch_count(run);
            let ok = if f.signal.is_some()
                && e.status == RunStatus::Interrupted
                && f.args[0] == "wrap"
            {
                // Stopped before the child's ninth epoch (how many before
                // that depends on the machine's speed).
                n < 9
            } else {
                n == e.epochs
            };
            if !ok {
                wrong.push(format!("{n} epochs, expected {}", e.epochs));
            }
            if m.warnings.iter().any(|w| w.len() > 4_096) {
                wrong.push("a manifest warning longer than 4 KiB".into());
            }
        }
        (Some(_), _) => wrong.push(format!("several runs: {made:?}")),
    }
    let left = leftovers(tmp.path());
    if !left.is_empty() {
        wrong.push(format!("half-written files left: {left:?}"));
    }
    if !wrong.is_empty() {
        wrong.push(format!(
            "stderr: {}",
            stderr.chars().take(2_000).collect::<String>()
        ));
    }
    wrong
}

#[test]
fn every_fault_gets_its_verdict() {
    let mut failures = Vec::new();
    for f in FAULTS {
        let wrong = verdict(f);
        if !wrong.is_empty() {
            failures.push(format!("{}: {}", f.name, wrong.join("; ")));
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

/// A full stdout: the run is complete on disk and the error says so.
#[test]
fn a_full_stdout_names_stdout_and_keeps_the_run() {
    let tmp = tempfile::tempdir().unwrap();
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_recorder"))
        .args([
            "sample",
            "--duration",
            "200ms",
            "--fake-sources",
            FAKE,
            "--format",
            "json",
            "--out",
        ])
        .arg(tmp.path())
        .stdout(full)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("writing the run summary to standard output"),
        "{stderr}"
    );
    assert!(stderr.contains("the run itself is complete"), "{stderr}");
    let made = runs(tmp.path());
    assert_eq!(made.len(), 1);
    let m = Manifest::read(&made[0].join("manifest.json")).unwrap();
    assert_eq!(m.status, RunStatus::Complete);
}
