//! Strategic merge patches as Kubernetes applies them (`kubectl patch --type strategic`),
//! driven by `data/strategic-merge.yaml`: the `patchStrategy` / `patchMergeKey` tags of the
//! built-in types. Lists with a merge key are merged element by element (`containers` by
//! `name`, `ports` by `containerPort`, ...), lists of scalars with strategy `merge` as sets,
//! every other list is replaced; maps are merged and `null` removes a field. Directives:
//! `$patch: delete` (a list element by its key, or a whole map), `$patch: replace` (a map, or
//! a list when it is an element of the list), `$patch: merge`, `$deleteFromPrimitiveList/F`
//! and `$retainKeys` where the type allows it. Objects of other kinds (custom resources) have
//! no type knowledge: every list is replaced, as in a merge patch. Keys keep their order.

use std::sync::OnceLock;

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::object::escape;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Table {
    builtin_groups: Groups,
    kinds: Vec<KindRow>,
    types: Vec<TypeRow>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Groups {
    groups: Vec<String>,
    #[cfg_attr(not(test), expect(dead_code, reason = "required so the table stays sourced; checked by the tests"))]
    source: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct KindRow {
    group: String,
    kind: String,
    #[serde(rename = "type")]
    root: String,
}

/// One Go API type: the fields ferry needs to know to merge below it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TypeRow {
    name: String,
    #[cfg_attr(not(test), expect(dead_code, reason = "required so the table stays sourced; checked by the tests"))]
    source: String,
    #[expect(dead_code, reason = "read by tests/strategic_oracle.rs, which checks the rows against a real API server's OpenAPI document")]
    openapi: Vec<String>,
    fields: Vec<FieldRow>,
}

/// One field's patch tags.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct FieldRow {
    field: String,
    /// The field's type (a map), or the type of its list's elements.
    #[serde(default, rename = "type")]
    of: Option<String>,
    #[serde(default)]
    strategy: Option<Strategy>,
    /// `patchMergeKey`.
    #[serde(default)]
    key: Option<String>,
    #[serde(default)]
    retain_keys: bool,
    /// The Kubernetes version that added the field (the oracle test's server may be older).
    #[expect(dead_code, reason = "read by tests/strategic_oracle.rs, which checks the rows against a real API server's OpenAPI document")]
    #[serde(default)]
    since: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Strategy {
    Merge,
    Replace,
}

fn table() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(|| {
        serde_saphyr::from_str(include_str!("../../data/strategic-merge.yaml")).expect("embedded data/strategic-merge.yaml is valid (checked by its tests)")
    })
}

fn type_named(name: &str) -> Option<&'static TypeRow> {
    table().types.iter().find(|t| t.name == name)
}

impl TypeRow {
    fn field(&self, name: &str) -> Option<&FieldRow> {
        self.fields.iter().find(|f| f.field == name)
    }
}

/// The type at the root of a built-in kind (`Object`, metadata only, for built-in kinds the
/// table does not list), or `None` for a custom resource.
pub(crate) fn root_type(group: &str, kind: &str) -> Option<&'static TypeRow> {
    let table = table();
    match table.kinds.iter().find(|k| k.group == group && k.kind == kind) {
        Some(row) => type_named(&row.root),
        None if table.builtin_groups.groups.iter().any(|g| g == group) => type_named("Object"),
        None => None,
    }
}

/// Why a strategic merge patch does not apply: where (a JSON pointer) and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PatchError {
    /// The place in the object, as a JSON pointer.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

/// Applies `patch` to `object`, whose root type is `root` (`None`: no type knowledge).
pub(crate) fn apply(object: &mut Value, patch: &Value, root: Option<&TypeRow>) -> Result<(), PatchError> {
    let Some(patch) = patch.as_object() else {
        return Err(PatchError { path: String::new(), message: "a strategic merge patch must be a map".into() });
    };
    if !object.is_object() {
        *object = Value::Object(Map::new());
    }
    let map = object.as_object_mut().expect("made a map above");
    match merge_map(map, patch, root, false, "")? {
        Merged::Kept => Ok(()),
        Merged::Deleted => Err(PatchError { path: String::new(), message: "`$patch: delete` at the top would delete the whole object".into() }),
    }
}

