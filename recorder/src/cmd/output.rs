//! What the recording commands print on stdout when a run ends: the run
//! folder (the default, for `run=$(recorder sample …)`), or with
//! `--format json` one object describing the run. Field names are stable:
//! they are documented in the README.

use super::common::Format;
use crate::recording::RunSummary;
use anyhow::Result;
use serde_json::{json, Value};
use std::io::Write;
use trainwatt_trace::Method;

/// The JSON summary of one finished run.
pub fn run_json(s: &RunSummary) -> Value {
    let m = &s.manifest;
    let duration_s = s.elapsed_ns as f64 * 1e-9;
    let sources: Vec<Value> = m
        .sources
        .iter()
        .map(|src| json!({ "id": src.id, "domain": src.domain, "method": src.method }))
        .collect();
    json!({
        "run_dir": s.dir,
        "run_id": m.run_id,
        "status": m.status,
        "error": m.error,
        "started_at_utc": m.started_at_utc,
        "duration_s": duration_s,
        "epochs": s.epochs,
        "exit_code": m.workload.exit_code,
        "samples": s.sink.rows,
        "segments": m.sampler.segments,
        "compacted": m.sampler.compacted,
        "bytes": s.sink.bytes,
        "bytes_per_sample": (s.sink.rows > 0).then(|| s.sink.bytes as f64 / s.sink.rows as f64),
        "sampler": {
            "rate_hz": m.sampler.rate_hz,
            "ticks": m.sampler.ticks,
            "missed_deadlines": m.sampler.missed_deadlines,
            "missed_fraction": (m.sampler.ticks > 0)
                .then(|| m.sampler.missed_deadlines as f64 / m.sampler.ticks as f64),
            "suspect_wraps": m.sampler.suspect_wraps,
            "sampler_cpu_s": m.sampler.sampler_cpu_s,
            "writer_cpu_s": m.sampler.writer_cpu_s,
            "cpu_fraction_of_one_core": recorder_cpu_fraction(s),
        },
        "sources": sources,
        "modelled": m.sources.iter().any(|src| src.method == Method::Modelled),
        "warnings": m.warnings,
    })
}

/// CPU time of the sampling and writing threads over the run's length, in
/// fractions of one core (`None` when neither was measured).
pub fn recorder_cpu_fraction(s: &RunSummary) -> Option<f64> {
    let sampler = &s.manifest.sampler;
    let cpu_s = match (sampler.sampler_cpu_s, sampler.writer_cpu_s) {
        (Some(a), Some(b)) => Some(a + b),
        (a, b) => a.or(b),
    };
    let duration_s = s.elapsed_ns as f64 * 1e-9;
    cpu_s.filter(|_| duration_s > 0.0).map(|c| c / duration_s)
}

/// Prints the finished run on stdout in `format`.
pub fn print_run(format: Format, s: &RunSummary) -> Result<()> {
    let mut out = std::io::stdout().lock();
    let written = match format {
        Format::Table => writeln!(out, "{}", s.dir.display()),
        Format::Json => writeln!(out, "{}", run_json(s)),
    }
    .and_then(|()| out.flush());
    // The run is on disk either way: say where, and that only the summary
    // was lost (a full or closed stdout keeps its kind for `| head`).
    written.map_err(|e| {
        std::io::Error::new(
            e.kind(),
            format!(
                "writing the run summary to standard output: {e} (the run itself is complete \
                 in {})",
                s.dir.display()
            ),
        )
        .into()
    })
}
