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

/// Incremental reader of the child's epoch log.
///
/// It also notices when the child rewrites the file instead of appending
/// to it (`open(path, "w")`, a common mistake): the file shrinks, or the
/// bytes of the last line read are no longer where they were. It then
/// reads the file again from the start, so the rewritten line still becomes
/// an epoch, and says so once.
struct EpochTail {
    file: File,
    offset: u64,
    partial: Vec<u8>,
    /// When the first byte of `partial` was seen (its line's stamp if the
    /// child exits without ending it).
    partial_since_ns: Option<i64>,
    line_no: usize,
    /// The last complete line read (with its newline), ending where
    /// `partial` begins.
    last_line: Vec<u8>,
    /// How many times the file was found rewritten.
    rewrites: usize,
}

impl EpochTail {
    fn new(file: File) -> Self {
        Self {
            file,
            offset: 0,
            partial: Vec::new(),
            partial_since_ns: None,
            line_no: 0,
            last_line: Vec::new(),
            rewrites: 0,
        }
    }

    /// Whether the file no longer holds, before `offset`, the last line read.
    fn was_rewritten(&mut self) -> std::io::Result<bool> {
        let len = self.file.metadata()?.len();
        if len < self.offset {
            return Ok(true);
        }
        if self.last_line.is_empty() {
            return Ok(false);
        }
        // The last line ends where the unterminated rest begins.
        let at = self.offset - (self.partial.len() + self.last_line.len()) as u64;
        self.file.seek(SeekFrom::Start(at))?;
        let mut now = vec![0u8; self.last_line.len()];
        self.file.read_exact(&mut now)?;
        Ok(now != self.last_line)
    }

    /// Returns the complete lines appended since the last call; `now_ns`
    /// stamps a partial line's first sight.
    fn poll(&mut self, now_ns: i64) -> std::io::Result<Vec<(usize, String)>> {
        if self.was_rewritten()? {
            self.rewrites += 1;
            self.offset = 0;
            self.partial.clear();
            self.partial_since_ns = None;
            self.last_line.clear();
        }
        self.file.seek(SeekFrom::Start(self.offset))?;
        let mut buf = Vec::new();
        self.file.read_to_end(&mut buf)?;
        self.offset += buf.len() as u64;
        if !buf.is_empty() && self.partial.is_empty() {
            self.partial_since_ns = Some(now_ns);
        }
        self.partial.extend_from_slice(&buf);
        let mut lines = Vec::new();
        while let Some(pos) = self.partial.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.partial.drain(..=pos).collect();
            self.line_no += 1;
            let text = String::from_utf8_lossy(&line).trim().to_string();
            self.last_line = line;
            if !text.is_empty() {
                lines.push((self.line_no, text));
            }
        }
        if self.partial.is_empty() {
            self.partial_since_ns = None;
        }
        Ok(lines)
    }

    /// The unterminated last line, once the child has exited: the child
    /// wrote it and will write nothing more, so it counts, stamped when it
    /// was first seen.
    fn take_partial(&mut self) -> Option<(usize, String, i64)> {
        let since = self.partial_since_ns.take()?;
        let text = String::from_utf8_lossy(&self.partial).trim().to_string();
        self.partial.clear();
        if text.is_empty() {
            return None;
        }
        self.line_no += 1;
        Some((self.line_no, text, since))
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
    let mut tail = EpochTail::new(file);
    eprintln!("recorder: recording into {}", rec.dir().display());

    let spawned = Command::new(&args.command[0])
        .args(&args.command[1..])
        .env(EPOCH_LOG_ENV, &log_path)
        .spawn();
    let mut child = match spawned {
        Ok(c) => c,
        Err(e) => {
            let msg = format!(
                "cannot start '{}': {e} (check the command after `--` and your PATH)",
                args.command[0]
            );
            let summary = rec.finish(RunStatus::Failed, Some(msg.clone()))?;
            output::print_run(args.record.format, &summary)?;
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
    if let Some((line_no, text, seen_ns)) = tail.take_partial() {
        warn(
            &mut rec,
            format!(
                "{CHILD_EPOCHS_FILE} line {line_no} has no newline; used as the child exited, \
                 stamped when it was first seen (end each line with \\n)"
            ),
        );
        if let Err(e) = use_lines(&mut rec, vec![(line_no, text)], seen_ns, &mut prev_end) {
            note_failure(&mut record_error, format!("{e:#}"));
        }
    }
    if tail.rewrites > 0 {
        warn(
            &mut rec,
            format!(
                "the child rewrote {CHILD_EPOCHS_FILE} instead of appending to it ({} times): \
                 every line was still stamped as it arrived, but the file now holds only the \
                 last ones; open it with mode \"a\" (append), not \"w\"",
                tail.rewrites
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
    let now = clock.now_ns();
    let lines = tail.poll(now).context("reading the child's epoch log")?;
    if lines.is_empty() {
        return Ok(());
    }
    use_lines(rec, lines, now, prev_end)
}

/// Epoch rows from `lines`, all ending at `end_ns`; bad lines are warned
/// about (clipped) and saved in the manifest.
fn use_lines(
    rec: &mut Recording,
    lines: Vec<(usize, String)>,
    end_ns: i64,
    prev_end: &mut i64,
) -> Result<()> {
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
                    end_ns,
                    train_acc: l.train_acc,
                    test_acc: l.test_acc,
                    train_loss: l.train_loss,
                    test_loss: l.test_loss,
                    examples: l.examples,
                })?;
                *prev_end = end_ns;
            }
            Err(why) => {
                warned = true;
                warn(
                    rec,
                    format!(
                        "{CHILD_EPOCHS_FILE} line {line_no} not used ({}): {}",
                        clip(&why),
                        clip(&text)
                    ),
                );
            }
        }
    }
    if warned {
        rec.save_manifest()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn tail_of(path: &std::path::Path) -> EpochTail {
        EpochTail::new(File::open(path).unwrap())
    }

    #[test]
    fn a_rewritten_log_is_read_again_from_the_start() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("log");
        std::fs::write(&p, "{\"epoch\":1}\n").unwrap();
        let mut t = tail_of(&p);
        assert_eq!(t.poll(1).unwrap(), vec![(1, "{\"epoch\":1}".to_string())]);
        // Same length, other content: what `open(p, "w")` leaves.
        std::fs::write(&p, "{\"epoch\":2}\n").unwrap();
        assert_eq!(t.poll(2).unwrap(), vec![(2, "{\"epoch\":2}".to_string())]);
        // Shorter.
        std::fs::write(&p, "{}\n").unwrap();
        assert_eq!(t.poll(3).unwrap(), vec![(3, "{}".to_string())]);
        assert_eq!(t.rewrites, 2);
        // Appending is not a rewrite.
        let mut f = std::fs::OpenOptions::new().append(true).open(&p).unwrap();
        f.write_all(b"{\"epoch\":4}\n{\"ep").unwrap();
        assert_eq!(t.poll(4).unwrap(), vec![(4, "{\"epoch\":4}".to_string())]);
        assert_eq!(t.rewrites, 2);
        // An unterminated last line is kept with the time it was first seen.
        f.write_all(b"och\":5}").unwrap();
        assert!(t.poll(5).unwrap().is_empty());
        assert_eq!(t.take_partial(), Some((5, "{\"epoch\":5}".to_string(), 4)));
    }

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
