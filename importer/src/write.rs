//! Writing imported runs into an archive, all or nothing.
//!
//! Each run is first written whole into a hidden folder in the archive root
//! (`.import-….tmp`, which the analyzer's scan skips), then moved into
//! `platform=…/dataset=…/arch=…/width=…/run=…/` by a rename. The run folder
//! is claimed with `mkdir` first, so an existing run is never replaced, and
//! the rename then swaps our own empty folder for the complete one. If any
//! run of a batch (CodeCarbon's file of several runs) cannot be staged or
//! moved, the ones already moved are removed again and the staging folders
//! deleted: the archive is left as it was.
//!
//! The Parquet files are written by the format's one writer
//! (`trainwatt_trace::writer`, which the recorder uses too), so an imported
//! run is indistinguishable in shape from a recorded one.

use super::build::ImportedRun;
use super::ImportError;
use arrow::record_batch::RecordBatch;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use trainwatt_trace::schema::{EPOCHS_FILE, MANIFEST_FILE, SAMPLES_DIR};
use trainwatt_trace::writer;

/// Writes `runs` under `archive`; returns their folders. Either every run
/// is in place afterwards, or none is.
pub fn write_runs(archive: &Path, runs: &[ImportedRun]) -> Result<Vec<PathBuf>, ImportError> {
    let targets: Vec<PathBuf> = runs
        .iter()
        .map(|r| r.partition.run_dir(archive, &r.manifest.run_id))
        .collect();
    for (k, t) in targets.iter().enumerate() {
        if t.exists() {
            return Err(ImportError::Exists { path: t.clone() });
        }
        if targets[..k].contains(t) {
            return Err(ImportError::Invalid(format!(
                "two imported runs would both go to {}",
                t.display()
            )));
        }
    }
    fs::create_dir_all(archive).map_err(write_err(archive))?;
    let mut staged: Vec<PathBuf> = Vec::new();
    let result = (|| {
        for run in runs {
            let dir = staging_dir(archive, &run.manifest.run_id)?;
            staged.push(dir.clone());
            stage(&dir, run)?;
        }
        commit(&staged, &targets)
    })();
    for dir in &staged {
        // Gone after a successful rename; a leftover only after a failure.
        if dir.exists() {
            let _ = fs::remove_dir_all(dir);
        }
    }
    result.map(|()| targets)
}

fn write_err(path: &Path) -> impl Fn(std::io::Error) -> ImportError + '_ {
    move |source| ImportError::Write {
        path: path.to_path_buf(),
        source,
    }
}

/// A fresh hidden folder in the archive root.
fn staging_dir(archive: &Path, run_id: &str) -> Result<PathBuf, ImportError> {
    let base = format!(
        ".import-{}-{}",
        trainwatt_trace::layout::sanitize(run_id),
        std::process::id()
    );
    for k in 0..1000 {
        let dir = archive.join(format!("{base}-{k}.tmp"));
        match fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(write_err(&dir)(e)),
        }
    }
    Err(ImportError::Invalid(format!(
        "cannot create a staging folder in {}",
        archive.display()
    )))
}

/// Writes one run's files into `dir`; the manifest goes last.
fn stage(dir: &Path, run: &ImportedRun) -> Result<(), ImportError> {
    let samples = dir.join(SAMPLES_DIR);
    fs::create_dir(&samples).map_err(write_err(&samples))?;
    write_samples(&samples.join("part-000000.parquet"), run)?;
    if !run.epochs.is_empty() {
        write_epochs(&dir.join(EPOCHS_FILE), run)?;
    }
    let path = dir.join(MANIFEST_FILE);
    fs::write(&path, run.manifest.to_json()).map_err(write_err(&path))?;
    sync(&path);
    Ok(())
}

