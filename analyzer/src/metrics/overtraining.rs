//! The overtraining analysis of SPEC §5 (the paper's section 5.4) as pure
//! functions: the comparison of two epochs a < b, the verdict, and the
//! onset epoch (beyond the paper).
//!
//! With Difference(e) = train(e) − test(e):
//! - A = test(b) − test(a), what the extra epochs bought on the test set;
//! - B = Difference(b) − Difference(a), how much further train and test
//!   diverged;
//! - overtrained when A < min_gain, or when B ≥ ratio × A (the gain is
//!   matched by divergence).
//!
//! The onset answers "where does overtraining start" without choosing a and
//! b: the first epoch e after which test accuracy never again improves by
//! more than min_gain within the next `window` epochs. Precisely, epoch f is
//! *flat* when max(test(f+1 ..= f+window)) − test(f) ≤ min_gain, where the
//! window is cut at the last recorded epoch n; the onset is the first e with
//! e + window ≤ n (a full window to judge it by) such that every f in
//! e ..= n−1 is flat. Without such an e the onset is not reached within the
//! recorded epochs, and is reported so, never guessed.

use serde::Serialize;

/// The two thresholds of the verdict.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Thresholds {
    /// A below this is "no real gain" (default 0.005).
    pub min_gain: f64,
    /// B at or above ratio × A means the gain is matched by divergence
    /// (default 0.5).
    pub ratio: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self {
            min_gain: 0.005,
            ratio: 0.5,
        }
    }
}

/// Train and test accuracy at one epoch.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct AccAt {
    pub train: f64,
    pub test: f64,
}

impl AccAt {
    /// Difference(e) = train − test.
    pub fn difference(&self) -> f64 {
        self.train - self.test
    }
}

/// Why a model was or was not judged overtrained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// A < min_gain: the extra epochs bought (almost) nothing.
    OvertrainedNoGain,
    /// B ≥ ratio × A: the gain is matched by divergence.
    OvertrainedDivergence,
    NotOvertrained,
}

impl Verdict {
    pub fn is_overtrained(self) -> bool {
        !matches!(self, Verdict::NotOvertrained)
    }

    /// The verdict with its reason, for tables.
    pub fn describe(self) -> &'static str {
        match self {
            Verdict::OvertrainedNoGain => "overtrained (A < min gain)",
            Verdict::OvertrainedDivergence => "overtrained (B ≥ ratio × A)",
            Verdict::NotOvertrained => "not overtrained",
        }
    }
}

/// The comparison of epochs a and b for one model.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Comparison {
    pub at_a: AccAt,
    pub at_b: AccAt,
    /// A = test(b) − test(a).
    pub gain: f64,
    /// B = Difference(b) − Difference(a).
    pub divergence: f64,
    pub verdict: Verdict,
}

/// Compares epoch a with epoch b under the thresholds.
pub fn compare(at_a: AccAt, at_b: AccAt, th: Thresholds) -> Comparison {
    let gain = at_b.test - at_a.test;
    let divergence = at_b.difference() - at_a.difference();
    let verdict = if gain < th.min_gain {
        Verdict::OvertrainedNoGain
    } else if divergence >= th.ratio * gain {
        Verdict::OvertrainedDivergence
    } else {
        Verdict::NotOvertrained
    };
    Comparison {
        at_a,
        at_b,
        gain,
        divergence,
        verdict,
    }
}

/// Where overtraining starts, if the recorded epochs tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind", content = "epoch")]
pub enum Onset {
    At(u32),
    /// Test accuracy was still improving within a window of the end, or
    /// fewer than window + 1 epochs were recorded: the last epoch is given.
    NotReached(u32),
}

