//! Command-line interface of `analyzer`: flags (clap derive), loading, and
//! printing. The numbers come from [`crate::cmd`]; this module only wires
//! them to stdout (tables) and stderr (progress, status, errors).
//!
//! `main` prints an error chain once, on one line, and exits 1; a closed
//! pipe (`analyzer … | head`) is not an error, so it exits 0 quietly.

mod args;

pub use args::*;

use crate::archive::{self, Loaded};
use crate::cmd::efficiency::{self, EfficiencyOptions};
use crate::cmd::overtraining;
use crate::cmd::platforms::{self, PlatformsOptions};
use crate::cmd::tables::{self, TablesOptions};
use crate::cmd::{epochs, rows_csv};
use crate::export::{Format, Report};
use crate::figures::{ImageFormat, Rendered};
use crate::report::{write_report, ReportOptions};
use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use std::io::{self, Write};
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// Training efficiency (accuracy per unit of energy) from recorded traces,
/// under stopping criteria replayed after the fact.
#[derive(Debug, Parser)]
#[command(name = "analyzer", version, about, max_term_width = 100)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Per-criterion model tables, Eq. 3 with spread, the criteria summary
    /// and Eq. 4 with ratios (the paper's Tables 3–12).
    Efficiency(EfficiencyArgs),
    /// Epoch a against epoch b per model: train/test accuracy, their gap,
    /// the verdict and the onset epoch (Table 13), and Eq. 3 at epoch b
    /// beside Eq. 4 with the conclusions that flip (Table 14).
    Overtraining(OvertrainingArgs),
    /// Eq. 4 per architecture on each platform, ratios within each, and
    /// each platform against a reference (Table A2); never pooled.
    Platforms(PlatformsArgs),
    /// Every table (Markdown, CSV, LaTeX) and figure (SVG, PNG) plus one
    /// self-contained index.html, into --out.
    Report(ReportArgs),
    /// Eq. 2 at every epoch of every run (the data of the paper's Figures 5
    /// and 6).
    Epochs(EpochsArgs),
    /// Samples → energy per run, epoch and source, as a small Parquet table
    /// that every analysis reads in place of the archive (--shard I/N for
    /// one job of many).
    Reduce(ReduceArgs),
    /// Eq. 3, Eq. 4 and ratios from per-model summary rows, when only
    /// published tables exist.
    Tables(TablesArgs),
    /// Turn other tools' logs (nvidia-smi, pinpoint, CodeCarbon, Keras,
    /// Lightning, generic CSV/JSONL) into runs of our format.
    Import(Box<importer::ImportArgs>),
}

/// Loads archives with a spinner on stderr (hidden when stderr is not a
/// terminal) and a one-line status afterwards.
fn load(args: &ArchiveArgs, err: &mut dyn Write) -> Result<Loaded> {
    let spinner = indicatif::ProgressBar::new_spinner();
    spinner.set_message("reading archives…");
    spinner.enable_steady_tick(Duration::from_millis(120));
    let started = Instant::now();
    let loaded = archive::load(&args.archives, &args.load_options());
    spinner.finish_and_clear();
    let loaded = loaded.context("cannot load the archives")?;
    writeln!(
        err,
        "analyzer: {} run{} loaded, {} excluded, in {:.1} s",
        loaded.runs.len(),
        if loaded.runs.len() == 1 { "" } else { "s" },
        loaded.excluded.len(),
        started.elapsed().as_secs_f64()
    )?;
    if loaded.runs.is_empty() {
        for x in &loaded.excluded {
            writeln!(err, "excluded: {}: {}", x.dir.display(), x.reason)?;
        }
        let paths: Vec<String> = args
            .archives
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        bail!("no usable runs found in {}", paths.join(", "));
    }
    Ok(loaded)
}

