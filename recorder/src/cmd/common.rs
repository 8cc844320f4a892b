//! Options and steps shared by the recording commands: where to write, at
//! what rate, which sources, the manifest template, and signal handling.

use crate::rates::{parse_rate_list, RateList, RateSettings};
use crate::recording::{Recording, RecordingOptions};
use crate::sampler::Clock;
use crate::sources::{self, DiscoverOptions, PowerSource};
use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use trainwatt_trace::layout::Partition;
use trainwatt_trace::{HostFacts, Manifest, RunStatus, SamplerStats, Workload, SCHEMA_VERSION};

/// Output format of commands that print results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Json,
}

/// Which sources to use and how to model the unmeasurable ones.
#[derive(Debug, Clone, Args)]
pub struct SourceArgs {
    /// Watts per fully busy core for the modelled CPU source.
    #[arg(long, default_value_t = sources::modelled::DEFAULT_CPU_W_PER_CORE)]
    pub cpu_w_per_core: f64,
    /// Watts per GB of installed memory for the modelled DRAM source.
    #[arg(long, default_value_t = sources::modelled::DEFAULT_DRAM_W_PER_GB)]
    pub dram_w_per_gb: f64,
    /// Never add modelled sources (record only what is measured).
    #[arg(long)]
    pub no_modelled: bool,
    /// Test hook: use constant fake sources instead of the hardware
    /// (`gpu=200,cpu=50,dram=5`, watts).
    #[arg(long, hide = true)]
    pub fake_sources: Option<String>,
    /// Test hook: read RAPL from this powercap tree instead of /sys/class/powercap.
    #[arg(long, hide = true)]
    pub powercap_root: Option<PathBuf>,
    /// Test hook: read hwmon GPUs from this drm tree instead of /sys/class/drm.
    #[arg(long, hide = true)]
    pub drm_root: Option<PathBuf>,
    /// Test hook: skip NVML.
    #[arg(long, hide = true)]
    pub no_nvml: bool,
}

impl SourceArgs {
    /// The sources to record with, and what was not usable (for warnings).
    pub fn open(&self) -> Result<sources::Discovery> {
        if let Some(spec) = &self.fake_sources {
            let fakes = sources::fake::parse_fake_spec(spec)
                .map_err(|e| anyhow::anyhow!("--fake-sources '{spec}': {e}"))?;
            let v: Vec<Box<dyn PowerSource>> = fakes
                .into_iter()
                .map(|f| Box::new(f) as Box<dyn PowerSource>)
                .collect();
            return Ok(sources::Discovery {
                sources: v,
                unavailable: Vec::new(),
            });
        }
        let d = sources::discover(&self.discover_options());
        if d.sources.is_empty() {
            let why: Vec<String> = d
                .unavailable
                .iter()
                .map(|u| format!("{}: {}", u.name, u.reason))
                .collect();
            bail!(
                "no usable power source here ({}); run `recorder sources` for the fixes",
                why.join("; ")
            );
        }
        Ok(d)
    }

    pub fn discover_options(&self) -> DiscoverOptions {
        let d = DiscoverOptions::default();
        DiscoverOptions {
            powercap_root: self
                .powercap_root
                .clone()
                .unwrap_or(d.powercap_root.clone()),
            drm_root: self.drm_root.clone().unwrap_or(d.drm_root.clone()),
            use_nvml: !self.no_nvml,
            cpu_w_per_core: self.cpu_w_per_core,
            dram_w_per_gb: self.dram_w_per_gb,
            modelled: if self.no_modelled {
                sources::ModelledPolicy::Never
            } else {
                sources::ModelledPolicy::Auto
            },
            ..d
        }
    }
}

