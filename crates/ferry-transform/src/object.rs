//! Reading and editing untyped objects: identity, JSON pointers (with `*`
//! patterns for the data tables), and the pod specs inside workloads.
//!
//! Every helper tolerates any JSON: a missing or mistyped field is "absent".

use ferry_model::id::split_api_version;
use serde_json::{Map, Value};

/// The parts of an object that rules and tables match on.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Identity {
    /// API group, `""` for the core group.
    pub group: String,
    /// Kind.
    pub kind: String,
    /// `metadata.namespace`, if set.
    pub namespace: Option<String>,
    /// `metadata.name` (may be empty in a template or a broken manifest).
    pub name: String,
    /// `metadata.labels` with string values.
    pub labels: Vec<(String, String)>,
}

impl Identity {
    /// Reads the identity of `object`.
    pub fn of(object: &Value) -> Identity {
        let metadata = object.get("metadata");
        let text = |field: &str| metadata.and_then(|m| m.get(field)).and_then(Value::as_str);
        Identity {
            group: split_api_version(api_version(object)).0.to_owned(),
            kind: kind(object).to_owned(),
            namespace: text("namespace").map(str::to_owned),
            name: text("name").unwrap_or_default().to_owned(),
            labels: string_pairs(metadata.and_then(|m| m.get("labels"))),
        }
    }

    /// `Kind namespace/name` or `Kind name`, for messages.
    pub fn display(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("{} {ns}/{}", self.kind, self.name),
            None => format!("{} {}", self.kind, self.name),
        }
    }
}

/// `apiVersion`, or `""`.
pub(crate) fn api_version(object: &Value) -> &str {
    object.get("apiVersion").and_then(Value::as_str).unwrap_or_default()
}

/// `kind`, or `""`.
pub(crate) fn kind(object: &Value) -> &str {
    object.get("kind").and_then(Value::as_str).unwrap_or_default()
}

/// The string entries of a JSON map (labels, annotations, selectors).
pub(crate) fn string_pairs(map: Option<&Value>) -> Vec<(String, String)> {
    map.and_then(Value::as_object).map(|m| m.iter().filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_owned()))).collect()).unwrap_or_default()
}

/// Escapes one JSON-pointer token (RFC 6901).
pub(crate) fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// The JSON map at `pointer`, created (with every missing parent) when absent or null.
/// `None` when something on the way is not a map.
pub(crate) fn map_at<'a>(object: &'a mut Value, pointer: &str) -> Option<&'a mut Map<String, Value>> {
    let mut node = object;
    for token in pointer.split('/').skip(1) {
        let token = token.replace("~1", "/").replace("~0", "~");
        if node.is_null() {
            *node = Value::Object(Map::new());
        }
        node = node.as_object_mut()?.entry(token).or_insert(Value::Null);
    }
    if node.is_null() {
        *node = Value::Object(Map::new());
    }
    node.as_object_mut()
}

/// Removes `key` from the map at `pointer` (a pointer through maps), then every map on the way
/// up that this left empty ([`remove_at`]); returns what was removed.
pub(crate) fn remove_key(object: &mut Value, pointer: &str, key: &str) -> Option<Value> {
    let mut path: Vec<Step> = pointer.split('/').skip(1).map(|token| Step::Key(token.replace("~1", "/").replace("~0", "~"))).collect();
    path.push(Step::Key(key.to_owned()));
    remove_at(object, &path)
}

/// One step of a concrete path into an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Step {
    /// A map key.
    Key(String),
    /// An array index.
    Index(usize),
}

/// A concrete path, written as a JSON pointer.
pub(crate) fn pointer(steps: &[Step]) -> String {
    steps
        .iter()
        .map(|s| match s {
            Step::Key(k) => format!("/{}", escape(k)),
            Step::Index(i) => format!("/{i}"),
        })
        .collect()
}

/// A JSON pointer in which a `*` token stands for every key or index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PathPattern {
    tokens: Vec<String>,
}

