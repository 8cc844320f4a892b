//! `recorder study STUDY.toml --out ARCHIVE`: run a grid of trainings.
//!
//! Resumable: each run's manifest carries the study name and the run's id
//! within the study (`workload.extra.study`, `.study_run`). Before starting,
//! the archive is scanned: runs with a `complete` manifest are skipped;
//! interrupted, failed or killed ones are redone in a *new* folder (the old
//! one stays, as recorded). The plan is printed before anything starts.

use super::common::{Format, RecordArgs, Signals};
use super::output;
use super::train::{record_training, RunPlan};
use crate::train::Study;
use anyhow::{Context, Result};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use trainwatt_trace::schema::MANIFEST_FILE;
use trainwatt_trace::{Manifest, RunStatus};

#[derive(Debug, Args)]
pub struct StudyArgs {
    /// The study file (see studies/paper-2024.toml for the schema).
    pub study: PathBuf,
    /// Folder under which each dataset's `dir` is found.
    #[arg(long, default_value = "data")]
    pub data_root: PathBuf,
    /// Print the plan and stop.
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub record: RecordArgs,
}

/// The latest status of each study run id already in the archive.
fn existing_runs(archive: &Path, study: &str) -> HashMap<String, RunStatus> {
    let mut found = HashMap::new();
    let mut stack = vec![archive.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let manifest = dir.join(MANIFEST_FILE);
        if manifest.is_file() {
            if let Ok(m) = Manifest::read(&manifest) {
                let same_study =
                    m.workload.extra.get("study").and_then(|v| v.as_str()) == Some(study);
                if let (true, Some(id)) = (
                    same_study,
                    m.workload.extra.get("study_run").and_then(|v| v.as_str()),
                ) {
                    let entry = found.entry(id.to_string()).or_insert(m.status);
                    if m.status == RunStatus::Complete {
                        *entry = RunStatus::Complete;
                    }
                }
            }
            continue;
        }
        for e in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push(e.path());
            }
        }
    }
    found
}

pub fn run(args: &StudyArgs) -> Result<ExitCode> {
    let signals = Signals::install()?;
    let study = Study::load(&args.study)?;
    let specs = study.expand(&args.data_root)?;
    let existing = existing_runs(&args.record.out, &study.name);
    let (mut skip, mut redo, mut new) = (0, 0, 0);
    let mut todo = Vec::new();
    for spec in &specs {
        match existing.get(&spec.id) {
            Some(RunStatus::Complete) => skip += 1,
            Some(_) => {
                redo += 1;
                todo.push(spec);
            }
            None => {
                new += 1;
                todo.push(spec);
            }
        }
    }
    eprintln!(
        "study {}: {} runs of {} epochs; {skip} complete (skipped), {redo} to redo (interrupted or failed; \
         old folders kept), {new} new -> {}",
        study.name,
        specs.len(),
        study.epochs,
        args.record.out.display()
    );
    if args.dry_run {
        match args.record.format {
            Format::Table => todo.iter().for_each(|s| println!("{}", s.id)),
            Format::Json => println!(
                "{}",
                serde_json::json!({
                    "study": study.name,
                    "runs": specs.len(),
                    "skipped": skip,
                    "redo": redo,
                    "new": new,
                    "todo": todo.iter().map(|s| &s.id).collect::<Vec<_>>(),
                })
            ),
        }
        return Ok(ExitCode::SUCCESS);
    }
    let bar = ProgressBar::new(todo.len() as u64);
    bar.set_style(
        ProgressStyle::with_template(
            "{bar:30} {pos}/{len} runs  elapsed {elapsed}  ETA {eta}  {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    for spec in todo {
        bar.set_message(spec.id.clone());
        let mut extra = BTreeMap::new();
        extra.insert("study".into(), study.name.clone().into());
        extra.insert("study_run".into(), spec.id.clone().into());
        let plan = RunPlan {
            record: &args.record,
            stop: None,
            idle_before: None,
            extra,
            quiet: true,
        };
        let done = record_training(&spec.config, &plan, &signals)
            .with_context(|| format!("study run {}", spec.id))?;
        let last = done
            .manifest
            .workload
            .extra
            .get("epochs_completed")
            .cloned()
            .unwrap_or_default();
        let line = format!(
            "{}: {:?}, {last} epochs -> {}",
            spec.id,
            done.manifest.status,
            done.dir.display()
        );
        // indicatif drops println when stderr is not a terminal (CI, logs).
        if bar.is_hidden() {
            eprintln!("{line}");
        } else {
            bar.println(line);
        };
        bar.inc(1);
        // One JSON object per finished run and line (JSON Lines), as it ends.
        if args.record.format == Format::Json {
            output::print_run(Format::Json, &done)?;
        }
        if done.manifest.status != RunStatus::Complete {
            bar.abandon_with_message("interrupted; run the same command again to resume");
            return Ok(ExitCode::from(130));
        }
    }
    bar.finish_with_message("done");
    Ok(ExitCode::SUCCESS)
}
