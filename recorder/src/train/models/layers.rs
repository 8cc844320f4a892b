//! The two kinds of weight layer the case-study models are made of: a plain
//! layer (LeNet) and a Bayes-by-Backprop layer with the local
//! reparameterisation trick (the Bayesian CNN), plus the closed-form KL
//! divergence between the Bayesian layer's posterior and its prior.
//!
//! Written against tch's fallible `f_*` functions so that a libtorch failure
//! (out of memory, a shape mismatch from odd input) comes back as an error,
//! not a panic in the middle of a recorded run.

use tch::nn::{Init, Path};
use tch::{TchError, Tensor};

use super::KlDirection;

/// Convolution (5×5, stride 1, no padding, as in the paper) or fully connected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LayerKind {
    /// 2-D convolution, weight `[out, in, k, k]`.
    Conv2d {
        /// Square kernel side.
        kernel: i64,
    },
    /// Fully connected, weight `[out, in]`.
    Linear,
}

impl LayerKind {
    fn weight_dims(self, in_dim: i64, out_dim: i64) -> Vec<i64> {
        match self {
            LayerKind::Conv2d { kernel } => vec![out_dim, in_dim, kernel, kernel],
            LayerKind::Linear => vec![out_dim, in_dim],
        }
    }

    fn fan_in(self, in_dim: i64) -> i64 {
        match self {
            LayerKind::Conv2d { kernel } => in_dim * kernel * kernel,
            LayerKind::Linear => in_dim,
        }
    }

    /// The layer's affine map `x ↦ layer(x; weight, bias)`.
    fn apply(self, x: &Tensor, weight: &Tensor, bias: &Tensor) -> Result<Tensor, TchError> {
        match self {
            LayerKind::Conv2d { .. } => x.f_conv2d(weight, Some(bias), [1, 1], [0, 0], [1, 1], 1),
            LayerKind::Linear => x.f_linear(weight, Some(bias)),
        }
    }
}

/// Something that maps a batch to a batch: a plain or a Bayesian layer.
pub trait WeightLayer {
    /// One stochastic (Bayesian) or deterministic (plain) forward pass.
    fn forward(&self, x: &Tensor) -> Result<Tensor, TchError>;
}

/// A plain convolution or linear layer with PyTorch's default initialisation
/// (`kaiming_uniform_(a=√5)` for the weight, which is U(±1/√fan_in), and
/// U(±1/√fan_in) for the bias). tch's own default (Kaiming with the ReLU gain)
/// is √6 times wider; the paper's LeNet is PyTorch's, so we match PyTorch.
#[derive(Debug)]
pub struct PlainLayer {
    kind: LayerKind,
    weight: Tensor,
    bias: Tensor,
}

impl PlainLayer {
    /// Registers `weight` and `bias` under `vs`.
    pub fn new(vs: &Path, kind: LayerKind, in_dim: i64, out_dim: i64) -> Result<Self, TchError> {
        let bound = 1.0 / (kind.fan_in(in_dim) as f64).sqrt();
        let init = Init::Uniform {
            lo: -bound,
            up: bound,
        };
        let weight = vs.f_var("weight", &kind.weight_dims(in_dim, out_dim), init)?;
        let bias = vs.f_var("bias", &[out_dim], init)?;
        Ok(Self { kind, weight, bias })
    }
}

impl WeightLayer for PlainLayer {
    fn forward(&self, x: &Tensor) -> Result<Tensor, TchError> {
        self.kind.apply(x, &self.weight, &self.bias)
    }
}

/// A Gaussian N(mu, sigma²), used for the prior over every weight and bias.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Gaussian {
    /// Mean.
    pub mu: f64,
    /// Standard deviation (> 0).
    pub sigma: f64,
}

