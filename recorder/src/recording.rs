//! One run being recorded: its folder, manifest, sampler and writer threads.
//!
//! Life cycle: [`Recording::start`] creates a *new* run folder (never an
//! existing one), writes the manifest with status `running`, and starts the
//! sampler and writer threads; the caller adds epochs as they complete
//! ([`Recording::add_epoch`] rewrites `epochs.parquet` atomically, so no
//! completed epoch is ever lost); [`Recording::finish`] stops sampling,
//! closes the last segment and writes the final manifest. A run killed with
//! SIGKILL keeps status `running`, its closed segments and its epochs.
//!
//! Epoch boundaries are stamped with a [`Stamper`]: a boundary read of
//! every source whose instant is the boundary (see `sampler`).

use crate::fsutil;
use crate::rates::{RatePlan, RateReason, RateSettings};
use crate::sampler::{self, BoundaryProbe, BoundaryRead, Clock, LiveTotals, SamplerHandle};
use crate::sink::{self, SinkError, SinkReport};
use crate::sources::PowerSource;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
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
    /// The cap on the sources' rates and the per-source rates (`--rate`).
    pub rates: RateSettings,
    /// How often a complete samples segment reaches disk.
    pub flush_interval: Duration,
    /// Rewrite the segments into one file when the run ends cleanly.
    pub compact: bool,
    /// The command stamps epochs with boundary reads (the manifest says so
    /// from the start, so a killed run says it too).
    pub boundary_reads: bool,
}

impl Default for RecordingOptions {
    fn default() -> Self {
        Self {
            rates: RateSettings::default(),
            flush_interval: Duration::from_secs(1),
            compact: true,
            boundary_reads: false,
        }
    }
}

/// Stamps epoch boundaries with boundary reads; cheap to clone, usable from
/// any thread and from closures that cannot borrow the [`Recording`].
#[derive(Debug, Clone)]
pub struct Stamper {
    probe: Option<BoundaryProbe>,
    clock: Clock,
    live: Arc<Mutex<LiveTotals>>,
    unanswered: Arc<AtomicU64>,
}

impl Stamper {
    /// A boundary read now: its instant is the boundary. Where the sampler
    /// cannot answer (it stopped after a disk error) the boundary is a plain
    /// clock reading with the latest totals, and the run is warned about it.
    pub fn stamp(&self) -> BoundaryRead {
        if let Some(b) = self.probe.as_ref().and_then(BoundaryProbe::read) {
            return b;
        }
        self.unanswered.fetch_add(1, Ordering::Relaxed);
        BoundaryRead {
            t_ns: self.clock.now_ns(),
            live: self
                .live
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone(),
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
    unanswered: Arc<AtomicU64>,
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
        let infos: Vec<_> = sources.iter().map(|s| s.info()).collect();
        let updates: Vec<_> = sources.iter().map(|s| s.update_rate()).collect();
        let plan = RatePlan::new(&infos, &updates, &opts.rates);
        manifest.sources = source_entries(infos, &updates, &plan);
        for key in &plan.unmatched {
            manifest
                .warnings
                .push(format!("--rate {key}=…: no source here is called {key}"));
        }
        manifest.sampler.rate_hz = plan.tick_hz;
        manifest.sampler.boundary_reads = opts.boundary_reads;
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
        let sampler =
            sampler::spawn(sources, clock, plan, tx).map_err(|source| RecordingError::Thread {
                what: "sampler",
                source,
            })?;
        Ok(Self {
            dir,
            manifest,
            clock,
            epochs: Vec::new(),
            sampler: Some(sampler),
            writer: Some(writer),
            compact: opts.compact,
            unanswered: Arc::default(),
        })
    }

    /// Where to stamp epoch boundaries (see [`Stamper`]).
    pub fn stamper(&self) -> Stamper {
        Stamper {
            probe: self.sampler.as_ref().map(SamplerHandle::probe),
            clock: self.clock,
            live: self.live_shared(),
            unanswered: self.unanswered.clone(),
        }
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
        // The sampler has sent its last rows: wake the writer to write them.
        let sink = match self.writer.take().map(|w| {
            w.thread().unpark();
            w.join()
        }) {
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
        let unanswered = self.unanswered.load(Ordering::Relaxed);
        if unanswered > 0 {
            m.warnings.push(format!(
                "{unanswered} epoch boundaries could not be read (the sampler had stopped): \
                 they are plain clock readings with no boundary read at their instant"
            ));
        }
        m.sampler.boundary_reads |= outcome.boundary_reads > 0;
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

/// The manifest's source entries: each source's `poll_hz` is the rate it is
/// read at, and its meter's update rate is kept in its settings.
pub(crate) fn source_entries(
    infos: Vec<trainwatt_trace::SourceInfo>,
    updates: &[Option<crate::rates::UpdateRate>],
    plan: &RatePlan,
) -> Vec<trainwatt_trace::SourceInfo> {
    infos
        .into_iter()
        .zip(updates)
        .zip(&plan.sources)
        .map(|((mut info, update), rate)| {
            info.poll_hz = rate.hz;
            let s = &mut info.settings;
            if let Some(u) = update {
                s.insert("update_hz".into(), u.hz.into());
                s.insert("update_hz_from".into(), u.from.clone().into());
            }
            let why = match rate.reason {
                RateReason::Update => "update rate",
                RateReason::Cap => "--rate cap",
                RateReason::Override => "--rate SOURCE=HZ",
            };
            s.insert("poll_hz_from".into(), why.into());
            info
        })
        .collect()
}

fn write_manifest(dir: &Path, m: &Manifest) -> Result<(), RecordingError> {
    let path = dir.join(MANIFEST_FILE);
    fsutil::write_bytes_atomic(&path, m.to_json().as_bytes())
        .map_err(|source| RecordingError::Write { path, source })
}
