//! The analyzer's data model: what the fold gives per run (`trainwatt-fold`
//! owns these types, so the Python module and Spark hold the same ones).

pub use trainwatt_fold::model::*;
