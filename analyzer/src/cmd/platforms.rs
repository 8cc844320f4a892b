//! `analyzer platforms`: the same architectures on different hosts,
//! compared and never pooled (the paper's Table A2).
//!
//! Each platform is summarised on its own (Eq. 3 and Eq. 4 per
//! architecture, ratios within it); platforms meet only in explicit
//! ratios, each platform against a reference. The report opens with what
//! each platform is (host facts, which sources were measured and which
//! modelled, the protocol its runs followed) and warns where a comparison
//! is unfair: different protocols (epochs recorded, folds, dataset sizes)
//! or numbers that rest on modelled power.

use super::efficiency::archive_notes;
use super::paper_tables::{eff_cell, eff_column, ratio_tables, TableContext, RATIO_FMT};
use crate::archive::Loaded;
use crate::export::{Cell, Column, Report, Table};
use crate::metrics::efficiency::{self, BootstrapOptions};
use crate::metrics::summary::{paper_order, summarise, Eq4Row, Summary};
use crate::metrics::EnergyKind;
use crate::model::RunData;
use crate::replay::{energy_kind, replay_models, CriterionSpec, EnergyBasis};
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Clone)]
pub struct PlatformsOptions {
    pub criteria: Vec<CriterionSpec>,
    /// The platform every other is divided by; the first in name order when
    /// not given.
    pub reference: Option<String>,
    pub boot: BootstrapOptions,
}

/// What one platform's runs were and how they were measured.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PlatformFacts {
    pub runs: usize,
    pub hosts: BTreeSet<String>,
    pub cpus: BTreeSet<String>,
    pub gpus: BTreeSet<String>,
    pub measured: BTreeSet<String>,
    pub modelled: BTreeSet<String>,
    /// Per dataset: protocol label, epochs recorded and folds, as text.
    pub protocols: BTreeMap<String, BTreeSet<String>>,
}

fn protocol_text(r: &RunData) -> String {
    let w = &r.manifest.workload;
    let mut s = w
        .protocol
        .clone()
        .unwrap_or_else(|| "unknown protocol".into());
    if let Some(k) = w.folds {
        s.push_str(&format!(", {k} folds"));
    }
    let last = r.epochs.last().map_or(0, |e| e.epoch);
    s.push_str(&format!(", {last} epochs"));
    s
}

/// Facts per platform, from the manifests.
pub fn facts(runs: &[RunData]) -> BTreeMap<String, PlatformFacts> {
    let mut out: BTreeMap<String, PlatformFacts> = BTreeMap::new();
    for r in runs {
        let f = out.entry(r.platform().to_string()).or_default();
        let h = &r.manifest.host;
        f.runs += 1;
        f.hosts.insert(h.hostname.clone());
        if !h.cpu_model.is_empty() {
            f.cpus
                .insert(format!("{} ({} cores)", h.cpu_model, h.cpu_cores));
        }
        f.gpus.extend(h.gpus.iter().map(|g| g.name.clone()));
        for s in &r.manifest.sources {
            if s.method.is_modelled() {
                f.modelled.insert(s.id.clone());
            } else {
                f.measured.insert(s.id.clone());
            }
        }
        f.protocols
            .entry(r.dataset().to_string())
            .or_default()
            .insert(protocol_text(r));
    }
    out
}

/// Warnings about comparisons that are not like for like. (Platforms whose
/// numbers rest on modelled power are named by the report's archive notes,
/// which every analysis shares.)
pub fn fairness_warnings(facts: &BTreeMap<String, PlatformFacts>) -> Vec<String> {
    let mut out = Vec::new();
    let datasets: BTreeSet<&String> = facts.values().flat_map(|f| f.protocols.keys()).collect();
    for d in datasets {
        let per: Vec<(&String, &BTreeSet<String>)> = facts
            .iter()
            .filter_map(|(p, f)| f.protocols.get(d).map(|s| (p, s)))
            .collect();
        let distinct: BTreeSet<&BTreeSet<String>> = per.iter().map(|(_, s)| *s).collect();
        if per.len() > 1 && distinct.len() > 1 {
            let parts: Vec<String> = per
                .iter()
                .map(|(p, s)| format!("{p}: {}", s.iter().cloned().collect::<Vec<_>>().join("; ")))
                .collect();
            out.push(format!(
                "DIFFERENT PROTOCOLS on {d} — {}; their efficiencies are not like for like",
                parts.join(" | ")
            ));
        }
    }
    out
}

