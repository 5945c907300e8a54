//! Builds [`Doc`] trees from granit-parser events, keeping line numbers and
//! borrowing keys and scalars from the input text.
//!
//! Aliases are expanded (with a budget, so that an alias bomb is an error and
//! not an out-of-memory) and `<<` merge keys are applied.

use std::borrow::Cow;
use std::collections::HashMap;

use granit_parser::{ErrorKind, Event, Parser, ScalarStyle, ScanError, Span};

use crate::doc::{Doc, DocNode, Slot, SlotKind};

/// The most values one document may expand to through aliases.
const ALIAS_BUDGET: usize = 1_000_000;

/// How deep values may nest. The parser allows 255 levels of flow and 255 of block
/// collections; aliases could nest anchored collections in one another far deeper, and code
/// that walks trees (facts, owned copies) recurses once per level.
const MAX_DEPTH: u32 = 1_000;

/// The longest JSON text of a mapping or sequence used as a key. Such a key is its JSON text,
/// which escapes the text of the keys nested in it: each level of nesting doubled it (26
/// levels of `{`, 64 bytes of input, took 1.8 s and 243 MB; the fuzzer's 1 kB input ran out of
/// 2 GB after 19 s).
const COMPLEX_KEY_LIMIT: usize = 4096;

/// How many under-indented quoted-scalar lines one document may have re-indented.
const MAX_REINDENTED_LINES: usize = 1_000;

/// How much text the re-indenting may parse again in all: each line re-indented means one
/// more parse of the whole chunk, so a large chunk gets fewer attempts (a 5 MB document with
/// many such lines was parsed up to 1,000 times).
const REINDENT_BUDGET: usize = 16 << 20;

/// A syntax error, located by line within the file.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SyntaxError {
    pub line: u32,
    pub message: String,
}

/// Parses one chunk of a file into its documents. `first_line` is the file
/// line on which the chunk starts; an empty document has no root.
///
/// kubectl's YAML reader (like libyaml and PyYAML) accepts continuation lines of
/// a quoted scalar that are indented no deeper than the key they belong to,
/// which YAML 1.2 forbids and granit-parser rejects. Leading blanks of such a
/// line are not part of the value, so the line is indented further and the
/// chunk parsed again: the value, and every line number, come out as kubectl reads them.
pub(crate) fn parse_documents(text: &str, first_line: u32) -> Result<Doc<'_>, SyntaxError> {
    let error = match parse(text, first_line) {
        Ok(doc) => return Ok(doc),
        Err(error) => error,
    };
    match error {
        Failure::Scan(e) if *e.kind() == ErrorKind::InvalidQuotedScalarIndent => reindented(text, first_line, e).0,
        other => Err(other.into_syntax_error(first_line)),
    }
}

/// How many lines a chunk of `len` bytes may have re-indented: at most
/// [`MAX_REINDENTED_LINES`], and no more parses than [`REINDENT_BUDGET`] allows.
fn reindent_attempts(len: usize) -> usize {
    MAX_REINDENTED_LINES.min(REINDENT_BUDGET / len.max(1)).max(1)
}

/// Parses `text` again with the under-indented line of `error` (and the next ones found)
/// re-indented; also returns how many parses that took.
fn reindented(text: &str, first_line: u32, mut error: ScanError) -> (Result<Doc<'static>, SyntaxError>, usize) {
    let mut fixed = text.to_owned();
    for attempt in 1..=reindent_attempts(text.len()) {
        let Some(reindented) = reindent_line(&fixed, error.marker().line()) else { break };
        fixed = reindented;
        match parse(&fixed, first_line) {
            Ok(doc) => return (Ok(doc.into_owned()), attempt),
            Err(Failure::Scan(e)) if *e.kind() == ErrorKind::InvalidQuotedScalarIndent => error = e,
            Err(other) => return (Err(other.into_syntax_error(first_line)), attempt),
        }
    }
    (Err(Failure::Scan(error).into_syntax_error(first_line)), reindent_attempts(text.len()))
}