impl PathPattern {
    /// Parses `/a/b/*/c`; `None` unless it starts with `/` and has at least one token.
    pub fn parse(text: &str) -> Option<PathPattern> {
        let rest = text.strip_prefix('/')?;
        let tokens: Vec<String> = rest.split('/').map(|t| t.replace("~1", "/").replace("~0", "~")).collect();
        if tokens.iter().any(String::is_empty) {
            return None;
        }
        Some(PathPattern { tokens })
    }

    /// The last token (a map key, or `*`).
    #[cfg(test)]
    pub fn last(&self) -> &str {
        self.tokens.last().map(String::as_str).unwrap_or_default()
    }

    /// Every concrete path in `object` that the pattern matches.
    pub fn find(&self, object: &Value) -> Vec<Vec<Step>> {
        let mut found = Vec::new();
        collect(object, &self.tokens, &mut Vec::new(), &mut found);
        found
    }

    /// Sets `value` at every matching place where it is missing, creating missing maps on
    /// the way (but only below places that exist for `*`). Returns the pointers it set.
    pub fn set_missing(&self, object: &mut Value, value: &Value) -> Vec<String> {
        let mut set = Vec::new();
        set_missing(object, &self.tokens, value, &mut Vec::new(), &mut set);
        set
    }
}

impl<'de> serde::Deserialize<'de> for PathPattern {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<PathPattern, D::Error> {
        let text = String::deserialize(d)?;
        PathPattern::parse(&text).ok_or_else(|| serde::de::Error::custom(format!("`{text}` is not a JSON pointer like `/spec/ports/*/nodePort`")))
    }
}

impl std::fmt::Display for PathPattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for token in &self.tokens {
            write!(f, "/{}", if token == "*" { "*".to_owned() } else { escape(token) })?;
        }
        Ok(())
    }
}

fn collect(node: &Value, tokens: &[String], path: &mut Vec<Step>, found: &mut Vec<Vec<Step>>) {
    let Some((token, rest)) = tokens.split_first() else {
        found.push(path.clone());
        return;
    };
    let mut visit = |step: Step, child: &Value| {
        path.push(step);
        collect(child, rest, path, found);
        path.pop();
    };
    match node {
        Value::Object(map) if token == "*" => map.iter().for_each(|(key, child)| visit(Step::Key(key.clone()), child)),
        Value::Object(map) => {
            if let Some(child) = map.get(token) {
                visit(Step::Key(token.clone()), child);
            }
        }
        Value::Array(items) if token == "*" => items.iter().enumerate().for_each(|(i, child)| visit(Step::Index(i), child)),
        Value::Array(items) => {
            if let Some((i, child)) = token.parse::<usize>().ok().and_then(|i| Some((i, items.get(i)?))) {
                visit(Step::Index(i), child);
            }
        }
        _ => {}
    }
}

/// Removes the map key at the end of `path`, then every map on the way up that this left
/// empty (up to the first list, or the object itself); returns what was removed.
pub(crate) fn remove_at(object: &mut Value, path: &[Step]) -> Option<Value> {
    let (Step::Key(key), parents) = path.split_last()? else { return None };
    let mut removed = None;
    remove_below(object, parents, key, &mut removed);
    removed
}

/// Moves `key` of the map `parents` leads to from `node` into `removed`, and removes each map on
/// the way that this left empty; returns whether `node` itself is such an emptied map.
fn remove_below(node: &mut Value, parents: &[Step], key: &str, removed: &mut Option<Value>) -> bool {
    let Some((step, rest)) = parents.split_first() else {
        let Some(map) = node.as_object_mut() else { return false };
        *removed = map.shift_remove(key);
        return removed.is_some() && map.is_empty();
    };
    let child = match (step, &mut *node) {
        (Step::Key(k), Value::Object(map)) => map.get_mut(k),
        (Step::Index(i), Value::Array(items)) => items.get_mut(*i),
        _ => None,
    };
    if !child.is_some_and(|child| remove_below(child, rest, key, removed)) {
        return false;
    }
    match (step, node) {
        (Step::Key(k), Value::Object(map)) => {
            map.shift_remove(k);
            map.is_empty()
        }
        _ => false,
    }
}

