//! Figures as SVG and PNG files, drawn with plotters.
//!
//! This module knows nothing about efficiency, criteria or archives: a
//! caller describes a figure as plain data (a title, panels with axis
//! titles that carry their units, series of points, groups of bars or
//! samples) and [`render`] writes it. Mapping analysis results onto these
//! descriptions is the caller's job, which keeps the drawing testable on
//! its own and the metrics free of plotting concerns.
//!
//! Four kinds cover the paper's figures:
//! - [`LinePanels`]: lines over a shared x axis, one panel per dataset,
//!   platform or model (efficiency per epoch, accuracy per epoch with stop
//!   epochs marked, efficiency by width, before/after slope charts);
//! - [`GroupedBars`]: one bar per series in each group, with optional
//!   intervals (Eq. 3 by criterion, platform comparisons);
//! - [`BoxPlots`]: the distribution of samples per group and series;
//! - [`PowerTrace`]: watts per source over time with epoch boundaries,
//!   modelled sources dashed; long traces are downsampled for drawing
//!   ([`minmax_downsample`]), never for computing.
//!
//! Every figure shares one look ([`style`]): the Okabe–Ito palette, the
//! embedded DejaVu Sans (so PNGs render text without system fonts), the
//! legend to the right of the panels. A figure with nothing to draw is
//! reported as [`Rendered::Skipped`] with the reason, not written blank.

mod axis;
mod bars;
mod boxes;
mod canvas;
mod chart;
mod downsample;
mod font;
mod lines;
pub mod style;
mod trace;

#[cfg(test)]
mod tests;

pub use self::downsample::minmax_downsample;

use std::path::{Path, PathBuf};

/// A figure description; see the module docs for what each kind is for.
#[derive(Debug, Clone, PartialEq)]
pub enum Figure {
    Lines(LinePanels),
    Bars(GroupedBars),
    Boxes(BoxPlots),
    Trace(PowerTrace),
}

/// Line charts in a grid of panels sharing one legend. A label that occurs
/// in several panels keeps its colour in all of them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LinePanels {
    pub title: String,
    /// Lines printed under the title (the data's provenance, caveats).
    pub notes: Vec<String>,
    pub panels: Vec<Panel>,
    /// Panels per row [default: up to three].
    pub columns: Option<usize>,
    /// Legend text for the panels' vertical lines; none when `None`.
    pub vline_label: Option<String>,
}

/// One panel of a [`LinePanels`] figure.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Panel {
    pub title: String,
    /// Axis title with its unit, e.g. `"epoch"` or `"time (s)"`.
    pub x_label: String,
    /// Axis title with its unit, e.g. `"efficiency (accuracy/kJ)"`.
    pub y_label: String,
    pub log_x: bool,
    /// Log y axis; values ≤ 0 are left out and said so in a note, and a
    /// panel with no positive value falls back to a linear axis.
    pub log_y: bool,
    /// Start a linear y axis at zero (power, energy) instead of fitting
    /// the data.
    pub y_from_zero: bool,
    pub series: Vec<Series>,
    /// x positions of vertical reference lines (epoch boundaries).
    pub vlines: Vec<f64>,
}

/// One line. A series with a single point is drawn as a dot.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Series {
    pub label: String,
    /// `(x, y)` in drawing order; non-finite points break the line.
    pub points: Vec<(f64, f64)>,
    pub dashed: bool,
    /// Dots on every point (for short series, or slope charts).
    pub dots: bool,
    /// Events on this line; each distinct label gets one shape, explained
    /// in the legend.
    pub markers: Vec<Marker>,
}

/// An event drawn on a series, such as the epoch a criterion stops at.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Marker {
    pub x: f64,
    pub y: f64,
    pub label: String,
}

/// Bars grouped along the x axis: in each group, one bar per series.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GroupedBars {
    pub title: String,
    pub notes: Vec<String>,
    /// Title of the group axis, e.g. `"criterion"`.
    pub x_label: String,
    /// Axis title with its unit.
    pub y_label: String,
    pub log_y: bool,
    pub groups: Vec<String>,
    pub bars: Vec<BarSeries>,
}

