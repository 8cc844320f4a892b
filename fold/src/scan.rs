//! Reading a run's samples into a [`RunFold`], file by file and batch by
//! batch (and, for the figures, into a power envelope, `trace`).
//!
//! Why this shape: the per-epoch reduction needs each source's samples in
//! time order (a trapezoid joins neighbours, a counter is read between two
//! neighbours), which SQL-style group-bys do not give without a sort or a
//! window over the whole run. The recorder already writes rows in time
//! order, so the reader only has to decode the needed columns and hand
//! ordered batches to a small Rust fold. Memory is one batch plus the fold's
//! per-epoch sums, however long the run or big the archive.
//!
//! The hot path reads with the `parquet` crate's Arrow reader rather than
//! polars (a deviation from "polars for analysis", measured): polars turns
//! the dictionary-encoded `source` column into a categorical by hashing the
//! string of every row (a quarter of its time in a profile), and decodes the
//! delta-packed integers through a generic path; the Arrow reader keeps the
//! dictionary's small integer keys, so a source becomes an index with one
//! lookup per batch. `bench/analyzer_bench.sh` prints both sides.
//!
//! The `source` column may be stored as a dictionary (the recorder's choice)
//! or a plain string; integer and float columns may be any width (they are
//! cast). Columns the reader does not name are never decoded, and a file
//! with extra columns is accepted, so files from a newer minor version load
//! unchanged.

use crate::fold::RunFold;
use crate::segments::Segments;
use arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use arrow::datatypes::{DataType as ArrowType, Float64Type, Int32Type, Int64Type};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ProjectionMask;
use parquet::file::reader::ChunkReader;
use std::path::Path;
use trainwatt_trace::schema::samples;

/// Rows per decoded batch: large enough that per-batch work (the source
/// lookup, casts) vanishes, small enough to stay in cache.
const BATCH_ROWS: usize = 64 * 1024;

/// Why a sample file could not be read.
#[derive(Debug)]
pub(crate) struct ScanError {
    /// Index of the file in the list given to [`scan_run`].
    pub file: usize,
    pub message: String,
}

/// Which sources a scan feeds to the fold, and which it only counts.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SourceSet<'a> {
    /// The selected source ids, in the fold's order.
    pub selected: &'a [String],
    /// Every source id the manifest lists: rows of a listed but unselected
    /// source (`--components`) are skipped; rows of any other source are
    /// counted in [`RunFold::unlisted`] so that the run can say so.
    pub listed: &'a [String],
}

/// Streams a run's segments, in order, into `fold`; `counters` says whether
/// `energy_uj` is read. Rows are numbered over the segments taken end to end
/// (for problem reports).
pub(crate) fn scan_run(
    segs: &Segments<'_>,
    ids: SourceSet<'_>,
    counters: bool,
    fold: &mut RunFold,
    ahead: bool,
) -> Result<(), ScanError> {
    let mut wanted = vec![samples::T_NS, samples::SOURCE, samples::POWER_W];
    if counters {
        wanted.push(samples::ENERGY_UJ);
    }
    let mut row = 0u64;
    for i in 0..segs.len() {
        let err = |message: String| ScanError { file: i, message };
        segs.for_each_batch(i, &wanted, &[BOUNDARY], ahead, |batch| {
            fold_batch(batch, ids, counters, fold, row)?;
            row += batch.num_rows() as u64;
            Ok(())
        })
        .map_err(err)?;
    }
    Ok(())
}

/// The optional `boundary` column (format 1.1): true on the rows the
/// recorder read at an epoch boundary; absent or null means false.
const BOUNDARY: &str = samples::BOUNDARY;

/// Decodes the columns `wanted` of a Parquet file (all must exist), plus
/// those of `optional` it has (others are never decoded), and hands each
/// batch to `f`, in file order.
pub fn for_each_batch(
    path: &Path,
    wanted: &[&str],
    optional: &[&str],
    f: impl FnMut(&RecordBatch) -> Result<(), String>,
) -> Result<(), String> {
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    for_each_batch_in(file, wanted, optional, f)
}

/// [`for_each_batch`] of a Parquet file already in memory or open.
pub fn for_each_batch_in<R: ChunkReader + 'static>(
    file: R,
    wanted: &[&str],
    optional: &[&str],
    f: impl FnMut(&RecordBatch) -> Result<(), String>,
) -> Result<(), String> {
    read_batches(file, wanted, optional, false, f)
}

/// Batches of decoded columns in flight between the decoding thread and
/// the fold, with `ahead` (memory: this many batches of `BATCH_ROWS`).
const AHEAD_BATCHES: usize = 2;

