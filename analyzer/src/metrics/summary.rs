//! From per-model results to the rows of the paper's Tables 11 and 12:
//! Eq. 3 per (platform, dataset, architecture, criterion), Eq. 4 per
//! (platform, dataset, architecture), and the ratios.
//!
//! The energy kind (joules or sample-sum) is part of every key next to the
//! platform: numbers from different hosts or in different units are kept in
//! separate rows and only ever compared through an explicit ratio.

use super::efficiency::{self, BootstrapOptions, Eq3, Eq4, Replicate, WidthPoint};
use super::EnergyKind;
use std::collections::BTreeMap;

/// Which model, where, in what energy unit.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ModelKey {
    pub platform: String,
    pub dataset: String,
    pub arch: String,
    pub width: u32,
    pub kind: EnergyKind,
}

/// Smallest, largest and mean of the epochs at which a model's runs
/// (folds, seeds) stopped or were last recorded.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EpochRange {
    pub min: u32,
    pub max: u32,
    pub mean: f64,
}

impl EpochRange {
    pub fn from_epochs(epochs: &[u32]) -> Option<Self> {
        let min = *epochs.iter().min()?;
        let max = *epochs.iter().max()?;
        let mean = epochs.iter().map(|&e| f64::from(e)).sum::<f64>() / epochs.len() as f64;
        Some(Self { min, max, mean })
    }

    pub fn single(epoch: u32) -> Self {
        Self {
            min: epoch,
            max: epoch,
            mean: f64::from(epoch),
        }
    }

    /// `41`, or `38–45` when runs differ.
    pub fn display(&self) -> String {
        if self.min == self.max {
            self.min.to_string()
        } else {
            format!("{}–{}", self.min, self.max)
        }
    }
}

/// How one model fared under one criterion.
#[derive(Debug, Clone, PartialEq)]
pub enum ModelOutcome {
    Stopped {
        stop: EpochRange,
        /// Test accuracy at the reported epoch, mean over folds and seeds.
        acc: f64,
        /// Energy up to the stop, mean over folds and seeds (`None` when only
        /// a published efficiency is known).
        energy: Option<f64>,
        /// Eq. 2 at the stop.
        eff: Option<f64>,
        /// One entry per seed, for the bootstrap.
        replicates: Vec<Replicate>,
        runs: usize,
        /// For first-of combinations: which member fired, in how many runs.
        fired: BTreeMap<String, usize>,
    },
    /// The criterion did not fire in some run within its recorded epochs.
    Censored {
        last: EpochRange,
        censored_runs: usize,
        runs: usize,
    },
    /// The runs lack what the criterion or Eq. 2 needs.
    Unusable { reason: String },
}

impl ModelOutcome {
    pub fn eff(&self) -> Option<f64> {
        match self {
            ModelOutcome::Stopped { eff, .. } => *eff,
            _ => None,
        }
    }
}

/// One model under one criterion.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelResult {
    pub key: ModelKey,
    /// The criterion's label (its column in Table 11).
    pub criterion: String,
    /// The rule actually replayed (the paper's accuracy target depends on
    /// the dataset).
    pub rule: String,
    pub outcome: ModelOutcome,
}

