//! Makes the `recorder` binary find libtorch by itself: when built with the
//! `train` feature, embed an rpath to the libtorch folder (the PyTorch venv's
//! `torch/lib`) so users never set LD_LIBRARY_PATH, and link libtorch_cuda
//! with `--no-as-needed` so `Device::cuda_if_available` sees the GPU.

use std::path::PathBuf;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=TRAINWATT_TORCH_LIB");
    println!("cargo:rerun-if-env-changed=LIBTORCH");
    println!("cargo:rerun-if-changed=build.rs");
    if std::env::var_os("CARGO_FEATURE_TRAIN").is_none() {
        return;
    }
    let Some(lib) = torch_lib_dir() else {
        println!(
            "cargo:warning=could not locate libtorch's lib folder for the rpath; \
             run scripts/setup.sh or set TRAINWATT_TORCH_LIB"
        );
        return;
    };
    // Plain `rustc-link-arg` reaches every linked target of this package:
    // the binary, integration tests and the lib's unit-test harness.
    println!("cargo:rustc-link-arg=-Wl,-rpath,{}", lib.display());
    if lib.join("libtorch_cuda.so").exists() {
        println!("cargo:rustc-link-search=native={}", lib.display());
        println!("cargo:rustc-link-arg=-Wl,--no-as-needed,-ltorch_cuda,--as-needed");
    }
}

fn torch_lib_dir() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("TRAINWATT_TORCH_LIB") {
        return Some(PathBuf::from(p));
    }
    if let Some(p) = std::env::var_os("LIBTORCH") {
        return Some(PathBuf::from(p).join("lib"));
    }
    let out = Command::new("python3")
        .args([
            "-c",
            "import os,torch;print(os.path.join(os.path.dirname(torch.__file__),'lib'))",
        ])
        .output()
        .ok()?;
    let s = String::from_utf8(out.stdout).ok()?;
    let p = PathBuf::from(s.trim());
    p.is_dir().then_some(p)
}
