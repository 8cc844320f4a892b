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

use super::epoch_log::{
    epoch_number, number_epochs, Aliases, Base, EpochEntry, EpochLog, MetricColumns, MetricNames,
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

/// Parses a Lightning `metrics.csv`.
pub fn parse(path: &Path, text: &str, names: &MetricNames) -> Result<EpochLog, ParseError> {
    let table = Table::csv(path, text)?;
    let e_col = table.require("epoch", "the epoch column")?;
    let metrics = MetricColumns::resolve(&table, names, &ALIASES)?;
    // Group rows by epoch, in order; the epoch may not go back.
    let mut groups: Vec<(i64, Vec<&Row>)> = Vec::new();
    for row in &table.rows {
        if table.cell(row, e_col).is_empty() {
            continue;
        }
        let n = epoch_number(&table, row, e_col)?;
        match groups.last_mut() {
            Some((last, rows)) if *last == n => rows.push(row),
            Some((last, _)) if n < *last => {
                return Err(table.error(
                    row,
                    e_col,
                    format!(
                        "epoch {n} after epoch {last}: two trainings in one file? import each \
                         training's metrics.csv separately"
                    ),
                ))
            }
            _ => groups.push((n, vec![row])),
        }
    }
    let firsts: Vec<(&Row, i64)> = groups.iter().map(|(n, rows)| (rows[0], *n)).collect();
    let epochs = number_epochs(&table, &firsts, e_col, Base::Zero)?;
    let mut entries = Vec::with_capacity(groups.len());
    for ((_, rows), epoch) in groups.iter().zip(epochs) {
        let mut values = [None; 4];
        for row in rows {
            for (slot, v) in values
                .iter_mut()
                .zip(metrics.read(&table, row, names.acc_percent)?)
            {
                if v.is_some() {
                    *slot = v;
                }
            }
        }
        let [train_acc, test_acc, train_loss, test_loss] = values;
        entries.push(EpochEntry {
            line: rows.last().map_or(0, |r| r.line),
            epoch,
            train_acc,
            test_acc,
            train_loss,
            test_loss,
            examples: None,
            start: None,
            end: None,
        });
    }
    Ok(EpochLog {
        path: path.to_path_buf(),
        entries,
        columns: metrics.describe(&table),
    })
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
        let log = parse(Path::new("metrics.csv"), LOG, &MetricNames::default()).unwrap();
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
        let log = parse(Path::new("metrics.csv"), LOG, &names).unwrap();
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
        let twice = format!("{LOG}0,250,0.5,0.5,,,,\n");
        let e = parse(Path::new("metrics.csv"), &twice, &MetricNames::default()).unwrap_err();
        assert!(e.message.contains("two trainings") && e.line == 10, "{e}");
    }
}
