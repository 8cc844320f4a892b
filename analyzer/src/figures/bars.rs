//! Grouped bars ([`GroupedBars`]) with optional intervals: Eq. 3 by
//! criterion with one bar per architecture, platform comparisons with
//! bootstrap intervals.
//!
//! Each group is one slot of the x axis; its bars share 80 % of the slot.
//! A missing value is written "n/a" at the bar's foot, so a gap is never
//! mistaken for a zero.

use super::axis::{Axis, Fit};
use super::canvas::{Body, DrawError, LegendEntry, Mark, Page, Swatch};
use super::chart::{self, Frame};
use super::style::{self, series_color, size, Theme, INK};
use super::{finish, FigureError, GroupedBars, ImageFormat, Rendered};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::path::Path;

/// Width per bar and height of the chart, in SVG pixels.
const BAR_W: f64 = 34.0;
const MIN_W: f64 = 420.0;
const HEIGHT: f64 = 340.0;

pub(crate) fn render(
    fig: &GroupedBars,
    out_stem: &Path,
    formats: &[ImageFormat],
) -> Result<Rendered, FigureError> {
    validate(fig)?;
    finish(prepare(fig), out_stem, formats)
}

fn validate(fig: &GroupedBars) -> Result<(), FigureError> {
    for s in &fig.bars {
        let bad = if s.values.len() != fig.groups.len() {
            Some(format!(
                "bar series {:?} has {} values for {} groups",
                s.label,
                s.values.len(),
                fig.groups.len()
            ))
        } else if !s.intervals.is_empty() && s.intervals.len() != fig.groups.len() {
            Some(format!(
                "bar series {:?} has {} intervals for {} groups",
                s.label,
                s.intervals.len(),
                fig.groups.len()
            ))
        } else {
            None
        };
        if let Some(reason) = bad {
            return Err(FigureError::Invalid {
                title: fig.title.clone(),
                reason,
            });
        }
    }
    Ok(())
}

#[derive(Debug)]
pub(crate) struct BarBody<'a> {
    fig: &'a GroupedBars,
    x: Axis,
    y: Axis,
    /// Per series, per group: the bar top and interval in plot space.
    bars: Vec<Vec<Option<BarTop>>>,
    width: f64,
}

#[derive(Debug, Clone, Copy)]
struct BarTop {
    value: f64,
    interval: Option<(f64, f64)>,
}

pub(crate) fn prepare(fig: &GroupedBars) -> Result<(Page<'_, BarBody<'_>>, Vec<String>), String> {
    if fig.groups.is_empty() || fig.bars.is_empty() {
        return Err("no groups or no bar series".to_string());
    }
    let value_of = |s: &super::BarSeries, g: usize| s.values[g].filter(|v| v.is_finite());
    let interval_of = |s: &super::BarSeries, g: usize| {
        s.intervals
            .get(g)
            .copied()
            .flatten()
            .filter(|(a, b)| a.is_finite() && b.is_finite())
    };
    let values = || {
        fig.bars
            .iter()
            .flat_map(|s| (0..fig.groups.len()).filter_map(move |g| value_of(s, g)))
    };
    if values().next().is_none() {
        return Err("no bar has a value".to_string());
    }
    let mut notes = vec![];
    let log = fig.log_y && values().any(|v| v > 0.0);
    if fig.log_y && !log {
        notes.push("no positive value, y axis drawn linear".to_string());
    }
    let extent = fig.bars.iter().flat_map(|s| {
        (0..fig.groups.len()).flat_map(move |g| {
            let i = interval_of(s, g);
            [value_of(s, g), i.map(|i| i.0), i.map(|i| i.1)]
        })
    });
    let y = Axis::numeric(
        extent.flatten().filter(|v| !log || *v > 0.0),
        Fit {
            log,
            integer: false,
            include_zero: !log,
            pad: 0.05,
        },
    );
    let mut missing = 0;
    let mut hidden = 0;
    let bars = fig
        .bars
        .iter()
        .map(|s| {
            (0..fig.groups.len())
                .map(|g| {
                    let Some(v) = value_of(s, g) else {
                        missing += 1;
                        return None;
                    };
                    let Some(value) = y.to_plot(v) else {
                        hidden += 1;
                        return None;
                    };
                    // An interval end ≤ 0 on a log axis is drawn to the bottom.
                    let interval = interval_of(s, g)
                        .map(|(a, b)| (y.to_plot(a).unwrap_or(y.lo), y.to_plot(b).unwrap_or(y.lo)));
                    Some(BarTop { value, interval })
                })
                .collect()
        })
        .collect();
    if missing > 0 {
        notes.push(format!("{missing} bar(s) without a value, marked n/a"));
    }
    if hidden > 0 {
        notes.push(format!(
            "{hidden} value(s) ≤ 0 left off the log scale, marked n/a"
        ));
    }
    let legend = fig
        .bars
        .iter()
        .enumerate()
        .map(|(i, s)| LegendEntry {
            label: s.label.clone(),
            swatch: Swatch::Bar(series_color(i)),
        })
        .collect();
    let width = (fig.groups.len() * fig.bars.len()) as f64 * BAR_W + 120.0;
    let mut all_notes = fig.notes.clone();
    all_notes.extend(notes.iter().cloned());
    let page = Page {
        title: &fig.title,
        notes: all_notes,
        legend,
        body: BarBody {
            fig,
            x: Axis::categories(&fig.groups),
            y,
            bars,
            width: width.max(MIN_W),
        },
    };
    Ok((page, notes))
}

