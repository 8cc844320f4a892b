//! nvidia-smi's CSV (`nvidia-smi --query-gpu=timestamp,…,power.draw
//! --format=csv[,nounits] -lms 100` or `-l 1`): one row per GPU per poll.
//!
//! Columns are found by name in any order; a header cell is
//! `name [unit]` (`power.draw [W]`) and a value may carry the unit
//! (`18.81 W`) or not (`nounits`). The power column is `power.draw`, or
//! the newer drivers' `power.draw.instant` / `power.draw.average`. With
//! several GPUs the `index` column (or `uuid` / `pci.bus_id`, numbered in
//! order of appearance) gives one source per GPU, `nvml:<index>`, the same
//! ids the recorder's NVML source uses. Timestamps are local time without a
//! zone, so the caller passes the `--timezone` in.
//!
//! A value nvidia-smi could not read (`[N/A]`, `[Not Supported]`, …) drops
//! that row with a note (printed by the import, and kept in the manifest),
//! as does a negative reading; readings above 5 kW are kept with a note;
//! anything else malformed stops with the line and column.

use super::table::{Row, Table};
use super::time::{parse_datetime, Zone};
use super::{absurd_limit_w, ParseError, PowerLog, PowerPoint, PowerSeries, Stamp};
use std::collections::BTreeMap;
use std::path::Path;
use trainwatt_trace::{Domain, GpuFacts, Method, SourceInfo};

/// Power columns in order of preference.
const POWER_COLUMNS: [&str; 3] = ["power.draw", "power.draw.instant", "power.draw.average"];

/// `power.draw [W]` -> (`power.draw`, Some(`W`)).
fn split_unit(header: &str) -> (&str, Option<&str>) {
    let h = header.trim();
    match (h.rfind('['), h.ends_with(']')) {
        (Some(open), true) => (h[..open].trim(), Some(h[open + 1..h.len() - 1].trim())),
        _ => (h, None),
    }
}

/// The columns read.
struct Columns {
    time: usize,
    power: usize,
    /// `index`, or else `uuid` / `pci.bus_id` (`key`).
    index: Option<usize>,
    key: Option<usize>,
    name: Option<usize>,
}

/// Finds the columns; a file without a header or without a timestamp or
/// power column is refused, as is a power unit other than W.
fn columns(path: &Path, table: &Table, zone: &Zone) -> Result<Columns, ParseError> {
    let names: Vec<String> = table
        .header
        .iter()
        .map(|h| split_unit(h).0.to_ascii_lowercase())
        .collect();
    let find = |wanted: &[&str]| {
        wanted
            .iter()
            .find_map(|w| names.iter().position(|n| n.as_str() == *w))
    };
    if table
        .header
        .iter()
        .any(|h| parse_datetime(h, Some(zone)).is_ok())
    {
        return Err(ParseError::line(
            path,
            table.header_line,
            "line 1 is data, not a header: record without `noheader` in --format",
        ));
    }
    let missing = |what: &str| {
        ParseError::line(
            path,
            table.header_line,
            format!(
                "no {what} column (query it with --query-gpu=timestamp,index,power.draw); columns: {}",
                table.columns()
            ),
        )
    };
    let time = find(&["timestamp"]).ok_or_else(|| missing("timestamp"))?;
    let power = find(&POWER_COLUMNS).ok_or_else(|| missing("power.draw"))?;
    let unit = split_unit(&table.header[power]).1;
    if let Some(u) = unit {
        if u != "W" {
            return Err(table.header_error(power, format!("unit [{u}] where [W] was expected")));
        }
    }
    let index = find(&["index"]);
    Ok(Columns {
        time,
        power,
        index,
        key: index.or_else(|| find(&["uuid", "pci.bus_id"])),
        name: find(&["name"]),
    })
}

