//! Warnings of an import, printed on stderr once the work is done:
//! identical lines collapse into one with a count (`… (×20)`), in the order
//! they first appeared, so a batch of twenty runs with the same remark
//! prints it once.

use std::io::Write;

/// Collected warnings, each with how often it was given.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Warnings {
    lines: Vec<(String, usize)>,
}

impl Warnings {
    pub fn push(&mut self, w: impl Into<String>) {
        let w = w.into();
        match self.lines.iter_mut().find(|(l, _)| *l == w) {
            Some((_, n)) => *n += 1,
            None => self.lines.push((w, 1)),
        }
    }

    pub fn extend<I: IntoIterator<Item = String>>(&mut self, ws: I) {
        for w in ws {
            self.push(w);
        }
    }

    /// One line per distinct warning: `warning: TEXT` or `warning: TEXT (×N)`.
    pub fn render(&self) -> Vec<String> {
        self.lines
            .iter()
            .map(|(w, n)| match n {
                1 => format!("warning: {w}"),
                n => format!("warning: {w} (×{n})"),
            })
            .collect()
    }

    pub fn print(&self, err: &mut dyn Write) -> std::io::Result<()> {
        for l in self.render() {
            writeln!(err, "{l}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_warnings_collapse_in_first_seen_order() {
        let mut w = Warnings::default();
        for _ in 0..3 {
            w.push("epochs placed by a rule");
        }
        w.push("a.txt: line 4: skipped");
        w.push("epochs placed by a rule");
        assert_eq!(
            w.render(),
            [
                "warning: epochs placed by a rule (×4)",
                "warning: a.txt: line 4: skipped"
            ]
        );
    }
}
