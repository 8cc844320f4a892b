//! The `analyzer import` command: the wiring from files on disk through
//! the parsers and the assembly to the archive, and a summary on stdout (one
//! block per run: where it went, each source's samples, span and energy,
//! the epochs and how they were placed).

use super::args::{EpochFormat, ImportArgs, PowerFormat};
use super::build::{assemble, options_map, ImportedRun, Inputs, RunLabels};
use super::codecarbon_rows::{duplicates, labels_for, parse_labels, render_rows, SummaryLine};
use super::epoch_log::{EpochLog, MetricNames};
use super::generic_epochs::Container;
use super::generic_power::CsvPowerOptions;
use super::placement::{parse_epoch_times, parse_window, Placement};
use super::time::parse_datetime;
use super::write::write_runs;
use super::{
    codecarbon, decode, generic_epochs, generic_power, keras, lightning, nvidia_smi, pinpoint,
};
use super::{ImportError, PowerLog};
use anyhow::{bail, Context, Result};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};
use trainwatt_trace::{ImportInfo, ImportedFile};

/// The `--rows-out` file's path and text, written once the runs are in
/// place.
type RowsFile = (PathBuf, String);

/// An input file's bytes and provenance.
struct Input {
    path: PathBuf,
    text: String,
    record: ImportedFile,
}