/// Applies `--only`, renders, and writes to `out`.
fn emit(
    report: Report,
    output: &OutputArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<()> {
    let report = match &output.only {
        Some(id) => {
            let ids: Vec<String> = report.table_ids().iter().map(|s| s.to_string()).collect();
            if !ids.contains(id) {
                bail!(
                    "no table '{id}' in this report (tables: {})",
                    ids.join(", ")
                );
            }
            report.only(id)
        }
        None => report,
    };
    let exporter = output.format.exporter();
    // Warnings (exclusions, per-run warnings) go to stderr in every format,
    // collapsed; stdout carries the report, which keeps them only in JSON
    // (its `notes` field, collapsed the same way).
    let (warnings, notes): (Vec<String>, Vec<String>) =
        report.notes.iter().cloned().partition(|n| is_warning(n));
    let warnings = collapse_warnings(&warnings);
    for w in &warnings {
        writeln!(err, "{w}")?;
    }
    if output.format == Format::Csv {
        for n in &notes {
            writeln!(err, "note: {n}")?;
        }
    }
    let mut report = report;
    report.notes = notes;
    if output.format == Format::Json {
        report.notes.extend(warnings);
    }
    let text = exporter.render_report(&report)?;
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(())
}

/// Whether a report note is a warning (an excluded run, a run's warning,
/// a replay warning) rather than a description of the numbers.
fn is_warning(note: &str) -> bool {
    note.starts_with("warning") || note.starts_with("EXCLUDED")
}

/// `KIND: RUN_DIR: MESSAGE` -> (KIND, RUN_DIR, MESSAGE) where RUN_DIR is a
/// folder.
fn split_run_dir(note: &str) -> Option<(&str, &str, &str)> {
    let (head, rest) = note.split_once(": ")?;
    let (dir, msg) = rest.split_once(": ")?;
    std::path::Path::new(dir)
        .is_dir()
        .then_some((head, dir, msg))
}

/// Identical warnings, up to the run folder they name, as one line with a
/// count: `warning: epoch boundaries were placed by a rule … (×40 runs; the
/// first: DIR)`; first-seen order.
fn collapse_warnings(notes: &[String]) -> Vec<String> {
    // (key, the first note, the first run folder, count)
    let mut groups: Vec<(String, String, String, usize)> = Vec::new();
    for n in notes {
        let (key, dir) = match split_run_dir(n) {
            Some((head, dir, msg)) => (format!("{head}: {}", msg.replace(dir, "…")), dir),
            None => (n.clone(), ""),
        };
        match groups.iter_mut().find(|g| g.0 == key) {
            Some(g) => g.3 += 1,
            None => groups.push((key, n.clone(), dir.to_string(), 1)),
        }
    }
    groups
        .into_iter()
        .map(|(key, first, dir, count)| match (count, dir.is_empty()) {
            (1, _) => first,
            (_, true) => format!("{key} (×{count})"),
            (_, false) => format!("{key} (×{count} runs; the first: {dir})"),
        })
        .collect()
}

/// Runs a parsed command line.
pub fn run(cli: Cli, out: &mut dyn Write, err: &mut dyn Write) -> Result<()> {
    match cli.command {
        Command::Efficiency(a) => {
            let criteria = a.criteria.specs(err)?;
            let loaded = load(&a.archive, err)?;
            let opts = EfficiencyOptions {
                criteria,
                baseline: a.archive.baseline_on(),
                boot: a.bootstrap.options(),
            };
            emit(efficiency::report(&loaded, &opts), &a.output, out, err)
        }
        Command::Overtraining(a) => {
            let opts = a
                .knobs
                .options(a.criteria.specs(err)?, a.bootstrap.options())?;
            let loaded = load(&a.archive, err)?;
            emit(overtraining::report(&loaded, &opts), &a.output, out, err)
        }
        Command::Report(a) => report(&a, err),
        Command::Platforms(a) => {
            let opts = PlatformsOptions {
                criteria: a.criteria.specs(err)?,
                reference: a.reference.clone(),
                boot: a.bootstrap.options(),
            };
            let loaded = load(&a.archive, err)?;
            let report = platforms::report(&loaded, &opts).map_err(anyhow::Error::msg)?;
            emit(report, &a.output, out, err)
        }
        Command::Epochs(a) => {
            let loaded = load(&a.archive, err)?;
            emit(
                epochs::report(&loaded, a.archive.baseline_on()),
                &a.output,
                out,
                err,
            )
        }
        Command::Tables(a) => {
            let file = rows_csv::read(&a.rows).context("cannot use the rows file")?;
            let opts = TablesOptions {
                eff: a.eff,
                energy_unit: a.energy_unit,
                platform: a.platform,
                boot: a.bootstrap.options(),
            };
            emit(tables::report(&file, &opts)?, &a.output, out, err)
        }
        Command::Import(a) => importer::run(&a, out, err),
        Command::Reduce(a) => crate::cmd::reduce::run(&a, out, err),
    }
}

/// `analyzer report`: loads, then writes the folder with a progress bar.
fn report(a: &ReportArgs, err: &mut dyn Write) -> Result<()> {
    let criteria = a.criteria.specs(err)?;
    let boot = a.bootstrap.options();
    let opts = ReportOptions {
        efficiency: EfficiencyOptions {
            criteria: criteria.clone(),
            baseline: a.archive.baseline_on(),
            boot,
        },
        overtraining: a.overtraining.options(criteria.clone(), boot)?,
        platforms: PlatformsOptions {
            criteria,
            reference: a.reference.clone(),
            boot,
        },
        log_y: a.log_y,
        trace_run: a.trace_run.clone(),
        formats: ImageFormat::ALL.to_vec(),
        provenance: vec![format!(
            "archives: {}",
            a.archive
                .archives
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )],
    };
    let loaded = load(&a.archive, err)?;
    let bar = indicatif::ProgressBar::new(1);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let started = Instant::now();
    let written = write_report(&loaded, &opts, &a.out, &mut |msg, done, total| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
        bar.set_message(msg.to_string());
    });
    bar.finish_and_clear();
    let written =
        written.with_context(|| format!("cannot write the report {}", a.out.display()))?;
    let skipped: Vec<String> = written
        .figures
        .iter()
        .filter_map(|f| match &f.outcome {
            Rendered::Skipped { reason } => Some(format!("{}: {reason}", f.stem)),
            Rendered::Written { .. } => None,
        })
        .collect();
    writeln!(
        err,
        "analyzer: report written to {} ({} files, {} figures, {} skipped) in {:.1} s; open {}",
        written.dir.display(),
        written.files.len(),
        written.figures.len() - skipped.len(),
        skipped.len(),
        started.elapsed().as_secs_f64(),
        written.dir.join("index.html").display()
    )?;
    for s in skipped {
        writeln!(err, "analyzer: figure skipped: {s}")?;
    }
    Ok(())
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    trainwatt_trace::cli_error::is_broken_pipe(e.as_ref())
}