/// The group of Eq. 3 and Eq. 4: everything but width and criterion.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ArchKey {
    pub platform: String,
    pub kind: EnergyKind,
    pub dataset: String,
    pub arch: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Eq3Row {
    pub key: ArchKey,
    pub criterion: String,
    pub eq3: Eq3,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Eq4Row {
    pub key: ArchKey,
    /// Eq. 3 per criterion label, in [`Summary::criteria`] order.
    pub eq3: Vec<Option<f64>>,
    pub eq4: Eq4,
}

/// What a ratio compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RatioKind {
    /// arch / arch within one dataset.
    Arch,
    /// dataset / dataset within one architecture.
    Dataset,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RatioRow {
    pub platform: String,
    pub kind: EnergyKind,
    pub what: RatioKind,
    /// The dataset (arch ratios) or architecture (dataset ratios) held fixed.
    pub within: String,
    pub numerator: String,
    pub denominator: String,
    pub value: Option<f64>,
}

/// Eq. 4 of the same (dataset, arch) on two platforms (the paper's Table A2).
#[derive(Debug, Clone, PartialEq)]
pub struct PlatformRatioRow {
    pub kind: EnergyKind,
    pub dataset: String,
    pub arch: String,
    pub numerator: String,
    pub denominator: String,
    pub value: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Summary {
    /// Criterion labels in the order asked for.
    pub criteria: Vec<String>,
    pub eq3: Vec<Eq3Row>,
    pub eq4: Vec<Eq4Row>,
    pub ratios: Vec<RatioRow>,
    pub platform_ratios: Vec<PlatformRatioRow>,
}

/// Sort key that puts the paper's names first in the paper's order
/// (LeNet before BCNN, MNIST before CIFAR-10), so that its ratios
/// (lenet/bcnn, mnist/cifar10) come out the right way up.
pub fn paper_order(name: &str) -> (usize, String) {
    const KNOWN: [&str; 5] = ["lenet", "bcnn", "bcnn-mcd", "mnist", "cifar10"];
    let pos = KNOWN
        .iter()
        .position(|k| k.eq_ignore_ascii_case(name))
        .unwrap_or(KNOWN.len());
    (pos, name.to_string())
}

fn sorted_unique<'a>(names: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut v: Vec<String> = names.map(str::to_string).collect();
    v.sort_by_key(|n| paper_order(n));
    v.dedup();
    v
}

/// All pairs (a, b) with a before b.
fn pairs(names: &[String]) -> Vec<(&String, &String)> {
    let mut out = Vec::new();
    for (i, a) in names.iter().enumerate() {
        for b in &names[i + 1..] {
            out.push((a, b));
        }
    }
    out
}

/// Groups model results into Eq. 3, Eq. 4 and ratio rows. `criteria` gives
/// the labels in display order; labels found only in `results` follow.
pub fn summarise(results: &[ModelResult], criteria: &[String], boot: BootstrapOptions) -> Summary {
    let mut labels: Vec<String> = criteria.to_vec();
    for r in results {
        if !labels.contains(&r.criterion) {
            labels.push(r.criterion.clone());
        }
    }
    let mut groups: BTreeMap<ArchKey, BTreeMap<String, Vec<&ModelResult>>> = BTreeMap::new();
    for r in results {
        let key = ArchKey {
            platform: r.key.platform.clone(),
            kind: r.key.kind,
            dataset: r.key.dataset.clone(),
            arch: r.key.arch.clone(),
        };
        groups
            .entry(key)
            .or_default()
            .entry(r.criterion.clone())
            .or_default()
            .push(r);
    }
    let mut keys: Vec<ArchKey> = groups.keys().cloned().collect();
    keys.sort_by(|a, b| {
        (
            &a.platform,
            a.kind,
            paper_order(&a.dataset),
            paper_order(&a.arch),
        )
            .cmp(&(
                &b.platform,
                b.kind,
                paper_order(&b.dataset),
                paper_order(&b.arch),
            ))
    });

    let mut summary = Summary {
        criteria: labels.clone(),
        ..Summary::default()
    };
    for key in &keys {
        let Some(by_criterion) = groups.get(key) else {
            continue;
        };
        let mut means = Vec::new();
        for label in &labels {
            let Some(models) = by_criterion.get(label) else {
                means.push(None);
                continue;
            };
            let mut points: Vec<WidthPoint> = models
                .iter()
                .filter(|m| !matches!(m.outcome, ModelOutcome::Unusable { .. }))
                .map(|m| WidthPoint {
                    width: m.key.width,
                    eff: m.outcome.eff(),
                    replicates: match &m.outcome {
                        ModelOutcome::Stopped { replicates, .. } => replicates.clone(),
                        _ => Vec::new(),
                    },
                })
                .collect();
            points.sort_by_key(|p| p.width);
            let eq3 = efficiency::eq3(&points, boot);
            means.push(eq3.mean);
            summary.eq3.push(Eq3Row {
                key: key.clone(),
                criterion: label.clone(),
                eq3,
            });
        }
        let eq4 = efficiency::eq4(&means);
        summary.eq4.push(Eq4Row {
            key: key.clone(),
            eq3: means,
            eq4,
        });
    }
    summary.ratios = ratios(&summary.eq4);
    summary.platform_ratios = platform_ratios(&summary.eq4);
    summary
}

fn eq4_of(
    rows: &[Eq4Row],
    platform: &str,
    kind: EnergyKind,
    dataset: &str,
    arch: &str,
) -> Option<f64> {
    rows.iter()
        .find(|r| {
            r.key.platform == platform
                && r.key.kind == kind
                && r.key.dataset == dataset
                && r.key.arch == arch
        })
        .and_then(|r| r.eq4.mean)
}

/// arch/arch per dataset and dataset/dataset per arch, per platform.
fn ratios(rows: &[Eq4Row]) -> Vec<RatioRow> {
    let mut out = Vec::new();
    let mut platforms: Vec<(String, EnergyKind)> = rows
        .iter()
        .map(|r| (r.key.platform.clone(), r.key.kind))
        .collect();
    platforms.dedup();
    for (platform, kind) in platforms {
        let here: Vec<&Eq4Row> = rows
            .iter()
            .filter(|r| r.key.platform == platform && r.key.kind == kind)
            .collect();
        let datasets = sorted_unique(here.iter().map(|r| r.key.dataset.as_str()));
        let archs = sorted_unique(here.iter().map(|r| r.key.arch.as_str()));
        let row = |what, within: &str, a: &str, b: &str, value| RatioRow {
            platform: platform.clone(),
            kind,
            what,
            within: within.to_string(),
            numerator: a.to_string(),
            denominator: b.to_string(),
            value,
        };
        for d in &datasets {
            for (a, b) in pairs(&archs) {
                let v = efficiency::ratio(
                    eq4_of(rows, &platform, kind, d, a),
                    eq4_of(rows, &platform, kind, d, b),
                );
                out.push(row(RatioKind::Arch, d, a, b, v));
            }
        }
        for a in &archs {
            for (d1, d2) in pairs(&datasets) {
                let v = efficiency::ratio(
                    eq4_of(rows, &platform, kind, d1, a),
                    eq4_of(rows, &platform, kind, d2, a),
                );
                out.push(row(RatioKind::Dataset, a, d1, d2, v));
            }
        }
    }
    out
}

/// The same (dataset, arch) on each pair of platforms.
fn platform_ratios(rows: &[Eq4Row]) -> Vec<PlatformRatioRow> {
    let mut out = Vec::new();
    let mut combos: Vec<(EnergyKind, String, String)> = rows
        .iter()
        .map(|r| (r.key.kind, r.key.dataset.clone(), r.key.arch.clone()))
        .collect();
    combos.sort_by(|a, b| {
        (a.0, paper_order(&a.1), paper_order(&a.2)).cmp(&(
            b.0,
            paper_order(&b.1),
            paper_order(&b.2),
        ))
    });
    combos.dedup();
    for (kind, dataset, arch) in combos {
        let mut platforms: Vec<String> = rows
            .iter()
            .filter(|r| r.key.kind == kind && r.key.dataset == dataset && r.key.arch == arch)
            .map(|r| r.key.platform.clone())
            .collect();
        platforms.sort();
        platforms.dedup();
        for (p, q) in pairs(&platforms) {
            out.push(PlatformRatioRow {
                kind,
                dataset: dataset.clone(),
                arch: arch.clone(),
                numerator: p.clone(),
                denominator: q.clone(),
                value: efficiency::ratio(
                    eq4_of(rows, p, kind, &dataset, &arch),
                    eq4_of(rows, q, kind, &dataset, &arch),
                ),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(
        platform: &str,
        dataset: &str,
        arch: &str,
        width: u32,
        crit: &str,
        eff: Option<f64>,
    ) -> ModelResult {
        let outcome = match eff {
            Some(e) => ModelOutcome::Stopped {
                stop: EpochRange::single(10),
                acc: e,
                energy: Some(1.0),
                eff: Some(e),
                replicates: vec![Replicate {
                    acc: e,
                    energy: 1.0,
                }],
                runs: 1,
                fired: BTreeMap::new(),
            },
            None => ModelOutcome::Censored {
                last: EpochRange::single(100),
                censored_runs: 1,
                runs: 1,
            },
        };
        ModelResult {
            key: ModelKey {
                platform: platform.into(),
                dataset: dataset.into(),
                arch: arch.into(),
                width,
                kind: EnergyKind::SampleSum,
            },
            criterion: crit.into(),
            rule: crit.into(),
            outcome,
        }
    }

    #[test]
    fn groups_orders_and_divides_the_paper_way() {
        let mut rs = Vec::new();
        for (d, a, effs) in [
            ("cifar10", "bcnn", [1.0, 1.0]),
            ("mnist", "bcnn", [2.0, 2.0]),
            ("cifar10", "lenet", [4.0, 4.0]),
            ("mnist", "lenet", [8.0, 12.0]),
        ] {
            for (w, e) in (1..).zip(effs) {
                rs.push(result("p", d, a, w, "c1", Some(e)));
                rs.push(result("p", d, a, w, "c2", Some(e * 2.0)));
            }
        }
        let s = summarise(
            &rs,
            &["c1".into(), "c2".into()],
            BootstrapOptions::default(),
        );
        let first = &s.eq4[0];
        assert_eq!(
            (first.key.dataset.as_str(), first.key.arch.as_str()),
            ("mnist", "lenet")
        );
        assert_eq!(first.eq3, vec![Some(10.0), Some(20.0)]);
        assert_eq!(first.eq4.mean, Some(15.0));
        let arch_mnist = &s.ratios[0];
        assert_eq!(
            (
                arch_mnist.within.as_str(),
                arch_mnist.numerator.as_str(),
                arch_mnist.denominator.as_str()
            ),
            ("mnist", "lenet", "bcnn")
        );
        assert_eq!(arch_mnist.value, Some(15.0 / 3.0));
        let ds_lenet = s
            .ratios
            .iter()
            .find(|r| r.what == RatioKind::Dataset && r.within == "lenet")
            .unwrap();
        assert_eq!(
            (ds_lenet.numerator.as_str(), ds_lenet.value),
            ("mnist", Some(15.0 / 6.0))
        );
        assert!(s.platform_ratios.is_empty());
    }

    #[test]
    fn platforms_are_never_pooled() {
        let rs = vec![
            result("a100", "mnist", "lenet", 1, "c", Some(4.0)),
            result("mi250", "mnist", "lenet", 1, "c", Some(2.0)),
        ];
        let s = summarise(&rs, &["c".into()], BootstrapOptions::default());
        assert_eq!(s.eq3.len(), 2);
        assert_eq!(s.eq3[0].eq3.mean, Some(4.0));
        assert_eq!(s.eq3[1].eq3.mean, Some(2.0));
        assert_eq!(s.platform_ratios.len(), 1);
        assert_eq!(s.platform_ratios[0].value, Some(2.0));
        assert_eq!(s.platform_ratios[0].numerator, "a100");
    }

    #[test]
    fn censored_widths_are_counted_not_averaged() {
        let rs = vec![
            result("p", "mnist", "lenet", 1, "c", Some(4.0)),
            result("p", "mnist", "lenet", 2, "c", None),
        ];
        let s = summarise(
            &rs,
            &["c".into(), "missing".into()],
            BootstrapOptions::default(),
        );
        assert_eq!((s.eq3[0].eq3.n, s.eq3[0].eq3.censored), (1, 1));
        assert_eq!(s.eq4[0].eq3, vec![Some(4.0), None]);
        assert_eq!((s.eq4[0].eq4.used, s.eq4[0].eq4.total), (1, 2));
    }

    #[test]
    fn epoch_range_display() {
        assert_eq!(EpochRange::from_epochs(&[41, 41]).unwrap().display(), "41");
        let r = EpochRange::from_epochs(&[38, 45, 40]).unwrap();
        assert_eq!(r.display(), "38–45");
        assert!((r.mean - 41.0).abs() < 1e-12);
        assert_eq!(EpochRange::from_epochs(&[]), None);
    }
}
