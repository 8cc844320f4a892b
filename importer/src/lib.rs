//! The importer behind `analyzer import`: turns logs that other tools wrote
//! into runs of our trace format, so old experiments join the same analysis.
//! It is a crate of its own so that the analyzer only reads archives and
//! this crate only writes them (through the format's one writer,
//! `trainwatt_trace::writer`).
//!
//! Data flows one way, as everywhere in the analyzer:
//!
//! ```text
//! file bytes ─ parser (one file per format) ─> PowerLog / EpochLog / CodeCarbonRow
//!            ─ build (one clock, epoch placement, coverage) ─> ImportedRun
//!            ─ write (Parquet + manifest in a hidden folder, renamed into place)
//! ```
//!
//! Parsers are pure functions from text to typed rows; every complaint names
//! the file, the 1-based line and the column ([`ParseError`]). Nothing is
//! written until every input has parsed and every run has been assembled, and
//! then each run is written into a hidden temporary folder and renamed into
//! place, so a malformed input, a full disk or a crash never leaves half a run
//! behind, and an existing run is never overwritten.
//!
//! The flags are in `args`, the wiring from files to archive in `command`;
//! `batch` turns `{i}` patterns and logs holding several runs into a list
//! of runs, each imported whole or refused on its own.
//!
//! Provenance goes into `manifest.imported` (file names, sizes, SHA-256, the
//! options used) and `manifest.workload.kind = "import"`. Epoch boundaries
//! placed by a rule rather than read from timestamps set
//! `manifest.epochs_approximate`.

mod args;
mod batch;
mod build;
mod carbontracker;
mod carbontracker_lines;
mod codecarbon;
mod codecarbon_rows;
mod command;
mod dedupe;
mod epoch_log;
mod generic_energy;
mod generic_epochs;
mod generic_power;
mod keras;
mod lightning;
mod nvidia_smi;
mod pinpoint;
mod placement;
mod table;
mod time;
mod warnings;
mod write;
mod zeus;

pub use args::ImportArgs;
pub use build::{ImportedRun, RunLabels, SampleRow};
pub use codecarbon::CodeCarbonRow;
pub use codecarbon_rows::{LabelRow, Labels};
pub use command::run;
pub use epoch_log::{EpochEntry, EpochLog, MetricNames};
pub use generic_energy::{EnergyColumn, EnergyKind, EnergyUnit};
pub use generic_power::{CsvPowerOptions, PowerUnit};
pub use placement::{Bound, Placement};
pub use time::{Stamp, TimeUnit, Zone};

use std::fmt;
use std::path::{Path, PathBuf};
use trainwatt_trace::{Domain, GpuFacts, SourceInfo};

/// A malformed input: which file, which line (1-based) and, where it is one
/// field, which column, and what is wrong with it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{path}: line {line}{column}: {message}", path = path.display())]
pub struct ParseError {
    pub path: PathBuf,
    pub line: u64,
    pub column: ColumnRef,
    pub message: String,
}

impl ParseError {
    /// An error about a whole line.
    pub fn line(path: impl Into<PathBuf>, line: u64, message: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            line,
            column: ColumnRef::None,
            message: message.into(),
        }
    }

    /// An error about one field.
    pub fn field(
        path: impl Into<PathBuf>,
        line: u64,
        column: ColumnRef,
        message: impl Into<String>,
    ) -> Self {
        Self {
            path: path.into(),
            line,
            column,
            message: message.into(),
        }
    }
}

/// Where on a line an error is.
#[derive(Debug, Clone, PartialEq)]
pub enum ColumnRef {
    None,
    /// A CSV field: its 1-based position and its header name.
    Field {
        number: usize,
        name: String,
    },
    /// A JSON-lines key.
    Key(String),
    /// A character position (1-based), for text that is not a table.
    Char(usize),
}

impl fmt::Display for ColumnRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ColumnRef::None => Ok(()),
            ColumnRef::Field { number, name } if name.is_empty() => {
                write!(f, ", column {number}")
            }
            ColumnRef::Field { number, name } => write!(f, ", column {number} ({name})"),
            ColumnRef::Key(k) => write!(f, ", key \"{k}\""),
            ColumnRef::Char(c) => write!(f, ", column {c}"),
        }
    }
}

/// Errors of an import: malformed input, inconsistent options, or I/O.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error(transparent)]
    Parse(#[from] ParseError),
    #[error("cannot read {path}: {source}", path = path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The inputs parse but do not make a run (e.g. epochs outside the power
    /// trace, a missing --timezone).
    #[error("{0}")]
    Invalid(String),
    #[error("writing {path}: {source}", path = path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("encoding {path}: {message}", path = path.display())]
    Encode { path: PathBuf, message: String },
    #[error(
        "{path} already exists (imported before?); an import never overwrites a run — \
         give --run-id to import the same files again on purpose",
        path = path.display()
    )]
    Exists { path: PathBuf },
}

