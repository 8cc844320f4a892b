//! The energy columns of a generic power CSV (`--energy-col
//! NAME[:cumulative|:per-row]`, `--energy-unit`; the format is described in
//! [`super::generic_power`]): how such a column counts, and the counter
//! source it becomes. Apart from the power columns because a counter takes
//! more steps: the kind read off the data where not given, the running
//! total, and the mean power between readings.

use super::generic_power::{says_power, CsvPower};
use super::{ParseError, PowerCheck, PowerPoint, PowerSeries, Stamp};
use std::collections::BTreeMap;
use std::path::Path;
use trainwatt_trace::{Method, SourceInfo};

/// Unit of the energy columns (`--energy-unit`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum EnergyUnit {
    #[default]
    #[value(name = "J")]
    J,
    #[value(name = "mJ")]
    MilliJ,
    #[value(name = "uJ")]
    MicroJ,
    #[value(name = "Wh")]
    Wh,
    #[value(name = "kWh")]
    KWh,
}

impl EnergyUnit {
    pub fn name(self) -> &'static str {
        match self {
            EnergyUnit::J => "J",
            EnergyUnit::MilliJ => "mJ",
            EnergyUnit::MicroJ => "uJ",
            EnergyUnit::Wh => "Wh",
            EnergyUnit::KWh => "kWh",
        }
    }

    /// µJ per unit.
    pub fn uj(self) -> f64 {
        match self {
            EnergyUnit::J => 1e6,
            EnergyUnit::MilliJ => 1e3,
            EnergyUnit::MicroJ => 1.0,
            EnergyUnit::Wh => 3.6e9,
            EnergyUnit::KWh => 3.6e12,
        }
    }
}

/// How an energy column counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnergyKind {
    /// A running total.
    Cumulative,
    /// The energy since the previous row.
    PerRow,
}

impl EnergyKind {
    pub fn name(self) -> &'static str {
        match self {
            EnergyKind::Cumulative => "cumulative",
            EnergyKind::PerRow => "per-row",
        }
    }
}

/// `--energy-col NAME[:cumulative|:per-row]`.
#[derive(Debug, Clone, PartialEq)]
pub struct EnergyColumn {
    pub name: String,
    /// `None`: read off the data.
    pub kind: Option<EnergyKind>,
}

impl std::str::FromStr for EnergyColumn {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (name, kind) = match s.rsplit_once(':') {
            Some((n, "cumulative")) => (n, Some(EnergyKind::Cumulative)),
            Some((n, "per-row" | "per_row" | "delta")) => (n, Some(EnergyKind::PerRow)),
            _ => (s, None),
        };
        if name.trim().is_empty() {
            return Err(format!(
                "'{s}' is not NAME[:cumulative|:per-row] (a column name is needed)"
            ));
        }
        Ok(Self {
            name: name.trim().to_string(),
            kind,
        })
    }
}

/// The counter source of energy column `e_col` (`kind` as given, or read
/// off the data with a note); notes go to `notes`.
pub(super) fn energy_series(
    csv: &CsvPower,
    e_col: usize,
    kind: Option<EnergyKind>,
    notes: &mut Vec<String>,
) -> Result<PowerSeries, ParseError> {
    let (path, table, opts) = (csv.path, csv.table, csv.opts);
    let name = table.header[e_col].clone();
    if says_power(&name) {
        notes.push(format!(
            "{}: column `{name}` is read as energy (--energy-col) but its name says power: \
             if it holds watts, give it as --power-col {name} with --power-unit",
            path.display()
        ));
    }
    let values = column_values(csv, e_col)?;
    let kind = match kind {
        Some(k) => k,
        None => guessed_kind(path, &name, &values, notes),
    };
    let id = csv.id_of(&name);
    let counter = counter_uj(csv, e_col, &name, kind, &values)?;
    let mut check = PowerCheck::new(
        path,
        &id,
        opts.domain,
        "--energy-unit and :cumulative/:per-row",
    );
    let points = counter_points(&csv.times, &counter, &mut check);
    notes.extend(check.notes());
    let mut settings = BTreeMap::new();
    settings.insert("time_column".into(), table.header[csv.t_col].clone().into());
    settings.insert("energy_column".into(), name.clone().into());
    settings.insert("energy_unit".into(), opts.energy_unit.name().into());
    settings.insert("energy_kind".into(), kind.name().into());
    Ok(PowerSeries {
        source: SourceInfo {
            id,
            domain: opts.domain,
            method: Method::MeasuredCounter,
            description: format!(
                "column `{name}` of {} ({} energy, {})",
                path.display(),
                kind.name(),
                opts.energy_unit.name()
            ),
            poll_hz: 0.0,
            settings,
        },
        points,
    })
}

