//! The recorder library: power sources, the sampler, the Parquet sink, and
//! the commands of the `recorder` binary (`sources`, `sample`, `wrap`,
//! `train`, `study`).

pub mod cli;
pub mod host;
pub mod sources;
