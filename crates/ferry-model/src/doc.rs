//! A read-only document tree that borrows its text from the source.
//!
//! [`Node`] owns every key and scalar, which is what code that edits objects
//! needs. Reading manifests only to reduce them to facts needs much less: a
//! [`Doc`] keeps all the values of a document in flat arrays (values, sequence
//! items, mapping entries, document roots), with keys
//! and scalars borrowed from the input text wherever YAML escapes leave them
//! unchanged, and a [`DocNode`] is a copyable handle into it with the same
//! read methods as [`Node`]. The loader builds a `Doc` per document, so that a
//! large input costs a few allocations per document rather than one per value.
//!
//! Trees from elsewhere (objects read from a cluster) are viewed the same way
//! with [`Doc::from_node`], which borrows the node's strings.

use std::borrow::Cow;

use crate::node::{Node, Scalar, Value, bool_text, null_text};

/// All values of one YAML chunk (usually one document), in flat arrays.
#[derive(Debug, Clone, Default)]
pub struct Doc<'a> {
    pub(crate) slots: Vec<Slot<'a>>,
    /// Items of sequences; each sequence's items are contiguous.
    pub(crate) items: Vec<u32>,
    /// Entries of mappings; each mapping's entries are contiguous.
    pub(crate) entries: Vec<(Cow<'a, str>, u32)>,
    /// The documents' roots, `None` for an empty document.
    pub(crate) roots: Vec<Option<u32>>,
}

#[derive(Debug, Clone)]
pub(crate) struct Slot<'a> {
    pub line: u32,
    pub kind: SlotKind<'a>,
}

#[derive(Debug, Clone)]
pub(crate) enum SlotKind<'a> {
    Scalar { text: Cow<'a, str>, plain: bool },
    Seq { start: u32, len: u32 },
    Map { start: u32, len: u32 },
}

/// One value of a [`Doc`] and the line it starts on.
#[derive(Clone, Copy)]
pub struct DocNode<'d> {
    doc: &'d Doc<'d>,
    index: u32,
}

impl std::fmt::Debug for DocNode<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.to_node().fmt(f)
    }
}

impl<'a> Doc<'a> {
    /// A view of an owned tree, borrowing its keys and scalars.
    pub fn from_node(node: &'a Node) -> Doc<'a> {
        let mut doc = Doc::default();
        let root = doc.push_node(node);
        doc.roots.push(Some(root));
        doc
    }

    fn push_node(&mut self, node: &'a Node) -> u32 {
        let index = self.slots.len() as u32;
        match &node.value {
            Value::Scalar(s) => {
                self.slots.push(Slot { line: node.line, kind: SlotKind::Scalar { text: Cow::Borrowed(&s.text), plain: s.plain } });
            }
            Value::Seq(items) => {
                let start = self.items.len();
                self.slots.push(Slot { line: node.line, kind: SlotKind::Seq { start: start as u32, len: items.len() as u32 } });
                self.items.resize(start + items.len(), 0);
                for (i, item) in items.iter().enumerate() {
                    self.items[start + i] = self.push_node(item);
                }
            }
            Value::Map(entries) => {
                let start = self.entries.len();
                self.slots.push(Slot { line: node.line, kind: SlotKind::Map { start: start as u32, len: entries.len() as u32 } });
                self.entries.extend(entries.iter().map(|(k, _)| (Cow::Borrowed(k.as_str()), 0)));
                for (i, (_, value)) in entries.iter().enumerate() {
                    self.entries[start + i].1 = self.push_node(value);
                }
            }
        }
        index
    }

    /// The roots of the documents in this chunk, `None` for empty documents.
    pub fn roots(&self) -> impl ExactSizeIterator<Item = Option<DocNode<'_>>> + '_ {
        self.roots.iter().map(|r| r.map(|index| DocNode { doc: self.shrink(), index }))
    }

    /// The first document's root, when there is one (as for [`Doc::from_node`]).
    pub fn root(&self) -> Option<DocNode<'_>> {
        self.roots.first().copied().flatten().map(|index| DocNode { doc: self.shrink(), index })
    }

    fn shrink<'d>(&'d self) -> &'d Doc<'d> {
        self
    }

    /// The same values, owning their text (for input that does not outlive the parse).
    pub(crate) fn into_owned(self) -> Doc<'static> {
        let own = |c: Cow<'_, str>| Cow::Owned(c.into_owned());
        Doc {
            slots: self
                .slots
                .into_iter()
                .map(|s| Slot {
                    line: s.line,
                    kind: match s.kind {
                        SlotKind::Scalar { text, plain } => SlotKind::Scalar { text: own(text), plain },
                        SlotKind::Seq { start, len } => SlotKind::Seq { start, len },
                        SlotKind::Map { start, len } => SlotKind::Map { start, len },
                    },
                })
                .collect(),
            items: self.items,
            entries: self.entries.into_iter().map(|(k, v)| (own(k), v)).collect(),
            roots: self.roots,
        }
    }
}

impl<'d> DocNode<'d> {
    pub(crate) fn new(doc: &'d Doc<'d>, index: u32) -> Self {
        DocNode { doc, index }
    }

    fn slot(self) -> &'d Slot<'d> {
        &self.doc.slots[self.index as usize]
    }

