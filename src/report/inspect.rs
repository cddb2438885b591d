//! The views of one decode result: verdict, fields, TLVs, annotated
//! hexdump, warnings, what follows, and what receivers would do. `render`
//! and `verdict_line` are shared with `send --dry-run`; `human` and `json`
//! are `inspect`'s whole output (with where the bytes came from).

use std::fmt::Write as _;

use serde::Serialize;

use crate::codec::{Decoded, Header};
use crate::input::{self, Format};
use crate::judge::Finding;
use crate::receivers::{Outcome, Prediction};

use super::finding::{self, FindingJson, FixJson};
use super::json::{Doc, HeaderJson, SniffJson};
use super::table::{self, Tone};
use super::{hexdump, Style};

/// What `inspect` found: the input as read, where the header was looked
/// for, the decode result and the predictions. Typed; the views below
/// turn it into text or JSON.
pub(crate) struct Inspected<'a> {
    /// Every byte that was read.
    pub input: &'a [u8],
    pub format: Format,
    /// The size cap that cut a longer input: only its first `cut_at` bytes
    /// were read.
    pub cut_at: Option<u64>,
    /// Where decoding started: 0, or where a signature was found inside
    /// the input (a whole frame, say).
    pub offset: usize,
    pub decoded: Decoded<'a>,
    pub receivers: Vec<Prediction>,
    /// What a receiver that requires a header concludes; none for a valid
    /// header.
    pub finding: Option<Finding>,
}

impl Inspected<'_> {
    /// The bytes that were decoded.
    fn bytes(&self) -> &[u8] {
        &self.input[self.offset..]
    }

    /// A v1 line given without its CRLF (cut short or pasted without it).
    fn missing_crlf(&self) -> bool {
        let short = match self.decoded {
            Decoded::Incomplete { .. } => true,
            Decoded::Invalid(e) => e.code() == "truncated",
            _ => false,
        };
        short && input::v1_without_crlf(self.bytes())
    }
}

/// The hint for a v1 line without its line end.
const NO_CRLF: &str = "the v1 line has no CRLF at its end: a v1 header ends with \\r\\n (in an argument write \\r\\n; printf 'PROXY ...\\r\\n' | ppctl inspect - works too)";

/// Wrap `text` that follows a prefix of `at` columns, continuation lines
/// indented to the same column.
fn wrap_at(style: Style, text: &str, at: usize) -> String {
    let narrow = Style {
        width: style.width.saturating_sub(at as u16).max(40),
        ..style
    };
    table::wrap(narrow, text, 0).replace('\n', &format!("\n{}", " ".repeat(at)))
}

/// The line saying how the input was read.
fn input_line(i: &Inspected<'_>, style: Style) -> String {
    let n = i.input.len();
    let unit = if n == 1 { "byte" } else { "bytes" };
    let read = match i.cut_at {
        Some(cap) => format!(
            " from the first {} of the input; the rest was not read",
            size(cap)
        ),
        None => String::new(),
    };
    let mut s = format!("input: {} ({n} {unit}{read})", i.format.describe());
    if i.offset > 0 {
        let skipped = if i.offset == 1 {
            "the byte before it is skipped".to_string()
        } else {
            format!("the {} bytes before it are skipped", i.offset)
        };
        let _ = write!(
            s,
            "; the PROXY header starts at byte {} ({skipped})",
            i.offset
        );
    }
    style.dim(&table::wrap(style, &s, 2))
}

/// `1 MiB`, `64 KiB`, or bytes.
fn size(n: u64) -> String {
    match n {
        n if n >= 1 << 20 && n % (1 << 20) == 0 => format!("{} MiB", n >> 20),
        n if n >= 1 << 10 && n % (1 << 10) == 0 => format!("{} KiB", n >> 10),
        n => format!("{n} bytes"),
    }
}

/// `inspect`'s human output.
pub(crate) fn human(i: &Inspected<'_>, style: Style) -> String {
    let mut out = input_line(i, style);
    out.push('\n');
    out.push_str(&render(&i.decoded, i.bytes(), &i.receivers, style));
    if i.missing_crlf() {
        let _ = writeln!(
            out,
            "\n{} {}",
            style.warn("hint:"),
            wrap_at(style, NO_CRLF, 6)
        );
    }
    if let Some(f) = i.finding {
        let _ = writeln!(
            out,
            "\n{} {}",
            finding::label(f, style),
            style.dim("(docs/verdicts.md)")
        );
    }
    out
}

/// `inspect --json`: one document of type `inspect`, pretty-printed.
pub(crate) fn json(i: &Inspected<'_>) -> String {
    let mut header = HeaderJson::new(&i.decoded, i.bytes());
    let hint = i.missing_crlf().then_some(NO_CRLF);
    if let (Some(hint), Some(e)) = (hint, header.error.as_mut()) {
        e.hint = hint;
    }
    let case = crate::judge::fixes::Case::default();
    Doc::new(
        "inspect",
        InspectJson {
            header,
            hint,
            input: InputJson {
                format: i.format.name(),
                description: i.format.describe(),
                length: i.input.len(),
                header_offset: i.offset,
                cut_at: i.cut_at,
            },
            finding: i.finding.map(FindingJson::of),
            fixes: FixJson::list(&i.finding.map(Finding::fixes).unwrap_or_default(), case),
            receivers: i.receivers.iter().map(PredictionJson::of).collect(),
        },
    )
    .pretty()
}

