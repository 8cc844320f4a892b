//! Energy per epoch against analytic traces, to 1e-9 relative, in each mode
//! (SPEC §2): constant and piecewise-linear power, even and uneven sampling,
//! unwrapped counters, two sources, component selection and the baseline.
#![allow(clippy::unwrap_used)]

mod archive_support;

use analyzer::archive::{load, LoadOptions};
use analyzer::model::{EnergyMode, RunData};
use archive_support::*;
use rand::{RngExt, SeedableRng};
use trainwatt_trace::{Domain, Method, RunStatus};

/// Epoch boundaries off the sample grid: 5 epochs of 1.7003 s with 0.1234567 s
/// between them, from 1.0003217 s.
fn five_epochs() -> Vec<Epoch> {
    epochs(5, 1_000_321_700, 1_700_300_000, 123_456_700)
}

fn bounds(ep: &[Epoch]) -> Vec<i64> {
    std::iter::once(ep[0].start_ns)
        .chain(ep.iter().map(|e| e.end_ns))
        .collect()
}

fn load_one(dir: &std::path::Path, opts: &LoadOptions) -> RunData {
    let loaded = load(&[dir.to_path_buf()], opts).unwrap();
    assert!(loaded.excluded.is_empty(), "{:?}", loaded.excluded);
    assert_eq!(loaded.runs.len(), 1);
    loaded.runs.into_iter().next().unwrap()
}

fn with_mode(energy: Option<EnergyMode>) -> LoadOptions {
    LoadOptions {
        energy,
        ..LoadOptions::default()
    }
}

/// Σ of the samples' power over [b₀, bᵢ], brute force.
fn brute_sample_sum(samples: &[Sample], b0: i64, bi: i64) -> f64 {
    samples
        .iter()
        .filter(|s| s.t_ns >= b0 && s.t_ns <= bi)
        .filter_map(|s| s.power_w)
        .map(f64::from)
        .sum()
}

/// Triangle wave: 50 W rising 2⁻¹² W per µs for half a second, then falling
/// back, period 1 s. Exact in f32 at every whole µs.
const SLOPE_W_PER_NS: f64 = 1.0 / 4096.0 / 1000.0;
fn triangle_w(t: i64) -> f64 {
    let tau = t.rem_euclid(S);
    let rise = if tau <= S / 2 { tau } else { S - tau };
    50.0 + rise as f64 * SLOPE_W_PER_NS
}

/// ∫₀ᵗ triangle, J, in closed form (per period plus a quadratic).
fn triangle_integral_j(t: i64) -> f64 {
    let (h, k) = (0.5, SLOPE_W_PER_NS * 1e9);
    let per_period = 50.0 + k * h * h;
    let periods = t.div_euclid(S) as f64;
    let tau = t.rem_euclid(S) as f64 * 1e-9;
    let g = if tau <= h {
        50.0 * tau + k * tau * tau / 2.0
    } else {
        let up = 50.0 * h + k * h * h / 2.0;
        let u = tau - h;
        up + 50.0 * u + k * (h * u - u * u / 2.0)
    };
    periods * per_period + g
}

