//! The shipped sample archive rewritten by the tools users already have
//! (pyarrow, pandas, DuckDB, polars: each with its default settings, plus
//! every codec, page version, encoding, `source` type and integer width
//! they can emit), then read by the analyzer: every table must equal the
//! one printed for the original files, byte for byte.
//!
//! The files come from the real libraries, run by
//! `tests/tools/rewrite_archive.py` in the Python venv that
//! `scripts/setup.sh` makes (it installs pyarrow, pandas, duckdb and
//! polars). The codec each file really uses is read back from its footer
//! here, with the parquet crate, so a variant cannot silently become
//! another.

#![allow(clippy::unwrap_used)] // a test

use assert_cmd::Command;
use parquet::file::reader::{FileReader, SerializedFileReader};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn sample() -> PathBuf {
    root().join("data/sample")
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tools/rewrite_archive.py")
}

/// The Python with the four writers: `$TRAINWATT_PYTOOLS` (the venv
/// `scripts/setup.sh` makes for `make test`), else `python3` on PATH.
fn python_bin() -> String {
    std::env::var("TRAINWATT_PYTOOLS").unwrap_or_else(|_| "python3".into())
}

fn python() -> std::process::Command {
    let mut c = std::process::Command::new(python_bin());
    c.arg(script());
    c
}

/// The variants the script offers, after checking the writers are there.
fn variants() -> Vec<String> {
    let py = python_bin();
    let probe = std::process::Command::new(&py)
        .args(["-c", "import pyarrow, pandas, duckdb, polars"])
        .output()
        .unwrap_or_else(|e| panic!("cannot run {py} ({e}); run the tests through `make test`"));
    assert!(
        probe.status.success(),
        "{py} lacks pyarrow, pandas, duckdb or polars ({}); run the tests through \
         `make test` (scripts/setup.sh installs them into a venv and sets TRAINWATT_PYTOOLS) \
         or `pip install pyarrow pandas duckdb polars`",
        String::from_utf8_lossy(&probe.stderr).trim()
    );
    let out = python().arg("--list").output().unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

/// What `analyzer ARGS… ARCHIVE` prints on stdout, with the archive's path
/// replaced by `ARCHIVE`.
fn analyzer(args: &[&str], archive: &Path) -> String {
    let out = Command::cargo_bin("analyzer")
        .unwrap()
        .args(args)
        .arg(archive)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "analyzer {args:?} failed: {stderr}");
    String::from_utf8(out.stdout)
        .unwrap()
        .replace(archive.to_str().unwrap(), "ARCHIVE")
}

const COMMANDS: [&[&str]; 3] = [
    &["efficiency", "--paper-criteria", "--format", "csv"],
    &["epochs", "--format", "csv"],
    &["overtraining", "--at", "30,60", "--format", "csv"],
];

/// The codec each variant must have used for the samples files (read
/// from the footer), where the variant is about the codec.
fn expected_codec(variant: &str) -> Option<&'static str> {
    Some(match variant {
        "pyarrow" | "pandas" | "duckdb" | "snappy" | "page-v2" => "SNAPPY",
        "polars" | "zstd" => "ZSTD",
        "uncompressed" => "UNCOMPRESSED",
        "gzip" => "GZIP",
        "brotli" => "BROTLI",
        "lz4-raw" => "LZ4_RAW",
        "lz4-hadoop" | "lz4-legacy-raw" => "LZ4",
        _ => return None,
    })
}

/// The codec of the first column chunk of every Parquet file under `dir`.
fn codecs(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "parquet") {
                let r = SerializedFileReader::new(std::fs::File::open(&p).unwrap()).unwrap();
                let c = r.metadata().row_group(0).column(0).compression();
                out.push(format!("{c:?}").split('(').next().unwrap().to_string());
            }
        }
    }
    out
}

#[test]
fn tables_from_files_other_tools_wrote_equal_the_originals() {
    let variants = variants();
    assert!(variants.len() >= 20, "{variants:?}");
    for must in [
        "pyarrow",
        "pandas",
        "duckdb",
        "polars",
        "lz4-hadoop",
        "page-v2",
    ] {
        assert!(variants.iter().any(|v| v == must), "no variant {must}");
    }
    let want: Vec<String> = COMMANDS.iter().map(|c| analyzer(c, &sample())).collect();
    assert!(want[0].contains("lenet"), "{}", want[0]);
    let tmp = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    for v in &variants {
        let dst = tmp.path().join(v);
        let out = python().arg(v).arg(sample()).arg(&dst).output().unwrap();
        assert!(
            out.status.success(),
            "rewrite {v}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        if let Some(codec) = expected_codec(v) {
            let got = codecs(&dst);
            assert_eq!(got.len(), 20, "{v}: 10 runs × 2 files");
            assert!(got.iter().all(|c| c == codec), "{v}: codecs {got:?}");
        }
        for (cmd, want) in COMMANDS.iter().zip(&want) {
            let got = analyzer(cmd, &dst);
            if &got != want {
                failures.push(format!("{v}: `analyzer {}` differs:\n{got}", cmd.join(" ")));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} variants differ:\n{}",
        failures.len(),
        variants.len(),
        failures.join("\n")
    );
}
