//! Objects kept as the JSON text a server sent, for copying them unchanged (an export)
//! without building a tree for each: only an outline (what says what the object is) is
//! read, and a whole tree is parsed for the few objects whose content is looked at.

use std::borrow::Cow;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::load::object_id;
use crate::node::JsonNodeVisitor;
use crate::{Node, Object, ObjectId, Value};

/// An object whose identity is known and whose content can be read as a tree: a loaded
/// [`Object`] (the tree is at hand) or a [`RawObject`] (the tree is parsed on demand).
pub trait Manifest {
    /// API version, kind, namespace and name.
    fn id(&self) -> &ObjectId;
    /// At least the object's top-level scalars and, in `metadata`, its names, labels,
    /// annotations and owners: enough to tell what made it.
    fn outline(&self) -> &Node;
    /// The whole object as a tree; `None` when its text cannot be read as one.
    fn tree(&self) -> Option<Cow<'_, Node>>;
}

impl Manifest for Object {
    fn id(&self) -> &ObjectId {
        &self.id
    }
    fn outline(&self) -> &Node {
        &self.root
    }
    fn tree(&self) -> Option<Cow<'_, Node>> {
        Some(Cow::Borrowed(&self.root))
    }
}

/// An object as JSON text, `apiVersion` and `kind` always included, with its identity and
/// its outline.
#[derive(Debug, Clone)]
pub struct RawObject {
    /// API version, kind, namespace and name, read from the text.
    pub id: ObjectId,
    outline: Node,
    json: Box<[u8]>,
}

impl RawObject {
    /// Reads one item of a list (the text of a JSON object). Items of built-in lists carry
    /// no `apiVersion` and `kind`: those given here are then written at the front of the
    /// object, as a single GET would return it.
    pub fn from_list_item(item: &str, api_version: &str, kind: &str) -> Result<RawObject, serde_json::Error> {
        let mut text = serde_json::Deserializer::from_str(item);
        let mut outline = outline(&mut text)?;
        text.end()?;
        let added = complete_list_item(&mut outline, api_version, kind);
        let json = with_fields_first(item, &added);
        Ok(RawObject { id: object_id(&outline), outline, json })
    }

    /// The object's JSON text.
    pub fn json(&self) -> &[u8] {
        &self.json
    }

    /// The object as a JSON value (for the transform).
    pub fn to_value(&self) -> Result<serde_json::Value, serde_json::Error> {
        serde_json::from_slice(&self.json)
    }
}

impl Manifest for RawObject {
    fn id(&self) -> &ObjectId {
        &self.id
    }
    fn outline(&self) -> &Node {
        &self.outline
    }
    fn tree(&self) -> Option<Cow<'_, Node>> {
        serde_json::from_slice(&self.json).ok().map(Cow::Owned)
    }
}

/// Gives a list item the `apiVersion` and `kind` of its list when it leaves them out (items
/// of built-in lists do), at the front as a single GET returns them; returns what was added.
pub fn complete_list_item<'a>(item: &mut Node, api_version: &'a str, kind: &'a str) -> Vec<(&'static str, &'a str)> {
    let Value::Map(entries) = &mut item.value else { return Vec::new() };
    let mut added = Vec::new();
    for (key, value) in [("apiVersion", api_version), ("kind", kind)] {
        if !entries.iter().any(|(k, _)| k == key) {
            added.push((key, value));
        }
    }
    for (i, &(key, value)) in added.iter().enumerate() {
        entries.insert(i, (key.to_owned(), Node::scalar(0, value, false)));
    }
    added
}

/// Reads what says what an object is, without building the rest: its names, labels,
/// annotations and owners in `metadata`, and the top-level scalars (`apiVersion`, `kind`, a
/// Secret's `type`). This is all the generated-object rules look at.
pub fn outline<'de, D: serde::Deserializer<'de>>(object: D) -> Result<Node, D::Error> {
    object.deserialize_map(OutlineVisitor { top: true })
}

/// The metadata fields an outline keeps.
const OUTLINE_METADATA: &[&str] = &["name", "generateName", "namespace", "labels", "annotations", "ownerReferences"];

/// Keeps, at the top, metadata and scalars; in metadata, the [`OUTLINE_METADATA`] fields.
struct OutlineVisitor {
    top: bool,
}

impl<'de> Visitor<'de> for OutlineVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.top { "a JSON object" } else { "an object's metadata" })
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            let kept = match (self.top, key.as_str()) {
                (true, "metadata") => Some(map.next_value_seed(MetadataSeed)?),
                (true, _) => map.next_value::<ScalarOnly>()?.0,
                (false, key) if OUTLINE_METADATA.contains(&key) => Some(map.next_value::<Node>()?),
                (false, _) => map.next_value::<IgnoredAny>().map(|_| None)?,
            };
            if let Some(node) = kept {
                entries.push((key, node));
            }
        }
        Ok(Node { line: 0, value: Value::Map(entries) })
    }
}

/// Reads `metadata` through [`OutlineVisitor`].
struct MetadataSeed;

impl<'de> DeserializeSeed<'de> for MetadataSeed {
    type Value = Node;
    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<Node, D::Error> {
        deserializer.deserialize_map(OutlineVisitor { top: false })
    }
}

/// A scalar value as a node; an object or an array is skipped.
struct ScalarOnly(Option<Node>);

impl<'de> Deserialize<'de> for ScalarOnly {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<ScalarOnly, D::Error> {
        deserializer.deserialize_any(ScalarOnlyVisitor)
    }
}

