//! `analyzer overtraining`: the paper's section 5.4 on an archive (SPEC §5).
//!
//! Three tables: per model, train and test accuracy and their difference at
//! epochs a and b with A, B, the verdict and the onset epoch (the paper's
//! Table 13 plus one column); Eq. 3 at epoch b alone beside the
//! multi-criterion Eq. 4 (Table 14); and the ratios under both, each with a
//! plain sentence where a conclusion flips.
//!
//! A model's accuracy at an epoch is the mean over its runs (folds, seeds).
//! A model whose runs stop before epoch b is listed with the epoch it
//! reached, never compared at an epoch it did not record.

use super::efficiency::archive_notes;
use super::paper_tables::{by_kind, eff_cell, eff_column, kind_note, ACC_FMT, RATIO_FMT};
use crate::archive::Loaded;
use crate::curves::{curves, Curve};
use crate::export::{Cell, Column, NumFmt, Report, Table};
use crate::metrics::efficiency::BootstrapOptions;
use crate::metrics::overtraining::{self, AccAt, Comparison, Onset, Thresholds};
use crate::metrics::summary::{paper_order, summarise, RatioKind, RatioRow, Summary};
use crate::metrics::{EnergyKind, ModelKey};
use crate::model::RunData;
use crate::replay::{replay_models, CriterionSpec, EnergyBasis};
use std::collections::{BTreeMap, BTreeSet};
use trainwatt_trace::Criterion;

#[derive(Debug, Clone)]
pub struct OvertrainingOptions {
    /// The earlier epoch a.
    pub at_a: u32,
    /// The later epoch b.
    pub at_b: u32,
    pub thresholds: Thresholds,
    /// Look-ahead of the onset column, in epochs.
    pub window: u32,
    /// The criteria of the multi-criterion Eq. 4 it is compared with.
    pub criteria: Vec<CriterionSpec>,
    pub boot: BootstrapOptions,
}

impl Default for OvertrainingOptions {
    fn default() -> Self {
        Self {
            at_a: 50,
            at_b: 100,
            thresholds: Thresholds::default(),
            window: 10,
            criteria: CriterionSpec::paper_set(),
            boot: BootstrapOptions::default(),
        }
    }
}

/// What the analysis found for one model.
#[derive(Debug, Clone, PartialEq)]
pub enum ModelStatus {
    Compared(Comparison),
    /// Some run ends before epoch b: the smallest last epoch.
    TooShort {
        last_epoch: u32,
    },
    /// Train or test accuracy is missing at a or b.
    Missing {
        reason: String,
    },
}

/// One model of the overtraining table.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelOvertraining {
    pub key: ModelKey,
    pub runs: usize,
    pub status: ModelStatus,
    pub onset: Onset,
}

/// Mean train/test accuracy at one epoch (1-based); `Err` names what is
/// missing.
fn acc_at(curve: &Curve, epoch: u32) -> Result<AccAt, String> {
    let i = (epoch as usize).saturating_sub(1);
    let get = |v: &[Option<f64>], what: &str| {
        v.get(i)
            .copied()
            .flatten()
            .ok_or_else(|| format!("no {what} accuracy at epoch {epoch} in every run"))
    };
    Ok(AccAt {
        train: get(&curve.train, "train")?,
        test: get(&curve.test, "test")?,
    })
}

/// The per-model analysis, in paper order.
pub fn analyse(runs: &[RunData], opts: &OvertrainingOptions) -> Vec<ModelOvertraining> {
    let mut out: Vec<ModelOvertraining> = curves(runs)
        .into_iter()
        .map(|(key, curve)| {
            let last_epoch = curve.len() as u32;
            let status = if last_epoch < opts.at_b {
                ModelStatus::TooShort { last_epoch }
            } else {
                match (acc_at(&curve, opts.at_a), acc_at(&curve, opts.at_b)) {
                    (Ok(a), Ok(b)) => {
                        ModelStatus::Compared(overtraining::compare(a, b, opts.thresholds))
                    }
                    (Err(reason), _) | (_, Err(reason)) => ModelStatus::Missing { reason },
                }
            };
            let onset =
                overtraining::onset(&curve.test_prefix(), opts.thresholds.min_gain, opts.window);
            ModelOvertraining {
                runs: curve.runs,
                key,
                status,
                onset,
            }
        })
        .collect();
    out.sort_by(|a, b| {
        (
            &a.key.platform,
            paper_order(&a.key.dataset),
            paper_order(&a.key.arch),
            a.key.width,
        )
            .cmp(&(
                &b.key.platform,
                paper_order(&b.key.dataset),
                paper_order(&b.key.arch),
                b.key.width,
            ))
    });
    out
}

