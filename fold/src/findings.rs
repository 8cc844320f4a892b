//! What a run's sample fold found, turned into words: the problems that
//! exclude it (those inside the epochs used), the ones that only deserve a
//! warning, rows the fold skipped (unlisted sources, exact repeats) and
//! outliers. Each sentence names the file and row and says what to do.

use crate::fold::{ProblemKind, RunFold, SampleProblem, MAX_PLAUSIBLE_W};
use crate::problem::{summarize, Problem, SHOWN};
use crate::reason::{ExclusionKind, ExclusionReason};
use crate::scan::locate;
use crate::segments::Segments;
use std::path::{Path, PathBuf};

/// What the fold skipped without it being a problem of the epochs used:
/// rows of sources the manifest does not list (their energy is in no
/// number) and exact repeats of a row.
pub(crate) fn fold_warnings(fold: &RunFold, samples_dir: &Path, warnings: &mut Vec<String>) {
    if !fold.unlisted.is_empty() {
        let list: Vec<String> = fold
            .unlisted
            .iter()
            .map(|(name, n)| match name {
                Some(id) => format!("`{id}` ({n} rows)"),
                None => format!("no source at all ({n} rows)"),
            })
            .collect();
        warnings.push(format!(
            "{}: samples of sources that manifest.json does not list were not used: {}; \
             their energy is in no number here (list them under `sources` in manifest.json \
             to count them)",
            samples_dir.display(),
            list.join(", ")
        ));
    }
    if fold.exact_duplicates > 0 {
        warnings.push(format!(
            "{}: {} rows repeat the previous row of their source exactly (same t_ns and \
             readings); each instant was counted once",
            samples_dir.display(),
            fold.exact_duplicates
        ));
    }
}

/// Turns the fold's problems into an exclusion (those touching the epochs
/// used, or the pre-training window when a baseline is asked for) or
/// warnings (the rest).
pub(crate) fn check_problems(
    fold: &RunFold,
    segs: &Segments<'_>,
    ids: &[String],
    gap_ns: &[i64],
    used: usize,
    baseline: bool,
    warnings: &mut Vec<String>,
) -> Result<(), ExclusionReason> {
    let b = fold.bounds();
    let (start, end) = (b[0], b[used]);
    let relevant = |p: &SampleProblem| {
        p.kind == ProblemKind::NullTime || (p.t_ref_ns <= end && (p.t_ns >= start || baseline))
    };
    let starts = if fold.problems.is_empty() {
        Vec::new()
    } else {
        segs.starts()
    };
    let describe = |p: &SampleProblem| located(p, segs, &starts, ids, gap_ns);
    let (bad, ignored): (Vec<&SampleProblem>, Vec<&SampleProblem>) =
        fold.problems.iter().partition(|p| relevant(p));
    let unkept = fold.problem_count - fold.problems.len() as u64;
    if !bad.is_empty() || unkept > 0 {
        let listed: Vec<Problem> = bad.iter().take(SHOWN).map(|p| describe(p)).collect();
        let msg = summarize(&listed, bad.len() as u64 + unkept);
        // The kind and place are the first bad row's (or, when only the
        // uncounted rest is bad, the first problem's).
        let first = bad.first().copied().or(fold.problems.first());
        let kind = first.map_or(ProblemKind::NullTime, |p| p.kind);
        let (file, row) = first.map_or((PathBuf::new(), None), |p| {
            let (f, r) = locate(&starts, p.row);
            (segs.name(f).to_path_buf(), Some(r))
        });
        return Err(ExclusionReason::new(ExclusionKind::Sample(kind), &file, msg).at_row(row));
    }
    if !ignored.is_empty() {
        let listed: Vec<Problem> = ignored.iter().take(SHOWN).map(|p| describe(p)).collect();
        warnings.push(format!(
            "sample problems outside the epochs used, ignored: {}",
            summarize(&listed, ignored.len() as u64)
        ));
    }
    Ok(())
}

