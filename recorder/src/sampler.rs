//! The sampling loop: reads every source on an absolute schedule (see
//! [`crate::clock`]) on its own thread, each source at its own rate (see
//! [`crate::rates`]), takes boundary reads on request, and hands batches of
//! rows to the writer thread.
//!
//! **Boundary reads.** When an epoch starts or ends, the recorder asks for
//! one ([`BoundaryProbe::read`]): the request goes over a channel and wakes
//! the sampler at once (`unpark`), which stamps one instant t, reads every
//! source with it, marks those rows `boundary` and answers t, which becomes
//! the epoch's end (and the next one's start). Why through the sampler and
//! not on the caller's thread: the sources stay owned by one thread (a
//! counter's unwrapping must see its reads in order), and the epoch's
//! boundary is then exactly the instant the counters were read, so a
//! counter's energy per epoch is the difference of two stored reads, with
//! no interpolation, however slowly the source is sampled in between.
//!
//! Every row's t is strictly later than the previous one's (a tick and a
//! boundary read on the same nanosecond would be two readings of one
//! instant, which a reader must reject), so a t may be 1 ns later than the
//! clock said.
//!
//! The thread never blocks on I/O: batches go out with `try_send` on a
//! bounded channel, and a full channel only makes the batch grow locally
//! (nothing is dropped) until the writer catches up.

use crate::clock::sleep_until;
pub use crate::clock::{Clock, Schedule};
use crate::rates::RatePlan;
use crate::sink::MarkedSampleRow;
use crate::sources::{PowerSource, Reading};
use crossbeam_channel::{Receiver, Sender, TrySendError};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use trainwatt_trace::SourceInfo;

/// Running totals the recorder reads for live stopping rules and progress.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LiveTotals {
    /// Energy of additive sources (gpu, cpu-package, dram) since the
    /// sampler started, J: counters where a source has one, else trapezoid.
    pub energy_j: f64,
    /// The paper's sample-sum over the same sources, in summed W (scheduled
    /// reads only: a boundary read is not a sample of the schedule).
    pub sample_sum_w: f64,
    /// t_ns of the latest reading included.
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
    /// Boundary reads taken.
    pub boundary_reads: u64,
    /// The first error of each source that had any.
    pub first_errors: Vec<String>,
    /// The writer went away (disk error): sampling stopped early.
    pub writer_lost: bool,
    /// CPU time the sampling thread used, s (user + system).
    pub cpu_s: Option<f64>,
}

/// The answer to a boundary read: its instant, and the running totals
/// including it (exact counter energies at that instant).
#[derive(Debug, Clone, PartialEq)]
pub struct BoundaryRead {
    pub t_ns: i64,
    pub live: LiveTotals,
}

#[derive(Debug)]
struct BoundaryRequest {
    reply: Sender<BoundaryRead>,
}

/// Asks the sampler for boundary reads, from any thread.
#[derive(Debug, Clone)]
pub struct BoundaryProbe {
    tx: Sender<BoundaryRequest>,
    sampler: std::thread::Thread,
}

impl BoundaryProbe {
    /// How long to wait for the sampler's answer: it answers within one
    /// read of every source unless a source hangs.
    pub const TIMEOUT: Duration = Duration::from_secs(5);

    /// Reads every source now, as a boundary read; returns its instant, or
    /// `None` when the sampler has stopped (or did not answer in time).
    pub fn read(&self) -> Option<BoundaryRead> {
        let (reply, rx) = crossbeam_channel::bounded(1);
        self.tx.send(BoundaryRequest { reply }).ok()?;
        self.sampler.unpark();
        rx.recv_timeout(Self::TIMEOUT).ok()
    }
}

/// A running sampler; [`SamplerHandle::stop`] ends it and flushes.
#[derive(Debug)]
pub struct SamplerHandle {
    stop: Arc<AtomicBool>,
    live: Arc<Mutex<LiveTotals>>,
    probe: BoundaryProbe,
    thread: JoinHandle<SamplerOutcome>,
}

