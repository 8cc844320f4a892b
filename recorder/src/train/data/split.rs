//! Evaluation protocols: which examples train and which test.
//!
//! Every split that involves chance is stratified (each class keeps its
//! share) and drawn from [`SplitMix64`] with a seed of its own (`split_seed`),
//! separate from the training seed, so that all runs of a study see the same
//! folds whatever their training seed. The indices refer to the pool the
//! protocol draws from (see [`Protocol`]); the manifest records a fingerprint
//! of them.

use serde::{Deserialize, Serialize};

use super::DataError;
use crate::train::rng::SplitMix64;

/// How the examples are divided into a training and a test set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Protocol {
    /// The dataset's own training files train, its test files test (MNIST
    /// 60 000 / 10 000, CIFAR-10 50 000 / 10 000).
    Holdout,
    /// k-fold cross-validation over all files pooled (CIFAR-10: 60 000 images,
    /// 6 folds of exactly 1 000 per class). `fold` (1-based) tests, the
    /// others train.
    KFold {
        /// Number of folds (≥ 2).
        folds: u32,
        /// The fold held out, 1..=folds.
        fold: u32,
        /// Seed of the fold assignment.
        split_seed: u64,
    },
    /// A stratified split of all files pooled: `train_fraction` trains (the
    /// paper's AMD replication used 0.7).
    Ratio {
        /// Share of each class that trains, in (0, 1).
        train_fraction: f64,
        /// Seed of the draw.
        split_seed: u64,
    },
    /// A stratified split of the test files only, for when the training files
    /// are absent (MNIST's 10 000 test images: 8 000 train, 2 000 test).
    TestFilesSplit {
        /// Examples that train; the rest test.
        train_count: usize,
        /// Test on only this many of the rest (stratified, same seed), to
        /// keep evaluation cheap on small machines; `None` tests on all.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        test_count: Option<usize>,
        /// Seed of the draw.
        split_seed: u64,
    },
}

impl Protocol {
    /// The name used in manifests and on the command line.
    pub fn name(&self) -> &'static str {
        match self {
            Protocol::Holdout => "holdout",
            Protocol::KFold { .. } => "k-fold",
            Protocol::Ratio { .. } => "ratio",
            Protocol::TestFilesSplit { .. } => "test-files-split",
        }
    }

    /// Whether the dataset's training files are read at all.
    pub fn needs_train_files(&self) -> bool {
        !matches!(self, Protocol::TestFilesSplit { .. })
    }

    fn invalid(&self, reason: impl Into<String>) -> DataError {
        DataError::Protocol {
            protocol: self.name(),
            reason: reason.into(),
        }
    }
}

/// Mixed into the split seed for the test subset of a test-files split.
const TEST_SUBSET_SALT: u64 = 0x7465_7374_5f73_7562;

/// Train and test indices into the pool, each ascending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    /// Indices that train.
    pub train: Vec<usize>,
    /// Indices that test.
    pub test: Vec<usize>,
}

/// Indices of each class 0..=9, in pool order.
fn by_class(labels: &[u8]) -> Vec<Vec<usize>> {
    let mut classes = vec![Vec::new(); 10];
    for (i, &l) in labels.iter().enumerate() {
        classes[usize::from(l)].push(i);
    }
    classes
}

/// Assigns every example to a fold 0..folds: within each class (in class
/// order, one generator for all), shuffle, then cut into `folds` contiguous
/// runs of ⌊j·n/folds⌋ boundaries, so folds differ in size by at most one per
/// class (exactly 1 000 per class for CIFAR-10's 6 000 per class and 6 folds).
pub fn assign_folds(labels: &[u8], folds: u32, split_seed: u64) -> Vec<u32> {
    let mut rng = SplitMix64::new(split_seed);
    let mut fold_of = vec![0u32; labels.len()];
    let k = folds as usize;
    for mut members in by_class(labels) {
        rng.shuffle(&mut members);
        let n = members.len();
        for f in 0..k {
            for &i in &members[f * n / k..(f + 1) * n / k] {
                fold_of[i] = f as u32;
            }
        }
    }
    fold_of
}

