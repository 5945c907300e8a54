//! Stored objects parsed into JSON values without `metadata.managedFields`, the server's record
//! of which client wrote each field. It is often as large as the rest of the object, and only
//! the few checks that ask whether a client set a field read it: leaving it out while parsing
//! (instead of building it and removing it after) saves building, and later freeing, about half
//! of each object's values.

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// A JSON value read without `metadata.managedFields` when it is an object; any other value
/// is read whole.
#[derive(Debug, Clone, PartialEq)]
pub struct WithoutManagedFields(pub Value);

impl<'de> Deserialize<'de> for WithoutManagedFields {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<WithoutManagedFields, D::Error> {
        deserializer.deserialize_any(Level::Object).map(WithoutManagedFields)
    }
}

/// Parses one object's JSON text, leaving out `metadata.managedFields`.
pub fn parse_without_managed_fields(json: &[u8]) -> Result<Value, serde_json::Error> {
    serde_json::from_slice::<WithoutManagedFields>(json).map(|lean| lean.0)
}

/// Where in the object a value is read: the object itself, or its `metadata`.
#[derive(Clone, Copy)]
enum Level {
    Object,
    Metadata,
}

impl<'de> DeserializeSeed<'de> for Level {
    type Value = Value;
    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Level {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut fields = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let value = match (self, key.as_str()) {
                (Level::Object, "metadata") => map.next_value_seed(Level::Metadata)?,
                (Level::Metadata, "managedFields") => {
                    map.next_value::<IgnoredAny>()?;
                    continue;
                }
                _ => map.next_value()?,
            };
            fields.insert(key, value);
        }
        Ok(Value::Object(fields))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn only_the_managed_fields_of_the_metadata_are_left_out() {
        let stored = json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "a", "uid": "1", "managedFields": [{"manager": "kubectl", "fieldsV1": {"f:data": {"f:x": {}}}}], "labels": {"x": "1"}},
            "data": {"x": "1", "managedFields": "kept: not metadata"},
            "spec": {"metadata": {"managedFields": ["kept: not the object's own metadata"]}},
            "n": [1, -2, 2.5, null, true]
        });
        let mut expected = stored.clone();
        expected["metadata"].as_object_mut().unwrap().shift_remove("managedFields");
        let lean = parse_without_managed_fields(stored.to_string().as_bytes()).unwrap();
        assert_eq!(lean, expected);
        assert_eq!(serde_json::to_string(&lean).unwrap(), serde_json::to_string(&expected).unwrap(), "key order is kept");
    }

    #[test]
    fn values_that_are_not_objects_are_read_whole() {
        for text in [r#""x""#, r#"[1,{"metadata":{"managedFields":[]}}]"#, "null", r#"{"metadata":"odd"}"#, r#"{"metadata":null}"#] {
            let whole: Value = serde_json::from_str(text).unwrap();
            assert_eq!(parse_without_managed_fields(text.as_bytes()).unwrap(), whole, "{text}");
        }
    }

    #[test]
    fn broken_text_is_an_error() {
        for text in ["{", r#"{"metadata":{"managedFields":[}}"#, "{} x"] {
            assert!(parse_without_managed_fields(text.as_bytes()).is_err(), "{text}");
        }
    }
}
