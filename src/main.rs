//! The `ppctl` binary: parse arguments, run, map the result to an exit code.

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = ppctl::cli::Cli::parse();
    cli.run().into()
}
