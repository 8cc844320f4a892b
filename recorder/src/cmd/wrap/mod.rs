//! `recorder wrap -- CMD ARGS…`: run any training command while sampling.
//!
//! Epoch protocol: the child finds a file path in `$TRAINWATT_EPOCH_LOG`
//! (`child-epochs.jsonl` inside the run folder, so the child's own words are
//! kept verbatim) and appends one JSON object per line per finished epoch,
//! and optionally `{"event": "epoch_start", "epoch": N}` when an epoch's
//! work begins. A thread of its own ([`watcher`]) wakes when the file
//! changes (inotify, see [`watch`]) and for what arrived takes one boundary
//! read of every source: its instant is the arrival's stamp, the end of the
//! epoch whose line it is (or the start, for an `epoch_start`); the main
//! thread records the stamped lines. Where an epoch starts
//! without a start line is in [`book`]. Malformed or out-of-order lines are
//! reported on stderr and in the manifest's warnings, and remain in the
//! verbatim file; they never become epoch rows.
//!
//! The child also finds the run's clock origin in `$TRAINWATT_CLOCK_ORIGIN_NS`
//! (`CLOCK_MONOTONIC` ns of `t_ns = 0`), so it can put its own instants on
//! the run's clock (`bench/wrap_latency.sh` measures the stamps with it).

mod book;
mod tail;
mod watch;
mod watcher;

use super::common::{self, parse_duration, RecordArgs, Signals};
use super::output;
use crate::recording::{Recording, Stamper};
use anyhow::{bail, Context, Result};
use book::{Entry, EpochBook};
use clap::Args;
use crossbeam_channel::Receiver;
use std::fs::File;
use std::path::Path;
use std::process::{Child, Command, ExitCode, ExitStatus};
use std::time::Duration;
use tail::EpochTail;
use trainwatt_trace::schema::CHILD_EPOCHS_FILE;
use trainwatt_trace::{RunStatus, Workload, CLOCK_ORIGIN_ENV, EPOCH_LOG_ENV};
use watch::LogWatch;
use watcher::{Event, Watcher};

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
    /// Read the child's epoch log at this interval (e.g. 10ms) instead of
    /// waking when it changes (inotify): for file systems without inotify,
    /// or to compare. Epoch boundaries are then up to one interval late.
    #[arg(long, value_parser = parse_duration, value_name = "INTERVAL")]
    pub epoch_poll: Option<Duration>,
    #[command(flatten)]
    pub record: RecordArgs,
    /// The command to run, after `--`.
    #[arg(last = true, required = true)]
    pub command: Vec<String>,
}

/// The most of a child's line that goes into a message, the manifest or
/// the JSON summary; the verbatim file keeps it whole.
const SHOWN_LINE_BYTES: usize = 240;

/// `text` cut to [`SHOWN_LINE_BYTES`] with a note of its full length.
fn clip(text: &str) -> String {
    if text.len() <= SHOWN_LINE_BYTES {
        return text.to_string();
    }
    let mut end = SHOWN_LINE_BYTES;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!(
        "{}… ({} bytes in all; the whole line is in {CHILD_EPOCHS_FILE})",
        &text[..end],
        text.len()
    )
}

pub fn run(args: &WrapArgs) -> Result<ExitCode> {
    let signals = Signals::install()?;
    let mut rec = start(args)?;
    let clock = rec.clock();
    let stamper = rec.stamper();
    let log_path = rec.dir().join(CHILD_EPOCHS_FILE);
    let (tail, watch) = open_epoch_log(args, &mut rec, &log_path)?;
    eprintln!("recorder: recording into {}", rec.dir().display());

    // Epoch 1 starts, unless the child says otherwise, when the child is
    // started: a boundary read just before it.
    let mut book = EpochBook::new(stamper.stamp().t_ns);
    let (watcher, events) =
        Watcher::spawn(tail, watch, stamper.clone()).context("starting the epoch log watcher")?;
    let spawned = Command::new(&args.command[0])
        .args(&args.command[1..])
        .env(EPOCH_LOG_ENV, &log_path)
        .env(CLOCK_ORIGIN_ENV, clock.origin_monotonic_ns().to_string())
        .spawn();
    let mut child = match spawned {
        Ok(c) => c,
        Err(e) => return start_failed(args, rec, watcher, &e),
    };
    // A recording failure (disk full, folder gone) never abandons the
    // child: it is reported at once, the training goes on, and the run ends
    // `failed` with the first reason.
    let mut record_error: Option<String> = None;
    let mut live = Live {
        rec: &mut rec,
        book: &mut book,
        record_error: &mut record_error,
    };
    let ended = supervise(&mut child, &signals, &events, &mut live)?;
    drain(watcher, &events, &stamper, &mut live)?;
    finish(args, rec, ended, record_error)
}