    fn node(self, index: u32) -> DocNode<'d> {
        DocNode { doc: self.doc, index }
    }

    /// 1-based line in the source file; 0 when the source has no lines.
    pub fn line(self) -> u32 {
        self.slot().line
    }

    /// The value under `key` when this node is a mapping.
    pub fn get(self, key: &str) -> Option<DocNode<'d>> {
        self.entry_slice().iter().find(|(k, _)| k == key).map(|&(_, v)| self.node(v))
    }

    /// The value at a path of mapping keys, e.g. `["spec", "template"]`.
    pub fn at(self, path: &[&str]) -> Option<DocNode<'d>> {
        path.iter().try_fold(self, |node, key| node.get(key))
    }

    /// The text of a non-null scalar.
    pub fn as_str(self) -> Option<&'d str> {
        match &self.slot().kind {
            SlotKind::Scalar { text, plain } if !null_text(text, *plain) => Some(text),
            _ => None,
        }
    }

    /// The boolean an unquoted `true`/`false` scalar reads as.
    pub fn as_bool(self) -> Option<bool> {
        match &self.slot().kind {
            SlotKind::Scalar { text, plain } => bool_text(text, *plain),
            _ => None,
        }
    }

    /// The text of the scalar at `key`, if any.
    pub fn str_at(self, key: &str) -> Option<&'d str> {
        self.get(key).and_then(DocNode::as_str)
    }

    /// Whether this is a mapping.
    pub fn is_map(self) -> bool {
        matches!(self.slot().kind, SlotKind::Map { .. })
    }

    /// Whether this is a sequence.
    pub fn is_seq(self) -> bool {
        matches!(self.slot().kind, SlotKind::Seq { .. })
    }

    /// Whether this is a scalar that reads as null.
    pub fn is_null(self) -> bool {
        matches!(&self.slot().kind, SlotKind::Scalar { text, plain } if null_text(text, *plain))
    }

    fn entry_slice(self) -> &'d [(Cow<'d, str>, u32)] {
        match self.slot().kind {
            SlotKind::Map { start, len } => &self.doc.entries[start as usize..(start + len) as usize],
            _ => &[],
        }
    }

    /// The items of a sequence (none for anything else).
    pub fn items(self) -> impl ExactSizeIterator<Item = DocNode<'d>> + DoubleEndedIterator + Clone + 'd {
        let slice: &'d [u32] = match self.slot().kind {
            SlotKind::Seq { start, len } => &self.doc.items[start as usize..(start + len) as usize],
            _ => &[],
        };
        let doc = self.doc;
        slice.iter().map(move |&index| DocNode { doc, index })
    }

    /// The entries of a mapping (none for anything else).
    pub fn entries(self) -> impl ExactSizeIterator<Item = (&'d str, DocNode<'d>)> + DoubleEndedIterator + Clone + 'd {
        let doc = self.doc;
        self.entry_slice().iter().map(move |(k, index)| (&**k, DocNode { doc, index: *index }))
    }

    /// Entries of a mapping whose values are scalars, as string pairs.
    pub fn string_entries(self) -> impl Iterator<Item = (&'d str, &'d str)> + 'd {
        self.entries().filter_map(|(k, v)| v.as_str().map(|v| (k, v)))
    }

    /// An owned copy of this value and everything below it.
    pub fn to_node(self) -> Node {
        let value = match &self.slot().kind {
            SlotKind::Scalar { text, plain } => Value::Scalar(Scalar { text: text.to_string(), plain: *plain }),
            SlotKind::Seq { .. } => Value::Seq(self.items().map(DocNode::to_node).collect()),
            SlotKind::Map { .. } => Value::Map(self.entries().map(|(k, v)| (k.to_owned(), v.to_node())).collect()),
        };
        Node { line: self.line(), value }
    }

    /// How many values this one stands for (itself and everything below it).
    pub(crate) fn count_values(self) -> usize {
        1 + match self.slot().kind {
            SlotKind::Scalar { .. } => 0,
            SlotKind::Seq { .. } => self.items().map(DocNode::count_values).sum(),
            SlotKind::Map { .. } => self.entries().map(|(_, v)| v.count_values()).sum(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_view_of_a_node_reads_like_the_node() {
        let json = serde_json::json!({"a": [1, "x", null], "b": {"c": "5672", "d": true}, "e": "null"});
        let node: Node = serde_json::from_value(json).unwrap();
        let doc = Doc::from_node(&node);
        let root = doc.root().unwrap();
        assert_eq!(root.to_node(), node);
        assert_eq!(root.at(&["b", "c"]).and_then(DocNode::as_str), Some("5672"));
        assert_eq!(root.at(&["b", "d"]).and_then(DocNode::as_bool), Some(true));
        assert_eq!(root.get("a").unwrap().items().map(DocNode::as_str).collect::<Vec<_>>(), [Some("1"), Some("x"), None]);
        assert_eq!(root.str_at("e"), Some("null"), "a quoted null is a string");
        assert_eq!(root.entries().map(|(k, _)| k).collect::<Vec<_>>(), ["a", "b", "e"]);
        assert!(root.get("missing").is_none() && root.get("a").unwrap().get("x").is_none());
        assert_eq!(root.get("a").unwrap().entries().count(), 0);
    }

    #[test]
    fn owned_copies_keep_everything() {
        let node: Node = serde_json::from_value(serde_json::json!({"k": ["v", {"n": 1}]})).unwrap();
        let owned = Doc::from_node(&node).into_owned();
        assert_eq!(owned.root().unwrap().to_node(), node);
    }
}