#[test]
fn constant_power_in_all_three_modes() {
    let tmp = tempfile::tempdir().unwrap();
    let ep = five_epochs();
    let samples = track(
        "nvml:0",
        (0..=12_000).map(|k| k * MS),
        |_| Some(100.0),
        |t| Some(500_000_000_000 + t / 10),
    );
    let m = manifest(
        vec![source(
            "nvml:0",
            Domain::Gpu,
            Method::MeasuredCounter,
            1000.0,
        )],
        RunStatus::Complete,
    );
    let dir = RunSpec::new(m, ep.clone(), samples.clone())
        .segmented(2_500)
        .write(&tmp.path().join("run=a"));
    let b = bounds(&ep);
    for (mode, want_mode) in [
        (None, EnergyMode::Counter),
        (Some(EnergyMode::Counter), EnergyMode::Counter),
        (Some(EnergyMode::Integral), EnergyMode::Integral),
        (Some(EnergyMode::SampleSum), EnergyMode::SampleSum),
    ] {
        let run = load_one(&dir, &with_mode(mode));
        assert_eq!(run.energy_mode, want_mode);
        assert!(!run.modelled);
        assert!(run.warnings.is_empty(), "{:?}", run.warnings);
        assert_eq!(run.epochs.len(), 5);
        for (i, e) in run.epochs.iter().enumerate() {
            let dt = (b[i + 1] - b[0]) as f64 * 1e-9;
            assert_eq!(e.epoch as usize, i + 1);
            assert_close(e.elapsed_s, dt, "elapsed");
            assert_close(e.energy_j, 100.0 * dt, &format!("{mode:?} E({})", i + 1));
            let want = brute_sample_sum(&samples, b[0], b[i + 1]);
            assert_close(e.sample_sum_w, want, "sample sum");
            assert!(e.net_energy_j.is_none());
            assert_eq!(e.test_acc, ep[i].test_acc);
        }
    }
}

#[test]
fn piecewise_linear_power_integral_even_and_uneven_sampling() {
    let tmp = tempfile::tempdir().unwrap();
    let ep = five_epochs();
    let b = bounds(&ep);
    let even: Vec<i64> = (0..=12_000).map(|k| k * MS).collect();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    let mut uneven = vec![0i64];
    while *uneven.last().unwrap() < 12 * S {
        let step_us = rng.random_range(150..2_000);
        uneven.push(uneven.last().unwrap() + step_us * 1_000);
    }
    // The triangle's corners must be sample times for the trapezoid to be exact.
    uneven.extend((0..=24).map(|h| h * S / 2));
    uneven.sort();
    uneven.dedup();
    for (name, times) in [("even", even), ("uneven", uneven)] {
        let samples = track("amd:0", times, |t| Some(triangle_w(t) as f32), |_| None);
        assert!(samples
            .iter()
            .all(|s| f64::from(s.power_w.unwrap()) == triangle_w(s.t_ns)));
        let m = manifest(
            vec![source("amd:0", Domain::Gpu, Method::MeasuredPower, 1000.0)],
            RunStatus::Complete,
        );
        let dir = RunSpec::new(m, ep.clone(), samples.clone()).write(&tmp.path().join(name));
        let run = load_one(&dir, &LoadOptions::default());
        assert_eq!(run.energy_mode, EnergyMode::Integral, "power-only source");
        for (i, e) in run.epochs.iter().enumerate() {
            let want = triangle_integral_j(b[i + 1]) - triangle_integral_j(b[0]);
            assert_close(e.energy_j, want, &format!("{name} E({})", i + 1));
            let ss = brute_sample_sum(&samples, b[0], b[i + 1]);
            assert_close(e.sample_sum_w, ss, "sample sum");
        }
    }
}

