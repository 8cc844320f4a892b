//! The analyzer library.

pub mod cli;
