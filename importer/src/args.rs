//! The flags of `analyzer import` (clap) and the parsers of their values
//! (`FORMAT:FILE`, durations, domains). What the command does with them is
//! in [`super::command`].

use super::generic_energy::{EnergyColumn, EnergyUnit};
use super::generic_power::PowerUnit;
use super::time::{parse_duration_ns, TimeUnit, Zone};
use clap::Args;
use serde_json::Value;
use std::path::PathBuf;
use trainwatt_trace::Domain;

/// A power log format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PowerFormat {
    NvidiaSmi,
    Pinpoint,
    Csv,
    Zeus,
    CarbonTracker,
}

impl PowerFormat {
    /// The name in `FORMAT:FILE` and in the manifest.
    pub fn name(self) -> &'static str {
        match self {
            PowerFormat::NvidiaSmi => "nvidia-smi",
            PowerFormat::Pinpoint => "pinpoint",
            PowerFormat::Csv => "csv",
            PowerFormat::Zeus => "zeus",
            PowerFormat::CarbonTracker => "carbontracker",
        }
    }
}

/// An epoch log format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EpochFormat {
    Keras,
    Lightning,
    Csv,
    Jsonl,
}

/// `FORMAT:FILE` of a power log.
#[derive(Debug, Clone, PartialEq)]
pub struct PowerInput {
    pub format: PowerFormat,
    pub path: PathBuf,
}

/// `FORMAT:FILE` of an epoch log.
#[derive(Debug, Clone, PartialEq)]
pub struct EpochInput {
    pub format: EpochFormat,
    pub path: PathBuf,
}

fn split_input(s: &str) -> Result<(&str, PathBuf), String> {
    let (f, p) = s
        .split_once(':')
        .filter(|(_, p)| !p.is_empty())
        .ok_or_else(|| format!("'{s}' is not FORMAT:FILE"))?;
    Ok((f, PathBuf::from(p)))
}

fn parse_power_input(s: &str) -> Result<PowerInput, String> {
    let (f, path) = split_input(s)?;
    let format = match f {
        "nvidia-smi" | "nvidia_smi" | "smi" => PowerFormat::NvidiaSmi,
        "pinpoint" => PowerFormat::Pinpoint,
        "csv" => PowerFormat::Csv,
        "zeus" => PowerFormat::Zeus,
        "carbontracker" => PowerFormat::CarbonTracker,
        _ => {
            return Err(format!(
                "unknown power log format '{f}' (nvidia-smi, pinpoint, csv, zeus or \
                 carbontracker)"
            ))
        }
    };
    Ok(PowerInput { format, path })
}

fn parse_epoch_input(s: &str) -> Result<EpochInput, String> {
    let (f, path) = split_input(s)?;
    let format = match f {
        "keras" => EpochFormat::Keras,
        "lightning" => EpochFormat::Lightning,
        "csv" => EpochFormat::Csv,
        "jsonl" | "json" => EpochFormat::Jsonl,
        _ => {
            return Err(format!(
                "unknown epoch log format '{f}' (keras, lightning, csv or jsonl)"
            ))
        }
    };
    Ok(EpochInput { format, path })
}

fn parse_run_number(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(format!("'{s}' is not a run number (1, 2, …)")),
    }
}

fn parse_zone(s: &str) -> Result<Zone, String> {
    s.parse()
}

fn parse_interval(s: &str) -> Result<i64, String> {
    match parse_duration_ns(s)? {
        ns if ns > 0 => Ok(ns),
        _ => Err(format!("'{s}' must be a positive duration")),
    }
}

fn parse_domain(s: &str) -> Result<Domain, String> {
    serde_json::from_value(Value::from(s)).map_err(|_| {
        format!("unknown domain '{s}' (gpu, cpu-package, cpu-core, cpu-uncore, dram, platform)")
    })
}

/// Turn other tools' logs into a run of our format.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  analyzer import --power nvidia-smi:smi.csv --timezone Europe/Madrid \\
      --epochs keras:training.log --equal-epochs start+2s..end-1s \\
      --platform A100 --dataset mnist --arch resnet18 --width 1 --out archive/
  analyzer import --power pinpoint:trace.txt --interval 100ms \\
      --epochs lightning:metrics.csv --equal-epochs 20s..end-20s --platform gtx970 --out archive/
  analyzer import --codecarbon emissions.csv --timezone UTC --labels labels.csv \\
      --rows-out rows.csv --out archive/

