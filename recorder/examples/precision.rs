//! How exact is the energy per epoch at each sampling rate, by method?
//! (`bench/precision.sh`, `docs/precision.md`.)
//!
//! A [`WaveformSource`] draws training-like bursts (a few ms at high power
//! per batch, idle between) whose exact integral is known, through a
//! counter that wraps once during each run at RAPL's range. The **real
//! sampler** reads it at 1, 10, 100 and 1000 Hz, with boundary reads at the
//! start of epoch 1 and at every epoch's end; the epochs are of uneven
//! length. For each rate and epoch the energy is computed four ways and
//! compared with the exact integral of the waveform over the epoch:
//!
//! - **(a) counter, boundary reads**: the difference of the counter in the
//!   two boundary rows (format 1.1);
//! - **(b) counter, interpolated**: the counter read at each boundary by
//!   linear interpolation between the scheduled reads around it, ignoring
//!   the boundary rows (what a reader of a 1.0 run must do);
//! - **(c) trapezoid**: the trapezoid integral of the scheduled power
//!   samples, each segment that straddles a boundary cut there with the
//!   power at the cut interpolated;
//! - **(d) sample-sum**: the paper's plain sum of the power samples in the
//!   epoch, turned into joules by multiplying by the sample period (1/rate).
//!
//! (b)–(d) mirror the arithmetic of `fold/src/fold.rs`
//! (`counter_step`, `power_step`: bin k is (bₖ₋₁, bₖ], bin 1 also holds
//! b₀), re-implemented here because the recorder does not link the
//! analyzer's internals; the exact integral is computed from burst
//! overlaps, not from the source's own formula.
//!
//! Usage: `precision [CSV]` — prints the table; with CSV, writes one row
//! per rate, method and epoch (`rate_hz,method,epoch,exact_j,got_j,err_j`).

use recorder::rates::RatePlan;
use recorder::sampler::{self, Clock};
use recorder::sink::MarkedSampleRow;
use recorder::sources::waveform::Bursts;
use recorder::sources::{PowerSource, WaveformSource};
use std::fmt::Write as _;
use std::time::Duration;

/// One batch every 23.7 ms, 4 ms at 300 W, then 45 W (mean 88.0 W). The
/// period is no whole number of any sample period, so the sampling phase
/// drifts through the bursts as it does with a real loop's jitter; a
/// commensurate one (23 ms at 1 kHz) would lock it and make the power
/// methods' edge errors add up instead of averaging out.
const WAVE: Bursts = Bursts {
    period_ns: 23_700_000,
    busy_ns: 4_000_000,
    busy_mw: 300_000,
    idle_mw: 45_000,
};
/// Epoch lengths, s: uneven, some shorter than the slowest sample period.
const EPOCHS_S: [f64; 10] = [0.9, 2.3, 0.45, 3.1, 1.6, 0.7, 1.25, 2.05, 0.6, 1.8];
/// RAPL's `max_energy_range_uj` on many Intel parts.
const RAPL_RANGE_UJ: u64 = 262_143_328_850;
const RATES_HZ: [f64; 4] = [1.0, 10.0, 100.0, 1000.0];
const METHODS: [&str; 4] = [
    "(a) counter, boundary reads",
    "(b) counter, interpolated",
    "(c) trapezoid of power",
    "(d) sample-sum × period",
];

/// Exact energy over [a, b], J, from burst overlaps.
fn exact_j(a: i64, b: i64) -> f64 {
    let (hi, lo) = (WAVE.busy_mw as f64 * 1e-3, WAVE.idle_mw as f64 * 1e-3);
    let mut j = lo * (b - a) as f64 * 1e-9;
    for k in a / WAVE.period_ns - 1..=b / WAVE.period_ns + 1 {
        let (s, e) = (k * WAVE.period_ns, k * WAVE.period_ns + WAVE.busy_ns);
        j += (hi - lo) * (e.min(b) - s.max(a)).max(0) as f64 * 1e-9;
    }
    j
}

