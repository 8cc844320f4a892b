//! Boundary reads end to end (format 1.1): the rows the recorder writes at
//! every epoch boundary carry `boundary = true` and `t_ns` equal to the
//! epoch's start or end, so a counter's energy per epoch is a plain
//! difference of stored reads — exact, where interpolating the scheduled
//! reads is not; and each source is read at its own rate.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

use arrow::array::{Array, AsArray};
use arrow::datatypes::{Float32Type, Int32Type, Int64Type};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use recorder::rates::RateSettings;
use recorder::recording::{Recording, RecordingOptions};
use recorder::sampler::Clock;
use recorder::sources::waveform::Bursts;
use recorder::sources::{PowerSource, WaveformSource};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;
use trainwatt_trace::layout::Partition;
use trainwatt_trace::{EpochRow, Manifest, RunStatus, Workload};

/// One sample row as read back.
#[derive(Debug, Clone, PartialEq)]
struct Row {
    source: String,
    t_ns: i64,
    power_w: Option<f32>,
    energy_uj: Option<i64>,
    boundary: bool,
}

fn rows(run: &Path) -> Vec<Row> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(run.join("samples")).unwrap() {
        let f = std::fs::File::open(e.unwrap().path()).unwrap();
        for b in ParquetRecordBatchReaderBuilder::try_new(f)
            .unwrap()
            .build()
            .unwrap()
        {
            let b = b.unwrap();
            let t = b
                .column_by_name("t_ns")
                .unwrap()
                .as_primitive::<Int64Type>();
            let p = b
                .column_by_name("power_w")
                .unwrap()
                .as_primitive::<Float32Type>();
            let e = b
                .column_by_name("energy_uj")
                .unwrap()
                .as_primitive::<Int64Type>();
            let m = b.column_by_name("boundary").unwrap().as_boolean();
            let s = arrow::compute::cast(
                b.column_by_name("source").unwrap(),
                &arrow::datatypes::DataType::Utf8,
            )
            .unwrap();
            let s = s.as_string::<i32>();
            for i in 0..b.num_rows() {
                out.push(Row {
                    source: s.value(i).to_string(),
                    t_ns: t.value(i),
                    power_w: (!p.is_null(i)).then(|| p.value(i)),
                    energy_uj: (!e.is_null(i)).then(|| e.value(i)),
                    boundary: !m.is_null(i) && m.value(i),
                });
            }
        }
    }
    out.sort_by_key(|r| (r.source.clone(), r.t_ns));
    out
}

fn epochs(run: &Path) -> Vec<(i32, i64, i64, Option<f64>)> {
    let f = std::fs::File::open(run.join("epochs.parquet")).unwrap();
    let mut out = Vec::new();
    for b in ParquetRecordBatchReaderBuilder::try_new(f)
        .unwrap()
        .build()
        .unwrap()
    {
        let b = b.unwrap();
        let n = b.column(0).as_primitive::<Int32Type>();
        let s = b.column(1).as_primitive::<Int64Type>();
        let e = b.column(2).as_primitive::<Int64Type>();
        let acc = b.column_by_name("test_acc").unwrap();
        let acc = acc.as_primitive::<arrow::datatypes::Float64Type>();
        for i in 0..b.num_rows() {
            let a = (!acc.is_null(i)).then(|| acc.value(i));
            out.push((n.value(i), s.value(i), e.value(i), a));
        }
    }
    out
}

fn run_dir(root: &Path) -> PathBuf {
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        if d.join("manifest.json").exists() {
            return d;
        }
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            if e.path().is_dir() {
                stack.push(e.path());
            }
        }
    }
    panic!("no run under {}", root.display())
}

/// The waveform's exact energy over [a, b] in J, from burst overlaps
/// (not the source's own formula): idle power throughout, plus the excess
/// of every burst that overlaps.
fn exact_j(w: &Bursts, a: i64, b: i64) -> f64 {
    let (hi, lo) = (w.busy_mw as f64 * 1e-3, w.idle_mw as f64 * 1e-3);
    let mut j = lo * (b - a) as f64 * 1e-9;
    for k in a / w.period_ns - 1..=b / w.period_ns + 1 {
        let (s, e) = (k * w.period_ns, k * w.period_ns + w.busy_ns);
        let overlap = (e.min(b) - s.max(a)).max(0);
        j += (hi - lo) * overlap as f64 * 1e-9;
    }
    j
}

