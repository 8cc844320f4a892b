//! The lazy polars scan of one sample segment, streamed batch by batch into
//! a [`RunFold`].
//!
//! Why this shape: the per-epoch reduction needs each source's samples in
//! time order (a trapezoid joins neighbours, a counter is read between two
//! neighbours), which SQL-style group-bys do not give without a sort or a
//! window over the whole run. The recorder already writes rows in time
//! order, so polars does what it is good at (read only the needed columns,
//! decode in parallel, keep only the selected sources, number the rows) and
//! hands ordered batches to a small Rust fold through `sink_batches` on the
//! streaming engine. Memory is one batch plus the fold's per-epoch sums,
//! however long the run or big the archive.
//!
//! The `source` column is matched against the selected ids in polars, so it
//! can be stored as a dictionary (the recorder's choice), a categorical or a
//! plain string; it becomes a small integer index before it reaches Rust.
//! Columns the scan does not name are never read, and a segment with
//! columns the first one lacks is accepted, so files from a newer minor
//! version load unchanged.
//!
//! Throughput is set by the segment size more than by anything here: with
//! the recorder's 1 s segments (3 000 rows) polars spends most of its time
//! per file (footer, one zstd context per page, scheduling), about 8 M
//! samples/s on 2 cores; with 60 s segments the same archive reads at about
//! 26 M samples/s (bench/analyzer_bench.sh).

use super::fold::RunFold;
use polars::prelude::*;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use trainwatt_trace::schema::samples;

const ROW: &str = "__row";
const SRC: &str = "__src";

/// Builds the expression mapping `source` to its index in `ids` (null when
/// not selected).
fn source_index(ids: &[String]) -> Expr {
    let is = |k: usize| col(samples::SOURCE).eq(lit(ids[k].as_str()));
    let null = lit(NULL).cast(DataType::Int32);
    match ids.len() {
        0 => null,
        1 => when(is(0)).then(lit(0i32)).otherwise(null),
        _ => {
            let mut chain = when(is(0)).then(lit(0i32)).when(is(1)).then(lit(1i32));
            for k in 2..ids.len() {
                chain = chain.when(is(k)).then(lit(k as i32));
            }
            chain.otherwise(null)
        }
    }
}

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

/// The lazy query over a run's segments taken end to end: the needed
/// columns, selected sources only, with the row number over all of them.
fn run_query(files: &[PathBuf], ids: &[String], counters: bool) -> PolarsResult<LazyFrame> {
    let mut cols = vec![
        col(ROW),
        col(samples::T_NS).strict_cast(DataType::Int64),
        source_index(ids).alias(SRC),
        col(samples::POWER_W).strict_cast(DataType::Float64),
    ];
    if counters {
        cols.push(col(samples::ENERGY_UJ).strict_cast(DataType::Int64));
    }
    Ok(scan_segments(files)?
        .with_row_index(ROW, Some(0))
        .select(cols)
        .filter(col(SRC).is_not_null()))
}

/// Feeds one batch to the fold, row by row in order.
fn fold_batch(df: &DataFrame, counters: bool, fold: &mut RunFold) -> PolarsResult<()> {
    let rows = df.column(ROW)?.idx()?.rechunk();
    let t = df.column(samples::T_NS)?.i64()?.rechunk();
    let src = df.column(SRC)?.i32()?.rechunk();
    let p = df.column(samples::POWER_W)?.f64()?.rechunk();
    let e = if counters {
        Some(df.column(samples::ENERGY_UJ)?.i64()?.rechunk())
    } else {
        None
    };
    // Fast path: one chunk and no nulls anywhere (the common case).
    let e_slice = match &e {
        Some(e) => e.cont_slice().ok().map(Some),
        None => Some(None),
    };
    if let (Ok(rows), Ok(t), Ok(src), Ok(p), Some(e)) = (
        rows.cont_slice(),
        t.cont_slice(),
        src.cont_slice(),
        p.cont_slice(),
        e_slice,
    ) {
        for i in 0..rows.len().min(t.len()).min(src.len()).min(p.len()) {
            let Ok(s) = usize::try_from(src[i]) else {
                continue;
            };
            let e = e.and_then(|e| e.get(i).copied());
            fold.push(u64::from(rows[i]), s, Some(t[i]), Some(p[i]), e);
        }
        return Ok(());
    }
    let mut e_iter = e.as_ref().map(|e| e.iter());
    for (((row, t), s), p) in rows.iter().zip(t.iter()).zip(src.iter()).zip(p.iter()) {
        let e = e_iter.as_mut().and_then(|it| it.next()).flatten();
        let (Some(row), Some(s)) = (row, s) else {
            continue;
        };
        let Ok(s) = usize::try_from(s) else {
            continue;
        };
        fold.push(u64::from(row), s, t, p, e);
    }
    Ok(())
}

/// Streams a run's segment files, in order, into `fold`. `ids` are the
/// selected source ids in the fold's order; `counters` says whether
/// `energy_uj` is read.
pub(crate) fn scan_run(
    files: &[PathBuf],
    ids: &[String],
    counters: bool,
    fold: &Arc<Mutex<RunFold>>,
) -> PolarsResult<()> {
    let sink = Arc::clone(fold);
    let callback = PlanCallback::new(move |df: DataFrame| {
        let mut fold = sink.lock().unwrap_or_else(PoisonError::into_inner);
        fold_batch(&df, counters, &mut fold)?;
        Ok(false)
    });
    run_query(files, ids, counters)?
        .sink_batches(callback, true, None)?
        .collect_with_engine(Engine::Streaming)?;
    Ok(())
}

/// Row count of a segment from its footer, or why the file is unreadable.
pub(crate) fn segment_rows(path: &Path) -> PolarsResult<u64> {
    let file = std::fs::File::open(path)?;
    let n = ParquetReader::new(file).num_rows()?;
    Ok(n as u64)
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
