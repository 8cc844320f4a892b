//! Planning: which runs the command imports and which files make each one,
//! decided before any power log is read. Without `{i}` patterns that is one
//! run; with them one run per `{i}` of the power patterns, each paired with
//! its epoch log by `{i}` or by order, and a run whose files are missing is
//! refused here, with its reason, without stopping the others.

use super::input::{load_epochs, EpochFile};
use crate::args::{EpochFormat, EpochInput, ImportArgs, PowerInput};
use crate::batch;
use crate::epoch_log::describe_runs;
use anyhow::{bail, Result};
use std::path::{Path, PathBuf};

/// One run to import.
pub(super) struct Planned {
    /// The power files, for messages.
    pub(super) label: String,
    pub(super) power: Vec<PowerInput>,
    /// (index into the epoch files, run of that file).
    pub(super) epochs: Option<(usize, usize)>,
    pub(super) epoch_times: Option<PathBuf>,
    /// What `{i}` stood for.
    pub(super) key: Option<String>,
    /// Refused before anything was read.
    pub(super) refused: Option<String>,
}

/// Every run of the command, how the epoch logs were paired, and inputs
/// that found no partner.
pub(super) struct Plan {
    pub(super) runs: Vec<Planned>,
    pub(super) files: Vec<EpochFile>,
    pub(super) rule: Option<String>,
    pub(super) unpaired: Vec<(String, String)>,
    pub(super) batch: bool,
}

/// The files one `{i}` pattern matched, each with what `{i}` stood for.
type Found = Vec<(String, PathBuf)>;

/// The epoch logs of a batch, the rule that paired them with the runs, and
/// logs that found no run.
#[derive(Default)]
struct Pairing {
    files: Vec<EpochFile>,
    rule: Option<String>,
    unpaired: Vec<(String, String)>,
}

pub(super) fn label_of(power: &[PowerInput]) -> String {
    power
        .iter()
        .map(|p| p.path.display().to_string())
        .collect::<Vec<_>>()
        .join(" + ")
}

/// The one run of a log that `--log-run` / `--skip-log-run` leave, or why
/// there is none.
fn pick_one(args: &ImportArgs, file: &EpochFile) -> Result<usize, String> {
    let n = file.runs.len();
    let shown = file.input.path.display();
    if let Some(k) = args.log_run {
        if k > n {
            return Err(format!(
                "--log-run {k}: {shown} holds {}",
                if n == 1 {
                    "1 run".to_string()
                } else {
                    describe_runs(&file.runs)
                }
            ));
        }
        return Ok(k - 1);
    }
    let kept: Vec<usize> = (0..n)
        .filter(|k| !args.skip_log_run.contains(&(k + 1)))
        .collect();
    match kept.as_slice() {
        [one] => Ok(*one),
        _ => Err(format!(
            "{shown} holds {}: import one with --log-run N, or all of them with one power file \
             per run, e.g. --power 'pinpoint:traces/run_{{i}}.txt' (the i-th trace takes the \
             i-th run)",
            describe_runs(&file.runs)
        )),
    }
}

/// One run from the listed files.
pub(super) fn plan_single(args: &ImportArgs, power: Vec<PowerInput>) -> Result<Plan> {
    let mut files = Vec::new();
    let mut epochs = None;
    if let Some(e) = args.epoch_input() {
        let file = load_epochs(args, e.format, &e.path)?;
        let k = pick_one(args, &file).map_err(anyhow::Error::msg)?;
        files.push(file);
        epochs = Some((0, k));
    }
    Ok(Plan {
        runs: vec![Planned {
            label: label_of(&power),
            power,
            epochs,
            epoch_times: args.epoch_times.clone(),
            key: None,
            refused: None,
        }],
        files,
        rule: None,
        unpaired: Vec::new(),
        batch: false,
    })
}

/// One run per `{i}` of the power patterns.
pub(super) fn plan_batch(args: &ImportArgs, power: Vec<PowerInput>) -> Result<Plan> {
    if let Some(p) = power.iter().find(|p| !batch::is_pattern(&p.path)) {
        bail!(
            "{}: with {{i}} patterns every power file needs one (each run's files are found by \
             the text {{i}} stands for)",
            p.path.display()
        );
    }
    let (matches, keys) = expand_power(&power)?;
    check_batch_flags(args)?;
    let mut runs: Vec<Planned> = keys
        .iter()
        .map(|key| plan_key(args, &power, &matches, key))
        .collect();
    let pairing = match args.epoch_input() {
        None => Pairing::default(),
        Some(EpochInput { format, path }) if batch::is_pattern(&path) => {
            pair_by_key(args, format, &path, &keys, &power, &mut runs)?
        }
        Some(EpochInput { format, path }) => pair_in_order(args, format, &path, &mut runs)?,
    };
    Ok(Plan {
        runs,
        files: pairing.files,
        rule: pairing.rule,
        unpaired: pairing.unpaired,
        batch: true,
    })
}

/// The files each power pattern matched, and every `{i}` any of them
/// matched, sorted.
fn expand_power(power: &[PowerInput]) -> Result<(Vec<Found>, Vec<String>)> {
    let mut matches = Vec::with_capacity(power.len());
    let mut keys: Vec<String> = Vec::new();
    for p in power {
        let found = batch::expand(&p.path).map_err(anyhow::Error::msg)?;
        for (k, _) in &found {
            if !keys.contains(k) {
                keys.push(k.clone());
            }
        }
        matches.push(found);
    }
    batch::sort_keys(&mut keys);
    Ok((matches, keys))
}

