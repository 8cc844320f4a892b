//! The training loop: one call trains one run and reports every epoch as it
//! ends, stamped on the caller's clock.
//!
//! Why a callback: the recorder writes the epoch row and checks a live
//! `--stop` criterion between epochs, so the decision to go on belongs to
//! the caller ([`ControlFlow::Break`] stops). Why stamps after a device
//! synchronisation: CUDA runs asynchronously, and an epoch's energy is the
//! power integrated between its stamps, so a stamp must mean "the GPU has
//! finished this epoch's work", not "the CPU has queued it".
//!
//! An epoch is one pass over the training set (shuffled, mini-batches of
//! `batch_size`, one Adam step each) followed by one pass over the test set;
//! both lie between the stamps, as both draw power in the paper's loop.
//! The clock is read once per boundary: an epoch starts at the instant the
//! previous one ended (the recorder's bookkeeping between them is charged
//! to the next epoch, as the analyzer charges it), so consecutive epochs
//! share their boundary and the recorder takes one boundary read there.

use std::ops::ControlFlow;

use serde::Serialize;
use tch::nn::{self, OptimizerConfig};
use tch::{Device, Kind, Reduction, Tensor};

use super::config::TrainConfig;
use super::data::{self, DataRecord, ImageSet, IMAGE_SIDE};
use super::models::{Arch, LayerWidths, Model};
use super::rng::SplitMix64;
use super::{TorchContext, TrainError};

/// What one epoch measured. Accuracies are fractions in [0, 1].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EpochResult {
    /// Epoch number, from 1.
    pub epoch: u32,
    /// Clock reading at the start (after the device synchronised).
    pub start_ns: i64,
    /// Clock reading at the end (after the device synchronised).
    pub end_ns: i64,
    /// Accuracy on the training batches as they were trained (running, as in
    /// the paper's code; dropout and sampling on).
    pub train_acc: f64,
    /// Accuracy on the test set after the epoch.
    pub test_acc: f64,
    /// Mean training loss per example (see [`TrainSummary::loss`]).
    pub train_loss: f64,
    /// Mean test loss per example, same formula.
    pub test_loss: f64,
    /// Training examples processed.
    pub examples: i64,
}

/// What the manifest should record about a finished (or stopped) run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrainSummary {
    /// The configuration as given.
    pub config: TrainConfig,
    /// Files, protocol, split sizes and fingerprints.
    pub data: DataRecord,
    /// Trainable scalars.
    pub param_count: i64,
    /// Layer sizes at this width.
    pub layer_widths: LayerWidths,
    /// Device trained on (`cpu`, `cuda:0`).
    pub device: String,
    /// libtorch intra-op threads in effect.
    pub threads: i32,
    /// Forward passes averaged per training batch.
    pub train_samples: u32,
    /// Forward passes averaged per test batch.
    pub test_samples: u32,
    /// The loss being minimised and reported, in words.
    pub loss: String,
    /// Per-channel (mean, std) applied after scaling pixels to [0, 1].
    pub input_mean_std: (Vec<f64>, Vec<f64>),
    /// Epochs that ran to completion.
    pub epochs_completed: u32,
    /// Whether the callback stopped the run before `config.epochs`.
    pub stopped_early: bool,
}

/// Mixed into the training seed for the shuffle generator, so the shuffle
/// and a split drawn with the same number are not the same stream.
const SHUFFLE_SALT: u64 = 0x5348_5546_464c_4531;

/// Trains the run `cfg` describes. `clock` returns nanoseconds on the run's
/// monotonic clock; `on_epoch` sees each epoch as it ends and may stop the
/// run by returning `ControlFlow::Break(())`.
///
/// Same seed, same data, same thread count, CPU: the same numbers, run after
/// run. On CUDA, cuDNN may pick non-deterministic kernels.
pub fn train(
    cfg: &TrainConfig,
    clock: &dyn Fn() -> i64,
    on_epoch: &mut dyn FnMut(&EpochResult) -> ControlFlow<()>,
) -> Result<TrainSummary, TrainError> {
    cfg.validate()?;
    let data = data::prepare(cfg.dataset, &cfg.data_dir, &cfg.protocol)?;
    let device = cfg.device.resolve()?;
    if let Some(n) = cfg.threads {
        tch::set_num_threads(n);
    }
    tch::manual_seed(cfg.seed as i64);
    let (mean, std) = cfg.normalisation.mean_std(cfg.dataset);
    let (train_x, train_y) = to_tensors(&data.train, &mean, &std, device)?;
    let (test_x, test_y) = to_tensors(&data.test, &mean, &std, device)?;
    let mut trainer = Trainer::new(cfg, data.train.len(), device)?;
    let mut shuffle = SplitMix64::new(cfg.seed ^ SHUFFLE_SALT);
    let mut order: Vec<i64> = (0..data.train.len() as i64).collect();

    let mut epochs_completed = 0;
    let mut stopped_early = false;
    let mut prev_end_ns = None;
    for epoch in 1..=cfg.epochs {
        let start_ns = match prev_end_ns {
            Some(t) => t,
            None => {
                synchronize(device);
                clock()
            }
        };
        shuffle.shuffle(&mut order);
        let (train_loss, train_acc) = trainer.train_epoch(&train_x, &train_y, &order)?;
        let (test_loss, test_acc) = trainer.evaluate(&test_x, &test_y)?;
        synchronize(device);
        let end_ns = clock();
        prev_end_ns = Some(end_ns);
        epochs_completed = epoch;
        let result = EpochResult {
            epoch,
            start_ns,
            end_ns,
            train_acc,
            test_acc,
            train_loss,
            test_loss,
            examples: order.len() as i64,
        };
        if on_epoch(&result).is_break() {
            stopped_early = epoch < cfg.epochs;
            break;
        }
    }
    Ok(TrainSummary {
        config: cfg.clone(),
        param_count: trainer.model.param_count(),
        layer_widths: trainer.model.widths(),
        device: device_name(device),
        threads: tch::get_num_threads(),
        train_samples: trainer.train_samples,
        test_samples: trainer.test_samples,
        loss: trainer.loss_description(),
        input_mean_std: (mean, std),
        data: data.record,
        epochs_completed,
        stopped_early,
    })
}

