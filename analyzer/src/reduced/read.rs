//! Reading reduced tables back into runs: a file, several files, or a
//! folder of part files (what Spark or N shard jobs write), in any row
//! order. Each run's energies are rebuilt from its per-epoch sums by
//! `trainwatt_fold::epoch_energy`, the function the archive loader uses,
//! so an analysis prints the same numbers from either.

use super::schema::{self as c, mode_from_name};
use crate::archive::{epoch_energy, SourceEpochs};
use crate::archive::{ExclusionKind, ExclusionReason, LoadOptions, Loaded};
use crate::model::{EnergyMode, Excluded, RunData};
use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{Float64Type, Int32Type, Int64Type};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::file::reader::{FileReader, SerializedFileReader};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use trainwatt_trace::{EpochRow, Manifest, Method};

/// A reduced file's version, options and warnings: from our footer
/// metadata, or (a table that another engine wrote, since 1.1) from its
/// `reduced_version` and `reduced_options` columns' first row. Empty when
/// the file is neither, or cannot be read.
fn metadata(path: &Path) -> BTreeMap<String, String> {
    let Ok(f) = std::fs::File::open(path) else {
        return BTreeMap::new();
    };
    let Ok(r) = SerializedFileReader::new(f) else {
        return BTreeMap::new();
    };
    let mut kv: BTreeMap<String, String> = r
        .metadata()
        .file_metadata()
        .key_value_metadata()
        .into_iter()
        .flatten()
        .filter_map(|k| Some((k.key.clone(), k.value.clone()?)))
        .collect();
    if !kv.contains_key(c::KEY_VERSION) {
        kv.extend(metadata_columns(path).unwrap_or_default());
    }
    kv
}

/// The version and options columns' first row, under the footer keys.
fn metadata_columns(path: &Path) -> Option<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    let keys = [
        (c::VERSION_COL, c::KEY_VERSION),
        (c::OPTIONS_COL, c::KEY_OPTIONS),
    ];
    let columns: Vec<&str> = keys.iter().map(|(col, _)| *col).collect();
    trainwatt_fold::for_each_batch(path, &columns, &[], |batch| {
        if out.is_empty() && batch.num_rows() > 0 {
            for (col, key) in keys {
                let a = trainwatt_fold::column_as(batch, col, &arrow::datatypes::DataType::Utf8)?;
                let a = a.as_string::<i32>();
                if a.is_valid(0) {
                    out.insert(key.to_string(), a.value(0).to_string());
                }
            }
        }
        Ok(())
    })
    .ok()?;
    Some(out)
}

/// The reduced-table version in a Parquet file's metadata, if it is one.
fn version(path: &Path) -> Option<String> {
    metadata(path).remove(c::KEY_VERSION)
}

/// The part files of a reduced table at `path` (a file, or a folder whose
/// `*.parquet` files are reduced tables), or `None` when it is not one.
fn parts(path: &Path) -> Option<Vec<PathBuf>> {
    if path.is_file() {
        return version(path).map(|_| vec![path.to_path_buf()]);
    }
    if !path.is_dir() || path.join(trainwatt_trace::schema::MANIFEST_FILE).exists() {
        return None;
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(path)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "parquet") && p.is_file())
        .collect();
    files.sort();
    (!files.is_empty() && files.iter().all(|f| version(f).is_some())).then_some(files)
}

/// Whether `path` is a reduced table (a file or a folder of part files).
pub fn is_reduced(path: &Path) -> bool {
    parts(path).is_some()
}

/// One row of the table as read.
#[derive(Debug, Default, Clone)]
struct Row {
    s: BTreeMap<&'static str, String>,
    i: BTreeMap<&'static str, i64>,
    f: BTreeMap<&'static str, f64>,
    b: BTreeMap<&'static str, bool>,
}

