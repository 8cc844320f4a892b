use super::fixtures::{run, RunSpec};
use super::*;
use crate::model::EnergyMode;

fn crit(s: &str) -> Criterion {
    s.parse().unwrap()
}

/// Test accuracy rises to 0.9 at epoch 5 then falls; 100 J per epoch.
fn peaked(spec: &RunSpec) -> RunData {
    run(
        spec,
        10,
        |i| {
            if i <= 5 {
                0.5 + 0.08 * f64::from(i)
            } else {
                0.9 - 0.01 * f64::from(i - 5)
            }
        },
        |i| 0.6 + 0.04 * f64::from(i),
        |i| 100.0 * f64::from(i),
    )
}

#[test]
fn early_stopping_pays_to_the_stop_and_restore_best_reports_the_best() {
    let r = peaked(&RunSpec::default());
    let plain = replay_run(&r, &crit("early-stopping:3"), EnergyBasis::Gross).unwrap();
    let RunStop::Stopped {
        stop_epoch,
        report_epoch,
        acc,
        energy,
        ..
    } = plain
    else {
        panic!("{plain:?}")
    };
    assert_eq!((stop_epoch, report_epoch), (8, 8));
    assert!((acc - 0.87).abs() < 1e-12);
    assert_eq!(energy, 800.0);

    let best = replay_run(
        &r,
        &crit("early-stopping:3,restore-best"),
        EnergyBasis::Gross,
    )
    .unwrap();
    let RunStop::Stopped {
        stop_epoch,
        report_epoch,
        acc,
        energy,
        ..
    } = best
    else {
        panic!("{best:?}")
    };
    assert_eq!((stop_epoch, report_epoch), (8, 5));
    assert!((acc - 0.9).abs() < 1e-12, "the best epoch's accuracy");
    assert_eq!(energy, 800.0, "but the energy up to the stop");
}

#[test]
fn censored_is_never_the_last_epoch() {
    let r = peaked(&RunSpec::default());
    assert_eq!(
        replay_run(&r, &crit("accuracy:0.99@test"), EnergyBasis::Gross).unwrap(),
        RunStop::Censored { last_epoch: 10 }
    );
    let reps = BTreeMap::from([(Repetition::Single(0), vec![&r])]);
    let out = replay_model(&reps, &crit("epochs:50"), EnergyBasis::Gross);
    assert_eq!(
        out,
        ModelOutcome::Censored {
            last: EpochRange::single(10),
            censored_runs: 1,
            runs: 1
        }
    );
    assert_eq!(out.eff(), None);
}

#[test]
fn energy_follows_mode_and_basis() {
    let joules = peaked(&RunSpec::default());
    let ws = peaked(&RunSpec {
        mode: EnergyMode::SampleSum,
        ..RunSpec::default()
    });
    let at = |r: &RunData, b| match replay_run(r, &crit("epochs:4"), b).unwrap() {
        RunStop::Stopped { energy, .. } => energy,
        s => panic!("{s:?}"),
    };
    assert_eq!(at(&joules, EnergyBasis::Gross), 400.0);
    assert_eq!(at(&joules, EnergyBasis::Net), 200.0);
    assert_eq!(at(&ws, EnergyBasis::Gross), 4000.0);
    assert!(matches!(
        replay_run(&ws, &crit("epochs:4"), EnergyBasis::Net),
        Err(RunReplayError::NoEnergy { epoch: 4, .. })
    ));
    // An energy bound in J sees net energy under the net basis.
    let stop = |b| replay_run(&joules, &crit("energy:0.3kJ"), b).unwrap();
    assert!(matches!(
        stop(EnergyBasis::Gross),
        RunStop::Stopped { stop_epoch: 3, .. }
    ));
    assert!(matches!(
        stop(EnergyBasis::Net),
        RunStop::Stopped { stop_epoch: 6, .. }
    ));
    // The paper's bound is in sample-sum units whatever the display mode.
    assert!(matches!(
        replay_run(&joules, &crit("energy:2500ws"), EnergyBasis::Gross).unwrap(),
        RunStop::Stopped { stop_epoch: 3, .. }
    ));
}

#[test]
fn missing_test_accuracy_is_an_error_not_a_zero() {
    let mut r = peaked(&RunSpec::default());
    r.epochs[3].row.test_acc = None;
    let e = replay_run(&r, &crit("epochs:4"), EnergyBasis::Gross).unwrap_err();
    assert!(e.to_string().contains("no test accuracy at epoch 4"), "{e}");
}