/// Where and how fast to record.
#[derive(Debug, Clone, Args)]
pub struct RecordArgs {
    /// Archive folder; the run goes in a new sub-folder (never overwritten).
    #[arg(long)]
    pub out: PathBuf,
    /// Sampling rates in Hz. `--rate HZ` caps every source's rate (default
    /// 1000); each source is read as often as its meter updates (RAPL 1 kHz,
    /// NVML the driver's period, modelled 10 Hz), at most that.
    /// `--rate SOURCE=HZ` sets one source's rate, by id (`nvml:0`) or kind
    /// (`rapl`); repeat the flag or give a comma list.
    #[arg(long, value_parser = parse_rate_list, value_name = "HZ|SOURCE=HZ")]
    pub rate: Vec<RateList>,
    /// Platform name used to keep hosts apart (default: derived from the GPU
    /// or CPU model).
    #[arg(long)]
    pub platform: Option<String>,
    /// How often a complete samples segment reaches disk (e.g. 1s, 500ms).
    #[arg(long, default_value = "1s", value_parser = parse_flush_interval, allow_hyphen_values = true)]
    pub flush_interval: Duration,
    /// Keep the per-second segments instead of rewriting them into one file
    /// when the run ends.
    #[arg(long)]
    pub keep_segments: bool,
    /// What to print on stdout when a run ends: `table` prints the run
    /// folder; `json` one object per run (folder, status, samples, bytes,
    /// missed deadlines, the recorder's own CPU time).
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    #[command(flatten)]
    pub sources: SourceArgs,
}

impl RecordArgs {
    /// The recording's settings; `boundary_reads` when the command stamps
    /// epochs with boundary reads.
    pub fn recording_options(&self, boundary_reads: bool) -> RecordingOptions {
        RecordingOptions {
            rates: RateSettings::from_lists(&self.rate),
            flush_interval: self.flush_interval,
            compact: !self.keep_segments,
            boundary_reads,
        }
    }
}

/// The longest `--duration` accepted: a year. Longer is a typo (and would
/// overflow the clock arithmetic); without `--duration`, `sample` runs until
/// Ctrl-C anyway.
pub const MAX_DURATION: Duration = Duration::from_secs(366 * 24 * 3600);

/// The longest `--flush-interval`: what a killed run may lose.
pub const MAX_FLUSH_INTERVAL: Duration = Duration::from_secs(3600);

/// `--flush-interval`: a duration of at most [`MAX_FLUSH_INTERVAL`].
pub fn parse_flush_interval(s: &str) -> Result<Duration, String> {
    let d = parse_duration(s)?;
    if d > MAX_FLUSH_INTERVAL {
        return Err(format!(
            "'{s}' is longer than an hour: a killed run would lose up to that much \
             of its samples; use at most 1h (the default is 1s)"
        ));
    }
    Ok(d)
}

/// Parses `30s`, `500ms`, `2m`, `1h`, or plain seconds, up to
/// [`MAX_DURATION`].
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    let split = t.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let v: f64 = num
        .parse()
        .map_err(|_| format!("'{s}' is not a duration like 30s, 500ms, 2m or 1h"))?;
    let scale = match unit {
        "" | "s" => 1.0,
        "ms" => 1e-3,
        "m" | "min" => 60.0,
        "h" => 3600.0,
        _ => return Err(format!("'{s}': unknown unit '{unit}' (use ms, s, m or h)")),
    };
    if !(v.is_finite() && v > 0.0) {
        return Err(format!(
            "'{s}' must be a positive duration like 30s, 500ms, 2m or 1h"
        ));
    }
    match Duration::try_from_secs_f64(v * scale) {
        Ok(d) if d <= MAX_DURATION => Ok(d),
        _ => Err(format!(
            "'{s}' is longer than 366 days, the most the recorder accepts \
             (without --duration, `sample` runs until Ctrl-C)"
        )),
    }
}

/// The platform name for a run on `host` without `--platform`.
pub fn derive_platform(host: &HostFacts) -> String {
    host.platform_name().unwrap_or_else(|| "unknown".into())
}

/// The manifest template for a new run (the recording fills in the rest).
pub fn manifest_template(
    platform: Option<&str>,
    workload: Workload,
    warnings: Vec<String>,
) -> Manifest {
    let host = crate::host::detect();
    Manifest {
        schema_version: SCHEMA_VERSION,
        run_id: String::new(),
        started_at_utc: String::new(),
        ended_at_utc: None,
        status: RunStatus::Running,
        platform: platform.map_or_else(|| derive_platform(&host), str::to_string),
        host,
        sources: Vec::new(),
        sampler: SamplerStats::default(),
        workload,
        epochs_approximate: false,
        imported: None,
        warnings,
        error: None,
        writer: format!("recorder {}", env!("CARGO_PKG_VERSION")),
    }
}

