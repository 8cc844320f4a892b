//! Compaction of a finished run's sample segments into one file.
//!
//! While recording, samples land in one small segment per second (that is
//! what bounds the loss on SIGKILL). Thousands of tiny files cost space
//! (each has its own footer and restarts the delta and zstd streams) and
//! slow every reader down, so a run that finishes cleanly rewrites them into
//! `samples/part-000000.parquet`, sorted by (source, t_ns) across the whole
//! run, which is where the encodings pay off.
//!
//! Why this is safe: the compacted file is written into `samples.new/`, then
//! `samples.new/` and `samples/` are swapped in one atomic
//! `renameat2(RENAME_EXCHANGE)`, and only then is the old folder (now
//! `samples.new/`) removed. A crash at any moment leaves `samples/` holding
//! either every original segment or the complete compacted file, never both
//! and never neither. The row count is checked before the swap. Where the
//! file system cannot exchange folders, the segments are simply kept.
//!
//! Memory stays bounded: the output is written source by source, streaming
//! each segment's rows of that source, one segment in memory at a time.

use crate::sink::SinkError;
use arrow::array::{AsArray, RecordBatch};
use arrow::compute::filter_record_batch;
use arrow::datatypes::Int16Type;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ArrowWriter;
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use trainwatt_trace::schema::{samples as sc, SAMPLES_DIR};

/// Name of the staging folder beside `samples/`.
pub const STAGING_DIR: &str = "samples.new";

/// What compaction did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CompactReport {
    pub segments_in: usize,
    pub rows: u64,
    pub bytes_before: u64,
    pub bytes_after: u64,
    /// Why the segments were kept as they are, if they were.
    pub skipped: Option<String>,
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> SinkError + '_ {
    move |source| SinkError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn pq_err(path: &Path) -> impl FnOnce(parquet::errors::ParquetError) -> SinkError + '_ {
    move |source| SinkError::Parquet {
        path: path.to_path_buf(),
        source,
    }
}

/// The complete segment files of a samples folder, in order.
pub fn segment_files(dir: &Path) -> Result<Vec<PathBuf>, SinkError> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .map_err(io_err(dir))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.extension().is_some_and(|x| x == "parquet")
                && !p
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        })
        .collect();
    files.sort();
    Ok(files)
}

fn open_batches(
    path: &Path,
) -> Result<impl Iterator<Item = Result<RecordBatch, SinkError>> + '_, SinkError> {
    let f = File::open(path).map_err(io_err(path))?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(f)
        .map_err(pq_err(path))?
        .build()
        .map_err(pq_err(path))?;
    Ok(reader.map(move |b| {
        b.map_err(|source| SinkError::Arrow {
            path: path.to_path_buf(),
            source,
        })
    }))
}

/// Compacts `run_dir/samples/` in place (see the module docs).
pub fn compact_samples(
    run_dir: &Path,
    run_id: &str,
    n_sources: usize,
) -> Result<CompactReport, SinkError> {
    let samples = run_dir.join(SAMPLES_DIR);
    let staging = run_dir.join(STAGING_DIR);
    let segments = segment_files(&samples)?;
    let mut report = CompactReport {
        segments_in: segments.len(),
        bytes_before: total_bytes(&segments)?,
        ..CompactReport::default()
    };
    if segments.len() <= 1 {
        return Ok(kept(
            report,
            "one segment or none: nothing to compact".into(),
        ));
    }
    let out_path = fresh_staging(&staging)?;
    let rows = write_by_source(&segments, n_sources, run_id, &out_path)?;
    report.rows = rows.written;
    if rows.written != rows.read {
        // A row with a source index outside the manifest: keep everything.
        fs::remove_dir_all(&staging).map_err(io_err(&staging))?;
        let why = format!(
            "row count mismatch ({} of {}); segments kept",
            rows.written, rows.read
        );
        return Ok(kept(report, why));
    }
    if let Err(e) = swap_in(run_dir, &staging, &out_path)? {
        fs::remove_dir_all(&staging).map_err(io_err(&staging))?;
        let why = format!("this file system cannot swap folders atomically ({e}); segments kept");
        return Ok(kept(report, why));
    }
    crate::fsutil::sync_dir(run_dir).map_err(io_err(run_dir))?;
    fs::remove_dir_all(&staging).map_err(io_err(&staging))?;
    report.bytes_after = fs::metadata(samples.join("part-000000.parquet"))
        .map_err(io_err(&samples))?
        .len();
    Ok(report)
}

