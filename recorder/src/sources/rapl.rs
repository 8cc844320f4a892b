//! RAPL energy counters through the powercap sysfs tree (Intel, and AMD
//! CPUs, which expose the same tree).
//!
//! Layout (every zone is also linked flat under the root):
//! `intel-rapl:N` is package N (`name` = `package-N`, or `psys` for the
//! whole platform on client parts), `intel-rapl:N:M` its subzones (`core`,
//! `uncore`, `dram`). `intel-rapl-mmio:*` zones read the same package
//! counter through MMIO; where an MSR zone of the same name exists they are
//! skipped so no energy is counted twice. `psys`, `core` and `uncore` are
//! recorded under non-additive domains, so the analyzer never adds them to
//! the package either.
//!
//! `energy_uj` is a cumulative counter that wraps at `max_energy_range_uj`.
//! A read unwraps it against the previous read (at most one wrap is
//! visible between two reads) and reports the unwrapped energy since the
//! source's first read, so `energy_uj` starts at 0 at the first read and
//! `power_w` is `None` there. Reads far apart may hide further wraps: that
//! is flagged in [`Reading::suspect_wrap`] and the energy is a lower bound.

use super::{
    path_setting, read_u64_file, source_info, PowerSource, Reading, SourceError, SysfsValue,
    Unavailable, UpdateRate, POLL_EVERY_TICK,
};
use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use trainwatt_trace::{Domain, Method, SourceInfo};

/// How often RAPL updates its energy counters, Hz (about every 1 ms).
pub const UPDATE_HZ: f64 = 1000.0;

/// Where Linux puts the powercap class.
pub const DEFAULT_POWERCAP_ROOT: &str = "/sys/class/powercap";

/// Plausible maximum power of a zone when it states none, in W. Deliberately
/// above any single CPU package today: a high guess flags a possible
/// multi-wrap sooner, and a false flag costs nothing but a warning.
pub const DEFAULT_MAX_POWER_W: f64 = 1000.0;

/// `constraint_0_max_power_uw` is the long-term limit (PL1); short bursts
/// (PL2) run up to about twice that, so the wrap check assumes this factor.
pub const MAX_POWER_HEADROOM: f64 = 2.0;

/// One powercap zone's energy counter.
#[derive(Debug)]
pub struct RaplSource {
    id: String,
    domain: Domain,
    zone_dir: PathBuf,
    counter: SysfsValue,
    wrap: WrapCounter,
    plausible_max_power_w: f64,
    max_power_from: &'static str,
    prev_t_ns: Option<i64>,
}

impl RaplSource {
    /// Opens one zone folder. `id` and `domain` come from the zone names
    /// (see [`discover_rapl`]).
    pub fn open(zone_dir: &Path, id: &str, domain: Domain) -> Result<Self, Unavailable> {
        let energy_path = zone_dir.join("energy_uj");
        let counter = SysfsValue::open(&energy_path)
            .map_err(|e| read_error_unavailable(id, &energy_path, &e))?;
        counter.read_u64().map_err(|e| match e {
            SourceError::Io { path, source } => read_error_unavailable(id, &path, &source),
            other => Unavailable::new(id, other.to_string(), None),
        })?;
        let range_path = zone_dir.join("max_energy_range_uj");
        let range_uj =
            read_u64_file(&range_path).map_err(|e| Unavailable::new(id, e.to_string(), None))?;
        if range_uj == 0 {
            let reason = format!(
                "{} is 0: the counter cannot be unwrapped",
                range_path.display()
            );
            return Err(Unavailable::new(id, reason, None));
        }
        let stated_max_w = read_u64_file(&zone_dir.join("constraint_0_max_power_uw"))
            .ok()
            .filter(|&uw| uw > 0)
            .map(|uw| uw as f64 / 1e6);
        let (plausible_max_power_w, max_power_from) = match stated_max_w {
            Some(w) => (w * MAX_POWER_HEADROOM, "constraint_0_max_power_uw"),
            None => (DEFAULT_MAX_POWER_W, "default"),
        };
        Ok(RaplSource {
            id: id.to_string(),
            domain,
            zone_dir: zone_dir.to_path_buf(),
            counter,
            wrap: WrapCounter::new(range_uj),
            plausible_max_power_w,
            max_power_from,
            prev_t_ns: None,
        })
    }
}

