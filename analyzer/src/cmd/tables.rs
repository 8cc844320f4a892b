//! `analyzer tables --rows FILE.csv`: Eq. 3, Eq. 4 and the ratios from
//! per-model summary rows, for when only published tables exist.
//!
//! Eq. 2 per row comes either from the published efficiency column or is
//! recomputed as accuracy / energy. The two differ slightly for the paper:
//! its Eff column was computed before acc and energy were rounded for
//! printing, so the published column is what reproduces its Eq. 3 and Eq. 4
//! to the printed digit, while recomputing lands within about 2%.

use super::paper_tables::{all_tables, TableContext};
use super::rows_csv::{RowStop, RowsFile};
use crate::export::Report;
use crate::metrics::efficiency::BootstrapOptions;
use crate::metrics::summary::{summarise, EpochRange};
use crate::metrics::{eq2, EnergyKind, ModelKey, ModelOutcome, ModelResult, Replicate};
use std::path::PathBuf;
use trainwatt_trace::EnergyUnit;

/// Where each row's Eq. 2 comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum EffSource {
    /// The published column when the file has one, else recompute.
    Auto,
    /// The published efficiency column.
    Published,
    /// accuracy / energy.
    Recompute,
}

#[derive(Debug, Clone)]
pub struct TablesOptions {
    pub eff: EffSource,
    /// Unit of a plain `energy` column (overrides the one implied by a name).
    pub energy_unit: Option<EnergyUnit>,
    /// Platform for rows without a `platform` column.
    pub platform: String,
    pub boot: BootstrapOptions,
}

