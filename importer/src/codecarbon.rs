//! CodeCarbon's `emissions.csv`: one summary row per tracked run, with the
//! energy of each component in kWh (`cpu_energy`, `gpu_energy`,
//! `ram_energy`, `energy_consumed`), the duration in s, the local time the
//! row was written (`timestamp`, the run's end) and facts about the machine.
//!
//! Each row becomes a run without epochs: per component a counter source
//! (`codecarbon:gpu`, `codecarbon:cpu`, `codecarbon:ram`) read twice, 0 at
//! `t = 0` and the component's energy at `t = duration`, with the mean
//! power on both rows so the integral and the counter agree. Whether a
//! component was measured is not in the file: CodeCarbon reads NVML for
//! GPUs, but estimates RAM from its size and falls back to a fraction of
//! the CPU's TDP when it cannot read RAPL. So only the GPU is marked
//! measured unless `--codecarbon-measured` says more, and the analyzer
//! flags the rest as modelled.
//!
//! A file written with periodic flushes repeats a run id with growing
//! totals; the last row of each run id is the run's total. The summary rows
//! for `analyzer tables --rows` are in [`super::codecarbon_rows`].

use super::build::{
    new_manifest, partition_of, ImportedRun, ManifestParts, RunLabels, SampleRow, SourceSummary,
};
use super::table::{Row, Table};
use super::time::{parse_datetime, Zone};
use super::{ImportError, ParseError};
use std::collections::BTreeMap;
use std::path::Path;
use trainwatt_trace::{Domain, GpuFacts, HostFacts, ImportInfo, Method, SamplerStats, SourceInfo};

/// J per kWh.
const J_PER_KWH: f64 = 3.6e6;

/// The components CodeCarbon reports: (name, column, domain).
pub const COMPONENTS: [(&str, &str, Domain); 3] = [
    ("gpu", "gpu_energy", Domain::Gpu),
    ("cpu", "cpu_energy", Domain::CpuPackage),
    ("ram", "ram_energy", Domain::Dram),
];

/// One run of an emissions file.
#[derive(Debug, Clone, PartialEq)]
pub struct CodeCarbonRow {
    pub line: u64,
    pub run_id: String,
    /// UTC ns at which the run ended (the row's `timestamp`).
    pub end_wall: i64,
    pub duration_s: f64,
    /// kWh per component, in [`COMPONENTS`] order; `None` when empty.
    pub energy_kwh: [Option<f64>; 3],
    /// `energy_consumed`, kWh.
    pub energy_consumed_kwh: Option<f64>,
    pub host: HostFacts,
    /// CodeCarbon's other columns worth keeping (project, version, PUE, …).
    pub extra: BTreeMap<String, serde_json::Value>,
}

impl CodeCarbonRow {
    /// The components' energy added up, J.
    pub fn energy_j(&self) -> f64 {
        self.energy_kwh.iter().flatten().sum::<f64>() * J_PER_KWH
    }
}

/// Columns copied into `workload.extra` when present.
const EXTRA_TEXT: [&str; 8] = [
    "project_name",
    "experiment_id",
    "codecarbon_version",
    "tracking_mode",
    "country_name",
    "region",
    "cloud_provider",
    "python_version",
];
const EXTRA_NUMBERS: [&str; 6] = [
    "cpu_power",
    "gpu_power",
    "ram_power",
    "pue",
    "emissions",
    "energy_consumed",
];

/// JSON is refused by name rather than read as a CSV (whose error would
/// show a line of it).
fn refuse_json(path: &Path, text: &str) -> Result<(), ParseError> {
    let start = text.trim_start();
    if start.starts_with('{') || start.starts_with('[') {
        let line = text[..text.len() - start.len()].matches('\n').count() as u64 + 1;
        return Err(ParseError::line(
            path,
            line,
            format!(
                "this looks like JSON (it starts with '{}'), not CodeCarbon's emissions.csv: \
                 --codecarbon expects the CSV file CodeCarbon writes (its output_file, \
                 emissions.csv by default, with a header like timestamp,project_name,run_id,\
                 duration,…,cpu_energy,gpu_energy,ram_energy,energy_consumed)",
                &start[..1]
            ),
        ));
    }
    Ok(())
}

