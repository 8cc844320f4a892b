//! One run's power over time, reduced for drawing: per source, the minimum
//! and maximum watts in each of a fixed number of time columns (what a
//! pixel column of a plot can show), so a ten-hour 1 kHz trace draws the
//! same envelope as the full data with a few thousand points. This is for
//! figures only; every number the analyzer reports comes from the full
//! samples (`archive::load`).
//!
//! The reduction streams the segments batch by batch through the same
//! Arrow reader as the energy fold (`scan`), keeping one small record per
//! source and column, so memory is bounded by the output, not the trace.

use arrow::array::{Array, AsArray};
use arrow::datatypes::{DataType as ArrowType, Float64Type, Int32Type, Int64Type};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use trainwatt_fold::{column_as, for_each_batch, segment_files, source_column, time_span};
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

/// One time column of one source: its lowest and highest reading, each
/// with its time (the earliest of equal lows, the latest of equal highs),
/// and how many readings fell in it.
#[derive(Debug, Clone, Copy)]
struct Cell {
    min: (f64, i64),
    max: (f64, i64),
    n: u64,
}

impl Cell {
    fn new(p: f64, t: i64) -> Self {
        Self {
            min: (p, t),
            max: (p, t),
            n: 1,
        }
    }

    fn add(&mut self, p: f64, t: i64) {
        if p < self.min.0 || (p == self.min.0 && t < self.min.1) {
            self.min = (p, t);
        }
        if p > self.max.0 || (p == self.max.0 && t > self.max.1) {
            self.max = (p, t);
        }
        self.n += 1;
    }
}

/// Reduces the run in `dir` to at most `2 × columns` points per source.
pub fn power_envelope(dir: &Path, columns: u32) -> Result<Vec<SourceEnvelope>, String> {
    let files = segment_files(dir)?;
    let ctx = |e: String| format!("{}: cannot read the power samples: {e}", dir.display());
    let Some((t0, t1)) = span(&files).map_err(ctx)? else {
        return Ok(Vec::new());
    };
    let width_ns = ((t1 - t0) / i64::from(columns.max(1))).max(1);
    let mut cells: BTreeMap<String, BTreeMap<i64, Cell>> = BTreeMap::new();
    let wanted = [samples::T_NS, samples::SOURCE, samples::POWER_W];
    for f in &files {
        for_each_batch(f, &wanted, &[], |batch| {
            let t = column_as(batch, samples::T_NS, &ArrowType::Int64)?;
            let t = t.as_primitive::<Int64Type>();
            let p = column_as(batch, samples::POWER_W, &ArrowType::Float64)?;
            let p = p.as_primitive::<Float64Type>();
            let src = source_column(batch)?;
            let src = src.as_dictionary::<Int32Type>();
            let names = src.values().as_string::<i32>();
            let keys = src.keys();
            for i in 0..batch.num_rows() {
                if !(t.is_valid(i) && p.is_valid(i) && keys.is_valid(i)) {
                    continue;
                }
                let Ok(k) = usize::try_from(keys.value(i)) else {
                    continue;
                };
                if !names.is_valid(k) {
                    continue;
                }
                let (ti, pi) = (t.value(i), p.value(i));
                let col = (ti - t0) / width_ns;
                let per_source = cells.entry(names.value(k).to_string()).or_default();
                per_source
                    .entry(col)
                    .and_modify(|c| c.add(pi, ti))
                    .or_insert_with(|| Cell::new(pi, ti));
            }
            Ok(())
        })
        .map_err(|e| ctx(format!("{}: {e}", f.display())))?;
    }
    Ok(cells
        .into_iter()
        .map(|(source, cols)| {
            let mut e = SourceEnvelope {
                source,
                points: Vec::with_capacity(cols.len() * 2),
                rows: 0,
            };
            for c in cols.values() {
                e.rows += c.n;
                let mut pair = [c.min, c.max].map(|(p, t)| (t, p));
                pair.sort_by_key(|x| x.0);
                e.points.extend(pair.map(|(t, p)| (t as f64 / 1e9, p)));
            }
            e
        })
        .collect())
}

/// The first and last `t_ns` over all files: from the footers where every
/// file has statistics, else by reading the column.
fn span(files: &[PathBuf]) -> Result<Option<(i64, i64)>, String> {
    let from_footers: Option<Vec<(i64, i64)>> = files.iter().map(|f| time_span(f)).collect();
    if let Some(spans) = from_footers {
        let lo = spans.iter().map(|s| s.0).min();
        let hi = spans.iter().map(|s| s.1).max();
        return Ok(lo.zip(hi));
    }
    let mut out: Option<(i64, i64)> = None;
    for f in files {
        for_each_batch(f, &[samples::T_NS], &[], |batch| {
            let t = column_as(batch, samples::T_NS, &ArrowType::Int64)?;
            let t = t.as_primitive::<Int64Type>();
            if let (Some(lo), Some(hi)) = (arrow::compute::min(t), arrow::compute::max(t)) {
                out = Some(out.map_or((lo, hi), |(a, b)| (a.min(lo), b.max(hi))));
            }
            Ok(())
        })
        .map_err(|e| format!("{}: {e}", f.display()))?;
    }
    Ok(out)
}