/// The onset epoch from test accuracy per epoch (epochs 1..=n in order;
/// `test[i]` is epoch i + 1). See the module docs for the definition.
pub fn onset(test: &[f64], min_gain: f64, window: u32) -> Onset {
    let n = test.len();
    let w = window.max(1) as usize;
    // flat[f] for 0-based f in 0..n-1.
    let flat: Vec<bool> = (0..n.saturating_sub(1))
        .map(|f| {
            let end = (f + w).min(n - 1);
            let best = test[f + 1..=end]
                .iter()
                .copied()
                .fold(f64::NEG_INFINITY, f64::max);
            best - test[f] <= min_gain
        })
        .collect();
    // Walk back from the end: the longest all-flat suffix starts at `start`.
    let mut start = flat.len();
    while start > 0 && flat[start - 1] {
        start -= 1;
    }
    // 0-based e needs e + w ≤ n − 1 (a full window after it).
    if start + w < n {
        Onset::At(start as u32 + 1)
    } else {
        Onset::NotReached(n as u32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acc(train: f64, test: f64) -> AccAt {
        AccAt { train, test }
    }

    #[test]
    fn paper_rule_on_hand_numbers() {
        let th = Thresholds::default();
        // Gains 0.02 on test, train gains 0.02 too: B = 0 < 0.01 -> fine.
        let c = compare(acc(0.90, 0.85), acc(0.92, 0.87), th);
        assert!((c.gain - 0.02).abs() < 1e-12);
        assert!(c.divergence.abs() < 1e-12);
        assert_eq!(c.verdict, Verdict::NotOvertrained);
        // Test gains 0.004 < 0.005: overtrained whatever B is.
        let c = compare(acc(0.90, 0.85), acc(0.90, 0.854), th);
        assert_eq!(c.verdict, Verdict::OvertrainedNoGain);
        // Test gains 0.02, train gains 0.05: B = 0.03 ≥ 0.5 × 0.02.
        let c = compare(acc(0.90, 0.85), acc(0.95, 0.87), th);
        assert!((c.divergence - 0.03).abs() < 1e-12);
        assert_eq!(c.verdict, Verdict::OvertrainedDivergence);
        // Exactly at the ratio counts as overtrained (B ≥ ratio × A).
        let c = compare(acc(0.5, 0.5), acc(0.53, 0.52), th);
        assert!((c.divergence - 0.01).abs() < 1e-12);
        assert_eq!(c.verdict, Verdict::OvertrainedDivergence);
        // A falling test accuracy is overtrained.
        let c = compare(acc(0.9, 0.9), acc(0.99, 0.88), th);
        assert!(c.gain < 0.0 && c.verdict.is_overtrained());
    }

    #[test]
    fn thresholds_are_used() {
        let loose = Thresholds {
            min_gain: 0.001,
            ratio: 2.0,
        };
        let c = compare(acc(0.90, 0.85), acc(0.95, 0.87), loose);
        assert_eq!(c.verdict, Verdict::NotOvertrained);
        let strict = Thresholds {
            min_gain: 0.05,
            ratio: 0.5,
        };
        let c = compare(acc(0.90, 0.85), acc(0.92, 0.87), strict);
        assert_eq!(c.verdict, Verdict::OvertrainedNoGain);
    }

    #[test]
    fn onset_of_a_curve_that_saturates() {
        // Rises 0.05 per epoch to epoch 10, then flat for 30 epochs.
        let test: Vec<f64> = (1..=40)
            .map(|i| 0.5 + 0.05 * f64::from(i.min(10)))
            .collect();
        // Epoch 9 -> 10 still gains 0.05; from epoch 10 on nothing.
        assert_eq!(onset(&test, 0.005, 10), Onset::At(10));
        // A late bump of 0.01 at epoch 25 moves the onset to 25.
        let mut bumped = test.clone();
        for v in bumped.iter_mut().skip(24) {
            *v += 0.01;
        }
        assert_eq!(onset(&bumped, 0.005, 10), Onset::At(25));
        // … unless the bump is within min_gain.
        assert_eq!(onset(&bumped, 0.02, 10), Onset::At(10));
    }

    #[test]
    fn onset_needs_a_full_window_after_it() {
        // Improving until epoch 25 of 30: 5 flat epochs < window 10.
        let test: Vec<f64> = (1..=30)
            .map(|i| 0.5 + 0.01 * f64::from(i.min(25)))
            .collect();
        assert_eq!(onset(&test, 0.005, 10), Onset::NotReached(30));
        assert_eq!(onset(&test, 0.005, 5), Onset::At(25));
        // Always improving.
        let rising: Vec<f64> = (1..=30).map(|i| 0.01 * f64::from(i)).collect();
        assert_eq!(onset(&rising, 0.005, 10), Onset::NotReached(30));
        // One or no epoch.
        assert_eq!(onset(&[0.9], 0.005, 10), Onset::NotReached(1));
        assert_eq!(onset(&[], 0.005, 10), Onset::NotReached(0));
    }

    #[test]
    fn onset_sees_improvement_beyond_the_first_epoch_of_the_window() {
        // Flat for 5 epochs, then one more step up at epoch 12: epoch 8's
        // window (9..=18) contains it.
        let test: Vec<f64> = (1..=40).map(|i| if i < 12 { 0.8 } else { 0.9 }).collect();
        assert_eq!(onset(&test, 0.005, 10), Onset::At(12));
        // A drop is not an improvement.
        let test: Vec<f64> = (1..=40).map(|i| if i < 12 { 0.9 } else { 0.8 }).collect();
        assert_eq!(onset(&test, 0.005, 10), Onset::At(1));
    }
}
