//! AMD GPU power through the amdgpu driver's hwmon files (the paper's
//! second platform was AMD).
//!
//! `<drm_root>/cardN/device/hwmon/hwmonM/power1_average` (µW, the driver's
//! short average) or, where a kernel only offers it, `power1_input`
//! (instantaneous). Connector entries such as `card0-DP-1` and render nodes
//! are not GPUs and are skipped. There is no energy counter here, so the
//! analyzer integrates the power samples.
//!
//! How often the value changes is the hwmon folder's `update_interval` (ms,
//! the hwmon sysfs ABI) where the driver provides one; amdgpu does not, and
//! such a source is read at the sampler's cap.

use super::{
    path_setting, read_u64_file, source_info, PowerSource, Reading, SourceError, SysfsValue,
    Unavailable, UpdateRate, POLL_EVERY_TICK,
};
use std::path::{Path, PathBuf};
use trainwatt_trace::{Domain, Method, SourceInfo};

/// Where Linux puts the DRM class.
pub const DEFAULT_DRM_ROOT: &str = "/sys/class/drm";

/// One GPU's hwmon power file.
#[derive(Debug)]
pub struct HwmonSource {
    id: String,
    card: String,
    power: SysfsValue,
    vendor: Option<String>,
    update_interval_ms: Option<u64>,
}

impl HwmonSource {
    /// Opens `power_file` (µW) for card `card` (e.g. `card0`) and reads it
    /// once to check that it works.
    pub fn open(card: &str, power_file: &Path) -> Result<Self, Unavailable> {
        let id = format!("hwmon:{card}");
        let power = SysfsValue::open(power_file).map_err(|e| {
            Unavailable::new(
                &id,
                format!("cannot read {}: {e}", power_file.display()),
                None,
            )
        })?;
        power.read_u64().map_err(|e| {
            Unavailable::new(
                &id,
                e.to_string(),
                Some(
                    "a GPU in runtime suspend may refuse power reads; retry while it is busy"
                        .into(),
                ),
            )
        })?;
        // …/cardN/device/hwmon/hwmonM/power1_average → …/cardN/device/vendor
        let vendor = power_file
            .parent()
            .and_then(Path::parent)
            .and_then(Path::parent)
            .and_then(|device| std::fs::read_to_string(device.join("vendor")).ok())
            .map(|v| v.trim().to_string());
        let update_interval_ms = power_file
            .parent()
            .and_then(|hwmon| read_u64_file(&hwmon.join("update_interval")).ok())
            .filter(|&ms| ms > 0);
        Ok(HwmonSource {
            id,
            card: card.to_string(),
            power,
            vendor,
            update_interval_ms,
        })
    }
}

impl PowerSource for HwmonSource {
    fn info(&self) -> SourceInfo {
        let mut info = source_info(
            &self.id,
            Domain::Gpu,
            Method::MeasuredPower,
            format!(
                "GPU {} via hwmon {}",
                self.card,
                self.power.path().display()
            ),
            POLL_EVERY_TICK,
        );
        info.settings
            .insert("path".into(), path_setting(self.power.path()));
        if let Some(v) = &self.vendor {
            info.settings.insert("pci_vendor".into(), v.clone().into());
        }
        info
    }

    fn read(&mut self, _t_ns: i64) -> Result<Reading, SourceError> {
        let power_uw = self.power.read_u64()?;
        Ok(Reading {
            power_w: Some((power_uw as f64 / 1e6) as f32),
            energy_uj: None,
            suspect_wrap: false,
        })
    }

    fn update_rate(&self) -> Option<UpdateRate> {
        self.update_interval_ms
            .map(|ms| UpdateRate::new(1000.0 / ms as f64, "hwmon update_interval"))
    }
}

/// Finds every `cardN` with a hwmon power file and opens it.
pub fn discover_hwmon(drm_root: &Path) -> (Vec<HwmonSource>, Vec<Unavailable>) {
    let mut sources = Vec::new();
    let mut unavailable = Vec::new();
    for (card, dir) in cards(drm_root) {
        if let Some(file) = power_file(&dir) {
            match HwmonSource::open(&card, &file) {
                Ok(s) => sources.push(s),
                Err(u) => unavailable.push(u),
            }
        }
    }
    if sources.is_empty() && unavailable.is_empty() {
        unavailable.push(Unavailable::new(
            "hwmon",
            format!(
                "no GPU with hwmon power1_average or power1_input under {}",
                drm_root.display()
            ),
            None,
        ));
    }
    (sources, unavailable)
}

