//! Pixel-level checks of the PNG rendering (text really drawn, sizes).
