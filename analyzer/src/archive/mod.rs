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
pub(crate) mod energy;
mod epochs;
mod findings;
mod fold;
mod idle;
mod problem;
mod reason;
mod run;
mod scan;
pub mod trace;

pub use energy::SourceEpochs;
pub use fold::ProblemKind;
pub use reason::{ExclusionKind, ExclusionReason};

use crate::model::{EnergyMode, Excluded, RunData};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

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
    #[error("unknown component `{name}` (use gpu, cpu or dram)")]
    UnknownComponent { name: String },
    #[error("gap tolerance must be a positive number of seconds, got {value}")]
    GapTolerance { value: f64 },
    #[error("--baseline-from {path}: {message} (give a run folder written by `recorder sample`)")]
    Baseline { path: PathBuf, message: String },
}

/// Options after checking, as the per-run code uses them.
#[derive(Debug)]
pub(crate) struct Resolved {
    pub energy: Option<EnergyMode>,
    /// Component names, never empty.
    pub components: Vec<&'static str>,
    pub baseline: bool,
    /// The idle run's powers, with `--baseline-from`.
    pub idle: Option<idle::IdleBaseline>,
    pub gap_tolerance_s: f64,
    pub threads: Option<usize>,
}

const COMPONENTS: [&str; 3] = ["gpu", "cpu", "dram"];

impl Resolved {
    fn new(opts: &LoadOptions) -> Result<Self, ArchiveError> {
        let mut components = Vec::new();
        for name in &opts.components {
            let known = COMPONENTS
                .iter()
                .find(|c| c.eq_ignore_ascii_case(name.trim()))
                .ok_or_else(|| ArchiveError::UnknownComponent { name: name.clone() })?;
            if !components.contains(known) {
                components.push(*known);
            }
        }
        if components.is_empty() {
            components = COMPONENTS.to_vec();
        }
        if !(opts.gap_tolerance_s.is_finite() && opts.gap_tolerance_s > 0.0) {
            return Err(ArchiveError::GapTolerance {
                value: opts.gap_tolerance_s,
            });
        }
        let idle = opts
            .baseline_from
            .as_deref()
            .map(|dir| {
                idle::IdleBaseline::read(dir, opts.gap_tolerance_s).map_err(|message| {
                    ArchiveError::Baseline {
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
        })
    }
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
    let resolved = Resolved::new(opts)?;
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

/// Loads `dirs` one per core at a time, results in the order of `dirs`
/// (a run's fold is sequential, so runs are the unit of parallel work).
fn load_all(dirs: &[PathBuf], opts: &Resolved) -> Vec<Result<RunData, ExclusionReason>> {
    let in_flight = opts
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()))
        .max(1);
    let next = AtomicUsize::new(0);
    let mut results: Vec<(usize, Result<RunData, ExclusionReason>)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..in_flight.min(dirs.len()))
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(dir) = dirs.get(i) else { break };
                        done.push((i, run::load_run(dir, opts)));
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
