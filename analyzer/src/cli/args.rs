//! The flags of each subcommand (clap derive) and their conversion into
//! the options the library's commands take. Shared groups (archive,
//! output, criteria, bootstrap, overtraining settings) are flattened into
//! the subcommands that use them.

use crate::archive::LoadOptions;
use crate::cmd::overtraining::OvertrainingOptions;
use crate::cmd::tables::EffSource;
use crate::export::Format;
use crate::metrics::efficiency::BootstrapOptions;
use crate::metrics::overtraining::Thresholds;
use crate::model::EnergyMode;
use crate::replay::CriterionSpec;
use anyhow::{bail, Result};
use clap::Args;
use std::io::Write;
use std::path::PathBuf;
use trainwatt_trace::{Criterion, EnergyUnit};

/// Which runs to read and how to get their energy.
#[derive(Debug, Args)]
pub struct ArchiveArgs {
    /// Archive folders or single run folders (searched recursively).
    #[arg(required = true, value_name = "ARCHIVE")]
    pub archives: Vec<PathBuf>,
    /// How E(i) is obtained [default: counter where every selected source
    /// has one, else integral]. sample-sum reproduces the paper's unit.
    #[arg(long, value_enum)]
    pub energy: Option<EnergyMode>,
    /// Components to include, comma-separated [default: all].
    #[arg(long, value_delimiter = ',', value_parser = ["gpu", "cpu", "dram"])]
    pub components: Vec<String>,
    /// Subtract the idle baseline and report net energy beside gross: the
    /// mean power of each run's own pre-training window (samples before
    /// epoch 1), unless --baseline-from gives an idle run.
    #[arg(long)]
    pub baseline: bool,
    /// Take the idle power from this `recorder sample` run (same platform
    /// and source ids as the runs); implies --baseline.
    #[arg(long, value_name = "RUN")]
    pub baseline_from: Option<PathBuf>,
    /// Report gaps between samples of one source longer than this, in s.
    #[arg(
        long,
        default_value_t = 1.0,
        value_name = "SECONDS",
        allow_negative_numbers = true
    )]
    pub gap_tolerance: f64,
    /// Runs folded at once [default: one per core]. Changes no number.
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
}

impl ArchiveArgs {
    /// Net energy is wanted (`--baseline` or `--baseline-from`).
    pub(super) fn baseline_on(&self) -> bool {
        self.baseline || self.baseline_from.is_some()
    }

    pub fn load_options(&self) -> LoadOptions {
        LoadOptions {
            energy: self.energy,
            components: self.components.clone(),
            baseline: self.baseline_on(),
            baseline_from: self.baseline_from.clone(),
            gap_tolerance_s: self.gap_tolerance,
            threads: self.threads,
        }
    }
}

