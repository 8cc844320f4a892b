//! Eq. 2, Eq. 3, Eq. 4 and the ratios of the paper's Table 12, on plain
//! numbers.
//!
//! Censoring is explicit: a width whose criterion never fired is a
//! [`WidthPoint`] with no efficiency. Eq. 3 averages only the widths that
//! stopped and says how many it averaged and how many were censored, rather
//! than substituting the last recorded epoch (which would invent a stop).

use super::stats;

/// Eq. 2: accuracy per unit of energy. `None` when the energy is not a
/// positive finite number (an empty or broken trace), because a division by
/// zero would print as a huge, plausible-looking efficiency.
pub fn eq2(acc: f64, energy: f64) -> Option<f64> {
    (energy.is_finite() && energy > 0.0 && acc.is_finite()).then(|| acc / energy)
}

/// One repetition of a model (one seed): its accuracy at the stop (mean over
/// folds) and its energy (mean over folds).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Replicate {
    pub acc: f64,
    pub energy: f64,
}

/// One width of an architecture under one criterion.
#[derive(Debug, Clone, PartialEq)]
pub struct WidthPoint {
    pub width: u32,
    /// Eq. 2 at the stop; `None` when censored (or unusable).
    pub eff: Option<f64>,
    /// Seed repetitions behind `eff`, for the bootstrap (may be empty when
    /// only a published efficiency is known).
    pub replicates: Vec<Replicate>,
}

/// Eq. 3 with its spread.
#[derive(Debug, Clone, PartialEq)]
pub struct Eq3 {
    /// Mean over the widths that stopped; `None` when none did.
    pub mean: Option<f64>,
    /// Widths averaged.
    pub n: usize,
    /// Widths whose criterion never fired (left out of the mean).
    pub censored: usize,
    pub min: Option<f64>,
    pub max: Option<f64>,
    /// 95% t-interval over widths (needs two or more widths).
    pub t95: Option<(f64, f64)>,
    /// 95% percentile bootstrap interval over seed repetitions within each
    /// width (only when some width has two or more seeds).
    pub bootstrap95: Option<(f64, f64)>,
}

/// Bootstrap settings; fixed seed so that a report is reproducible.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BootstrapOptions {
    pub resamples: usize,
    pub seed: u64,
}

impl Default for BootstrapOptions {
    fn default() -> Self {
        Self {
            resamples: 2000,
            seed: 0x7472_6169_6e77_6174, // "trainwat"
        }
    }
}

/// Eq. 3: the mean over widths of Eq. 2 at each width's stop.
pub fn eq3(widths: &[WidthPoint], boot: BootstrapOptions) -> Eq3 {
    let effs: Vec<f64> = widths.iter().filter_map(|w| w.eff).collect();
    let n = effs.len();
    let censored = widths.len() - n;
    let mean = stats::mean(&effs);
    let min = effs.iter().copied().reduce(f64::min);
    let max = effs.iter().copied().reduce(f64::max);
    let t95 = stats::t_interval(&effs, 0.95);
    let stopped: Vec<&[Replicate]> = widths
        .iter()
        .filter(|w| w.eff.is_some())
        .map(|w| w.replicates.as_slice())
        .collect();
    let repeated = stopped.iter().any(|r| r.len() >= 2);
    let complete = stopped.iter().all(|r| !r.is_empty());
    let bootstrap95 = if repeated && complete {
        stats::bootstrap_eq3(&stopped, boot.resamples, boot.seed, 0.95)
    } else {
        None
    };
    Eq3 {
        mean,
        n,
        censored,
        min,
        max,
        t95,
        bootstrap95,
    }
}

/// Eq. 4 of one architecture: the mean over criteria of Eq. 3.
#[derive(Debug, Clone, PartialEq)]
pub struct Eq4 {
    pub mean: Option<f64>,
    /// Criteria with an Eq. 3 value.
    pub used: usize,
    /// Criteria asked for.
    pub total: usize,
}

/// Eq. 4 from the Eq. 3 values of each criterion (`None`: no width of that
/// criterion stopped). A criterion without a value is left out and counted,
/// so a reader sees "3 of 4 criteria".
pub fn eq4(eq3_means: &[Option<f64>]) -> Eq4 {
    let vals: Vec<f64> = eq3_means.iter().flatten().copied().collect();
    Eq4 {
        mean: stats::mean(&vals),
        used: vals.len(),
        total: eq3_means.len(),
    }
}