/// `cpu` or `cuda:N`.
pub fn device_name(device: Device) -> String {
    match device {
        Device::Cuda(i) => format!("cuda:{i}"),
        Device::Mps => "mps".into(),
        Device::Vulkan => "vulkan".into(),
        _ => "cpu".into(),
    }
}

/// Waits for queued device work, so that a clock reading after it is honest.
pub fn synchronize(device: Device) {
    if let Device::Cuda(i) = device {
        tch::Cuda::synchronize(i as i64);
    }
}

/// 8-bit images to normalised float `[n, c, 32, 32]` on `device` (copied as
/// bytes, converted there), labels to int64.
fn to_tensors(
    set: &ImageSet,
    mean: &[f64],
    std: &[f64],
    device: Device,
) -> Result<(Tensor, Tensor), TrainError> {
    let convert = || -> Result<(Tensor, Tensor), tch::TchError> {
        let (n, c, side) = (set.len() as i64, set.channels as i64, IMAGE_SIDE as i64);
        let mut x = Tensor::f_from_slice(&set.pixels)?
            .f_view([n, c, side, side])?
            .f_to_device(device)?
            .f_to_kind(Kind::Float)?
            .f_div_scalar(255.0)?;
        if mean.iter().any(|&m| m != 0.0) || std.iter().any(|&s| s != 1.0) {
            let m = Tensor::f_from_slice(mean)?
                .f_to_kind(Kind::Float)?
                .f_view([1, c, 1, 1])?
                .f_to_device(device)?;
            let s = Tensor::f_from_slice(std)?
                .f_to_kind(Kind::Float)?
                .f_view([1, c, 1, 1])?
                .f_to_device(device)?;
            x = x.f_sub(&m)?.f_div(&s)?;
        }
        let y = Tensor::f_from_slice(&set.labels)?
            .f_to_kind(Kind::Int64)?
            .f_to_device(device)?;
        Ok((x, y))
    };
    convert().during("moving the dataset to the device")
}

/// A model with its optimiser and the loss settings; shared by [`train`] and
/// the epoch benchmark.
#[derive(Debug)]
pub(crate) struct Trainer {
    pub(crate) model: Model,
    optimizer: nn::Optimizer,
    batch_size: i64,
    beta: f64,
    /// Training-set size: the ELBO's NLL is scaled by it.
    train_size: f64,
    pub(crate) train_samples: u32,
    pub(crate) test_samples: u32,
}

impl Trainer {
    /// Builds the model (from libtorch's current seed) and Adam.
    pub(crate) fn new(
        cfg: &TrainConfig,
        train_size: usize,
        device: Device,
    ) -> Result<Self, TrainError> {
        let channels = cfg.dataset.channels() as i64;
        let model = Model::new(cfg.arch, cfg.width, channels, device, cfg.kl_direction)?;
        let optimizer = nn::Adam::default()
            .build(model.var_store(), cfg.lr)
            .during("building Adam")?;
        Ok(Self {
            model,
            optimizer,
            batch_size: cfg.batch_size as i64,
            beta: cfg.beta,
            train_size: train_size as f64,
            train_samples: cfg.train_samples(),
            test_samples: cfg.test_samples(),
        })
    }

    fn loss_description(&self) -> String {
        if self.model.arch() == Arch::Bcnn {
            format!(
                "ELBO per batch: NLL(log-mean-exp of {} sample(s)) x {} + {} x KL, averaged over examples",
                self.train_samples, self.train_size, self.beta
            )
        } else {
            "cross-entropy, averaged over examples".into()
        }
    }

