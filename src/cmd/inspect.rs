//! `ppctl inspect`: decode and explain bytes. Reads the input, finds the
//! header, decodes it and predicts receivers; report/inspect.rs renders.

use std::io::{IsTerminal, Read};
use std::path::PathBuf;

use super::values::Choice;
use crate::codec::{self, Decoded};
use crate::error::{Error, ExitCode, Result};
use crate::input::{self, Encoding, Parsed};
use crate::receivers;
use crate::report::{inspect, Style};
use crate::samples;

/// The most input `inspect` reads: the largest v2 header plus room for the
/// payload that follows (and for a hex dump of it).
const MAX_INPUT: u64 = 1 << 20;

#[derive(Debug, clap::Args)]
#[command(after_help = concat!("\
Examples:
  ppctl inspect 'PROXY TCP4 1.2.3.4 5.6.7.8 1000 80\\r\\n'
  ppctl inspect 0d0a0d0a000d0a515549540a20000000
  printf 'PROXY UNKNOWN\\r\\n' | ppctl inspect -
  ppctl inspect --file capture.bin --json
  ppctl inspect --sample v2

Input: hex, a tcpdump -X/-xx, tshark -x, xxd or hexdump -C dump (so
`tcpdump -X -r capture.pcap -c 1 'tcp[tcpflags] & tcp-push != 0' | ppctl
inspect -` works: the first packet with data, not the SYN), base64 (a v2
header starts DQoNCgANClFVSVQK), a Python b'...' literal, text with \\r \\n
\\xNN escapes, or raw bytes (file, stdin). In a whole frame, the header is
found by its signature and its offset is shown. A file or stdin is read up
to 1 MiB: a longer paste is cut at its last whole line, byte or escape, and
the output says so.

", super::exit_rule!(), "
inspect judges the bytes as a receiver that expects a header reads them: 0
for one valid header; 1 for invalid-header, missing-header (not a header at
all) and incomplete (cut short: a receiver waits for the rest, then drops
the connection)."))]
pub struct InspectArgs {
    /// The bytes: hex, a hex dump, base64, a Python b'...' literal, or text
    /// with \r \n \xNN escapes; `-` reads stdin, and a path that exists
    /// (`capture.bin`, `<(...)`) is read as --file. Without INPUT, stdin is
    /// read when it is not a terminal.
    pub input: Option<String>,
    /// Read the bytes from a file (raw, or any of the text forms).
    #[arg(long, short, conflicts_with_all = ["input", "sample"])]
    pub file: Option<PathBuf>,
    /// Inspect a built-in sample: v1, v2, aws-nlb, health-check, broken, http.
    #[arg(long, conflicts_with = "input")]
    pub sample: Option<String>,
    /// How to read the input; the default recognises the form.
    #[arg(long, default_value = "auto", value_parser = Choice::new(&Encoding::ALL, Encoding::name, Encoding::describe))]
    pub encoding: Encoding,
    /// Print one JSON object (schema in docs/json.md).
    #[arg(long)]
    pub json: bool,
    /// Treat the input as everything there will ever be: a header cut short
    /// is reported as truncated (invalid), not as incomplete.
    #[arg(long)]
    pub eof: bool,
}

pub fn run(args: &InspectArgs, style: Style) -> Result<ExitCode> {
    let (parsed, cut) = read_input(args)?;
    let bytes = &parsed.bytes;
    let decode = |b| {
        if args.eof {
            codec::decode_final(b)
        } else {
            codec::decode(b)
        }
    };
    // Bytes that are not a header at their start may hold one further on
    // (a whole Ethernet/IP/TCP frame): decode from its signature.
    let mut offset = 0;
    let mut decoded = decode(bytes);
    if let (Decoded::NotProxy(_), Some(at)) = (&decoded, input::header_offset(bytes)) {
        offset = at;
        decoded = decode(&bytes[at..]);
    }
    let found = inspect::Inspected {
        input: bytes,
        format: parsed.format,
        cut_at: cut.then_some(MAX_INPUT),
        offset,
        decoded,
        receivers: receivers::predict(&decoded, &bytes[offset..]),
        finding: receivers::finding(&decoded),
    };
    if args.json {
        super::print(&inspect::json(&found))?;
    } else {
        super::print(&inspect::human(&found, style))?;
    }
    Ok(ExitCode::check(matches!(decoded, Decoded::Complete(_))))
}

/// The input's bytes, and whether it was longer than [`MAX_INPUT`] (only
/// its start was read).
fn read_input(args: &InspectArgs) -> Result<(Parsed, bool)> {
    let enc = args.encoding;
    let bad = |what: String, e: input::InputError| Error::usage(format!("{what}: {e}"));
    if let Some(name) = &args.sample {
        return samples::get(name)
            .map(|bytes| {
                let format = input::Format::Hex;
                (Parsed { bytes, format }, false)
            })
            .ok_or_else(|| {
                Error::usage(format!(
                    "no sample named {name:?}; try one of: {}",
                    samples::names().join(", ")
                ))
            });
    }
    let named = match args.input.as_deref() {
        Some(arg) => super::names_a_file(arg)?,
        None => None,
    };
    if let Some(path) = args.file.as_deref().or(named) {
        let f = std::fs::File::open(path)
            .map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
        let raw =
            read_bounded(f).map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
        return parse(raw, enc).map_err(|e| bad(format!("in {}", path.display()), e));
    }
    match args.input.as_deref() {
        Some("-") => read_stdin(enc),
        Some(text) => input::read_argument(text, enc)
            .map(|p| (p, false))
            .map_err(|e| bad("in INPUT".into(), e)),
        None if !std::io::stdin().is_terminal() => read_stdin(enc),
        None => Err(Error::usage(
            "no input: give bytes as an argument (hex, a dump, base64 or text), --file PATH, `-` for stdin, or --sample NAME",
        )),
    }
}

fn read_stdin(enc: Encoding) -> Result<(Parsed, bool)> {
    let raw = read_bounded(std::io::stdin().lock()).map_err(|e| Error::io("reading stdin", e))?;
    parse(raw, enc).map_err(|e| Error::usage(format!("on stdin: {e}")))
}

/// Bytes from what was read: an input the cap cut is read as the start of
/// a longer one (each text form up to its last whole unit).
fn parse((raw, cut): (Vec<u8>, bool), enc: Encoding) -> Result<(Parsed, bool), input::InputError> {
    let parsed = if cut {
        input::read_prefix(raw, enc)
    } else {
        input::read_bytes(raw, enc)
    };
    parsed.map(|p| (p, cut))
}

/// Up to [`MAX_INPUT`] bytes, and whether there was more.
fn read_bounded(r: impl Read) -> std::io::Result<(Vec<u8>, bool)> {
    let mut buf = Vec::new();
    r.take(MAX_INPUT + 1).read_to_end(&mut buf)?;
    let cut = buf.len() as u64 > MAX_INPUT;
    buf.truncate(MAX_INPUT as usize);
    Ok((buf, cut))
}
