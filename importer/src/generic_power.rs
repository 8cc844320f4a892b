//! A generic power CSV: one time column and one or more power or energy
//! columns, named with `--time-col` / `--power-col` / `--energy-col` (or a
//! power column found under a few usual names), with the units given by
//! `--time-unit`, `--power-unit` and `--energy-unit`. Each column becomes a
//! source whose domain (`--domain`) the user states, because a column name
//! cannot say whether it is a GPU, a package or a wall meter: one column per
//! GPU gives one source per GPU.
//!
//! An energy column (`--energy-col NAME[:cumulative|:per-row]`) becomes a
//! counter source (`energy_uj`, method `measured-counter`): `cumulative`
//! is a running total (it may not go down), `per-row` the energy since the
//! previous row (summed here into a running total, so the first row's
//! value, whose interval has no known start, only sets the counter's
//! start). Without the suffix the kind is read off the data — a column that
//! never goes down is cumulative — and a note says so. Each reading also
//! gets the mean power since the previous one, so the run can be mixed with
//! power sources.
//!
//! Times are numbers (relative seconds by default, or Unix time) or
//! date-times (RFC 3339, or local with `--timezone`).

use super::generic_energy::{energy_series, EnergyColumn, EnergyKind, EnergyUnit};
use super::table::Table;
use super::time::{parse_stamp, TimeUnit, Zone};
use super::{ParseError, PowerCheck, PowerLog, PowerPoint, PowerSeries, Stamp};
use std::collections::BTreeMap;
use std::path::Path;
use trainwatt_trace::{Domain, Method, SourceInfo};

/// Time columns looked for when `--time-col` is not given.
const TIME_NAMES: [&str; 7] = [
    "t_s",
    "time_s",
    "time",
    "timestamp",
    "t",
    "seconds",
    "elapsed_s",
];
/// Power columns looked for when neither `--power-col` nor `--energy-col`
/// is given.
const POWER_NAMES: [&str; 4] = ["power_w", "power", "watts", "w"];

/// Unit of the power columns (`--power-unit`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum PowerUnit {
    #[default]
    #[value(name = "W")]
    W,
    #[value(name = "mW")]
    MilliW,
    #[value(name = "uW")]
    MicroW,
    #[value(name = "kW")]
    KiloW,
}

impl PowerUnit {
    pub fn name(self) -> &'static str {
        match self {
            PowerUnit::W => "W",
            PowerUnit::MilliW => "mW",
            PowerUnit::MicroW => "uW",
            PowerUnit::KiloW => "kW",
        }
    }

    fn to_w(self, v: f64) -> f64 {
        match self {
            PowerUnit::W => v,
            PowerUnit::MilliW => v * 1e-3,
            PowerUnit::MicroW => v * 1e-6,
            PowerUnit::KiloW => v * 1e3,
        }
    }
}

/// How to read a generic power CSV.
#[derive(Debug, Clone, PartialEq)]
pub struct CsvPowerOptions {
    pub time_col: Option<String>,
    /// Power columns; with no energy column either, the first of the usual
    /// names.
    pub power_cols: Vec<String>,
    pub energy_cols: Vec<EnergyColumn>,
    pub time_unit: TimeUnit,
    pub power_unit: PowerUnit,
    pub energy_unit: EnergyUnit,
    pub domain: Domain,
    /// Source id of a file with one column; default `csv:<column>`.
    pub source_id: Option<String>,
}

/// Whether a column name says energy / power (for the mix-up warning).
fn says_energy(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n.contains("energy")
        || n.contains("joule")
        || n.contains("kwh")
        || n.ends_with("_j")
        || n.ends_with("_wh")
        || n.ends_with("[j]")
}

pub(super) fn says_power(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    !says_energy(&n)
        && (n.contains("power")
            || n.contains("watt")
            || n.ends_with("_w")
            || n.ends_with("_mw")
            || n.ends_with("[w]"))
}

/// The columns read: time, power, and energy with its kind where given.
struct Columns {
    time: usize,
    power: Vec<usize>,
    energy: Vec<(usize, Option<EnergyKind>)>,
}

