//! Datasets for the case study: reads MNIST and CIFAR-10 from their standard
//! files into 8-bit 32×32 images, applies a [`Protocol`], and describes what
//! it did (files, counts, seeds, fingerprints) for the run's manifest.
//!
//! Pixels stay 8-bit here; the trainer scales them to floats on the device
//! (see [`crate::train::config::Normalisation`]). This part is pure Rust, with
//! no libtorch, so its checks run fast.

pub mod cifar;
pub mod cifar_pickle;
pub mod mnist;
pub mod resize;
pub mod split;

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::{Deserialize, Serialize};

pub use split::{Protocol, Split};

use crate::train::rng::fingerprint;

/// Side of every image the models see.
pub const IMAGE_SIDE: usize = 32;

/// Which dataset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DatasetKind {
    /// MNIST digits, 28×28 grey, resized to 32×32.
    Mnist,
    /// CIFAR-10, 32×32 colour.
    Cifar10,
}

impl DatasetKind {
    /// The name used on the command line and in manifests.
    pub fn name(self) -> &'static str {
        match self {
            DatasetKind::Mnist => "mnist",
            DatasetKind::Cifar10 => "cifar10",
        }
    }

    /// Image channels.
    pub fn channels(self) -> usize {
        match self {
            DatasetKind::Mnist => 1,
            DatasetKind::Cifar10 => 3,
        }
    }

    /// How to get the files, for error messages.
    pub fn download_hint(self) -> &'static str {
        match self {
            DatasetKind::Mnist => {
                "download train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, \
                 t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz from \
                 https://ossci-datasets.s3.amazonaws.com/mnist/ (torchvision's mirror) into the \
                 data folder, or point it at a torchvision root holding MNIST/raw/; without the \
                 60 000 training images, the test-files-split protocol trains on a split of the \
                 10 000 test images"
            }
            DatasetKind::Cifar10 => {
                "download https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz (or \
                 cifar-10-python.tar.gz, the version torchvision downloads) and extract it in the \
                 data folder (it creates cifar-10-batches-bin/ or cifar-10-batches-py/)"
            }
        }
    }

    /// The paper's protocol for this dataset: MNIST hold-out, CIFAR-10 6-fold
    /// cross-validation (fold 1, split seed 0 unless a study says otherwise).
    pub fn default_protocol(self) -> Protocol {
        match self {
            DatasetKind::Mnist => Protocol::Holdout,
            DatasetKind::Cifar10 => Protocol::KFold {
                folds: 6,
                fold: 1,
                split_seed: 0,
            },
        }
    }
}

impl fmt::Display for DatasetKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for DatasetKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "mnist" => Ok(DatasetKind::Mnist),
            "cifar10" | "cifar-10" => Ok(DatasetKind::Cifar10),
            other => Err(format!(
                "unknown dataset {other:?}: expected mnist or cifar10"
            )),
        }
    }
}

