//! The sampling loop: reads every source on an absolute schedule on its own
//! thread and hands batches of rows to the writer thread.
//!
//! Why an absolute schedule: "sleep one period after each read" drifts by
//! the read time every tick, so a 1 kHz sampler silently becomes a 900 Hz
//! one. Here tick k is due at `origin + k·period`; when a tick starts after
//! its successor's deadline has passed, the skipped deadlines are counted as
//! missed and the schedule jumps ahead instead of bursting to catch up.
//!
//! The thread never blocks on I/O: batches go out with `try_send` on a
//! bounded channel, and a full channel only makes the batch grow locally
//! (nothing is dropped) until the writer catches up.

use crate::sink::SampleRow;
use crate::sources::PowerSource;
use crossbeam_channel::{Sender, TrySendError};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The run's monotonic clock: nanoseconds since its origin, plus the UTC
/// wall-clock time of that origin (the anchor stored in the manifest).
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    origin: Instant,
    started_at: chrono::DateTime<chrono::Utc>,
}

impl Clock {
    pub fn start() -> Self {
        Self {
            origin: Instant::now(),
            started_at: chrono::Utc::now(),
        }
    }

    /// Nanoseconds since the origin.
    pub fn now_ns(&self) -> i64 {
        i64::try_from(self.origin.elapsed().as_nanos()).unwrap_or(i64::MAX)
    }

    /// RFC 3339 UTC time of t_ns = 0, with nanoseconds.
    pub fn started_at_utc(&self) -> String {
        self.started_at
            .to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
    }
}

/// Running totals the recorder reads for live stopping rules and progress.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LiveTotals {
    /// Energy of additive sources (gpu, cpu-package, dram) since the
    /// sampler started, J: counters where a source has one, else trapezoid.
    pub energy_j: f64,
    /// The paper's sample-sum over the same sources, in summed W.
    pub sample_sum_w: f64,
    /// t_ns of the latest tick included.
    pub t_ns: i64,
    /// Every source has delivered a first power or energy reading (or has
    /// failed): from here on the samples cover whatever starts now. A
    /// modelled CPU needs two `/proc/stat` reads before its first watt.
    pub primed: bool,
}

/// What the sampler did, for the manifest.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SamplerOutcome {
    pub ticks: u64,
    pub missed_deadlines: u64,
    pub suspect_wraps: u64,
    pub read_errors: u64,
    /// The first error of each source that had any.
    pub first_errors: Vec<String>,
    /// The writer went away (disk error): sampling stopped early.
    pub writer_lost: bool,
    /// CPU time the sampling thread used, s (user + system).
    pub cpu_s: Option<f64>,
}

/// A running sampler; [`SamplerHandle::stop`] ends it and flushes.
#[derive(Debug)]
pub struct SamplerHandle {
    stop: Arc<AtomicBool>,
    live: Arc<Mutex<LiveTotals>>,
    thread: JoinHandle<SamplerOutcome>,
}

impl SamplerHandle {
    /// The running totals as of the latest tick.
    pub fn live(&self) -> LiveTotals {
        self.live
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// A shared view of the running totals, for closures that outlive a
    /// borrow of the handle.
    pub fn live_shared(&self) -> Arc<Mutex<LiveTotals>> {
        self.live.clone()
    }

    /// Stops sampling, sends the last rows and returns the statistics.
    pub fn stop(self) -> SamplerOutcome {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().unwrap_or_else(|_| SamplerOutcome {
            first_errors: vec!["the sampler thread panicked".into()],
            ..SamplerOutcome::default()
        })
    }
}

/// The absolute schedule: tick k is due at `origin + k·period`. Shared by
/// the sampler and `examples/tick_floor.rs`, so the benchmark's floor wakes
/// exactly as the sampler does.
#[derive(Debug, Clone)]
pub struct Schedule {
    origin_ns: i64,
    period_ns: i64,
    k: i64,
}

impl Schedule {
    /// A schedule whose tick 0 is at `origin_ns` on the run's clock.
    pub fn new(origin_ns: i64, period_ns: i64) -> Self {
        Self {
            origin_ns,
            period_ns: period_ns.max(1),
            k: 0,
        }
    }