fn set_missing(node: &mut Value, tokens: &[String], value: &Value, path: &mut Vec<Step>, set: &mut Vec<String>) {
    let Some((token, rest)) = tokens.split_first() else { return };
    if token == "*" {
        let steps: Vec<(Step, &mut Value)> = match node {
            Value::Object(map) => map.iter_mut().map(|(k, v)| (Step::Key(k.clone()), v)).collect(),
            Value::Array(items) => items.iter_mut().enumerate().map(|(i, v)| (Step::Index(i), v)).collect(),
            _ => Vec::new(),
        };
        for (step, child) in steps {
            path.push(step);
            set_missing(child, rest, value, path, set);
            path.pop();
        }
        return;
    }
    if node.is_null() {
        *node = Value::Object(Map::new());
    }
    let Some(map) = node.as_object_mut() else { return };
    path.push(Step::Key(token.clone()));
    if rest.is_empty() {
        if map.get(token).is_none_or(Value::is_null) {
            map.insert(token.clone(), value.clone());
            set.push(pointer(path));
        }
    } else {
        set_missing(map.entry(token.clone()).or_insert(Value::Null), rest, value, path, set);
    }
    path.pop();
}

/// Where the pod spec sits in each kind that has one: `(groups, kind, pointer)`.
const POD_SPECS: &[(&[&str], &str, &str)] = &[
    (&[""], "Pod", "/spec"),
    (&[""], "PodTemplate", "/template/spec"),
    (&[""], "ReplicationController", "/spec/template/spec"),
    (&["apps", "extensions"], "Deployment", "/spec/template/spec"),
    (&["apps", "extensions"], "ReplicaSet", "/spec/template/spec"),
    (&["apps", "extensions"], "DaemonSet", "/spec/template/spec"),
    (&["apps"], "StatefulSet", "/spec/template/spec"),
    (&["batch"], "Job", "/spec/template/spec"),
    (&["batch"], "CronJob", "/spec/jobTemplate/spec/template/spec"),
];

/// The JSON pointer of the pod spec of a `group`/`kind`, if it has one.
pub(crate) fn pod_spec_pointer(group: &str, kind: &str) -> Option<&'static str> {
    POD_SPECS.iter().find(|(groups, k, _)| *k == kind && groups.contains(&group)).map(|(_, _, p)| *p)
}

/// The JSON pointer of the metadata that goes with the pod spec (a Pod's own metadata).
pub(crate) fn pod_metadata_pointer(group: &str, kind: &str) -> Option<String> {
    pod_spec_pointer(group, kind).map(|spec| format!("{}/metadata", spec.strip_suffix("/spec").unwrap_or_default()))
}

pub(crate) const CONTAINER_LISTS: [&str; 3] = ["containers", "initContainers", "ephemeralContainers"];