fn read_input(path: &Path, role: &str, format: &str) -> Result<Input, ImportError> {
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

/// A digest of the inputs' hashes, for default run ids.
fn digest(files: &[ImportedFile]) -> String {
    let mut h = Sha256::new();
    for f in files {
        h.update(f.sha256.as_deref().unwrap_or_default().as_bytes());
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Runs `analyzer import`.
pub fn run(args: &ImportArgs, out: &mut dyn Write, err: &mut dyn Write) -> Result<()> {
    let command: Vec<String> = std::env::args().collect();
    let (runs, rows_file) = match (&args.codecarbon, args.power.is_empty()) {
        (Some(file), _) => codecarbon_runs(args, file, command, err)?,
        (None, false) => (vec![log_run(args, command)?], None),
        (None, true) => bail!("nothing to import: give --power FORMAT:FILE or --codecarbon FILE"),
    };
    let dirs: Vec<PathBuf> = if args.dry_run {
        let dirs: Vec<PathBuf> = runs
            .iter()
            .map(|r| r.partition.run_dir(&args.out, &r.manifest.run_id))
            .collect();
        if let Some(d) = dirs.iter().find(|d| d.exists()) {
            return Err(ImportError::Exists { path: d.clone() }.into());
        }
        dirs
    } else {
        // The rows file is staged first and renamed only once the runs are
        // in place, so a failed import leaves neither behind.
        let staged = rows_file
            .as_ref()
            .map(|(path, text)| stage_file(path, text))
            .transpose()?;
        let written = write_runs(&args.out, &runs).context("nothing was imported");
        if let (Some(tmp), Some((path, _))) = (&staged, &rows_file) {
            let placed = match &written {
                Ok(_) => std::fs::rename(tmp, path).with_context(|| {
                    format!("writing {} (the runs were imported)", path.display())
                }),
                Err(_) => Ok(()),
            };
            let _ = std::fs::remove_file(tmp);
            placed?;
        }
        written?
    };
    for (run, dir) in runs.iter().zip(&dirs) {
        print_summary(out, run, dir, args.dry_run)?;
    }
    Ok(())
}

fn print_summary(out: &mut dyn Write, run: &ImportedRun, dir: &Path, dry: bool) -> Result<()> {
    let verb = if dry { "would import" } else { "imported" };
    writeln!(out, "{verb} {}", dir.display())?;
    for (s, info) in run.summary.iter().zip(&run.manifest.sources) {
        let how = if info.method == trainwatt_trace::Method::MeasuredPower {
            "trapezoid"
        } else {
            "counter"
        };
        writeln!(
            out,
            "  {}: {} samples, {:.3} .. {:.3} s, {:.1} J ({how}{})",
            s.id,
            s.samples,
            s.first_ns as f64 * 1e-9,
            s.last_ns as f64 * 1e-9,
            s.energy_j,
            if info.method.is_modelled() {
                ", modelled"
            } else {
                ""
            }
        )?;
    }
    match (run.epochs.first(), run.epochs.last()) {
        (Some(a), Some(b)) => writeln!(
            out,
            "  epochs: {} from {:.3} to {:.3} s{}",
            run.epochs.len(),
            a.start_ns as f64 * 1e-9,
            b.end_ns as f64 * 1e-9,
            if run.manifest.epochs_approximate {
                " (placed by a rule: approximate)"
            } else {
                ""
            }
        )?,
        _ => writeln!(out, "  epochs: none")?,
    }
    Ok(())
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

fn run_labels(args: &ImportArgs) -> RunLabels {
    RunLabels {
        platform: args.platform.clone(),
        dataset: args.dataset.clone(),
        arch: args.arch.clone(),
        width: args.width,
        run_id: args.run_id.clone(),
    }
}

/// One run from power logs and an optional epoch log.
fn log_run(args: &ImportArgs, command: Vec<String>) -> Result<ImportedRun> {
    let zone = args.timezone.as_ref();
    let start_wall = args
        .start
        .as_deref()
        .map(|s| parse_datetime(s, zone))
        .transpose()
        .map_err(|m| anyhow::anyhow!("--start: {m}"))?;
    let mut files = Vec::new();
    let mut tools = Vec::new();
    let mut power: Vec<(PathBuf, PowerLog)> = Vec::new();
    for p in &args.power {
        let name = match p.format {
            PowerFormat::NvidiaSmi => "nvidia-smi",
            PowerFormat::Pinpoint => "pinpoint",
            PowerFormat::Csv => "csv",
        };
        let input = read_input(&p.path, "power", name)?;
        let shown = p.path.display();
        let log = match p.format {
            PowerFormat::NvidiaSmi => {
                let zone = zone.with_context(|| {
                    format!(
                        "{shown}: nvidia-smi writes local times without a zone: give --timezone"
                    )
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
                    power_col: args.power_col.clone(),
                    time_unit: args.time_unit,
                    power_unit: args.power_unit,
                    domain,
                    source_id: args.source_id.clone(),
                };
                generic_power::parse(&input.path, &input.text, &opts, zone)?
            }
        };
        tools.push(name.to_string());
        files.push(input.record);
        power.push((p.path.clone(), log));
    }
    let names = metric_names(args);
    let mut epochs: Option<(EpochLog, Placement)> = None;
    if let Some(e) = &args.epochs {
        let (format, tool) = match e.format {
            EpochFormat::Keras => ("keras", "keras-csvlogger"),
            EpochFormat::Lightning => ("lightning", "lightning-csvlogger"),
            EpochFormat::Csv => ("csv", "epochs-csv"),
            EpochFormat::Jsonl => ("jsonl", "epochs-jsonl"),
        };
        let input = read_input(&e.path, "epochs", format)?;
        let (path, text) = (&input.path, &input.text);
        let log = match e.format {
            EpochFormat::Keras => keras::parse(path, text, &names)?,
            EpochFormat::Lightning => lightning::parse(path, text, &names)?,
            EpochFormat::Csv => {
                generic_epochs::parse(path, text, Container::Csv, &names, args.time_unit, zone)?
            }
            EpochFormat::Jsonl => {
                generic_epochs::parse(path, text, Container::Jsonl, &names, args.time_unit, zone)?
            }
        };
        tools.push(tool.to_string());
        files.push(input.record);
        let placement = if let Some(w) = &args.equal_epochs {
            let (start, end) =
                parse_window(w, zone).map_err(|m| anyhow::anyhow!("--equal-epochs: {m}"))?;
            Placement::Equal {
                start,
                end,
                text: w.clone(),
            }
        } else if let Some(t) = &args.epoch_times {
            let input = read_input(t, "epoch-times", "csv")?;
            let rows = parse_epoch_times(&input.path, &input.text, args.time_unit, zone)?;
            files.push(input.record);
            Placement::Times {
                path: t.clone(),
                rows,
            }
        } else {
            Placement::Log
        };
        epochs = Some((log, placement));
    }
    let mut options = options_map(vec![
        ("timezone", zone.map(|z| Value::from(z.to_string()))),
        ("start", args.start.clone().map(Value::from)),
        ("interval_ns", args.interval.map(Value::from)),
        (
            "epoch_placement",
            epochs.as_ref().map(|(_, p)| p.describe().into()),
        ),
    ]);
    if args.power.iter().any(|p| p.format == PowerFormat::Csv) {
        options.extend(options_map(vec![
            ("power_unit", Some(args.power_unit.name().into())),
            (
                "domain",
                args.domain.and_then(|d| serde_json::to_value(d).ok()),
            ),
        ]));
    }
    if args.power.iter().any(|p| p.format == PowerFormat::Csv)
        || args
            .epochs
            .as_ref()
            .is_some_and(|e| matches!(e.format, EpochFormat::Csv | EpochFormat::Jsonl))
        || args.epoch_times.is_some()
    {
        options.insert("time_unit".into(), args.time_unit.name().into());
    }
    if let Some((log, _)) = &epochs {
        for (metric, col) in &log.columns {
            options.insert(format!("{metric}_column"), col.clone().into());
        }
        if args.acc_percent {
            options.insert("acc_percent".into(), true.into());
        }
    }
    let digest = digest(&files);
    let labels = run_labels(args);
    let run = assemble(Inputs {
        power,
        epochs: epochs.as_ref().map(|(l, p)| (l, p)),
        start_wall,
        labels: &labels,
        imported: ImportInfo {
            tools,
            files,
            options,
        },
        digest: &digest,
        command,
    })?;
    Ok(run)
}

/// One run per row of a CodeCarbon file, and the optional rows file.
fn codecarbon_runs(
    args: &ImportArgs,
    file: &Path,
    command: Vec<String>,
    err: &mut dyn Write,
) -> Result<(Vec<ImportedRun>, Option<RowsFile>)> {
    let zone = args.timezone.as_ref().with_context(|| {
        format!(
            "{}: CodeCarbon writes local times without a zone: give --timezone",
            file.display()
        )
    })?;
    if let Some(a) = args.acc {
        if !(0.0..=1.0).contains(&a) {
            bail!("--acc {a} is not a fraction in [0, 1]");
        }
    }
    let input = read_input(file, "summary", "codecarbon")?;
    let (rows, notes) = codecarbon::parse(&input.path, &input.text, zone)?;
    let labels_input = args
        .labels
        .as_deref()
        .map(|p| read_input(p, "labels", "csv"))
        .transpose()?;
    let labels = labels_input
        .as_ref()
        .map(|i| parse_labels(&i.path, &i.text))
        .transpose()?
        .unwrap_or_default();
    labels.check_known(&rows, file)?;
    let measured: Vec<String> = if args.codecarbon_measured.is_empty() {
        vec!["gpu".into()]
    } else {
        args.codecarbon_measured.clone()
    };
    let defaults = run_labels(args);
    let criterion = args.criterion.clone().unwrap_or_else(|| "as-run".into());
    let mut runs = Vec::with_capacity(rows.len());
    let mut lines = Vec::with_capacity(rows.len());
    for row in &rows {
        let label = labels.get(&row.run_id);
        let run_labels = labels_for(&defaults, label);
        let mut files = vec![ImportedFile {
            line: Some(row.line),
            ..input.record.clone()
        }];
        if let (Some(i), Some(l)) = (&labels_input, label) {
            files.push(ImportedFile {
                line: Some(l.line),
                ..i.record.clone()
            });
        }
        let imported = ImportInfo {
            tools: vec!["codecarbon".into()],
            files,
            options: options_map(vec![
                ("timezone", Some(zone.to_string().into())),
                ("codecarbon_measured", Some(measured.clone().into())),
            ]),
        };
        let run = codecarbon::to_run(
            row,
            &run_labels,
            &measured,
            imported,
            command.clone(),
            &notes,
        )
        .with_context(|| file.display().to_string())?;
        let m = &run.manifest;
        lines.push(SummaryLine {
            platform: m.platform.clone(),
            dataset: m.workload.dataset.clone().unwrap_or_else(|| "none".into()),
            criterion: label
                .and_then(|l| l.criterion.clone())
                .unwrap_or_else(|| criterion.clone()),
            arch: m.workload.arch.clone().unwrap_or_else(|| "none".into()),
            width: m.workload.width.unwrap_or(0),
            epochs: label.and_then(|l| l.epochs.clone()),
            acc: label.and_then(|l| l.acc).or(args.acc),
            energy_kwh: row.energy_kwh.iter().flatten().sum(),
            duration_s: row.duration_s,
            run_id: row.run_id.clone(),
            source_file: file.display().to_string(),
            line: row.line,
        });
        runs.push(run);
    }
    if let Some(path) = &args.rows_out {
        let dups = duplicates(&lines);
        if let Some((a, b)) = dups.first() {
            writeln!(
                err,
                "note: {} row(s) of {} repeat another's platform, dataset, criterion, arch and \
                 width (e.g. runs {a} and {b}); `analyzer tables` needs one row per model: tell \
                 them apart with --labels",
                dups.len(),
                path.display()
            )?;
        }
        let missing = lines
            .iter()
            .filter(|l| l.epochs.is_none() || l.acc.is_none())
            .count();
        if missing > 0 {
            writeln!(
                err,
                "note: {missing} row(s) of {} lack epochs or acc (CodeCarbon has neither): fill them \
                 in, or give --labels, before `analyzer tables --rows`",
                path.display()
            )?;
        }
    }
    let rows_file = args
        .rows_out
        .as_ref()
        .map(|path| (path.clone(), render_rows(&lines)));
    Ok((runs, rows_file))
}

/// Writes `text` beside `path` under a temporary name, returned.
fn stage_file(path: &Path, text: &str) -> Result<PathBuf> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.tmp"));
    std::fs::write(&tmp, text).with_context(|| format!("writing {}", tmp.display()))?;
    Ok(tmp)
}
