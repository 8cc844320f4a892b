//! From analysis results to figure descriptions ([`crate::figures`]): the
//! curves per epoch (the paper's Figures 5 and 6, accuracy with stop
//! epochs), the overtraining comparison and a power trace; the summary
//! figures (7–11, platforms) are in [`super::plots_summary`]. Pure mapping:
//! every number drawn here was computed by the metrics modules; this file
//! only picks, scales and labels it.
//!
//! Efficiencies are drawn in the unit the tables print (accuracy per kJ, or
//! the paper's 1/W-sum ×10⁻⁶), and every figure is split by platform and
//! energy kind, so nothing from different hosts or units shares an axis.

use crate::archive::trace::SourceEnvelope;
use crate::cmd::overtraining::{ModelOvertraining, ModelStatus};
use crate::curves::Curve;
use crate::figures::{Figure, LinePanels, Marker, Panel, PowerTrace, Series, TraceSource};
use crate::metrics::summary::paper_order;
use crate::metrics::{EnergyKind, ModelKey, ModelOutcome, ModelResult};
use crate::model::RunData;
use std::collections::{BTreeMap, BTreeSet};

/// A figure with the file stem it is written under.
#[derive(Debug, Clone)]
pub struct Named {
    /// File stem, e.g. `efficiency-per-epoch`.
    pub stem: String,
    /// Which section of the report it belongs to.
    pub section: Section,
    pub figure: Figure,
}

/// Sections of the report page, in reading order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Section {
    Measurement,
    Overall,
    Criteria,
    Accuracy,
    Overtraining,
    Platforms,
}

fn model_label(key: &ModelKey) -> String {
    format!("{} ×{}", key.arch, key.width)
}

pub(crate) fn eff_axis(kind: EnergyKind) -> String {
    format!("efficiency ({})", kind.eff_unit().0)
}

/// Groups keys by (platform, kind, dataset) in paper order.
fn panels_of<'a>(keys: impl Iterator<Item = &'a ModelKey>) -> Vec<(String, EnergyKind, String)> {
    let mut v: Vec<(String, EnergyKind, String)> = keys
        .map(|k| (k.platform.clone(), k.kind, k.dataset.clone()))
        .collect();
    v.sort_by(|a, b| (&a.0, a.1, paper_order(&a.2)).cmp(&(&b.0, b.1, paper_order(&b.2))));
    v.dedup();
    v
}

fn sorted_models(curves: &BTreeMap<ModelKey, Curve>) -> Vec<(&ModelKey, &Curve)> {
    let mut v: Vec<_> = curves.iter().collect();
    v.sort_by_key(|(k, _)| (paper_order(&k.arch), k.width));
    v
}

/// Eq. 2 at every epoch, one line per model, one panel per dataset and
/// platform (the paper's Figures 5 and 6).
pub fn efficiency_per_epoch(curves: &BTreeMap<ModelKey, Curve>, log_y: bool) -> Vec<Named> {
    let kinds: BTreeSet<EnergyKind> = curves.keys().map(|k| k.kind).collect();
    let mut out = Vec::new();
    for &kind in &kinds {
        let scale = kind.eff_unit().1;
        let mut panels = Vec::new();
        for (platform, _, dataset) in panels_of(curves.keys().filter(|k| k.kind == kind)) {
            let series = sorted_models(curves)
                .into_iter()
                .filter(|(k, _)| k.platform == platform && k.dataset == dataset && k.kind == kind)
                .map(|(k, c)| Series {
                    label: model_label(k),
                    points: c
                        .test
                        .iter()
                        .zip(&c.energy)
                        .enumerate()
                        .filter_map(|(i, (acc, e))| {
                            let eff = crate::metrics::eq2((*acc)?, *e)?;
                            Some(((i + 1) as f64, eff * scale))
                        })
                        .collect(),
                    ..Series::default()
                })
                .collect();
            panels.push(Panel {
                title: format!("{dataset} — {platform}"),
                x_label: "epoch".into(),
                y_label: eff_axis(kind),
                log_y,
                series,
                ..Panel::default()
            });
        }
        out.push(Named {
            stem: format!("efficiency-per-epoch{}", kind_suffix(&kinds, kind)),
            section: Section::Overall,
            figure: Figure::Lines(LinePanels {
                title: "Efficiency per epoch (Eq. 2: test accuracy / energy up to the epoch)"
                    .into(),
                notes: vec![format!("energy: {}", kind.describe())],
                panels,
                ..LinePanels::default()
            }),
        });
    }
    out
}

fn kind_suffix(kinds: &BTreeSet<EnergyKind>, kind: EnergyKind) -> &'static str {
    match (kinds.len() > 1, kind) {
        (false, _) => "",
        (true, EnergyKind::Joules) => "-joules",
        (true, EnergyKind::SampleSum) => "-sample-sum",
    }
}

pub(crate) fn slug(s: &str) -> String {
    trainwatt_trace::layout::sanitize(s).to_lowercase()
}

/// The epoch a model's runs stopped at under a criterion, for marking.
fn stop_epoch(outcome: &ModelOutcome) -> Option<f64> {
    match outcome {
        ModelOutcome::Stopped { stop, .. } => Some(stop.mean.round()),
        _ => None,
    }
}

