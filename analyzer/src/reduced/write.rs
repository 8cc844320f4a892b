//! Writing a reduced table to Parquet, atomically, with its version,
//! options and warnings in the footer (the rows come from
//! `trainwatt_fold::reduced::reduced_batch`).

use crate::archive::{LoadOptions, Loaded};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;
use std::path::Path;
use trainwatt_fold::reduced::{reduced_batch, schema as c};

/// Errors writing a reduced table.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("writing {path}: {source}")]
    Io {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("encoding {path}: {message}")]
    Encode {
        path: std::path::PathBuf,
        message: String,
    },
}

/// Writes `loaded` (reduced with `opts`) to `out`, atomically; returns the
/// number of rows.
pub fn write_reduced(loaded: &Loaded, opts: &LoadOptions, out: &Path) -> Result<usize, WriteError> {
    let encode = |e: &dyn std::fmt::Display| WriteError::Encode {
        path: out.to_path_buf(),
        message: e.to_string(),
    };
    let batch = reduced_batch(&loaded.runs, &loaded.excluded, &c::options_json(opts))
        .map_err(|e| encode(&e))?;
    let warnings: Vec<&String> = loaded
        .warnings
        .iter()
        .filter(|w| !w.ends_with("runs excluded (see the reasons)"))
        .collect();
    let props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::default()))
        .set_key_value_metadata(Some(vec![
            KeyValue::new(c::KEY_VERSION.into(), c::REDUCED_VERSION.to_string()),
            KeyValue::new(c::KEY_OPTIONS.into(), c::options_json(opts)),
            KeyValue::new(
                c::KEY_WARNINGS.into(),
                serde_json::to_string(&warnings).unwrap_or_else(|_| "[]".into()),
            ),
        ]))
        .build();
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = out.with_file_name(format!(".{name}.tmp"));
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| WriteError::Io { path, source }
    };
    let file = std::fs::File::create(&tmp).map_err(io(&tmp))?;
    let written = (|| {
        let mut w = ArrowWriter::try_new(file, batch.schema(), Some(props))?;
        w.write(&batch)?;
        let f = w.into_inner()?;
        f.sync_all()?;
        Ok::<(), parquet::errors::ParquetError>(())
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(encode(&e));
    }
    if let Err(e) = std::fs::rename(&tmp, out) {
        let _ = std::fs::remove_file(&tmp);
        return Err(io(out)(e));
    }
    Ok(batch.num_rows())
}
