//! The recorder library: power sources, the sampler, the Parquet sink, and
//! the commands of the `recorder` binary (`sources`, `sample`, `wrap`,
//! `train`, `study`).

pub mod cli;
pub mod clock;
pub mod cmd;
pub mod compact;
pub mod cputime;
pub mod fsutil;
pub mod host;
pub mod rates;
pub mod recording;
pub mod sampler;
pub mod sink;
pub mod sources;
#[cfg(feature = "train")]
pub mod train;