Several runs in one command: put {i} in the file names, e.g.
  analyzer import --power 'pinpoint:traces/run_{i}.txt' --interval 100ms \\
      --keras 'logs/log_{i}.csv' --equal-epochs 20s..end-20s --platform gtx970 --out archive/
pairs files by the text {i} stands for; with one epoch log that holds several runs
(--keras all_runs.csv) the i-th trace (by {i}, numerically) takes the log's i-th run.
Each run is imported whole or refused on its own; a summary ends the output.

Relative times (20s, numbers in epoch files) count from the run's zero: the first power
sample of a log with wall-clock times, or the start of a log without them (pinpoint's
first row is one --interval after it, so 20s is row 200 at 100ms); `start`/`end` are the
span every power source covers. Importing files that are already in the archive (same
SHA-256, whatever the labels) is refused unless --run-id is given.")]
pub struct ImportArgs {
    /// A power log as FORMAT:FILE (repeatable): `nvidia-smi:FILE` (CSV of
    /// --query-gpu=timestamp,[index,]power.draw), `pinpoint:FILE` (needs
    /// --interval), `csv:FILE` (generic; see --time-col and --domain),
    /// `zeus:FILE`, `carbontracker:FILE`. `{i}` in FILE: one run per match.
    #[arg(long = "power", value_name = "FORMAT:FILE", value_parser = parse_power_input)]
    pub power: Vec<PowerInput>,
    /// Zeus' ZeusMonitor log_file (start_time,window_name,elapsed_time,
    /// gpuN_energy): energy counters per GPU (same as --power zeus:FILE).
    #[arg(long, value_name = "FILE")]
    pub zeus: Vec<PathBuf>,
    /// Zeus: use only the windows of this name (Zeus windows may nest).
    #[arg(long, value_name = "NAME")]
    pub zeus_window: Option<String>,
    /// carbontracker's standard log (…_carbontracker.log): per-epoch energy
    /// per device (same as --power carbontracker:FILE; needs --timezone).
    #[arg(long, value_name = "FILE")]
    pub carbontracker: Vec<PathBuf>,
    /// The epoch log as FORMAT:FILE: `keras:FILE` (CSVLogger),
    /// `lightning:FILE` (CSVLogger metrics.csv), `csv:FILE` or `jsonl:FILE`
    /// (generic: epoch, accuracies, losses, optional start/end times).
    /// `{i}` in FILE pairs logs with power files by that text.
    #[arg(long, value_name = "FORMAT:FILE", value_parser = parse_epoch_input)]
    pub epochs: Option<EpochInput>,
    /// A Keras CSVLogger file (same as --epochs keras:FILE).
    #[arg(long, value_name = "FILE", conflicts_with = "epochs")]
    pub keras: Option<PathBuf>,
    /// The epoch log holds several runs: import run N (1-based; the error
    /// for such a log lists them).
    #[arg(long, value_name = "N", value_parser = parse_run_number, help_heading = "Epochs")]
    pub log_run: Option<usize>,
    /// The epoch log holds several runs: leave run N out before pairing its
    /// runs with the power files in order (repeatable; e.g. an aborted run).
    #[arg(long, value_name = "N", value_delimiter = ',', value_parser = parse_run_number, conflicts_with = "log_run", help_heading = "Epochs")]
    pub skip_log_run: Vec<usize>,
    /// CodeCarbon's emissions.csv: one run (without epochs) per run_id.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["power", "epochs", "keras", "zeus", "carbontracker"])]
    pub codecarbon: Option<PathBuf>,
    /// The archive folder to write into (created if missing).
    #[arg(long, value_name = "ARCHIVE")]
    pub out: PathBuf,

