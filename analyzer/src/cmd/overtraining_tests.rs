//! Tests of `analyzer overtraining` on hand-built runs.

use super::*;
use crate::export::{Exporter, TerminalExporter};
use crate::metrics::overtraining::Verdict;
use crate::replay::fixtures::{run, RunSpec};

fn loaded(runs: Vec<RunData>) -> Loaded {
    Loaded {
        runs,
        excluded: vec![],
        warnings: vec![],
    }
}

/// Test accuracy 0.3 + 0.01·min(i, 60): 0.8 at 50, 0.9 at 100, flat after 60.
fn rising(i: u32) -> f64 {
    0.3 + 0.01 * f64::from(i.min(60))
}

#[test]
fn hand_computed_a_b_verdict_and_onset() {
    let spec = RunSpec::default();
    // Difference grows by 0.0008 per epoch: 0.04 at 50, 0.08 at 100.
    let r = run(
        &spec,
        100,
        rising,
        |i| rising(i) + 0.0008 * f64::from(i),
        f64::from,
    );
    let models = analyse(&[r], &OvertrainingOptions::default());
    assert_eq!(models.len(), 1);
    let ModelStatus::Compared(c) = &models[0].status else {
        panic!("{:?}", models[0].status)
    };
    assert!((c.at_a.test - 0.8).abs() < 1e-12);
    assert!((c.at_b.test - 0.9).abs() < 1e-12);
    assert!((c.gain - 0.1).abs() < 1e-12);
    assert!((c.divergence - 0.04).abs() < 1e-12);
    assert_eq!(c.verdict, Verdict::NotOvertrained);
    assert_eq!(models[0].onset, Onset::At(60));

    // A stricter ratio turns the same numbers into "overtrained".
    let opts = OvertrainingOptions {
        thresholds: Thresholds {
            min_gain: 0.005,
            ratio: 0.3,
        },
        ..OvertrainingOptions::default()
    };
    let r = run(
        &spec,
        100,
        rising,
        |i| rising(i) + 0.0008 * f64::from(i),
        f64::from,
    );
    let ModelStatus::Compared(c) = analyse(&[r], &opts)[0].status else {
        panic!()
    };
    assert_eq!(c.verdict, Verdict::OvertrainedDivergence);
}

#[test]
fn folds_are_averaged_and_short_runs_reported() {
    let mut runs = Vec::new();
    for (fold, offset) in [(0u32, 0.0), (1, 0.02)] {
        let spec = RunSpec {
            fold: Some(fold),
            folds: Some(2),
            ..RunSpec::default()
        };
        runs.push(run(
            &spec,
            100,
            move |i| rising(i) + offset,
            move |i| rising(i) + offset + 0.01,
            f64::from,
        ));
    }
    // bcnn recorded only 60 epochs.
    let short = RunSpec {
        arch: "bcnn",
        ..RunSpec::default()
    };
    runs.push(run(&short, 60, rising, rising, f64::from));
    let models = analyse(&runs, &OvertrainingOptions::default());
    assert_eq!(models[0].key.arch, "lenet");
    assert_eq!(models[0].runs, 2);
    let ModelStatus::Compared(c) = &models[0].status else {
        panic!()
    };
    assert!((c.at_a.test - 0.81).abs() < 1e-12, "mean over folds");
    assert_eq!(models[1].status, ModelStatus::TooShort { last_epoch: 60 });
    // 60 epochs, flat from 60: no full window after it.
    assert_eq!(models[1].onset, Onset::NotReached(60));

    let report = report(&loaded(runs), &OvertrainingOptions::default());
    let text = TerminalExporter.render_report(&report).unwrap();
    assert!(
        text.contains("not compared: recorded 60 epochs, fewer than 100"),
        "{text}"
    );
    assert!(text.contains("not by epoch 60"), "{text}");
    assert!(
        report
            .notes
            .iter()
            .any(|n| n.contains("fewer than 100 epochs") && n.contains("bcnn-1")),
        "{:?}",
        report.notes
    );
}

fn ratio(within: &str, what: RatioKind, num: &str, den: &str, v: f64) -> RatioRow {
    RatioRow {
        platform: "lab".into(),
        kind: EnergyKind::Joules,
        what,
        within: within.into(),
        numerator: num.into(),
        denominator: den.into(),
        value: Some(v),
    }
}

#[test]
fn flips_name_the_ratio_and_the_direction() {
    let multi = vec![
        ratio("mnist", RatioKind::Arch, "lenet", "bcnn", 4.0),
        ratio("cifar10", RatioKind::Arch, "lenet", "bcnn", 5.0),
        ratio("lenet", RatioKind::Dataset, "mnist", "cifar10", 1.8),
    ];
    let later = vec![
        ratio("mnist", RatioKind::Arch, "lenet", "bcnn", 3.0),
        ratio("cifar10", RatioKind::Arch, "lenet", "bcnn", 2.0),
        ratio("lenet", RatioKind::Dataset, "mnist", "cifar10", 0.9),
    ];
    let f = flips(&multi, &later, 100);
    let sentences: Vec<&str> = f.iter().map(|f| f.sentence.as_str()).collect();
    assert_eq!(f.len(), 2, "{sentences:?}");
    assert!(
        sentences.contains(
            &"mnist/cifar10 for lenet: mnist is the more efficient under Eq. 4 (1.800) but \
              cifar10 is at epoch 100 (0.900)"
        ),
        "{sentences:?}"
    );
    assert!(
        sentences.contains(
            &"lenet/bcnn grows from mnist to cifar10 under Eq. 4 (4.000 → 5.000) but shrinks at \
              epoch 100 (3.000 → 2.000)"
        ),
        "{sentences:?}"
    );
    // Nothing flips when both move the same way.
    assert!(flips(&multi, &multi, 100).is_empty());
}

#[test]
fn table_14_puts_eq3_at_b_beside_eq4() {
    let mut runs = Vec::new();
    for (arch, j) in [("lenet", 100.0), ("bcnn", 400.0)] {
        for width in 1..=2 {
            let spec = RunSpec {
                arch,
                width,
                ..RunSpec::default()
            };
            runs.push(run(&spec, 100, rising, rising, move |i| j * f64::from(i)));
        }
    }
    let opts = OvertrainingOptions {
        criteria: vec![
            CriterionSpec::fixed("epochs:10".parse().unwrap()),
            CriterionSpec::fixed("epochs:20".parse().unwrap()),
        ],
        ..OvertrainingOptions::default()
    };
    let report = report(&loaded(runs), &opts);
    let t = report
        .tables
        .iter()
        .find(|t| t.id == "eq3-at-b")
        .expect("table 14");
    // lenet at 100: 0.9 / 10 kJ = 0.09 /kJ per width.
    assert_eq!(t.rows[0][2], Cell::text("lenet"));
    let eq3 = t.rows[0][3].value().unwrap();
    assert!((eq3 - 0.09).abs() < 1e-9, "{eq3}");
    assert_eq!(t.rows[0][4], Cell::text("2"));
    // Eq. 4: mean of (0.4/1 kJ, 0.5/2 kJ) = (0.4 + 0.25) / 2.
    let eq4 = t.rows[0][5].value().unwrap();
    assert!((eq4 - 0.325).abs() < 1e-9, "{eq4}");
    let ratios = report
        .tables
        .iter()
        .find(|t| t.id == "ratios-at-b")
        .unwrap();
    // lenet/bcnn = 4 under both: no flip.
    assert_eq!(ratios.rows[0][5], Cell::text("yes"));
    assert!(ratios.notes[0].contains("no conclusion flips"));
}
