//! Assembling one run from parsed logs: one clock for every source, the
//! epochs placed on it, the manifest, and the rows to write.
//!
//! The clock: `t_ns = 0` is the first power sample of any log. Logs with
//! wall-clock times (nvidia-smi, a generic CSV with date-times) are put on
//! it by their UTC times; logs without (pinpoint, relative seconds) start at
//! their own zero, which `--start` places in wall-clock time. A run made
//! only of relative logs keeps their zero as its origin, so a pinpoint
//! trace's first sample is at one interval, where pinpoint took it. Mixing
//! the two kinds without `--start` is refused: guessing the offset would
//! misalign every epoch.

use super::placement::{place, Clock, Placement};
use super::time::{compact_utc, format_utc, Stamp};
use super::{EpochLog, ImportError, PowerLog};
use std::collections::BTreeMap;
use std::path::PathBuf;
use trainwatt_trace::layout::Partition;
use trainwatt_trace::{
    EpochRow, GpuFacts, HostFacts, ImportInfo, Manifest, RunStatus, SamplerStats, SourceInfo,
    Workload, SCHEMA_VERSION,
};

/// Labels of the run (`--platform`, `--dataset`, `--arch`, `--width`,
/// `--run-id`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunLabels {
    pub platform: Option<String>,
    pub dataset: Option<String>,
    pub arch: Option<String>,
    pub width: Option<u32>,
    pub run_id: Option<String>,
}

/// One sample row: the format's row type (`trainwatt_trace::writer`).
pub use trainwatt_trace::writer::SampleRow;

/// What one source contributes, for the importer's summary.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceSummary {
    pub id: String,
    pub samples: usize,
    pub first_ns: i64,
    pub last_ns: i64,
    /// Trapezoid of power over the source's samples, or the counter's
    /// difference where it has one, J.
    pub energy_j: f64,
}

/// A run ready to be written.
#[derive(Debug, Clone)]
pub struct ImportedRun {
    pub manifest: Manifest,
    pub partition: Partition,
    pub source_ids: Vec<String>,
    /// Sorted by (source, t_ns).
    pub samples: Vec<SampleRow>,
    /// Empty when the logs had no epochs (no `epochs.parquet` is written).
    pub epochs: Vec<EpochRow>,
    pub summary: Vec<SourceSummary>,
}

/// Everything one run is made of.
#[derive(Debug)]
pub struct Inputs<'a> {
    /// Power logs with the file each came from.
    pub power: Vec<(PathBuf, PowerLog)>,
    pub epochs: Option<(&'a EpochLog, &'a Placement)>,
    /// `--start`: UTC ns of the zero of logs without wall-clock times.
    pub start_wall: Option<i64>,
    pub labels: &'a RunLabels,
    pub imported: ImportInfo,
    /// Hex digest of the inputs, for the default run id.
    pub digest: &'a str,
    pub command: Vec<String>,
}