/// The report of a run whose segments stay as they are, and why.
fn kept(report: CompactReport, why: String) -> CompactReport {
    CompactReport {
        skipped: Some(why),
        bytes_after: report.bytes_before,
        ..report
    }
}

/// The summed sizes of `files`, in bytes.
fn total_bytes(files: &[PathBuf]) -> Result<u64, SinkError> {
    let mut bytes = 0;
    for f in files {
        bytes += fs::metadata(f).map_err(io_err(f))?.len();
    }
    Ok(bytes)
}

/// Empties (or makes) the staging folder; returns the compacted file's path.
fn fresh_staging(staging: &Path) -> Result<PathBuf, SinkError> {
    if staging.exists() {
        fs::remove_dir_all(staging).map_err(io_err(staging))?;
    }
    fs::create_dir(staging).map_err(io_err(staging))?;
    Ok(staging.join("part-000000.parquet"))
}

/// Rows read from the segments and rows written to the compacted file.
struct RowCounts {
    read: u64,
    written: u64,
}

/// Writes every segment's rows to `out_path`, source by source.
fn write_by_source(
    segments: &[PathBuf],
    n_sources: usize,
    run_id: &str,
    out_path: &Path,
) -> Result<RowCounts, SinkError> {
    let out = File::create(out_path).map_err(io_err(out_path))?;
    let schema = trainwatt_trace::writer::samples_schema();
    let mut writer = ArrowWriter::try_new(
        out,
        schema,
        Some(trainwatt_trace::writer::samples_props(
            run_id,
            parquet::basic::Compression::ZSTD(parquet::basic::ZstdLevel::default()),
        )),
    )
    .map_err(pq_err(out_path))?;
    let mut rows = RowCounts {
        read: 0,
        written: 0,
    };
    for source in 0..n_sources {
        for seg in segments {
            for batch in open_batches(seg)? {
                let batch = batch?;
                if source == 0 {
                    rows.read += batch.num_rows() as u64;
                }
                let part = rows_of_source(&batch, seg, source)?;
                if part.num_rows() > 0 {
                    rows.written += part.num_rows() as u64;
                    writer.write(&part).map_err(pq_err(out_path))?;
                }
            }
        }
    }
    writer.close().map_err(pq_err(out_path))?;
    Ok(rows)
}

/// The rows of `batch` (read from `seg`) whose source index is `source`.
fn rows_of_source(
    batch: &RecordBatch,
    seg: &Path,
    source: usize,
) -> Result<RecordBatch, SinkError> {
    let keys = batch
        .column_by_name(sc::SOURCE)
        .and_then(|c| c.as_dictionary_opt::<Int16Type>())
        .map(|d| d.keys().clone())
        .ok_or_else(|| SinkError::Io {
            path: seg.to_path_buf(),
            source: std::io::Error::other("segment has no dictionary `source` column"),
        })?;
    let mask: arrow::array::BooleanArray = keys
        .iter()
        .map(|k| Some(k == Some(source as i16)))
        .collect();
    filter_record_batch(batch, &mask).map_err(|source| SinkError::Arrow {
        path: seg.to_path_buf(),
        source,
    })
}

