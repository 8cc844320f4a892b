//! Boundary reads (format 1.1): a counter read at the very instant an epoch
//! ends gives that epoch's energy as a plain difference. Without it the
//! counter is interpolated between the reads around the boundary, which is
//! off by a known amount when power is not constant between them.
//!
//! The source is a square wave with a 100 ms period: 0 W for the first
//! 50 ms, 200 W for the second 50 ms, read every 100 ms at the start of a
//! period (so each read adds exactly 10 J). Epoch 1 runs from 0.5 s (a read
//! falls there) to 1.05 s (mid-period). By hand: the exact energy is 10.5
//! periods' worth minus the half period's low part: E(1.05 s) − E(0.5 s) =
//! (100 J + 0 J) − 50 J = 50 J. Interpolating at 1.05 s between 100 J (at
//! 1.0 s) and 110 J (at 1.1 s) gives 105 J, so 55 J: 5 J (10 %) too much.

#![allow(clippy::unwrap_used)]

mod archive_support;

use analyzer::archive::{load, LoadOptions};
use archive_support::*;
use trainwatt_trace::{Domain, Method, RunStatus};

/// Regular reads every 100 ms from 0 to 2 s; the counter adds 10 J per
/// period; the power column holds the instant's watts (0 W at a period's
/// start).
fn square_wave(boundary_rows: bool) -> RunSpec {
    let mut rows = track(
        "rapl:0",
        (0..=20).map(|k| k * 100 * MS),
        |_| Some(0.0),
        |t| Some(t / (100 * MS) * 10_000_000),
    );
    if boundary_rows {
        // The recorder's read at the end of epoch 1: exact counter, and a
        // power reading that must not join the paper's sample-sum.
        let mut b = sample(1_050 * MS, "rapl:0", Some(999.0), Some(100_000_000));
        b.boundary = Some(true);
        let at = rows.iter().position(|r| r.t_ns > 1_050 * MS).unwrap();
        rows.insert(at, b);
        for r in &mut rows {
            r.boundary.get_or_insert(false);
        }
    }
    let m = manifest(
        vec![source(
            "rapl:0",
            Domain::CpuPackage,
            Method::MeasuredCounter,
            10.0,
        )],
        RunStatus::Complete,
    );
    RunSpec::new(m, epochs(1, 500 * MS, 550 * MS, 0), rows)
}

#[test]
fn boundary_reads_give_the_exact_energy_and_interpolation_does_not() {
    let tmp = tempfile::tempdir().unwrap();
    let with = square_wave(true).write(&tmp.path().join("with"));
    let without = square_wave(false).write(&tmp.path().join("without"));
    let opts = LoadOptions::default();
    let with = load(&[with], &opts).unwrap();
    let without = load(&[without], &opts).unwrap();
    assert!(with.excluded.is_empty(), "{:?}", with.excluded);
    assert!(without.excluded.is_empty(), "{:?}", without.excluded);
    let (w, wo) = (&with.runs[0], &without.runs[0]);

    assert!(
        (w.epochs[0].energy_j - 50.0).abs() < 1e-9,
        "{}",
        w.epochs[0].energy_j
    );
    assert!(
        (wo.epochs[0].energy_j - 55.0).abs() < 1e-9,
        "{}",
        wo.epochs[0].energy_j
    );
    assert!(w.boundary_reads);
    assert!(!wo.boundary_reads);
    // The boundary row's 999 W is not one of the paper's samples.
    assert_eq!(w.epochs[0].sample_sum_w, wo.epochs[0].sample_sum_w);
}

#[test]
fn a_run_missing_a_boundary_read_says_where() {
    let tmp = tempfile::tempdir().unwrap();
    let mut spec = square_wave(true);
    // Two epochs: the second ends at 1.55 s, where no read is.
    spec.epochs = epochs(2, 500 * MS, 550 * MS, 0);
    spec.epochs[1].end_ns = 1_550 * MS;
    let dir = spec.write(&tmp.path().join("partial"));
    let loaded = load(&[dir], &LoadOptions::default()).unwrap();
    let r = &loaded.runs[0];
    assert!(!r.boundary_reads);
    let w = r.warnings.join(" | ");
    assert!(w.contains("none for `rapl:0` at the end of epoch 2"), "{w}");
    assert!(w.contains("interpolated"), "{w}");
}