/// Builds the run.
pub fn assemble(inp: Inputs<'_>) -> Result<ImportedRun, ImportError> {
    let scale = Scale::of(&inp)?;
    let mut c = collect_series(&inp.power, &scale)?;
    let covered = common_window(&c.summary)?;
    let clock = Clock {
        origin_wall: scale.origin_wall,
        covered,
    };
    let (epochs, approximate) = match inp.epochs {
        Some((log, placement)) => (place(log, placement, &clock)?, placement.is_rule()),
        None => (Vec::new(), false),
    };
    if scale.origin_wall.is_none() {
        c.warnings.push(
            "the logs carry no wall-clock time, so started_at_utc is unknown (empty); \
             give --start to record it"
                .into(),
        );
    }
    if epochs.is_empty() {
        c.warnings.push(
            "no epoch log was imported: the analyzer's epoch-based commands leave this run out"
                .into(),
        );
    }
    let end_ns = c.summary.iter().map(|s| s.last_ns).max().unwrap_or(0);
    let ticks = c
        .summary
        .iter()
        .map(|s| s.samples as u64)
        .max()
        .unwrap_or(0);
    let rate_hz = c.sources.iter().map(|s| s.poll_hz).fold(0.0, f64::max);
    let host = HostFacts {
        gpus: c.gpus,
        ..HostFacts::default()
    };
    let run_id = inp.labels.run_id.clone().unwrap_or_else(|| {
        let short = &inp.digest[..inp.digest.len().min(12)];
        match scale.origin_wall {
            Some(w) => format!("import-{}-{short}", compact_utc(w)),
            None => format!("import-{short}"),
        }
    });
    let manifest = new_manifest(ManifestParts {
        run_id,
        origin_wall: scale.origin_wall,
        end_ns,
        host,
        sources: c.sources,
        sampler: SamplerStats {
            rate_hz,
            ticks,
            segments: 1,
            compacted: true,
            ..SamplerStats::default()
        },
        labels: inp.labels,
        command: inp.command,
        imported: inp.imported,
        warnings: c.warnings,
        approximate,
    })?;
    let mut samples = c.samples;
    samples.sort_by_key(|r| (r.source, r.t_ns));
    Ok(ImportedRun {
        partition: partition_of(&manifest),
        source_ids: manifest.sources.iter().map(|s| s.id.clone()).collect(),
        manifest,
        samples,
        epochs,
        summary: c.summary,
    })
}

/// The one time scale every log's points are put on: UTC ns when any log
/// has wall-clock times (relative logs then need `--start`), else the
/// relative logs' shared zero; `origin` is where the run's t = 0 falls.
struct Scale {
    any_wall: bool,
    start_wall: Option<i64>,
    origin: i64,
    origin_wall: Option<i64>,
}

impl Scale {
    fn of(inp: &Inputs<'_>) -> Result<Self, ImportError> {
        let is_wall = |log: &PowerLog| {
            log.series
                .iter()
                .flat_map(|s| s.points.first())
                .any(|p| matches!(p.at, Stamp::Wall(_)))
        };
        let walled: Vec<bool> = inp.power.iter().map(|(_, l)| is_wall(l)).collect();
        let any_wall = walled.iter().any(|w| *w);
        if any_wall && inp.start_wall.is_none() {
            if let Some((((rel, _), _), ((abs, _), _))) = inp
                .power
                .iter()
                .zip(&walled)
                .find(|(_, w)| !**w)
                .zip(inp.power.iter().zip(&walled).find(|(_, w)| **w))
            {
                return Err(ImportError::Invalid(format!(
                    "{} has no wall-clock times and {} has: give --start (when the first log \
                     began, e.g. 2025-04-24T15:58:57+02:00) to put them on one clock",
                    rel.display(),
                    abs.display()
                )));
            }
        }
        let mut scale = Self {
            any_wall,
            start_wall: inp.start_wall,
            origin: 0,
            origin_wall: inp.start_wall,
        };
        if any_wall {
            scale.origin = inp
                .power
                .iter()
                .flat_map(|(_, l)| &l.series)
                .filter_map(|s| s.points.first())
                .map(|p| scale.absolute(p.at))
                .min()
                .unwrap_or(0);
            scale.origin_wall = Some(scale.origin);
        }
        Ok(scale)
    }

    /// A stamp on the common scale, before the origin is subtracted.
    fn absolute(&self, at: Stamp) -> i64 {
        match (at, self.any_wall) {
            (Stamp::Wall(w), _) => w,
            (Stamp::Offset(o), true) => self.start_wall.unwrap_or(0).saturating_add(o),
            (Stamp::Offset(o), false) => o,
        }
    }

    /// A stamp as the run's `t_ns`.
    fn t_ns(&self, at: Stamp) -> i64 {
        self.absolute(at).saturating_sub(self.origin)
    }
}

