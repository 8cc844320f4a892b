//! MNIST in its original IDX files (Yann LeCun's format): raw or gzipped, in
//! a folder of their own or in torchvision's `MNIST/raw/` layout.
//!
//! Every check names the file and what was expected, because the usual
//! failures are a half-finished download, an HTML error page saved under the
//! right name, or images and labels from different releases.

use std::io::Read;
use std::path::{Path, PathBuf};

use super::resize::resize_bilinear_u8;
use super::{DataError, DatasetKind, ImageSet, IMAGE_SIDE};

/// IDX magic of an unsigned-byte 3-D array (images).
pub const IMAGES_MAGIC: u32 = 2051;
/// IDX magic of an unsigned-byte 1-D array (labels).
pub const LABELS_MAGIC: u32 = 2049;
/// MNIST's native image side.
pub const MNIST_SIDE: usize = 28;

/// File stems of the training and test parts.
pub const TRAIN_IMAGES: &str = "train-images-idx3-ubyte";
/// Training labels.
pub const TRAIN_LABELS: &str = "train-labels-idx1-ubyte";
/// Test images.
pub const TEST_IMAGES: &str = "t10k-images-idx3-ubyte";
/// Test labels.
pub const TEST_LABELS: &str = "t10k-labels-idx1-ubyte";

/// Finds `stem` (or `stem.gz`) in `dir`, `dir/MNIST/raw` or `dir/raw`.
pub fn locate(dir: &Path, stem: &str) -> Result<PathBuf, DataError> {
    let folders = [
        dir.to_path_buf(),
        dir.join("MNIST").join("raw"),
        dir.join("raw"),
    ];
    let candidates: Vec<PathBuf> = folders
        .iter()
        .flat_map(|f| [f.join(stem), f.join(format!("{stem}.gz"))])
        .collect();
    candidates
        .iter()
        .find(|p| p.is_file())
        .cloned()
        .ok_or_else(|| DataError::Missing {
            dataset: DatasetKind::Mnist,
            dir: dir.to_path_buf(),
            expected: stem.to_string(),
            candidates: candidates
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
        })
}

/// Reads a file, gunzipping it when it starts with the gzip magic (so a
/// decompressed file that kept its `.gz` name still works).
pub fn read_maybe_gz(path: &Path, dataset: DatasetKind) -> Result<Vec<u8>, DataError> {
    let raw = std::fs::read(path).map_err(|source| DataError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::with_capacity(raw.len() * 4);
        flate2::read::MultiGzDecoder::new(raw.as_slice())
            .read_to_end(&mut out)
            .map_err(|source| DataError::Gzip {
                path: path.to_path_buf(),
                dataset,
                source,
            })?;
        Ok(out)
    } else {
        Ok(raw)
    }
}

fn be_u32(bytes: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
}

fn check_header(path: &Path, bytes: &[u8], magic: u32, header_len: usize) -> Result<(), DataError> {
    // The magic first: a wrong kind of file is the better diagnosis.
    if bytes.len() >= 4 && be_u32(bytes, 0) != magic {
        let what = if magic == IMAGES_MAGIC {
            "images"
        } else {
            "labels"
        };
        let found = be_u32(bytes, 0);
        return Err(DataError::BadMagic {
            path: path.to_path_buf(),
            what,
            expected: magic,
            found,
        });
    }
    if bytes.len() < header_len {
        return Err(DataError::Truncated {
            path: path.to_path_buf(),
            dataset: DatasetKind::Mnist,
            expected_bytes: header_len as u64,
            found_bytes: bytes.len() as u64,
        });
    }
    Ok(())
}

fn check_length(path: &Path, bytes: &[u8], expected: usize) -> Result<(), DataError> {
    if bytes.len() != expected {
        return Err(DataError::Truncated {
            path: path.to_path_buf(),
            dataset: DatasetKind::Mnist,
            expected_bytes: expected as u64,
            found_bytes: bytes.len() as u64,
        });
    }
    Ok(())
}

/// Parses an IDX images file: returns (count, rows, cols, pixels).
pub fn parse_images(
    path: &Path,
    bytes: &[u8],
) -> Result<(usize, usize, usize, Vec<u8>), DataError> {
    check_header(path, bytes, IMAGES_MAGIC, 16)?;
    let (n, rows, cols) = (
        be_u32(bytes, 4) as usize,
        be_u32(bytes, 8) as usize,
        be_u32(bytes, 12) as usize,
    );
    if (rows, cols) != (MNIST_SIDE, MNIST_SIDE) {
        return Err(DataError::BadShape {
            path: path.to_path_buf(),
            rows,
            cols,
        });
    }
    check_length(path, bytes, 16 + n * rows * cols)?;
    Ok((n, rows, cols, bytes[16..].to_vec()))
}

