//! Zeus' window log: the CSV that `ZeusMonitor(log_file=…)` writes
//! (ml-energy/zeus, `zeus/monitor/energy.py`, the same since zeus-ml 0.6):
//! a header `start_time,window_name,elapsed_time,gpu0_energy[,gpu1_energy…]`
//! (one column per monitored GPU index) and one row per measurement window,
//! appended when the window ends (`end_window`), so rows are in order of
//! their ends: `start_time` is the window's start as Unix time in seconds
//! (Python's `time()`), `elapsed_time` its length in s, and `gpuN_energy`
//! the J GPU N used in it (differences of NVML's total-energy counter on
//! Volta and newer). Cancelled windows are not written.
//!
//! Each GPU becomes a counter source `zeus:gpuN` (method
//! `measured-counter`): a reading at each window's start and end, the
//! counter rising by the window's energy, each with the window's mean power.
//! Windows may nest or overlap (any code block can be one), which would
//! count energy twice, so overlapping windows are refused unless
//! `--zeus-window NAME` picks the ones to use. Between windows Zeus measured
//! nothing: the counter stays flat there and a note says how much of the
//! span that is. The windows are also offered for placing the epochs (one
//! window per epoch), with their exact times.

use super::table::{Row as TableRow, Table};
use super::time::decimal_scaled;
use super::{
    span_counter_points, ParseError, PowerCheck, PowerLog, PowerSeries, Span, Stamp, Window,
};
use std::collections::BTreeMap;
use std::path::Path;
use trainwatt_trace::{Domain, Method, SourceInfo};

/// One row of the log.
#[derive(Debug, Clone)]
struct Row {
    line: u64,
    name: String,
    start_ns: i64,
    end_ns: i64,
    /// J per GPU column, in column order.
    energy_j: Vec<f64>,
}

/// The columns of the log.
struct Columns {
    start: usize,
    name: usize,
    elapsed: usize,
    /// (column, GPU index) of each `gpuN_energy` column.
    gpus: Vec<(usize, u32)>,
}

/// The log's columns; a file without them is refused, naming ZeusMonitor.
fn columns(path: &Path, table: &Table) -> Result<Columns, ParseError> {
    let header_line = table.header_line.max(1);
    let need = |name: &str| {
        table.find(&[name]).ok_or_else(|| {
            ParseError::line(
                path,
                header_line,
                format!(
                    "no column '{name}': is this the log_file of Zeus' ZeusMonitor (header \
                     start_time,window_name,elapsed_time,gpu0_energy,…)? columns: {}",
                    table.columns()
                ),
            )
        })
    };
    let (start, name, elapsed) = (
        need("start_time")?,
        need("window_name")?,
        need("elapsed_time")?,
    );
    let gpus: Vec<(usize, u32)> = table
        .header
        .iter()
        .enumerate()
        .filter_map(|(c, h)| {
            let idx = h.strip_prefix("gpu")?.strip_suffix("_energy")?;
            Some((c, idx.parse::<u32>().ok()?))
        })
        .collect();
    if gpus.is_empty() {
        return Err(ParseError::line(
            path,
            header_line,
            format!(
                "no gpuN_energy column (ZeusMonitor writes one per GPU index); columns: {}",
                table.columns()
            ),
        ));
    }
    Ok(Columns {
        start,
        name,
        elapsed,
        gpus,
    })
}

/// The windows kept, in file order.
struct Windows {
    rows: Vec<Row>,
    /// Every window name, in order of first appearance.
    names: Vec<String>,
    /// Windows of length 0, skipped.
    empty: usize,
}

/// Reads the rows; `window` keeps only the windows of that name.
fn read_windows(
    table: &Table,
    cols: &Columns,
    window: Option<&str>,
) -> Result<Windows, ParseError> {
    let mut out = Windows {
        rows: Vec::with_capacity(table.rows.len()),
        names: Vec::new(),
        empty: 0,
    };
    for row in &table.rows {
        let name = table.cell(row, cols.name).to_string();
        if !out.names.contains(&name) {
            out.names.push(name.clone());
        }
        if window.is_some_and(|w| w != name) {
            continue;
        }
        match read_row(table, cols, row, name)? {
            Some(r) => out.rows.push(r),
            None => out.empty += 1,
        }
    }
    Ok(out)
}

