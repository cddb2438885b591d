//! YAML with line numbers: yaml-rust2's events folded into a small tree
//! whose every node knows its line.

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::Marker;

use super::{Loc, ParseError};

/// A YAML node and the line it starts on.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Node {
    pub line: usize,
    pub value: Value,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    Scalar(String),
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

impl Node {
    /// The value under `key` in a mapping.
    pub(crate) fn get(&self, key: &str) -> Option<&Node> {
        match &self.value {
            Value::Map(pairs) => pairs
                .iter()
                .find(|(k, _)| k.str() == Some(key))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    /// The line of `key` itself in a mapping (`data:`), not of its value.
    pub(crate) fn key_line(&self, key: &str) -> Option<usize> {
        match &self.value {
            Value::Map(pairs) => pairs
                .iter()
                .find(|(k, _)| k.str() == Some(key))
                .map(|(k, _)| k.line),
            _ => None,
        }
    }

    /// A mapping's key/value pairs (none for other nodes).
    pub(crate) fn entries(&self) -> Vec<(&Node, &Node)> {
        match &self.value {
            Value::Map(pairs) => pairs.iter().map(|(k, v)| (k, v)).collect(),
            _ => Vec::new(),
        }
    }

    /// The value at a path of keys.
    pub(crate) fn path(&self, keys: &[&str]) -> Option<&Node> {
        keys.iter().try_fold(self, |n, k| n.get(k))
    }

    /// A scalar's text (YAML's `~`/`null` is no text).
    pub(crate) fn str(&self) -> Option<&str> {
        match &self.value {
            Value::Scalar(s) if s != "~" && s != "null" => Some(s),
            _ => None,
        }
    }

    pub(crate) fn items(&self) -> &[Node] {
        match &self.value {
            Value::Seq(v) => v,
            _ => &[],
        }
    }
}

#[derive(Default)]
struct Builder {
    docs: Vec<Node>,
    stack: Vec<(Node, Option<usize>, Option<Node>)>,
    anchors: Vec<(usize, Node)>,
}

impl Builder {
    fn push(&mut self, node: Node, anchor: usize) {
        if anchor > 0 {
            self.anchors.push((anchor, node.clone()));
        }
        match self.stack.last_mut() {
            None => self.docs.push(node),
            Some((parent, _, pending)) => match &mut parent.value {
                Value::Seq(v) => v.push(node),
                Value::Map(pairs) => match pending.take() {
                    None => *pending = Some(node),
                    Some(key) => pairs.push((key, node)),
                },
                Value::Scalar(_) => {}
            },
        }
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        let line = mark.line();
        match ev {
            Event::Scalar(s, _, anchor, _) => self.push(
                Node {
                    line,
                    value: Value::Scalar(s),
                },
                anchor,
            ),
            Event::Alias(id) => {
                let node = self
                    .anchors
                    .iter()
                    .rev()
                    .find(|(a, _)| *a == id)
                    .map(|(_, n)| n.clone())
                    .unwrap_or(Node {
                        line,
                        value: Value::Scalar(String::new()),
                    });
                self.push(node, 0);
            }
            Event::SequenceStart(anchor, _) => self.stack.push((
                Node {
                    line,
                    value: Value::Seq(Vec::new()),
                },
                Some(anchor),
                None,
            )),
            Event::MappingStart(anchor, _) => self.stack.push((
                Node {
                    line,
                    value: Value::Map(Vec::new()),
                },
                Some(anchor),
                None,
            )),
            Event::SequenceEnd | Event::MappingEnd => {
                if let Some((node, anchor, _)) = self.stack.pop() {
                    self.push(node, anchor.unwrap_or(0));
                }
            }
            _ => {}
        }
    }
}

/// Every document of a YAML stream.
pub(crate) fn parse(file: &str, text: &str) -> Result<Vec<Node>, ParseError> {
    let mut b = Builder::default();
    Parser::new_from_str(text)
        .load(&mut b, true)
        .map_err(|e| ParseError {
            at: Loc::new(file, e.marker().line()),
            message: format!("not valid YAML: {}", e.info()),
        })?;
    Ok(b.docs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_one_based_and_documents_split() {
        let docs = parse("t", "a: 1\nb:\n  c: x\n---\n- 1\n- 2\n").unwrap();
        assert_eq!(docs.len(), 2);
        let c = docs[0].path(&["b", "c"]).unwrap();
        assert_eq!((c.str(), c.line), (Some("x"), 3));
        assert_eq!(docs[1].items().len(), 2);
        assert_eq!(docs[1].items()[1].line, 6);
    }

    #[test]
    fn errors_have_a_line() {
        let e = parse("f.yaml", "a: 1\nb: [\n").unwrap_err();
        assert_eq!(e.at.file, "f.yaml");
        assert!(e.at.line >= 2, "{e}");
    }
}
