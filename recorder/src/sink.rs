//! The Parquet side of a run: power-sample segments and epoch rows.
//!
//! Samples arrive from the sampler thread in batches over a bounded channel
//! and are written by a separate writer thread, so the sampler never waits
//! on the disk. Every `flush_interval` (1 s by default) the writer closes a
//! complete segment `samples/part-NNNNNN.parquet` (written under a temporary
//! name and renamed), so a SIGKILL loses at most the last interval and what
//! is on disk always reads. Segments are sorted by (source, t_ns), which
//! with delta encoding of the integer columns is what makes them compact.

use crate::fsutil;
use arrow::record_batch::RecordBatch;
use crossbeam_channel::Receiver;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use trainwatt_trace::schema::{EPOCHS_FILE, SAMPLES_DIR};
use trainwatt_trace::writer;
use trainwatt_trace::EpochRow;

/// One reading as it travels from the sampler to the writer: the format's
/// row type, with its `boundary` mark.
pub use trainwatt_trace::writer::MarkedSampleRow;

/// Errors writing a run's Parquet files.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    #[error(
        "writing {path}: {source} (everything written before this file is intact; \
         free space or choose another --out)"
    )]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("encoding {path}: {source} (everything written before this file is intact)")]
    Parquet {
        path: PathBuf,
        #[source]
        source: parquet::errors::ParquetError,
    },
    #[error("building the Arrow batch for {path}: {source}")]
    Arrow {
        path: PathBuf,
        #[source]
        source: arrow::error::ArrowError,
    },
}

/// zstd level of the per-second segments. Level 1 sets up much smaller
/// match tables than the default 3, and those set-ups (once per column and
/// segment) were most of the writer thread's CPU time; the segments of a
/// cleanly finished run are rewritten at the default level anyway.
pub(crate) const SEGMENT_ZSTD_LEVEL: i32 = 1;

/// Writes one complete, sorted segment file atomically.
pub fn write_segment(
    path: &Path,
    run_id: &str,
    source_ids: &[String],
    rows: &mut [MarkedSampleRow],
) -> Result<(), SinkError> {
    rows.sort_by_key(|r| (r.source, r.t_ns));
    let batch =
        writer::samples_batch_marked(source_ids, rows).map_err(|source| SinkError::Arrow {
            path: path.to_path_buf(),
            source,
        })?;
    // 1 is a valid zstd level (1..=22); the fallback is never taken.
    let level = ZstdLevel::try_new(SEGMENT_ZSTD_LEVEL).unwrap_or_default();
    write_batch(
        path,
        batch,
        writer::samples_props(run_id, Compression::ZSTD(level)),
    )
}

fn write_batch(path: &Path, batch: RecordBatch, props: WriterProperties) -> Result<(), SinkError> {
    let mut parquet_err = None;
    let io = fsutil::write_atomic(path, |f| {
        let result = f
            .try_clone()
            .map_err(parquet::errors::ParquetError::from)
            .and_then(|f| writer::write_batch(f, &batch, props).map(drop));
        result.map_err(|e| {
            let msg = e.to_string();
            parquet_err = Some(e);
            std::io::Error::other(msg)
        })
    });
    match (io, parquet_err) {
        (Ok(()), _) => Ok(()),
        // The encoder only passes on what the file said (e.g. "No space
        // left on device"): report it as the I/O error it is.
        (Err(_), Some(parquet::errors::ParquetError::External(e))) => match e.downcast() {
            Ok(io) => Err(SinkError::Io {
                path: path.to_path_buf(),
                source: *io,
            }),
            Err(e) => Err(SinkError::Parquet {
                path: path.to_path_buf(),
                source: parquet::errors::ParquetError::External(e),
            }),
        },
        (Err(_), Some(source)) => Err(SinkError::Parquet {
            path: path.to_path_buf(),
            source,
        }),
        (Err(source), None) => Err(SinkError::Io {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// Rewrites `epochs.parquet` of a run atomically with all epochs so far.
pub fn write_epochs(run_dir: &Path, run_id: &str, rows: &[EpochRow]) -> Result<(), SinkError> {
    let path = run_dir.join(EPOCHS_FILE);
    let batch = writer::epochs_batch(rows).map_err(|source| SinkError::Arrow {
        path: path.clone(),
        source,
    })?;
    write_batch(&path, batch, writer::epochs_props(run_id))
}

/// What the writer thread did, returned when it ends.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct SinkReport {
    pub segments: u64,
    pub rows: u64,
    pub bytes: u64,
    /// CPU time the writer thread used, s (user + system).
    pub cpu_s: Option<f64>,
}

/// The writer thread's loop: close a segment every `flush_interval` with
/// the batches that arrived, and once more when the channel closes. Stops
/// at the first write error (returned with the rows written so far intact
/// on disk); `on_segment` is told after each segment (for the manifest's
/// counters).
///
/// Why it sleeps until the flush rather than waking for every batch: a
/// blocking receive wakes the thread 20 times a second at 1 kHz (10 at
/// 10 Hz), and each wake spins and yields before it parks, which was most
/// of this thread's cost outside the segment writes. The channel holds
/// about 2 s of batches (the sampler keeps rows locally when it is full),
/// so draining it once per flush loses nothing. Whoever ends the sampler
/// unparks this thread, so the last segment is written at once.
pub fn run_writer(
    run_dir: &Path,
    run_id: &str,
    source_ids: &[String],
    rx: Receiver<Vec<MarkedSampleRow>>,
    flush_interval: Duration,
    on_segment: &mut dyn FnMut(&SinkReport),
) -> Result<SinkReport, SinkError> {
    let dir = run_dir.join(SAMPLES_DIR);
    std::fs::create_dir_all(&dir).map_err(|source| SinkError::Io {
        path: dir.clone(),
        source,
    })?;
    let mut report = SinkReport::default();
    let mut pending: Vec<MarkedSampleRow> = Vec::new();
    let mut flush = |pending: &mut Vec<MarkedSampleRow>, report: &mut SinkReport| {
        if pending.is_empty() {
            return Ok(());
        }
        let path = dir.join(format!("part-{:06}.parquet", report.segments));
        write_segment(&path, run_id, source_ids, pending)?;
        report.segments += 1;
        report.rows += pending.len() as u64;
        report.bytes += std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        pending.clear();
        on_segment(report);
        Ok::<(), SinkError>(())
    };
    let mut next_flush = Instant::now() + flush_interval;
    loop {
        let closed = loop {
            match rx.try_recv() {
                Ok(batch) => pending.extend(batch),
                Err(crossbeam_channel::TryRecvError::Empty) => break false,
                Err(crossbeam_channel::TryRecvError::Disconnected) => break true,
            }
        };
        if closed {
            break;
        }
        let now = Instant::now();
        if now >= next_flush {
            flush(&mut pending, &mut report)?;
            next_flush = Instant::now() + flush_interval;
        } else {
            std::thread::park_timeout(next_flush - now);
        }
    }
    flush(&mut pending, &mut report)?;
    report.cpu_s = crate::cputime::thread_cpu_s();
    Ok(report)
}