/// One window row; `None` for a window of length 0.
fn read_row(
    table: &Table,
    cols: &Columns,
    row: &TableRow,
    name: String,
) -> Result<Option<Row>, ParseError> {
    let secs = |c: usize| -> Result<f64, ParseError> {
        match table.number(row, c)? {
            Some(v) => Ok(v),
            None => Err(table.error(row, c, "empty cell")),
        }
    };
    // Exact where the text is a plain decimal: Unix time in ns has more
    // digits than an f64 holds.
    let ns = |c: usize| -> Result<i64, ParseError> {
        let v = secs(c)?;
        Ok(decimal_scaled(table.cell(row, c), 9).unwrap_or((v * 1e9).round() as i64))
    };
    let start = secs(cols.start)?;
    let elapsed = secs(cols.elapsed)?;
    if !(0.0..3.2e7).contains(&elapsed) {
        return Err(table.error(
            row,
            cols.elapsed,
            format!("'{elapsed}' s is not a window length (0 s .. a year)"),
        ));
    }
    if !(0.0..9.2e9).contains(&start) {
        return Err(table.error(
            row,
            cols.start,
            format!("'{start}' is not Unix time in seconds"),
        ));
    }
    let start_ns = ns(cols.start)?;
    let end_ns = start_ns + ns(cols.elapsed)?;
    if end_ns <= start_ns {
        return Ok(None);
    }
    let mut energy_j = Vec::with_capacity(cols.gpus.len());
    for &(c, _) in &cols.gpus {
        let e = secs(c)?;
        if e < 0.0 {
            return Err(table.error(row, c, format!("negative energy {e} J")));
        }
        energy_j.push(e);
    }
    Ok(Some(Row {
        line: row.line,
        name,
        start_ns,
        end_ns,
        energy_j,
    }))
}

/// Overlapping windows (sorted by start) would count energy twice.
fn refuse_overlaps(path: &Path, rows: &[Row], names: &[String]) -> Result<(), ParseError> {
    for w in rows.windows(2) {
        if w[1].start_ns < w[0].end_ns {
            return Err(ParseError::line(
                path,
                w[1].line,
                format!(
                    "window '{}' (line {}) overlaps window '{}' (line {}): Zeus windows may \
                     nest, and adding both would count energy twice; pick the windows to use \
                     with --zeus-window NAME (the file's windows: {})",
                    w[1].name,
                    w[1].line,
                    w[0].name,
                    w[0].line,
                    names.join(", ")
                ),
            ));
        }
    }
    Ok(())
}

/// The counter source of the GPU in column `c` (the `k`-th GPU column).
fn gpu_series(
    path: &Path,
    table: &Table,
    rows: &[Row],
    (k, c, index): (usize, usize, u32),
    window: Option<&str>,
) -> (PowerSeries, Vec<String>) {
    let id = format!("zeus:gpu{index}");
    let mut check = PowerCheck::new(path, &id, Domain::Gpu, "that the energy is in J");
    let spans: Vec<Span> = rows
        .iter()
        .map(|r| {
            let e = r.energy_j[k];
            Span {
                line: r.line,
                start_ns: r.start_ns,
                end_ns: r.end_ns,
                power_w: e / ((r.end_ns - r.start_ns) as f64 * 1e-9),
                energy_uj: e * 1e6,
            }
        })
        .collect();
    let points = span_counter_points(&spans, &mut check);
    let mut settings = BTreeMap::new();
    settings.insert("column".to_string(), table.header[c].clone().into());
    settings.insert("unit".to_string(), "J".into());
    if let Some(w) = window {
        settings.insert("window_name".to_string(), w.into());
    }
    let series = PowerSeries {
        source: SourceInfo {
            id,
            domain: Domain::Gpu,
            method: Method::MeasuredCounter,
            description: format!(
                "Zeus ZeusMonitor window energy of GPU {index} (`{}`), read at each window's \
                 start and end",
                table.header[c]
            ),
            poll_hz: 0.0,
            settings,
        },
        points,
    };
    (series, check.notes())
}

/// A note when the windows leave more than 1 % of their span unmeasured.
fn gap_note(path: &Path, rows: &[Row]) -> Option<String> {
    let first = rows.first().map_or(0, |r| r.start_ns);
    let last = rows.last().map_or(0, |r| r.end_ns);
    let covered: i64 = rows.iter().map(|r| r.end_ns - r.start_ns).sum();
    let gap = (last - first) - covered;
    (gap as f64 > 0.01 * (last - first) as f64).then(|| {
        format!(
            "{}: the Zeus windows leave {:.1} s of the {:.1} s they span unmeasured: the \
             counter stays flat (0 J) between windows, so place epochs on the windows",
            path.display(),
            gap as f64 * 1e-9,
            (last - first) as f64 * 1e-9
        )
    })
}

