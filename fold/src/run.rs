//! Loading one run folder: manifest, epoch rows, the streamed sample fold,
//! then the decisions that need all three (which epochs are usable, which
//! problems exclude the run, the energy mode) and the per-epoch numbers.
//!
//! A run is either returned whole with its warnings or excluded with a
//! reason that names the file and row; there is no third, quiet outcome.
//! Runs that did not finish (`running` after a kill, `interrupted`,
//! `failed`) are kept up to the last epoch that both `epochs.parquet` and
//! every selected source's samples cover, and say so in their warnings; a
//! `complete` run whose samples stop early is excluded instead, because
//! there something went wrong that the manifest does not admit.

use crate::energy::{epoch_energy, SourceEpochs};
use crate::epochs::EpochRow;
use crate::findings::{check_problems, first_refused, fold_warnings, outlier_warnings};
use crate::fold::RunFold;
use crate::input::Input;
use crate::model::{EnergyMode, RunData};
use crate::options::Resolved;
use crate::problem::summarize;
use crate::reason::{excluded, ExclusionKind, ExclusionReason};
use crate::scan::{scan_run, SourceSet};
use crate::segments::Segments;
use std::path::Path;
use trainwatt_trace::schema::{EPOCHS_FILE, MANIFEST_FILE, SAMPLES_DIR};
use trainwatt_trace::{Manifest, Method, RunStatus, SourceInfo};

/// Folds a run from wherever it is: the one path from a run's parts to its
/// numbers or its exclusion.
pub(crate) fn fold_run(input: Input<'_>, opts: &Resolved) -> Result<RunData, ExclusionReason> {
    let dir = input.dir();
    let manifest_path = dir.join(MANIFEST_FILE);
    let manifest = input.manifest()?;
    let mut warnings = Vec::new();
    let sources = select_sources(&manifest, opts)
        .or_else(|e| excluded(ExclusionKind::Sources, &manifest_path, e))?;
    let (mode, physical) = choose_mode(&sources, opts.energy, dir)
        .or_else(|e| excluded(ExclusionKind::EnergyMode, &manifest_path, e))?;
    let rows = epoch_rows(input, &manifest, &mut warnings)?;
    let first = &rows[0];

    let segs = input.segments()?;
    check_segment_order(&segs)?;
    let ids: Vec<String> = sources.iter().map(|s| s.id.clone()).collect();
    let gap_ns: Vec<i64> = sources
        .iter()
        .map(|s| gap_tolerance_ns(opts.gap_tolerance_s, s.poll_hz))
        .collect();
    let mut bounds = Vec::with_capacity(rows.len() + 1);
    bounds.push(first.start_ns);
    bounds.extend(rows.iter().map(|r| r.end_ns));
    let counters = physical == EnergyMode::Counter;
    let listed: Vec<String> = manifest.sources.iter().map(|s| s.id.clone()).collect();
    let set = SourceSet {
        selected: &ids,
        listed: &listed,
    };
    let new_fold = || RunFold::new(bounds.clone(), &gap_ns, counters);
    let (fold, segs) = fold_samples(
        segs,
        set,
        new_fold,
        counters,
        opts.decode_ahead,
        &manifest,
        &mut warnings,
    )?;
    fold_warnings(&fold, &dir.join(SAMPLES_DIR), &mut warnings);

    let samples_dir = dir.join(SAMPLES_DIR);
    let used =
        usable_epochs(&fold, &sources, physical, mode, &manifest, &mut warnings).or_else(|e| {
            // Samples that "end early" are often readings refused from some
            // row on (a counter that jumped): name the first one.
            let why = first_refused(&fold, &segs, &ids, &gap_ns)
                .map(|p| format!("; the first refused reading: {p}"))
                .unwrap_or_default();
            let msg = format!("{}: {e}{why}", samples_dir.display());
            excluded(ExclusionKind::Coverage, &samples_dir, msg)
        })?;
    check_problems(
        &fold,
        &segs,
        &ids,
        &gap_ns,
        used,
        opts.baseline,
        &mut warnings,
    )?;
    outlier_warnings(&fold, &segs, &ids, &mut warnings);
    let boundary_reads = boundary_reads(&fold, &ids, used, counters, &mut warnings);
    status_warnings(&manifest, used, rows.len(), &mut warnings);
    manifest_warnings(&manifest, counters, &mut warnings);
    let baseline_w = opts
        .baseline
        .then(|| chosen_baseline(&fold, &sources, physical, &manifest, opts, &mut warnings))
        .flatten();
    let bins: Vec<SourceEpochs> = fold
        .sources
        .iter()
        .zip(&ids)
        .map(|(s, id)| SourceEpochs::from_fold(id, s, used))
        .collect();
    let epochs = epoch_energy(&bins, &rows[..used], physical, baseline_w);
    Ok(RunData {
        dir: dir.to_path_buf(),
        modelled: sources.iter().any(|s| s.method.is_modelled()),
        boundary_reads,
        baseline_w,
        sources: bins,
        manifest,
        energy_mode: mode,
        epochs,
        warnings,
    })
}

