//! `manifest.json`: what a run is (workload, host, sources, sampler) and how
//! it ended. Written at the start of a run with status `running` and
//! rewritten atomically when anything it records changes, so a run killed
//! at any moment still has a manifest that says what it was.

use crate::schema::{SchemaVersion, SCHEMA_VERSION};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// How a run ended (or that it has not).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RunStatus {
    /// Still recording, or killed without a chance to say otherwise.
    Running,
    Complete,
    /// Stopped by SIGINT/SIGTERM; the files were finished cleanly.
    Interrupted,
    /// The workload or the recorder failed; see `Manifest::error`.
    Failed,
}

/// What part of the machine a source measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Domain {
    Gpu,
    CpuPackage,
    CpuCore,
    CpuUncore,
    Dram,
    /// RAPL `psys`: the whole platform. Never added to package or dram.
    Platform,
}

impl Domain {
    /// The `--components` family this domain belongs to: `gpu`, `cpu`,
    /// `dram`, or `platform`. Core and uncore are *parts* of the package and
    /// are recorded but never added to it.
    pub fn component(self) -> &'static str {
        match self {
            Domain::Gpu => "gpu",
            Domain::CpuPackage | Domain::CpuCore | Domain::CpuUncore => "cpu",
            Domain::Dram => "dram",
            Domain::Platform => "platform",
        }
    }

    /// Whether this domain is a top-level energy consumer that can be summed
    /// with other top-level domains without double counting.
    pub fn is_additive(self) -> bool {
        matches!(self, Domain::Gpu | Domain::CpuPackage | Domain::Dram)
    }
}

/// How a source's numbers come about (SPEC §2: every source is tagged).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    /// A cumulative hardware energy counter (`energy_uj` is filled).
    MeasuredCounter,
    /// A hardware power reading only (`power_w` is filled).
    MeasuredPower,
    /// An estimate from a model (utilisation × watts); not a measurement.
    Modelled,
}

impl Method {
    pub fn is_modelled(self) -> bool {
        self == Method::Modelled
    }
}

/// One power source as recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceInfo {
    /// Stable id used in the `source` column, e.g. `rapl:package-0`, `nvml:0`.
    pub id: String,
    pub domain: Domain,
    pub method: Method,
    /// Human description, e.g. the GPU name or the sysfs path.
    #[serde(default)]
    pub description: String,
    /// How often this source was read on the sampler's schedule, in Hz (at
    /// most the sampler's rate; boundary reads come on top). Since 1.1 each
    /// source has its own rate: the rate its meter updates at
    /// (`settings.update_hz`), capped by `--rate`, or a `--rate SOURCE=HZ`.
    pub poll_hz: f64,
    /// Source-specific settings (sysfs path, wrap range, watts per core…;
    /// since 1.1 `update_hz` and `update_hz_from`: how often the meter's
    /// value changes and how that is known).
    #[serde(default)]
    pub settings: BTreeMap<String, serde_json::Value>,
}

/// Facts about the machine, for platform comparison.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HostFacts {
    #[serde(default)]
    pub hostname: String,
    #[serde(default)]
    pub cpu_model: String,
    #[serde(default)]
    pub cpu_cores: u32,
    #[serde(default)]
    pub memory_bytes: u64,
    #[serde(default)]
    pub gpus: Vec<GpuFacts>,
    #[serde(default)]
    pub os: String,
    #[serde(default)]
    pub kernel: String,
    /// `vm:kvm`, `container:docker`, … when detectable; `None` = bare metal
    /// or unknown.
    #[serde(default)]
    pub virtualization: Option<String>,
}

impl HostFacts {
    /// A platform name from these facts, when no `--platform` was given:
    /// the first GPU's name, else the CPU model, shortened to something
    /// readable in a table ("Intel(R) Xeon(R) CPU E5-2680 v4 @ 2.40GHz" →
    /// `Intel-Xeon-E5-2680-v4-2.40GHz`). `None` when neither is known.
    /// The recorder and the importer both name platforms with it.
    pub fn platform_name(&self) -> Option<String> {
        let raw = self
            .gpus
            .first()
            .map(|g| g.name.clone())
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| self.cpu_model.clone());
        let cleaned: String = raw
            .replace("(R)", "")
            .replace("(TM)", "")
            .replace("CPU", "")
            .split_whitespace()
            .filter(|w| *w != "@")
            .collect::<Vec<_>>()
            .join("-");
        let name = crate::layout::sanitize(&cleaned);
        (name != "none").then_some(name)
    }
}

/// One GPU as the driver reports it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GpuFacts {
    pub name: String,
    #[serde(default)]
    pub driver_version: Option<String>,
    #[serde(default)]
    pub cuda_version: Option<String>,
}

