//! NVIDIA GPUs through NVML (nvml-wrapper), one source per GPU.
//!
//! nvml-wrapper loads `libnvidia-ml.so.1` at run time, so a machine without
//! the driver builds and runs; it just reports NVML as unavailable.
//!
//! Where the GPU has the total-energy counter (Volta and newer, mJ since
//! the driver loaded) the source is a counter: `energy_uj` is the energy
//! since the first read. `power_w` is always the driver's own power
//! reading, not the counter difference: the counter moves in coarse steps,
//! so differences between 1 ms reads would be mostly zeros and spikes.
//!
//! NVML is initialised once per process and kept for its lifetime (a
//! `OnceLock`), which lets every source hold a `Device<'static>` and avoids
//! a handle lookup per read; the library is never shut down, which is
//! harmless for a process that samples until it exits.
//!
//! NVML does not publish how often the driver refreshes its power reading,
//! so a source measures it when it opens: the spacing of the driver's own
//! buffered power samples (`nvmlDeviceGetSamples`), the median of their
//! timestamp differences. Where that buffer is unsupported or too short it
//! assumes [`DEFAULT_UPDATE_HZ`]: A100 and H100 refresh every 100 ms (Yang
//! et al., "Part-time power measurements: nvidia-smi's lack of attention",
//! arXiv:2312.02741). The energy counter needs no fast reads at all: the
//! boundary reads give it at every epoch's start and end.

use super::{
    source_info, PowerSource, Reading, SourceError, Unavailable, UpdateRate, POLL_EVERY_TICK,
};
use nvml_wrapper::enum_wrappers::device::Sampling;
use nvml_wrapper::error::NvmlError;
use nvml_wrapper::{Device, Nvml};
use std::sync::OnceLock;
use trainwatt_trace::{Domain, GpuFacts, Method, SourceInfo};

/// The update rate assumed when the driver's sample buffer does not tell.
pub const DEFAULT_UPDATE_HZ: f64 = 10.0;

static NVML: OnceLock<Result<Nvml, Unavailable>> = OnceLock::new();

/// The process-wide NVML handle, or why there is none.
pub fn nvml() -> Result<&'static Nvml, Unavailable> {
    NVML.get_or_init(|| Nvml::init().map_err(|e| init_error_unavailable(&e)))
        .as_ref()
        .map_err(Clone::clone)
}

/// Why NVML could not start, and what to do about it.
pub fn init_error_unavailable(err: &NvmlError) -> Unavailable {
    let (reason, fix) = match err {
        NvmlError::LibloadingError(e) => (
            format!("NVIDIA driver library not found ({e})"),
            Some(
                "no NVIDIA GPU here, or install the NVIDIA driver; in a container, run it \
                 with the GPU exposed (`docker run --gpus all`, NVIDIA Container Toolkit)"
                    .to_string(),
            ),
        ),
        NvmlError::DriverNotLoaded => (
            "the NVIDIA driver is not loaded".to_string(),
            Some("load it (`sudo modprobe nvidia`) or reboot after installing".to_string()),
        ),
        NvmlError::NoPermission => (
            "NVML has no permission to talk to the driver".to_string(),
            Some("check the permissions of /dev/nvidia*".to_string()),
        ),
        other => (format!("NVML failed to start: {other}"), None),
    };
    Unavailable::new("nvml", reason, fix)
}

/// One NVIDIA GPU.
#[derive(Debug)]
pub struct NvmlSource {
    index: u32,
    device: Device<'static>,
    name: String,
    uuid: Option<String>,
    has_counter: bool,
    update: UpdateRate,
    prev_energy_mj: Option<u64>,
    total_uj: i64,
}

/// The update rate from the timestamps (µs) of a sample buffer: one over
/// the median spacing of distinct timestamps, within 0.1 Hz..1 kHz.
pub fn rate_from_timestamps_us(timestamps_us: &[u64]) -> Option<f64> {
    let mut t = timestamps_us.to_vec();
    t.sort_unstable();
    t.dedup();
    let mut gaps: Vec<u64> = t.windows(2).map(|w| w[1] - w[0]).collect();
    if gaps.len() < 3 {
        return None;
    }
    gaps.sort_unstable();
    let median_us = gaps[gaps.len() / 2] as f64;
    Some((1e6 / median_us).clamp(0.1, 1000.0))
}