/// Standard output that names itself in its errors (`--format csv >
/// /dev/full` says "writing to standard output: No space left on device"),
/// keeping the error's kind so a closed pipe is still recognised.
struct Stdout<W>(W);

impl<W: Write> Write for Stdout<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf).map_err(named_stdout)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.0.flush().map_err(named_stdout)
    }
}

fn named_stdout(e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("writing to standard output: {e}"))
}

/// The binary's entry point.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let mut out = Stdout(io::stdout().lock());
    // stderr stays unlocked: the spinner writes to it from its own thread.
    let mut err = io::stderr();
    let result = run(cli, &mut out, &mut err).and_then(|()| out.flush().map_err(Into::into));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            // One line: the whole chain, outermost first.
            let _ = writeln!(
                err,
                "error: {}",
                trainwatt_trace::cli_error::error_line(e.as_ref())
            );
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::EnergyMode;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn parses_criteria_and_lists() {
        let cli = Cli::try_parse_from([
            "analyzer",
            "efficiency",
            "a",
            "b",
            "--criterion",
            "epochs:100|accuracy:0.99",
            "--components",
            "gpu,dram",
            "--energy",
            "sample-sum",
            "--format",
            "latex",
        ])
        .unwrap();
        let Command::Efficiency(a) = cli.command else {
            panic!()
        };
        assert_eq!(a.archive.archives.len(), 2);
        assert_eq!(a.archive.components, ["gpu", "dram"]);
        assert_eq!(a.archive.energy, Some(EnergyMode::SampleSum));
        assert_eq!(
            a.criteria.criteria[0].to_string(),
            "epochs:100|accuracy:0.99@train"
        );
        let bad = Cli::try_parse_from(["analyzer", "efficiency", "a", "--criterion", "epochs:x"])
            .unwrap_err();
        assert!(
            bad.to_string().contains("invalid criterion at character"),
            "{bad}"
        );
        assert!(
            Cli::try_parse_from(["analyzer", "efficiency", "a", "--components", "gpu,disk"])
                .is_err()
        );
    }

    #[test]
    fn warnings_collapse_up_to_the_run_folder() {
        let tmp = tempfile::tempdir().unwrap();
        let (a, b) = (tmp.path().join("run=a"), tmp.path().join("run=b"));
        std::fs::create_dir_all(&a).unwrap();
        std::fs::create_dir_all(&b).unwrap();
        let rule = "epoch boundaries were placed by a rule";
        let notes = [
            format!("warning: {}: {rule}", a.display()),
            format!("warning: {}: {rule}", b.display()),
            format!("EXCLUDED: {0}: {0}/epochs.parquet: missing", b.display()),
            "warning (gross): x".to_string(),
            "warning (gross): x".to_string(),
        ];
        assert!(notes.iter().all(|n| is_warning(n)));
        assert!(!is_warning("energy mode: integral (2 runs)"));
        assert_eq!(
            collapse_warnings(&notes),
            [
                format!("warning: {rule} (×2 runs; the first: {})", a.display()),
                notes[2].clone(),
                "warning (gross): x (×2)".to_string(),
            ]
        );
    }

    #[test]
    fn broken_pipe_is_detected_through_context() {
        let e = anyhow::Error::from(io::Error::from(io::ErrorKind::BrokenPipe)).context("writing");
        assert!(is_broken_pipe(&e));
        assert!(!is_broken_pipe(&anyhow::anyhow!("other")));
    }
}
