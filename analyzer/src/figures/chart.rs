//! One chart inside a panel: axes, ticks, grid and axis titles, sized from
//! the labels they carry so that nothing is clipped; shared by every kind.

use super::axis::Axis;
use super::canvas::DrawError;
use super::style::{self, size, Theme, GRID, INK};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

pub(crate) type Coord = super::axis::Ticked;
pub(crate) type Chart<'a, DB> = ChartContext<'a, DB, Cartesian2d<Coord, Coord>>;

/// What a chart shows besides its data.
#[derive(Debug)]
pub(crate) struct Frame<'s> {
    pub title: &'s str,
    pub x: &'s Axis,
    pub y: &'s Axis,
    pub x_label: &'s str,
    pub y_label: &'s str,
    /// Category labels under the x axis, already wrapped into lines, drawn
    /// by [`draw_categories`] instead of plotters' tick labels; empty for
    /// a numeric x axis.
    pub categories: &'s [Vec<String>],
}

const TICK: f64 = 4.0;
const GAP: f64 = 6.0;

/// Space between the plot area and the panel edge on the right, so the
/// last x tick label is not cut.
const RIGHT_MARGIN: f64 = 18.0;

/// The width the y axis labels and title take, in output pixels.
pub(crate) fn y_area_width(y: &Axis, y_label: &str, theme: &Theme) -> u32 {
    let widest = y
        .ticks
        .iter()
        .map(|(_, l)| theme.measure(l, size::TICK).0)
        .max()
        .unwrap_or(0);
    let title_h = if y_label.is_empty() {
        0
    } else {
        theme.measure(y_label, size::AXIS_TITLE).1 + theme.upx(GAP)
    };
    theme.upx(2.0 * TICK + GAP) + widest + title_h
}

/// The width of the plot area of a panel `panel_w` wide, for laying out
/// category labels before the chart exists.
pub(crate) fn plot_width(panel_w: u32, y: &Axis, y_label: &str, theme: &Theme) -> u32 {
    panel_w.saturating_sub(y_area_width(y, y_label, theme) + theme.upx(RIGHT_MARGIN + 4.0))
}

/// Builds the chart on `area` and draws its mesh.
pub(crate) fn build<'a, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, Shift>,
    frame: &Frame<'_>,
    theme: &Theme,
) -> Result<Chart<'a, DB>, DrawError> {
    let tick_h = theme.measure("0.9", size::TICK).1;
    let axis_h = if frame.x_label.is_empty() {
        0
    } else {
        theme.measure(frame.x_label, size::AXIS_TITLE).1 + theme.upx(GAP)
    };
    let rows = if frame.categories.is_empty() {
        1
    } else {
        frame.categories.iter().map(Vec::len).max().unwrap_or(1)
    };
    let x_area = theme.upx(2.0 * TICK) + rows as u32 * theme.upx(size::TICK * 1.25) + axis_h;
    let y_area = y_area_width(frame.y, frame.y_label, theme);

    let mut builder = ChartBuilder::on(area);
    builder
        .margin_top(theme.px(6.0))
        .margin_bottom(theme.px(4.0))
        .margin_left(theme.px(4.0))
        .margin_right(theme.px(RIGHT_MARGIN))
        .x_label_area_size(x_area.max(tick_h))
        .y_label_area_size(y_area);
    if !frame.title.is_empty() {
        builder.caption(frame.title, theme.text(size::PANEL_TITLE));
    }
    let mut chart = builder.build_cartesian_2d(frame.x.coord(), frame.y.coord())?;

    // A log axis says so in its title: uneven tick spacing alone is easy
    // to miss.
    let title = |label: &str, axis: &Axis| {
        if axis.log && !label.is_empty() {
            format!("{label}, log scale")
        } else {
            label.to_string()
        }
    };
    let (x_title, y_title) = (title(frame.x_label, frame.x), title(frame.y_label, frame.y));
    let x_fmt = |v: &f64| frame.x.label(*v);
    let y_fmt = |v: &f64| frame.y.label(*v);
    let no_label = |_: &f64| String::new();
    let mut mesh = chart.configure_mesh();
    mesh.x_desc(&x_title)
        .y_desc(&y_title)
        .axis_desc_style(theme.text(size::AXIS_TITLE))
        .label_style(theme.text(size::TICK))
        .y_label_formatter(&y_fmt)
        .bold_line_style(ShapeStyle::from(style::opaque(GRID)).stroke_width(theme.thin_width()))
        .light_line_style(TRANSPARENT)
        .axis_style(ShapeStyle::from(style::opaque(INK)).stroke_width(theme.thin_width()))
        .set_all_tick_mark_size(theme.px(TICK))
        .disable_x_mesh();
    if frame.categories.is_empty() {
        mesh.x_label_formatter(&x_fmt);
    } else {
        mesh.x_label_formatter(&no_label);
    }
    mesh.draw()?;
    Ok(chart)
}

