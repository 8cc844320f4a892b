//! Many runs in one command: `{i}` patterns in file names, the pairing of
//! power files with epoch logs (by the text `{i}` stands for, or in order
//! with the runs of one log that holds several), and the check that each
//! epoch log fits the power window it was placed on.
//!
//! Pairing a log's runs with traces in order is only safe when the counts
//! agree, so the rule used is always stated: the counts are equal; or the
//! user left runs out (`--skip-log-run`); or the log holds exactly one run
//! more than there are traces and one run is shorter than all the others,
//! which have one length between them (an aborted attempt). Anything else
//! is refused with the runs listed.

use super::epoch_log::{describe_runs, EpochLog};
use std::path::{Path, PathBuf};

/// What stands for the varying part of file names.
pub const PLACEHOLDER: &str = "{i}";

pub fn is_pattern(p: &Path) -> bool {
    p.to_string_lossy().contains(PLACEHOLDER)
}

/// `pattern` with `{i}` replaced by `key`.
pub fn fill(pattern: &Path, key: &str) -> PathBuf {
    PathBuf::from(pattern.to_string_lossy().replace(PLACEHOLDER, key))
}

/// Sorts keys numerically when they all are numbers, else as text.
pub fn sort_keys(keys: &mut [String]) {
    if keys.iter().all(|k| k.parse::<u64>().is_ok()) {
        keys.sort_by_key(|k| k.parse::<u64>().unwrap_or(u64::MAX));
    } else {
        keys.sort();
    }
}

/// The files a pattern matches, as (what `{i}` stands for, path), sorted by
/// that text (numerically when every match is a number). `{i}` must be in
/// the file name, once, and stands for one or more characters.
pub fn expand(pattern: &Path) -> Result<Vec<(String, PathBuf)>, String> {
    let shown = pattern.display();
    let name = pattern
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if name.matches(PLACEHOLDER).count() != 1
        || pattern.to_string_lossy().matches(PLACEHOLDER).count() != 1
    {
        return Err(format!(
            "'{shown}': put {PLACEHOLDER} once, in the file name (e.g. traces/run_{PLACEHOLDER}.txt)"
        ));
    }
    let dir = match pattern.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let (prefix, suffix) = name.split_once(PLACEHOLDER).unwrap_or((&name, ""));
    let entries = std::fs::read_dir(&dir)
        .map_err(|e| format!("'{shown}': cannot list {}: {e}", dir.display()))?;
    let mut found: Vec<(String, PathBuf)> = Vec::new();
    for e in entries.flatten() {
        let file = e.file_name().to_string_lossy().into_owned();
        if file.len() <= prefix.len() + suffix.len()
            || !file.starts_with(prefix)
            || !file.ends_with(suffix)
            || !e.path().is_file()
        {
            continue;
        }
        let key = file[prefix.len()..file.len() - suffix.len()].to_string();
        let path = match pattern.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.join(&file),
            _ => PathBuf::from(&file),
        };
        found.push((key, path));
    }
    if found.is_empty() {
        return Err(format!("no file matches '{shown}'"));
    }
    let mut keys: Vec<String> = found.iter().map(|(k, _)| k.clone()).collect();
    sort_keys(&mut keys);
    found.sort_by_key(|(k, _)| keys.iter().position(|x| x == k));
    Ok(found)
}