/// The columns read.
struct Columns {
    run_id: usize,
    timestamp: usize,
    duration: usize,
    /// The energy column of each of [`COMPONENTS`], where present.
    components: Vec<Option<usize>>,
    consumed: Option<usize>,
}

/// Finds the columns; a file without run_id, timestamp, duration or any
/// component energy is not an emissions file.
fn columns(path: &Path, table: &Table) -> Result<Columns, ParseError> {
    let need = |name: &str| {
        table.find(&[name]).ok_or_else(|| {
            ParseError::line(
                path,
                table.header_line,
                format!(
                    "no column '{name}': is this CodeCarbon's emissions.csv? columns: {}",
                    table.columns()
                ),
            )
        })
    };
    let run_id = need("run_id")?;
    let timestamp = need("timestamp")?;
    let duration = need("duration")?;
    let components: Vec<Option<usize>> = COMPONENTS
        .iter()
        .map(|(_, c, _)| table.find(&[c]))
        .collect();
    if components.iter().all(Option::is_none) {
        return Err(ParseError::line(
            path,
            table.header_line,
            format!(
                "no cpu_energy, gpu_energy or ram_energy column: is this CodeCarbon's \
                 emissions.csv? columns: {}",
                table.columns()
            ),
        ));
    }
    Ok(Columns {
        run_id,
        timestamp,
        duration,
        components,
        consumed: table.find(&["energy_consumed"]),
    })
}

/// The non-empty text of column `name`, where the file has it.
fn text_of(table: &Table, row: &Row, name: &str) -> Option<String> {
    table
        .find(&[name])
        .map(|c| table.cell(row, c).to_string())
        .filter(|s| !s.is_empty())
}

/// One row of the file.
fn read_row(
    table: &Table,
    cols: &Columns,
    zone: &Zone,
    row: &Row,
) -> Result<CodeCarbonRow, ParseError> {
    let run_id = table.cell(row, cols.run_id).to_string();
    if run_id.is_empty() {
        return Err(table.error(row, cols.run_id, "empty run_id"));
    }
    let ts = table.cell(row, cols.timestamp);
    let end_wall =
        parse_datetime(ts, Some(zone)).map_err(|m| table.error(row, cols.timestamp, m))?;
    let duration_s = match table.number(row, cols.duration)? {
        // Up to a year: more is a corrupt row, and would overflow the clock.
        Some(d) if d > 0.0 && d < 3.2e7 => d,
        _ => {
            return Err(table.error(
                row,
                cols.duration,
                "the duration must be a positive number of s, below a year",
            ))
        }
    };
    let mut energy_kwh = [None; 3];
    for (slot, col) in energy_kwh.iter_mut().zip(&cols.components) {
        if let Some(c) = *col {
            *slot = table.number(row, c)?;
            if slot.is_some_and(|v| v < 0.0) {
                return Err(table.error(row, c, "negative energy"));
            }
        }
    }
    let extra = extra_of(table, row)?;
    Ok(CodeCarbonRow {
        line: row.line,
        run_id,
        end_wall,
        duration_s,
        energy_kwh,
        energy_consumed_kwh: match cols.consumed {
            Some(c) => table.number(row, c)?,
            None => None,
        },
        host: host_of(table, row),
        extra,
    })
}

/// The row's [`EXTRA_TEXT`] and [`EXTRA_NUMBERS`] cells that are filled.
fn extra_of(table: &Table, row: &Row) -> Result<BTreeMap<String, serde_json::Value>, ParseError> {
    let mut extra = BTreeMap::new();
    for name in EXTRA_TEXT {
        if let Some(v) = text_of(table, row, name) {
            extra.insert(name.to_string(), v.into());
        }
    }
    for name in EXTRA_NUMBERS {
        if let Some(c) = table.find(&[name]) {
            if let Some(v) = table.number(row, c)? {
                extra.insert(name.to_string(), v.into());
            }
        }
    }
    Ok(extra)
}