/// [`for_each_batch_in`], optionally decoding `ahead` on a second thread
/// while `f` folds the previous batch: a run's fold is sequential, so a
/// core with no other run to fold (fewer runs than threads) decompresses
/// and decodes for it instead.
pub(crate) fn read_batches<R: ChunkReader + 'static>(
    file: R,
    wanted: &[&str],
    optional: &[&str],
    ahead: bool,
    mut f: impl FnMut(&RecordBatch) -> Result<(), String>,
) -> Result<(), String> {
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| e.to_string())?;
    let have = builder.schema().clone();
    for name in wanted {
        if have.field_with_name(name).is_err() {
            return Err(format!("column `{name}` is missing"));
        }
    }
    let present = optional
        .iter()
        .filter(|name| have.field_with_name(name).is_ok());
    let columns: Vec<&str> = wanted.iter().chain(present).copied().collect();
    let mask = ProjectionMask::columns(builder.parquet_schema(), columns.iter().copied());
    let reader = builder
        .with_projection(mask)
        .with_batch_size(BATCH_ROWS)
        .build()
        .map_err(|e| e.to_string())?;
    if !ahead {
        for batch in reader {
            f(&batch.map_err(|e| e.to_string())?)?;
        }
        return Ok(());
    }
    std::thread::scope(|scope| {
        let (tx, rx) = std::sync::mpsc::sync_channel(AHEAD_BATCHES);
        scope.spawn(move || {
            for batch in reader {
                // The fold stopped (an error): stop decoding.
                if tx.send(batch.map_err(|e| e.to_string())).is_err() {
                    break;
                }
            }
        });
        for batch in rx {
            f(&batch?)?;
        }
        Ok(())
    })
}

/// The `source` column of a batch as dictionary keys and names.
pub fn source_column(batch: &RecordBatch) -> Result<ArrayRef, String> {
    let dict_type = ArrowType::Dictionary(Box::new(ArrowType::Int32), Box::new(ArrowType::Utf8));
    column_as(batch, samples::SOURCE, &dict_type)
}

/// Column `name` of `batch` cast to `to`, after checking that its type
/// can hold what the format says it holds: a cast may widen or narrow an
/// integer (any value that does not fit is an error, never a null), but it
/// never turns float seconds into nanoseconds or parses strings as watts.
pub fn column_as(batch: &RecordBatch, name: &str, to: &ArrowType) -> Result<ArrayRef, String> {
    let c = batch
        .column_by_name(name)
        .ok_or_else(|| format!("column `{name}` is missing"))?;
    let from = c.data_type();
    if from == to {
        return Ok(c.clone());
    }
    if name == samples::ENERGY_UJ && from.is_floating() && to == &ArrowType::Int64 {
        return integral_floats(name, c);
    }
    check_type(name, from, to)?;
    let opts = arrow::compute::CastOptions {
        safe: false,
        ..Default::default()
    };
    arrow::compute::cast_with_options(c, to, &opts)
        .map_err(|e| format!("column `{name}` ({from}) cannot be read as {to}: {e}"))
}

/// A float counter column as integers: pandas stores an integer column that
/// has nulls as float64. Every value must be a whole number of µJ below
/// 2⁵³ (where a float64 is still exact), or the column is refused.
fn integral_floats(name: &str, c: &ArrayRef) -> Result<ArrayRef, String> {
    let f = arrow::compute::cast(c, &ArrowType::Float64).map_err(|e| e.to_string())?;
    let f = f.as_primitive::<Float64Type>();
    const EXACT: f64 = 9_007_199_254_740_992.0; // 2^53
    let mut out = Vec::with_capacity(f.len());
    for (i, v) in f.iter().enumerate() {
        match v {
            Some(x) if x.fract() != 0.0 || x.abs() >= EXACT || !x.is_finite() => {
                return Err(format!(
                    "column `{name}` is {} and holds {x} in batch row {i}: a counter must be \
                     a whole number of µJ (store it as int64)",
                    c.data_type()
                ))
            }
            v => out.push(v.map(|x| x as i64)),
        }
    }
    Ok(std::sync::Arc::new(arrow::array::Int64Array::from(out)))
}

/// Whether a column of type `from` may stand for one of type `to`.
fn check_type(name: &str, from: &ArrowType, to: &ArrowType) -> Result<(), String> {
    let ok = match to {
        ArrowType::Int64 | ArrowType::Int32 => from.is_integer(),
        ArrowType::Float64 => from.is_integer() || from.is_floating(),
        ArrowType::Boolean => matches!(from, ArrowType::Boolean),
        ArrowType::Dictionary(_, _) => {
            matches!(
                from,
                ArrowType::Utf8 | ArrowType::LargeUtf8 | ArrowType::Utf8View
            ) || matches!(from, ArrowType::Dictionary(k, v)
            if k.is_integer() && matches!(**v, ArrowType::Utf8 | ArrowType::LargeUtf8 | ArrowType::Utf8View))
        }
        _ => true,
    };
    if ok {
        return Ok(());
    }
    let hint = match (to, from) {
        (ArrowType::Int64 | ArrowType::Int32, f) if f.is_floating() => {
            " (a float column usually holds seconds: multiply by 1e9 and store it as int64)"
        }
        (_, ArrowType::Utf8 | ArrowType::LargeUtf8 | ArrowType::Utf8View) => {
            " (numbers stored as text: write the column as a number)"
        }
        _ => "",
    };
    let want = match to {
        ArrowType::Int64 | ArrowType::Int32 => "an integer type",
        ArrowType::Float64 => "a number type",
        ArrowType::Boolean => "Boolean",
        _ => "a string type",
    };
    Err(format!(
        "column `{name}` is {from}, but the trace format needs {want}{hint}"
    ))
}

