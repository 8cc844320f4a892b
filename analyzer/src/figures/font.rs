//! The one typeface every figure uses, embedded in the binary.
//!
//! Plotters' default text path (`ttf`) asks font-kit for a system font, which
//! a fresh machine or a container may not have: the PNG would then fail or
//! come out without any text. With the `ab_glyph` feature plotters instead
//! rasterises fonts registered at run time, so we ship DejaVu Sans
//! (Bitstream Vera licence, see `assets/DejaVuSans-LICENSE.txt`) and register
//! it once under the generic family name, which is also what the SVG files
//! name in `font-family`, so a viewer substitutes its own sans-serif.

use super::FigureError;
use plotters::style::{register_font, FontStyle};
use std::sync::OnceLock;

/// DejaVu Sans 2.37, unmodified.
static DEJAVU_SANS: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");

/// The family name figures ask for; see [`super::style::Theme::font`].
pub(crate) const FAMILY: &str = "sans-serif";

/// Registers the embedded font with plotters; later calls are free.
pub(crate) fn ensure_registered() -> Result<(), FigureError> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok =
        *REGISTERED.get_or_init(|| register_font(FAMILY, FontStyle::Normal, DEJAVU_SANS).is_ok());
    if ok {
        Ok(())
    } else {
        Err(FigureError::Font)
    }
}
