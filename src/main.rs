//! The `ppctl` binary: parse arguments, run, map the result to an exit code.

fn main() -> std::process::ExitCode {
    match ppctl::cli::Cli::parse_or_exit_code() {
        Ok(cli) => cli.run().into(),
        Err(code) => code.into(),
    }
}
