//! Keras' `CSVLogger` files: a header `epoch,accuracy,loss,val_accuracy,
//! val_loss[,learning_rate…]` and one row per epoch, numbered from 0.
//!
//! The file has no times, so its epochs are placed by a rule
//! (`--epoch-times` or `--equal-epochs`). The metric columns are the
//! `compile(metrics=…)` names Keras writes (`accuracy`, `acc`,
//! `sparse_categorical_accuracy`, … and their `val_` twins) unless named
//! with `--train-acc-col` and friends.
//!
//! `CSVLogger(append=True)` appends every training to the same file, so a
//! file may hold several runs, each restarting at epoch 0 (the header is
//! written only into an empty file); [`parse`] returns one log per run.

use super::epoch_log::{
    number_epochs, split_runs, Aliases, Base, EpochEntry, EpochLog, MetricColumns, MetricNames,
};
use super::table::Table;
use super::ParseError;
use std::path::Path;

pub(crate) const ALIASES: Aliases = Aliases {
    train_acc: &[
        "accuracy",
        "acc",
        "sparse_categorical_accuracy",
        "categorical_accuracy",
        "binary_accuracy",
        "train_accuracy",
        "train_acc",
    ],
    test_acc: &[
        "val_accuracy",
        "val_acc",
        "val_sparse_categorical_accuracy",
        "val_categorical_accuracy",
        "val_binary_accuracy",
        "test_accuracy",
        "test_acc",
    ],
    train_loss: &["loss", "train_loss"],
    test_loss: &["val_loss", "test_loss"],
};

/// Parses a CSVLogger file: one log per run it holds (at least one).
pub fn parse(path: &Path, text: &str, names: &MetricNames) -> Result<Vec<EpochLog>, ParseError> {
    let table = Table::csv(path, text)?;
    let e_col = table.require("epoch", "the epoch column")?;
    let metrics = MetricColumns::resolve(&table, names, &ALIASES)?;
    let runs = split_runs(&table, e_col)?;
    if runs.is_empty() {
        return Err(ParseError::line(
            path,
            table.header_line.max(1),
            "no epoch rows",
        ));
    }
    let mut logs = Vec::with_capacity(runs.len());
    for run in runs {
        let epochs = number_epochs(&table, &run, e_col, Base::Zero)?;
        let mut entries = Vec::with_capacity(epochs.len());
        for ((row, _), epoch) in run.iter().zip(epochs) {
            let [train_acc, test_acc, train_loss, test_loss] =
                metrics.read(&table, row, names.acc_percent)?;
            entries.push(EpochEntry {
                line: row.line,
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
        logs.push(EpochLog {
            path: path.to_path_buf(),
            first_line: run[0].0.line,
            entries,
            columns: metrics.describe(&table),
        });
    }
    Ok(logs)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOG: &str = "epoch,accuracy,learning_rate,loss,val_accuracy,val_loss\n\
                       0,0.8912,0.001,0.3601,0.9587,0.1372\n\
                       1,0.9634,0.001,0.1214,0.9741,0.0843\n\
                       2,0.9741,0.001,nan,0.9779,0.0702\n";

    #[test]
    fn reads_epochs_from_zero_with_default_names() {
        let logs = parse(Path::new("k.csv"), LOG, &MetricNames::default()).unwrap();
        assert_eq!(logs.len(), 1);
        let log = &logs[0];
        assert_eq!(log.entries.len(), 3);
        let e = &log.entries[1];
        assert_eq!((e.epoch, e.line), (2, 3));
        assert_eq!(
            (e.train_acc, e.test_acc, e.train_loss, e.test_loss),
            (Some(0.9634), Some(0.9741), Some(0.1214), Some(0.0843))
        );
        assert!(log.entries[2].train_loss.is_some_and(f64::is_nan));
        assert!(!log.is_timed());
        assert_eq!(log.columns[0], ("train_acc", "accuracy".to_string()));
    }

    #[test]
    fn malformed_rows_name_line_and_column() {
        let bad = LOG.replace("0.9741,0.0843", "0.97x,0.0843");
        let e = parse(Path::new("k.csv"), &bad, &MetricNames::default()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "k.csv: line 3, column 5 (val_accuracy): '0.97x' is not a number"
        );
        let gap = LOG.replace("\n2,", "\n3,");
        let e = parse(Path::new("k.csv"), &gap, &MetricNames::default()).unwrap_err();
        assert_eq!(
            (e.line, e.column.to_string()),
            (4, ", column 1 (epoch)".into())
        );
        let e = parse(
            Path::new("k.csv"),
            "accuracy,loss\n0.5,1\n",
            &MetricNames::default(),
        )
        .unwrap_err();
        assert!(e.message.contains("no column 'epoch'"), "{e}");
    }

    #[test]
    fn an_appended_file_holds_an_aborted_run_and_two_more() {
        // CSVLogger(append=True): the header once, then each training from 0.
        let mut text = String::from("epoch,accuracy,loss,val_accuracy,val_loss\n");
        for n in [2, 3, 3] {
            for e in 0..n {
                text.push_str(&format!("{e},0.{},1.0,0.{},1.0\n", 5 + e, 4 + e));
            }
        }
        let logs = parse(Path::new("k.csv"), &text, &MetricNames::default()).unwrap();
        let shape: Vec<(u64, u64, usize)> = logs
            .iter()
            .map(|l| (l.first_line, l.last_line(), l.entries.len()))
            .collect();
        assert_eq!(shape, [(2, 3, 2), (4, 6, 3), (7, 9, 3)]);
        assert_eq!(logs[2].entries[2].epoch, 3);
        assert_eq!(logs[2].entries[2].train_acc, Some(0.7));
    }
}