fn measured_update_rate(device: &Device<'static>) -> UpdateRate {
    let stamps: Vec<u64> = device
        .samples(Sampling::Power, None)
        .map(|v| v.iter().map(|s| s.timestamp).collect())
        .unwrap_or_default();
    match rate_from_timestamps_us(&stamps) {
        Some(hz) => UpdateRate::new(hz, "NVML power sample buffer spacing"),
        None => UpdateRate::new(
            DEFAULT_UPDATE_HZ,
            "default: the driver's sample buffer did not tell",
        ),
    }
}

impl NvmlSource {
    /// Opens GPU `index` and checks which readings it supports.
    pub fn open(nvml: &'static Nvml, index: u32) -> Result<Self, Unavailable> {
        let id = format!("nvml:{index}");
        let device = nvml
            .device_by_index(index)
            .map_err(|e| Unavailable::new(&id, format!("cannot open GPU {index}: {e}"), None))?;
        let has_power = device.power_usage().is_ok();
        let has_counter = device.total_energy_consumption().is_ok();
        if !has_power && !has_counter {
            return Err(Unavailable::new(
                &id,
                format!("GPU {index} reports neither power nor energy through NVML"),
                None,
            ));
        }
        Ok(NvmlSource {
            index,
            name: device.name().unwrap_or_default(),
            uuid: device.uuid().ok(),
            update: measured_update_rate(&device),
            device,
            has_counter,
            prev_energy_mj: None,
            total_uj: 0,
        })
    }
}

impl PowerSource for NvmlSource {
    fn info(&self) -> SourceInfo {
        let method = if self.has_counter {
            Method::MeasuredCounter
        } else {
            Method::MeasuredPower
        };
        let mut info = source_info(
            &format!("nvml:{}", self.index),
            Domain::Gpu,
            method,
            self.name.clone(),
            POLL_EVERY_TICK,
        );
        let s = &mut info.settings;
        s.insert("index".into(), self.index.into());
        s.insert("name".into(), self.name.clone().into());
        if let Some(uuid) = &self.uuid {
            s.insert("uuid".into(), uuid.clone().into());
        }
        s.insert("energy_counter".into(), self.has_counter.into());
        info
    }

    fn read(&mut self, _t_ns: i64) -> Result<Reading, SourceError> {
        let err = |what: &str, e: NvmlError| {
            SourceError::Other(format!("nvml:{}: {what}: {e}", self.index))
        };
        let power_w = match self.device.power_usage() {
            Ok(mw) => Some((f64::from(mw) / 1e3) as f32),
            Err(NvmlError::NotSupported) => None,
            Err(e) => return Err(err("power", e)),
        };
        let energy_uj = if self.has_counter {
            let mj = self
                .device
                .total_energy_consumption()
                .map_err(|e| err("total energy", e))?;
            self.total_uj += counter_delta_uj(self.prev_energy_mj, mj);
            self.prev_energy_mj = Some(mj);
            Some(self.total_uj)
        } else {
            None
        };
        Ok(Reading {
            power_w,
            energy_uj,
            suspect_wrap: false,
        })
    }

    fn update_rate(&self) -> Option<UpdateRate> {
        Some(self.update.clone())
    }
}

/// µJ between two reads of the mJ counter (64 bits: it does not wrap). A
/// counter that went backwards was reset by a driver reload and has counted
/// from 0 since.
pub fn counter_delta_uj(prev_mj: Option<u64>, new_mj: u64) -> i64 {
    let delta_mj = match prev_mj {
        None => 0,
        Some(prev) if new_mj >= prev => new_mj - prev,
        Some(_) => new_mj,
    };
    i64::try_from(delta_mj.saturating_mul(1000)).unwrap_or(i64::MAX)
}

/// Opens every GPU NVML sees; without NVML, one [`Unavailable`] says why.
pub fn discover_nvml() -> (Vec<NvmlSource>, Vec<Unavailable>) {
    let nvml = match nvml() {
        Ok(n) => n,
        Err(u) => return (Vec::new(), vec![u]),
    };
    let count = match nvml.device_count() {
        Ok(c) => c,
        Err(e) => {
            return (
                Vec::new(),
                vec![Unavailable::new(
                    "nvml",
                    format!("cannot count GPUs: {e}"),
                    None,
                )],
            )
        }
    };
    if count == 0 {
        return (
            Vec::new(),
            vec![Unavailable::new("nvml", "NVML found no GPU", None)],
        );
    }
    let mut sources = Vec::new();
    let mut unavailable = Vec::new();
    for index in 0..count {
        match NvmlSource::open(nvml, index) {
            Ok(s) => sources.push(s),
            Err(u) => unavailable.push(u),
        }
    }
    (sources, unavailable)
}

