//! Stopping criteria (SPEC §4): the grammar shared by `recorder --stop` and
//! the analyzer's `--criterion`, and the replay that decides the stop epoch.
//!
//! Checks happen at epoch ends only, because accuracy is only known there
//! (as in the paper). A live stop calls [`Criterion::replay`] on the epochs
//! seen so far; since the replay picks the *first* epoch that satisfies the
//! rule, the live stop and a later replay of the full trace agree by
//! construction.
//!
//! Grammar (whitespace around tokens is allowed):
//! ```text
//! criterion := single ( '|' single )*
//! single    := 'epochs:' INT
//!            | 'accuracy:' NUM [ '@train' | '@test' ]
//!            | 'early-stopping:' INT [ ',' NUM ] [ ',restore-best' ]
//!            | 'energy:' NUM UNIT          UNIT := J | kJ | Wh | kWh | ws
//!            | 'time:' NUM TUNIT           TUNIT := s | m | min | h
//! ```

use std::fmt;

/// Which split an accuracy criterion looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    Train,
    Test,
}

/// Unit of an energy bound. `Ws` is the paper's sample-sum unit (plain sum of
/// power samples in W), which is not an energy; it is compared with the
/// sample-sum of the trace, never with joules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnergyUnit {
    J,
    KJ,
    Wh,
    KWh,
    Ws,
}

impl EnergyUnit {
    /// Joules per unit; `None` for the sample-sum unit.
    pub fn joules(self) -> Option<f64> {
        match self {
            EnergyUnit::J => Some(1.0),
            EnergyUnit::KJ => Some(1e3),
            EnergyUnit::Wh => Some(3600.0),
            EnergyUnit::KWh => Some(3.6e6),
            EnergyUnit::Ws => None,
        }
    }

    fn suffix(self) -> &'static str {
        match self {
            EnergyUnit::J => "J",
            EnergyUnit::KJ => "kJ",
            EnergyUnit::Wh => "Wh",
            EnergyUnit::KWh => "kWh",
            EnergyUnit::Ws => "ws",
        }
    }
}

/// A parsed stopping rule.
#[derive(Debug, Clone, PartialEq)]
pub enum Criterion {
    Epochs(u32),
    Accuracy {
        target: f64,
        split: Split,
    },
    EarlyStopping {
        patience: u32,
        min_delta: f64,
        restore_best: bool,
    },
    Energy {
        bound: f64,
        unit: EnergyUnit,
    },
    Time {
        seconds: f64,
    },
    /// Stops at the first epoch where any member would stop.
    FirstOf(Vec<Criterion>),
}

/// What a criterion needs to know about one completed epoch.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct EpochPoint {
    /// 1-based epoch number.
    pub epoch: u32,
    pub train_acc: Option<f64>,
    pub test_acc: Option<f64>,
    /// E(i): energy from the start of epoch 1 to the end of this epoch, J.
    pub energy_j: Option<f64>,
    /// The paper's sample-sum up to the end of this epoch, in summed W.
    pub sample_sum_w: Option<f64>,
    /// Wall time from the start of epoch 1 to the end of this epoch, s.
    pub elapsed_s: f64,
}

impl EpochPoint {
    /// The criteria's view of a recorded epoch `row` of a run whose epoch 1
    /// started at `first_start_ns`, with the energy so far. The recorder
    /// (live stop) and the analyzer (replay) both build points here, so they
    /// agree on the epoch's elapsed time to the nanosecond.
    pub fn new(
        row: &crate::EpochRow,
        first_start_ns: i64,
        energy_j: Option<f64>,
        sample_sum_w: Option<f64>,
    ) -> Self {
        Self {
            epoch: row.epoch,
            train_acc: row.train_acc,
            test_acc: row.test_acc,
            energy_j,
            sample_sum_w,
            elapsed_s: (row.end_ns - first_start_ns) as f64 * 1e-9,
        }
    }
}

/// The outcome of replaying a criterion on a run's epochs.
#[derive(Debug, Clone, PartialEq)]
pub enum StopDecision {
    Stopped {
        /// The epoch at whose end training stops (energy is paid up to here).
        stop_epoch: u32,
        /// The epoch whose accuracy is reported: `stop_epoch`, or the best
        /// epoch for early stopping with `restore-best`.
        report_epoch: u32,
        /// The member of a first-of combination that fired (canonical text).
        fired: String,
    },
    /// Never fired within the recorded epochs.
    Censored { last_epoch: u32 },
}

impl StopDecision {
    pub fn stop_epoch(&self) -> Option<u32> {
        match self {
            StopDecision::Stopped { stop_epoch, .. } => Some(*stop_epoch),
            StopDecision::Censored { .. } => None,
        }
    }
}

/// A value the criterion needs is missing from an epoch row.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("criterion '{criterion}' needs {field} at epoch {epoch}, but the run has none there")]
pub struct ReplayError {
    pub criterion: String,
    pub field: &'static str,
    pub epoch: u32,
}

impl Criterion {
    /// The paper's four criteria for a dataset (SPEC §4): 50 epochs, early
    /// stopping with patience 3, an energy bound of 100 000 sample-sum units,
    /// and a train-accuracy target (0.99 MNIST, 0.50 otherwise).
    pub fn paper_set(dataset: &str) -> Vec<Criterion> {
        let target = if dataset.eq_ignore_ascii_case("mnist") {
            0.99
        } else {
            0.50
        };
        vec![
            Criterion::Epochs(50),
            Criterion::EarlyStopping {
                patience: 3,
                min_delta: 0.0,
                restore_best: false,
            },
            Criterion::Energy {
                bound: 100_000.0,
                unit: EnergyUnit::Ws,
            },
            Criterion::Accuracy {
                target,
                split: Split::Train,
            },
        ]
    }

