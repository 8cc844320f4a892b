//! Spread of Eq. 3: with five widths a mean hides a lot (SPEC §3).
//!
//! The t-interval treats the widths' efficiencies as a sample; it says how
//! well five numbers pin down their mean, not how much a model's efficiency
//! varies between runs. That second question needs repeated seeds, and is
//! what the bootstrap answers: it resamples seed repetitions *within* each
//! width (stratified, so every width stays in every resample), recomputes
//! Eq. 3 as the estimator does (ratio of mean accuracy to mean energy per
//! width, then the mean over widths), and takes percentiles. The generator is
//! ChaCha8 with a fixed seed, so a report is byte-for-byte reproducible.

use super::efficiency::Replicate;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use statrs::distribution::{ContinuousCDF, StudentsT};

/// Arithmetic mean; `None` for no values.
pub fn mean(values: &[f64]) -> Option<f64> {
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
}

/// Sample standard deviation (n − 1); `None` for fewer than two values.
pub fn sample_sd(values: &[f64]) -> Option<f64> {
    if values.len() < 2 {
        return None;
    }
    let m = mean(values)?;
    let ss: f64 = values.iter().map(|v| (v - m).powi(2)).sum();
    Some((ss / (values.len() - 1) as f64).sqrt())
}

/// Two-sided t-interval for the mean at `level` (e.g. 0.95).
pub fn t_interval(values: &[f64], level: f64) -> Option<(f64, f64)> {
    let n = values.len();
    let sd = sample_sd(values)?;
    let m = mean(values)?;
    let t = StudentsT::new(0.0, 1.0, (n - 1) as f64).ok()?;
    let q = t.inverse_cdf(0.5 + level / 2.0);
    let half = q * sd / (n as f64).sqrt();
    Some((m - half, m + half))
}

/// Percentile of sorted values with linear interpolation (type 7).
pub fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let h = (sorted.len() - 1) as f64 * p.clamp(0.0, 1.0);
    let lo = h.floor() as usize;
    let hi = h.ceil() as usize;
    Some(sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo]))
}

/// Stratified percentile bootstrap of Eq. 3 over seed repetitions; each
/// element of `widths` holds one width's repetitions (all non-empty).
pub fn bootstrap_eq3(
    widths: &[&[Replicate]],
    resamples: usize,
    seed: u64,
    level: f64,
) -> Option<(f64, f64)> {
    if widths.is_empty() || resamples == 0 || widths.iter().any(|w| w.is_empty()) {
        return None;
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut stats = Vec::with_capacity(resamples);
    for _ in 0..resamples {
        let mut sum = 0.0;
        for reps in widths {
            let (mut acc, mut energy) = (0.0, 0.0);
            for _ in 0..reps.len() {
                let r = reps[rng.random_range(0..reps.len())];
                acc += r.acc;
                energy += r.energy;
            }
            // Equal counts cancel in the ratio of means.
            sum += acc / energy;
        }
        stats.push(sum / widths.len() as f64);
    }
    if stats.iter().any(|s| !s.is_finite()) {
        return None;
    }
    stats.sort_by(f64::total_cmp);
    let tail = (1.0 - level) / 2.0;
    Some((percentile(&stats, tail)?, percentile(&stats, 1.0 - tail)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t_interval_matches_a_hand_computation() {
        // n = 5, mean 3, sd = sqrt(2.5); t(0.975, 4) = 2.776445.
        let (lo, hi) = t_interval(&[1.0, 2.0, 3.0, 4.0, 5.0], 0.95).unwrap();
        let half = 2.776_445_105 * 2.5f64.sqrt() / 5f64.sqrt();
        assert!((lo - (3.0 - half)).abs() < 1e-6, "{lo}");
        assert!((hi - (3.0 + half)).abs() < 1e-6, "{hi}");
        assert_eq!(t_interval(&[1.0], 0.95), None);
    }

    #[test]
    fn percentiles_interpolate() {
        let v = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(percentile(&v, 0.0), Some(1.0));
        assert_eq!(percentile(&v, 1.0), Some(4.0));
        assert_eq!(percentile(&v, 0.5), Some(2.5));
        assert_eq!(percentile(&[], 0.5), None);
    }

    #[test]
    fn bootstrap_is_deterministic_and_degenerate_without_spread() {
        let same = [Replicate {
            acc: 0.5,
            energy: 2.0,
        }; 3];
        let (lo, hi) = bootstrap_eq3(&[&same], 500, 1, 0.95).unwrap();
        assert_eq!((lo, hi), (0.25, 0.25));
        let spread = [
            Replicate {
                acc: 0.5,
                energy: 1.0,
            },
            Replicate {
                acc: 0.5,
                energy: 2.0,
            },
            Replicate {
                acc: 0.5,
                energy: 4.0,
            },
        ];
        let a = bootstrap_eq3(&[&spread], 500, 7, 0.95).unwrap();
        assert_eq!(a, bootstrap_eq3(&[&spread], 500, 7, 0.95).unwrap());
        assert!(a.0 < a.1 && a.0 >= 0.125 && a.1 <= 0.5, "{a:?}");
        assert_eq!(bootstrap_eq3(&[&[]], 10, 1, 0.95), None);
    }
}
