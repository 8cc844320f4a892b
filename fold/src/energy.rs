//! Energy per epoch from each source's per-epoch sums: the one place the
//! numbers of a run are computed, whether its sums come straight from the
//! sample fold (`run`) or from a reduced table (`crate::reduced`), so both
//! give the same bits.

use crate::fold::SourceFold;
use crate::model::{EnergyMode, EpochEnergy};
use trainwatt_trace::EpochRow;

/// One source's per-epoch sums for the epochs used: what a reduced table
/// stores per run, epoch and source.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceEpochs {
    pub id: String,
    /// Trapezoid area per bin, W·s: [0] before epoch 1, [k] epoch k.
    pub area_ws: Vec<f64>,
    /// The paper's plain sum of regular power samples per bin, W.
    pub sum_w: Vec<f64>,
    /// Counter energy from the start of epoch 1 to the end of epoch k, J
    /// ([0] is 0); `None` where the counter does not bracket the boundary.
    pub counter_j: Vec<Option<f64>>,
    /// Whether a read fell exactly on each boundary b₀..bₙ.
    pub exact: Vec<bool>,
    /// Regular power samples and counter reads of the source, whole run.
    pub n_power: u64,
    pub n_counter: u64,
}

impl SourceEpochs {
    /// The sums of `s` for boundaries b₀..b_used.
    pub(crate) fn from_fold(id: &str, s: &SourceFold, used: usize) -> Self {
        let at0 = s.c_at.first().copied().flatten();
        Self {
            id: id.to_string(),
            area_ws: s.area_ws[..=used].to_vec(),
            sum_w: s.sum_w[..=used].to_vec(),
            counter_j: s.c_at[..=used]
                .iter()
                .map(|at| at.zip(at0).map(|(at, at0)| at.minus_j(at0)))
                .collect(),
            exact: s.c_exact[..=used].to_vec(),
            n_power: s.n_power,
            n_counter: s.n_counter,
        }
    }
}

/// E(i), sample sums and elapsed time for the epochs `rows` (1..=n, which
/// `sources`' sums cover), in the physical mode's terms; net energy with an
/// idle `baseline_w`.
pub fn epoch_energy(
    sources: &[SourceEpochs],
    rows: &[EpochRow],
    physical: EnergyMode,
    baseline_w: Option<f64>,
) -> Vec<EpochEnergy> {
    let start = rows.first().map_or(0, |r| r.start_ns);
    let (mut area, mut sum_w) = (vec![0.0; sources.len()], 0.0);
    rows.iter()
        .enumerate()
        .map(|(i, r)| {
            let k = i + 1;
            let mut energy_j = 0.0;
            for (s, acc) in sources.iter().zip(area.iter_mut()) {
                sum_w += s.sum_w[k];
                *acc += s.area_ws[k];
                energy_j += match (physical, s.counter_j[k]) {
                    (EnergyMode::Counter, Some(c)) => c,
                    _ => *acc,
                };
            }
            let elapsed_s = (r.end_ns - start) as f64 * 1e-9;
            EpochEnergy {
                row: r.clone(),
                energy_j,
                net_energy_j: baseline_w.map(|w| energy_j - w * elapsed_s),
                sample_sum_w: sum_w,
                elapsed_s,
            }
        })
        .collect()
}
