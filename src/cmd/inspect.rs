//! `ppctl inspect`: decode and explain bytes.

use std::path::PathBuf;

use crate::error::{ExitCode, Result};
use crate::render::Style;

#[derive(Debug, clap::Args)]
pub struct InspectArgs {
    /// The bytes: hex (spaces and 0x allowed), or text with \r \n \xNN
    /// escapes; `-` reads raw bytes from stdin. Without it, a built-in
    /// sample is used.
    pub input: Option<String>,
    /// Read the bytes from a file.
    #[arg(long, short, conflicts_with = "input")]
    pub file: Option<PathBuf>,
    /// Print one JSON object (docs/json.md).
    #[arg(long)]
    pub json: bool,
}

pub fn run(_args: &InspectArgs, _style: Style) -> Result<ExitCode> {
    Ok(ExitCode::Success)
}
