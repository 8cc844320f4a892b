//! One run being recorded: its folder, manifest, sampler and writer threads.
//!
//! Life cycle: [`Recording::start`] creates a *new* run folder (never an
//! existing one), writes the manifest with status `running`, and starts the
//! sampler and writer threads; the caller adds epochs as they complete
//! ([`Recording::add_epoch`] rewrites `epochs.parquet` atomically, so no
//! completed epoch is ever lost); [`Recording::finish`] stops sampling,
//! closes the last segment and writes the final manifest. A run killed with
//! SIGKILL keeps status `running`, its closed segments and its epochs.

use crate::fsutil;
use crate::sampler::{self, Clock, LiveTotals, SamplerHandle};
use crate::sink::{self, SinkError, SinkReport};
use crate::sources::PowerSource;
use std::path::{Path, PathBuf};
use std::thread::JoinHandle;
use std::time::Duration;
use trainwatt_trace::layout::Partition;
use trainwatt_trace::schema::MANIFEST_FILE;
use trainwatt_trace::{EpochRow, Manifest, RunStatus};

/// Errors of a recording; each names the file and what to do.
#[derive(Debug, thiserror::Error)]
pub enum RecordingError {
    #[error("cannot create run folder {path}: {source} (choose a writable --out folder)")]
    CreateDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write {path}: {source} (earlier data in the run is intact)")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Sink(#[from] SinkError),
    #[error(
        "{sink}; the manifest could not be updated either ({manifest}), so it still says `running`"
    )]
    SinkAndManifest {
        sink: SinkError,
        manifest: Box<RecordingError>,
    },
    #[error("cannot start the {what} thread: {source}")]
    Thread {
        what: &'static str,
        #[source]
        source: std::io::Error,
    },
}

/// Settings of a recording.
#[derive(Debug, Clone)]
pub struct RecordingOptions {
    pub rate_hz: f64,
    /// How often a complete samples segment reaches disk.
    pub flush_interval: Duration,
    /// Rewrite the segments into one file when the run ends cleanly.
    pub compact: bool,
}

impl Default for RecordingOptions {
    fn default() -> Self {
        Self {
            rate_hz: 1000.0,
            flush_interval: Duration::from_secs(1),
            compact: true,
        }
    }
}

/// A run in progress.
#[derive(Debug)]
pub struct Recording {
    dir: PathBuf,
    manifest: Manifest,
    clock: Clock,
    epochs: Vec<EpochRow>,
    sampler: Option<SamplerHandle>,
    writer: Option<JoinHandle<Result<SinkReport, SinkError>>>,
    compact: bool,
}

/// What a finished recording produced.
#[derive(Debug, Clone)]
pub struct RunSummary {
    pub dir: PathBuf,
    pub manifest: Manifest,
    pub sink: SinkReport,
    /// Epoch rows recorded.
    pub epochs: usize,
    /// t_ns when the recording finished: the run's length.
    pub elapsed_ns: i64,
}

