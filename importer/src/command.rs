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

use super::args::{EpochFormat, EpochInput, ImportArgs, PowerFormat, PowerInput};
use super::batch::{self, Fit};
use super::build::{assemble, options_map, ImportedRun, Inputs, RunLabels};
use super::codecarbon_rows::{duplicates, labels_for, parse_labels, render_rows, SummaryLine};
use super::dedupe::{self, Known};
use super::epoch_log::{describe_runs, EpochLog, MetricNames};
use super::generic_epochs::Container;
use super::generic_power::CsvPowerOptions;
use super::placement::{parse_epoch_times, parse_window, Placement, TimeRow};
use super::time::parse_datetime;
use super::warnings::Warnings;
use super::write::write_runs;
use super::{
    carbontracker, codecarbon, decode, generic_epochs, generic_power, keras, lightning, nvidia_smi,
    pinpoint, zeus,
};
use super::{ImportError, PowerLog};
use anyhow::{anyhow, bail, Context, Result};
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

/// A digest of the inputs' hashes (and the line of a run taken from a file
/// that holds several), for default run ids.
fn digest(files: &[ImportedFile]) -> String {
    let mut h = Sha256::new();
    for f in files {
        h.update(f.sha256.as_deref().unwrap_or_default().as_bytes());
        if let Some(line) = f.line {
            h.update(format!(":{line}").as_bytes());
        }
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

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

/// An epoch log read once (a log that holds several runs serves several).
struct EpochFile {
    input: Input,
    format: EpochFormat,
    runs: Vec<EpochLog>,
}

impl EpochFile {
    fn tool(&self) -> &'static str {
        match self.format {
            EpochFormat::Keras => "keras-csvlogger",
            EpochFormat::Lightning => "lightning-csvlogger",
            EpochFormat::Csv => "epochs-csv",
            EpochFormat::Jsonl => "epochs-jsonl",
        }
    }
}

fn load_epochs(args: &ImportArgs, format: EpochFormat, path: &Path) -> Result<EpochFile> {
    let name = match format {
        EpochFormat::Keras => "keras",
        EpochFormat::Lightning => "lightning",
        EpochFormat::Csv => "csv",
        EpochFormat::Jsonl => "jsonl",
    };
    let input = read_input(path, "epochs", name)?;
    let names = metric_names(args);
    let zone = args.timezone.as_ref();
    let (p, text) = (&input.path, &input.text);
    let runs = match format {
        EpochFormat::Keras => keras::parse(p, text, &names)?,
        EpochFormat::Lightning => lightning::parse(p, text, &names)?,
        EpochFormat::Csv => {
            generic_epochs::parse(p, text, Container::Csv, &names, args.time_unit, zone)?
        }
        EpochFormat::Jsonl => {
            generic_epochs::parse(p, text, Container::Jsonl, &names, args.time_unit, zone)?
        }
    };
    Ok(EpochFile {
        input,
        format,
        runs,
    })
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

/// One run to import.
struct Planned {
    /// The power files, for messages.
    label: String,
    power: Vec<PowerInput>,
    /// (index into the epoch files, run of that file).
    epochs: Option<(usize, usize)>,
    epoch_times: Option<PathBuf>,
    /// What `{i}` stood for.
    key: Option<String>,
    /// Refused before anything was read.
    refused: Option<String>,
}

/// Every run of the command, how the epoch logs were paired, and inputs
/// that found no partner.
struct Plan {
    runs: Vec<Planned>,
    files: Vec<EpochFile>,
    rule: Option<String>,
    unpaired: Vec<(String, String)>,
    batch: bool,
}

fn label_of(power: &[PowerInput]) -> String {
    power
        .iter()
        .map(|p| p.path.display().to_string())
        .collect::<Vec<_>>()
        .join(" + ")
}

/// One run from the listed files.
fn plan_single(args: &ImportArgs, power: Vec<PowerInput>) -> Result<Plan> {
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
fn plan_batch(args: &ImportArgs, power: Vec<PowerInput>) -> Result<Plan> {
    if let Some(p) = power.iter().find(|p| !batch::is_pattern(&p.path)) {
        bail!(
            "{}: with {{i}} patterns every power file needs one (each run's files are found by \
             the text {{i}} stands for)",
            p.path.display()
        );
    }
    let mut matches = Vec::with_capacity(power.len());
    let mut keys: Vec<String> = Vec::new();
    for p in &power {
        let found = batch::expand(&p.path).map_err(anyhow::Error::msg)?;
        for (k, _) in &found {
            if !keys.contains(k) {
                keys.push(k.clone());
            }
        }
        matches.push(found);
    }
    batch::sort_keys(&mut keys);
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
    let mut runs: Vec<Planned> = keys
        .iter()
        .map(|key| {
            let mut refused = None;
            let mut files = Vec::with_capacity(power.len());
            for (p, found) in power.iter().zip(&matches) {
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
                key: Some(key.clone()),
                refused,
            }
        })
        .collect();
    let mut files = Vec::new();
    let mut rule = None;
    let mut unpaired = Vec::new();
    match args.epoch_input() {
        None => {}
        Some(EpochInput { format, path }) if batch::is_pattern(&path) => {
            let found = batch::expand(&path).map_err(anyhow::Error::msg)?;
            for (k, p) in &found {
                if !keys.contains(k) {
                    unpaired.push((
                        p.display().to_string(),
                        format!("no power file for {{i}} = {k}"),
                    ));
                }
            }
            for r in &mut runs {
                let key = r.key.clone().unwrap_or_default();
                let Some((_, p)) = found.iter().find(|(k, _)| *k == key) else {
                    r.refused.get_or_insert(format!(
                        "no epoch log {} for {{i}} = {key}",
                        batch::fill(&path, &key).display()
                    ));
                    continue;
                };
                if r.refused.is_some() {
                    continue;
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
            rule = Some(format!(
                "power and epoch files paired by {{i}} ({} with {})",
                power
                    .iter()
                    .map(|p| p.path.display().to_string())
                    .collect::<Vec<_>>()
                    .join(" + "),
                path.display()
            ));
        }
        Some(EpochInput { format, path }) => {
            if args.log_run.is_some() {
                bail!(
                    "--log-run picks one run for one trace; with {{i}} patterns the runs of {} \
                     go to the traces in order (leave runs out with --skip-log-run N)",
                    path.display()
                );
            }
            let file = load_epochs(args, format, &path)?;
            let (kept, why) =
                batch::pair_log_runs(&path, &file.runs, runs.len(), &args.skip_log_run)
                    .map_err(anyhow::Error::msg)?;
            files.push(file);
            for (r, k) in runs.iter_mut().zip(kept) {
                r.epochs = Some((0, k));
            }
            rule = Some(why);
        }
    }
    Ok(Plan {
        runs,
        files,
        rule,
        unpaired,
        batch: true,
    })
}

/// `traces/run_7.txt with all_runs.csv run 8 (lines 86–97 (12 epochs))`.
fn origin(p: &Planned, files: &[EpochFile]) -> String {
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

/// A run built, with what the fit check needs.
struct Built {
    run: ImportedRun,
    fit: Option<Fit>,
}

/// Builds one planned run.
fn build(
    args: &ImportArgs,
    plan: &Planned,
    files: &[EpochFile],
    command: Vec<String>,
) -> Result<Built> {
    let zone = args.timezone.as_ref();
    let start_wall = args
        .start
        .as_deref()
        .map(|s| parse_datetime(s, zone))
        .transpose()
        .map_err(|m| anyhow!("--start: {m}"))?;
    let mut records = Vec::new();
    let mut tools = Vec::new();
    let mut power: Vec<(PathBuf, PowerLog)> = Vec::new();
    for p in &plan.power {
        let (input, log) = read_power(args, p)?;
        tools.push(p.format.name().to_string());
        records.push(input.record);
        power.push((p.path.clone(), log));
    }
    let mut epochs: Option<(&EpochLog, Placement)> = None;
    let mut extra_warnings = Vec::new();
    if let Some((f, k)) = plan.epochs {
        let file = &files[f];
        let log = &file.runs[k];
        tools.push(file.tool().to_string());
        let mut record = file.input.record.clone();
        if file.runs.len() > 1 {
            record.line = Some(log.first_line);
        }
        records.push(record);
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
            records.push(input.record);
            Placement::Times {
                path: t.clone(),
                rows,
            }
        } else if log.is_timed() {
            Placement::Log
        } else if let Some((path, windowed)) = power.iter().find(|(_, l)| !l.windows.is_empty()) {
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
        } else {
            Placement::Log
        };
        extra_warnings.extend(log.placeholder_warnings());
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
    if let (Some((log, _)), Some((f, k))) = (&epochs, plan.epochs) {
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
    let digest = digest(&records);
    let mut labels = run_labels(args);
    if let (Some(id), Some(key)) = (&labels.run_id, &plan.key) {
        labels.run_id = Some(id.replace(batch::PLACEHOLDER, key));
    }
    let mut run = assemble(Inputs {
        power,
        epochs: epochs.as_ref().map(|(l, p)| (*l, p)),
        start_wall,
        labels: &labels,
        imported: ImportInfo {
            tools,
            files: records,
            options,
        },
        digest: &digest,
        command,
    })?;
    run.manifest.warnings.extend(extra_warnings);
    let fit = match (&epochs, run.epochs.first(), run.epochs.last()) {
        (Some((log, placement)), Some(a), Some(b)) => Some(Fit {
            label: plan.label.clone(),
            log: format!("{} {}", log.path.display(), log.span()),
            epochs: run.epochs.len(),
            placed_ns: b.end_ns - a.start_ns,
            own_ns: log.own_duration_ns(),
            by_rule: matches!(placement, Placement::Equal { .. } | Placement::Times { .. }),
        }),
        _ => None,
    };
    Ok(Built { run, fit })
}

/// One progress bar on stderr (hidden when stderr is not a terminal).
fn progress(len: usize) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(len as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar
}

/// What became of one run.
enum Outcome {
    Imported,
    Refused(String),
}

/// Runs from power logs and epoch logs: one, or one per `{i}`.
fn logs_import(
    args: &ImportArgs,
    command: Vec<String>,
    out: &mut dyn Write,
    warnings: &mut Warnings,
) -> Result<()> {
    let power = args.power_inputs();
    let epochs = args.epoch_input();
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
    let is_batch = power.iter().any(|p| batch::is_pattern(&p.path));
    if !is_batch {
        let patterned = epochs
            .as_ref()
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
    }
    let plan = if is_batch {
        plan_batch(args, power)?
    } else {
        plan_single(args, power)?
    };
    let bar = plan.batch.then(|| progress(plan.runs.len()));
    // Build every run first: the fit check compares them.
    let mut built: Vec<Result<Built, String>> = Vec::with_capacity(plan.runs.len());
    for (k, p) in plan.runs.iter().enumerate() {
        if let Some(b) = &bar {
            b.set_message(format!(
                "reading {} ({}/{})",
                p.label,
                k + 1,
                plan.runs.len()
            ));
        }
        let result = match &p.refused {
            Some(why) => Err(why.clone()),
            None => match build(args, p, &plan.files, command.clone()) {
                Ok(b) => Ok(b),
                Err(e) if !plan.batch => return Err(e),
                Err(e) => Err(format!("{e:#}")),
            },
        };
        built.push(result);
    }
    // Fit: epoch logs against the windows they were placed on.
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
    // Write each run on its own, unless its content is already there.
    let mut known = args.run_id.is_none().then(|| Known::scan(&args.out));
    let mut outcomes: Vec<Outcome> = Vec::with_capacity(built.len());
    if let Some(b) = &bar {
        b.set_position(0);
    }
    for (k, (p, b)) in plan.runs.iter().zip(built).enumerate() {
        if let Some(bar) = &bar {
            bar.set_message(format!(
                "writing {} ({}/{})",
                p.label,
                k + 1,
                plan.runs.len()
            ));
        }
        let outcome = match b {
            Err(why) => Outcome::Refused(why),
            Ok(b) => {
                let run = b.run;
                let dir = run.partition.run_dir(&args.out, &run.manifest.run_id);
                let written = match known.as_ref().and_then(|kn| kn.holder(&run)) {
                    Some(holder) => Err(anyhow!(dedupe::refusal(holder))),
                    None if args.dry_run => {
                        if dir.exists() {
                            Err(ImportError::Exists { path: dir.clone() }.into())
                        } else {
                            Ok(dir.clone())
                        }
                    }
                    None => write_runs(&args.out, std::slice::from_ref(&run))
                        .map(|d| d.into_iter().next().unwrap_or_else(|| dir.clone()))
                        .map_err(anyhow::Error::from),
                };
                match written {
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
        if let Some(bar) = &bar {
            bar.inc(1);
        }
    }
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    if !plan.batch {
        return Ok(());
    }
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
        .zip(&outcomes)
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

/// CodeCarbon's runs: all written, or none.
fn codecarbon_import(
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
        warnings.extend(run.manifest.warnings.iter().cloned());
        print_summary(out, run, dir, args.dry_run, None)?;
    }
    Ok(())
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