#[test]
fn two_sources_unwrapped_counters_and_default_mode_choice() {
    let tmp = tempfile::tempdir().unwrap();
    let ep = five_epochs();
    let b = bounds(&ep);
    // GPU: 100 W, 1 kHz. CPU package: 30 W, 50 Hz with another phase, its
    // counter past RAPL's 262 143 328 850 µJ wrap (already unwrapped).
    let gpu = track(
        "nvml:0",
        (0..=12_000).map(|k| k * MS),
        |_| Some(100.0),
        |t| Some(7_000_000 + t / 10),
    );
    let cpu = track(
        "rapl:package-0",
        (0..=600).map(|k| 3_400 + k * 20 * MS),
        |_| Some(30.0),
        |t| Some(262_143_000_000 + t * 3 / 100),
    );
    assert!(cpu.last().unwrap().energy_uj.unwrap() > 262_143_328_850);
    let all = interleave(vec![gpu, cpu]);
    let counters = manifest(
        vec![
            source("nvml:0", Domain::Gpu, Method::MeasuredCounter, 1000.0),
            source(
                "rapl:package-0",
                Domain::CpuPackage,
                Method::MeasuredCounter,
                50.0,
            ),
        ],
        RunStatus::Complete,
    );
    let dir = RunSpec::new(counters.clone(), ep.clone(), all.clone())
        .segmented(4_000)
        .write(&tmp.path().join("counters"));
    let run = load_one(&dir, &LoadOptions::default());
    assert_eq!(run.energy_mode, EnergyMode::Counter);
    for (i, e) in run.epochs.iter().enumerate() {
        let dt = (b[i + 1] - b[0]) as f64 * 1e-9;
        assert_close(e.energy_j, 130.0 * dt, "two counters");
    }
    let integral = load_one(&dir, &with_mode(Some(EnergyMode::Integral)));
    for (e, c) in integral.epochs.iter().zip(&run.epochs) {
        assert_close(
            e.energy_j,
            c.energy_j,
            "integral = counter for constant power",
        );
    }

    // The same data, but the GPU only reports power: default is integral.
    let mut mixed = counters;
    mixed.sources[0].method = Method::MeasuredPower;
    let dir = RunSpec::new(mixed, ep.clone(), all).write(&tmp.path().join("mixed"));
    let run = load_one(&dir, &LoadOptions::default());
    assert_eq!(run.energy_mode, EnergyMode::Integral);
    let dt = (b[5] - b[0]) as f64 * 1e-9;
    assert_close(run.epochs[4].energy_j, 130.0 * dt, "mixed");
}

#[test]
fn components_select_additive_sources_and_modelled_is_flagged() {
    let tmp = tempfile::tempdir().unwrap();
    let ep = five_epochs();
    let b = bounds(&ep);
    let times = || (0..=12_000).map(|k| k * MS);
    let all = interleave(vec![
        track("nvml:0", times(), |_| Some(100.0), |_| None),
        track("rapl:core", times(), |_| Some(1000.0), |_| None),
        track("rapl:psys", times(), |_| Some(2000.0), |_| None),
        track("model:dram", times(), |_| Some(8.0), |_| None),
    ]);
    let m = manifest(
        vec![
            source("nvml:0", Domain::Gpu, Method::MeasuredPower, 1000.0),
            source("rapl:core", Domain::CpuCore, Method::MeasuredPower, 1000.0),
            source("rapl:psys", Domain::Platform, Method::MeasuredPower, 1000.0),
            source("model:dram", Domain::Dram, Method::Modelled, 1000.0),
        ],
        RunStatus::Complete,
    );
    let dir = RunSpec::new(m, ep, all).write(&tmp.path().join("r"));
    let dt = (b[5] - b[0]) as f64 * 1e-9;
    let run = load_one(&dir, &LoadOptions::default());
    assert_close(
        run.epochs[4].energy_j,
        108.0 * dt,
        "gpu + dram, no core/psys",
    );
    assert!(run.modelled);
    let gpu = LoadOptions {
        components: vec!["gpu".into()],
        ..LoadOptions::default()
    };
    let run = load_one(&dir, &gpu);
    assert_close(run.epochs[4].energy_j, 100.0 * dt, "gpu only");
    assert!(!run.modelled);
    let bad = LoadOptions {
        components: vec!["psu".into()],
        ..LoadOptions::default()
    };
    assert!(load(&[dir], &bad).unwrap_err().to_string().contains("psu"));
}