/// One power source's readings as a log gave them, before the run's clock is
/// known.
#[derive(Debug, Clone, PartialEq)]
pub struct PowerSeries {
    pub source: SourceInfo,
    pub points: Vec<PowerPoint>,
}

/// One reading.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PowerPoint {
    /// 1-based line of the log it came from (for messages).
    pub line: u64,
    pub at: Stamp,
    pub power_w: Option<f32>,
    pub energy_uj: Option<i64>,
}

/// What a power log holds.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PowerLog {
    pub series: Vec<PowerSeries>,
    /// GPUs named in the log (nvidia-smi's `name` column).
    pub gpus: Vec<GpuFacts>,
    /// Things worth keeping in the manifest's warnings (skipped rows, …);
    /// the import also prints them on stderr.
    pub notes: Vec<String>,
    /// Measurement windows the log itself delimits (Zeus windows,
    /// carbontracker epochs), in time order: where the epochs can be placed
    /// when the epoch log has no times.
    pub windows: Vec<Window>,
}

/// A span the power log measured as one piece (a Zeus window, a
/// carbontracker epoch).
#[derive(Debug, Clone, PartialEq)]
pub struct Window {
    /// 1-based line of the log that gave it.
    pub line: u64,
    pub name: String,
    pub start: Stamp,
    pub end: Stamp,
    /// Whether the times are coarser than the log's other numbers
    /// (carbontracker stamps its lines to the second).
    pub coarse: bool,
}

/// Above this one source's reading is not believable, W: no single GPU,
/// package or DIMM set draws 5 kW; a whole machine (`platform`) may draw
/// more, but not 50 kW.
pub(crate) fn absurd_limit_w(domain: Domain) -> f64 {
    match domain {
        Domain::Platform => 50_000.0,
        _ => 5_000.0,
    }
}

/// Checks one source's readings for absurd values and words one note per
/// kind, naming the file and the first line: readings above
/// [`absurd_limit_w`] are kept (a wrong unit is the usual cause, and the
/// user decides), negative ones are dropped (no meter reads them).
#[derive(Debug, Clone)]
pub(crate) struct PowerCheck {
    path: PathBuf,
    id: String,
    limit_w: f64,
    /// What to check when the readings are too high (the unit flag).
    hint: &'static str,
    high: usize,
    first_high: u64,
    max: (f64, u64),
    negative: usize,
    first_negative: (u64, f64),
}

impl PowerCheck {
    pub fn new(path: &Path, id: &str, domain: Domain, hint: &'static str) -> Self {
        Self {
            path: path.to_path_buf(),
            id: id.to_string(),
            limit_w: absurd_limit_w(domain),
            hint,
            high: 0,
            first_high: 0,
            max: (0.0, 0),
            negative: 0,
            first_negative: (0, 0.0),
        }
    }

    /// Records reading `w` (W) of `line`; `false` when it is to be dropped.
    pub fn keep(&mut self, line: u64, w: f64) -> bool {
        if w < 0.0 {
            if self.negative == 0 {
                self.first_negative = (line, w);
            }
            self.negative += 1;
            return false;
        }
        if w > self.limit_w {
            if self.high == 0 {
                self.first_high = line;
            }
            self.high += 1;
            if w > self.max.0 {
                self.max = (w, line);
            }
        }
        true
    }

    /// The notes, if anything was found.
    pub fn notes(&self) -> Vec<String> {
        let mut out = Vec::new();
        let file = self.path.display();
        if self.high > 0 {
            out.push(format!(
                "{file}: line {}: {} reading(s) of `{}` above {} kW (the largest {:.0} W on line \
                 {}): kept, but one source cannot draw that much; check {}",
                self.first_high,
                self.high,
                self.id,
                self.limit_w / 1000.0,
                self.max.0,
                self.max.1,
                self.hint
            ));
        }
        if self.negative > 0 {
            out.push(format!(
                "{file}: line {}: {} negative reading(s) of `{}` (the first {} W): skipped",
                self.first_negative.0, self.negative, self.id, self.first_negative.1
            ));
        }
        out
    }
}

/// A span a power log measured as one piece (a Zeus window, a carbontracker
/// epoch): its mean power and the energy it adds to the source's counter.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Span {
    /// 1-based line of the log that gave it.
    pub line: u64,
    /// UTC ns.
    pub start_ns: i64,
    /// UTC ns.
    pub end_ns: i64,
    pub power_w: f64,
    pub energy_uj: f64,
}

