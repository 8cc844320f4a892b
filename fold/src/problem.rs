//! A problem found in a run, located to the file and row, and the wording
//! that turns a list of them into one exclusion reason or warning.
//!
//! The user has to find the bad row to fix or drop it, so every message
//! starts with the file path and, where there is one, the 0-based row.
//! Lists are cut after a few entries with a count of the rest: a run with a
//! million NaN rows should produce one readable line, not a million.

use std::fmt;
use std::path::{Path, PathBuf};

/// How many problems one reason spells out before summarising.
pub(crate) const SHOWN: usize = 5;

/// One located problem.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Problem {
    pub file: PathBuf,
    pub row: Option<u64>,
    pub message: String,
}

impl Problem {
    /// A problem with a whole file.
    pub fn file(file: &Path, message: String) -> Self {
        Self {
            file: file.to_path_buf(),
            row: None,
            message,
        }
    }

    /// A problem with one row of a file.
    pub fn row(file: &Path, row: u64, message: String) -> Self {
        Self {
            file: file.to_path_buf(),
            row: Some(row),
            message,
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.row {
            Some(r) => write!(f, "{} row {r}: {}", self.file.display(), self.message),
            None => write!(f, "{}: {}", self.file.display(), self.message),
        }
    }
}

/// Joins problems into one line: the first few in full, then a count.
/// `total` may exceed `problems.len()` when not all were kept.
pub(crate) fn summarize(problems: &[Problem], total: u64) -> String {
    let mut s = problems
        .iter()
        .take(SHOWN)
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ");
    let shown = problems.len().min(SHOWN) as u64;
    if total > shown {
        s.push_str(&format!("; and {} more", total - shown));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_names_file_row_and_counts_the_rest() {
        let ps: Vec<_> = (0..7)
            .map(|r| Problem::row(Path::new("/r/epochs.parquet"), r, "bad".into()))
            .collect();
        let s = summarize(&ps, 9);
        assert!(s.starts_with("/r/epochs.parquet row 0: bad; "), "{s}");
        assert!(s.ends_with("; and 4 more"), "{s}");
    }
}
