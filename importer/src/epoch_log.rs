//! What every epoch-log format turns into ([`EpochLog`]): per epoch the
//! accuracies and losses, and the epoch's times where the log has them;
//! plus the parts the formats share: which column holds which metric (the
//! user's `--train-acc-col`… or a list of usual names per format), reading
//! an accuracy or a loss, and checking the epoch numbers.
//!
//! Accuracies must be fractions in [0, 1], as in our format; a log in
//! percent is refused with a hint rather than divided silently, because
//! 0.9 % and 90 % are both plausible numbers and only the user knows.
//!
//! A log may hold several runs: Keras' `CSVLogger(append=True)` keeps
//! appending rows, so a second training restarts the epoch count in the
//! same file (and an aborted first attempt leaves its few epochs at the
//! top); logs concatenated by hand repeat the header. A run starts again
//! where the epoch number goes back to the file's first epoch number, or
//! after a repeated header; each run is an [`EpochLog`] of its own, and
//! [`describe_runs`] says where they are.

use super::table::{Row, Table};
use super::time::Stamp;
use super::ParseError;
use std::path::PathBuf;

/// One epoch of a log, numbered from 1 as in `epochs.parquet`.
#[derive(Debug, Clone, PartialEq)]
pub struct EpochEntry {
    /// 1-based line the epoch's (last) row is on.
    pub line: u64,
    pub epoch: u32,
    pub train_acc: Option<f64>,
    pub test_acc: Option<f64>,
    pub train_loss: Option<f64>,
    pub test_loss: Option<f64>,
    pub examples: Option<i64>,
    /// Where the log says when the epoch started / ended.
    pub start: Option<Stamp>,
    pub end: Option<Stamp>,
}

/// A parsed epoch log (one run of it, where the file holds several).
#[derive(Debug, Clone, PartialEq)]
pub struct EpochLog {
    pub path: PathBuf,
    pub entries: Vec<EpochEntry>,
    /// Metric -> the column it was read from, for the manifest.
    pub columns: Vec<(&'static str, String)>,
    /// 1-based line of the run's first row.
    pub first_line: u64,
}

impl EpochLog {
    /// Whether every epoch has both times.
    pub fn is_timed(&self) -> bool {
        self.entries
            .iter()
            .all(|e| e.start.is_some() && e.end.is_some())
    }

    /// Line of the run's last row.
    pub fn last_line(&self) -> u64 {
        self.entries.last().map_or(self.first_line, |e| e.line)
    }

    /// `lines A–B (N epochs)`.
    pub fn span(&self) -> String {
        format!(
            "lines {}–{} ({} epoch{})",
            self.first_line,
            self.last_line(),
            self.entries.len(),
            if self.entries.len() == 1 { "" } else { "s" }
        )
    }

    /// The log's own duration (first start to last end), where it has
    /// times of one kind.
    pub fn own_duration_ns(&self) -> Option<i64> {
        let start = self.entries.first()?.start?;
        let end = self.entries.last()?.end?;
        match (start, end) {
            (Stamp::Wall(a), Stamp::Wall(b)) | (Stamp::Offset(a), Stamp::Offset(b)) => {
                Some(b.saturating_sub(a))
            }
            _ => None,
        }
    }

    /// Accuracy columns that hold 0 in every epoch: a placeholder (a metric
    /// never computed), which would make the run's efficiency 0.
    pub fn placeholder_warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        type Pick = (&'static str, &'static str, fn(&EpochEntry) -> Option<f64>);
        let picks: [Pick; 2] = [
            ("train_acc", "--train-acc-col", |e| e.train_acc),
            ("test_acc", "--test-acc-col", |e| e.test_acc),
        ];
        for (metric, flag, get) in picks {
            let values: Vec<f64> = self.entries.iter().filter_map(get).collect();
            if values.is_empty() || values.iter().any(|v| *v != 0.0) {
                continue;
            }
            let col = self
                .columns
                .iter()
                .find(|(m, _)| *m == metric)
                .map_or(metric, |(_, c)| c.as_str());
            out.push(format!(
                "{}: {}: accuracy column `{col}` is 0 in all {} epochs (a placeholder?): the \
                 run's efficiency would be 0; name the real column with {flag}",
                self.path.display(),
                self.span(),
                values.len()
            ));
        }
        out
    }
}