/// `text` with its 1-based line `line` indented past every line before it (so
/// past whatever block encloses it); `None` if there is no such line.
fn reindent_line(text: &str, line: usize) -> Option<String> {
    let indent = |l: &str| l.len() - l.trim_start_matches(' ').len();
    let mut lines: Vec<&str> = text.split_inclusive('\n').collect();
    let target = line.checked_sub(1).filter(|&i| i < lines.len())?;
    let deepest = lines[..target].iter().map(|l| indent(l)).max().unwrap_or(0);
    let pad = " ".repeat(deepest + 1);
    let original = lines[target];
    let mut out = String::with_capacity(text.len() + pad.len());
    lines.truncate(target);
    for l in lines {
        out.push_str(l);
    }
    out.push_str(&pad);
    out.push_str(original.trim_start_matches(' '));
    let consumed: usize = text.split_inclusive('\n').take(target + 1).map(str::len).sum();
    out.push_str(&text[consumed..]);
    Some(out)
}

enum Failure {
    Scan(ScanError),
    Syntax(SyntaxError),
}

impl Failure {
    fn into_syntax_error(self, first_line: u32) -> SyntaxError {
        match self {
            Failure::Scan(e) => SyntaxError { line: file_line(first_line, e.marker().line()), message: e.info() },
            Failure::Syntax(e) => e,
        }
    }
}

fn file_line(first_line: u32, chunk_line: usize) -> u32 {
    first_line + (chunk_line.max(1) as u32) - 1
}

fn parse(text: &str, first_line: u32) -> Result<Doc<'_>, Failure> {
    let mut builder = Builder::new(first_line, text.len());
    for event in Parser::new_from_str(text) {
        let (event, span) = event.map_err(Failure::Scan)?;
        builder.handle(event, span).map_err(Failure::Syntax)?;
    }
    Ok(builder.doc)
}