/// Finds the columns the options name, or the usual names; `--source-id`
/// needs a single column.
fn columns(path: &Path, table: &Table, opts: &CsvPowerOptions) -> Result<Columns, ParseError> {
    let header_line = table.header_line.max(1);
    let time = match &opts.time_col {
        Some(name) => table.require(name, "--time-col")?,
        None => table.find(&TIME_NAMES).ok_or_else(|| {
            ParseError::line(
                path,
                header_line,
                format!(
                    "no --time-col given and none of {} found; columns: {}",
                    TIME_NAMES.join(", "),
                    table.columns()
                ),
            )
        })?,
    };
    let mut power = Vec::new();
    for name in &opts.power_cols {
        power.push(table.require(name, "--power-col")?);
    }
    let mut energy = Vec::new();
    for e in &opts.energy_cols {
        energy.push((table.require(&e.name, "--energy-col")?, e.kind));
    }
    if power.is_empty() && energy.is_empty() {
        power.push(table.find(&POWER_NAMES).ok_or_else(|| {
            ParseError::line(
                path,
                header_line,
                format!(
                    "no --power-col or --energy-col given and none of {} found; columns: {}",
                    POWER_NAMES.join(", "),
                    table.columns()
                ),
            )
        })?);
    }
    let n_cols = power.len() + energy.len();
    if opts.source_id.is_some() && n_cols > 1 {
        return Err(ParseError::line(
            path,
            header_line,
            format!(
                "--source-id names one source, but {n_cols} columns were given: each becomes \
                 csv:<column>"
            ),
        ));
    }
    Ok(Columns {
        time,
        power,
        energy,
    })
}

/// The time of each row, once for every column: all absolute or all
/// relative, rising; at least one row.
fn read_times(
    path: &Path,
    table: &Table,
    t_col: usize,
    opts: &CsvPowerOptions,
    zone: Option<&Zone>,
) -> Result<Vec<(u64, Stamp)>, ParseError> {
    let mut times: Vec<(u64, Stamp)> = Vec::with_capacity(table.rows.len());
    for row in &table.rows {
        let raw_t = table.cell(row, t_col);
        let at =
            parse_stamp(raw_t, opts.time_unit, zone).map_err(|m| table.error(row, t_col, m))?;
        if let Some(&(prev_line, prev)) = times.last() {
            if std::mem::discriminant(&prev) != std::mem::discriminant(&at) {
                return Err(table.error(
                    row,
                    t_col,
                    "mixes absolute and relative times with the lines above",
                ));
            }
            if at <= prev {
                return Err(table.error(
                    row,
                    t_col,
                    format!("'{raw_t}' is not after the previous row (line {prev_line})"),
                ));
            }
        }
        times.push((row.line, at));
    }
    if times.is_empty() {
        return Err(ParseError::line(
            path,
            table.header_line,
            "no data rows after the header",
        ));
    }
    Ok(times)
}

/// A generic power CSV as its columns' sources need it.
pub(super) struct CsvPower<'a> {
    pub path: &'a Path,
    pub table: &'a Table,
    pub opts: &'a CsvPowerOptions,
    pub t_col: usize,
    /// (line, time) of each row.
    pub times: Vec<(u64, Stamp)>,
}

impl CsvPower<'_> {
    /// The source id of column `name`.
    pub fn id_of(&self, name: &str) -> String {
        self.opts
            .source_id
            .clone()
            .unwrap_or_else(|| format!("csv:{name}"))
    }
}

