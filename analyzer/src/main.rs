//! `analyzer`: thin entry point; everything lives in the `analyzer` library.

fn main() -> std::process::ExitCode {
    analyzer::cli::main()
}