    /// Sleeps until the next tick is due. Deadlines that have already
    /// passed are skipped rather than caught up in a burst; returns how
    /// many were missed that way.
    pub fn wait_next(&mut self, clock: &Clock) -> u64 {
        self.k += 1;
        let mut deadline = self.origin_ns + self.k * self.period_ns;
        let now = clock.now_ns();
        let mut missed = 0;
        if now >= deadline {
            let behind = (now - deadline) / self.period_ns + 1;
            missed = behind as u64;
            self.k += behind;
            deadline = self.origin_ns + self.k * self.period_ns;
        }
        std::thread::sleep(Duration::from_nanos((deadline - now).max(0) as u64));
        missed
    }
}

/// Per-source running energy for the live totals.
struct LiveSource {
    additive: bool,
    first_energy_uj: Option<i64>,
    last: Option<(i64, f32)>,
    integral_j: f64,
    energy_j: f64,
    has_counter: bool,
}

/// How often batches are handed to the writer.
const SEND_EVERY: Duration = Duration::from_millis(50);

/// Starts sampling `sources` at `rate_hz` on a new thread.
pub fn spawn(
    mut sources: Vec<Box<dyn PowerSource>>,
    clock: Clock,
    rate_hz: f64,
    tx: Sender<Vec<SampleRow>>,
) -> std::io::Result<SamplerHandle> {
    let stop = Arc::new(AtomicBool::new(false));
    let live = Arc::new(Mutex::new(LiveTotals::default()));
    let (stop2, live2) = (stop.clone(), live.clone());
    let thread = std::thread::Builder::new()
        .name("trainwatt-sampler".into())
        .spawn(move || {
            let mut out = sample_loop(&mut sources, clock, rate_hz, &tx, &stop2, &live2);
            out.cpu_s = crate::cputime::thread_cpu_s();
            out
        })?;
    Ok(SamplerHandle { stop, live, thread })
}

fn sample_loop(
    sources: &mut [Box<dyn PowerSource>],
    clock: Clock,
    rate_hz: f64,
    tx: &Sender<Vec<SampleRow>>,
    stop: &AtomicBool,
    live: &Mutex<LiveTotals>,
) -> SamplerOutcome {
    let period_ns = (1e9 / rate_hz.max(1e-3)).round().max(1.0) as i64;
    let infos: Vec<_> = sources.iter().map(|s| s.info()).collect();
    // A source polled slower than the sampler (e.g. /proc/stat) is read on
    // its own schedule; between polls it is simply not read.
    let poll_ns: Vec<i64> = infos
        .iter()
        .map(|i| {
            let p = if i.poll_hz > 0.0 {
                (1e9 / i.poll_hz) as i64
            } else {
                period_ns
            };
            p.max(period_ns)
        })
        .collect();
    let mut next_poll = vec![0i64; sources.len()];
    let mut state: Vec<LiveSource> = infos
        .iter()
        .map(|i| LiveSource {
            additive: i.domain.is_additive(),
            first_energy_uj: None,
            last: None,
            integral_j: 0.0,
            energy_j: 0.0,
            has_counter: false,
        })
        .collect();
    let mut errored = vec![false; sources.len()];
    let mut out = SamplerOutcome::default();
    // Room for one send interval of rows, so the hot loop never reallocates.
    let batch_rows = (rate_hz * SEND_EVERY.as_secs_f64()).ceil() as usize * sources.len().max(1);
    let mut buf: Vec<SampleRow> = Vec::with_capacity(batch_rows);
    let mut schedule = Schedule::new(clock.now_ns(), period_ns);
    let mut last_send = Instant::now();
    while !stop.load(Ordering::Relaxed) {
        let now = clock.now_ns();
        out.ticks += 1;
        let mut sum_w = 0.0;
        for (i, src) in sources.iter_mut().enumerate() {
            if now < next_poll[i] {
                continue;
            }
            // Absolute per-source schedule too; half a period of slack so a
            // tick that lands a little early still takes the reading.
            let due = next_poll[i] + poll_ns[i];
            next_poll[i] = if due <= now {
                now + poll_ns[i] - period_ns / 2
            } else {
                due
            };
            let Some(r) = take_reading(
                src.as_mut(),
                i,
                now,
                &infos[i].id,
                &mut buf,
                &mut out,
                &mut errored[i],
            ) else {
                continue;
            };
            let s = &mut state[i];
            if let Some(p) = r.power_w {
                if let Some((t0, p0)) = s.last {
                    s.integral_j += 0.5 * f64::from(p0 + p) * (now - t0) as f64 * 1e-9;
                }
                s.last = Some((now, p));
                if s.additive {
                    sum_w += f64::from(p);
                }
            }
            if let Some(e) = r.energy_uj {
                let first = *s.first_energy_uj.get_or_insert(e);
                s.has_counter = true;
                s.energy_j = (e - first) as f64 * 1e-6;
            }
        }
        let primed = state
            .iter()
            .zip(&errored)
            .all(|(s, &failed)| failed || s.last.is_some() || s.first_energy_uj.is_some());
        update_live(live, &state, sum_w, now, primed);
        if last_send.elapsed() >= SEND_EVERY && !buf.is_empty() {
            match tx.try_send(std::mem::replace(&mut buf, Vec::with_capacity(batch_rows))) {
                Ok(()) => last_send = Instant::now(),
                Err(TrySendError::Full(b)) => buf = b,
                Err(TrySendError::Disconnected(_)) => {
                    out.writer_lost = true;
                    return out;
                }
            }
        }
        out.missed_deadlines += schedule.wait_next(&clock);
    }
    // A closing reading of every source, whatever its poll schedule, so the
    // samples of slowly polled sources cover everything up to the stop (the
    // analyzer refuses to extrapolate past a source's last sample).
    let now = clock.now_ns();
    for (i, src) in sources.iter_mut().enumerate() {
        take_reading(
            src.as_mut(),
            i,
            now,
            &infos[i].id,
            &mut buf,
            &mut out,
            &mut errored[i],
        );
    }
    if !buf.is_empty() && tx.send(buf).is_err() {
        out.writer_lost = true;
    }
    out
}

/// Reads one source once: queues its row, counts a suspect wrap, or counts
/// the error (keeping the first message per source). Shared by the ticks and
/// the closing reading so both record readings the same way.
fn take_reading(
    src: &mut dyn PowerSource,
    index: usize,
    t_ns: i64,
    id: &str,
    buf: &mut Vec<SampleRow>,
    out: &mut SamplerOutcome,
    errored: &mut bool,
) -> Option<crate::sources::Reading> {
    match src.read(t_ns) {
        Ok(r) => {
            out.suspect_wraps += u64::from(r.suspect_wrap);
            buf.push(SampleRow {
                t_ns,
                source: index as u16,
                power_w: r.power_w,
                energy_uj: r.energy_uj,
            });
            Some(r)
        }
        Err(e) => {
            out.read_errors += 1;
            if !*errored {
                *errored = true;
                out.first_errors.push(format!("{id}: {e}"));
            }
            None
        }
    }
}

fn update_live(
    live: &Mutex<LiveTotals>,
    state: &[LiveSource],
    sum_w: f64,
    t_ns: i64,
    primed: bool,
) {
    let energy_j: f64 = state
        .iter()
        .filter(|s| s.additive)
        .map(|s| {
            if s.has_counter {
                s.energy_j
            } else {
                s.integral_j
            }
        })
        .sum();
    let mut l = live.lock().unwrap_or_else(PoisonError::into_inner);
    l.energy_j = energy_j;
    l.sample_sum_w += sum_w;
    l.t_ns = t_ns;
    l.primed = primed;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::{Reading, SourceError};
    use trainwatt_trace::{Domain, Method, SourceInfo};

    /// A source whose first `silent` reads carry no value (like a modelled
    /// CPU before its second /proc/stat read), then 5 W.
    struct SlowStart {
        silent: u32,
    }

    impl PowerSource for SlowStart {
        fn info(&self) -> SourceInfo {
            SourceInfo {
                id: "slow".into(),
                domain: Domain::CpuPackage,
                method: Method::Modelled,
                description: String::new(),
                poll_hz: 0.0,
                settings: Default::default(),
            }
        }
        fn read(&mut self, _t_ns: i64) -> Result<Reading, SourceError> {
            if self.silent > 0 {
                self.silent -= 1;
                return Ok(Reading::default());
            }
            Ok(Reading {
                power_w: Some(5.0),
                ..Reading::default()
            })
        }
    }

    #[test]
    fn primed_only_once_every_source_has_a_value() {
        let (tx, rx) = crossbeam_channel::bounded(1024);
        let h = spawn(
            vec![Box::new(SlowStart { silent: 50 })],
            Clock::start(),
            1000.0,
            tx,
        )
        .unwrap();
        let mut seen_unprimed_at = None;
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let live = h.live();
            if live.primed {
                break;
            }
            if live.t_ns > 0 {
                seen_unprimed_at = Some(live.t_ns);
            }
            assert!(Instant::now() < deadline, "never primed");
            std::thread::sleep(Duration::from_micros(200));
        }
        let out = h.stop();
        drop(rx);
        // 50 silent reads at 1 kHz: not primed for the first ~50 ms of ticks.
        assert!(seen_unprimed_at.is_some(), "primed before any value");
        assert!(out.ticks > 50, "{out:?}");
    }
}