/// How a log's runs go with `traces` power files in order: the index of
/// the log run for each trace, and the rule in words.
pub fn pair_log_runs(
    file: &Path,
    runs: &[EpochLog],
    traces: usize,
    skip: &[usize],
) -> Result<(Vec<usize>, String), String> {
    let shown = file.display();
    if let Some(bad) = skip.iter().find(|&&n| n == 0 || n > runs.len()) {
        return Err(format!(
            "--skip-log-run {bad}: {shown} holds {}",
            describe_runs(runs)
        ));
    }
    let kept: Vec<usize> = (0..runs.len())
        .filter(|k| !skip.contains(&(k + 1)))
        .collect();
    let in_order = "the i-th trace (by {i}) takes the i-th run";
    if kept.len() == traces {
        let rule =
            if skip.is_empty() {
                format!("{shown} holds as many runs as there are traces ({traces}): {in_order}")
            } else {
                let mut s: Vec<usize> = skip.to_vec();
                s.sort_unstable();
                s.dedup();
                format!(
                "{shown}: run{} {} left out by --skip-log-run; {in_order} of the other {traces}",
                if s.len() == 1 { "" } else { "s" },
                s.iter().map(usize::to_string).collect::<Vec<_>>().join(", ")
            )
            };
        return Ok((kept, rule));
    }
    let listed = describe_runs(runs);
    if skip.is_empty() && runs.len() == traces + 1 && traces >= 2 {
        let lens: Vec<usize> = runs.iter().map(|r| r.entries.len()).collect();
        let min = lens.iter().copied().min().unwrap_or(0);
        let shortest: Vec<usize> = (0..lens.len()).filter(|&k| lens[k] == min).collect();
        if let [short] = shortest.as_slice() {
            let others: Vec<usize> = (0..lens.len())
                .filter(|k| k != short)
                .map(|k| lens[k])
                .collect();
            if others.windows(2).all(|w| w[0] == w[1]) {
                let kept: Vec<usize> = (0..runs.len()).filter(|k| k != short).collect();
                let rule = format!(
                    "{shown} holds {} runs for {traces} traces; run {} at {} is the only one \
                     shorter than the others ({} epochs each), so it is taken for an aborted \
                     attempt and left out; {in_order} of the other {traces} (give \
                     --skip-log-run N to leave out another)",
                    runs.len(),
                    short + 1,
                    runs[*short].span(),
                    others[0]
                );
                return Ok((kept, rule));
            }
        }
    }
    Err(format!(
        "{shown} holds {listed}, and {} remain for {traces} power trace{}: the runs cannot be \
         paired with the traces in order; leave runs out with --skip-log-run N (e.g. an \
         aborted attempt), or import one with --log-run N and one trace",
        kept.len(),
        if traces == 1 { "" } else { "s" }
    ))
}

/// One run's epochs against its power window, for [`fit_warnings`].
#[derive(Debug, Clone)]
pub struct Fit {
    /// Which run (e.g. `traces/run_3.txt`).
    pub label: String,
    /// Where its epochs come from (`k.csv lines 2–5 (4 epochs)`).
    pub log: String,
    pub epochs: usize,
    /// First epoch start to last epoch end on the trace, ns.
    pub placed_ns: i64,
    /// The epoch log's own duration, where it has times.
    pub own_ns: Option<i64>,
    /// Whether the epochs were placed by a rule (so the fit is a guess).
    pub by_rule: bool,
}