/// Opens the sources, fills in the manifest template and starts recording
/// a new run under `record.out` in the partition `dataset/arch/width`;
/// `boundary_reads` when the command stamps its epochs with them.
pub fn start_recording(
    record: &RecordArgs,
    workload: Workload,
    (dataset, arch, width): (&str, &str, u32),
    id_labels: &[String],
    boundary_reads: bool,
) -> Result<Recording> {
    let opts = record.recording_options(boundary_reads);
    let sources::Discovery {
        sources,
        unavailable,
    } = record.sources.open()?;
    let manifest = manifest_template(
        record.platform.as_deref(),
        workload,
        unavailable_warnings(&unavailable),
    );
    let partition = Partition {
        platform: manifest.platform.clone(),
        dataset: dataset.into(),
        arch: arch.into(),
        width,
    };
    let mut rec = Recording::start(
        &record.out,
        &partition,
        manifest,
        sources,
        &opts,
        Clock::start(),
        id_labels,
    )?;
    for w in &rec.manifest_mut().warnings {
        if w.starts_with("--rate") {
            eprintln!("recorder: warning: {w}");
        }
    }
    // Nothing is measured before every source has a first reading: the
    // analyzer never extrapolates a source back before its first sample, so
    // an epoch that started earlier could not be used.
    if !rec.wait_until_primed(PRIME_TIMEOUT) {
        let msg = format!(
            "not every power source delivered a reading within {} s of the start; \
             work that began before a source's first sample is not covered by it",
            PRIME_TIMEOUT.as_secs()
        );
        eprintln!("recorder: warning: {msg}");
        rec.manifest_mut().warnings.push(msg);
    }
    Ok(rec)
}

/// How long a recording waits for every source's first reading.
const PRIME_TIMEOUT: Duration = Duration::from_secs(3);

/// SIGINT/SIGTERM catcher: remembers the last signal number (0 = none).
#[derive(Debug, Clone)]
pub struct Signals(Arc<AtomicUsize>);

impl Signals {
    pub fn install() -> Result<Self> {
        let flag = Arc::new(AtomicUsize::new(0));
        for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
            signal_hook::flag::register_usize(sig, flag.clone(), sig as usize)
                .context("installing the SIGINT/SIGTERM handler")?;
        }
        Ok(Self(flag))
    }

    /// The last signal received, if any.
    pub fn received(&self) -> Option<i32> {
        match self.0.load(Ordering::Relaxed) {
            0 => None,
            s => Some(s as i32),
        }
    }

    /// Forget the signal (after it was forwarded).
    pub fn clear(&self) {
        self.0.store(0, Ordering::Relaxed);
    }
}

/// Warnings for the manifest about sources that could not be used.
pub fn unavailable_warnings(u: &[sources::Unavailable]) -> Vec<String> {
    u.iter()
        .map(|u| format!("source {} not used: {}", u.name, u.reason))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(parse_duration("30s").unwrap(), Duration::from_secs(30));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration("1.5").unwrap(), Duration::from_millis(1500));
        assert!(parse_duration("3 days").is_err());
        assert!(parse_duration("-1s").unwrap_err().contains("positive"));
        let huge = parse_duration("99999999999999999999h").unwrap_err();
        assert!(huge.contains("366 days"), "{huge}");
        assert!(parse_duration("8784h").is_ok());
        assert!(parse_flush_interval("2h")
            .unwrap_err()
            .contains("at most 1h"));
    }

    #[test]
    fn platform_from_cpu_model() {
        let host = HostFacts {
            cpu_model: "Intel(R) Xeon(R) CPU E5-2680 v4 @ 2.40GHz".into(),
            ..HostFacts::default()
        };
        assert_eq!(derive_platform(&host), "Intel-Xeon-E5-2680-v4-2.40GHz");
    }
}
