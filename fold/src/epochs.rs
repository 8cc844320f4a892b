//! Reading and checking `epochs.parquet`: the epoch rows whose boundaries cut
//! the power samples into epochs.
//!
//! Every later number rests on these rows, so the checks are strict: epochs
//! numbered 1..n in order, each ending after it starts and starting no
//! earlier than the previous one ended, accuracies finite and in [0, 1].
//! Each problem names the file and the 0-based row, and all of them are
//! collected (not just the first) so one look at the report is enough to fix
//! a file. Losses are carried but not checked: a diverged run may have a NaN
//! loss and still be a fair data point.

use crate::problem::Problem;
use crate::scan::column_as;
use arrow::array::{AsArray, RecordBatch, RecordBatchReader};
use arrow::compute::concat_batches;
use arrow::datatypes::{DataType as ArrowType, Float64Type, Int64Type};
use bytes::Bytes;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::file::reader::ChunkReader;
use std::path::Path;
use trainwatt_trace::schema::epochs as cols;

/// One epoch row as recorded: the format crate's type, so the analyzer and
/// the recorder agree on it by construction.
pub(crate) use trainwatt_trace::EpochRow;

/// The rows of a file, or the problems that make it unusable; `notes` are
/// things worth telling that do not.
#[derive(Debug, Default)]
pub(crate) struct EpochsRead {
    pub rows: Vec<EpochRow>,
    pub problems: Vec<Problem>,
    pub notes: Vec<String>,
}

/// The file's columns, each as one array over all its rows (an epochs file
/// holds a few hundred rows at most).
struct Columns {
    batch: RecordBatch,
}

impl Columns {
    fn read(path: &Path) -> Result<Self, String> {
        Self::decode(std::fs::File::open(path).map_err(|e| e.to_string())?)
    }

    fn decode<R: ChunkReader + 'static>(file: R) -> Result<Self, String> {
        let reader = ParquetRecordBatchReaderBuilder::try_new(file)
            .map_err(|e| e.to_string())?
            .build()
            .map_err(|e| e.to_string())?;
        let schema = reader.schema();
        let batches = reader
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| e.to_string())?;
        let batch = concat_batches(&schema, &batches).map_err(|e| e.to_string())?;
        Ok(Self { batch })
    }

    fn height(&self) -> usize {
        self.batch.num_rows()
    }

    /// A required integer column.
    fn int(&self, name: &str) -> Result<Vec<Option<i64>>, String> {
        let a = column_as(&self.batch, name, &ArrowType::Int64)?;
        Ok(a.as_primitive::<Int64Type>().iter().collect())
    }

    /// A nullable number column, or all-null (with a note) when missing.
    fn float(&self, name: &str, notes: &mut Vec<String>) -> Result<Vec<Option<f64>>, String> {
        if self.batch.column_by_name(name).is_none() {
            notes.push(format!("column `{name}` is missing; taken as empty"));
            return Ok(vec![None; self.height()]);
        }
        let a = column_as(&self.batch, name, &ArrowType::Float64)?;
        Ok(a.as_primitive::<Float64Type>().iter().collect())
    }
}

/// Reads `path` (a run's `epochs.parquet`).
pub(crate) fn read_epochs(path: &Path) -> EpochsRead {
    from_columns(Columns::read(path), path)
}

/// The rows of an `epochs.parquet` whose bytes are in memory; `path` is the
/// file that messages name.
pub(crate) fn epochs_from_parquet(bytes: Bytes, path: &Path) -> EpochsRead {
    from_columns(Columns::decode(bytes), path)
}

fn from_columns(read: Result<Columns, String>, path: &Path) -> EpochsRead {
    match read {
        Ok(df) => parse_epochs(&df, path),
        Err(e) => EpochsRead {
            problems: vec![Problem::file(path, format!("cannot read: {e}"))],
            ..EpochsRead::default()
        },
    }
}

/// The rows of `batch`, all of an `epochs.parquet` already decoded (by
/// pyarrow, Spark); `path` is the file that messages name.
pub(crate) fn epochs_from_batch(batch: &RecordBatch, path: &Path) -> EpochsRead {
    parse_epochs(
        &Columns {
            batch: batch.clone(),
        },
        path,
    )
}

/// Checks and converts the columns of one epochs file.
fn parse_epochs(df: &Columns, path: &Path) -> EpochsRead {
    let mut out = EpochsRead::default();
    let columns = (|| -> Result<_, String> {
        Ok((
            df.int(cols::EPOCH)?,
            df.int(cols::START_NS)?,
            df.int(cols::END_NS)?,
        ))
    })();
    let (epoch, start, end) = match columns {
        Ok(c) => c,
        Err(e) => {
            out.problems.push(Problem::file(path, e));
            return out;
        }
    };
    let floats = (|| -> Result<_, String> {
        let mut notes = Vec::new();
        let f = [
            cols::TRAIN_ACC,
            cols::TEST_ACC,
            cols::TRAIN_LOSS,
            cols::TEST_LOSS,
        ]
        .map(|name| df.float(name, &mut notes));
        let [a, b, c, d] = f;
        Ok(((a?, b?, c?, d?), notes))
    })();
    let ((train_acc, test_acc, train_loss, test_loss), notes) = match floats {
        Ok(f) => f,
        Err(e) => {
            out.problems.push(Problem::file(path, e));
            return out;
        }
    };
    out.notes = notes
        .into_iter()
        .map(|n| format!("{}: {n}", path.display()))
        .collect();
    if df.height() == 0 {
        // No rows and no problem: the caller says the run has no epoch.
        return out;
    }
    let mut prev_end: Option<i64> = None;
    for r in 0..df.height() {
        let bad = |msg: String| Problem::row(path, r as u64, msg);
        let (Some(ep), Some(s), Some(e)) = (epoch[r], start[r], end[r]) else {
            out.problems
                .push(bad("epoch, start_ns and end_ns must not be null".into()));
            continue;
        };
        let expected = r as i64 + 1;
        if ep != expected {
            out.problems.push(bad(format!(
                "epoch {ep} where {expected} was expected (epochs must be numbered 1..n in order)"
            )));
        }
        if e <= s {
            out.problems
                .push(bad(format!("end_ns {e} is not after start_ns {s}")));
        }
        if let Some(pe) = prev_end {
            if s < pe {
                out.problems.push(bad(format!(
                    "start_ns {s} is before the previous epoch's end_ns {pe}"
                )));
            }
        }
        prev_end = Some(e);
        for (name, v) in [
            (cols::TRAIN_ACC, train_acc[r]),
            (cols::TEST_ACC, test_acc[r]),
        ] {
            if let Some(a) = v {
                if !(0.0..=1.0).contains(&a) {
                    out.problems
                        .push(bad(format!("{name} {a} is not a fraction in [0, 1]")));
                }
            }
        }
        out.rows.push(EpochRow {
            epoch: u32::try_from(ep).unwrap_or(0),
            start_ns: s,
            end_ns: e,
            train_acc: train_acc[r],
            test_acc: test_acc[r],
            train_loss: train_loss[r],
            test_loss: test_loss[r],
            // Not read: no metric uses the example count.
            examples: None,
        });
    }
    out
}
