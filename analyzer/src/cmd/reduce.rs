//! `analyzer reduce`: the heavy step of the pipeline (samples → energy per
//! run, epoch and source) as a command of its own, writing the reduced
//! table that every analysis reads in place of the archive
//! (`crate::reduced`, documented in `docs/reduced-format.md`).

use crate::archive::{load_archives, LoadOptions};
use crate::cli::ReduceArgs;
use crate::reduced::write_reduced;
use anyhow::{bail, Context, Result};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// The run folders of a `--runs` file: absolute, or under one of `roots`.
fn listed_runs(file: &Path, roots: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("--runs {}: cannot read the list", file.display()))?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let p = PathBuf::from(line);
        let found = if p.is_absolute() {
            Some(p.clone())
        } else {
            roots.iter().map(|r| r.join(&p)).find(|c| c.is_dir())
        };
        match found {
            Some(d) if d.is_dir() => out.push(d),
            _ => bail!(
                "--runs {} line {}: no run folder `{line}` (give it absolute, or relative to an \
                 ARCHIVE)",
                file.display(),
                i + 1
            ),
        }
    }
    Ok(out)
}

/// Where the table goes: `--out` itself, or a part file inside a folder.
fn target(a: &ReduceArgs) -> Result<PathBuf> {
    if a.out.is_dir() {
        let (i, n) = a.shard.map_or((1, 1), |s| (s.index, s.count));
        return Ok(a.out.join(format!("part-{i:05}-of-{n:05}.parquet")));
    }
    if a.out.extension().is_none_or(|x| x != "parquet") {
        bail!(
            "--out {}: give a .parquet file or an existing folder (for part files)",
            a.out.display()
        );
    }
    Ok(a.out.clone())
}

pub fn run(a: &ReduceArgs, out: &mut dyn Write, err: &mut dyn Write) -> Result<()> {
    let opts: LoadOptions = a.archive.load_options();
    let path = target(a)?;
    let paths = match &a.runs {
        Some(file) => listed_runs(file, &a.archive.archives)?,
        None => a.archive.archives.clone(),
    };
    let started = Instant::now();
    let loaded = load_archives(&paths, &opts, a.shard).context("cannot load the archives")?;
    let rows = write_reduced(&loaded, &opts, &path)
        .with_context(|| format!("cannot write the reduced table {}", path.display()))?;
    writeln!(
        err,
        "analyzer: reduced {} runs ({} excluded{}) into {rows} rows in {:.1} s",
        loaded.runs.len(),
        loaded.excluded.len(),
        a.shard
            .map(|s| format!(", shard {}/{}", s.index, s.count))
            .unwrap_or_default(),
        started.elapsed().as_secs_f64()
    )?;
    writeln!(out, "{}", path.display())?;
    Ok(())
}
