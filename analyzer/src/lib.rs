//! The analyzer library: archive scan -> energy per epoch -> criteria ->
//! metrics -> exporters. The binary's `main.rs` only calls [`cli::main`].
//!
//! - [`archive`] reads run folders into [`model::RunData`];
//! - [`replay`] replays stopping criteria on them and aggregates runs
//!   (folds, seeds) into models;
//! - [`metrics`] computes Eq. 2–4, spreads and ratios as pure functions;
//! - [`cmd`] turns those into the tables each command prints;
//! - [`export`] renders tables as text, Markdown, CSV, LaTeX or JSON.

pub mod archive;
pub mod cli;
pub mod cmd;
pub mod curves;
pub mod export;
pub mod figures;
pub mod metrics;
pub mod model;
pub mod reduced;
pub mod replay;
pub mod report;
