//! `analyzer efficiency`: criteria replayed on an archive, then the paper's
//! Tables 3–12 (and the platform comparison when there are several hosts).
//!
//! Besides the tables, a report always says how its energy was obtained,
//! which numbers rest on modelled sources, which runs were left out and why,
//! and every warning: a reader must never have to guess whether an
//! efficiency is a measurement.

use super::paper_tables::{all_tables, TableContext};
use crate::archive::Loaded;
use crate::export::Report;
use crate::metrics::efficiency::BootstrapOptions;
use crate::metrics::summary::{paper_order, summarise};
use crate::metrics::EnergyKind;
use crate::model::EnergyMode;
use crate::replay::{energy_kind, replay_models, CriterionSpec, EnergyBasis};
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Clone)]
pub struct EfficiencyOptions {
    pub criteria: Vec<CriterionSpec>,
    /// Also report net-of-baseline tables (joule modes only).
    pub baseline: bool,
    pub boot: BootstrapOptions,
}

impl Default for EfficiencyOptions {
    fn default() -> Self {
        Self {
            criteria: CriterionSpec::paper_set(),
            baseline: false,
            boot: BootstrapOptions::default(),
        }
    }
}

fn mode_name(m: EnergyMode) -> &'static str {
    match m {
        EnergyMode::Counter => "counter",
        EnergyMode::Integral => "integral",
        EnergyMode::SampleSum => "sample-sum",
    }
}

/// Notes every archive-based report carries: energy modes, modelled
/// sources, excluded runs, warnings.
pub fn archive_notes(loaded: &Loaded) -> Vec<String> {
    let mut notes = Vec::new();
    let mut modes: BTreeMap<&str, usize> = BTreeMap::new();
    let mut kinds = BTreeSet::new();
    for r in &loaded.runs {
        *modes.entry(mode_name(r.energy_mode)).or_default() += 1;
        kinds.insert(energy_kind(r.energy_mode));
    }
    let modes: Vec<String> = modes
        .iter()
        .map(|(m, n)| format!("{m} ({n} runs)"))
        .collect();
    notes.push(format!("energy mode: {}", modes.join(", ")));
    let exact = loaded.runs.iter().filter(|r| r.boundary_reads).count();
    if exact > 0 {
        notes.push(format!(
            "boundary reads: {exact} of {} runs read every source at every epoch boundary \
             (energy per epoch from reads at the boundaries, no interpolation); {}",
            loaded.runs.len(),
            if exact == loaded.runs.len() {
                "all of them".to_string()
            } else {
                format!(
                    "the other {} interpolate between the reads around each boundary",
                    loaded.runs.len() - exact
                )
            }
        ));
    }
    for k in kinds {
        notes.push(format!("energy unit: {}", k.describe()));
    }
    let mut modelled: BTreeMap<&str, (usize, usize, BTreeSet<String>)> = BTreeMap::new();
    for r in &loaded.runs {
        let e = modelled.entry(r.platform()).or_default();
        e.1 += 1;
        if r.modelled {
            e.0 += 1;
            for s in r.manifest.sources.iter().filter(|s| s.method.is_modelled()) {
                e.2.insert(s.id.clone());
            }
        }
    }
    for (platform, (n, total, ids)) in modelled {
        if n > 0 {
            let ids: Vec<String> = ids.into_iter().collect();
            notes.push(format!(
                "MODELLED: platform {platform}: {n} of {total} runs include modelled sources ({}); \
                 their energies and efficiencies are estimates, not measurements",
                if ids.is_empty() { "unnamed".to_string() } else { ids.join(", ") }
            ));
        }
    }
    for x in &loaded.excluded {
        notes.push(format!("EXCLUDED: {}: {}", x.dir.display(), x.reason));
    }
    for w in &loaded.warnings {
        notes.push(format!("warning: {w}"));
    }
    for r in &loaded.runs {
        for w in &r.warnings {
            notes.push(format!("warning: {}: {w}", r.dir.display()));
        }
    }
    notes
}