/// The run's epoch rows (at least one), or why there are none usable.
fn epoch_rows(
    input: Input<'_>,
    manifest: &Manifest,
    warnings: &mut Vec<String>,
) -> Result<Vec<EpochRow>, ExclusionReason> {
    let path = input.dir().join(EPOCHS_FILE);
    let Some(read) = input.epochs() else {
        let imported_without_log = manifest.imported.as_ref().is_some_and(|i| {
            !i.files
                .iter()
                .any(|f| f.role == "epochs" || f.role == "epoch-times")
        });
        let msg = if imported_without_log {
            format!(
                "{}: missing: no epoch log was imported with this run (`analyzer import` was \
                 given no --epochs/--keras); import it again with its epoch log to use it in \
                 efficiency, epochs and overtraining",
                path.display()
            )
        } else {
            format!(
                "{}: missing: the run completed no epoch (or the file was lost)",
                path.display()
            )
        };
        return excluded(ExclusionKind::NoEpochs, &path, msg);
    };
    if let Some(first) = read.problems.first() {
        let msg = summarize(&read.problems, read.problems.len() as u64);
        return Err(
            ExclusionReason::new(ExclusionKind::Epochs, &first.file, msg).at_row(first.row),
        );
    }
    warnings.extend(read.notes);
    if read.rows.is_empty() {
        let msg = format!(
            "{}: no epoch rows: the run completed no epoch",
            path.display()
        );
        return excluded(ExclusionKind::NoEpochs, &path, msg);
    }
    Ok(read.rows)
}

/// Streams the samples into a fold. A segment that cannot be read excludes
/// the run, except the last one of an unfinished run (the recorder may have
/// been killed while writing it), which is dropped with a warning. Returns
/// the fold and the files it read.
fn fold_samples<'a>(
    mut segs: Segments<'a>,
    ids: SourceSet<'_>,
    new_fold: impl Fn() -> RunFold,
    counters: bool,
    decode_ahead: bool,
    manifest: &Manifest,
    warnings: &mut Vec<String>,
) -> Result<(RunFold, Segments<'a>), ExclusionReason> {
    loop {
        let mut fold = new_fold();
        let Err(err) = scan_run(&segs, ids, counters, &mut fold, decode_ahead) else {
            return Ok((fold, segs));
        };
        let i = err.file;
        if i + 1 == segs.len() && manifest.status != RunStatus::Complete {
            warnings.push(format!(
                "{}: unreadable, ignored (the recorder probably stopped while writing it): {}",
                segs.name(i).display(),
                err.message
            ));
            let dropped = segs.pop();
            if segs.len() == 0 {
                let path = dropped.unwrap_or_default();
                let msg = format!("{}: no readable sample segment", path.display());
                return excluded(ExclusionKind::SamplesUnreadable, &path, msg);
            }
        } else {
            let file = segs.name(i).to_path_buf();
            let msg = format!("{}: {}", file.display(), err.message);
            return excluded(ExclusionKind::SamplesUnreadable, &file, msg);
        }
    }
}

/// The manifest's sources that belong to the selected components and can be
/// added (package, not its cores; never the whole platform).
fn select_sources(manifest: &Manifest, opts: &Resolved) -> Result<Vec<SourceInfo>, String> {
    let sources: Vec<SourceInfo> = manifest
        .sources
        .iter()
        .filter(|s| s.domain.is_additive() && opts.components.contains(&s.domain.component()))
        .cloned()
        .collect();
    if sources.is_empty() {
        let have: Vec<String> = manifest
            .sources
            .iter()
            .map(|s| format!("{} ({:?})", s.id, s.domain))
            .collect();
        return Err(format!(
            "manifest.json: no additive source of the selected components ({}); sources: [{}]",
            opts.components.join(","),
            have.join(", ")
        ));
    }
    for (k, s) in sources.iter().enumerate() {
        if sources[..k].iter().any(|o| o.id == s.id) {
            return Err(format!("manifest.json: source id `{}` appears twice", s.id));
        }
    }
    Ok(sources)
}

