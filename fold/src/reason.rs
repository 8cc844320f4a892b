//! Why a run is left out, as a value: the kind of problem, the file and row
//! it was found at, and the sentence the user reads. Commands print the
//! sentence; JSON output and tests match on the kind, so a change of wording
//! never breaks a script, and a script can tell "the clock went backwards"
//! from "the manifest is missing" without parsing prose.

use crate::fold::ProblemKind;
use std::fmt;
use std::path::{Path, PathBuf};

/// What kind of problem excluded a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExclusionKind {
    /// The folder holds a run's files but no `manifest.json`.
    MissingManifest,
    /// A folder under the archive could not be read.
    UnreadableFolder,
    /// `manifest.json` cannot be read, parsed, or is of a newer version.
    Manifest,
    /// No source of the selected components, or a source id twice.
    Sources,
    /// The requested energy mode is impossible for the run's sources.
    EnergyMode,
    /// `epochs.parquet` is missing or holds no epoch.
    NoEpochs,
    /// An epoch row is invalid (numbering, times, accuracy).
    Epochs,
    /// No sample segment, or the samples folder cannot be listed.
    NoSamples,
    /// A sample segment cannot be read (corrupt file, wrong column type).
    SamplesUnreadable,
    /// Segments' names are not in time order.
    SegmentOrder,
    /// The samples do not cover the epochs (start late, end early).
    Coverage,
    /// A bad sample row inside the epochs used.
    Sample(ProblemKind),
}

impl ExclusionKind {
    /// A stable name for scripts: `missing-manifest`, `sample:backwards-clock`.
    pub fn code(self) -> String {
        let s = match self {
            Self::MissingManifest => "missing-manifest",
            Self::UnreadableFolder => "unreadable-folder",
            Self::Manifest => "manifest",
            Self::Sources => "sources",
            Self::EnergyMode => "energy-mode",
            Self::NoEpochs => "no-epochs",
            Self::Epochs => "epochs",
            Self::NoSamples => "no-samples",
            Self::SamplesUnreadable => "samples-unreadable",
            Self::SegmentOrder => "segment-order",
            Self::Coverage => "coverage",
            Self::Sample(k) => return format!("sample:{}", k.code()),
        };
        s.to_string()
    }
}

impl ExclusionKind {
    /// The kind whose [`code`](Self::code) is `code`.
    pub fn from_code(code: &str) -> Option<Self> {
        let plain = [
            Self::MissingManifest,
            Self::UnreadableFolder,
            Self::Manifest,
            Self::Sources,
            Self::EnergyMode,
            Self::NoEpochs,
            Self::Epochs,
            Self::NoSamples,
            Self::SamplesUnreadable,
            Self::SegmentOrder,
            Self::Coverage,
        ];
        if let Some(k) = plain.into_iter().find(|k| k.code() == code) {
            return Some(k);
        }
        let sample = code.strip_prefix("sample:")?;
        ProblemKind::ALL
            .into_iter()
            .find(|k| k.code() == sample)
            .map(Self::Sample)
    }
}

impl serde::Serialize for ExclusionKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.code())
    }
}

/// Why one run was excluded.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ExclusionReason {
    pub kind: ExclusionKind,
    /// The file the problem is in (the run folder's own problems name it).
    pub file: Option<PathBuf>,
    /// The 0-based row in `file`, for row problems.
    pub row: Option<u64>,
    /// The whole sentence, naming file, row and fix, as printed.
    pub message: String,
}

impl ExclusionReason {
    pub fn new(kind: ExclusionKind, file: &Path, message: String) -> Self {
        Self {
            kind,
            file: Some(file.to_path_buf()),
            row: None,
            message,
        }
    }

    pub fn at_row(mut self, row: Option<u64>) -> Self {
        self.row = row;
        self
    }
}

impl fmt::Display for ExclusionReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ExclusionReason {}

/// `Err` of kind `kind` about `file` with `message`.
pub(crate) fn excluded<T>(
    kind: ExclusionKind,
    file: &Path,
    message: String,
) -> Result<T, ExclusionReason> {
    Err(ExclusionReason::new(kind, file, message))
}

/// Why a folder that holds a run's `marker` (its epochs file or samples)
/// but no manifest is not used: the archive walk and the in-memory path
/// (Spark groups a run's files by folder) say the same.
pub fn missing_manifest_message(marker: &str) -> String {
    let manifest = trainwatt_trace::schema::MANIFEST_FILE;
    format!(
        "{manifest} is missing, but the folder holds a run's `{marker}`: without the manifest \
         its sources and status are unknown, so it is not used (restore {manifest} from where \
         the run was copied, or remove the folder)"
    )
}