fn join(set: &BTreeSet<String>) -> String {
    if set.is_empty() {
        "–".into()
    } else {
        set.iter().cloned().collect::<Vec<_>>().join(", ")
    }
}

fn facts_table(facts: &BTreeMap<String, PlatformFacts>) -> Table {
    let mut t = Table::new(
        "platform-facts",
        "Platforms: hosts and how power was measured",
        vec![
            Column::new("platform", "platform"),
            Column::new("runs", "runs"),
            Column::new("hosts", "hosts"),
            Column::new("cpu", "CPU"),
            Column::new("gpu", "GPU"),
            Column::new("measured", "measured sources"),
            Column::new("modelled", "modelled sources"),
            Column::new("protocols", "protocols"),
        ],
    );
    for (p, f) in facts {
        let protocols: Vec<String> = f
            .protocols
            .iter()
            .map(|(d, s)| format!("{d}: {}", join(s)))
            .collect();
        t.push(vec![
            Cell::text(p),
            Cell::Int(f.runs as i64),
            Cell::text(join(&f.hosts)),
            Cell::text(join(&f.cpus)),
            Cell::text(join(&f.gpus)),
            Cell::text(join(&f.measured)),
            Cell::text(join(&f.modelled)),
            Cell::text(protocols.join("; ")),
        ]);
    }
    t
}

/// Eq. 4 per (dataset, architecture), one column per platform.
fn eq4_table(kind: EnergyKind, rows: &[&Eq4Row], platforms: &[String]) -> Table {
    let mut cols = vec![
        Column::new("dataset", "dataset"),
        Column::new("arch", "arch"),
    ];
    cols.extend(platforms.iter().map(|p| eff_column(p, p, kind)));
    let mut t = Table::new(
        "platform-eq4",
        "Eq. 4 per architecture on each platform",
        cols,
    );
    let mut keys: Vec<(String, String)> = rows
        .iter()
        .map(|r| (r.key.dataset.clone(), r.key.arch.clone()))
        .collect();
    keys.sort_by(|a, b| {
        (paper_order(&a.0), paper_order(&a.1)).cmp(&(paper_order(&b.0), paper_order(&b.1)))
    });
    keys.dedup();
    for (d, a) in keys {
        let mut row = vec![Cell::text(&d), Cell::text(&a)];
        for p in platforms {
            let v = rows
                .iter()
                .find(|r| r.key.platform == *p && r.key.dataset == d && r.key.arch == a)
                .and_then(|r| r.eq4.mean);
            row.push(eff_cell(kind, v));
        }
        t.push(row);
    }
    t
}

/// One row of the platform-to-reference comparison.
#[derive(Debug, Clone, PartialEq)]
pub struct ReferenceRatio {
    pub dataset: String,
    pub arch: String,
    pub platform: String,
    pub eq4: Option<f64>,
    pub reference_eq4: Option<f64>,
    pub ratio: Option<f64>,
}

/// Eq. 4 of each platform over Eq. 4 of the reference, per (dataset, arch).
pub fn reference_ratios(rows: &[&Eq4Row], reference: &str) -> Vec<ReferenceRatio> {
    let find = |p: &str, d: &str, a: &str| {
        rows.iter()
            .find(|r| r.key.platform == p && r.key.dataset == d && r.key.arch == a)
            .and_then(|r| r.eq4.mean)
    };
    let mut out = Vec::new();
    let mut sorted: Vec<&&Eq4Row> = rows
        .iter()
        .filter(|r| r.key.platform != reference)
        .collect();
    sorted.sort_by(|a, b| {
        (
            paper_order(&a.key.dataset),
            paper_order(&a.key.arch),
            &a.key.platform,
        )
            .cmp(&(
                paper_order(&b.key.dataset),
                paper_order(&b.key.arch),
                &b.key.platform,
            ))
    });
    for r in sorted {
        let reference_eq4 = find(reference, &r.key.dataset, &r.key.arch);
        out.push(ReferenceRatio {
            dataset: r.key.dataset.clone(),
            arch: r.key.arch.clone(),
            platform: r.key.platform.clone(),
            eq4: r.eq4.mean,
            reference_eq4,
            ratio: efficiency::ratio(r.eq4.mean, reference_eq4),
        });
    }
    out
}

