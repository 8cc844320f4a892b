//! Training the paper's case-study models with tch (libtorch), so that the
//! recorder can stamp every epoch with its accuracy, loss and exact start and
//! end times while the sampler records power.
//!
//! Data flow: [`data`] reads the standard dataset files and applies a
//! [`Protocol`] (hold-out, k-fold, ratio, or a split of the test files only),
//! [`models`] builds `lenet`, `bcnn` or `bcnn-mcd` at width k, and
//! [`engine::train`] runs the epochs, calling back after each one so the
//! caller can write the epoch row and decide (live `--stop`) whether to go on.
//! [`study`] expands a study file into run configurations and [`bench`]
//! times one epoch for the README's performance figures.
//!
//! This whole module sits behind the `train` cargo feature, so the rest of the
//! recorder builds without libtorch.

pub mod bench;
pub mod config;
pub mod data;
pub mod engine;
pub mod models;
pub mod rng;
pub mod study;

pub use bench::bench_epoch;
pub use config::{DeviceChoice, Normalisation, TrainConfig};
pub use data::{DataError, DatasetKind, Protocol};
pub use engine::{train, EpochResult, TrainSummary};
pub use models::{Arch, KlDirection, Model};
pub use study::{RunSpec, Study, StudyError};

/// Why a training run could not start or had to stop.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// The dataset files are missing, malformed, or the protocol does not fit them.
    #[error(transparent)]
    Data(#[from] DataError),
    /// A configuration value is out of range (width, epochs, batch size, fold…).
    #[error("invalid training configuration: {0}")]
    Config(String),
    /// libtorch reported an error (out of memory, a CUDA failure, a shape bug).
    #[error("libtorch error while {context}")]
    Torch {
        /// What the trainer was doing.
        context: &'static str,
        /// The error libtorch returned.
        #[source]
        source: tch::TchError,
    },
}

/// Attaches what the trainer was doing to a libtorch error.
pub(crate) trait TorchContext<T> {
    fn during(self, context: &'static str) -> Result<T, TrainError>;
}

impl<T> TorchContext<T> for Result<T, tch::TchError> {
    fn during(self, context: &'static str) -> Result<T, TrainError> {
        self.map_err(|source| TrainError::Torch { context, source })
    }
}

#[cfg(test)]
mod tests;

/// libtorch's random generator and thread count are process-wide, and the
/// test harness runs tests in parallel threads: every test that draws from
/// libtorch holds this lock, so a determinism test sees only its own draws.
#[cfg(test)]
pub(crate) fn torch_test_lock() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