/// What became of a merged map.
enum Merged {
    Kept,
    Deleted,
}

const PATCH: &str = "$patch";
const RETAIN_KEYS: &str = "$retainKeys";
const DELETE_FROM: &str = "$deleteFromPrimitiveList/";

fn merge_map(
    target: &mut Map<String, Value>,
    patch: &Map<String, Value>,
    of: Option<&TypeRow>,
    retain_allowed: bool,
    path: &str,
) -> Result<Merged, PatchError> {
    let error = |at: &str, message: String| PatchError { path: at.to_owned(), message };
    match patch.get(PATCH).map(|d| d.as_str()) {
        None | Some(Some("merge")) => {}
        Some(Some("delete")) => return Ok(Merged::Deleted),
        Some(Some("replace")) => {
            target.clear();
            let mut rest = patch.clone();
            rest.shift_remove(PATCH);
            return merge_map(target, &rest, of, retain_allowed, path);
        }
        Some(other) => return Err(error(path, format!("unknown `$patch` directive {}: use delete, replace or merge", other.map_or("(not a string)", |s| s)))),
    }
    for (key, value) in patch {
        let at = format!("{path}/{}", escape(key));
        if key == PATCH || key == RETAIN_KEYS {
            continue;
        }
        if let Some(field) = key.strip_prefix(DELETE_FROM) {
            delete_from_list(target, field, value, &at)?;
            continue;
        }
        if key.starts_with('$') {
            return Err(error(&at, format!("`{key}` is not a directive ferry supports (`$patch`, `$deleteFromPrimitiveList/FIELD`, `$retainKeys`)")));
        }
        if value.is_null() {
            target.shift_remove(key);
            continue;
        }
        let row = of.and_then(|t| t.field(key));
        let slot = target.entry(key.clone()).or_insert(Value::Null);
        merge_field(slot, value, row, &at)?;
        if slot.is_null() {
            target.shift_remove(key);
        }
    }
    if let Some(retained) = patch.get(RETAIN_KEYS) {
        if !retain_allowed {
            return Err(error(path, "`$retainKeys` is allowed only where Kubernetes' type has the retainKeys strategy".into()));
        }
        let keys: Vec<&str> = retained.as_array().into_iter().flatten().filter_map(Value::as_str).collect();
        target.retain(|k, _| keys.contains(&k.as_str()));
    }
    Ok(Merged::Kept)
}

/// Merges one field's patch value into its slot (`Null` when the object has none; left
/// `Null` when the field is to be removed).
fn merge_field(slot: &mut Value, value: &Value, row: Option<&FieldRow>, at: &str) -> Result<(), PatchError> {
    let element_type = row.and_then(|r| r.of.as_deref()).and_then(type_named);
    let retain = row.is_some_and(|r| r.retain_keys);
    match value {
        Value::Object(patch) => {
            if !slot.is_object() {
                *slot = Value::Object(Map::new());
            }
            let map = slot.as_object_mut().expect("made a map above");
            if let Merged::Deleted = merge_map(map, patch, element_type, retain, at)? {
                *slot = Value::Null;
            }
        }
        Value::Array(items) => match row.and_then(|r| r.strategy.map(|s| (s, r.key.as_deref()))) {
            Some((Strategy::Merge, Some(key))) => merge_keyed(slot, items, key, element_type, retain, at)?,
            Some((Strategy::Merge, None)) => merge_set(slot, items),
            _ => *slot = replaced(items, at)?,
        },
        scalar => *slot = scalar.clone(),
    }
    Ok(())
}

/// A list that is replaced as a whole; directives in it would mean nothing.
fn replaced(items: &[Value], at: &str) -> Result<Value, PatchError> {
    if let Some(i) = items.iter().position(|item| item.get(PATCH).is_some()) {
        let message = "`$patch` in a list without a merge key: Kubernetes replaces this list as a whole (give the whole list)".to_owned();
        return Err(PatchError { path: format!("{at}/{i}"), message });
    }
    Ok(Value::Array(items.to_vec()))
}

