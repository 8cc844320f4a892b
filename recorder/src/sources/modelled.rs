//! Modelled CPU and DRAM power for machines with no meter (VMs, most
//! containers). These are estimates, tagged `modelled` everywhere.
//!
//! **CPU**: power = utilisation × logical CPUs × watts per CPU, the
//! Green Algorithms form (cores × per-core TDP × usage). Utilisation comes
//! from the aggregate `cpu` line of `/proc/stat`: busy = user + nice +
//! system + irq + softirq, out of busy + idle + iowait + steal (time stolen
//! by the hypervisor ran someone else's work; guest time is already inside
//! user). "Core" means a logical CPU as `/proc/stat` lists it, which in a
//! VM is a vCPU. There is no idle term: an idle machine models as 0 W.
//!
//! The default of [`DEFAULT_CPU_W_PER_CORE`] = 10 W sits in the middle of
//! TDP ÷ cores for current parts: about 4–5 W for 64-core server chips,
//! 7–8 W for 16-core Xeons, 12 W for 8-core desktop chips. Set the real
//! figure (TDP ÷ logical CPUs) when you know the CPU.
//!
//! `/proc/stat` costs far more to read than a sysfs counter and only moves
//! every 10 ms (USER_HZ = 100), so the CPU model re-reads it at its own
//! rate ([`DEFAULT_POLL_HZ`]) and returns the cached reading in between. It
//! keeps the file open and re-reads it from offset 0 into one buffer (the
//! kernel regenerates it on every read from the start), so a poll costs
//! the kernel's work and one system call, no open, close or allocation.
//!
//! **DRAM**: installed memory (`MemTotal` in `/proc/meminfo`, in GiB) ×
//! [`DEFAULT_DRAM_W_PER_GB`] = 0.375 W/GiB, CodeCarbon's figure (3 W per
//! 8 GB); Green Algorithms uses 0.3725 W/GB, within 1 %. It is a constant.

use super::{
    path_setting, source_info, PowerSource, Reading, SourceError, Unavailable, UpdateRate,
};
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use trainwatt_trace::{Domain, Method, SourceInfo};

/// Watts per logical CPU at full utilisation (see the module docs).
pub const DEFAULT_CPU_W_PER_CORE: f64 = 10.0;
/// Watts per GiB of installed memory (CodeCarbon's 3 W per 8 GB).
pub const DEFAULT_DRAM_W_PER_GB: f64 = 0.375;
/// How often the CPU model re-reads `/proc/stat`, in Hz.
pub const DEFAULT_POLL_HZ: f64 = 10.0;

/// Busy and total jiffies summed over all CPUs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CpuTimes {
    pub busy: u64,
    pub total: u64,
}

/// Parses `/proc/stat`: the aggregate `cpu` line and the number of
/// `cpuN` lines. `None` when there is no aggregate line.
pub fn parse_proc_stat(text: &str) -> Option<(CpuTimes, u32)> {
    let mut times = None;
    let mut cpus = 0u32;
    for line in text.lines() {
        let mut fields = line.split_ascii_whitespace();
        let Some(label) = fields.next() else { continue };
        if label == "cpu" {
            let v: Vec<u64> = fields.map(|f| f.parse().unwrap_or(0)).collect();
            let at = |i: usize| v.get(i).copied().unwrap_or(0);
            // user nice system idle iowait irq softirq steal guest guest_nice
            let busy = at(0) + at(1) + at(2) + at(5) + at(6);
            let total = busy + at(3) + at(4) + at(7);
            times = Some(CpuTimes { busy, total });
        } else if label
            .strip_prefix("cpu")
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        {
            cpus += 1;
        }
    }
    times.map(|t| (t, cpus.max(1)))
}

/// Utilisation between two snapshots, `None` when no time passed.
pub fn utilisation(prev: CpuTimes, now: CpuTimes) -> Option<f64> {
    let total = now.total.checked_sub(prev.total)?;
    let busy = now.busy.saturating_sub(prev.busy);
    (total > 0).then(|| (busy as f64 / total as f64).clamp(0.0, 1.0))
}