#[test]
fn baseline_from_the_pre_training_window() {
    let tmp = tempfile::tempdir().unwrap();
    // 40 W idle until 2.000 s, a ramp to 100 W by 2.001 s, training from 2.5003 s.
    let p = |t: i64| -> f64 {
        match t {
            t if t <= 2_000 * MS => 40.0,
            t if t >= 2_001 * MS => 100.0,
            t => 40.0 + 60.0 * (t - 2_000 * MS) as f64 / MS as f64,
        }
    };
    // Counter = exact ∫p in µJ (integers at whole ms).
    let e = |t: i64| -> i64 {
        let ms = t / MS;
        match ms {
            ms if ms <= 2_000 => ms * 40_000,
            _ => 2_000 * 40_000 + 70_000 + (ms - 2_001) * 100_000,
        }
    };
    let ep = epochs(3, 2_500_300_000, 1_000_000_000, 0);
    let b = bounds(&ep);
    let samples = track(
        "nvml:0",
        (0..=6_000).map(|k| k * MS),
        |t| Some(p(t) as f32),
        |t| Some(e(t)),
    );
    let m = manifest(
        vec![source(
            "nvml:0",
            Domain::Gpu,
            Method::MeasuredCounter,
            1000.0,
        )],
        RunStatus::Complete,
    );
    let dir = RunSpec::new(m, ep, samples).write(&tmp.path().join("r"));
    let idle_w = (80.0 + 0.07 + 100.0 * 0.4993) / 2.5003;
    for mode in [EnergyMode::Counter, EnergyMode::Integral] {
        let opts = LoadOptions {
            energy: Some(mode),
            baseline: true,
            ..LoadOptions::default()
        };
        let run = load_one(&dir, &opts);
        for (i, ee) in run.epochs.iter().enumerate() {
            let dt = (b[i + 1] - b[0]) as f64 * 1e-9;
            assert_close(ee.energy_j, 100.0 * dt, "gross");
            let net = ee.net_energy_j.unwrap();
            assert_close(net, (100.0 - idle_w) * dt, &format!("{mode:?} net"));
        }
    }

    // No sample before epoch 1: gross only, and a warning says why.
    let ep = epochs(2, 0, S, 0);
    let samples = track(
        "nvml:0",
        (0..=3_000).map(|k| k * MS),
        |_| Some(50.0),
        |_| None,
    );
    let m = manifest(
        vec![source("nvml:0", Domain::Gpu, Method::MeasuredPower, 1000.0)],
        RunStatus::Complete,
    );
    let dir = RunSpec::new(m, ep, samples).write(&tmp.path().join("no-window"));
    let opts = LoadOptions {
        baseline: true,
        ..LoadOptions::default()
    };
    let run = load_one(&dir, &opts);
    assert!(run.epochs.iter().all(|e| e.net_energy_j.is_none()));
    assert!(
        run.warnings
            .iter()
            .any(|w| w.contains("no pre-training window")),
        "{:?}",
        run.warnings
    );
}