impl PowerSource for RaplSource {
    fn info(&self) -> SourceInfo {
        let mut info = source_info(
            &self.id,
            self.domain,
            Method::MeasuredCounter,
            format!("RAPL {}", self.zone_dir.display()),
            POLL_EVERY_TICK,
        );
        let s = &mut info.settings;
        s.insert("path".into(), path_setting(self.counter.path()));
        s.insert("max_energy_range_uj".into(), self.wrap.range_uj.into());
        s.insert(
            "plausible_max_power_w".into(),
            self.plausible_max_power_w.into(),
        );
        s.insert("max_power_from".into(), self.max_power_from.into());
        info
    }

    fn read(&mut self, t_ns: i64) -> Result<Reading, SourceError> {
        let raw_uj = self.counter.read_u64()?;
        let prev_total_uj = self.wrap.total_uj;
        let total_uj = self.wrap.update(raw_uj);
        let (power_w, suspect_wrap) = match self.prev_t_ns {
            Some(prev_t) if t_ns > prev_t => {
                let dt_ns = t_ns - prev_t;
                let delta_uj = total_uj - prev_total_uj;
                // µJ per ns is kW.
                let power_w = delta_uj as f64 * 1e3 / dt_ns as f64;
                let suspect =
                    could_hide_a_wrap(dt_ns, self.plausible_max_power_w, self.wrap.range_uj);
                (Some(power_w as f32), suspect)
            }
            _ => (None, false),
        };
        self.prev_t_ns = Some(t_ns);
        Ok(Reading {
            power_w,
            energy_uj: Some(i64::try_from(total_uj).unwrap_or(i64::MAX)),
            suspect_wrap,
        })
    }

    fn update_rate(&self) -> Option<UpdateRate> {
        Some(UpdateRate::new(UPDATE_HZ, "RAPL nominal: about every 1 ms"))
    }
}

/// Unwraps a counter that counts up from 0 and restarts at 0 after
/// `range_uj`. The kernel's true modulus is `range_uj` plus one energy unit
/// (≈ 15–61 µJ), which it does not publish; treating it as `range_uj`
/// misses at most one unit per wrap, a relative error below 1e-9.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WrapCounter {
    pub range_uj: u64,
    prev_raw_uj: Option<u64>,
    /// Unwrapped energy since the first update.
    pub total_uj: u64,
}

impl WrapCounter {
    pub fn new(range_uj: u64) -> Self {
        WrapCounter {
            range_uj,
            prev_raw_uj: None,
            total_uj: 0,
        }
    }

    /// Feeds one raw counter value; returns the unwrapped total since the
    /// first value (0 for the first).
    pub fn update(&mut self, raw_uj: u64) -> u64 {
        if let Some(prev) = self.prev_raw_uj {
            self.total_uj += wrapped_delta_uj(prev, raw_uj, self.range_uj);
        }
        self.prev_raw_uj = Some(raw_uj);
        self.total_uj
    }
}

/// The energy between two raw readings, assuming at most one wrap.
pub fn wrapped_delta_uj(prev_uj: u64, new_uj: u64, range_uj: u64) -> u64 {
    if new_uj >= prev_uj {
        new_uj - prev_uj
    } else {
        (new_uj + range_uj).saturating_sub(prev_uj)
    }
}

/// Whether `dt_ns` at `max_power_w` could accumulate a whole counter range,
/// in which case a wrap could be invisible.
pub fn could_hide_a_wrap(dt_ns: i64, max_power_w: f64, range_uj: u64) -> bool {
    // W × ns = nJ; / 1000 = µJ.
    let max_energy_uj = max_power_w * dt_ns as f64 / 1e3;
    max_energy_uj >= range_uj as f64
}

