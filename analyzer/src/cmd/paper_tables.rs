//! The tables shared by `efficiency` and `tables`: per-criterion model
//! tables (the paper's Tables 3–10), Eq. 3 with its spread, the criteria
//! summary (Table 11), the overall table with ratios (Table 12), a long
//! form of the ratios, and platform-pair ratios (Table A2).
//!
//! Precision: in sample-sum mode efficiencies print with the paper's two
//! decimals in its ×10⁻⁶ unit so its numbers reappear; in joules, four
//! significant digits, because accuracy per kJ spans orders of magnitude
//! between a laptop and a GPU server. Ratios print with three decimals (the
//! paper printed two, truncated; a third tells a reader which way it
//! rounds). JSON carries full precision either way.

use crate::export::{Cell, Column, NumFmt, Table};
use crate::metrics::summary::{paper_order, ArchKey, Eq4Row, RatioKind, RatioRow, Summary};
use crate::metrics::{EnergyKind, ModelOutcome, ModelResult};
use std::collections::BTreeSet;

pub const ACC_FMT: NumFmt = NumFmt::Fixed(3);
pub const RATIO_FMT: NumFmt = NumFmt::Fixed(3);

/// How efficiencies of this kind print.
pub fn eff_fmt(kind: EnergyKind) -> NumFmt {
    match kind {
        EnergyKind::SampleSum => NumFmt::Fixed(2),
        EnergyKind::Joules => NumFmt::Sig(4),
    }
}

/// How energies of this kind print (after scaling).
pub fn energy_fmt(kind: EnergyKind) -> NumFmt {
    match kind {
        EnergyKind::SampleSum => NumFmt::Fixed(2),
        EnergyKind::Joules => NumFmt::Sig(4),
    }
}

/// An efficiency cell in its printed unit.
pub fn eff_cell(kind: EnergyKind, eff: Option<f64>) -> Cell {
    let (_, scale) = kind.eff_unit();
    Cell::opt(eff.map(|e| e * scale), eff_fmt(kind))
}

/// An energy cell in its printed unit.
pub fn energy_cell(kind: EnergyKind, energy: Option<f64>) -> Cell {
    let (_, divisor) = kind.energy_unit();
    Cell::opt(energy.map(|e| e / divisor), energy_fmt(kind))
}

pub fn eff_column(key: &str, name: &str, kind: EnergyKind) -> Column {
    Column::with_unit(key, name, kind.eff_unit().0)
}

pub fn energy_column(key: &str, name: &str, kind: EnergyKind) -> Column {
    Column::with_unit(key, name, kind.energy_unit().0)
}

/// Options that change titles.
#[derive(Debug, Clone, Default)]
pub struct TableContext {
    /// Appended to every title (e.g. " — net of idle baseline").
    pub suffix: String,
}

pub(crate) fn kind_note(kinds: &BTreeSet<EnergyKind>, kind: EnergyKind) -> String {
    if kinds.len() > 1 {
        match kind {
            EnergyKind::Joules => " [joules]".into(),
            EnergyKind::SampleSum => " [sample-sum]".into(),
        }
    } else {
        String::new()
    }
}

/// All summary tables for one set of results.
pub fn all_tables(results: &[ModelResult], summary: &Summary, ctx: &TableContext) -> Vec<Table> {
    let mut out = model_tables(results, summary, ctx);
    out.extend(eq3_tables(summary, ctx));
    out.extend(criteria_tables(summary, ctx));
    out.extend(overall_tables(summary, ctx));
    out.extend(ratio_tables(summary, ctx));
    out.extend(platform_tables(summary, ctx));
    out
}

/// The paper's Tables 3–10: one table per (platform, dataset, criterion).
pub fn model_tables(results: &[ModelResult], summary: &Summary, ctx: &TableContext) -> Vec<Table> {
    let kinds: BTreeSet<EnergyKind> = results.iter().map(|r| r.key.kind).collect();
    model_groups(results, summary)
        .iter()
        .map(|group| model_table(results, summary, group, &kinds, ctx))
        .collect()
}

/// The models of one table: same platform, energy kind, dataset and criterion label.
struct ModelGroup<'a> {
    platform: &'a str,
    kind: EnergyKind,
    dataset: &'a str,
    label: &'a str,
}