/// The paper's prior N(0, 0.1) (0.1 is the standard deviation, as in the
/// author's code: `prior_sigma = 0.1`).
pub const PAPER_PRIOR: Gaussian = Gaussian {
    mu: 0.0,
    sigma: 0.1,
};
/// Initial posterior means: μ ~ N(0, 0.1).
pub const POSTERIOR_MU_INIT: Gaussian = Gaussian {
    mu: 0.0,
    sigma: 0.1,
};
/// Initial posterior ρ: ρ ~ N(−5, 0.1), so σ = softplus(ρ) ≈ 0.0067.
pub const POSTERIOR_RHO_INIT: Gaussian = Gaussian {
    mu: -5.0,
    sigma: 0.1,
};

/// Added to the activation variance before the square root, as in the
/// author's code, so the gradient of √var stays finite.
pub const ACTIVATION_VAR_FLOOR: f64 = 1e-16;

/// Bayes by Backprop with the local reparameterisation trick: each weight has
/// a mean μ and a ρ with σ = softplus(ρ); instead of sampling weights, the
/// layer samples its pre-activations:
/// `out = layer(x; μ) + sqrt(1e-16 + layer(x²; σ²)) · ε`, ε ~ N(0, 1).
#[derive(Debug)]
pub struct BayesLayer {
    kind: LayerKind,
    weight_mu: Tensor,
    weight_rho: Tensor,
    bias_mu: Tensor,
    bias_rho: Tensor,
}

impl BayesLayer {
    /// Registers `weight_mu`, `weight_rho`, `bias_mu`, `bias_rho` under `vs`,
    /// drawn from the paper's initial posterior.
    pub fn new(vs: &Path, kind: LayerKind, in_dim: i64, out_dim: i64) -> Result<Self, TchError> {
        let dims = kind.weight_dims(in_dim, out_dim);
        let mu = Init::Randn {
            mean: POSTERIOR_MU_INIT.mu,
            stdev: POSTERIOR_MU_INIT.sigma,
        };
        let rho = Init::Randn {
            mean: POSTERIOR_RHO_INIT.mu,
            stdev: POSTERIOR_RHO_INIT.sigma,
        };
        Ok(Self {
            kind,
            weight_mu: vs.f_var("weight_mu", &dims, mu)?,
            weight_rho: vs.f_var("weight_rho", &dims, rho)?,
            bias_mu: vs.f_var("bias_mu", &[out_dim], mu)?,
            bias_rho: vs.f_var("bias_rho", &[out_dim], rho)?,
        })
    }

    /// Overwrites the parameters (tests: posterior = prior, known σ).
    pub fn set_posterior(&mut self, mu: f64, rho: f64) -> Result<(), TchError> {
        tch::no_grad(|| -> Result<(), TchError> {
            let _ = self.weight_mu.f_fill_(mu)?;
            let _ = self.bias_mu.f_fill_(mu)?;
            let _ = self.weight_rho.f_fill_(rho)?;
            let _ = self.bias_rho.f_fill_(rho)?;
            Ok(())
        })
    }

    /// Mean and variance of the pre-activation for input `x` (before ε).
    pub fn activation_moments(&self, x: &Tensor) -> Result<(Tensor, Tensor), TchError> {
        let weight_var = self.weight_rho.f_softplus()?.f_square()?;
        let bias_var = self.bias_rho.f_softplus()?.f_square()?;
        let act_mu = self.kind.apply(x, &self.weight_mu, &self.bias_mu)?;
        let act_var = self
            .kind
            .apply(&x.f_square()?, &weight_var, &bias_var)?
            .f_add_scalar(ACTIVATION_VAR_FLOOR)?;
        Ok((act_mu, act_var))
    }

    /// KL divergence between this layer's posterior and `prior`, summed over
    /// all weights and biases.
    pub fn kl_divergence(
        &self,
        prior: Gaussian,
        direction: KlDirection,
    ) -> Result<Tensor, TchError> {
        let w = gaussian_kl_sum(
            &self.weight_mu,
            &self.weight_rho.f_softplus()?,
            prior,
            direction,
        )?;
        let b = gaussian_kl_sum(
            &self.bias_mu,
            &self.bias_rho.f_softplus()?,
            prior,
            direction,
        )?;
        w.f_add(&b)
    }
}

