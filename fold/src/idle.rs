//! The idle baseline measured in a separate `recorder sample` run
//! (`--baseline-from RUN`): each source's mean power over the whole idle
//! run, subtracted from runs recorded on the same platform.
//!
//! The idle run goes through the same reader and checks as a training run
//! (a bad sample row refuses the baseline, naming file and row). A source's
//! mean is its counter difference over the time between its first and last
//! reading where it has a counter, else the trapezoid area over that time.

use crate::findings::check_problems;
use crate::fold::RunFold;
use crate::run::gap_tolerance_ns;
use crate::scan::{scan_run, SourceSet};
use crate::segments::{segment_files, Segments};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use trainwatt_trace::schema::MANIFEST_FILE;
use trainwatt_trace::{Manifest, Method, SourceInfo};

/// Mean idle power per source id, from one idle run.
#[derive(Debug, Clone)]
pub struct IdleBaseline {
    pub dir: PathBuf,
    pub platform: String,
    pub power_w: BTreeMap<String, f64>,
    pub duration_s: f64,
}

impl IdleBaseline {
    /// Reads the idle run in `dir`, or says why it cannot serve.
    pub fn read(dir: &Path, gap_tolerance_s: f64) -> Result<Self, String> {
        let manifest = Manifest::read(&dir.join(MANIFEST_FILE)).map_err(|e| e.to_string())?;
        let segs = Segments::Files(segment_files(dir)?);
        let ids: Vec<String> = manifest.sources.iter().map(|s| s.id.clone()).collect();
        let gap_ns: Vec<i64> = manifest
            .sources
            .iter()
            .map(|s| gap_tolerance_ns(gap_tolerance_s, s.poll_hz))
            .collect();
        let counters = manifest
            .sources
            .iter()
            .any(|s| s.method == Method::MeasuredCounter);
        // One boundary after every sample: the whole run is "before" it.
        let mut fold = RunFold::new(vec![i64::MAX], &gap_ns, counters);
        let set = SourceSet {
            selected: &ids,
            listed: &ids,
        };
        scan_run(&segs, set, counters, &mut fold, false)
            .map_err(|e| format!("{}: {}", segs.name(e.file).display(), e.message))?;
        check_problems(&fold, &segs, &ids, &gap_ns, 0, true, &mut Vec::new())
            .map_err(|e| e.message)?;
        let mut power_w = BTreeMap::new();
        let mut duration_s = f64::INFINITY;
        for (s, info) in fold.sources.iter().zip(&manifest.sources) {
            let (w, secs) = mean_power(s, info)?;
            power_w.insert(info.id.clone(), w);
            duration_s = duration_s.min(secs);
        }
        if power_w.is_empty() {
            return Err("the idle run has no sources".into());
        }
        Ok(Self {
            dir: dir.to_path_buf(),
            platform: manifest.platform,
            power_w,
            duration_s,
        })
    }

    /// The summed idle power of `sources` for a run recorded on `platform`,
    /// W, or why this baseline does not apply to it.
    pub fn power_for(&self, platform: &str, sources: &[SourceInfo]) -> Result<f64, String> {
        if platform != self.platform {
            return Err(format!(
                "the idle run {} was recorded on platform `{}`, this run on `{platform}`",
                self.dir.display(),
                self.platform
            ));
        }
        sources
            .iter()
            .map(|s| {
                self.power_w.get(&s.id).copied().ok_or_else(|| {
                    format!(
                        "source `{}` is not in the idle run {} (it has: {})",
                        s.id,
                        self.dir.display(),
                        self.power_w.keys().cloned().collect::<Vec<_>>().join(", ")
                    )
                })
            })
            .sum()
    }
}

/// A source's mean power over its readings, W, and the time they span, s.
fn mean_power(s: &crate::fold::SourceFold, info: &SourceInfo) -> Result<(f64, f64), String> {
    if let (Some((t0, e0)), Some((t1, e1))) = (s.c_first, s.c_last()) {
        if t1 > t0 {
            let secs = (t1 - t0) as f64 * 1e-9;
            return Ok(((e1 - e0) as f64 * 1e-6 / secs, secs));
        }
    }
    match (s.p_first_t, s.p_last_t()) {
        (Some(t0), Some(t1)) if t1 > t0 => {
            let secs = (t1 - t0) as f64 * 1e-9;
            Ok((s.area_ws[0] / secs, secs))
        }
        _ => Err(format!(
            "source `{}` has fewer than two readings in the idle run",
            info.id
        )),
    }
}