/// The source of power column `p_col`; notes go to `notes`.
fn power_series(
    csv: &CsvPower,
    p_col: usize,
    notes: &mut Vec<String>,
) -> Result<PowerSeries, ParseError> {
    let (path, table, opts) = (csv.path, csv.table, csv.opts);
    let name = table.header[p_col].clone();
    if says_energy(&name) {
        notes.push(format!(
            "{}: column `{name}` is read as power (--power-col) but its name says energy: \
             if it holds joules or Wh, give it as --energy-col {name}[:cumulative|:per-row] \
             with --energy-unit",
            path.display()
        ));
    }
    let id = csv.id_of(&name);
    let mut check = PowerCheck::new(path, &id, opts.domain, "--power-unit");
    let mut points = Vec::with_capacity(csv.times.len());
    for (row, &(line, at)) in table.rows.iter().zip(&csv.times) {
        let Some(v) = table.number(row, p_col)? else {
            return Err(table.error(row, p_col, "empty power value"));
        };
        let w = opts.power_unit.to_w(v);
        if !check.keep(line, w) {
            continue;
        }
        points.push(PowerPoint {
            line,
            at,
            power_w: Some(w as f32),
            energy_uj: None,
        });
    }
    notes.extend(check.notes());
    let mut settings = BTreeMap::new();
    settings.insert("time_column".into(), table.header[csv.t_col].clone().into());
    settings.insert("power_column".into(), name.clone().into());
    settings.insert("power_unit".into(), opts.power_unit.name().into());
    Ok(PowerSeries {
        source: SourceInfo {
            id,
            domain: opts.domain,
            method: Method::MeasuredPower,
            description: format!("column `{name}` of {}", path.display()),
            poll_hz: 0.0,
            settings,
        },
        points,
    })
}

