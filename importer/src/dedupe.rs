//! The same input files imported twice: every imported run records its
//! files' SHA-256 (and, for a file holding several runs, the line its run
//! came from) in `manifest.imported.files`. Before writing, those of the
//! runs already in the target archive are read, and a new run made of
//! exactly the same content is refused whatever its labels (platform,
//! dataset, …, which only move it to another folder), naming the run that
//! holds it. `--run-id` imports it again on purpose.

use super::build::ImportedRun;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use trainwatt_trace::schema::MANIFEST_FILE;
use trainwatt_trace::{ImportedFile, Manifest};

/// What identifies an import's content: each file's (role, SHA-256, line),
/// sorted.
pub type ContentKey = Vec<(String, String, Option<u64>)>;

/// The content key of a run's files; `None` when a file has no hash.
pub fn key_of(files: &[ImportedFile]) -> Option<ContentKey> {
    let mut key: ContentKey = files
        .iter()
        .map(|f| Some((f.role.clone(), f.sha256.clone()?, f.line)))
        .collect::<Option<_>>()?;
    if key.is_empty() {
        return None;
    }
    key.sort();
    Some(key)
}

/// Imported runs already in an archive, by content.
#[derive(Debug, Clone, Default)]
pub struct Known {
    runs: BTreeMap<ContentKey, PathBuf>,
}

impl Known {
    /// Reads every manifest under `archive` (hidden folders, such as
    /// staging folders, are skipped; unreadable manifests are ignored: the
    /// analyzer reports those).
    pub fn scan(archive: &Path) -> Self {
        let mut known = Known::default();
        let mut stack = vec![archive.to_path_buf()];
        while let Some(dir) = stack.pop() {
            let manifest = dir.join(MANIFEST_FILE);
            if manifest.is_file() {
                if let Ok(m) = Manifest::read(&manifest) {
                    if let Some(key) = m.imported.as_ref().and_then(|i| key_of(&i.files)) {
                        known.runs.entry(key).or_insert(dir);
                    }
                }
                continue;
            }
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for e in entries.flatten() {
                let hidden = e.file_name().to_string_lossy().starts_with('.');
                if !hidden && e.file_type().is_ok_and(|t| t.is_dir()) {
                    stack.push(e.path());
                }
            }
        }
        known
    }

    /// The run folder that already holds `run`'s content, if any.
    pub fn holder(&self, run: &ImportedRun) -> Option<&Path> {
        let key = key_of(&run.manifest.imported.as_ref()?.files)?;
        self.runs.get(&key).map(PathBuf::as_path)
    }

    /// Records a run written (or about to be) at `dir`.
    pub fn add(&mut self, run: &ImportedRun, dir: &Path) {
        if let Some(key) = run
            .manifest
            .imported
            .as_ref()
            .and_then(|i| key_of(&i.files))
        {
            self.runs.entry(key).or_insert_with(|| dir.to_path_buf());
        }
    }
}

/// The refusal, naming the folder that holds the content.
pub fn refusal(holder: &Path) -> String {
    format!(
        "an import of the same input files (same SHA-256, whatever the labels) already exists: \
         {}; give --run-id to import them again on purpose",
        holder.display()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(role: &str, sha: &str, line: Option<u64>) -> ImportedFile {
        ImportedFile {
            role: role.into(),
            format: "x".into(),
            path: format!("/somewhere/{sha}"),
            bytes: 1,
            sha256: Some(sha.into()),
            line,
        }
    }

    #[test]
    fn keys_ignore_paths_and_order_but_not_lines() {
        let a = key_of(&[file("power", "aa", None), file("epochs", "bb", Some(2))]);
        let b = key_of(&[file("epochs", "bb", Some(2)), file("power", "aa", None)]);
        assert_eq!(a, b);
        let c = key_of(&[file("power", "aa", None), file("epochs", "bb", Some(14))]);
        assert_ne!(a, c);
        let mut unhashed = file("power", "aa", None);
        unhashed.sha256 = None;
        assert_eq!(key_of(&[unhashed]), None);
    }
}
