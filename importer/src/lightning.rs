//! PyTorch Lightning's `CSVLogger` `metrics.csv`: a header of every metric
//! ever logged (`epoch,step,train_acc,train_loss,val_acc,val_loss,…`) and
//! sparse rows: step-level training rows and epoch-level validation rows,
//! each filling only the cells it logged.
//!
//! Per epoch (numbered from 0 in the file) each metric is the last
//! non-empty value logged in that epoch, so a metric logged with
//! `on_step=True, on_epoch=True` resolves to its `_epoch` column when there
//! is one (it is preferred over the bare name) and to the last step's value
//! otherwise. Like Keras' logger it has no times, so its epochs are placed
//! by a rule.
//!
//! Lightning writes each training into a new `version_N` folder, but files
//! get concatenated: a run starts again where the epoch goes back to the
//! first epoch number, where `step` goes down, or after a repeated header.

use super::epoch_log::{
    epoch_number, is_header_again, number_epochs, Aliases, Base, EpochEntry, EpochLog,
    MetricColumns, MetricNames,
};
use super::table::{Row, Table};
use super::ParseError;
use std::path::Path;

pub(crate) const ALIASES: Aliases = Aliases {
    train_acc: &[
        "train_acc_epoch",
        "train_accuracy_epoch",
        "train_acc",
        "train_accuracy",
        "acc_epoch",
        "accuracy_epoch",
        "acc",
        "accuracy",
    ],
    test_acc: &[
        "val_acc_epoch",
        "val_accuracy_epoch",
        "val_acc",
        "val_accuracy",
        "valid_acc",
        "valid_accuracy",
        "test_acc",
        "test_accuracy",
    ],
    train_loss: &["train_loss_epoch", "train_loss", "loss_epoch", "loss"],
    test_loss: &["val_loss_epoch", "val_loss", "valid_loss", "test_loss"],
};

/// One epoch's rows.
type Group<'a> = (i64, Vec<&'a Row>);

/// Groups rows by epoch, in order, and the groups into runs.
struct Grouper<'t> {
    table: &'t Table,
    e_col: usize,
    step_col: Option<usize>,
    runs: Vec<Vec<Group<'t>>>,
    /// The first epoch number of the file: where a new run starts.
    first: Option<i64>,
    last_step: Option<f64>,
}

impl<'t> Grouper<'t> {
    /// One row: a repeated header ends the run; a row without an epoch is
    /// left out.
    fn row(&mut self, row: &'t Row) -> Result<(), ParseError> {
        let table = self.table;
        if is_header_again(table, row) {
            if self.runs.last().is_some_and(|r| !r.is_empty()) {
                self.runs.push(Vec::new());
            }
            self.last_step = None;
            return Ok(());
        }
        if table.cell(row, self.e_col).is_empty() {
            return Ok(());
        }
        let n = epoch_number(table, row, self.e_col)?;
        let f = *self.first.get_or_insert(n);
        let step = match self.step_col {
            Some(c) => table.number(row, c)?,
            None => None,
        };
        let step_back = matches!((self.last_step, step), (Some(a), Some(b)) if b < a);
        if step.is_some() {
            self.last_step = step;
        }
        self.place(row, n, f, step_back)
    }

    /// Row of epoch `n` (the file's first epoch `f`): a new run where the
    /// epoch is `f` again or the step went back, else the current epoch or
    /// the next one; going back otherwise is an error.
    fn place(&mut self, row: &'t Row, n: i64, f: i64, step_back: bool) -> Result<(), ParseError> {
        let (table, e_col) = (self.table, self.e_col);
        let Some(run) = self.runs.last_mut() else {
            return Ok(());
        };
        let last = run.last().map(|(e, _)| *e);
        match last {
            Some(last) if n == f && (n != last || step_back) => {
                self.runs.push(vec![(n, vec![row])]);
            }
            Some(last) if step_back => {
                return Err(table.error(
                    row,
                    e_col,
                    format!(
                        "step goes back at epoch {n} (after epoch {last}): a new run would \
                         start again at epoch {f}"
                    ),
                ))
            }
            Some(last) if n == last => {
                if let Some((_, rows)) = run.last_mut() {
                    rows.push(row);
                }
            }
            Some(last) if n < last => {
                return Err(table.error(
                    row,
                    e_col,
                    format!(
                        "epoch {n} after epoch {last}: not a new run (that would start again at \
                         epoch {f}); import each training's metrics.csv separately"
                    ),
                ))
            }
            _ => run.push((n, vec![row])),
        }
        Ok(())
    }
}

/// Each metric of one epoch: the last non-empty value of its rows.
fn epoch_entry(
    table: &Table,
    metrics: &MetricColumns,
    names: &MetricNames,
    rows: &[&Row],
    epoch: u32,
) -> Result<EpochEntry, ParseError> {
    let mut values = [None; 4];
    for row in rows {
        for (slot, v) in values
            .iter_mut()
            .zip(metrics.read(table, row, names.acc_percent)?)
        {
            if v.is_some() {
                *slot = v;
            }
        }
    }
    let [train_acc, test_acc, train_loss, test_loss] = values;
    Ok(EpochEntry {
        line: rows.last().map_or(0, |r| r.line),
        epoch,
        train_acc,
        test_acc,
        train_loss,
        test_loss,
        examples: None,
        start: None,
        end: None,
    })
}