/// The paper's Table 13, one table per platform.
pub fn verdict_tables(models: &[ModelOvertraining], opts: &OvertrainingOptions) -> Vec<Table> {
    let (a, b) = (opts.at_a, opts.at_b);
    let platforms: BTreeSet<&str> = models.iter().map(|m| m.key.platform.as_str()).collect();
    let multi_run = models.iter().any(|m| m.runs > 1);
    let mut out = Vec::new();
    for platform in platforms {
        let mut cols = vec![
            Column::new("dataset", "dataset"),
            Column::new("arch", "arch"),
            Column::new("width", "width"),
        ];
        if multi_run {
            cols.push(Column::new("runs", "runs"));
        }
        cols.extend([
            Column::new("train_a", &format!("train @{a}")),
            Column::new("test_a", &format!("test @{a}")),
            Column::new("diff_a", &format!("difference @{a}")),
            Column::new("train_b", &format!("train @{b}")),
            Column::new("test_b", &format!("test @{b}")),
            Column::new("diff_b", &format!("difference @{b}")),
            Column::new("gain_a", "A"),
            Column::new("divergence_b", "B"),
            Column::new("verdict", "verdict"),
            Column::new("onset", "onset epoch"),
        ]);
        let mut t = Table::new(
            "overtraining",
            format!("Overtraining: epoch {a} against epoch {b} — platform {platform}"),
            cols,
        );
        for m in models.iter().filter(|m| m.key.platform == platform) {
            let mut row = vec![
                Cell::text(&m.key.dataset),
                Cell::text(&m.key.arch),
                Cell::Int(i64::from(m.key.width)),
            ];
            if multi_run {
                row.push(Cell::Int(m.runs as i64));
            }
            match &m.status {
                ModelStatus::Compared(c) => row.extend([
                    Cell::num(c.at_a.train, ACC_FMT),
                    Cell::num(c.at_a.test, ACC_FMT),
                    Cell::num(c.at_a.difference(), ACC_FMT),
                    Cell::num(c.at_b.train, ACC_FMT),
                    Cell::num(c.at_b.test, ACC_FMT),
                    Cell::num(c.at_b.difference(), ACC_FMT),
                    Cell::num(c.gain, NumFmt::Fixed(4)),
                    Cell::num(c.divergence, NumFmt::Fixed(4)),
                    Cell::text(c.verdict.describe()),
                ]),
                ModelStatus::TooShort { last_epoch } => {
                    row.extend(vec![Cell::Empty; 8]);
                    row.push(Cell::text(format!(
                        "not compared: recorded {last_epoch} epochs, fewer than {b}"
                    )));
                }
                ModelStatus::Missing { reason } => {
                    row.extend(vec![Cell::Empty; 8]);
                    row.push(Cell::text(format!("not compared: {reason}")));
                }
            }
            row.push(match m.onset {
                Onset::At(e) => Cell::Int(i64::from(e)),
                Onset::NotReached(n) => Cell::text(format!("not by epoch {n}")),
            });
            t.push(row);
        }
        t.notes.push(format!(
            "difference = train − test accuracy; A = test(@{b}) − test(@{a}); \
             B = difference(@{b}) − difference(@{a}); overtrained when A < {} or B ≥ {} × A",
            opts.thresholds.min_gain, opts.thresholds.ratio
        ));
        t.notes.push(format!(
            "onset epoch: the first epoch after which test accuracy never again improves by more \
             than {} within the next {} epochs (a full window must follow it)",
            opts.thresholds.min_gain, opts.window
        ));
        out.push(t);
    }
    out
}