struct ScalarOnlyVisitor;

impl<'de> Visitor<'de> for ScalarOnlyVisitor {
    type Value = ScalarOnly;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<ScalarOnly, E> {
        JsonNodeVisitor.visit_bool(v).map(|n| ScalarOnly(Some(n)))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<ScalarOnly, E> {
        JsonNodeVisitor.visit_i64(v).map(|n| ScalarOnly(Some(n)))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<ScalarOnly, E> {
        JsonNodeVisitor.visit_u64(v).map(|n| ScalarOnly(Some(n)))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<ScalarOnly, E> {
        JsonNodeVisitor.visit_f64(v).map(|n| ScalarOnly(Some(n)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<ScalarOnly, E> {
        JsonNodeVisitor.visit_str(v).map(|n| ScalarOnly(Some(n)))
    }
    fn visit_unit<E: de::Error>(self) -> Result<ScalarOnly, E> {
        JsonNodeVisitor.visit_unit().map(|n| ScalarOnly(Some(n)))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<ScalarOnly, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(ScalarOnly(None))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ScalarOnly, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(ScalarOnly(None))
    }
}

/// The JSON object `object` with `fields` (string values) written first.
fn with_fields_first(object: &str, fields: &[(&str, &str)]) -> Box<[u8]> {
    let mut front = String::new();
    for (key, value) in fields {
        front.push_str(&serde_json::Value::from(*key).to_string());
        front.push(':');
        front.push_str(&serde_json::Value::from(*value).to_string());
        front.push(',');
    }
    if front.is_empty() {
        return object.as_bytes().into();
    }
    // `object` is a valid JSON object, so it starts with `{`; an empty one takes no comma.
    let rest = object.trim_start().strip_prefix('{').unwrap_or(object).trim_start();
    if rest.starts_with('}') {
        front.pop();
    }
    let mut json = Vec::with_capacity(object.len() + front.len() + 1);
    json.push(b'{');
    json.extend_from_slice(front.as_bytes());
    json.extend_from_slice(rest.as_bytes());
    json.into_boxed_slice()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_items_get_their_type_first_and_keep_everything_else() {
        let item = r#"{"metadata":{"name":"web","namespace":"shop"},"data":{"k":"v \"q\"","n":1.50}}"#;
        let raw = RawObject::from_list_item(item, "v1", "ConfigMap").unwrap();
        assert_eq!(raw.id, ObjectId { api_version: "v1".into(), kind: "ConfigMap".into(), namespace: Some("shop".into()), name: "web".into() });
        let text = std::str::from_utf8(raw.json()).unwrap();
        assert_eq!(text, r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"web","namespace":"shop"},"data":{"k":"v \"q\"","n":1.50}}"#);
        let tree = raw.tree().unwrap();
        assert_eq!(tree.at(&["data", "k"]).and_then(Node::as_str), Some("v \"q\""));
        assert!(raw.outline().get("data").is_none(), "the outline leaves out nested values");
    }

    #[test]
    fn the_outline_holds_metadata_and_top_level_scalars() {
        let item = r#"{"type":"kubernetes.io/service-account-token","immutable":true,"data":{"token":"c2VjcmV0"},
            "metadata":{"name":"t","labels":{"a":"b"},"ownerReferences":[{"kind":"X","name":"y","controller":true}],
            "managedFields":[{"manager":"m","fieldsV1":{"f:data":{}}}]}}"#;
        let raw = RawObject::from_list_item(item, "v1", "Secret").unwrap();
        let outline = raw.outline();
        let keys: Vec<&str> = match &outline.value {
            Value::Map(entries) => entries.iter().map(|(k, _)| k.as_str()).collect(),
            _ => panic!("a map"),
        };
        assert_eq!(keys, ["apiVersion", "kind", "type", "immutable", "metadata"]);
        assert_eq!(outline.at(&["metadata", "labels", "a"]).and_then(Node::as_str), Some("b"));
        assert!(outline.at(&["metadata", "ownerReferences"]).is_some());
        assert!(outline.at(&["metadata", "managedFields"]).is_none());
        assert!(raw.tree().unwrap().at(&["metadata", "managedFields"]).is_some(), "the text keeps everything");
    }

    #[test]
    fn items_that_name_their_type_are_kept_byte_for_byte() {
        let item = r#"{"apiVersion":"example.com/v1","kind":"Widget","metadata":{"generateName":"w-"}}"#;
        let raw = RawObject::from_list_item(item, "ignored/v1", "Ignored").unwrap();
        assert_eq!(raw.json(), item.as_bytes());
        assert_eq!((raw.id.kind.as_str(), raw.id.name.as_str(), raw.id.namespace.as_deref()), ("Widget", "w-*", None));
    }

    #[test]
    fn an_empty_object_gets_valid_json() {
        let raw = RawObject::from_list_item("{ }", "v1", "Namespace").unwrap();
        assert_eq!(raw.json(), br#"{"apiVersion":"v1","kind":"Namespace"}"#);
        assert_eq!(raw.id.name, "(unnamed)");
    }

    #[test]
    fn an_item_that_is_not_an_object_is_an_error() {
        assert!(RawObject::from_list_item("[1]", "v1", "ConfigMap").is_err());
        assert!(RawObject::from_list_item(r#""text""#, "v1", "ConfigMap").is_err());
        assert!(RawObject::from_list_item(r#"{"metadata":"text"}"#, "v1", "ConfigMap").is_err());
    }
}