/// The counter readings of spans in time order: one at each span's start
/// (unless the previous span ended there) and one at its end, the counter
/// rising by the span's energy, both with the span's mean power, which
/// goes through `check`. Between spans the counter stays flat.
pub(crate) fn span_counter_points(spans: &[Span], check: &mut PowerCheck) -> Vec<PowerPoint> {
    let mut points = Vec::with_capacity(spans.len() * 2);
    let mut counter_uj = 0.0f64;
    let mut prev_end: Option<i64> = None;
    for s in spans {
        check.keep(s.line, s.power_w);
        if prev_end != Some(s.start_ns) {
            points.push(PowerPoint {
                line: s.line,
                at: Stamp::Wall(s.start_ns),
                power_w: Some(s.power_w as f32),
                energy_uj: Some(counter_uj.round() as i64),
            });
        }
        counter_uj += s.energy_uj;
        points.push(PowerPoint {
            line: s.line,
            at: Stamp::Wall(s.end_ns),
            power_w: Some(s.power_w as f32),
            energy_uj: Some(counter_uj.round() as i64),
        });
        prev_end = Some(s.end_ns);
    }
    points
}

/// Line (1-based) of byte offset `at` in `text`.
fn line_of(text: &[u8], at: usize) -> u64 {
    text[..at.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count() as u64
        + 1
}

/// Decodes a file's bytes as UTF-8 (dropping a byte-order mark), naming the
/// line of the first invalid byte.
pub fn decode(path: &std::path::Path, bytes: &[u8]) -> Result<String, ParseError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(s) => Ok(s.to_string()),
        Err(e) => {
            let at = e.valid_up_to();
            let line = line_of(bytes, at);
            let line_start = bytes[..at]
                .iter()
                .rposition(|&b| b == b'\n')
                .map_or(0, |p| p + 1);
            Err(ParseError::field(
                path,
                line,
                ColumnRef::Char(at - line_start + 1),
                "not UTF-8 text (is this the right file?)",
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn errors_read_file_line_column() {
        let e = ParseError::field(
            "a.csv",
            12,
            ColumnRef::Field {
                number: 2,
                name: "power.draw [W]".into(),
            },
            "'x' is not a number",
        );
        assert_eq!(
            e.to_string(),
            "a.csv: line 12, column 2 (power.draw [W]): 'x' is not a number"
        );
        let e = ParseError::field("e.jsonl", 3, ColumnRef::Key("test_acc".into()), "bad");
        assert_eq!(e.to_string(), "e.jsonl: line 3, key \"test_acc\": bad");
    }

    proptest::proptest! {
        #[test]
        fn no_input_panics(s in "\\PC*") {
            let p = Path::new("f");
            let zone: Zone = "UTC".parse().unwrap();
            let names = MetricNames::default();
            let _ = nvidia_smi::parse(p, &s, &zone);
            let _ = pinpoint::parse(p, &s, 100_000_000);
            let _ = keras::parse(p, &s, &names);
            let _ = lightning::parse(p, &s, &names);
            for c in [generic_epochs::Container::Csv, generic_epochs::Container::Jsonl] {
                let _ = generic_epochs::parse(p, &s, c, &names, TimeUnit::S, Some(&zone));
            }
            let _ = codecarbon::parse(p, &s, &zone);
            let _ = zeus::parse(p, &s, None);
            let _ = carbontracker::parse(p, &s, &zone);
            let _ = placement::parse_epoch_times(p, &s, TimeUnit::S, None);
            let _ = placement::parse_window(&s, None);
        }

        #[test]
        fn csvish_input_never_panics(s in "[0-9a-z:,.\" \n\r/-]{0,120}") {
            let p = Path::new("f");
            let zone: Zone = "UTC".parse().unwrap();
            let _ = nvidia_smi::parse(p, &format!("timestamp, index, power.draw [W]\n{s}"), &zone);
            let _ = pinpoint::parse(p, &format!("rapl:pkg,nvml:x_0\n{s}"), 1);
            let _ = keras::parse(p, &format!("epoch,accuracy,val_loss\n{s}"), &MetricNames::default());
            let _ = lightning::parse(p, &format!("epoch,step,val_acc\n{s}"), &MetricNames::default());
            let _ = zeus::parse(p, &format!("start_time,window_name,elapsed_time,gpu0_energy\n{s}"), None);
            let _ = carbontracker::parse(p, &format!("2024-01-01 00:00:00 - Epoch 1:\n{s}"), &zone);
        }
    }

    #[test]
    fn decode_names_the_bad_byte_and_drops_a_bom() {
        assert_eq!(
            decode(Path::new("f"), b"\xEF\xBB\xBFa,b\n").unwrap(),
            "a,b\n"
        );
        let e = decode(Path::new("f"), b"a,b\n1,\xff\n").unwrap_err();
        assert_eq!((e.line, e.column.clone()), (2, ColumnRef::Char(3)));
    }
}
