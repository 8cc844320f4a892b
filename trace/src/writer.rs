//! Writing the format's Parquet files (feature `arrow`): the Arrow schemas,
//! the writer settings, and the batches of sample and epoch rows. The
//! recorder's sink and compaction and the importer all write through this
//! module, so a recorded run and an imported one have the same types,
//! encodings and metadata by construction (they had drifted when each kept
//! its own copy: `as i32` in one, `i32::try_from` in the other).
//!
//! Readers need none of it: any Parquet reader reads these files, and the
//! analyzer accepts any integer width, codec or string type (see the
//! format's documentation).

use crate::schema::{epochs as ec, samples as sc};
use crate::{EpochRow, SCHEMA_VERSION};
use arrow::array::{
    ArrayRef, BooleanArray, DictionaryArray, Float32Array, Float64Array, Int16Array, Int32Array,
    Int64Array, StringArray,
};
use arrow::datatypes::{DataType, Field, Int16Type, Schema, SchemaRef};
use arrow::error::ArrowError;
use arrow::record_batch::RecordBatch;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, Encoding, ZstdLevel};
use parquet::errors::ParquetError;
use parquet::file::metadata::{KeyValue, SortingColumn};
use parquet::file::properties::{EnabledStatistics, WriterProperties, WriterPropertiesBuilder};
use parquet::schema::types::ColumnPath;
use std::sync::Arc;

/// One power reading as a row of a samples file, without a `boundary`
/// mark (written as false): what an importer writes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SampleRow {
    pub t_ns: i64,
    /// Index into the run's source list (the `source` dictionary).
    pub source: u16,
    pub power_w: Option<f32>,
    pub energy_uj: Option<i64>,
}

/// One power reading with its `boundary` mark (format 1.1): what the
/// recorder writes. A separate type rather than a field of [`SampleRow`] so
/// that code building `SampleRow`s (the importer) is unchanged by 1.1.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MarkedSampleRow {
    pub t_ns: i64,
    /// Index into the run's source list (the `source` dictionary).
    pub source: u16,
    pub power_w: Option<f32>,
    pub energy_uj: Option<i64>,
    /// A boundary read: taken at an epoch's start or end, `t_ns` equal to it.
    pub boundary: bool,
}

impl From<SampleRow> for MarkedSampleRow {
    fn from(r: SampleRow) -> Self {
        Self {
            t_ns: r.t_ns,
            source: r.source,
            power_w: r.power_w,
            energy_uj: r.energy_uj,
            boundary: false,
        }
    }
}

/// What [`samples_batch`] needs of a row, so both row types share it.
trait AsRow {
    fn marked(&self) -> MarkedSampleRow;
}

impl AsRow for SampleRow {
    fn marked(&self) -> MarkedSampleRow {
        (*self).into()
    }
}

impl AsRow for MarkedSampleRow {
    fn marked(&self) -> MarkedSampleRow {
        *self
    }
}

/// The samples files' schema: `source` is a dictionary with Int16 keys.
pub fn samples_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new(sc::T_NS, DataType::Int64, false),
        Field::new(
            sc::SOURCE,
            DataType::Dictionary(Box::new(DataType::Int16), Box::new(DataType::Utf8)),
            false,
        ),
        Field::new(sc::POWER_W, DataType::Float32, true),
        Field::new(sc::ENERGY_UJ, DataType::Int64, true),
        Field::new(sc::BOUNDARY, DataType::Boolean, true),
    ]))
}

/// The epochs file's schema.
pub fn epochs_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new(ec::EPOCH, DataType::Int32, false),
        Field::new(ec::START_NS, DataType::Int64, false),
        Field::new(ec::END_NS, DataType::Int64, false),
        Field::new(ec::TRAIN_ACC, DataType::Float64, true),
        Field::new(ec::TEST_ACC, DataType::Float64, true),
        Field::new(ec::TRAIN_LOSS, DataType::Float64, true),
        Field::new(ec::TEST_LOSS, DataType::Float64, true),
        Field::new(ec::EXAMPLES, DataType::Int64, true),
    ]))
}

