//! Tests of `analyzer report` on hand-built runs (the figures and page on
//! the real sample archive are checked in tests/cli_report.rs).

use super::*;
use crate::replay::fixtures::{run, RunSpec};
use crate::replay::CriterionSpec;

fn options() -> ReportOptions {
    let criteria = vec![
        CriterionSpec::fixed("epochs:5".parse().unwrap()),
        CriterionSpec::fixed("early-stopping:3".parse().unwrap()),
    ];
    ReportOptions {
        efficiency: EfficiencyOptions {
            criteria: criteria.clone(),
            ..EfficiencyOptions::default()
        },
        overtraining: OvertrainingOptions {
            at_a: 5,
            at_b: 10,
            criteria: criteria.clone(),
            ..OvertrainingOptions::default()
        },
        platforms: PlatformsOptions {
            criteria,
            reference: None,
            boot: Default::default(),
        },
        log_y: false,
        trace_run: None,
        formats: vec![ImageFormat::Svg],
        provenance: vec!["archive: <test>".into()],
    }
}

fn loaded(archs: &[&'static str], widths: u32, epochs: u32) -> Loaded {
    let mut runs = Vec::new();
    for arch in archs {
        for width in 1..=widths {
            let spec = RunSpec {
                arch,
                width,
                ..RunSpec::default()
            };
            runs.push(run(
                &spec,
                epochs,
                |i| 0.5 + 0.04 * f64::from(i.min(8)),
                |i| 0.5 + 0.05 * f64::from(i.min(9)),
                move |i| 100.0 * f64::from(width) * f64::from(i),
            ));
        }
    }
    Loaded {
        runs,
        excluded: vec![],
        warnings: vec![],
    }
}

#[test]
fn writes_tables_figures_and_a_self_contained_page() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("rep");
    let mut steps = Vec::new();
    let w = write_report(
        &loaded(&["lenet", "bcnn"], 2, 12),
        &options(),
        &out,
        &mut |m, d, t| steps.push((m.to_string(), d, t)),
    )
    .unwrap();
    assert_eq!(steps.last().unwrap().0, "done");
    for f in &w.files {
        assert!(f.starts_with(&out) && f.is_file(), "{}", f.display());
    }
    let html = std::fs::read_to_string(out.join("index.html")).unwrap();
    for bad in [
        "http://",
        "https://",
        "<script",
        "<link",
        "src=\"figures/",
        "url(",
    ] {
        assert!(!html.contains(bad), "index.html contains {bad}");
    }
    assert!(html.contains("data:image/svg+xml;base64,"));
    // The fixtures have no sample files: the trace is skipped, and says why.
    assert!(
        html.contains("skipped: ") && html.contains("sample segment"),
        "trace note"
    );
    assert!(out.join("figures/efficiency-per-epoch.svg").is_file());
    assert!(out.join("figures/overtraining-lab-mnist.svg").is_file());
    assert!(out.join("tables/efficiency.md").is_file());
    assert!(out.join(MARKER).is_file());
    assert!(!dir.path().join(".rep.report.tmp").exists());
}

#[test]
fn one_architecture_one_width_one_epoch_still_reports() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("tiny");
    let w = write_report(
        &loaded(&["lenet"], 1, 1),
        &options(),
        &out,
        &mut |_, _, _| {},
    )
    .unwrap();
    let html = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(
        html.contains("efficiency-per-epoch"),
        "per-epoch figure present"
    );
    // Every figure is either written or skipped with a reason on the page.
    for f in &w.figures {
        match &f.outcome {
            Rendered::Written { files, .. } => assert!(!files.is_empty()),
            Rendered::Skipped { reason } => {
                assert!(!reason.is_empty());
                assert!(
                    html.contains(&crate::export::html::escape(reason)),
                    "{reason}"
                );
            }
        }
    }
}

#[test]
fn refuses_to_replace_a_folder_that_is_not_a_report() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("thesis.tex"), "precious").unwrap();
    let e = write_report(
        &loaded(&["lenet"], 1, 3),
        &options(),
        dir.path(),
        &mut |_, _, _| {},
    )
    .unwrap_err();
    assert!(e.to_string().contains("refusing to replace"), "{e}");
    assert!(dir.path().join("thesis.tex").is_file());
    // An earlier report is replaced.
    let out = dir.path().join("r");
    write_report(
        &loaded(&["lenet"], 1, 3),
        &options(),
        &out,
        &mut |_, _, _| {},
    )
    .unwrap();
    std::fs::write(out.join("stale.txt"), "old").unwrap();
    write_report(
        &loaded(&["lenet"], 1, 3),
        &options(),
        &out,
        &mut |_, _, _| {},
    )
    .unwrap();
    assert!(!out.join("stale.txt").exists());
}
