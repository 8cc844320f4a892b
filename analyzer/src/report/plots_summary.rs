//! Figures of the summary numbers: Eq. 3 by criterion (the paper's
//! Figure 7), per-width box plots and lines (Figures 8–11), and the
//! platform comparison. Like [`super::plots`], pure mapping from computed
//! results to figure descriptions.

use super::plots::{eff_axis, slug, Named, Section};
use crate::cmd::platforms::PlatformAnalysis;
use crate::figures::{
    BarSeries, BoxPlots, BoxSeries, Figure, GroupedBars, LinePanels, Panel, Series,
};
use crate::metrics::summary::{paper_order, Summary};
use crate::metrics::{EnergyKind, ModelResult};
use std::collections::BTreeSet;

/// Eq. 3 by criterion, architecture against architecture (Figure 7), with
/// the 95 % t-interval over widths; one figure per platform, kind, dataset.
pub fn eq3_by_criterion(summary: &Summary) -> Vec<Named> {
    let mut out = Vec::new();
    let keys: Vec<(String, EnergyKind, String)> = {
        let mut v: Vec<_> = summary
            .eq3
            .iter()
            .map(|r| (r.key.platform.clone(), r.key.kind, r.key.dataset.clone()))
            .collect();
        v.sort_by(|a, b| (&a.0, a.1, paper_order(&a.2)).cmp(&(&b.0, b.1, paper_order(&b.2))));
        v.dedup();
        v
    };
    for (platform, kind, dataset) in keys {
        let scale = kind.eff_unit().1;
        let mut archs: Vec<String> = summary
            .eq3
            .iter()
            .filter(|r| {
                r.key.platform == platform && r.key.kind == kind && r.key.dataset == dataset
            })
            .map(|r| r.key.arch.clone())
            .collect();
        archs.sort_by_key(|a| paper_order(a));
        archs.dedup();
        let bars = archs
            .iter()
            .map(|arch| {
                let row = |c: &String| {
                    summary.eq3.iter().find(|r| {
                        r.key.platform == platform
                            && r.key.kind == kind
                            && r.key.dataset == dataset
                            && r.key.arch == *arch
                            && r.criterion == *c
                    })
                };
                BarSeries {
                    label: arch.clone(),
                    values: summary
                        .criteria
                        .iter()
                        .map(|c| row(c).and_then(|r| r.eq3.mean).map(|v| v * scale))
                        .collect(),
                    intervals: summary
                        .criteria
                        .iter()
                        .map(|c| {
                            row(c)
                                .and_then(|r| r.eq3.t95)
                                .map(|(l, h)| (l * scale, h * scale))
                        })
                        .collect(),
                }
            })
            .collect();
        out.push(Named {
            stem: format!(
                "eq3-by-criterion-{}-{}{}",
                slug(&platform),
                slug(&dataset),
                kind_tag(kind)
            ),
            section: Section::Overall,
            figure: Figure::Bars(GroupedBars {
                title: format!("Eq. 3 by criterion — {dataset}, {platform}"),
                notes: vec!["bars: mean over widths; whiskers: 95% t-interval over widths".into()],
                x_label: "stopping criterion".into(),
                y_label: eff_axis(kind),
                log_y: false,
                groups: summary.criteria.clone(),
                bars,
            }),
        });
    }
    out
}

fn kind_tag(kind: EnergyKind) -> &'static str {
    match kind {
        EnergyKind::Joules => "",
        EnergyKind::SampleSum => "-sample-sum",
    }
}