/// Parses an IDX labels file and checks every label is a digit.
pub fn parse_labels(path: &Path, bytes: &[u8]) -> Result<Vec<u8>, DataError> {
    check_header(path, bytes, LABELS_MAGIC, 8)?;
    let n = be_u32(bytes, 4) as usize;
    check_length(path, bytes, 8 + n)?;
    let labels = bytes[8..].to_vec();
    if let Some((index, &label)) = labels.iter().enumerate().find(|(_, &l)| l > 9) {
        return Err(DataError::BadLabel {
            path: path.to_path_buf(),
            index,
            label,
        });
    }
    Ok(labels)
}

/// Loads one part (`TRAIN_*` or `TEST_*` stems), resized to 32×32.
pub fn load_part(
    dir: &Path,
    images_stem: &str,
    labels_stem: &str,
) -> Result<(ImageSet, Vec<PathBuf>), DataError> {
    let images_path = locate(dir, images_stem)?;
    let labels_path = locate(dir, labels_stem)?;
    let (n, rows, cols, pixels) = parse_images(
        &images_path,
        &read_maybe_gz(&images_path, DatasetKind::Mnist)?,
    )?;
    let labels = parse_labels(
        &labels_path,
        &read_maybe_gz(&labels_path, DatasetKind::Mnist)?,
    )?;
    if labels.len() != n {
        return Err(DataError::CountMismatch {
            images: images_path,
            image_count: n,
            labels: labels_path,
            label_count: labels.len(),
        });
    }
    let mut resized = Vec::with_capacity(n * IMAGE_SIDE * IMAGE_SIDE);
    for image in pixels.chunks_exact(rows * cols) {
        resized.extend(resize_bilinear_u8(
            image, rows, cols, IMAGE_SIDE, IMAGE_SIDE,
        ));
    }
    Ok((
        ImageSet {
            pixels: resized,
            labels,
            channels: 1,
        },
        vec![images_path, labels_path],
    ))
}

/// Writers of tiny IDX files for the tests.
#[cfg(test)]
pub(crate) mod fixtures {
    use std::io::Write;
    use std::path::Path;

    /// IDX bytes for `n` 28×28 images (pixels from `pixel(i, offset)`).
    pub fn images_idx(n: usize, pixel: impl Fn(usize, usize) -> u8) -> Vec<u8> {
        let mut out = Vec::new();
        for v in [super::IMAGES_MAGIC, n as u32, 28, 28] {
            out.extend_from_slice(&v.to_be_bytes());
        }
        for i in 0..n {
            out.extend((0..28 * 28).map(|o| pixel(i, o)));
        }
        out
    }

    /// IDX bytes for a label list.
    pub fn labels_idx(labels: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        for v in [super::LABELS_MAGIC, labels.len() as u32] {
            out.extend_from_slice(&v.to_be_bytes());
        }
        out.extend_from_slice(labels);
        out
    }

