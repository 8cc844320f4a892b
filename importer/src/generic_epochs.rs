//! A generic epoch log, CSV or JSON lines: one row (object) per epoch with
//! `epoch` (from 0 or from 1, whichever the first row shows), accuracies and
//! losses under our names or the usual aliases (`train_acc`, `test_acc`,
//! `val_acc`, …; or the `--…-col` flags), optionally `examples`, and
//! optionally when the epoch started and ended.
//!
//! Times, where present, are numbers (seconds from the run's origin — the
//! first power sample — or Unix time with `--time-unit unix`) or date-times.
//! A log with end times only has each epoch start where the previous one
//! ended; epoch 1 then needs a start, which only a `start` column or a rule
//! can give.
//!
//! Like Keras' logs, a file may hold several runs (the epoch number goes
//! back to the first row's, or the header repeats); each is returned as a
//! log of its own.

use super::epoch_log::{
    number_epochs, split_runs, Aliases, Base, EpochEntry, EpochLog, MetricColumns, MetricNames,
};
use super::table::{Row, Table};
use super::time::{parse_stamp, Stamp, TimeUnit, Zone};
use super::ParseError;
use std::path::Path;

pub(crate) const ALIASES: Aliases = Aliases {
    train_acc: &["train_acc", "train_accuracy", "accuracy", "acc"],
    test_acc: &[
        "test_acc",
        "test_accuracy",
        "val_acc",
        "val_accuracy",
        "valid_acc",
        "eval_accuracy",
    ],
    train_loss: &["train_loss", "loss"],
    test_loss: &["test_loss", "val_loss", "valid_loss", "eval_loss"],
};

const START_NAMES: [&str; 5] = ["start", "start_time", "t_start", "epoch_start", "start_s"];
const END_NAMES: [&str; 7] = [
    "end",
    "end_time",
    "t_end",
    "epoch_end",
    "end_s",
    "time",
    "timestamp",
];

/// Which container the log is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Container {
    Csv,
    Jsonl,
}

