//! What CodeCarbon does not know and `analyzer tables --rows` needs: which
//! model each run trained (dataset, architecture, width), when it stopped
//! (epochs) and what accuracy it reached.
//!
//! `--labels FILE.csv` gives these per CodeCarbon `run_id` (columns
//! `run_id` and any of `platform, dataset, arch, width, epochs, acc,
//! criterion`); `--dataset/--arch/--width/--acc/--criterion` give defaults
//! for every row. `--rows-out FILE.csv` then writes one summary row per run
//! in the columns `analyzer tables --rows` reads, with the energy as
//! `energy_kwh` (the components added up, without CodeCarbon's PUE factor,
//! the same energy the imported run's sources hold). Cells the user did not
//! supply stay empty, to be filled in before `analyzer tables` runs.

use super::build::RunLabels;
use super::codecarbon::CodeCarbonRow;
use super::epoch_log::accuracy;
use super::table::Table;
use super::{ImportError, ParseError};
use std::path::{Path, PathBuf};

/// The labels of one run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LabelRow {
    pub line: u64,
    pub run_id: String,
    pub platform: Option<String>,
    pub dataset: Option<String>,
    pub arch: Option<String>,
    pub width: Option<u32>,
    /// `N`, or `>N` for "criterion not reached by epoch N".
    pub epochs: Option<String>,
    pub acc: Option<f64>,
    pub criterion: Option<String>,
}

/// A `--labels` file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Labels {
    pub path: PathBuf,
    pub rows: Vec<LabelRow>,
}

impl Labels {
    pub fn get(&self, run_id: &str) -> Option<&LabelRow> {
        self.rows.iter().find(|r| r.run_id == run_id)
    }

    /// Every labelled run id must be in the emissions file (a typo would
    /// otherwise leave a run unlabelled without a word).
    pub fn check_known(&self, runs: &[CodeCarbonRow], file: &Path) -> Result<(), ImportError> {
        for l in &self.rows {
            if !runs.iter().any(|r| r.run_id == l.run_id) {
                return Err(ImportError::Invalid(format!(
                    "{}: line {}: run_id {} is not in {}",
                    self.path.display(),
                    l.line,
                    l.run_id,
                    file.display()
                )));
            }
        }
        Ok(())
    }
}

/// Parses a `--labels` CSV.
pub fn parse_labels(path: &Path, text: &str) -> Result<Labels, ParseError> {
    let table = Table::csv(path, text)?;
    let id_col = table.require("run_id", "the run id column")?;
    let col = |n: &str| table.find(&[n]);
    let (platform, dataset, arch, width, epochs, acc, criterion) = (
        col("platform"),
        col("dataset"),
        col("arch").or_else(|| col("architecture")),
        col("width"),
        col("epochs").or_else(|| col("stop_epoch")),
        col("acc").or_else(|| col("accuracy")),
        col("criterion"),
    );
    let mut rows: Vec<LabelRow> = Vec::new();
    for row in &table.rows {
        let text = |c: Option<usize>| {
            c.map(|c| table.cell(row, c).to_string())
                .filter(|s| !s.is_empty())
        };
        let run_id = table.cell(row, id_col).to_string();
        if run_id.is_empty() {
            return Err(table.error(row, id_col, "empty run_id"));
        }
        if let Some(first) = rows.iter().find(|r| r.run_id == run_id) {
            return Err(table.error(
                row,
                id_col,
                format!("run_id {run_id} already labelled on line {}", first.line),
            ));
        }
        let width = match width {
            Some(c) if !table.cell(row, c).is_empty() => {
                let s = table.cell(row, c);
                Some(
                    s.parse::<u32>()
                        .map_err(|_| table.error(row, c, format!("'{s}' is not a whole number")))?,
                )
            }
            _ => None,
        };
        let stop = text(epochs);
        if let (Some(s), Some(c)) = (&stop, epochs) {
            if s.trim_start_matches('>').trim().parse::<u32>().is_err() {
                return Err(table.error(
                    row,
                    c,
                    format!("'{s}' is not an epoch number or >N (not reached by epoch N)"),
                ));
            }
        }
        rows.push(LabelRow {
            line: row.line,
            run_id,
            platform: text(platform),
            dataset: text(dataset),
            arch: text(arch),
            width,
            epochs: stop,
            acc: match acc {
                Some(c) => accuracy(&table, row, c, false)?,
                None => None,
            },
            criterion: text(criterion),
        });
    }
    Ok(Labels {
        path: path.to_path_buf(),
        rows,
    })
}