fn check_positive(id: &str, what: &str, v: f64) -> Result<(), Unavailable> {
    if v.is_finite() && v >= 0.0 {
        Ok(())
    } else {
        Err(Unavailable::new(
            id,
            format!("{what} must be a finite number ≥ 0, not {v}"),
            None,
        ))
    }
}

/// CPU power modelled from utilisation.
#[derive(Debug)]
pub struct ModelledCpuSource {
    stat: StatFile,
    cpus: u32,
    w_per_core: f64,
    poll_hz: f64,
    period_ns: i64,
    prev: CpuTimes,
    last_poll_t_ns: Option<i64>,
    cached: Reading,
}

impl ModelledCpuSource {
    /// Reads `proc_stat` once for the CPU count and the starting snapshot,
    /// so the first poll already has an interval to measure.
    pub fn open(proc_stat: &Path, w_per_core: f64, poll_hz: f64) -> Result<Self, Unavailable> {
        const ID: &str = "model:cpu";
        check_positive(ID, "watts per core", w_per_core)?;
        if !(poll_hz.is_finite() && poll_hz > 0.0) {
            return Err(Unavailable::new(
                ID,
                format!("poll rate must be > 0 Hz, not {poll_hz}"),
                None,
            ));
        }
        let mut stat =
            StatFile::open(proc_stat).map_err(|e| Unavailable::new(ID, e.to_string(), None))?;
        let (prev, cpus) = stat
            .read()
            .map_err(|e| Unavailable::new(ID, e.to_string(), None))?;
        Ok(ModelledCpuSource {
            stat,
            cpus,
            w_per_core,
            poll_hz,
            period_ns: (1e9 / poll_hz).round() as i64,
            prev,
            last_poll_t_ns: None,
            cached: Reading::default(),
        })
    }
}

/// `/proc/stat`, kept open and re-read whole from offset 0.
#[derive(Debug)]
struct StatFile {
    path: PathBuf,
    file: File,
    buf: Vec<u8>,
}

impl StatFile {
    fn open(path: &Path) -> Result<Self, SourceError> {
        let file = File::open(path).map_err(|source| SourceError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Ok(Self {
            path: path.to_path_buf(),
            file,
            buf: vec![0; 16 * 1024],
        })
    }

    /// The aggregate times and the CPU count, read now.
    fn read(&mut self) -> Result<(CpuTimes, u32), SourceError> {
        let io = |source| SourceError::Io {
            path: self.path.clone(),
            source,
        };
        let mut len = 0;
        loop {
            if len == self.buf.len() {
                self.buf.resize(2 * len, 0);
            }
            match self.file.read_at(&mut self.buf[len..], len as u64) {
                Ok(0) => break,
                Ok(n) => len += n,
                Err(e) => return Err(io(e)),
            }
        }
        let text = String::from_utf8_lossy(&self.buf[..len]);
        parse_proc_stat(&text)
            .ok_or_else(|| SourceError::Other(format!("{}: no 'cpu' line", self.path.display())))
    }
}

impl PowerSource for ModelledCpuSource {
    fn info(&self) -> SourceInfo {
        let mut info = source_info(
            "model:cpu",
            Domain::CpuPackage,
            Method::Modelled,
            format!(
                "modelled: /proc/stat utilisation × {} CPUs × {} W",
                self.cpus, self.w_per_core
            ),
            self.poll_hz,
        );
        let s = &mut info.settings;
        s.insert("path".into(), path_setting(&self.stat.path));
        s.insert("cpus".into(), self.cpus.into());
        s.insert("w_per_core".into(), self.w_per_core.into());
        info
    }

    fn read(&mut self, t_ns: i64) -> Result<Reading, SourceError> {
        // The sampler already calls at the poll rate on an absolute schedule,
        // so a call a little less than a period after the last (the first
        // tick came late) is the next poll, not an extra one; without this
        // slack every other poll was skipped and the source ran at half rate.
        let due = self
            .last_poll_t_ns
            .is_none_or(|last| t_ns - last >= self.period_ns * 3 / 4);
        if due {
            self.last_poll_t_ns = Some(t_ns);
            let (now, _) = self.stat.read()?;
            // With no jiffies elapsed keep the old snapshot, so the next
            // poll measures the longer interval.
            if let Some(u) = utilisation(self.prev, now) {
                let power_w = u * f64::from(self.cpus) * self.w_per_core;
                self.cached.power_w = Some(power_w as f32);
                self.prev = now;
            }
        }
        Ok(self.cached)
    }