/// The paper's Table 14: Eq. 3 at epoch b beside the multi-criterion Eq. 4.
fn comparison_tables(at_b: &Summary, multi: &Summary, b: u32) -> Vec<Table> {
    let mut out = Vec::new();
    let groups = by_kind(&multi.eq4, |r| r.key.kind);
    let kinds: BTreeSet<EnergyKind> = groups.iter().map(|g| g.0).collect();
    for (kind, rows) in groups {
        let mut t = Table::new(
            "eq3-at-b",
            format!(
                "Eq. 3 at epoch {b} alone beside Eq. 4 over {} criteria{}",
                multi.criteria.len(),
                kind_note(&kinds, kind)
            ),
            vec![
                Column::new("platform", "platform"),
                Column::new("dataset", "dataset"),
                Column::new("arch", "arch"),
                eff_column("eq3_at_b", &format!("Eq. 3 @{b}"), kind),
                Column::new("widths_at_b", &format!("widths @{b}")),
                eff_column("eq4", "Eq. 4", kind),
                Column::new("criteria_used", "criteria used"),
            ],
        );
        for r in rows {
            let e3 = at_b.eq3.iter().find(|e| e.key == r.key).map(|e| &e.eq3);
            t.push(vec![
                Cell::text(&r.key.platform),
                Cell::text(&r.key.dataset),
                Cell::text(&r.key.arch),
                eff_cell(kind, e3.and_then(|e| e.mean)),
                Cell::text(e3.map_or("0".to_string(), |e| {
                    if e.censored > 0 {
                        format!("{} ({} not reached)", e.n, e.censored)
                    } else {
                        e.n.to_string()
                    }
                })),
                eff_cell(kind, r.eq4.mean),
                Cell::text(format!("{} of {}", r.eq4.used, r.eq4.total)),
            ]);
        }
        out.push(t);
    }
    out
}

/// Identity of a ratio without its value.
type RatioId = (String, EnergyKind, bool, String, String, String);

fn ratio_id(r: &RatioRow) -> RatioId {
    (
        r.platform.clone(),
        r.kind,
        r.what == RatioKind::Arch,
        r.within.clone(),
        r.numerator.clone(),
        r.denominator.clone(),
    )
}

/// A conclusion that differs between Eq. 4 and epoch b alone.
#[derive(Debug, Clone, PartialEq)]
pub struct Flip {
    pub platform: String,
    pub sentence: String,
}

fn fmt_ratio(v: f64) -> String {
    format!("{v:.3}")
}

/// The sentences for every ratio whose direction flips: which side is more
/// efficient (a ratio crossing 1), and how a ratio moves from one dataset
/// (or architecture) to the next.
pub fn flips(multi: &[RatioRow], at_b: &[RatioRow], b: u32) -> Vec<Flip> {
    let later: BTreeMap<RatioId, Option<f64>> =
        at_b.iter().map(|r| (ratio_id(r), r.value)).collect();
    let pairs: Vec<(&RatioRow, f64, f64)> = multi
        .iter()
        .filter_map(
            |r| match (r.value, later.get(&ratio_id(r)).copied().flatten()) {
                (Some(x), Some(y)) => Some((r, x, y)),
                _ => None,
            },
        )
        .collect();
    let mut out = Vec::new();
    for (r, x, y) in &pairs {
        if (*x > 1.0) != (*y > 1.0) && *x != 1.0 && *y != 1.0 {
            let (more, less) = if *x > 1.0 {
                (&r.numerator, &r.denominator)
            } else {
                (&r.denominator, &r.numerator)
            };
            let place = match r.what {
                RatioKind::Arch => format!("on {}", r.within),
                RatioKind::Dataset => format!("for {}", r.within),
            };
            out.push(Flip {
                platform: r.platform.clone(),
                sentence: format!(
                    "{}/{} {place}: {more} is the more efficient under Eq. 4 ({}) but {less} is \
                     at epoch {b} ({})",
                    r.numerator,
                    r.denominator,
                    fmt_ratio(*x),
                    fmt_ratio(*y)
                ),
            });
        }
    }
    // Trends: the same numerator/denominator across two values of `within`.
    for (i, (r1, x1, y1)) in pairs.iter().enumerate() {
        for (r2, x2, y2) in &pairs[i + 1..] {
            let same = r1.platform == r2.platform
                && r1.kind == r2.kind
                && r1.what == r2.what
                && r1.numerator == r2.numerator
                && r1.denominator == r2.denominator
                && r1.within != r2.within;
            if !same {
                continue;
            }
            let grows_multi = x2 > x1;
            let grows_b = y2 > y1;
            if grows_multi == grows_b || x1 == x2 || y1 == y2 {
                continue;
            }
            let verb = |g: bool| if g { "grows" } else { "shrinks" };
            out.push(Flip {
                platform: r1.platform.clone(),
                sentence: format!(
                    "{}/{} {} from {} to {} under Eq. 4 ({} → {}) but {} at epoch {b} ({} → {})",
                    r1.numerator,
                    r1.denominator,
                    verb(grows_multi),
                    r1.within,
                    r2.within,
                    fmt_ratio(*x1),
                    fmt_ratio(*x2),
                    verb(grows_b),
                    fmt_ratio(*y1),
                    fmt_ratio(*y2)
                ),
            });
        }
    }
    out
}