    /// Whether replay needs the sample-sum rather than joules.
    pub fn needs_sample_sum(&self) -> bool {
        match self {
            Criterion::Energy { unit, .. } => *unit == EnergyUnit::Ws,
            Criterion::FirstOf(v) => v.iter().any(Criterion::needs_sample_sum),
            _ => false,
        }
    }

    /// Replays the rule on epoch rows sorted by epoch (1, 2, …).
    pub fn replay(&self, points: &[EpochPoint]) -> Result<StopDecision, ReplayError> {
        let last_epoch = points.last().map_or(0, |p| p.epoch);
        let mut best: Option<StopDecision> = None;
        for c in self.members() {
            if let StopDecision::Stopped {
                stop_epoch,
                report_epoch,
                ..
            } = c.replay_single(points)?
            {
                let earlier = best.as_ref().and_then(StopDecision::stop_epoch);
                if earlier.is_none_or(|e| stop_epoch < e) {
                    best = Some(StopDecision::Stopped {
                        stop_epoch,
                        report_epoch,
                        fired: c.to_string(),
                    });
                }
            }
        }
        Ok(best.unwrap_or(StopDecision::Censored { last_epoch }))
    }

    fn members(&self) -> Vec<&Criterion> {
        match self {
            Criterion::FirstOf(v) => v.iter().flat_map(Criterion::members).collect(),
            c => vec![c],
        }
    }

    fn missing(&self, field: &'static str, epoch: u32) -> ReplayError {
        ReplayError {
            criterion: self.to_string(),
            field,
            epoch,
        }
    }

    fn replay_single(&self, points: &[EpochPoint]) -> Result<StopDecision, ReplayError> {
        let stopped = |e: u32| StopDecision::Stopped {
            stop_epoch: e,
            report_epoch: e,
            fired: self.to_string(),
        };
        match self {
            Criterion::Epochs(n) => {
                if let Some(p) = points.iter().find(|p| p.epoch == *n) {
                    return Ok(stopped(p.epoch));
                }
            }
            Criterion::Accuracy { target, split } => {
                for p in points {
                    let (acc, field) = match split {
                        Split::Train => (p.train_acc, "train_acc"),
                        Split::Test => (p.test_acc, "test_acc"),
                    };
                    let acc = acc.ok_or_else(|| self.missing(field, p.epoch))?;
                    if acc >= *target {
                        return Ok(stopped(p.epoch));
                    }
                }
            }
            Criterion::EarlyStopping {
                patience,
                min_delta,
                restore_best,
            } => {
                let mut best: Option<(f64, u32)> = None;
                let mut waited = 0u32;
                for p in points {
                    let acc = p
                        .test_acc
                        .ok_or_else(|| self.missing("test_acc", p.epoch))?;
                    match best {
                        Some((b, _)) if acc <= b + min_delta => waited += 1,
                        _ => {
                            best = Some((acc, p.epoch));
                            waited = 0;
                        }
                    }
                    if waited >= *patience {
                        let best_epoch = best.map_or(p.epoch, |(_, e)| e);
                        return Ok(StopDecision::Stopped {
                            stop_epoch: p.epoch,
                            report_epoch: if *restore_best { best_epoch } else { p.epoch },
                            fired: self.to_string(),
                        });
                    }
                }
            }
            Criterion::Energy { bound, unit } => {
                for p in points {
                    let e = match unit.joules() {
                        Some(j) => p
                            .energy_j
                            .map(|e| e / j)
                            .ok_or_else(|| self.missing("energy_j", p.epoch))?,
                        None => p
                            .sample_sum_w
                            .ok_or_else(|| self.missing("sample_sum_w", p.epoch))?,
                    };
                    if e >= *bound {
                        return Ok(stopped(p.epoch));
                    }
                }
            }
            Criterion::Time { seconds } => {
                if let Some(p) = points.iter().find(|p| p.elapsed_s >= *seconds) {
                    return Ok(stopped(p.epoch));
                }
            }
            Criterion::FirstOf(_) => return self.replay(points),
        }
        Ok(StopDecision::Censored {
            last_epoch: points.last().map_or(0, |p| p.epoch),
        })
    }
}

impl fmt::Display for Criterion {
    /// The canonical text, which parses back to the same criterion.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Criterion::Epochs(n) => write!(f, "epochs:{n}"),
            Criterion::Accuracy { target, split } => {
                let s = match split {
                    Split::Train => "train",
                    Split::Test => "test",
                };
                write!(f, "accuracy:{target}@{s}")
            }
            Criterion::EarlyStopping {
                patience,
                min_delta,
                restore_best,
            } => {
                write!(f, "early-stopping:{patience}")?;
                if *min_delta != 0.0 {
                    write!(f, ",{min_delta}")?;
                }
                if *restore_best {
                    write!(f, ",restore-best")?;
                }
                Ok(())
            }
            Criterion::Energy { bound, unit } => write!(f, "energy:{bound}{}", unit.suffix()),
            Criterion::Time { seconds } => write!(f, "time:{seconds}s"),
            Criterion::FirstOf(v) => {
                for (i, c) in v.iter().enumerate() {
                    if i > 0 {
                        f.write_str("|")?;
                    }
                    write!(f, "{c}")?;
                }
                Ok(())
            }
        }
    }
}

mod parse;
pub use parse::CriterionParseError;

#[cfg(test)]
mod tests;
