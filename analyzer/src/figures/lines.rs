//! Line charts in a grid of panels ([`LinePanels`]): efficiency per epoch
//! per model, accuracy per epoch with stop epochs marked, efficiency by
//! width, slope charts, and (through [`super::trace`]) power traces.
//!
//! Preparation turns the description into plot-space segments once:
//! non-finite points (and values ≤ 0 on a log axis) break a line rather
//! than being joined across, and every such decision becomes a note.
//! Drawing then happens once per output format.

use super::axis::{Axis, Fit};
use super::canvas::{self, Body, DrawError, LegendEntry, Mark, Page, Swatch};
use super::chart::{self, Frame};
use super::downsample::minmax_downsample;
use super::style::{self, series_color, Shape, Theme, REFERENCE};
use super::{finish, FigureError, ImageFormat, LinePanels, Panel, Rendered, Series};
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;

/// Default panel size in SVG pixels.
pub(crate) const PANEL: (f64, f64) = (400.0, 300.0);

pub(crate) fn render(
    fig: &LinePanels,
    out_stem: &Path,
    formats: &[ImageFormat],
) -> Result<Rendered, FigureError> {
    finish(prepare(fig, PANEL), out_stem, formats)
}

/// Panels laid out and in plot space.
#[derive(Debug)]
pub(crate) struct LineBody {
    panels: Vec<PlotPanel>,
    columns: usize,
    panel_size: (f64, f64),
}

#[derive(Debug)]
struct PlotPanel {
    title: String,
    x_label: String,
    y_label: String,
    x: Axis,
    y: Axis,
    lines: Vec<PlotLine>,
    vlines: Vec<f64>,
    has_data: bool,
}

#[derive(Debug)]
struct PlotLine {
    color: RGBColor,
    dashed: bool,
    dots: bool,
    segments: Vec<Vec<(f64, f64)>>,
    markers: Vec<((f64, f64), Shape)>,
}

/// First-seen order of labels, giving each a stable index (colour, shape).
#[derive(Debug, Default)]
struct Labels(Vec<String>);

impl Labels {
    fn index(&mut self, label: &str) -> (usize, bool) {
        match self.0.iter().position(|l| l == label) {
            Some(i) => (i, false),
            None => {
                self.0.push(label.to_string());
                (self.0.len() - 1, true)
            }
        }
    }
}

/// Lays `fig` out with panels of `panel_size` SVG pixels, or says why there
/// is nothing to draw. The second value holds the renderer's own notes.
pub(crate) fn prepare(
    fig: &LinePanels,
    panel_size: (f64, f64),
) -> Result<(Page<'_, LineBody>, Vec<String>), String> {
    if fig.panels.is_empty() {
        return Err("no panels".to_string());
    }
    let mut colors = Labels::default();
    let mut shapes = Labels::default();
    let mut series_legend = vec![];
    let mut notes = vec![];
    let mut panels = vec![];
    for (k, panel) in fig.panels.iter().enumerate() {
        let name = if panel.title.is_empty() {
            format!("panel {}", k + 1)
        } else {
            panel.title.clone()
        };
        let (x, y) = fit_axes(panel, &name, &mut notes);
        let mut lines = vec![];
        for s in &panel.series {
            lines.push(plot_series(
                s,
                &x,
                &y,
                &mut colors,
                &mut shapes,
                &mut series_legend,
            ));
        }
        let has_data = lines.iter().any(|l| !l.segments.is_empty());
        let vlines = panel
            .vlines
            .iter()
            .filter_map(|v| x.to_plot(*v))
            .filter(|t| *t >= x.lo && *t <= x.hi)
            .collect();
        panels.push(PlotPanel {
            title: panel.title.clone(),
            x_label: panel.x_label.clone(),
            y_label: panel.y_label.clone(),
            x,
            y,
            lines,
            vlines,
            has_data,
        });
    }
    if !panels.iter().any(|p| p.has_data) {
        return Err("no finite data point in any panel".to_string());
    }
    let legend = legend(series_legend, &shapes, fig.vline_label.as_deref(), &panels);
    // Four panels read best as 2 × 2; otherwise rows of up to three.
    let default_columns = if panels.len() == 4 { 2 } else { 3 };
    let columns = fig
        .columns
        .unwrap_or(default_columns)
        .clamp(1, panels.len());
    let mut all_notes = fig.notes.clone();
    all_notes.extend(notes.iter().cloned());
    let page = Page {
        title: &fig.title,
        notes: all_notes,
        legend,
        body: LineBody {
            panels,
            columns,
            panel_size,
        },
    };
    Ok((page, notes))
}

