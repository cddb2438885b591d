//! Turning what a user typed or piped into bytes: hex (spaces, `0x`, `:`
//! and `\x` separators allowed) or text with `\r \n \t \0 \\ \xNN` escapes.
//! The guess is automatic; `Encoding` forces it.

use thiserror::Error;

/// How to read input bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Encoding {
    /// Hex if it looks like hex, else escaped text (argument) or raw bytes (file, stdin).
    #[default]
    Auto,
    /// Hex digits; whitespace, `0x`, `:`, `-` and `\x` separators are ignored.
    Hex,
    /// Text with \r \n \t \0 \\ \xNN escapes (for an argument).
    Text,
    /// The bytes as they are (for a file or stdin).
    Raw,
}

impl Encoding {
    /// Every encoding, in the order `--help` lists them.
    pub const ALL: [Encoding; 4] = [Encoding::Auto, Encoding::Hex, Encoding::Text, Encoding::Raw];

    /// The name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Encoding::Auto => "auto",
            Encoding::Hex => "hex",
            Encoding::Text => "text",
            Encoding::Raw => "raw",
        }
    }

    /// What the encoding means, in one line (for `--help`).
    pub fn describe(self) -> &'static str {
        match self {
            Encoding::Auto => {
                "hex if it looks like hex, else escaped text (argument) or raw bytes (file, stdin)"
            }
            Encoding::Hex => {
                "hex digits; whitespace, `0x`, `:`, `-` and `\\x` separators are ignored"
            }
            Encoding::Text => "text with \\r \\n \\t \\0 \\\\ \\xNN escapes (for an argument)",
            Encoding::Raw => "the bytes as they are (for a file or stdin)",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum InputError {
    #[error("invalid hex digit {found:?} at character {position}; use hex digits 0-9a-f (spaces and 0x are fine), or --encoding text")]
    HexDigit { found: char, position: usize },
    #[error("odd number of hex digits ({0}); every byte needs two digits")]
    HexOdd(usize),
    #[error("bad escape at character {position}: {message}")]
    Escape {
        position: usize,
        message: &'static str,
    },
}

/// True when `s` contains only hex digits and the separators hex dumps use.
pub fn looks_like_hex(s: &str) -> bool {
    let digits = hex_digits(s);
    match digits {
        Ok(d) => !d.is_empty() && d.len() % 2 == 0,
        Err(_) => false,
    }
}

/// Strip separators and return the hex digits, or the first bad character.
fn hex_digits(s: &str) -> Result<Vec<u8>, InputError> {
    let mut out = Vec::with_capacity(s.len());
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c.is_whitespace() || c == ':' || c == '-' || c == ',' {
            i += 1;
        } else if (c == '0' && matches!(next, Some('x') | Some('X')))
            || (c == '\\' && matches!(next, Some('x') | Some('X')))
        {
            i += 2;
        } else if c.is_ascii_hexdigit() {
            out.push(c as u8);
            i += 1;
        } else {
            return Err(InputError::HexDigit {
                found: c,
                position: i,
            });
        }
    }
    Ok(out)
}

/// Decode hex, ignoring separators.
pub fn parse_hex(s: &str) -> Result<Vec<u8>, InputError> {
    let digits = hex_digits(s)?;
    if digits.len() % 2 != 0 {
        return Err(InputError::HexOdd(digits.len()));
    }
    // Only hex digits remain, so this can't fail; map the error anyway.
    hex::decode(&digits).map_err(|_| InputError::HexOdd(digits.len()))
}

/// Decode text with C-style escapes.
pub fn parse_escaped(s: &str) -> Result<Vec<u8>, InputError> {
    let mut out = Vec::with_capacity(s.len());
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'\\' {
            out.push(bytes[i]);
            i += 1;
            continue;
        }
        let esc = |message| InputError::Escape {
            position: i,
            message,
        };
        match bytes.get(i + 1) {
            Some(b'r') => out.push(b'\r'),
            Some(b'n') => out.push(b'\n'),
            Some(b't') => out.push(b'\t'),
            Some(b'0') => out.push(0),
            Some(b'\\') => out.push(b'\\'),
            Some(b'x') => {
                let h = bytes
                    .get(i + 2..i + 4)
                    .ok_or_else(|| esc("\\x needs two hex digits"))?;
                let h = std::str::from_utf8(h).map_err(|_| esc("\\x needs two hex digits"))?;
                let b = u8::from_str_radix(h, 16).map_err(|_| esc("\\x needs two hex digits"))?;
                out.push(b);
                i += 4;
                continue;
            }
            Some(_) => return Err(esc("unknown escape; use \\r \\n \\t \\0 \\\\ or \\xNN")),
            None => return Err(esc("a trailing backslash")),
        }
        i += 2;
    }
    Ok(out)
}

/// Bytes from a command-line argument.
pub fn from_argument(s: &str, enc: Encoding) -> Result<Vec<u8>, InputError> {
    match enc {
        Encoding::Hex => parse_hex(s),
        Encoding::Raw => Ok(s.as_bytes().to_vec()),
        Encoding::Text => parse_escaped(s),
        Encoding::Auto if looks_like_hex(s) => parse_hex(s),
        Encoding::Auto => parse_escaped(s),
    }
}

/// Bytes from a file or stdin: raw unless it is (or is told to be) hex text.
pub fn from_bytes(raw: Vec<u8>, enc: Encoding) -> Result<Vec<u8>, InputError> {
    let as_text = || std::str::from_utf8(&raw).ok();
    match enc {
        Encoding::Raw => Ok(raw),
        Encoding::Hex => parse_hex(&String::from_utf8_lossy(&raw)),
        Encoding::Text => match as_text() {
            Some(t) => parse_escaped(t),
            None => Ok(raw),
        },
        Encoding::Auto => match as_text() {
            Some(t) if looks_like_hex(t) => parse_hex(t),
            _ => Ok(raw),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_with_separators() {
        assert_eq!(
            parse_hex("0d 0a 0x0d:0A").unwrap(),
            vec![0x0d, 0x0a, 0x0d, 0x0a]
        );
        assert_eq!(parse_hex("\\x50\\x52").unwrap(), b"PR".to_vec());
        assert!(matches!(
            parse_hex("0g"),
            Err(InputError::HexDigit {
                found: 'g',
                position: 1
            })
        ));
        assert_eq!(parse_hex("abc"), Err(InputError::HexOdd(3)));
    }

    #[test]
    fn escapes() {
        assert_eq!(
            parse_escaped("PROXY\\r\\n\\x00\\\\").unwrap(),
            b"PROXY\r\n\0\\".to_vec()
        );
        assert!(parse_escaped("bad\\q").is_err());
        assert!(parse_escaped("bad\\x4").is_err());
        assert!(parse_escaped("bad\\").is_err());
    }

    #[test]
    fn guesses() {
        assert_eq!(
            from_argument("5052", Encoding::Auto).unwrap(),
            b"PR".to_vec()
        );
        assert_eq!(
            from_argument("PROXY UNKNOWN\\r\\n", Encoding::Auto).unwrap(),
            b"PROXY UNKNOWN\r\n".to_vec()
        );
        assert_eq!(
            from_bytes(b"50 52\n".to_vec(), Encoding::Auto).unwrap(),
            b"PR".to_vec()
        );
        assert_eq!(
            from_bytes(b"PROXY".to_vec(), Encoding::Auto).unwrap(),
            b"PROXY".to_vec()
        );
    }
}
