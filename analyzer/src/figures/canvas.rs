//! The page every figure is drawn on, and writing it as SVG or PNG.
//!
//! A page is a title, optional notes under it, a body (the panels, drawn by
//! one of the figure-kind modules) and a legend to the right of the body,
//! never over the data. The page's size follows from its content, measured
//! with the embedded font, so long labels widen the legend rather than run
//! into the plots.
//!
//! # Marks in the SVG
//! Plotters' SVG backend writes bare `<polyline>`/`<rect>` elements without
//! classes and has no dashes (a dashed series becomes hundreds of tiny
//! polylines). Data elements are therefore drawn with a sentinel opacity
//! (0.999, 0.998, …) that [`tag_svg`] rewrites into `opacity="1"` plus a
//! `class` (and `stroke-dasharray` for dashed series). That gives one
//! element per series that tests and scripts can count and restyle, and
//! crisp dashes; in a PNG the sentinel opacity is indistinguishable from 1.

use super::style::{self, size, Shape, Theme, INK, REFERENCE, WHITE};
use super::{FigureError, ImageFormat};
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::{Path, PathBuf};

/// A drawing failure inside plotters, before the output path is known.
#[derive(Debug)]
pub(crate) struct DrawError(pub String);

impl<E: std::error::Error + Send + Sync> From<DrawingAreaErrorKind<E>> for DrawError {
    fn from(e: DrawingAreaErrorKind<E>) -> Self {
        DrawError(e.to_string())
    }
}

/// What a data element is, as written into the SVG `class`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mark {
    /// The line (or single point) of one series.
    Series,
    /// The line of a dashed series.
    DashedSeries,
    /// A dot on a series line.
    Dot,
    /// One bar.
    Bar,
    /// The error bar of one bar.
    Interval,
    /// The box of one box plot.
    Box,
    /// One sample drawn over a box plot.
    Sample,
    /// An event marker (a criterion's stop epoch).
    Marker,
    /// A vertical reference line (an epoch boundary).
    VLine,
}

impl Mark {
    const ALL: [Mark; 9] = [
        Mark::Series,
        Mark::DashedSeries,
        Mark::Dot,
        Mark::Bar,
        Mark::Interval,
        Mark::Box,
        Mark::Sample,
        Mark::Marker,
        Mark::VLine,
    ];

    fn alpha(self) -> f64 {
        match self {
            Mark::Series => 0.999,
            Mark::DashedSeries => 0.998,
            Mark::Dot => 0.997,
            Mark::Bar => 0.996,
            Mark::Interval => 0.995,
            Mark::Box => 0.994,
            Mark::Sample => 0.993,
            Mark::Marker => 0.992,
            Mark::VLine => 0.991,
        }
    }

    fn svg_attributes(self) -> &'static str {
        match self {
            Mark::Series => r#"class="series""#,
            Mark::DashedSeries => r#"class="series dashed" stroke-dasharray="7,4""#,
            Mark::Dot => r#"class="dot""#,
            Mark::Bar => r#"class="bar""#,
            Mark::Interval => r#"class="interval""#,
            Mark::Box => r#"class="box""#,
            Mark::Sample => r#"class="sample""#,
            Mark::Marker => r#"class="marker""#,
            Mark::VLine => r#"class="vline" stroke-dasharray="3,3""#,
        }
    }

    /// `color` carrying this mark's sentinel opacity.
    pub(crate) fn color(self, color: RGBColor) -> RGBAColor {
        RGBAColor(color.0, color.1, color.2, self.alpha())
    }
}