/// The machine as the row describes it.
fn host_of(table: &Table, row: &Row) -> HostFacts {
    let count = |name: &str| text_of(table, row, name).and_then(|s| s.parse::<f64>().ok());
    HostFacts {
        cpu_model: text_of(table, row, "cpu_model").unwrap_or_default(),
        cpu_cores: count("cpu_count").map_or(0, |v| v as u32),
        // CodeCarbon gives RAM in GB (GiB, computed from bytes / 1024³).
        memory_bytes: count("ram_total_size").map_or(0, |g| (g * 1024f64.powi(3)) as u64),
        gpus: gpus_of(text_of(table, row, "gpu_model").as_deref()),
        os: text_of(table, row, "os").unwrap_or_default(),
        ..HostFacts::default()
    }
}

/// Parses an emissions file; the notes say what was merged.
pub fn parse(
    path: &Path,
    text: &str,
    zone: &Zone,
) -> Result<(Vec<CodeCarbonRow>, Vec<String>), ParseError> {
    refuse_json(path, text)?;
    let table = Table::csv(path, text)?;
    let cols = columns(path, &table)?;
    let mut runs: Vec<CodeCarbonRow> = Vec::new();
    let mut merged = 0usize;
    for row in &table.rows {
        let row = read_row(&table, &cols, zone, row)?;
        match runs.iter_mut().find(|r| r.run_id == row.run_id) {
            Some(r) => {
                *r = row;
                merged += 1;
            }
            None => runs.push(row),
        }
    }
    if runs.is_empty() {
        return Err(ParseError::line(
            path,
            table.header_line,
            "no data rows after the header",
        ));
    }
    let mut notes = Vec::new();
    if merged > 0 {
        notes.push(format!(
            "{}: {merged} row(s) repeated an earlier run_id (periodic flushes); the last row of \
             each run was used",
            path.display()
        ));
    }
    Ok((runs, notes))
}

/// `"2 x NVIDIA A100-SXM4-40GB"` -> two GPUs of that name.
fn gpus_of(model: Option<&str>) -> Vec<GpuFacts> {
    let Some(m) = model.map(str::trim).filter(|m| !m.is_empty()) else {
        return Vec::new();
    };
    let (n, name) = match m.split_once(" x ") {
        Some((n, name)) if n.trim().parse::<usize>().is_ok() => {
            (n.trim().parse::<usize>().unwrap_or(1), name.trim())
        }
        _ => (1, m),
    };
    (0..n.min(64))
        .map(|_| GpuFacts {
            name: name.to_string(),
            ..GpuFacts::default()
        })
        .collect()
}

/// What one row's components give: their sources, two counter readings
/// each, and the summary.
struct Components {
    sources: Vec<SourceInfo>,
    samples: Vec<SampleRow>,
    summary: Vec<SourceSummary>,
}

/// The components with energy above 0; `measured` names those declared
/// measured.
fn components(row: &CodeCarbonRow, measured: &[String], duration_ns: i64) -> Components {
    let mut out = Components {
        sources: Vec::new(),
        samples: Vec::new(),
        summary: Vec::new(),
    };
    for ((name, column, domain), kwh) in COMPONENTS.iter().zip(row.energy_kwh) {
        let Some(kwh) = kwh.filter(|v| *v > 0.0) else {
            continue;
        };
        let index = out.sources.len() as u16;
        let energy_j = kwh * J_PER_KWH;
        let mean_w = (energy_j / row.duration_s) as f32;
        let is_measured = measured.iter().any(|m| m == name);
        out.sources
            .push(component_source(row, (name, column, *domain), is_measured));
        let energy_uj = (energy_j * 1e6).round() as i64;
        for (t_ns, e) in [(0, 0), (duration_ns, energy_uj)] {
            out.samples.push(SampleRow {
                t_ns,
                source: index,
                power_w: Some(mean_w),
                energy_uj: Some(e),
            });
        }
        out.summary.push(SourceSummary {
            id: format!("codecarbon:{name}"),
            samples: 2,
            first_ns: 0,
            last_ns: duration_ns,
            energy_j,
        });
    }
    out
}

