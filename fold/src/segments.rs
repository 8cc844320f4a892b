//! A run's sample segments, wherever they are: the Parquet files of its
//! `samples/` folder (the analyzer), or batches already in memory (the
//! Python module and Spark, which read the files themselves). The fold reads
//! both through [`Segments`], so the numbers, and the files and rows that
//! messages name, are the same whichever way a run arrives.

use crate::scan::{column_as, read_batches};
use arrow::array::{AsArray, RecordBatch};
use arrow::datatypes::{DataType as ArrowType, Int64Type};
use bytes::Bytes;
use parquet::file::reader::{ChunkReader, FileReader, SerializedFileReader};
use std::path::{Path, PathBuf};
use trainwatt_trace::schema::{samples, SAMPLES_DIR};

/// One segment in memory: its file's path (as messages name it) and its
/// rows in file order, decoded or as the file's bytes.
#[derive(Debug, Clone)]
pub struct TableSegment {
    pub name: PathBuf,
    pub data: SegmentData,
}

/// A segment's rows: batches another reader decoded (pyarrow, polars), or
/// the Parquet file's bytes, decoded here by the reader the analyzer uses
/// on files (so the types accepted and the messages are the same).
#[derive(Debug, Clone)]
pub enum SegmentData {
    Batches(Vec<RecordBatch>),
    Parquet(Bytes),
}

/// The segments of one run, in name order (which the recorder makes time
/// order).
#[derive(Debug)]
pub(crate) enum Segments<'a> {
    Files(Vec<PathBuf>),
    Tables(Vec<&'a TableSegment>),
}

impl Segments<'_> {
    pub fn len(&self) -> usize {
        match self {
            Self::Files(f) => f.len(),
            Self::Tables(t) => t.len(),
        }
    }

    /// The path of segment `i` (`?` past the end).
    pub fn name(&self, i: usize) -> &Path {
        let name = match self {
            Self::Files(f) => f.get(i).map(PathBuf::as_path),
            Self::Tables(t) => t.get(i).map(|s| s.name.as_path()),
        };
        name.unwrap_or(Path::new("?"))
    }

    /// Drops the last segment (an unreadable one of an unfinished run).
    pub fn pop(&mut self) -> Option<PathBuf> {
        match self {
            Self::Files(f) => f.pop(),
            Self::Tables(t) => t.pop().map(|s| s.name.clone()),
        }
    }

    /// Rows of segment `i` (its footer's count for a file; 0 if unreadable).
    fn rows(&self, i: usize) -> u64 {
        match self {
            Self::Files(f) => segment_rows(&f[i]).unwrap_or(0),
            Self::Tables(t) => match &t[i].data {
                SegmentData::Batches(b) => b.iter().map(|b| b.num_rows() as u64).sum(),
                SegmentData::Parquet(bytes) => footer_rows(bytes.clone()).unwrap_or(0),
            },
        }
    }

    /// Where each segment starts in the row numbering over the segments
    /// taken end to end (only needed to report problems).
    pub fn starts(&self) -> Vec<u64> {
        let mut starts = Vec::with_capacity(self.len());
        let mut before = 0u64;
        for i in 0..self.len() {
            starts.push(before);
            before += self.rows(i);
        }
        starts
    }

    /// The first and last `t_ns` of segment `i`: from a file's footer
    /// statistics, or computed from the batches in memory.
    pub fn time_span(&self, i: usize) -> Option<(i64, i64)> {
        match self {
            Self::Files(f) => time_span(&f[i]),
            Self::Tables(t) => {
                let batches = match &t[i].data {
                    SegmentData::Batches(b) => b,
                    SegmentData::Parquet(bytes) => return footer_span(bytes.clone()),
                };
                let mut span: Option<(i64, i64)> = None;
                for b in batches {
                    let t_ns = column_as(b, samples::T_NS, &ArrowType::Int64).ok()?;
                    let t_ns = t_ns.as_primitive::<Int64Type>();
                    let (Some(lo), Some(hi)) =
                        (arrow::compute::min(t_ns), arrow::compute::max(t_ns))
                    else {
                        continue;
                    };
                    span = Some(span.map_or((lo, hi), |(a, b)| (a.min(lo), b.max(hi))));
                }
                span
            }
        }
    }

    /// Hands the batches of segment `i` to `f` in order, with the columns
    /// `wanted` (all must exist) and those of `optional` it has; `ahead`
    /// decodes the next batch on a second thread meanwhile.
    pub fn for_each_batch(
        &self,
        i: usize,
        wanted: &[&str],
        optional: &[&str],
        ahead: bool,
        mut f: impl FnMut(&RecordBatch) -> Result<(), String>,
    ) -> Result<(), String> {
        match self {
            Self::Files(files) => {
                let file = std::fs::File::open(&files[i]).map_err(|e| e.to_string())?;
                read_batches(file, wanted, optional, ahead, f)
            }
            Self::Tables(t) => {
                let batches = match &t[i].data {
                    SegmentData::Batches(b) => b,
                    SegmentData::Parquet(bytes) => {
                        return read_batches(bytes.clone(), wanted, optional, ahead, f)
                    }
                };
                for b in batches {
                    if let Some(name) = wanted.iter().find(|n| b.column_by_name(n).is_none()) {
                        return Err(format!("column `{name}` is missing"));
                    }
                    f(b)?;
                }
                Ok(())
            }
        }
    }
}

/// Segment files in name order (the recorder numbers them in time order).
pub fn segment_files(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let samples = dir.join(SAMPLES_DIR);
    let entries = std::fs::read_dir(&samples).map_err(|e| {
        format!(
            "{}: cannot list the sample segments: {e}",
            samples.display()
        )
    })?;
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| format!("{}: {e}", samples.display()))?;
        let path = entry.path();
        if path.extension().is_some_and(|x| x == "parquet") && path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    if files.is_empty() {
        return Err(format!(
            "{}: no *.parquet sample segment",
            samples.display()
        ));
    }
    Ok(files)
}

/// Row count of a segment from its footer, or why the file is unreadable.
pub fn segment_rows(path: &Path) -> Result<u64, String> {
    footer_rows(std::fs::File::open(path).map_err(|e| e.to_string())?)
}

fn footer_rows<R: ChunkReader + 'static>(file: R) -> Result<u64, String> {
    let reader = SerializedFileReader::new(file).map_err(|e| e.to_string())?;
    Ok(u64::try_from(reader.metadata().file_metadata().num_rows()).unwrap_or(0))
}

/// The first and last `t_ns` of a segment from its footer's statistics
/// (`None` when the writer kept none, or the file cannot be read).
pub fn time_span(path: &Path) -> Option<(i64, i64)> {
    footer_span(std::fs::File::open(path).ok()?)
}

fn footer_span<R: ChunkReader + 'static>(file: R) -> Option<(i64, i64)> {
    use parquet::file::statistics::Statistics;
    let reader = SerializedFileReader::new(file).ok()?;
    let meta = reader.metadata();
    let mut span: Option<(i64, i64)> = None;
    for rg in meta.row_groups() {
        let col = rg
            .columns()
            .iter()
            .find(|c| c.column_path().string() == samples::T_NS)?;
        let (lo, hi) = match col.statistics()? {
            Statistics::Int64(s) => (*s.min_opt()?, *s.max_opt()?),
            Statistics::Int32(s) => (i64::from(*s.min_opt()?), i64::from(*s.max_opt()?)),
            _ => return None,
        };
        span = Some(span.map_or((lo, hi), |(a, b)| (a.min(lo), b.max(hi))));
    }
    span
}
