//! The floor under the recorder's sampling overhead on this machine: a
//! thread that does nothing but wake on the sampler's absolute 1 kHz
//! schedule (same sleep call, no sources, no writer). `bench/recorder_overhead.sh`
//! prints its CPU time and missed deadlines beside the recorder's, so the
//! recorder's own cost is the difference.
//!
//! Usage: `tick_floor [SECONDS] [RATE_HZ]` (defaults 10 s, 1000 Hz).

use std::time::{Duration, Instant};

fn main() {
    let mut args = std::env::args().skip(1);
    let seconds: f64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(10.0);
    let rate_hz: f64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(1000.0);
    let period = Duration::from_secs_f64(1.0 / rate_hz);
    let thread = std::thread::spawn(move || {
        let cpu0 = recorder::cputime::thread_cpu_s().unwrap_or(0.0);
        let origin = Instant::now();
        let (mut k, mut ticks, mut missed) = (0u32, 0u64, 0u64);
        while origin.elapsed().as_secs_f64() < seconds {
            ticks += 1;
            k += 1;
            let mut deadline = origin + period * k;
            let now = Instant::now();
            if now >= deadline {
                let behind = ((now - deadline).as_nanos() / period.as_nanos()) as u32 + 1;
                missed += u64::from(behind);
                k += behind;
                deadline = origin + period * k;
            }
            std::thread::sleep(deadline.saturating_duration_since(now));
        }
        let cpu_s = recorder::cputime::thread_cpu_s().unwrap_or(0.0) - cpu0;
        (ticks, missed, cpu_s, origin.elapsed().as_secs_f64())
    });
    let (ticks, missed, cpu_s, wall_s) = thread.join().expect("the ticking thread panicked");
    println!(
        "{{\"ticks\": {ticks}, \"missed_deadlines\": {missed}, \"cpu_s\": {cpu_s:.6}, \"wall_s\": {wall_s:.6}}}"
    );
}
