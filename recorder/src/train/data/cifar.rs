//! CIFAR-10 in its binary version (`cifar-10-batches-bin`): five training
//! batches and one test batch of 10 000 records each, a record being one
//! label byte and 3 072 pixel bytes (1 024 red, 1 024 green, 1 024 blue, each
//! a 32×32 row-major plane) — already the C×H×W layout libtorch wants.
//!
//! The Python pickle version (`cifar-10-batches-py`) is not read: its arrays
//! are pickled NumPy objects, which no pickle crate decodes without
//! re-implementing NumPy's reconstructors; the binary version holds the same
//! images and is one download away (see [`DatasetKind::download_hint`]).

use std::path::{Path, PathBuf};

use super::{DataError, DatasetKind, ImageSet};

/// Bytes per record: label + 3 × 32 × 32.
pub const RECORD_BYTES: usize = 1 + 3 * 32 * 32;
/// Records per batch file in the official release.
pub const RECORDS_PER_FILE: usize = 10_000;
/// Training batch files, in order.
pub const TRAIN_FILES: [&str; 5] = [
    "data_batch_1.bin",
    "data_batch_2.bin",
    "data_batch_3.bin",
    "data_batch_4.bin",
    "data_batch_5.bin",
];
/// The test batch file.
pub const TEST_FILE: &str = "test_batch.bin";
/// The folder the official archive extracts to.
pub const FOLDER: &str = "cifar-10-batches-bin";

/// Finds `name` in `dir/cifar-10-batches-bin` or `dir`.
pub fn locate(dir: &Path, name: &str) -> Result<PathBuf, DataError> {
    let candidates = [dir.join(FOLDER).join(name), dir.join(name)];
    candidates
        .iter()
        .find(|p| p.is_file())
        .cloned()
        .ok_or_else(|| DataError::Missing {
            dataset: DatasetKind::Cifar10,
            dir: dir.to_path_buf(),
            expected: name.to_string(),
            candidates: candidates
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
        })
}

/// Parses one batch file.
pub fn parse_batch(path: &Path, bytes: &[u8]) -> Result<ImageSet, DataError> {
    if bytes.is_empty() || bytes.len() % RECORD_BYTES != 0 {
        // An official file is exactly 10 000 records; say what it should be.
        return Err(DataError::Truncated {
            path: path.to_path_buf(),
            dataset: DatasetKind::Cifar10,
            expected_bytes: (RECORDS_PER_FILE * RECORD_BYTES) as u64,
            found_bytes: bytes.len() as u64,
        });
    }
    let n = bytes.len() / RECORD_BYTES;
    let mut labels = Vec::with_capacity(n);
    let mut pixels = Vec::with_capacity(n * (RECORD_BYTES - 1));
    for (index, record) in bytes.chunks_exact(RECORD_BYTES).enumerate() {
        let label = record[0];
        if label > 9 {
            return Err(DataError::BadLabel {
                path: path.to_path_buf(),
                index,
                label,
            });
        }
        labels.push(label);
        pixels.extend_from_slice(&record[1..]);
    }
    Ok(ImageSet {
        pixels,
        labels,
        channels: 3,
    })
}

/// Loads the given batch files, concatenated in order.
pub fn load_files(dir: &Path, names: &[&str]) -> Result<(ImageSet, Vec<PathBuf>), DataError> {
    let mut set = ImageSet {
        pixels: Vec::new(),
        labels: Vec::new(),
        channels: 3,
    };
    let mut files = Vec::new();
    for name in names {
        let path = locate(dir, name)?;
        let bytes = std::fs::read(&path).map_err(|source| DataError::Io {
            path: path.clone(),
            source,
        })?;
        let part = parse_batch(&path, &bytes)?;
        set.pixels.extend(part.pixels);
        set.labels.extend(part.labels);
        files.push(path);
    }
    Ok((set, files))
}

/// Bytes of a tiny CIFAR-10 batch, for tests.
#[cfg(test)]
pub(crate) fn fixture_batch(labels: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(labels.len() * RECORD_BYTES);
    for (i, &label) in labels.iter().enumerate() {
        out.push(label);
        out.extend((0..RECORD_BYTES - 1).map(|o| ((i * 31 + o) % 251) as u8));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_records_in_both_layouts() {
        let tmp = tempfile::tempdir().unwrap();
        let nested = tmp.path().join("a");
        std::fs::create_dir_all(nested.join(FOLDER)).unwrap();
        std::fs::write(
            nested.join(FOLDER).join(TEST_FILE),
            fixture_batch(&[3, 9, 0]),
        )
        .unwrap();
        let flat = tmp.path().join("b");
        std::fs::create_dir_all(&flat).unwrap();
        std::fs::write(flat.join(TEST_FILE), fixture_batch(&[3, 9, 0])).unwrap();
        for dir in [&nested, &flat] {
            let (set, files) = load_files(dir, &[TEST_FILE]).unwrap();
            assert_eq!(set.labels, vec![3, 9, 0]);
            assert_eq!(set.channels, 3);
            assert_eq!(set.pixels.len(), 3 * 3072);
            // Second record's first red pixel: (1·31 + 0) % 251.
            assert_eq!(set.pixels[3072], 31);
            assert_eq!(files.len(), 1);
        }
    }

    #[test]
    fn partial_record_is_truncation() {
        let tmp = tempfile::tempdir().unwrap();
        let mut bytes = fixture_batch(&[1, 2]);
        bytes.truncate(bytes.len() - 5);
        std::fs::write(tmp.path().join(TEST_FILE), bytes).unwrap();
        let err = load_files(tmp.path(), &[TEST_FILE]).unwrap_err();
        assert!(
            matches!(
                err,
                DataError::Truncated {
                    found_bytes: 6141,
                    ..
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains("cifar-10-binary.tar.gz"), "{err}");
    }

    #[test]
    fn out_of_range_label_is_rejected() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join(TEST_FILE), fixture_batch(&[1, 10])).unwrap();
        assert!(matches!(
            load_files(tmp.path(), &[TEST_FILE]),
            Err(DataError::BadLabel {
                index: 1,
                label: 10,
                ..
            })
        ));
    }

    #[test]
    fn missing_batch_names_the_archive() {
        let tmp = tempfile::tempdir().unwrap();
        let err = load_files(tmp.path(), &TRAIN_FILES).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("data_batch_1.bin") && msg.contains("cifar-10-binary.tar.gz"),
            "{msg}"
        );
    }
}
