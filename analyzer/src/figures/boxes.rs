//! Box plots ([`BoxPlots`]): the per-width efficiencies of each criterion
//! (groups) and architecture (one box per series in each group).
//!
//! Boxes are Tukey's: quartiles by linear interpolation, whiskers to the
//! furthest sample within 1.5 IQR of the box. With a handful of widths a
//! box alone hides how few samples there are, so every sample is drawn
//! over it as a small ring, and the note under the title gives the
//! smallest and largest number of samples per box.

use super::axis::{Axis, Fit};
use super::canvas::{Body, DrawError, LegendEntry, Mark, Page, Swatch};
use super::chart::{self, Frame};
use super::style::{self, series_color, size, Theme, INK};
use super::{finish, BoxPlots, FigureError, ImageFormat, Rendered};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::path::Path;

const BOX_W: f64 = 40.0;
const MIN_W: f64 = 420.0;
const HEIGHT: f64 = 340.0;

pub(crate) fn render(
    fig: &BoxPlots,
    out_stem: &Path,
    formats: &[ImageFormat],
) -> Result<Rendered, FigureError> {
    if let Some(s) = fig
        .series
        .iter()
        .find(|s| s.samples.len() != fig.groups.len())
    {
        return Err(FigureError::Invalid {
            title: fig.title.clone(),
            reason: format!(
                "box series {:?} has {} sample lists for {} groups",
                s.label,
                s.samples.len(),
                fig.groups.len()
            ),
        });
    }
    finish(prepare(fig), out_stem, formats)
}

/// Five-number summary plus the samples outside the whiskers.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct BoxStats {
    pub q1: f64,
    pub median: f64,
    pub q3: f64,
    pub whisker_lo: f64,
    pub whisker_hi: f64,
}

/// The quantile `q` of sorted `v` by linear interpolation (R's type 7).
fn quantile(v: &[f64], q: f64) -> f64 {
    let pos = q * (v.len() - 1) as f64;
    let (i, frac) = (pos.floor() as usize, pos.fract());
    if i + 1 < v.len() {
        v[i] + frac * (v[i + 1] - v[i])
    } else {
        v[i]
    }
}

/// Box statistics of `samples`; `None` when there are none.
pub(crate) fn box_stats(samples: &[f64]) -> Option<BoxStats> {
    let mut v: Vec<f64> = samples.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let (q1, median, q3) = (quantile(&v, 0.25), quantile(&v, 0.5), quantile(&v, 0.75));
    let reach = 1.5 * (q3 - q1);
    let whisker_lo = v.iter().copied().find(|x| *x >= q1 - reach).unwrap_or(q1);
    let whisker_hi = v
        .iter()
        .rev()
        .copied()
        .find(|x| *x <= q3 + reach)
        .unwrap_or(q3);
    Some(BoxStats {
        q1,
        median,
        q3,
        whisker_lo,
        whisker_hi,
    })
}

/// One box in plot space with the samples drawn over it.
#[derive(Debug)]
struct PlottedBox {
    stats: BoxStats,
    samples: Vec<f64>,
}

#[derive(Debug)]
pub(crate) struct BoxBody<'a> {
    fig: &'a BoxPlots,
    x: Axis,
    y: Axis,
    /// Per series, per group: statistics and samples, in plot space.
    boxes: Vec<Vec<Option<PlottedBox>>>,
    width: f64,
}

pub(crate) fn prepare(fig: &BoxPlots) -> Result<(Page<'_, BoxBody<'_>>, Vec<String>), String> {
    let all = || {
        fig.series
            .iter()
            .flat_map(|s| s.samples.iter().flatten().copied())
            .filter(|v| v.is_finite())
    };
    if fig.groups.is_empty() || all().next().is_none() {
        return Err("no samples".to_string());
    }
    let mut notes = vec![];
    let log = fig.log_y && all().any(|v| v > 0.0);
    if fig.log_y && !log {
        notes.push("no positive sample, y axis drawn linear".to_string());
    }
    let hidden = if log {
        all().filter(|v| *v <= 0.0).count()
    } else {
        0
    };
    if hidden > 0 {
        notes.push(format!("{hidden} sample(s) ≤ 0 left off the log scale"));
    }
    let y = Axis::numeric(
        all().filter(|v| !log || *v > 0.0),
        Fit {
            log,
            integer: false,
            include_zero: false,
            pad: 0.06,
        },
    );
    let boxes: Vec<Vec<_>> = fig
        .series
        .iter()
        .map(|s| {
            s.samples
                .iter()
                .map(|samples| {
                    let plotted: Vec<f64> = samples.iter().filter_map(|v| y.to_plot(*v)).collect();
                    box_stats(&plotted).map(|stats| PlottedBox {
                        stats,
                        samples: plotted,
                    })
                })
                .collect()
        })
        .collect();
    let counts = boxes.iter().flatten().flatten().map(|b| b.samples.len());
    if let (Some(lo), Some(hi)) = (counts.clone().min(), counts.max()) {
        let n = if lo == hi {
            format!("{lo}")
        } else {
            format!("{lo}–{hi}")
        };
        notes.push(if hi == 1 {
            "1 sample per box: each box is flat, at that sample".to_string()
        } else {
            format!("{n} sample(s) per box, each drawn as a ring; whiskers reach 1.5 IQR")
        });
    }
    let legend = fig
        .series
        .iter()
        .enumerate()
        .map(|(i, s)| LegendEntry {
            label: s.label.clone(),
            swatch: Swatch::Patch(series_color(i)),
        })
        .collect();
    let width = (fig.groups.len() * fig.series.len().max(1)) as f64 * BOX_W + 120.0;
    let mut all_notes = fig.notes.clone();
    all_notes.extend(notes.iter().cloned());
    let page = Page {
        title: &fig.title,
        notes: all_notes,
        legend,
        body: BoxBody {
            fig,
            x: Axis::categories(&fig.groups),
            y,
            boxes,
            width: width.max(MIN_W),
        },
    };
    Ok((page, notes))
}