/// Flags that name one run's file or id need `{i}` in a batch.
fn check_batch_flags(args: &ImportArgs) -> Result<()> {
    if let Some(id) = &args.run_id {
        if !id.contains(batch::PLACEHOLDER) {
            bail!("--run-id {id}: with {{i}} patterns the run id must hold {{i}} (one id per run)");
        }
    }
    if args
        .epoch_times
        .as_ref()
        .is_some_and(|t| !batch::is_pattern(t))
    {
        bail!("--epoch-times holds one run's times: with {{i}} patterns give one file per run, e.g. --epoch-times 'times_{{i}}.csv'");
    }
    Ok(())
}

/// The run of one `{i}`: its power files and epoch times file, or why it
/// is refused.
fn plan_key(args: &ImportArgs, power: &[PowerInput], matches: &[Found], key: &str) -> Planned {
    let mut refused = None;
    let mut files = Vec::with_capacity(power.len());
    for (p, found) in power.iter().zip(matches) {
        match found.iter().find(|(k, _)| k == key) {
            Some((_, path)) => files.push(PowerInput {
                format: p.format,
                path: path.clone(),
            }),
            None => {
                refused.get_or_insert(format!(
                    "no {} for {{i}} = {key}",
                    batch::fill(&p.path, key).display()
                ));
            }
        }
    }
    let epoch_times = args.epoch_times.as_ref().map(|t| batch::fill(t, key));
    if let Some(t) = epoch_times.as_ref().filter(|t| !t.is_file()) {
        refused.get_or_insert(format!("no epoch times file {}", t.display()));
    }
    Planned {
        label: if files.is_empty() {
            format!("{{i}} = {key}")
        } else {
            label_of(&files)
        },
        power: files,
        epochs: None,
        epoch_times,
        key: Some(key.to_string()),
        refused,
    }
}

/// Epoch logs found by their own `{i}` pattern: each run takes the log of
/// its `{i}`; a log whose `{i}` has no power file is listed as unpaired.
fn pair_by_key(
    args: &ImportArgs,
    format: EpochFormat,
    pattern: &Path,
    keys: &[String],
    power: &[PowerInput],
    runs: &mut [Planned],
) -> Result<Pairing> {
    let found = batch::expand(pattern).map_err(anyhow::Error::msg)?;
    let mut pairing = Pairing::default();
    for (k, p) in &found {
        if !keys.contains(k) {
            pairing.unpaired.push((
                p.display().to_string(),
                format!("no power file for {{i}} = {k}"),
            ));
        }
    }
    for r in runs.iter_mut() {
        attach_log(args, format, pattern, &found, r, &mut pairing.files);
    }
    pairing.rule = Some(format!(
        "power and epoch files paired by {{i}} ({} with {})",
        label_of(power),
        pattern.display()
    ));
    Ok(pairing)
}

/// Gives a run the epoch log its `{i}` matched (read and its one run
/// picked), or refuses the run.
fn attach_log(
    args: &ImportArgs,
    format: EpochFormat,
    pattern: &Path,
    found: &[(String, PathBuf)],
    r: &mut Planned,
    files: &mut Vec<EpochFile>,
) {
    let key = r.key.clone().unwrap_or_default();
    let Some((_, p)) = found.iter().find(|(k, _)| *k == key) else {
        r.refused.get_or_insert(format!(
            "no epoch log {} for {{i}} = {key}",
            batch::fill(pattern, &key).display()
        ));
        return;
    };
    if r.refused.is_some() {
        return;
    }
    match load_epochs(args, format, p) {
        Ok(file) => match pick_one(args, &file) {
            Ok(k) => {
                files.push(file);
                r.epochs = Some((files.len() - 1, k));
            }
            Err(m) => r.refused = Some(m),
        },
        Err(e) => r.refused = Some(format!("{e:#}")),
    }
}

/// One epoch log holding several runs: the i-th trace takes its i-th run
/// (less those `--skip-log-run` leaves out).
fn pair_in_order(
    args: &ImportArgs,
    format: EpochFormat,
    path: &Path,
    runs: &mut [Planned],
) -> Result<Pairing> {
    if args.log_run.is_some() {
        bail!(
            "--log-run picks one run for one trace; with {{i}} patterns the runs of {} \
             go to the traces in order (leave runs out with --skip-log-run N)",
            path.display()
        );
    }
    let file = load_epochs(args, format, path)?;
    let (kept, why) = batch::pair_log_runs(path, &file.runs, runs.len(), &args.skip_log_run)
        .map_err(anyhow::Error::msg)?;
    for (r, k) in runs.iter_mut().zip(kept) {
        r.epochs = Some((0, k));
    }
    Ok(Pairing {
        files: vec![file],
        rule: Some(why),
        unpaired: Vec::new(),
    })
}

/// `traces/run_7.txt with all_runs.csv run 8 (lines 86–97 (12 epochs))`.
pub(super) fn origin(p: &Planned, files: &[EpochFile]) -> String {
    match p.epochs {
        Some((f, k)) if files[f].runs.len() > 1 => format!(
            "{} with {} run {} ({})",
            p.label,
            files[f].input.path.display(),
            k + 1,
            files[f].runs[k].span()
        ),
        Some((f, _)) => format!("{} with {}", p.label, files[f].input.path.display()),
        None => p.label.clone(),
    }
}