/// Parses a generic epoch log: one log per run it holds.
pub fn parse(
    path: &Path,
    text: &str,
    container: Container,
    names: &MetricNames,
    time_unit: TimeUnit,
    zone: Option<&Zone>,
) -> Result<Vec<EpochLog>, ParseError> {
    let table = match container {
        Container::Csv => Table::csv(path, text)?,
        Container::Jsonl => Table::jsonl(path, text)?,
    };
    let e_col = table.require("epoch", "the epoch column")?;
    let metrics = MetricColumns::resolve(&table, names, &ALIASES)?;
    let examples_col = table.find(&["examples", "num_examples", "samples"]);
    let start_col = table.find(&START_NAMES);
    let end_col = table.find(&END_NAMES);
    let runs = split_runs(&table, e_col)?;
    if runs.is_empty() {
        return Err(ParseError::line(
            path,
            table.header_line.max(1),
            "no epoch rows",
        ));
    }
    let time = |row: &Row, col: Option<usize>| -> Result<Option<Stamp>, ParseError> {
        let Some(c) = col else { return Ok(None) };
        let s = table.cell(row, c);
        if s.is_empty() {
            return Ok(None);
        }
        parse_stamp(s, time_unit, zone)
            .map(Some)
            .map_err(|m| table.error(row, c, m))
    };
    let mut columns = metrics.describe(&table);
    for (what, col) in [("start", start_col), ("end", end_col)] {
        if let Some(c) = col {
            columns.push((what, table.header[c].clone()));
        }
    }
    let mut logs = Vec::with_capacity(runs.len());
    for run in runs {
        let epochs = number_epochs(&table, &run, e_col, Base::Auto)?;
        let mut entries: Vec<EpochEntry> = Vec::with_capacity(epochs.len());
        for ((row, _), epoch) in run.iter().zip(epochs) {
            let [train_acc, test_acc, train_loss, test_loss] =
                metrics.read(&table, row, names.acc_percent)?;
            let examples = match examples_col {
                Some(c) => match table.number(row, c)? {
                    Some(v) if v >= 0.0 && v.fract() == 0.0 => Some(v as i64),
                    Some(_) => return Err(table.error(row, c, "not a whole number of examples")),
                    None => None,
                },
                None => None,
            };
            let end = time(row, end_col)?;
            let start = match start_col {
                Some(_) => time(row, start_col)?,
                None => entries.last().and_then(|p| p.end),
            };
            if let (Some(s), Some(e), Some(c)) = (start, end, end_col) {
                if std::mem::discriminant(&s) == std::mem::discriminant(&e) && e <= s {
                    return Err(table.error(row, c, "the epoch ends before it starts"));
                }
            }
            entries.push(EpochEntry {
                line: row.line,
                epoch,
                train_acc,
                test_acc,
                train_loss,
                test_loss,
                examples,
                start,
                end,
            });
        }
        logs.push(EpochLog {
            path: path.to_path_buf(),
            first_line: run[0].0.line,
            entries,
            columns: columns.clone(),
        });
    }
    Ok(logs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_with_start_and_end_times() {
        let text = "epoch,train_acc,test_acc,start,end,examples\n\
                    1,0.5,0.45,10,20,60000\n2,0.7,0.66,20,30.5,60000\n";
        let log = parse(
            Path::new("e.csv"),
            text,
            Container::Csv,
            &MetricNames::default(),
            TimeUnit::S,
            None,
        )
        .unwrap()
        .remove(0);
        assert!(log.is_timed());
        let e = &log.entries[1];
        assert_eq!(e.epoch, 2);
        assert_eq!(e.start, Some(Stamp::Offset(20_000_000_000)));
        assert_eq!(e.end, Some(Stamp::Offset(30_500_000_000)));
        assert_eq!(e.examples, Some(60000));
    }

    #[test]
    fn jsonl_from_zero_with_end_times_only() {
        let text = "{\"epoch\": 0, \"val_acc\": 0.8, \"time\": \"2025-01-01T00:00:10Z\"}\n\
                    {\"epoch\": 1, \"val_acc\": 0.9, \"time\": \"2025-01-01T00:00:20Z\"}\n";
        let log = parse(
            Path::new("e.jsonl"),
            text,
            Container::Jsonl,
            &MetricNames::default(),
            TimeUnit::S,
            None,
        )
        .unwrap()
        .remove(0);
        assert_eq!(log.entries[0].epoch, 1);
        assert_eq!(log.entries[0].start, None);
        assert_eq!(log.entries[1].start, log.entries[0].end);
        assert!(!log.is_timed());
        assert_eq!(log.entries[1].test_acc, Some(0.9));
    }

    #[test]
    fn jsonl_with_two_runs_from_one() {
        let text = "{\"epoch\": 1, \"test_acc\": 0.5}\n{\"epoch\": 2, \"test_acc\": 0.6}\n\
                    {\"epoch\": 1, \"test_acc\": 0.7}\n";
        let logs = parse(
            Path::new("e.jsonl"),
            text,
            Container::Jsonl,
            &MetricNames::default(),
            TimeUnit::S,
            None,
        )
        .unwrap();
        let shape: Vec<(u64, usize)> = logs
            .iter()
            .map(|l| (l.first_line, l.entries.len()))
            .collect();
        assert_eq!(shape, [(1, 2), (3, 1)]);
        assert_eq!(logs[1].entries[0].test_acc, Some(0.7));
    }

    #[test]
    fn malformed_rows_name_line_and_column() {
        let text = "{\"epoch\": 1, \"test_acc\": 0.8}\n{\"epoch\": 2, \"test_acc\": \"high\"}\n";
        let e = parse(
            Path::new("e.jsonl"),
            text,
            Container::Jsonl,
            &MetricNames::default(),
            TimeUnit::S,
            None,
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "e.jsonl: line 2, key \"test_acc\": 'high' is not a number"
        );
        let text = "epoch,test_acc,start,end\n1,0.5,10,9\n";
        let e = parse(
            Path::new("e.csv"),
            text,
            Container::Csv,
            &MetricNames::default(),
            TimeUnit::S,
            None,
        )
        .unwrap_err();
        assert_eq!(
            (e.line, e.column.to_string()),
            (2, ", column 4 (end)".into())
        );
    }
}
