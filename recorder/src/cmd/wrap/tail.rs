//! Incremental reading of the child's epoch log: complete lines as they are
//! appended, an unterminated last line kept aside (with the instant it was
//! first seen), and rewrites of the file noticed and read again.
//!
//! Reading is separate from stamping: [`EpochTail::poll`] says what
//! arrived, and the caller takes one boundary read for it and stamps the
//! arrival with that read's instant ([`EpochTail::stamp_partial`] for a
//! partial line), so every instant the run keeps is one where every source
//! was read.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};

/// What one [`EpochTail::poll`] found.
#[derive(Debug, Default, PartialEq)]
pub struct Arrived {
    /// Complete, non-empty lines with their 1-based line numbers.
    pub lines: Vec<(usize, String)>,
    /// An unterminated line began in this read and awaits its stamp.
    pub partial_started: bool,
}

impl Arrived {
    /// Something arrived that needs the instant of arrival.
    pub fn needs_stamp(&self) -> bool {
        !self.lines.is_empty() || self.partial_started
    }
}

/// Incremental reader of the child's epoch log.
///
/// It also notices when the child rewrites the file instead of appending
/// to it (`open(path, "w")`, a common mistake): the file shrinks, or the
/// bytes of the last line read are no longer where they were. It then
/// reads the file again from the start, so the rewritten line still becomes
/// an epoch, and says so once.
#[derive(Debug)]
pub struct EpochTail {
    file: File,
    offset: u64,
    partial: Vec<u8>,
    /// When the first byte of `partial` was seen (its line's stamp if the
    /// child exits without ending it); `None` until stamped.
    partial_since_ns: Option<i64>,
    line_no: usize,
    /// The last complete line read (with its newline), ending where
    /// `partial` begins.
    last_line: Vec<u8>,
    /// How many times the file was found rewritten.
    pub rewrites: usize,
}

impl EpochTail {
    pub fn new(file: File) -> Self {
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

    /// Reads what was appended since the last call.
    pub fn poll(&mut self) -> std::io::Result<Arrived> {
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
        let was_partial = !self.partial.is_empty();
        self.partial.extend_from_slice(&buf);
        let mut lines = Vec::new();
        let mut ended_partial = false;
        while let Some(pos) = self.partial.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.partial.drain(..=pos).collect();
            ended_partial = true;
            self.line_no += 1;
            let text = String::from_utf8_lossy(&line).trim().to_string();
            self.last_line = line;
            if !text.is_empty() {
                lines.push((self.line_no, text));
            }
        }
        // A rest that was already waiting keeps its first sighting's stamp;
        // one that began in this read needs a new one.
        let partial_started = !self.partial.is_empty() && (!was_partial || ended_partial);
        if self.partial.is_empty() || partial_started {
            self.partial_since_ns = None;
        }
        Ok(Arrived {
            lines,
            partial_started,
        })
    }

    /// Stamps the unterminated line that began in the last [`poll`](Self::poll).
    pub fn stamp_partial(&mut self, t_ns: i64) {
        if !self.partial.is_empty() && self.partial_since_ns.is_none() {
            self.partial_since_ns = Some(t_ns);
        }
    }

    /// The unterminated last line, once the child has exited: the child
    /// wrote it and will write nothing more, so it counts, stamped when it
    /// was first seen.
    pub fn take_partial(&mut self) -> Option<(usize, String, i64)> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn tail_of(path: &std::path::Path) -> EpochTail {
        EpochTail::new(File::open(path).unwrap())
    }

    /// `poll` then, as the recorder does, stamp what arrived with `t`.
    fn poll_at(t: &mut EpochTail, t_ns: i64) -> Vec<(usize, String)> {
        let a = t.poll().unwrap();
        if a.partial_started {
            t.stamp_partial(t_ns);
        }
        a.lines
    }

    #[test]
    fn a_rewritten_log_is_read_again_from_the_start() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("log");
        std::fs::write(&p, "{\"epoch\":1}\n").unwrap();
        let mut t = tail_of(&p);
        assert_eq!(poll_at(&mut t, 1), vec![(1, "{\"epoch\":1}".to_string())]);
        // Same length, other content: what `open(p, "w")` leaves.
        std::fs::write(&p, "{\"epoch\":2}\n").unwrap();
        assert_eq!(poll_at(&mut t, 2), vec![(2, "{\"epoch\":2}".to_string())]);
        // Shorter.
        std::fs::write(&p, "{}\n").unwrap();
        assert_eq!(poll_at(&mut t, 3), vec![(3, "{}".to_string())]);
        assert_eq!(t.rewrites, 2);
        // Appending is not a rewrite.
        let mut f = std::fs::OpenOptions::new().append(true).open(&p).unwrap();
        f.write_all(b"{\"epoch\":4}\n{\"ep").unwrap();
        assert_eq!(poll_at(&mut t, 4), vec![(4, "{\"epoch\":4}".to_string())]);
        assert_eq!(t.rewrites, 2);
        // An unterminated last line is kept with the time it was first seen.
        f.write_all(b"och\":5}").unwrap();
        let a = t.poll().unwrap();
        assert!(a.lines.is_empty() && !a.partial_started, "{a:?}");
        assert_eq!(t.take_partial(), Some((5, "{\"epoch\":5}".to_string(), 4)));
    }

    #[test]
    fn a_partial_line_after_a_complete_one_gets_a_new_stamp() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("log");
        std::fs::write(&p, "{\"epoch\":1").unwrap();
        let mut t = tail_of(&p);
        assert!(poll_at(&mut t, 10).is_empty());
        let mut f = std::fs::OpenOptions::new().append(true).open(&p).unwrap();
        // The first line ends and a second begins in one read.
        f.write_all(b"}\n{\"epoch\":2}").unwrap();
        let a = t.poll().unwrap();
        assert_eq!(a.lines, vec![(1, "{\"epoch\":1}".to_string())]);
        assert!(a.partial_started && a.needs_stamp());
        t.stamp_partial(20);
        // Nothing new: nothing to stamp, and the first sighting stands.
        assert!(!t.poll().unwrap().needs_stamp());
        t.stamp_partial(30);
        assert_eq!(t.take_partial(), Some((2, "{\"epoch\":2}".to_string(), 20)));
    }
}