/// The run labels of one CodeCarbon run: its `--labels` row over the
/// defaults.
pub fn labels_for(defaults: &RunLabels, label: Option<&LabelRow>) -> RunLabels {
    let Some(l) = label else {
        return defaults.clone();
    };
    RunLabels {
        platform: l.platform.clone().or_else(|| defaults.platform.clone()),
        dataset: l.dataset.clone().or_else(|| defaults.dataset.clone()),
        arch: l.arch.clone().or_else(|| defaults.arch.clone()),
        width: l.width.or(defaults.width),
        run_id: None,
    }
}

/// One row of `--rows-out`.
#[derive(Debug, Clone, PartialEq)]
pub struct SummaryLine {
    pub platform: String,
    pub dataset: String,
    pub criterion: String,
    pub arch: String,
    pub width: u32,
    pub epochs: Option<String>,
    pub acc: Option<f64>,
    pub energy_kwh: f64,
    pub duration_s: f64,
    pub run_id: String,
    pub source_file: String,
    pub line: u64,
}

const HEADER: [&str; 12] = [
    "platform",
    "dataset",
    "criterion",
    "arch",
    "width",
    "epochs",
    "acc",
    "energy_kwh",
    "duration_s",
    "run_id",
    "source_file",
    "source_line",
];

/// Renders the rows file.
pub fn render_rows(lines: &[SummaryLine]) -> String {
    let mut w = csv::WriterBuilder::new().from_writer(Vec::new());
    // Writing to memory cannot fail; a failure would only lose this text.
    let _ = w.write_record(HEADER);
    for l in lines {
        let _ = w.write_record([
            l.platform.clone(),
            l.dataset.clone(),
            l.criterion.clone(),
            l.arch.clone(),
            l.width.to_string(),
            l.epochs.clone().unwrap_or_default(),
            l.acc.map(|a| a.to_string()).unwrap_or_default(),
            format!("{}", l.energy_kwh),
            format!("{}", l.duration_s),
            l.run_id.clone(),
            l.source_file.clone(),
            l.line.to_string(),
        ]);
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}

/// Rows that `analyzer tables` would refuse as duplicates (same platform,
/// dataset, criterion, arch and width): their run ids, for a warning.
pub fn duplicates(lines: &[SummaryLine]) -> Vec<(String, String)> {
    let key = |l: &SummaryLine| {
        (
            l.platform.clone(),
            l.dataset.clone(),
            l.criterion.clone(),
            l.arch.clone(),
            l.width,
        )
    };
    let mut out = Vec::new();
    for (k, l) in lines.iter().enumerate() {
        if let Some(first) = lines[..k].iter().find(|o| key(o) == key(l)) {
            out.push((first.run_id.clone(), l.run_id.clone()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_parse_and_override_defaults() {
        let text = "run_id,dataset,arch,width,epochs,acc,note\n\
                    r1,mnist,lenet,2,12,0.99,first\nr2,,,,>50,,\n";
        let l = parse_labels(Path::new("l.csv"), text).unwrap();
        let defaults = RunLabels {
            dataset: Some("cifar10".into()),
            width: Some(1),
            ..RunLabels::default()
        };
        let r1 = labels_for(&defaults, l.get("r1"));
        assert_eq!((r1.dataset.as_deref(), r1.width), (Some("mnist"), Some(2)));
        let r2 = labels_for(&defaults, l.get("r2"));
        assert_eq!(
            (r2.dataset.as_deref(), r2.width),
            (Some("cifar10"), Some(1))
        );
        assert_eq!(l.rows[1].epochs.as_deref(), Some(">50"));
        let bad = "run_id,acc\nr1,97\n";
        let e = parse_labels(Path::new("l.csv"), bad).unwrap_err();
        assert_eq!(
            (e.line, e.column.to_string()),
            (2, ", column 2 (acc)".into())
        );
        let dup = "run_id\nr1\nr1\n";
        let e = parse_labels(Path::new("l.csv"), dup).unwrap_err();
        assert!(e.message.contains("line 2") && e.line == 3, "{e}");
    }

    #[test]
    fn rows_out_has_a_line_per_run_and_duplicates_are_found() {
        let line = |run: &str, width: u32| SummaryLine {
            platform: "A100".into(),
            dataset: "mnist".into(),
            criterion: "as-run".into(),
            arch: "lenet".into(),
            width,
            epochs: Some("12".into()),
            acc: Some(0.98),
            energy_kwh: 0.0174528138527075,
            duration_s: 208.29,
            run_id: run.into(),
            source_file: "emissions, 2025.csv".into(),
            line: 2,
        };
        let lines = [line("a", 1), line("b", 2)];
        // That `analyzer tables --rows` reads this text is checked by the
        // analyzer's tests/cli_import.rs on a real CodeCarbon file.
        let text = render_rows(&lines);
        assert_eq!(text.lines().count(), 3, "{text}");
        assert!(duplicates(&lines).is_empty());
        assert_eq!(
            duplicates(&[line("a", 1), line("b", 1)]),
            [("a".into(), "b".into())]
        );
    }
}
