//! The per-run fold of trainwatt: from one run's three parts (manifest,
//! epoch rows, power samples; docs/trace-format.md) to its energy per epoch
//! and source in every mode the sources allow, or the reason, naming file
//! and row, that the run cannot be used.
//!
//! Why a crate of its own: the fold is the heavy step of every analysis (a
//! map over runs, linear in samples) and everything after it works on a few
//! rows per epoch. Here it depends only on the trace format, Arrow and
//! Parquet, so the same code runs in the analyzer (runs from folders,
//! [`load_run`]), in the Python module and in Spark (runs already decoded,
//! [`fold_tables`]), and gives the same bits in each.
//!
//! A run arrives either as a folder or as [`RunTables`]; both go through
//! one path (`run::fold_run`): manifest → epoch rows (`epochs`) → every
//! sample segment in name order, batch by batch, into a per-source fold
//! (`scan`, `fold`) → the epochs every source covers, the problems that
//! exclude the run (`findings`), and E(i) (`energy`). The result is a
//! [`RunData`] or an [`ExclusionReason`]; [`reduced::reduced_batch`] turns
//! results into rows of the reduced table (docs/reduced-format.md).

mod energy;
mod epochs;
mod findings;
mod fold;
mod idle;
mod input;
pub mod model;
mod options;
mod problem;
mod reason;
pub mod reduced;
mod run;
mod scan;
mod segments;

pub use energy::{epoch_energy, SourceEpochs};
pub use fold::ProblemKind;
pub use idle::IdleBaseline;
pub use input::{EpochsData, RunTables};
pub use model::{EnergyMode, EpochEnergy, Excluded, RunData};
pub use options::{LoadOptions, OptionsError, Resolved};
pub use reason::{missing_manifest_message, ExclusionKind, ExclusionReason};
pub use scan::{column_as, for_each_batch, for_each_batch_in, source_column};
pub use segments::{segment_files, time_span, SegmentData, TableSegment};

use std::path::Path;

/// Folds the run in folder `dir` (read from its files).
pub fn load_run(dir: &Path, opts: &Resolved) -> Result<RunData, ExclusionReason> {
    run::fold_run(input::Input::Dir(dir), opts)
}

/// Folds a run already in memory: the same numbers, warnings and reasons
/// as [`load_run`] on the folder those tables were read from.
pub fn fold_tables(tables: &RunTables, opts: &Resolved) -> Result<RunData, ExclusionReason> {
    run::fold_run(input::Input::Tables(tables), opts)
}