/// Settings every file of a run shares: zstd at its default level and the
/// `trainwatt.*` key-value metadata.
fn base_props(run_id: &str) -> WriterPropertiesBuilder {
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

/// Writer settings of a samples file with `compression`: delta-encoded
/// integers (regular timestamps and counters need a few bits per row),
/// byte-stream-split floats (zstd then finds the repeated exponents), chunk
/// statistics (the reader checks segment order from them) and the sort
/// order (source, t_ns).
pub fn samples_props(run_id: &str, compression: Compression) -> WriterProperties {
    let col = |c: &str| ColumnPath::from(c);
    let sorted = |column_idx| SortingColumn {
        column_idx,
        descending: false,
        nulls_first: false,
    };
    base_props(run_id)
        .set_compression(compression)
        .set_column_dictionary_enabled(col(sc::T_NS), false)
        .set_column_encoding(col(sc::T_NS), Encoding::DELTA_BINARY_PACKED)
        .set_column_dictionary_enabled(col(sc::ENERGY_UJ), false)
        .set_column_encoding(col(sc::ENERGY_UJ), Encoding::DELTA_BINARY_PACKED)
        .set_column_dictionary_enabled(col(sc::POWER_W), false)
        .set_column_encoding(col(sc::POWER_W), Encoding::BYTE_STREAM_SPLIT)
        .set_column_dictionary_enabled(col(sc::BOUNDARY), false)
        .set_statistics_enabled(EnabledStatistics::Chunk)
        .set_sorting_columns(Some(vec![sorted(1), sorted(0)]))
        .build()
}

/// Writer settings of an epochs file.
pub fn epochs_props(run_id: &str) -> WriterProperties {
    base_props(run_id).build()
}

/// A samples batch of `rows` (in the order given) whose `source` keys
/// index `source_ids`; `boundary` is false on every row. A key that does
/// not fit Int16 or has no id is an error, never a wrapped number.
pub fn samples_batch(source_ids: &[String], rows: &[SampleRow]) -> Result<RecordBatch, ArrowError> {
    rows_batch(source_ids, rows)
}

/// [`samples_batch`] for rows that carry their `boundary` mark.
pub fn samples_batch_marked(
    source_ids: &[String],
    rows: &[MarkedSampleRow],
) -> Result<RecordBatch, ArrowError> {
    rows_batch(source_ids, rows)
}

fn rows_batch<R: AsRow>(source_ids: &[String], rows: &[R]) -> Result<RecordBatch, ArrowError> {
    let rows = rows.iter().map(AsRow::marked);
    let keys = rows
        .clone()
        .map(|r| {
            i16::try_from(r.source).map_err(|_| {
                ArrowError::InvalidArgumentError(format!(
                    "source index {} does not fit the Int16 dictionary key",
                    r.source
                ))
            })
        })
        .collect::<Result<Int16Array, _>>()?;
    let values = Arc::new(StringArray::from_iter_values(source_ids.iter()));
    let source: ArrayRef = Arc::new(DictionaryArray::<Int16Type>::try_new(keys, values)?);
    let cols: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from_iter_values(rows.clone().map(|r| r.t_ns))),
        source,
        Arc::new(Float32Array::from_iter(rows.clone().map(|r| r.power_w))),
        Arc::new(Int64Array::from_iter(rows.clone().map(|r| r.energy_uj))),
        Arc::new(BooleanArray::from_iter(rows.map(|r| Some(r.boundary)))),
    ];
    RecordBatch::try_new(samples_schema(), cols)
}

