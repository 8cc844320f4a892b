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

use super::time::{Stamp, Zone};
use super::{ParseError, PowerCheck, PowerLog, PowerPoint, PowerSeries, Window};
use chrono::NaiveDateTime;
use std::collections::BTreeMap;
use std::path::Path;
use trainwatt_trace::{Domain, GpuFacts, Method, SourceInfo};

/// One epoch as the log states it.
#[derive(Debug, Clone, PartialEq)]
struct Epoch {
    line: u64,
    number: u32,
    /// UTC ns of the `Epoch N:` line.
    end_ns: i64,
    duration_ns: Option<i64>,
    /// Component -> mean W per device (`None`: no reading).
    power: Vec<(String, Option<Vec<f64>>)>,
}

/// A line's stamp (UTC ns, and whether it had milliseconds) and message.
fn split_line(line: &str, zone: &Zone) -> Option<(i64, bool, String)> {
    let head = line.get(..19)?;
    let naive = NaiveDateTime::parse_from_str(head, "%Y-%m-%d %H:%M:%S").ok()?;
    let mut rest = &line[19..];
    let mut ns = zone.to_utc_ns(&naive).ok()?;
    let mut fine = false;
    if let Some(ms) = rest
        .strip_prefix(',')
        .and_then(|r| r.get(..3))
        .and_then(|d| d.parse::<i64>().ok())
    {
        ns += ms * 1_000_000;
        fine = true;
        rest = &rest[4..];
    }
    let rest = rest.strip_prefix(" - ")?;
    // Older versions: THREAD - LEVEL - MESSAGE.
    let parts: Vec<&str> = rest.splitn(3, " - ").collect();
    let message = match parts.as_slice() {
        [_, level, msg]
            if matches!(*level, "DEBUG" | "INFO" | "WARNING" | "ERROR" | "CRITICAL") =>
        {
            msg
        }
        _ => rest,
    };
    Some((ns, fine, message.trim_end().to_string()))
}

/// `H:MM:SS` or `H:MM:SS.ff` -> ns.
fn duration_ns(s: &str) -> Option<i64> {
    let mut it = s.trim().splitn(3, ':');
    let h: f64 = it.next()?.parse().ok()?;
    let m: f64 = it.next()?.parse().ok()?;
    let sec: f64 = it.next()?.parse().ok()?;
    let v = (h * 3600.0 + m * 60.0 + sec) * 1e9;
    (0.0..3.2e16).contains(&v).then(|| v.round() as i64)
}

/// `GPU with device(s) A, B. CPU with device(s) cpu:0.` -> components and
/// devices, read as carbontracker's `parser.get_devices` reads them.
fn components(text: &str) -> Vec<(String, Vec<String>)> {
    const MARK: &str = " with device(s) ";
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find(MARK) {
        let name = rest[..at]
            .rsplit(['.', ':'])
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        let after = &rest[at + MARK.len()..];
        let end = after.find('.').unwrap_or(after.len());
        let devices = after[..end]
            .split(',')
            .map(|d| d.trim().to_string())
            .filter(|d| !d.is_empty())
            .collect();
        out.push((name, devices));
        rest = &after[end..];
    }
    out
}

/// `[251.36 180.12]`, `251.3` or `None`.
fn powers(s: &str) -> Result<Option<Vec<f64>>, String> {
    let t = s.trim();
    if t == "None" {
        return Ok(None);
    }
    let inner = t.trim_start_matches('[').trim_end_matches(']');
    let v: Result<Vec<f64>, _> = inner
        .split([' ', ','])
        .filter(|x| !x.is_empty())
        .map(str::parse::<f64>)
        .collect();
    match v {
        Ok(v) if !v.is_empty() && v.iter().all(|x| x.is_finite()) => Ok(Some(v)),
        _ => Err(format!("'{t}' is not a list of powers in W")),
    }
}