    fn update_rate(&self) -> Option<UpdateRate> {
        Some(UpdateRate::new(
            self.poll_hz,
            "configured /proc/stat poll rate",
        ))
    }
}

/// DRAM power modelled from installed memory: a constant.
#[derive(Debug)]
pub struct ModelledDramSource {
    path: PathBuf,
    memory_gib: f64,
    w_per_gb: f64,
    poll_hz: f64,
}

impl ModelledDramSource {
    /// Reads `MemTotal` from `meminfo`. `poll_hz` is only recorded: the
    /// reading never changes.
    pub fn open(meminfo: &Path, w_per_gb: f64, poll_hz: f64) -> Result<Self, Unavailable> {
        const ID: &str = "model:dram";
        check_positive(ID, "watts per GB", w_per_gb)?;
        let text = std::fs::read_to_string(meminfo).map_err(|e| {
            Unavailable::new(ID, format!("cannot read {}: {e}", meminfo.display()), None)
        })?;
        let bytes = parse_mem_total_bytes(&text).ok_or_else(|| {
            Unavailable::new(ID, format!("{}: no MemTotal line", meminfo.display()), None)
        })?;
        Ok(ModelledDramSource {
            path: meminfo.to_path_buf(),
            memory_gib: bytes as f64 / (1u64 << 30) as f64,
            w_per_gb,
            poll_hz,
        })
    }

    fn power_w(&self) -> f64 {
        self.memory_gib * self.w_per_gb
    }
}

/// `MemTotal:  16318412 kB` → bytes.
pub fn parse_mem_total_bytes(meminfo: &str) -> Option<u64> {
    meminfo.lines().find_map(|line| {
        let rest = line.strip_prefix("MemTotal:")?;
        let kib: u64 = rest.split_ascii_whitespace().next()?.parse().ok()?;
        kib.checked_mul(1024)
    })
}

impl PowerSource for ModelledDramSource {
    fn info(&self) -> SourceInfo {
        let mut info = source_info(
            "model:dram",
            Domain::Dram,
            Method::Modelled,
            format!(
                "modelled: {:.1} GiB installed × {} W/GiB",
                self.memory_gib, self.w_per_gb
            ),
            self.poll_hz,
        );
        let s = &mut info.settings;
        s.insert("path".into(), path_setting(&self.path));
        s.insert("memory_gib".into(), self.memory_gib.into());
        s.insert("w_per_gb".into(), self.w_per_gb.into());
        info
    }

    fn read(&mut self, _t_ns: i64) -> Result<Reading, SourceError> {
        Ok(Reading {
            power_w: Some(self.power_w() as f32),
            energy_uj: None,
            suspect_wrap: false,
        })
    }