/// Turns a failure to open `energy_uj` into an [`Unavailable`]; permission
/// denied (the file is root-only since Linux 5.10, after CVE-2020-8694)
/// carries the fix.
pub fn read_error_unavailable(id: &str, path: &Path, err: &io::Error) -> Unavailable {
    if err.kind() == io::ErrorKind::PermissionDenied {
        Unavailable::new(
            id,
            format!(
                "permission denied reading {}: RAPL energy counters are root-only since \
                 Linux 5.10 (CVE-2020-8694)",
                path.display()
            ),
            Some(permission_fix()),
        )
    } else {
        Unavailable::new(id, format!("cannot read {}: {err}", path.display()), None)
    }
}

fn permission_fix() -> String {
    "run the recorder as root, or make the counters readable until the next boot with \
     `sudo chmod a+r /sys/class/powercap/intel-rapl:*/energy_uj`, or for good with a udev rule \
     in /etc/udev/rules.d/99-rapl.rules: \
     `ACTION==\"add\", SUBSYSTEM==\"powercap\", RUN+=\"/bin/chmod a+r /sys%p/energy_uj\"` \
     (this reopens the power side channel the restriction closes; do it on machines you trust)"
        .to_string()
}

/// A zone folder found under the root.
#[derive(Debug, Clone)]
struct Zone {
    /// Entry name, e.g. `intel-rapl:0:1`, `intel-rapl-mmio:0`.
    entry: String,
    dir: PathBuf,
    name: String,
}

/// Finds every RAPL zone under `root` and opens the usable ones.
pub fn discover_rapl(root: &Path) -> (Vec<RaplSource>, Vec<Unavailable>) {
    let mut unavailable = Vec::new();
    let zones = match list_zones(root) {
        Ok(z) if !z.is_empty() => z,
        Ok(_) | Err(_) => {
            unavailable.push(Unavailable::new(
                "rapl",
                format!("no RAPL zones under {}", root.display()),
                Some(
                    "on bare metal load the driver (`sudo modprobe intel_rapl_msr`); \
                     VMs and most containers do not expose RAPL"
                        .to_string(),
                ),
            ));
            return (Vec::new(), unavailable);
        }
    };
    let by_entry: BTreeMap<&str, &Zone> = zones.iter().map(|z| (z.entry.as_str(), z)).collect();
    let msr_names: BTreeMap<&str, &str> = zones
        .iter()
        .filter(|z| z.entry.starts_with("intel-rapl:"))
        .map(|z| (z.name.as_str(), z.entry.as_str()))
        .collect();

    let mut sources = Vec::new();
    for zone in &zones {
        let parent_name = parent_entry(&zone.entry)
            .and_then(|p| by_entry.get(p.as_str()))
            .map(|p| p.name.as_str());
        let Some((id, domain)) = classify(&zone.name, parent_name) else {
            unavailable.push(Unavailable::new(
                format!("rapl:{}", zone.entry),
                format!(
                    "unrecognised RAPL zone name '{}' in {}; not recorded",
                    zone.name,
                    zone.dir.display()
                ),
                None,
            ));
            continue;
        };
        if zone.entry.starts_with("intel-rapl-mmio:") {
            if let Some(msr) = msr_names.get(zone.name.as_str()) {
                unavailable.push(Unavailable::new(
                    format!("rapl:{}", zone.entry),
                    format!("duplicate of {id} ({msr}): the same counter read through MMIO"),
                    None,
                ));
                continue;
            }
        }
        match RaplSource::open(&zone.dir, &id, domain) {
            Ok(s) => sources.push(s),
            Err(u) => unavailable.push(u),
        }
    }
    (sources, unavailable)
}

