//! Importing CodeCarbon's emissions file: one run per row, all written or
//! none, with the optional `--rows-out` table of one line per run. Kept
//! apart from the log import because CodeCarbon has no power log and no
//! epochs: its runs come from one file's rows, labelled by `--labels`.

use super::input::{read_input, run_labels, Input};
use super::print_summary;
use crate::args::ImportArgs;
use crate::build::{options_map, ImportedRun};
use crate::codecarbon::{self, CodeCarbonRow};
use crate::codecarbon_rows::{
    duplicates, labels_for, parse_labels, render_rows, LabelRow, Labels, SummaryLine,
};
use crate::dedupe::{self, Known};
use crate::warnings::Warnings;
use crate::write::write_runs;
use crate::ImportError;
use anyhow::{bail, Context, Result};
use std::io::Write;
use std::path::{Path, PathBuf};
use trainwatt_trace::{ImportInfo, ImportedFile};

/// The `--rows-out` file's path and text, written once the runs are in
/// place.
type RowsFile = (PathBuf, String);

/// CodeCarbon's runs: all written, or none.
pub(super) fn codecarbon_import(
    args: &ImportArgs,
    file: &Path,
    command: Vec<String>,
    out: &mut dyn Write,
    err: &mut dyn Write,
    warnings: &mut Warnings,
) -> Result<()> {
    let (runs, rows_file) = codecarbon_runs(args, file, command, err)?;
    if args.run_id.is_none() {
        let known = Known::scan(&args.out);
        if let Some((run, holder)) = runs
            .iter()
            .find_map(|r| known.holder(r).map(|h| (r, h.to_path_buf())))
        {
            bail!(
                "nothing was imported: run {} of {}: {}",
                run.manifest.run_id,
                file.display(),
                dedupe::refusal(&holder)
            );
        }
    }
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
        write_with_rows(args, &runs, rows_file.as_ref())?
    };
    for (run, dir) in runs.iter().zip(&dirs) {
        warnings.extend(run.manifest.warnings.iter().cloned());
        print_summary(out, run, dir, args.dry_run, None)?;
    }
    Ok(())
}

/// Writes the runs, then the rows file. The rows file is staged first and
/// renamed only once the runs are in place, so a failed import leaves
/// neither behind.
fn write_with_rows(
    args: &ImportArgs,
    runs: &[ImportedRun],
    rows_file: Option<&RowsFile>,
) -> Result<Vec<PathBuf>> {
    let staged = rows_file
        .map(|(path, text)| stage_file(path, text))
        .transpose()?;
    let written = write_runs(&args.out, runs).context("nothing was imported");
    if let (Some(tmp), Some((path, _))) = (&staged, rows_file) {
        let placed = match &written {
            Ok(_) => std::fs::rename(tmp, path)
                .with_context(|| format!("writing {} (the runs were imported)", path.display())),
            Err(_) => Ok(()),
        };
        let _ = std::fs::remove_file(tmp);
        placed?;
    }
    written
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
    let (labels_input, labels) = read_labels(args)?;
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
        let imported = ImportInfo {
            tools: vec!["codecarbon".into()],
            files: row_files(row, &input, labels_input.as_ref(), label),
            options: options_map(vec![
                ("timezone", Some(zone.to_string().into())),
                ("codecarbon_measured", Some(measured.clone().into())),
            ]),
        };
        let row_labels = labels_for(&defaults, label);
        let run = codecarbon::to_run(
            row,
            &row_labels,
            &measured,
            imported,
            command.clone(),
            &notes,
        )
        .with_context(|| file.display().to_string())?;
        lines.push(summary_line(args, file, row, label, &criterion, &run));
        runs.push(run);
    }
    if let Some(path) = &args.rows_out {
        note_rows(&lines, path, err)?;
    }
    let rows_file = args
        .rows_out
        .as_ref()
        .map(|path| (path.clone(), render_rows(&lines)));
    Ok((runs, rows_file))
}

/// `--labels`: the file (for provenance) and its rows; none without it.
fn read_labels(args: &ImportArgs) -> Result<(Option<Input>, Labels)> {
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
    Ok((labels_input, labels))
}

/// A row's provenance: the emissions file at the row's line, and the labels
/// file at its label's line.
fn row_files(
    row: &CodeCarbonRow,
    input: &Input,
    labels_input: Option<&Input>,
    label: Option<&LabelRow>,
) -> Vec<ImportedFile> {
    let mut files = vec![ImportedFile {
        line: Some(row.line),
        ..input.record.clone()
    }];
    if let (Some(i), Some(l)) = (labels_input, label) {
        files.push(ImportedFile {
            line: Some(l.line),
            ..i.record.clone()
        });
    }
    files
}

/// A run's line of the `--rows-out` table.
fn summary_line(
    args: &ImportArgs,
    file: &Path,
    row: &CodeCarbonRow,
    label: Option<&LabelRow>,
    criterion: &str,
    run: &ImportedRun,
) -> SummaryLine {
    let m = &run.manifest;
    SummaryLine {
        platform: m.platform.clone(),
        dataset: m.workload.dataset.clone().unwrap_or_else(|| "none".into()),
        criterion: label
            .and_then(|l| l.criterion.clone())
            .unwrap_or_else(|| criterion.to_string()),
        arch: m.workload.arch.clone().unwrap_or_else(|| "none".into()),
        width: m.workload.width.unwrap_or(0),
        epochs: label.and_then(|l| l.epochs.clone()),
        acc: label.and_then(|l| l.acc).or(args.acc),
        energy_kwh: row.energy_kwh.iter().flatten().sum(),
        duration_s: row.duration_s,
        run_id: row.run_id.clone(),
        source_file: file.display().to_string(),
        line: row.line,
    }
}

/// Notes on stderr about the rows table: rows `analyzer tables` cannot tell
/// apart, and rows that lack epochs or accuracy.
fn note_rows(lines: &[SummaryLine], path: &Path, err: &mut dyn Write) -> Result<()> {
    let dups = duplicates(lines);
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
    Ok(())
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
