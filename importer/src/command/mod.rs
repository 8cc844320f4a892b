//! The `analyzer import` command: the wiring from files on disk through
//! the parsers and the assembly to the archive. Standard output carries the
//! summary (one block per run: where it went, each source's samples, span
//! and energy, the epochs and how they were placed; with `{i}` patterns
//! also the pairing rule and a last line of what was imported and refused);
//! warnings go to stderr, identical ones collapsed into one line with a
//! count.
//!
//! One run (no `{i}` pattern) is imported whole or not at all, and any
//! problem stops the command. With patterns each run is built and written
//! on its own: a refused run (unreadable file, epochs that do not fit, the
//! same files already in the archive) is listed with its reason and does
//! not stop the others; the command then exits with an error.
//!
//! The steps live in submodules: `input` reads each file once with its
//! provenance, `plan` decides the runs and their files, `build_run` builds
//! one run, `logs` imports from power and epoch logs, `codecarbon_import`
//! from CodeCarbon's emissions file.

mod build_run;
mod codecarbon_import;
mod input;
mod logs;
mod plan;

use crate::args::ImportArgs;
use crate::build::ImportedRun;
use crate::warnings::Warnings;
use anyhow::{bail, Result};
use codecarbon_import::codecarbon_import;
use logs::logs_import;
use serde_json::Value;
use std::io::Write;
use std::path::Path;

/// Runs `analyzer import`.
pub fn run(args: &ImportArgs, out: &mut dyn Write, err: &mut dyn Write) -> Result<()> {
    if args.out.exists() && !args.out.is_dir() {
        bail!(
            "--out {}: is a file; --out must be a folder (the archive to write into, created if \
             missing)",
            args.out.display()
        );
    }
    let command: Vec<String> = std::env::args().collect();
    let mut warnings = Warnings::default();
    let result = match &args.codecarbon {
        Some(file) => codecarbon_import(args, file, command, out, err, &mut warnings),
        None => logs_import(args, command, out, &mut warnings),
    };
    warnings.print(err)?;
    result
}

/// `imported DIR`, where the run came from (with `{i}` patterns), and the
/// run's sources and epochs.
fn print_summary(
    out: &mut dyn Write,
    run: &ImportedRun,
    dir: &Path,
    dry: bool,
    from: Option<&str>,
) -> Result<()> {
    let verb = if dry { "would import" } else { "imported" };
    writeln!(out, "{verb} {}", dir.display())?;
    if let Some(from) = from {
        writeln!(out, "  from: {from}")?;
    }
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
    let on_windows = run
        .manifest
        .imported
        .as_ref()
        .and_then(|i| i.options.get("epoch_placement"))
        .and_then(Value::as_str)
        .is_some_and(|p| p.starts_with("windows:"));
    match (run.epochs.first(), run.epochs.last()) {
        (Some(a), Some(b)) => writeln!(
            out,
            "  epochs: {} from {:.3} to {:.3} s{}",
            run.epochs.len(),
            a.start_ns as f64 * 1e-9,
            b.end_ns as f64 * 1e-9,
            match (on_windows, run.manifest.epochs_approximate) {
                (true, true) => " (on the power log's windows, stamped to the second: approximate)",
                (true, false) => " (on the power log's windows)",
                (false, true) => " (placed by a rule: approximate)",
                (false, false) => "",
            }
        )?,
        _ => writeln!(out, "  epochs: none")?,
    }
    Ok(())
}