/// `--baseline-from`: the idle power of a separate `recorder sample` run
/// (20 W on the GPU, 5 W on DRAM, counters and power both exact) is
/// subtracted from a run on the same platform, whatever its own
/// pre-training window says; on another platform, or with a source the idle
/// run lacks, net energy is left out with the reason.
#[test]
fn idle_run_baseline_is_subtracted_on_the_same_platform_only() {
    let tmp = tempfile::tempdir().unwrap();
    let gpu = source("nvml:0", Domain::Gpu, Method::MeasuredCounter, 1000.0);
    let dram = source("rapl:dram", Domain::Dram, Method::MeasuredCounter, 1000.0);
    // The idle run: 3 s at 1 kHz, starting late (its clock origin differs).
    let idle_samples = interleave(vec![
        track(
            "nvml:0",
            (500..=3_500).map(|k| k * MS),
            |_| Some(20.0),
            |t| Some(7 + t / MS * 20_000),
        ),
        track(
            "rapl:dram",
            (500..=3_500).map(|k| k * MS),
            |_| Some(5.0),
            |t| Some(t / MS * 5_000),
        ),
    ]);
    let mut idle_m = manifest(vec![gpu.clone(), dram.clone()], RunStatus::Complete);
    idle_m.workload.kind = "sample".into();
    let idle =
        RunSpec::new(idle_m.clone(), Vec::new(), idle_samples).write(&tmp.path().join("idle"));
    // The training run: 100 W GPU and 10 W DRAM, with a pre-training window
    // at 60 W + 10 W that must not be used.
    let ep = epochs(3, 1_000_000_000, 1_000_000_000, 0);
    let b = bounds(&ep);
    let gpu_w = |t: i64| if t < 1_000 * MS { 60.0 } else { 100.0 };
    let gpu_uj = |t: i64| {
        let ms = t / MS;
        if ms <= 1_000 {
            ms * 60_000
        } else {
            60_000_000 + (ms - 1_000) * 100_000
        }
    };
    let samples = interleave(vec![
        track(
            "nvml:0",
            (0..=4_500).map(|k| k * MS),
            |t| Some(gpu_w(t) as f32),
            |t| Some(gpu_uj(t)),
        ),
        track(
            "rapl:dram",
            (0..=4_500).map(|k| k * MS),
            |_| Some(10.0),
            |t| Some(t / MS * 10_000),
        ),
    ]);
    let m = manifest(vec![gpu.clone(), dram.clone()], RunStatus::Complete);
    let run_dir =
        RunSpec::new(m.clone(), ep.clone(), samples.clone()).write(&tmp.path().join("archive/run"));
    for mode in [EnergyMode::Counter, EnergyMode::Integral] {
        let opts = LoadOptions {
            energy: Some(mode),
            baseline_from: Some(idle.clone()),
            ..LoadOptions::default()
        };
        let loaded = load(std::slice::from_ref(&run_dir), &opts).unwrap();
        assert!(
            loaded
                .warnings
                .iter()
                .any(|w| w.contains("nvml:0 20.00 W") && w.contains("rapl:dram 5.00 W")),
            "{:?}",
            loaded.warnings
        );
        let run = &loaded.runs[0];
        for (i, e) in run.epochs.iter().enumerate() {
            let dt = (b[i + 1] - b[0]) as f64 * 1e-9;
            assert_close(e.energy_j, 110.0 * dt, "gross");
            assert_close(e.net_energy_j.unwrap(), 85.0 * dt, &format!("{mode:?} net"));
        }
    }

    // Another platform: no net energy, and the reason names both.
    let mut other = m.clone();
    other.platform = "another-machine".into();
    let other_dir =
        RunSpec::new(other, ep.clone(), samples.clone()).write(&tmp.path().join("other/run"));
    let opts = LoadOptions {
        baseline_from: Some(idle.clone()),
        ..LoadOptions::default()
    };
    let run = load_one(&other_dir, &opts);
    assert!(run.epochs.iter().all(|e| e.net_energy_j.is_none()));
    assert!(
        run.warnings
            .iter()
            .any(|w| w.contains("another-machine") && w.contains(&idle_m.platform)),
        "{:?}",
        run.warnings
    );

    // A source the idle run lacks.
    let cpu = source(
        "rapl:package-0",
        Domain::CpuPackage,
        Method::MeasuredPower,
        1000.0,
    );
    let mut three = m.clone();
    three.sources.push(cpu);
    let with_cpu = interleave(vec![
        samples.clone(),
        track(
            "rapl:package-0",
            (0..=4_500).map(|k| k * MS),
            |_| Some(30.0),
            |_| None,
        ),
    ]);
    let three_dir = RunSpec::new(three, ep, with_cpu).write(&tmp.path().join("three/run"));
    let run = load_one(&three_dir, &opts);
    assert!(run.epochs.iter().all(|e| e.net_energy_j.is_none()));
    assert!(
        run.warnings
            .iter()
            .any(|w| w.contains("`rapl:package-0` is not in the idle run")),
        "{:?}",
        run.warnings
    );

    // Not a run folder: the whole load stops, naming the option and the fix.
    let opts = LoadOptions {
        baseline_from: Some(tmp.path().join("nope")),
        ..LoadOptions::default()
    };
    let err = load(&[run_dir], &opts).unwrap_err().to_string();
    assert!(
        err.contains("--baseline-from") && err.contains("recorder sample"),
        "{err}"
    );
}