/// One series of bars, one value per group.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BarSeries {
    pub label: String,
    /// One per group; `None` draws "n/a".
    pub values: Vec<Option<f64>>,
    /// Error bars `(low, high)`, one per group, or empty for none.
    pub intervals: Vec<Option<(f64, f64)>>,
}

/// Box plots grouped along the x axis: in each group, one box per series.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BoxPlots {
    pub title: String,
    pub notes: Vec<String>,
    pub x_label: String,
    /// Axis title with its unit.
    pub y_label: String,
    pub log_y: bool,
    pub groups: Vec<String>,
    pub series: Vec<BoxSeries>,
}

/// The samples of one series, one list per group.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BoxSeries {
    pub label: String,
    pub samples: Vec<Vec<f64>>,
}

/// Power over time for one run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PowerTrace {
    pub title: String,
    pub notes: Vec<String>,
    pub sources: Vec<TraceSource>,
    /// Times (s, on the sources' clock) where an epoch ends.
    pub epoch_boundaries_s: Vec<f64>,
}

/// The samples of one power source.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TraceSource {
    /// The source's name, e.g. `"gpu0"`; "(modelled)" is appended for a
    /// modelled source.
    pub label: String,
    /// Estimated by a model rather than measured; drawn dashed.
    pub modelled: bool,
    /// `(t_s, power_w)`, sorted by time.
    pub points: Vec<(f64, f64)>,
}

/// An output file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageFormat {
    Svg,
    Png,
}

impl ImageFormat {
    pub const ALL: [ImageFormat; 2] = [ImageFormat::Svg, ImageFormat::Png];

    pub fn extension(self) -> &'static str {
        match self {
            ImageFormat::Svg => "svg",
            ImageFormat::Png => "png",
        }
    }
}

/// What [`render`] did.
#[derive(Debug, Clone, PartialEq)]
pub enum Rendered {
    /// The files written, and what the renderer decided on its own (values
    /// left off a log axis, missing bars); the notes are also printed
    /// under the title.
    Written {
        files: Vec<PathBuf>,
        notes: Vec<String>,
    },
    /// Nothing to draw; no file was written.
    Skipped { reason: String },
}

#[derive(Debug, thiserror::Error)]
pub enum FigureError {
    #[error("the embedded font could not be loaded")]
    Font,
    #[error("figure {title:?}: {reason}")]
    Invalid { title: String, reason: String },
    #[error("could not draw {path}: {message}")]
    Draw { path: PathBuf, message: String },
    #[error("could not write {path}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Draws `figure` to `out_stem` plus each format's extension (creating the
/// folder), e.g. `figs/fig5` → `figs/fig5.svg`, `figs/fig5.png`.
///
/// Errors are reserved for descriptions that do not fit together (a bar
/// series with more values than groups) and for I/O; a figure without data
/// is [`Rendered::Skipped`].
pub fn render(
    figure: &Figure,
    out_stem: &Path,
    formats: &[ImageFormat],
) -> Result<Rendered, FigureError> {
    font::ensure_registered()?;
    match figure {
        Figure::Lines(f) => lines::render(f, out_stem, formats),
        Figure::Bars(f) => bars::render(f, out_stem, formats),
        Figure::Boxes(f) => boxes::render(f, out_stem, formats),
        Figure::Trace(f) => trace::render(f, out_stem, formats),
    }
}

/// Writes a prepared page, or reports why there is none.
fn finish<B: canvas::Body>(
    prepared: Result<(canvas::Page<'_, B>, Vec<String>), String>,
    out_stem: &Path,
    formats: &[ImageFormat],
) -> Result<Rendered, FigureError> {
    match prepared {
        Err(reason) => Ok(Rendered::Skipped { reason }),
        Ok((page, notes)) => Ok(Rendered::Written {
            files: page.write(out_stem, formats)?,
            notes,
        }),
    }
}