/// The readings by GPU, and what was skipped or is worth a note.
struct Readings<'a> {
    table: &'a Table,
    cols: &'a Columns,
    zone: &'a Zone,
    /// GPU index -> (name, points).
    gpus: BTreeMap<u32, (Option<String>, Vec<PowerPoint>)>,
    /// `uuid` / `pci.bus_id` values, numbered in order of appearance.
    keys: Vec<String>,
    skipped: usize,
    first_skipped: Option<u64>,
    /// GPU -> (count, first line, largest W, its line) of absurd readings.
    high: BTreeMap<u32, (usize, u64, f32, u64)>,
    /// GPU -> (count, first line, first W) of negative readings.
    negative: BTreeMap<u32, (usize, u64, f32)>,
}

impl Readings<'_> {
    /// Reads one row.
    fn row(&mut self, row: &Row) -> Result<(), ParseError> {
        let (table, cols) = (self.table, self.cols);
        let index = self.gpu_index(row)?;
        let ts = table.cell(row, cols.time);
        let at = parse_datetime(ts, Some(self.zone)).map_err(|m| table.error(row, cols.time, m))?;
        let raw = table.cell(row, cols.power);
        let Some(power_w) = power_value(raw).map_err(|m| table.error(row, cols.power, m))? else {
            self.skipped += 1;
            self.first_skipped.get_or_insert(row.line);
            return Ok(());
        };
        if power_w < 0.0 {
            let n = self.negative.entry(index).or_insert((0, row.line, power_w));
            n.0 += 1;
            return Ok(());
        }
        if f64::from(power_w) > absurd_limit_w(Domain::Gpu) {
            let h = self
                .high
                .entry(index)
                .or_insert((0, row.line, power_w, row.line));
            h.0 += 1;
            if power_w > h.2 {
                (h.2, h.3) = (power_w, row.line);
            }
        }
        self.push(row, index, ts, at, power_w)
    }

    /// The row's GPU: its `index`, or its key numbered in order of
    /// appearance, or 0 where the file names no GPU.
    fn gpu_index(&mut self, row: &Row) -> Result<u32, ParseError> {
        let table = self.table;
        Ok(match (self.cols.index, self.cols.key) {
            (Some(c), _) => {
                let s = table.cell(row, c);
                s.parse::<u32>()
                    .map_err(|_| table.error(row, c, format!("'{s}' is not a GPU index")))?
            }
            (None, Some(c)) => {
                let k = table.cell(row, c).to_string();
                match self.keys.iter().position(|x| *x == k) {
                    Some(i) => i as u32,
                    None => {
                        self.keys.push(k);
                        self.keys.len() as u32 - 1
                    }
                }
            }
            (None, None) => 0,
        })
    }

    /// Adds a reading of GPU `index` taken at `at` (UTC ns, written `ts`);
    /// it must come after the GPU's previous one.
    fn push(
        &mut self,
        row: &Row,
        index: u32,
        ts: &str,
        at: i64,
        power_w: f32,
    ) -> Result<(), ParseError> {
        let (table, cols) = (self.table, self.cols);
        let entry = self.gpus.entry(index).or_insert_with(|| (None, Vec::new()));
        if entry.0.is_none() {
            entry.0 = cols.name.map(|c| table.cell(row, c).to_string());
        }
        if let Some(prev) = entry.1.last() {
            if Stamp::Wall(at) <= prev.at {
                return Err(table.error(
                    row,
                    cols.time,
                    format!(
                        "'{ts}' is not after the previous reading of GPU {index} (line {}){}",
                        prev.line,
                        if cols.key.is_none() {
                            "; with several GPUs, add `index` to --query-gpu"
                        } else {
                            ""
                        }
                    ),
                ));
            }
        }
        entry.1.push(PowerPoint {
            line: row.line,
            at: Stamp::Wall(at),
            power_w: Some(power_w),
            energy_uj: None,
        });
        Ok(())
    }

    /// The notes on skipped rows and absurd or negative readings.
    fn notes(&self, path: &Path) -> Vec<String> {
        let mut notes = Vec::new();
        if self.skipped > 0 {
            notes.push(format!(
                "{}: {} row(s) without a power reading ([N/A] or similar) skipped, the first on line {}",
                path.display(),
                self.skipped,
                self.first_skipped.unwrap_or(0)
            ));
        }
        for (index, (n, first, max, max_line)) in &self.high {
            notes.push(format!(
                "{}: line {first}: {n} reading(s) of `nvml:{index}` above {} kW (the largest {max:.0} W \
                 on line {max_line}): kept, but one GPU cannot draw that much; check the power column",
                path.display(),
                absurd_limit_w(Domain::Gpu) / 1000.0
            ));
        }
        for (index, (n, first, w)) in &self.negative {
            notes.push(format!(
                "{}: line {first}: {n} negative reading(s) of `nvml:{index}` (the first {w} W): skipped",
                path.display()
            ));
        }
        notes
    }
}

