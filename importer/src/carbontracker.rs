//! carbontracker's standard log, `…_carbontracker.log` (lfwa/carbontracker:
//! `tracker.py` writes it through `loggerutil.py`; the format read here is
//! the one its own `parser.py` reads). Each line is
//! `YYYY-MM-DD HH:MM:SS - MESSAGE` (local time, to the second: 2.x,
//! `loggerutil.py` at commit efc408e5; older versions wrote
//! `YYYY-MM-DD HH:MM:SS,mmm - THREAD - LEVEL - MESSAGE`, e.g. at 05de010c),
//! and at the end of every epoch the tracker writes
//!
//! ```text
//! … - Epoch 1:
//! … - Duration: 0:00:15.68
//! … - Average power usage (W) for gpu: [251.36 180.12]
//! … - Average power usage (W) for cpu: [43.2]
//! ```
//!
//! (one mean power per device of the component, or `None` when the epoch
//! was too short for a reading), after a line `The following components
//! were found: GPU with device(s) NVIDIA A100-SXM4-40GB. CPU with device(s)
//! cpu:0.` naming the devices. carbontracker's own per-epoch energy is that
//! mean power times the duration (`parser.py`), without the PUE factor that
//! its `…_output.log` totals (kWh) include; the importer reads the standard
//! log for that reason.
//!
//! Each device becomes a counter source `carbontracker:gpu:0`,
//! `carbontracker:cpu:0`, … read at each epoch's start and end (the epoch
//! ends when its `Epoch N:` line is stamped and starts its duration
//! earlier). GPUs (NVML) and RAPL CPUs (devices `cpu:N`) are measured; a CPU
//! named by its model is carbontracker's TDP estimate and is `modelled`.
//! The epochs are offered for placing an epoch log's epochs; since the
//! stamps are to the second, such epochs are marked approximate.

use super::carbontracker_lines::{Epoch, LineReader, Stated};
use super::time::{Stamp, Zone};
use super::{span_counter_points, ParseError, PowerCheck, PowerLog, PowerSeries, Span, Window};
use std::collections::BTreeMap;
use std::path::Path;
use trainwatt_trace::{Domain, GpuFacts, Method, SourceInfo};

/// Components in order of appearance, with their device count.
fn component_counts(epochs: &[Epoch]) -> Vec<(String, usize)> {
    let mut names: Vec<(String, usize)> = Vec::new();
    for e in epochs {
        for (c, p) in &e.power {
            let count = p.as_ref().map_or(0, Vec::len);
            match names.iter_mut().find(|(n, _)| n == c) {
                Some((_, k)) => *k = (*k).max(count),
                None => names.push((c.clone(), count)),
            }
        }
    }
    names
}

/// Epoch bounds (UTC ns): end at the stamp, start a duration earlier but
/// not before the previous end (stamps are cut to the second). Also how
/// many epochs were started at the previous end for that reason.
fn epoch_bounds(path: &Path, epochs: &[Epoch]) -> Result<(Vec<(i64, i64)>, usize), ParseError> {
    let mut clamped = 0usize;
    let mut bounds: Vec<(i64, i64)> = Vec::with_capacity(epochs.len());
    for e in epochs {
        let d = e.duration_ns.ok_or_else(|| {
            ParseError::line(
                path,
                e.line,
                format!("epoch {} has no Duration line", e.number),
            )
        })?;
        let mut start = e.end_ns - d;
        if let Some(&(_, prev)) = bounds.last() {
            if start < prev {
                start = prev;
                clamped += 1;
            }
        }
        if e.end_ns <= start {
            return Err(ParseError::line(
                path,
                e.line,
                format!(
                    "epoch {} ends where the previous one ends: the stamps do not leave room \
                     for its duration",
                    e.number
                ),
            ));
        }
        bounds.push((start, e.end_ns));
    }
    Ok((bounds, clamped))
}

/// One component (`gpu`, `cpu`) as its sources need it.
struct Component<'c> {
    name: &'c str,
    domain: Domain,
    devices: Vec<String>,
    /// NVML and RAPL are measured; a CPU named by its model is a TDP estimate.
    measured: bool,
}

/// Builds the counter sources, one per device of each component.
struct SeriesBuilder<'a> {
    path: &'a Path,
    stated: &'a Stated,
    bounds: &'a [(i64, i64)],
    notes: Vec<String>,
    series: Vec<PowerSeries>,
    gpus: Vec<GpuFacts>,
}

