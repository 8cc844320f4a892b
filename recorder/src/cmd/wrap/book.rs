//! Turning the child's lines into epoch rows: which epoch comes next,
//! where each one starts, and what is wrong with a line. Kept apart from
//! the recording so the rules are tested on their own.
//!
//! Where an epoch starts: at its `epoch_start` line's arrival where the
//! child wrote one; otherwise where the previous epoch ended, and epoch 1
//! when the child started, so a child that marks no starts has its
//! interpreter start-up and data loading charged to epoch 1 (as before
//! `epoch_start` existed). The manifest says so once, since it changes
//! epoch 1's energy.

use super::clip;
use trainwatt_trace::schema::CHILD_EPOCHS_FILE;
use trainwatt_trace::{ChildLine, EpochRow};

/// What one line gave.
#[derive(Debug, Clone, PartialEq)]
pub enum Entry {
    Row(EpochRow),
    /// A problem with a line: on stderr and in the manifest.
    Warning(String),
    /// A fact worth keeping with the run: in the manifest only.
    Note(String),
}

/// The epochs read so far.
#[derive(Debug)]
pub struct EpochBook {
    next_epoch: u32,
    prev_end_ns: i64,
    /// The next epoch's `epoch_start`: (epoch, instant).
    start: Option<(u32, i64)>,
    noted_default_start: bool,
}

impl EpochBook {
    /// `child_start_ns`: when the child was started (epoch 1's default start).
    pub fn new(child_start_ns: i64) -> Self {
        Self {
            next_epoch: 1,
            prev_end_ns: child_start_ns,
            start: None,
            noted_default_start: false,
        }
    }

    /// Line `line_no` with `text`, which arrived at `t_ns`.
    pub fn take(&mut self, line_no: usize, text: &str, t_ns: i64) -> Vec<Entry> {
        let expected = self.next_epoch;
        let bad = |why: String| {
            vec![Entry::Warning(format!(
                "{CHILD_EPOCHS_FILE} line {line_no} not used ({}): {}",
                clip(&why),
                clip(text)
            ))]
        };
        match ChildLine::parse(text) {
            Err(why) => bad(why),
            Ok(ChildLine::Start { epoch }) if epoch != expected => bad(format!(
                "epoch_start for epoch {epoch} out of order (expected {expected})"
            )),
            Ok(ChildLine::Start { epoch }) => match self.start {
                Some((_, first)) => bad(format!(
                    "a second epoch_start for epoch {epoch}; the first (at {:.6} s) stands",
                    first as f64 * 1e-9
                )),
                None => {
                    self.start = Some((epoch, t_ns));
                    Vec::new()
                }
            },
            Ok(ChildLine::End(l)) if l.epoch != expected => bad(format!(
                "epoch {} out of order (expected {expected})",
                l.epoch
            )),
            Ok(ChildLine::End(l)) => {
                let mut out = Vec::new();
                let start_ns = match self.start.take() {
                    Some((_, t)) if t < t_ns => t,
                    Some(_) => {
                        // Read together with the end: their instants are
                        // one, and an epoch of no length is no epoch.
                        out.push(Entry::Warning(format!(
                            "{CHILD_EPOCHS_FILE}: epoch {}'s epoch_start line arrived together \
                             with its end (both stamped at {:.6} s), so it starts where the \
                             previous epoch ended (epoch 1: when the child started)",
                            l.epoch,
                            t_ns as f64 * 1e-9
                        )));
                        self.prev_end_ns
                    }
                    None => {
                        if !self.noted_default_start {
                            self.noted_default_start = true;
                            out.push(Entry::Note(default_start_note(l.epoch)));
                        }
                        self.prev_end_ns
                    }
                };
                out.push(Entry::Row(EpochRow {
                    epoch: l.epoch,
                    start_ns,
                    end_ns: t_ns,
                    train_acc: l.train_acc,
                    test_acc: l.test_acc,
                    train_loss: l.train_loss,
                    test_loss: l.test_loss,
                    examples: l.examples,
                }));
                self.prev_end_ns = t_ns;
                self.next_epoch += 1;
                out
            }
        }
    }
}