impl WeightLayer for BayesLayer {
    fn forward(&self, x: &Tensor) -> Result<Tensor, TchError> {
        let (act_mu, act_var) = self.activation_moments(x)?;
        let eps = act_mu.f_randn_like()?;
        act_mu.f_add(&act_var.f_sqrt()?.f_mul(&eps)?)
    }
}

/// Closed-form KL between a diagonal Gaussian posterior q = N(mu, sigma²)
/// (element-wise tensors) and a scalar Gaussian prior p, summed.
///
/// - `Standard`: KL(q‖p) = ln(σp/σ) + (σ² + (μ−μp)²)/(2σp²) − ½, the ELBO's term.
/// - `Reversed`: KL(p‖q) = ln(σ/σp) + (σp² + (μ−μp)²)/(2σ²) − ½, what the
///   author's `calculate_kl(prior_mu, prior_sigma, W_mu, W_sigma)` computes.
pub fn gaussian_kl_sum(
    mu: &Tensor,
    sigma: &Tensor,
    prior: Gaussian,
    direction: KlDirection,
) -> Result<Tensor, TchError> {
    let mean_gap_sq = mu.f_sub_scalar(prior.mu)?.f_square()?;
    let prior_var = prior.sigma * prior.sigma;
    let per_element = match direction {
        KlDirection::Standard => {
            // ln σp − ln σ + (σ² + Δ²)/(2σp²) − ½
            let ratio = sigma
                .f_square()?
                .f_add(&mean_gap_sq)?
                .f_div_scalar(2.0 * prior_var)?;
            ratio
                .f_sub(&sigma.f_log()?)?
                .f_add_scalar(prior.sigma.ln() - 0.5)?
        }
        KlDirection::Reversed => {
            // ln σ − ln σp + (σp² + Δ²)/(2σ²) − ½
            let numerator = mean_gap_sq.f_add_scalar(prior_var)?;
            let ratio = numerator.f_div(&sigma.f_square()?.f_mul_scalar(2.0)?)?;
            ratio
                .f_add(&sigma.f_log()?)?
                .f_add_scalar(-prior.sigma.ln() - 0.5)?
        }
    };
    per_element.f_sum(tch::Kind::Float)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{nn::VarStore, Device, Kind};

    fn scalar(t: &Tensor) -> f64 {
        t.double_value(&[])
    }

    /// ρ such that softplus(ρ) = σ.
    fn rho_for(sigma: f64) -> f64 {
        sigma.exp_m1().ln()
    }

    #[test]
    fn kl_is_zero_when_posterior_equals_prior() {
        let _lock = crate::train::torch_test_lock();
        let vs = VarStore::new(Device::Cpu);
        let mut layer =
            BayesLayer::new(&vs.root(), LayerKind::Conv2d { kernel: 5 }, 6, 16).unwrap();
        layer
            .set_posterior(PAPER_PRIOR.mu, rho_for(PAPER_PRIOR.sigma))
            .unwrap();
        for direction in [KlDirection::Standard, KlDirection::Reversed] {
            let kl = scalar(&layer.kl_divergence(PAPER_PRIOR, direction).unwrap());
            // 2 432 parameters, each within float rounding of 0.
            assert!(kl.abs() < 1e-3, "{direction:?}: {kl}");
        }
    }

    #[test]
    fn kl_matches_hand_computed_values_in_both_directions() {
        let _lock = crate::train::torch_test_lock();
        let mu = Tensor::from_slice(&[0.3f32]);
        let sigma = Tensor::from_slice(&[0.05f32]);
        let standard =
            scalar(&gaussian_kl_sum(&mu, &sigma, PAPER_PRIOR, KlDirection::Standard).unwrap());
        let reversed =
            scalar(&gaussian_kl_sum(&mu, &sigma, PAPER_PRIOR, KlDirection::Reversed).unwrap());
        // ln 2 + (0.0025 + 0.09)/0.02 − 0.5 and −ln 2 + (0.01 + 0.09)/0.005 − 0.5
        assert!(
            (standard - (2f64.ln() + 4.625 - 0.5)).abs() < 1e-4,
            "{standard}"
        );
        assert!(
            (reversed - (-(2f64.ln()) + 20.0 - 0.5)).abs() < 1e-3,
            "{reversed}"
        );
        // and it is a sum: two identical elements give twice the value
        let two = scalar(
            &gaussian_kl_sum(
                &mu.repeat([2]),
                &sigma.repeat([2]),
                PAPER_PRIOR,
                KlDirection::Standard,
            )
            .unwrap(),
        );
        assert!((two - 2.0 * standard).abs() < 1e-4);
    }

    /// Samples the layer's output many times for one fixed input and checks
    /// its mean and variance against μ_act and 1e-16 + layer(x²; σ²).
    fn check_output_moments(kind: LayerKind, input: Tensor, in_dim: i64, out_dim: i64) {
        tch::manual_seed(11);
        let vs = VarStore::new(Device::Cpu);
        let mut layer = BayesLayer::new(&vs.root(), kind, in_dim, out_dim).unwrap();
        // A σ large enough that the noise dominates float rounding.
        layer.set_posterior(0.2, rho_for(0.3)).unwrap();
        let n = 20_000i64;
        let mut shape = input.size();
        shape[0] = n;
        let batch = input.expand(shape.as_slice(), false).contiguous();
        let out = tch::no_grad(|| layer.forward(&batch)).unwrap();
        let (mu, var) = tch::no_grad(|| layer.activation_moments(&input)).unwrap();
        let sample_mean = out.mean_dim(0i64, false, Kind::Double);
        let sample_var = out.var_dim(0i64, true, false).to_kind(Kind::Double);
        let mu = mu.squeeze_dim(0).to_kind(Kind::Double);
        let var = var.squeeze_dim(0).to_kind(Kind::Double);
        // Formula, by hand: σ² Σ x² + σ_b² (all weights share σ here).
        let by_hand = 0.09 * f64::try_from(input.square().sum(Kind::Double)).unwrap() + 0.09;
        let max_var = f64::try_from(var.max()).unwrap();
        assert!(
            (max_var - by_hand).abs() / by_hand < 1e-4,
            "{max_var} vs {by_hand}"
        );
        let rel_var_err = f64::try_from(((&sample_var - &var) / &var).abs().max()).unwrap();
        // Sampling error of a variance from 20 000 draws: sd ≈ √(2/n) ≈ 1 %.
        assert!(rel_var_err < 0.05, "variance off by {rel_var_err}");
        let mean_err = f64::try_from(((&sample_mean - &mu) / var.sqrt()).abs().max()).unwrap();
        assert!(mean_err < 0.05, "mean off by {mean_err} sd");
    }

    #[test]
    fn linear_output_variance_matches_formula() {
        let _lock = crate::train::torch_test_lock();
        let x = Tensor::from_slice(&[0.5f32, -1.0, 2.0, 0.0]).view([1, 4]);
        check_output_moments(LayerKind::Linear, x, 4, 3);
    }

    #[test]
    fn conv_output_variance_matches_formula() {
        let _lock = crate::train::torch_test_lock();
        tch::manual_seed(5);
        // A 5×5 input and a 5×5 kernel: one output pixel per channel.
        let x = Tensor::rand([1, 1, 5, 5], (Kind::Float, Device::Cpu));
        check_output_moments(LayerKind::Conv2d { kernel: 5 }, x, 1, 2);
    }
}
