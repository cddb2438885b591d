//! The human view of one decode result: verdict, fields, TLVs, annotated
//! hexdump, warnings, what follows, and what receivers would do. Shared by
//! `inspect` and `send --dry-run`.

use comfy_table::{presets, Cell, ContentArrangement, Table};

use crate::codec::{Decoded, Header};
use crate::receivers::Prediction;

use super::json::{HeaderJson, SniffJson};
use super::{hexdump, Style};

/// A table in ppctl's house style: UTF-8 borders on a color terminal,
/// ASCII otherwise (so piped output stays plain).
pub fn table(style: Style, header: &[&str]) -> Table {
    let mut t = Table::new();
    t.load_preset(if style.color {
        presets::UTF8_FULL_CONDENSED
    } else {
        presets::ASCII_FULL_CONDENSED
    })
    .set_content_arrangement(ContentArrangement::Dynamic);
    if !header.is_empty() {
        t.set_header(header.iter().map(|h| Cell::new(style.bold(h))));
    }
    t
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
            if h.warnings.is_empty() {
                style.good(&what)
            } else {
                format!(
                    "{} {}",
                    style.good(&what),
                    style.warn(&format!("with {} warning(s)", h.warnings.len()))
                )
            }
        }
        Decoded::Invalid(e) => style.bad(&format!("INVALID at byte {}: {}", e.offset, e.kind)),
        Decoded::Incomplete { needed } => style.warn(&format!(
            "INCOMPLETE: a valid beginning; at least {needed} more byte(s) needed"
        )),
        Decoded::NotProxy(s) => style.bad(&format!("NOT A PROXY HEADER: looks like {s}")),
    }
}

/// Render everything about `d` (decoded from `input`).
pub fn render(d: &Decoded<'_>, input: &[u8], receivers: &[Prediction], style: Style) -> String {
    let mut out = String::new();
    out.push_str(&verdict_line(d, style));
    out.push('\n');
    let json = HeaderJson::new(d, input);
    match d {
        Decoded::Complete(h) => complete(&mut out, h, &json, style),
        Decoded::Invalid(e) => {
            out.push_str(&format!(
                "  rule: {}\n  fix:  {}\n\n",
                e.kind.rule(),
                e.kind.hint()
            ));
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
            out.push_str("  A receiver keeps reading until the header is complete or its timeout fires; if the\n  connection ends here, the header is truncated and rejected.\n\n");
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
        out.push_str(&format!("\n{}\n", style.bold("What receivers would do")));
        let mut t = table(style, &["receiver", "config", "outcome", "message"]);
        for r in receivers {
            let outcome = match r.outcome {
                "accept" => style.good(r.outcome),
                "reject" => style.bad(r.outcome),
                _ => style.warn(r.outcome),
            };
            t.add_row(vec![
                Cell::new(r.receiver),
                Cell::new(r.config),
                Cell::new(outcome),
                Cell::new(&r.message),
            ]);
        }
        out.push_str(&format!("{t}\n"));
    }
    out
}

fn complete(out: &mut String, h: &Header<'_>, json: &HeaderJson, style: Style) {
    let mut t = table(style, &["field", "value"]);
    t.add_row(vec!["version", &h.version.number().to_string()]);
    t.add_row(vec!["command", h.command.name()]);
    let proto = match h.family_byte {
        Some(b) => format!("{} (byte 13 = {b:#04x})", h.protocol_name()),
        None => h.protocol_name().to_string(),
    };
    t.add_row(vec!["protocol", &proto]);
    let none = "- (receiver uses the real connection)".to_string();
    t.add_row(vec![
        "source",
        &json.source.as_ref().map_or(none.clone(), |s| s.to_string()),
    ]);
    t.add_row(vec![
        "destination",
        &json.destination.as_ref().map_or(none, |s| s.to_string()),
    ]);
    let length = match h.length_field() {
        Some(l) => format!("{} bytes (16 + len {l})", h.len()),
        None => format!("{} bytes", h.len()),
    };
    t.add_row(vec!["length", &length]);
    if let Some(c) = h.crc32c {
        t.add_row(vec![
            "crc32c".to_string(),
            style.good(&format!("{c:#010x} verified")),
        ]);
    }
    out.push_str(&format!("{t}\n"));

    if !json.tlvs.is_empty() {
        out.push_str(&format!("\n{}\n", style.bold("TLVs")));
        let mut t = table(style, &["offset", "type", "name", "length", "value"]);
        for tl in &json.tlvs {
            let value = tl
                .decoded
                .clone()
                .unwrap_or_else(|| format!("0x{}", tl.value));
            t.add_row(vec![
                tl.offset.to_string(),
                format!("{:#04x}", tl.kind),
                tl.name.to_string(),
                tl.length.to_string(),
                value,
            ]);
        }
        out.push_str(&format!("{t}\n"));
    }

    out.push_str(&format!("\n{}\n", style.bold("Bytes")));
    out.push_str(&hexdump::annotated(h.raw, &hexdump::regions(h), style));

    if !json.warnings.is_empty() {
        out.push_str(&format!("\n{}\n", style.bold("Warnings")));
        for w in &json.warnings {
            out.push_str(&format!(
                "  {} {} ({})\n",
                style.warn("!"),
                w.message,
                style.dim(w.code)
            ));
        }
    }
    out.push_str(&format!(
        "\n{} {}\n",
        style.bold("After the header:"),
        payload_line(json.payload.as_ref())
    ));
}

fn payload_line(p: Option<&SniffJson>) -> String {
    match p {
        None => "nothing".to_string(),
        Some(p) => format!("{} ({} bytes)", p.description, p.length),
    }
}
