//! The analyzer library: archive scan -> energy per epoch -> criteria ->
//! metrics -> exporters. The binary's `main.rs` only calls [`cli::main`].

pub mod archive;
pub mod cli;
pub mod model;