/// Parses a Lightning `metrics.csv`: one log per run it holds.
pub fn parse(path: &Path, text: &str, names: &MetricNames) -> Result<Vec<EpochLog>, ParseError> {
    let table = Table::csv(path, text)?;
    let e_col = table.require("epoch", "the epoch column")?;
    let step_col = table.find(&["step"]);
    let metrics = MetricColumns::resolve(&table, names, &ALIASES)?;
    let mut grouper = Grouper {
        table: &table,
        e_col,
        step_col,
        runs: vec![Vec::new()],
        first: None,
        last_step: None,
    };
    for row in &table.rows {
        grouper.row(row)?;
    }
    let mut runs = grouper.runs;
    runs.retain(|r| !r.is_empty());
    if runs.is_empty() {
        return Err(ParseError::line(
            path,
            table.header_line.max(1),
            "no epoch rows",
        ));
    }
    let mut logs = Vec::with_capacity(runs.len());
    for groups in runs {
        let firsts: Vec<(&Row, i64)> = groups.iter().map(|(n, rows)| (rows[0], *n)).collect();
        let epochs = number_epochs(&table, &firsts, e_col, Base::Zero)?;
        let mut entries = Vec::with_capacity(groups.len());
        for ((_, rows), epoch) in groups.iter().zip(epochs) {
            entries.push(epoch_entry(&table, &metrics, names, rows, epoch)?);
        }
        logs.push(EpochLog {
            path: path.to_path_buf(),
            first_line: firsts[0].0.line,
            entries,
            columns: metrics.describe(&table),
        });
    }
    Ok(logs)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOG: &str = "epoch,step,train_acc_step,train_loss_step,val_acc,val_loss,train_acc_epoch,train_loss_epoch\n\
                       0,49,0.62,1.10,,,,\n\
                       0,99,0.78,0.71,,,,\n\
                       0,99,,,0.861,0.452,,\n\
                       0,99,,,,,0.71,0.88\n\
                       1,149,0.88,0.41,,,,\n\
                       1,199,0.90,0.33,,,,\n\
                       1,199,,,0.912,0.301,,\n\
                       1,199,,,,,0.89,0.37\n";

    #[test]
    fn last_non_empty_value_per_epoch_and_epoch_columns_preferred() {
        let logs = parse(Path::new("metrics.csv"), LOG, &MetricNames::default()).unwrap();
        assert_eq!(logs.len(), 1);
        let log = &logs[0];
        assert_eq!(log.entries.len(), 2);
        let e = &log.entries[1];
        assert_eq!(e.epoch, 2);
        assert_eq!(e.line, 9);
        assert_eq!(
            (e.train_acc, e.test_acc, e.train_loss, e.test_loss),
            (Some(0.89), Some(0.912), Some(0.37), Some(0.301))
        );
        assert_eq!(
            log.columns,
            [
                ("train_acc", "train_acc_epoch".to_string()),
                ("test_acc", "val_acc".to_string()),
                ("train_loss", "train_loss_epoch".to_string()),
                ("test_loss", "val_loss".to_string())
            ]
        );
    }

    #[test]
    fn step_metrics_can_be_chosen_by_flag() {
        let names = MetricNames {
            train_acc: Some("train_acc_step".into()),
            ..MetricNames::default()
        };
        let log = &parse(Path::new("metrics.csv"), LOG, &names).unwrap()[0];
        assert_eq!(log.entries[0].train_acc, Some(0.78));
    }

    #[test]
    fn malformed_rows_name_line_and_column() {
        let bad = LOG.replace("0,99,,,0.861", "0,99,,,86.1");
        let e = parse(Path::new("metrics.csv"), &bad, &MetricNames::default()).unwrap_err();
        assert_eq!(
            (e.line, e.column.to_string()),
            (4, ", column 5 (val_acc)".into())
        );
        assert!(e.message.contains("--acc-percent"), "{e}");
        let back = format!("{LOG}2,250,0.5,0.5,,,,\n1,260,0.5,0.5,,,,\n");
        let e = parse(Path::new("metrics.csv"), &back, &MetricNames::default()).unwrap_err();
        assert!(
            e.message.contains("epoch 1 after epoch 2: not a new run") && e.line == 11,
            "{e}"
        );
    }

    #[test]
    fn concatenated_trainings_are_runs_even_within_epoch_0() {
        // Run 1 died during epoch 0 (step rows only), run 2 is LOG again:
        // the epoch stays 0 across the restart, the step goes back.
        let body: String = LOG.lines().skip(1).map(|l| format!("{l}\n")).collect();
        let header = LOG.lines().next().unwrap();
        let text = format!("{header}\n0,60,0.1,2.0,,,,\n0,70,0.2,1.9,,,0.15,\n{body}");
        let logs = parse(Path::new("metrics.csv"), &text, &MetricNames::default()).unwrap();
        let shape: Vec<(u64, usize)> = logs
            .iter()
            .map(|l| (l.first_line, l.entries.len()))
            .collect();
        assert_eq!(shape, [(2, 1), (4, 2)]);
        assert_eq!(logs[0].entries[0].train_acc, Some(0.15));
        assert_eq!(logs[1].entries[1].train_acc, Some(0.89));
        // A repeated header separates runs too.
        let twice = format!("{LOG}{LOG}");
        let logs = parse(Path::new("metrics.csv"), &twice, &MetricNames::default()).unwrap();
        assert_eq!(logs.len(), 2);
        assert_eq!(logs[1].first_line, 11);
    }
}
