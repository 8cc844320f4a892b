//! The Python module's own tests (`python/tests/test_reduce.py`): the
//! inputs `trainwatt.reduce_run` takes (pyarrow tables and readers, polars
//! frames, Parquet bytes, a dict or path manifest) and the errors it gives,
//! on a run of `data/sample`. Its numbers are compared with `analyzer
//! reduce` in `spark_parity.rs`.
//!
//! Python is `$TRAINWATT_PYTOOLS`, the venv `scripts/setup.sh` makes with
//! pyarrow, polars and the package built from `python/`.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::Command;

#[test]
fn the_python_modules_tests_pass() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let run = repo.join(
        "data/sample/platform=dev-vm-2vcpu/dataset=mnist/arch=lenet/width=1/\
         run=20261201T140322Z-lenet-w1-s1",
    );
    assert!(run.join("manifest.json").is_file(), "{}", run.display());
    let python = std::env::var("TRAINWATT_PYTOOLS").unwrap_or_else(|_| "python3".into());
    let out = Command::new(python)
        .arg(repo.join("python/tests/test_reduce.py"))
        .arg(&run)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "python/tests/test_reduce.py failed ({}); `make test` (scripts/setup.sh) builds the \
         package into the venv TRAINWATT_PYTOOLS names\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
