//! Builds [`Node`] trees from granit-parser events, keeping line numbers.
//!
//! Aliases are expanded (with a budget, so that an alias bomb is an error and
//! not an out-of-memory) and `<<` merge keys are applied.

use std::collections::HashMap;

use granit_parser::{Event, Parser, ScalarStyle, Span};

use crate::node::{Node, Scalar, Value};

/// The most values one document may expand to through aliases.
const ALIAS_BUDGET: usize = 1_000_000;

/// A syntax error, located by line within the file.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SyntaxError {
    pub line: u32,
    pub message: String,
}

/// Parses one chunk of a file into its documents. `first_line` is the file
/// line on which the chunk starts; `None` stands for an empty document.
pub(crate) fn parse_documents(text: &str, first_line: u32) -> Result<Vec<Option<Node>>, SyntaxError> {
    let mut builder = Builder::new(first_line);
    for event in Parser::new_from_str(text) {
        let (event, span) = event.map_err(|e| SyntaxError {
            line: builder.file_line(e.marker().line()),
            message: e.info(),
        })?;
        builder.handle(event, span)?;
    }
    Ok(builder.documents)
}

enum Frame {
    Seq { line: u32, anchor: usize, items: Vec<Node> },
    Map { line: u32, anchor: usize, entries: Vec<(String, Node)>, key: Option<(String, u32)> },
}

struct Builder {
    first_line: u32,
    stack: Vec<Frame>,
    anchors: HashMap<usize, (Node, usize)>,
    documents: Vec<Option<Node>>,
    root: Option<Node>,
    expanded: usize,
}

impl Builder {
    fn new(first_line: u32) -> Self {
        Builder { first_line, stack: Vec::new(), anchors: HashMap::new(), documents: Vec::new(), root: None, expanded: 0 }
    }

    fn file_line(&self, chunk_line: usize) -> u32 {
        self.first_line + (chunk_line.max(1) as u32) - 1
    }

    fn handle(&mut self, event: Event<'_>, span: Span) -> Result<(), SyntaxError> {
        let line = self.file_line(span.start.line());
        match event {
            Event::DocumentStart(..) => {
                self.anchors.clear();
                self.expanded = 0;
            }
            Event::DocumentEnd => {
                let root = self.root.take().filter(|n| !is_empty_scalar(n));
                self.documents.push(root);
            }
            Event::Scalar(text, style, anchor, _tag) => {
                let node = Node::scalar(line, text.into_owned(), style == ScalarStyle::Plain);
                self.complete(node, anchor);
            }
            Event::SequenceStart(_, anchor, _) => self.stack.push(Frame::Seq { line, anchor, items: Vec::new() }),
            Event::MappingStart(_, anchor, _) => {
                self.stack.push(Frame::Map { line, anchor, entries: Vec::new(), key: None })
            }
            Event::SequenceEnd | Event::MappingEnd => self.close_collection(),
            Event::Alias(id) => self.expand_alias(id, line)?,
            _ => {}
        }
        Ok(())
    }

    fn close_collection(&mut self) {
        match self.stack.pop() {
            Some(Frame::Seq { line, anchor, items }) => self.complete(Node { line, value: Value::Seq(items) }, anchor),
            Some(Frame::Map { line, anchor, entries, .. }) => {
                let node = Node { line, value: Value::Map(apply_merge_keys(entries)) };
                self.complete(node, anchor)
            }
            None => {}
        }
    }

    fn expand_alias(&mut self, id: usize, line: u32) -> Result<(), SyntaxError> {
        let Some((node, size)) = self.anchors.get(&id) else {
            return Err(SyntaxError { line, message: "alias refers to an unknown anchor".into() });
        };
        self.expanded += size;
        if self.expanded > ALIAS_BUDGET {
            return Err(SyntaxError { line, message: format!("aliases expand to more than {ALIAS_BUDGET} values") });
        }
        let node = node.clone();
        self.complete(node, 0);
        Ok(())
    }

    fn complete(&mut self, node: Node, anchor: usize) {
        if anchor != 0 {
            self.anchors.insert(anchor, (node.clone(), count_values(&node)));
        }
        match self.stack.last_mut() {
            None => self.root = Some(node),
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map { entries, key, .. }) => match key.take() {
                None => {
                    let line = node.line;
                    *key = Some((key_text(node), line));
                }
                Some((k, key_line)) => entries.push((k, scalar_at_key_line(node, key_line))),
            },
        }
    }
}