impl SamplerHandle {
    /// The running totals as of the latest reading.
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

    /// Where to ask for boundary reads.
    pub fn probe(&self) -> BoundaryProbe {
        self.probe.clone()
    }

    /// Stops sampling, sends the last rows and returns the statistics.
    pub fn stop(self) -> SamplerOutcome {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.thread().unpark();
        self.thread.join().unwrap_or_else(|_| SamplerOutcome {
            first_errors: vec!["the sampler thread panicked".into()],
            ..SamplerOutcome::default()
        })
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

/// Starts sampling `sources` as `plan` says on a new thread.
pub fn spawn(
    sources: Vec<Box<dyn PowerSource>>,
    clock: Clock,
    plan: RatePlan,
    tx: Sender<Vec<MarkedSampleRow>>,
) -> std::io::Result<SamplerHandle> {
    let stop = Arc::new(AtomicBool::new(false));
    let live = Arc::new(Mutex::new(LiveTotals::default()));
    let (req_tx, req_rx) = crossbeam_channel::unbounded();
    let (stop2, live2) = (stop.clone(), live.clone());
    let thread = std::thread::Builder::new()
        .name("trainwatt-sampler".into())
        .spawn(move || {
            let mut s = Sampler::new(sources, clock, &live2);
            s.run(&plan, &tx, &stop2, &req_rx);
            let mut out = s.out;
            out.cpu_s = crate::cputime::thread_cpu_s();
            out
        })?;
    let probe = BoundaryProbe {
        tx: req_tx,
        sampler: thread.thread().clone(),
    };
    Ok(SamplerHandle {
        stop,
        live,
        probe,
        thread,
    })
}

/// The sampling thread's state.
struct Sampler<'a> {
    sources: Vec<Box<dyn PowerSource>>,
    infos: Vec<SourceInfo>,
    state: Vec<LiveSource>,
    errored: Vec<bool>,
    clock: Clock,
    live: &'a Mutex<LiveTotals>,
    buf: Vec<MarkedSampleRow>,
    last_t: i64,
    out: SamplerOutcome,
}

impl<'a> Sampler<'a> {
    fn new(sources: Vec<Box<dyn PowerSource>>, clock: Clock, live: &'a Mutex<LiveTotals>) -> Self {
        let infos: Vec<SourceInfo> = sources.iter().map(|s| s.info()).collect();
        let state = infos
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
        Self {
            errored: vec![false; sources.len()],
            sources,
            infos,
            state,
            clock,
            live,
            buf: Vec::new(),
            last_t: i64::MIN,
            out: SamplerOutcome::default(),
        }
    }

    /// The clock now, but strictly after the previous reading's instant.
    fn next_t(&mut self) -> i64 {
        let t = self.clock.now_ns().max(self.last_t.saturating_add(1));
        self.last_t = t;
        t
    }

