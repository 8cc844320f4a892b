//! Power sources: one file per kind of meter, all behind [`PowerSource`].
//!
//! Each source is read by the sampler thread on an absolute schedule, so a
//! `read` must be cheap and must never block on anything but the file or
//! library call it wraps. Each says how often its meter's value changes
//! ([`PowerSource::update_rate`]), which is how often it is read (see
//! `rates`). Discovery ([`discover`]) returns the sources that
//! work here and, for the ones that do not, why and how to fix it, which is
//! what `recorder sources` prints.
//!
//! | file | meter | method |
//! |---|---|---|
//! | [`rapl`] | CPU package / core / uncore / DRAM / psys via powercap sysfs | counter |
//! | [`nvml`] | NVIDIA GPUs via NVML | counter where supported, else power |
//! | [`hwmon`] | AMD GPUs via hwmon sysfs | power |
//! | [`modelled`] | `/proc/stat` utilisation × W/core, installed memory × W/GB | modelled |
//! | [`fake`] | constant power for deterministic tests of the binaries | counter |
//! | [`waveform`] | a known power waveform, for tests and the precision benchmark | counter |

pub mod fake;
pub mod hwmon;
pub mod modelled;
pub mod nvml;
pub mod rapl;
pub mod waveform;

pub use fake::{parse_fake_spec, FakeSource};
pub use hwmon::HwmonSource;
pub use modelled::{ModelledCpuSource, ModelledDramSource};
pub use nvml::NvmlSource;
pub use rapl::RaplSource;
pub use waveform::WaveformSource;

pub use crate::rates::UpdateRate;

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use trainwatt_trace::{Domain, Method, SourceInfo};

/// One reading of one source.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Reading {
    /// Power in W: instantaneous, or averaged since the previous reading for
    /// counter sources; `None` where not known (first counter read).
    pub power_w: Option<f32>,
    /// Cumulative energy in µJ since the source was opened, unwrapped.
    pub energy_uj: Option<i64>,
    /// More than one hardware wrap may have happened since the previous
    /// read (the elapsed time could hold more energy than the counter range).
    pub suspect_wrap: bool,
}

/// Errors a source can hit while reading.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("reading {path}: {source}")]
    Io {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: cannot parse '{text}' as an integer")]
    Parse {
        path: std::path::PathBuf,
        text: String,
    },
    #[error("{0}")]
    Other(String),
}

/// A meter the sampler can read.
pub trait PowerSource: Send {
    /// Id, domain, method, poll rate and settings, as stored in the manifest.
    fn info(&self) -> SourceInfo;
    /// Takes one reading now. `t_ns` is the sampler's monotonic time of the
    /// tick, for sources that derive power from counter differences.
    fn read(&mut self, t_ns: i64) -> Result<Reading, SourceError>;
    /// How often the meter's value changes, where known; the sampler reads
    /// the source that often (capped by `--rate`). `None`: unknown, read at
    /// the cap.
    fn update_rate(&self) -> Option<UpdateRate> {
        None
    }
}

/// A source that was looked for but cannot be used here.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Unavailable {
    /// What was looked for, e.g. `rapl`, `nvml`, `hwmon:card1`.
    pub name: String,
    /// Why it cannot be used (permission denied, no driver, …).
    pub reason: String,
    /// How to fix it, where there is a fix.
    pub fix: Option<String>,
}

impl Unavailable {
    pub fn new(name: impl Into<String>, reason: impl Into<String>, fix: Option<String>) -> Self {
        Unavailable {
            name: name.into(),
            reason: reason.into(),
            fix,
        }
    }
}

/// When to add the modelled CPU and DRAM sources.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ModelledPolicy {
    /// Per component: a modelled CPU source only when no measured CPU
    /// package works, a modelled DRAM source only when no measured DRAM
    /// works. A run never silently mixes a model and a meter for the same
    /// component.
    #[default]
    Auto,
    /// Always add both (e.g. to compare the model with RAPL on one run).
    Always,
    /// Never: record only what is measured.
    Never,
}

/// Where to look for meters and how to model what cannot be measured.
#[derive(Debug, Clone, PartialEq)]
pub struct DiscoverOptions {
    /// The powercap class folder (RAPL).
    pub powercap_root: PathBuf,
    /// The DRM class folder (hwmon GPUs).
    pub drm_root: PathBuf,
    /// `/proc/stat`, for the modelled CPU.
    pub proc_stat: PathBuf,
    /// `/proc/meminfo`, for the modelled DRAM.
    pub meminfo: PathBuf,
    /// Look for NVIDIA GPUs through NVML.
    pub use_nvml: bool,
    pub modelled: ModelledPolicy,
    /// Watts per logical CPU at 100 % utilisation (modelled CPU).
    pub cpu_w_per_core: f64,
    /// Watts per GiB of installed memory (modelled DRAM).
    pub dram_w_per_gb: f64,
    /// How often the modelled CPU re-reads `/proc/stat`, in Hz.
    pub modelled_poll_hz: f64,
}

