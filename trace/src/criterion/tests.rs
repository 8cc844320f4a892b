//! Tests of the grammar and of replay semantics (SPEC §4).

use super::*;
use proptest::prelude::*;

fn points(test: &[f64]) -> Vec<EpochPoint> {
    test.iter()
        .enumerate()
        .map(|(i, &t)| EpochPoint {
            epoch: i as u32 + 1,
            train_acc: Some(t + 0.01),
            test_acc: Some(t),
            energy_j: Some(10.0 * (i as f64 + 1.0)),
            sample_sum_w: Some(1000.0 * (i as f64 + 1.0)),
            elapsed_s: 2.0 * (i as f64 + 1.0),
        })
        .collect()
}

fn stop(c: &str, p: &[EpochPoint]) -> Option<u32> {
    c.parse::<Criterion>()
        .unwrap()
        .replay(p)
        .unwrap()
        .stop_epoch()
}

#[test]
fn parses_every_form() {
    assert_eq!("epochs:50".parse(), Ok(Criterion::Epochs(50)));
    assert_eq!(
        "accuracy:0.5@test".parse(),
        Ok(Criterion::Accuracy {
            target: 0.5,
            split: Split::Test
        })
    );
    assert_eq!(
        "accuracy:0.99".parse(),
        Ok(Criterion::Accuracy {
            target: 0.99,
            split: Split::Train
        })
    );
    assert_eq!(
        "early-stopping:3,0.001,restore-best".parse(),
        Ok(Criterion::EarlyStopping {
            patience: 3,
            min_delta: 0.001,
            restore_best: true
        })
    );
    assert_eq!(
        "early-stopping:3,restore-best".parse(),
        Ok(Criterion::EarlyStopping {
            patience: 3,
            min_delta: 0.0,
            restore_best: true
        })
    );
    assert_eq!(
        "energy:2.5kWh".parse(),
        Ok(Criterion::Energy {
            bound: 2.5,
            unit: EnergyUnit::KWh
        })
    );
    assert_eq!(
        "energy:1e5ws".parse(),
        Ok(Criterion::Energy {
            bound: 1e5,
            unit: EnergyUnit::Ws
        })
    );
    assert_eq!("time:2h".parse(), Ok(Criterion::Time { seconds: 7200.0 }));
    assert_eq!("time:90s".parse(), Ok(Criterion::Time { seconds: 90.0 }));
    assert_eq!(
        "epochs:100 | accuracy:0.99".parse(),
        Ok(Criterion::FirstOf(vec![
            Criterion::Epochs(100),
            Criterion::Accuracy {
                target: 0.99,
                split: Split::Train
            }
        ]))
    );
}

#[test]
fn errors_point_at_the_character() {
    let e = "epochs:100|accurcy:0.9".parse::<Criterion>().unwrap_err();
    assert_eq!(e.position, 11);
    assert!(e.message.contains("unknown criterion 'accurcy'"), "{e}");
    let shown = e.to_string();
    assert!(shown.contains("at character 12"), "{shown}");
    assert!(
        shown.ends_with(&format!("  {}^", " ".repeat(11))),
        "{shown}"
    );

    for bad in ["energy:NaNws", "energy:nanJ", "energy:-infkWh", "time:NaNs"] {
        let e = bad.parse::<Criterion>().unwrap_err().to_string();
        assert!(e.contains("not a finite number"), "{bad}: {e}");
        assert!(!e.contains("unit"), "{bad} blamed on the unit: {e}");
    }
    let e = "energy:100".parse::<Criterion>().unwrap_err();
    assert_eq!(e.position, 10);
    assert!(e.message.contains("expected a unit"), "{e}");

    let e = "accuracy:99".parse::<Criterion>().unwrap_err();
    assert!(e.message.contains("outside [0, 1]"), "{e}");
    let e = "accuracy:0.9@val".parse::<Criterion>().unwrap_err();
    assert_eq!(e.position, 13);
    let e = "epochs:0".parse::<Criterion>().unwrap_err();
    assert_eq!(e.position, 7);
    assert!("time:5 d".parse::<Criterion>().is_err());
    assert!("".parse::<Criterion>().is_err());
}

#[test]
fn epochs_fires_at_n_or_is_censored() {
    let p = points(&[0.1; 60]);
    assert_eq!(stop("epochs:50", &p), Some(50));
    assert_eq!(
        "epochs:100"
            .parse::<Criterion>()
            .unwrap()
            .replay(&p)
            .unwrap(),
        StopDecision::Censored { last_epoch: 60 }
    );
}

#[test]
fn accuracy_uses_the_chosen_split_and_ge() {
    let p = points(&[0.5, 0.7, 0.89, 0.9, 0.95]);
    // train = test + 0.01: train reaches 0.9 at epoch 3 (0.90).
    assert_eq!(stop("accuracy:0.9", &p), Some(3));
    assert_eq!(stop("accuracy:0.9@test", &p), Some(4));
    assert_eq!(stop("accuracy:0.99@test", &p), None);
}