const STRINGS: [&str; 17] = [
    c::RUN_DIR,
    c::RUN_ID,
    c::PLATFORM,
    c::DATASET,
    c::ARCH,
    c::PROTOCOL,
    c::STATUS,
    c::ENERGY_MODE,
    c::MANIFEST_JSON,
    c::WARNINGS_JSON,
    c::EXCLUDED_KIND,
    c::EXCLUDED_FILE,
    c::EXCLUDED_MESSAGE,
    c::SOURCE_ID,
    c::SOURCE_DOMAIN,
    c::SOURCE_METHOD,
    c::RUN_DIR,
];
const INTS: [&str; 10] = [
    c::WIDTH,
    c::SEED,
    c::FOLD,
    c::EXCLUDED_ROW,
    c::START_NS,
    c::END_NS,
    c::EXAMPLES,
    c::N_POWER,
    c::N_COUNTER,
    c::EPOCH,
];
const FLOATS: [&str; 10] = [
    c::BASELINE_W,
    c::TRAIN_ACC,
    c::TEST_ACC,
    c::TRAIN_LOSS,
    c::TEST_LOSS,
    c::COUNTER_J,
    c::INTEGRAL_BIN_J,
    c::INTEGRAL_J,
    c::SAMPLE_SUM_BIN_W,
    c::SAMPLE_SUM_W,
];
const BOOLS: [&str; 3] = [c::BOUNDARY_READS, c::MODELLED, c::BOUNDARY_EXACT];

/// The rows of one batch (any integer width the writer chose is cast).
fn rows(batch: &RecordBatch, out: &mut Vec<Row>) -> Result<(), String> {
    let cast = |name: &str,
                t: &arrow::datatypes::DataType|
     -> Result<Option<arrow::array::ArrayRef>, String> {
        match batch.column_by_name(name) {
            None => Ok(None),
            Some(a) => arrow::compute::cast(a, t)
                .map(Some)
                .map_err(|e| format!("column `{name}`: {e}")),
        }
    };
    use arrow::datatypes::DataType as T;
    let strings: Vec<_> = STRINGS
        .iter()
        .map(|n| cast(n, &T::Utf8).map(|a| (*n, a)))
        .collect::<Result<_, _>>()?;
    let ints: Vec<_> = INTS
        .iter()
        .map(|n| cast(n, &T::Int64).map(|a| (*n, a)))
        .collect::<Result<_, _>>()?;
    let floats: Vec<_> = FLOATS
        .iter()
        .map(|n| cast(n, &T::Float64).map(|a| (*n, a)))
        .collect::<Result<_, _>>()?;
    let bools: Vec<_> = BOOLS
        .iter()
        .map(|n| cast(n, &T::Boolean).map(|a| (*n, a)))
        .collect::<Result<_, _>>()?;
    let source_index = cast(c::SOURCE_INDEX, &T::Int32)?;
    for i in 0..batch.num_rows() {
        let mut r = Row::default();
        for (n, a) in &strings {
            if let Some(a) = a.as_ref().filter(|a| a.is_valid(i)) {
                r.s.insert(n, a.as_string::<i32>().value(i).to_string());
            }
        }
        for (n, a) in &ints {
            if let Some(a) = a.as_ref().filter(|a| a.is_valid(i)) {
                r.i.insert(n, a.as_primitive::<Int64Type>().value(i));
            }
        }
        if let Some(a) = source_index.as_ref().filter(|a| a.is_valid(i)) {
            r.i.insert(
                c::SOURCE_INDEX,
                i64::from(a.as_primitive::<Int32Type>().value(i)),
            );
        }
        for (n, a) in &floats {
            if let Some(a) = a.as_ref().filter(|a| a.is_valid(i)) {
                r.f.insert(n, a.as_primitive::<Float64Type>().value(i));
            }
        }
        for (n, a) in &bools {
            if let Some(a) = a.as_ref().filter(|a| a.is_valid(i)) {
                r.b.insert(n, a.as_boolean().value(i));
            }
        }
        out.push(r);
    }
    Ok(())
}

/// Errors reading reduced tables.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {message}", path = path.display())]
pub struct ReadError {
    pub path: PathBuf,
    pub message: String,
}