/// Where the runs of a log that holds several are: `3 runs (restarts at
/// lines 6, 18): run 1 lines 2–5 (4 epochs), …`. Long lists are cut.
pub fn describe_runs(runs: &[EpochLog]) -> String {
    const SHOWN: usize = 6;
    let restarts: Vec<String> = runs
        .iter()
        .skip(1)
        .map(|r| r.first_line.to_string())
        .collect();
    let restart_text = if restarts.len() > SHOWN * 2 {
        format!(
            "{}, … {}",
            restarts[..SHOWN].join(", "),
            restarts[restarts.len() - 2..].join(", ")
        )
    } else {
        restarts.join(", ")
    };
    let mut parts: Vec<String> = runs
        .iter()
        .enumerate()
        .take(SHOWN)
        .map(|(k, r)| format!("run {} {}", k + 1, r.span()))
        .collect();
    if runs.len() > SHOWN {
        let last = &runs[runs.len() - 1];
        parts.push(format!("… run {} {}", runs.len(), last.span()));
    }
    format!(
        "{} runs (the epoch count restarts at line{} {restart_text}): {}",
        runs.len(),
        if restarts.len() == 1 { "" } else { "s" },
        parts.join(", ")
    )
}

/// Metric columns named by the user, and whether accuracies are percent.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MetricNames {
    pub train_acc: Option<String>,
    pub test_acc: Option<String>,
    pub train_loss: Option<String>,
    pub test_loss: Option<String>,
    pub acc_percent: bool,
}

/// Usual column names of each metric, most preferred first.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Aliases {
    pub train_acc: &'static [&'static str],
    pub test_acc: &'static [&'static str],
    pub train_loss: &'static [&'static str],
    pub test_loss: &'static [&'static str],
}

/// Resolved metric columns: train_acc, test_acc, train_loss, test_loss.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct MetricColumns(pub [Option<usize>; 4]);

const METRICS: [(&str, &str); 4] = [
    ("train_acc", "--train-acc-col"),
    ("test_acc", "--test-acc-col"),
    ("train_loss", "--train-loss-col"),
    ("test_loss", "--test-loss-col"),
];

impl MetricColumns {
    /// Finds the columns: a name the user gave must exist; otherwise the
    /// first alias present is used. At least one accuracy is required,
    /// since efficiency is accuracy per joule.
    pub fn resolve(
        table: &Table,
        names: &MetricNames,
        aliases: &Aliases,
    ) -> Result<Self, ParseError> {
        let given = [
            &names.train_acc,
            &names.test_acc,
            &names.train_loss,
            &names.test_loss,
        ];
        let lists = [
            aliases.train_acc,
            aliases.test_acc,
            aliases.train_loss,
            aliases.test_loss,
        ];
        let mut cols = [None; 4];
        for k in 0..4 {
            cols[k] = match given[k] {
                Some(name) => Some(table.require(name, METRICS[k].1)?),
                None => table.find(lists[k]),
            };
        }
        if cols[0].is_none() && cols[1].is_none() {
            return Err(ParseError::line(
                &table.path,
                table.header_line.max(1),
                format!(
                    "no accuracy column (looked for {} and {}; name yours with \
                     --train-acc-col / --test-acc-col); columns: {}",
                    aliases.train_acc.join(", "),
                    aliases.test_acc.join(", "),
                    table.columns()
                ),
            ));
        }
        Ok(Self(cols))
    }

