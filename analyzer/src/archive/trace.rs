//! One run's power over time, reduced for drawing: per source, the minimum
//! and maximum watts in each of a fixed number of time columns (what a
//! pixel column of a plot can show), so a ten-hour 1 kHz trace draws the
//! same envelope as the full data with a few thousand points. This is for
//! figures only; every number the analyzer reports comes from the full
//! samples (`archive::load`).
//!
//! The reduction runs in polars' streaming engine (a group-by on source and
//! column), so memory stays bounded by the output, not the trace.

use super::run::segment_files;
use super::scan::scan_segments;
use polars::prelude::*;
use std::path::Path;
use trainwatt_trace::schema::samples;

/// The envelope of one source.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceEnvelope {
    pub source: String,
    /// `(t_s, power_w)` in time order: per column the minimum and the
    /// maximum, each at the time it occurred.
    pub points: Vec<(f64, f64)>,
    /// Sample rows read for this source.
    pub rows: u64,
}

/// Reduces the run in `dir` to at most `2 × columns` points per source.
pub fn power_envelope(dir: &Path, columns: u32) -> Result<Vec<SourceEnvelope>, String> {
    let files = segment_files(dir)?;
    let ctx = |e: PolarsError| format!("{}: cannot read the power samples: {e}", dir.display());
    let base = || -> PolarsResult<LazyFrame> {
        Ok(scan_segments(&files)?.select([
            col(samples::T_NS).strict_cast(DataType::Int64),
            col(samples::SOURCE).cast(DataType::String),
            col(samples::POWER_W).strict_cast(DataType::Float64),
        ]))
    };
    let span = base()
        .and_then(|lf| {
            lf.select([
                col(samples::T_NS).min().alias("t0"),
                col(samples::T_NS).max().alias("t1"),
            ])
            .collect()
        })
        .map_err(ctx)?;
    let first = |name: &str| -> Option<i64> { span.column(name).ok()?.i64().ok()?.get(0) };
    let (Some(t0), Some(t1)) = (first("t0"), first("t1")) else {
        return Ok(Vec::new());
    };
    let width_ns = ((t1 - t0) / i64::from(columns.max(1))).max(1);
    let df = base()
        .and_then(|lf| {
            lf.filter(col(samples::POWER_W).is_not_null())
                .with_column(((col(samples::T_NS) - lit(t0)) / lit(width_ns)).alias("__col"))
                .group_by([col(samples::SOURCE), col("__col")])
                .agg([
                    col(samples::POWER_W).min().alias("p_min"),
                    col(samples::POWER_W).max().alias("p_max"),
                    col(samples::T_NS)
                        .sort_by([col(samples::POWER_W)], SortMultipleOptions::default())
                        .first()
                        .alias("t_min"),
                    col(samples::T_NS)
                        .sort_by([col(samples::POWER_W)], SortMultipleOptions::default())
                        .last()
                        .alias("t_max"),
                    len().alias("n"),
                ])
                .sort([samples::SOURCE, "__col"], SortMultipleOptions::default())
                .collect_with_engine(Engine::Streaming)
                .map(|r| r.unwrap_single())
        })
        .map_err(ctx)?;
    let src = df
        .column(samples::SOURCE)
        .map_err(ctx)?
        .str()
        .map_err(ctx)?
        .clone();
    let get_f = |n: &str| -> Result<Float64Chunked, String> {
        Ok(df.column(n).map_err(ctx)?.f64().map_err(ctx)?.clone())
    };
    let get_i = |n: &str| -> Result<Int64Chunked, String> {
        Ok(df.column(n).map_err(ctx)?.i64().map_err(ctx)?.clone())
    };
    let (p_min, p_max) = (get_f("p_min")?, get_f("p_max")?);
    let (t_min, t_max) = (get_i("t_min")?, get_i("t_max")?);
    let n = df
        .column("n")
        .and_then(|c| c.cast(&DataType::UInt64))
        .map_err(ctx)?;
    let n = n.u64().map_err(ctx)?.clone();
    let mut out: Vec<SourceEnvelope> = Vec::new();
    for i in 0..df.height() {
        let Some(s) = src.get(i) else { continue };
        if out.last().is_none_or(|e| e.source != s) {
            out.push(SourceEnvelope {
                source: s.to_string(),
                points: Vec::new(),
                rows: 0,
            });
        }
        let Some(e) = out.last_mut() else { continue };
        e.rows += n.get(i).unwrap_or(0);
        let (Some(a), Some(b), Some(ta), Some(tb)) =
            (p_min.get(i), p_max.get(i), t_min.get(i), t_max.get(i))
        else {
            continue;
        };
        let mut pair = [(ta, a), (tb, b)];
        pair.sort_by_key(|p| p.0);
        for (t, w) in pair {
            e.points.push((t as f64 / 1e9, w));
        }
    }
    Ok(out)
}