fn default_start_note(epoch: u32) -> String {
    let start = if epoch == 1 {
        "when the child started, so interpreter start-up and data loading are charged to it"
            .to_string()
    } else {
        format!("when epoch {} ended", epoch - 1)
    };
    format!(
        "{CHILD_EPOCHS_FILE}: epoch {epoch} has no epoch_start line; it starts {start} \
         (and any later epoch without one starts where the previous one ended). A child that \
         writes {{\"event\": \"epoch_start\", \"epoch\": N}} when an epoch's work begins \
         leaves what comes before out of that epoch"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(entries: &[Entry]) -> Vec<(u32, i64, i64)> {
        entries
            .iter()
            .filter_map(|e| match e {
                Entry::Row(r) => Some((r.epoch, r.start_ns, r.end_ns)),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn without_start_lines_epochs_start_at_the_child_and_at_the_last_end() {
        let mut b = EpochBook::new(5);
        let e = b.take(1, r#"{"epoch":1,"test_acc":0.5}"#, 100);
        assert_eq!(rows(&e), [(1, 5, 100)]);
        assert!(
            matches!(&e[0], Entry::Note(n) if n.contains("interpreter start-up")),
            "{e:?}"
        );
        // Said once.
        let e = b.take(2, r#"{"epoch":2}"#, 250);
        assert_eq!(
            e,
            [Entry::Row(EpochRow {
                epoch: 2,
                start_ns: 100,
                end_ns: 250,
                train_acc: None,
                test_acc: None,
                train_loss: None,
                test_loss: None,
                examples: None
            })]
        );
    }

    #[test]
    fn start_lines_set_the_start() {
        let mut b = EpochBook::new(5);
        assert!(b
            .take(1, r#"{"event":"epoch_start","epoch":1}"#, 40)
            .is_empty());
        let e = b.take(2, r#"{"epoch":1}"#, 100);
        assert_eq!(rows(&e), [(1, 40, 100)]);
        assert_eq!(e.len(), 1, "no note when the child marks the start");
        // Epoch 2 marks its start after some evaluation.
        assert!(b
            .take(3, r#"{"event":"epoch_start","epoch":2}"#, 130)
            .is_empty());
        assert_eq!(rows(&b.take(4, r#"{"epoch":2}"#, 200)), [(2, 130, 200)]);
        // Epoch 3 does not: it starts where 2 ended, and that is noted.
        let e = b.take(5, r#"{"epoch":3}"#, 300);
        assert_eq!(rows(&e), [(3, 200, 300)]);
        assert!(matches!(&e[0], Entry::Note(n) if n.contains("when epoch 2 ended")));
    }

    #[test]
    fn a_start_read_together_with_its_end_is_not_used() {
        let mut b = EpochBook::new(5);
        assert_eq!(rows(&b.take(1, r#"{"epoch":1}"#, 100)).len(), 1);
        assert!(b
            .take(2, r#"{"event":"epoch_start","epoch":2}"#, 180)
            .is_empty());
        let e = b.take(3, r#"{"epoch":2}"#, 180);
        assert_eq!(rows(&e), [(2, 100, 180)]);
        assert!(matches!(&e[0], Entry::Warning(w) if w.contains("arrived together")));
    }

    #[test]
    fn bad_start_lines_are_warned_about_and_ignored() {
        let mut b = EpochBook::new(0);
        let warn = |e: Vec<Entry>| match e.as_slice() {
            [Entry::Warning(w)] => w.clone(),
            other => panic!("{other:?}"),
        };
        assert!(warn(b.take(1, r#"{"event":"epoch_start","epoch":2}"#, 10))
            .contains("epoch_start for epoch 2 out of order (expected 1)"));
        assert!(b
            .take(2, r#"{"event":"epoch_start","epoch":1}"#, 20)
            .is_empty());
        let w = warn(b.take(3, r#"{"event":"epoch_start","epoch":1}"#, 30));
        assert!(w.contains("line 3") && w.contains("the first"), "{w}");
        assert!(warn(b.take(4, r#"{"event":"oops","epoch":1}"#, 35)).contains("unknown event"));
        assert_eq!(rows(&b.take(5, r#"{"epoch":1}"#, 40)), [(1, 20, 40)]);
        assert!(warn(b.take(6, r#"{"epoch":3}"#, 50)).contains("out of order (expected 2)"));
    }
}