/// Reads the reduced tables at `paths` (each a file or a folder of parts),
/// checking that they were reduced with `opts`.
pub fn read_reduced(paths: &[PathBuf], opts: &LoadOptions) -> Result<Loaded, ReadError> {
    let want = c::options_json(opts);
    let mut all = Vec::new();
    let mut warnings: Vec<String> = Vec::new();
    for p in paths {
        let err = |message: String| ReadError {
            path: p.clone(),
            message,
        };
        let files = parts(p).ok_or_else(|| err("not a reduced table".into()))?;
        for f in files {
            let ferr = |message: String| ReadError {
                path: f.clone(),
                message,
            };
            let mut meta = metadata(&f);
            let v = meta.remove(c::KEY_VERSION).unwrap_or_default();
            if !v.starts_with("1.") {
                return Err(ferr(format!(
                    "reduced-table version {v}: this analyzer reads 1.x (upgrade trainwatt)"
                )));
            }
            let got = meta.remove(c::KEY_OPTIONS).unwrap_or_default();
            if got != want {
                return Err(ferr(format!(
                    "reduced with the load options {got}, but this analysis asks for {want}: \
                     run `analyzer reduce` again with the same --energy, --components, \
                     --baseline and --gap-tolerance"
                )));
            }
            let w: Vec<String> = meta
                .remove(c::KEY_WARNINGS)
                .and_then(|t| serde_json::from_str(&t).ok())
                .unwrap_or_default();
            for x in w {
                if !warnings.contains(&x) {
                    warnings.push(x);
                }
            }
            let file = std::fs::File::open(&f).map_err(|e| ferr(e.to_string()))?;
            let reader = ParquetRecordBatchReaderBuilder::try_new(file)
                .and_then(|b| b.build())
                .map_err(|e| ferr(e.to_string()))?;
            for batch in reader {
                let batch = batch.map_err(|e| ferr(e.to_string()))?;
                rows(&batch, &mut all).map_err(ferr)?;
            }
        }
    }
    let mut by_run: BTreeMap<String, Vec<Row>> = BTreeMap::new();
    for r in all {
        let dir = r.s.get(c::RUN_DIR).cloned().unwrap_or_default();
        by_run.entry(dir).or_default().push(r);
    }
    let mut loaded = Loaded {
        warnings,
        ..Loaded::default()
    };
    for (dir, rows) in by_run {
        let at = PathBuf::from(&dir);
        match rebuild(&at, rows) {
            Ok(Rebuilt::Run(run)) => loaded.runs.push(*run),
            Ok(Rebuilt::Excluded(x)) => loaded.excluded.push(x),
            Err(message) => return Err(ReadError { path: at, message }),
        }
    }
    loaded.runs.sort_by(|a, b| a.dir.cmp(&b.dir));
    Ok(loaded)
}

enum Rebuilt {
    Run(Box<RunData>),
    Excluded(Excluded),
}

/// One run (or exclusion) from its rows.
fn rebuild(dir: &Path, mut rows: Vec<Row>) -> Result<Rebuilt, String> {
    if let Some(x) = rows.iter().find(|r| r.s.contains_key(c::EXCLUDED_KIND)) {
        return Ok(Rebuilt::Excluded(excluded_run(dir, x)?));
    }
    rows.sort_by_key(|r| {
        (
            r.i.get(c::SOURCE_INDEX).copied(),
            r.i.get(c::EPOCH).copied(),
        )
    });
    let first = rows.first().ok_or("no rows")?;
    let text = first.s.get(c::MANIFEST_JSON).ok_or("no manifest_json")?;
    let manifest =
        Manifest::from_json(&dir.join("manifest.json"), text).map_err(|e| e.to_string())?;
    let warnings: Vec<String> = first
        .s
        .get(c::WARNINGS_JSON)
        .and_then(|t| serde_json::from_str(t).ok())
        .unwrap_or_default();
    let mode_name = first.s.get(c::ENERGY_MODE).cloned().unwrap_or_default();
    let mode =
        mode_from_name(&mode_name).ok_or_else(|| format!("unknown energy_mode `{mode_name}`"))?;
    let boundary_reads = first.b.get(c::BOUNDARY_READS).copied().unwrap_or(false);
    let baseline_w = first.f.get(c::BASELINE_W).copied();
    let (sources, epochs, modelled) = source_sums(&rows)?;
    let all_counters = sources.iter().all(|s| {
        manifest
            .sources
            .iter()
            .any(|i| i.id == s.id && i.method == Method::MeasuredCounter)
    });
    let physical = match mode {
        EnergyMode::SampleSum if all_counters => EnergyMode::Counter,
        EnergyMode::SampleSum => EnergyMode::Integral,
        m => m,
    };
    let epochs = epoch_energy(&sources, &epochs, physical, baseline_w);
    Ok(Rebuilt::Run(Box::new(RunData {
        dir: dir.to_path_buf(),
        manifest,
        energy_mode: mode,
        modelled,
        boundary_reads,
        baseline_w,
        sources,
        epochs,
        warnings,
    })))
}