/// The recording and its epoch book while the child runs, with the first
/// recording failure.
struct Live<'r> {
    rec: &'r mut Recording,
    book: &'r mut EpochBook,
    record_error: &'r mut Option<String>,
}

impl Live<'_> {
    fn handle(&mut self, ev: Event) {
        handle(ev, self.rec, self.book, self.record_error);
    }
}

/// How the child ended: its exit status and the last signal forwarded.
struct Ended {
    exit: ExitStatus,
    forwarded: Option<i32>,
}

/// Starts the recording, labelled from the arguments.
fn start(args: &WrapArgs) -> Result<Recording> {
    let workload = Workload {
        kind: "wrap".into(),
        command: args.command.clone(),
        arch: args.arch.clone(),
        width: args.width,
        dataset: args.dataset.clone(),
        ..Workload::default()
    };
    common::start_recording(
        &args.record,
        workload,
        (
            args.dataset.as_deref().unwrap_or("none"),
            args.arch.as_deref().unwrap_or("none"),
            args.width.unwrap_or(0),
        ),
        &["wrap".into()],
        true,
    )
}

/// Creates the child's epoch log and the watch on it (waking on signals
/// too), and notes in the manifest how it is watched.
fn open_epoch_log(
    args: &WrapArgs,
    rec: &mut Recording,
    log_path: &Path,
) -> Result<(EpochTail, LogWatch)> {
    let file = File::create(log_path)
        .and_then(|_| File::open(log_path))
        .with_context(|| format!("creating the epoch log {}", log_path.display()))?;
    let tail = EpochTail::new(file);
    let (watch, note) = LogWatch::new(log_path, args.epoch_poll)
        .with_context(|| format!("watching the epoch log {}", log_path.display()))?;
    watch
        .wake_on_signals()
        .context("installing the signal handlers")?;
    if let Some(note) = note {
        warn(rec, note);
    }
    rec.manifest_mut().workload.extra.insert(
        "epoch_log_watch".into(),
        match args.epoch_poll {
            Some(p) => format!("poll every {} ms", p.as_millis()),
            None if watch.is_inotify() => "inotify".to_string(),
            None => format!("poll every {} ms", watch::FALLBACK_POLL.as_millis()),
        }
        .into(),
    );
    Ok((tail, watch))
}

/// Ends a run whose command could not be started: `failed`, with why.
fn start_failed(
    args: &WrapArgs,
    rec: Recording,
    watcher: Watcher,
    e: &std::io::Error,
) -> Result<ExitCode> {
    watcher.stop();
    let msg = format!(
        "cannot start '{}': {e} (check the command after `--` and your PATH)",
        args.command[0]
    );
    let summary = rec.finish(RunStatus::Failed, Some(msg.clone()))?;
    output::print_run(args.record.format, &summary)?;
    bail!(msg);
}

/// Forwards signals to the child and records what the watcher sends until
/// the child exits; how it ended.
fn supervise(
    child: &mut Child,
    signals: &Signals,
    events: &Receiver<Event>,
    live: &mut Live,
) -> Result<Ended> {
    let mut forwarded: Option<i32> = None;
    let exit = loop {
        if let Some(sig) = forward_signal(signals, child) {
            forwarded = Some(sig);
        }
        if live.rec.writer_failed() {
            note_failure(live.record_error, "writing power samples failed".into());
        }
        if let Some(status) = child.try_wait().context("waiting for the child")? {
            break status;
        }
        // Lines (stamped by the watcher), or a poke to look at the above.
        match events.recv_timeout(watch::SAFETY_NET) {
            Ok(ev) => live.handle(ev),
            Err(crossbeam_channel::RecvTimeoutError::Timeout) => {}
            Err(crossbeam_channel::RecvTimeoutError::Disconnected) => {
                note_failure(live.record_error, "the epoch log watcher stopped".into());
                std::thread::sleep(watch::FALLBACK_POLL);
            }
        }
    };
    Ok(Ended { exit, forwarded })
}