/// A block scalar (`key: |`) starts below its key; its evidence line is the key's.
fn scalar_at_key_line(mut node: Node, key_line: u32) -> Node {
    if matches!(node.value, Value::Scalar(_)) && node.line > key_line {
        node.line = key_line;
    }
    node
}

fn is_empty_scalar(node: &Node) -> bool {
    matches!(&node.value, Value::Scalar(s) if s.is_null())
}

fn key_text(node: Node) -> String {
    match node.value {
        Value::Scalar(Scalar { text, .. }) => text,
        _ => node.to_json().to_string(),
    }
}

fn count_values(node: &Node) -> usize {
    1 + match &node.value {
        Value::Scalar(_) => 0,
        Value::Seq(items) => items.iter().map(count_values).sum(),
        Value::Map(entries) => entries.iter().map(|(_, v)| count_values(v)).sum(),
    }
}

/// Applies YAML `<<` merge keys: merged entries never override explicit ones.
fn apply_merge_keys(entries: Vec<(String, Node)>) -> Vec<(String, Node)> {
    if !entries.iter().any(|(k, _)| k == "<<") {
        return entries;
    }
    let (merges, mut own): (Vec<_>, Vec<_>) = entries.into_iter().partition(|(k, _)| k == "<<");
    for (_, merge) in merges {
        let sources = match merge.value {
            Value::Seq(items) => items,
            other => vec![Node { line: merge.line, value: other }],
        };
        for source in sources {
            if let Value::Map(inherited) = source.value {
                for (k, v) in inherited {
                    if !own.iter().any(|(existing, _)| *existing == k) {
                        own.push((k, v));
                    }
                }
            }
        }
    }
    own
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> Node {
        parse_documents(text, 1).unwrap().into_iter().next().flatten().unwrap()
    }

    #[test]
    fn values_remember_their_lines() {
        let doc = one("a: 1\nb:\n  c: hello\n  d:\n    - x\n    - y\n");
        assert_eq!(doc.get("a").unwrap().line, 1);
        assert_eq!(doc.at(&["b", "c"]).unwrap().line, 3);
        assert_eq!(doc.at(&["b", "d"]).unwrap().items()[1].line, 6);
    }

    #[test]
    fn block_scalars_are_located_at_their_key() {
        let doc = one("a: 1\nscript: |\n  echo hi\n  echo there\n");
        assert_eq!(doc.get("script").unwrap().line, 2);
    }

    #[test]
    fn first_line_offsets_every_line() {
        let doc = one("a: 1\nb: 2\n");
        let shifted = parse_documents("a: 1\nb: 2\n", 41).unwrap()[0].clone().unwrap();
        assert_eq!(shifted.get("b").unwrap().line, doc.get("b").unwrap().line + 40);
    }

    #[test]
    fn aliases_and_merge_keys_expand() {
        let doc = one("base: &b {x: 1, y: 2}\nderived:\n  <<: *b\n  y: 3\n");
        let derived = doc.get("derived").unwrap();
        assert_eq!(derived.str_at("x"), Some("1"));
        assert_eq!(derived.str_at("y"), Some("3"));
    }

    #[test]
    fn alias_bomb_is_an_error_not_an_allocation() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..9 {
            let refs = vec![format!("*a{}", i - 1); 10].join(", ");
            text.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
        }
        let err = parse_documents(&text, 1).unwrap_err();
        assert!(err.message.contains("aliases expand"), "{err:?}");
    }

    #[test]
    fn syntax_error_names_the_file_line() {
        let err = parse_documents("a: 1\nb: [unclosed\nc: 3\n", 10).unwrap_err();
        assert!(err.line >= 11, "{err:?}");
    }

    #[test]
    fn empty_and_comment_only_documents_are_none() {
        assert_eq!(parse_documents("# only a comment\n", 1).unwrap(), Vec::<Option<Node>>::new());
        assert_eq!(parse_documents("---\n", 1).unwrap(), vec![None]);
    }

    #[test]
    fn json_parses_as_yaml() {
        let doc = one("{\n\t\"kind\": \"List\",\n\t\"items\": [ {\"a\": \"b\"} ]\n}\n");
        assert_eq!(doc.str_at("kind"), Some("List"));
        assert_eq!(doc.get("items").unwrap().items()[0].line, 3);
    }
}
