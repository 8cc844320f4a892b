//! Writes the synthetic archive of `bench/analyzer_bench.sh` with the
//! recorder's own writer: per-second segments through
//! `recorder::sink::write_segment` (exactly what a recording flushes), the
//! epoch rows through `write_epochs`, then — unless `--keep-segments`, the
//! layout a killed run leaves — `compact_samples`, what a clean finish does.
//!
//! Three counter sources (GPU, CPU package, DRAM) sampled at RATE_HZ with a
//! little read jitter; power drifts slowly with noise and each counter is
//! the running integral of its power. A 2 s pre-training window precedes
//! epoch 1; each epoch ends 50 ms before the next starts.
//!
//! usage: bench_archive OUT RUNS EPOCHS EPOCH_S RATE_HZ [--keep-segments]
//! Prints the sample count; writes it to OUT/SAMPLES.

use recorder::sink::{write_epochs, write_segment, MarkedSampleRow};
use std::path::{Path, PathBuf};
use trainwatt_trace::layout::Partition;
use trainwatt_trace::{
    Domain, EpochRow, HostFacts, Manifest, Method, RunStatus, SamplerStats, SourceInfo, Workload,
    SCHEMA_VERSION,
};

const SOURCES: [(&str, Domain, f64, f64); 3] = [
    ("nvml:0", Domain::Gpu, 150.0, 40.0),
    ("rapl:package-0", Domain::CpuPackage, 45.0, 8.0),
    ("rapl:dram-0", Domain::Dram, 6.0, 1.0),
];
const PRE_S: f64 = 2.0;
const EVAL_GAP_S: f64 = 0.05;

/// splitmix64: deterministic, dependency-free noise for a benchmark.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let keep_segments = args.iter().any(|a| a == "--keep-segments");
    let pos: Vec<&String> = args.iter().filter(|a| !a.starts_with("--")).collect();
    anyhow::ensure!(
        pos.len() == 5,
        "usage: bench_archive OUT RUNS EPOCHS EPOCH_S RATE_HZ [--keep-segments]"
    );
    let out = PathBuf::from(pos[0]);
    let runs: usize = pos[1].parse()?;
    let epochs: u32 = pos[2].parse()?;
    let epoch_s: f64 = pos[3].parse()?;
    let rate_hz: f64 = pos[4].parse()?;
    let mut rng = Rng(2024);
    let mut total = 0u64;
    for r in 0..runs {
        total += write_run(&out, r, epochs, epoch_s, rate_hz, keep_segments, &mut rng)?;
        eprint!("\rbench_archive: {}/{runs} runs", r + 1);
    }
    eprintln!();
    std::fs::write(out.join("SAMPLES"), format!("{total}\n"))?;
    println!("wrote {runs} runs, {total} samples under {}", out.display());
    Ok(())
}

