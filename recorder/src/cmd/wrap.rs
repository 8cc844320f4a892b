//! `recorder wrap -- CMD ARGS…`: run any training command while sampling.
//!
//! Epoch protocol: the child finds a file path in `$TRAINWATT_EPOCH_LOG`
//! (`child-epochs.jsonl` inside the run folder, so the child's own words are
//! kept verbatim) and appends one JSON object per line per finished epoch.
//! The recorder tails the file and stamps each complete line on its own
//! clock when it arrives: that is the epoch's end, and the previous line's
//! arrival (or the child's start) is its start. Malformed or out-of-order
//! lines are reported on stderr and in the manifest's warnings, and remain
//! in the verbatim file; they never become epoch rows.

use super::common::{self, RecordArgs, Signals};
use super::output;
use crate::recording::Recording;
use crate::sampler::Clock;
use anyhow::{bail, Context, Result};
use clap::Args;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::process::{Command, ExitCode};
use std::time::Duration;
use trainwatt_trace::schema::CHILD_EPOCHS_FILE;
use trainwatt_trace::{ChildEpochLine, EpochRow, RunStatus, Workload, EPOCH_LOG_ENV};

#[derive(Debug, Args)]
pub struct WrapArgs {
    /// Dataset label for the run's partition and manifest.
    #[arg(long)]
    pub dataset: Option<String>,
    /// Architecture label (e.g. resnet18).
    #[arg(long)]
    pub arch: Option<String>,
    /// Width multiplier label.
    #[arg(long)]
    pub width: Option<u32>,
    #[command(flatten)]
    pub record: RecordArgs,
    /// The command to run, after `--`.
    #[arg(last = true, required = true)]
    pub command: Vec<String>,
}

/// Incremental reader of the child's epoch log.
struct EpochTail {
    file: File,
    offset: u64,
    partial: Vec<u8>,
    line_no: usize,
}

impl EpochTail {
    /// Returns the complete lines appended since the last call.
    fn poll(&mut self) -> std::io::Result<Vec<(usize, String)>> {
        self.file.seek(SeekFrom::Start(self.offset))?;
        let mut buf = Vec::new();
        self.file.read_to_end(&mut buf)?;
        self.offset += buf.len() as u64;
        self.partial.extend_from_slice(&buf);
        let mut lines = Vec::new();
        while let Some(pos) = self.partial.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.partial.drain(..=pos).collect();
            self.line_no += 1;
            let text = String::from_utf8_lossy(&line).trim().to_string();
            if !text.is_empty() {
                lines.push((self.line_no, text));
            }
        }
        Ok(lines)
    }
}