impl BoxBody<'_> {
    fn categories(&self, _theme: &Theme) -> Vec<Vec<String>> {
        chart::category_labels(&self.fig.groups, self.width, &self.y, &self.fig.y_label)
    }
}

impl Body for BoxBody<'_> {
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
        let slot_w = 0.8 / self.boxes.len().max(1) as f64;
        let na = theme
            .muted(size::SMALL)
            .pos(Pos::new(HPos::Center, VPos::Bottom));
        for (i, series) in self.boxes.iter().enumerate() {
            let color = series_color(i);
            for (g, entry) in series.iter().enumerate() {
                let x0 = g as f64 + 0.1 + i as f64 * slot_w;
                let (xl, xr) = (x0 + slot_w * 0.15, x0 + slot_w * 0.85);
                let xm = (xl + xr) / 2.0;
                let Some(PlottedBox { stats: b, samples }) = entry else {
                    let at = chart::to_area(&area, &chart, (xm, self.y.lo));
                    area.draw_text("n/a", &na, (at.0, at.1 - theme.px(2.0)))?;
                    continue;
                };
                let whisker =
                    ShapeStyle::from(style::opaque(color)).stroke_width(theme.upx(1.5).max(1));
                for (from, to) in [(b.q1, b.whisker_lo), (b.q3, b.whisker_hi)] {
                    let cap = (xr - xl) * 0.25;
                    chart.draw_series([
                        PathElement::new(vec![(xm, from), (xm, to)], whisker),
                        PathElement::new(vec![(xm - cap, to), (xm + cap, to)], whisker),
                    ])?;
                }
                chart.draw_series(std::iter::once(Rectangle::new(
                    [(xl, b.q3), (xr, b.q1)],
                    Mark::Box
                        .color(style::tint(color, style::BOX_TINT))
                        .filled(),
                )))?;
                chart.draw_series(std::iter::once(Rectangle::new(
                    [(xl, b.q3), (xr, b.q1)],
                    ShapeStyle::from(style::opaque(color)).stroke_width(theme.upx(1.5).max(1)),
                )))?;
                // A flat box (one sample, equal quartiles) would hide its
                // colour under an ink median.
                let median = if b.q3 > b.q1 { INK } else { color };
                chart.draw_series(std::iter::once(PathElement::new(
                    vec![(xl, b.median), (xr, b.median)],
                    ShapeStyle::from(style::opaque(median)).stroke_width(theme.upx(2.5)),
                )))?;
                let ring =
                    ShapeStyle::from(Mark::Sample.color(INK)).stroke_width(theme.thin_width());
                chart.draw_series(
                    samples
                        .iter()
                        .map(|v| Circle::new((xm, *v), theme.px(2.5), ring)),
                )?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tukey_box_of_known_samples() {
        let b = box_stats(&[1.0, 2.0, 3.0, 4.0, 100.0]).expect("stats");
        assert_eq!((b.q1, b.median, b.q3), (2.0, 3.0, 4.0));
        assert_eq!(b.whisker_lo, 1.0);
        // 100 lies beyond q3 + 1.5 IQR = 7, so the whisker stops at 4.
        assert_eq!(b.whisker_hi, 4.0);
    }

    #[test]
    fn one_sample_is_a_flat_box() {
        let b = box_stats(&[0.7]).expect("stats");
        assert_eq!(
            (b.q1, b.median, b.q3, b.whisker_lo, b.whisker_hi),
            (0.7, 0.7, 0.7, 0.7, 0.7)
        );
        assert_eq!(box_stats(&[f64::NAN]), None);
    }
}