#[test]
fn folds_average_accuracy_and_energy_per_fold() {
    // Fold 0: 0.8 at 100 J/epoch; fold 1: 0.6 at 300 J/epoch.
    let fold = |f: u32, acc: f64, j: f64| {
        run(
            &RunSpec {
                dataset: "cifar10",
                fold: Some(f),
                folds: Some(2),
                ..RunSpec::default()
            },
            5,
            move |_| acc,
            |_| 0.1,
            move |i| j * f64::from(i),
        )
    };
    let runs = vec![fold(0, 0.8, 100.0), fold(1, 0.6, 300.0)];
    let out = replay_models(
        &runs,
        &[CriterionSpec::fixed(crit("epochs:2"))],
        EnergyBasis::Gross,
    );
    assert!(out.warnings.is_empty(), "{:?}", out.warnings);
    assert_eq!(out.results.len(), 1);
    let ModelOutcome::Stopped {
        acc,
        energy,
        eff,
        runs: n,
        replicates,
        ..
    } = &out.results[0].outcome
    else {
        panic!("{:?}", out.results[0])
    };
    assert!((acc - 0.7).abs() < 1e-12);
    assert_eq!(*energy, Some(400.0));
    assert!(
        (eff.unwrap() - 0.7 / 400.0).abs() < 1e-15,
        "ratio of means, not mean of ratios"
    );
    assert_eq!((*n, replicates.len()), (2, 1));
}

#[test]
fn one_censored_fold_censors_the_model_and_missing_folds_warn() {
    let spec = |f| RunSpec {
        fold: Some(f),
        folds: Some(3),
        ..RunSpec::default()
    };
    let fast = run(&spec(0), 5, |i| 0.2 * f64::from(i), |_| 0.0, f64::from);
    let slow = run(&spec(1), 5, |_| 0.5, |_| 0.0, f64::from);
    let out = replay_models(
        &[fast, slow],
        &[CriterionSpec::fixed(crit("accuracy:0.6@test"))],
        EnergyBasis::Gross,
    );
    assert!(matches!(
        out.results[0].outcome,
        ModelOutcome::Censored {
            censored_runs: 1,
            runs: 2,
            ..
        }
    ));
    assert!(
        out.warnings.iter().any(|w| w.contains("2 of 3 CV folds")),
        "{:?}",
        out.warnings
    );
}

#[test]
fn seeds_are_replicates_and_paper_criteria_follow_the_dataset() {
    let seed = |s, acc: f64| {
        run(
            &RunSpec {
                seed: Some(s),
                ..RunSpec::default()
            },
            60,
            move |_| acc,
            |i| if i >= 40 { 0.995 } else { 0.9 },
            |i| 1000.0 * f64::from(i),
        )
    };
    let runs = vec![seed(1, 0.97), seed(2, 0.99)];
    let specs = CriterionSpec::paper_set();
    let out = replay_models(&runs, &specs, EnergyBasis::Gross);
    assert_eq!(out.results.len(), 4);
    let acc_bound = &out.results[3];
    assert_eq!(acc_bound.criterion, "accuracy bound");
    assert_eq!(acc_bound.rule, "accuracy:0.99@train");
    // Train accuracy reaches 0.99 at epoch 40.
    let ModelOutcome::Stopped {
        stop, replicates, ..
    } = &acc_bound.outcome
    else {
        panic!()
    };
    assert_eq!(stop.display(), "40");
    assert_eq!(replicates.len(), 2);
    assert_eq!(
        CriterionSpec::paper_set()[3].for_dataset("cifar10"),
        Some(crit("accuracy:0.5@train"))
    );
}

#[test]
fn first_of_reports_which_member_fired() {
    let fast = run(
        &RunSpec::default(),
        10,
        |i| 0.1 * f64::from(i),
        |_| 0.5,
        f64::from,
    );
    let slow = run(
        &RunSpec {
            seed: Some(2),
            ..RunSpec::default()
        },
        10,
        |_| 0.5,
        |_| 0.5,
        f64::from,
    );
    let spec = CriterionSpec::fixed(crit("epochs:8|accuracy:0.6@test"));
    let out = replay_models(&[fast, slow], &[spec], EnergyBasis::Gross);
    let ModelOutcome::Stopped { fired, stop, .. } = &out.results[0].outcome else {
        panic!("{:?}", out.results[0])
    };
    assert_eq!(stop.display(), "6–8");
    assert_eq!(fired.get("accuracy:0.6@test"), Some(&1));
    assert_eq!(fired.get("epochs:8"), Some(&1));
    let summary = crate::metrics::summary::summarise(
        &out.results,
        &["epochs:8|accuracy:0.6@test".into()],
        Default::default(),
    );
    let tables =
        crate::cmd::paper_tables::model_tables(&out.results, &summary, &Default::default());
    let col = tables[0]
        .columns
        .iter()
        .position(|c| c.key == "fired")
        .unwrap();
    assert_eq!(
        tables[0].rows[0][col],
        crate::export::Cell::text("accuracy:0.6@test (1 run), epochs:8 (1 run)")
    );
}