/// Parses a carbontracker standard log; local times need `zone`.
pub fn parse(path: &Path, text: &str, zone: &Zone) -> Result<PowerLog, ParseError> {
    let mut comps: Vec<(String, Vec<String>)> = Vec::new();
    let mut epochs: Vec<Epoch> = Vec::new();
    let mut coarse = true;
    let mut interrupted = false;
    // A power list numpy wrapped over several lines: (line, component, text).
    let mut open_list: Option<(u64, String, String)> = None;
    let finish_list = |open: &mut Option<(u64, String, String)>,
                       epochs: &mut Vec<Epoch>|
     -> Result<(), ParseError> {
        if let Some((line, comp, list)) = open.take() {
            let p = powers(&list).map_err(|m| ParseError::line(path, line, m))?;
            if let Some(e) = epochs.last_mut() {
                e.power.push((comp, p));
            }
        }
        Ok(())
    };
    for (k, raw) in text.lines().enumerate() {
        let n = k as u64 + 1;
        let Some((ns, fine, msg)) = split_line(raw, zone) else {
            if let Some((_, _, list)) = open_list.as_mut() {
                list.push(' ');
                list.push_str(raw.trim());
                if raw.contains(']') {
                    finish_list(&mut open_list, &mut epochs)?;
                }
            }
            continue;
        };
        finish_list(&mut open_list, &mut epochs)?;
        coarse &= !fine;
        if let Some(rest) = msg.split_once("The following components were found:") {
            comps = components(rest.1);
        } else if let Some(num) = msg.strip_prefix("Epoch ").and_then(|r| r.strip_suffix(':')) {
            let number: u32 = num
                .trim()
                .parse()
                .map_err(|_| ParseError::line(path, n, format!("'{msg}' has no epoch number")))?;
            let expected = epochs.last().map_or(1, |e| e.number + 1);
            if number != expected {
                return Err(ParseError::line(
                    path,
                    n,
                    format!(
                        "epoch {number} where {expected} was expected (one tracker's epochs \
                         count up from 1)"
                    ),
                ));
            }
            epochs.push(Epoch {
                line: n,
                number,
                end_ns: ns,
                duration_ns: None,
                power: Vec::new(),
            });
        } else if let Some(d) = msg.strip_prefix("Duration: ") {
            let d = duration_ns(d).ok_or_else(|| {
                ParseError::line(path, n, format!("'{d}' is not a duration H:MM:SS"))
            })?;
            match epochs.last_mut() {
                Some(e) if e.duration_ns.is_none() => e.duration_ns = Some(d),
                _ => {
                    return Err(ParseError::line(
                        path,
                        n,
                        "a Duration line without its `Epoch N:` line",
                    ))
                }
            }
        } else if let Some(rest) = msg.strip_prefix("Average power usage (W) for ") {
            let (comp, list) = rest.split_once(": ").ok_or_else(|| {
                ParseError::line(path, n, format!("'{msg}': expected COMPONENT: [W …]"))
            })?;
            if epochs.is_empty() {
                return Err(ParseError::line(
                    path,
                    n,
                    "a power line before the first `Epoch N:` line",
                ));
            }
            let comp = comp.trim().to_ascii_lowercase();
            if list.trim_start().starts_with('[') && !list.contains(']') {
                open_list = Some((n, comp, list.to_string()));
            } else {
                let p = powers(list).map_err(|m| ParseError::line(path, n, m))?;
                if let Some(e) = epochs.last_mut() {
                    e.power.push((comp, p));
                }
            }
        } else if msg.contains("Training was interrupted") {
            interrupted = true;
        }
    }
    finish_list(&mut open_list, &mut epochs)?;
    if epochs.is_empty() {
        return Err(ParseError::line(
            path,
            1,
            "no `Epoch N:` line: is this carbontracker's standard log (…_carbontracker.log, \
             not …_carbontracker_output.log), written with log_dir set?",
        ));
    }
    // Components in order of appearance, with their device count.
    let mut names: Vec<(String, usize)> = Vec::new();
    for e in &epochs {
        for (c, p) in &e.power {
            let count = p.as_ref().map_or(0, Vec::len);
            match names.iter_mut().find(|(n, _)| n == c) {
                Some((_, k)) => *k = (*k).max(count),
                None => names.push((c.clone(), count)),
            }
        }
    }
    let mut notes = Vec::new();
    let mut series: Vec<PowerSeries> = Vec::new();
    let mut gpus = Vec::new();
    let mut clamped = 0usize;
    // Epoch bounds: end at the stamp, start a duration earlier but not
    // before the previous end (stamps are cut to the second).
    let mut bounds: Vec<(i64, i64)> = Vec::with_capacity(epochs.len());
    for e in &epochs {
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
    for (comp, count) in &names {
        let domain = match comp.as_str() {
            "gpu" => Domain::Gpu,
            "cpu" => Domain::CpuPackage,
            other => {
                notes.push(format!(
                    "{}: component '{other}' left out (only gpu and cpu are known)",
                    path.display()
                ));
                continue;
            }
        };
        let devices = comps
            .iter()
            .find(|(c, _)| c == comp)
            .map(|(_, d)| d.clone())
            .unwrap_or_default();
        let measured = domain == Domain::Gpu || devices.iter().all(|d| d.starts_with("cpu:"));
        if domain == Domain::Gpu {
            gpus.extend(devices.iter().map(|d| GpuFacts {
                name: d.clone(),
                ..GpuFacts::default()
            }));
        }
        let mut missing = 0usize;
        for dev in 0..(*count).max(1) {
            let id = format!("carbontracker:{comp}:{dev}");
            let mut check = PowerCheck::new(path, &id, domain, "that the log is carbontracker's");
            let mut points = Vec::with_capacity(epochs.len() * 2);
            let mut counter_uj = 0.0f64;
            let mut prev_end = None;
            for (e, &(start, end)) in epochs.iter().zip(&bounds) {
                let w = e
                    .power
                    .iter()
                    .find(|(c, _)| c == comp)
                    .and_then(|(_, p)| p.as_ref())
                    .and_then(|p| p.get(dev).copied());
                if w.is_none() && dev == 0 {
                    missing += 1;
                }
                // carbontracker counts an epoch without a reading as 0 W.
                let w = w.unwrap_or(0.0);
                check.keep(e.line, w);
                if prev_end != Some(start) {
                    points.push(PowerPoint {
                        line: e.line,
                        at: Stamp::Wall(start),
                        power_w: Some(w as f32),
                        energy_uj: Some(counter_uj.round() as i64),
                    });
                }
                counter_uj += w * (end - start) as f64 * 1e-3;
                points.push(PowerPoint {
                    line: e.line,
                    at: Stamp::Wall(end),
                    power_w: Some(w as f32),
                    energy_uj: Some(counter_uj.round() as i64),
                });
                prev_end = Some(end);
            }
            notes.extend(check.notes());
            let device = devices.get(dev).cloned().unwrap_or_default();
            let mut settings = BTreeMap::new();
            settings.insert("component".to_string(), comp.clone().into());
            settings.insert("device".to_string(), device.clone().into());
            series.push(PowerSeries {
                source: SourceInfo {
                    id,
                    domain,
                    method: if measured {
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
                        if measured {
                            ""
                        } else {
                            " (carbontracker's TDP estimate, not a measurement)"
                        }
                    ),
                    poll_hz: 0.0,
                    settings,
                },
                points,
            });
        }
        if missing > 0 {
            notes.push(format!(
                "{}: {missing} epoch(s) without a {comp} power reading (shorter than \
                 carbontracker's interval): counted as 0 J, as carbontracker does",
                path.display()
            ));
        }
    }
    if series.is_empty() {
        return Err(ParseError::line(
            path,
            epochs[0].line,
            "no `Average power usage (W) for gpu|cpu` line",
        ));
    }
    if clamped > 0 {
        notes.push(format!(
            "{}: {clamped} epoch(s) would start before the previous one ended (the log's stamps \
             are to the second): started at the previous end",
            path.display()
        ));
    }
    if interrupted {
        notes.push(format!(
            "{}: carbontracker says the training was interrupted before all its epochs",
            path.display()
        ));
    }
    let windows = epochs
        .iter()
        .zip(&bounds)
        .map(|(e, &(start, end))| Window {
            line: e.line,
            name: format!("epoch {}", e.number),
            start: Stamp::Wall(start),
            end: Stamp::Wall(end),
            coarse,
        })
        .collect();
    Ok(PowerLog {
        series,
        gpus,
        notes,
        windows,
    })
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
