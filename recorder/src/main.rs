//! `recorder`: thin entry point; everything lives in the `recorder` library.

fn main() -> std::process::ExitCode {
    recorder::cli::main()
}