/// The source of GPU `index` (`name` as the log gives it; `column` the
/// power column's header).
fn gpu_series(
    index: u32,
    name: Option<String>,
    points: Vec<PowerPoint>,
    column: &str,
) -> (Option<GpuFacts>, PowerSeries) {
    let mut settings = BTreeMap::new();
    settings.insert(
        "column".to_string(),
        serde_json::Value::from(column.to_string()),
    );
    let name = name.filter(|n| !n.is_empty());
    let facts = name.as_ref().map(|n| GpuFacts {
        name: n.clone(),
        ..GpuFacts::default()
    });
    let series = PowerSeries {
        source: SourceInfo {
            id: format!("nvml:{index}"),
            domain: Domain::Gpu,
            method: Method::MeasuredPower,
            description: format!(
                "{}nvidia-smi `{}` of GPU {index}",
                name.map(|n| format!("{n}: ")).unwrap_or_default(),
                split_unit(column).0
            ),
            poll_hz: 0.0,
            settings,
        },
        points,
    };
    (facts, series)
}

/// Parses a whole nvidia-smi CSV log.
pub fn parse(path: &Path, text: &str, zone: &Zone) -> Result<PowerLog, ParseError> {
    let table = Table::csv(path, text)?;
    let cols = columns(path, &table, zone)?;
    let mut readings = Readings {
        table: &table,
        cols: &cols,
        zone,
        gpus: BTreeMap::new(),
        keys: Vec::new(),
        skipped: 0,
        first_skipped: None,
        high: BTreeMap::new(),
        negative: BTreeMap::new(),
    };
    for row in &table.rows {
        readings.row(row)?;
    }
    let column = table.header[cols.power].clone();
    let mut log = PowerLog::default();
    for (index, (name, points)) in std::mem::take(&mut readings.gpus) {
        let (facts, series) = gpu_series(index, name, points, &column);
        log.gpus.extend(facts);
        log.series.push(series);
    }
    if log.series.is_empty() {
        return Err(ParseError::line(
            path,
            table.header_line,
            "no power reading in the file",
        ));
    }
    log.notes = readings.notes(path);
    Ok(log)
}