/// Merges a list of maps by `key`: patch elements update the element with the same key,
/// are added when none has it, or delete it (`$patch: delete`); an element
/// `{$patch: replace}` makes the other patch elements the whole list. The order is
/// Kubernetes': see [`in_kubernetes_order`].
fn merge_keyed(slot: &mut Value, items: &[Value], key: &str, of: Option<&TypeRow>, retain: bool, at: &str) -> Result<(), PatchError> {
    let replace = items.iter().any(|item| item.as_object().is_some_and(|m| m.len() == 1 && m.get(PATCH).and_then(Value::as_str) == Some("replace")));
    if replace || !slot.is_array() {
        *slot = Value::Array(Vec::new());
    }
    let list = slot.as_array_mut().expect("made a list above");
    let original: Vec<Value> = list.iter().filter_map(|e| e.get(key).cloned()).collect();
    for (i, item) in items.iter().enumerate() {
        let element_at = format!("{at}/{i}");
        let Some(patch) = item.as_object() else {
            return Err(PatchError { path: element_at, message: format!("elements of this list are merged by `{key}`, so each must be a map") });
        };
        if replace && patch.len() == 1 && patch.contains_key(PATCH) {
            continue;
        }
        let Some(wanted) = patch.get(key) else {
            return Err(PatchError { path: element_at, message: format!("has no `{key}`, the merge key of this list") });
        };
        let position = list.iter().position(|e| e.get(key) == Some(wanted));
        if patch.get(PATCH).and_then(Value::as_str) == Some("delete") {
            list.retain(|e| e.get(key) != Some(wanted));
            continue;
        }
        match position {
            Some(p) => {
                let element = list[p].as_object_mut().expect("found by a key, so a map");
                if let Merged::Deleted = merge_map(element, patch, of, retain, &format!("{at}/{p}"))? {
                    list.remove(p);
                }
            }
            None => {
                let mut element = Map::new();
                if let Merged::Kept = merge_map(&mut element, patch, of, retain, &element_at)? {
                    list.push(Value::Object(element));
                }
            }
        }
    }
    let patched: Vec<&Value> = items.iter().filter(|i| i.get(PATCH).is_none_or(|d| d != "delete")).filter_map(|i| i.get(key)).collect();
    *list = in_kubernetes_order(std::mem::take(list), |e: &Value| e.get(key), &original, &patched);
    Ok(())
}

/// The order the API server gives a merged list (apimachinery's `normalizeElementOrder`):
/// the elements the patch names, in the patch's order, and the others, in their order,
/// interleaved so that two elements the object had keep their order; an element new to the
/// object comes before the object's own element it is compared with.
fn in_kubernetes_order(merged: Vec<Value>, identity: impl for<'v> Fn(&'v Value) -> Option<&'v Value>, original: &[Value], patched: &[&Value]) -> Vec<Value> {
    let position = |list: &[&Value], element: &Value| identity(element).and_then(|k| list.iter().position(|p| *p == k));
    let original: Vec<&Value> = original.iter().collect();
    let (mut named, others): (Vec<Value>, Vec<Value>) = merged.into_iter().partition(|e| position(patched, e).is_some());
    named.sort_by_key(|e| position(patched, e));
    let (mut named, mut others) = (named.into_iter().peekable(), others.into_iter().peekable());
    let mut ordered = Vec::new();
    loop {
        let other_first = match (others.peek(), named.peek()) {
            (Some(other), Some(patch)) => matches!((position(&original, other), position(&original, patch)), (Some(o), Some(p)) if o < p),
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => return ordered,
        };
        ordered.extend(if other_first { others.next() } else { named.next() });
    }
}

/// A list of scalars with strategy `merge`: the patch's values are added to it, in
/// Kubernetes' order as for lists of maps.
fn merge_set(slot: &mut Value, items: &[Value]) {
    if !slot.is_array() {
        *slot = Value::Array(Vec::new());
    }
    let list = slot.as_array_mut().expect("made a list above");
    let original = list.clone();
    for item in items {
        if !list.contains(item) {
            list.push(item.clone());
        }
    }
    let patched: Vec<&Value> = items.iter().collect();
    *list = in_kubernetes_order(std::mem::take(list), |v: &Value| Some(v), &original, &patched);
}