/// The analyzer's reading of a counter at `t` from the scheduled reads
/// around it: linear interpolation between the bracketing reads.
fn interpolated_uj(reads: &[(i64, i64)], t: i64) -> f64 {
    let k = reads.partition_point(|r| r.0 <= t);
    let ((t0, e0), (t1, e1)) = (reads[k - 1], reads[k]);
    e0 as f64 + (e1 - e0) as f64 * (t - t0) as f64 / (t1 - t0) as f64
}

/// A 2 Hz sampler on 100 ms bursts every 400 ms: the counter at each
/// boundary read is the exact integral (to the counter's 1 µJ), while the
/// counter interpolated between scheduled reads, what a reader without
/// boundary reads must do, is off by joules.
#[test]
fn boundary_rows_give_the_exact_energy_where_interpolation_does_not() {
    let wave = Bursts {
        period_ns: 400_000_000,
        busy_ns: 100_000_000,
        busy_mw: 300_000,
        idle_mw: 20_000,
    };
    // The raw counter wraps (at RAPL's range) about 1.5 s into the run.
    let range = 262_143_328_850;
    let src = WaveformSource::new("gpu", wave, range - 400_000_000, range);
    let dir = tempfile::tempdir().unwrap();
    let template = recorder::cmd::common::manifest_template(Some("t"), Workload::default(), vec![]);
    let opts = RecordingOptions {
        rates: RateSettings::cap(2.0),
        boundary_reads: true,
        ..RecordingOptions::default()
    };
    let clock = Clock::start();
    let sources: Vec<Box<dyn PowerSource>> = vec![Box::new(src)];
    let mut rec = Recording::start(
        dir.path(),
        &Partition {
            platform: "t".into(),
            dataset: "d".into(),
            arch: "a".into(),
            width: 1,
        },
        template,
        sources,
        &opts,
        clock,
        &[],
    )
    .unwrap();
    let stamper = rec.stamper();
    // Epochs of uneven length, ending 60 ms into a burst (the worst place
    // for a straight line between reads 500 ms apart).
    let mut start = stamper.stamp().t_ns;
    let mut bounds = vec![start];
    for (epoch, bursts) in [(1u32, 2i64), (2, 5), (3, 1), (4, 3)] {
        let target = (start / wave.period_ns + bursts) * wave.period_ns + 60_000_000;
        std::thread::sleep(Duration::from_nanos((target - clock.now_ns()).max(0) as u64));
        let end = stamper.stamp().t_ns;
        rec.add_epoch(EpochRow {
            epoch,
            start_ns: start,
            end_ns: end,
            train_acc: None,
            test_acc: None,
            train_loss: None,
            test_loss: None,
            examples: None,
        })
        .unwrap();
        bounds.push(end);
        start = end;
    }
    std::thread::sleep(Duration::from_millis(600));
    let done = rec.finish(RunStatus::Complete, None).unwrap();
    let m = &done.manifest;
    assert!(m.sampler.boundary_reads);
    assert_eq!(m.sampler.rate_hz, 2.0);
    let rows = rows(&done.dir);
    let at = |t: i64| {
        rows.iter()
            .find(|r| r.t_ns == t)
            .unwrap_or_else(|| panic!("no row at boundary {t}"))
    };
    let marked: Vec<i64> = rows.iter().filter(|r| r.boundary).map(|r| r.t_ns).collect();
    assert_eq!(
        marked, bounds,
        "one boundary row per boundary, at its instant"
    );
    let scheduled: Vec<(i64, i64)> = rows
        .iter()
        .filter(|r| !r.boundary)
        .map(|r| (r.t_ns, r.energy_uj.unwrap()))
        .collect();
    let mut worst_interp_j: f64 = 0.0;
    for w in bounds.windows(2) {
        let exact = exact_j(&wave, w[0], w[1]);
        let counter_uj = at(w[1]).energy_uj.unwrap() - at(w[0]).energy_uj.unwrap();
        let err_uj = counter_uj as f64 - exact * 1e6;
        assert!(
            err_uj.abs() < 1.0 + 1e-6,
            "boundary reads off by {err_uj} µJ"
        );
        let interp_uj = interpolated_uj(&scheduled, w[1]) - interpolated_uj(&scheduled, w[0]);
        worst_interp_j = worst_interp_j.max((interp_uj * 1e-6 - exact).abs());
    }
    assert!(
        worst_interp_j > 0.5,
        "interpolation was off by only {worst_interp_j} J"
    );
    // The boundary reads carry the waveform's power at their instant.
    assert_eq!(at(bounds[1]).power_w, Some(wave.power_w(bounds[1]) as f32));
}

