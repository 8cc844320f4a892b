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
use arrow::array::{ArrayRef, DictionaryArray, Float32Array, Int16Array, Int64Array, StringArray};
use arrow::datatypes::{DataType, Field, Int16Type, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use crossbeam_channel::Receiver;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, Encoding, ZstdLevel};
use parquet::file::metadata::{KeyValue, SortingColumn};
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use trainwatt_trace::schema::{epochs as ec, samples as sc, EPOCHS_FILE, SAMPLES_DIR};
use trainwatt_trace::{EpochRow, SCHEMA_VERSION};

/// One reading as it travels from the sampler to the writer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SampleRow {
    pub t_ns: i64,
    /// Index into the run's source list.
    pub source: u16,
    pub power_w: Option<f32>,
    pub energy_uj: Option<i64>,
}

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

pub(crate) fn samples_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new(sc::T_NS, DataType::Int64, false),
        Field::new(
            sc::SOURCE,
            DataType::Dictionary(Box::new(DataType::Int16), Box::new(DataType::Utf8)),
            false,
        ),
        Field::new(sc::POWER_W, DataType::Float32, true),
        Field::new(sc::ENERGY_UJ, DataType::Int64, true),
    ]))
}

/// zstd level of the per-second segments. Level 1 sets up much smaller
/// match tables than the default 3, and those set-ups (once per column and
/// segment) were most of the writer thread's CPU time; the segments of a
/// cleanly finished run are rewritten at the default level anyway.
pub(crate) const SEGMENT_ZSTD_LEVEL: i32 = 3;

fn base_props(run_id: &str) -> parquet::file::properties::WriterPropertiesBuilder {
    WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::default()))
        .set_key_value_metadata(Some(vec![
            KeyValue::new(
                "trainwatt.schema_version".into(),
                SCHEMA_VERSION.to_string(),
            ),
            KeyValue::new("trainwatt.run_id".into(), run_id.to_string()),
        ]))
}

/// Writer settings of sample files with `compression` (segments use
/// [`SEGMENT_ZSTD_LEVEL`], the compacted file zstd's default).
pub(crate) fn samples_props(run_id: &str, compression: Compression) -> WriterProperties {
    let col = |c: &str| ColumnPath::from(c);
    base_props(run_id)
        .set_compression(compression)
        // Regular timestamps and counters: deltas are small and nearly
        // constant, which DELTA_BINARY_PACKED stores in a few bits.
        .set_column_dictionary_enabled(col(sc::T_NS), false)
        .set_column_encoding(col(sc::T_NS), Encoding::DELTA_BINARY_PACKED)
        .set_column_dictionary_enabled(col(sc::ENERGY_UJ), false)
        .set_column_encoding(col(sc::ENERGY_UJ), Encoding::DELTA_BINARY_PACKED)
        // Floats: splitting the bytes lets zstd find the repeated exponents.
        .set_column_dictionary_enabled(col(sc::POWER_W), false)
        .set_column_encoding(col(sc::POWER_W), Encoding::BYTE_STREAM_SPLIT)
        .set_statistics_enabled(EnabledStatistics::Chunk)
        .set_sorting_columns(Some(vec![
            SortingColumn {
                column_idx: 1,
                descending: false,
                nulls_first: false,
            },
            SortingColumn {
                column_idx: 0,
                descending: false,
                nulls_first: false,
            },
        ]))
        .build()
}

/// Writes one complete, sorted segment file atomically.
pub fn write_segment(
    path: &Path,
    run_id: &str,
    source_ids: &[String],
    rows: &mut [SampleRow],
) -> Result<(), SinkError> {
    rows.sort_by_key(|r| (r.source, r.t_ns));
    let arrow_err = |source| SinkError::Arrow {
        path: path.to_path_buf(),
        source,
    };
    let keys = Int16Array::from_iter_values(rows.iter().map(|r| r.source as i16));
    let values = Arc::new(StringArray::from_iter_values(source_ids.iter()));
    let source: ArrayRef =
        Arc::new(DictionaryArray::<Int16Type>::try_new(keys, values).map_err(arrow_err)?);
    let cols: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.t_ns))),
        source,
        Arc::new(Float32Array::from_iter(rows.iter().map(|r| r.power_w))),
        Arc::new(Int64Array::from_iter(rows.iter().map(|r| r.energy_uj))),
    ];
    let batch = RecordBatch::try_new(samples_schema(), cols).map_err(arrow_err)?;
    // 1 is a valid zstd level (1..=22); the fallback is never taken.
    let level = ZstdLevel::try_new(SEGMENT_ZSTD_LEVEL).unwrap_or_default();
    write_batch(path, batch, samples_props(run_id, Compression::ZSTD(level)))
}