/// The groups of `results` by platform, kind, dataset (paper order), criterion (order asked for).
fn model_groups<'a>(results: &'a [ModelResult], summary: &'a Summary) -> Vec<ModelGroup<'a>> {
    let mut groups: Vec<(&String, EnergyKind, &String, usize)> = results
        .iter()
        .map(|r| {
            let c = summary
                .criteria
                .iter()
                .position(|c| *c == r.criterion)
                .unwrap_or(usize::MAX);
            (&r.key.platform, r.key.kind, &r.key.dataset, c)
        })
        .collect();
    groups
        .sort_by(|a, b| (a.0, a.1, paper_order(a.2), a.3).cmp(&(b.0, b.1, paper_order(b.2), b.3)));
    groups.dedup();
    groups
        .into_iter()
        .filter_map(|(platform, kind, dataset, ci)| {
            Some(ModelGroup {
                platform,
                kind,
                dataset,
                label: summary.criteria.get(ci)?,
            })
        })
        .collect()
}

/// One group's table: its title and columns, then a row per model in paper order.
fn model_table(
    results: &[ModelResult],
    summary: &Summary,
    group: &ModelGroup<'_>,
    kinds: &BTreeSet<EnergyKind>,
    ctx: &TableContext,
) -> Table {
    let ModelGroup {
        platform,
        kind,
        dataset,
        label,
    } = *group;
    let mut rows: Vec<&ModelResult> = results
        .iter()
        .filter(|r| {
            r.key.platform == platform
                && r.key.kind == kind
                && r.key.dataset == dataset
                && r.criterion == *label
        })
        .collect();
    rows.sort_by(|a, b| {
        (paper_order(&a.key.arch), a.key.width).cmp(&(paper_order(&b.key.arch), b.key.width))
    });
    let rules: BTreeSet<&str> = rows.iter().map(|r| r.rule.as_str()).collect();
    let rule_text = rules.into_iter().collect::<Vec<_>>().join(", ");
    let title = if rule_text == *label {
        format!("Models under '{label}' — platform {platform}, dataset {dataset}")
    } else {
        format!("Models under '{label}' ({rule_text}) — platform {platform}, dataset {dataset}")
    };
    let multi_run = rows.iter().any(|r| matches!(r.outcome, ModelOutcome::Stopped { runs, .. } | ModelOutcome::Censored { runs, .. } if runs > 1));
    let combined = rows.iter().any(|r| r.rule.contains('|'));
    let mut columns = vec![Column::new("arch", "arch"), Column::new("width", "width")];
    if multi_run {
        columns.push(Column::new("runs", "runs"));
    }
    if combined {
        columns.push(Column::new("fired", "fired"));
    }
    columns.extend([
        Column::new("stop_epoch", "stop epoch"),
        Column::with_unit("accuracy", "accuracy", "test, fraction"),
        energy_column("energy", "energy", kind),
        eff_column("eff_eq2", "Eq. 2", kind),
        eff_column("eff_eq3", "Eq. 3", kind),
    ]);
    let mut t = Table::new(
        "models",
        format!("{title}{}{}", kind_note(kinds, kind), ctx.suffix),
        columns,
    );
    for r in rows {
        t.push(model_row(r, summary, group, multi_run, combined));
    }
    t
}

/// One model's row: arch and width, runs and fired if shown, its outcome, its arch's Eq. 3.
fn model_row(
    r: &ModelResult,
    summary: &Summary,
    group: &ModelGroup<'_>,
    multi_run: bool,
    combined: bool,
) -> Vec<Cell> {
    let kind = group.kind;
    let eq3 = summary
        .eq3
        .iter()
        .find(|e| {
            e.key.platform == group.platform
                && e.key.kind == kind
                && e.key.dataset == group.dataset
                && e.key.arch == r.key.arch
                && e.criterion == group.label
        })
        .and_then(|e| e.eq3.mean);
    let mut row = vec![Cell::text(&r.key.arch), Cell::Int(i64::from(r.key.width))];
    let runs = match &r.outcome {
        ModelOutcome::Stopped { runs, .. } | ModelOutcome::Censored { runs, .. } => *runs,
        ModelOutcome::Unusable { .. } => 0,
    };
    if multi_run {
        row.push(Cell::Int(runs as i64));
    }
    if combined {
        row.push(match &r.outcome {
            ModelOutcome::Stopped { fired, runs, .. } => Cell::text(fired_text(fired, *runs)),
            _ => Cell::Empty,
        });
    }
    row.extend(outcome_cells(&r.outcome, kind));
    row.push(eff_cell(kind, eq3));
    row
}

