//! The in-memory shape of a folded run, what the analyzer works on between
//! the archive reader and its pure metric functions: one [`RunData`] per
//! run, holding per-epoch accuracy and energy.

use std::path::PathBuf;
use trainwatt_trace::EpochRow;
use trainwatt_trace::Manifest;

/// How E(i) was obtained (SPEC §2); printed in every output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum EnergyMode {
    /// Differences of cumulative hardware counters.
    Counter,
    /// Trapezoidal integral of power over time.
    Integral,
    /// The paper's plain sum of power samples (W-sum; not an energy).
    SampleSum,
}

/// One completed epoch of a run with the energy spent up to its end: the
/// epoch as recorded (the format's [`EpochRow`], reached through `Deref`:
/// `e.epoch`, `e.test_acc`) plus what the analyzer computed for it.
#[derive(Debug, Clone, PartialEq)]
pub struct EpochEnergy {
    pub row: EpochRow,
    /// E(i) in J from the start of epoch 1 to the end of this epoch, gross,
    /// over the selected components (counter or integral mode).
    pub energy_j: f64,
    /// Idle-baseline-subtracted E(i) in J, when a baseline was requested.
    pub net_energy_j: Option<f64>,
    /// The paper's sample-sum (sum of W samples) over the same window.
    pub sample_sum_w: f64,
    /// Wall time from the start of epoch 1 to the end of this epoch, s.
    pub elapsed_s: f64,
}

impl std::ops::Deref for EpochEnergy {
    type Target = EpochRow;
    fn deref(&self) -> &EpochRow {
        &self.row
    }
}

/// A run as the metrics see it.
#[derive(Debug, Clone)]
pub struct RunData {
    pub dir: PathBuf,
    pub manifest: Manifest,
    /// Energy mode actually used for `energy_j` of this run.
    pub energy_mode: EnergyMode,
    /// Whether any selected source of this run is modelled.
    pub modelled: bool,
    /// Whether the recorder read every selected source at every epoch
    /// boundary used (format 1.1 boundary reads): counter energy per epoch
    /// is then a plain difference of reads, with no interpolation.
    pub boundary_reads: bool,
    /// The idle power subtracted for net energy, W (with a baseline).
    pub baseline_w: Option<f64>,
    /// Each selected source's per-epoch sums (what `analyzer reduce`
    /// writes), in the order their energies are added.
    pub sources: Vec<crate::energy::SourceEpochs>,
    /// Sorted by epoch, 1..=n, complete epochs only.
    pub epochs: Vec<EpochEnergy>,
    /// Problems found that did not exclude the run (shown to the user).
    pub warnings: Vec<String>,
}

impl RunData {
    pub fn platform(&self) -> &str {
        &self.manifest.platform
    }
    pub fn dataset(&self) -> &str {
        self.manifest.workload.dataset.as_deref().unwrap_or("none")
    }
    pub fn arch(&self) -> &str {
        self.manifest.workload.arch.as_deref().unwrap_or("none")
    }
    pub fn width(&self) -> u32 {
        self.manifest.workload.width.unwrap_or(0)
    }
    /// Criteria's view of the epochs.
    pub fn points(&self) -> Vec<trainwatt_trace::EpochPoint> {
        let first_start = self.epochs.first().map_or(0, |e| e.start_ns);
        self.epochs
            .iter()
            .map(|e| {
                trainwatt_trace::EpochPoint::new(
                    e,
                    first_start,
                    Some(e.energy_j),
                    Some(e.sample_sum_w),
                )
            })
            .collect()
    }
}

/// A run that was found but left out, and why.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Excluded {
    pub dir: PathBuf,
    pub reason: crate::reason::ExclusionReason,
}
