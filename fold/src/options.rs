//! The options of a fold, as a user gives them ([`LoadOptions`]) and as the
//! per-run code uses them once checked ([`Resolved`]).

use crate::idle::IdleBaseline;
use crate::model::EnergyMode;
use std::path::PathBuf;

/// What to compute while loading.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// `None`: counter where every selected source has one, else integral.
    /// With `SampleSum`, `energy_j` is still filled by that default rule
    /// (so criteria in J keep working) and `energy_mode` says `sample-sum`.
    pub energy: Option<EnergyMode>,
    /// Components to include: any of `gpu`, `cpu`, `dram` (empty = all).
    pub components: Vec<String>,
    /// Subtract an idle baseline and fill `EpochEnergy::net_energy_j`: the
    /// mean power of the run's own pre-training window (samples before
    /// epoch 1 starts) times the time since epoch 1 started.
    pub baseline: bool,
    /// Take the idle power from this `recorder sample` run instead of each
    /// run's pre-training window (implies `baseline`); it applies to runs
    /// of the same platform and sources.
    pub baseline_from: Option<PathBuf>,
    /// Gaps between samples of one source longer than this are reported.
    /// A source polled slower than every `gap_tolerance_s / 3` seconds gets
    /// three of its poll periods instead.
    pub gap_tolerance_s: f64,
    /// Runs folded at once (`None`: one per core). Changes no number.
    pub threads: Option<usize>,
}

impl Default for LoadOptions {
    fn default() -> Self {
        Self {
            energy: None,
            components: Vec::new(),
            baseline: false,
            baseline_from: None,
            gap_tolerance_s: 1.0,
            threads: None,
        }
    }
}

/// Options that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum OptionsError {
    #[error("unknown component `{name}` (use gpu, cpu or dram)")]
    UnknownComponent { name: String },
    #[error("gap tolerance must be a positive number of seconds, got {value}")]
    GapTolerance { value: f64 },
    #[error("--baseline-from {path}: {message} (give a run folder written by `recorder sample`)")]
    Baseline { path: PathBuf, message: String },
}

/// Options after checking, as the per-run code uses them.
#[derive(Debug)]
pub struct Resolved {
    pub energy: Option<EnergyMode>,
    /// Component names, never empty.
    pub components: Vec<&'static str>,
    pub baseline: bool,
    /// The idle run's powers, with `--baseline-from`.
    pub idle: Option<IdleBaseline>,
    pub gap_tolerance_s: f64,
    pub threads: Option<usize>,
    /// Decode each segment on a second thread while the fold runs (set by
    /// the loader when there are fewer runs than threads). No number
    /// changes.
    pub decode_ahead: bool,
}

const COMPONENTS: [&str; 3] = ["gpu", "cpu", "dram"];

impl Resolved {
    pub fn new(opts: &LoadOptions) -> Result<Self, OptionsError> {
        let mut components = Vec::new();
        for name in &opts.components {
            let known = COMPONENTS
                .iter()
                .find(|c| c.eq_ignore_ascii_case(name.trim()))
                .ok_or_else(|| OptionsError::UnknownComponent { name: name.clone() })?;
            if !components.contains(known) {
                components.push(*known);
            }
        }
        if components.is_empty() {
            components = COMPONENTS.to_vec();
        }
        if !(opts.gap_tolerance_s.is_finite() && opts.gap_tolerance_s > 0.0) {
            return Err(OptionsError::GapTolerance {
                value: opts.gap_tolerance_s,
            });
        }
        let idle = opts
            .baseline_from
            .as_deref()
            .map(|dir| {
                IdleBaseline::read(dir, opts.gap_tolerance_s).map_err(|message| {
                    OptionsError::Baseline {
                        path: dir.to_path_buf(),
                        message,
                    }
                })
            })
            .transpose()?;
        Ok(Self {
            energy: opts.energy,
            components,
            baseline: opts.baseline || idle.is_some(),
            idle,
            gap_tolerance_s: opts.gap_tolerance_s,
            threads: opts.threads,
            decode_ahead: false,
        })
    }
}
