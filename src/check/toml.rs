//! TOML with line numbers (Traefik's static configuration): toml_edit's
//! document, with its spans, turned into the same tree as [`super::yaml`].

use toml_edit::{Document, Item, Key, Table, Value as TValue};

use super::yaml::{Node, Value};
use super::{Loc, ParseError};

fn line_of(text: &str, offset: Option<usize>) -> usize {
    offset.map_or(1, |o| {
        text.as_bytes()[..o.min(text.len())]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1
    })
}

fn key_line(text: &str, key: Option<&Key>, fallback: usize) -> usize {
    key.and_then(Key::span)
        .map_or(fallback, |s| line_of(text, Some(s.start)))
}

fn scalar(line: usize, s: String) -> Node {
    Node {
        line,
        value: Value::Scalar(s),
        literal: false,
    }
}

fn value(text: &str, v: &TValue, line: usize) -> Node {
    let line = v.span().map_or(line, |s| line_of(text, Some(s.start)));
    match v {
        TValue::String(s) => scalar(line, s.value().clone()),
        TValue::Integer(i) => scalar(line, i.value().to_string()),
        TValue::Float(f) => scalar(line, f.value().to_string()),
        TValue::Boolean(b) => scalar(line, b.value().to_string()),
        TValue::Datetime(d) => scalar(line, d.value().to_string()),
        TValue::Array(a) => Node {
            line,
            value: Value::Seq(a.iter().map(|v| value(text, v, line)).collect()),
            literal: false,
        },
        TValue::InlineTable(t) => Node {
            line,
            value: Value::Map(
                t.iter()
                    .map(|(k, v)| {
                        let kl = key_line(text, t.get_key_value(k).map(|(k, _)| k), line);
                        (scalar(kl, k.to_string()), value(text, v, kl))
                    })
                    .collect(),
            ),
            literal: false,
        },
    }
}

fn table(text: &str, t: &Table, line: usize) -> Node {
    let line = t.span().map_or(line, |s| line_of(text, Some(s.start)));
    Node {
        line,
        value: Value::Map(
            t.iter()
                .map(|(k, item)| {
                    let kl = key_line(text, t.get_key_value(k).map(|(k, _)| k), line);
                    (scalar(kl, k.to_string()), self::item(text, item, kl))
                })
                .collect(),
        ),
        literal: false,
    }
}

fn item(text: &str, i: &Item, line: usize) -> Node {
    match i {
        Item::Value(v) => value(text, v, line),
        Item::Table(t) => table(text, t, line),
        Item::ArrayOfTables(a) => Node {
            line,
            value: Value::Seq(a.iter().map(|t| table(text, t, line)).collect()),
            literal: false,
        },
        Item::None => scalar(line, String::new()),
    }
}

/// A TOML document as one node.
pub(crate) fn parse(file: &str, text: &str) -> Result<Node, ParseError> {
    let doc = Document::parse(text.to_string()).map_err(|e| {
        ParseError::new(
            Loc::new(file, line_of(text, e.span().map(|s| s.start))),
            format!("not valid TOML: {}", e.message()),
        )
    })?;
    Ok(table(text, doc.as_table(), 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_keep_their_lines() {
        let t = "[entryPoints.web]\naddress = \":80\"\n\n[entryPoints.web.proxyProtocol]\ninsecure = true\n";
        let n = parse("t.toml", t).unwrap();
        let pp = n
            .path(&["entryPoints", "web", "proxyProtocol", "insecure"])
            .unwrap();
        assert_eq!((pp.str(), pp.line), (Some("true"), 5));
        assert_eq!(n.path(&["entryPoints", "web", "address"]).unwrap().line, 2);
    }
}