impl BarBody<'_> {
    fn categories(&self, _theme: &Theme) -> Vec<Vec<String>> {
        chart::category_labels(&self.fig.groups, self.width, &self.y, &self.fig.y_label)
    }
}

impl Body for BarBody<'_> {
    fn size(&self, theme: &Theme) -> (u32, u32) {
        chart::category_body_size(&self.categories(theme), self.width, HEIGHT, theme)
    }

    fn draw<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        theme: &Theme,
    ) -> Result<(), DrawError> {
        let (w, h) = self.size(theme);
        let area = area.clone().shrink((0, 0), (w, h));
        let categories = self.categories(theme);
        let frame = Frame {
            title: "",
            x: &self.x,
            y: &self.y,
            x_label: &self.fig.x_label,
            y_label: &self.fig.y_label,
            categories: &categories,
        };
        let mut chart = chart::build(&area, &frame, theme)?;
        chart::draw_categories(&area, &chart, &frame, theme)?;
        let n = self.bars.len() as f64;
        let bar_w = 0.8 / n;
        let base = self.y.baseline();
        let na = theme
            .muted(size::SMALL)
            .pos(Pos::new(HPos::Center, VPos::Bottom));
        let na_w = theme.measure("n/a", size::SMALL).0 as i32;
        for (i, series) in self.bars.iter().enumerate() {
            let color = series_color(i);
            for (g, top) in series.iter().enumerate() {
                let x0 = g as f64 + 0.1 + i as f64 * bar_w;
                let x1 = x0 + bar_w;
                let Some(top) = top else {
                    let (l, _) = chart::to_area(&area, &chart, (x0, base));
                    let (r, yb) = chart::to_area(&area, &chart, (x1, base));
                    if r - l >= na_w {
                        area.draw_text("n/a", &na, ((l + r) / 2, yb - theme.px(2.0)))?;
                    }
                    continue;
                };
                // Bars are separated by a hairline of background.
                let inset = bar_w * 0.04;
                let (lo, hi) = if top.value >= base {
                    (base, top.value)
                } else {
                    (top.value, base)
                };
                chart.draw_series(std::iter::once(Rectangle::new(
                    [(x0 + inset, hi), (x1 - inset, lo)],
                    Mark::Bar.color(color).filled(),
                )))?;
                if let Some((a, b)) = top.interval {
                    let xm = (x0 + x1) / 2.0;
                    let cap = bar_w * 0.2;
                    let style = ShapeStyle::from(Mark::Interval.color(INK))
                        .stroke_width(theme.upx(1.5).max(1));
                    let plain =
                        ShapeStyle::from(style::opaque(INK)).stroke_width(theme.upx(1.5).max(1));
                    chart.draw_series(std::iter::once(PathElement::new(
                        vec![(xm, a), (xm, b)],
                        style,
                    )))?;
                    for end in [a, b] {
                        chart.draw_series(std::iter::once(PathElement::new(
                            vec![(xm - cap, end), (xm + cap, end)],
                            plain,
                        )))?;
                    }
                }
            }
        }
        Ok(())
    }
}
