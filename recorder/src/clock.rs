//! The run's clock and the sampler's absolute schedule.
//!
//! The clock is `CLOCK_MONOTONIC` (what `std::time::Instant` reads on
//! Linux) counted from the run's origin, so every stamp of a run — samples,
//! epoch boundaries, a wrapped child's own instants — is on one clock that
//! NTP cannot step. The origin's raw `CLOCK_MONOTONIC` value is known, and
//! `recorder wrap` hands it to the child (`TRAINWATT_CLOCK_ORIGIN_NS`), so a
//! child can put its instants on the run's clock too.
//!
//! Why an absolute schedule: "sleep one period after each read" drifts by
//! the read time every tick, so a 1 kHz sampler silently becomes a 900 Hz
//! one. Here tick k is due at `origin + k·period`; when a tick starts after
//! its successor's deadline has passed, the skipped deadlines are counted as
//! missed and the schedule jumps ahead instead of bursting to catch up.
//!
//! Why the sleep is `park_timeout` and not `sleep`: a request for a boundary
//! read must wake the sampler at once (`Thread::unpark`), not at its next
//! tick, which at 10 Hz is up to 100 ms away. Both are one futex or
//! nanosleep system call with the same timer slack; `examples/tick_floor`
//! sleeps the same way, so the floor it measures is this sleep's.

use std::time::{Duration, Instant};

/// The run's monotonic clock: nanoseconds since its origin, plus the UTC
/// wall-clock time of that origin (the anchor stored in the manifest).
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    origin: Instant,
    origin_monotonic_ns: i64,
    started_at: chrono::DateTime<chrono::Utc>,
}

/// `CLOCK_MONOTONIC` in ns (0 where the kernel refuses, which it does not
/// for this clock).
pub fn monotonic_ns() -> i64 {
    nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC)
        .map(|t| t.tv_sec() * 1_000_000_000 + t.tv_nsec())
        .unwrap_or(0)
}

impl Clock {
    pub fn start() -> Self {
        // `Instant` is CLOCK_MONOTONIC; bracketing it with two raw reads
        // places its origin on that clock to within half their spacing
        // (tens of ns).
        let before = monotonic_ns();
        let origin = Instant::now();
        let after = monotonic_ns();
        Self {
            origin,
            origin_monotonic_ns: before + (after - before) / 2,
            started_at: chrono::Utc::now(),
        }
    }

    /// Nanoseconds since the origin.
    pub fn now_ns(&self) -> i64 {
        i64::try_from(self.origin.elapsed().as_nanos()).unwrap_or(i64::MAX)
    }

    /// `CLOCK_MONOTONIC` of t_ns = 0, in ns.
    pub fn origin_monotonic_ns(&self) -> i64 {
        self.origin_monotonic_ns
    }

    /// RFC 3339 UTC time of t_ns = 0, with nanoseconds.
    pub fn started_at_utc(&self) -> String {
        self.started_at
            .to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
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

    /// The index of the current tick (0 for the first).
    pub fn tick(&self) -> u64 {
        self.k as u64
    }

    /// Moves to the next tick that is still ahead: returns its deadline and
    /// how many deadlines had already passed (skipped, not caught up in a
    /// burst).
    pub fn advance(&mut self, clock: &Clock) -> (i64, u64) {
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
        (deadline, missed)
    }

    /// Sleeps until the next tick is due; returns the deadlines missed.
    pub fn wait_next(&mut self, clock: &Clock) -> u64 {
        let (deadline, missed) = self.advance(clock);
        sleep_until(clock, deadline, || false);
        missed
    }
}

/// Sleeps until `deadline_ns` on `clock`, or until `woken` returns true
/// when checked (before the first sleep and after every wake-up, which an
/// `unpark` of this thread causes). Returns whether `woken` ended it.
pub fn sleep_until(clock: &Clock, deadline_ns: i64, mut woken: impl FnMut() -> bool) -> bool {
    loop {
        if woken() {
            return true;
        }
        let now = clock.now_ns();
        if now >= deadline_ns {
            return false;
        }
        std::thread::park_timeout(Duration::from_nanos((deadline_ns - now) as u64));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_origin_is_on_clock_monotonic() {
        let c = Clock::start();
        let raw = monotonic_ns() - c.origin_monotonic_ns();
        let run = c.now_ns();
        // Two reads of one clock, a few µs apart at most on a busy machine.
        assert!((raw - run).abs() < 5_000_000, "{raw} vs {run}");
        assert!(c.origin_monotonic_ns() > 0);
    }

    #[test]
    fn an_unpark_ends_the_sleep_early() {
        let c = Clock::start();
        let me = std::thread::current();
        let flag = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let f2 = flag.clone();
        let waker = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            f2.store(true, std::sync::atomic::Ordering::SeqCst);
            me.unpark();
        });
        let woken = sleep_until(&c, c.now_ns() + 20_000_000_000, || {
            flag.load(std::sync::atomic::Ordering::SeqCst)
        });
        waker.join().unwrap();
        assert!(woken);
        assert!(c.now_ns() < 10_000_000_000, "slept to the deadline");
        // Without a wake it sleeps to the deadline.
        let d = c.now_ns() + 5_000_000;
        assert!(!sleep_until(&c, d, || false));
        assert!(c.now_ns() >= d);
    }

    #[test]
    fn missed_deadlines_are_skipped_not_bursted() {
        let c = Clock::start();
        let mut s = Schedule::new(c.now_ns(), 1_000_000);
        std::thread::sleep(Duration::from_millis(10));
        let (deadline, missed) = s.advance(&c);
        assert!(missed >= 9, "{missed}");
        assert!(deadline > c.now_ns() - 1_000_000);
        assert_eq!(s.tick(), missed + 1);
    }
}