    fn run(
        &mut self,
        plan: &RatePlan,
        tx: &Sender<Vec<MarkedSampleRow>>,
        stop: &AtomicBool,
        requests: &Receiver<BoundaryRequest>,
    ) {
        let n = self.sources.len();
        let period_ns = (1e9 / plan.tick_hz.max(1e-3)).round().max(1.0) as i64;
        let every: Vec<u64> = (0..n)
            .map(|i| plan.sources.get(i).map_or(1, |r| r.every_ticks.max(1)))
            .collect();
        // The tick on which each source is next read: every k-th tick, on
        // multiples of k, so skipped ticks do not shift its schedule.
        let mut next_tick = vec![0u64; n];
        // Room for one send interval of rows, so the hot loop never reallocates.
        let batch_rows =
            (plan.tick_hz * SEND_EVERY.as_secs_f64()).ceil() as usize * n.max(1) + 2 * n;
        self.buf.reserve(batch_rows);
        let mut schedule = Schedule::new(self.clock.now_ns(), period_ns);
        let mut last_send = Instant::now();
        while !stop.load(Ordering::Relaxed) {
            let k = schedule.tick();
            let now = self.next_t();
            self.out.ticks += 1;
            let mut sum_w = 0.0;
            for i in 0..n {
                if k < next_tick[i] {
                    continue;
                }
                next_tick[i] = (k / every[i] + 1) * every[i];
                if let Some(p) = self.read(i, now, false).and_then(|r| r.power_w) {
                    if self.state[i].additive {
                        sum_w += f64::from(p);
                    }
                }
            }
            self.publish(sum_w, now);
            if last_send.elapsed() >= SEND_EVERY && !self.buf.is_empty() {
                let batch = std::mem::replace(&mut self.buf, Vec::with_capacity(batch_rows));
                match tx.try_send(batch) {
                    Ok(()) => last_send = Instant::now(),
                    Err(TrySendError::Full(b)) => self.buf = b,
                    Err(TrySendError::Disconnected(_)) => {
                        self.out.writer_lost = true;
                        return;
                    }
                }
            }
            let (deadline, missed) = schedule.advance(&self.clock);
            self.out.missed_deadlines += missed;
            let clock = self.clock;
            sleep_until(&clock, deadline, || {
                self.serve(requests);
                stop.load(Ordering::Relaxed)
            });
        }
        // A closing reading of every source, whatever its rate, so the
        // samples of slowly read sources cover everything up to the stop
        // (the analyzer refuses to extrapolate past a source's last sample).
        self.serve(requests);
        let now = self.next_t();
        for i in 0..n {
            self.read(i, now, false);
        }
        let rest = std::mem::take(&mut self.buf);
        if !rest.is_empty() && tx.send(rest).is_err() {
            self.out.writer_lost = true;
        }
    }

    /// Takes every pending boundary read.
    fn serve(&mut self, requests: &Receiver<BoundaryRequest>) {
        while let Ok(req) = requests.try_recv() {
            let t = self.next_t();
            for i in 0..self.sources.len() {
                self.read(i, t, true);
            }
            self.out.boundary_reads += 1;
            let live = self.publish(0.0, t);
            // The asker may have given up waiting; nothing to do then.
            let _ = req.reply.send(BoundaryRead { t_ns: t, live });
        }
    }

    /// Reads source `i` once at `t_ns`: queues its row, counts a suspect
    /// wrap, or counts the error (keeping the first message per source);
    /// feeds the live totals.
    fn read(&mut self, i: usize, t_ns: i64, boundary: bool) -> Option<Reading> {
        let r = match self.sources[i].read(t_ns) {
            Ok(r) => r,
            Err(e) => {
                self.out.read_errors += 1;
                if !self.errored[i] {
                    self.errored[i] = true;
                    let id = &self.infos[i].id;
                    self.out.first_errors.push(format!("{id}: {e}"));
                }
                return None;
            }
        };
        self.out.suspect_wraps += u64::from(r.suspect_wrap);
        self.buf.push(MarkedSampleRow {
            t_ns,
            source: i as u16,
            power_w: r.power_w,
            energy_uj: r.energy_uj,
            boundary,
        });
        let s = &mut self.state[i];
        if let Some(p) = r.power_w {
            if let Some((t0, p0)) = s.last {
                s.integral_j += 0.5 * f64::from(p0 + p) * (t_ns - t0) as f64 * 1e-9;
            }
            s.last = Some((t_ns, p));
        }
        if let Some(e) = r.energy_uj {
            let first = *s.first_energy_uj.get_or_insert(e);
            s.has_counter = true;
            s.energy_j = (e - first) as f64 * 1e-6;
        }
        Some(r)
    }