/// The stop epoch, accuracy, energy and Eq. 2 cells of one outcome (text when it did not stop).
fn outcome_cells(outcome: &ModelOutcome, kind: EnergyKind) -> [Cell; 4] {
    match outcome {
        ModelOutcome::Stopped {
            stop,
            acc,
            energy,
            eff,
            ..
        } => [
            Cell::text(stop.display()),
            Cell::num(*acc, ACC_FMT),
            energy_cell(kind, *energy),
            eff_cell(kind, *eff),
        ],
        ModelOutcome::Censored {
            last,
            censored_runs,
            runs,
        } => {
            let mut s = format!("not reached by epoch {}", last.display());
            if censored_runs < runs {
                s.push_str(&format!(" in {censored_runs} of {runs} runs"));
            }
            [Cell::text(s), Cell::Empty, Cell::Empty, Cell::Empty]
        }
        ModelOutcome::Unusable { .. } => [
            Cell::text("unusable (see warnings)"),
            Cell::Empty,
            Cell::Empty,
            Cell::Empty,
        ],
    }
}

/// `accuracy:0.99@train`, or `epochs:100 (2 runs), accuracy:0.99@train (4 runs)`
/// when the runs of a model stopped for different reasons.
fn fired_text(fired: &std::collections::BTreeMap<String, usize>, runs: usize) -> String {
    if fired.len() == 1 && fired.values().all(|n| *n == runs) {
        return fired.keys().cloned().collect();
    }
    let parts: Vec<String> = fired
        .iter()
        .map(|(k, n)| format!("{k} ({n} run{})", if *n == 1 { "" } else { "s" }))
        .collect();
    parts.join(", ")
}

pub(crate) fn by_kind<T>(
    items: &[T],
    kind_of: impl Fn(&T) -> EnergyKind,
) -> Vec<(EnergyKind, Vec<&T>)> {
    let kinds: BTreeSet<EnergyKind> = items.iter().map(&kind_of).collect();
    kinds
        .into_iter()
        .map(|k| (k, items.iter().filter(|i| kind_of(i) == k).collect()))
        .collect()
}

fn key_cells(k: &ArchKey) -> Vec<Cell> {
    vec![
        Cell::text(&k.platform),
        Cell::text(&k.dataset),
        Cell::text(&k.arch),
    ]
}

fn key_columns() -> Vec<Column> {
    vec![
        Column::new("platform", "platform"),
        Column::new("dataset", "dataset"),
        Column::new("arch", "arch"),
    ]
}

/// Eq. 3 with n, censored count, min, max, t-interval and bootstrap interval.
pub fn eq3_tables(summary: &Summary, ctx: &TableContext) -> Vec<Table> {
    let groups = by_kind(&summary.eq3, |r| r.key.kind);
    let kinds: BTreeSet<EnergyKind> = groups.iter().map(|g| g.0).collect();
    let mut out = Vec::new();
    for (kind, rows) in groups {
        let mut cols = key_columns();
        cols.extend([
            Column::new("criterion", "criterion"),
            Column::new("widths", "widths"),
            Column::new("censored", "censored"),
            eff_column("eq3", "Eq. 3", kind),
            eff_column("min", "min", kind),
            eff_column("max", "max", kind),
            eff_column("t95_low", "95% t low", kind),
            eff_column("t95_high", "95% t high", kind),
            eff_column("boot95_low", "95% bootstrap low", kind),
            eff_column("boot95_high", "95% bootstrap high", kind),
        ]);
        let mut t = Table::new(
            "eq3",
            format!(
                "Eq. 3 (mean over widths) and its spread{}{}",
                kind_note(&kinds, kind),
                ctx.suffix
            ),
            cols,
        );
        for r in rows {
            let e = &r.eq3;
            let mut row = key_cells(&r.key);
            row.extend([
                Cell::text(&r.criterion),
                Cell::Int(e.n as i64),
                Cell::Int(e.censored as i64),
                eff_cell(kind, e.mean),
                eff_cell(kind, e.min),
                eff_cell(kind, e.max),
                eff_cell(kind, e.t95.map(|i| i.0)),
                eff_cell(kind, e.t95.map(|i| i.1)),
                eff_cell(kind, e.bootstrap95.map(|i| i.0)),
                eff_cell(kind, e.bootstrap95.map(|i| i.1)),
            ]);
            t.push(row);
        }
        t.notes.push(
            "the t-interval is over widths (needs 2 or more); the bootstrap resamples seeds within each width \
             and appears only when seeds repeat"
                .into(),
        );
        out.push(t);
    }
    out
}

