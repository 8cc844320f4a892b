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