/// `cardN` entries (digits only after `card`), in numeric order.
fn cards(drm_root: &Path) -> Vec<(String, PathBuf)> {
    let Ok(entries) = std::fs::read_dir(drm_root) else {
        return Vec::new();
    };
    let mut cards: Vec<(u32, String, PathBuf)> = entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let n: u32 = name.strip_prefix("card")?.parse().ok()?;
            Some((n, name, e.path()))
        })
        .collect();
    cards.sort();
    cards
        .into_iter()
        .map(|(_, name, path)| (name, path))
        .collect()
}

/// The first `hwmon*` folder of a card with a power file, preferring
/// `power1_average` over `power1_input`.
fn power_file(card_dir: &Path) -> Option<PathBuf> {
    let mut hwmons: Vec<PathBuf> = std::fs::read_dir(card_dir.join("device/hwmon"))
        .ok()?
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with("hwmon"))
        .map(|e| e.path())
        .collect();
    hwmons.sort();
    hwmons.into_iter().find_map(|h| {
        ["power1_average", "power1_input"]
            .iter()
            .map(|f| h.join(f))
            .find(|p| p.is_file())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn gpu(root: &Path, card: &str, file: &str, uw: &str) -> PathBuf {
        let hw = root.join(card).join("device/hwmon/hwmon3");
        fs::create_dir_all(&hw).unwrap();
        fs::write(root.join(card).join("device/vendor"), "0x1002\n").unwrap();
        let p = hw.join(file);
        fs::write(&p, uw).unwrap();
        p
    }

    #[test]
    fn reads_power_in_watts_and_prefers_the_average() {
        let root = tempfile::tempdir().unwrap();
        let r = root.path();
        let avg = gpu(r, "card0", "power1_average", "187000000\n");
        gpu(r, "card0", "power1_input", "999000000\n");
        gpu(r, "card1", "power1_input", "42500000\n");
        // Connector and render entries are not GPUs.
        gpu(r, "card0-DP-1", "power1_average", "1\n");
        gpu(r, "renderD128", "power1_average", "1\n");

        let (mut sources, unavailable) = discover_hwmon(r);
        assert!(unavailable.is_empty(), "{unavailable:?}");
        let ids: Vec<String> = sources.iter().map(|s| s.info().id).collect();
        assert_eq!(ids, ["hwmon:card0", "hwmon:card1"]);

        let r0 = sources[0].read(0).unwrap();
        assert_eq!(r0.power_w, Some(187.0));
        assert_eq!(r0.energy_uj, None);
        assert_eq!(sources[1].read(0).unwrap().power_w, Some(42.5));

        fs::write(&avg, "200250000\n").unwrap();
        assert_eq!(sources[0].read(1).unwrap().power_w, Some(200.25));

        // No update_interval: read at the sampler's cap.
        assert_eq!(sources[0].update_rate(), None);
        let info = sources[0].info();
        assert_eq!(info.domain, Domain::Gpu);
        assert_eq!(info.method, Method::MeasuredPower);
        assert_eq!(info.settings["pci_vendor"], serde_json::json!("0x1002"));
    }

    #[test]
    fn update_interval_gives_the_rate() {
        let root = tempfile::tempdir().unwrap();
        let p = gpu(root.path(), "card0", "power1_average", "1000000\n");
        fs::write(p.parent().unwrap().join("update_interval"), "50\n").unwrap();
        let (sources, _) = discover_hwmon(root.path());
        let rate = sources[0].update_rate().unwrap();
        assert_eq!(rate.hz, 20.0);
        assert_eq!(rate.from, "hwmon update_interval");
    }

    #[test]
    fn no_gpu_or_a_broken_file_is_unavailable() {
        let root = tempfile::tempdir().unwrap();
        let (s, u) = discover_hwmon(root.path());
        assert!(s.is_empty());
        assert_eq!(u[0].name, "hwmon");

        gpu(root.path(), "card2", "power1_average", "n/a\n");
        let (s, u) = discover_hwmon(root.path());
        assert!(s.is_empty());
        assert_eq!(u[0].name, "hwmon:card2");
        assert!(u[0].reason.contains("n/a"), "{u:?}");
    }
}
