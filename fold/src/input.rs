//! Where a run's three parts come from: its folder (the analyzer), or
//! tables and file bytes already in memory (the Python module, Spark). The
//! fold (`run`) asks [`Input`] for each part, so both ways give the same
//! numbers and name the same files in their messages.

use crate::epochs::{epochs_from_batch, epochs_from_parquet, read_epochs, EpochsRead};
use crate::reason::{excluded, missing_manifest_message, ExclusionKind, ExclusionReason};
use crate::segments::{segment_files, Segments, TableSegment};
use arrow::array::RecordBatch;
use std::path::{Path, PathBuf};
use trainwatt_trace::schema::{EPOCHS_FILE, MANIFEST_FILE, SAMPLES_DIR};
use trainwatt_trace::Manifest;

/// Where a run's three parts come from: its folder, or tables in memory.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Input<'a> {
    Dir(&'a Path),
    Tables(&'a RunTables),
}

impl Input<'_> {
    pub fn dir(&self) -> &Path {
        match self {
            Self::Dir(d) => d,
            Self::Tables(t) => &t.dir,
        }
    }

    pub fn manifest(&self) -> Result<Manifest, ExclusionReason> {
        let path = self.dir().join(MANIFEST_FILE);
        let read = match self {
            Self::Dir(_) => Manifest::read(&path),
            Self::Tables(t) => match &t.manifest_json {
                Some(text) => Manifest::from_json(&path, text),
                None => {
                    let marker = if t.epochs.is_some() {
                        EPOCHS_FILE
                    } else {
                        SAMPLES_DIR
                    };
                    let why = missing_manifest_message(marker);
                    return excluded(ExclusionKind::MissingManifest, &t.dir, why);
                }
            },
        };
        read.or_else(|e| excluded(ExclusionKind::Manifest, &path, e.to_string()))
    }

    /// The epoch rows; `None` when the run has no epochs file.
    pub fn epochs(&self) -> Option<EpochsRead> {
        let path = self.dir().join(EPOCHS_FILE);
        match self {
            Self::Dir(_) => path.is_file().then(|| read_epochs(&path)),
            Self::Tables(t) => t.epochs.as_ref().map(|e| match e {
                EpochsData::Batch(b) => epochs_from_batch(b, &path),
                EpochsData::Parquet(bytes) => epochs_from_parquet(bytes.clone(), &path),
            }),
        }
    }

    pub fn segments(&self) -> Result<Segments<'_>, ExclusionReason> {
        let samples = self.dir().join(SAMPLES_DIR);
        match self {
            Self::Dir(d) => segment_files(d).map(Segments::Files),
            Self::Tables(t) if t.segments.is_empty() => Err(format!(
                "{}: no *.parquet sample segment",
                samples.display()
            )),
            Self::Tables(t) => Ok(Segments::Tables(t.segments.iter().collect())),
        }
        .or_else(|e| excluded(ExclusionKind::NoSamples, &samples, e))
    }
}

/// One run already in memory, as the Python module and Spark hand it over:
/// the three parts of a run folder (docs/trace-format.md), decoded.
#[derive(Debug, Clone)]
pub struct RunTables {
    /// The run's folder as its files are named in messages and `run_dir`.
    pub dir: PathBuf,
    /// The text of `manifest.json` (`None`: the folder has none, and the
    /// run is excluded as `missing-manifest`).
    pub manifest_json: Option<String>,
    /// All of `epochs.parquet`; `None` when the run has none.
    pub epochs: Option<EpochsData>,
    /// The `samples/` segments in name order, rows in file order.
    pub segments: Vec<TableSegment>,
}

/// A run's epoch rows in memory: decoded by another reader, or the bytes
/// of its `epochs.parquet`.
#[derive(Debug, Clone)]
pub enum EpochsData {
    Batch(RecordBatch),
    Parquet(bytes::Bytes),
}