    /// Log-probabilities `[batch, classes]`: the log of the mean of
    /// `samples` softmax outputs (log-mean-exp of the log-softmaxes).
    fn log_probs(&self, x: &Tensor, samples: u32) -> Result<Tensor, TrainError> {
        let single = |m: &Model| -> Result<Tensor, TrainError> {
            m.forward(x)?
                .f_log_softmax(1, Kind::Float)
                .during("computing log-softmax")
        };
        if samples == 1 {
            return single(&self.model);
        }
        let passes = (0..samples)
            .map(|_| single(&self.model))
            .collect::<Result<Vec<_>, _>>()?;
        let stacked = Tensor::f_stack(&passes, 0).during("stacking Monte Carlo passes")?;
        stacked
            .f_logsumexp(0i64, false)
            .and_then(|t| t.f_sub_scalar(f64::from(samples).ln()))
            .during("averaging Monte Carlo passes")
    }

    /// The batch loss: cross-entropy, or for bcnn the paper's ELBO,
    /// NLL × training-set size + β·KL.
    fn loss(
        &self,
        log_probs: &Tensor,
        y: &Tensor,
        kl: Option<&Tensor>,
    ) -> Result<Tensor, TrainError> {
        let nll = log_probs
            .f_nll_loss(y, None::<Tensor>, Reduction::Mean, -100)
            .during("computing the NLL")?;
        match kl {
            None => Ok(nll),
            Some(kl) => nll
                .f_mul_scalar(self.train_size)
                .and_then(|n| n.f_add(&kl.f_mul_scalar(self.beta)?))
                .during("computing the ELBO"),
        }
    }

    /// One pass over `x[order]`: returns (mean loss per example, accuracy).
    pub(crate) fn train_epoch(
        &mut self,
        x: &Tensor,
        y: &Tensor,
        order: &[i64],
    ) -> Result<(f64, f64), TrainError> {
        let device = x.device();
        let index = Tensor::f_from_slice(order)
            .and_then(|t| t.f_to_device(device))
            .during("building the shuffle")?;
        let n = order.len() as i64;
        let mut sums = Sums::new(device)?;
        let mut start = 0;
        while start < n {
            let len = self.batch_size.min(n - start);
            let idx = index.f_narrow(0, start, len).during("slicing a batch")?;
            let xb = x.f_index_select(0, &idx).during("gathering a batch")?;
            let yb = y.f_index_select(0, &idx).during("gathering a batch")?;
            let log_probs = self.log_probs(&xb, self.train_samples)?;
            let kl = self.model.kl_divergence()?;
            let loss = self.loss(&log_probs, &yb, kl.as_ref())?;
            self.optimizer.zero_grad();
            loss.f_backward().during("back-propagating")?;
            self.optimizer.step();
            sums.add(&loss, &log_probs, &yb, len)?;
            start += len;
        }
        sums.means(n)
    }

    /// One pass over the test set without gradients: (mean loss, accuracy).
    pub(crate) fn evaluate(&self, x: &Tensor, y: &Tensor) -> Result<(f64, f64), TrainError> {
        tch::no_grad(|| {
            let n = y.size().first().copied().unwrap_or(0);
            let kl = self.model.kl_divergence()?;
            let mut sums = Sums::new(x.device())?;
            let mut start = 0;
            while start < n {
                let len = self.batch_size.min(n - start);
                let xb = x.f_narrow(0, start, len).during("slicing a test batch")?;
                let yb = y.f_narrow(0, start, len).during("slicing a test batch")?;
                let log_probs = self.log_probs(&xb, self.test_samples)?;
                let loss = self.loss(&log_probs, &yb, kl.as_ref())?;
                sums.add(&loss, &log_probs, &yb, len)?;
                start += len;
            }
            sums.means(n)
        })
    }
}

/// Loss and correct-prediction sums kept on the device, so a CUDA epoch
/// does not stop to copy a number back after every batch.
struct Sums {
    loss: Tensor,
    correct: Tensor,
}

impl Sums {
    fn new(device: Device) -> Result<Self, TrainError> {
        let zeros = || Tensor::f_zeros([0i64; 0], (Kind::Double, device));
        Ok(Self {
            loss: zeros().during("allocating sums")?,
            correct: zeros().during("allocating sums")?,
        })
    }

    fn add(
        &mut self,
        loss: &Tensor,
        log_probs: &Tensor,
        y: &Tensor,
        len: i64,
    ) -> Result<(), TrainError> {
        let step = || -> Result<(Tensor, Tensor), tch::TchError> {
            let loss = self.loss.f_add(
                &loss
                    .f_detach()?
                    .f_to_kind(Kind::Double)?
                    .f_mul_scalar(len)?,
            )?;
            let hits = log_probs
                .f_argmax(1, false)?
                .f_eq_tensor(y)?
                .f_sum(Kind::Double)?;
            Ok((loss, self.correct.f_add(&hits)?))
        };
        (self.loss, self.correct) = tch::no_grad(step).during("accumulating epoch sums")?;
        Ok(())
    }

    fn means(&self, n: i64) -> Result<(f64, f64), TrainError> {
        let loss = self
            .loss
            .f_double_value(&[])
            .during("reading the epoch loss")?;
        let correct = self
            .correct
            .f_double_value(&[])
            .during("reading the epoch accuracy")?;
        let n = n.max(1) as f64;
        Ok((loss / n, correct / n))
    }
}