/// Rewrites sentinel opacities into classes (see the module docs).
pub(crate) fn tag_svg(svg: &str) -> String {
    let mut out = svg.to_string();
    for mark in Mark::ALL {
        let sentinel = format!(r#"opacity="{}""#, mark.alpha());
        let tagged = format!(r#"opacity="1" {}"#, mark.svg_attributes());
        out = out.replace(&sentinel, &tagged);
    }
    out
}

/// How one legend entry is drawn.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Swatch {
    Line {
        color: RGBColor,
        dashed: bool,
        dots: bool,
    },
    /// A solid bar.
    Bar(RGBColor),
    /// A tinted box with its outline.
    Patch(RGBColor),
    Marker(Shape),
    VLine,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct LegendEntry {
    pub label: String,
    pub swatch: Swatch,
}

/// The panels of a figure: one implementation per figure kind.
pub(crate) trait Body {
    /// Size in output pixels.
    fn size(&self, theme: &Theme) -> (u32, u32);
    fn draw<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        theme: &Theme,
    ) -> Result<(), DrawError>;
}

/// A figure ready to draw.
pub(crate) struct Page<'a, B: Body> {
    pub title: &'a str,
    pub notes: Vec<String>,
    pub legend: Vec<LegendEntry>,
    pub body: B,
}

struct Layout {
    size: (u32, u32),
    header_h: u32,
    body: (u32, u32),
}

const PAD: f64 = 12.0;
const SWATCH_W: f64 = 30.0;

impl<B: Body> Page<'_, B> {
    fn legend_width(&self, theme: &Theme) -> u32 {
        let widest = self
            .legend
            .iter()
            .map(|e| theme.measure(&e.label, size::LEGEND).0)
            .max();
        widest.map_or(0, |w| w + theme.upx(SWATCH_W + 8.0 + 2.0 * PAD))
    }

    /// The layout at `theme`'s scale: measured once in SVG pixels and
    /// scaled, so that a PNG is exactly its SVG times the scale.
    fn layout(&self, theme: &Theme) -> Layout {
        let base = self.layout_svg();
        let s = |v: u32| (f64::from(v) * theme.scale).round() as u32;
        Layout {
            size: (s(base.size.0), s(base.size.1)),
            header_h: s(base.header_h),
            body: (s(base.body.0), s(base.body.1)),
        }
    }

    fn layout_svg(&self) -> Layout {
        let theme = &Theme::SVG;
        let body = self.body.size(theme);
        let header_h = theme.upx(PAD)
            + theme.line_height(size::TITLE)
            + self.notes.len() as u32 * theme.line_height(size::NOTE)
            + theme.upx(4.0);
        let legend_h = theme.upx(PAD) + self.legend.len() as u32 * theme.line_height(size::LEGEND);
        let title_w = theme.measure(self.title, size::TITLE).0 + theme.upx(2.0 * PAD);
        let notes_w = self
            .notes
            .iter()
            .map(|n| theme.measure(n, size::NOTE).0 + theme.upx(2.0 * PAD))
            .max()
            .unwrap_or(0);
        let width = (body.0 + self.legend_width(theme))
            .max(title_w)
            .max(notes_w);
        Layout {
            size: (
                width,
                header_h + body.1.max(legend_h) + theme.upx(PAD / 2.0),
            ),
            header_h,
            body,
        }
    }

    fn draw<DB: DrawingBackend>(
        &self,
        root: DrawingArea<DB, Shift>,
        theme: &Theme,
        layout: &Layout,
    ) -> Result<(), DrawError> {
        root.fill(&WHITE)?;
        let x = theme.px(PAD);
        let mut y = theme.px(PAD);
        root.draw_text(self.title, &theme.text(size::TITLE), (x, y))?;
        y += theme.line_height(size::TITLE) as i32;
        for note in &self.notes {
            root.draw_text(note, &theme.muted(size::NOTE), (x, y))?;
            y += theme.line_height(size::NOTE) as i32;
        }
        let (_, rest) = root.split_vertically(layout.header_h);
        let (body, legend) = rest.split_horizontally(layout.body.0);
        self.body.draw(&body, theme)?;
        draw_legend(&legend, &self.legend, theme)?;
        root.present()?;
        Ok(())
    }

    /// Writes the page in each format; returns the files written.
    pub(crate) fn write(
        &self,
        out_stem: &Path,
        formats: &[ImageFormat],
    ) -> Result<Vec<PathBuf>, FigureError> {
        if let Some(dir) = out_stem.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| FigureError::Write {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        let mut files = vec![];
        for format in formats {
            let path = out_stem.with_extension(format.extension());
            let draw_err = |e: DrawError| FigureError::Draw {
                path: path.clone(),
                message: e.0,
            };
            match format {
                ImageFormat::Svg => {
                    let theme = Theme::SVG;
                    let layout = self.layout(&theme);
                    let mut svg = String::new();
                    {
                        let root =
                            SVGBackend::with_string(&mut svg, layout.size).into_drawing_area();
                        self.draw(root, &theme, &layout).map_err(draw_err)?;
                    }
                    std::fs::write(&path, tag_svg(&svg)).map_err(|source| FigureError::Write {
                        path: path.clone(),
                        source,
                    })?;
                }
                ImageFormat::Png => {
                    let theme = Theme::PNG;
                    let layout = self.layout(&theme);
                    let root = BitMapBackend::new(&path, layout.size).into_drawing_area();
                    self.draw(root, &theme, &layout).map_err(draw_err)?;
                }
            }
            files.push(path);
        }
        Ok(files)
    }

    /// The PNG rendering as RGB bytes with its size, for tests that look at
    /// pixels without decoding a file.
    #[cfg(test)]
    pub(crate) fn rgb(&self) -> (Vec<u8>, (u32, u32)) {
        let theme = Theme::PNG;
        let layout = self.layout(&theme);
        let (w, h) = layout.size;
        let mut buf = vec![0u8; (w * h * 3) as usize];
        {
            let root = BitMapBackend::with_buffer(&mut buf, (w, h)).into_drawing_area();
            self.draw(root, &theme, &layout).expect("draw into buffer");
        }
        (buf, (w, h))
    }
}

