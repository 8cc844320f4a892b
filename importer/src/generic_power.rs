//! A generic power CSV: one time column and one power column, named with
//! `--time-col` / `--power-col` (or found under a few usual names), with the
//! units given by `--time-unit` and `--power-unit`. Becomes one source whose
//! domain (`--domain`) the user states, because a column name cannot say
//! whether it is a GPU, a package or a wall meter.
//!
//! Times are numbers (relative seconds by default, or Unix time) or
//! date-times (RFC 3339, or local with `--timezone`).

use super::table::Table;
use super::time::{parse_stamp, TimeUnit, Zone};
use super::{ParseError, PowerLog, PowerPoint, PowerSeries};
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
/// Power columns looked for when `--power-col` is not given.
const POWER_NAMES: [&str; 4] = ["power_w", "power", "watts", "w"];

/// Unit of the power column (`--power-unit`).
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
    pub power_col: Option<String>,
    pub time_unit: TimeUnit,
    pub power_unit: PowerUnit,
    pub domain: Domain,
    /// Source id; default `csv:<power column>`.
    pub source_id: Option<String>,
}

/// Parses a generic power CSV into one source.
pub fn parse(
    path: &Path,
    text: &str,
    opts: &CsvPowerOptions,
    zone: Option<&Zone>,
) -> Result<PowerLog, ParseError> {
    let table = Table::csv(path, text)?;
    let pick = |given: &Option<String>, flag: &str, names: &[&str]| match given {
        Some(name) => table.require(name, flag),
        None => table.find(names).ok_or_else(|| {
            ParseError::line(
                path,
                table.header_line,
                format!(
                    "no {flag} given and none of {} found; columns: {}",
                    names.join(", "),
                    table.columns()
                ),
            )
        }),
    };
    let t_col = pick(&opts.time_col, "--time-col", &TIME_NAMES)?;
    let p_col = pick(&opts.power_col, "--power-col", &POWER_NAMES)?;
    let mut points = Vec::with_capacity(table.rows.len());
    for row in &table.rows {
        let raw_t = table.cell(row, t_col);
        let at =
            parse_stamp(raw_t, opts.time_unit, zone).map_err(|m| table.error(row, t_col, m))?;
        let Some(v) = table.number(row, p_col)? else {
            return Err(table.error(row, p_col, "empty power value"));
        };
        if v < 0.0 {
            return Err(table.error(row, p_col, format!("power {v} is negative")));
        }
        if let Some(prev) = points.last() {
            let prev: &PowerPoint = prev;
            if std::mem::discriminant(&prev.at) != std::mem::discriminant(&at) {
                return Err(table.error(
                    row,
                    t_col,
                    "mixes absolute and relative times with the lines above",
                ));
            }
            if at <= prev.at {
                return Err(table.error(
                    row,
                    t_col,
                    format!(
                        "'{raw_t}' is not after the previous row (line {})",
                        prev.line
                    ),
                ));
            }
        }
        points.push(PowerPoint {
            line: row.line,
            at,
            power_w: Some(opts.power_unit.to_w(v) as f32),
            energy_uj: None,
        });
    }
    if points.is_empty() {
        return Err(ParseError::line(
            path,
            table.header_line,
            "no data rows after the header",
        ));
    }
    let power_name = table.header[p_col].clone();
    let mut settings = BTreeMap::new();
    settings.insert("time_column".into(), table.header[t_col].clone().into());
    settings.insert("power_column".into(), power_name.clone().into());
    settings.insert("power_unit".into(), opts.power_unit.name().into());
    Ok(PowerLog {
        series: vec![PowerSeries {
            source: SourceInfo {
                id: opts
                    .source_id
                    .clone()
                    .unwrap_or_else(|| format!("csv:{power_name}")),
                domain: opts.domain,
                method: Method::MeasuredPower,
                description: format!("column `{power_name}` of {}", path.display()),
                poll_hz: 0.0,
                settings,
            },
            points,
        }],
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
            power_col: Some("gpu_mw".into()),
            time_unit: TimeUnit::Ms,
            power_unit: PowerUnit::MilliW,
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
            power_col: None,
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
}
