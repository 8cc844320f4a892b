//! Building one planned run: reading its power files with the parser of
//! each format, choosing where its epochs go, recording the options that
//! shaped it, and handing all of it to the assembly (`crate::build`). Kept
//! apart from the planning so that a batch builds every run the same way,
//! and from the writing so that the fit check can compare built runs first.

use super::input::{digest, read_input, run_labels, EpochFile, Input};
use super::plan::Planned;
use crate::args::{EpochFormat, ImportArgs, PowerFormat, PowerInput};
use crate::batch::{self, Fit};
use crate::build::{assemble, options_map, ImportedRun, Inputs, RunLabels};
use crate::epoch_log::EpochLog;
use crate::generic_power::CsvPowerOptions;
use crate::placement::{parse_epoch_times, parse_window, Placement, TimeRow};
use crate::time::parse_datetime;
use crate::{carbontracker, generic_power, nvidia_smi, pinpoint, zeus, PowerLog};
use anyhow::{anyhow, Context, Result};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use trainwatt_trace::{ImportInfo, ImportedFile};

/// A run built, with what the fit check needs.
pub(super) struct Built {
    pub(super) run: ImportedRun,
    pub(super) fit: Option<Fit>,
}

/// What a run's files gave so far: their provenance records and tool names
/// in the order read, and the power logs with the file each came from.
struct Sources {
    records: Vec<ImportedFile>,
    tools: Vec<String>,
    power: Vec<(PathBuf, PowerLog)>,
}

/// An epoch log's run and where its epochs go.
type Epochs<'a> = (&'a EpochLog, Placement);

/// Builds one planned run.
pub(super) fn build(
    args: &ImportArgs,
    plan: &Planned,
    files: &[EpochFile],
    command: Vec<String>,
) -> Result<Built> {
    let start_wall = args
        .start
        .as_deref()
        .map(|s| parse_datetime(s, args.timezone.as_ref()))
        .transpose()
        .map_err(|m| anyhow!("--start: {m}"))?;
    let mut sources = read_power_files(args, plan)?;
    let mut epochs: Option<Epochs<'_>> = None;
    let mut extra_warnings = Vec::new();
    if let Some((f, k)) = plan.epochs {
        let (log, placement) = take_epochs(args, plan, &files[f], k, &mut sources)?;
        extra_warnings.extend(log.placeholder_warnings());
        epochs = Some((log, placement));
    }
    let options = import_options(args, plan, files, epochs.as_ref());
    let digest = digest(&sources.records);
    let labels = keyed_labels(args, plan);
    let mut run = assemble(Inputs {
        power: sources.power,
        epochs: epochs.as_ref().map(|(l, p)| (*l, p)),
        start_wall,
        labels: &labels,
        imported: ImportInfo {
            tools: sources.tools,
            files: sources.records,
            options,
        },
        digest: &digest,
        command,
    })?;
    run.manifest.warnings.extend(extra_warnings);
    let fit = fit_of(plan, epochs.as_ref(), &run);
    Ok(Built { run, fit })
}

/// Reads the run's power files, in the order given.
fn read_power_files(args: &ImportArgs, plan: &Planned) -> Result<Sources> {
    let mut sources = Sources {
        records: Vec::new(),
        tools: Vec::new(),
        power: Vec::new(),
    };
    for p in &plan.power {
        let (input, log) = read_power(args, p)?;
        sources.tools.push(p.format.name().to_string());
        sources.records.push(input.record);
        sources.power.push((p.path.clone(), log));
    }
    Ok(sources)
}

/// Reads one power file.
fn read_power(args: &ImportArgs, p: &PowerInput) -> Result<(Input, PowerLog)> {
    let zone = args.timezone.as_ref();
    let input = read_input(&p.path, "power", p.format.name())?;
    let shown = p.path.display();
    let log = match p.format {
        PowerFormat::NvidiaSmi => {
            let zone = zone.with_context(|| {
                format!("{shown}: nvidia-smi writes local times without a zone: give --timezone")
            })?;
            nvidia_smi::parse(&input.path, &input.text, zone)?
        }
        PowerFormat::Pinpoint => {
            let interval = args.interval.with_context(|| {
                format!("{shown}: a pinpoint trace has no timestamps: give --interval (its -i, e.g. 100ms)")
            })?;
            pinpoint::parse(&input.path, &input.text, interval)?
        }
        PowerFormat::Csv => {
            let domain = args.domain.with_context(|| {
                format!("{shown}: say what the generic CSV measures with --domain (gpu, cpu-package, dram, …)")
            })?;
            let opts = CsvPowerOptions {
                time_col: args.time_col.clone(),
                power_cols: args.power_col.clone(),
                energy_cols: args.energy_col.clone(),
                time_unit: args.time_unit,
                power_unit: args.power_unit,
                energy_unit: args.energy_unit,
                domain,
                source_id: args.source_id.clone(),
            };
            generic_power::parse(&input.path, &input.text, &opts, zone)?
        }
        PowerFormat::Zeus => zeus::parse(&input.path, &input.text, args.zeus_window.as_deref())?,
        PowerFormat::CarbonTracker => {
            let zone = zone.with_context(|| {
                format!(
                    "{shown}: carbontracker stamps its log in local time without a zone: give \
                     --timezone"
                )
            })?;
            carbontracker::parse(&input.path, &input.text, zone)?
        }
    };
    Ok((input, log))
}

