//! Reading the command's input files once: each file's bytes become its text
//! and its provenance record (size, SHA-256) in one place, so every run
//! built from a file names it the same way, and an epoch log that holds
//! several runs is parsed once for all of them.

use crate::args::{EpochFormat, ImportArgs};
use crate::build::RunLabels;
use crate::epoch_log::{EpochLog, MetricNames};
use crate::generic_epochs::{self, Container};
use crate::{decode, keras, lightning, ImportError};
use anyhow::Result;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use trainwatt_trace::ImportedFile;

/// An input file's bytes and provenance.
pub(super) struct Input {
    pub(super) path: PathBuf,
    pub(super) text: String,
    pub(super) record: ImportedFile,
}

pub(super) fn read_input(path: &Path, role: &str, format: &str) -> Result<Input, ImportError> {
    let bytes = std::fs::read(path).map_err(|source| ImportError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let text = decode(path, &bytes)?;
    let sha: String = Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Ok(Input {
        path: path.to_path_buf(),
        text,
        record: ImportedFile {
            role: role.into(),
            format: format.into(),
            path: path.display().to_string(),
            bytes: bytes.len() as u64,
            sha256: Some(sha),
            line: None,
        },
    })
}

/// A digest of the inputs' hashes (and the line of a run taken from a file
/// that holds several), for default run ids.
pub(super) fn digest(files: &[ImportedFile]) -> String {
    let mut h = Sha256::new();
    for f in files {
        h.update(f.sha256.as_deref().unwrap_or_default().as_bytes());
        if let Some(line) = f.line {
            h.update(format!(":{line}").as_bytes());
        }
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

fn metric_names(args: &ImportArgs) -> MetricNames {
    MetricNames {
        train_acc: args.train_acc_col.clone(),
        test_acc: args.test_acc_col.clone(),
        train_loss: args.train_loss_col.clone(),
        test_loss: args.test_loss_col.clone(),
        acc_percent: args.acc_percent,
    }
}

pub(super) fn run_labels(args: &ImportArgs) -> RunLabels {
    RunLabels {
        platform: args.platform.clone(),
        dataset: args.dataset.clone(),
        arch: args.arch.clone(),
        width: args.width,
        run_id: args.run_id.clone(),
    }
}

/// An epoch log read once (a log that holds several runs serves several).
pub(super) struct EpochFile {
    pub(super) input: Input,
    pub(super) format: EpochFormat,
    pub(super) runs: Vec<EpochLog>,
}

impl EpochFile {
    pub(super) fn tool(&self) -> &'static str {
        match self.format {
            EpochFormat::Keras => "keras-csvlogger",
            EpochFormat::Lightning => "lightning-csvlogger",
            EpochFormat::Csv => "epochs-csv",
            EpochFormat::Jsonl => "epochs-jsonl",
        }
    }
}

pub(super) fn load_epochs(
    args: &ImportArgs,
    format: EpochFormat,
    path: &Path,
) -> Result<EpochFile> {
    let name = match format {
        EpochFormat::Keras => "keras",
        EpochFormat::Lightning => "lightning",
        EpochFormat::Csv => "csv",
        EpochFormat::Jsonl => "jsonl",
    };
    let input = read_input(path, "epochs", name)?;
    let names = metric_names(args);
    let zone = args.timezone.as_ref();
    let (p, text) = (&input.path, &input.text);
    let runs = match format {
        EpochFormat::Keras => keras::parse(p, text, &names)?,
        EpochFormat::Lightning => lightning::parse(p, text, &names)?,
        EpochFormat::Csv => {
            generic_epochs::parse(p, text, Container::Csv, &names, args.time_unit, zone)?
        }
        EpochFormat::Jsonl => {
            generic_epochs::parse(p, text, Container::Jsonl, &names, args.time_unit, zone)?
        }
    };
    Ok(EpochFile {
        input,
        format,
        runs,
    })
}
