//! Per-model mean curves over runs: the average over a model's folds and
//! seeds of train accuracy, test accuracy and E(i) at every epoch. Shared
//! by the overtraining analysis (accuracy at two epochs, the onset) and the
//! report's per-epoch figures, so both average the same way.

use crate::metrics::{EnergyKind, ModelKey};
use crate::model::{EpochEnergy, RunData};
use crate::replay::model_key;
use std::collections::BTreeMap;

/// One model's mean curve over its runs (folds, seeds), epochs 1..=n where
/// n is the shortest run's last epoch; a value is `None` at an epoch where
/// some run lacks it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Curve {
    /// Runs averaged.
    pub runs: usize,
    pub train: Vec<Option<f64>>,
    pub test: Vec<Option<f64>>,
    /// E(i) in the model's energy kind (J or W-sum).
    pub energy: Vec<f64>,
}

fn mean(v: &[f64]) -> Option<f64> {
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

/// Mean curves per model (runs grouped by [`model_key`]).
pub fn curves(runs: &[RunData]) -> BTreeMap<ModelKey, Curve> {
    let mut by_model: BTreeMap<ModelKey, Vec<&RunData>> = BTreeMap::new();
    for r in runs {
        by_model.entry(model_key(r)).or_default().push(r);
    }
    by_model
        .into_iter()
        .map(|(key, runs)| {
            let n = runs.iter().map(|r| r.epochs.len()).min().unwrap_or(0);
            let mut c = Curve {
                runs: runs.len(),
                ..Curve::default()
            };
            for i in 0..n {
                let rows: Vec<_> = runs.iter().map(|r| &r.epochs[i]).collect();
                let all = |f: &dyn Fn(&EpochEnergy) -> Option<f64>| {
                    let v: Option<Vec<f64>> = rows.iter().map(|e| f(e)).collect();
                    v.and_then(|v| mean(&v))
                };
                c.train.push(all(&|e| e.train_acc));
                c.test.push(all(&|e| e.test_acc));
                let energy: Vec<f64> = rows
                    .iter()
                    .map(|e| match key.kind {
                        EnergyKind::Joules => e.energy_j,
                        EnergyKind::SampleSum => e.sample_sum_w,
                    })
                    .collect();
                c.energy.push(mean(&energy).unwrap_or(f64::NAN));
            }
            (key, c)
        })
        .collect()
}

impl Curve {
    /// Epochs every run recorded.
    pub fn len(&self) -> usize {
        self.test.len()
    }

    pub fn is_empty(&self) -> bool {
        self.test.is_empty()
    }

    /// Test accuracy from epoch 1 up to the first epoch some run lacks it.
    pub fn test_prefix(&self) -> Vec<f64> {
        self.test.iter().map_while(|v| *v).collect()
    }
}
