//! Command-line interface of `recorder`: argument parsing and dispatch. Each
//! command lives in `cmd/`; this file only wires them up and prints errors.

use crate::cmd;
use clap::{Parser, Subcommand};
use std::io::Write;
use std::process::ExitCode;

/// Record power and per-epoch accuracy of training runs (trainwatt).
#[derive(Debug, Parser)]
#[command(name = "recorder", version, about, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List the power sources found here, and those that cannot be used and why.
    Sources(cmd::sources::SourcesArgs),
    /// Sample power only (idle baselines, or alongside anything) into a new run.
    Sample(cmd::sample::SampleArgs),
    /// Run any training command while sampling; epochs come from the child.
    Wrap(cmd::wrap::WrapArgs),
    /// Train a case-study model (lenet, bcnn, bcnn-mcd) while sampling.
    #[cfg(feature = "train")]
    Train(Box<cmd::train::TrainArgs>),
    /// Run a study grid (architectures × widths × datasets × folds × seeds); resumable.
    #[cfg(feature = "train")]
    Study(Box<cmd::study::StudyArgs>),
}

/// Parses the arguments, runs the command, prints any error chain once.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Sources(a) => cmd::sources::run(&a),
        Command::Sample(a) => cmd::sample::run(&a),
        Command::Wrap(a) => cmd::wrap::run(&a),
        #[cfg(feature = "train")]
        Command::Train(a) => cmd::train::run(&a),
        #[cfg(feature = "train")]
        Command::Study(a) => cmd::study::run(&a),
    };
    match result {
        Ok(code) => code,
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "recorder: error: {}", error_text(&e));
            ExitCode::FAILURE
        }
    }
}

fn error_text(e: &anyhow::Error) -> String {
    trainwatt_trace::cli_error::error_line(e.as_ref())
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    trainwatt_trace::cli_error::is_broken_pipe(e.as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn causes_are_printed_once() {
        let io = std::io::Error::other("No space left on device");
        let e = anyhow::Error::new(io)
            .context("writing part-1.parquet: No space left on device (earlier files intact)")
            .context("recording failed");
        assert_eq!(
            error_text(&e),
            "recording failed: writing part-1.parquet: No space left on device (earlier files intact)"
        );
        let e = anyhow::Error::new(std::io::Error::other("denied")).context("opening x");
        assert_eq!(error_text(&e), "opening x: denied");
    }
}
