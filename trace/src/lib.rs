//! The trainwatt trace format, version 1 (1.1): the one contract between the
//! recorder (which writes runs) and the analyzer (which reads them).
//!
//! A *run* is a folder holding `manifest.json` ([`Manifest`]), power samples
//! under `samples/` and epoch rows in `epochs.parquet`; the Parquet column
//! names and their units live in [`schema`]. An *archive* is a folder tree of
//! runs whose path segments are `key=value` ([`layout`]), so engines that
//! understand Hive partitioning see the partitions.
//!
//! By default this crate has no Parquet or tch dependency on purpose: a
//! third party that wants to read or validate our archives depends on it
//! alone. The `arrow` feature adds [`writer`], the one Parquet writer of the
//! format that the recorder and the importer share.
//! The stopping-criterion grammar ([`criterion`]) lives here too because the
//! recorder (live stop) and the analyzer (post-hoc replay) must agree on it
//! to the epoch.

pub mod cli_error;
pub mod criterion;
pub mod epoch;
pub mod layout;
pub mod manifest;
pub mod schema;
#[cfg(feature = "arrow")]
pub mod writer;

pub use criterion::{Criterion, CriterionParseError, EnergyUnit, EpochPoint, Split, StopDecision};
pub use epoch::{ChildEpochLine, ChildLine, EpochRow, CLOCK_ORIGIN_ENV, EPOCH_LOG_ENV};
pub use manifest::{
    Domain, GpuFacts, HostFacts, ImportInfo, ImportedFile, Manifest, ManifestError, Method,
    RunStatus, SamplerStats, SourceInfo, Workload,
};
pub use schema::{SchemaVersion, SCHEMA_VERSION};