fn write_batch(path: &Path, batch: RecordBatch, props: WriterProperties) -> Result<(), SinkError> {
    let mut parquet_err = None;
    let io = fsutil::write_atomic(path, |f| {
        let result = (|| {
            let mut w = ArrowWriter::try_new(f.try_clone()?, batch.schema(), Some(props))?;
            w.write(&batch)?;
            w.close()?;
            Ok::<(), parquet::errors::ParquetError>(())
        })();
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
    let schema = Arc::new(Schema::new(vec![
        Field::new(ec::EPOCH, DataType::Int32, false),
        Field::new(ec::START_NS, DataType::Int64, false),
        Field::new(ec::END_NS, DataType::Int64, false),
        Field::new(ec::TRAIN_ACC, DataType::Float64, true),
        Field::new(ec::TEST_ACC, DataType::Float64, true),
        Field::new(ec::TRAIN_LOSS, DataType::Float64, true),
        Field::new(ec::TEST_LOSS, DataType::Float64, true),
        Field::new(ec::EXAMPLES, DataType::Int64, true),
    ]));
    let f64col = |g: fn(&EpochRow) -> Option<f64>| -> ArrayRef {
        Arc::new(arrow::array::Float64Array::from_iter(rows.iter().map(g)))
    };
    let cols: Vec<ArrayRef> = vec![
        Arc::new(arrow::array::Int32Array::from_iter_values(
            rows.iter().map(|r| r.epoch as i32),
        )),
        Arc::new(Int64Array::from_iter_values(
            rows.iter().map(|r| r.start_ns),
        )),
        Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.end_ns))),
        f64col(|r| r.train_acc),
        f64col(|r| r.test_acc),
        f64col(|r| r.train_loss),
        f64col(|r| r.test_loss),
        Arc::new(Int64Array::from_iter(rows.iter().map(|r| r.examples))),
    ];
    let batch = RecordBatch::try_new(schema, cols).map_err(|source| SinkError::Arrow {
        path: path.clone(),
        source,
    })?;
    write_batch(&path, batch, base_props(run_id).build())
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

/// The writer thread's loop: collect batches, close a segment every
/// `flush_interval` and once more when the channel closes. Stops at the
/// first write error (returned with the rows written so far intact on disk);
/// `on_segment` is told after each segment (for the manifest's counters).
pub fn run_writer(
    run_dir: &Path,
    run_id: &str,
    source_ids: &[String],
    rx: Receiver<Vec<SampleRow>>,
    flush_interval: Duration,
    on_segment: &mut dyn FnMut(&SinkReport),
) -> Result<SinkReport, SinkError> {
    let dir = run_dir.join(SAMPLES_DIR);
    std::fs::create_dir_all(&dir).map_err(|source| SinkError::Io {
        path: dir.clone(),
        source,
    })?;
    let mut report = SinkReport::default();
    let mut pending: Vec<SampleRow> = Vec::new();
    let mut last_flush = Instant::now();
    let mut flush = |pending: &mut Vec<SampleRow>, report: &mut SinkReport| {
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
    loop {
        let wait = flush_interval.saturating_sub(last_flush.elapsed());
        match rx.recv_timeout(wait) {
            Ok(batch) => pending.extend(batch),
            Err(crossbeam_channel::RecvTimeoutError::Timeout) => {}
            Err(crossbeam_channel::RecvTimeoutError::Disconnected) => break,
        }
        if last_flush.elapsed() >= flush_interval {
            flush(&mut pending, &mut report)?;
            last_flush = Instant::now();
        }
    }
    flush(&mut pending, &mut report)?;
    report.cpu_s = crate::cputime::thread_cpu_s();
    Ok(report)
}