fn write_run(
    out: &Path,
    r: usize,
    epochs: u32,
    epoch_s: f64,
    rate_hz: f64,
    keep_segments: bool,
    rng: &mut Rng,
) -> anyhow::Result<u64> {
    let arch = ["lenet", "bcnn"][r % 2];
    let width = 1 + (r as u32 / 2) % 5;
    let seed = (r / 10) as u64;
    let run_id = format!("{arch}-w{width}-s{seed}-{r:03}");
    let partition = Partition {
        platform: "bench".into(),
        dataset: "mnist".into(),
        arch: arch.into(),
        width,
    };
    let dir = out
        .join(partition.relative_dir())
        .join(format!("run={run_id}"));
    std::fs::create_dir_all(dir.join(trainwatt_trace::schema::SAMPLES_DIR))?;
    let ids: Vec<String> = SOURCES.iter().map(|s| s.0.to_string()).collect();
    let total_s = PRE_S + f64::from(epochs) * epoch_s + 0.5;
    let n = (total_s * rate_hz) as i64;
    let period_ns = (1e9 / rate_hz) as i64;
    let phase: Vec<f64> = SOURCES.iter().map(|_| rng.unit() * 6.3).collect();
    let mut energy_uj: Vec<i64> = SOURCES
        .iter()
        .map(|_| 1_000_000_000 + (rng.next() % 99_000_000_000) as i64)
        .collect();
    let per_segment = rate_hz.round() as i64; // one segment per second, as recorded
    let mut rows: Vec<MarkedSampleRow> = Vec::with_capacity(per_segment as usize * SOURCES.len());
    let (mut segment, mut prev_t) = (0usize, 0i64);
    for k in 0..n {
        let t = k * period_ns + (rng.next() % (period_ns as u64 / 20).max(1)) as i64;
        let dt_s = (t - prev_t) as f64 * 1e-9;
        prev_t = t;
        for (s, (_, _, mean_w, swing_w)) in SOURCES.iter().enumerate() {
            let noise = (rng.unit() - 0.5) * swing_w / 10.0;
            let p = (mean_w + swing_w * (t as f64 * 1e-9 * 0.7 + phase[s]).sin() + noise).max(0.5);
            energy_uj[s] += (p * dt_s * 1e6) as i64;
            rows.push(MarkedSampleRow {
                t_ns: t,
                source: s as u16,
                power_w: Some(p as f32),
                energy_uj: Some(energy_uj[s]),
                boundary: false,
            });
        }
        if (k + 1) % per_segment == 0 || k + 1 == n {
            let path = dir.join(format!("samples/part-{segment:06}.parquet"));
            write_segment(&path, &run_id, &ids, &mut rows)?;
            rows.clear();
            segment += 1;
        }
    }
    let epoch_rows: Vec<EpochRow> = (1..=epochs)
        .map(|e| {
            let start = PRE_S + f64::from(e - 1) * epoch_s;
            let acc = 0.5 + 0.45 * (1.0 - (-f64::from(e) / 15.0).exp());
            EpochRow {
                epoch: e,
                start_ns: (start * 1e9) as i64,
                end_ns: ((start + epoch_s - EVAL_GAP_S) * 1e9) as i64,
                train_acc: Some((acc + 0.02).min(1.0)),
                test_acc: Some(acc),
                train_loss: Some(1.0 - acc),
                test_loss: Some(1.05 - acc),
                examples: Some(60_000),
            }
        })
        .collect();
    write_epochs(&dir, &run_id, &epoch_rows)?;
    let compacted = !keep_segments
        && recorder::compact::compact_samples(&dir, &run_id, SOURCES.len())?
            .skipped
            .is_none();
    let manifest = Manifest {
        schema_version: SCHEMA_VERSION,
        run_id: run_id.clone(),
        started_at_utc: "2026-01-01T00:00:00Z".into(),
        ended_at_utc: Some("2026-01-01T06:00:00Z".into()),
        status: RunStatus::Complete,
        platform: "bench".into(),
        host: HostFacts {
            hostname: "bench".into(),
            cpu_model: "synthetic".into(),
            cpu_cores: 2,
            ..HostFacts::default()
        },
        sources: SOURCES
            .iter()
            .map(|(id, domain, _, _)| SourceInfo {
                id: (*id).into(),
                domain: *domain,
                method: Method::MeasuredCounter,
                description: "synthetic".into(),
                poll_hz: rate_hz,
                settings: Default::default(),
            })
            .collect(),
        sampler: SamplerStats {
            rate_hz,
            ticks: n as u64,
            segments: segment as u64,
            compacted,
            ..SamplerStats::default()
        },
        workload: Workload {
            kind: "train".into(),
            arch: Some(arch.into()),
            width: Some(width),
            dataset: Some("mnist".into()),
            protocol: Some("holdout".into()),
            seed: Some(seed),
            ..Workload::default()
        },
        epochs_approximate: false,
        imported: None,
        warnings: Vec::new(),
        error: None,
        writer: "recorder examples/bench_archive".into(),
    };
    std::fs::write(
        dir.join(trainwatt_trace::schema::MANIFEST_FILE),
        manifest.to_json(),
    )?;
    Ok((n as u64) * SOURCES.len() as u64)
}