/// Wraps each category label at spaces, hyphens and slashes into lines no
/// wider than `slot_w` output pixels (a single long word stays whole).
/// The category labels of a bar or box chart whose panel is `panel_w` SVG
/// pixels wide, wrapped to their slots. Decided at SVG scale whatever the
/// output: text metrics do not scale exactly, and a label that wraps only
/// in the PNG would push the axis title off a page sized at SVG scale.
pub(crate) fn category_labels(
    groups: &[String],
    panel_w: f64,
    y: &Axis,
    y_label: &str,
) -> Vec<Vec<String>> {
    let svg = Theme::SVG;
    let plot_w = plot_width(svg.upx(panel_w), y, y_label, &svg);
    let slot = plot_w / groups.len().max(1) as u32;
    wrap_categories(groups, slot.saturating_sub(svg.upx(6.0)), &svg)
}

/// The size of a bar or box chart body: `width` × `height` SVG pixels,
/// plus one tick-label line for each extra line a wrapped category needs.
pub(crate) fn category_body_size(
    categories: &[Vec<String>],
    width: f64,
    height: f64,
    theme: &Theme,
) -> (u32, u32) {
    let rows = categories.iter().map(Vec::len).max().unwrap_or(1) as u32;
    let extra = rows.saturating_sub(1) * theme.upx(size::TICK * 1.25);
    (theme.upx(width), theme.upx(height) + extra)
}

pub(crate) fn wrap_categories(names: &[String], slot_w: u32, theme: &Theme) -> Vec<Vec<String>> {
    names.iter().map(|n| wrap(n, slot_w, theme)).collect()
}

fn wrap(text: &str, max_w: u32, theme: &Theme) -> Vec<String> {
    // Split after each break character, keeping it on the left piece.
    let mut words: Vec<String> = vec![];
    let mut cur = String::new();
    for c in text.chars() {
        cur.push(c);
        if matches!(c, ' ' | '-' | '/' | '_') {
            words.push(std::mem::take(&mut cur));
        }
    }
    if !cur.is_empty() {
        words.push(cur);
    }
    let width = |parts: &[String]| theme.measure(parts.concat().trim(), size::TICK).0;
    if width(&words) <= max_w || words.len() < 2 {
        return vec![text.trim().to_string()];
    }
    // Two lines if some break fits both halves: the most even one.
    let best_split = (1..words.len())
        .map(|k| (k, width(&words[..k]).max(width(&words[k..]))))
        .filter(|(_, w)| *w <= max_w)
        .min_by_key(|(_, w)| *w);
    if let Some((k, _)) = best_split {
        return vec![
            words[..k].concat().trim().to_string(),
            words[k..].concat().trim().to_string(),
        ];
    }
    // Otherwise greedy; a word wider than the slot keeps its own line.
    let mut lines: Vec<String> = vec![];
    let mut line = String::new();
    for w in words {
        let candidate = format!("{line}{w}");
        if !line.is_empty() && theme.measure(candidate.trim(), size::TICK).0 > max_w {
            lines.push(line.trim().to_string());
            line = w;
        } else {
            line = candidate;
        }
    }
    if !line.trim().is_empty() || lines.is_empty() {
        lines.push(line.trim().to_string());
    }
    lines
}

/// Draws wrapped category labels centred under their slots.
pub(crate) fn draw_categories<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    chart: &Chart<'_, DB>,
    frame: &Frame<'_>,
    theme: &Theme,
) -> Result<(), DrawError> {
    let (bx, by) = area.get_base_pixel();
    let style = theme
        .text(size::TICK)
        .pos(Pos::new(HPos::Center, VPos::Top));
    let line_h = theme.upx(size::TICK * 1.25) as i32;
    for ((t, _), lines) in frame.x.ticks.iter().zip(frame.categories) {
        let (px, py) = chart.backend_coord(&(*t, frame.y.lo));
        let mut y = py - by + theme.px(2.0 * TICK);
        for line in lines {
            area.draw_text(line, &style, (px - bx, y))?;
            y += line_h;
        }
    }
    Ok(())
}

/// A pixel position of `chart` relative to `area` (the chart's panel).
pub(crate) fn to_area<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    chart: &Chart<'_, DB>,
    at: (f64, f64),
) -> (i32, i32) {
    let (px, py) = chart.backend_coord(&at);
    let (bx, by) = area.get_base_pixel();
    (px - bx, py - by)
}
