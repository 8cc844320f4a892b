//! Power sources: one file per kind of meter, all behind [`PowerSource`].
//!
//! Each source is read by the sampler thread on an absolute schedule, so a
//! `read` must be cheap and must never block on anything but the file or
//! library call it wraps. Discovery ([`discover`]) returns the sources that
//! work here and, for the ones that do not, why and how to fix it, which is
//! what `recorder sources` prints.

use trainwatt_trace::SourceInfo;

/// One reading of one source.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Reading {
    /// Power in W: instantaneous, or averaged since the previous reading for
    /// counter sources; `None` where not known (first counter read).
    pub power_w: Option<f32>,
    /// Cumulative energy in µJ since the source was opened, unwrapped.
    pub energy_uj: Option<i64>,
    /// More than one hardware wrap may have happened since the previous
    /// read (the elapsed time could hold more energy than the counter range).
    pub suspect_wrap: bool,
}

/// Errors a source can hit while reading.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("reading {path}: {source}")]
    Io {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: cannot parse '{text}' as an integer")]
    Parse {
        path: std::path::PathBuf,
        text: String,
    },
    #[error("{0}")]
    Other(String),
}

/// A meter the sampler can read.
pub trait PowerSource: Send {
    /// Id, domain, method, poll rate and settings, as stored in the manifest.
    fn info(&self) -> SourceInfo;
    /// Takes one reading now. `t_ns` is the sampler's monotonic time of the
    /// tick, for sources that derive power from counter differences.
    fn read(&mut self, t_ns: i64) -> Result<Reading, SourceError>;
}

/// A source that was looked for but cannot be used here.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Unavailable {
    /// What was looked for, e.g. `rapl`, `nvml`, `hwmon:card1`.
    pub name: String,
    /// Why it cannot be used (permission denied, no driver, …).
    pub reason: String,
    /// How to fix it, where there is a fix.
    pub fix: Option<String>,
}
