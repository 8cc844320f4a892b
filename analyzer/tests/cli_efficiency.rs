//! End to end: archives written in the v1 trace format (by the test support
//! writer, not the recorder), read by the real `analyzer` binary. Power is
//! constant per run, so every Eq. 2 is known in closed form.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

mod archive_support;

use archive_support::*;
use assert_cmd::Command;
use std::path::Path;
use std::process::Stdio;
use trainwatt_trace::layout::Partition;
use trainwatt_trace::{Domain, Method, RunStatus};

/// Watts per width unit: lenet 100 W × width, bcnn 300 W × width.
fn watts(arch: &str, width: u32) -> f64 {
    let per = if arch == "lenet" { 100.0 } else { 300.0 };
    per * f64::from(width)
}

/// Test accuracy after epoch `i` (the support writer's default).
fn acc(i: u32) -> f64 {
    0.5 + 0.004 * f64::from(i - 1)
}

/// Two archs × two widths on MNIST, 10 epochs of 1 s from t = 1 s, a GPU
/// with an energy counter and a power reading every 10 ms; plus one broken
/// run folder that must be excluded loudly.
fn archive(root: &Path) {
    for arch in ["lenet", "bcnn"] {
        for width in 1..=2u32 {
            let p = watts(arch, width);
            let samples = track(
                "nvml:0",
                (0..=1200).map(|k| k * 10 * MS),
                |_| Some(p as f32),
                |t| Some((p as i64) * t / 1000),
            );
            let mut m = manifest(
                vec![source(
                    "nvml:0",
                    Domain::Gpu,
                    Method::MeasuredCounter,
                    100.0,
                )],
                RunStatus::Complete,
            );
            m.platform = "lab".into();
            m.run_id = format!("{arch}-{width}");
            m.workload.arch = Some(arch.into());
            m.workload.width = Some(width);
            m.workload.seed = Some(1);
            let part = Partition {
                platform: "lab".into(),
                dataset: "mnist".into(),
                arch: arch.into(),
                width,
            };
            RunSpec::new(m, epochs(10, S, S, 0), samples)
                .write(&part.run_dir(root, &format!("{arch}-{width}")));
        }
    }
    let broken = root.join("platform=lab/dataset=mnist/arch=lenet/width=3/run=broken");
    std::fs::create_dir_all(&broken).unwrap();
    std::fs::write(broken.join("manifest.json"), "{ not json").unwrap();
}

fn analyzer(args: &[&str], root: &Path) -> (String, String) {
    let out = Command::cargo_bin("analyzer")
        .unwrap()
        .arg(args[0])
        .arg(root)
        .args(&args[1..])
        .output()
        .unwrap();
    let (so, se) = (
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    );
    assert!(out.status.success(), "{se}");
    (so, se)
}

fn table<'a>(v: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    v["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == id)
        .unwrap()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * b.abs().max(1.0)
}

#[test]
fn efficiency_in_counter_mode_matches_closed_form() {
    let tmp = tempfile::tempdir().unwrap();
    archive(tmp.path());
    let (out, err) = analyzer(
        &["efficiency", "--criterion", "epochs:5", "--format", "json"],
        tmp.path(),
    );
    assert!(err.contains("4 runs loaded, 1 excluded"), "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let notes = v["notes"].to_string();
    assert!(notes.contains("energy mode: counter (4 runs)"), "{notes}");
    assert!(
        notes.contains("EXCLUDED") && notes.contains("run=broken"),
        "{notes}"
    );
    let models = table(&v, "models");
    assert_eq!(models["columns"][3]["unit"], "test, fraction");
    let rows = models["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 4);
    for r in rows {
        let (arch, width) = (
            r["arch"].as_str().unwrap(),
            r["width"].as_u64().unwrap() as u32,
        );
        let kj = watts(arch, width) * 5.0 / 1000.0;
        assert_eq!(r["stop_epoch"], "5");
        assert!(close(r["accuracy"].as_f64().unwrap(), acc(5)), "{r}");
        assert!(close(r["energy"].as_f64().unwrap(), kj), "{r}");
        assert!(close(r["eff_eq2"].as_f64().unwrap(), acc(5) / kj), "{r}");
    }
    // Eq. 3: lenet (1.032 + 0.516) / 2, bcnn a third of it; ratio 3.
    let ratios = table(&v, "ratios");
    assert!(close(ratios["rows"][0]["value"].as_f64().unwrap(), 3.0));
    let crit = table(&v, "criteria");
    assert!(close(
        crit["rows"][0]["eq4"].as_f64().unwrap(),
        (acc(5) / 0.5 + acc(5) / 1.0) / 2.0
    ));
}

#[test]
fn censoring_sample_sum_and_paper_criteria() {
    let tmp = tempfile::tempdir().unwrap();
    archive(tmp.path());
    let (out, _) = analyzer(
        &[
            "efficiency",
            "--criterion",
            "accuracy:0.99@test",
            "--only",
            "models",
        ],
        tmp.path(),
    );
    assert_eq!(out.matches("not reached by epoch 10").count(), 4, "{out}");

    // Sample-sum: samples in [1 s, 6 s] every 10 ms = 501 samples × P.
    let (out, _) = analyzer(
        &[
            "efficiency",
            "--energy",
            "sample-sum",
            "--criterion",
            "epochs:5",
            "--format",
            "json",
        ],
        tmp.path(),
    );
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(v["notes"].to_string().contains("sample-sum (4 runs)"));
    let models = table(&v, "models");
    assert_eq!(models["columns"][5]["unit"], "1/W-sum ×10⁻⁶");
    let r = &models["rows"][0];
    assert_eq!(r["arch"], "lenet");
    assert!(
        close(
            r["eff_eq2"].as_f64().unwrap(),
            acc(5) / (501.0 * 100.0) * 1e6
        ),
        "{r}"
    );

    // The paper's set: the energy bound (100 000 W-sum) is reached by
    // lenet-1 (100 W per sample) at epoch 10, at 100 100 W-sum.
    let (out, err) = analyzer(
        &["efficiency", "--only", "models", "--format", "csv"],
        tmp.path(),
    );
    assert!(err.contains("using the paper's four"), "{err}");
    assert!(
        out.contains("# Models under 'energy bound' (energy:100000ws)"),
        "{out}"
    );
    assert!(
        out.contains("# Models under 'accuracy bound' (accuracy:0.99@train)"),
        "{out}"
    );
}

#[test]
fn epochs_command_and_broken_pipe() {
    let tmp = tempfile::tempdir().unwrap();
    archive(tmp.path());
    let (out, _) = analyzer(
        &["epochs", "--format", "csv", "--only", "epochs"],
        tmp.path(),
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 41);
    assert!(
        lines[0].ends_with("energy (kJ),Eq. 2 (acc/kJ)"),
        "{}",
        lines[0]
    );
    // lenet-1, epoch 2: 0.504 at 0.2 kJ.
    assert!(
        lines[2].starts_with("lab,mnist,lenet,1,1,,lenet-1,2,"),
        "{}",
        lines[2]
    );
    assert!(lines[2].ends_with(",0.2000,2.520"), "{}", lines[2]);

    // `analyzer epochs … | head -0`: the reader is gone before we write.
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("analyzer"))
        .arg("epochs")
        .arg(tmp.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(!err.contains("error"), "{err}");
}