/// The excluded run that row `x` describes.
fn excluded_run(dir: &Path, x: &Row) -> Result<Excluded, String> {
    let code = x.s.get(c::EXCLUDED_KIND).cloned().unwrap_or_default();
    let kind = ExclusionKind::from_code(&code)
        .ok_or_else(|| format!("unknown exclusion kind `{code}`"))?;
    let reason = ExclusionReason {
        kind,
        file: x.s.get(c::EXCLUDED_FILE).map(PathBuf::from),
        row: x
            .i
            .get(c::EXCLUDED_ROW)
            .and_then(|r| u64::try_from(*r).ok()),
        message: x.s.get(c::EXCLUDED_MESSAGE).cloned().unwrap_or_default(),
    };
    Ok(Excluded {
        dir: dir.to_path_buf(),
        reason,
    })
}

/// A run's per-source, per-epoch sums (rows sorted by source, then epoch),
/// its epoch rows (from source 0's) and whether any source is modelled.
fn source_sums(rows: &[Row]) -> Result<(Vec<SourceEpochs>, Vec<EpochRow>, bool), String> {
    let mut sources: Vec<SourceEpochs> = Vec::new();
    let mut epochs: Vec<EpochRow> = Vec::new();
    let mut modelled = false;
    let count = |r: &Row, name: &str| {
        r.i.get(name)
            .and_then(|n| u64::try_from(*n).ok())
            .unwrap_or(0)
    };
    for r in rows {
        let si = usize::try_from(r.i.get(c::SOURCE_INDEX).copied().unwrap_or(-1))
            .map_err(|_| "a row without source_index")?;
        let k = usize::try_from(r.i.get(c::EPOCH).copied().unwrap_or(-1))
            .map_err(|_| "a row without epoch")?;
        if si == sources.len() {
            sources.push(SourceEpochs {
                id: r.s.get(c::SOURCE_ID).cloned().unwrap_or_default(),
                area_ws: Vec::new(),
                sum_w: Vec::new(),
                counter_j: Vec::new(),
                exact: Vec::new(),
                n_power: count(r, c::N_POWER),
                n_counter: count(r, c::N_COUNTER),
            });
        }
        let s = sources.get_mut(si).ok_or("source_index out of order")?;
        if k != s.area_ws.len() {
            return Err(format!(
                "source {si}: epoch {k} where {} was expected",
                s.area_ws.len()
            ));
        }
        s.area_ws
            .push(r.f.get(c::INTEGRAL_BIN_J).copied().unwrap_or(0.0));
        s.sum_w
            .push(r.f.get(c::SAMPLE_SUM_BIN_W).copied().unwrap_or(0.0));
        s.counter_j.push(r.f.get(c::COUNTER_J).copied());
        s.exact
            .push(r.b.get(c::BOUNDARY_EXACT).copied().unwrap_or(false));
        modelled |= r.b.get(c::MODELLED).copied().unwrap_or(false);
        if si == 0 && k > 0 {
            epochs.push(EpochRow {
                epoch: u32::try_from(k).unwrap_or(0),
                start_ns: r.i.get(c::START_NS).copied().unwrap_or(0),
                end_ns: r.i.get(c::END_NS).copied().unwrap_or(0),
                train_acc: r.f.get(c::TRAIN_ACC).copied(),
                test_acc: r.f.get(c::TEST_ACC).copied(),
                train_loss: r.f.get(c::TRAIN_LOSS).copied(),
                test_loss: r.f.get(c::TEST_LOSS).copied(),
                examples: r.i.get(c::EXAMPLES).copied(),
            });
        }
    }
    Ok((sources, epochs, modelled))
}