    /// Time zone of local timestamps (nvidia-smi, CodeCarbon, date-times
    /// without an offset): an IANA name (Europe/Madrid), UTC, or +02:00.
    #[arg(long, value_name = "TZ", value_parser = parse_zone)]
    pub timezone: Option<Zone>,
    /// When logs without timestamps (pinpoint, relative CSV) started, as a
    /// date-time; needed to combine them with timestamped logs.
    #[arg(long, value_name = "DATETIME")]
    pub start: Option<String>,
    /// pinpoint's sampling interval (its -i), e.g. 100ms.
    #[arg(long, value_name = "DURATION", value_parser = parse_interval)]
    pub interval: Option<i64>,

    /// Generic power CSV: the time column [default: t_s, time, timestamp, …].
    #[arg(long, value_name = "NAME", help_heading = "Generic CSV")]
    pub time_col: Option<String>,
    /// Generic power CSV: a power column, one source each (repeatable or
    /// comma-separated) [default: power_w, power, watts].
    #[arg(
        long,
        value_name = "NAME",
        value_delimiter = ',',
        help_heading = "Generic CSV"
    )]
    pub power_col: Vec<String>,
    /// Generic power CSV: an energy column, one counter source each
    /// (repeatable or comma-separated): `cumulative` (a running total) or
    /// `per-row` (energy since the previous row) [default: read off the data].
    #[arg(
        long,
        value_name = "NAME[:cumulative|:per-row]",
        value_delimiter = ',',
        help_heading = "Generic CSV"
    )]
    pub energy_col: Vec<EnergyColumn>,
    /// Generic power CSV: the unit of the energy columns.
    #[arg(long, value_enum, default_value_t, help_heading = "Generic CSV")]
    pub energy_unit: EnergyUnit,
    /// Numbers in time columns (generic CSV/JSONL, --epoch-times): relative
    /// s, ms, us, ns, or Unix time (unix, unix-ms).
    #[arg(long, value_enum, default_value_t, help_heading = "Generic CSV")]
    pub time_unit: TimeUnit,
    /// Generic power CSV: the unit of the power column.
    #[arg(long, value_enum, default_value_t, help_heading = "Generic CSV")]
    pub power_unit: PowerUnit,
    /// Generic power CSV: what it measures (gpu, cpu-package, cpu-core,
    /// cpu-uncore, dram, platform).
    #[arg(long, value_parser = parse_domain, help_heading = "Generic CSV")]
    pub domain: Option<Domain>,
    /// Generic power CSV: the source id [default: csv:<power column>].
    #[arg(long, value_name = "ID", help_heading = "Generic CSV")]
    pub source_id: Option<String>,

    /// Place the epochs by a CSV `epoch,start,end` (times as date-times or
    /// seconds from the run's zero). Marks them approximate. May hold {i}.
    #[arg(long, value_name = "FILE", help_heading = "Epochs")]
    pub epoch_times: Option<PathBuf>,
    /// Split the window START..END evenly among the log's epochs; each end
    /// is start[+D], end[-D], an offset from the run's zero like 20s, or a
    /// date-time. Marks them approximate.
    #[arg(
        long,
        value_name = "START..END",
        conflicts_with = "epoch_times",
        help_heading = "Epochs"
    )]
    pub equal_epochs: Option<String>,
    /// The training-accuracy column [default: per format, e.g. accuracy, acc, train_acc].
    #[arg(long, value_name = "NAME", help_heading = "Epochs")]
    pub train_acc_col: Option<String>,
    /// The hold-out accuracy column [default: per format, e.g. val_accuracy, val_acc, test_acc].
    #[arg(long, value_name = "NAME", help_heading = "Epochs")]
    pub test_acc_col: Option<String>,
    /// The training-loss column [default: loss, train_loss, …].
    #[arg(long, value_name = "NAME", help_heading = "Epochs")]
    pub train_loss_col: Option<String>,
    /// The hold-out loss column [default: val_loss, test_loss, …].
    #[arg(long, value_name = "NAME", help_heading = "Epochs")]
    pub test_loss_col: Option<String>,
    /// Accuracies in the epoch log are percentages (divided by 100).
    #[arg(long, help_heading = "Epochs")]
    pub acc_percent: bool,

    /// Platform name [default: derived from the GPU or CPU the logs name].
    #[arg(long, value_name = "NAME", help_heading = "Labels")]
    pub platform: Option<String>,
    /// Dataset the run trained on [default: none].
    #[arg(long, value_name = "NAME", help_heading = "Labels")]
    pub dataset: Option<String>,
    /// Architecture [default: none].
    #[arg(long, value_name = "NAME", help_heading = "Labels")]
    pub arch: Option<String>,
    /// Model width multiplier [default: 0].
    #[arg(long, value_name = "K", help_heading = "Labels")]
    pub width: Option<u32>,
    /// Run id [default: import-<start UTC>-<hash of the input files>]; with
    /// {i} patterns it must hold {i}.
    #[arg(
        long,
        value_name = "ID",
        conflicts_with = "codecarbon",
        help_heading = "Labels"
    )]
    pub run_id: Option<String>,

    /// CSV of per-run labels keyed by run_id: any of platform, dataset,
    /// arch, width, epochs, acc, criterion.
    #[arg(
        long,
        value_name = "FILE",
        requires = "codecarbon",
        help_heading = "CodeCarbon"
    )]
    pub labels: Option<PathBuf>,
    /// Also write one summary row per run for `analyzer tables --rows`
    /// (energy_kwh; epochs and acc from --labels/--acc or left empty).
    #[arg(
        long,
        value_name = "FILE.csv",
        requires = "codecarbon",
        help_heading = "CodeCarbon"
    )]
    pub rows_out: Option<PathBuf>,
    /// Accuracy for rows without one in --labels (a fraction).
    #[arg(
        long,
        value_name = "FRACTION",
        requires = "codecarbon",
        help_heading = "CodeCarbon"
    )]
    pub acc: Option<f64>,
    /// Criterion name for the rows file [default: as-run].
    #[arg(
        long,
        value_name = "NAME",
        requires = "codecarbon",
        help_heading = "CodeCarbon"
    )]
    pub criterion: Option<String>,
    /// Components CodeCarbon measured rather than estimated [default: gpu].
    #[arg(long, value_name = "COMPONENTS", value_delimiter = ',', value_parser = ["gpu", "cpu", "ram"], requires = "codecarbon", help_heading = "CodeCarbon")]
    pub codecarbon_measured: Vec<String>,

    /// Read and check everything and print the summary, but write nothing.
    #[arg(long)]
    pub dry_run: bool,
}

