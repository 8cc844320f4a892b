//! The power trace of one run ([`PowerTrace`]): watts per source over time,
//! epoch boundaries as vertical lines, modelled sources dashed and
//! labelled "(modelled)" so an estimate is never read as a measurement.
//!
//! A trace is a wide single-panel line chart; [`super::lines`] draws it and
//! downsamples each source to the min and max of every pixel column.

use super::lines::{self, PANEL};
use super::{finish, FigureError, ImageFormat, LinePanels, Panel, PowerTrace, Rendered, Series};
use std::path::Path;

/// Wide enough to see epochs; pixel columns bound what is drawn.
const TRACE_PANEL: (f64, f64) = (2.0 * PANEL.0, PANEL.1);

/// The legend suffix of a modelled source.
pub(crate) const MODELLED: &str = "(modelled)";

pub(crate) fn render(
    trace: &PowerTrace,
    out_stem: &Path,
    formats: &[ImageFormat],
) -> Result<Rendered, FigureError> {
    let lines = as_lines(trace);
    finish(lines::prepare(&lines, TRACE_PANEL), out_stem, formats)
}

/// The trace as a one-panel line figure. Points are copied once here; the
/// drawing keeps at most two per pixel column of them.
pub(crate) fn as_lines(trace: &PowerTrace) -> LinePanels {
    let series = trace
        .sources
        .iter()
        .map(|s| Series {
            label: if s.modelled {
                format!("{} {MODELLED}", s.label)
            } else {
                s.label.clone()
            },
            points: s.points.clone(),
            dashed: s.modelled,
            dots: false,
            markers: vec![],
        })
        .collect();
    LinePanels {
        title: trace.title.clone(),
        notes: trace.notes.clone(),
        panels: vec![Panel {
            title: String::new(),
            x_label: "time (s)".to_string(),
            y_label: "power (W)".to_string(),
            log_x: false,
            log_y: false,
            y_from_zero: true,
            series,
            vlines: trace.epoch_boundaries_s.clone(),
        }],
        columns: Some(1),
        vline_label: Some("epoch boundary".to_string()),
    }
}