    /// For the manifest: metric -> column name.
    pub fn describe(&self, table: &Table) -> Vec<(&'static str, String)> {
        self.0
            .iter()
            .zip(METRICS)
            .filter_map(|(c, (m, _))| c.map(|c| (m, table.header[c].clone())))
            .collect()
    }

    /// Reads the four metrics of a row (empty cells are `None`).
    pub fn read(
        &self,
        table: &Table,
        row: &Row,
        percent: bool,
    ) -> Result<[Option<f64>; 4], ParseError> {
        let mut out = [None; 4];
        for (k, col) in self.0.iter().enumerate() {
            if let Some(c) = *col {
                out[k] = if k < 2 {
                    accuracy(table, row, c, percent)?
                } else {
                    loss(table, row, c)?
                };
            }
        }
        Ok(out)
    }
}

/// An accuracy cell as a fraction in [0, 1].
pub(crate) fn accuracy(
    table: &Table,
    row: &Row,
    col: usize,
    percent: bool,
) -> Result<Option<f64>, ParseError> {
    let Some(v) = table.number(row, col)? else {
        return Ok(None);
    };
    let v = if percent { v / 100.0 } else { v };
    if !(0.0..=1.0).contains(&v) {
        let hint = if percent {
            "a percentage in [0, 100]"
        } else if v <= 100.0 && v > 1.0 {
            "a fraction in [0, 1] (if the log is in percent, give --acc-percent)"
        } else {
            "a fraction in [0, 1]"
        };
        return Err(table.error(
            row,
            col,
            format!("accuracy '{}' is not {hint}", table.cell(row, col)),
        ));
    }
    Ok(Some(v))
}

/// A loss cell; `nan`/`inf` are kept (a diverged epoch is still a data
/// point), text that is no number is an error.
pub(crate) fn loss(table: &Table, row: &Row, col: usize) -> Result<Option<f64>, ParseError> {
    let s = table.cell(row, col);
    if s.is_empty() {
        return Ok(None);
    }
    s.parse::<f64>()
        .map(Some)
        .map_err(|_| table.error(row, col, format!("'{s}' is not a number")))
}

/// An epoch-number cell (an integer, `3` or `3.0`).
pub(crate) fn epoch_number(table: &Table, row: &Row, col: usize) -> Result<i64, ParseError> {
    let s = table.cell(row, col);
    let v: f64 = s
        .parse()
        .map_err(|_| table.error(row, col, format!("'{s}' is not an epoch number")))?;
    if v.fract() != 0.0 || !(0.0..1e9).contains(&v) {
        return Err(table.error(row, col, format!("'{s}' is not an epoch number")));
    }
    Ok(v as i64)
}

/// The rows of a log with their epoch numbers, grouped into runs: a run
/// starts again where the number goes back to the file's first epoch
/// number, or after a line that repeats the header. Other steps back stay
/// in the run, for [`number_epochs`] to refuse.
pub(crate) fn split_runs(table: &Table, col: usize) -> Result<Vec<Vec<(&Row, i64)>>, ParseError> {
    let mut runs: Vec<Vec<(&Row, i64)>> = vec![Vec::new()];
    let mut first: Option<i64> = None;
    for row in &table.rows {
        if is_header_again(table, row) {
            if runs.last().is_some_and(|r| !r.is_empty()) {
                runs.push(Vec::new());
            }
            continue;
        }
        let n = epoch_number(table, row, col)?;
        let f = *first.get_or_insert(n);
        if n == f && runs.last().is_some_and(|r| !r.is_empty()) {
            runs.push(Vec::new());
        }
        if let Some(run) = runs.last_mut() {
            run.push((row, n));
        }
    }
    runs.retain(|r| !r.is_empty());
    Ok(runs)
}

/// Whether `row` repeats the header (logs concatenated by hand).
pub(crate) fn is_header_again(table: &Table, row: &Row) -> bool {
    row.cells.len() == table.header.len()
        && row
            .cells
            .iter()
            .zip(&table.header)
            .all(|(c, h)| c.trim().eq_ignore_ascii_case(h.trim()))
}

