//! Reading a run's samples into a [`RunFold`], file by file and batch by
//! batch, plus the lazy polars scan of the same files that the figures use.
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

use super::fold::RunFold;
use arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use arrow::compute::cast;
use arrow::datatypes::{DataType as ArrowType, Float64Type, Int32Type, Int64Type};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ProjectionMask;
use parquet::file::reader::{FileReader, SerializedFileReader};
use polars::prelude::*;
use std::path::{Path, PathBuf};
use trainwatt_trace::schema::samples;

/// All of a run's segment files as one lazy frame, tolerant of what a newer
/// minor version may add or widen.
pub(crate) fn scan_segments(files: &[PathBuf]) -> PolarsResult<LazyFrame> {
    let args = UnifiedScanArgs {
        hive_options: HiveOptions::new_disabled(),
        glob: false,
        cache: false,
        // A newer writer may add columns to some segments only.
        extra_columns_policy: ExtraColumnsPolicy::Ignore,
        cast_columns_policy: CastColumnsPolicy {
            integer_upcast: true,
            float_upcast: true,
            categorical_to_string: true,
            ..CastColumnsPolicy::ERROR_ON_MISMATCH
        },
        ..Default::default()
    };
    let paths = files
        .iter()
        .map(|p| PlRefPath::try_from_path(p))
        .collect::<PolarsResult<Vec<_>>>()?;
    let sources = ScanSources::Paths(paths.into_iter().collect());
    Ok(
        DslBuilder::scan_parquet(sources, ParquetOptions::default(), args)?
            .build()
            .into(),
    )
}

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

/// Streams a run's segment files, in order, into `fold`. `ids` are the
/// selected source ids in the fold's order; `counters` says whether
/// `energy_uj` is read. Rows of other sources are skipped; rows are
/// numbered over the files taken end to end (for problem reports).
pub(crate) fn scan_run(
    files: &[PathBuf],
    ids: &[String],
    counters: bool,
    fold: &mut RunFold,
) -> Result<(), ScanError> {
    let mut row0 = 0u64;
    for (i, path) in files.iter().enumerate() {
        let err = |message: String| ScanError { file: i, message };
        row0 = scan_file(path, ids, counters, fold, row0).map_err(err)?;
    }
    Ok(())
}

/// One file into the fold; returns the row number after its last row.
fn scan_file(
    path: &Path,
    ids: &[String],
    counters: bool,
    fold: &mut RunFold,
    mut row: u64,
) -> Result<u64, String> {
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| e.to_string())?;
    let mut wanted = vec![samples::T_NS, samples::SOURCE, samples::POWER_W];
    if counters {
        wanted.push(samples::ENERGY_UJ);
    }
    let have = builder.schema().clone();
    for name in &wanted {
        if have.field_with_name(name).is_err() {
            return Err(format!("column `{name}` is missing"));
        }
    }
    let mask = ProjectionMask::columns(builder.parquet_schema(), wanted.iter().copied());
    let reader = builder
        .with_projection(mask)
        .with_batch_size(BATCH_ROWS)
        .build()
        .map_err(|e| e.to_string())?;
    for batch in reader {
        let batch = batch.map_err(|e| e.to_string())?;
        fold_batch(&batch, ids, counters, fold, row)?;
        row += batch.num_rows() as u64;
    }
    Ok(row)
}

/// Column `name` of `batch` cast to `to`.
fn column_as(batch: &RecordBatch, name: &str, to: &ArrowType) -> Result<ArrayRef, String> {
    let c = batch
        .column_by_name(name)
        .ok_or_else(|| format!("column `{name}` is missing"))?;
    if c.data_type() == to {
        return Ok(c.clone());
    }
    cast(c, to).map_err(|e| format!("column `{name}` ({}): {e}", c.data_type()))
}

/// Feeds one batch to the fold, row by row in order.
fn fold_batch(
    batch: &RecordBatch,
    ids: &[String],
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
    let dict_type = ArrowType::Dictionary(Box::new(ArrowType::Int32), Box::new(ArrowType::Utf8));
    let src = column_as(batch, samples::SOURCE, &dict_type)?;
    let src = src.as_dictionary::<Int32Type>();
    // The dictionary's entries mapped once to the fold's source index.
    let names = src.values().as_string::<i32>();
    let index: Vec<Option<usize>> = (0..names.len())
        .map(|k| {
            let name = names.is_valid(k).then(|| names.value(k))?;
            ids.iter().position(|id| id == name)
        })
        .collect();
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
            let Some(s) = usize::try_from(k[i])
                .ok()
                .and_then(|k| index.get(k).copied().flatten())
            else {
                continue;
            };
            fold.push(row0 + i as u64, s, Some(t[i]), Some(p[i]), e.map(|e| e[i]));
        }
        return Ok(());
    }
    for i in 0..t.len() {
        let key = keys.is_valid(i).then(|| keys.value(i));
        let Some(s) = key
            .and_then(|k| usize::try_from(k).ok())
            .and_then(|k| index.get(k).copied().flatten())
        else {
            continue;
        };
        fold.push(
            row0 + i as u64,
            s,
            t.is_valid(i).then(|| t.value(i)),
            p.is_valid(i).then(|| p.value(i)),
            e.and_then(|e| e.is_valid(i).then(|| e.value(i))),
        );
    }
    Ok(())
}

/// Row count of a segment from its footer, or why the file is unreadable.
pub(crate) fn segment_rows(path: &Path) -> Result<u64, String> {
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let reader = SerializedFileReader::new(file).map_err(|e| e.to_string())?;
    Ok(u64::try_from(reader.metadata().file_metadata().num_rows()).unwrap_or(0))
}

/// Where each segment starts in the row numbering over the segments taken
/// end to end (read from the footers; only needed to report problems).
pub(crate) fn segment_starts(files: &[PathBuf]) -> Vec<u64> {
    let mut starts = Vec::with_capacity(files.len());
    let mut before = 0u64;
    for f in files {
        starts.push(before);
        before += segment_rows(f).unwrap_or(0);
    }
    starts
}

/// (file index, row in that file) of row `row` over the segments end to end.
pub(crate) fn locate(starts: &[u64], row: u64) -> (usize, u64) {
    let i = starts.partition_point(|&s| s <= row).saturating_sub(1);
    (i, row - starts.get(i).copied().unwrap_or(0))
}