/// What can go wrong reading a dataset or applying a protocol.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// A file is not where it should be.
    #[error("{dataset} file {expected} not found under {dir} (looked for {candidates}); {}", .dataset.download_hint())]
    Missing {
        /// Dataset.
        dataset: DatasetKind,
        /// The data folder given.
        dir: PathBuf,
        /// The file that was expected.
        expected: String,
        /// Every path tried.
        candidates: String,
    },
    /// A file could not be read.
    #[error("cannot read {path}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A gzip stream is damaged or cut short.
    #[error("{path} is not a complete gzip file (an interrupted download?); re-{}", .dataset.download_hint())]
    Gzip {
        /// The file.
        path: PathBuf,
        /// Dataset.
        dataset: DatasetKind,
        /// The decoder's error.
        #[source]
        source: std::io::Error,
    },
    /// The first four bytes are not the IDX magic of the expected kind.
    #[error(
        "{path} is not an MNIST {what} file: IDX magic number {found}, expected {expected}; {}",
        DatasetKind::Mnist.download_hint()
    )]
    BadMagic {
        /// The file.
        path: PathBuf,
        /// "images" or "labels".
        what: &'static str,
        /// 2051 for images, 2049 for labels.
        expected: u32,
        /// What the file holds.
        found: u32,
    },
    /// The file is shorter or longer than its header (or format) says.
    #[error(
        "{path} is truncated or damaged: expected {expected_bytes} bytes, found {found_bytes}; re-{}",
        .dataset.download_hint()
    )]
    Truncated {
        /// The file.
        path: PathBuf,
        /// Dataset.
        dataset: DatasetKind,
        /// Size the header (or format) implies.
        expected_bytes: u64,
        /// Actual size (after decompression).
        found_bytes: u64,
    },
    /// Images and labels files disagree on the number of examples.
    #[error("{images} holds {image_count} images but {labels} holds {label_count} labels; are they from the same release?")]
    CountMismatch {
        /// Images file.
        images: PathBuf,
        /// Images it holds.
        image_count: usize,
        /// Labels file.
        labels: PathBuf,
        /// Labels it holds.
        label_count: usize,
    },
    /// MNIST images that are not 28×28.
    #[error("{path}: images are {rows}×{cols}, expected MNIST's 28×28")]
    BadShape {
        /// The file.
        path: PathBuf,
        /// Rows in the header.
        rows: usize,
        /// Columns in the header.
        cols: usize,
    },
    /// A CIFAR-10 python batch that is not a pickle as released.
    #[error(
        "{path} is not a CIFAR-10 python batch as released: {error}; re-download \
         https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz and extract it again, or use \
         the binary version, cifar-10-binary.tar.gz"
    )]
    Pickle {
        /// The file.
        path: PathBuf,
        /// Where and why the decoder stopped.
        error: cifar_pickle::PickleError,
    },
    /// A CIFAR-10 python batch whose pickle decodes but holds no batch.
    #[error("{path} is not a CIFAR-10 python batch: {reason}; {}", DatasetKind::Cifar10.download_hint())]
    PythonLayout {
        /// The file.
        path: PathBuf,
        /// What is missing or of the wrong shape.
        reason: String,
    },
    /// A label outside 0..=9.
    #[error("{path}: label {label} of example {index} is not a class 0..9")]
    BadLabel {
        /// The file.
        path: PathBuf,
        /// Example index in that file.
        index: usize,
        /// The label byte.
        label: u8,
    },
    /// The protocol does not fit the data (fold out of range, empty split…).
    #[error("protocol {protocol}: {reason}")]
    Protocol {
        /// Protocol name.
        protocol: &'static str,
        /// What does not fit.
        reason: String,
    },
}

/// Images as 8-bit pixels, `[n, channels, 32, 32]` row-major, with labels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageSet {
    /// Pixels, `n × channels × 32 × 32`.
    pub pixels: Vec<u8>,
    /// Labels 0..=9.
    pub labels: Vec<u8>,
    /// 1 (grey) or 3 (RGB planes).
    pub channels: usize,
}

impl ImageSet {
    /// Number of examples.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether there are no examples.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Bytes per image.
    pub fn image_len(&self) -> usize {
        self.channels * IMAGE_SIDE * IMAGE_SIDE
    }

    /// The examples at `indices`, in that order.
    pub fn subset(&self, indices: &[usize]) -> ImageSet {
        let len = self.image_len();
        let mut pixels = Vec::with_capacity(indices.len() * len);
        for &i in indices {
            pixels.extend_from_slice(&self.pixels[i * len..(i + 1) * len]);
        }
        let labels = indices.iter().map(|&i| self.labels[i]).collect();
        ImageSet {
            pixels,
            labels,
            channels: self.channels,
        }
    }

    /// Examples per class 0..=9.
    pub fn class_counts(&self) -> Vec<usize> {
        let mut counts = vec![0; 10];
        for &l in &self.labels {
            counts[usize::from(l)] += 1;
        }
        counts
    }

    fn append(&mut self, other: ImageSet) {
        self.pixels.extend(other.pixels);
        self.labels.extend(other.labels);
    }
}