/// The mode printed for the run and the physical mode behind `energy_j`
/// (the same, except in sample-sum mode, where `energy_j` still holds a true
/// energy so that criteria in J keep working).
fn choose_mode(
    sources: &[SourceInfo],
    requested: Option<EnergyMode>,
    dir: &Path,
) -> Result<(EnergyMode, EnergyMode), String> {
    let without_counter = sources.iter().find(|s| s.method != Method::MeasuredCounter);
    let default = if without_counter.is_none() {
        EnergyMode::Counter
    } else {
        EnergyMode::Integral
    };
    match (requested, without_counter) {
        (Some(EnergyMode::Counter), Some(s)) => Err(format!(
            "{}: energy mode `counter` was asked for, but source `{}` has no counter (method {:?})",
            dir.join(MANIFEST_FILE).display(),
            s.id,
            s.method
        )),
        (Some(EnergyMode::SampleSum), _) => Ok((EnergyMode::SampleSum, default)),
        (Some(m), _) => Ok((m, m)),
        (None, _) => Ok((default, default)),
    }
}

/// Segments are read in name order, which the recorder makes time order.
/// A segment whose first sample comes before the previous one's last (by
/// their footers' statistics) means renamed or merged files: say so, rather
/// than reporting the clock as going backwards.
fn check_segment_order(segs: &Segments<'_>) -> Result<(), ExclusionReason> {
    let spans: Vec<Option<(i64, i64)>> = (0..segs.len()).map(|i| segs.time_span(i)).collect();
    for k in 1..segs.len() {
        if let (Some((_, prev_end)), Some((start, _))) = (spans[k - 1], spans[k]) {
            if start < prev_end {
                let msg = format!(
                    "{} starts (t_ns {start}) before {} ends (t_ns {prev_end}): segments are \
                     read in name order, and these names are out of time order or the files \
                     overlap (rename them so that name order is time order, e.g. \
                     part-000000.parquet, part-000001.parquet, …; or merge them into one file \
                     sorted by t_ns)",
                    segs.name(k).display(),
                    segs.name(k - 1).display()
                );
                return excluded(ExclusionKind::SegmentOrder, segs.name(k), msg);
            }
        }
    }
    Ok(())
}

/// The gap tolerance of a source in ns: the option, but never below three
/// poll periods, so a slow source (a 0.5 Hz modelled one) is not a gap
/// between every pair of reads.
pub(crate) fn gap_tolerance_ns(tolerance_s: f64, poll_hz: f64) -> i64 {
    let periods = if poll_hz > 0.0 { 3.0 / poll_hz } else { 0.0 };
    (tolerance_s.max(periods) * 1e9).min(i64::MAX as f64) as i64
}

/// How many epochs every selected source covers with the data the physical
/// mode needs, deciding whether a shortfall excludes the run.
fn usable_epochs(
    fold: &RunFold,
    sources: &[SourceInfo],
    physical: EnergyMode,
    mode: EnergyMode,
    manifest: &Manifest,
    warnings: &mut Vec<String>,
) -> Result<usize, String> {
    let b = fold.bounds();
    let n = b.len() - 1;
    let secs = |t: i64| t as f64 * 1e-9;
    let mut used = n;
    let mut limit: Option<String> = None;
    for (info, s) in sources.iter().zip(&fold.sources) {
        let id = &info.id;
        let covered = if physical == EnergyMode::Counter {
            if s.n_counter == 0 {
                return Err(format!("source `{id}` has no energy_uj value"));
            }
            if s.c_at[0].is_none() {
                return Err(format!(
                    "source `{id}`: first energy_uj read is after the start of epoch 1 (t = {:.3} s), \
                     so its energy there is unknown",
                    secs(b[0])
                ));
            }
            s.c_at.iter().skip(1).take_while(|c| c.is_some()).count()
        } else {
            0
        };
        let needs_power = physical == EnergyMode::Integral || mode == EnergyMode::SampleSum;
        let covered = if needs_power {
            let (Some(first), Some(last)) = (s.p_first_t, s.p_last_t()) else {
                return Err(format!("source `{id}` has no usable power_w value"));
            };
            if first > b[0] {
                return Err(format!(
                    "source `{id}`: first power_w sample (t = {:.3} s) is after the start of epoch 1 \
                     (t = {:.3} s)",
                    secs(first),
                    secs(b[0])
                ));
            }
            let p = b[1..].iter().take_while(|&&x| x <= last).count();
            if physical == EnergyMode::Counter {
                p.min(covered)
            } else {
                p
            }
        } else {
            if s.n_power == 0 {
                warnings.push(format!(
                    "source `{id}` has no power_w samples: sample_sum_w leaves it out"
                ));
            }
            covered
        };
        if covered < used {
            used = covered;
            limit = Some(format!(
                "source `{id}`'s samples end before epoch {} ends (t = {:.3} s)",
                covered + 1,
                secs(b[covered + 1])
            ));
        }
    }
    if let Some(why) = limit {
        if manifest.status == RunStatus::Complete {
            return Err(format!("status is complete but {why}"));
        }
        if used == 0 {
            return Err(format!("{why}: no usable epoch"));
        }
        warnings.push(format!("{why}; using epochs 1..{used}"));
    }
    Ok(used)
}

