//! CIFAR-10 in either of its releases, which hold the same images:
//!
//! - the binary version (`cifar-10-batches-bin`): five training batches and
//!   one test batch of 10 000 records each, a record being one label byte and
//!   3 072 pixel bytes (1 024 red, 1 024 green, 1 024 blue, each a 32×32
//!   row-major plane) — already the C×H×W layout libtorch wants;
//! - the python version (`cifar-10-batches-py`, what torchvision and the
//!   paper's code read): the same batches as pickled dicts whose `data` is a
//!   10 000×3 072 uint8 NumPy array with the same planes per row and whose
//!   `labels` is a list, decoded by [`super::cifar_pickle`].
//!
//! Both give identical [`ImageSet`]s. When a data folder holds both, the
//! binary version is read (no decoding; the manifest says so, see
//! [`Choice::describe`]).

use std::path::{Path, PathBuf};

use super::cifar_pickle::{self, Value};
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

/// The python version's training batches, in order.
pub const PY_TRAIN_FILES: [&str; 5] = [
    "data_batch_1",
    "data_batch_2",
    "data_batch_3",
    "data_batch_4",
    "data_batch_5",
];
/// The python version's test batch.
pub const PY_TEST_FILE: &str = "test_batch";
/// The folder the python archive extracts to.
pub const PY_FOLDER: &str = "cifar-10-batches-py";

/// Finds `name` in `dir/cifar-10-batches-bin` or `dir`.
pub fn locate(dir: &Path, name: &str) -> Result<PathBuf, DataError> {
    locate_in(dir, FOLDER, name)
}

fn locate_in(dir: &Path, folder: &str, name: &str) -> Result<PathBuf, DataError> {
    let candidates = [dir.join(folder).join(name), dir.join(name)];
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

/// One of CIFAR-10's two releases.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// `cifar-10-binary.tar.gz`: `cifar-10-batches-bin/*.bin`.
    Binary,
    /// `cifar-10-python.tar.gz`: `cifar-10-batches-py/` pickles.
    Python,
}

impl Version {
    /// Training batch files, in order.
    pub fn train_files(self) -> &'static [&'static str] {
        match self {
            Version::Binary => &TRAIN_FILES,
            Version::Python => &PY_TRAIN_FILES,
        }
    }

    /// The test batch file.
    pub fn test_file(self) -> &'static str {
        match self {
            Version::Binary => TEST_FILE,
            Version::Python => PY_TEST_FILE,
        }
    }

    /// The folder its archive extracts to.
    pub fn folder(self) -> &'static str {
        match self {
            Version::Binary => FOLDER,
            Version::Python => PY_FOLDER,
        }
    }

    /// Loads the given batch files of this version, concatenated in order.
    pub fn load_files(
        self,
        dir: &Path,
        names: &[&str],
    ) -> Result<(ImageSet, Vec<PathBuf>), DataError> {
        let mut set = ImageSet {
            pixels: Vec::new(),
            labels: Vec::new(),
            channels: 3,
        };
        let mut files = Vec::new();
        for name in names {
            let path = locate_in(dir, self.folder(), name)?;
            let bytes = std::fs::read(&path).map_err(|source| DataError::Io {
                path: path.clone(),
                source,
            })?;
            let part = match self {
                Version::Binary => parse_batch(&path, &bytes)?,
                Version::Python => parse_python_batch(&path, &bytes)?,
            };
            set.pixels.extend(part.pixels);
            set.labels.extend(part.labels);
            files.push(path);
        }
        Ok((set, files))
    }

    fn has_all(self, dir: &Path, needs_train: bool) -> bool {
        let train = if needs_train { self.train_files() } else { &[] };
        train
            .iter()
            .chain([&self.test_file()])
            .all(|n| locate_in(dir, self.folder(), n).is_ok())
    }

    fn has_any(self, dir: &Path) -> bool {
        self.train_files()
            .iter()
            .chain([&self.test_file()])
            .any(|n| locate_in(dir, self.folder(), n).is_ok())
    }
}

