//! A reduced table's rows, built from folded runs: one row per run × epoch
//! × source (epoch 0 is the pre-training window), one row per excluded run.
//! The analyzer writes them to Parquet; the Python module hands them to
//! pyarrow (docs/reduced-format.md).

use super::schema::{self as c, mode_name};
use crate::model::{Excluded, RunData};
use arrow::array::{
    ArrayBuilder, ArrayRef, BooleanBuilder, Float64Builder, Int32Builder, Int64Builder,
    StringArray, StringBuilder,
};
use arrow::record_batch::RecordBatch;
use std::path::Path;
use std::sync::Arc;

/// The rows of `runs` and `excluded`, in that order, as one batch of the
/// reduced schema; `options_json` is what they were folded with
/// ([`super::schema::options_json`]).
pub fn reduced_batch(
    runs: &[RunData],
    excluded: &[Excluded],
    options_json: &str,
) -> Result<RecordBatch, arrow::error::ArrowError> {
    let mut cols = Columns::new();
    for r in runs {
        run_rows(r, &mut cols);
    }
    for x in excluded {
        cols.push(&excluded_row(x));
    }
    cols.finish(options_json)
}

/// The columns being filled, one builder per column of the schema.
struct Columns {
    s: Vec<(String, StringBuilder)>,
    i64s: Vec<(String, Int64Builder)>,
    i32s: Vec<(String, Int32Builder)>,
    f64s: Vec<(String, Float64Builder)>,
    bools: Vec<(String, BooleanBuilder)>,
}

impl Columns {
    fn new() -> Self {
        let schema = c::schema();
        let mut cols = Self {
            s: Vec::new(),
            i64s: Vec::new(),
            i32s: Vec::new(),
            f64s: Vec::new(),
            bools: Vec::new(),
        };
        for f in schema.fields() {
            let name = f.name().clone();
            if name == c::VERSION_COL || name == c::OPTIONS_COL {
                continue;
            }
            match f.data_type() {
                arrow::datatypes::DataType::Utf8 => cols.s.push((name, StringBuilder::new())),
                arrow::datatypes::DataType::Int64 => cols.i64s.push((name, Int64Builder::new())),
                arrow::datatypes::DataType::Int32 => cols.i32s.push((name, Int32Builder::new())),
                arrow::datatypes::DataType::Float64 => {
                    cols.f64s.push((name, Float64Builder::new()))
                }
                _ => cols.bools.push((name, BooleanBuilder::new())),
            }
        }
        cols
    }

    /// Appends one row: every column not named in `row` is null.
    fn push(&mut self, row: &Row) {
        for (name, b) in &mut self.s {
            b.append_option(
                row.s
                    .iter()
                    .find(|(n, _)| *n == name.as_str())
                    .and_then(|(_, v)| v.as_deref()),
            );
        }
        for (name, b) in &mut self.i64s {
            b.append_option(
                row.i64s
                    .iter()
                    .find(|(n, _)| *n == name.as_str())
                    .and_then(|(_, v)| *v),
            );
        }
        for (name, b) in &mut self.i32s {
            b.append_option(
                row.i32s
                    .iter()
                    .find(|(n, _)| *n == name.as_str())
                    .and_then(|(_, v)| *v),
            );
        }
        for (name, b) in &mut self.f64s {
            b.append_option(
                row.f64s
                    .iter()
                    .find(|(n, _)| *n == name.as_str())
                    .and_then(|(_, v)| *v),
            );
        }
        for (name, b) in &mut self.bools {
            b.append_option(
                row.bools
                    .iter()
                    .find(|(n, _)| *n == name.as_str())
                    .and_then(|(_, v)| *v),
            );
        }
    }

    fn finish(mut self, options_json: &str) -> Result<RecordBatch, arrow::error::ArrowError> {
        let schema = c::schema();
        let rows = self.s.first().map_or(0, |(_, b)| b.len());
        let constant = |v: &str| -> ArrayRef { Arc::new(StringArray::from(vec![v; rows])) };
        let mut arrays: Vec<ArrayRef> = Vec::new();
        for f in schema.fields() {
            let name = f.name().as_str();
            let a: ArrayRef = if name == c::VERSION_COL {
                constant(c::REDUCED_VERSION)
            } else if name == c::OPTIONS_COL {
                constant(options_json)
            } else if let Some((_, b)) = self.s.iter_mut().find(|(n, _)| n.as_str() == name) {
                Arc::new(b.finish())
            } else if let Some((_, b)) = self.i64s.iter_mut().find(|(n, _)| n.as_str() == name) {
                Arc::new(b.finish())
            } else if let Some((_, b)) = self.i32s.iter_mut().find(|(n, _)| n.as_str() == name) {
                Arc::new(b.finish())
            } else if let Some((_, b)) = self.f64s.iter_mut().find(|(n, _)| n.as_str() == name) {
                Arc::new(b.finish())
            } else if let Some((_, b)) = self.bools.iter_mut().find(|(n, _)| n.as_str() == name) {
                Arc::new(b.finish())
            } else {
                unreachable!("every column has a builder")
            };
            arrays.push(a);
        }
        RecordBatch::try_new(schema, arrays)
    }
}