/// Run `k` of an epoch log, recorded among the run's sources (with its line
/// when the log holds several runs), and where its epochs go.
fn take_epochs<'a>(
    args: &ImportArgs,
    plan: &Planned,
    file: &'a EpochFile,
    k: usize,
    sources: &mut Sources,
) -> Result<Epochs<'a>> {
    let log = &file.runs[k];
    sources.tools.push(file.tool().to_string());
    let mut record = file.input.record.clone();
    if file.runs.len() > 1 {
        record.line = Some(log.first_line);
    }
    sources.records.push(record);
    let placement = choose_placement(args, plan, log, sources)?;
    Ok((log, placement))
}

/// Where the epochs go: evenly over `--equal-epochs`, at `--epoch-times`,
/// at the log's own times, on the windows of a power log that has them, or
/// by the log's own durations.
fn choose_placement(
    args: &ImportArgs,
    plan: &Planned,
    log: &EpochLog,
    sources: &mut Sources,
) -> Result<Placement> {
    let zone = args.timezone.as_ref();
    let placement = if let Some(w) = &args.equal_epochs {
        let (start, end) = parse_window(w, zone).map_err(|m| anyhow!("--equal-epochs: {m}"))?;
        Placement::Equal {
            start,
            end,
            text: w.clone(),
        }
    } else if let Some(t) = &plan.epoch_times {
        let input = read_input(t, "epoch-times", "csv")?;
        let rows = parse_epoch_times(&input.path, &input.text, args.time_unit, zone)?;
        sources.records.push(input.record);
        Placement::Times {
            path: t.clone(),
            rows,
        }
    } else if log.is_timed() {
        Placement::Log
    } else if let Some((path, windowed)) = sources.power.iter().find(|(_, l)| !l.windows.is_empty())
    {
        on_windows(path, windowed)
    } else {
        Placement::Log
    };
    Ok(placement)
}

/// Epochs placed on the windows a power log marks (one epoch per window).
fn on_windows(path: &Path, windowed: &PowerLog) -> Placement {
    Placement::Windows {
        what: format!("the windows of {}", path.display()),
        rows: windowed
            .windows
            .iter()
            .zip(1u32..)
            .map(|(w, epoch)| TimeRow {
                line: w.line,
                epoch,
                start: w.start,
                end: w.end,
            })
            .collect(),
        coarse: windowed.windows.iter().any(|w| w.coarse),
    }
}

/// The options that shaped the run, for `manifest.imported.options`: only
/// those that apply to its formats.
fn import_options(
    args: &ImportArgs,
    plan: &Planned,
    files: &[EpochFile],
    epochs: Option<&Epochs<'_>>,
) -> BTreeMap<String, Value> {
    let mut options = options_map(vec![
        (
            "timezone",
            args.timezone.as_ref().map(|z| Value::from(z.to_string())),
        ),
        ("start", args.start.clone().map(Value::from)),
        ("interval_ns", args.interval.map(Value::from)),
        ("epoch_placement", epochs.map(|(_, p)| p.describe().into())),
    ]);
    let any = |f: PowerFormat| plan.power.iter().any(|p| p.format == f);
    if any(PowerFormat::Csv) {
        options.extend(options_map(vec![
            ("power_unit", Some(args.power_unit.name().into())),
            (
                "domain",
                args.domain.and_then(|d| serde_json::to_value(d).ok()),
            ),
        ]));
        if !args.energy_col.is_empty() {
            options.insert("energy_unit".into(), args.energy_unit.name().into());
        }
    }
    if any(PowerFormat::Zeus) {
        if let Some(w) = &args.zeus_window {
            options.insert("zeus_window".into(), w.clone().into());
        }
    }
    if any(PowerFormat::Csv)
        || plan
            .epochs
            .is_some_and(|(f, _)| matches!(files[f].format, EpochFormat::Csv | EpochFormat::Jsonl))
        || plan.epoch_times.is_some()
    {
        options.insert("time_unit".into(), args.time_unit.name().into());
    }
    if let (Some((log, _)), Some((f, k))) = (epochs, plan.epochs) {
        for (metric, col) in &log.columns {
            options.insert(format!("{metric}_column"), col.clone().into());
        }
        if args.acc_percent {
            options.insert("acc_percent".into(), true.into());
        }
        if files[f].runs.len() > 1 {
            options.insert("log_run".into(), (k + 1).into());
            options.insert("log_runs".into(), files[f].runs.len().into());
        }
    }
    options
}

/// The run's labels, with `{i}` of `--run-id` filled in.
fn keyed_labels(args: &ImportArgs, plan: &Planned) -> RunLabels {
    let mut labels = run_labels(args);
    if let (Some(id), Some(key)) = (&labels.run_id, &plan.key) {
        labels.run_id = Some(id.replace(batch::PLACEHOLDER, key));
    }
    labels
}

/// What the fit check needs of a run whose epochs came from a log.
fn fit_of(plan: &Planned, epochs: Option<&Epochs<'_>>, run: &ImportedRun) -> Option<Fit> {
    match (epochs, run.epochs.first(), run.epochs.last()) {
        (Some((log, placement)), Some(a), Some(b)) => Some(Fit {
            label: plan.label.clone(),
            log: format!("{} {}", log.path.display(), log.span()),
            epochs: run.epochs.len(),
            placed_ns: b.end_ns - a.start_ns,
            own_ns: log.own_duration_ns(),
            by_rule: matches!(placement, Placement::Equal { .. } | Placement::Times { .. }),
        }),
        _ => None,
    }
}