/// Every power log's series as the run's sources and sample rows.
struct Collected {
    sources: Vec<SourceInfo>,
    samples: Vec<SampleRow>,
    summary: Vec<SourceSummary>,
    gpus: Vec<GpuFacts>,
    warnings: Vec<String>,
}

/// Puts every series of every log on `scale` as one source each; a source
/// id in two logs, or a time before the run's zero, is an error.
fn collect_series(power: &[(PathBuf, PowerLog)], scale: &Scale) -> Result<Collected, ImportError> {
    let invalid = ImportError::Invalid;
    let mut c = Collected {
        sources: Vec::new(),
        samples: Vec::new(),
        summary: Vec::new(),
        gpus: Vec::new(),
        warnings: Vec::new(),
    };
    let mut from_file: Vec<&PathBuf> = Vec::new();
    for (path, log) in power {
        c.warnings.extend(log.notes.iter().cloned());
        for g in &log.gpus {
            if !c.gpus.contains(g) {
                c.gpus.push(g.clone());
            }
        }
        for s in &log.series {
            if let Some(k) = c.sources.iter().position(|o| o.id == s.source.id) {
                return Err(invalid(format!(
                    "source `{}` is in both {} and {}: import them as separate runs",
                    s.source.id,
                    from_file[k].display(),
                    path.display()
                )));
            }
            let index = u16::try_from(c.sources.len())
                .map_err(|_| invalid("more than 65535 power sources".into()))?;
            let mut info = s.source.clone();
            let mut pts = Vec::with_capacity(s.points.len());
            for p in &s.points {
                let t = scale.t_ns(p.at);
                if t < 0 {
                    return Err(invalid(format!(
                        "{}: line {}: time {:.3} s is before the log's zero (negative times are \
                         not supported)",
                        path.display(),
                        p.line,
                        t as f64 * 1e-9
                    )));
                }
                pts.push(SampleRow {
                    t_ns: t,
                    source: index,
                    power_w: p.power_w,
                    energy_uj: p.energy_uj,
                });
            }
            let (Some(first), Some(last)) = (pts.first(), pts.last()) else {
                continue;
            };
            let span = last.t_ns - first.t_ns;
            if pts.len() > 1 && span > 0 {
                info.poll_hz = (pts.len() - 1) as f64 / (span as f64 * 1e-9);
            }
            c.summary.push(SourceSummary {
                id: info.id.clone(),
                samples: pts.len(),
                first_ns: first.t_ns,
                last_ns: last.t_ns,
                energy_j: energy_j(&pts),
            });
            c.samples.extend(pts);
            c.sources.push(info);
            from_file.push(path);
        }
    }
    if c.sources.is_empty() {
        return Err(invalid("no power samples to import".into()));
    }
    Ok(c)
}

