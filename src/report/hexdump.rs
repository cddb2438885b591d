//! Hexdumps: an annotated one (each region of a header on its own line,
//! labelled) and a classic one with one byte marked (where a rule broke).

use crate::codec::{self, tlv, Addresses, Header, Version};

use super::Style;

/// A labelled byte range of a header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Region {
    pub start: usize,
    pub end: usize,
    pub label: String,
}

fn region(start: usize, end: usize, label: impl Into<String>) -> Region {
    Region {
        start,
        end,
        label: label.into(),
    }
}

/// Split a decoded header into labelled regions covering every byte.
pub fn regions(h: &Header<'_>) -> Vec<Region> {
    match h.version {
        Version::V1 => v1_regions(h),
        Version::V2 => v2_regions(h),
    }
}

fn v1_regions(h: &Header<'_>) -> Vec<Region> {
    let raw = h.raw;
    let body = raw.len() - 2;
    let names = [
        "protocol",
        "source address",
        "destination address",
        "source port",
        "destination port",
    ];
    let mut out = vec![region(0, 6, "signature \"PROXY \"")];
    let mut start = 6;
    let mut i = 0;
    while start < body {
        let end = raw[start..body]
            .iter()
            .position(|&b| b == b' ')
            .map_or(body, |p| start + p);
        let label = if i == 1 && h.family == codec::Family::Unspec {
            "ignored after UNKNOWN".to_string()
        } else {
            names.get(i).copied().unwrap_or("ignored").to_string()
        };
        if i >= 1 && h.family == codec::Family::Unspec {
            out.push(region(start, body, label));
            break;
        }
        // Include the separating space in the field's region.
        out.push(region(start, (end + 1).min(body), label));
        start = end + 1;
        i += 1;
    }
    out.push(region(body, raw.len(), "CRLF"));
    out
}

fn v2_regions(h: &Header<'_>) -> Vec<Region> {
    let raw = h.raw;
    let mut out = vec![
        region(0, 12, "signature"),
        region(12, 13, format!("version 2, command {}", h.command.name())),
        region(13, 14, format!("family/transport {}", h.protocol_name())),
        region(14, 16, format!("len = {}", raw.len() - 16)),
    ];
    let mut at = 16;
    match h.addresses {
        Addresses::Inet { src, dst } => {
            let n = if src.is_ipv4() { 4 } else { 16 };
            out.push(region(at, at + n, format!("source address {}", src.ip())));
            out.push(region(
                at + n,
                at + 2 * n,
                format!("destination address {}", dst.ip()),
            ));
            out.push(region(
                at + 2 * n,
                at + 2 * n + 2,
                format!("source port {}", src.port()),
            ));
            out.push(region(
                at + 2 * n + 2,
                at + 2 * n + 4,
                format!("destination port {}", dst.port()),
            ));
            at += 2 * n + 4;
        }
        Addresses::Unix { src, dst } => {
            let show = |raw: &[u8]| match codec::unix_path(raw) {
                Some((true, p)) => format!("@{p}"),
                Some((false, p)) => p.to_string(),
                None => "(not UTF-8)".to_string(),
            };
            out.push(region(at, at + 108, format!("source path {}", show(src))));
            out.push(region(
                at + 108,
                at + 216,
                format!("destination path {}", show(dst)),
            ));
            at += 216;
        }
        Addresses::None => {}
    }
    if at < h.tlv_start {
        out.push(region(at, h.tlv_start, "address block (ignored)"));
    }
    for t in h.tlvs() {
        let decoded = match t.decoded() {
            tlv::Value::Bytes(_) => String::new(),
            v => format!(": {v}"),
        };
        out.push(region(
            t.offset,
            t.value_offset() + t.value.len(),
            format!("TLV {} ({:#04x}){decoded}", t.name(), t.kind),
        ));
    }
    out
}

/// One line per region (long regions wrap at 16 bytes):
/// `offset  hex bytes  label`.
pub fn annotated(raw: &[u8], regions: &[Region], style: Style) -> String {
    // 55 columns of offset and bytes; the label gets the rest, wrapped
    // onto more lines when it is longer.
    let room = usize::from(style.width).saturating_sub(55).max(16);
    let mut out = String::new();
    for r in regions {
        let bytes = &raw[r.start.min(raw.len())..r.end.min(raw.len())];
        let labels = wrap_label(&r.label, room);
        let mut rows = 0;
        for (i, chunk) in bytes.chunks(16).enumerate() {
            let hex: Vec<String> = chunk.iter().map(|b| format!("{b:02x}")).collect();
            let label = labels.get(i).map_or(String::new(), |l| style.accent(l));
            out.push_str(
                format!("{:04x}  {:<47}  {}", r.start + i * 16, hex.join(" "), label).trim_end(),
            );
            out.push('\n');
            rows = i + 1;
            if i == 3 && bytes.len() > 80 {
                out.push_str(&format!(
                    "      {:<47}  {}\n",
                    "...",
                    style.dim(&format!("({} bytes)", bytes.len()))
                ));
                break;
            }
        }
        for l in labels.iter().skip(rows) {
            out.push_str(&format!("      {:<47}  {}\n", "", style.accent(l)));
        }
    }
    out
}

/// Split a label into lines of at most `room` characters, at spaces where
/// it can.
fn wrap_label(label: &str, room: usize) -> Vec<String> {
    let mut lines = vec![String::new()];
    for word in label.split(' ') {
        let mut word: Vec<char> = word.chars().collect();
        loop {
            let line = lines.last_mut().expect("one line");
            let len = line.chars().count();
            let sep = usize::from(len > 0);
            if len + sep + word.len() <= room {
                if sep == 1 {
                    line.push(' ');
                }
                line.extend(word.iter());
                break;
            }
            if len > 0 {
                lines.push(String::new());
                continue;
            }
            // A word longer than a whole line: cut it.
            let rest = word.split_off(room);
            line.extend(word.iter());
            word = rest;
            lines.push(String::new());
        }
    }
    lines.retain(|l| !l.is_empty());
    lines
}

/// Classic 16-bytes-per-line dump, with `mark` highlighted and pointed at.
pub fn classic(bytes: &[u8], mark: Option<usize>, style: Style) -> String {
    let mut out = String::new();
    for (line, chunk) in bytes.chunks(16).enumerate() {
        let base = line * 16;
        let mut hex = String::new();
        for (i, b) in chunk.iter().enumerate() {
            if i > 0 {
                hex.push(' ');
            }
            let cell = format!("{b:02x}");
            if mark == Some(base + i) {
                hex.push_str(&style.bad(&cell));
            } else {
                hex.push_str(&cell);
            }
        }
        let pad = 47usize.saturating_sub(chunk.len() * 3 - 1);
        let ascii: String = chunk
            .iter()
            .map(|&b| {
                if (0x20..0x7f).contains(&b) {
                    b as char
                } else {
                    '.'
                }
            })
            .collect();
        out.push_str(&format!(
            "{base:08x}  {hex}{}  |{ascii}|\n",
            " ".repeat(pad)
        ));
        if let Some(m) = mark {
            if m >= base && m < base + 16 {
                out.push_str(&format!(
                    "{}{}\n",
                    " ".repeat(10 + (m - base) * 3),
                    style.bad(&format!("^^ byte {m}"))
                ));
            }
        }
    }
    if let Some(m) = mark {
        if m >= bytes.len() {
            out.push_str(&format!(
                "{}\n",
                style.bad(&format!(
                    "^^ byte {m} (just past the {} bytes given)",
                    bytes.len()
                ))
            ));
        }
    }
    out
}