fn draw_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    entries: &[LegendEntry],
    theme: &Theme,
) -> Result<(), DrawError> {
    let row_h = theme.line_height(size::LEGEND) as i32;
    let x0 = theme.px(PAD);
    let x1 = x0 + theme.px(SWATCH_W);
    let mut y = theme.px(PAD) + row_h / 2;
    for entry in entries {
        match &entry.swatch {
            Swatch::Line {
                color,
                dashed,
                dots,
            } => {
                let style =
                    ShapeStyle::from(style::opaque(*color)).stroke_width(theme.line_width());
                if *dashed {
                    let dash = (x1 - x0) / 4;
                    for k in [0, 2] {
                        let a = x0 + k * dash + dash / 4;
                        area.draw(&PathElement::new(
                            vec![(a, y), (a + dash + dash / 2, y)],
                            style,
                        ))?;
                    }
                } else {
                    area.draw(&PathElement::new(vec![(x0, y), (x1, y)], style))?;
                }
                if *dots {
                    area.draw(&Circle::new(
                        ((x0 + x1) / 2, y),
                        theme.px(3.0),
                        style.filled(),
                    ))?;
                }
            }
            Swatch::Bar(color) => {
                let h = theme.px(5.5);
                area.draw(&Rectangle::new(
                    [(x0 + h, y - h), (x1 - h, y + h)],
                    style::opaque(*color).filled(),
                ))?;
            }
            Swatch::Patch(color) => {
                let h = theme.px(5.5);
                area.draw(&Rectangle::new(
                    [(x0 + h, y - h), (x1 - h, y + h)],
                    style::opaque(style::tint(*color, style::BOX_TINT)).filled(),
                ))?;
                area.draw(&Rectangle::new(
                    [(x0 + h, y - h), (x1 - h, y + h)],
                    ShapeStyle::from(style::opaque(*color)).stroke_width(theme.thin_width()),
                ))?;
            }
            Swatch::Marker(shape) => {
                draw_shape(area, ((x0 + x1) / 2, y), *shape, style::MUTED, theme, None)?;
            }
            Swatch::VLine => {
                let style =
                    ShapeStyle::from(style::opaque(REFERENCE)).stroke_width(theme.thin_width());
                let xm = (x0 + x1) / 2;
                let h = row_h / 2 - theme.px(2.0);
                area.draw(&PathElement::new(vec![(xm, y - h), (xm, y + h)], style))?;
            }
        }
        let text = theme
            .text(size::LEGEND)
            .pos(plotters::style::text_anchor::Pos::new(
                plotters::style::text_anchor::HPos::Left,
                plotters::style::text_anchor::VPos::Center,
            ));
        area.draw_text(&entry.label, &text, (x1 + theme.px(8.0), y))?;
        y += row_h;
    }
    Ok(())
}

