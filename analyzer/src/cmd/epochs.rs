//! `analyzer epochs`: Eq. 2 at every epoch of every run (the data behind
//! the paper's Figures 5 and 6), for export and plotting elsewhere.
//!
//! One row per (run, epoch); CV folds stay separate rows (the `fold`
//! column), because averaging them here would hide fold-to-fold spread that
//! a figure may want to show.

use super::efficiency::archive_notes;
use super::paper_tables::{eff_cell, eff_column, energy_cell, energy_column, ACC_FMT};
use crate::archive::Loaded;
use crate::export::{Cell, Column, NumFmt, Report, Table};
use crate::metrics::eq2;
use crate::metrics::summary::paper_order;
use crate::model::RunData;
use crate::replay::{energy_kind, epoch_energy, EnergyBasis};
use std::collections::BTreeSet;

fn opt_int(v: Option<u64>) -> Cell {
    v.map_or(Cell::Empty, |v| Cell::Int(v as i64))
}

/// Eq. 2 per epoch, one table per energy kind.
pub fn report(loaded: &Loaded, baseline: bool) -> Report {
    let mut runs: Vec<&RunData> = loaded.runs.iter().collect();
    runs.sort_by(|a, b| {
        let key = |r: &RunData| {
            let w = &r.manifest.workload;
            (
                r.platform().to_string(),
                paper_order(r.dataset()),
                paper_order(r.arch()),
                r.width(),
                w.seed,
                w.fold,
                r.manifest.run_id.clone(),
            )
        };
        key(a).cmp(&key(b))
    });
    let kinds: BTreeSet<_> = runs.iter().map(|r| energy_kind(r.energy_mode)).collect();
    let mut tables = Vec::new();
    for kind in kinds {
        let net = baseline && kind == crate::metrics::EnergyKind::Joules;
        let mut cols = vec![
            Column::new("platform", "platform"),
            Column::new("dataset", "dataset"),
            Column::new("arch", "arch"),
            Column::new("width", "width"),
            Column::new("seed", "seed"),
            Column::new("fold", "fold"),
            Column::new("run_id", "run"),
            Column::new("epoch", "epoch"),
            Column::with_unit("train_acc", "train accuracy", "fraction"),
            Column::with_unit("test_acc", "test accuracy", "fraction"),
            Column::with_unit("elapsed_s", "elapsed", "s"),
            energy_column("energy", "energy", kind),
            eff_column("eff_eq2", "Eq. 2", kind),
        ];
        if net {
            cols.push(energy_column("net_energy", "net energy", kind));
            cols.push(eff_column("net_eff_eq2", "net Eq. 2", kind));
        }
        let mut t = Table::new(
            "epochs",
            "Eq. 2 at every epoch (test accuracy / energy up to the epoch's end)",
            cols,
        );
        for r in runs.iter().filter(|r| energy_kind(r.energy_mode) == kind) {
            let w = &r.manifest.workload;
            for e in &r.epochs {
                let gross = epoch_energy(r.energy_mode, e, EnergyBasis::Gross);
                let mut row = vec![
                    Cell::text(r.platform()),
                    Cell::text(r.dataset()),
                    Cell::text(r.arch()),
                    Cell::Int(i64::from(r.width())),
                    opt_int(w.seed),
                    opt_int(w.fold.map(u64::from)),
                    Cell::text(&r.manifest.run_id),
                    Cell::Int(i64::from(e.epoch)),
                    Cell::opt(e.train_acc, ACC_FMT),
                    Cell::opt(e.test_acc, ACC_FMT),
                    Cell::num(e.elapsed_s, NumFmt::Fixed(1)),
                    energy_cell(kind, gross),
                    eff_cell(kind, e.test_acc.zip(gross).and_then(|(a, g)| eq2(a, g))),
                ];
                if net {
                    let n = epoch_energy(r.energy_mode, e, EnergyBasis::Net);
                    row.push(energy_cell(kind, n));
                    row.push(eff_cell(
                        kind,
                        e.test_acc.zip(n).and_then(|(a, g)| eq2(a, g)),
                    ));
                }
                t.push(row);
            }
        }
        tables.push(t);
    }
    Report {
        notes: archive_notes(loaded),
        tables,
        excluded: loaded.excluded.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::{CsvExporter, Exporter};
    use crate::model::EnergyMode;
    use crate::replay::fixtures::{run, RunSpec};

    #[test]
    fn one_row_per_epoch_with_eq2_and_net() {
        let a = run(
            &RunSpec::default(),
            3,
            |i| 0.3 * f64::from(i),
            |_| 0.5,
            |i| 500.0 * f64::from(i),
        );
        let b = run(
            &RunSpec {
                mode: EnergyMode::SampleSum,
                arch: "bcnn",
                ..RunSpec::default()
            },
            2,
            |_| 0.5,
            |_| 0.5,
            |i| 1e4 * f64::from(i),
        );
        let r = report(
            &Loaded {
                runs: vec![b, a],
                ..Loaded::default()
            },
            true,
        );
        assert_eq!(
            r.tables.len(),
            2,
            "joules and sample-sum never share a table"
        );
        let j = &r.tables[0];
        assert_eq!(j.rows.len(), 3);
        let csv = CsvExporter { bare: true }.render(j).unwrap();
        let lines: Vec<&str> = csv.lines().collect();
        assert!(
            lines[0].ends_with("energy (kJ),Eq. 2 (acc/kJ),net energy (kJ),net Eq. 2 (acc/kJ)"),
            "{}",
            lines[0]
        );
        // Epoch 2: acc 0.6, 1 kJ gross, 0.5 kJ net.
        assert!(
            lines[2].ends_with(",2.0,1.000,0.6000,0.5000,1.200"),
            "{}",
            lines[2]
        );
        let ws = &r.tables[1];
        assert_eq!(ws.columns.len(), 13, "no net columns for sample-sum");
        assert_eq!(ws.rows[0][11], Cell::num(1.0, NumFmt::Fixed(2)));
        // 0.5 / 1e5 W-sum = 5e-6 -> 5.00 ×10⁻⁶.
        assert!((ws.rows[0][12].value().unwrap() - 5.0).abs() < 1e-12);
    }
}