/// Every container of a pod spec, with its pointer relative to the pod spec.
pub(crate) fn containers_mut(pod_spec: &mut Value) -> impl Iterator<Item = (String, &mut Map<String, Value>)> {
    pod_spec.as_object_mut().into_iter().flat_map(|spec| spec.iter_mut()).filter(|(list, _)| CONTAINER_LISTS.contains(&list.as_str())).flat_map(
        |(list, containers)| {
            containers.as_array_mut().into_iter().flatten().enumerate().filter_map(move |(i, c)| c.as_object_mut().map(|c| (format!("/{list}/{i}"), c)))
        },
    )
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn patterns_find_every_matching_place() {
        let object = json!({"spec": {"ports": [{"nodePort": 1}, {"port": 2}, {"nodePort": 3}]}});
        let found = PathPattern::parse("/spec/ports/*/nodePort").unwrap().find(&object);
        let pointers: Vec<String> = found.iter().map(|p| pointer(p)).collect();
        assert_eq!(pointers, ["/spec/ports/0/nodePort", "/spec/ports/2/nodePort"]);
    }

    #[test]
    fn escaped_keys_round_trip() {
        let pattern = PathPattern::parse("/metadata/annotations/a.io~1b").unwrap();
        assert_eq!(pattern.last(), "a.io/b");
        assert_eq!(pattern.to_string(), "/metadata/annotations/a.io~1b");
        assert!(PathPattern::parse("metadata").is_none());
        assert!(PathPattern::parse("/a//b").is_none());
    }

    #[test]
    fn set_missing_creates_parents_but_not_array_items() {
        let mut object = json!({"webhooks": [{"name": "a"}, {"name": "b", "timeoutSeconds": 5}]});
        let set = PathPattern::parse("/webhooks/*/timeoutSeconds").unwrap().set_missing(&mut object, &json!(30));
        assert_eq!(set, ["/webhooks/0/timeoutSeconds"]);
        assert_eq!(object["webhooks"][1]["timeoutSeconds"], 5);
        let mut empty = json!({"kind": "Deployment"});
        PathPattern::parse("/spec/strategy/rollingUpdate/maxSurge").unwrap().set_missing(&mut empty, &json!(1));
        assert_eq!(empty["spec"]["strategy"]["rollingUpdate"]["maxSurge"], 1);
        let mut none = json!({"webhooks": "oops"});
        assert!(PathPattern::parse("/webhooks/*/x").unwrap().set_missing(&mut none, &json!(1)).is_empty());
    }

    #[test]
    fn containers_of_every_list() {
        let mut spec = json!({"containers": [{"name": "a"}], "initContainers": [{"name": "b"}, "junk"], "volumes": [{}]});
        let names: Vec<String> = containers_mut(&mut spec).map(|(p, c)| format!("{p}={}", c["name"])).collect();
        assert_eq!(names, ["/containers/0=\"a\"", "/initContainers/0=\"b\""]);
    }

    #[test]
    fn remove_key_drops_emptied_maps() {
        let mut object = json!({"metadata": {"annotations": {"a": "1"}, "name": "x"}});
        assert_eq!(remove_key(&mut object, "/metadata/annotations", "a"), Some(json!("1")));
        assert_eq!(object, json!({"metadata": {"name": "x"}}));
        let mut nested = json!({"spec": {"template": {"metadata": {"labels": {"a": "1"}}}, "x": 1}});
        remove_key(&mut nested, "/spec/template/metadata/labels", "a");
        assert_eq!(nested, json!({"spec": {"x": 1}}));
    }

    fn removed(mut object: Value, pattern: &str) -> Value {
        let pattern = PathPattern::parse(pattern).unwrap();
        for path in pattern.find(&object) {
            remove_at(&mut object, &path);
        }
        object
    }

    #[test]
    fn removing_a_field_prunes_the_maps_it_empties_up_to_a_list() {
        let object =
            json!({"kind": "X", "metadata": {"uid": "1", "name": "a"}, "spec": {"a": {"b": {"c": 1}}, "items": [{"x": {"y": 1}}, {"x": {"y": 2}, "z": 3}]}});
        assert_eq!(removed(object.clone(), "/metadata/uid"), json!({"kind": "X", "metadata": {"name": "a"}, "spec": object["spec"]}));
        assert_eq!(removed(object.clone(), "/spec/a/b/c"), json!({"kind": "X", "metadata": object["metadata"], "spec": {"items": object["spec"]["items"]}}));
        assert_eq!(
            removed(object.clone(), "/spec/items/*/x/y"),
            json!({"kind": "X", "metadata": object["metadata"], "spec": {"a": object["spec"]["a"], "items": [{}, {"z": 3}]}}),
            "an emptied list item stays"
        );
        assert_eq!(removed(object.clone(), "/spec/items/1/z"), removed(object.clone(), "/spec/items/*/z"), "an index is a step like `*`");
        assert_eq!(removed(object.clone(), "/spec/missing/x"), object);
        assert_eq!(removed(json!({"metadata": {"uid": "1"}}), "/metadata/uid"), json!({}), "the object itself stays");
    }
}
