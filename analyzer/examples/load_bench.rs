//! Times `analyzer::archive::load` on an archive, for bench/analyzer_bench.sh
//! (until `analyzer efficiency` exists to time end to end, and beside it
//! after, to separate reading from the rest).
//!
//! usage: load_bench ARCHIVE [SAMPLES]
//! Prints runs, exclusions, seconds, samples/s (when SAMPLES, the archive's
//! sample count, is given) and a checksum of E(i) over all runs and epochs
//! that must match the DuckDB query's.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(root) = args.next() else {
        eprintln!("usage: load_bench ARCHIVE [SAMPLES]");
        return ExitCode::FAILURE;
    };
    let samples: Option<f64> = args.next().and_then(|s| s.trim().parse().ok());
    let start = Instant::now();
    let loaded = match analyzer::archive::load(&[PathBuf::from(root)], &Default::default()) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("load_bench: {e}");
            return ExitCode::FAILURE;
        }
    };
    let secs = start.elapsed().as_secs_f64();
    for x in &loaded.excluded {
        eprintln!("excluded {}: {}", x.dir.display(), x.reason);
    }
    let checksum: f64 = loaded
        .runs
        .iter()
        .flat_map(|r| r.epochs.iter().map(|e| e.energy_j))
        .sum();
    let epochs: usize = loaded.runs.iter().map(|r| r.epochs.len()).sum();
    print!(
        "ours runs={} excluded={} epochs={epochs} seconds={secs:.3} energy_checksum_j={checksum:.6}",
        loaded.runs.len(),
        loaded.excluded.len()
    );
    if let Some(n) = samples {
        print!(" samples_per_s={:.0}", n / secs);
    }
    println!();
    ExitCode::SUCCESS
}