/// Warnings for epoch logs that do not fit their power window: a log with
/// times whose duration differs from the window it was placed on by more
/// than a quarter, and, among three or more runs placed by a rule, a run
/// whose seconds per epoch differ from the others' median by more than
/// half (e.g. 4 epochs spread over a trace as long as 12-epoch runs).
/// Each warning comes with the index of its run in `fits`.
pub fn fit_warnings(fits: &[Fit]) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let secs = |ns: i64| ns as f64 * 1e-9;
    for (k, f) in fits.iter().enumerate().filter(|(_, f)| f.by_rule) {
        if let Some(own) = f.own_ns.filter(|o| *o > 0) {
            let r = f.placed_ns as f64 / own as f64;
            if !(0.8..=1.25).contains(&r) {
                out.push((
                    k,
                    format!(
                    "{}: the epoch log ({}) spans {:.1} s by its own times, but its epochs were \
                     placed on {:.1} s of the trace: check --equal-epochs/--epoch-times and that \
                     the trace is this run's",
                    f.label,
                    f.log,
                    secs(own),
                    secs(f.placed_ns)
                ),
                ));
            }
        }
    }
    let per: Vec<(usize, f64)> = fits
        .iter()
        .enumerate()
        .filter(|(_, f)| f.by_rule && f.epochs > 0 && f.placed_ns > 0)
        .map(|(k, f)| (k, secs(f.placed_ns) / f.epochs as f64))
        .collect();
    if per.len() >= 3 {
        let mut sorted: Vec<f64> = per.iter().map(|(_, s)| *s).collect();
        sorted.sort_by(f64::total_cmp);
        let mid = sorted.len() / 2;
        let median = if sorted.len() % 2 == 1 {
            sorted[mid]
        } else {
            (sorted[mid - 1] + sorted[mid]) / 2.0
        };
        for (k, s) in per {
            let r = s / median;
            if !(2.0 / 3.0..=1.5).contains(&r) {
                let f = &fits[k];
                out.push((
                    k,
                    format!(
                        "{}: {} epochs placed on {:.1} s of trace ({:.1} s per epoch) where this \
                     import's runs take {:.1} s per epoch (median): is {} this trace's run? \
                     check the pairing (--skip-log-run, --log-run, the {{i}} of the files) and \
                     the --equal-epochs window",
                        f.label,
                        f.epochs,
                        secs(f.placed_ns),
                        s,
                        median,
                        f.log
                    ),
                ));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::EpochEntry;

    fn run(first: u64, n: usize) -> EpochLog {
        EpochLog {
            path: "k.csv".into(),
            entries: (0..n)
                .map(|k| EpochEntry {
                    line: first + k as u64,
                    epoch: k as u32 + 1,
                    train_acc: Some(0.5),
                    test_acc: None,
                    train_loss: None,
                    test_loss: None,
                    examples: None,
                    start: None,
                    end: None,
                })
                .collect(),
            columns: vec![],
            first_line: first,
        }
    }

    #[test]
    fn patterns_expand_sorted_by_number() {
        let tmp = tempfile::tempdir().unwrap();
        for name in [
            "run_10.txt",
            "run_2.txt",
            "run_1.txt",
            "run_.txt",
            "other.txt",
        ] {
            std::fs::write(tmp.path().join(name), "x").unwrap();
        }
        let found = expand(&tmp.path().join("run_{i}.txt")).unwrap();
        let keys: Vec<&str> = found.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["1", "2", "10"]);
        assert_eq!(found[2].1, tmp.path().join("run_10.txt"));
        assert!(expand(&tmp.path().join("{i}/run.txt"))
            .unwrap_err()
            .contains("in the file name"));
        assert!(expand(&tmp.path().join("log_{i}.csv"))
            .unwrap_err()
            .contains("no file matches"));
        assert_eq!(fill(Path::new("a_{i}.csv"), "7"), Path::new("a_7.csv"));
    }

    #[test]
    fn log_runs_pair_by_the_stated_rule() {
        let f = Path::new("k.csv");
        // An aborted run of 4 epochs, then 3 runs of 12.
        let runs = [run(2, 4), run(6, 12), run(18, 12), run(30, 12)];
        let (kept, rule) = pair_log_runs(f, &runs, 3, &[]).unwrap();
        assert_eq!(kept, [1, 2, 3]);
        assert!(
            rule.contains("run 1 at lines 2–5 (4 epochs) is the only one shorter"),
            "{rule}"
        );
        let (kept, rule) = pair_log_runs(f, &runs, 4, &[]).unwrap();
        assert_eq!(kept, [0, 1, 2, 3]);
        assert!(
            rule.contains("as many runs as there are traces (4)"),
            "{rule}"
        );
        let (kept, rule) = pair_log_runs(f, &runs, 3, &[3]).unwrap();
        assert_eq!(kept, [0, 1, 3]);
        assert!(rule.contains("run 3 left out by --skip-log-run"), "{rule}");
        // Two short runs: ambiguous.
        let runs2 = [run(2, 4), run(6, 12), run(18, 5), run(23, 12)];
        let e = pair_log_runs(f, &runs2, 3, &[]).unwrap_err();
        assert!(
            e.contains("cannot be paired") && e.contains("4 runs"),
            "{e}"
        );
        // Early stopping: the others differ in length, so no guess.
        let runs3 = [run(2, 4), run(6, 12), run(18, 9), run(27, 12)];
        assert!(pair_log_runs(f, &runs3, 3, &[]).is_err());
        assert!(pair_log_runs(f, &runs, 3, &[5])
            .unwrap_err()
            .contains("--skip-log-run 5"));
    }

    #[test]
    fn a_short_log_on_a_long_trace_is_flagged() {
        let fit = |label: &str, epochs: usize, s: i64| Fit {
            label: label.into(),
            log: format!("k.csv ({epochs} epochs)"),
            epochs,
            placed_ns: s * 1_000_000_000,
            own_ns: None,
            by_rule: true,
        };
        // 12 epochs on 64.2 s is 5.35 s per epoch; 4 epochs on 64.2 s is 16.05.
        let fits = [
            fit("a", 12, 64),
            fit("b", 12, 66),
            fit("c", 4, 64),
            fit("d", 12, 65),
        ];
        let w = fit_warnings(&fits);
        assert_eq!(w.len(), 1, "{w:?}");
        assert_eq!(w[0].0, 2);
        assert!(
            w[0].1
                .starts_with("c: 4 epochs placed on 64.0 s of trace (16.0 s per epoch)"),
            "{w:?}"
        );
        let mut own = fit("e", 12, 64);
        own.own_ns = Some(30_000_000_000);
        let w = fit_warnings(&[own]);
        assert!(w[0].1.contains("spans 30.0 s by its own times"), "{w:?}");
    }
}