impl ImportArgs {
    /// Every power input: `--power` and the named `--zeus` /
    /// `--carbontracker` flags.
    pub fn power_inputs(&self) -> Vec<PowerInput> {
        let mut all = self.power.clone();
        all.extend(self.zeus.iter().map(|p| PowerInput {
            format: PowerFormat::Zeus,
            path: p.clone(),
        }));
        all.extend(self.carbontracker.iter().map(|p| PowerInput {
            format: PowerFormat::CarbonTracker,
            path: p.clone(),
        }));
        all
    }

    /// The epoch log: `--epochs` or `--keras`.
    pub fn epoch_input(&self) -> Option<EpochInput> {
        self.epochs.clone().or_else(|| {
            self.keras.as_ref().map(|p| EpochInput {
                format: EpochFormat::Keras,
                path: p.clone(),
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inputs_and_domains_parse() {
        assert_eq!(
            parse_power_input("nvidia-smi:/a/b:c.csv").unwrap(),
            PowerInput {
                format: PowerFormat::NvidiaSmi,
                path: "/a/b:c.csv".into()
            }
        );
        assert!(parse_power_input("rapl:x")
            .unwrap_err()
            .contains("unknown power log format"));
        assert!(parse_power_input("file.csv").is_err());
        assert_eq!(
            parse_epoch_input("jsonl:e.jsonl").unwrap().format,
            EpochFormat::Jsonl
        );
        assert_eq!(parse_domain("cpu-package").unwrap(), Domain::CpuPackage);
        assert!(parse_domain("disk").is_err());
        assert_eq!(parse_interval("100ms").unwrap(), 100_000_000);
        assert!(parse_interval("0s").is_err());
        assert_eq!(
            parse_power_input("zeus:z_{i}.csv").unwrap().format,
            PowerFormat::Zeus
        );
        assert_eq!(parse_run_number("2").unwrap(), 2);
        assert!(parse_run_number("0").is_err());
    }
}
