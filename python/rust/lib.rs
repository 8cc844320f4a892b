//! trainwatt's per-run fold for Python: the module `trainwatt._fold`, which
//! the `trainwatt` package wraps as `trainwatt.reduce_run`.
//!
//! Why an extension and not a port: the fold's per-row checks (a counter
//! compared with the last accepted read, boundary reads, gaps) are a
//! sequential fold that dataframe operations cannot express exactly, and a
//! second implementation would drift. This is the analyzer's own code
//! (`trainwatt-fold`), so a run reduced here, in Spark or by
//! `analyzer reduce` gives the same rows, bit for bit.
//!
//! Tables cross the boundary through the Arrow C stream interface (any
//! object with `__arrow_c_stream__`: pyarrow tables and readers, polars
//! frames), without copies; the fold runs with the GIL released.

// pyo3's macros expand to `unsafe` FFI glue; nothing in this file is unsafe.
#![allow(unsafe_code)]

use arrow::array::RecordBatch;
use arrow::compute::concat_batches;
use arrow::pyarrow::{FromPyArrow, PyArrowType, Table};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use std::path::PathBuf;
use trainwatt_fold::reduced::{reduced_batch, schema};
use trainwatt_fold::{
    fold_tables, EnergyMode, EpochsData, Excluded, LoadOptions, Resolved, RunTables, SegmentData,
    TableSegment,
};

/// Folds one run and returns its rows of the reduced table
/// (docs/reduced-format.md) as a `pyarrow.Table`: one row per epoch and
/// source, or one row naming why the run is excluded.
///
/// `segments` are `(path, data)` pairs in name order; `path` is the
/// segment's file as messages should name it, `data` an Arrow stream
/// object or the Parquet file's `bytes` (so is `epochs`). `manifest_json` and `epochs`
/// are `None` when the run's folder has no such file.
#[pyfunction]
#[pyo3(signature = (run_dir, manifest_json, epochs, segments, energy=None, components=Vec::new(), baseline=false, gap_tolerance_s=1.0))]
#[allow(clippy::too_many_arguments)]
fn reduce_run(
    py: Python<'_>,
    run_dir: PathBuf,
    manifest_json: Option<String>,
    epochs: Option<Bound<'_, PyAny>>,
    segments: Vec<(PathBuf, Bound<'_, PyAny>)>,
    energy: Option<String>,
    components: Vec<String>,
    baseline: bool,
    gap_tolerance_s: f64,
) -> PyResult<PyArrowType<Table>> {
    let (opts, resolved) = load_options(energy, components, baseline, gap_tolerance_s)?;
    let epochs = epochs
        .map(|e| {
            Ok::<_, PyErr>(match parquet_bytes(&e) {
                Some(bytes) => EpochsData::Parquet(bytes),
                None => EpochsData::Batch(one_batch(Table::from_pyarrow_bound(&e)?)?),
            })
        })
        .transpose()?;
    let segments = segments
        .into_iter()
        .map(|(name, t)| {
            let data = match parquet_bytes(&t) {
                Some(bytes) => SegmentData::Parquet(bytes),
                None => SegmentData::Batches(Table::from_pyarrow_bound(&t)?.into_inner().0),
            };
            Ok(TableSegment { name, data })
        })
        .collect::<PyResult<Vec<_>>>()?;
    let tables = RunTables {
        dir: run_dir,
        manifest_json,
        epochs,
        segments,
    };
    let options = schema::options_json(&opts);
    let batch = py
        .detach(|| match fold_tables(&tables, &resolved) {
            Ok(run) => reduced_batch(&[run], &[], &options),
            Err(reason) => {
                let dir = tables.dir.clone();
                reduced_batch(&[], &[Excluded { dir, reason }], &options)
            }
        })
        .map_err(|e| PyValueError::new_err(e.to_string()))?;
    let table = Table::try_new(vec![batch], schema::schema())
        .map_err(|e| PyValueError::new_err(e.to_string()))?;
    Ok(PyArrowType(table))
}

/// The options JSON a reduced table records for these options (what
/// `analyzer reduce` writes; analyses refuse a table folded otherwise).
#[pyfunction]
#[pyo3(signature = (energy=None, components=Vec::new(), baseline=false, gap_tolerance_s=1.0))]
fn options_json(
    energy: Option<String>,
    components: Vec<String>,
    baseline: bool,
    gap_tolerance_s: f64,
) -> PyResult<String> {
    let (opts, _) = load_options(energy, components, baseline, gap_tolerance_s)?;
    Ok(schema::options_json(&opts))
}

/// The reduced table's schema (a `pyarrow.Schema`).
#[pyfunction]
fn reduced_schema() -> PyArrowType<arrow::datatypes::Schema> {
    PyArrowType(schema::schema().as_ref().clone())
}

/// The fold's options from the Python arguments, checked (a `ValueError`
/// naming the fix where they cannot be used).
fn load_options(
    energy: Option<String>,
    components: Vec<String>,
    baseline: bool,
    gap_tolerance_s: f64,
) -> PyResult<(LoadOptions, Resolved)> {
    let opts = LoadOptions {
        energy: energy.as_deref().map(energy_mode).transpose()?,
        components,
        baseline,
        gap_tolerance_s,
        ..LoadOptions::default()
    };
    let resolved = Resolved::new(&opts).map_err(|e| PyValueError::new_err(e.to_string()))?;
    Ok((opts, resolved))
}

fn energy_mode(name: &str) -> PyResult<EnergyMode> {
    schema::mode_from_name(name).ok_or_else(|| {
        PyValueError::new_err(format!(
            "energy={name:?}: use \"counter\", \"integral\" or \"sample-sum\" (or None: counter \
             where every source has one)"
        ))
    })
}

/// The bytes of a Parquet file handed over as `bytes` (decoded by the fold
/// with the analyzer's reader), or `None` for an Arrow stream object.
fn parquet_bytes(obj: &Bound<'_, PyAny>) -> Option<bytes::Bytes> {
    let b = obj.cast::<PyBytes>().ok()?;
    Some(bytes::Bytes::copy_from_slice(b.as_bytes()))
}

/// A whole table as one batch (an epochs file holds a few hundred rows).
fn one_batch(t: Table) -> PyResult<RecordBatch> {
    let (batches, schema) = t.into_inner();
    concat_batches(&schema, &batches).map_err(|e| PyValueError::new_err(e.to_string()))
}

#[pymodule]
fn _fold(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(reduce_run, m)?)?;
    m.add_function(wrap_pyfunction!(options_json, m)?)?;
    m.add_function(wrap_pyfunction!(reduced_schema, m)?)?;
    m.add("REDUCED_VERSION", schema::REDUCED_VERSION)?;
    Ok(())
}
