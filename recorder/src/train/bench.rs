//! Times one training epoch on synthetic MNIST-sized input, for the README's
//! comparison with the same model in PyTorch from Python
//! (`bench/train_epoch.py`). libtorch does the arithmetic in both, so the
//! ratio shows what the Rust side adds per batch; the goal is ≤ 1.0.
//!
//! Both sides: batch 256, Adam, one warm-up pass over two batches (allocator
//! and kernel selection), then one timed pass over `n_examples` examples,
//! training only (no test pass), device synchronised before and after.

use std::time::Instant;

use tch::{Kind, Tensor};

use super::config::{DeviceChoice, TrainConfig};
use super::data::DatasetKind;
use super::engine::{synchronize, Trainer};
use super::models::Arch;
use super::{TorchContext, TrainError};

/// Seconds for one training epoch of `arch` at `width` over `n_examples`
/// random 1×32×32 images, with `threads` libtorch threads, on the device
/// [`DeviceChoice::Auto`] picks.
pub fn bench_epoch(
    arch: Arch,
    width: f64,
    threads: i32,
    n_examples: i64,
) -> Result<f64, TrainError> {
    if n_examples < 1 || threads < 1 {
        return Err(TrainError::Config(format!(
            "bench needs at least one example and one thread, got {n_examples} and {threads}"
        )));
    }
    let mut cfg = TrainConfig::paper(arch, width, DatasetKind::Mnist, "");
    cfg.threads = Some(threads);
    cfg.validate()?;
    let device = DeviceChoice::Auto.resolve()?;
    tch::set_num_threads(threads);
    tch::manual_seed(0);
    let x =
        Tensor::f_rand([n_examples, 1, 32, 32], (Kind::Float, device)).during("making inputs")?;
    let y = Tensor::f_randint(10, [n_examples], (Kind::Int64, device)).during("making labels")?;
    let mut trainer = Trainer::new(&cfg, n_examples as usize, device)?;
    let order: Vec<i64> = (0..n_examples).collect();
    let warm = (2 * cfg.batch_size as i64).min(n_examples) as usize;
    trainer.train_epoch(&x, &y, &order[..warm])?;
    synchronize(device);
    let start = Instant::now();
    trainer.train_epoch(&x, &y, &order)?;
    synchronize(device);
    Ok(start.elapsed().as_secs_f64())
}