    /// Publishes the running totals as of `t_ns`; returns them.
    fn publish(&self, sum_w: f64, t_ns: i64) -> LiveTotals {
        let primed = self
            .state
            .iter()
            .zip(&self.errored)
            .all(|(s, &failed)| failed || s.last.is_some() || s.first_energy_uj.is_some());
        let energy_j: f64 = self
            .state
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
        let mut l = self.live.lock().unwrap_or_else(PoisonError::into_inner);
        l.energy_j = energy_j;
        l.sample_sum_w += sum_w;
        l.t_ns = t_ns;
        l.primed = primed;
        l.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::{FakeSource, SourceError};
    use trainwatt_trace::{Domain, Method};

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
            RatePlan::uniform(1000.0, 1),
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

    /// A 1 Hz sampler answers a boundary read at once (not at its next
    /// tick), reads every source at the answered instant, and marks those
    /// rows; the counter there is the exact energy to that instant.
    #[test]
    fn boundary_reads_wake_the_sampler_and_mark_their_rows() {
        let (tx, rx) = crossbeam_channel::unbounded();
        let clock = Clock::start();
        let h = spawn(
            vec![
                Box::new(FakeSource::new("gpu", Domain::Gpu, 200.0)),
                Box::new(FakeSource::new("cpu", Domain::CpuPackage, 50.0)),
            ],
            clock,
            RatePlan::uniform(1.0, 2),
            tx,
        )
        .unwrap();
        let probe = h.probe();
        std::thread::sleep(Duration::from_millis(30));
        let asked = clock.now_ns();
        let b = probe.read().unwrap();
        let waited_ms = (clock.now_ns() - asked) as f64 * 1e-6;
        assert!(waited_ms < 500.0, "answered after {waited_ms} ms");
        assert!(b.t_ns >= asked);
        let b2 = probe.read().unwrap();
        assert!(b2.t_ns > b.t_ns);
        // 250 W of counters: the live energy is exact at the instant.
        let want_j = 250.0 * b2.t_ns as f64 * 1e-9;
        assert!((b2.live.energy_j - want_j).abs() < 250.0 * 1e-3, "{b2:?}");
        let out = h.stop();
        assert_eq!(out.boundary_reads, 2);
        assert!(probe.read().is_none(), "a stopped sampler answers nothing");
        let rows: Vec<MarkedSampleRow> = rx.try_iter().flatten().collect();
        let marked: Vec<(i64, u16)> = rows
            .iter()
            .filter(|r| r.boundary)
            .map(|r| (r.t_ns, r.source))
            .collect();
        assert_eq!(
            marked,
            [(b.t_ns, 0), (b.t_ns, 1), (b2.t_ns, 0), (b2.t_ns, 1)]
        );
        let at = |t: i64| rows.iter().find(|r| r.t_ns == t && r.source == 0).unwrap();
        assert_eq!(
            at(b.t_ns).energy_uj,
            Some(FakeSource::new("g", Domain::Gpu, 200.0).energy_uj_at(b.t_ns))
        );
        // Strictly increasing instants.
        let mut ts: Vec<i64> = rows
            .iter()
            .filter(|r| r.source == 0)
            .map(|r| r.t_ns)
            .collect();
        let n = ts.len();
        ts.dedup();
        assert_eq!(ts.len(), n);
        assert!(ts.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn each_source_is_read_on_its_share_of_the_ticks() {
        let (tx, rx) = crossbeam_channel::unbounded();
        let mut plan = RatePlan::uniform(200.0, 2);
        plan.sources[1].every_ticks = 5;
        let h = spawn(
            vec![
                Box::new(FakeSource::new("gpu", Domain::Gpu, 1.0)),
                Box::new(FakeSource::new("cpu", Domain::CpuPackage, 1.0)),
            ],
            Clock::start(),
            plan,
            tx,
        )
        .unwrap();
        std::thread::sleep(Duration::from_millis(600));
        let out = h.stop();
        let rows: Vec<MarkedSampleRow> = rx.try_iter().flatten().collect();
        let count = |s: u16| rows.iter().filter(|r| r.source == s).count() as u64;
        // The fast source on every tick taken, the slow one whenever the
        // tick index (taken and skipped ticks) passes a multiple of 5; both
        // once more in the closing reading.
        assert_eq!(count(0), out.ticks + 1);
        let indices = out.ticks + out.missed_deadlines;
        let slow = count(1) - 1;
        assert!(
            slow * 5 + 5 >= indices && slow * 5 <= indices + 5,
            "{slow} slow reads over {indices} tick indices"
        );
    }
}