/// The version [`choose`] picked, and whether the other one is there too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Choice {
    /// The version read.
    pub version: Version,
    /// The other version's files are also in the folder (not read).
    pub other_present: bool,
}

impl Choice {
    /// For the data record: which version was read, and that the other was
    /// left alone when both are there.
    pub fn describe(&self) -> String {
        let what = match self.version {
            Version::Binary => "CIFAR-10 binary version (cifar-10-batches-bin)",
            Version::Python => "CIFAR-10 python version (cifar-10-batches-py pickles)",
        };
        if self.other_present {
            let other = match self.version {
                Version::Binary => "python",
                Version::Python => "binary",
            };
            format!("{what}; the {other} version is also present and was not read (same images)")
        } else {
            what.to_string()
        }
    }
}

/// Which version to read from `dir`: the binary one when it has every file
/// needed (the test batch, and the training batches if `needs_train`), else
/// the python one when it does; when neither is complete, the python one if
/// only its files are there, else the binary one (whose missing file the
/// error then names).
pub fn choose(dir: &Path, needs_train: bool) -> Choice {
    let (bin, py) = (Version::Binary, Version::Python);
    let version = if bin.has_all(dir, needs_train) {
        bin
    } else if py.has_all(dir, needs_train) || (py.has_any(dir) && !bin.has_any(dir)) {
        py
    } else {
        bin
    };
    let other = if version == bin { py } else { bin };
    Choice {
        version,
        other_present: other.has_any(dir),
    }
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

/// Parses one python batch: a pickled dict with `data` (an n×3 072 uint8
/// array, the planes of a binary record) and `labels` (n ints 0..=9).
pub fn parse_python_batch(path: &Path, bytes: &[u8]) -> Result<ImageSet, DataError> {
    let value = cifar_pickle::decode(bytes).map_err(|error| DataError::Pickle {
        path: path.to_path_buf(),
        error,
    })?;
    let layout = |reason: String| DataError::PythonLayout {
        path: path.to_path_buf(),
        reason,
    };
    if !matches!(value, Value::Dict(_)) {
        return Err(layout("the pickle holds no dict".into()));
    }
    let (shape, data) = match value.get("data") {
        Some(Value::Array { shape, data }) => (shape, data),
        Some(_) => return Err(layout("its data entry is not a uint8 array".into())),
        None => return Err(layout("it has no data entry".into())),
    };
    let Some(Value::List(labels)) = value.get("labels") else {
        return Err(layout("it has no labels list".into()));
    };
    if shape.len() != 2 || shape[1] != RECORD_BYTES - 1 || shape[0] != labels.len() {
        return Err(layout(format!(
            "data has shape {shape:?} for {} labels, expected [{}, 3072]",
            labels.len(),
            labels.len()
        )));
    }
    let mut out = Vec::with_capacity(labels.len());
    for (index, label) in labels.iter().enumerate() {
        match label {
            Value::Int(l @ 0..=9) => out.push(*l as u8),
            Value::Int(l @ 10..=255) => {
                return Err(DataError::BadLabel {
                    path: path.to_path_buf(),
                    index,
                    label: *l as u8,
                })
            }
            other => {
                return Err(layout(format!(
                    "label {index} is {other:?}, not a class 0..9"
                )))
            }
        }
    }
    Ok(ImageSet {
        pixels: data.to_vec(),
        labels: out,
        channels: 3,
    })
}

/// Loads the given binary batch files, concatenated in order.
pub fn load_files(dir: &Path, names: &[&str]) -> Result<(ImageSet, Vec<PathBuf>), DataError> {
    Version::Binary.load_files(dir, names)
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

/// The same images as [`fixture_batch`], as a python batch in the official
/// files' form (Python 2 cPickle, protocol 2; no memo opcodes), for tests.
#[cfg(test)]
pub(crate) fn fixture_python_batch(labels: &[u8]) -> Vec<u8> {
    let n = u16::try_from(labels.len()).expect("a small fixture");
    let pixels: Vec<u8> = fixture_batch(labels)
        .chunks_exact(RECORD_BYTES)
        .flat_map(|r| r[1..].to_vec())
        .collect();
    let mut p =
        b"\x80\x02}(U\x04datacnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\n".to_vec();
    p.extend(b"K\x00\x85U\x01b\x87R(K\x01M");
    p.extend(n.to_le_bytes());
    p.extend(b"M\x00\x0c\x86cnumpy\ndtype\nU\x02u1K\x00K\x01\x87R(K\x03U\x01|NNN");
    p.extend(b"J\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb\x89T");
    p.extend((pixels.len() as u32).to_le_bytes());
    p.extend(pixels);
    p.extend(b"tbU\x06labels](");
    for &l in labels {
        p.extend([b'K', l]);
    }
    p.extend(b"eu.");
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_batch_reads_as_the_binary_one() {
        let tmp = tempfile::tempdir().unwrap();
        let (py, bin) = (tmp.path().join("py"), tmp.path().join("bin"));
        std::fs::create_dir_all(py.join(PY_FOLDER)).unwrap();
        std::fs::create_dir_all(&bin).unwrap();
        let labels = [3, 9, 0, 7];
        std::fs::write(
            py.join(PY_FOLDER).join(PY_TEST_FILE),
            fixture_python_batch(&labels),
        )
        .unwrap();
        std::fs::write(bin.join(TEST_FILE), fixture_batch(&labels)).unwrap();
        let (from_py, files) = Version::Python.load_files(&py, &[PY_TEST_FILE]).unwrap();
        let (from_bin, _) = load_files(&bin, &[TEST_FILE]).unwrap();
        assert_eq!(from_py, from_bin);
        assert_eq!(from_py.labels, labels);
        assert!(files[0].ends_with("cifar-10-batches-py/test_batch"));
    }

    #[test]
    fn choose_prefers_a_complete_binary_version_and_says_so() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let (bin, py) = (dir.join(FOLDER), dir.join(PY_FOLDER));
        std::fs::create_dir_all(&bin).unwrap();
        std::fs::create_dir_all(&py).unwrap();
        // Nothing there: the binary version, whose missing file the error names.
        assert_eq!(choose(dir, true).version, Version::Binary);
        for name in PY_TRAIN_FILES.iter().chain([&PY_TEST_FILE]) {
            std::fs::write(py.join(name), fixture_python_batch(&[1])).unwrap();
        }
        let only_py = choose(dir, true);
        assert_eq!(
            (only_py.version, only_py.other_present),
            (Version::Python, false)
        );
        // A binary test batch alone: enough for a test-files protocol only.
        std::fs::write(bin.join(TEST_FILE), fixture_batch(&[1])).unwrap();
        assert_eq!(choose(dir, true).version, Version::Python);
        let both = choose(dir, false);
        assert_eq!((both.version, both.other_present), (Version::Binary, true));
        assert!(both.describe().contains("python version is also present"));
    }

    #[test]
    fn python_batch_layout_is_checked() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join(PY_TEST_FILE);
        let err = parse_python_batch(&path, &fixture_python_batch(&[1, 10])).unwrap_err();
        assert!(
            matches!(
                err,
                DataError::BadLabel {
                    index: 1,
                    label: 10,
                    ..
                }
            ),
            "{err}"
        );
        let err = parse_python_batch(&path, b"\x80\x02}.").unwrap_err();
        assert!(err.to_string().contains("no data entry"), "{err}");
        let mut cut = fixture_python_batch(&[1, 2]);
        cut.truncate(cut.len() - 100);
        let msg = parse_python_batch(&path, &cut).unwrap_err().to_string();
        assert!(
            msg.contains("test_batch") && msg.contains("truncated") && msg.contains("BINSTRING"),
            "{msg}"
        );
        assert!(msg.contains("cifar-10-python.tar.gz"), "{msg}");
        let err = Version::Python
            .load_files(tmp.path(), &PY_TRAIN_FILES)
            .unwrap_err();
        assert!(err.to_string().contains("data_batch_1 not found"), "{err}");
    }

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
