//! Reading archives: discover run folders, validate them, and reduce their
//! power samples to energy per epoch (see `model::RunData`).
//!
//! INTERFACE STUB — the archive reader replaces the body of `load`.

use crate::model::{EnergyMode, Excluded, RunData};
use std::path::PathBuf;

/// What to compute while loading.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// `None`: counter where every selected source has one, else integral.
    pub energy: Option<EnergyMode>,
    /// Components to include: any of `gpu`, `cpu`, `dram` (empty = all).
    pub components: Vec<String>,
    /// Subtract an idle baseline and fill `EpochEnergy::net_energy_j`.
    pub baseline: bool,
    /// Gaps between samples of one source longer than this are reported.
    pub gap_tolerance_s: f64,
}

impl Default for LoadOptions {
    fn default() -> Self {
        Self {
            energy: None,
            components: Vec::new(),
            baseline: false,
            gap_tolerance_s: 1.0,
        }
    }
}

/// The runs that loaded, the ones left out (and why), and warnings.
#[derive(Debug, Default)]
pub struct Loaded {
    pub runs: Vec<RunData>,
    pub excluded: Vec<Excluded>,
    pub warnings: Vec<String>,
}

/// Errors that stop loading altogether (an unreadable archive root).
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("{path}: {message}")]
    Root { path: PathBuf, message: String },
}

/// Loads every run found under `paths` (archive roots or run folders).
pub fn load(paths: &[PathBuf], _opts: &LoadOptions) -> Result<Loaded, ArchiveError> {
    Err(ArchiveError::Root {
        path: paths.first().cloned().unwrap_or_default(),
        message: "archive reader not implemented yet".into(),
    })
}
