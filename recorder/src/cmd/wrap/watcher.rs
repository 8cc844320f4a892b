//! The thread that watches the child's epoch log and stamps what arrives.
//!
//! Why a thread of its own: recording an epoch rewrites `epochs.parquet`
//! and the manifest with fsyncs, milliseconds on a busy disk. Done on the
//! thread that also stamps, a line written meanwhile waited for all of it,
//! so its stamp was late by that much, and a short epoch's `epoch_start`
//! and end could be read (and stamped) together. Here stamping is all this
//! thread does: wake on the file's change ([`LogWatch`]), read the new
//! lines ([`EpochTail`]), take one boundary read, hand the lines and its
//! instant to the main thread, which records them at its own pace. It also
//! passes on wake-ups for signals and the child's exit, so the main thread
//! blocks on one channel.

use super::tail::EpochTail;
use super::watch::LogWatch;
use crate::recording::Stamper;
use crossbeam_channel::{Receiver, Sender};
use std::io::Write;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

/// What the watcher tells the main thread.
#[derive(Debug)]
pub enum Event {
    /// Complete lines that arrived together, stamped at `t_ns`.
    Lines {
        lines: Vec<(usize, String)>,
        t_ns: i64,
    },
    /// A signal came or the child exited (or a second passed): look.
    Poke,
    /// Reading or watching the log failed.
    Failed(String),
}

/// The running watcher.
#[derive(Debug)]
pub struct Watcher {
    stop: Arc<AtomicBool>,
    waker: UnixStream,
    thread: JoinHandle<EpochTail>,
}

impl Watcher {
    /// Starts watching; events arrive on the returned channel.
    pub fn spawn(
        mut tail: EpochTail,
        mut watch: LogWatch,
        stamper: Stamper,
    ) -> std::io::Result<(Self, Receiver<Event>)> {
        let (tx, rx) = crossbeam_channel::unbounded();
        let stop = Arc::new(AtomicBool::new(false));
        let waker = watch.waker()?;
        let stop2 = stop.clone();
        let thread = std::thread::Builder::new()
            .name("trainwatt-epochs".into())
            .spawn(move || {
                while !stop2.load(Ordering::Relaxed) {
                    stamp_arrivals(&mut tail, &stamper, &tx);
                    let event = match watch.wait() {
                        Ok(w) if w.signal || w.timeout => Event::Poke,
                        Ok(_) => continue,
                        Err(e) => Event::Failed(format!("waiting for the epoch log: {e}")),
                    };
                    if tx.send(event).is_err() {
                        break;
                    }
                }
                tail
            })?;
        Ok((
            Self {
                stop,
                waker,
                thread,
            },
            rx,
        ))
    }

    /// Stops the thread and returns the tail (for what arrives after).
    pub fn stop(mut self) -> Option<EpochTail> {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.waker.write_all(&[1]);
        self.thread.join().ok()
    }
}

/// Reads what arrived and, if anything did, stamps it with one boundary
/// read and sends it on.
pub fn stamp_arrivals(tail: &mut EpochTail, stamper: &Stamper, tx: &Sender<Event>) {
    let arrived = match tail.poll() {
        Ok(a) => a,
        Err(e) => {
            let _ = tx.send(Event::Failed(format!("reading the child's epoch log: {e}")));
            return;
        }
    };
    if !arrived.needs_stamp() {
        return;
    }
    let t_ns = stamper.stamp().t_ns;
    if arrived.partial_started {
        tail.stamp_partial(t_ns);
    }
    if !arrived.lines.is_empty() {
        let _ = tx.send(Event::Lines {
            lines: arrived.lines,
            t_ns,
        });
    }
}