/// Per-width Eq. 2 at each criterion's stop, per (platform, kind, dataset):
/// box plots by criterion and architecture (Figures 8, 9), and lines of
/// efficiency by width, one panel per criterion (Figures 10, 11).
pub fn width_figures(results: &[ModelResult], criteria: &[String]) -> Vec<Named> {
    let mut out = Vec::new();
    let mut keys: Vec<(String, EnergyKind, String)> = results
        .iter()
        .map(|r| (r.key.platform.clone(), r.key.kind, r.key.dataset.clone()))
        .collect();
    keys.sort_by(|a, b| (&a.0, a.1, paper_order(&a.2)).cmp(&(&b.0, b.1, paper_order(&b.2))));
    keys.dedup();
    for (platform, kind, dataset) in keys {
        let scale = kind.eff_unit().1;
        let here: Vec<&ModelResult> = results
            .iter()
            .filter(|r| {
                r.key.platform == platform && r.key.kind == kind && r.key.dataset == dataset
            })
            .collect();
        let mut archs: Vec<String> = here.iter().map(|r| r.key.arch.clone()).collect();
        archs.sort_by_key(|a| paper_order(a));
        archs.dedup();
        let effs = |arch: &str, c: &str| -> Vec<(u32, f64)> {
            let mut v: Vec<(u32, f64)> = here
                .iter()
                .filter(|r| r.key.arch == arch && r.criterion == c)
                .filter_map(|r| Some((r.key.width, r.outcome.eff()? * scale)))
                .collect();
            v.sort_by_key(|p| p.0);
            v
        };
        let tag = format!("{}-{}{}", slug(&platform), slug(&dataset), kind_tag(kind));
        out.push(Named {
            stem: format!("width-boxes-{tag}"),
            section: Section::Criteria,
            figure: Figure::Boxes(BoxPlots {
                title: format!("Eq. 2 of each width at the stop — {dataset}, {platform}"),
                notes: vec!["one sample per width; censored widths are left out".into()],
                x_label: "stopping criterion".into(),
                y_label: eff_axis(kind),
                log_y: false,
                groups: criteria.to_vec(),
                series: archs
                    .iter()
                    .map(|a| BoxSeries {
                        label: a.clone(),
                        samples: criteria
                            .iter()
                            .map(|c| effs(a, c).into_iter().map(|p| p.1).collect())
                            .collect(),
                    })
                    .collect(),
            }),
        });
        out.push(Named {
            stem: format!("efficiency-by-width-{tag}"),
            section: Section::Criteria,
            figure: Figure::Lines(LinePanels {
                title: format!("Eq. 2 by width, per criterion — {dataset}, {platform}"),
                notes: vec!["censored widths are left out".into()],
                panels: criteria
                    .iter()
                    .map(|c| Panel {
                        title: c.clone(),
                        x_label: "width multiplier k".into(),
                        y_label: eff_axis(kind),
                        series: archs
                            .iter()
                            .map(|a| Series {
                                label: a.clone(),
                                points: effs(a, c)
                                    .into_iter()
                                    .map(|(w, e)| (f64::from(w), e))
                                    .collect(),
                                dots: true,
                                ..Series::default()
                            })
                            .collect(),
                        ..Panel::default()
                    })
                    .collect(),
                columns: Some(criteria.len().clamp(1, 4)),
                vline_label: None,
            }),
        });
    }
    out
}

/// Eq. 4 per (dataset, arch) on each platform, whiskers spanning Eq. 3 over
/// the criteria.
pub fn platform_bars(a: &PlatformAnalysis) -> Vec<Named> {
    let kinds: BTreeSet<EnergyKind> = a.summary.eq4.iter().map(|r| r.key.kind).collect();
    let mut out = Vec::new();
    for kind in kinds {
        let scale = kind.eff_unit().1;
        let rows: Vec<_> = a
            .summary
            .eq4
            .iter()
            .filter(|r| r.key.kind == kind)
            .collect();
        let platforms: BTreeSet<&str> = rows.iter().map(|r| r.key.platform.as_str()).collect();
        let mut groups: Vec<(String, String)> = rows
            .iter()
            .map(|r| (r.key.dataset.clone(), r.key.arch.clone()))
            .collect();
        groups.sort_by(|x, y| {
            (paper_order(&x.0), paper_order(&x.1)).cmp(&(paper_order(&y.0), paper_order(&y.1)))
        });
        groups.dedup();
        let find = |p: &str, d: &str, ar: &str| {
            rows.iter()
                .find(|r| r.key.platform == p && r.key.dataset == d && r.key.arch == ar)
        };
        let bars = platforms
            .iter()
            .map(|p| BarSeries {
                label: (*p).to_string(),
                values: groups
                    .iter()
                    .map(|(d, ar)| find(p, d, ar).and_then(|r| r.eq4.mean).map(|v| v * scale))
                    .collect(),
                intervals: groups
                    .iter()
                    .map(|(d, ar)| {
                        let r = find(p, d, ar)?;
                        let vals: Vec<f64> = r.eq3.iter().flatten().copied().collect();
                        let lo = vals.iter().copied().reduce(f64::min)?;
                        let hi = vals.iter().copied().reduce(f64::max)?;
                        Some((lo * scale, hi * scale))
                    })
                    .collect(),
            })
            .collect();
        let mut notes = vec![
            "bars: Eq. 4 (mean over criteria); whiskers: smallest and largest Eq. 3 among the criteria"
                .to_string(),
        ];
        if platforms.len() < 2 {
            notes.push("only one platform in these archives".into());
        }
        out.push(Named {
            stem: format!("platforms{}", kind_tag(kind)),
            section: Section::Platforms,
            figure: Figure::Bars(GroupedBars {
                title: "Eq. 4 per architecture and platform".into(),
                notes,
                x_label: "dataset / architecture".into(),
                y_label: eff_axis(kind),
                log_y: false,
                groups: groups.iter().map(|(d, ar)| format!("{d} / {ar}")).collect(),
                bars,
            }),
        });
    }
    out
}