/// What the manifest records about the data of a run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DataRecord {
    /// Dataset.
    pub dataset: DatasetKind,
    /// Protocol with its parameters (folds, fold, split seed…).
    pub protocol: Protocol,
    /// Which release of the dataset was read (for CIFAR-10, binary or
    /// python version, and whether the other was also there).
    pub source: String,
    /// Files read, in order.
    pub files: Vec<String>,
    /// Examples the protocol drew from.
    pub pool_examples: usize,
    /// Training examples.
    pub train_examples: usize,
    /// Test examples.
    pub test_examples: usize,
    /// Training examples per class.
    pub train_class_counts: Vec<usize>,
    /// Test examples per class.
    pub test_class_counts: Vec<usize>,
    /// FNV-1a of the training indices into the pool.
    pub train_fingerprint: String,
    /// FNV-1a of the test indices into the pool.
    pub test_fingerprint: String,
    /// How images were turned into 32×32 inputs.
    pub preprocessing: &'static str,
}

/// The two sets a run trains and tests on, and their description.
#[derive(Debug, Clone)]
pub struct PreparedData {
    /// Training examples.
    pub train: ImageSet,
    /// Test examples.
    pub test: ImageSet,
    /// For the manifest.
    pub record: DataRecord,
}

/// Reads `kind` from `dir` and applies `protocol`. The pool is the training
/// files followed by the test files (only the test files for
/// [`Protocol::TestFilesSplit`]).
pub fn prepare(
    kind: DatasetKind,
    dir: &Path,
    protocol: &Protocol,
) -> Result<PreparedData, DataError> {
    let (mut pool, mut files) = (
        ImageSet {
            pixels: Vec::new(),
            labels: Vec::new(),
            channels: kind.channels(),
        },
        Vec::new(),
    );
    let mut train_files_len = 0;
    let mut source = "MNIST IDX files".to_string();
    let (train_part, test_part) = match kind {
        DatasetKind::Mnist => {
            let train = if protocol.needs_train_files() {
                Some(mnist::load_part(
                    dir,
                    mnist::TRAIN_IMAGES,
                    mnist::TRAIN_LABELS,
                )?)
            } else {
                None
            };
            (
                train,
                mnist::load_part(dir, mnist::TEST_IMAGES, mnist::TEST_LABELS)?,
            )
        }
        DatasetKind::Cifar10 => {
            let choice = cifar::choose(dir, protocol.needs_train_files());
            let version = choice.version;
            source = choice.describe();
            let train = if protocol.needs_train_files() {
                Some(version.load_files(dir, version.train_files())?)
            } else {
                None
            };
            (train, version.load_files(dir, &[version.test_file()])?)
        }
    };
    if let Some((set, paths)) = train_part {
        train_files_len = set.len();
        pool.append(set);
        files.extend(paths);
    }
    pool.append(test_part.0);
    files.extend(test_part.1);

    let split = split::split_pool(protocol, &pool.labels, train_files_len)?;
    let (train, test) = (pool.subset(&split.train), pool.subset(&split.test));
    let record = DataRecord {
        dataset: kind,
        protocol: protocol.clone(),
        source,
        files: files.iter().map(|p| p.display().to_string()).collect(),
        pool_examples: pool.len(),
        train_examples: train.len(),
        test_examples: test.len(),
        train_class_counts: train.class_counts(),
        test_class_counts: test.class_counts(),
        train_fingerprint: fingerprint(&split.train),
        test_fingerprint: fingerprint(&split.test),
        preprocessing: match kind {
            DatasetKind::Mnist => "28x28 resized to 32x32 with Pillow's bilinear filter (torchvision Resize), no augmentation",
            DatasetKind::Cifar10 => "32x32 as stored, no augmentation",
        },
    };
    Ok(PreparedData {
        train,
        test,
        record,
    })
}

#[cfg(test)]
mod tests {
    use super::mnist::fixtures::{images_idx, labels_idx, write_gz};
    use super::*;