/// `wrap`: boundary rows at every epoch's start and end for every source,
/// an `epoch_start` line moving epoch 1's start past the child's start-up,
/// and each source at its own rate.
#[test]
fn wrap_reads_every_source_at_each_boundary_and_each_at_its_rate() {
    let dir = tempfile::tempdir().unwrap();
    let child = r#"
log="$TRAINWATT_EPOCH_LOG"
sleep 0.2; echo '{"event":"epoch_start","epoch":1}' >> "$log"
sleep 0.3; echo '{"epoch":1,"test_acc":0.5}' >> "$log"
sleep 0.2; echo '{"epoch":2,"test_acc":0.6}' >> "$log"
"#;
    let out = Command::new(env!("CARGO_BIN_EXE_recorder"))
        .args(["wrap", "--rate", "200", "--rate", "fake:dram=20,tpu=5"])
        .args(["--fake-sources", "gpu=100,cpu=10@50,dram=3", "--out"])
        .arg(dir.path())
        .args(["--", "sh", "-c", child])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let run = run_dir(dir.path());
    let m = Manifest::read(&run.join("manifest.json")).unwrap();
    assert!(m.sampler.boundary_reads);
    assert_eq!(m.workload.extra["epoch_log_watch"], "inotify");
    let rate: Vec<(String, f64)> = m
        .sources
        .iter()
        .map(|s| (s.id.clone(), s.poll_hz))
        .collect();
    // gpu: no update rate, so the cap; cpu: its declared 50 Hz; dram: the
    // --rate override. `tpu` matches nothing and is warned about.
    assert_eq!(
        rate,
        [
            ("fake:gpu".to_string(), 200.0),
            ("fake:cpu".to_string(), 50.0),
            ("fake:dram".to_string(), 20.0)
        ]
    );
    assert_eq!(m.sources[2].settings["poll_hz_from"], "--rate SOURCE=HZ");
    assert!(
        m.warnings
            .iter()
            .any(|w| w.contains("no source here is called tpu")),
        "{:?}",
        m.warnings
    );
    let e = epochs(&run);
    assert_eq!(e.len(), 2);
    assert_eq!(e[1].1, e[0].2, "epoch 2 starts where 1 ended");
    assert_eq!(e[0].3, Some(0.5));
    let rows = rows(&run);
    let first_t = rows.iter().map(|r| r.t_ns).min().unwrap();
    // The child slept 0.2 s before marking epoch 1's start.
    assert!(e[0].1 - first_t > 150_000_000, "{e:?} from {first_t}");
    // A boundary row of every source at the child's start, epoch 1's start
    // and each end, and nowhere else.
    let mut marked: Vec<i64> = rows.iter().filter(|r| r.boundary).map(|r| r.t_ns).collect();
    marked.sort_unstable();
    marked.dedup();
    assert_eq!(marked.len(), 4, "{marked:?}");
    assert_eq!(&marked[1..], [e[0].1, e[0].2, e[1].2]);
    for t in &marked {
        let n = rows.iter().filter(|r| r.t_ns == *t && r.boundary).count();
        assert_eq!(n, 3, "boundary at {t}");
    }
    // The 50 Hz and 20 Hz sources have a quarter and a tenth of the rows
    // of the 200 Hz one.
    let count = |id: &str| {
        rows.iter()
            .filter(|r| r.source == id && !r.boundary)
            .count() as f64
    };
    let ratio = count("fake:cpu") / count("fake:gpu");
    assert!((0.2..0.3).contains(&ratio), "{ratio}");
    let ratio = count("fake:dram") / count("fake:gpu");
    assert!((0.07..0.13).contains(&ratio), "{ratio}");
    // The counter at each boundary is exactly P × t (fake sources start at 0).
    for r in rows.iter().filter(|r| r.boundary && r.source == "fake:gpu") {
        let want = (100.0 * r.t_ns as f64 / 1e3).round() as i64;
        assert_eq!(r.energy_uj, Some(want));
    }
}
