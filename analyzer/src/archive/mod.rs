//! Reading archives: discover run folders, validate them, and reduce their
//! power samples to energy per epoch (see `model::RunData`).
//!
//! The pipeline per run is: `manifest.json` (schema version, status,
//! sources) → `epochs.parquet` (boundaries, accuracies; `epochs`) → every
//! `samples/part-*.parquet` decoded by the `parquet` crate's Arrow reader,
//! only the needed columns, streamed batch by batch in order into a
//! per-source fold (`scan`, `fold`) → the epochs every source covers, the
//! problems that exclude the run, and E(i) in the chosen mode (`run`).
//!
//! Memory is one Arrow batch per run in flight plus a few numbers per
//! source and epoch, so it does not grow with the size of a run or of the
//! archive. One run is in flight per core (each run's fold is sequential).
//!
//! Nothing is dropped quietly: a run that cannot give correct numbers is in
//! [`Loaded::excluded`] with a reason naming the file and row, and anything
//! that does not change the numbers but should be known (an interrupted
//! run, problems outside the epochs used) is in `RunData::warnings`.

mod discover;
pub mod trace;

pub use trainwatt_fold::{
    epoch_energy, ExclusionKind, ExclusionReason, LoadOptions, OptionsError, ProblemKind,
    SourceEpochs,
};

use crate::model::{Excluded, RunData};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use trainwatt_fold::Resolved;

/// The runs that loaded, the ones left out (and why), and warnings.
#[derive(Debug, Default)]
pub struct Loaded {
    pub runs: Vec<RunData>,
    pub excluded: Vec<Excluded>,
    pub warnings: Vec<String>,
}

/// Errors that stop loading altogether (an unreadable archive root, bad
/// options). Problems with a single run exclude that run instead.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("{path}: {message}")]
    Root { path: PathBuf, message: String },
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not a folder (give an archive folder or a run folder)")]
    NotAFolder { path: PathBuf },
    #[error("{path}: no run folders (folders holding manifest.json) found under it")]
    NoRuns { path: PathBuf },
    #[error(transparent)]
    Options(#[from] OptionsError),
}

/// Loads every run found under `paths` (archive roots or run folders, or
/// reduced tables written by `analyzer reduce`: a file or a folder of part
/// files, read back with the same numbers).
///
/// Runs come back sorted by folder. A run that cannot give correct numbers
/// (unreadable or future-version manifest, bad epoch rows, bad samples
/// inside the epochs, samples not covering a complete run) is excluded with
/// the reason; the call only fails when a path itself is unusable.
pub fn load(paths: &[PathBuf], opts: &LoadOptions) -> Result<Loaded, ArchiveError> {
    let (reduced, archives): (Vec<PathBuf>, Vec<PathBuf>) = paths
        .iter()
        .cloned()
        .partition(|p| crate::reduced::is_reduced(p));
    let mut loaded = if archives.is_empty() {
        Resolved::new(opts)?;
        Loaded::default()
    } else {
        load_archives(&archives, opts, None)?
    };
    if !reduced.is_empty() {
        let r = crate::reduced::read_reduced(&reduced, opts).map_err(|e| ArchiveError::Root {
            path: e.path,
            message: e.message,
        })?;
        loaded.runs.extend(r.runs);
        loaded.excluded.extend(r.excluded);
        for w in r.warnings {
            if !loaded.warnings.contains(&w) {
                loaded.warnings.push(w);
            }
        }
        loaded.runs.sort_by(|a, b| a.dir.cmp(&b.dir));
        loaded.excluded.sort_by(|a, b| a.dir.cmp(&b.dir));
    }
    if !loaded.excluded.is_empty() {
        loaded.warnings.push(format!(
            "{} of {} runs excluded (see the reasons)",
            loaded.excluded.len(),
            loaded.excluded.len() + loaded.runs.len()
        ));
    }
    Ok(loaded)
}

/// [`load`] of the archives at `paths` only, keeping the runs of `shard`
/// (by their path under the root they were found in) when one is given:
/// what `analyzer reduce --shard I/N` reads.
pub fn load_archives(
    paths: &[PathBuf],
    opts: &LoadOptions,
    shard: Option<crate::reduced::Shard>,
) -> Result<Loaded, ArchiveError> {
    let mut resolved = Resolved::new(opts)?;
    let found = discover::find_runs(paths)?;
    let ours = |dir: &std::path::Path| {
        shard.is_none_or(|s| {
            let rel = paths
                .iter()
                .find_map(|root| dir.strip_prefix(root).ok())
                .unwrap_or(dir);
            s.holds(rel)
        })
    };
    let dirs: Vec<PathBuf> = found.runs.into_iter().filter(|d| ours(d)).collect();
    // Fewer runs than threads: the spare cores decode ahead for the folds.
    resolved.decode_ahead = dirs.len() < threads(&resolved);
    let mut loaded = Loaded::default();
    loaded.excluded.extend(
        found
            .unusable
            .into_iter()
            .filter(|u| ours(&u.dir))
            .map(|u| Excluded {
                reason: ExclusionReason::new(u.kind, &u.dir, u.reason),
                dir: u.dir,
            }),
    );
    for (dir, result) in dirs.iter().zip(load_all(&dirs, &resolved)) {
        match result {
            Ok(run) => loaded.runs.push(run),
            Err(reason) => loaded.excluded.push(Excluded {
                dir: dir.clone(),
                reason,
            }),
        }
    }
    loaded.excluded.sort_by(|a, b| a.dir.cmp(&b.dir));
    if let Some(idle) = &resolved.idle {
        let watts: Vec<String> = idle
            .power_w
            .iter()
            .map(|(id, w)| format!("{id} {w:.2} W"))
            .collect();
        loaded.warnings.push(format!(
            "net energy subtracts the idle power measured in {} ({:.0} s on platform `{}`: {})",
            idle.dir.display(),
            idle.duration_s,
            idle.platform,
            watts.join(", ")
        ));
    }
    Ok(loaded)
}

/// Runs folded at once: `--threads`, or one per core.
fn threads(opts: &Resolved) -> usize {
    opts.threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()))
        .max(1)
}

/// Loads `dirs` one per core at a time, results in the order of `dirs`
/// (a run's fold is sequential, so runs are the unit of parallel work).
fn load_all(dirs: &[PathBuf], opts: &Resolved) -> Vec<Result<RunData, ExclusionReason>> {
    let in_flight = threads(opts);
    let next = AtomicUsize::new(0);
    let mut results: Vec<(usize, Result<RunData, ExclusionReason>)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..in_flight.min(dirs.len()))
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(dir) = dirs.get(i) else { break };
                        done.push((i, trainwatt_fold::load_run(dir, opts)));
                    }
                    done
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| {
                w.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    });
    results.sort_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, r)| r).collect()
}