/// The paper's Table 11: Eq. 3 per criterion and Eq. 4.
pub fn criteria_tables(summary: &Summary, ctx: &TableContext) -> Vec<Table> {
    let groups = by_kind(&summary.eq4, |r| r.key.kind);
    let kinds: BTreeSet<EnergyKind> = groups.iter().map(|g| g.0).collect();
    let mut out = Vec::new();
    for (kind, rows) in groups {
        let mut cols = key_columns();
        for (i, c) in summary.criteria.iter().enumerate() {
            cols.push(eff_column(&format!("eq3_{i}"), c, kind));
        }
        cols.push(eff_column("eq4", "Eq. 4", kind));
        cols.push(Column::new("criteria_used", "criteria used"));
        let mut t = Table::new(
            "criteria",
            format!(
                "Eq. 3 per criterion and Eq. 4 (mean over criteria){}{}",
                kind_note(&kinds, kind),
                ctx.suffix
            ),
            cols,
        );
        for r in rows {
            let mut row = key_cells(&r.key);
            row.extend(r.eq3.iter().map(|v| eff_cell(kind, *v)));
            row.push(eff_cell(kind, r.eq4.mean));
            row.push(Cell::text(format!("{}/{}", r.eq4.used, r.eq4.total)));
            t.push(row);
            for e in summary
                .eq3
                .iter()
                .filter(|e| e.key == r.key && e.eq3.censored > 0)
            {
                let what = if e.eq3.n == 0 {
                    format!("all {} widths censored, no Eq. 3", e.eq3.censored)
                } else {
                    format!(
                        "{} of {} widths censored, Eq. 3 averages the other {}",
                        e.eq3.censored,
                        e.eq3.censored + e.eq3.n,
                        e.eq3.n
                    )
                };
                t.notes.push(format!(
                    "{} {} {} '{}': {what}",
                    e.key.platform, e.key.dataset, e.key.arch, e.criterion
                ));
            }
        }
        out.push(t);
    }
    out
}

/// The paper's Table 12: Eq. 4 by architecture (rows) and dataset
/// (columns), with arch/arch rows and dataset/dataset columns; per platform.
pub fn overall_tables(summary: &Summary, ctx: &TableContext) -> Vec<Table> {
    let mut platforms: Vec<(String, EnergyKind)> = summary
        .eq4
        .iter()
        .map(|r| (r.key.platform.clone(), r.key.kind))
        .collect();
    platforms.dedup();
    let kinds: BTreeSet<EnergyKind> = platforms.iter().map(|p| p.1).collect();
    platforms
        .iter()
        .map(|(platform, kind)| overall_table(summary, platform, *kind, &kinds, ctx))
        .collect()
}

/// One platform's Table 12: an Eq. 4 row per architecture, then the arch/arch ratio rows.
fn overall_table(
    summary: &Summary,
    platform: &str,
    kind: EnergyKind,
    kinds: &BTreeSet<EnergyKind>,
    ctx: &TableContext,
) -> Table {
    let here: Vec<_> = summary
        .eq4
        .iter()
        .filter(|r| r.key.platform == platform && r.key.kind == kind)
        .collect();
    let mut datasets: Vec<&str> = here.iter().map(|r| r.key.dataset.as_str()).collect();
    datasets.sort_by_key(|d| paper_order(d));
    datasets.dedup();
    let mut archs: Vec<&str> = here.iter().map(|r| r.key.arch.as_str()).collect();
    archs.sort_by_key(|a| paper_order(a));
    archs.dedup();
    let ratios: Vec<_> = summary
        .ratios
        .iter()
        .filter(|r| r.platform == platform && r.kind == kind)
        .collect();
    let ds_ratios: Vec<(String, String)> = ratios
        .iter()
        .filter(|r| r.what == RatioKind::Dataset)
        .map(|r| (r.numerator.clone(), r.denominator.clone()))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut cols = vec![Column::new("arch", "Eq. 4")];
    cols.extend(datasets.iter().map(|d| eff_column(d, d, kind)));
    cols.extend(
        ds_ratios
            .iter()
            .map(|(a, b)| Column::new(&format!("{a}_over_{b}"), &format!("{a}/{b}"))),
    );
    let mut t = Table::new(
        "overall",
        format!(
            "Eq. 4 and ratios (Table 12) — platform {platform}{}{}",
            kind_note(kinds, kind),
            ctx.suffix
        ),
        cols,
    );
    for a in &archs {
        t.push(arch_row(a, &here, &datasets, &ratios, &ds_ratios, kind));
    }
    push_arch_ratio_rows(&mut t, &ratios, &datasets);
    t.notes.push("ratio rows and columns are unitless".into());
    t
}