/// Zone folders, sorted by entry name, including subzones that only appear
/// nested inside their parent.
fn list_zones(root: &Path) -> io::Result<Vec<Zone>> {
    let mut found: BTreeMap<String, PathBuf> = BTreeMap::new();
    let scan = |dir: &Path, found: &mut BTreeMap<String, PathBuf>| -> io::Result<()> {
        for entry in std::fs::read_dir(dir)? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if is_zone_entry(&name) && entry.path().is_dir() {
                found.entry(name).or_insert_with(|| entry.path());
            }
        }
        Ok(())
    };
    scan(root, &mut found)?;
    let top: Vec<PathBuf> = found.values().cloned().collect();
    for dir in top {
        // Nested subzones; a folder we cannot list just has none.
        let _ = scan(&dir, &mut found);
    }
    let mut zones: Vec<Zone> = found
        .into_iter()
        .filter_map(|(entry, dir)| {
            let name = std::fs::read_to_string(dir.join("name")).ok()?;
            Some(Zone {
                entry,
                dir,
                name: name.trim().to_string(),
            })
        })
        .collect();
    // Numeric order, so `intel-rapl:10` comes after `intel-rapl:2`.
    zones.sort_by_key(|z| zone_sort_key(&z.entry));
    Ok(zones)
}

fn zone_sort_key(entry: &str) -> (bool, Vec<u64>) {
    let (prefix, rest) = entry.split_once(':').unwrap_or((entry, ""));
    let numbers = rest.split(':').filter_map(|p| p.parse().ok()).collect();
    (prefix != "intel-rapl", numbers)
}

/// `intel-rapl:N`, `intel-rapl:N:M`, `intel-rapl-mmio:N…` (not the bare
/// control-type folders `intel-rapl`, `intel-rapl-mmio`).
fn is_zone_entry(name: &str) -> bool {
    let rest = name
        .strip_prefix("intel-rapl:")
        .or_else(|| name.strip_prefix("intel-rapl-mmio:"));
    rest.is_some_and(|r| {
        !r.is_empty()
            && r.split(':')
                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
    })
}

/// `intel-rapl:0:1` → `intel-rapl:0`; top-level zones have no parent.
fn parent_entry(entry: &str) -> Option<String> {
    let (prefix, rest) = entry.split_once(':')?;
    let (parent, _) = rest.rsplit_once(':')?;
    Some(format!("{prefix}:{parent}"))
}

