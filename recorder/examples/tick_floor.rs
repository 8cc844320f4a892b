//! The floor under the recorder's sampling overhead on this machine: a
//! thread that does nothing but wake on the sampler's own absolute schedule
//! (`recorder::sampler::Schedule`, the same sleep; no sources, no writer).
//! `bench/recorder_overhead.sh` prints its CPU time and missed deadlines
//! beside the recorder's, so the recorder's own cost is the difference.
//!
//! Usage: `tick_floor [SECONDS] [RATE_HZ]` (defaults 10 s, 1000 Hz).

use recorder::sampler::{Clock, Schedule};

fn main() {
    let mut args = std::env::args().skip(1);
    let seconds: f64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(10.0);
    let rate_hz: f64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(1000.0);
    let period_ns = (1e9 / rate_hz).round() as i64;
    let thread = std::thread::spawn(move || {
        let cpu0 = recorder::cputime::thread_cpu_s().unwrap_or(0.0);
        let clock = Clock::start();
        let mut schedule = Schedule::new(clock.now_ns(), period_ns);
        let (mut ticks, mut missed) = (0u64, 0u64);
        let end_ns = (seconds * 1e9) as i64;
        while clock.now_ns() < end_ns {
            ticks += 1;
            missed += schedule.wait_next(&clock);
        }
        let cpu_s = recorder::cputime::thread_cpu_s().unwrap_or(0.0) - cpu0;
        (ticks, missed, cpu_s, clock.now_ns() as f64 * 1e-9)
    });
    let (ticks, missed, cpu_s, wall_s) = thread.join().expect("the ticking thread panicked");
    println!(
        "{{\"ticks\": {ticks}, \"missed_deadlines\": {missed}, \"cpu_s\": {cpu_s:.6}, \"wall_s\": {wall_s:.6}}}"
    );
}