    #[test]
    fn mnist_test_files_split_needs_no_training_files() {
        let tmp = tempfile::tempdir().unwrap();
        let labels: Vec<u8> = (0..50).map(|i| (i % 10) as u8).collect();
        write_gz(
            &tmp.path().join("t10k-images-idx3-ubyte.gz"),
            &images_idx(50, |i, _| i as u8),
        )
        .unwrap();
        write_gz(
            &tmp.path().join("t10k-labels-idx1-ubyte.gz"),
            &labels_idx(&labels),
        )
        .unwrap();
        let p = Protocol::TestFilesSplit {
            train_count: 40,
            test_count: None,
            split_seed: 1,
        };
        let data = prepare(DatasetKind::Mnist, tmp.path(), &p).unwrap();
        assert_eq!((data.train.len(), data.test.len()), (40, 10));
        assert_eq!(data.record.test_class_counts, vec![1; 10]);
        assert_eq!(data.record.files.len(), 2);
        // Hold-out asks for the training files and says how to get them.
        let err = prepare(DatasetKind::Mnist, tmp.path(), &Protocol::Holdout).unwrap_err();
        assert!(err.to_string().contains("train-images-idx3-ubyte"), "{err}");
    }

    #[test]
    fn cifar_pool_is_train_then_test_files() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join(cifar::FOLDER);
        std::fs::create_dir_all(&dir).unwrap();
        for (i, name) in cifar::TRAIN_FILES.iter().enumerate() {
            let labels: Vec<u8> = (0..10).map(|c| ((c + i) % 10) as u8).collect();
            std::fs::write(dir.join(name), cifar::fixture_batch(&labels)).unwrap();
        }
        std::fs::write(
            dir.join(cifar::TEST_FILE),
            cifar::fixture_batch(&[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]),
        )
        .unwrap();
        let hold = prepare(DatasetKind::Cifar10, tmp.path(), &Protocol::Holdout).unwrap();
        assert_eq!((hold.train.len(), hold.test.len()), (50, 10));
        let p = Protocol::KFold {
            folds: 6,
            fold: 3,
            split_seed: 5,
        };
        let fold = prepare(DatasetKind::Cifar10, tmp.path(), &p).unwrap();
        // 6 per class over 60 examples, 6 folds: one per class per fold.
        assert_eq!(fold.record.test_class_counts, vec![1; 10]);
        assert_eq!(fold.record.pool_examples, 60);
        let again = prepare(DatasetKind::Cifar10, tmp.path(), &p).unwrap();
        assert_eq!(fold.record.test_fingerprint, again.record.test_fingerprint);
        assert_eq!(fold.test, again.test);
    }

    #[test]
    fn cifar_python_version_gives_the_binary_pool() {
        let tmp = tempfile::tempdir().unwrap();
        let (bin, py) = (tmp.path().join("bin"), tmp.path().join("py"));
        std::fs::create_dir_all(&bin).unwrap();
        std::fs::create_dir_all(&py).unwrap();
        let names = cifar::PY_TRAIN_FILES.iter().zip(cifar::TRAIN_FILES);
        for (i, (py_name, bin_name)) in names.enumerate() {
            let labels: Vec<u8> = (0..12).map(|c| ((c + i) % 10) as u8).collect();
            std::fs::write(py.join(py_name), cifar::fixture_python_batch(&labels)).unwrap();
            std::fs::write(bin.join(bin_name), cifar::fixture_batch(&labels)).unwrap();
        }
        let test: Vec<u8> = (0..10).collect();
        std::fs::write(py.join("test_batch"), cifar::fixture_python_batch(&test)).unwrap();
        std::fs::write(bin.join("test_batch.bin"), cifar::fixture_batch(&test)).unwrap();
        let p = DatasetKind::Cifar10.default_protocol();
        let (a, b) = (
            prepare(DatasetKind::Cifar10, &py, &p).unwrap(),
            prepare(DatasetKind::Cifar10, &bin, &p).unwrap(),
        );
        assert_eq!((&a.train, &a.test), (&b.train, &b.test));
        assert_eq!(a.record.train_fingerprint, b.record.train_fingerprint);
        assert!(
            a.record.source.contains("python version"),
            "{}",
            a.record.source
        );
        assert!(
            b.record.source.contains("binary version"),
            "{}",
            b.record.source
        );
        assert!(a.record.files[0].ends_with("data_batch_1"));
    }
}