/// Source id and domain from a zone's name (and its parent's name).
fn classify(name: &str, parent_name: Option<&str>) -> Option<(String, Domain)> {
    let domain = match name {
        "psys" => Domain::Platform,
        "core" => Domain::CpuCore,
        "uncore" => Domain::CpuUncore,
        "dram" => Domain::Dram,
        n if n.starts_with("package-") => Domain::CpuPackage,
        _ => return None,
    };
    let id = match parent_name {
        Some(parent) => format!("rapl:{parent}:{name}"),
        None => format!("rapl:{name}"),
    };
    Some((id, domain))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::fs;

    const RANGE: u64 = 262_143_328_850;

    fn zone(root: &Path, entry: &str, name: &str, energy: u64, range: u64) -> PathBuf {
        let dir = root.join(entry);
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("name"), format!("{name}\n")).unwrap();
        fs::write(dir.join("energy_uj"), format!("{energy}\n")).unwrap();
        fs::write(dir.join("max_energy_range_uj"), format!("{range}\n")).unwrap();
        dir
    }

    fn set(dir: &Path, energy: u64) {
        fs::write(dir.join("energy_uj"), format!("{energy}\n")).unwrap();
    }

    #[test]
    fn a_wrap_between_reads_is_unwrapped() {
        let root = tempfile::tempdir().unwrap();
        let dir = zone(
            root.path(),
            "intel-rapl:0",
            "package-0",
            RANGE - 1_000_000,
            RANGE,
        );
        fs::write(dir.join("constraint_0_max_power_uw"), "125000000\n").unwrap();
        let mut s = RaplSource::open(&dir, "rapl:package-0", Domain::CpuPackage).unwrap();

        let r0 = s.read(0).unwrap();
        assert_eq!(r0.energy_uj, Some(0));
        assert_eq!(r0.power_w, None);

        // 1 J before the wrap plus 2.5 J after it, over 100 ms: 35 W.
        set(&dir, 2_500_000);
        let r1 = s.read(100_000_000).unwrap();
        assert_eq!(r1.energy_uj, Some(3_500_000));
        assert!((r1.power_w.unwrap() - 35.0).abs() < 1e-4, "{r1:?}");
        assert!(!r1.suspect_wrap);

        set(&dir, 4_500_000);
        let r2 = s.read(200_000_000).unwrap();
        assert_eq!(r2.energy_uj, Some(5_500_000));
        assert!((r2.power_w.unwrap() - 20.0).abs() < 1e-4);

        let info = s.info();
        assert_eq!(info.method, Method::MeasuredCounter);
        assert_eq!(
            info.settings["max_energy_range_uj"],
            serde_json::json!(RANGE)
        );
        assert_eq!(
            info.settings["plausible_max_power_w"],
            serde_json::json!(250.0)
        );
    }

    #[test]
    fn long_gaps_are_flagged_as_suspect() {
        let root = tempfile::tempdir().unwrap();
        // A small range (1 J) with a stated 10 W limit: plausibly 20 W, so
        // 50 ms could already hold a whole range.
        let dir = zone(root.path(), "intel-rapl:0", "package-0", 0, 1_000_000);
        fs::write(dir.join("constraint_0_max_power_uw"), "10000000\n").unwrap();
        let mut s = RaplSource::open(&dir, "rapl:package-0", Domain::CpuPackage).unwrap();
        s.read(0).unwrap();
        set(&dir, 100_000);
        assert!(!s.read(40_000_000).unwrap().suspect_wrap);
        set(&dir, 200_000);
        assert!(s.read(100_000_000).unwrap().suspect_wrap);
        // Without a stated limit the default applies.
        fs::remove_file(dir.join("constraint_0_max_power_uw")).unwrap();
        let s = RaplSource::open(&dir, "rapl:package-0", Domain::CpuPackage).unwrap();
        assert_eq!(
            s.info().settings["plausible_max_power_w"],
            serde_json::json!(DEFAULT_MAX_POWER_W)
        );
        // 1000 W fills 1000 µJ in exactly 1 µs.
        assert!(could_hide_a_wrap(1_000, 1000.0, 1_000));
        assert!(!could_hide_a_wrap(999, 1000.0, 1_000));
    }

    #[test]
    fn discovery_names_domains_and_skips_mmio_duplicates() {
        let root = tempfile::tempdir().unwrap();
        let r = root.path();
        fs::create_dir_all(r.join("intel-rapl")).unwrap(); // control type, not a zone
        zone(r, "intel-rapl:0", "package-0", 10, RANGE);
        zone(r, "intel-rapl:0:0", "core", 10, RANGE);
        zone(r, "intel-rapl:0:1", "uncore", 10, RANGE);
        // A subzone only visible nested inside its parent.
        zone(&r.join("intel-rapl:0"), "intel-rapl:0:2", "dram", 10, RANGE);
        zone(r, "intel-rapl:1", "psys", 10, RANGE);
        zone(r, "intel-rapl-mmio:0", "package-0", 10, RANGE);
        zone(r, "intel-rapl:2", "mystery", 10, RANGE);

        let (sources, unavailable) = discover_rapl(r);
        let got: Vec<(String, Domain)> = sources
            .iter()
            .map(|s| {
                let i = s.info();
                (i.id, i.domain)
            })
            .collect();
        assert_eq!(
            got,
            [
                ("rapl:package-0".to_string(), Domain::CpuPackage),
                ("rapl:package-0:core".to_string(), Domain::CpuCore),
                ("rapl:package-0:uncore".to_string(), Domain::CpuUncore),
                ("rapl:package-0:dram".to_string(), Domain::Dram),
                ("rapl:psys".to_string(), Domain::Platform),
            ]
        );
        let dup = unavailable
            .iter()
            .find(|u| u.name == "rapl:intel-rapl-mmio:0")
            .unwrap();
        assert!(
            dup.reason.starts_with("duplicate of rapl:package-0"),
            "{dup:?}"
        );
        assert!(unavailable.iter().any(|u| u.reason.contains("'mystery'")));
    }

    #[test]
    fn mmio_zone_without_an_msr_twin_is_used() {
        let root = tempfile::tempdir().unwrap();
        zone(root.path(), "intel-rapl-mmio:0", "package-0", 10, RANGE);
        let (sources, unavailable) = discover_rapl(root.path());
        assert_eq!(sources.len(), 1, "{unavailable:?}");
        assert_eq!(sources[0].info().id, "rapl:package-0");
    }

    #[test]
    fn permission_denied_gives_the_fix() {
        let err = io::Error::from(io::ErrorKind::PermissionDenied);
        let u = read_error_unavailable(
            "rapl:package-0",
            Path::new("/sys/class/powercap/intel-rapl:0/energy_uj"),
            &err,
        );
        assert_eq!(u.name, "rapl:package-0");
        assert!(u.reason.contains("permission denied"), "{u:?}");
        assert!(u.reason.contains("CVE-2020-8694"), "{u:?}");
        let fix = u.fix.unwrap();
        assert!(fix.contains("run the recorder as root"), "{fix}");
        assert!(
            fix.contains("sudo chmod a+r /sys/class/powercap/intel-rapl:*/energy_uj"),
            "{fix}"
        );
        assert!(fix.contains("udev"), "{fix}");

        let other = read_error_unavailable(
            "x",
            Path::new("/p"),
            &io::Error::from(io::ErrorKind::NotFound),
        );
        assert_eq!(other.fix, None);
    }

    #[test]
    fn missing_tree_or_range_is_unavailable() {
        let root = tempfile::tempdir().unwrap();
        let (s, u) = discover_rapl(&root.path().join("none"));
        assert!(s.is_empty());
        assert_eq!(u[0].name, "rapl");
        let dir = zone(root.path(), "intel-rapl:0", "package-0", 1, 0);
        let err = RaplSource::open(&dir, "rapl:package-0", Domain::CpuPackage).unwrap_err();
        assert!(err.reason.contains("cannot be unwrapped"), "{err:?}");
    }

    #[test]
    fn zone_entry_names() {
        assert!(is_zone_entry("intel-rapl:0"));
        assert!(is_zone_entry("intel-rapl:10:2"));
        assert!(is_zone_entry("intel-rapl-mmio:0"));
        assert!(!is_zone_entry("intel-rapl"));
        assert!(!is_zone_entry("intel-rapl:"));
        assert!(!is_zone_entry("intel-rapl:0:"));
        assert!(!is_zone_entry("intel-rapl:a"));
        assert_eq!(
            parent_entry("intel-rapl:0:1").as_deref(),
            Some("intel-rapl:0")
        );
        assert_eq!(parent_entry("intel-rapl:0"), None);
        let mut entries = [
            "intel-rapl:10",
            "intel-rapl-mmio:0",
            "intel-rapl:2:1",
            "intel-rapl:2",
        ];
        entries.sort_by_key(|e| zone_sort_key(e));
        assert_eq!(
            entries,
            [
                "intel-rapl:2",
                "intel-rapl:2:1",
                "intel-rapl:10",
                "intel-rapl-mmio:0"
            ]
        );
    }

    proptest! {
        /// Any sequence of increments each below the range, from any start
        /// point, unwraps to their exact sum however often it wraps.
        #[test]
        fn unwrapping_recovers_the_true_total(
            range in 1u64..=(1u64 << 40),
            start_frac in 0.0f64..1.0,
            fracs in proptest::collection::vec(0.0f64..1.0, 0..200),
        ) {
            let start = ((range as f64 * start_frac) as u64).min(range - 1);
            let mut c = WrapCounter::new(range);
            prop_assert_eq!(c.update(start), 0);
            let mut truth: u64 = 0;
            for f in fracs {
                let inc = ((range as f64 * f) as u64).min(range - 1);
                truth += inc;
                let raw = (start + truth) % range;
                prop_assert_eq!(c.update(raw), truth);
            }
        }
    }
}