/// An epochs batch of `rows`. An epoch number beyond Int32 is an error.
pub fn epochs_batch(rows: &[EpochRow]) -> Result<RecordBatch, ArrowError> {
    let epochs = rows
        .iter()
        .map(|r| {
            i32::try_from(r.epoch).map_err(|_| {
                ArrowError::InvalidArgumentError(format!("epoch {} does not fit Int32", r.epoch))
            })
        })
        .collect::<Result<Int32Array, _>>()?;
    let f64col = |g: fn(&EpochRow) -> Option<f64>| -> ArrayRef {
        Arc::new(Float64Array::from_iter(rows.iter().map(g)))
    };
    let cols: Vec<ArrayRef> = vec![
        Arc::new(epochs),
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
    RecordBatch::try_new(epochs_schema(), cols)
}

/// Encodes `batch` into `file` with `props`; returns the file (flushed by
/// the encoder, not yet synced: the caller decides how it reaches disk).
pub fn write_batch<W: std::io::Write + Send>(
    file: W,
    batch: &RecordBatch,
    props: WriterProperties,
) -> Result<W, ParquetError> {
    let mut w = ArrowWriter::try_new(file, batch.schema(), Some(props))?;
    w.write(batch)?;
    w.into_inner()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_that_do_not_fit_are_errors() {
        let ids = vec!["a".to_string()];
        let row = |source| SampleRow {
            t_ns: 1,
            source,
            power_w: Some(1.0),
            energy_uj: None,
        };
        assert!(samples_batch(&ids, &[row(0)]).is_ok());
        // A key with no id, and a key beyond Int16.
        assert!(samples_batch(&ids, &[row(1)]).is_err());
        assert!(samples_batch(&ids, &[row(40_000)]).is_err());
        let epoch = |epoch| EpochRow {
            epoch,
            start_ns: 0,
            end_ns: 1,
            train_acc: None,
            test_acc: Some(0.5),
            train_loss: None,
            test_loss: None,
            examples: None,
        };
        assert_eq!(epochs_batch(&[epoch(1)]).unwrap().num_rows(), 1);
        let e = epochs_batch(&[epoch(u32::MAX)]).unwrap_err();
        assert!(e.to_string().contains("does not fit Int32"), "{e}");
    }

    #[test]
    fn a_written_file_reads_back_with_its_metadata() {
        let ids = vec!["gpu".to_string(), "cpu".to_string()];
        let rows: Vec<SampleRow> = (0..4)
            .map(|k| SampleRow {
                t_ns: k * 10,
                source: (k % 2) as u16,
                power_w: Some(k as f32),
                energy_uj: Some(k * 100),
            })
            .collect();
        let batch = samples_batch(&ids, &rows).unwrap();
        let bytes =
            write_batch(Vec::new(), &batch, samples_props("r1", Compression::SNAPPY)).unwrap();
        let reader =
            parquet::file::reader::SerializedFileReader::new(bytes::Bytes::from(bytes)).unwrap();
        use parquet::file::reader::FileReader;
        let meta = reader.metadata().file_metadata();
        assert_eq!(meta.num_rows(), 4);
        let kv = meta.key_value_metadata().unwrap();
        assert!(kv
            .iter()
            .any(|k| k.key == "trainwatt.run_id" && k.value.as_deref() == Some("r1")));
    }

    /// 1.1's `boundary` column reads back as written, plain rows read as
    /// false, and a 1.0 reader that projects the columns it knows reads the
    /// file unchanged.
    #[test]
    fn boundary_marks_round_trip_and_old_readers_ignore_them() {
        use arrow::array::AsArray;
        use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
        use parquet::arrow::ProjectionMask;
        let ids = vec!["gpu".to_string()];
        let rows: Vec<MarkedSampleRow> = (0..5)
            .map(|k| MarkedSampleRow {
                t_ns: k * 10,
                source: 0,
                power_w: Some(1.0),
                energy_uj: Some(k),
                boundary: k == 2,
            })
            .collect();
        let props = || samples_props("r", Compression::SNAPPY);
        let bytes = bytes::Bytes::from(
            write_batch(
                Vec::new(),
                &samples_batch_marked(&ids, &rows).unwrap(),
                props(),
            )
            .unwrap(),
        );
        let read = |bytes: bytes::Bytes, names: Option<&[&str]>| {
            let b = ParquetRecordBatchReaderBuilder::try_new(bytes).unwrap();
            let b = match names {
                Some(n) => {
                    let mask = ProjectionMask::columns(b.parquet_schema(), n.iter().copied());
                    b.with_projection(mask)
                }
                None => b,
            };
            b.build().unwrap().next().unwrap().unwrap()
        };
        let all = read(bytes.clone(), None);
        let marks: Vec<Option<bool>> = all
            .column_by_name(sc::BOUNDARY)
            .unwrap()
            .as_boolean()
            .iter()
            .collect();
        assert_eq!(marks, [false, false, true, false, false].map(Some));
        let old = read(
            bytes,
            Some(&[sc::T_NS, sc::SOURCE, sc::POWER_W, sc::ENERGY_UJ]),
        );
        assert_eq!(old.num_columns(), 4);
        assert!(old.column_by_name(sc::BOUNDARY).is_none());
        let plain = [SampleRow {
            t_ns: 1,
            source: 0,
            power_w: None,
            energy_uj: None,
        }];
        let b = samples_batch(&ids, &plain).unwrap();
        assert_eq!(b.schema(), samples_schema());
        assert!(!b
            .column_by_name(sc::BOUNDARY)
            .unwrap()
            .as_boolean()
            .value(0));
    }
}