pub fn run(args: &WrapArgs) -> Result<ExitCode> {
    let signals = Signals::install()?;
    let workload = Workload {
        kind: "wrap".into(),
        command: args.command.clone(),
        arch: args.arch.clone(),
        width: args.width,
        dataset: args.dataset.clone(),
        ..Workload::default()
    };
    let mut rec = common::start_recording(
        &args.record,
        workload,
        (
            args.dataset.as_deref().unwrap_or("none"),
            args.arch.as_deref().unwrap_or("none"),
            args.width.unwrap_or(0),
        ),
        &["wrap".into()],
    )?;
    let clock = rec.clock();
    let log_path = rec.dir().join(CHILD_EPOCHS_FILE);
    let file = File::create(&log_path)
        .and_then(|_| File::open(&log_path))
        .with_context(|| format!("creating the epoch log {}", log_path.display()))?;
    let mut tail = EpochTail {
        file,
        offset: 0,
        partial: Vec::new(),
        line_no: 0,
    };
    eprintln!("recorder: recording into {}", rec.dir().display());

    let spawned = Command::new(&args.command[0])
        .args(&args.command[1..])
        .env(EPOCH_LOG_ENV, &log_path)
        .spawn();
    let mut child = match spawned {
        Ok(c) => c,
        Err(e) => {
            let msg = format!("cannot start '{}': {e}", args.command[0]);
            rec.finish(RunStatus::Failed, Some(msg.clone()))?;
            bail!(msg);
        }
    };
    let mut prev_end = clock.now_ns();
    let mut forwarded: Option<i32> = None;
    // A recording failure (disk full, folder gone) never abandons the
    // child: it is reported at once, the training goes on, and the run ends
    // `failed` with the first reason.
    let mut record_error: Option<String> = None;
    let exit = loop {
        if let Some(sig) = signals.received() {
            signals.clear();
            forwarded = Some(sig);
            if let Ok(pid) = i32::try_from(child.id()) {
                if let Ok(s) = nix::sys::signal::Signal::try_from(sig) {
                    let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), s);
                }
            }
        }
        if let Err(e) = ingest(&mut tail, &mut rec, clock, &mut prev_end) {
            note_failure(&mut record_error, format!("{e:#}"));
        }
        if rec.writer_failed() {
            note_failure(&mut record_error, "writing power samples failed".into());
        }
        if let Some(status) = child.try_wait().context("waiting for the child")? {
            break status;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    if let Err(e) = ingest(&mut tail, &mut rec, clock, &mut prev_end) {
        note_failure(&mut record_error, format!("{e:#}"));
    }
    if !tail.partial.is_empty() {
        let text = String::from_utf8_lossy(&tail.partial).to_string();
        warn(
            &mut rec,
            format!(
                "{}: last line has no newline and was not used: {text}",
                CHILD_EPOCHS_FILE
            ),
        );
    }
    use std::os::unix::process::ExitStatusExt;
    let code = exit
        .code()
        .unwrap_or_else(|| 128 + exit.signal().unwrap_or(0));
    rec.manifest_mut().workload.exit_code = Some(code);
    let (status, error) = match (forwarded, exit.success()) {
        _ if record_error.is_some() => (RunStatus::Failed, record_error.clone()),
        (Some(sig), _) => (
            RunStatus::Interrupted,
            Some(format!("signal {sig} forwarded to the child")),
        ),
        (None, true) => (RunStatus::Complete, None),
        (None, false) => (
            RunStatus::Failed,
            Some(format!("the child exited with code {code}")),
        ),
    };
    let epochs = rec.epochs().len();
    let summary = rec
        .finish(status, error)
        .with_context(|| format!("recording failed (the command exited with {code})"))?;
    eprintln!(
        "recorder: child exited with {code}; {epochs} epochs, {} samples, status {:?}",
        summary.sink.rows, summary.manifest.status
    );
    output::print_run(args.record.format, &summary)?;
    if let Some(why) = record_error {
        bail!(
            "recording failed: {why} (the command exited with {code}; {})",
            summary.dir.display()
        );
    }
    Ok(ExitCode::from(u8::try_from(code).unwrap_or(1)))
}

/// Keeps the first recording failure and reports it at once.
fn note_failure(record_error: &mut Option<String>, what: String) {
    if record_error.is_none() {
        eprintln!(
            "recorder: error: {what}; the command keeps running, this run will be marked failed"
        );
        *record_error = Some(what);
    }
}

fn warn(rec: &mut Recording, msg: String) {
    eprintln!("recorder: warning: {msg}");
    rec.manifest_mut().warnings.push(msg);
}

/// Turns newly arrived lines into epoch rows, stamped now.
fn ingest(
    tail: &mut EpochTail,
    rec: &mut Recording,
    clock: Clock,
    prev_end: &mut i64,
) -> Result<()> {
    let lines = tail.poll().context("reading the child's epoch log")?;
    if lines.is_empty() {
        return Ok(());
    }
    let now = clock.now_ns();
    let mut warned = false;
    for (line_no, text) in lines {
        let expected = rec.epochs().last().map_or(1, |e| e.epoch + 1);
        let parsed = ChildEpochLine::parse(&text).and_then(|l| {
            if l.epoch == expected {
                Ok(l)
            } else {
                Err(format!(
                    "epoch {} out of order (expected {expected})",
                    l.epoch
                ))
            }
        });
        match parsed {
            Ok(l) => {
                rec.add_epoch(EpochRow {
                    epoch: l.epoch,
                    start_ns: *prev_end,
                    end_ns: now,
                    train_acc: l.train_acc,
                    test_acc: l.test_acc,
                    train_loss: l.train_loss,
                    test_loss: l.test_loss,
                    examples: l.examples,
                })?;
                *prev_end = now;
            }
            Err(why) => {
                warned = true;
                warn(
                    rec,
                    format!("{CHILD_EPOCHS_FILE} line {line_no} not used ({why}): {text}"),
                );
            }
        }
    }
    if warned {
        rec.save_manifest()?;
    }
    Ok(())
}
