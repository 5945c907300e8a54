//! A YAML/JSON document tree in which every value remembers its line.
//!
//! Scalars keep their source text and whether they were quoted; the typed
//! reading (`null`, booleans, numbers) is decided only when asked for, with the
//! same rules Kubernetes' own YAML reader applies.

/// One value of a document and the line it starts on.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// 1-based line in the source file; 0 when the source has no lines (JSON read from a cluster).
    pub line: u32,
    /// The value itself.
    pub value: Value,
}

/// The three shapes a YAML value can take.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A string, number, boolean or null, as written.
    Scalar(Scalar),
    /// A sequence (JSON array).
    Seq(Vec<Node>),
    /// A mapping (JSON object), in source order.
    Map(Vec<(String, Node)>),
}

/// A scalar as written in the source.
#[derive(Debug, Clone, PartialEq)]
pub struct Scalar {
    /// The text after YAML escape processing.
    pub text: String,
    /// `true` for plain (unquoted, non-block) scalars, whose type is resolved by content.
    pub plain: bool,
}

impl Scalar {
    /// Whether this scalar reads as null (`~`, `null`, or nothing at all when unquoted).
    pub fn is_null(&self) -> bool {
        null_text(&self.text, self.plain)
    }

    /// The boolean this scalar reads as, for unquoted `true`/`false` in any common case.
    pub fn as_bool(&self) -> Option<bool> {
        bool_text(&self.text, self.plain)
    }
}

/// Whether a scalar's text reads as null, as Kubernetes' YAML reader decides (for [`Node`] and [`crate::DocNode`]).
pub(crate) fn null_text(text: &str, plain: bool) -> bool {
    plain && matches!(text, "" | "~" | "null" | "Null" | "NULL")
}

/// The boolean a scalar's text reads as, if any (for [`Node`] and [`crate::DocNode`]).
pub(crate) fn bool_text(text: &str, plain: bool) -> Option<bool> {
    match text {
        "true" | "True" | "TRUE" if plain => Some(true),
        "false" | "False" | "FALSE" if plain => Some(false),
        _ => None,
    }
}

impl Node {
    /// A scalar node.
    pub fn scalar(line: u32, text: impl Into<String>, plain: bool) -> Node {
        Node { line, value: Value::Scalar(Scalar { text: text.into(), plain }) }
    }

    /// The value under `key` when this node is a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.value {
            Value::Map(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The value at a path of mapping keys, e.g. `["spec", "template"]`.
    pub fn at(&self, path: &[&str]) -> Option<&Node> {
        path.iter().try_fold(self, |node, key| node.get(key))
    }

    /// The text of a non-null scalar.
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Scalar(s) if !s.is_null() => Some(&s.text),
            _ => None,
        }
    }

    /// The boolean an unquoted `true`/`false` scalar reads as.
    pub fn as_bool(&self) -> Option<bool> {
        match &self.value {
            Value::Scalar(s) => s.as_bool(),
            _ => None,
        }
    }

    /// The text of the scalar at `key`, if any.
    pub fn str_at(&self, key: &str) -> Option<&str> {
        self.get(key).and_then(Node::as_str)
    }

    /// The items of a sequence (empty for anything else).
    pub fn items(&self) -> &[Node] {
        match &self.value {
            Value::Seq(items) => items,
            _ => &[],
        }
    }

    /// The entries of a mapping (empty for anything else).
    pub fn entries(&self) -> &[(String, Node)] {
        match &self.value {
            Value::Map(entries) => entries,
            _ => &[],
        }
    }

    /// Entries of a mapping whose values are scalars, as string pairs.
    pub fn string_entries(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries().iter().filter_map(|(k, v)| v.as_str().map(|v| (k.as_str(), v)))
    }

    /// Whether this is a mapping.
    pub fn is_map(&self) -> bool {
        matches!(self.value, Value::Map(_))
    }

    /// Converts the tree to JSON, resolving plain scalars the way Kubernetes'
    /// YAML reader does (null, booleans, integers, floats; everything else a string).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).expect("a tree always serializes")
    }
}

/// A scalar's JSON reading.
enum Resolved<'a> {
    Null,
    Bool(bool),
    Int(i64),
    Float(serde_json::Number),
    Str(&'a str),
}