/// Fits a panel's axes to its drawable points, noting under `name` what is left off.
fn fit_axes(panel: &Panel, name: &str, notes: &mut Vec<String>) -> (Axis, Axis) {
    let finite = |p: &(f64, f64)| p.0.is_finite() && p.1.is_finite();
    let points = || {
        panel
            .series
            .iter()
            .flat_map(|s| s.points.iter().copied().filter(finite))
    };
    let marker_points = || {
        panel
            .series
            .iter()
            .flat_map(|s| s.markers.iter().map(|m| (m.x, m.y)).filter(finite))
    };
    let non_finite: usize =
        panel.series.iter().map(|s| s.points.len()).sum::<usize>() - points().count();
    if non_finite > 0 {
        notes.push(format!(
            "{name}: {non_finite} non-finite point(s) not drawn"
        ));
    }
    let log_x = panel.log_x && points().any(|p| p.0 > 0.0);
    let log_y = panel.log_y && points().any(|p| p.1 > 0.0);
    for (asked, got, axis) in [(panel.log_x, log_x, "x"), (panel.log_y, log_y, "y")] {
        if asked && !got && points().next().is_some() {
            notes.push(format!(
                "{name}: no positive {axis} value, {axis} axis drawn linear"
            ));
        }
    }
    let usable = |p: &(f64, f64)| (!log_x || p.0 > 0.0) && (!log_y || p.1 > 0.0);
    let hidden = points().filter(|p| !usable(p)).count();
    if hidden > 0 {
        notes.push(format!(
            "{name}: {hidden} value(s) ≤ 0 left off the log scale"
        ));
    }
    let xs = points()
        .chain(marker_points())
        .filter(|p| usable(p))
        .map(|p| p.0)
        .chain(
            panel
                .vlines
                .iter()
                .copied()
                .filter(|x| x.is_finite() && (!log_x || *x > 0.0)),
        );
    let integer_x = !log_x && points().all(|p| p.0.fract() == 0.0);
    let x = Axis::numeric(
        xs,
        Fit {
            log: log_x,
            integer: integer_x,
            include_zero: false,
            pad: 0.02,
        },
    );
    let ys = points()
        .chain(marker_points())
        .filter(|p| usable(p))
        .map(|p| p.1);
    let y = Axis::numeric(
        ys,
        Fit {
            log: log_y,
            integer: false,
            include_zero: panel.y_from_zero && !log_y,
            pad: 0.05,
        },
    );
    (x, y)
}

/// Puts one series into plot space: colour (legend entry when new), unbroken segments, markers.
fn plot_series(
    s: &Series,
    x: &Axis,
    y: &Axis,
    colors: &mut Labels,
    shapes: &mut Labels,
    series_legend: &mut Vec<LegendEntry>,
) -> PlotLine {
    let to_plot = |p: &(f64, f64)| Some((x.to_plot(p.0)?, y.to_plot(p.1)?));
    let (ci, new) = colors.index(&s.label);
    let dots = s.dots || style::needs_dots(ci);
    if new && !s.label.is_empty() {
        series_legend.push(LegendEntry {
            label: s.label.clone(),
            swatch: Swatch::Line {
                color: series_color(ci),
                dashed: s.dashed,
                dots,
            },
        });
    }
    let mut segments: Vec<Vec<(f64, f64)>> = vec![];
    let mut current = vec![];
    for p in &s.points {
        match to_plot(p) {
            Some(q) => current.push(q),
            None if !current.is_empty() => segments.push(std::mem::take(&mut current)),
            None => {}
        }
    }
    if !current.is_empty() {
        segments.push(current);
    }
    let markers = s
        .markers
        .iter()
        .filter_map(|m| Some((to_plot(&(m.x, m.y))?, Shape::nth(shapes.index(&m.label).0))))
        .collect();
    PlotLine {
        color: series_color(ci),
        dashed: s.dashed,
        dots,
        segments,
        markers,
    }
}

/// The legend: series, then marker shapes, then the vertical lines' label if a panel draws one.
fn legend(
    series_legend: Vec<LegendEntry>,
    shapes: &Labels,
    vline_label: Option<&str>,
    panels: &[PlotPanel],
) -> Vec<LegendEntry> {
    let mut legend = series_legend;
    legend.extend(shapes.0.iter().enumerate().map(|(i, label)| LegendEntry {
        label: label.clone(),
        swatch: Swatch::Marker(Shape::nth(i)),
    }));
    if let Some(label) = vline_label {
        if panels.iter().any(|p| !p.vlines.is_empty()) {
            legend.push(LegendEntry {
                label: label.to_string(),
                swatch: Swatch::VLine,
            });
        }
    }
    legend
}