enum Frame<'a> {
    Seq { line: u32, anchor: usize, start: usize },
    Map { line: u32, anchor: usize, start: usize, key: Option<(Cow<'a, str>, u32)> },
}

/// What an anchor stands for: its node, the line it had when anchored, and its size.
struct Anchor {
    index: u32,
    line: u32,
    size: usize,
}

struct Builder<'a> {
    first_line: u32,
    doc: Doc<'a>,
    stack: Vec<Frame<'a>>,
    /// Items and entries of the open collections; moved into `doc` when a collection closes.
    open_items: Vec<u32>,
    open_entries: Vec<(Cow<'a, str>, u32)>,
    /// The line of each key in `open_entries`, for duplicate-key errors.
    open_key_lines: Vec<u32>,
    anchors: HashMap<usize, Anchor>,
    /// The height of each slot's value (1 for a scalar), to keep values within [`MAX_DEPTH`].
    heights: Vec<u32>,
    root: Option<u32>,
    expanded: usize,
}

impl<'a> Builder<'a> {
    /// A builder for `len` bytes of YAML, its arrays sized for Kubernetes manifests
    /// (a value in 16 bytes or more, a mapping entry in 20, a sequence item in 64).
    fn new(first_line: u32, len: usize) -> Self {
        let doc = Doc {
            slots: Vec::with_capacity(len / 16 + 4),
            items: Vec::with_capacity(len / 64 + 4),
            entries: Vec::with_capacity(len / 20 + 4),
            roots: Vec::with_capacity(1),
        };
        Builder {
            first_line,
            doc,
            stack: Vec::with_capacity(16),
            open_items: Vec::with_capacity(16),
            open_entries: Vec::with_capacity(64),
            open_key_lines: Vec::with_capacity(64),
            anchors: HashMap::new(),
            heights: Vec::with_capacity(len / 16 + 4),
            root: None,
            expanded: 0,
        }
    }

    fn handle(&mut self, event: Event<'a>, span: Span) -> Result<(), SyntaxError> {
        let line = file_line(self.first_line, span.start.line());
        match event {
            Event::DocumentStart(..) => {
                self.anchors.clear();
                self.expanded = 0;
            }
            Event::DocumentEnd => {
                let root = self.root.take().filter(|&r| !self.view(r).is_null());
                self.doc.roots.push(root);
            }
            Event::Scalar(text, style, anchor, _tag) => {
                let index = self.push(line, SlotKind::Scalar { text, plain: style == ScalarStyle::Plain }, 1);
                self.complete(index, anchor)?;
            }
            Event::SequenceStart(_, anchor, _) => self.stack.push(Frame::Seq { line, anchor, start: self.open_items.len() }),
            Event::MappingStart(_, anchor, _) => self.stack.push(Frame::Map { line, anchor, start: self.open_entries.len(), key: None }),
            Event::SequenceEnd | Event::MappingEnd => self.close_collection()?,
            Event::Alias(id) => self.expand_alias(id, line)?,
            _ => {}
        }
        Ok(())
    }

    fn push(&mut self, line: u32, kind: SlotKind<'a>, height: u32) -> u32 {
        self.doc.slots.push(Slot { line, kind });
        self.heights.push(height);
        (self.doc.slots.len() - 1) as u32
    }

    fn view(&self, index: u32) -> DocNode<'_> {
        DocNode::new(&self.doc, index)
    }

    fn close_collection(&mut self) -> Result<(), SyntaxError> {
        match self.stack.pop() {
            Some(Frame::Seq { line, anchor, start }) => {
                let height = self.height_over(line, self.open_items[start..].iter().copied())?;
                let at = self.doc.items.len() as u32;
                self.doc.items.extend(self.open_items.drain(start..));
                let len = self.doc.items.len() as u32 - at;
                let index = self.push(line, SlotKind::Seq { start: at, len }, height);
                self.complete(index, anchor)?;
            }
            Some(Frame::Map { line, anchor, start, .. }) => {
                self.check_unique_keys(start)?;
                let height = self.height_over(line, self.open_entries[start..].iter().map(|&(_, v)| v))?;
                self.open_key_lines.truncate(start);
                let at = self.doc.entries.len() as u32;
                if self.open_entries[start..].iter().any(|(k, _)| k == "<<") {
                    let entries: Vec<_> = self.open_entries.drain(start..).collect();
                    let merged = self.apply_merge_keys(entries);
                    self.doc.entries.extend(merged);
                } else {
                    self.doc.entries.extend(self.open_entries.drain(start..));
                }
                let len = self.doc.entries.len() as u32 - at;
                let index = self.push(line, SlotKind::Map { start: at, len }, height);
                self.complete(index, anchor)?;
            }
            None => {}
        }
        Ok(())
    }

    /// The height of a collection of the values `children`, refused beyond [`MAX_DEPTH`].
    fn height_over(&self, line: u32, children: impl Iterator<Item = u32>) -> Result<u32, SyntaxError> {
        let height = 1 + children.map(|child| self.heights[child as usize]).max().unwrap_or(0);
        if height > MAX_DEPTH {
            return Err(SyntaxError { line, message: format!("values nest deeper than {MAX_DEPTH} levels (aliases inside aliases)") });
        }
        Ok(height)
    }

    /// Refuses a mapping (its entries from `start` in `open_entries`) that has a key twice, as
    /// kubectl's strict decoding does: readers disagree on which value wins (kubectl takes the
    /// last), so any choice here could show something other than what would be applied.
    /// Linear in the number of entries: small mappings are compared pairwise, larger ones sorted.
    fn check_unique_keys(&self, start: usize) -> Result<(), SyntaxError> {
        let keys = &self.open_entries[start..];
        let repeated = if keys.len() <= 16 {
            (1..keys.len()).find(|&i| keys[..i].iter().any(|(k, _)| *k == keys[i].0))
        } else {
            let mut order: Vec<usize> = (0..keys.len()).collect();
            order.sort_by(|&a, &b| keys[a].0.cmp(&keys[b].0).then(a.cmp(&b)));
            order.windows(2).filter(|pair| keys[pair[0]].0 == keys[pair[1]].0).map(|pair| pair[1]).min()
        };
        let Some(second) = repeated else { return Ok(()) };
        let key = &keys[second].0;
        let first = keys.iter().position(|(k, _)| k == key).unwrap_or(second);
        let lines = &self.open_key_lines[start..];
        Err(SyntaxError {
            line: lines[second],
            message: format!("duplicate key `{key}` in a mapping (first on line {}); kubectl refuses duplicate keys, remove one", lines[first]),
        })
    }

    fn expand_alias(&mut self, id: usize, line: u32) -> Result<(), SyntaxError> {
        let Some(anchor) = self.anchors.get(&id) else {
            return Err(SyntaxError { line, message: "alias refers to an unknown anchor".into() });
        };
        self.expanded += anchor.size;
        if self.expanded > ALIAS_BUDGET {
            return Err(SyntaxError { line, message: format!("aliases expand to more than {ALIAS_BUDGET} values") });
        }
        // Collections are never changed once closed, so an alias shares its anchor's;
        // a scalar gets a slot of its own, as its line may be moved to its key's.
        let (index, anchored_line) = (anchor.index, anchor.line);
        let index = match &self.doc.slots[index as usize].kind {
            SlotKind::Scalar { text, plain } => {
                let kind = SlotKind::Scalar { text: text.clone(), plain: *plain };
                self.push(anchored_line, kind, 1)
            }
            _ => index,
        };
        self.complete(index, 0)
    }

    fn complete(&mut self, index: u32, anchor: usize) -> Result<(), SyntaxError> {
        if anchor != 0 {
            let anchored = Anchor { index, line: self.doc.slots[index as usize].line, size: self.view(index).count_values() };
            self.anchors.insert(anchor, anchored);
        }
        match self.stack.last_mut() {
            None => self.root = Some(index),
            Some(Frame::Seq { .. }) => self.open_items.push(index),
            Some(Frame::Map { key: None, .. }) => {
                let line = self.doc.slots[index as usize].line;
                let text = self.key_text(index, anchor != 0, line)?;
                if let Some(Frame::Map { key, .. }) = self.stack.last_mut() {
                    *key = Some((text, line));
                }
            }
            Some(Frame::Map { key: key @ Some(_), .. }) => {
                let (k, key_line) = key.take().expect("matched Some");
                // A block scalar (`key: |`) starts below its key; its evidence line is the key's.
                let slot = &mut self.doc.slots[index as usize];
                if matches!(slot.kind, SlotKind::Scalar { .. }) && slot.line > key_line {
                    slot.line = key_line;
                }
                self.open_entries.push((k, index));
                self.open_key_lines.push(key_line);
            }
        }
        Ok(())
    }

    /// A key's text; a scalar key's slot is reclaimed when nothing else refers to it. A mapping
    /// or sequence used as a key (which no Kubernetes object has) is its JSON text, up to
    /// [`COMPLEX_KEY_LIMIT`] bytes.
    fn key_text(&mut self, index: u32, anchored: bool, line: u32) -> Result<Cow<'a, str>, SyntaxError> {
        let last = index as usize + 1 == self.doc.slots.len();
        if let SlotKind::Scalar { text, .. } = &self.doc.slots[index as usize].kind {
            if last && !anchored {
                self.heights.pop();
                let Some(Slot { kind: SlotKind::Scalar { text, .. }, .. }) = self.doc.slots.pop() else { unreachable!() };
                return Ok(text);
            }
            return Ok(text.clone());
        }
        let text = self.view(index).to_node().to_json().to_string();
        if text.len() > COMPLEX_KEY_LIMIT {
            let message =
                format!("a mapping or sequence used as a key is longer than {COMPLEX_KEY_LIMIT} bytes as JSON (Kubernetes objects have only text keys)");
            return Err(SyntaxError { line, message });
        }
        Ok(Cow::Owned(text))
    }

    /// Applies YAML `<<` merge keys: merged entries never override explicit ones, nor earlier
    /// merged ones. The keys taken are kept in a set, so the cost is linear in the entries merged.
    fn apply_merge_keys(&self, entries: Vec<(Cow<'a, str>, u32)>) -> Vec<(Cow<'a, str>, u32)> {
        let (merges, mut own): (Vec<_>, Vec<_>) = entries.into_iter().partition(|(k, _)| k == "<<");
        let mut taken: std::collections::HashSet<&str> = own.iter().map(|(k, _)| k.as_ref()).collect();
        let mut merged = Vec::new();
        for (_, merge) in merges {
            let sources: &[u32] = match &self.doc.slots[merge as usize].kind {
                SlotKind::Seq { start, len } => &self.doc.items[*start as usize..(*start + *len) as usize],
                _ => std::slice::from_ref(&merge),
            };
            for &source in sources {
                if let SlotKind::Map { start, len } = self.doc.slots[source as usize].kind {
                    for (k, v) in &self.doc.entries[start as usize..(start + len) as usize] {
                        if taken.insert(k.as_ref()) {
                            merged.push((k.clone(), *v));
                        }
                    }
                }
            }
        }
        drop(taken);
        own.extend(merged);
        own
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::Node;

    /// The documents of a chunk as owned trees.
    fn nodes(text: &str, first_line: u32) -> Result<Vec<Option<Node>>, SyntaxError> {
        Ok(parse_documents(text, first_line)?.roots().map(|r| r.map(DocNode::to_node)).collect())
    }

    fn one(text: &str) -> Node {
        nodes(text, 1).unwrap().into_iter().next().flatten().unwrap()
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
        let shifted = nodes("a: 1\nb: 2\n", 41).unwrap()[0].clone().unwrap();
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
        let err = nodes(&text, 1).unwrap_err();
        assert!(err.message.contains("aliases expand"), "{err:?}");
    }

    #[test]
    fn aliases_cannot_nest_values_deeper_than_the_limit() {
        // Each anchor nests the one before 200 levels deeper: 6 of them reach 1,200 levels.
        let mut text = String::new();
        for i in 0..6 {
            let inner = if i == 0 { "x".to_owned() } else { format!("*a{}", i - 1) };
            text.push_str(&format!("a{i}: &a{i} {}{inner}{}\n", "[".repeat(200), "]".repeat(200)));
        }
        let err = nodes(&text, 1).unwrap_err();
        assert!(err.message.contains("nest deeper than 1000 levels"), "{err:?}");
        assert_eq!(err.line, 5, "{err:?}");
        let shallow: String = text.lines().take(4).map(|l| format!("{l}\n")).collect();
        assert!(nodes(&shallow, 1).is_ok(), "800 levels are fine");
    }

    #[test]
    fn syntax_error_names_the_file_line() {
        let err = nodes("a: 1\nb: [unclosed\nc: 3\n", 10).unwrap_err();
        assert!(err.line >= 11, "{err:?}");
    }

    #[test]
    fn empty_and_comment_only_documents_are_none() {
        assert_eq!(nodes("# only a comment\n", 1).unwrap(), Vec::<Option<Node>>::new());
        assert_eq!(nodes("---\n", 1).unwrap(), vec![None]);
    }

    #[test]
    fn json_parses_as_yaml() {
        let doc = one("{\n\t\"kind\": \"List\",\n\t\"items\": [ {\"a\": \"b\"} ]\n}\n");
        assert_eq!(doc.str_at("kind"), Some("List"));
        assert_eq!(doc.get("items").unwrap().items()[0].line, 3);
    }

    #[test]
    fn quoted_scalars_indented_like_their_key_read_as_kubectl_reads_them() {
        // sock-shop's grafana-import-dash-batch.yaml: kubectl, libyaml and PyYAML accept
        // the closing line at the key's indentation; YAML 1.2 asks for one more space.
        let text = "metadata:\n  annotations:\n    init: '[\n      {\n        \"name\": \"x\"\n      }\n    ]'\n    next: \"a\n  b\n   c\"\n  name: job\n";
        let doc = one(text);
        assert_eq!(doc.at(&["metadata", "annotations", "init"]).and_then(Node::as_str), Some("[ { \"name\": \"x\" } ]"));
        assert_eq!(doc.at(&["metadata", "annotations", "next"]).and_then(Node::as_str), Some("a b c"));
        assert_eq!(doc.at(&["metadata", "annotations", "next"]).unwrap().line, 8);
        assert_eq!(doc.at(&["metadata", "name"]).unwrap().line, 11);
    }

    #[test]
    fn other_indentation_errors_stay_errors() {
        let err = nodes("a:\n  b: 1\n c: 2\n", 1).unwrap_err();
        assert_eq!(err.line, 3, "{err:?}");
    }

    #[test]
    fn aliased_block_scalars_keep_the_anchor_line() {
        let doc = one("a: &x |\n  text\nb:\n  *x\nc: &y [1]\nd: *y\n");
        assert_eq!(doc.get("a").unwrap().line, 1);
        assert_eq!(doc.get("b").unwrap().line, 2, "the alias is the anchored value, as written");
        assert_eq!(doc.get("d").unwrap(), doc.get("c").unwrap());
    }

    #[test]
    fn a_duplicate_key_is_an_error_at_its_line() {
        let err = nodes("apiVersion: apps/v1\nkind: Deployment\napiVersion: extensions/v1beta1\n", 5).unwrap_err();
        assert_eq!(err.line, 7, "{err:?}");
        assert!(err.message.contains("duplicate key `apiVersion`") && err.message.contains("first on line 5"), "{err:?}");
        let big: String = (0..100).map(|i| format!("k{i}: v\n")).collect::<String>() + "nested:\n  k50: x\nk42: again\n";
        let err = nodes(&big, 1).unwrap_err();
        assert_eq!(err.line, 103, "{err:?}");
        assert!(err.message.contains("`k42`") && err.message.contains("first on line 43"), "{err:?}");
        assert!(nodes("a: {x: 1}\nb: {x: 2}\n", 1).is_ok(), "the same key in two mappings is fine");
    }

    #[test]
    fn merging_a_large_mapping_many_times_is_linear() {
        // 50 mappings each merging one of 10,000 keys: 500,000 entries merged (first-wins
        // with a scan of the entries so far made it 2.5 billion comparisons).
        let mut text = String::from("base: &b {");
        text.push_str(&(0..10_000).map(|i| format!("k{i}: {i}")).collect::<Vec<_>>().join(", "));
        text.push_str("}\n");
        for m in 0..50 {
            text.push_str(&format!("m{m}:\n  <<: *b\n  k7: own\n"));
        }
        let started = std::time::Instant::now();
        let doc = one(&text);
        assert!(started.elapsed() < std::time::Duration::from_secs(20), "took {:?}", started.elapsed());
        let last = doc.get("m49").unwrap();
        assert_eq!(last.entries().len(), 10_000);
        assert_eq!((last.str_at("k7"), last.str_at("k9999")), (Some("own"), Some("9999")));
    }

    #[test]
    fn re_indenting_a_large_document_is_bounded_by_its_size() {
        assert_eq!(reindent_attempts(4_000), MAX_REINDENTED_LINES, "small documents get every attempt");
        assert_eq!(reindent_attempts(5 << 20), 3);
        // A 5 MB document with 2,000 under-indented quoted lines: refused after 3 parses, not 1,000.
        let mut text = String::from("metadata:\n  annotations:\n");
        for i in 0..2_000 {
            text.push_str(&format!("    a{i}: \"x\n  y\"\n"));
        }
        text.push_str(&format!("data:\n  pad: {}\n", "z".repeat(5 << 20)));
        let Err(Failure::Scan(error)) = parse(&text, 1) else { panic!("the document needs re-indenting") };
        let (result, parses) = reindented(&text, 1, error);
        assert!(result.is_err());
        assert_eq!(parses, 3);
    }

    #[test]
    fn merge_key_lists_and_complex_keys() {
        let doc = one("a: &a {x: 1}\nb: &b {y: 2, x: 9}\nc:\n  <<: [*a, *b]\n  z: 3\n? [k]\n: v\n");
        let c = doc.get("c").unwrap();
        assert_eq!(c.entries().iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(), ["z", "x", "y"]);
        assert_eq!(c.str_at("x"), Some("1"));
        assert_eq!(doc.str_at("[\"k\"]"), Some("v"));
    }

    #[test]
    fn nested_mapping_keys_are_refused_before_their_text_grows_out_of_bounds() {
        let text = format!("---\n#\n{} shop{}\n", "{".repeat(40), "}".repeat(40));
        let err = nodes(&text, 1).expect_err("40 levels of mapping keys");
        assert!(err.message.contains("longer than 4096 bytes as JSON"), "{err:?}");
        assert_eq!(one("{{{a}}}").entries().len(), 1, "a few levels still load");
    }
}
