//! Hexdump with marked regions (signature, addresses, each TLV...).

/// A named byte range of a header, for the annotated hexdump.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Region {
    pub start: usize,
    pub end: usize,
    pub label: String,
}

/// Classic 16-bytes-per-line dump: offset, hex, ASCII.
pub fn plain(bytes: &[u8]) -> String {
    let mut out = String::new();
    for (i, chunk) in bytes.chunks(16).enumerate() {
        let hex: Vec<String> = chunk.iter().map(|b| format!("{b:02x}")).collect();
        let ascii: String = chunk
            .iter()
            .map(|&b| if (0x20..0x7f).contains(&b) { b as char } else { '.' })
            .collect();
        out.push_str(&format!("{:08x}  {:<47}  |{}|\n", i * 16, hex.join(" "), ascii));
    }
    out
}