/// The `inspect` document: the header's fields (the inspect schema), then
/// the hint, the input, the finding and its fixes, and what each receiver
/// would do.
#[derive(Serialize)]
struct InspectJson {
    #[serde(flatten)]
    header: HeaderJson,
    /// A v1 line without its CRLF: what to write instead.
    #[serde(skip_serializing_if = "Option::is_none")]
    hint: Option<&'static str>,
    input: InputJson,
    finding: Option<FindingJson>,
    fixes: Vec<FixJson>,
    receivers: Vec<PredictionJson>,
}

/// What was read, and where the header was looked for.
#[derive(Serialize)]
struct InputJson {
    format: &'static str,
    description: &'static str,
    length: usize,
    header_offset: usize,
    cut_at: Option<u64>,
}

/// A receiver's prediction: `{receiver, config, outcome, message}`.
#[derive(Serialize)]
struct PredictionJson {
    receiver: &'static str,
    config: &'static str,
    outcome: &'static str,
    message: String,
}

impl PredictionJson {
    fn of(p: &Prediction) -> Self {
        PredictionJson {
            receiver: p.receiver.name(),
            config: p.receiver.config(),
            outcome: p.outcome.name(),
            message: p.message.clone(),
        }
    }
}

/// The one-line verdict, colored.
pub fn verdict_line(d: &Decoded<'_>, style: Style) -> String {
    match d {
        Decoded::Complete(h) => {
            let what = format!(
                "VALID v{} {} {} header ({} bytes)",
                h.version.number(),
                h.command.name(),
                h.protocol_name(),
                h.len()
            );
            match h.warnings.len() {
                0 => style.good(&what),
                1 => format!("{} {}", style.good(&what), style.warn("with 1 warning")),
                n => format!(
                    "{} {}",
                    style.good(&what),
                    style.warn(&format!("with {n} warnings"))
                ),
            }
        }
        Decoded::Invalid(e) => style.bad(&format!("INVALID at byte {}: {}", e.offset, e.kind)),
        Decoded::Incomplete { needed } => {
            let more = if *needed == 1 {
                "1 more byte".to_string()
            } else {
                format!("{needed} more bytes")
            };
            style.warn(&format!(
                "INCOMPLETE: a valid beginning; at least {more} needed"
            ))
        }
        Decoded::NotProxy(s) => style.bad(&format!("NOT A PROXY HEADER: looks like {s}")),
    }
}

/// Render everything about `d` (decoded from `input`).
pub fn render(d: &Decoded<'_>, input: &[u8], receivers: &[Prediction], style: Style) -> String {
    let mut out = String::new();
    match d {
        // A one-tone verdict can be long (the rule's message): wrap it.
        Decoded::Invalid(e) => out.push_str(&style.bad(&wrap_at(
            style,
            &format!("INVALID at byte {}: {}", e.offset, e.kind),
            2,
        ))),
        Decoded::NotProxy(s) => out.push_str(&style.bad(&wrap_at(
            style,
            &format!("NOT A PROXY HEADER: looks like {s}"),
            2,
        ))),
        _ => out.push_str(&verdict_line(d, style)),
    }
    out.push('\n');
    let json = HeaderJson::new(d, input);
    match d {
        Decoded::Complete(h) => complete(&mut out, h, &json, style),
        Decoded::Invalid(e) => {
            let _ = writeln!(out, "  rule: {}", e.kind.rule());
            let _ = writeln!(out, "  fix:  {}\n", wrap_at(style, e.kind.hint(), 8));
            out.push_str(&hexdump::classic(
                &input[..input.len().min(256)],
                Some(e.offset),
                style,
            ));
            if input.len() > 256 {
                out.push_str(
                    &style.dim(&format!("({} more bytes not shown)\n", input.len() - 256)),
                );
            }
        }
        Decoded::Incomplete { .. } => {
            let _ = writeln!(
                out,
                "  {}\n",
                wrap_at(
                    style,
                    "A receiver keeps reading until the header is complete or its timeout fires; if the connection ends here, the header is truncated and rejected.",
                    2
                )
            );
            out.push_str(&hexdump::classic(
                &input[..input.len().min(256)],
                None,
                style,
            ));
        }
        Decoded::NotProxy(_) => {
            if !input.is_empty() {
                out.push('\n');
                out.push_str(&hexdump::classic(
                    &input[..input.len().min(64)],
                    None,
                    style,
                ));
            }
        }
    }
    if !receivers.is_empty() {
        let _ = writeln!(out, "\n{}", style.bold("What receivers would do"));
        out.push_str(&receivers_table(receivers, style));
    }
    out
}

