//! The paper's efficiency measures as pure functions (SPEC §3), and the
//! aggregation that groups models into Eq. 3, Eq. 4 and ratio rows.
//!
//! Everything here works on plain numbers so it can be tested without an
//! archive: [`efficiency`] holds Eq. 2–4 and the ratios, [`stats`] the
//! spread (t-interval over widths, seeded bootstrap over repeated seeds),
//! and [`summary`] the grouping by (platform, dataset, architecture,
//! criterion) — platforms are part of every key, so they are never pooled.

pub mod efficiency;
pub mod overtraining;
pub mod stats;
pub mod summary;

pub use efficiency::{eq2, eq3, eq4, ratio, Eq3, Eq4, Replicate, WidthPoint};
pub use summary::{ModelKey, ModelOutcome, ModelResult, Summary};

/// What an energy number is: joules, or the paper's sample-sum (a plain sum
/// of power samples in W; not an energy, see SPEC §2). Numbers of different
/// kinds are never averaged together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum EnergyKind {
    Joules,
    SampleSum,
}

impl EnergyKind {
    /// Unit and divisor for printing an energy (a divisor, not a factor of
    /// 1e-3, so that round numbers stay round: 5000 J prints as exactly 5).
    pub fn energy_unit(self) -> (&'static str, f64) {
        match self {
            EnergyKind::Joules => ("kJ", 1e3),
            EnergyKind::SampleSum => ("W-sum ×10⁵", 1e5),
        }
    }

    /// Unit and multiplier for printing an efficiency (accuracy per energy):
    /// accuracy per kJ, or the paper's 1/W-sum scaled by 10⁶ so that its
    /// numbers (8.09, 26.10, …) reappear as printed.
    pub fn eff_unit(self) -> (&'static str, f64) {
        match self {
            EnergyKind::Joules => ("acc/kJ", 1e3),
            EnergyKind::SampleSum => ("1/W-sum ×10⁻⁶", 1e6),
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            EnergyKind::Joules => "joules (efficiency printed as accuracy per kJ)",
            EnergyKind::SampleSum => {
                "sample-sum: the paper's plain sum of power samples in W (not an energy; \
                 it grows with the sample rate), efficiency printed as 1/W-sum ×10⁻⁶"
            }
        }
    }
}
