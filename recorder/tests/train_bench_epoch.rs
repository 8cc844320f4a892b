//! Rust side of the epoch-time benchmark (`bench/train_epoch.sh` runs it):
//! prints `arch width seconds` for each model in `TRAINWATT_BENCH_MODELS`
//! (default `lenet:1,lenet:5,bcnn:1`), with `TRAINWATT_BENCH_THREADS`
//! threads (default 2) over `TRAINWATT_BENCH_EXAMPLES` examples (default
//! 10 000). Ignored by default: it measures, it does not check.
#![cfg(feature = "train")]

use recorder::train::{bench_epoch, Arch};

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[test]
#[ignore = "benchmark; run through bench/train_epoch.sh"]
fn epoch_times() {
    let threads: i32 = env_or("TRAINWATT_BENCH_THREADS", 2);
    let examples: i64 = env_or("TRAINWATT_BENCH_EXAMPLES", 10_000);
    let models: String = env_or(
        "TRAINWATT_BENCH_MODELS",
        "lenet:1,lenet:5,bcnn:1".to_string(),
    );
    for spec in models.split(',') {
        let (arch, width) = spec.split_once(':').expect("models look like arch:width");
        let arch: Arch = arch.parse().expect("a known architecture");
        let width: f64 = width.parse().expect("a numeric width");
        let secs = bench_epoch(arch, width, threads, examples).expect("benchmark epoch");
        println!("BENCH {arch} {width} {secs:.4}");
    }
}
