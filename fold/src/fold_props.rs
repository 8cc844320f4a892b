//! Property tests of the sample fold: for any sequence of rows, either the
//! energy of every epoch is the closed form (constant power P: E(k) = P ×
//! (bₖ − b₀), by counter and by trapezoid), or the fold names the bad row;
//! never a panic, never a silently different number.

use super::*;
use proptest::prelude::*;

const MS: i64 = 1_000_000;

/// What to do to one row of an otherwise clean track.
#[derive(Debug, Clone, Copy)]
enum Fault {
    None,
    NanPower,
    NegativePower,
    AbsurdPower,
    Backwards,
    SameInstantOtherPower,
    ExactRepeat,
    CounterDown,
    CounterJump,
}

fn fault() -> impl Strategy<Value = Fault> {
    prop_oneof![
        3 => Just(Fault::None),
        1 => Just(Fault::NanPower),
        1 => Just(Fault::NegativePower),
        1 => Just(Fault::AbsurdPower),
        1 => Just(Fault::Backwards),
        1 => Just(Fault::SameInstantOtherPower),
        1 => Just(Fault::ExactRepeat),
        1 => Just(Fault::CounterDown),
        1 => Just(Fault::CounterJump),
    ]
}

/// Rows (t_ns, power, µJ) of a source drawing `p_w` from t = 0, sampled
/// at the given gaps (ms); the counter is exact (W × ms = mJ = 1000 µJ).
fn clean_rows(p_w: i64, gaps_ms: &[i64]) -> Vec<(i64, f64, i64)> {
    let mut t_ms = 0;
    let mut rows = vec![(0, p_w as f64, 0)];
    for g in gaps_ms {
        t_ms += g;
        rows.push((t_ms * MS, p_w as f64, p_w * t_ms * 1000));
    }
    rows
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn energy_is_the_closed_form_or_a_named_row(
        p_w in 1i64..2_000,
        gaps_ms in prop::collection::vec(1i64..200, 20..200),
        cuts in prop::collection::vec(0.05f64..0.95, 1..6),
        fault in fault(),
        at in 1usize..1_000,
    ) {
        let mut rows = clean_rows(p_w, &gaps_ms);
        let end_ns = rows.last().map_or(0, |r| r.0);
        // Boundaries strictly inside the track, strictly increasing.
        let mut bounds: Vec<i64> = cuts.iter().map(|c| (c * end_ns as f64) as i64).collect();
        bounds.sort_unstable();
        bounds.dedup();
        prop_assume!(bounds.len() >= 2 && bounds[0] > 0);
        let k = at % (rows.len() - 1) + 1; // never the first row
        let mut bad_row = Some(k as u64);
        match fault {
            Fault::None => bad_row = None,
            Fault::NanPower => rows[k].1 = f64::NAN,
            Fault::NegativePower => rows[k].1 = -1.0,
            Fault::AbsurdPower => rows[k].1 = 1e6,
            Fault::Backwards => rows[k].0 = rows[k - 1].0 - 1,
            Fault::SameInstantOtherPower => {
                let mut twin = rows[k - 1];
                twin.1 += 1.0;
                rows.insert(k, twin);
            }
            Fault::ExactRepeat => {
                let twin = rows[k - 1];
                rows.insert(k, twin);
                bad_row = None;
            }
            Fault::CounterDown => rows[k].2 = rows[k - 1].2 - 1,
            Fault::CounterJump => rows[k].2 += 1_000_000_000_000_000,
        }
        let mut f = RunFold::new(bounds.clone(), &[i64::MAX], true);
        for (row, (t, p, e)) in rows.iter().enumerate() {
            f.push(row as u64, 0, Some(*t), Some(*p), Some(*e));
        }
        match bad_row {
            Some(r) => {
                // The bad row is named.
                prop_assert!(
                    f.problems.iter().any(|p| p.row == r),
                    "{fault:?} at row {r}: problems {:?}", f.problems
                );
            }
            None => {
                prop_assert!(f.problems.is_empty(), "{:?}", f.problems);
                let s = &f.sources[0];
                let b0 = bounds[0];
                for (i, &b) in bounds.iter().enumerate().skip(1) {
                    let want_j = p_w as f64 * (b - b0) as f64 * 1e-9;
                    let by_counter = s.c_at[i].unwrap().minus_j(s.c_at[0].unwrap());
                    let by_area = s.area_to(i);
                    let tol = 1e-9 * want_j.max(1.0);
                    prop_assert!((by_counter - want_j).abs() <= tol.max(2e-6),
                        "counter E({i}) {by_counter} vs {want_j}");
                    prop_assert!((by_area - want_j).abs() <= tol,
                        "trapezoid E({i}) {by_area} vs {want_j}");
                }
                if matches!(fault, Fault::ExactRepeat) {
                    prop_assert_eq!(f.exact_duplicates, 1);
                }
            }
        }
    }

    /// Arbitrary rows, however wrong: the fold never panics, and every
    /// problem it reports names a row that exists.
    #[test]
    fn arbitrary_rows_never_panic(
        rows in prop::collection::vec(
            (prop::option::of(any::<i64>()), prop::option::of(any::<f64>()), prop::option::of(any::<i64>()), 0usize..3),
            0..300,
        ),
        bounds in prop::collection::vec(any::<i64>(), 1..5),
    ) {
        let mut bounds = bounds;
        bounds.sort_unstable();
        bounds.dedup();
        let mut f = RunFold::new(bounds, &[1_000_000_000, 5, i64::MAX], true);
        for (row, (t, p, e, s)) in rows.iter().enumerate() {
            f.push(row as u64, *s, *t, *p, *e);
        }
        prop_assert!(f.problems.iter().all(|p| (p.row as usize) < rows.len()));
        for s in &f.sources {
            prop_assert!(s.area_ws.iter().all(|a| !a.is_nan() || s.n_power > 0));
        }
    }
}