/// Moves each staged folder to its target; undoes the moves on failure.
fn commit(staged: &[PathBuf], targets: &[PathBuf]) -> Result<(), ImportError> {
    let mut done: Vec<&PathBuf> = Vec::new();
    let result = (|| {
        for (from, to) in staged.iter().zip(targets) {
            let parent = to.parent().unwrap_or(Path::new("."));
            fs::create_dir_all(parent).map_err(write_err(parent))?;
            // Claim the name: fails if a run appeared there meanwhile.
            fs::create_dir(to).map_err(|e| {
                if e.kind() == std::io::ErrorKind::AlreadyExists {
                    ImportError::Exists { path: to.clone() }
                } else {
                    write_err(to)(e)
                }
            })?;
            if let Err(e) = fs::rename(from, to) {
                let _ = fs::remove_dir(to);
                return Err(write_err(to)(e));
            }
            done.push(to);
            sync(parent);
        }
        Ok(())
    })();
    if result.is_err() {
        for to in done {
            let _ = fs::remove_dir_all(to);
        }
    }
    result
}

/// Best-effort fsync, so a run that appears survives a power cut.
fn sync(path: &Path) {
    if let Ok(f) = File::open(path) {
        let _ = f.sync_all();
    }
}

fn write_samples(path: &Path, run: &ImportedRun) -> Result<(), ImportError> {
    let batch =
        writer::samples_batch(&run.source_ids, &run.samples).map_err(|e| encode(path, &e))?;
    let props = writer::samples_props(
        &run.manifest.run_id,
        Compression::ZSTD(ZstdLevel::default()),
    );
    write_batch(path, &batch, props)
}

fn write_epochs(path: &Path, run: &ImportedRun) -> Result<(), ImportError> {
    let batch = writer::epochs_batch(&run.epochs).map_err(|e| encode(path, &e))?;
    write_batch(path, &batch, writer::epochs_props(&run.manifest.run_id))
}

fn encode(path: &Path, e: &dyn std::fmt::Display) -> ImportError {
    ImportError::Encode {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

/// Writes and syncs one file of the staged run.
fn write_batch(
    path: &Path,
    batch: &RecordBatch,
    props: WriterProperties,
) -> Result<(), ImportError> {
    let file = File::create(path).map_err(write_err(path))?;
    let file = writer::write_batch(file, batch, props).map_err(|e| encode(path, &e))?;
    file.sync_all().map_err(write_err(path))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::build::{assemble, Inputs, RunLabels};
    use crate::{PowerLog, PowerPoint, PowerSeries, Stamp};
    use std::collections::BTreeMap;
    use trainwatt_trace::{Domain, ImportInfo, Manifest, Method, SourceInfo};

    fn run(id: &str) -> ImportedRun {
        let labels = RunLabels {
            platform: Some("box".into()),
            run_id: Some(id.into()),
            ..RunLabels::default()
        };
        let series = PowerSeries {
            source: SourceInfo {
                id: "nvml:0".into(),
                domain: Domain::Gpu,
                method: Method::MeasuredPower,
                description: String::new(),
                poll_hz: 0.0,
                settings: BTreeMap::new(),
            },
            points: (0..3)
                .map(|k| PowerPoint {
                    line: k + 2,
                    at: Stamp::Offset(k as i64 * 1_000_000),
                    power_w: Some(1.0),
                    energy_uj: None,
                })
                .collect(),
        };
        assemble(Inputs {
            power: vec![(
                "p".into(),
                PowerLog {
                    series: vec![series],
                    ..PowerLog::default()
                },
            )],
            epochs: None,
            start_wall: None,
            labels: &labels,
            imported: ImportInfo::default(),
            digest: "00",
            command: vec![],
        })
        .unwrap()
    }

    #[test]
    fn writes_a_run_and_never_overwrites_it() {
        let tmp = tempfile::tempdir().unwrap();
        let dirs = write_runs(tmp.path(), &[run("a")]).unwrap();
        let dir = &dirs[0];
        assert!(dir.ends_with("platform=box/dataset=none/arch=none/width=0/run=a"));
        let m = Manifest::read(&dir.join(MANIFEST_FILE)).unwrap();
        assert_eq!(m.run_id, "a");
        assert!(dir.join("samples/part-000000.parquet").is_file());
        assert!(!dir.join(EPOCHS_FILE).exists());
        let e = write_runs(tmp.path(), &[run("b"), run("a")]).unwrap_err();
        assert!(matches!(e, ImportError::Exists { .. }), "{e}");
        // Nothing of the batch was written, and no staging folder is left.
        let names: Vec<String> = fs::read_dir(tmp.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["platform=box"]);
        assert!(!dir.with_file_name("run=b").exists());
    }
}
