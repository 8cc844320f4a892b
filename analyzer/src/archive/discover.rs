//! Finding run folders: any folder holding a `manifest.json`, at any depth
//! under the paths given (archive roots, partitions or single runs).
//!
//! The archive layout (`platform=…/dataset=…/…/run=…`) is a convention, not
//! something the reader relies on: runs copied into a flat folder, or an
//! archive with an extra level, load the same. A run folder is not searched
//! further (its `samples/` holds no runs). Hidden folders are skipped (editor
//! and tool droppings), symbolic links to folders are followed once, and a
//! folder reached twice (overlapping arguments, link loops) is read once.
//!
//! Nothing under an archive is passed over without a word: a folder that
//! holds a run's files (`epochs.parquet`, `samples/`) but no manifest, and a
//! folder below a root that cannot be read, come back as [`Unusable`] so
//! the loader lists them with the excluded runs instead of losing them.

use super::{ArchiveError, ExclusionKind};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use trainwatt_trace::schema::{CHILD_EPOCHS_FILE, EPOCHS_FILE, MANIFEST_FILE, SAMPLES_DIR};

/// A folder that looks like (or may hide) a run but cannot be loaded.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Unusable {
    pub dir: PathBuf,
    pub kind: ExclusionKind,
    pub reason: String,
}

/// What the walk found.
#[derive(Debug, Default)]
pub(crate) struct Found {
    /// Run folders, sorted and without duplicates.
    pub runs: Vec<PathBuf>,
    pub unusable: Vec<Unusable>,
}

/// Run folders under `paths`, and the folders that could not be used.
pub(crate) fn find_runs(paths: &[PathBuf]) -> Result<Found, ArchiveError> {
    let mut seen = BTreeSet::new();
    let mut runs = BTreeSet::new();
    let mut unusable = Vec::new();
    for root in paths {
        let meta = std::fs::metadata(root).map_err(|source| ArchiveError::Io {
            path: root.clone(),
            source,
        })?;
        if !meta.is_dir() {
            return Err(ArchiveError::NotAFolder { path: root.clone() });
        }
        // A root that cannot be read is the user's argument: an error.
        std::fs::read_dir(root).map_err(|source| ArchiveError::Io {
            path: root.clone(),
            source,
        })?;
        let (before, unusable_before) = (runs.len(), unusable.len());
        let mut found = Walk {
            seen: &mut seen,
            runs: &mut runs,
            unusable: &mut unusable,
        };
        found.walk(root);
        let nothing = runs.len() == before && unusable.len() == unusable_before;
        if nothing && !runs.iter().any(|r: &PathBuf| r.starts_with(root)) {
            return Err(ArchiveError::NoRuns { path: root.clone() });
        }
    }
    unusable.sort_by(|a, b| a.dir.cmp(&b.dir));
    Ok(Found {
        runs: runs.into_iter().collect(),
        unusable,
    })
}

/// Files that only a run folder holds: a folder with one of them and no
/// manifest is a run that lost its manifest.
const RUN_MARKERS: [&str; 3] = [EPOCHS_FILE, SAMPLES_DIR, CHILD_EPOCHS_FILE];

struct Walk<'a> {
    seen: &'a mut BTreeSet<PathBuf>,
    runs: &'a mut BTreeSet<PathBuf>,
    unusable: &'a mut Vec<Unusable>,
}

impl Walk<'_> {
    fn unusable(&mut self, dir: &Path, kind: ExclusionKind, reason: String) {
        self.unusable.push(Unusable {
            dir: dir.to_path_buf(),
            kind,
            reason,
        });
    }

    fn walk(&mut self, dir: &Path) {
        let unreadable = |e: std::io::Error| {
            format!(
                "cannot read this folder ({e}); runs inside it, if any, were not loaded \
                 (fix its permissions, or leave it out of the paths given)"
            )
        };
        let canonical = match dir.canonicalize() {
            Ok(c) => c,
            Err(e) => return self.unusable(dir, ExclusionKind::UnreadableFolder, unreadable(e)),
        };
        if !self.seen.insert(canonical) {
            return;
        }
        if dir.join(MANIFEST_FILE).is_file() {
            self.runs.insert(dir.to_path_buf());
            return;
        }
        if let Some(marker) = RUN_MARKERS.iter().find(|m| dir.join(m).exists()) {
            return self.unusable(
                dir,
                ExclusionKind::MissingManifest,
                trainwatt_fold::missing_manifest_message(marker),
            );
        }
        match children(dir) {
            Ok(children) => {
                for child in children {
                    self.walk(&child);
                }
            }
            Err(e) => self.unusable(dir, ExclusionKind::UnreadableFolder, unreadable(e)),
        }
    }
}

/// The sub-folders of `dir` (links to folders included), sorted, without
/// hidden ones.
fn children(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut children = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        // `metadata` follows links, so a linked folder counts as a folder.
        let path = entry.path();
        if std::fs::metadata(&path).is_ok_and(|m| m.is_dir()) {
            children.push(path);
        }
    }
    children.sort();
    Ok(children)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_nested_runs_once_and_skips_hidden() {
        let tmp = tempfile::tempdir().unwrap();
        let a = tmp
            .path()
            .join("platform=x/dataset=mnist/arch=lenet/width=1/run=a");
        let b = tmp.path().join("flat/b");
        let hidden = tmp.path().join(".trash/c");
        for d in [&a, &b, &hidden] {
            std::fs::create_dir_all(d.join("samples")).unwrap();
            std::fs::write(d.join(MANIFEST_FILE), "{}").unwrap();
        }
        let found = find_runs(&[tmp.path().to_path_buf(), a.clone()]).unwrap();
        assert_eq!(found.runs, vec![b, a]);
        assert!(found.unusable.is_empty());
        let empty = tempfile::tempdir().unwrap();
        let err = find_runs(&[empty.path().to_path_buf()]).unwrap_err();
        assert!(err.to_string().contains("no run folders"), "{err}");
    }

    #[test]
    fn a_run_without_its_manifest_is_reported_not_skipped() {
        let tmp = tempfile::tempdir().unwrap();
        let good = tmp.path().join("run=a");
        let lost = tmp.path().join("run=b");
        std::fs::create_dir_all(good.join("samples")).unwrap();
        std::fs::write(good.join(MANIFEST_FILE), "{}").unwrap();
        std::fs::create_dir_all(lost.join("samples")).unwrap();
        std::fs::write(lost.join(EPOCHS_FILE), "").unwrap();
        let found = find_runs(&[tmp.path().to_path_buf()]).unwrap();
        assert_eq!(found.runs, vec![good]);
        assert_eq!(found.unusable.len(), 1);
        assert_eq!(found.unusable[0].dir, lost);
        assert_eq!(found.unusable[0].kind, ExclusionKind::MissingManifest);
        let why = &found.unusable[0].reason;
        assert!(why.contains("manifest.json is missing"), "{why}");
        assert!(why.contains("restore manifest.json"), "{why}");
    }
}