/// Whether the run has boundary reads for every selected source at every
/// boundary of the epochs used. A run that has some but misses one says
/// where (its energy there is interpolated, as for a run without them).
fn boundary_reads(
    fold: &RunFold,
    ids: &[String],
    used: usize,
    counters: bool,
    warnings: &mut Vec<String>,
) -> bool {
    if fold.sources.iter().all(|s| s.n_boundary == 0) {
        return false;
    }
    if !counters {
        // The trapezoid is cut at the boundaries either way; the reads
        // there make it exact at the cut.
        return fold.sources.iter().all(|s| s.n_boundary > 0);
    }
    let mut missing = Vec::new();
    for (s, id) in fold.sources.iter().zip(ids) {
        for (k, exact) in s.c_exact.iter().take(used + 1).enumerate() {
            if !exact {
                missing.push(match k {
                    0 => format!("`{id}` at the start of epoch 1"),
                    k => format!("`{id}` at the end of epoch {k}"),
                });
            }
        }
    }
    if missing.is_empty() {
        return true;
    }
    let n = missing.len();
    missing.truncate(5);
    warnings.push(format!(
        "the run has boundary reads but none for {}{}; energy there is interpolated \
         between the reads around the boundary",
        missing.join(", "),
        if n > 5 {
            format!(" and {} more", n - 5)
        } else {
            String::new()
        }
    ));
    false
}

/// What the manifest itself admits: possible missed counter wraps, epoch
/// boundaries placed by a rule.
fn manifest_warnings(manifest: &Manifest, counters: bool, warnings: &mut Vec<String>) {
    if counters && manifest.sampler.suspect_wraps > 0 {
        warnings.push(format!(
            "the sampler saw {} counter reads where more than one wrap may have happened; \
             counter energy may be too low",
            manifest.sampler.suspect_wraps
        ));
    }
    if manifest.epochs_approximate {
        warnings.push(
            "epoch boundaries were placed by a rule (imported trace), not stamped live".into(),
        );
    }
}

/// The idle power to subtract: the `--baseline-from` run's, or this run's
/// own pre-training window; `None`, with a warning, when neither serves.
fn chosen_baseline(
    fold: &RunFold,
    sources: &[SourceInfo],
    physical: EnergyMode,
    manifest: &Manifest,
    opts: &Resolved,
    warnings: &mut Vec<String>,
) -> Option<f64> {
    let b = match &opts.idle {
        Some(idle) => idle.power_for(&manifest.platform, sources),
        None => baseline_w(fold, sources, physical),
    };
    if let Err(why) = &b {
        warnings.push(format!("no idle baseline: {why}; net energy not computed"));
    }
    b.ok()
}

fn status_warnings(manifest: &Manifest, used: usize, recorded: usize, warnings: &mut Vec<String>) {
    let what = match manifest.status {
        RunStatus::Complete => return,
        RunStatus::Running => {
            "status is `running`: the recorder was killed (or is still recording)"
        }
        RunStatus::Interrupted => "the run was interrupted",
        RunStatus::Failed => "the run failed",
    };
    let error = manifest
        .error
        .as_deref()
        .map(|e| format!(" ({e})"))
        .unwrap_or_default();
    warnings.push(format!(
        "{what}{error}; using its {used} complete epoch(s) of {recorded} recorded"
    ));
}

/// Mean power before epoch 1 over the selected sources, W, in the physical
/// mode's terms (counter difference or trapezoid over the window).
fn baseline_w(fold: &RunFold, sources: &[SourceInfo], physical: EnergyMode) -> Result<f64, String> {
    let b0 = fold.bounds()[0];
    let mut total = 0.0;
    for (s, info) in fold.sources.iter().zip(sources) {
        let window = match physical {
            EnergyMode::Counter => s.c_first.zip(s.c_at[0]).and_then(|((t, e), at)| {
                (t < b0).then(|| ((at.base_uj - e) as f64 + at.frac_uj) * 1e3 / (b0 - t) as f64)
            }),
            _ => s
                .p_first_t
                .and_then(|t| (t < b0).then(|| s.area_ws[0] / ((b0 - t) as f64 * 1e-9))),
        };
        total += window.ok_or_else(|| {
            format!(
                "source `{}` has no sample before epoch 1 starts (no pre-training window)",
                info.id
            )
        })?;
    }
    Ok(total)
}
