//! Column names, types and units of the Parquet files of a run, and the
//! schema version with its compatibility rule.
//!
//! The names carry their unit (`t_ns`, `power_w`, `energy_uj`) so a reader
//! that never saw this crate still knows what a number means. Types are given
//! as Arrow type names in the docs of each constant; the recorder's writer and
//! `docs/trace-format.md` must agree with them.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The version this crate writes. Readers accept any `1.x`.
///
/// 1.1 added the `boundary` column of the samples files and the manifest's
/// `sampler.boundary_reads`: readers of 1.0 ignore both, and a 1.0 file
/// read by this crate has no boundary reads (see `docs/trace-format.md`).
pub const SCHEMA_VERSION: SchemaVersion = SchemaVersion { major: 1, minor: 1 };

/// File name of the manifest inside a run folder.
pub const MANIFEST_FILE: &str = "manifest.json";
/// Folder (inside a run) holding the power-sample segments `part-NNNNNN.parquet`.
pub const SAMPLES_DIR: &str = "samples";
/// Epoch rows of a run; rewritten atomically after every completed epoch.
pub const EPOCHS_FILE: &str = "epochs.parquet";
/// Verbatim copy of the per-epoch JSON lines a wrapped child wrote.
pub const CHILD_EPOCHS_FILE: &str = "child-epochs.jsonl";

/// Power-sample columns (`samples/*.parquet`), one row per source per tick.
pub mod samples {
    /// Int64, nanoseconds since the run's monotonic origin (see
    /// `Manifest::started_at_utc`), when the reading was taken.
    pub const T_NS: &str = "t_ns";
    /// Dictionary(Int16, Utf8): the `SourceInfo::id` the reading came from.
    pub const SOURCE: &str = "source";
    /// Float32, nullable: instantaneous (or since-last-read average) power in W.
    pub const POWER_W: &str = "power_w";
    /// Int64, nullable: the source's cumulative energy counter in µJ,
    /// unwrapped (monotonic across hardware wrap-arounds), where it has one.
    pub const ENERGY_UJ: &str = "energy_uj";
    /// Boolean, nullable (since 1.1; absent from 1.0 files): true on a
    /// *boundary read*, a reading of every source taken at the instant an
    /// epoch started or ended, whose `t_ns` equals that epoch's `start_ns`
    /// or `end_ns` exactly; false or null on the sampler's scheduled reads.
    pub const BOUNDARY: &str = "boundary";
}

/// Epoch-row columns (`epochs.parquet`), one row per completed epoch.
pub mod epochs {
    /// Int32, 1-based epoch number.
    pub const EPOCH: &str = "epoch";
    /// Int64, same clock as `samples::T_NS`: start of the epoch.
    pub const START_NS: &str = "start_ns";
    /// Int64: end of the epoch (after the device synchronised).
    pub const END_NS: &str = "end_ns";
    /// Float64, nullable, in [0, 1].
    pub const TRAIN_ACC: &str = "train_acc";
    /// Float64, nullable, in [0, 1]: hold-out accuracy after the epoch.
    pub const TEST_ACC: &str = "test_acc";
    /// Float64, nullable.
    pub const TRAIN_LOSS: &str = "train_loss";
    /// Float64, nullable.
    pub const TEST_LOSS: &str = "test_loss";
    /// Int64, nullable: training examples processed in this epoch.
    pub const EXAMPLES: &str = "examples";
}

/// A `major.minor` schema version. Minor bumps only add optional fields or
/// columns; a major bump means old readers must stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct SchemaVersion {
    pub major: u32,
    pub minor: u32,
}

impl SchemaVersion {
    /// Whether a reader built for [`SCHEMA_VERSION`] can read this version.
    pub fn is_readable(self) -> bool {
        self.major == SCHEMA_VERSION.major
    }
}

impl fmt::Display for SchemaVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

impl std::str::FromStr for SchemaVersion {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (a, b) = s
            .split_once('.')
            .ok_or_else(|| format!("schema version '{s}' is not MAJOR.MINOR"))?;
        let parse = |x: &str| {
            x.parse::<u32>()
                .map_err(|_| format!("schema version '{s}' is not MAJOR.MINOR"))
        };
        Ok(Self {
            major: parse(a)?,
            minor: parse(b)?,
        })
    }
}

impl Serialize for SchemaVersion {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for SchemaVersion {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_round_trips_and_gates_major() {
        let v: SchemaVersion = "1.7".parse().unwrap();
        assert_eq!(v, SchemaVersion { major: 1, minor: 7 });
        assert!(v.is_readable());
        assert!(!"2.0".parse::<SchemaVersion>().unwrap().is_readable());
        assert!("1".parse::<SchemaVersion>().is_err());
        assert_eq!(serde_json::to_string(&v).unwrap(), "\"1.7\"");
    }
}
