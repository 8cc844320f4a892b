//! The `recorder` subcommands, one file each, plus what they share.

pub mod common;
pub mod output;
pub mod sample;
pub mod sources;
#[cfg(feature = "train")]
pub mod study;
#[cfg(feature = "train")]
pub mod train;
pub mod wrap;