/// The source of one component: (name, column, domain) of [`COMPONENTS`].
fn component_source(
    row: &CodeCarbonRow,
    (name, column, domain): (&str, &str, Domain),
    is_measured: bool,
) -> SourceInfo {
    let mut settings = BTreeMap::new();
    settings.insert("column".to_string(), serde_json::Value::from(column));
    settings.insert("unit".to_string(), serde_json::Value::from("kWh"));
    SourceInfo {
        id: format!("codecarbon:{name}"),
        domain,
        method: if is_measured {
            Method::MeasuredCounter
        } else {
            Method::Modelled
        },
        description: format!(
            "CodeCarbon `{column}` total over the run ({})",
            if is_measured {
                "declared measured with --codecarbon-measured"
            } else {
                "CodeCarbon's estimate"
            }
        ),
        poll_hz: 1.0 / row.duration_s,
        settings,
    }
}

/// The file's notes, what the run's sources are, and whether
/// `energy_consumed` disagrees with the components.
fn run_warnings(row: &CodeCarbonRow, notes: &[String]) -> Vec<String> {
    let mut warnings: Vec<String> = notes.to_vec();
    warnings.push(
        "CodeCarbon gives one total per component: each source is two counter readings (start \
         and end of the run) and its mean power; the run has no epochs"
            .into(),
    );
    if let Some(total) = row.energy_consumed_kwh {
        let sum: f64 = row.energy_kwh.iter().flatten().sum();
        let pue = row
            .extra
            .get("pue")
            .and_then(serde_json::Value::as_f64)
            .unwrap_or(1.0);
        let close = |x: f64| (x - total).abs() <= 1e-3 * total.max(1e-12);
        if !close(sum) && !close(sum * pue) {
            warnings.push(format!(
                "energy_consumed ({total} kWh) is not the sum of the components ({sum} kWh)"
            ));
        }
    }
    warnings
}