impl Body for LineBody {
    fn size(&self, theme: &Theme) -> (u32, u32) {
        let rows = self.panels.len().div_ceil(self.columns) as u32;
        (
            self.columns as u32 * theme.upx(self.panel_size.0),
            rows * theme.upx(self.panel_size.1),
        )
    }

    fn draw<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        theme: &Theme,
    ) -> Result<(), DrawError> {
        let (w, h) = self.size(theme);
        let area = area.clone().shrink((0, 0), (w, h));
        let rows = self.panels.len().div_ceil(self.columns);
        let cells = area.split_evenly((rows, self.columns));
        for (panel, cell) in self.panels.iter().zip(&cells) {
            draw_panel(cell, panel, theme)?;
        }
        Ok(())
    }
}

fn draw_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    panel: &PlotPanel,
    theme: &Theme,
) -> Result<(), DrawError> {
    let frame = Frame {
        title: &panel.title,
        x: &panel.x,
        y: &panel.y,
        x_label: &panel.x_label,
        y_label: &panel.y_label,
        categories: &[],
    };
    let mut chart = chart::build(area, &frame, theme)?;
    if !panel.has_data {
        let centre = (
            (panel.x.lo + panel.x.hi) / 2.0,
            (panel.y.lo + panel.y.hi) / 2.0,
        );
        return canvas::draw_note_at(area, "no data", chart::to_area(area, &chart, centre), theme);
    }
    for x in &panel.vlines {
        polyline(
            area,
            &mut chart,
            vec![(*x, panel.y.lo), (*x, panel.y.hi)],
            REFERENCE,
            theme.thin_width(),
            Mark::VLine,
            theme,
        )?;
    }
    let columns = chart.plotting_area().dim_in_pixel().0 as usize;
    for line in &panel.lines {
        let mark = if line.dashed {
            Mark::DashedSeries
        } else {
            Mark::Series
        };
        for segment in &line.segments {
            if let [only] = segment.as_slice() {
                chart.draw_series(std::iter::once(Circle::new(
                    *only,
                    theme.px(3.5),
                    mark.color(line.color).filled(),
                )))?;
                continue;
            }
            let drawn = minmax_downsample(segment, (panel.x.lo, panel.x.hi), columns);
            let downsampled = drawn.len() < segment.len();
            polyline(
                area,
                &mut chart,
                drawn,
                line.color,
                theme.line_width(),
                mark,
                theme,
            )?;
            if line.dots && !downsampled {
                let style = Mark::Dot.color(line.color).filled();
                chart.draw_series(
                    segment
                        .iter()
                        .map(|p| Circle::new(*p, theme.px(3.0), style)),
                )?;
            }
        }
    }
    // Markers last, on top of every line; markers at one spot are stacked
    // upwards so that each stays visible.
    let mut placed: Vec<(i32, i32)> = vec![];
    for line in &panel.lines {
        for (at, shape) in &line.markers {
            let mut px = chart::to_area(area, &chart, *at);
            let step = theme.px(11.0);
            while placed
                .iter()
                .any(|q| (q.0 - px.0).abs() < step && (q.1 - px.1).abs() < step)
            {
                px.1 -= step;
            }
            placed.push(px);
            canvas::draw_shape(area, px, *shape, line.color, theme, Some(Mark::Marker))?;
        }
    }
    Ok(())
}

/// A line in chart coordinates. In an SVG it is one element, dashed by the
/// viewer; in a PNG it is stroked by [`canvas::stroke`], which avoids the
/// spikes plotters' wide-line joins grow at sharp turns.
fn polyline<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    chart: &mut chart::Chart<'_, DB>,
    points: Vec<(f64, f64)>,
    color: RGBColor,
    width: u32,
    mark: Mark,
    theme: &Theme,
) -> Result<(), DrawError> {
    if theme.vector {
        let style = ShapeStyle::from(mark.color(color)).stroke_width(width);
        chart.draw_series(std::iter::once(PathElement::new(points, style)))?;
        return Ok(());
    }
    let dash = match mark {
        Mark::VLine => Some((theme.px(3.0), theme.px(3.0))),
        Mark::DashedSeries => Some((theme.px(7.0), theme.px(4.0))),
        _ => None,
    };
    let pixels: Vec<(i32, i32)> = points
        .iter()
        .map(|p| chart::to_area(area, chart, *p))
        .collect();
    canvas::stroke(area, &pixels, color, width, dash)
}