impl SeriesBuilder<'_> {
    /// The sources of component `name` with `count` devices; a component
    /// other than gpu and cpu is left out with a note.
    fn component(&mut self, name: &str, count: usize) {
        let domain = match name {
            "gpu" => Domain::Gpu,
            "cpu" => Domain::CpuPackage,
            other => {
                self.notes.push(format!(
                    "{}: component '{other}' left out (only gpu and cpu are known)",
                    self.path.display()
                ));
                return;
            }
        };
        let devices = self
            .stated
            .comps
            .iter()
            .find(|(c, _)| c == name)
            .map(|(_, d)| d.clone())
            .unwrap_or_default();
        let measured = domain == Domain::Gpu || devices.iter().all(|d| d.starts_with("cpu:"));
        if domain == Domain::Gpu {
            self.gpus.extend(devices.iter().map(|d| GpuFacts {
                name: d.clone(),
                ..GpuFacts::default()
            }));
        }
        let comp = Component {
            name,
            domain,
            devices,
            measured,
        };
        let mut missing = 0usize;
        for dev in 0..count.max(1) {
            let without = self.device(&comp, dev);
            if dev == 0 {
                missing = without;
            }
        }
        if missing > 0 {
            self.notes.push(format!(
                "{}: {missing} epoch(s) without a {name} power reading (shorter than \
                 carbontracker's interval): counted as 0 J, as carbontracker does",
                self.path.display()
            ));
        }
    }

    /// The counter source of device `dev`; returns how many epochs had no
    /// reading of it.
    fn device(&mut self, comp: &Component, dev: usize) -> usize {
        let id = format!("carbontracker:{}:{dev}", comp.name);
        let mut check = PowerCheck::new(
            self.path,
            &id,
            comp.domain,
            "that the log is carbontracker's",
        );
        let mut missing = 0usize;
        let spans: Vec<Span> = self
            .stated
            .epochs
            .iter()
            .zip(self.bounds)
            .map(|(e, &(start, end))| {
                let w = e
                    .power
                    .iter()
                    .find(|(c, _)| c == comp.name)
                    .and_then(|(_, p)| p.as_ref())
                    .and_then(|p| p.get(dev).copied());
                if w.is_none() {
                    missing += 1;
                }
                // carbontracker counts an epoch without a reading as 0 W.
                let w = w.unwrap_or(0.0);
                Span {
                    line: e.line,
                    start_ns: start,
                    end_ns: end,
                    power_w: w,
                    energy_uj: w * (end - start) as f64 * 1e-3,
                }
            })
            .collect();
        let points = span_counter_points(&spans, &mut check);
        self.notes.extend(check.notes());
        let device = comp.devices.get(dev).cloned().unwrap_or_default();
        self.series.push(PowerSeries {
            source: device_source(id, comp, device),
            points,
        });
        missing
    }
}

/// The source of one device (`device`: its name as the log gives it).
fn device_source(id: String, comp: &Component, device: String) -> SourceInfo {
    let mut settings = BTreeMap::new();
    settings.insert("component".to_string(), comp.name.to_string().into());
    settings.insert("device".to_string(), device.clone().into());
    SourceInfo {
        id,
        domain: comp.domain,
        method: if comp.measured {
            Method::MeasuredCounter
        } else {
            Method::Modelled
        },
        description: format!(
            "carbontracker mean power per epoch × duration{}{}",
            if device.is_empty() {
                String::new()
            } else {
                format!(", {device}")
            },
            if comp.measured {
                ""
            } else {
                " (carbontracker's TDP estimate, not a measurement)"
            }
        ),
        poll_hz: 0.0,
        settings,
    }
}

/// Parses a carbontracker standard log; local times need `zone`.
pub fn parse(path: &Path, text: &str, zone: &Zone) -> Result<PowerLog, ParseError> {
    let stated = LineReader::read(path, text, zone)?;
    let names = component_counts(&stated.epochs);
    let (bounds, clamped) = epoch_bounds(path, &stated.epochs)?;
    let mut out = SeriesBuilder {
        path,
        stated: &stated,
        bounds: &bounds,
        notes: Vec::new(),
        series: Vec::new(),
        gpus: Vec::new(),
    };
    for (comp, count) in &names {
        out.component(comp, *count);
    }
    if out.series.is_empty() {
        return Err(ParseError::line(
            path,
            stated.epochs[0].line,
            "no `Average power usage (W) for gpu|cpu` line",
        ));
    }
    let mut notes = out.notes;
    if clamped > 0 {
        notes.push(format!(
            "{}: {clamped} epoch(s) would start before the previous one ended (the log's stamps \
             are to the second): started at the previous end",
            path.display()
        ));
    }
    if stated.interrupted {
        notes.push(format!(
            "{}: carbontracker says the training was interrupted before all its epochs",
            path.display()
        ));
    }
    Ok(PowerLog {
        series: out.series,
        gpus: out.gpus,
        notes,
        windows: epoch_windows(&stated, &bounds),
    })
}