impl Default for DiscoverOptions {
    fn default() -> Self {
        DiscoverOptions {
            powercap_root: PathBuf::from(rapl::DEFAULT_POWERCAP_ROOT),
            drm_root: PathBuf::from(hwmon::DEFAULT_DRM_ROOT),
            proc_stat: PathBuf::from("/proc/stat"),
            meminfo: PathBuf::from("/proc/meminfo"),
            use_nvml: true,
            modelled: ModelledPolicy::Auto,
            cpu_w_per_core: modelled::DEFAULT_CPU_W_PER_CORE,
            dram_w_per_gb: modelled::DEFAULT_DRAM_W_PER_GB,
            modelled_poll_hz: modelled::DEFAULT_POLL_HZ,
        }
    }
}

/// What [`discover`] found: the sources that work, and the ones that do not
/// with the reason and fix.
pub struct Discovery {
    pub sources: Vec<Box<dyn PowerSource>>,
    pub unavailable: Vec<Unavailable>,
}

impl std::fmt::Debug for Discovery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<String> = self.sources.iter().map(|s| s.info().id).collect();
        f.debug_struct("Discovery")
            .field("sources", &ids)
            .field("unavailable", &self.unavailable)
            .finish()
    }
}

impl Discovery {
    /// The manifest entries of the working sources, in order.
    pub fn infos(&self) -> Vec<SourceInfo> {
        self.sources.iter().map(|s| s.info()).collect()
    }
}

/// Looks for every kind of meter and opens the ones that work.
///
/// Order: NVIDIA GPUs, AMD GPUs, RAPL, then modelled CPU/DRAM as
/// `opts.modelled` says. Never fails: anything that cannot be used ends up
/// in [`Discovery::unavailable`].
pub fn discover(opts: &DiscoverOptions) -> Discovery {
    let mut sources: Vec<Box<dyn PowerSource>> = Vec::new();
    let mut unavailable = Vec::new();

    if opts.use_nvml {
        let (found, missing) = nvml::discover_nvml();
        sources.extend(
            found
                .into_iter()
                .map(|s| Box::new(s) as Box<dyn PowerSource>),
        );
        unavailable.extend(missing);
    }
    let (found, missing) = hwmon::discover_hwmon(&opts.drm_root);
    sources.extend(
        found
            .into_iter()
            .map(|s| Box::new(s) as Box<dyn PowerSource>),
    );
    unavailable.extend(missing);

    let (found, missing) = rapl::discover_rapl(&opts.powercap_root);
    sources.extend(
        found
            .into_iter()
            .map(|s| Box::new(s) as Box<dyn PowerSource>),
    );
    unavailable.extend(missing);

    let measured = |domain: Domain, sources: &[Box<dyn PowerSource>]| {
        sources.iter().any(|s| {
            let info = s.info();
            info.domain == domain && !info.method.is_modelled()
        })
    };
    let want_cpu = match opts.modelled {
        ModelledPolicy::Always => true,
        ModelledPolicy::Never => false,
        ModelledPolicy::Auto => !measured(Domain::CpuPackage, &sources),
    };
    let want_dram = match opts.modelled {
        ModelledPolicy::Always => true,
        ModelledPolicy::Never => false,
        ModelledPolicy::Auto => !measured(Domain::Dram, &sources),
    };
    if want_cpu {
        match ModelledCpuSource::open(&opts.proc_stat, opts.cpu_w_per_core, opts.modelled_poll_hz) {
            Ok(s) => sources.push(Box::new(s)),
            Err(u) => unavailable.push(u),
        }
    }
    if want_dram {
        match ModelledDramSource::open(&opts.meminfo, opts.dram_w_per_gb, opts.modelled_poll_hz) {
            Ok(s) => sources.push(Box::new(s)),
            Err(u) => unavailable.push(u),
        }
    }
    Discovery {
        sources,
        unavailable,
    }
}

/// A sysfs file holding one unsigned integer, kept open and re-read with
/// `pread` at offset 0 (sysfs regenerates the text on every read from the
/// start), so a read at 1 kHz costs one system call, not three.
#[derive(Debug)]
pub(crate) struct SysfsValue {
    path: PathBuf,
    file: File,
}

