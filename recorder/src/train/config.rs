//! Everything that defines a training run, with the paper's defaults
//! (Tables 1 and 2: Adam, lr 0.001, batch 256, β = 0.1), so that a run is
//! reproducible from its manifest and a study file can list runs as data.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::data::{DatasetKind, Protocol};
use super::models::{Arch, KlDirection, LayerWidths};
use super::TrainError;

/// Where to train.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum DeviceChoice {
    /// CUDA device 0 when libtorch sees one, else the CPU.
    #[default]
    Auto,
    /// The CPU.
    Cpu,
    /// A CUDA device by index.
    Cuda(usize),
}

impl DeviceChoice {
    /// The libtorch device this choice means on this machine.
    pub fn resolve(self) -> Result<tch::Device, TrainError> {
        match self {
            DeviceChoice::Auto => Ok(tch::Device::cuda_if_available()),
            DeviceChoice::Cpu => Ok(tch::Device::Cpu),
            DeviceChoice::Cuda(i) => {
                let count = tch::Cuda::device_count();
                if (i as i64) < count {
                    Ok(tch::Device::Cuda(i))
                } else {
                    Err(TrainError::Config(format!(
                        "CUDA device {i} requested, libtorch sees {count} (is libtorch_cuda linked and a driver present?)"
                    )))
                }
            }
        }
    }
}

impl FromStr for DeviceChoice {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "auto" => Ok(DeviceChoice::Auto),
            "cpu" => Ok(DeviceChoice::Cpu),
            "cuda" => Ok(DeviceChoice::Cuda(0)),
            other => other
                .strip_prefix("cuda:")
                .and_then(|i| i.parse().ok())
                .map(DeviceChoice::Cuda)
                .ok_or_else(|| {
                    format!("unknown device {other:?}: expected auto, cpu, cuda or cuda:N")
                }),
        }
    }
}

impl TryFrom<String> for DeviceChoice {
    type Error = String;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<DeviceChoice> for String {
    fn from(d: DeviceChoice) -> String {
        d.to_string()
    }
}

impl fmt::Display for DeviceChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeviceChoice::Auto => f.write_str("auto"),
            DeviceChoice::Cpu => f.write_str("cpu"),
            DeviceChoice::Cuda(i) => write!(f, "cuda:{i}"),
        }
    }
}

/// How 8-bit pixels become the model's floats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Normalisation {
    /// x / 255, in [0, 1]: torchvision's `ToTensor()` alone, which is what the
    /// author's code applies to both datasets.
    #[default]
    UnitRange,
    /// (x / 255 − mean) / std per channel with the usual dataset statistics
    /// (MNIST 0.1307 / 0.3081; CIFAR-10 0.4914, 0.4822, 0.4465 /
    /// 0.2470, 0.2435, 0.2616). Not the paper's; offered for comparison.
    Standardise,
}

impl Normalisation {
    /// Per-channel (mean, std) applied after scaling to [0, 1].
    pub fn mean_std(self, dataset: DatasetKind) -> (Vec<f64>, Vec<f64>) {
        match (self, dataset) {
            (Normalisation::UnitRange, d) => (vec![0.0; d.channels()], vec![1.0; d.channels()]),
            (Normalisation::Standardise, DatasetKind::Mnist) => (vec![0.1307], vec![0.3081]),
            (Normalisation::Standardise, DatasetKind::Cifar10) => {
                (vec![0.4914, 0.4822, 0.4465], vec![0.2470, 0.2435, 0.2616])
            }
        }
    }
}

/// A training run, fully specified.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainConfig {
    /// Model.
    pub arch: Arch,
    /// Width multiplier k (> 0; the paper uses 1..=5).
    pub width: f64,
    /// Dataset.
    pub dataset: DatasetKind,
    /// Folder holding the dataset's files.
    pub data_dir: PathBuf,
    /// Which examples train and which test.
    pub protocol: Protocol,
    /// Epochs to run (unless the callback stops earlier).
    pub epochs: u32,
    /// Seed of libtorch's generator (initial weights, ε, dropout masks) and of
    /// the per-epoch shuffle.
    pub seed: u64,
    /// Mini-batch size (256).
    pub batch_size: usize,
    /// Adam's learning rate (0.001).
    pub lr: f64,
    /// Weight of the KL term in the ELBO, every batch (0.1; bcnn only).
    pub beta: f64,
    /// KL(q‖p) (standard) or KL(p‖q) (the author's code); bcnn only.
    pub kl_direction: KlDirection,
    /// Forward passes averaged per training batch (the paper's `train_ens`,
    /// 1); bcnn only.
    pub mc_samples_train: u32,
    /// Forward passes averaged at test time: `valid_ens` for bcnn (default 1),
    /// T for bcnn-mcd (default 10); `None` takes the architecture's default.
    pub mc_samples_test: Option<u32>,
    /// libtorch intra-op threads; `None` leaves libtorch's default (one per
    /// core). Note: process-wide.
    pub threads: Option<i32>,
    /// Where to train.
    pub device: DeviceChoice,
    /// Pixel scaling.
    pub normalisation: Normalisation,
}

