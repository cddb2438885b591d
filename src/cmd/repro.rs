//! `ppctl repro`: run the sender x receiver matrix and explain it.

use std::time::Duration;

use crate::error::{Error, ExitCode, Result};
use crate::net::Target;
use crate::report::Style;
use crate::repro;

#[derive(Debug, clap::Args)]
pub struct ReproArgs {
    /// Run the sender column (no header, v1, v2) against this receiver
    /// (HOST:PORT) and say which receiver column it behaves like.
    #[arg(long, value_name = "HOST:PORT")]
    pub target: Option<Target>,
    /// With --target: how long to wait for each reply.
    #[arg(long, default_value = "5s", value_name = "DURATION", value_parser = crate::cli::parse_duration)]
    pub timeout: Duration,
    /// Print the matrix as one JSON object (docs/json.md).
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: &ReproArgs, style: Style) -> Result<ExitCode> {
    let matrix = crate::net::runtime()?
        .block_on(async {
            match &args.target {
                Some(t) => repro::run_target(t.clone(), args.timeout).await,
                None => repro::run_local().await,
            }
        })
        .map_err(|e| Error::Other(e.into()))?;
    let text = if args.json {
        format!(
            "{}\n",
            serde_json::to_string_pretty(&matrix).map_err(|e| Error::Other(e.into()))?
        )
    } else {
        repro::human(&matrix, style)
    };
    super::print(&text)?;
    Ok(ExitCode::check(if args.target.is_some() {
        !matrix.matches.is_empty()
    } else {
        matrix.all_as_predicted
    }))
}
