//! YAML with line numbers: yaml-rust2's events folded into a small tree
//! whose every node knows its line. Anchors and aliases are expanded (with
//! a cap, so an alias bomb is an error, not an allocation failure) and
//! merge keys (`<<: *defaults`) are applied as YAML 1.1 defines them.

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

use super::{Loc, ParseError};

/// A YAML node and the line it starts on.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Node {
    pub line: usize,
    pub value: Value,
    /// A literal block scalar (`key: |`): its lines are the file's lines
    /// from [`Node::line`] on, so text read from it keeps line numbers.
    pub literal: bool,
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

/// How many nodes aliases may add in one input (the copies an alias
/// makes): far above what anchors in a real configuration expand to, far
/// below what an alias bomb asks for.
pub(crate) const MAX_ALIAS_NODES: usize = 1_000_000;

fn size(n: &Node) -> usize {
    1 + match &n.value {
        Value::Scalar(_) => 0,
        Value::Seq(v) => v.iter().map(size).sum(),
        Value::Map(pairs) => pairs.iter().map(|(k, v)| size(k) + size(v)).sum(),
    }
}

/// A mapping with its merge keys applied: `<<: *a` (or `<<: [*a, *b]`)
/// adds the keys of those mappings that the mapping does not set itself;
/// the first listed wins.
fn merged(pairs: Vec<(Node, Node)>) -> Vec<(Node, Node)> {
    if !pairs.iter().any(|(k, _)| k.str() == Some("<<")) {
        return pairs;
    }
    let (merges, mut own): (Vec<_>, Vec<_>) =
        pairs.into_iter().partition(|(k, _)| k.str() == Some("<<"));
    for (_, from) in merges {
        let sources = match from.value {
            Value::Map(p) => vec![p],
            Value::Seq(items) => items
                .into_iter()
                .filter_map(|n| match n.value {
                    Value::Map(p) => Some(p),
                    _ => None,
                })
                .collect(),
            Value::Scalar(_) => Vec::new(),
        };
        for source in sources {
            for (k, v) in source {
                if !own
                    .iter()
                    .any(|(o, _)| o.str().is_some() && o.str() == k.str())
                {
                    own.push((k, v));
                }
            }
        }
    }
    own
}

#[derive(Default)]
struct Builder {
    docs: Vec<Node>,
    stack: Vec<(Node, Option<usize>, Option<Node>)>,
    anchors: Vec<(usize, Node, usize)>,
    /// Nodes added by aliases so far.
    expanded: usize,
    /// The line of the alias that went over [`MAX_ALIAS_NODES`].
    bomb: Option<usize>,
}

impl Builder {
    fn push(&mut self, node: Node, anchor: usize) {
        if anchor > 0 {
            let n = size(&node);
            self.anchors.push((anchor, node.clone(), n));
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

    fn start(&mut self, line: usize, value: Value, anchor: usize) {
        self.stack.push((
            Node {
                line,
                value,
                literal: false,
            },
            Some(anchor),
            None,
        ));
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        let line = mark.line();
        match ev {
            Event::Scalar(s, style, anchor, _) => {
                let literal = style == TScalarStyle::Literal;
                // A literal block's marker is its first non-blank line.
                let line = if literal {
                    line.saturating_sub(s.bytes().take_while(|&b| b == b'\n').count())
                } else {
                    line
                };
                self.push(
                    Node {
                        line,
                        value: Value::Scalar(s),
                        literal,
                    },
                    anchor,
                )
            }
            Event::Alias(id) => {
                let found = self.anchors.iter().rev().find(|(a, ..)| *a == id);
                let node = match found {
                    Some((_, n, count)) if self.bomb.is_none() => {
                        self.expanded += count;
                        if self.expanded > MAX_ALIAS_NODES {
                            self.bomb = Some(line);
                            None
                        } else {
                            Some(n.clone())
                        }
                    }
                    _ => None,
                };
                let node = node.unwrap_or(Node {
                    line,
                    value: Value::Scalar(String::new()),
                    literal: false,
                });
                self.push(node, 0);
            }
            Event::SequenceStart(anchor, _) => self.start(line, Value::Seq(Vec::new()), anchor),
            Event::MappingStart(anchor, _) => self.start(line, Value::Map(Vec::new()), anchor),
            Event::SequenceEnd | Event::MappingEnd => {
                if let Some((mut node, anchor, _)) = self.stack.pop() {
                    if let Value::Map(pairs) = node.value {
                        node.value = Value::Map(merged(pairs));
                    }
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
    Parser::new_from_str(text).load(&mut b, true).map_err(|e| {
        ParseError::new(
            Loc::new(file, e.marker().line()),
            format!("not valid YAML: {}", e.info()),
        )
    })?;
    if let Some(line) = b.bomb {
        return Err(ParseError::new(
            Loc::new(file, line),
            format!("YAML aliases here expand to more than {MAX_ALIAS_NODES} nodes (an alias bomb?): check does not expand them further"),
        ));
    }
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
        assert_eq!(&*e.at.file, "f.yaml");
        assert!(e.at.line >= 2, "{e}");
    }
}
