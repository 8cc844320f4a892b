//! The case-study models of SPEC §6 at any width k: `lenet`, `bcnn` (Bayes by
//! Backprop, local reparameterisation, the paper's code) and `bcnn-mcd`
//! (LeNet with MC dropout, Gal and Ghahramani's "lenet-all").
//!
//! All three share one LeNet-5 skeleton (conv 5×5 → softplus → max-pool 2,
//! twice, then three fully connected layers, no padding, 32×32 input); they
//! differ only in the weight layer ([`layers::PlainLayer`] or
//! [`layers::BayesLayer`]) and in where randomness enters.

pub mod layers;

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use tch::nn::VarStore;
use tch::{Device, TchError, Tensor};

use layers::{BayesLayer, Gaussian, LayerKind, PlainLayer, WeightLayer, PAPER_PRIOR};

use super::{TorchContext, TrainError};

/// Which case-study model to train.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Arch {
    /// Plain LeNet-5, cross-entropy.
    Lenet,
    /// Bayesian LeNet trained by Bayes by Backprop (the paper's code).
    Bcnn,
    /// LeNet with dropout p = 0.5 after every hidden layer, on at test time.
    BcnnMcd,
}

impl Arch {
    /// The name used on the command line, in study files and manifests.
    pub fn name(self) -> &'static str {
        match self {
            Arch::Lenet => "lenet",
            Arch::Bcnn => "bcnn",
            Arch::BcnnMcd => "bcnn-mcd",
        }
    }

    /// Forward passes averaged at test time by default: 1 for lenet and for
    /// bcnn (the paper's `valid_ens = 1`), T = 10 for MC dropout.
    pub fn default_test_samples(self) -> u32 {
        match self {
            Arch::Lenet | Arch::Bcnn => 1,
            Arch::BcnnMcd => 10,
        }
    }
}

impl fmt::Display for Arch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Arch {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "lenet" => Ok(Arch::Lenet),
            "bcnn" => Ok(Arch::Bcnn),
            "bcnn-mcd" => Ok(Arch::BcnnMcd),
            other => Err(format!(
                "unknown architecture {other:?}: expected lenet, bcnn or bcnn-mcd"
            )),
        }
    }
}

/// Direction of the KL term in the ELBO.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum KlDirection {
    /// KL(posterior ‖ prior): the ELBO as derived.
    #[default]
    Standard,
    /// KL(prior ‖ posterior): what the author's code computes; for exact
    /// replication of the paper's numbers.
    Reversed,
}

impl FromStr for KlDirection {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "standard" => Ok(KlDirection::Standard),
            "reversed" => Ok(KlDirection::Reversed),
            other => Err(format!(
                "unknown KL direction {other:?}: expected standard or reversed"
            )),
        }
    }
}

/// Layer sizes at width k (SPEC §6): 6k and 16k channels, 400k → 120k → 84 →
/// 10 units, each rounded up. fc1's input is conv2's channels × 5 × 5, so a
/// fractional k stays consistent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct LayerWidths {
    /// Output channels of conv1 (6k).
    pub conv1: i64,
    /// Output channels of conv2 (16k).
    pub conv2: i64,
    /// Input units of fc1 (conv2 × 5 × 5 = 400k).
    pub fc1_in: i64,
    /// Output units of fc1 (120k).
    pub fc1: i64,
    /// Output units of fc2 (84 at every width).
    pub fc2: i64,
    /// Classes (10).
    pub classes: i64,
}

impl LayerWidths {
    /// Sizes at width `k` (> 0, finite).
    pub fn for_width(k: f64) -> Result<Self, TrainError> {
        if !(k.is_finite() && k > 0.0) {
            return Err(TrainError::Config(format!(
                "width must be a positive number, got {k}"
            )));
        }
        // The small tolerance keeps 120 × 1.2 = 143.99999999999997 at 144.
        let up = |units: f64| (units * k - 1e-9).ceil() as i64;
        let conv2 = up(16.0);
        Ok(Self {
            conv1: up(6.0),
            conv2,
            fc1_in: conv2 * 25,
            fc1: up(120.0),
            fc2: 84,
            classes: 10,
        })
    }
}