/// Passes a signal the recorder received on to the child; which one.
fn forward_signal(signals: &Signals, child: &Child) -> Option<i32> {
    let sig = signals.received()?;
    signals.clear();
    if let Ok(pid) = i32::try_from(child.id()) {
        if let Ok(s) = nix::sys::signal::Signal::try_from(sig) {
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), s);
        }
    }
    Some(sig)
}

/// Stops the watcher and records what the watcher stamped before it
/// stopped, then what it had not yet read, stamped now.
fn drain(
    watcher: Watcher,
    events: &Receiver<Event>,
    stamper: &Stamper,
    live: &mut Live,
) -> Result<()> {
    let tail = watcher.stop();
    for ev in events.try_iter() {
        live.handle(ev);
    }
    let Some(mut tail) = tail else {
        bail!("the epoch log watcher panicked");
    };
    let (tx, last) = crossbeam_channel::unbounded();
    watcher::stamp_arrivals(&mut tail, stamper, &tx);
    for ev in last.try_iter() {
        live.handle(ev);
    }
    if let Some((line_no, text, seen_ns)) = tail.take_partial() {
        warn(
            live.rec,
            format!(
                "{CHILD_EPOCHS_FILE} line {line_no} has no newline; used as the child exited, \
                 stamped when it was first seen (end each line with \\n)"
            ),
        );
        let entries = live.book.take(line_no, &text, seen_ns);
        if let Err(e) = record(live.rec, entries) {
            note_failure(live.record_error, format!("{e:#}"));
        }
    }
    if tail.rewrites > 0 {
        warn(
            live.rec,
            format!(
                "the child rewrote {CHILD_EPOCHS_FILE} instead of appending to it ({} times): \
                 every line was still stamped as it arrived, but the file now holds only the \
                 last ones; open it with mode \"a\" (append), not \"w\"",
                tail.rewrites
            ),
        );
    }
    Ok(())
}

/// Writes the exit code and the run's status, finishes the recording and
/// reports it; the child's exit code, or an error if recording failed.
fn finish(
    args: &WrapArgs,
    mut rec: Recording,
    ended: Ended,
    record_error: Option<String>,
) -> Result<ExitCode> {
    use std::os::unix::process::ExitStatusExt;
    let Ended { exit, forwarded } = ended;
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

/// Records what the watcher sent.
fn handle(ev: Event, rec: &mut Recording, book: &mut EpochBook, record_error: &mut Option<String>) {
    let result = match ev {
        Event::Lines { lines, t_ns } => {
            let entries: Vec<Entry> = lines
                .iter()
                .flat_map(|(line_no, text)| book.take(*line_no, text, t_ns))
                .collect();
            record(rec, entries)
        }
        Event::Poke => Ok(()),
        Event::Failed(why) => Err(anyhow::anyhow!(why)),
    };
    if let Err(e) = result {
        note_failure(record_error, format!("{e:#}"));
    }
}

/// Adds the rows and keeps the warnings (saving the manifest when any).
fn record(rec: &mut Recording, entries: Vec<Entry>) -> Result<()> {
    let mut noted = false;
    for e in entries {
        match e {
            Entry::Row(row) => rec.add_epoch(row)?,
            Entry::Warning(w) => {
                warn(rec, w);
                noted = true;
            }
            Entry::Note(n) => {
                rec.manifest_mut().warnings.push(n);
                noted = true;
            }
        }
    }
    if noted {
        rec.save_manifest()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lines_are_clipped_in_messages() {
        let long = "x".repeat(80_000);
        let c = clip(&long);
        assert!(c.len() < 400, "{}", c.len());
        assert!(c.contains("80000 bytes in all"), "{c}");
        assert_eq!(clip("short"), "short");
        let wide = "é".repeat(200);
        assert!(clip(&wide).starts_with(&"é".repeat(120)));
    }
}
