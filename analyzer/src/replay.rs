//! Stopping criteria replayed on recorded runs (SPEC §4), and the
//! aggregation of runs into models (SPEC §3).
//!
//! The trace crate decides *when* a rule fires ([`Criterion::replay`]); this
//! module turns that decision into the numbers Eq. 2 needs: the test
//! accuracy at the reported epoch and the energy paid up to the stop. With
//! `restore-best` those are different epochs on purpose: a trainer that
//! restores the best weights still paid for the epochs after them.
//!
//! Runs are grouped into models. Each CV fold is its own run and is replayed
//! separately; a model's accuracy is the mean over folds and its energy the
//! mean energy per fold. Repeated seeds are further repetitions of the same
//! model, averaged the same way and kept apart for the bootstrap. A model is
//! censored under a criterion when any of its runs is: averaging the others
//! would quietly describe a different population of runs.

use crate::metrics::summary::EpochRange;
use crate::metrics::{eq2, EnergyKind, ModelKey, ModelOutcome, ModelResult, Replicate};
use crate::model::{EnergyMode, EpochEnergy, RunData};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use trainwatt_trace::criterion::ReplayError;
use trainwatt_trace::{Criterion, EpochPoint, StopDecision};

/// Which energy the numbers use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnergyBasis {
    /// Everything the selected components drew.
    Gross,
    /// Minus the idle baseline (`--baseline`); joule modes only.
    Net,
}

impl EnergyBasis {
    pub fn describe(self) -> &'static str {
        match self {
            EnergyBasis::Gross => "gross",
            EnergyBasis::Net => "net of the idle baseline",
        }
    }
}

/// The energy kind of a run's numbers.
pub fn energy_kind(mode: EnergyMode) -> EnergyKind {
    match mode {
        EnergyMode::Counter | EnergyMode::Integral => EnergyKind::Joules,
        EnergyMode::SampleSum => EnergyKind::SampleSum,
    }
}

/// E(i) of one epoch row in the run's energy mode and the chosen basis.
pub fn epoch_energy(mode: EnergyMode, e: &EpochEnergy, basis: EnergyBasis) -> Option<f64> {
    match (energy_kind(mode), basis) {
        (EnergyKind::SampleSum, EnergyBasis::Gross) => Some(e.sample_sum_w),
        (EnergyKind::SampleSum, EnergyBasis::Net) => None,
        (EnergyKind::Joules, EnergyBasis::Gross) => Some(e.energy_j),
        (EnergyKind::Joules, EnergyBasis::Net) => e.net_energy_j,
    }
}

/// A criterion as asked for on the command line, possibly per dataset.
#[derive(Debug, Clone, PartialEq)]
pub struct CriterionSpec {
    /// Column name in the criteria table.
    pub label: String,
    rule: SpecRule,
}

#[derive(Debug, Clone, PartialEq)]
enum SpecRule {
    Fixed(Criterion),
    /// Index into [`Criterion::paper_set`], whose accuracy target depends on
    /// the dataset.
    Paper(usize),
}

/// Labels of the paper's four criteria, in its order (Table 11).
pub const PAPER_LABELS: [&str; 4] = [
    "50 epochs",
    "early stopping",
    "energy bound",
    "accuracy bound",
];

impl CriterionSpec {
    pub fn fixed(c: Criterion) -> Self {
        Self {
            label: c.to_string(),
            rule: SpecRule::Fixed(c),
        }
    }

    /// The paper's four criteria (`--paper-criteria`).
    pub fn paper_set() -> Vec<Self> {
        PAPER_LABELS
            .iter()
            .enumerate()
            .map(|(i, l)| Self {
                label: (*l).to_string(),
                rule: SpecRule::Paper(i),
            })
            .collect()
    }

    /// The rule to replay on runs of `dataset`.
    pub fn for_dataset(&self, dataset: &str) -> Option<Criterion> {
        match &self.rule {
            SpecRule::Fixed(c) => Some(c.clone()),
            SpecRule::Paper(i) => Criterion::paper_set(dataset).get(*i).cloned(),
        }
    }
}