/// The LeNet skeleton over either kind of weight layer.
#[derive(Debug)]
struct LeNet<L> {
    conv1: L,
    conv2: L,
    fc1: L,
    fc2: L,
    fc3: L,
}

impl<L: WeightLayer> LeNet<L> {
    fn build(
        vs: &tch::nn::Path,
        w: &LayerWidths,
        in_channels: i64,
        make: impl Fn(&tch::nn::Path, LayerKind, i64, i64) -> Result<L, TchError>,
    ) -> Result<Self, TchError> {
        let conv = LayerKind::Conv2d { kernel: 5 };
        Ok(Self {
            conv1: make(&(vs / "conv1"), conv, in_channels, w.conv1)?,
            conv2: make(&(vs / "conv2"), conv, w.conv1, w.conv2)?,
            fc1: make(&(vs / "fc1"), LayerKind::Linear, w.fc1_in, w.fc1)?,
            fc2: make(&(vs / "fc2"), LayerKind::Linear, w.fc1, w.fc2)?,
            fc3: make(&(vs / "fc3"), LayerKind::Linear, w.fc2, w.classes)?,
        })
    }

    /// Logits for a `[batch, channels, 32, 32]` input. `dropout` is applied
    /// after each hidden layer (after pooling for the convolutions), never to
    /// the logits: that is "lenet-all" in Gal and Ghahramani's code.
    fn forward(&self, x: &Tensor, dropout: Option<f64>) -> Result<Tensor, TchError> {
        let maybe_drop = |t: Tensor| match dropout {
            Some(p) => t.f_dropout(p, true),
            None => Ok(t),
        };
        let pool = |t: Tensor| t.f_max_pool2d([2, 2], [2, 2], [0, 0], [1, 1], false);
        let h = maybe_drop(pool(self.conv1.forward(x)?.f_softplus()?)?)?;
        let h = maybe_drop(pool(self.conv2.forward(&h)?.f_softplus()?)?)?;
        let h = h.f_flatten(1, -1)?;
        let h = maybe_drop(self.fc1.forward(&h)?.f_softplus()?)?;
        let h = maybe_drop(self.fc2.forward(&h)?.f_softplus()?)?;
        self.fc3.forward(&h)
    }
}

#[derive(Debug)]
enum Net {
    Plain(LeNet<PlainLayer>),
    Bayes(LeNet<BayesLayer>),
}

/// MC dropout probability (SPEC §6).
pub const MC_DROPOUT_P: f64 = 0.5;

/// A built model: its parameters live in `var_store`, which the optimiser
/// reads.
#[derive(Debug)]
pub struct Model {
    arch: Arch,
    widths: LayerWidths,
    kl_direction: KlDirection,
    prior: Gaussian,
    net: Net,
    var_store: VarStore,
}

impl Model {
    /// Builds `arch` at width `k` for images with `in_channels` channels
    /// (1 for MNIST, 3 for CIFAR-10). Initial values come from libtorch's
    /// generator: call `tch::manual_seed` first for a reproducible model.
    pub fn new(
        arch: Arch,
        width: f64,
        in_channels: i64,
        device: Device,
        kl_direction: KlDirection,
    ) -> Result<Self, TrainError> {
        let widths = LayerWidths::for_width(width)?;
        let var_store = VarStore::new(device);
        let root = var_store.root();
        let net = match arch {
            Arch::Lenet | Arch::BcnnMcd => Net::Plain(
                LeNet::build(&root, &widths, in_channels, PlainLayer::new)
                    .during("building the model")?,
            ),
            Arch::Bcnn => Net::Bayes(
                LeNet::build(&root, &widths, in_channels, BayesLayer::new)
                    .during("building the model")?,
            ),
        };
        Ok(Self {
            arch,
            widths,
            kl_direction,
            prior: PAPER_PRIOR,
            net,
            var_store,
        })
    }

