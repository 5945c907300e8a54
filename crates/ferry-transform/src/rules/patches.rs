//! JSON patch (RFC 6902), merge patch (RFC 7386) and strategic merge patch rules. A patch
//! that does not apply leaves the object as it was and becomes an error note naming the rule
//! and the object. Removals keep the order of the remaining keys: serde_json's `Map::remove`
//! is `swap_remove` under `preserve_order` (and json-patch uses it), so removals are done here
//! with `shift_remove`.

use json_patch::jsonptr::Pointer;
use json_patch::{AddOperation, PatchOperation};
use serde_json::Value;

use super::{PatchRule, rule_name, strategic};
use crate::note::Note;
use crate::object::Identity;

pub(super) fn apply(rules: &[PatchRule], id: &Identity, object: &mut Value, notes: &mut Vec<Note>, matched: &mut Vec<String>) {
    for (i, rule) in rules.iter().enumerate().filter(|(_, r)| r.matches.matches(id)) {
        let name = rule_name(&rule.name, "patches", i);
        matched.push(name.clone());
        let before = object.clone();
        let outcome = if let Some(patch) = &rule.json_patch {
            json_patch(object, patch).map(|()| format!("applied {} JSON patch operation(s)", patch.len()))
        } else if let Some(patch) = &rule.merge_patch {
            merge(object, patch);
            Ok("applied the merge patch".to_owned())
        } else if let Some(patch) = &rule.strategic_merge_patch {
            strategic_merge(object, patch, id, &name, notes)
        } else {
            continue;
        };
        match outcome {
            Ok(what) if *object != before => notes.push(Note::info("rule-applied", format!("{name}: {what}")).by(&name)),
            Ok(_) => {}
            Err((path, error)) => {
                *object = before;
                let message = format!("{name}: the patch does not apply to {}: {error}", id.display());
                notes.push(Note::error("rule-failed", message).at(path).by(&name));
            }
        }
    }
}

/// A failed patch: where (a JSON pointer) and why.
type Failure = (String, String);

/// Applies RFC 6902 operations in order; on error the object may be half-patched (the caller restores it).
fn json_patch(object: &mut Value, patch: &[PatchOperation]) -> Result<(), Failure> {
    for (i, operation) in patch.iter().enumerate() {
        let failed = |path: &Pointer, what: &str| (path.to_string(), format!("operation {i} ({what}) failed at path `{path}`: path is invalid"));
        match operation {
            PatchOperation::Remove(op) => {
                remove(object, &op.path).ok_or_else(|| failed(&op.path, "remove"))?;
            }
            PatchOperation::Move(op) => {
                let value = remove(object, &op.from).ok_or_else(|| failed(&op.from, "move"))?;
                let add = PatchOperation::Add(AddOperation { path: op.path.clone(), value });
                json_patch::patch_unsafe(object, &[add]).map_err(|e| (op.path.to_string(), format!("operation {i} (move): {}", e.kind)))?;
            }
            other => json_patch::patch_unsafe(object, std::slice::from_ref(other)).map_err(|e| (e.path.to_string(), format!("operation {i}: {e}")))?,
        }
    }
    Ok(())
}

/// Removes the value at `path`, keeping the order of its siblings.
fn remove(object: &mut Value, path: &Pointer) -> Option<Value> {
    let (parent, last) = path.split_back()?;
    match object.pointer_mut(parent.as_str())? {
        Value::Object(map) => map.shift_remove(last.decoded().as_ref()),
        Value::Array(list) => {
            let index = last.to_index().ok()?.for_len(list.len()).ok()?;
            Some(list.remove(index))
        }
        _ => None,
    }
}

/// RFC 7386, keeping the order of the keys that stay.
fn merge(object: &mut Value, patch: &Value) {
    let Value::Object(patch) = patch else {
        *object = patch.clone();
        return;
    };
    if !object.is_object() {
        *object = Value::Object(serde_json::Map::new());
    }
    let map = object.as_object_mut().expect("made a map above");
    for (key, value) in patch {
        if value.is_null() {
            map.shift_remove(key);
        } else {
            merge(map.entry(key.as_str()).or_insert(Value::Null), value);
        }
    }
}