/// Which rule each criterion label stands for, per dataset.
fn criteria_notes(loaded: &Loaded, specs: &[CriterionSpec]) -> Vec<String> {
    let mut datasets: Vec<&str> = loaded.runs.iter().map(|r| r.dataset()).collect();
    datasets.sort_by_key(|d| paper_order(d));
    datasets.dedup();
    specs
        .iter()
        .map(|s| {
            let rules: BTreeSet<String> = datasets
                .iter()
                .filter_map(|d| s.for_dataset(d))
                .map(|c| c.to_string())
                .collect();
            if rules.len() <= 1 && rules.iter().all(|r| *r == s.label) {
                format!("criterion '{}'", s.label)
            } else {
                let per: Vec<String> = datasets
                    .iter()
                    .filter_map(|d| s.for_dataset(d).map(|c| format!("{c} ({d})")))
                    .collect();
                format!("criterion '{}': {}", s.label, per.join(", "))
            }
        })
        .collect()
}

/// Replays, summarises and tabulates.
pub fn report(loaded: &Loaded, opts: &EfficiencyOptions) -> Report {
    let mut notes = archive_notes(loaded);
    notes.extend(criteria_notes(loaded, &opts.criteria));
    let labels: Vec<String> = opts.criteria.iter().map(|c| c.label.clone()).collect();
    let mut tables = Vec::new();
    let mut bases = vec![EnergyBasis::Gross];
    if opts.baseline {
        if loaded
            .runs
            .iter()
            .any(|r| energy_kind(r.energy_mode) == EnergyKind::Joules)
        {
            bases.push(EnergyBasis::Net);
        }
        if loaded
            .runs
            .iter()
            .any(|r| energy_kind(r.energy_mode) == EnergyKind::SampleSum)
        {
            notes.push(
                "--baseline: not applicable to sample-sum runs (only gross shown for them)".into(),
            );
        }
    }
    for basis in bases {
        let runs: Vec<_> = loaded
            .runs
            .iter()
            .filter(|r| {
                basis == EnergyBasis::Gross || energy_kind(r.energy_mode) == EnergyKind::Joules
            })
            .cloned()
            .collect();
        let replayed = replay_models(&runs, &opts.criteria, basis);
        notes.extend(
            replayed
                .warnings
                .iter()
                .map(|w| format!("warning ({}): {w}", basis.describe())),
        );
        let summary = summarise(&replayed.results, &labels, opts.boot);
        let ctx = TableContext {
            suffix: match basis {
                EnergyBasis::Gross if opts.baseline => " — gross".into(),
                EnergyBasis::Gross => String::new(),
                EnergyBasis::Net => " — net of idle baseline".into(),
            },
        };
        tables.extend(all_tables(&replayed.results, &summary, &ctx));
    }
    Report {
        notes,
        tables,
        excluded: loaded.excluded.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::{Cell, Exporter, JsonExporter, NumFmt, TerminalExporter};
    use crate::model::Excluded;
    use crate::replay::fixtures::{run, RunSpec};
    use std::path::PathBuf;
    use trainwatt_trace::{Domain, Method, SourceInfo};

    /// Two archs × two widths on MNIST; lenet learns faster and draws less.
    fn archive() -> Loaded {
        let mut runs = Vec::new();
        for (arch, per_epoch_j, rate) in [("lenet", 100.0, 0.02), ("bcnn", 300.0, 0.01)] {
            for width in 1..=2u32 {
                let spec = RunSpec {
                    arch,
                    width,
                    ..RunSpec::default()
                };
                let w = f64::from(width);
                runs.push(run(
                    &spec,
                    60,
                    move |i| (0.5 + rate * f64::from(i)).min(0.95),
                    move |i| (0.5 + rate * 1.2 * f64::from(i)).min(0.999),
                    move |i| per_epoch_j * w * f64::from(i),
                ));
            }
        }
        runs[0].modelled = true;
        runs[0].manifest.sources.push(SourceInfo {
            id: "model:cpu".into(),
            domain: Domain::CpuPackage,
            method: Method::Modelled,
            description: String::new(),
            poll_hz: 10.0,
            settings: Default::default(),
        });
        Loaded {
            runs,
            excluded: vec![Excluded {
                dir: PathBuf::from("/archive/run=broken"),
                reason: crate::archive::ExclusionReason::new(
                    crate::archive::ExclusionKind::Sample(
                        crate::archive::ProblemKind::BackwardsClock,
                    ),
                    std::path::Path::new("/archive/run=broken/samples/0.parquet"),
                    "clock went backwards at samples/0.parquet row 17".into(),
                )
                .at_row(Some(17)),
            }],
            warnings: vec![],
        }
    }

    #[test]
    fn epochs_criterion_gives_hand_computed_eq2_and_eq3() {
        let loaded = archive();
        let opts = EfficiencyOptions {
            criteria: vec![CriterionSpec::fixed("epochs:50".parse().unwrap())],
            ..EfficiencyOptions::default()
        };
        let r = report(&loaded, &opts);
        let models = &r.tables[0];
        assert_eq!(models.id, "models");
        // lenet-1 at epoch 50: acc 0.95 (capped), 5000 J = 5 kJ -> 0.19 /kJ.
        assert_eq!(models.rows[0][0], Cell::text("lenet"));
        assert_eq!(models.rows[0][4], Cell::num(5.0, NumFmt::Sig(4)));
        let value = models.rows[0][5].value().unwrap();
        assert!((value - 0.19).abs() < 1e-12);
        // Eq. 3 of lenet = (0.95/5 + 0.95/10) / 2.
        let value = models.rows[0][6].value().unwrap();
        assert!((value - (0.19 + 0.095) / 2.0).abs() < 1e-12);
        let overall = r.tables.iter().find(|t| t.id == "overall").unwrap();
        assert_eq!(overall.rows[2][0], Cell::text("lenet/bcnn"));
        let value = overall.rows[2][1].value().unwrap();
        // bcnn: acc 1.0 capped at 0.95 by epoch 45; 15 and 30 kJ.
        let bcnn = (0.95 / 15.0 + 0.95 / 30.0) / 2.0;
        assert!(
            (value - (0.19 + 0.095) / 2.0 / bcnn).abs() < 1e-12,
            "{value}"
        );
    }

    #[test]
    fn notes_flag_modelled_excluded_and_mode() {
        let r = report(&archive(), &EfficiencyOptions::default());
        let notes = r.notes.join("\n");
        assert!(notes.contains("energy mode: counter (4 runs)"), "{notes}");
        assert!(
            notes.contains(
                "MODELLED: platform lab: 1 of 4 runs include modelled sources (model:cpu)"
            ),
            "{notes}"
        );
        assert!(
            notes.contains("EXCLUDED: /archive/run=broken: clock went backwards"),
            "{notes}"
        );
        assert!(
            notes.contains("criterion 'accuracy bound': accuracy:0.99@train (mnist)"),
            "{notes}"
        );
        let text = TerminalExporter.render_report(&r).unwrap();
        assert!(
            text.contains("Models under 'energy bound' (energy:100000ws)"),
            "{text}"
        );
    }

    #[test]
    fn baseline_adds_net_tables_with_net_numbers() {
        let opts = EfficiencyOptions {
            criteria: vec![CriterionSpec::fixed("epochs:10".parse().unwrap())],
            baseline: true,
            ..EfficiencyOptions::default()
        };
        let r = report(&archive(), &opts);
        let titles: Vec<&str> = r
            .tables
            .iter()
            .filter(|t| t.id == "models")
            .map(|t| t.title.as_str())
            .collect();
        assert_eq!(titles.len(), 2);
        assert!(titles[0].ends_with("— gross") && titles[1].ends_with("— net of idle baseline"));
        // Fixture: net energy is half the gross.
        let models: Vec<_> = r.tables.iter().filter(|t| t.id == "models").collect();
        assert_eq!(models[0].rows[0][4], Cell::num(1.0, NumFmt::Sig(4)));
        assert_eq!(models[1].rows[0][4], Cell::num(0.5, NumFmt::Sig(4)));
    }

    #[test]
    fn json_report_snapshot() {
        let opts = EfficiencyOptions {
            criteria: vec![
                CriterionSpec::fixed("epochs:10".parse().unwrap()),
                CriterionSpec::fixed("accuracy:0.99@test".parse().unwrap()),
            ],
            ..EfficiencyOptions::default()
        };
        let r = report(&archive(), &opts).only("criteria");
        insta::assert_snapshot!(JsonExporter.render_report(&r).unwrap());
    }
}
