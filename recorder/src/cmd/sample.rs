//! `recorder sample`: power only, for idle baselines or alongside anything.

use super::common::{self, parse_duration, RecordArgs, Signals};
use super::output;
use anyhow::Result;
use clap::Args;
use std::process::ExitCode;
use std::time::{Duration, Instant};
use trainwatt_trace::{RunStatus, Workload};

#[derive(Debug, Args)]
pub struct SampleArgs {
    /// How long to sample (e.g. 30s, 5m); without it, until Ctrl-C/SIGTERM.
    #[arg(long, value_parser = parse_duration, allow_hyphen_values = true)]
    pub duration: Option<Duration>,
    #[command(flatten)]
    pub record: RecordArgs,
}

/// How often the main thread checks for signals and a failed writer.
const IDLE_WAKE: Duration = Duration::from_millis(100);

pub fn run(args: &SampleArgs) -> Result<ExitCode> {
    let signals = Signals::install()?;
    let workload = Workload {
        kind: "sample".into(),
        command: std::env::args().collect(),
        dataset: Some("idle".into()),
        ..Workload::default()
    };
    let rec = common::start_recording(
        &args.record,
        workload,
        ("idle", "none", 0),
        &["sample".into()],
        false,
    )?;
    eprintln!("recorder: sampling into {}", rec.dir().display());
    let started = Instant::now();
    let status = loop {
        if signals.received().is_some() {
            break RunStatus::Interrupted;
        }
        if args.duration.is_some_and(|d| started.elapsed() >= d) {
            break RunStatus::Complete;
        }
        // A segment could not be written (disk full, folder gone): stop
        // now; `finish` reports why and what stayed intact.
        if rec.writer_failed() {
            break RunStatus::Failed;
        }
        // Waking rarely keeps this thread's cost off the recorder's (a
        // signal is seen within 100 ms); the duration ends on time.
        let left = args
            .duration
            .map_or(IDLE_WAKE, |d| d.saturating_sub(started.elapsed()));
        std::thread::sleep(left.min(IDLE_WAKE));
    };
    let summary = rec.finish(status, None)?;
    let sampler = &summary.manifest.sampler;
    let cpu = output::recorder_cpu_fraction(&summary)
        .map_or_else(|| "not measured".into(), |f| format!("{:.2} %", 100.0 * f));
    eprintln!(
        "recorder: {} samples in {} segments ({} bytes), {} missed deadlines of {} ticks, \
         sampler and writer threads {cpu} of one core; status {:?}",
        summary.sink.rows,
        summary.sink.segments,
        summary.sink.bytes,
        sampler.missed_deadlines,
        sampler.ticks,
        summary.manifest.status
    );
    output::print_run(args.record.format, &summary)?;
    Ok(ExitCode::SUCCESS)
}
