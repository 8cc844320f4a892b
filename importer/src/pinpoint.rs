//! pinpoint's continuous trace (`pinpoint -c -i 100 --header …`): a header
//! of source names (`nvml:nvidia_geforce_gtx_970_0,rapl:ram,rapl:cores,
//! rapl:pkg`), then one row per interval of integer milliwatts, with no
//! timestamp column.
//!
//! Each value is the power over the interval that just ended, so row k
//! (0-based) is stamped at `(k + 1) × interval` after pinpoint started: the
//! format's rule that a reading derived from a counter is stamped when it
//! was taken and holds the average since the previous one. The interval
//! must be given (`--interval`), since the file does not say it.
//!
//! Source ids are kept as pinpoint wrote them; the domain follows from the
//! name (`nvml:*` GPU, `rapl:pkg` package, `rapl:cores` core, `rapl:ram`
//! DRAM, `rapl:uncore`/`rapl:gpu` uncore, `rapl:psys` platform), so the
//! analyzer adds GPU, package and DRAM and never the cores on top of the
//! package.

use super::table::Table;
use super::{ParseError, PowerCheck, PowerLog, PowerPoint, PowerSeries, Stamp};
use std::collections::BTreeMap;
use std::path::Path;
use trainwatt_trace::{Domain, Method, SourceInfo};

/// The domain of a pinpoint source name, if known.
pub fn domain_of(name: &str) -> Option<Domain> {
    let n = name.trim().to_ascii_lowercase();
    let (kind, what) = n.split_once(':')?;
    match kind {
        "nvml" => Some(Domain::Gpu),
        "rapl" => {
            let what = what.trim_end_matches(|c: char| c.is_ascii_digit() || c == '-' || c == ':');
            match what {
                "pkg" | "package" => Some(Domain::CpuPackage),
                "cores" | "core" | "pp0" => Some(Domain::CpuCore),
                "uncore" | "gpu" | "pp1" => Some(Domain::CpuUncore),
                "ram" | "dram" => Some(Domain::Dram),
                "psys" => Some(Domain::Platform),
                _ => None,
            }
        }
        _ => None,
    }
}