/// The window every source covers, (latest first sample, earliest last);
/// logs that do not overlap are an error.
fn common_window(summary: &[SourceSummary]) -> Result<(i64, i64), ImportError> {
    let covered = (
        summary.iter().map(|s| s.first_ns).max().unwrap_or(0),
        summary.iter().map(|s| s.last_ns).min().unwrap_or(0),
    );
    if summary.len() > 1 && covered.0 >= covered.1 {
        return Err(ImportError::Invalid(format!(
            "the power logs do not overlap in time ({}); check --timezone and --start",
            summary
                .iter()
                .map(|s| format!("{} {:.3}..{:.3} s", s.id, secs(s.first_ns), secs(s.last_ns)))
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    Ok(covered)
}

/// The parts of a manifest that differ between imports.
#[derive(Debug)]
pub(crate) struct ManifestParts<'a> {
    pub run_id: String,
    pub origin_wall: Option<i64>,
    /// Last sample, run ns.
    pub end_ns: i64,
    pub host: HostFacts,
    pub sources: Vec<SourceInfo>,
    pub sampler: SamplerStats,
    pub labels: &'a RunLabels,
    pub command: Vec<String>,
    pub imported: ImportInfo,
    pub warnings: Vec<String>,
    pub approximate: bool,
}

/// A complete manifest for an imported run.
pub(crate) fn new_manifest(p: ManifestParts<'_>) -> Result<Manifest, ImportError> {
    let platform = match &p.labels.platform {
        Some(name) => name.clone(),
        None => p.host.platform_name().ok_or_else(|| {
            ImportError::Invalid(
                "the logs do not name the machine: give --platform NAME".to_string(),
            )
        })?,
    };
    Ok(Manifest {
        schema_version: SCHEMA_VERSION,
        run_id: p.run_id,
        started_at_utc: p.origin_wall.map(format_utc).unwrap_or_default(),
        ended_at_utc: p
            .origin_wall
            .map(|w| format_utc(w.saturating_add(p.end_ns))),
        status: RunStatus::Complete,
        platform,
        host: p.host,
        sources: p.sources,
        sampler: p.sampler,
        workload: Workload {
            kind: "import".into(),
            command: p.command,
            arch: p.labels.arch.clone(),
            width: p.labels.width,
            dataset: p.labels.dataset.clone(),
            ..Workload::default()
        },
        epochs_approximate: p.approximate,
        imported: Some(p.imported),
        warnings: p.warnings,
        error: None,
        writer: format!("analyzer import {}", env!("CARGO_PKG_VERSION")),
    })
}

/// The archive partition of a run, as the recorder lays runs out.
pub(crate) fn partition_of(m: &Manifest) -> Partition {
    Partition {
        platform: m.platform.clone(),
        dataset: m.workload.dataset.clone().unwrap_or_else(|| "none".into()),
        arch: m.workload.arch.clone().unwrap_or_else(|| "none".into()),
        width: m.workload.width.unwrap_or(0),
    }
}

/// Energy of one source's rows (sorted by time): the counter's difference
/// where every row has one, else the trapezoid of power.
pub(crate) fn energy_j(rows: &[SampleRow]) -> f64 {
    let counters: Option<Vec<i64>> = rows.iter().map(|r| r.energy_uj).collect();
    if let (Some(c), true) = (counters, rows.len() > 1) {
        return (c[c.len() - 1] - c[0]) as f64 * 1e-6;
    }
    rows.windows(2)
        .filter_map(|w| {
            let (a, b) = (w[0].power_w?, w[1].power_w?);
            Some((f64::from(a) + f64::from(b)) / 2.0 * (w[1].t_ns - w[0].t_ns) as f64 * 1e-9)
        })
        .sum()
}

fn secs(ns: i64) -> f64 {
    ns as f64 * 1e-9
}

/// Options recorded in `imported.options`, skipping the unset ones.
pub(crate) fn options_map(
    pairs: Vec<(&str, Option<serde_json::Value>)>,
) -> BTreeMap<String, serde_json::Value> {
    pairs
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k.to_string(), v)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::placement::parse_window;
    use crate::{EpochEntry, PowerPoint, PowerSeries};
    use trainwatt_trace::{Domain, Method};

    const S: i64 = 1_000_000_000;

    fn series(id: &str, stamps: &[Stamp], w: f32) -> PowerSeries {
        PowerSeries {
            source: SourceInfo {
                id: id.into(),
                domain: Domain::Gpu,
                method: Method::MeasuredPower,
                description: String::new(),
                poll_hz: 0.0,
                settings: BTreeMap::new(),
            },
            points: stamps
                .iter()
                .enumerate()
                .map(|(i, &at)| PowerPoint {
                    line: i as u64 + 2,
                    at,
                    power_w: Some(w),
                    energy_uj: None,
                })
                .collect(),
        }
    }

    fn log(series: Vec<PowerSeries>) -> PowerLog {
        PowerLog {
            series,
            ..PowerLog::default()
        }
    }

    fn labels() -> RunLabels {
        RunLabels {
            platform: Some("box".into()),
            ..RunLabels::default()
        }
    }

    fn inputs<'a>(power: Vec<(PathBuf, PowerLog)>, labels: &'a RunLabels) -> Inputs<'a> {
        Inputs {
            power,
            epochs: None,
            start_wall: None,
            labels,
            imported: ImportInfo::default(),
            digest: "0123456789abcdef",
            command: vec![],
        }
    }

    #[test]
    fn wall_clock_logs_share_the_earliest_sample_as_origin() {
        let w = |s: i64| Stamp::Wall(1_700_000_000 * S + s * S);
        let a = log(vec![series("nvml:0", &[w(1), w(2), w(3)], 10.0)]);
        let b = log(vec![series("csv:cpu", &[w(0), w(4)], 20.0)]);
        let l = labels();
        let run = assemble(inputs(vec![("a".into(), a), ("b".into(), b)], &l)).unwrap();
        assert_eq!(
            run.manifest.started_at_utc,
            "2023-11-14T22:13:20.000000000Z"
        );
        assert_eq!(run.manifest.run_id, "import-20231114T221320Z-0123456789ab");
        let gpu = &run.summary[0];
        assert_eq!((gpu.first_ns, gpu.last_ns), (S, 3 * S));
        assert!((gpu.energy_j - 20.0).abs() < 1e-9);
        assert_eq!(run.manifest.sources[0].poll_hz, 1.0);
        assert_eq!(run.samples[0].source, 0);
        assert_eq!(run.manifest.status, RunStatus::Complete);
        assert_eq!(run.manifest.workload.kind, "import");
    }

    #[test]
    fn relative_and_wall_logs_need_start_and_ids_must_differ() {
        let rel = log(vec![series("rapl:pkg", &[Stamp::Offset(S)], 5.0)]);
        let abs = log(vec![series("nvml:0", &[Stamp::Wall(S)], 5.0)]);
        let l = labels();
        let e = assemble(inputs(
            vec![("p.txt".into(), rel.clone()), ("s.csv".into(), abs)],
            &l,
        ))
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("p.txt has no wall-clock times") && e.contains("--start"),
            "{e}"
        );
        let e = assemble(inputs(
            vec![("a".into(), rel.clone()), ("b".into(), rel)],
            &l,
        ))
        .unwrap_err()
        .to_string();
        assert!(e.contains("source `rapl:pkg` is in both a and b"), "{e}");
    }

    #[test]
    fn epochs_by_rule_are_marked_approximate_and_platform_is_required() {
        let stamps: Vec<Stamp> = (1..=10).map(|k| Stamp::Offset(k * S)).collect();
        let p = log(vec![series("rapl:pkg", &stamps, 5.0)]);
        let elog = EpochLog {
            path: "k.csv".into(),
            entries: (1..=3)
                .map(|epoch| EpochEntry {
                    line: 1 + u64::from(epoch),
                    epoch,
                    train_acc: Some(0.9),
                    test_acc: None,
                    train_loss: None,
                    test_loss: None,
                    examples: None,
                    start: None,
                    end: None,
                })
                .collect(),
            columns: vec![],
            first_line: 2,
        };
        let (start, end) = parse_window("start..end", None).unwrap();
        let rule = Placement::Equal {
            start,
            end,
            text: "start..end".into(),
        };
        let l = labels();
        let mut i = inputs(vec![("p".into(), p.clone())], &l);
        i.epochs = Some((&elog, &rule));
        let run = assemble(i).unwrap();
        assert!(run.manifest.epochs_approximate);
        assert_eq!(run.epochs[0].start_ns, S);
        assert_eq!(run.epochs[2].end_ns, 10 * S);
        assert_eq!(run.manifest.started_at_utc, "");
        assert_eq!(run.manifest.run_id, "import-0123456789ab");
        let none = RunLabels::default();
        let e = assemble(inputs(vec![("p".into(), p)], &none))
            .unwrap_err()
            .to_string();
        assert!(e.contains("--platform"), "{e}");
    }
}