/// Parses a generic power CSV: one source per power or energy column.
pub fn parse(
    path: &Path,
    text: &str,
    opts: &CsvPowerOptions,
    zone: Option<&Zone>,
) -> Result<PowerLog, ParseError> {
    let table = Table::csv(path, text)?;
    let cols = columns(path, &table, opts)?;
    let mut notes = Vec::new();
    let csv = CsvPower {
        path,
        table: &table,
        opts,
        t_col: cols.time,
        times: read_times(path, &table, cols.time, opts, zone)?,
    };
    let mut series = Vec::with_capacity(cols.power.len() + cols.energy.len());
    for &p_col in &cols.power {
        series.push(power_series(&csv, p_col, &mut notes)?);
    }
    for &(e_col, kind) in &cols.energy {
        series.push(energy_series(&csv, e_col, kind, &mut notes)?);
    }
    Ok(PowerLog {
        series,
        notes,
        ..PowerLog::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Stamp;

    fn opts() -> CsvPowerOptions {
        CsvPowerOptions {
            time_col: None,
            power_cols: vec!["gpu_mw".into()],
            energy_cols: vec![],
            time_unit: TimeUnit::Ms,
            power_unit: PowerUnit::MilliW,
            energy_unit: EnergyUnit::J,
            domain: Domain::Gpu,
            source_id: None,
        }
    }

    #[test]
    fn reads_named_columns_and_units() {
        let log = parse(
            Path::new("g.csv"),
            "time,gpu_mw\n0,50000\n250,52000\n",
            &opts(),
            None,
        )
        .unwrap();
        let s = &log.series[0];
        assert_eq!(s.source.id, "csv:gpu_mw");
        assert_eq!(s.points[1].at, Stamp::Offset(250_000_000));
        assert_eq!(s.points[1].power_w, Some(52.0));
    }

    #[test]
    fn absolute_times_need_a_zone_unless_they_carry_one() {
        let o = CsvPowerOptions {
            time_unit: TimeUnit::S,
            power_unit: PowerUnit::W,
            power_cols: vec![],
            ..opts()
        };
        let text = "timestamp,power_w\n2025-01-01T00:00:00Z,10\n2025-01-01T00:00:01Z,11\n";
        let log = parse(Path::new("g.csv"), text, &o, None).unwrap();
        assert!(matches!(log.series[0].points[0].at, Stamp::Wall(_)));
        let local = "timestamp,power_w\n2025-01-01 00:00:00,10\n";
        let e = parse(Path::new("g.csv"), local, &o, None).unwrap_err();
        assert!(e.message.contains("--timezone") && e.line == 2, "{e}");
    }

    #[test]
    fn malformed_input_names_line_and_column() {
        let e = parse(
            Path::new("g.csv"),
            "time,gpu_mw\n0,5\n1,five\n",
            &opts(),
            None,
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "g.csv: line 3, column 2 (gpu_mw): 'five' is not a number"
        );
        let e = parse(Path::new("g.csv"), "time,other\n0,5\n", &opts(), None).unwrap_err();
        assert!(
            e.message.contains("no column 'gpu_mw' (--power-col)"),
            "{e}"
        );
        let e = parse(Path::new("g.csv"), "time,gpu_mw\n5,5\n4,5\n", &opts(), None).unwrap_err();
        assert!(e.message.contains("not after") && e.line == 3, "{e}");
    }

    fn energy(cols: &[&str], unit: EnergyUnit) -> CsvPowerOptions {
        CsvPowerOptions {
            time_unit: TimeUnit::S,
            power_cols: vec![],
            energy_cols: cols.iter().map(|c| c.parse().unwrap()).collect(),
            energy_unit: unit,
            ..opts()
        }
    }

    #[test]
    fn energy_columns_become_counter_sources_one_per_gpu() {
        // Two GPUs: gpu0 a running total in Wh, gpu1 per-row in Wh.
        // Row 2 .. 3 (2 s): gpu0 +0.002 Wh = 7.2 J -> 3.6 W; gpu1 0.001 Wh = 3.6 J -> 1.8 W.
        let text = "t,gpu0_energy,gpu1_energy\n0,1.000,0.004\n2,1.002,0.001\n3,1.003,0.001\n";
        let o = energy(
            &["gpu0_energy:cumulative", "gpu1_energy:per-row"],
            EnergyUnit::Wh,
        );
        let log = parse(Path::new("e.csv"), text, &o, None).unwrap();
        assert_eq!(log.series.len(), 2);
        let (g0, g1) = (&log.series[0], &log.series[1]);
        assert_eq!(g0.source.id, "csv:gpu0_energy");
        assert_eq!(g0.source.method, Method::MeasuredCounter);
        assert_eq!(g0.source.settings["energy_kind"], "cumulative");
        let c0: Vec<i64> = g0.points.iter().map(|p| p.energy_uj.unwrap()).collect();
        assert_eq!(c0, [3_600_000_000, 3_607_200_000, 3_610_800_000]);
        let c1: Vec<i64> = g1.points.iter().map(|p| p.energy_uj.unwrap()).collect();
        assert_eq!(c1, [14_400_000, 18_000_000, 21_600_000]);
        let w0: Vec<f32> = g0.points.iter().map(|p| p.power_w.unwrap()).collect();
        assert_eq!(w0, [3.6, 3.6, 3.6]);
        let w1: Vec<f32> = g1.points.iter().map(|p| p.power_w.unwrap()).collect();
        assert_eq!(w1, [1.8, 1.8, 3.6]);
        assert!(log.notes.is_empty(), "{:?}", log.notes);
    }

    #[test]
    fn energy_kind_is_guessed_with_a_note_and_mixups_are_named() {
        let text = "t,energy_j,power\n0,5,10\n1,3,11\n2,4,12\n";
        let o = CsvPowerOptions {
            power_cols: vec!["energy_j".into()],
            energy_cols: vec!["power".parse().unwrap()],
            time_unit: TimeUnit::S,
            power_unit: PowerUnit::W,
            ..opts()
        };
        let log = parse(Path::new("m.csv"), text, &o, None).unwrap();
        assert_eq!(log.notes.len(), 3, "{:?}", log.notes);
        assert!(log.notes[0]
            .contains("`energy_j` is read as power (--power-col) but its name says energy"));
        assert!(log.notes[1]
            .contains("`power` is read as energy (--energy-col) but its name says power"));
        assert!(
            log.notes[2].contains("energy column `power` read as cumulative (it never goes down)")
        );
        // A running total that goes down is refused with the fix.
        let o = energy(&["e:cumulative"], EnergyUnit::J);
        let e = parse(Path::new("m.csv"), "t,e\n0,5\n1,3\n", &o, None).unwrap_err();
        assert!(e.line == 3 && e.message.contains("`e:per-row`"), "{e}");
        // Guessing per-row when it goes down.
        let o = energy(&["e"], EnergyUnit::J);
        let log = parse(Path::new("m.csv"), "t,e\n0,5\n1,3\n", &o, None).unwrap();
        assert_eq!(log.series[0].source.settings["energy_kind"], "per-row");
        let e = parse(
            Path::new("m.csv"),
            "t,a,b\n0,1,2\n",
            &CsvPowerOptions {
                power_cols: vec!["a".into(), "b".into()],
                source_id: Some("x".into()),
                ..opts()
            },
            None,
        )
        .unwrap_err();
        assert!(e.message.contains("--source-id names one source"), "{e}");
    }
}
