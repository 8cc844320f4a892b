//! CIFAR-10's python version (`cifar-10-batches-py`, what torchvision reads)
//! as real pickle and NumPy code writes it: `tests/tools/write_cifar_batches.py`
//! writes 1 291 images of known content in the official files' form (Python
//! 2's cPickle) and as Python 3's `pickle.dump(…, protocol=2)` does, with the
//! same images in the binary version beside them. The loader must return the
//! known pixels and labels, the same [`ImageSet`]s and splits as from the
//! binary version, and refuse damaged or foreign pickles saying where.
#![cfg(feature = "train")]
#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

use std::path::{Path, PathBuf};
use std::process::Command;

use recorder::train::data::cifar::{self, Version};
use recorder::train::data::cifar_pickle::{self, ErrorKind, PickleError, Value};
use recorder::train::data::{prepare, DataError, DatasetKind, ImageSet};

/// Images per file: data_batch_1..5, test_batch.
const SIZES: [usize; 6] = [1001, 60, 60, 60, 60, 50];

/// The Python with NumPy: `$TRAINWATT_PYTOOLS` (the venv `scripts/setup.sh`
/// makes for `make test`), else `python3` on PATH.
fn python() -> String {
    std::env::var("TRAINWATT_PYTOOLS").unwrap_or_else(|_| "python3".into())
}

/// Runs the writer with `args`; returns its stdout.
fn write(args: &[&str], out: &Path) -> String {
    let py = python();
    let probe = Command::new(&py)
        .args(["-c", "import numpy"])
        .output()
        .unwrap_or_else(|e| panic!("cannot run {py} ({e}); run the tests through `make test`"));
    assert!(
        probe.status.success(),
        "{py} has no numpy ({}); run the tests through `make test` (scripts/setup.sh \
         installs it into a venv and sets TRAINWATT_PYTOOLS) or `pip install numpy`",
        String::from_utf8_lossy(&probe.stderr).trim()
    );
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tools/write_cifar_batches.py");
    let run = Command::new(&py)
        .arg(script)
        .args(args)
        .arg(out)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "write_cifar_batches.py {args:?} failed: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    String::from_utf8(run.stdout).unwrap()
}

/// Every batch of `version` in `dir`, in order.
fn load_all(version: Version, dir: &Path) -> (ImageSet, Vec<PathBuf>) {
    let mut names = version.train_files().to_vec();
    names.push(version.test_file());
    version.load_files(dir, &names).unwrap()
}

fn check_known_content(set: &ImageSet) {
    assert_eq!(set.len(), SIZES.iter().sum::<usize>());
    assert_eq!((set.channels, set.pixels.len()), (3, set.len() * 3072));
    for g in 0..set.len() {
        assert_eq!(usize::from(set.labels[g]), (3 * g + 1) % 10, "label {g}");
        let image = &set.pixels[g * 3072..(g + 1) * 3072];
        for (o, &p) in image.iter().enumerate() {
            let (c, y, x) = (o / 1024, o / 32 % 32, o % 32);
            let want = (37 * g + 101 * c + 11 * y + 3 * x) % 256;
            assert_eq!(
                usize::from(p),
                want,
                "image {g} channel {c} row {y} col {x}"
            );
        }
    }
}

#[test]
fn python_batches_read_as_the_binary_version() {
    for flavour in ["py2", "py3"] {
        let tmp = tempfile::tempdir().unwrap();
        let (py, bin) = (tmp.path().join("py"), tmp.path().join("bin"));
        write(&[flavour], &py);
        std::fs::create_dir(&bin).unwrap();
        std::fs::rename(py.join(cifar::FOLDER), bin.join(cifar::FOLDER)).unwrap();

        let (from_py, files) = load_all(Version::Python, &py);
        check_known_content(&from_py);
        assert!(
            files[5].ends_with("cifar-10-batches-py/test_batch"),
            "{files:?}"
        );
        let (from_bin, _) = load_all(Version::Binary, &bin);
        assert!(
            from_py == from_bin,
            "{flavour}: python and binary images differ"
        );

        // What the trainer gets: the same pool, folds and record.
        let protocol = DatasetKind::Cifar10.default_protocol();
        let a = prepare(DatasetKind::Cifar10, &py, &protocol).unwrap();
        let b = prepare(DatasetKind::Cifar10, &bin, &protocol).unwrap();
        assert!(
            a.train == b.train && a.test == b.test,
            "{flavour}: splits differ"
        );
        assert_eq!(a.record.pool_examples, 1291);
        assert_eq!(a.record.test_fingerprint, b.record.test_fingerprint);
        assert!(
            a.record.source.contains("python version"),
            "{}",
            a.record.source
        );
        assert!(!a.record.source.contains("also present"));

        // Both versions in one folder: the binary one is read, and said so.
        std::fs::rename(bin.join(cifar::FOLDER), py.join(cifar::FOLDER)).unwrap();
        let both = prepare(DatasetKind::Cifar10, &py, &protocol).unwrap();
        assert!(both.record.files[0].ends_with("data_batch_1.bin"));
        assert!(
            both.record.source.contains("binary version")
                && both
                    .record
                    .source
                    .contains("python version is also present"),
            "{}",
            both.record.source
        );
        assert!(both.train == a.train && both.test == a.test);

        // Loose python batch files, no folder.
        let flat = tmp.path().join("flat");
        std::fs::rename(py.join(cifar::PY_FOLDER), &flat).unwrap();
        let loose = prepare(DatasetKind::Cifar10, &flat, &protocol).unwrap();
        assert!(loose.train == a.train && loose.record.source.contains("python version"));

        // batches.meta decodes too (the loader does not need it).
        let meta = cifar_pickle::decode(&std::fs::read(flat.join("batches.meta")).unwrap());
        let Some(Value::List(names)) = meta.as_ref().unwrap().get("label_names") else {
            panic!("{flavour}: {meta:?}")
        };
        assert_eq!(names[9].as_text(), Some(b"truck".as_slice()));
    }
}

#[test]
fn damaged_or_foreign_pickles_are_refused_where_they_go_wrong() {
    let cases = [
        ("float64", "array of dtype \"f8\" (float64)"),
        ("truncated", "truncated pickle"),
        ("opcode", "unknown opcode"),
    ];
    for (kind, what) in cases {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("test_batch");
        let stops_at = write(&["--bad", kind], &file);
        let (offset, opcode) = stops_at.trim().split_once(' ').unwrap();
        let offset: usize = offset.parse().unwrap();

        let err = Version::Python
            .load_files(tmp.path(), &["test_batch"])
            .unwrap_err();
        let msg = err.to_string();
        let DataError::Pickle {
            path,
            error:
                PickleError {
                    offset: at,
                    opcode: Some(op),
                    kind: found,
                },
        } = &err
        else {
            panic!("{kind}: {msg}")
        };
        assert_eq!((path, *at), (&file, offset), "{kind}: {msg}");
        assert_eq!(cifar_pickle::name(*op), opcode, "{kind}: {msg}");
        let expected_kind = match kind {
            "float64" => matches!(found, ErrorKind::Dtype(d) if d == "f8"),
            "truncated" => *found == ErrorKind::Truncated,
            _ => *found == ErrorKind::UnknownOpcode,
        };
        assert!(expected_kind, "{kind}: {found:?}");
        for part in [
            file.display().to_string(),
            format!("at byte {offset}, opcode {opcode}"),
            what.to_string(),
            "cifar-10-python.tar.gz".into(),
            "binary version".into(),
        ] {
            assert!(msg.contains(&part), "{kind}: {part:?} not in {msg}");
        }
    }
}
