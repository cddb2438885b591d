//! Color policy: `--color auto|always|never`, NO_COLOR honoured, and plain
//! output when stdout is not a terminal.

use std::io::IsTerminal;

use colored::{ColoredString, Colorize};

/// `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ColorChoice {
    /// Color when stdout is a terminal and NO_COLOR is not set.
    #[default]
    Auto,
    Always,
    Never,
}

/// Decides once whether to color, how wide the terminal is and whether it
/// takes box-drawing characters, then paints text accordingly.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub color: bool,
    /// Columns to fit: `COLUMNS`, else the terminal's width, else 80.
    pub width: u16,
    /// Box-drawing borders (a terminal, or colour forced on); plain ASCII
    /// borders otherwise, so files and pipes stay 7-bit.
    pub unicode: bool,
}

/// The width every table and paragraph fits: `COLUMNS` when set (as
/// `ls` and `git` honour it), else the terminal's, else 80.
fn terminal_width() -> u16 {
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<u16>().ok())
        .filter(|&c| c >= 20)
        .or_else(|| terminal_size::terminal_size().map(|(w, _)| w.0))
        .unwrap_or(80)
}

impl Style {
    pub fn new(choice: ColorChoice) -> Self {
        let color = match choice {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                    && std::io::stdout().is_terminal()
            }
        };
        // `colored` has its own global switch; keep it in step.
        colored::control::set_override(color);
        Style {
            color,
            width: terminal_width(),
            unicode: color || std::io::stdout().is_terminal(),
        }
    }

    /// No colour, ASCII borders, 80 columns: for tests and logs.
    pub fn plain() -> Self {
        Style {
            color: false,
            width: 80,
            unicode: false,
        }
    }

    fn paint(&self, s: &str, f: impl Fn(&str) -> ColoredString) -> String {
        if self.color {
            f(s).to_string()
        } else {
            s.to_string()
        }
    }

    pub fn good(&self, s: &str) -> String {
        self.paint(s, |s| s.green().bold())
    }
    pub fn bad(&self, s: &str) -> String {
        self.paint(s, |s| s.red().bold())
    }
    pub fn warn(&self, s: &str) -> String {
        self.paint(s, |s| s.yellow().bold())
    }
    pub fn dim(&self, s: &str) -> String {
        self.paint(s, |s| s.dimmed())
    }
    pub fn bold(&self, s: &str) -> String {
        self.paint(s, |s| s.bold())
    }
    pub fn accent(&self, s: &str) -> String {
        self.paint(s, |s| s.cyan())
    }
}
