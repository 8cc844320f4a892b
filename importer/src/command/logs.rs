//! Importing from power logs and epoch logs: one run, or one per `{i}`.
//! Kept apart from CodeCarbon's import because its runs are built and
//! written one by one: every run is built first (the fit check compares
//! them), then each is written on its own, and in a batch a refused run is
//! listed with its reason instead of stopping the others.

use super::build_run::{build, Built};
use super::plan::{origin, plan_batch, plan_single, Plan};
use super::print_summary;
use crate::args::{EpochInput, ImportArgs, PowerInput};
use crate::batch::{self, Fit};
use crate::build::ImportedRun;
use crate::dedupe::{self, Known};
use crate::warnings::Warnings;
use crate::write::write_runs;
use crate::ImportError;
use anyhow::{anyhow, bail, Result};
use indicatif::ProgressBar;
use std::io::Write;
use std::path::PathBuf;

/// What became of one run.
enum Outcome {
    Imported,
    Refused(String),
}

/// Runs from power logs and epoch logs: one, or one per `{i}`.
pub(super) fn logs_import(
    args: &ImportArgs,
    command: Vec<String>,
    out: &mut dyn Write,
    warnings: &mut Warnings,
) -> Result<()> {
    let power = args.power_inputs();
    let epochs = args.epoch_input();
    check_inputs(args, &power, epochs.as_ref())?;
    let is_batch = power.iter().any(|p| batch::is_pattern(&p.path));
    if !is_batch {
        refuse_lone_patterns(args, epochs.as_ref())?;
    }
    let plan = if is_batch {
        plan_batch(args, power)?
    } else {
        plan_single(args, power)?
    };
    let bar = plan.batch.then(|| progress(plan.runs.len()));
    // Build every run first: the fit check compares them.
    let mut built = build_all(args, &plan, &command, bar.as_ref())?;
    add_fit_warnings(&mut built);
    // Write each run on its own, unless its content is already there.
    if let Some(b) = &bar {
        b.set_position(0);
    }
    let outcomes = write_all(args, &plan, built, bar.as_ref(), out, warnings)?;
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    if !plan.batch {
        return Ok(());
    }
    report_batch(args, &plan, &outcomes, out)
}

/// Refuses a command without a power log, and flags that place or choose
/// an epoch log's runs when there is no epoch log.
fn check_inputs(
    args: &ImportArgs,
    power: &[PowerInput],
    epochs: Option<&EpochInput>,
) -> Result<()> {
    if power.is_empty() {
        if epochs.is_some() {
            bail!("an epoch log needs a power log: give --power FORMAT:FILE, --zeus FILE or --carbontracker FILE");
        }
        bail!("nothing to import: give --power FORMAT:FILE, --zeus FILE, --carbontracker FILE or --codecarbon FILE");
    }
    if epochs.is_none() {
        if args.equal_epochs.is_some() || args.epoch_times.is_some() {
            bail!("--equal-epochs and --epoch-times place an epoch log's epochs: give --epochs FORMAT:FILE (or --keras FILE)");
        }
        if args.log_run.is_some() || !args.skip_log_run.is_empty() {
            bail!("--log-run and --skip-log-run choose among an epoch log's runs: give --epochs FORMAT:FILE (or --keras FILE)");
        }
    }
    Ok(())
}

/// Without `{i}` in the power files, `{i}` in the epoch log or the epoch
/// times has nothing to pair with.
fn refuse_lone_patterns(args: &ImportArgs, epochs: Option<&EpochInput>) -> Result<()> {
    let patterned = epochs
        .map(|e| e.path.clone())
        .into_iter()
        .chain(args.epoch_times.clone());
    for p in patterned {
        if batch::is_pattern(&p) {
            bail!(
                "{}: {{i}} pairs files with power files, so the power files need {{i}} too \
                 (e.g. --power 'pinpoint:traces/run_{{i}}.txt')",
                p.display()
            );
        }
    }
    Ok(())
}

