//! Waiting, in `recorder wrap`, for whichever comes first: the child's
//! epoch log changes, a signal arrives (SIGINT/SIGTERM to forward), or the
//! child exits (SIGCHLD).
//!
//! Why inotify on the file: the epoch's end is the instant its line
//! arrives, so the wait must end within a millisecond of the child's
//! write. Polling the file every 10 ms put up to 10 ms of error on every
//! boundary (5 ms on average) and woke the recorder 100 times a second for
//! nothing. A pipe or FIFO the child writes to would wake as fast, but it
//! changes the protocol: a FIFO blocks a child whose reader lags, kills it
//! with SIGPIPE when the reader is gone, and is not a file a user can open
//! with mode "a" and read back; the recorder would also have to copy the
//! lines to keep the child's words verbatim. With inotify the protocol stays
//! "append lines to this file", the file stays the verbatim record, and the
//! tail's handling of rewrites and partial lines is unchanged; only the
//! waiting is. A watch that cannot be made (no inotify, watches exhausted)
//! falls back to polling, and `--epoch-poll` asks for polling.
//!
//! Signals and the child's exit reach the wait through a socket pair that
//! their handlers write a byte to (`signal_hook::low_level::pipe`), so the
//! wait ends at once whichever thread the kernel delivers them to. The wait
//! also ends every [`SAFETY_NET`], so nothing depends on an event that
//! could be missed.

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify};
use std::io::Read;
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

/// The longest wait without an event.
pub const SAFETY_NET: Duration = Duration::from_secs(1);
/// The polling interval when inotify cannot be used (the old behaviour).
pub const FALLBACK_POLL: Duration = Duration::from_millis(10);

/// How the log is watched.
#[derive(Debug)]
pub struct LogWatch {
    inotify: Option<Inotify>,
    interval: Duration,
    /// Read end of the socket pair the signal handlers write to.
    wake: UnixStream,
    ring: UnixStream,
}

impl LogWatch {
    /// Watches `path` with inotify, or polls it every `poll` when given.
    /// The note says why inotify is not used when it could not be.
    pub fn new(path: &Path, poll: Option<Duration>) -> std::io::Result<(Self, Option<String>)> {
        let (wake, ring) = UnixStream::pair()?;
        wake.set_nonblocking(true)?;
        let (inotify, note) = match poll {
            Some(_) => (None, None),
            None => match watch(path) {
                Ok(i) => (Some(i), None),
                Err(e) => (
                    None,
                    Some(format!(
                        "cannot watch {} with inotify ({e}); reading it every {} ms instead, \
                         so epoch boundaries may be up to that late",
                        path.display(),
                        FALLBACK_POLL.as_millis()
                    )),
                ),
            },
        };
        let interval = match (&inotify, poll) {
            (_, Some(p)) => p,
            (Some(_), None) => SAFETY_NET,
            (None, None) => FALLBACK_POLL,
        };
        Ok((
            Self {
                inotify,
                interval,
                wake,
                ring,
            },
            note,
        ))
    }

    /// Ends the wait on SIGINT, SIGTERM and SIGCHLD too. For the process's
    /// lifetime: their handlers keep writing to this watch's socket.
    pub fn wake_on_signals(&self) -> std::io::Result<()> {
        for sig in [
            signal_hook::consts::SIGINT,
            signal_hook::consts::SIGTERM,
            signal_hook::consts::SIGCHLD,
        ] {
            signal_hook::low_level::pipe::register(sig, self.ring.try_clone()?)?;
        }
        Ok(())
    }

    /// Whether the log is watched with inotify (rather than polled).
    pub fn is_inotify(&self) -> bool {
        self.inotify.is_some()
    }

    /// A handle that ends a [`wait`](Self::wait) when a byte is written
    /// to it (as the signal handlers do).
    pub fn waker(&self) -> std::io::Result<UnixStream> {
        self.ring.try_clone()
    }

    /// Blocks until the log may have changed, a signal came, the child
    /// exited, the waker was written to, or the interval passed; says
    /// which of the first and the others.
    pub fn wait(&mut self) -> std::io::Result<Woke> {
        let ms = u16::try_from(self.interval.as_millis()).unwrap_or(u16::MAX);
        let mut woke = Woke::default();
        {
            let mut fds = vec![PollFd::new(self.wake.as_fd(), PollFlags::POLLIN)];
            if let Some(i) = &self.inotify {
                fds.push(PollFd::new(i.as_fd(), PollFlags::POLLIN));
            }
            match poll(&mut fds, PollTimeout::from(ms)) {
                Ok(0) => woke.timeout = true,
                Ok(_) | Err(nix::errno::Errno::EINTR) => {}
                Err(e) => return Err(e.into()),
            }
            woke.signal = fds[0].revents().is_some_and(|r| !r.is_empty());
        }
        let mut sink = [0u8; 64];
        while matches!(self.wake.read(&mut sink), Ok(n) if n > 0) {}
        if let Some(i) = &self.inotify {
            // Non-blocking: EAGAIN once the queue is empty.
            while matches!(i.read_events(), Ok(v) if !v.is_empty()) {}
        }
        Ok(woke)
    }
}

/// Why a [`LogWatch::wait`] ended, beyond a change of the log.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Woke {
    /// A signal, the child's exit, or the waker.
    pub signal: bool,
    /// The interval passed with nothing happening.
    pub timeout: bool,
}

fn watch(path: &Path) -> nix::Result<Inotify> {
    let i = Inotify::init(InitFlags::IN_NONBLOCK | InitFlags::IN_CLOEXEC)?;
    // A write or truncation is IN_MODIFY; IN_CLOSE_WRITE catches a writer
    // that closes without a modification event having been read yet.
    i.add_watch(
        path,
        AddWatchFlags::IN_MODIFY | AddWatchFlags::IN_CLOSE_WRITE,
    )?;
    Ok(i)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::time::Instant;

    #[test]
    fn a_write_ends_the_wait_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("log");
        std::fs::write(&p, "").unwrap();
        let (mut w, note) = LogWatch::new(&p, None).unwrap();
        assert!(w.is_inotify(), "{note:?}");
        let p2 = p.clone();
        let writer = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(100));
            let mut f = std::fs::OpenOptions::new().append(true).open(p2).unwrap();
            f.write_all(b"{\"epoch\":1}\n").unwrap();
        });
        let start = Instant::now();
        w.wait().unwrap();
        let waited = start.elapsed();
        writer.join().unwrap();
        // Woken by the write (~100 ms), not the 1 s safety net.
        assert!(waited < Duration::from_millis(900), "{waited:?}");
        assert!(waited >= Duration::from_millis(50), "{waited:?}");
    }

    #[test]
    fn polling_waits_its_interval() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("log");
        std::fs::write(&p, "").unwrap();
        let (mut w, _) = LogWatch::new(&p, Some(Duration::from_millis(30))).unwrap();
        assert!(!w.is_inotify());
        let start = Instant::now();
        w.wait().unwrap();
        assert!(start.elapsed() >= Duration::from_millis(25));
        // Without a file there is nothing to watch: polling, said why.
        let (w, note) = LogWatch::new(&dir.path().join("none"), None).unwrap();
        assert!(!w.is_inotify());
        assert!(note.unwrap().contains("inotify"));
    }
}