/// One rate's run: the boundaries, every row the sampler wrote, and how
/// many ticks it took and missed.
fn record(rate_hz: f64) -> (Vec<i64>, Vec<MarkedSampleRow>, (u64, u64)) {
    let total_s: f64 = EPOCHS_S.iter().sum();
    // The raw counter wraps halfway through the run.
    let half_uj = (WAVE.mean_w() * total_s / 2.0 * 1e6) as u64;
    let source = WaveformSource::new("gpu", WAVE, RAPL_RANGE_UJ - half_uj, RAPL_RANGE_UJ);
    let (tx, rx) = crossbeam_channel::unbounded();
    let clock = Clock::start();
    let sources: Vec<Box<dyn PowerSource>> = vec![Box::new(source)];
    let h = sampler::spawn(sources, clock, RatePlan::uniform(rate_hz, 1), tx)
        .expect("cannot start the sampler thread");
    let probe = h.probe();
    let stamp = || probe.read().expect("the sampler answers").t_ns;
    // Start a little after the sampler's first tick, off its phase.
    std::thread::sleep(Duration::from_millis(37));
    let mut bounds = vec![stamp()];
    let mut planned = bounds[0] as f64;
    for len in EPOCHS_S {
        planned += len * 1e9;
        std::thread::sleep(Duration::from_nanos(
            (planned as i64 - clock.now_ns()).max(0) as u64,
        ));
        bounds.push(stamp());
    }
    // Let one more scheduled read pass the last boundary.
    std::thread::sleep(Duration::from_secs_f64(1.05 / rate_hz));
    let out = h.stop();
    assert_eq!(out.read_errors, 0, "{out:?}");
    let ticks = (out.ticks, out.missed_deadlines);
    (bounds, rx.try_iter().flatten().collect(), ticks)
}

/// Energy of each epoch by method (a)–(d), J.
fn energies(bounds: &[i64], rows: &[MarkedSampleRow], rate_hz: f64) -> [Vec<f64>; 4] {
    let n = bounds.len() - 1;
    let counter_reads = |boundary: bool| -> Vec<(i64, i64)> {
        rows.iter()
            .filter(|r| r.boundary == boundary)
            .filter_map(|r| Some((r.t_ns, r.energy_uj?)))
            .collect()
    };
    let (at_bounds, reads) = (counter_reads(true), counter_reads(false));
    // (a): the boundary row at the boundary's very instant.
    let at_boundary = |t: i64| -> f64 {
        let row = at_bounds.iter().find(|r| r.0 == t);
        row.unwrap_or_else(|| panic!("no boundary row at {t}")).1 as f64
    };
    // (b), fold.rs counter_step: a read at the boundary, else the
    // bracketing reads, linearly.
    let interpolated = |t: i64| -> f64 {
        let k = reads.partition_point(|r| r.0 < t);
        let (t1, e1) = reads[k];
        if t1 == t {
            return e1 as f64;
        }
        let (t0, e0) = reads[k - 1];
        e0 as f64 + (e1 - e0) as f64 * ((t - t0) as f64 / (t1 - t0) as f64)
    };
    let scheduled: Vec<(i64, f64)> = rows
        .iter()
        .filter(|r| !r.boundary)
        .filter_map(|r| Some((r.t_ns, f64::from(r.power_w?))))
        .collect();
    // fold.rs power_step: bins (bₖ₋₁, bₖ], bin 1 also holds b₀; segments
    // cut at boundaries with the power there interpolated.
    let mut area = vec![0.0; n + 2];
    let mut sum_w = vec![0.0; n + 2];
    let bin_of = |t: i64| {
        let k = bounds.partition_point(|&b| b < t);
        if k == 0 && bounds[0] == t {
            1
        } else {
            k
        }
    };
    for (i, &(t, p)) in scheduled.iter().enumerate() {
        sum_w[bin_of(t)] += p;
        if i == 0 {
            continue;
        }
        let (t0, p0) = scheduled[i - 1];
        let (mut x, mut px) = (t0, p0);
        let mut k = bounds.partition_point(|&b| b <= t0);
        while k < bounds.len() && bounds[k] < t {
            let y = bounds[k];
            let py = p0 + (p - p0) * ((y - t0) as f64 / (t - t0) as f64);
            area[k] += (y - x) as f64 * 1e-9 * (px + py) * 0.5;
            (x, px) = (y, py);
            k += 1;
        }
        area[k] += (t - x) as f64 * 1e-9 * (px + p) * 0.5;
    }
    let per_epoch = |f: &dyn Fn(usize) -> f64| (1..=n).map(f).collect::<Vec<f64>>();
    [
        per_epoch(&|k| (at_boundary(bounds[k]) - at_boundary(bounds[k - 1])) * 1e-6),
        per_epoch(&|k| (interpolated(bounds[k]) - interpolated(bounds[k - 1])) * 1e-6),
        per_epoch(&|k| area[k]),
        per_epoch(&|k| sum_w[k] / rate_hz),
    ]
}

