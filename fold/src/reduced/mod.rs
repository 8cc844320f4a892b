//! The reduced table (docs/reduced-format.md): its schema and its rows.

mod rows;
pub mod schema;

pub use rows::reduced_batch;
