//! Parity: what the target holds against what the transformation says it should hold.

use ferry_transform::{mask_secret_in_place, normalise_in_place};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Top-level maps whose every key is content the user wrote (a key the target
/// has beyond the expected ones was added there, not defaulted by the server).
const CONTENT_MAPS: [&str; 3] = ["data", "binaryData", "stringData"];

/// One unexpected difference of an object on the target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "difference", rename_all = "kebab-case")]
pub enum Difference {
    /// The target holds no such object.
    Missing,
    /// A field differs from what the transformation gives.
    Changed {
        /// JSON pointer to the field (RFC 6901).
        path: String,
        /// The transformed value; `None` when the field should be absent.
        expected: Option<Value>,
        /// The target's value; `None` when the field is absent.
        actual: Option<Value>,
    },
    /// The target holds the source's value where the transformation changes it:
    /// the object was applied as it was, not as transformed.
    NotTransformed {
        /// JSON pointer to the field (RFC 6901).
        path: String,
        /// The transformed value; `None` when the transformation removes the field.
        expected: Option<Value>,
        /// The target's (= the source's) value; `None` when the field is absent.
        actual: Option<Value>,
    },
}

/// The outcome of comparing one object.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Compared {
    /// Unexpected differences, in field order.
    pub differences: Vec<Difference>,
    /// The transformation changed the object (and the target, at parity, shows it).
    pub transformed: bool,
    /// The target holds fields beyond the expected ones: defaults its API server filled in.
    pub defaulted: bool,
}

/// One object's copy on the source and what the transformation made of it, both in normal
/// form (server-managed fields, status and allocated values removed) with Secret values
/// masked, ready to be held against the target's copy any number of times.
#[derive(Debug, Clone)]
pub struct Expectation {
    source: Value,
    expected: Value,
    transformed: bool,
}

impl Expectation {
    /// Brings `source` and `expected` (the transformation's output) to normal form, in place.
    pub fn new(mut source: Value, mut expected: Value) -> Expectation {
        normalise(&mut source);
        normalise(&mut expected);
        let transformed = source != expected;
        Expectation { source, expected, transformed }
    }

    /// [`Expectation::new`] for a `source` already stripped to normal form, as
    /// [`ferry_transform::transform_with_normal_form`] gives it: its Secret values are masked,
    /// and nothing is searched for again.
    pub fn with_normal_source(mut source: Value, mut expected: Value) -> Expectation {
        mask_secret_in_place(&mut source);
        normalise(&mut expected);
        let transformed = source != expected;
        Expectation { source, expected, transformed }
    }

    /// Compares the target's copy of the object (`actual`, `None` when absent) with the
    /// expected one, after bringing it to the same normal form (in place). Every field of the expected
    /// copy must be on the target with the same value; fields only the target has are server
    /// defaults, except new keys of `data`/`binaryData`/`stringData`. A differing field whose
    /// target value equals the source's, where the source's differs from the expected one, is
    /// [`Difference::NotTransformed`].
    pub fn compare(&self, actual: Option<Value>) -> Compared {
        let Expectation { source, expected, transformed } = self;
        let Some(mut actual) = actual else {
            return Compared { differences: vec![Difference::Missing], transformed: *transformed, defaulted: false };
        };
        normalise(&mut actual);
        let mut walk = Walk { fields: Vec::new(), defaulted: false };
        walk.value(&mut String::new(), expected, &actual);
        let differences = walk
            .fields
            .into_iter()
            .map(|(path, expected, actual)| {
                let from_source = source.pointer(&path).cloned();
                if actual == from_source && from_source != expected {
                    Difference::NotTransformed { path, expected, actual }
                } else {
                    Difference::Changed { path, expected, actual }
                }
            })
            .collect();
        Compared { differences, transformed: *transformed, defaulted: walk.defaulted }
    }
}

/// The normal form in which copies are compared: `ferry transform`'s, with Secret values masked.
fn normalise(object: &mut Value) {
    normalise_in_place(object);
    mask_secret_in_place(object);
}

/// Collects differing fields as (path, expected, actual).
struct Walk {
    fields: Vec<(String, Option<Value>, Option<Value>)>,
    defaulted: bool,
}

impl Walk {
    fn value(&mut self, path: &mut String, expected: &Value, actual: &Value) {
        match (expected, actual) {
            (Value::Object(expected), Value::Object(actual)) => self.map(path, expected, actual),
            (Value::Array(e), Value::Array(a)) if e.len() == a.len() => {
                for (index, (e, a)) in e.iter().zip(a).enumerate() {
                    Walk::within(path, &index.to_string(), |path| self.value(path, e, a));
                }
            }
            _ if same_scalar(expected, actual) => {}
            _ => self.fields.push((path.clone(), Some(expected.clone()), Some(actual.clone()))),
        }
    }

    fn map(&mut self, path: &mut String, expected: &Map<String, Value>, actual: &Map<String, Value>) {
        for (key, e) in expected {
            Walk::within(path, key, |path| match actual.get(key) {
                Some(a) => self.value(path, e, a),
                // A missing map is reported field by field, as the fields missing in a present one are.
                None => match e {
                    Value::Object(inner) if !inner.is_empty() => self.map(path, inner, &Map::new()),
                    _ => self.fields.push((path.clone(), Some(e.clone()), None)),
                },
            });
        }
        let content = CONTENT_MAPS.iter().any(|name| path.strip_prefix('/') == Some(name));
        for (key, a) in actual.iter().filter(|(key, _)| !expected.contains_key(*key)) {
            if content {
                Walk::within(path, key, |path| self.fields.push((path.clone(), None, Some(a.clone()))));
            } else {
                self.defaulted = true;
            }
        }
    }