    /// The architecture.
    pub fn arch(&self) -> Arch {
        self.arch
    }

    /// Layer sizes.
    pub fn widths(&self) -> LayerWidths {
        self.widths
    }

    /// The parameters (for the optimiser, saving, loading).
    pub fn var_store(&self) -> &VarStore {
        &self.var_store
    }

    /// Number of trainable scalars (for bcnn: μ and ρ of every weight and bias).
    pub fn param_count(&self) -> i64 {
        self.var_store
            .trainable_variables()
            .iter()
            .map(Tensor::numel)
            .map(|n| n as i64)
            .sum()
    }

    /// Whether two forward passes on the same input can differ at test time
    /// (then the trainer averages several).
    pub fn is_stochastic_at_test(&self) -> bool {
        matches!(self.arch, Arch::Bcnn | Arch::BcnnMcd)
    }

    /// Logits of one forward pass. bcnn always samples (as in the author's
    /// code, which validates with sampling on); bcnn-mcd always drops out.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor, TrainError> {
        match (&self.net, self.arch) {
            (Net::Plain(net), Arch::BcnnMcd) => net.forward(x, Some(MC_DROPOUT_P)),
            (Net::Plain(net), _) => net.forward(x, None),
            (Net::Bayes(net), _) => net.forward(x, None),
        }
        .during("running the forward pass")
    }

    /// The KL term (summed over all weights and biases) for bcnn; `None` for
    /// the other models.
    pub fn kl_divergence(&self) -> Result<Option<Tensor>, TrainError> {
        let Net::Bayes(net) = &self.net else {
            return Ok(None);
        };
        let kl = || -> Result<Tensor, TchError> {
            let mut total = net.conv1.kl_divergence(self.prior, self.kl_direction)?;
            for layer in [&net.conv2, &net.fc1, &net.fc2, &net.fc3] {
                total = total.f_add(&layer.kl_divergence(self.prior, self.kl_direction)?)?;
            }
            Ok(total)
        };
        kl().map(Some).during("computing the KL divergence")
    }

    /// Test-only access to the Bayesian layers.
    #[cfg(test)]
    fn bayes_layers_mut(&mut self) -> Vec<&mut BayesLayer> {
        match &mut self.net {
            Net::Bayes(n) => vec![
                &mut n.conv1,
                &mut n.conv2,
                &mut n.fc1,
                &mut n.fc2,
                &mut n.fc3,
            ],
            Net::Plain(_) => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Kind;

    const LENET_MNIST_PARAMS: [i64; 5] = [61_706, 223_278, 485_650, 848_822, 1_312_794];

    #[test]
    fn lenet_parameter_counts_match_the_paper_per_width() {
        let _lock = crate::train::torch_test_lock();
        for (k, expected) in (1..=5).zip(LENET_MNIST_PARAMS) {
            let m = Model::new(
                Arch::Lenet,
                f64::from(k),
                1,
                Device::Cpu,
                KlDirection::Standard,
            )
            .unwrap();
            assert_eq!(m.param_count(), expected, "lenet k={k}");
            let mcd = Model::new(
                Arch::BcnnMcd,
                f64::from(k),
                1,
                Device::Cpu,
                KlDirection::Standard,
            )
            .unwrap();
            assert_eq!(mcd.param_count(), expected, "bcnn-mcd k={k}");
        }
    }

    #[test]
    fn bcnn_has_exactly_twice_the_parameters() {
        let _lock = crate::train::torch_test_lock();
        for (k, expected) in (1..=5).zip(LENET_MNIST_PARAMS) {
            let m = Model::new(
                Arch::Bcnn,
                f64::from(k),
                1,
                Device::Cpu,
                KlDirection::Standard,
            )
            .unwrap();
            assert_eq!(m.param_count(), 2 * expected, "bcnn k={k}");
        }
    }

    #[test]
    fn widths_scale_and_round_up() {
        let w = LayerWidths::for_width(3.0).unwrap();
        assert_eq!(
            (w.conv1, w.conv2, w.fc1_in, w.fc1, w.fc2, w.classes),
            (18, 48, 1200, 360, 84, 10)
        );
        let half = LayerWidths::for_width(0.5).unwrap();
        assert_eq!((half.conv1, half.conv2, half.fc1), (3, 8, 60));
        let odd = LayerWidths::for_width(1.1).unwrap();
        assert_eq!(
            (odd.conv1, odd.conv2, odd.fc1_in, odd.fc1),
            (7, 18, 450, 132)
        );
        assert_eq!(LayerWidths::for_width(1.2).unwrap().fc1, 144);
        assert!(LayerWidths::for_width(0.0).is_err());
        assert!(LayerWidths::for_width(f64::NAN).is_err());
    }

    #[test]
    fn shapes_flow_for_mnist_and_cifar_inputs() {
        let _lock = crate::train::torch_test_lock();
        for (channels, k) in [(1, 1.0), (3, 2.0), (3, 1.5)] {
            for arch in [Arch::Lenet, Arch::Bcnn, Arch::BcnnMcd] {
                let m = Model::new(arch, k, channels, Device::Cpu, KlDirection::Standard).unwrap();
                let x = Tensor::zeros([4, channels, 32, 32], (Kind::Float, Device::Cpu));
                let out = m.forward(&x).unwrap();
                assert_eq!(out.size(), vec![4, 10], "{arch} c={channels} k={k}");
            }
        }
        // Wrong input size is an error, not a panic.
        let m = Model::new(Arch::Lenet, 1.0, 1, Device::Cpu, KlDirection::Standard).unwrap();
        let x = Tensor::zeros([2, 1, 28, 28], (Kind::Float, Device::Cpu));
        assert!(matches!(m.forward(&x), Err(TrainError::Torch { .. })));
    }

    #[test]
    fn model_kl_is_zero_at_the_prior_and_positive_elsewhere() {
        let _lock = crate::train::torch_test_lock();
        let mut m = Model::new(Arch::Bcnn, 1.0, 1, Device::Cpu, KlDirection::Standard).unwrap();
        let kl_init = f64::try_from(m.kl_divergence().unwrap().unwrap()).unwrap();
        assert!(kl_init > 0.0);
        let rho = PAPER_PRIOR.sigma.exp_m1().ln();
        for layer in m.bayes_layers_mut() {
            layer.set_posterior(PAPER_PRIOR.mu, rho).unwrap();
        }
        let kl = f64::try_from(m.kl_divergence().unwrap().unwrap()).unwrap();
        // 123 412 parameters; per-element float rounding only.
        assert!(kl.abs() < 0.05, "{kl}");
        let lenet = Model::new(Arch::Lenet, 1.0, 1, Device::Cpu, KlDirection::Standard).unwrap();
        assert!(lenet.kl_divergence().unwrap().is_none());
    }

    #[test]
    fn stochastic_models_differ_between_passes_and_lenet_does_not() {
        let _lock = crate::train::torch_test_lock();
        let x = Tensor::ones([2, 1, 32, 32], (Kind::Float, Device::Cpu));
        for (arch, stochastic) in [
            (Arch::Lenet, false),
            (Arch::Bcnn, true),
            (Arch::BcnnMcd, true),
        ] {
            let m = Model::new(arch, 1.0, 1, Device::Cpu, KlDirection::Standard).unwrap();
            let a = m.forward(&x).unwrap();
            let b = m.forward(&x).unwrap();
            assert_eq!(!a.equal(&b), stochastic, "{arch}");
            assert_eq!(m.is_stochastic_at_test(), stochastic);
        }
    }

    #[test]
    fn arch_names_round_trip() {
        for arch in [Arch::Lenet, Arch::Bcnn, Arch::BcnnMcd] {
            assert_eq!(arch.name().parse::<Arch>().unwrap(), arch);
        }
        assert!("resnet".parse::<Arch>().is_err());
    }
}