/// Ratios under Eq. 4 and at epoch b side by side.
fn ratio_table(multi: &Summary, at_b: &Summary, b: u32) -> Table {
    let later: BTreeMap<RatioId, Option<f64>> =
        at_b.ratios.iter().map(|r| (ratio_id(r), r.value)).collect();
    let mut t = Table::new(
        "ratios-at-b",
        format!("Ratios under Eq. 4 and at epoch {b} alone"),
        vec![
            Column::new("platform", "platform"),
            Column::new("ratio", "ratio"),
            Column::new("within", "within"),
            Column::new("eq4", "Eq. 4"),
            Column::new("at_b", &format!("@{b}")),
            Column::new("same_side", "same winner"),
        ],
    );
    for r in &multi.ratios {
        let y = later.get(&ratio_id(r)).copied().flatten();
        let same = match (r.value, y) {
            (Some(x), Some(y)) => Cell::text(if (x > 1.0) == (y > 1.0) { "yes" } else { "NO" }),
            _ => Cell::Empty,
        };
        t.push(vec![
            Cell::text(&r.platform),
            Cell::text(format!("{}/{}", r.numerator, r.denominator)),
            Cell::text(&r.within),
            Cell::opt(r.value, RATIO_FMT),
            Cell::opt(y, RATIO_FMT),
            same,
        ]);
    }
    t
}

/// The whole overtraining report.
pub fn report(loaded: &Loaded, opts: &OvertrainingOptions) -> Report {
    let mut notes = archive_notes(loaded);
    let models = analyse(&loaded.runs, opts);
    let mut tables = verdict_tables(&models, opts);
    let short: Vec<String> = models
        .iter()
        .filter_map(|m| match m.status {
            ModelStatus::TooShort { last_epoch } => Some(format!(
                "{}/{}/{}-{} ({last_epoch})",
                m.key.platform, m.key.dataset, m.key.arch, m.key.width
            )),
            _ => None,
        })
        .collect();
    if !short.is_empty() {
        notes.push(format!(
            "{} model(s) recorded fewer than {} epochs and are not compared: {}",
            short.len(),
            opts.at_b,
            short.join(", ")
        ));
    }
    let at_b_spec = CriterionSpec::fixed(Criterion::Epochs(opts.at_b));
    let at_b_label = at_b_spec.label.clone();
    let replayed_b = replay_models(&loaded.runs, &[at_b_spec], EnergyBasis::Gross);
    let summary_b = summarise(&replayed_b.results, &[at_b_label], opts.boot);
    let labels: Vec<String> = opts.criteria.iter().map(|c| c.label.clone()).collect();
    let replayed = replay_models(&loaded.runs, &opts.criteria, EnergyBasis::Gross);
    notes.extend(replayed.warnings.iter().map(|w| format!("warning: {w}")));
    let summary = summarise(&replayed.results, &labels, opts.boot);
    notes.push(format!("Eq. 4 criteria: {}", labels.join(", ")));
    tables.extend(comparison_tables(&summary_b, &summary, opts.at_b));
    if !summary.ratios.is_empty() {
        let mut t = ratio_table(&summary, &summary_b, opts.at_b);
        for f in flips(&summary.ratios, &summary_b.ratios, opts.at_b) {
            t.notes
                .push(format!("FLIPS (platform {}): {}", f.platform, f.sentence));
        }
        if t.notes.is_empty() {
            t.notes.push(format!(
                "no conclusion flips between Eq. 4 and epoch {} alone",
                opts.at_b
            ));
        }
        tables.push(t);
    }
    Report {
        notes,
        tables,
        excluded: loaded.excluded.clone(),
    }
}

#[cfg(test)]
#[path = "overtraining_tests.rs"]
mod tests;