/// What one run gives under one criterion.
#[derive(Debug, Clone, PartialEq)]
pub enum RunStop {
    Stopped {
        stop_epoch: u32,
        report_epoch: u32,
        /// Test accuracy at `report_epoch`.
        acc: f64,
        /// Energy up to the end of `stop_epoch`.
        energy: f64,
        /// The member of a first-of combination that fired.
        fired: String,
    },
    Censored {
        last_epoch: u32,
    },
}

/// Why a run cannot be replayed.
#[derive(Debug, thiserror::Error)]
pub enum RunReplayError {
    #[error("{dir}: {source}")]
    Criterion {
        dir: PathBuf,
        #[source]
        source: ReplayError,
    },
    #[error("{dir}: no test accuracy at epoch {epoch}, which Eq. 2 needs")]
    NoTestAccuracy { dir: PathBuf, epoch: u32 },
    #[error("{dir}: no {basis} energy at epoch {epoch}")]
    NoEnergy {
        dir: PathBuf,
        epoch: u32,
        basis: &'static str,
    },
}

/// The criterion's view of a run, with the energy basis applied to `energy_j`
/// (so that `energy:B kJ` bounds net energy when net is asked for).
fn points(run: &RunData, basis: EnergyBasis) -> Vec<EpochPoint> {
    let mut pts = run.points();
    if basis == EnergyBasis::Net {
        for (p, e) in pts.iter_mut().zip(&run.epochs) {
            p.energy_j = e.net_energy_j;
        }
    }
    pts
}

/// Replays `criterion` on one run.
pub fn replay_run(
    run: &RunData,
    criterion: &Criterion,
    basis: EnergyBasis,
) -> Result<RunStop, RunReplayError> {
    let decision =
        criterion
            .replay(&points(run, basis))
            .map_err(|source| RunReplayError::Criterion {
                dir: run.dir.clone(),
                source,
            })?;
    match decision {
        StopDecision::Censored { last_epoch } => Ok(RunStop::Censored { last_epoch }),
        StopDecision::Stopped {
            stop_epoch,
            report_epoch,
            fired,
        } => {
            let row = |epoch: u32| run.epochs.iter().find(|e| e.epoch == epoch);
            let acc = row(report_epoch).and_then(|e| e.test_acc).ok_or_else(|| {
                RunReplayError::NoTestAccuracy {
                    dir: run.dir.clone(),
                    epoch: report_epoch,
                }
            })?;
            let energy = row(stop_epoch)
                .and_then(|e| epoch_energy(run.energy_mode, e, basis))
                .ok_or_else(|| RunReplayError::NoEnergy {
                    dir: run.dir.clone(),
                    epoch: stop_epoch,
                    basis: basis.describe(),
                })?;
            Ok(RunStop::Stopped {
                stop_epoch,
                report_epoch,
                acc,
                energy,
                fired,
            })
        }
    }
}

/// The model a run belongs to.
pub fn model_key(run: &RunData) -> ModelKey {
    ModelKey {
        platform: run.platform().to_string(),
        dataset: run.dataset().to_string(),
        arch: run.arch().to_string(),
        width: run.width(),
        kind: energy_kind(run.energy_mode),
    }
}

/// Runs that repeat one model: folds of one seed together, each
/// non-fold run alone.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Repetition {
    Folds(Option<u64>),
    Single(usize),
}

/// Runs per model, per repetition.
type ModelRuns<'a> = BTreeMap<ModelKey, BTreeMap<Repetition, Vec<&'a RunData>>>;

/// Groups runs into models and their repetitions, with warnings about
/// incomplete or duplicated folds.
fn group(runs: &[RunData]) -> (ModelRuns<'_>, Vec<String>) {
    let mut models = ModelRuns::new();
    for (i, run) in runs.iter().enumerate() {
        let w = &run.manifest.workload;
        let rep = match w.fold {
            Some(_) => Repetition::Folds(w.seed),
            None => Repetition::Single(i),
        };
        models
            .entry(model_key(run))
            .or_default()
            .entry(rep)
            .or_default()
            .push(run);
    }
    let mut warnings = Vec::new();
    for (key, reps) in &models {
        for (rep, runs) in reps {
            let Repetition::Folds(seed) = rep else {
                continue;
            };
            let folds: BTreeSet<u32> = runs
                .iter()
                .filter_map(|r| r.manifest.workload.fold)
                .collect();
            let expected = runs.iter().filter_map(|r| r.manifest.workload.folds).max();
            let name = format!(
                "{}/{}/{}-{} seed {}",
                key.platform,
                key.dataset,
                key.arch,
                key.width,
                seed.map_or("?".into(), |s| s.to_string())
            );
            if folds.len() < runs.len() {
                warnings.push(format!(
                    "{name}: {} runs share {} fold numbers (duplicated folds are all averaged)",
                    runs.len(),
                    folds.len()
                ));
            }
            if let Some(k) = expected {
                if (folds.len() as u32) < k {
                    warnings.push(format!("{name}: {} of {k} CV folds present; the model's numbers average only those", folds.len()));
                }
            }
        }
    }
    (models, warnings)
}

