//! The commands' logic as library functions: each takes loaded data and
//! options and returns an [`crate::export::Report`], so tests can check the
//! tables without a terminal, and `cli` only parses flags and prints.

pub mod efficiency;
pub mod epochs;
pub mod overtraining;
pub mod paper_tables;
pub mod platforms;
pub mod reduce;
pub mod rows_csv;
pub mod tables;