/// Name, driver and CUDA version of every GPU NVML sees (empty without
/// NVML).
pub fn gpu_facts() -> Vec<GpuFacts> {
    let Ok(nvml) = nvml() else {
        return Vec::new();
    };
    let driver_version = nvml.sys_driver_version().ok();
    let cuda_version = nvml.sys_cuda_driver_version().ok().map(cuda_version_text);
    let count = nvml.device_count().unwrap_or(0);
    (0..count)
        .filter_map(|i| nvml.device_by_index(i).ok())
        .map(|d| GpuFacts {
            name: d.name().unwrap_or_default(),
            driver_version: driver_version.clone(),
            cuda_version: cuda_version.clone(),
        })
        .collect()
}

/// NVML's CUDA version integer (e.g. 12040) as `12.4`.
pub fn cuda_version_text(version: i32) -> String {
    format!(
        "{}.{}",
        nvml_wrapper::cuda_driver_version_major(version),
        nvml_wrapper::cuda_driver_version_minor(version)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs on any machine: either NVML is missing and says so cleanly, or
    /// every GPU it finds gives a sane reading.
    #[test]
    fn discovery_never_panics_and_reports_cleanly() {
        let (mut sources, unavailable) = discover_nvml();
        if sources.is_empty() {
            assert!(!unavailable.is_empty());
            assert!(unavailable.iter().all(|u| u.name.starts_with("nvml")));
            let reason = &unavailable[0].reason;
            assert!(
                reason.starts_with("NVIDIA driver library not found")
                    || reason.contains("driver is not loaded")
                    || reason.starts_with("NVML"),
                "{reason}"
            );
            if nvml().is_err() {
                assert!(gpu_facts().is_empty());
            }
        } else {
            for s in &mut sources {
                let info = s.info();
                assert!(info.id.starts_with("nvml:"));
                assert_eq!(info.domain, Domain::Gpu);
                let r0 = s.read(0).unwrap();
                let r1 = s.read(1_000_000).unwrap();
                if let Some(p) = r1.power_w {
                    assert!((0.0..5000.0).contains(&p), "{p}");
                }
                if info.method == Method::MeasuredCounter {
                    assert_eq!(r0.energy_uj, Some(0));
                    assert!(r1.energy_uj.unwrap() >= 0);
                }
            }
            assert!(gpu_facts().len() >= sources.len());
        }
    }

    #[test]
    fn init_errors_say_why_and_how_to_fix() {
        let e = NvmlError::DriverNotLoaded;
        let u = init_error_unavailable(&e);
        assert_eq!(u.name, "nvml");
        assert!(u.reason.contains("not loaded"));
        assert!(u.fix.is_some());
        let u = init_error_unavailable(&NvmlError::FailedToLoadSymbol("x".into()));
        assert!(u.reason.starts_with("NVML failed to start"), "{u:?}");
    }

    #[test]
    fn update_rate_from_the_sample_buffer() {
        // 20 ms spacing with a repeated stamp and one late sample.
        let t = [0, 20_000, 20_000, 40_000, 60_000, 95_000, 100_000, 120_000];
        assert_eq!(rate_from_timestamps_us(&t), Some(50.0));
        assert_eq!(rate_from_timestamps_us(&[0, 100_000, 200_000]), None);
        assert_eq!(rate_from_timestamps_us(&[]), None);
        let slow = [0, 100_000_000, 200_000_000, 300_000_000];
        assert_eq!(rate_from_timestamps_us(&slow), Some(0.1));
    }

    #[test]
    fn counter_deltas_in_microjoules() {
        assert_eq!(counter_delta_uj(None, 123_456), 0);
        assert_eq!(counter_delta_uj(Some(1_000), 1_250), 250_000);
        // Driver reload: counting from 0 again.
        assert_eq!(counter_delta_uj(Some(9_000), 40), 40_000);
        assert_eq!(cuda_version_text(12040), "12.4");
        assert_eq!(cuda_version_text(13000), "13.0");
    }
}
