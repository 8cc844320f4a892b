//! Hand-built runs for tests: a manifest with the workload filled in and
//! epoch rows from closures, so each test states exactly the numbers it
//! checks.

use crate::model::{EnergyMode, EpochEnergy, RunData};
use std::path::PathBuf;
use trainwatt_trace::{HostFacts, Manifest, RunStatus, SamplerStats, Workload, SCHEMA_VERSION};

pub(crate) struct RunSpec<'a> {
    pub platform: &'a str,
    pub dataset: &'a str,
    pub arch: &'a str,
    pub width: u32,
    pub seed: Option<u64>,
    pub fold: Option<u32>,
    pub folds: Option<u32>,
    pub mode: EnergyMode,
}

impl Default for RunSpec<'_> {
    fn default() -> Self {
        Self {
            platform: "lab",
            dataset: "mnist",
            arch: "lenet",
            width: 1,
            seed: Some(1),
            fold: None,
            folds: None,
            mode: EnergyMode::Counter,
        }
    }
}

/// A run of `n` epochs where epoch `i` has test accuracy `test(i)`, train
/// accuracy `train(i)`, and E(i) = `energy(i)` in J; the sample-sum is
/// 10 × E(i) and the net energy E(i) / 2, so tests can tell them apart.
pub(crate) fn run(
    spec: &RunSpec,
    n: u32,
    test: impl Fn(u32) -> f64,
    train: impl Fn(u32) -> f64,
    energy: impl Fn(u32) -> f64,
) -> RunData {
    let id = format!(
        "{}-{}-{}-{}-s{:?}-f{:?}",
        spec.platform, spec.dataset, spec.arch, spec.width, spec.seed, spec.fold
    );
    let manifest = Manifest {
        schema_version: SCHEMA_VERSION,
        run_id: id.clone(),
        started_at_utc: "2026-01-01T00:00:00Z".into(),
        ended_at_utc: None,
        status: RunStatus::Complete,
        platform: spec.platform.into(),
        host: HostFacts::default(),
        sources: Vec::new(),
        sampler: SamplerStats::default(),
        workload: Workload {
            kind: "train".into(),
            arch: Some(spec.arch.into()),
            width: Some(spec.width),
            dataset: Some(spec.dataset.into()),
            fold: spec.fold,
            folds: spec.folds,
            seed: spec.seed,
            ..Workload::default()
        },
        epochs_approximate: false,
        imported: None,
        warnings: Vec::new(),
        error: None,
        writer: "test".into(),
    };
    let epochs = (1..=n)
        .map(|i| EpochEnergy {
            row: trainwatt_trace::EpochRow {
                epoch: i,
                start_ns: i64::from(i - 1) * 1_000_000_000,
                end_ns: i64::from(i) * 1_000_000_000,
                train_acc: Some(train(i)),
                test_acc: Some(test(i)),
                train_loss: None,
                test_loss: None,
                examples: None,
            },
            energy_j: energy(i),
            net_energy_j: Some(energy(i) / 2.0),
            sample_sum_w: energy(i) * 10.0,
            elapsed_s: f64::from(i),
        })
        .collect();
    RunData {
        dir: PathBuf::from(format!("/archive/run={id}")),
        manifest,
        energy_mode: spec.mode,
        modelled: false,
        boundary_reads: false,
        baseline_w: None,
        sources: Vec::new(),
        epochs,
        warnings: Vec::new(),
    }
}