fn reference_table(kind: EnergyKind, ratios: &[ReferenceRatio], reference: &str) -> Table {
    let mut t = Table::new(
        "platform-reference",
        format!("Each platform against {reference} (Table A2)"),
        vec![
            Column::new("dataset", "dataset"),
            Column::new("arch", "arch"),
            Column::new("platform", "platform"),
            eff_column("eq4", "Eq. 4", kind),
            eff_column("reference_eq4", &format!("Eq. 4 on {reference}"), kind),
            Column::new("ratio", &format!("platform/{reference}")),
        ],
    );
    for r in ratios {
        t.push(vec![
            Cell::text(&r.dataset),
            Cell::text(&r.arch),
            Cell::text(&r.platform),
            eff_cell(kind, r.eq4),
            eff_cell(kind, r.reference_eq4),
            Cell::opt(r.ratio, RATIO_FMT),
        ]);
    }
    if ratios.iter().any(|r| r.reference_eq4.is_none()) {
        t.notes.push(format!(
            "an empty ratio: {reference} has no Eq. 4 for that dataset and architecture"
        ));
    }
    t
}

/// Everything `platforms` computes, for the report and the figures.
#[derive(Debug, Clone)]
pub struct PlatformAnalysis {
    pub facts: BTreeMap<String, PlatformFacts>,
    pub summary: Summary,
    pub reference: String,
    pub warnings: Vec<String>,
}

/// Replays and summarises every platform on its own.
pub fn analyse(loaded: &Loaded, opts: &PlatformsOptions) -> Result<PlatformAnalysis, String> {
    let facts = facts(&loaded.runs);
    let reference = match &opts.reference {
        Some(r) if facts.contains_key(r) => r.clone(),
        Some(r) => {
            return Err(format!(
                "--reference {r}: no such platform in the archive (platforms: {})",
                facts.keys().cloned().collect::<Vec<_>>().join(", ")
            ))
        }
        None => facts.keys().next().cloned().unwrap_or_default(),
    };
    let labels: Vec<String> = opts.criteria.iter().map(|c| c.label.clone()).collect();
    let replayed = replay_models(&loaded.runs, &opts.criteria, EnergyBasis::Gross);
    let summary = summarise(&replayed.results, &labels, opts.boot);
    let mut warnings = fairness_warnings(&facts);
    warnings.extend(replayed.warnings.iter().map(|w| format!("warning: {w}")));
    Ok(PlatformAnalysis {
        facts,
        summary,
        reference,
        warnings,
    })
}

/// The platform report.
pub fn report(loaded: &Loaded, opts: &PlatformsOptions) -> Result<Report, String> {
    let a = analyse(loaded, opts)?;
    let mut notes = archive_notes(loaded);
    notes.push(format!("Eq. 4 criteria: {}", a.summary.criteria.join(", ")));
    if a.facts.len() < 2 {
        notes.push(format!(
            "only one platform ({}) in these archives: nothing to compare across hosts",
            a.reference
        ));
    } else {
        notes.push(format!(
            "reference platform: {}{}",
            a.reference,
            if opts.reference.is_none() {
                " (first by name; choose with --reference)"
            } else {
                ""
            }
        ));
    }
    notes.extend(a.warnings.iter().cloned());
    let kinds: BTreeSet<EnergyKind> = loaded
        .runs
        .iter()
        .map(|r| energy_kind(r.energy_mode))
        .collect();
    let mut tables = vec![facts_table(&a.facts)];
    for kind in kinds {
        let rows: Vec<&Eq4Row> = a
            .summary
            .eq4
            .iter()
            .filter(|r| r.key.kind == kind)
            .collect();
        let platforms: Vec<String> = rows
            .iter()
            .map(|r| r.key.platform.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        tables.push(eq4_table(kind, &rows, &platforms));
        if platforms.len() > 1 {
            let ratios = reference_ratios(&rows, &a.reference);
            tables.push(reference_table(kind, &ratios, &a.reference));
        }
    }
    tables.extend(ratio_tables(&a.summary, &TableContext::default()));
    for t in &mut tables {
        if t.id == "ratios" {
            t.title = format!("{} (within each platform)", t.title);
        }
    }
    Ok(Report {
        notes,
        tables,
        excluded: loaded.excluded.clone(),
    })
}

#[cfg(test)]
#[path = "platforms_tests.rs"]
mod tests;