/// The sampler's settings and health.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SamplerStats {
    pub rate_hz: f64,
    /// Ticks taken so far.
    #[serde(default)]
    pub ticks: u64,
    /// Ticks whose deadline had already passed when the previous one ended.
    #[serde(default)]
    pub missed_deadlines: u64,
    /// Counter reads where more than one hardware wrap may have occurred
    /// since the previous read (the energy between them is a lower bound).
    #[serde(default)]
    pub suspect_wraps: u64,
    /// Sample segments written under `samples/` while recording.
    #[serde(default)]
    pub segments: u64,
    /// The segments were rewritten into one file when the run finished.
    #[serde(default)]
    pub compacted: bool,
    /// CPU time (user + system) the sampling thread used, s: the recorder's
    /// own overhead, measured on every run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sampler_cpu_s: Option<f64>,
    /// CPU time (user + system) the segment-writing thread used, s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub writer_cpu_s: Option<f64>,
    /// (Since 1.1.) Every source was read at once at the start of epoch 1
    /// and at every epoch's end, and those rows carry `boundary = true` with
    /// `t_ns` equal to the boundary: a counter's energy per epoch is then a
    /// plain difference, no interpolation. Absent (false) in 1.0 runs and in
    /// runs that took no boundary reads (`sample`, imports).
    #[serde(default, skip_serializing_if = "is_false")]
    pub boundary_reads: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// What ran while power was sampled.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Workload {
    /// `train`, `wrap`, `sample` or `import`.
    pub kind: String,
    /// The command line (wrap) or the recorder's own arguments.
    #[serde(default)]
    pub command: Vec<String>,
    #[serde(default)]
    pub arch: Option<String>,
    #[serde(default)]
    pub width: Option<u32>,
    #[serde(default)]
    pub dataset: Option<String>,
    /// `holdout`, `kfold`, `ratio:0.7`, … plus its sizes in `extra`.
    #[serde(default)]
    pub protocol: Option<String>,
    #[serde(default)]
    pub fold: Option<u32>,
    #[serde(default)]
    pub folds: Option<u32>,
    #[serde(default)]
    pub seed: Option<u64>,
    /// Live stop criterion, if one was used while recording.
    #[serde(default)]
    pub stop: Option<String>,
    /// The child's exit code (wrap).
    #[serde(default)]
    pub exit_code: Option<i32>,
    /// Hyperparameters and anything else worth keeping.
    #[serde(default)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

/// The run manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub schema_version: SchemaVersion,
    pub run_id: String,
    /// RFC 3339 UTC wall-clock time of the monotonic origin (t_ns = 0).
    pub started_at_utc: String,
    #[serde(default)]
    pub ended_at_utc: Option<String>,
    pub status: RunStatus,
    /// Platform name used to keep hosts apart (`--platform` or derived).
    pub platform: String,
    pub host: HostFacts,
    pub sources: Vec<SourceInfo>,
    pub sampler: SamplerStats,
    pub workload: Workload,
    /// Epoch boundaries were not stamped live but placed by a rule (import).
    #[serde(default)]
    pub epochs_approximate: bool,
    /// Problems worth keeping with the data (malformed epoch lines, …).
    #[serde(default)]
    pub warnings: Vec<String>,
    /// Why the run failed, when it did.
    #[serde(default)]
    pub error: Option<String>,
    /// The recorder (or importer) that wrote this run, e.g. `recorder 0.1.0`.
    #[serde(default)]
    pub writer: String,
    /// Where an imported run came from (`analyzer import`); absent for runs
    /// the recorder wrote.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub imported: Option<ImportInfo>,
}

/// Provenance of a run made by `analyzer import` from other tools' logs.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ImportInfo {
    /// The tools whose logs were read, e.g. `nvidia-smi`, `keras-csvlogger`.
    pub tools: Vec<String>,
    /// Every input file, as given.
    pub files: Vec<ImportedFile>,
    /// The options that shaped the import (time zone, interval, epoch
    /// placement rule, column names, …).
    #[serde(default)]
    pub options: BTreeMap<String, serde_json::Value>,
}

/// One file read by an import.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ImportedFile {
    /// What the file gave: `power`, `epochs`, `epoch-times`, `summary`
    /// (CodeCarbon) or `labels`.
    pub role: String,
    /// The format it was read as, e.g. `nvidia-smi`, `pinpoint`, `keras`.
    pub format: String,
    pub path: String,
    pub bytes: u64,
    /// Hex SHA-256 of the file's bytes, so a reader can check the original.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// For a file holding several runs (CodeCarbon's `emissions.csv`), the
    /// 1-based line this run came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
}

/// Errors reading a manifest.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not a valid trainwatt manifest: {source} (fix or remove the run folder)")]
    Json {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error(
        "{path}: schema_version {found} is not readable by this build (it reads {expected_major}.x); \
         upgrade trainwatt to read it"
    )]
    UnknownMajor {
        path: PathBuf,
        found: SchemaVersion,
        expected_major: u32,
    },
}

impl Manifest {
    /// Whether any source is modelled rather than measured.
    pub fn uses_modelled(&self) -> bool {
        self.sources.iter().any(|s| s.method.is_modelled())
    }