    /// Writes `bytes` gzipped to `path`.
    pub fn write_gz(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
        let file = std::fs::File::create(path)?;
        let mut enc = flate2::write::GzEncoder::new(file, flate2::Compression::fast());
        enc.write_all(bytes)?;
        enc.finish()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::*;
    use super::*;

    fn write_part(dir: &Path, n: usize, gz: bool) {
        let labels: Vec<u8> = (0..n).map(|i| (i % 10) as u8).collect();
        let images = images_idx(n, |i, o| ((i + o) % 256) as u8);
        if gz {
            write_gz(&dir.join(format!("{TEST_IMAGES}.gz")), &images).unwrap();
            write_gz(&dir.join(format!("{TEST_LABELS}.gz")), &labels_idx(&labels)).unwrap();
        } else {
            std::fs::write(dir.join(TEST_IMAGES), images).unwrap();
            std::fs::write(dir.join(TEST_LABELS), labels_idx(&labels)).unwrap();
        }
    }

    #[test]
    fn reads_raw_gz_and_torchvision_layouts() {
        let tmp = tempfile::tempdir().unwrap();
        let raw = tmp.path().join("raw_layout");
        let tv = tmp.path().join("tv");
        let tv_raw = tv.join("MNIST").join("raw");
        std::fs::create_dir_all(&raw).unwrap();
        std::fs::create_dir_all(&tv_raw).unwrap();
        write_part(&raw, 12, false);
        write_part(&tv_raw, 12, true);
        for dir in [&raw, &tv] {
            let (set, files) = load_part(dir, TEST_IMAGES, TEST_LABELS).unwrap();
            assert_eq!(set.len(), 12);
            assert_eq!(set.labels[..3], [0, 1, 2]);
            assert_eq!(set.pixels.len(), 12 * 32 * 32);
            assert_eq!(files.len(), 2);
        }
    }

    #[test]
    fn wrong_magic_is_named() {
        let tmp = tempfile::tempdir().unwrap();
        write_part(tmp.path(), 3, false);
        // Swap: a labels file where the images should be.
        std::fs::copy(tmp.path().join(TEST_LABELS), tmp.path().join(TEST_IMAGES)).unwrap();
        let err = load_part(tmp.path(), TEST_IMAGES, TEST_LABELS).unwrap_err();
        assert!(
            matches!(
                err,
                DataError::BadMagic {
                    expected: 2051,
                    found: 2049,
                    ..
                }
            ),
            "{err}"
        );
        let msg = err.to_string();
        assert!(msg.contains(TEST_IMAGES) && msg.contains("2051"), "{msg}");
    }

    #[test]
    fn truncated_files_are_reported_with_sizes() {
        let tmp = tempfile::tempdir().unwrap();
        write_part(tmp.path(), 5, false);
        let path = tmp.path().join(TEST_IMAGES);
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() - 100]).unwrap();
        let err = load_part(tmp.path(), TEST_IMAGES, TEST_LABELS).unwrap_err();
        match &err {
            DataError::Truncated {
                expected_bytes,
                found_bytes,
                ..
            } => {
                assert_eq!(*expected_bytes, 16 + 5 * 784);
                assert_eq!(*found_bytes, 16 + 5 * 784 - 100);
            }
            other => panic!("{other}"),
        }
        assert!(err.to_string().contains("download"), "{err}");
        // A header cut short.
        std::fs::write(&path, &bytes[..10]).unwrap();
        assert!(matches!(
            load_part(tmp.path(), TEST_IMAGES, TEST_LABELS),
            Err(DataError::Truncated {
                expected_bytes: 16,
                ..
            })
        ));
    }

    #[test]
    fn truncated_gzip_is_an_error_not_a_short_read() {
        let tmp = tempfile::tempdir().unwrap();
        write_part(tmp.path(), 40, true);
        let path = tmp.path().join(format!("{TEST_IMAGES}.gz"));
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
        let err = load_part(tmp.path(), TEST_IMAGES, TEST_LABELS).unwrap_err();
        assert!(matches!(err, DataError::Gzip { .. }), "{err}");
    }

    #[test]
    fn counts_that_disagree_are_reported() {
        let tmp = tempfile::tempdir().unwrap();
        write_part(tmp.path(), 4, false);
        std::fs::write(tmp.path().join(TEST_LABELS), labels_idx(&[1, 2, 3])).unwrap();
        let err = load_part(tmp.path(), TEST_IMAGES, TEST_LABELS).unwrap_err();
        assert!(
            matches!(
                err,
                DataError::CountMismatch {
                    image_count: 4,
                    label_count: 3,
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn bad_labels_and_shapes_are_rejected() {
        let tmp = tempfile::tempdir().unwrap();
        write_part(tmp.path(), 2, false);
        std::fs::write(tmp.path().join(TEST_LABELS), labels_idx(&[1, 12])).unwrap();
        assert!(matches!(
            load_part(tmp.path(), TEST_IMAGES, TEST_LABELS),
            Err(DataError::BadLabel {
                index: 1,
                label: 12,
                ..
            })
        ));
        let mut header = Vec::new();
        for v in [IMAGES_MAGIC, 1, 20, 20] {
            header.extend_from_slice(&v.to_be_bytes());
        }
        header.extend(std::iter::repeat_n(0u8, 400));
        assert!(matches!(
            parse_images(Path::new("x"), &header),
            Err(DataError::BadShape {
                rows: 20,
                cols: 20,
                ..
            })
        ));
    }

    #[test]
    fn a_missing_file_says_where_it_looked_and_how_to_get_it() {
        let tmp = tempfile::tempdir().unwrap();
        let err = load_part(tmp.path(), TRAIN_IMAGES, TRAIN_LABELS).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains(TRAIN_IMAGES) && msg.contains("MNIST/raw"),
            "{msg}"
        );
        assert!(msg.contains("https://"), "{msg}");
    }
}