/// Builds the run of one row.
pub fn to_run(
    row: &CodeCarbonRow,
    labels: &RunLabels,
    measured: &[String],
    imported: ImportInfo,
    command: Vec<String>,
    notes: &[String],
) -> Result<ImportedRun, ImportError> {
    let duration_ns = (row.duration_s * 1e9).round() as i64;
    let Components {
        sources,
        mut samples,
        summary,
    } = components(row, measured, duration_ns);
    if sources.is_empty() {
        return Err(ImportError::Invalid(format!(
            "line {}: run {} has no component energy above 0",
            row.line, row.run_id
        )));
    }
    let warnings = run_warnings(row, notes);
    let labels = RunLabels {
        run_id: Some(row.run_id.clone()),
        ..labels.clone()
    };
    let mut manifest = new_manifest(ManifestParts {
        run_id: row.run_id.clone(),
        origin_wall: Some(row.end_wall.saturating_sub(duration_ns)),
        end_ns: duration_ns,
        host: row.host.clone(),
        sources,
        sampler: SamplerStats {
            rate_hz: 1.0 / row.duration_s,
            ticks: 2,
            segments: 1,
            compacted: true,
            ..SamplerStats::default()
        },
        labels: &labels,
        command,
        imported,
        warnings,
        approximate: false,
    })?;
    manifest.workload.extra = row.extra.clone();
    samples.sort_by_key(|r| (r.source, r.t_ns));
    Ok(ImportedRun {
        partition: partition_of(&manifest),
        source_ids: manifest.sources.iter().map(|s| s.id.clone()).collect(),
        manifest,
        samples,
        epochs: Vec::new(),
        summary,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str = "timestamp,project_name,run_id,duration,cpu_energy,gpu_energy,ram_energy,energy_consumed,cpu_model,gpu_model,cpu_count,ram_total_size,pue\n";

    fn utc() -> Zone {
        "UTC".parse().unwrap()
    }

    #[test]
    fn rows_become_runs_with_counter_sources() {
        let text = format!(
            "{HEAD}2025-05-30T00:15:08,codecarbon,r1,200.0,0.001,0.002,0.0005,0.0035,AMD EPYC 7742 64-Core Processor,1 x NVIDIA A100-SXM4-40GB,256,1007.6,1.0\n"
        );
        let (rows, notes) = parse(Path::new("e.csv"), &text, &utc()).unwrap();
        assert!(notes.is_empty());
        let r = &rows[0];
        assert_eq!(r.host.gpus[0].name, "NVIDIA A100-SXM4-40GB");
        assert!((r.energy_j() - 0.0035 * 3.6e6).abs() < 1e-6);
        let run = to_run(
            r,
            &RunLabels::default(),
            &["gpu".into()],
            ImportInfo::default(),
            vec![],
            &[],
        )
        .unwrap();
        let m = &run.manifest;
        assert_eq!(m.platform, "NVIDIA-A100-SXM4-40GB");
        assert_eq!(m.started_at_utc, "2025-05-30T00:11:48.000000000Z");
        assert_eq!(m.sources[0].id, "codecarbon:gpu");
        assert_eq!(m.sources[0].method, Method::MeasuredCounter);
        assert_eq!(m.sources[1].method, Method::Modelled);
        assert_eq!(run.samples.len(), 6);
        assert_eq!(run.samples[1].energy_uj, Some(7_200_000_000));
        assert_eq!(run.samples[1].t_ns, 200_000_000_000);
        assert_eq!(m.workload.extra["project_name"], "codecarbon");
        assert!(run.epochs.is_empty());
    }

    #[test]
    fn repeated_run_ids_keep_the_last_row() {
        let text = format!(
            "{HEAD}2025-05-30T00:10:00,p,r1,100,0.001,0.001,0.001,0.003,,,,,\n\
             2025-05-30T00:15:00,p,r1,400,0.004,0.004,0.004,0.012,,,,,\n"
        );
        let (rows, notes) = parse(Path::new("e.csv"), &text, &utc()).unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].duration_s, 400.0);
        assert!(notes[0].contains("1 row(s)"), "{notes:?}");
    }

    #[test]
    fn malformed_rows_name_line_and_column() {
        let text = format!("{HEAD}2025-05-30T00:15:08,p,r1,200,0.001,lots,0.0005,0.0035,,,,,\n");
        let e = parse(Path::new("e.csv"), &text, &utc()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "e.csv: line 2, column 6 (gpu_energy): 'lots' is not a number"
        );
        let text = format!("{HEAD}30/05/2025,p,r1,200,0.001,0.1,0.0005,0.0035,,,,,\n");
        let e = parse(Path::new("e.csv"), &text, &utc()).unwrap_err();
        assert_eq!(
            (e.line, e.column.to_string()),
            (2, ", column 1 (timestamp)".into())
        );
        let e = parse(Path::new("e.csv"), "a,b\n1,2\n", &utc()).unwrap_err();
        assert!(e.message.contains("no column 'run_id'"), "{e}");
    }

    #[test]
    fn json_is_named_not_dumped() {
        let json = format!(
            "\n{{\"run_id\": \"r1\", \"gpu_energy\": 0.1, \"filler\": \"{}\"}}\n",
            "x".repeat(5000)
        );
        let e = parse(Path::new("e.json"), &json, &utc()).unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.message.contains("looks like JSON"), "{e}");
        assert!(
            e.message.contains("--codecarbon expects the CSV file"),
            "{e}"
        );
        assert!(e.to_string().len() < 400, "{e}");
    }
}
