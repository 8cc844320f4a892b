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
            let _ = writeln!(std::io::stderr(), "recorder: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