#[test]
fn early_stopping_counts_epochs_without_improvement() {
    // best 0.8 at epoch 2; epochs 3, 4, 5 do not improve -> stop at 5.
    let p = points(&[0.5, 0.8, 0.8, 0.79, 0.8, 0.9]);
    assert_eq!(stop("early-stopping:3", &p), Some(5));
    let d = "early-stopping:3,restore-best"
        .parse::<Criterion>()
        .unwrap()
        .replay(&p)
        .unwrap();
    assert_eq!(
        d,
        StopDecision::Stopped {
            stop_epoch: 5,
            report_epoch: 2,
            fired: "early-stopping:3,restore-best".into()
        }
    );
    // min_delta: +0.005 is not an improvement when min_delta = 0.01.
    let p = points(&[0.5, 0.505, 0.508, 0.509, 0.6]);
    assert_eq!(stop("early-stopping:3,0.01", &p), Some(4));
    assert_eq!(stop("early-stopping:3", &p), None);
}

#[test]
fn energy_bound_overshoots_by_up_to_one_epoch() {
    let p = points(&[0.1; 10]);
    // 10 J per epoch: 25 J is first reached at the end of epoch 3 (30 J).
    assert_eq!(stop("energy:25J", &p), Some(3));
    assert_eq!(stop("energy:0.03kJ", &p), Some(3));
    assert_eq!(stop("energy:5000ws", &p), Some(5));
    assert_eq!(stop("energy:1Wh", &p), None);
}

#[test]
fn time_and_first_of() {
    let p = points(&[0.1, 0.2, 0.3, 0.99, 0.99, 0.99]);
    assert_eq!(stop("time:5s", &p), Some(3));
    let d = "epochs:5|accuracy:0.99"
        .parse::<Criterion>()
        .unwrap()
        .replay(&p)
        .unwrap();
    assert_eq!(
        d,
        StopDecision::Stopped {
            stop_epoch: 4,
            report_epoch: 4,
            fired: "accuracy:0.99@train".into()
        }
    );
}

#[test]
fn missing_values_are_errors_not_guesses() {
    let mut p = points(&[0.5, 0.6]);
    p[1].test_acc = None;
    let e = "early-stopping:3"
        .parse::<Criterion>()
        .unwrap()
        .replay(&p)
        .unwrap_err();
    assert_eq!(e.epoch, 2);
    assert_eq!(e.field, "test_acc");
    p[0].sample_sum_w = None;
    assert!("energy:1ws"
        .parse::<Criterion>()
        .unwrap()
        .replay(&p)
        .is_err());
}

#[test]
fn live_prefix_replay_agrees_with_full_replay() {
    let p = points(&[0.5, 0.8, 0.8, 0.79, 0.8, 0.9, 0.91, 0.92]);
    for c in [
        "early-stopping:3",
        "accuracy:0.9@test",
        "energy:45J",
        "time:9s",
        "epochs:6",
    ] {
        let c: Criterion = c.parse().unwrap();
        let full = c.replay(&p).unwrap().stop_epoch();
        let live = (1..=p.len())
            .find(|&n| c.replay(&p[..n]).unwrap().stop_epoch() == Some(n as u32))
            .map(|n| n as u32);
        assert_eq!(full, live, "{c}");
    }
}

#[test]
fn paper_set_matches_spec() {
    let m: Vec<String> = Criterion::paper_set("mnist")
        .iter()
        .map(|c| c.to_string())
        .collect();
    assert_eq!(
        m,
        [
            "epochs:50",
            "early-stopping:3",
            "energy:100000ws",
            "accuracy:0.99@train"
        ]
    );
    assert_eq!(
        Criterion::paper_set("cifar10")[3].to_string(),
        "accuracy:0.5@train"
    );
}

fn arb_single() -> impl Strategy<Value = Criterion> {
    prop_oneof![
        (1u32..1000).prop_map(Criterion::Epochs),
        (0.0f64..=1.0, any::<bool>()).prop_map(|(t, s)| Criterion::Accuracy {
            target: t,
            split: if s { Split::Train } else { Split::Test }
        }),
        (1u32..50, prop_oneof![Just(0.0), 0.0f64..0.5], any::<bool>()).prop_map(|(p, d, r)| {
            Criterion::EarlyStopping {
                patience: p,
                min_delta: d,
                restore_best: r,
            }
        }),
        (1e-3f64..1e9, 0usize..5).prop_map(|(b, u)| Criterion::Energy {
            bound: b,
            unit: [
                EnergyUnit::J,
                EnergyUnit::KJ,
                EnergyUnit::Wh,
                EnergyUnit::KWh,
                EnergyUnit::Ws
            ][u]
        }),
        (1e-3f64..1e7).prop_map(|s| Criterion::Time { seconds: s }),
    ]
}

proptest! {
    #[test]
    fn canonical_text_round_trips(v in proptest::collection::vec(arb_single(), 1..4)) {
        let c = if v.len() == 1 { v[0].clone() } else { Criterion::FirstOf(v) };
        let back: Criterion = c.to_string().parse().unwrap();
        prop_assert_eq!(back, c);
    }

    #[test]
    fn parser_never_panics(s in "\\PC{0,40}") {
        if let Err(e) = s.parse::<Criterion>() {
            prop_assert!(e.position <= s.chars().count());
        }
    }

    #[test]
    fn parser_never_panics_on_near_misses(s in "(epochs|accuracy|early-stopping|energy|time)[:@,|0-9.eEkJWhsm -]{0,20}") {
        let _ = s.parse::<Criterion>();
    }
}
