//! Finding run folders: any folder holding a `manifest.json`, at any depth
//! under the paths given (archive roots, partitions or single runs).
//!
//! The archive layout (`platform=…/dataset=…/…/run=…`) is a convention, not
//! something the reader relies on: runs copied into a flat folder, or an
//! archive with an extra level, load the same. A run folder is not searched
//! further (its `samples/` holds no runs). Hidden folders are skipped (editor
//! and tool droppings), symbolic links to folders are followed once, and a
//! folder reached twice (overlapping arguments, link loops) is read once.

use super::ArchiveError;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use trainwatt_trace::schema::MANIFEST_FILE;

/// Run folders under `paths`, sorted and without duplicates.
pub(crate) fn find_runs(paths: &[PathBuf]) -> Result<Vec<PathBuf>, ArchiveError> {
    let mut seen = BTreeSet::new();
    let mut runs = BTreeSet::new();
    for root in paths {
        let meta = std::fs::metadata(root).map_err(|source| ArchiveError::Io {
            path: root.clone(),
            source,
        })?;
        if !meta.is_dir() {
            return Err(ArchiveError::NotAFolder { path: root.clone() });
        }
        let before = runs.len();
        walk(root, &mut seen, &mut runs)?;
        if runs.len() == before && !runs.iter().any(|r: &PathBuf| r.starts_with(root)) {
            return Err(ArchiveError::NoRuns { path: root.clone() });
        }
    }
    Ok(runs.into_iter().collect())
}

fn walk(
    dir: &Path,
    seen: &mut BTreeSet<PathBuf>,
    runs: &mut BTreeSet<PathBuf>,
) -> Result<(), ArchiveError> {
    let io = |source| ArchiveError::Io {
        path: dir.to_path_buf(),
        source,
    };
    let canonical = dir.canonicalize().map_err(io)?;
    if !seen.insert(canonical) {
        return Ok(());
    }
    if dir.join(MANIFEST_FILE).is_file() {
        runs.insert(dir.to_path_buf());
        return Ok(());
    }
    let mut children = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let entry = entry.map_err(io)?;
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
    for child in children {
        walk(&child, seen, runs)?;
    }
    Ok(())
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
        let runs = find_runs(&[tmp.path().to_path_buf(), a.clone()]).unwrap();
        assert_eq!(runs, vec![b, a]);
        let empty = tempfile::tempdir().unwrap();
        let err = find_runs(&[empty.path().to_path_buf()]).unwrap_err();
        assert!(err.to_string().contains("no run folders"), "{err}");
    }
}
