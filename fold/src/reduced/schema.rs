//! The reduced table's columns and version (documented in
//! `docs/reduced-format.md`; the names here are the contract).

use crate::model::EnergyMode;
use crate::options::LoadOptions;
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use std::sync::Arc;

/// Version of the reduced table, versioned like the trace format: a reader
/// refuses another major version and reads any minor one.
pub const REDUCED_VERSION: &str = "1.1";

/// Key-value metadata keys of a reduced file.
pub const KEY_VERSION: &str = "trainwatt.reduced_version";
pub const KEY_OPTIONS: &str = "trainwatt.reduced_options";
pub const KEY_WARNINGS: &str = "trainwatt.reduced_warnings";

pub const RUN_DIR: &str = "run_dir";
pub const RUN_ID: &str = "run_id";
pub const PLATFORM: &str = "platform";
pub const DATASET: &str = "dataset";
pub const ARCH: &str = "arch";
pub const WIDTH: &str = "width";
pub const SEED: &str = "seed";
pub const FOLD: &str = "fold";
pub const PROTOCOL: &str = "protocol";
pub const STATUS: &str = "status";
pub const ENERGY_MODE: &str = "energy_mode";
pub const BOUNDARY_READS: &str = "boundary_reads";
pub const BASELINE_W: &str = "baseline_w";
pub const MANIFEST_JSON: &str = "manifest_json";
pub const WARNINGS_JSON: &str = "warnings_json";
pub const EXCLUDED_KIND: &str = "excluded_kind";
pub const EXCLUDED_FILE: &str = "excluded_file";
pub const EXCLUDED_ROW: &str = "excluded_row";
pub const EXCLUDED_MESSAGE: &str = "excluded_message";
pub const SOURCE_INDEX: &str = "source_index";
pub const SOURCE_ID: &str = "source_id";
pub const SOURCE_DOMAIN: &str = "source_domain";
pub const SOURCE_METHOD: &str = "source_method";
pub const MODELLED: &str = "modelled";
pub const EPOCH: &str = "epoch";
pub const START_NS: &str = "start_ns";
pub const END_NS: &str = "end_ns";
pub const TRAIN_ACC: &str = "train_acc";
pub const TEST_ACC: &str = "test_acc";
pub const TRAIN_LOSS: &str = "train_loss";
pub const TEST_LOSS: &str = "test_loss";
pub const EXAMPLES: &str = "examples";
pub const COUNTER_J: &str = "counter_j";
pub const INTEGRAL_BIN_J: &str = "integral_bin_j";
pub const INTEGRAL_J: &str = "integral_j";
pub const SAMPLE_SUM_BIN_W: &str = "sample_sum_bin_w";
pub const SAMPLE_SUM_W: &str = "sample_sum_w";
pub const BOUNDARY_EXACT: &str = "boundary_exact";
pub const N_POWER: &str = "n_power";
pub const N_COUNTER: &str = "n_counter";
/// Since 1.1 the version and options are also columns (the same value on
/// every row), so a table written by an engine that keeps no footer
/// metadata of ours (Spark's writer, DuckDB's COPY) still says what it is.
pub const VERSION_COL: &str = "reduced_version";
pub const OPTIONS_COL: &str = "reduced_options";

/// The table's schema, in column order.
pub fn schema() -> SchemaRef {
    use DataType::{Boolean, Float64, Int32, Int64, Utf8};
    let f = |name: &str, t: DataType, null: bool| Field::new(name, t, null);
    Arc::new(Schema::new(vec![
        f(RUN_DIR, Utf8, false),
        f(RUN_ID, Utf8, true),
        f(PLATFORM, Utf8, true),
        f(DATASET, Utf8, true),
        f(ARCH, Utf8, true),
        f(WIDTH, Int64, true),
        f(SEED, Int64, true),
        f(FOLD, Int64, true),
        f(PROTOCOL, Utf8, true),
        f(STATUS, Utf8, true),
        f(ENERGY_MODE, Utf8, true),
        f(BOUNDARY_READS, Boolean, true),
        f(BASELINE_W, Float64, true),
        f(MANIFEST_JSON, Utf8, true),
        f(WARNINGS_JSON, Utf8, true),
        f(EXCLUDED_KIND, Utf8, true),
        f(EXCLUDED_FILE, Utf8, true),
        f(EXCLUDED_ROW, Int64, true),
        f(EXCLUDED_MESSAGE, Utf8, true),
        f(SOURCE_INDEX, Int32, true),
        f(SOURCE_ID, Utf8, true),
        f(SOURCE_DOMAIN, Utf8, true),
        f(SOURCE_METHOD, Utf8, true),
        f(MODELLED, Boolean, true),
        f(EPOCH, Int32, true),
        f(START_NS, Int64, true),
        f(END_NS, Int64, true),
        f(TRAIN_ACC, Float64, true),
        f(TEST_ACC, Float64, true),
        f(TRAIN_LOSS, Float64, true),
        f(TEST_LOSS, Float64, true),
        f(EXAMPLES, Int64, true),
        f(COUNTER_J, Float64, true),
        f(INTEGRAL_BIN_J, Float64, true),
        f(INTEGRAL_J, Float64, true),
        f(SAMPLE_SUM_BIN_W, Float64, true),
        f(SAMPLE_SUM_W, Float64, true),
        f(BOUNDARY_EXACT, Boolean, true),
        f(N_POWER, Int64, true),
        f(N_COUNTER, Int64, true),
        f(VERSION_COL, Utf8, false),
        f(OPTIONS_COL, Utf8, false),
    ]))
}

pub fn mode_name(m: EnergyMode) -> &'static str {
    match m {
        EnergyMode::Counter => "counter",
        EnergyMode::Integral => "integral",
        EnergyMode::SampleSum => "sample-sum",
    }
}

pub fn mode_from_name(s: &str) -> Option<EnergyMode> {
    [
        EnergyMode::Counter,
        EnergyMode::Integral,
        EnergyMode::SampleSum,
    ]
    .into_iter()
    .find(|m| mode_name(*m) == s)
}

/// The load options a table was reduced with, as stable JSON: analyses of
/// the table must ask for the same (they are the fold's inputs).
pub fn options_json(o: &LoadOptions) -> String {
    let mut components = o.components.clone();
    components.sort();
    serde_json::json!({
        "energy": o.energy.map(mode_name),
        "components": components,
        "baseline": o.baseline || o.baseline_from.is_some(),
        "baseline_from": o.baseline_from.as_ref().map(|p| p.display().to_string()),
        "gap_tolerance_s": o.gap_tolerance_s,
    })
    .to_string()
}