impl SysfsValue {
    pub(crate) fn open(path: &Path) -> std::io::Result<Self> {
        Ok(SysfsValue {
            path: path.to_path_buf(),
            file: File::open(path)?,
        })
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    pub(crate) fn read_u64(&self) -> Result<u64, SourceError> {
        let mut buf = [0u8; 32];
        let n = self
            .file
            .read_at(&mut buf, 0)
            .map_err(|source| SourceError::Io {
                path: self.path.clone(),
                source,
            })?;
        parse_u64(&self.path, &String::from_utf8_lossy(&buf[..n]))
    }
}

/// Parses a sysfs integer (surrounding whitespace allowed).
pub(crate) fn parse_u64(path: &Path, text: &str) -> Result<u64, SourceError> {
    text.trim().parse().map_err(|_| SourceError::Parse {
        path: path.to_path_buf(),
        text: text.trim().to_string(),
    })
}

/// Reads a whole small file and parses it as one integer.
pub(crate) fn read_u64_file(path: &Path) -> Result<u64, SourceError> {
    let text = std::fs::read_to_string(path).map_err(|source| SourceError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse_u64(path, &text)
}

/// The settings map entry for a path.
pub(crate) fn path_setting(path: &Path) -> serde_json::Value {
    serde_json::Value::String(path.display().to_string())
}

/// A source's manifest entry with the common fields filled.
pub(crate) fn source_info(
    id: &str,
    domain: Domain,
    method: Method,
    description: String,
    poll_hz: f64,
) -> SourceInfo {
    SourceInfo {
        id: id.to_string(),
        domain,
        method,
        description,
        poll_hz,
        settings: Default::default(),
    }
}

/// The `poll_hz` a source reports in its own [`SourceInfo`]: the rate it
/// is read at is decided by the recording (see `rates`), which fills it in.
pub const POLL_EVERY_TICK: f64 = 0.0;

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn write(path: &Path, text: &str) {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }

    fn fake_host(dir: &Path, with_rapl_dram: bool) -> DiscoverOptions {
        let pc = dir.join("powercap");
        write(&pc.join("intel-rapl:0/name"), "package-0\n");
        write(&pc.join("intel-rapl:0/energy_uj"), "1000\n");
        write(
            &pc.join("intel-rapl:0/max_energy_range_uj"),
            "262143328850\n",
        );
        if with_rapl_dram {
            write(&pc.join("intel-rapl:0:0/name"), "dram\n");
            write(&pc.join("intel-rapl:0:0/energy_uj"), "5\n");
            write(
                &pc.join("intel-rapl:0:0/max_energy_range_uj"),
                "65532610987\n",
            );
        }
        write(
            &dir.join("stat"),
            "cpu  10 0 10 80 0 0 0 0 0 0\ncpu0 5 0 5 40 0 0 0 0 0 0\ncpu1 5 0 5 40 0 0 0 0 0 0\n",
        );
        write(&dir.join("meminfo"), "MemTotal:       16777216 kB\n");
        DiscoverOptions {
            powercap_root: pc,
            drm_root: dir.join("drm"),
            proc_stat: dir.join("stat"),
            meminfo: dir.join("meminfo"),
            use_nvml: false,
            ..DiscoverOptions::default()
        }
    }

    fn ids(d: &Discovery) -> Vec<String> {
        d.infos().into_iter().map(|i| i.id).collect()
    }

    #[test]
    fn auto_models_only_the_unmeasured_components() {
        let dir = tempfile::tempdir().unwrap();
        let opts = fake_host(dir.path(), false);
        let d = discover(&opts);
        assert_eq!(ids(&d), ["rapl:package-0", "model:dram"]);
        assert_eq!(d.infos()[1].method, Method::Modelled);
        // No drm tree: hwmon says why.
        assert!(d.unavailable.iter().any(|u| u.name == "hwmon"), "{d:?}");

        let dir = tempfile::tempdir().unwrap();
        let opts = fake_host(dir.path(), true);
        assert_eq!(
            ids(&discover(&opts)),
            ["rapl:package-0", "rapl:package-0:dram"]
        );
    }

    #[test]
    fn always_and_never_policies() {
        let dir = tempfile::tempdir().unwrap();
        let mut opts = fake_host(dir.path(), true);
        opts.modelled = ModelledPolicy::Always;
        assert_eq!(
            ids(&discover(&opts)),
            [
                "rapl:package-0",
                "rapl:package-0:dram",
                "model:cpu",
                "model:dram"
            ]
        );
        opts.powercap_root = dir.path().join("nowhere");
        opts.modelled = ModelledPolicy::Never;
        let d = discover(&opts);
        assert!(d.sources.is_empty());
        assert!(d.unavailable.iter().any(|u| u.name == "rapl"), "{d:?}");
    }

    #[test]
    fn nothing_measurable_gives_modelled_cpu_and_dram() {
        let dir = tempfile::tempdir().unwrap();
        let mut opts = fake_host(dir.path(), false);
        opts.powercap_root = dir.path().join("nowhere");
        opts.cpu_w_per_core = 7.5;
        let mut d = discover(&opts);
        assert_eq!(ids(&d), ["model:cpu", "model:dram"]);
        // 16 GiB × 0.375 W/GiB.
        let dram = d.sources[1].read(0).unwrap();
        assert_eq!(dram.power_w, Some(6.0));
        assert_eq!(d.infos()[0].settings["w_per_core"], serde_json::json!(7.5));
    }

    #[test]
    fn sysfs_value_rereads_the_same_open_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("energy_uj");
        fs::write(&p, "12\n").unwrap();
        let v = SysfsValue::open(&p).unwrap();
        assert_eq!(v.read_u64().unwrap(), 12);
        fs::write(&p, "345\n").unwrap();
        assert_eq!(v.read_u64().unwrap(), 345);
        fs::write(&p, "x\n").unwrap();
        assert!(matches!(v.read_u64(), Err(SourceError::Parse { text, .. }) if text == "x"));
    }
}