/// A stratified split with exactly `train_count` training examples. Each
/// class gets its proportional quota, rounded by largest remainder (ties to
/// the lower class), then its members are shuffled and the first ones train.
pub fn stratified_split(labels: &[u8], train_count: usize, split_seed: u64) -> Split {
    let classes = by_class(labels);
    let total = labels.len();
    let mut quota: Vec<usize> = Vec::with_capacity(10);
    let mut remainders: Vec<(usize, usize)> = Vec::with_capacity(10);
    for (c, members) in classes.iter().enumerate() {
        let exact = members.len() * train_count;
        quota.push(exact / total.max(1));
        remainders.push((exact % total.max(1), c));
    }
    let missing = train_count - quota.iter().sum::<usize>();
    remainders.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for &(_, c) in remainders.iter().take(missing) {
        quota[c] += 1;
    }
    let mut rng = SplitMix64::new(split_seed);
    let (mut train, mut test) = (Vec::new(), Vec::new());
    for (mut members, q) in classes.into_iter().zip(quota) {
        rng.shuffle(&mut members);
        train.extend_from_slice(&members[..q]);
        test.extend_from_slice(&members[q..]);
    }
    train.sort_unstable();
    test.sort_unstable();
    Split { train, test }
}

/// Applies `protocol` to a pool of `labels`; `train_files_len` is how many of
/// the pool's first examples come from the training files (for hold-out).
pub fn split_pool(
    protocol: &Protocol,
    labels: &[u8],
    train_files_len: usize,
) -> Result<Split, DataError> {
    let n = labels.len();
    let split = match *protocol {
        Protocol::Holdout => Split {
            train: (0..train_files_len).collect(),
            test: (train_files_len..n).collect(),
        },
        Protocol::KFold {
            folds,
            fold,
            split_seed,
        } => {
            if folds < 2 || fold == 0 || fold > folds {
                return Err(protocol.invalid(format!(
                    "fold {fold} of {folds}: need folds ≥ 2 and 1 ≤ fold ≤ folds"
                )));
            }
            let fold_of = assign_folds(labels, folds, split_seed);
            let (test, train): (Vec<usize>, Vec<usize>) =
                (0..n).partition(|&i| fold_of[i] == fold - 1);
            Split { train, test }
        }
        Protocol::Ratio {
            train_fraction,
            split_seed,
        } => {
            if !(train_fraction > 0.0 && train_fraction < 1.0) {
                return Err(
                    protocol.invalid(format!("train_fraction {train_fraction} is not in (0, 1)"))
                );
            }
            stratified_split(
                labels,
                (train_fraction * n as f64).round() as usize,
                split_seed,
            )
        }
        Protocol::TestFilesSplit {
            train_count,
            test_count,
            split_seed,
        } => {
            if train_count == 0 || train_count >= n {
                return Err(protocol.invalid(format!(
                    "train_count {train_count} must be in 1..{n} (the test files hold {n})"
                )));
            }
            let mut split = stratified_split(labels, train_count, split_seed);
            if let Some(m) = test_count {
                let rest = split.test.len();
                if m == 0 || m > rest {
                    return Err(protocol.invalid(format!(
                        "test_count {m} must be in 1..={rest} (what is left after training)"
                    )));
                }
                // A stratified draw from the held-out rest: the test set
                // stays disjoint from training and keeps the class mix.
                let rest_labels: Vec<u8> = split.test.iter().map(|&i| labels[i]).collect();
                let sub = stratified_split(&rest_labels, m, split_seed ^ TEST_SUBSET_SALT);
                split.test = sub.train.iter().map(|&j| split.test[j]).collect();
            }
            split
        }
    };
    if split.train.is_empty() || split.test.is_empty() {
        return Err(protocol.invalid(format!(
            "leaves {} training and {} test examples out of {n}",
            split.train.len(),
            split.test.len()
        )));
    }
    Ok(split)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(labels: &[u8], idx: &[usize]) -> [usize; 10] {
        let mut c = [0; 10];
        for &i in idx {
            c[usize::from(labels[i])] += 1;
        }
        c
    }

    #[test]
    fn test_files_split_can_test_on_a_stratified_subset_of_the_rest() {
        let labels: Vec<u8> = (0..10_000usize).map(|i| (i * 7 % 10) as u8).collect();
        let p = Protocol::TestFilesSplit {
            train_count: 2000,
            test_count: Some(1000),
            split_seed: 5,
        };
        let s = split_pool(&p, &labels, 0).unwrap();
        assert_eq!((s.train.len(), s.test.len()), (2000, 1000));
        assert_eq!(counts(&labels, &s.test), [100; 10]);
        assert!(s.test.iter().all(|i| !s.train.contains(i)));
        assert_eq!(split_pool(&p, &labels, 0).unwrap(), s, "seeded");
        let too_many = Protocol::TestFilesSplit {
            train_count: 9000,
            test_count: Some(1001),
            split_seed: 5,
        };
        assert!(split_pool(&too_many, &labels, 0).is_err());
    }

    #[test]
    fn cifar_shaped_folds_hold_exactly_1000_per_class() {
        // 60 000 labels, 6 000 per class, in a scrambled order.
        let mut labels: Vec<u8> = (0..60_000usize).map(|i| (i % 10) as u8).collect();
        SplitMix64::new(99).shuffle(&mut labels);
        assert!(counts(&labels, &(0..60_000).collect::<Vec<_>>())
            .iter()
            .all(|&c| c == 6000));
        let mut seen = vec![false; labels.len()];
        for fold in 1..=6 {
            let s = split_pool(
                &Protocol::KFold {
                    folds: 6,
                    fold,
                    split_seed: 42,
                },
                &labels,
                50_000,
            )
            .unwrap();
            assert_eq!(counts(&labels, &s.test), [1000; 10], "fold {fold}");
            assert_eq!(s.train.len(), 50_000);
            for &i in &s.test {
                assert!(!seen[i], "example {i} tested twice");
                seen[i] = true;
            }
        }
        assert!(seen.iter().all(|&s| s));
    }

    #[test]
    fn folds_depend_on_the_seed_only() {
        let labels: Vec<u8> = (0..600).map(|i| (i % 10) as u8).collect();
        let p = |seed| Protocol::KFold {
            folds: 6,
            fold: 2,
            split_seed: seed,
        };
        assert_eq!(
            split_pool(&p(1), &labels, 0).unwrap(),
            split_pool(&p(1), &labels, 0).unwrap()
        );
        assert_ne!(
            split_pool(&p(1), &labels, 0).unwrap(),
            split_pool(&p(2), &labels, 0).unwrap()
        );
    }

    #[test]
    fn mnist_test_files_split_is_stratified_8000_2000() {
        // The real t10k class counts (shared/data/README.md).
        let per_class = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009];
        let labels: Vec<u8> = per_class
            .iter()
            .enumerate()
            .flat_map(|(c, &n)| std::iter::repeat_n(c as u8, n))
            .collect();
        let s = split_pool(
            &Protocol::TestFilesSplit {
                train_count: 8000,
                test_count: None,
                split_seed: 3,
            },
            &labels,
            0,
        )
        .unwrap();
        assert_eq!((s.train.len(), s.test.len()), (8000, 2000));
        let train = counts(&labels, &s.train);
        for (c, (&t, &n)) in train.iter().zip(&per_class).enumerate() {
            let exact = n as f64 * 0.8;
            assert!((t as f64 - exact).abs() < 1.0, "class {c}: {t} vs {exact}");
        }
    }

    #[test]
    fn ratio_and_holdout() {
        let labels: Vec<u8> = (0..1000).map(|i| (i % 10) as u8).collect();
        let s = split_pool(
            &Protocol::Ratio {
                train_fraction: 0.7,
                split_seed: 9,
            },
            &labels,
            600,
        )
        .unwrap();
        assert_eq!(counts(&labels, &s.train), [70; 10]);
        let h = split_pool(&Protocol::Holdout, &labels, 600).unwrap();
        assert_eq!((h.train.len(), h.test[0]), (600, 600));
    }

    #[test]
    fn out_of_range_protocols_are_errors() {
        let labels: Vec<u8> = (0..100).map(|i| (i % 10) as u8).collect();
        for p in [
            Protocol::KFold {
                folds: 6,
                fold: 0,
                split_seed: 0,
            },
            Protocol::KFold {
                folds: 6,
                fold: 7,
                split_seed: 0,
            },
            Protocol::KFold {
                folds: 1,
                fold: 1,
                split_seed: 0,
            },
            Protocol::Ratio {
                train_fraction: 1.0,
                split_seed: 0,
            },
            Protocol::TestFilesSplit {
                train_count: 100,
                test_count: None,
                split_seed: 0,
            },
        ] {
            assert!(
                matches!(split_pool(&p, &labels, 50), Err(DataError::Protocol { .. })),
                "{p:?}"
            );
        }
        // Hold-out with no test files.
        assert!(split_pool(&Protocol::Holdout, &labels, 100).is_err());
    }

    #[test]
    fn protocol_serialises_with_a_kind_tag() {
        let p = Protocol::KFold {
            folds: 6,
            fold: 2,
            split_seed: 7,
        };
        let json = serde_json::to_string(&p).unwrap();
        assert_eq!(
            json,
            r#"{"kind":"k-fold","folds":6,"fold":2,"split_seed":7}"#
        );
        assert_eq!(serde_json::from_str::<Protocol>(&json).unwrap(), p);
    }
}