impl Default for TablesOptions {
    fn default() -> Self {
        Self {
            eff: EffSource::Auto,
            energy_unit: None,
            platform: "published".into(),
            boot: BootstrapOptions::default(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TablesError {
    #[error(
        "{path}: the energy column '{column}' does not say its unit; pass --energy-unit \
         (J, kJ, Wh, kWh, or ws for the paper's sample-sum)"
    )]
    UnknownUnit { path: PathBuf, column: String },
    #[error("{path}: --eff published needs an efficiency column (eff or eff_published)")]
    NoEffColumn { path: PathBuf },
    #[error("{path}:{line}: {what} is empty; it is needed to {why}")]
    MissingValue {
        path: PathBuf,
        line: usize,
        what: &'static str,
        why: &'static str,
    },
}

/// Energy kind and factor from the file's unit to the kind's base unit
/// (J, or W-sum).
fn unit_scale(unit: EnergyUnit) -> (EnergyKind, f64) {
    match unit.joules() {
        Some(j) => (EnergyKind::Joules, j),
        None => (EnergyKind::SampleSum, 1.0),
    }
}

/// Turns rows into model results (the same shape replay produces).
pub fn model_results(
    file: &RowsFile,
    opts: &TablesOptions,
) -> Result<(Vec<ModelResult>, bool), TablesError> {
    let published = match opts.eff {
        EffSource::Published if !file.has_eff => {
            return Err(TablesError::NoEffColumn {
                path: file.path.clone(),
            })
        }
        EffSource::Published => true,
        EffSource::Auto => file.has_eff,
        EffSource::Recompute => false,
    };
    let unit = match (opts.energy_unit, file.energy_unit, &file.energy_column) {
        (Some(u), _, _) | (None, Some(u), _) => u,
        (None, None, Some(column)) => {
            return Err(TablesError::UnknownUnit {
                path: file.path.clone(),
                column: column.clone(),
            })
        }
        // No energy column at all: only published efficiencies; the paper's
        // unit is the only sensible guess, and the notes say so.
        (None, None, None) => EnergyUnit::Ws,
    };
    let (kind, to_base) = unit_scale(unit);
    let mut out = Vec::new();
    for r in &file.rows {
        let missing = |what, why| TablesError::MissingValue {
            path: file.path.clone(),
            line: r.line,
            what,
            why,
        };
        let outcome = match r.stop {
            RowStop::NotReached(n) => ModelOutcome::Censored {
                last: EpochRange::single(n),
                censored_runs: 1,
                runs: 1,
            },
            RowStop::At(epoch) => {
                let energy = r.energy.map(|e| e * to_base);
                let eff = if published {
                    let e = r
                        .eff
                        .ok_or_else(|| missing("the efficiency", "use the published Eff column"))?;
                    Some(e / to_base)
                } else {
                    let acc = r
                        .acc
                        .ok_or_else(|| missing("the accuracy", "recompute Eq. 2"))?;
                    let energy = energy.ok_or_else(|| missing("the energy", "recompute Eq. 2"))?;
                    eq2(acc, energy)
                };
                ModelOutcome::Stopped {
                    stop: EpochRange::single(epoch),
                    acc: r.acc.unwrap_or(f64::NAN),
                    energy,
                    eff,
                    replicates: match (r.acc, energy) {
                        (Some(acc), Some(energy)) => vec![Replicate { acc, energy }],
                        _ => Vec::new(),
                    },
                    runs: 1,
                    fired: Default::default(),
                }
            }
        };
        out.push(ModelResult {
            key: ModelKey {
                platform: r.platform.clone().unwrap_or_else(|| opts.platform.clone()),
                dataset: r.dataset.clone(),
                arch: r.arch.clone(),
                width: r.width,
                kind,
            },
            criterion: r.criterion.clone(),
            rule: r.criterion.clone(),
            outcome,
        });
    }
    Ok((out, published))
}

/// The full report for a rows file.
pub fn report(file: &RowsFile, opts: &TablesOptions) -> Result<Report, TablesError> {
    let (results, published) = model_results(file, opts)?;
    let mut criteria: Vec<String> = Vec::new();
    for r in &results {
        if !criteria.contains(&r.criterion) {
            criteria.push(r.criterion.clone());
        }
    }
    let summary = summarise(&results, &criteria, opts.boot);
    let kind = results
        .first()
        .map_or(EnergyKind::SampleSum, |r| r.key.kind);
    let mut notes = vec![
        format!(
            "source: per-model rows from {} ({} rows)",
            file.path.display(),
            file.rows.len()
        ),
        format!("energy unit: {}", kind.describe()),
        if published {
            "Eq. 2: the published efficiency column".to_string()
        } else {
            "Eq. 2: recomputed as accuracy / energy".to_string()
        },
    ];
    if file.energy_column.is_none() {
        notes.push(
            "no energy column: efficiencies taken to be per the paper's sample-sum unit".into(),
        );
    }
    Ok(Report {
        notes,
        tables: all_tables(&results, &summary, &TableContext::default()),
        excluded: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmd::rows_csv::parse;
    use crate::export::{Cell, Exporter, TerminalExporter};
    use std::path::Path;

    const ROWS: &str = "dataset,criterion,arch,width,epochs,acc,energy_kj,eff\n\
        mnist,e50,lenet,1,50,0.99,2,0.5\n\
        mnist,e50,lenet,2,50,0.99,3,0.33\n\
        mnist,e50,bcnn,1,50,0.90,9,0.1\n\
        mnist,e50,bcnn,2,>100,,,\n";

    fn cell<'a>(r: &'a Report, id: &str, row: usize, key: &str) -> &'a Cell {
        let t = r.tables.iter().find(|t| t.id == id).unwrap();
        let c = t.columns.iter().position(|c| c.key == key).unwrap();
        &t.rows[row][c]
    }

    #[test]
    fn published_and_recomputed_in_joules() {
        let f = parse(Path::new("r.csv"), ROWS).unwrap();
        let publ = report(&f, &TablesOptions::default()).unwrap();
        // eff column is per kJ: printed per kJ unchanged.
        let value = cell(&publ, "criteria", 0, "eq3_0").value().unwrap();
        assert!((value - 0.415).abs() < 1e-12, "{value}");
        let re = report(
            &f,
            &TablesOptions {
                eff: EffSource::Recompute,
                ..TablesOptions::default()
            },
        )
        .unwrap();
        let value = cell(&re, "criteria", 0, "eq3_0").value().unwrap();
        assert!((value - (0.99 / 2.0 + 0.99 / 3.0) / 2.0).abs() < 1e-12);
        let text = TerminalExporter.render_report(&re).unwrap();
        assert!(text.contains("not reached by epoch 100"), "{text}");
        assert!(text.contains("1 of 2 widths censored"), "{text}");
        assert!(text.contains("Eq. 4 (acc/kJ)"), "{text}");
    }

    #[test]
    fn plain_energy_needs_a_unit_and_published_needs_a_column() {
        let f = parse(
            Path::new("r.csv"),
            "dataset,criterion,arch,width,epochs,acc,energy\nm,c,a,1,5,0.9,10\n",
        )
        .unwrap();
        let e = report(&f, &TablesOptions::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("--energy-unit"), "{e}");
        let e = report(
            &f,
            &TablesOptions {
                eff: EffSource::Published,
                energy_unit: Some(EnergyUnit::J),
                ..TablesOptions::default()
            },
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("needs an efficiency column"), "{e}");
        let ok = report(
            &f,
            &TablesOptions {
                energy_unit: Some(EnergyUnit::Wh),
                ..TablesOptions::default()
            },
        )
        .unwrap();
        let value = cell(&ok, "models", 0, "eff_eq2").value().unwrap();
        // 0.9 per 10 Wh = 0.9 / 36 kJ.
        assert!((value - 0.9 / 36.0).abs() < 1e-12, "{value}");
    }
}