/// The column's numbers; an empty cell is an error.
fn column_values(csv: &CsvPower, e_col: usize) -> Result<Vec<f64>, ParseError> {
    let table = csv.table;
    let mut values = Vec::with_capacity(csv.times.len());
    for row in &table.rows {
        let Some(v) = table.number(row, e_col)? else {
            return Err(table.error(row, e_col, "empty energy value"));
        };
        values.push(v);
    }
    Ok(values)
}

/// The kind read off the data (a column that never goes down is
/// cumulative), with a note saying so.
fn guessed_kind(path: &Path, name: &str, values: &[f64], notes: &mut Vec<String>) -> EnergyKind {
    let k = if values.windows(2).all(|w| w[1] >= w[0]) {
        EnergyKind::Cumulative
    } else {
        EnergyKind::PerRow
    };
    notes.push(format!(
        "{}: energy column `{name}` read as {} ({}); say `{name}:{}` if it is the \
         other kind",
        path.display(),
        k.name(),
        if k == EnergyKind::Cumulative {
            "it never goes down"
        } else {
            "it goes down, so it is not a running total"
        },
        k.name()
    ));
    k
}

/// The running total in µJ at each row: a cumulative column may not go
/// down, a per-row one is summed (and may not be negative).
fn counter_uj(
    csv: &CsvPower,
    e_col: usize,
    name: &str,
    kind: EnergyKind,
    values: &[f64],
) -> Result<Vec<i64>, ParseError> {
    let table = csv.table;
    let scale = csv.opts.energy_unit.uj();
    let mut counter = Vec::with_capacity(values.len());
    let mut total = 0.0f64;
    for (k, (row, v)) in table.rows.iter().zip(values).enumerate() {
        let uj = match kind {
            EnergyKind::Cumulative => {
                if k > 0 && *v < values[k - 1] {
                    return Err(table.error(
                        row,
                        e_col,
                        format!(
                            "the cumulative energy goes down (from {} to {v}): a running \
                             total never does; if each row holds the energy since the \
                             previous one, give `{name}:per-row`",
                            values[k - 1]
                        ),
                    ));
                }
                v * scale
            }
            EnergyKind::PerRow => {
                if *v < 0.0 {
                    return Err(table.error(row, e_col, format!("negative energy {v}")));
                }
                total += v * scale;
                total
            }
        };
        if uj.is_nan() || uj.abs() >= 9.2e18 {
            return Err(table.error(row, e_col, "energy out of range"));
        }
        counter.push(uj.round() as i64);
    }
    Ok(counter)
}

/// One reading per row: the counter, and the mean power since the previous
/// row (the first row takes the next interval's), which goes through
/// `check`.
fn counter_points(
    times: &[(u64, Stamp)],
    counter: &[i64],
    check: &mut PowerCheck,
) -> Vec<PowerPoint> {
    let mean_w = |k: usize| -> Option<f64> {
        let (a, b) = (k.checked_sub(1)?, k);
        let dt = match (times[a].1, times[b].1) {
            (Stamp::Wall(x), Stamp::Wall(y)) | (Stamp::Offset(x), Stamp::Offset(y)) => y - x,
            _ => return None,
        };
        Some((counter[b] - counter[a]) as f64 * 1e-6 / (dt as f64 * 1e-9))
    };
    let mut points = Vec::with_capacity(counter.len());
    for (k, &(line, at)) in times.iter().enumerate() {
        let w = mean_w(k).or_else(|| (k + 1 < times.len()).then(|| mean_w(k + 1)).flatten());
        if let Some(w) = w {
            check.keep(line, w);
        }
        points.push(PowerPoint {
            line,
            at,
            power_w: w.map(|w| w as f32),
            energy_uj: Some(counter[k]),
        });
    }
    points
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn energy_columns_parse() {
        let c: EnergyColumn = "gpu0_energy:per-row".parse().unwrap();
        assert_eq!(
            (c.name.as_str(), c.kind),
            ("gpu0_energy", Some(EnergyKind::PerRow))
        );
        let c: EnergyColumn = "a:b".parse().unwrap();
        assert_eq!((c.name.as_str(), c.kind), ("a:b", None));
        assert!(":cumulative".parse::<EnergyColumn>().is_err());
    }
}
