//! The look shared by every figure: palette, font sizes, line widths and
//! panel sizes, so that Figure 5 and a power trace read as one family.
//!
//! All sizes are written once in SVG pixels and scaled by [`Theme::scale`]:
//! SVG files are drawn at scale 1 (a viewer scales vectors anyway) and PNGs
//! at scale 2, which keeps thin lines and small tick labels sharp when a PNG
//! lands in a paper or on a high-density screen.

use super::font::FAMILY;
use plotters::style::{FontDesc, FontStyle, RGBAColor, RGBColor, TextStyle};

/// The Okabe–Ito palette (Okabe & Ito, "Color Universal Design", 2008),
/// ordered so that the first colours are the most distinct on white and
/// yellow, the hardest to see on white, comes last. Series beyond eight
/// reuse the colours and are told apart by dots on the line.
pub const OKABE_ITO: [RGBColor; 8] = [
    RGBColor(0x00, 0x72, 0xB2), // blue
    RGBColor(0xD5, 0x5E, 0x00), // vermillion
    RGBColor(0x00, 0x9E, 0x73), // bluish green
    RGBColor(0xE6, 0x9F, 0x00), // orange
    RGBColor(0xCC, 0x79, 0xA7), // reddish purple
    RGBColor(0x56, 0xB4, 0xE9), // sky blue
    RGBColor(0x00, 0x00, 0x00), // black
    RGBColor(0xF0, 0xE4, 0x42), // yellow
];

/// The colour of the `i`-th series of a figure.
pub fn series_color(i: usize) -> RGBColor {
    OKABE_ITO[i % OKABE_ITO.len()]
}

/// Whether the `i`-th series reuses a colour and so gets dots on its line.
pub(crate) fn needs_dots(i: usize) -> bool {
    i >= OKABE_ITO.len()
}

/// Text and axis lines.
pub(crate) const INK: RGBColor = RGBColor(0x22, 0x22, 0x22);
/// Notes under the title, "n/a" and "no data" labels.
pub(crate) const MUTED: RGBColor = RGBColor(0x66, 0x66, 0x66);
/// Horizontal grid lines.
pub(crate) const GRID: RGBColor = RGBColor(0xE3, 0xE3, 0xE3);
/// Vertical reference lines (epoch boundaries).
pub(crate) const REFERENCE: RGBColor = RGBColor(0x9A, 0x9A, 0x9A);
pub(crate) const WHITE: RGBColor = RGBColor(0xFF, 0xFF, 0xFF);

/// How much of a series colour a box fill keeps.
pub(crate) const BOX_TINT: f64 = 0.35;

/// A colour mixed with white, for box fills that must not hide the median.
pub(crate) fn tint(c: RGBColor, amount: f64) -> RGBColor {
    let mix = |v: u8| (f64::from(v) * amount + 255.0 * (1.0 - amount)).round() as u8;
    RGBColor(mix(c.0), mix(c.1), mix(c.2))
}

/// An opaque colour as plotters' RGBA, for APIs that want one.
pub(crate) fn opaque(c: RGBColor) -> RGBAColor {
    RGBAColor(c.0, c.1, c.2, 1.0)
}

/// Font sizes in SVG pixels (plotters' size: ascent plus descent).
pub(crate) mod size {
    pub const TITLE: f64 = 18.0;
    pub const NOTE: f64 = 12.5;
    pub const PANEL_TITLE: f64 = 15.0;
    pub const AXIS_TITLE: f64 = 14.0;
    pub const TICK: f64 = 12.5;
    pub const LEGEND: f64 = 13.5;
    pub const SMALL: f64 = 11.5;
}

/// Scale and output-specific choices for one rendering.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Theme {
    /// Output pixels per SVG pixel.
    pub scale: f64,
    /// Vector output (SVG): a line is one element, dashed and joined by the
    /// viewer; otherwise lines are stroked segment by segment.
    pub vector: bool,
}

impl Theme {
    pub(crate) const SVG: Theme = Theme {
        scale: 1.0,
        vector: true,
    };
    pub(crate) const PNG: Theme = Theme {
        scale: 2.0,
        vector: false,
    };

    /// A length in output pixels.
    pub(crate) fn px(&self, v: f64) -> i32 {
        (v * self.scale).round() as i32
    }

    /// A length in output pixels, for sizes.
    pub(crate) fn upx(&self, v: f64) -> u32 {
        (v * self.scale).round().max(0.0) as u32
    }

    /// The width of data lines.
    pub(crate) fn line_width(&self) -> u32 {
        self.upx(2.0).max(1)
    }

    /// The width of axes, whiskers and reference lines.
    pub(crate) fn thin_width(&self) -> u32 {
        self.upx(1.0).max(1)
    }

    /// The font at `size` SVG pixels.
    pub(crate) fn font(&self, size: f64) -> FontDesc<'static> {
        FontDesc::new(FAMILY.into(), size * self.scale, FontStyle::Normal)
    }

    /// Text in the ink colour at `size` SVG pixels.
    pub(crate) fn text(&self, size: f64) -> TextStyle<'static> {
        TextStyle::from(self.font(size)).color(&INK)
    }

    /// Text in the muted colour at `size` SVG pixels.
    pub(crate) fn muted(&self, size: f64) -> TextStyle<'static> {
        TextStyle::from(self.font(size)).color(&MUTED)
    }

    /// Width and height of `text` at `size`, in output pixels. Falls back to
    /// an estimate if the font cannot lay it out, so a layout never fails.
    pub(crate) fn measure(&self, text: &str, size: f64) -> (u32, u32) {
        self.font(size).box_size(text).unwrap_or_else(|_| {
            let s = size * self.scale;
            ((0.6 * s * text.chars().count() as f64) as u32, s as u32)
        })
    }

    /// The height of one line of text at `size`, with leading.
    pub(crate) fn line_height(&self, size: f64) -> u32 {
        self.upx(size * 1.45)
    }
}

/// Marker shapes for events on a line (a criterion's stop epoch), in the
/// order they are handed out; all are filled so they read on any line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    TriangleUp,
    Square,
    Diamond,
    TriangleDown,
    Circle,
    Pentagon,
}

impl Shape {
    const ALL: [Shape; 6] = [
        Shape::TriangleUp,
        Shape::Square,
        Shape::Diamond,
        Shape::TriangleDown,
        Shape::Circle,
        Shape::Pentagon,
    ];

    pub(crate) fn nth(i: usize) -> Shape {
        Self::ALL[i % Self::ALL.len()]
    }

    /// The outline as pixel offsets from the centre, for radius `r`.
    pub(crate) fn outline(self, r: i32) -> Vec<(i32, i32)> {
        let polygon = |n: usize, start_deg: f64, radius: f64| -> Vec<(i32, i32)> {
            (0..n)
                .map(|k| {
                    let a = (start_deg + 360.0 * k as f64 / n as f64).to_radians();
                    (
                        (radius * a.cos()).round() as i32,
                        (radius * a.sin()).round() as i32,
                    )
                })
                .collect()
        };
        let rf = f64::from(r);
        match self {
            // Screen y grows downwards, so -90° points up.
            Shape::TriangleUp => polygon(3, -90.0, rf * 1.25),
            Shape::TriangleDown => polygon(3, 90.0, rf * 1.25),
            Shape::Square => vec![(-r, -r), (r, -r), (r, r), (-r, r)],
            Shape::Diamond => polygon(4, -90.0, rf * 1.3),
            Shape::Circle => polygon(16, 0.0, rf * 1.1),
            Shape::Pentagon => polygon(5, -90.0, rf * 1.2),
        }
    }
}