/// One progress bar on stderr (hidden when stderr is not a terminal).
fn progress(len: usize) -> ProgressBar {
    let bar = ProgressBar::new(len as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar
}

/// Says on the bar which run is being read or written.
fn show_step(bar: Option<&ProgressBar>, verb: &str, label: &str, k: usize, n: usize) {
    if let Some(b) = bar {
        b.set_message(format!("{verb} {label} ({}/{n})", k + 1));
    }
}

/// Builds every planned run, or why it is refused. Without `{i}` a failed
/// build stops the command.
fn build_all(
    args: &ImportArgs,
    plan: &Plan,
    command: &[String],
    bar: Option<&ProgressBar>,
) -> Result<Vec<Result<Built, String>>> {
    let mut built: Vec<Result<Built, String>> = Vec::with_capacity(plan.runs.len());
    for (k, p) in plan.runs.iter().enumerate() {
        show_step(bar, "reading", &p.label, k, plan.runs.len());
        let result = match &p.refused {
            Some(why) => Err(why.clone()),
            None => match build(args, p, &plan.files, command.to_vec()) {
                Ok(b) => Ok(b),
                Err(e) if !plan.batch => return Err(e),
                Err(e) => Err(format!("{e:#}")),
            },
        };
        built.push(result);
    }
    Ok(built)
}

/// Fit: epoch logs against the windows they were placed on.
fn add_fit_warnings(built: &mut [Result<Built, String>]) {
    let fits: Vec<(usize, Fit)> = built
        .iter()
        .enumerate()
        .filter_map(|(k, b)| Some((k, b.as_ref().ok()?.fit.clone()?)))
        .collect();
    let only: Vec<Fit> = fits.iter().map(|(_, f)| f.clone()).collect();
    for (j, w) in batch::fit_warnings(&only) {
        if let Some(Ok(b)) = built.get_mut(fits[j].0) {
            b.run.manifest.warnings.push(w);
        }
    }
}

/// Writes each built run on its own and prints its summary; without `{i}`
/// a run that cannot be written stops the command.
fn write_all(
    args: &ImportArgs,
    plan: &Plan,
    built: Vec<Result<Built, String>>,
    bar: Option<&ProgressBar>,
    out: &mut dyn Write,
    warnings: &mut Warnings,
) -> Result<Vec<Outcome>> {
    let mut known = args.run_id.is_none().then(|| Known::scan(&args.out));
    let mut outcomes: Vec<Outcome> = Vec::with_capacity(built.len());
    for (k, (p, b)) in plan.runs.iter().zip(built).enumerate() {
        show_step(bar, "writing", &p.label, k, plan.runs.len());
        let outcome = match b {
            Err(why) => Outcome::Refused(why),
            Ok(b) => {
                let run = b.run;
                match place(args, known.as_ref(), &run) {
                    Ok(dir) => {
                        warnings.extend(run.manifest.warnings.iter().cloned());
                        let from = plan.batch.then(|| origin(p, &plan.files));
                        print_summary(out, &run, &dir, args.dry_run, from.as_deref())?;
                        if let Some(kn) = known.as_mut() {
                            kn.add(&run, &dir);
                        }
                        Outcome::Imported
                    }
                    Err(e) if !plan.batch => return Err(e.context("nothing was imported")),
                    Err(e) => Outcome::Refused(format!("{e:#}")),
                }
            }
        };
        outcomes.push(outcome);
        if let Some(bar) = bar {
            bar.inc(1);
        }
    }
    Ok(outcomes)
}

/// Writes one run into the archive (with `--dry-run` only checks that its
/// folder is free) and returns its folder, unless the same content is
/// already there.
fn place(args: &ImportArgs, known: Option<&Known>, run: &ImportedRun) -> Result<PathBuf> {
    let dir = run.partition.run_dir(&args.out, &run.manifest.run_id);
    match known.and_then(|kn| kn.holder(run)) {
        Some(holder) => Err(anyhow!(dedupe::refusal(holder))),
        None if args.dry_run => {
            if dir.exists() {
                Err(ImportError::Exists { path: dir.clone() }.into())
            } else {
                Ok(dir.clone())
            }
        }
        None => write_runs(&args.out, std::slice::from_ref(run))
            .map(|d| d.into_iter().next().unwrap_or_else(|| dir.clone()))
            .map_err(anyhow::Error::from),
    }
}

/// A batch's last lines: the pairing rule, what was imported and refused;
/// an error when any input was refused.
fn report_batch(
    args: &ImportArgs,
    plan: &Plan,
    outcomes: &[Outcome],
    out: &mut dyn Write,
) -> Result<()> {
    if let Some(rule) = &plan.rule {
        writeln!(out, "pairing: {rule}")?;
    }
    let imported = outcomes
        .iter()
        .filter(|o| matches!(o, Outcome::Imported))
        .count();
    let mut refused: Vec<(String, String)> = plan
        .runs
        .iter()
        .zip(outcomes)
        .filter_map(|(p, o)| match o {
            Outcome::Refused(why) => Some((p.label.clone(), why.clone())),
            Outcome::Imported => None,
        })
        .collect();
    refused.extend(plan.unpaired.iter().cloned());
    let plural = |n: usize| if n == 1 { "run" } else { "runs" };
    writeln!(
        out,
        "{} {imported} {}, refused {}{}",
        if args.dry_run {
            "would import"
        } else {
            "imported"
        },
        plural(imported),
        refused.len(),
        if refused.is_empty() { "" } else { ":" }
    )?;
    for (label, why) in &refused {
        writeln!(out, "  refused {label}: {why}")?;
    }
    if !refused.is_empty() {
        bail!(
            "{} of {} input{} refused (listed above); the other {imported} {} {}",
            refused.len(),
            refused.len() + imported,
            if refused.len() + imported == 1 {
                ""
            } else {
                "s"
            },
            plural(imported),
            if args.dry_run {
                "would be imported"
            } else {
                "were imported"
            }
        );
    }
    Ok(())
}