/// Creates a fresh run folder for `partition` under `archive`. If the name
/// is taken (two runs started in the same second), a suffix is added: an
/// existing run is never written into.
pub fn create_run_dir(
    archive: &Path,
    partition: &Partition,
    base_id: &str,
) -> Result<(PathBuf, String), RecordingError> {
    let parent = archive.join(partition.relative_dir());
    std::fs::create_dir_all(&parent).map_err(|source| RecordingError::CreateDir {
        path: parent.clone(),
        source,
    })?;
    for n in 0..1000 {
        let id = if n == 0 {
            base_id.to_string()
        } else {
            format!("{base_id}-{n}")
        };
        let dir = partition.run_dir(archive, &id);
        match std::fs::create_dir(&dir) {
            Ok(()) => return Ok((dir, id)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(source) => return Err(RecordingError::CreateDir { path: dir, source }),
        }
    }
    Err(RecordingError::CreateDir {
        path: parent,
        source: std::io::Error::other("1000 runs with the same id already exist"),
    })
}

/// A run id from the UTC start time and a few labels, e.g.
/// `20261129T171500Z-lenet-w3-s7`.
pub fn base_run_id(clock: &Clock, labels: &[String]) -> String {
    let t = clock.started_at_utc();
    let compact: String = t
        .chars()
        .take(19)
        .filter(|c| c.is_ascii_digit() || *c == 'T')
        .collect();
    let mut id = format!("{compact}Z");
    for l in labels {
        id.push('-');
        id.push_str(l);
    }
    id
}

impl Recording {
    /// Starts recording into a new run folder. `manifest` is a template: its
    /// run id, start time, sources, status and sampler fields are filled in.
    pub fn start(
        archive: &Path,
        partition: &Partition,
        mut manifest: Manifest,
        sources: Vec<Box<dyn PowerSource>>,
        opts: &RecordingOptions,
        clock: Clock,
        id_labels: &[String],
    ) -> Result<Self, RecordingError> {
        let (dir, run_id) = create_run_dir(archive, partition, &base_run_id(&clock, id_labels))?;
        manifest.run_id = run_id.clone();
        manifest.started_at_utc = clock.started_at_utc();
        manifest.status = RunStatus::Running;
        // A source read every tick (poll_hz 0) or faster than the sampler is
        // in fact read at the sampler's rate; record what really happens.
        manifest.sources = sources
            .iter()
            .map(|s| {
                let mut info = s.info();
                if info.poll_hz <= 0.0 || info.poll_hz > opts.rate_hz {
                    info.poll_hz = opts.rate_hz;
                }
                info
            })
            .collect();
        manifest.sampler.rate_hz = opts.rate_hz;
        write_manifest(&dir, &manifest)?;

        let ids: Vec<String> = manifest.sources.iter().map(|s| s.id.clone()).collect();
        // ~2 s of batches in flight before the sampler starts holding them.
        let (tx, rx) = crossbeam_channel::bounded(40);
        let wdir = dir.clone();
        let flush = opts.flush_interval;
        let writer = std::thread::Builder::new()
            .name("trainwatt-writer".into())
            .spawn(move || sink::run_writer(&wdir, &run_id, &ids, rx, flush, &mut |_| {}))
            .map_err(|source| RecordingError::Thread {
                what: "writer",
                source,
            })?;
        let sampler = sampler::spawn(sources, clock, opts.rate_hz, tx).map_err(|source| {
            RecordingError::Thread {
                what: "sampler",
                source,
            }
        })?;
        Ok(Self {
            dir,
            manifest,
            clock,
            epochs: Vec::new(),
            sampler: Some(sampler),
            writer: Some(writer),
            compact: opts.compact,
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
    pub fn clock(&self) -> Clock {
        self.clock
    }
    pub fn epochs(&self) -> &[EpochRow] {
        &self.epochs
    }
    pub fn manifest_mut(&mut self) -> &mut Manifest {
        &mut self.manifest
    }

    /// Running energy totals (for live stopping rules and progress).
    pub fn live(&self) -> LiveTotals {
        self.sampler.as_ref().map(|s| s.live()).unwrap_or_default()
    }

    /// A shared view of the running totals (see [`SamplerHandle::live_shared`]).
    pub fn live_shared(&self) -> std::sync::Arc<std::sync::Mutex<LiveTotals>> {
        self.sampler
            .as_ref()
            .map(SamplerHandle::live_shared)
            .unwrap_or_default()
    }

    /// Records a completed epoch durably (atomic rewrite of the epoch file).
    pub fn add_epoch(&mut self, row: EpochRow) -> Result<(), RecordingError> {
        self.epochs.push(row);
        sink::write_epochs(&self.dir, &self.manifest.run_id, &self.epochs)?;
        Ok(())
    }

    /// Waits until every source has delivered its first reading (see
    /// [`LiveTotals::primed`]), at most `timeout`; false if it timed out.
    /// Work started after this is covered by samples from its first instant.
    pub fn wait_until_primed(&self, timeout: std::time::Duration) -> bool {
        let start = std::time::Instant::now();
        while !self.live().primed {
            if start.elapsed() >= timeout || self.writer_failed() {
                return false;
            }
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        true
    }

    /// The writer thread has stopped before being asked to: a segment could
    /// not be written (disk full, folder gone). Sampling has stopped too;
    /// [`Recording::finish`] returns the reason.
    pub fn writer_failed(&self) -> bool {
        self.writer.as_ref().is_some_and(JoinHandle::is_finished)
    }

    /// Rewrites the manifest now (e.g. after adding warnings).
    pub fn save_manifest(&self) -> Result<(), RecordingError> {
        write_manifest(&self.dir, &self.manifest)
    }

    /// Stops sampling, flushes everything and writes the final manifest.
    /// A writer failure turns the status into `failed` with the reason.
    pub fn finish(
        mut self,
        status: RunStatus,
        error: Option<String>,
    ) -> Result<RunSummary, RecordingError> {
        let outcome = self
            .sampler
            .take()
            .map(SamplerHandle::stop)
            .unwrap_or_default();
        let elapsed_ns = self.clock.now_ns();
        let sink = match self.writer.take().map(|w| w.join()) {
            Some(Ok(r)) => r,
            Some(Err(_)) => Err(SinkError::Io {
                path: self.dir.clone(),
                source: std::io::Error::other("the writer thread panicked"),
            }),
            None => Ok(SinkReport::default()),
        };
        let m = &mut self.manifest;
        m.sampler.ticks = outcome.ticks;
        m.sampler.missed_deadlines = outcome.missed_deadlines;
        m.sampler.suspect_wraps = outcome.suspect_wraps;
        m.sampler.sampler_cpu_s = outcome.cpu_s;
        m.ended_at_utc =
            Some(chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true));
        m.status = status;
        m.error = error;
        if outcome.read_errors > 0 {
            m.warnings.push(format!(
                "{} source reads failed; first errors: {}",
                outcome.read_errors,
                outcome.first_errors.join("; ")
            ));
        }
        let mut report = match sink {
            Ok(r) => r,
            Err(e) => {
                m.status = RunStatus::Failed;
                m.error = Some(format!("writing samples failed: {e}"));
                return Err(match write_manifest(&self.dir, m) {
                    Ok(()) => e.into(),
                    Err(me) => RecordingError::SinkAndManifest {
                        sink: e,
                        manifest: Box::new(me),
                    },
                });
            }
        };
        m.sampler.segments = report.segments;
        m.sampler.writer_cpu_s = report.cpu_s;
        if self.compact {
            let c = crate::compact::compact_samples(&self.dir, &m.run_id, m.sources.len())?;
            match c.skipped {
                None => {
                    m.sampler.compacted = true;
                    report.bytes = c.bytes_after;
                }
                Some(why) if c.segments_in > 1 => {
                    m.warnings.push(format!("samples not compacted: {why}"))
                }
                Some(_) => {}
            }
        }
        write_manifest(&self.dir, m)?;
        Ok(RunSummary {
            dir: self.dir.clone(),
            manifest: self.manifest.clone(),
            sink: report,
            epochs: self.epochs.len(),
            elapsed_ns,
        })
    }
}

fn write_manifest(dir: &Path, m: &Manifest) -> Result<(), RecordingError> {
    let path = dir.join(MANIFEST_FILE);
    fsutil::write_bytes_atomic(&path, m.to_json().as_bytes())
        .map_err(|source| RecordingError::Write { path, source })
}
