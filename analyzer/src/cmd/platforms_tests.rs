//! Tests of `analyzer platforms` on hand-built runs.

use super::*;
use crate::export::{Exporter, TerminalExporter};
use crate::replay::fixtures::{run, RunSpec};
use trainwatt_trace::{Domain, Method, SourceInfo};

/// lenet and bcnn, widths 1–2, on `platform`; energies scaled by `scale`.
fn platform_runs(platform: &'static str, scale: f64, epochs: u32) -> Vec<RunData> {
    let mut runs = Vec::new();
    for (arch, j) in [("lenet", 100.0), ("bcnn", 400.0)] {
        for width in 1..=2 {
            let spec = RunSpec {
                platform,
                arch,
                width,
                ..RunSpec::default()
            };
            let mut r = run(
                &spec,
                epochs,
                |_| 0.9,
                |_| 0.95,
                move |i| scale * j * f64::from(i),
            );
            r.manifest.workload.protocol = Some("holdout".into());
            r.manifest.host.hostname = format!("{platform}-host");
            r.manifest.sources.push(SourceInfo {
                id: "nvml:0".into(),
                domain: Domain::Gpu,
                method: Method::MeasuredPower,
                description: String::new(),
                poll_hz: 1000.0,
                settings: Default::default(),
            });
            runs.push(r);
        }
    }
    runs
}

fn options(reference: Option<&str>) -> PlatformsOptions {
    PlatformsOptions {
        criteria: vec![CriterionSpec::fixed("epochs:10".parse().unwrap())],
        reference: reference.map(str::to_string),
        boot: BootstrapOptions::default(),
    }
}

fn loaded(runs: Vec<RunData>) -> Loaded {
    Loaded {
        runs,
        excluded: vec![],
        warnings: vec![],
    }
}

#[test]
fn each_platform_against_the_reference() {
    // "fast" spends half the energy of "slow": twice the efficiency.
    let mut runs = platform_runs("slow", 1.0, 20);
    runs.extend(platform_runs("fast", 0.5, 20));
    let report = report(&loaded(runs), &options(Some("slow"))).unwrap();
    let t = report
        .tables
        .iter()
        .find(|t| t.id == "platform-reference")
        .unwrap();
    assert_eq!(t.title, "Each platform against slow (Table A2)");
    // Rows: mnist lenet fast, mnist bcnn fast.
    assert_eq!(t.rows.len(), 2);
    assert_eq!(t.rows[0][1], Cell::text("lenet"));
    assert_eq!(t.rows[0][2], Cell::text("fast"));
    let ratio = t.rows[0][5].value().unwrap();
    assert!((ratio - 2.0).abs() < 1e-9, "{ratio}");
    // Eq. 4 table: one column per platform, never pooled.
    let eq4 = report
        .tables
        .iter()
        .find(|t| t.id == "platform-eq4")
        .unwrap();
    let headers: Vec<String> = eq4.columns.iter().map(|c| c.name.clone()).collect();
    assert_eq!(headers, ["dataset", "arch", "fast", "slow"]);
    // lenet on slow at epoch 10: 0.9 / 1 kJ.
    assert!((eq4.rows[0][3].value().unwrap() - 0.9).abs() < 1e-9);
    // Ratios within each platform: lenet/bcnn = 4 on both.
    let within = report.tables.iter().find(|t| t.id == "ratios").unwrap();
    let text = TerminalExporter.render_report(&report).unwrap();
    assert!(within.title.contains("within each platform"), "{text}");
    assert!(
        !report
            .notes
            .iter()
            .any(|n| n.contains("DIFFERENT PROTOCOLS")),
        "{:?}",
        report.notes
    );
}

#[test]
fn default_reference_and_unknown_reference() {
    let mut runs = platform_runs("b-lab", 1.0, 20);
    runs.extend(platform_runs("a-lab", 1.0, 20));
    let l = loaded(runs);
    let a = analyse(&l, &options(None)).unwrap();
    assert_eq!(a.reference, "a-lab");
    let e = analyse(&l, &options(Some("c-lab"))).unwrap_err();
    assert!(
        e.contains("--reference c-lab") && e.contains("a-lab, b-lab"),
        "{e}"
    );
}

#[test]
fn warns_about_protocols_and_modelled_power() {
    let mut runs = platform_runs("slow", 1.0, 20);
    let mut other = platform_runs("fast", 0.5, 30);
    for r in &mut other {
        r.modelled = true;
        r.manifest.sources[0].method = Method::Modelled;
        r.manifest.sources[0].id = "model:cpu".into();
    }
    runs.extend(other);
    let report = report(&loaded(runs), &options(None)).unwrap();
    let diff = report
        .notes
        .iter()
        .find(|n| n.contains("DIFFERENT PROTOCOLS on mnist"))
        .unwrap_or_else(|| panic!("{:?}", report.notes));
    assert!(diff.contains("fast: holdout, 30 epochs"), "{diff}");
    assert!(diff.contains("slow: holdout, 20 epochs"), "{diff}");
    assert!(
        report.notes.iter().any(|n| n.starts_with(
            "MODELLED: platform fast: 4 of 4 runs include modelled sources (model:cpu)"
        )),
        "{:?}",
        report.notes
    );
    let facts = report
        .tables
        .iter()
        .find(|t| t.id == "platform-facts")
        .unwrap();
    assert_eq!(facts.rows[0][0], Cell::text("fast"));
    assert_eq!(facts.rows[0][6], Cell::text("model:cpu"));
    assert_eq!(facts.rows[1][5], Cell::text("nvml:0"));
}

#[test]
fn one_platform_says_there_is_nothing_to_compare() {
    let report = report(&loaded(platform_runs("solo", 1.0, 20)), &options(None)).unwrap();
    assert!(report
        .notes
        .iter()
        .any(|n| n.contains("only one platform (solo)")));
    assert!(!report.tables.iter().any(|t| t.id == "platform-reference"));
}