/// A strategic merge patch; objects of kinds Kubernetes does not build in get it with
/// merge-patch semantics (lists replaced) and a note saying so.
fn strategic_merge(object: &mut Value, patch: &Value, id: &Identity, name: &str, notes: &mut Vec<Note>) -> Result<String, Failure> {
    let root = strategic::root_type(&id.group, &id.kind);
    strategic::apply(object, patch, root).map_err(|e| (e.path, e.message))?;
    if root.is_some() {
        return Ok("applied the strategic merge patch".to_owned());
    }
    let message = format!(
        "{name}: {} is not a built-in kind, so Kubernetes' merge keys are unknown: the strategic merge patch was applied as a merge patch (lists replaced as a whole)",
        id.display()
    );
    notes.push(Note::info("not-built-in", message).by(name));
    Ok("applied the strategic merge patch as a merge patch".to_owned())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::rules::Rules;

    fn rules(yaml: &str) -> Rules {
        Rules::parse(&format!("apiVersion: ferry.dev/v1alpha1\nkind: TransformRules\n{yaml}"), "ferry.yaml").unwrap()
    }

    fn deployment() -> Value {
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "shop", "labels": {"tier": "front"}},
            "spec": {"replicas": 3, "template": {"spec": {"containers": [{"name": "web", "image": "nginx"}]}}}})
    }

    #[test]
    fn json_and_merge_patches_on_matching_objects() {
        let rules = rules(concat!(
            "patches:\n",
            "  - name: fewer-replicas\n    match: {kinds: [apps/*], namespaces: [sho?], name: ^web$, labels: tier=front}\n",
            "    jsonPatch:\n      - {op: replace, path: /spec/replicas, value: 1}\n      - {op: add, path: /spec/template/spec/containers/0/env, value: [{name: A, value: b}]}\n",
            "  - mergePatch: {spec: {paused: true, replicas: null}}\n    match: {kinds: [\"*/Deployment\"]}\n",
            "  - mergePatch: {spec: {paused: false}}\n    match: {kinds: [core/Service]}\n",
        ));
        let mut object = deployment();
        let mut notes = Vec::new();
        apply(&rules.patches, &Identity::of(&object), &mut object, &mut notes, &mut Vec::new());
        assert_eq!(object["spec"]["template"]["spec"]["containers"][0]["env"][0]["name"], "A");
        assert_eq!(object["spec"]["paused"], true);
        assert!(object["spec"].get("replicas").is_none());
        let names: Vec<&str> = notes.iter().map(|n| n.message.split(':').next().unwrap_or_default()).collect();
        assert_eq!(names, ["fewer-replicas", "patches[1]"]);
    }

    #[test]
    fn a_failing_patch_is_an_error_note_and_changes_nothing() {
        let rules = rules(
            "patches:\n  - name: probe\n    jsonPatch:\n      - {op: replace, path: /spec/replicas, value: 1}\n      - {op: remove, path: /spec/template/spec/containers/0/livenessProbe}\n",
        );
        let mut object = deployment();
        let mut notes = Vec::new();
        apply(&rules.patches, &Identity::of(&object), &mut object, &mut notes, &mut Vec::new());
        assert_eq!(object, deployment());
        assert_eq!((notes[0].severity, notes[0].code), (crate::note::Severity::Error, "rule-failed"));
        assert!(notes[0].message.contains("probe") && notes[0].message.contains("Deployment shop/web"), "{}", notes[0].message);
        assert_eq!(notes[0].field.as_deref(), Some("/spec/template/spec/containers/0/livenessProbe"));
    }

    fn keys(value: &Value) -> Vec<&str> {
        value.as_object().unwrap().keys().map(String::as_str).collect()
    }

    #[test]
    fn every_kind_of_patch_keeps_the_order_of_the_remaining_keys() {
        let object = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "shop"},
            "spec": {"replicas": 3, "paused": false, "minReadySeconds": 5, "revisionHistoryLimit": 2, "progressDeadlineSeconds": 60}});
        let cases = [
            "jsonPatch: [{op: remove, path: /spec/paused}]",
            "mergePatch: {spec: {paused: null}}",
            "strategicMergePatch: {spec: {paused: null}}",
            "jsonPatch: [{op: move, from: /spec/paused, path: /metadata/paused}]",
        ];
        for case in cases {
            let rules = rules(&format!("patches:\n  - {case}\n"));
            let mut patched = object.clone();
            let mut notes = Vec::new();
            apply(&rules.patches, &Identity::of(&patched), &mut patched, &mut notes, &mut Vec::new());
            assert_eq!(keys(&patched["spec"]), ["replicas", "minReadySeconds", "revisionHistoryLimit", "progressDeadlineSeconds"], "{case}");
            assert_eq!(keys(&patched), ["apiVersion", "kind", "metadata", "spec"], "{case}");
        }
        let rules = rules("patches:\n  - jsonPatch: [{op: remove, path: /spec/paused}, {op: remove, path: /spec/missing}]\n");
        let mut patched = object.clone();
        apply(&rules.patches, &Identity::of(&patched), &mut patched, &mut Vec::new(), &mut Vec::new());
        assert_eq!(keys(&patched["spec"]), keys(&object["spec"]), "a failed patch leaves the order as it was");
    }

    #[test]
    fn a_strategic_merge_patch_adds_a_toleration_and_an_env_var_to_every_deployment_without_index_paths() {
        let rules = rules(concat!(
            "patches:\n  - name: spot\n    match: {kinds: [apps/Deployment]}\n    strategicMergePatch:\n",
            "      spec:\n        template:\n          spec:\n",
            "            tolerations: [{key: spot, operator: Exists, effect: NoSchedule}]\n",
            "            containers: [{name: web, env: [{name: REGION, value: eu-north-1}, {name: LOG, value: debug}]}]\n",
        ));
        let with_env = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "a"}, "spec": {"template": {"spec": {"containers": [
            {"name": "web", "image": "nginx", "env": [{"name": "LOG", "value": "info"}, {"name": "PORT", "value": "80"}]}, {"name": "proxy", "image": "envoy"}]}}}});
        let bare = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "b"}, "spec": {"template": {"spec": {"containers": [
            {"name": "web", "image": "httpd"}]}}}});
        let service = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"}, "spec": {"ports": [{"port": 80}]}});
        let mut notes = Vec::new();
        let patched: Vec<Value> = [with_env, bare, service.clone()]
            .into_iter()
            .map(|mut object| {
                apply(&rules.patches, &Identity::of(&object), &mut object, &mut notes, &mut Vec::new());
                object
            })
            .collect();
        let toleration = json!([{"key": "spot", "operator": "Exists", "effect": "NoSchedule"}]);
        for deployment in &patched[..2] {
            assert_eq!(deployment["spec"]["template"]["spec"]["tolerations"], toleration);
            assert_eq!(deployment["spec"]["template"]["spec"]["containers"][0]["env"][0], json!({"name": "REGION", "value": "eu-north-1"}));
        }
        let env = &patched[0]["spec"]["template"]["spec"]["containers"][0]["env"];
        assert_eq!(
            env,
            &json!([{"name": "REGION", "value": "eu-north-1"}, {"name": "LOG", "value": "debug"}, {"name": "PORT", "value": "80"}]),
            "merged by name"
        );
        assert_eq!(patched[0]["spec"]["template"]["spec"]["containers"][1], json!({"name": "proxy", "image": "envoy"}));
        assert_eq!(patched[1]["spec"]["template"]["spec"]["containers"][0]["image"], "httpd");
        assert_eq!(patched[2], service, "not matched");
        assert_eq!(notes.len(), 2);
    }

    #[test]
    fn custom_resources_get_the_strategic_merge_patch_as_a_merge_patch_with_a_note() {
        let rules = rules("patches:\n  - name: widget\n    strategicMergePatch: {spec: {sizes: [3]}}\n");
        let mut widget = json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w", "namespace": "shop"}, "spec": {"sizes": [1, 2]}});
        let mut notes = Vec::new();
        apply(&rules.patches, &Identity::of(&widget), &mut widget, &mut notes, &mut Vec::new());
        assert_eq!(widget["spec"]["sizes"], json!([3]));
        assert_eq!(notes[0].code, "not-built-in");
        assert!(notes[0].message.contains("Widget shop/w") && notes[0].message.contains("merge patch"), "{}", notes[0].message);
    }
}
