//! CPU time of the calling thread, so every run records what the recorder's
//! own threads cost (`manifest.sampler.sampler_cpu_s`, `writer_cpu_s`).

/// User plus system CPU time the calling thread has used, in seconds, from
/// `getrusage(RUSAGE_THREAD)`; `None` where the kernel refuses.
pub fn thread_cpu_s() -> Option<f64> {
    use nix::sys::resource::{getrusage, UsageWho};
    use nix::sys::time::TimeValLike;
    let u = getrusage(UsageWho::RUSAGE_THREAD).ok()?;
    let us = u.user_time().num_microseconds() + u.system_time().num_microseconds();
    Some(us as f64 * 1e-6)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_this_threads_work_and_not_others() {
        let before = thread_cpu_s().expect("getrusage(RUSAGE_THREAD) works on Linux");
        // Another thread burns 0.2 s of CPU (whatever the wall time on a
        // loaded machine); none of it may be charged to this thread.
        let spinner = std::thread::spawn(|| {
            let start = thread_cpu_s().unwrap();
            let wall = std::time::Instant::now();
            let mut x = 0u64;
            while thread_cpu_s().unwrap() - start < 0.2 {
                x = std::hint::black_box(x.wrapping_add(1));
                assert!(
                    wall.elapsed().as_secs() < 30,
                    "thread CPU time never advanced"
                );
            }
        });
        spinner.join().unwrap();
        let charged = thread_cpu_s().unwrap() - before;
        assert!(charged < 0.1, "a waiting thread was charged {charged} s");
    }
}