/// One row's values by column name.
#[derive(Default)]
struct Row {
    s: Vec<(&'static str, Option<String>)>,
    i64s: Vec<(&'static str, Option<i64>)>,
    i32s: Vec<(&'static str, Option<i32>)>,
    f64s: Vec<(&'static str, Option<f64>)>,
    bools: Vec<(&'static str, Option<bool>)>,
}

/// The columns every row of a run repeats.
fn run_keys(dir: &Path, r: Option<&RunData>) -> Row {
    let mut row = Row::default();
    row.s.push((c::RUN_DIR, Some(dir.display().to_string())));
    let Some(r) = r else { return row };
    let w = &r.manifest.workload;
    row.s.extend([
        (c::RUN_ID, Some(r.manifest.run_id.clone())),
        (c::PLATFORM, Some(r.platform().to_string())),
        (c::DATASET, Some(r.dataset().to_string())),
        (c::ARCH, Some(r.arch().to_string())),
        (c::PROTOCOL, w.protocol.clone()),
        (
            c::STATUS,
            serde_json::to_value(r.manifest.status)
                .ok()
                .and_then(|v| v.as_str().map(String::from)),
        ),
        (c::ENERGY_MODE, Some(mode_name(r.energy_mode).to_string())),
        (c::MANIFEST_JSON, Some(r.manifest.to_json())),
        (c::WARNINGS_JSON, serde_json::to_string(&r.warnings).ok()),
    ]);
    row.i64s.extend([
        (c::WIDTH, Some(i64::from(r.width()))),
        (c::SEED, w.seed.and_then(|s| i64::try_from(s).ok())),
        (c::FOLD, w.fold.map(i64::from)),
    ]);
    row.bools.push((c::BOUNDARY_READS, Some(r.boundary_reads)));
    row.f64s.push((c::BASELINE_W, r.baseline_w));
    row
}

fn excluded_row(x: &Excluded) -> Row {
    let mut row = run_keys(&x.dir, None);
    row.s.extend([
        (c::EXCLUDED_KIND, Some(x.reason.kind.code())),
        (
            c::EXCLUDED_FILE,
            x.reason.file.as_ref().map(|f| f.display().to_string()),
        ),
        (c::EXCLUDED_MESSAGE, Some(x.reason.message.clone())),
    ]);
    row.i64s.push((
        c::EXCLUDED_ROW,
        x.reason.row.and_then(|r| i64::try_from(r).ok()),
    ));
    row
}

/// The rows of one loaded run.
fn run_rows(r: &RunData, cols: &mut Columns) {
    for (si, s) in r.sources.iter().enumerate() {
        let info = r.manifest.sources.iter().find(|i| i.id == s.id);
        let (mut integral, mut sum) = (0.0, 0.0);
        for k in 0..s.area_ws.len() {
            let mut row = run_keys(&r.dir, Some(r));
            if k > 0 {
                integral += s.area_ws[k];
                sum += s.sum_w[k];
            }
            row.s.extend([
                (c::SOURCE_ID, Some(s.id.clone())),
                (
                    c::SOURCE_DOMAIN,
                    info.and_then(|i| serde_json::to_value(i.domain).ok())
                        .and_then(|v| v.as_str().map(String::from)),
                ),
                (
                    c::SOURCE_METHOD,
                    info.and_then(|i| serde_json::to_value(i.method).ok())
                        .and_then(|v| v.as_str().map(String::from)),
                ),
            ]);
            row.bools.extend([
                (c::MODELLED, info.map(|i| i.method.is_modelled())),
                (c::BOUNDARY_EXACT, s.exact.get(k).copied()),
            ]);
            row.i32s.extend([
                (c::SOURCE_INDEX, i32::try_from(si).ok()),
                (c::EPOCH, i32::try_from(k).ok()),
            ]);
            let epoch = (k > 0).then(|| &r.epochs[k - 1].row);
            row.i64s.extend([
                (c::START_NS, epoch.map(|e| e.start_ns)),
                (c::END_NS, epoch.map(|e| e.end_ns)),
                (c::EXAMPLES, epoch.and_then(|e| e.examples)),
                (c::N_POWER, i64::try_from(s.n_power).ok()),
                (c::N_COUNTER, i64::try_from(s.n_counter).ok()),
            ]);
            row.f64s.extend([
                (c::TRAIN_ACC, epoch.and_then(|e| e.train_acc)),
                (c::TEST_ACC, epoch.and_then(|e| e.test_acc)),
                (c::TRAIN_LOSS, epoch.and_then(|e| e.train_loss)),
                (c::TEST_LOSS, epoch.and_then(|e| e.test_loss)),
                (c::COUNTER_J, s.counter_j.get(k).copied().flatten()),
                (c::INTEGRAL_BIN_J, Some(s.area_ws[k])),
                (c::INTEGRAL_J, Some(integral)),
                (c::SAMPLE_SUM_BIN_W, Some(s.sum_w[k])),
                (c::SAMPLE_SUM_W, Some(sum)),
            ]);
            cols.push(&row);
        }
    }
}