fn main() {
    let csv_path = std::env::args().nth(1);
    let mut csv = String::from("rate_hz,method,epoch,exact_j,got_j,err_j\n");
    println!(
        "waveform: {} W for {} ms every {} ms, else {} W (mean {:.1} W); epochs of {:?} s; \
         the counter wraps once per run at {} µJ",
        WAVE.busy_mw / 1000,
        WAVE.busy_ns as f64 / 1e6,
        WAVE.period_ns as f64 / 1e6,
        WAVE.idle_mw / 1000,
        WAVE.mean_w(),
        EPOCHS_S,
        RAPL_RANGE_UJ
    );
    println!();
    println!("| rate | method | max abs error per epoch | mean abs error | max relative error |");
    println!("|---:|---|---:|---:|---:|");
    let mut missed = String::new();
    for rate in RATES_HZ {
        let (bounds, rows, (ticks, late)) = record(rate);
        let _ = write!(missed, " {rate} Hz: {late} of {ticks};");
        let exact: Vec<f64> = bounds.windows(2).map(|w| exact_j(w[0], w[1])).collect();
        for (method, got) in METHODS.iter().zip(energies(&bounds, &rows, rate)) {
            let errs: Vec<f64> = got.iter().zip(&exact).map(|(g, x)| g - x).collect();
            for (k, (g, x)) in got.iter().zip(&exact).enumerate() {
                let _ = writeln!(csv, "{rate},{method},{},{x:.9},{g:.9},{:.9}", k + 1, g - x);
            }
            let max = errs.iter().map(|e| e.abs()).fold(0.0, f64::max);
            let mean = errs.iter().map(|e| e.abs()).sum::<f64>() / errs.len() as f64;
            let rel = errs
                .iter()
                .zip(&exact)
                .map(|(e, x)| (e / x).abs())
                .fold(0.0, f64::max);
            println!(
                "| {rate} Hz | {method} | {} | {} | {} |",
                joules(max),
                joules(mean),
                percent(rel)
            );
        }
    }
    println!();
    println!("missed deadlines (ticks the sampler skipped):{missed}");
    if let Some(p) = csv_path {
        std::fs::write(&p, csv).unwrap_or_else(|e| panic!("cannot write {p}: {e}"));
    }
}

/// A fraction as a percentage, in powers of ten when tiny.
fn percent(f: f64) -> String {
    if f * 100.0 < 1e-3 {
        format!("{:.1e} %", f * 100.0)
    } else {
        format!("{:.3} %", f * 100.0)
    }
}

/// A readable energy: µJ below a millijoule, else J.
fn joules(j: f64) -> String {
    if j < 1e-3 {
        format!("{:.2} µJ", j * 1e6)
    } else {
        format!("{j:.4} J")
    }
}