/// Output format and table selection.
#[derive(Debug, Args)]
pub struct OutputArgs {
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Print only the tables with this id (models, eq3, criteria, overall,
    /// ratios, platforms, epochs); with --format csv this gives one clean
    /// CSV table.
    #[arg(long, value_name = "ID")]
    pub only: Option<String>,
}

/// Bootstrap settings (used only where seeds repeat).
#[derive(Debug, Args)]
pub struct BootstrapArgs {
    /// Bootstrap resamples for Eq. 3 intervals.
    #[arg(long, default_value_t = BootstrapOptions::default().resamples)]
    pub bootstrap_resamples: usize,
    /// Seed of the bootstrap's generator (fixed, so reports are
    /// reproducible).
    #[arg(long, default_value_t = BootstrapOptions::default().seed)]
    pub bootstrap_seed: u64,
}

impl BootstrapArgs {
    pub(super) fn options(&self) -> BootstrapOptions {
        BootstrapOptions {
            resamples: self.bootstrap_resamples,
            seed: self.bootstrap_seed,
        }
    }
}

/// The stopping criteria to replay.
#[derive(Debug, Args)]
pub struct CriteriaArgs {
    /// A stopping criterion to replay (repeatable), e.g. `epochs:50`,
    /// `accuracy:0.99@train`, `early-stopping:3,restore-best`,
    /// `energy:100000ws`, `time:2h`, `epochs:100|accuracy:0.99`.
    #[arg(long = "criterion", value_name = "C", value_parser = parse_criterion)]
    pub criteria: Vec<Criterion>,
    /// The paper's four criteria (50 epochs, early stopping with patience 3,
    /// energy bound of 100 000 sample-sum units, train-accuracy target 0.99
    /// for MNIST and 0.50 otherwise). The default when no --criterion is
    /// given.
    #[arg(long)]
    pub paper_criteria: bool,
}

impl CriteriaArgs {
    /// The criteria asked for; the paper's four when none was given (said
    /// on `err`).
    pub(super) fn specs(&self, err: &mut dyn Write) -> Result<Vec<CriterionSpec>> {
        let mut criteria: Vec<CriterionSpec> = self
            .criteria
            .iter()
            .cloned()
            .map(CriterionSpec::fixed)
            .collect();
        if self.paper_criteria || criteria.is_empty() {
            if !self.paper_criteria {
                writeln!(
                    err,
                    "analyzer: no --criterion given; using the paper's four (--paper-criteria)"
                )?;
            }
            criteria.extend(CriterionSpec::paper_set());
        }
        Ok(criteria)
    }
}

#[derive(Debug, Args)]
pub struct EfficiencyArgs {
    #[command(flatten)]
    pub archive: ArchiveArgs,
    #[command(flatten)]
    pub criteria: CriteriaArgs,
    #[command(flatten)]
    pub bootstrap: BootstrapArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// The overtraining analysis's settings.
#[derive(Debug, Args)]
pub struct OvertrainingKnobs {
    /// The two epochs compared, a,b (a < b).
    #[arg(long, value_delimiter = ',', num_args = 1, default_values_t = [50u32, 100], value_name = "A,B")]
    pub at: Vec<u32>,
    /// Below this test-accuracy gain (A) a model is overtrained; also the
    /// gain the onset column looks for.
    #[arg(long, default_value_t = Thresholds::default().min_gain, value_name = "ACC")]
    pub min_gain: f64,
    /// Overtrained when the divergence B is at least this times the gain A.
    #[arg(long, default_value_t = Thresholds::default().ratio)]
    pub ratio: f64,
    /// Look-ahead of the onset column, in epochs.
    #[arg(long, default_value_t = 10, value_name = "EPOCHS")]
    pub window: u32,
}

#[derive(Debug, Args)]
pub struct OvertrainingArgs {
    #[command(flatten)]
    pub archive: ArchiveArgs,
    #[command(flatten)]
    pub knobs: OvertrainingKnobs,
    /// Criteria of the multi-criterion Eq. 4 shown beside Eq. 3 at epoch b.
    #[command(flatten)]
    pub criteria: CriteriaArgs,
    #[command(flatten)]
    pub bootstrap: BootstrapArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    #[command(flatten)]
    pub archive: ArchiveArgs,
    /// The folder to write (replaced if it holds an earlier report).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    #[command(flatten)]
    pub criteria: CriteriaArgs,
    #[command(flatten)]
    pub overtraining: OvertrainingKnobs,
    /// The platform the others are divided by [default: first by name].
    #[arg(long, value_name = "PLATFORM")]
    pub reference: Option<String>,
    /// Log-scale efficiency axis in the per-epoch figure.
    #[arg(long)]
    pub log_y: bool,
    /// The run whose power trace is drawn: its run id or part of its path
    /// [default: the first run].
    #[arg(long, value_name = "RUN")]
    pub trace_run: Option<String>,
    #[command(flatten)]
    pub bootstrap: BootstrapArgs,
}

#[derive(Debug, Args)]
pub struct PlatformsArgs {
    #[command(flatten)]
    pub archive: ArchiveArgs,
    /// The platform the others are divided by [default: first by name].
    #[arg(long, value_name = "PLATFORM")]
    pub reference: Option<String>,
    #[command(flatten)]
    pub criteria: CriteriaArgs,
    #[command(flatten)]
    pub bootstrap: BootstrapArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

impl OvertrainingKnobs {
    pub(super) fn options(
        &self,
        criteria: Vec<CriterionSpec>,
        boot: BootstrapOptions,
    ) -> Result<OvertrainingOptions> {
        let [a, b] = self.at[..] else {
            bail!("--at takes two epochs, a,b (got {} values)", self.at.len());
        };
        if a == 0 || a >= b {
            bail!("--at {a},{b}: need 1 ≤ a < b");
        }
        if !(self.min_gain.is_finite() && self.ratio.is_finite() && self.ratio >= 0.0) {
            bail!("--min-gain and --ratio must be finite numbers, --ratio ≥ 0");
        }
        Ok(OvertrainingOptions {
            at_a: a,
            at_b: b,
            thresholds: Thresholds {
                min_gain: self.min_gain,
                ratio: self.ratio,
            },
            window: self.window.max(1),
            criteria,
            boot,
        })
    }
}

#[derive(Debug, Args)]
pub struct ReduceArgs {
    #[command(flatten)]
    pub archive: ArchiveArgs,
    /// Where the reduced table goes: a `.parquet` file, or an existing
    /// folder (then `part-I-of-N.parquet` inside it, one per shard).
    #[arg(long, value_name = "FILE.parquet|DIR")]
    pub out: PathBuf,
    /// Reduce only shard I of N (1-based): a deterministic share of the runs
    /// by their path under the archive, so N jobs (a Slurm array, a
    /// Kubernetes indexed job) cover the archive once.
    #[arg(long, value_name = "I/N")]
    pub shard: Option<crate::reduced::Shard>,
    /// Reduce only the run folders listed in FILE (one a line; absolute, or
    /// relative to an ARCHIVE).
    #[arg(long, value_name = "FILE")]
    pub runs: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct EpochsArgs {
    #[command(flatten)]
    pub archive: ArchiveArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Args)]
pub struct TablesArgs {
    /// CSV of per-model rows: dataset, criterion, arch, width, epochs (or
    /// `>N` if not reached by epoch N), acc, energy[, eff], optional
    /// platform; other columns are ignored.
    #[arg(long, value_name = "FILE.csv")]
    pub rows: PathBuf,
    /// Where Eq. 2 comes from: the published efficiency column, or
    /// accuracy / energy.
    #[arg(long, value_enum, default_value_t = EffSource::Auto)]
    pub eff: EffSource,
    /// Unit of a plain `energy` column: J, kJ, Wh, kWh, or ws (the paper's
    /// sample-sum). Columns named energy_sum_w, energy_j, … say it
    /// themselves.
    #[arg(long, value_parser = parse_energy_unit, value_name = "UNIT")]
    pub energy_unit: Option<EnergyUnit>,
    /// Platform name for rows without a platform column.
    #[arg(long, default_value = "published")]
    pub platform: String,
    #[command(flatten)]
    pub bootstrap: BootstrapArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

fn parse_criterion(s: &str) -> Result<Criterion, String> {
    s.parse::<Criterion>().map_err(|e| e.to_string())
}

fn parse_energy_unit(s: &str) -> Result<EnergyUnit, String> {
    Ok(match s {
        "J" | "j" => EnergyUnit::J,
        "kJ" | "kj" => EnergyUnit::KJ,
        "Wh" | "wh" => EnergyUnit::Wh,
        "kWh" | "kwh" => EnergyUnit::KWh,
        "ws" | "sample-sum" => EnergyUnit::Ws,
        _ => {
            return Err(format!(
                "unknown energy unit '{s}' (expected J, kJ, Wh, kWh or ws)"
            ))
        }
    })
}