/// Makes the compacted file durable and exchanges `samples.new/` with
/// `samples/`; the inner error is a file system that cannot exchange.
fn swap_in(
    run_dir: &Path,
    staging: &Path,
    out_path: &Path,
) -> Result<Result<(), nix::Error>, SinkError> {
    File::open(out_path)
        .and_then(|f| f.sync_all())
        .map_err(io_err(out_path))?;
    crate::fsutil::sync_dir(staging).map_err(io_err(staging))?;
    let dir = File::open(run_dir).map_err(io_err(run_dir))?;
    Ok(nix::fcntl::renameat2(
        &dir,
        STAGING_DIR,
        &dir,
        SAMPLES_DIR,
        nix::fcntl::RenameFlags::RENAME_EXCHANGE,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::{write_segment, MarkedSampleRow};
    use arrow::array::Array;

    fn rows(seg: u32, n: u32) -> Vec<MarkedSampleRow> {
        (0..n)
            .flat_map(|i| {
                let t = i64::from(seg * 1000 + i) * 1_000_000;
                (0..3u16).map(move |s| MarkedSampleRow {
                    t_ns: t,
                    source: s,
                    power_w: Some(10.0 * f32::from(s + 1)),
                    energy_uj: (s != 2).then_some(t / 1000 * i64::from(s + 1)),
                    boundary: i % 50 == 7,
                })
            })
            .collect()
    }

    #[test]
    fn compacts_segments_into_one_sorted_file_with_every_row() {
        let d = tempfile::tempdir().unwrap();
        let samples = d.path().join(SAMPLES_DIR);
        fs::create_dir(&samples).unwrap();
        let ids: Vec<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
        for seg in 0..5u32 {
            let mut r = rows(seg, 200);
            write_segment(
                &samples.join(format!("part-{seg:06}.parquet")),
                "r",
                &ids,
                &mut r,
            )
            .unwrap();
        }
        let rep = compact_samples(d.path(), "r", 3).unwrap();
        assert_eq!(rep.skipped, None);
        assert_eq!(rep.segments_in, 5);
        assert_eq!(rep.rows, 3000);
        assert!(rep.bytes_after < rep.bytes_before, "{rep:?}");
        let files = segment_files(&samples).unwrap();
        assert_eq!(files.len(), 1);
        assert!(!d.path().join(STAGING_DIR).exists());
        // Sorted by (source, t_ns) across the whole run.
        let mut last = (-1i16, i64::MIN);
        let mut n = 0;
        let mut marked = 0;
        for b in open_batches(&files[0]).unwrap() {
            let b = b.unwrap();
            // The boundary marks survive compaction, on the same rows.
            let mark = b.column_by_name(sc::BOUNDARY).unwrap().as_boolean();
            let t_ns = b.column(0).as_primitive::<arrow::datatypes::Int64Type>();
            for i in 0..b.num_rows() {
                let tick = t_ns.value(i) / 1_000_000 % 1000;
                assert_eq!(mark.value(i), tick % 50 == 7, "row {i}");
                assert!(!mark.is_null(i));
                marked += usize::from(mark.value(i));
            }
            let k = b.column(1).as_dictionary::<Int16Type>().keys().clone();
            let t = b
                .column(0)
                .as_primitive::<arrow::datatypes::Int64Type>()
                .clone();
            for i in 0..b.num_rows() {
                let cur = (k.value(i), t.value(i));
                assert!(cur > last, "{cur:?} after {last:?}");
                last = cur;
                n += 1;
            }
        }
        assert_eq!(n, 3000);
        // 4 marked ticks per 200-tick segment, 3 sources, 5 segments.
        assert_eq!(marked, 4 * 3 * 5);
    }

    #[test]
    fn a_single_segment_is_left_alone() {
        let d = tempfile::tempdir().unwrap();
        let samples = d.path().join(SAMPLES_DIR);
        fs::create_dir(&samples).unwrap();
        let mut r = rows(0, 10);
        write_segment(
            &samples.join("part-000000.parquet"),
            "r",
            &["a".into(), "b".into(), "c".into()],
            &mut r,
        )
        .unwrap();
        let rep = compact_samples(d.path(), "r", 3).unwrap();
        assert!(rep.skipped.is_some());
        assert_eq!(segment_files(&samples).unwrap().len(), 1);
    }
}