fn mean(v: impl Iterator<Item = f64>) -> f64 {
    let (s, n) = v.fold((0.0, 0usize), |(s, n), x| (s + x, n + 1));
    s / n.max(1) as f64
}

/// One model under one rule.
fn replay_model(
    reps: &BTreeMap<Repetition, Vec<&RunData>>,
    rule: &Criterion,
    basis: EnergyBasis,
) -> ModelOutcome {
    let mut replicates = Vec::new();
    let mut stops = Vec::new();
    let mut censored_last = Vec::new();
    let mut runs = 0;
    let mut fired: BTreeMap<String, usize> = BTreeMap::new();
    for rep_runs in reps.values() {
        let mut folds = Vec::new();
        for run in rep_runs {
            runs += 1;
            match replay_run(run, rule, basis) {
                Ok(RunStop::Stopped {
                    stop_epoch,
                    acc,
                    energy,
                    fired: member,
                    ..
                }) => {
                    *fired.entry(member).or_default() += 1;
                    stops.push(stop_epoch);
                    folds.push((acc, energy));
                }
                Ok(RunStop::Censored { last_epoch }) => censored_last.push(last_epoch),
                Err(e) => {
                    return ModelOutcome::Unusable {
                        reason: e.to_string(),
                    }
                }
            }
        }
        if !folds.is_empty() {
            replicates.push(Replicate {
                acc: mean(folds.iter().map(|f| f.0)),
                energy: mean(folds.iter().map(|f| f.1)),
            });
        }
    }
    if let Some(last) = EpochRange::from_epochs(&censored_last) {
        return ModelOutcome::Censored {
            last,
            censored_runs: censored_last.len(),
            runs,
        };
    }
    let Some(stop) = EpochRange::from_epochs(&stops) else {
        return ModelOutcome::Unusable {
            reason: "no runs".into(),
        };
    };
    let acc = mean(replicates.iter().map(|r| r.acc));
    let energy = mean(replicates.iter().map(|r| r.energy));
    ModelOutcome::Stopped {
        stop,
        acc,
        energy: Some(energy),
        eff: eq2(acc, energy),
        replicates,
        runs,
        fired,
    }
}

/// Every model under every criterion, plus warnings.
#[derive(Debug, Clone, Default)]
pub struct Replayed {
    pub results: Vec<ModelResult>,
    pub warnings: Vec<String>,
}

/// Replays each criterion on each run and aggregates runs into models.
pub fn replay_models(runs: &[RunData], specs: &[CriterionSpec], basis: EnergyBasis) -> Replayed {
    let (models, mut warnings) = group(runs);
    let mut results = Vec::new();
    for spec in specs {
        for (key, reps) in &models {
            let Some(rule) = spec.for_dataset(&key.dataset) else {
                continue;
            };
            let outcome = replay_model(reps, &rule, basis);
            if let ModelOutcome::Unusable { reason } = &outcome {
                warnings.push(format!(
                    "'{}' left out of '{}': {reason}",
                    display_model(key),
                    spec.label
                ));
            }
            results.push(ModelResult {
                key: key.clone(),
                criterion: spec.label.clone(),
                rule: rule.to_string(),
                outcome,
            });
        }
    }
    Replayed { results, warnings }
}

/// `platform/dataset/arch-width`.
pub fn display_model(key: &ModelKey) -> String {
    format!(
        "{}/{}/{}-{}",
        key.platform, key.dataset, key.arch, key.width
    )
}

#[cfg(test)]
pub(crate) mod fixtures;
#[cfg(test)]
mod tests;