/// `a / b`, or `None` when either is missing or `b` is not positive.
pub fn ratio(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 && b.is_finite() && a.is_finite() => Some(a / b),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(width: u32, eff: Option<f64>) -> WidthPoint {
        WidthPoint {
            width,
            eff,
            replicates: Vec::new(),
        }
    }

    #[test]
    fn eq2_refuses_zero_and_nonfinite_energy() {
        assert_eq!(eq2(0.99, 0.5), Some(1.98));
        assert_eq!(eq2(0.99, 0.0), None);
        assert_eq!(eq2(0.99, -1.0), None);
        assert_eq!(eq2(0.99, f64::NAN), None);
        assert_eq!(eq2(f64::NAN, 1.0), None);
    }

    #[test]
    fn eq3_is_the_mean_over_widths_of_the_paper() {
        // Table 3 of the paper, LeNet on MNIST at 50 epochs (×10⁻⁶).
        let w: Vec<WidthPoint> = [10.15, 11.02, 6.83, 6.52, 5.94]
            .iter()
            .zip(1..)
            .map(|(e, k)| point(k, Some(*e)))
            .collect();
        let r = eq3(&w, BootstrapOptions::default());
        assert!((r.mean.unwrap() - 8.092).abs() < 1e-12);
        assert_eq!((r.n, r.censored), (5, 0));
        assert_eq!((r.min, r.max), (Some(5.94), Some(11.02)));
        let (lo, hi) = r.t95.unwrap();
        assert!(lo < 8.092 && hi > 8.092);
        assert_eq!(r.bootstrap95, None, "one seed per width: no bootstrap");
    }

    #[test]
    fn eq3_leaves_censored_widths_out_and_counts_them() {
        let w = vec![point(1, Some(2.0)), point(2, None), point(3, Some(4.0))];
        let r = eq3(&w, BootstrapOptions::default());
        assert_eq!(r.mean, Some(3.0));
        assert_eq!((r.n, r.censored), (2, 1));
        let all_censored = eq3(&[point(1, None)], BootstrapOptions::default());
        assert_eq!(all_censored.mean, None);
        assert_eq!(all_censored.t95, None);
    }

    #[test]
    fn eq3_bootstraps_only_when_seeds_repeat() {
        let rep = |acc: f64, energy: f64| Replicate { acc, energy };
        let w = vec![
            WidthPoint {
                width: 1,
                eff: Some(0.9 / 1.05),
                replicates: vec![rep(0.9, 1.0), rep(0.9, 1.1)],
            },
            WidthPoint {
                width: 2,
                eff: Some(0.95 / 2.0),
                replicates: vec![rep(0.95, 2.0)],
            },
        ];
        let b = BootstrapOptions::default();
        let r = eq3(&w, b);
        let (lo, hi) = r.bootstrap95.unwrap();
        let m = r.mean.unwrap();
        assert!(lo <= m && m <= hi, "{lo} {m} {hi}");
        // Bounded by the extremes the resampling can produce.
        assert!(lo >= (0.9 / 1.1 + 0.475) / 2.0 - 1e-12);
        assert!(hi <= (0.9 / 1.0 + 0.475) / 2.0 + 1e-12);
        assert_eq!(eq3(&w, b), r, "seeded: the same interval every time");
    }

    #[test]
    fn eq4_and_ratios() {
        // The paper's Table 11, LeNet on MNIST: 8.09, 8.77, 8.48, 26.10.
        let e = eq4(&[Some(8.09), Some(8.77), Some(8.48), Some(26.10)]);
        assert!((e.mean.unwrap() - 12.86).abs() < 1e-12);
        assert_eq!((e.used, e.total), (4, 4));
        let partial = eq4(&[Some(1.0), None, Some(3.0)]);
        assert_eq!(
            (partial.mean, partial.used, partial.total),
            (Some(2.0), 2, 3)
        );
        assert_eq!(eq4(&[None]).mean, None);
        assert_eq!(
            ratio(Some(12.86), Some(2.88)).map(|r| (r * 100.0).floor()),
            Some(446.0)
        );
        assert_eq!(ratio(Some(1.0), Some(0.0)), None);
        assert_eq!(ratio(None, Some(1.0)), None);
    }
}