/// Parses a Zeus window log; `window` keeps only the windows of that name.
pub fn parse(path: &Path, text: &str, window: Option<&str>) -> Result<PowerLog, ParseError> {
    let table = Table::csv(path, text)?;
    let cols = columns(path, &table)?;
    let Windows {
        mut rows,
        names,
        empty,
    } = read_windows(&table, &cols, window)?;
    if rows.is_empty() {
        let why = match window {
            Some(w) => format!(
                "no window named '{w}' (--zeus-window); the file's windows: {}",
                names.join(", ")
            ),
            None => "no measurement window after the header".to_string(),
        };
        return Err(ParseError::line(path, table.header_line.max(1), why));
    }
    // Rows are written as windows end; the counter needs them by start.
    rows.sort_by_key(|r| (r.start_ns, r.end_ns));
    refuse_overlaps(path, &rows, &names)?;
    let mut notes = Vec::new();
    if empty > 0 {
        notes.push(format!(
            "{}: {empty} window(s) of length 0 skipped",
            path.display()
        ));
    }
    let mut series = Vec::with_capacity(cols.gpus.len());
    for (k, &(c, index)) in cols.gpus.iter().enumerate() {
        let (s, check_notes) = gpu_series(path, &table, &rows, (k, c, index), window);
        notes.extend(check_notes);
        series.push(s);
    }
    notes.extend(gap_note(path, &rows));
    let windows = rows
        .iter()
        .map(|r| Window {
            line: r.line,
            name: r.name.clone(),
            start: Stamp::Wall(r.start_ns),
            end: Stamp::Wall(r.end_ns),
            coarse: false,
        })
        .collect();
    Ok(PowerLog {
        series,
        notes,
        windows,
        ..PowerLog::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = 1_000_000_000;
    /// Written in end order: `step` windows inside `epoch` windows.
    const LOG: &str = "start_time,window_name,elapsed_time,gpu0_energy,gpu1_energy\n\
                       1700000000.5,step,1.0,200.0,100.0\n\
                       1700000000.0,epoch,10.0,2000.0,1000.0\n\
                       1700000010.0,epoch,12.5,2500.0,1250.5\n";

    #[test]
    fn epoch_windows_become_counters_per_gpu() {
        let log = parse(Path::new("z.csv"), LOG, Some("epoch")).unwrap();
        assert_eq!(log.series.len(), 2);
        let g1 = &log.series[1];
        assert_eq!(g1.source.id, "zeus:gpu1");
        assert_eq!(g1.source.method, Method::MeasuredCounter);
        // Windows back to back: start, end of 1 = start of 2, end of 2.
        let pts: Vec<(Stamp, Option<i64>, Option<f32>, u64)> = g1
            .points
            .iter()
            .map(|p| (p.at, p.energy_uj, p.power_w, p.line))
            .collect();
        let t0 = 1_700_000_000 * S;
        assert_eq!(
            pts,
            [
                (Stamp::Wall(t0), Some(0), Some(100.0), 3),
                (
                    Stamp::Wall(t0 + 10 * S),
                    Some(1_000_000_000),
                    Some(100.0),
                    3
                ),
                (
                    Stamp::Wall(t0 + 22 * S + S / 2),
                    Some(2_250_500_000),
                    Some(100.04),
                    4
                ),
            ]
        );
        assert_eq!(log.windows.len(), 2);
        assert_eq!(log.windows[1].start, Stamp::Wall(t0 + 10 * S));
        assert!(log.notes.is_empty(), "{:?}", log.notes);
    }

    #[test]
    fn nested_windows_need_a_choice_and_gaps_are_noted() {
        let e = parse(Path::new("z.csv"), LOG, None).unwrap_err();
        assert!(
            e.message
                .contains("window 'step' (line 2) overlaps window 'epoch' (line 3)")
                && e.message.contains("--zeus-window"),
            "{e}"
        );
        let log = parse(Path::new("z.csv"), LOG, Some("step")).unwrap();
        assert_eq!(log.series[0].points.len(), 2);
        let e = parse(Path::new("z.csv"), LOG, Some("eval")).unwrap_err();
        assert!(e.message.contains("the file's windows: step, epoch"), "{e}");
        let gappy = "start_time,window_name,elapsed_time,gpu0_energy\n\
                     100.0,a,1.0,50\n110.0,a,1.0,50\n";
        let log = parse(Path::new("z.csv"), gappy, None).unwrap();
        assert_eq!(log.series[0].points.len(), 4);
        assert!(
            log.notes[0].contains("leave 9.0 s of the 11.0 s"),
            "{:?}",
            log.notes
        );
        let e = parse(Path::new("z.csv"), "time,power\n1,2\n", None).unwrap_err();
        assert!(e.message.contains("ZeusMonitor"), "{e}");
    }
}