    /// Reads and version-checks a manifest. The version is checked before
    /// the rest is parsed, so a v2 manifest gives the version error, not a
    /// confusing field error.
    pub fn read(path: &Path) -> Result<Self, ManifestError> {
        let text = std::fs::read_to_string(path).map_err(|source| ManifestError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_json(path, &text)
    }

    /// Parses manifest JSON; `path` is only used in errors.
    pub fn from_json(path: &Path, text: &str) -> Result<Self, ManifestError> {
        #[derive(Deserialize)]
        struct VersionOnly {
            schema_version: SchemaVersion,
        }
        let json_err = |source| ManifestError::Json {
            path: path.to_path_buf(),
            source,
        };
        let v: VersionOnly = serde_json::from_str(text).map_err(json_err)?;
        if !v.schema_version.is_readable() {
            return Err(ManifestError::UnknownMajor {
                path: path.to_path_buf(),
                found: v.schema_version,
                expected_major: SCHEMA_VERSION.major,
            });
        }
        serde_json::from_str(text).map_err(json_err)
    }

    /// Pretty JSON with a trailing newline.
    pub fn to_json(&self) -> String {
        // Serialising plain data structs cannot fail.
        let mut s = serde_json::to_string_pretty(self).unwrap_or_default();
        s.push('\n');
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Manifest {
        Manifest {
            schema_version: SCHEMA_VERSION,
            run_id: "r1".into(),
            started_at_utc: "2026-11-29T17:00:00Z".into(),
            ended_at_utc: None,
            status: RunStatus::Running,
            platform: "test".into(),
            host: HostFacts::default(),
            sources: vec![SourceInfo {
                id: "model:cpu".into(),
                domain: Domain::CpuPackage,
                method: Method::Modelled,
                description: String::new(),
                poll_hz: 10.0,
                settings: BTreeMap::new(),
            }],
            sampler: SamplerStats::default(),
            workload: Workload::default(),
            epochs_approximate: false,
            imported: None,
            warnings: vec![],
            error: None,
            writer: "test".into(),
        }
    }

    #[test]
    fn round_trip_and_unknown_fields_ignored() {
        let m = sample();
        let mut v: serde_json::Value = serde_json::from_str(&m.to_json()).unwrap();
        v["future_field"] = serde_json::json!(42);
        let back = Manifest::from_json(Path::new("m.json"), &v.to_string()).unwrap();
        assert_eq!(back, m);
        assert!(back.uses_modelled());
    }

    #[test]
    fn unknown_major_is_refused_with_the_path() {
        let mut v: serde_json::Value = serde_json::from_str(&sample().to_json()).unwrap();
        v["schema_version"] = "2.0".into();
        v["sources"] = serde_json::json!("changed shape in v2");
        let err = Manifest::from_json(Path::new("/a/run/manifest.json"), &v.to_string())
            .unwrap_err()
            .to_string();
        assert!(err.contains("/a/run/manifest.json"), "{err}");
        assert!(err.contains("2.0"), "{err}");
    }

    #[test]
    fn import_info_is_optional_and_round_trips() {
        let plain = sample().to_json();
        assert!(!plain.contains("imported"), "{plain}");
        let mut m = sample();
        m.workload.kind = "import".into();
        m.imported = Some(ImportInfo {
            tools: vec!["nvidia-smi".into()],
            files: vec![ImportedFile {
                role: "power".into(),
                format: "nvidia-smi".into(),
                path: "smi.csv".into(),
                bytes: 2176,
                sha256: Some("ab".repeat(32)),
                line: None,
            }],
            options: BTreeMap::from([("timezone".into(), "Europe/Madrid".into())]),
        });
        let back = Manifest::from_json(Path::new("m.json"), &m.to_json()).unwrap();
        assert_eq!(back, m);
    }

    #[test]
    fn boundary_reads_is_written_only_when_true() {
        let mut m = sample();
        assert!(!m.to_json().contains("boundary_reads"));
        m.sampler.boundary_reads = true;
        let json = m.to_json();
        assert!(json.contains("\"boundary_reads\": true"), "{json}");
        assert_eq!(Manifest::from_json(Path::new("m"), &json).unwrap(), m);
        // A 1.0 manifest has none.
        let mut v: serde_json::Value = serde_json::from_str(&sample().to_json()).unwrap();
        v["schema_version"] = "1.0".into();
        let old = Manifest::from_json(Path::new("m"), &v.to_string()).unwrap();
        assert!(!old.sampler.boundary_reads);
    }

    #[test]
    fn status_serialises_kebab() {
        assert_eq!(
            serde_json::to_string(&RunStatus::Interrupted).unwrap(),
            "\"interrupted\""
        );
        assert_eq!(
            serde_json::to_string(&Method::MeasuredCounter).unwrap(),
            "\"measured-counter\""
        );
    }
}
