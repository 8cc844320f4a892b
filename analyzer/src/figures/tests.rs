//! Pixel-level checks of the PNG rendering: text is really drawn with the
//! embedded font, and the legend sits beside the panels, not on them.

use super::canvas::{Body, Page};
use super::style::Theme;
use super::{font, lines, LinePanels, Panel, Series};

fn figure(title: &str) -> LinePanels {
    LinePanels {
        title: title.to_string(),
        panels: vec![Panel {
            title: "panel".to_string(),
            x_label: "epoch".to_string(),
            y_label: "efficiency (accuracy/kJ)".to_string(),
            series: vec![Series {
                label: "a model with a long name".to_string(),
                points: vec![(1.0, 1.0), (2.0, 2.0), (3.0, 1.5)],
                ..Series::default()
            }],
            ..Panel::default()
        }],
        ..LinePanels::default()
    }
}

fn dark_pixels(
    rgb: &[u8],
    width: u32,
    rows: std::ops::Range<u32>,
    cols: std::ops::Range<u32>,
) -> usize {
    rows.flat_map(|y| cols.clone().map(move |x| ((y * width + x) * 3) as usize))
        .filter(|&i| rgb[i..i + 3].iter().map(|&c| u32::from(c)).sum::<u32>() < 3 * 128)
        .count()
}

fn rgb(page: &Page<'_, impl Body>) -> (Vec<u8>, (u32, u32)) {
    page.rgb()
}

#[test]
fn png_title_text_is_drawn() {
    font::ensure_registered().expect("font");
    let titled = figure("Training efficiency per epoch");
    let (page, _) = lines::prepare(&titled, lines::PANEL).expect("prepare");
    let (pixels, (w, _)) = rgb(&page);
    let theme = Theme::PNG;
    let band = theme.upx(12.0)..theme.upx(12.0) + theme.line_height(super::style::size::TITLE);
    let title_w = theme.measure(&titled.title, super::style::size::TITLE).0;
    let inked = dark_pixels(&pixels, w, band.clone(), 0..w);
    assert!(inked > 500, "only {inked} dark pixels where the title is");
    // Glyphs, not a filled box: most of the band stays background.
    let area = (band.end - band.start) * title_w;
    assert!(inked < area as usize / 2, "{inked} of {area}");

    let untitled = figure("");
    let (page, _) = lines::prepare(&untitled, lines::PANEL).expect("prepare");
    let (pixels, (w, _)) = rgb(&page);
    assert_eq!(dark_pixels(&pixels, w, band, 0..w), 0, "no title, no ink");
}

#[test]
fn legend_is_right_of_the_panels() {
    font::ensure_registered().expect("font");
    let fig = figure("t");
    let (page, _) = lines::prepare(&fig, lines::PANEL).expect("prepare");
    let body_w = page.body.size(&Theme::PNG).0;
    let (pixels, (w, h)) = rgb(&page);
    assert!(w > body_w, "room for the legend");
    // The legend label is drawn to the right of the body.
    assert!(dark_pixels(&pixels, w, 0..h, body_w..w) > 200);
}

#[test]
fn a_million_point_trace_draws_a_few_thousand() {
    use super::{render, Figure, ImageFormat, PowerTrace, Rendered, TraceSource};
    let source = |label: &str, modelled: bool| TraceSource {
        label: label.to_string(),
        modelled,
        points: (0..1_000_000)
            .map(|i| {
                let t = f64::from(i) * 1e-3;
                (t, 200.0 + 50.0 * (t / 3.0).sin() + f64::from(i % 7))
            })
            .collect(),
    };
    let trace = Figure::Trace(PowerTrace {
        title: "1 kHz for 1000 s".to_string(),
        sources: vec![source("gpu0", false), source("dram", true)],
        epoch_boundaries_s: vec![250.0, 500.0, 750.0],
        ..PowerTrace::default()
    });
    let dir = tempfile::tempdir().expect("tempdir");
    let started = std::time::Instant::now();
    let out = render(&trace, &dir.path().join("big"), &ImageFormat::ALL).expect("render");
    let Rendered::Written { files, .. } = out else {
        panic!("skipped: {out:?}");
    };
    eprintln!("rendered 2 × 10⁶ points in {:?}", started.elapsed());
    let svg = std::fs::read_to_string(&files[0]).expect("svg");
    let drawn: usize = svg
        .lines()
        .filter(|l| l.contains(r#"class="series"#))
        .map(|l| {
            l.split("points=\"")
                .nth(1)
                .map_or(0, |p| p.split_whitespace().count())
        })
        .sum();
    assert!(drawn > 1000 && drawn < 4000, "{drawn} points drawn");
    assert!(svg.len() < 200_000, "SVG of {} bytes", svg.len());
}

#[test]
fn many_series_an_empty_panel_and_a_log_x_axis() {
    use super::{render, Figure, ImageFormat, Rendered};
    let widths: [f64; 6] = [8.0, 16.0, 32.0, 64.0, 128.0, 256.0];
    let series = (0..10)
        .map(|k| Series {
            label: format!("model {k}"),
            points: widths
                .iter()
                .map(|w| (*w, (1.0 + f64::from(k)) * w.sqrt()))
                .collect(),
            ..Series::default()
        })
        .collect();
    let fig = Figure::Lines(LinePanels {
        title: "Efficiency by width".to_string(),
        panels: vec![
            Panel {
                title: "by width".to_string(),
                x_label: "width (channels)".to_string(),
                y_label: "efficiency (accuracy/kJ)".to_string(),
                log_x: true,
                log_y: true,
                series,
                ..Panel::default()
            },
            Panel {
                title: "a platform without runs".to_string(),
                x_label: "width (channels)".to_string(),
                y_label: "efficiency (accuracy/kJ)".to_string(),
                ..Panel::default()
            },
        ],
        ..LinePanels::default()
    });
    let dir = tempfile::tempdir().expect("tempdir");
    let stem = dir.path().join("widths");
    let Rendered::Written { files, .. } = render(&fig, &stem, &ImageFormat::ALL).expect("render")
    else {
        panic!("skipped");
    };
    let svg = std::fs::read_to_string(&files[0]).expect("svg");
    assert_eq!(svg.matches(r#"class="series""#).count(), 10);
    // Colours repeat after eight series; the repeats carry dots.
    assert_eq!(svg.matches(r#"class="dot""#).count(), 2 * widths.len());
    assert!(svg.contains("no data"));
    assert!(svg.contains("width (channels), log scale"));
    if let Ok(keep) = std::env::var("TRAINWATT_FIGURE_SAMPLES") {
        for f in &files {
            let name = f.file_name().expect("name");
            std::fs::copy(f, std::path::Path::new(&keep).join(name)).expect("copy");
        }
    }
}