/// The epochs as windows for placing an epoch log's epochs.
fn epoch_windows(stated: &Stated, bounds: &[(i64, i64)]) -> Vec<Window> {
    stated
        .epochs
        .iter()
        .zip(bounds)
        .map(|(e, &(start, end))| Window {
            line: e.line,
            name: format!("epoch {}", e.number),
            start: Stamp::Wall(start),
            end: Stamp::Wall(end),
            coarse: stated.coarse,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = 1_000_000_000;

    fn utc() -> Zone {
        "UTC".parse().unwrap()
    }

    const LOG: &str = "\
2024-03-05 10:00:00 - carbontracker version 2.0.0
2024-03-05 10:00:01 - The following components were found: GPU with device(s) NVIDIA A100-SXM4-40GB, NVIDIA A100-SXM4-40GB. CPU with device(s) cpu:0.
2024-03-05 10:00:01 - Monitoring thread started.
2024-03-05 10:00:12 - Epoch 1:
2024-03-05 10:00:12 - Duration: 0:00:10.00
2024-03-05 10:00:12 - Average power usage (W) for gpu: [200. 100.]
2024-03-05 10:00:12 - Average power usage (W) for cpu: [40.]
2024-03-05 10:00:25 - Epoch 2:
2024-03-05 10:00:25 - Duration: 0:00:12.50
2024-03-05 10:00:25 - Average power usage (W) for gpu: [220.5 110.]
2024-03-05 10:00:25 - Average power usage (W) for cpu: None
";

    #[test]
    fn epochs_become_counters_per_device() {
        let log = parse(Path::new("ct.log"), LOG, &utc()).unwrap();
        let ids: Vec<&str> = log.series.iter().map(|s| s.source.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "carbontracker:gpu:0",
                "carbontracker:gpu:1",
                "carbontracker:cpu:0"
            ]
        );
        assert_eq!(log.gpus.len(), 2);
        assert_eq!(log.gpus[0].name, "NVIDIA A100-SXM4-40GB");
        let t0 = 1_709_632_800 * S; // 2024-03-05T10:00:00Z
                                    // GPU 0: epoch 1 10:00:02..10:00:12 at 200 W (2000 J), epoch 2
                                    // 10:00:12.5..10:00:25 at 220.5 W (2756.25 J).
        let g0: Vec<(Stamp, Option<i64>)> = log.series[0]
            .points
            .iter()
            .map(|p| (p.at, p.energy_uj))
            .collect();
        assert_eq!(
            g0,
            [
                (Stamp::Wall(t0 + 2 * S), Some(0)),
                (Stamp::Wall(t0 + 12 * S), Some(2_000_000_000)),
                (Stamp::Wall(t0 + 12 * S + S / 2), Some(2_000_000_000)),
                (Stamp::Wall(t0 + 25 * S), Some(4_756_250_000)),
            ]
        );
        let cpu = &log.series[2];
        assert_eq!(cpu.source.method, Method::MeasuredCounter);
        assert_eq!(cpu.source.domain, Domain::CpuPackage);
        assert_eq!(cpu.points.last().unwrap().energy_uj, Some(400_000_000));
        assert!(
            log.notes[0].contains("1 epoch(s) without a cpu power reading"),
            "{:?}",
            log.notes
        );
        assert_eq!(log.windows.len(), 2);
        assert!(log.windows[0].coarse);
    }

    #[test]
    fn old_format_wrapped_lists_and_faults() {
        let old = "\
2020-06-01 12:00:00,250 - MainThread - INFO - The following components were found: GPU with device(s) Tesla V100.
2020-06-01 12:00:10,500 - CarbonTrackerThread - INFO - Epoch 1:
2020-06-01 12:00:10,500 - CarbonTrackerThread - INFO - Duration: 0:00:10.25
2020-06-01 12:00:10,500 - CarbonTrackerThread - INFO - Average power usage (W) for gpu: [100.
 300.]
2020-06-01 12:00:11,000 - MainThread - INFO - Training was interrupted before all 5 epochs were monitored.
";
        let log = parse(Path::new("ct.log"), old, &utc()).unwrap();
        assert_eq!(log.series.len(), 2);
        assert!(!log.windows[0].coarse);
        assert_eq!(
            log.series[1].points[1].energy_uj,
            Some(3_075_000_000),
            "300 W for 10.25 s"
        );
        assert!(
            log.notes.iter().any(|n| n.contains("interrupted")),
            "{:?}",
            log.notes
        );
        let e = parse(Path::new("ct.log"), "2024-03-05 10:00:00 - hello\n", &utc()).unwrap_err();
        assert!(e.message.contains("no `Epoch N:` line"), "{e}");
        let bad = LOG.replace("Epoch 2:", "Epoch 3:");
        let e = parse(Path::new("ct.log"), &bad, &utc()).unwrap_err();
        assert!(e.line == 8 && e.message.contains("epoch 3 where 2"), "{e}");
        let modelled = LOG.replace("cpu:0.", "Intel(R) Xeon(R) CPU E5-2680 v4 @ 2");
        let log = parse(Path::new("ct.log"), &modelled, &utc()).unwrap();
        assert_eq!(log.series[2].source.method, Method::Modelled);
    }
}