/// `$deleteFromPrimitiveList/FIELD: [values]`: removes those values from the list FIELD (and
/// the field, when nothing is left).
fn delete_from_list(target: &mut Map<String, Value>, field: &str, values: &Value, at: &str) -> Result<(), PatchError> {
    let Some(values) = values.as_array() else {
        return Err(PatchError { path: at.to_owned(), message: "`$deleteFromPrimitiveList` needs a list of values".into() });
    };
    if let Some(list) = target.get_mut(field).and_then(Value::as_array_mut) {
        list.retain(|v| !values.contains(v));
        if list.is_empty() {
            // As the API server stores it: an empty list is no list.
            target.shift_remove(field);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use serde_json::json;

    use super::*;

    fn deployment() -> Value {
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "finalizers": ["a"]}, "spec": {"replicas": 2, "template": {
            "metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [
                {"name": "web", "image": "nginx", "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}], "ports": [{"containerPort": 80}]},
                {"name": "sidecar", "image": "envoy"}],
                "tolerations": [{"key": "old", "operator": "Exists"}],
                "volumes": [{"name": "data", "emptyDir": {}}, {"name": "cache", "emptyDir": {}}]}}}})
    }

    fn patched(object: &Value, patch: Value) -> Result<Value, PatchError> {
        let mut object = object.clone();
        apply(&mut object, &patch, root_type("apps", "Deployment"))?;
        Ok(object)
    }

    #[test]
    fn the_table_is_sourced_consistent_and_every_type_is_reachable() {
        let table = table();
        assert!(table.builtin_groups.source.starts_with("https://kubernetes.io/"));
        let mut reachable = BTreeSet::new();
        let mut pending: Vec<&str> = table.kinds.iter().map(|k| k.root.as_str()).chain(["Object"]).collect();
        while let Some(name) = pending.pop() {
            let row = type_named(name).unwrap_or_else(|| panic!("type `{name}` is named but not defined"));
            if reachable.insert(name) {
                pending.extend(row.fields.iter().filter_map(|f| f.of.as_deref()));
            }
        }
        for row in &table.types {
            assert!(reachable.contains(row.name.as_str()), "type `{}` is never used", row.name);
            assert!(row.source.contains("github.com/kubernetes/api") || row.source.contains("k8s.io/apimachinery"), "{}: {}", row.name, row.source);
            let mut fields = BTreeSet::new();
            for field in &row.fields {
                assert!(fields.insert(&field.field), "{}.{} twice", row.name, field.field);
                assert!(field.key.is_none() || field.strategy == Some(Strategy::Merge), "{}.{}: a merge key needs strategy merge", row.name, field.field);
                assert!(field.of.is_some() || field.strategy.is_some() || field.retain_keys, "{}.{} says nothing", row.name, field.field);
            }
        }
        let mut kinds = BTreeSet::new();
        for kind in &table.kinds {
            assert!(kinds.insert((&kind.group, &kind.kind)), "{} twice", kind.kind);
            assert!(table.builtin_groups.groups.contains(&kind.group), "{} is not in a built-in group", kind.kind);
        }
        assert!(root_type("example.com", "Widget").is_none() && root_type("", "ConfigMap").is_some_and(|t| t.name == "Object"));
    }

    #[test]
    fn containers_env_and_ports_merge_by_key_and_tolerations_are_replaced() {
        let patch = json!({"spec": {"template": {"spec": {
            "containers": [{"name": "web", "env": [{"name": "B", "value": "two"}, {"name": "C", "value": "3"}], "ports": [{"containerPort": 8080}]}],
            "tolerations": [{"key": "new", "operator": "Exists", "effect": "NoSchedule"}]}}}});
        let object = patched(&deployment(), patch).unwrap();
        let spec = &object["spec"]["template"]["spec"];
        assert_eq!(spec["containers"][0]["image"], "nginx", "untouched fields stay");
        assert_eq!(spec["containers"][0]["env"], json!([{"name": "A", "value": "1"}, {"name": "B", "value": "two"}, {"name": "C", "value": "3"}]));
        assert_eq!(spec["containers"][0]["ports"], json!([{"containerPort": 8080}, {"containerPort": 80}]), "new before old, as the API server does");
        assert_eq!(spec["containers"][1], json!({"name": "sidecar", "image": "envoy"}), "the other container stays");
        assert_eq!(spec["tolerations"], json!([{"key": "new", "operator": "Exists", "effect": "NoSchedule"}]), "no merge key: replaced");
    }

    #[test]
    fn directives_delete_replace_and_primitive_lists() {
        let patch = json!({"metadata": {"finalizers": ["b"]}, "spec": {"template": {"spec": {
            "containers": [{"name": "sidecar", "$patch": "delete"}, {"name": "web", "env": [{"name": "A", "$patch": "delete"}]}],
            "volumes": [{"$patch": "replace"}, {"name": "scratch", "emptyDir": {"medium": "Memory"}}]}}}});
        let object = patched(&deployment(), patch).unwrap();
        let spec = &object["spec"]["template"]["spec"];
        assert_eq!(spec["containers"].as_array().unwrap().len(), 1);
        assert_eq!(spec["containers"][0]["env"], json!([{"name": "B", "value": "2"}]));
        assert_eq!(spec["volumes"], json!([{"name": "scratch", "emptyDir": {"medium": "Memory"}}]));
        assert_eq!(object["metadata"]["finalizers"], json!(["b", "a"]), "a set of scalars, new before old as the API server does");
        let object =
            patched(&object, json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["a"]}, "spec": {"template": {"metadata": {"$patch": "delete"}}}}))
                .unwrap();
        assert_eq!(object["metadata"]["finalizers"], json!(["b"]));
        assert!(object["spec"]["template"].get("metadata").is_none(), "a map deleted");
        let replaced = patched(&deployment(), json!({"spec": {"template": {"metadata": {"$patch": "replace", "labels": {"app": "new"}}}}})).unwrap();
        assert_eq!(replaced["spec"]["template"]["metadata"], json!({"labels": {"app": "new"}}));
    }

    #[test]
    fn retain_keys_where_the_type_allows_it() {
        let object = patched(
            &deployment(),
            json!({"spec": {"template": {"spec": {"volumes": [{"name": "data", "$retainKeys": ["name", "hostPath"], "hostPath": {"path": "/d"}}]}}}}),
        )
        .unwrap();
        assert_eq!(object["spec"]["template"]["spec"]["volumes"][0], json!({"name": "data", "hostPath": {"path": "/d"}}));
        let error = patched(&deployment(), json!({"spec": {"$retainKeys": ["replicas"]}})).unwrap_err();
        assert_eq!(error.path, "/spec");
    }

    #[test]
    fn bad_patches_name_the_place() {
        let error = patched(&deployment(), json!({"spec": {"template": {"spec": {"containers": [{"image": "x"}]}}}})).unwrap_err();
        assert_eq!((error.path.as_str(), error.message.contains("`name`")), ("/spec/template/spec/containers/0", true));
        let error = patched(&deployment(), json!({"spec": {"template": {"spec": {"tolerations": [{"$patch": "delete", "key": "old"}]}}}})).unwrap_err();
        assert_eq!(error.path, "/spec/template/spec/tolerations/0");
        let error = patched(&deployment(), json!({"spec": {"$setElementOrder/x": []}})).unwrap_err();
        assert!(error.message.contains("$setElementOrder"), "{}", error.message);
        assert!(patched(&deployment(), json!({"$patch": "delete"})).is_err());
        assert!(patched(&deployment(), json!({"spec": {"$patch": "nonsense"}})).is_err());
    }

    #[test]
    fn custom_resources_replace_lists_and_keep_key_order() {
        let mut widget = json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": {"a": 1, "b": [1, 2], "c": 3, "d": 4}});
        apply(&mut widget, &json!({"spec": {"b": [3], "c": null}}), root_type("example.com", "Widget")).unwrap();
        let keys: Vec<&String> = widget["spec"].as_object().unwrap().keys().collect();
        assert_eq!(keys, ["a", "b", "d"]);
        assert_eq!(widget["spec"]["b"], json!([3]));
    }
}