/// A filled marker shape with an ink outline at a pixel position of `area`;
/// `mark` tags the fill in the SVG.
pub(crate) fn draw_shape<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    at: (i32, i32),
    shape: Shape,
    fill: RGBColor,
    theme: &Theme,
    mark: Option<Mark>,
) -> Result<(), DrawError> {
    let r = theme.px(4.5);
    let pts: Vec<(i32, i32)> = shape
        .outline(r)
        .into_iter()
        .map(|(dx, dy)| (at.0 + dx, at.1 + dy))
        .collect();
    let fill = mark.map_or_else(|| style::opaque(fill), |m| m.color(fill));
    area.draw(&Polygon::new(pts.clone(), fill.filled()))?;
    let mut ring = pts;
    if let Some(first) = ring.first().copied() {
        ring.push(first);
    }
    area.draw(&PathElement::new(
        ring,
        ShapeStyle::from(style::opaque(INK)).stroke_width(theme.thin_width()),
    ))?;
    Ok(())
}

/// Text centred at `at` (pixels of `area`), for a panel with nothing to draw.
pub(crate) fn draw_note_at<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    text: &str,
    at: (i32, i32),
    theme: &Theme,
) -> Result<(), DrawError> {
    let style = theme
        .muted(size::AXIS_TITLE)
        .pos(plotters::style::text_anchor::Pos::new(
            plotters::style::text_anchor::HPos::Center,
            plotters::style::text_anchor::VPos::Center,
        ));
    area.draw_text(text, &style, at)?;
    Ok(())
}

/// Strokes a polyline given in pixels of `area`, for raster output: each
/// segment separately with round joins, or cut into `(dash, gap)` dashes.
///
/// Plotters fills a wide line as a polygon, and its scanline fill drops
/// most of the width of some diagonal segments, while its polyline joins
/// shoot far out of the plot at the near-reversals of a downsampled trace.
/// One-pixel lines are exact, so a wide segment is drawn as parallel
/// one-pixel lines half a pixel apart (no gaps at any slope).
pub(crate) fn stroke<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    points: &[(i32, i32)],
    color: RGBColor,
    width: u32,
    dash: Option<(i32, i32)>,
) -> Result<(), DrawError> {
    let color = style::opaque(color);
    let Some((on_px, off_px)) = dash else {
        for w in points.windows(2) {
            wide_segment(area, to_f(w[0]), to_f(w[1]), color, width)?;
        }
        // Round joins where the line turns sharply enough to open a notch;
        // at gentle turns a disc would show as a bump.
        if width > 2 {
            for w in points.windows(3) {
                if turn_deg(w[0], w[1], w[2]) > 20.0 {
                    area.draw(&Circle::new(w[1], (width - 1) / 2, color.filled()))?;
                }
            }
        }
        return Ok(());
    };
    let (on_px, off_px) = (f64::from(on_px.max(1)), f64::from(off_px.max(1)));
    let mut on = true;
    let mut left = on_px;
    for (i, w) in points.windows(2).enumerate() {
        let (a, b) = (to_f(w[0]), to_f(w[1]));
        let len = (b.0 - a.0).hypot(b.1 - a.1);
        let at = |t: f64| {
            let f = if len > 0.0 { t / len } else { 0.0 };
            (a.0 + f * (b.0 - a.0), a.1 + f * (b.1 - a.1))
        };
        let mut t = 0.0;
        // Stop a hair short of the end: float steps need not land on it.
        while len - t > 1e-6 {
            let step = (len - t).min(left);
            if on {
                wide_segment(area, at(t), at(t + step), color, width)?;
            }
            t += step;
            left -= step;
            if left <= 1e-9 {
                on = !on;
                left = if on { on_px } else { off_px };
            }
        }
        // A dash that turns a corner gets a round join there.
        if on
            && left < on_px
            && width > 2
            && i + 2 < points.len()
            && turn_deg(w[0], w[1], points[i + 2]) > 20.0
        {
            area.draw(&Circle::new(w[1], (width - 1) / 2, color.filled()))?;
        }
    }
    Ok(())
}