/// One architecture's row: its Eq. 4 per dataset, then its dataset/dataset ratios.
fn arch_row(
    a: &str,
    here: &[&Eq4Row],
    datasets: &[&str],
    ratios: &[&RatioRow],
    ds_ratios: &[(String, String)],
    kind: EnergyKind,
) -> Vec<Cell> {
    let mut row = vec![Cell::text(a)];
    for d in datasets {
        let v = here
            .iter()
            .find(|r| r.key.arch == a && r.key.dataset == *d)
            .and_then(|r| r.eq4.mean);
        row.push(eff_cell(kind, v));
    }
    for (n, dn) in ds_ratios {
        let v = ratios
            .iter()
            .find(|r| {
                r.what == RatioKind::Dataset
                    && r.within == a
                    && r.numerator == *n
                    && r.denominator == *dn
            })
            .and_then(|r| r.value);
        row.push(Cell::opt(v, RATIO_FMT));
    }
    row
}

/// Appends a row per arch/arch ratio pair not already in `t`, filled across datasets.
fn push_arch_ratio_rows(t: &mut Table, ratios: &[&RatioRow], datasets: &[&str]) {
    for r in ratios.iter().filter(|r| r.what == RatioKind::Arch) {
        // One row per arch pair, filled across datasets.
        let label = format!("{}/{}", r.numerator, r.denominator);
        if t.rows
            .iter()
            .any(|row| row.first() == Some(&Cell::text(&label)))
        {
            continue;
        }
        let mut row = vec![Cell::text(&label)];
        for d in datasets {
            let v = ratios
                .iter()
                .find(|x| {
                    x.what == RatioKind::Arch
                        && x.within == *d
                        && x.numerator == r.numerator
                        && x.denominator == r.denominator
                })
                .and_then(|x| x.value);
            row.push(Cell::opt(v, RATIO_FMT));
        }
        t.push(row);
    }
}

/// Every ratio as one row (for scripts; same numbers as Table 12).
pub fn ratio_tables(summary: &Summary, ctx: &TableContext) -> Vec<Table> {
    if summary.ratios.is_empty() {
        return Vec::new();
    }
    let kinds: BTreeSet<EnergyKind> = summary.ratios.iter().map(|r| r.kind).collect();
    let mut cols = vec![Column::new("platform", "platform")];
    if kinds.len() > 1 {
        cols.push(Column::new("energy_kind", "energy"));
    }
    cols.extend([
        Column::new("ratio", "ratio"),
        Column::new("compares", "compares"),
        Column::new("within", "within"),
        Column::with_unit("value", "Eq. 4 ratio", "unitless"),
    ]);
    let mut t = Table::new("ratios", format!("Ratios of Eq. 4{}", ctx.suffix), cols);
    for r in &summary.ratios {
        let mut row = vec![Cell::text(&r.platform)];
        if kinds.len() > 1 {
            row.push(Cell::text(format!("{:?}", r.kind).to_lowercase()));
        }
        row.extend([
            Cell::text(format!("{}/{}", r.numerator, r.denominator)),
            Cell::text(match r.what {
                RatioKind::Arch => "arch",
                RatioKind::Dataset => "dataset",
            }),
            Cell::text(&r.within),
            Cell::opt(r.value, RATIO_FMT),
        ]);
        t.push(row);
    }
    vec![t]
}

/// Eq. 4 of one (dataset, arch) on each pair of platforms (Table A2).
pub fn platform_tables(summary: &Summary, ctx: &TableContext) -> Vec<Table> {
    if summary.platform_ratios.is_empty() {
        return Vec::new();
    }
    let mut t = Table::new(
        "platforms",
        format!(
            "Platform comparison: Eq. 4 on one platform over another{}",
            ctx.suffix
        ),
        vec![
            Column::new("dataset", "dataset"),
            Column::new("arch", "arch"),
            Column::new("ratio", "platforms"),
            Column::with_unit("value", "Eq. 4 ratio", "unitless"),
        ],
    );
    for r in &summary.platform_ratios {
        t.push(vec![
            Cell::text(&r.dataset),
            Cell::text(&r.arch),
            Cell::text(format!("{}/{}", r.numerator, r.denominator)),
            Cell::opt(r.value, RATIO_FMT),
        ]);
    }
    vec![t]
}
