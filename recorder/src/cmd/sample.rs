//! `recorder sample`: power only, for idle baselines or alongside anything.

use super::common::{self, parse_duration, RecordArgs, Signals};
use crate::recording::Recording;
use crate::sampler::Clock;
use crate::sources;
use anyhow::Result;
use clap::Args;
use std::process::ExitCode;
use std::time::{Duration, Instant};
use trainwatt_trace::layout::Partition;
use trainwatt_trace::{RunStatus, Workload};

#[derive(Debug, Args)]
pub struct SampleArgs {
    /// How long to sample (e.g. 30s, 5m); without it, until Ctrl-C/SIGTERM.
    #[arg(long, value_parser = parse_duration)]
    pub duration: Option<Duration>,
    #[command(flatten)]
    pub record: RecordArgs,
}

pub fn run(args: &SampleArgs) -> Result<ExitCode> {
    let signals = Signals::install()?;
    let opts = args.record.recording_options()?;
    let sources::Discovery {
        sources,
        unavailable,
    } = args.record.sources.open()?;
    let workload = Workload {
        kind: "sample".into(),
        command: std::env::args().collect(),
        dataset: Some("idle".into()),
        ..Workload::default()
    };
    let manifest = common::manifest_template(
        args.record.platform.as_deref(),
        workload,
        common::unavailable_warnings(&unavailable),
    );
    let partition = Partition {
        platform: manifest.platform.clone(),
        dataset: "idle".into(),
        arch: "none".into(),
        width: 0,
    };
    let clock = Clock::start();
    let rec = Recording::start(
        &args.record.out,
        &partition,
        manifest,
        sources,
        &opts,
        clock,
        &["sample".into()],
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
        std::thread::sleep(Duration::from_millis(20));
    };
    let summary = rec.finish(status, None)?;
    eprintln!(
        "recorder: {} samples in {} segments ({} bytes), {} missed deadlines; status {:?}",
        summary.sink.rows,
        summary.sink.segments,
        summary.sink.bytes,
        summary.manifest.sampler.missed_deadlines,
        summary.manifest.status
    );
    println!("{}", summary.dir.display());
    Ok(ExitCode::SUCCESS)
}
