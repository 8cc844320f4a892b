//! Keras' `CSVLogger` files: a header `epoch,accuracy,loss,val_accuracy,
//! val_loss[,learning_rate…]` and one row per epoch, numbered from 0.
//!
//! The file has no times, so its epochs are placed by a rule
//! (`--epoch-times` or `--equal-epochs`). The metric columns are the
//! `compile(metrics=…)` names Keras writes (`accuracy`, `acc`,
//! `sparse_categorical_accuracy`, … and their `val_` twins) unless named
//! with `--train-acc-col` and friends.

use super::epoch_log::{
    epoch_number, number_epochs, Aliases, Base, EpochEntry, EpochLog, MetricColumns, MetricNames,
};
use super::table::{Row, Table};
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

/// Parses a CSVLogger file.
pub fn parse(path: &Path, text: &str, names: &MetricNames) -> Result<EpochLog, ParseError> {
    let table = Table::csv(path, text)?;
    let e_col = table.require("epoch", "the epoch column")?;
    let metrics = MetricColumns::resolve(&table, names, &ALIASES)?;
    let numbered: Vec<(&Row, i64)> = table
        .rows
        .iter()
        .map(|r| epoch_number(&table, r, e_col).map(|n| (r, n)))
        .collect::<Result<_, _>>()?;
    let epochs = number_epochs(&table, &numbered, e_col, Base::Zero)?;
    let mut entries = Vec::with_capacity(epochs.len());
    for (row, epoch) in table.rows.iter().zip(epochs) {
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
    Ok(EpochLog {
        path: path.to_path_buf(),
        entries,
        columns: metrics.describe(&table),
    })
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
        let log = parse(Path::new("k.csv"), LOG, &MetricNames::default()).unwrap();
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
}