impl Scalar {
    /// How Kubernetes' YAML reader types this scalar: null, boolean, integer, float, or string.
    fn resolve(&self) -> Resolved<'_> {
        if self.is_null() {
            return Resolved::Null;
        }
        if let Some(b) = self.as_bool() {
            return Resolved::Bool(b);
        }
        if self.plain {
            if let Ok(i) = self.text.parse::<i64>() {
                return Resolved::Int(i);
            }
            if looks_like_float(&self.text)
                && let Some(n) = self.text.parse::<f64>().ok().and_then(serde_json::Number::from_f64)
            {
                return Resolved::Float(n);
            }
        }
        Resolved::Str(&self.text)
    }
}

/// Writes the tree as JSON directly (the same reading as [`Node::to_json`], without building it).
impl serde::Serialize for Node {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{SerializeMap as _, SerializeSeq as _};
        match &self.value {
            Value::Scalar(s) => match s.resolve() {
                Resolved::Null => serializer.serialize_unit(),
                Resolved::Bool(b) => serializer.serialize_bool(b),
                Resolved::Int(i) => serializer.serialize_i64(i),
                Resolved::Float(n) => n.serialize(serializer),
                Resolved::Str(text) => serializer.serialize_str(text),
            },
            Value::Seq(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Value::Map(entries) => {
                let mut map = serializer.serialize_map(Some(entries.len()))?;
                for (key, value) in entries {
                    map.serialize_entry(key, value)?;
                }
                map.end()
            }
        }
    }
}

/// YAML 1.2 core-schema floats; Rust would also accept `inf` or `nan` as words.
fn looks_like_float(text: &str) -> bool {
    let digits = text.trim_start_matches(['-', '+']);
    digits.starts_with(|c: char| c.is_ascii_digit() || c == '.') && digits.chars().all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '-' | '+'))
}

/// Reads JSON (an API server's response) into a tree. JSON carries no line
/// numbers, so every node gets line 0; strings are quoted scalars, and
/// numbers, booleans and null are plain scalars that resolve as written.
impl<'de> serde::Deserialize<'de> for Node {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Node, D::Error> {
        deserializer.deserialize_any(JsonNodeVisitor)
    }
}

pub(crate) struct JsonNodeVisitor;

impl<'de> serde::de::Visitor<'de> for JsonNodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Node, E> {
        Ok(Node::scalar(0, if v { "true" } else { "false" }, true))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Node, E> {
        Ok(Node::scalar(0, v.to_string(), true))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Node, E> {
        Ok(Node::scalar(0, v.to_string(), true))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Node, E> {
        Ok(Node::scalar(0, v.to_string(), true))
    }

    fn visit_str<E>(self, v: &str) -> Result<Node, E> {
        Ok(Node::scalar(0, v, false))
    }

    fn visit_string<E>(self, v: String) -> Result<Node, E> {
        Ok(Node::scalar(0, v, false))
    }

    fn visit_unit<E>(self) -> Result<Node, E> {
        Ok(Node::scalar(0, "null", true))
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Node { line: 0, value: Value::Seq(items) })
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(0));
        while let Some(entry) = map.next_entry::<String, Node>()? {
            entries.push(entry);
        }
        Ok(Node { line: 0, value: Value::Map(entries) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(text: &str) -> Node {
        Node::scalar(1, text, true)
    }

    #[test]
    fn plain_scalars_resolve_like_kubernetes() {
        assert_eq!(plain("~").to_json(), serde_json::Value::Null);
        assert_eq!(plain("true").to_json(), serde_json::json!(true));
        assert_eq!(plain("5672").to_json(), serde_json::json!(5672));
        assert_eq!(plain("1.5").to_json(), serde_json::json!(1.5));
        assert_eq!(plain("inf").to_json(), serde_json::json!("inf"));
        assert_eq!(plain("rabbitmq").to_json(), serde_json::json!("rabbitmq"));
    }

    #[test]
    fn quoted_scalars_stay_strings() {
        let quoted = Node::scalar(1, "true", false);
        assert_eq!(quoted.to_json(), serde_json::json!("true"));
        assert_eq!(quoted.as_str(), Some("true"));
    }

    #[test]
    fn json_round_trips_through_the_tree() {
        let json = serde_json::json!({"a": [1, 2.5, true, null, "x"], "b": {"c": "5672"}});
        let node: Node = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(node.to_json(), json);
        assert_eq!(node.at(&["b", "c"]).and_then(Node::as_str), Some("5672"));
    }

    #[test]
    fn null_scalar_has_no_text() {
        assert_eq!(plain("null").as_str(), None);
        assert_eq!(Node::scalar(1, "null", false).as_str(), Some("null"));
    }
}