/// A power cell in W: `18.81 W` or `18.81`; `None` for nvidia-smi's
/// "could not read" markers.
fn power_value(raw: &str) -> Result<Option<f32>, String> {
    let s = raw.trim();
    if s.starts_with('[') || s.eq_ignore_ascii_case("N/A") {
        return Ok(None);
    }
    let num = match s.strip_suffix('W') {
        Some(n) if n.ends_with('m') || n.ends_with('k') => {
            return Err(format!("'{s}': unit other than W"))
        }
        Some(n) => n.trim(),
        None => s,
    };
    match num.parse::<f32>() {
        Ok(v) if v.is_finite() => Ok(Some(v)),
        Ok(_) => Err(format!("'{s}' is not a power (not finite)")),
        Err(_) => Err(format!("'{s}' is not a power in W")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn madrid() -> Zone {
        "Europe/Madrid".parse().unwrap()
    }

    #[test]
    fn single_gpu_with_units() {
        let text = "timestamp, power.draw [W]\n\
                    2025/04/24 15:58:57.879, 18.81 W\n\
                    2025/04/24 15:58:57.979, 19.02 W\n";
        let log = parse(Path::new("s.csv"), text, &madrid()).unwrap();
        assert_eq!(log.series.len(), 1);
        let s = &log.series[0];
        assert_eq!(s.source.id, "nvml:0");
        assert_eq!(s.source.domain, Domain::Gpu);
        assert_eq!(s.points[1].power_w, Some(19.02));
        let (Stamp::Wall(a), Stamp::Wall(b)) = (s.points[0].at, s.points[1].at) else {
            panic!()
        };
        assert_eq!(b - a, 100_000_000);
        assert_eq!(s.points[1].line, 3);
    }

    #[test]
    fn several_gpus_any_order_nounits_and_na() {
        let text = "name, utilization.gpu [%], power.draw [W], index, timestamp\n\
                    NVIDIA H100, 3, 70.1, 0, 2025/04/24 15:58:57.879\n\
                    NVIDIA H100, 5, 71.5, 1, 2025/04/24 15:58:57.880\n\
                    NVIDIA H100, 3, [N/A], 0, 2025/04/24 15:58:58.879\n\
                    NVIDIA H100, 9, 90.0, 1, 2025/04/24 15:58:58.880\n";
        let log = parse(Path::new("m.csv"), text, &madrid()).unwrap();
        let ids: Vec<&str> = log.series.iter().map(|s| s.source.id.as_str()).collect();
        assert_eq!(ids, ["nvml:0", "nvml:1"]);
        assert_eq!(log.series[0].points.len(), 1);
        assert_eq!(log.series[1].points[1].power_w, Some(90.0));
        assert_eq!(log.gpus.len(), 2);
        assert!(log.notes[0].contains("1 row(s)") && log.notes[0].contains("line 4"));
    }

    #[test]
    fn absurd_and_negative_readings_are_noted() {
        let text = "timestamp, index, power.draw [W]\n\
                    2025/04/24 15:58:57.0, 0, 70 W\n\
                    2025/04/24 15:58:58.0, 0, 9000 W\n\
                    2025/04/24 15:58:59.0, 0, -3 W\n\
                    2025/04/24 15:59:00.0, 0, 71 W\n";
        let log = parse(Path::new("s.csv"), text, &madrid()).unwrap();
        assert_eq!(log.series[0].points.len(), 3);
        assert_eq!(
            log.notes,
            [
                "s.csv: line 3: 1 reading(s) of `nvml:0` above 5 kW (the largest 9000 W on line \
                 3): kept, but one GPU cannot draw that much; check the power column",
                "s.csv: line 4: 1 negative reading(s) of `nvml:0` (the first -3 W): skipped"
            ]
        );
    }

    #[test]
    fn malformed_values_name_line_and_column() {
        let text = "timestamp, power.draw [W]\n2025/04/24 15:58:57.879, 18.8x W\n";
        let e = parse(Path::new("s.csv"), text, &madrid()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "s.csv: line 2, column 2 (power.draw [W]): '18.8x W' is not a power in W"
        );
        let text =
            "timestamp, power.draw [W]\n2025/04/24 15:58:57.879, 18 W\n24/04/2025 15:58, 18 W\n";
        let e = parse(Path::new("s.csv"), text, &madrid()).unwrap_err();
        assert_eq!(
            (e.line, e.column.to_string()),
            (3, ", column 1 (timestamp)".into())
        );
        let back = "timestamp, power.draw [W]\n2025/04/24 15:58:58.000, 18 W\n2025/04/24 15:58:57.000, 18 W\n";
        let e = parse(Path::new("s.csv"), back, &madrid()).unwrap_err();
        assert!(e.message.contains("not after") && e.line == 3, "{e}");
        let e = parse(
            Path::new("s.csv"),
            "timestamp, temperature.gpu\n",
            &madrid(),
        )
        .unwrap_err();
        assert!(e.message.contains("no power.draw column"), "{e}");
        let e = parse(
            Path::new("s.csv"),
            "2025/04/24 15:58:57.879, 18 W\n2025/04/24 15:58:57.979, 18 W\n",
            &madrid(),
        )
        .unwrap_err();
        assert!(e.message.contains("noheader"), "{e}");
    }
}