    fn update_rate(&self) -> Option<UpdateRate> {
        Some(UpdateRate::new(self.poll_hz, "configured (a constant)"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    /// A `/proc/stat` for 4 CPUs with the given busy and idle jiffies.
    fn stat(busy: u64, idle: u64) -> String {
        // user nice system idle iowait irq softirq steal guest guest_nice;
        // guest is inside user and must not count twice.
        format!(
            "cpu  {} 0 {} {} 0 0 0 0 7 0\ncpu0 1 0 0 1 0 0 0 0 0 0\ncpu1 1 0 0 1 0 0 0 0 0 0\n\
             cpu2 1 0 0 1 0 0 0 0 0 0\ncpu3 1 0 0 1 0 0 0 0 0 0\nintr 1 2 3\nctxt 99\n",
            busy / 2,
            busy - busy / 2,
            idle
        )
    }

    #[test]
    fn cpu_power_is_utilisation_times_cpus_times_watts() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("stat");
        fs::write(&p, stat(100, 900)).unwrap();
        let mut s = ModelledCpuSource::open(&p, 10.0, 10.0).unwrap();
        assert_eq!(s.info().settings["cpus"], serde_json::json!(4));
        assert_eq!(s.info().poll_hz, 10.0);

        // 300 busy of 400 elapsed jiffies: 75 % of 4 CPUs × 10 W = 30 W.
        fs::write(&p, stat(400, 1000)).unwrap();
        assert_eq!(s.read(0).unwrap().power_w, Some(30.0));

        // Within the 100 ms poll period the cached reading comes back even
        // though the file changed.
        fs::write(&p, stat(400, 1400)).unwrap();
        assert_eq!(s.read(50_000_000).unwrap().power_w, Some(30.0));
        // At the period it re-reads: 0 busy of 400: 0 W.
        let r = s.read(100_000_000).unwrap();
        assert_eq!(r.power_w, Some(0.0));
        assert_eq!(r.energy_uj, None);

        // No jiffies elapsed: keep the last value.
        assert_eq!(s.read(200_000_000).unwrap().power_w, Some(0.0));
        fs::write(&p, stat(600, 1400)).unwrap();
        assert_eq!(s.read(300_000_000).unwrap().power_w, Some(40.0));

        // The sampler's schedule: a poll that comes 0.05 ms short of a
        // period after a late one is still the next poll (it re-reads).
        fs::write(&p, stat(600, 1800)).unwrap();
        assert_eq!(s.read(399_950_000).unwrap().power_w, Some(0.0));
    }

    #[test]
    fn first_read_without_elapsed_time_has_no_power() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("stat");
        fs::write(&p, stat(100, 900)).unwrap();
        let mut s = ModelledCpuSource::open(&p, 10.0, 10.0).unwrap();
        assert_eq!(s.read(0).unwrap().power_w, None);
        assert_eq!(s.info().method, Method::Modelled);
    }

    #[test]
    fn stat_parsing() {
        let (t, n) = parse_proc_stat(&stat(100, 900)).unwrap();
        assert_eq!(n, 4);
        assert_eq!(
            t,
            CpuTimes {
                busy: 100,
                total: 1000
            }
        );
        // steal counts in the total, not as busy; iowait likewise.
        let (t, n) = parse_proc_stat("cpu 10 0 0 70 10 0 0 10\n").unwrap();
        assert_eq!(
            (t, n),
            (
                CpuTimes {
                    busy: 10,
                    total: 100
                },
                1
            )
        );
        assert_eq!(parse_proc_stat("intr 1\n"), None);
        assert_eq!(
            utilisation(
                CpuTimes { busy: 5, total: 10 },
                CpuTimes { busy: 5, total: 10 }
            ),
            None
        );
    }

    #[test]
    fn dram_power_from_installed_memory() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("meminfo");
        fs::write(&p, "MemTotal:       33554432 kB\nMemFree:  1 kB\n").unwrap();
        let mut s = ModelledDramSource::open(&p, DEFAULT_DRAM_W_PER_GB, 10.0).unwrap();
        // 32 GiB × 0.375 W/GiB = 12 W.
        assert_eq!(s.read(0).unwrap().power_w, Some(12.0));
        assert_eq!(s.read(10).unwrap().power_w, Some(12.0));
        let info = s.info();
        assert_eq!(info.id, "model:dram");
        assert_eq!(info.domain, Domain::Dram);
        assert_eq!(info.settings["memory_gib"], serde_json::json!(32.0));

        fs::write(&p, "MemFree: 1 kB\n").unwrap();
        assert!(ModelledDramSource::open(&p, 0.375, 10.0).is_err());
        assert!(ModelledDramSource::open(&dir.path().join("none"), 0.375, 10.0).is_err());
    }

    #[test]
    fn bad_settings_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("stat");
        fs::write(&p, stat(1, 1)).unwrap();
        assert!(ModelledCpuSource::open(&p, -1.0, 10.0).is_err());
        assert!(ModelledCpuSource::open(&p, f64::NAN, 10.0).is_err());
        assert!(ModelledCpuSource::open(&p, 10.0, 0.0).is_err());
    }
}