/// Train and test accuracy per epoch per model, with the stop epoch of each
/// criterion marked on the test line; one figure per platform and dataset.
pub fn accuracy_per_epoch(
    curves: &BTreeMap<ModelKey, Curve>,
    results: &[ModelResult],
) -> Vec<Named> {
    let mut out = Vec::new();
    let groups: BTreeSet<(String, String)> = curves
        .keys()
        .map(|k| (k.platform.clone(), k.dataset.clone()))
        .collect();
    let mut groups: Vec<_> = groups.into_iter().collect();
    groups.sort_by(|a, b| (&a.0, paper_order(&a.1)).cmp(&(&b.0, paper_order(&b.1))));
    for (platform, dataset) in groups {
        let mut panels = Vec::new();
        let mut seen = BTreeSet::new();
        for (k, c) in sorted_models(curves) {
            if k.platform != platform || k.dataset != dataset || !seen.insert((&k.arch, k.width)) {
                continue;
            }
            let line = |v: &[Option<f64>]| -> Vec<(f64, f64)> {
                v.iter()
                    .enumerate()
                    .filter_map(|(i, a)| Some(((i + 1) as f64, (*a)?)))
                    .collect()
            };
            let markers = results
                .iter()
                .filter(|r| r.key == *k)
                .filter_map(|r| {
                    let x = stop_epoch(&r.outcome)?;
                    let y = c
                        .test
                        .get((x as usize).checked_sub(1)?)
                        .copied()
                        .flatten()?;
                    Some(Marker {
                        x,
                        y,
                        label: format!("stop: {}", r.criterion),
                    })
                })
                .collect();
            panels.push(Panel {
                title: model_label(k),
                x_label: "epoch".into(),
                y_label: "accuracy (fraction)".into(),
                series: vec![
                    Series {
                        label: "train".into(),
                        points: line(&c.train),
                        dashed: true,
                        ..Series::default()
                    },
                    Series {
                        label: "test".into(),
                        points: line(&c.test),
                        markers,
                        ..Series::default()
                    },
                ],
                ..Panel::default()
            });
        }
        out.push(Named {
            stem: format!("accuracy-{}-{}", slug(&platform), slug(&dataset)),
            section: Section::Accuracy,
            figure: Figure::Lines(LinePanels {
                title: format!("Train and test accuracy per epoch — {dataset}, {platform}"),
                notes: vec!["markers: the epoch each criterion stops at (mean over runs)".into()],
                panels,
                columns: Some(5),
                vline_label: None,
            }),
        });
    }
    out
}

/// Test accuracy and the train−test gap at epochs a and b, one line per
/// model; one figure per platform and dataset.
pub fn overtraining(models: &[ModelOvertraining], a: u32, b: u32) -> Vec<Named> {
    let mut groups: Vec<(String, String)> = models
        .iter()
        .map(|m| (m.key.platform.clone(), m.key.dataset.clone()))
        .collect();
    groups.sort_by(|x, y| (&x.0, paper_order(&x.1)).cmp(&(&y.0, paper_order(&y.1))));
    groups.dedup();
    let mut out = Vec::new();
    for (platform, dataset) in groups {
        let here: Vec<&ModelOvertraining> = models
            .iter()
            .filter(|m| m.key.platform == platform && m.key.dataset == dataset)
            .collect();
        let too_short = here
            .iter()
            .filter(|m| !matches!(m.status, ModelStatus::Compared(_)))
            .count();
        let line = |f: &dyn Fn(&crate::metrics::overtraining::AccAt) -> f64| -> Vec<Series> {
            here.iter()
                .filter_map(|m| match &m.status {
                    ModelStatus::Compared(c) => Some(Series {
                        label: model_label(&m.key),
                        points: vec![(f64::from(a), f(&c.at_a)), (f64::from(b), f(&c.at_b))],
                        dots: true,
                        ..Series::default()
                    }),
                    _ => None,
                })
                .collect()
        };
        let mut notes = vec![format!(
            "each line joins epoch {a} and epoch {b} of one model (mean over its runs)"
        )];
        if too_short > 0 {
            notes.push(format!(
                "{too_short} model(s) recorded fewer than {b} epochs and are not drawn"
            ));
        }
        out.push(Named {
            stem: format!("overtraining-{}-{}", slug(&platform), slug(&dataset)),
            section: Section::Overtraining,
            figure: Figure::Lines(LinePanels {
                title: format!("Overtraining: epoch {a} against {b} — {dataset}, {platform}"),
                notes,
                panels: vec![
                    Panel {
                        title: "test accuracy".into(),
                        x_label: "epoch".into(),
                        y_label: "test accuracy (fraction)".into(),
                        series: line(&|x| x.test),
                        ..Panel::default()
                    },
                    Panel {
                        title: "train − test gap".into(),
                        x_label: "epoch".into(),
                        y_label: "train − test accuracy (fraction)".into(),
                        series: line(&|x| x.difference()),
                        ..Panel::default()
                    },
                ],
                columns: Some(2),
                vline_label: None,
            }),
        });
    }
    out
}

/// Watts per source over time for one run, epoch ends drawn, modelled
/// sources dashed.
pub fn power_trace(run: &RunData, envelope: &[SourceEnvelope]) -> Named {
    let modelled: BTreeSet<&str> = run
        .manifest
        .sources
        .iter()
        .filter(|s| s.method.is_modelled())
        .map(|s| s.id.as_str())
        .collect();
    let rows: u64 = envelope.iter().map(|e| e.rows).sum();
    Named {
        stem: "power-trace".into(),
        section: Section::Measurement,
        figure: Figure::Trace(PowerTrace {
            title: format!(
                "Power of run {} ({}/{} ×{}, {})",
                run.manifest.run_id,
                run.dataset(),
                run.arch(),
                run.width(),
                run.platform()
            ),
            notes: vec![format!(
                "{rows} samples, drawn as the min and max per time column; vertical lines: epoch ends"
            )],
            sources: envelope
                .iter()
                .map(|e| TraceSource {
                    label: e.source.clone(),
                    modelled: modelled.contains(e.source.as_str()),
                    points: e.points.clone(),
                })
                .collect(),
            epoch_boundaries_s: run.epochs.iter().map(|e| e.end_ns as f64 / 1e9).collect(),
        }),
    }
}