impl TrainConfig {
    /// The paper's settings for `arch` at width `k` on `dataset`: 100 epochs,
    /// seed 1, the dataset's paper protocol, batch 256, lr 0.001, β 0.1,
    /// standard KL, one training sample, the architecture's test samples.
    pub fn paper(
        arch: Arch,
        width: f64,
        dataset: DatasetKind,
        data_dir: impl Into<PathBuf>,
    ) -> Self {
        Self {
            arch,
            width,
            dataset,
            data_dir: data_dir.into(),
            protocol: dataset.default_protocol(),
            epochs: 100,
            seed: 1,
            batch_size: 256,
            lr: 0.001,
            beta: 0.1,
            kl_direction: KlDirection::Standard,
            mc_samples_train: 1,
            mc_samples_test: None,
            threads: None,
            device: DeviceChoice::Auto,
            normalisation: Normalisation::UnitRange,
        }
    }

    /// Forward passes averaged at test time, default resolved.
    pub fn test_samples(&self) -> u32 {
        self.mc_samples_test
            .unwrap_or_else(|| self.arch.default_test_samples())
    }

    /// Forward passes averaged per training batch (always 1 except bcnn).
    pub fn train_samples(&self) -> u32 {
        if self.arch == Arch::Bcnn {
            self.mc_samples_train
        } else {
            1
        }
    }

    /// Checks ranges before any data is read.
    pub fn validate(&self) -> Result<(), TrainError> {
        LayerWidths::for_width(self.width)?;
        let bad = |what: String| Err(TrainError::Config(what));
        if self.epochs == 0 {
            return bad("epochs must be at least 1".into());
        }
        if self.batch_size == 0 {
            return bad("batch_size must be at least 1".into());
        }
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return bad(format!("lr must be positive, got {}", self.lr));
        }
        if !(self.beta.is_finite() && self.beta >= 0.0) {
            return bad(format!("beta must be ≥ 0, got {}", self.beta));
        }
        if self.mc_samples_train == 0 || self.mc_samples_test == Some(0) {
            return bad("Monte Carlo sample counts must be at least 1".into());
        }
        if matches!(self.threads, Some(n) if n < 1) {
            return bad("threads must be at least 1".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paper_defaults() {
        let c = TrainConfig::paper(Arch::BcnnMcd, 2.0, DatasetKind::Cifar10, "/data");
        assert_eq!(
            (c.batch_size, c.lr, c.beta, c.epochs),
            (256, 0.001, 0.1, 100)
        );
        assert_eq!(c.test_samples(), 10);
        assert_eq!(c.train_samples(), 1);
        assert_eq!(
            c.protocol,
            Protocol::KFold {
                folds: 6,
                fold: 1,
                split_seed: 0
            }
        );
        c.validate().unwrap();
        let mut bad = c.clone();
        bad.width = -1.0;
        assert!(bad.validate().is_err());
        bad = c;
        bad.threads = Some(0);
        assert!(bad.validate().is_err());
    }

    #[test]
    fn device_choices_parse() {
        assert_eq!(
            "cuda:2".parse::<DeviceChoice>().unwrap(),
            DeviceChoice::Cuda(2)
        );
        assert_eq!("cpu".parse::<DeviceChoice>().unwrap(), DeviceChoice::Cpu);
        assert!("tpu".parse::<DeviceChoice>().is_err());
        assert_eq!(DeviceChoice::Cuda(1).to_string(), "cuda:1");
    }

    #[test]
    fn config_round_trips_through_json() {
        let c = TrainConfig::paper(Arch::Bcnn, 1.0, DatasetKind::Mnist, "/d");
        let json = serde_json::to_string(&c).unwrap();
        assert_eq!(serde_json::from_str::<TrainConfig>(&json).unwrap(), c);
    }
}