/// The receivers table; the config column goes first when the terminal
/// is narrow, so the message keeps room to wrap.
fn receivers_table(receivers: &[Prediction], style: Style) -> String {
    let wide = style.width >= 110;
    let header: &[&str] = if wide {
        &["receiver", "config", "outcome", "message"]
    } else {
        &["receiver", "outcome", "message"]
    };
    let mut t = table::new(style, header);
    for r in receivers {
        let tone = match r.outcome {
            Outcome::Accept => Tone::Good,
            Outcome::Reject => Tone::Bad,
            Outcome::Wait => Tone::Warn,
        };
        let mut row = vec![table::cell(style, r.receiver.name(), Tone::Plain)];
        if wide {
            row.push(table::cell(style, r.receiver.config(), Tone::Dim));
        }
        row.push(table::cell(style, r.outcome.name(), tone));
        row.push(table::cell(style, &r.message, Tone::Plain));
        t.add_row(row);
    }
    format!("{t}\n")
}

fn complete(out: &mut String, h: &Header<'_>, json: &HeaderJson, style: Style) {
    let mut t = table::new(style, &["field", "value"]);
    let mut row = |k: &str, v: &str, tone: Tone| {
        t.add_row(vec![
            table::cell(style, k, Tone::Plain),
            table::cell(style, v, tone),
        ]);
    };
    row("version", &h.version.number().to_string(), Tone::Plain);
    row("command", h.command.name(), Tone::Plain);
    let proto = match h.family_byte {
        Some(b) => format!("{} (byte 13 = {b:#04x})", h.protocol_name()),
        None => h.protocol_name().to_string(),
    };
    row("protocol", &proto, Tone::Plain);
    let none = "- (receiver uses the real connection)";
    let endpoint = |e: &Option<super::json::EndpointJson>| {
        e.as_ref().map_or(none.to_string(), |s| s.to_string())
    };
    row("source", &endpoint(&json.source), Tone::Plain);
    row("destination", &endpoint(&json.destination), Tone::Plain);
    let length = match h.length_field() {
        Some(l) => format!("{} bytes (16 + len {l})", h.len()),
        None => format!("{} bytes", h.len()),
    };
    row("length", &length, Tone::Plain);
    if let Some(c) = h.crc32c {
        row("crc32c", &format!("{c:#010x} verified"), Tone::Good);
    }
    let _ = writeln!(out, "{t}");

    if !json.tlvs.is_empty() {
        let _ = writeln!(out, "\n{}", style.bold("TLVs"));
        let mut t = table::new(style, &["offset", "type", "name", "length", "value"]);
        for tl in &json.tlvs {
            let value = tl
                .decoded
                .clone()
                .unwrap_or_else(|| format!("0x{}", tl.value));
            t.add_row(vec![
                table::number(style, tl.offset),
                table::cell(style, &format!("{:#04x}", tl.kind), Tone::Plain),
                table::cell(style, tl.name, Tone::Accent),
                table::number(style, tl.length),
                table::cell(style, &value, Tone::Plain),
            ]);
        }
        let _ = writeln!(out, "{t}");
    }

    let _ = writeln!(out, "\n{}", style.bold("Bytes"));
    out.push_str(&hexdump::annotated(h.raw, &hexdump::regions(h), style));

    if !json.warnings.is_empty() {
        let _ = writeln!(out, "\n{}", style.bold("Warnings"));
        for w in &json.warnings {
            let text = wrap_at(style, &format!("{} ({})", w.message, w.code), 4);
            let _ = writeln!(out, "  {} {}", style.warn("!"), text);
        }
    }
    let _ = writeln!(
        out,
        "\n{} {}",
        style.bold("After the header:"),
        payload_line(json.payload.as_ref())
    );
}

fn payload_line(p: Option<&SniffJson>) -> String {
    match p {
        None => "nothing".to_string(),
        Some(p) if p.length == 1 => format!("{} (1 byte)", p.description),
        Some(p) => format!("{} ({} bytes)", p.description, p.length),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec;
    use crate::receivers;

    fn inspected(bytes: &[u8]) -> String {
        let decoded = codec::decode(bytes);
        let i = Inspected {
            input: bytes,
            format: Format::Raw,
            cut_at: None,
            offset: 0,
            decoded,
            receivers: receivers::predict(&decoded, bytes),
            finding: receivers::finding(&decoded),
        };
        human(&i, Style::plain())
    }

    #[test]
    fn fits_80_columns_without_colour() {
        for bytes in [
            &b"PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\nGET / HTTP/1.1\r\n\r\n"[..],
            b"PROXY TCP4 1.2.3.4 5.6.7.8 +80 443\r\n",
            b"PROXY TCP6 1::2::3 ::1 1 2\r\n",
            b"PROXY TCP4 1.2.3.4",
            b"GET /a-rather-long-path/that/goes/on/and/on/and/on/for/a/while/yet HTTP/1.1\r\nHost: x\r\n\r\n",
        ] {
            let text = inspected(bytes);
            for line in text.lines() {
                assert!(line.chars().count() <= 80, "{line:?}");
            }
        }
        let v2 = crate::samples::get("v2").expect("sample");
        for line in inspected(&v2).lines() {
            assert!(line.chars().count() <= 80, "{line:?}");
        }
    }
}