/// How far the direction turns at `b`, in degrees (0 when straight).
fn turn_deg(a: (i32, i32), b: (i32, i32), c: (i32, i32)) -> f64 {
    let (u, v) = ((b.0 - a.0, b.1 - a.1), (c.0 - b.0, c.1 - b.1));
    let (u, v) = (
        (f64::from(u.0), f64::from(u.1)),
        (f64::from(v.0), f64::from(v.1)),
    );
    let (lu, lv) = (u.0.hypot(u.1), v.0.hypot(v.1));
    if lu == 0.0 || lv == 0.0 {
        return 0.0;
    }
    ((u.0 * v.0 + u.1 * v.1) / (lu * lv))
        .clamp(-1.0, 1.0)
        .acos()
        .to_degrees()
}

fn to_f(p: (i32, i32)) -> (f64, f64) {
    (f64::from(p.0), f64::from(p.1))
}

fn wide_segment<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    a: (f64, f64),
    b: (f64, f64),
    color: RGBAColor,
    width: u32,
) -> Result<(), DrawError> {
    let len = (b.0 - a.0).hypot(b.1 - a.1);
    let round = |p: (f64, f64)| (p.0.round() as i32, p.1.round() as i32);
    if len < 1e-9 || width <= 1 {
        area.draw(&PathElement::new(vec![round(a), round(b)], color))?;
        return Ok(());
    }
    // Fill the segment's rectangle row by row: every pixel whose centre
    // lies inside, as one-pixel horizontal runs (exact and opaque).
    let h = f64::from(width) / 2.0;
    let n = ((a.1 - b.1) / len * h, (b.0 - a.0) / len * h);
    let quad = [
        (a.0 + n.0, a.1 + n.1),
        (b.0 + n.0, b.1 + n.1),
        (b.0 - n.0, b.1 - n.1),
        (a.0 - n.0, a.1 - n.1),
    ];
    let (y_min, y_max) = quad
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), p| {
            (lo.min(p.1), hi.max(p.1))
        });
    for row in (y_min - 0.5).ceil() as i32..=(y_max - 0.5).floor() as i32 {
        let yc = f64::from(row) + 0.5;
        let (mut x_lo, mut x_hi) = (f64::INFINITY, f64::NEG_INFINITY);
        for k in 0..4 {
            let (p, q) = (quad[k], quad[(k + 1) % 4]);
            if (p.1 <= yc && yc <= q.1) || (q.1 <= yc && yc <= p.1) {
                let x = if (q.1 - p.1).abs() < 1e-12 {
                    p.0.min(q.0)
                } else {
                    p.0 + (yc - p.1) / (q.1 - p.1) * (q.0 - p.0)
                };
                let x2 = if (q.1 - p.1).abs() < 1e-12 {
                    p.0.max(q.0)
                } else {
                    x
                };
                x_lo = x_lo.min(x);
                x_hi = x_hi.max(x2);
            }
        }
        let (x0, x1) = ((x_lo - 0.5).ceil() as i32, (x_hi - 0.5).floor() as i32);
        if x0 <= x1 {
            area.draw(&PathElement::new(vec![(x0, row), (x1, row)], color))?;
        }
    }
    Ok(())
}