/// Parses a pinpoint trace sampled every `interval_ns`.
pub fn parse(path: &Path, text: &str, interval_ns: i64) -> Result<PowerLog, ParseError> {
    let table = Table::csv(path, text)?;
    if table.header.iter().all(|h| h.parse::<f64>().is_ok()) {
        return Err(ParseError::line(
            path,
            table.header_line,
            "line 1 holds numbers, not source names: record with `pinpoint --header`",
        ));
    }
    let mut series = Vec::with_capacity(table.header.len());
    for (c, name) in table.header.iter().enumerate() {
        let domain = domain_of(name).ok_or_else(|| {
            table.header_error(
                c,
                format!(
                    "no power domain known for pinpoint source '{name}' \
                     (known: nvml:*, rapl:pkg, rapl:cores, rapl:uncore, rapl:ram, rapl:psys)"
                ),
            )
        })?;
        if table.header[..c].contains(name) {
            return Err(table.header_error(c, format!("source '{name}' appears twice")));
        }
        let mut settings = BTreeMap::new();
        settings.insert("unit".to_string(), serde_json::Value::from("mW"));
        series.push(PowerSeries {
            source: SourceInfo {
                id: name.clone(),
                domain,
                method: Method::MeasuredPower,
                description: format!("pinpoint source {name}, mean power per interval"),
                poll_hz: 0.0,
                settings,
            },
            points: Vec::with_capacity(table.rows.len()),
        });
    }
    let mut checks: Vec<PowerCheck> = series
        .iter()
        .map(|s| {
            PowerCheck::new(
                path,
                &s.source.id,
                s.source.domain,
                "that the file is a pinpoint trace (integer milliwatts)",
            )
        })
        .collect();
    for (k, row) in table.rows.iter().enumerate() {
        let at = (k as i64 + 1)
            .checked_mul(interval_ns)
            .ok_or_else(|| ParseError::line(path, row.line, "time out of range"))?;
        for (c, (s, check)) in series.iter_mut().zip(&mut checks).enumerate() {
            let raw = table.cell(row, c);
            let mw: f64 = raw
                .parse()
                .ok()
                .filter(|v: &f64| v.is_finite())
                .ok_or_else(|| table.error(row, c, format!("'{raw}' is not a power in mW")))?;
            if !check.keep(row.line, mw / 1000.0) {
                continue;
            }
            s.points.push(PowerPoint {
                line: row.line,
                at: Stamp::Offset(at),
                power_w: Some((mw / 1000.0) as f32),
                energy_uj: None,
            });
        }
    }
    if table.rows.is_empty() {
        return Err(ParseError::line(
            path,
            table.header_line,
            "no data rows after the header",
        ));
    }
    if let Some(empty) = series.iter().find(|s| s.points.is_empty()) {
        return Err(ParseError::line(
            path,
            table.header_line,
            format!(
                "source '{}' has no reading of 0 mW or more",
                empty.source.id
            ),
        ));
    }
    Ok(PowerLog {
        series,
        notes: checks.iter().flat_map(PowerCheck::notes).collect(),
        ..PowerLog::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS100: i64 = 100_000_000;

    #[test]
    fn parses_header_domains_and_milliwatts() {
        let text = "nvml:nvidia_geforce_gtx_970_0,rapl:ram,rapl:cores,rapl:pkg\n\
                    19295,853,6186,19797\n18085,492,2072,13861\n";
        let log = parse(Path::new("p.txt"), text, MS100).unwrap();
        let d: Vec<Domain> = log.series.iter().map(|s| s.source.domain).collect();
        assert_eq!(
            d,
            [
                Domain::Gpu,
                Domain::Dram,
                Domain::CpuCore,
                Domain::CpuPackage
            ]
        );
        let gpu = &log.series[0];
        assert_eq!(gpu.source.id, "nvml:nvidia_geforce_gtx_970_0");
        assert_eq!(gpu.points[0].power_w, Some(19.295));
        assert_eq!(gpu.points[0].at, Stamp::Offset(MS100));
        assert_eq!(gpu.points[1].at, Stamp::Offset(2 * MS100));
        assert_eq!(gpu.points[1].line, 3);
    }

    #[test]
    fn malformed_input_names_line_and_column() {
        let e = parse(
            Path::new("p.txt"),
            "rapl:pkg,rapl:ram\n10,20\n30,x\n",
            MS100,
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "p.txt: line 3, column 2 (rapl:ram): 'x' is not a power in mW"
        );
        let e = parse(Path::new("p.txt"), "19295,853\n18085,492\n", MS100).unwrap_err();
        assert!(e.message.contains("--header"), "{e}");
        let e = parse(Path::new("p.txt"), "rapl:pkg,ina:vdd\n1,2\n", MS100).unwrap_err();
        assert_eq!(
            (e.line, e.column.to_string()),
            (1, ", column 2 (ina:vdd)".into())
        );
        let e = parse(Path::new("p.txt"), "rapl:pkg,rapl:ram\n1,2\n3\n", MS100).unwrap_err();
        assert_eq!(e.line, 3);
        let e = parse(Path::new("p.txt"), "rapl:pkg\n-4\n", MS100).unwrap_err();
        assert!(e.message.contains("no reading of 0 mW or more"), "{e}");
    }

    #[test]
    fn absurd_readings_are_noted_with_file_and_line() {
        // Line 3: -4 mW (dropped); lines 4 and 5: 6 kW and 7.5 kW (kept).
        let text = "nvml:gpu_0,rapl:pkg\n100000,20000\n100000,-4\n6000000,20000\n7500000,20000\n";
        let log = parse(Path::new("p.txt"), text, MS100).unwrap();
        assert_eq!(log.series[0].points.len(), 4);
        assert_eq!(log.series[1].points.len(), 3);
        assert_eq!(log.series[1].points[1].line, 4);
        assert_eq!(log.notes.len(), 2, "{:?}", log.notes);
        assert!(
            log.notes[0].starts_with("p.txt: line 4: 2 reading(s) of `nvml:gpu_0` above 5 kW")
                && log.notes[0].contains("the largest 7500 W on line 5"),
            "{:?}",
            log.notes
        );
        assert!(
            log.notes[1].starts_with("p.txt: line 3: 1 negative reading(s) of `rapl:pkg`"),
            "{:?}",
            log.notes
        );
    }

    #[test]
    fn rapl_names_map_to_domains() {
        assert_eq!(domain_of("rapl:pkg-1"), Some(Domain::CpuPackage));
        assert_eq!(domain_of("rapl:psys"), Some(Domain::Platform));
        assert_eq!(domain_of("rapl:gpu"), Some(Domain::CpuUncore));
        assert_eq!(domain_of("jetson:gpu"), None);
    }
}