    /// Runs `inside` with `path` extended by `key` (escaped as RFC 6901 says), then restores it.
    fn within(path: &mut String, key: &str, inside: impl FnOnce(&mut String)) {
        let length = path.len();
        path.push('/');
        path.push_str(&key.replace('~', "~0").replace('/', "~1"));
        inside(path);
        path.truncate(length);
    }
}

/// Equal, also when one server writes `1` and another `1.0`.
fn same_scalar(expected: &Value, actual: &Value) -> bool {
    match (expected, actual) {
        (Value::Number(e), Value::Number(a)) => e.as_f64() == a.as_f64(),
        _ => expected == actual,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn compare(source: &Value, expected: &Value, actual: Option<&Value>) -> Compared {
        Expectation::new(source.clone(), expected.clone()).compare(actual.cloned())
    }

    #[test]
    fn a_source_in_normal_form_is_only_masked() {
        let secret = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "a", "uid": "1"}, "data": {"password": "cGFzcw=="}});
        let options = ferry_transform::Options { target_version: "1.30".parse().unwrap(), rules: Default::default() };
        let (transformed, normal) = ferry_transform::transform_with_normal_form(secret.clone(), &options);
        let (expected, normal) = (transformed.object.unwrap(), normal.unwrap());
        let from_normal = Expectation::with_normal_source(normal, expected.clone());
        let from_source = Expectation::new(secret, expected);
        assert_eq!(
            (&from_normal.source, &from_normal.expected, from_normal.transformed),
            (&from_source.source, &from_source.expected, from_source.transformed)
        );
        assert!(!from_normal.source.to_string().contains("cGFzcw=="), "masked: {}", from_normal.source);
    }

    fn deployment(port: u16) -> Value {
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "shop"},
               "spec": {"replicas": 1, "template": {"spec": {"containers": [{"name": "c", "image": "busybox", "ports": [{"containerPort": port}]}]}}}})
    }

    #[test]
    fn server_defaults_allocations_and_status_are_explained() {
        let expected = deployment(8080);
        let mut actual = expected.clone();
        actual["metadata"]["uid"] = json!("u-2");
        actual["metadata"]["annotations"] = json!({"deployment.kubernetes.io/revision": "1"});
        actual["spec"]["revisionHistoryLimit"] = json!(10);
        actual["spec"]["template"]["spec"]["containers"][0]["ports"][0]["protocol"] = json!("TCP");
        actual["status"] = json!({"readyReplicas": 1});
        let compared = compare(&expected, &expected, Some(&actual));
        assert_eq!(compared, Compared { differences: vec![], transformed: false, defaulted: true });
    }

    #[test]
    fn transformed_fields_are_expected_and_their_source_values_are_not_transformed() {
        let (source, expected) = (deployment(8080), deployment(9090));
        assert_eq!(compare(&source, &expected, Some(&expected)), Compared { differences: vec![], transformed: true, defaulted: false });
        let untransformed = compare(&source, &expected, Some(&source));
        let path = "/spec/template/spec/containers/0/ports/0/containerPort".to_owned();
        assert_eq!(untransformed.differences, vec![Difference::NotTransformed { path: path.clone(), expected: Some(json!(9090)), actual: Some(json!(8080)) }]);
        let changed = compare(&source, &expected, Some(&deployment(7070)));
        assert_eq!(changed.differences, vec![Difference::Changed { path, expected: Some(json!(9090)), actual: Some(json!(7070)) }]);
    }

    #[test]
    fn missing_objects_fields_list_items_and_added_data_keys_are_differences() {
        let expected = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "labels": {"a/b": "1"}}, "data": {"k": "v"}});
        assert_eq!(compare(&expected, &expected, None).differences, vec![Difference::Missing]);
        let actual = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"k": "v", "extra": "x"}});
        let source = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "labels": {"a/b": "0"}}, "data": {"k": "v"}});
        assert_eq!(
            compare(&source, &expected, Some(&actual)).differences,
            vec![
                Difference::Changed { path: "/metadata/labels/a~1b".into(), expected: Some(json!("1")), actual: None },
                Difference::Changed { path: "/data/extra".into(), expected: None, actual: Some(json!("x")) },
            ]
        );
        let short = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": [{"name": "a"}, {"name": "b"}]}});
        let long = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": [{"name": "a"}]}});
        assert!(matches!(&compare(&short, &short, Some(&long)).differences[..], [Difference::Changed { path, .. }] if path == "/spec/containers"));
    }

    #[test]
    fn secret_values_never_appear_in_differences() {
        let secret = |value: &str| json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "data": {"password": value}});
        let compared = compare(&secret("c2VjcmV0LTE="), &secret("c2VjcmV0LTE="), Some(&secret("c2VjcmV0LTI=")));
        let text = serde_json::to_string(&compared.differences).unwrap();
        assert!(text.contains("/data/password") && text.contains("<redacted: 12 bytes"), "{text}");
        assert!(!text.contains("c2VjcmV0"), "{text}");
    }
}