/// Feeds one batch to the fold, row by row in order.
fn fold_batch(
    batch: &RecordBatch,
    ids: SourceSet<'_>,
    counters: bool,
    fold: &mut RunFold,
    row0: u64,
) -> Result<(), String> {
    let t = column_as(batch, samples::T_NS, &ArrowType::Int64)?;
    let t = t.as_primitive::<Int64Type>();
    let p = column_as(batch, samples::POWER_W, &ArrowType::Float64)?;
    let p = p.as_primitive::<Float64Type>();
    let e = if counters {
        Some(column_as(batch, samples::ENERGY_UJ, &ArrowType::Int64)?)
    } else {
        None
    };
    let e = e.as_ref().map(|e| e.as_primitive::<Int64Type>());
    let boundary = match batch.column_by_name(BOUNDARY) {
        Some(_) => Some(column_as(batch, BOUNDARY, &ArrowType::Boolean)?),
        None => None,
    };
    let boundary = boundary.as_ref().map(|b| b.as_boolean());
    let is_boundary = |i: usize| boundary.is_some_and(|b| b.is_valid(i) && b.value(i));
    let src = source_column(batch)?;
    let src = src.as_dictionary::<Int32Type>();
    // The dictionary's entries mapped once to the fold's source index.
    let names = src.values().as_string::<i32>();
    let index: Vec<Option<usize>> = (0..names.len())
        .map(|k| {
            let name = names.is_valid(k).then(|| names.value(k))?;
            ids.selected.iter().position(|id| id == name)
        })
        .collect();
    let unlisted: Vec<bool> = (0..names.len())
        .map(|k| !names.is_valid(k) || !ids.listed.iter().any(|id| id == names.value(k)))
        .collect();
    let mut skipped = vec![0u64; names.len()];
    let mut no_source = 0u64;
    let keys = src.keys();
    let no_nulls = t.null_count() == 0
        && p.null_count() == 0
        && keys.null_count() == 0
        && e.is_none_or(|e| e.null_count() == 0);
    if no_nulls {
        // The common case: plain slices, no per-row null checks.
        let (t, p, k) = (t.values(), p.values(), keys.values());
        let e = e.map(|e| e.values());
        for i in 0..t.len() {
            let key = usize::try_from(k[i]).ok();
            let Some(s) = key.and_then(|k| index.get(k).copied().flatten()) else {
                count_skipped(key, &mut skipped, &mut no_source);
                continue;
            };
            fold.push_row(
                row0 + i as u64,
                s,
                Some(t[i]),
                Some(p[i]),
                e.map(|e| e[i]),
                is_boundary(i),
            );
        }
        note_unlisted(fold, names, &unlisted, &skipped, no_source);
        return Ok(());
    }
    for i in 0..t.len() {
        let key = keys
            .is_valid(i)
            .then(|| keys.value(i))
            .and_then(|k| usize::try_from(k).ok());
        let Some(s) = key.and_then(|k| index.get(k).copied().flatten()) else {
            count_skipped(key, &mut skipped, &mut no_source);
            continue;
        };
        fold.push_row(
            row0 + i as u64,
            s,
            t.is_valid(i).then(|| t.value(i)),
            p.is_valid(i).then(|| p.value(i)),
            e.and_then(|e| e.is_valid(i).then(|| e.value(i))),
            is_boundary(i),
        );
    }
    note_unlisted(fold, names, &unlisted, &skipped, no_source);
    Ok(())
}

/// Counts a row that the fold does not take, by dictionary key.
#[inline]
fn count_skipped(key: Option<usize>, skipped: &mut [u64], no_source: &mut u64) {
    match key.and_then(|k| skipped.get_mut(k)) {
        Some(n) => *n += 1,
        None => *no_source += 1,
    }
}

/// Adds the batch's rows of sources the manifest does not list (and rows
/// without a source) to the fold's count.
fn note_unlisted(
    fold: &mut RunFold,
    names: &arrow::array::StringArray,
    unlisted: &[bool],
    skipped: &[u64],
    no_source: u64,
) {
    for (k, &n) in skipped.iter().enumerate() {
        if n > 0 && unlisted[k] {
            let name = names.is_valid(k).then(|| names.value(k).to_string());
            *fold.unlisted.entry(name).or_default() += n;
        }
    }
    if no_source > 0 {
        *fold.unlisted.entry(None).or_default() += no_source;
    }
}

/// (file index, row in that file) of row `row` over the segments end to end.
pub(crate) fn locate(starts: &[u64], row: u64) -> (usize, u64) {
    let i = starts.partition_point(|&s| s <= row).saturating_sub(1);
    (i, row - starts.get(i).copied().unwrap_or(0))
}