/// How a log numbers its epochs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Base {
    /// 0-based (Keras, Lightning).
    Zero,
    /// 0- or 1-based, whichever the first row shows.
    Auto,
}

/// Checks that the epoch numbers of `rows` (one per epoch, in order) count
/// up by one from the base, and returns them 1-based.
pub(crate) fn number_epochs(
    table: &Table,
    rows: &[(&Row, i64)],
    col: usize,
    base: Base,
) -> Result<Vec<u32>, ParseError> {
    let Some(&(first_row, first)) = rows.first() else {
        return Err(ParseError::line(
            &table.path,
            table.header_line.max(1),
            "no epoch rows",
        ));
    };
    let offset = match (base, first) {
        (_, 0) => 1,
        (Base::Auto, 1) => 0,
        (Base::Zero, n) => {
            return Err(table.error(
                first_row,
                col,
                format!(
                    "the log starts at epoch {n}, not 0 (a resumed run?): import a log that \
                     holds every epoch"
                ),
            ))
        }
        (Base::Auto, n) => {
            return Err(table.error(
                first_row,
                col,
                format!("the log starts at epoch {n}; epochs must start at 0 or 1"),
            ))
        }
    };
    let mut out = Vec::with_capacity(rows.len());
    for (k, &(row, n)) in rows.iter().enumerate() {
        let expected = first + k as i64;
        if n != expected {
            return Err(table.error(
                row,
                col,
                format!(
                    "epoch {n} where {expected} was expected (epochs must count up by one; a \
                     new run in the same file would start again at epoch {first})"
                ),
            ));
        }
        out.push(u32::try_from(n + offset).unwrap_or(u32::MAX));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    const ALIASES: Aliases = Aliases {
        train_acc: &["accuracy", "acc"],
        test_acc: &["val_accuracy"],
        train_loss: &["loss"],
        test_loss: &["val_loss"],
    };

    #[test]
    fn resolves_flags_before_aliases_and_needs_an_accuracy() {
        let t = Table::csv(Path::new("k.csv"), "epoch,acc,my_val,loss\n0,0.5,0.4,1.0\n").unwrap();
        let names = MetricNames {
            test_acc: Some("my_val".into()),
            ..MetricNames::default()
        };
        let cols = MetricColumns::resolve(&t, &names, &ALIASES).unwrap();
        assert_eq!(cols.0, [Some(1), Some(2), Some(3), None]);
        assert_eq!(
            cols.read(&t, &t.rows[0], false).unwrap(),
            [Some(0.5), Some(0.4), Some(1.0), None]
        );
        let missing = MetricNames {
            test_acc: Some("nope".into()),
            ..MetricNames::default()
        };
        let e = MetricColumns::resolve(&t, &missing, &ALIASES).unwrap_err();
        assert!(
            e.message.contains("no column 'nope' (--test-acc-col)"),
            "{e}"
        );
        let t = Table::csv(Path::new("k.csv"), "epoch,loss\n0,1.0\n").unwrap();
        let e = MetricColumns::resolve(&t, &MetricNames::default(), &ALIASES).unwrap_err();
        assert!(e.message.contains("no accuracy column"), "{e}");
    }

    #[test]
    fn percent_accuracies_are_refused_with_a_hint_or_scaled() {
        let t = Table::csv(Path::new("k.csv"), "epoch,acc\n0,97.5\n").unwrap();
        let e = accuracy(&t, &t.rows[0], 1, false).unwrap_err();
        assert!(e.message.contains("--acc-percent") && e.line == 2, "{e}");
        assert_eq!(accuracy(&t, &t.rows[0], 1, true).unwrap(), Some(0.975));
    }

    #[test]
    fn restarts_and_repeated_headers_split_runs() {
        let t = Table::csv(
            Path::new("k.csv"),
            "epoch,acc\n0,0.1\n1,0.2\n0,0.3\n1,0.4\n2,0.5\nepoch,acc\n0,0.6\n",
        )
        .unwrap();
        let runs = split_runs(&t, 0).unwrap();
        let shape: Vec<Vec<(u64, i64)>> = runs
            .iter()
            .map(|r| r.iter().map(|(row, n)| (row.line, *n)).collect())
            .collect();
        assert_eq!(
            shape,
            [
                vec![(2, 0), (3, 1)],
                vec![(4, 0), (5, 1), (6, 2)],
                vec![(8, 0)]
            ]
        );
        // A step back to another number is not a restart.
        let t = Table::csv(
            Path::new("k.csv"),
            "epoch,acc\n0,0.1\n1,0.2\n2,0.3\n1,0.4\n",
        )
        .unwrap();
        let runs = split_runs(&t, 0).unwrap();
        assert_eq!(runs.len(), 1);
        let e = number_epochs(&t, &runs[0], 0, Base::Zero).unwrap_err();
        assert!(
            e.line == 5 && e.message.contains("epoch 1 where 3 was expected"),
            "{e}"
        );
    }

    fn entry(line: u64, epoch: u32, acc: f64) -> EpochEntry {
        EpochEntry {
            line,
            epoch,
            train_acc: Some(acc),
            test_acc: Some(acc),
            train_loss: None,
            test_loss: None,
            examples: None,
            start: None,
            end: None,
        }
    }

    #[test]
    fn runs_are_described_and_zero_accuracy_is_flagged() {
        let log = |first: u64, n: u32, acc: f64| EpochLog {
            path: "k.csv".into(),
            entries: (0..n)
                .map(|k| entry(first + u64::from(k), k + 1, acc))
                .collect(),
            columns: vec![
                ("train_acc", "accuracy".into()),
                ("test_acc", "val_accuracy".into()),
            ],
            first_line: first,
        };
        let runs = [log(2, 4, 0.5), log(6, 12, 0.5), log(18, 1, 0.5)];
        assert_eq!(
            describe_runs(&runs),
            "3 runs (the epoch count restarts at lines 6, 18): run 1 lines 2–5 (4 epochs), \
             run 2 lines 6–17 (12 epochs), run 3 lines 18–18 (1 epoch)"
        );
        assert!(runs[0].placeholder_warnings().is_empty());
        let mut zero = log(2, 3, 0.0);
        zero.entries[1].train_acc = Some(0.4);
        let w = zero.placeholder_warnings();
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(
            w[0].contains("accuracy column `val_accuracy` is 0 in all 3 epochs")
                && w[0].contains("--test-acc-col"),
            "{w:?}"
        );
    }

    #[test]
    fn epoch_numbers_count_up_from_the_base() {
        let t = Table::csv(Path::new("e.csv"), "epoch\n1\n2\n4\n").unwrap();
        let rows: Vec<(&Row, i64)> = t
            .rows
            .iter()
            .map(|r| (r, epoch_number(&t, r, 0).unwrap()))
            .collect();
        assert_eq!(
            number_epochs(&t, &rows[..2], 0, Base::Auto).unwrap(),
            [1, 2]
        );
        let e = number_epochs(&t, &rows, 0, Base::Auto).unwrap_err();
        assert!(e.message.contains("epoch 4 where 3") && e.line == 4, "{e}");
        let e = number_epochs(&t, &rows, 0, Base::Zero).unwrap_err();
        assert!(e.message.contains("resumed"), "{e}");
        let t = Table::csv(Path::new("e.csv"), "epoch\n0\n1.0\n").unwrap();
        let rows: Vec<(&Row, i64)> = t
            .rows
            .iter()
            .map(|r| (r, epoch_number(&t, r, 0).unwrap()))
            .collect();
        assert_eq!(number_epochs(&t, &rows, 0, Base::Zero).unwrap(), [1, 2]);
    }
}