/// A sample problem as a [`Problem`] naming its file and row.
fn located(
    p: &SampleProblem,
    segs: &Segments<'_>,
    starts: &[u64],
    ids: &[String],
    gap_ns: &[i64],
) -> Problem {
    let (f, row) = locate(starts, p.row);
    let file = segs.name(f);
    let id = ids.get(p.source).map_or("?", String::as_str);
    Problem::row(
        file,
        row,
        describe_sample(p, id, gap_ns.get(p.source).copied()),
    )
}

/// The first sample problem other than a gap, located.
pub(crate) fn first_refused(
    fold: &RunFold,
    segs: &Segments<'_>,
    ids: &[String],
    gap_ns: &[i64],
) -> Option<Problem> {
    let p = fold.problems.iter().find(|p| p.kind != ProblemKind::Gap)?;
    Some(located(p, segs, &segs.starts(), ids, gap_ns))
}

fn describe_sample(p: &SampleProblem, id: &str, gap_ns: Option<i64>) -> String {
    let v = p.value;
    match p.kind {
        ProblemKind::NullTime => "t_ns is null".into(),
        ProblemKind::BackwardsClock => format!(
            "source `{id}`: t_ns {} is {v:.6} s before the previous sample of this source \
             (clock went backwards)",
            p.t_ns
        ),
        ProblemKind::PowerNotFinite => format!("source `{id}`: power_w is {v}"),
        ProblemKind::PowerNegative => format!("source `{id}`: power_w {v} W is negative"),
        ProblemKind::PowerAbsurd => {
            format!("source `{id}`: power_w {v} W is above the plausible {MAX_PLAUSIBLE_W} W")
        }
        ProblemKind::CounterDecreased => format!(
            "source `{id}`: energy_uj {v} is below the previous reading (a wrap not unwrapped?)"
        ),
        ProblemKind::CounterJump => format!(
            "source `{id}`: energy_uj {v} implies more than {MAX_PLAUSIBLE_W} W since the \
             previous reading"
        ),
        ProblemKind::Gap => format!(
            "source `{id}`: no sample for {v:.3} s (tolerance {:.3} s) within the epochs",
            gap_ns.unwrap_or(0) as f64 * 1e-9
        ),
        ProblemKind::DuplicateTime => format!(
            "source `{id}`: a second row at t_ns {} with a different reading (power_w {v}); \
             which one is right is unknown: keep one row per source and instant",
            p.t_ns
        ),
    }
}

/// A reading this many times its source's mean power (and at least
/// [`OUTLIER_MIN_EXCESS_W`] above it) is flagged: a 4 kW spike on a 20 W
/// source is a glitch far more often than a real draw, and one such sample
/// can add more than half of a short run's energy.
const OUTLIER_RATIO: f64 = 10.0;
const OUTLIER_MIN_EXCESS_W: f64 = 500.0;

/// Flags each source's highest reading when it is an outlier against the
/// source's own mean; the numbers keep it (it may be real), the warning
/// names the row so the user can judge and drop it.
pub(crate) fn outlier_warnings(
    fold: &RunFold,
    segs: &Segments<'_>,
    ids: &[String],
    warnings: &mut Vec<String>,
) {
    let mut starts = None;
    for (k, s) in fold.sources.iter().enumerate() {
        let (Some((max_w, row, _)), Some(mean_w)) = (s.max_p, s.mean_w()) else {
            continue;
        };
        if max_w > OUTLIER_RATIO * mean_w && max_w - mean_w > OUTLIER_MIN_EXCESS_W {
            let starts = starts.get_or_insert_with(|| segs.starts());
            let (f, r) = locate(starts, row);
            let file = segs.name(f);
            warnings.push(format!(
                "{} row {r}: source `{}` reads {max_w:.1} W, {:.0}× its mean of {mean_w:.1} W; \
                 it is counted, but if it is a glitch remove the row (energy is off by about \
                 that reading × one sample period)",
                file.display(),
                ids.get(k).map_or("?", String::as_str),
                max_w / mean_w
            ));
        }
    }
}
